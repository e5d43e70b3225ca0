/* <base/> expansion into the effective policy (apim.md §1.3). */
#include "helpers.h"

static struct cg_pol_doc *doc_at(const char *text, enum cg_pol_scope scope)
{
	const char *diags;
	struct cg_pol_doc *doc = pt_load_env(text, CG_POL_FORMAT_RAWXML, scope, NULL, &diags);
	if (!doc)
		fail_msg("%s", diags);
	return doc;
}

/* "inbound: g1@global a1@api | backend: ... " with set-variable names as labels. */
static const char *summary(const struct cg_pol_doc *g, const struct cg_pol_doc *a, const struct cg_pol_doc *o)
{
	struct cg_pol_effective e;
	assert_int_equal(cg_pol_effective(&pt_arena, g, a, o, &e), 0);
	pt_out.len = 0;
	for (int s = 0; s < CG_POL_NSECTIONS; s++) {
		assert_int_equal(cg_buf_printf(&pt_out, "%s%s:", s ? " | " : "", cg_pol_section_name(s)), 0);
		for (size_t i = 0; i < e.sections[s].len; i++) {
			const struct cg_pol_node *n = e.sections[s].items[i];
			const struct cg_pol_attr *nm = cg_pol_attr_get(n, "name");
			struct cg_str label = nm ? nm->value : n->name;
			assert_int_equal(cg_buf_printf(&pt_out, " %.*s@%s", CG_STR_FMT(label), cg_pol_scope_name(n->scope)), 0);
		}
	}
	assert_int_equal(cg_buf_append(&pt_out, "", 1), 0);
	return pt_out.data;
}

#define SV(n) "<set-variable name=\"" n "\" value=\"1\" />"

static const char *global_text =
	"<policies><inbound>" SV("g1") "<base/>" SV("g2") "</inbound>"
	"<backend><forward-request /></backend>"
	"<outbound>" SV("go") "</outbound><on-error>" SV("ge") "</on-error></policies>";

static void t_defaults(void **state)
{
	(void)state;
	/* No global policy: APIM's default global policy; no api/op policy: <base/> everywhere. */
	assert_string_equal(summary(NULL, NULL, NULL),
			    "inbound: | backend: forward-request@global | outbound: | on-error:");
	/* <base/> at global scope is a no-op. */
	assert_string_equal(summary(doc_at(global_text, CG_POL_SCOPE_GLOBAL), NULL, NULL),
			    "inbound: g1@global g2@global | backend: forward-request@global | outbound: go@global | on-error: ge@global");
}

static void t_order(void **state)
{
	(void)state;
	struct cg_pol_doc *g = doc_at(global_text, CG_POL_SCOPE_GLOBAL);
	/* api: inherited before local in inbound, after local in outbound
	 * (outbound order follows base position, no automatic reversal). */
	struct cg_pol_doc *a = doc_at("<policies><inbound><base/>" SV("a1") "</inbound><backend><base/></backend>"
				      "<outbound>" SV("ao") "<base/></outbound><on-error><base/></on-error></policies>",
				      CG_POL_SCOPE_API);
	/* operation: local before inherited in inbound; outbound base first;
	 * on-error without base drops the broader on-error for that section only. */
	struct cg_pol_doc *o = doc_at("<policies><inbound>" SV("o1") "<base/>" SV("o2") "</inbound><backend><base/></backend>"
				      "<outbound><base/>" SV("oo") "</outbound><on-error>" SV("oe") "</on-error></policies>",
				      CG_POL_SCOPE_OPERATION);
	assert_string_equal(summary(g, a, o),
			    "inbound: o1@operation g1@global g2@global a1@api o2@operation"
			    " | backend: forward-request@global"
			    " | outbound: ao@api go@global oo@operation"
			    " | on-error: oe@operation");
	/* No operation policy: the api's result. */
	assert_string_equal(summary(g, a, NULL),
			    "inbound: g1@global g2@global a1@api | backend: forward-request@global"
			    " | outbound: ao@api go@global | on-error: ge@global");
	/* No api policy between global and operation. */
	assert_string_equal(summary(g, NULL, o),
			    "inbound: o1@operation g1@global g2@global o2@operation | backend: forward-request@global"
			    " | outbound: go@global oo@operation | on-error: oe@operation");
}

static void t_missing_base_and_sections(void **state)
{
	(void)state;
	struct cg_pol_doc *g = doc_at(global_text, CG_POL_SCOPE_GLOBAL);
	/* Missing <base/> in backend drops the global forward-request (the
	 * outbound then runs right after inbound); a missing section inherits. */
	struct cg_pol_doc *a = doc_at("<policies><backend>" SV("b") "</backend><inbound/></policies>", CG_POL_SCOPE_API);
	assert_string_equal(summary(g, a, NULL),
			    "inbound: | backend: b@api | outbound: go@global | on-error: ge@global");
	/* The same element node is shared, with its own scope and path. */
	struct cg_pol_effective e;
	assert_int_equal(cg_pol_effective(&pt_arena, g, a, NULL, &e), 0);
	assert_string_equal(e.sections[CG_POL_OUTBOUND].items[0]->path.ptr, "set-variable[1]");
	assert_ptr_equal(e.sections[CG_POL_OUTBOUND].items[0], pt_stmt(g, CG_POL_OUTBOUND, 0));
	struct cg_buf b;
	cg_buf_init(&b, 1 << 16);
	assert_int_equal(cg_pol_dump_effective(&e, &b), 0);
	assert_int_equal(cg_buf_append(&b, "", 1), 0);
	assert_string_equal(b.data, "[inbound]\n[backend]\n"
				    "  set-variable 1:20 api set-variable[1]\n    @name 1:40 text=b\n    @value 1:50 text=1\n"
				    "[outbound]\n"
				    "  set-variable 1:157 global set-variable[1]\n    @name 1:177 text=go\n    @value 1:188 text=1\n"
				    "[on-error]\n"
				    "  set-variable 1:214 global set-variable[1]\n    @name 1:234 text=ge\n    @value 1:245 text=1\n");
	cg_buf_free(&b);
}

/* Five scopes, broad to narrow; a missing product (NULL) is skipped. */
static void t_chain(void **state)
{
	(void)state;
	const struct cg_pol_doc *docs[5] = {
		doc_at(global_text, CG_POL_SCOPE_GLOBAL),
		doc_at("<policies><inbound><base/>" SV("w") "</inbound></policies>", CG_POL_SCOPE_WORKSPACE),
		doc_at("<policies><inbound>" SV("p") "<base/></inbound><outbound><base/>" SV("po") "</outbound></policies>",
		       CG_POL_SCOPE_PRODUCT),
		doc_at("<policies><inbound><base/>" SV("a") "</inbound></policies>", CG_POL_SCOPE_API),
		NULL,
	};
	struct cg_pol_effective e;
	assert_int_equal(cg_pol_effective_chain(&pt_arena, docs, 5, &e), 0);
	pt_out.len = 0;
	for (size_t i = 0; i < e.sections[CG_POL_INBOUND].len; i++) {
		const struct cg_pol_node *n = e.sections[CG_POL_INBOUND].items[i];
		assert_int_equal(cg_buf_printf(&pt_out, "%s%.*s@%s", i ? " " : "", CG_STR_FMT(cg_pol_attr_get(n, "name")->value),
					       cg_pol_scope_name(n->scope)), 0);
	}
	assert_int_equal(cg_buf_append(&pt_out, "", 1), 0);
	assert_string_equal(pt_out.data, "p@product g1@global g2@global w@workspace a@api");
	assert_int_equal(e.sections[CG_POL_OUTBOUND].len, 2);
	/* Without the product in context. */
	docs[2] = NULL;
	assert_int_equal(cg_pol_effective_chain(&pt_arena, docs, 5, &e), 0);
	assert_int_equal(e.sections[CG_POL_INBOUND].len, 4);
	assert_int_equal(e.sections[CG_POL_OUTBOUND].len, 1);
	/* Only a global slot, and it is empty: APIM's default. */
	const struct cg_pol_doc *none = NULL;
	assert_int_equal(cg_pol_effective_chain(&pt_arena, &none, 1, &e), 0);
	assert_int_equal(e.sections[CG_POL_BACKEND].len, 1);
	assert_string_equal(e.sections[CG_POL_BACKEND].items[0]->name.ptr, "forward-request");
}

/* A narrower scope's section without <base/> loads, with a warning: it
 * silently drops e.g. a global validate-client-certificate. */
static void t_missing_base_warning(void **state)
{
	(void)state;
	struct cg_pol_diags d;
	struct cg_pol_doc *doc;
	cg_pol_diags_init(&d, &pt_arena);
	const char *text = "<policies>\n  <inbound>" SV("a") "</inbound>\n  <outbound><base/></outbound>\n</policies>";
	assert_int_equal(cg_pol_load(&pt_arena, cg_str_from_c(text), CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_OPERATION, NULL, &d, &doc), 0);
	assert_int_equal(d.num_errors, 0);
	assert_int_equal(d.num_warnings, 1);
	assert_string_equal(pt_diags_filtered(&d, 1),
			    "2:3: warning: Section 'inbound' has no 'base' element: policies of broader scopes are not applied to it\n");
	/* Not at global scope, where <base/> has nothing to bring in. */
	cg_pol_diags_init(&d, &pt_arena);
	assert_int_equal(cg_pol_load(&pt_arena, cg_str_from_c(text), CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_GLOBAL, NULL, &d, &doc), 0);
	assert_int_equal(d.num_warnings, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_defaults, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_order, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_missing_base_and_sections, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_missing_base_warning, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_chain, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
