/* `certgate policy ...`, `nv ...` and `fragment ...`: policy documents,
 * the named values they refer to, and policy fragments. The store loads
 * every text before it commits it; these commands read files, print the
 * store's diagnostics as "FILE:line:col: message", and never print a
 * secret value unless asked to (`nv show --reveal`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "cli/cli-int.h"
#include "policy/exprhook.h"
#include "policy/policy.h"

#define CHECK_ARENA_CHUNK (64 * 1024)   /* policy check: tree, programs, diagnostics */
#define SECRET_MIN_SCRUB  4             /* as the store: shorter secrets are not scrubbed */
#define CHECK_OUT_MAX     (1024 * 1024) /* policy check: all diagnostics, formatted */
#define CHECK_LINE_MAX    (8 * 1024)    /* policy check: one diagnostic */

/* --product / --api / --operation to a scope and the id the store takes
 * for it (*api: the product id at product scope); usage error when
 * --operation comes alone or --product with another. */
static int scope_of(const struct cg_cli_ctx *ctx, const char *product, const char **api,
		    const char *op, enum cg_model_policy_scope *out)
{
	if (op && !*api)
		return cg_cli_usage_error(ctx, "--operation needs --api");
	if (product && *api)
		return cg_cli_usage_error(ctx, "--product excludes --api and --operation");
	*out = product ? CG_MODEL_POLICY_PRODUCT
	       : op    ? CG_MODEL_POLICY_OPERATION
	       : *api  ? CG_MODEL_POLICY_API
		       : CG_MODEL_POLICY_GLOBAL;
	if (product)
		*api = product;
	return 0;
}

static int check_format_opt(const struct cg_cli_ctx *ctx, const char *format)
{
	if (format && strcmp(format, "rawxml") != 0 && strcmp(format, "xml") != 0)
		return cg_cli_usage_error(ctx, "--format must be rawxml or xml, not '%s'", format);
	return 0;
}

/* Prints a stored text as it is, ending it with a newline when it has none,
 * so `policy show > f.xml` and `fragment show X > f.xml` round-trip. */
static void print_text(const char *text)
{
	size_t n = strlen(text);
	fwrite(text, 1, n, stdout);
	if (n && text[n - 1] != '\n')
		putchar('\n');
}

int cg_cli_policy_set(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *api = NULL, *op = NULL, *format = NULL, *product = NULL;
	const struct cg_cli_opt opts[] = {
		{ "--product", &product, NULL },
		{ "--api", &api, NULL },
		{ "--operation", &op, NULL },
		{ "--format", &format, NULL },
	};
	static const char *const pos[] = { "FILE" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	enum cg_model_policy_scope scope = CG_MODEL_POLICY_GLOBAL; /* set by scope_of */
	int rc;
	if ((rc = scope_of(ctx, product, &api, op, &scope)) || (rc = check_format_opt(ctx, format)))
		return rc;
	const char *file = a.pos[0];
	char *text;
	if ((rc = cg_cli_read_file("policy", file, &text)))
		return rc;
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_CREATE);
	if (!st) {
		free(text);
		return CG_CLI_EXIT_FAIL;
	}
	char *err = malloc(CG_STORE_DIAG_LEN);
	if (!err) {
		free(text);
		cg_store_close(st);
		return cg_cli_fail("out of memory");
	}
	rc = cg_store_policy_set(st, scope, api, op, format, text, err, CG_STORE_DIAG_LEN);
	cg_store_close(st);
	free(text);
	const char *shown = strcmp(file, "-") == 0 ? "<stdin>" : file;
	if (rc) {
		cg_cli_print_diag_message(err, shown, NULL);
		free(err);
		return CG_CLI_EXIT_FAIL;
	}
	cg_cli_print_diag_lines(err, shown, NULL);
	free(err);
	char label[400];
	cg_store_policy_name(scope, api, op, label, sizeof(label));
	label[0] = 'T';
	printf("%s was set\n", label);
	return 0;
}

int cg_cli_policy_show(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *api = NULL, *op = NULL, *format = NULL, *product = NULL;
	const struct cg_cli_opt opts[] = {
		{ "--product", &product, NULL },
		{ "--api", &api, NULL },
		{ "--operation", &op, NULL },
		{ "--format", &format, NULL },
	};
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, NULL, 0, a);
	enum cg_model_policy_scope scope = CG_MODEL_POLICY_GLOBAL; /* set by scope_of */
	int rc;
	if ((rc = scope_of(ctx, product, &api, op, &scope)) || (rc = check_format_opt(ctx, format)))
		return rc;
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_READ);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	struct cg_store_text t;
	rc = format ? cg_store_policy_get_as(st, scope, api, op, format, &t, err, sizeof(err))
		    : cg_store_policy_get(st, scope, api, op, &t, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	print_text(t.value);
	cg_store_text_free(&t);
	return 0;
}

int cg_cli_policy_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *api = NULL, *op = NULL, *product = NULL;
	const struct cg_cli_opt opts[] = {
		{ "--product", &product, NULL },
		{ "--api", &api, NULL },
		{ "--operation", &op, NULL },
	};
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, NULL, 0, a);
	enum cg_model_policy_scope scope = CG_MODEL_POLICY_GLOBAL; /* set by scope_of */
	int rc;
	if ((rc = scope_of(ctx, product, &api, op, &scope)))
		return rc;
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_WRITE);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	rc = cg_store_policy_rm(st, scope, api, op, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	char label[400];
	cg_store_policy_name(scope, api, op, label, sizeof(label));
	label[0] = 'T';
	printf("%s was removed\n", label);
	return 0;
}

/* Indexed by enum cg_model_policy_scope. */
static const char *const scope_words[] = { "global", "api", "operation", "product" };

static json_t *policy_json(const struct cg_model *m, size_t i)
{
	const struct cg_model_policy *p = &m->policies[i];
	json_t *j = json_object();
	cg_cli_jput(j, "scope", json_string(scope_words[p->scope]));
	cg_cli_jput(j, "apiId", p->api_id ? json_string(p->api_id) : json_null());
	cg_cli_jput(j, "operationId", p->op_id ? json_string(p->op_id) : json_null());
	cg_cli_jput(j, "productId", p->product_id ? json_string(p->product_id) : json_null());
	cg_cli_jput(j, "format", json_string(p->format));
	cg_cli_jput(j, "bytes", json_integer((json_int_t)strlen(p->value)));
	return j;
}

static void policy_row(const struct cg_model *m, size_t i, struct cg_cli_table *t)
{
	const struct cg_model_policy *p = &m->policies[i];
	char n[24];
	snprintf(n, sizeof(n), "%zu", strlen(p->value));
	/* a product policy shows its product where an API would be */
	const char *owner = p->product_id ? p->product_id : p->api_id;
	const char *row[] = { scope_words[p->scope], owner ? owner : "-",
			      p->op_id ? p->op_id : "-", p->format, n };
	cg_cli_table_row(t, row);
}

int cg_cli_policy_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const head[] = { "SCOPE", "API/PRODUCT", "OPERATION", "FORMAT", "BYTES" };
	static const struct cg_cli_list l = { head, 5, offsetof(struct cg_model, num_policies),
					      policy_json, policy_row };
	return cg_cli_list(ctx, argc, argv, &l);
}

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Length of the secret text of m that starts at s[i], or 0: a whole
 * secret value, or a word of one (SECRET_MIN_SCRUB bytes or more), as the
 * store scrubs its messages. */
static size_t secret_at(struct cg_str s, size_t i, const struct cg_model *m)
{
	for (size_t k = 0; m && k < m->num_named_values; k++) {
		const struct cg_model_named_value *v = &m->named_values[k];
		if (!v->secret)
			continue;
		size_t vl = strlen(v->value);
		if (vl >= SECRET_MIN_SCRUB && vl <= s.len - i &&
		    memcmp(s.ptr + i, v->value, vl) == 0)
			return vl;
		for (size_t a = 0; a < vl;) {
			if (!word_char(v->value[a])) {
				a++;
				continue;
			}
			size_t b = a;
			while (b < vl && word_char(v->value[b]))
				b++;
			if (b - a >= SECRET_MIN_SCRUB && b - a <= s.len - i &&
			    memcmp(s.ptr + i, v->value + a, b - a) == 0)
				return b - a;
			a = b;
		}
	}
	return 0;
}

/* Appends s with the secrets of m replaced by "***". */
static int scrub(struct cg_buf *out, struct cg_str s, const struct cg_model *m)
{
	size_t i = 0, copied = 0;
	while (i < s.len) {
		size_t hit = secret_at(s, i, m);
		if (!hit) {
			i++;
			continue;
		}
		if (cg_buf_append(out, s.ptr + copied, i - copied) != 0 ||
		    cg_buf_append(out, "***", 3) != 0)
			return -1;
		i += hit;
		copied = i;
	}
	return cg_buf_append(out, s.ptr + copied, s.len - copied);
}

int cg_cli_policy_check(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *scope_opt = NULL;
	const struct cg_cli_opt opts[] = {
		{ "--format", &format, NULL },
		{ "--scope", &scope_opt, NULL },
	};
	static const char *const pos[] = { "FILE" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	int rc;
	if ((rc = check_format_opt(ctx, format)))
		return rc;
	/* The scope matters for documents: narrower scopes warn about
	 * sections without <base/>. */
	enum cg_pol_scope scope = CG_POL_SCOPE_GLOBAL;
	if (scope_opt && strcmp(scope_opt, "api") == 0)
		scope = CG_POL_SCOPE_API;
	else if (scope_opt && strcmp(scope_opt, "operation") == 0)
		scope = CG_POL_SCOPE_OPERATION;
	else if (scope_opt && strcmp(scope_opt, "product") == 0)
		scope = CG_POL_SCOPE_PRODUCT;
	else if (scope_opt && strcmp(scope_opt, "global") != 0)
		return cg_cli_usage_error(
			ctx, "--scope must be global, product, api or operation, not '%s'", scope_opt);
	const char *file = a.pos[0];
	const char *shown = strcmp(file, "-") == 0 ? "<stdin>" : file;
	char *text;
	if ((rc = cg_cli_read_file("policy", file, &text)))
		return rc;
	/* With a store, its named values and fragments are in scope, as they
	 * will be when the policy is set; without one, references fail. */
	struct cg_model m;
	bool have_model = false;
	if (cg_store_exists(ctx->store_path)) {
		struct cg_store *st;
		if ((rc = cg_cli_load(ctx, &st, &m))) {
			free(text);
			return rc;
		}
		cg_store_close(st);
		have_model = true;
	}
	struct cg_arena arena;
	cg_arena_init(&arena, CHECK_ARENA_CHUNK, 0);
	size_t nnv = have_model ? m.num_named_values : 0, nfr = have_model ? m.num_fragments : 0;
	struct cg_pol_named_value *nv = cg_arena_zalloc(&arena, (nnv + 1) * sizeof(*nv));
	struct cg_pol_fragment *fr = cg_arena_zalloc(&arena, (nfr + 1) * sizeof(*fr));
	struct cg_buf out;
	cg_buf_init(&out, CHECK_OUT_MAX);
	if (!nv || !fr) {
		rc = cg_cli_fail("out of memory");
		goto done;
	}
	for (size_t i = 0; i < nnv; i++) {
		nv[i].name = cg_str_from_c(m.named_values[i].name);
		nv[i].value = cg_str_from_c(m.named_values[i].value);
	}
	for (size_t i = 0; i < nfr; i++) {
		fr[i].id = cg_str_from_c(m.fragments[i].id);
		fr[i].text = cg_str_from_c(m.fragments[i].value);
		fr[i].format = strcmp(m.fragments[i].format, "xml") == 0 ? CG_POL_FORMAT_XML
									 : CG_POL_FORMAT_RAWXML;
	}
	struct cg_pol_env env = { nv, nnv, fr, nfr, cg_pol_expr_hook, &arena };
	struct cg_pol_diags d;
	cg_pol_diags_init(&d, &arena);
	enum cg_pol_format f =
		format && strcmp(format, "xml") == 0 ? CG_POL_FORMAT_XML : CG_POL_FORMAT_RAWXML;
	int errors;
	if (scope == CG_POL_SCOPE_GLOBAL) {
		errors = cg_pol_check(&arena, cg_str_from_c(text), f, &env, &d);
	} else {
		struct cg_pol_doc *doc;
		cg_pol_load(&arena, cg_str_from_c(text), f, scope, &env, &d, &doc);
		errors = (int)d.num_errors;
	}
	struct cg_buf one;
	cg_buf_init(&one, CHECK_LINE_MAX);
	for (const struct cg_pol_diag *dg = d.head; dg; dg = dg->next) {
		one.len = 0;
		/* A position in a stored fragment is not a position in FILE. */
		if (cg_pol_diag_format(dg, &one) != 0 ||
		    (!dg->origin.len && cg_buf_printf(&out, "%s:", shown) != 0) ||
		    scrub(&out, cg_buf_str(&one), have_model ? &m : NULL) != 0 ||
		    cg_buf_append(&out, "\n", 1) != 0)
			break;
	}
	cg_buf_free(&one);
	if (out.len)
		fwrite(out.data, 1, out.len, stdout);
	if (d.num_dropped)
		printf("%s: %zu more diagnostics not shown\n", shown, d.num_dropped);
	if (errors)
		rc = cg_cli_fail("%s: %d error%s, %zu warning%s", shown, errors,
				 errors == 1 ? "" : "s", d.num_warnings,
				 d.num_warnings == 1 ? "" : "s");
	else
		printf("%s: OK (%zu warning%s)\n", shown, d.num_warnings,
		       d.num_warnings == 1 ? "" : "s");
done:
	cg_buf_free(&out);
	cg_arena_destroy(&arena);
	if (have_model)
		cg_model_free(&m);
	free(text);
	return rc;
}

/* ---- named values ---------------------------------------------------- */

/* Splits "a,b,c" into at most max pointers into s (modified). */
static size_t split_tags(char *s, const char **out, size_t max)
{
	size_t n = 0;
	for (char *p = s; p && *p;) {
		char *c = strchr(p, ',');
		if (c)
			*c = 0;
		if (n < max)
			out[n] = p;
		n++;
		p = c ? c + 1 : NULL;
	}
	return n;
}

int cg_cli_nv_set(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *value_file = NULL, *tags = NULL;
	bool secret = false;
	const struct cg_cli_opt opts[] = {
		{ "--secret", NULL, &secret },
		{ "--value-file", &value_file, NULL },
		{ "--tags", &tags, NULL },
	};
	static const char *const pos[] = { "NAME", "VALUE" };
	struct cg_cli_args a;
	int rc = cg_cli_parse_range(ctx, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 1,
				    2, &a);
	if (rc || a.help) {
		if (a.help)
			cg_cli_command_help(ctx->cmd);
		return rc;
	}
	if (value_file && a.num_pos == 2)
		return cg_cli_usage_error(ctx, "give VALUE or --value-file, not both");
	if (!value_file && a.num_pos < 2)
		return cg_cli_usage_error(ctx, "missing VALUE (or --value-file FILE)");
	char *value = NULL;
	if (value_file) {
		if ((rc = cg_cli_read_file("--value-file", value_file, &value)))
			return rc;
		/* Editors end files with a newline that is not part of the value. */
		size_t n = strlen(value);
		if (n && value[n - 1] == '\n')
			value[--n] = 0;
		if (n && value[n - 1] == '\r')
			value[--n] = 0;
	}
	char *tag_copy = tags ? strdup(tags) : NULL;
	const char *tag_v[CG_STORE_MAX_NV_TAGS + 1];
	size_t ntags = tag_copy ? split_tags(tag_copy, tag_v, CG_STORE_MAX_NV_TAGS + 1) : 0;
	if (ntags > CG_STORE_MAX_NV_TAGS + 1)
		ntags = CG_STORE_MAX_NV_TAGS + 1; /* the store refuses it with the limit */
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_CREATE);
	if (!st) {
		cg_cli_free_secret(value);
		free(tag_copy);
		return CG_CLI_EXIT_FAIL;
	}
	char *err = malloc(CG_STORE_DIAG_LEN);
	bool created = false;
	struct cg_store_nv_set in = {
		.name = a.pos[0],
		.value = value ? value : a.pos[1],
		.secret = secret,
		.tags = tag_v,
		.num_tags = ntags,
		.created = &created,
	};
	if (!err)
		rc = cg_cli_fail("out of memory");
	else if ((rc = cg_store_nv_set(st, &in, err, CG_STORE_DIAG_LEN)))
		cg_cli_print_diag_message(err, NULL, NULL);
	cg_store_close(st);
	cg_cli_free_secret(value);
	free(tag_copy);
	free(err);
	if (rc)
		return CG_CLI_EXIT_FAIL;
	printf("named value '%s' %s%s\n", a.pos[0], created ? "created" : "updated",
	       secret ? " (secret)" : "");
	return 0;
}

/* APIM's list hides secret values (they need listValue). */
static json_t *nv_json(const struct cg_model *m, size_t i)
{
	const struct cg_model_named_value *v = &m->named_values[i];
	json_t *j = json_object();
	cg_cli_jput(j, "name", json_string(v->name));
	cg_cli_jput(j, "secret", json_boolean(v->secret));
	cg_cli_jput(j, "value", v->secret ? json_null() : json_string(v->value));
	return j;
}

static void nv_row(const struct cg_model *m, size_t i, struct cg_cli_table *t)
{
	const struct cg_model_named_value *v = &m->named_values[i];
	const char *row[] = { v->name, v->secret ? "yes" : "no", v->secret ? "***" : v->value };
	cg_cli_table_row(t, row);
}

int cg_cli_nv_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const head[] = { "NAME", "SECRET", "VALUE" };
	static const struct cg_cli_list l = { head, 3, offsetof(struct cg_model, num_named_values),
					      nv_json, nv_row };
	return cg_cli_list(ctx, argc, argv, &l);
}

int cg_cli_nv_show(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	bool json = false, reveal = false;
	const struct cg_cli_opt opts[] = {
		{ "--json", NULL, &json },
		{ "--reveal", NULL, &reveal },
	};
	static const char *const pos[] = { "NAME" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_READ);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	struct cg_store_nv v;
	int rc = cg_store_nv_get(st, a.pos[0], &v, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	bool hide = v.secret && !reveal;
	if (json) {
		json_t *j = json_object();
		cg_cli_jput(j, "name", json_string(v.name));
		cg_cli_jput(j, "secret", json_boolean(v.secret));
		cg_cli_jput(j, "value", hide ? json_null() : json_string(v.value));
		json_t *tags = json_loads(v.tags, 0, NULL);
		cg_cli_jput(j, "tags", tags ? tags : json_array());
		rc = cg_cli_json_print(j);
	} else {
		printf("Name:    %s\n", v.name);
		printf("Secret:  %s\n", v.secret ? "yes" : "no");
		printf("Value:   %s\n", hide ? "*** (use --reveal to show it)" : v.value);
		printf("Tags:    %s\n", v.tags);
	}
	cg_store_nv_free(&v);
	return rc;
}

int cg_cli_nv_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const struct cg_cli_rm r = { "NAME", cg_store_nv_rm, CG_CLI_RM_ERR_LEN,
					    "named value", "", NULL };
	return cg_cli_rm(ctx, argc, argv, &r);
}

/* ---- fragments ------------------------------------------------------- */

int cg_cli_fragment_set(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *description = NULL, *format = NULL;
	const struct cg_cli_opt opts[] = {
		{ "--description", &description, NULL },
		{ "--format", &format, NULL },
	};
	static const char *const pos[] = { "ID", "FILE" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 2, a);
	int rc;
	if ((rc = check_format_opt(ctx, format)))
		return rc;
	const char *file = a.pos[1];
	const char *shown = strcmp(file, "-") == 0 ? "<stdin>" : file;
	char *text;
	if ((rc = cg_cli_read_file("fragment", file, &text)))
		return rc;
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_CREATE);
	if (!st) {
		free(text);
		return CG_CLI_EXIT_FAIL;
	}
	char *err = malloc(CG_STORE_DIAG_LEN);
	if (!err)
		rc = cg_cli_fail("out of memory");
	else if ((rc = cg_store_fragment_set(st, a.pos[0], description, format, text, err,
					     CG_STORE_DIAG_LEN)))
		cg_cli_print_diag_message(err, shown, a.pos[0]);
	else
		cg_cli_print_diag_lines(err, shown, a.pos[0]);
	cg_store_close(st);
	free(text);
	free(err);
	if (rc)
		return CG_CLI_EXIT_FAIL;
	printf("fragment '%s' was set\n", a.pos[0]);
	return 0;
}

/* APIM policyFragments/{id} shape. */
static json_t *fragment_json(const struct cg_model_fragment *f, bool with_value)
{
	json_t *j = json_object(), *p = json_object();
	cg_cli_jput(j, "id", json_string(f->id));
	cg_cli_jput(p, "description", json_string(f->description));
	cg_cli_jput(p, "format", json_string(f->format));
	if (with_value)
		cg_cli_jput(p, "value", json_string(f->value));
	cg_cli_jput(j, "properties", p);
	return j;
}

static json_t *fragment_item_json(const struct cg_model *m, size_t i)
{
	return fragment_json(&m->fragments[i], false);
}

static void fragment_row(const struct cg_model *m, size_t i, struct cg_cli_table *t)
{
	const struct cg_model_fragment *f = &m->fragments[i];
	char n[24];
	snprintf(n, sizeof(n), "%zu", strlen(f->value));
	const char *row[] = { f->id, f->format, n, f->description };
	cg_cli_table_row(t, row);
}

int cg_cli_fragment_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const head[] = { "ID", "FORMAT", "BYTES", "DESCRIPTION" };
	static const struct cg_cli_list l = { head, 4, offsetof(struct cg_model, num_fragments),
					      fragment_item_json, fragment_row };
	return cg_cli_list(ctx, argc, argv, &l);
}

int cg_cli_fragment_show(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const char *format = NULL;
	const struct cg_cli_opt opts[] = {
		{ "--json", NULL, &json },
		{ "--format", &format, NULL },
	};
	static const char *const pos[] = { "ID" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	int rc;
	if ((rc = check_format_opt(ctx, format)))
		return rc;
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_READ);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	struct cg_store_text t;
	rc = format ? cg_store_fragment_get_as(st, a.pos[0], format, &t, err, sizeof(err))
		    : cg_store_fragment_get(st, a.pos[0], &t, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	if (json) {
		struct cg_model_fragment f = { a.pos[0], t.description, t.format, t.value };
		rc = cg_cli_json_print(fragment_json(&f, true));
	} else {
		print_text(t.value); /* the text alone */
	}
	cg_store_text_free(&t);
	return rc;
}

int cg_cli_fragment_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const struct cg_cli_rm r = { "ID", cg_store_fragment_rm, CG_CLI_RM_ERR_LEN,
					    "fragment", "", NULL };
	return cg_cli_rm(ctx, argc, argv, &r);
}
