/* Inside the admin module: the pieces server.c wires together, exposed
 * for the module's files and its unit tests (tests/unit/admin/), not for
 * other modules. */
#ifndef CG_ADMIN_ADMIN_INT_H
#define CG_ADMIN_ADMIN_INT_H

#include <sys/socket.h>

#include <jansson.h>

#include "admin/admin-t.h"
#include "admin/admin.h"
#include "store/store.h"

/* What a handler needs: the store (read-write) and how requests
 * authenticate. With both a token and client certificates configured,
 * a request needs both; with neither, every request is refused (fails
 * safe: startup refuses that configuration anyway). */
struct cg_admin_ctx {
	struct cg_store *store;
	/* GET /metrics: the data plane's Prometheus text (NULL: 404). */
	int (*metrics)(void *user, struct cg_buf *out);
	void *metrics_user;
	bool has_token;               /* --admin-token-file: a bearer token is required */
	bool need_cert;               /* --admin-client-ca: a verified client certificate is required */
	unsigned char token_hash[32]; /* SHA-256 of the token: compared, never the token itself */
};

/* TLS settings of the admin listener (tls.c): server credentials, and the
 * client-certificate trust (NULL trust: no client certificates asked). */
struct cg_admin_tls;

/* ---- route.c ---- */

/* Resolves an origin-form path (no query) to a resource. Strips an ARM
 * prefix "/subscriptions/{s}/resourceGroups/{g}/providers/
 * Microsoft.ApiManagement/service/{svc}" (literal words in any case) and a
 * trailing '/'. Collection words match in any case, as ARM's do.
 * Percent-decodes names and refuses (returns -1, *status 400) a bad escape,
 * a NUL, '/' inside a name or a name over CG_ADMIN_MAX_NAME_LEN; an unknown
 * path returns -1 with *status 404. 0 on success. */
int cg_admin_route(struct cg_str path, struct cg_admin_route *out, int *status);

/* Method from its text (exact, case-sensitive as RFC 9110 says). */
enum cg_admin_method cg_admin_method_of(struct cg_str m);

/* ---- handle.c ---- */

/* Reads the whole file at path into buf (cap bytes; at most cap - 1 are
 * read, then NUL-terminated), its length in *n. what names it in messages:
 * "<what> '<path>': <strerror>" when it cannot be opened or read,
 * "<what> '<path>': more than <cap-1> bytes" (an empty file is not refused).
 * *loose (may be NULL): the file is readable by group or others. The
 * caller wipes buf when it holds a secret (on failure too). 0 or -1. */
int cg_admin_read_file(const char *what, const char *path, char *buf, size_t cap, size_t *n,
		       bool *loose, char *err, size_t errlen);

/* Sets up ctx: reads the token file, hashes the token, sets has_token.
 * Returns 0 or -1 with err filled. */
int cg_admin_ctx_token(struct cg_admin_ctx *ctx, const char *token_file, char *err,
		       size_t errlen);

/* True when authorization is "Bearer <token>" (scheme in any case) and the
 * token is ours; compared in constant time (hash, then CRYPTO_memcmp). */
bool cg_admin_authorized(const struct cg_admin_ctx *ctx, struct cg_str authorization);

/* Authentication of one request (client certificate, then token; see
 * cg_admin_ctx): true when it may go on, else resp holds the answer: 403
 * ClientCertificateRequired / ClientCertificateInvalid, or 401
 * AuthenticationFailed with WWW-Authenticate. */
bool cg_admin_authenticate(const struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			   struct cg_admin_resp *resp);

/* Handles one whole request, authorization included: fills resp (which the
 * caller initialised with cg_admin_resp_init and releases with
 * cg_admin_resp_free). Never fails: out of memory becomes a 500/503. */
void cg_admin_handle(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		     struct cg_admin_resp *resp);

void cg_admin_resp_init(struct cg_admin_resp *r);
void cg_admin_resp_free(struct cg_admin_resp *r);

/* An ARM error body {"error":{"code":code,"message":msg}} with status. */
void cg_admin_error(struct cg_admin_resp *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Serialises j (taken; released here) as the body with status. When
 * etag_extra is non-NULL the ETag is the hash of the compact sorted JSON
 * followed by etag_extra (fields that count for changes but are never
 * shown, e.g. a private key). */
void cg_admin_json(struct cg_admin_resp *r, int status, json_t *j, const char *etag_extra);

/* The quoted ETag of a representation (see cg_admin_json), into out[40]:
 * 32 hex digits of SHA-256 over a per-process random key, the JSON and
 * etag_extra (so it reveals nothing about secrets; stable while the process runs).
 * Returns 0, or -1 when out of memory. */
int cg_admin_etag(json_t *j, const char *etag_extra, char out[40]);

/* If-Match check for a PUT/DELETE: true when the request may go on.
 * exists: whether the resource is there now; etag: its current ETag.
 * No If-Match: true. "*": true when it exists. A list of ETags (weak or
 * strong, compared strongly as ARM does): true when one equals etag. */
bool cg_admin_if_match_ok(const struct cg_admin_req *req, bool exists, const char *etag);

/* Parses the request body as a JSON object (taken by the caller: decref).
 * On failure fills resp with 400 InvalidRequestContent naming jansson's
 * line and column and returns NULL. */
json_t *cg_admin_body_object(const struct cg_admin_req *req, struct cg_admin_resp *resp);

/* The "properties" object of an ARM body. A body without "properties" is
 * read as the properties themselves (what a hand-written curl sends).
 * Refuses (400 ValidationError, returns NULL) a "properties" that is not an
 * object. Borrowed reference. */
json_t *cg_admin_props(json_t *body, struct cg_admin_resp *resp);

/* Reads an optional string property: 0 with *out NULL when absent or null,
 * 0 with *out set (borrowed from j), or -1 after a 400 ValidationError
 * naming properties.<key> when it is another type. */
int cg_admin_opt_string(json_t *props, const char *key, const char **out,
			struct cg_admin_resp *resp);
/* Same for a boolean: *out is -1 when absent, else 0 or 1. */
int cg_admin_opt_bool(json_t *props, const char *key, int *out, struct cg_admin_resp *resp);

/* True when req's method is one of allow ("GET, PUT, DELETE"); else fills
 * resp with 405 MethodNotAllowed and the Allow header and returns false.
 * allow must be static storage. */
bool cg_admin_allow(const struct cg_admin_req *req, struct cg_admin_resp *resp, const char *allow);

/* Loads the whole model (the store's one read interface); on failure fills
 * resp with 500 and returns -1. Release with cg_model_free. */
int cg_admin_load(struct cg_admin_ctx *ctx, struct cg_model *m, struct cg_admin_resp *resp);

/* Maps a store failure to a response: INVALID 400 ValidationError,
 * NOT_FOUND 404 ResourceNotFound, CONFLICT 409 Conflict, IO 500. */
void cg_admin_store_fail(struct cg_admin_resp *r, int rc, const char *err);

/* A new ARM resource object {id, name, type, properties} (properties is
 * taken). id is "/"+collection path, e.g. "/apis/echo/operations/get". */
json_t *cg_admin_resource(const char *id, const char *name, const char *type, json_t *props);

/* {"value": items, "count": n} (items taken). */
json_t *cg_admin_list(json_t *items);

/* One item of a collection's GET: a new reference (NULL: out of memory,
 * which fails the whole list), or *skip set to leave the item out (gone
 * since the model was read, or unreadable). */
typedef json_t *(*cg_admin_item_fn)(struct cg_admin_ctx *ctx, const struct cg_model *m, size_t i,
				    bool *skip);

/* GET on a collection of the model (any other method: 405): loads the
 * model and answers 200 {"value": [item(0) ... item(n-1)], "count"}, n
 * being the size_t at offset count_at in struct cg_model (offsetof(struct
 * cg_model, num_apis) ...). A model that does not load is a 500. */
void cg_admin_list_model(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			 struct cg_admin_resp *resp, size_t count_at, cg_admin_item_fn item);

/* The current ETag of an item's representation j (taken; see
 * cg_admin_json; extra may be NULL), into out[40]: "" when j is NULL or
 * the ETag cannot be computed, so that no If-Match can match (fails safe). */
void cg_admin_etag_of(json_t *j, const char *extra, char out[40]);

/* 412 PreconditionFailed: "The If-Match header does not match <what>"
 * and why: " (it changed)" when exists, else " (it does not exist)".
 * what names the item: "API 'echo'", "fragment 'f1'". */
void cg_admin_precondition_failed(struct cg_admin_resp *resp, const char *what, bool exists);

/* The checks before a DELETE of the item what: true when the removal may
 * go on. An absent item answers 204 (ARM: deleting what is not there is
 * no error), an If-Match that does not match etag 412. */
bool cg_admin_delete_check(const struct cg_admin_req *req, struct cg_admin_resp *resp,
			   const char *what, bool exists, const char *etag);

/* The answer to a DELETE from the store removal's rc and err: NOT_FOUND
 * (removed in between) 204, other failures as cg_admin_store_fail, success
 * 200 with the info log line "admin: <what> removed". */
void cg_admin_deleted(struct cg_admin_resp *resp, int rc, const char *err, const char *what);

/* ---- tls.c ---- */

/* "ADDR:PORT", "[v6]:PORT" or "PORT" (127.0.0.1:PORT) -> address (numeric
 * only); *loopback: 127.0.0.0/8 or ::1. 0, or -1 with err filled. */
int cg_admin_parse_listen(const char *spec, struct sockaddr_storage *ss, bool *loopback,
			  char *err, size_t errlen);

/* A thumbprint as an operator writes it (40 hex digits, any case, ':' or
 * ' ' between bytes allowed) -> uppercase hex as APIM prints it. false for
 * anything else. */
bool cg_admin_thumbprint_parse(const char *text, char out[41]);

/* Loads the TLS settings of o (cert/key/password, client CAs, pins) with
 * the listener engine chosen by --tls-engine. NULL with err naming the
 * option, the file and why: unreadable, no certificate / key in it, an
 * encrypted key without (or with a wrong) password, a key that does not
 * match the certificate, a CA bundle without a self-signed root or with a
 * certificate that is not a CA. o must have passed cg_admin_opts_check and
 * have cert_file set. */
struct cg_admin_tls *cg_admin_tls_load(const struct cg_admin_opts *o, char *err, size_t errlen);
void cg_admin_tls_free(struct cg_admin_tls *t);

/* A new server session for an accepted socket (NULL on OOM). */
struct cg_tls_srv *cg_admin_tls_session(struct cg_admin_tls *t, int fd);

/* After the handshake: the verdict on the client's certificate, logged
 * (info) with peer when it is refused. */
enum cg_admin_cert cg_admin_tls_peer(const struct cg_admin_tls *t, struct cg_tls_srv *s,
				     const char *peer);

/* ---- res_api.c, res_host.c, res_policy.c, res_cert.c, res_backend.c: one handler per resource kind ---- */

typedef void (*cg_admin_handler_fn)(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
				    const struct cg_admin_route *rt, struct cg_admin_resp *resp);

void cg_admin_h_apis(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		     const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_api(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		    const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_ops(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		    const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_op(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		   const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_hosts(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		      const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_host(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		     const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_policies(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			 const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_policy(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		       const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_fragments(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			  const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_fragment(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			 const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_named_values(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			     const struct cg_admin_route *rt, struct cg_admin_resp *resp);
/* Also POST .../listValue (CG_ADMIN_RES_NAMED_VALUE_LIST). */
void cg_admin_h_named_value(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			    const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_certs(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		      const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_cert(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		     const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_cas(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		    const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_ca(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		   const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_backends(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			 const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_backend(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_products(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			 const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_product(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_product_apis(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			     const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_product_api(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
			    const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_subs(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		     const struct cg_admin_route *rt, struct cg_admin_resp *resp);
void cg_admin_h_sub(struct cg_admin_ctx *ctx, const struct cg_admin_req *req,
		    const struct cg_admin_route *rt, struct cg_admin_resp *resp);

/* Decodes an encodedCertificate / PEM pair into PEM chain and key strings
 * (malloc'd; the key is wiped by cg_admin_free_secret). Exposed for tests.
 * encoded: base64 PKCS#12 (password may be NULL) or PEM text holding the
 * chain and the key. Returns 0, or -1 with a message in err. */
int cg_admin_decode_certificate(const char *encoded, const char *password, char **chain_pem,
				char **key_pem, char *err, size_t errlen);
void cg_admin_free_secret(char *s);

/* base64 (whitespace allowed) -> bytes: malloc'd, the caller wipes and
 * frees them. NULL for text that is not base64, or out of memory. */
unsigned char *cg_admin_b64_decode(const char *in, size_t *outlen);

#endif
