/* One admin request: authorization, routing, and the helpers every
 * resource handler shares (ARM error bodies, ETags, If-Match, JSON input). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "admin/admin-int.h"
#include "base/log.h"

/* ---- token ---------------------------------------------------------------- */

static int sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 0;
	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32 ? 0 : -1;
}

int cg_admin_read_file(const char *what, const char *path, char *buf, size_t cap, size_t *n,
		       bool *loose, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	*n = 0;
	char extra;
	for (;;) {
		/* One byte past cap - 1 tells a file that is too large. */
		bool full = *n == cap - 1;
		ssize_t r = full ? read(fd, &extra, 1) : read(fd, buf + *n, cap - 1 - *n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s '%s': %s", what, path, strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		if (full) {
			snprintf(err, errlen, "%s '%s': more than %zu bytes", what, path, cap - 1);
			close(fd);
			return -1;
		}
		*n += (size_t)r;
	}
	buf[*n] = '\0';
	struct stat sb;
	if (loose)
		*loose = fstat(fd, &sb) == 0 && (sb.st_mode & 0077);
	close(fd);
	return 0;
}

int cg_admin_ctx_token(struct cg_admin_ctx *ctx, const char *token_file, char *err, size_t errlen)
{
	char buf[CG_ADMIN_MAX_TOKEN_BYTES + 1];
	size_t n;
	bool loose = false;
	int rc = -1;
	if (cg_admin_read_file("admin token file", token_file, buf, sizeof(buf), &n, &loose, err,
			       errlen) != 0)
		goto out;
	/* An editor's final newline is not part of the token. */
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
		     buf[n - 1] == '\t'))
		n--;
	if (n < CG_ADMIN_MIN_TOKEN_BYTES) {
		snprintf(err, errlen,
			 "admin token file '%s': the token must be at least %d bytes (e.g. "
			 "'openssl rand -hex 32 > %s')",
			 token_file, CG_ADMIN_MIN_TOKEN_BYTES, token_file);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		/* Printable ASCII without spaces: it must survive a header. */
		if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
			snprintf(err, errlen,
				 "admin token file '%s': the token must be printable ASCII without "
				 "spaces (byte %zu is not)",
				 token_file, i + 1);
			goto out;
		}
	if (sha256(buf, n, ctx->token_hash) != 0) {
		snprintf(err, errlen, "admin token: cannot hash (OpenSSL)");
		goto out;
	}
	ctx->has_token = true;
	if (loose)
		cg_log_warn("admin token file '%s' is readable by other users (chmod 600 it)",
			    token_file);
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

bool cg_admin_authorized(const struct cg_admin_ctx *ctx, struct cg_str authorization)
{
	struct cg_str a = cg_str_trim_ows(authorization);
	if (a.len < 7 || !cg_str_ieq_lit(cg_str_sub(a, 0, 6), "Bearer") ||
	    (a.ptr[6] != ' ' && a.ptr[6] != '\t'))
		return false;
	struct cg_str tok = cg_str_trim_ows(cg_str_sub(a, 7, a.len - 7));
	if (tok.len == 0 || tok.len > CG_ADMIN_MAX_TOKEN_BYTES)
		return false;
	/* Comparing hashes of fixed length makes the comparison's time
	 * independent of both the token's content and its length. */
	unsigned char h[32];
	if (sha256(tok.ptr, tok.len, h) != 0)
		return false;
	return CRYPTO_memcmp(h, ctx->token_hash, sizeof(h)) == 0;
}

/* ---- responses ------------------------------------------------------------ */

void cg_admin_resp_init(struct cg_admin_resp *r)
{
	memset(r, 0, sizeof(*r));
	cg_buf_init(&r->body, CG_ADMIN_MAX_RESPONSE_BYTES);
}

void cg_admin_resp_free(struct cg_admin_resp *r)
{
	cg_buf_free(&r->body);
}

/* Last resort when even an error body cannot be built. */
static void out_of_memory(struct cg_admin_resp *r)
{
	r->status = 503;
	r->body.len = 0;
	r->etag[0] = '\0';
}

void cg_admin_json(struct cg_admin_resp *r, int status, json_t *j, const char *etag_extra)
{
	r->body.len = 0;
	r->etag[0] = '\0';
	if (!j) {
		out_of_memory(r);
		return;
	}
	if (etag_extra && cg_admin_etag(j, etag_extra, r->etag) != 0) {
		json_decref(j);
		out_of_memory(r);
		return;
	}
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!s || cg_buf_append(&r->body, s, strlen(s)) != 0 || cg_buf_append(&r->body, "\n", 1) != 0) {
		free(s);
		out_of_memory(r);
		return;
	}
	free(s);
	r->status = status;
}

void cg_admin_error(struct cg_admin_resp *r, int status, const char *code, const char *fmt, ...)
{
	/* Store messages can list every policy diagnostic (up to
	 * CG_STORE_DIAG_LEN), so the message is sized to fit, within a cap. */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 1 : (size_t)n + 1;
	if (len > CG_ADMIN_MAX_ERROR_BYTES)
		len = CG_ADMIN_MAX_ERROR_BYTES;
	char *msg = malloc(len);
	if (!msg) {
		out_of_memory(r);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	if (!e) {
		/* A message quoting a name with bytes that are not UTF-8 (a
		 * percent-decoded path): JSON cannot hold them, so mask them. */
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		e = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	}
	free(msg);
	cg_admin_json(r, status, e, NULL);
	r->allow = NULL;
}

/* A per-process random key mixed into every ETag: an ETag covers secret
 * values (a short secret named value, a key), and without the key a
 * client could test guesses against it offline. ETags are therefore only
 * stable for the life of the process. Only the main thread computes them. */
static unsigned char etag_key[32];
static bool etag_key_set;

int cg_admin_etag(json_t *j, const char *etag_extra, char out[40])
{
	if (!etag_key_set) {
		if (RAND_bytes(etag_key, sizeof(etag_key)) != 1)
			return -1;
		etag_key_set = true;
	}
	/* Sorted compact JSON: the same stored state always hashes the same,
	 * whatever order the fields were built in. */
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		return -1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char h[32];
	unsigned int hl = 0;
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(md, etag_key, sizeof(etag_key)) == 1 &&
		 EVP_DigestUpdate(md, s, strlen(s)) == 1 && EVP_DigestUpdate(md, "\n", 1) == 1 &&
		 EVP_DigestUpdate(md, etag_extra, strlen(etag_extra)) == 1 &&
		 EVP_DigestFinal_ex(md, h, &hl) == 1;
	EVP_MD_CTX_free(md);
	free(s);
	if (!ok)
		return -1;
	static const char hex[] = "0123456789abcdef";
	out[0] = '"';
	for (int i = 0; i < 16; i++) {
		out[1 + 2 * i] = hex[h[i] >> 4];
		out[2 + 2 * i] = hex[h[i] & 15];
	}
	out[33] = '"';
	out[34] = '\0';
	return 0;
}

bool cg_admin_if_match_ok(const struct cg_admin_req *req, bool exists, const char *etag)
{
	if (!req->has_if_match)
		return true;
	struct cg_str rest = req->if_match, e;
	while (cg_str_next_csv(&rest, &e)) {
		if (cg_str_eq_lit(e, "*")) {
			if (exists)
				return true;
			continue;
		}
		if (e.len > 2 && e.ptr[0] == 'W' && e.ptr[1] == '/')
			e = cg_str_sub(e, 2, e.len - 2);
		if (exists && etag && cg_str_eq(e, cg_str_from_c(etag)))
			return true;
	}
	return false;
}

json_t *cg_admin_body_object(const struct cg_admin_req *req, struct cg_admin_resp *resp)
{
	if (req->body.len == 0) {
		cg_admin_error(resp, 400, "InvalidRequestContent",
			       "The request content was invalid and could not be deserialized: the "
			       "body is empty, expected a JSON object");
		return NULL;
	}
	json_error_t e;
	json_t *j = json_loadb(req->body.ptr, req->body.len, JSON_REJECT_DUPLICATES, &e);
	if (!j) {
		cg_admin_error(resp, 400, "InvalidRequestContent",
			       "The request content was invalid and could not be deserialized: %s "
			       "line %d column %d",
			       e.text, e.line, e.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		cg_admin_error(resp, 400, "InvalidRequestContent",
			       "The request content was invalid and could not be deserialized: "
			       "expected a JSON object line 1 column 1");
		return NULL;
	}
	return j;
}

json_t *cg_admin_props(json_t *body, struct cg_admin_resp *resp)
{
	json_t *p = json_object_get(body, "properties");
	if (!p)
		return body;
	if (!json_is_object(p)) {
		cg_admin_error(resp, 400, "ValidationError", "properties must be a JSON object");
		return NULL;
	}
	return p;
}

int cg_admin_opt_string(json_t *props, const char *key, const char **out,
			struct cg_admin_resp *resp)
{
	json_t *v = json_object_get(props, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		cg_admin_error(resp, 400, "ValidationError", "properties.%s must be a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int cg_admin_opt_bool(json_t *props, const char *key, int *out, struct cg_admin_resp *resp)
{
	json_t *v = json_object_get(props, key);
	*out = -1;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		cg_admin_error(resp, 400, "ValidationError", "properties.%s must be true or false",
			       key);
		return -1;
	}
	*out = json_is_true(v) ? 1 : 0;
	return 0;
}

void cg_admin_store_fail(struct cg_admin_resp *r, int rc, const char *err)
{
	switch (rc) {
	case CG_STORE_FAIL_INVALID:
		cg_admin_error(r, 400, "ValidationError", "%s", err);
		break;
	case CG_STORE_FAIL_NOT_FOUND:
		cg_admin_error(r, 404, "ResourceNotFound", "%s", err);
		break;
	case CG_STORE_FAIL_CONFLICT:
		cg_admin_error(r, 409, "Conflict", "%s", err);
		break;
	default:
		cg_log_error("admin: store: %s", err);
		cg_admin_error(r, 500, "InternalServerError", "store: %s", err);
		break;
	}
}

json_t *cg_admin_resource(const char *id, const char *name, const char *type, json_t *props)
{
	return json_pack("{s:s,s:s,s:s,s:o}", "id", id, "name", name, "type", type, "properties",
			 props);
}

json_t *cg_admin_list(json_t *items)
{
	if (!items)
		return NULL;
	return json_pack("{s:o,s:I}", "value", items, "count", (json_int_t)json_array_size(items));
}

bool cg_admin_allow(const struct cg_admin_req *req, struct cg_admin_resp *resp, const char *allow)
{
	struct cg_str rest = cg_str_from_c(allow), m;
	while (cg_str_next_csv(&rest, &m))
		if (cg_str_eq(m, req->method_text))
			return true;
	cg_admin_error(resp, 405, "MethodNotAllowed",
		       "The method '%.*s' is not allowed here (allowed: %s)",
		       CG_STR_FMT(cg_str_sub(req->method_text, 0, 32)), allow);
	resp->allow = allow;
	return false;
}

int cg_admin_load(struct cg_admin_ctx *ctx, struct cg_model *m, struct cg_admin_resp *resp)
{
	char err[CG_STORE_ERR_LEN];
	if (cg_store_load_model(ctx->store, m, err, sizeof(err)) != 0) {
		cg_log_error("admin: store: %s", err);
		cg_admin_error(resp, 500, "InternalServerError", "store: %s", err);
		return -1;
	}
	return 0;
}

/* ---- what the resource handlers share ------------------------------------ */

void cg_admin_list_model(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			 struct cg_admin_resp *resp, size_t count_at, cg_admin_item_fn item)
{
	if (!cg_admin_allow(req, resp, "GET"))
		return;
	struct cg_model m;
	if (cg_admin_load(ctx, &m, resp))
		return;
	size_t n = *(const size_t *)((const char *)&m + count_at);
	json_t *items = json_array();
	for (size_t i = 0; items && i < n; i++) {
		bool skip = false;
		json_t *j = item(ctx, &m, i, &skip);
		if (!skip && json_array_append_new(items, j) != 0) {
			json_decref(items);
			items = NULL;
		}
	}
	cg_model_free(&m);
	cg_admin_json(resp, 200, cg_admin_list(items), NULL);
}

void cg_admin_etag_of(json_t *j, const char *extra, char out[40])
{
	out[0] = '\0';
	if (j && cg_admin_etag(j, extra ? extra : "", out) != 0)
		out[0] = '\0';
	json_decref(j);
}

void cg_admin_precondition_failed(struct cg_admin_resp *resp, const char *what, bool exists)
{
	cg_admin_error(resp, 412, "PreconditionFailed", "The If-Match header does not match %s%s",
		       what, exists ? " (it changed)" : " (it does not exist)");
}

bool cg_admin_delete_check(const struct cg_admin_req *req, struct cg_admin_resp *resp,
			   const char *what, bool exists, const char *etag)
{
	if (!exists) {
		resp->status = 204; /* ARM: deleting what is not there is no error */
		return false;
	}
	if (!cg_admin_if_match_ok(req, true, etag)) {
		cg_admin_precondition_failed(resp, what, true);
		return false;
	}
	return true;
}

void cg_admin_deleted(struct cg_admin_resp *resp, int rc, const char *err, const char *what)
{
	if (rc == CG_STORE_FAIL_NOT_FOUND) {
		resp->status = 204; /* removed in between */
	} else if (rc) {
		cg_admin_store_fail(resp, rc, err);
	} else {
		cg_log_info("admin: %s removed", what);
		resp->status = 200;
	}
}

/* ---- dispatch ------------------------------------------------------------- */

static const cg_admin_handler_fn handlers[CG_ADMIN_RES_COUNT_] = {
	[CG_ADMIN_RES_APIS] = cg_admin_h_apis,
	[CG_ADMIN_RES_API] = cg_admin_h_api,
	[CG_ADMIN_RES_OPS] = cg_admin_h_ops,
	[CG_ADMIN_RES_OP] = cg_admin_h_op,
	[CG_ADMIN_RES_HOSTS] = cg_admin_h_hosts,
	[CG_ADMIN_RES_HOST] = cg_admin_h_host,
	[CG_ADMIN_RES_POLICIES] = cg_admin_h_policies,
	[CG_ADMIN_RES_POLICY] = cg_admin_h_policy,
	[CG_ADMIN_RES_FRAGMENTS] = cg_admin_h_fragments,
	[CG_ADMIN_RES_FRAGMENT] = cg_admin_h_fragment,
	[CG_ADMIN_RES_CERTS] = cg_admin_h_certs,
	[CG_ADMIN_RES_CERT] = cg_admin_h_cert,
	[CG_ADMIN_RES_CAS] = cg_admin_h_cas,
	[CG_ADMIN_RES_CA] = cg_admin_h_ca,
	[CG_ADMIN_RES_NAMED_VALUES] = cg_admin_h_named_values,
	[CG_ADMIN_RES_NAMED_VALUE] = cg_admin_h_named_value,
	[CG_ADMIN_RES_NAMED_VALUE_LIST] = cg_admin_h_named_value,
	[CG_ADMIN_RES_BACKENDS] = cg_admin_h_backends,
	[CG_ADMIN_RES_BACKEND] = cg_admin_h_backend,
	[CG_ADMIN_RES_SUBS] = cg_admin_h_subs,
	[CG_ADMIN_RES_SUB] = cg_admin_h_sub,
	[CG_ADMIN_RES_SUB_ACTION] = cg_admin_h_sub,
	[CG_ADMIN_RES_PRODUCTS] = cg_admin_h_products,
	[CG_ADMIN_RES_PRODUCT] = cg_admin_h_product,
	[CG_ADMIN_RES_PRODUCT_APIS] = cg_admin_h_product_apis,
	[CG_ADMIN_RES_PRODUCT_API] = cg_admin_h_product_api,
};

bool cg_admin_authenticate(const struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			   struct cg_admin_resp *resp)
{
	/* The certificate first: it was decided at the handshake, and a
	 * client without one learns nothing about the token either. */
	if (ctx->need_cert && req->cert != CG_ADMIN_CERT_OK) {
		if (req->cert == CG_ADMIN_CERT_MISSING)
			cg_admin_error(resp, 403, "ClientCertificateRequired",
				       "A client certificate issued by an admin client CA is "
				       "required.");
		else
			/* Why (untrusted, expired, not pinned) is in the log only. */
			cg_admin_error(resp, 403, "ClientCertificateInvalid",
				       "The client certificate is not accepted by the admin API.");
		return false;
	}
	if (!ctx->has_token && !ctx->need_cert) {
		cg_admin_error(resp, 403, "AuthenticationFailed",
			       "The admin API has no authentication configured.");
		return false;
	}
	if (!ctx->has_token || cg_admin_authorized(ctx, req->authorization))
		return true;
	resp->www_authenticate = true;
	if (req->authorization.len == 0)
		cg_admin_error(resp, 401, "AuthenticationFailed",
			       "Authentication failed. The 'Authorization' header is "
			       "missing.");
	else
		cg_admin_error(resp, 401, "AuthenticationFailed",
			       "Authentication failed. The 'Authorization' header is not "
			       "'Bearer <token>' with the admin token.");
	return false;
}

void cg_admin_handle(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		     struct cg_admin_resp *resp)
{
	/* Authentication comes before everything, routing included: without
	 * it a client learns nothing, not even which paths exist. */
	if (!cg_admin_authenticate(ctx, req, resp))
		return;
	if (ctx->metrics && cg_str_eq_lit(req->path, "/metrics")) {
		if (req->method != CG_ADMIN_M_GET) {
			resp->allow = "GET";
			cg_admin_error(resp, 405, "MethodNotAllowed", "Only GET is allowed on /metrics");
			return;
		}
		resp->body.len = 0;
		if (ctx->metrics(ctx->metrics_user, &resp->body) != 0) {
			cg_admin_error(resp, 500, "InternalError", "The metrics could not be rendered");
			return;
		}
		resp->status = 200;
		resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
		return;
	}
	struct cg_admin_route rt;
	int status;
	if (cg_admin_route(req->path, &rt, &status) != 0) {
		if (status == 400)
			cg_admin_error(resp, 400, "InvalidResourceName",
				       "A resource name in '%.*s' is not valid (bad percent escape, "
				       "'/' or NUL, or over %d bytes)",
				       CG_STR_FMT(cg_str_sub(req->path, 0, 512)),
				       CG_ADMIN_MAX_NAME_LEN);
		else
			cg_admin_error(resp, 404, "ResourceNotFound",
				       "No resource matches the path '%.*s'",
				       CG_STR_FMT(cg_str_sub(req->path, 0, 512)));
		return;
	}
	handlers[rt.res](ctx, req, &rt, resp);
}
