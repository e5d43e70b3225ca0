/* APIM's find-and-replace policy (docs/policies.md): every occurrence of
 * `from` in the request body (inbound, backend) or the response body
 * (outbound) becomes `to`. The body is buffered whole for it (bounded by
 * --max-buffered-body) and sent with a new Content-Length. */
#ifndef CG_GW_FINDREPLACE_H
#define CG_GW_FINDREPLACE_H

#include "gw/pipeline.h"

/* Replaces, left to right without overlap (.NET String.Replace, ordinal).
 * An empty `from` (from an expression; a literal one is refused at load)
 * is an error, as is a body with a Content-Encoding (compressed bytes
 * would be corrupted) or a result over p->max_body. A body without any
 * occurrence is left as it is. In on-error there is no body to edit. */
enum cg_pipe_rc cg_far_run(struct cg_pipe *p, const struct cg_step *st);

#endif
