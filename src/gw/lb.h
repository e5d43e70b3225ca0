/* Backend pools and circuit breakers (APIM backends of type Pool and
 * circuitBreaker rules): the decisions only, below the network, so that
 * they can be tested on an injected clock (tests/unit/gw/test_lb.c).
 * Semantics and the choices where APIM is silent: docs/backend-pools.md.
 *
 * Durations: cg_lb_duration_parse reads the ISO 8601 durations of
 * failureCondition.interval and tripDuration.
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

#include "base/str.h"

#define CG_LB_MAX_POOL_MEMBERS   30 /* APIM: at most 30 backends in a pool */
#define CG_LB_MAX_PRIORITY       100 /* APIM BackendPoolItem: 0..100 */
#define CG_LB_MAX_WEIGHT         100 /* APIM BackendPoolItem: 0..100 */
#define CG_LB_MAX_STATUS_RANGES  16
#define CG_LB_MIN_STATUS         100
#define CG_LB_MAX_STATUS         599
#define CG_LB_MAX_DURATION_MS    (7LL * 24 * 3600 * 1000) /* interval, tripDuration, Retry-After */
#define CG_LB_MAX_DURATION_TEXT  64

/* Reads an ISO 8601 duration, P[nW][nD][T[nH][nM][n[.f]S]], into
 * milliseconds (fractions below a millisecond are dropped). what names the
 * property in messages ("tripDuration"). Refuses, with a message in err:
 * text that is not such a duration, years and months (their length
 * varies), a negative sign, zero, and more than CG_LB_MAX_DURATION_MS.
 * Returns 0 or -1. */
int cg_lb_duration_parse(const char *what, struct cg_str s, int64_t *ms, char *err, size_t errlen);

/* A failure status range, both ends included. */
struct cg_lb_range {
	uint16_t min, max;
};

/* Checks one statusCodeRanges entry: CG_LB_MIN_STATUS <= min <= max <=
 * CG_LB_MAX_STATUS. Returns 0, or -1 with a message naming range i. */
int cg_lb_range_check(size_t i, long long min, long long max, char *err, size_t errlen);

/* A circuitBreaker rule (APIM allows one per backend), as validated. */
struct cg_lb_rule {
	uint32_t count;      /* failures within interval that trip it; 0 = not set */
	uint32_t percentage; /* 1..100 % of the interval's calls that trip it; 0 = not set */
	int64_t interval_ms; /* > 0 */
	int64_t trip_ms;     /* > 0 */
	bool accept_retry_after;
	bool transport_errors; /* errorReasons listed: no response (connect failure, timeout) is a failure */
	struct cg_lb_range ranges[CG_LB_MAX_STATUS_RANGES];
	size_t num_ranges;
};

/* Whether an outcome is a failure under rule: status is the backend's
 * response status, or 0 when no response came (connection failure,
 * timeout). */
bool cg_lb_is_failure(const struct cg_lb_rule *rule, int status);

/* A breaker's running state. Initialise with cg_lb_breaker_init, release
 * with cg_lb_breaker_destroy. */
struct cg_lb_breaker {
	pthread_mutex_t mu;
	int64_t window_start_ms; /* start of the counting interval; -1 = none open */
	uint32_t failures;       /* in the interval */
	uint32_t calls;          /* in the interval */
	_Atomic int64_t open_until_ms; /* tripped while now < this; 0 = closed */
	_Atomic uint64_t trips;        /* trips since init (metrics) */
};

void cg_lb_breaker_init(struct cg_lb_breaker *b);
void cg_lb_breaker_destroy(struct cg_lb_breaker *b);

/* Whether a request may be sent to the breaker's backend at now_ms (not
 * tripped). One atomic load; any thread. */
bool cg_lb_breaker_allows(struct cg_lb_breaker *b, int64_t now_ms);

/* Counts one outcome (see cg_lb_is_failure) of a request sent to the
 * backend. retry_after_ms is the backend's Retry-After in milliseconds,
 * or -1 when it sent none (used only when the rule accepts it and this
 * outcome trips the breaker; capped at CG_LB_MAX_DURATION_MS). Outcomes
 * arriving while tripped (requests sent before the trip) are not counted.
 * Returns true when this outcome tripped the breaker. Any thread. */
bool cg_lb_breaker_report(struct cg_lb_breaker *b, const struct cg_lb_rule *rule, int64_t now_ms,
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
