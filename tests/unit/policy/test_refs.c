/* Named values ({{name}}) and policy fragments (<include-fragment/>). */
#include "helpers.h"

static const struct cg_pol_named_value nvs[] = {
	{ CG_STR("hdr"), CG_STR("abc") },
	{ CG_STR("long-value.v_1"), CG_STR("0123456789012345678901234567890123456789") },
	{ CG_STR("method-expr"), CG_STR("@(context.Request.Method)") },
	{ CG_STR("nested"), CG_STR("{{hdr}}") },
	{ CG_STR("quoted"), CG_STR("\"q<&\"") },
};

static const struct cg_pol_env nv_env = { .named_values = nvs, .num_named_values = 5 };

static void t_nv_attr_text_expr(void **state)
{
	(void)state;
	const char *diags;
	struct cg_pol_doc *doc = pt_load_env(
		"<policies><inbound>\n"
		"<set-header name=\"X-{{hdr}}-{{long-value.v_1}}\" exists-action=\"append\"><value>{{hdr}}</value><value>@(\"{{hdr}}\" + {{quoted}})</value></set-header>\n"
		"<set-variable name=\"m\" value=\"{{method-expr}}\" /><set-variable name=\"n\" value=\"{{nested}}\" />\n"
		"<set-variable name=\"lit\" value=\"{{ hdr }} {{a b}} {{}}\" />\n"
		"</inbound></policies>",
		CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, &nv_env, &diags);
	assert_non_null(doc);
	const struct cg_pol_node *sh = pt_stmt(doc, CG_POL_INBOUND, 0);
	assert_string_equal(cg_pol_attr_get(sh, "name")->value.ptr, "X-abc-0123456789012345678901234567890123456789");
	/* Positions after a substitution are still those of the original text. */
	const struct cg_pol_attr *ea = cg_pol_attr_get(sh, "exists-action");
	assert_int_equal(ea->pos.line, 2);
	assert_int_equal(ea->pos.col, 49);
	assert_int_equal(ea->vpos.col, 64);
	assert_string_equal(sh->children->text.ptr, "abc");
	assert_int_equal(sh->children->text_pos.col, 79);
	/* Inside an expression's string literal, and raw quotes from a value. */
	const struct cg_pol_node *v2 = sh->children->next;
	assert_true(v2->text_is_expr);
	assert_string_equal(v2->text.ptr, "@(\"abc\" + \"q<&\")");
	assert_int_equal(v2->text_pos.col, 101);
	/* A value that is an expression becomes an expression. */
	const struct cg_pol_attr *m = cg_pol_attr_get(pt_stmt(doc, CG_POL_INBOUND, 1), "value");
	assert_true(m->is_expr);
	assert_string_equal(m->value.ptr, "@(context.Request.Method)");
	assert_int_equal(m->vpos.line, 3);
	assert_int_equal(m->vpos.col, 31);
	/* No recursion: a value holding {{x}} stays literal. */
	assert_string_equal(cg_pol_attr_get(pt_stmt(doc, CG_POL_INBOUND, 2), "value")->value.ptr, "{{hdr}}");
	/* Not references: spaces, invalid characters, empty names. */
	assert_string_equal(cg_pol_attr_get(pt_stmt(doc, CG_POL_INBOUND, 3), "value")->value.ptr, "{{ hdr }} {{a b}} {{}}");
}

static void t_nv_unknown(void **state)
{
	(void)state;
	pt_expect_errors_env("<policies><inbound>\n<set-header name=\"{{hdr}}{{nope}}\"><value>x{{Hdr}}</value></set-header>\n</inbound></policies>",
			     &nv_env,
			     "2:26: Named value 'nope' could not be found\n"
			     "2:44: Named value 'Hdr' could not be found\n");
	/* Without any table every reference is unknown. */
	pt_expect_errors("<policies><inbound><set-variable name=\"a\" value=\"@(&quot;{{x.y-z_1}}&quot;)\" /></inbound></policies>",
			 "1:58: Named value 'x.y-z_1' could not be found\n");
}

static void t_nv_limits(void **state)
{
	(void)state;
	/* A name longer than APIM's 256 characters is not a reference. */
	char name[300];
	memset(name, 'n', 257);
	name[257] = '\0';
	char *text = cg_arena_printf(&pt_arena, "<policies><inbound><set-variable name=\"a\" value=\"{{%s}}\" /></inbound></policies>", name);
	const char *diags;
	struct cg_pol_doc *doc = pt_load_env(text, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, NULL, &diags);
	assert_non_null(doc);
	name[256] = '\0';
	text = cg_arena_printf(&pt_arena, "<policies><inbound><set-variable name=\"a\" value=\"{{%s}}\" /></inbound></policies>", name);
	assert_null(pt_load_env(text, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, NULL, &diags));
	assert_non_null(strstr(diags, "1:50: Named value 'nnnn"));

	/* Substitution cannot grow the text past CG_POL_MAX_EXPANDED_BYTES. */
	size_t big = CG_POL_MAX_EXPANDED_BYTES / 4;
	char *v = cg_arena_alloc(&pt_arena, big + 1);
	memset(v, 'v', big);
	v[big] = '\0';
	struct cg_pol_named_value bigv = { CG_STR("big"), { v, big } };
	struct cg_pol_env env = { .named_values = &bigv, .num_named_values = 1 };
	const char *four = "<policies><inbound><set-body>{{big}}{{big}}{{big}}{{big}}{{big}}</set-body></inbound></policies>";
	pt_expect_errors_env(four, &env, "1:1: Policy text is larger than 1048576 bytes after named values are substituted\n");
}

/* ---- fragments ---------------------------------------------------------- */

static const struct cg_pol_fragment frags[] = {
	{ CG_STR("cert-check"),
	  CG_STR("<fragment>\n"
		 "\t<choose>\n"
		 "\t\t<when condition=\"@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != \"{{thumb}}\")\">\n"
		 "\t\t\t<return-response><set-status code=\"403\" reason=\"Invalid client certificate\" /></return-response>\n"
		 "\t\t</when>\n"
		 "\t</choose>\n"
		 "\t<set-header name=\"X-Checked\"><value>yes</value></set-header>\n"
		 "</fragment>"),
	  CG_POL_FORMAT_RAWXML },
	{ CG_STR("xml-frag"), CG_STR("<fragment><set-variable name=\"x\" value=\"@(&quot;a&quot; &lt; &quot;b&quot;)\" /></fragment>"),
	  CG_POL_FORMAT_XML },
	{ CG_STR("empty"), CG_STR("<fragment/>"), CG_POL_FORMAT_RAWXML },
	{ CG_STR("fwd"), CG_STR("<fragment>\n  <forward-request timeout=\"10\" />\n</fragment>"), CG_POL_FORMAT_RAWXML },
	{ CG_STR("bad"), CG_STR("<fragment>\n<inbound/>\n<base/>\n<include-fragment fragment-id=\"empty\"/>\n</fragment>"),
	  CG_POL_FORMAT_RAWXML },
	{ CG_STR("not-fragment"), CG_STR("<policies/>"), CG_POL_FORMAT_RAWXML },
	{ CG_STR("broken"), CG_STR("<fragment>\n  <set-body>@(\"x)</set-body>\n</fragment>"), CG_POL_FORMAT_RAWXML },
};

static const struct cg_pol_named_value frag_nvs[] = { { CG_STR("thumb"), CG_STR("ABCDEF") } };

static const struct cg_pol_env frag_env = {
	.named_values = frag_nvs, .num_named_values = 1, .fragments = frags, .num_fragments = 7,
};

static void t_fragment_include(void **state)
{
	(void)state;
	const char *diags;
	struct cg_pol_doc *doc = pt_load_env(
		"<policies>\n<inbound>\n<base />\n<include-fragment fragment-id=\"cert-check\" />\n"
		"<include-fragment fragment-id=\"empty\" /><include-fragment fragment-id=\"xml-frag\" />\n"
		"<choose><when condition=\"true\"><include-fragment fragment-id=\"xml-frag\" /></when></choose>\n"
		"</inbound>\n<backend><include-fragment fragment-id=\"fwd\" /></backend>\n</policies>",
		CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, &frag_env, &diags);
	if (!doc)
		fail_msg("%s", diags);
	const char *got = pt_dump(doc);
	if (getenv("CG_POL_SHOW"))
		fprintf(stderr, "%s", got);
	assert_string_equal(got,
		"policies 1:1\n"
		"  inbound 2:1\n"
		"    base 3:1 api base[1]\n"
		"    choose 2:2 fragment=cert-check api choose[1]\n"
		"      when 3:3 fragment=cert-check api choose[1]/when[1]\n"
		"        @condition 3:20 expr=@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != \"ABCDEF\")\n"
		"        return-response 4:4 fragment=cert-check api choose[1]/when[1]/return-response[1]\n"
		"          set-status 4:21 fragment=cert-check api choose[1]/when[1]/return-response[1]/set-status[1]\n"
		"            @code 4:39 text=403\n"
		"            @reason 4:52 text=Invalid client certificate\n"
		"    set-header 7:2 fragment=cert-check api set-header[1]\n"
		"      @name 7:20 text=X-Checked\n"
		"      value 7:31 fragment=cert-check api set-header[1]/value[1]\n"
		"        #text 7:38 yes\n"
		"    set-variable 1:11 fragment=xml-frag api set-variable[1]\n"
		"      @name 1:31 text=x\n"
		"      @value 1:41 expr=@(\"a\" < \"b\")\n"
		"    choose 6:1 api choose[2]\n"
		"      when 6:9 api choose[2]/when[1]\n"
		"        @condition 6:26 text=true\n"
		"        set-variable 1:11 fragment=xml-frag api choose[2]/when[1]/set-variable[1]\n"
		"          @name 1:31 text=x\n"
		"          @value 1:41 expr=@(\"a\" < \"b\")\n"
		"  backend 8:1\n"
		"    forward-request 2:3 fragment=fwd api forward-request[1]\n"
		"      @timeout 2:29 text=10\n");
}

static void t_fragment_errors(void **state)
{
	(void)state;
	pt_expect_errors_env("<policies><inbound>\n<include-fragment fragment-id=\"bad\" />\n</inbound></policies>", &frag_env,
			     "fragment 'bad' 2:1: Element 'inbound' is not allowed in a policy fragment\n"
			     "fragment 'bad' 3:1: Element 'base' is not allowed in a policy fragment\n"
			     "fragment 'bad' 4:1: A policy fragment cannot include another policy fragment\n");
	pt_expect_errors_env("<policies><on-error>\n<include-fragment fragment-id=\"fwd\" />\n</on-error></policies>", &frag_env,
			     "fragment 'fwd' 2:3: Policy 'forward-request' is not allowed in the 'on-error' section\n");
	pt_expect_errors_env("<policies><inbound>\n<include-fragment fragment-id=\"not-fragment\" /><include-fragment fragment-id=\"broken\" />\n"
			     "<include-fragment fragment-id=\"@(&quot;x&quot;)\" /><include-fragment />\n</inbound></policies>",
			     &frag_env,
			     "fragment 'not-fragment' 1:1: The root element of a policy fragment must be 'fragment', not 'policies'\n"
			     "fragment 'broken' 2:15: Unterminated string literal in expression\n"
			     "3:32: Policy expressions are not allowed in attribute 'fragment-id' of element 'include-fragment'\n"
			     "3:52: Element 'include-fragment' is missing required attribute 'fragment-id'\n");
	/* A document with two forward-requests, one of them from a fragment. */
	pt_expect_errors_env("<policies><backend><forward-request/>\n<include-fragment fragment-id=\"fwd\" /></backend></policies>", &frag_env,
			     "fragment 'fwd' 2:3: Only one 'forward-request' policy is allowed in a policy document\n");
}

static void t_fragment_size_limit(void **state)
{
	(void)state;
	const char *head = "<fragment><set-body>", *tail = "</set-body></fragment>";
	size_t fill = CG_POL_MAX_FRAGMENT_BYTES - strlen(head) - strlen(tail);
	char *text = cg_arena_alloc(&pt_arena, CG_POL_MAX_FRAGMENT_BYTES + 2);
	strcpy(text, head);
	memset(text + strlen(head), 'x', fill);
	strcpy(text + strlen(head) + fill, tail);
	struct cg_pol_fragment f = { CG_STR("big"), cg_str_from_c(text), CG_POL_FORMAT_RAWXML };
	struct cg_pol_env env = { .fragments = &f, .num_fragments = 1 };
	const char *diags;
	assert_non_null(pt_load_env("<policies><inbound><include-fragment fragment-id=\"big\"/></inbound></policies>",
				    CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, &env, &diags));
	/* One byte more: refused, reported where it is included. */
	memmove(text + strlen(head) + 1, text + strlen(head), fill + strlen(tail) + 1);
	f.text = cg_str_from_c(text);
	pt_expect_errors_env("<policies><inbound><include-fragment fragment-id=\"big\"/></inbound></policies>", &env,
			     "1:51: Policy fragment 'big' is larger than 524288 bytes\n");
	/* Each inclusion is parsed afresh; in total a document may include
	 * CG_POL_MAX_INCLUDED_BYTES of fragment text. */
	memmove(text + strlen(head), text + strlen(head) + 1, fill + strlen(tail) + 1);
	f.text = cg_str_from_c(text);
	assert_int_equal(f.text.len * 4, CG_POL_MAX_INCLUDED_BYTES);
#define INC "<include-fragment fragment-id=\"big\"/>"
	assert_non_null(pt_load_env("<policies><inbound>" INC INC "</inbound><outbound>" INC INC "</outbound></policies>",
				    CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, &env, &diags));
	pt_expect_errors_env("<policies><inbound>" INC INC "</inbound><outbound>" INC INC INC "</outbound></policies>", &env,
			     "1:219: Policy fragments included by this document exceed 2097152 bytes in total\n");
	memmove(text + strlen(head) + 1, text + strlen(head), fill + strlen(tail) + 1);
	f.text = cg_str_from_c(text);

	/* And on its own (saving a fragment). */
	struct cg_pol_diags d;
	struct cg_pol_doc *doc;
	cg_pol_diags_init(&d, &pt_arena);
	assert_int_equal(cg_pol_load_fragment(&pt_arena, f.id, f.text, f.format, NULL, &d, &doc), -1);
	assert_string_equal(pt_diags_text(&d), "1:1: Policy fragment 'big' is larger than 524288 bytes\n");
}

static void t_fragment_standalone(void **state)
{
	(void)state;
	struct cg_pol_diags d;
	struct cg_pol_doc *doc;
	cg_pol_diags_init(&d, &pt_arena);
	assert_int_equal(cg_pol_load_fragment(&pt_arena, frags[0].id, frags[0].text, frags[0].format, &frag_env, &d, &doc), 0);
	assert_true(doc->is_fragment);
	assert_string_equal(doc->root->children->path.ptr, "choose[1]");
	assert_int_equal(cg_pol_load_fragment(&pt_arena, frags[4].id, frags[4].text, frags[4].format, &frag_env, &d, &doc), -1);
	assert_string_equal(pt_diags_text(&d),
			    "fragment 'bad' 2:1: Element 'inbound' is not allowed in a policy fragment\n"
			    "fragment 'bad' 3:1: Element 'base' is not allowed in a policy fragment\n"
			    "fragment 'bad' 4:1: A policy fragment cannot include another policy fragment\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_nv_attr_text_expr, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_nv_unknown, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_nv_limits, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_fragment_include, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_fragment_errors, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_fragment_size_limit, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_fragment_standalone, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
