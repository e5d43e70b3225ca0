/* Response head parsing: status line forms, body framing per RFC 9112 6.3
 * (HEAD, 1xx, 204, 304, CONNECT 2xx, chunked, length, close), keep-alive,
 * and every refusal (a gateway must not guess an upstream's framing). */
#include "h1_test.h"

struct resp_ok {
	struct t_bytes in;
	size_t head_len; /* 0: the whole input */
	const char *method;
	int minor, status;
	const char *reason;
	enum cg_h1_body_kind body;
	uint64_t cl;
	bool keep_alive;
	size_t nhdr;
};

static const struct resp_ok ok_cases[] = {
	{ TB("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), 38, "GET", 1, 200, "OK", CG_H1_BODY_LENGTH, 5, true, 1 },
	{ TB("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 0, "GET", 1, 200, "OK", CG_H1_BODY_NONE, 0, true, 1 },
	{ TB("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"), 0, "POST", 1, 200, "OK", CG_H1_BODY_CHUNKED, 0, true, 1 },
	{ TB("HTTP/1.1 200 OK\r\n\r\n"), 0, "GET", 1, 200, "OK", CG_H1_BODY_CLOSE, 0, false, 0 },
	{ TB("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n"), 0, "GET", 0, 200, "OK", CG_H1_BODY_LENGTH, 2, false, 1 },
	{ TB("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n"), 0, "GET", 0, 200, "OK", CG_H1_BODY_LENGTH, 2, true, 2 },
	{ TB("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"), 0, "GET", 1, 200, "OK", CG_H1_BODY_LENGTH, 2, false, 2 },
	/* HEAD: no body whatever the headers say */
	{ TB("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"), 0, "HEAD", 1, 200, "OK", CG_H1_BODY_NONE, 1234, true, 1 },
	{ TB("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 0, "HEAD", 1, 200, "OK", CG_H1_BODY_NONE, 0, true, 1 },
	{ TB("HTTP/1.1 200 OK\r\n\r\n"), 0, "HEAD", 1, 200, "OK", CG_H1_BODY_NONE, 0, true, 0 },
	{ TB("HTTP/1.1 100 Continue\r\n\r\n"), 0, "POST", 1, 100, "Continue", CG_H1_BODY_NONE, 0, true, 0 },
	{ TB("HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"), 0, "GET", 1, 103, "Early Hints", CG_H1_BODY_NONE, 0, true, 1 },
	{ TB("HTTP/1.1 204 No Content\r\n\r\n"), 0, "DELETE", 1, 204, "No Content", CG_H1_BODY_NONE, 0, true, 0 },
	{ TB("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"), 0, "GET", 1, 304, "Not Modified", CG_H1_BODY_NONE, 99, true, 1 },
	{ TB("HTTP/1.1 200 Connection established\r\n\r\n"), 0, "CONNECT", 1, 200, "Connection established", CG_H1_BODY_NONE, 0, true, 0 },
	{ TB("HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\n"), 0, "CONNECT", 1, 407, "Auth", CG_H1_BODY_LENGTH, 3, true, 1 },
	/* reason phrases: empty with or without the SP, obs-text, HTAB */
	{ TB("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"), 0, "GET", 1, 404, "", CG_H1_BODY_NONE, 0, true, 1 },
	{ TB("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n"), 0, "GET", 1, 404, "", CG_H1_BODY_NONE, 0, true, 1 },
	{ TB("HTTP/1.1 599 Caf\xc3\xa9\tx \r\nContent-Length: 0\r\n\r\n"), 0, "GET", 1, 599, "Caf\xc3\xa9\tx ", CG_H1_BODY_NONE, 0, true, 1 },
	{ TB("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n"), 0, "GET", 1, 200, "OK", CG_H1_BODY_LENGTH, 7, true, 1 },
};

struct resp_bad {
	struct t_bytes in;
	const char *method;
	const char *reason;
};

static const struct resp_bad bad_cases[] = {
	{ TB("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), "GET", "both Content-Length and Transfer-Encoding" },
	/* TE+CL is refused even where no body is read: never guess */
	{ TB("HTTP/1.1 304 X\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), "GET", "both Content-Length and Transfer-Encoding" },
	{ TB("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), "GET", "Transfer-Encoding other than chunked" },
	{ TB("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n"), "GET", "Transfer-Encoding other than chunked" },
	{ TB("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), "GET", "Transfer-Encoding in an HTTP/1.0 message" },
	{ TB("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), "GET", "conflicting Content-Length values" },
	{ TB("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n"), "GET", "invalid Content-Length" },
	{ TB("HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n"), "GET", "invalid Content-Length" },
	{ TB("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"), "GET", "obs-fold or whitespace at the start of a header line" },
	{ TB("HTTP/1.1 200 OK\r\nX : a\r\n\r\n"), "GET", "whitespace between header name and colon" },
	{ TB("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"), "GET", "bare CR in header value" },
	{ TB("HTTP/1.1 200 OK\nX: a\r\n\r\n"), "GET", "bare LF as line end" },
	{ TB("HTTP/1.1 200 OK\r\nX: a\n\r\n"), "GET", "bare LF as line end" },
	{ TB("HTTP/1.1 200 OK\rX: a\r\n\r\n"), "GET", "bare CR in status line" },
	{ TB("HTTP/1.1 200 O\x01K\r\n\r\n"), "GET", "control character in reason phrase" },
	{ TB("HTTP/1.1 200 OK\r\nX: \x7f\r\n\r\n"), "GET", "control character in header value" },
	{ TB("HTTP/1.1 099 Low\r\n\r\n"), "GET", "status code out of range" },
	{ TB("HTTP/1.1 600 High\r\n\r\n"), "GET", "status code out of range" },
	{ TB("HTTP/1.1 20 OK\r\n\r\n"), "GET", "malformed status code" },
	{ TB("HTTP/1.1 2000 OK\r\n\r\n"), "GET", "malformed status code" },
	{ TB("HTTP/1.1 +20 OK\r\n\r\n"), "GET", "malformed status code" },
	{ TB("HTTP/1.1 200\n\r\n"), "GET", "bare LF as line end" },
	{ TB("HTTP/1.1  200 OK\r\n\r\n"), "GET", "malformed status code" },
	{ TB("HTTP/1.1\t200 OK\r\n\r\n"), "GET", "malformed status line" },
	{ TB("HTTP/2.0 200 OK\r\n\r\n"), "GET", "unsupported HTTP version" },
	{ TB("HTTP/1.2 200 OK\r\n\r\n"), "GET", "unsupported HTTP version" },
	{ TB("HTTP/1.10 200 OK\r\n\r\n"), "GET", "malformed status line" },
	{ TB("ICY 200 OK\r\n\r\n"), "GET", "malformed status line" },
	{ TB("http/1.1 200 OK\r\n\r\n"), "GET", "malformed status line" },
};

/* Parses from a tight heap copy (ASan sees overreads); the input must be
 * left as it was. Slices are not used after the copy is freed. */
static int parse_once(const struct t_bytes *in, const char *method, struct cg_h1_response *resp,
		      struct cg_h1_header *h, size_t cap, const struct cg_h1_limits *lim,
		      char **copy)
{
	char *b = t_dup(in->p, in->n);
	int r = cg_h1_parse_response(b, in->n, 0, resp, h, cap, lim, cg_str_from_c(method));
	assert_memory_equal(b, in->p, in->n);
	*copy = b;
	return r;
}

static void check_bytewise(const char *in, size_t n, const char *method, int want_r,
			   const char *want_reason, const struct cg_h1_limits *lim)
{
	struct cg_h1_response resp;
	struct cg_h1_header h[T_HDR_CAP];
	char *b = malloc(n);
	assert_non_null(b);
	int r = CG_H1_INCOMPLETE;
	size_t i;
	for (i = 1; i <= n; i++) {
		b[i - 1] = in[i - 1];
		r = cg_h1_parse_response(b, i, i - 1, &resp, h, T_HDR_CAP, lim,
					 cg_str_from_c(method));
		if (r != CG_H1_INCOMPLETE)
			break;
	}
	free(b);
	if (r != want_r) {
		print_error("bytewise: got %d at %zu, want %d (%s)\n", r, i, want_r,
			    resp.error_reason ? resp.error_reason : "");
		fail();
	}
	if (r > 0)
		assert_int_equal(i, (size_t)r);
	else
		assert_string_equal(resp.error_reason, want_reason);
}

static void test_accepted(void **state)
{
	for (size_t k = 0; k < sizeof(ok_cases) / sizeof(ok_cases[0]); k++) {
		const struct resp_ok *c = &ok_cases[k];
		struct cg_h1_response resp;
		struct cg_h1_header h[T_HDR_CAP];
		char *b;
		int r = parse_once(&c->in, c->method, &resp, h, T_HDR_CAP, NULL, &b);
		size_t want = c->head_len ? c->head_len : c->in.n;
		if (r != (int)want) {
			print_error("case %zu: got %d (%s), want %zu\n", k, r,
				    resp.error_reason ? resp.error_reason : "", want);
			fail();
		}
		assert_int_equal(resp.minor_version, c->minor);
		assert_int_equal(resp.status, c->status);
		t_assert_str(resp.reason, c->reason, "reason");
		assert_int_equal(resp.body_kind, c->body);
		assert_true(resp.content_length == c->cl);
		assert_int_equal(resp.keep_alive, c->keep_alive);
		assert_int_equal(resp.num_headers, c->nhdr);
		assert_ptr_equal(resp.headers, h);
		assert_null(resp.error_reason);
		free(b);
		check_bytewise(c->in.p, want, c->method, r, NULL, NULL);
	}
}

static void test_refused(void **state)
{
	for (size_t k = 0; k < sizeof(bad_cases) / sizeof(bad_cases[0]); k++) {
		const struct resp_bad *c = &bad_cases[k];
		struct cg_h1_response resp;
		struct cg_h1_header h[T_HDR_CAP];
		char *b;
		int r = parse_once(&c->in, c->method, &resp, h, T_HDR_CAP, NULL, &b);
		free(b);
		if (r != CG_H1_ERROR || strcmp(resp.error_reason, c->reason) != 0) {
			print_error("case %zu: got %d \"%s\", want \"%s\"\n", k, r,
				    resp.error_reason ? resp.error_reason : "", c->reason);
			fail();
		}
		check_bytewise(c->in.p, c->in.n, c->method, CG_H1_ERROR, c->reason, NULL);
	}
}

static void test_limits(void **state)
{
	struct cg_h1_limits lim;
	cg_h1_limits_default(&lim);
	lim.max_line_bytes = 40;
	struct cg_h1_response resp;
	struct cg_h1_header h[T_HDR_CAP];
	/* status line of exactly 40 bytes, then 41 */
	static const char ok40[] = "HTTP/1.1 200 abcdefghijklmnopqrstuvwxyz0\r\n\r\n";
	static const char bad41[] = "HTTP/1.1 200 abcdefghijklmnopqrstuvwxyz01\r\n\r\n";
	assert_int_equal(cg_h1_parse_response(ok40, sizeof(ok40) - 1, 0, &resp, h, T_HDR_CAP, &lim,
					      CG_STR("GET")),
			 (int)sizeof(ok40) - 1);
	assert_int_equal(resp.reason.len, 27);
	assert_int_equal(cg_h1_parse_response(bad41, sizeof(bad41) - 1, 0, &resp, h, T_HDR_CAP,
					      &lim, CG_STR("GET")),
			 CG_H1_ERROR);
	assert_string_equal(resp.error_reason, "status line too long");
	/* header count and head size */
	lim.max_line_bytes = 100;
	lim.max_headers = 2;
	static const char two[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n";
	static const char three[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	assert_int_equal(cg_h1_parse_response(two, sizeof(two) - 1, 0, &resp, h, T_HDR_CAP, &lim,
					      CG_STR("GET")),
			 (int)sizeof(two) - 1);
	assert_int_equal(cg_h1_parse_response(three, sizeof(three) - 1, 0, &resp, h, T_HDR_CAP,
					      &lim, CG_STR("GET")),
			 CG_H1_ERROR);
	assert_string_equal(resp.error_reason, "too many header fields");
	lim.max_headers = 10;
	lim.max_head_bytes = sizeof(two) - 1;
	assert_int_equal(cg_h1_parse_response(two, sizeof(two) - 1, 0, &resp, h, T_HDR_CAP, &lim,
					      CG_STR("GET")),
			 (int)sizeof(two) - 1);
	lim.max_head_bytes = sizeof(two) - 2;
	assert_int_equal(cg_h1_parse_response(two, sizeof(two) - 1, 0, &resp, h, T_HDR_CAP, &lim,
					      CG_STR("GET")),
			 CG_H1_ERROR);
	assert_string_equal(resp.error_reason, "response head too large");
	/* incomplete below the limit */
	assert_int_equal(cg_h1_parse_response(two, 10, 0, &resp, h, T_HDR_CAP, &lim, CG_STR("GET")),
			 CG_H1_INCOMPLETE);
	assert_int_equal(cg_h1_parse_response(two, 0, 0, &resp, h, T_HDR_CAP, &lim, CG_STR("GET")),
			 CG_H1_INCOMPLETE);
}

/* An interim 1xx comes back like any response; the caller parses again
 * after it, and the final response follows. */
static void test_interim_then_final(void **state)
{
	static const char in[] = "HTTP/1.1 100 Continue\r\n\r\n"
				 "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
	struct cg_h1_response resp;
	struct cg_h1_header h[8];
	int r = cg_h1_parse_response(in, sizeof(in) - 1, 0, &resp, h, 8, NULL, CG_STR("PUT"));
	assert_int_equal(r, 25);
	assert_int_equal(resp.status, 100);
	assert_int_equal(resp.body_kind, CG_H1_BODY_NONE);
	int r2 = cg_h1_parse_response(in + r, sizeof(in) - 1 - (size_t)r, 0, &resp, h, 8, NULL,
				      CG_STR("PUT"));
	assert_int_equal(r2, (int)sizeof(in) - 1 - r - 2);
	assert_int_equal(resp.status, 201);
	assert_int_equal(resp.body_kind, CG_H1_BODY_LENGTH);
	assert_true(resp.content_length == 2);
	const struct cg_h1_header *cl = cg_h1_find_header(h, resp.num_headers, CG_STR("content-length"));
	assert_non_null(cl);
	t_assert_str(cl->value, "2", "value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_interim_then_final),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
