/* hostnames/{name}: APIM's hostnameConfigurations (type Proxy) as a
 * collection of their own. The certificate comes in as APIM sends it
 * (encodedCertificate: base64 PFX + certificatePassword) or as PEM text;
 * the answer shows the certificate's view (expiry, subject, thumbprint),
 * never the key. Key material taken from a request is wiped after use. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "admin/admin-int.h"
#include "base/log.h"
#include "store/cert.h"
#include "store/validate.h"

#define TYPE_HOST "Microsoft.ApiManagement/service/hostnameConfigurations"

void cg_admin_free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* Wipes a string held by a JSON value (the request's key material) before
 * jansson frees it without wiping. */
static void wipe_json_string(json_t *props, const char *key)
{
	json_t *v = json_object_get(props, key);
	if (v && json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

unsigned char *cg_admin_b64_decode(const char *in, size_t *outlen)
{
	size_t n = strlen(in);
	unsigned char *out = malloc(n / 4 * 3 + 4);
	EVP_ENCODE_CTX *c = EVP_ENCODE_CTX_new();
	int l1 = 0, l2 = 0;
	if (!out || !c || n > INT32_MAX)
		goto fail;
	EVP_DecodeInit(c);
	if (EVP_DecodeUpdate(c, out, &l1, (const unsigned char *)in, (int)n) < 0 ||
	    EVP_DecodeFinal(c, out + l1, &l2) < 0)
		goto fail;
	EVP_ENCODE_CTX_free(c);
	*outlen = (size_t)(l1 + l2);
	return out;
fail:
	EVP_ENCODE_CTX_free(c);
	free(out);
	return NULL;
}

int cg_admin_decode_certificate(const char *encoded, const char *password, char **chain_pem,
				char **key_pem, char *err, size_t errlen)
{
	*chain_pem = *key_pem = NULL;
	if (strstr(encoded, "-----BEGIN")) {
		/* PEM text: the store's parsers each take the blocks they want
		 * (certificates, then the key) and re-encode only those. */
		*chain_pem = dup_str(encoded);
		*key_pem = dup_str(encoded);
		if (!*chain_pem || !*key_pem) {
			free(*chain_pem);
			cg_admin_free_secret(*key_pem);
			*chain_pem = *key_pem = NULL;
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	size_t der_len = 0;
	unsigned char *der = cg_admin_b64_decode(encoded, &der_len);
	if (!der) {
		snprintf(err, errlen,
			 "encodedCertificate is neither base64 (a PFX) nor PEM text");
		return -1;
	}
	int rc = -1;
	const unsigned char *p = der;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)der_len);
	EVP_PKEY *pkey = NULL;
	X509 *leaf = NULL;
	STACK_OF(X509) *ca = NULL, *chain = NULL;
	ERR_clear_error();
	if (!p12) {
		snprintf(err, errlen, "encodedCertificate is not a PFX (PKCS#12) file");
		goto out;
	}
	if (!PKCS12_parse(p12, password ? password : "", &pkey, &leaf, &ca)) {
		snprintf(err, errlen,
			 "the PFX in encodedCertificate does not open (wrong certificatePassword, "
			 "or an unsupported legacy encryption)");
		goto out;
	}
	if (!leaf || !pkey) {
		snprintf(err, errlen,
			 "the PFX in encodedCertificate must hold a certificate and its private key");
		goto out;
	}
	/* A PFX does not order its extra certificates: build leaf first, then
	 * each issuer, as the store (and TLS clients) want. */
	chain = sk_X509_new_null();
	if (!chain || !sk_X509_push(chain, leaf)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	leaf = NULL;
	for (int depth = 1; depth < CG_STORE_MAX_CHAIN; depth++) {
		X509 *last = sk_X509_value(chain, sk_X509_num(chain) - 1), *next = NULL;
		if (X509_check_issued(last, last) == X509_V_OK)
			break; /* self-signed: the top */
		for (int i = 0; ca && i < sk_X509_num(ca); i++)
			if (X509_check_issued(sk_X509_value(ca, i), last) == X509_V_OK) {
				next = sk_X509_delete(ca, i);
				break;
			}
		if (!next)
			break;
		if (!sk_X509_push(chain, next)) {
			X509_free(next);
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	*chain_pem = cg_store_chain_to_pem(chain);
	*key_pem = cg_store_key_to_pem(pkey);
	if (!*chain_pem || !*key_pem) {
		free(*chain_pem);
		cg_admin_free_secret(*key_pem);
		*chain_pem = *key_pem = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	OPENSSL_cleanse(der, der_len);
	free(der);
	PKCS12_free(p12);
	EVP_PKEY_free(pkey);
	X509_free(leaf);
	sk_X509_pop_free(ca, X509_free);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

static json_t *host_json(const struct cg_model_host *h)
{
	char id[16 + CG_ADMIN_MAX_NAME_LEN];
	snprintf(id, sizeof(id), "/hostnames/%s", h->name);
	json_t *p = json_pack("{s:s,s:s,s:b,s:b,s:s}", "type", "Proxy", "hostName", h->name,
			      "negotiateClientCertificate", h->negotiate_client_certificate,
			      "defaultSslBinding", h->is_default, "certificateSource", "Custom");
	if (!p)
		return NULL;
	struct cg_store_cert_info *ci = malloc(sizeof(*ci));
	char err[CG_STORE_ERR_LEN];
	if (!ci) {
		json_decref(p);
		return NULL;
	}
	if (cg_store_cert_describe(h->cert_pem, ci, err, sizeof(err)) == 0) {
		json_object_set_new(p, "certificate",
				    json_pack("{s:s,s:s,s:s}", "expiry", ci->not_after, "subject",
					      ci->subject, "thumbprint", ci->thumbprint));
	} else {
		json_object_set_new(p, "certificateStatus", json_string(err));
	}
	free(ci);
	return cg_admin_resource(id, h->name, TYPE_HOST, p);
}

/* What counts for the ETag beyond what is shown: the whole stored chain
 * and the key, so replacing either changes it. A hash, never shown. */
static char *host_etag_extra(const struct cg_model_host *h)
{
	size_t a = strlen(h->cert_pem), b = strlen(h->key_pem);
	char *s = malloc(a + b + 2);
	if (!s)
		return NULL;
	memcpy(s, h->cert_pem, a);
	s[a] = '\n';
	memcpy(s + a + 1, h->key_pem, b + 1);
	return s;
}

static void host_answer(struct cg_admin_resp *resp, int status, const struct cg_model_host *h)
{
	char *extra = host_etag_extra(h);
	json_t *j = host_json(h);
	if (!extra) {
		json_decref(j);
		j = NULL;
	}
	cg_admin_json(resp, status, j, extra ? extra : "");
	cg_admin_free_secret(extra);
}

static const struct cg_model_host *find_host(const struct cg_model *m, const char *name)
{
	for (size_t i = 0; i < m->num_hosts; i++)
		if (strcmp(m->hosts[i].name, name) == 0)
			return &m->hosts[i];
	return NULL;
}

static json_t *host_item(struct cg_admin_ctx *ctx, const struct cg_model *m, size_t i, bool *skip)
{
	return host_json(&m->hosts[i]);
}

void cg_admin_h_hosts(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		      const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	cg_admin_list_model(ctx, req, resp, offsetof(struct cg_model, num_hosts), host_item);
}

static void put_host(struct cg_admin_ctx *ctx, const struct cg_admin_req *req, const char *name,
		     struct cg_admin_resp *resp, const char *what, const char *etag, bool exists,
		     bool is_default, size_t num_hosts)
{
	json_t *body = cg_admin_body_object(req, resp);
	if (!body)
		return;
	json_t *p = cg_admin_props(body, resp);
	char *chain = NULL, *key = NULL;
	const char *host_name, *enc, *pass, *cpem, *kpem;
	int neg, def;
	if (!p || cg_admin_opt_string(p, "hostName", &host_name, resp) ||
	    cg_admin_opt_string(p, "encodedCertificate", &enc, resp) ||
	    cg_admin_opt_string(p, "certificatePassword", &pass, resp) ||
	    cg_admin_opt_string(p, "certificatePem", &cpem, resp) ||
	    cg_admin_opt_string(p, "keyPem", &kpem, resp) ||
	    cg_admin_opt_bool(p, "negotiateClientCertificate", &neg, resp) ||
	    cg_admin_opt_bool(p, "defaultSslBinding", &def, resp))
		goto out;
	char hn[CG_STORE_MAX_HOSTNAME_LEN + 1], err[CG_STORE_ERR_LEN];
	if (host_name) {
		if (cg_store_check_hostname(host_name, hn, err, sizeof(err)) != 0) {
			cg_admin_error(resp, 400, "ValidationError", "properties.hostName: %s", err);
			goto out;
		}
		if (strcmp(hn, name) != 0) {
			cg_admin_error(resp, 400, "ValidationError",
				       "properties.hostName '%s' differs from the hostname in the "
				       "path '%s'",
				       host_name, name);
			goto out;
		}
	}
	if (enc && (cpem || kpem)) {
		cg_admin_error(resp, 400, "ValidationError",
			       "give either properties.encodedCertificate or "
			       "properties.certificatePem/keyPem, not both");
		goto out;
	}
	if (!exists && !enc && !cpem) {
		cg_admin_error(resp, 400, "ValidationError",
			       "a new hostname needs a certificate: properties.encodedCertificate "
			       "(base64 PFX, or PEM chain and key) or properties.certificatePem and "
			       "properties.keyPem");
		goto out;
	}
	if (def == 0 && is_default && num_hosts > 1) {
		cg_admin_error(resp, 409, "Conflict",
			       "hostname '%s' is the default (defaultSslBinding); make another "
			       "hostname the default instead",
			       name);
		goto out;
	}
	if (!cg_admin_if_match_ok(req, exists, etag)) {
		cg_admin_precondition_failed(resp, what, exists);
		goto out;
	}
	if (enc && cg_admin_decode_certificate(enc, pass, &chain, &key, err, sizeof(err)) != 0) {
		cg_admin_error(resp, 400, "ValidationError", "properties.encodedCertificate: %s",
			       err);
		goto out;
	}
	char warn[CG_STORE_ERR_LEN];
	bool created = false;
	struct cg_store_host_set in = {
		.name = name,
		.cert_pem = enc ? chain : cpem,
		.key_pem = enc ? key : kpem,
		.negotiate_client_certificate = neg,
		.make_default = def == 1,
		.warn = warn,
		.warnlen = sizeof(warn),
		.created = &created,
	};
	int rc = cg_store_host_set(ctx->store, &in, err, sizeof(err));
	/* A write that clashes with another entity (a path, a method and
	 * template) is an invalid request body; 409 is kept for removals. */
	if (rc == CG_STORE_FAIL_CONFLICT)
		rc = CG_STORE_FAIL_INVALID;
	if (rc) {
		cg_admin_store_fail(resp, rc, err);
		goto out;
	}
	if (warn[0])
		cg_log_warn("admin: hostname '%s': %s", name, warn);
	cg_log_info("admin: hostname '%s' %s", name, created ? "created" : "updated");
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		goto out;
	const struct cg_model_host *h = find_host(&m, name);
	if (h)
		host_answer(resp, created ? 201 : 200, h);
	else
		cg_admin_error(resp, 404, "ResourceNotFound", "hostname '%s' not found", name);
	cg_model_free(&m);
out:
	free(chain);
	cg_admin_free_secret(key);
	if (p) {
		wipe_json_string(p, "keyPem");
		wipe_json_string(p, "encodedCertificate");
		wipe_json_string(p, "certificatePassword");
	}
	json_decref(body);
}

void cg_admin_h_host(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		     const struct cg_admin_route *rt, struct cg_admin_resp *resp)
{
	if (!cg_admin_allow(req, resp, "GET, PUT, DELETE"))
		return;
	/* Hostnames are stored lowercase; the path may use any case. A name
	 * that is not a hostname simply does not exist (GET/DELETE) or is
	 * refused by the store (PUT). */
	char name[CG_STORE_MAX_HOSTNAME_LEN + 1], err[CG_STORE_ERR_LEN];
	bool valid = cg_store_check_hostname(rt->name, name, err, sizeof(err)) == 0;
	if (!valid) {
		if (req->method == CG_ADMIN_M_PUT)
			cg_admin_error(resp, 400, "ValidationError", "%s", err);
		else if (req->method == CG_ADMIN_M_GET)
			cg_admin_error(resp, 404, "ResourceNotFound", "hostname '%s' not found",
				       rt->name);
		else
			resp->status = 204;
		return;
	}
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	const struct cg_model_host *h = find_host(&m, name);
	char etag[40] = "", what[CG_STORE_MAX_HOSTNAME_LEN + 16];
	snprintf(what, sizeof(what), "hostname '%s'", name);
	bool exists = h != NULL, is_default = h && h->is_default;
	size_t num_hosts = m.num_hosts;
	if (h) {
		char *extra = host_etag_extra(h);
		if (extra) /* without it an ETag would not cover the key: none */
			cg_admin_etag_of(host_json(h), extra, etag);
		cg_admin_free_secret(extra);
	}
	if (req->method == CG_ADMIN_M_GET) {
		if (h)
			host_answer(resp, 200, h);
		else
			cg_admin_error(resp, 404, "ResourceNotFound", "hostname '%s' not found",
				       name);
		cg_model_free(&m);
		return;
	}
	cg_model_free(&m);
	if (req->method == CG_ADMIN_M_PUT) {
		put_host(ctx, req, name, resp, what, etag, exists, is_default, num_hosts);
		return;
	}
	if (!cg_admin_delete_check(req, resp, what, exists, etag))
		return;
	int rc = cg_store_host_rm(ctx->store, name, err, sizeof(err));
	cg_admin_deleted(resp, rc, err, what);
}
