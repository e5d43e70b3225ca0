/* Small HTTP/1.1 framing helpers shared by the benchmark tools (loadgen,
 * bench_backend). Header-only on purpose: every bench/<name>.c becomes its
 * own executable, and these tools must not depend on the gateway's parser
 * (they are used to measure it, and to measure peers the same way).
 *
 * What is here: finding the end of a header block, reading the framing
 * headers (Content-Length, Transfer-Encoding: chunked, Connection), and an
 * incremental chunked-body decoder that discards data while it counts it.
 * Everything works on bounded (pointer, length) input and never allocates. */
#ifndef CG_BENCH_H1SCAN_H
#define CG_BENCH_H1SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Returns the length of the header block including the final CRLFCRLF, or 0
 * when the block is not complete yet within n bytes. */
static inline size_t h1s_header_end(const char *p, size_t n)
{
	if (n < 4)
		return 0;
	const char *q = p;
	const char *end = p + n;
	while (q < end && (q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		/* Accept CRLFCRLF and bare LFLF: peers must not be penalised for
		 * the line endings they choose. Every look-ahead stays below end. */
		if (q + 1 < end && q[1] == '\n')
			return (size_t)(q + 2 - p);
		if (q + 2 < end && q[1] == '\r' && q[2] == '\n')
			return (size_t)(q + 3 - p);
		q++;
	}
	return 0;
}

/* Framing facts read from one header block. */
struct h1s_framing {
	bool has_length;
	uint64_t length;
	bool chunked;
	bool close;      /* Connection: close, or HTTP/1.0 without keep-alive */
	bool keepalive;  /* explicit Connection: keep-alive */
	bool bad;        /* conflicting or malformed framing */
};

static inline bool h1s_token_in(const char *v, size_t vn, const char *tok)
{
	size_t tn = strlen(tok);
	size_t i = 0;
	while (i < vn) {
		while (i < vn && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < vn && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tn && strncasecmp(v + s, tok, tn) == 0)
			return true;
	}
	return false;
}

/* Reads the framing headers of a header block p[0..n) (start line included;
 * it is skipped). */
static inline void h1s_framing_read(const char *p, size_t n, struct h1s_framing *f)
{
	memset(f, 0, sizeof(*f));
	const char *end = p + n;
	const char *line = memchr(p, '\n', n);
	if (line == NULL) {
		f->bad = true;
		return;
	}
	line++;
	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		if (eol == NULL)
			eol = end;
		size_t ln = (size_t)(eol - line);
		if (ln > 0 && line[ln - 1] == '\r')
			ln--;
		if (ln == 0)
			break;
		const char *colon = memchr(line, ':', ln);
		if (colon != NULL) {
			size_t nn = (size_t)(colon - line);
			const char *v = colon + 1;
			size_t vn = ln - nn - 1;
			while (vn > 0 && (*v == ' ' || *v == '\t')) {
				v++;
				vn--;
			}
			while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
				vn--;
			if (nn == 14 && strncasecmp(line, "content-length", 14) == 0) {
				uint64_t x = 0;
				size_t digits = 0;
				for (size_t i = 0; i < vn; i++) {
					if (v[i] < '0' || v[i] > '9' || digits >= 18) {
						f->bad = true;
						break;
					}
					x = x * 10 + (uint64_t)(v[i] - '0');
					digits++;
				}
				if (digits == 0 || (f->has_length && f->length != x))
					f->bad = true;
				f->has_length = true;
				f->length = x;
			} else if (nn == 17 && strncasecmp(line, "transfer-encoding", 17) == 0) {
				if (h1s_token_in(v, vn, "chunked"))
					f->chunked = true;
			} else if (nn == 10 && strncasecmp(line, "connection", 10) == 0) {
				if (h1s_token_in(v, vn, "close"))
					f->close = true;
				if (h1s_token_in(v, vn, "keep-alive"))
					f->keepalive = true;
			}
		}
		line = eol + 1;
	}
	/* Transfer-Encoding wins over Content-Length (RFC 9112 6.3). */
	if (f->chunked)
		f->has_length = false;
}

/* Incremental chunked decoder. It only counts and discards: the benchmark
 * tools never need the payload. Bounded: chunk-size lines and trailer lines
 * longer than H1S_LINE_MAX are an error. */
#define H1S_LINE_MAX 4096

enum h1s_chunk_state {
	H1S_CH_SIZE = 0,   /* hex digits */
	H1S_CH_EXT,        /* ;extensions up to LF */
	H1S_CH_DATA,       /* chunk payload */
	H1S_CH_DATA_CR,    /* CR after payload */
	H1S_CH_DATA_LF,    /* LF after payload */
	H1S_CH_TRAILER,    /* start of a trailer line (or the final empty line) */
	H1S_CH_TRAILER_LINE, /* inside a trailer line */
	H1S_CH_TRAILER_LF, /* CR of the empty line seen, waiting for LF */
	H1S_CH_DONE,
};

struct h1s_chunk {
	enum h1s_chunk_state st;
	uint64_t left;     /* payload bytes left in the current chunk */
	unsigned digits;
	unsigned linelen;
	uint64_t payload;  /* total payload bytes seen */
};

/* Feeds n bytes. Returns the number consumed (< n only when the body ended
 * inside the input: the rest belongs to the next message), or -1 on a
 * framing error. The body is complete when c->st == H1S_CH_DONE. */
static inline long h1s_chunk_feed(struct h1s_chunk *c, const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && c->st != H1S_CH_DONE) {
		char ch = p[i];
		switch (c->st) {
		case H1S_CH_SIZE: {
			int d = -1;
			if (ch >= '0' && ch <= '9')
				d = ch - '0';
			else if (ch >= 'a' && ch <= 'f')
				d = ch - 'a' + 10;
			else if (ch >= 'A' && ch <= 'F')
				d = ch - 'A' + 10;
			if (d >= 0) {
				if (++c->digits > 15)
					return -1;
				c->left = c->left * 16 + (uint64_t)d;
				i++;
				break;
			}
			if (c->digits == 0)
				return -1;
			c->st = H1S_CH_EXT;
			c->linelen = 0;
			break; /* re-examine ch in EXT */
		}
		case H1S_CH_EXT:
			i++;
			if (ch == '\n') {
				c->digits = 0;
				c->st = c->left == 0 ? H1S_CH_TRAILER : H1S_CH_DATA;
			} else if (++c->linelen > H1S_LINE_MAX) {
				return -1;
			}
			break;
		case H1S_CH_DATA: {
			size_t take = n - i;
			if (take > c->left)
				take = (size_t)c->left;
			i += take;
			c->left -= take;
			c->payload += take;
			if (c->left == 0)
				c->st = H1S_CH_DATA_CR;
			break;
		}
		case H1S_CH_DATA_CR:
			i++;
			if (ch == '\r')
				c->st = H1S_CH_DATA_LF;
			else if (ch == '\n')
				c->st = H1S_CH_SIZE;
			else
				return -1;
			break;
		case H1S_CH_DATA_LF:
			i++;
			if (ch != '\n')
				return -1;
			c->st = H1S_CH_SIZE;
			break;
		case H1S_CH_TRAILER:
			i++;
			if (ch == '\n') {
				c->st = H1S_CH_DONE;
			} else if (ch == '\r') {
				c->st = H1S_CH_TRAILER_LF;
			} else {
				c->st = H1S_CH_TRAILER_LINE;
				c->linelen = 1;
			}
			break;
		case H1S_CH_TRAILER_LF:
			i++;
			if (ch != '\n')
				return -1;
			c->st = H1S_CH_DONE;
			break;
		case H1S_CH_TRAILER_LINE:
			i++;
			if (ch == '\n')
				c->st = H1S_CH_TRAILER;
			else if (++c->linelen > H1S_LINE_MAX)
				return -1;
			break;
		case H1S_CH_DONE:
			break;
		}
	}
	return (long)i;
}

#endif
