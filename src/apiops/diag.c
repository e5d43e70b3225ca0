/* The diagnostics list of an import or export: lines gathered in a capped
 * buffer, so a folder with thousands of mistakes cannot grow it without
 * bound, and the user still sees the first ones and that more were cut. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "apiops/apiops-int.h"

void cg_apiops_diag_init(struct cg_apiops_diag *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	cg_buf_init(&d->buf, max);
}

void cg_apiops_diag_free(struct cg_apiops_diag *d)
{
	cg_buf_free(&d->buf);
}

static void add_line(struct cg_apiops_diag *d, const char *line, size_t n)
{
	if (d->cut)
		return;
	if (cg_buf_append(&d->buf, line, n) || cg_buf_append(&d->buf, "\n", 1))
		d->cut = true;
}

void cg_apiops_diag_add(struct cg_apiops_diag *d, bool is_error, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (is_error)
		d->errors++;
	else
		d->warnings++;
	add_line(d, line, (size_t)n);
}

/* "12:5: ..." : a position the store reports inside the text it was given. */
static bool starts_with_position(const char *s, size_t n)
{
	size_t i = 0, digits = 0;
	while (i < n && isdigit((unsigned char)s[i]))
		i++, digits++;
	if (!digits || i >= n || s[i++] != ':')
		return false;
	digits = 0;
	while (i < n && isdigit((unsigned char)s[i]))
		i++, digits++;
	return digits && i < n && s[i] == ':';
}

void cg_apiops_diag_note(struct cg_apiops_diag *d, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	add_line(d, line, (size_t)n);
}

void cg_apiops_diag_store(struct cg_apiops_diag *d, bool is_error, const char *file,
			  const char *msg)
{
	if (is_error)
		d->errors++;
	else
		d->warnings++;
	const char *p = msg;
	bool first = true;
	char line[4096];
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		int k;
		if (n == 0)
			k = 0;
		else if (starts_with_position(p, n))
			k = snprintf(line, sizeof(line), "%s:%.*s", file, (int)n, p);
		else if (first)
			/* Warnings say so, as the loader's "line:col: warning:"
			 * lines do, so they stand out in a list of errors. */
			k = snprintf(line, sizeof(line), "%s: %s%.*s", file,
				     !is_error && strncmp(p, "warning", 7) != 0 ? "warning: " : "",
				     (int)n, p);
		else
			k = snprintf(line, sizeof(line), "  %.*s", (int)n, p);
		if (k > 0)
			add_line(d, line, (size_t)k < sizeof(line) ? (size_t)k : sizeof(line) - 1);
		first = false;
		p += n;
		if (*p == '\n')
			p++;
	}
}

void cg_apiops_diag_out(const struct cg_apiops_diag *d, const char *head, char *err, size_t errlen)
{
	if (!errlen)
		return;
	size_t hl = strlen(head), bl = d->buf.len;
	while (bl && d->buf.data[bl - 1] == '\n')
		bl--; /* no trailing newline: callers print err with one */
	int n = snprintf(err, errlen, "%s%s%.*s%s", head, hl && bl ? "\n" : "", (int)bl,
			 bl ? d->buf.data : "", d->cut ? "\n..." : "");
	if (n >= 0 && (size_t)n >= errlen && errlen > 4)
		memcpy(err + errlen - 4, "...", 4);
}
