/* Data-file tests: tests/policy/<name>.rawxml or <name>.xml is loaded at
 * operation scope (format from the extension) and compared with
 * <name>.out: the tree dump when it loads, then every diagnostic.
 * Named values come from tests/policy/named-values.txt (name=value per
 * line), fragments from tests/policy/fragments/<id>.rawxml.
 * CG_POL_REGEN=1 rewrites the .out files (review the diff before commit). */
#include <dirent.h>

#include "helpers.h"

#define MAXF 64

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct cg_buf b;
	cg_buf_init(&b, 1u << 24);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		assert_int_equal(cg_buf_append(&b, tmp, n), 0);
	fclose(f);
	char *s = cg_arena_strndup(&pt_arena, b.data ? b.data : "", b.len);
	*len = b.len;
	cg_buf_free(&b);
	return s;
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

static void t_files(void **state)
{
	(void)state;
	const char *src = getenv("CG_SOURCE_DIR");
	char dir[1024], path[1400];
	snprintf(dir, sizeof(dir), "%s/tests/policy", src ? src : ".");

	/* named values */
	static struct cg_pol_named_value nvs[MAXF];
	size_t nnv = 0, len;
	snprintf(path, sizeof(path), "%s/named-values.txt", dir);
	char *nvtext = read_file(path, &len);
	assert_non_null(nvtext);
	for (char *line = strtok(nvtext, "\n"); line && nnv < MAXF; line = strtok(NULL, "\n")) {
		char *eq = strchr(line, '=');
		if (!eq || line[0] == '#')
			continue;
		*eq = '\0';
		nvs[nnv++] = (struct cg_pol_named_value){ cg_str_from_c(line), cg_str_from_c(eq + 1) };
	}
	/* fragments */
	static struct cg_pol_fragment frs[MAXF];
	size_t nfr = 0;
	snprintf(path, sizeof(path), "%s/fragments", dir);
	DIR *fd = opendir(path);
	assert_non_null(fd);
	for (struct dirent *e; (e = readdir(fd)) && nfr < MAXF;) {
		if (!ends_with(e->d_name, ".rawxml"))
			continue;
		snprintf(path, sizeof(path), "%s/fragments/%s", dir, e->d_name);
		char *t = read_file(path, &len);
		assert_non_null(t);
		char *id = cg_arena_strndup(&pt_arena, e->d_name, strlen(e->d_name) - 7);
		frs[nfr++] = (struct cg_pol_fragment){ cg_str_from_c(id), cg_str_make(t, len), CG_POL_FORMAT_RAWXML };
	}
	closedir(fd);
	struct cg_pol_env env = { nvs, nnv, frs, nfr, NULL, NULL };

	int regen = getenv("CG_POL_REGEN") != NULL, files = 0, bad = 0;
	DIR *dd = opendir(dir);
	assert_non_null(dd);
	for (struct dirent *e; (e = readdir(dd));) {
		int raw = ends_with(e->d_name, ".rawxml");
		if (!raw && !ends_with(e->d_name, ".xml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *text = read_file(path, &len);
		assert_non_null(text);
		struct cg_pol_diags d;
		struct cg_pol_doc *doc = NULL;
		cg_pol_diags_init(&d, &pt_arena);
		int r = cg_pol_load(&pt_arena, cg_str_make(text, len), raw ? CG_POL_FORMAT_RAWXML : CG_POL_FORMAT_XML,
				    CG_POL_SCOPE_OPERATION, &env, &d, &doc);
		/* The tree (when it loads), then every diagnostic with warnings. */
		const char *got = r == 0 ? pt_dump(doc) : "";
		char *gotc = cg_arena_strndup(&pt_arena, got, strlen(got));
		got = pt_diags_filtered(&d, 1);
		gotc = cg_arena_printf(&pt_arena, "%s%s", gotc, got);
		size_t stem = strlen(e->d_name) - (raw ? 7 : 4);
		snprintf(path, sizeof(path), "%s/%.*s.out", dir, (int)stem, e->d_name);
		if (regen) {
			FILE *f = fopen(path, "wb");
			assert_non_null(f);
			fputs(gotc, f);
			fclose(f);
		}
		char *want = read_file(path, &len);
		if (!want || strcmp(want, gotc) != 0) {
			print_error("%s: mismatch\n--- want\n%s--- got\n%s", e->d_name, want ? want : "(no .out file)\n", gotc);
			bad++;
		}
		files++;
	}
	closedir(dd);
	assert_true(files >= 10);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_files, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
