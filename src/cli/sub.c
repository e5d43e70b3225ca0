/* `certgate sub ...`: APIM subscriptions (a named pair of keys granting
 * all APIs, one API or a product's APIs while active). Lists and show never print the keys;
 * `sub keys` does (APIM listSecrets). */
#include <stdio.h>
#include <string.h>

#include "cli/cli-int.h"

int cg_cli_sub_set(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *scope = NULL, *dn = NULL, *state = NULL, *pk = NULL, *sk = NULL, *exp = NULL;
	bool no_exp = false;
	const struct cg_cli_opt opts[] = {
		{ "--scope", &scope, NULL },
		{ "--display-name", &dn, NULL },
		{ "--state", &state, NULL },
		{ "--primary-key", &pk, NULL },
		{ "--secondary-key", &sk, NULL },
		{ "--expiration", &exp, NULL },
		{ "--no-expiration", NULL, &no_exp },
	};
	static const char *const pos[] = { "ID" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	if (exp && no_exp)
		return cg_cli_usage_error(ctx, "--expiration and --no-expiration exclude each other");
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_CREATE);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	bool created = false;
	struct cg_store_sub_set in = { .id = a.pos[0], .display_name = dn, .scope = scope,
				       .state = state, .primary_key = pk, .secondary_key = sk,
				       .expiration = no_exp ? "" : exp, .created = &created };
	int rc = cg_store_sub_set(st, &in, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	printf("subscription '%s' %s\n", a.pos[0], created ? "created" : "updated");
	return 0;
}

static const struct cg_model_sub *find_sub(const struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_subs; i++)
		if (strcmp(m->subs[i].id, id) == 0)
			return &m->subs[i];
	return NULL;
}

/* APIM subscriptions/{sid} properties, without the keys. */
static json_t *sub_json(const struct cg_model *m, size_t i)
{
	const struct cg_model_sub *b = &m->subs[i];
	char scope[CG_STORE_SUB_SCOPE_LEN];
	cg_store_sub_scope(b, scope, sizeof(scope));
	json_t *j = json_object(), *p = json_object();
	cg_cli_jput(j, "id", json_string(b->id));
	cg_cli_jput(p, "displayName", json_string(b->display_name));
	cg_cli_jput(p, "scope", json_string(scope));
	cg_cli_jput(p, "state", json_string(b->state));
	cg_cli_jput(p, "createdDate", json_string(b->created_at));
	cg_cli_jput(p, "expirationDate", b->expiration ? json_string(b->expiration) : json_null());
	cg_cli_jput(j, "properties", p);
	return j;
}

static void sub_row(const struct cg_model *m, size_t i, struct cg_cli_table *t)
{
	const struct cg_model_sub *b = &m->subs[i];
	char scope[CG_STORE_SUB_SCOPE_LEN];
	cg_store_sub_scope(b, scope, sizeof(scope));
	const char *row[] = { b->id, scope, b->state, b->expiration ? b->expiration : "-",
			      b->display_name };
	cg_cli_table_row(t, row);
}

int cg_cli_sub_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const head[] = { "ID", "SCOPE", "STATE", "EXPIRES", "DISPLAY-NAME" };
	static const struct cg_cli_list l = { head, 5, offsetof(struct cg_model, num_subs),
					      sub_json, sub_row };
	return cg_cli_list(ctx, argc, argv, &l);
}

static int sub_show(const struct cg_model *m, const char *const *pos, bool json)
{
	const struct cg_model_sub *b = find_sub(m, pos[0]);
	if (!b)
		return cg_cli_fail("subscription '%s' does not exist", pos[0]);
	if (json)
		return cg_cli_json_print(sub_json(m, (size_t)(b - m->subs)));
	char scope[CG_STORE_SUB_SCOPE_LEN];
	cg_store_sub_scope(b, scope, sizeof(scope));
	printf("ID:            %s\n", b->id);
	printf("Display name:  %s\n", b->display_name);
	printf("Scope:         %s\n", scope);
	printf("State:         %s\n", b->state);
	printf("Created:       %s\n", b->created_at);
	printf("Expires:       %s\n", b->expiration ? b->expiration : "never");
	return 0;
}

int cg_cli_sub_show(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const pos[] = { "ID" };
	return cg_cli_model_cmd(ctx, argc, argv, pos, 1, sub_show);
}

/* APIM listSecrets: {primaryKey, secondaryKey}. */
static int sub_keys(const struct cg_model *m, const char *const *pos, bool json)
{
	const struct cg_model_sub *b = find_sub(m, pos[0]);
	if (!b)
		return cg_cli_fail("subscription '%s' does not exist", pos[0]);
	if (json) {
		json_t *j = json_object();
		cg_cli_jput(j, "primaryKey", json_string(b->primary_key));
		cg_cli_jput(j, "secondaryKey", json_string(b->secondary_key));
		return cg_cli_json_print(j);
	}
	printf("Primary key:   %s\n", b->primary_key);
	printf("Secondary key: %s\n", b->secondary_key);
	return 0;
}

int cg_cli_sub_keys(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const pos[] = { "ID" };
	return cg_cli_model_cmd(ctx, argc, argv, pos, 1, sub_keys);
}

int cg_cli_sub_regenerate(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	bool primary = false, secondary = false;
	const struct cg_cli_opt opts[] = {
		{ "--primary", NULL, &primary },
		{ "--secondary", NULL, &secondary },
	};
	static const char *const pos[] = { "ID" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	if (primary == secondary)
		return cg_cli_usage_error(ctx, "give exactly one of --primary and --secondary");
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_WRITE);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	int rc = cg_store_sub_regenerate(st, a.pos[0], secondary, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	printf("subscription '%s': new %s key\n", a.pos[0], secondary ? "secondary" : "primary");
	return 0;
}

int cg_cli_sub_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const struct cg_cli_rm r = { "ID", cg_store_sub_rm, CG_STORE_ERR_LEN,
					    "subscription", "", NULL };
	return cg_cli_rm(ctx, argc, argv, &r);
}
