/* Length-delimited string slices: the currency of protocol and policy text.
 *
 * A cg_str never owns its bytes; the bytes live in an arena, a connection
 * buffer or static storage, and the slice is valid only as long as they are.
 * Slices are passed by value. NUL-terminated copies are made only at the
 * libc/OpenSSL boundary, and the code doing it says so. */
#ifndef CG_BASE_STR_H
#define CG_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cg_str {
	const char *ptr;
	size_t len;
};

/* A slice over a string literal, computed at compile time. */
/* lit must be a string literal: "" lit does not compile otherwise (a char *
 * here would silently measure sizeof(pointer) - 1 bytes). */
#define CG_STR(lit) ((struct cg_str){ ("" lit), sizeof("" lit) - 1 })
#define CG_STR_NULL ((struct cg_str){ NULL, 0 })
/* printf("%.*s", CG_STR_FMT(s)) */
#define CG_STR_FMT(s) (int)(s).len, (s).ptr

static inline struct cg_str cg_str_make(const char *p, size_t n)
{
	return (struct cg_str){ p, n };
}

static inline struct cg_str cg_str_from_c(const char *s)
{
	return (struct cg_str){ s, s ? strlen(s) : 0 };
}

static inline bool cg_str_eq(struct cg_str a, struct cg_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Bytewise order (SQLite's BINARY collation, PostgreSQL's "C"): <0, 0, >0. */
static inline int cg_str_cmp(struct cg_str a, struct cg_str b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
	return c ? c : (a.len > b.len) - (a.len < b.len);
}

static inline unsigned char cg_ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ASCII case-insensitive equality (header names, tokens); never locale-aware. */
static inline bool cg_str_ieq(struct cg_str a, struct cg_str b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (cg_ascii_lower((unsigned char)a.ptr[i]) != cg_ascii_lower((unsigned char)b.ptr[i]))
			return false;
	return true;
}

#define cg_str_eq_lit(s, lit) cg_str_eq((s), CG_STR(lit))
#define cg_str_ieq_lit(s, lit) cg_str_ieq((s), CG_STR(lit))

static inline bool cg_str_has_prefix(struct cg_str s, struct cg_str p)
{
	return s.len >= p.len && memcmp(s.ptr, p.ptr, p.len) == 0;
}

static inline struct cg_str cg_str_sub(struct cg_str s, size_t off, size_t n)
{
	if (off > s.len)
		off = s.len;
	if (n > s.len - off)
		n = s.len - off;
	return (struct cg_str){ s.ptr + off, n };
}

/* Strips optional whitespace (SP, HTAB) at both ends, as HTTP field values need. */
static inline struct cg_str cg_str_trim_ows(struct cg_str s)
{
	while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
		s.ptr++;
		s.len--;
	}
	while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
		s.len--;
	return s;
}

/* Strips XML text whitespace (SP, HTAB, CR, LF) at both ends: the text
 * of policy elements such as <origin> or <method>. */
static inline struct cg_str cg_str_trim_space(struct cg_str s)
{
	while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t' || s.ptr[0] == '\r' || s.ptr[0] == '\n')) {
		s.ptr++;
		s.len--;
	}
	while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t' || s.ptr[s.len - 1] == '\r' ||
			 s.ptr[s.len - 1] == '\n'))
		s.len--;
	return s;
}

/* Index of the first c in s, or -1. */
static inline long cg_str_find_char(struct cg_str s, char c)
{
	const char *p = s.len ? memchr(s.ptr, c, s.len) : NULL;
	return p ? (long)(p - s.ptr) : -1;
}

/* Parses an unsigned decimal with no sign, no spaces and no overflow.
 * Returns false for empty input, any non-digit, or a value above max. */
bool cg_str_to_u64(struct cg_str s, uint64_t max, uint64_t *out);

/* Next element of a comma-separated list (HTTP #rule): skips empty elements
 * and OWS. *rest is advanced. Returns false when the list is exhausted. */
bool cg_str_next_csv(struct cg_str *rest, struct cg_str *elem);

/* Decodes base64 (url: the base64url alphabet "-_" instead of "+/") into
 * out, which holds at least in.len * 3 / 4 + 3 bytes. Padding '=' is
 * optional but only at the end (at most two); no whitespace. Returns the
 * number of bytes, or -1 for any other character or a dangling 6 bits. */
long cg_b64_decode(struct cg_str in, bool url, unsigned char *out);

/* .NET's Convert.FromBase64String: the standard alphabet, with blanks
 * (space, tab, CR, LF) anywhere ignored, as a key wrapped over several lines
 * of a policy document has them. tmp holds in.len bytes, out as above. */
long cg_b64_decode_blanks(struct cg_str in, char *tmp, unsigned char *out);

#endif
