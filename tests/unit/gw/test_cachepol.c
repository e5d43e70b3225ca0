/* The value cache policies in the pipeline (src/gw/cachepol.c): a miss
 * with and without default-value, values keep their type from one request
 * to the next, remove, and every run-time refusal with its LastError. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expr/ctx.h"
#include "gw/cache.h"
#include "gw/pipeline.h"
#include "gw/snapshot.h"
#include "tls/tls.h"

#include "gw/pipe_helpers.h"

static int reset_cache(void **state)
{
	(void)state;
	struct cg_cache_limits l;
	cg_cache_limits_default(&l);
	assert_int_equal(cg_cache_configure(&l), 0);
	return 0;
}

/* The snapshot of the request being checked (variables may point into it). */
static struct cg_snapshot *snap;

/* Runs inbound over a fresh snapshot of the given inbound policies. */
static void run_inbound(struct run *r, const char *inbound)
{
	snap = build_ok(inbound);
	prepare(r, snap->apis[0]->pipeline, NULL);
	r->rc = cg_pipe_run(&r->p, CG_POL_INBOUND);
}

static const struct cg_expr_value *var(struct run *r, const char *name)
{
	return cg_expr_vars_get(&r->p.vars, cg_str_from_c(name));
}

static void done(struct run *r)
{
	cg_arena_destroy(&r->arena);
	cg_snapshot_unref(snap);
	snap = NULL;
}

static void test_miss(void **state)
{
	(void)state;
	struct run r;
	run_inbound(&r, "<cache-lookup-value key=\"nothing\" variable-name=\"v\"/>");
	assert_int_equal(r.rc, CG_PIPE_CONTINUE);
	assert_null(var(&r, "v")); /* not set (APIM) */
	done(&r);
	/* a variable set before keeps its value on a miss */
	run_inbound(&r, "<set-variable name=\"v\" value=\"old\"/><cache-lookup-value key=\"nothing\" variable-name=\"v\"/>");
	assert_true(cg_str_eq_lit(var(&r, "v")->u.s, "old"));
	done(&r);
	run_inbound(&r, "<cache-lookup-value key=\"nothing\" variable-name=\"v\" default-value=\"none\"/>");
	assert_int_equal(var(&r, "v")->kind, CG_EXPR_V_STRING);
	assert_true(cg_str_eq_lit(var(&r, "v")->u.s, "none"));
	done(&r);
	run_inbound(&r, "<cache-lookup-value key=\"nothing\" variable-name=\"v\" default-value=\"@(7)\"/>");
	assert_int_equal(var(&r, "v")->kind, CG_EXPR_V_INT);
	assert_int_equal(var(&r, "v")->u.i, 7);
	done(&r);
	struct cg_cache_stats cs;
	cg_cache_stats(&cs);
	assert_int_equal(cs.misses, 4);
}

static void test_store_lookup_remove(void **state)
{
	(void)state;
	struct run r;
	run_inbound(&r, "<cache-store-value key=\"@(\"u-\" + context.Request.Headers.GetValueOrDefault(\"X-Key\", \"\"))\" "
			"value=\"@(40 + 2)\" duration=\"@(60)\"/>"
			"<cache-store-value key=\"s\" value=\"literal\" duration=\"60\" caching-type=\"prefer-external\"/>");
	assert_int_equal(r.rc, CG_PIPE_CONTINUE);
	done(&r);
	/* the next request (another snapshot) sees both, with their types */
	run_inbound(&r, "<cache-lookup-value key=\"u-secret\" variable-name=\"n\" default-value=\"miss\"/>"
			"<cache-lookup-value key=\"s\" variable-name=\"s\" caching-type=\"internal\"/>"
			"<set-variable name=\"sum\" value=\"@((int)context.Variables[\"n\"] + 1)\"/>");
	assert_int_equal(r.rc, CG_PIPE_CONTINUE);
	assert_int_equal(var(&r, "n")->kind, CG_EXPR_V_INT);
	assert_int_equal(var(&r, "sum")->u.i, 43);
	assert_true(cg_str_eq_lit(var(&r, "s")->u.s, "literal"));
	done(&r);
	run_inbound(&r, "<cache-remove-value key=\"@(\"u-secret\")\" fail-on-cache-removal-error=\"true\"/>"
			"<cache-lookup-value key=\"u-secret\" variable-name=\"n\"/>");
	assert_int_equal(r.rc, CG_PIPE_CONTINUE);
	assert_null(var(&r, "n"));
	done(&r);
	struct cg_cache_stats cs;
	cg_cache_stats(&cs);
	assert_int_equal(cs.entries, 1);
	assert_int_equal(cs.hits, 2);
}

static void expect_error(const char *inbound, const char *message)
{
	struct run r;
	run_inbound(&r, inbound);
	assert_int_equal(r.rc, CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 500);
	assert_true(cg_str_eq_lit(r.p.errv.reason, "PolicyValueInvalid"));
	if (!cg_str_eq(r.p.errv.message, cg_str_from_c(message)))
		fail_msg("message: %.*s", CG_STR_FMT(r.p.errv.message));
	done(&r);
}

static void test_refusals(void **state)
{
	(void)state;
	expect_error("<cache-store-value key=\"@(\"\")\" value=\"v\" duration=\"1\"/>", "Cache key must not be null or empty.");
	expect_error("<cache-lookup-value key=\"@((string)null)\" variable-name=\"v\"/>",
		     "Cache key must not be null or empty.");
	expect_error("<cache-remove-value key=\"@(\"\")\"/>", "Cache key must not be null or empty.");
	expect_error("<cache-store-value key=\"k\" value=\"@((string)null)\" duration=\"1\"/>",
		     "A null value cannot be stored in the cache.");
	expect_error("<cache-store-value key=\"k\" value=\"@(context.Request.Headers)\" duration=\"1\"/>",
		     "A value of type 'System.Collections.Generic.IReadOnlyDictionary`2[System.String,System.String[]]' "
		     "cannot be stored in the cache.");
	expect_error("<cache-store-value key=\"k\" value=\"v\" duration=\"@(0)\"/>",
		     "Value '0' of attribute 'duration' is not a number in [1, 2147483647].");
	struct cg_cache_stats cs;
	cg_cache_stats(&cs);
	assert_int_equal(cs.entries, 0);
	assert_int_equal(cs.refused, 2);
}

static void test_too_large_goes_on(void **state)
{
	(void)state;
	struct cg_cache_limits l = { 64 * 1024, 64, 256, 1 };
	assert_int_equal(cg_cache_configure(&l), 0);
	struct run r;
	run_inbound(&r, "<cache-store-value key=\"big\" value=\"@(\"\".PadLeft(1000, 'x'))\" duration=\"60\"/>"
			"<cache-lookup-value key=\"big\" variable-name=\"b\" default-value=\"not stored\"/>");
	assert_int_equal(r.rc, CG_PIPE_CONTINUE);
	assert_true(cg_str_eq_lit(var(&r, "b")->u.s, "not stored"));
	done(&r);
	struct cg_cache_stats cs;
	cg_cache_stats(&cs);
	assert_int_equal(cs.refused, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_miss, reset_cache),
		cmocka_unit_test_setup(test_store_lookup_remove, reset_cache),
		cmocka_unit_test_setup(test_refusals, reset_cache),
		cmocka_unit_test_setup(test_too_large_goes_on, reset_cache),
	};
	return cmocka_run_group_tests(tests, setup_pki, NULL);
}
