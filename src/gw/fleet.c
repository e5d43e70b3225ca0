/* Fleet-wide throttling counters over UDP (fleet.h, docs/fleet.md). */
#include "gw/fleet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "gw/serve.h"

#define HEARTBEAT_MS 1000   /* an idle gateway still says it is there */
#define SILENT_MS 3000      /* a peer not heard from this long is down */
#define DROP_LOG_MS 10000   /* at most one line about refused datagrams */
#define RECV_BATCH 256      /* datagrams read per wake, then a tick is due */
#define DRAIN_ROUNDS 4096   /* bounds one tick's drain under a flood of calls */

/* ---- the datagram ---------------------------------------------------------- */

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

const char *cg_fleet_verdict_name(enum cg_fleet_verdict v)
{
	static const char *const names[CG_FLEET_VERDICTS] = { "ok", "malformed", "mac", "replay", "stale" };
	return (unsigned)v < CG_FLEET_VERDICTS ? names[v] : "?";
}

static bool mac_of(const unsigned char *key, size_t keylen, const unsigned char *data, size_t len,
		   unsigned char out[CG_FLEET_MAC_LEN])
{
	unsigned int n = 0;
	return HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) && n == CG_FLEET_MAC_LEN;
}

size_t cg_fleet_encode(const struct cg_fleet_msg *m, const unsigned char *key, size_t keylen, unsigned char *out,
		       size_t cap)
{
	if (m->count > CG_FLEET_MAX_RECORDS || cap < CG_FLEET_MAX_DGRAM)
		return 0;
	unsigned char *p = out;
	memcpy(p, CG_FLEET_MAGIC, 4);
	put64(p + 4, m->sender);
	put64(p + 12, m->seq);
	put64(p + 20, (uint64_t)m->time_ms);
	p[28] = (unsigned char)(m->count >> 8);
	p[29] = (unsigned char)m->count;
	p += CG_FLEET_HEAD_LEN;
	for (unsigned i = 0; i < m->count; i++, p += CG_FLEET_REC_LEN) {
		const struct cg_limit_delta *d = &m->rec[i];
		memcpy(p, d->key.h, 32);
		put64(p + 32, d->period_ms);
		put64(p + 40, (uint64_t)d->end_ms);
		put64(p + 48, d->delta);
	}
	size_t body = (size_t)(p - out);
	return mac_of(key, keylen, out, body, p) ? body + CG_FLEET_MAC_LEN : 0;
}

enum cg_fleet_verdict cg_fleet_decode(const unsigned char *in, size_t len, const unsigned char *key, size_t keylen,
				      struct cg_fleet_msg *m)
{
	if (len < CG_FLEET_HEAD_LEN + CG_FLEET_MAC_LEN || len > CG_FLEET_MAX_DGRAM)
		return CG_FLEET_MALFORMED;
	size_t body = len - CG_FLEET_MAC_LEN;
	unsigned char mac[CG_FLEET_MAC_LEN];
	/* The MAC first: nothing from a sender without the key is read. */
	if (!mac_of(key, keylen, in, body, mac) || CRYPTO_memcmp(mac, in + body, CG_FLEET_MAC_LEN) != 0)
		return CG_FLEET_BAD_MAC;
	unsigned count = (unsigned)in[28] << 8 | in[29];
	if (memcmp(in, CG_FLEET_MAGIC, 4) != 0 || count > CG_FLEET_MAX_RECORDS ||
	    body != CG_FLEET_HEAD_LEN + (size_t)count * CG_FLEET_REC_LEN)
		return CG_FLEET_MALFORMED;
	m->sender = get64(in + 4);
	m->seq = get64(in + 12);
	m->time_ms = (int64_t)get64(in + 20);
	m->count = count;
	const unsigned char *p = in + CG_FLEET_HEAD_LEN;
	for (unsigned i = 0; i < count; i++, p += CG_FLEET_REC_LEN) {
		struct cg_limit_delta *d = &m->rec[i];
		memcpy(d->key.h, p, 32);
		d->period_ms = get64(p + 32);
		d->end_ms = (int64_t)get64(p + 40);
		d->delta = get64(p + 48);
	}
	return CG_FLEET_OK;
}

/* The sender's slot: its own, else a free one, else the one heard from
 * least recently (forgotten). */
static int replay_slot(struct cg_fleet_replay *r, uint64_t sender)
{
	int victim = 0;
	for (int i = 0; i < CG_FLEET_MAX_SENDERS; i++) {
		if (r->s[i].used && r->s[i].sender == sender)
			return i;
		if (!r->s[i].used || (r->s[victim].used && r->s[i].seen_ms < r->s[victim].seen_ms))
			victim = i;
	}
	memset(&r->s[victim], 0, sizeof(r->s[victim]));
	r->s[victim].sender = sender;
	r->s[victim].used = true;
	return victim;
}

enum cg_fleet_verdict cg_fleet_replay_check(struct cg_fleet_replay *r, const struct cg_fleet_msg *m, int64_t now_ms)
{
	/* Bounds the replay of a datagram this guard never saw (a sender
	 * forgotten, or this gateway restarted) to CG_FLEET_MAX_SKEW_MS. */
	if (m->time_ms < now_ms - CG_FLEET_MAX_SKEW_MS || m->time_ms > now_ms + CG_FLEET_MAX_SKEW_MS)
		return CG_FLEET_STALE;
	if (m->seq == 0)
		return CG_FLEET_REPLAY;
	int i = replay_slot(r, m->sender);
	uint64_t top = r->s[i].top;
	if (m->seq > top) {
		uint64_t shift = m->seq - top;
		r->s[i].bits = shift >= 64 ? 0 : r->s[i].bits << shift;
		r->s[i].bits |= 1; /* bit k: top - k was seen */
		r->s[i].top = m->seq;
	} else {
		uint64_t back = top - m->seq;
		if (back >= CG_FLEET_REPLAY_WINDOW || (r->s[i].bits >> back & 1))
			return CG_FLEET_REPLAY;
		r->s[i].bits |= (uint64_t)1 << back;
	}
	r->s[i].seen_ms = now_ms;
	return CG_FLEET_OK;
}

size_t cg_fleet_key_load(const char *path, unsigned char *key, size_t cap, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "fleet key file '%s': %s", path, strerror(errno));
		return 0;
	}
	struct stat st;
	size_t n = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "fleet key file '%s': not a regular file", path);
		goto out;
	}
	if (st.st_size > CG_FLEET_KEY_MAX || cap < (size_t)st.st_size) {
		snprintf(err, errlen, "fleet key file '%s': larger than %d bytes", path, CG_FLEET_KEY_MAX);
		goto out;
	}
	ssize_t got;
	while (n < (size_t)st.st_size && (got = read(fd, key + n, (size_t)st.st_size - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(err, errlen, "fleet key file '%s': %s", path, strerror(errno));
			OPENSSL_cleanse(key, n);
			n = 0;
			goto out;
		}
		n += (size_t)got;
	}
	while (n && (key[n - 1] == '\n' || key[n - 1] == '\r' || key[n - 1] == ' ' || key[n - 1] == '\t'))
		n--;
	if (n < CG_FLEET_KEY_MIN) {
		snprintf(err, errlen,
			 "fleet key file '%s': holds %zu bytes; a fleet key needs at least %d "
			 "(e.g. openssl rand -hex 32 > FILE)",
			 path, n, CG_FLEET_KEY_MIN);
		OPENSSL_cleanse(key, n);
		n = 0;
	}
out:
	close(fd);
	return n;
}

/* ---- the runtime ----------------------------------------------------------- */

struct fleet_peer {
	const char *spec;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int64_t heard_ms;  /* monotonic; 0: never */
	int state;         /* 0 not heard yet, 1 up, 2 down (logged once each way) */
	bool send_failing; /* logged once until a send works again */
};

struct cg_fleet {
	int fd, wake_fd;
	pthread_t thread;
	unsigned char key[CG_FLEET_KEY_MAX];
	size_t keylen;
	uint64_t interval_ms;
	uint64_t sender, seq;
	int64_t started_ms, last_sent_ms, drop_log_ms;
	uint64_t drops_unlogged;
	struct fleet_peer peers[CG_FLEET_MAX_PEERS];
	int num_peers;
	struct cg_fleet_replay replay;
	struct cg_fleet_msg out; /* the datagram being filled */
	atomic_uint_fast64_t sent, received, applied, ignored, peers_up;
	atomic_uint_fast64_t rejected[CG_FLEET_VERDICTS];
};

static int64_t now_ms(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char host[64] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
		snprintf(out, len, "%s:%u", host, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
		snprintf(out, len, "[%s]:%u", host, port);
	} else {
		snprintf(out, len, "?");
	}
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

static void send_one(struct cg_fleet *f, struct fleet_peer *p, const unsigned char *buf, size_t len)
{
	ssize_t n;
	do
		n = sendto(f->fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&p->addr, p->addrlen);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len) {
		count(&f->sent, 1);
		if (p->send_failing)
			cg_log_info("fleet: peer %s: sending again", p->spec);
		p->send_failing = false;
		return;
	}
	if (!p->send_failing)
		cg_log_warn("fleet: peer %s: send: %s (its share of the counts is missing until it works)", p->spec,
			    n < 0 ? strerror(errno) : "short write");
	p->send_failing = true;
}

/* Seals f->out and sends it to every peer; empties it. */
static void flush_msg(struct cg_fleet *f)
{
	unsigned char buf[CG_FLEET_MAX_DGRAM];
	f->out.sender = f->sender;
	f->out.seq = ++f->seq;
	f->out.time_ms = now_ms(CLOCK_REALTIME);
	size_t len = cg_fleet_encode(&f->out, f->key, f->keylen, buf, sizeof(buf));
	f->out.count = 0;
	if (!len)
		return;
	for (int i = 0; i < f->num_peers; i++)
		send_one(f, &f->peers[i], buf, len);
	f->last_sent_ms = now_ms(CLOCK_MONOTONIC);
}

/* Sends the calls counted since the last tick; a heartbeat when there were
 * none for HEARTBEAT_MS. */
static void send_deltas(struct cg_fleet *f)
{
	bool any = false;
	for (int round = 0; round < DRAIN_ROUNDS; round++) {
		size_t n = cg_limits_drain(f->out.rec, CG_FLEET_MAX_RECORDS);
		if (!n)
			break;
		f->out.count = (unsigned)n;
		flush_msg(f);
		any = true;
		if (n < CG_FLEET_MAX_RECORDS)
			break;
	}
	if (!any && now_ms(CLOCK_MONOTONIC) - f->last_sent_ms >= HEARTBEAT_MS)
		flush_msg(f);
}

/* Logs peers going silent or coming back, once each way. */
static void watch_peers(struct cg_fleet *f)
{
	int64_t now = now_ms(CLOCK_MONOTONIC);
	uint64_t up = 0;
	for (int i = 0; i < f->num_peers; i++) {
		struct fleet_peer *p = &f->peers[i];
		int64_t since = p->heard_ms ? p->heard_ms : f->started_ms;
		if (now - since > SILENT_MS) {
			if (p->state != 2)
				cg_log_warn("fleet: peer %s: nothing heard for %d s: counting without its calls "
					    "until it answers",
					    p->spec, SILENT_MS / 1000);
			p->state = 2;
		} else if (p->state == 1) {
			up++;
		}
	}
	atomic_store_explicit(&f->peers_up, up, memory_order_relaxed);
}

static void heard_from(struct cg_fleet *f, const struct sockaddr_storage *from)
{
	for (int i = 0; i < f->num_peers; i++) {
		struct fleet_peer *p = &f->peers[i];
		if (!same_addr(&p->addr, from))
			continue;
		p->heard_ms = now_ms(CLOCK_MONOTONIC);
		if (p->state != 1)
			cg_log_info("fleet: peer %s: %s", p->spec, p->state == 2 ? "answering again" : "answering");
		p->state = 1;
	}
}

/* Counts a refused datagram; one log line per DROP_LOG_MS at most. */
static void refused(struct cg_fleet *f, enum cg_fleet_verdict v, const struct sockaddr_storage *from)
{
	count(&f->rejected[v], 1);
	f->drops_unlogged++;
	int64_t now = now_ms(CLOCK_MONOTONIC);
	if (f->drop_log_ms && now - f->drop_log_ms < DROP_LOG_MS)
		return;
	char a[80];
	addr_text(from, a, sizeof(a));
	cg_log_warn("fleet: refused %llu datagram(s) since the last such line (one per %d s at most); "
		    "the last from %s (%s)",
		    (unsigned long long)f->drops_unlogged, DROP_LOG_MS / 1000, a,
		    v == CG_FLEET_BAD_MAC ? "bad MAC: not signed with this gateway's fleet key" : cg_fleet_verdict_name(v));
	f->drops_unlogged = 0;
	f->drop_log_ms = now;
}

static void receive_one(struct cg_fleet *f, const unsigned char *buf, size_t len, const struct sockaddr_storage *from)
{
	struct cg_fleet_msg m;
	enum cg_fleet_verdict v = cg_fleet_decode(buf, len, f->key, f->keylen, &m);
	if (v == CG_FLEET_OK && m.sender == f->sender)
		return; /* our own (a peer list naming this gateway) */
	if (v == CG_FLEET_OK)
		v = cg_fleet_replay_check(&f->replay, &m, now_ms(CLOCK_REALTIME));
	if (v != CG_FLEET_OK) {
		refused(f, v, from);
		return;
	}
	count(&f->received, 1);
	heard_from(f, from);
	for (unsigned i = 0; i < m.count; i++)
		count(cg_limit_merge(&m.rec[i]) ? &f->applied : &f->ignored, 1);
}

static void receive_all(struct cg_fleet *f)
{
	unsigned char buf[CG_FLEET_MAX_DGRAM + 1]; /* one more: an oversized datagram is seen as such */
	for (int i = 0; i < RECV_BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		memset(&from, 0, sizeof(from));
		ssize_t n = recvfrom(f->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return; /* EAGAIN, or an error of an earlier send: nothing to read */
		receive_one(f, buf, (size_t)n > sizeof(buf) ? sizeof(buf) : (size_t)n, &from);
	}
}

static void *fleet_main(void *arg)
{
	struct cg_fleet *f = arg;
	int64_t next = now_ms(CLOCK_MONOTONIC) + (int64_t)f->interval_ms;
	for (;;) {
		int64_t wait = next - now_ms(CLOCK_MONOTONIC);
		struct pollfd pf[2] = { { f->fd, POLLIN, 0 }, { f->wake_fd, POLLIN, 0 } };
		int rc = poll(pf, 2, wait > 0 ? (int)wait : 0);
		if (rc > 0 && (pf[1].revents & POLLIN))
			break;
		if (rc > 0 && (pf[0].revents & POLLIN))
			receive_all(f);
		if (now_ms(CLOCK_MONOTONIC) >= next) {
			send_deltas(f);
			watch_peers(f);
			next = now_ms(CLOCK_MONOTONIC) + (int64_t)f->interval_ms;
		}
	}
	send_deltas(f); /* the calls of the last interval */
	return NULL;
}

static int open_socket(struct cg_fleet *f, const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char perr[300];
	if (cg_gw_parse_addr(spec, &ss, &len, perr, sizeof(perr)) != 0) {
		snprintf(err, errlen, "--fleet-listen %s", perr);
		return -1;
	}
	f->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&ss, len) != 0) {
		snprintf(err, errlen, "--fleet-listen '%s': %s", spec, strerror(errno));
		return -1;
	}
	return 0;
}

static int add_peers(struct cg_fleet *f, const struct cg_fleet_opts *o, char *err, size_t errlen)
{
	for (int i = 0; i < o->num_peers; i++) {
		struct fleet_peer *p = &f->peers[f->num_peers++];
		char perr[300];
		p->spec = o->peers[i];
		if (cg_gw_parse_addr(p->spec, &p->addr, &p->addrlen, perr, sizeof(perr)) != 0) {
			snprintf(err, errlen, "--fleet-peer %s", perr);
			return -1;
		}
	}
	return 0;
}

struct cg_fleet *cg_fleet_start(const struct cg_fleet_opts *o, char *err, size_t errlen)
{
	struct cg_fleet *f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "fleet: out of memory");
		return NULL;
	}
	f->fd = f->wake_fd = -1;
	f->interval_ms = o->interval_ms;
	if (o->keylen < CG_FLEET_KEY_MIN || o->keylen > sizeof(f->key)) {
		snprintf(err, errlen, "fleet: no key");
		goto fail;
	}
	memcpy(f->key, o->key, o->keylen);
	f->keylen = o->keylen;
	if (o->num_peers > CG_FLEET_MAX_PEERS || add_peers(f, o, err, errlen) != 0 ||
	    open_socket(f, o->listen, err, errlen) != 0)
		goto fail;
	f->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->wake_fd < 0 || RAND_bytes((unsigned char *)&f->sender, sizeof(f->sender)) != 1) {
		snprintf(err, errlen, "fleet: %s", f->wake_fd < 0 ? strerror(errno) : "no random sender id");
		goto fail;
	}
	f->started_ms = f->last_sent_ms = now_ms(CLOCK_MONOTONIC);
	cg_limits_fleet_enable();
	if (pthread_create(&f->thread, NULL, fleet_main, f) != 0) {
		snprintf(err, errlen, "fleet: cannot start its thread");
		goto fail;
	}
	cg_log_info("fleet: counting with %d peer(s) from %s, every %llu ms", f->num_peers, o->listen,
		    (unsigned long long)f->interval_ms);
	return f;
fail:
	if (f->fd >= 0)
		close(f->fd);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	OPENSSL_cleanse(f->key, sizeof(f->key));
	free(f);
	return NULL;
}

void cg_fleet_stop(struct cg_fleet *f)
{
	if (!f)
		return;
	uint64_t one = 1;
	if (write(f->wake_fd, &one, sizeof(one)) < 0)
		cg_log_warn("fleet: cannot wake its thread: %s", strerror(errno));
	pthread_join(f->thread, NULL);
	close(f->fd);
	close(f->wake_fd);
	OPENSSL_cleanse(f->key, sizeof(f->key));
	free(f);
}

void cg_fleet_stats(const struct cg_fleet *cf, struct cg_fleet_stats *out)
{
	struct cg_fleet *f = (struct cg_fleet *)cf; /* atomics are read only */
	memset(out, 0, sizeof(*out));
	out->sent = atomic_load_explicit(&f->sent, memory_order_relaxed);
	out->received = atomic_load_explicit(&f->received, memory_order_relaxed);
	out->applied = atomic_load_explicit(&f->applied, memory_order_relaxed);
	out->ignored = atomic_load_explicit(&f->ignored, memory_order_relaxed);
	out->peers_up = atomic_load_explicit(&f->peers_up, memory_order_relaxed);
	for (int v = 0; v < CG_FLEET_VERDICTS; v++)
		out->rejected[v] = atomic_load_explicit(&f->rejected[v], memory_order_relaxed);
	out->num_peers = f->num_peers;
}
