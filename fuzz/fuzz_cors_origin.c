/* Fuzzer for CORS origins (cg_pol_origin_parse): the cors policy's
 * <origin> values and every request's Origin header go through it.
 *
 * Beyond "no crash, no read past the input", it checks properties: what
 * parses has its slices inside the input, equals itself, and its canonical
 * form "scheme://host:port" parses again to an equal origin. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(struct cg_str s, const char *base, size_t size)
{
	return s.ptr >= base && s.ptr + s.len <= base + size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Copied so that a read past the end is caught by ASan. */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	struct cg_pol_origin o, again;
	if (cg_pol_origin_parse(cg_str_make(text, size), &o)) {
		if (!inside(o.scheme, text, size) || !inside(o.host, text, size) || !o.scheme.len || !o.host.len ||
		    o.port > 65535 || !cg_pol_origin_eq(&o, &o))
			abort();
		char canon[600];
		int n = o.port ? snprintf(canon, sizeof(canon), "%.*s://%.*s:%u", CG_STR_FMT(o.scheme),
					  CG_STR_FMT(o.host), o.port)
			       : snprintf(canon, sizeof(canon), "%.*s://%.*s", CG_STR_FMT(o.scheme),
					  CG_STR_FMT(o.host));
		if (n > 0 && (size_t)n < sizeof(canon) &&
		    (!cg_pol_origin_parse(cg_str_make(canon, (size_t)n), &again) || !cg_pol_origin_eq(&o, &again)))
			abort();
	}
	free(text);
	return 0;
}
