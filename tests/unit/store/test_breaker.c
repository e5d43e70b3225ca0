/* APIM's circuitBreaker and pool JSON (src/store/breaker.c): ISO 8601
 * durations and their refusals, a rule read into the model, a pool's
 * members, and every refusal's exact message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "store/breaker.h"
#include "store/store-t.h"

static int64_t dur(const char *text)
{
	char err[256] = "";
	int64_t ms = -7;
	if (cg_store_duration_parse("interval", cg_str_from_c(text), &ms, err, sizeof(err))) {
		print_message("%s\n", err);
		return -1;
	}
	return ms;
}

static void dur_refused(const char *text, const char *want)
{
	char err[256] = "";
	int64_t ms;
	assert_int_equal(cg_store_duration_parse("tripDuration", cg_str_from_c(text), &ms, err, sizeof(err)), CG_STORE_FAIL_INVALID);
	assert_string_equal(err, want);
}

static void t_durations(void **state)
{
	(void)state;
	assert_int_equal(dur("PT30S"), 30000);
	assert_int_equal(dur("PT1M"), 60000);
	assert_int_equal(dur("PT1H2M3.5S"), 3723500);
	assert_int_equal(dur("P1DT2H"), 26 * 3600000LL);
	assert_int_equal(dur("P1W"), 7 * 24 * 3600000LL);
	assert_int_equal(dur("PT0.001S"), 1);
	assert_int_equal(dur("PT0.0019S"), 1); /* below a millisecond dropped */
	assert_int_equal(dur("P7D"), CG_STORE_MAX_DURATION_MS);
}

static void t_duration_refusals(void **state)
{
	(void)state;
	const char *grammar = "is not an ISO 8601 duration (P[nW][nD][T[nH][nM][n[.f]S]], e.g. PT30S, PT1M, P1DT2H)";
	const char *bad[] = { "P", "PT", "P1DT", "30S", "PT1X", "PT1S2M", "PT1.5M", "P1H", "PT1D",
			      "-PT1S", "PT1SS", "PT.5S", "PT1234567890S", "pt1s" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[256];
		snprintf(want, sizeof(want), "tripDuration '%s' %s", bad[i], grammar);
		dur_refused(bad[i], want);
	}
	dur_refused("", "tripDuration is empty; give an ISO 8601 duration such as PT30S");
	dur_refused("P1M", "tripDuration 'P1M' uses years or months, whose length varies; give days, hours, "
			   "minutes or seconds (P30D)");
	dur_refused("P1Y", "tripDuration 'P1Y' uses years or months, whose length varies; give days, hours, "
			   "minutes or seconds (P30D)");
	dur_refused("PT0S", "tripDuration 'PT0S' must be at least 1 millisecond");
	dur_refused("PT0.0001S", "tripDuration 'PT0.0001S' must be at least 1 millisecond");
	dur_refused("P7DT0.001S", "tripDuration 'P7DT0.001S' is longer than the 7 days (P7D) certgate allows");
	dur_refused("P999999999W", "tripDuration 'P999999999W' is longer than the 7 days (P7D) certgate allows");
}

static void t_ranges(void **state)
{
	(void)state;
	char err[256] = "";
	assert_int_equal(cg_store_range_check("fc", 0, 500, 599, err, sizeof(err)), 0);
	assert_int_equal(cg_store_range_check("fc", 0, 100, 100, err, sizeof(err)), 0);
	assert_int_equal(cg_store_range_check("fc", 2, 99, 200, err, sizeof(err)), CG_STORE_FAIL_INVALID);
	assert_string_equal(err, "fc.statusCodeRanges[2] {min 99, max 200} must satisfy 100 <= min <= max <= 599");
	assert_int_equal(cg_store_range_check("fc", 0, 500, 600, err, sizeof(err)), CG_STORE_FAIL_INVALID);
	assert_int_equal(cg_store_range_check("fc", 1, 503, 500, err, sizeof(err)), CG_STORE_FAIL_INVALID);
	assert_string_equal(err, "fc.statusCodeRanges[1] {min 503, max 500} must satisfy 100 <= min <= max <= 599");
}

/* Reads text as a circuitBreaker; returns the refusal ("" when read). */
static const char *breaker_msg(const char *text, struct cg_model_breaker *out, bool *has)
{
	static char err[512];
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	assert_non_null(j);
	err[0] = '\0';
	int rc = cg_store_breaker_from_json(j, out, has, err, sizeof(err));
	json_decref(j);
	assert_int_equal(rc, err[0] ? CG_STORE_FAIL_INVALID : 0);
	return err;
}

static void t_breaker_read(void **state)
{
	(void)state;
	struct cg_model_breaker b;
	bool has;
	assert_string_equal(breaker_msg("{\"rules\": [{\"name\": \"r\", \"failureCondition\": {\"count\": 3,"
					" \"interval\": \"PT1M\", \"statusCodeRanges\": [{\"min\": 500, \"max\": 599},"
					" {\"min\": 429, \"max\": 429}], \"errorReasons\": [\"timeout\"]},"
					" \"tripDuration\": \"PT30S\", \"acceptRetryAfter\": true}]}",
				    &b, &has),
			    "");
	assert_true(has);
	assert_int_equal(b.count, 3);
	assert_int_equal(b.percentage, 0);
	assert_int_equal(b.interval_ms, 60000);
	assert_int_equal(b.trip_ms, 30000);
	assert_true(b.accept_retry_after);
	assert_true(b.transport_errors);
	assert_int_equal(b.num_ranges, 2);
	assert_int_equal(b.ranges[1].min, 429);
	assert_string_equal(breaker_msg("{\"rules\": [{\"failureCondition\": {\"percentage\": 50,"
					" \"interval\": \"PT10S\", \"errorReasons\": [\"x\"]},"
					" \"tripDuration\": \"PT1S\"}]}",
				    &b, &has),
			    "");
	assert_int_equal(b.percentage, 50);
	assert_false(b.accept_retry_after);
	assert_int_equal(b.num_ranges, 0);
	/* no rules: no breaker */
	assert_string_equal(breaker_msg("{\"rules\": []}", &b, &has), "");
	assert_false(has);
	assert_string_equal(breaker_msg("{}", &b, &has), "");
	assert_false(has);
}

static void t_breaker_refusals(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "[]", "properties.circuitBreaker must be an object {\"rules\": [...]}" },
		{ "{\"rule\": []}", "properties.circuitBreaker.rule is not a circuit breaker property" },
		{ "{\"rules\": {}}",
		  "properties.circuitBreaker.rules must be an array of one rule (APIM allows one per backend)" },
		{ "{\"rules\": [1]}", "properties.circuitBreaker.rules[0] must be an object" },
		{ "{\"rules\": [{\"name\": 5}]}",
		  "properties.circuitBreaker.rules[0].name must be a string of at most 200 characters" },
		{ "{\"rules\": [{\"acceptRetryAfter\": \"yes\"}]}",
		  "properties.circuitBreaker.rules[0].acceptRetryAfter must be true or false" },
		{ "{\"rules\": [{\"tripDuration\": \"PT1S\"}]}",
		  "properties.circuitBreaker.rules[0].failureCondition is required (an object)" },
		{ "{\"rules\": [{\"other\": 1}]}",
		  "properties.circuitBreaker.rules[0].other is not a circuit breaker rule property" },
		{ "{\"rules\": [{\"failureCondition\": {\"count\": 0, \"interval\": \"PT1S\"}}]}",
		  "properties.circuitBreaker.rules[0].failureCondition.count must be an integer from 1 to 100000" },
		{ "{\"rules\": [{\"failureCondition\": {\"percentage\": 101, \"interval\": \"PT1S\"}}]}",
		  "properties.circuitBreaker.rules[0].failureCondition.percentage must be an integer from 1 to 100" },
		{ "{\"rules\": [{\"failureCondition\": {\"count\": 1}}]}",
		  "properties.circuitBreaker.rules[0].failureCondition.interval is required (an ISO 8601 duration "
		  "such as PT30S)" },
		{ "{\"rules\": [{\"failureCondition\": {\"count\": 1, \"interval\": 60}}]}",
		  "properties.circuitBreaker.rules[0].failureCondition.interval must be a string (an ISO 8601 "
		  "duration such as PT30S)" },
		{ "{\"rules\": [{\"failureCondition\": {\"count\": 1, \"interval\": \"PT1S\", \"statusCodeRanges\": "
		  "[{\"min\": 500}]}}]}",
		  "properties.circuitBreaker.rules[0].failureCondition.statusCodeRanges[0] must be {\"min\": N, "
		  "\"max\": N}" },
		{ "{\"rules\": [{\"failureCondition\": {\"count\": 1, \"interval\": \"PT1S\", \"errorReasons\": "
		  "[\"\"]}}]}",
		  "properties.circuitBreaker.rules[0].failureCondition.errorReasons[0] must be a string of 1 to 200 "
		  "characters" },
		{ "{\"rules\": [{\"failureCondition\": {\"count\": 1, \"interval\": \"PT1S\", \"why\": 1}}]}",
		  "properties.circuitBreaker.rules[0].failureCondition.why is not a failure condition property" },
		{ "{\"rules\": [{\"failureCondition\": {\"count\": 1, \"interval\": \"PT1S\", \"errorReasons\": "
		  "[\"x\"]}}]}",
		  "properties.circuitBreaker.rules[0].tripDuration is required (an ISO 8601 duration such as PT30S)" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cg_model_breaker b;
		bool has;
		const char *got = breaker_msg(cases[i][0], &b, &has);
		if (strcmp(got, cases[i][1]) != 0)
			fail_msg("case %zu: got '%s'", i, got);
	}
}

static const char *pool_msg(const char *text, struct cg_model_pool_member *m, size_t *n)
{
	static char err[512];
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	assert_non_null(j);
	err[0] = '\0';
	int rc = cg_store_pool_from_json(j, m, n, err, sizeof(err));
	if (rc == 0 && *n) {
		/* ids borrow from j: check them before it goes */
		assert_string_equal(m[0].backend_id, "a");
	}
	json_decref(j);
	return err;
}

static void t_pool(void **state)
{
	(void)state;
	struct cg_model_pool_member m[CG_STORE_MAX_POOL_MEMBERS];
	size_t n;
	assert_string_equal(pool_msg("{\"services\": [{\"id\": \"/subscriptions/s/resourceGroups/g/providers/"
				     "Microsoft.ApiManagement/service/x/backends/a\", \"priority\": 1, "
				     "\"weight\": 3}, {\"id\": \"b\"}]}",
				     m, &n),
			    "");
	assert_int_equal(n, 2);
	assert_int_equal(m[0].priority, 1);
	assert_int_equal(m[0].weight, 3);
	assert_int_equal(m[1].priority, -1);
	assert_int_equal(m[1].weight, -1);
	static const char *const bad[][2] = {
		{ "[]", "properties.pool must be an object {\"services\": [...]}" },
		{ "{\"services\": []}", "properties.pool.services must be an array of 1 to 30 backends" },
		{ "{\"services\": [{\"id\": \"a\"}], \"x\": 1}", "properties.pool.x is not a pool property" },
		{ "{\"services\": [{\"id\": \"a\", \"priority\": -1}]}",
		  "properties.pool.services[0].priority must be an integer from 0 to 100" },
		{ "{\"services\": [{\"id\": \"a\", \"weight\": 1.5}]}",
		  "properties.pool.services[0].weight must be an integer from 0 to 100" },
		{ "{\"services\": [{\"id\": \"/certificates/a\"}]}",
		  "properties.pool.services[0].id must name a backend ('/backends/NAME' or 'NAME')" },
		{ "{\"services\": [{\"id\": \"a\", \"url\": \"x\"}]}",
		  "properties.pool.services[0].url is not a pool service property" },
		{ "{\"services\": [{\"id\": \"a\"}, {\"id\": \"/backends/a\"}]}",
		  "properties.pool.services[1]: backend 'a' is already services[0]" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *got = pool_msg(bad[i][0], m, &n);
		if (strcmp(got, bad[i][1]) != 0)
			fail_msg("case %zu: got '%s'", i, got);
	}
	json_t *back = cg_store_pool_to_json(m, 0);
	assert_non_null(back);
	json_decref(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_durations),
		cmocka_unit_test(t_duration_refusals),
		cmocka_unit_test(t_ranges),
		cmocka_unit_test(t_breaker_read),
		cmocka_unit_test(t_breaker_refusals),
		cmocka_unit_test(t_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
