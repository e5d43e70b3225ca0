/* Fuzzes the chunked decoder alone. The same input is decoded in one call,
 * byte by byte, and in two pieces split where byte 0 says; all three must
 * give the same payload, leftover, total and error reason, and the output
 * never grows past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

struct fz_out {
	long r;
	char *payload;
	size_t len;
	char *rest;
	size_t rest_len;
	struct cg_h1_chunked d;
};

/* Feeds in[0..n) in pieces no longer than step (0: one piece), or split at
 * one point when cut <= n. */
static void run(struct fz_out *o, const char *in, size_t n, size_t step, size_t cut)
{
	o->payload = malloc(n + 1);
	o->rest = malloc(n + 1);
	check(o->payload && o->rest);
	o->len = o->rest_len = 0;
	o->r = CG_H1_INCOMPLETE;
	cg_h1_chunked_init(&o->d);
	size_t off = 0;
	while (o->r == CG_H1_INCOMPLETE && off <= n) {
		size_t end = step ? (off + step < n ? off + step : n) : (cut <= n && off < cut ? cut : n);
		size_t l = end - off;
		char *b = malloc(l ? l : 1); /* tight: ASan sees overreads */
		check(b != NULL);
		memcpy(b, in + off, l);
		o->r = cg_h1_chunked_decode(&o->d, b, &l);
		check(l <= end - off);
		if (o->r == CG_H1_ERROR) {
			check(l == 0 && o->d.error_reason != NULL);
		} else {
			memcpy(o->payload + o->len, b, l);
			o->len += l;
		}
		if (o->r >= 0) {
			memcpy(o->rest, b + l, (size_t)o->r);
			memcpy(o->rest + o->r, in + end, n - end);
			o->rest_len = (size_t)o->r + n - end;
		}
		free(b);
		if (end == n)
			break;
		off = end;
	}
}

static void same(const struct fz_out *a, const struct fz_out *b)
{
	check((a->r == CG_H1_ERROR) == (b->r == CG_H1_ERROR));
	check((a->r == CG_H1_INCOMPLETE) == (b->r == CG_H1_INCOMPLETE));
	if (a->r == CG_H1_ERROR) {
		check(strcmp(a->d.error_reason, b->d.error_reason) == 0);
		return;
	}
	check(a->len == b->len && memcmp(a->payload, b->payload, a->len) == 0);
	check(a->d.total == a->len && b->d.total == b->len);
	if (a->r >= 0)
		check(a->rest_len == b->rest_len && memcmp(a->rest, b->rest, a->rest_len) == 0);
}

static void done(struct fz_out *o)
{
	free(o->payload);
	free(o->rest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cut = data[0];
	const char *in = (const char *)data + 1;
	size_t n = size - 1;
	struct fz_out one, bytes, two;
	run(&one, in, n, 0, (size_t)-1);
	run(&bytes, in, n, 1, 0);
	run(&two, in, n, 0, cut);
	check(one.len <= n);
	same(&one, &bytes);
	same(&one, &two);
	done(&one);
	done(&bytes);
	done(&two);
	return 0;
}
