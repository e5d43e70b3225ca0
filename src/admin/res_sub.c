/* subscriptions/{sid} in APIM's ARM shape. GET never returns the keys
 * (APIM): POST .../listSecrets does, and .../regeneratePrimaryKey,
 * .../regenerateSecondaryKey replace one. ownerId and allowTracing are
 * accepted and ignored: certgate has no users and no tracing to allow. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin-int.h"
#include "base/log.h"

#define TYPE_SUB "Microsoft.ApiManagement/service/subscriptions"

static json_t *sub_json(const struct cg_model_sub *b)
{
	char rid[32 + CG_ADMIN_MAX_NAME_LEN], scope[CG_STORE_SUB_SCOPE_LEN];
	snprintf(rid, sizeof(rid), "/subscriptions/%s", b->id);
	cg_store_sub_scope(b, scope, sizeof(scope));
	json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:o}", "displayName", b->display_name, "scope",
			      scope, "state", b->state, "createdDate", b->created_at,
			      "expirationDate", b->expiration ? json_string(b->expiration) : json_null());
	return p ? cg_admin_resource(rid, b->id, TYPE_SUB, p) : NULL;
}

static const struct cg_model_sub *find_sub(const struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_subs; i++)
		if (strcmp(m->subs[i].id, id) == 0)
			return &m->subs[i];
	return NULL;
}

static json_t *sub_item(struct cg_admin_ctx *ctx, const struct cg_model *m, size_t i, bool *skip)
{
	return sub_json(&m->subs[i]);
}

void cg_admin_h_subs(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		     const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	cg_admin_list_model(ctx, req, resp, offsetof(struct cg_model, num_subs), sub_item);
}

/* The ETag covers the keys (keyed hash, shown nowhere): a regenerated key
 * changes it. */
#define KEYS_LEN (2 * CG_STORE_MAX_SUB_KEY_LEN + 2)
static const char *keys_of(const struct cg_model_sub *b, char keys[KEYS_LEN])
{
	snprintf(keys, KEYS_LEN, "%s\n%s", b->primary_key, b->secondary_key);
	return keys;
}

/* 200/201 with the item and its ETag. */
static void item(struct cg_admin_resp *resp, int status, const struct cg_model_sub *b)
{
	char keys[KEYS_LEN];
	cg_admin_json(resp, status, sub_json(b), keys_of(b, keys));
}

static void answer(struct cg_admin_ctx *ctx, const char *id, int status, bool secrets,
		   struct cg_admin_resp *resp)
{
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_sub *b = find_sub(&m, id);
	if (!b)
		cg_admin_error(resp, 404, "ResourceNotFound", "subscription '%s' not found", id);
	else if (secrets) /* APIM listSecrets: explicit, never logged */
		cg_admin_json(resp, status,
			      json_pack("{s:s,s:s}", "primaryKey", b->primary_key, "secondaryKey",
					b->secondary_key),
			      NULL);
	else
		item(resp, status, b);
	cg_model_free(&m);
}

/* POST listSecrets / regeneratePrimaryKey / regenerateSecondaryKey. */
static void action(struct cg_admin_ctx *ctx, const struct cg_admin_route *rt,
		   struct cg_admin_resp *resp)
{
	if (rt->action == CG_ADMIN_SUB_LIST_SECRETS) {
		answer(ctx, rt->name, 200, true, resp);
		return;
	}
	char err[CG_STORE_ERR_LEN];
	bool secondary = rt->action == CG_ADMIN_SUB_REGEN_SECONDARY;
	int rc = cg_store_sub_regenerate(ctx->store, rt->name, secondary, err, sizeof(err));
	if (rc) {
		cg_admin_store_fail(resp, rc, err);
		return;
	}
	cg_log_info("admin: subscription '%s': new %s key", rt->name,
		    secondary ? "secondary" : "primary");
	resp->body.len = 0;
	resp->status = 204; /* APIM: No Content */
}

static void put_sub(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		    const struct cg_admin_route *rt, struct cg_admin_resp *resp, const char *what,
		    const char *etag, bool exists)
{
	json_t *body = cg_admin_body_object(req, resp);
	if (!body)
		return;
	json_t *p = cg_admin_props(body, resp);
	const char *dn, *scope, *state, *pk, *sk, *exp, *owner;
	if (!p || cg_admin_opt_string(p, "displayName", &dn, resp) ||
	    cg_admin_opt_string(p, "scope", &scope, resp) ||
	    cg_admin_opt_string(p, "state", &state, resp) ||
	    cg_admin_opt_string(p, "primaryKey", &pk, resp) ||
	    cg_admin_opt_string(p, "secondaryKey", &sk, resp) ||
	    cg_admin_opt_string(p, "expirationDate", &exp, resp) ||
	    cg_admin_opt_string(p, "ownerId", &owner, resp))
		goto out;
	json_t *e = json_object_get(p, "expirationDate");
	if (!cg_admin_if_match_ok(req, exists, etag)) {
		cg_admin_precondition_failed(resp, what, exists);
		goto out;
	}
	char err[CG_STORE_ERR_LEN];
	bool created = false;
	struct cg_store_sub_set in = {
		.id = rt->name,
		.display_name = dn,
		.scope = scope,
		.state = state,
		.primary_key = pk,
		.secondary_key = sk,
		/* an explicit null clears the date; absent keeps it */
		.expiration = exp ? exp : (e && json_is_null(e)) ? "" : NULL,
		.created = &created,
	};
	int rc = cg_store_sub_set(ctx->store, &in, err, sizeof(err));
	/* An unknown API or product in the scope, a key in use: the body is wrong. */
	if (rc == CG_STORE_FAIL_NOT_FOUND || rc == CG_STORE_FAIL_CONFLICT)
		rc = CG_STORE_FAIL_INVALID;
	if (rc) {
		cg_admin_store_fail(resp, rc, err);
		goto out;
	}
	cg_log_info("admin: subscription '%s' %s", rt->name, created ? "created" : "updated");
	answer(ctx, rt->name, created ? 201 : 200, false, resp);
out:
	json_decref(body);
}

void cg_admin_h_sub(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		    const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	bool act = rt->res == CG_ADMIN_RES_SUB_ACTION;
	if (!cg_admin_allow(req, resp, act ? "POST" : "GET, PUT, DELETE"))
		return;
	if (act) {
		action(ctx, rt, resp);
		return;
	}
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_sub *b = find_sub(&m, rt->name);
	bool exists = b != NULL;
	char etag[40] = "", err[CG_STORE_ERR_LEN], what[CG_ADMIN_MAX_NAME_LEN + 24];
	snprintf(what, sizeof(what), "subscription '%s'", rt->name);
	char keys[KEYS_LEN];
	if (b)
		cg_admin_etag_of(sub_json(b), keys_of(b, keys), etag);
	if (req->method == CG_ADMIN_M_GET) {
		if (b)
			item(resp, 200, b);
		else
			cg_admin_error(resp, 404, "ResourceNotFound", "%s not found", what);
		cg_model_free(&m);
		return;
	}
	cg_model_free(&m);
	if (req->method == CG_ADMIN_M_DELETE) {
		if (cg_admin_delete_check(req, resp, what, exists, etag)) {
			int rc = cg_store_sub_rm(ctx->store, rt->name, err, sizeof(err));
			cg_admin_deleted(resp, rc, err, what);
		}
		return;
	}
	put_sub(ctx, req, rt, resp, what, etag, exists);
}
