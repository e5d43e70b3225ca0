/* Helpers shared by the HTTP/1.1 parser tests (not a test itself). */
#ifndef CG_TEST_H1_TEST_H
#define CG_TEST_H1_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/h1.h"

/* A byte string that may hold NULs: { bytes, length }. */
struct t_bytes {
	const char *p;
	size_t n;
};
#define TB(lit) { (lit), sizeof(lit) - 1 }

/* Headers array big enough for every test (above the default limit). */
#define T_HDR_CAP 256

/* Compares a slice with a C string and prints both on failure. */
static inline void t_assert_str(struct cg_str got, const char *want, const char *what)
{
	size_t wl = strlen(want);
	if (got.len != wl || (wl && memcmp(got.ptr, want, wl) != 0)) {
		print_error("%s: got \"%.*s\", want \"%s\"\n", what, CG_STR_FMT(got), want);
		fail();
	}
}

/* A heap copy with no slack, so ASan catches any read past the end. */
static inline char *t_dup(const char *p, size_t n)
{
	char *c = malloc(n ? n : 1);
	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

#endif
