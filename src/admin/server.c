/* The admin listener: HTTP/1.1, plain or over TLS (--admin-cert), on the
 * gateway's main-thread loop.
 *
 * A connection (a socket watched by a level-triggered uv_poll_t, read and
 * written through the plain socket or a tls/srv.h session) does the TLS
 * handshake when there is one, decides on the client certificate, then
 * reads one whole request (head through our strict parser, body by
 * Content-Length or the chunked decoder, both within named limits), hands
 * it to cg_admin_handle, writes the answer, and only then reads the next
 * one: no request is read while an answer is being written, so a client
 * that pipelines and never reads cannot make us buffer without bound.
 * Handling is synchronous (store calls are short and the main thread only
 * runs a reload timer besides). */
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin/admin-int.h"
#include "admin/admin.h"
#include "base/log.h"
#include "http/h1.h"
#include "tls/srv.h"
#include "tls/tls.h"

/* Read granularity, and the slack a chunked body's framing may take in the
 * buffer beyond the decoded limit before it is decoded in place. */
#define CG_ADMIN_READ_BYTES (64 * 1024)
#define CG_ADMIN_INBUF_MAX  (CG_ADMIN_MAX_HEAD_BYTES + CG_ADMIN_MAX_BODY_BYTES + CG_ADMIN_READ_BYTES)
/* Steps of one connection per wake-up before the loop's other handles get
 * a turn (a client pipelining small requests would otherwise keep it). */
#define CG_ADMIN_MAX_STEPS 64
/* Connections accepted per listener wake-up. */
#define CG_ADMIN_ACCEPT_BURST 16
/* Out of file descriptors: the listener rests this long (a level-triggered
 * poll would otherwise wake the loop again at once, forever). */
#define CG_ADMIN_ACCEPT_PAUSE_MS 100

enum conn_state {
	ST_HANDSHAKE, /* TLS handshake */
	ST_HEAD,      /* waiting for (the rest of) a request head */
	ST_BODY,      /* head parsed, reading the body */
	ST_WRITING,   /* an answer is being written; not reading */
	ST_LINGER,    /* answered and shut down for writing; discarding input until EOF */
};

/* After a final answer the connection is shut down for writing and what the
 * client still sends is read and dropped for at most this long: closing
 * with unread bytes would make the kernel send a reset that can destroy
 * the answer (a 413) before the client reads it. */
#define CG_ADMIN_LINGER_MS 2000

struct conn {
	struct cg_admin *a;
	int fd;
	uv_poll_t poll;
	uv_timer_t timer;
	int open_handles; /* poll + timer until both close callbacks ran */
	int events;       /* registered with the poll */
	int want;         /* what the last step waits for (UV_READABLE/UV_WRITABLE) */
	bool closing;
	bool close_after;  /* close once the answer is written */
	bool head_timer;   /* the header timeout (not the idle one) runs */
	bool shut;         /* lingering: shut down for writing */
	enum conn_state state;
	struct cg_tls_srv *tls;  /* NULL: plain HTTP */
	enum cg_admin_cert cert; /* decided after the handshake */
	struct cg_buf in;
	struct cg_buf out; /* the answer (and a 100 Continue) being written */
	size_t out_off;    /* bytes of out already written */
	size_t prev_len;  /* bytes the parser already saw of this head */
	size_t head_len;
	size_t body_len;  /* decoded body bytes at in.data + head_len */
	struct cg_h1_chunked chunked;
	struct cg_h1_request req;
	struct cg_h1_header hdrs[CG_ADMIN_MAX_HEADERS];
	char peer[64]; /* "addr:port" of the client, for the audit log */
	struct conn *prev, *next;
};

struct cg_admin {
	uv_loop_t *loop;
	int listen_fd;
	uv_poll_t listener;
	uv_timer_t pause; /* restarts the listener after EMFILE */
	int open_handles; /* listener + pause until their close callbacks ran */
	bool stopping;
	struct cg_admin_ctx ctx;
	struct cg_admin_tls *tls; /* NULL: plain HTTP */
	struct conn *conns;
	unsigned num_conns;
	struct cg_h1_limits lim;
};

static void maybe_free_admin(struct cg_admin *a)
{
	if (!a->stopping || a->open_handles || a->conns)
		return;
	if (a->ctx.store)
		cg_store_close(a->ctx.store);
	cg_admin_tls_free(a->tls);
	OPENSSL_cleanse(&a->ctx, sizeof(a->ctx));
	free(a);
}

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->open_handles > 0)
		return;
	struct cg_admin *a = c->a;
	if (c->prev)
		c->prev->next = c->next;
	else
		a->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	/* The buffers held request bodies and answers (keys, passwords): wipe them. */
	if (c->in.data)
		OPENSSL_cleanse(c->in.data, c->in.cap);
	cg_buf_free(&c->in);
	if (c->out.data)
		OPENSSL_cleanse(c->out.data, c->out.cap);
	cg_buf_free(&c->out);
	free(c);
	maybe_free_admin(a);
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->a->num_conns--; /* the descriptor is closed below: the slot is free */
	uv_poll_stop(&c->poll);
	uv_timer_stop(&c->timer);
	cg_tls_srv_free(c->tls); /* a close_notify when the handshake was done */
	c->tls = NULL;
	uv_close((uv_handle_t *)&c->poll, conn_closed);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
	/* After uv_close: libuv has forgotten the descriptor. */
	close(c->fd);
	c->fd = -1;
}

static void timer_cb(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->state == ST_LINGER || (c->state == ST_HEAD && !c->head_timer))
		cg_log_debug("admin: idle connection closed");
	else
		cg_log_info("admin: %s: connection closed: %s timeout", c->peer,
			    c->state == ST_HANDSHAKE ? "TLS handshake"
			    : c->state == ST_HEAD    ? "header"
			    : c->state == ST_BODY    ? "body"
						     : "write");
	conn_close(c);
}

static void arm_timer(struct conn *c, uint64_t ms)
{
	uv_timer_start(&c->timer, timer_cb, ms, 0);
}

static const char *error_code(int status)
{
	switch (status) {
	case 400:
		return "BadRequest";
	case 413:
		return "RequestEntityTooLarge";
	case 414:
		return "RequestUriTooLong";
	case 417:
		return "ExpectationFailed";
	case 431:
		return "RequestHeaderFieldsTooLarge";
	case 501:
		return "NotImplemented";
	case 503:
		return "ServiceUnavailable";
	case 505:
		return "HttpVersionNotSupported";
	default:
		return "BadRequest";
	}
}

/* Serialises resp as an HTTP/1.1 response into out. */
static int serialise(const struct cg_admin_resp *r, bool close, struct cg_buf *out)
{
	int rc = cg_buf_printf(out, "HTTP/1.1 %d %s\r\n", r->status, cg_h1_reason(r->status));
	if (r->status != 204) {
		if (r->body.len)
			rc |= cg_buf_printf(out, "Content-Type: %s\r\n",
					    r->content_type ? r->content_type : "application/json; charset=utf-8");
		rc |= cg_buf_printf(out, "Content-Length: %zu\r\n", r->body.len);
	}
	if (r->etag[0])
		rc |= cg_buf_printf(out, "ETag: %s\r\n", r->etag);
	if (r->allow)
		rc |= cg_buf_printf(out, "Allow: %s\r\n", r->allow);
	if (r->www_authenticate)
		rc |= cg_buf_printf(out, "WWW-Authenticate: Bearer realm=\"certgate-admin\"\r\n");
	rc |= cg_buf_printf(out, "Cache-Control: no-store\r\n%s\r\n",
			    close ? "Connection: close\r\n" : "");
	if (r->status != 204 && r->body.len)
		rc |= cg_buf_append(out, r->body.data, r->body.len);
	return rc ? -1 : 0;
}

static void process(struct conn *c);

static void linger(struct conn *c)
{
	c->state = ST_LINGER;
	c->in.len = 0;
	arm_timer(c, CG_ADMIN_LINGER_MS);
}

/* Queues resp (after whatever c->out still holds: a 100 Continue) and
 * stops reading until it is written; the run loop writes it. */
static void send_resp(struct conn *c, const struct cg_admin_resp *r, bool close)
{
	if (serialise(r, close, &c->out) != 0) {
		conn_close(c);
		return;
	}
	c->close_after = close;
	c->state = ST_WRITING;
	arm_timer(c, CG_ADMIN_BODY_TIMEOUT_MS);
}

/* Answers an error found before the request reached a handler and closes:
 * the rest of what the client sent cannot be framed or is not wanted. */
static void fail_conn(struct conn *c, int status, const char *code, const char *msg)
{
	struct cg_admin_resp r;
	cg_admin_resp_init(&r);
	cg_admin_error(&r, status, code, "%s", msg);
	send_resp(c, &r, true);
	cg_admin_resp_free(&r);
}

static struct cg_str header(const struct conn *c, const char *name, bool *present)
{
	const struct cg_h1_header *h =
		cg_h1_find_header(c->req.headers, c->req.num_headers, cg_str_from_c(name));
	if (present)
		*present = h != NULL;
	return h ? h->value : CG_STR_NULL;
}

/* The whole request is in: handle it, answer, drop its bytes. */
static void dispatch(struct conn *c, size_t body_end)
{
	/* Reading the body may have moved the buffer (it grows on demand), so
	 * the head's slices are refreshed by parsing it again: bounded by
	 * CG_ADMIN_MAX_HEAD_BYTES and cheaper than copying every slice. */
	if (cg_h1_parse_request(c->in.data, c->head_len, 0, &c->req, c->hdrs, CG_ADMIN_MAX_HEADERS,
				&c->a->lim) != (int)c->head_len) {
		fail_conn(c, 500, "InternalServerError", "request head changed while read");
		return;
	}
	struct cg_admin_req rq = { 0 };
	rq.method_text = c->req.method;
	rq.method = cg_admin_method_of(c->req.method);
	rq.path = c->req.path;
	rq.query = c->req.query;
	rq.authorization = header(c, "Authorization", NULL);
	rq.cert = c->cert;
	rq.if_match = header(c, "If-Match", &rq.has_if_match);
	rq.body = cg_str_make(c->in.data + c->head_len, c->body_len);
	struct cg_admin_resp r;
	cg_admin_resp_init(&r);
	cg_admin_handle(&c->a->ctx, &rq, &r);
	/* Client, method and path only: a query or body may carry secrets. */
	cg_log_info("admin: %s %.*s %.*s -> %d", c->peer,
		    CG_STR_FMT(cg_str_sub(rq.method_text, 0, 32)),
		    CG_STR_FMT(cg_str_sub(rq.path, 0, 256)), r.status);
	/* A wrong token or certificate ends the connection: every guess
	 * costs a new one (and a new handshake). */
	bool close = !c->req.keep_alive || c->a->stopping || r.status == 401 || r.status == 403;
	OPENSSL_cleanse(c->in.data, body_end);
	cg_buf_consume(&c->in, body_end);
	c->head_len = c->body_len = 0;
	send_resp(c, &r, close);
	cg_admin_resp_free(&r);
}

/* Checks made as soon as the head is in, before any body is read:
 * authentication (an unauthenticated client never gets to send a
 * megabyte) and the announced body size. Returns true when it answered. */
static bool early_reject(struct conn *c)
{
	struct cg_admin_req rq = { 0 };
	rq.authorization = header(c, "Authorization", NULL);
	rq.cert = c->cert;
	struct cg_admin_resp r;
	cg_admin_resp_init(&r);
	if (c->req.body_kind != CG_H1_BODY_NONE && !cg_admin_authenticate(&c->a->ctx, &rq, &r)) {
		cg_log_info("admin: %s %.*s %.*s -> %d", c->peer,
			    CG_STR_FMT(cg_str_sub(c->req.method, 0, 32)),
			    CG_STR_FMT(cg_str_sub(c->req.path, 0, 256)), r.status);
		send_resp(c, &r, true);
		cg_admin_resp_free(&r);
		return true;
	}
	cg_admin_resp_free(&r);
	if (c->req.body_kind == CG_H1_BODY_LENGTH && c->req.content_length > CG_ADMIN_MAX_BODY_BYTES) {
		char msg[128];
		snprintf(msg, sizeof(msg), "The request body is larger than %d bytes",
			 CG_ADMIN_MAX_BODY_BYTES);
		fail_conn(c, 413, "RequestEntityTooLarge", msg);
		return true;
	}
	return false;
}

static void process(struct conn *c)
{
	while (!c->closing && c->state != ST_WRITING) {
		if (c->state == ST_HEAD) {
			if (c->in.len == 0)
				return;
			if (!c->head_timer) {
				c->head_timer = true;
				arm_timer(c, CG_ADMIN_HEADER_TIMEOUT_MS);
			}
			int rc = cg_h1_parse_request(c->in.data, c->in.len, c->prev_len, &c->req,
						     c->hdrs, CG_ADMIN_MAX_HEADERS, &c->a->lim);
			c->prev_len = c->in.len;
			if (rc == CG_H1_INCOMPLETE)
				return;
			if (rc == CG_H1_ERROR) {
				cg_log_info("admin: bad request: %s", c->req.error_reason);
				fail_conn(c, c->req.error_status, error_code(c->req.error_status),
					  c->req.error_reason);
				return;
			}
			c->head_len = (size_t)rc;
			c->body_len = 0;
			c->prev_len = 0;
			cg_h1_chunked_init(&c->chunked);
			if (early_reject(c))
				return;
			c->state = ST_BODY;
			arm_timer(c, CG_ADMIN_BODY_TIMEOUT_MS);
			if (c->req.expect_continue && c->req.body_kind != CG_H1_BODY_NONE &&
			    c->in.len == c->head_len &&
			    cg_buf_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0) {
				conn_close(c); /* the run loop writes it before reading on */
				return;
			}
		}
		/* ST_BODY */
		size_t have = c->in.len - c->head_len;
		switch (c->req.body_kind) {
		case CG_H1_BODY_NONE:
		case CG_H1_BODY_CLOSE:
			c->body_len = 0;
			dispatch(c, c->head_len);
			continue;
		case CG_H1_BODY_LENGTH:
			if (have < c->req.content_length)
				return;
			c->body_len = (size_t)c->req.content_length;
			dispatch(c, c->head_len + c->body_len);
			continue;
		case CG_H1_BODY_CHUNKED: {
			size_t raw_off = c->head_len + c->body_len;
			size_t raw = c->in.len - raw_off;
			if (raw == 0)
				return;
			long r = cg_h1_chunked_decode(&c->chunked, c->in.data + raw_off, &raw);
			if (r == CG_H1_ERROR) {
				fail_conn(c, 400, "BadRequest", c->chunked.error_reason);
				return;
			}
			c->body_len += raw;
			if (c->body_len > CG_ADMIN_MAX_BODY_BYTES) {
				char msg[128];
				snprintf(msg, sizeof(msg), "The request body is larger than %d bytes",
					 CG_ADMIN_MAX_BODY_BYTES);
				fail_conn(c, 413, "RequestEntityTooLarge", msg);
				return;
			}
			if (r == CG_H1_INCOMPLETE) {
				c->in.len = c->head_len + c->body_len;
				return;
			}
			/* r bytes after the body already sit right behind it. */
			c->in.len = c->head_len + c->body_len + (size_t)r;
			dispatch(c, c->head_len + c->body_len);
			continue;
		}
		}
	}
}

/* ---- I/O: the plain socket or the TLS session -------------------------------- */

/* At most n bytes into buf: > 0, CG_TLS_EOF, CG_TLS_WANT_* (recorded in
 * c->want) or CG_TLS_ERROR, as tls/srv.h. */
static long conn_read(struct conn *c, void *buf, size_t n)
{
	long r;
	if (c->tls) {
		r = cg_tls_srv_read(c->tls, buf, n);
	} else {
		ssize_t k;
		do
			k = read(c->fd, buf, n);
		while (k < 0 && errno == EINTR);
		r = k > 0 ? k : k == 0 ? CG_TLS_EOF : errno == EAGAIN ? CG_TLS_WANT_READ : CG_TLS_ERROR;
	}
	if (r == CG_TLS_WANT_READ)
		c->want |= UV_READABLE;
	else if (r == CG_TLS_WANT_WRITE)
		c->want |= UV_WRITABLE;
	return r;
}

static long conn_write(struct conn *c, const void *buf, size_t n)
{
	long r;
	if (c->tls) {
		r = cg_tls_srv_write(c->tls, buf, n);
	} else {
		ssize_t k;
		do
			k = send(c->fd, buf, n, MSG_NOSIGNAL);
		while (k < 0 && errno == EINTR);
		r = k >= 0 ? k : errno == EAGAIN ? CG_TLS_WANT_WRITE : CG_TLS_ERROR;
	}
	if (r == CG_TLS_WANT_READ)
		c->want |= UV_READABLE;
	else if (r == CG_TLS_WANT_WRITE)
		c->want |= UV_WRITABLE;
	return r;
}

/* Writes what c->out holds (a TLS write that must wait is retried with the
 * same bytes first, as srv.h asks). 1 when all is written (the buffer is
 * released: an answer may be 64 MB), 0 when the socket is full, -1 on an
 * error. */
static int flush_out(struct conn *c)
{
	while (c->out_off < c->out.len) {
		long r = conn_write(c, c->out.data + c->out_off, c->out.len - c->out_off);
		if (r > 0)
			c->out_off += (size_t)r;
		else
			return r == CG_TLS_WANT_READ || r == CG_TLS_WANT_WRITE ? 0 : -1;
	}
	OPENSSL_cleanse(c->out.data, c->out.len);
	cg_buf_free(&c->out);
	cg_buf_init(&c->out, CG_ADMIN_MAX_RESPONSE_BYTES + 4096);
	c->out_off = 0;
	return 1;
}

/* The answer is written: close, or wait for the next request. */
static void answered(struct conn *c)
{
	if (c->close_after) {
		linger(c);
		return;
	}
	c->state = ST_HEAD;
	c->prev_len = 0;
	c->head_timer = false;
	arm_timer(c, CG_ADMIN_IDLE_TIMEOUT_MS);
	process(c); /* a pipelined request may already be buffered */
}

static bool step_handshake(struct conn *c)
{
	int rc = cg_tls_srv_handshake(c->tls);
	if (rc == 1) {
		c->cert = cg_admin_tls_peer(c->a->tls, c->tls, c->peer);
		c->state = ST_HEAD; /* the header timeout still runs */
		return true;
	}
	if (rc == CG_TLS_WANT_READ)
		c->want |= UV_READABLE;
	else if (rc == CG_TLS_WANT_WRITE)
		c->want |= UV_WRITABLE;
	else {
		cg_log_info("admin: %s: TLS handshake failed: %s", c->peer, cg_tls_srv_error(c->tls));
		conn_close(c);
	}
	return false;
}

/* Shut down for writing (after a close_notify), then read and drop what
 * the client still sends until it closes or the linger timer ends it. */
static bool step_linger(struct conn *c)
{
	if (!c->shut) {
		if (c->tls)
			cg_tls_srv_shutdown(c->tls);
		shutdown(c->fd, SHUT_WR);
		c->shut = true;
	}
	char sink[4096];
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		conn_close(c); /* EOF or an error */
		return false;
	}
	c->want |= UV_READABLE; /* more to drop: the level-triggered poll says when */
	return false;
}

static bool step_read(struct conn *c)
{
	size_t want = CG_ADMIN_READ_BYTES;
	if (c->in.max - c->in.len < want)
		want = c->in.max - c->in.len;
	if (want == 0 || cg_buf_reserve(&c->in, want) != 0) {
		/* Only a request still being read can fill the buffer (none is
		 * read while answering), and the limits make it over-size. */
		fail_conn(c, 413, "RequestEntityTooLarge", "The request is too large");
		return true;
	}
	long n = conn_read(c, c->in.data + c->in.len, want);
	if (n > 0) {
		c->in.len += (size_t)n;
		process(c);
		return true;
	}
	if (n != CG_TLS_WANT_READ && n != CG_TLS_WANT_WRITE)
		conn_close(c); /* EOF or an error */
	return false;
}

/* One step; true when it made progress (run again). */
static bool step(struct conn *c)
{
	if (c->state == ST_HANDSHAKE)
		return step_handshake(c);
	if (c->state == ST_LINGER)
		return step_linger(c);
	if (c->out.len) {
		int r = flush_out(c);
		if (r < 0)
			conn_close(c);
		if (r <= 0)
			return false;
	}
	if (c->state == ST_WRITING) {
		answered(c);
		return true;
	}
	return step_read(c);
}

static void poll_cb(uv_poll_t *h, int status, int events);

static void conn_run(struct conn *c)
{
	bool progress = true;
	for (int i = 0; progress && !c->closing && i < CG_ADMIN_MAX_STEPS; i++) {
		c->want = 0;
		progress = step(c);
	}
	if (c->closing)
		return;
	/* Still busy: come back on the next loop turn (a socket is writable
	 * at once), after the loop's other handles. */
	if (progress)
		c->want |= UV_WRITABLE;
	if (c->want != c->events) {
		c->events = c->want;
		if (c->events)
			uv_poll_start(&c->poll, c->events, poll_cb);
		else
			uv_poll_stop(&c->poll);
	}
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	(void)events;
	struct conn *c = h->data;
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (c->tls)
		cg_tls_srv_woken(c->tls);
	conn_run(c);
}

/* ---- accepting ------------------------------------------------------------- */

/* Past the connection limit: a short 503 and close, written without
 * waiting (it fits any fresh socket buffer). Over TLS a plain answer would
 * be noise: the connection is just closed. */
static void reject_busy(struct cg_admin *a, int fd)
{
	if (!a->tls) {
		static const char body[] =
			"{\"error\":{\"code\":\"ServiceUnavailable\",\"message\":\"Too many "
			"admin connections; try again later.\"}}\n";
		char busy[512];
		int n = snprintf(busy, sizeof(busy),
				 "HTTP/1.1 503 Service Unavailable\r\n"
				 "Content-Type: application/json; charset=utf-8\r\n"
				 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
				 sizeof(body) - 1, body);
		(void)!send(fd, busy, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		/* Drop what already arrived (a close with unread bytes resets
		 * the connection and can destroy the 503). */
		char sink[4096];
		shutdown(fd, SHUT_WR);
		for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
			;
	}
	close(fd);
	cg_log_info("admin: connection refused: %d connections open", CG_ADMIN_MAX_CONNS);
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
		snprintf(out, outlen, "[%s]:%u", host,
			 ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
		snprintf(out, outlen, "%s:%u", host, ntohs(((const struct sockaddr_in *)ss)->sin_port));
	} else {
		snprintf(out, outlen, "?");
	}
}

static void conn_new(struct cg_admin *a, int fd, const struct sockaddr_storage *ss)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct cg_tls_srv *tls = NULL;
	if (!c || (a->tls && !(tls = cg_admin_tls_session(a->tls, fd)))) {
		free(c);
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->a = a;
	c->fd = fd;
	c->tls = tls;
	cg_buf_init(&c->in, CG_ADMIN_INBUF_MAX);
	cg_buf_init(&c->out, CG_ADMIN_MAX_RESPONSE_BYTES + 4096);
	uv_poll_init_socket(a->loop, &c->poll, fd);
	uv_timer_init(a->loop, &c->timer);
	c->poll.data = c->timer.data = c;
	c->open_handles = 2;
	c->next = a->conns;
	if (a->conns)
		a->conns->prev = c;
	a->conns = c;
	a->num_conns++;
	peer_name(ss, c->peer, sizeof(c->peer));
	c->state = tls ? ST_HANDSHAKE : ST_HEAD;
	c->head_timer = true; /* a new connection is expected to send at once */
	arm_timer(c, tls ? CG_ADMIN_HANDSHAKE_TIMEOUT_MS : CG_ADMIN_HEADER_TIMEOUT_MS);
	conn_run(c);
}

static void accept_cb(uv_poll_t *h, int status, int events);

static void unpause(uv_timer_t *t)
{
	struct cg_admin *a = t->data;
	if (!a->stopping)
		uv_poll_start(&a->listener, UV_READABLE, accept_cb);
}

/* At the connection limit: closes the connections waiting for a request
 * whose client already went away (EOF not yet seen by the loop, e.g. a
 * burst of closes still queued behind this accept), so they do not turn a
 * new client away. */
static void reap_gone(struct cg_admin *a)
{
	for (struct conn *c = a->conns, *next; c; c = next) {
		next = c->next;
		char b;
		if (c->closing || c->state != ST_HEAD || c->in.len)
			continue;
		ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			conn_close(c);
	}
}

static void accept_cb(uv_poll_t *h, int status, int events)
{
	(void)events;
	struct cg_admin *a = h->data;
	if (status < 0 || a->stopping)
		return;
	for (int i = 0; i < CG_ADMIN_ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(a->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			cg_log_warn("admin: cannot accept: %s", strerror(errno));
			uv_poll_stop(&a->listener);
			uv_timer_start(&a->pause, unpause, CG_ADMIN_ACCEPT_PAUSE_MS, 0);
			return;
		}
		if (fd < 0)
			return; /* EAGAIN, or a connection that went away meanwhile */
		if (a->num_conns >= CG_ADMIN_MAX_CONNS)
			reap_gone(a);
		if (a->num_conns >= CG_ADMIN_MAX_CONNS)
			reject_busy(a, fd);
		else
			conn_new(a, fd, &ss);
	}
}

/* ---- start / stop ---------------------------------------------------------- */

int cg_admin_parse_listen(const char *spec, struct sockaddr_storage *ss, bool *loopback,
			  char *err, size_t errlen)
{
	char host[64] = "127.0.0.1";
	const char *port_s = spec;
	const char *colon = strrchr(spec, ':');
	if (colon) {
		size_t hl = (size_t)(colon - spec);
		const char *h = spec;
		if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
			h++;
			hl -= 2;
		}
		if (hl == 0 || hl >= sizeof(host)) {
			snprintf(err, errlen, "'%s': expected ADDR:PORT", spec);
			return -1;
		}
		memcpy(host, h, hl);
		host[hl] = '\0';
		port_s = colon + 1;
	}
	uint64_t port;
	if (!cg_str_to_u64(cg_str_from_c(port_s), 65535, &port) || port == 0) {
		snprintf(err, errlen, "'%s': invalid port", spec);
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0) {
		*loopback = strncmp(host, "127.", 4) == 0;
		return 0;
	}
	if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0) {
		*loopback = strcmp(host, "::1") == 0;
		return 0;
	}
	snprintf(err, errlen, "'%s': '%s' is not a numeric IPv4 or IPv6 address", spec,
		 host);
	return -1;
}

/* A bound, listening, non-blocking socket: plain calls, so that a failure
 * leaves no libuv handle that would need a loop turn to be released. */
static int bind_listener(const char *spec, const struct sockaddr_storage *ss, char *err,
			 size_t errlen)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (const struct sockaddr *)ss,
		 ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) !=
		    0 ||
	    listen(fd, 128) != 0) {
		snprintf(err, errlen, "'%s': %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Frees an admin that never listened. */
static void discard(struct cg_admin *a)
{
	if (a->ctx.store)
		cg_store_close(a->ctx.store);
	cg_admin_tls_free(a->tls);
	OPENSSL_cleanse(&a->ctx, sizeof(a->ctx));
	free(a);
}

/* Everything that can be refused, before the socket is bound. */
static int setup(struct cg_admin *a, const struct cg_admin_opts *o, const char *store_path,
		 char *err, size_t errlen)
{
	cg_h1_limits_default(&a->lim);
	a->lim.max_head_bytes = CG_ADMIN_MAX_HEAD_BYTES;
	if (a->lim.max_line_bytes > CG_ADMIN_MAX_HEAD_BYTES)
		a->lim.max_line_bytes = CG_ADMIN_MAX_HEAD_BYTES;
	if (a->lim.max_uri_bytes > CG_ADMIN_MAX_HEAD_BYTES)
		a->lim.max_uri_bytes = CG_ADMIN_MAX_HEAD_BYTES;
	a->lim.max_headers = CG_ADMIN_MAX_HEADERS;
	if (o->token_file && cg_admin_ctx_token(&a->ctx, o->token_file, err, errlen) != 0)
		return -1;
	if (o->cert_file && !(a->tls = cg_admin_tls_load(o, err, errlen)))
		return -1;
	a->ctx.need_cert = o->client_ca_file != NULL;
	char serr[CG_STORE_ERR_LEN];
	a->ctx.store = cg_store_open(store_path, 0, serr, sizeof(serr));
	if (!a->ctx.store) {
		char shown[PATH_MAX];
		cg_store_display(store_path, shown, sizeof(shown));
		snprintf(err, errlen, "admin: store '%s': %s", shown, serr);
		return -1;
	}
	return 0;
}

struct cg_admin *cg_admin_start(uv_loop_t *loop, const struct cg_admin_opts *o,
				const char *store_path, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	bool loopback = false;
	if (!o->listen) {
		snprintf(err, errlen, "no --admin address");
		return NULL;
	}
	if (cg_admin_opts_check(o, &loopback, err, errlen) != 0 ||
	    cg_admin_parse_listen(o->listen, &ss, &loopback, err, errlen) != 0)
		return NULL;
	struct cg_admin *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->loop = loop;
	if (setup(a, o, store_path, err, errlen) != 0 ||
	    (a->listen_fd = bind_listener(o->listen, &ss, err, errlen)) < 0) {
		discard(a);
		return NULL;
	}
	int rc = uv_poll_init_socket(loop, &a->listener, a->listen_fd);
	if (rc != 0) {
		snprintf(err, errlen, "'%s': %s", o->listen, uv_strerror(rc));
		close(a->listen_fd);
		discard(a);
		return NULL;
	}
	a->listener.data = a;
	uv_timer_init(loop, &a->pause);
	a->pause.data = a;
	a->open_handles = 2;
	uv_poll_start(&a->listener, UV_READABLE, accept_cb);
	if (!loopback && !a->tls)
		cg_log_warn("admin API on %s is not loopback: it is plain HTTP, the token and "
			    "certificates cross the network unencrypted (use --admin-cert and "
			    "--admin-key)",
			    o->listen);
	cg_log_info("admin API listening on %s://%s%s%s", a->tls ? "https" : "http", o->listen,
		    a->ctx.need_cert ? ", client certificates required" : "",
		    a->ctx.has_token ? ", bearer token required" : "");
	return a;
}

static void listener_closed(uv_handle_t *h)
{
	struct cg_admin *a = h->data;
	a->open_handles--;
	maybe_free_admin(a);
}

void cg_admin_stop(struct cg_admin *a)
{
	if (!a || a->stopping)
		return;
	a->stopping = true;
	uv_poll_stop(&a->listener);
	uv_close((uv_handle_t *)&a->listener, listener_closed);
	uv_close((uv_handle_t *)&a->pause, listener_closed);
	close(a->listen_fd);
	a->listen_fd = -1;
	for (struct conn *c = a->conns; c; c = c->next)
		conn_close(c);
}

void cg_admin_usage(void)
{
	printf("  --admin ADDR:PORT           REST management API and /metrics (PORT alone means\n"
	       "                              127.0.0.1:PORT). Needs --admin-token-file and/or\n"
	       "                              --admin-client-ca; plain HTTP unless --admin-cert\n"
	       "  --admin-token-file FILE     bearer token for the management API (16-4096\n"
	       "                              printable bytes; e.g. openssl rand -hex 32 > FILE)\n"
	       "  --admin-cert FILE           serve the admin API over TLS 1.2/1.3 with this\n"
	       "                              certificate chain (PEM, leaf first)\n"
	       "  --admin-key FILE            its private key (PEM; may be encrypted)\n"
	       "  --admin-key-password-file FILE  the password of an encrypted --admin-key\n"
	       "  --admin-client-ca FILE      require a client certificate chaining to one of\n"
	       "                              these CAs (PEM bundle with its root); with a token\n"
	       "                              file too, a request needs both\n"
	       "  --admin-client-thumbprint HEX  also require one of these certificates (SHA-1\n"
	       "                              thumbprint; repeatable, at most %d)\n",
	       CG_ADMIN_MAX_PINS);
}

void cg_admin_set_metrics(struct cg_admin *a, int (*render)(void *user, struct cg_buf *out), void *user)
{
	if (!a)
		return;
	a->ctx.metrics = render;
	a->ctx.metrics_user = user;
}
