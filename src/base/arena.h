/* Arenas: bump allocation in chunks, freed all at once.
 *
 * A snapshot, a connection and a request each own an arena; their objects
 * are never freed one by one. Cleanup hooks release foreign resources
 * (OpenSSL objects, fds) when the arena is reset or destroyed, newest first.
 * An arena belongs to one thread at a time. */
#ifndef CG_BASE_ARENA_H
#define CG_BASE_ARENA_H

#include <stddef.h>

#include "base/str.h"

struct cg_arena_chunk;
struct cg_arena_cleanup;

struct cg_arena {
	struct cg_arena_chunk *head; /* current chunk; older ones follow */
	struct cg_arena_cleanup *cleanups;
	size_t chunk_size;           /* bytes per ordinary chunk */
	size_t max_bytes;            /* hard cap on all chunks; 0 = no cap */
	size_t used_bytes;           /* bytes held in chunks, for the cap and stats */
};

typedef void (*cg_arena_cleanup_fn)(void *data);

/* chunk_size: bytes per chunk (a larger allocation gets a chunk of its own).
 * max_bytes: the arena refuses to grow past this (0 = unbounded). */
void cg_arena_init(struct cg_arena *a, size_t chunk_size, size_t max_bytes);

/* 16-byte aligned, uninitialised memory; NULL when out of memory or over the
 * cap. The caller must handle NULL (at request time: 503, never abort). */
void *cg_arena_alloc(struct cg_arena *a, size_t n);
void *cg_arena_zalloc(struct cg_arena *a, size_t n);

/* Copies into the arena and adds a NUL (for libc/OpenSSL). NULL on failure. */
char *cg_arena_strndup(struct cg_arena *a, const char *s, size_t n);
struct cg_str cg_arena_strdup_str(struct cg_arena *a, struct cg_str s);
/* printf into the arena; NULL on failure. */
char *cg_arena_printf(struct cg_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Registers fn(data) to run at reset/destroy. Returns 0, or -1 on OOM (then
 * fn has not been registered and the caller still owns data). */
int cg_arena_on_cleanup(struct cg_arena *a, cg_arena_cleanup_fn fn, void *data);

/* Runs cleanups and frees all but the first chunk, which is kept for reuse
 * (a keep-alive connection reuses its request arena without malloc). */
void cg_arena_reset(struct cg_arena *a);
/* Runs cleanups and frees everything. The arena may be init'ed again. */
void cg_arena_destroy(struct cg_arena *a);

#endif
