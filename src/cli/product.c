/* `certgate product ...`: APIM products (a group of APIs that a
 * subscription scoped to "/products/PID" grants while the product is
 * published; its policy is set with `policy set --product`). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli-int.h"

/* --subscriptions-limit N|none -> the store's value; usage error else. */
static int parse_limit(const struct cg_cli_ctx *ctx, const char *v, int64_t *out)
{
	*out = -1;
	if (!v)
		return 0;
	if (strcmp(v, "none") == 0) {
		*out = CG_STORE_PRODUCT_NO_LIMIT;
		return 0;
	}
	char *end;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || n < 0 || n > 1000000000)
		return cg_cli_usage_error(ctx, "--subscriptions-limit takes 0 to 1000000000 or none, "
					       "not '%s'", v);
	*out = n;
	return 0;
}

int cg_cli_product_set(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *dn = NULL, *desc = NULL, *req = NULL, *appr = NULL, *limit = NULL,
		   *state = NULL;
	const struct cg_cli_opt opts[] = {
		{ "--display-name", &dn, NULL },
		{ "--description", &desc, NULL },
		{ "--subscription-required", &req, NULL },
		{ "--approval-required", &appr, NULL },
		{ "--subscriptions-limit", &limit, NULL },
		{ "--state", &state, NULL },
	};
	static const char *const pos[] = { "ID" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	int sub_req, approval, rc;
	int64_t lim;
	if ((rc = cg_cli_parse_bool(ctx, "--subscription-required", req, &sub_req)) ||
	    (rc = cg_cli_parse_bool(ctx, "--approval-required", appr, &approval)) ||
	    (rc = parse_limit(ctx, limit, &lim)))
		return rc;
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_CREATE);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	bool created = false;
	struct cg_store_product_set in = { .id = a.pos[0], .display_name = dn, .description = desc,
					   .subscription_required = sub_req,
					   .approval_required = approval, .subscriptions_limit = lim,
					   .state = state, .created = &created };
	rc = cg_store_product_set(st, &in, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	printf("product '%s' %s\n", a.pos[0], created ? "created" : "updated");
	return 0;
}

static const struct cg_model_product *find_product(const struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_products; i++)
		if (strcmp(m->products[i].id, id) == 0)
			return &m->products[i];
	return NULL;
}

static const char *state_of(const struct cg_model_product *p)
{
	return p->published ? "published" : "notPublished";
}

/* APIM products/{pid} properties, plus the ids of its APIs. */
static json_t *product_json(const struct cg_model *m, size_t i)
{
	const struct cg_model_product *p = &m->products[i];
	json_t *j = json_object(), *props = json_object(), *apis = json_array();
	cg_cli_jput(j, "id", json_string(p->id));
	cg_cli_jput(props, "displayName", json_string(p->display_name));
	cg_cli_jput(props, "description", json_string(p->description));
	cg_cli_jput(props, "subscriptionRequired", json_boolean(p->subscription_required));
	cg_cli_jput(props, "approvalRequired", json_boolean(p->approval_required));
	cg_cli_jput(props, "subscriptionsLimit", p->subscriptions_limit < 0
							 ? json_null()
							 : json_integer(p->subscriptions_limit));
	cg_cli_jput(props, "state", json_string(state_of(p)));
	for (size_t k = 0; k < p->num_apis; k++)
		cg_cli_jappend(apis, json_string(p->apis[k]));
	cg_cli_jput(j, "properties", props);
	cg_cli_jput(j, "apis", apis);
	return j;
}

static void product_row(const struct cg_model *m, size_t i, struct cg_cli_table *t)
{
	const struct cg_model_product *p = &m->products[i];
	char n[24];
	snprintf(n, sizeof(n), "%zu", p->num_apis);
	const char *row[] = { p->id, state_of(p), p->subscription_required ? "yes" : "no", n,
			      p->display_name };
	cg_cli_table_row(t, row);
}

int cg_cli_product_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const head[] = { "ID", "STATE", "KEY", "APIS", "DISPLAY-NAME" };
	static const struct cg_cli_list l = { head, 5, offsetof(struct cg_model, num_products),
					      product_json, product_row };
	return cg_cli_list(ctx, argc, argv, &l);
}

static int product_show(const struct cg_model *m, const char *const *pos, bool json)
{
	const struct cg_model_product *p = find_product(m, pos[0]);
	if (!p)
		return cg_cli_fail("product '%s' does not exist", pos[0]);
	if (json)
		return cg_cli_json_print(product_json(m, (size_t)(p - m->products)));
	printf("ID:                     %s\n", p->id);
	printf("Display name:           %s\n", p->display_name);
	printf("Description:            %s\n", p->description);
	printf("State:                  %s\n", state_of(p));
	printf("Subscription required:  %s\n", p->subscription_required ? "true" : "false");
	printf("Approval required:      %s\n", p->approval_required ? "true" : "false");
	if (p->subscriptions_limit < 0)
		printf("Subscriptions limit:    none\n");
	else
		printf("Subscriptions limit:    %" PRId64 "\n", p->subscriptions_limit);
	printf("Created:                %s\n", p->created_at);
	printf("APIs:                   ");
	for (size_t k = 0; k < p->num_apis; k++)
		printf("%s%s", k ? ", " : "", p->apis[k]);
	printf("%s\n", p->num_apis ? "" : "none");
	return 0;
}

int cg_cli_product_show(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const pos[] = { "ID" };
	return cg_cli_model_cmd(ctx, argc, argv, pos, 1, product_show);
}

int cg_cli_product_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	bool with_subs = false;
	const struct cg_cli_opt opts[] = { { "--delete-subscriptions", NULL, &with_subs } };
	static const char *const pos[] = { "ID" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_WRITE);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	int rc = cg_store_product_rm(st, a.pos[0], with_subs, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	printf("product '%s' removed\n", a.pos[0]);
	return 0;
}

static int add_api(struct cg_store *st, const char *const *pos)
{
	char err[CG_STORE_ERR_LEN];
	bool created = false;
	int rc = cg_store_product_api_add(st, pos[0], pos[1], &created, err, sizeof(err));
	if (rc)
		return cg_cli_store_fail(err);
	printf("API '%s' %s product '%s'\n", pos[1], created ? "added to" : "was already in",
	       pos[0]);
	return 0;
}

int cg_cli_product_add_api(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const pos[] = { "PRODUCT", "API" };
	return cg_cli_store_cmd(ctx, argc, argv, pos, 2, CG_CLI_OPEN_WRITE, add_api);
}

static int rm_api(struct cg_store *st, const char *const *pos)
{
	char err[CG_STORE_ERR_LEN];
	int rc = cg_store_product_api_rm(st, pos[0], pos[1], err, sizeof(err));
	if (rc)
		return cg_cli_store_fail(err);
	printf("API '%s' removed from product '%s'\n", pos[1], pos[0]);
	return 0;
}

int cg_cli_product_rm_api(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const pos[] = { "PRODUCT", "API" };
	return cg_cli_store_cmd(ctx, argc, argv, pos, 2, CG_CLI_OPEN_WRITE, rm_api);
}
