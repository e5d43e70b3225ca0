/* The built-in value cache (src/gw/cache.c): values of every stored type
 * come back equal, expiry on an injected clock, eviction at the entry and
 * byte bounds, refusals that leave the cache as it was, and threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "gw/cache.h"

static struct cg_arena arena;

static void limits(uint64_t max_bytes, uint64_t max_entries, uint64_t max_entry_bytes, unsigned shards)
{
	struct cg_cache_limits l = { max_bytes, max_entries, max_entry_bytes, shards };
	assert_int_equal(cg_cache_configure(&l), 0);
}

static int setup(void **state)
{
	(void)state;
	struct cg_cache_limits l;
	cg_cache_limits_default(&l);
	assert_int_equal(cg_cache_configure(&l), 0);
	cg_arena_init(&arena, 4096, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cg_arena_destroy(&arena);
	return 0;
}

static struct cg_expr_value str_value(const char *s)
{
	struct cg_expr_value v = { .kind = CG_EXPR_V_STRING };
	v.u.s = cg_str_from_c(s);
	return v;
}

static enum cg_cache_rc store_str(const char *key, const char *val, uint64_t ms, int64_t now)
{
	struct cg_expr_value v = str_value(val);
	return cg_cache_store(cg_str_from_c(key), &v, ms, now);
}

/* The string stored under key at now, or NULL on a miss. */
static const char *lookup_str(const char *key, int64_t now)
{
	struct cg_expr_value v;
	enum cg_cache_rc rc = cg_cache_lookup(cg_str_from_c(key), &arena, now, &v);
	if (rc == CG_CACHE_MISS)
		return NULL;
	assert_int_equal(rc, CG_CACHE_OK);
	assert_int_equal(v.kind, CG_EXPR_V_STRING);
	return cg_arena_strndup(&arena, v.u.s.ptr, v.u.s.len);
}

static void roundtrip(const struct cg_expr_value *in, struct cg_expr_value *out)
{
	assert_int_equal(cg_cache_store(CG_STR("k"), in, 1000, 0), CG_CACHE_OK);
	assert_int_equal(cg_cache_lookup(CG_STR("k"), &arena, 1, out), CG_CACHE_OK);
	assert_int_equal(out->kind, in->kind);
	assert_int_equal(out->cls, in->cls);
	assert_int_equal(out->dtkind, in->dtkind);
}

static void t_types(void **state)
{
	(void)state;
	struct cg_expr_value in, out;
	memset(&in, 0, sizeof(in));
	in.kind = CG_EXPR_V_INT;
	in.u.i = -42;
	roundtrip(&in, &out);
	assert_int_equal(out.u.i, -42);
	in.kind = CG_EXPR_V_LONG;
	in.u.l = 1LL << 40;
	roundtrip(&in, &out);
	assert_true(out.u.l == 1LL << 40);
	in.kind = CG_EXPR_V_BOOL;
	in.u.b = true;
	roundtrip(&in, &out);
	assert_true(out.u.b);
	in.kind = CG_EXPR_V_DOUBLE;
	in.u.d = 2.5;
	roundtrip(&in, &out);
	assert_true(out.u.d == 2.5);
	in.kind = CG_EXPR_V_DATETIME;
	in.dtkind = CG_EXPR_DT_UTC;
	in.u.ticks = 638000000000000000LL;
	roundtrip(&in, &out);
	assert_true(out.u.ticks == 638000000000000000LL);
	in.dtkind = 0;
	in.kind = CG_EXPR_V_GUID;
	for (int i = 0; i < 16; i++)
		in.u.guid[i] = (uint8_t)(i * 7);
	roundtrip(&in, &out);
	assert_memory_equal(out.u.guid, in.u.guid, 16);
	in.kind = CG_EXPR_V_BYTES;
	in.u.s = cg_str_make("\0\1\2", 3);
	roundtrip(&in, &out);
	assert_int_equal(out.u.s.len, 3);
	assert_memory_equal(out.u.s.ptr, "\0\1\2", 3);
}

static void t_array_and_json(void **state)
{
	(void)state;
	struct cg_expr_array *a = malloc(sizeof(*a) + 3 * sizeof(a->items[0]));
	a->n = 3;
	a->items[0] = str_value("x");
	memset(&a->items[1], 0, sizeof(a->items[1])); /* null element */
	a->items[2] = str_value("zz");
	struct cg_expr_value in = { .kind = CG_EXPR_V_ARRAY, .cls = CG_EXPR_T_STRING }, out;
	in.u.arr = a;
	roundtrip(&in, &out);
	assert_int_equal(out.u.arr->n, 3);
	assert_int_equal(out.u.arr->items[1].kind, CG_EXPR_V_NULL);
	assert_true(cg_str_eq_lit(out.u.arr->items[2].u.s, "zz"));
	free(a);

	json_t *j = json_loads("{\"sub\":\"a\",\"n\":[1,2.5,true,null]}", 0, NULL);
	struct cg_expr_value jv = { .kind = CG_EXPR_V_OBJ, .cls = CG_EXPR_T_JTOKEN };
	jv.u.obj = j;
	roundtrip(&jv, &out);
	json_decref(j); /* the cache holds a copy */
	assert_ptr_not_equal(out.u.obj, j);
	char *text = json_dumps(out.u.obj, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"n\":[1,2.5,true,null],\"sub\":\"a\"}");
	free(text);
}

static void t_refusals_keep_state(void **state)
{
	(void)state;
	limits(64 * 1024, 64, 1024, 1);
	assert_int_equal(store_str("k", "old", 1000, 0), CG_CACHE_OK);
	char big[2000];
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(store_str("k", big, 1000, 0), CG_CACHE_TOO_LARGE);
	struct cg_expr_value null_v = { .kind = CG_EXPR_V_NULL };
	assert_int_equal(cg_cache_store(CG_STR("k"), &null_v, 1000, 0), CG_CACHE_UNSUPPORTED);
	struct cg_expr_value obj = { .kind = CG_EXPR_V_OBJ, .cls = CG_EXPR_T_REGEX };
	obj.u.obj = &obj;
	assert_int_equal(cg_cache_store(CG_STR("k"), &obj, 1000, 0), CG_CACHE_UNSUPPORTED);
	assert_string_equal(lookup_str("k", 1), "old");
	struct cg_cache_stats s;
	cg_cache_stats(&s);
	assert_int_equal(s.entries, 1);
	assert_int_equal(s.refused, 3);
	assert_int_equal(s.stores, 1);
	/* limits that cannot work are refused and the cache stays */
	struct cg_cache_limits bad = { 1000, 64, 1024, 1 };
	assert_int_equal(cg_cache_configure(&bad), -1);
	struct cg_cache_limits odd = { 64 * 1024, 64, 1024, 3 };
	assert_int_equal(cg_cache_configure(&odd), -1);
	assert_string_equal(lookup_str("k", 2), "old");
}

static void t_expiry(void **state)
{
	(void)state;
	assert_int_equal(store_str("a", "1", 5000, 1000), CG_CACHE_OK);
	assert_string_equal(lookup_str("a", 5999), "1");
	assert_null(lookup_str("a", 6000));
	struct cg_cache_stats s;
	cg_cache_stats(&s);
	assert_int_equal(s.entries, 0);
	assert_int_equal(s.expired, 1);
	assert_int_equal(s.hits, 1);
	assert_int_equal(s.misses, 1);
	/* sweep frees what nobody looks up */
	assert_int_equal(store_str("b", "2", 100, 0), CG_CACHE_OK);
	assert_int_equal(store_str("c", "3", 100, 0), CG_CACHE_OK);
	assert_int_equal(store_str("d", "4", 1000, 0), CG_CACHE_OK);
	cg_cache_sweep(500);
	cg_cache_stats(&s);
	assert_int_equal(s.entries, 1);
	assert_int_equal(s.expired, 3);
	assert_string_equal(lookup_str("d", 500), "4");
}

static void t_replace_and_remove(void **state)
{
	(void)state;
	assert_int_equal(store_str("k", "v1", 1000, 0), CG_CACHE_OK);
	assert_int_equal(store_str("k", "v2", 1000, 0), CG_CACHE_OK);
	assert_string_equal(lookup_str("k", 1), "v2");
	struct cg_cache_stats s;
	cg_cache_stats(&s);
	assert_int_equal(s.entries, 1);
	assert_true(cg_cache_remove(CG_STR("k")));
	assert_false(cg_cache_remove(CG_STR("k")));
	assert_null(lookup_str("k", 1));
	cg_cache_stats(&s);
	assert_int_equal(s.entries, 0);
	assert_int_equal(s.bytes, 0);
}

static void t_evict_entries_lru(void **state)
{
	(void)state;
	limits(64 * 1024, 3, 1024, 1);
	assert_int_equal(store_str("a", "A", 10000, 0), CG_CACHE_OK);
	assert_int_equal(store_str("b", "B", 10000, 0), CG_CACHE_OK);
	assert_int_equal(store_str("c", "C", 10000, 0), CG_CACHE_OK);
	assert_string_equal(lookup_str("a", 1), "A"); /* b is now the least recently used */
	assert_int_equal(store_str("d", "D", 10000, 2), CG_CACHE_OK);
	assert_null(lookup_str("b", 3));
	assert_string_equal(lookup_str("a", 3), "A");
	assert_string_equal(lookup_str("c", 3), "C");
	assert_string_equal(lookup_str("d", 3), "D");
	struct cg_cache_stats s;
	cg_cache_stats(&s);
	assert_int_equal(s.entries, 3);
	assert_int_equal(s.evictions, 1);
	/* an expired entry goes before a live one */
	limits(64 * 1024, 2, 1024, 1);
	assert_int_equal(store_str("short", "S", 10, 0), CG_CACHE_OK);
	assert_int_equal(store_str("long", "L", 10000, 0), CG_CACHE_OK);
	assert_string_equal(lookup_str("short", 1), "S"); /* the most recently used, but expired at 10 */
	assert_int_equal(store_str("new", "N", 10000, 2000), CG_CACHE_OK);
	assert_string_equal(lookup_str("long", 2001), "L");
	cg_cache_stats(&s);
	assert_int_equal(s.evictions, 0);
	assert_int_equal(s.expired, 1);
}

static void t_evict_bytes(void **state)
{
	(void)state;
	limits(4096, 1000, 1024, 1);
	char val[800], key[8];
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(store_str(key, val, 10000, i), CG_CACHE_OK);
		struct cg_cache_stats s;
		cg_cache_stats(&s);
		assert_true(s.bytes <= 4096);
	}
	struct cg_cache_stats s;
	cg_cache_stats(&s);
	assert_in_range(s.entries, 4, 5);
	assert_int_equal(s.evictions, 10 - s.entries);
	assert_null(lookup_str("k0", 20));
	assert_non_null(lookup_str("k9", 20));
}

/* Threads storing, reading and removing overlapping keys under a small
 * bound: every hit must be the value stored under that key. */
#define THREADS 4
#define OPS 20000

static void *hammer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	struct cg_arena a;
	cg_arena_init(&a, 4096, 0);
	long bad = 0;
	for (int i = 0; i < OPS; i++) {
		char key[16], val[32];
		int k = (int)(rand_r(&seed) % 1000);
		snprintf(key, sizeof(key), "key%d", k);
		snprintf(val, sizeof(val), "value-of-%d", k);
		int op = (int)(rand_r(&seed) % 4);
		if (op == 0) {
			struct cg_expr_value v = str_value(val);
			bad += cg_cache_store(cg_str_from_c(key), &v, 60000, i) != CG_CACHE_OK;
		} else if (op == 3) {
			cg_cache_remove(cg_str_from_c(key));
		} else {
			struct cg_expr_value v;
			enum cg_cache_rc rc = cg_cache_lookup(cg_str_from_c(key), &a, i, &v);
			if (rc == CG_CACHE_OK)
				bad += v.kind != CG_EXPR_V_STRING || !cg_str_eq(v.u.s, cg_str_from_c(val));
			else
				bad += rc != CG_CACHE_MISS;
		}
		if (i % 256 == 0)
			cg_arena_reset(&a);
	}
	cg_arena_destroy(&a);
	return (void *)bad;
}

static void t_threads(void **state)
{
	(void)state;
	limits(32 * 1024, 128, 1024, 4);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)(i + 1)), 0);
	long bad = 0;
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	assert_int_equal(bad, 0);
	struct cg_cache_stats s;
	cg_cache_stats(&s);
	assert_true(s.entries <= 128);
	assert_true(s.bytes <= 32 * 1024);
	assert_true(s.evictions > 0);
	assert_true(s.hits > 0);
	cg_cache_sweep(1000000000);
	cg_cache_stats(&s);
	assert_int_equal(s.entries, 0);
	assert_int_equal(s.bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_types, setup, teardown),
		cmocka_unit_test_setup_teardown(t_array_and_json, setup, teardown),
		cmocka_unit_test_setup_teardown(t_refusals_keep_state, setup, teardown),
		cmocka_unit_test_setup_teardown(t_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(t_replace_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(t_evict_entries_lru, setup, teardown),
		cmocka_unit_test_setup_teardown(t_evict_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(t_threads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
