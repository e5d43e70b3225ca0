/* certificates/{id} (APIM's certificates entity: what policies see in
 * context.Deployment.Certificates, and client certificates for backend
 * mTLS) and caCertificates/{id} (certgate's collection for APIM's service
 * certificates[]: Root and CertificateAuthority trust for Verify() and
 * validate-client-certificate). Uploads come as APIM sends them: base64
 * "data" (PFX, DER, or PEM text) and "password". A private key that came
 * with a certificate is stored for backend mTLS and never shown; the
 * answer says only hasPrivateKey. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "admin/admin-int.h"
#include "base/log.h"
#include "store/cert.h"

#define TYPE_CERT "Microsoft.ApiManagement/service/certificates"
#define TYPE_CA   "Microsoft.ApiManagement/service/caCertificates"

static json_t *cert_json(const char *collection, const char *type, const char *id,
			 const struct cg_store_cert_info *ci, json_t *extra)
{
	char rid[32 + CG_ADMIN_MAX_NAME_LEN];
	snprintf(rid, sizeof(rid), "/%s/%s", collection, id);
	json_t *p = json_pack("{s:s,s:s,s:s,s:s}", "subject", ci->subject, "issuer", ci->issuer,
			      "thumbprint", ci->thumbprint, "expirationDate", ci->not_after);
	if (!p) {
		json_decref(extra);
		return NULL;
	}
	if (extra && json_object_update(p, extra) != 0) {
		json_decref(extra);
		json_decref(p);
		return NULL;
	}
	json_decref(extra);
	return cg_admin_resource(rid, id, type, p);
}

static json_t *cert_item(const char *id, const struct cg_store_cert_info *ci, bool has_key)
{
	return cert_json("certificates", TYPE_CERT, id, ci,
			 json_pack("{s:b}", "hasPrivateKey", has_key));
}

/* Reads properties.data (base64, required) and properties.password, and
 * refuses keyVault. *data is malloc'd (wipe and free). -1 after a 400. */
static int read_upload(json_t *p, unsigned char **data, size_t *len, const char **password,
		       struct cg_admin_resp *resp)
{
	const char *b64;
	*data = NULL;
	if (cg_admin_opt_string(p, "data", &b64, resp) ||
	    cg_admin_opt_string(p, "password", password, resp))
		return -1;
	json_t *kv = json_object_get(p, "keyVault");
	if (kv && !json_is_null(kv)) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.keyVault is not supported: upload the certificate in "
			       "properties.data");
		return -1;
	}
	if (!b64) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.data is required: the certificate file (PFX, DER or "
			       "PEM), base64-encoded");
		return -1;
	}
	*data = cg_admin_b64_decode(b64, len);
	if (!*data || *len == 0) {
		free(*data);
		*data = NULL;
		cg_admin_error(resp, 400, "ValidationError", "properties.data is not base64");
		return -1;
	}
	return 0;
}

static void wipe_props(json_t *p)
{
	static const char *const keys[] = { "data", "password" };
	for (size_t i = 0; p && i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(p, keys[i]);
		if (json_is_string(v))
			OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
	}
}

static void free_upload(unsigned char *data, size_t len)
{
	if (data) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
}

/* ---- certificates ---------------------------------------------------------- */

static json_t *cert_list_item(struct cg_admin_ctx *ctx, const struct cg_model *m, size_t i,
			      bool *skip)
{
	const struct cg_model_cert *c = &m->certs[i];
	const unsigned char *d = c->der;
	X509 *x = d2i_X509(NULL, &d, (long)c->der_len);
	if (!x) {
		*skip = true; /* the store refuses such rows at load; belt and braces */
		return NULL;
	}
	struct cg_store_cert_info ci;
	cg_store_cert_info_of(x, &ci);
	X509_free(x);
	return cert_item(c->id, &ci, c->has_key);
}

void cg_admin_h_certs(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		      const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	cg_admin_list_model(ctx, req, resp, offsetof(struct cg_model, num_certs), cert_list_item);
}

void cg_admin_h_cert(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		     const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET, PUT, DELETE"))
		return;
	struct cg_store_cert_info *ci = malloc(sizeof(*ci));
	if (!ci) {
		cg_admin_error(resp, 503, "ServiceUnavailable", "out of memory");
		return;
	}
	char e[CG_STORE_ERR_LEN], what[CG_ADMIN_MAX_NAME_LEN + 32], etag[40] = "";
	snprintf(what, sizeof(what), "certificate '%s'", rt->name);
	bool has_key = false;
	unsigned char *data = NULL;
	size_t len = 0;
	json_t *body = NULL, *p = NULL;
	int rc = cg_store_cert_get(ctx->store, rt->name, ci, &has_key, e, sizeof(e));
	if (rc && rc != CG_STORE_FAIL_NOT_FOUND && rc != CG_STORE_FAIL_INVALID) {
		cg_admin_store_fail(resp, rc, e);
		goto out;
	}
	bool exists = rc == 0;
	if (exists) /* the view's thumbprint and key presence change with the upload */
		cg_admin_etag_of(cert_item(rt->name, ci, has_key), NULL, etag);
	if (req->method == CG_ADMIN_M_GET) {
		if (exists)
			cg_admin_json(resp, 200, cert_item(rt->name, ci, has_key), "");
		else
			cg_admin_error(resp, 404, "ResourceNotFound", "%s not found", what);
		goto out;
	}
	if (req->method == CG_ADMIN_M_DELETE) {
		if (cg_admin_delete_check(req, resp, what, exists, etag)) {
			rc = cg_store_cert_rm(ctx->store, rt->name, e, sizeof(e));
			cg_admin_deleted(resp, rc, e, what);
		}
		goto out;
	}
	body = cg_admin_body_object(req, resp);
	if (!body)
		goto out;
	p = cg_admin_props(body, resp);
	const char *password = NULL;
	if (!p || read_upload(p, &data, &len, &password, resp))
		goto out;
	if (!cg_admin_if_match_ok(req, exists, etag)) {
		cg_admin_precondition_failed(resp, what, exists);
		goto out;
	}
	char warn[CG_STORE_ERR_LEN] = "";
	bool created = false;
	struct cg_store_cert_add in = {
		.id = rt->name,
		.data = data,
		.len = len,
		.password = password,
		.created = &created,
		.warn = warn,
		.warnlen = sizeof(warn),
	};
	rc = cg_store_cert_add(ctx->store, &in, e, sizeof(e));
	/* The same certificate under another id is a bad upload (400); 409
	 * stays for "still in use" refusals. */
	if (rc == CG_STORE_FAIL_CONFLICT && strstr(e, "is already stored as"))
		rc = CG_STORE_FAIL_INVALID;
	if (rc) {
		cg_admin_store_fail(resp, rc, e);
		goto out;
	}
	if (warn[0])
		cg_log_warn("admin: %s: %s", what, warn);
	cg_log_info("admin: %s %s", what, created ? "created" : "updated");
	rc = cg_store_cert_get(ctx->store, rt->name, ci, &has_key, e, sizeof(e));
	if (rc)
		cg_admin_store_fail(resp, rc, e);
	else
		cg_admin_json(resp, created ? 201 : 200, cert_item(rt->name, ci, has_key), "");
out:
	free_upload(data, len);
	wipe_props(p);
	json_decref(body);
	free(ci);
}

/* ---- CA certificates ------------------------------------------------------- */

static const char *store_name(bool intermediate)
{
	return intermediate ? "CertificateAuthority" : "Root";
}

static json_t *ca_item(const struct cg_model_ca *ca, struct cg_store_cert_info *ci)
{
	const unsigned char *d = ca->der;
	X509 *x = d2i_X509(NULL, &d, (long)ca->der_len);
	if (!x)
		return NULL;
	cg_store_cert_info_of(x, ci);
	X509_free(x);
	return cert_json("caCertificates", TYPE_CA, ca->id, ci,
			 json_pack("{s:s}", "storeName", store_name(ca->intermediate)));
}

static json_t *ca_list_item(struct cg_admin_ctx *ctx, const struct cg_model *m, size_t i,
			    bool *skip)
{
	struct cg_store_cert_info ci;
	return ca_item(&m->cas[i], &ci);
}

void cg_admin_h_cas(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		    const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	cg_admin_list_model(ctx, req, resp, offsetof(struct cg_model, num_cas), ca_list_item);
}

/* Answers the CA id as stored now (status), or 404. */
static void ca_answer(struct cg_admin_ctx *ctx, const char *id, int status, char etag_out[40],
		      bool *exists, struct cg_admin_resp *resp)
{
	struct cg_model m;
	*exists = false;
	if (etag_out)
		etag_out[0] = '\0';
	if (cg_admin_load(ctx, &m, resp))
		return;
	struct cg_store_cert_info *ci = malloc(sizeof(*ci));
	for (size_t i = 0; ci && i < m.num_cas; i++) {
		if (strcmp(m.cas[i].id, id) != 0)
			continue;
		*exists = true;
		json_t *j = ca_item(&m.cas[i], ci);
		if (etag_out)
			cg_admin_etag_of(j, NULL, etag_out);
		else
			cg_admin_json(resp, status, j, "");
		break;
	}
	if (!ci)
		cg_admin_error(resp, 503, "ServiceUnavailable", "out of memory");
	else if (!*exists && !etag_out)
		cg_admin_error(resp, 404, "ResourceNotFound", "CA certificate '%s' not found", id);
	free(ci);
	cg_model_free(&m);
}

void cg_admin_h_ca(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		   const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET, PUT, DELETE"))
		return;
	char e[CG_STORE_ERR_LEN], what[CG_ADMIN_MAX_NAME_LEN + 32], etag[40];
	snprintf(what, sizeof(what), "CA certificate '%s'", rt->name);
	bool exists;
	if (req->method == CG_ADMIN_M_GET) {
		ca_answer(ctx, rt->name, 200, NULL, &exists, resp);
		return;
	}
	ca_answer(ctx, rt->name, 0, etag, &exists, resp);
	if (resp->status)
		return; /* the model did not load */
	if (req->method == CG_ADMIN_M_DELETE) {
		if (cg_admin_delete_check(req, resp, what, exists, etag)) {
			int rc = cg_store_ca_rm(ctx->store, rt->name, e, sizeof(e));
			cg_admin_deleted(resp, rc, e, what);
		}
		return;
	}
	json_t *body = cg_admin_body_object(req, resp), *p = NULL;
	unsigned char *data = NULL;
	size_t len = 0;
	if (!body)
		return;
	p = cg_admin_props(body, resp);
	const char *password = NULL, *sn = NULL;
	if (!p || cg_admin_opt_string(p, "storeName", &sn, resp) ||
	    read_upload(p, &data, &len, &password, resp))
		goto out;
	if (sn && strcmp(sn, "Root") && strcmp(sn, "CertificateAuthority")) {
		cg_admin_error(resp, 400, "ValidationError",
			       "properties.storeName must be \"Root\" or \"CertificateAuthority\"");
		goto out;
	}
	if (!cg_admin_if_match_ok(req, exists, etag)) {
		cg_admin_precondition_failed(resp, what, exists);
		goto out;
	}
	char warn[CG_STORE_ERR_LEN] = "";
	bool created = false;
	struct cg_store_ca_add in = {
		.id = rt->name,
		.data = data,
		.len = len,
		.password = password,
		.intermediate = sn && strcmp(sn, "CertificateAuthority") == 0,
		.created = &created,
		.warn = warn,
		.warnlen = sizeof(warn),
	};
	int rc = cg_store_ca_add(ctx->store, &in, e, sizeof(e));
	if (rc == CG_STORE_FAIL_CONFLICT)
		rc = CG_STORE_FAIL_INVALID; /* the same CA under another id: a bad upload */
	if (rc) {
		cg_admin_store_fail(resp, rc, e);
		goto out;
	}
	if (warn[0])
		cg_log_warn("admin: %s: %s", what, warn);
	cg_log_info("admin: %s %s", what, created ? "created" : "updated");
	ca_answer(ctx, rt->name, created ? 201 : 200, NULL, &exists, resp);
out:
	free_upload(data, len);
	wipe_props(p);
	json_decref(body);
}
