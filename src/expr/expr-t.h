/* Compile-time and run-time types of the expression engine (types only). */
#ifndef CG_EXPR_EXPR_T_H
#define CG_EXPR_EXPR_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/str.h"
#include "expr/ctx-t.h"
#include "expr/value-t.h"

/* Named limits. Each has a test that hits it (tests/expr/limits.test). */
#define CG_EXPR_MAX_SOURCE_LEN (64 * 1024)  /* bytes of one @( ) or @{ } body */
#define CG_EXPR_MAX_DEPTH 64                /* nesting of expressions/statements in the parser */
#define CG_EXPR_MAX_TREE_DEPTH 128          /* depth of the typed tree (long operator chains), in the checker */
#define CG_EXPR_MAX_LITERAL_LEN (16 * 1024) /* bytes of one string literal */
#define CG_EXPR_MAX_ARGS 8                  /* arguments of one call */
#define CG_EXPR_MAX_LOCALS 64               /* locals and lambda parameters of one program */
#define CG_EXPR_MAX_DIAGS 8                 /* diagnostics kept; later ones are counted only */
#define CG_EXPR_DEFAULT_MAX_STEPS 100000    /* node evaluations per run, unless the caller sets one */
#define CG_EXPR_DEFAULT_MAX_STRING (1024 * 1024) /* bytes of one string built at run time */
#define CG_EXPR_DEFAULT_MAX_ITEMS 100000    /* elements of one collection built at run time */
#define CG_EXPR_MAX_EVAL_DEPTH 256          /* nested evaluation: a guard behind CG_EXPR_MAX_TREE_DEPTH */

enum cg_expr_kind {
	CG_EXPR_KIND_EXPR,  /* @( expression ) */
	CG_EXPR_KIND_BLOCK, /* @{ statements } */
};

/* Policy sections, as a bit set (members usable only in some sections). */
enum cg_expr_section {
	CG_EXPR_SEC_INBOUND = 1 << 0,
	CG_EXPR_SEC_BACKEND = 1 << 1,
	CG_EXPR_SEC_OUTBOUND = 1 << 2,
	CG_EXPR_SEC_ON_ERROR = 1 << 3,
	CG_EXPR_SEC_ALL = 0xf,
};

/* What the caller (the policy loader) allows and expects. */
struct cg_expr_env {
	unsigned sections;           /* enum cg_expr_section bits where the expression runs; 0 = all */
	bool has_result_type;        /* when set, the result must convert to result_type */
	struct cg_expr_type result_type;
	uint32_t base_line;          /* position of the first source byte in the policy text, 1-based */
	uint32_t base_col;
};

struct cg_expr_diag_item {
	bool warning;
	uint32_t line, col;          /* absolute: already offset by env->base_line/col */
	char msg[200];
};

/* Compile diagnostics: all errors and warnings, in source order of discovery.
 * Caller-owned (may live on the stack); zero it before use. */
struct cg_expr_diag {
	struct cg_expr_diag_item items[CG_EXPR_MAX_DIAGS];
	unsigned n;                  /* items filled */
	unsigned n_errors;           /* errors seen, including ones not kept */
	unsigned n_warnings;
};

enum cg_expr_status {
	CG_EXPR_OK = 0,
	CG_EXPR_EXCEPTION,           /* a .NET exception: type and message are set */
	CG_EXPR_BUDGET,              /* a limit was hit: steps, depth, string or collection size */
	CG_EXPR_NOMEM,               /* the request arena refused: the gateway answers 503 */
};

/* A run-time failure. Caller-owned; filled by cg_expr_eval on failure. */
struct cg_expr_error {
	enum cg_expr_status status;
	char type[64];               /* "System.NullReferenceException", "StepLimitExceeded" */
	char message[200];
};

struct cg_expr_program; /* opaque; lives in the compile arena */

/* One evaluation: the request's view, the request arena and budgets. */
struct cg_expr_ctx {
	const struct cg_expr_context *context;
	struct cg_arena *arena;      /* temporaries; results may point into it */
	uint64_t max_steps;          /* 0 = CG_EXPR_DEFAULT_MAX_STEPS */
	size_t max_string;           /* 0 = CG_EXPR_DEFAULT_MAX_STRING */
	uint32_t max_items;          /* 0 = CG_EXPR_DEFAULT_MAX_ITEMS */
	uint64_t steps;              /* out: steps used by the last run */
	/* Where context.Trace(msg) goes; NULL = dropped. */
	void (*trace)(void *user, struct cg_str msg);
	void *trace_user;
};

#endif
