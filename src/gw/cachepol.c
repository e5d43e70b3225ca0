/* cache-lookup-value, cache-store-value, cache-remove-value (see cachepol.h). */
#include "gw/cachepol.h"

#include <stdio.h>

#include "base/log.h"
#include "expr/ctx.h"
#include "expr/expr.h"
#include "gw/cache.h"

/* APIM's duration is an Int32 number of seconds. */
#define MAX_DURATION_S 2147483647

static enum cg_pipe_rc invalid(struct cg_pipe *p, const struct cg_step *st, const char *msg)
{
	return cg_pipe_step_error(p, st, "PolicyValueInvalid", msg, 500, "Internal server error");
}

/* The key: a null or empty one is refused (.NET caches throw on both). */
static enum cg_pipe_rc cache_key(struct cg_pipe *p, const struct cg_step *st, struct cg_str *key)
{
	enum cg_pipe_rc rc = cg_pipe_attr_str(p, st, st->a[0], key);
	if (rc == CG_PIPE_CONTINUE && !key->len)
		return invalid(p, st, "Cache key must not be null or empty.");
	return rc;
}

static enum cg_pipe_rc run_lookup(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str key;
	struct cg_expr_value v;
	enum cg_pipe_rc rc = cache_key(p, st, &key);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	switch (cg_cache_lookup(key, p->arena, cg_cache_now_ms(), &v)) {
	case CG_CACHE_OK:
		break;
	case CG_CACHE_MISS:
		/* Without default-value the variable is not set (APIM). */
		if (!st->a[2])
			return CG_PIPE_CONTINUE;
		rc = cg_pipe_attr_value(p, st, st->a[2], &v);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		break;
	default:
		return CG_PIPE_NOMEM;
	}
	return cg_expr_vars_set(&p->vars, p->arena, st->a[1]->value, &v) == 0 ? CG_PIPE_CONTINUE : CG_PIPE_NOMEM;
}

static enum cg_pipe_rc refuse_type(struct cg_pipe *p, const struct cg_step *st, const struct cg_expr_value *v)
{
	char msg[200], tn[96];
	if (v->kind == CG_EXPR_V_NULL)
		return invalid(p, st, "A null value cannot be stored in the cache.");
	struct cg_expr_type t = { .id = v->kind == CG_EXPR_V_OBJ ? v->cls : CG_EXPR_T_ARRAY, .elem = v->cls };
	snprintf(msg, sizeof(msg), "A value of type '%s' cannot be stored in the cache.",
		 cg_expr_type_name(t, tn, sizeof(tn)));
	return invalid(p, st, msg);
}

static enum cg_pipe_rc run_store(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str key;
	struct cg_expr_value v;
	int64_t secs;
	enum cg_pipe_rc rc = cache_key(p, st, &key);
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_attr_value(p, st, st->a[1], &v);
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_attr_int(p, st, st->a[2], 0, 1, MAX_DURATION_S, &secs);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	switch (cg_cache_store(key, &v, (uint64_t)secs * 1000, cg_cache_now_ms())) {
	case CG_CACHE_OK:
		return CG_PIPE_CONTINUE;
	case CG_CACHE_TOO_LARGE:
		cg_log_info("cache-store-value: the value for key '%.*s' is larger than --cache-max-entry-bytes; "
			    "not stored",
			    (int)(key.len > 100 ? 100 : key.len), key.ptr);
		return CG_PIPE_CONTINUE;
	case CG_CACHE_UNSUPPORTED:
		return refuse_type(p, st, &v);
	default:
		return CG_PIPE_NOMEM;
	}
}

static enum cg_pipe_rc run_remove(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str key;
	bool fail_on_error;
	enum cg_pipe_rc rc = cache_key(p, st, &key);
	/* An in-process removal cannot fail: the attribute is evaluated
	 * (its expression may fail) and has nothing else to decide. */
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_attr_bool(p, st, st->a[1], false, &fail_on_error);
	if (rc == CG_PIPE_CONTINUE)
		cg_cache_remove(key);
	return rc;
}

enum cg_pipe_rc cg_cachepol_run(struct cg_pipe *p, const struct cg_step *st)
{
	switch (st->kind) {
	case CG_STEP_CACHE_LOOKUP:
		return run_lookup(p, st);
	case CG_STEP_CACHE_STORE:
		return run_store(p, st);
	case CG_STEP_CACHE_REMOVE:
		return run_remove(p, st);
	default:
		return CG_PIPE_CONTINUE;
	}
}
