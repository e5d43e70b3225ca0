/* Diagnostics: "line:col: message" entries kept in an arena. */
#include <stdio.h>

#include "policy/internal.h"
#include "policy/policy.h"

void cg_pol_diags_init(struct cg_pol_diags *d, struct cg_arena *arena)
{
	memset(d, 0, sizeof(*d));
	d->arena = arena;
}

void pol_diag(struct cg_pol_diags *d, enum cg_pol_severity sev, struct cg_pol_pos pos,
	      struct cg_str origin, const char *fmt, ...)
{
	if (sev == CG_POL_ERROR)
		d->num_errors++;
	else
		d->num_warnings++;
	if (d->num_errors + d->num_warnings > CG_POL_MAX_DIAGS) {
		d->num_dropped++;
		return;
	}
	struct cg_pol_diag *dg = cg_arena_zalloc(d->arena, sizeof(*dg));
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!dg || n < 0) {
		d->num_dropped++;
		return;
	}
	dg->severity = sev;
	dg->pos = pos;
	dg->origin = cg_arena_strdup_str(d->arena, origin);
	dg->message = cg_arena_strdup_str(d->arena, cg_str_from_c(msg));
	if (!dg->origin.ptr || !dg->message.ptr) {
		d->num_dropped++; /* counted, not listed: every listed entry is whole */
		return;
	}
	if (d->tail)
		d->tail->next = dg;
	else
		d->head = dg;
	d->tail = dg;
}

int cg_pol_diag_format(const struct cg_pol_diag *dg, struct cg_buf *out)
{
	if (dg->origin.len &&
	    cg_buf_printf(out, "fragment '%.*s' ", CG_STR_FMT(dg->origin)) != 0)
		return -1;
	return cg_buf_printf(out, "%u:%u: %s%.*s", dg->pos.line, dg->pos.col,
			     dg->severity == CG_POL_WARNING ? "warning: " : "", CG_STR_FMT(dg->message));
}
