/* json-to-xml and xml-to-json in the pipeline (src/gw/xmljsonpol.c):
 * which messages apply and consider-accept-header select, the body and
 * Content-Type they leave, and every error with the message as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw/pipeline.h"
#include "gw/snapshot.h"
#include "tls/tls.h"

#include "gw/pipe_helpers.h"

#define XML_DECL "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"

static struct cg_snapshot *policy(const char *inbound, const char *outbound)
{
	char err[512], text[4096];
	snprintf(text, sizeof(text),
		 "<policies><inbound>%s</inbound><backend><forward-request/></backend><outbound>%s</outbound>"
		 "<on-error>%s</on-error></policies>",
		 inbound, outbound, inbound);
	struct cg_snapshot *s = build(text, NULL, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	return s;
}

static struct cg_expr_body req_b, resp_b;

/* Runs inbound over body with the extra request headers. */
static enum cg_pipe_rc inbound(struct run *r, struct cg_snapshot *s, const char *const *hdrs, const char *body)
{
	prepare(r, s->apis[0]->pipeline, hdrs);
	req_b.data = cg_str_from_c(body);
	r->p.reqv.body = &req_b;
	return cg_pipe_run(&r->p, CG_POL_INBOUND);
}

/* Runs outbound over a backend response with Content-Type ct (NULL: none). */
static enum cg_pipe_rc outbound(struct run *r, struct cg_snapshot *s, const char *const *hdrs, const char *ct,
				const char *body)
{
	prepare(r, s->apis[0]->pipeline, hdrs);
	if (ct)
		cg_hlist_add(&r->p.resp_hdrs, &r->arena, CG_STR("Content-Type"), cg_str_from_c(ct));
	resp_b.data = cg_str_from_c(body);
	r->p.respv.body = &resp_b;
	return cg_pipe_run(&r->p, CG_POL_OUTBOUND);
}

static void test_json_to_xml_inbound(void **state)
{
	(void)state;
	struct cg_snapshot *s = policy("<json-to-xml apply=\"always\" consider-accept-header=\"false\"/>"
				       "<set-header name=\"X-Seen\" exists-action=\"override\">"
				       "<value>@(context.Request.Body.As<string>().StartsWith(\"<?xml\").ToString())</value></set-header>",
				       "");
	assert_true(s->apis[0]->pipeline->uses_request_body);
	struct run r;
	const char *const json[] = { "Content-Type", "application/json", "Accept", "application/json", NULL };
	assert_int_equal(inbound(&r, s, json, "{\"a\":{\"b\":[1,2]}}"), CG_PIPE_CONTINUE);
	assert_true(cg_str_eq_lit(r.p.req_body, XML_DECL "<a><b>1</b><b>2</b></a>\n"));
	assert_string_equal(hval(&r.p.req_hdrs, "Content-Type"), "application/xml");
	assert_string_equal(hval(&r.p.req_hdrs, "X-Seen"), "True"); /* later policies read the XML */
	/* on-error converts nothing */
	r.p.req_body_set = false;
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_ON_ERROR), CG_PIPE_CONTINUE);
	assert_false(r.p.req_body_set);
	cg_arena_destroy(&r.arena);
	/* an empty body (a GET) is left alone */
	assert_int_equal(inbound(&r, s, NULL, ""), CG_PIPE_CONTINUE);
	assert_false(r.p.req_body_set);
	cg_arena_destroy(&r.arena);
	/* not JSON: 400 with line:col, the body and its Content-Type unchanged */
	assert_int_equal(inbound(&r, s, json, "{\"a\" 1}"), CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 400);
	assert_true(cg_str_eq_lit(r.p.errv.source, "json-to-xml"));
	assert_true(cg_str_eq_lit(r.p.errv.reason, "BodyConversionFailed"));
	assert_true(cg_str_eq_lit(r.p.errv.message,
				  "json-to-xml could not convert the request body: 1:6: ':' expected near '1'"));
	assert_false(r.p.req_body_set);
	assert_string_equal(hval(&r.p.req_hdrs, "Content-Type"), "application/json");
	cg_arena_destroy(&r.arena);
	/* compressed: 415; over --max-buffered-body: 413 */
	const char *const gz[] = { "Content-Encoding", "gzip", NULL };
	assert_int_equal(inbound(&r, s, gz, "{}"), CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 415);
	assert_true(cg_str_eq_lit(r.p.errv.reason, "ContentEncodingNotSupported"));
	cg_arena_destroy(&r.arena);
	prepare(&r, s->apis[0]->pipeline, NULL);
	req_b.data = CG_STR("{\"a\":1}");
	r.p.reqv.body = &req_b;
	r.p.max_body = 20;
	assert_int_equal(cg_pipe_run(&r.p, CG_POL_INBOUND), CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 413);
	assert_true(cg_str_eq_lit(r.p.errv.reason, "BodyTooLarge"));
	assert_false(r.p.req_body_set);
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
}

/* apply="content-type-json" and consider-accept-header (default true). */
static void test_selection(void **state)
{
	(void)state;
	struct cg_snapshot *s = policy("<json-to-xml apply=\"content-type-json\"/>", "");
	static const struct {
		const char *ct, *accept;
		bool converted;
	} cases[] = {
		{ NULL, NULL, false },
		{ "text/plain", NULL, false },
		{ "application/json; charset=utf-8", NULL, true },
		{ "application/problem+json", NULL, true },
		{ "application/json", "application/json", false },
		{ "application/json", "text/html, text/xml;q=0.9", true },
		{ "application/json", "*/*", true },
		{ "application/json", "application/*", true },
		{ "application/json", "application/soap+xml", true },
		{ "application/json", "application/xml;q=0, application/json", false },
		{ "application/json", "application/xml; q=0.0", false },
		{ "application/json", "application/xml; q=0.5", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *h[6];
		size_t k = 0;
		if (cases[i].ct)
			h[k++] = "Content-Type", h[k++] = cases[i].ct;
		if (cases[i].accept)
			h[k++] = "Accept", h[k++] = cases[i].accept;
		h[k] = NULL;
		struct run r;
		assert_int_equal(inbound(&r, s, h, "{\"a\":1}"), CG_PIPE_CONTINUE);
		if (r.p.req_body_set != cases[i].converted)
			fail_msg("case %zu: converted %d", i, r.p.req_body_set);
		cg_arena_destroy(&r.arena);
	}
	cg_snapshot_unref(s);
}

static void test_xml_to_json_outbound(void **state)
{
	(void)state;
	struct cg_snapshot *s = policy("", "<xml-to-json kind=\"direct\" apply=\"content-type-xml\"/>");
	assert_true(s->apis[0]->pipeline->uses_response_body);
	struct run r;
	assert_int_equal(outbound(&r, s, NULL, "text/xml; charset=utf-8", "<a x=\"1\"><b>2</b></a>"), CG_PIPE_CONTINUE);
	assert_true(cg_str_eq_lit(r.p.resp_body, "{\"a\":{\"@x\":\"1\",\"b\":\"2\"}}"));
	assert_string_equal(hval(&r.p.resp_hdrs, "Content-Type"), "application/json");
	assert_true(cg_str_eq_lit(r.p.respv.body->data, "{\"a\":{\"@x\":\"1\",\"b\":\"2\"}}"));
	cg_arena_destroy(&r.arena);
	/* the client asks for XML only: left as XML */
	const char *const xml_only[] = { "Accept", "application/xml", NULL };
	assert_int_equal(outbound(&r, s, xml_only, "application/xml", "<a/>"), CG_PIPE_CONTINUE);
	assert_false(r.p.resp_body_set);
	cg_arena_destroy(&r.arena);
	/* the backend sent JSON: not converted */
	assert_int_equal(outbound(&r, s, NULL, "application/json", "{}"), CG_PIPE_CONTINUE);
	assert_false(r.p.resp_body_set);
	cg_arena_destroy(&r.arena);
	/* not XML, or a DOCTYPE (XXE): 502, the backend's details only in LastError */
	assert_int_equal(outbound(&r, s, NULL, "application/xml", "<a><b></a>"), CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 502);
	assert_true(cg_str_eq_lit(r.p.errv.message, "xml-to-json could not convert the response body: 1:11: "
						    "Opening and ending tag mismatch: b line 1 and a"));
	assert_true(cg_str_eq_lit(r.p.err_body_message, "Bad Gateway"));
	assert_false(r.p.resp_body_set);
	cg_arena_destroy(&r.arena);
	assert_int_equal(outbound(&r, s, NULL, "application/xml",
				  "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>"),
			 CG_PIPE_ERROR);
	assert_true(cg_str_eq_lit(r.p.errv.message, "xml-to-json could not convert the response body: 1:13: "
						    "A DOCTYPE is not allowed (DTDs and entities are refused)"));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
}

/* Values from expressions that APIM does not define: 500 PolicyValueInvalid. */
static void test_bad_expression_values(void **state)
{
	(void)state;
	static const char *const pols[][2] = {
		{ "<json-to-xml apply=\"@(\"sometimes\")\"/>", "Invalid value of 'apply' in json-to-xml." },
		{ "<json-to-xml apply=\"always\" consider-accept-header=\"false\" namespace-separator=\"@(\"ab\")\"/>",
		  "Invalid value of 'namespace-separator' in json-to-xml." },
		{ "<xml-to-json kind=\"@(\"x\")\" apply=\"always\" consider-accept-header=\"false\"/>",
		  "Invalid value of 'kind' in xml-to-json." },
	};
	for (size_t i = 0; i < sizeof(pols) / sizeof(pols[0]); i++) {
		struct cg_snapshot *s = policy(pols[i][0], "");
		struct run r;
		assert_int_equal(inbound(&r, s, NULL, "{\"a\":1}"), CG_PIPE_ERROR);
		assert_int_equal(r.p.status, 500);
		assert_true(cg_str_eq_lit(r.p.errv.reason, "PolicyValueInvalid"));
		if (!cg_str_eq(r.p.errv.message, cg_str_from_c(pols[i][1])))
			fail_msg("case %zu: %.*s", i, CG_STR_FMT(r.p.errv.message));
		cg_arena_destroy(&r.arena);
		cg_snapshot_unref(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_to_xml_inbound),
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_xml_to_json_outbound),
		cmocka_unit_test(test_bad_expression_values),
	};
	return cmocka_run_group_tests(tests, setup_pki, NULL);
}
