/* emit-metric: what loads, and every refusal with its position
 * (docs/policies.md, "emit-metric"). */
#include "helpers.h"

#define IN(x) "<policies><inbound>" x "</inbound></policies>"
#define DIM "<dimension name=\"API ID\"/>"

/* want "" = loads */
static const struct err_case cases[] = {
	/* APIM's forms load, in every section */
	{ IN("<emit-metric name=\"Request\" value=\"1\" namespace=\"Contoso\">" DIM
	     "<dimension name=\"Client IP\" value=\"@(context.Request.IpAddress)\"/>"
	     "<dimension name=\"Caller\" value=\"@(context.Request.Certificate?.Subject ?? &quot;none&quot;)\"/>"
	     "</emit-metric>"), "" },
	{ IN("<emit-metric name=\"Request\">" DIM "<dimension name=\"Operation ID\"/><dimension name=\"Product ID\"/>"
	     "<dimension name=\"User ID\"/><dimension name=\"Subscription ID\"/><dimension name=\"Location\"/>"
	     "<dimension name=\"Gateway ID\"/><dimension name=\"location id\"/></emit-metric>"), "" },
	{ "<policies><backend><emit-metric name=\"b\" value=\"@(2.5)\">" DIM "</emit-metric><forward-request/></backend>"
	  "<outbound><emit-metric name=\"o\" value=\"0.25\"><dimension name=\"Backend ID\"/></emit-metric></outbound>"
	  "<on-error><emit-metric name=\"e\" id=\"err\">" DIM "</emit-metric></on-error></policies>", "" },
	{ IN("<emit-metric name=\"n\" value=\"1e3\"><dimension name=\"x\" value=\"\"/></emit-metric>"), "" },
	/* attributes */
	{ IN("<emit-metric>" DIM "</emit-metric>"), "1:20: Element 'emit-metric' is missing required attribute 'name'\n" },
	{ IN("<emit-metric name=\"@(&quot;n&quot;)\">" DIM "</emit-metric>"),
	  "1:39: Policy expressions are not allowed in attribute 'name' of element 'emit-metric'\n" },
	{ IN("<emit-metric name=\"n\" namespace=\"@(&quot;n&quot;)\">" DIM "</emit-metric>"),
	  "1:53: Policy expressions are not allowed in attribute 'namespace' of element 'emit-metric'\n" },
	{ IN("<emit-metric name=\"n\" unit=\"s\">" DIM "</emit-metric>"),
	  "1:42: Attribute 'unit' is not allowed in element 'emit-metric'\n" },
	{ IN("<emit-metric name=\"n\" value=\"-1\">" DIM "</emit-metric>"),
	  "1:49: Value '-1' of attribute 'value' in element 'emit-metric' is not valid; expected a number, 0 or more\n" },
	{ IN("<emit-metric name=\"n\" value=\"one\">" DIM "</emit-metric>"),
	  "1:49: Value 'one' of attribute 'value' in element 'emit-metric' is not valid; expected a number, 0 or more\n" },
	{ IN("<emit-metric name=\"n\" value=\"\">" DIM "</emit-metric>"),
	  "1:49: Value '' of attribute 'value' in element 'emit-metric' is not valid; expected a number, 0 or more\n" },
	{ IN("<emit-metric name=\"n\" value=\"inf\">" DIM "</emit-metric>"),
	  "1:49: Value 'inf' of attribute 'value' in element 'emit-metric' is not valid; expected a number, 0 or more\n" },
	{ IN("<emit-metric name=\"-*-\">" DIM "</emit-metric>"),
	  "1:39: Value '-*-' of attribute 'name' in element 'emit-metric' has no ASCII letter or digit: it cannot "
	  "become a Prometheus metric name\n" },
	{ IN("<emit-metric name=\"n\" namespace=\"\">" DIM "</emit-metric>"),
	  "1:53: Value '' of attribute 'namespace' in element 'emit-metric' has no ASCII letter or digit: it cannot "
	  "become a Prometheus metric name\n" },
	{ IN("<emit-metric name=\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\">" DIM "</emit-metric>"),
	  "1:39: Attribute 'name' of element 'emit-metric' is longer than 128 bytes\n" },
	/* dimensions */
	{ IN("<emit-metric name=\"n\"/>"), "1:20: Element 'emit-metric' must contain at least one 'dimension' element\n" },
	{ IN("<emit-metric name=\"n\"><dimension name=\"a\" value=\"1\"/><dimension name=\"b\" value=\"1\"/>"
	     "<dimension name=\"c\" value=\"1\"/><dimension name=\"d\" value=\"1\"/><dimension name=\"e\" value=\"1\"/>"
	     "<dimension name=\"f\" value=\"1\"/><dimension name=\"g\" value=\"1\"/><dimension name=\"h\" value=\"1\"/>"
	     "<dimension name=\"i\" value=\"1\"/><dimension name=\"j\" value=\"1\"/><dimension name=\"k\" value=\"1\"/>"
	     "</emit-metric>"),
	  "1:20: Element 'emit-metric' may contain at most 10 'dimension' elements\n" },
	{ IN("<emit-metric name=\"n\"><dimension name=\"Client IP\"/></emit-metric>"),
	  "1:42: Element 'dimension' named 'Client IP' requires attribute 'value': only the default dimensions "
	  "(API ID, Operation ID, Product ID, User ID, Subscription ID, Location, Gateway ID, Backend ID) take theirs "
	  "from the request\n" },
	{ IN("<emit-metric name=\"n\"><dimension value=\"v\"/></emit-metric>"),
	  "1:42: Element 'dimension' is missing required attribute 'name'\n" },
	{ IN("<emit-metric name=\"n\"><dimension name=\"@(&quot;x&quot;)\" value=\"v\"/></emit-metric>"),
	  "1:59: Policy expressions are not allowed in attribute 'name' of element 'dimension'\n" },
	{ IN("<emit-metric name=\"n\"><dimension name=\"x\" value=\"v\" unit=\"s\"/></emit-metric>"),
	  "1:72: Attribute 'unit' is not allowed in element 'dimension'\n" },
	{ IN("<emit-metric name=\"n\"><dimension name=\"API ID\"/><dimension name=\"api-id\" value=\"x\"/></emit-metric>"),
	  "1:85: Dimensions 'API ID' and 'api-id' of element 'emit-metric' both become the label 'api_id'\n" },
	{ IN("<emit-metric name=\"n\"><dimension name=\"x\" value=\"1\"/><dimension name=\"x\" value=\"2\"/></emit-metric>"),
	  "1:90: Dimensions 'x' and 'x' of element 'emit-metric' both become the label 'x'\n" },
	{ IN("<emit-metric name=\"n\"><dimension name=\"Overflow\" value=\"1\"/></emit-metric>"),
	  "1:59: Dimension 'Overflow' of element 'emit-metric' becomes the label 'overflow', which the gateway keeps "
	  "for the series past the limit\n" },
	{ IN("<emit-metric name=\"n\"><dimension name=\"..\" value=\"1\"/></emit-metric>"),
	  "1:59: Value '..' of attribute 'name' in element 'dimension' has no ASCII letter or digit: it cannot become a "
	  "Prometheus label\n" },
	{ IN("<emit-metric name=\"n\"><dimension name=\"Backend ID\"/></emit-metric>"),
	  "1:42: Dimension 'Backend ID' without a value is allowed only in the 'outbound' section\n" },
	{ IN("<emit-metric name=\"n\"><value>1</value></emit-metric>"),
	  "1:42: Element 'value' is not allowed in element 'emit-metric'\n" },
	{ IN("<emit-metric name=\"n\">" DIM "text</emit-metric>"), "1:68: Element 'emit-metric' must not contain text\n" },
	{ IN("<emit-metric name=\"n\"><dimension name=\"x\" value=\"v\"><x/></dimension></emit-metric>"),
	  "1:72: Element 'dimension' must not contain element 'x'\n" },
	{ IN(DIM), "1:20: Element 'dimension' is not allowed here\n" },
};

static void t_emit_metric_table(void **state)
{
	(void)state;
	pt_load_table(cases, sizeof(cases) / sizeof(cases[0]));
}

/* A fragment included in outbound may use Backend ID without a value; in
 * inbound the error points into the fragment. */
static void t_emit_metric_fragment(void **state)
{
	(void)state;
	const char *diags;
	static const struct cg_pol_fragment fr = {
		CG_STR("f"), CG_STR("<fragment><emit-metric name=\"n\"><dimension name=\"Backend ID\"/></emit-metric></fragment>"),
		CG_POL_FORMAT_RAWXML
	};
	struct cg_pol_env env = { 0 };
	env.fragments = &fr;
	env.num_fragments = 1;
	assert_non_null(pt_load_env("<policies><outbound><include-fragment fragment-id=\"f\"/></outbound></policies>",
				    CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_GLOBAL, &env, &diags));
	assert_null(pt_load_env("<policies><inbound><include-fragment fragment-id=\"f\"/></inbound></policies>",
				CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_GLOBAL, &env, &diags));
	assert_string_equal(diags, "fragment 'f' 1:33: Dimension 'Backend ID' without a value is allowed only in the 'outbound' section\n");
}

/* The Prometheus names (shared by the loader and the gateway). */
static void t_metric_name(void **state)
{
	(void)state;
	char b[16];
	assert_int_equal(cg_pol_metric_name(CG_STR("API ID"), b, sizeof(b)), 6);
	assert_string_equal(b, "api_id");
	assert_int_equal(cg_pol_metric_name(CG_STR("  Client--IP  "), b, sizeof(b)), 9);
	assert_string_equal(b, "client_ip");
	assert_int_equal(cg_pol_metric_name(CG_STR("API Management"), b, sizeof(b)), 14);
	assert_string_equal(b, "api_management");
	assert_int_equal(cg_pol_metric_name(CG_STR("caf\xc3\xa9 2"), b, sizeof(b)), 5);
	assert_string_equal(b, "caf_2");
	assert_int_equal(cg_pol_metric_name(CG_STR("1st"), b, sizeof(b)), 4); /* no label starts with a digit */
	assert_string_equal(b, "_1st");
	assert_int_equal(cg_pol_metric_name(CG_STR("a 1"), b, sizeof(b)), 3);
	assert_string_equal(b, "a_1");
	assert_int_equal(cg_pol_metric_name(CG_STR("-*-"), b, sizeof(b)), 0);
	assert_int_equal(cg_pol_metric_name(CG_STR(""), b, sizeof(b)), 0);
	assert_int_equal(cg_pol_metric_name(CG_STR("abcdefghijklmnop"), b, sizeof(b)), 0); /* 16 + NUL > 16 */
	assert_int_equal(cg_pol_metric_name(CG_STR("abcdefghijklmno"), b, sizeof(b)), 15);
	assert_int_equal(cg_pol_metric_dim(CG_STR("api id")), CG_POL_DIM_API_ID);
	assert_int_equal(cg_pol_metric_dim(CG_STR("Location ID")), CG_POL_DIM_LOCATION);
	assert_int_equal(cg_pol_metric_dim(CG_STR("API  ID")), CG_POL_DIM_CUSTOM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_emit_metric_table, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_emit_metric_fragment, pt_setup, pt_teardown),
		cmocka_unit_test(t_metric_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
