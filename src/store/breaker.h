/* Backend pools and circuit breakers as configuration: the ARM JSON of
 * APIM's properties.circuitBreaker and properties.pool, read and checked
 * the same way for the admin API, APIOps and the store itself (so the
 * three doors refuse the same things with the same words), and ISO 8601
 * durations. The gateway's running state is src/gw/lb.h;
 * docs/backend-pools.md says what each setting means. */
#ifndef CG_STORE_BREAKER_H
#define CG_STORE_BREAKER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"
#include "store/model-t.h"

#define CG_STORE_MAX_POOL_MEMBERS  30   /* APIM: at most 30 backends in a pool */
#define CG_STORE_MAX_POOL_PRIORITY 100  /* APIM BackendPoolItem: 0..100 */
#define CG_STORE_MAX_POOL_WEIGHT   100  /* APIM BackendPoolItem: 0..100 */
#define CG_STORE_MIN_FAIL_STATUS   100
#define CG_STORE_MAX_FAIL_STATUS   599
#define CG_STORE_MAX_FAIL_COUNT    100000
#define CG_STORE_MAX_ERROR_REASONS 16
#define CG_STORE_MAX_REASON_LEN    200
#define CG_STORE_MAX_DURATION_MS   (7LL * 24 * 3600 * 1000) /* interval, tripDuration, Retry-After */
#define CG_STORE_MAX_DURATION_TEXT 64

/* Reads an ISO 8601 duration, P[nW][nD][T[nH][nM][n[.f]S]], into
 * milliseconds (fractions below a millisecond are dropped). what names the
 * property in messages. Refuses, with a message in err: text that is not
 * such a duration, years and months (their length varies), a sign, zero,
 * and more than CG_STORE_MAX_DURATION_MS. Returns 0 or
 * CG_STORE_FAIL_INVALID. */
int cg_store_duration_parse(const char *what, struct cg_str s, int64_t *ms, char *err, size_t errlen);

/* Checks statusCodeRanges[i] of the failure condition at path:
 * CG_STORE_MIN_FAIL_STATUS <= min <= max <= CG_STORE_MAX_FAIL_STATUS.
 * Returns 0, or CG_STORE_FAIL_INVALID. */
int cg_store_range_check(const char *path, size_t i, long long min, long long max, char *err,
			 size_t errlen);

/* Reads an APIM circuitBreaker object ({"rules": [rule]}) into *out.
 * An empty or absent rules array gives *has = false. Refuses more than one
 * rule, unknown properties, a missing interval or tripDuration, neither
 * count nor percentage, neither statusCodeRanges nor errorReasons, values
 * out of range. Messages name the property from "properties.circuitBreaker".
 * Returns 0 or CG_STORE_FAIL_INVALID. */
int cg_store_breaker_from_json(json_t *cb, struct cg_model_breaker *out, bool *has, char *err,
			       size_t errlen);

/* Reads an APIM pool object ({"services": [{id, priority, weight}]}) into
 * out (room for CG_STORE_MAX_POOL_MEMBERS). Member ids are "/backends/NAME",
 * a full ARM id ending so, or "NAME", and borrow from pool's strings.
 * Refuses no services, more than CG_STORE_MAX_POOL_MEMBERS, a member named
 * twice, priority or weight outside 0..100, unknown properties. Whether the
 * members exist and are single backends is the store's check at write.
 * Returns 0 or CG_STORE_FAIL_INVALID. */
int cg_store_pool_from_json(json_t *pool, struct cg_model_pool_member *out, size_t *n, char *err,
			    size_t errlen);

/* A pool's members as APIM's pool object ({"services": [...]}), new
 * reference; priority and weight only when given. NULL when out of memory. */
json_t *cg_store_pool_to_json(const struct cg_model_pool_member *m, size_t n);

#endif
