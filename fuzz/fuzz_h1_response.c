/* Fuzzes the response head parser and the chunked decoder behind it.
 * Checks, besides sanitizer cleanliness: one-shot and byte-by-byte parsing
 * agree; a parsed head is within limits with well-formed headers; the body
 * kind follows RFC 9112 6.3 for the request method; a chunked body decodes
 * the same in one call and byte by byte.
 * Input: byte 0 picks the request method (and bit 2 tight limits). */
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

static void chunked_both_ways(const char *in, size_t n)
{
	char *one = malloc(n + 1), *acc = malloc(n + 1), *b = malloc(1);
	check(one && acc && b);
	memcpy(one, in, n);
	struct cg_h1_chunked d1, d2;
	cg_h1_chunked_init(&d1);
	size_t len1 = n;
	long r1 = cg_h1_chunked_decode(&d1, one, &len1);
	check(len1 <= n && d1.total == (r1 == CG_H1_ERROR ? d1.total : len1));
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
		r2 += (long)(n - i);
	check(r1 == r2);
	if (r1 == CG_H1_ERROR)
		check(strcmp(d1.error_reason, d2.error_reason) == 0);
	else
		check(len1 == acc_len && memcmp(one, acc, len1) == 0 && d1.total == d2.total);
	free(one);
	free(acc);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cg_str methods[] = { CG_STR("GET"), CG_STR("HEAD"), CG_STR("CONNECT"),
						 CG_STR("POST") };
	if (size < 1)
		return 0;
	struct cg_str method = methods[data[0] & 3];
	struct cg_h1_limits lim;
	cg_h1_limits_default(&lim);
	if (data[0] & 4) {
		lim.max_head_bytes = 256;
		lim.max_line_bytes = 64;
		lim.max_headers = 4;
	}
	data++;
	size_t n = size - 1;
	char *buf = malloc(n ? n : 1);
	check(buf != NULL);
	memcpy(buf, data, n);

	static struct cg_h1_header h1[FZ_HDRS], h2[FZ_HDRS];
	struct cg_h1_response resp, resp2;
	int r = cg_h1_parse_response(buf, n, 0, &resp, h1, FZ_HDRS, &lim, method);
	if (r > 0) {
		check((size_t)r <= n && (size_t)r <= lim.max_head_bytes);
		check(resp.status >= 100 && resp.status <= 599);
		check(resp.num_headers <= lim.max_headers);
		check(cg_h1_field_value_valid(resp.reason));
		for (size_t i = 0; i < resp.num_headers; i++)
			check(cg_h1_token_valid(h1[i].name) && cg_h1_field_value_valid(h1[i].value));
		bool bodiless = cg_str_eq_lit(method, "HEAD") || resp.status < 200 ||
				resp.status == 204 || resp.status == 304 ||
				(cg_str_eq_lit(method, "CONNECT") && resp.status < 300);
		if (bodiless)
			check(resp.body_kind == CG_H1_BODY_NONE);
		if (resp.body_kind == CG_H1_BODY_CLOSE)
			check(!resp.keep_alive);
	} else if (r == CG_H1_ERROR) {
		check(resp.error_reason != NULL);
	} else {
		check(r == CG_H1_INCOMPLETE && n <= lim.max_head_bytes);
	}

	int rb = CG_H1_INCOMPLETE;
	size_t i;
	for (i = 1; i <= n && rb == CG_H1_INCOMPLETE; i++)
		rb = cg_h1_parse_response(buf, i, i - 1, &resp2, h2, FZ_HDRS, &lim, method);
	check(rb == r || (r == CG_H1_ERROR && rb == CG_H1_INCOMPLETE));
	if (r > 0)
		check(i - 1 == (size_t)r && resp2.status == resp.status &&
		      resp2.body_kind == resp.body_kind && resp2.num_headers == resp.num_headers &&
		      resp2.content_length == resp.content_length);
	else if (rb == CG_H1_ERROR)
		check(strcmp(resp2.error_reason, resp.error_reason) == 0);

	if (r > 0 && resp.body_kind == CG_H1_BODY_CHUNKED)
		chunked_both_ways(buf + r, n - (size_t)r);
	free(buf);
	return 0;
}
