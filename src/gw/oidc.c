/* openid-config key sets: fetch thread, HTTPS GET, JWKS parsing (oidc.h). */
#include "gw/oidc.h"

#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "gw/snapshot.h"
#include "http/h1.h"
#include "tls/tls.h"

struct cg_oidc_source {
	char url[1024];
	struct cg_oidc_keys *cur; /* guarded by g.mu */
	int64_t due_ms;           /* next fetch (monotonic ms) */
	int64_t last_ms;          /* last attempt, 0: never */
	uint32_t fails;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool enabled, started;
	int64_t refresh_ms, min_refetch_ms;
	struct cg_oidc_source src[CG_OIDC_MAX_SOURCES];
	size_t n;
} g = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- key sets -------------------------------------------------------------- */

void cg_oidc_put(struct cg_oidc_keys *k)
{
	if (k && atomic_fetch_sub(&k->refs, 1) == 1) {
		cg_arena_destroy(&k->arena);
		free(k);
	}
}

struct cg_oidc_keys *cg_oidc_get(struct cg_oidc_source *s)
{
	if (!s)
		return NULL;
	pthread_mutex_lock(&g.mu);
	struct cg_oidc_keys *k = s->cur;
	if (k)
		atomic_fetch_add(&k->refs, 1);
	pthread_mutex_unlock(&g.mu);
	return k;
}

void cg_oidc_kid_miss(struct cg_oidc_source *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&g.mu);
	int64_t now = now_ms();
	if (s->last_ms && now - s->last_ms >= g.min_refetch_ms && s->due_ms > now) {
		s->due_ms = now;
		pthread_cond_signal(&g.cv);
	}
	pthread_mutex_unlock(&g.mu);
}

/* ---- parsing ---------------------------------------------------------------- */

static struct cg_str jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? cg_str_make(json_string_value(v), json_string_length(v)) : CG_STR_NULL;
}

static json_t *load(struct cg_str json, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(json.ptr ? json.ptr : "", json.len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		snprintf(err, errlen, "not JSON: %s (line %d)", je.text, je.line);
	else if (!json_is_object(j)) {
		snprintf(err, errlen, "not a JSON object");
		json_decref(j);
		j = NULL;
	}
	return j;
}

int cg_oidc_parse_discovery(struct cg_arena *a, struct cg_str json, struct cg_str *jwks_uri, struct cg_str *issuer,
			    char *err, size_t errlen)
{
	json_t *j = load(json, err, errlen);
	if (!j)
		return -1;
	struct cg_str u = jstr(j, "jwks_uri");
	int rc = -1;
	if (!cg_str_has_prefix(u, CG_STR("https://")))
		snprintf(err, errlen, "the discovery document has no https jwks_uri");
	else {
		*jwks_uri = cg_arena_strdup_str(a, u);
		*issuer = cg_arena_strdup_str(a, jstr(j, "issuer"));
		rc = jwks_uri->ptr ? 0 : -1;
	}
	json_decref(j);
	return rc;
}

static EVP_PKEY *ec_public(struct cg_arena *a, struct cg_str crv, struct cg_str x, struct cg_str y)
{
	const char *group = cg_str_eq_lit(crv, "P-256")	  ? "prime256v1"
			    : cg_str_eq_lit(crv, "P-384") ? "secp384r1"
			    : cg_str_eq_lit(crv, "P-521") ? "secp521r1"
							  : NULL;
	size_t size = cg_str_eq_lit(crv, "P-256") ? 32 : cg_str_eq_lit(crv, "P-384") ? 48 : 66;
	unsigned char *pt = cg_arena_alloc(a, 1 + 2 * size + 8);
	if (!group || !pt || x.len / 4 * 3 + 3 > size + 8 || y.len / 4 * 3 + 3 > size + 8 ||
	    cg_b64_decode(x, true, pt + 1) != (long)size || cg_b64_decode(y, true, pt + 1 + size) != (long)size)
		return NULL;
	pt[0] = 0x04; /* uncompressed point */
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;
	if (bld && ctx && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * size) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return pk;
}

/* One JWK into *k: 1 kept, 0 skipped (not a signing key we verify with), -1 bad. */
static int parse_jwk(struct cg_arena *a, json_t *jk, struct cg_jwt_key *k)
{
	struct cg_str kty = jstr(jk, "kty"), use = jstr(jk, "use");
	struct cg_str kid = cg_arena_strdup_str(a, jstr(jk, "kid"));
	char e[200];
	if (use.ptr && !cg_str_eq_lit(use, "sig"))
		return 0;
	if (cg_str_eq_lit(kty, "RSA"))
		return cg_jwt_key_rsa(a, jstr(jk, "n"), jstr(jk, "e"), kid, k, e, sizeof(e)) == 0 ? 1 : -1;
	if (!cg_str_eq_lit(kty, "EC"))
		return 0; /* "oct" (a secret) and others are never taken from the network */
	EVP_PKEY *pk = ec_public(a, jstr(jk, "crv"), jstr(jk, "x"), jstr(jk, "y"));
	int rc = pk && cg_jwt_key_pkey(a, pk, kid, k, e, sizeof(e)) == 0 ? 1 : -1;
	EVP_PKEY_free(pk);
	return rc;
}

int cg_oidc_parse_jwks(struct cg_arena *a, struct cg_str json, struct cg_jwt_keys *out, char *err, size_t errlen)
{
	json_t *j = load(json, err, errlen);
	if (!j)
		return -1;
	json_t *keys = json_object_get(j, "keys");
	size_t n = json_is_array(keys) ? json_array_size(keys) : 0, bad = 0;
	out->n = 0;
	out->items = cg_arena_zalloc(a, sizeof(*out->items) * CG_OIDC_MAX_KEYS);
	for (size_t i = 0; out->items && i < n && out->n < CG_OIDC_MAX_KEYS; i++) {
		int r = parse_jwk(a, json_array_get(keys, i), &out->items[out->n]);
		out->n += r > 0;
		bad += r < 0;
	}
	json_decref(j);
	if (!out->n) {
		snprintf(err, errlen, "the key set holds no usable RSA or EC signing key (%zu of %zu refused)", bad, n);
		return -1;
	}
	return 0;
}

/* ---- HTTPS GET ---------------------------------------------------------------- */

static SSL_CTX *client_ctx(void)
{
	static SSL_CTX *ctx;
	char e[200];
	if (!ctx && !(ctx = cg_tls_client_ctx_new(e, sizeof(e))))
		cg_log_warn("openid-config: no TLS client context: %s", e);
	return ctx;
}

/* The body of the 200 answer to GET url (https only, no redirects),
 * bounded in time and size. */
static int https_get(const char *url, struct cg_buf *out, char *err, size_t errlen)
{
	const char *q = strchr(url, '?');
	char base[1024];
	snprintf(base, sizeof(base), "%.*s", (int)(q ? (size_t)(q - url) : strlen(url)), url);
	struct cg_arena a;
	cg_arena_init(&a, 4096, 1u << 20);
	struct cg_rt_backend b;
	SSL *ssl = NULL;
	int fd = -1, rc = -1;
	int64_t deadline = now_ms() + CG_OIDC_TIMEOUT_MS;
	if (strncmp(url, "https://", 8) != 0 || cg_backend_parse(&a, base, &b, err, errlen) != 0 || b.unresolved) {
		if (strncmp(url, "https://", 8) != 0)
			snprintf(err, errlen, "only https:// URLs are fetched");
		goto done;
	}
	struct timeval tv = { CG_OIDC_TIMEOUT_MS / 1000, 0 };
	fd = socket(b.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&b.addr, b.addr_len) != 0) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		goto done;
	}
	char host[256];
	snprintf(host, sizeof(host), "%.*s", CG_STR_FMT(b.host));
	SSL_CTX *ctx = client_ctx();
	if (!ctx || !(ssl = cg_tls_client_ssl_new(ctx, fd, host, true)) || SSL_connect(ssl) != 1) {
		long v = ssl ? SSL_get_verify_result(ssl) : 0;
		snprintf(err, errlen, "TLS handshake failed%s%s", v != X509_V_OK ? ": " : "",
			 v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
		goto done;
	}
	char req[2048];
	int rl = snprintf(req, sizeof(req),
			  "GET %.*s%s HTTP/1.1\r\nHost: %.*s\r\nAccept: application/json\r\n"
			  "User-Agent: certgate\r\nConnection: close\r\n\r\n",
			  b.base_path.len ? (int)b.base_path.len : 1, b.base_path.len ? b.base_path.ptr : "/",
			  q ? q : "", CG_STR_FMT(b.host_hdr));
	if (rl <= 0 || (size_t)rl >= sizeof(req) || SSL_write(ssl, req, rl) != rl) {
		snprintf(err, errlen, "sending the request failed");
		goto done;
	}
	struct cg_buf in;
	cg_buf_init(&in, CG_OIDC_MAX_BYTES + 65536);
	char chunk[16384];
	int r;
	while ((r = SSL_read(ssl, chunk, sizeof(chunk))) > 0 && now_ms() < deadline)
		if (cg_buf_append(&in, chunk, (size_t)r) != 0) {
			r = -2;
			break;
		}
	struct cg_h1_response resp;
	struct cg_h1_header hdrs[100];
	struct cg_h1_limits lim;
	cg_h1_limits_default(&lim);
	int hl = r == -2 ? CG_H1_ERROR
			 : cg_h1_parse_response(in.data, in.len, 0, &resp, hdrs, 100, &lim, CG_STR("GET"));
	if (hl <= 0 || resp.status != 200) {
		snprintf(err, errlen, r == -2 ? "the answer is larger than %u bytes"
				       : hl <= 0 ? "no complete HTTP answer"
						 : "HTTP status %d",
			 r == -2 ? CG_OIDC_MAX_BYTES : (unsigned)(hl > 0 ? resp.status : 0));
		cg_buf_free(&in);
		goto done;
	}
	char *body = in.data + hl;
	size_t blen = in.len - (size_t)hl;
	if (resp.body_kind == CG_H1_BODY_LENGTH) {
		blen = resp.content_length <= blen ? (size_t)resp.content_length : (size_t)-1;
	} else if (resp.body_kind == CG_H1_BODY_CHUNKED) {
		struct cg_h1_chunked d;
		cg_h1_chunked_init(&d);
		blen = cg_h1_chunked_decode(&d, body, &blen) < 0 ? (size_t)-1 : blen;
	}
	if (blen == (size_t)-1 || blen > CG_OIDC_MAX_BYTES || cg_buf_append(out, body, blen) != 0)
		snprintf(err, errlen, "the answer's body is truncated, malformed or too large");
	else
		rc = 0;
	cg_buf_free(&in);
done:
	if (ssl)
		SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	cg_arena_destroy(&a);
	ERR_clear_error();
	return rc;
}

/* Discovery document, then its key set: a new key set, or NULL with err. */
static struct cg_oidc_keys *fetch_keys(const char *url, char *err, size_t errlen)
{
	struct cg_oidc_keys *k = calloc(1, sizeof(*k));
	struct cg_buf doc;
	cg_buf_init(&doc, CG_OIDC_MAX_BYTES);
	struct cg_str jwks_uri;
	char uri[1024];
	int ok = 0;
	if (k) {
		cg_arena_init(&k->arena, 4096, 4u << 20);
		atomic_init(&k->refs, 1);
		ok = https_get(url, &doc, err, errlen) == 0 &&
		     cg_oidc_parse_discovery(&k->arena, cg_buf_str(&doc), &jwks_uri, &k->issuer, err, errlen) == 0 &&
		     jwks_uri.len < sizeof(uri);
		if (ok) {
			snprintf(uri, sizeof(uri), "%.*s", CG_STR_FMT(jwks_uri));
			doc.len = 0;
			ok = https_get(uri, &doc, err, errlen) == 0 &&
			     cg_oidc_parse_jwks(&k->arena, cg_buf_str(&doc), &k->keys, err, errlen) == 0;
		}
	}
	cg_buf_free(&doc);
	if (!ok && k) {
		cg_oidc_put(k);
		k = NULL;
	}
	return k;
}

/* ---- the thread ---------------------------------------------------------------- */

static void *fetch_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g.mu);
	for (;;) {
		struct cg_oidc_source *s = NULL;
		for (size_t i = 0; i < g.n; i++)
			if (!s || g.src[i].due_ms < s->due_ms)
				s = &g.src[i];
		int64_t now = now_ms();
		if (!s || s->due_ms > now) {
			int64_t wait = s ? s->due_ms - now : 3600000;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&g.cv, &g.mu, &ts);
			continue;
		}
		char url[sizeof(s->url)], err[400] = "";
		memcpy(url, s->url, sizeof(url));
		s->last_ms = now;
		s->due_ms = INT64_MAX; /* being fetched */
		pthread_mutex_unlock(&g.mu);
		struct cg_oidc_keys *k = fetch_keys(url, err, sizeof(err));
		pthread_mutex_lock(&g.mu);
		struct cg_oidc_keys *old = NULL;
		if (k) {
			old = s->cur;
			s->cur = k;
			s->fails = 0;
			s->due_ms = now_ms() + g.refresh_ms;
			cg_log_info("openid-config: %s: %zu signing keys", url, k->keys.n);
		} else {
			int64_t back = 1000ll << (s->fails < 20 ? s->fails : 20);
			s->fails++;
			s->due_ms = now_ms() + (back < g.min_refetch_ms ? back : g.min_refetch_ms);
			cg_log_warn("openid-config: %s: %s (the previous keys, if any, stay)", url, err);
		}
		pthread_mutex_unlock(&g.mu);
		cg_oidc_put(old);
		pthread_mutex_lock(&g.mu);
	}
	return NULL;
}

void cg_oidc_enable(uint32_t refresh_s)
{
	pthread_mutex_lock(&g.mu);
	g.enabled = true;
	g.refresh_ms = (int64_t)(refresh_s ? refresh_s : CG_OIDC_REFRESH_S) * 1000;
	g.min_refetch_ms = g.refresh_ms < CG_OIDC_MIN_REFETCH_S * 1000 ? g.refresh_ms : CG_OIDC_MIN_REFETCH_S * 1000;
	pthread_mutex_unlock(&g.mu);
}

int cg_oidc_register(const char *url, struct cg_oidc_source **out, char *err, size_t errlen)
{
	*out = NULL;
	pthread_mutex_lock(&g.mu);
	int rc = 0;
	if (!g.enabled)
		goto done;
	for (size_t i = 0; i < g.n; i++)
		if (strcmp(g.src[i].url, url) == 0) {
			*out = &g.src[i];
			goto done;
		}
	if (g.n == CG_OIDC_MAX_SOURCES || strlen(url) >= sizeof(g.src[0].url)) {
		snprintf(err, errlen, "at most %d openid-config URLs of up to %zu bytes", CG_OIDC_MAX_SOURCES,
			 sizeof(g.src[0].url) - 1);
		rc = -1;
		goto done;
	}
	struct cg_oidc_source *s = &g.src[g.n++];
	snprintf(s->url, sizeof(s->url), "%s", url);
	s->due_ms = 0;
	*out = s;
	pthread_t t;
	if (!g.started && pthread_create(&t, NULL, fetch_main, NULL) == 0) {
		pthread_detach(t);
		g.started = true;
	}
	pthread_cond_signal(&g.cv);
done:
	pthread_mutex_unlock(&g.mu);
	return rc;
}
