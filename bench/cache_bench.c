/* Value cache microbenchmark (src/gw/cache.c): nanoseconds per
 * cache-store-value and cache-lookup-value of a 64-byte string under a
 * 50-byte key (a thumbprint-sized key), 10,000 keys, with 1 and 2 threads
 * (each thread its own keys, all shards shared), and the cost of the
 * eviction path with a cache 1/10 the size of the key set.
 *
 *   build/cache_bench [--iterations N]
 * Prints ns/op per case (median of 5 runs). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/cache.h"

#include "bench_util.h"

#define KEYS 10000

static long iterations = 1000000;

struct job {
	int thread;
	int lookup; /* 0: store, 1: lookup */
	double ns;
};

static void *work(void *arg)
{
	struct job *j = arg;
	struct cg_arena a;
	cg_arena_init(&a, 16384, 0);
	char key[64], val[65];
	memset(val, 'v', 64);
	val[64] = '\0';
	struct cg_expr_value v = { .kind = CG_EXPR_V_STRING };
	v.u.s = cg_str_make(val, 64);
	double t0 = bench_now_ns();
	for (long i = 0; i < iterations; i++) {
		snprintf(key, sizeof(key), "token-%d-%040ld", j->thread, i % KEYS);
		struct cg_str k = cg_str_from_c(key);
		if (j->lookup) {
			struct cg_expr_value out;
			cg_cache_lookup(k, &a, 1, &out);
			if ((i & 255) == 0)
				cg_arena_reset(&a);
		} else {
			cg_cache_store(k, &v, 3600000, 1);
		}
	}
	j->ns = (bench_now_ns() - t0) / (double)iterations;
	cg_arena_destroy(&a);
	return NULL;
}

static double run(int threads, int lookup)
{
	pthread_t t[2];
	struct job j[2];
	for (int i = 0; i < threads; i++) {
		j[i] = (struct job){ i, lookup, 0 };
		pthread_create(&t[i], NULL, work, &j[i]);
	}
	double sum = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		sum += j[i].ns;
	}
	return sum / threads;
}

static double median5(int threads, int lookup, const struct cg_cache_limits *l)
{
	double r[5];
	for (int k = 0; k < 5; k++) {
		cg_cache_configure(l);
		if (lookup)
			run(threads, 0); /* fill */
		r[k] = run(threads, lookup);
	}
	qsort(r, 5, sizeof(r[0]), bench_cmp_double);
	return r[2];
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--iterations") == 0)
		iterations = atol(argv[2]);
	struct cg_cache_limits l;
	cg_cache_limits_default(&l);
	printf("store,  1 thread:  %.0f ns/op\n", median5(1, 0, &l));
	printf("lookup, 1 thread:  %.0f ns/op (hits)\n", median5(1, 1, &l));
	printf("store,  2 threads: %.0f ns/op per thread\n", median5(2, 0, &l));
	printf("lookup, 2 threads: %.0f ns/op per thread (hits)\n", median5(2, 1, &l));
	l.max_entries = KEYS / 10;
	printf("store with eviction (cache 1/10 of the keys), 1 thread: %.0f ns/op\n", median5(1, 0, &l));
	return 0;
}
