/* emit-metric in the pipeline (src/gw/emitmetric.c): series per label
 * set, default dimensions from the request, value expressions of every
 * numeric type and the refused ones, the cardinality caps and their
 * overflow series, label values cleaned and escaped, 4 threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw/emitmetric.h"
#include "gw/pipeline.h"
#include "gw/snapshot.h"
#include "tls/tls.h"

#include "gw/pipe_helpers.h"

static int reset(void **state)
{
	(void)state;
	assert_int_equal(cg_emetric_configure(CG_EMETRIC_DEFAULT_MAX_SERIES, CG_EMETRIC_DEFAULT_MAX_PER_METRIC), 0);
	cg_emetric_clear();
	return 0;
}

/* The /metrics text of the registry (freed by the next call). */
static const char *scrape(void)
{
	static struct cg_buf b;
	cg_buf_free(&b);
	cg_buf_init(&b, 1 << 24);
	assert_int_equal(cg_emetric_render(&b), 0);
	assert_int_equal(cg_buf_append(&b, "", 1), 0);
	return b.data;
}

static void expect_line(const char *line)
{
	const char *text = scrape();
	char want[1024];
	snprintf(want, sizeof(want), "\n%s\n", line);
	if (!strstr(text, want))
		fail_msg("no line '%s' in:\n%s", line, text);
}

static void expect_no(const char *part)
{
	const char *text = scrape();
	if (strstr(text, part))
		fail_msg("'%s' found in:\n%s", part, text);
}

/* Runs inbound once with the X-Who header (NULL: none). */
static enum cg_pipe_rc run_once(struct cg_snapshot *s, const char *who, struct run *r)
{
	const char *extra[] = { "X-Who", who, NULL };
	prepare(r, s->apis[0]->pipeline, who ? extra : NULL);
	r->p.opv.id = CG_STR("get-x");
	r->p.depv.region = CG_STR("eu-west");
	r->p.depv.gateway_id = CG_STR("gw-1");
	r->rc = cg_pipe_run(&r->p, CG_POL_INBOUND);
	return r->rc;
}

static void run_n(struct cg_snapshot *s, const char *who, int n)
{
	for (int i = 0; i < n; i++) {
		struct run r;
		assert_int_equal(run_once(s, who, &r), CG_PIPE_CONTINUE);
		cg_arena_destroy(&r.arena);
	}
}

#define WHO "<dimension name=\"Caller\" value=\"@(context.Request.Headers.GetValueOrDefault(\"X-Who\", \"\"))\"/>"

static void test_series_per_value(void **state)
{
	(void)state;
	struct cg_snapshot *s = build_ok("<emit-metric name=\"Request\" namespace=\"Contoso\">" WHO "</emit-metric>");
	run_n(s, "alice", 3);
	run_n(s, "bob", 2);
	expect_line("# TYPE certgate_custom_contoso_request_total counter");
	expect_line("certgate_custom_contoso_request_total{caller=\"alice\"} 3");
	expect_line("certgate_custom_contoso_request_total{caller=\"bob\"} 2");
	expect_line("certgate_emit_metric_series 2");
	expect_no("overflow=");
	cg_snapshot_unref(s);
	/* a new snapshot (a configuration change) adds to the same series */
	s = build_ok("<emit-metric name=\"Request\" namespace=\"Contoso\" value=\"2\">" WHO "</emit-metric>");
	run_n(s, "alice", 1);
	expect_line("certgate_custom_contoso_request_total{caller=\"alice\"} 5");
	cg_snapshot_unref(s);
}

static void test_default_dimensions(void **state)
{
	(void)state;
	struct cg_snapshot *s = build_ok(
		"<emit-metric name=\"calls\"><dimension name=\"API ID\"/><dimension name=\"Operation ID\"/>"
		"<dimension name=\"Location\"/><dimension name=\"Gateway ID\"/><dimension name=\"Product ID\"/>"
		"<dimension name=\"Subscription ID\"/><dimension name=\"User ID\"/>"
		"<dimension name=\"API ID 2\" value=\"@(context.Api.Id + \"!\")\"/></emit-metric>");
	run_n(s, NULL, 1);
	/* namespace: APIM's default "API Management"; labels sorted by name;
	 * no product, subscription or user: empty */
	expect_line("certgate_custom_api_management_calls_total{api_id=\"api\",api_id_2=\"api!\",gateway_id=\"gw-1\","
		    "location=\"eu-west\",operation_id=\"get-x\",product_id=\"\",subscription_id=\"\",user_id=\"\"} 1");
	cg_snapshot_unref(s);
}

/* Backend ID (outbound): the backend entity set-backend-service chose,
 * empty for the API's own service URL. */
static void test_backend_id(void **state)
{
	(void)state;
	char err[512];
	struct cg_snapshot *s = build("<policies><inbound/><backend><forward-request/></backend><outbound>"
				      "<emit-metric name=\"out\"><dimension name=\"Backend ID\"/></emit-metric>"
				      "</outbound></policies>",
				      NULL, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	struct cg_rt_backend be = { 0 };
	be.id = CG_STR("pool-a");
	for (int i = 0; i < 2; i++) {
		struct run r;
		prepare(&r, s->apis[0]->pipeline, NULL);
		r.p.backend = i ? &be : NULL;
		assert_int_equal(cg_pipe_run(&r.p, CG_POL_OUTBOUND), CG_PIPE_CONTINUE);
		cg_arena_destroy(&r.arena);
	}
	expect_line("certgate_custom_api_management_out_total{backend_id=\"\"} 1");
	expect_line("certgate_custom_api_management_out_total{backend_id=\"pool-a\"} 1");
	cg_snapshot_unref(s);
}

/* The same dimensions in another order are the same series. */
static void test_order(void **state)
{
	(void)state;
	struct cg_snapshot *s = build_ok("<emit-metric name=\"m\"><dimension name=\"b\" value=\"2\"/>"
					 "<dimension name=\"a\" value=\"1\"/></emit-metric>"
					 "<emit-metric name=\"m\"><dimension name=\"a\" value=\"1\"/>"
					 "<dimension name=\"b\" value=\"2\"/></emit-metric>");
	run_n(s, NULL, 1);
	expect_line("certgate_custom_api_management_m_total{a=\"1\",b=\"2\"} 2");
	cg_snapshot_unref(s);
}

static void expect_sum(const char *value_attr, const char *line)
{
	char pol[512];
	snprintf(pol, sizeof(pol), "<emit-metric name=\"v\" value=\"%s\"><dimension name=\"k\" value=\"x\"/></emit-metric>",
		 value_attr);
	cg_emetric_clear();
	struct cg_snapshot *s = build_ok(pol);
	run_n(s, NULL, 2);
	expect_line(line);
	cg_snapshot_unref(s);
}

static void test_values(void **state)
{
	(void)state;
	expect_sum("@(3)", "certgate_custom_api_management_v_total{k=\"x\"} 6");
	expect_sum("@(2.25)", "certgate_custom_api_management_v_total{k=\"x\"} 4.5");
	expect_sum("@(1.5m)", "certgate_custom_api_management_v_total{k=\"x\"} 3");
	expect_sum("@(5000000000L)", "certgate_custom_api_management_v_total{k=\"x\"} 10000000000");
	expect_sum("@(context.Request.Headers.Count)", "certgate_custom_api_management_v_total{k=\"x\"} 4");
	expect_sum("0.1", "certgate_custom_api_management_v_total{k=\"x\"} 0.20000000000000001");
	expect_sum("0", "certgate_custom_api_management_v_total{k=\"x\"} 0");
}

static void expect_refused(const char *value_attr, const char *message)
{
	char pol[512];
	snprintf(pol, sizeof(pol), "<emit-metric name=\"bad\" value=\"%s\"><dimension name=\"k\" value=\"x\"/></emit-metric>",
		 value_attr);
	struct cg_snapshot *s = build_ok(pol);
	struct run r;
	assert_int_equal(run_once(s, NULL, &r), CG_PIPE_ERROR);
	assert_int_equal(r.p.status, 500);
	assert_true(cg_str_eq_lit(r.p.errv.source, "emit-metric"));
	assert_true(cg_str_eq_lit(r.p.errv.reason, "PolicyValueInvalid"));
	if (!cg_str_eq(r.p.errv.message, cg_str_from_c(message)))
		fail_msg("message: %.*s", CG_STR_FMT(r.p.errv.message));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
	expect_no("certgate_custom_api_management_bad_total{");
}

static void test_values_refused(void **state)
{
	(void)state;
	expect_refused("@(\"5\")",
		       "The value of element 'emit-metric' must be a number (Double); the expression gave String.");
	expect_refused("@((string)null)",
		       "The value of element 'emit-metric' must be a number (Double); the expression gave null.");
	expect_refused("@(true)",
		       "The value of element 'emit-metric' must be a number (Double); the expression gave Boolean.");
	/* negative, NaN, infinite: dropped and counted, the request goes on */
	struct cg_snapshot *s = build_ok("<emit-metric name=\"neg\" value=\"@(-1)\"><dimension name=\"k\" value=\"x\"/></emit-metric>"
					 "<emit-metric name=\"neg\" value=\"@(0.0 / 0.0)\"><dimension name=\"k\" value=\"x\"/></emit-metric>"
					 "<emit-metric name=\"neg\" value=\"@(1.0 / 0.0)\"><dimension name=\"k\" value=\"x\"/></emit-metric>");
	run_n(s, NULL, 1);
	expect_no("certgate_custom_api_management_neg_total{");
	expect_line("certgate_emit_metric_dropped_total{reason=\"value\"} 3");
	cg_snapshot_unref(s);
	/* a dimension expression that throws is an expression failure */
	s = build_ok("<emit-metric name=\"t\"><dimension name=\"k\" value=\"@(((string)null).Length.ToString())\"/></emit-metric>");
	struct run r;
	assert_int_equal(run_once(s, NULL, &r), CG_PIPE_ERROR);
	assert_true(cg_str_eq_lit(r.p.errv.reason, "ExpressionValueEvaluationFailure"));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
}

/* Per metric and overall caps: new label sets fold into the overflow
 * series; known ones keep counting. */
static void test_caps(void **state)
{
	(void)state;
	assert_int_equal(cg_emetric_configure(5, 3), 0);
	struct cg_snapshot *s = build_ok("<emit-metric name=\"a\">" WHO "</emit-metric>"
					 "<emit-metric name=\"b\">" WHO "</emit-metric>");
	run_n(s, "1", 1);
	run_n(s, "2", 1);
	run_n(s, "3", 1); /* a: 3 series (its cap), b: 3 -> 6 > 5: b's third folds */
	run_n(s, "4", 2); /* both fold */
	run_n(s, "1", 1); /* known: counted in place */
	expect_line("certgate_custom_api_management_a_total{caller=\"1\"} 2");
	expect_line("certgate_custom_api_management_a_total{caller=\"3\"} 1");
	expect_line("certgate_custom_api_management_a_total{overflow=\"true\"} 2");
	expect_line("certgate_custom_api_management_b_total{caller=\"2\"} 1");
	expect_line("certgate_custom_api_management_b_total{overflow=\"true\"} 3");
	expect_no("caller=\"4\"");
	expect_line("certgate_emit_metric_series 5");
	expect_line("certgate_emit_metric_folded_total 5");
	struct cg_emetric_stats st;
	cg_emetric_stats(&st);
	assert_int_equal(st.series, 5);
	assert_int_equal(st.folded, 5);
	cg_snapshot_unref(s);
	assert_int_equal(cg_emetric_configure(3, 4), -1); /* per metric above overall */
	assert_int_equal(cg_emetric_configure(10, 0), -1);
	assert_int_equal(cg_emetric_configure(20000000, 10), -1);
}

static void test_label_values(void **state)
{
	(void)state;
	char out[CG_EMETRIC_MAX_VALUE];
	/* invalid UTF-8 and NUL become '?' */
	size_t n = cg_emetric_clean_value(cg_str_make("a\0b\xff\xc3\xa9\xed\xa0\x80", 9), out);
	assert_int_equal(n, 9);
	assert_memory_equal(out, "a?b?\xc3\xa9???", 9);
	/* cut at CG_EMETRIC_MAX_VALUE bytes, never inside a character */
	char big[300];
	memset(big, 'x', sizeof(big));
	memcpy(big + 255, "\xc3\xa9", 2);
	assert_int_equal(cg_emetric_clean_value(cg_str_make(big, sizeof(big)), out), 255);
	assert_int_equal(cg_emetric_clean_value(cg_str_make(big, 254), out), 254);
	/* exposition escapes */
	struct cg_buf b;
	cg_buf_init(&b, 1024);
	assert_int_equal(cg_emetric_label_escape(&b, CG_STR("a\"b\\c\nd")), 0);
	bool same = b.len == 10 && memcmp(b.data, "a\\\"b\\\\c\\nd", 10) == 0;
	cg_buf_free(&b);
	assert_true(same);
	/* end to end: a header value with a quote and a backslash */
	struct cg_snapshot *s = build_ok("<emit-metric name=\"esc\">" WHO "</emit-metric>");
	run_n(s, "x\"y\\z", 1);
	expect_line("certgate_custom_api_management_esc_total{caller=\"x\\\"y\\\\z\"} 1");
	cg_snapshot_unref(s);
}

struct worker_arg {
	struct cg_snapshot *s;
	const char *who;
};

static void *worker(void *arg)
{
	struct worker_arg *a = arg;
	run_n(a->s, a->who, 2000);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct cg_snapshot *s = build_ok("<emit-metric name=\"mt\">" WHO "</emit-metric>");
	pthread_t t[4];
	struct worker_arg args[4] = { { s, "even" }, { s, "odd" }, { s, "even" }, { s, "odd" } };
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, &args[i]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	expect_line("certgate_custom_api_management_mt_total{caller=\"even\"} 4000");
	expect_line("certgate_custom_api_management_mt_total{caller=\"odd\"} 4000");
	cg_snapshot_unref(s);
}

/* CG_EMETRIC_MAX_METRICS families at most: a policy naming one more
 * still builds, and its emissions are dropped and counted. Runs last:
 * families live as long as the process. */
static void test_max_metrics(void **state)
{
	(void)state;
	struct cg_emetric_stats st;
	cg_emetric_stats(&st);
	for (unsigned i = (unsigned)st.metrics; i < CG_EMETRIC_MAX_METRICS; i++) {
		char pol[256];
		snprintf(pol, sizeof(pol), "<emit-metric name=\"filler %u\"><dimension name=\"k\" value=\"v\"/></emit-metric>", i);
		cg_snapshot_unref(build_ok(pol));
	}
	cg_emetric_stats(&st);
	assert_int_equal(st.metrics, CG_EMETRIC_MAX_METRICS);
	struct cg_snapshot *s = build_ok("<emit-metric name=\"one too many\"><dimension name=\"k\" value=\"v\"/></emit-metric>"
					 "<emit-metric name=\"filler 200\"><dimension name=\"k\" value=\"v\"/></emit-metric>");
	run_n(s, NULL, 3);
	cg_emetric_stats(&st);
	assert_int_equal(st.metrics, CG_EMETRIC_MAX_METRICS);
	assert_int_equal(st.dropped_metrics, 3);
	expect_no("one_too_many");
	expect_line("certgate_custom_api_management_filler_200_total{k=\"v\"} 3"); /* a known one still counts */
	expect_line("certgate_emit_metric_dropped_total{reason=\"metrics\"} 3");
	cg_snapshot_unref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_series_per_value, reset),
		cmocka_unit_test_setup(test_default_dimensions, reset),
		cmocka_unit_test_setup(test_backend_id, reset),
		cmocka_unit_test_setup(test_order, reset),
		cmocka_unit_test_setup(test_values, reset),
		cmocka_unit_test_setup(test_values_refused, reset),
		cmocka_unit_test_setup(test_caps, reset),
		cmocka_unit_test_setup(test_label_values, reset),
		cmocka_unit_test_setup(test_threads, reset),
		cmocka_unit_test_setup(test_max_metrics, reset), /* last: fills the registry */
	};
	return cmocka_run_group_tests(tests, setup_pki, NULL);
}
