/* Fuzzes the request head parser, and the chunked decoder behind it.
 *
 * Beyond "no crash under ASan/UBSan" it checks properties that must hold
 * for every input and aborts when one does not:
 *  - one-shot parsing, byte-by-byte parsing (with prev_len) and a two-read
 *    split give the same answer (length, or status and reason);
 *  - a parsed head lies within the limits and every header is well-formed;
 *  - a chunked body after the head decodes the same in one call and byte by
 *    byte, and never grows.
 * Input: byte 0 picks the limits (bit 0: tight limits) and byte 1 the split
 * point; the rest is the stream. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_HDRS 128

static void check(int cond)
{
	if (!cond)
		abort();
}

static bool in_buf(struct cg_str s, const char *b, size_t n)
{
	return s.len == 0 || (s.ptr >= b && s.ptr + s.len <= b + n);
}

/* Decodes buf[0..n) once and byte by byte; both must agree. */
static void chunked_both_ways(const char *in, size_t n)
{
	char *one = malloc(n + 1), *acc = malloc(n + 1), *b = malloc(1);
	check(one && acc && b);
	memcpy(one, in, n);
	struct cg_h1_chunked d1, d2;
	cg_h1_chunked_init(&d1);
	size_t len1 = n;
	long r1 = cg_h1_chunked_decode(&d1, one, &len1);
	check(len1 <= n && d1.total <= n);
	if (r1 >= 0)
		check(len1 + (size_t)r1 <= n && memcmp(one + len1, in + n - (size_t)r1, (size_t)r1) == 0);

	cg_h1_chunked_init(&d2);
	size_t acc_len = 0, i;
	long r2 = CG_H1_INCOMPLETE;
	for (i = 0; i < n && r2 == CG_H1_INCOMPLETE; i++) {
		b[0] = in[i];
		size_t l = 1;
		r2 = cg_h1_chunked_decode(&d2, b, &l);
		memcpy(acc + acc_len, b, l);
		acc_len += l;
	}
	if (r2 >= 0)
		r2 += (long)(n - i); /* the bytes not fed are leftover too */
	check(r1 == r2);
	if (r1 == CG_H1_ERROR) {
		check(strcmp(d1.error_reason, d2.error_reason) == 0);
	} else {
		check(len1 == acc_len && memcmp(one, acc, len1) == 0);
		check(d1.total == d2.total && d1.total == len1);
	}
	free(one);
	free(acc);
	free(b);
}

static int parse(const char *b, size_t n, size_t prev, struct cg_h1_request *req,
		 struct cg_h1_header *h, const struct cg_h1_limits *lim)
{
	return cg_h1_parse_request(b, n, prev, req, h, FZ_HDRS, lim);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct cg_h1_limits lim;
	cg_h1_limits_default(&lim);
	if (data[0] & 1) {
		lim.max_head_bytes = 512;
		lim.max_line_bytes = 128;
		lim.max_uri_bytes = 64;
		lim.max_headers = 8;
	}
	size_t split = data[1];
	data += 2;
	size_t n = size - 2;
	char *buf = malloc(n ? n : 1); /* tight copy: ASan sees overreads */
	check(buf != NULL);
	memcpy(buf, data, n);

	static struct cg_h1_header h1[FZ_HDRS], h2[FZ_HDRS];
	struct cg_h1_request req, req2;
	int r = parse(buf, n, 0, &req, h1, &lim);

	if (r > 0) {
		check((size_t)r <= n && (size_t)r <= lim.max_head_bytes);
		check(req.num_headers <= lim.max_headers);
		check(req.minor_version == 0 || req.minor_version == 1);
		check(in_buf(req.method, buf, (size_t)r) && in_buf(req.target, buf, (size_t)r));
		check(req.target.len <= lim.max_uri_bytes && req.method.len > 0);
		check(cg_h1_token_valid(req.method));
		for (size_t i = 0; i < req.target.len; i++) /* cross-checks the word scan */
			check(req.target.ptr[i] > 0x20 && req.target.ptr[i] < 0x7f);
		for (size_t i = 0; i < req.num_headers; i++) {
			struct cg_str v = h1[i].value;
			check(in_buf(h1[i].name, buf, (size_t)r) && in_buf(v, buf, (size_t)r));
			check(cg_h1_token_valid(h1[i].name) && cg_h1_field_value_valid(v));
			check(v.len == 0 || (v.ptr[0] != ' ' && v.ptr[0] != '\t' &&
					     v.ptr[v.len - 1] != ' ' && v.ptr[v.len - 1] != '\t'));
		}
		if (req.body_kind == CG_H1_BODY_CHUNKED)
			check(req.minor_version == 1 &&
			      !cg_h1_find_header(h1, req.num_headers, CG_STR("Content-Length")));
		if (req.body_kind == CG_H1_BODY_LENGTH)
			check(req.content_length > 0);
	} else if (r == CG_H1_ERROR) {
		int s = req.error_status;
		check(s == 400 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505);
		check(req.error_reason != NULL);
	} else {
		check(r == CG_H1_INCOMPLETE && n <= lim.max_head_bytes);
	}

	/* Byte by byte, as a slow client: the first answer must be the same. */
	int rb = CG_H1_INCOMPLETE;
	size_t i;
	for (i = 1; i <= n && rb == CG_H1_INCOMPLETE; i++)
		rb = parse(buf, i, i - 1, &req2, h2, &lim);
	/* A trickle is refused when the head ends or a limit/rescan step is
	 * reached; a shorter input may still be "incomplete" then. */
	check(rb == r || (r == CG_H1_ERROR && rb == CG_H1_INCOMPLETE));
	if (r > 0) {
		check(i - 1 == (size_t)r);
		check(req2.num_headers == req.num_headers && req2.body_kind == req.body_kind &&
		      req2.keep_alive == req.keep_alive && cg_str_eq(req2.path, req.path) &&
		      cg_str_eq(req2.host, req.host) && req2.content_length == req.content_length);
	} else if (rb == CG_H1_ERROR) {
		check(req2.error_status == req.error_status &&
		      strcmp(req2.error_reason, req.error_reason) == 0);
	}

	/* Two reads split at a chosen point. */
	if (split < n) {
		int ra = parse(buf, split, 0, &req2, h2, &lim);
		if (ra == CG_H1_INCOMPLETE)
			ra = parse(buf, n, split, &req2, h2, &lim);
		check(ra == r || (r == CG_H1_ERROR && ra == CG_H1_INCOMPLETE));
		if (ra == CG_H1_ERROR)
			check(req2.error_status == req.error_status &&
			      strcmp(req2.error_reason, req.error_reason) == 0);
	}

	if (r > 0 && req.body_kind == CG_H1_BODY_CHUNKED)
		chunked_both_ways(buf + r, n - (size_t)r);
	free(buf);
	return 0;
}
