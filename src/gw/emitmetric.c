/* emit-metric: the registry of custom metrics and the policy step (see
 * emitmetric.h). */
#include "gw/emitmetric.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "base/log.h"
#include "expr/ctx.h"
#include "policy/policy.h"

#define SHARDS 8     /* per family */
#define BUCKETS 64   /* per shard */
#define LOG_EVERY_MS 10000
/* label + NUL + value + NUL for every dimension */
#define KEY_MAX (CG_POL_MAX_METRIC_DIMENSIONS * (CG_POL_MAX_METRIC_NAME + CG_EMETRIC_MAX_VALUE + 2))

struct series {
	struct series *next;
	uint64_t hash;
	double sum;     /* under its shard's lock */
	size_t key_len;
	char key[];     /* "label\0value\0" per dimension, labels sorted */
};

struct shard {
	pthread_mutex_t lock;
	struct series *b[BUCKETS];
	/* this shard's part of the overflow series: folding takes no lock
	 * but the one the emission holds already (summed when scraped) */
	double over_sum;
	bool over_used;
};

struct cg_emetric_family {
	struct cg_emetric_family *next;
	char *name;                   /* certgate_custom_<ns>_<name>_total */
	char *help;                   /* namespace and name as written */
	atomic_uint_fast64_t series;  /* live series of this family */
	struct shard shards[SHARDS];
};

struct cg_emetric_dim {
	char label[CG_POL_MAX_METRIC_NAME + 1];
	size_t label_len;
	enum cg_pol_metric_dim dflt;  /* used when value is NULL */
	const struct cg_pol_attr *value;
};

struct cg_emetric {
	struct cg_emetric_family *fam; /* NULL: past CG_EMETRIC_MAX_METRICS */
	const struct cg_pol_attr *value; /* NULL or literal: use literal */
	double literal;
	size_t ndims;
	struct cg_emetric_dim dims[];
};

static struct {
	pthread_mutex_t lock; /* the family list (appended by builds, read by scrapes) */
	struct cg_emetric_family *families;
	unsigned nfamilies;
	uint64_t seed;        /* set before the first family is published */
	atomic_uint_fast64_t series, folded, folded_logged, dropped_value, dropped_metrics, last_log_ms;
	atomic_uint_fast64_t max_series, max_per_metric;
} reg = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.max_series = CG_EMETRIC_DEFAULT_MAX_SERIES,
	.max_per_metric = CG_EMETRIC_DEFAULT_MAX_PER_METRIC,
};

/* ---- registry -------------------------------------------------------------- */

int cg_emetric_configure(uint64_t max_series, uint64_t max_per_metric)
{
	if (max_per_metric < 1 || max_per_metric > max_series || max_series > 10000000)
		return -1;
	atomic_store(&reg.max_series, max_series);
	atomic_store(&reg.max_per_metric, max_per_metric);
	return 0;
}

static void family_clear(struct cg_emetric_family *f)
{
	for (int s = 0; s < SHARDS; s++) {
		pthread_mutex_lock(&f->shards[s].lock);
		for (int b = 0; b < BUCKETS; b++) {
			struct series *e = f->shards[s].b[b];
			while (e) {
				struct series *next = e->next;
				free(e);
				e = next;
			}
			f->shards[s].b[b] = NULL;
		}
		f->shards[s].over_sum = 0;
		f->shards[s].over_used = false;
		pthread_mutex_unlock(&f->shards[s].lock);
	}
	atomic_store(&f->series, 0);
}

void cg_emetric_clear(void)
{
	pthread_mutex_lock(&reg.lock);
	for (struct cg_emetric_family *f = reg.families; f; f = f->next)
		family_clear(f);
	pthread_mutex_unlock(&reg.lock);
	atomic_store(&reg.series, 0);
	atomic_store(&reg.folded, 0);
	atomic_store(&reg.folded_logged, 0);
	atomic_store(&reg.dropped_value, 0);
	atomic_store(&reg.dropped_metrics, 0);
	atomic_store(&reg.last_log_ms, 0);
}

static struct cg_emetric_family *family_new(const char *name, const char *help)
{
	struct cg_emetric_family *f = calloc(1, sizeof(*f));
	if (!f || !(f->name = strdup(name)) || !(f->help = strdup(help))) {
		if (f)
			free(f->name);
		free(f);
		return NULL;
	}
	for (int s = 0; s < SHARDS; s++)
		pthread_mutex_init(&f->shards[s].lock, NULL);
	return f;
}

/* The family named name, made on first use. *full: the registry holds
 * CG_EMETRIC_MAX_METRICS families already (NULL returned). */
static struct cg_emetric_family *family_get(const char *name, const char *help, bool *full)
{
	*full = false;
	pthread_mutex_lock(&reg.lock);
	struct cg_emetric_family *f = reg.families, *last = NULL;
	for (; f && strcmp(f->name, name) != 0; f = f->next)
		last = f;
	if (!f && reg.nfamilies >= CG_EMETRIC_MAX_METRICS) {
		*full = true;
	} else if (!f && (f = family_new(name, help))) {
		if (!reg.nfamilies && RAND_bytes((unsigned char *)&reg.seed, sizeof(reg.seed)) != 1)
			reg.seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;
		if (last)
			last->next = f; /* appended: the scrape order stays the order of first use */
		else
			reg.families = f;
		reg.nfamilies++;
	}
	pthread_mutex_unlock(&reg.lock);
	return f;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One warning per LOG_EVERY_MS at most, with the count since the last. */
static void note_folded(const struct cg_emetric_family *f)
{
	uint64_t n = atomic_fetch_add(&reg.folded, 1) + 1;
	uint64_t now = now_ms(), last = atomic_load(&reg.last_log_ms);
	if (last && now - last < LOG_EVERY_MS)
		return;
	if (!atomic_compare_exchange_strong(&reg.last_log_ms, &last, now ? now : 1))
		return;
	uint64_t before = atomic_exchange(&reg.folded_logged, n);
	cg_log_warn("emit-metric: %s reached the series limit (%llu per metric, %llu in all): new label sets "
		    "are folded into its {overflow=\"true\"} series; %llu folded since the last such line "
		    "(one line per %d s at most)",
		    f->name, (unsigned long long)atomic_load(&reg.max_per_metric),
		    (unsigned long long)atomic_load(&reg.max_series), (unsigned long long)(n - before),
		    LOG_EVERY_MS / 1000);
}

/* Takes a place for a new series under both caps, or none. */
static bool reserve(struct cg_emetric_family *f)
{
	if (atomic_fetch_add(&f->series, 1) >= atomic_load(&reg.max_per_metric)) {
		atomic_fetch_sub(&f->series, 1);
		return false;
	}
	if (atomic_fetch_add(&reg.series, 1) >= atomic_load(&reg.max_series)) {
		atomic_fetch_sub(&reg.series, 1);
		atomic_fetch_sub(&f->series, 1);
		return false;
	}
	return true;
}

static void release(struct cg_emetric_family *f)
{
	atomic_fetch_sub(&reg.series, 1);
	atomic_fetch_sub(&f->series, 1);
}

static uint64_t key_hash(const char *key, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ reg.seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

/* Adds v to the series of key (made when missing and the caps allow;
 * folded into the overflow series otherwise). */
static void add(struct cg_emetric_family *f, const char *key, size_t n, double v)
{
	uint64_t h = key_hash(key, n);
	struct shard *sh = &f->shards[h % SHARDS];
	struct series **slot = &sh->b[(h / SHARDS) % BUCKETS];
	pthread_mutex_lock(&sh->lock);
	for (struct series *e = *slot; e; e = e->next)
		if (e->hash == h && e->key_len == n && memcmp(e->key, key, n) == 0) {
			e->sum += v;
			pthread_mutex_unlock(&sh->lock);
			return;
		}
	struct series *e = NULL;
	if (reserve(f) && !(e = malloc(sizeof(*e) + n)))
		release(f);
	if (e) {
		e->hash = h;
		e->sum = v;
		e->key_len = n;
		memcpy(e->key, key, n);
		e->next = *slot;
		*slot = e;
	} else {
		sh->over_sum += v; /* folded into the overflow series */
		sh->over_used = true;
	}
	pthread_mutex_unlock(&sh->lock);
	if (!e)
		note_folded(f);
}

/* ---- build ----------------------------------------------------------------- */

static int build_fail(const struct cg_pol_node *n, char *err, size_t errlen)
{
	snprintf(err, errlen, "%u:%u: emit-metric: out of memory", n->pos.line, n->pos.col);
	return -1;
}

/* certgate_custom_<namespace>_<name>_total, and its HELP text. */
static struct cg_emetric_family *build_family(const struct cg_pol_node *n, bool *full)
{
	const struct cg_pol_attr *na = cg_pol_attr_get(n, "name"), *nsa = cg_pol_attr_get(n, "namespace");
	struct cg_str ns = nsa ? nsa->value : CG_STR("API Management"); /* APIM's default */
	char nsb[CG_POL_MAX_METRIC_NAME + 1], nb[CG_POL_MAX_METRIC_NAME + 1];
	char name[2 * CG_POL_MAX_METRIC_NAME + 32], help[2 * CG_POL_MAX_METRIC_NAME + 80];
	/* the loader refused names without a letter or digit, or too long */
	if (!na || !cg_pol_metric_name(ns, nsb, sizeof(nsb)) || !cg_pol_metric_name(na->value, nb, sizeof(nb))) {
		*full = false;
		return NULL;
	}
	snprintf(name, sizeof(name), "certgate_custom_%s_%s_total", nsb, nb);
	snprintf(help, sizeof(help), "emit-metric '%.*s' of namespace '%.*s': sum of the values emitted.",
		 CG_STR_FMT(na->value), CG_STR_FMT(ns));
	/* HELP text escapes backslash and newline: keep neither */
	for (char *q = help; *q; q++)
		if (*q == '\\' || *q == '\n' || *q == '\r')
			*q = ' ';
	return family_get(name, help, full);
}

int cg_emetric_build(struct cg_arena *arena, const struct cg_pol_node *n, struct cg_step *st, char *err,
		     size_t errlen)
{
	size_t k = 0;
	for (const struct cg_pol_node *c = n->children; c; c = c->next)
		k++;
	struct cg_emetric *m = cg_arena_zalloc(arena, sizeof(*m) + k * sizeof(m->dims[0]));
	if (!m)
		return build_fail(n, err, errlen);
	bool full;
	m->fam = build_family(n, &full);
	if (!m->fam && !full)
		return build_fail(n, err, errlen);
	if (!m->fam)
		cg_log_warn("%u:%u: emit-metric: more than %u metric names in this process: the emissions of "
			    "this one are dropped (certgate_emit_metric_dropped_total{reason=\"metrics\"})",
			    n->pos.line, n->pos.col, CG_EMETRIC_MAX_METRICS);
	m->value = cg_pol_attr_get(n, "value");
	m->literal = 1.0; /* APIM's default */
	if (m->value && !m->value->is_expr) {
		char buf[64];
		snprintf(buf, sizeof(buf), "%.*s", CG_STR_FMT(m->value->value));
		m->literal = strtod(buf, NULL); /* the loader checked it */
	}
	for (const struct cg_pol_node *c = n->children; c; c = c->next) {
		const struct cg_pol_attr *na = cg_pol_attr_get(c, "name");
		struct cg_emetric_dim d = { .value = cg_pol_attr_get(c, "value") };
		d.dflt = na ? cg_pol_metric_dim(na->value) : CG_POL_DIM_CUSTOM;
		d.label_len = na ? cg_pol_metric_name(na->value, d.label, sizeof(d.label)) : 0;
		/* sorted by label: the same dimensions written in another
		 * order make the same series */
		size_t j = m->ndims;
		while (j > 0 && strcmp(m->dims[j - 1].label, d.label) > 0) {
			m->dims[j] = m->dims[j - 1];
			j--;
		}
		m->dims[j] = d;
		m->ndims++;
	}
	st->emetric = m;
	return 0;
}

/* ---- run ------------------------------------------------------------------- */

size_t cg_emetric_clean_value(struct cg_str in, char *out)
{
	size_t k = 0, i = 0;
	while (i < in.len) {
		const unsigned char *s = (const unsigned char *)in.ptr + i;
		size_t left = in.len - i, n = 1;
		bool ok = true;
		if (s[0] == 0)
			ok = false;
		else if (s[0] >= 0x80) {
			n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
			ok = n && n <= left;
			for (size_t j = 1; ok && j < n; j++)
				ok = (s[j] & 0xc0) == 0x80;
			/* overlong 3/4-byte forms, surrogates, past U+10FFFF */
			if (ok && n == 3)
				ok = !(s[0] == 0xe0 && s[1] < 0xa0) && !(s[0] == 0xed && s[1] >= 0xa0);
			if (ok && n == 4)
				ok = !(s[0] == 0xf0 && s[1] < 0x90) && !(s[0] == 0xf4 && s[1] >= 0x90);
			if (!ok)
				n = 1;
		}
		if (k + n > CG_EMETRIC_MAX_VALUE)
			break;
		if (ok)
			memcpy(out + k, s, n);
		else
			out[k] = '?';
		k += ok ? n : 1;
		i += n;
	}
	return k;
}

static enum cg_pipe_rc not_a_number(struct cg_pipe *p, const struct cg_step *st, const struct cg_expr_value *v)
{
	static const char *const names[] = {
		[CG_EXPR_V_NULL] = "null",         [CG_EXPR_V_BOOL] = "Boolean",   [CG_EXPR_V_CHAR] = "Char",
		[CG_EXPR_V_STRING] = "String",     [CG_EXPR_V_DATETIME] = "DateTime", [CG_EXPR_V_TIMESPAN] = "TimeSpan",
		[CG_EXPR_V_GUID] = "Guid",         [CG_EXPR_V_ARRAY] = "an array", [CG_EXPR_V_OBJ] = "an object",
		[CG_EXPR_V_BYTES] = "Byte[]",
	};
	const char *t = v->kind < sizeof(names) / sizeof(names[0]) && names[v->kind] ? names[v->kind] : "?";
	char msg[200];
	snprintf(msg, sizeof(msg), "The value of element 'emit-metric' must be a number (Double); the expression gave %s.",
		 t);
	return cg_pipe_step_error(p, st, "PolicyValueInvalid", msg, 500, "Internal server error");
}

static enum cg_pipe_rc metric_value(struct cg_pipe *p, const struct cg_step *st, double *out)
{
	const struct cg_emetric *m = st->emetric;
	if (!m->value || !m->value->is_expr) {
		*out = m->literal;
		return CG_PIPE_CONTINUE;
	}
	struct cg_expr_value v;
	enum cg_pipe_rc rc = cg_pipe_attr_value(p, st, m->value, &v);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	switch (v.kind) {
	case CG_EXPR_V_INT:
		*out = v.u.i;
		return CG_PIPE_CONTINUE;
	case CG_EXPR_V_LONG:
		*out = (double)v.u.l;
		return CG_PIPE_CONTINUE;
	case CG_EXPR_V_DOUBLE:
		*out = v.u.d;
		return CG_PIPE_CONTINUE;
	case CG_EXPR_V_DECIMAL:
		*out = ((double)v.u.dec.hi * 18446744073709551616.0 + (double)v.u.dec.lo) / pow(10, v.u.dec.scale);
		if (v.u.dec.neg)
			*out = -*out;
		return CG_PIPE_CONTINUE;
	default:
		return not_a_number(p, st, &v);
	}
}

/* A default dimension's value from the request (docs/policy-runtime.md). */
static struct cg_str default_value(const struct cg_pipe *p, enum cg_pol_metric_dim d)
{
	const struct cg_expr_context *c = &p->ctx;
	switch (d) {
	case CG_POL_DIM_API_ID:
		return c->api ? c->api->id : CG_STR_NULL;
	case CG_POL_DIM_OPERATION_ID:
		return c->operation ? c->operation->id : CG_STR_NULL;
	case CG_POL_DIM_PRODUCT_ID:
		return c->product ? c->product->id : CG_STR_NULL;
	case CG_POL_DIM_SUBSCRIPTION_ID:
		return c->subscription ? c->subscription->id : CG_STR_NULL;
	case CG_POL_DIM_LOCATION:
		return c->deployment ? c->deployment->region : CG_STR_NULL;
	case CG_POL_DIM_GATEWAY_ID:
		return c->deployment ? c->deployment->gateway_id : CG_STR_NULL;
	case CG_POL_DIM_BACKEND_ID:
		return p->backend ? p->backend->id : CG_STR_NULL;
	case CG_POL_DIM_USER_ID: /* no users here: context.User is null */
	default:
		return CG_STR_NULL;
	}
}

/* Appends "label\0value\0" to key. */
static size_t key_put(char *key, size_t k, const struct cg_emetric_dim *d, struct cg_str v)
{
	memcpy(key + k, d->label, d->label_len + 1);
	k += d->label_len + 1;
	k += cg_emetric_clean_value(v, key + k);
	key[k++] = '\0';
	return k;
}

enum cg_pipe_rc cg_emetric_run(struct cg_pipe *p, const struct cg_step *st)
{
	const struct cg_emetric *m = st->emetric;
	double v = 0; /* set when metric_value continues */
	enum cg_pipe_rc rc = metric_value(p, st, &v);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	char key[KEY_MAX];
	size_t k = 0;
	for (size_t i = 0; i < m->ndims; i++) {
		struct cg_str dv;
		if (m->dims[i].value)
			rc = cg_pipe_attr_str(p, st, m->dims[i].value, &dv);
		else
			dv = default_value(p, m->dims[i].dflt);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		k = key_put(key, k, &m->dims[i], dv);
	}
	if (!m->fam) {
		atomic_fetch_add(&reg.dropped_metrics, 1);
		return CG_PIPE_CONTINUE;
	}
	if (!(v >= 0) || isinf(v)) {
		atomic_fetch_add(&reg.dropped_value, 1);
		cg_log_debug("emit-metric %s: value %g dropped (a counter takes finite values >= 0)", m->fam->name, v);
		return CG_PIPE_CONTINUE;
	}
	add(m->fam, key, k, v);
	return CG_PIPE_CONTINUE;
}

/* ---- render ---------------------------------------------------------------- */

int cg_emetric_label_escape(struct cg_buf *out, struct cg_str v)
{
	int rc = 0;
	size_t from = 0;
	for (size_t i = 0; i < v.len && !rc; i++) {
		const char *esc = v.ptr[i] == '\\' ? "\\\\" : v.ptr[i] == '"' ? "\\\"" : v.ptr[i] == '\n' ? "\\n" : NULL;
		if (!esc)
			continue;
		rc = cg_buf_append(out, v.ptr + from, i - from);
		rc = rc ? rc : cg_buf_append(out, esc, 2);
		from = i + 1;
	}
	return rc ? rc : cg_buf_append(out, v.ptr + from, v.len - from);
}

static int render_series(struct cg_buf *out, const char *name, const struct series *e)
{
	int rc = cg_buf_printf(out, "%s{", name);
	for (size_t k = 0; k < e->key_len && !rc;) {
		const char *label = e->key + k;
		size_t ll = strlen(label);
		const char *val = label + ll + 1;
		size_t vl = strlen(val);
		rc = cg_buf_printf(out, "%s%s=\"", k ? "," : "", label);
		rc = rc ? rc : cg_emetric_label_escape(out, cg_str_make(val, vl));
		rc = rc ? rc : cg_buf_append(out, "\"", 1);
		k += ll + 1 + vl + 1;
	}
	return rc ? rc : cg_buf_printf(out, "} %.17g\n", e->sum);
}

static int render_family(struct cg_buf *out, struct cg_emetric_family *f)
{
	int rc = cg_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", f->name, f->help, f->name);
	double over = 0;
	bool used = false;
	for (int s = 0; s < SHARDS && !rc; s++) {
		pthread_mutex_lock(&f->shards[s].lock);
		for (int b = 0; b < BUCKETS && !rc; b++)
			for (const struct series *e = f->shards[s].b[b]; e && !rc; e = e->next)
				rc = render_series(out, f->name, e);
		over += f->shards[s].over_sum;
		used |= f->shards[s].over_used;
		pthread_mutex_unlock(&f->shards[s].lock);
	}
	if (used && !rc)
		rc = cg_buf_printf(out, "%s{overflow=\"true\"} %.17g\n", f->name, over);
	return rc;
}

void cg_emetric_stats(struct cg_emetric_stats *out)
{
	pthread_mutex_lock(&reg.lock);
	out->metrics = reg.nfamilies;
	pthread_mutex_unlock(&reg.lock);
	out->series = atomic_load(&reg.series);
	out->folded = atomic_load(&reg.folded);
	out->dropped_value = atomic_load(&reg.dropped_value);
	out->dropped_metrics = atomic_load(&reg.dropped_metrics);
	out->max_series = atomic_load(&reg.max_series);
	out->max_per_metric = atomic_load(&reg.max_per_metric);
}

int cg_emetric_render(struct cg_buf *out)
{
	int rc = 0;
	pthread_mutex_lock(&reg.lock);
	for (struct cg_emetric_family *f = reg.families; f && !rc; f = f->next)
		rc = render_family(out, f);
	pthread_mutex_unlock(&reg.lock);
	struct cg_emetric_stats s;
	cg_emetric_stats(&s);
	return rc ? rc
		  : cg_buf_printf(
			    out,
			    "# HELP certgate_emit_metric_series Series of emit-metric metrics (cap %llu, %llu per metric).\n"
			    "# TYPE certgate_emit_metric_series gauge\ncertgate_emit_metric_series %llu\n"
			    "# HELP certgate_emit_metric_folded_total Emissions folded into a metric's overflow series "
			    "(a new label set past a cap).\n"
			    "# TYPE certgate_emit_metric_folded_total counter\ncertgate_emit_metric_folded_total %llu\n"
			    "# HELP certgate_emit_metric_dropped_total Emissions dropped, by reason (value: negative, "
			    "NaN or infinite; metrics: past %u metric names).\n"
			    "# TYPE certgate_emit_metric_dropped_total counter\n"
			    "certgate_emit_metric_dropped_total{reason=\"value\"} %llu\n"
			    "certgate_emit_metric_dropped_total{reason=\"metrics\"} %llu\n",
			    (unsigned long long)s.max_series, (unsigned long long)s.max_per_metric,
			    (unsigned long long)s.series, (unsigned long long)s.folded, CG_EMETRIC_MAX_METRICS,
			    (unsigned long long)s.dropped_value, (unsigned long long)s.dropped_metrics);
}
