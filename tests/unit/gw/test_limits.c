/* The throttling counter table (src/gw/limits.c): windows, increments,
 * concurrency slots, threads, the key cap and reclaiming. */
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "gw/limits.h"

static int reset(void **state)
{
	(void)state;
	cg_limits_reset();
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static struct cg_limit_key key(enum cg_limit_kind kind, uint64_t period_ms, const char *text)
{
	struct cg_limit_key k;
	cg_limit_key_make(&k, kind, period_ms, cg_str_from_c(text));
	return k;
}

static void t_calls_in_window(void **state)
{
	(void)state;
	struct cg_limit_window w = { 10000, false, 0 };
	struct cg_limit_key k = key(CG_LIMIT_RATE, w.period_ms, "a");
	struct cg_limit_result r;
	for (uint64_t i = 1; i <= 3; i++) {
		cg_limit_take(&k, &w, 3, 1, &r);
		assert_true(r.allowed);
		assert_int_equal(r.count, i);
		assert_int_equal(r.remaining, 3 - i);
		assert_true(r.retry_after_ms > 9000 && r.retry_after_ms <= 10000);
	}
	cg_limit_take(&k, &w, 3, 1, &r);
	assert_false(r.allowed);
	assert_int_equal(r.count, 3); /* refused calls are not counted */
	assert_int_equal(r.remaining, 0);
	assert_false(r.overflow);
	/* another key, kind or window length is another counter */
	struct cg_limit_key k2 = key(CG_LIMIT_RATE, w.period_ms, "b");
	struct cg_limit_key k3 = key(CG_LIMIT_QUOTA, w.period_ms, "a");
	struct cg_limit_key k4 = key(CG_LIMIT_RATE, 20000, "a");
	cg_limit_take(&k2, &w, 3, 1, &r);
	assert_true(r.allowed);
	cg_limit_take(&k3, &w, 3, 1, &r);
	assert_true(r.allowed);
	cg_limit_take(&k4, &w, 3, 1, &r);
	assert_true(r.allowed);
}

static void t_window_ends(void **state)
{
	(void)state;
	struct cg_limit_window w = { 60, false, 0 };
	struct cg_limit_key k = key(CG_LIMIT_RATE, w.period_ms, "short");
	struct cg_limit_result r;
	cg_limit_take(&k, &w, 1, 1, &r);
	assert_true(r.allowed);
	cg_limit_take(&k, &w, 1, 1, &r);
	assert_false(r.allowed);
	assert_true(r.retry_after_ms >= 1 && r.retry_after_ms <= 60);
	sleep_ms(80);
	cg_limit_take(&k, &w, 1, 1, &r);
	assert_true(r.allowed);
	assert_int_equal(r.count, 1);
}

static void t_increment_counts(void **state)
{
	(void)state;
	struct cg_limit_window w = { 10000, false, 0 };
	struct cg_limit_key k = key(CG_LIMIT_RATE, w.period_ms, "n");
	struct cg_limit_result r;
	cg_limit_take(&k, &w, 3, 2, &r);
	assert_true(r.allowed);
	assert_int_equal(r.remaining, 1);
	cg_limit_take(&k, &w, 3, 2, &r); /* 2 + 2 > 3 */
	assert_false(r.allowed);
	cg_limit_take(&k, &w, 3, 0, &r); /* a check only: one call would fit */
	assert_true(r.allowed);
	assert_int_equal(r.count, 2);
	cg_limit_add(&k, &w, 5); /* deferred increments go over the limit */
	cg_limit_take(&k, &w, 3, 0, &r);
	assert_false(r.allowed);
	assert_int_equal(r.count, 7);
	assert_int_equal(r.remaining, 0);
	/* limit 0 refuses everything */
	struct cg_limit_key z = key(CG_LIMIT_RATE, w.period_ms, "zero");
	cg_limit_take(&z, &w, 0, 1, &r);
	assert_false(r.allowed);
}

static void t_quota_windows(void **state)
{
	(void)state;
	/* renewal-period 0: one window that never ends */
	struct cg_limit_window forever = { 0, false, 0 };
	struct cg_limit_key k = key(CG_LIMIT_QUOTA, 0, "life");
	struct cg_limit_result r;
	cg_limit_take(&k, &forever, 1, 1, &r);
	assert_true(r.allowed);
	cg_limit_take(&k, &forever, 1, 1, &r);
	assert_false(r.allowed);
	assert_int_equal(r.retry_after_ms, 0);
	/* aligned windows end at origin + k * period on the wall clock */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	struct cg_limit_window al = { 1000000, true, now - 999000 }; /* ends in ~1 s */
	struct cg_limit_key ka = key(CG_LIMIT_QUOTA, al.period_ms, "al");
	cg_limit_take(&ka, &al, 5, 1, &r);
	assert_true(r.allowed);
	assert_true(r.retry_after_ms >= 1 && r.retry_after_ms <= 1000); /* not 1,000 s: aligned */
	/* an origin in the future places windows backwards too */
	struct cg_limit_window fut = { 1000000, true, now + 2500000 };
	struct cg_limit_key kf = key(CG_LIMIT_QUOTA, fut.period_ms, "fut");
	cg_limit_take(&kf, &fut, 5, 1, &r);
	assert_true(r.retry_after_ms >= 400000 && r.retry_after_ms <= 500000);
}

static void t_concurrency_slots(void **state)
{
	(void)state;
	struct cg_limit_key k = key(CG_LIMIT_CONCURRENCY, 0, "c");
	struct cg_limit_slot *a = cg_limit_enter(&k, 2), *b = cg_limit_enter(&k, 2);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(cg_limit_enter(&k, 2));
	cg_limit_leave(a);
	struct cg_limit_slot *c = cg_limit_enter(&k, 2);
	assert_non_null(c);
	cg_limit_leave(b);
	cg_limit_leave(c);
	struct cg_limits_stats st;
	cg_limits_stats(&st);
	assert_int_equal(st.keys, 1);
}

#define THREADS 8
#define TRIES 2000

static atomic_int admitted;

static void *hammer(void *arg)
{
	(void)arg;
	struct cg_limit_window w = { 60000, false, 0 };
	struct cg_limit_key k = key(CG_LIMIT_RATE, w.period_ms, "shared");
	struct cg_limit_key kc = key(CG_LIMIT_CONCURRENCY, 0, "shared");
	for (int i = 0; i < TRIES; i++) {
		struct cg_limit_result r;
		cg_limit_take(&k, &w, 1000, 1, &r);
		if (r.allowed)
			atomic_fetch_add(&admitted, 1);
		struct cg_limit_slot *s = cg_limit_enter(&kc, 3);
		if (s)
			cg_limit_leave(s);
	}
	return NULL;
}

/* Threads share one counter: exactly `calls` are admitted, never more. */
static void t_threads_never_over_admit(void **state)
{
	(void)state;
	pthread_t t[THREADS];
	atomic_store(&admitted, 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&admitted), 1000);
	struct cg_limit_key kc = key(CG_LIMIT_CONCURRENCY, 0, "shared");
	struct cg_limit_slot *s[3];
	for (int i = 0; i < 3; i++)
		assert_non_null(s[i] = cg_limit_enter(&kc, 3)); /* every slot was given back */
	assert_null(cg_limit_enter(&kc, 3));
	for (int i = 0; i < 3; i++)
		cg_limit_leave(s[i]);
}

/* More live keys than the table holds (held slots are never reclaimed, so
 * this does not depend on time): keys beyond the cap share their shard's
 * overflow entry and stay limited. */
#define OVERFILL (CG_LIMITS_SHARDS * CG_LIMITS_SHARD_KEYS + 32768) /* every shard fills */

static void t_key_cap(void **state)
{
	(void)state;
	static struct cg_limit_slot *held[OVERFILL];
	char name[32];
	int refused = 0;
	for (int i = 0; i < OVERFILL; i++) {
		snprintf(name, sizeof(name), "key-%d", i);
		struct cg_limit_key k = key(CG_LIMIT_CONCURRENCY, 0, name);
		held[i] = cg_limit_enter(&k, 1);
		refused += held[i] == NULL;
	}
	struct cg_limits_stats st;
	cg_limits_stats(&st);
	assert_int_equal(st.keys, CG_LIMITS_SHARDS * CG_LIMITS_SHARD_KEYS);
	assert_true(st.overflows >= 32768);
	/* one overflowing key per shard got the shared slot; the others wait */
	assert_int_equal(refused, (int)st.overflows - CG_LIMITS_SHARDS);
	/* keys of other window lengths share the overflow entries: short
	 * windows ending must not reset the count a long one relies on */
	struct cg_limit_result r;
	struct cg_limit_window longw = { 600000, false, 0 }, shortw = { 60, false, 0 };
	struct cg_limit_key lk = key(CG_LIMIT_RATE, longw.period_ms, "long");
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < 1024; i++) { /* ~16 per shard: the long key's is hit */
			snprintf(name, sizeof(name), "short-%d", i);
			struct cg_limit_key k = key(CG_LIMIT_RATE, shortw.period_ms, name);
			cg_limit_take(&k, &shortw, UINT64_MAX / 2, 1, &r);
			assert_true(r.overflow);
		}
		if (pass == 0)
			cg_limit_add(&lk, &longw, 1000000); /* while the short windows run */
		sleep_ms(120); /* the short windows ended */
	}
	cg_limit_take(&lk, &longw, 1000000, 1, &r);
	assert_true(r.overflow);
	assert_false(r.allowed);
	assert_true(r.count >= 1000000);
	/* a rate key that does not fit is limited with the others of its shard */
	struct cg_limit_window w = { 60000, false, 0 };
	int limited = 0;
	for (int i = 0; i < 128 && !limited; i++) {
		snprintf(name, sizeof(name), "late-%d", i);
		struct cg_limit_key k = key(CG_LIMIT_RATE, w.period_ms, name);
		cg_limit_take(&k, &w, 1, 1, &r);
		assert_true(r.overflow);
		limited += !r.allowed;
	}
	assert_int_equal(limited, 1);
	/* slots given back: their entries are reclaimed for new keys */
	for (int i = 0; i < OVERFILL; i++)
		if (held[i])
			cg_limit_leave(held[i]);
	sleep_ms(120); /* a full shard is swept at most every 100 ms */
	struct cg_limit_key fresh = key(CG_LIMIT_CONCURRENCY, 0, "fresh");
	struct cg_limit_slot *s = cg_limit_enter(&fresh, 1);
	assert_non_null(s);
	cg_limits_stats(&st);
	assert_true(st.reclaimed >= CG_LIMITS_SHARD_KEYS);
	cg_limit_leave(s);
}

/* Entries whose window ended are reclaimed when their shard fills. */
static void t_ended_windows_reclaimed(void **state)
{
	(void)state;
	struct cg_limit_window w = { 50, false, 0 };
	struct cg_limit_result r;
	char name[32];
	for (int i = 0; i < OVERFILL; i++) {
		snprintf(name, sizeof(name), "w-%d", i);
		struct cg_limit_key k = key(CG_LIMIT_RATE, w.period_ms, name);
		cg_limit_take(&k, &w, 1000000, 1, &r); /* overflowing keys share a counter */
		assert_true(r.allowed);
	}
	sleep_ms(150);
	struct cg_limit_key fresh = key(CG_LIMIT_RATE, w.period_ms, "fresh");
	cg_limit_take(&fresh, &w, 1, 1, &r);
	assert_true(r.allowed);
	assert_false(r.overflow);
	struct cg_limits_stats st;
	cg_limits_stats(&st);
	assert_true(st.reclaimed >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_calls_in_window, reset),
		cmocka_unit_test_setup(t_window_ends, reset),
		cmocka_unit_test_setup(t_increment_counts, reset),
		cmocka_unit_test_setup(t_quota_windows, reset),
		cmocka_unit_test_setup(t_concurrency_slots, reset),
		cmocka_unit_test_setup(t_threads_never_over_admit, reset),
		cmocka_unit_test_setup(t_key_cap, reset),
		cmocka_unit_test_setup(t_ended_windows_reclaimed, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
