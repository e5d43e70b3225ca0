/* Fuzz target: compiles arbitrary text as an expression and as a block; a
 * program that compiles is evaluated against a small filled context with a
 * step budget. Must never crash, leak past the arenas, or hang. The first
 * byte picks the kind (even: expression, odd: block) so the corpus covers
 * both. */
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "expr/ctx.h"
#include "expr/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool verify_false(const struct cg_expr_cert *c, void *user)
{
	(void)c;
	(void)user;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	enum cg_expr_kind kind = data[0] & 1 ? CG_EXPR_KIND_BLOCK : CG_EXPR_KIND_EXPR;
	struct cg_str src = cg_str_make((const char *)data + 1, size - 1);

	struct cg_arena arena, req;
	cg_arena_init(&arena, 8192, 64u << 20);
	cg_arena_init(&req, 8192, 16u << 20);
	struct cg_expr_diag diag;
	memset(&diag, 0, sizeof(diag));
	struct cg_expr_program *p = NULL;
	if (cg_expr_compile(src, kind, NULL, &arena, &p, &diag) == 0) {
		static struct cg_expr_cert cert = {
			.thumbprint = CG_STR("0123456789ABCDEF0123456789ABCDEF01234567"),
			.subject = CG_STR("CN=client, O=Example"),
			.issuer = CG_STR("CN=ca"),
			.serial_number = CG_STR("01"),
			.not_before = 638000000000000000LL,
			.not_after = 640000000000000000LL,
			.version = 3,
			.verify = verify_false,
		};
		static const struct cg_expr_header headers[] = {
			{ CG_STR("Host"), CG_STR("api.example.com") },
			{ CG_STR("X-A"), CG_STR("1") },
			{ CG_STR("x-a"), CG_STR("2") },
		};
		struct cg_expr_request_view rq = {
			.method = CG_STR("GET"),
			.url = { CG_STR("https"), CG_STR("api.example.com"), 443, CG_STR("/p"), CG_STR("a=1") },
			.headers = { headers, 3 },
			.ip_address = CG_STR("192.0.2.1"),
			.certificate = &cert,
		};
		rq.original_url = rq.url;
		static const struct cg_expr_body body = { CG_STR("{\"a\":[1,2,{\"b\":\"x\"}],\"n\":null,\"t\":true}") };
		rq.body = &body;
		const struct cg_expr_cert *cp = &cert;
		struct cg_expr_cert_table table;
		struct cg_expr_deployment_view dep = { .gateway_id = CG_STR("managed") };
		if (cg_expr_cert_table_build(&arena, &cp, 1, &table) == 0)
			dep.certificates = &table;
		struct cg_expr_vars vars = { 0 };
		struct cg_expr_value v = { .kind = CG_EXPR_V_STRING };
		v.u.s = CG_STR("value");
		(void)cg_expr_vars_set(&vars, &req, CG_STR("name"), &v);
		struct cg_expr_context c = {
			.request = &rq, .deployment = &dep, .variables = &vars,
			.timestamp = 639000000000000000LL, .now = 639000000100000000LL,
		};
		struct cg_expr_ctx ec = { .context = &c, .arena = &req, .max_steps = 20000,
					  .max_string = 1 << 16, .max_items = 4096 };
		struct cg_expr_value out;
		struct cg_expr_error err;
		(void)cg_expr_eval(p, &ec, &out, &err);
		(void)cg_expr_value_to_string(&req, &out);
	}
	cg_arena_destroy(&req);
	cg_arena_destroy(&arena);
	return 0;
}
