/* Request head parsing: every refusal with its status and reason, every
 * accepted form with its fields, limits at the exact boundary, byte-by-byte
 * feeding against one-shot parsing, pipelining, and the smuggling classics. */
#include "h1_test.h"

#include "http/h1-chars.h"

struct req_ok {
	struct t_bytes in;
	size_t head_len; /* 0: the whole input is the head */
	const char *method, *target, *path, *query, *authority, *host;
	int minor;
	enum cg_h1_body_kind body;
	uint64_t cl;
	bool keep_alive, expect_continue, upgrade;
	size_t nhdr;
};

#define H11 " HTTP/1.1\r\nHost: a\r\n"

static const struct req_ok ok_cases[] = {
	{ TB("GET /" H11 "\r\n"), 0, "GET", "/", "/", "", "", "a", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8443\r\n\r\n"), 0, "GET", "/a/b?x=1&y=%20", "/a/b", "x=1&y=%20", "", "example.com:8443", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("GET /?" H11 "\r\n"), 0, "GET", "/?", "/", "", "", "a", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	/* absolute-form: the target's authority is the host (RFC 9112 3.2.2) */
	{ TB("GET http://h.example/p?q HTTP/1.1\r\nHost: other\r\n\r\n"), 0, "GET", "http://h.example/p?q", "/p", "q", "h.example", "h.example", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("GET HTTPS://h:443 HTTP/1.1\r\nHost: h\r\n\r\n"), 0, "GET", "HTTPS://h:443", "/", "", "h:443", "h:443", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("GET http://h?x HTTP/1.1\r\nHost: h\r\n\r\n"), 0, "GET", "http://h?x", "/", "x", "h", "h", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("OPTIONS *" H11 "\r\n"), 0, "OPTIONS", "*", "", "", "", "a", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n\r\n"), 0, "CONNECT", "h.example:443", "", "", "h.example:443", "h.example:443", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n"), 0, "CONNECT", "[::1]:8443", "", "", "[::1]:8443", "[::1]:8443", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("GET / HTTP/1.0\r\n\r\n"), 0, "GET", "/", "/", "", "", "", 0, CG_H1_BODY_NONE, 0, false, false, false, 0 },
	{ TB("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 0, "GET", "/", "/", "", "", "", 0, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"), 0, "GET", "/", "/", "", "", "", 0, CG_H1_BODY_NONE, 0, false, false, false, 1 },
	{ TB("GET /" H11 "Connection: keep-alive , CLOSE\r\n\r\n"), 0, "GET", "/", "/", "", "", "a", 1, CG_H1_BODY_NONE, 0, false, false, false, 2 },
	{ TB("GET /" H11 "Connection: closed\r\n\r\n"), 0, "GET", "/", "/", "", "", "a", 1, CG_H1_BODY_NONE, 0, true, false, false, 2 },
	{ TB("GET /" H11 "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"), 0, "GET", "/", "/", "", "", "a", 1, CG_H1_BODY_NONE, 0, true, false, true, 3 },
	{ TB("POST /u" H11 "Content-Length: 5\r\n\r\nhello"), sizeof("POST /u" H11 "Content-Length: 5\r\n\r\n") - 1, "POST", "/u", "/u", "", "", "a", 1, CG_H1_BODY_LENGTH, 5, true, false, false, 2 },
	/* identical repeats are one value (RFC 9110 8.6) */
	{ TB("POST /" H11 "Content-Length: 5, 5\r\ncontent-length: 005\r\n\r\n"), 0, "POST", "/", "/", "", "", "a", 1, CG_H1_BODY_LENGTH, 5, true, false, false, 3 },
	{ TB("POST /" H11 "Content-Length: 9223372036854775807\r\n\r\n"), 0, "POST", "/", "/", "", "", "a", 1, CG_H1_BODY_LENGTH, 9223372036854775807ULL, true, false, false, 2 },
	{ TB("POST /" H11 "Content-Length: 0\r\n\r\n"), 0, "POST", "/", "/", "", "", "a", 1, CG_H1_BODY_NONE, 0, true, false, false, 2 },
	{ TB("POST /" H11 "Transfer-Encoding: chunked\r\n\r\n"), 0, "POST", "/", "/", "", "", "a", 1, CG_H1_BODY_CHUNKED, 0, true, false, false, 2 },
	{ TB("POST /" H11 "transfer-encoding:\tChunKed \t\r\n\r\n"), 0, "POST", "/", "/", "", "", "a", 1, CG_H1_BODY_CHUNKED, 0, true, false, false, 2 },
	{ TB("PUT /" H11 "Expect: 100-Continue\r\nContent-Length: 3\r\n\r\n"), 0, "PUT", "/", "/", "", "", "a", 1, CG_H1_BODY_LENGTH, 3, true, true, false, 3 },
	/* 100-continue from an HTTP/1.0 client is ignored (RFC 9110 10.1.1) */
	{ TB("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), 0, "PUT", "/", "/", "", "", "", 0, CG_H1_BODY_NONE, 0, false, false, false, 1 },
	/* one empty line before the request line is ignored (RFC 9112 2.2) */
	{ TB("\r\nGET /" H11 "\r\n"), 0, "GET", "/", "/", "", "", "a", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n"), 0, "GET", "/", "/", "", "", "[2001:db8::1]:8080", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("GET / HTTP/1.1\r\nHost: xn--bcher-kva.example%2D:\r\n\r\n"), 0, "GET", "/", "/", "", "", "xn--bcher-kva.example%2D:", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	/* an empty Host is valid when the target has no authority */
	{ TB("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0, "GET", "/", "/", "", "", "", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("get /x" H11 "\r\n"), 0, "get", "/x", "/x", "", "", "a", 1, CG_H1_BODY_NONE, 0, true, false, false, 1 },
	{ TB("M-SEARCH /!$&'()*+,;=:@-._~%41" H11 "X-A:  v \x80\xff\t1 \t\r\nX-Empty:\r\nX-Sp:   \r\n\r\n"), 0, "M-SEARCH", "/!$&'()*+,;=:@-._~%41", "/!$&'()*+,;=:@-._~%41", "", "", "a", 1, CG_H1_BODY_NONE, 0, true, false, false, 4 },
};

struct req_bad {
	struct t_bytes in;
	int status;
	const char *reason;
};

#define POST "POST / HTTP/1.1\r\nHost: a\r\n"

static const struct req_bad bad_cases[] = {
	/* smuggling classics: CL.TE, TE.CL, TE.TE */
	{ TB(POST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, "both Content-Length and Transfer-Encoding" },
	{ TB(POST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"), 400, "both Content-Length and Transfer-Encoding" },
	{ TB(POST "Transfer-Encoding: chunked, identity\r\n\r\n"), 501, "Transfer-Encoding other than chunked" },
	{ TB(POST "Transfer-Encoding: identity\r\n\r\n"), 501, "Transfer-Encoding other than chunked" },
	{ TB(POST "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501, "Transfer-Encoding other than chunked" },
	{ TB(POST "Transfer-Encoding: xchunked\r\n\r\n"), 501, "Transfer-Encoding other than chunked" },
	{ TB(POST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 501, "Transfer-Encoding other than chunked" },
	{ TB(POST "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"), 501, "Transfer-Encoding other than chunked" },
	{ TB(POST "Transfer-Encoding:\r\n\r\n"), 501, "Transfer-Encoding other than chunked" },
	{ TB(POST "Transfer-Encoding : chunked\r\n\r\n"), 400, "whitespace between header name and colon" },
	{ TB(POST "Transfer-Encoding\t: chunked\r\n\r\n"), 400, "whitespace between header name and colon" },
	{ TB(POST "Transfer-Encoding:\r\n\tchunked\r\n\r\n"), 400, "obs-fold or whitespace at the start of a header line" },
	{ TB(POST "Transfer-Encoding: \x0b" "chunked\r\n\r\n"), 400, "control character in header value" },
	{ TB("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, "Transfer-Encoding in an HTTP/1.0 message" },
	/* Content-Length forms */
	{ TB(POST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400, "conflicting Content-Length values" },
	{ TB(POST "Content-Length: 5, 6\r\n\r\n"), 400, "conflicting Content-Length values" },
	{ TB(POST "Content-Length: +5\r\n\r\n"), 400, "invalid Content-Length" },
	{ TB(POST "Content-Length: 5 5\r\n\r\n"), 400, "invalid Content-Length" },
	{ TB(POST "Content-Length: 0x5\r\n\r\n"), 400, "invalid Content-Length" },
	{ TB(POST "Content-Length: -1\r\n\r\n"), 400, "invalid Content-Length" },
	{ TB(POST "Content-Length: 5.0\r\n\r\n"), 400, "invalid Content-Length" },
	{ TB(POST "Content-Length:\r\n\r\n"), 400, "invalid Content-Length" },
	{ TB(POST "Content-Length: ,\r\n\r\n"), 400, "invalid Content-Length" },
	{ TB(POST "Content-Length: 9223372036854775808\r\n\r\n"), 400, "invalid Content-Length" },
	{ TB(POST "Content-Length: 99999999999999999999999999\r\n\r\n"), 400, "invalid Content-Length" },
	/* line structure */
	{ TB(POST "X-A: a\r\n b\r\n\r\n"), 400, "obs-fold or whitespace at the start of a header line" },
	{ TB("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400, "obs-fold or whitespace at the start of a header line" },
	{ TB(POST "X-A: a\rb\r\n\r\n"), 400, "bare CR in header value" },
	{ TB(POST "X-A: a\r\r\n\r\n"), 400, "bare CR in header value" },
	{ TB(POST "X-A: a\n\r\n"), 400, "bare LF as line end" },
	{ TB(POST "\n"), 400, "bare LF as line end" },
	{ TB(POST "\r\r\n"), 400, "bare CR in header section" },
	{ TB("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400, "bare LF as line end" },
	{ TB("GET / HTTP/1.1\rHost: a\r\n\r\n"), 400, "bare CR in request line" },
	{ TB("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "bare CR before request line" },
	{ TB("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "bare LF as line end" },
	{ TB("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "invalid character in method" },
	{ TB(POST "X-A: a\x01" "b\r\n\r\n"), 400, "control character in header value" },
	{ TB(POST "X-A: a\0b\r\n\r\n"), 400, "control character in header value" },
	{ TB(POST "X-A: a\x7f\r\n\r\n"), 400, "control character in header value" },
	{ TB(POST "X\x01" "A: b\r\n\r\n"), 400, "invalid character in header name" },
	{ TB(POST "X\x80: b\r\n\r\n"), 400, "invalid character in header name" },
	{ TB(POST "X(A): b\r\n\r\n"), 400, "invalid character in header name" },
	{ TB(POST ": b\r\n\r\n"), 400, "empty header name" },
	{ TB(POST "NoColon\r\n\r\n"), 400, "header line without colon" },
	/* Host */
	{ TB("GET / HTTP/1.1\r\n\r\n"), 400, "missing Host header" },
	{ TB("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), 400, "several Host headers" },
	{ TB("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400, "several Host headers" },
	{ TB("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400, "invalid Host header" },
	{ TB("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"), 400, "invalid Host header" },
	{ TB("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400, "invalid Host header" },
	{ TB("GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n"), 400, "invalid Host header" },
	{ TB("GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n"), 400, "invalid Host header" },
	{ TB("GET / HTTP/1.1\r\nHost: :80\r\n\r\n"), 400, "invalid Host header" },
	{ TB("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"), 400, "invalid Host header" },
	{ TB("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n"), 400, "invalid Host header" },
	/* versions */
	{ TB("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505, "unsupported HTTP version" },
	{ TB("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505, "unsupported HTTP version" },
	{ TB("GET / HTTP/0.9\r\n\r\n"), 505, "unsupported HTTP version" },
	{ TB("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505, "unsupported HTTP version" },
	{ TB("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), 400, "malformed HTTP version" },
	{ TB("GET / http/1.1\r\nHost: a\r\n\r\n"), 400, "malformed HTTP version" },
	{ TB("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400, "malformed HTTP version" },
	{ TB("GET / HTTP/1\r\nHost: a\r\n\r\n"), 400, "malformed HTTP version" },
	{ TB("GET / HTTP/a.1\r\nHost: a\r\n\r\n"), 400, "malformed HTTP version" },
	{ TB("GET /\r\n\r\n"), 400, "request line without HTTP version" },
	/* request-target */
	{ TB("GET /a\x7f" "b" H11 "\r\n"), 400, "invalid character in request-target" },
	{ TB("GET /a\x80" "b" H11 "\r\n"), 400, "invalid character in request-target" },
	{ TB("GET /a\tb" H11 "\r\n"), 400, "invalid character in request-target" },
	{ TB("GET /a\0b" H11 "\r\n"), 400, "invalid character in request-target" },
	{ TB("GET /a b" H11 "\r\n"), 400, "malformed HTTP version" },
	{ TB("GET /a#frag" H11 "\r\n"), 400, "fragment in request-target" },
	{ TB("GET  /" H11 "\r\n"), 400, "empty request-target" },
	{ TB("GET a/b" H11 "\r\n"), 400, "unsupported request-target form" },
	{ TB("GET ftp://h/" H11 "\r\n"), 400, "unsupported request-target form" },
	{ TB("GET http://" H11 "\r\n"), 400, "unsupported request-target form" },
	{ TB("GET *" H11 "\r\n"), 400, "asterisk-form target outside OPTIONS" },
	{ TB("OPTIONS *x" H11 "\r\n"), 400, "unsupported request-target form" },
	{ TB("CONNECT /" H11 "\r\n"), 400, "CONNECT needs an authority-form target (host:port)" },
	{ TB("CONNECT h" H11 "\r\n"), 400, "CONNECT needs an authority-form target (host:port)" },
	{ TB("CONNECT h:" H11 "\r\n"), 400, "CONNECT needs an authority-form target (host:port)" },
	{ TB("GET h:80" H11 "\r\n"), 400, "unsupported request-target form" },
	{ TB("GET http://u@h/" H11 "\r\n"), 400, "userinfo in request-target" },
	{ TB("GET http:///x" H11 "\r\n"), 400, "invalid authority in request-target" },
	{ TB("GET http://h:x/" H11 "\r\n"), 400, "invalid authority in request-target" },
	/* method */
	{ TB("G@T /" H11 "\r\n"), 400, "invalid character in method" },
	{ TB(" GET /" H11 "\r\n"), 400, "empty method" },
	{ TB("GET\r\n\r\n"), 400, "invalid character in method" },
	{ TB("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), 400, "invalid character in method" },
	/* Expect */
	{ TB("GET /" H11 "Expect: 200-ok\r\n\r\n"), 417, "Expect other than 100-continue" },
	{ TB("GET /" H11 "Expect: 100-continue, x\r\n\r\n"), 417, "Expect other than 100-continue" },
	{ TB("GET /" H11 "Expect:\r\n\r\n"), 417, "Expect other than 100-continue" },
};

static const struct cg_h1_limits *deflim(void)
{
	static struct cg_h1_limits lim;
	cg_h1_limits_default(&lim);
	return &lim;
}

/* Parses in one shot, from a tight heap copy, and checks the buffer is
 * untouched afterwards. */
static int parse_once(const char *in, size_t n, struct cg_h1_request *req, struct cg_h1_header *h,
		      size_t cap, const struct cg_h1_limits *lim)
{
	char *b = t_dup(in, n);
	int r = cg_h1_parse_request(b, n, 0, req, h, cap, lim);
	assert_memory_equal(b, in, n);
	/* The slices point into b: rebase them onto in before freeing b. */
	ptrdiff_t d = in - b;
#define REBASE(s) ((s).ptr = (s).ptr && (s).ptr >= b && (s).ptr <= b + n ? (s).ptr + d : (s).ptr)
	REBASE(req->method);
	REBASE(req->target);
	REBASE(req->path);
	REBASE(req->query);
	REBASE(req->authority);
	REBASE(req->host);
	for (size_t i = 0; r > 0 && i < req->num_headers; i++) {
		REBASE(h[i].name);
		REBASE(h[i].value);
	}
#undef REBASE
	free(b);
	return r;
}

/* Feeds in one byte more per call, with prev_len, as a slow client would.
 * The first answer that is not "incomplete" must equal the one-shot one. */
static void check_bytewise_cap(const char *in, size_t n, int want_r, int want_status,
			       const char *want_reason, const struct cg_h1_limits *lim, size_t cap)
{
	struct cg_h1_request req;
	struct cg_h1_header h[T_HDR_CAP];
	char *b = malloc(n);
	assert_non_null(b);
	int r = CG_H1_INCOMPLETE;
	size_t i;
	for (i = 1; i <= n; i++) {
		b[i - 1] = in[i - 1];
		r = cg_h1_parse_request(b, i, i - 1, &req, h, cap, lim);
		if (r != CG_H1_INCOMPLETE)
			break;
	}
	free(b);
	if (r != want_r) {
		print_error("bytewise: got %d at %zu, want %d (%s)\n", r, i, want_r,
			    req.error_reason ? req.error_reason : "");
		fail();
	}
	if (r > 0)
		assert_int_equal(i, (size_t)r); /* complete exactly when the head is */
	if (r == CG_H1_ERROR) {
		assert_int_equal(req.error_status, want_status);
		assert_string_equal(req.error_reason, want_reason);
	}
}

static void check_bytewise(const char *in, size_t n, int want_r, int want_status,
			   const char *want_reason, const struct cg_h1_limits *lim)
{
	check_bytewise_cap(in, n, want_r, want_status, want_reason, lim, T_HDR_CAP);
}

static void test_accepted_forms(void **state)
{
	for (size_t k = 0; k < sizeof(ok_cases) / sizeof(ok_cases[0]); k++) {
		const struct req_ok *c = &ok_cases[k];
		struct cg_h1_request req;
		struct cg_h1_header h[T_HDR_CAP];
		int r = parse_once(c->in.p, c->in.n, &req, h, T_HDR_CAP, deflim());
		size_t want = c->head_len ? c->head_len : c->in.n;
		if (r != (int)want) {
			print_error("case %zu: got %d (%s), want %zu\n", k, r,
				    req.error_reason ? req.error_reason : "", want);
			fail();
		}
		t_assert_str(req.method, c->method, "method");
		t_assert_str(req.target, c->target, "target");
		t_assert_str(req.path, c->path, "path");
		t_assert_str(req.query, c->query, "query");
		t_assert_str(req.authority, c->authority, "authority");
		t_assert_str(req.host, c->host, "host");
		assert_int_equal(req.minor_version, c->minor);
		assert_int_equal(req.body_kind, c->body);
		if (c->body == CG_H1_BODY_LENGTH)
			assert_true(req.content_length == c->cl);
		assert_int_equal(req.keep_alive, c->keep_alive);
		assert_int_equal(req.expect_continue, c->expect_continue);
		assert_int_equal(req.has_upgrade, c->upgrade);
		assert_int_equal(req.num_headers, c->nhdr);
		assert_ptr_equal(req.headers, h);
		assert_int_equal(req.error_status, 0);
		assert_null(req.error_reason);
		check_bytewise(c->in.p, want, r, 0, NULL, deflim());
	}
}

static void test_refused(void **state)
{
	for (size_t k = 0; k < sizeof(bad_cases) / sizeof(bad_cases[0]); k++) {
		const struct req_bad *c = &bad_cases[k];
		struct cg_h1_request req;
		struct cg_h1_header h[T_HDR_CAP];
		int r = parse_once(c->in.p, c->in.n, &req, h, T_HDR_CAP, deflim());
		if (r != CG_H1_ERROR || req.error_status != c->status ||
		    strcmp(req.error_reason, c->reason) != 0) {
			print_error("case %zu \"%.20s\": got %d %d \"%s\", want %d \"%s\"\n", k,
				    c->in.p, r, req.error_status,
				    req.error_reason ? req.error_reason : "", c->status,
				    c->reason);
			fail();
		}
		check_bytewise(c->in.p, c->in.n, CG_H1_ERROR, c->status, c->reason, deflim());
	}
}

static void test_header_values(void **state)
{
	static const char in[] = "GET / HTTP/1.1\r\nHost:a\r\nX-A:  v \x80\xff\t1 \t\r\n"
				 "x-empty:\r\nX-Sp:   \r\nX-B:\tb\r\n\r\n";
	struct cg_h1_request req;
	struct cg_h1_header h[8];
	int r = cg_h1_parse_request(in, sizeof(in) - 1, 0, &req, h, 8, deflim());
	assert_int_equal(r, (int)sizeof(in) - 1);
	assert_int_equal(req.num_headers, 5);
	t_assert_str(h[0].name, "Host", "name");
	t_assert_str(h[0].value, "a", "value");
	t_assert_str(h[1].value, "v \x80\xff\t1", "value");
	const struct cg_h1_header *e = cg_h1_find_header(h, 5, CG_STR("X-EMPTY"));
	assert_ptr_equal(e, &h[2]);
	t_assert_str(e->name, "x-empty", "name case kept");
	t_assert_str(e->value, "", "empty value");
	t_assert_str(h[3].value, "", "spaces only");
	t_assert_str(h[4].value, "b", "tab OWS");
	assert_null(cg_h1_find_header(h, 5, CG_STR("X-C")));
	assert_null(cg_h1_find_header(h, 0, CG_STR("Host")));
}

/* Builds "GET <target> HTTP/1.1\r\nHost: a\r\n<extra>\r\n" into out. */
static size_t build(char *out, size_t cap, const char *target_fill, size_t tlen,
		    const char *extra)
{
	size_t n = 0;
	memcpy(out, "GET /", 5);
	n = 5;
	for (size_t i = 1; i < tlen; i++)
		out[n++] = target_fill[0];
	n += (size_t)snprintf(out + n, cap - n, " HTTP/1.1\r\nHost: a\r\n%s\r\n", extra);
	assert_true(n < cap);
	return n;
}

static void expect_err(const char *b, size_t n, const struct cg_h1_limits *lim, size_t cap,
		       int status, const char *reason)
{
	struct cg_h1_request req;
	struct cg_h1_header h[T_HDR_CAP];
	int r = cg_h1_parse_request(b, n, 0, &req, h, cap, lim);
	assert_int_equal(r, CG_H1_ERROR);
	assert_int_equal(req.error_status, status);
	assert_string_equal(req.error_reason, reason);
	check_bytewise_cap(b, n, CG_H1_ERROR, status, reason, lim, cap);
}

/* For heads that never end: a one-shot parse refuses them; a trickle is
 * refused at the next rescan step (tested in test_trickled_long_line). */
static void expect_err_once(const char *b, size_t n, const struct cg_h1_limits *lim, int status,
			    const char *reason)
{
	struct cg_h1_request req;
	struct cg_h1_header h[T_HDR_CAP];
	int r = cg_h1_parse_request(b, n, 0, &req, h, T_HDR_CAP, lim);
	assert_int_equal(r, CG_H1_ERROR);
	assert_int_equal(req.error_status, status);
	assert_string_equal(req.error_reason, reason);
}

static void expect_ok(const char *b, size_t n, const struct cg_h1_limits *lim, size_t cap)
{
	struct cg_h1_request req;
	struct cg_h1_header h[T_HDR_CAP];
	int r = cg_h1_parse_request(b, n, 0, &req, h, cap, lim);
	if (r != (int)n) {
		print_error("got %d (%s), want %zu\n", r, req.error_reason ? req.error_reason : "",
			    n);
		fail();
	}
	check_bytewise_cap(b, n, r, 0, NULL, lim, cap);
}

static void test_limit_uri(void **state)
{
	struct cg_h1_limits lim = *deflim();
	lim.max_uri_bytes = 64;
	char b[512];
	size_t n = build(b, sizeof(b), "a", 64, "");
	expect_ok(b, n, &lim, T_HDR_CAP);
	n = build(b, sizeof(b), "a", 65, "");
	expect_err(b, n, &lim, T_HDR_CAP, 414, "request-target too long");
	/* Also when the head never ends: 414, not "incomplete". */
	n = build(b, sizeof(b), "a", 65, "");
	expect_err_once(b, 5 + 65, &lim, 414, "request-target too long");
	/* The default limit, exactly. */
	static char big[CG_H1_DEFAULT_MAX_URI_BYTES + 64];
	n = build(big, sizeof(big), "b", CG_H1_DEFAULT_MAX_URI_BYTES, "");
	expect_ok(big, n, deflim(), T_HDR_CAP);
	n = build(big, sizeof(big), "b", CG_H1_DEFAULT_MAX_URI_BYTES + 1, "");
	expect_err(big, n, deflim(), T_HDR_CAP, 414, "request-target too long");
}

static void test_limit_method(void **state)
{
	char b[256];
	char m[CG_H1_MAX_METHOD_BYTES + 2];
	memset(m, 'M', sizeof(m));
	m[CG_H1_MAX_METHOD_BYTES] = '\0';
	int n = snprintf(b, sizeof(b), "%s / HTTP/1.1\r\nHost: a\r\n\r\n", m);
	expect_ok(b, (size_t)n, deflim(), T_HDR_CAP);
	m[CG_H1_MAX_METHOD_BYTES] = 'M';
	m[CG_H1_MAX_METHOD_BYTES + 1] = '\0';
	n = snprintf(b, sizeof(b), "%s / HTTP/1.1\r\nHost: a\r\n\r\n", m);
	expect_err(b, (size_t)n, deflim(), T_HDR_CAP, 501, "method too long");
}

static void test_limit_line(void **state)
{
	struct cg_h1_limits lim = *deflim();
	lim.max_line_bytes = 100;
	char b[512], extra[256];
	/* "X-L: " + value + CRLF: the line without CRLF is exactly 100 bytes. */
	memset(extra, 'v', sizeof(extra));
	memcpy(extra, "X-L: ", 5);
	memcpy(extra + 100, "\r\n", 3);
	size_t n = build(b, sizeof(b), "a", 1, extra);
	expect_ok(b, n, &lim, T_HDR_CAP);
	memset(extra, 'v', sizeof(extra));
	memcpy(extra, "X-L: ", 5);
	memcpy(extra + 101, "\r\n", 3);
	n = build(b, sizeof(b), "a", 1, extra);
	expect_err(b, n, &lim, T_HDR_CAP, 431, "header line too long");
	/* Trailing OWS counts: the limit is on bytes received. */
	memcpy(extra + 99, "  \r\n", 5);
	n = build(b, sizeof(b), "a", 1, extra);
	expect_err(b, n, &lim, T_HDR_CAP, 431, "header line too long");
	/* A name filling the whole line leaves no room for the colon. */
	memset(extra, 'N', sizeof(extra));
	memcpy(extra + 100, ": v\r\n", 6);
	n = build(b, sizeof(b), "a", 1, extra);
	expect_err(b, n, &lim, T_HDR_CAP, 431, "header line too long");
	memcpy(extra + 99, ":\r\n", 4);
	n = build(b, sizeof(b), "a", 1, extra);
	expect_ok(b, n, &lim, T_HDR_CAP);
	/* A line that never ends is refused once past the limit. */
	memset(extra, 'v', sizeof(extra));
	memcpy(extra, "X-L: ", 5);
	extra[150] = '\0';
	n = build(b, sizeof(b), "a", 1, extra);
	expect_err_once(b, n - 2, &lim, 431, "header line too long");
}

static void test_limit_count(void **state)
{
	struct cg_h1_limits lim = *deflim();
	lim.max_headers = 10;
	char b[1024], extra[512];
	size_t e = 0;
	for (int i = 0; i < 9; i++) /* + Host = 10 */
		e += (size_t)snprintf(extra + e, sizeof(extra) - e, "X-%d: %d\r\n", i, i);
	size_t n = build(b, sizeof(b), "a", 1, extra);
	expect_ok(b, n, &lim, T_HDR_CAP);
	snprintf(extra + e, sizeof(extra) - e, "X-9: 9\r\n");
	n = build(b, sizeof(b), "a", 1, extra);
	expect_err(b, n, &lim, T_HDR_CAP, 431, "too many header fields");
	/* A caller array smaller than max_headers is the limit then. */
	lim.max_headers = 100;
	expect_ok(b, n, &lim, 11);
	expect_err(b, n, &lim, 10, 431, "too many header fields");
	/* The default limit, exactly. */
	static char big[8192], many[8192];
	e = 0;
	for (int i = 0; i < CG_H1_DEFAULT_MAX_HEADERS - 1; i++)
		e += (size_t)snprintf(many + e, sizeof(many) - e, "X-%d: %d\r\n", i, i);
	n = build(big, sizeof(big), "a", 1, many);
	expect_ok(big, n, deflim(), T_HDR_CAP);
	snprintf(many + e, sizeof(many) - e, "X-last: 1\r\n");
	n = build(big, sizeof(big), "a", 1, many);
	expect_err(big, n, deflim(), T_HDR_CAP, 431, "too many header fields");
}

static void test_limit_head(void **state)
{
	struct cg_h1_limits lim = *deflim();
	lim.max_head_bytes = 300;
	char b[1024], extra[512];
	size_t base = build(b, sizeof(b), "a", 1, "X-P: \r\n");
	/* Pad X-P so the whole head is exactly 300 bytes. */
	size_t pad = 300 - base;
	memcpy(extra, "X-P: ", 5);
	memset(extra + 5, 'p', pad);
	memcpy(extra + 5 + pad, "\r\n", 3);
	size_t n = build(b, sizeof(b), "a", 1, extra);
	assert_int_equal(n, 300);
	expect_ok(b, n, &lim, T_HDR_CAP);
	memcpy(extra + 5 + pad, "q\r\n", 4);
	n = build(b, sizeof(b), "a", 1, extra);
	assert_int_equal(n, 301);
	expect_err(b, n, &lim, T_HDR_CAP, 431, "request head too large");
	/* Exactly the limit without the end yet: still incomplete. Past it: 431. */
	struct cg_h1_request req;
	struct cg_h1_header h[T_HDR_CAP];
	assert_int_equal(cg_h1_parse_request(b, 300, 0, &req, h, T_HDR_CAP, &lim), CG_H1_INCOMPLETE);
	assert_int_equal(cg_h1_parse_request(b, 300, 299, &req, h, T_HDR_CAP, &lim), CG_H1_INCOMPLETE);
	assert_int_equal(cg_h1_parse_request(b, 301, 300, &req, h, T_HDR_CAP, &lim), CG_H1_ERROR);
	assert_int_equal(req.error_status, 431);
	/* The default, with a body after the head that must not count. */
	static char big[CG_H1_DEFAULT_MAX_HEAD_BYTES + 256], val[4096];
	static char many[CG_H1_DEFAULT_MAX_HEAD_BYTES];
	size_t left = CG_H1_DEFAULT_MAX_HEAD_BYTES - build(big, sizeof(big), "a", 1, "");
	size_t m = 0, used = 0;
	memset(val, 'v', sizeof(val));
	while (left) {
		size_t line = left > 4000 ? 4000 : left; /* incl. "X-n: " and CRLF */
		if (left > line && left - line < 8)
			line = left - 8;
		m += (size_t)snprintf(many + m, sizeof(many) - m, "X-%zu: %.*s\r\n", used++ % 10,
				      (int)(line - 7), val);
		left -= line;
	}
	n = build(big, sizeof(big), "a", 1, many);
	assert_int_equal(n, CG_H1_DEFAULT_MAX_HEAD_BYTES);
	memcpy(big + n, "trailing body bytes", 19);
	assert_int_equal(cg_h1_parse_request(big, n + 19, 0, &req, h, T_HDR_CAP, deflim()), (int)n);
	check_bytewise(big, n, (int)n, 0, NULL, deflim());
	/* One byte more in a value: 431. */
	many[10] = 'v';
	memmove(many + 11, many + 10, m - 10);
	many[m + 1] = '\0';
	n = build(big, sizeof(big), "a", 1, many);
	assert_int_equal(n, CG_H1_DEFAULT_MAX_HEAD_BYTES + 1);
	expect_err(big, n, deflim(), T_HDR_CAP, 431, "request head too large");
}

static void test_pipelined(void **state)
{
#define P1 "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
#define P2 "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n"
#define P3 "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	static const char in[] = P1 P2 "abc" P3;
	struct cg_h1_request req;
	struct cg_h1_header h[8];
	size_t off = 0, n = sizeof(in) - 1;
	int r = cg_h1_parse_request(in, n, 0, &req, h, 8, deflim());
	assert_int_equal(r, sizeof(P1) - 1);
	t_assert_str(req.target, "/1", "target");
	off += (size_t)r;
	r = cg_h1_parse_request(in + off, n - off, 0, &req, h, 8, deflim());
	assert_int_equal(r, sizeof(P2) - 1);
	t_assert_str(req.target, "/2", "target");
	assert_int_equal(req.body_kind, CG_H1_BODY_LENGTH);
	assert_true(req.content_length == 3);
	off += (size_t)r + req.content_length;
	r = cg_h1_parse_request(in + off, n - off, 0, &req, h, 8, deflim());
	assert_int_equal(r, sizeof(P3) - 1);
	assert_int_equal(off + (size_t)r, n);
	t_assert_str(req.target, "/3", "target");
	assert_false(req.keep_alive);
}

/* prev_len lets a call skip a full parse until the new bytes can end the
 * head: a bad line without the head's end yet is "incomplete" then, and
 * the error comes with the end (or the limit). */
static void test_prev_len_skips_rescan(void **state)
{
	static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\nX\x01: b\r\n\r\n";
	size_t n = sizeof(in) - 1;
	struct cg_h1_request req;
	struct cg_h1_header h[8];
	assert_int_equal(cg_h1_parse_request(in, n - 2, 0, &req, h, 8, deflim()), CG_H1_ERROR);
	assert_int_equal(cg_h1_parse_request(in, n - 2, n - 3, &req, h, 8, deflim()),
			 CG_H1_INCOMPLETE);
	assert_int_equal(cg_h1_parse_request(in, n, n - 2, &req, h, 8, deflim()), CG_H1_ERROR);
	assert_string_equal(req.error_reason, "invalid character in header name");
	/* A bare LF in the new bytes is reported at once. */
	static const char lf[] = "GET / HTTP/1.1\r\nHost: a\nX";
	assert_int_equal(cg_h1_parse_request(lf, sizeof(lf) - 1, 20, &req, h, 8, deflim()),
			 CG_H1_ERROR);
	assert_string_equal(req.error_reason, "bare LF as line end");
	/* Empty input and a NULL limits pointer (defaults). */
	assert_int_equal(cg_h1_parse_request(in, 0, 0, &req, h, 8, NULL), CG_H1_INCOMPLETE);
	assert_int_equal(cg_h1_parse_request(in, n, 0, &req, h, 8, NULL), CG_H1_ERROR);
	assert_int_equal(req.error_status, 400);
}

/* A line that trickles in past its limit is refused at the next rescan
 * step with its own status, long before the head limit. */
static void test_trickled_long_line(void **state)
{
	static char b[CG_H1_DEFAULT_MAX_HEAD_BYTES];
	int n = snprintf(b, sizeof(b), "GET / HTTP/1.1\r\nHost: a\r\nX-Long: ");
	memset(b + n, 'v', sizeof(b) - (size_t)n);
	struct cg_h1_request req;
	struct cg_h1_header h[8];
	size_t i;
	int r = CG_H1_INCOMPLETE;
	for (i = 1; i <= sizeof(b) && r == CG_H1_INCOMPLETE; i++)
		r = cg_h1_parse_request(b, i, i - 1, &req, h, 8, deflim());
	assert_int_equal(r, CG_H1_ERROR);
	assert_int_equal(req.error_status, 431);
	assert_string_equal(req.error_reason, "header line too long");
	assert_true(i - 1 > CG_H1_DEFAULT_MAX_LINE_BYTES);
	assert_true(i - 1 <= CG_H1_DEFAULT_MAX_LINE_BYTES + 64 + 2048);
}

/* Every split of a head into two reads gives the one-shot answer. */
static void test_two_reads_every_split(void **state)
{
	static const char in[] = "POST /p?q=1 HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n"
				 "Connection: keep-alive\r\n\r\n";
	size_t n = sizeof(in) - 1;
	for (size_t s = 1; s < n; s++) {
		struct cg_h1_request req;
		struct cg_h1_header h[8];
		int r = cg_h1_parse_request(in, s, 0, &req, h, 8, deflim());
		assert_int_equal(r, CG_H1_INCOMPLETE);
		r = cg_h1_parse_request(in, n, s, &req, h, 8, deflim());
		assert_int_equal(r, (int)n);
		assert_int_equal(req.body_kind, CG_H1_BODY_CHUNKED);
		t_assert_str(req.host, "a.example", "host");
		t_assert_str(req.query, "q=1", "query");
	}
}

/* The value and target scans go 8 bytes at a time: a bad byte must be
 * found at every position within and around a word, and good high bytes
 * must not stop the scan. */
static void test_scan_every_position(void **state)
{
	static const unsigned char bad_value[] = { 0x00, 0x01, 0x0a, 0x1f, 0x7f };
	static const unsigned char bad_target[] = { 0x00, 0x09, 0x1f, 0x7f, 0x80, 0xff };
	for (size_t pos = 0; pos < 24; pos++) {
		char b[128];
		struct cg_h1_request req;
		struct cg_h1_header h[4];
		for (size_t k = 0; k < sizeof(bad_value); k++) {
			int n = snprintf(b, sizeof(b), "GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n",
					 "abcdefghijklmnopqrstuvwx");
			assert_memory_equal(b + 28, "abcdefghijklmnopqrstuvwx\r\n", 26);
			b[28 + pos] = (char)bad_value[k];
			assert_int_equal(cg_h1_parse_request(b, (size_t)n, 0, &req, h, 4, deflim()),
					 CG_H1_ERROR);
			assert_int_equal(req.error_status, 400);
			assert_string_equal(req.error_reason, bad_value[k] == 0x0a
								      ? "bare LF as line end"
								      : "control character in header value");
		}
		int n = snprintf(b, sizeof(b), "GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n",
				 "abcdefghijklmnopqrstuvwx");
		b[28 + pos] = (char)0x80;
		b[28 + 1 + (pos + 5) % 22] = '\t'; /* inner: edges would be OWS */
		assert_int_equal(cg_h1_parse_request(b, (size_t)n, 0, &req, h, 4, deflim()), n);
		assert_int_equal(h[1].value.len, 24);
		for (size_t k = 0; k < sizeof(bad_target); k++) {
			n = snprintf(b, sizeof(b), "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n",
				     "abcdefghijklmnopqrstuvwx");
			b[5 + pos] = (char)bad_target[k];
			assert_int_equal(cg_h1_parse_request(b, (size_t)n, 0, &req, h, 4, deflim()),
					 CG_H1_ERROR);
			assert_int_equal(req.error_status, 400);
			assert_string_equal(req.error_reason, "invalid character in request-target");
		}
		n = snprintf(b, sizeof(b), "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n",
			     "abcdefghijklmnopqrstuvwx");
		b[5 + pos] = '~';
		assert_int_equal(cg_h1_parse_request(b, (size_t)n, 0, &req, h, 4, deflim()), n);
		assert_int_equal(req.target.len, 25);
	}
}

static void test_char_classes(void **state)
{
	static const char tchar_extra[] = "!#$%&'*+-.^_`|~";
	static const char host_extra[] = "-._~%!$&'()*+,;=";
	for (int c = 0; c < 256; c++) {
		bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool tchar = alnum || (c && strchr(tchar_extra, c));
		bool value = c == '\t' || (c >= 0x20 && c != 0x7f);
		bool target = c >= 0x21 && c <= 0x7e;
		bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		bool host = alnum || (c && strchr(host_extra, c));
		assert_int_equal(!!CG_H1C(c, CG_H1C_TCHAR), tchar);
		assert_int_equal(!!CG_H1C(c, CG_H1C_VALUE), value);
		assert_int_equal(!!CG_H1C(c, CG_H1C_TARGET), target);
		assert_int_equal(!!CG_H1C(c, CG_H1C_HEX), hex);
		assert_int_equal(!!CG_H1C(c, CG_H1C_HOST), host);
	}
}

static void test_helpers(void **state)
{
	struct cg_h1_limits lim;
	cg_h1_limits_default(&lim);
	assert_int_equal(lim.max_head_bytes, 32 * 1024);
	assert_int_equal(lim.max_line_bytes, 8 * 1024);
	assert_int_equal(lim.max_uri_bytes, 8 * 1024);
	assert_int_equal(lim.max_headers, 100);

	struct cg_str none = CG_STR_NULL;
	assert_true(cg_h1_is_hop_by_hop(CG_STR("connection"), none));
	assert_true(cg_h1_is_hop_by_hop(CG_STR("KEEP-ALIVE"), none));
	assert_true(cg_h1_is_hop_by_hop(CG_STR("Proxy-Connection"), none));
	assert_true(cg_h1_is_hop_by_hop(CG_STR("te"), none));
	assert_true(cg_h1_is_hop_by_hop(CG_STR("Trailer"), none));
	assert_true(cg_h1_is_hop_by_hop(CG_STR("Transfer-Encoding"), none));
	assert_true(cg_h1_is_hop_by_hop(CG_STR("upgrade"), none));
	assert_false(cg_h1_is_hop_by_hop(CG_STR("Host"), none));
	assert_false(cg_h1_is_hop_by_hop(CG_STR("Trailers"), none));
	assert_false(cg_h1_is_hop_by_hop(CG_STR("X-Foo"), CG_STR("close")));
	assert_true(cg_h1_is_hop_by_hop(CG_STR("x-foo"), CG_STR("close, X-Foo ,keep-alive")));
	assert_false(cg_h1_is_hop_by_hop(CG_STR("X-Fo"), CG_STR("X-Foo")));

	assert_string_equal(cg_h1_reason(200), "OK");
	assert_string_equal(cg_h1_reason(421), "Misdirected Request");
	assert_string_equal(cg_h1_reason(431), "Request Header Fields Too Large");
	assert_string_equal(cg_h1_reason(505), "HTTP Version Not Supported");
	assert_string_equal(cg_h1_reason(299), "Unknown");
	assert_string_equal(cg_h1_reason(-1), "Unknown");

	char out[20];
	assert_int_equal(cg_h1_chunk_header(out, 0), 3);
	assert_string_equal(out, "0\r\n");
	assert_int_equal(cg_h1_chunk_header(out, 1), 3);
	assert_string_equal(out, "1\r\n");
	assert_int_equal(cg_h1_chunk_header(out, 0x1f0), 5);
	assert_string_equal(out, "1f0\r\n");
	assert_int_equal(cg_h1_chunk_header(out, UINT64_MAX), 18);
	assert_string_equal(out, "ffffffffffffffff\r\n");

	assert_true(cg_h1_token_valid(CG_STR("X-Foo_1.2~!")));
	assert_false(cg_h1_token_valid(CG_STR("")));
	assert_false(cg_h1_token_valid(CG_STR("a b")));
	assert_false(cg_h1_token_valid(CG_STR("a:b")));
	assert_false(cg_h1_token_valid(CG_STR("a\r\nb")));
	assert_false(cg_h1_token_valid(CG_STR("\xc3\xa9")));
	assert_true(cg_h1_field_value_valid(CG_STR("")));
	assert_true(cg_h1_field_value_valid(CG_STR("a b\tc \xc3\xa9 \"q\"")));
	assert_false(cg_h1_field_value_valid(CG_STR("a\r\nX-Injected: 1")));
	assert_false(cg_h1_field_value_valid(CG_STR("a\nb")));
	assert_false(cg_h1_field_value_valid(cg_str_make("a\0b", 3)));
	assert_false(cg_h1_field_value_valid(CG_STR("a\x7f")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted_forms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_header_values),
		cmocka_unit_test(test_limit_uri),
		cmocka_unit_test(test_limit_method),
		cmocka_unit_test(test_limit_line),
		cmocka_unit_test(test_limit_count),
		cmocka_unit_test(test_limit_head),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_prev_len_skips_rescan),
		cmocka_unit_test(test_two_reads_every_split),
		cmocka_unit_test(test_trickled_long_line),
		cmocka_unit_test(test_scan_every_position),
		cmocka_unit_test(test_char_classes),
		cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
