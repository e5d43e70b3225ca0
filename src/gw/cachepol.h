/* The value cache policies in the pipeline: cache-lookup-value,
 * cache-store-value, cache-remove-value, over the process-wide store of
 * cache.h. docs/policy-runtime.md ("Value cache") has the semantics and
 * our choices where APIM says nothing. */
#ifndef CG_GW_CACHEPOL_H
#define CG_GW_CACHEPOL_H

#include "gw/pipeline.h"

/* Runs one step of kind CG_STEP_CACHE_LOOKUP, CG_STEP_CACHE_STORE or
 * CG_STEP_CACHE_REMOVE. CG_PIPE_ERROR (500, PolicyValueInvalid) for an
 * empty key, a duration out of range or a value the cache cannot hold;
 * CG_PIPE_NOMEM when memory runs out. A value too large to cache is not
 * stored (logged and counted), and the request goes on: APIM's cache
 * never promises that a stored value can be read back. */
enum cg_pipe_rc cg_cachepol_run(struct cg_pipe *p, const struct cg_step *st);

#endif
