/* Body helpers of the policies that rewrite a buffered body
 * (find-and-replace, json-to-xml, xml-to-json): see pipeline.h. */
#include <string.h>

#include "base/arena.h"
#include "gw/pipeline.h"

void cg_pipe_note_body(struct cg_pipeline *pl, int section)
{
	if (section == CG_POL_INBOUND || section == CG_POL_BACKEND)
		pl->uses_request_body = true;
	else if (section == CG_POL_OUTBOUND)
		pl->uses_response_body = true;
	/* on-error: nothing to buffer (these policies edit no body there). */
}

struct cg_str cg_pipe_body(const struct cg_pipe *p, bool resp)
{
	if (resp)
		return p->resp_body_set ? p->resp_body : p->respv.body ? p->respv.body->data : CG_STR_NULL;
	return p->req_body_set ? p->req_body : p->reqv.body ? p->reqv.body->data : CG_STR_NULL;
}

bool cg_pipe_body_encoded(const struct cg_pipe *p, bool resp)
{
	/* a body a policy made is ours, whatever the header says */
	if (resp ? p->resp_body_set : p->req_body_set)
		return false;
	const struct cg_expr_header *h = cg_hlist_find(resp ? &p->resp_hdrs : &p->req_hdrs, CG_STR("Content-Encoding"));
	return h && !cg_str_ieq_lit(cg_str_trim_ows(h->value), "identity") && cg_str_trim_ows(h->value).len;
}

enum cg_pipe_rc cg_pipe_body_replace(struct cg_pipe *p, bool resp, struct cg_str nb)
{
	struct cg_expr_body *view = cg_arena_zalloc(p->arena, sizeof(*view));
	if (!view)
		return CG_PIPE_NOMEM;
	view->data = nb;
	if (resp) {
		p->resp_body = nb;
		p->resp_body_set = true;
		p->resp_edited = true;
		p->respv.body = view;
	} else {
		p->req_body = nb;
		p->req_body_set = true;
		p->reqv.body = view;
	}
	return CG_PIPE_CONTINUE;
}
