/* loadgen: an HTTP/1.1 load generator that presents TLS client certificates.
 *
 * Why our own: wrk cannot present a client certificate or force a full
 * handshake per request, and mTLS handshakes are what an mTLS gateway spends
 * its CPU on (docs/BENCHMARKS.md). One epoll loop per thread, non-blocking
 * sockets, edge-triggered, OpenSSL for TLS; one outstanding request per
 * connection (no pipelining), responses framed by Content-Length, chunked
 * encoding or connection close.
 *
 * Modes:
 *   keep-alive (default)     N connections, each sends requests back to back.
 *   --handshake-per-request  each request on a fresh TCP+TLS connection, no
 *                            session resumption (no session is ever offered).
 *   --idle N                 open N connections, one request on each, then
 *                            hold them idle for --duration seconds (the
 *                            runner reads the server's RSS meanwhile).
 *
 * Latencies go into a log-bucketed histogram (HDR style: 128 linear
 * sub-buckets per power of two, < 0.8% relative error), one per thread,
 * merged at the end. Everything is bounded: duration, connections, buffers. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "h1scan.h"

#define LG_MAX_CONNECTIONS 20000
#define LG_MAX_THREADS 64
#define LG_MAX_HEADERS 32
#define LG_MAX_DURATION_S 3600
#define LG_MAX_BODY (64u << 20)
#define LG_HDR_MAX 8192          /* response header block limit */
#define LG_READ_CHUNK 65536      /* per-thread read scratch */
#define LG_TICK_MS 50            /* timer scan granularity */
#define LG_RETRY_NS (10 * 1000000LL) /* backoff after a failed connection */
#define LG_IDLE_CONCURRENCY 64   /* in-flight opens per thread in --idle */
#define LG_IDLE_TRIES 3
#define LG_MAX_SERVER_PIDS 8
#define LG_MAX_TREE 128          /* processes followed under --server-pid */

/* Histogram: values in nanoseconds. Below 2^8 one bucket per value; above,
 * 128 buckets per power of two up to 2^44 ns (~4.9 hours). */
#define H_SUB_BITS 7
#define H_SUB (1u << H_SUB_BITS)
#define H_MAX_EXP 44
#define H_N (2 * H_SUB + (H_MAX_EXP - H_SUB_BITS - 1) * H_SUB)

struct hist {
	uint64_t b[H_N];
	uint64_t n;
	uint64_t max;
	double sum;
};

static unsigned hist_index(uint64_t v)
{
	if (v < 2 * H_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= H_SUB_BITS + 1 */
	if (e >= H_MAX_EXP)
		return H_N - 1;
	unsigned mant = (unsigned)(v >> (e - H_SUB_BITS)); /* in [H_SUB, 2*H_SUB) */
	return 2 * H_SUB + (e - H_SUB_BITS - 1) * H_SUB + (mant - H_SUB);
}

/* Midpoint of a bucket, the value reported for a percentile. */
static double hist_value(unsigned i)
{
	if (i < 2 * H_SUB)
		return (double)i;
	unsigned k = i - 2 * H_SUB;
	unsigned e = k / H_SUB + H_SUB_BITS + 1;
	uint64_t mant = H_SUB + k % H_SUB;
	double lo = (double)(mant << (e - H_SUB_BITS));
	double width = (double)(1ull << (e - H_SUB_BITS));
	return lo + width / 2;
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->n++;
	h->sum += (double)v;
	if (v > h->max)
		h->max = v;
}

static void hist_merge(struct hist *dst, const struct hist *src)
{
	for (unsigned i = 0; i < H_N; i++)
		dst->b[i] += src->b[i];
	dst->n += src->n;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}

static double hist_pct(const struct hist *h, double pct)
{
	if (h->n == 0)
		return 0;
	uint64_t want = (uint64_t)ceil(pct / 100.0 * (double)h->n);
	if (want == 0)
		want = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < H_N; i++) {
		seen += h->b[i];
		if (seen >= want) {
			double v = hist_value(i);
			return v > (double)h->max ? (double)h->max : v;
		}
	}
	return (double)h->max;
}

struct opts {
	const char *url;
	bool tls;
	char host[256];
	char port[8];
	char path[2048];
	const char *sni;
	int connections;
	int threads;
	double duration;
	double warmup;
	double timeout;
	const char *cert, *key, *cacert;
	bool insecure;
	int tls_ver; /* 0 any, 12, 13 */
	bool hs_per_req;
	const char *method;
	size_t body_size;
	const char *headers[LG_MAX_HEADERS];
	int nheaders;
	int expect_status; /* 0: any 2xx */
	bool json;
	int idle;
	const char *ready_file;
	int server_pids[LG_MAX_SERVER_PIDS];
	int nserver_pids;
};

static struct opts g;
static SSL_CTX *g_ctx;
static char *g_req;      /* the full request, headers and body */
static size_t g_req_len;
static struct sockaddr_storage g_addr;
static socklen_t g_addrlen;
static int64_t g_t0, g_mstart, g_mend; /* monotonic ns */
static atomic_bool g_stop;
static atomic_int g_idle_ok, g_idle_failed;
static atomic_int g_hs_info_set;
static char g_tls_version[32], g_tls_cipher[64];
static double g_srv_cpu = -1, g_srv_cpu0; /* server CPU s over the window; -1 unknown */
static long g_rss_before = -1, g_rss_after = -1;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Server-side accounting (--server-pid): the CPU time and RSS of the given
 * processes and all their descendants (nginx/HAProxy workers), read from
 * /proc at the edges of the measured window, so warm-up is not counted. */
static int proc_tree(int *out, int max)
{
	int n = 0;
	for (int i = 0; i < g.nserver_pids && n < max; i++)
		out[n++] = g.server_pids[i];
	for (int i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task", out[i]);
		DIR *d = opendir(path);
		if (d == NULL)
			continue;
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			char cp[128];
			snprintf(cp, sizeof(cp), "/proc/%d/task/%.20s/children", out[i], de->d_name);
			FILE *f = fopen(cp, "r");
			if (f == NULL)
				continue;
			int child;
			while (n < max && fscanf(f, "%d", &child) == 1) {
				bool seen = false;
				for (int k = 0; k < n; k++)
					seen |= out[k] == child;
				if (!seen)
					out[n++] = child;
			}
			fclose(f);
		}
		closedir(d);
	}
	return n;
}

/* utime+stime in seconds of the server tree; the process-wide fields of
 * /proc/PID/stat include all threads. */
static double server_cpu_s(void)
{
	int pids[LG_MAX_TREE];
	int n = proc_tree(pids, LG_MAX_TREE);
	double tck = (double)sysconf(_SC_CLK_TCK);
	double total = 0;
	for (int i = 0; i < n; i++) {
		char path[64], buf[1024];
		snprintf(path, sizeof(path), "/proc/%d/stat", pids[i]);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t r = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[r] = '\0';
		/* Fields after the command name, which may hold spaces and ')'. */
		char *p = strrchr(buf, ')');
		if (p == NULL)
			continue;
		unsigned long long ut = 0, st = 0;
		if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
			total += (double)(ut + st) / tck;
	}
	return total;
}

static long server_rss_kb(void)
{
	int pids[LG_MAX_TREE];
	int n = proc_tree(pids, LG_MAX_TREE);
	long total = 0;
	for (int i = 0; i < n; i++) {
		char path[64], line[256];
		snprintf(path, sizeof(path), "/proc/%d/status", pids[i]);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			long kb;
			if (sscanf(line, "VmRSS: %ld", &kb) == 1)
				total += kb;
		}
		fclose(f);
	}
	return total;
}

static void sleep_until(int64_t t)
{
	for (;;) {
		int64_t d = t - now_ns();
		if (d <= 0)
			return;
		if (d > 20000000LL)
			d = 20000000LL;
		struct timespec ts = { 0, (long)d };
		nanosleep(&ts, NULL);
	}
}

struct stats {
	uint64_t requests;    /* completed in the window */
	uint64_t handshakes;  /* TLS handshakes (or TCP connects) completed in the window */
	uint64_t resumed;
	uint64_t tickets;     /* session tickets the server sent (costs it CPU) */
	uint64_t bytes_in, bytes_out;
	uint64_t err_connect, err_tls, err_read, err_write, err_timeout, err_parse;
	uint64_t peer_closed; /* keep-alive connection closed by the server between requests */
	uint64_t status_class[6]; /* [0] other, [1..5] 1xx..5xx */
	uint64_t bad_status;
	struct hist lat;
};

enum cstate {
	C_FREE = 0,   /* no socket; (re)connect when allowed */
	C_RETRY,      /* waiting for retry_at */
	C_CONNECTING,
	C_HANDSHAKE,
	C_WRITE,
	C_READ_HDR,
	C_READ_BODY,
	C_IDLE,       /* --idle: request done, holding */
	C_DONE,       /* --idle: gave up */
};

enum body_mode { B_NONE, B_LEN, B_CHUNKED, B_EOF };

struct worker;

struct conn {
	struct worker *w;
	uint32_t idx;
	uint32_t gen;      /* tells stale epoll events from a previous socket */
	int fd;
	SSL *ssl;
	enum cstate st;
	int64_t t_conn;    /* connect() time */
	int64_t t_req;     /* request write start */
	int64_t deadline;
	int64_t retry_at;
	size_t wr_off;
	unsigned served;   /* requests completed on this connection */
	int tries;         /* --idle attempts */
	enum body_mode bm;
	uint64_t body_left;
	struct h1s_chunk ch;
	int status;
	bool close_after;
	size_t hlen;
	char *hbuf;        /* LG_HDR_MAX bytes, header block of the current response */
};

struct worker {
	int id;
	int ep;
	pthread_t th;
	struct conn *conns;
	int nconns;
	int idle_opening; /* --idle: connections being opened */
	int idle_next;    /* --idle: next connection index to open */
	char *scratch;
	uint32_t *reopen;  /* ring of connections to reopen after this batch */
	uint32_t rq_head, rq_len;
	struct stats st;
};

static bool in_window(int64_t t)
{
	return t >= g_mstart && t < g_mend;
}

static void conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		/* Send close_notify once, without waiting for the peer's: that is
		 * what a client that is done does, and it never blocks. */
		if (c->st >= C_WRITE)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->gen++;
}

/* The connection has no socket: in the load modes it is reopened right
 * after the current event batch (not inside it, so that one fast connection
 * cannot starve the others or the clock). */
static void conn_set_free(struct conn *c)
{
	struct worker *w = c->w;
	c->st = C_FREE;
	if (g.idle > 0 || w->rq_len >= (uint32_t)w->nconns)
		return;
	w->reopen[(w->rq_head + w->rq_len) % (uint32_t)w->nconns] = c->idx;
	w->rq_len++;
}

static void conn_fail(struct conn *c, uint64_t *counter)
{
	int64_t t = now_ns();
	if (in_window(t) || g.idle > 0)
		(*counter)++;
	conn_close(c);
	if (g.idle > 0) {
		c->w->idle_opening--;
		if (++c->tries >= LG_IDLE_TRIES) {
			c->st = C_DONE;
			atomic_fetch_add(&g_idle_failed, 1);
			return;
		}
		c->w->idle_opening++;
	}
	c->st = C_RETRY;
	c->retry_at = t + LG_RETRY_NS;
}

static void conn_start_request(struct conn *c, int64_t t)
{
	c->st = C_WRITE;
	c->wr_off = 0;
	c->t_req = t;
	c->hlen = 0;
	c->status = 0;
	c->close_after = false;
	c->deadline = t + (int64_t)(g.timeout * 1e9);
}

static void conn_open(struct conn *c)
{
	int64_t t = now_ns();
	c->fd = socket(g_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_fail(c, &c->w->st.err_connect);
		return;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->t_conn = t;
	c->served = 0;
	c->deadline = t + (int64_t)(g.timeout * 1e9);
	if (connect(c->fd, (struct sockaddr *)&g_addr, g_addrlen) != 0 && errno != EINPROGRESS) {
		conn_fail(c, &c->w->st.err_connect);
		return;
	}
	/* Registered once, after connect() (an unconnected socket reports
	 * HUP), for both directions, edge-triggered: no epoll_ctl per request. */
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.u64 = ((uint64_t)c->gen << 32) | c->idx,
	};
	if (epoll_ctl(c->w->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		conn_fail(c, &c->w->st.err_connect);
		return;
	}
	c->st = C_CONNECTING;
}

/* I/O over plain or TLS sockets. Return: > 0 bytes; 0 EOF (read only);
 * -1 would block; -2 error. */
static long io_read(struct conn *c, char *p, size_t n)
{
	if (c->ssl == NULL) {
		ssize_t r = read(c->fd, p, n);
		if (r >= 0)
			return r;
		return (errno == EAGAIN || errno == EINTR) ? -1 : -2;
	}
	int r = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		/* A close without close_notify: servers do it after a response
		 * with Connection: close; framing decides if it was truncation. */
		ERR_clear_error();
		return errno == 0 || errno == ECONNRESET ? 0 : -2;
	default:
		ERR_clear_error();
		return -2;
	}
}

static long io_write(struct conn *c, const char *p, size_t n)
{
	if (c->ssl == NULL) {
		ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
		if (r >= 0)
			return r;
		return (errno == EAGAIN || errno == EINTR) ? -1 : -2;
	}
	int r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return -1;
	default:
		ERR_clear_error();
		return -2;
	}
}

/* A response is complete: count it, then decide what the connection does
 * next. Returns false when the connection was closed or parked. */
static bool conn_response_done(struct conn *c)
{
	struct worker *w = c->w;
	int64_t t = now_ns();
	c->served++;
	if (in_window(t) && g.idle == 0) {
		w->st.requests++;
		int64_t t0 = g.hs_per_req ? c->t_conn : c->t_req;
		hist_add(&w->st.lat, (uint64_t)(t - t0));
		int cls = c->status / 100;
		w->st.status_class[cls >= 1 && cls <= 5 ? cls : 0]++;
		bool ok = g.expect_status ? c->status == g.expect_status : cls == 2;
		if (!ok)
			w->st.bad_status++;
	}
	if (g.idle > 0) {
		/* Idle mode: the one request on this connection, from connect. */
		hist_add(&w->st.lat, (uint64_t)(t - c->t_conn));
		int cls = c->status / 100;
		w->st.status_class[cls >= 1 && cls <= 5 ? cls : 0]++;
		bool ok = g.expect_status ? c->status == g.expect_status : cls == 2;
		if (!ok)
			w->st.bad_status++;
		w->st.requests++;
		w->idle_opening--;
		if (c->close_after) {
			/* The server will not keep it: that is a failure to hold. */
			w->st.peer_closed++;
			conn_close(c);
			c->st = C_DONE;
			atomic_fetch_add(&g_idle_failed, 1);
			return false;
		}
		c->st = C_IDLE;
		c->deadline = INT64_MAX;
		atomic_fetch_add(&g_idle_ok, 1);
		return false;
	}
	if (g.hs_per_req || c->close_after) {
		conn_close(c);
		conn_set_free(c);
		return false;
	}
	conn_start_request(c, t);
	return true;
}

/* Parses the status line and framing of a complete header block. Returns
 * 1 when the response has a body to read, 0 when it is complete, 2 when it
 * was an interim 1xx (keep reading headers), -1 on error. */
static int conn_parse_head(struct conn *c, size_t hend)
{
	const char *h = c->hbuf;
	if (hend < 12 || memcmp(h, "HTTP/1.", 7) != 0 || h[8] != ' ')
		return -1;
	int st = 0;
	for (int i = 9; i < 12; i++) {
		if (h[i] < '0' || h[i] > '9')
			return -1;
		st = st * 10 + (h[i] - '0');
	}
	c->status = st;
	if (st >= 100 && st < 200 && st != 101)
		return 2;
	struct h1s_framing f;
	h1s_framing_read(h, hend, &f);
	if (f.bad)
		return -1;
	c->close_after = f.close || (h[7] == '0' && !f.keepalive);
	if (st == 204 || st == 304 || strcmp(g.method, "HEAD") == 0) {
		c->bm = B_NONE;
		return 0;
	}
	if (f.chunked) {
		c->bm = B_CHUNKED;
		memset(&c->ch, 0, sizeof(c->ch));
		return 1;
	}
	if (f.has_length) {
		c->bm = B_LEN;
		c->body_left = f.length;
		return f.length > 0 ? 1 : 0;
	}
	c->bm = B_EOF;
	c->close_after = true;
	return 1;
}

/* Feeds received bytes to the response parser. Returns the number of bytes
 * used; sets *done when the response completed; -1 on a framing error. */
static long conn_feed(struct conn *c, const char *p, size_t n, bool *done)
{
	size_t used = 0;
	*done = false;
	while (used < n && !*done) {
		if (c->st == C_READ_HDR) {
			size_t room = LG_HDR_MAX - c->hlen;
			size_t take = n - used < room ? n - used : room;
			size_t old = c->hlen;
			memcpy(c->hbuf + c->hlen, p + used, take);
			c->hlen += take;
			size_t hend = h1s_header_end(c->hbuf, c->hlen);
			if (hend == 0) {
				if (c->hlen >= LG_HDR_MAX)
					return -1;
				used += take;
				continue;
			}
			used += hend - old;
			int r = conn_parse_head(c, hend);
			if (r < 0)
				return -1;
			c->hlen = 0;
			if (r == 2)
				continue;
			if (r == 0) {
				*done = true;
				break;
			}
			c->st = C_READ_BODY;
			continue;
		}
		/* C_READ_BODY */
		size_t avail = n - used;
		if (c->bm == B_LEN) {
			size_t take = avail < c->body_left ? avail : (size_t)c->body_left;
			c->body_left -= take;
			used += take;
			if (c->body_left == 0)
				*done = true;
		} else if (c->bm == B_CHUNKED) {
			long r = h1s_chunk_feed(&c->ch, p + used, avail);
			if (r < 0)
				return -1;
			used += (size_t)r;
			if (c->ch.st == H1S_CH_DONE)
				*done = true;
		} else {
			used = n; /* B_EOF: everything until close */
		}
	}
	return (long)used;
}

/* Counts the tickets a server sends, then drops them: loadgen never
 * resumes, but a server that issues tickets pays for them per handshake. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	(void)sess;
	struct conn *c = SSL_get_app_data(ssl);
	if (c != NULL && in_window(now_ns()))
		c->w->st.tickets++;
	return 0; /* not kept: the caller frees it */
}

static void record_tls_info(struct conn *c)
{
	if (atomic_exchange(&g_hs_info_set, 1) == 0) {
		snprintf(g_tls_version, sizeof(g_tls_version), "%s", SSL_get_version(c->ssl));
		snprintf(g_tls_cipher, sizeof(g_tls_cipher), "%s", SSL_get_cipher_name(c->ssl));
	}
}

/* Runs the connection's state machine until it would block. Edge-triggered
 * epoll: every path either makes progress or stops on EAGAIN. */
static void conn_drive(struct conn *c)
{
	struct worker *w = c->w;
	for (;;) {
		switch (c->st) {
		case C_FREE:
		case C_RETRY:
		case C_DONE:
			return;
		case C_CONNECTING: {
			int err = 0;
			socklen_t el = sizeof(err);
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
				conn_fail(c, &w->st.err_connect);
				return;
			}
			struct sockaddr_storage peer;
			socklen_t pl = sizeof(peer);
			if (getpeername(c->fd, (struct sockaddr *)&peer, &pl) != 0)
				return; /* not connected yet */
			if (!g.tls) {
				if (in_window(now_ns()))
					w->st.handshakes++;
				conn_start_request(c, now_ns());
				break;
			}
			c->ssl = SSL_new(g_ctx);
			if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
				conn_fail(c, &w->st.err_tls);
				return;
			}
			SSL_set_connect_state(c->ssl);
			SSL_set_app_data(c->ssl, c);
			if (g.sni != NULL)
				SSL_set_tlsext_host_name(c->ssl, g.sni);
			if (g.cacert != NULL && g.sni != NULL)
				SSL_set1_host(c->ssl, g.sni);
			c->st = C_HANDSHAKE;
			break;
		}
		case C_HANDSHAKE: {
			int r = SSL_do_handshake(c->ssl);
			if (r == 1) {
				int64_t t = now_ns();
				if (in_window(t)) {
					w->st.handshakes++;
					if (SSL_session_reused(c->ssl))
						w->st.resumed++;
				}
				record_tls_info(c);
				conn_start_request(c, t);
				break;
			}
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			if (getenv("LOADGEN_DEBUG") != NULL)
				ERR_print_errors_fp(stderr);
			ERR_clear_error();
			conn_fail(c, &w->st.err_tls);
			return;
		}
		case C_WRITE: {
			long r = io_write(c, g_req + c->wr_off, g_req_len - c->wr_off);
			if (r == -1)
				return;
			if (r < 0) {
				if (c->served > 0 && c->wr_off == 0) {
					/* The server closed an idle keep-alive connection. */
					w->st.peer_closed++;
					conn_close(c);
					conn_set_free(c);
				} else {
					conn_fail(c, &w->st.err_write);
				}
				return;
			}
			c->wr_off += (size_t)r;
			if (in_window(now_ns()))
				w->st.bytes_out += (uint64_t)r;
			if (c->wr_off == g_req_len) {
				c->st = C_READ_HDR;
				c->hlen = 0;
			}
			break;
		}
		case C_READ_HDR:
		case C_READ_BODY: {
			long r = io_read(c, w->scratch, LG_READ_CHUNK);
			if (r == -1)
				return;
			if (r == -2) {
				conn_fail(c, &w->st.err_read);
				return;
			}
			if (r == 0) {
				if (c->st == C_READ_BODY && c->bm == B_EOF) {
					c->close_after = true;
					conn_response_done(c);
					return;
				}
				if (c->st == C_READ_HDR && c->hlen == 0 && c->served > 0) {
					w->st.peer_closed++;
					conn_close(c);
					conn_set_free(c);
					return;
				}
				conn_fail(c, &w->st.err_read);
				return;
			}
			if (in_window(now_ns()))
				w->st.bytes_in += (uint64_t)r;
			size_t off = 0;
			while (off < (size_t)r) {
				bool done;
				long u = conn_feed(c, w->scratch + off, (size_t)r - off, &done);
				if (u < 0) {
					conn_fail(c, &w->st.err_parse);
					return;
				}
				off += (size_t)u;
				if (done) {
					if (off < (size_t)r) {
						/* Bytes after a complete response we did not
						 * ask for: the framing is off. */
						conn_fail(c, &w->st.err_parse);
						return;
					}
					if (!conn_response_done(c))
						return;
				}
			}
			break;
		}
		case C_IDLE: {
			/* Nothing is expected; data or EOF here means the server
			 * dropped the idle connection. */
			long r = io_read(c, w->scratch, LG_READ_CHUNK);
			if (r == -1)
				return;
			w->st.peer_closed++;
			conn_close(c);
			c->st = C_DONE;
			atomic_fetch_sub(&g_idle_ok, 1);
			atomic_fetch_add(&g_idle_failed, 1);
			return;
		}
		}
	}
}

/* --idle: keep LG_IDLE_CONCURRENCY opens in flight. Called after every
 * event batch (not only on the timer tick: opening in 50 ms batches made the
 * opening latencies measure the batch, not the server). */
static void idle_refill(struct worker *w)
{
	if (g.idle == 0)
		return;
	while (w->idle_next < w->nconns && w->idle_opening < LG_IDLE_CONCURRENCY) {
		struct conn *c = &w->conns[w->idle_next++];
		w->idle_opening++;
		conn_open(c);
		conn_drive(c);
	}
}

static void worker_timers(struct worker *w, int64_t t)
{
	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		switch (c->st) {
		case C_FREE:
			if (g.idle == 0)
				conn_open(c), conn_drive(c);
			break;
		case C_RETRY:
			if (t >= c->retry_at)
				conn_open(c), conn_drive(c);
			break;
		case C_CONNECTING:
		case C_HANDSHAKE:
		case C_WRITE:
		case C_READ_HDR:
		case C_READ_BODY:
			if (t >= c->deadline)
				conn_fail(c, &w->st.err_timeout);
			break;
		default:
			break;
		}
	}
	idle_refill(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];
	int64_t next_tick = 0;
	for (;;) {
		int64_t t = now_ns();
		if (atomic_load(&g_stop) || (g.idle == 0 && t >= g_mend))
			break;
		if (t >= next_tick) {
			worker_timers(w, t);
			next_tick = t + LG_TICK_MS * 1000000LL;
		}
		int wait_ms = w->rq_len > 0 ? 0 : (int)((next_tick - t) / 1000000LL) + 1;
		int n = epoll_wait(w->ep, evs, 256, wait_ms);
		for (int i = 0; i < n; i++) {
			uint32_t idx = (uint32_t)evs[i].data.u64;
			uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
			struct conn *c = &w->conns[idx];
			if (c->gen != gen || c->fd < 0)
				continue; /* event for a socket closed earlier in this batch */
			conn_drive(c);
		}
		/* Reopen what closed in this batch; a connection closed again
		 * while reopening waits for the next batch. */
		for (uint32_t k = w->rq_len; k > 0 && w->rq_len > 0; k--) {
			struct conn *c = &w->conns[w->reopen[w->rq_head]];
			w->rq_head = (w->rq_head + 1) % (uint32_t)w->nconns;
			w->rq_len--;
			if (c->st != C_FREE)
				continue;
			conn_open(c);
			conn_drive(c);
		}
		idle_refill(w);
	}
	for (int i = 0; i < w->nconns; i++)
		conn_close(&w->conns[i]);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: loadgen --url http[s]://HOST:PORT/path [options]\n"
		"  --sni NAME              TLS SNI and Host header (default: URL host)\n"
		"  --connections N         concurrent connections (default 16, max %d)\n"
		"  --threads M             event loops (default 1)\n"
		"  --duration S            measured seconds (default 10, max %d)\n"
		"  --warmup S              unmeasured seconds first (default 1)\n"
		"  --timeout S             per request, incl. connect (default 10)\n"
		"  --cert C --key K        client certificate and key (PEM)\n"
		"  --cacert CA | --insecure\n"
		"  --tls 1.2|1.3\n"
		"  --handshake-per-request fresh TCP+TLS connection per request, no resumption\n"
		"  --method GET|POST|...   (default GET)\n"
		"  --body-size BYTES       request body (default 0)\n"
		"  --header 'Name: v'      extra request header (repeatable, max %d)\n"
		"  --expect-status CODE    count responses with another status (default: non-2xx)\n"
		"  --idle N                open N connections, one request each, hold them --duration s\n"
		"  --ready-file PATH       --idle: written once all N are open and idle\n"
		"  --server-pid PID        report the CPU time (and in --idle, RSS) of PID and its\n"
		"                          descendants over the measured window (repeatable, max %d)\n"
		"  --json                  one JSON object on stdout\n",
		LG_MAX_CONNECTIONS, LG_MAX_DURATION_S, LG_MAX_HEADERS, LG_MAX_SERVER_PIDS);
}

static int parse_url(const char *u)
{
	const char *p;
	if (strncmp(u, "https://", 8) == 0) {
		g.tls = true;
		p = u + 8;
	} else if (strncmp(u, "http://", 7) == 0) {
		g.tls = false;
		p = u + 7;
	} else {
		return -1;
	}
	const char *slash = strchr(p, '/');
	size_t hp = slash ? (size_t)(slash - p) : strlen(p);
	const char *colon = memchr(p, ':', hp);
	size_t hl = colon ? (size_t)(colon - p) : hp;
	if (hl == 0 || hl >= sizeof(g.host))
		return -1;
	memcpy(g.host, p, hl);
	g.host[hl] = '\0';
	if (colon) {
		size_t pl = hp - hl - 1;
		if (pl == 0 || pl >= sizeof(g.port))
			return -1;
		memcpy(g.port, colon + 1, pl);
		g.port[pl] = '\0';
	} else {
		snprintf(g.port, sizeof(g.port), "%s", g.tls ? "443" : "80");
	}
	const char *path = slash ? slash : "/";
	if (strlen(path) >= sizeof(g.path))
		return -1;
	snprintf(g.path, sizeof(g.path), "%s", path);
	return 0;
}

static int build_request(void)
{
	bool has_host = false;
	for (int i = 0; i < g.nheaders; i++)
		if (strncasecmp(g.headers[i], "host:", 5) == 0)
			has_host = true;
	size_t cap = 4096 + strlen(g.path) + g.body_size;
	for (int i = 0; i < g.nheaders; i++)
		cap += strlen(g.headers[i]) + 2;
	g_req = malloc(cap);
	if (g_req == NULL)
		return -1;
	size_t n = 0;
	n += (size_t)snprintf(g_req + n, cap - n, "%s %s HTTP/1.1\r\n", g.method, g.path);
	if (!has_host) {
		bool default_port = strcmp(g.port, g.tls ? "443" : "80") == 0;
		n += (size_t)snprintf(g_req + n, cap - n, "Host: %s%s%s\r\n",
			g.sni ? g.sni : g.host, default_port ? "" : ":", default_port ? "" : g.port);
	}
	for (int i = 0; i < g.nheaders; i++)
		n += (size_t)snprintf(g_req + n, cap - n, "%s\r\n", g.headers[i]);
	if (g.hs_per_req)
		n += (size_t)snprintf(g_req + n, cap - n, "Connection: close\r\n");
	if (g.body_size > 0 || strcmp(g.method, "POST") == 0 || strcmp(g.method, "PUT") == 0)
		n += (size_t)snprintf(g_req + n, cap - n,
			"Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n", g.body_size);
	n += (size_t)snprintf(g_req + n, cap - n, "\r\n");
	if (n + g.body_size > cap)
		return -1;
	memset(g_req + n, 'x', g.body_size);
	g_req_len = n + g.body_size;
	return 0;
}

static int setup_tls(void)
{
	g_ctx = SSL_CTX_new(TLS_client_method());
	if (g_ctx == NULL)
		return -1;
	if (g.tls_ver == 12) {
		SSL_CTX_set_min_proto_version(g_ctx, TLS1_2_VERSION);
		SSL_CTX_set_max_proto_version(g_ctx, TLS1_2_VERSION);
	} else if (g.tls_ver == 13) {
		SSL_CTX_set_min_proto_version(g_ctx, TLS1_3_VERSION);
		SSL_CTX_set_max_proto_version(g_ctx, TLS1_3_VERSION);
	} else {
		SSL_CTX_set_min_proto_version(g_ctx, TLS1_2_VERSION);
	}
	/* No resumption, ever: every handshake is full, and no ticket is
	 * asked for in TLS 1.2. */
	SSL_CTX_set_session_cache_mode(g_ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(g_ctx, on_new_session);
	SSL_CTX_set_options(g_ctx, SSL_OP_NO_TICKET);
	/* A server closing without close_notify after "Connection: close" is
	 * normal; the HTTP framing tells truncation apart. */
	SSL_CTX_set_options(g_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(g_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (g.cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(g_ctx, g.cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(g_ctx, g.key ? g.key : g.cert, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(g_ctx) != 1) {
			fprintf(stderr, "loadgen: cannot load client certificate/key\n");
			ERR_print_errors_fp(stderr);
			return -1;
		}
	}
	if (g.cacert != NULL) {
		if (SSL_CTX_load_verify_locations(g_ctx, g.cacert, NULL) != 1) {
			fprintf(stderr, "loadgen: cannot load %s\n", g.cacert);
			return -1;
		}
		SSL_CTX_set_verify(g_ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(g_ctx, SSL_VERIFY_NONE, NULL);
	}
	return 0;
}

static void raise_nofile(rlim_t need)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur >= need)
		return;
	if (rl.rlim_max < need) {
		struct rlimit hi = { need, need };
		if (setrlimit(RLIMIT_NOFILE, &hi) == 0)
			return;
		need = rl.rlim_max;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		fprintf(stderr, "loadgen: cannot raise RLIMIT_NOFILE to %llu\n", (unsigned long long)need);
}

static double parse_num(const char *s, const char *what, double lo, double hi)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "loadgen: bad %s '%s' (allowed %g..%g)\n", what, s, lo, hi);
		exit(2);
	}
	return v;
}

static void print_results(const struct stats *s, double secs, double cpu_s)
{
	double rps = secs > 0 ? (double)s->requests / secs : 0;
	double hps = secs > 0 ? (double)s->handshakes / secs : 0;
	double p50 = hist_pct(&s->lat, 50) / 1e3, p90 = hist_pct(&s->lat, 90) / 1e3;
	double p99 = hist_pct(&s->lat, 99) / 1e3, p999 = hist_pct(&s->lat, 99.9) / 1e3;
	double mean = s->lat.n ? s->lat.sum / (double)s->lat.n / 1e3 : 0;
	double mx = (double)s->lat.max / 1e3;
	uint64_t errs = s->err_connect + s->err_tls + s->err_read + s->err_write + s->err_timeout + s->err_parse;
	const char *mode = g.idle > 0 ? "idle" : g.hs_per_req ? "handshake-per-request" : "keep-alive";
	if (g.json) {
		printf("{\"url\":\"%s\",\"mode\":\"%s\",\"connections\":%d,\"threads\":%d,"
		       "\"duration_s\":%.3f,\"requests\":%" PRIu64 ",\"rps\":%.1f,"
		       "\"handshakes\":%" PRIu64 ",\"handshakes_per_s\":%.1f,\"resumed\":%" PRIu64 ","
		       "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"mean\":%.1f,\"max\":%.1f},"
		       "\"errors\":{\"total\":%" PRIu64 ",\"connect\":%" PRIu64 ",\"tls\":%" PRIu64 ",\"read\":%" PRIu64
		       ",\"write\":%" PRIu64 ",\"timeout\":%" PRIu64 ",\"parse\":%" PRIu64 "},"
		       "\"peer_closed\":%" PRIu64 ",\"status\":{\"1xx\":%" PRIu64 ",\"2xx\":%" PRIu64 ",\"3xx\":%" PRIu64
		       ",\"4xx\":%" PRIu64 ",\"5xx\":%" PRIu64 ",\"other\":%" PRIu64 "},\"bad_status\":%" PRIu64 ","
		       "\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64 ",\"tls_version\":\"%s\",\"tls_cipher\":\"%s\","
		       "\"client_cpu_s\":%.3f",
		       g.url, mode, g.idle > 0 ? g.idle : g.connections, g.threads, secs, s->requests, rps,
		       s->handshakes, hps, s->resumed, p50, p90, p99, p999, mean, mx,
		       errs, s->err_connect, s->err_tls, s->err_read, s->err_write, s->err_timeout, s->err_parse,
		       s->peer_closed, s->status_class[1], s->status_class[2], s->status_class[3],
		       s->status_class[4], s->status_class[5], s->status_class[0], s->bad_status,
		       s->bytes_in, s->bytes_out, g_tls_version, g_tls_cipher, cpu_s);
		printf(",\"tickets\":%" PRIu64, s->tickets);
		if (g.idle > 0)
			printf(",\"idle_ok\":%d,\"idle_failed\":%d", atomic_load(&g_idle_ok), atomic_load(&g_idle_failed));
		if (g_srv_cpu >= 0) {
			printf(",\"server\":{\"cpu_s\":%.3f,\"cpu_us_per_req\":%.2f,\"handshakes_per_cpu_s\":%.1f",
			       g_srv_cpu, s->requests ? g_srv_cpu * 1e6 / (double)s->requests : 0,
			       g_srv_cpu > 0 ? (double)s->handshakes / g_srv_cpu : 0);
			if (g_rss_before >= 0)
				printf(",\"rss_kb_before\":%ld,\"rss_kb_after\":%ld,\"rss_kb_per_conn\":%.2f",
				       g_rss_before, g_rss_after,
				       atomic_load(&g_idle_ok) > 0 ? (double)(g_rss_after - g_rss_before) / atomic_load(&g_idle_ok) : 0);
			printf("}");
		}
		printf("}\n");
		return;
	}
	printf("%s %s: %d connections, %d threads, %.2f s%s\n", mode, g.url,
	       g.idle > 0 ? g.idle : g.connections, g.threads, secs,
	       g.idle > 0 ? " opening" : "");
	if (g.tls)
		printf("  tls: %s %s, resumed %" PRIu64 "\n", g_tls_version, g_tls_cipher, s->resumed);
	printf("  requests: %" PRIu64 " (%.1f/s)\n", s->requests, rps);
	if (g.hs_per_req || g.idle > 0)
		printf("  %s: %" PRIu64 " (%.1f/s)\n", g.tls ? "handshakes" : "connections", s->handshakes, hps);
	printf("  latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  mean %.1f  max %.1f\n",
	       p50, p90, p99, p999, mean, mx);
	printf("  status: 1xx %" PRIu64 "  2xx %" PRIu64 "  3xx %" PRIu64 "  4xx %" PRIu64 "  5xx %" PRIu64
	       "  other %" PRIu64 "; unexpected (%s) %" PRIu64 "\n",
	       s->status_class[1], s->status_class[2], s->status_class[3], s->status_class[4],
	       s->status_class[5], s->status_class[0],
	       g.expect_status ? "!= --expect-status" : "non-2xx", s->bad_status);
	printf("  errors: %" PRIu64 " (connect %" PRIu64 ", tls %" PRIu64 ", read %" PRIu64 ", write %" PRIu64
	       ", timeout %" PRIu64 ", parse %" PRIu64 "); keep-alive closed by server %" PRIu64 "\n",
	       errs, s->err_connect, s->err_tls, s->err_read, s->err_write, s->err_timeout, s->err_parse,
	       s->peer_closed);
	printf("  bytes: in %" PRIu64 ", out %" PRIu64 "; loadgen cpu (whole run) %.2f s\n", s->bytes_in, s->bytes_out, cpu_s);
	if (g.tls)
		printf("  session tickets sent by the server: %" PRIu64 "\n", s->tickets);
	if (g.idle > 0)
		printf("  idle: %d held, %d failed\n", atomic_load(&g_idle_ok), atomic_load(&g_idle_failed));
	if (g_srv_cpu >= 0) {
		printf("  server cpu: %.2f s, %.1f us/request", g_srv_cpu,
		       s->requests ? g_srv_cpu * 1e6 / (double)s->requests : 0);
		if (g.hs_per_req || g.idle > 0)
			printf(", %.0f handshakes per cpu-second", g_srv_cpu > 0 ? (double)s->handshakes / g_srv_cpu : 0);
		printf("\n");
		if (g_rss_before >= 0)
			printf("  server rss: %ld kB before, %ld kB with %d idle, %.2f kB per connection\n",
			       g_rss_before, g_rss_after, atomic_load(&g_idle_ok),
			       atomic_load(&g_idle_ok) > 0 ? (double)(g_rss_after - g_rss_before) / atomic_load(&g_idle_ok) : 0);
	}
}

int main(int argc, char **argv)
{
	g.connections = 16;
	g.threads = 1;
	g.duration = 10;
	g.warmup = 1;
	g.timeout = 10;
	g.method = "GET";
	enum { O_SNI = 256, O_CONN, O_THR, O_DUR, O_WARM, O_TMO, O_CERT, O_KEY, O_CA, O_INSEC,
	       O_TLS, O_HS, O_METH, O_BODY, O_HDR, O_EXP, O_JSON, O_IDLE, O_READY, O_URL, O_HELP, O_SPID };
	static const struct option lo[] = {
		{ "url", required_argument, NULL, O_URL },
		{ "sni", required_argument, NULL, O_SNI },
		{ "connections", required_argument, NULL, O_CONN },
		{ "threads", required_argument, NULL, O_THR },
		{ "duration", required_argument, NULL, O_DUR },
		{ "warmup", required_argument, NULL, O_WARM },
		{ "timeout", required_argument, NULL, O_TMO },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "cacert", required_argument, NULL, O_CA },
		{ "insecure", no_argument, NULL, O_INSEC },
		{ "tls", required_argument, NULL, O_TLS },
		{ "handshake-per-request", no_argument, NULL, O_HS },
		{ "method", required_argument, NULL, O_METH },
		{ "body-size", required_argument, NULL, O_BODY },
		{ "header", required_argument, NULL, O_HDR },
		{ "expect-status", required_argument, NULL, O_EXP },
		{ "json", no_argument, NULL, O_JSON },
		{ "idle", required_argument, NULL, O_IDLE },
		{ "ready-file", required_argument, NULL, O_READY },
		{ "server-pid", required_argument, NULL, O_SPID },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case O_URL: g.url = optarg; break;
		case O_SNI: g.sni = optarg; break;
		case O_CONN: g.connections = (int)parse_num(optarg, "--connections", 1, LG_MAX_CONNECTIONS); break;
		case O_THR: g.threads = (int)parse_num(optarg, "--threads", 1, LG_MAX_THREADS); break;
		case O_DUR: g.duration = parse_num(optarg, "--duration", 0.1, LG_MAX_DURATION_S); break;
		case O_WARM: g.warmup = parse_num(optarg, "--warmup", 0, 600); break;
		case O_TMO: g.timeout = parse_num(optarg, "--timeout", 0.01, 600); break;
		case O_CERT: g.cert = optarg; break;
		case O_KEY: g.key = optarg; break;
		case O_CA: g.cacert = optarg; break;
		case O_INSEC: g.insecure = true; break;
		case O_TLS:
			if (strcmp(optarg, "1.2") == 0)
				g.tls_ver = 12;
			else if (strcmp(optarg, "1.3") == 0)
				g.tls_ver = 13;
			else {
				fprintf(stderr, "loadgen: --tls 1.2 or 1.3\n");
				return 2;
			}
			break;
		case O_HS: g.hs_per_req = true; break;
		case O_METH: g.method = optarg; break;
		case O_BODY: g.body_size = (size_t)parse_num(optarg, "--body-size", 0, LG_MAX_BODY); break;
		case O_HDR:
			if (g.nheaders >= LG_MAX_HEADERS || strchr(optarg, ':') == NULL ||
			    strpbrk(optarg, "\r\n") != NULL) {
				fprintf(stderr, "loadgen: bad or too many --header (max %d)\n", LG_MAX_HEADERS);
				return 2;
			}
			g.headers[g.nheaders++] = optarg;
			break;
		case O_EXP: g.expect_status = (int)parse_num(optarg, "--expect-status", 100, 599); break;
		case O_JSON: g.json = true; break;
		case O_IDLE: g.idle = (int)parse_num(optarg, "--idle", 1, LG_MAX_CONNECTIONS); break;
		case O_READY: g.ready_file = optarg; break;
		case O_SPID:
			if (g.nserver_pids >= LG_MAX_SERVER_PIDS) {
				fprintf(stderr, "loadgen: at most %d --server-pid\n", LG_MAX_SERVER_PIDS);
				return 2;
			}
			g.server_pids[g.nserver_pids++] = (int)parse_num(optarg, "--server-pid", 1, 1 << 22);
			break;
		case O_HELP: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (g.url == NULL || parse_url(g.url) != 0) {
		fprintf(stderr, "loadgen: --url http[s]://HOST:PORT/path is required\n");
		usage(stderr);
		return 2;
	}
	if (g.tls && g.cacert == NULL && !g.insecure) {
		fprintf(stderr, "loadgen: https needs --cacert CA or --insecure\n");
		return 2;
	}
	if (g.tls && g.sni == NULL) {
		struct in_addr a4;
		struct in6_addr a6;
		if (inet_pton(AF_INET, g.host, &a4) != 1 && inet_pton(AF_INET6, g.host, &a6) != 1)
			g.sni = g.host;
	}
	if (g.idle > 0) {
		g.connections = g.idle;
		g.hs_per_req = false;
	}
	if (g.threads > g.connections)
		g.threads = g.connections;

	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	int gr = getaddrinfo(g.host, g.port, &hints, &ai);
	if (gr != 0 || ai == NULL) {
		fprintf(stderr, "loadgen: cannot resolve %s:%s: %s\n", g.host, g.port, gai_strerror(gr));
		return 2;
	}
	memcpy(&g_addr, ai->ai_addr, ai->ai_addrlen);
	g_addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);

	if (build_request() != 0 || (g.tls && setup_tls() != 0))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile((rlim_t)g.connections + 64);

	struct worker *ws = calloc((size_t)g.threads, sizeof(*ws));
	struct conn *conns = calloc((size_t)g.connections, sizeof(*conns));
	char *hbufs = malloc((size_t)g.connections * LG_HDR_MAX);
	if (ws == NULL || conns == NULL || hbufs == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 2;
	}
	int base = 0;
	for (int i = 0; i < g.threads; i++) {
		struct worker *w = &ws[i];
		w->id = i;
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		w->scratch = malloc(LG_READ_CHUNK);
		w->reopen = malloc(sizeof(uint32_t) * (size_t)(g.connections / g.threads + 1));
		w->nconns = g.connections / g.threads + (i < g.connections % g.threads);
		w->conns = &conns[base];
		if (w->ep < 0 || w->scratch == NULL || w->reopen == NULL) {
			fprintf(stderr, "loadgen: cannot set up thread %d\n", i);
			return 2;
		}
		for (int j = 0; j < w->nconns; j++) {
			struct conn *c = &w->conns[j];
			c->w = w;
			c->idx = (uint32_t)j;
			c->fd = -1;
			c->hbuf = hbufs + (size_t)(base + j) * LG_HDR_MAX;
			c->st = C_FREE;
		}
		base += w->nconns;
	}

	if (g.nserver_pids > 0 && g.idle > 0) {
		g_rss_before = server_rss_kb();
		g_srv_cpu0 = server_cpu_s();
	}
	g_t0 = now_ns();
	if (g.idle > 0) {
		/* Every request of the opening phase counts; the hold is timed by
		 * the main thread below. */
		g_mstart = g_t0;
		g_mend = INT64_MAX;
	} else {
		g_mstart = g_t0 + (int64_t)(g.warmup * 1e9);
		g_mend = g_mstart + (int64_t)(g.duration * 1e9);
	}
	struct rusage ru0;
	getrusage(RUSAGE_SELF, &ru0);
	for (int i = 0; i < g.threads; i++) {
		if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0) {
			fprintf(stderr, "loadgen: cannot start thread %d\n", i);
			return 2;
		}
	}
	double secs = g.duration;
	if (g.nserver_pids > 0 && g.idle == 0) {
		sleep_until(g_mstart);
		double c0 = server_cpu_s();
		sleep_until(g_mend);
		g_srv_cpu = server_cpu_s() - c0;
	}
	if (g.idle > 0) {
		/* Opening is bounded too: at least 60 s, plus 10 ms per connection. */
		int64_t open_deadline = g_t0 + (int64_t)((60.0 + g.idle * 0.01) * 1e9);
		while (atomic_load(&g_idle_ok) + atomic_load(&g_idle_failed) < g.idle && now_ns() < open_deadline) {
			struct timespec ts = { 0, 20 * 1000000L };
			nanosleep(&ts, NULL);
		}
		int64_t t_open = now_ns();
		fprintf(stderr, "loadgen: idle: %d open, %d failed, opening took %.2f s; holding %.1f s\n",
			atomic_load(&g_idle_ok), atomic_load(&g_idle_failed), (double)(t_open - g_t0) / 1e9, g.duration);
		secs = (double)(t_open - g_t0) / 1e9; /* handshakes/s is over the opening phase */
		if (g.nserver_pids > 0) {
			g_srv_cpu = server_cpu_s() - g_srv_cpu0;
			/* Let the server settle (deferred frees, lazy buffers) before
			 * its RSS is read. */
			sleep_until(t_open + (int64_t)((g.duration < 2 ? g.duration / 2 : 1.0) * 1e9));
			g_rss_after = server_rss_kb();
		}
		if (g.ready_file != NULL) {
			FILE *f = fopen(g.ready_file, "w");
			if (f != NULL) {
				fprintf(f, "%d\n", atomic_load(&g_idle_ok));
				fclose(f);
			}
		}
		int64_t hold_end = t_open + (int64_t)(g.duration * 1e9);
		while (now_ns() < hold_end) {
			struct timespec ts = { 0, 20 * 1000000L };
			nanosleep(&ts, NULL);
		}
		atomic_store(&g_stop, true);
	}
	for (int i = 0; i < g.threads; i++)
		pthread_join(ws[i].th, NULL);
	struct rusage ru1;
	getrusage(RUSAGE_SELF, &ru1);
	double cpu_s = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
		(double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
		(double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		(double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;

	static struct stats total;
	for (int i = 0; i < g.threads; i++) {
		struct stats *s = &ws[i].st;
		total.requests += s->requests;
		total.handshakes += s->handshakes;
		total.resumed += s->resumed;
		total.tickets += s->tickets;
		total.bytes_in += s->bytes_in;
		total.bytes_out += s->bytes_out;
		total.err_connect += s->err_connect;
		total.err_tls += s->err_tls;
		total.err_read += s->err_read;
		total.err_write += s->err_write;
		total.err_timeout += s->err_timeout;
		total.err_parse += s->err_parse;
		total.peer_closed += s->peer_closed;
		for (int k = 0; k < 6; k++)
			total.status_class[k] += s->status_class[k];
		total.bad_status += s->bad_status;
		hist_merge(&total.lat, &s->lat);
	}
	print_results(&total, secs, cpu_s);
	return 0;
}
