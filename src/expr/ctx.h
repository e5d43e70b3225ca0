/* Helpers the gateway (and tests) use to fill the context view. */
#ifndef CG_EXPR_CTX_H
#define CG_EXPR_CTX_H

#include "base/arena.h"
#include "expr/ctx-t.h"

/* Builds context.Deployment.Certificates from n certificates, keyed by each
 * one's thumbprint (ordinal, as .NET's default string comparer). certs are
 * borrowed and must outlive the table; the table lives in arena (the
 * snapshot's). A duplicate thumbprint keeps the first. Returns 0, -1 on OOM. */
int cg_expr_cert_table_build(struct cg_arena *arena, const struct cg_expr_cert *const *certs,
			     uint32_t n, struct cg_expr_cert_table *out);

/* The certificate whose thumbprint is key, or NULL. O(1). */
const struct cg_expr_cert *cg_expr_cert_table_get(const struct cg_expr_cert_table *t, struct cg_str key);

/* Sets (adds or replaces) a variable. The name and value are stored as given
 * (slices borrowed): the caller copies them into the request arena first.
 * Returns 0, or -1 when the arena refuses. */
int cg_expr_vars_set(struct cg_expr_vars *vars, struct cg_arena *arena, struct cg_str name,
		     const struct cg_expr_value *value);

/* The variable named name (ordinal), or NULL. */
const struct cg_expr_value *cg_expr_vars_get(const struct cg_expr_vars *vars, struct cg_str name);

/* .NET ticks (100 ns since 0001-01-01) for a Unix time in seconds. */
int64_t cg_expr_ticks_from_unix(int64_t secs);

#endif
