/* backends/{id} in APIM's shape: url, credentials.certificateIds (the
 * client certificate for backend mTLS; certgate holds at most one) and
 * tls.validateCertificateChain/Name, circuitBreaker; type Pool with
 * pool.services (store/breaker.h reads both). APIM features certgate does
 * not have (proxies, header/query/authorization credentials) are refused rather than ignored: a backend that silently
 * lost its credentials or proxy would send requests somewhere else, or
 * unauthenticated. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/admin-int.h"
#include "base/log.h"
#include "store/breaker.h"

#define TYPE_BACKEND "Microsoft.ApiManagement/service/backends"

/* APIM's properties of a single backend. */
static json_t *single_props(const struct cg_model_backend *b)
{
	char cid[32 + CG_ADMIN_MAX_NAME_LEN];
	json_t *ids = json_array();
	if (b->client_cert_id) {
		snprintf(cid, sizeof(cid), "/certificates/%s", b->client_cert_id);
		json_array_append_new(ids, json_string(cid));
	}
	json_t *p = json_pack("{s:s,s:s,s:s,s:{s:o},s:{s:b,s:b}}", "url", b->url, "protocol", "http",
			      "type", "Single", "credentials", "certificateIds", ids, "tls",
			      "validateCertificateChain", b->validate_chain,
			      "validateCertificateName", b->validate_name);
	if (p && b->breaker_json)
		json_object_set_new(p, "circuitBreaker", json_loads(b->breaker_json, 0, NULL));
	return p;
}

static json_t *backend_json(const struct cg_model_backend *b)
{
	char rid[32 + CG_ADMIN_MAX_NAME_LEN];
	snprintf(rid, sizeof(rid), "/backends/%s", b->id);
	json_t *p = b->members ? json_pack("{s:s,s:s,s:o}", "protocol", "http", "type", "Pool", "pool",
					   cg_store_pool_to_json(b->members, b->num_members))
			       : single_props(b);
	return p ? cg_admin_resource(rid, b->id, TYPE_BACKEND, p) : NULL;
}

static const struct cg_model_backend *find_backend(const struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_backends; i++)
		if (strcmp(m->backends[i].id, id) == 0)
			return &m->backends[i];
	return NULL;
}

static json_t *backend_item(struct cg_admin_ctx *ctx, const struct cg_model *m, size_t i,
			    bool *skip)
{
	return backend_json(&m->backends[i]);
}

void cg_admin_h_backends(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			 const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	cg_admin_list_model(ctx, req, resp, offsetof(struct cg_model, num_backends), backend_item);
}

/* A certificate reference: "/certificates/x", a full ARM id ending so, or
 * "x". Returns the id (borrowed) or NULL after a 400. */
static const char *cert_ref(const char *ref, struct cg_admin_resp *resp)
{
	const char *slash = strrchr(ref, '/');
	if (!slash)
		return ref;
	size_t n = (size_t)(slash - ref);
	static const char word[] = "/certificates";
	if (n >= sizeof(word) - 1 && strncasecmp(slash - (sizeof(word) - 1), word,
						 sizeof(word) - 1) == 0 && slash[1])
		return slash + 1;
	cg_admin_error(resp, 400, "ValidationError",
		       "properties.credentials.certificateIds: '%s' is not a certificate id "
		       "('/certificates/NAME' or 'NAME')",
		       ref);
	return NULL;
}

/* Reads credentials: 0 = absent (keep), 1 = set (*cert NULL: none), -1
 * after a 400. */
static int read_credentials(json_t *p, const char **cert, struct cg_admin_resp *resp)
{
	json_t *c = json_object_get(p, "credentials");
	*cert = NULL;
	if (!c || json_is_null(c))
		return 0;
	if (!json_is_object(c)) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.credentials must be an object");
		return -1;
	}
	const char *key;
	json_t *v;
	json_object_foreach(c, key, v)
	{
		if (strcmp(key, "certificateIds") == 0 || json_is_null(v))
			continue;
		if ((json_is_array(v) && json_array_size(v) == 0) ||
		    (json_is_object(v) && json_object_size(v) == 0))
			continue; /* APIM writes empty header/query maps */
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.credentials.%s is not supported by certgate (only "
			       "certificateIds: one client certificate for backend mTLS)",
			       key);
		return -1;
	}
	json_t *ids = json_object_get(c, "certificateIds");
	if (!ids || json_is_null(ids))
		return 1;
	if (!json_is_array(ids) || json_array_size(ids) > 1) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.credentials.certificateIds must be an array of at most "
			       "one certificate id");
		return -1;
	}
	if (json_array_size(ids) == 1) {
		json_t *s = json_array_get(ids, 0);
		if (!json_is_string(s)) {
			cg_admin_error(resp, 400, "ValidationError",
				       "properties.credentials.certificateIds must hold strings");
			return -1;
		}
		if (!(*cert = cert_ref(json_string_value(s), resp)))
			return -1;
	}
	return 1;
}

/* Refuses APIM backend features certgate does not implement. */
static int refuse_unsupported(json_t *p, struct cg_admin_resp *resp)
{
	static const char *const keys[] = { "proxy", "serviceFabricCluster", "resourceId" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(p, keys[i]);
		if (v && !json_is_null(v)) {
			cg_admin_error(resp, 400, "ValidationError",
				       "properties.%s is not supported by certgate", keys[i]);
			return -1;
		}
	}
	const char *proto;
	if (cg_admin_opt_string(p, "protocol", &proto, resp))
		return -1;
	if (proto && strcmp(proto, "http") != 0) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.protocol '%s' is not supported (only \"http\")", proto);
		return -1;
	}
	return 0;
}

/* type and pool into in (is_pool -1 when neither is given; members into
 * room). Returns 0, or -1 after a 400. */
static int read_pool(json_t *p, struct cg_store_backend_set *in, struct cg_model_pool_member *room,
		     struct cg_admin_resp *resp)
{
	const char *type;
	json_t *pool = json_object_get(p, "pool");
	char err[CG_STORE_ERR_LEN];
	if (cg_admin_opt_string(p, "type", &type, resp))
		return -1;
	if (type && strcmp(type, "Single") != 0 && strcmp(type, "Pool") != 0) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.type '%s' is not a backend type (\"Single\" or \"Pool\")",
			       type);
		return -1;
	}
	bool has_pool = pool && !json_is_null(pool);
	in->is_pool = type ? strcmp(type, "Pool") == 0 : has_pool ? 1 : -1;
	if (has_pool && in->is_pool != 1) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.pool needs properties.type \"Pool\"");
		return -1;
	}
	if (in->is_pool == 1 && !has_pool) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.type \"Pool\" needs properties.pool.services");
		return -1;
	}
	if (has_pool && cg_store_pool_from_json(pool, room, &in->num_members, err, sizeof(err))) {
		cg_admin_error(resp, 400, "ValidationError", "%s", err);
		return -1;
	}
	in->members = room;
	return 0;
}

/* circuitBreaker as JSON text into *text (malloc'd; NULL = absent, keep;
 * "" = null, none). Returns 0, or -1 after a 500. */
static int read_breaker(json_t *p, char **text, struct cg_admin_resp *resp)
{
	json_t *cb = json_object_get(p, "circuitBreaker");
	*text = !cb ? NULL : json_is_null(cb) ? strdup("") : json_dumps(cb, JSON_COMPACT);
	if (cb && !*text) {
		cg_admin_error(resp, 500, "InternalError", "out of memory");
		return -1;
	}
	return 0;
}

static int read_tls(json_t *p, int *chain, int *name, struct cg_admin_resp *resp)
{
	json_t *t = json_object_get(p, "tls");
	*chain = *name = -1;
	if (!t || json_is_null(t))
		return 0;
	if (!json_is_object(t)) {
		cg_admin_error(resp, 400, "ValidationError", "properties.tls must be an object");
		return -1;
	}
	if (cg_admin_opt_bool(t, "validateCertificateChain", chain, resp) ||
	    cg_admin_opt_bool(t, "validateCertificateName", name, resp))
		return -1;
	return 0;
}

static void answer(struct cg_admin_ctx *ctx, const char *id, int status,
		   struct cg_admin_resp *resp)
{
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_backend *b = find_backend(&m, id);
	if (b)
		cg_admin_json(resp, status, backend_json(b), "");
	else
		cg_admin_error(resp, 404, "ResourceNotFound", "backend '%s' not found", id);
	cg_model_free(&m);
}

void cg_admin_h_backend(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET, PUT, DELETE"))
		return;
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_backend *b = find_backend(&m, rt->name);
	bool exists = b != NULL;
	char etag[40] = "", err[CG_STORE_ERR_LEN], what[CG_ADMIN_MAX_NAME_LEN + 16];
	snprintf(what, sizeof(what), "backend '%s'", rt->name);
	if (b)
		cg_admin_etag_of(backend_json(b), NULL, etag);
	if (req->method == CG_ADMIN_M_GET) {
		if (b)
			cg_admin_json(resp, 200, backend_json(b), "");
		else
			cg_admin_error(resp, 404, "ResourceNotFound", "backend '%s' not found",
				       rt->name);
		cg_model_free(&m);
		return;
	}
	cg_model_free(&m);
	if (req->method == CG_ADMIN_M_DELETE) {
		if (cg_admin_delete_check(req, resp, what, exists, etag)) {
			int rc = cg_store_backend_rm(ctx->store, rt->name, err, sizeof(err));
			cg_admin_deleted(resp, rc, err, what);
		}
		return;
	}
	json_t *body = cg_admin_body_object(req, resp);
	if (!body)
		return;
	json_t *p = cg_admin_props(body, resp);
	const char *url, *cert;
	char *breaker = NULL;
	int chain, name, creds;
	struct cg_model_pool_member room[CG_STORE_MAX_POOL_MEMBERS];
	bool created = false;
	struct cg_store_backend_set in = { .id = rt->name, .created = &created };
	if (!p || cg_admin_opt_string(p, "url", &url, resp) || refuse_unsupported(p, resp) ||
	    read_pool(p, &in, room, resp) || read_breaker(p, &breaker, resp) ||
	    (creds = read_credentials(p, &cert, resp)) < 0 || read_tls(p, &chain, &name, resp))
		goto out;
	if (!cg_admin_if_match_ok(req, exists, etag)) {
		cg_admin_precondition_failed(resp, what, exists);
		goto out;
	}
	in.url = url;
	in.client_cert_id = creds == 1 ? cert : NULL;
	in.no_client_cert = creds == 1 && !cert && in.is_pool != 1;
	in.validate_chain = chain;
	in.validate_name = name;
	in.breaker_json = breaker;
	int rc = cg_store_backend_set(ctx->store, &in, err, sizeof(err));
	/* A missing or keyless client certificate, a clash: the body is wrong. */
	if (rc == CG_STORE_FAIL_NOT_FOUND || rc == CG_STORE_FAIL_CONFLICT)
		rc = CG_STORE_FAIL_INVALID;
	if (rc) {
		cg_admin_store_fail(resp, rc, err);
		goto out;
	}
	cg_log_info("admin: backend '%s' %s", rt->name, created ? "created" : "updated");
	answer(ctx, rt->name, created ? 201 : 200, resp);
out:
	free(breaker);
	json_decref(body);
}
