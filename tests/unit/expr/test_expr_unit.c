/* Unit tests for the lexer, parser and the limits that need generated input,
 * plus the no-allocation and no-scan properties of the hot path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "expr_harness.h"

static struct cg_arena arena;

static int setup(void **state)
{
	(void)state;
	cg_arena_init(&arena, 16384, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cg_arena_destroy(&arena);
	return 0;
}

static void test_lex_tokens(void **state)
{
	(void)state;
	struct cg_expr_diag diag = { 0 };
	struct cg_expr_diagctx dc = { &diag, 1, 1 };
	struct cg_expr_token *t;
	const char *src = "a.b?.c ?? 1.5e3 >=\n  'x' << $\"{1}\" @\"v\"\"\" 10UL";
	int n = cg_expr_lex(cg_str_from_c(src), 1, 1, &arena, &dc, &t);
	static const uint8_t kinds[] = { TK_IDENT, TK_DOT, TK_IDENT, TK_QDOT, TK_IDENT, TK_QQ, TK_REAL, TK_GE,
					 TK_CHAR, TK_SHL, TK_INTERP, TK_STRING, TK_INT, TK_EOF };
	assert_int_equal(n, (int)sizeof(kinds));
	for (int k = 0; k < n; k++)
		assert_int_equal(t[k].kind, kinds[k]);
	assert_int_equal(t[6].num, NUM_DOUBLE);
	assert_true(t[6].d == 1500.0);
	assert_int_equal(t[8].line, 2);
	assert_int_equal(t[8].col, 3);
	assert_int_equal(t[8].u, 'x');
	assert_true(cg_str_eq_lit(t[10].text, "{1}"));
	assert_true(cg_str_eq_lit(t[11].sval, "v\""));
	assert_int_equal(t[12].num, NUM_ULONG);
	assert_int_equal(t[12].u, 10);
}

static void test_lex_line_col_utf8(void **state)
{
	(void)state;
	struct cg_expr_diag diag = { 0 };
	struct cg_expr_diagctx dc = { &diag, 1, 1 };
	struct cg_expr_token *t;
	/* columns count characters: "é" is one column */
	int n = cg_expr_lex(cg_str_from_c("\"é\" + x"), 1, 1, &arena, &dc, &t);
	assert_int_equal(n, 4);
	assert_int_equal(t[1].col, 5);
	assert_int_equal(t[2].col, 7);
}

static int compile(const char *src, enum cg_expr_kind kind, struct cg_expr_program **p, struct cg_expr_diag *d)
{
	memset(d, 0, sizeof(*d));
	return cg_expr_compile(cg_str_from_c(src), kind, NULL, &arena, p, d);
}

static void test_parse_precedence(void **state)
{
	(void)state;
	struct cg_expr_program *p;
	struct cg_expr_diag d;
	assert_int_equal(compile("1 + 2 * 3 == 7 && !false || 1 / 0 == 0", CG_EXPR_KIND_EXPR, &p, &d), 0);
	/* the root is ||, its left && */
	assert_int_equal(p->root->op, N_ORELSE);
	assert_int_equal(p->root->a->op, N_ANDALSO);
	assert_int_equal(p->root->a->a->op, N_BINARY);
	assert_int_equal(p->root->a->a->sub, TK_EQ);
	/* ?? is right-associative, ?: binds looser than ?? */
	assert_int_equal(compile("(string)null ?? (string)null ?? \"c\"", CG_EXPR_KIND_EXPR, &p, &d), 0);
	assert_int_equal(p->root->op, N_COALESCE);
	assert_int_equal(p->root->b->op, N_COALESCE);
	/* a cast of a parenthesised name followed by a binary minus is not a cast */
	assert_int_equal(compile("(int)-1", CG_EXPR_KIND_EXPR, &p, &d), 0);
	assert_int_equal(p->root->op, N_LIT);
	assert_int_equal(p->root->lit.u.i, -1);
	/* generic call */
	assert_int_equal(compile("context.Variables.GetValueOrDefault<string>(\"a\", \"b\")", CG_EXPR_KIND_EXPR, &p, &d), 0);
	assert_int_equal(p->root->op, N_METHOD);
	assert_int_equal(p->type.id, CG_EXPR_T_STRING);
	/* a < b > c is a comparison chain, not a generic: a type error here */
	assert_int_equal(compile("1 < 2 > 3", CG_EXPR_KIND_EXPR, &p, &d), -1);
}

static void test_limit_source_len(void **state)
{
	(void)state;
	size_t n = CG_EXPR_MAX_SOURCE_LEN + 1;
	char *src = malloc(n + 1);
	memset(src, '1', n);
	src[n] = '\0';
	struct cg_expr_program *p;
	struct cg_expr_diag d;
	assert_int_equal(compile(src, CG_EXPR_KIND_EXPR, &p, &d), -1);
	assert_string_equal(d.items[0].msg, "expression longer than 65536 bytes");
	free(src);
}

static void test_limit_literal_len(void **state)
{
	(void)state;
	size_t n = CG_EXPR_MAX_LITERAL_LEN + 10;
	char *src = malloc(n + 3);
	src[0] = '"';
	memset(src + 1, 'a', n);
	src[n + 1] = '"';
	src[n + 2] = '\0';
	struct cg_expr_program *p;
	struct cg_expr_diag d;
	assert_int_equal(compile(src, CG_EXPR_KIND_EXPR, &p, &d), -1);
	assert_string_equal(d.items[0].msg, "string literal longer than 16384 bytes");
	src[CG_EXPR_MAX_LITERAL_LEN - 10] = '"';
	src[CG_EXPR_MAX_LITERAL_LEN - 9] = '\0';
	assert_int_equal(compile(src, CG_EXPR_KIND_EXPR, &p, &d), 0);
	free(src);
}

static void test_limit_locals(void **state)
{
	(void)state;
	char src[4096];
	size_t o = 0;
	for (int k = 0; k <= CG_EXPR_MAX_LOCALS; k++)
		o += (size_t)snprintf(src + o, sizeof(src) - o, "var v%d = %d; ", k, k);
	snprintf(src + o, sizeof(src) - o, "return v0;");
	struct cg_expr_program *p;
	struct cg_expr_diag d;
	assert_int_equal(compile(src, CG_EXPR_KIND_BLOCK, &p, &d), -1);
	assert_string_equal(d.items[0].msg, "more than 64 locals");
}

static void test_limit_diags(void **state)
{
	(void)state;
	struct cg_expr_program *p;
	struct cg_expr_diag d;
	assert_int_equal(compile("a + b + c + d + e + f + g + h + i + j", CG_EXPR_KIND_EXPR, &p, &d), -1);
	assert_int_equal(d.n, CG_EXPR_MAX_DIAGS);
	assert_int_equal(d.n_errors, 10);
}

/* The evaluator's own depth guard, behind the checker's tree limit: built
 * by hand because the checker refuses trees this deep. */
static void test_limit_eval_depth(void **state)
{
	(void)state;
	struct cg_expr_node *leaf = cg_arena_zalloc(&arena, sizeof(*leaf));
	leaf->op = N_LIT;
	leaf->lit.kind = CG_EXPR_V_BOOL;
	struct cg_expr_node *top = leaf;
	for (int k = 0; k < CG_EXPR_MAX_EVAL_DEPTH + 5; k++) {
		struct cg_expr_node *u = cg_arena_zalloc(&arena, sizeof(*u));
		u->op = N_UNARY;
		u->sub = TK_BANG;
		u->a = top;
		top = u;
	}
	struct cg_expr_program prog = { .root = top, .kind = CG_EXPR_KIND_EXPR };
	struct cg_arena req;
	cg_arena_init(&req, 4096, 0);
	struct cg_expr_context c = { 0 };
	struct cg_expr_ctx ec = { .context = &c, .arena = &req };
	struct cg_expr_value v;
	struct cg_expr_error err;
	assert_int_equal(cg_expr_eval(&prog, &ec, &v, &err), -1);
	assert_int_equal(err.status, CG_EXPR_BUDGET);
	assert_string_equal(err.message, "expression depth limit exceeded");
	cg_arena_destroy(&req);
}

/* The request arena's byte cap: running out is CG_EXPR_NOMEM (503), not a crash. */
static void test_limit_arena_bytes(void **state)
{
	(void)state;
	struct cg_expr_program *p;
	struct cg_expr_diag d;
	assert_int_equal(compile("var s = \"0123456789\"; while (true) { s = s + s; } return s;", CG_EXPR_KIND_BLOCK, &p, &d), 0);
	struct cg_arena req;
	cg_arena_init(&req, 1024, 64 * 1024);
	struct cg_expr_context c = { 0 };
	struct cg_expr_ctx ec = { .context = &c, .arena = &req };
	struct cg_expr_value v;
	struct cg_expr_error err;
	assert_int_equal(cg_expr_eval(p, &ec, &v, &err), -1);
	assert_int_equal(err.status, CG_EXPR_NOMEM);
	cg_arena_destroy(&req);
}

static const char *const guide[] = {
	"context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now",
	"context.Request.Certificate == null || context.Request.Certificate.Issuer != \"trusted-issuer\" || context.Request.Certificate.SubjectName.Name != \"expected-subject-name\"",
	"context.Request.Certificate == null || context.Request.Certificate.Thumbprint != \"desired-thumbprint\"",
	"context.Request.Certificate == null || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint)",
};

/* The guide expressions allocate nothing per evaluation, and the
 * certificate lookup costs the same steps with 1 or 10,000 certificates. */
static void test_hot_path(void **state)
{
	(void)state;
	struct h_case *hc = calloc(1, sizeof(*hc));
	h_init(hc);
	hc->has_cert = true;
	struct cg_arena carena;
	cg_arena_init(&carena, 1 << 16, 0);
	uint64_t steps[2];
	for (int round = 0; round < 2; round++) {
		uint32_t ncerts = round ? 10000 : 1;
		hc->ndcerts = 0;
		for (uint32_t k = 0; k < ncerts; k++) {
			struct cg_expr_cert *c = h_add_dcert(hc, &carena);
			c->thumbprint = cg_str_from_c(cg_arena_printf(&carena, "%040u", k));
		}
		hc->cert.thumbprint = hc->dcerts[ncerts - 1].thumbprint;
		assert_int_equal(h_finish(hc, &carena), 0);
		struct cg_expr_program *p;
		struct cg_expr_diag d;
		assert_int_equal(compile(guide[3], CG_EXPR_KIND_EXPR, &p, &d), 0);
		struct cg_arena req;
		cg_arena_init(&req, 4096, 0);
		struct cg_expr_ctx ec = { .context = &hc->ctx, .arena = &req };
		struct cg_expr_value v;
		struct cg_expr_error err;
		assert_int_equal(cg_expr_eval(p, &ec, &v, &err), 0);
		assert_false(v.u.b);
		steps[round] = ec.steps;
		assert_int_equal(req.used_bytes, 0);
		cg_arena_destroy(&req);
	}
	assert_int_equal(steps[0], steps[1]);

	/* all four: no allocation; print the cost (informational only) */
	for (size_t g = 0; g < sizeof(guide) / sizeof(guide[0]); g++) {
		struct cg_expr_program *p;
		struct cg_expr_diag d;
		assert_int_equal(compile(guide[g], CG_EXPR_KIND_EXPR, &p, &d), 0);
		struct cg_arena req;
		cg_arena_init(&req, 4096, 0);
		struct cg_expr_ctx ec = { .context = &hc->ctx, .arena = &req };
		struct cg_expr_value v;
		struct cg_expr_error err;
		enum { N = 200000 };
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int k = 0; k < N; k++)
			assert_int_equal(cg_expr_eval(p, &ec, &v, &err), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / N;
		fprintf(stderr, "guide[%zu]: %.0f ns/eval, %llu steps (sanitizer builds are slower)\n", g, ns,
			(unsigned long long)ec.steps);
		assert_int_equal(req.used_bytes, 0);
		cg_arena_destroy(&req);
	}
	cg_arena_destroy(&carena);
	free(hc);
}

static void test_value_to_string(void **state)
{
	(void)state;
	struct cg_expr_value v = { .kind = CG_EXPR_V_DOUBLE };
	v.u.d = 0.1;
	struct cg_str s = cg_expr_value_to_string(&arena, &v);
	assert_true(cg_str_eq_lit(s, "0.1"));
	v.kind = CG_EXPR_V_BOOL;
	v.u.b = true;
	assert_true(cg_str_eq_lit(cg_expr_value_to_string(&arena, &v), "True"));
	char b[200];
	assert_string_equal(cg_expr_type_name((struct cg_expr_type){ CG_EXPR_T_ARRAY, CG_EXPR_T_STRING }, b, sizeof(b)),
			    "System.String[]");
}

static void test_cert_table(void **state)
{
	(void)state;
	struct cg_expr_cert a = { .thumbprint = CG_STR("AA") }, b = { .thumbprint = CG_STR("BB") },
			    dup = { .thumbprint = CG_STR("AA") };
	const struct cg_expr_cert *list[] = { &a, &b, &dup };
	struct cg_expr_cert_table t;
	assert_int_equal(cg_expr_cert_table_build(&arena, list, 3, &t), 0);
	assert_int_equal(t.n, 2);
	assert_ptr_equal(cg_expr_cert_table_get(&t, CG_STR("AA")), &a);
	assert_ptr_equal(cg_expr_cert_table_get(&t, CG_STR("BB")), &b);
	assert_null(cg_expr_cert_table_get(&t, CG_STR("aa")));
	struct cg_expr_cert_table empty;
	assert_int_equal(cg_expr_cert_table_build(&arena, NULL, 0, &empty), 0);
	assert_null(cg_expr_cert_table_get(&empty, CG_STR("AA")));
}

/* One compiled program, many threads: programs are immutable, so
 * concurrent evaluations (each with its own arena) agree with a serial run. */
struct thread_job {
	const struct cg_expr_program *p;
	const struct cg_expr_context *ctx;
	struct cg_str expect;
	int failures;
};

static void *thread_run(void *arg)
{
	struct thread_job *j = arg;
	struct cg_arena req;
	cg_arena_init(&req, 4096, 0);
	for (int k = 0; k < 500; k++) {
		struct cg_expr_ctx ec = { .context = j->ctx, .arena = &req };
		struct cg_expr_value v;
		struct cg_expr_error err;
		if (cg_expr_eval(j->p, &ec, &v, &err) < 0 || v.kind != CG_EXPR_V_STRING || !cg_str_eq(v.u.s, j->expect))
			j->failures++;
		cg_arena_reset(&req);
	}
	cg_arena_destroy(&req);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct h_case *hc = calloc(1, sizeof(*hc));
	h_init(hc);
	hc->has_cert = true;
	assert_int_equal(h_finish(hc, &arena), 0);
	const char *src = "Regex.Replace(context.Request.Certificate.Subject, @\"CN=(\\w+)-.*\", \"$1\") + \"|\" + "
			  "JObject.Parse(\"{\\\"a\\\":[1,2]}\")[\"a\"].ToString(0) + \"|\" + "
			  "new List<int> { 3, 1, 2 }.OrderBy(x => x).First() + \"|\" + "
			  "Convert.ToBase64String(Encoding.UTF8.GetBytes(\"x\"))";
	struct cg_expr_program *p;
	struct cg_expr_diag d;
	int rc = compile(src, CG_EXPR_KIND_EXPR, &p, &d);
	if (rc)
		fprintf(stderr, "%s\n", d.items[0].msg);
	assert_int_equal(rc, 0);
	struct thread_job jobs[4];
	pthread_t th[4];
	for (int k = 0; k < 4; k++) {
		jobs[k] = (struct thread_job){ p, &hc->ctx, CG_STR("expected|[1,2]|1|eA=="), 0 };
		assert_int_equal(pthread_create(&th[k], NULL, thread_run, &jobs[k]), 0);
	}
	for (int k = 0; k < 4; k++) {
		pthread_join(th[k], NULL);
		assert_int_equal(jobs[k].failures, 0);
	}
	free(hc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lex_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lex_line_col_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_source_len, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_literal_len, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_locals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_diags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_eval_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_arena_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hot_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_value_to_string, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
