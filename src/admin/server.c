/* The admin listener: plain HTTP/1.1 on the gateway's main-thread loop.
 *
 * A connection reads one whole request (head through our strict parser,
 * body by Content-Length or the chunked decoder, both within named limits),
 * hands it to cg_admin_handle, writes the answer, and only then reads the
 * next one: no request is read while an answer is being written, so a
 * client that pipelines and never reads cannot make us buffer without
 * bound. Handling is synchronous (store calls are short and the main
 * thread only runs a reload timer besides). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin/admin-int.h"
#include "admin/admin.h"
#include "base/log.h"
#include "http/h1.h"

/* Read granularity, and the slack a chunked body's framing may take in the
 * buffer beyond the decoded limit before it is decoded in place. */
#define CG_ADMIN_READ_BYTES (64 * 1024)
#define CG_ADMIN_INBUF_MAX  (CG_ADMIN_MAX_HEAD_BYTES + CG_ADMIN_MAX_BODY_BYTES + CG_ADMIN_READ_BYTES)

enum conn_state {
	ST_HEAD,    /* waiting for (the rest of) a request head */
	ST_BODY,    /* head parsed, reading the body */
	ST_WRITING, /* an answer is being written; not reading */
	ST_LINGER,  /* answered and shut down for writing; discarding input until EOF */
};

/* After a final answer the connection is shut down for writing and what the
 * client still sends is read and dropped for at most this long: closing
 * with unread bytes would make the kernel send a reset that can destroy
 * the answer (a 413) before the client reads it. */
#define CG_ADMIN_LINGER_MS 2000

struct conn {
	struct cg_admin *a;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_shutdown_t shut;
	int open_handles; /* tcp + timer until both close callbacks ran */
	bool closing;
	bool close_after;  /* close once the answer is written */
	bool head_timer;   /* the header timeout (not the idle one) runs */
	enum conn_state state;
	struct cg_buf in;
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
	uv_tcp_t listener;
	bool listener_open;
	bool stopping;
	struct cg_admin_ctx ctx;
	struct conn *conns;
	unsigned num_conns;
	struct cg_h1_limits lim;
};

struct write_req {
	uv_write_t w;
	struct conn *c;
	struct cg_buf out;
};

static void maybe_free_admin(struct cg_admin *a)
{
	if (!a->stopping || a->listener_open || a->conns)
		return;
	if (a->ctx.store)
		cg_store_close(a->ctx.store);
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
	a->num_conns--;
	/* The buffer held request bodies (keys, passwords): wipe it. */
	if (c->in.data)
		OPENSSL_cleanse(c->in.data, c->in.cap);
	cg_buf_free(&c->in);
	free(c);
	maybe_free_admin(a);
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void timer_cb(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->state == ST_LINGER || (c->state == ST_HEAD && !c->head_timer))
		cg_log_debug("admin: idle connection closed");
	else
		cg_log_info("admin: connection closed: %s timeout",
			    c->state == ST_HEAD ? "header" : c->state == ST_BODY ? "body" : "write");
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
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;
	if (status < 0 && !c->closing)
		conn_close(c);
}

static void linger(struct conn *c)
{
	c->state = ST_LINGER;
	c->in.len = 0;
	c->shut.data = c;
	if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) {
		conn_close(c);
		return;
	}
	arm_timer(c, CG_ADMIN_LINGER_MS);
	uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void write_cb(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	struct conn *c = wr->c;
	cg_buf_free(&wr->out);
	free(wr);
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (c->close_after) {
		linger(c);
		return;
	}
	c->state = ST_HEAD;
	c->prev_len = 0;
	c->head_timer = false;
	arm_timer(c, CG_ADMIN_IDLE_TIMEOUT_MS);
	process(c); /* a pipelined request may already be buffered */
	if (!c->closing && c->state != ST_WRITING)
		uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void send_resp(struct conn *c, const struct cg_admin_resp *r, bool close)
{
	struct write_req *wr = calloc(1, sizeof(*wr));
	if (!wr) {
		conn_close(c);
		return;
	}
	cg_buf_init(&wr->out, CG_ADMIN_MAX_RESPONSE_BYTES + 4096);
	if (serialise(r, close, &wr->out) != 0) {
		cg_buf_free(&wr->out);
		free(wr);
		conn_close(c);
		return;
	}
	wr->c = c;
	c->close_after = close;
	c->state = ST_WRITING;
	uv_read_stop((uv_stream_t *)&c->tcp);
	arm_timer(c, CG_ADMIN_BODY_TIMEOUT_MS);
	uv_buf_t b = uv_buf_init(wr->out.data, (unsigned)wr->out.len);
	if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
		cg_buf_free(&wr->out);
		free(wr);
		conn_close(c);
	}
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
	rq.if_match = header(c, "If-Match", &rq.has_if_match);
	rq.body = cg_str_make(c->in.data + c->head_len, c->body_len);
	struct cg_admin_resp r;
	cg_admin_resp_init(&r);
	cg_admin_handle(&c->a->ctx, &rq, &r);
	/* Client, method and path only: a query or body may carry secrets. */
	cg_log_info("admin: %s %.*s %.*s -> %d", c->peer,
		    CG_STR_FMT(cg_str_sub(rq.method_text, 0, 32)),
		    CG_STR_FMT(cg_str_sub(rq.path, 0, 256)), r.status);
	/* A wrong token ends the connection: every guess costs a new one. */
	bool close = !c->req.keep_alive || c->a->stopping || r.status == 401;
	OPENSSL_cleanse(c->in.data, body_end);
	cg_buf_consume(&c->in, body_end);
	c->head_len = c->body_len = 0;
	send_resp(c, &r, close);
	cg_admin_resp_free(&r);
}

/* Checks made as soon as the head is in, before any body is read: the
 * token (an unauthenticated client never gets to send a megabyte) and the
 * announced body size. Returns true when it answered. */
static bool early_reject(struct conn *c)
{
	if (!cg_admin_authorized(&c->a->ctx, header(c, "Authorization", NULL)) &&
	    c->req.body_kind != CG_H1_BODY_NONE) {
		struct cg_admin_req rq = { 0 };
		rq.authorization = header(c, "Authorization", NULL);
		struct cg_admin_resp r;
		cg_admin_resp_init(&r);
		cg_admin_handle(&c->a->ctx, &rq, &r); /* the 401 */
		cg_log_info("admin: %s %.*s %.*s -> %d", c->peer,
			    CG_STR_FMT(cg_str_sub(c->req.method, 0, 32)),
			    CG_STR_FMT(cg_str_sub(c->req.path, 0, 256)), r.status);
		send_resp(c, &r, true);
		cg_admin_resp_free(&r);
		return true;
	}
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
			    c->in.len == c->head_len) {
				static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
				uv_buf_t b = uv_buf_init(cont, sizeof(cont) - 1);
				/* Tiny and first on a quiet socket: a short write here
				 * would mean the peer is gone, which the read sees. */
				uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
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

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	size_t want = CG_ADMIN_READ_BYTES;
	if (c->in.max - c->in.len < want)
		want = c->in.max - c->in.len;
	if (want == 0 || cg_buf_reserve(&c->in, want) != 0) {
		*buf = uv_buf_init(NULL, 0); /* -> UV_ENOBUFS in read_cb */
		return;
	}
	*buf = uv_buf_init(c->in.data + c->in.len, (unsigned)want);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	if (c->closing)
		return;
	if (c->state == ST_LINGER) {
		c->in.len = 0; /* dropped; EOF, an error or the timer ends it */
		if (n < 0)
			conn_close(c);
		return;
	}
	if (n == UV_ENOBUFS) {
		/* Only a request still being read can fill the buffer (none is
		 * read while answering), and the limits make it over-size. */
		fail_conn(c, 413, "RequestEntityTooLarge", "The request is too large");
		return;
	}
	if (n < 0) {
		conn_close(c);
		return;
	}
	if (n == 0)
		return;
	c->in.len += (size_t)n;
	process(c);
}

/* Past the connection limit: a short 503 and close, written without
 * waiting (it fits any fresh socket buffer). */
static void reject_closed(uv_handle_t *h)
{
	free(h);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct cg_admin *a = server->data;
	if (status < 0 || a->stopping)
		return;
	if (a->num_conns >= CG_ADMIN_MAX_CONNS) {
		uv_tcp_t *t = malloc(sizeof(*t));
		if (!t)
			return;
		uv_tcp_init(a->loop, t);
		if (uv_accept(server, (uv_stream_t *)t) == 0) {
			static const char body[] =
				"{\"error\":{\"code\":\"ServiceUnavailable\",\"message\":\"Too many "
				"admin connections; try again later.\"}}\n";
			char busy[512];
			int n = snprintf(busy, sizeof(busy),
					 "HTTP/1.1 503 Service Unavailable\r\n"
					 "Content-Type: application/json; charset=utf-8\r\n"
					 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
					 sizeof(body) - 1, body);
			uv_buf_t b = uv_buf_init(busy, (unsigned)n);
			uv_try_write((uv_stream_t *)t, &b, 1);
			/* Drop what already arrived (a close with unread bytes
			 * resets the connection and can destroy the 503). */
			uv_os_fd_t fd;
			char sink[4096];
			if (uv_fileno((uv_handle_t *)t, &fd) == 0) {
				shutdown(fd, SHUT_WR);
				for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0;
				     i++)
					;
			}
			cg_log_info("admin: connection refused: %d connections open",
				    CG_ADMIN_MAX_CONNS);
		}
		uv_close((uv_handle_t *)t, reject_closed);
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->a = a;
	cg_buf_init(&c->in, CG_ADMIN_INBUF_MAX);
	uv_tcp_init(a->loop, &c->tcp);
	uv_timer_init(a->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->open_handles = 2;
	c->next = a->conns;
	if (a->conns)
		a->conns->prev = c;
	a->conns = c;
	a->num_conns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
			snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host,
				 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
		} else {
			uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
			snprintf(c->peer, sizeof(c->peer), "%s:%u", host,
				 ntohs(((struct sockaddr_in *)&ss)->sin_port));
		}
	} else {
		snprintf(c->peer, sizeof(c->peer), "?");
	}
	c->state = ST_HEAD;
	c->head_timer = true; /* a new connection is expected to send at once */
	arm_timer(c, CG_ADMIN_HEADER_TIMEOUT_MS);
	uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

/* ---- start / stop ---------------------------------------------------------- */

/* "PORT", "ADDR:PORT" or "[v6]:PORT" -> address. Numeric only. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, bool *loopback, char *err,
			size_t errlen)
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

static void listener_closed(uv_handle_t *h);

struct cg_admin *cg_admin_start(uv_loop_t *loop, const char *listen_spec, const char *token_file,
				const char *store_path, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	bool loopback = false;
	if (!listen_spec || !token_file) {
		snprintf(err, errlen, "--admin needs --admin-token-file");
		return NULL;
	}
	if (parse_listen(listen_spec, &ss, &loopback, err, errlen) != 0)
		return NULL;
	struct cg_admin *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->loop = loop;
	cg_h1_limits_default(&a->lim);
	a->lim.max_head_bytes = CG_ADMIN_MAX_HEAD_BYTES;
	if (a->lim.max_line_bytes > CG_ADMIN_MAX_HEAD_BYTES)
		a->lim.max_line_bytes = CG_ADMIN_MAX_HEAD_BYTES;
	if (a->lim.max_uri_bytes > CG_ADMIN_MAX_HEAD_BYTES)
		a->lim.max_uri_bytes = CG_ADMIN_MAX_HEAD_BYTES;
	a->lim.max_headers = CG_ADMIN_MAX_HEADERS;
	if (cg_admin_ctx_token(&a->ctx, token_file, err, errlen) != 0) {
		free(a);
		return NULL;
	}
	char serr[CG_STORE_ERR_LEN];
	a->ctx.store = cg_store_open(store_path, 0, serr, sizeof(serr));
	if (!a->ctx.store) {
		snprintf(err, errlen, "admin: store '%s': %s", store_path, serr);
		OPENSSL_cleanse(&a->ctx, sizeof(a->ctx));
		free(a);
		return NULL;
	}
	/* The socket is bound with plain calls first: a failure then leaves no
	 * libuv handle that would need a loop turn to be released. */
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (const struct sockaddr *)&ss,
		 ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) !=
		    0 ||
	    listen(fd, 128) != 0) {
		snprintf(err, errlen, "'%s': %s", listen_spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		cg_store_close(a->ctx.store);
		OPENSSL_cleanse(&a->ctx, sizeof(a->ctx));
		free(a);
		return NULL;
	}
	uv_tcp_init(loop, &a->listener);
	a->listener.data = a;
	a->listener_open = true;
	int rc = uv_tcp_open(&a->listener, fd);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&a->listener, 128, on_connection);
	if (rc != 0) {
		/* Not expected after a successful listen(2); released with the loop. */
		snprintf(err, errlen, "'%s': %s", listen_spec, uv_strerror(rc));
		cg_admin_stop(a);
		return NULL;
	}
	if (!loopback)
		cg_log_warn("admin API on %s is not loopback: it is plain HTTP, the token and "
			    "certificates cross the network unencrypted",
			    listen_spec);
	cg_log_info("admin API listening on http://%s", listen_spec);
	return a;
}

static void listener_closed(uv_handle_t *h)
{
	struct cg_admin *a = h->data;
	a->listener_open = false;
	maybe_free_admin(a);
}

void cg_admin_stop(struct cg_admin *a)
{
	if (!a || a->stopping)
		return;
	a->stopping = true;
	uv_close((uv_handle_t *)&a->listener, listener_closed);
	for (struct conn *c = a->conns; c; c = c->next)
		conn_close(c);
}

void cg_admin_usage(void)
{
	printf("  --admin ADDR:PORT           REST management API (plain HTTP; use a loopback\n"
	       "                              address, e.g. 127.0.0.1:9090; PORT alone means\n"
	       "                              127.0.0.1:PORT). Needs --admin-token-file\n"
	       "  --admin-token-file FILE     bearer token for the management API (16-4096\n"
	       "                              printable bytes; e.g. openssl rand -hex 32 > FILE)\n");
}

void cg_admin_set_metrics(struct cg_admin *a, int (*render)(void *user, struct cg_buf *out), void *user)
{
	if (!a)
		return;
	a->ctx.metrics = render;
	a->ctx.metrics_user = user;
}
