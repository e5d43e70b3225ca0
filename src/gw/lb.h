/* Backend pools and circuit breakers (APIM backends of type Pool and
 * circuitBreaker rules): the decisions only, below the network, so that
 * they can be tested on an injected clock (tests/unit/gw/test_lb.c).
 * Semantics and the choices where APIM is silent: docs/backend-pools.md.
 *
 * Circuit breaker: one per single backend with a rule, shared by every
 * worker thread of the process (APIM self-hosted: per gateway instance;
 * never shared across a fleet). The fast path, "may I send to it now?",
 * is one atomic load; a report of an outcome takes the breaker's mutex.
 *
 * Pool: cg_lb_pick chooses a member by priority group (lower number
 * first; a group is used only when no member of a better group is
 * available) and, inside the group, by weight over the available members.
 * The cursor is the caller's (one per worker thread: no sharing, no lock).
 *
 * Time: every call takes now_ms, a monotonic clock in milliseconds. */
#ifndef CG_GW_LB_H
#define CG_GW_LB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/breaker.h"
#include "store/model-t.h"
#include "store/store-t.h"

#define CG_LB_MAX_POOL_MEMBERS CG_STORE_MAX_POOL_MEMBERS

/* The rule of a breaker is the store's validated struct cg_model_breaker
 * (store/breaker.h reads it from APIM's JSON). */

/* Monotonic milliseconds (the clock the gateway passes as now_ms). */
int64_t cg_lb_now_ms(void);

/* Whether an outcome is a failure under rule: status is the backend's
 * response status, or 0 when no response came (connection failure,
 * timeout). */
bool cg_lb_is_failure(const struct cg_model_breaker *rule, int status);

/* A breaker's running state. Initialise with cg_lb_breaker_init, release
 * with cg_lb_breaker_destroy. */
struct cg_lb_breaker {
	pthread_mutex_t mu;
	int64_t window_start_ms; /* start of the counting interval; -1 = none open */
	uint32_t failures;       /* in the interval */
	uint32_t calls;          /* in the interval */
	_Atomic int64_t open_until_ms; /* tripped while now < this; 0 = closed */
	_Atomic uint64_t trips;        /* trips since init (metrics) */
	_Atomic unsigned refs;         /* cg_lb_breaker_new/ref/unref; unused after init */
};

void cg_lb_breaker_init(struct cg_lb_breaker *b);
void cg_lb_breaker_destroy(struct cg_lb_breaker *b);
/* A counted breaker on the heap, so that snapshots can hand one on to the
 * next (a configuration change keeps a backend's state): new gives one
 * reference (NULL when out of memory), unref frees with the last. */
struct cg_lb_breaker *cg_lb_breaker_new(void);
struct cg_lb_breaker *cg_lb_breaker_ref(struct cg_lb_breaker *b);
void cg_lb_breaker_unref(struct cg_lb_breaker *b);

/* Whether a request may be sent to the breaker's backend at now_ms (not
 * tripped). One atomic load; any thread. */
bool cg_lb_breaker_allows(struct cg_lb_breaker *b, int64_t now_ms);

/* Counts one outcome (see cg_lb_is_failure) of a request sent to the
 * backend. retry_after_ms is the backend's Retry-After in milliseconds,
 * or -1 when it sent none (used only when the rule accepts it and this
 * outcome trips the breaker; capped at CG_STORE_MAX_DURATION_MS). Outcomes
 * arriving while tripped (requests sent before the trip) are not counted.
 * Returns true when this outcome tripped the breaker. Any thread. */
bool cg_lb_breaker_report(struct cg_lb_breaker *b, const struct cg_model_breaker *rule, int64_t now_ms,
			  int status, int64_t retry_after_ms);

/* Milliseconds until the breaker closes again (> 0 while tripped), or 0. */
int64_t cg_lb_breaker_remaining_ms(struct cg_lb_breaker *b, int64_t now_ms);

/* One pool member: which backend (an index the caller owns), its
 * priority group and weight (APIM: both 0..100, absent = 0 priority and
 * weight 1; see docs/backend-pools.md). */
struct cg_lb_member {
	uint32_t backend;
	uint8_t priority;
	uint8_t weight;
};

struct cg_lb_pool {
	struct cg_lb_member members[CG_LB_MAX_POOL_MEMBERS];
	size_t num_members; /* 1..CG_LB_MAX_POOL_MEMBERS */
};

/* Orders members by priority, keeping the given order inside a group
 * (call once when the pool is built). */
void cg_lb_pool_sort(struct cg_lb_pool *p);

/* Whether backend may take a request now (its breaker is not tripped). */
typedef bool cg_lb_available_fn(void *ctx, uint32_t backend);

/* Picks a member of p (sorted): the first priority group with an
 * available member, and in it the available members in proportion to
 * their weights, advancing *cursor (the caller's, one per thread). When
 * every available member of the group has weight 0 they share equally.
 * Returns the member's index in p->members, or -1 when no member is
 * available (the caller answers 503). */
int cg_lb_pick(const struct cg_lb_pool *p, uint64_t *cursor, cg_lb_available_fn *avail, void *ctx);

#endif
