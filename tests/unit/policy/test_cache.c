/* Value cache policies: cache-lookup-value, cache-store-value,
 * cache-remove-value — what loads, and every refusal with its position. */
#include "helpers.h"

#define IN(x) "<policies><inbound>" x "</inbound></policies>"

/* want "" = loads */
static const struct err_case cases[] = {
	/* the forms APIM documents load, in every section */
	{ IN("<cache-lookup-value key=\"@(&quot;token-&quot; + context.Request.Certificate.Thumbprint)\" "
	     "variable-name=\"tok\" default-value=\"none\"/>"), "" },
	{ IN("<cache-store-value key=\"@(&quot;t&quot;)\" value=\"@((string)context.Variables[&quot;tok&quot;])\" "
	     "duration=\"300\" caching-type=\"internal\"/>"), "" },
	{ IN("<cache-remove-value key=\"k\" caching-type=\"prefer-external\" fail-on-cache-removal-error=\"true\"/>"), "" },
	{ "<policies><backend><cache-lookup-value key=\"k\" variable-name=\"v\"/><forward-request/></backend>"
	  "<outbound><cache-store-value key=\"k\" value=\"x\" duration=\"@(60)\"/></outbound>"
	  "<on-error><cache-remove-value key=\"k\"/></on-error></policies>", "" },
	{ IN("<cache-lookup-value key=\"k\" variable-name=\"v\" default-value=\"@(0)\" id=\"look\"/>"), "" },
	/* required attributes */
	{ IN("<cache-lookup-value key=\"k\"/>"),
	  "1:20: Element 'cache-lookup-value' is missing required attribute 'variable-name'\n" },
	{ IN("<cache-lookup-value variable-name=\"v\"/>"),
	  "1:20: Element 'cache-lookup-value' is missing required attribute 'key'\n" },
	{ IN("<cache-store-value key=\"k\" value=\"v\"/>"),
	  "1:20: Element 'cache-store-value' is missing required attribute 'duration'\n" },
	{ IN("<cache-store-value key=\"k\" duration=\"1\"/>"),
	  "1:20: Element 'cache-store-value' is missing required attribute 'value'\n" },
	{ IN("<cache-remove-value/>"), "1:20: Element 'cache-remove-value' is missing required attribute 'key'\n" },
	/* expressions where APIM allows none */
	{ IN("<cache-lookup-value key=\"k\" variable-name=\"@(&quot;v&quot;)\"/>"),
	  "1:63: Policy expressions are not allowed in attribute 'variable-name' of element 'cache-lookup-value'\n" },
	{ IN("<cache-remove-value key=\"k\" caching-type=\"@(&quot;internal&quot;)\"/>"),
	  "1:62: Policy expressions are not allowed in attribute 'caching-type' of element 'cache-remove-value'\n" },
	/* values */
	{ IN("<cache-store-value key=\"k\" value=\"v\" duration=\"0\"/>"),
	  "1:67: Value '0' of attribute 'duration' in element 'cache-store-value' is not valid; expected 1 to 2147483647 seconds\n" },
	{ IN("<cache-store-value key=\"k\" value=\"v\" duration=\"2147483648\"/>"),
	  "1:67: Value '2147483648' of attribute 'duration' in element 'cache-store-value' is not valid; expected 1 to 2147483647 seconds\n" },
	{ IN("<cache-store-value key=\"k\" value=\"v\" duration=\"5m\"/>"),
	  "1:67: Value '5m' of attribute 'duration' in element 'cache-store-value' is not valid; expected a non-negative integer\n" },
	{ IN("<cache-lookup-value key=\"\" variable-name=\"v\"/>"),
	  "1:45: Attribute 'key' of element 'cache-lookup-value' must not be empty\n" },
	{ IN("<cache-lookup-value key=\"k\" variable-name=\"\"/>"),
	  "1:63: Attribute 'variable-name' of element 'cache-lookup-value' must not be empty\n" },
	{ IN("<cache-store-value key=\"\" value=\"v\" duration=\"1\"/>"),
	  "1:44: Attribute 'key' of element 'cache-store-value' must not be empty\n" },
	{ IN("<cache-remove-value key=\"\"/>"), "1:45: Attribute 'key' of element 'cache-remove-value' must not be empty\n" },
	{ IN("<cache-lookup-value key=\"k\" variable-name=\"v\" caching-type=\"redis\"/>"),
	  "1:80: Value 'redis' of attribute 'caching-type' in element 'cache-lookup-value' is not valid; expected one of: internal, external, prefer-external\n" },
	{ IN("<cache-remove-value key=\"k\" fail-on-cache-removal-error=\"1\"/>"),
	  "1:77: Value '1' of attribute 'fail-on-cache-removal-error' in element 'cache-remove-value' is not valid; expected 'true' or 'false'\n" },
	/* no external cache here: refused, never a silent fallback */
	{ IN("<cache-lookup-value key=\"k\" variable-name=\"v\" caching-type=\"external\"/>"),
	  "1:80: Value 'external' of attribute 'caching-type' in element 'cache-lookup-value' needs an external cache, which this gateway does not have; use 'internal' or 'prefer-external' (its built-in cache)\n" },
	{ IN("<cache-store-value key=\"k\" value=\"v\" duration=\"1\" caching-type=\"external\"/>"),
	  "1:84: Value 'external' of attribute 'caching-type' in element 'cache-store-value' needs an external cache, which this gateway does not have; use 'internal' or 'prefer-external' (its built-in cache)\n" },
	{ IN("<cache-remove-value key=\"k\" caching-type=\"external\"/>"),
	  "1:62: Value 'external' of attribute 'caching-type' in element 'cache-remove-value' needs an external cache, which this gateway does not have; use 'internal' or 'prefer-external' (its built-in cache)\n" },
	/* structure */
	{ IN("<cache-lookup-value key=\"k\" variable-name=\"v\" duration=\"1\"/>"),
	  "1:66: Attribute 'duration' is not allowed in element 'cache-lookup-value'\n" },
	{ IN("<cache-remove-value key=\"k\"><value/></cache-remove-value>"),
	  "1:48: Element 'cache-remove-value' must not contain element 'value'\n" },
	{ IN("<cache-store-value key=\"k\" value=\"v\" duration=\"1\">text</cache-store-value>"),
	  "1:70: Element 'cache-store-value' must not contain text\n" },
};

static void t_cache_table(void **state)
{
	(void)state;
	pt_load_table(cases, sizeof(cases) / sizeof(cases[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_cache_table, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
