/* Fuzzes the store's input validators (hostnames, ids, paths, backend URLs,
 * methods, URL templates) on arbitrary text, and checks that every URL
 * template the store accepts is also accepted by the gateway's route
 * compiler: a template stored must never make a snapshot fail to build. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "gw/snapshot.h"
#include "store/store-t.h"
#include "store/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	char out[8192], err[512];
	(void)cg_store_check_hostname(in, out, err, sizeof(err));
	(void)cg_store_check_id("API id", in, err, sizeof(err));
	(void)cg_store_check_display_name(in, err, sizeof(err));
	(void)cg_store_check_path(in, out, err, sizeof(err));
	(void)cg_store_check_service_url(in, out, err, sizeof(err));
	(void)cg_store_check_method(in, out, err, sizeof(err));
	if (cg_store_check_url_template(in, out, err, sizeof(err)) == 0) {
		struct cg_arena a;
		cg_arena_init(&a, 4096, 0);
		struct cg_rt_op op;
		memset(&op, 0, sizeof(op));
		char gerr[512];
		/* The store keeps C strings: the gateway sees the text up to a NUL. */
		if (cg_route_compile_template(&a, cg_str_from_c(in), &op, gerr, sizeof(gerr)) != 0) {
			fprintf(stderr, "store accepted template '%s' the gateway refuses: %s\n", in, gerr);
			abort();
		}
		cg_arena_destroy(&a);
	}
	free(in);
	return 0;
}
