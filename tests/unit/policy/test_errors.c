/* Every bad-input path of the loader: exact message and original position. */
#include "helpers.h"

static const struct err_case cases[] = {
	{ "<policies><inbound><foo/></inbound></policies>",
	  "1:20: Unknown policy 'foo': policies this gateway does not implement are refused, not skipped\n" },
	{ "<policies><inbound/><inbound/></policies>",
	  "1:21: Section 'inbound' appears more than once\n" },
	{ "<policies><inbound></policies>",
	  "1:31: The policy XML is not well-formed: Opening and ending tag mismatch: inbound line 1 and policies\n" },
	{ "<policies><on-error><forward-request/></on-error></policies>",
	  "1:21: Policy 'forward-request' is not allowed in the 'on-error' section\n" },
	{ "<policies><backend><forward-request/><forward-request/></backend></policies>",
	  "1:38: Only one 'forward-request' policy is allowed in a policy document\n" },
	{ "<policies><inbound><choose></choose></inbound></policies>",
	  "1:20: Element 'choose' must contain at least one 'when' element\n" },
	{ "<policies><inbound><choose><when><set-status code=\"200\"/></when></choose></inbound></policies>",
	  "1:28: Element 'when' is missing required attribute 'condition'\n" },
	{ "<policies><inbound><set-variable name=\"@(1)\" value=\"1\"/></inbound></policies>",
	  "1:40: Policy expressions are not allowed in attribute 'name' of element 'set-variable'\n" },
	{ "<policies><inbound><set-header name=\"x\" exists-action=\"replace\"/></inbound></policies>",
	  "1:56: Value 'replace' of attribute 'exists-action' in element 'set-header' is not valid; expected one of: override, skip, append, delete\n" },
	{ "<policies><inbound><return-response><set-body>x</set-body><set-status code=\"1\"/></return-response></inbound></policies>",
	  "1:59: Elements of 'return-response' must appear in the order set-status, set-header, set-body\n" },
	{ "<!DOCTYPE x [<!ENTITY a \"b\">]><policies/>",
	  "1:1: For security reasons DTD is prohibited in this XML document\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"@(\"unterminated)\"/></inbound></policies>",
	  "1:51: Expression is not terminated: missing ')'\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"@(a) b\"/></inbound></policies>",
	  "1:54: Unexpected text after the expression; an expression must be the whole attribute value\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"@(a))\"/></inbound></policies>",
	  "1:54: Unexpected text after the expression; an expression must be the whole attribute value\n" },
	{ "<policies><inbound><set-body>@{ return 1; </set-body></inbound></policies>",
	  "1:31: Expression is not terminated: missing '}'\n" },
	{ "<fragment/>",
	  "1:1: The root element of a policy document must be 'policies', not 'fragment'\n" },
	{ "<policies><inbound><base/><base/></inbound></policies>",
	  "1:27: Element 'base' may appear only once in a section\n" },
	{ "<policies><inbound><choose><when condition=\"true\"><base/></when></choose></inbound></policies>",
	  "1:51: Element 'base' is allowed only directly inside a section\n" },
	{ "<policies><inbound><mock-response status-code=\"@(200)\"/></inbound></policies>",
	  "1:48: Policy expressions are not allowed in attribute 'status-code' of element 'mock-response'\n" },
	{ "<policies><inbound><validate-client-certificate validate-trust=\"yes\"><identities><identity issuer-certificate-id=\"a\" issuer-thumbprint=\"b\"/><identity/></identities></validate-client-certificate></inbound></policies>",
	  "1:65: Value 'yes' of attribute 'validate-trust' in element 'validate-client-certificate' is not valid; expected 'true' or 'false'\n1:92: Attribute 'issuer-certificate-id' of element 'identity' cannot be combined with 'issuer-subject' or 'issuer-thumbprint'\n1:141: Element 'identity' must specify at least one claim\n" },
	{ "<policies><inbound><authentication-certificate thumbprint=\"a\" certificate-id=\"b\" password=\"x\"/></inbound></policies>",
	  "1:20: Element 'authentication-certificate' requires exactly one of attributes 'thumbprint', 'certificate-id' or 'body'\n1:82: Attribute 'password' of element 'authentication-certificate' requires attribute 'body'\n" },
	{ "<policies><inbound><set-backend-service/></inbound></policies>",
	  "1:20: Element 'set-backend-service' requires attribute 'base-url' or 'backend-id'\n" },
	{ "<policies><x:inbound xmlns:x=\"urn:x\"/></policies>",
	  "1:11: XML namespaces are not supported in policy documents (element 'inbound')\n" },
	{ "<policies><inbound><set-status code=\"200\">text</set-status></inbound></policies>",
	  "1:43: Element 'set-status' must not contain text\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"{{missing}}\"/></inbound></policies>",
	  "1:50: Named value 'missing' could not be found\n" },
	{ "<policies><inbound><include-fragment fragment-id=\"nope\"/></inbound></policies>",
	  "1:51: Policy fragment 'nope' was not found\n" },
	{ "<policies><outbound><rewrite-uri template=\"/x\"/></outbound></policies>",
	  "1:21: Policy 'rewrite-uri' is not allowed in the 'outbound' section\n" },
	{ "<policies><inbound a=\"1\"></inbound></policies>",
	  "1:20: Attribute 'a' is not allowed in element 'inbound'\n" },
	{ "<policies><inbound><check-header name=\"x\"/></inbound></policies>",
	  "1:20: Element 'check-header' is missing required attribute 'failed-check-httpcode'\n1:20: Element 'check-header' is missing required attribute 'failed-check-error-message'\n1:20: Element 'check-header' is missing required attribute 'ignore-case'\n" },
	{ "<policies><inbound><ip-filter action=\"allow\"/></inbound></policies>",
	  "1:20: Element 'ip-filter' must contain at least one 'address' or 'address-range' element\n" },
	{ "<policies><inbound><trace source=\"x\"/></inbound></policies>",
	  "1:20: Element 'trace' must contain exactly one 'message' element\n" },
	{ "<policies><inbound><set-method/></inbound></policies>",
	  "1:20: Element 'set-method' must have a value\n" },
	{ "<policies><inbound><set-header name=\"x\"><foo/></set-header></inbound></policies>",
	  "1:41: Element 'foo' is not allowed in element 'set-header'\n" },
	{ "<policies><inbound><choose><otherwise/><when condition=\"true\"/></choose></inbound></policies>",
	  "1:40: Element 'otherwise' must be the last element of 'choose'\n" },
	{ "<policies><inbound><set-query-parameter name=\"q\"/></inbound></policies>",
	  "1:20: Element 'set-query-parameter' must contain at least one 'value' element\n" },
	{ "<policies>&amp;</policies>",
	  "1:11: Element 'policies' must not contain text\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"1\" value=\"2\"/></inbound></policies>",
	  "1:62: The policy XML is not well-formed: Attribute value redefined\n" },
	{ "",
	  "1:1: The policy XML is not well-formed: Document is empty\n" },
	{ "<policies><inbound><set-status code=\"x\"/></inbound></policies>",
	  "1:38: Value 'x' of attribute 'code' in element 'set-status' is not valid; expected a non-negative integer\n" },
	{ "<policies><inbound><set-body>@(a) b</set-body></inbound></policies>",
	  "1:30: Unexpected text after the expression; an expression must be the whole element content\n" },
	/* Errors after an escaped expression still point into the original:
	 * the rawxml escapes of '"' and '<' shift t2 but not the report. */
	{ "<policies><inbound>\n<set-variable name=\"a\" value=\"@(\"<\" + \"&&\")\" /><bogus/>\n</inbound></policies>",
	  "2:48: Unknown policy 'bogus': policies this gateway does not implement are refused, not skipped\n" },
	{ "<policies><inbound>\n<set-variable name=\"a\" value=\"@(\"<\")\" /></inbound>\n<inbound/></policies>",
	  "3:1: Section 'inbound' appears more than once\n" },
	/* libxml2 errors after an escaped span map back too. */
	{ "<policies><inbound>\n<set-variable name=\"a\" value=\"@(\"<<<<\")\" x=1 />\n</inbound></policies>",
	  "2:44: The policy XML is not well-formed: AttValue: \" or ' expected\n" },
	/* All errors of a document are collected, not just the first. */
	{ "<policies>\n<inbound><foo/><set-status/></inbound>\n<on-error><forward-request/></on-error>\n</policies>",
	  "2:10: Unknown policy 'foo': policies this gateway does not implement are refused, not skipped\n"
	  "2:16: Element 'set-status' is missing required attribute 'code'\n"
	  "3:11: Policy 'forward-request' is not allowed in the 'on-error' section\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"@(x[1)\"/></inbound></policies>",
	  "1:55: Unexpected ')' in expression\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"@('x)\"/></inbound></policies>",
	  "1:52: Unterminated character literal in expression\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"@(/* x)\"/></inbound></policies>",
	  "1:52: Unterminated comment in expression\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"@($\"{x\")\"/></inbound></policies>",
	  "1:54: Expression is not terminated: missing '}'\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"@(@\"x)\"/></inbound></policies>",
	  "1:51: Expression is not terminated: missing ')'\n" },
	{ "<policies><inbound><ip-filter action=\"allow\"><address>@(\"1.2.3.4\")</address></ip-filter></inbound></policies>",
	  "1:55: Policy expressions are not allowed in element 'address'\n" },
	{ "<policies><inbound><return-response><set-status code=\"1\"/><set-status code=\"2\"/></return-response></inbound></policies>",
	  "1:59: Element 'return-response' may contain only one 'set-status' element\n" },
	{ "<policies><inbound><choose><when condition=\"true\"/><otherwise/><otherwise/></choose></inbound></policies>",
	  "1:64: Element 'choose' may contain only one 'otherwise' element\n" },
	{ "<policies><inbound><set-backend-service base-url=\"http://a\" backend-id=\"b\"/></inbound></policies>",
	  "1:61: Attributes 'base-url' and 'backend-id' of element 'set-backend-service' cannot be used together\n" },
	{ "<policies><inbound><set-variable id=\"@(1)\" name=\"a\" value=\"1\"/></inbound></policies>",
	  "1:38: Policy expressions are not allowed in attribute 'id' of element 'set-variable'\n" },
	{ "<policies><inbound><when condition=\"true\"/></inbound></policies>",
	  "1:20: Element 'when' is not allowed here\n" },
	{ "<policies><inbound><inbound/></inbound></policies>",
	  "1:20: Element 'inbound' is not allowed here\n" },
	{ "<policies><inbound/><extra/></policies>",
	  "1:21: Element 'extra' is not allowed in 'policies'; expected 'inbound', 'backend', 'outbound' or 'on-error'\n" },
	{ "<policies xmlns=\"urn:x\"/>",
	  "1:1: XML namespaces are not supported in policy documents (element 'policies')\n" },
	{ "<policies><inbound x:a=\"1\"/></policies>",
	  "1:27: The policy XML is not well-formed: Namespace prefix x for a on inbound is not defined\n" },
	{ "<policies><inbound><set-header name=\"x\" exists-action=\"delete\"><value><b/></value></set-header></inbound></policies>",
	  "1:71: Element 'value' must not contain element 'b'\n" },
	{ "<policies><inbound><set-body template=\"razor\">x</set-body></inbound></policies>",
	  "1:40: Value 'razor' of attribute 'template' in element 'set-body' is not valid; expected one of: liquid\n" },
	{ "<policies><inbound><base>x</base></inbound></policies>",
	  "1:26: Element 'base' must not contain text\n" },
	{ "<policies><inbound><validate-client-certificate><identities/><identities/></validate-client-certificate></inbound></policies>",
	  "1:20: Element 'validate-client-certificate' may contain only one 'identities' element\n" },
	{ "<policies><outbound><validate-client-certificate/></outbound></policies>",
	  "1:21: Policy 'validate-client-certificate' is not allowed in the 'outbound' section\n" },
	{ "<policies><inbound><forward-request/></inbound></policies>",
	  "1:20: Policy 'forward-request' is not allowed in the 'inbound' section\n" },
	{ "<policies><inbound><set-status code=\"200\" reason=\"OK\"/><![CDATA[x]]></inbound></policies>",
	  "1:65: Element 'inbound' must not contain text\n" },
	{ "<policies><inbound><?pi x?><!-- c --><unknown-policy/></inbound></policies>",
	  "1:38: Unknown policy 'unknown-policy': policies this gateway does not implement are refused, not skipped\n" },
	{ "<policies><inbound><!ENTITY x \"y\"></inbound></policies>",
	  "1:20: For security reasons DTD is prohibited in this XML document\n" },
	{ "<policies><backend><forward-request timeout=\"10\" timeout-ms=\"500\"/></backend></policies>",
	  "1:50: Attributes 'timeout' and 'timeout-ms' of element 'forward-request' cannot be used together\n" },
	/* A UTF-8 byte order mark takes no column. */
	{ "\xEF\xBB\xBF<policies><inbound><foo/></inbound></policies>",
	  "1:20: Unknown policy 'foo': policies this gateway does not implement are refused, not skipped\n" },
	{ "<policies><inbound><set-body parse-date=\"no\">x</set-body></inbound></policies>",
	  "1:42: Value 'no' of attribute 'parse-date' in element 'set-body' is not valid; expected 'true' or 'false'\n" },
	{ "<policies><inbound xml:lang=\"en\"/></policies>",
	  "1:11: XML namespaces are not supported in policy documents (attribute 'lang')\n" },
	{ "<policies><inbound><set-status code=\"1\"><x/></set-status></inbound></policies>",
	  "1:41: Element 'set-status' must not contain element 'x'\n" },
	{ "<policies a=\"1\"><inbound/></policies>",
	  "1:11: Attribute 'a' is not allowed in element 'policies'\n" },
	{ "<policies><inbound>\n  text\n</inbound></policies>",
	  "2:3: Element 'inbound' must not contain text\n" },
	{ "<policies><inbound><return-response><set-body>a</set-body><set-body>b</set-body></return-response></inbound></policies>",
	  "1:59: Element 'return-response' may contain only one 'set-body' element\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"@(x[1})\"/></inbound></policies>",
	  "1:55: Unexpected '}' in expression\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"@{ return x(]; }\"/></inbound></policies>",
	  "1:62: Unexpected ']' in expression\n" },
	{ "<policies><inbound><set-variable name=\"a\" value=\"@($\"{(\"}\")\"/></inbound></policies>",
	  "1:60: Unterminated string literal in expression\n" },
};

static void t_error_table(void **state)
{
	(void)state;
	pt_error_table(cases, sizeof(cases) / sizeof(cases[0]));
}

/* The same errors in format=xml report the same original positions. */
static void t_xml_format_positions(void **state)
{
	(void)state;
	const char *diags;
	assert_null(pt_load_env("<policies><inbound>\n<set-variable name=\"a\" value=\"@(&quot;&lt;&quot;)\" /><bogus/>\n</inbound></policies>",
				CG_POL_FORMAT_XML, CG_POL_SCOPE_OPERATION, NULL, &diags));
	assert_string_equal(diags, "2:54: Unknown policy 'bogus': policies this gateway does not implement are refused, not skipped\n");
	/* rawxml text is not valid xml: format=xml refuses it. */
	assert_null(pt_load_env("<policies><inbound><set-variable name=\"a\" value=\"@(\"x\")\" /></inbound></policies>",
				CG_POL_FORMAT_XML, CG_POL_SCOPE_OPERATION, NULL, &diags));
	assert_string_equal(diags, "1:53: The policy XML is not well-formed: attributes construct error\n");
	/* Expression checks apply to decoded xml values too. */
	assert_null(pt_load_env("<policies><inbound><set-variable name=\"a\" value=\"@(&quot;x)\" /></inbound></policies>",
				CG_POL_FORMAT_XML, CG_POL_SCOPE_OPERATION, NULL, &diags));
	assert_string_equal(diags, "1:50: Unterminated string literal in expression\n");
}

static void t_nul_byte(void **state)
{
	(void)state;
	struct cg_pol_diags d;
	struct cg_pol_doc *doc;
	cg_pol_diags_init(&d, &pt_arena);
	static const char text[] = "<policies>\n  <inbound/>\0<x";
	assert_int_equal(cg_pol_load(&pt_arena, cg_str_make(text, sizeof(text) - 1), CG_POL_FORMAT_XML, CG_POL_SCOPE_GLOBAL, NULL, &d, &doc), -1);
	assert_string_equal(pt_diags_text(&d), "2:13: The policy XML is not well-formed: NUL character in the text\n");
}

static void t_too_large_after_escaping(void **state)
{
	(void)state;
	/* 400 KB of quotes in an expression comment, brought in by a named
	 * value: fine after substitution (< 1 MB), 2.4 MB once escaped. */
	size_t n = 400 * 1024;
	char *v = cg_arena_alloc(&pt_arena, n);
	memset(v, '\'', n);
	struct cg_pol_named_value q = { CG_STR("q"), { v, n } };
	struct cg_pol_env env = { .named_values = &q, .num_named_values = 1 };
	pt_expect_errors_env("<policies><inbound><set-variable name=\"a\" value=\"@{ /*{{q}}*/ return 1; }\"/></inbound></policies>",
			     &env, "1:1: Policy text is larger than 2097152 bytes after its expressions are escaped\n");
}

/* Out of memory anywhere (a capped arena) refuses the document cleanly:
 * an error is counted even when its message cannot be stored. */
static void t_out_of_memory(void **state)
{
	(void)state;
	static const struct cg_pol_named_value nv = { CG_STR("v"), CG_STR("x") };
	static const struct cg_pol_fragment fr = { CG_STR("f"), CG_STR("<fragment><set-header name=\"a\"><value>@(\"{{v}}\")</value></set-header></fragment>"),
						   CG_POL_FORMAT_RAWXML };
	struct cg_pol_env env = { &nv, 1, &fr, 1, NULL, NULL };
	const char *text = "<policies><inbound><base/><choose><when condition=\"@(context.Request.Certificate == null)\">"
			   "<return-response><set-status code=\"403\" reason=\"{{v}}\" /></return-response></when></choose>"
			   "<include-fragment fragment-id=\"f\"/></inbound><backend><forward-request/></backend></policies>";
	int ok = 0, refused = 0;
	for (size_t cap = 256; cap <= 64 * 1024; cap += 256) {
		struct cg_arena a;
		cg_arena_init(&a, 256, cap);
		struct cg_pol_diags d;
		struct cg_pol_doc *doc = NULL;
		cg_pol_diags_init(&d, &a);
		int r = cg_pol_load(&a, cg_str_from_c(text), CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, &env, &d, &doc);
		if (r == 0) {
			assert_non_null(doc);
			struct cg_pol_effective e;
			if (cg_pol_effective(&a, NULL, doc, NULL, &e) == 0)
				ok++;
		} else {
			assert_null(doc);
			assert_true(d.num_errors > 0);
			for (const struct cg_pol_diag *dg = d.head; dg; dg = dg->next)
				assert_null(strstr(dg->message.ptr, "Internal error"));
			refused++;
		}
		cg_arena_destroy(&a);
	}
	assert_true(ok > 0);
	assert_true(refused > 0);
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = cg_arena_alloc(&pt_arena, hl + ul * n + tl + 1);
	assert_non_null(s);
	memcpy(s, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + n * ul, tail, tl + 1);
	return s;
}

static void t_limit_doc_size(void **state)
{
	(void)state;
	const char *head = "<policies><inbound><set-body>", *tail = "</set-body></inbound></policies>";
	size_t fill = CG_POL_MAX_DOC_BYTES - strlen(head) - strlen(tail);
	const char *diags;
	/* exactly at the limit: accepted */
	assert_non_null(pt_load_env(repeat(head, "x", fill, tail), CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, NULL, &diags));
	assert_null(pt_load_env(repeat(head, "x", fill + 1, tail), CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, NULL, &diags));
	assert_string_equal(diags, "1:1: Policy document is larger than 262144 bytes\n");
}

static void t_limit_depth(void **state)
{
	(void)state;
	/* policies(1) inbound(2) then 15 choose/when pairs = 32 levels. */
	const char *unit = "<choose><when condition=\"true\">";
	const char *close = "</when></choose>";
	const char *diags;
	for (int extra = 0; extra < 2; extra++) {
		size_t n = 15;
		char *open = repeat("<policies><inbound>", unit, n, extra ? "<choose/>" : "");
		char *closes = repeat("", close, n, "</inbound></policies>");
		char *all = cg_arena_printf(&pt_arena, "%s%s", open, closes);
		struct cg_pol_doc *doc = pt_load_env(all, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, NULL, &diags);
		if (!extra) {
			assert_non_null(doc);
		} else {
			assert_null(doc);
			assert_string_equal(diags, "1:485: Elements are nested more than 32 levels deep\n");
		}
	}
}

static void t_limit_elements(void **state)
{
	(void)state;
	const char *diags;
	/* policies + inbound + 4094 = 4096 elements: accepted; one more: refused. */
	assert_non_null(pt_load_env(repeat("<policies><inbound>", "<base/>", 1, repeat("", "<set-status code=\"1\"/>", 4093, "</inbound></policies>")),
				    CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, NULL, &diags));
	assert_null(pt_load_env(repeat("<policies><inbound>", "<set-status code=\"1\"/>", 4095, "</inbound></policies>"),
				CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, NULL, &diags));
	assert_string_equal(diags, "1:90088: Policy document has more than 4096 elements\n");
}

static void t_limit_expr_nesting(void **state)
{
	(void)state;
	const char *diags;
	char *ok = repeat("<policies><inbound><set-variable name=\"a\" value=\"@(", "(", 63,
			  repeat("1", ")", 64, "\"/></inbound></policies>"));
	assert_non_null(pt_load_env(ok, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, NULL, &diags));
	char *bad = repeat("<policies><inbound><set-variable name=\"a\" value=\"@(", "(", 64,
			   repeat("1", ")", 65, "\"/></inbound></policies>"));
	assert_null(pt_load_env(bad, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, NULL, &diags));
	assert_string_equal(diags, "1:115: Expression is nested too deeply\n");
}

static void t_limit_diags(void **state)
{
	(void)state;
	struct cg_pol_diags d;
	cg_pol_diags_init(&d, &pt_arena);
	char *text = repeat("<policies><inbound>", "<x/>", 150, "</inbound></policies>");
	assert_int_equal(cg_pol_check(&pt_arena, cg_str_from_c(text), CG_POL_FORMAT_RAWXML, NULL, &d), 150);
	size_t kept = 0;
	for (const struct cg_pol_diag *dg = d.head; dg; dg = dg->next)
		kept++;
	assert_int_equal(kept, CG_POL_MAX_DIAGS);
	assert_int_equal(d.num_dropped, 50);
}

static void t_check_entry(void **state)
{
	(void)state;
	struct cg_pol_diags d;
	cg_pol_diags_init(&d, &pt_arena);
	assert_int_equal(cg_pol_check(&pt_arena, CG_STR("<policies><inbound><base/></inbound></policies>"), CG_POL_FORMAT_RAWXML, NULL, &d), 0);
	assert_int_equal(cg_pol_check(&pt_arena, CG_STR("<?xml version=\"1.0\"?>\n<!-- f -->\n<fragment><set-status code=\"1\"/></fragment>"),
				      CG_POL_FORMAT_RAWXML, NULL, &d), 0);
	assert_int_equal(cg_pol_check(&pt_arena, CG_STR("<fragment>\n<inbound/><base/></fragment>"), CG_POL_FORMAT_RAWXML, NULL, &d), 2);
	assert_string_equal(pt_diags_text(&d), "2:1: Element 'inbound' is not allowed in a policy fragment\n"
					       "2:11: Element 'base' is not allowed in a policy fragment\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_error_table, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_xml_format_positions, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_nul_byte, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_out_of_memory, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_too_large_after_escaping, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_limit_doc_size, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_limit_depth, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_limit_elements, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_limit_expr_nesting, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_limit_diags, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_check_entry, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
