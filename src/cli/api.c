/* `certgate api ...` and `certgate op ...`: APIs (a URL suffix routed to a
 * backend) and their operations (method + URL template). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli-int.h"
#include "store/protocols.h"


static json_t *op_json(const struct cg_model_op *o)
{
	json_t *j = json_object();
	cg_cli_jput(j, "id", json_string(o->id));
	cg_cli_jput(j, "displayName", json_string(o->display_name));
	cg_cli_jput(j, "method", json_string(o->method));
	cg_cli_jput(j, "urlTemplate", json_string(o->url_template));
	return j;
}

static json_t *api_json(const struct cg_model *m, size_t i)
{
	const struct cg_model_api *a = &m->apis[i];
	json_t *j = json_object();
	cg_cli_jput(j, "id", json_string(a->id));
	cg_cli_jput(j, "displayName", json_string(a->display_name));
	cg_cli_jput(j, "path", json_string(a->path));
	cg_cli_jput(j, "serviceUrl", json_string(a->service_url));
	cg_cli_jput(j, "subscriptionRequired", json_boolean(a->subscription_required));
	cg_cli_jput(j, "protocols", cg_store_protocols_json(a->protocols));
	json_t *names = json_object();
	cg_cli_jput(names, "header", json_string(a->sub_key_header));
	cg_cli_jput(names, "query", json_string(a->sub_key_query));
	cg_cli_jput(j, "subscriptionKeyParameterNames", names);
	json_t *ops = json_array();
	for (size_t k = 0; k < a->num_ops; k++)
		cg_cli_jappend(ops, op_json(&a->ops[k]));
	cg_cli_jput(j, "operations", ops);
	return j;
}

static const struct cg_model_api *find_api(const struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_apis; i++)
		if (strcmp(m->apis[i].id, id) == 0)
			return &m->apis[i];
	return NULL;
}

/* "/" + path: how a client sees the URL suffix. */
static void shown_path(const char *path, char *out, size_t len)
{
	snprintf(out, len, "/%s", path);
}

static int op_table(const struct cg_model_api *a)
{
	static const char *const head[] = { "ID", "METHOD", "URL-TEMPLATE", "DISPLAY-NAME" };
	struct cg_cli_table t;
	cg_cli_table_init(&t, 4, head);
	for (size_t i = 0; i < a->num_ops; i++) {
		const struct cg_model_op *o = &a->ops[i];
		const char *row[] = { o->id, o->method, o->url_template, o->display_name };
		cg_cli_table_row(&t, row);
	}
	return cg_cli_table_print(&t);
}

int cg_cli_api_set(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *path = NULL, *backend = NULL, *dn = NULL, *req = NULL, *kh = NULL, *kq = NULL;
	const char *protos = NULL;
	const struct cg_cli_opt opts[] = {
		{ "--path", &path, NULL },
		{ "--backend", &backend, NULL },
		{ "--display-name", &dn, NULL },
		{ "--subscription-required", &req, NULL },
		{ "--subscription-key-header", &kh, NULL },
		{ "--subscription-key-query", &kq, NULL },
		{ "--protocols", &protos, NULL },
	};
	static const char *const pos[] = { "ID" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	int sub_req, rc;
	if ((rc = cg_cli_parse_bool(ctx, "--subscription-required", req, &sub_req)))
		return rc;
	char err[CG_STORE_ERR_LEN];
	unsigned proto_bits = 0;
	if (protos && cg_store_parse_protocols(protos, &proto_bits, err, sizeof(err)))
		return cg_cli_usage_error(ctx, "--protocols: %s", err);
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_CREATE);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	bool created = false;
	struct cg_store_api_set in = { .id = a.pos[0], .display_name = dn, .path = path,
				       .service_url = backend, .created = &created,
				       .subscription_required = sub_req, .sub_key_header = kh,
				       .sub_key_query = kq, .protocols = proto_bits };
	rc = cg_store_api_set(st, &in, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	printf("API '%s' %s\n", a.pos[0], created ? "created" : "updated");
	return 0;
}

static void api_row(const struct cg_model *m, size_t i, struct cg_cli_table *t)
{
	const struct cg_model_api *x = &m->apis[i];
	char p[CG_STORE_MAX_PATH_LEN + 2], n[24];
	shown_path(x->path, p, sizeof(p));
	snprintf(n, sizeof(n), "%zu", x->num_ops);
	const char *row[] = { x->id, p, cg_store_protocols_text(x->protocols), x->service_url, n,
			      x->display_name };
	cg_cli_table_row(t, row);
}

int cg_cli_api_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const head[] = { "ID", "PATH", "PROTOCOLS", "BACKEND", "OPERATIONS",
					    "DISPLAY-NAME" };
	static const struct cg_cli_list l = { head, 6, offsetof(struct cg_model, num_apis),
					      api_json, api_row };
	return cg_cli_list(ctx, argc, argv, &l);
}

/* The API named pos[0], or NULL after saying it does not exist. */
static const struct cg_model_api *api_or_fail(const struct cg_model *m, const char *const *pos)
{
	const struct cg_model_api *x = find_api(m, pos[0]);
	if (!x)
		cg_cli_fail("API '%s' does not exist", pos[0]);
	return x;
}

static int api_show(const struct cg_model *m, const char *const *pos, bool json)
{
	const struct cg_model_api *x = api_or_fail(m, pos);
	if (!x)
		return CG_CLI_EXIT_FAIL;
	if (json)
		return cg_cli_json_print(api_json(m, (size_t)(x - m->apis)));
	char p[CG_STORE_MAX_PATH_LEN + 2];
	shown_path(x->path, p, sizeof(p));
	printf("ID:            %s\n", x->id);
	printf("Display name:  %s\n", x->display_name);
	printf("Path:          %s\n", p);
	printf("Backend:       %s\n", x->service_url);
	printf("Protocols:     %s\n", cg_store_protocols_text(x->protocols));
	printf("Subscription:  %s (header %s, query %s)\n",
	       x->subscription_required ? "required" : "not required", x->sub_key_header,
	       x->sub_key_query);
	printf("Operations:    %zu\n\n", x->num_ops);
	return op_table(x);
}

int cg_cli_api_show(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const pos[] = { "ID" };
	return cg_cli_model_cmd(ctx, argc, argv, pos, 1, api_show);
}

int cg_cli_api_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const struct cg_cli_rm r = { "ID", cg_store_api_rm, CG_STORE_ERR_LEN, "API",
					    " (with its operations)", NULL };
	return cg_cli_rm(ctx, argc, argv, &r);
}

int cg_cli_op_set(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *method = NULL, *tmpl = NULL, *dn = NULL;
	const struct cg_cli_opt opts[] = {
		{ "--method", &method, NULL },
		{ "--url-template", &tmpl, NULL },
		{ "--display-name", &dn, NULL },
	};
	static const char *const pos[] = { "API-ID", "OP-ID" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 2, a);
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_WRITE);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	bool created = false;
	struct cg_store_op_set in = { a.pos[0], a.pos[1], dn, method, tmpl, &created };
	int rc = cg_store_op_set(st, &in, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	printf("operation '%s' of API '%s' %s\n", a.pos[1], a.pos[0],
	       created ? "created" : "updated");
	return 0;
}

static int op_list(const struct cg_model *m, const char *const *pos, bool json)
{
	const struct cg_model_api *x = api_or_fail(m, pos);
	if (!x)
		return CG_CLI_EXIT_FAIL;
	if (!json)
		return op_table(x);
	json_t *arr = json_array();
	for (size_t i = 0; i < x->num_ops; i++)
		cg_cli_jappend(arr, op_json(&x->ops[i]));
	return cg_cli_json_print(arr);
}

int cg_cli_op_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const pos[] = { "API-ID" };
	return cg_cli_model_cmd(ctx, argc, argv, pos, 1, op_list);
}

static int op_show(const struct cg_model *m, const char *const *pos, bool json)
{
	const struct cg_model_api *x = api_or_fail(m, pos);
	if (!x)
		return CG_CLI_EXIT_FAIL;
	const struct cg_model_op *o = NULL;
	for (size_t i = 0; i < x->num_ops; i++)
		if (strcmp(x->ops[i].id, pos[1]) == 0)
			o = &x->ops[i];
	if (!o)
		return cg_cli_fail("API '%s' has no operation '%s'", pos[0], pos[1]);
	if (json)
		return cg_cli_json_print(op_json(o));
	printf("API:           %s\n", x->id);
	printf("ID:            %s\n", o->id);
	printf("Display name:  %s\n", o->display_name);
	printf("Method:        %s\n", o->method);
	printf("URL template:  %s\n", o->url_template);
	return 0;
}

int cg_cli_op_show(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const pos[] = { "API-ID", "OP-ID" };
	return cg_cli_model_cmd(ctx, argc, argv, pos, 2, op_show);
}

static int op_rm(struct cg_store *st, const char *const *pos)
{
	char err[CG_STORE_ERR_LEN];
	if (cg_store_op_rm(st, pos[0], pos[1], err, sizeof(err)))
		return cg_cli_store_fail(err);
	printf("operation '%s' of API '%s' removed\n", pos[1], pos[0]);
	return 0;
}

int cg_cli_op_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const pos[] = { "API-ID", "OP-ID" };
	return cg_cli_store_cmd(ctx, argc, argv, pos, 2, CG_CLI_OPEN_WRITE, op_rm);
}
