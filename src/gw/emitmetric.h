/* emit-metric: APIM's custom metrics, published on the Prometheus
 * endpoint (/metrics on the admin listener) instead of Application
 * Insights. docs/policy-runtime.md ("Custom metrics") has the mapping and
 * our choices.
 *
 * Shape: one counter family per metric, named
 * certgate_custom_<namespace>_<name>_total (cg_pol_metric_name), one
 * series per set of dimension values, each the sum of the values emitted
 * with it. Dimension names become label names the same way.
 *
 * One registry for the process, outside the configuration snapshots: the
 * series of a metric outlive a configuration change, and a step only holds
 * a pointer to its family, which is never freed while the process runs.
 *
 * Concurrency: a family's series are split into shards, each a mutex over
 * chained buckets; a series' shard and bucket come from a seeded FNV-1a of
 * its label values. The chains cannot grow past the caps below, so a
 * client who shapes values to collide only lengthens one chain that is
 * bounded anyway.
 *
 * Bounded memory: at most max_series series for the process and
 * max_per_metric per family; a label set that would pass either is folded
 * into its family's overflow series ({overflow="true"}) and counted
 * (certgate_emit_metric_folded_total, and a warning at most every 10 s).
 * At most CG_EMETRIC_MAX_METRICS families: the emissions of further
 * metrics are dropped and counted. Label values are cut to
 * CG_EMETRIC_MAX_VALUE bytes (at a UTF-8 boundary). */
#ifndef CG_GW_EMITMETRIC_H
#define CG_GW_EMITMETRIC_H

#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "gw/pipeline.h"

#define CG_EMETRIC_DEFAULT_MAX_SERIES 10000u      /* --emit-metric-max-series */
#define CG_EMETRIC_DEFAULT_MAX_PER_METRIC 1000u   /* --emit-metric-max-series-per-metric */
#define CG_EMETRIC_MAX_METRICS 256u               /* families (metric names) per process */
#define CG_EMETRIC_MAX_VALUE 256u                 /* bytes of one label value */

struct cg_emetric_stats {
	uint64_t metrics;      /* families */
	uint64_t series;       /* live series, overflow series not counted */
	uint64_t folded;       /* emissions folded into an overflow series */
	uint64_t dropped_value;   /* emissions dropped: value negative, NaN or infinite */
	uint64_t dropped_metrics; /* emissions dropped: past CG_EMETRIC_MAX_METRICS families */
	uint64_t max_series, max_per_metric;
};

/* Sets the series limits (serve, once at start; tests between cases):
 * 1 <= max_per_metric <= max_series <= 10^7. Returns 0, or -1 (nothing
 * changed) for limits out of range. */
int cg_emetric_configure(uint64_t max_series, uint64_t max_per_metric);

/* Frees every series and zeroes the counters; families stay (steps point
 * at them). For tests. */
void cg_emetric_clear(void);

/* Builds an emit-metric step (st->emetric) in arena when a snapshot is
 * built: finds or makes its family, sorts its dimensions by label, parses
 * a literal value. Returns 0, or -1 with err ("line:col: message") when out
 * of memory. Past CG_EMETRIC_MAX_METRICS the step is built without a
 * family and its emissions are dropped (counted). */
int cg_emetric_build(struct cg_arena *arena, const struct cg_pol_node *n, struct cg_step *st, char *err,
		     size_t errlen);

/* Runs an emit-metric step: evaluates the value and the dimensions and
 * adds the value to its series. CG_PIPE_ERROR (500, PolicyValueInvalid)
 * when the value expression gives something other than a number; an
 * expression that fails is an ExpressionValueEvaluationFailure as
 * anywhere. A negative, NaN or infinite number is dropped (counted), not
 * an error: a counter cannot go down, and a metric never fails a request. */
enum cg_pipe_rc cg_emetric_run(struct cg_pipe *p, const struct cg_step *st);

/* Appends every family in Prometheus text format, then the registry's own
 * metrics (certgate_emit_metric_*). Returns 0 or -1 (out of memory). */
int cg_emetric_render(struct cg_buf *out);

void cg_emetric_stats(struct cg_emetric_stats *out);

/* Appends a label value escaped for the exposition format (backslash,
 * quote, newline); metrics.c escapes certificate subjects with it too.
 * Returns 0 or -1 (out of memory). */
int cg_emetric_label_escape(struct cg_buf *out, struct cg_str v);

/* The stored form of a label value: at most CG_EMETRIC_MAX_VALUE bytes cut
 * at a UTF-8 boundary, every byte of an invalid UTF-8 sequence and every
 * NUL replaced by '?'. Writes into out[CG_EMETRIC_MAX_VALUE], returns the
 * length. */
size_t cg_emetric_clean_value(struct cg_str in, char *out);

#endif
