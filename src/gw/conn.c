/* Client connections: TLS handshake, HTTP/1.1 requests, proxying to a
 * backend through the worker's upstream pool.
 *
 * Each connection is a state machine driven by conn_run(): it makes every
 * step it can (read, parse, write, in both directions) until nothing moves,
 * recording what each blocked operation waits for (readable/writable on the
 * client or backend socket); those become the poll registrations, and the
 * phase decides the single timer. Level-triggered polls therefore never
 * spin: a socket is watched only while an operation on it is blocked.
 *
 * Bodies stream both ways through capped buffers (CG_CONN_HIGH_WATER):
 * a side is read only while the other side's output buffer is below it.
 * Request framing is always re-established by us (Content-Length or
 * re-encoded chunked): bytes never pass through with the client's framing. */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "base/log.h"
#include "base/sys.h"
#include "expr/ctx.h"
#include "gw/certs.h"
#include "gw/cors.h"
#include "gw/pipeline.h"
#include "gw/subs.h"
#include "gw/worker.h"
#include "policy/policy.h"
#include "tls/trust.h"
#include "tls/x509.h"
#include "http/h1.h"
#include "tls/srv.h"
#include "tls/tls.h"

#define CG_CONN_HIGH_WATER (64 * 1024) /* pending output before we stop reading the other side */
#define CG_CONN_READ_CHUNK (16 * 1024) /* body reads */
#define CG_CONN_HEAD_CHUNK 4096         /* head reads: most heads fit, and idle memory stays small */
#define CG_CONN_LINGER_MS 2000  /* reading and discarding after an error response */
#define CG_REQ_ARENA_CHUNK 8192
#define CG_REQ_ARENA_MAX (1024 * 1024)
#define CG_CONN_MAX_STEPS 100000 /* a run that never blocks is a bug: stop it */
#define CG_DRAIN_HEAD_MS 1000    /* stopping: how long a handshake or a half-sent head may take */

enum { CG_UP_CONNECTING, CG_UP_HANDSHAKE, CG_UP_READY };

static void conn_run(struct cg_conn *c);
static void conn_close(struct cg_conn *c);
static void up_release(struct cg_conn *c, bool reusable);

/* ---- small helpers -------------------------------------------------------- */

static uint64_t now_ms(struct cg_conn *c)
{
	return uv_now(&c->w->loop);
}

static int buf_add(struct cg_buf *b, const char *s)
{
	return cg_buf_append(b, s, strlen(s));
}

/* Head lines without printf (built for every request and response). */
static int buf_status_line_start(struct cg_buf *b, int status)
{
	return buf_add(b, "HTTP/1.1 ") | cg_buf_append_u64(b, status > 0 ? (uint64_t)status : 0) |
	       cg_buf_append(b, " ", 1);
}

static int buf_header_u64(struct cg_buf *b, const char *name_colon, uint64_t v)
{
	return buf_add(b, name_colon) | cg_buf_append_u64(b, v) | cg_buf_append(b, "\r\n", 2);
}

static int buf_header_str(struct cg_buf *b, const char *name_colon, struct cg_str v)
{
	return buf_add(b, name_colon) | cg_buf_append_str(b, v) | cg_buf_append(b, "\r\n", 2);
}

/* The listener's scheme as an API protocols bit (routing skips APIs not
 * served over it). */
static unsigned scheme_of(const struct cg_conn *c)
{
	return c->tls ? CG_MODEL_PROTO_HTTPS : CG_MODEL_PROTO_HTTP;
}

/* One socket of a connection, plain or TLS, for the shared I/O helpers. */
struct io_side {
	int fd;
	SSL *ssl;               /* a backend's TLS */
	struct cg_tls_srv *srv; /* a client's TLS; both NULL: plain */
	int *want;  /* blocked operations record UV_READABLE/UV_WRITABLE here */
	bool *drained; /* plain: a short read emptied the socket (cleared on a wake) */
};

/* A plain read(2). A short read means the socket had no more: the next
 * read returns CG_TLS_WANT_READ without a syscall until the poll wakes us
 * (level-triggered: bytes that come meanwhile still wake us). */
static long plain_read(struct io_side s, void *buf, size_t n)
{
	if (*s.drained)
		return CG_TLS_WANT_READ;
	ssize_t k;
	do
		k = cg_sys_read(s.fd, buf, n);
	while (k < 0 && errno == EINTR);
	if ((k > 0 && (size_t)k < n) || (k < 0 && errno == EAGAIN))
		*s.drained = true;
	return k > 0 ? k : k == 0 ? CG_TLS_EOF : (errno == EAGAIN ? CG_TLS_WANT_READ : CG_TLS_ERROR);
}

/* Reads at most max bytes appended to b. Returns bytes read (> 0),
 * CG_TLS_EOF, or CG_TLS_WANT_* / CG_TLS_ERROR (the want is recorded). */
static long io_read(struct io_side s, struct cg_buf *b, size_t max)
{
	if (b->len == 0 && b->cap < max) {
		/* An empty buffer is not allocated for a read that may find
		 * nothing (idle keep-alive connections stay small): read into
		 * the stack, and allocate only for bytes that came. */
		char tmp[CG_CONN_HEAD_CHUNK];
		size_t n = max < sizeof(tmp) ? max : sizeof(tmp);
		long r;
		if (s.srv) {
			r = cg_tls_srv_read(s.srv, tmp, n);
		} else if (s.ssl) {
			r = cg_tls_read(s.ssl, tmp, n);
		} else {
			r = plain_read(s, tmp, n);
		}
		if (r > 0 && cg_buf_append(b, tmp, (size_t)r) != 0)
			return CG_TLS_ERROR;
		if (r == CG_TLS_WANT_READ)
			*s.want |= UV_READABLE;
		else if (r == CG_TLS_WANT_WRITE)
			*s.want |= UV_WRITABLE;
		return r;
	}
	if (cg_buf_reserve(b, max) != 0)
		return CG_TLS_ERROR;
	long r;
	if (s.srv) {
		r = cg_tls_srv_read(s.srv, b->data + b->len, max);
	} else if (s.ssl) {
		r = cg_tls_read(s.ssl, b->data + b->len, max);
	} else {
		r = plain_read(s, b->data + b->len, max);
	}
	if (r > 0)
		b->len += (size_t)r;
	else if (r == CG_TLS_WANT_READ)
		*s.want |= UV_READABLE;
	else if (r == CG_TLS_WANT_WRITE)
		*s.want |= UV_WRITABLE;
	return r;
}

/* Writes as much of b as the socket takes; *sent counts the bytes. Returns
 * true on progress; sets *failed on a write error. */
static bool io_flush(struct io_side s, struct cg_buf *b, uint64_t *sent, bool *failed)
{
	bool progress = false;
	while (b->len) {
		long r;
		if (s.srv) {
			r = cg_tls_srv_write(s.srv, b->data, b->len);
		} else if (s.ssl) {
			r = cg_tls_write(s.ssl, b->data, b->len);
		} else {
			ssize_t n;
			do
				n = cg_sys_send(s.fd, b->data, b->len, MSG_NOSIGNAL);
			while (n < 0 && errno == EINTR);
			r = n >= 0 ? n : (errno == EAGAIN ? CG_TLS_WANT_WRITE : CG_TLS_ERROR);
		}
		if (r > 0) {
			cg_buf_consume(b, (size_t)r);
			*sent += (uint64_t)r;
			progress = true;
			continue;
		}
		if (r == CG_TLS_WANT_WRITE)
			*s.want |= UV_WRITABLE;
		else if (r == CG_TLS_WANT_READ)
			*s.want |= UV_READABLE;
		else
			*failed = true;
		break;
	}
	return progress;
}

static struct io_side client_side(struct cg_conn *c)
{
	return (struct io_side){ c->fd, NULL, c->tsess, &c->want, &c->drained };
}

static struct io_side up_side(struct cg_conn *c)
{
	return (struct io_side){ c->up->fd, c->up->ssl, NULL, &c->up->want, &c->up->drained };
}

static long client_read(struct cg_conn *c, size_t max)
{
	return io_read(client_side(c), &c->in, max);
}

static bool client_flush(struct cg_conn *c, bool *failed)
{
	bool progress = io_flush(client_side(c), &c->out, &c->req.bytes_out, failed);
	if (progress)
		c->last_ms = now_ms(c);
	return progress;
}

static long up_read(struct cg_conn *c, size_t max)
{
	return io_read(up_side(c), &c->up_in, max);
}

static bool up_flush(struct cg_conn *c, bool *failed)
{
	uint64_t sent = 0;
	bool progress = io_flush(up_side(c), &c->up_out, &sent, failed);
	if (progress)
		c->last_ms = now_ms(c);
	return progress;
}

/* ---- local responses ------------------------------------------------------- */

/* Queues an APIM-style error response ({"statusCode":N,"message":"..."}).
 * message must not need JSON escaping (our own constant texts). */
static void respond_json(struct cg_conn *c, int status, const char *message, bool close_after)
{
	struct cg_req *r = &c->req;
	if (r->resp_started) {
		/* Part of a response is out already: the only honest signal left
		 * is to cut the connection. */
		conn_close(c);
		return;
	}
	if (c->up)
		up_release(c, false);
	if (r->body == CG_BODY_STREAM)
		close_after = true; /* the rest of the request body was not read */
	r->close_after = r->close_after || close_after || !r->h.keep_alive || c->w->draining;
	char body[512];
	int blen = snprintf(body, sizeof(body), "{\"statusCode\":%d,\"message\":\"%s\"}", status, message);
	c->out.len = 0;
	int rc = cg_buf_printf(&c->out,
			       "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: application/json\r\n"
			       "Content-Length: %d\r\n%s\r\n",
			       status, cg_h1_reason(status), cg_worker_date(c->w), blen,
			       r->close_after ? "Connection: close\r\n" : "");
	if (rc != 0 || cg_buf_append(&c->out, body, (size_t)blen) != 0) {
		conn_close(c);
		return;
	}
	r->status = status;
	r->resp_started = true;
	c->state = CG_C_RESPOND;
}

/* Queues a response made by policies (return-response, mock-response,
 * outbound set-body, error responses): status, the policy's headers (the
 * gateway still owns framing: Content-Length, Transfer-Encoding and
 * Connection are its own), body. */
static void respond_custom(struct cg_conn *c, int status, struct cg_str reason,
			   const struct cg_hlist *hdrs, struct cg_str body, bool close_after)
{
	struct cg_req *r = &c->req;
	if (r->resp_started && r->resp_head_done) {
		conn_close(c);
		return;
	}
	if (c->up)
		up_release(c, false);
	if (r->body == CG_BODY_STREAM)
		close_after = true;
	r->close_after = r->close_after || close_after || !r->h.keep_alive || c->w->draining;
	bool head = cg_str_eq_lit(r->h.method, "HEAD");
	bool bodiless = status < 200 || status == 204 || status == 304;
	struct cg_buf *b = &c->out;
	c->out.len = 0;
	int rc = buf_status_line_start(b, status);
	rc |= cg_buf_append_str(b, reason.len ? reason : cg_str_from_c(cg_h1_reason(status)));
	rc |= cg_buf_append(b, "\r\n", 2);
	bool have_date = false;
	for (size_t i = 0; hdrs && i < hdrs->n; i++) {
		struct cg_str n = hdrs->items[i].name;
		if (cg_str_ieq_lit(n, "Content-Length") || cg_str_ieq_lit(n, "Transfer-Encoding") ||
		    cg_str_ieq_lit(n, "Connection") || cg_str_ieq_lit(n, "Keep-Alive"))
			continue;
		have_date |= cg_str_ieq_lit(n, "Date");
		rc |= cg_buf_append_str(b, n);
		rc |= cg_buf_append(b, ": ", 2);
		rc |= cg_buf_append_str(b, hdrs->items[i].value);
		rc |= cg_buf_append(b, "\r\n", 2);
	}
	if (!have_date)
		rc |= buf_header_str(b, "Date: ", cg_str_from_c(cg_worker_date(c->w)));
	if (!bodiless)
		rc |= buf_header_u64(b, "Content-Length: ", body.len);
	if (r->close_after)
		rc |= buf_add(b, "Connection: close\r\n");
	else if (r->h.minor_version == 0)
		rc |= buf_add(b, "Connection: keep-alive\r\n");
	rc |= cg_buf_append(b, "\r\n", 2);
	if (!head && !bodiless)
		rc |= cg_buf_append_str(b, body);
	if (rc) {
		conn_close(c);
		return;
	}
	r->status = status;
	r->resp_started = true;
	c->state = CG_C_RESPOND;
}

/* The response a pipe holds (after return-response, mock-response, an error
 * with on-error, or an outbound body change). */
static void respond_pipe(struct cg_conn *c)
{
	struct cg_pipe *p = c->req.pipe;
	/* An allowed cross-origin request keeps its CORS headers on every
	 * response made after cors ran, errors included (why APIM wants cors
	 * first in inbound). */
	if (cg_cors_apply(p, &p->resp_hdrs) != 0) {
		respond_json(c, 503, "Service Unavailable", true);
		return;
	}
	respond_custom(c, p->status, p->reason, &p->resp_hdrs, p->resp_body, false);
}

/* An error in a section: on-error runs (its own errors end it), then the
 * response is on-error's, or APIM's default error body. */
static void pipe_fail(struct cg_conn *c)
{
	struct cg_pipe *p = c->req.pipe;
	p->resp_hdrs.n = 0;
	p->resp_body = CG_STR_NULL;
	p->resp_body_set = false;
	enum cg_pipe_rc rc = cg_pipe_run(p, CG_POL_ON_ERROR);
	if (rc == CG_PIPE_NOMEM) {
		respond_json(c, 503, "Service Unavailable", true);
		return;
	}
	if (rc != CG_PIPE_RESPOND && cg_pipe_error_response(p) != 0) {
		respond_json(c, 503, "Service Unavailable", true);
		return;
	}
	respond_pipe(c);
}

/* Answers a request the pipeline ended (RESPOND: the pipe's response;
 * ERROR: on-error and the error response; NOMEM: 503). Returns false, and
 * answers nothing, for CONTINUE. */
static bool pipe_answer(struct cg_conn *c, enum cg_pipe_rc rc)
{
	switch (rc) {
	case CG_PIPE_CONTINUE:
		return false;
	case CG_PIPE_RESPOND:
		respond_pipe(c);
		break;
	case CG_PIPE_ERROR:
		pipe_fail(c);
		break;
	default:
		respond_json(c, 503, "Service Unavailable", true);
		break;
	}
	return true;
}

static void lb_report(struct cg_conn *c, int status);

/* A failure outside the policies (backend unreachable, timeout): with a
 * pipeline it becomes LastError and goes through on-error, as in APIM. */
static void respond_gateway_error(struct cg_conn *c, int status, const char *reason, const char *message,
				  const char *body_message)
{
	struct cg_pipe *p = c->req.pipe;
	lb_report(c, 0);
	if (status == 502 || status == 504)
		cg_stat_inc(status == 504 ? &c->w->stats->backend_timeouts : &c->w->stats->backend_failures);
	if (!p || c->req.resp_started) {
		respond_json(c, status, body_message, false);
		return;
	}
	p->err_body_message = cg_str_from_c(body_message);
	p->section = CG_POL_BACKEND;
	cg_pipe_set_error(p, "forward-request", reason, message, status);
	pipe_fail(c);
}

static const struct cg_x509 *conn_x509(struct cg_conn *c);

/* X509Certificate2.Verify() / VerifyNoRevocation(): the chain the client
 * sent, built to the request's snapshot's CA store, through the worker's
 * result cache (the handshake never verified it). */
static bool cert_verify_common(const struct cg_expr_cert *ec, void *user, bool revocation)
{
	struct cg_conn *c = user;
	const struct cg_x509 *v = conn_x509(c);
	if (!v || !c->req.snap)
		return false;
	return cg_trust_dotnet_verify(c->req.snap->trust, c->w->trust_cache, v->x509,
				      cg_tls_srv_peer_chain(c->tsess), (int64_t)time(NULL), revocation);
}

static bool cert_verify(const struct cg_expr_cert *ec, void *user)
{
	return cert_verify_common(ec, user, true);
}

static bool cert_verify_no_revocation(const struct cg_expr_cert *ec, void *user)
{
	return cert_verify_common(ec, user, false);
}

/* context.Request.Certificate, in two steps per connection: first only the
 * thumbprint and the DER (a hash of what the handshake received: the
 * guide's allow-list policies need nothing else), then, the first time a
 * policy reads another member, every field (cert_full: the DER decoded,
 * ~12 us with OpenSSL's parse at hand, ~170 us from DER). */
static const struct cg_expr_cert *cert_full(const struct cg_expr_cert *lazy)
{
	struct cg_conn *c = lazy->verify_user;
	if (c->cert_full || c->cert_undecodable)
		return c->cert_full;
	/* if decoding fails, NULL: reading a decoded member throws (the
	 * handshake took DER that OpenSSL cannot decode), it never reads as
	 * empty fields */
	c->cert_undecodable = true;
	X509 *x = cg_tls_srv_peer_x509(c->tsess);
	struct cg_x509 *v;
	char err[200];
	if (!x) {
		cg_log_info("%s: client certificate: cannot be decoded", c->peer_ip);
		return NULL;
	}
	if (cg_x509_view_new(x, &c->carena, &v, err, sizeof(err)) != 0) {
		cg_log_info("%s: client certificate: %s", c->peer_ip, err);
		return NULL;
	}
	struct cg_expr_cert *ec = cg_arena_zalloc(&c->carena, sizeof(*ec));
	if (!ec)
		return NULL;
	c->cert_undecodable = false;
	cg_cert_fill_expr(ec, v);
	ec->verify = cert_verify;
	ec->verify_no_revocation = cert_verify_no_revocation;
	ec->verify_user = c;
	c->x509 = v;
	c->cert_full = ec;
	return ec;
}

static const struct cg_expr_cert *conn_cert(struct cg_conn *c)
{
	if (c->cert_done)
		return c->cert;
	c->cert_done = true;
	struct cg_str der = c->tsess && c->negotiate ? cg_tls_srv_peer_der(c->tsess) : CG_STR_NULL;
	char tp[41];
	if (!der.len || !cg_tls_srv_peer_thumbprint(c->tsess, tp))
		return NULL;
	cg_arena_init(&c->carena, 1024, 256 * 1024);
	struct cg_expr_cert *ec = cg_arena_zalloc(&c->carena, sizeof(*ec));
	struct cg_str t = cg_arena_strdup_str(&c->carena, cg_str_make(tp, 40));
	if (!ec || !t.ptr)
		return NULL;
	ec->thumbprint = t;
	ec->raw_data = der; /* the session's copy: lives as long as the connection */
	ec->verify = cert_verify;
	ec->verify_no_revocation = cert_verify_no_revocation;
	ec->verify_user = c;
	ec->full = cert_full;
	c->cert = ec;
	return ec;
}

/* The .NET view of the client's certificate (NULL: none, or undecodable). */
static const struct cg_x509 *conn_x509(struct cg_conn *c)
{
	const struct cg_expr_cert *ec = conn_cert(c);
	if (ec)
		(void)cert_full(ec);
	return c->x509;
}

static const struct cg_x509 *pipe_load_x509(void *user, STACK_OF(X509) **chain)
{
	struct cg_conn *c = user;
	const struct cg_x509 *v = conn_x509(c);
	*chain = v ? cg_tls_srv_peer_chain(c->tsess) : NULL;
	return v;
}

static struct cg_str host_name_only(struct cg_str host, char *buf, size_t bufsz);
static const struct cg_expr_cert *conn_cert(struct cg_conn *c);

/* context.Product: the product of the subscription whose key came with
 * the request (null without one, or for a subscription to all APIs or one
 * API). */
static int fill_product_view(struct cg_pipe *p, const struct cg_rt_product *prod)
{
	struct cg_expr_product_view *v = cg_arena_zalloc(p->arena, sizeof(*v));
	if (!v)
		return -1;
	v->id = prod->id;
	v->name = prod->display_name;
	v->published = prod->published;
	v->subscription_required = prod->sub_required;
	v->approval_required = prod->approval_required;
	v->subscriptions_limit = prod->subscriptions_limit;
	p->ctx.product = v;
	return 0;
}

/* context.Subscription for the subscription whose key came with the
 * request. */
static int fill_sub_view(struct cg_pipe *p, const struct cg_rt_sub *sub, struct cg_str key)
{
	struct cg_expr_subscription_view *v = cg_arena_zalloc(p->arena, sizeof(*v));
	if (!v)
		return -1;
	v->id = sub->id;
	v->name = sub->display_name;
	v->key = key;
	v->primary_key = sub->primary_key;
	v->secondary_key = sub->secondary_key;
	v->created = cg_expr_ticks_from_unix(sub->created);
	/* certgate does not record when a subscription was activated: its
	 * start is its creation (docs/subscriptions.md) */
	v->start = v->created;
	v->has_start = true;
	v->end = sub->expires ? cg_expr_ticks_from_unix(sub->expires) : 0;
	v->has_end = sub->expires != 0;
	p->ctx.subscription = v;
	return sub->product ? fill_product_view(p, sub->product) : 0;
}

/* Fills the expression views for this request. */
static int pipe_fill(struct cg_conn *c, struct cg_pipe *p)
{
	struct cg_req *r = &c->req;
	struct cg_arena *a = &c->arena;
	p->method = r->h.method;
	p->path = r->route.rest;
	p->query = r->h.query;
	p->query_present = r->h.query.len > 0;
	for (size_t i = 0; i < r->h.num_headers; i++)
		if (cg_hlist_add(&p->req_hdrs, a, r->hdrs[i].name, r->hdrs[i].value) != 0)
			return -1;
	struct cg_expr_request_view *v = &p->reqv;
	v->method = r->h.method;
	v->headers.items = p->req_hdrs.items;
	v->headers.n = p->req_hdrs.n;
	v->ip_address = cg_str_from_c(c->peer_ip);
	struct cg_str authority = r->h.authority.len ? r->h.authority : r->h.host;
	char hb[256];
	struct cg_str hn = host_name_only(authority, hb, sizeof(hb));
	v->url.scheme = c->tls ? CG_STR("https") : CG_STR("http");
	v->url.host = cg_arena_strdup_str(a, hn);
	v->url.port = c->tls ? 443 : 80;
	long colon = authority.len && authority.ptr[0] != '[' ? cg_str_find_char(authority, ':') : -1;
	if (colon >= 0) {
		uint64_t port;
		if (cg_str_to_u64(cg_str_sub(authority, (size_t)colon + 1, authority.len), 65535, &port))
			v->url.port = (int32_t)port;
	}
	v->url.path = r->h.path;
	v->url.query_string = r->h.query;
	v->original_url = v->url;
	v->matched_parameters.items = (const struct cg_expr_strpair *)(const void *)r->route.params;
	v->matched_parameters.n = r->route.num_params;
	v->certificate = p->pl->uses_certificate ? conn_cert(c) : NULL;
	if (r->buffered) {
		struct cg_expr_body *eb = cg_arena_zalloc(&c->arena, sizeof(*eb));
		if (!eb)
			return -1;
		eb->data = cg_buf_str(&r->bodybuf);
		v->body = eb;
	}
	if (v->certificate) {
		p->load_x509 = pipe_load_x509;
		p->load_x509_user = c;
	}
	p->trust = r->snap->trust;
	p->trust_cache = c->w->trust_cache;
	if (r->sub && fill_sub_view(p, r->sub, r->sub_key) != 0)
		return -1;
	const struct cg_rt_api *api = r->route.api;
	p->apiv.id = api->id;
	p->apiv.name = api->display_name;
	p->apiv.path = api->path;
	p->apiv.is_current_revision = true;
	p->apiv.http = (api->protocols & CG_MODEL_PROTO_HTTP) != 0;
	p->apiv.https = (api->protocols & CG_MODEL_PROTO_HTTPS) != 0;
	p->apiv.revision = CG_STR("1");
	p->apiv.service_url.scheme = api->backend.tls ? CG_STR("https") : CG_STR("http");
	p->apiv.service_url.host = api->backend.host;
	p->apiv.service_url.port = api->backend.port;
	p->apiv.service_url.path = api->backend.base_path;
	if (r->route.op) {
		p->opv.id = r->route.op->id;
		p->opv.name = r->route.op->display_name; /* APIM: the display name */
		p->opv.method = r->route.op->method;
		p->opv.url_template = r->route.op->url_template;
	} else {
		p->ctx.operation = NULL;
	}
	p->depv.gateway_id = CG_STR("certgate");
	p->depv.region = CG_STR("");
	p->depv.service_id = CG_STR("certgate");
	p->depv.service_name = CG_STR("certgate");
	p->depv.certificates = r->snap->certificates;
	p->snap = r->snap;
	p->stats = c->w->stats;
	p->body_certs = c->w->body_certs;
	p->max_body = c->w->gw->set.max_buffered_body;
	for (int i = 0; i < 16; i++)
		p->ctx.request_id[i] = (uint8_t)(c->w->rng >> ((i % 8) * 8));
	c->w->rng = c->w->rng * 6364136223846793005ull + 1442695040888963407ull;
	p->ctx.request_id[6] = (uint8_t)((p->ctx.request_id[6] & 0x0f) | 0x40); /* version 4 */
	p->ctx.request_id[8] = (uint8_t)((p->ctx.request_id[8] & 0x3f) | 0x80);
	p->ctx.timestamp = cg_expr_ticks_from_unix((int64_t)time(NULL));
	return 0;
}

static void free_ssl_ctx_cb(void *ctx)
{
	SSL_CTX_free(ctx);
}

/* Runs inbound and backend. Returns true when the request is answered
 * (a response is queued), false to forward it to the backend. */
static bool pipe_request(struct cg_conn *c, const struct cg_pipeline *pl)
{
	struct cg_req *r = &c->req;
	struct cg_pipe *p = cg_arena_alloc(&c->arena, sizeof(*p));
	if (!p || cg_pipe_init(p, &c->arena, pl) != 0 || pipe_fill(c, p) != 0) {
		respond_json(c, 503, "Service Unavailable", true);
		return true;
	}
	r->pipe = p;
	enum cg_pipe_rc rc = cg_pipe_run(p, CG_POL_INBOUND);
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_run(p, CG_POL_BACKEND);
	if (rc == CG_PIPE_CONTINUE && !p->forward) {
		/* No forward-request: no backend call; outbound runs on an
		 * empty 200 (APIM). */
		p->status = 200;
		p->reason = CG_STR("OK");
		rc = cg_pipe_run(p, CG_POL_OUTBOUND);
		if (rc == CG_PIPE_CONTINUE)
			rc = CG_PIPE_RESPOND;
	}
	if (pipe_answer(c, rc))
		return true;
	if (p->backend) {
		r->backend = p->backend;
		r->pool_key = r->backend->pool_key;
	}
	if (p->client_cert) {
		/* The request keeps its own reference: a worker's body cache may
		 * replace the entry before a retried connection is made. */
		struct cg_rt_client_cert *cc = cg_arena_alloc(&c->arena, sizeof(*cc));
		if (!cc || cg_arena_on_cleanup(&c->arena, free_ssl_ctx_cb, p->client_cert->ssl_ctx) != 0) {
			respond_json(c, 503, "Service Unavailable", true);
			return true;
		}
		SSL_CTX_up_ref(p->client_cert->ssl_ctx);
		cc->ssl_ctx = p->client_cert->ssl_ctx;
		cc->cert_id = cg_arena_strdup_str(&c->arena, p->client_cert->cert_id);
		/* Connections presenting a client certificate are pooled apart. */
		r->client_cert = cc;
		r->pool_key = cg_str_from_c(cg_arena_printf(&c->arena, "%.*s#%.*s", CG_STR_FMT(r->backend->pool_key),
							    CG_STR_FMT(p->client_cert->cert_id)));
		if (!r->pool_key.ptr) {
			respond_json(c, 503, "Service Unavailable", true);
			return true;
		}
	}
	if (p->forward_timeout_ms)
		r->backend_timeout_ms = p->forward_timeout_ms;
	if (p->req_body_set && r->body == CG_BODY_STREAM)
		r->discard_body = true;
	return false;
}

/* ---- request lifecycle --------------------------------------------------- */

static void access_log(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	c->w->n_requests++;
	cg_stat_inc(&c->w->stats->requests[r->status >= 100 && r->status < 600 ? r->status / 100 : 0]);
	if (!c->w->gw->set.access_log)
		return;
	char tp[41] = "-";
	if (c->tsess && c->negotiate && !cg_tls_srv_peer_thumbprint(c->tsess, tp))
		strcpy(tp, "-");
	cg_log(CG_LOG_INFO, "access %s \"%.*s %.*s\" %d %llu %llums api=%.*s op=%.*s cert=%s", c->peer_ip,
	       CG_STR_FMT(r->h.method), CG_STR_FMT(r->h.target), r->status,
	       (unsigned long long)r->bytes_out, (unsigned long long)(now_ms(c) - r->start_ms),
	       r->route.api ? (int)r->route.api->id.len : 1, r->route.api ? r->route.api->id.ptr : "-",
	       r->route.op ? (int)r->route.op->id.len : 1, r->route.op ? r->route.op->id.ptr : "-", tp);
}

static void req_reset(struct cg_conn *c)
{
	cg_buf_free(&c->req.bodybuf);
	cg_buf_free(&c->req.respbuf);
	if (c->req.snap)
		cg_snapshot_unref(c->req.snap);
	cg_arena_reset(&c->arena);
	memset(&c->req, 0, sizeof(c->req));
	c->head_seen = 0;
	c->resp_seen = 0;
	/* The backend side is done: its buffers go back now (an idle
	 * keep-alive connection should cost little memory). */
	cg_buf_free(&c->up_in);
	cg_buf_free(&c->up_out);
}

/* The exchange is over and its response fully written. */
static void finish_request(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	access_log(c);
	bool keep = !r->close_after && r->h.keep_alive && !c->w->draining && !c->eof &&
		    r->body != CG_BODY_STREAM;
	req_reset(c);
	if (!keep) {
		c->state = CG_C_CLOSING;
		return;
	}
	c->state = CG_C_HEAD;
	if (c->in.len == 0) {
		/* Idle until the client speaks again: hold no buffers and no
		 * arena chunk (a malloc per request is cheaper than 30+ KiB per
		 * idle connection). */
		cg_buf_free(&c->in);
		cg_buf_free(&c->out);
		cg_arena_destroy(&c->arena);
	}
}

/* ---- upstream connections ------------------------------------------------ */

static void up_poll_cb(uv_poll_t *h, int status, int events);

static struct cg_pool *pool_get(struct cg_worker *w, struct cg_str key, bool create)
{
	for (struct cg_pool *p = w->pools; p; p = p->next)
		if (strlen(p->key) == key.len && memcmp(p->key, key.ptr, key.len) == 0)
			return p;
	if (!create)
		return NULL;
	struct cg_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->key = strndup(key.ptr, key.len);
	if (!p->key) {
		free(p);
		return NULL;
	}
	cg_link_init(&p->idle);
	p->next = w->pools;
	w->pools = p;
	return p;
}

static void up_handle_closed(uv_handle_t *h)
{
	free(h->data);
}

static void up_destroy(struct cg_upconn *up)
{
	if (!cg_link_empty(&up->link)) {
		cg_link_remove(&up->link);
		up->pool->num_idle--;
	}
	uv_poll_stop(&up->poll);
	if (up->ssl)
		cg_tls_close(up->ssl);
	up->ssl = NULL;
	close(up->fd);
	up->fd = -1;
	up->poll.data = up;
	uv_close((uv_handle_t *)&up->poll, up_handle_closed);
}

static void up_set_events(struct cg_upconn *up, int ev)
{
	if (ev == up->events)
		return;
	up->events = ev;
	if (ev)
		uv_poll_start(&up->poll, ev, up_poll_cb);
	else
		uv_poll_stop(&up->poll);
}

/* Returns the connection to its pool, or closes it. */
static void up_release(struct cg_conn *c, bool reusable)
{
	struct cg_upconn *up = c->up;
	if (!up)
		return;
	c->up = NULL;
	up->owner = NULL;
	struct cg_worker *w = up->w;
	if (!reusable || w->draining || up->pool->num_idle >= w->gw->set.max_idle_upstream) {
		up_destroy(up);
		return;
	}
	up->idle_since = uv_now(&w->loop);
	up->reused = true;
	cg_link_insert(&up->pool->idle, &up->link);
	up->pool->num_idle++;
	/* Idle: watch for the backend closing it (or sending garbage). */
	up_set_events(up, UV_READABLE);
}

static void up_poll_cb(uv_poll_t *h, int status, int events)
{
	struct cg_upconn *up = h->data;
	up->drained = false;
	if (up->owner) {
		conn_run(up->owner);
		/* as in poll_cb: a wake nobody waited for stops the registration */
		if (up->owner && up->fd >= 0 && up->want == 0 && up->events)
			up_set_events(up, 0);
		return;
	}
	/* An idle pooled connection became readable: the backend closed it or
	 * sent bytes nobody asked for. Either way it is unusable. */
	up_destroy(up);
}

/* An idle connection the backend has not closed yet (peek: EAGAIN). */
static bool up_alive(struct cg_upconn *up)
{
	char b;
	ssize_t n = recv(up->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static int up_connect(struct cg_conn *c, const struct cg_rt_backend *be, struct cg_pool *pool)
{
	struct cg_worker *w = c->w;
	if (be->unresolved) {
		cg_log_info("backend %.*s: its host did not resolve", CG_STR_FMT(be->pool_key));
		return -1;
	}
	int fd = socket(be->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* TCP_NODELAY comes from the listener (serve.c). */
	int rc = connect(fd, (const struct sockaddr *)&be->addr, be->addr_len);
	if (rc != 0 && errno != EINPROGRESS) {
		cg_log_info("backend %.*s: connect: %s", CG_STR_FMT(be->pool_key), strerror(errno));
		close(fd);
		return -1;
	}
	struct cg_upconn *up = calloc(1, sizeof(*up));
	if (!up) {
		close(fd);
		return -1;
	}
	up->w = w;
	up->fd = fd;
	up->pool = pool;
	cg_link_init(&up->link);
	up->state = rc == 0 ? CG_UP_READY : CG_UP_CONNECTING;
	if (be->tls) {
		char host[256];
		snprintf(host, sizeof(host), "%.*s", CG_STR_FMT(be->host));
		const struct cg_rt_client_cert *cc = c->req.client_cert;
		SSL_CTX *ctx = cc ? cc->ssl_ctx : be->ssl_ctx ? be->ssl_ctx : w->client_ctx;
		up->ssl = cg_tls_client_ssl_new(ctx, fd, host, be->verify);
		if (!up->ssl) {
			close(fd);
			free(up);
			return -1;
		}
		if (up->state == CG_UP_READY)
			up->state = CG_UP_HANDSHAKE;
	}
	uv_poll_init_socket(&w->loop, &up->poll, fd);
	up->poll.data = up;
	up->owner = c;
	c->up = up;
	return 0;
}

/* Gets a connection to the request's backend: a live idle one from the
 * pool, else a new one. Returns -1 when a socket cannot even be started. */
static int up_acquire(struct cg_conn *c)
{
	const struct cg_rt_backend *be = c->req.backend;
	struct cg_pool *pool = pool_get(c->w, c->req.pool_key, true);
	if (!pool)
		return -1;
	while (!cg_link_empty(&pool->idle)) {
		struct cg_upconn *up = cg_container_of(pool->idle.next, struct cg_upconn, link);
		cg_link_remove(&up->link);
		pool->num_idle--;
		/* A request without a body is retried on a fresh connection if
		 * this one turns out closed (upstream_failed): no need to peek. */
		if (c->req.h.body_kind != CG_H1_BODY_NONE && !up_alive(up)) {
			up_destroy(up);
			continue;
		}
		up->owner = c;
		c->up = up;
		up->want = 0;
		return 0;
	}
	return up_connect(c, be, pool);
}

void cg_upconn_pool_sweep(struct cg_worker *w)
{
	uint64_t now = uv_now(&w->loop);
	for (struct cg_pool *p = w->pools; p; p = p->next) {
		struct cg_link *l = p->idle.prev; /* oldest at the tail */
		while (l != &p->idle) {
			struct cg_link *prev = l->prev;
			struct cg_upconn *up = cg_container_of(l, struct cg_upconn, link);
			if (w->draining || now - up->idle_since >= w->gw->set.upstream_idle_ms)
				up_destroy(up);
			l = prev;
		}
	}
}

void cg_upconn_pool_free(struct cg_worker *w)
{
	w->draining = true;
	cg_upconn_pool_sweep(w);
	while (w->pools) {
		struct cg_pool *p = w->pools;
		w->pools = p->next;
		free(p->key);
		free(p);
	}
}

/* ---- building the upstream request ------------------------------------- */

/* Compares header names the way CGI-style backends see them: '_' and '-'
 * alike (X_SSL_Client_Cert reaches such a backend as X-SSL-Client-Cert). */
static bool hdr_name_like(struct cg_str a, struct cg_str b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++) {
		unsigned char x = cg_ascii_lower((unsigned char)a.ptr[i]);
		unsigned char y = cg_ascii_lower((unsigned char)b.ptr[i]);
		if (x == '_')
			x = '-';
		if (y == '_')
			y = '-';
		if (x != y)
			return false;
	}
	return true;
}

static bool is_client_cert_header(struct cg_str n)
{
	static const struct cg_str exact[] = { CG_STR("X-Forwarded-Client-Cert"), CG_STR("Client-Cert"),
					       CG_STR("Client-Cert-Chain") };
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (hdr_name_like(n, exact[i]))
			return true;
	static const struct cg_str prefixes[] = { CG_STR("X-SSL-Client-"),
						  CG_STR("X-Forwarded-Tls-Client-Cert") };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (n.len >= prefixes[i].len && hdr_name_like(cg_str_make(n.ptr, prefixes[i].len), prefixes[i]))
			return true;
	return false;
}

static bool is_hop(const struct cg_req *r, struct cg_str name)
{
	bool any_conn = false;
	for (size_t i = 0; i < r->h.num_headers; i++) {
		if (!cg_str_ieq_lit(r->hdrs[i].name, "Connection"))
			continue;
		any_conn = true;
		if (cg_h1_is_hop_by_hop(name, r->hdrs[i].value))
			return true;
	}
	return !any_conn && cg_h1_is_hop_by_hop(name, CG_STR_NULL);
}

static int add_header_line(struct cg_buf *b, struct cg_str n, struct cg_str v)
{
	int rc = cg_buf_append_str(b, n);
	rc |= cg_buf_append(b, ": ", 2);
	rc |= cg_buf_append_str(b, v);
	rc |= cg_buf_append(b, "\r\n", 2);
	return rc;
}

/* Headers the gateway sets or never forwards. */
static bool skip_forward(const struct cg_req *r, struct cg_str n)
{
	return is_hop(r, n) || cg_str_ieq_lit(n, "Host") || cg_str_ieq_lit(n, "Content-Length") ||
	       cg_str_ieq_lit(n, "Expect") || cg_str_ieq_lit(n, "X-Forwarded-For") ||
	       cg_str_ieq_lit(n, "X-Forwarded-Proto") || cg_str_ieq_lit(n, "X-Forwarded-Host") ||
	       is_client_cert_header(n);
}

/* RFC 9440 byte sequence: ":" base64(DER) ":". */
static int add_b64_der(struct cg_buf *b, X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	if (n <= 0)
		return -1;
	int rc = cg_buf_reserve(b, (size_t)(4 * ((n + 2) / 3) + 3));
	if (rc == 0) {
		b->data[b->len++] = ':';
		b->len += (size_t)EVP_EncodeBlock((unsigned char *)b->data + b->len, der, n);
		b->data[b->len++] = ':';
	}
	OPENSSL_free(der);
	return rc;
}

/* forward-client-certificate: the client's certificate for the backend,
 * as RFC 9440 Client-Cert / Client-Cert-Chain or Envoy's
 * X-Forwarded-Client-Cert (Hash, Subject, URI, DNS). Inbound copies of
 * these headers were stripped, so the backend can trust what it sees. */
static int add_client_cert_headers(struct cg_conn *c, struct cg_buf *b, enum cg_fwd_cert how)
{
	const struct cg_x509 *v = conn_x509(c);
	X509 *x = v ? cg_tls_srv_peer_x509(c->tsess) : NULL;
	if (!x)
		return 0;
	int rc = 0;
	if (how == CG_FWD_CERT_RFC9440) {
		rc |= buf_add(b, "Client-Cert: ");
		rc |= add_b64_der(b, x);
		rc |= cg_buf_append(b, "\r\n", 2);
		STACK_OF(X509) *chain = cg_tls_srv_peer_chain(c->tsess);
		int n = chain ? sk_X509_num(chain) : 0;
		if (n > 0) {
			rc |= buf_add(b, "Client-Cert-Chain: ");
			for (int i = 0; i < n; i++) {
				if (i)
					rc |= cg_buf_append(b, ", ", 2);
				rc |= add_b64_der(b, sk_X509_value(chain, i));
			}
			rc |= cg_buf_append(b, "\r\n", 2);
		}
		return rc;
	}
	char hex[65];
	for (int i = 0; i < 64; i++)
		hex[i] = (char)cg_ascii_lower((unsigned char)v->sha256[i]);
	hex[64] = '\0';
	rc |= cg_buf_printf(b, "X-Forwarded-Client-Cert: Hash=%s;Subject=\"", hex);
	char subj[512] = "";
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio) {
		X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
		int n = BIO_read(bio, subj, (int)sizeof(subj) - 1);
		subj[n > 0 ? n : 0] = '\0';
		BIO_free(bio);
	}
	for (const char *p = subj; *p; p++) {
		if (*p == '"' || *p == '\\')
			rc |= cg_buf_append(b, "\\", 1);
		if ((unsigned char)*p >= 32)
			rc |= cg_buf_append(b, p, 1);
	}
	rc |= cg_buf_append(b, "\"", 1);
	for (size_t i = 0; i < v->num_sans; i++) {
		const struct cg_x509_san *san = &v->sans[i];
		if (san->type != CG_X509_SAN_URI && san->type != CG_X509_SAN_DNS)
			continue;
		if (!cg_h1_field_value_valid(san->value) || cg_str_find_char(san->value, ';') >= 0 ||
		    cg_str_find_char(san->value, ',') >= 0)
			continue; /* never let a SAN break the header's syntax */
		rc |= buf_add(b, san->type == CG_X509_SAN_URI ? ";URI=" : ";DNS=");
		rc |= cg_buf_append_str(b, san->value);
	}
	rc |= cg_buf_append(b, "\r\n", 2);
	return rc;
}

/* The request head for the backend: the client's request, or the pipe's
 * version of it after inbound policies (method, path, query, headers,
 * body). */
static int build_upstream_head(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	const struct cg_pipe *p = r->pipe;
	const struct cg_rt_backend *be = r->backend;
	struct cg_buf *b = &c->up_out;
	int rc = 0;
	struct cg_str method = p ? p->method : r->h.method;
	struct cg_str rest = p ? p->path : r->route.rest;
	struct cg_str query = p ? p->query : r->h.query;
	bool has_query = p ? p->query_present
			   : (r->h.query.len || (r->h.target.len && r->h.target.ptr[r->h.target.len - 1] == '?'));
	rc |= cg_buf_append_str(b, method);
	rc |= cg_buf_append(b, " ", 1);
	rc |= cg_buf_append_str(b, be->base_path);
	rc |= cg_buf_append_str(b, rest);
	if (be->base_path.len == 0 && rest.len == 0)
		rc |= cg_buf_append(b, "/", 1);
	if (has_query) {
		rc |= cg_buf_append(b, "?", 1);
		rc |= cg_buf_append_str(b, query);
	}
	rc |= buf_add(b, " HTTP/1.1\r\n");
	const struct cg_expr_header *hosth = p && p->host_overridden ? cg_hlist_find(&p->req_hdrs, CG_STR("Host")) : NULL;
	rc |= add_header_line(b, CG_STR("Host"), hosth ? hosth->value : be->host_hdr);
	/* X-Forwarded-For: extend the chain: "client-supplied, ..., our peer". */
	bool have_xff = false;
	size_t nh = p ? p->req_hdrs.n : r->h.num_headers;
	for (size_t i = 0; i < nh; i++) {
		struct cg_str n = p ? p->req_hdrs.items[i].name : r->hdrs[i].name;
		struct cg_str v = p ? p->req_hdrs.items[i].value : r->hdrs[i].value;
		if (cg_str_ieq_lit(n, "X-Forwarded-For")) {
			rc |= cg_buf_append(b, have_xff ? ", " : "X-Forwarded-For: ", have_xff ? 2 : 17);
			rc |= cg_buf_append_str(b, v);
			have_xff = true;
		}
	}
	if (have_xff)
		rc |= cg_buf_append(b, ", ", 2);
	else
		rc |= buf_add(b, "X-Forwarded-For: ");
	rc |= buf_add(b, c->peer_ip);
	rc |= buf_add(b, c->tls ? "\r\nX-Forwarded-Proto: https\r\n" : "\r\nX-Forwarded-Proto: http\r\n");
	if (r->h.host.len)
		rc |= add_header_line(b, CG_STR("X-Forwarded-Host"), r->h.host);
	for (size_t i = 0; i < nh; i++) {
		struct cg_str n = p ? p->req_hdrs.items[i].name : r->hdrs[i].name;
		if (skip_forward(r, n))
			continue;
		rc |= add_header_line(b, n, p ? p->req_hdrs.items[i].value : r->hdrs[i].value);
	}
	if (p && p->forward_cert)
		rc |= add_client_cert_headers(c, b, p->forward_cert);
	if ((p && p->req_body_set) || r->buffered) {
		struct cg_str body = p && p->req_body_set ? p->req_body : cg_buf_str(&r->bodybuf);
		rc |= cg_buf_printf(b, "Content-Length: %zu\r\n\r\n", body.len);
		rc |= cg_buf_append_str(b, body);
		return rc ? -1 : 0;
	}
	if (r->h.body_kind == CG_H1_BODY_LENGTH)
		rc |= buf_header_u64(b, "Content-Length: ", r->h.content_length);
	else if (r->h.body_kind == CG_H1_BODY_CHUNKED)
		rc |= buf_add(b, "Transfer-Encoding: chunked\r\n");
	rc |= cg_buf_append(b, "\r\n", 2);
	return rc ? -1 : 0;
}

/* ---- request head -------------------------------------------------------- */

/* A slice into buf[0..len) moved to the same place in copy. */
static void rebase(struct cg_str *s, const char *base, size_t len, const char *copy)
{
	if (s->ptr >= base && s->ptr <= base + len)
		s->ptr = copy + (s->ptr - base);
}

/* Copies a parsed head (the first len bytes of b) into the request arena,
 * so its slices stay valid once the caller drops it from b and reuses b.
 * Returns the copy, or NULL when the arena refuses. */
static const char *move_head(struct cg_conn *c, struct cg_buf *b, size_t len)
{
	char *copy = cg_arena_alloc(&c->arena, len);
	if (copy)
		memcpy(copy, b->data, len);
	return copy;
}

/* Moves the parsed request head out of `in` into the request arena. */
static int keep_head(struct cg_conn *c, size_t headlen)
{
	struct cg_req *r = &c->req;
	const char *copy = move_head(c, &c->in, headlen), *base = c->in.data;
	if (!copy)
		return -1;
	struct cg_str *fields[] = { &r->h.method, &r->h.path,      &r->h.target,
				    &r->h.query,  &r->h.authority, &r->h.host };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		rebase(fields[i], base, headlen, copy);
	for (size_t i = 0; i < r->h.num_headers; i++) {
		rebase(&r->hdrs[i].name, base, headlen, copy);
		rebase(&r->hdrs[i].value, base, headlen, copy);
	}
	cg_buf_consume(&c->in, headlen);
	return 0;
}

/* "Host: Example.COM.:8443" -> "example.com" (into buf). */
static struct cg_str host_name_only(struct cg_str host, char *buf, size_t bufsz)
{
	struct cg_str h = host;
	if (h.len && h.ptr[0] == '[') {
		long close = cg_str_find_char(h, ']');
		h = close > 0 ? cg_str_make(h.ptr, (size_t)close + 1) : h;
	} else {
		long colon = cg_str_find_char(h, ':');
		if (colon >= 0)
			h.len = (size_t)colon;
	}
	if (h.len && h.ptr[h.len - 1] == '.')
		h.len--;
	if (h.len >= bufsz)
		return CG_STR_NULL;
	for (size_t i = 0; i < h.len; i++)
		buf[i] = (char)cg_ascii_lower((unsigned char)h.ptr[i]);
	return cg_str_make(buf, h.len);
}

/* Refuses "." and ".." segments, also percent-encoded: a backend that
 * normalises them would otherwise see a path other than the one routed and
 * matched against operations (policy bypass). */
static bool path_has_dot_segment(struct cg_str p)
{
	size_t i = 0;
	while (i < p.len) {
		if (p.ptr[i] != '/') {
			i++;
			continue;
		}
		size_t j = i + 1, dots = 0;
		bool only_dots = true;
		while (j < p.len && p.ptr[j] != '/') {
			if (p.ptr[j] == '.') {
				dots++;
				j++;
			} else if (p.ptr[j] == '%' && j + 2 < p.len && p.ptr[j + 1] == '2' &&
				   (p.ptr[j + 2] == 'e' || p.ptr[j + 2] == 'E')) {
				dots++;
				j += 3;
			} else {
				only_dots = false;
				j++;
			}
		}
		if (only_dots && (dots == 1 || dots == 2))
			return true;
		i = j;
	}
	return false;
}

static int send_continue(struct cg_conn *c);
static void forward_request(struct cg_conn *c);

/* A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
static bool is_preflight(const struct cg_req *r)
{
	return cg_str_eq_lit(r->h.method, "OPTIONS") &&
	       cg_h1_find_header(r->hdrs, r->h.num_headers, CG_STR("Origin")) &&
	       cg_h1_find_header(r->hdrs, r->h.num_headers, CG_STR("Access-Control-Request-Method"));
}

/* APIM answers a preflight itself with the cors policies in scope, unless
 * the request matched an operation defined for OPTIONS (which then runs
 * as any request). With no OPTIONS operation, the policies in scope are
 * those of the operation the announced method would reach (ours: so an
 * operation-scope cors applies), else the API's (global + API). Returns
 * true when answered; false when no cors policy is in scope. */
static bool preflight(struct cg_conn *c, bool routed)
{
	struct cg_req *r = &c->req;
	if (!r->route.api || (routed && r->route.op && cg_str_eq_lit(r->route.op->method, "OPTIONS")))
		return false;
	if (!routed) {
		const struct cg_h1_header *m =
			cg_h1_find_header(r->hdrs, r->h.num_headers, CG_STR("Access-Control-Request-Method"));
		struct cg_route by_method;
		if (cg_route_find(r->snap, scheme_of(c), cg_str_trim_ows(m->value), r->h.path,
				  r->h.query, &by_method) &&
		    by_method.api == r->route.api)
			r->route = by_method;
	}
	const struct cg_pipeline *pl = r->route.op ? r->route.op->pipeline : r->route.api->pipeline;
	if (!pl || !pl->sec[CG_POL_INBOUND].n)
		return false;
	struct cg_pipe *p = cg_arena_alloc(&c->arena, sizeof(*p));
	if (!p || cg_pipe_init(p, &c->arena, pl) != 0 || pipe_fill(c, p) != 0) {
		respond_json(c, 503, "Service Unavailable", true);
		return true;
	}
	r->pipe = p;
	if (pipe_answer(c, cg_cors_preflight(p)))
		return true;
	r->pipe = NULL;
	return false;
}

/* The subscription key check, before any policy (APIM): a refusal is a
 * 401 with APIM's message; with policies it becomes LastError (Source
 * "authorization") and runs on-error, which may answer otherwise.
 * Returns true when the request goes on (r->sub set when a key granted
 * it). */
static bool subscription_ok(struct cg_conn *c, const struct cg_pipeline *pl)
{
	struct cg_req *r = &c->req;
	enum cg_sub_check rc = cg_sub_check(r->snap, r->route.api, r->hdrs, r->h.num_headers,
					    r->h.query, (int64_t)time(NULL), &r->sub, &r->sub_key);
	if (rc == CG_SUB_OK)
		return true;
	bool missing = rc == CG_SUB_MISSING;
	cg_stat_inc(&c->w->stats->sub_refused[missing ? 0 : 1]);
	const char *msg = missing ? CG_SUB_MSG_MISSING : CG_SUB_MSG_INVALID;
	if (!pl || pl->trivial) {
		respond_json(c, 401, msg, false);
		return false;
	}
	struct cg_pipe *p = cg_arena_alloc(&c->arena, sizeof(*p));
	if (!p || cg_pipe_init(p, &c->arena, pl) != 0 || pipe_fill(c, p) != 0) {
		respond_json(c, 503, "Service Unavailable", true);
		return false;
	}
	r->pipe = p;
	p->section = CG_POL_INBOUND;
	cg_pipe_set_error(p, "authorization", missing ? "SubscriptionKeyNotFound" : "SubscriptionKeyInvalid",
			  msg, 401);
	pipe_fail(c);
	return false;
}

/* With a key of a product subscription, the product's document runs
 * between global and API: the pipeline built for this API in that
 * product (the key check found the API in it). Otherwise pl. */
static const struct cg_pipeline *product_pipeline(const struct cg_req *r, const struct cg_pipeline *pl)
{
	const struct cg_rt_product_api *pa =
		r->sub && r->sub->product ? cg_product_find_api(r->sub->product, r->route.api) : NULL;
	if (!pa)
		return pl;
	return r->route.op ? pa->op_pipelines[r->route.op - r->route.api->ops] : pa->pipeline;
}

static void begin_request(struct cg_conn *c, size_t headlen)
{
	struct cg_req *r = &c->req;
	struct cg_worker *w = c->w;
	if (keep_head(c, headlen) != 0) {
		respond_json(c, 503, "Service Unavailable", true);
		return;
	}
	c->nreq++;
	r->snap = cg_snapshot_ref(w->snap);
	r->body = r->h.body_kind == CG_H1_BODY_NONE ? CG_BODY_NONE : CG_BODY_STREAM;
	if (r->h.body_kind == CG_H1_BODY_LENGTH)
		r->body_left = r->h.content_length;
	else if (r->h.body_kind == CG_H1_BODY_CHUNKED)
		cg_h1_chunked_init(&r->chunked);

	if (r->h.path.len == 0 || r->h.path.ptr[0] != '/') {
		/* asterisk-form (OPTIONS *) and authority-form (CONNECT) */
		respond_json(c, cg_str_eq_lit(r->h.method, "CONNECT") ? 405 : 400,
			     "This request form is not supported", true);
		return;
	}
	if (path_has_dot_segment(r->h.path)) {
		respond_json(c, 400, "Bad Request: the path contains dot segments", true);
		return;
	}
	if (r->h.has_upgrade && cg_str_eq_lit(r->h.method, "CONNECT")) {
		respond_json(c, 405, "Method Not Allowed", true);
		return;
	}
	/* SNI chose the TLS settings; Host chooses the site. They must agree
	 * where the two hostnames' settings differ (domain-fronting bypass). */
	struct cg_str authority = r->h.authority.len ? r->h.authority : r->h.host;
	if (c->tls && authority.len) {
		char hb[256];
		struct cg_str hn = host_name_only(authority, hb, sizeof(hb));
		const struct cg_rt_host *h = hn.len ? cg_snapshot_find_host(r->snap, hn) : NULL;
		/* Compare within the request's snapshot: the hostname the
		 * handshake chose, as configured now (settings change with the
		 * CA store; a keep-alive connection must not get 421 for that). */
		const struct cg_rt_host *sni_h =
			c->sni_default ? r->snap->default_host
				       : cg_snapshot_find_host(r->snap, cg_str_make(c->sni_name, strlen(c->sni_name)));
		uint32_t mine = sni_h ? sni_h->settings_id : c->settings_id;
		if (h && h != sni_h && h->settings_id != mine) {
			respond_json(c, 421, "Misdirected Request", true);
			return;
		}
	}
	if (r->h.body_kind == CG_H1_BODY_LENGTH && r->h.content_length > w->gw->set.max_body_bytes) {
		respond_json(c, 413, "Request Entity Too Large", true);
		return;
	}
	bool routed = cg_route_find(r->snap, scheme_of(c), r->h.method, r->h.path, r->h.query,
				    &r->route);
	if (is_preflight(r) && preflight(c, routed))
		return; /* answered by a cors policy */
	if (!routed) {
		respond_json(c, 404, "Resource not found", false);
		return;
	}
	r->backend = &r->route.api->backend;
	r->pool_key = r->backend->pool_key;
	r->backend_timeout_ms = w->gw->set.backend_timeout_ms;
	const struct cg_pipeline *pl = r->route.op ? r->route.op->pipeline : r->route.api->pipeline;
	if (!subscription_ok(c, pl))
		return; /* 401, through on-error when there are policies */
	pl = product_pipeline(r, pl);
	if (pl && !pl->trivial && pl->uses_request_body && r->body == CG_BODY_STREAM) {
		/* A policy reads the body: read it whole first (bounded). */
		r->pl_pending = pl;
		cg_buf_init(&r->bodybuf, w->gw->set.max_buffered_body);
		if (send_continue(c) != 0)
			return;
		c->state = CG_C_BUFFER;
		return;
	}
	if (pl && !pl->trivial && pipe_request(c, pl))
		return; /* answered by policies */
	forward_request(c);
}

/* 100 Continue, when the client waits for it before sending its body. */
static int send_continue(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	if (!r->h.expect_continue || r->sent_continue || r->body != CG_BODY_STREAM || r->h.minor_version != 1)
		return 0;
	if (buf_add(&c->out, "HTTP/1.1 100 Continue\r\n\r\n") != 0) {
		conn_close(c);
		return -1;
	}
	r->sent_continue = true;
	return 0;
}

/* ---- backend pools and circuit breakers (gw/lb.h) ---- */

struct lb_avail {
	const struct cg_rt_backend *all;
	int64_t now_ms;
};

static bool lb_member_available(void *ctx, uint32_t i)
{
	const struct lb_avail *a = ctx;
	const struct cg_rt_backend *b = &a->all[i];
	return !b->breaker || cg_lb_breaker_allows(b->breaker, a->now_ms);
}

/* The backend this request goes to: a member of a pool picked now, or b
 * itself; NULL when the breakers of every candidate are open. */
static const struct cg_rt_backend *lb_choose(struct cg_conn *c, const struct cg_rt_backend *b)
{
	if (!b->pool && !b->breaker)
		return b; /* most requests: no clock read */
	struct lb_avail a = { NULL, cg_lb_now_ms() };
	if (b->pool) {
		a.all = b->pool->all;
		int m = cg_lb_pick(&b->pool->lb, &c->w->lb_cursor, lb_member_available, &a);
		return m < 0 ? NULL : &a.all[b->pool->lb.members[m].backend];
	}
	return !b->breaker || cg_lb_breaker_allows(b->breaker, a.now_ms) ? b : NULL;
}

/* Settles r->backend before the request is sent. false when it was
 * answered instead: 503 (through on-error) when no backend may take it. */
static bool lb_route(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	const struct cg_rt_backend *b = lb_choose(c, r->backend);
	if (!b) {
		char msg[200];
		snprintf(msg, sizeof(msg), "%s '%.*s' is unavailable: its circuit breaker is open.",
			 r->backend->pool ? "Every backend of pool" : "Backend",
			 (int)(r->backend->id.len > 100 ? 100 : r->backend->id.len), r->backend->id.ptr);
		cg_stat_inc(&c->w->stats->breaker_rejects);
		respond_gateway_error(c, 503, "BackendUnavailable", msg, "Service Unavailable");
		return false;
	}
	if (b != r->backend) {
		r->backend = b;
		r->pool_key = !r->client_cert ? b->pool_key
			: cg_str_from_c(cg_arena_printf(&c->arena, "%.*s#%.*s", CG_STR_FMT(b->pool_key),
							CG_STR_FMT(r->client_cert->cert_id)));
		if (!r->pool_key.ptr) {
			respond_json(c, 503, "Service Unavailable", true);
			return false;
		}
	}
	r->breaker_armed = b->breaker != NULL;
	return true;
}

/* Retry-After in delta-seconds as milliseconds, or -1 (absent, or an
 * HTTP-date: the rule's tripDuration then applies). */
static int64_t retry_after_ms(const struct cg_req *r)
{
	const struct cg_h1_header *h =
		cg_h1_find_header(r->resp_hdrs, r->resp.num_headers, CG_STR("Retry-After"));
	uint64_t v;
	if (!h || !cg_str_to_u64(cg_str_trim_ows(h->value), 30 * 24 * 3600, &v))
		return -1;
	return (int64_t)v * 1000;
}

/* Counts the outcome of a request sent to a backend with a breaker
 * (status 0: no response; otherwise the response head's Retry-After is
 * read). Once per request; nothing at all without a breaker. */
static void lb_report(struct cg_conn *c, int status)
{
	struct cg_req *r = &c->req;
	if (!r->breaker_armed)
		return;
	r->breaker_armed = false;
	const struct cg_rt_backend *b = r->backend;
	int64_t retry_ms = status ? retry_after_ms(r) : -1;
	if (cg_lb_breaker_report(b->breaker, b->breaker_rule, cg_lb_now_ms(), status, retry_ms))
		cg_log_warn("backend '%.*s': circuit breaker tripped (status %d); no requests for %lld ms",
			    CG_STR_FMT(b->id), status,
			    (long long)cg_lb_breaker_remaining_ms(b->breaker, cg_lb_now_ms()));
}

/* Sends the request on to its backend (after the policies, if any). */
static void forward_request(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	if (!lb_route(c))
		return;
	if (!r->buffered && send_continue(c) != 0)
		return;
	if (build_upstream_head(c) != 0) {
		respond_json(c, 503, "Service Unavailable", true);
		return;
	}
	r->up_start_ms = now_ms(c);
	if (up_acquire(c) != 0) {
		respond_gateway_error(c, 502, "BackendConnectionFailure", "Unable to connect to the backend",
				      "Bad Gateway");
		return;
	}
	c->state = CG_C_PROXY;
}

static bool step_head(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	struct cg_worker *w = c->w;
	const struct cg_h1_limits *lim = &w->gw->set.h1;
	if (c->in.len == 0 && (w->draining || c->eof)) {
		conn_close(c);
		return false;
	}
	if (c->in.len > c->head_seen) {
		if (!r->hdrs) {
			r->hdrs = cg_arena_alloc(&c->arena, sizeof(*r->hdrs) * lim->max_headers);
			if (!r->hdrs) {
				conn_close(c);
				return false;
			}
		}
		if (c->head_seen == 0)
			r->start_ms = now_ms(c);
		int rc = cg_h1_parse_request(c->in.data, c->in.len, c->head_seen, &r->h, r->hdrs,
					     lim->max_headers, lim);
		if (rc > 0) {
			begin_request(c, (size_t)rc);
			return true;
		}
		if (rc == CG_H1_ERROR) {
			cg_log_info("%s: bad request: %s", c->peer_ip,
				    r->h.error_reason ? r->h.error_reason : "?");
			char msg[200];
			snprintf(msg, sizeof(msg), "%s: %s", cg_h1_reason(r->h.error_status),
				 r->h.error_reason ? r->h.error_reason : "malformed request");
			/* Quotes cannot appear in our reasons, but be sure. */
			for (char *p = msg; *p; p++)
				if (*p == '"' || *p == '\\')
					*p = '\'';
			r->h.keep_alive = false;
			respond_json(c, r->h.error_status ? r->h.error_status : 400, msg, true);
			return true;
		}
		c->head_seen = c->in.len;
	}
	if (c->eof) {
		conn_close(c); /* EOF in the middle of a head */
		return false;
	}
	size_t room = lim->max_head_bytes + 1 > c->in.len ? lim->max_head_bytes + 1 - c->in.len : 1;
	long n = client_read(c, room < CG_CONN_HEAD_CHUNK ? room : CG_CONN_HEAD_CHUNK);
	if (n > 0)
		return true;
	if (n == CG_TLS_EOF || n == CG_TLS_ERROR) {
		if (c->in.len == 0) {
			conn_close(c);
			return false;
		}
		c->eof = true;
		return true;
	}
	return false;
}

/* ---- proxying -------------------------------------------------------------- */

/* A Content-Length body with nothing waiting in `in`: read straight into
 * up_out, at most what is left of the body (a pipelined request's bytes
 * stay in the TLS layer or the socket), so its bytes are copied once
 * instead of through `in`. */
static long body_read_direct(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	size_t max = r->body_left < CG_CONN_READ_CHUNK ? (size_t)r->body_left : CG_CONN_READ_CHUNK;
	long n = io_read(client_side(c), &c->up_out, max);
	if (n > 0) {
		r->body_left -= (uint64_t)n;
		if (r->body_left == 0)
			r->body = CG_BODY_DONE;
	}
	return n;
}

/* Moves request body bytes from `in` to up_out (re-framed). On a broken
 * body *bad is set to the status to answer with (400, or 413 over the
 * body limit). */
static bool pump_request_body(struct cg_conn *c, int *bad)
{
	struct cg_req *r = &c->req;
	bool progress = false;
	while (r->body == CG_BODY_STREAM && c->up_out.len < CG_CONN_HIGH_WATER) {
		if (c->in.len == 0) {
			if (c->eof) {
				*bad = 400; /* the client went away mid-body */
				return progress;
			}
			bool direct = r->h.body_kind == CG_H1_BODY_LENGTH && !r->discard_body;
			long n = direct ? body_read_direct(c) : client_read(c, CG_CONN_READ_CHUNK);
			if (n > 0) {
				progress = true;
				c->last_ms = now_ms(c);
				continue;
			}
			if (n == CG_TLS_EOF || n == CG_TLS_ERROR)
				c->eof = true;
			else
				return progress;
			continue;
		}
		if (r->h.body_kind == CG_H1_BODY_LENGTH) {
			size_t n = c->in.len < r->body_left ? c->in.len : (size_t)r->body_left;
			if (!r->discard_body && cg_buf_append(&c->up_out, c->in.data, n) != 0) {
				*bad = 400;
				return progress;
			}
			cg_buf_consume(&c->in, n);
			r->body_left -= n;
			if (r->body_left == 0)
				r->body = CG_BODY_DONE;
			progress = true;
			continue;
		}
		/* chunked: decode in place, re-encode what was decoded */
		size_t len = c->in.len;
		long rc = cg_h1_chunked_decode(&r->chunked, c->in.data, &len);
		if (rc == CG_H1_ERROR || r->chunked.total > c->w->gw->set.max_body_bytes) {
			cg_log_info("%s: bad chunked request body: %s", c->peer_ip,
				    rc == CG_H1_ERROR ? r->chunked.error_reason : "over the body limit");
			*bad = rc == CG_H1_ERROR ? 400 : 413;
			return progress;
		}
		if (len && !r->discard_body) {
			char hdr[24];
			size_t hl = (size_t)snprintf(hdr, sizeof(hdr), "%zx\r\n", len);
			if (cg_buf_append(&c->up_out, hdr, hl) != 0 ||
			    cg_buf_append(&c->up_out, c->in.data, len) != 0 ||
			    cg_buf_append(&c->up_out, "\r\n", 2) != 0) {
				*bad = 400;
				return progress;
			}
		}
		if (rc >= 0) {
			if (!r->discard_body && cg_buf_append(&c->up_out, "0\r\n\r\n", 5) != 0) {
				*bad = 400;
				return progress;
			}
			/* Bytes after the body (a pipelined request) stay in `in`. */
			memmove(c->in.data, c->in.data + len, (size_t)rc);
			c->in.len = (size_t)rc;
			r->body = CG_BODY_DONE;
		} else {
			c->in.len = 0;
		}
		progress = true;
	}
	return progress;
}

static int emit_body(struct cg_conn *c, const char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (c->req.resp_buffering)
		return cg_buf_append(&c->req.respbuf, p, n); /* over the cap: -1, the caller closes */
	if (!c->req.resp_chunk_out)
		return cg_buf_append(&c->out, p, n);
	char hdr[24];
	size_t hl = (size_t)snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
	if (cg_buf_append(&c->out, hdr, hl) != 0 || cg_buf_append(&c->out, p, n) != 0 ||
	    cg_buf_append(&c->out, "\r\n", 2) != 0)
		return -1;
	return 0;
}

static bool resp_hdr_skip(const struct cg_req *r, struct cg_str n)
{
	bool any_conn = false;
	for (size_t i = 0; i < r->resp.num_headers; i++) {
		if (!cg_str_ieq_lit(r->resp_hdrs[i].name, "Connection"))
			continue;
		any_conn = true;
		if (cg_h1_is_hop_by_hop(n, r->resp_hdrs[i].value))
			return true;
	}
	if (!any_conn && cg_h1_is_hop_by_hop(n, CG_STR_NULL))
		return true;
	return cg_str_ieq_lit(n, "Content-Length");
}

/* Builds the client's response head from the backend's. */
static int start_response(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	struct cg_h1_response *p = &r->resp;
	bool head = cg_str_eq_lit(r->h.method, "HEAD");
	bool client11 = r->h.minor_version == 1;
	r->resp_body = p->body_kind;
	if (head)
		r->resp_body = CG_H1_BODY_NONE;
	if (r->resp_body == CG_H1_BODY_LENGTH)
		r->resp_left = p->content_length;
	if (r->resp_body == CG_H1_BODY_CHUNKED)
		cg_h1_chunked_init(&r->resp_chunked);
	if (r->resp_body == CG_H1_BODY_CHUNKED || r->resp_body == CG_H1_BODY_CLOSE) {
		if (client11)
			r->resp_chunk_out = true;
		else
			r->close_after = true; /* HTTP/1.0: the close ends the body */
	}
	if (r->body == CG_BODY_STREAM || c->w->draining)
		r->close_after = true;
	bool close = r->close_after || !r->h.keep_alive;
	struct cg_buf *b = &c->out;
	const struct cg_pipe *pp = r->outbound_ran ? r->pipe : NULL;
	int status = pp ? pp->status : p->status;
	struct cg_str reason = pp ? pp->reason : p->reason;
	int rc = buf_status_line_start(b, status);
	rc |= cg_buf_append_str(b, reason.len ? reason : cg_str_from_c(cg_h1_reason(status)));
	rc |= cg_buf_append(b, "\r\n", 2);
	bool have_date = false;
	size_t nh = pp ? pp->resp_hdrs.n : p->num_headers;
	for (size_t i = 0; i < nh; i++) {
		struct cg_str n = pp ? pp->resp_hdrs.items[i].name : r->resp_hdrs[i].name;
		if (pp ? (cg_str_ieq_lit(n, "Content-Length") || cg_str_ieq_lit(n, "Transfer-Encoding") ||
			  cg_str_ieq_lit(n, "Connection"))
		       : resp_hdr_skip(r, n))
			continue;
		have_date |= cg_str_ieq_lit(n, "Date");
		rc |= add_header_line(b, n, pp ? pp->resp_hdrs.items[i].value : r->resp_hdrs[i].value);
	}
	if (!have_date)
		rc |= buf_header_str(b, "Date: ", cg_str_from_c(cg_worker_date(c->w)));
	/* Framing is ours: Content-Length or chunked, from what the backend's
	 * body really is. HEAD and 304 repeat the length the backend gave (of
	 * the representation); 1xx and 204 never carry one. */
	bool bodiless_status = p->status == 204 || p->status == 304 || p->status < 200;
	const struct cg_h1_header *cl = cg_h1_find_header(r->resp_hdrs, p->num_headers, CG_STR("Content-Length"));
	uint64_t cl_value = 0;
	bool cl_known = false;
	if (cl) {
		struct cg_str rest = cl->value, first;
		cl_known = cg_str_next_csv(&rest, &first) && cg_str_to_u64(first, UINT64_MAX / 2, &cl_value);
	}
	if (head || p->status == 304) {
		if (cl_known && p->status != 204 && p->status >= 200)
			rc |= buf_header_u64(b, "Content-Length: ", cl_value);
	} else if (bodiless_status) {
		/* nothing */
	} else if (p->body_kind == CG_H1_BODY_LENGTH) {
		rc |= buf_header_u64(b, "Content-Length: ", p->content_length);
	} else if (r->resp_chunk_out) {
		rc |= buf_add(b, "Transfer-Encoding: chunked\r\n");
	} else if (p->body_kind == CG_H1_BODY_NONE) {
		rc |= buf_add(b, "Content-Length: 0\r\n"); /* the backend said Content-Length: 0 */
	}
	if (close)
		rc |= buf_add(b, "Connection: close\r\n");
	else if (!client11)
		rc |= buf_add(b, "Connection: keep-alive\r\n");
	rc |= cg_buf_append(b, "\r\n", 2);
	r->status = status;
	r->resp_started = true;
	if (r->resp_body == CG_H1_BODY_NONE || (r->resp_body == CG_H1_BODY_LENGTH && r->resp_left == 0))
		r->resp_done = true;
	return rc ? -1 : 0;
}

static int keep_resp_head(struct cg_conn *c, size_t headlen)
{
	struct cg_req *r = &c->req;
	const char *copy = move_head(c, &c->up_in, headlen), *base = c->up_in.data;
	if (!copy)
		return -1;
	rebase(&r->resp.reason, base, headlen, copy);
	for (size_t i = 0; i < r->resp.num_headers; i++) {
		rebase(&r->resp_hdrs[i].name, base, headlen, copy);
		rebase(&r->resp_hdrs[i].value, base, headlen, copy);
	}
	cg_buf_consume(&c->up_in, headlen);
	return 0;
}

/* Runs outbound over the backend's response head. Returns true when the
 * response is now the pipe's own (return-response, set-body, an error):
 * the backend's body is then dropped with its connection. */
static bool pipe_response(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	struct cg_pipe *p = r->pipe;
	p->status = r->resp.status;
	p->reason = r->resp.reason;
	p->resp_hdrs.n = 0;
	for (size_t i = 0; i < r->resp.num_headers; i++)
		if (!resp_hdr_skip(r, r->resp_hdrs[i].name) &&
		    cg_hlist_add(&p->resp_hdrs, &c->arena, r->resp_hdrs[i].name, r->resp_hdrs[i].value) != 0) {
			respond_json(c, 503, "Service Unavailable", true);
			return true;
		}
	enum cg_pipe_rc rc = cg_pipe_run(p, CG_POL_OUTBOUND);
	if (rc == CG_PIPE_CONTINUE && !p->resp_body_set) {
		if (cg_cors_apply(p, &p->resp_hdrs) != 0) {
			respond_json(c, 503, "Service Unavailable", true);
			return true;
		}
		r->outbound_ran = true;
		return false;
	}
	/* outbound set a body of its own: the pipe's response replaces the
	 * backend's */
	return pipe_answer(c, rc == CG_PIPE_CONTINUE ? CG_PIPE_RESPOND : rc);
}

/* The backend's whole body is in respbuf: outbound runs with it as
 * context.Response.Body, and the response goes out with a Content-Length. */
static void buffered_response_done(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	struct cg_pipe *p = r->pipe;
	bool reusable = r->resp.keep_alive && r->resp.body_kind != CG_H1_BODY_CLOSE &&
			r->body != CG_BODY_STREAM && c->up_in.len == 0 && c->up_out.len == 0;
	if (c->up)
		up_release(c, reusable);
	r->resp_buffering = false;
	struct cg_expr_body *eb = cg_arena_zalloc(&c->arena, sizeof(*eb));
	if (!eb) {
		respond_json(c, 503, "Service Unavailable", true);
		return;
	}
	eb->data = cg_buf_str(&r->respbuf);
	p->respv.body = eb;
	p->status = r->resp.status;
	p->reason = r->resp.reason;
	p->resp_hdrs.n = 0;
	for (size_t i = 0; i < r->resp.num_headers; i++)
		if (!resp_hdr_skip(r, r->resp_hdrs[i].name) &&
		    cg_hlist_add(&p->resp_hdrs, &c->arena, r->resp_hdrs[i].name, r->resp_hdrs[i].value) != 0) {
			respond_json(c, 503, "Service Unavailable", true);
			return;
		}
	enum cg_pipe_rc rc = cg_pipe_run(p, CG_POL_OUTBOUND);
	if (rc == CG_PIPE_ERROR) {
		pipe_fail(c);
		return;
	}
	if (rc == CG_PIPE_NOMEM) {
		respond_json(c, 503, "Service Unavailable", true);
		return;
	}
	if (rc == CG_PIPE_CONTINUE && !p->resp_body_set) {
		p->resp_body = cg_buf_str(&r->respbuf);
		p->resp_body_set = true;
	}
	respond_pipe(c);
}

/* Upstream failed before a usable response arrived. */
static void upstream_failed(struct cg_conn *c, const char *what)
{
	struct cg_req *r = &c->req;
	cg_log_info("backend %.*s: %s", CG_STR_FMT(r->backend->pool_key), what);
	/* A pooled connection the backend closed just as we reused it: retry
	 * once on a fresh one, when nothing but our own head was sent. */
	if (c->up && c->up->reused && !r->resp_head_done && c->up_in.len == 0 &&
	    r->h.body_kind == CG_H1_BODY_NONE) {
		up_release(c, false);
		c->up_out.len = 0;
		if (build_upstream_head(c) == 0 && up_acquire(c) == 0)
			return;
	}
	respond_gateway_error(c, 502, "BackendConnectionFailure", what, "Bad Gateway");
}

static bool step_proxy(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	struct cg_upconn *up = c->up;
	bool progress = false, failed = false;

	if (up && up->state == CG_UP_CONNECTING) {
		const struct cg_rt_backend *be = r->backend;
		int rc = connect(up->fd, (const struct sockaddr *)&be->addr, be->addr_len);
		if (rc == 0 || errno == EISCONN) {
			up->state = up->ssl ? CG_UP_HANDSHAKE : CG_UP_READY;
			progress = true;
		} else if (errno == EINPROGRESS || errno == EALREADY) {
			up->want |= UV_WRITABLE;
		} else {
			char msg[160];
			snprintf(msg, sizeof(msg), "connect: %s", strerror(errno));
			up->reused = false;
			upstream_failed(c, msg);
			return true;
		}
	}
	if (up && up->state == CG_UP_HANDSHAKE) {
		int rc = cg_tls_handshake(up->ssl);
		if (rc == 1) {
			up->state = CG_UP_READY;
			progress = true;
		} else if (rc == CG_TLS_WANT_READ) {
			up->want |= UV_READABLE;
		} else if (rc == CG_TLS_WANT_WRITE) {
			up->want |= UV_WRITABLE;
		} else {
			long vr = SSL_get_verify_result(up->ssl);
			char msg[300];
			snprintf(msg, sizeof(msg), "TLS handshake failed: %s%s%s", cg_tls_last_error(),
				 vr != X509_V_OK ? "; certificate: " : "",
				 vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
			up->reused = false;
			upstream_failed(c, msg);
			return true;
		}
	}
	if (!c->up || c->up->state != CG_UP_READY) {
		/* Still connecting: nothing else to do, but keep the 100 Continue
		 * (if any) moving. */
		progress |= client_flush(c, &failed);
		if (failed)
			conn_close(c);
		return progress;
	}
	up = c->up;

	/* client -> backend */
	int bad = 0;
	progress |= up_flush(c, &failed);
	if (failed) {
		if (!r->resp_head_done) {
			upstream_failed(c, "write failed");
			return true;
		}
		c->up_out.len = 0;
		r->close_after = true;
		failed = false;
	}
	if (!r->resp_head_done || !r->resp_done)
		progress |= pump_request_body(c, &bad);
	if (bad) {
		/* Framing broke mid-body: nothing after this point can be
		 * trusted on either connection. */
		if (c->up)
			up_release(c, false);
		if (!r->resp_started)
			respond_json(c, bad, bad == 413 ? "Request Entity Too Large"
							: "Bad Request: invalid request body",
				     true);
		else
			conn_close(c);
		return true;
	}
	if (c->up_out.len && !failed)
		progress |= up_flush(c, &failed);

	/* backend -> client */
	if (!r->resp_head_done) {
		if (c->up_in.len > c->resp_seen) {
			const struct cg_h1_limits *lim = &c->w->gw->set.h1;
			if (!r->resp_hdrs)
				r->resp_hdrs =
					cg_arena_alloc(&c->arena, sizeof(*r->resp_hdrs) * lim->max_headers);
			int rc = r->resp_hdrs ? cg_h1_parse_response(c->up_in.data, c->up_in.len,
								     c->resp_seen, &r->resp, r->resp_hdrs,
								     lim->max_headers, lim, r->h.method)
					      : CG_H1_ERROR;
			if (rc > 0 && r->resp.status < 200) {
				/* 100/102/103 are ours to drop; 101: we never upgrade. */
				if (r->resp.status == 101) {
					up->reused = false;
					upstream_failed(c, "unexpected 101 Switching Protocols");
					return true;
				}
				cg_buf_consume(&c->up_in, (size_t)rc);
				c->resp_seen = 0;
				return true;
			}
			if (rc > 0) {
				if (keep_resp_head(c, (size_t)rc) != 0) {
					conn_close(c);
					return false;
				}
				lb_report(c, r->resp.status);
				if (r->pipe && r->pipe->pl->sec[CG_POL_OUTBOUND].n && r->pipe->pl->uses_response_body &&
				    r->resp.body_kind != CG_H1_BODY_NONE && !cg_str_eq_lit(r->h.method, "HEAD")) {
					/* Outbound reads the body: take it whole first. */
					r->resp_buffering = true;
					cg_buf_init(&r->respbuf, c->w->gw->set.max_buffered_body);
					r->resp_body = r->resp.body_kind;
					r->resp_left = r->resp.content_length;
					if (r->resp_body == CG_H1_BODY_CHUNKED)
						cg_h1_chunked_init(&r->resp_chunked);
					r->resp_head_done = true;
					c->resp_seen = 0;
					r->resp_done = r->resp_body == CG_H1_BODY_LENGTH && r->resp_left == 0;
					return true;
				}
				if (r->pipe && (r->pipe->pl->sec[CG_POL_OUTBOUND].n || r->pipe->cors_hdrs.n ||
					       r->pipe->pl->outbound_work) &&
				    pipe_response(c))
					return true; /* answered by outbound policies or on-error */
				if (start_response(c) != 0) {
					conn_close(c);
					return false;
				}
				r->resp_head_done = true;
				c->resp_seen = 0;
				progress = true;
			} else if (rc == CG_H1_ERROR) {
				char msg[200];
				snprintf(msg, sizeof(msg), "invalid response: %s",
					 r->resp.error_reason ? r->resp.error_reason : "?");
				up->reused = false;
				upstream_failed(c, msg);
				return true;
			} else {
				c->resp_seen = c->up_in.len;
			}
		}
		if (!r->resp_head_done) {
			long n = up_read(c, CG_CONN_HEAD_CHUNK);
			if (n > 0)
				return true;
			if (n == CG_TLS_EOF || n == CG_TLS_ERROR) {
				upstream_failed(c, c->up_in.len ? "closed in the response head"
								 : "closed without a response");
				return true;
			}
		}
	}
	if (r->resp_head_done) {
		while (!r->resp_done && c->out.len < CG_CONN_HIGH_WATER) {
			if (c->up_in.len == 0) {
				long n = up_read(c, CG_CONN_READ_CHUNK);
				if (n > 0) {
					progress = true;
					c->last_ms = now_ms(c);
					continue;
				}
				if (n == CG_TLS_WANT_READ || n == CG_TLS_WANT_WRITE)
					break;
				if (r->resp_body == CG_H1_BODY_CLOSE) {
					r->resp_done = true;
					up->reused = false;
					if (r->resp_chunk_out && cg_buf_append(&c->out, "0\r\n\r\n", 5) != 0) {
						conn_close(c);
						return false;
					}
					progress = true;
					break;
				}
				/* Truncated body: cut the client off so it notices. */
				cg_log_info("backend %.*s: closed in the response body",
					    CG_STR_FMT(r->backend->pool_key));
				conn_close(c);
				return false;
			}
			int rc = 0;
			if (r->resp_body == CG_H1_BODY_LENGTH) {
				size_t n = c->up_in.len < r->resp_left ? c->up_in.len : (size_t)r->resp_left;
				rc = emit_body(c, c->up_in.data, n);
				cg_buf_consume(&c->up_in, n);
				r->resp_left -= n;
				if (r->resp_left == 0)
					r->resp_done = true;
			} else if (r->resp_body == CG_H1_BODY_CHUNKED) {
				size_t len = c->up_in.len;
				long d = cg_h1_chunked_decode(&r->resp_chunked, c->up_in.data, &len);
				if (d == CG_H1_ERROR) {
					cg_log_info("backend %.*s: bad chunked response: %s",
						    CG_STR_FMT(r->backend->pool_key),
						    r->resp_chunked.error_reason);
					conn_close(c);
					return false;
				}
				rc = emit_body(c, c->up_in.data, len);
				if (d >= 0) {
					r->resp_done = true;
					if (r->resp_chunk_out)
						rc |= cg_buf_append(&c->out, "0\r\n\r\n", 5);
					memmove(c->up_in.data, c->up_in.data + len, (size_t)d);
					c->up_in.len = (size_t)d;
				} else {
					c->up_in.len = 0;
				}
			} else {
				rc = emit_body(c, c->up_in.data, c->up_in.len);
				c->up_in.len = 0;
			}
			if (rc != 0 && r->resp_buffering) {
				/* Over --max-buffered-body: nothing was sent yet. */
				cg_log_info("backend %.*s: response body over the buffering limit",
					    CG_STR_FMT(r->backend->pool_key));
				r->resp_buffering = false;
				respond_gateway_error(c, 502, "BackendConnectionFailure",
						      "The response body is larger than --max-buffered-body",
						      "Bad Gateway");
				return true;
			}
			if (rc != 0) {
				conn_close(c);
				return false;
			}
			progress = true;
		}
	}
	if (r->resp_buffering && r->resp_done) {
		buffered_response_done(c);
		return true;
	}
	progress |= client_flush(c, &failed);
	if (failed) {
		conn_close(c);
		return false;
	}
	if (r->resp_done && c->out.len == 0) {
		/* The backend connection is reusable only when both messages
		 * ended exactly at their framing and nothing extra arrived. */
		bool reusable = r->resp.keep_alive && r->resp.body_kind != CG_H1_BODY_CLOSE &&
				r->body != CG_BODY_STREAM && c->up_in.len == 0 && c->up_out.len == 0;
		if (c->up)
			up_release(c, reusable);
		finish_request(c);
		return true;
	}
	return progress;
}

/* CG_C_BUFFER: reads the whole request body (decoding chunks), bounded by
 * --max-buffered-body, then runs the policies with it and forwards it with
 * a Content-Length. */
static bool step_buffer(struct cg_conn *c)
{
	struct cg_req *r = &c->req;
	bool progress = false, failed = false;
	progress |= client_flush(c, &failed);
	if (failed) {
		conn_close(c);
		return false;
	}
	while (r->body == CG_BODY_STREAM) {
		if (c->in.len == 0) {
			if (c->eof) {
				respond_json(c, 400, "Bad Request: incomplete request body", true);
				return true;
			}
			long n = client_read(c, CG_CONN_READ_CHUNK);
			if (n > 0) {
				progress = true;
				c->last_ms = now_ms(c);
				continue;
			}
			if (n == CG_TLS_EOF || n == CG_TLS_ERROR) {
				c->eof = true;
				continue;
			}
			return progress;
		}
		if (r->h.body_kind == CG_H1_BODY_LENGTH) {
			size_t n = c->in.len < r->body_left ? c->in.len : (size_t)r->body_left;
			if (cg_buf_append(&r->bodybuf, c->in.data, n) != 0) {
				respond_json(c, 413, "Request Entity Too Large", true);
				return true;
			}
			cg_buf_consume(&c->in, n);
			r->body_left -= n;
			if (r->body_left == 0)
				r->body = CG_BODY_DONE;
		} else {
			size_t len = c->in.len;
			long rc = cg_h1_chunked_decode(&r->chunked, c->in.data, &len);
			if (rc == CG_H1_ERROR) {
				respond_json(c, 400, "Bad Request: invalid request body", true);
				return true;
			}
			if (cg_buf_append(&r->bodybuf, c->in.data, len) != 0) {
				respond_json(c, 413, "Request Entity Too Large", true);
				return true;
			}
			if (rc >= 0) {
				memmove(c->in.data, c->in.data + len, (size_t)rc);
				c->in.len = (size_t)rc;
				r->body = CG_BODY_DONE;
			} else {
				c->in.len = 0;
			}
		}
		progress = true;
	}
	r->buffered = true;
	if (!pipe_request(c, r->pl_pending))
		forward_request(c);
	return true;
}

static bool step_respond(struct cg_conn *c)
{
	bool failed = false;
	bool progress = client_flush(c, &failed);
	if (failed) {
		conn_close(c);
		return false;
	}
	if (c->out.len == 0) {
		finish_request(c);
		return true;
	}
	return progress;
}

/* Flushes, then half-closes and reads/discards for a short while (lingering
 * close), so a client still sending gets our response rather than a reset. */
static bool step_closing(struct cg_conn *c)
{
	bool failed = false;
	bool progress = client_flush(c, &failed);
	if (failed || c->out.len == 0) {
		if (failed || c->eof) {
			conn_close(c);
			return false;
		}
		if (!c->lingering) {
			if (c->tsess)
				cg_tls_srv_shutdown(c->tsess);
			shutdown(c->fd, SHUT_WR);
			c->lingering = true;
			c->last_ms = now_ms(c);
		}
		char sink[4096];
		for (int i = 0; i < 16; i++) {
			ssize_t n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
			if (n > 0)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				c->want |= UV_READABLE;
				return false;
			}
			conn_close(c);
			return false;
		}
		return true;
	}
	return progress;
}

static bool step_handshake(struct cg_conn *c)
{
	int rc = cg_tls_srv_handshake(c->tsess);
	if (rc == 1) {
		c->state = CG_C_HEAD;
		if (c->negotiate && cg_tls_srv_peer_count(c->tsess) > 0) {
			cg_stat_inc(&c->w->stats->handshakes_cert);
			cg_stats_cert_seen(c->w, c->tsess);
		} else {
			cg_stat_inc(&c->w->stats->handshakes_nocert);
		}
		if (c->hs_snap) {
			cg_snapshot_unref(c->hs_snap);
			c->hs_snap = NULL;
		}
		return true;
	}
	if (rc == CG_TLS_WANT_READ) {
		c->want |= UV_READABLE;
		return false;
	}
	if (rc == CG_TLS_WANT_WRITE) {
		c->want |= UV_WRITABLE;
		return false;
	}
	c->w->n_handshake_fail++;
	cg_stat_inc(&c->w->stats->handshake_failures);
	cg_log_debug("%s: TLS handshake failed: %s", c->peer_ip, cg_tls_srv_error(c->tsess));
	conn_close(c);
	return false;
}

/* ---- driving ---------------------------------------------------------------- */

static void timer_cb(uv_timer_t *t);
static void arm_timer(struct cg_conn *c, uint64_t at);

static void update_timer(struct cg_conn *c)
{
	const struct cg_gw_settings *s = &c->w->gw->set;
	struct cg_req *r = &c->req;
	uint64_t d = 0;
	switch (c->state) {
	case CG_C_HANDSHAKE:
		d = c->accepted_ms + s->header_timeout_ms;
		break;
	case CG_C_HEAD:
		if (c->in.len == 0 && c->head_seen == 0)
			d = c->last_ms + (c->nreq ? s->idle_timeout_ms : s->header_timeout_ms);
		else
			d = r->start_ms + s->header_timeout_ms;
		break;
	case CG_C_PROXY:
		if (c->up && c->up->state != CG_UP_READY)
			d = r->up_start_ms + s->connect_timeout_ms;
		else if (r->body == CG_BODY_STREAM || r->resp_head_done)
			d = c->last_ms + s->body_timeout_ms;
		else
			d = r->up_start_ms + r->backend_timeout_ms;
		break;
	case CG_C_RESPOND:
	case CG_C_BUFFER:
		d = c->last_ms + s->body_timeout_ms;
		break;
	case CG_C_CLOSING:
		d = c->last_ms + (c->lingering ? CG_CONN_LINGER_MS : s->body_timeout_ms);
		break;
	}
	/* Stopping: a connection that has not sent a whole request yet gets
	 * a short bound instead of the full header timeout. */
	if (c->w->draining && (c->state == CG_C_HANDSHAKE || c->state == CG_C_HEAD) &&
	    d > c->w->drain_ms + CG_DRAIN_HEAD_MS)
		d = c->w->drain_ms + CG_DRAIN_HEAD_MS;
	if (d == c->deadline)
		return;
	c->deadline = d;
	/* Lazy: a deadline that moved later keeps the armed timer, which
	 * re-arms itself when it fires early (a keep-alive request moves the
	 * deadline forward several times and would otherwise pay a timer-heap
	 * removal and insertion each time). Only an earlier deadline re-arms. */
	if (c->timer_at != 0 && c->timer_at <= d)
		return;
	arm_timer(c, d);
}

static void arm_timer(struct cg_conn *c, uint64_t at)
{
	uint64_t now = now_ms(c);
	c->timer_at = at;
	uv_timer_start(&c->timer, timer_cb, at > now ? at - now : 0, 0);
}

static void timer_cb(uv_timer_t *t)
{
	struct cg_conn *c = t->data;
	struct cg_req *r = &c->req;
	c->timer_at = 0;
	if (c->deadline > now_ms(c)) {
		arm_timer(c, c->deadline); /* fired for a deadline since moved later */
		return;
	}
	c->deadline = 0;
	switch (c->state) {
	case CG_C_HEAD:
		if (c->in.len || c->head_seen) {
			cg_log_info("%s: request head timeout", c->peer_ip);
			r->h.keep_alive = false;
			respond_json(c, 408, "Request Timeout", true);
			break;
		}
		conn_close(c);
		break;
	case CG_C_PROXY:
		if (c->up && c->up->state != CG_UP_READY) {
			cg_log_info("backend %.*s: connect timeout", CG_STR_FMT(r->backend->pool_key));
			if (c->up)
				c->up->reused = false;
			respond_gateway_error(c, 502, "BackendConnectionFailure",
					      "Unable to connect to the backend: timeout", "Bad Gateway");
		} else if (!r->resp_head_done && r->body != CG_BODY_STREAM) {
			cg_log_info("backend %.*s: response timeout", CG_STR_FMT(r->backend->pool_key));
			respond_gateway_error(c, 504, "Timeout",
					      "Request to the backend service timed out", "Gateway Timeout");
		} else {
			conn_close(c); /* a body stalled */
		}
		break;
	default:
		conn_close(c);
		break;
	}
	conn_run(c);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct cg_conn *c = h->data;
	c->drained = false;
	if (c->tsess)
		cg_tls_srv_woken(c->tsess);
	conn_run(c);
	/* Woken for nothing (the run made no progress) and no operation
	 * waits on the socket: stop that registration now (level-triggered
	 * polls would wake us again and again). A wake that did work keeps it:
	 * the next request usually needs it again, and a registration that
	 * goes and comes costs two epoll_ctl per request. */
	if (c->fd >= 0 && !c->dead && c->want == 0 && c->events && c->ran_idle) {
		c->events = 0;
		uv_poll_stop(&c->poll);
	}
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct cg_conn *c = h->data;
	if (--c->handles_open == 0) {
		cg_buf_free(&c->in);
		cg_buf_free(&c->out);
		cg_buf_free(&c->up_in);
		cg_buf_free(&c->up_out);
		free(c);
	}
}

static void conn_close(struct cg_conn *c)
{
	c->dead = true;
}

static void conn_destroy(struct cg_conn *c)
{
	struct cg_worker *w = c->w;
	if (c->up)
		up_release(c, false);
	if (c->req.snap)
		cg_snapshot_unref(c->req.snap);
	c->req.snap = NULL;
	cg_buf_free(&c->req.bodybuf);
	cg_buf_free(&c->req.respbuf);
	if (c->hs_snap)
		cg_snapshot_unref(c->hs_snap);
	c->hs_snap = NULL;
	cg_arena_destroy(&c->arena);
	cg_arena_destroy(&c->carena);
	uv_poll_stop(&c->poll);
	uv_timer_stop(&c->timer);
	cg_tls_srv_free(c->tsess);
	c->tsess = NULL;
	close(c->fd);
	c->fd = -1;
	cg_link_remove(&c->link);
	w->num_conns--;
	uv_close((uv_handle_t *)&c->poll, conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void conn_run(struct cg_conn *c)
{
	if (c->in_run || c->fd < 0)
		return;
	c->in_run = true;
	bool progress, any = false;
	unsigned steps = 0;
	do {
		c->want = 0;
		if (c->up)
			c->up->want = 0;
		switch (c->state) {
		case CG_C_HANDSHAKE:
			progress = step_handshake(c);
			break;
		case CG_C_HEAD:
			progress = step_head(c);
			break;
		case CG_C_PROXY:
			progress = step_proxy(c);
			break;
		case CG_C_RESPOND:
			progress = step_respond(c);
			break;
		case CG_C_BUFFER:
			progress = step_buffer(c);
			break;
		case CG_C_CLOSING:
		default:
			progress = step_closing(c);
			break;
		}
		if (++steps > CG_CONN_MAX_STEPS) {
			cg_log_error("%s: connection made no blocking progress in %u steps; closing",
				     c->peer_ip, steps);
			c->dead = true;
		}
		any |= progress;
	} while (progress && !c->dead);
	c->in_run = false;
	c->ran_idle = !any;
	if (c->dead) {
		conn_destroy(c);
		return;
	}
	/* Registrations change only when something new is wanted: a socket
	 * nobody waits on stays registered (lazily) until it actually wakes us
	 * for nothing (poll_cb stops it then). Most requests go from readable
	 * to readable with no epoll_ctl at all. */
	if (c->want && c->want != c->events) {
		c->events = c->want;
		uv_poll_start(&c->poll, c->events, poll_cb);
	}
	if (c->up && c->up->want)
		up_set_events(c->up, c->up->want);
	update_timer(c);
}

/* ---- entry points ------------------------------------------------------------ */

static struct cg_tls_host *select_host(void *arg, struct cg_str sni)
{
	struct cg_conn *c = arg;
	const struct cg_snapshot *s = c->hs_snap;
	const struct cg_rt_host *h = sni.len ? cg_snapshot_find_host(s, sni) : NULL;
	c->sni_default = !h;
	if (!h)
		h = s->default_host;
	c->negotiate = h->negotiate;
	c->settings_id = h->settings_id;
	snprintf(c->sni_name, sizeof(c->sni_name), "%.*s", CG_STR_FMT(h->name));
	return h->tls;
}

void cg_conn_accept(struct cg_listener *l, int fd, const struct sockaddr_storage *peer)
{
	struct cg_worker *w = l->w;
	struct cg_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->tls = l->tls;
	/* TCP_NODELAY comes from the listener (serve.c). */
	if (peer->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, c->peer_ip,
			  sizeof(c->peer_ip));
	else if (peer->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, c->peer_ip,
			  sizeof(c->peer_ip));
	else
		strcpy(c->peer_ip, "unknown");
	cg_buf_init(&c->in, w->gw->set.h1.max_head_bytes + 2 * CG_CONN_READ_CHUNK);
	cg_buf_init(&c->out, 4 * CG_CONN_HIGH_WATER);
	cg_buf_init(&c->up_out, 4 * CG_CONN_HIGH_WATER);
	cg_buf_init(&c->up_in, w->gw->set.h1.max_head_bytes + 2 * CG_CONN_READ_CHUNK);
	cg_arena_init(&c->arena, CG_REQ_ARENA_CHUNK, CG_REQ_ARENA_MAX);
	c->accepted_ms = c->last_ms = uv_now(&w->loop);
	if (l->tls) {
		c->hs_snap = cg_snapshot_ref(w->snap);
		c->tsess = cg_tls_srv_new(c->hs_snap->default_host->tls, fd, select_host, c);
		if (!c->tsess) {
			cg_snapshot_unref(c->hs_snap);
			close(fd);
			free(c);
			return;
		}
		c->negotiate = c->hs_snap->default_host->negotiate;
		c->settings_id = c->hs_snap->default_host->settings_id;
		c->sni_default = true;
		c->state = CG_C_HANDSHAKE;
	} else {
		c->state = CG_C_HEAD;
	}
	uv_poll_init_socket(&w->loop, &c->poll, fd);
	uv_timer_init(&w->loop, &c->timer);
	c->poll.data = c;
	c->timer.data = c;
	c->handles_open = 2;
	cg_link_insert(&w->conns, &c->link);
	if (++w->num_conns > w->conns_peak)
		w->conns_peak = w->num_conns;
	w->n_accepted++;
	conn_run(c);
}

void cg_conn_drain(struct cg_conn *c)
{
	/* Idle between requests: close now. Otherwise the current request
	 * finishes and the response says Connection: close. */
	if (c->state == CG_C_HEAD && c->in.len == 0 && c->head_seen == 0) {
		conn_close(c);
		conn_destroy(c);
		return;
	}
	conn_run(c);
}

void cg_conn_force_close(struct cg_conn *c)
{
	conn_close(c);
	if (!c->in_run)
		conn_destroy(c);
}
