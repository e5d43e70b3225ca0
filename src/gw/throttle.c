/* Throttling policies over the shared counters (throttle.h, limits.h). */
#include "gw/throttle.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "expr/ctx.h"
#include "expr/expr.h"
#include "gw/limits.h"
#include "gw/worker.h"
#include "policy/policy.h"

/* APIM's default first-period-start, 0001-01-01T00:00:00Z, in Unix ms. */
#define QUOTA_ORIGIN_MS (-62135596800000LL)
#define RATE_MAX_PERIOD 300 /* seconds (APIM) */

/* An <api> or <operation> limit inside rate-limit or quota (product
 * policies only: src/policy/validate.c). It is matched with the request's
 * API and operation when the policy runs, not when it is built: a product
 * pipeline may be shared by several APIs of the product. */
struct cg_throttle_sub {
	bool by_id;          /* id given: matched with the id, else name with the display name */
	struct cg_str sel;   /* that id or name (matched ignoring ASCII case) */
	uint64_t calls;
	uint64_t period;     /* seconds; quota 0: never renews */
	struct cg_throttle_sub *ops; /* an <api>'s <operation>s */
	size_t num_ops;
};

struct cg_throttle {
	const struct cg_pol_attr *calls, *period, *key, *cond, *count; /* limit-concurrency: max-count in calls */
	struct cg_str retry_hdr, retry_var, remain_hdr, remain_var, total_hdr;
	int64_t origin_ms;  /* quota windows start at origin + k * period */
	bool deferred;      /* increment-condition or increment-count is an expression */
	struct cg_throttle_sub *apis; /* rate-limit, quota: <api> limits */
	size_t num_apis;
};

/* An increment counted at the end of outbound. */
struct cg_throttle_pending {
	struct cg_throttle_pending *next;
	const struct cg_step *st;
	struct cg_limit_key key;
	struct cg_limit_window w;
};

static bool is_quota(enum cg_step_kind k)
{
	return k == CG_STEP_QUOTA || k == CG_STEP_QUOTA_KEY;
}

static struct cg_str lit(const struct cg_pol_node *n, const char *name)
{
	const struct cg_pol_attr *a = cg_pol_attr_get(n, name);
	return a ? a->value : CG_STR_NULL;
}

static uint64_t lit_u64(const struct cg_pol_node *n, const char *name, uint64_t dflt)
{
	uint64_t u;
	return cg_str_to_u64(lit(n, name), UINT32_MAX, &u) ? u : dflt;
}

static size_t count_named(const struct cg_pol_node *n, const char *name)
{
	size_t k = 0;
	for (const struct cg_pol_node *c = n->children; c; c = c->next)
		k += cg_str_eq(c->name, cg_str_from_c(name));
	return k;
}

/* The <api> (or an <api>'s <operation>) children of n, in order. The
 * loader checked them: calls and renewal-period are literal integers; a
 * quota's limit without renewal-period takes period, the enclosing
 * element's (src/policy/validate.c; rate-limit's always have one). */
static int build_subs(struct cg_arena *a, const struct cg_pol_node *n, const char *kind, uint64_t period,
		      struct cg_throttle_sub **out, size_t *num)
{
	*num = count_named(n, kind);
	*out = *num ? cg_arena_zalloc(a, *num * sizeof(**out)) : NULL;
	if (*num && !*out)
		return -1;
	size_t k = 0;
	for (const struct cg_pol_node *c = n->children; c; c = c->next) {
		if (!cg_str_eq(c->name, cg_str_from_c(kind)))
			continue;
		struct cg_throttle_sub *u = &(*out)[k++];
		const struct cg_pol_attr *id = cg_pol_attr_get(c, "id");
		u->by_id = id != NULL;
		u->sel = cg_str_trim_space(id ? id->value : lit(c, "name"));
		u->calls = lit_u64(c, "calls", 0);
		u->period = lit_u64(c, "renewal-period", period);
		if (strcmp(kind, "api") == 0 && build_subs(a, c, "operation", u->period, &u->ops, &u->num_ops) != 0)
			return -1;
	}
	return 0;
}

int cg_throttle_build(struct cg_arena *a, const struct cg_pol_node *n, struct cg_step *st,
		      struct cg_pipeline *pl, char *err, size_t errlen)
{
	struct cg_throttle *t = cg_arena_zalloc(a, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->throttle = t;
	for (size_t i = 0; i < n->num_attrs; i++)
		if (n->attrs[i].is_expr && memmem(n->attrs[i].value.ptr, n->attrs[i].value.len, "Certificate", 11))
			pl->uses_certificate = true;
	if (st->kind == CG_STEP_LIMIT_CONCURRENCY) {
		t->key = cg_pol_attr_get(n, "key");
		t->calls = cg_pol_attr_get(n, "max-count");
		return 0;
	}
	t->calls = cg_pol_attr_get(n, "calls");
	t->period = cg_pol_attr_get(n, "renewal-period");
	t->key = cg_pol_attr_get(n, "counter-key");
	t->cond = cg_pol_attr_get(n, "increment-condition");
	t->count = cg_pol_attr_get(n, "increment-count");
	t->deferred = (t->cond && t->cond->is_expr) || (t->count && t->count->is_expr);
	t->retry_hdr = lit(n, "retry-after-header-name");
	if (!t->retry_hdr.len)
		t->retry_hdr = CG_STR("Retry-After");
	t->retry_var = lit(n, "retry-after-variable-name");
	t->remain_hdr = lit(n, "remaining-calls-header-name");
	t->remain_var = lit(n, "remaining-calls-variable-name");
	t->total_hdr = lit(n, "total-calls-header-name");
	t->origin_ms = QUOTA_ORIGIN_MS;
	int64_t s;
	if (cg_pol_parse_utc(lit(n, "first-period-start"), &s) == 0)
		t->origin_ms = s * 1000;
	pl->outbound_work = true;
	if (build_subs(a, n, "api", lit_u64(n, "renewal-period", 0), &t->apis, &t->num_apis) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- run ----------------------------------------------------------------- */

/* rate-limit and quota count per subscription in APIM: with a key in
 * context, each subscription has its own counter at the scope the policy
 * is written at. Without one, the scope's counter is shared: every caller
 * of that API (API scope), operation (operation scope) or the whole
 * gateway (global scope). A subscription id cannot hold '\n', so the two
 * kinds of keys never meet. */
static struct cg_str scope_key(struct cg_pipe *p, const struct cg_pol_node *n)
{
	struct cg_str sub = p->ctx.subscription ? p->ctx.subscription->id : CG_STR("");
	const char *sep = sub.len ? "\n" : "";
	char *k;
	if (n->scope == CG_POL_SCOPE_API)
		k = cg_arena_printf(p->arena, "%.*s%sapi\n%.*s", CG_STR_FMT(sub), sep,
				    CG_STR_FMT(p->apiv.id));
	else if (n->scope == CG_POL_SCOPE_OPERATION)
		k = cg_arena_printf(p->arena, "%.*s%soperation\n%.*s\n%.*s", CG_STR_FMT(sub), sep,
				    CG_STR_FMT(p->apiv.id), CG_STR_FMT(p->opv.id));
	else
		k = cg_arena_printf(p->arena, "%.*s%s%s", CG_STR_FMT(sub), sep,
				    cg_pol_scope_name(n->scope));
	return cg_str_from_c(k);
}

static int set_int_var(struct cg_pipe *p, struct cg_str name, uint64_t v)
{
	if (!name.len)
		return 0;
	struct cg_expr_value val;
	memset(&val, 0, sizeof(val));
	val.kind = CG_EXPR_V_INT;
	val.u.i = v > INT32_MAX ? INT32_MAX : (int32_t)v;
	return cg_expr_vars_set(&p->vars, p->arena, name, &val);
}

static int add_hdr(struct cg_pipe *p, struct cg_str name, uint64_t v)
{
	if (!name.len)
		return 0;
	char *s = cg_arena_printf(p->arena, "%" PRIu64, v);
	return s ? cg_hlist_add(&p->limit_hdrs, p->arena, name, cg_str_from_c(s)) : -1;
}

/* .NET TimeSpan's "c" format at whole seconds: [d.]hh:mm:ss. */
static void timespan(char *out, size_t len, uint64_t s)
{
	uint64_t d = s / 86400;
	s %= 86400;
	if (d)
		snprintf(out, len, "%" PRIu64 ".%02u:%02u:%02u", d, (unsigned)(s / 3600), (unsigned)(s / 60 % 60),
			 (unsigned)(s % 60));
	else
		snprintf(out, len, "%02u:%02u:%02u", (unsigned)(s / 3600), (unsigned)(s / 60 % 60), (unsigned)(s % 60));
}

static void count_refusal(struct cg_pipe *p, enum cg_stats_throttle kind)
{
	if (p->stats)
		cg_stat_inc(&p->stats->throttled[kind]);
}

static enum cg_pipe_rc refuse(struct cg_pipe *p, const struct cg_step *st, const struct cg_limit_result *r)
{
	const struct cg_throttle *t = st->throttle;
	count_refusal(p, is_quota(st->kind) ? CG_STATS_QUOTA : CG_STATS_RATE_LIMIT);
	uint64_t secs = (r->retry_after_ms + 999) / 1000;
	if ((r->retry_after_ms && add_hdr(p, t->retry_hdr, secs) != 0) || set_int_var(p, t->retry_var, secs) != 0)
		return CG_PIPE_NOMEM;
	char msg[160];
	if (!is_quota(st->kind)) {
		snprintf(msg, sizeof(msg), "Rate limit is exceeded. Try again in %" PRIu64 " seconds.", secs);
		return cg_pipe_step_error(p, st, "RateLimitExceeded", msg, 429, msg);
	}
	if (r->retry_after_ms) {
		char ts[48];
		timespan(ts, sizeof(ts), secs);
		snprintf(msg, sizeof(msg), "Out of call volume quota. Quota will be replenished in %s.", ts);
	} else {
		snprintf(msg, sizeof(msg), "Out of call volume quota.");
	}
	return cg_pipe_step_error(p, st, "QuotaExceeded", msg, 403, msg);
}

static bool in_list(const struct cg_throttle_pending *l, const struct cg_limit_key *k)
{
	for (; l; l = l->next)
		if (memcmp(l->key.h, k->h, sizeof(k->h)) == 0)
			return true;
	return false;
}

static bool counted_already(const struct cg_pipe *p, const struct cg_limit_key *k)
{
	return in_list(p->throttle_counted, k) || in_list(p->throttle_pending, k);
}

/* After a counted call: remaining-calls-variable-name, remaining-calls-
 * header-name and total-calls-header-name. */
static enum cg_pipe_rc report(struct cg_pipe *p, const struct cg_throttle *t, uint64_t remaining, uint64_t calls)
{
	if (set_int_var(p, t->remain_var, remaining) != 0 || add_hdr(p, t->remain_hdr, remaining) != 0 ||
	    add_hdr(p, t->total_hdr, calls) != 0)
		return CG_PIPE_NOMEM;
	return CG_PIPE_CONTINUE;
}

/* ---- <api> and <operation> limits (product policies) ---------------------- */

/* One counter a call is checked against. */
struct limit_one {
	struct cg_limit_key k;
	struct cg_limit_window w;
	uint64_t calls;
};

static bool api_matches(const struct cg_pipe *p, const struct cg_throttle_sub *u)
{
	return cg_str_ieq(u->sel, u->by_id ? p->apiv.id : p->apiv.name);
}

static bool op_matches(const struct cg_pipe *p, const struct cg_throttle_sub *u)
{
	return p->ctx.operation && cg_str_ieq(u->sel, u->by_id ? p->opv.id : p->opv.name);
}

/* A selector in a counter key: 'i' (id) or 'n' (name), its length, itself
 * (a name may hold any character, so it is length-prefixed). */
#define SEL_FMT "%c%zu:%.*s"
#define SEL_ARGS(u) (u)->by_id ? 'i' : 'n', (u)->sel.len, (int)(u)->sel.len, (u)->sel.ptr

/* The counter of an <api> limit, or of an <operation> limit (op) of it:
 * per subscription, API id (and operation id) and selector, apart from
 * the policy's own counter and from rate-limit policies written at API or
 * operation scope (APIM: "applied independently"). The selector is part of
 * the key, so an <api id> and an <api name> naming the same API count
 * apart, each against its own calls. */
static int sub_limit(struct cg_pipe *p, const struct cg_step *st, const struct cg_throttle_sub *api,
		     const struct cg_throttle_sub *op, struct limit_one *out)
{
	const struct cg_throttle_sub *u = op ? op : api;
	struct cg_str sub = p->ctx.subscription ? p->ctx.subscription->id : CG_STR("");
	char *key = op ? cg_arena_printf(p->arena, "%.*s\nproduct-operation\n%.*s\n%.*s\n" SEL_FMT "\n" SEL_FMT,
					 CG_STR_FMT(sub), CG_STR_FMT(p->apiv.id), CG_STR_FMT(p->opv.id),
					 SEL_ARGS(api), SEL_ARGS(op))
		       : cg_arena_printf(p->arena, "%.*s\nproduct-api\n%.*s\n" SEL_FMT, CG_STR_FMT(sub),
					 CG_STR_FMT(p->apiv.id), SEL_ARGS(api));
	if (!key)
		return -1;
	bool quota = is_quota(st->kind);
	out->w = (struct cg_limit_window){ u->period * 1000, quota && u->period, st->throttle->origin_ms };
	out->calls = u->calls;
	cg_limit_key_make(&out->k, quota ? CG_LIMIT_QUOTA_SCOPE : CG_LIMIT_RATE_SCOPE, out->w.period_ms,
			  cg_str_from_c(key));
	return 0;
}

/* The limits of this call: the policy's own (self), then every <api> that
 * names the request's API and, inside it, every <operation> that names the
 * request's operation, in document order. Returns how many (*out in the
 * request arena; not set when only self applies), or 0 when out of
 * memory. */
static size_t collect(struct cg_pipe *p, const struct cg_step *st, const struct limit_one *self,
		      struct limit_one **out)
{
	const struct cg_throttle *t = st->throttle;
	size_t n = 1;
	for (size_t i = 0; i < t->num_apis; i++)
		if (api_matches(p, &t->apis[i])) {
			n++;
			for (size_t j = 0; j < t->apis[i].num_ops; j++)
				n += op_matches(p, &t->apis[i].ops[j]);
		}
	if (n == 1)
		return 1;
	struct limit_one *l = cg_arena_alloc(p->arena, n * sizeof(*l));
	if (!l)
		return 0;
	l[0] = *self;
	size_t k = 1;
	for (size_t i = 0; i < t->num_apis; i++) {
		const struct cg_throttle_sub *api = &t->apis[i];
		if (!api_matches(p, api))
			continue;
		if (sub_limit(p, st, api, NULL, &l[k++]) != 0)
			return 0;
		for (size_t j = 0; j < api->num_ops; j++)
			if (op_matches(p, &api->ops[j]) && sub_limit(p, st, api, &api->ops[j], &l[k++]) != 0)
				return 0;
	}
	*out = l;
	return n;
}

/* How long until a refused call could pass: a quota that never renews
 * (retry 0) never does. */
static uint64_t wait_ms(const struct cg_step *st, const struct cg_limit_result *r)
{
	return is_quota(st->kind) && !r->retry_after_ms ? UINT64_MAX : r->retry_after_ms;
}

/* A call under several limits (docs/policy-runtime.md): every limit is
 * checked first, and a call one of them refuses is counted in none; the
 * refusal names the longest wait among the limits that refuse, so a
 * client that waits that long finds them all renewed. An admitted call is
 * counted in each; the remaining calls reported are the fewest any of them
 * has left (with that limit's calls as the total). Two calls racing for a
 * last call may both pass the check: the one refused while counting has
 * been counted in the limits before the refusing one (never more calls
 * through than any limit allows). */
static enum cg_pipe_rc run_limits(struct cg_pipe *p, const struct cg_step *st, const struct limit_one *l,
				  size_t n)
{
	struct cg_limit_result r, worst = { .allowed = true }, low = { 0 };
	for (size_t i = 0; i < n; i++) {
		cg_limit_take(&l[i].k, &l[i].w, l[i].calls, 0, &r);
		if (!r.allowed && (worst.allowed || wait_ms(st, &r) > wait_ms(st, &worst)))
			worst = r;
	}
	if (!worst.allowed)
		return refuse(p, st, &worst);
	size_t lowest = 0;
	for (size_t i = 0; i < n; i++) {
		cg_limit_take(&l[i].k, &l[i].w, l[i].calls, 1, &r);
		if (!r.allowed)
			return refuse(p, st, &r);
		if (i == 0 || r.remaining < low.remaining) {
			low = r;
			lowest = i;
		}
	}
	return report(p, st->throttle, low.remaining, l[lowest].calls);
}

/* rate-limit(-by-key), quota(-by-key): one call window. */
static enum cg_pipe_rc run_window(struct cg_pipe *p, const struct cg_step *st)
{
	const struct cg_throttle *t = st->throttle;
	bool quota = is_quota(st->kind), counted = true;
	int64_t calls, period, n = 1;
	struct cg_str key;
	enum cg_pipe_rc rc = cg_pipe_attr_int(p, st, t->calls, 0, 0, INT32_MAX, &calls);
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_attr_int(p, st, t->period, 0, quota ? 0 : 1, quota ? UINT32_MAX : RATE_MAX_PERIOD,
				      &period);
	if (rc == CG_PIPE_CONTINUE && t->key)
		rc = cg_pipe_attr_str(p, st, t->key, &key);
	if (rc == CG_PIPE_CONTINUE && !t->deferred)
		rc = cg_pipe_attr_bool(p, st, t->cond, true, &counted);
	if (rc == CG_PIPE_CONTINUE && !t->deferred)
		rc = cg_pipe_attr_int(p, st, t->count, 1, 0, INT32_MAX, &n);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	if (!t->key && !(key = scope_key(p, st->node)).ptr)
		return CG_PIPE_NOMEM;
	struct cg_limit_window w = { (uint64_t)period * 1000, quota && period, t->origin_ms };
	enum cg_limit_kind kind = quota ? (t->key ? CG_LIMIT_QUOTA : CG_LIMIT_QUOTA_SCOPE)
					: (t->key ? CG_LIMIT_RATE : CG_LIMIT_RATE_SCOPE);
	struct cg_limit_key k;
	cg_limit_key_make(&k, kind, w.period_ms, key);
	if (t->num_apis) {
		/* a call to an API no <api> names has the policy's own limit only */
		struct limit_one self = { k, w, (uint64_t)calls }, *l;
		size_t nl = collect(p, st, &self, &l);
		if (nl != 1)
			return nl ? run_limits(p, st, l, nl) : CG_PIPE_NOMEM;
	}
	/* APIM: a quota-by-key key several policies count is counted once per
	 * request (the later ones only check it). */
	bool once = st->kind == CG_STEP_QUOTA_KEY && counted_already(p, &k);
	struct cg_limit_result r;
	/* a key this request counted already passes while count <= calls */
	cg_limit_take(&k, &w, (uint64_t)calls + once, t->deferred || !counted || once ? 0 : (uint64_t)n, &r);
	if (!r.allowed)
		return refuse(p, st, &r);
	if (!once && (t->deferred || (counted && st->kind == CG_STEP_QUOTA_KEY))) {
		struct cg_throttle_pending *d = cg_arena_zalloc(p->arena, sizeof(*d));
		if (!d)
			return CG_PIPE_NOMEM;
		struct cg_throttle_pending **list = t->deferred ? &p->throttle_pending : &p->throttle_counted;
		*d = (struct cg_throttle_pending){ *list, st, k, w };
		*list = d;
	}
	return report(p, t, r.remaining, (uint64_t)calls);
}

static void leave_cb(void *slot)
{
	cg_limit_leave(slot);
}

/* limit-concurrency: the body runs holding a slot of the key's scope. A
 * body that forwards the request keeps the slot until the request ends
 * (the backend call happens after the pipeline returns): the request
 * arena's cleanup gives it back, whatever way the request ends. */
static enum cg_pipe_rc run_concurrency(struct cg_pipe *p, const struct cg_step *st)
{
	const struct cg_throttle *t = st->throttle;
	struct cg_str key;
	int64_t max;
	enum cg_pipe_rc rc = cg_pipe_attr_str(p, st, t->key, &key);
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_attr_int(p, st, t->calls, 1, 1, INT32_MAX, &max);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	struct cg_limit_key k;
	cg_limit_key_make(&k, CG_LIMIT_CONCURRENCY, 0, key);
	struct cg_limit_slot *slot = cg_limit_enter(&k, (uint64_t)max);
	if (!slot) {
		count_refusal(p, CG_STATS_CONCURRENCY);
		char msg[120];
		snprintf(msg, sizeof(msg), "Concurrency limit of %" PRId64 " is exceeded.", max);
		return cg_pipe_step_error(p, st, "ConcurrencyLimitExceeded", msg, 429, "Too many requests");
	}
	bool forwarded = p->forward;
	rc = cg_pipe_run_steps(p, &st->children);
	if (p->forward && !forwarded) {
		if (cg_arena_on_cleanup(p->arena, leave_cb, slot) == 0)
			return rc;
		rc = CG_PIPE_NOMEM;
	}
	cg_limit_leave(slot);
	return rc;
}

enum cg_pipe_rc cg_throttle_run(struct cg_pipe *p, const struct cg_step *st)
{
	return st->kind == CG_STEP_LIMIT_CONCURRENCY ? run_concurrency(p, st) : run_window(p, st);
}

/* ---- end of the request ---------------------------------------------------- */

/* An expression evaluated after the response is made: a failure is logged
 * and the default kept (the call is counted: never less limiting). */
static void late_eval(struct cg_pipe *p, const struct cg_pol_attr *a, struct cg_expr_value *v)
{
	struct cg_expr_error e;
	struct cg_expr_value out;
	if (!a || !a->is_expr)
		return;
	if (!a->compiled || cg_expr_eval(a->compiled, &p->ectx, &out, &e) != 0) {
		cg_log(CG_LOG_INFO, "throttling: '%.*s' failed at the end of outbound (%s); the call is counted",
		       CG_STR_FMT(a->name), a->compiled ? e.message : "not compiled");
		return;
	}
	*v = out;
}

static void count_deferred(struct cg_pipe *p)
{
	p->respv.status_code = p->status;
	p->ctx.response = &p->respv;
	for (struct cg_throttle_pending *d = p->throttle_pending; d; d = d->next) {
		const struct cg_throttle *t = d->st->throttle;
		struct cg_expr_value cond = { .kind = CG_EXPR_V_BOOL, .u.b = true };
		struct cg_expr_value n = { .kind = CG_EXPR_V_INT, .u.i = 1 };
		if (t->cond && !t->cond->is_expr)
			cond.u.b = !cg_str_ieq_lit(t->cond->value, "false");
		else
			late_eval(p, t->cond, &cond);
		if (t->count && !t->count->is_expr) {
			uint64_t u;
			n.u.i = cg_str_to_u64(t->count->value, INT32_MAX, &u) ? (int32_t)u : 1;
		} else {
			late_eval(p, t->count, &n);
		}
		int64_t add = n.kind == CG_EXPR_V_INT ? n.u.i : n.kind == CG_EXPR_V_LONG ? n.u.l : 1;
		if ((cond.kind != CG_EXPR_V_BOOL || cond.u.b) && add > 0)
			cg_limit_add(&d->key, &d->w, (uint64_t)add);
	}
}

void cg_throttle_finish(struct cg_pipe *p)
{
	if (!p->throttle_done) {
		p->throttle_done = true;
		count_deferred(p);
	}
	for (size_t i = 0; i < p->limit_hdrs.n; i++) {
		const struct cg_expr_header *h = &p->limit_hdrs.items[i];
		if (!cg_hlist_find(&p->resp_hdrs, h->name) &&
		    cg_hlist_add(&p->resp_hdrs, p->arena, h->name, h->value) != 0)
			break; /* out of memory: the response goes without them */
	}
	p->respv.headers.items = p->resp_hdrs.items;
	p->respv.headers.n = p->resp_hdrs.n;
}
