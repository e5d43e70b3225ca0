/* JSON <-> XML conversion (src/gw/xmljson.c) as data: input, options,
 * exact output; then the refusals with their exact messages and line:col
 * (XXE, billion laughs, nesting, syntax) and the output cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gw/xmljson.h"

#define DECL "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"

static const struct cg_xj_j2x_opts j2x_default = { '_', { "", 0 }, { "", 0 } };
static const struct cg_xj_j2x_opts j2x_soap = { ':', { "xmlns", 5 }, { "#attrs", 6 } };

struct j2x_case {
	const char *json;
	const struct cg_xj_j2x_opts *o;
	const char *xml; /* after the declaration, without the final newline */
};

static const struct j2x_case j2x_cases[] = {
	/* a one-member object: its member is the root */
	{ "{\"a\":{\"b\":\"x\",\"c\":1}}", &j2x_default, "<a><b>x</b><c>1</c></a>" },
	/* several members, a scalar, an array: wrapped in <Document> */
	{ "{\"a\":1,\"b\":2}", &j2x_default, "<Document><a>1</a><b>2</b></Document>" },
	{ "\"hi\"", &j2x_default, "<Document>hi</Document>" },
	{ "[1,{\"x\":true}]", &j2x_default, "<Document><item>1</item><item><x>true</x></item></Document>" },
	/* arrays repeat the element; nested arrays too; empty arrays vanish */
	{ "{\"r\":{\"i\":[1,2,[3]],\"e\":[]}}", &j2x_default, "<r><i>1</i><i>2</i><i>3</i></r>" },
	/* numbers, booleans, null, empty objects and strings */
	{ "{\"r\":{\"n\":-1.5e3,\"f\":0.1,\"big\":9007199254740993,\"t\":true,\"z\":false,\"u\":null,\"o\":{},\"s\":\"\"}}",
	  &j2x_default,
	  "<r><n>-1500</n><f>0.1</f><big>9007199254740993</big><t>true</t><z>false</z><u/><o/><s/></r>" },
	/* attributes (@name), text (#text), CDATA */
	{ "{\"p\":{\"@id\":\"7\",\"@ok\":true,\"#text\":\"hello\",\"k\":null}}", &j2x_default,
	  "<p id=\"7\" ok=\"true\">hello<k/></p>" },
	{ "{\"p\":{\"#cdata-section\":\"a<b\"}}", &j2x_default, "<p><![CDATA[a<b]]></p>" },
	/* escaping and unicode */
	{ "{\"e\":{\"@q\":\"\\\"<&'\",\"#text\":\"<tag> & \\u00e9\\u4e2d\\ud83d\\ude00\"}}", &j2x_default,
	  "<e q=\"&quot;&lt;&amp;'\">&lt;tag&gt; &amp; \xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80</e>" },
	/* names that are not XML names are encoded as .NET's XmlConvert does */
	{ "{\"r\":{\"first name\":1,\"1st\":2,\"a:b\":3,\"caf\xc3\xa9\":4}}", &j2x_default,
	  "<r><first_x0020_name>1</first_x0020_name><_x0031_st>2</_x0031_st><a_x003A_b>3</a_x003A_b>"
	  "<caf\xc3\xa9>4</caf\xc3\xa9></r>" },
	/* non-ASCII: XML name characters pass (U+1F600 is one), others are encoded by code point */
	{ "{\"r\":{\"a\xc3\x97" "b\":1,\"\xf0\x9f\x98\x80\":2}}", &j2x_default,
	  "<r><a_x00D7_b>1</a_x00D7_b><\xf0\x9f\x98\x80>2</\xf0\x9f\x98\x80></r>" },
	/* a namespace URI with '&' and '<' is escaped (libxml2 writes it raw) */
	{ "{\"p:E\":{\"xmlns:p\":\"http://x/?a=1&b=<2>\",\"p:B\":1}}", &j2x_soap,
	  "<p:E xmlns:p=\"http://x/?a=1&amp;b=&lt;2>\"><p:B>1</p:B></p:E>" },
	/* the default separator '_' only splits a declared prefix */
	{ "{\"r\":{\"first_name\":1}}", &j2x_default, "<r><first_name>1</first_name></r>" },
	/* APIM's SOAP example: namespace-prefix, ':' separator, attribute block */
	{ "{\"soapenv:Envelope\":{\"xmlns:soapenv\":\"http://schemas.xmlsoap.org/soap/envelope/\","
	  "\"xmlns:v1\":\"http://localdomain.com/core/v1\",\"soapenv:Header\":{},\"soapenv:Body\":{"
	  "\"v1:QueryList\":{\"#attrs\":{\"queryName\":\"test\"},\"v1:QueryItem\":{\"name\":\"dummy text\"}}}}}",
	  &j2x_soap,
	  "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
	  "xmlns:v1=\"http://localdomain.com/core/v1\"><soapenv:Header/><soapenv:Body>"
	  "<v1:QueryList queryName=\"test\"><v1:QueryItem><name>dummy text</name></v1:QueryItem></v1:QueryList>"
	  "</soapenv:Body></soapenv:Envelope>" },
	/* a default namespace, and a prefixed attribute */
	{ "{\"r\":{\"xmlns\":\"urn:d\",\"xmlns:x\":\"urn:x\",\"@x:a\":\"1\",\"c\":2}}", &j2x_soap,
	  "<r xmlns=\"urn:d\" xmlns:x=\"urn:x\" x:a=\"1\"><c>2</c></r>" },
};

static void test_json_to_xml(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(j2x_cases) / sizeof(j2x_cases[0]); i++) {
		const struct j2x_case *c = &j2x_cases[i];
		struct cg_arena a;
		cg_arena_init(&a, 4096, 0);
		struct cg_str out;
		char err[300] = "", want[2048];
		enum cg_xj_rc rc = cg_xj_json_to_xml(cg_str_from_c(c->json), c->o, 1 << 20, &a, &out, err, sizeof(err));
		if (rc != CG_XJ_OK)
			fail_msg("case %zu: rc %d: %s", i, rc, err);
		snprintf(want, sizeof(want), DECL "%s\n", c->xml);
		if (!cg_str_eq(out, cg_str_from_c(want)))
			fail_msg("case %zu:\n got  %.*s\n want %s", i, (int)out.len, out.ptr, want);
		cg_arena_destroy(&a);
	}
}

static const struct cg_xj_x2j_opts x2j_direct = { CG_XJ_DIRECT, false };
static const struct cg_xj_x2j_opts x2j_js = { CG_XJ_JS_FRIENDLY, false };
static const struct cg_xj_x2j_opts x2j_array = { CG_XJ_DIRECT, true };

struct x2j_case {
	const char *xml;
	const struct cg_xj_x2j_opts *o;
	const char *json;
};

static const struct x2j_case x2j_cases[] = {
	/* the declaration is "?xml" (direct only); the root element is kept */
	{ "<?xml version=\"1.0\" encoding=\"utf-8\"?><a><b>x</b></a>", &x2j_direct,
	  "{\"?xml\":{\"@version\":\"1.0\",\"@encoding\":\"utf-8\"},\"a\":{\"b\":\"x\"}}" },
	{ "<?xml version=\"1.0\" standalone=\"yes\"?><a/>", &x2j_direct,
	  "{\"?xml\":{\"@version\":\"1.0\",\"@standalone\":\"yes\"},\"a\":null}" },
	{ "<?xml version=\"1.0\"?><a><b>x</b></a>", &x2j_js, "{\"a\":{\"b\":\"x\"}}" },
	/* repeated elements become an array at the first one's place; values are strings */
	{ "<r><i>1</i><j/><i>2</i><i>3</i></r>", &x2j_direct, "{\"r\":{\"i\":[\"1\",\"2\",\"3\"],\"j\":null}}" },
	/* always-array-child-elements: a single child is an array too */
	{ "<r><i>1</i><k><m>x</m></k></r>", &x2j_array, "{\"r\":{\"i\":[\"1\"],\"k\":[{\"m\":[\"x\"]}]}}" },
	/* attributes, text beside attributes, mixed content, CDATA, comments */
	{ "<p id=\"7\">hi</p>", &x2j_direct, "{\"p\":{\"@id\":\"7\",\"#text\":\"hi\"}}" },
	{ "<p>a<b>x</b>c</p>", &x2j_direct, "{\"p\":{\"#text\":[\"a\",\"c\"],\"b\":\"x\"}}" },
	{ "<p><![CDATA[<raw>]]></p>", &x2j_direct, "{\"p\":\"<raw>\"}" },
	{ "<p><!--c--><q/></p>", &x2j_direct, "{\"p\":{\"#comment\":\"c\",\"q\":null}}" },
	/* whitespace between elements is dropped; empty elements are null */
	{ "<r>\n  <a> </a>\n  <b></b>\n</r>", &x2j_direct, "{\"r\":{\"a\":null,\"b\":null}}" },
	/* namespaces: declarations as attributes, prefixed names kept */
	{ "<s:E xmlns:s=\"urn:s\" xmlns=\"urn:d\"><s:B s:x=\"1\"><v>2</v></s:B></s:E>", &x2j_direct,
	  "{\"s:E\":{\"@xmlns:s\":\"urn:s\",\"@xmlns\":\"urn:d\",\"s:B\":{\"@s:x\":\"1\",\"v\":\"2\"}}}" },
	/* escaping and unicode (character references resolved) */
	{ "<t q=\"&quot;\">&lt;&amp;&#233;\xe4\xb8\xad\xf0\x9f\x98\x80\\\"</t>", &x2j_direct,
	  "{\"t\":{\"@q\":\"\\\"\",\"#text\":\"<&\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\\\\\\\"\"}}" },
};

static void test_xml_to_json(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(x2j_cases) / sizeof(x2j_cases[0]); i++) {
		const struct x2j_case *c = &x2j_cases[i];
		struct cg_arena a;
		cg_arena_init(&a, 4096, 0);
		struct cg_str out;
		char err[300] = "";
		enum cg_xj_rc rc = cg_xj_xml_to_json(cg_str_from_c(c->xml), c->o, 1 << 20, &a, &out, err, sizeof(err));
		if (rc != CG_XJ_OK)
			fail_msg("case %zu: rc %d: %s", i, rc, err);
		if (!cg_str_eq(out, cg_str_from_c(c->json)))
			fail_msg("case %zu:\n got  %.*s\n want %s", i, (int)out.len, out.ptr, c->json);
		cg_arena_destroy(&a);
	}
}

struct bad_case {
	bool to_xml;
	const char *in;
	const char *err;
};

static const struct bad_case bad_cases[] = {
	{ true, "{\"a\":", "1:5: unexpected token near end of file" },
	{ true, "{\"a\" 1}", "1:6: ':' expected near '1'" },
	{ true, "", "1:1: unexpected token near end of file" },
	{ true, "{\"r\":{\"@a\":{\"x\":1}}}", "JSON member 'a' is an attribute; its value must be a scalar" },
	{ true, "{\"r\":\"\\u0001\"}", "The value of JSON member 'r' holds a character XML 1.0 cannot carry" },
	{ true, "{\"\":1}", "A JSON member with an empty name cannot become an XML element" },
	{ true, "{\"r\":{\"xmlns:p\":1}}", "Namespace declaration 'xmlns:p' must have a string value" },
	{ true, "{\"r\":{\"xmlns:{p\":\"urn:x\"}}", "Namespace declaration 'xmlns:{p' needs a prefix that is an XML name other than xml and xmlns, and a non-empty value" },
	{ true, "{\"r\":{\"xmlns:p\":\"\"}}", "Namespace declaration 'xmlns:p' needs a prefix that is an XML name other than xml and xmlns, and a non-empty value" },
	{ true, "{\"r\":{\"xmlns:xml\":\"urn:x\"}}", "Namespace declaration 'xmlns:xml' needs a prefix that is an XML name other than xml and xmlns, and a non-empty value" },
	{ false, "<a><b></a>", "1:11: Opening and ending tag mismatch: b line 1 and a" },
	{ false, "<a>\n &bogus;</a>", "2:9: Entity 'bogus' not defined" },
	{ false, "", "1:1: Document is empty" },
	{ false, "not xml", "1:1: Start tag expected, '<' not found" },
	/* XXE: the DOCTYPE stops the parse before any entity is declared */
	{ false,
	  "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<r>&x;</r>",
	  "2:13: A DOCTYPE is not allowed (DTDs and entities are refused)" },
	/* billion laughs */
	{ false,
	  "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
	  "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]><lolz>&lol3;</lolz>",
	  "1:16: A DOCTYPE is not allowed (DTDs and entities are refused)" },
	/* an external DTD alone */
	{ false, "<!DOCTYPE r SYSTEM \"http://127.0.0.1:9/x.dtd\"><r/>",
	  "1:46: A DOCTYPE is not allowed (DTDs and entities are refused)" },
};

static void test_refusals(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct cg_arena a;
		cg_arena_init(&a, 4096, 0);
		struct cg_str out = CG_STR("untouched");
		char err[300] = "";
		enum cg_xj_rc rc = c->to_xml
					   ? cg_xj_json_to_xml(cg_str_from_c(c->in), &j2x_soap, 1 << 20, &a, &out, err, sizeof(err))
					   : cg_xj_xml_to_json(cg_str_from_c(c->in), &x2j_direct, 1 << 20, &a, &out, err, sizeof(err));
		if (rc != CG_XJ_INVALID || strcmp(err, c->err) != 0) {
			print_error("case %zu: rc %d, err '%s', want '%s'\n", i, rc, err, c->err);
			bad++;
		}
		assert_true(cg_str_eq_lit(out, "untouched"));
		cg_arena_destroy(&a);
	}
	assert_int_equal(bad, 0);
}

/* Depth: CG_XJ_MAX_DEPTH levels convert, one more is refused at its place. */
static void test_depth(void **state)
{
	(void)state;
	char in[2048], err[300];
	struct cg_arena a;
	struct cg_str out;
	cg_arena_init(&a, 4096, 0);
	for (int over = 0; over <= 1; over++) {
		int n = CG_XJ_MAX_DEPTH + over;
		size_t k = 0;
		for (int i = 0; i < n; i++)
			k += (size_t)snprintf(in + k, sizeof(in) - k, "<e>");
		for (int i = 0; i < n; i++)
			k += (size_t)snprintf(in + k, sizeof(in) - k, "</e>");
		enum cg_xj_rc rc = cg_xj_xml_to_json(cg_str_make(in, k), &x2j_direct, 1 << 20, &a, &out, err, sizeof(err));
		assert_int_equal(rc, over ? CG_XJ_INVALID : CG_XJ_OK);
		if (over)
			assert_string_equal(err, "1:195: XML nested deeper than 64 elements");
		k = 0;
		for (int i = 0; i < n; i++) /* n elements: the outer object is the document */
			k += (size_t)snprintf(in + k, sizeof(in) - k, "{\"e\":");
		k += (size_t)snprintf(in + k, sizeof(in) - k, "1");
		for (int i = 0; i < n; i++)
			k += (size_t)snprintf(in + k, sizeof(in) - k, "}");
		rc = cg_xj_json_to_xml(cg_str_make(in, k), &j2x_default, 1 << 20, &a, &out, err, sizeof(err));
		assert_int_equal(rc, over ? CG_XJ_INVALID : CG_XJ_OK);
		if (over)
			assert_string_equal(err, "JSON nested deeper than 64 levels");
	}
	cg_arena_destroy(&a);
}

/* The output cap: one byte short is CG_XJ_TOO_LARGE, exact fits. */
static void test_cap(void **state)
{
	(void)state;
	struct cg_arena a;
	struct cg_str out;
	char err[300];
	cg_arena_init(&a, 4096, 0);
	const char *xml = DECL "<a>1</a>\n";
	assert_int_equal(cg_xj_json_to_xml(CG_STR("{\"a\":1}"), &j2x_default, strlen(xml), &a, &out, err, sizeof(err)),
			 CG_XJ_OK);
	assert_int_equal(cg_xj_json_to_xml(CG_STR("{\"a\":1}"), &j2x_default, strlen(xml) - 1, &a, &out, err,
					   sizeof(err)),
			 CG_XJ_TOO_LARGE);
	assert_int_equal(cg_xj_xml_to_json(CG_STR("<a>1</a>"), &x2j_direct, 8, &a, &out, err, sizeof(err)),
			 CG_XJ_TOO_LARGE);
	assert_int_equal(cg_xj_xml_to_json(CG_STR("<a>1</a>"), &x2j_direct, 9, &a, &out, err, sizeof(err)), CG_XJ_OK);
	assert_true(cg_str_eq_lit(out, "{\"a\":\"1\"}"));
	cg_arena_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_to_xml), cmocka_unit_test(test_xml_to_json),
		cmocka_unit_test(test_refusals),    cmocka_unit_test(test_depth),
		cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
