/* The gateway's built-in value cache: what cache-store-value,
 * cache-lookup-value and cache-remove-value read and write
 * (docs/policy-runtime.md, "Value cache").
 *
 * One cache for the process, shared by every worker thread and outside
 * the configuration snapshots: a value stored under one configuration is
 * found under the next one, and an entry never points into a snapshot or
 * a request arena (values are serialised into the entry's own block).
 *
 * Concurrency: the table is split into shards (a power of two), each a
 * mutex over chained buckets and an LRU list; a key's shard and bucket
 * come from a keyed SipHash of its bytes (the key is secret and random per
 * process, so a client who shapes keys cannot aim them at one bucket).
 *
 * Bounded memory: at most max_entries entries and max_bytes bytes (key,
 * value and bookkeeping of every entry counted), split evenly between the
 * shards; a store that would pass a shard's share evicts that shard's
 * least recently used entries first. A value whose entry alone would be
 * larger than max_entry_bytes is not stored (CG_CACHE_TOO_LARGE).
 *
 * Expiry: an entry lives duration milliseconds from its store. An expired
 * entry is never returned (checked on lookup) and is freed by the lookup
 * that finds it, by a store that needs room, or by cg_cache_sweep.
 *
 * Time: every call takes now_ms, a monotonic clock in milliseconds
 * (cg_cache_now_ms() in the gateway; tests pass their own). */
#ifndef CG_GW_CACHE_H
#define CG_GW_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/str.h"
#include "expr/value-t.h"

#define CG_CACHE_DEFAULT_MAX_BYTES (64ull * 1024 * 1024) /* --cache-max-bytes */
#define CG_CACHE_DEFAULT_MAX_ENTRIES 100000ull           /* --cache-max-entries */
#define CG_CACHE_DEFAULT_MAX_ENTRY_BYTES (1024ull * 1024) /* --cache-max-entry-bytes */
#define CG_CACHE_DEFAULT_SHARDS 16
#define CG_CACHE_MAX_DEPTH 8 /* arrays inside arrays */

struct cg_cache_limits {
	uint64_t max_bytes;       /* all entries; >= max_entry_bytes */
	uint64_t max_entries;     /* >= shards */
	uint64_t max_entry_bytes; /* one entry (key + value + bookkeeping) */
	unsigned shards;          /* a power of two, 1..256 */
};

enum cg_cache_rc {
	CG_CACHE_OK = 0,
	CG_CACHE_MISS,        /* lookup: no live entry */
	CG_CACHE_TOO_LARGE,   /* store: the entry would exceed max_entry_bytes (nothing stored) */
	CG_CACHE_UNSUPPORTED, /* store: a value of a type the cache does not hold (null, objects
			       * other than JToken, arrays nested deeper than CG_CACHE_MAX_DEPTH) */
	CG_CACHE_NOMEM,       /* malloc or the arena refused */
};

/* Sets the limits and empties the cache (serve calls it once at start;
 * tests between cases). Returns 0, or -1 when the limits are not valid
 * (the running cache is then unchanged). Without a call, the defaults. */
int cg_cache_configure(const struct cg_cache_limits *l);

/* The defaults above. */
void cg_cache_limits_default(struct cg_cache_limits *l);

/* Stores a deep copy of v under key for duration_ms (> 0), replacing any
 * entry of that key. Strings, byte[], numbers, bool, char, DateTime,
 * TimeSpan, Guid, decimal, arrays of those, and JToken (kept as its JSON
 * text) are stored; null and other objects give CG_CACHE_UNSUPPORTED.
 * Nothing is changed unless CG_CACHE_OK. */
enum cg_cache_rc cg_cache_store(struct cg_str key, const struct cg_expr_value *v, uint64_t duration_ms,
				int64_t now_ms);

/* Looks key up. On CG_CACHE_OK *out holds a copy of the stored value made
 * in arena (a JToken is parsed again there, released with the arena);
 * CG_CACHE_MISS when there is no live entry; CG_CACHE_NOMEM. */
enum cg_cache_rc cg_cache_lookup(struct cg_str key, struct cg_arena *arena, int64_t now_ms,
				 struct cg_expr_value *out);

/* Removes key's entry; true when there was one (expired or not). */
bool cg_cache_remove(struct cg_str key);

/* Frees every expired entry (O(entries), one shard locked at a time). */
void cg_cache_sweep(int64_t now_ms);

/* Monotonic milliseconds. */
int64_t cg_cache_now_ms(void);

struct cg_cache_stats {
	uint64_t entries;   /* live entries (expired ones not yet freed included) */
	uint64_t bytes;     /* their accounted size */
	uint64_t hits, misses;
	uint64_t stores;
	uint64_t evictions; /* entries dropped to make room (LRU) */
	uint64_t expired;   /* entries freed after their duration */
	uint64_t refused;   /* stores refused: too large or unsupported */
	uint64_t max_bytes, max_entries;
};
void cg_cache_stats(struct cg_cache_stats *out);

#endif
