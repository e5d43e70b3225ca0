/* find-and-replace: see findreplace.h and docs/policies.md. */
#include "gw/findreplace.h"

#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"

/* Every occurrence of from, left to right, without overlap. Returns the
 * number replaced, or -1 when the result would pass b's cap. */
static long replace_all(struct cg_buf *b, struct cg_str body, struct cg_str from, struct cg_str to)
{
	long n = 0;
	size_t i = 0;
	while (body.len - i >= from.len) {
		const char *hit = memmem(body.ptr + i, body.len - i, from.ptr, from.len);
		if (!hit)
			break;
		size_t at = (size_t)(hit - body.ptr);
		if (cg_buf_append(b, body.ptr + i, at - i) != 0 || cg_buf_append_str(b, to) != 0)
			return -1;
		i = at + from.len;
		n++;
	}
	if (n && cg_buf_append(b, body.ptr + i, body.len - i) != 0)
		return -1;
	return n;
}

enum cg_pipe_rc cg_far_run(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str from, to;
	enum cg_pipe_rc rc = cg_pipe_attr_str(p, st, st->a[0], &from);
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_attr_str(p, st, st->a[1], &to);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	if (!from.len)
		return cg_pipe_step_error(p, st, "PolicyValueInvalid", "The 'from' value of find-and-replace is empty.",
					  500, "Internal server error");
	/* on-error: the default error body is made after on-error; the
	 * backend's body is not the response any more. */
	if (p->section == CG_POL_ON_ERROR)
		return CG_PIPE_CONTINUE;
	bool resp = p->target_resp;
	struct cg_str body = cg_pipe_body(p, resp);
	if (body.len < from.len || !memmem(body.ptr, body.len, from.ptr, from.len))
		return CG_PIPE_CONTINUE;
	/* Compressed bytes cannot be edited as text (and would be corrupted). */
	if (cg_pipe_body_encoded(p, resp))
		return cg_pipe_step_error(p, st, "ContentEncodingNotSupported",
					  "find-and-replace cannot edit a body with a Content-Encoding.",
					  resp ? 502 : 415, resp ? "Bad Gateway" : "Unsupported Media Type");
	struct cg_buf b;
	cg_buf_init(&b, cg_pipe_max_body(p));
	long n = replace_all(&b, body, from, to);
	struct cg_str nb = n > 0 ? cg_arena_strdup_str(p->arena, cg_buf_str(&b)) : CG_STR_NULL;
	size_t len = b.len;
	cg_buf_free(&b);
	if (n < 0)
		return cg_pipe_step_error(p, st, "BodyTooLarge",
					  "The body after find-and-replace is larger than --max-buffered-body.",
					  resp ? 502 : 413, resp ? "Bad Gateway" : "Request Entity Too Large");
	if (len && !nb.ptr)
		return CG_PIPE_NOMEM;
	return cg_pipe_body_replace(p, resp, len ? nb : CG_STR(""));
}
