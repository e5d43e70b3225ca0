/* Store tests for policies, named values and fragments, against real
 * SQLite files, the real policy loader and the real expression engine.
 * Every refused write is checked for its failure kind, its message, and
 * that the rows of every table and the change token did not move. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"

#define PATH_LEN 512
#define DUMP_MAX (4 * 1024 * 1024) /* bytes of a table dump */

static char g_dir[PATH_LEN / 2];
static int g_store_seq;
static char g_store[PATH_LEN];
static char g_err[CG_STORE_DIAG_LEN];

#include "store/store_fixture.h"

static int make_dir(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/cg-store-policy-XXXXXX");
	return mkdtemp(g_dir) ? 0 : -1;
}

/* Every row of every table, over a separate raw connection. */
static char *dump(void)
{
	static const char *const q[] = {
		"SELECT * FROM meta",
		"SELECT * FROM apis ORDER BY id",
		"SELECT * FROM operations ORDER BY api_id, id",
		"SELECT * FROM policies ORDER BY scope, api_id, op_id",
		"SELECT * FROM named_values ORDER BY name",
		"SELECT * FROM fragments ORDER BY id",
	};
	return dump_rows(q, sizeof(q) / sizeof(q[0]), DUMP_MAX);
}

static void ok(int rc)
{
	if (rc)
		fprintf(stderr, "unexpected failure %d: %s\n", rc, g_err);
	assert_int_equal(rc, 0);
}

static void api(struct cg_store *st, const char *id, const char *path)
{
	struct cg_store_api_set in = { .id = id,
				       .path = path,
				       .service_url = "http://127.0.0.1:9" };
	ok(cg_store_api_set(st, &in, g_err, sizeof(g_err)));
}

static void op(struct cg_store *st, const char *api_id, const char *id, const char *tmpl)
{
	struct cg_store_op_set in = {
		.api_id = api_id, .id = id, .method = "GET", .url_template = tmpl
	};
	ok(cg_store_op_set(st, &in, g_err, sizeof(g_err)));
}

static int nv(struct cg_store *st, const char *name, const char *value, bool secret)
{
	struct cg_store_nv_set in = { .name = name, .value = value, .secret = secret };
	return cg_store_nv_set(st, &in, g_err, sizeof(g_err));
}

static int pol(struct cg_store *st, enum cg_model_policy_scope scope, const char *api_id,
	       const char *op_id, const char *text)
{
	return cg_store_policy_set(st, scope, api_id, op_id, NULL, text, g_err, sizeof(g_err));
}

static int frag(struct cg_store *st, const char *id, const char *text)
{
	return cg_store_fragment_set(st, id, NULL, NULL, text, g_err, sizeof(g_err));
}

/* The headline policy: rawxml with raw '"', '&&' and '<' in expressions. */
static const char *const CERT_POLICY =
	"<policies>\n"
	"  <inbound>\n"
	"    <base />\n"
	"    <choose>\n"
	"      <when condition=\"@(context.Request.Certificate == null || "
	"context.Request.Certificate.Thumbprint != \"{{thumb}}\" && 1 < 2)\">\n"
	"        <return-response><set-status code=\"403\" reason=\"Invalid client "
	"certificate\" /></return-response>\n"
	"      </when>\n"
	"    </choose>\n"
	"  </inbound>\n"
	"  <backend><base /></backend>\n"
	"  <outbound><base /></outbound>\n"
	"  <on-error><base /></on-error>\n"
	"</policies>\n";

static const char *const CERT_POLICY_NO_NV =
	"<policies><inbound><base /><choose><when condition=\"@(1 < 2 && \"a\" != \"b\")\">"
	"<set-header name=\"X\" exists-action=\"override\"><value>y</value></set-header>"
	"</when></choose></inbound></policies>";

static const char *const PLAIN =
	"<policies><inbound><base /></inbound><backend><base /></backend>"
	"<outbound><base /></outbound><on-error><base /></on-error></policies>";

static const char *const USES_TAG =
	"<policies><inbound><base /><set-header name=\"X-Tag\" exists-action=\"override\">"
	"<value>@(\"{{tag}}\".ToUpper())</value></set-header></inbound></policies>";

static const char *const INCLUDES_HDR =
	"<policies>\n<inbound>\n<base />\n<include-fragment fragment-id=\"hdr\" />\n</inbound>\n"
	"</policies>";

static const char *const HDR_FRAGMENT =
	"<fragment>\n  <set-header name=\"X-Hdr\" exists-action=\"override\">"
	"<value>{{tag}}</value></set-header>\n</fragment>";

static void test_policy_round_trip(void **state)
{
	struct cg_store *st = *state;
	api(st, "orders", "orders");
	op(st, "orders", "get", "/orders/{id}");
	ok(nv(st, "thumb", "1F0A2B3C4D5E6F708192A3B4C5D6E7F801234567", false));
	ok(pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, CERT_POLICY));
	assert_string_equal(g_err, ""); /* no warnings */
	ok(pol(st, CG_MODEL_POLICY_API, "orders", NULL, PLAIN));
	ok(cg_store_policy_set(st, CG_MODEL_POLICY_OPERATION, "orders", "get", "xml", PLAIN, g_err,
			       sizeof(g_err)));

	struct cg_store_text t;
	ok(cg_store_policy_get(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, &t, g_err, sizeof(g_err)));
	assert_string_equal(t.format, "rawxml");
	assert_string_equal(t.value, CERT_POLICY); /* stored as given, byte for byte */
	cg_store_text_free(&t);

	struct cg_model m;
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_policies, 3);
	assert_int_equal(m.policies[0].scope, CG_MODEL_POLICY_GLOBAL);
	assert_null(m.policies[0].api_id);
	assert_null(m.policies[0].op_id);
	assert_int_equal(m.policies[1].scope, CG_MODEL_POLICY_API);
	assert_string_equal(m.policies[1].api_id, "orders");
	assert_null(m.policies[1].op_id);
	assert_int_equal(m.policies[2].scope, CG_MODEL_POLICY_OPERATION);
	assert_string_equal(m.policies[2].op_id, "get");
	assert_string_equal(m.policies[2].format, "xml");
	assert_int_equal(m.num_named_values, 1);
	assert_string_equal(m.named_values[0].name, "thumb");
	cg_model_free(&m);

	/* Replacing keeps one row per scope. */
	ok(pol(st, CG_MODEL_POLICY_API, "orders", NULL, CERT_POLICY));
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_policies, 3);
	assert_string_equal(m.policies[1].value, CERT_POLICY);
	cg_model_free(&m);

	/* Removing the operation, then the API, takes their policies along. */
	ok(cg_store_op_rm(st, "orders", "get", g_err, sizeof(g_err)));
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_policies, 2);
	cg_model_free(&m);
	ok(cg_store_api_rm(st, "orders", g_err, sizeof(g_err)));
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_policies, 1);
	cg_model_free(&m);

	ok(cg_store_policy_rm(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, g_err, sizeof(g_err)));
	struct before b = snap(st);
	int rc = cg_store_policy_rm(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, g_err, sizeof(g_err));
	assert_refused(st, b, rc, CG_STORE_FAIL_NOT_FOUND, "The global policy is not set");
	rc = cg_store_policy_get(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, &t, g_err, sizeof(g_err));
	assert_int_equal(rc, CG_STORE_FAIL_NOT_FOUND);
}

static void test_policy_refusals(void **state)
{
	struct cg_store *st = *state;
	api(st, "orders", "orders");
	ok(pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, PLAIN));
	struct before b;
	int rc;

	b = snap(st);
	rc = pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, CERT_POLICY);
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID,
		       "the global policy does not load (1 error):\n5:");
	assert_non_null(strstr(g_err, "Named value 'thumb' could not be found"));

	/* Every error is reported, each with line:col. */
	b = snap(st);
	rc = pol(st, CG_MODEL_POLICY_API, "orders", NULL,
		 "<policies>\n<inbound>\n"
		 "<set-variable name=\"a\" value=\"@(1 +)\" />\n"
		 "<set-variable name=\"b\" value=\"@(NoSuchThing.Now)\" />\n"
		 "</inbound>\n</policies>");
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID,
		       "the policy of api 'orders' does not load (2 errors):\n"
		       "2:1: warning: Section 'inbound' has no 'base' element");
	assert_non_null(strstr(g_err, "\n3:31: Invalid expression term"));
	assert_non_null(strstr(g_err, "\n4:31: The name 'NoSuchThing' does not exist"));

	b = snap(st);
	rc = pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, "<policies><inbound></policies>");
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "does not load (1 error):\n1:");

	b = snap(st);
	rc = pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, INCLUDES_HDR);
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "Policy fragment 'hdr' was not found");

	b = snap(st);
	rc = pol(st, CG_MODEL_POLICY_API, "nope", NULL, PLAIN);
	assert_refused(st, b, rc, CG_STORE_FAIL_NOT_FOUND, "API 'nope' does not exist");
	b = snap(st);
	rc = pol(st, CG_MODEL_POLICY_OPERATION, "orders", "nope", PLAIN);
	assert_refused(st, b, rc, CG_STORE_FAIL_NOT_FOUND, "API 'orders' has no operation 'nope'");
	b = snap(st);
	rc = pol(st, CG_MODEL_POLICY_GLOBAL, "orders", NULL, PLAIN);
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "the global policy takes no API");
	b = snap(st);
	rc = pol(st, CG_MODEL_POLICY_OPERATION, "orders", NULL, PLAIN);
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "operation id is empty");
	b = snap(st);
	rc = cg_store_policy_set(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, "rawxml-link", PLAIN,
				 g_err, sizeof(g_err));
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "format 'rawxml-link' is not supported");
	b = snap(st);
	rc = pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, "");
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "the policy text is empty");

	/* An xml-format document must be well-formed: a raw '"' in an
	 * attribute is rawxml only. */
	b = snap(st);
	rc = cg_store_policy_set(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, "xml",
				 "<policies><inbound><set-variable name=\"a\" "
				 "value=\"@(\"x\")\" /></inbound></policies>",
				 g_err, sizeof(g_err));
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "does not load");

	/* A small err buffer gets a cut message that says so. */
	char small[40];
	b = snap(st);
	rc = cg_store_policy_set(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, NULL, CERT_POLICY, small,
				 sizeof(small));
	snprintf(g_err, sizeof(g_err), "%s", small);
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "...");
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_format_conversion(void **state)
{
	struct cg_store *st = *state;
	ok(nv(st, "thumb", "SECRETVALUE-1234", true));
	ok(frag(st, "hdr",
		"<fragment><set-header name=\"a\" exists-action=\"override\">"
		"<value>@(\"x\" + (1 < 2).ToString())</value></set-header></fragment>"));
	const char *raw = "<policies>\n<!-- \"raw\" & < in a comment -->\n<inbound>\n"
			  "<include-fragment fragment-id=\"hdr\" />\n"
			  "<set-variable name='v' value='@(\"{{thumb}}\" + \"it's\")' />\n"
			  "<set-header name=\"b\" exists-action=\"override\"><value>\n"
			  "  @(1 < 2 && \"a\" != \"b\")  \n</value></set-header>\n"
			  "</inbound>\n</policies>";
	const char *xml = "<policies>\n<!-- \"raw\" & < in a comment -->\n<inbound>\n"
			  "<include-fragment fragment-id=\"hdr\" />\n"
			  "<set-variable name='v' value='@(&quot;{{thumb}}&quot; + "
			  "&quot;it&apos;s&quot;)' />\n"
			  "<set-header name=\"b\" exists-action=\"override\"><value>\n"
			  "  @(1 &lt; 2 &amp;&amp; &quot;a&quot; != &quot;b&quot;)  \n</value>"
			  "</set-header>\n</inbound>\n</policies>";
	ok(pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, raw));
	struct cg_store_text t;
	ok(cg_store_policy_get_as(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, "xml", &t, g_err,
				  sizeof(g_err)));
	assert_string_equal(t.format, "xml");
	assert_string_equal(t.value, xml); /* only expressions changed; no value substituted */
	cg_store_text_free(&t);
	/* The xml form is stored as such, and converts back byte for byte. */
	ok(cg_store_policy_set(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, "xml", xml, g_err,
			       sizeof(g_err)));
	ok(cg_store_policy_get_as(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, "rawxml", &t, g_err,
				  sizeof(g_err)));
	assert_string_equal(t.format, "rawxml");
	assert_string_equal(t.value, raw);
	cg_store_text_free(&t);
	ok(cg_store_policy_get_as(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, "xml", &t, g_err,
				  sizeof(g_err)));
	assert_string_equal(t.value, xml);
	cg_store_text_free(&t);
	ok(cg_store_fragment_get_as(st, "hdr", "xml", &t, g_err, sizeof(g_err)));
	assert_string_equal(t.value, "<fragment><set-header name=\"a\" exists-action=\"override\">"
				     "<value>@(&quot;x&quot; + (1 &lt; 2).ToString())</value>"
				     "</set-header></fragment>");
	cg_store_text_free(&t);
	assert_int_equal(cg_store_policy_get_as(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, "json", &t,
						g_err, sizeof(g_err)),
			 CG_STORE_FAIL_INVALID);
	assert_int_equal(cg_store_policy_get_as(st, CG_MODEL_POLICY_API, "x", NULL, "xml", &t,
						g_err, sizeof(g_err)),
			 CG_STORE_FAIL_NOT_FOUND);
}

static void test_policy_size_limit(void **state)
{
	struct cg_store *st = *state;
	/* Exactly the limit: a comment pads a valid document. */
	const char *head = "<policies><inbound><base /></inbound></policies><!--";
	const char *tail = "-->";
	size_t n = CG_STORE_MAX_POLICY_BYTES;
	char *text = malloc(n + 2);
	memset(text, 'x', n + 1);
	memcpy(text, head, strlen(head));
	memcpy(text + n - strlen(tail), tail, strlen(tail));
	text[n] = 0;
	ok(pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, text));
	memcpy(text + n - strlen(tail), "xxx", 3);
	memcpy(text + n + 1 - strlen(tail), tail, strlen(tail));
	text[n + 1] = 0;
	struct before b = snap(st);
	int rc = pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, text);
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "at most 262144 are accepted");
	free(text);
}

static void test_named_value_round_trip_and_refusals(void **state)
{
	struct cg_store *st = *state;
	const char *tags[] = { "env", "prod-1" };
	bool created = false;
	struct cg_store_nv_set in = { .name = "a-b.c_D",
				      .value = "v1",
				      .secret = true,
				      .tags = tags,
				      .num_tags = 2,
				      .created = &created };
	ok(cg_store_nv_set(st, &in, g_err, sizeof(g_err)));
	assert_true(created);
	struct cg_store_nv v;
	ok(cg_store_nv_get(st, "a-b.c_D", &v, g_err, sizeof(g_err)));
	assert_string_equal(v.value, "v1");
	assert_true(v.secret);
	assert_string_equal(v.tags, "[\"env\",\"prod-1\"]");
	cg_store_nv_free(&v);
	/* Names are case-sensitive, as {{name}} lookups are. */
	assert_int_equal(cg_store_nv_get(st, "A-B.C_D", &v, g_err, sizeof(g_err)),
			 CG_STORE_FAIL_NOT_FOUND);
	in.value = "v2";
	in.secret = false;
	in.num_tags = 0;
	ok(cg_store_nv_set(st, &in, g_err, sizeof(g_err)));
	assert_false(created);
	ok(cg_store_nv_get(st, "a-b.c_D", &v, g_err, sizeof(g_err)));
	assert_string_equal(v.value, "v2");
	assert_false(v.secret);
	assert_string_equal(v.tags, "[]");
	cg_store_nv_free(&v);

	char name[CG_STORE_MAX_NV_NAME_LEN + 2];
	memset(name, 'n', sizeof(name));
	name[CG_STORE_MAX_NV_NAME_LEN] = 0;
	ok(nv(st, name, "at the limit", false));
	name[CG_STORE_MAX_NV_NAME_LEN] = 'n';
	name[CG_STORE_MAX_NV_NAME_LEN + 1] = 0;
	struct before b = snap(st);
	assert_refused(st, b, nv(st, name, "x", false), CG_STORE_FAIL_INVALID,
		       "is longer than 256 characters");

	char value[CG_STORE_MAX_NV_VALUE_LEN + 2];
	memset(value, 'v', sizeof(value));
	value[CG_STORE_MAX_NV_VALUE_LEN] = 0;
	ok(nv(st, "big", value, false));
	value[CG_STORE_MAX_NV_VALUE_LEN] = 'v';
	value[CG_STORE_MAX_NV_VALUE_LEN + 1] = 0;
	b = snap(st);
	assert_refused(st, b, nv(st, "big", value, false), CG_STORE_FAIL_INVALID,
		       "the value is 4097 bytes; at most 4096");

	b = snap(st);
	assert_refused(st, b, nv(st, "a b", "x", false), CG_STORE_FAIL_INVALID,
		       "may contain only letters, digits");
	b = snap(st);
	assert_refused(st, b, nv(st, "{{x}}", "x", false), CG_STORE_FAIL_INVALID,
		       "may contain only letters, digits");
	b = snap(st);
	assert_refused(st, b, nv(st, "", "x", false), CG_STORE_FAIL_INVALID,
		       "named value name is empty");
	b = snap(st);
	assert_refused(st, b, nv(st, "e", "", false), CG_STORE_FAIL_INVALID, "the value is empty");
	b = snap(st);
	assert_refused(st, b, nv(st, "e", " \t\r\n", true), CG_STORE_FAIL_INVALID,
		       "the value is only whitespace");

	const char *many[CG_STORE_MAX_NV_TAGS + 1];
	for (size_t i = 0; i <= CG_STORE_MAX_NV_TAGS; i++)
		many[i] = "t";
	struct cg_store_nv_set t = { .name = "tagged", .value = "x", .tags = many };
	t.num_tags = CG_STORE_MAX_NV_TAGS;
	ok(cg_store_nv_set(st, &t, g_err, sizeof(g_err)));
	t.num_tags = CG_STORE_MAX_NV_TAGS + 1;
	b = snap(st);
	assert_refused(st, b, cg_store_nv_set(st, &t, g_err, sizeof(g_err)), CG_STORE_FAIL_INVALID,
		       "has 33 tags; at most 32");
	char long_tag[CG_STORE_MAX_NV_TAG_LEN + 2];
	memset(long_tag, 't', sizeof(long_tag));
	long_tag[CG_STORE_MAX_NV_TAG_LEN] = 0;
	const char *lt[] = { long_tag };
	struct cg_store_nv_set lts = { .name = "tagged", .value = "x", .tags = lt, .num_tags = 1 };
	ok(cg_store_nv_set(st, &lts, g_err, sizeof(g_err)));
	long_tag[CG_STORE_MAX_NV_TAG_LEN] = 't';
	long_tag[CG_STORE_MAX_NV_TAG_LEN + 1] = 0;
	b = snap(st);
	assert_refused(st, b, cg_store_nv_set(st, &lts, g_err, sizeof(g_err)),
		       CG_STORE_FAIL_INVALID, "is longer than 64 characters");
	const char *bad_tag[] = { "no spaces" };
	struct cg_store_nv_set bt = {
		.name = "tagged", .value = "x", .tags = bad_tag, .num_tags = 1
	};
	b = snap(st);
	assert_refused(st, b, cg_store_nv_set(st, &bt, g_err, sizeof(g_err)), CG_STORE_FAIL_INVALID,
		       "tag 'no spaces'");

	b = snap(st);
	assert_refused(st, b, cg_store_nv_rm(st, "nope", g_err, sizeof(g_err)),
		       CG_STORE_FAIL_NOT_FOUND, "named value 'nope' does not exist");
	ok(cg_store_nv_rm(st, "big", g_err, sizeof(g_err)));
	assert_int_equal(cg_store_nv_get(st, "big", &v, g_err, sizeof(g_err)),
			 CG_STORE_FAIL_NOT_FOUND);
}

static void test_named_value_in_use(void **state)
{
	struct cg_store *st = *state;
	api(st, "orders", "orders");
	op(st, "orders", "get", "/x");
	ok(nv(st, "tag", "hello", false));
	ok(nv(st, "unused", "x", false));
	ok(pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, USES_TAG));
	ok(pol(st, CG_MODEL_POLICY_API, "orders", NULL, USES_TAG));
	ok(frag(st, "hdr", HDR_FRAGMENT));
	ok(pol(st, CG_MODEL_POLICY_OPERATION, "orders", "get", INCLUDES_HDR));

	struct before b = snap(st);
	int rc = cg_store_nv_rm(st, "tag", g_err, sizeof(g_err));
	assert_refused(st, b, rc, CG_STORE_FAIL_CONFLICT,
		       "named value 'tag' is used by the global policy, the policy of api "
		       "'orders', the policy of operation 'get' of api 'orders', fragment 'hdr'");
	ok(cg_store_nv_rm(st, "unused", g_err, sizeof(g_err)));

	/* A new value that breaks an expression is refused, naming every
	 * user that would fail with its diagnostics. */
	b = snap(st);
	rc = nv(st, "tag", "a\" + (", false);
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID,
		       "named value 'tag' cannot be changed to this value:\n"
		       "the global policy would not load:\n1:");
	assert_non_null(strstr(g_err, "the policy of api 'orders' would not load:"));
	/* The fragment holds {{tag}} in plain text, so it and its includer
	 * still load. */
	assert_null(strstr(g_err, "fragment 'hdr' would not load"));

	/* A value fine everywhere is taken, and the model shows it. */
	ok(nv(st, "tag", "bye", true));
	struct cg_model m;
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_named_values, 1);
	assert_string_equal(m.named_values[0].value, "bye");
	assert_true(m.named_values[0].secret);
	cg_model_free(&m);

	/* Once no one uses it, it can go. */
	ok(cg_store_policy_rm(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, g_err, sizeof(g_err)));
	ok(cg_store_api_rm(st, "orders", g_err, sizeof(g_err)));
	b = snap(st);
	rc = cg_store_nv_rm(st, "tag", g_err, sizeof(g_err));
	assert_refused(st, b, rc, CG_STORE_FAIL_CONFLICT,
		       "named value 'tag' is used by fragment 'hdr'");
	ok(cg_store_fragment_rm(st, "hdr", g_err, sizeof(g_err)));
	ok(cg_store_nv_rm(st, "tag", g_err, sizeof(g_err)));
}

static void test_secret_never_in_messages(void **state)
{
	struct cg_store *st = *state;
	ok(nv(st, "ident", "SecretIdentifier", true));
	ok(pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL,
	       "<policies><inbound><set-variable name=\"a\" value=\"{{ident}}\" /></inbound>"
	       "</policies>"));
	/* Used inside an expression, the value becomes a name the engine
	 * does not know, and its message would quote it. */
	struct before b = snap(st);
	int rc = pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL,
		     "<policies><inbound><set-variable name=\"a\" value=\"@({{ident}}.Now)\" />"
		     "</inbound></policies>");
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "1:50: The name '***' does not exist");
	assert_null(strstr(g_err, "SecretIdentifier"));
	b = snap(st);
	rc = nv(st, "ident", "@(OtherSecretName.Now)", true);
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "the global policy would not load");
	assert_null(strstr(g_err, "OtherSecretName"));
}

static void test_fragments(void **state)
{
	struct cg_store *st = *state;
	ok(nv(st, "tag", "hello", false));
	ok(cg_store_fragment_set(st, "hdr", "adds X-Hdr", NULL, HDR_FRAGMENT, g_err,
				 sizeof(g_err)));
	ok(pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, INCLUDES_HDR));
	struct cg_store_text t;
	ok(cg_store_fragment_get(st, "hdr", &t, g_err, sizeof(g_err)));
	assert_string_equal(t.value, HDR_FRAGMENT);
	assert_string_equal(t.description, "adds X-Hdr");
	assert_string_equal(t.format, "rawxml");
	cg_store_text_free(&t);
	/* NULL description keeps it. */
	ok(frag(st, "hdr",
		"<fragment><set-header name=\"X-Hdr\" exists-action=\"delete\" />"
		"</fragment>"));
	ok(cg_store_fragment_get(st, "hdr", &t, g_err, sizeof(g_err)));
	assert_string_equal(t.description, "adds X-Hdr");
	cg_store_text_free(&t);
	struct cg_model m;
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_fragments, 1);
	assert_string_equal(m.fragments[0].id, "hdr");
	assert_string_equal(m.fragments[0].description, "adds X-Hdr");
	cg_model_free(&m);

	struct before b = snap(st);
	int rc = frag(st, "hdr", "<fragment><base /></fragment>");
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID,
		       "fragment 'hdr' does not load (1 error):\n1:");
	b = snap(st);
	rc = frag(st, "hdr",
		  "<fragment><set-header name=\"a\"><value>{{nope}}</value></set-header>"
		  "</fragment>");
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "Named value 'nope' could not be found");
	/* Loads alone, but not where the policy includes it (inbound). */
	b = snap(st);
	rc = frag(st, "hdr", "<fragment>\n<forward-request />\n</fragment>");
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID,
		       "fragment 'hdr' cannot be changed to this text:\n"
		       "the global policy would not load:\nfragment 'hdr' 2:");
	b = snap(st);
	rc = frag(st, "bad id", HDR_FRAGMENT);
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "fragment id 'bad id'");
	char desc[CG_STORE_MAX_DESCRIPTION_LEN + 2];
	memset(desc, 'd', sizeof(desc));
	desc[CG_STORE_MAX_DESCRIPTION_LEN] = 0;
	ok(cg_store_fragment_set(st, "hdr", desc, NULL, HDR_FRAGMENT, g_err, sizeof(g_err)));
	desc[CG_STORE_MAX_DESCRIPTION_LEN] = 'd';
	desc[CG_STORE_MAX_DESCRIPTION_LEN + 1] = 0;
	b = snap(st);
	rc = cg_store_fragment_set(st, "hdr", desc, NULL, HDR_FRAGMENT, g_err, sizeof(g_err));
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "longer than 1000 bytes");

	b = snap(st);
	rc = cg_store_fragment_rm(st, "hdr", g_err, sizeof(g_err));
	assert_refused(st, b, rc, CG_STORE_FAIL_CONFLICT,
		       "fragment 'hdr' is used by the global policy");
	b = snap(st);
	rc = cg_store_fragment_rm(st, "nope", g_err, sizeof(g_err));
	assert_refused(st, b, rc, CG_STORE_FAIL_NOT_FOUND, "fragment 'nope' does not exist");

	/* An include whose fragment-id is a named value counts too. */
	ok(nv(st, "fid", "hdr", false));
	ok(pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL,
	       "<policies><inbound><base /><include-fragment fragment-id = '{{fid}}'/>"
	       "</inbound></policies>"));
	b = snap(st);
	rc = cg_store_fragment_rm(st, "hdr", g_err, sizeof(g_err));
	assert_refused(st, b, rc, CG_STORE_FAIL_CONFLICT,
		       "fragment 'hdr' is used by the global policy");
	b = snap(st);
	rc = nv(st, "fid", "nope", false);
	assert_refused(st, b, rc, CG_STORE_FAIL_INVALID, "Policy fragment 'nope' was not found");

	/* An include inside a comment is no use. */
	ok(pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL,
	       "<policies><inbound><base /><!-- <include-fragment fragment-id=\"hdr\" /> -->"
	       "</inbound></policies>"));
	ok(cg_store_fragment_rm(st, "hdr", g_err, sizeof(g_err)));
}

static void test_fragment_size_limit(void **state)
{
	struct cg_store *st = *state;
	const char *head =
		"<fragment><set-header name=\"a\" exists-action=\"delete\" /></fragment><!--";
	size_t n = CG_STORE_MAX_FRAGMENT_BYTES;
	char *text = malloc(n + 2);
	memset(text, 'x', n + 1);
	memcpy(text, head, strlen(head));
	memcpy(text + n - 3, "-->", 3);
	text[n] = 0;
	ok(frag(st, "big", text));
	memcpy(text + n - 3, "xxx", 3);
	memcpy(text + n - 2, "-->", 3);
	text[n + 1] = 0;
	struct before b = snap(st);
	assert_refused(st, b, frag(st, "big", text), CG_STORE_FAIL_INVALID,
		       "at most 524288 are accepted");
	free(text);
}

static void test_count_limits(void **state)
{
	struct cg_store *st = *state;
	/* Fill to one below each limit behind the store's back, then the
	 * last one goes in through it and the next is refused. */
	raw_fill(CG_STORE_MAX_NAMED_VALUES - 1,
		 "INSERT INTO named_values (name, value, created_at, updated_at) "
		 "SELECT 'nv' || i, 'v', 'now', 'now' FROM n");
	ok(nv(st, "last", "v", false));
	struct before b = snap(st);
	assert_refused(st, b, nv(st, "one-more", "v", false), CG_STORE_FAIL_INVALID,
		       "already holds 10000 named values, the limit");
	ok(nv(st, "last", "updates are fine", false));

	raw_fill(CG_STORE_MAX_FRAGMENTS - 1,
		 "INSERT INTO fragments (id, format, value, created_at, updated_at) "
		 "SELECT 'f' || i, 'rawxml', '<fragment/>', 'now', 'now' FROM n");
	const char *f = "<fragment><set-header name=\"a\" exists-action=\"delete\" /></fragment>";
	ok(frag(st, "last", f));
	b = snap(st);
	assert_refused(st, b, frag(st, "one-more", f), CG_STORE_FAIL_INVALID,
		       "already holds 1000 fragments, the limit");

	/* Past the limits (a hand-edited file), the model refuses to load. */
	raw_exec("INSERT INTO fragments (id, format, value, created_at, updated_at) "
		 "VALUES ('extra', 'rawxml', '<fragment/>', 'now', 'now')");
	struct cg_model m;
	assert_int_equal(cg_store_load_model(st, &m, g_err, sizeof(g_err)), CG_STORE_FAIL_INVALID);
	assert_non_null(strstr(g_err, "1001 fragments, more than certgate's limit of 1000"));
}

static int product(struct cg_store *st, const char *id)
{
	struct cg_store_product_set in = { .id = id, .subscription_required = -1,
					   .approval_required = -1, .subscriptions_limit = -1 };
	return cg_store_product_set(st, &in, g_err, sizeof(g_err));
}

static void test_product_limits(void **state)
{
	struct cg_store *st = *state;
	raw_fill(CG_STORE_MAX_PRODUCTS - 1,
		 "INSERT INTO products (id, display_name, state, created_at, updated_at) "
		 "SELECT 'p' || i, 'p', 'published', 'now', 'now' FROM n");
	ok(product(st, "last"));
	struct before b = snap(st);
	assert_refused(st, b, product(st, "one-more"), CG_STORE_FAIL_INVALID,
		       "already holds 1000 products, the limit");
	ok(product(st, "last")); /* updates are fine */
	/* 1000 products x 100 APIs: the links are full one below the limit. */
	raw_fill(100, "INSERT INTO apis (id, display_name, path, service_url, created_at,"
		      " updated_at) SELECT 'a' || i, 'a', 'a' || i, 'http://127.0.0.1:9', 'now',"
		      " 'now' FROM n");
	raw_exec("INSERT INTO product_apis (product_id, api_id, created_at)"
		 " SELECT p.id, a.id, 'now' FROM products p, apis a"
		 " WHERE NOT (p.id = 'last' AND a.id = 'a1')");
	api(st, "b", "b");
	bool created = false;
	ok(cg_store_product_api_add(st, "last", "a1", &created, g_err, sizeof(g_err)));
	assert_true(created);
	b = snap(st);
	assert_refused(st, b, cg_store_product_api_add(st, "last", "b", NULL, g_err, sizeof(g_err)),
		       CG_STORE_FAIL_INVALID, "already holds 100000 product-API links, the limit");
	/* an existing link is no change, even at the limit */
	ok(cg_store_product_api_add(st, "last", "a1", &created, g_err, sizeof(g_err)));
	assert_false(created);
	/* Past the limits (a hand-edited file), the model refuses to load. */
	raw_exec("INSERT INTO products (id, display_name, state, created_at, updated_at) "
		 "VALUES ('extra', 'x', 'published', 'now', 'now')");
	struct cg_model m;
	assert_int_equal(cg_store_load_model(st, &m, g_err, sizeof(g_err)), CG_STORE_FAIL_INVALID);
	assert_non_null(strstr(g_err, "1001 products, more than certgate's limit of 1000"));
}

static void test_schema_refuses_bad_rows(void **state)
{
	(void)state;
	/* The table's own checks back the store's: a second global policy,
	 * a scope without its ids, an unknown format. */
	raw_exec("INSERT INTO policies (scope, format, value, created_at, updated_at) "
		 "VALUES ('global', 'rawxml', '<policies/>', 'now', 'now')");
	sqlite3 *db;
	assert_int_equal(sqlite3_open(g_store, &db), SQLITE_OK);
	static const char *const bad[] = {
		"INSERT INTO policies (scope, format, value, created_at, updated_at) "
		"VALUES ('global', 'rawxml', 'x', 'now', 'now')",
		"INSERT INTO policies (scope, format, value, created_at, updated_at) "
		"VALUES ('api', 'rawxml', 'x', 'now', 'now')",
		"INSERT INTO policies (scope, format, value, created_at, updated_at) "
		"VALUES ('global', 'json', 'x', 'now', 'now')",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(sqlite3_exec(db, bad[i], NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_upgrade_from_version_1(void **state)
{
	struct cg_store *st = *state;
	api(st, "orders", "orders");
	cg_store_close(st);
	*state = NULL;
	/* Back to what a version-1 store was: hostnames, APIs, operations. */
	raw_exec("DROP TABLE policies; DROP TABLE named_values; DROP TABLE fragments;"
		 "DROP TABLE backend_pool_members; DROP TABLE backends; DROP TABLE certificates; DROP TABLE ca_certificates;"
		 "DROP TABLE crls; DROP TABLE subscriptions;"
		 "DROP TABLE product_apis; DROP TABLE products;"
		 /* apis without the subscription columns (migration 9) */
		 "CREATE TABLE apis_v1 (id TEXT PRIMARY KEY, display_name TEXT NOT NULL,"
		 "  path TEXT NOT NULL UNIQUE COLLATE NOCASE, service_url TEXT NOT NULL,"
		 "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
		 "INSERT INTO apis_v1 SELECT id, display_name, path, service_url, created_at,"
		 "  updated_at FROM apis;"
		 "DROP TABLE apis; ALTER TABLE apis_v1 RENAME TO apis; PRAGMA user_version = 1");
	st = cg_store_open(g_store, 1, g_err, sizeof(g_err));
	assert_null(st);
	assert_non_null(strstr(g_err, "schema version 1, this certgate needs"));
	st = cg_store_open(g_store, 0, g_err, sizeof(g_err));
	assert_non_null(st);
	*state = st;
	ok(nv(st, "tag", "x", false));
	ok(pol(st, CG_MODEL_POLICY_API, "orders", NULL, USES_TAG));
	struct cg_model m;
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_apis, 1);
	assert_int_equal(m.num_policies, 1);
	assert_int_equal(m.num_certs, 0);
	assert_int_equal(m.num_backends, 0);
	assert_int_equal(m.num_crls, 0);
	assert_int_equal(m.num_subs, 0);
	/* an API from before subscriptions asks for no key */
	assert_false(m.apis[0].subscription_required);
	assert_string_equal(m.apis[0].sub_key_header, "Ocp-Apim-Subscription-Key");
	assert_string_equal(m.apis[0].sub_key_query, "subscription-key");
	/* and keeps being served over both listeners (migration 11) */
	assert_int_equal(m.apis[0].protocols, CG_MODEL_PROTO_ALL);
	cg_model_free(&m);
	assert_int_equal(cg_store_schema_version(), 12);
}

/* Migration 10 copies the policies table into one with the product scope
 * (SQLite cannot change a CHECK): the policies of a version-9 store stay,
 * and a product policy can be set after it. */
static void test_upgrade_from_version_9_keeps_policies(void **state)
{
	struct cg_store *st = *state;
	api(st, "orders", "orders");
	op(st, "orders", "get", "/x");
	ok(pol(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, PLAIN));
	ok(pol(st, CG_MODEL_POLICY_API, "orders", NULL, PLAIN));
	ok(pol(st, CG_MODEL_POLICY_OPERATION, "orders", "get", CERT_POLICY_NO_NV));
	cg_store_close(st);
	*state = NULL;
	/* Back to version 9: policies without the product scope, no products. */
	raw_exec("CREATE TABLE policies_v9 ("
		 "  scope TEXT NOT NULL CHECK (scope IN ('global', 'api', 'operation')),"
		 "  api_id TEXT REFERENCES apis (id) ON DELETE CASCADE, op_id TEXT,"
		 "  format TEXT NOT NULL, value TEXT NOT NULL, created_at TEXT NOT NULL,"
		 "  updated_at TEXT NOT NULL,"
		 "  FOREIGN KEY (api_id, op_id) REFERENCES operations (api_id, id)"
		 "  ON DELETE CASCADE);"
		 "INSERT INTO policies_v9 SELECT scope, api_id, op_id, format, value, created_at,"
		 "  updated_at FROM policies;"
		 "DROP TABLE policies; ALTER TABLE policies_v9 RENAME TO policies;"
		 "CREATE UNIQUE INDEX policies_one_per_scope ON policies"
		 "  (scope, coalesce(api_id, ''), coalesce(op_id, ''));"
		 "DROP TABLE subscriptions; DROP TABLE product_apis; DROP TABLE products;"
		 "CREATE TABLE subscriptions (id TEXT PRIMARY KEY, display_name TEXT NOT NULL,"
		 "  scope_api_id TEXT REFERENCES apis (id) ON DELETE CASCADE, state TEXT NOT NULL,"
		 "  primary_key TEXT NOT NULL UNIQUE, secondary_key TEXT NOT NULL UNIQUE,"
		 "  expiration TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
		 "ALTER TABLE apis DROP COLUMN protocols;"
		 /* migration 12: pools and circuit breakers */
		 "DROP TABLE backend_pool_members; ALTER TABLE backends DROP COLUMN is_pool;"
		 "ALTER TABLE backends DROP COLUMN circuit_breaker;"
		 "PRAGMA user_version = 9");
	st = cg_store_open(g_store, 0, g_err, sizeof(g_err));
	assert_non_null(st);
	*state = st;
	struct cg_model m;
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_policies, 3);
	assert_int_equal(m.num_products, 0);
	/* the column dropped with version 9: migration 11 gives both */
	assert_int_equal(m.apis[0].protocols, CG_MODEL_PROTO_ALL);
	cg_model_free(&m);
	struct cg_store_product_set p = { .id = "gold", .subscription_required = -1,
					  .approval_required = -1, .subscriptions_limit = -1 };
	ok(cg_store_product_set(st, &p, g_err, sizeof(g_err)));
	ok(pol(st, CG_MODEL_POLICY_PRODUCT, "gold", NULL, PLAIN));
	/* one per scope, replaced in place */
	ok(pol(st, CG_MODEL_POLICY_PRODUCT, "gold", NULL, PLAIN));
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_policies, 4);
	size_t products = 0;
	for (size_t i = 0; i < m.num_policies; i++)
		if (m.policies[i].scope == CG_MODEL_POLICY_PRODUCT) {
			products++;
			assert_string_equal(m.policies[i].product_id, "gold");
			assert_null(m.policies[i].api_id);
		}
	assert_int_equal(products, 1);
	cg_model_free(&m);
	/* removing the product removes its policy */
	ok(cg_store_product_rm(st, "gold", false, g_err, sizeof(g_err)));
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_policies, 3);
	cg_model_free(&m);
	assert_int_equal(pol(st, CG_MODEL_POLICY_PRODUCT, "gold", NULL, PLAIN),
			 CG_STORE_FAIL_NOT_FOUND);
	assert_non_null(strstr(g_err, "product 'gold' does not exist"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, fresh_store, close_store)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_policy_round_trip),
		T(test_policy_refusals),
		T(test_format_conversion),
		T(test_policy_size_limit),
		T(test_named_value_round_trip_and_refusals),
		T(test_named_value_in_use),
		T(test_secret_never_in_messages),
		T(test_fragments),
		T(test_fragment_size_limit),
		T(test_count_limits),
		T(test_product_limits),
		T(test_schema_refuses_bad_rows),
		T(test_upgrade_from_version_1),
		T(test_upgrade_from_version_9_keeps_policies),
	};
	return cmocka_run_group_tests(tests, make_dir, drop_dir);
}
