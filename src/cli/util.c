/* CLI plumbing: argument parsing, messages, file reading, tables, JSON. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/cli-int.h"

#define CG_CLI_TABLE_CHUNK 16384 /* table arena chunk */
#define CG_CLI_TABLE_GAP   2     /* spaces between columns */

int cg_cli_usage_error(const struct cg_cli_ctx *ctx, const char *fmt, ...)
{
	char msg[CG_CLI_MSG_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx && ctx->cmd)
		fprintf(stderr, "certgate: %s: %s\nTry 'certgate %s --help'.\n", ctx->cmd, msg,
			ctx->cmd);
	else
		fprintf(stderr, "certgate: %s\nTry 'certgate --help'.\n", msg);
	return CG_CLI_EXIT_USAGE;
}

int cg_cli_fail(const char *fmt, ...)
{
	char msg[CG_CLI_MSG_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "certgate: %s\n", msg);
	return CG_CLI_EXIT_FAIL;
}

void cg_cli_warn(const char *fmt, ...)
{
	char msg[CG_CLI_MSG_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "certgate: warning: %s\n", msg);
}

int cg_cli_parse(struct cg_cli_ctx *ctx, int argc, char **argv, const struct cg_cli_opt *opts,
		 size_t num_opts, const char *const *pos_names, size_t num_pos,
		 struct cg_cli_args *out)
{
	return cg_cli_parse_range(ctx, argc, argv, opts, num_opts, pos_names, num_pos, num_pos,
				  out);
}

/* The part of a diagnostic line that is a position in file: a line that
 * starts with a digit ("3:14: ..."), or with "fragment 'ID' " when file
 * is that fragment's text. NULL for other lines (headings, positions in
 * stored fragments). */
static const char *in_file(const char *line, const char *frag_id)
{
	if (line[0] >= '0' && line[0] <= '9')
		return line;
	if (!frag_id)
		return NULL;
	size_t n = strlen(frag_id);
	if (strncmp(line, "fragment '", 10) == 0 && strncmp(line + 10, frag_id, n) == 0 &&
	    strncmp(line + 10 + n, "' ", 2) == 0)
		return line + 12 + n;
	return NULL;
}

static void print_lines(const char *text, const char *file, const char *frag_id)
{
	const char *line = text;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		int n = (int)(nl ? nl - line : (long)strlen(line));
		const char *pos = file ? in_file(line, frag_id) : NULL;
		if (pos)
			fprintf(stderr, "%s:%.*s\n", file, n - (int)(pos - line), pos);
		else
			fprintf(stderr, "%.*s\n", n, line);
		line = nl ? nl + 1 : NULL;
	}
}

void cg_cli_print_diag_message(const char *msg, const char *file, const char *frag_id)
{
	const char *nl = strchr(msg, '\n');
	fprintf(stderr, "certgate: %.*s\n", (int)(nl ? nl - msg : (long)strlen(msg)), msg);
	if (nl)
		print_lines(nl + 1, file, frag_id);
}

void cg_cli_print_diag_lines(const char *lines, const char *file, const char *frag_id)
{
	print_lines(lines, file, frag_id);
}

int cg_cli_parse_range(struct cg_cli_ctx *ctx, int argc, char **argv, const struct cg_cli_opt *opts,
		       size_t num_opts, const char *const *pos_names, size_t min_pos,
		       size_t num_pos, struct cg_cli_args *out)
{
	memset(out, 0, sizeof(*out));
	bool seen[CG_CLI_MAX_OPTS] = { false }, seen_store = false;
	bool only_pos = false;
	const char *store = NULL;
	/* --store is every command's: parsed here, after the command's own. */
	const struct cg_cli_opt store_opt = { "--store", &store, NULL };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_pos || a[0] != '-' || a[1] == 0) {
			if (out->num_pos >= num_pos || out->num_pos >= CG_CLI_MAX_POSITIONAL)
				return cg_cli_usage_error(ctx, "unexpected argument '%s'", a);
			out->pos[out->num_pos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			out->help = true;
			return 0;
		}
		const char *eq = strchr(a, '=');
		size_t nl = eq ? (size_t)(eq - a) : strlen(a);
		size_t k;
		for (k = 0; k < num_opts && k < CG_CLI_MAX_OPTS; k++)
			if (strlen(opts[k].name) == nl && strncmp(opts[k].name, a, nl) == 0)
				break;
		const struct cg_cli_opt *o = k < num_opts && k < CG_CLI_MAX_OPTS ? &opts[k] : NULL;
		bool *seen_o = o ? &seen[k] : &seen_store;
		if (!o && strlen(store_opt.name) == nl && strncmp(store_opt.name, a, nl) == 0)
			o = &store_opt;
		if (!o)
			return cg_cli_usage_error(ctx, "unknown option '%.*s'", (int)nl, a);
		if (*seen_o)
			return cg_cli_usage_error(ctx, "option %s is given twice", o->name);
		*seen_o = true;
		if (o->flag) {
			if (eq)
				return cg_cli_usage_error(ctx, "option %s takes no value", o->name);
			*o->flag = true;
			continue;
		}
		if (eq) {
			*o->value = eq + 1;
		} else {
			if (i + 1 >= argc)
				return cg_cli_usage_error(ctx, "option %s needs a value", o->name);
			*o->value = argv[++i];
		}
	}
	if (out->num_pos < min_pos)
		return cg_cli_usage_error(ctx, "missing %s", pos_names[out->num_pos]);
	if (store)
		ctx->store_path = store;
	return 0;
}

int cg_cli_read_bytes(const char *opt, const char *path, unsigned char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (!f)
		return cg_cli_fail("cannot read %s file '%s': %s", opt, path, strerror(errno));
	unsigned char *buf = malloc(CG_CLI_MAX_FILE_BYTES + 1);
	if (!buf) {
		if (!is_stdin)
			fclose(f);
		return cg_cli_fail("out of memory reading %s file '%s'", opt, path);
	}
	size_t n = fread(buf, 1, CG_CLI_MAX_FILE_BYTES + 1, f);
	int e = ferror(f) ? errno : 0;
	if (!is_stdin)
		fclose(f);
	if (e) {
		free(buf);
		return cg_cli_fail("cannot read %s file '%s': %s", opt, path, strerror(e));
	}
	/* Refused contents may be a key: wipe all n bytes read (no NUL yet). */
	if (n > CG_CLI_MAX_FILE_BYTES) {
		OPENSSL_cleanse(buf, n);
		free(buf);
		return cg_cli_fail("%s file '%s' is larger than %d bytes", opt, path,
				   CG_CLI_MAX_FILE_BYTES);
	}
	buf[n] = 0; /* so text callers may treat it as a string */
	*out = buf;
	*len = n;
	return 0;
}

int cg_cli_read_file(const char *opt, const char *path, char **out)
{
	unsigned char *buf;
	size_t n;
	*out = NULL;
	int rc = cg_cli_read_bytes(opt, path, &buf, &n);
	if (rc)
		return rc;
	if (memchr(buf, 0, n)) {
		OPENSSL_cleanse(buf, n);
		free(buf);
		/* Only certificate and key files have a binary form worth a hint. */
		if (strcmp(opt, "--cert") == 0 || strcmp(opt, "--key") == 0)
			return cg_cli_fail(
				"%s file '%s' is binary, not PEM text (convert DER with: openssl "
				"x509 -inform der / openssl pkey -inform der)",
				opt, path);
		return cg_cli_fail("%s file '%s' is binary, not text", opt, path);
	}
	*out = (char *)buf;
	return 0;
}

void cg_cli_free_secret(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

struct cg_store *cg_cli_open(const struct cg_cli_ctx *ctx, enum cg_cli_open_mode mode)
{
	char err[CG_STORE_ERR_LEN];
	if (mode == CG_CLI_OPEN_WRITE && !cg_store_exists(ctx->store_path)) {
		cg_cli_fail("store '%s' does not exist", ctx->store_path);
		return NULL;
	}
	struct cg_store *st =
		cg_store_open(ctx->store_path, mode == CG_CLI_OPEN_READ, err, sizeof(err));
	if (!st)
		cg_cli_fail("%s", err);
	return st;
}

int cg_cli_load(const struct cg_cli_ctx *ctx, struct cg_store **st, struct cg_model *m)
{
	*st = cg_cli_open(ctx, CG_CLI_OPEN_READ);
	if (!*st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	if (cg_store_load_model(*st, m, err, sizeof(err)) != 0) {
		cg_store_close(*st);
		*st = NULL;
		return cg_cli_store_fail(err);
	}
	return 0;
}

int cg_cli_store_fail(const char *err)
{
	return cg_cli_fail("%s", err);
}

void cg_cli_table_init(struct cg_cli_table *t, size_t num_cols, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	cg_arena_init(&t->arena, CG_CLI_TABLE_CHUNK, 0);
	t->num_cols = num_cols > CG_CLI_MAX_COLS ? CG_CLI_MAX_COLS : num_cols;
	for (size_t i = 0; i < t->num_cols; i++)
		t->head[i] = head[i];
}

void cg_cli_table_row(struct cg_cli_table *t, const char *const *cells)
{
	if (t->failed)
		return;
	if (t->num_rows == t->cap_rows) {
		size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
		if (t->num_rows >= CG_CLI_MAX_ROWS) {
			t->failed = true;
			return;
		}
		const char ***rows = realloc(t->rows, cap * sizeof(*rows));
		if (!rows) {
			t->failed = true;
			return;
		}
		t->rows = rows;
		t->cap_rows = cap;
	}
	const char **row = cg_arena_alloc(&t->arena, t->num_cols * sizeof(*row));
	if (!row) {
		t->failed = true;
		return;
	}
	for (size_t i = 0; i < t->num_cols; i++) {
		const char *c = cells[i] ? cells[i] : "";
		row[i] = cg_arena_strndup(&t->arena, c, strlen(c));
		if (!row[i]) {
			t->failed = true;
			return;
		}
	}
	t->rows[t->num_rows++] = row;
}

/* Display width: UTF-8 code points, so non-ASCII names stay aligned. */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

static void print_row(const struct cg_cli_table *t, const char *const *cells, const size_t *w)
{
	for (size_t c = 0; c < t->num_cols; c++) {
		fputs(cells[c], stdout);
		if (c + 1 < t->num_cols)
			printf("%*s", (int)(w[c] - width(cells[c]) + CG_CLI_TABLE_GAP), "");
	}
	putchar('\n');
}

int cg_cli_table_print(struct cg_cli_table *t)
{
	int rc = 0;
	if (t->failed) {
		rc = cg_cli_fail("out of memory building the table");
	} else {
		size_t w[CG_CLI_MAX_COLS];
		for (size_t c = 0; c < t->num_cols; c++) {
			w[c] = width(t->head[c]);
			for (size_t r = 0; r < t->num_rows; r++)
				if (width(t->rows[r][c]) > w[c])
					w[c] = width(t->rows[r][c]);
		}
		print_row(t, t->head, w);
		for (size_t r = 0; r < t->num_rows; r++)
			print_row(t, t->rows[r], w);
	}
	free(t->rows);
	t->rows = NULL;
	cg_arena_destroy(&t->arena);
	return rc;
}

/* Set when any cg_cli_jput/jappend failed (out of memory): the document is
 * incomplete and must not be printed as if it were whole. */
static bool json_broken;

void cg_cli_jput(json_t *obj, const char *key, json_t *v)
{
	if (!obj || !v || json_object_set_new(obj, key, v) != 0) {
		if (!obj)
			json_decref(v);
		json_broken = true;
	}
}

void cg_cli_jappend(json_t *arr, json_t *v)
{
	if (!arr || !v || json_array_append_new(arr, v) != 0) {
		if (!arr)
			json_decref(v);
		json_broken = true;
	}
}

int cg_cli_json_print(json_t *j)
{
	bool broken = json_broken;
	json_broken = false;
	if (!j || broken) {
		json_decref(j);
		return cg_cli_fail("out of memory building JSON");
	}
	int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	putchar('\n');
	return rc == 0 ? 0 : cg_cli_fail("cannot write JSON to stdout");
}

/* ---- list / show / rm skeletons ---- */

/* Prints l's collection of m; returns the exit code. */
static int list_print(const struct cg_cli_list *l, const struct cg_model *m, bool json)
{
	size_t n = *(const size_t *)((const char *)m + l->count_at);
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			cg_cli_jappend(arr, l->json(m, i));
		return cg_cli_json_print(arr);
	}
	struct cg_cli_table t;
	cg_cli_table_init(&t, l->num_cols, l->head);
	for (size_t i = 0; i < n; i++)
		l->row(m, i, &t);
	return cg_cli_table_print(&t);
}

/* The shared body of cg_cli_list and cg_cli_model_cmd: exactly one of fn
 * and l is set. */
static int model_cmd(struct cg_cli_ctx *ctx, int argc, char **argv, const char *const *pos_names,
		     size_t num_pos, cg_cli_model_fn fn, const struct cg_cli_list *l)
{
	bool json = false;
	const struct cg_cli_opt opts[] = { { "--json", NULL, &json } };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos_names, num_pos, a);
	struct cg_store *st;
	struct cg_model m;
	int rc = cg_cli_load(ctx, &st, &m);
	if (rc)
		return rc;
	rc = l ? list_print(l, &m, json) : fn(&m, a.pos, json);
	cg_model_free(&m);
	cg_store_close(st);
	return rc;
}

int cg_cli_list(struct cg_cli_ctx *ctx, int argc, char **argv, const struct cg_cli_list *l)
{
	return model_cmd(ctx, argc, argv, NULL, 0, NULL, l);
}

int cg_cli_model_cmd(struct cg_cli_ctx *ctx, int argc, char **argv, const char *const *pos_names,
		     size_t num_pos, cg_cli_model_fn fn)
{
	return model_cmd(ctx, argc, argv, pos_names, num_pos, fn, NULL);
}

static int rm_item(struct cg_store *st, const char *id, const struct cg_cli_rm *r)
{
	/* The kind's own buffer size: a longer one could show more of a
	 * message than this command always has. */
	char err[CG_CLI_RM_ERR_LEN];
	size_t errlen = r->errlen < sizeof(err) ? r->errlen : sizeof(err);
	if (r->rm(st, id, err, errlen))
		return cg_cli_store_fail(err);
	char name[CG_CLI_NAME_LEN];
	if (r->name)
		r->name(id, name, sizeof(name));
	printf("%s '%s' removed%s\n", r->what, r->name ? name : id, r->suffix);
	return 0;
}

/* The shared body of cg_cli_rm and cg_cli_store_cmd: exactly one of fn
 * and r is set. */
static int store_cmd(struct cg_cli_ctx *ctx, int argc, char **argv, const char *const *pos_names,
		     size_t num_pos, enum cg_cli_open_mode mode, cg_cli_store_fn fn,
		     const struct cg_cli_rm *r)
{
	struct cg_cli_args a;
	PARSE_N_OR_HELP(ctx, argc, argv, NULL, 0, pos_names, num_pos, a);
	struct cg_store *st = cg_cli_open(ctx, mode);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	int rc = r ? rm_item(st, a.pos[0], r) : fn(st, a.pos);
	cg_store_close(st);
	return rc;
}

int cg_cli_store_cmd(struct cg_cli_ctx *ctx, int argc, char **argv, const char *const *pos_names,
		     size_t num_pos, enum cg_cli_open_mode mode, cg_cli_store_fn fn)
{
	return store_cmd(ctx, argc, argv, pos_names, num_pos, mode, fn, NULL);
}

int cg_cli_rm(struct cg_cli_ctx *ctx, int argc, char **argv, const struct cg_cli_rm *r)
{
	const char *const pos[] = { r->pos_name };
	return store_cmd(ctx, argc, argv, pos, 1, CG_CLI_OPEN_WRITE, NULL, r);
}

int cg_cli_parse_bool(const struct cg_cli_ctx *ctx, const char *opt, const char *value, int *out)
{
	*out = -1;
	if (!value)
		return 0;
	if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
		*out = value[0] == 't';
		return 0;
	}
	return cg_cli_usage_error(ctx, "%s takes true or false, not '%s'", opt, value);
}
