/* The built-in value cache: a sharded, bounded LRU table (see cache.h). */
#include "gw/cache.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"

#define SWEEP_FULL_MS 1000 /* a full shard looks for expired entries at most this often */

struct centry {
	struct centry *hnext;       /* bucket chain */
	struct centry *prev, *next; /* LRU list: head is the most recently used */
	uint64_t hash;
	int64_t expires_ms;
	size_t size;                /* accounted bytes: this block */
	uint32_t key_len, blob_len;
	unsigned char data[];       /* key, then the serialised value */
};

struct cshard {
	pthread_mutex_t mu;
	struct centry **buckets;
	uint64_t mask; /* buckets - 1 */
	struct centry *head, *tail;
	uint64_t entries, bytes;
	int64_t last_full_sweep_ms;
};

static struct {
	struct cshard *shards;
	unsigned nshards;
	struct cg_cache_limits lim;
	uint64_t shard_bytes, shard_entries;
	EVP_MAC_CTX *mac; /* SipHash keyed at random; duplicated per use */
} C;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_uint_fast64_t n_entries, n_bytes, n_hits, n_misses, n_stores, n_evictions, n_expired, n_refused;

/* One serialised value: this header, then len payload bytes (scalars: the
 * value's union; strings, byte[] and JToken JSON: the bytes; arrays: len
 * records follow). Read back with memcpy: no alignment is assumed. */
struct rec {
	uint8_t kind, cls, dtkind, aux;
	uint32_t len;
};

/* ---- set-up -------------------------------------------------------------- */

void cg_cache_limits_default(struct cg_cache_limits *l)
{
	l->max_bytes = CG_CACHE_DEFAULT_MAX_BYTES;
	l->max_entries = CG_CACHE_DEFAULT_MAX_ENTRIES;
	l->max_entry_bytes = CG_CACHE_DEFAULT_MAX_ENTRY_BYTES;
	l->shards = CG_CACHE_DEFAULT_SHARDS;
}

static EVP_MAC_CTX *make_mac(void)
{
	unsigned char key[16];
	size_t outlen = 8;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &outlen), OSSL_PARAM_END };
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac);
	if (!ctx || RAND_bytes(key, sizeof(key)) != 1 || !EVP_MAC_init(ctx, key, sizeof(key), params)) {
		EVP_MAC_CTX_free(ctx);
		cg_log_warn("cache: no SipHash from OpenSSL; keys hash to one bucket per shard");
		return NULL;
	}
	return ctx;
}

static void free_shards(struct cshard *s, unsigned n)
{
	for (unsigned i = 0; s && i < n; i++) {
		for (struct centry *e = s[i].head, *nx; e; e = nx) {
			nx = e->next;
			free(e);
		}
		free(s[i].buckets);
		pthread_mutex_destroy(&s[i].mu);
	}
	free(s);
}

static uint64_t pow2_at_least(uint64_t v)
{
	uint64_t p = 16;
	while (p < v && p < (1ull << 20))
		p <<= 1;
	return p;
}

static struct cshard *make_shards(unsigned n, uint64_t per_shard_entries)
{
	struct cshard *s = calloc(n, sizeof(*s));
	uint64_t nb = pow2_at_least(per_shard_entries);
	for (unsigned i = 0; s && i < n; i++) {
		pthread_mutex_init(&s[i].mu, NULL);
		s[i].mask = nb - 1;
		s[i].buckets = calloc(nb, sizeof(*s[i].buckets));
		if (!s[i].buckets) {
			free_shards(s, i + 1);
			return NULL;
		}
	}
	return s;
}

static bool limits_valid(const struct cg_cache_limits *l)
{
	return l->shards >= 1 && l->shards <= 256 && (l->shards & (l->shards - 1)) == 0 &&
	       l->max_entries >= l->shards && l->max_entry_bytes >= 64 && l->max_bytes >= l->max_entry_bytes &&
	       l->max_bytes / l->shards >= l->max_entry_bytes;
}

static int configure(const struct cg_cache_limits *l)
{
	if (!limits_valid(l))
		return -1;
	struct cshard *s = make_shards(l->shards, l->max_entries / l->shards);
	if (!s)
		return -1;
	free_shards(C.shards, C.nshards);
	C.shards = s;
	C.nshards = l->shards;
	C.lim = *l;
	C.shard_bytes = l->max_bytes / l->shards;
	C.shard_entries = l->max_entries / l->shards;
	if (!C.mac)
		C.mac = make_mac();
	atomic_store(&n_entries, 0);
	atomic_store(&n_bytes, 0);
	return 0;
}

static void init_default(void)
{
	struct cg_cache_limits l;
	cg_cache_limits_default(&l);
	if (configure(&l) != 0) {
		cg_log_error("cache: out of memory for the cache table");
		abort(); /* at start-up; nothing sane to cache with */
	}
}

int cg_cache_configure(const struct cg_cache_limits *l)
{
	pthread_once(&once, init_default);
	if (configure(l) != 0)
		return -1;
	atomic_store(&n_hits, 0);
	atomic_store(&n_misses, 0);
	atomic_store(&n_stores, 0);
	atomic_store(&n_evictions, 0);
	atomic_store(&n_expired, 0);
	atomic_store(&n_refused, 0);
	return 0;
}

int64_t cg_cache_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the table ------------------------------------------------------------ */

static uint64_t key_hash(struct cg_str key)
{
	uint64_t h = 0;
	EVP_MAC_CTX *ctx = C.mac ? EVP_MAC_CTX_dup(C.mac) : NULL;
	size_t outl = 0;
	unsigned char out[8];
	if (ctx && EVP_MAC_update(ctx, (const unsigned char *)(key.ptr ? key.ptr : ""), key.len) &&
	    EVP_MAC_final(ctx, out, &outl, sizeof(out)) && outl == sizeof(out))
		memcpy(&h, out, sizeof(h));
	EVP_MAC_CTX_free(ctx);
	return h;
}

static struct cshard *shard_of(uint64_t h)
{
	return &C.shards[(h >> 56) & (C.nshards - 1)];
}

static struct centry **bucket_of(struct cshard *s, uint64_t h)
{
	return &s->buckets[h & s->mask];
}

static struct centry *find(struct cshard *s, uint64_t h, struct cg_str key)
{
	for (struct centry *e = *bucket_of(s, h); e; e = e->hnext)
		if (e->hash == h && e->key_len == key.len && memcmp(e->data, key.ptr, key.len) == 0)
			return e;
	return NULL;
}

static void lru_unlink(struct cshard *s, struct centry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		s->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct cshard *s, struct centry *e)
{
	e->prev = NULL;
	e->next = s->head;
	if (s->head)
		s->head->prev = e;
	s->head = e;
	if (!s->tail)
		s->tail = e;
}

/* Takes e out of the shard (locked); the caller frees it. */
static void unlink_entry(struct cshard *s, struct centry *e)
{
	struct centry **link = bucket_of(s, e->hash);
	while (*link != e)
		link = &(*link)->hnext;
	*link = e->hnext;
	lru_unlink(s, e);
	s->entries--;
	s->bytes -= e->size;
	atomic_fetch_sub(&n_entries, 1);
	atomic_fetch_sub(&n_bytes, e->size);
}

static void drop(struct cshard *s, struct centry *e, atomic_uint_fast64_t *counter)
{
	unlink_entry(s, e);
	if (counter)
		atomic_fetch_add(counter, 1);
	free(e);
}

static void sweep_shard(struct cshard *s, int64_t now_ms)
{
	for (struct centry *e = s->head, *nx; e; e = nx) {
		nx = e->next;
		if (e->expires_ms <= now_ms)
			drop(s, e, &n_expired);
	}
}

/* Makes room for an entry of size bytes (shard locked): expired entries
 * first (at most every SWEEP_FULL_MS), then the least recently used. */
static void make_room(struct cshard *s, size_t size, int64_t now_ms)
{
	if (s->entries + 1 <= C.shard_entries && s->bytes + size <= C.shard_bytes)
		return;
	if (now_ms - s->last_full_sweep_ms >= SWEEP_FULL_MS || now_ms < s->last_full_sweep_ms) {
		s->last_full_sweep_ms = now_ms;
		sweep_shard(s, now_ms);
	}
	while (s->tail && (s->entries + 1 > C.shard_entries || s->bytes + size > C.shard_bytes))
		drop(s, s->tail, s->tail->expires_ms <= now_ms ? &n_expired : &n_evictions);
}

/* ---- values ---------------------------------------------------------------- */

static enum cg_cache_rc put(struct cg_buf *b, const struct cg_expr_value *v, uint32_t len, const void *payload,
			    size_t plen)
{
	struct rec r = { v->kind, v->cls, v->dtkind, v->aux, len };
	if (b->len + sizeof(r) + plen > b->max)
		return CG_CACHE_TOO_LARGE;
	if (cg_buf_append(b, &r, sizeof(r)) != 0 || cg_buf_append(b, payload, plen) != 0)
		return CG_CACHE_NOMEM;
	return CG_CACHE_OK;
}

static enum cg_cache_rc encode(struct cg_buf *b, const struct cg_expr_value *v, int depth);

static enum cg_cache_rc encode_json(struct cg_buf *b, const struct cg_expr_value *v)
{
	char *text = json_dumps(v->u.obj, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		return CG_CACHE_NOMEM;
	size_t n = strlen(text);
	enum cg_cache_rc rc = n > UINT32_MAX ? CG_CACHE_TOO_LARGE : put(b, v, (uint32_t)n, text, n);
	free(text);
	return rc;
}

static enum cg_cache_rc encode_array(struct cg_buf *b, const struct cg_expr_value *v, int depth)
{
	const struct cg_expr_array *a = v->u.arr;
	uint32_t n = a ? a->n : 0;
	enum cg_cache_rc rc = put(b, v, n, NULL, 0);
	for (uint32_t i = 0; i < n && rc == CG_CACHE_OK; i++) {
		const struct cg_expr_value *it = &a->items[i];
		/* a null element (string[] { null }) is kept; a null value alone is not */
		rc = it->kind == CG_EXPR_V_NULL ? put(b, it, 0, NULL, 0) : encode(b, it, depth + 1);
	}
	return rc;
}

static enum cg_cache_rc encode(struct cg_buf *b, const struct cg_expr_value *v, int depth)
{
	if (depth > CG_CACHE_MAX_DEPTH)
		return CG_CACHE_UNSUPPORTED;
	switch ((enum cg_expr_vkind)v->kind) {
	case CG_EXPR_V_BOOL:
	case CG_EXPR_V_CHAR:
	case CG_EXPR_V_INT:
	case CG_EXPR_V_LONG:
	case CG_EXPR_V_DOUBLE:
	case CG_EXPR_V_DATETIME:
	case CG_EXPR_V_TIMESPAN:
	case CG_EXPR_V_GUID:
	case CG_EXPR_V_DECIMAL:
		return put(b, v, sizeof(v->u), &v->u, sizeof(v->u));
	case CG_EXPR_V_STRING:
	case CG_EXPR_V_BYTES:
		if (v->u.s.len > UINT32_MAX)
			return CG_CACHE_TOO_LARGE;
		return put(b, v, (uint32_t)v->u.s.len, v->u.s.ptr, v->u.s.len);
	case CG_EXPR_V_ARRAY:
		return encode_array(b, v, depth);
	case CG_EXPR_V_OBJ:
		return v->cls == CG_EXPR_T_JTOKEN && v->u.obj ? encode_json(b, v) : CG_CACHE_UNSUPPORTED;
	case CG_EXPR_V_NULL:
		break;
	}
	return CG_CACHE_UNSUPPORTED;
}

struct reader {
	const unsigned char *p, *end;
	struct cg_arena *arena;
};

static void json_release(void *j)
{
	json_decref(j);
}

static enum cg_cache_rc decode(struct reader *rd, struct cg_expr_value *out, int depth);

static enum cg_cache_rc decode_array(struct reader *rd, const struct rec *r, struct cg_expr_value *out,
				     int depth)
{
	struct cg_expr_array *a = cg_arena_zalloc(rd->arena, sizeof(*a) + sizeof(a->items[0]) * r->len);
	if (!a)
		return CG_CACHE_NOMEM;
	a->n = r->len;
	for (uint32_t i = 0; i < r->len; i++) {
		enum cg_cache_rc rc = decode(rd, &a->items[i], depth + 1);
		if (rc != CG_CACHE_OK)
			return rc;
	}
	out->u.arr = a;
	return CG_CACHE_OK;
}

static enum cg_cache_rc decode_json(const unsigned char *p, uint32_t len, struct cg_arena *arena,
				    struct cg_expr_value *out)
{
	json_t *j = json_loadb((const char *)p, len, JSON_DECODE_ANY, NULL);
	if (!j)
		return CG_CACHE_NOMEM; /* our own JSON text: only memory can fail */
	if (cg_arena_on_cleanup(arena, json_release, j) != 0) {
		json_decref(j);
		return CG_CACHE_NOMEM;
	}
	out->u.obj = j;
	return CG_CACHE_OK;
}

static enum cg_cache_rc decode(struct reader *rd, struct cg_expr_value *out, int depth)
{
	struct rec r;
	if (depth > CG_CACHE_MAX_DEPTH || (size_t)(rd->end - rd->p) < sizeof(r))
		return CG_CACHE_NOMEM;
	memcpy(&r, rd->p, sizeof(r));
	rd->p += sizeof(r);
	memset(out, 0, sizeof(*out));
	out->kind = r.kind;
	out->cls = r.cls;
	out->dtkind = r.dtkind;
	out->aux = r.aux;
	if (r.kind == CG_EXPR_V_ARRAY)
		return decode_array(rd, &r, out, depth);
	if (r.kind == CG_EXPR_V_NULL)
		return CG_CACHE_OK;
	if ((size_t)(rd->end - rd->p) < r.len)
		return CG_CACHE_NOMEM;
	const unsigned char *payload = rd->p;
	rd->p += r.len;
	if (r.kind == CG_EXPR_V_STRING || r.kind == CG_EXPR_V_BYTES) {
		out->u.s = cg_str_make((const char *)payload, r.len); /* in the arena's copy of the blob */
		return CG_CACHE_OK;
	}
	if (r.kind == CG_EXPR_V_OBJ)
		return decode_json(payload, r.len, rd->arena, out);
	if (r.len != sizeof(out->u))
		return CG_CACHE_NOMEM;
	memcpy(&out->u, payload, sizeof(out->u));
	return CG_CACHE_OK;
}

/* ---- operations -------------------------------------------------------------- */

static struct centry *make_entry(struct cg_str key, const struct cg_buf *blob, uint64_t h, int64_t expires_ms)
{
	size_t size = sizeof(struct centry) + key.len + blob->len;
	struct centry *e = malloc(size);
	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->expires_ms = expires_ms;
	e->size = size;
	e->key_len = (uint32_t)key.len;
	e->blob_len = (uint32_t)blob->len;
	if (key.len)
		memcpy(e->data, key.ptr, key.len);
	memcpy(e->data + key.len, blob->data, blob->len);
	return e;
}

static enum cg_cache_rc refused(enum cg_cache_rc rc)
{
	if (rc == CG_CACHE_TOO_LARGE || rc == CG_CACHE_UNSUPPORTED)
		atomic_fetch_add(&n_refused, 1);
	return rc;
}

enum cg_cache_rc cg_cache_store(struct cg_str key, const struct cg_expr_value *v, uint64_t duration_ms,
				int64_t now_ms)
{
	pthread_once(&once, init_default);
	size_t fixed = sizeof(struct centry) + key.len;
	if (fixed >= C.lim.max_entry_bytes || key.len > UINT32_MAX)
		return refused(CG_CACHE_TOO_LARGE);
	struct cg_buf blob;
	cg_buf_init(&blob, C.lim.max_entry_bytes - fixed);
	enum cg_cache_rc rc = encode(&blob, v, 0);
	uint64_t h = key_hash(key);
	int64_t expires = duration_ms > (uint64_t)(INT64_MAX - now_ms) ? INT64_MAX : now_ms + (int64_t)duration_ms;
	struct centry *e = rc == CG_CACHE_OK ? make_entry(key, &blob, h, expires) : NULL;
	cg_buf_free(&blob);
	if (rc != CG_CACHE_OK || !e)
		return refused(rc != CG_CACHE_OK ? rc : CG_CACHE_NOMEM);
	struct cshard *s = shard_of(h);
	pthread_mutex_lock(&s->mu);
	struct centry *old = find(s, h, key);
	if (old)
		unlink_entry(s, old);
	make_room(s, e->size, now_ms);
	struct centry **b = bucket_of(s, h);
	e->hnext = *b;
	*b = e;
	lru_push(s, e);
	s->entries++;
	s->bytes += e->size;
	atomic_fetch_add(&n_entries, 1);
	atomic_fetch_add(&n_bytes, e->size);
	pthread_mutex_unlock(&s->mu);
	free(old);
	atomic_fetch_add(&n_stores, 1);
	return CG_CACHE_OK;
}

enum cg_cache_rc cg_cache_lookup(struct cg_str key, struct cg_arena *arena, int64_t now_ms,
				 struct cg_expr_value *out)
{
	pthread_once(&once, init_default);
	uint64_t h = key_hash(key);
	struct cshard *s = shard_of(h);
	unsigned char *copy = NULL;
	uint32_t len = 0;
	bool nomem = false;
	pthread_mutex_lock(&s->mu);
	struct centry *e = find(s, h, key);
	if (e && e->expires_ms <= now_ms) {
		unlink_entry(s, e); /* freed below, outside the lock */
		atomic_fetch_add(&n_expired, 1);
	} else if (e) {
		lru_unlink(s, e);
		lru_push(s, e);
		len = e->blob_len;
		copy = cg_arena_alloc(arena, len ? len : 1);
		if (copy)
			memcpy(copy, e->data + e->key_len, len);
		else
			nomem = true;
		e = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	free(e);
	if (nomem)
		return CG_CACHE_NOMEM;
	if (!copy) {
		atomic_fetch_add(&n_misses, 1);
		return CG_CACHE_MISS;
	}
	atomic_fetch_add(&n_hits, 1);
	struct reader rd = { copy, copy + len, arena };
	return decode(&rd, out, 0);
}

bool cg_cache_remove(struct cg_str key)
{
	pthread_once(&once, init_default);
	uint64_t h = key_hash(key);
	struct cshard *s = shard_of(h);
	pthread_mutex_lock(&s->mu);
	struct centry *e = find(s, h, key);
	bool found = e != NULL;
	if (e)
		unlink_entry(s, e);
	pthread_mutex_unlock(&s->mu);
	free(e);
	return found;
}

void cg_cache_sweep(int64_t now_ms)
{
	pthread_once(&once, init_default);
	for (unsigned i = 0; i < C.nshards; i++) {
		pthread_mutex_lock(&C.shards[i].mu);
		sweep_shard(&C.shards[i], now_ms);
		pthread_mutex_unlock(&C.shards[i].mu);
	}
}

void cg_cache_stats(struct cg_cache_stats *out)
{
	pthread_once(&once, init_default);
	out->entries = atomic_load(&n_entries);
	out->bytes = atomic_load(&n_bytes);
	out->hits = atomic_load(&n_hits);
	out->misses = atomic_load(&n_misses);
	out->stores = atomic_load(&n_stores);
	out->evictions = atomic_load(&n_evictions);
	out->expired = atomic_load(&n_expired);
	out->refused = atomic_load(&n_refused);
	out->max_bytes = C.lim.max_bytes;
	out->max_entries = C.lim.max_entries;
}
