/* Chunked transfer coding decoder (RFC 9112 7.1), resumable and in place.
 *
 * Bytes can arrive split anywhere, so every position in the framing is a
 * state and one call consumes what it has. Payload is moved down over the
 * framing it replaced (memmove: the write point never passes the read
 * point), so no second buffer is needed. The framing lines are short and
 * walked byte by byte; chunk data is moved in one memmove per call. */
#include "http/h1.h"

#include <string.h>

#include "http/h1-chars.h"

/* Decoder states (struct cg_h1_chunked.state); 0 must be the start. */
enum {
	CK_SIZE = 0,   /* hex digits of a chunk-size; line_bytes = digits seen */
	CK_EXT,        /* after ';' up to CR; line_bytes = extension bytes */
	CK_SIZE_LF,    /* CR of the size line seen, LF expected */
	CK_DATA,       /* remaining payload bytes of this chunk */
	CK_DATA_CR,    /* CRLF after chunk data */
	CK_DATA_LF,
	CK_TRL_START,  /* start of a trailer line, or the final CRLF */
	CK_TRL_NAME,
	CK_TRL_VALUE,
	CK_TRL_LF,     /* CR of a trailer line seen */
	CK_END_LF,     /* CR of the final empty line seen */
	CK_DONE,
	CK_ERROR,
};

/* Most hex digits a chunk-size may have: 16 fill a uint64_t, so no
 * overflow check is needed beyond counting them. */
#define CK_MAX_SIZE_DIGITS 16

void cg_h1_chunked_init(struct cg_h1_chunked *d)
{
	memset(d, 0, sizeof(*d));
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = cg_ascii_lower(c);
	return c - 'a' + 10;
}

long cg_h1_chunked_decode(struct cg_h1_chunked *d, char *buf, size_t *len)
{
	size_t n = *len, r = 0, w = 0;
	if (d->state == CK_ERROR) {
		*len = 0;
		return CG_H1_ERROR;
	}
	if (d->state == CK_DONE) {
		/* Everything is after the body: hand it all back. */
		*len = 0;
		return (long)n;
	}
#define CK_FAIL(why)                                                                               \
	do {                                                                                       \
		d->state = CK_ERROR;                                                               \
		d->error_reason = (why);                                                           \
		*len = 0;                                                                          \
		return CG_H1_ERROR;                                                                \
	} while (0)
	while (r < n && d->state != CK_DONE) {
		if (d->state == CK_DATA) {
			size_t take = n - r;
			if ((uint64_t)take > d->remaining)
				take = (size_t)d->remaining;
			if (w != r)
				memmove(buf + w, buf + r, take);
			w += take;
			r += take;
			d->remaining -= take;
			d->total += take;
			if (d->remaining == 0)
				d->state = CK_DATA_CR;
			continue;
		}
		unsigned char c = (unsigned char)buf[r++];
		if (d->state >= CK_TRL_START && ++d->trailer_bytes > CG_H1_MAX_TRAILER_BYTES)
			CK_FAIL("trailer section too long");
		switch (d->state) {
		case CK_SIZE:
			if (CG_H1C(c, CG_H1C_HEX)) {
				if (d->line_bytes == CK_MAX_SIZE_DIGITS)
					CK_FAIL("chunk size over 16 hex digits");
				d->remaining = d->remaining << 4 | (uint64_t)hexval(c);
				d->line_bytes++;
			} else if (d->line_bytes == 0) {
				CK_FAIL("chunk size is not hex");
			} else if (c == ';') {
				d->state = CK_EXT;
				d->line_bytes = 1;
			} else if (c == '\r') {
				d->state = CK_SIZE_LF;
			} else if (c == '\n') {
				CK_FAIL("bare LF in chunk size line");
			} else {
				/* Strict: no BWS before ';', no trailing space. */
				CK_FAIL("invalid character after chunk size");
			}
			break;
		case CK_EXT:
			if (c == '\r') {
				d->state = CK_SIZE_LF;
			} else if (!CG_H1C(c, CG_H1C_VALUE)) {
				CK_FAIL(c == '\n' ? "bare LF in chunk size line"
						  : "control character in chunk extension");
			} else if (++d->line_bytes > CG_H1_MAX_CHUNK_EXT_BYTES) {
				CK_FAIL("chunk extension too long");
			}
			break;
		case CK_SIZE_LF:
			if (c != '\n')
				CK_FAIL("bare CR in chunk size line");
			d->line_bytes = 0;
			d->state = d->remaining ? CK_DATA : CK_TRL_START;
			break;
		case CK_DATA_CR:
			if (c != '\r')
				CK_FAIL("missing CRLF after chunk data");
			d->state = CK_DATA_LF;
			break;
		case CK_DATA_LF:
			if (c != '\n')
				CK_FAIL("missing CRLF after chunk data");
			d->state = CK_SIZE;
			break;
		case CK_TRL_START:
			if (c == '\r') {
				d->state = CK_END_LF;
			} else if (CG_H1C(c, CG_H1C_TCHAR)) {
				d->state = CK_TRL_NAME;
			} else if (c == ' ' || c == '\t') {
				CK_FAIL("obs-fold in trailer section");
			} else if (c == '\n') {
				CK_FAIL("bare LF in trailer section");
			} else {
				CK_FAIL(c == ':' ? "empty trailer name" : "invalid character in trailer name");
			}
			break;
		case CK_TRL_NAME:
			if (c == ':')
				d->state = CK_TRL_VALUE;
			else if (c == ' ' || c == '\t')
				CK_FAIL("whitespace between trailer name and colon");
			else if (!CG_H1C(c, CG_H1C_TCHAR))
				CK_FAIL("invalid character in trailer name");
			break;
		case CK_TRL_VALUE:
			if (c == '\r')
				d->state = CK_TRL_LF;
			else if (c == '\n')
				CK_FAIL("bare LF in trailer section");
			else if (!CG_H1C(c, CG_H1C_VALUE))
				CK_FAIL("control character in trailer value");
			break;
		case CK_TRL_LF:
			if (c != '\n')
				CK_FAIL("bare CR in trailer section");
			d->state = CK_TRL_START;
			break;
		case CK_END_LF:
			if (c != '\n')
				CK_FAIL("bare CR in trailer section");
			d->state = CK_DONE;
			break;
		default:
			CK_FAIL("decoder state corrupt");
		}
	}
#undef CK_FAIL
	*len = w;
	if (d->state != CK_DONE)
		return CG_H1_INCOMPLETE;
	size_t rest = n - r;
	if (rest && w != r)
		memmove(buf + w, buf + r, rest);
	return (long)rest;
}
