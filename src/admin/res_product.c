/* products/{pid}, products/{pid}/apis/{api} in APIM's ARM shape (the
 * product's policy is in res_policy.c). DELETE of a product with
 * subscriptions is a 409 unless ?deleteSubscriptions=true (APIM's
 * parameter), which removes them with it. terms is accepted and ignored:
 * certgate has no developer portal to show it on. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin-int.h"
#include "base/log.h"

#define TYPE_PRODUCT     "Microsoft.ApiManagement/service/products"
#define TYPE_PRODUCT_API "Microsoft.ApiManagement/service/products/apis"

static json_t *product_json(const struct cg_model_product *p)
{
	char rid[16 + CG_ADMIN_MAX_NAME_LEN];
	snprintf(rid, sizeof(rid), "/products/%s", p->id);
	json_t *j = json_pack("{s:s,s:s,s:b,s:b,s:o,s:s}", "displayName", p->display_name,
			      "description", p->description, "subscriptionRequired",
			      p->subscription_required, "approvalRequired", p->approval_required,
			      "subscriptionsLimit",
			      p->subscriptions_limit < 0 ? json_null()
							 : json_integer(p->subscriptions_limit),
			      "state", p->published ? "published" : "notPublished");
	return j ? cg_admin_resource(rid, p->id, TYPE_PRODUCT, j) : NULL;
}

static const struct cg_model_product *find_product(const struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_products; i++)
		if (strcmp(m->products[i].id, id) == 0)
			return &m->products[i];
	return NULL;
}

static json_t *product_item(struct cg_admin_ctx *ctx, const struct cg_model *m, size_t i,
			    bool *skip)
{
	return product_json(&m->products[i]);
}

void cg_admin_h_products(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			 const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	cg_admin_list_model(ctx, req, resp, offsetof(struct cg_model, num_products), product_item);
}

/* Whether the query has name=true (names compared without case, as ARM). */
static bool query_true(struct cg_str q, const char *name)
{
	struct cg_str want = cg_str_from_c(name);
	size_t i = 0;
	while (i < q.len) {
		size_t end = i;
		while (end < q.len && q.ptr[end] != '&')
			end++;
		struct cg_str part = cg_str_make(q.ptr + i, end - i);
		if (part.len == want.len + 5 && part.ptr[want.len] == '=' &&
		    cg_str_ieq(cg_str_make(part.ptr, want.len), want) &&
		    cg_str_ieq(cg_str_make(part.ptr + want.len + 1, 4), CG_STR("true")))
			return true;
		i = end + 1;
	}
	return false;
}

/* properties.subscriptionsLimit: absent keeps (-1), null clears, an
 * integer sets. -2 after a 400. */
static int64_t read_limit(json_t *p, struct cg_admin_resp *resp)
{
	json_t *v = json_object_get(p, "subscriptionsLimit");
	if (!v)
		return -1;
	if (json_is_null(v))
		return CG_STORE_PRODUCT_NO_LIMIT;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.subscriptionsLimit must be null or an integer >= 0");
		return -3;
	}
	return json_integer_value(v);
}

static void answer(struct cg_admin_ctx *ctx, const char *id, int status,
		   struct cg_admin_resp *resp)
{
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_product *p = find_product(&m, id);
	if (p)
		cg_admin_json(resp, status, product_json(p), NULL);
	else
		cg_admin_error(resp, 404, "ResourceNotFound", "product '%s' not found", id);
	cg_model_free(&m);
}

static void put_product(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			const struct cg_admin_route *rt, struct cg_admin_resp *resp,
			const char *what, const char *etag, bool exists)
{
	json_t *body = cg_admin_body_object(req, resp);
	if (!body)
		return;
	json_t *p = cg_admin_props(body, resp);
	const char *dn, *desc, *state, *terms;
	int subreq, approval;
	int64_t limit = -1;
	if (!p || cg_admin_opt_string(p, "displayName", &dn, resp) ||
	    cg_admin_opt_string(p, "description", &desc, resp) ||
	    cg_admin_opt_string(p, "state", &state, resp) ||
	    cg_admin_opt_string(p, "terms", &terms, resp) ||
	    cg_admin_opt_bool(p, "subscriptionRequired", &subreq, resp) ||
	    cg_admin_opt_bool(p, "approvalRequired", &approval, resp) ||
	    (limit = read_limit(p, resp)) == -3)
		goto out;
	if (!cg_admin_if_match_ok(req, exists, etag)) {
		cg_admin_precondition_failed(resp, what, exists);
		goto out;
	}
	char err[CG_STORE_ERR_LEN];
	bool created = false;
	struct cg_store_product_set in = {
		.id = rt->product,
		.display_name = dn,
		.description = desc,
		.subscription_required = subreq,
		.approval_required = approval,
		.subscriptions_limit = limit,
		.state = state,
		.created = &created,
	};
	int rc = cg_store_product_set(ctx->store, &in, err, sizeof(err));
	if (rc) {
		cg_admin_store_fail(resp, rc, err);
		goto out;
	}
	cg_log_info("admin: product '%s' %s", rt->product, created ? "created" : "updated");
	answer(ctx, rt->product, created ? 201 : 200, resp);
out:
	json_decref(body);
}

void cg_admin_h_product(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET, PUT, DELETE"))
		return;
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_product *p = find_product(&m, rt->product);
	bool exists = p != NULL;
	char etag[40] = "", err[CG_STORE_ERR_LEN], what[CG_ADMIN_MAX_NAME_LEN + 24];
	snprintf(what, sizeof(what), "product '%s'", rt->product);
	if (p)
		cg_admin_etag_of(product_json(p), NULL, etag);
	if (req->method == CG_ADMIN_M_GET) {
		if (p)
			cg_admin_json(resp, 200, product_json(p), NULL);
		else
			cg_admin_error(resp, 404, "ResourceNotFound", "%s not found", what);
		cg_model_free(&m);
		return;
	}
	cg_model_free(&m);
	if (req->method == CG_ADMIN_M_DELETE) {
		if (cg_admin_delete_check(req, resp, what, exists, etag)) {
			int rc = cg_store_product_rm(ctx->store, rt->product,
						     query_true(req->query, "deleteSubscriptions"),
						     err, sizeof(err));
			cg_admin_deleted(resp, rc, err, what);
		}
		return;
	}
	put_product(ctx, req, rt, resp, what, etag, exists);
}

/* ---- products/{pid}/apis ----------------------------------------------------- */

static json_t *link_json(const char *pid, const struct cg_model_api *a)
{
	char rid[32 + 2 * CG_ADMIN_MAX_NAME_LEN];
	snprintf(rid, sizeof(rid), "/products/%s/apis/%s", pid, a->id);
	json_t *j = json_pack("{s:s,s:s}", "displayName", a->display_name, "path", a->path);
	return j ? cg_admin_resource(rid, a->id, TYPE_PRODUCT_API, j) : NULL;
}

static const struct cg_model_api *find_api(const struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_apis; i++)
		if (strcmp(m->apis[i].id, id) == 0)
			return &m->apis[i];
	return NULL;
}

static bool has_api(const struct cg_model_product *p, const char *api)
{
	for (size_t i = 0; i < p->num_apis; i++)
		if (strcmp(p->apis[i], api) == 0)
			return true;
	return false;
}

void cg_admin_h_product_apis(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			     const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET"))
		return;
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_product *p = find_product(&m, rt->product);
	json_t *items = p ? json_array() : NULL;
	for (size_t i = 0; items && i < p->num_apis; i++) {
		const struct cg_model_api *a = find_api(&m, p->apis[i]);
		if (a && json_array_append_new(items, link_json(p->id, a)) != 0) {
			json_decref(items);
			items = NULL;
		}
	}
	if (!p)
		cg_admin_error(resp, 404, "ResourceNotFound", "product '%s' not found", rt->product);
	else if (!items)
		cg_admin_error(resp, 503, "ServiceUnavailable", "out of memory");
	else
		cg_admin_json(resp, 200, cg_admin_list(items), NULL);
	cg_model_free(&m);
}

/* GET (200 or 404), PUT (201 added, 200 already there), DELETE. */
void cg_admin_h_product_api(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			    const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET, PUT, DELETE"))
		return;
	char err[CG_STORE_ERR_LEN], what[2 * CG_ADMIN_MAX_NAME_LEN + 40];
	snprintf(what, sizeof(what), "API '%s' of product '%s'", rt->api, rt->product);
	int rc = 0;
	bool created = false;
	if (req->method == CG_ADMIN_M_PUT)
		rc = cg_store_product_api_add(ctx->store, rt->product, rt->api, &created, err,
					      sizeof(err));
	if (req->method == CG_ADMIN_M_DELETE) {
		rc = cg_store_product_api_rm(ctx->store, rt->product, rt->api, err, sizeof(err));
		cg_admin_deleted(resp, rc, err, what);
		return;
	}
	if (rc) {
		cg_admin_store_fail(resp, rc, err);
		return;
	}
	if (created)
		cg_log_info("admin: %s added", what);
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_product *p = find_product(&m, rt->product);
	const struct cg_model_api *a = find_api(&m, rt->api);
	if (p && a && has_api(p, rt->api))
		cg_admin_json(resp, created ? 201 : 200, link_json(p->id, a), NULL);
	else
		cg_admin_error(resp, 404, "ResourceNotFound", "%s not found", what);
	cg_model_free(&m);
}
