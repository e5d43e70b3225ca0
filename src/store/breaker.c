/* Backend pools and circuit breakers as configuration (see breaker.h):
 * ISO 8601 durations and the ARM JSON of circuitBreaker and pool. */
#include "store/breaker.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store/store-int.h"

/* ---- ISO 8601 durations ------------------------------------------------ */

#define MS_PER_S 1000LL

struct dur_unit {
	char letter;
	bool time_part; /* after 'T' */
	int64_t ms;     /* milliseconds per unit */
};

static const struct dur_unit dur_units[] = {
	{ 'W', false, 7 * 24 * 3600 * MS_PER_S },
	{ 'D', false, 24 * 3600 * MS_PER_S },
	{ 'H', true, 3600 * MS_PER_S },
	{ 'M', true, 60 * MS_PER_S },
	{ 'S', true, MS_PER_S },
};
#define NUM_DUR_UNITS (sizeof(dur_units) / sizeof(dur_units[0]))

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads digits at s[*i] into *v (bounded so that v * any unit stays far
 * from overflow); false when there are none or too many. */
static bool read_int(struct cg_str s, size_t *i, int64_t *v)
{
	size_t start = *i;
	*v = 0;
	while (*i < s.len && is_digit(s.ptr[*i])) {
		if (*i - start >= 9)
			return false;
		*v = *v * 10 + (s.ptr[*i] - '0');
		(*i)++;
	}
	return *i > start;
}

/* Reads an optional ".fff" after whole seconds into milliseconds. */
static bool read_fraction(struct cg_str s, size_t *i, int64_t *ms)
{
	*ms = 0;
	if (*i >= s.len || (s.ptr[*i] != '.' && s.ptr[*i] != ','))
		return true;
	(*i)++;
	size_t start = *i;
	int64_t scale = 100;
	while (*i < s.len && is_digit(s.ptr[*i])) {
		*ms += (s.ptr[*i] - '0') * scale;
		scale /= 10;
		(*i)++;
	}
	return *i > start;
}

/* The unit after a number at s[*i], or NULL when out of order (each unit
 * at most once, in dur_units order, on the right side of 'T'). */
static const struct dur_unit *next_unit(struct cg_str s, size_t *i, bool time_part, size_t *next)
{
	if (*i >= s.len)
		return NULL;
	for (size_t u = *next; u < NUM_DUR_UNITS; u++) {
		if (dur_units[u].letter == s.ptr[*i] && dur_units[u].time_part == time_part) {
			(*i)++;
			*next = u + 1;
			return &dur_units[u];
		}
	}
	return NULL;
}

/* Parses s (already known to start with 'P') into *ms; false when it is
 * not a duration of our grammar. */
static bool parse_components(struct cg_str s, int64_t *ms)
{
	size_t i = 1, next = 0, parts = 0;
	bool time_part = false;
	*ms = 0;
	while (i < s.len) {
		if (s.ptr[i] == 'T' && !time_part) {
			time_part = true;
			if (++i == s.len)
				return false; /* "PT" needs a component */
			continue;
		}
		int64_t v, frac = 0;
		if (!read_int(s, &i, &v))
			return false;
		if (!read_fraction(s, &i, &frac))
			return false;
		const struct dur_unit *u = next_unit(s, &i, time_part, &next);
		if (!u || (frac && u->letter != 'S'))
			return false;
		*ms += v * u->ms + frac;
		if (*ms > CG_STORE_MAX_DURATION_MS)
			*ms = CG_STORE_MAX_DURATION_MS + 1; /* stays too long, no overflow */
		parts++;
	}
	return parts > 0;
}

/* Whether s names years or months (before any 'T', 'Y' or 'M'). */
static bool has_calendar_units(struct cg_str s)
{
	for (size_t i = 0; i < s.len && s.ptr[i] != 'T'; i++)
		if (s.ptr[i] == 'Y' || s.ptr[i] == 'M')
			return true;
	return false;
}

int cg_store_duration_parse(const char *what, struct cg_str s, int64_t *ms, char *err, size_t errlen)
{
	int n = (int)(s.len > CG_STORE_MAX_DURATION_TEXT ? CG_STORE_MAX_DURATION_TEXT : s.len);
	if (s.len == 0) {
		snprintf(err, errlen, "%s is empty; give an ISO 8601 duration such as PT30S", what);
		return CG_STORE_FAIL_INVALID;
	}
	if (s.len <= CG_STORE_MAX_DURATION_TEXT && s.ptr[0] == 'P' && has_calendar_units(s)) {
		snprintf(err, errlen,
			 "%s '%.*s' uses years or months, whose length varies; give days, hours, "
			 "minutes or seconds (P30D)",
			 what, n, s.ptr);
		return CG_STORE_FAIL_INVALID;
	}
	if (s.len > CG_STORE_MAX_DURATION_TEXT || s.ptr[0] != 'P' || !parse_components(s, ms)) {
		snprintf(err, errlen,
			 "%s '%.*s%s' is not an ISO 8601 duration (P[nW][nD][T[nH][nM][n[.f]S]], "
			 "e.g. PT30S, PT1M, P1DT2H)",
			 what, n, s.ptr, s.len > CG_STORE_MAX_DURATION_TEXT ? "..." : "");
		return CG_STORE_FAIL_INVALID;
	}
	if (*ms <= 0) {
		snprintf(err, errlen, "%s '%.*s' must be at least 1 millisecond", what, n, s.ptr);
		return CG_STORE_FAIL_INVALID;
	}
	if (*ms > CG_STORE_MAX_DURATION_MS) {
		snprintf(err, errlen, "%s '%.*s' is longer than the 7 days (P7D) certgate allows", what,
			 n, s.ptr);
		return CG_STORE_FAIL_INVALID;
	}
	return 0;
}

/* ---- circuitBreaker ---- */

int cg_store_range_check(const char *path, size_t i, long long min, long long max, char *err,
			 size_t errlen)
{
	if (min < CG_STORE_MIN_FAIL_STATUS || max > CG_STORE_MAX_FAIL_STATUS || min > max) {
		snprintf(err, errlen,
			 "%s.statusCodeRanges[%zu] {min %lld, max %lld} must satisfy %d <= min <= max "
			 "<= %d",
			 path, i, min, max, CG_STORE_MIN_FAIL_STATUS, CG_STORE_MAX_FAIL_STATUS);
		return CG_STORE_FAIL_INVALID;
	}
	return 0;
}

/* Refuses members of object o not in allowed (NULL-terminated). */
static int only_keys(json_t *o, const char *path, const char *const *allowed, const char *noun,
		     char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		size_t i = 0;
		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (!allowed[i])
			return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
					      "%s.%s is not a %s property", path, key, noun);
	}
	return 0;
}

/* An optional integer in lo..hi: *out stays as it was when absent/null. */
static int opt_int(json_t *o, const char *path, const char *key, long long lo, long long hi,
		   long long *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s.%s must be an integer from %lld to %lld", path, key, lo, hi);
	*out = json_integer_value(v);
	return 0;
}

/* A required ISO 8601 duration. */
static int req_duration(json_t *o, const char *path, const char *key, int64_t *ms, char *err,
			size_t errlen)
{
	char what[160];
	snprintf(what, sizeof(what), "%s.%s", path, key);
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s is required (an ISO 8601 duration such as PT30S)", what);
	if (!json_is_string(v))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s must be a string (an ISO 8601 duration such as PT30S)", what);
	return cg_store_duration_parse(
		what, cg_str_make(json_string_value(v), json_string_length(v)), ms, err, errlen);
}

static int read_ranges(json_t *fc, const char *path, struct cg_model_breaker *out, char *err,
		       size_t errlen)
{
	json_t *a = json_object_get(fc, "statusCodeRanges");
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > CG_MODEL_MAX_STATUS_RANGES)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s.statusCodeRanges must be an array of at most %d {min, max}",
				      path, CG_MODEL_MAX_STATUS_RANGES);
	size_t i;
	json_t *r;
	json_array_foreach(a, i, r)
	{
		json_t *lo = json_object_get(r, "min"), *hi = json_object_get(r, "max");
		if (!json_is_object(r) || !json_is_integer(lo) || !json_is_integer(hi) ||
		    json_object_size(r) != 2)
			return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
					      "%s.statusCodeRanges[%zu] must be {\"min\": N, \"max\": N}",
					      path, i);
		int rc = cg_store_range_check(path, i, json_integer_value(lo), json_integer_value(hi), err,
					      errlen);
		if (rc)
			return rc;
		out->ranges[i].min = (uint16_t)json_integer_value(lo);
		out->ranges[i].max = (uint16_t)json_integer_value(hi);
	}
	out->num_ranges = json_array_size(a);
	return 0;
}

static int read_reasons(json_t *fc, const char *path, struct cg_model_breaker *out, char *err,
			size_t errlen)
{
	json_t *a = json_object_get(fc, "errorReasons");
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > CG_STORE_MAX_ERROR_REASONS)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s.errorReasons must be an array of at most %d strings", path,
				      CG_STORE_MAX_ERROR_REASONS);
	size_t i;
	json_t *r;
	json_array_foreach(a, i, r)
	{
		if (!json_is_string(r) || json_string_length(r) == 0 ||
		    json_string_length(r) > CG_STORE_MAX_REASON_LEN)
			return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
					      "%s.errorReasons[%zu] must be a string of 1 to %d characters",
					      path, i, CG_STORE_MAX_REASON_LEN);
	}
	out->transport_errors = json_array_size(a) > 0;
	return 0;
}

static int read_condition(json_t *rule, const char *rpath, struct cg_model_breaker *out,
			  char *err, size_t errlen)
{
	static const char *const keys[] = { "count", "percentage", "interval", "statusCodeRanges",
					    "errorReasons", NULL };
	char path[128];
	snprintf(path, sizeof(path), "%s.failureCondition", rpath);
	json_t *fc = json_object_get(rule, "failureCondition");
	if (!json_is_object(fc))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID, "%s is required (an object)",
				      path);
	long long count = 0, pct = 0;
	int rc;
	if ((rc = only_keys(fc, path, keys, "failure condition", err, errlen)) ||
	    (rc = opt_int(fc, path, "count", 1, CG_STORE_MAX_FAIL_COUNT, &count, err, errlen)) ||
	    (rc = opt_int(fc, path, "percentage", 1, 100, &pct, err, errlen)) ||
	    (rc = req_duration(fc, path, "interval", &out->interval_ms, err, errlen)) ||
	    (rc = read_ranges(fc, path, out, err, errlen)) ||
	    (rc = read_reasons(fc, path, out, err, errlen)))
		return rc;
	if (!count && !pct)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s needs count or percentage (the threshold that trips it)", path);
	if (!out->num_ranges && !out->transport_errors)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s needs statusCodeRanges or errorReasons (what counts as a failure)",
				      path);
	out->count = (uint32_t)count;
	out->percentage = (uint32_t)pct;
	return 0;
}

static int read_rule(json_t *rule, struct cg_model_breaker *out, char *err, size_t errlen)
{
	static const char *const keys[] = { "name", "failureCondition", "tripDuration",
					    "acceptRetryAfter", NULL };
	const char *path = "properties.circuitBreaker.rules[0]";
	if (!json_is_object(rule))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID, "%s must be an object", path);
	json_t *name = json_object_get(rule, "name"), *ara = json_object_get(rule, "acceptRetryAfter");
	int rc;
	if ((rc = only_keys(rule, path, keys, "circuit breaker rule", err, errlen)))
		return rc;
	if (name && !json_is_null(name) &&
	    (!json_is_string(name) || json_string_length(name) > CG_STORE_MAX_REASON_LEN))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s.name must be a string of at most %d characters", path,
				      CG_STORE_MAX_REASON_LEN);
	if (ara && !json_is_null(ara) && !json_is_boolean(ara))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s.acceptRetryAfter must be true or false", path);
	out->accept_retry_after = json_is_true(ara);
	if ((rc = read_condition(rule, path, out, err, errlen)))
		return rc;
	return req_duration(rule, path, "tripDuration", &out->trip_ms, err, errlen);
}

int cg_store_breaker_from_json(json_t *cb, struct cg_model_breaker *out, bool *has, char *err,
			       size_t errlen)
{
	static const char *const keys[] = { "rules", NULL };
	memset(out, 0, sizeof(*out));
	*has = false;
	if (!cb || json_is_null(cb))
		return 0;
	if (!json_is_object(cb))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "properties.circuitBreaker must be an object {\"rules\": [...]}");
	int rc = only_keys(cb, "properties.circuitBreaker", keys, "circuit breaker", err, errlen);
	if (rc)
		return rc;
	json_t *rules = json_object_get(cb, "rules");
	if (!rules || json_is_null(rules) || (json_is_array(rules) && json_array_size(rules) == 0))
		return 0;
	if (!json_is_array(rules) || json_array_size(rules) > 1)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "properties.circuitBreaker.rules must be an array of one rule "
				      "(APIM allows one per backend)");
	if ((rc = read_rule(json_array_get(rules, 0), out, err, errlen)))
		return rc;
	*has = true;
	return 0;
}

/* ---- pool ---- */

/* A backend reference: "/backends/x", a full ARM id ending so, or "x";
 * NULL when it is some other resource. */
static const char *backend_ref(const char *ref)
{
	static const char word[] = "/backends";
	const char *slash = strrchr(ref, '/');
	if (!slash)
		return ref;
	size_t n = (size_t)(slash - ref);
	if (n >= sizeof(word) - 1 && strncasecmp(slash - (sizeof(word) - 1), word, sizeof(word) - 1) == 0 &&
	    slash[1])
		return slash + 1;
	return NULL;
}

static int read_member(json_t *s, size_t i, struct cg_model_pool_member *m, char *err,
		       size_t errlen)
{
	static const char *const keys[] = { "id", "priority", "weight", NULL };
	char path[64];
	snprintf(path, sizeof(path), "properties.pool.services[%zu]", i);
	if (!json_is_object(s))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID, "%s must be an object", path);
	json_t *id = json_object_get(s, "id");
	long long prio = -1, weight = -1;
	int rc;
	if ((rc = only_keys(s, path, keys, "pool service", err, errlen)) ||
	    (rc = opt_int(s, path, "priority", 0, CG_STORE_MAX_POOL_PRIORITY, &prio, err, errlen)) ||
	    (rc = opt_int(s, path, "weight", 0, CG_STORE_MAX_POOL_WEIGHT, &weight, err, errlen)))
		return rc;
	if (!json_is_string(id) || !(m->backend_id = backend_ref(json_string_value(id))))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s.id must name a backend ('/backends/NAME' or 'NAME')", path);
	m->priority = (int)prio;
	m->weight = (int)weight;
	return 0;
}

int cg_store_pool_from_json(json_t *pool, struct cg_model_pool_member *out, size_t *n, char *err,
			    size_t errlen)
{
	static const char *const keys[] = { "services", NULL };
	*n = 0;
	if (!json_is_object(pool))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "properties.pool must be an object {\"services\": [...]}");
	int rc = only_keys(pool, "properties.pool", keys, "pool", err, errlen);
	if (rc)
		return rc;
	json_t *sv = json_object_get(pool, "services");
	if (!json_is_array(sv) || json_array_size(sv) == 0 ||
	    json_array_size(sv) > CG_STORE_MAX_POOL_MEMBERS)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "properties.pool.services must be an array of 1 to %d backends",
				      CG_STORE_MAX_POOL_MEMBERS);
	size_t i;
	json_t *s;
	json_array_foreach(sv, i, s)
	{
		if ((rc = read_member(s, i, &out[i], err, errlen)))
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(out[j].backend_id, out[i].backend_id) == 0)
				return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
						      "properties.pool.services[%zu]: backend '%s' is "
						      "already services[%zu]",
						      i, out[i].backend_id, j);
	}
	*n = i;
	return 0;
}

json_t *cg_store_pool_to_json(const struct cg_model_pool_member *m, size_t n)
{
	json_t *sv = json_array(), *pool = json_pack("{s:o}", "services", sv);
	for (size_t i = 0; pool && i < n; i++) {
		char id[32 + CG_STORE_MAX_ID_LEN];
		snprintf(id, sizeof(id), "/backends/%s", m[i].backend_id);
		json_t *s = json_pack("{s:s}", "id", id);
		if (s && m[i].priority >= 0)
			json_object_set_new(s, "priority", json_integer(m[i].priority));
		if (s && m[i].weight >= 0)
			json_object_set_new(s, "weight", json_integer(m[i].weight));
		if (!s || json_array_append_new(sv, s)) {
			json_decref(pool);
			return NULL;
		}
	}
	return pool;
}
