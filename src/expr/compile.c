/* cg_expr_compile: lex, parse, check; everything lands in the caller's
 * (snapshot) arena. */
#include "expr/internal.h"

#include <string.h>

int cg_expr_compile(struct cg_str source, enum cg_expr_kind kind, const struct cg_expr_env *env,
		    struct cg_arena *arena, struct cg_expr_program **out, struct cg_expr_diag *diag)
{
	struct cg_expr_diagctx dc = { diag, env && env->base_line ? env->base_line : 1,
				      env && env->base_col ? env->base_col : 1 };
	unsigned before = diag->n_errors;
	*out = NULL;
	if (source.len > CG_EXPR_MAX_SOURCE_LEN) {
		cg_expr_report(&dc, false, 1, 1, "expression longer than %d bytes", CG_EXPR_MAX_SOURCE_LEN);
		return -1;
	}
	if (!source.ptr)
		source = CG_STR("");
	/* The tokens and AST point into the source; copy it so the caller's
	 * buffer (the policy text) need not outlive the program. */
	struct cg_str src = cg_arena_strdup_str(arena, source);
	struct cg_expr_program *p = cg_arena_zalloc(arena, sizeof(*p));
	if (!src.ptr || !p) {
		cg_expr_report(&dc, false, 1, 1, "out of memory");
		return -1;
	}
	struct cg_expr_token *toks;
	int nt = cg_expr_lex(src, 1, 1, arena, &dc, &toks);
	if (nt < 0)
		return -1;
	p->kind = kind;
	p->root = cg_expr_parse(toks, nt, kind, arena, &dc);
	if (!p->root) {
		if (diag->n_errors == before)
			cg_expr_report(&dc, false, 1, 1, "syntax error");
		return -1;
	}
	if (cg_expr_check(p, env, arena, &dc) < 0)
		return -1;
	*out = p;
	return 0;
}

struct cg_expr_type cg_expr_program_type(const struct cg_expr_program *p)
{
	return p->type;
}

struct cg_str cg_expr_value_to_string(struct cg_arena *arena, const struct cg_expr_value *v)
{
	struct cg_expr_ctx ctx = { .arena = arena };
	struct cg_expr_error err;
	struct cg_expr_run r;
	memset(&r, 0, offsetof(struct cg_expr_run, locals));
	r.ctx = &ctx;
	r.err = &err;
	r.max_string = CG_EXPR_DEFAULT_MAX_STRING;
	r.max_items = CG_EXPR_DEFAULT_MAX_ITEMS;
	struct cg_str s;
	if (cg_expr_tostr(&r, v, &s) < 0)
		return CG_STR_NULL;
	return s;
}
