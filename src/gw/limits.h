/* Throttling counters shared by every worker thread: call windows
 * (rate-limit, rate-limit-by-key, quota, quota-by-key) and concurrency
 * slots (limit-concurrency). docs/policy-runtime.md describes the policies;
 * this is the table under them.
 *
 * The table is process-wide, not part of a configuration snapshot: a
 * counter is found by a key made from what the policy means (its kind, its
 * window length, its scope and its counter key), never by a pointer into a
 * snapshot, so a hot configuration change keeps every counter whose policy
 * is still the same, as APIM does.
 *
 * Concurrency: CG_LIMITS_SHARDS shards, each a mutex over a fixed array of
 * CG_LIMITS_SHARD_KEYS entries with chained hash buckets; a key's shard and
 * bucket come from its SHA-256. Every operation is O(1) under one shard
 * lock (a full shard is swept once before it overflows).
 *
 * Bounded memory: at most CG_LIMITS_SHARDS * CG_LIMITS_SHARD_KEYS keys.
 * Entries whose window ended (and that hold no concurrency slot) are
 * reclaimed when their shard is full. When a shard is full of live keys, a
 * new key shares the shard's overflow entry with every other such key: it
 * keeps being limited (together with them, so more strictly), never let
 * through unlimited. cg_limits_stats() counts these overflows. */
#ifndef CG_GW_LIMITS_H
#define CG_GW_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

#define CG_LIMITS_SHARDS 64
#define CG_LIMITS_SHARD_KEYS 1024 /* 65,536 keys in all, ~6 MB at most */
/* Fleet: a peer's window may start this much ahead of our clock. */
#define CG_LIMITS_FLEET_SKEW_MS 10000

/* By-key counters are apart from scope counters (rate-limit, quota), so no
 * counter-key value can name a scope's counter. */
enum cg_limit_kind {
	CG_LIMIT_RATE,
	CG_LIMIT_QUOTA,
	CG_LIMIT_CONCURRENCY,
	CG_LIMIT_RATE_SCOPE,
	CG_LIMIT_QUOTA_SCOPE,
};

/* A counter's identity: SHA-256 of kind, window and key (no text kept). */
struct cg_limit_key {
	unsigned char h[32];
};

/* How a counter's window is placed.
 * - period_ms == 0: one window that never ends (quota renewal-period="0").
 * - aligned: windows are origin_ms + k * period_ms on the wall clock
 *   (quota first-period-start); else a window starts at the first call
 *   counted after the previous one ended (monotonic clock). */
struct cg_limit_window {
	uint64_t period_ms;
	bool aligned;
	int64_t origin_ms; /* Unix ms, aligned windows only */
};

struct cg_limit_result {
	bool allowed;
	uint64_t count;          /* the window's count after this call */
	uint64_t remaining;      /* limit - count (0 when over) */
	uint64_t retry_after_ms; /* until the window ends (0: it never does) */
	bool overflow;           /* the key shares the overflow entry (table full) */
};

/* Makes the key of a counter: kind, window length (part of the identity: a
 * changed renewal-period starts a new counter), and key text (bytes). */
void cg_limit_key_make(struct cg_limit_key *k, enum cg_limit_kind kind, uint64_t period_ms, struct cg_str key);

/* Counts n calls against limit in the key's current window: allowed when
 * count + max(n, 1) <= limit, and then count += n (n == 0 checks only;
 * refused calls are not counted). Never fails: a full table limits through
 * the overflow entry. */
void cg_limit_take(const struct cg_limit_key *k, const struct cg_limit_window *w, uint64_t limit, uint64_t n,
		   struct cg_limit_result *r);

/* Adds n to the key's current window without a check (increments APIM
 * defers to the end of outbound). */
void cg_limit_add(const struct cg_limit_key *k, const struct cg_limit_window *w, uint64_t n);

/* A held concurrency slot; give it back with cg_limit_leave exactly once. */
struct cg_limit_slot;

/* Enters the key's concurrency scope when fewer than max are inside.
 * Returns the slot, or NULL when max are inside already. */
struct cg_limit_slot *cg_limit_enter(const struct cg_limit_key *k, uint64_t max);
void cg_limit_leave(struct cg_limit_slot *s);

struct cg_limits_stats {
	uint64_t keys;      /* live entries */
	uint64_t overflows; /* calls that went to an overflow entry */
	uint64_t reclaimed; /* entries swept after their window ended */
};
void cg_limits_stats(struct cg_limits_stats *out);

/* ---- fleet (gw/fleet.c; docs/fleet.md) ----
 * Calls counted by this gateway, per counter and window, as they are sent
 * to the peers of a fleet; and the same received from a peer. */
struct cg_limit_delta {
	struct cg_limit_key key;
	uint64_t period_ms; /* 0: a quota window that never ends */
	int64_t end_ms;     /* the window's end, Unix ms (INT64_MAX: never) */
	uint64_t delta;     /* calls */
};

/* Turns fleet counting on for the process (before the workers start):
 * every call window is placed on the wall clock (rate-limit windows at
 * multiples of their period since the Unix epoch) and counted calls are
 * kept for cg_limits_drain. Cannot be turned off. */
void cg_limits_fleet_enable(void);

/* Moves up to cap counters' unsent calls into out and forgets them;
 * returns how many. Call again while it returns cap. Counters whose window
 * ended before the drain are left out. */
size_t cg_limits_drain(struct cg_limit_delta *out, size_t cap);

/* Adds a peer's calls to the counter when the window is this gateway's
 * current one for the key (a newer window replaces an older one; a delta
 * of an older, ended or implausible window is refused). Returns whether
 * it was counted. Not sent on to other peers. */
bool cg_limit_merge(const struct cg_limit_delta *d);

/* Forgets every counter (tests only: slots must not be held). */
void cg_limits_reset(void);

#endif
