/* Fuzzes the backend pool and circuit breaker readers (store/breaker.c) on
 * arbitrary bytes: as an ISO 8601 duration, and, when they parse as JSON,
 * as a circuitBreaker and as a pool. What is accepted must be in range
 * (the gateway trusts these bounds), and an accepted breaker must drive
 * the gateway's breaker (gw/lb.c) without fault. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw/lb.h"
#include "store/breaker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_breaker(const struct cg_model_breaker *r)
{
	if (r->interval_ms <= 0 || r->interval_ms > CG_STORE_MAX_DURATION_MS || r->trip_ms <= 0 ||
	    r->trip_ms > CG_STORE_MAX_DURATION_MS || r->percentage > 100 ||
	    r->count > CG_STORE_MAX_FAIL_COUNT || (!r->count && !r->percentage) ||
	    r->num_ranges > CG_MODEL_MAX_STATUS_RANGES)
		abort();
	for (size_t i = 0; i < r->num_ranges; i++)
		if (r->ranges[i].min < CG_STORE_MIN_FAIL_STATUS || r->ranges[i].max > CG_STORE_MAX_FAIL_STATUS ||
		    r->ranges[i].min > r->ranges[i].max)
			abort();
	struct cg_lb_breaker b;
	cg_lb_breaker_init(&b);
	for (int k = 0; k < 8; k++)
		(void)cg_lb_breaker_report(&b, r, k * 1000, k & 1 ? 500 : 0, k * 700);
	cg_lb_breaker_destroy(&b);
}

static void check_pool(const struct cg_model_pool_member *m, size_t n)
{
	if (n == 0 || n > CG_STORE_MAX_POOL_MEMBERS)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!m[i].backend_id || m[i].priority > 100 || m[i].weight > 100 || m[i].priority < -1 ||
		    m[i].weight < -1)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char err[512];
	int64_t ms;
	if (cg_store_duration_parse("d", cg_str_make((const char *)data, size), &ms, err, sizeof(err)) == 0 &&
	    (ms <= 0 || ms > CG_STORE_MAX_DURATION_MS))
		abort();
	json_error_t je;
	json_t *j = json_loadb((const char *)data, size, 0, &je);
	if (!j)
		return 0;
	struct cg_model_breaker r;
	bool has;
	if (cg_store_breaker_from_json(j, &r, &has, err, sizeof(err)) == 0 && has)
		check_breaker(&r);
	struct cg_model_pool_member m[CG_STORE_MAX_POOL_MEMBERS];
	size_t n;
	if (cg_store_pool_from_json(j, m, &n, err, sizeof(err)) == 0)
		check_pool(m, n);
	json_decref(j);
	return 0;
}
