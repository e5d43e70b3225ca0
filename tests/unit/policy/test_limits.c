/* Throttling policies: rate-limit, rate-limit-by-key, quota, quota-by-key,
 * limit-concurrency — what loads, and every refusal with its position. */
#include "helpers.h"

struct lcase {
	const char *text;
	const char *want; /* "" = loads */
};

#define IN(x) "<policies><inbound>" x "</inbound></policies>"

static const struct lcase cases[] = {
	/* the forms APIM documents load */
	{ IN("<rate-limit calls=\"20\" renewal-period=\"90\" remaining-calls-variable-name=\"r\" "
	     "retry-after-header-name=\"X-Retry\"/>"), "" },
	/* <api> limits outside a product policy: refused (they limit an API of a product) */
	{ IN("<rate-limit calls=\"20\" renewal-period=\"90\"><api name=\"a\" calls=\"5\" renewal-period=\"10\">"
	     "<operation id=\"o\" calls=\"2\" renewal-period=\"5\"/></api></rate-limit>"),
	  "1:63: Element 'api' in 'rate-limit' is allowed only in a product policy: it limits the calls to one API of the product\n" },
	{ IN("<quota calls=\"20\" renewal-period=\"90\"><api id=\"a\" calls=\"5\"/></quota>"),
	  "1:58: Element 'api' in 'quota' is allowed only in a product policy: it limits the calls to one API of the product\n" },
	{ IN("<rate-limit-by-key calls=\"@(3)\" renewal-period=\"@(60)\" counter-key=\"@(context.Request.IpAddress)\" "
	     "increment-condition=\"@(context.Response.StatusCode == 200)\" increment-count=\"@(2)\" "
	     "remaining-calls-header-name=\"R\" total-calls-header-name=\"T\" retry-after-variable-name=\"v\"/>"), "" },
	{ IN("<quota calls=\"100\" renewal-period=\"3600\"/>"), "" },
	/* forms not run yet: refused when stored */
	{ IN("<quota calls=\"100\" bandwidth=\"400\" renewal-period=\"3600\"/>"),
	  "1:39: Attribute 'bandwidth' of element 'quota' is not run by this gateway yet (call quotas are)\n" },
	{ IN("<quota-by-key bandwidth=\"400\" renewal-period=\"3600\" counter-key=\"k\"/>"),
	  "1:34: Attribute 'bandwidth' of element 'quota-by-key' is not run by this gateway yet (call quotas are)\n" },
	{ IN("<quota-by-key calls=\"10\" renewal-period=\"0\" counter-key=\"k\" first-period-start=\"2024-02-29T10:00:00Z\"/>"), "" },
	{ "<policies><backend><limit-concurrency key=\"@((string)context.Variables[&quot;c&quot;])\" max-count=\"3\">"
	  "<forward-request timeout=\"120\"/></limit-concurrency></backend></policies>", "" },
	{ "<policies><on-error><limit-concurrency key=\"k\" max-count=\"1\"><set-status code=\"500\"/>"
	  "</limit-concurrency></on-error></policies>", "" },
	/* required attributes */
	{ IN("<rate-limit calls=\"1\"/>"), "1:20: Element 'rate-limit' is missing required attribute 'renewal-period'\n" },
	{ IN("<rate-limit-by-key calls=\"1\" renewal-period=\"1\"/>"),
	  "1:20: Element 'rate-limit-by-key' is missing required attribute 'counter-key'\n" },
	{ IN("<quota renewal-period=\"300\"/>"), "1:20: Element 'quota' requires attribute 'calls' or 'bandwidth'\n" },
	{ IN("<quota-by-key renewal-period=\"300\" counter-key=\"k\"/>"),
	  "1:20: Element 'quota-by-key' requires attribute 'calls' or 'bandwidth'\n" },
	{ IN("<limit-concurrency key=\"k\"/>"),
	  "1:20: Element 'limit-concurrency' is missing required attribute 'max-count'\n" },
	/* expressions where APIM allows none */
	{ IN("<rate-limit calls=\"@(1)\" renewal-period=\"1\"/>"),
	  "1:39: Policy expressions are not allowed in attribute 'calls' of element 'rate-limit'\n" },
	{ IN("<rate-limit-by-key calls=\"1\" renewal-period=\"1\" counter-key=\"k\" retry-after-header-name=\"@(&quot;x&quot;)\"/>"),
	  "1:109: Policy expressions are not allowed in attribute 'retry-after-header-name' of element 'rate-limit-by-key'\n" },
	{ IN("<quota-by-key calls=\"@(1)\" renewal-period=\"300\" counter-key=\"k\"/>"),
	  "1:41: Policy expressions are not allowed in attribute 'calls' of element 'quota-by-key'\n" },
	{ IN("<limit-concurrency key=\"k\" max-count=\"@(1)\"/>"),
	  "1:58: Policy expressions are not allowed in attribute 'max-count' of element 'limit-concurrency'\n" },
	/* values */
	{ IN("<rate-limit calls=\"x\" renewal-period=\"1\"/>"),
	  "1:39: Value 'x' of attribute 'calls' in element 'rate-limit' is not valid; expected a non-negative integer\n" },
	{ IN("<rate-limit calls=\"1\" renewal-period=\"301\"/>"),
	  "1:58: Value '301' of attribute 'renewal-period' in element 'rate-limit' is not valid; expected 1 to 300 seconds\n" },
	{ IN("<rate-limit-by-key calls=\"1\" renewal-period=\"0\" counter-key=\"k\"/>"),
	  "1:65: Value '0' of attribute 'renewal-period' in element 'rate-limit-by-key' is not valid; expected 1 to 300 seconds\n" },
	{ IN("<rate-limit-by-key calls=\"1\" renewal-period=\"1\" counter-key=\"k\" increment-condition=\"yes\"/>"),
	  "1:105: Value 'yes' of attribute 'increment-condition' in element 'rate-limit-by-key' is not valid; expected 'true' or 'false'\n" },
	{ IN("<quota-by-key calls=\"1\" renewal-period=\"300\" counter-key=\"k\" first-period-start=\"2023-02-29T00:00:00Z\"/>"),
	  "1:101: Value '2023-02-29T00:00:00Z' of attribute 'first-period-start' in element 'quota-by-key' is not valid; expected yyyy-MM-ddTHH:mm:ssZ\n" },
	{ IN("<limit-concurrency key=\"k\" max-count=\"0\"/>"),
	  "1:58: Value '0' of attribute 'max-count' in element 'limit-concurrency' is not valid; expected at least 1\n" },
	/* structure and sections */
	{ IN("<rate-limit calls=\"1\" renewal-period=\"1\"><api calls=\"1\" renewal-period=\"1\"/></rate-limit>"),
	  "1:61: Element 'api' requires attribute 'name' or 'id'\n"
	  "1:61: Element 'api' in 'rate-limit' is allowed only in a product policy: it limits the calls to one API of the product\n" },
	{ IN("<rate-limit calls=\"1\" renewal-period=\"1\"><operation id=\"o\"/></rate-limit>"),
	  "1:61: Element 'operation' is not allowed in element 'rate-limit'\n" },
	{ IN("<rate-limit-by-key calls=\"1\" renewal-period=\"1\" counter-key=\"k\" bandwidth=\"1\"/>"),
	  "1:84: Attribute 'bandwidth' is not allowed in element 'rate-limit-by-key'\n" },
	{ "<policies><outbound><rate-limit-by-key calls=\"1\" renewal-period=\"1\" counter-key=\"k\"/></outbound></policies>",
	  "1:21: Policy 'rate-limit-by-key' is not allowed in the 'outbound' section\n" },
	{ "<policies><backend><quota calls=\"1\" renewal-period=\"1\"/></backend></policies>",
	  "1:20: Policy 'quota' is not allowed in the 'backend' section\n" },
	{ IN("<api name=\"a\"/>"), "1:20: Element 'api' is not allowed here\n" },
	/* limit-concurrency's children follow their section's rules */
	{ "<policies><outbound><limit-concurrency key=\"k\" max-count=\"2\"><rate-limit calls=\"1\" renewal-period=\"1\"/>"
	  "</limit-concurrency></outbound></policies>",
	  "1:62: Policy 'rate-limit' is not allowed in the 'outbound' section\n" },
	{ IN("<limit-concurrency key=\"k\" max-count=\"2\"><base/></limit-concurrency>"),
	  "1:61: Element 'base' is allowed only directly inside a section\n" },
};

/* <api>/<operation> limits in a product policy (APIM's product scope). */
#define RL "<rate-limit calls=\"100\" renewal-period=\"60\">" /* columns 20-63 */
#define QU "<quota calls=\"100\" renewal-period=\"3600\">"    /* columns 20-60 */

static const struct lcase product_cases[] = {
	/* the forms APIM documents load */
	{ IN(RL "<api name=\"orders\" calls=\"20\" renewal-period=\"60\">"
	     "<operation name=\"create\" calls=\"5\" renewal-period=\"60\" /></api></rate-limit>"), "" },
	{ IN(RL "<api id=\"orders\" name=\"ignored\" calls=\"20\" renewal-period=\"60\"/>"
	     "<api name=\"Orders\" calls=\"10\" renewal-period=\"30\"><operation id=\"create\" calls=\"1\" "
	     "renewal-period=\"1\"/><operation name=\"create\" calls=\"2\" renewal-period=\"1\"/></api></rate-limit>"), "" },
	/* quota: an <api>/<operation> without renewal-period takes the quota's */
	{ IN(QU "<api name=\"orders\" calls=\"50\"><operation id=\"create\" calls=\"10\"/></api></quota>"), "" },
	{ IN(QU "<api name=\"orders\" calls=\"50\" renewal-period=\"0\"/></quota>"), "" },
	/* what identifies the API or operation */
	{ IN(RL "<api calls=\"1\" renewal-period=\"1\"/></rate-limit>"),
	  "1:64: Element 'api' requires attribute 'name' or 'id'\n" },
	{ IN(RL "<api name=\"a\" calls=\"1\" renewal-period=\"1\"><operation calls=\"1\" renewal-period=\"1\"/></api></rate-limit>"),
	  "1:107: Element 'operation' requires attribute 'name' or 'id'\n" },
	{ IN(RL "<api name=\" \" calls=\"1\" renewal-period=\"1\"/></rate-limit>"),
	  "1:75: Attribute 'name' of element 'api' must not be empty\n" },
	{ IN(RL "<api name=\"a\" id=\"\" calls=\"1\" renewal-period=\"1\"/></rate-limit>"),
	  "1:82: Attribute 'id' of element 'api' must not be empty\n" },
	{ IN(RL "<api name=\"orders\" calls=\"1\" renewal-period=\"1\"/><api name=\"ORDERS\" calls=\"2\" "
	     "renewal-period=\"1\"/></rate-limit>"),
	  "1:113: Element 'api' with name 'ORDERS' appears more than once in 'rate-limit'\n" },
	{ IN(QU "<api id=\"a\" calls=\"1\"><operation id=\"x\" calls=\"1\"/><operation id=\"x\" calls=\"2\"/>"
	     "</api></quota>"),
	  "1:112: Element 'operation' with id 'x' appears more than once in 'api'\n" },
	{ IN(RL "<operation id=\"o\" calls=\"1\" renewal-period=\"1\"/></rate-limit>"),
	  "1:64: Element 'operation' is not allowed in element 'rate-limit'\n" },
	{ IN(RL "<api id=\"a\" calls=\"1\" renewal-period=\"1\"><api id=\"b\"/></api></rate-limit>"),
	  "1:105: Element 'api' is not allowed in element 'api'\n" },
	{ IN(RL "<api id=\"a\" calls=\"1\" renewal-period=\"1\"><operation id=\"b\" calls=\"1\" renewal-period=\"1\">"
	     "<operation id=\"c\"/></operation></api></rate-limit>"),
	  "1:152: Element 'operation' must not contain element 'operation'\n" },
	/* rate-limit's <api>/<operation>: calls and renewal-period (1-300 s), no bandwidth */
	{ IN(RL "<api id=\"a\" renewal-period=\"1\"/></rate-limit>"),
	  "1:64: Element 'api' is missing required attribute 'calls'\n" },
	{ IN(RL "<api id=\"a\" calls=\"1\"><operation id=\"o\" calls=\"1\"/></api></rate-limit>"),
	  "1:64: Element 'api' is missing required attribute 'renewal-period'\n"
	  "1:86: Element 'operation' is missing required attribute 'renewal-period'\n" },
	{ IN(RL "<api id=\"a\" calls=\"1\" renewal-period=\"301\"/></rate-limit>"),
	  "1:102: Value '301' of attribute 'renewal-period' in element 'api' is not valid; expected 1 to 300 seconds\n" },
	{ IN(RL "<api id=\"a\" calls=\"1\" renewal-period=\"1\"><operation id=\"o\" calls=\"1\" "
	     "renewal-period=\"0\"/></api></rate-limit>"),
	  "1:149: Value '0' of attribute 'renewal-period' in element 'operation' is not valid; expected 1 to 300 seconds\n" },
	{ IN(RL "<api id=\"a\" calls=\"1\" renewal-period=\"1\" bandwidth=\"5\"/></rate-limit>"),
	  "1:105: Attribute 'bandwidth' is not allowed in element 'api' of 'rate-limit'\n" },
	{ IN(RL "<api id=\"a\" calls=\"x\" renewal-period=\"1\"/></rate-limit>"),
	  "1:83: Value 'x' of attribute 'calls' in element 'api' is not valid; expected a non-negative integer\n" },
	{ IN(RL "<api id=\"a\" calls=\"@(1)\" renewal-period=\"1\"/></rate-limit>"),
	  "1:83: Policy expressions are not allowed in attribute 'calls' of element 'api'\n" },
	{ IN(RL "<api id=\"a\" calls=\"1\" renewal-period=\"1\" counter-key=\"k\"/></rate-limit>"),
	  "1:105: Attribute 'counter-key' is not allowed in element 'api'\n" },
	/* quota's: calls (bandwidth is not run yet) */
	{ IN(QU "<api id=\"a\"/></quota>"), "1:61: Element 'api' requires attribute 'calls' or 'bandwidth'\n" },
	{ IN(QU "<api id=\"a\" calls=\"1\"><operation id=\"o\" bandwidth=\"10\"/></api></quota>"),
	  "1:101: Attribute 'bandwidth' of element 'operation' is not run by this gateway yet (call quotas are)\n" },
	/* the -by-key forms have no <api> children (APIM) */
	{ IN("<rate-limit-by-key calls=\"1\" renewal-period=\"1\" counter-key=\"k\"><api id=\"a\"/></rate-limit-by-key>"),
	  "1:84: Element 'rate-limit-by-key' must not contain element 'api'\n" },
};

static int run_table(const struct lcase *tab, size_t n, enum cg_pol_scope scope)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		const char *diags;
		struct cg_pol_doc *doc = pt_load_env(tab[i].text, CG_POL_FORMAT_RAWXML, scope, NULL, &diags);
		if ((doc != NULL) != (tab[i].want[0] == '\0') || strcmp(diags, tab[i].want) != 0) {
			print_error("case %zu: %s\nwant: %sgot:  %s\n", i, tab[i].text, tab[i].want, diags);
			bad++;
		}
	}
	return bad;
}

static void t_limit_table(void **state)
{
	(void)state;
	assert_int_equal(run_table(cases, sizeof(cases) / sizeof(cases[0]), CG_POL_SCOPE_GLOBAL), 0);
}

static void t_product_limit_table(void **state)
{
	(void)state;
	assert_int_equal(run_table(product_cases, sizeof(product_cases) / sizeof(product_cases[0]),
				   CG_POL_SCOPE_PRODUCT), 0);
}

/* Only a product policy runs them: API and operation scopes refuse them
 * too, and so does a document that includes them from a fragment (the
 * error points into the fragment); the fragment alone loads (its scope is
 * the including document's). */
static void t_api_limits_scopes(void **state)
{
	(void)state;
	static const char *const want =
		"1:64: Element 'api' in 'rate-limit' is allowed only in a product policy: it limits the calls to one "
		"API of the product\n";
	const char *text = IN(RL "<api name=\"a\" calls=\"1\" renewal-period=\"1\"/></rate-limit>");
	const char *diags;
	assert_null(pt_load_env(text, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, NULL, &diags));
	assert_string_equal(diags, want);
	assert_null(pt_load_env(text, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_OPERATION, NULL, &diags));
	assert_string_equal(diags, want);
	assert_non_null(pt_load_env(text, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_PRODUCT, NULL, &diags));
	assert_string_equal(diags, "");

	static const struct cg_pol_fragment frag = {
		CG_STR("limits"),
		CG_STR("<fragment>\n  <quota calls=\"5\" renewal-period=\"0\">\n    <api id=\"a\" calls=\"2\" />\n"
		       "  </quota>\n</fragment>"),
		CG_POL_FORMAT_RAWXML
	};
	struct cg_pol_env env = { .fragments = &frag, .num_fragments = 1 };
	const char *inc = IN("<include-fragment fragment-id=\"limits\"/>");
	assert_null(pt_load_env(inc, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, &env, &diags));
	assert_string_equal(diags, "fragment 'limits' 3:5: Element 'api' in 'quota' is allowed only in a product policy: "
				   "it limits the calls to one API of the product\n");
	assert_non_null(pt_load_env(inc, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_PRODUCT, &env, &diags));
	struct cg_pol_diags d;
	struct cg_pol_doc *doc;
	cg_pol_diags_init(&d, &pt_arena);
	assert_int_equal(cg_pol_load_fragment(&pt_arena, frag.id, frag.text, frag.format, NULL, &d, &doc), 0);
	assert_int_equal(d.num_errors, 0);
}

/* increment-condition and increment-count run at the end of outbound
 * (APIM), so they compile as outbound expressions; the others inbound. */
static char sections[256];

static int fake_compile(void *ud, struct cg_str code, int is_block, int line, int col, const char *section,
			void **out, char *msg, size_t msglen)
{
	(void)ud, (void)code, (void)is_block, (void)line, (void)col, (void)msg, (void)msglen;
	size_t l = strlen(sections);
	snprintf(sections + l, sizeof(sections) - l, "%s,", section);
	*out = NULL;
	return 0;
}

static void t_deferred_sections(void **state)
{
	(void)state;
	struct cg_pol_env env = { 0 };
	env.compile = fake_compile;
	sections[0] = '\0';
	const char *diags;
	assert_non_null(pt_load_env(IN("<rate-limit-by-key calls=\"@(1)\" renewal-period=\"1\" counter-key=\"@(1)\" "
				       "increment-condition=\"@(true)\" increment-count=\"@(1)\"/>"
				       "<quota-by-key calls=\"1\" renewal-period=\"0\" counter-key=\"@(1)\" "
				       "increment-condition=\"@(true)\"/>"),
				    CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_GLOBAL, &env, &diags));
	assert_string_equal(sections, "inbound,inbound,outbound,outbound,inbound,outbound,");
}

static void t_parse_utc(void **state)
{
	(void)state;
	int64_t t;
	assert_int_equal(cg_pol_parse_utc(CG_STR("1970-01-01T00:00:00Z"), &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(cg_pol_parse_utc(CG_STR("2024-02-29T12:34:56Z"), &t), 0);
	assert_int_equal(t, 1709210096);
	assert_int_equal(cg_pol_parse_utc(CG_STR("0001-01-01T00:00:00Z"), &t), 0);
	assert_int_equal(t, -62135596800LL);
	assert_int_equal(cg_pol_parse_utc(CG_STR("2024-13-01T00:00:00Z"), &t), -1);
	assert_int_equal(cg_pol_parse_utc(CG_STR("2024-01-01T00:00:00"), &t), -1);
	assert_int_equal(cg_pol_parse_utc(CG_STR("2024-01-01 00:00:00Z"), &t), -1);
	assert_int_equal(cg_pol_parse_utc(CG_STR("2024-01-01T24:00:00Z"), &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_limit_table, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_product_limit_table, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_api_limits_scopes, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_deferred_sections, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_parse_utc, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
