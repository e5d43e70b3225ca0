/* The policy pipeline end to end below the network: policy text -> loader
 * -> expression engine -> steps -> run against a request view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expr/ctx.h"
#include "gw/cors.h"
#include "gw/limits.h"
#include "gw/pipeline.h"
#include "gw/snapshot.h"
#include "tls/tls.h"

#include "gw/pipe_helpers.h"

static const char *const guide[] = {
	"@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)",
	"@(context.Request.Certificate == null || context.Request.Certificate.Issuer != \"trusted-issuer\" || "
	"context.Request.Certificate.SubjectName.Name != \"expected-subject-name\")",
	"@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != \"desired-thumbprint\")",
	"@(context.Request.Certificate == null || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == "
	"context.Request.Certificate.Thumbprint))",
};

static char *guide_policy(const char *cond)
{
	static char buf[2048];
	snprintf(buf, sizeof(buf),
		 "<policies><inbound><choose><when condition=\"%s\"><return-response>"
		 "<set-status code=\"403\" reason=\"Invalid client certificate\" /></return-response></when>"
		 "</choose><base /></inbound><backend><forward-request /></backend><outbound /><on-error />"
		 "</policies>",
		 cond);
	return buf;
}

static void start(struct run *r, const struct cg_pipeline *pl, const struct cg_expr_cert *cert,
		  const struct cg_expr_cert_table *certs)
{
	prepare(r, pl, NULL);
	r->p.reqv.certificate = cert;
	r->p.depv.certificates = certs;
	r->rc = cg_pipe_run(&r->p, CG_POL_INBOUND);
	if (r->rc == CG_PIPE_CONTINUE)
		r->rc = cg_pipe_run(&r->p, CG_POL_BACKEND);
}

static const struct cg_pipeline *api_pipeline(struct cg_snapshot *s)
{
	return s->apis[0]->pipeline;
}

static struct cg_expr_cert make_cert(const char *thumb, int64_t not_after_ticks)
{
	struct cg_expr_cert c;
	memset(&c, 0, sizeof(c));
	c.thumbprint = cg_str_from_c(thumb);
	c.subject = CG_STR("CN=expected-subject-name");
	c.issuer = CG_STR("CN=other");
	c.not_after = not_after_ticks;
	c.version = 3;
	return c;
}

static void test_guide_policies(void **state)
{
	char err[512];
	int64_t future = cg_expr_ticks_from_unix(4102444800LL); /* 2100 */
	int64_t past = cg_expr_ticks_from_unix(946684800LL);    /* 2000 */
	struct cg_expr_cert good = make_cert("0123456789ABCDEF0123456789ABCDEF01234567", future);
	struct cg_expr_cert old = make_cert("0123456789ABCDEF0123456789ABCDEF01234567", past);
	const struct cg_expr_cert *uploaded[] = { &good };
	struct cg_arena ta;
	cg_arena_init(&ta, 4096, 0);
	struct cg_expr_cert_table table, empty;
	assert_int_equal(cg_expr_cert_table_build(&ta, uploaded, 1, &table), 0);
	assert_int_equal(cg_expr_cert_table_build(&ta, NULL, 0, &empty), 0);

	for (size_t i = 0; i < 4; i++) {
		struct cg_snapshot *s = build(guide_policy(guide[i]), NULL, err, sizeof(err));
		if (!s)
			fail_msg("guide policy %zu: %s", i + 1, err);
		struct run r;
		/* no certificate: 403 everywhere */
		start(&r, api_pipeline(s), NULL, &table);
		assert_int_equal(r.rc, CG_PIPE_RESPOND);
		assert_int_equal(r.p.status, 403);
		assert_true(cg_str_eq_lit(r.p.reason, "Invalid client certificate"));
		cg_arena_destroy(&r.arena);
		start(&r, api_pipeline(s), &good, i == 3 ? &table : &empty);
		if (i == 0 || i == 3) {
			/* valid dates / uploaded: forwarded */
			assert_int_equal(r.rc, CG_PIPE_CONTINUE);
			assert_true(r.p.forward);
		} else {
			/* issuer "CN=other" != "trusted-issuer"; thumbprint differs */
			assert_int_equal(r.rc, CG_PIPE_RESPOND);
			assert_int_equal(r.p.status, 403);
		}
		cg_arena_destroy(&r.arena);
		if (i == 0) {
			start(&r, api_pipeline(s), &old, &empty);
			assert_int_equal(r.rc, CG_PIPE_RESPOND);
			cg_arena_destroy(&r.arena);
		}
		if (i == 3) {
			/* not among the uploaded certificates */
			start(&r, api_pipeline(s), &good, &empty);
			assert_int_equal(r.rc, CG_PIPE_RESPOND);
			cg_arena_destroy(&r.arena);
		}
		cg_snapshot_unref(s);
	}
	cg_arena_destroy(&ta);
}

static void test_thumbprint_match(void **state)
{
	char err[512];
	struct cg_snapshot *s = build(
		guide_policy("@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != "
			     "\"0123456789ABCDEF0123456789ABCDEF01234567\")"),
		NULL, err, sizeof(err));
	assert_non_null(s);
	struct cg_expr_cert good = make_cert("0123456789ABCDEF0123456789ABCDEF01234567", 0);
	struct run r;
	start(&r, api_pipeline(s), &good, NULL);
	assert_int_equal(r.rc, CG_PIPE_CONTINUE);
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
}

static void test_headers_and_base(void **state)
{
	char err[512];
	const char *global = "<policies><inbound><set-header name=\"X-Global\" exists-action=\"override\">"
			     "<value>g</value></set-header></inbound><backend><forward-request timeout=\"7\"/>"
			     "</backend><outbound/><on-error/></policies>";
	const char *apip = "<policies><inbound><set-header name=\"X-Key\" exists-action=\"delete\"/><base/>"
			   "<set-header name=\"X-Api\" exists-action=\"append\"><value>@(context.Api.Id + "
			   "\"-\" + context.Request.Headers.GetValueOrDefault(\"X-Global\", \"none\"))</value>"
			   "</set-header><set-query-parameter name=\"q\" exists-action=\"override\"><value>a b"
			   "</value></set-query-parameter><rewrite-uri template=\"/v2/x\"/></inbound>"
			   "<backend><base/></backend><outbound><base/></outbound><on-error><base/></on-error>"
			   "</policies>";
	struct cg_snapshot *s = build(global, apip, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	struct run r;
	start(&r, api_pipeline(s), NULL, NULL);
	assert_int_equal(r.rc, CG_PIPE_CONTINUE);
	assert_true(r.p.forward);
	assert_int_equal(r.p.forward_timeout_ms, 7000);
	assert_null(cg_hlist_find(&r.p.req_hdrs, CG_STR("X-Key")));
	const struct cg_expr_header *h = cg_hlist_find(&r.p.req_hdrs, CG_STR("X-Global"));
	assert_non_null(h);
	assert_true(cg_str_eq_lit(h->value, "g"));
	h = cg_hlist_find(&r.p.req_hdrs, CG_STR("X-Api"));
	assert_non_null(h);
	if (!cg_str_eq_lit(h->value, "api-g"))
		fail_msg("X-Api: %.*s", CG_STR_FMT(h->value));
	assert_true(cg_str_eq_lit(r.p.query, "q=a%20b"));
	assert_true(cg_str_eq_lit(r.p.path, "/v2/x"));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
}

static void test_errors_and_on_error(void **state)
{
	char err[512];
	const char *global =
		"<policies><inbound><check-header name=\"X-Need\" failed-check-httpcode=\"401\" "
		"failed-check-error-message=\"Missing X-Need\" ignore-case=\"true\"/></inbound>"
		"<backend><forward-request/></backend><outbound/><on-error><set-header name=\"X-Err\" "
		"exists-action=\"override\"><value>@(context.LastError.Source + \"/\" + context.LastError.Reason)"
		"</value></set-header></on-error></policies>";
	struct cg_snapshot *s = build(global, NULL, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	struct run r;
	start(&r, api_pipeline(s), NULL, NULL);
	assert_int_equal(r.rc, CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 401);
	r.p.resp_hdrs.n = 0;
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_ON_ERROR), CG_PIPE_CONTINUE);
	const struct cg_expr_header *h = cg_hlist_find(&r.p.resp_hdrs, CG_STR("X-Err"));
	assert_non_null(h);
	assert_true(cg_str_eq_lit(h->value, "check-header/HeaderNotFound"));
	assert_int_equal(cg_pipe_error_response(&r.p), 0);
	assert_true(cg_str_eq_lit(r.p.resp_body, "{\"statusCode\":401,\"message\":\"Missing X-Need\"}"));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);

	/* an expression that throws: 500 ExpressionValueEvaluationFailure */
	s = build("<policies><inbound><set-header name=\"X\" exists-action=\"override\"><value>"
		  "@(context.Request.Certificate.Thumbprint)</value></set-header></inbound><backend>"
		  "<forward-request/></backend><outbound/><on-error/></policies>",
		  NULL, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	start(&r, api_pipeline(s), NULL, NULL);
	assert_int_equal(r.rc, CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 500);
	assert_true(cg_str_eq_lit(r.p.errv.reason, "ExpressionValueEvaluationFailure"));
	assert_true(cg_str_eq_lit(r.p.errv.source, "set-header"));
	assert_true(cg_str_eq_lit(r.p.errv.section, "inbound"));
	assert_true(cg_str_eq_lit(r.p.errv.scope, "global"));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
}

static void test_ip_filter_and_mock(void **state)
{
	char err[512];
	struct cg_snapshot *s = build("<policies><inbound><ip-filter action=\"allow\"><address>10.1.2.3</address>"
				      "</ip-filter><ip-filter action=\"forbid\"><address-range from=\"10.0.0.0\" "
				      "to=\"10.0.255.255\"/></ip-filter><mock-response status-code=\"201\" "
				      "content-type=\"text/plain\"/></inbound><backend><forward-request/></backend>"
				      "<outbound/><on-error/></policies>",
				      NULL, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	struct run r;
	start(&r, api_pipeline(s), NULL, NULL);
	assert_int_equal(r.rc, CG_PIPE_RESPOND);
	assert_int_equal(r.p.status, 201);
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
	s = build("<policies><inbound><ip-filter action=\"allow\"><address-range from=\"192.168.0.1\" "
		  "to=\"192.168.0.9\"/></ip-filter></inbound><backend><forward-request/></backend><outbound/>"
		  "<on-error/></policies>",
		  NULL, err, sizeof(err));
	assert_non_null(s);
	start(&r, api_pipeline(s), NULL, NULL);
	assert_int_equal(r.rc, CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 403);
	assert_true(cg_str_eq_lit(r.p.errv.reason, "CallerIpNotAllowed"));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
}

static void test_bad_policies_refused(void **state)
{
	char err[512];
	/* an unknown member: the engine's load-time error, with its position */
	assert_null(build(guide_policy("@(context.Request.Nope)"), NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "global policy: "));
	assert_non_null(strstr(err, "1:"));
	/* a recognised policy the gateway does not run yet */
	assert_null(build("<policies><inbound><set-backend-service backend-id=\"b\"/></inbound><backend>"
			  "<forward-request/></backend><outbound/><on-error/></policies>",
			  NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "set-backend-service: backend 'b' not found"));
	assert_null(build("<policies><inbound><set-body template=\"liquid\">x</set-body></inbound><backend>"
			  "<forward-request/></backend><outbound/><on-error/></policies>",
			  NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "1:20: set-body template=\"liquid\" is not run"));
	/* the default (no global policy) is trivial: plain proxying */
	struct cg_snapshot *s = build(NULL, NULL, err, sizeof(err));
	assert_non_null(s);
	assert_true(api_pipeline(s)->trivial);
	cg_snapshot_unref(s);
}

/* A global cors that does not terminate hands over to the API's (APIM:
 * "check inbound for other in-scope cors policies"); for actual requests
 * the first that allows the Origin wins. */
static void test_cors_chain(void **state)
{
	char err[512];
	const char *global = "<policies><inbound><cors terminate-unmatched-request=\"false\"><allowed-origins>"
			     "<origin>https://a.example</origin></allowed-origins></cors></inbound><backend>"
			     "<forward-request/></backend><outbound/><on-error/></policies>";
	const char *apip = "<policies><inbound><base/><cors allow-credentials=\"true\"><allowed-origins>"
			   "<origin>https://b.example</origin></allowed-origins><allowed-methods>"
			   "<method>@(\"PU\" + \"T\")</method></allowed-methods><expose-headers><header>X-A</header>"
			   "</expose-headers></cors></inbound><backend><base/></backend><outbound><base/></outbound>"
			   "<on-error><base/></on-error></policies>";
	struct cg_snapshot *s = build(global, apip, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	struct run r;
	const char *const pre_b[] = { "Origin", "https://b.example", "Access-Control-Request-Method", "PUT", NULL };
	prepare(&r, api_pipeline(s), pre_b);
	assert_int_equal(cg_cors_preflight(&r.p), CG_PIPE_RESPOND);
	assert_string_equal(hval(&r.p.resp_hdrs, "Access-Control-Allow-Origin"), "https://b.example");
	assert_string_equal(hval(&r.p.resp_hdrs, "Access-Control-Allow-Credentials"), "true");
	assert_string_equal(hval(&r.p.resp_hdrs, "Access-Control-Allow-Methods"), "PUT");
	assert_null(hval(&r.p.resp_hdrs, "Access-Control-Max-Age"));
	cg_arena_destroy(&r.arena);
	/* GET is not among b's methods: b's cors terminates (its default) */
	const char *const pre_get[] = { "Origin", "https://b.example", "Access-Control-Request-Method", "GET", NULL };
	prepare(&r, api_pipeline(s), pre_get);
	assert_int_equal(cg_cors_preflight(&r.p), CG_PIPE_RESPOND);
	assert_int_equal(r.p.status, 200);
	assert_int_equal(r.p.resp_hdrs.n, 0);
	cg_arena_destroy(&r.arena);
	/* a's own policy answers a (GET and POST when allowed-methods is absent) */
	const char *const pre_a[] = { "Origin", "https://a.example", "Access-Control-Request-Method", "POST", NULL };
	prepare(&r, api_pipeline(s), pre_a);
	assert_int_equal(cg_cors_preflight(&r.p), CG_PIPE_RESPOND);
	assert_string_equal(hval(&r.p.resp_hdrs, "Access-Control-Allow-Origin"), "https://a.example");
	assert_null(hval(&r.p.resp_hdrs, "Access-Control-Allow-Credentials"));
	cg_arena_destroy(&r.arena);
	/* actual requests: b passes the first policy and is allowed by the second */
	const char *const act_b[] = { "Origin", "https://b.example", NULL };
	prepare(&r, api_pipeline(s), act_b);
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_INBOUND), CG_PIPE_CONTINUE);
	assert_string_equal(hval(&r.p.cors_hdrs, "Access-Control-Allow-Origin"), "https://b.example");
	assert_string_equal(hval(&r.p.cors_hdrs, "Access-Control-Expose-Headers"), "X-A");
	/* added to a response: replacing the backend's own, Vary merged */
	struct cg_hlist resp = { 0 };
	cg_hlist_add(&resp, &r.arena, CG_STR("Access-Control-Allow-Origin"), CG_STR("*"));
	cg_hlist_add(&resp, &r.arena, CG_STR("Vary"), CG_STR("Accept-Encoding"));
	assert_int_equal(cg_cors_apply(&r.p, &resp), 0);
	assert_string_equal(hval(&resp, "Access-Control-Allow-Origin"), "https://b.example");
	assert_int_equal(resp.n, 5); /* ACAO, Vary x2, ACAC, ACEH */
	resp.n = 0;
	cg_hlist_add(&resp, &r.arena, CG_STR("Vary"), CG_STR("accept, origin"));
	assert_int_equal(cg_cors_apply(&r.p, &resp), 0);
	assert_int_equal(resp.n, 4); /* no second Vary */
	cg_arena_destroy(&r.arena);
	/* a is allowed by the first; the second (credentials) does not add to it */
	const char *const act_a[] = { "Origin", "https://a.example", NULL };
	prepare(&r, api_pipeline(s), act_a);
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_INBOUND), CG_PIPE_CONTINUE);
	assert_int_equal(r.p.cors_hdrs.n, 2); /* ACAO, Vary */
	cg_arena_destroy(&r.arena);
	/* c: the first lets it through, the second terminates with an empty 200 */
	const char *const act_c[] = { "Origin", "https://c.example", NULL };
	prepare(&r, api_pipeline(s), act_c);
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_INBOUND), CG_PIPE_RESPOND);
	assert_int_equal(r.p.status, 200);
	assert_int_equal(r.p.cors_hdrs.n, 0);
	assert_false(r.p.forward);
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);

	/* no cors policy in inbound: the preflight is not the gateway's */
	s = build("<policies><inbound><set-header name=\"X\" exists-action=\"override\"><value>v</value>"
		  "</set-header></inbound><backend><forward-request/></backend><outbound/><on-error/></policies>",
		  NULL, err, sizeof(err));
	assert_non_null(s);
	prepare(&r, api_pipeline(s), pre_a);
	assert_int_equal(cg_cors_preflight(&r.p), CG_PIPE_CONTINUE);
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
}

/* allow-credentials from an expression beside a '*' origin: refused when it
 * runs (the literal form is refused when the policy is stored). */
static void test_cors_runtime_errors(void **state)
{
	char err[512];
	struct cg_snapshot *s = build("<policies><inbound><cors allow-credentials=\"@(true)\"><allowed-origins>"
				      "<origin>*</origin></allowed-origins></cors></inbound>"
				      "<backend><forward-request/></backend><outbound/><on-error/></policies>",
				      NULL, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	struct run r;
	const char *const act[] = { "Origin", "https://x.example", NULL };
	prepare(&r, api_pipeline(s), act);
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_INBOUND), CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 500);
	assert_true(cg_str_eq_lit(r.p.errv.source, "cors"));
	assert_true(cg_str_eq_lit(r.p.errv.reason, "PolicyValueInvalid"));
	cg_arena_destroy(&r.arena);
	/* no Origin: nothing to check, no error */
	prepare(&r, api_pipeline(s), NULL);
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_INBOUND), CG_PIPE_CONTINUE);
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
	/* a max-age expression that is not a number fails the preflight */
	s = build("<policies><inbound><cors><allowed-origins><origin>*</origin></allowed-origins>"
		  "<allowed-methods preflight-result-max-age=\"@(\"x\")\"><method>GET</method>"
		  "</allowed-methods></cors></inbound><backend><forward-request/></backend><outbound/><on-error/>"
		  "</policies>",
		  NULL, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	const char *const pre[] = { "Origin", "https://x.example", "Access-Control-Request-Method", "GET", NULL };
	prepare(&r, api_pipeline(s), pre);
	assert_int_equal(cg_cors_preflight(&r.p), CG_PIPE_ERROR);
	assert_true(cg_str_eq_lit(r.p.errv.section, "inbound"));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
}

static void with_body(struct run *r, struct cg_expr_body *b, const char *text)
{
	b->data = cg_str_from_c(text);
	r->p.reqv.body = b;
}

static void test_find_and_replace(void **state)
{
	char err[512];
	struct cg_snapshot *s = build(
		"<policies><inbound><find-and-replace from=\"cat\" to=\"dog\"/><set-header name=\"X-Seen\" "
		"exists-action=\"override\"><value>@(context.Request.Body.As<string>())</value></set-header>"
		"</inbound><backend><find-and-replace from=\"@(context.Request.Headers.GetValueOrDefault(\"X-From\", "
		"\"dog\"))\" to=\"\"/><forward-request/></backend><outbound><set-body>a-b-a</set-body>"
		"<find-and-replace from=\"a\" to=\"xyz\"/></outbound><on-error><find-and-replace from=\"a\" to=\"b\"/>"
		"</on-error></policies>",
		NULL, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	assert_true(api_pipeline(s)->uses_request_body);
	struct run r;
	struct cg_expr_body b;
	prepare(&r, api_pipeline(s), NULL);
	with_body(&r, &b, "cat, cat!");
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_INBOUND), CG_PIPE_CONTINUE);
	assert_true(r.p.req_body_set);
	assert_true(cg_str_eq_lit(r.p.req_body, "dog, dog!"));
	assert_string_equal(hval(&r.p.req_hdrs, "X-Seen"), "dog, dog!"); /* later policies see the edit */
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_BACKEND), CG_PIPE_CONTINUE);
	assert_true(cg_str_eq_lit(r.p.req_body, ", !"));
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_OUTBOUND), CG_PIPE_CONTINUE);
	assert_true(cg_str_eq_lit(r.p.resp_body, "xyz-b-xyz"));
	/* on-error: no body to edit, and no default body spoiled */
	r.p.resp_body_set = false;
	r.p.resp_body = CG_STR_NULL;
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_ON_ERROR), CG_PIPE_CONTINUE);
	assert_false(r.p.resp_body_set);
	cg_arena_destroy(&r.arena);
	/* nothing found: the body is not touched (forwarded as it came) */
	prepare(&r, api_pipeline(s), NULL);
	with_body(&r, &b, "bird");
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_INBOUND), CG_PIPE_CONTINUE);
	assert_false(r.p.req_body_set);
	cg_arena_destroy(&r.arena);
	/* an empty 'from' from an expression */
	const char *const empty_from[] = { "X-From", "", NULL };
	prepare(&r, api_pipeline(s), empty_from);
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_BACKEND), CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 500);
	assert_true(cg_str_eq_lit(r.p.errv.source, "find-and-replace"));
	cg_arena_destroy(&r.arena);
	/* a compressed body is refused; a result over the cap too */
	const char *const gz[] = { "Content-Encoding", "gzip", NULL };
	prepare(&r, api_pipeline(s), gz);
	with_body(&r, &b, "cat");
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_INBOUND), CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 415);
	assert_true(cg_str_eq_lit(r.p.errv.reason, "ContentEncodingNotSupported"));
	cg_arena_destroy(&r.arena);
	prepare(&r, api_pipeline(s), NULL);
	with_body(&r, &b, "cat");
	r.p.max_body = 2;
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_INBOUND), CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 413);
	assert_true(cg_str_eq_lit(r.p.errv.reason, "BodyTooLarge"));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
}

/* Throttling in the pipeline: deferred counting when return-response ends
 * inbound, headers on whatever response is sent, the 429 through
 * on-error, and run-time values that are refused. */
static void test_throttling(void **state)
{
	(void)state;
	cg_limits_reset();
	struct cg_snapshot *s = build_ok(
		"<rate-limit-by-key calls=\"1\" renewal-period=\"60\" counter-key=\"rr\" "
		"increment-condition=\"@(context.Response.StatusCode == 201)\" remaining-calls-header-name=\"X-Left\"/>"
		"<return-response><set-status code=\"@(context.Request.Headers.GetValueOrDefault(\"X-Key\", \"\") == "
		"\"secret\" ? 201 : 200)\"/></return-response>");
	struct run r;
	start(&r, api_pipeline(s), NULL, NULL);
	assert_int_equal(r.rc, CG_PIPE_RESPOND);
	const struct cg_expr_header *h = cg_hlist_find(&r.p.resp_hdrs, CG_STR("X-Left"));
	assert_non_null(h); /* on the return-response's response */
	assert_true(cg_str_eq_lit(h->value, "1"));
	cg_arena_destroy(&r.arena);
	/* the 201 was counted when the response was final: now refused */
	start(&r, api_pipeline(s), NULL, NULL);
	assert_int_equal(r.rc, CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 429);
	assert_true(cg_str_eq_lit(r.p.errv.reason, "RateLimitExceeded"));
	assert_true(cg_str_eq_lit(r.p.errv.source, "rate-limit-by-key"));
	r.p.resp_hdrs.n = 0; /* as the connection does before on-error */
	cg_pipe_run(&r.p, CG_POL_ON_ERROR);
	assert_int_equal(cg_pipe_error_response(&r.p), 0);
	h = cg_hlist_find(&r.p.resp_hdrs, CG_STR("Retry-After"));
	assert_non_null(h);
	char want[128];
	snprintf(want, sizeof(want), "{\"statusCode\":429,\"message\":\"Rate limit is exceeded. Try again in %.*s seconds.\"}",
		 CG_STR_FMT(h->value));
	assert_true(cg_str_eq(r.p.resp_body, cg_str_from_c(want)));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);

	/* a counter-key that throws, a renewal-period out of range */
	s = build_ok("<rate-limit-by-key calls=\"1\" renewal-period=\"60\" "
		     "counter-key=\"@(context.Request.Certificate.Thumbprint)\"/>");
	start(&r, api_pipeline(s), NULL, NULL);
	assert_int_equal(r.rc, CG_PIPE_ERROR);
	assert_true(cg_str_eq_lit(r.p.errv.reason, "ExpressionValueEvaluationFailure"));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
	s = build_ok("<rate-limit-by-key calls=\"1\" renewal-period=\"@(301)\" counter-key=\"k\"/>");
	start(&r, api_pipeline(s), NULL, NULL);
	assert_int_equal(r.rc, CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 500);
	assert_true(cg_str_eq_lit(r.p.errv.reason, "PolicyValueInvalid"));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);

	/* limit-concurrency without forward-request gives its slot back at once */
	s = build_ok("<limit-concurrency key=\"one\" max-count=\"1\"><set-variable name=\"v\" value=\"1\"/>"
		     "</limit-concurrency><limit-concurrency key=\"one\" max-count=\"1\"><return-response/>"
		     "</limit-concurrency>");
	start(&r, api_pipeline(s), NULL, NULL);
	assert_int_equal(r.rc, CG_PIPE_RESPOND);
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guide_policies),     cmocka_unit_test(test_thumbprint_match),
		cmocka_unit_test(test_headers_and_base),   cmocka_unit_test(test_errors_and_on_error),
		cmocka_unit_test(test_ip_filter_and_mock), cmocka_unit_test(test_bad_policies_refused),
		cmocka_unit_test(test_cors_chain),         cmocka_unit_test(test_cors_runtime_errors),
		cmocka_unit_test(test_find_and_replace),
		cmocka_unit_test(test_throttling),
	};
	return cmocka_run_group_tests(tests, setup_pki, NULL);
}
