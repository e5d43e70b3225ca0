/* Shared helpers for the policy loader tests. */
#ifndef CG_TEST_POLICY_HELPERS_H
#define CG_TEST_POLICY_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "policy/policy.h"

/* One arena per test; torn down by pt_teardown. */
static struct cg_arena pt_arena;
static struct cg_buf pt_out;

static __attribute__((unused)) int pt_setup(void **state)
{
	(void)state;
	cg_arena_init(&pt_arena, 16384, 0);
	cg_buf_init(&pt_out, 1u << 24);
	return 0;
}

static __attribute__((unused)) int pt_teardown(void **state)
{
	(void)state;
	cg_arena_destroy(&pt_arena);
	cg_buf_free(&pt_out);
	return 0;
}

/* Diagnostics, one per line; warnings only when with_warnings. */
static __attribute__((unused)) const char *pt_diags_filtered(const struct cg_pol_diags *d, int with_warnings)
{
	pt_out.len = 0;
	for (const struct cg_pol_diag *dg = d->head; dg; dg = dg->next) {
		if (dg->severity == CG_POL_WARNING && !with_warnings)
			continue;
		assert_int_equal(cg_pol_diag_format(dg, &pt_out), 0);
		assert_int_equal(cg_buf_append(&pt_out, "\n", 1), 0);
	}
	assert_int_equal(cg_buf_append(&pt_out, "", 1), 0);
	return pt_out.data;
}

/* Errors only: most tests are about errors; warnings have their own. */
static __attribute__((unused)) const char *pt_diags_text(const struct cg_pol_diags *d)
{
	return pt_diags_filtered(d, 0);
}

/* Loads text; returns the doc or NULL, and the diagnostics text in *diags. */
static __attribute__((unused)) struct cg_pol_doc *pt_load_env(const char *text, enum cg_pol_format fmt, enum cg_pol_scope scope,
				      const struct cg_pol_env *env, const char **diags)
{
	struct cg_pol_diags d;
	struct cg_pol_doc *doc = NULL;
	cg_pol_diags_init(&d, &pt_arena);
	int r = cg_pol_load(&pt_arena, cg_str_from_c(text), fmt, scope, env, &d, &doc);
	const char *t = pt_diags_text(&d);
	if (diags)
		*diags = t;
	if (r == 0)
		assert_non_null(doc);
	else
		assert_null(doc);
	assert_true((r == 0) == (d.num_errors == 0));
	return doc;
}

static __attribute__((unused)) struct cg_pol_doc *pt_load(const char *text)
{
	const char *diags;
	struct cg_pol_doc *doc = pt_load_env(text, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_OPERATION, NULL, &diags);
	if (!doc)
		fail_msg("unexpected errors:\n%s", diags);
	return doc;
}

/* Expects load failure with exactly these diagnostics ("1:2: msg\n..."). */
static __attribute__((unused)) void pt_expect_errors_env(const char *text, const struct cg_pol_env *env, const char *want)
{
	const char *diags;
	struct cg_pol_doc *doc = pt_load_env(text, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_OPERATION, env, &diags);
	assert_null(doc);
	assert_string_equal(diags, want);
}

static __attribute__((unused)) void pt_expect_errors(const char *text, const char *want)
{
	pt_expect_errors_env(text, NULL, want);
}

/* A document that must be refused with exactly these diagnostics. */
struct err_case {
	const char *text;
	const char *want;
};

/* Loads every case at operation scope; prints each one that loaded or
 * reported other diagnostics, and fails if there was any. */
static __attribute__((unused)) void pt_error_table(const struct err_case *cases, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		const char *diags;
		struct cg_pol_doc *doc = pt_load_env(cases[i].text, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_OPERATION, NULL, &diags);
		if (doc || strcmp(diags, cases[i].want) != 0) {
			print_error("case %zu: %s\nwant: %sgot:  %s", i, cases[i].text, cases[i].want, diags);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Loads every case at global scope: an empty want means the document
 * loads with no diagnostics, else it is refused with exactly want. */
static __attribute__((unused)) void pt_load_table(const struct err_case *cases, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		const char *diags;
		struct cg_pol_doc *doc = pt_load_env(cases[i].text, CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_GLOBAL, NULL, &diags);
		if ((doc != NULL) != (cases[i].want[0] == '\0') || strcmp(diags, cases[i].want) != 0) {
			print_error("case %zu: %s\nwant: %sgot:  %s\n", i, cases[i].text, cases[i].want, diags);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static __attribute__((unused)) const char *pt_dump(const struct cg_pol_doc *doc)
{
	pt_out.len = 0;
	assert_int_equal(cg_pol_dump_doc(doc, &pt_out), 0);
	assert_int_equal(cg_buf_append(&pt_out, "", 1), 0);
	return pt_out.data;
}

/* The n-th (0-based) statement of a section. */
static __attribute__((unused)) const struct cg_pol_node *pt_stmt(const struct cg_pol_doc *doc, int section, int n)
{
	assert_non_null(doc->sections[section]);
	const struct cg_pol_node *c = doc->sections[section]->children;
	while (c && n--)
		c = c->next;
	assert_non_null(c);
	return c;
}

#endif
