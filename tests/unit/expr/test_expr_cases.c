/* Runs every tests/expr/NAME.test file (jq.test style data): each case is a
 * group of lines separated by a blank line:
 *
 *   # comment
 *   %directive args          context setup (see expr_harness.h, docs/expressions.md)
 *   <source lines>           the expression (or block with %block)
 *   => System.Int32 3        expected value: .NET type and rendering, or "null"
 *   !> System.Exception: msg expected runtime exception (type: message)
 *   !! 1:5 message           expected compile error (line:col and exact text)
 *   ~~ 1:5 message           expected warning
 *
 * Every failing case is reported with its file:line; the test fails if any
 * case fails. CG_SOURCE_DIR points at the repository. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "expr_harness.h"

struct tcase {
	char src[8192];
	size_t srclen;
	char expect[2048];
	int expect_kind; /* 0 none, 1 value, 2 exception, 3 compile error */
	char errs[CG_EXPR_MAX_DIAGS][256];
	unsigned nerrs;
	char warns[CG_EXPR_MAX_DIAGS][256];
	unsigned nwarns;
	char directives[64][512];
	unsigned ndirs;
	unsigned line;
};

static unsigned total_cases, failed_cases;

static void fail_case(const char *file, const struct tcase *tc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail_case(const char *file, const struct tcase *tc, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%u: FAIL: ", file, tc->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n    source: %.*s\n", (int)(tc->srclen > 300 ? 300 : tc->srclen), tc->src);
	failed_cases++;
}

static void run_case(const char *file, struct tcase *tc)
{
	struct cg_arena arena, req;
	cg_arena_init(&arena, 16384, 0);
	cg_arena_init(&req, 16384, 64 << 20);
	struct h_case *hc = calloc(1, sizeof(*hc));
	h_init(hc);
	total_cases++;
	for (unsigned k = 0; k < tc->ndirs; k++) {
		if (h_directive(hc, &arena, tc->directives[k]) < 0) {
			fail_case(file, tc, "unknown or bad directive: %s", tc->directives[k]);
			goto out;
		}
	}
	if (h_finish(hc, &arena) < 0) {
		fail_case(file, tc, "context setup failed");
		goto out;
	}
	struct cg_expr_diag diag;
	memset(&diag, 0, sizeof(diag));
	struct cg_expr_program *prog;
	int rc = cg_expr_compile(cg_str_make(tc->src, tc->srclen), hc->block ? CG_EXPR_KIND_BLOCK : CG_EXPR_KIND_EXPR,
				 hc->has_env ? &hc->env : NULL, &arena, &prog, &diag);
	/* compare diagnostics */
	unsigned ne = 0, nw = 0;
	char got[512];
	for (unsigned k = 0; k < diag.n; k++) {
		const struct cg_expr_diag_item *it = &diag.items[k];
		snprintf(got, sizeof(got), "%u:%u %s", it->line, it->col, it->msg);
		if (it->warning) {
			if (nw >= tc->nwarns || strcmp(tc->warns[nw], got) != 0) {
				fail_case(file, tc, "unexpected warning: %s%s%s", got, nw < tc->nwarns ? "\n    expected: " : "",
					  nw < tc->nwarns ? tc->warns[nw] : "");
				goto out;
			}
			nw++;
		} else {
			if (ne >= tc->nerrs || strcmp(tc->errs[ne], got) != 0) {
				fail_case(file, tc, "unexpected compile error: %s%s%s", got,
					  ne < tc->nerrs ? "\n    expected: " : "", ne < tc->nerrs ? tc->errs[ne] : "");
				goto out;
			}
			ne++;
		}
	}
	if (ne != tc->nerrs || nw != tc->nwarns) {
		fail_case(file, tc, "expected %u error(s) and %u warning(s), got %u and %u", tc->nerrs, tc->nwarns, ne, nw);
		goto out;
	}
	if (rc < 0) {
		if (!tc->nerrs)
			fail_case(file, tc, "compile failed without a diagnostic");
		goto out;
	}
	if (tc->nerrs) {
		fail_case(file, tc, "compiled, but errors were expected");
		goto out;
	}
	if (tc->expect_kind == 0) {
		fail_case(file, tc, "case has no expectation");
		goto out;
	}
	struct cg_expr_ctx ec = { .context = &hc->ctx, .arena = &req, .max_steps = hc->max_steps,
				  .max_string = hc->max_string, .max_items = hc->max_items };
	struct cg_expr_value v;
	struct cg_expr_error err;
	rc = cg_expr_eval(prog, &ec, &v, &err);
	if (rc < 0)
		snprintf(got, sizeof(got), "%s: %s", err.type, err.message);
	else
		h_render(&req, &v, got, sizeof(got));
	if ((rc < 0) != (tc->expect_kind == 2) || strcmp(got, tc->expect) != 0) {
		fail_case(file, tc, "got %s%s\n    expected %s%s", rc < 0 ? "exception " : "", got,
			  tc->expect_kind == 2 ? "exception " : "", tc->expect);
		goto out;
	}
	if (hc->check_steps && ec.steps > hc->steps_at_most)
		fail_case(file, tc, "took %llu steps, more than %llu", (unsigned long long)ec.steps,
			  (unsigned long long)hc->steps_at_most);
out:
	free(hc);
	cg_arena_destroy(&req);
	cg_arena_destroy(&arena);
}

/* Copies the text of an expectation line; one longer than its slot fails
 * the run (a cut expectation could compare against the wrong text). */
static void put_expect(char *dst, size_t cap, const char *text, const char *name, unsigned lineno)
{
	size_t n = strlen(text);
	if (n >= cap) {
		print_error("%s:%u: expectation of %zu bytes, the harness keeps %zu\n", name, lineno, n, cap - 1);
		fail();
	}
	memcpy(dst, text, n + 1);
}

static void run_file(const char *path, const char *name)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[8192];
	unsigned lineno = 0;
	struct tcase *tc = calloc(1, sizeof(*tc));
	bool open = false;
	for (;;) {
		char *l = fgets(line, sizeof(line), f);
		if (l) {
			lineno++;
			size_t n = strlen(line);
			while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
		}
		if (!l || line[0] == '\0') {
			if (open)
				run_case(name, tc);
			memset(tc, 0, sizeof(*tc));
			open = false;
			if (!l)
				break;
			continue;
		}
		if (line[0] == '#' && !open)
			continue;
		if (!open) {
			open = true;
			tc->line = lineno;
		}
		if (line[0] == '%' && tc->srclen == 0) {
			if (tc->ndirs < 64)
				snprintf(tc->directives[tc->ndirs++], sizeof(tc->directives[0]), "%.500s", line);
		} else if (!strncmp(line, "=> ", 3)) {
			tc->expect_kind = 1;
			put_expect(tc->expect, sizeof(tc->expect), line + 3, name, lineno);
		} else if (!strncmp(line, "!> ", 3)) {
			tc->expect_kind = 2;
			put_expect(tc->expect, sizeof(tc->expect), line + 3, name, lineno);
		} else if (!strncmp(line, "!! ", 3)) {
			if (tc->nerrs < CG_EXPR_MAX_DIAGS)
				put_expect(tc->errs[tc->nerrs++], sizeof(tc->errs[0]), line + 3, name, lineno);
		} else if (!strncmp(line, "~~ ", 3)) {
			if (tc->nwarns < CG_EXPR_MAX_DIAGS)
				put_expect(tc->warns[tc->nwarns++], sizeof(tc->warns[0]), line + 3, name, lineno);
		} else if (line[0] == '%') {
			if (tc->ndirs < 64)
				snprintf(tc->directives[tc->ndirs++], sizeof(tc->directives[0]), "%.500s", line);
		} else {
			size_t n = strlen(line);
			if (tc->srclen + n + 1 < sizeof(tc->src)) {
				if (tc->srclen)
					tc->src[tc->srclen++] = '\n';
				memcpy(tc->src + tc->srclen, line, n);
				tc->srclen += n;
			}
		}
	}
	free(tc);
	fclose(f);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_all_cases(void **state)
{
	(void)state;
	const char *srcdir = getenv("CG_SOURCE_DIR");
	assert_non_null(srcdir);
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/tests/expr", srcdir);
	DIR *d = opendir(dir);
	assert_non_null(d);
	char *names[256];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 256) {
		size_t l = strlen(de->d_name);
		if (l > 5 && strcmp(de->d_name + l - 5, ".test") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (size_t k = 0; k < n; k++) {
		char path[1400], rel[600];
		snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
		snprintf(rel, sizeof(rel), "tests/expr/%s", names[k]);
		unsigned before = failed_cases, tb = total_cases;
		run_file(path, rel);
		fprintf(stderr, "%s: %u cases, %u failed\n", rel, total_cases - tb, failed_cases - before);
		free(names[k]);
	}
	fprintf(stderr, "total: %u cases, %u failed\n", total_cases, failed_cases);
	assert_true(n > 0);
	assert_int_equal(failed_cases, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
