/* Backend pools and circuit breakers: durations, the breaker's counting
 * and tripping, and the choice of a pool member (see lb.h). */
#include "gw/lb.h"

#include <stdio.h>
#include <string.h>

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
		if (*ms > CG_LB_MAX_DURATION_MS)
			*ms = CG_LB_MAX_DURATION_MS + 1; /* stays too long, no overflow */
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

int cg_lb_duration_parse(const char *what, struct cg_str s, int64_t *ms, char *err, size_t errlen)
{
	int n = (int)(s.len > CG_LB_MAX_DURATION_TEXT ? CG_LB_MAX_DURATION_TEXT : s.len);
	if (s.len == 0) {
		snprintf(err, errlen, "%s is empty; give an ISO 8601 duration such as PT30S", what);
		return -1;
	}
	if (s.len <= CG_LB_MAX_DURATION_TEXT && s.ptr[0] == 'P' && has_calendar_units(s)) {
		snprintf(err, errlen,
			 "%s '%.*s' uses years or months, whose length varies; give days, hours, "
			 "minutes or seconds (P30D)",
			 what, n, s.ptr);
		return -1;
	}
	if (s.len > CG_LB_MAX_DURATION_TEXT || s.ptr[0] != 'P' || !parse_components(s, ms)) {
		snprintf(err, errlen,
			 "%s '%.*s%s' is not an ISO 8601 duration (P[nW][nD][T[nH][nM][n[.f]S]], "
			 "e.g. PT30S, PT1M, P1DT2H)",
			 what, n, s.ptr, s.len > CG_LB_MAX_DURATION_TEXT ? "..." : "");
		return -1;
	}
	if (*ms <= 0) {
		snprintf(err, errlen, "%s '%.*s' must be at least 1 millisecond", what, n, s.ptr);
		return -1;
	}
	if (*ms > CG_LB_MAX_DURATION_MS) {
		snprintf(err, errlen, "%s '%.*s' is longer than the 7 days (P7D) certgate allows", what,
			 n, s.ptr);
		return -1;
	}
	return 0;
}

/* ---- circuit breaker --------------------------------------------------- */

int cg_lb_range_check(size_t i, long long min, long long max, char *err, size_t errlen)
{
	if (min < CG_LB_MIN_STATUS || max > CG_LB_MAX_STATUS || min > max) {
		snprintf(err, errlen,
			 "statusCodeRanges[%zu] {min %lld, max %lld} must satisfy %d <= min <= max <= %d",
			 i, min, max, CG_LB_MIN_STATUS, CG_LB_MAX_STATUS);
		return -1;
	}
	return 0;
}

bool cg_lb_is_failure(const struct cg_lb_rule *rule, int status)
{
	if (status == 0)
		return rule->transport_errors;
	for (size_t i = 0; i < rule->num_ranges; i++)
		if (status >= rule->ranges[i].min && status <= rule->ranges[i].max)
			return true;
	return false;
}

void cg_lb_breaker_init(struct cg_lb_breaker *b)
{
	pthread_mutex_init(&b->mu, NULL);
	b->window_start_ms = -1;
	b->failures = 0;
	b->calls = 0;
	atomic_init(&b->open_until_ms, 0);
	atomic_init(&b->trips, 0);
}

void cg_lb_breaker_destroy(struct cg_lb_breaker *b)
{
	pthread_mutex_destroy(&b->mu);
}

bool cg_lb_breaker_allows(struct cg_lb_breaker *b, int64_t now_ms)
{
	return atomic_load_explicit(&b->open_until_ms, memory_order_acquire) <= now_ms;
}

int64_t cg_lb_breaker_remaining_ms(struct cg_lb_breaker *b, int64_t now_ms)
{
	int64_t until = atomic_load_explicit(&b->open_until_ms, memory_order_acquire);
	return until > now_ms ? until - now_ms : 0;
}

/* Whether the interval's counts meet the rule (both thresholds when both
 * are set: the count is then the least number of failures that trips). */
static bool meets_condition(const struct cg_lb_breaker *b, const struct cg_lb_rule *rule)
{
	if (rule->count && b->failures < rule->count)
		return false;
	if (rule->percentage && (uint64_t)b->failures * 100 < (uint64_t)rule->percentage * b->calls)
		return false;
	return rule->count || rule->percentage;
}

static int64_t trip_duration(const struct cg_lb_rule *rule, int64_t retry_after_ms)
{
	if (!rule->accept_retry_after || retry_after_ms <= 0)
		return rule->trip_ms;
	return retry_after_ms > CG_LB_MAX_DURATION_MS ? CG_LB_MAX_DURATION_MS : retry_after_ms;
}

/* Called locked: opens a new counting interval at now when none is open
 * or the last one is over. */
static void roll_window(struct cg_lb_breaker *b, const struct cg_lb_rule *rule, int64_t now_ms)
{
	if (b->window_start_ms >= 0 && now_ms - b->window_start_ms < rule->interval_ms &&
	    now_ms >= b->window_start_ms)
		return;
	b->window_start_ms = now_ms;
	b->failures = 0;
	b->calls = 0;
}

bool cg_lb_breaker_report(struct cg_lb_breaker *b, const struct cg_lb_rule *rule, int64_t now_ms,
			  int status, int64_t retry_after_ms)
{
	bool failure = cg_lb_is_failure(rule, status), tripped = false;
	pthread_mutex_lock(&b->mu);
	if (atomic_load_explicit(&b->open_until_ms, memory_order_relaxed) > now_ms)
		goto out; /* sent before the trip: its outcome is already known */
	roll_window(b, rule, now_ms);
	b->calls++;
	b->failures += failure;
	if (failure && meets_condition(b, rule)) {
		atomic_store_explicit(&b->open_until_ms, now_ms + trip_duration(rule, retry_after_ms),
				      memory_order_release);
		atomic_fetch_add_explicit(&b->trips, 1, memory_order_relaxed);
		b->window_start_ms = -1; /* counting starts afresh after the trip */
		tripped = true;
	}
out:
	pthread_mutex_unlock(&b->mu);
	return tripped;
}

/* ---- pool -------------------------------------------------------------- */

void cg_lb_pool_sort(struct cg_lb_pool *p)
{
	/* Insertion sort: at most 30 members, and it keeps equal ones in order. */
	for (size_t i = 1; i < p->num_members; i++) {
		struct cg_lb_member m = p->members[i];
		size_t j = i;
		for (; j > 0 && p->members[j - 1].priority > m.priority; j--)
			p->members[j] = p->members[j - 1];
		p->members[j] = m;
	}
}

/* The end of the priority group starting at first. */
static size_t group_end(const struct cg_lb_pool *p, size_t first)
{
	size_t end = first + 1;
	while (end < p->num_members && p->members[end].priority == p->members[first].priority)
		end++;
	return end;
}

/* Sums the weights of the group's available members into *weight and
 * marks them in avail_mask (bit per member index). */
static size_t group_available(const struct cg_lb_pool *p, size_t first, size_t end,
			      cg_lb_available_fn *avail, void *ctx, uint32_t *mask, uint64_t *weight)
{
	size_t n = 0;
	*mask = 0;
	*weight = 0;
	for (size_t i = first; i < end; i++) {
		if (!avail(ctx, p->members[i].backend))
			continue;
		*mask |= 1u << i;
		*weight += p->members[i].weight;
		n++;
	}
	return n;
}

/* The k-th slot of the group's available members, each taking weight
 * slots (one slot each when all weights are 0). */
static int slot_member(const struct cg_lb_pool *p, size_t first, size_t end, uint32_t mask,
		       bool equal, uint64_t k)
{
	for (size_t i = first; i < end; i++) {
		if (!(mask & (1u << i)))
			continue;
		uint64_t w = equal ? 1 : p->members[i].weight;
		if (k < w)
			return (int)i;
		k -= w;
	}
	return -1; /* not reached: k < the sum of the weights */
}

int cg_lb_pick(const struct cg_lb_pool *p, uint64_t *cursor, cg_lb_available_fn *avail, void *ctx)
{
	for (size_t first = 0, end; first < p->num_members; first = end) {
		end = group_end(p, first);
		uint32_t mask;
		uint64_t weight;
		size_t n = group_available(p, first, end, avail, ctx, &mask, &weight);
		if (n == 0)
			continue;
		bool equal = weight == 0;
		uint64_t slots = equal ? n : weight;
		return slot_member(p, first, end, mask, equal, (*cursor)++ % slots);
	}
	return -1;
}
