/* The C#-aware scanner that finds where @( ... ) / @{ ... } ends in rawxml. */
#include "helpers.h"
#include "policy/internal.h"

struct scan_case {
	const char *code; /* starts with "@(" or "@{" */
	long end;         /* offset just past the closer, or -1 */
	const char *err;  /* expected message when end == -1 */
	size_t err_off;
};

static const struct scan_case cases[] = {
	{ "@(a)\" rest", 4, NULL, 0 },
	{ "@(f(\")\", ')', '\\'', '\"'))\"", 25, NULL, 0 },
	{ "@(@\"c:\\ \"\" )\" + x)", 18, NULL, 0 },
	{ "@($\"{{)}} {x} {(a ? \")\" : \"}\")} {d:yyyy)MM}\")", 45, NULL, 0 },
	{ "@($@\"{x}\"\") {{\")", 16, NULL, 0 },
	{ "@(@$\"{x}\"\")\")", 13, NULL, 0 },
	{ "@($\"{$\"{\")\"}\"}\")", 16, NULL, 0 },
	{ "@{ // ) } \"\n return 1; /* } */ }", 32, NULL, 0 },
	{ "@{ var a = new[] { 1, 2 }; return a[0] < 2 && a[1] > 1; }<x", 57, NULL, 0 },
	{ "@(x => x.Any(c => c.Value.Thumbprint == \"T\"))", 45, NULL, 0 },
	{ "@(a", -1, "Expression is not terminated: missing ')'", 1 },
	{ "@{ if (a) { }", -1, "Expression is not terminated: missing '}'", 1 },
	{ "@(a])", -1, "Unexpected ']' in expression", 3 },
	{ "@(\"abc)", -1, "Unterminated string literal in expression", 2 },
	{ "@(\"a\nb\")", -1, "Unterminated string literal in expression", 2 },
	{ "@(@\"abc)", -1, "Unterminated string literal in expression", 2 },
	{ "@($\"{a\")", -1, "Unterminated string literal in expression", 6 },
	{ "@('a)", -1, "Unterminated character literal in expression", 2 },
	{ "@(/* a)", -1, "Unterminated comment in expression", 2 },
};

static void t_scan_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct scan_case *c = &cases[i];
		size_t eoff = 0;
		const char *emsg = NULL;
		size_t n = strlen(c->code);
		long r = pol_cs_scan(c->code, n, 2, c->code[1] == '(' ? ')' : '}', &eoff, &emsg);
		if (r != c->end)
			fail_msg("case %zu (%s): end %ld, want %ld", i, c->code, r, c->end);
		if (r < 0) {
			assert_string_equal(emsg, c->err);
			if (eoff != c->err_off)
				fail_msg("case %zu: error at %zu, want %zu", i, eoff, c->err_off);
		}
	}
}

/* Nesting is bounded (CG_POL_MAX_EXPR_NEST) by brackets and strings alike. */
static void t_scan_nesting(void **state)
{
	(void)state;
	char buf[512];
	size_t eoff;
	const char *emsg;
	/* 63 nested interpolation holes inside @( ... ) */
	size_t n = 0;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "@(");
	for (int i = 0; i < 31; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "$\"{");
	for (int i = 0; i < 31; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "}\"");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ")");
	assert_int_equal(pol_cs_scan(buf, n, 2, ')', &eoff, &emsg), (long)n);
	n = 0;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "@(");
	for (int i = 0; i < 32; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "$\"{");
	for (int i = 0; i < 32; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "}\"");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ")");
	assert_int_equal(pol_cs_scan(buf, n, 2, ')', &eoff, &emsg), -1);
	assert_string_equal(emsg, "Expression is nested too deeply");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_scan_table, pt_setup, pt_teardown),
		cmocka_unit_test_setup_teardown(t_scan_nesting, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
