/* bench_backend: the upstream for benchmarks. A plain HTTP/1.1 server that
 * answers every request with 200 and a small fixed body, reads and discards
 * request bodies (Content-Length and chunked), keeps connections alive, and
 * answers pipelined requests in order.
 *
 * Why our own: the gateway under test and its peers (nginx, HAProxy) must all
 * forward to the same upstream, and that upstream must cost as little CPU as
 * possible and never be the bottleneck. N threads, each with its own epoll
 * loop and its own SO_REUSEPORT listening socket (the kernel spreads
 * connections); edge-triggered; one prebuilt response. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "h1scan.h"

#define BB_MAX_THREADS 64
#define BB_HDR_MAX 16384        /* request header block limit */
#define BB_READ_CHUNK 65536
#define BB_MAX_PENDING 256      /* pipelined responses queued before we stop reading */
#define BB_MAX_BODY (1u << 20)  /* response body limit */

static char *g_resp, *g_resp_close;
static size_t g_resp_len, g_resp_close_len;
static struct sockaddr_in g_addr;

enum rstate { R_HDR, R_BODY_LEN, R_BODY_CHUNKED, R_CLOSED };

struct bconn {
	int fd;
	enum rstate st;
	uint64_t body_left;
	struct h1s_chunk ch;
	bool close_after;  /* last queued response carries Connection: close */
	unsigned pending;  /* responses queued, not yet fully written */
	size_t out_off;    /* bytes of the head-of-queue response written */
	size_t hlen;
	char hbuf[BB_HDR_MAX];
};

struct bworker {
	int lfd;
	int ep;
	pthread_t th;
	char *scratch;
};

static void bconn_free(struct bconn *c)
{
	close(c->fd); /* also removes it from the epoll set */
	free(c);
}

/* One complete request has been read: queue its response. */
static void request_done(struct bconn *c, bool close)
{
	c->pending++;
	if (close) {
		c->close_after = true;
		c->st = R_CLOSED; /* read nothing more */
	} else {
		c->st = R_HDR;
	}
	c->hlen = 0;
}

/* Consumes request bytes. Returns -1 when the connection must be dropped
 * (malformed request or header block too large). */
static int feed(struct bconn *c, const char *p, size_t n)
{
	size_t used = 0;
	while (used < n) {
		switch (c->st) {
		case R_CLOSED:
			return 0;
		case R_HDR: {
			size_t room = BB_HDR_MAX - c->hlen;
			size_t take = n - used < room ? n - used : room;
			size_t old = c->hlen;
			memcpy(c->hbuf + c->hlen, p + used, take);
			c->hlen += take;
			size_t hend = h1s_header_end(c->hbuf, c->hlen);
			if (hend == 0) {
				if (c->hlen >= BB_HDR_MAX)
					return -1;
				used += take;
				break;
			}
			used += hend - old;
			struct h1s_framing f;
			h1s_framing_read(c->hbuf, hend, &f);
			if (f.bad)
				return -1;
			/* HTTP/1.0 closes unless it asked for keep-alive. */
			const char *eol = memchr(c->hbuf, '\n', hend);
			bool v10 = eol != NULL && eol - c->hbuf >= 9 &&
				memcmp(eol - (eol[-1] == '\r' ? 9 : 8), "HTTP/1.0", 8) == 0;
			bool close = f.close || (v10 && !f.keepalive);
			if (f.chunked) {
				c->st = R_BODY_CHUNKED;
				memset(&c->ch, 0, sizeof(c->ch));
				c->close_after = close; /* remembered until the body ends */
			} else if (f.has_length && f.length > 0) {
				c->st = R_BODY_LEN;
				c->body_left = f.length;
				c->close_after = close;
			} else {
				request_done(c, close);
			}
			break;
		}
		case R_BODY_LEN: {
			size_t take = n - used;
			if (take > c->body_left)
				take = (size_t)c->body_left;
			used += take;
			c->body_left -= take;
			if (c->body_left == 0)
				request_done(c, c->close_after);
			break;
		}
		case R_BODY_CHUNKED: {
			long r = h1s_chunk_feed(&c->ch, p + used, n - used);
			if (r < 0)
				return -1;
			used += (size_t)r;
			if (c->ch.st == H1S_CH_DONE)
				request_done(c, c->close_after);
			break;
		}
		}
	}
	return 0;
}

/* Writes queued responses. Returns 1 when everything is written, 0 when
 * the socket is full, -1 on error or when the connection is finished. */
static int flush(struct bconn *c)
{
	while (c->pending > 0) {
		bool last_close = c->close_after && c->pending == 1;
		const char *r = last_close ? g_resp_close : g_resp;
		size_t len = last_close ? g_resp_close_len : g_resp_len;
		ssize_t w = send(c->fd, r + c->out_off, len - c->out_off, MSG_NOSIGNAL);
		if (w < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		c->out_off += (size_t)w;
		if (c->out_off == len) {
			c->out_off = 0;
			c->pending--;
			if (last_close)
				return -1;
		}
	}
	return 1;
}

/* Edge-triggered: read until EAGAIN (or until too many responses wait),
 * write what is queued. Returns -1 when the connection is to be freed. */
static int bconn_io(struct bworker *w, struct bconn *c)
{
	for (;;) {
		int f = flush(c);
		if (f < 0)
			return -1;
		if (c->pending >= BB_MAX_PENDING)
			return 0; /* wait for EPOLLOUT; reading resumes after it */
		if (c->st == R_CLOSED)
			return 0;
		ssize_t r = read(c->fd, w->scratch, BB_READ_CHUNK);
		if (r == 0)
			return -1;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return flush(c) < 0 ? -1 : 0;
			return -1;
		}
		if (feed(c, w->scratch, (size_t)r) != 0)
			return -1;
	}
}

static void *worker_main(void *arg)
{
	struct bworker *w = arg;
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(w->ep, evs, 256, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				for (;;) {
					int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break; /* EAGAIN, or EMFILE: the next connection retries */
					int one = 1;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					struct bconn *c = calloc(1, sizeof(*c));
					if (c == NULL) {
						close(fd);
						continue;
					}
					c->fd = fd;
					struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
								  .data.ptr = c };
					if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
						bconn_free(c);
						continue;
					}
					if (bconn_io(w, c) < 0)
						bconn_free(c);
				}
				continue;
			}
			struct bconn *c = evs[i].data.ptr;
			if (bconn_io(w, c) < 0)
				bconn_free(c);
		}
	}
	return NULL;
}

static int build_responses(size_t body_size)
{
	static const char hello[] = "hello, world\n";
	char head[256];
	for (int k = 0; k < 2; k++) {
		int hn = snprintf(head, sizeof(head),
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
			body_size, k ? "Connection: close\r\n" : "");
		size_t len = (size_t)hn + body_size;
		char *r = malloc(len);
		if (r == NULL)
			return -1;
		memcpy(r, head, (size_t)hn);
		for (size_t i = 0; i < body_size; i++)
			r[(size_t)hn + i] = hello[i % (sizeof(hello) - 1)];
		if (k) {
			g_resp_close = r;
			g_resp_close_len = len;
		} else {
			g_resp = r;
			g_resp_len = len;
		}
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_backend --listen 127.0.0.1:PORT [--threads N] [--body-size BYTES]\n"
		   "  answers every request with 200 and BYTES of body (default 13, \"hello, world\\n\")\n");
}

int main(int argc, char **argv)
{
	const char *listen_at = NULL;
	long threads = 1, body = 13;
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "body-size", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'l': listen_at = optarg; break;
		case 't': threads = strtol(optarg, NULL, 10); break;
		case 'b': body = strtol(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (listen_at == NULL || threads < 1 || threads > BB_MAX_THREADS || body < 0 || body > (long)BB_MAX_BODY) {
		usage(stderr);
		return 2;
	}
	char host[64];
	const char *colon = strrchr(listen_at, ':');
	if (colon == NULL || (size_t)(colon - listen_at) >= sizeof(host)) {
		usage(stderr);
		return 2;
	}
	memcpy(host, listen_at, (size_t)(colon - listen_at));
	host[colon - listen_at] = '\0';
	long port = strtol(colon + 1, NULL, 10);
	g_addr.sin_family = AF_INET;
	g_addr.sin_port = htons((uint16_t)port);
	if (port < 1 || port > 65535 || inet_pton(AF_INET, host, &g_addr.sin_addr) != 1) {
		fprintf(stderr, "bench_backend: --listen wants IPv4:PORT\n");
		return 2;
	}
	if (build_responses((size_t)body) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct bworker *ws = calloc((size_t)threads, sizeof(*ws));
	if (ws == NULL)
		return 2;
	for (long i = 0; i < threads; i++) {
		struct bworker *w = &ws[i];
		int one = 1;
		w->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		w->scratch = malloc(BB_READ_CHUNK);
		if (w->lfd < 0 || w->ep < 0 || w->scratch == NULL ||
		    setsockopt(w->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		    setsockopt(w->lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
		    bind(w->lfd, (struct sockaddr *)&g_addr, sizeof(g_addr)) != 0 ||
		    listen(w->lfd, 4096) != 0) {
			perror("bench_backend: listen");
			return 1;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &ev) != 0) {
			perror("bench_backend: epoll_ctl");
			return 1;
		}
	}
	for (long i = 0; i < threads; i++) {
		if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0) {
			fprintf(stderr, "bench_backend: cannot start thread\n");
			return 1;
		}
	}
	fprintf(stderr, "bench_backend: listening on %s, %ld threads, %ld-byte body\n", listen_at, threads, body);
	for (long i = 0; i < threads; i++)
		pthread_join(ws[i].th, NULL);
	return 0;
}
