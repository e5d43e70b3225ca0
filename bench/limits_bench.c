/* Throttling counter microbenchmark: nanoseconds per counted call (the
 * counter key's SHA-256 and cg_limit_take, what a rate-limit-by-key does
 * per request) over 1,000 keys, first with the fleet off, then with the
 * fleet on (cg_limits_fleet_enable) and a thread draining the unsent calls
 * every 50 ms as gw/fleet.c does. The fleet cannot be turned off again, so
 * the order is fixed.
 *
 *   build/limits_bench [--iterations N]
 * Prints one line per case: ns/call, median of 7 runs. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw/limits.h"

#include "bench_util.h"

#define KEYS 1000

static atomic_bool stop;
static atomic_uint_fast64_t drained;

static void *drainer(void *arg)
{
	(void)arg;
	struct cg_limit_delta out[24];
	while (!atomic_load(&stop)) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
		size_t n;
		while ((n = cg_limits_drain(out, 24)) > 0)
			atomic_fetch_add(&drained, n);
	}
	return NULL;
}

static double run_case(long iters)
{
	static char names[KEYS][16];
	for (int i = 0; i < KEYS; i++)
		snprintf(names[i], sizeof(names[i]), "client-%d", i);
	struct cg_limit_window w = { 60000, false, 0 };
	double runs[7];
	for (int r = 0; r < 7; r++) {
		cg_limits_reset();
		double t0 = bench_now_ns();
		for (long i = 0; i < iters; i++) {
			struct cg_limit_key k;
			struct cg_limit_result res;
			cg_limit_key_make(&k, CG_LIMIT_RATE, w.period_ms, cg_str_from_c(names[i % KEYS]));
			cg_limit_take(&k, &w, 1000000000, 1, &res);
		}
		runs[r] = (bench_now_ns() - t0) / (double)iters;
	}
	qsort(runs, 7, sizeof(runs[0]), bench_cmp_double);
	return runs[3];
}

int main(int argc, char **argv)
{
	long iters = 1000000;
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--iterations") == 0)
			iters = atol(argv[++i]);
	printf("fleet off:                  %.1f ns/call\n", run_case(iters));
	cg_limits_fleet_enable();
	printf("fleet on, no drain:         %.1f ns/call\n", run_case(iters));
	pthread_t t;
	pthread_create(&t, NULL, drainer, NULL);
	printf("fleet on, drained /50 ms:   %.1f ns/call\n", run_case(iters));
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	printf("(%llu counters drained)\n", (unsigned long long)atomic_load(&drained));
	return 0;
}
