/* Fuzzer for DN text (cg_dn_parse), the parser behind the subject and
 * issuer-subject claims of validate-client-certificate.
 *
 * Beyond "no crash, no leak, no read past the input", it checks a
 * property: whatever parses renders (cg_dn_to_dotnet) to text that parses
 * again to the same rendering, and every error message has the
 * "dn:LINE:COL: " prefix. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "tls/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_arena a;
	struct cg_dn *dn = NULL, *again = NULL;
	char err[256] = "";
	cg_arena_init(&a, 16 * 1024, 4u << 20);
	/* The input is copied so that a read past its end is caught by ASan. */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	if (cg_dn_parse(cg_str_make(text, size), &a, &dn, err, sizeof(err)) == 0) {
		struct cg_str r1 = cg_dn_to_dotnet(dn, &a);
		if (!r1.ptr)
			abort();
		if (cg_dn_parse(r1, &a, &again, err, sizeof(err)) != 0)
			abort(); /* a rendering must parse */
		struct cg_str r2 = cg_dn_to_dotnet(again, &a);
		if (!cg_str_eq(r1, r2) || again->num_rdns != dn->num_rdns)
			abort(); /* and render the same */
	} else if (strncmp(err, "dn:", 3) != 0 || dn != NULL) {
		abort();
	}
	free(text);
	cg_arena_destroy(&a);
	return 0;
}
