/* json-to-xml and xml-to-json: every refusal with its message and
 * position, and APIM's documented examples accepted. */
#include "helpers.h"

static const struct err_case cases[] = {
	/* sections: inbound, outbound, on-error (APIM), not backend */
	{ "<policies><backend><json-to-xml apply=\"always\"/></backend></policies>", "1:20: Policy 'json-to-xml' is not allowed in the 'backend' section\n" },
	{ "<policies><backend><xml-to-json kind=\"direct\" apply=\"always\"/></backend></policies>", "1:20: Policy 'xml-to-json' is not allowed in the 'backend' section\n" },
	/* required attributes */
	{ "<policies><inbound><json-to-xml/></inbound></policies>", "1:20: Element 'json-to-xml' is missing required attribute 'apply'\n" },
	{ "<policies><outbound><xml-to-json apply=\"always\"/></outbound></policies>", "1:21: Element 'xml-to-json' is missing required attribute 'kind'\n" },
	{ "<policies><outbound><xml-to-json kind=\"direct\"/></outbound></policies>", "1:21: Element 'xml-to-json' is missing required attribute 'apply'\n" },
	/* values APIM defines, literal */
	{ "<policies><inbound><json-to-xml apply=\"content-type-xml\"/></inbound></policies>", "1:40: Value 'content-type-xml' of attribute 'apply' in element 'json-to-xml' is not valid; expected one of: always, content-type-json\n" },
	{ "<policies><outbound><xml-to-json kind=\"friendly\" apply=\"always\"/></outbound></policies>", "1:40: Value 'friendly' of attribute 'kind' in element 'xml-to-json' is not valid; expected one of: javascript-friendly, direct\n" },
	{ "<policies><outbound><xml-to-json kind=\"direct\" apply=\"content-type-json\"/></outbound></policies>", "1:55: Value 'content-type-json' of attribute 'apply' in element 'xml-to-json' is not valid; expected one of: always, content-type-xml\n" },
	{ "<policies><inbound><json-to-xml apply=\"always\" consider-accept-header=\"yes\"/></inbound></policies>", "1:72: Value 'yes' of attribute 'consider-accept-header' in element 'json-to-xml' is not valid; expected 'true' or 'false'\n" },
	{ "<policies><outbound><xml-to-json kind=\"direct\" apply=\"always\" always-array-child-elements=\"1\"/></outbound></policies>", "1:92: Value '1' of attribute 'always-array-child-elements' in element 'xml-to-json' is not valid; expected 'true' or 'false'\n" },
	{ "<policies><inbound><json-to-xml apply=\"always\" parse-date=\"no\"/></inbound></policies>", "1:60: Value 'no' of attribute 'parse-date' in element 'json-to-xml' is not valid; expected 'true' or 'false'\n" },
	/* parse-date takes no expression (APIM) */
	{ "<policies><inbound><json-to-xml apply=\"always\" parse-date=\"@(true)\"/></inbound></policies>", "1:60: Policy expressions are not allowed in attribute 'parse-date' of element 'json-to-xml'\n" },
	{ "<policies><inbound><json-to-xml apply=\"always\" namespace-separator=\"::\"/></inbound></policies>", "1:69: Attribute 'namespace-separator' of element 'json-to-xml' must be one character\n" },
	{ "<policies><inbound><json-to-xml apply=\"always\" namespace-separator=\"\"/></inbound></policies>", "1:69: Attribute 'namespace-separator' of element 'json-to-xml' must be one character\n" },
	/* the attribute name from an old revision of APIM's page is refused, as APIM does */
	{ "<policies><outbound><xml-to-json kind=\"direct\" apply=\"always\" always-array-children=\"true\"/></outbound></policies>", "1:63: Attribute 'always-array-children' is not allowed in element 'xml-to-json'\n" },
	{ "<policies><outbound><xml-to-json kind=\"direct\" apply=\"always\">x</xml-to-json></outbound></policies>", "1:63: Element 'xml-to-json' must not contain text\n" },
};

static void t_error_table(void **state)
{
	(void)state;
	pt_error_table(cases, sizeof(cases) / sizeof(cases[0]));
}

/* APIM's reference examples, verbatim, and expressions where APIM allows them. */
static void t_accepted(void **state)
{
	(void)state;
	pt_load("<policies>\n<inbound>\n<base />\n</inbound>\n<outbound>\n<base />\n"
		"<json-to-xml apply=\"always\" consider-accept-header=\"false\" parse-date=\"false\" "
		"namespace-separator=\":\" namespace-prefix=\"xmlns\" attribute-block-name=\"#attrs\" />\n"
		"</outbound>\n</policies>");
	pt_load("<policies>\n<inbound>\n<base />\n</inbound>\n<outbound>\n<base />\n"
		"<xml-to-json kind=\"direct\" apply=\"always\" consider-accept-header=\"false\" />\n"
		"</outbound>\n</policies>");
	pt_load("<policies><inbound><json-to-xml apply=\"@(\"always\")\" consider-accept-header=\"@(false)\" "
		"namespace-separator=\"@(\":\")\" namespace-prefix=\"@(\"xmlns\")\" attribute-block-name=\"@(\"a\")\"/>"
		"<xml-to-json kind=\"@(\"direct\")\" apply=\"@(\"content-type-xml\")\" consider-accept-header=\"true\" "
		"always-array-child-elements=\"@(true)\"/></inbound>"
		"<on-error><json-to-xml apply=\"content-type-json\"/><xml-to-json kind=\"javascript-friendly\" "
		"apply=\"always\"/></on-error></policies>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_error_table, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_accepted, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
