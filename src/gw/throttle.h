/* The throttling policies in the pipeline: rate-limit, rate-limit-by-key,
 * quota, quota-by-key (call windows) and limit-concurrency (slots), over
 * the shared counter table of limits.h. docs/policy-runtime.md has the
 * semantics and our choices where APIM says nothing. */
#ifndef CG_GW_THROTTLE_H
#define CG_GW_THROTTLE_H

#include <stddef.h>

#include "gw/pipeline.h"

struct cg_throttle;
struct cg_throttle_pending;

/* Builds st->throttle for node n (a step of kind CG_STEP_RATE_LIMIT ..
 * CG_STEP_LIMIT_CONCURRENCY) in arena a. Returns 0, or -1 with err (out
 * of memory). Forms not run (bandwidth quotas) never get here: the loader
 * refuses them (src/policy/validate.c). The <api>/<operation> limits of a
 * product policy's rate-limit or quota are kept with the step and matched
 * with the request's API and operation when it runs. */
int cg_throttle_build(struct cg_arena *a, const struct cg_pol_node *n, struct cg_step *st,
		      struct cg_pipeline *pl, char *err, size_t errlen);

/* Runs one throttling step: CG_PIPE_CONTINUE when the call is admitted,
 * CG_PIPE_ERROR with a 429 (rate limits, concurrency) or 403 (quotas). */
enum cg_pipe_rc cg_throttle_run(struct cg_pipe *p, const struct cg_step *st);

/* The response is final (end of outbound or on-error, or a short
 * circuit): counts what was deferred to now (increment-condition /
 * increment-count expressions, once per request) and adds the throttling
 * headers the response does not have yet. */
void cg_throttle_finish(struct cg_pipe *p);

#endif
