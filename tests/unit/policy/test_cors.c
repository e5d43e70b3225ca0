/* cors and find-and-replace: every refusal with its message and position,
 * APIM's documented examples accepted, and the origin parser. */
#include "helpers.h"

#define CORS_O "<allowed-origins><origin>https://a.example</origin></allowed-origins>"

static const struct err_case cases[] = {
	/* cors: sections, once per section, children */
	{ "<policies><outbound><cors>" CORS_O "</cors></outbound></policies>", "1:21: Policy 'cors' is not allowed in the 'outbound' section\n" },
	{ "<policies><inbound><cors>" CORS_O "</cors><cors>" CORS_O "</cors></inbound></policies>", "1:102: Policy 'cors' may appear only once in a section\n" },
	{ "<policies><inbound><cors/></inbound></policies>", "1:20: Element 'cors' must contain an 'allowed-origins' element\n" },
	{ "<policies><inbound><cors>" CORS_O CORS_O "</cors></inbound></policies>", "1:20: Element 'cors' may contain only one 'allowed-origins' element\n" },
	{ "<policies><inbound><cors>" CORS_O "<allowed-methods><method>GET</method></allowed-methods><allowed-methods><method>PUT</method></allowed-methods></cors></inbound></policies>", "1:20: Element 'cors' may contain only one 'allowed-methods' element\n" },
	{ "<policies><inbound><cors>" CORS_O "<allowed-headers/></cors></inbound></policies>", "1:95: Element 'allowed-headers' must contain at least one 'header' element\n" },
	{ "<policies><inbound><cors>" CORS_O "<expose-headers></expose-headers></cors></inbound></policies>", "1:95: Element 'expose-headers' must contain at least one 'header' element\n" },
	{ "<policies><inbound><cors><allowed-origins/></cors></inbound></policies>", "1:26: Element 'allowed-origins' must contain at least one 'origin' element\n" },
	{ "<policies><inbound><cors>" CORS_O "<allowed-methods/></cors></inbound></policies>", "1:95: Element 'allowed-methods' must contain at least one 'method' element\n" },
	{ "<policies><inbound><cors>" CORS_O "<foo/></cors></inbound></policies>", "1:95: Element 'foo' is not allowed in element 'cors'\n" },
	/* attributes: booleans, expressions where APIM allows them */
	{ "<policies><inbound><cors allow-credentials=\"yes\">" CORS_O "</cors></inbound></policies>", "1:45: Value 'yes' of attribute 'allow-credentials' in element 'cors' is not valid; expected 'true' or 'false'\n" },
	{ "<policies><inbound><cors terminate-unmatched-request=\"1\">" CORS_O "</cors></inbound></policies>", "1:55: Value '1' of attribute 'terminate-unmatched-request' in element 'cors' is not valid; expected 'true' or 'false'\n" },
	{ "<policies><inbound><cors max-age=\"1\">" CORS_O "</cors></inbound></policies>", "1:26: Attribute 'max-age' is not allowed in element 'cors'\n" },
	{ "<policies><inbound><cors>" CORS_O "<allowed-methods preflight-result-max-age=\"-1\"><method>GET</method></allowed-methods></cors></inbound></policies>", "1:138: Value '-1' of attribute 'preflight-result-max-age' in element 'allowed-methods' is not valid; expected a non-negative integer\n" },
	/* origins */
	{ "<policies><inbound><cors><allowed-origins><origin>example.com</origin></allowed-origins></cors></inbound></policies>", "1:51: Value 'example.com' of element 'origin' is not valid; expected '*' or an origin scheme://host[:port]\n" },
	{ "<policies><inbound><cors><allowed-origins><origin>https://a.example:0</origin><origin>https://u@b.example</origin><origin>https://c.example?x</origin></allowed-origins></cors></inbound></policies>", "1:51: Value 'https://a.example:0' of element 'origin' is not valid; expected '*' or an origin scheme://host[:port]\n1:87: Value 'https://u@b.example' of element 'origin' is not valid; expected '*' or an origin scheme://host[:port]\n1:123: Value 'https://c.example?x' of element 'origin' is not valid; expected '*' or an origin scheme://host[:port]\n" },
	{ "<policies><inbound><cors><allowed-origins><origin>*</origin><origin>https://a.example</origin></allowed-origins></cors></inbound></policies>", "1:43: Origin '*' must be the only 'origin' element of 'allowed-origins'\n" },
	{ "<policies><inbound><cors><allowed-origins><origin>@(\"*\")</origin></allowed-origins></cors></inbound></policies>", "1:51: Policy expressions are not allowed in element 'origin'\n" },
	{ "<policies><inbound><cors><allowed-origins><origin/></allowed-origins></cors></inbound></policies>", "1:43: Element 'origin' must have a value\n" },
	{ "<policies><inbound><cors allow-credentials=\"true\"><allowed-origins><origin>*</origin></allowed-origins></cors></inbound></policies>", "1:45: Attribute 'allow-credentials' of element 'cors' cannot be 'true' when an allowed origin is '*'\n" },
	/* methods, headers */
	{ "<policies><inbound><cors>" CORS_O "<allowed-methods><method>GE T</method></allowed-methods></cors></inbound></policies>", "1:120: Value 'GE T' of element 'method' is not valid; expected an HTTP method or '*'\n" },
	{ "<policies><inbound><cors>" CORS_O "<allowed-headers><header>x:y</header></allowed-headers></cors></inbound></policies>", "1:120: Value 'x:y' of element 'header' is not valid; expected a header name or '*'\n" },
	{ "<policies><inbound><cors>" CORS_O "<expose-headers><header>@(\"x\")</header></expose-headers></cors></inbound></policies>", "1:119: Policy expressions are not allowed in element 'header'\n" },
	{ "<policies><inbound><cors>" CORS_O "<allowed-headers><method>GET</method></allowed-headers></cors></inbound></policies>", "1:112: Element 'method' is not allowed in element 'allowed-headers'\n1:95: Element 'allowed-headers' must contain at least one 'header' element\n" },
	/* find-and-replace */
	{ "<policies><inbound><find-and-replace from=\"a\"/></inbound></policies>", "1:20: Element 'find-and-replace' is missing required attribute 'to'\n" },
	{ "<policies><inbound><find-and-replace from=\"\" to=\"b\"/></inbound></policies>", "1:44: Attribute 'from' of element 'find-and-replace' must not be empty\n" },
	{ "<policies><outbound><find-and-replace from=\"a\" to=\"b\" x=\"1\"/></outbound></policies>", "1:55: Attribute 'x' is not allowed in element 'find-and-replace'\n" },
	{ "<policies><outbound><find-and-replace from=\"a\" to=\"b\">text</find-and-replace></outbound></policies>", "1:55: Element 'find-and-replace' must not contain text\n" },
};

static void t_error_table(void **state)
{
	(void)state;
	pt_error_table(cases, sizeof(cases) / sizeof(cases[0]));
}

/* APIM's reference example, verbatim, and the forms users write. */
static void t_accepted(void **state)
{
	(void)state;
	pt_load("<policies><inbound><base/>\n"
		"<cors allow-credentials=\"true\">\n"
		"    <allowed-origins>\n"
		"        <!-- Localhost useful for development -->\n"
		"        <origin>http://localhost:8080/</origin>\n"
		"        <origin>http://example.com/</origin>\n"
		"    </allowed-origins>\n"
		"    <allowed-methods preflight-result-max-age=\"300\">\n"
		"        <method>GET</method>\n"
		"        <method>POST</method>\n"
		"        <method>PATCH</method>\n"
		"        <method>DELETE</method>\n"
		"    </allowed-methods>\n"
		"    <allowed-headers>\n"
		"        <header>x-zumo-installation-id</header>\n"
		"        <header>content-type</header>\n"
		"    </allowed-headers>\n"
		"    <expose-headers>\n"
		"        <header>x-zumo-installation-id</header>\n"
		"    </expose-headers>\n"
		"</cors></inbound></policies>");
	/* Expressions where APIM allows them; '*' everywhere; no allowed-headers. */
	pt_load("<policies><inbound><cors allow-credentials=\"@(false)\" terminate-unmatched-request=\"@(true)\">"
		"<allowed-origins><origin>*</origin></allowed-origins>"
		"<allowed-methods preflight-result-max-age=\"@(60)\"><method>*</method><method>@(\"PUT\")</method></allowed-methods>"
		"<allowed-headers><header>*</header></allowed-headers></cors></inbound></policies>");
	/* Credentials from an expression beside '*': checked at run time. */
	pt_load("<policies><inbound><cors allow-credentials=\"@(true)\"><allowed-origins><origin>*</origin>"
		"</allowed-origins></cors></inbound></policies>");
	/* Nested in choose (actual requests only: a preflight looks at direct children). */
	pt_load("<policies><inbound><choose><when condition=\"true\"><cors>" CORS_O "</cors></when></choose></inbound></policies>");
	/* find-and-replace in every section APIM lists, with expressions. */
	pt_load("<policies><inbound><find-and-replace from=\"a\" to=\"\"/></inbound>"
		"<backend><find-and-replace from=\"@(\"b\")\" to=\"@(\"c\")\"/><forward-request/></backend>"
		"<outbound><find-and-replace from=\"notebook\" to=\"laptop\"/></outbound>"
		"<on-error><find-and-replace from=\"x\" to=\"y\"/></on-error></policies>");
}

/* Once per section counts what fragments bring in, and each section apart. */
static void t_once_per_section(void **state)
{
	(void)state;
	static const struct cg_pol_fragment frags[] = {
		{ CG_STR("c"), CG_STR("<fragment><cors>" CORS_O "</cors></fragment>"), CG_POL_FORMAT_RAWXML },
	};
	struct cg_pol_env env = { .fragments = frags, .num_fragments = 1 };
	pt_expect_errors_env("<policies><inbound><include-fragment fragment-id=\"c\"/><choose><when condition=\"true\">"
			     "<cors>" CORS_O "</cors></when></choose></inbound></policies>",
			     &env, "1:86: Policy 'cors' may appear only once in a section\n");
	const char *diags;
	assert_non_null(pt_load_env("<policies><inbound><include-fragment fragment-id=\"c\"/></inbound>"
				    "<on-error><find-and-replace from=\"a\" to=\"b\"/></on-error></policies>",
				    CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_GLOBAL, &env, &diags));
	pt_expect_errors_env("<policies><on-error><include-fragment fragment-id=\"c\"/></on-error></policies>", &env,
			     "fragment 'c' 1:11: Policy 'cors' is not allowed in the 'on-error' section\n");
}

static void t_origin_parse(void **state)
{
	(void)state;
	struct cg_pol_origin a, b;
	assert_true(cg_pol_origin_parse(CG_STR("https://A.Example"), &a));
	assert_true(cg_pol_origin_parse(CG_STR("HTTPS://a.example:443/"), &b));
	assert_true(cg_pol_origin_eq(&a, &b));
	assert_int_equal(a.port, 443);
	assert_true(cg_pol_origin_parse(CG_STR("http://a.example"), &b));
	assert_int_equal(b.port, 80);
	assert_false(cg_pol_origin_eq(&a, &b)); /* scheme and port differ */
	assert_true(cg_pol_origin_parse(CG_STR("https://a.example:8443"), &b));
	assert_false(cg_pol_origin_eq(&a, &b));
	assert_true(cg_pol_origin_parse(CG_STR("http://[::1]:8080"), &b));
	assert_int_equal(b.port, 8080);
	assert_true(cg_pol_origin_parse(CG_STR("capacitor://localhost"), &b));
	assert_int_equal(b.port, 0);
	static const char *const bad[] = { "", "*", "null", "a.example", "https://", "https://:443",
					   "https://a.example:", "https://a.example:65536", "https://a.example:0",
					   "https://u@a.example", "https://a.example?q", "https://a.example#f",
					   "https://a.example/p?q", "https://[::1", "https://a b", "1http://a" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cg_pol_origin_parse(cg_str_from_c(bad[i]), &a))
			fail_msg("accepted '%s'", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_error_table, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_accepted, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_once_per_section, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_origin_parse, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
