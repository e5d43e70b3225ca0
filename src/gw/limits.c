/* Throttling counters: a sharded, bounded hash table (see limits.h). */
#include "gw/limits.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

#define BUCKETS 512 /* per shard: a power of two, half the keys */
#define SWEEP_MS 100 /* a shard full of live keys is not swept on every miss */

struct cg_limit_slot; /* is a struct lim_entry */

struct lim_entry {
	unsigned char key[32];
	int64_t end_ms;    /* window end (clock per `wall`); INT64_MAX: never */
	uint64_t count;    /* calls counted in the window (local and remote) */
	uint64_t inflight; /* concurrency slots held: never reclaimed while > 0 */
	uint64_t period_ms; /* the window's length (fleet deltas carry it) */
	uint64_t unsent;   /* fleet: local calls counted since the last drain */
	uint32_t next;     /* bucket chain: index + 1, 0 = end */
	uint32_t dirty_next; /* fleet: the shard's list of entries with unsent calls */
	uint16_t shard;
	bool wall;         /* end_ms is on the wall clock (aligned windows) */
	bool used;
	bool dirty;        /* on the dirty list: never reclaimed while true */
};

struct lim_shard {
	pthread_mutex_t mu;
	uint32_t head[BUCKETS]; /* index + 1, 0 = empty */
	uint32_t free_head;     /* reclaimed entries: index + 1 */
	uint32_t bump;          /* entries never used yet start here */
	uint32_t live;
	uint32_t dirty_head;    /* fleet: entries with unsent calls, index + 1 */
	int64_t last_sweep_ms;  /* a full shard is swept at most every SWEEP_MS */
	struct lim_entry overflow;
	uint64_t overflow_period_ms; /* the longest window the overflow entry served */
	int64_t overflow_start_ms;   /* its window's start (monotonic); 0: none yet */
	bool overflow_forever;       /* it served a quota that never renews */
	struct lim_entry e[CG_LIMITS_SHARD_KEYS];
};

static struct lim_shard *shards;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_uint_fast64_t n_overflows, n_reclaimed;
/* Set once by cg_limits_fleet_enable before the workers start. */
static atomic_bool fleet_on;
/* Fetched once: OpenSSL 3's implicit fetch (EVP_sha256()) per digest
 * costs more than the digest of a short key. */
static EVP_MD *sha256;

static void init_table(void)
{
	/* One zeroed block: pages are only touched as keys arrive. */
	shards = calloc(CG_LIMITS_SHARDS, sizeof(*shards));
	if (!shards) {
		cg_log(CG_LOG_ERROR, "limits: out of memory for the counter table");
		abort(); /* at the first throttled request; nothing sane to limit with */
	}
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	for (uint16_t i = 0; i < CG_LIMITS_SHARDS; i++) {
		pthread_mutex_init(&shards[i].mu, NULL);
		shards[i].overflow.shard = i;
		shards[i].overflow.used = true;
	}
}

static int64_t clock_ms(bool wall)
{
	struct timespec ts;
	clock_gettime(wall ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cg_limit_key_make(struct cg_limit_key *k, enum cg_limit_kind kind, uint64_t period_ms, struct cg_str key)
{
	unsigned char head[9];
	head[0] = (unsigned char)kind;
	for (int i = 0; i < 8; i++)
		head[1 + i] = (unsigned char)(period_ms >> (8 * i));
	pthread_once(&once, init_table);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	if (!md || !sha256 || !EVP_DigestInit_ex(md, sha256, NULL) || !EVP_DigestUpdate(md, head, sizeof(head)) ||
	    !EVP_DigestUpdate(md, key.ptr ? key.ptr : "", key.len) || !EVP_DigestFinal_ex(md, k->h, &len)) {
		/* Out of memory in OpenSSL: every such key shares one counter
		 * (still limited, never unlimited). */
		memset(k->h, 0xff, sizeof(k->h));
		k->h[0] = (unsigned char)kind;
	}
	EVP_MD_CTX_free(md);
}

static uint32_t key_u32(const struct cg_limit_key *k, int at)
{
	return (uint32_t)k->h[at] | (uint32_t)k->h[at + 1] << 8 | (uint32_t)k->h[at + 2] << 16 |
	       (uint32_t)k->h[at + 3] << 24;
}

static struct lim_shard *shard_of(const struct cg_limit_key *k)
{
	pthread_once(&once, init_table);
	return &shards[key_u32(k, 0) % CG_LIMITS_SHARDS];
}

static bool expired(const struct lim_entry *e)
{
	return e->inflight == 0 && !e->dirty && (e->end_ms == 0 || (e->end_ms != INT64_MAX && clock_ms(e->wall) >= e->end_ms));
}

/* Unlinks every expired entry of a full shard (shard locked): O(keys),
 * once per time the shard fills up. */
static void sweep(struct lim_shard *s)
{
	for (uint32_t b = 0; b < BUCKETS; b++) {
		uint32_t *link = &s->head[b];
		while (*link) {
			struct lim_entry *e = &s->e[*link - 1];
			uint32_t idx = *link;
			if (!expired(e)) {
				link = &e->next;
				continue;
			}
			*link = e->next;
			memset(e, 0, sizeof(*e));
			e->next = s->free_head;
			s->free_head = idx;
			s->live--;
			atomic_fetch_add(&n_reclaimed, 1);
		}
	}
}

/* The key's entry (shard locked), added when absent; the shard's overflow
 * entry when the shard is full of live keys. */
static struct lim_entry *lookup(struct lim_shard *s, const struct cg_limit_key *k)
{
	uint32_t b = key_u32(k, 4) & (BUCKETS - 1);
	for (uint32_t i = s->head[b]; i; i = s->e[i - 1].next)
		if (memcmp(s->e[i - 1].key, k->h, sizeof(k->h)) == 0)
			return &s->e[i - 1];
	if (!s->free_head && s->bump == CG_LIMITS_SHARD_KEYS) {
		int64_t now = clock_ms(false);
		if (s->last_sweep_ms == 0 || now - s->last_sweep_ms >= SWEEP_MS) {
			s->last_sweep_ms = now;
			sweep(s);
		}
	}
	uint32_t idx;
	if (s->free_head) {
		idx = s->free_head;
		s->free_head = s->e[idx - 1].next;
	} else if (s->bump < CG_LIMITS_SHARD_KEYS) {
		idx = ++s->bump;
	} else {
		atomic_fetch_add(&n_overflows, 1);
		return &s->overflow;
	}
	struct lim_entry *e = &s->e[idx - 1];
	memset(e, 0, sizeof(*e));
	memcpy(e->key, k->h, sizeof(k->h));
	e->shard = (uint16_t)(s - shards);
	e->used = true;
	e->next = s->head[b];
	s->head[b] = idx;
	s->live++;
	return e;
}

/* The overflow entry counts for keys of every window length: its window
 * is the longest any of them asked for (a never-renewing quota: forever),
 * on the monotonic clock, so a short window ending never resets the count
 * a long one relies on. Sharing it only ever limits more (shard locked). */
static void roll_overflow(struct lim_shard *s, const struct cg_limit_window *w)
{
	struct lim_entry *e = &s->overflow;
	if (w->period_ms == 0)
		s->overflow_forever = true;
	if (w->period_ms > s->overflow_period_ms)
		s->overflow_period_ms = w->period_ms;
	if (s->overflow_forever) {
		e->end_ms = INT64_MAX;
		return;
	}
	int64_t now = clock_ms(false);
	if (s->overflow_start_ms == 0 || now >= s->overflow_start_ms + (int64_t)s->overflow_period_ms) {
		e->count = 0;
		s->overflow_start_ms = now;
	}
	e->wall = false;
	e->end_ms = s->overflow_start_ms + (int64_t)s->overflow_period_ms;
}

/* Starts a new window when the entry's has ended (shard locked). */
static void roll(struct lim_shard *s, struct lim_entry *e, const struct cg_limit_window *w)
{
	if (e == &s->overflow) {
		roll_overflow(s, w);
		return;
	}
	e->period_ms = w->period_ms;
	if (w->period_ms == 0) {
		if (e->end_ms != INT64_MAX) {
			e->count = e->unsent = 0;
			e->end_ms = INT64_MAX;
		}
		return;
	}
	int64_t now = clock_ms(w->aligned);
	if (e->end_ms != 0 && e->end_ms != INT64_MAX && e->wall == w->aligned && now < e->end_ms)
		return;
	int64_t p = (int64_t)w->period_ms;
	/* Calls of the window that ended are not sent to the fleet: its
	 * peers' windows ended too. */
	e->count = e->unsent = 0;
	e->wall = w->aligned;
	if (w->aligned) {
		int64_t d = now - w->origin_ms, q = d / p - (d % p < 0); /* floor */
		e->end_ms = w->origin_ms + (q + 1) * p;
	} else {
		e->end_ms = now + p;
	}
}

static uint64_t left_ms(const struct lim_entry *e)
{
	if (e->end_ms == INT64_MAX)
		return 0;
	int64_t d = e->end_ms - clock_ms(e->wall);
	return d > 0 ? (uint64_t)d : 1;
}

/* With the fleet on, every window is on the wall clock so that all
 * gateways agree on it: a rate-limit window (which starts at its first
 * call when alone) becomes the k-th multiple of its period since the Unix
 * epoch. Quota windows are aligned already. */
static struct cg_limit_window effective(const struct cg_limit_window *w)
{
	struct cg_limit_window ew = *w;
	if (!ew.aligned && ew.period_ms && atomic_load_explicit(&fleet_on, memory_order_relaxed)) {
		ew.aligned = true;
		ew.origin_ms = 0;
	}
	return ew;
}

/* Remembers n local calls for the next fleet drain (shard locked): a few
 * stores under the lock the caller holds anyway. The overflow entry is
 * not shared (its key means nothing to a peer). */
static void note_unsent(struct lim_shard *s, struct lim_entry *e, uint64_t n)
{
	if (!n || e == &s->overflow || !atomic_load_explicit(&fleet_on, memory_order_relaxed))
		return;
	e->unsent = e->unsent + n < e->unsent ? UINT64_MAX : e->unsent + n;
	if (!e->dirty) {
		e->dirty = true;
		e->dirty_next = s->dirty_head;
		s->dirty_head = (uint32_t)(e - s->e) + 1;
	}
}

void cg_limit_take(const struct cg_limit_key *k, const struct cg_limit_window *w, uint64_t limit, uint64_t n,
		   struct cg_limit_result *r)
{
	struct cg_limit_window ew = effective(w);
	struct lim_shard *s = shard_of(k);
	pthread_mutex_lock(&s->mu);
	struct lim_entry *e = lookup(s, k);
	roll(s, e, &ew);
	uint64_t need = n ? n : 1;
	r->allowed = e->count <= limit && need <= limit - e->count;
	if (r->allowed) {
		e->count += n;
		note_unsent(s, e, n);
	}
	r->count = e->count;
	r->remaining = e->count < limit ? limit - e->count : 0;
	r->retry_after_ms = left_ms(e);
	r->overflow = e == &s->overflow;
	pthread_mutex_unlock(&s->mu);
}

void cg_limit_add(const struct cg_limit_key *k, const struct cg_limit_window *w, uint64_t n)
{
	struct cg_limit_window ew = effective(w);
	struct lim_shard *s = shard_of(k);
	pthread_mutex_lock(&s->mu);
	struct lim_entry *e = lookup(s, k);
	roll(s, e, &ew);
	e->count = e->count + n < e->count ? UINT64_MAX : e->count + n;
	note_unsent(s, e, n);
	pthread_mutex_unlock(&s->mu);
}

/* ---- fleet ----------------------------------------------------------------- */

void cg_limits_fleet_enable(void)
{
	atomic_store(&fleet_on, true);
}

size_t cg_limits_drain(struct cg_limit_delta *out, size_t cap)
{
	size_t n = 0;
	pthread_once(&once, init_table);
	for (int i = 0; i < CG_LIMITS_SHARDS && n < cap; i++) {
		struct lim_shard *s = &shards[i];
		pthread_mutex_lock(&s->mu);
		while (s->dirty_head && n < cap) {
			struct lim_entry *e = &s->e[s->dirty_head - 1];
			s->dirty_head = e->dirty_next;
			e->dirty_next = 0;
			e->dirty = false;
			if (!e->unsent)
				continue; /* its window ended since */
			struct cg_limit_delta *d = &out[n++];
			memcpy(d->key.h, e->key, sizeof(d->key.h));
			d->period_ms = e->period_ms;
			d->end_ms = e->end_ms;
			d->delta = e->unsent;
			e->unsent = 0;
		}
		pthread_mutex_unlock(&s->mu);
	}
	return n;
}

/* Whether a peer's window can be this gateway's too: it has not ended
 * here and it started (give or take CG_LIMITS_FLEET_SKEW_MS of clock
 * difference). */
static bool remote_window_ok(const struct cg_limit_delta *d, int64_t now)
{
	if (d->period_ms == 0)
		return d->end_ms == INT64_MAX;
	if (d->period_ms > INT64_MAX / 4 || d->end_ms == INT64_MAX || d->end_ms <= now)
		return false;
	return d->end_ms - (int64_t)d->period_ms <= now + CG_LIMITS_FLEET_SKEW_MS;
}

bool cg_limit_merge(const struct cg_limit_delta *d)
{
	int64_t now = clock_ms(true);
	if (!remote_window_ok(d, now) || !d->delta)
		return false;
	struct lim_shard *s = shard_of(&d->key);
	pthread_mutex_lock(&s->mu);
	struct lim_entry *e = lookup(s, &d->key);
	bool ok = e != &s->overflow;
	if (ok && d->period_ms == 0) {
		if (e->end_ms != INT64_MAX)
			e->count = e->unsent = 0;
		e->end_ms = INT64_MAX;
		e->period_ms = 0;
	} else if (ok) {
		bool ended = e->end_ms == 0 || e->end_ms == INT64_MAX || !e->wall || now >= e->end_ms;
		/* A newer window wins (a peer whose clock is ahead rolled
		 * first); a delta of an older window is stale. */
		if (ended || e->end_ms < d->end_ms) {
			e->count = e->unsent = 0;
			e->end_ms = d->end_ms;
			e->wall = true;
			e->period_ms = d->period_ms;
		}
		ok = e->end_ms == d->end_ms;
	}
	if (ok)
		e->count = e->count + d->delta < e->count ? UINT64_MAX : e->count + d->delta;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

struct cg_limit_slot *cg_limit_enter(const struct cg_limit_key *k, uint64_t max)
{
	struct lim_shard *s = shard_of(k);
	pthread_mutex_lock(&s->mu);
	struct lim_entry *e = lookup(s, k);
	bool ok = e->inflight < max;
	if (ok)
		e->inflight++;
	pthread_mutex_unlock(&s->mu);
	return ok ? (struct cg_limit_slot *)e : NULL;
}

void cg_limit_leave(struct cg_limit_slot *slot)
{
	struct lim_entry *e = (struct lim_entry *)slot;
	struct lim_shard *s = &shards[e->shard];
	pthread_mutex_lock(&s->mu);
	if (e->inflight)
		e->inflight--;
	pthread_mutex_unlock(&s->mu);
}

void cg_limits_stats(struct cg_limits_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_once(&once, init_table);
	for (int i = 0; i < CG_LIMITS_SHARDS; i++) {
		pthread_mutex_lock(&shards[i].mu);
		out->keys += shards[i].live;
		pthread_mutex_unlock(&shards[i].mu);
	}
	out->overflows = atomic_load(&n_overflows);
	out->reclaimed = atomic_load(&n_reclaimed);
}

void cg_limits_reset(void)
{
	pthread_once(&once, init_table);
	for (uint16_t i = 0; i < CG_LIMITS_SHARDS; i++) {
		struct lim_shard *s = &shards[i];
		pthread_mutex_lock(&s->mu);
		memset(s->head, 0, sizeof(s->head));
		s->free_head = s->bump = s->live = s->dirty_head = 0;
		s->last_sweep_ms = 0;
		memset(&s->overflow, 0, sizeof(s->overflow));
		s->overflow.shard = i;
		s->overflow.used = true;
		s->overflow_period_ms = 0;
		s->overflow_start_ms = 0;
		s->overflow_forever = false;
		pthread_mutex_unlock(&s->mu);
	}
	atomic_store(&n_overflows, 0);
	atomic_store(&n_reclaimed, 0);
}
