/* policies/policy (global, product, API and operation scope), policyFragments/{id}
 * and namedValues/{id}. The store validates every write against the
 * others (a policy must load with the store's fragments and named values),
 * so its refusals (every diagnostic with line:col) become 400s verbatim. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin/admin-int.h"
#include "base/log.h"

#define TYPE_POLICY_GLOBAL "Microsoft.ApiManagement/service/policies"
#define TYPE_POLICY_API    "Microsoft.ApiManagement/service/apis/policies"
#define TYPE_POLICY_OP     "Microsoft.ApiManagement/service/apis/operations/policies"
#define TYPE_POLICY_PRODUCT "Microsoft.ApiManagement/service/products/policies"
#define TYPE_FRAGMENT      "Microsoft.ApiManagement/service/policyFragments"
#define TYPE_NAMED_VALUE   "Microsoft.ApiManagement/service/namedValues"

/* APIM's default when a PUT gives no format. */
#define DEFAULT_FORMAT "xml"

/* Reads properties.format: "xml" or "rawxml" (APIM's link formats would
 * make the gateway fetch a URL: refused). -1 after a 400. */
static int read_format(json_t *p, const char **format, struct cg_admin_resp *resp)
{
	if (cg_admin_opt_string(p, "format", format, resp))
		return -1;
	if (!*format) {
		*format = DEFAULT_FORMAT;
		return 0;
	}
	if (strcmp(*format, "xml") && strcmp(*format, "rawxml")) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.format '%s' is not supported: use \"rawxml\" or \"xml\" "
			       "(link formats would make certgate fetch a URL)",
			       *format);
		return -1;
	}
	return 0;
}

static int read_value(json_t *p, const char **value, struct cg_admin_resp *resp)
{
	if (cg_admin_opt_string(p, "value", value, resp))
		return -1;
	if (!*value) {
		cg_admin_error(resp, 400, "ValidationError", "properties.value is required");
		return -1;
	}
	return 0;
}

/* The store's diagnostics can be long: a heap buffer of CG_STORE_DIAG_LEN. */
static char *diag_buf(struct cg_admin_resp *resp)
{
	char *e = malloc(CG_STORE_DIAG_LEN);
	if (!e)
		cg_admin_error(resp, 503, "ServiceUnavailable", "out of memory");
	else
		e[0] = '\0';
	return e;
}

/* ---- policies -------------------------------------------------------------- */

static enum cg_model_policy_scope scope_of(const struct cg_admin_route *rt)
{
	if (rt->product[0])
		return CG_MODEL_POLICY_PRODUCT;
	if (rt->op[0])
		return CG_MODEL_POLICY_OPERATION;
	if (rt->api[0])
		return CG_MODEL_POLICY_API;
	return CG_MODEL_POLICY_GLOBAL;
}

/* The id the store takes for the scope: the product or the API, or NULL. */
static const char *scope_id(const struct cg_admin_route *rt)
{
	return rt->product[0] ? rt->product : rt->api[0] ? rt->api : NULL;
}

/* 404 when the scope's product, API or operation does not exist. */
static int scope_exists(struct cg_admin_ctx *ctx, const struct cg_admin_route *rt,
			struct cg_admin_resp *resp)
{
	if (!rt->api[0] && !rt->product[0])
		return 0;
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return -1;
	if (rt->product[0]) {
		bool found = false;
		for (size_t i = 0; i < m.num_products && !found; i++)
			found = strcmp(m.products[i].id, rt->product) == 0;
		cg_model_free(&m);
		if (!found)
			cg_admin_error(resp, 404, "ResourceNotFound", "product '%s' not found",
				       rt->product);
		return found ? 0 : -1;
	}
	const struct cg_model_api *a = NULL;
	for (size_t i = 0; i < m.num_apis && !a; i++)
		if (strcmp(m.apis[i].id, rt->api) == 0)
			a = &m.apis[i];
	bool op_ok = !rt->op[0];
	for (size_t i = 0; a && !op_ok && i < a->num_ops; i++)
		op_ok = strcmp(a->ops[i].id, rt->op) == 0;
	cg_model_free(&m);
	if (!a) {
		cg_admin_error(resp, 404, "ResourceNotFound", "API '%s' not found", rt->api);
		return -1;
	}
	if (!op_ok) {
		cg_admin_error(resp, 404, "ResourceNotFound", "API '%s' has no operation '%s'",
			       rt->api, rt->op);
		return -1;
	}
	return 0;
}

static json_t *policy_json(const struct cg_admin_route *rt, const struct cg_store_text *t)
{
	char id[64 + 2 * CG_ADMIN_MAX_NAME_LEN];
	const char *type = TYPE_POLICY_GLOBAL;
	if (rt->product[0]) {
		snprintf(id, sizeof(id), "/products/%s/policies/policy", rt->product);
		type = TYPE_POLICY_PRODUCT;
	} else if (rt->op[0]) {
		snprintf(id, sizeof(id), "/apis/%s/operations/%s/policies/policy", rt->api, rt->op);
		type = TYPE_POLICY_OP;
	} else if (rt->api[0]) {
		snprintf(id, sizeof(id), "/apis/%s/policies/policy", rt->api);
		type = TYPE_POLICY_API;
	} else {
		snprintf(id, sizeof(id), "/policies/policy");
	}
	json_t *p = json_pack("{s:s,s:s}", "format", t->format, "value", t->value);
	return p ? cg_admin_resource(id, "policy", type, p) : NULL;
}

/* Reads the scope's policy: 1 found (*t filled), 0 absent, -1 after an
 * error response. */
static int policy_read(struct cg_admin_ctx *ctx, const struct cg_admin_route *rt,
		       struct cg_store_text *t, struct cg_admin_resp *resp)
{
	char err[CG_STORE_ERR_LEN];
	memset(t, 0, sizeof(*t));
	int rc = cg_store_policy_get(ctx->store, scope_of(rt), scope_id(rt),
				     rt->op[0] ? rt->op : NULL, t, err, sizeof(err));
	if (rc == 0)
		return 1;
	if (rc == CG_STORE_FAIL_NOT_FOUND)
		return 0;
	cg_admin_store_fail(resp, rc, err);
	return -1;
}

void cg_admin_h_policies(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			 const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET") || scope_exists(ctx, rt, resp))
		return;
	struct cg_store_text t;
	int f = policy_read(ctx, rt, &t, resp);
	if (f < 0)
		return;
	json_t *items = json_array();
	if (f && items && json_array_append_new(items, policy_json(rt, &t)) != 0) {
		json_decref(items);
		items = NULL;
	}
	if (f)
		cg_store_text_free(&t);
	cg_admin_json(resp, 200, cg_admin_list(items), NULL);
}

void cg_admin_h_policy(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		       const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET, PUT, DELETE") || scope_exists(ctx, rt, resp))
		return;
	char name[2 * CG_ADMIN_MAX_NAME_LEN + 64];
	cg_store_policy_name(scope_of(rt), scope_id(rt), rt->op, name, sizeof(name));
	struct cg_store_text t;
	int f = policy_read(ctx, rt, &t, resp);
	if (f < 0)
		return;
	char etag[40] = "";
	if (f)
		cg_admin_etag_of(policy_json(rt, &t), NULL, etag);
	if (req->method == CG_ADMIN_M_GET) {
		if (f)
			cg_admin_json(resp, 200, policy_json(rt, &t), "");
		else
			cg_admin_error(resp, 404, "ResourceNotFound", "%s is not set", name);
		if (f)
			cg_store_text_free(&t);
		return;
	}
	if (f)
		cg_store_text_free(&t);
	char *err = NULL;
	json_t *body = NULL;
	if (req->method == CG_ADMIN_M_DELETE) {
		if (!cg_admin_delete_check(req, resp, name, f, etag))
			return;
		char e[CG_STORE_ERR_LEN];
		int rc = cg_store_policy_rm(ctx->store, scope_of(rt), scope_id(rt),
					    rt->op[0] ? rt->op : NULL, e, sizeof(e));
		cg_admin_deleted(resp, rc, e, name);
		return;
	}
	/* PUT */
	body = cg_admin_body_object(req, resp);
	if (!body)
		return;
	json_t *p = cg_admin_props(body, resp);
	const char *format, *value;
	if (!p || read_value(p, &value, resp) || read_format(p, &format, resp))
		goto out;
	if (!cg_admin_if_match_ok(req, f, etag)) {
		cg_admin_precondition_failed(resp, name, f);
		goto out;
	}
	if (!(err = diag_buf(resp)))
		goto out;
	int rc = cg_store_policy_set(ctx->store, scope_of(rt), scope_id(rt),
				     rt->op[0] ? rt->op : NULL, format, value, err,
				     CG_STORE_DIAG_LEN);
	if (rc) {
		cg_admin_store_fail(resp, rc, err);
		goto out;
	}
	cg_log_info("admin: %s %s%s%.200s", name, f ? "updated" : "created",
		    err[0] ? "; warnings: " : "", err);
	if (policy_read(ctx, rt, &t, resp) == 1) {
		cg_admin_json(resp, f ? 200 : 201, policy_json(rt, &t), "");
		cg_store_text_free(&t);
	} else if (!resp->status) {
		cg_admin_error(resp, 404, "ResourceNotFound", "%s is not set", name);
	}
out:
	free(err);
	json_decref(body);
}

/* ---- policy fragments ------------------------------------------------------ */

static json_t *fragment_json(const char *id, const char *description, const char *format,
			     const char *value)
{
	char rid[32 + CG_ADMIN_MAX_NAME_LEN];
	snprintf(rid, sizeof(rid), "/policyFragments/%s", id);
	json_t *p = json_pack("{s:s,s:s,s:s}", "description", description ? description : "",
			      "format", format, "value", value);
	return p ? cg_admin_resource(rid, id, TYPE_FRAGMENT, p) : NULL;
}

static json_t *fragment_item(struct cg_admin_ctx *ctx, const struct cg_model *m, size_t i,
			     bool *skip)
{
	const struct cg_model_fragment *f = &m->fragments[i];
	return fragment_json(f->id, f->description, f->format, f->value);
}

void cg_admin_h_fragments(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			  const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	cg_admin_list_model(ctx, req, resp, offsetof(struct cg_model, num_fragments),
			    fragment_item);
}

void cg_admin_h_fragment(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			 const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET, PUT, DELETE"))
		return;
	char e[CG_STORE_ERR_LEN], what[CG_ADMIN_MAX_NAME_LEN + 32];
	snprintf(what, sizeof(what), "fragment '%s'", rt->name);
	struct cg_store_text t;
	memset(&t, 0, sizeof(t));
	int rc = cg_store_fragment_get(ctx->store, rt->name, &t, e, sizeof(e));
	if (rc && rc != CG_STORE_FAIL_NOT_FOUND && rc != CG_STORE_FAIL_INVALID) {
		cg_admin_store_fail(resp, rc, e);
		return;
	}
	bool exists = rc == 0;
	char etag[40] = "";
	if (exists)
		cg_admin_etag_of(fragment_json(rt->name, t.description, t.format, t.value), NULL,
				 etag);
	if (req->method == CG_ADMIN_M_GET) {
		if (exists)
			cg_admin_json(resp, 200,
				      fragment_json(rt->name, t.description, t.format, t.value), "");
		else
			cg_admin_error(resp, 404, "ResourceNotFound", "%s not found", what);
		if (exists)
			cg_store_text_free(&t);
		return;
	}
	if (exists)
		cg_store_text_free(&t);
	if (req->method == CG_ADMIN_M_DELETE) {
		if (cg_admin_delete_check(req, resp, what, exists, etag)) {
			rc = cg_store_fragment_rm(ctx->store, rt->name, e, sizeof(e));
			cg_admin_deleted(resp, rc, e, what);
		}
		return;
	}
	json_t *body = cg_admin_body_object(req, resp);
	char *err = NULL;
	if (!body)
		return;
	json_t *p = cg_admin_props(body, resp);
	const char *format, *value, *description;
	if (!p || read_value(p, &value, resp) || read_format(p, &format, resp) ||
	    cg_admin_opt_string(p, "description", &description, resp))
		goto out;
	if (!cg_admin_if_match_ok(req, exists, etag)) {
		cg_admin_precondition_failed(resp, what, exists);
		goto out;
	}
	if (!(err = diag_buf(resp)))
		goto out;
	rc = cg_store_fragment_set(ctx->store, rt->name, description, format, value, err,
				   CG_STORE_DIAG_LEN);
	if (rc) {
		cg_admin_store_fail(resp, rc, err);
		goto out;
	}
	cg_log_info("admin: %s %s", what, exists ? "updated" : "created");
	memset(&t, 0, sizeof(t));
	rc = cg_store_fragment_get(ctx->store, rt->name, &t, e, sizeof(e));
	if (rc) {
		cg_admin_store_fail(resp, rc, e);
		goto out;
	}
	cg_admin_json(resp, exists ? 200 : 201,
		      fragment_json(rt->name, t.description, t.format, t.value), "");
	cg_store_text_free(&t);
out:
	free(err);
	json_decref(body);
}

/* ---- named values ---------------------------------------------------------- */

/* The resource view: a secret's value is never in it (APIM: listValue). */
static json_t *nv_json(const struct cg_store_nv *nv)
{
	char rid[32 + CG_ADMIN_MAX_NAME_LEN];
	snprintf(rid, sizeof(rid), "/namedValues/%s", nv->name);
	json_t *tags = json_loads(nv->tags ? nv->tags : "[]", 0, NULL);
	if (!json_is_array(tags)) {
		json_decref(tags);
		tags = json_array();
	}
	json_t *p = json_pack("{s:s,s:b,s:o}", "displayName", nv->name, "secret", nv->secret,
			      "tags", tags);
	if (p && !nv->secret)
		json_object_set_new(p, "value", json_string(nv->value));
	return p ? cg_admin_resource(rid, nv->name, TYPE_NAMED_VALUE, p) : NULL;
}

/* ETag and answer both cover the value (keyed hash), so a changed secret
 * changes the ETag without showing anything. */
static void nv_answer(struct cg_admin_resp *resp, int status, const struct cg_store_nv *nv)
{
	cg_admin_json(resp, status, nv_json(nv), nv->value);
}

/* The store's row, for its tags (the model has no tags). */
static json_t *nv_item(struct cg_admin_ctx *ctx, const struct cg_model *m, size_t i, bool *skip)
{
	struct cg_store_nv nv;
	char e[CG_STORE_ERR_LEN];
	memset(&nv, 0, sizeof(nv));
	if (cg_store_nv_get(ctx->store, m->named_values[i].name, &nv, e, sizeof(e)) != 0) {
		*skip = true; /* removed since the model was read */
		return NULL;
	}
	json_t *j = nv_json(&nv);
	cg_store_nv_free(&nv);
	return j;
}

void cg_admin_h_named_values(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			     const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	cg_admin_list_model(ctx, req, resp, offsetof(struct cg_model, num_named_values), nv_item);
}

/* Reads properties.tags: absent/null = none, else an array of strings
 * copied into *out (malloc'd array of borrowed pointers). */
static int read_tags(json_t *p, const char ***out, size_t *n, struct cg_admin_resp *resp)
{
	json_t *t = json_object_get(p, "tags");
	*out = NULL;
	*n = 0;
	if (!t || json_is_null(t))
		return 0;
	if (!json_is_array(t)) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.tags must be an array of strings");
		return -1;
	}
	size_t k = json_array_size(t);
	if (k == 0)
		return 0;
	*out = calloc(k, sizeof(**out));
	if (!*out) {
		cg_admin_error(resp, 503, "ServiceUnavailable", "out of memory");
		return -1;
	}
	for (size_t i = 0; i < k; i++) {
		json_t *v = json_array_get(t, i);
		if (!json_is_string(v)) {
			free(*out);
			*out = NULL;
			cg_admin_error(resp, 400, "ValidationError",
				       "properties.tags must be an array of strings");
			return -1;
		}
		(*out)[i] = json_string_value(v);
	}
	*n = k;
	return 0;
}

void cg_admin_h_named_value(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			    const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	bool list_value = rt->res == CG_ADMIN_RES_NAMED_VALUE_LIST;
	if (!cg_admin_allow(req, resp, list_value ? "POST" : "GET, PUT, DELETE"))
		return;
	char e[CG_STORE_ERR_LEN], what[CG_ADMIN_MAX_NAME_LEN + 32];
	snprintf(what, sizeof(what), "named value '%s'", rt->name);
	struct cg_store_nv nv;
	memset(&nv, 0, sizeof(nv));
	int rc = cg_store_nv_get(ctx->store, rt->name, &nv, e, sizeof(e));
	if (rc && rc != CG_STORE_FAIL_NOT_FOUND && rc != CG_STORE_FAIL_INVALID) {
		cg_admin_store_fail(resp, rc, e);
		return;
	}
	bool exists = rc == 0;
	char etag[40] = "";
	if (exists)
		cg_admin_etag_of(nv_json(&nv), nv.value, etag);
	if (list_value || req->method == CG_ADMIN_M_GET) {
		if (!exists)
			cg_admin_error(resp, 404, "ResourceNotFound", "%s not found", what);
		else if (list_value) /* APIM's way to read a secret: explicit, never logged */
			cg_admin_json(resp, 200, json_pack("{s:s}", "value", nv.value), NULL);
		else
			nv_answer(resp, 200, &nv);
		cg_store_nv_free(&nv);
		return;
	}
	cg_store_nv_free(&nv);
	if (req->method == CG_ADMIN_M_DELETE) {
		if (cg_admin_delete_check(req, resp, what, exists, etag)) {
			rc = cg_store_nv_rm(ctx->store, rt->name, e, sizeof(e));
			cg_admin_deleted(resp, rc, e, what);
		}
		return;
	}
	json_t *body = cg_admin_body_object(req, resp);
	char *err = NULL;
	const char **tags = NULL;
	size_t num_tags = 0;
	if (!body)
		return;
	json_t *p = cg_admin_props(body, resp);
	const char *dn, *value;
	int secret;
	if (!p || cg_admin_opt_string(p, "displayName", &dn, resp) ||
	    read_value(p, &value, resp) || cg_admin_opt_bool(p, "secret", &secret, resp) ||
	    read_tags(p, &tags, &num_tags, resp))
		goto out;
	if (dn && strcmp(dn, rt->name) != 0) {
		/* Policies say {{displayName}}; certgate has one name for both. */
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.displayName '%s' must equal the named value's name "
			       "'%s' (certgate uses one name for the resource and for {{...}})",
			       dn, rt->name);
		goto out;
	}
	if (json_object_get(p, "keyVault") && !json_is_null(json_object_get(p, "keyVault"))) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.keyVault is not supported: give the value itself");
		goto out;
	}
	if (!cg_admin_if_match_ok(req, exists, etag)) {
		cg_admin_precondition_failed(resp, what, exists);
		goto out;
	}
	if (!(err = diag_buf(resp)))
		goto out;
	bool created = false;
	struct cg_store_nv_set in = {
		.name = rt->name,
		.value = value,
		.secret = secret == 1,
		.tags = tags,
		.num_tags = num_tags,
		.created = &created,
	};
	rc = cg_store_nv_set(ctx->store, &in, err, CG_STORE_DIAG_LEN);
	if (rc) {
		cg_admin_store_fail(resp, rc, err);
		goto out;
	}
	cg_log_info("admin: %s %s", what, created ? "created" : "updated");
	memset(&nv, 0, sizeof(nv));
	rc = cg_store_nv_get(ctx->store, rt->name, &nv, e, sizeof(e));
	if (rc) {
		cg_admin_store_fail(resp, rc, e);
		goto out;
	}
	nv_answer(resp, created ? 201 : 200, &nv);
	cg_store_nv_free(&nv);
out:
	if (err) {
		OPENSSL_cleanse(err, CG_STORE_DIAG_LEN);
		free(err);
	}
	free(tags);
	if (p) {
		json_t *v = json_object_get(p, "value");
		if (json_is_string(v))
			OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
	}
	json_decref(body);
}
