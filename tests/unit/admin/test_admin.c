/* Admin module unit tests: the router (every route, the ARM prefix, names
 * and their refusals), If-Match, the bearer check, JSON body errors with
 * jansson's line/column, the ARM error shape, a whole request through
 * cg_admin_handle against a real store in a temp dir, and the admin TLS
 * options: file reading, thumbprints, option combinations, and how the
 * token and the client certificate combine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "admin/admin-int.h"

static enum cg_admin_res route(const char *path, int *status, struct cg_admin_route *rt)
{
	if (cg_admin_route(cg_str_from_c(path), rt, status) != 0)
		return CG_ADMIN_RES_NONE;
	return rt->res;
}

static void test_routes(void **state)
{
	struct cg_admin_route rt;
	int st;
	static const struct {
		const char *path;
		enum cg_admin_res res;
		const char *api, *op, *name;
	} ok[] = {
		{ "/apis", CG_ADMIN_RES_APIS, "", "", "" },
		{ "/apis/", CG_ADMIN_RES_APIS, "", "", "" },
		{ "/APIS/echo", CG_ADMIN_RES_API, "echo", "", "" },
		{ "/apis/echo/operations", CG_ADMIN_RES_OPS, "echo", "", "" },
		{ "/apis/echo/operations/get", CG_ADMIN_RES_OP, "echo", "get", "" },
		{ "/apis/echo/policies", CG_ADMIN_RES_POLICIES, "echo", "", "" },
		{ "/apis/echo/policies/policy", CG_ADMIN_RES_POLICY, "echo", "", "" },
		{ "/apis/echo/operations/get/policies/policy", CG_ADMIN_RES_POLICY, "echo", "get", "" },
		{ "/policies", CG_ADMIN_RES_POLICIES, "", "", "" },
		{ "/policies/policy", CG_ADMIN_RES_POLICY, "", "", "" },
		{ "/hostnames", CG_ADMIN_RES_HOSTS, "", "", "" },
		{ "/hostnames/*.example.com", CG_ADMIN_RES_HOST, "", "", "*.example.com" },
		{ "/policyFragments/f", CG_ADMIN_RES_FRAGMENT, "", "", "f" },
		{ "/policyfragments", CG_ADMIN_RES_FRAGMENTS, "", "", "" },
		{ "/certificates/c", CG_ADMIN_RES_CERT, "", "", "c" },
		{ "/caCertificates", CG_ADMIN_RES_CAS, "", "", "" },
		{ "/caCertificates/root", CG_ADMIN_RES_CA, "", "", "root" },
		{ "/namedValues/n", CG_ADMIN_RES_NAMED_VALUE, "", "", "n" },
		{ "/namedValues/n/listValue", CG_ADMIN_RES_NAMED_VALUE_LIST, "", "", "n" },
		{ "/backends", CG_ADMIN_RES_BACKENDS, "", "", "" },
		{ "/subscriptions", CG_ADMIN_RES_SUBS, "", "", "" },
		{ "/subscriptions/s1", CG_ADMIN_RES_SUB, "", "", "s1" },
		{ "/subscriptions/s1/listSecrets", CG_ADMIN_RES_SUB_ACTION, "", "", "s1" },
		{ "/subscriptions/s1/regenerateSecondaryKey", CG_ADMIN_RES_SUB_ACTION, "", "", "s1" },
		{ "/subscriptions/s/resourceGroups/g/providers/Microsoft.ApiManagement/service/x/"
		  "subscriptions/s2",
		  CG_ADMIN_RES_SUB, "", "", "s2" },
		{ "/subscriptions/s/resourceGroups/g/providers/Microsoft.ApiManagement/service/x/apis/a",
		  CG_ADMIN_RES_API, "a", "", "" },
		{ "/SUBSCRIPTIONS/s/resourcegroups/g/PROVIDERS/microsoft.apimanagement/SERVICE/x/backends/b",
		  CG_ADMIN_RES_BACKEND, "", "", "b" },
		{ "/apis/a%2Eb", CG_ADMIN_RES_API, "a.b", "", "" },
		{ "/products", CG_ADMIN_RES_PRODUCTS, "", "", "" },
		{ "/products/p1/apis", CG_ADMIN_RES_PRODUCT_APIS, "", "", "" },
		{ "/products/p1/apis/a", CG_ADMIN_RES_PRODUCT_API, "a", "", "" },
		{ "/products/p1/policies", CG_ADMIN_RES_POLICIES, "", "", "" },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		enum cg_admin_res r = route(ok[i].path, &st, &rt);
		if (r != ok[i].res)
			fail_msg("%s: got %d, want %d", ok[i].path, r, ok[i].res);
		assert_string_equal(rt.api, ok[i].api);
		assert_string_equal(rt.op, ok[i].op);
		assert_string_equal(rt.name, ok[i].name);
	}
	/* The product id has its own slot: a product policy is not an API's. */
	assert_int_equal(route("/Products/p%2D1", &st, &rt), CG_ADMIN_RES_PRODUCT);
	assert_string_equal(rt.product, "p-1");
	assert_int_equal(route("/products/p1/policies/policy", &st, &rt), CG_ADMIN_RES_POLICY);
	assert_string_equal(rt.product, "p1");
	assert_string_equal(rt.api, "");
	static const char *const not_found[] = {
		"", "/", "apis", "//apis", "/apis//x", "/nothing", "/apis/a/b", "/apis/a/operations/o/x",
		"/apis/a/policies/other", "/policies/policy/x", "/hostnames/a/b",
		"/namedValues/n/other", "/backends/b/listValue", "/subscriptions/s/apis",
		"/subscriptions/s/listValue", "/subscriptions/s/resourceGroups",
		"/products/p/other", "/products/p/apis/a/x", "/products/p/policies/other",
		"/subscriptions/s/resourceGroups/g/providers/Other/service/x/apis",
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.ApiManagement/service/x",
		"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z",
	};
	for (size_t i = 0; i < sizeof(not_found) / sizeof(not_found[0]); i++) {
		if (route(not_found[i], &st, &rt) != CG_ADMIN_RES_NONE || st != 404)
			fail_msg("%s: expected 404, got res %d status %d", not_found[i], rt.res, st);
	}
	static const char *const bad[] = { "/apis/%2F", "/apis/%00", "/apis/%zz", "/apis/%4",
					   "/apis/x%" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (route(bad[i], &st, &rt) != CG_ADMIN_RES_NONE || st != 400)
			fail_msg("%s: expected 400, got status %d", bad[i], st);
	}
	/* A name at the limit is accepted, one byte more is refused. */
	char p[CG_ADMIN_MAX_NAME_LEN + 16];
	snprintf(p, sizeof(p), "/apis/%0*d", CG_ADMIN_MAX_NAME_LEN, 0);
	assert_int_equal(route(p, &st, &rt), CG_ADMIN_RES_API);
	assert_int_equal(strlen(rt.api), CG_ADMIN_MAX_NAME_LEN);
	snprintf(p, sizeof(p), "/apis/%0*d", CG_ADMIN_MAX_NAME_LEN + 1, 0);
	assert_int_equal(route(p, &st, &rt), CG_ADMIN_RES_NONE);
	assert_int_equal(st, 400);
}

static void test_methods(void **state)
{
	assert_int_equal(cg_admin_method_of(CG_STR("GET")), CG_ADMIN_M_GET);
	assert_int_equal(cg_admin_method_of(CG_STR("PUT")), CG_ADMIN_M_PUT);
	assert_int_equal(cg_admin_method_of(CG_STR("DELETE")), CG_ADMIN_M_DELETE);
	assert_int_equal(cg_admin_method_of(CG_STR("POST")), CG_ADMIN_M_POST);
	assert_int_equal(cg_admin_method_of(CG_STR("get")), CG_ADMIN_M_OTHER);
	assert_int_equal(cg_admin_method_of(CG_STR("HEAD")), CG_ADMIN_M_OTHER);
}

static bool if_match(const char *hdr, bool exists, const char *etag)
{
	struct cg_admin_req r = { 0 };
	if (hdr) {
		r.has_if_match = true;
		r.if_match = cg_str_from_c(hdr);
	}
	return cg_admin_if_match_ok(&r, exists, etag);
}

static void test_if_match(void **state)
{
	const char *e = "\"0123456789abcdef0123456789abcdef\"";
	assert_true(if_match(NULL, false, NULL));
	assert_true(if_match(NULL, true, e));
	assert_true(if_match("*", true, e));
	assert_false(if_match("*", false, NULL));
	assert_true(if_match(e, true, e));
	assert_true(if_match("W/\"0123456789abcdef0123456789abcdef\"", true, e));
	assert_true(if_match("\"x\", \"0123456789abcdef0123456789abcdef\"", true, e));
	assert_false(if_match("\"x\"", true, e));
	assert_false(if_match(e, false, NULL));
	assert_false(if_match("0123456789abcdef0123456789abcdef", true, e)); /* unquoted */
	assert_false(if_match("", true, e));
}

static char g_dir[256];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_token(void **state)
{
	struct cg_admin_ctx ctx = { 0 };
	char path[512], err[512];
	snprintf(path, sizeof(path), "%s/tok", g_dir);
	write_file(path, "short\n");
	assert_int_equal(cg_admin_ctx_token(&ctx, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at least 16 bytes"));
	write_file(path, "has a space in it, long enough\n");
	assert_int_equal(cg_admin_ctx_token(&ctx, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "printable"));
	/* At the size limit: accepted; one byte more: refused. */
	char *big = malloc(CG_ADMIN_MAX_TOKEN_BYTES + 2);
	memset(big, 'a', CG_ADMIN_MAX_TOKEN_BYTES + 1);
	big[CG_ADMIN_MAX_TOKEN_BYTES + 1] = '\0';
	write_file(path, big);
	assert_int_equal(cg_admin_ctx_token(&ctx, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	big[CG_ADMIN_MAX_TOKEN_BYTES] = '\0';
	write_file(path, big);
	assert_int_equal(cg_admin_ctx_token(&ctx, path, err, sizeof(err)), 0);
	free(big);
	snprintf(path, sizeof(path), "%s/absent", g_dir);
	assert_int_equal(cg_admin_ctx_token(&ctx, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absent"));

	snprintf(path, sizeof(path), "%s/tok", g_dir);
	write_file(path, "0123456789abcdef-token\r\n");
	assert_int_equal(cg_admin_ctx_token(&ctx, path, err, sizeof(err)), 0);
	assert_true(cg_admin_authorized(&ctx, CG_STR("Bearer 0123456789abcdef-token")));
	assert_true(cg_admin_authorized(&ctx, CG_STR("bearer  0123456789abcdef-token ")));
	assert_false(cg_admin_authorized(&ctx, CG_STR("Bearer 0123456789abcdef-toke")));
	assert_false(cg_admin_authorized(&ctx, CG_STR("Bearer 0123456789abcdef-tokenx")));
	assert_false(cg_admin_authorized(&ctx, CG_STR("Basic 0123456789abcdef-token")));
	assert_false(cg_admin_authorized(&ctx, CG_STR("Bearer0123456789abcdef-token")));
	assert_false(cg_admin_authorized(&ctx, CG_STR("0123456789abcdef-token")));
	assert_false(cg_admin_authorized(&ctx, CG_STR("")));
}

/* The error body of a response, parsed. */
static void expect_error(struct cg_admin_resp *r, int status, const char *code,
			 const char *contains)
{
	assert_int_equal(r->status, status);
	json_error_t e;
	json_t *j = json_loadb(r->body.data, r->body.len, 0, &e);
	assert_non_null(j);
	const char *c = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
	const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	assert_non_null(c);
	assert_non_null(m);
	assert_string_equal(c, code);
	if (contains && !strstr(m, contains))
		fail_msg("message '%s' lacks '%s'", m, contains);
	json_decref(j);
}

static void test_body_errors(void **state)
{
	static const struct {
		const char *body, *contains;
	} cases[] = {
		{ "", "empty" },
		{ "{", "line 1 column 1" },
		{ "{\n\n  \"a\": nope}", "line 3 column" },
		{ "[]", "object" },
		{ "{\"a\":1,\"a\":2}", "duplicate" },
		{ "{\"a\":\"\\u0000\"}", "line 1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cg_admin_req req = { 0 };
		struct cg_admin_resp r;
		req.body = cg_str_from_c(cases[i].body);
		cg_admin_resp_init(&r);
		assert_null(cg_admin_body_object(&req, &r));
		expect_error(&r, 400, "InvalidRequestContent", cases[i].contains);
		cg_admin_resp_free(&r);
	}
	struct cg_admin_req req = { 0 };
	struct cg_admin_resp r;
	cg_admin_resp_init(&r);
	req.body = CG_STR("{\"properties\": {\"path\": 5, \"ok\": true}}");
	json_t *j = cg_admin_body_object(&req, &r);
	assert_non_null(j);
	json_t *p = cg_admin_props(j, &r);
	assert_non_null(p);
	const char *s;
	int b;
	assert_int_equal(cg_admin_opt_string(p, "path", &s, &r), -1);
	expect_error(&r, 400, "ValidationError", "properties.path must be a string");
	assert_int_equal(cg_admin_opt_string(p, "absent", &s, &r), 0);
	assert_null(s);
	assert_int_equal(cg_admin_opt_bool(p, "ok", &b, &r), 0);
	assert_int_equal(b, 1);
	assert_int_equal(cg_admin_opt_bool(p, "path", &b, &r), -1);
	json_decref(j);
	cg_admin_resp_free(&r);
}

static void test_error_masks_non_utf8(void **state)
{
	struct cg_admin_resp r;
	cg_admin_resp_init(&r);
	cg_admin_error(&r, 404, "ResourceNotFound", "API '%s' not found", "a\xff");
	expect_error(&r, 404, "ResourceNotFound", "API 'a?' not found");
	cg_admin_resp_free(&r);
}

static void test_etag(void **state)
{
	json_t *a = json_pack("{s:s,s:i}", "x", "1", "y", 2);
	json_t *b = json_pack("{s:i,s:s}", "y", 2, "x", "1");
	char ea[40], eb[40], ec[40];
	assert_int_equal(cg_admin_etag(a, "", ea), 0);
	assert_int_equal(cg_admin_etag(b, "", eb), 0);
	assert_string_equal(ea, eb); /* key order does not count */
	assert_int_equal(cg_admin_etag(a, "secret", ec), 0);
	assert_string_not_equal(ea, ec); /* hidden fields do */
	assert_int_equal(strlen(ea), 34);
	assert_int_equal(ea[0], '"');
	json_decref(a);
	json_decref(b);
}

static char *slurp_b64(const char *path)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "base64 -w0 '%s'", path);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	pclose(f);
	assert_true(n > 0);
	return buf;
}

static void test_decode_certificate(void **state)
{
	char cmd[2048], err[512], *chain, *key;
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout k.pem -out c.pem -subj /CN=unit.test -days 2 2>/dev/null && "
		 "openssl pkcs12 -export -in c.pem -inkey k.pem -out p.pfx -passout pass:pw && "
		 "cat c.pem k.pem > both.pem && printf 'not a pfx' > junk.bin",
		 g_dir);
	assert_int_equal(system(cmd), 0);

	char path[512];
	snprintf(path, sizeof(path), "%s/p.pfx", g_dir);
	char *pfx = slurp_b64(path);
	assert_int_equal(cg_admin_decode_certificate(pfx, "pw", &chain, &key, err, sizeof(err)), 0);
	assert_true(strncmp(chain, "-----BEGIN CERTIFICATE-----", 27) == 0);
	assert_non_null(strstr(key, "PRIVATE KEY"));
	free(chain);
	cg_admin_free_secret(key);
	assert_int_equal(cg_admin_decode_certificate(pfx, "nope", &chain, &key, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "certificatePassword"));
	assert_null(chain);
	assert_null(key);
	free(pfx);

	snprintf(path, sizeof(path), "%s/junk.bin", g_dir);
	char *junk = slurp_b64(path);
	assert_int_equal(cg_admin_decode_certificate(junk, NULL, &chain, &key, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not a PFX"));
	free(junk);
	assert_int_equal(cg_admin_decode_certificate("@@@ not base64 @@@", NULL, &chain, &key, err,
						     sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "neither base64"));

	/* PEM text is passed on whole: the store takes the blocks it wants. */
	const char *pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	assert_int_equal(cg_admin_decode_certificate(pem, NULL, &chain, &key, err, sizeof(err)), 0);
	assert_string_equal(chain, pem);
	assert_string_equal(key, pem);
	free(chain);
	cg_admin_free_secret(key);
}

/* A whole request through cg_admin_handle against a real store. */
static void test_read_file(void **state)
{
	(void)state;
	char path[512], err[512], buf[8];
	size_t n;
	bool loose = false;
	snprintf(path, sizeof(path), "%s/rf", g_dir);
	write_file(path, "1234567"); /* cap - 1 bytes: fits */
	chmod(path, 0644);
	assert_int_equal(cg_admin_read_file("--x", path, buf, sizeof(buf), &n, &loose, err, sizeof(err)), 0);
	assert_int_equal(n, 7);
	assert_string_equal(buf, "1234567");
	assert_true(loose);
	chmod(path, 0600);
	assert_int_equal(cg_admin_read_file("--x", path, buf, sizeof(buf), &n, &loose, err, sizeof(err)), 0);
	assert_false(loose);
	write_file(path, "12345678"); /* one byte more */
	assert_int_equal(cg_admin_read_file("--x", path, buf, sizeof(buf), &n, NULL, err, sizeof(err)), -1);
	char want[600];
	snprintf(want, sizeof(want), "--x '%s': more than 7 bytes", path);
	assert_string_equal(err, want);
	write_file(path, "");
	assert_int_equal(cg_admin_read_file("--x", path, buf, sizeof(buf), &n, NULL, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cg_admin_read_file("--x", g_dir, buf, sizeof(buf), &n, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Is a directory"));
	snprintf(path, sizeof(path), "%s/absent", g_dir);
	assert_int_equal(cg_admin_read_file("--x", path, buf, sizeof(buf), &n, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
}

static void test_thumbprint_parse(void **state)
{
	(void)state;
	char tp[41];
	const char *up = "0123456789ABCDEF0123456789ABCDEF01234567";
	assert_true(cg_admin_thumbprint_parse(up, tp));
	assert_string_equal(tp, up);
	assert_true(cg_admin_thumbprint_parse("0123456789abcdef0123456789abcdef01234567", tp));
	assert_string_equal(tp, up);
	assert_true(cg_admin_thumbprint_parse(
		"01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:01:23:45:67", tp));
	assert_string_equal(tp, up);
	assert_true(cg_admin_thumbprint_parse(
		"01 23 45 67 89 ab cd ef 01 23 45 67 89 AB CD EF 01 23 45 67", tp));
	assert_string_equal(tp, up);
	assert_false(cg_admin_thumbprint_parse("", tp));
	assert_false(cg_admin_thumbprint_parse("0123456789ABCDEF0123456789ABCDEF0123456", tp)); /* 39 */
	assert_false(cg_admin_thumbprint_parse("0123456789ABCDEF0123456789ABCDEF012345678", tp)); /* 41 */
	assert_false(cg_admin_thumbprint_parse("0123456789ABCDEF0123456789ABCDEF0123456G", tp));
	assert_false(cg_admin_thumbprint_parse(":0123456789ABCDEF0123456789ABCDEF01234567", tp));
	assert_false(cg_admin_thumbprint_parse("0123456789ABCDEF0123456789ABCDEF01234567:", tp));
	assert_false(cg_admin_thumbprint_parse("0:123456789ABCDEF0123456789ABCDEF01234567", tp));
	/* SHA-256 (64 digits) is not what APIM calls a thumbprint. */
	assert_false(cg_admin_thumbprint_parse(
		"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF", tp));
}

/* cg_admin_opts_check's verdict and message (NULL: accepted). */
static void expect_opts(const struct cg_admin_opts *o, const char *contains)
{
	char err[512] = "";
	bool lo;
	int rc = cg_admin_opts_check(o, &lo, err, sizeof(err));
	if (!contains) {
		if (rc != 0)
			fail_msg("refused: %s", err);
		return;
	}
	assert_int_equal(rc, -1);
	if (!strstr(err, contains))
		fail_msg("'%s' does not contain '%s'", err, contains);
}

static void test_opts_check(void **state)
{
	(void)state;
	struct cg_admin_opts o = { 0 };
	bool lo = true;
	char err[512];
	assert_int_equal(cg_admin_opts_check(&o, &lo, err, sizeof(err)), 0); /* no admin API */
	assert_false(lo);
	o.cert_file = "c";
	expect_opts(&o, "--admin-cert needs --admin ADDR:PORT");
	o = (struct cg_admin_opts){ .num_pins = 1, .pins = { "x" } };
	expect_opts(&o, "--admin-client-thumbprint needs --admin ADDR:PORT");

	o = (struct cg_admin_opts){ .listen = "127.0.0.1:9" };
	expect_opts(&o, "--admin needs --admin-token-file FILE, or --admin-client-ca FILE");
	o.listen = "0.0.0.0:9";
	expect_opts(&o, "--admin 0.0.0.0:9 is not a loopback address and has no authentication");
	o.listen = "[::]:9";
	expect_opts(&o, "is not a loopback address");
	o.listen = "nowhere:9";
	expect_opts(&o, "--admin 'nowhere:9': 'nowhere' is not a numeric IPv4 or IPv6 address");
	o.listen = "127.0.0.1:0";
	expect_opts(&o, "invalid port");

	o = (struct cg_admin_opts){ .listen = "9", .token_file = "t" };
	expect_opts(&o, NULL);
	assert_int_equal(cg_admin_opts_check(&o, &lo, err, sizeof(err)), 0);
	assert_true(lo); /* PORT alone is 127.0.0.1:PORT */
	o.listen = "0.0.0.0:9"; /* a token over plain HTTP: accepted, with a warning at start */
	expect_opts(&o, NULL);
	o.cert_file = "c";
	expect_opts(&o, "--admin-cert needs --admin-key FILE");
	o.cert_file = NULL;
	o.key_file = "k";
	expect_opts(&o, "--admin-key needs --admin-cert FILE");
	o.key_file = NULL;
	o.key_password_file = "p";
	expect_opts(&o, "--admin-key-password-file needs --admin-key FILE");
	o.key_password_file = NULL;
	o.client_ca_file = "ca";
	expect_opts(&o, "--admin-client-ca needs TLS on the admin API");
	o.client_ca_file = NULL;
	o.pins[0] = "AB";
	o.num_pins = 1;
	expect_opts(&o, "--admin-client-thumbprint needs --admin-client-ca FILE");

	/* Client certificates alone are enough, on any address. */
	o = (struct cg_admin_opts){ .listen = "0.0.0.0:9", .cert_file = "c", .key_file = "k",
				    .client_ca_file = "ca" };
	expect_opts(&o, NULL);
	o.pins[0] = "0123456789abcdef0123456789abcdef01234567";
	o.pins[1] = "not hex";
	o.num_pins = 2;
	expect_opts(&o, "--admin-client-thumbprint 'not hex': expected a SHA-1 thumbprint");
	o.num_pins = 1;
	expect_opts(&o, NULL);
	/* TLS with neither a token nor client certificates: still refused. */
	o = (struct cg_admin_opts){ .listen = "127.0.0.1:9", .cert_file = "c", .key_file = "k" };
	expect_opts(&o, "--admin needs --admin-token-file FILE");
}

/* One request through cg_admin_authenticate. */
static void expect_auth(struct cg_admin_ctx *ctx, enum cg_admin_cert cert, const char *authz,
			int status, const char *code)
{
	struct cg_admin_req req = { 0 };
	req.cert = cert;
	req.authorization = cg_str_from_c(authz);
	struct cg_admin_resp r;
	cg_admin_resp_init(&r);
	bool ok = cg_admin_authenticate(ctx, &req, &r);
	if (status == 0) {
		assert_true(ok);
	} else {
		assert_false(ok);
		expect_error(&r, status, code, NULL);
		assert_int_equal(r.www_authenticate, status == 401);
	}
	cg_admin_resp_free(&r);
}

static void test_authenticate(void **state)
{
	(void)state;
	char path[512], err[512];
	const char *good = "Bearer 0123456789abcdef-token", *bad = "Bearer 0123456789abcdef-tokex";
	struct cg_admin_ctx ctx = { 0 };
	/* Nothing configured: refused (fails safe). */
	expect_auth(&ctx, CG_ADMIN_CERT_NOT_REQUIRED, good, 403, "AuthenticationFailed");

	snprintf(path, sizeof(path), "%s/tok3", g_dir);
	write_file(path, "0123456789abcdef-token\n");
	assert_int_equal(cg_admin_ctx_token(&ctx, path, err, sizeof(err)), 0);
	assert_true(ctx.has_token);
	/* Token only (as before TLS existed). */
	expect_auth(&ctx, CG_ADMIN_CERT_NOT_REQUIRED, good, 0, NULL);
	expect_auth(&ctx, CG_ADMIN_CERT_NOT_REQUIRED, bad, 401, "AuthenticationFailed");
	expect_auth(&ctx, CG_ADMIN_CERT_NOT_REQUIRED, "", 401, "AuthenticationFailed");

	/* Token and certificates: both, the certificate decided first. */
	ctx.need_cert = true;
	expect_auth(&ctx, CG_ADMIN_CERT_OK, good, 0, NULL);
	expect_auth(&ctx, CG_ADMIN_CERT_OK, bad, 401, "AuthenticationFailed");
	expect_auth(&ctx, CG_ADMIN_CERT_MISSING, good, 403, "ClientCertificateRequired");
	expect_auth(&ctx, CG_ADMIN_CERT_UNTRUSTED, good, 403, "ClientCertificateInvalid");
	expect_auth(&ctx, CG_ADMIN_CERT_NOT_PINNED, good, 403, "ClientCertificateInvalid");
	expect_auth(&ctx, CG_ADMIN_CERT_NOT_REQUIRED, good, 403, "ClientCertificateInvalid");

	/* Certificates only: no Authorization header needed, any is ignored. */
	ctx.has_token = false;
	expect_auth(&ctx, CG_ADMIN_CERT_OK, "", 0, NULL);
	expect_auth(&ctx, CG_ADMIN_CERT_OK, bad, 0, NULL);
	expect_auth(&ctx, CG_ADMIN_CERT_MISSING, "", 403, "ClientCertificateRequired");
	expect_auth(&ctx, CG_ADMIN_CERT_UNTRUSTED, "", 403, "ClientCertificateInvalid");
}

static void test_handle(void **state)
{
	char path[512], err[CG_STORE_ERR_LEN];
	struct cg_admin_ctx ctx = { 0 };
	snprintf(path, sizeof(path), "%s/tok2", g_dir);
	write_file(path, "0123456789abcdef-token\n");
	assert_int_equal(cg_admin_ctx_token(&ctx, path, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/store.db", g_dir);
	ctx.store = cg_store_open(path, 0, err, sizeof(err));
	assert_non_null(ctx.store);

	struct cg_admin_req req = { 0 };
	struct cg_admin_resp r;
	req.method = CG_ADMIN_M_PUT;
	req.method_text = CG_STR("PUT");
	req.path = CG_STR("/apis/echo");
	req.body = CG_STR("{\"properties\":{\"path\":\"echo\",\"serviceUrl\":\"http://127.0.0.1:1\"}}");
	cg_admin_resp_init(&r);
	cg_admin_handle(&ctx, &req, &r); /* no token */
	expect_error(&r, 401, "AuthenticationFailed", "missing");
	assert_true(r.www_authenticate);
	cg_admin_resp_free(&r);

	req.authorization = CG_STR("Bearer 0123456789abcdef-token");
	cg_admin_resp_init(&r);
	cg_admin_handle(&ctx, &req, &r);
	assert_int_equal(r.status, 201);
	assert_int_equal(strlen(r.etag), 34);
	char etag[40];
	strcpy(etag, r.etag);
	cg_admin_resp_free(&r);

	req.method = CG_ADMIN_M_GET;
	req.method_text = CG_STR("GET");
	cg_admin_resp_init(&r);
	cg_admin_handle(&ctx, &req, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.etag, etag);
	cg_admin_resp_free(&r);

	req.method = CG_ADMIN_M_POST;
	req.method_text = CG_STR("POST");
	cg_admin_resp_init(&r);
	cg_admin_handle(&ctx, &req, &r);
	expect_error(&r, 405, "MethodNotAllowed", "POST");
	assert_string_equal(r.allow, "GET, PUT, DELETE");
	cg_admin_resp_free(&r);

	req.method = CG_ADMIN_M_DELETE;
	req.method_text = CG_STR("DELETE");
	req.has_if_match = true;
	req.if_match = CG_STR("\"stale\"");
	cg_admin_resp_init(&r);
	cg_admin_handle(&ctx, &req, &r);
	expect_error(&r, 412, "PreconditionFailed", "echo");
	cg_admin_resp_free(&r);
	req.if_match = cg_str_from_c(etag);
	cg_admin_resp_init(&r);
	cg_admin_handle(&ctx, &req, &r);
	assert_int_equal(r.status, 200);
	cg_admin_resp_free(&r);
	cg_admin_resp_init(&r);
	cg_admin_handle(&ctx, &req, &r);
	assert_int_equal(r.status, 204);
	cg_admin_resp_free(&r);

	req.method = CG_ADMIN_M_GET;
	req.method_text = CG_STR("GET");
	req.path = CG_STR("/nowhere");
	cg_admin_resp_init(&r);
	cg_admin_handle(&ctx, &req, &r);
	expect_error(&r, 404, "ResourceNotFound", "/nowhere");
	cg_admin_resp_free(&r);
	cg_store_close(ctx.store);
}

int main(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/cg-unit-admin-XXXXXX");
	if (!mkdtemp(g_dir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),       cmocka_unit_test(test_methods),
		cmocka_unit_test(test_if_match),     cmocka_unit_test(test_token),
		cmocka_unit_test(test_body_errors),  cmocka_unit_test(test_error_masks_non_utf8),
		cmocka_unit_test(test_etag),         cmocka_unit_test(test_decode_certificate),
		cmocka_unit_test(test_handle),       cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_thumbprint_parse), cmocka_unit_test(test_opts_check),
		cmocka_unit_test(test_authenticate),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", g_dir);
	return rc;
}
