/* json-to-xml and xml-to-json: see xmljsonpol.h and docs/policies.md. */
#include "gw/xmljsonpol.h"

#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "gw/xmljson.h"

/* application/xml, text/xml, anything+xml (or the JSON equivalents). */
static bool is_media(struct cg_str mt, bool xml)
{
	if (xml)
		return cg_str_ieq_lit(mt, "application/xml") || cg_str_ieq_lit(mt, "text/xml") ||
		       (mt.len > 4 && cg_str_ieq_lit(cg_str_sub(mt, mt.len - 4, 4), "+xml"));
	return cg_str_ieq_lit(mt, "application/json") || cg_str_ieq_lit(mt, "text/json") ||
	       (mt.len > 5 && cg_str_ieq_lit(cg_str_sub(mt, mt.len - 5, 5), "+json"));
}

/* The media type of a Content-Type or Accept element (before ';'). */
static struct cg_str media_type(struct cg_str v, struct cg_str *params)
{
	long semi = cg_str_find_char(v, ';');
	*params = semi < 0 ? CG_STR("") : cg_str_sub(v, (size_t)semi + 1, v.len - (size_t)semi - 1);
	return cg_str_trim_ows(semi < 0 ? v : cg_str_sub(v, 0, (size_t)semi));
}

/* An Accept element with q=0 ("not acceptable"). */
static bool q_zero(struct cg_str params)
{
	for (long semi; params.len; params = semi < 0 ? CG_STR("") : cg_str_sub(params, (size_t)semi + 1,
										  params.len - (size_t)semi - 1)) {
		semi = cg_str_find_char(params, ';');
		struct cg_str kv = cg_str_trim_ows(semi < 0 ? params : cg_str_sub(params, 0, (size_t)semi));
		if (kv.len < 3 || (kv.ptr[0] != 'q' && kv.ptr[0] != 'Q') || kv.ptr[1] != '=')
			continue;
		for (size_t i = 2; i < kv.len; i++)
			if (kv.ptr[i] != '0' && !(kv.ptr[i] == '.' && i == 3))
				return false;
		return true;
	}
	return false;
}

/* Our reading of consider-accept-header (docs/policies.md): no Accept
 * header, or one with an element that admits the target type. */
static bool accepts(const struct cg_pipe *p, bool xml)
{
	const struct cg_expr_header *h = cg_hlist_find(&p->req_hdrs, CG_STR("Accept"));
	if (!h || !cg_str_trim_ows(h->value).len)
		return true;
	struct cg_str rest = h->value, el, params;
	while (cg_str_next_csv(&rest, &el)) {
		struct cg_str mt = media_type(el, &params);
		if (q_zero(params))
			continue;
		if (cg_str_eq_lit(mt, "*/*") || cg_str_ieq_lit(mt, "application/*") ||
		    (xml && cg_str_ieq_lit(mt, "text/*")) || is_media(mt, xml))
			return true;
	}
	return false;
}

static bool content_type_is(const struct cg_pipe *p, bool resp, bool xml)
{
	const struct cg_expr_header *h = cg_hlist_find(resp ? &p->resp_hdrs : &p->req_hdrs, CG_STR("Content-Type"));
	struct cg_str params;
	return h && is_media(media_type(h->value, &params), xml);
}

static enum cg_pipe_rc bad_value(struct cg_pipe *p, const struct cg_step *st, const char *what)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "Invalid value of '%s' in %.*s.", what, CG_STR_FMT(st->node->name));
	return cg_pipe_step_error(p, st, "PolicyValueInvalid", msg, 500, "Internal server error");
}

/* apply and consider-accept-header: whether this message is converted.
 * from_xml: the source format (xml-to-json). */
static enum cg_pipe_rc applies(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *apply,
			       const struct cg_pol_attr *consider, bool from_xml, bool *go)
{
	struct cg_str a;
	bool ca = true;
	enum cg_pipe_rc rc = cg_pipe_attr_str(p, st, apply, &a);
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_attr_bool(p, st, consider, true, &ca);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	bool by_type = cg_str_eq(a, cg_str_from_c(from_xml ? "content-type-xml" : "content-type-json"));
	if (!by_type && !cg_str_eq_lit(a, "always"))
		return bad_value(p, st, "apply");
	*go = (!by_type || content_type_is(p, p->target_resp, from_xml)) && (!ca || accepts(p, !from_xml)) &&
	      cg_pipe_body(p, p->target_resp).len;
	return CG_PIPE_CONTINUE;
}

/* The converter's verdict: the new body and its Content-Type, or an
 * error that leaves the message as it was. */
static enum cg_pipe_rc finish(struct cg_pipe *p, const struct cg_step *st, enum cg_xj_rc xr, struct cg_str out,
			      const char *err, const char *ctype)
{
	bool resp = p->target_resp;
	char msg[600];
	switch (xr) {
	case CG_XJ_NOMEM:
		return CG_PIPE_NOMEM;
	case CG_XJ_INVALID:
		snprintf(msg, sizeof(msg), "%.*s could not convert the %s body: %s", CG_STR_FMT(st->node->name),
			 resp ? "response" : "request", err);
		return cg_pipe_step_error(p, st, "BodyConversionFailed", msg, resp ? 502 : 400,
					  resp ? "Bad Gateway" : msg);
	case CG_XJ_TOO_LARGE:
		snprintf(msg, sizeof(msg), "The body after %.*s is larger than --max-buffered-body.",
			 CG_STR_FMT(st->node->name));
		return cg_pipe_step_error(p, st, "BodyTooLarge", msg, resp ? 502 : 413,
					  resp ? "Bad Gateway" : "Request Entity Too Large");
	case CG_XJ_OK:
		break;
	}
	struct cg_hlist *l = resp ? &p->resp_hdrs : &p->req_hdrs;
	cg_hlist_remove(l, CG_STR("Content-Type"));
	if (cg_hlist_add(l, p->arena, CG_STR("Content-Type"), cg_str_from_c(ctype)) != 0)
		return CG_PIPE_NOMEM;
	struct cg_expr_headers *view = resp ? &p->respv.headers : &p->reqv.headers;
	view->items = l->items;
	view->n = l->n;
	return cg_pipe_body_replace(p, resp, out);
}

static enum cg_pipe_rc run_to_xml(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str sep = CG_STR("_"), prefix = CG_STR(""), block = CG_STR("");
	enum cg_pipe_rc rc = CG_PIPE_CONTINUE;
	if (st->a[2])
		rc = cg_pipe_attr_str(p, st, st->a[2], &sep);
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_attr_str(p, st, st->a[3], &prefix);
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_attr_str(p, st, st->attr_block, &block);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	if (sep.len != 1)
		return bad_value(p, st, "namespace-separator");
	struct cg_xj_j2x_opts o = { sep.ptr[0], prefix, block };
	char err[400];
	struct cg_str out = CG_STR_NULL;
	enum cg_xj_rc xr = cg_xj_json_to_xml(cg_pipe_body(p, p->target_resp), &o, cg_pipe_max_body(p), p->arena,
					     &out, err, sizeof(err));
	return finish(p, st, xr, out, err, "application/xml");
}

static enum cg_pipe_rc run_to_json(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str kind;
	bool always = false;
	enum cg_pipe_rc rc = cg_pipe_attr_str(p, st, st->a[0], &kind);
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_attr_bool(p, st, st->a[3], false, &always);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	if (!cg_str_eq_lit(kind, "direct") && !cg_str_eq_lit(kind, "javascript-friendly"))
		return bad_value(p, st, "kind");
	struct cg_xj_x2j_opts o = { cg_str_eq_lit(kind, "direct") ? CG_XJ_DIRECT : CG_XJ_JS_FRIENDLY, always };
	char err[400];
	struct cg_str out = CG_STR_NULL;
	enum cg_xj_rc xr = cg_xj_xml_to_json(cg_pipe_body(p, p->target_resp), &o, cg_pipe_max_body(p), p->arena,
					     &out, err, sizeof(err));
	return finish(p, st, xr, out, err, "application/json");
}

enum cg_pipe_rc cg_xjp_run(struct cg_pipe *p, const struct cg_step *st)
{
	/* on-error: the default error body is made after on-error; the
	 * backend's body is not the response any more (as find-and-replace). */
	if (p->section == CG_POL_ON_ERROR)
		return CG_PIPE_CONTINUE;
	bool to_xml = st->kind == CG_STEP_JSON_TO_XML, go = false;
	enum cg_pipe_rc rc = applies(p, st, st->a[to_xml ? 0 : 1], st->a[to_xml ? 1 : 2], !to_xml, &go);
	if (rc != CG_PIPE_CONTINUE || !go)
		return rc;
	if (cg_pipe_body_encoded(p, p->target_resp))
		return cg_pipe_step_error(p, st, "ContentEncodingNotSupported",
					  p->target_resp ? "The response body has a Content-Encoding; it cannot be converted."
							 : "The request body has a Content-Encoding; it cannot be converted.",
					  p->target_resp ? 502 : 415, p->target_resp ? "Bad Gateway" : "Unsupported Media Type");
	return to_xml ? run_to_xml(p, st) : run_to_json(p, st);
}
