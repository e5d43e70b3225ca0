/* The expression engine plugged into the loader's compile hook: used by the
 * snapshot builder and by the store's validation before commit, so a
 * policy that the gateway could not run is never stored. */
#include <stdio.h>
#include <string.h>

#include "expr/expr.h"
#include "policy/exprhook.h"

static unsigned section_bits(const char *section)
{
	if (!section)
		return CG_EXPR_SEC_ALL;
	if (strcmp(section, "inbound") == 0)
		return CG_EXPR_SEC_INBOUND;
	if (strcmp(section, "backend") == 0)
		return CG_EXPR_SEC_BACKEND;
	if (strcmp(section, "outbound") == 0)
		return CG_EXPR_SEC_OUTBOUND;
	if (strcmp(section, "on-error") == 0)
		return CG_EXPR_SEC_ON_ERROR;
	return CG_EXPR_SEC_ALL; /* "fragment": checked where it is included */
}

int cg_pol_expr_hook(void *ud, struct cg_str src, int is_block, int line, int col, const char *section,
		     void **compiled, char *err, size_t errlen)
{
	struct cg_arena *arena = ud;
	struct cg_expr_env env;
	memset(&env, 0, sizeof(env));
	env.sections = section_bits(section);
	env.base_line = (uint32_t)line;
	env.base_col = (uint32_t)col;
	struct cg_expr_diag d;
	memset(&d, 0, sizeof(d));
	struct cg_expr_program *prog = NULL;
	if (cg_expr_compile(src, is_block ? CG_EXPR_KIND_BLOCK : CG_EXPR_KIND_EXPR, &env, arena, &prog,
			    &d) != 0) {
		for (unsigned i = 0; i < d.n; i++)
			if (!d.items[i].warning) {
				snprintf(err, errlen, "%s (at %u:%u)", d.items[i].msg, d.items[i].line,
					 d.items[i].col);
				return -1;
			}
		snprintf(err, errlen, "the expression does not compile");
		return -1;
	}
	*compiled = prog;
	/* Warnings (e.g. X500DistinguishedName compared to a string) go back
	 * one per line; the loader reports them at the expression. */
	size_t used = 0;
	err[0] = '\0';
	for (unsigned i = 0; i < d.n && used + 1 < errlen; i++)
		if (d.items[i].warning) {
			int w = snprintf(err + used, errlen - used, "%s%s (at %u:%u)", used ? "\n" : "",
					 d.items[i].msg, d.items[i].line, d.items[i].col);
			if (w < 0)
				break;
			used += (size_t)w < errlen - used ? (size_t)w : errlen - used - 1;
		}
	return 0;
}
