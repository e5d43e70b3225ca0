/* Fuzzes the policy loader: arbitrary text as a document (rawxml or xml,
 * chosen by the first byte), with named values and fragments in reach, then
 * the effective policy and the check entry point. Must never crash, leak
 * or hang; every allocation lives in one arena destroyed per input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct cg_pol_named_value nvs[] = {
	{ CG_STR("nv"), CG_STR("value") },
	{ CG_STR("expr"), CG_STR("@(context.Request.Method)") },
	{ CG_STR("raw"), CG_STR("\"<&'{{nv}}") },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum cg_pol_format fmt = (data[0] & 1) ? CG_POL_FORMAT_XML : CG_POL_FORMAT_RAWXML;
	struct cg_str text = cg_str_make((const char *)data + 1, size - 1);
	/* The input doubles as a fragment, so fragment paths see fuzzed text
	 * too (a document including itself is refused: its root is not
	 * <fragment>, or it contains no include when it is one). */
	struct cg_pol_fragment frags[] = {
		{ CG_STR("self"), text, fmt },
		{ CG_STR("ok"), CG_STR("<fragment><set-header name=\"{{nv}}\"><value>@(\"x\")</value></set-header></fragment>"),
		  CG_POL_FORMAT_RAWXML },
	};
	struct cg_pol_env env = { nvs, 3, frags, 2, NULL, NULL };
	struct cg_arena a;
	cg_arena_init(&a, 8192, 0);
	struct cg_pol_diags d;
	cg_pol_diags_init(&d, &a);
	struct cg_pol_doc *doc = NULL;
	if (cg_pol_load(&a, text, fmt, CG_POL_SCOPE_API, &env, &d, &doc) == 0) {
		struct cg_pol_effective e;
		cg_pol_effective(&a, NULL, doc, doc, &e);
		struct cg_buf b;
		cg_buf_init(&b, 1u << 24);
		if (cg_pol_dump_effective(&e, &b) != 0)
			b.len = 0;
		cg_buf_free(&b);
	}
	cg_pol_check(&a, text, fmt, &env, &d);
	struct cg_buf b;
	cg_buf_init(&b, 1u << 20);
	for (const struct cg_pol_diag *dg = d.head; dg; dg = dg->next) {
		/* The pre-pass and libxml2 must agree on every text libxml2
		 * accepts; an internal error means they did not. */
		if (dg->message.len >= 14 && memcmp(dg->message.ptr, "Internal error", 14) == 0)
			abort();
		/* Positions are inside the text (or just past its end). */
		if (!dg->origin.len && dg->pos.off > text.len)
			abort();
		if (cg_pol_diag_format(dg, &b) != 0)
			break;
	}
	cg_buf_free(&b);
	cg_arena_destroy(&a);
	return 0;
}
