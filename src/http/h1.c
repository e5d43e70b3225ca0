/* HTTP/1.1 head parsing (RFC 9112): request and response heads.
 *
 * Shape: one forward pass over the head, line by line, with a character
 * class table (h1-chars.h) and word-at-a-time scans for the long parts
 * (targets, values). Nothing is copied or allocated; slices point into the
 * caller's buffer.
 *
 * Incremental use: the parser keeps no state between calls. A caller
 * re-calls with more bytes and prev_len (bytes seen before). Rather than
 * re-parse everything each time, a call first looks only at the new bytes
 * for something that can change the answer: the end of the head (CRLFCRLF),
 * a bare LF (an error), the head limit being passed, or a rescan step being
 * crossed. Otherwise it says "incomplete" at once. So a slow client costs
 * O(n) memchr in total plus at most max_head/H1_RESCAN_STEP + 2 full parses,
 * never a parse per byte.
 *
 * Every decision that depends on where the buffer ends only ever yields
 * "incomplete", never an error: a prefix of a message gives either
 * INCOMPLETE or the same error as the whole message. That is what makes
 * byte-by-byte and one-shot parsing agree (the fuzzers check it). */
#include "http/h1.h"

#include <limits.h>
#include <string.h>

#include "http/h1-chars.h"

/* Internal result of the shared line parsers. */
struct h1_err {
	int status;
	const char *reason;
};

/* What the framing-relevant headers said; judged after the whole head. */
struct h1_seen {
	size_t host_count;
	struct cg_str host;
	size_t cl_count;
	bool cl_bad;
	bool cl_conflict;
	uint64_t cl;
	size_t te_count;
	bool te_chunked; /* the one TE header is exactly "chunked" */
	bool conn_close;
	bool conn_keep_alive;
	bool expect_seen;
	bool expect_bad;
	bool upgrade;
};

/* Content-Length values above this are refused: anything larger is not a
 * body we will ever carry, and it keeps the value safe as int64/off_t. */
#define H1_MAX_CONTENT_LENGTH ((uint64_t)INT64_MAX)

#define H1_ERR(e, st, why)                                                                         \
	do {                                                                                       \
		(e)->status = (st);                                                                \
		(e)->reason = (why);                                                               \
		return CG_H1_ERROR;                                                                \
	} while (0)

/* Word-at-a-time helpers (8 bytes per step): "does this word hold a byte
 * below n" is exact for n <= 128 when only the any-answer is used. */
#define H1_ONES 0x0101010101010101ULL
#define H1_HIGHS 0x8080808080808080ULL
#define H1_HASLESS(x, n) (((x) - H1_ONES * (n)) & ~(x) & H1_HIGHS)
#define H1_HASZERO(x) (((x) - H1_ONES) & ~(x) & H1_HIGHS)

/* Advances over field-value bytes (VCHAR, obs-text, SP, HTAB) in
 * buf[pos..stop); returns the first position that is not one. */
static size_t scan_value(const char *buf, size_t pos, size_t stop)
{
	while (pos + 8 <= stop) {
		uint64_t w;
		memcpy(&w, buf + pos, 8);
		/* Any CTL (incl. HTAB, handled bytewise below) or DEL ends the fast path. */
		if (H1_HASLESS(w, 0x20) | H1_HASZERO(w ^ (H1_ONES * 0x7f)))
			break;
		pos += 8;
	}
	while (pos < stop && CG_H1C(buf[pos], CG_H1C_VALUE))
		pos++;
	return pos;
}

/* Advances over request-target bytes (0x21-0x7E) in buf[pos..stop). */
static size_t scan_target(const char *buf, size_t pos, size_t stop)
{
	while (pos + 8 <= stop) {
		uint64_t w;
		memcpy(&w, buf + pos, 8);
		if (H1_HASLESS(w, 0x21) | (w & H1_HIGHS) | H1_HASZERO(w ^ (H1_ONES * 0x7f)))
			break;
		pos += 8;
	}
	while (pos < stop && CG_H1C(buf[pos], CG_H1C_TARGET))
		pos++;
	return pos;
}

/* While a head is incomplete, a full parse also runs each time the buffer
 * crosses a multiple of this many bytes, so an over-long line or target that
 * trickles in is refused with its own status soon after it passes its limit
 * (not only at max_head_bytes), at the cost of max_head/step extra parses. */
#define H1_RESCAN_STEP 2048

/* True when the new bytes buf[prev_len..len) may change the answer: they
 * end the head, hold a bare LF, pass the head limit, or cross a rescan step. */
static bool need_full_parse(const char *buf, size_t len, size_t prev_len, size_t max_head)
{
	if (prev_len == 0 || prev_len >= len || len > max_head ||
	    prev_len / H1_RESCAN_STEP != len / H1_RESCAN_STEP)
		return true;
	const char *p = buf + prev_len, *end = buf + len;
	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		size_t i = (size_t)(p - buf);
		if (i == 0 || buf[i - 1] != '\r')
			return true;
		if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return true;
		if (i >= 2 && buf[i - 2] == '\r') /* "\r\r\n": a bare CR */
			return true;
		p++;
	}
	return false;
}

/* Validates host [":" port] (RFC 3986 authority without userinfo); the
 * host is a reg-name (with valid %XX) or a bracketed IP literal. */
static bool authority_valid(struct cg_str a, bool need_port)
{
	const unsigned char *p = (const unsigned char *)a.ptr;
	size_t n = a.len, i = 0;
	if (n == 0)
		return false;
	if (p[0] == '[') {
		for (i = 1; i < n && p[i] != ']'; i++)
			if (!CG_H1C(p[i], CG_H1C_HOST) && p[i] != ':')
				return false;
		if (i == n || i == 1)
			return false;
		i++;
	} else {
		for (; i < n && p[i] != ':'; i++) {
			if (!CG_H1C(p[i], CG_H1C_HOST))
				return false;
			if (p[i] == '%' && (i + 2 >= n || !CG_H1C(p[i + 1], CG_H1C_HEX) ||
					    !CG_H1C(p[i + 2], CG_H1C_HEX)))
				return false;
		}
		if (i == 0)
			return false;
	}
	if (i == n)
		return !need_port;
	if (p[i] != ':')
		return false;
	i++;
	if (n - i > 5 || (need_port && i == n))
		return false;
	unsigned port = 0;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		port = port * 10 + (unsigned)(p[i] - '0');
	}
	return port <= 65535;
}

/* Records what a header means for framing; the verdict comes later, once
 * every header has been seen (the checks are order-independent). */
static void note_header(struct h1_seen *s, struct cg_str name, struct cg_str value)
{
	switch (name.len) {
	case 4:
		if (cg_str_ieq_lit(name, "host") && s->host_count++ == 0)
			s->host = value;
		break;
	case 6:
		if (cg_str_ieq_lit(name, "expect")) {
			s->expect_seen = true;
			if (!cg_str_ieq_lit(value, "100-continue"))
				s->expect_bad = true;
		}
		break;
	case 7:
		if (cg_str_ieq_lit(name, "upgrade"))
			s->upgrade = true;
		break;
	case 10:
		if (cg_str_ieq_lit(name, "connection")) {
			struct cg_str rest = value, tok;
			while (cg_str_next_csv(&rest, &tok)) {
				if (cg_str_ieq_lit(tok, "close"))
					s->conn_close = true;
				else if (cg_str_ieq_lit(tok, "keep-alive"))
					s->conn_keep_alive = true;
			}
		}
		break;
	case 14:
		if (cg_str_ieq_lit(name, "content-length")) {
			/* "5, 5" is one value sent twice (RFC 9110 8.6); anything
			 * else that is not plain digits is refused. */
			struct cg_str rest = value, tok;
			bool any = false;
			while (cg_str_next_csv(&rest, &tok)) {
				uint64_t v;
				any = true;
				if (!cg_str_to_u64(tok, H1_MAX_CONTENT_LENGTH, &v)) {
					s->cl_bad = true;
				} else if (s->cl_count++ == 0) {
					s->cl = v;
				} else if (v != s->cl) {
					s->cl_conflict = true;
				}
			}
			if (!any)
				s->cl_bad = true;
		}
		break;
	case 17:
		if (cg_str_ieq_lit(name, "transfer-encoding"))
			s->te_chunked = s->te_count++ == 0 && cg_str_ieq_lit(value, "chunked");
		break;
	default:
		break;
	}
}

/* Parses header lines from buf[pos..end) up to and including the empty
 * line. Returns the offset after it, CG_H1_INCOMPLETE or CG_H1_ERROR. */
static int parse_fields(const char *buf, size_t pos, size_t end, struct cg_h1_header *hdrs,
			size_t cap, size_t *nhdrs, size_t max_line, struct h1_seen *seen,
			struct h1_err *e)
{
	size_t n = 0;
	for (;;) {
		if (pos >= end)
			return CG_H1_INCOMPLETE;
		char c = buf[pos];
		if (c == '\r') {
			if (pos + 1 >= end)
				return CG_H1_INCOMPLETE;
			if (buf[pos + 1] != '\n')
				H1_ERR(e, 400, "bare CR in header section");
			*nhdrs = n;
			return (int)(pos + 2);
		}
		if (c == '\n')
			H1_ERR(e, 400, "bare LF as line end");
		if (c == ' ' || c == '\t')
			H1_ERR(e, 400, "obs-fold or whitespace at the start of a header line");
		if (n == cap)
			H1_ERR(e, 431, "too many header fields");
		size_t start = pos;
		size_t lim = max_line < end - start ? start + max_line : end;
		while (pos < lim && CG_H1C(buf[pos], CG_H1C_TCHAR))
			pos++;
		if (pos == end)
			return CG_H1_INCOMPLETE;
		/* A name that fills the line limit leaves no room for ':'. */
		if (pos == lim)
			H1_ERR(e, 431, "header line too long");
		c = buf[pos];
		if (c != ':') {
			if (c == ' ' || c == '\t')
				H1_ERR(e, 400, "whitespace between header name and colon");
			if (c == '\r' || c == '\n')
				H1_ERR(e, 400, "header line without colon");
			H1_ERR(e, 400, "invalid character in header name");
		}
		if (pos == start)
			H1_ERR(e, 400, "empty header name");
		struct cg_str name = cg_str_make(buf + start, pos - start);
		pos++;
		while (pos < lim && (buf[pos] == ' ' || buf[pos] == '\t'))
			pos++;
		size_t vstart = pos;
		pos = scan_value(buf, pos, lim);
		if (pos == end)
			return CG_H1_INCOMPLETE;
		c = buf[pos];
		if (c != '\r') {
			if (pos == lim)
				H1_ERR(e, 431, "header line too long");
			if (c == '\n')
				H1_ERR(e, 400, "bare LF as line end");
			H1_ERR(e, 400, "control character in header value");
		}
		if (pos + 1 >= end)
			return CG_H1_INCOMPLETE;
		if (buf[pos + 1] != '\n')
			H1_ERR(e, 400, "bare CR in header value");
		size_t vend = pos;
		while (vend > vstart && (buf[vend - 1] == ' ' || buf[vend - 1] == '\t'))
			vend--;
		hdrs[n].name = name;
		hdrs[n].value = cg_str_make(buf + vstart, vend - vstart);
		note_header(seen, name, hdrs[n].value);
		n++;
		pos += 2;
	}
}

/* Checks "HTTP/d.d" against the n (<= 8) bytes available at p. */
static bool version_prefix_ok(const char *p, size_t n)
{
	static const char pat[] = "HTTP/0.0";
	for (size_t i = 0; i < n && i < 8; i++) {
		if (i == 5 || i == 7) {
			if (p[i] < '0' || p[i] > '9')
				return false;
		} else if (p[i] != pat[i]) {
			return false;
		}
	}
	return true;
}

/* Content-Length / Transfer-Encoding verdict shared by both directions. */
static int judge_framing(const struct h1_seen *s, int minor, struct h1_err *e)
{
	if (s->cl_bad)
		H1_ERR(e, 400, "invalid Content-Length");
	if (s->cl_conflict)
		H1_ERR(e, 400, "conflicting Content-Length values");
	if (s->te_count && minor == 0)
		H1_ERR(e, 400, "Transfer-Encoding in an HTTP/1.0 message");
	if (s->te_count && s->cl_count)
		H1_ERR(e, 400, "both Content-Length and Transfer-Encoding");
	if (s->te_count && !s->te_chunked)
		H1_ERR(e, 501, "Transfer-Encoding other than chunked");
	return 0;
}

/* Splits the request-target by its form (RFC 9112 3.2). */
static int judge_target(struct cg_h1_request *req, struct h1_err *e)
{
	struct cg_str t = req->target;
	bool connect = cg_str_eq_lit(req->method, "CONNECT");
	if (connect) {
		if (!authority_valid(t, true))
			H1_ERR(e, 400, "CONNECT needs an authority-form target (host:port)");
		req->authority = t;
		return 0;
	}
	if (t.ptr[0] == '*' && t.len == 1) {
		if (!cg_str_eq_lit(req->method, "OPTIONS"))
			H1_ERR(e, 400, "asterisk-form target outside OPTIONS");
		return 0;
	}
	if (cg_str_find_char(t, '#') >= 0)
		H1_ERR(e, 400, "fragment in request-target");
	size_t off;
	if (t.ptr[0] == '/') {
		off = 0;
	} else {
		size_t skip;
		if (t.len > 7 && cg_str_ieq_lit(cg_str_sub(t, 0, 7), "http://"))
			skip = 7;
		else if (t.len > 8 && cg_str_ieq_lit(cg_str_sub(t, 0, 8), "https://"))
			skip = 8;
		else
			H1_ERR(e, 400, "unsupported request-target form");
		off = skip;
		while (off < t.len && t.ptr[off] != '/' && t.ptr[off] != '?')
			off++;
		struct cg_str auth = cg_str_make(t.ptr + skip, off - skip);
		if (cg_str_find_char(auth, '@') >= 0)
			H1_ERR(e, 400, "userinfo in request-target");
		if (!authority_valid(auth, false))
			H1_ERR(e, 400, "invalid authority in request-target");
		req->authority = auth;
	}
	struct cg_str rest = cg_str_sub(t, off, t.len - off);
	long q = cg_str_find_char(rest, '?');
	if (q >= 0) {
		req->path = cg_str_make(rest.ptr, (size_t)q);
		req->query = cg_str_sub(rest, (size_t)q + 1, rest.len);
	} else {
		req->path = rest;
		req->query = cg_str_make(rest.ptr + rest.len, 0);
	}
	/* "http://h" and "http://h?q" mean the path "/" (RFC 9112 3.2.1). */
	if (req->path.len == 0)
		req->path = CG_STR("/");
	return 0;
}

static int parse_request_head(const char *buf, size_t end, struct cg_h1_request *req,
			      struct cg_h1_header *hdrs, size_t cap,
			      const struct cg_h1_limits *lim, struct h1_err *e)
{
	size_t pos = 0;
	if (end == 0)
		return CG_H1_INCOMPLETE;
	/* RFC 9112 2.2: ignore at least one empty line before the request
	 * line. Exactly one: more would let a client make us re-parse. */
	if (buf[0] == '\r') {
		if (end < 2)
			return CG_H1_INCOMPLETE;
		if (buf[1] != '\n')
			H1_ERR(e, 400, "bare CR before request line");
		pos = 2;
	}
	size_t ms = pos;
	size_t mlim = end - ms > CG_H1_MAX_METHOD_BYTES ? ms + CG_H1_MAX_METHOD_BYTES : end;
	while (pos < mlim && CG_H1C(buf[pos], CG_H1C_TCHAR))
		pos++;
	if (pos == end)
		return CG_H1_INCOMPLETE;
	if (buf[pos] != ' ') {
		if (pos == mlim)
			H1_ERR(e, 501, "method too long");
		if (buf[pos] == '\n')
			H1_ERR(e, 400, "bare LF as line end");
		H1_ERR(e, 400, "invalid character in method");
	}
	if (pos == ms)
		H1_ERR(e, 400, "empty method");
	req->method = cg_str_make(buf + ms, pos - ms);
	pos++;

	size_t ts = pos;
	size_t tlim = end - ts > lim->max_uri_bytes ? ts + lim->max_uri_bytes : end;
	pos = scan_target(buf, pos, tlim);
	if (pos == end)
		return CG_H1_INCOMPLETE;
	if (buf[pos] != ' ') {
		if (pos == tlim)
			H1_ERR(e, 414, "request-target too long");
		if (buf[pos] == '\r' || buf[pos] == '\n')
			H1_ERR(e, 400, "request line without HTTP version");
		H1_ERR(e, 400, "invalid character in request-target");
	}
	if (pos == ts)
		H1_ERR(e, 400, "empty request-target");
	req->target = cg_str_make(buf + ts, pos - ts);
	pos++;

	size_t avail = end - pos;
	if (!version_prefix_ok(buf + pos, avail))
		H1_ERR(e, 400, "malformed HTTP version");
	if (avail >= 9 && buf[pos + 8] != '\r')
		H1_ERR(e, 400, buf[pos + 8] == '\n' ? "bare LF as line end" : "malformed HTTP version");
	if (avail < 10)
		return CG_H1_INCOMPLETE;
	if (buf[pos + 9] != '\n')
		H1_ERR(e, 400, "bare CR in request line");
	if (buf[pos + 5] != '1' || buf[pos + 7] > '1')
		H1_ERR(e, 505, "unsupported HTTP version");
	req->minor_version = buf[pos + 7] - '0';
	pos += 10;

	if (judge_target(req, e) != 0)
		return CG_H1_ERROR;

	struct h1_seen seen = { 0 };
	int r = parse_fields(buf, pos, end, hdrs, cap, &req->num_headers, lim->max_line_bytes,
			     &seen, e);
	if (r < 0)
		return r;

	if (seen.host_count > 1)
		H1_ERR(e, 400, "several Host headers");
	if (seen.host_count == 0 && req->minor_version == 1)
		H1_ERR(e, 400, "missing Host header");
	/* An empty Host is what a client sends when the target has no
	 * authority (RFC 9112 3.2); anything else must be host[:port]. */
	if (seen.host.len && !authority_valid(seen.host, false))
		H1_ERR(e, 400, "invalid Host header");
	if (judge_framing(&seen, req->minor_version, e) != 0)
		return CG_H1_ERROR;
	if (seen.expect_bad)
		H1_ERR(e, 417, "Expect other than 100-continue");

	/* RFC 9112 3.2.2: with an absolute-form target the target's
	 * authority is the host, whatever the Host header says. */
	req->host = req->authority.len && !cg_str_eq_lit(req->method, "CONNECT") ? req->authority
										 : seen.host;
	if (seen.te_count) {
		req->body_kind = CG_H1_BODY_CHUNKED;
	} else if (seen.cl_count && seen.cl > 0) {
		req->body_kind = CG_H1_BODY_LENGTH;
		req->content_length = seen.cl;
	}
	req->keep_alive = !seen.conn_close && (req->minor_version == 1 || seen.conn_keep_alive);
	/* RFC 9110 10.1.1: 100-continue in an HTTP/1.0 request is ignored. */
	req->expect_continue = seen.expect_seen && req->minor_version == 1;
	req->has_upgrade = seen.upgrade;
	return r;
}

void cg_h1_limits_default(struct cg_h1_limits *lim)
{
	lim->max_head_bytes = CG_H1_DEFAULT_MAX_HEAD_BYTES;
	lim->max_line_bytes = CG_H1_DEFAULT_MAX_LINE_BYTES;
	lim->max_uri_bytes = CG_H1_DEFAULT_MAX_URI_BYTES;
	lim->max_headers = CG_H1_DEFAULT_MAX_HEADERS;
}

/* The head limit, capped so a head length always fits the int result. */
static size_t head_limit(const struct cg_h1_limits *lim)
{
	return lim->max_head_bytes < (size_t)INT_MAX ? lim->max_head_bytes : (size_t)INT_MAX;
}

int cg_h1_parse_request(const char *buf, size_t len, size_t prev_len, struct cg_h1_request *req,
			struct cg_h1_header *hdrs, size_t hdr_cap, const struct cg_h1_limits *lim)
{
	struct cg_h1_limits dl;
	if (!lim) {
		cg_h1_limits_default(&dl);
		lim = &dl;
	}
	memset(req, 0, sizeof(*req));
	req->headers = hdrs;
	size_t max_head = head_limit(lim);
	if (len == 0)
		return CG_H1_INCOMPLETE;
	if (!need_full_parse(buf, len, prev_len, max_head))
		return CG_H1_INCOMPLETE;
	size_t cap = hdr_cap < lim->max_headers ? hdr_cap : lim->max_headers;
	size_t end = len < max_head ? len : max_head;
	struct h1_err e = { 0, NULL };
	int r = parse_request_head(buf, end, req, hdrs, cap, lim, &e);
	if (r == CG_H1_INCOMPLETE && len > max_head) {
		e.status = 431;
		e.reason = "request head too large";
		r = CG_H1_ERROR;
	}
	if (r == CG_H1_ERROR) {
		req->error_status = e.status;
		req->error_reason = e.reason;
	}
	return r;
}

static int parse_response_head(const char *buf, size_t end, struct cg_h1_response *resp,
			       struct cg_h1_header *hdrs, size_t cap,
			       const struct cg_h1_limits *lim, struct cg_str method,
			       struct h1_err *e)
{
	size_t avail = end;
	if (end == 0)
		return CG_H1_INCOMPLETE;
	if (!version_prefix_ok(buf, avail))
		H1_ERR(e, 502, "malformed status line");
	if (avail < 9)
		return CG_H1_INCOMPLETE;
	if (buf[8] != ' ')
		H1_ERR(e, 502, "malformed status line");
	if (buf[5] != '1' || buf[7] > '1')
		H1_ERR(e, 502, "unsupported HTTP version");
	resp->minor_version = buf[7] - '0';
	int status = 0;
	for (size_t i = 9; i < 12; i++) {
		if (i >= end)
			return CG_H1_INCOMPLETE;
		if (buf[i] < '0' || buf[i] > '9')
			H1_ERR(e, 502, "malformed status code");
		status = status * 10 + (buf[i] - '0');
	}
	if (status < 100 || status > 599)
		H1_ERR(e, 502, "status code out of range");
	resp->status = status;
	if (end < 13)
		return CG_H1_INCOMPLETE;
	size_t pos = 12, rs = 12;
	/* "HTTP/1.1 200\r\n" (no SP) is common enough; an empty reason either way. */
	if (buf[12] == ' ') {
		size_t llim = lim->max_line_bytes < end ? lim->max_line_bytes : end;
		rs = 13;
		pos = scan_value(buf, rs, llim > rs ? llim : rs);
		if (pos == end)
			return CG_H1_INCOMPLETE;
		if (buf[pos] != '\r') {
			if (pos >= lim->max_line_bytes)
				H1_ERR(e, 502, "status line too long");
			if (buf[pos] == '\n')
				H1_ERR(e, 502, "bare LF as line end");
			H1_ERR(e, 502, "control character in reason phrase");
		}
	} else if (buf[12] != '\r') {
		H1_ERR(e, 502, buf[12] == '\n' ? "bare LF as line end" : "malformed status code");
	}
	if (pos + 1 >= end)
		return CG_H1_INCOMPLETE;
	if (buf[pos + 1] != '\n')
		H1_ERR(e, 502, "bare CR in status line");
	resp->reason = cg_str_make(buf + rs, pos - rs);
	pos += 2;

	struct h1_seen seen = { 0 };
	int r = parse_fields(buf, pos, end, hdrs, cap, &resp->num_headers, lim->max_line_bytes,
			     &seen, e);
	if (r < 0)
		return r;
	if (judge_framing(&seen, resp->minor_version, e) != 0)
		return CG_H1_ERROR;
	resp->content_length = seen.cl;
	if (cg_str_eq_lit(method, "HEAD") || status < 200 || status == 204 || status == 304 ||
	    (status < 300 && cg_str_eq_lit(method, "CONNECT"))) {
		resp->body_kind = CG_H1_BODY_NONE;
	} else if (seen.te_count) {
		resp->body_kind = CG_H1_BODY_CHUNKED;
	} else if (seen.cl_count) {
		resp->body_kind = seen.cl ? CG_H1_BODY_LENGTH : CG_H1_BODY_NONE;
	} else {
		resp->body_kind = CG_H1_BODY_CLOSE;
	}
	resp->keep_alive = !seen.conn_close &&
			   (resp->minor_version == 1 || seen.conn_keep_alive) &&
			   resp->body_kind != CG_H1_BODY_CLOSE;
	return r;
}

int cg_h1_parse_response(const char *buf, size_t len, size_t prev_len, struct cg_h1_response *resp,
			 struct cg_h1_header *hdrs, size_t hdr_cap, const struct cg_h1_limits *lim,
			 struct cg_str request_method)
{
	struct cg_h1_limits dl;
	if (!lim) {
		cg_h1_limits_default(&dl);
		lim = &dl;
	}
	memset(resp, 0, sizeof(*resp));
	resp->headers = hdrs;
	size_t max_head = head_limit(lim);
	if (len == 0)
		return CG_H1_INCOMPLETE;
	if (!need_full_parse(buf, len, prev_len, max_head))
		return CG_H1_INCOMPLETE;
	size_t cap = hdr_cap < lim->max_headers ? hdr_cap : lim->max_headers;
	size_t end = len < max_head ? len : max_head;
	struct h1_err e = { 0, NULL };
	int r = parse_response_head(buf, end, resp, hdrs, cap, lim, request_method, &e);
	if (r == CG_H1_INCOMPLETE && len > max_head) {
		e.reason = "response head too large";
		r = CG_H1_ERROR;
	}
	if (r == CG_H1_ERROR)
		resp->error_reason = e.reason;
	return r;
}
