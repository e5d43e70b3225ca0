/* Shared by the *_bench.c microbenchmarks: a monotonic clock, a comparator
 * for medians, and a throwaway ECDSA server certificate made with the
 * openssl CLI (a snapshot needs one hostname). Header-only: each benchmark
 * stays one .c file (CMake globs the bench folder). */
#ifndef CG_BENCH_UTIL_H
#define CG_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The output of a shell command (at most 16 KiB), malloc'd. */
static inline char *bench_slurp(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	static char buf[16384];
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		pclose(f);
	return strdup(buf);
}

/* A self-signed P-256 certificate for bench.test and its key (PEM);
 * false, with a message naming prog, when openssl could not make them. */
static inline int bench_server_cert(const char *prog, char **cert, char **key)
{
	char cmd[16384];
	*key = bench_slurp("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null");
	snprintf(cmd, sizeof(cmd),
		 "printf '%%s' '%s' | openssl req -x509 -key /dev/stdin -days 2 -subj /CN=bench.test 2>/dev/null",
		 *key);
	*cert = bench_slurp(cmd);
	if (!strstr(*cert, "BEGIN CERTIFICATE")) {
		fprintf(stderr, "%s: could not make a certificate with openssl\n", prog);
		return 0;
	}
	return 1;
}

#endif
