/* Byte buffers with a hard cap (curl's dynbuf idea): every buffer that grows
 * from network input has a maximum set at init, and growth past it fails. */
#ifndef CG_BASE_BUF_H
#define CG_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

struct cg_buf {
	char *data;
	size_t len; /* bytes held */
	size_t cap; /* bytes allocated */
	size_t max; /* growth never goes past this many bytes */
};

void cg_buf_init(struct cg_buf *b, size_t max);
void cg_buf_free(struct cg_buf *b);

/* Ensures at least n free bytes after len. Returns 0, or -1 when that would
 * pass the cap or memory is short (the buffer is unchanged then). */
int cg_buf_reserve(struct cg_buf *b, size_t n) __attribute__((warn_unused_result));
int cg_buf_append(struct cg_buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
int cg_buf_append_str(struct cg_buf *b, struct cg_str s) __attribute__((warn_unused_result));
/* Appends v in decimal (no printf: response heads are built per request). */
int cg_buf_append_u64(struct cg_buf *b, uint64_t v) __attribute__((warn_unused_result));
int cg_buf_printf(struct cg_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));

/* Drops the first n bytes (n <= len), moving the rest to the front. */
void cg_buf_consume(struct cg_buf *b, size_t n);

static inline struct cg_str cg_buf_str(const struct cg_buf *b)
{
	return cg_str_make(b->data, b->len);
}

#endif
