/* Routing as APIM: API URL suffix (longest segment prefix, case-insensitive),
 * then the most specific operation (method + URL template). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw/snapshot.h"
#include "tls/tls.h"

#include "gw/pki.h"

static struct cg_model_host host = { "a.test", cert_pem, key_pem, false, true };

static struct cg_model_op orders_ops[] = {
	{ "get-order", "Get order", "GET", "/{id}" },
	{ "list", "List", "GET", "/" },
	{ "items", "Items", "GET", "/{id}/items/{item}" },
	{ "post-any", "Post", "POST", "/*" },
	{ "search", "Search", "GET", "/search?q={q}" },
	{ "any-export", "Export", "*", "/export" },
	{ "report", "Report", "GET", "/reports/{name}.{format}" },
	{ "version", "Version", "GET", "/v{n}/status" },
};

static struct cg_model_api apis[] = {
	{ "root", "Root", "", "http://127.0.0.1:1/r", NULL, 0, false, NULL, NULL, CG_MODEL_PROTO_ALL },
	{ "orders", "Orders", "orders", "http://127.0.0.1:2/base/", orders_ops,
	  sizeof(orders_ops) / sizeof(orders_ops[0]), false, NULL, NULL, CG_MODEL_PROTO_ALL },
	{ "orders-v2", "Orders v2", "orders/v2", "http://127.0.0.1:3", NULL, 0, false, NULL, NULL, CG_MODEL_PROTO_ALL },
};

static struct cg_snapshot *build(void)
{
	struct cg_model m = { 0 };
	m.hosts = &host;
	m.num_hosts = 1;
	m.apis = apis;
	m.num_apis = 3;
	char err[512];
	struct cg_snapshot *s = cg_snapshot_build(&m, 1, err, sizeof(err));
	if (!s)
		fail_msg("build: %s", err);
	return s;
}

static const char *route(struct cg_snapshot *s, const char *method, const char *path, const char *query,
			 char *rest_out)
{
	struct cg_route r;
	if (!cg_route_find(s, CG_MODEL_PROTO_HTTPS, cg_str_from_c(method), cg_str_from_c(path), cg_str_from_c(query), &r))
		return r.api ? "api-but-no-op" : "none";
	static char buf[256];
	snprintf(buf, sizeof(buf), "%.*s/%.*s", CG_STR_FMT(r.api->id), r.op ? (int)r.op->id.len : 1,
		 r.op ? r.op->id.ptr : "-");
	if (rest_out)
		snprintf(rest_out, 256, "%.*s", CG_STR_FMT(r.rest));
	return buf;
}

static void test_api_suffix(void **state)
{
	struct cg_snapshot *s = build();
	char rest[256];
	assert_string_equal(route(s, "GET", "/orders/v2/x", "", rest), "orders-v2/-");
	assert_string_equal(rest, "/x");
	assert_string_equal(route(s, "GET", "/orders/v2", "", rest), "orders-v2/-");
	assert_string_equal(rest, "");
	/* segment boundary: /orders/v20 is not under orders/v2 */
	assert_string_equal(route(s, "GET", "/orders/v20", "", rest), "orders/get-order");
	assert_string_equal(rest, "/v20");
	/* case-insensitive suffix */
	assert_string_equal(route(s, "GET", "/ORDERS/7", "", rest), "orders/get-order");
	/* /ordersx is not /orders: falls to the root API */
	assert_string_equal(route(s, "GET", "/ordersx", "", rest), "root/-");
	assert_string_equal(rest, "/ordersx");
	assert_string_equal(route(s, "DELETE", "/anything/at/all", "", NULL), "root/-");
	cg_snapshot_unref(s);
}

static void test_operations(void **state)
{
	struct cg_snapshot *s = build();
	assert_string_equal(route(s, "GET", "/orders", "", NULL), "orders/list");
	assert_string_equal(route(s, "GET", "/orders/", "", NULL), "orders/list");
	assert_string_equal(route(s, "GET", "/orders/42", "", NULL), "orders/get-order");
	assert_string_equal(route(s, "GET", "/orders/42/", "", NULL), "orders/get-order");
	assert_string_equal(route(s, "GET", "/orders/42/items/7", "", NULL), "orders/items");
	/* one segment too many, wrong method */
	assert_string_equal(route(s, "GET", "/orders/42/items/7/x", "", NULL), "api-but-no-op");
	assert_string_equal(route(s, "PUT", "/orders/42", "", NULL), "api-but-no-op");
	/* wildcard template */
	assert_string_equal(route(s, "POST", "/orders/a/b/c", "", NULL), "orders/post-any");
	assert_string_equal(route(s, "POST", "/orders", "", NULL), "orders/post-any");
	/* literal beats parameter; required query parameter */
	assert_string_equal(route(s, "GET", "/orders/search", "q=1", NULL), "orders/search");
	assert_string_equal(route(s, "GET", "/orders/search", "x=1", NULL), "orders/get-order");
	/* method "*" */
	assert_string_equal(route(s, "PATCH", "/orders/export", "", NULL), "orders/any-export");
	/* empty segment never matches a parameter */
	assert_string_equal(route(s, "GET", "/orders//items/7", "", NULL), "api-but-no-op");
	/* parameters inside a segment */
	struct cg_route r;
	assert_true(cg_route_find(s, CG_MODEL_PROTO_HTTPS, CG_STR("GET"), CG_STR("/orders/reports/q3.sales.json"), CG_STR(""), &r));
	assert_true(cg_str_eq_lit(r.op->id, "report"));
	assert_int_equal(r.num_params, 2);
	assert_true(cg_str_eq_lit(r.params[0].value, "q3"));
	assert_true(cg_str_eq_lit(r.params[1].value, "sales.json"));
	assert_string_equal(route(s, "GET", "/orders/reports/.json", "", NULL), "api-but-no-op");
	assert_string_equal(route(s, "GET", "/orders/reports/q3", "", NULL), "api-but-no-op");
	assert_true(cg_route_find(s, CG_MODEL_PROTO_HTTPS, CG_STR("GET"), CG_STR("/orders/V12/status"), CG_STR(""), &r));
	assert_true(cg_str_eq_lit(r.op->id, "version"));
	assert_true(cg_str_eq_lit(r.params[0].value, "12"));
	assert_string_equal(route(s, "GET", "/orders/v/status", "", NULL), "api-but-no-op");
	cg_snapshot_unref(s);
}

static void test_backend_parse(void **state)
{
	struct cg_snapshot *s = build();
	const struct cg_rt_api *orders = NULL;
	for (size_t i = 0; i < s->num_apis; i++)
		if (cg_str_eq_lit(s->apis[i]->id, "orders"))
			orders = s->apis[i];
	assert_non_null(orders);
	assert_true(cg_str_eq_lit(orders->backend.base_path, "/base"));
	assert_true(cg_str_eq_lit(orders->backend.host_hdr, "127.0.0.1:2"));
	assert_int_equal(orders->backend.port, 2);
	assert_false(orders->backend.tls);
	cg_snapshot_unref(s);
}

static void test_bad_inputs(void **state)
{
	char err[512];
	struct cg_model m = { 0 };
	/* no hostname */
	assert_null(cg_snapshot_build(&m, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "no hostname configured"));
	/* bad backend URL */
	struct cg_model_api bad = { "bad", "Bad", "bad", "ftp://x", NULL, 0, false, NULL, NULL, CG_MODEL_PROTO_ALL };
	m.hosts = &host;
	m.num_hosts = 1;
	m.apis = &bad;
	m.num_apis = 1;
	assert_null(cg_snapshot_build(&m, 1, err, sizeof(err)));
	assert_string_equal(err, "api 'bad': backend URL 'ftp://x': scheme must be http or https");
	bad.service_url = "http://127.0.0.1:0";
	assert_null(cg_snapshot_build(&m, 1, err, sizeof(err)));
	assert_string_equal(err, "api 'bad': backend URL 'http://127.0.0.1:0': invalid port");
	bad.service_url = "http://127.0.0.1/x?y=1";
	assert_null(cg_snapshot_build(&m, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "query and fragment are not allowed"));
	/* bad template */
	struct cg_model_op op = { "o", "O", "GET", "/a/*/b" };
	bad.service_url = "http://127.0.0.1:1";
	bad.ops = &op;
	bad.num_ops = 1;
	assert_null(cg_snapshot_build(&m, 1, err, sizeof(err)));
	assert_string_equal(err, "api 'bad' operation 'o': URL template '/a/*/b': '*' must be the last segment");
	op.url_template = "/a/{b}{c}";
	assert_null(cg_snapshot_build(&m, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "two parameters need a literal between them"));
	op.url_template = "/a/b}";
	assert_null(cg_snapshot_build(&m, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "'}' without '{'"));
	/* bad key */
	struct cg_model_host badhost = { "a.test", cert_pem, "garbage", false, true };
	m.hosts = &badhost;
	m.apis = NULL;
	m.num_apis = 0;
	assert_null(cg_snapshot_build(&m, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "hostname 'a.test': server key"));
}

/* The API for path over scheme ("none": nothing matches). */
static const char *api_over(struct cg_snapshot *s, unsigned scheme, const char *path)
{
	struct cg_route r;
	if (!cg_route_find(s, scheme, CG_STR("GET"), cg_str_from_c(path), CG_STR(""), &r))
		return r.api ? "api-but-no-op" : "none";
	static char buf[128];
	snprintf(buf, sizeof(buf), "%.*s", CG_STR_FMT(r.api->id));
	return buf;
}

/* APIM protocols: an API not served over the request's scheme does not
 * match; a shorter suffix served over it may (the catch-all root here). */
static void test_protocols(void **state)
{
	struct cg_model_api two[] = {
		{ "root", "Root", "", "http://127.0.0.1:1", NULL, 0, false, NULL, NULL,
		  CG_MODEL_PROTO_HTTP },
		{ "secure", "Secure", "secure", "http://127.0.0.1:2", NULL, 0, false, NULL, NULL,
		  CG_MODEL_PROTO_HTTPS },
	};
	struct cg_model m = { .hosts = &host, .num_hosts = 1, .apis = two, .num_apis = 2 };
	char err[512];
	struct cg_snapshot *s = cg_snapshot_build(&m, 1, err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(api_over(s, CG_MODEL_PROTO_HTTPS, "/secure/x"), "secure");
	assert_string_equal(api_over(s, CG_MODEL_PROTO_HTTP, "/secure/x"), "root");
	assert_string_equal(api_over(s, CG_MODEL_PROTO_HTTP, "/other"), "root");
	assert_string_equal(api_over(s, CG_MODEL_PROTO_HTTPS, "/other"), "none");
	cg_snapshot_unref(s);
	m.num_apis = 1; /* root only, http only */
	two[0].protocols = CG_MODEL_PROTO_ALL;
	s = cg_snapshot_build(&m, 1, err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(api_over(s, CG_MODEL_PROTO_HTTPS, "/secure/x"), "root");
	cg_snapshot_unref(s);
	m.apis = &two[1];
	s = cg_snapshot_build(&m, 1, err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(api_over(s, CG_MODEL_PROTO_HTTP, "/secure/x"), "none");
	assert_string_equal(api_over(s, CG_MODEL_PROTO_HTTPS, "/SECURE/x"), "secure");
	cg_snapshot_unref(s);
	/* 0 (a model built by hand) is both */
	two[1].protocols = 0;
	s = cg_snapshot_build(&m, 1, err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(api_over(s, CG_MODEL_PROTO_HTTP, "/secure/x"), "secure");
	cg_snapshot_unref(s);
}

static void test_find_host(void **state)
{
	struct cg_model_host hosts[] = {
		{ "a.test", cert_pem, key_pem, false, true },
		{ "*.wild.test", cert_pem, key_pem, true, false },
	};
	struct cg_model m = { 0 };
	m.hosts = hosts;
	m.num_hosts = 2;
	char err[512];
	struct cg_snapshot *s = cg_snapshot_build(&m, 1, err, sizeof(err));
	assert_non_null(s);
	assert_ptr_equal(cg_snapshot_find_host(s, CG_STR("a.test")), &s->hosts[0]);
	assert_ptr_equal(cg_snapshot_find_host(s, CG_STR("x.wild.test")), &s->hosts[1]);
	assert_null(cg_snapshot_find_host(s, CG_STR("y.x.wild.test")));
	assert_null(cg_snapshot_find_host(s, CG_STR("wild.test")));
	assert_null(cg_snapshot_find_host(s, CG_STR("b.test")));
	assert_int_not_equal(s->hosts[0].settings_id, s->hosts[1].settings_id);
	assert_ptr_equal(s->default_host, &s->hosts[0]);
	cg_snapshot_unref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_suffix),  cmocka_unit_test(test_operations),
		cmocka_unit_test(test_backend_parse), cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_protocols),
		cmocka_unit_test(test_find_host),
	};
	return cmocka_run_group_tests(tests, setup_pki, NULL);
}
