/* APIM's json-to-xml and xml-to-json policies (docs/policies.md): the
 * request body (inbound) or the response body (outbound) is converted by
 * gw/xmljson.c and its Content-Type set to application/xml or
 * application/json. The body is buffered whole first (bounded by
 * --max-buffered-body, as is the converted body). */
#ifndef CG_GW_XMLJSONPOL_H
#define CG_GW_XMLJSONPOL_H

#include "gw/pipeline.h"

/* Runs a CG_STEP_JSON_TO_XML or CG_STEP_XML_TO_JSON step. Nothing happens
 * (CG_PIPE_CONTINUE) in on-error, for an empty body, when `apply` asks for
 * a Content-Type the message does not have, or when consider-accept-header
 * is true and the request's Accept header refuses the target type. A body
 * that is not valid JSON/XML (or an XML body with a DOCTYPE) is an error
 * (400 inbound, 502 outbound) that leaves the body as it was, as is a body
 * with a Content-Encoding (415 / 502) or a result over the cap (413 / 502);
 * an `apply` or `namespace-separator` expression with a value APIM does
 * not define is a 500 PolicyValueInvalid. */
enum cg_pipe_rc cg_xjp_run(struct cg_pipe *p, const struct cg_step *st);

#endif
