/* Chunked decoder: accepted bodies decoded one shot, split in two at every
 * byte, and fed byte by byte, all giving the same payload and leftover;
 * every refusal with its reason, sticky errors, and the extension and
 * trailer limits at the exact boundary. */
#include "h1_test.h"

struct ck_ok {
	struct t_bytes in;
	struct t_bytes payload;
	struct t_bytes leftover;
};

static const struct ck_ok ok_cases[] = {
	{ TB("5\r\nhello\r\n0\r\n\r\n"), TB("hello"), TB("") },
	{ TB("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), TB("hello world"), TB("GET / HTTP/1.1\r\n") },
	{ TB("A;name=val;x=\"q s\"\r\n0123456789\r\n0;last\r\n\r\n"), TB("0123456789"), TB("") },
	{ TB("1a\r\nabcdefghijklmnopqrstuvwxyz\r\n1A\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n0\r\n\r\n"), TB("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"), TB("") },
	{ TB("0005\r\nhello\r\n000\r\n\r\n"), TB("hello"), TB("") },
	{ TB("3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-T:\t \r\nx-e:\r\n\r\nrest"), TB("abc"), TB("rest") },
	{ TB("0\r\n\r\n"), TB(""), TB("") },
	{ TB("0\r\n\r\n0\r\n\r\n"), TB(""), TB("0\r\n\r\n") },
	{ TB("0000000000000003\r\nabc\r\n0\r\n\r\n"), TB("abc"), TB("") },
	{ TB("2\r\n\r\n\r\n1\r\n\0\r\n0\r\n\r\n"), TB("\r\n\0"), TB("") },
	{ TB("3;\t a = \"b;c\" \r\nxyz\r\n0\r\n\r\n"), TB("xyz"), TB("") },
};

struct ck_bad {
	struct t_bytes in;
	const char *reason;
};

static const struct ck_bad bad_cases[] = {
	{ TB("x\r\n"), "chunk size is not hex" },
	{ TB("\r\n"), "chunk size is not hex" },
	{ TB(" 5\r\nhello\r\n0\r\n\r\n"), "chunk size is not hex" },
	{ TB("+5\r\nhello\r\n0\r\n\r\n"), "chunk size is not hex" },
	{ TB("-5\r\nhello\r\n0\r\n\r\n"), "chunk size is not hex" },
	{ TB(";x\r\n"), "chunk size is not hex" },
	{ TB("0x5\r\nhello\r\n0\r\n\r\n"), "invalid character after chunk size" },
	{ TB("5 \r\nhello\r\n0\r\n\r\n"), "invalid character after chunk size" },
	{ TB("5 ;x\r\nhello\r\n0\r\n\r\n"), "invalid character after chunk size" },
	{ TB("5\t;x\r\nhello\r\n0\r\n\r\n"), "invalid character after chunk size" },
	{ TB("5g\r\n"), "invalid character after chunk size" },
	{ TB("00000000000000005\r\nhello\r\n0\r\n\r\n"), "chunk size over 16 hex digits" },
	{ TB("ffffffffffffffff0\r\n"), "chunk size over 16 hex digits" },
	{ TB("5\nhello\r\n0\r\n\r\n"), "bare LF in chunk size line" },
	{ TB("5\rhello\r\n0\r\n\r\n"), "bare CR in chunk size line" },
	{ TB("5\r\nhelloX\r\n0\r\n\r\n"), "missing CRLF after chunk data" },
	{ TB("5\r\nhello\rX0\r\n\r\n"), "missing CRLF after chunk data" },
	{ TB("5\r\nhello\n0\r\n\r\n"), "missing CRLF after chunk data" },
	{ TB("3\r\nhello\r\n0\r\n\r\n"), "missing CRLF after chunk data" },
	{ TB("5;a\x01" "b\r\nhello\r\n0\r\n\r\n"), "control character in chunk extension" },
	{ TB("5;a\x7f\r\nhello\r\n0\r\n\r\n"), "control character in chunk extension" },
	{ TB("5;a\nhello\r\n0\r\n\r\n"), "bare LF in chunk size line" },
	{ TB("0\r\nX: a\r\n b\r\n\r\n"), "obs-fold in trailer section" },
	{ TB("0\r\n\tX: a\r\n\r\n"), "obs-fold in trailer section" },
	{ TB("0\r\nX : a\r\n\r\n"), "whitespace between trailer name and colon" },
	{ TB("0\r\n: a\r\n\r\n"), "empty trailer name" },
	{ TB("0\r\nX\x01: a\r\n\r\n"), "invalid character in trailer name" },
	{ TB("0\r\nNoColon\r\n\r\n"), "invalid character in trailer name" },
	{ TB("0\r\n\x80: a\r\n\r\n"), "invalid character in trailer name" },
	{ TB("0\r\nX: a\x01\r\n\r\n"), "control character in trailer value" },
	{ TB("0\r\nX: a\rb\r\n\r\n"), "bare CR in trailer section" },
	{ TB("0\r\nX: a\n\r\n"), "bare LF in trailer section" },
	{ TB("0\r\n\rX"), "bare CR in trailer section" },
	{ TB("0\r\n\n"), "bare LF in trailer section" },
};

/* Accumulates decoded payload and the leftover over several calls. */
struct ck_run {
	struct cg_h1_chunked d;
	char out[16384];
	size_t out_len;
	char rest[16384];
	size_t rest_len;
	long last;
};

/* Feeds in[0..n) in pieces of the given sizes (the last piece takes the
 * rest); stops at the end of the body or an error. */
static void run_pieces(struct ck_run *run, const char *in, size_t n, const size_t *cuts,
		       size_t ncuts)
{
	memset(run, 0, sizeof(*run));
	cg_h1_chunked_init(&run->d);
	run->last = CG_H1_INCOMPLETE;
	size_t off = 0;
	for (size_t k = 0; k <= ncuts && off <= n; k++) {
		size_t end = k < ncuts ? cuts[k] : n;
		if (end < off)
			continue;
		size_t len = end - off;
		char *b = t_dup(in + off, len); /* tight: ASan sees overreads */
		long r = cg_h1_chunked_decode(&run->d, b, &len);
		if (r == CG_H1_ERROR) {
			assert_int_equal(len, 0);
			run->last = r;
			free(b);
			return;
		}
		memcpy(run->out + run->out_len, b, len);
		run->out_len += len;
		if (r >= 0) {
			memcpy(run->rest, b + len, (size_t)r);
			run->rest_len = (size_t)r;
			/* the rest of the input after this piece is leftover too */
			memcpy(run->rest + run->rest_len, in + end, n - end);
			run->rest_len += n - end;
			run->last = r;
			free(b);
			return;
		}
		assert_int_equal(r, CG_H1_INCOMPLETE);
		free(b);
		off = end;
	}
}

static void expect_ok(const struct ck_run *run, const struct ck_ok *c, const char *how)
{
	if (run->last < 0) {
		print_error("%s: got %ld (%s)\n", how, run->last,
			    run->d.error_reason ? run->d.error_reason : "");
		fail();
	}
	assert_int_equal(run->out_len, c->payload.n);
	assert_memory_equal(run->out, c->payload.p, c->payload.n);
	assert_int_equal(run->rest_len, c->leftover.n);
	assert_memory_equal(run->rest, c->leftover.p, c->leftover.n);
	assert_true(run->d.total == c->payload.n);
}

static void test_accepted_every_split(void **state)
{
	static struct ck_run run;
	static size_t cuts[4096];
	for (size_t k = 0; k < sizeof(ok_cases) / sizeof(ok_cases[0]); k++) {
		const struct ck_ok *c = &ok_cases[k];
		run_pieces(&run, c->in.p, c->in.n, NULL, 0);
		expect_ok(&run, c, "one shot");
		for (size_t s = 0; s <= c->in.n; s++) {
			cuts[0] = s;
			run_pieces(&run, c->in.p, c->in.n, cuts, 1);
			expect_ok(&run, c, "two pieces");
		}
		for (size_t s = 0; s < c->in.n; s++)
			cuts[s] = s + 1;
		run_pieces(&run, c->in.p, c->in.n, cuts, c->in.n);
		expect_ok(&run, c, "byte by byte");
	}
}

static void test_refused(void **state)
{
	static struct ck_run run;
	static size_t cuts[4096];
	for (size_t k = 0; k < sizeof(bad_cases) / sizeof(bad_cases[0]); k++) {
		const struct ck_bad *c = &bad_cases[k];
		run_pieces(&run, c->in.p, c->in.n, NULL, 0);
		if (run.last != CG_H1_ERROR || strcmp(run.d.error_reason, c->reason) != 0) {
			print_error("case %zu: got %ld \"%s\", want \"%s\"\n", k, run.last,
				    run.d.error_reason ? run.d.error_reason : "", c->reason);
			fail();
		}
		for (size_t s = 0; s < c->in.n; s++)
			cuts[s] = s + 1;
		run_pieces(&run, c->in.p, c->in.n, cuts, c->in.n);
		assert_int_equal(run.last, CG_H1_ERROR);
		assert_string_equal(run.d.error_reason, c->reason);
		/* sticky: later bytes never un-fail the body, nothing is output */
		char more[] = "5\r\nhello\r\n0\r\n\r\n";
		size_t len = sizeof(more) - 1;
		assert_int_equal(cg_h1_chunked_decode(&run.d, more, &len), CG_H1_ERROR);
		assert_int_equal(len, 0);
		assert_string_equal(more, "5\r\nhello\r\n0\r\n\r\n");
	}
}

static void test_ext_limit(void **state)
{
	static char in[CG_H1_MAX_CHUNK_EXT_BYTES + 64];
	static struct ck_run run;
	/* ";" + 1023 bytes = exactly the limit */
	size_t n = 0;
	in[n++] = '1';
	in[n++] = ';';
	memset(in + n, 'e', CG_H1_MAX_CHUNK_EXT_BYTES - 1);
	n += CG_H1_MAX_CHUNK_EXT_BYTES - 1;
	memcpy(in + n, "\r\nX\r\n0\r\n\r\n", 10);
	run_pieces(&run, in, n + 10, NULL, 0);
	assert_int_equal(run.last, 0);
	assert_int_equal(run.out_len, 1);
	assert_int_equal(run.out[0], 'X');
	/* one byte more */
	memset(in + 2, 'e', CG_H1_MAX_CHUNK_EXT_BYTES);
	memcpy(in + 2 + CG_H1_MAX_CHUNK_EXT_BYTES, "\r\nX\r\n0\r\n\r\n", 10);
	run_pieces(&run, in, CG_H1_MAX_CHUNK_EXT_BYTES + 12, NULL, 0);
	assert_int_equal(run.last, CG_H1_ERROR);
	assert_string_equal(run.d.error_reason, "chunk extension too long");
	/* the limit is per line: two long extensions in one body are fine */
	static char two[2 * CG_H1_MAX_CHUNK_EXT_BYTES + 64];
	n = 0;
	for (int i = 0; i < 2; i++) {
		two[n++] = '1';
		two[n++] = ';';
		memset(two + n, 'e', CG_H1_MAX_CHUNK_EXT_BYTES - 1);
		n += CG_H1_MAX_CHUNK_EXT_BYTES - 1;
		memcpy(two + n, "\r\nY\r\n", 5);
		n += 5;
	}
	memcpy(two + n, "0\r\n\r\n", 5);
	run_pieces(&run, two, n + 5, NULL, 0);
	assert_int_equal(run.last, 0);
	assert_int_equal(run.out_len, 2);
}

static void test_trailer_limit(void **state)
{
	static char in[CG_H1_MAX_TRAILER_BYTES + 64];
	static struct ck_run run;
	/* "0\r\n" + "X: vvv...\r\n" + "\r\n": the trailer section (everything
	 * after the last-chunk line) is exactly the limit. */
	size_t t = CG_H1_MAX_TRAILER_BYTES;
	memcpy(in, "0\r\nX: ", 6);
	memset(in + 6, 'v', t - 4 - 3);
	memcpy(in + 3 + t - 4, "\r\n\r\n", 4);
	run_pieces(&run, in, 3 + t, NULL, 0);
	assert_int_equal(run.last, 0);
	assert_int_equal(run.d.trailer_bytes, t);
	memcpy(in, "0\r\nX: ", 6);
	memset(in + 6, 'v', t - 4 - 3 + 1);
	memcpy(in + 3 + t - 4 + 1, "\r\n\r\n", 4);
	run_pieces(&run, in, 3 + t + 1, NULL, 0);
	assert_int_equal(run.last, CG_H1_ERROR);
	assert_string_equal(run.d.error_reason, "trailer section too long");
}

static void test_state_and_total(void **state)
{
	struct cg_h1_chunked d;
	cg_h1_chunked_init(&d);
	/* The largest size: 16 hex digits; data is counted as it comes. */
	char a[] = "ffffffffffffffff\r\nabcdef";
	size_t len = sizeof(a) - 1;
	assert_int_equal(cg_h1_chunked_decode(&d, a, &len), CG_H1_INCOMPLETE);
	assert_int_equal(len, 6);
	assert_memory_equal(a, "abcdef", 6);
	assert_true(d.total == 6);
	assert_true(d.remaining == UINT64_MAX - 6);
	/* Empty input: nothing happens. */
	len = 0;
	assert_int_equal(cg_h1_chunked_decode(&d, a, &len), CG_H1_INCOMPLETE);
	assert_int_equal(len, 0);
	assert_true(d.total == 6);

	/* After the end, everything is leftover and left in place. */
	cg_h1_chunked_init(&d);
	char b[] = "0\r\n\r\n";
	len = sizeof(b) - 1;
	assert_int_equal(cg_h1_chunked_decode(&d, b, &len), 0);
	assert_int_equal(len, 0);
	char c[] = "GET /next";
	len = sizeof(c) - 1;
	assert_int_equal(cg_h1_chunked_decode(&d, c, &len), (long)sizeof(c) - 1);
	assert_int_equal(len, 0);
	assert_string_equal(c, "GET /next");

	/* A state no decoder can reach (memory corruption) fails closed. */
	cg_h1_chunked_init(&d);
	d.state = 99;
	char f[] = "5\r\nhello\r\n";
	len = sizeof(f) - 1;
	assert_int_equal(cg_h1_chunked_decode(&d, f, &len), CG_H1_ERROR);
	assert_int_equal(len, 0);
	assert_string_equal(d.error_reason, "decoder state corrupt");

	/* A zeroed struct is a valid start, like cg_h1_chunked_init. */
	struct cg_h1_chunked z = { 0 };
	char e[] = "2\r\nok\r\n0\r\n\r\n";
	len = sizeof(e) - 1;
	assert_int_equal(cg_h1_chunked_decode(&z, e, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(e, "ok", 2);
}

/* Re-encoding with cg_h1_chunk_header decodes back to the payload. */
static void test_roundtrip_writer(void **state)
{
	static const char payload[] = "The quick brown fox jumps over the lazy dog";
	char enc[256];
	size_t n = 0;
	for (size_t off = 0; off < sizeof(payload) - 1; off += 7) {
		size_t k = sizeof(payload) - 1 - off < 7 ? sizeof(payload) - 1 - off : 7;
		char hdr[20];
		size_t hl = cg_h1_chunk_header(hdr, k);
		memcpy(enc + n, hdr, hl);
		n += hl;
		memcpy(enc + n, payload + off, k);
		n += k;
		memcpy(enc + n, "\r\n", 2);
		n += 2;
	}
	n += cg_h1_chunk_header(enc + n, 0);
	memcpy(enc + n, "\r\n", 2);
	n += 2;
	struct cg_h1_chunked d;
	cg_h1_chunked_init(&d);
	size_t len = n;
	assert_int_equal(cg_h1_chunked_decode(&d, enc, &len), 0);
	assert_int_equal(len, sizeof(payload) - 1);
	assert_memory_equal(enc, payload, len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted_every_split),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_ext_limit),
		cmocka_unit_test(test_trailer_limit),
		cmocka_unit_test(test_state_and_total),
		cmocka_unit_test(test_roundtrip_writer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
