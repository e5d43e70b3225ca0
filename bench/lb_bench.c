/* Backend pool and circuit breaker microbenchmark (src/gw/lb.c): what a
 * request pays to pick a pool member (3 members in two priority groups,
 * each with a breaker asked through one atomic load) and to count its
 * outcome on a breaker (mutex), with 1 and 2 threads counting on the same
 * breaker (the worst case: one busy backend).
 *
 *   build/lb_bench [--iterations N]
 * Prints ns/op per case (median of 5 runs). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/lb.h"

#include "bench_util.h"

static long iterations = 10000000;
static struct cg_lb_breaker breakers[3];
static struct cg_model_breaker rule = { .count = 1000000000, .interval_ms = 60000, .trip_ms = 1000,
					.ranges = { { 500, 599 } }, .num_ranges = 1 };

static bool avail(void *ctx, uint32_t i)
{
	return cg_lb_breaker_allows(&breakers[i], *(int64_t *)ctx);
}

struct job {
	int pick; /* 1: pick, 0: report */
	double ns;
	uint64_t sink;
};

static void *work(void *arg)
{
	struct job *j = arg;
	struct cg_lb_pool p = { .num_members = 3 };
	p.members[0] = (struct cg_lb_member){ 0, 1, 3 };
	p.members[1] = (struct cg_lb_member){ 1, 1, 1 };
	p.members[2] = (struct cg_lb_member){ 2, 2, 1 };
	uint64_t cursor = 0;
	int64_t now = 1000;
	double t0 = bench_now_ns();
	for (long i = 0; i < iterations; i++) {
		if (j->pick)
			j->sink += (uint64_t)cg_lb_pick(&p, &cursor, avail, &now);
		else
			j->sink += cg_lb_breaker_report(&breakers[0], &rule, now + (i >> 10), 200, -1);
	}
	j->ns = (bench_now_ns() - t0) / (double)iterations;
	return NULL;
}

static double run(int threads, int pick)
{
	pthread_t t[2];
	struct job j[2];
	for (int i = 0; i < threads; i++) {
		j[i] = (struct job){ pick, 0, 0 };
		pthread_create(&t[i], NULL, work, &j[i]);
	}
	double sum = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		sum += j[i].ns;
	}
	return sum / threads;
}

static double median5(int threads, int pick)
{
	double r[5];
	for (int k = 0; k < 5; k++)
		r[k] = run(threads, pick);
	qsort(r, 5, sizeof(r[0]), bench_cmp_double);
	return r[2];
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--iterations") == 0)
		iterations = atol(argv[2]);
	for (int i = 0; i < 3; i++)
		cg_lb_breaker_init(&breakers[i]);
	printf("pick (3 members, 2 groups, breakers asked), 1 thread:  %.1f ns/op\n", median5(1, 1));
	printf("pick, 2 threads (own cursors):                         %.1f ns/op per thread\n",
	       median5(2, 1));
	printf("report an outcome, 1 thread:                           %.1f ns/op\n", median5(1, 0));
	printf("report an outcome, 2 threads on one breaker:           %.1f ns/op per thread\n",
	       median5(2, 0));
	for (int i = 0; i < 3; i++)
		cg_lb_breaker_destroy(&breakers[i]);
	return 0;
}
