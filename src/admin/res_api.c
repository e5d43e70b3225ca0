/* apis/{api} and apis/{api}/operations/{op} in APIM's ARM shape. PUT
 * creates or updates; on update, properties left out keep their stored
 * value (what the store's set operations do and what APIOps-style partial
 * bodies expect). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin-int.h"
#include "base/log.h"
#include "store/protocols.h"

#define TYPE_API "Microsoft.ApiManagement/service/apis"
#define TYPE_OP  "Microsoft.ApiManagement/service/apis/operations"

static json_t *api_json(const struct cg_model_api *a)
{
	char id[16 + CG_ADMIN_MAX_NAME_LEN];
	snprintf(id, sizeof(id), "/apis/%s", a->id);
	/* isCurrent is a fixed fact of certgate (no revisions), shown so ARM
	 * tooling finds the field it expects. */
	json_t *p = json_pack("{s:s,s:s,s:s,s:o?,s:b,s:{s:s,s:s},s:b}", "displayName",
			      a->display_name, "path", a->path, "serviceUrl", a->service_url,
			      "protocols", cg_store_protocols_json(a->protocols),
			      "subscriptionRequired", a->subscription_required,
			      "subscriptionKeyParameterNames", "header", a->sub_key_header, "query",
			      a->sub_key_query, "isCurrent", 1);
	return p ? cg_admin_resource(id, a->id, TYPE_API, p) : NULL;
}

static json_t *op_json(const struct cg_model_api *a, const struct cg_model_op *o)
{
	char id[32 + 2 * CG_ADMIN_MAX_NAME_LEN];
	snprintf(id, sizeof(id), "/apis/%s/operations/%s", a->id, o->id);
	json_t *p = json_pack("{s:s,s:s,s:s}", "displayName", o->display_name, "method", o->method,
			      "urlTemplate", o->url_template);
	return p ? cg_admin_resource(id, o->id, TYPE_OP, p) : NULL;
}

static const struct cg_model_api *find_api(const struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_apis; i++)
		if (strcmp(m->apis[i].id, id) == 0)
			return &m->apis[i];
	return NULL;
}

static const struct cg_model_op *find_op(const struct cg_model_api *a, const char *id)
{
	for (size_t i = 0; a && i < a->num_ops; i++)
		if (strcmp(a->ops[i].id, id) == 0)
			return &a->ops[i];
	return NULL;
}

static json_t *api_item(struct cg_admin_ctx *ctx, const struct cg_model *m, size_t i, bool *skip)
{
	return api_json(&m->apis[i]);
}

void cg_admin_h_apis(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		     const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	cg_admin_list_model(ctx, req, resp, offsetof(struct cg_model, num_apis), api_item);
}

/* Answers the stored item after a successful PUT (status 200 or 201). */
static void answer_api(struct cg_admin_ctx *ctx, const char *id, int status,
		       struct cg_admin_resp *resp)
{
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_api *a = find_api(&m, id);
	if (a)
		cg_admin_json(resp, status, api_json(a), "");
	else /* removed by another writer in between */
		cg_admin_error(resp, 404, "ResourceNotFound", "API '%s' not found", id);
	cg_model_free(&m);
}

/* properties.subscriptionKeyParameterNames {header, query}: absent or
 * null keeps both; a member left out keeps its value. 0, or -1 after a
 * 400. */
static int key_names(json_t *p, const char **header, const char **query,
		     struct cg_admin_resp *resp)
{
	json_t *n = json_object_get(p, "subscriptionKeyParameterNames");
	*header = *query = NULL;
	if (!n || json_is_null(n))
		return 0;
	if (!json_is_object(n)) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.subscriptionKeyParameterNames must be an object "
			       "{header, query}");
		return -1;
	}
	return cg_admin_opt_string(n, "header", header, resp) ||
			       cg_admin_opt_string(n, "query", query, resp)
		       ? -1
		       : 0;
}

/* properties.protocols: absent or null keeps the stored list (https only
 * on create); else a non-empty array of "http"/"https". 0, or -1 after a
 * 400. */
static int protocols(json_t *p, unsigned *out, struct cg_admin_resp *resp)
{
	json_t *v = json_object_get(p, "protocols");
	char err[CG_STORE_ERR_LEN];
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (cg_store_protocols_from_json(v, "properties.protocols", out, err, sizeof(err)) == 0)
		return 0;
	cg_admin_error(resp, 400, "ValidationError", "%s", err);
	return -1;
}

static void put_api(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		    const struct cg_admin_route *rt, struct cg_admin_resp *resp, const char *what,
		    const char *etag, bool exists)
{
	json_t *body = cg_admin_body_object(req, resp);
	if (!body)
		return;
	json_t *p = cg_admin_props(body, resp);
	const char *dn, *path, *url;
	int sub;
	unsigned protos;
	const char *kh = NULL, *kq = NULL;
	if (!p || cg_admin_opt_string(p, "displayName", &dn, resp) ||
	    cg_admin_opt_string(p, "path", &path, resp) ||
	    cg_admin_opt_string(p, "serviceUrl", &url, resp) ||
	    cg_admin_opt_bool(p, "subscriptionRequired", &sub, resp) ||
	    key_names(p, &kh, &kq, resp) || protocols(p, &protos, resp))
		goto out;
	if (!cg_admin_if_match_ok(req, exists, etag)) {
		cg_admin_precondition_failed(resp, what, exists);
		goto out;
	}
	char err[CG_STORE_ERR_LEN];
	bool created = false;
	struct cg_store_api_set in = { .id = rt->api, .display_name = dn, .path = path,
				       .service_url = url, .created = &created,
				       .subscription_required = sub, .sub_key_header = kh,
				       .sub_key_query = kq, .protocols = protos };
	int rc = cg_store_api_set(ctx->store, &in, err, sizeof(err));
	/* A write that clashes with another entity (a path, a method and
	 * template) is an invalid request body; 409 is kept for removals. */
	if (rc == CG_STORE_FAIL_CONFLICT)
		rc = CG_STORE_FAIL_INVALID;
	if (rc) {
		cg_admin_store_fail(resp, rc, err);
		goto out;
	}
	cg_log_info("admin: API '%s' %s", rt->api, created ? "created" : "updated");
	answer_api(ctx, rt->api, created ? 201 : 200, resp);
out:
	json_decref(body);
}

void cg_admin_h_api(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		    const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET, PUT, DELETE"))
		return;
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_api *a = find_api(&m, rt->api);
	char etag[40] = "", what[CG_ADMIN_MAX_NAME_LEN + 16];
	snprintf(what, sizeof(what), "API '%s'", rt->api);
	if (a)
		cg_admin_etag_of(api_json(a), NULL, etag);
	bool exists = a != NULL;
	if (req->method == CG_ADMIN_M_GET) {
		if (a)
			cg_admin_json(resp, 200, api_json(a), "");
		else
			cg_admin_error(resp, 404, "ResourceNotFound", "API '%s' not found", rt->api);
		cg_model_free(&m);
		return;
	}
	cg_model_free(&m);
	if (req->method == CG_ADMIN_M_PUT) {
		put_api(ctx, req, rt, resp, what, etag, exists);
		return;
	}
	if (!cg_admin_delete_check(req, resp, what, exists, etag))
		return;
	char err[CG_STORE_ERR_LEN];
	int rc = cg_store_api_rm(ctx->store, rt->api, err, sizeof(err));
	cg_admin_deleted(resp, rc, err, what);
}

void cg_admin_h_ops(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		    const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET"))
		return;
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_api *a = find_api(&m, rt->api);
	if (!a) {
		cg_admin_error(resp, 404, "ResourceNotFound", "API '%s' not found", rt->api);
		cg_model_free(&m);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; items && i < a->num_ops; i++)
		if (json_array_append_new(items, op_json(a, &a->ops[i])) != 0) {
			json_decref(items);
			items = NULL;
		}
	cg_model_free(&m);
	cg_admin_json(resp, 200, cg_admin_list(items), NULL);
}

static void answer_op(struct cg_admin_ctx *ctx, const struct cg_admin_route *rt, int status,
		      struct cg_admin_resp *resp)
{
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_api *a = find_api(&m, rt->api);
	const struct cg_model_op *o = find_op(a, rt->op);
	if (o)
		cg_admin_json(resp, status, op_json(a, o), "");
	else
		cg_admin_error(resp, 404, "ResourceNotFound", "API '%s' has no operation '%s'",
			       rt->api, rt->op);
	cg_model_free(&m);
}

static void put_op(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		   const struct cg_admin_route *rt, struct cg_admin_resp *resp, const char *what,
		   const char *etag, bool exists)
{
	json_t *body = cg_admin_body_object(req, resp);
	if (!body)
		return;
	json_t *p = cg_admin_props(body, resp);
	const char *dn, *method, *tmpl;
	if (!p || cg_admin_opt_string(p, "displayName", &dn, resp) ||
	    cg_admin_opt_string(p, "method", &method, resp) ||
	    cg_admin_opt_string(p, "urlTemplate", &tmpl, resp))
		goto out;
	if (!cg_admin_if_match_ok(req, exists, etag)) {
		cg_admin_precondition_failed(resp, what, exists);
		goto out;
	}
	char err[CG_STORE_ERR_LEN];
	bool created = false;
	struct cg_store_op_set in = { rt->api, rt->op, dn, method, tmpl, &created };
	int rc = cg_store_op_set(ctx->store, &in, err, sizeof(err));
	/* A write that clashes with another entity (a path, a method and
	 * template) is an invalid request body; 409 is kept for removals. */
	if (rc == CG_STORE_FAIL_CONFLICT)
		rc = CG_STORE_FAIL_INVALID;
	if (rc) {
		cg_admin_store_fail(resp, rc, err);
		goto out;
	}
	cg_log_info("admin: operation '%s' of API '%s' %s", rt->op, rt->api,
		    created ? "created" : "updated");
	answer_op(ctx, rt, created ? 201 : 200, resp);
out:
	json_decref(body);
}

void cg_admin_h_op(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		   const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET, PUT, DELETE"))
		return;
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_api *a = find_api(&m, rt->api);
	const struct cg_model_op *o = find_op(a, rt->op);
	char etag[40] = "", what[2 * CG_ADMIN_MAX_NAME_LEN + 32];
	snprintf(what, sizeof(what), "operation '%s' of API '%s'", rt->op, rt->api);
	if (o)
		cg_admin_etag_of(op_json(a, o), NULL, etag);
	bool api_exists = a != NULL, exists = o != NULL;
	if (req->method == CG_ADMIN_M_GET) {
		if (o)
			cg_admin_json(resp, 200, op_json(a, o), "");
		else if (a)
			cg_admin_error(resp, 404, "ResourceNotFound",
				       "API '%s' has no operation '%s'", rt->api, rt->op);
		else
			cg_admin_error(resp, 404, "ResourceNotFound", "API '%s' not found",
				       rt->api);
		cg_model_free(&m);
		return;
	}
	cg_model_free(&m);
	if (!api_exists) {
		/* An operation lives under its API: no API, nothing to do. */
		cg_admin_error(resp, 404, "ResourceNotFound", "API '%s' not found", rt->api);
		return;
	}
	if (req->method == CG_ADMIN_M_PUT) {
		put_op(ctx, req, rt, resp, what, etag, exists);
		return;
	}
	if (!cg_admin_delete_check(req, resp, what, exists, etag))
		return;
	char err[CG_STORE_ERR_LEN];
	int rc = cg_store_op_rm(ctx->store, rt->api, rt->op, err, sizeof(err));
	cg_admin_deleted(resp, rc, err, what);
}
