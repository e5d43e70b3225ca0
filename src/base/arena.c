#include "base/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CG_ARENA_ALIGN 16

struct cg_arena_chunk {
	struct cg_arena_chunk *next;
	size_t size; /* usable bytes in data */
	size_t used;
	_Alignas(CG_ARENA_ALIGN) unsigned char data[];
};

struct cg_arena_cleanup {
	struct cg_arena_cleanup *next;
	cg_arena_cleanup_fn fn;
	void *data;
};

void cg_arena_init(struct cg_arena *a, size_t chunk_size, size_t max_bytes)
{
	a->head = NULL;
	a->cleanups = NULL;
	a->chunk_size = chunk_size < 256 ? 256 : chunk_size;
	a->max_bytes = max_bytes;
	a->used_bytes = 0;
}

static struct cg_arena_chunk *new_chunk(struct cg_arena *a, size_t size)
{
	if (a->max_bytes && (size > a->max_bytes || a->used_bytes > a->max_bytes - size))
		return NULL;
	struct cg_arena_chunk *c = malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	c->size = size;
	c->used = 0;
	a->used_bytes += size;
	return c;
}

void *cg_arena_alloc(struct cg_arena *a, size_t n)
{
	size_t need = (n + CG_ARENA_ALIGN - 1) & ~(size_t)(CG_ARENA_ALIGN - 1);
	if (need < n)
		return NULL; /* overflow */
	struct cg_arena_chunk *c = a->head;
	if (c && c->size - c->used >= need) {
		void *p = c->data + c->used;
		c->used += need;
		return p;
	}
	if (need > a->chunk_size / 4) {
		/* Big objects get their own chunk, placed behind the current one
		 * so the current chunk's free space is not wasted. */
		struct cg_arena_chunk *big = new_chunk(a, need);
		if (!big)
			return NULL;
		big->used = need;
		if (c) {
			big->next = c->next;
			c->next = big;
		} else {
			big->next = NULL;
			a->head = big;
		}
		return big->data;
	}
	struct cg_arena_chunk *nc = new_chunk(a, a->chunk_size);
	if (!nc)
		return NULL;
	nc->next = c;
	a->head = nc;
	nc->used = need;
	return nc->data;
}

void *cg_arena_zalloc(struct cg_arena *a, size_t n)
{
	void *p = cg_arena_alloc(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

char *cg_arena_strndup(struct cg_arena *a, const char *s, size_t n)
{
	char *p = cg_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

struct cg_str cg_arena_strdup_str(struct cg_arena *a, struct cg_str s)
{
	char *p = cg_arena_strndup(a, s.ptr, s.len);
	return p ? cg_str_make(p, s.len) : CG_STR_NULL;
}

char *cg_arena_printf(struct cg_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = cg_arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

int cg_arena_on_cleanup(struct cg_arena *a, cg_arena_cleanup_fn fn, void *data)
{
	struct cg_arena_cleanup *c = cg_arena_alloc(a, sizeof(*c));
	if (!c)
		return -1;
	c->fn = fn;
	c->data = data;
	c->next = a->cleanups;
	a->cleanups = c;
	return 0;
}

static void run_cleanups(struct cg_arena *a)
{
	/* A cleanup may allocate nothing from this arena; take the list first. */
	struct cg_arena_cleanup *c = a->cleanups;
	a->cleanups = NULL;
	for (; c; c = c->next)
		c->fn(c->data);
}

void cg_arena_reset(struct cg_arena *a)
{
	run_cleanups(a);
	struct cg_arena_chunk *keep = NULL, *c = a->head;
	while (c) {
		struct cg_arena_chunk *next = c->next;
		/* Keep one ordinary-sized chunk (the oldest one seen last wins). */
		if (c->size == a->chunk_size && !keep) {
			keep = c;
		} else {
			a->used_bytes -= c->size;
			free(c);
		}
		c = next;
	}
	if (keep) {
		keep->next = NULL;
		keep->used = 0;
	}
	a->head = keep;
}

void cg_arena_destroy(struct cg_arena *a)
{
	run_cleanups(a);
	struct cg_arena_chunk *c = a->head;
	while (c) {
		struct cg_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->used_bytes = 0;
}
