/* validate-jwt and authentication-basic when a document is stored: every
 * refusal with its exact message and position, and what loads. */
#include "helpers.h"

#define IN(x) "<policies><inbound>" x "</inbound></policies>"
/* A 2048-bit RSA modulus (base64url), as an n/e key carries it. */
#define N2048 "t4zSproKeRUwAIk53Q0X5B74DLWZNNUlB_IByht_auSzlTDT-WxixNvymXCyuTK5nyn-E67K1RhpIe92ofOdIAZlRLoBOajQVviHhmGghLdmO3durRAfLhkZZSmfAZmd8sqWG85mtXXk_5WCPk_Z5CstsLYhQyMpfEo6MTxl3KXDHrhmeKkaE9vSCGV078RjqXOdeBnqAKArEZ8d_A7N1RF5zDsKt0aUGGCkSiyTV2IY_54y1a_LrguuniWmXs_X-F0j1wJS886mPAdUlxluEGKDicFGzn2xooGw58FTLoikBmUmaUM-SQiseoc_sBN0n19YYCpxjl8lY_RfECfd5w"

static const struct err_case cases[] = {
	{ IN("<validate-jwt/>"),
	  "1:20: Element 'validate-jwt' requires exactly one of attributes 'header-name', 'query-parameter-name' or 'token-value'\n" },
	{ IN("<validate-jwt header-name=\"a\" query-parameter-name=\"b\"/>"),
	  "1:20: Element 'validate-jwt' requires exactly one of attributes 'header-name', 'query-parameter-name' or 'token-value'\n" },
	{ IN("<validate-jwt header-name=\"a\" failed-validation-httpcode=\"99\"/>"),
	  "1:78: Value '99' of attribute 'failed-validation-httpcode' in element 'validate-jwt' is not valid; expected an HTTP status code (100 to 599)\n" },
	{ IN("<validate-jwt header-name=\"a\" failed-validation-httpcode=\"x\"/>"),
	  "1:78: Value 'x' of attribute 'failed-validation-httpcode' in element 'validate-jwt' is not valid; expected a non-negative integer\n" },
	{ IN("<validate-jwt header-name=\"a\" require-expiration-time=\"no\"/>"),
	  "1:75: Value 'no' of attribute 'require-expiration-time' in element 'validate-jwt' is not valid; expected 'true' or 'false'\n" },
	{ IN("<validate-jwt header-name=\"a\" clock-skew=\"-1\"/>"),
	  "1:62: Value '-1' of attribute 'clock-skew' in element 'validate-jwt' is not valid; expected a non-negative integer\n" },
	{ IN("<validate-jwt header-name=\"a\" output-token-variable-name=\"@(&quot;v&quot;)\"/>"),
	  "1:78: Policy expressions are not allowed in attribute 'output-token-variable-name' of element 'validate-jwt'\n" },
	{ IN("<validate-jwt header-name=\"a\" foo=\"1\"/>"),
	  "1:50: Attribute 'foo' is not allowed in element 'validate-jwt'\n" },
	{ IN("<validate-jwt header-name=\"a\"><decryption-keys><key certificate-id=\"c\"/></decryption-keys></validate-jwt>"),
	  "1:50: Element 'decryption-keys' of 'validate-jwt' is not run by this gateway yet (encrypted tokens are not supported)\n" },
	{ IN("<validate-jwt header-name=\"a\"><openid-config url=\"http://idp/.well-known/openid-configuration\"/></validate-jwt>"),
	  "1:70: Value 'http://idp/.well-known/openid-configuration' of attribute 'url' in element 'openid-config' is not valid; expected an https:// URL\n" },
	{ IN("<validate-jwt header-name=\"a\"><openid-config url=\"@(1)\"/></validate-jwt>"),
	  "1:70: Policy expressions are not allowed in attribute 'url' of element 'openid-config'\n" },
	{ IN("<validate-jwt header-name=\"a\"><openid-config url=\"https://a\"/><openid-config url=\"https://b\"/>"
	     "<openid-config url=\"https://c\"/><openid-config url=\"https://d\"/><openid-config url=\"https://e\"/></validate-jwt>"),
	  "1:20: Element 'validate-jwt' may contain at most 4 'openid-config' elements\n" },
	{ IN("<validate-jwt header-name=\"a\"><signing-keys/></validate-jwt>"),
	  "1:50: Element 'signing-keys' is not allowed in element 'validate-jwt'\n" },
	{ IN("<validate-jwt header-name=\"a\"><audiences/></validate-jwt>"),
	  "1:50: Element 'audiences' must contain at least one 'audience' element\n" },
	{ IN("<validate-jwt header-name=\"a\"><audiences><audience/></audiences></validate-jwt>"),
	  "1:61: Element 'audience' must have a value\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuers><issuer>x</issuer></issuers><issuers><issuer>y</issuer></issuers></validate-jwt>"),
	  "1:20: Element 'validate-jwt' may contain only one 'issuers' element\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuer-signing-keys/></validate-jwt>"),
	  "1:50: Element 'issuer-signing-keys' must contain at least one 'key' element\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuer-signing-keys><key>not base64!</key></issuer-signing-keys></validate-jwt>"),
	  "1:76: Value of element 'key' is not valid base64\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuer-signing-keys><key>c2hvcnQ=</key></issuer-signing-keys></validate-jwt>"),
	  "1:76: Element 'key' holds 5 bytes; a symmetric signing key needs at least 16 bytes (128 bits)\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuer-signing-keys><key>\n  c2hv\n  cnQ=\n</key></issuer-signing-keys></validate-jwt>"),
	  "2:3: Element 'key' holds 5 bytes; a symmetric signing key needs at least 16 bytes (128 bits)\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuer-signing-keys><key>c2VjcmV0LXNl\n-Y3JldC1zZWNyZXQtc2VjcmV0</key></issuer-signing-keys></validate-jwt>"),
	  "1:76: Value of element 'key' is not valid base64\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuer-signing-keys><key>@(&quot;k&quot;)</key></issuer-signing-keys></validate-jwt>"),
	  "1:76: Policy expressions are not allowed in element 'key'\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuer-signing-keys><key/></issuer-signing-keys></validate-jwt>"),
	  "1:71: Element 'key' requires exactly one of: a base64 value, attributes 'n' and 'e', or attribute 'certificate-id'\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuer-signing-keys><key certificate-id=\"c\" e=\"AQAB\"/></issuer-signing-keys></validate-jwt>"),
	  "1:71: Element 'key' requires exactly one of: a base64 value, attributes 'n' and 'e', or attribute 'certificate-id'\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuer-signing-keys><key e=\"AQAB\"/></issuer-signing-keys></validate-jwt>"),
	  "1:71: Element 'key' requires both attributes 'n' and 'e'\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuer-signing-keys><key n=\"AQAB\" e=\"AQAB\"/></issuer-signing-keys></validate-jwt>"),
	  "1:79: RSA modulus 'n' of element 'key' has 17 bits; at least 2048 are needed\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuer-signing-keys><key n=\"" N2048 "\" e=\"+/\"/></issuer-signing-keys></validate-jwt>"),
	  "1:426: Value of attribute 'e' in element 'key' is not a valid base64url RSA exponent\n" },
	{ IN("<validate-jwt header-name=\"a\"><issuer-signing-keys><key n=\"@(1)\" e=\"AQAB\"/></issuer-signing-keys></validate-jwt>"),
	  "1:79: Policy expressions are not allowed in attribute 'n' of element 'key'\n" },
	{ IN("<validate-jwt header-name=\"a\"><required-claims><claim match=\"all\"/></required-claims></validate-jwt>"),
	  "1:67: Element 'claim' is missing required attribute 'name'\n" },
	{ IN("<validate-jwt header-name=\"a\"><required-claims><claim name=\"g\" match=\"some\"/></required-claims></validate-jwt>"),
	  "1:90: Value 'some' of attribute 'match' in element 'claim' is not valid; expected one of: all, any\n" },
	{ IN("<validate-jwt header-name=\"a\"><required-claims><claim name=\"g\" separator=\"\"/></required-claims></validate-jwt>"),
	  "1:94: Attribute 'separator' of element 'claim' must not be empty\n" },
	{ IN("<validate-jwt header-name=\"a\"><required-claims><claim name=\"g\"><v>x</v></claim></required-claims></validate-jwt>"),
	  "1:83: Element 'v' is not allowed in element 'claim'\n" },
	{ "<policies><outbound><validate-jwt header-name=\"a\"/></outbound></policies>",
	  "1:21: Policy 'validate-jwt' is not allowed in the 'outbound' section\n" },
	{ "<policies><on-error><authentication-basic username=\"u\" password=\"p\"/></on-error></policies>",
	  "1:21: Policy 'authentication-basic' is not allowed in the 'on-error' section\n" },
	{ IN("<authentication-basic username=\"u\"/>"),
	  "1:20: Element 'authentication-basic' is missing required attribute 'password'\n" },
	{ IN("<authentication-basic username=\"u\" password=\"p\" realm=\"r\"/>"),
	  "1:68: Attribute 'realm' is not allowed in element 'authentication-basic'\n" },
};

static void t_error_table(void **state)
{
	(void)state;
	pt_error_table(cases, sizeof(cases) / sizeof(cases[0]));
}

/* APIM's documented forms load, expressions where APIM allows them. */
static void t_accepted(void **state)
{
	(void)state;
	pt_load(IN("<validate-jwt header-name=\"Authorization\" require-scheme=\"Bearer\" failed-validation-httpcode=\"403\""
		   " failed-validation-error-message=\"@(&quot;no&quot;)\" require-expiration-time=\"false\""
		   " require-signed-tokens=\"@(true)\" clock-skew=\"30\" output-token-variable-name=\"jwt\" id=\"j\">"
		   "<issuer-signing-keys><key id=\"k1\">c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0</key>"
		   "<key id=\"k2\">\n      c2VjcmV0LXNl\r\n      Y3JldC1zZWNyZXQtc2VjcmV0\n    </key>"
		   "<key n=\"" N2048 "\" e=\"AQAB\"/><key certificate-id=\"my-rsa-cert\"/></issuer-signing-keys>"
		   "<audiences><audience>@(context.Request.OriginalUrl.Host)</audience><audience>api://x</audience></audiences>"
		   "<issuers><issuer>http://contoso.com/</issuer></issuers>"
		   "<openid-config url=\"https://login.example/v2.0/.well-known/openid-configuration\" validate-connectivity=\"false\"/>"
		   "<required-claims><claim name=\"group\" match=\"any\" separator=\",\"><value>finance</value>"
		   "<value>@(&quot;logistics&quot;)</value></claim><claim name=\"sub\"/></required-claims>"
		   "</validate-jwt><authentication-basic username=\"@(&quot;u&quot;)\" password=\"p\"/>"));
}

/* require-scheme on another header loads, with APIM's rule as a warning. */
static void t_scheme_warning(void **state)
{
	(void)state;
	struct cg_pol_diags d;
	struct cg_pol_doc *doc = NULL;
	cg_pol_diags_init(&d, &pt_arena);
	assert_int_equal(cg_pol_load(&pt_arena, CG_STR(IN("<validate-jwt header-name=\"X-Token\" require-scheme=\"Bearer\"/>")),
				     CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_GLOBAL, NULL, &d, &doc),
			 0);
	assert_string_equal(pt_diags_filtered(&d, 1),
			    "1:56: warning: Attribute 'require-scheme' of element 'validate-jwt' is ignored: the scheme is checked only when header-name is 'Authorization'\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_error_table, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_accepted, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_scheme_warning, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
