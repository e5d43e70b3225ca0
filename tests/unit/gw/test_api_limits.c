/* <api> and <operation> limits of rate-limit and quota in a product policy
 * (src/gw/throttle.c), below the network: a product document loaded at
 * product scope, its pipeline built, and requests run with the API,
 * operation and subscription a product key would give them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expr/ctx.h"
#include "gw/limits.h"
#include "gw/pipeline.h"
#include "gw/snapshot.h"
#include "policy/policy.h"
#include "tls/tls.h"

#include "gw/pipe_helpers.h"

static struct cg_arena doc_arena;
static struct cg_pipeline pl;

static int setup(void **state)
{
	(void)state;
	cg_limits_reset();
	cg_arena_init(&doc_arena, 16384, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cg_arena_destroy(&doc_arena);
	return 0;
}

/* The pipeline of the chain (no global document) -> product document with
 * inbound. */
static const struct cg_pipeline *product_pipeline(const char *inbound)
{
	char text[2048], err[512];
	snprintf(text, sizeof(text), "<policies><inbound><base />%s</inbound><backend><base /></backend></policies>",
		 inbound);
	struct cg_pol_diags d;
	struct cg_pol_doc *doc;
	cg_pol_diags_init(&d, &doc_arena);
	if (cg_pol_load(&doc_arena, cg_str_from_c(text), CG_POL_FORMAT_RAWXML, CG_POL_SCOPE_PRODUCT, NULL, &d,
			&doc) != 0)
		fail_msg("%s does not load", text);
	const struct cg_pol_doc *docs[2] = { NULL, doc };
	struct cg_pol_effective eff;
	assert_int_equal(cg_pol_effective_chain(&doc_arena, docs, 2, &eff), 0);
	if (cg_pipeline_build(&doc_arena, &eff, NULL, &pl, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return &pl;
}

static const struct cg_expr_subscription_view sub_a = { .id = CG_STR("sub-a") };

/* One request of subscription sub_a to API "orders" (display name "Orders
 * API"), operation op ("create", display name "Create order"; NULL: an API
 * without operations) or to API "billing" when api is "billing". */
static enum cg_pipe_rc call(struct run *r, const char *api_id, const char *op_id)
{
	prepare(r, &pl, NULL);
	r->p.ctx.subscription = &sub_a;
	r->p.apiv.id = cg_str_from_c(api_id);
	r->p.apiv.name = strcmp(api_id, "orders") == 0 ? CG_STR("Orders API") : cg_str_from_c(api_id);
	if (op_id) {
		r->p.opv.id = cg_str_from_c(op_id);
		r->p.opv.name = strcmp(op_id, "create") == 0 ? CG_STR("Create order") : r->p.opv.id;
	} else {
		r->p.ctx.operation = NULL;
	}
	r->rc = cg_pipe_run(&r->p, CG_POL_INBOUND);
	return r->rc;
}

static const char *hdr(const struct run *r, const char *name)
{
	static char out[64];
	const struct cg_expr_header *h = cg_hlist_find(&r->p.limit_hdrs, cg_str_from_c(name));
	if (!h)
		return "-";
	snprintf(out, sizeof(out), "%.*s", CG_STR_FMT(h->value));
	return out;
}

static void done(struct run *r)
{
	cg_arena_destroy(&r->arena);
}

/* name matches the display names, ignoring ASCII case; the fewest calls
 * left are reported with the calls of the limit that has them. */
static void t_names_and_remaining(void **state)
{
	(void)state;
	product_pipeline("<rate-limit calls=\"10\" renewal-period=\"60\" remaining-calls-header-name=\"R\" "
			 "total-calls-header-name=\"T\"><api name=\"orders api\" calls=\"5\" renewal-period=\"60\">"
			 "<operation name=\"create ORDER\" calls=\"2\" renewal-period=\"60\"/></api></rate-limit>");
	struct run r;
	const char *const want[][2] = { { "1", "2" }, { "0", "2" } };
	for (int i = 0; i < 2; i++) {
		assert_int_equal(call(&r, "orders", "create"), CG_PIPE_CONTINUE);
		assert_string_equal(hdr(&r, "R"), want[i][0]);
		assert_string_equal(hdr(&r, "T"), want[i][1]);
		done(&r);
	}
	assert_int_equal(call(&r, "orders", "create"), CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 429);
	assert_true(cg_str_eq_lit(r.p.errv.reason, "RateLimitExceeded"));
	done(&r);
	/* another operation of the API: the API's 5 (2 used), not the
	 * operation's */
	assert_int_equal(call(&r, "orders", "list"), CG_PIPE_CONTINUE);
	assert_string_equal(hdr(&r, "R"), "2");
	assert_string_equal(hdr(&r, "T"), "5");
	done(&r);
	/* a request routed to no operation: the API's limit applies, no
	 * operation's */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(call(&r, "orders", NULL), CG_PIPE_CONTINUE);
		done(&r);
	}
	assert_int_equal(call(&r, "orders", NULL), CG_PIPE_ERROR);
	done(&r);
	/* another API: the product's 10, 5 used */
	assert_int_equal(call(&r, "billing", NULL), CG_PIPE_CONTINUE);
	assert_string_equal(hdr(&r, "R"), "4");
	assert_string_equal(hdr(&r, "T"), "10");
	done(&r);
}

/* A call one limit refuses is counted in none: the product keeps its
 * budget for the other APIs. */
static void t_refused_call_counted_in_none(void **state)
{
	(void)state;
	product_pipeline("<rate-limit calls=\"3\" renewal-period=\"60\"><api id=\"ORDERS\" calls=\"1\" "
			 "renewal-period=\"60\"/></rate-limit>");
	struct run r;
	assert_int_equal(call(&r, "orders", NULL), CG_PIPE_CONTINUE);
	done(&r);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(call(&r, "orders", "create"), CG_PIPE_ERROR);
		done(&r);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(call(&r, "billing", NULL), CG_PIPE_CONTINUE);
		done(&r);
	}
	assert_int_equal(call(&r, "billing", NULL), CG_PIPE_ERROR);
	done(&r);
}

/* When several limits refuse, the longest wait is told: a quota that
 * never renews beats one that renews within an hour (no Retry-After),
 * whichever of the product's or the API's it is. */
static void t_longest_wait(void **state)
{
	(void)state;
	static const char *const docs[] = {
		"<quota calls=\"1\" renewal-period=\"0\"><api id=\"orders\" calls=\"1\" renewal-period=\"3600\"/></quota>",
		"<quota calls=\"1\" renewal-period=\"3600\"><api id=\"orders\" calls=\"1\" renewal-period=\"0\"/></quota>",
	};
	for (size_t i = 0; i < 2; i++) {
		cg_limits_reset();
		product_pipeline(docs[i]);
		struct run r;
		assert_int_equal(call(&r, "orders", NULL), CG_PIPE_CONTINUE);
		done(&r);
		assert_int_equal(call(&r, "orders", NULL), CG_PIPE_ERROR);
		assert_int_equal(r.p.status, 403);
		assert_true(cg_str_eq_lit(r.p.errv.message, "Out of call volume quota."));
		assert_string_equal(hdr(&r, "Retry-After"), "-");
		done(&r);
	}
}

/* A quota's <api> without renewal-period takes the quota's window. */
static void t_quota_api_period(void **state)
{
	(void)state;
	product_pipeline("<quota calls=\"5\" renewal-period=\"7200\"><api id=\"orders\" calls=\"1\"/></quota>");
	struct run r;
	assert_int_equal(call(&r, "orders", NULL), CG_PIPE_CONTINUE);
	done(&r);
	assert_int_equal(call(&r, "orders", NULL), CG_PIPE_ERROR);
	/* windows of the quota's 2 h (placed from 0001-01-01), not forever */
	uint64_t after = strtoull(hdr(&r, "Retry-After"), NULL, 10);
	assert_true(after >= 1 && after <= 7200);
	done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_names_and_remaining, setup, teardown),
		cmocka_unit_test_setup_teardown(t_refused_call_counted_in_none, setup, teardown),
		cmocka_unit_test_setup_teardown(t_longest_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(t_quota_api_period, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
