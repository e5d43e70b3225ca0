/* APIM's cors policy (docs/policies.md "cors"): the preflight answer the
 * gateway gives itself, and the CORS headers of allowed cross-origin
 * requests. The configuration is compiled once per snapshot
 * (cg_cors_build); requests only compare. */
#ifndef CG_GW_CORS_H
#define CG_GW_CORS_H

#include "gw/pipeline.h"

/* Compiles a validated <cors> element into st->cors (in arena): origins
 * parsed, method and header lists, expose-headers joined. Returns 0, or
 * -1 with err ("line:col: message") when out of memory. */
int cg_cors_build(struct cg_arena *arena, const struct cg_pol_node *n, struct cg_step *st, char *err,
		  size_t errlen);

/* The cors step of a request that is not a preflight the gateway answers.
 * No Origin header: nothing. An allowed Origin: the response headers are
 * kept in p->cors_hdrs (the first cors policy that allows it wins). A
 * refused Origin: an empty 200 that ends the pipeline when
 * terminate-unmatched-request is true (the default), else nothing. */
enum cg_pipe_rc cg_cors_run(struct cg_pipe *p, const struct cg_step *st);

/* Answers a CORS preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) with the cors policies that are direct
 * children of the pipeline's inbound section, and only them (APIM).
 * Returns CG_PIPE_RESPOND with the answer in p (200, empty body),
 * CG_PIPE_CONTINUE when inbound has no cors policy (the caller routes the
 * request as any other), CG_PIPE_ERROR (an expression failed) or
 * CG_PIPE_NOMEM. p must be initialised and filled. */
enum cg_pipe_rc cg_cors_preflight(struct cg_pipe *p);

/* Adds p->cors_hdrs to the response header list dst: each replaces a
 * header of the same name, except Vary, which is added unless dst's Vary
 * already names Origin. Returns 0, or -1 when the arena refuses. */
int cg_cors_apply(struct cg_pipe *p, struct cg_hlist *dst);

#endif
