/* Backend pools and circuit breakers: the breaker's counting
 * and tripping, and the choice of a pool member (see lb.h). */
#include "gw/lb.h"

#include <stdlib.h>
#include <time.h>

int64_t cg_lb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* ---- circuit breaker --------------------------------------------------- */

bool cg_lb_is_failure(const struct cg_model_breaker *rule, int status)
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

struct cg_lb_breaker *cg_lb_breaker_new(void)
{
	struct cg_lb_breaker *b = malloc(sizeof(*b));
	if (!b)
		return NULL;
	cg_lb_breaker_init(b);
	atomic_init(&b->refs, 1);
	return b;
}

struct cg_lb_breaker *cg_lb_breaker_ref(struct cg_lb_breaker *b)
{
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
	return b;
}

void cg_lb_breaker_unref(struct cg_lb_breaker *b)
{
	if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
		cg_lb_breaker_destroy(b);
		free(b);
	}
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
static bool meets_condition(const struct cg_lb_breaker *b, const struct cg_model_breaker *rule)
{
	if (rule->count && b->failures < rule->count)
		return false;
	if (rule->percentage && (uint64_t)b->failures * 100 < (uint64_t)rule->percentage * b->calls)
		return false;
	return rule->count || rule->percentage;
}

static int64_t trip_duration(const struct cg_model_breaker *rule, int64_t retry_after_ms)
{
	if (!rule->accept_retry_after || retry_after_ms <= 0)
		return rule->trip_ms;
	return retry_after_ms > CG_STORE_MAX_DURATION_MS ? CG_STORE_MAX_DURATION_MS : retry_after_ms;
}

/* Called locked: opens a new counting interval at now when none is open
 * or the last one is over. */
static void roll_window(struct cg_lb_breaker *b, const struct cg_model_breaker *rule, int64_t now_ms)
{
	if (b->window_start_ms >= 0 && now_ms - b->window_start_ms < rule->interval_ms &&
	    now_ms >= b->window_start_ms)
		return;
	b->window_start_ms = now_ms;
	b->failures = 0;
	b->calls = 0;
}

bool cg_lb_breaker_report(struct cg_lb_breaker *b, const struct cg_model_breaker *rule, int64_t now_ms,
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
