/* Backend pools and circuit breakers (src/gw/lb.c) on an injected clock:
 * the breaker's count and percentage conditions, its interval, trip
 * duration and Retry-After, and the pool's priority groups and weights.
 * (Durations and the JSON: tests/unit/store/test_breaker.c.) */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "gw/lb.h"
#include "store/store-t.h"

static struct cg_model_breaker rule_5xx(uint32_t count, uint32_t pct)
{
	struct cg_model_breaker r = { .count = count, .percentage = pct, .interval_ms = 10000, .trip_ms = 5000 };
	r.ranges[0] = (struct cg_model_status_range){ 500, 599 };
	r.num_ranges = 1;
	return r;
}

static void t_is_failure(void **state)
{
	(void)state;
	struct cg_model_breaker r = rule_5xx(3, 0);
	r.ranges[1] = (struct cg_model_status_range){ 429, 429 };
	r.num_ranges = 2;
	assert_true(cg_lb_is_failure(&r, 500));
	assert_true(cg_lb_is_failure(&r, 599));
	assert_true(cg_lb_is_failure(&r, 429));
	assert_false(cg_lb_is_failure(&r, 200));
	assert_false(cg_lb_is_failure(&r, 430));
	assert_false(cg_lb_is_failure(&r, 0));
	r.transport_errors = true;
	assert_true(cg_lb_is_failure(&r, 0));
}

/* count failures within the interval trip it; it stays tripped for the
 * trip duration, then takes requests again with fresh counts. */
static void t_breaker_count(void **state)
{
	(void)state;
	struct cg_model_breaker r = rule_5xx(3, 0);
	struct cg_lb_breaker b;
	cg_lb_breaker_init(&b);
	assert_false(cg_lb_breaker_report(&b, &r, 1000, 500, -1));
	assert_false(cg_lb_breaker_report(&b, &r, 1100, 200, -1));
	assert_false(cg_lb_breaker_report(&b, &r, 1200, 503, -1));
	assert_true(cg_lb_breaker_allows(&b, 1200));
	assert_true(cg_lb_breaker_report(&b, &r, 1300, 502, -1));
	assert_false(cg_lb_breaker_allows(&b, 1300));
	assert_int_equal(cg_lb_breaker_remaining_ms(&b, 1300), 5000);
	assert_false(cg_lb_breaker_allows(&b, 6299));
	/* an outcome of a request sent before the trip is not counted */
	assert_false(cg_lb_breaker_report(&b, &r, 2000, 500, -1));
	assert_int_equal(cg_lb_breaker_remaining_ms(&b, 2000), 4300);
	assert_true(cg_lb_breaker_allows(&b, 6300));
	assert_int_equal(cg_lb_breaker_remaining_ms(&b, 6300), 0);
	/* fresh counts: two failures do not trip it again */
	assert_false(cg_lb_breaker_report(&b, &r, 6400, 500, -1));
	assert_false(cg_lb_breaker_report(&b, &r, 6500, 500, -1));
	assert_true(cg_lb_breaker_allows(&b, 6500));
	assert_int_equal(atomic_load(&b.trips), 1);
	cg_lb_breaker_destroy(&b);
}

/* Failures spread over more than the interval do not trip it. */
static void t_breaker_interval(void **state)
{
	(void)state;
	struct cg_model_breaker r = rule_5xx(2, 0);
	struct cg_lb_breaker b;
	cg_lb_breaker_init(&b);
	assert_false(cg_lb_breaker_report(&b, &r, 0, 500, -1));
	assert_false(cg_lb_breaker_report(&b, &r, 10000, 500, -1)); /* a new interval */
	assert_true(cg_lb_breaker_report(&b, &r, 19999, 500, -1));
	assert_false(cg_lb_breaker_allows(&b, 20000));
	cg_lb_breaker_destroy(&b);
}

static void t_breaker_percentage(void **state)
{
	(void)state;
	struct cg_model_breaker r = rule_5xx(0, 50);
	struct cg_lb_breaker b;
	cg_lb_breaker_init(&b);
	for (int i = 0; i < 3; i++)
		assert_false(cg_lb_breaker_report(&b, &r, 100 + i, 200, -1));
	assert_false(cg_lb_breaker_report(&b, &r, 200, 500, -1)); /* 1 of 4 */
	assert_false(cg_lb_breaker_report(&b, &r, 201, 500, -1)); /* 2 of 5 */
	assert_true(cg_lb_breaker_report(&b, &r, 202, 500, -1));  /* 3 of 6 = 50 % */
	cg_lb_breaker_destroy(&b);
	/* with a count too, the count is the least number of failures */
	r = rule_5xx(3, 50);
	cg_lb_breaker_init(&b);
	assert_false(cg_lb_breaker_report(&b, &r, 0, 500, -1)); /* 100 %, 1 failure */
	assert_false(cg_lb_breaker_report(&b, &r, 1, 500, -1));
	assert_true(cg_lb_breaker_report(&b, &r, 2, 500, -1));
	cg_lb_breaker_destroy(&b);
}

static void t_breaker_retry_after(void **state)
{
	(void)state;
	struct cg_model_breaker r = rule_5xx(1, 0);
	r.ranges[1] = (struct cg_model_status_range){ 429, 429 };
	r.num_ranges = 2;
	struct cg_lb_breaker b;
	cg_lb_breaker_init(&b);
	/* not accepted: the rule's trip duration */
	assert_true(cg_lb_breaker_report(&b, &r, 0, 429, 60000));
	assert_int_equal(cg_lb_breaker_remaining_ms(&b, 0), 5000);
	r.accept_retry_after = true;
	assert_true(cg_lb_breaker_report(&b, &r, 5000, 429, 60000));
	assert_int_equal(cg_lb_breaker_remaining_ms(&b, 5000), 60000);
	/* none sent: the trip duration; a huge one: capped */
	assert_true(cg_lb_breaker_report(&b, &r, 65000, 503, -1));
	assert_int_equal(cg_lb_breaker_remaining_ms(&b, 65000), 5000);
	assert_true(cg_lb_breaker_report(&b, &r, 70000, 503, 100LL * 24 * 3600 * 1000));
	assert_int_equal(cg_lb_breaker_remaining_ms(&b, 70000), CG_STORE_MAX_DURATION_MS);
	assert_int_equal(atomic_load(&b.trips), 4);
	cg_lb_breaker_destroy(&b);
}

/* ---- pools ---- */

static bool down[8];

static bool avail(void *ctx, uint32_t backend)
{
	(void)ctx;
	return !down[backend];
}

static struct cg_lb_pool pool3(uint8_t p0, uint8_t w0, uint8_t p1, uint8_t w1, uint8_t p2, uint8_t w2)
{
	struct cg_lb_pool p = { .num_members = 3 };
	p.members[0] = (struct cg_lb_member){ 0, p0, w0 };
	p.members[1] = (struct cg_lb_member){ 1, p1, w1 };
	p.members[2] = (struct cg_lb_member){ 2, p2, w2 };
	cg_lb_pool_sort(&p);
	memset(down, 0, sizeof(down));
	return p;
}

/* How many of n picks went to each backend. */
static void spread(const struct cg_lb_pool *p, int n, int counts[3])
{
	uint64_t cursor = 0;
	counts[0] = counts[1] = counts[2] = 0;
	for (int i = 0; i < n; i++) {
		int m = cg_lb_pick(p, &cursor, avail, NULL);
		assert_true(m >= 0);
		counts[p->members[m].backend]++;
	}
}

static void t_pool_round_robin_and_weights(void **state)
{
	(void)state;
	int c[3];
	struct cg_lb_pool p = pool3(0, 1, 0, 1, 0, 1);
	spread(&p, 90, c);
	assert_int_equal(c[0], 30);
	assert_int_equal(c[1], 30);
	assert_int_equal(c[2], 30);
	p = pool3(0, 3, 0, 1, 0, 0);
	spread(&p, 80, c);
	assert_int_equal(c[0], 60);
	assert_int_equal(c[1], 20);
	assert_int_equal(c[2], 0); /* weight 0: a standby of its group */
	down[0] = down[1] = true;
	spread(&p, 5, c);
	assert_int_equal(c[2], 5);
	/* all weights 0: equal shares */
	p = pool3(0, 0, 0, 0, 0, 0);
	spread(&p, 9, c);
	assert_int_equal(c[0], 3);
	assert_int_equal(c[1], 3);
}

static void t_pool_priorities(void **state)
{
	(void)state;
	int c[3];
	/* listed out of order: sorting puts priority 1 first */
	struct cg_lb_pool p = pool3(2, 1, 1, 1, 1, 1);
	assert_int_equal(p.members[0].backend, 1);
	assert_int_equal(p.members[2].backend, 0);
	spread(&p, 10, c);
	assert_int_equal(c[0], 0);
	assert_int_equal(c[1], 5);
	assert_int_equal(c[2], 5);
	down[1] = true; /* one of the group down: the other takes it all */
	spread(&p, 10, c);
	assert_int_equal(c[2], 10);
	down[2] = true; /* the whole group down: priority 2 */
	spread(&p, 10, c);
	assert_int_equal(c[0], 10);
	down[0] = true;
	uint64_t cursor = 0;
	assert_int_equal(cg_lb_pick(&p, &cursor, avail, NULL), -1);
}

/* Breakers driven by two threads at once: every trip is counted once,
 * and reports never lose a count (the mutex), checked by the trip total. */
struct th_arg {
	struct cg_lb_breaker *b;
	const struct cg_model_breaker *r;
	int trips;
};

static void *th_report(void *p)
{
	struct th_arg *a = p;
	for (int i = 0; i < 20000; i++)
		a->trips += cg_lb_breaker_report(a->b, a->r, (int64_t)i * 10, 500, -1);
	return NULL;
}

static void t_threads(void **state)
{
	(void)state;
	struct cg_model_breaker r = rule_5xx(4, 0);
	r.trip_ms = 1;
	struct cg_lb_breaker b;
	cg_lb_breaker_init(&b);
	struct th_arg a[2] = { { &b, &r, 0 }, { &b, &r, 0 } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, th_report, &a[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_true(a[0].trips + a[1].trips > 0);
	assert_int_equal((uint64_t)(a[0].trips + a[1].trips), atomic_load(&b.trips));
	cg_lb_breaker_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_is_failure),
		cmocka_unit_test(t_breaker_count),
		cmocka_unit_test(t_breaker_interval),
		cmocka_unit_test(t_breaker_percentage),
		cmocka_unit_test(t_breaker_retry_after),
		cmocka_unit_test(t_pool_round_robin_and_weights),
		cmocka_unit_test(t_pool_priorities),
		cmocka_unit_test(t_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
