/* CRL fetcher: a background thread, a small strict HTTP/1.1 GET client, a
 * table of (issuer, distribution point) -> CRL read under a rwlock.
 * Rules and why: crl.h; user-facing: docs/client-certificates.md. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/str.h"
#include "tls/crl.h"
#include "tls/x509.h"

struct entry {
	unsigned char issuer_sha1[20];
	X509 *issuer;          /* up-ref'd: the CRL's signature is checked with its key */
	char url[CG_CRL_MAX_URL_LEN + 1];
	X509_CRL *crl;         /* NULL until the first good fetch */
	int64_t last_update, next_update; /* of crl; next INT64_MAX when it has none */
	size_t crl_bytes;
	int64_t fetched_at;    /* UTC seconds */
	int64_t due_ms;        /* next fetch, UTC ms; INT64_MAX: never (refused) */
	bool inflight;
	bool refused;
	uint64_t fetches, failures;
	unsigned consecutive;
	char last_error[CG_CRL_ERR_LEN];
};

/* One certificate's OCSP status, from its issuer's responder. */
struct oentry {
	unsigned char issuer_sha1[20];
	unsigned char serial[CG_OCSP_MAX_SERIAL];
	size_t serial_len;
	X509 *issuer;       /* up-ref'd: the response is verified with it */
	OCSP_CERTID *id;    /* SHA-1 CertID, built at registration */
	char url[CG_CRL_MAX_URL_LEN + 1];
	enum cg_ocsp_status status; /* NONE until a good response */
	int64_t this_update, next_update; /* next INT64_MAX: none in the response */
	int64_t due_ms;
	bool inflight, refused;
	uint64_t fetches, failures;
	unsigned consecutive;
	char last_error[CG_CRL_ERR_LEN];
};

struct cg_crl_fetcher {
	struct cg_crl_config cfg;
	pthread_rwlock_t lock;   /* the table: readers are workers, writers register/complete */
	pthread_mutex_t wake_mu; /* the thread's sleep */
	pthread_cond_t wake;
	bool wake_flag;
	bool stop;
	pthread_t thread;
	struct entry e[CG_CRL_MAX_ENTRIES];
	size_t n;
	struct oentry *o; /* CG_OCSP_MAX_ENTRIES, allocated with the fetcher */
	size_t no;
	_Atomic uint64_t ocsp_fetches, ocsp_failures;
	atomic_flag logged_ocsp_full;
	_Atomic uint64_t epoch;
	_Atomic uint64_t fetches, failures, refused, lookups;
	/* Refusals that are not tracked as entries (table full, URL too
	 * long) would repeat per request: logged once each, then counted. */
	atomic_flag logged_full, logged_long;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int asn1_epoch(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static void name_text(const X509_NAME *n, char *buf, size_t cap)
{
	struct cg_arena a;
	struct cg_str s;
	cg_arena_init(&a, 4096, 64 * 1024);
	if (cg_x509_name_to_dotnet(n, &a, &s, NULL, 0) == 0)
		snprintf(buf, cap, "%.*s", CG_STR_FMT(s));
	else
		X509_NAME_oneline(n, buf, (int)cap);
	cg_arena_destroy(&a);
}

void cg_crl_config_init(struct cg_crl_config *cfg)
{
	cfg->connect_timeout_ms = CG_CRL_CONNECT_TIMEOUT_MS;
	cfg->fetch_timeout_ms = CG_CRL_FETCH_TIMEOUT_MS;
	cfg->max_crl_bytes = CG_CRL_MAX_BYTES;
	cfg->refresh_pct = CG_CRL_REFRESH_PCT;
	cfg->min_refresh_ms = CG_CRL_MIN_REFRESH_MS;
	cfg->retry_min_ms = CG_CRL_RETRY_MIN_MS;
	cfg->retry_max_ms = CG_CRL_RETRY_MAX_MS;
}

/* ---- HTTP/1.1 GET ------------------------------------------------------ */

struct url {
	char host[256];
	char port[6];
	const char *path; /* into the URL text; "/" when empty */
};

/* http://host[:port][/path]. Strict: no user info, no fragment, printable
 * ASCII only (the path goes on the request line as is). */
static int url_parse(const char *u, struct url *out, char *err, size_t errlen)
{
	size_t len = strlen(u);
	if (len > CG_CRL_MAX_URL_LEN) {
		seterr(err, errlen, "URL is longer than %d bytes", CG_CRL_MAX_URL_LEN);
		return -1;
	}
	if (strncasecmp(u, "https://", 8) == 0) {
		seterr(err, errlen, "https:// is not fetched (only http://: a CRL is signed, TLS adds nothing)");
		return -1;
	}
	if (strncasecmp(u, "http://", 7) != 0) {
		seterr(err, errlen, "not an http:// URL");
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f || u[i] == '#') {
			seterr(err, errlen, "URL has a space, control, non-ASCII or '#' character");
			return -1;
		}
	const char *h = u + 7, *p = h;
	const char *hend;
	if (*h == '[') {
		hend = strchr(h, ']');
		if (!hend) {
			seterr(err, errlen, "URL has an unterminated IPv6 address");
			return -1;
		}
		h++;
		p = hend + 1;
	} else {
		while (*p && *p != '/' && *p != ':' && *p != '?' && *p != '@')
			p++;
		hend = p;
	}
	if (*p == '@' || memchr(h, '@', (size_t)(hend - h))) {
		seterr(err, errlen, "URL has user information");
		return -1;
	}
	if (hend == h || (size_t)(hend - h) >= sizeof(out->host)) {
		seterr(err, errlen, "URL has no host or a host longer than 255 bytes");
		return -1;
	}
	memcpy(out->host, h, (size_t)(hend - h));
	out->host[hend - h] = '\0';
	snprintf(out->port, sizeof(out->port), "80");
	if (*p == ':') {
		const char *q = ++p;
		unsigned long v = 0;
		while (*p >= '0' && *p <= '9' && p - q < 6)
			v = v * 10 + (unsigned long)(*p++ - '0');
		if (p == q || v == 0 || v > 65535 || (*p && *p != '/' && *p != '?')) {
			seterr(err, errlen, "URL has an invalid port");
			return -1;
		}
		snprintf(out->port, sizeof(out->port), "%lu", v);
	}
	out->path = *p ? p : "/";
	return 0;
}

static int wait_fd(int fd, short ev, int64_t deadline, int64_t connect_deadline)
{
	int64_t d = deadline < connect_deadline ? deadline : connect_deadline;
	for (;;) {
		int64_t left = d - mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { .fd = fd, .events = ev };
		int r = poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int tcp_connect(const struct url *u, int64_t deadline, int64_t cdeadline, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res = NULL;
	int rc = getaddrinfo(u->host, u->port, &hints, &res);
	if (rc != 0) {
		seterr(err, errlen, "cannot resolve '%s': %s", u->host, gai_strerror(rc));
		return -1;
	}
	int fd = -1, last = 0;
	bool timed_out = false;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			int w = wait_fd(fd, POLLOUT, deadline, cdeadline);
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
				break;
			if (w == 0)
				timed_out = true;
			last = w == 1 ? soerr : errno;
		} else {
			last = errno;
		}
		close(fd);
		fd = -1;
		if (timed_out)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (timed_out)
			seterr(err, errlen, "cannot connect to %s:%s: timed out", u->host, u->port);
		else
			seterr(err, errlen, "cannot connect to %s:%s: %s", u->host, u->port, strerror(last));
	}
	return fd;
}

/* Header value of name (case-insensitive) in the header block [p, end);
 * -2 when it appears twice. */
static int find_header(const char *p, const char *end, const char *name, struct cg_str *out)
{
	size_t nl = strlen(name);
	int found = 0;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		struct cg_str line = cg_str_make(p, (size_t)(eol - p));
		if (line.len && line.ptr[line.len - 1] == '\r')
			line.len--;
		if (line.len > nl && line.ptr[nl] == ':' && cg_str_ieq(cg_str_make(line.ptr, nl), cg_str_make(name, nl))) {
			if (found)
				return -2;
			*out = cg_str_trim_ows(cg_str_sub(line, nl + 1, line.len - nl - 1));
			found = 1;
		}
		p = eol + 1;
	}
	return found;
}

#define ACCEPT_CRL "application/pkix-crl"
#define ACCEPT_OCSP "application/ocsp-response"

static const char *what_of(const char *accept)
{
	return strcmp(accept, ACCEPT_OCSP) == 0 ? "OCSP response" : "CRL";
}

/* GET url; the body into *body (malloc'd, caller frees). Everything is
 * bounded: the connect and whole-fetch deadlines, header bytes, body
 * bytes. Returns 0 or -1 with the reason in err. */
static int http_get(const struct cg_crl_config *cfg, const char *url, const char *accept, size_t max_bytes,
		    unsigned char **body, size_t *blen, char *err, size_t errlen)
{
	struct url u;
	*body = NULL;
	*blen = 0;
	if (url_parse(url, &u, err, errlen) != 0)
		return -1;
	int64_t start = mono_ms();
	int64_t deadline = start + cfg->fetch_timeout_ms;
	int fd = tcp_connect(&u, deadline, start + cfg->connect_timeout_ms, err, errlen);
	if (fd < 0)
		return -1;
	char req[CG_CRL_MAX_URL_LEN + 512];
	bool v6 = strchr(u.host, ':') != NULL;
	int rl = snprintf(req, sizeof(req),
			  "GET %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nAccept: %s\r\n"
			  "User-Agent: certgate\r\nConnection: close\r\n\r\n",
			  u.path, v6 ? "[" : "", u.host, v6 ? "]" : "", strcmp(u.port, "80") ? ":" : "",
			  strcmp(u.port, "80") ? u.port : "", accept);
	size_t cap = CG_CRL_MAX_HEADER_BYTES + max_bytes;
	unsigned char *buf = NULL;
	size_t n = 0, bufcap = 0, hdr_end = 0, want = SIZE_MAX;
	int rc = -1;
	for (size_t off = 0; off < (size_t)rl;) {
		ssize_t w = send(fd, req + off, (size_t)rl - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline, INT64_MAX) != 1) {
				seterr(err, errlen, "timed out after %u ms sending the request", cfg->fetch_timeout_ms);
				goto out;
			}
		} else {
			seterr(err, errlen, "send: %s", strerror(errno));
			goto out;
		}
	}
	for (;;) {
		if (n == bufcap) {
			size_t nc = bufcap ? bufcap * 2 : 16384;
			if (nc > cap + 1)
				nc = cap + 1;
			unsigned char *nb = realloc(buf, nc);
			if (!nb) {
				seterr(err, errlen, "out of memory");
				goto out;
			}
			buf = nb;
			bufcap = nc;
		}
		ssize_t r = recv(fd, buf + n, bufcap - n, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLIN, deadline, INT64_MAX) != 1) {
				seterr(err, errlen, "timed out after %u ms", cfg->fetch_timeout_ms);
				goto out;
			}
			continue;
		}
		if (r < 0) {
			seterr(err, errlen, "recv: %s", strerror(errno));
			goto out;
		}
		n += (size_t)r;
		if (!hdr_end) {
			unsigned char *e = NULL;
			for (size_t i = 3; i < n && !e; i++)
				if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
					e = buf + i + 1;
			if (!e) {
				if (n >= CG_CRL_MAX_HEADER_BYTES) {
					seterr(err, errlen, "response headers are longer than %d bytes",
					       CG_CRL_MAX_HEADER_BYTES);
					goto out;
				}
				if (r == 0) {
					seterr(err, errlen, "connection closed before the end of the response headers");
					goto out;
				}
				continue;
			}
			hdr_end = (size_t)(e - buf);
			const char *h = (const char *)buf, *hend = (const char *)buf + hdr_end;
			if (hdr_end < 16 || (memcmp(h, "HTTP/1.1 ", 9) != 0 && memcmp(h, "HTTP/1.0 ", 9) != 0)) {
				seterr(err, errlen, "not an HTTP/1.x response");
				goto out;
			}
			if (memcmp(h + 9, "200", 3) != 0 || (h[12] != ' ' && h[12] != '\r')) {
				seterr(err, errlen, "HTTP status %.3s (want 200; redirects are not followed)", h + 9);
				goto out;
			}
			struct cg_str v;
			int te = find_header(h, hend, "transfer-encoding", &v);
			if (te != 0) {
				seterr(err, errlen, "a Transfer-Encoding response is not accepted (send Content-Length)");
				goto out;
			}
			int cl = find_header(h, hend, "content-length", &v);
			if (cl == -2) {
				seterr(err, errlen, "response has two Content-Length headers");
				goto out;
			}
			if (cl == 1) {
				uint64_t len;
				if (!cg_str_to_u64(v, UINT64_MAX, &len)) {
					seterr(err, errlen, "invalid Content-Length");
					goto out;
				}
				if (len > max_bytes) {
					seterr(err, errlen, "%s is larger than %zu bytes (Content-Length %llu)",
					       what_of(accept), max_bytes, (unsigned long long)len);
					goto out;
				}
				want = (size_t)len;
			}
		}
		size_t have = n - hdr_end;
		if (have > max_bytes) {
			seterr(err, errlen, "%s is larger than %zu bytes", what_of(accept), max_bytes);
			goto out;
		}
		if (want != SIZE_MAX && have >= want) {
			if (have > want) {
				seterr(err, errlen, "response has more bytes than its Content-Length");
				goto out;
			}
			break;
		}
		if (r == 0) {
			if (want != SIZE_MAX) {
				seterr(err, errlen, "connection closed after %zu of %zu body bytes", have, want);
				goto out;
			}
			break;
		}
	}
	*blen = n - hdr_end;
	*body = malloc(*blen ? *blen : 1);
	if (!*body) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	memcpy(*body, buf + hdr_end, *blen);
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---- CRL checks -------------------------------------------------------- */

static bool is_pem(const unsigned char *d, size_t len)
{
	size_t i = 0;
	while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
		i++;
	return len - i >= 10 && memcmp(d + i, "-----BEGIN", 10) == 0;
}

/* Parses and checks a fetched body against issuer. NULL with err set. */
static X509_CRL *crl_accept(const unsigned char *d, size_t len, X509 *issuer, char *err, size_t errlen)
{
	X509_CRL *c = NULL;
	char name[256];
	if (len == 0) {
		seterr(err, errlen, "empty CRL");
		return NULL;
	}
	if (len > INT32_MAX) {
		seterr(err, errlen, "invalid CRL (neither PEM nor DER)");
		return NULL;
	}
	if (is_pem(d, len)) {
		BIO *b = BIO_new_mem_buf(d, (int)len);
		c = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
	} else {
		const unsigned char *p = d;
		c = d2i_X509_CRL(NULL, &p, (long)len);
		if (c && p != d + len) {
			X509_CRL_free(c);
			c = NULL;
		}
	}
	ERR_clear_error();
	if (!c) {
		seterr(err, errlen, "invalid CRL (neither PEM nor DER)");
		return NULL;
	}
	name_text(X509_get_subject_name(issuer), name, sizeof(name));
	if (X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(issuer)) != 0) {
		char cn[256];
		name_text(X509_CRL_get_issuer(c), cn, sizeof(cn));
		seterr(err, errlen, "CRL issuer '%s' is not the certificate issuer '%s'", cn, name);
		goto bad;
	}
	EVP_PKEY *k = X509_get0_pubkey(issuer);
	if (!k || X509_CRL_verify(c, k) != 1) {
		ERR_clear_error();
		seterr(err, errlen, "CRL signature does not verify with the key of '%s'", name);
		goto bad;
	}
	if (X509_CRL_get_ext_by_NID(c, NID_delta_crl, -1) >= 0) {
		seterr(err, errlen, "delta CRLs are not supported");
		goto bad;
	}
	int64_t t;
	if (asn1_epoch(X509_CRL_get0_lastUpdate(c), &t) ||
	    (X509_CRL_get0_nextUpdate(c) && asn1_epoch(X509_CRL_get0_nextUpdate(c), &t))) {
		seterr(err, errlen, "CRL has unreadable update dates");
		goto bad;
	}
	return c;
bad:
	X509_CRL_free(c);
	return NULL;
}

/* ---- the thread -------------------------------------------------------- */

static void sleep_until(struct cg_crl_fetcher *f, int64_t due_ms)
{
	pthread_mutex_lock(&f->wake_mu);
	if (!f->wake_flag && !f->stop) {
		struct timespec ts = { .tv_sec = (time_t)(due_ms / 1000), .tv_nsec = (long)(due_ms % 1000) * 1000000 };
		pthread_cond_timedwait(&f->wake, &f->wake_mu, &ts);
	}
	f->wake_flag = false;
	pthread_mutex_unlock(&f->wake_mu);
}

static void wake(struct cg_crl_fetcher *f)
{
	pthread_mutex_lock(&f->wake_mu);
	f->wake_flag = true;
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->wake_mu);
}

void cg_crl_fetcher_kick(struct cg_crl_fetcher *f)
{
	if (f)
		wake(f);
}

static bool stopping(struct cg_crl_fetcher *f)
{
	pthread_mutex_lock(&f->wake_mu);
	bool s = f->stop;
	pthread_mutex_unlock(&f->wake_mu);
	return s;
}

/* When to fetch again after a good CRL: at refresh_pct of its lifetime,
 * but not sooner than min_refresh_ms from now (a CA that republishes late
 * must not be polled in a loop). */
static int64_t next_due(const struct cg_crl_config *cfg, int64_t now, int64_t last, int64_t next)
{
	int64_t floor = now + cfg->min_refresh_ms;
	if (next == INT64_MAX)
		return now + CG_CRL_NO_NEXT_UPDATE_REFRESH_MS;
	int64_t life_ms = (next - last) * 1000;
	int64_t at = last * 1000 + (life_ms > 0 ? life_ms * cfg->refresh_pct / 100 : 0);
	return at > floor ? at : floor;
}

static void fetch_one(struct cg_crl_fetcher *f, size_t i)
{
	char url[CG_CRL_MAX_URL_LEN + 1], err[CG_CRL_ERR_LEN] = "";
	pthread_rwlock_rdlock(&f->lock);
	struct entry *e = &f->e[i];
	memcpy(url, e->url, sizeof(url));
	X509 *issuer = e->issuer; /* entries are never removed while the thread runs */
	pthread_rwlock_unlock(&f->lock);

	unsigned char *body = NULL;
	size_t blen = 0;
	X509_CRL *crl = NULL;
	if (http_get(&f->cfg, url, ACCEPT_CRL, f->cfg.max_crl_bytes, &body, &blen, err, sizeof(err)) == 0)
		crl = crl_accept(body, blen, issuer, err, sizeof(err));
	free(body);

	int64_t now = now_ms();
	X509_CRL *old = NULL;
	char iname[256];
	name_text(X509_get_subject_name(issuer), iname, sizeof(iname));
	pthread_rwlock_wrlock(&f->lock);
	e->inflight = false;
	if (crl) {
		old = e->crl;
		e->crl = crl;
		e->crl_bytes = blen;
		asn1_epoch(X509_CRL_get0_lastUpdate(crl), &e->last_update);
		e->next_update = INT64_MAX;
		if (X509_CRL_get0_nextUpdate(crl))
			asn1_epoch(X509_CRL_get0_nextUpdate(crl), &e->next_update);
		e->fetched_at = now / 1000;
		if (e->next_update != INT64_MAX && e->next_update * 1000 <= now) {
			/* Already stale: kept (verification reports "CRL has
			 * expired", fail closed) but retried with back-off like a
			 * failure, not polled every min_refresh_ms. */
			struct tm tm;
			time_t nu = (time_t)e->next_update;
			gmtime_r(&nu, &tm);
			snprintf(err, sizeof(err), "CRL is past its nextUpdate %04d-%02d-%02dT%02d:%02d:%02dZ",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
			crl = NULL; /* reported as a failure below; e->crl keeps it */
		} else {
			e->fetches++;
			e->consecutive = 0;
			e->last_error[0] = '\0';
			e->due_ms = next_due(&f->cfg, now, e->last_update, e->next_update);
			atomic_fetch_add(&f->fetches, 1);
		}
		/* Release: a reader that sees the new epoch sees the new CRL.
		 * The same CRL again (a CA that republishes late) changes no
		 * result: keep the workers' cached results. */
		if (!old || X509_CRL_match(old, e->crl) != 0)
			atomic_fetch_add_explicit(&f->epoch, 1, memory_order_release);
	}
	if (!crl) {
		e->failures++;
		e->consecutive++;
		snprintf(e->last_error, sizeof(e->last_error), "%s", err);
		uint64_t back = f->cfg.retry_min_ms;
		for (unsigned k = 1; k < e->consecutive && back < f->cfg.retry_max_ms; k++)
			back *= 2;
		if (back > f->cfg.retry_max_ms)
			back = f->cfg.retry_max_ms;
		e->due_ms = now + (int64_t)back;
		atomic_fetch_add(&f->failures, 1);
	}
	int64_t next_at = e->due_ms;
	pthread_rwlock_unlock(&f->lock);
	/* Readers hold their own references: the old CRL is freed when the
	 * last verification using it drops it. */
	X509_CRL_free(old);
	if (crl)
		cg_log_info("crl: fetched %s for '%s' (%zu bytes); next fetch in %lld s", url, iname, blen,
			    (long long)((next_at - now) / 1000));
	else
		cg_log_warn("crl: fetching %s for '%s' failed: %s (retry in %lld ms; revocation of its "
			    "certificates is unknown until a CRL is cached)",
			    url, iname, err, (long long)(next_at - now));
}

/* ---- OCSP --------------------------------------------------------------- */

/* RFC 6960 A.1: GET {url}/{url-encoding of base64 of the DER request}. */
static int ocsp_url(const char *base, OCSP_CERTID *id, char *out, size_t cap, char *err, size_t errlen)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *dup = OCSP_CERTID_dup(id);
	unsigned char *der = NULL;
	int n = -1;
	if (req && dup && OCSP_request_add0_id(req, dup))
		dup = NULL, n = i2d_OCSP_REQUEST(req, &der);
	OCSP_CERTID_free(dup);
	OCSP_REQUEST_free(req);
	if (n <= 0 || n > 1024) {
		OPENSSL_free(der);
		seterr(err, errlen, "cannot encode the OCSP request");
		return -1;
	}
	unsigned char b64[1400];
	int bl = EVP_EncodeBlock(b64, der, n);
	OPENSSL_free(der);
	size_t bn = strlen(base), j = 0;
	if (bn >= cap)
		goto long_;
	memcpy(out, base, bn);
	j = bn;
	if (!bn || out[bn - 1] != '/')
		out[j++] = '/';
	for (int i = 0; i < bl; i++) {
		if (j + 4 >= cap)
			goto long_;
		unsigned char c = b64[i];
		if (c == '+' || c == '/' || c == '=') {
			j += (size_t)snprintf(out + j, cap - j, "%%%02X", c);
		} else {
			out[j++] = (char)c;
		}
	}
	out[j] = '\0';
	return 0;
long_:
	seterr(err, errlen, "OCSP request URL is longer than %zu bytes", cap - 1);
	return -1;
}

/* Checks a response for id, signed by issuer or a responder it
 * delegated to (OCSP_basic_verify with issuer as the only anchor). */
static int ocsp_accept(const unsigned char *d, size_t len, OCSP_CERTID *id, X509 *issuer, int64_t now,
		       enum cg_ocsp_status *st, int64_t *thisu, int64_t *nextu, char *err, size_t errlen)
{
	const unsigned char *p = d;
	OCSP_RESPONSE *resp = len <= INT32_MAX ? d2i_OCSP_RESPONSE(NULL, &p, (long)len) : NULL;
	OCSP_BASICRESP *bs = NULL;
	X509_STORE *store = NULL;
	STACK_OF(X509) *certs = NULL;
	int rc = -1;
	if (!resp || p != d + len) {
		seterr(err, errlen, "invalid OCSP response (not DER)");
		goto out;
	}
	int rs = OCSP_response_status(resp);
	if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		seterr(err, errlen, "OCSP responder status %d (%s)", rs, OCSP_response_status_str(rs));
		goto out;
	}
	bs = OCSP_response_get1_basic(resp);
	store = X509_STORE_new();
	certs = sk_X509_new_null();
	if (!bs || !store || !certs || !X509_STORE_add_cert(store, issuer) || !sk_X509_push(certs, issuer)) {
		seterr(err, errlen, "invalid OCSP response (no basic response)");
		goto out;
	}
	/* The issuer is the anchor: partial chain, and "other" certificates
	 * (the issuer itself) may sign. The responder's dates are checked
	 * on the clock; a delegated responder needs id-kp-OCSPSigning. */
	if (OCSP_basic_verify(bs, certs, store, OCSP_PARTIAL_CHAIN | OCSP_TRUSTOTHER) <= 0) {
		char name[256];
		name_text(X509_get_subject_name(issuer), name, sizeof(name));
		seterr(err, errlen, "OCSP response signature does not verify with '%s' or a responder it delegated to",
		       name);
		goto out;
	}
	int status = -1, reason = 0;
	ASN1_GENERALIZEDTIME *rev = NULL, *tu = NULL, *nu = NULL;
	if (!OCSP_resp_find_status(bs, id, &status, &reason, &rev, &tu, &nu)) {
		seterr(err, errlen, "OCSP response has no status for the certificate");
		goto out;
	}
	if (asn1_epoch(tu, thisu) != 0 || (nu && asn1_epoch(nu, nextu) != 0)) {
		seterr(err, errlen, "OCSP response has unreadable dates");
		goto out;
	}
	if (!nu)
		*nextu = INT64_MAX;
	if (*thisu > now + CG_OCSP_SKEW_S) {
		seterr(err, errlen, "OCSP response thisUpdate is in the future");
		goto out;
	}
	if (*nextu <= now) {
		seterr(err, errlen, "OCSP response is past its nextUpdate");
		goto out;
	}
	*st = status == V_OCSP_CERTSTATUS_GOOD ? CG_OCSP_GOOD
	      : status == V_OCSP_CERTSTATUS_REVOKED ? CG_OCSP_REVOKED : CG_OCSP_UNKNOWN;
	rc = 0;
out:
	ERR_clear_error();
	sk_X509_free(certs);
	X509_STORE_free(store);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return rc;
}

static void ocsp_one(struct cg_crl_fetcher *f, size_t i)
{
	char base[CG_CRL_MAX_URL_LEN + 1], url[CG_CRL_MAX_URL_LEN + 1], err[CG_CRL_ERR_LEN] = "";
	pthread_rwlock_rdlock(&f->lock);
	struct oentry *o = &f->o[i];
	memcpy(base, o->url, sizeof(base));
	X509 *issuer = o->issuer;
	OCSP_CERTID *id = o->id;
	pthread_rwlock_unlock(&f->lock);

	int64_t start = now_ms();
	unsigned char *body = NULL;
	size_t blen = 0;
	enum cg_ocsp_status st = CG_OCSP_NONE;
	int64_t tu = 0, nu = INT64_MAX;
	int ok = ocsp_url(base, id, url, sizeof(url), err, sizeof(err)) == 0 &&
		 http_get(&f->cfg, url, ACCEPT_OCSP, CG_OCSP_MAX_BYTES, &body, &blen, err, sizeof(err)) == 0 &&
		 ocsp_accept(body, blen, id, issuer, start / 1000, &st, &tu, &nu, err, sizeof(err)) == 0;
	free(body);
	int64_t now = now_ms();
	pthread_rwlock_wrlock(&f->lock);
	o->inflight = false;
	if (ok) {
		o->status = st;
		o->this_update = tu;
		o->next_update = nu;
		o->fetches++;
		o->consecutive = 0;
		o->last_error[0] = '\0';
		o->due_ms = nu == INT64_MAX ? now + CG_OCSP_NO_NEXT_UPDATE_MS * (int64_t)f->cfg.refresh_pct / 100
					    : next_due(&f->cfg, now, tu, nu);
		if (nu == INT64_MAX && o->due_ms < now + f->cfg.min_refresh_ms)
			o->due_ms = now + f->cfg.min_refresh_ms;
		atomic_fetch_add(&f->ocsp_fetches, 1);
		atomic_fetch_add_explicit(&f->epoch, 1, memory_order_release);
	} else {
		o->failures++;
		o->consecutive++;
		snprintf(o->last_error, sizeof(o->last_error), "%s", err);
		uint64_t back = f->cfg.retry_min_ms;
		for (unsigned k = 1; k < o->consecutive && back < f->cfg.retry_max_ms; k++)
			back *= 2;
		if (back > f->cfg.retry_max_ms)
			back = f->cfg.retry_max_ms;
		o->due_ms = now + (int64_t)back;
		atomic_fetch_add(&f->ocsp_failures, 1);
	}
	pthread_rwlock_unlock(&f->lock);
	if (!ok)
		cg_log_warn("ocsp: asking %s failed: %s (revocation unknown until it answers)", base, err);
}

static void *fetch_main(void *arg)
{
	struct cg_crl_fetcher *f = arg;
	while (!stopping(f)) {
		int64_t now = now_ms(), soonest = now + 60000;
		size_t pick = SIZE_MAX;
		pthread_rwlock_wrlock(&f->lock);
		for (size_t i = 0; i < f->n; i++) {
			struct entry *e = &f->e[i];
			if (e->refused || e->inflight)
				continue;
			if (e->due_ms <= now && (pick == SIZE_MAX || e->due_ms < f->e[pick].due_ms))
				pick = i;
			else if (e->due_ms < soonest)
				soonest = e->due_ms;
		}
		size_t opick = SIZE_MAX;
		for (size_t i = 0; i < f->no && pick == SIZE_MAX; i++) {
			struct oentry *o = &f->o[i];
			if (o->refused || o->inflight)
				continue;
			if (o->due_ms <= now && (opick == SIZE_MAX || o->due_ms < f->o[opick].due_ms))
				opick = i;
			else if (o->due_ms < soonest)
				soonest = o->due_ms;
		}
		if (pick != SIZE_MAX)
			f->e[pick].inflight = true;
		else if (opick != SIZE_MAX)
			f->o[opick].inflight = true;
		pthread_rwlock_unlock(&f->lock);
		if (pick != SIZE_MAX)
			fetch_one(f, pick);
		else if (opick != SIZE_MAX)
			ocsp_one(f, opick);
		else
			sleep_until(f, soonest);
	}
	return NULL;
}

struct cg_crl_fetcher *cg_crl_fetcher_new(const struct cg_crl_config *cfg, char *err, size_t errlen)
{
	struct cg_crl_config c;
	cg_crl_config_init(&c);
	if (cfg) {
		c = *cfg;
		struct cg_crl_config d;
		cg_crl_config_init(&d);
#define DEF(x) if (!c.x) c.x = d.x
		DEF(connect_timeout_ms);
		DEF(fetch_timeout_ms);
		DEF(max_crl_bytes);
		DEF(refresh_pct);
		DEF(min_refresh_ms);
		DEF(retry_min_ms);
		DEF(retry_max_ms);
#undef DEF
	}
	if (c.refresh_pct < 1 || c.refresh_pct > 99) {
		seterr(err, errlen, "CRL refresh must be 1..99 percent of its lifetime, not %u", c.refresh_pct);
		return NULL;
	}
	if (c.max_crl_bytes > (256u << 20)) {
		seterr(err, errlen, "CRL size limit must be at most 268435456 bytes");
		return NULL;
	}
	struct cg_crl_fetcher *f = calloc(1, sizeof(*f));
	if (f && !(f->o = calloc(CG_OCSP_MAX_ENTRIES, sizeof(*f->o)))) {
		free(f);
		f = NULL;
	}
	if (!f) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	f->cfg = c;
	atomic_flag_clear(&f->logged_full);
	atomic_flag_clear(&f->logged_long);
	atomic_flag_clear(&f->logged_ocsp_full);
	pthread_rwlock_init(&f->lock, NULL);
	pthread_mutex_init(&f->wake_mu, NULL);
	pthread_cond_init(&f->wake, NULL);
	if (pthread_create(&f->thread, NULL, fetch_main, f) != 0) {
		seterr(err, errlen, "cannot start the CRL fetcher thread");
		pthread_cond_destroy(&f->wake);
		pthread_mutex_destroy(&f->wake_mu);
		pthread_rwlock_destroy(&f->lock);
		free(f->o);
		free(f);
		return NULL;
	}
	return f;
}

void cg_crl_fetcher_free(struct cg_crl_fetcher *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->wake_mu);
	f->stop = true;
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->wake_mu);
	pthread_join(f->thread, NULL);
	for (size_t i = 0; i < f->n; i++) {
		X509_free(f->e[i].issuer);
		f->e[i].issuer = NULL;
		X509_CRL_free(f->e[i].crl);
		f->e[i].crl = NULL;
	}
	for (size_t i = 0; i < f->no; i++) {
		X509_free(f->o[i].issuer);
		OCSP_CERTID_free(f->o[i].id);
	}
	free(f->o);
	f->o = NULL;
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->wake_mu);
	pthread_rwlock_destroy(&f->lock);
	free(f);
}

uint64_t cg_crl_fetcher_epoch(const struct cg_crl_fetcher *f)
{
	return f ? atomic_load_explicit(&((struct cg_crl_fetcher *)f)->epoch, memory_order_acquire) : 0;
}

/* ---- the request path -------------------------------------------------- */

/* The http-ish URIs of cert's distribution points, at most
 * CG_CRL_MAX_DP_PER_CERT (a certificate may list many; we follow the first
 * few, in order). Returns the count; urls[i] point into dps. */
static int cert_urls(STACK_OF(DIST_POINT) *dps, const char *urls[CG_CRL_MAX_DP_PER_CERT],
		     size_t lens[CG_CRL_MAX_DP_PER_CERT])
{
	int n = 0;
	for (int i = 0; i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		/* Only full names; a relative name or a cRLIssuer (indirect
		 * CRL) is not ours to fetch. */
		if (!dp->distpoint || dp->distpoint->type != 0 || dp->CRLissuer)
			continue;
		GENERAL_NAMES *gn = dp->distpoint->name.fullname;
		for (int k = 0; k < sk_GENERAL_NAME_num(gn); k++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(gn, k);
			if (g->type != GEN_URI)
				continue;
			if (n == CG_CRL_MAX_DP_PER_CERT)
				return n;
			urls[n] = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
			lens[n] = (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier);
			n++;
		}
	}
	return n;
}

static struct entry *find(struct cg_crl_fetcher *f, const unsigned char sha[20], const char *url, size_t len)
{
	for (size_t i = 0; i < f->n; i++)
		if (memcmp(f->e[i].issuer_sha1, sha, 20) == 0 && strlen(f->e[i].url) == len &&
		    memcmp(f->e[i].url, url, len) == 0)
			return &f->e[i];
	return NULL;
}

/* Adds (issuer, url) under the write lock. A URL we will not fetch is
 * still tracked (refused, with its reason) so that it is logged once and
 * shows in metrics, not per request. */
static void register_dp(struct cg_crl_fetcher *f, X509 *issuer, const unsigned char sha[20], const char *url,
			size_t len)
{
	char iname[256], err[CG_CRL_ERR_LEN] = "";
	bool refused = false, full = false;
	if (len > CG_CRL_MAX_URL_LEN) {
		atomic_fetch_add(&f->refused, 1);
		if (!atomic_flag_test_and_set(&f->logged_long)) {
			name_text(X509_get_subject_name(issuer), iname, sizeof(iname));
			cg_log_warn("crl: a distribution point of a certificate from '%s' is longer than %d bytes: "
				    "not fetched (logged once; see certgate_crl_refused_total)",
				    iname, CG_CRL_MAX_URL_LEN);
		}
		return;
	}
	char u[CG_CRL_MAX_URL_LEN + 1];
	memcpy(u, url, len);
	u[len] = '\0';
	struct url pu;
	if (memchr(url, '\0', len) || url_parse(u, &pu, err, sizeof(err)) != 0) {
		refused = true;
		if (!err[0])
			snprintf(err, sizeof(err), "URL has a NUL byte");
	}
	pthread_rwlock_wrlock(&f->lock);
	if (find(f, sha, url, len)) {
		pthread_rwlock_unlock(&f->lock);
		return;
	}
	if (f->n >= CG_CRL_MAX_ENTRIES) {
		full = true;
	} else if (X509_up_ref(issuer)) {
		struct entry *e = &f->e[f->n];
		memset(e, 0, sizeof(*e));
		memcpy(e->issuer_sha1, sha, 20);
		e->issuer = issuer;
		memcpy(e->url, u, len + 1);
		e->refused = refused;
		e->due_ms = refused ? INT64_MAX : 0;
		snprintf(e->last_error, sizeof(e->last_error), "%s", err);
		f->n++;
	}
	pthread_rwlock_unlock(&f->lock);
	name_text(X509_get_subject_name(issuer), iname, sizeof(iname));
	if (full) {
		atomic_fetch_add(&f->refused, 1);
		if (!atomic_flag_test_and_set(&f->logged_full))
			cg_log_warn("crl: more than %d distribution points are tracked; %s for '%s' is not fetched "
				    "(logged once; see certgate_crl_refused_total)",
				    CG_CRL_MAX_ENTRIES, u, iname);
	} else if (refused) {
		atomic_fetch_add(&f->refused, 1);
		cg_log_warn("crl: distribution point %s for '%s' is not fetched: %s", u, iname, err);
	} else {
		wake(f);
	}
}

int cg_crl_fetcher_lookup(struct cg_crl_fetcher *f, X509 *cert, X509 *issuer, STACK_OF(X509_CRL) *out,
			  int64_t *from, int64_t *until)
{
	unsigned char sha[20];
	unsigned int hl = 0;
	if (!f || !cert || !issuer || !out)
		return 0;
	atomic_fetch_add_explicit(&f->lookups, 1, memory_order_relaxed);
	/* X509_digest with SHA-1 copies the hash OpenSSL kept at decode. */
	if (X509_digest(issuer, EVP_sha1(), sha, &hl) != 1 || hl != 20)
		return 0;
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	if (!dps) {
		ERR_clear_error();
		return 0;
	}
	const char *urls[CG_CRL_MAX_DP_PER_CERT];
	size_t lens[CG_CRL_MAX_DP_PER_CERT];
	int nu = cert_urls(dps, urls, lens), added = 0;
	bool missing[CG_CRL_MAX_DP_PER_CERT] = { false };
	pthread_rwlock_rdlock(&f->lock);
	for (int i = 0; i < nu; i++) {
		struct entry *e = find(f, sha, urls[i], lens[i]);
		if (!e) {
			missing[i] = true;
			continue;
		}
		if (!e->crl || !X509_CRL_up_ref(e->crl))
			continue;
		if (!sk_X509_CRL_push(out, e->crl)) {
			X509_CRL_free(e->crl);
			continue;
		}
		added++;
		if (e->last_update > *from)
			*from = e->last_update;
		if (e->next_update < *until)
			*until = e->next_update;
	}
	pthread_rwlock_unlock(&f->lock);
	/* New points are fetched only for a certificate the issuer really
	 * signed: a forged certificate must not choose what we fetch. */
	bool any = false;
	for (int i = 0; i < nu; i++)
		any |= missing[i];
	if (any) {
		EVP_PKEY *k = X509_get0_pubkey(issuer);
		if (k && X509_verify(cert, k) == 1) {
			for (int i = 0; i < nu; i++)
				if (missing[i])
					register_dp(f, issuer, sha, urls[i], lens[i]);
		}
		ERR_clear_error();
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return added;
}

static struct oentry *ofind(struct cg_crl_fetcher *f, const unsigned char sha[20], const ASN1_INTEGER *serial)
{
	const unsigned char *sd = ASN1_STRING_get0_data(serial);
	size_t sl = (size_t)ASN1_STRING_length(serial);
	for (size_t i = 0; i < f->no; i++)
		if (f->o[i].serial_len == sl && memcmp(f->o[i].serial, sd, sl) == 0 &&
		    memcmp(f->o[i].issuer_sha1, sha, 20) == 0)
			return &f->o[i];
	return NULL;
}

static void ocsp_register(struct cg_crl_fetcher *f, X509 *cert, X509 *issuer, const unsigned char sha[20])
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	if ((size_t)ASN1_STRING_length(serial) > CG_OCSP_MAX_SERIAL)
		return;
	STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
	if (!urls)
		return; /* no responder named: nothing to ask */
	const char *u = sk_OPENSSL_STRING_value(urls, 0); /* the first one, like OpenSSL's tools */
	char err[CG_CRL_ERR_LEN] = "";
	struct url pu;
	bool refused = !u || strlen(u) > CG_CRL_MAX_URL_LEN || url_parse(u, &pu, err, sizeof(err)) != 0;
	if (refused && !err[0])
		snprintf(err, sizeof(err), "URL is longer than %d bytes", CG_CRL_MAX_URL_LEN);
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
	bool full = false, added = false;
	pthread_rwlock_wrlock(&f->lock);
	if (id && !ofind(f, sha, serial)) {
		if (f->no >= CG_OCSP_MAX_ENTRIES) {
			full = true;
		} else if (X509_up_ref(issuer)) {
			struct oentry *o = &f->o[f->no++];
			memset(o, 0, sizeof(*o));
			memcpy(o->issuer_sha1, sha, 20);
			o->serial_len = (size_t)ASN1_STRING_length(serial);
			memcpy(o->serial, ASN1_STRING_get0_data(serial), o->serial_len);
			o->issuer = issuer;
			o->id = id;
			id = NULL;
			snprintf(o->url, sizeof(o->url), "%s", refused ? "" : u);
			o->refused = refused;
			o->due_ms = refused ? INT64_MAX : 0;
			o->next_update = INT64_MAX;
			snprintf(o->last_error, sizeof(o->last_error), "%s", err);
			added = true;
		}
	}
	pthread_rwlock_unlock(&f->lock);
	OCSP_CERTID_free(id);
	if (full) {
		atomic_fetch_add(&f->refused, 1);
		if (!atomic_flag_test_and_set(&f->logged_ocsp_full))
			cg_log_warn("ocsp: more than %d certificates are tracked; %s is not asked (logged once)",
				    CG_OCSP_MAX_ENTRIES, u);
	} else if (added && refused) {
		atomic_fetch_add(&f->refused, 1);
		cg_log_warn("ocsp: responder %.200s is not asked: %s", u ? u : "", err);
	} else if (added) {
		wake(f);
	}
	X509_email_free(urls);
	ERR_clear_error();
}

enum cg_ocsp_status cg_crl_fetcher_ocsp(struct cg_crl_fetcher *f, X509 *cert, X509 *issuer, int64_t now,
					int64_t *from, int64_t *until)
{
	unsigned char sha[20];
	unsigned int hl = 0;
	if (!f || !cert || !issuer || X509_digest(issuer, EVP_sha1(), sha, &hl) != 1 || hl != 20)
		return CG_OCSP_NONE;
	enum cg_ocsp_status st = CG_OCSP_NONE;
	bool tracked;
	pthread_rwlock_rdlock(&f->lock);
	struct oentry *o = ofind(f, sha, X509_get0_serialNumber(cert));
	tracked = o != NULL;
	if (o && o->status != CG_OCSP_NONE && now + CG_OCSP_SKEW_S >= o->this_update && now < o->next_update) {
		st = o->status;
		if (o->next_update < *until)
			*until = o->next_update;
		if (o->this_update - CG_OCSP_SKEW_S > *from)
			*from = o->this_update - CG_OCSP_SKEW_S;
	}
	pthread_rwlock_unlock(&f->lock);
	if (!tracked) {
		EVP_PKEY *k = X509_get0_pubkey(issuer);
		if (k && X509_verify(cert, k) == 1)
			ocsp_register(f, cert, issuer, sha);
		ERR_clear_error();
	}
	return st;
}

bool cg_crl_fetcher_ocsp_stats(struct cg_crl_fetcher *f, X509 *cert, X509 *issuer, struct cg_ocsp_entry_stats *out)
{
	unsigned char sha[20];
	unsigned int hl = 0;
	memset(out, 0, sizeof(*out));
	if (!f || !cert || !issuer || X509_digest(issuer, EVP_sha1(), sha, &hl) != 1 || hl != 20)
		return false;
	pthread_rwlock_rdlock(&f->lock);
	struct oentry *o = ofind(f, sha, X509_get0_serialNumber(cert));
	if (o) {
		snprintf(out->url, sizeof(out->url), "%s", o->url);
		out->status = o->status;
		out->refused = o->refused;
		out->this_update = o->this_update;
		out->next_update = o->next_update;
		out->fetches = o->fetches;
		out->failures = o->failures;
		out->consecutive_failures = o->consecutive;
		snprintf(out->last_error, sizeof(out->last_error), "%s", o->last_error);
	}
	pthread_rwlock_unlock(&f->lock);
	return o != NULL;
}

/* ---- metrics ----------------------------------------------------------- */

size_t cg_crl_fetcher_stats(struct cg_crl_fetcher *f, int64_t now, struct cg_crl_entry_stats *out, size_t max,
			    struct cg_crl_totals *tot)
{
	if (!f) {
		if (tot)
			memset(tot, 0, sizeof(*tot));
		return 0;
	}
	pthread_rwlock_rdlock(&f->lock);
	size_t n = f->n;
	for (size_t i = 0; out && i < n && i < max; i++) {
		const struct entry *e = &f->e[i];
		struct cg_crl_entry_stats *s = &out[i];
		memset(s, 0, sizeof(*s));
		name_text(X509_get_subject_name(e->issuer), s->issuer, sizeof(s->issuer));
		static const char hx[] = "0123456789ABCDEF";
		for (int k = 0; k < 20; k++) {
			s->issuer_thumbprint[2 * k] = hx[e->issuer_sha1[k] >> 4];
			s->issuer_thumbprint[2 * k + 1] = hx[e->issuer_sha1[k] & 15];
		}
		snprintf(s->url, sizeof(s->url), "%s", e->url);
		s->has_crl = e->crl != NULL;
		s->refused = e->refused;
		s->last_update = e->crl ? e->last_update : 0;
		s->next_update = e->crl ? e->next_update : 0;
		s->age_s = e->crl ? now - e->last_update : -1;
		s->stale = e->crl && now >= e->next_update;
		s->fetched_at = e->fetched_at;
		s->next_fetch_at = e->due_ms == INT64_MAX ? INT64_MAX : e->due_ms / 1000;
		s->fetches = e->fetches;
		s->failures = e->failures;
		s->consecutive_failures = e->consecutive;
		s->crl_bytes = e->crl_bytes;
		STACK_OF(X509_REVOKED) *rv = e->crl ? X509_CRL_get_REVOKED(e->crl) : NULL;
		s->revoked_entries = rv ? sk_X509_REVOKED_num(rv) : 0;
		snprintf(s->last_error, sizeof(s->last_error), "%s", e->last_error);
	}
	pthread_rwlock_unlock(&f->lock);
	if (tot) {
		tot->fetches = atomic_load(&f->fetches);
		tot->failures = atomic_load(&f->failures);
		tot->refused = atomic_load(&f->refused);
		tot->lookups = atomic_load(&f->lookups);
		tot->epoch = cg_crl_fetcher_epoch(f);
		tot->entries = n;
		tot->ocsp_fetches = atomic_load(&f->ocsp_fetches);
		tot->ocsp_failures = atomic_load(&f->ocsp_failures);
		pthread_rwlock_rdlock(&f->lock);
		tot->ocsp_entries = f->no;
		pthread_rwlock_unlock(&f->lock);
	}
	return n;
}

/* A Prometheus label value: \, " and newline escaped. */
static void label(char *dst, size_t cap, const char *s)
{
	size_t j = 0;
	for (; *s && j + 3 < cap; s++) {
		if (*s == '\\' || *s == '"') {
			dst[j++] = '\\';
			dst[j++] = *s;
		} else if (*s == '\n') {
			dst[j++] = '\\';
			dst[j++] = 'n';
		} else {
			dst[j++] = *s;
		}
	}
	dst[j] = '\0';
}

static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	if (*len >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < cap - *len)
		*len += (size_t)n;
	else
		buf[*len] = '\0'; /* did not fit: drop the line whole */
}

size_t cg_crl_fetcher_metrics(struct cg_crl_fetcher *f, int64_t now, char *buf, size_t cap)
{
	if (!buf || !cap)
		return 0;
	buf[0] = '\0';
	struct cg_crl_totals tot;
	struct cg_crl_entry_stats *st = calloc(CG_CRL_MAX_ENTRIES, sizeof(*st));
	char(*lb)[2800] = calloc(CG_CRL_MAX_ENTRIES, sizeof(*lb));
	if (!st || !lb) {
		free(st);
		free(lb);
		return 0;
	}
	size_t n = cg_crl_fetcher_stats(f, now, st, CG_CRL_MAX_ENTRIES, &tot), len = 0;
	if (n > CG_CRL_MAX_ENTRIES)
		n = CG_CRL_MAX_ENTRIES;
	const struct {
		const char *name;
		uint64_t v;
	} counters[] = {
		{ "certgate_crl_fetches_total", tot.fetches },
		{ "certgate_crl_fetch_failures_total", tot.failures },
		{ "certgate_crl_refused_total", tot.refused },
		{ "certgate_ocsp_fetches_total", tot.ocsp_fetches },
		{ "certgate_ocsp_fetch_failures_total", tot.ocsp_failures },
	};
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		put(buf, cap, &len, "# TYPE %s counter\n", counters[i].name);
		put(buf, cap, &len, "%s %llu\n", counters[i].name, (unsigned long long)counters[i].v);
	}
	for (size_t i = 0; i < n; i++) {
		char is[600], u[2 * CG_CRL_MAX_URL_LEN + 8];
		label(is, sizeof(is), st[i].issuer);
		label(u, sizeof(u), st[i].url);
		snprintf(lb[i], sizeof(lb[i]), "{issuer=\"%s\",url=\"%s\"}", is, u);
	}
	/* Prometheus wants each family's lines together. */
	put(buf, cap, &len, "# TYPE certgate_crl_age_seconds gauge\n");
	for (size_t i = 0; i < n; i++)
		if (st[i].has_crl)
			put(buf, cap, &len, "certgate_crl_age_seconds%s %lld\n", lb[i], (long long)st[i].age_s);
	put(buf, cap, &len, "# TYPE certgate_crl_next_update_seconds gauge\n");
	for (size_t i = 0; i < n; i++)
		if (st[i].has_crl && st[i].next_update != INT64_MAX)
			put(buf, cap, &len, "certgate_crl_next_update_seconds%s %lld\n", lb[i],
			    (long long)(st[i].next_update - now));
	put(buf, cap, &len, "# TYPE certgate_crl_stale gauge\n");
	for (size_t i = 0; i < n; i++)
		put(buf, cap, &len, "certgate_crl_stale%s %d\n", lb[i], st[i].has_crl ? (int)st[i].stale : 1);
	put(buf, cap, &len, "# TYPE certgate_crl_consecutive_failures gauge\n");
	for (size_t i = 0; i < n; i++)
		put(buf, cap, &len, "certgate_crl_consecutive_failures%s %u\n", lb[i], st[i].consecutive_failures);
	free(st);
	free(lb);
	return len;
}
