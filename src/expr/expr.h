/* The C# expression language of APIM policies: compile once, run many.
 *
 * Pipeline: lex.c (tokens) -> parse.c (AST in the compile arena) -> check.c
 * (binds names against the member tables in members.c, types every node,
 * rewrites hot patterns) -> eval.c (walks the typed tree). compile.c is the
 * entry point. Support files: types.c (type names, allow/deny lists),
 * fmt.c (dates, .NET number/date formatting and parsing), mathx.c (exact
 * rounding; Math.Pow/Log ... use libm), regex.c (.NET patterns on POSIX ERE), json.c
 * (bodies, JToken on jansson, JWT), coll.c (List/HashSet/Dictionary),
 * hash.c (SHA-x and HMAC on OpenSSL), ctx.c (certificate table, variables).
 * Uses src/base, jansson and OpenSSL; the gateway fills the context view
 * (ctx-t.h). docs/expressions.md says what is supported. */
#ifndef CG_EXPR_EXPR_H
#define CG_EXPR_EXPR_H

#include "expr/expr-t.h"

/* Compiles source (the text inside @( ) or @{ }) of the given kind.
 * env may be NULL (all sections, any result type, base 1:1).
 * The program and everything it points to (decoded literals, AST) is
 * allocated in arena, which must outlive every evaluation (the snapshot
 * arena); source itself need not outlive the call.
 * Returns 0 and sets *out, or -1 with at least one error in diag (diag
 * receives warnings either way). Refuses sources longer than
 * CG_EXPR_MAX_SOURCE_LEN and nesting deeper than CG_EXPR_MAX_DEPTH. */
int cg_expr_compile(struct cg_str source, enum cg_expr_kind kind,
		    const struct cg_expr_env *env, struct cg_arena *arena,
		    struct cg_expr_program **out, struct cg_expr_diag *diag);

/* The static result type of a compiled program. */
struct cg_expr_type cg_expr_program_type(const struct cg_expr_program *p);

/* Runs p against ctx. Thread-safe for one program across threads as long as
 * each call has its own ctx and arena. Returns 0 with *out set (strings and
 * arrays in *out may point into ctx->arena, the program arena or the context
 * view), or -1 with err filled (status says exception vs budget vs memory).
 * Sets ctx->steps. */
int cg_expr_eval(const struct cg_expr_program *p, struct cg_expr_ctx *ctx,
		 struct cg_expr_value *out, struct cg_expr_error *err);

/* .NET name of a static type ("System.String", "System.String[]"). */
const char *cg_expr_type_name(struct cg_expr_type t, char *buf, size_t len);

/* Renders v as .NET's ToString() would (invariant culture) into arena;
 * null renders as "". Returns CG_STR_NULL when out of memory. */
struct cg_str cg_expr_value_to_string(struct cg_arena *arena, const struct cg_expr_value *v);

/* A JWT as string.AsJwt() reads it, for policies outside expressions
 * (validate-jwt). token: "header.payload.signature" (base64url JSON
 * objects for the first two parts; the third is not read). Returns 0 with
 * *out a Jwt value (V_OBJ, cls CG_EXPR_T_JWT) or null when token is not a
 * JWT; -1 with err for memory or budget. Everything lives in ctx->arena
 * (which also releases the JSON). ctx->context may be NULL. */
int cg_expr_jwt_parse(struct cg_expr_ctx *ctx, struct cg_str token, struct cg_expr_value *out,
		      struct cg_expr_error *err);

/* Parts of a Jwt value from cg_expr_jwt_parse or AsJwt: its header and
 * payload (jansson objects, owned by the value) and its claims as
 * Jwt.Claims shows them (name -> values; an array claim gives one line per
 * element, numbers and booleans as .NET prints them). */
struct json_t;
const struct json_t *cg_expr_jwt_header(const struct cg_expr_value *jwt);
const struct json_t *cg_expr_jwt_payload(const struct cg_expr_value *jwt);
const struct cg_expr_headers *cg_expr_jwt_claim_list(const struct cg_expr_value *jwt);

#endif
