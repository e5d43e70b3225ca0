/* Policy loader: rawxml/xml loading, the tree, positions, the APIM
 * client-certificate guide policies, and the expression hook. */
#include "helpers.h"

/* The four conditions of APIM's client-certificate guide
 * (api-management-howto-mutual-certificates-for-clients), verbatim. */
static const char *const cert_conditions[] = {
	"@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)",
	"@(context.Request.Certificate == null || context.Request.Certificate.Issuer != \"trusted-issuer\" || context.Request.Certificate.SubjectName.Name != \"expected-subject-name\")",
	"@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != \"desired-thumbprint\")",
	"@(context.Request.Certificate == null || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint))",
};

static char *cert_policy(const char *cond, int xml)
{
	struct cg_buf b;
	cg_buf_init(&b, 1 << 20);
	assert_int_equal(cg_buf_printf(&b, "<policies>\n\t<inbound>\n\t\t<base />\n\t\t<choose>\n\t\t\t<when condition=\""), 0);
	for (const char *p = cond; *p; p++) {
		const char *rep = NULL;
		if (xml)
			rep = *p == '"' ? "&quot;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '&' ? "&amp;" : NULL;
		assert_int_equal(rep ? cg_buf_printf(&b, "%s", rep) : cg_buf_append(&b, p, 1), 0);
	}
	assert_int_equal(cg_buf_printf(&b, "\">\n\t\t\t\t<return-response>\n"
					 "\t\t\t\t\t<set-status code=\"403\" reason=\"Invalid client certificate\" />\n"
					 "\t\t\t\t</return-response>\n\t\t\t</when>\n\t\t</choose>\n\t</inbound>\n"
					 "\t<backend>\n\t\t<base />\n\t</backend>\n\t<outbound>\n\t\t<base />\n\t</outbound>\n"
					 "\t<on-error>\n\t\t<base />\n\t</on-error>\n</policies>\n"), 0);
	assert_int_equal(cg_buf_append(&b, "", 1), 0);
	char *s = cg_arena_strndup(&pt_arena, b.data, b.len);
	cg_buf_free(&b);
	return s;
}

/* Same names, attributes, values, flags and text; positions may differ
 * (escapes make xml text longer) but lines must not. */
static void same_tree(const struct cg_pol_node *a, const struct cg_pol_node *b)
{
	for (; a || b; a = a->next, b = b->next) {
		assert_non_null(a);
		assert_non_null(b);
		assert_true(cg_str_eq(a->name, b->name));
		assert_true(cg_str_eq(a->path, b->path));
		assert_int_equal(a->pos.line, b->pos.line);
		assert_int_equal(a->num_attrs, b->num_attrs);
		for (size_t i = 0; i < a->num_attrs; i++) {
			assert_true(cg_str_eq(a->attrs[i].name, b->attrs[i].name));
			assert_true(cg_str_eq(a->attrs[i].value, b->attrs[i].value));
			assert_int_equal(a->attrs[i].is_expr, b->attrs[i].is_expr);
			assert_int_equal(a->attrs[i].vpos.line, b->attrs[i].vpos.line);
			assert_int_equal(a->attrs[i].vpos.col, b->attrs[i].vpos.col);
		}
		assert_int_equal(a->has_text, b->has_text);
		assert_int_equal(a->text_is_expr, b->text_is_expr);
		assert_true(cg_str_eq(a->text, b->text));
		same_tree(a->children, b->children);
	}
}

static void t_cert_guide_policies(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++) {
		const char *raw = cert_policy(cert_conditions[i], 0);
		struct cg_pol_doc *doc = pt_load(raw);
		const struct cg_pol_node *choose = pt_stmt(doc, CG_POL_INBOUND, 1);
		assert_string_equal(choose->name.ptr, "choose");
		assert_int_equal(choose->pos.line, 4);
		assert_int_equal(choose->pos.col, 3);
		assert_string_equal(choose->path.ptr, "choose[1]");
		const struct cg_pol_node *when = choose->children;
		assert_string_equal(when->path.ptr, "choose[1]/when[1]");
		assert_int_equal(when->pos.line, 5);
		assert_int_equal(when->pos.col, 4);
		const struct cg_pol_attr *c = cg_pol_attr_get(when, "condition");
		assert_non_null(c);
		assert_true(c->is_expr);
		/* The exact expression slice, and where it starts in the original. */
		assert_string_equal(c->value.ptr, cert_conditions[i]);
		assert_int_equal(c->value.len, strlen(cert_conditions[i]));
		assert_int_equal(c->pos.line, 5);
		assert_int_equal(c->pos.col, 10);
		assert_int_equal(c->vpos.line, 5);
		assert_int_equal(c->vpos.col, 21);
		assert_int_equal(c->vpos.off, (uint32_t)(strstr(raw, "@(") - raw));
		const struct cg_pol_node *rr = when->children;
		assert_string_equal(rr->name.ptr, "return-response");
		const struct cg_pol_node *st = rr->children;
		assert_string_equal(st->name.ptr, "set-status");
		assert_string_equal(cg_pol_attr_get(st, "code")->value.ptr, "403");
		assert_string_equal(cg_pol_attr_get(st, "reason")->value.ptr, "Invalid client certificate");
		assert_int_equal(st->pos.line, 7);
		assert_int_equal(st->pos.col, 6);
		assert_int_equal(st->scope, CG_POL_SCOPE_OPERATION);

		/* The same policy stored as format=xml gives the same tree. */
		const char *diags;
		struct cg_pol_doc *xdoc = pt_load_env(cert_policy(cert_conditions[i], 1), CG_POL_FORMAT_XML,
						      CG_POL_SCOPE_OPERATION, NULL, &diags);
		assert_non_null(xdoc);
		same_tree(doc->root, xdoc->root);
	}
}

/* rawxml text content: raw '<', '&&', strings and comments inside @{ }. */
static void t_raw_text_block(void **state)
{
	(void)state;
	const char *text =
		"<policies><inbound><set-body>\n"
		"  @{ var x = 1 < 2 && 3 > 2; // a \"quote\" and </set-body> in a comment\n"
		"     /* } ) */ var s = \"</set-body>\"; var c = '\\''; var v = @\"a\"\"b\";\n"
		"     return $\"{x} {{ literal }} {s.Length:D2} {(x ? \"y\" : \"n\")}\" + $@\"{s}\"\"\"; }\n"
		"</set-body></inbound></policies>";
	struct cg_pol_doc *doc = pt_load(text);
	const struct cg_pol_node *b = pt_stmt(doc, CG_POL_INBOUND, 0);
	assert_true(b->text_is_expr);
	assert_int_equal(b->text_pos.line, 2);
	assert_int_equal(b->text_pos.col, 3);
	const char *start = strstr(text, "@{");
	const char *end = strstr(text, "; }\n</set-body>") + 3;
	assert_int_equal(b->text.len, (size_t)(end - start));
	assert_memory_equal(b->text.ptr, start, b->text.len);
}

/* Multi-line @{ } in an attribute keeps its newlines (no attribute-value
 * normalisation), so a // comment ends at its line. */
static void t_raw_attr_multiline(void **state)
{
	(void)state;
	const char *text = "<policies><inbound>\n<set-variable name=\"v\" value=\"@{\n  // \"c\" <x>\n  return 1;\n}\" />\n</inbound></policies>";
	struct cg_pol_doc *doc = pt_load(text);
	const struct cg_pol_attr *v = cg_pol_attr_get(pt_stmt(doc, CG_POL_INBOUND, 0), "value");
	assert_true(v->is_expr);
	assert_string_equal(v->value.ptr, "@{\n  // \"c\" <x>\n  return 1;\n}");
	assert_int_equal(v->vpos.line, 2);
	assert_int_equal(v->vpos.col, 31);
}

/* The header GetValueOrDefault example from the choose documentation. */
static void t_raw_quotes_in_attr(void **state)
{
	(void)state;
	const char *text = "<policies><inbound><choose><when condition='@(context.Request.Headers.GetValueOrDefault(\"User-Agent\",\"\").Contains(\"iPad\"))'>"
			   "<set-variable name=\"x\" value=\"@(&quot;literal&quot;)\" /></when></choose></inbound></policies>";
	struct cg_pol_doc *doc = pt_load(text);
	const struct cg_pol_node *when = pt_stmt(doc, CG_POL_INBOUND, 0)->children;
	assert_string_equal(cg_pol_attr_get(when, "condition")->value.ptr,
			    "@(context.Request.Headers.GetValueOrDefault(\"User-Agent\",\"\").Contains(\"iPad\"))");
	/* rawxml escapes only what it has to: an entity written in an
	 * expression stays as written (APIM stores rawxml unescaped). */
	assert_string_equal(cg_pol_attr_get(when->children, "value")->value.ptr, "@(&quot;literal&quot;)");
}

/* rawxml keeps raw quotes in literal values too (apim.md §6: subject DNs
 * with quoted RDN values); format xml has them escaped. */
static void t_raw_quotes_in_literal(void **state)
{
	(void)state;
	const char *raw = "<policies><inbound><validate-client-certificate><identities>\n"
			  "<identity subject=\"CN=Valid Client, O=\"Contoso, Inc.\"\" issuer-subject='CN=\"a'b\"' />\n"
			  "</identities></validate-client-certificate></inbound></policies>";
	const char *xml = "<policies><inbound><validate-client-certificate><identities>\n"
			  "<identity subject=\"CN=Valid Client, O=&quot;Contoso, Inc.&quot;\" issuer-subject='CN=\"a&apos;b\"' />\n"
			  "</identities></validate-client-certificate></inbound></policies>";
	const char *diags;
	struct cg_pol_doc *r = pt_load(raw);
	struct cg_pol_doc *x = pt_load_env(xml, CG_POL_FORMAT_XML, CG_POL_SCOPE_OPERATION, NULL, &diags);
	assert_non_null(x);
	const struct cg_pol_node *id = pt_stmt(r, CG_POL_INBOUND, 0)->children->children;
	assert_string_equal(cg_pol_attr_get(id, "subject")->value.ptr, "CN=Valid Client, O=\"Contoso, Inc.\"");
	assert_string_equal(cg_pol_attr_get(id, "issuer-subject")->value.ptr, "CN=\"a'b\"");
	/* positions after the escaped quotes are still the original ones */
	assert_int_equal(cg_pol_attr_get(id, "issuer-subject")->pos.col, 56);
	const struct cg_pol_node *xid = pt_stmt(x, CG_POL_INBOUND, 0)->children->children;
	assert_string_equal(cg_pol_attr_get(xid, "subject")->value.ptr, "CN=Valid Client, O=\"Contoso, Inc.\"");
	assert_string_equal(cg_pol_attr_get(xid, "issuer-subject")->value.ptr, "CN=\"a'b\"");
}

/* Windows line endings: lines count at '\n'; an expression keeps its
 * "\r\n" (escaped in attributes), element text gets libxml2's "\n". */
/* rawxml literal text is stored unencoded too: a bare '&' (URLs with
 * query strings), '<' in an attribute; real references still decode. */
static void t_raw_literals(void **state)
{
	(void)state;
	const char *raw = "<policies><inbound>\n"
			  "<set-backend-service base-url=\"https://b.example/?a=1&b=2&amp;c=&#51;&x;\" />\n"
			  "<set-body>a & b &lt; c &#x41;</set-body><set-variable name=\"v\" value='1 < 2' />\n"
			  "</inbound></policies>";
	const char *xml = "<policies><inbound>\n"
			  "<set-backend-service base-url=\"https://b.example/?a=1&amp;b=2&amp;c=&#51;&amp;x;\" />\n"
			  "<set-body>a &amp; b &lt; c &#x41;</set-body><set-variable name=\"v\" value='1 &lt; 2' />\n"
			  "</inbound></policies>";
	struct cg_pol_doc *r = pt_load(raw);
	const char *diags;
	struct cg_pol_doc *x = pt_load_env(xml, CG_POL_FORMAT_XML, CG_POL_SCOPE_OPERATION, NULL, &diags);
	assert_non_null(x);
	assert_string_equal(cg_pol_attr_get(pt_stmt(r, CG_POL_INBOUND, 0), "base-url")->value.ptr,
			    "https://b.example/?a=1&b=2&c=3&x;");
	assert_string_equal(pt_stmt(r, CG_POL_INBOUND, 1)->text.ptr, "a & b < c A");
	assert_string_equal(cg_pol_attr_get(pt_stmt(r, CG_POL_INBOUND, 2), "value")->value.ptr, "1 < 2");
	/* positions after the escapes are the original ones */
	assert_int_equal(pt_stmt(r, CG_POL_INBOUND, 2)->pos.col, 41);
	assert_string_equal(cg_pol_attr_get(pt_stmt(x, CG_POL_INBOUND, 0), "base-url")->value.ptr,
			    "https://b.example/?a=1&b=2&c=3&x;");
	assert_string_equal(pt_stmt(x, CG_POL_INBOUND, 1)->text.ptr, "a & b < c A");
	assert_string_equal(cg_pol_attr_get(pt_stmt(x, CG_POL_INBOUND, 2), "value")->value.ptr, "1 < 2");
	/* format xml stays strict: a bare '&' is an error there */
	assert_null(pt_load_env("<policies><inbound><set-body>a & b</set-body></inbound></policies>", CG_POL_FORMAT_XML,
				CG_POL_SCOPE_OPERATION, NULL, &diags));
	assert_string_equal(diags, "1:33: The policy XML is not well-formed: xmlParseEntityRef: no name\n");
}

static void t_crlf(void **state)
{
	(void)state;
	struct cg_pol_doc *doc = pt_load("<policies>\r\n<inbound>\r\n"
					 "<set-variable name=\"a\" value=\"@{\r\n // x\r\n return 1; }\" />"
					 "<set-body>@{\r\n return \"\"; }</set-body>\r\n</inbound></policies>");
	const struct cg_pol_node *sv = pt_stmt(doc, CG_POL_INBOUND, 0);
	const struct cg_pol_attr *v = cg_pol_attr_get(sv, "value");
	assert_string_equal(v->value.ptr, "@{\r\n // x\r\n return 1; }");
	assert_int_equal(v->vpos.line, 3);
	assert_int_equal(v->vpos.col, 31);
	const struct cg_pol_node *b = pt_stmt(doc, CG_POL_INBOUND, 1);
	assert_int_equal(b->pos.line, 5);
	assert_int_equal(b->pos.col, 17);
	assert_string_equal(b->text.ptr, "@{\n return \"\"; }");
	const char *diags;
	assert_null(pt_load_env("<policies>\r\n<inbound>\r\n<x/></inbound></policies>", CG_POL_FORMAT_RAWXML,
				CG_POL_SCOPE_GLOBAL, NULL, &diags));
	assert_string_equal(diags, "3:1: Unknown policy 'x': policies this gateway does not implement are refused, not skipped\n");
}

static void t_dump(void **state)
{
	(void)state;
	struct cg_pol_doc *doc = pt_load("<policies>\n <inbound>\n  <set-header name=\"X-A\" exists-action=\"override\" id=\"h1\">\n"
					 "   <value>@(context.Request.Method)</value>\n  </set-header>\n </inbound>\n</policies>");
	assert_string_equal(pt_dump(doc),
			    "policies 1:1\n"
			    "  inbound 2:2\n"
			    "    set-header 3:3 operation set-header[1]\n"
			    "      @name 3:21 text=X-A\n"
			    "      @exists-action 3:41 text=override\n"
			    "      @id 3:55 text=h1\n"
			    "      value 4:4 operation set-header[1]/value[1]\n"
			    "        #expr 4:11 @(context.Request.Method)\n");
	assert_string_equal(pt_stmt(doc, CG_POL_INBOUND, 0)->id.ptr, "h1");
}

/* ---- the expression hook ------------------------------------------------
 * The expression engine (src/expr) is written concurrently and does not
 * exist yet; this fake compiler is a test double standing in for it. It
 * records each call and fails for code containing "FAIL". */
struct fake_call {
	char src[256];
	int is_block, line, col;
	char section[16];
};
static struct fake_call fake_calls[16];
static int fake_n;
static int fake_token;

static int fake_compile(void *ud, struct cg_str src, int is_block, int line, int col, const char *section,
			void **compiled, char *err, size_t errlen)
{
	assert_ptr_equal(ud, &fake_token);
	if (fake_n < 16) {
		struct fake_call *c = &fake_calls[fake_n];
		snprintf(c->src, sizeof(c->src), "%.*s", CG_STR_FMT(src));
		c->is_block = is_block;
		c->line = line;
		c->col = col;
		snprintf(c->section, sizeof(c->section), "%s", section);
	}
	fake_n++;
	if (memmem(src.ptr, src.len, "SILENT", 6))
		return -1; /* an engine that gives no message */
	if (memmem(src.ptr, src.len, "FAIL", 4)) {
		snprintf(err, errlen, "Usage of type 'FAIL' is not supported within expressions");
		return -1;
	}
	*compiled = &fake_calls[0];
	return 0;
}

static void t_hook(void **state)
{
	(void)state;
	struct cg_pol_env env = { .compile = fake_compile, .compile_ud = &fake_token };
	fake_n = 0;
	const char *diags;
	struct cg_pol_doc *doc = pt_load_env(
		"<policies>\n<inbound><set-variable name=\"a\" value=\"@(1 + 2)\" /></inbound>\n"
		"<outbound><set-body>@{ return \"x\"; }</set-body></outbound>\n"
		"<on-error><set-status code=\"@(500)\" /></on-error></policies>",
		CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_API, &env, &diags);
	assert_non_null(doc);
	assert_int_equal(fake_n, 3);
	assert_string_equal(fake_calls[0].src, "1 + 2");
	assert_int_equal(fake_calls[0].is_block, 0);
	assert_int_equal(fake_calls[0].line, 2);
	assert_int_equal(fake_calls[0].col, 42);
	assert_string_equal(fake_calls[0].section, "inbound");
	assert_string_equal(fake_calls[1].src, " return \"x\"; ");
	assert_int_equal(fake_calls[1].is_block, 1);
	assert_int_equal(fake_calls[1].line, 3);
	assert_int_equal(fake_calls[1].col, 23);
	assert_string_equal(fake_calls[1].section, "outbound");
	assert_string_equal(fake_calls[2].section, "on-error");
	assert_ptr_equal(cg_pol_attr_get(pt_stmt(doc, CG_POL_INBOUND, 0), "value")->compiled, &fake_calls[0]);

	/* A compile error is reported at the expression, and refuses the document. */
	fake_n = 0;
	pt_expect_errors_env("<policies><inbound>\n  <set-variable name=\"a\" value=\"@(FAIL.x)\" /></inbound></policies>",
			     &env, "2:33: Usage of type 'FAIL' is not supported within expressions\n");
	pt_expect_errors_env("<policies><outbound><set-body>@{ SILENT }</set-body></outbound></policies>",
			     &env, "1:31: Invalid policy expression\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_cert_guide_policies, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_raw_text_block, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_raw_attr_multiline, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_raw_quotes_in_attr, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_raw_quotes_in_literal, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_raw_literals, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_crlf, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_dump, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_hook, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
