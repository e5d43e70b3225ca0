/* The loader with the real expression engine behind its compile hook
 * (src/policy/exprhook.c): the client-certificate guide policies compile,
 * and an engine error is refused with the expression's position. */
#include "helpers.h"
#include "policy/exprhook.h"

static char *read_data(const char *name)
{
	const char *src = getenv("CG_SOURCE_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/policy/%s", src ? src : ".", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = cg_arena_alloc(&pt_arena, 65536);
	size_t n = fread(buf, 1, 65535, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void t_cert_policies_compile(void **state)
{
	(void)state;
	static const char *const files[] = { "cert-notafter.rawxml", "cert-issuer-subject.rawxml",
					     "cert-issuer-subject-bare.rawxml", "cert-thumbprint.rawxml",
					     "cert-deployment.rawxml", "cert-thumbprint.xml" };
	struct cg_pol_env env = { .compile = cg_pol_expr_hook, .compile_ud = &pt_arena };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *diags;
		struct cg_pol_doc *doc = pt_load_env(read_data(files[i]),
						     strstr(files[i], ".rawxml") ? CG_POL_FORMAT_RAWXML : CG_POL_FORMAT_XML,
						     CG_POL_SCOPE_OPERATION, &env, &diags);
		if (!doc)
			fail_msg("%s: %s", files[i], diags);
		const struct cg_pol_attr *c = cg_pol_attr_get(pt_stmt(doc, CG_POL_INBOUND, 1)->children, "condition");
		assert_true(c->is_expr);
		assert_non_null(c->compiled);
	}
}

static void t_engine_error(void **state)
{
	(void)state;
	struct cg_pol_env env = { .compile = cg_pol_expr_hook, .compile_ud = &pt_arena };
	const char *diags;
	assert_null(pt_load_env("<policies><inbound>\n  <set-variable name=\"a\" value=\"@(System.IO.File.ReadAllText(&quot;x&quot;))\" />\n</inbound></policies>",
				CG_POL_FORMAT_XML, CG_POL_SCOPE_OPERATION, &env, &diags));
	/* Reported at the expression; the engine's own wording follows. */
	assert_true(strncmp(diags, "2:33: ", 6) == 0);
	assert_non_null(strstr(diags, "not supported"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_cert_policies_compile, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_engine_error, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
