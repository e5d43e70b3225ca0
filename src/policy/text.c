/* Text passes before libxml2: named values, the rawxml pre-pass with its
 * C#-aware expression scanner, and the offset maps back to the original. */
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"

/* Growth cap for t1/t2: the expanded text limit plus room for escapes, so
 * a document right at the limit still gets its escapes. */
#define POL_T_MAX ((size_t)CG_POL_MAX_EXPANDED_BYTES * 6u)

static int map_add(struct pol_map *m, size_t out, size_t src, int exact)
{
	if (m->n && m->v[m->n - 1].out == out) {
		/* A later anchor at the same output offset wins anyway: reuse. */
		m->v[m->n - 1].src = src;
		m->v[m->n - 1].exact = exact;
		return 0;
	}
	if (exact && m->n && m->v[m->n - 1].exact && m->v[m->n - 1].src + (out - m->v[m->n - 1].out) == src)
		return 0; /* continues the previous exact run */
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;
		struct pol_anchor *nv = realloc(m->v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		m->v = nv;
		m->cap = nc;
	}
	m->v[m->n++] = (struct pol_anchor){ out, src, exact };
	return 0;
}

static size_t map_lookup(const struct pol_map *m, size_t o)
{
	if (!m->n)
		return o;
	size_t lo = 0, hi = m->n; /* find the last anchor with out <= o */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].out <= o)
			lo = mid;
		else
			hi = mid;
	}
	const struct pol_anchor *a = &m->v[lo];
	if (a->out > o)
		return a->src;
	return a->exact ? a->src + (o - a->out) : a->src;
}

static int lines_of(struct cg_str s, uint32_t **out, size_t *n)
{
	size_t cnt = 1;
	for (size_t i = 0; i < s.len; i++)
		if (s.ptr[i] == '\n')
			cnt++;
	uint32_t *v = malloc(cnt * sizeof(*v));
	if (!v)
		return -1;
	size_t k = 0;
	v[k++] = 0;
	for (size_t i = 0; i < s.len; i++)
		if (s.ptr[i] == '\n')
			v[k++] = (uint32_t)(i + 1);
	*out = v;
	*n = cnt;
	return 0;
}

int pol_text_init(struct pol_text *pt, struct cg_str orig, struct cg_str origin)
{
	memset(pt, 0, sizeof(*pt));
	pt->orig = orig;
	pt->origin = origin;
	cg_buf_init(&pt->t1, POL_T_MAX);
	cg_buf_init(&pt->t2, POL_T_MAX);
	return lines_of(orig, &pt->lines, &pt->num_lines);
}

void pol_text_free(struct pol_text *pt)
{
	free(pt->lines);
	free(pt->lines2);
	free(pt->m1.v);
	free(pt->m2.v);
	free(pt->elems);
	free(pt->attrs);
	cg_buf_free(&pt->t1);
	cg_buf_free(&pt->t2);
	memset(pt, 0, sizeof(*pt));
}

struct cg_pol_pos pol_pos_orig(struct pol_text *pt, size_t off)
{
	if (off > pt->orig.len)
		off = pt->orig.len;
	size_t lo = 0, hi = pt->num_lines;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (pt->lines[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	/* Columns count code points: skip UTF-8 continuation bytes. */
	uint32_t col = 1;
	size_t i = pt->lines[lo];
	if (pt->cache_col && pt->cache_line == lo && pt->cache_off <= off) {
		i = pt->cache_off;
		col = pt->cache_col;
	} else if (lo == 0 && off >= 3 && pt->orig.len >= 3 && memcmp(pt->orig.ptr, "\xEF\xBB\xBF", 3) == 0) {
		i = 3; /* a UTF-8 byte order mark is invisible in editors: no column */
	}
	for (; i < off; i++)
		if (((unsigned char)pt->orig.ptr[i] & 0xC0) != 0x80)
			col++;
	pt->cache_line = lo;
	pt->cache_off = off;
	pt->cache_col = col;
	return (struct cg_pol_pos){ (uint32_t)lo + 1, col, (uint32_t)off };
}

struct cg_pol_pos pol_pos_t1(struct pol_text *pt, size_t off1)
{
	return pol_pos_orig(pt, map_lookup(&pt->m1, off1));
}

struct cg_pol_pos pol_pos_t2(struct pol_text *pt, size_t off2)
{
	return pol_pos_t1(pt, map_lookup(&pt->m2, off2));
}

/* libxml2 reports line and column in t2; its column counts from 1. */
struct cg_pol_pos pol_pos_t2_linecol(struct pol_text *pt, int line, int col)
{
	if (!pt->lines2 && lines_of(cg_buf_str(&pt->t2), &pt->lines2, &pt->num_lines2) != 0)
		return pol_pos_orig(pt, 0);
	if (line < 1)
		line = 1;
	if ((size_t)line > pt->num_lines2)
		line = (int)pt->num_lines2;
	size_t off = pt->lines2[line - 1];
	size_t end = (size_t)line < pt->num_lines2 ? pt->lines2[line] : pt->t2.len;
	if (col > 1)
		off += (size_t)col - 1;
	if (off > end)
		off = end;
	return pol_pos_t2(pt, off);
}

/* ---- named values -------------------------------------------------- */

static int nv_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

/* One textual pass: {{name}} anywhere (attributes, text, inside expression
 * string literals) becomes the value. The value is not scanned again, so a
 * value holding {{x}} stays literal (APIM: no nested named values). Text
 * that merely looks like braces ("{{ }}", "{{a b}}") is left alone. */
int pol_named_values(struct pol_text *pt, const struct cg_pol_env *env, struct cg_pol_diags *d)
{
	const char *s = pt->orig.ptr;
	size_t n = pt->orig.len, i = 0, copied = 0;
	int errors = 0;
	if (map_add(&pt->m1, 0, 0, 1) != 0)
		goto oom;
	while (i + 1 < n) {
		if (s[i] != '{' || s[i + 1] != '{') {
			i++;
			continue;
		}
		size_t j = i + 2;
		while (j < n && nv_char(s[j]) && j - (i + 2) <= CG_POL_MAX_NAMED_VALUE_NAME)
			j++;
		size_t nlen = j - (i + 2);
		if (nlen == 0 || nlen > CG_POL_MAX_NAMED_VALUE_NAME || j + 1 >= n || s[j] != '}' ||
		    s[j + 1] != '}') {
			i++;
			continue;
		}
		struct cg_str name = cg_str_make(s + i + 2, nlen);
		const struct cg_pol_named_value *nv = NULL;
		for (size_t k = 0; env && k < env->num_named_values; k++)
			if (cg_str_eq(env->named_values[k].name, name)) {
				nv = &env->named_values[k];
				break;
			}
		if (!nv) {
			pol_diag(d, CG_POL_ERROR, pol_pos_orig(pt, i), pt->origin,
				 "Named value '%.*s' could not be found", CG_STR_FMT(name));
			errors++;
			i = j + 2;
			continue;
		}
		if (cg_buf_append(&pt->t1, s + copied, i - copied) != 0 ||
		    map_add(&pt->m1, pt->t1.len, i, 0) != 0 || cg_buf_append_str(&pt->t1, nv->value) != 0 ||
		    map_add(&pt->m1, pt->t1.len, j + 2, 1) != 0)
			goto too_big;
		i = copied = j + 2;
	}
	if (cg_buf_append(&pt->t1, s + copied, n - copied) != 0)
		goto too_big;
	if (pt->t1.len > CG_POL_MAX_EXPANDED_BYTES)
		goto too_big;
	return errors ? -1 : 0;
too_big:
	pol_diag(d, CG_POL_ERROR, pol_pos_orig(pt, 0), pt->origin,
		 "Policy text is larger than %u bytes after named values are substituted",
		 CG_POL_MAX_EXPANDED_BYTES);
	return -1;
oom:
	pol_diag(d, CG_POL_ERROR, pol_pos_orig(pt, 0), pt->origin, "Out of memory");
	return -1;
}

/* ---- C# scanner ---------------------------------------------------- */

struct cs {
	const char *s;
	size_t n;
	size_t err_off;
	const char *err;
};

static long cs_code(struct cs *c, size_t i, char closer, unsigned depth, int hole);

static long cs_fail(struct cs *c, size_t off, const char *msg)
{
	c->err_off = off;
	c->err = msg;
	return -1;
}

/* "..." with backslash escapes; i is just past the opening quote. */
static long cs_string(struct cs *c, size_t open, size_t i)
{
	while (i < c->n) {
		char ch = c->s[i];
		if (ch == '"')
			return (long)i + 1;
		if (ch == '\n')
			break;
		i += ch == '\\' ? 2 : 1;
	}
	return cs_fail(c, open, "Unterminated string literal in expression");
}

static long cs_verbatim(struct cs *c, size_t open, size_t i)
{
	while (i < c->n) {
		if (c->s[i] == '"') {
			if (i + 1 < c->n && c->s[i + 1] == '"') {
				i += 2;
				continue;
			}
			return (long)i + 1;
		}
		i++;
	}
	return cs_fail(c, open, "Unterminated string literal in expression");
}

/* $"..." or $@"...": {{ and }} are literal braces, { opens a code hole. */
static long cs_interp(struct cs *c, size_t open, size_t i, int verbatim, unsigned depth)
{
	if (depth >= CG_POL_MAX_EXPR_NEST)
		return cs_fail(c, open, "Expression is nested too deeply");
	while (i < c->n) {
		char ch = c->s[i];
		if (ch == '"') {
			if (verbatim && i + 1 < c->n && c->s[i + 1] == '"') {
				i += 2;
				continue;
			}
			return (long)i + 1;
		}
		if (ch == '\\' && !verbatim) {
			i += 2;
			continue;
		}
		if (ch == '\n' && !verbatim)
			break;
		if (ch == '{' || ch == '}') {
			if (i + 1 < c->n && c->s[i + 1] == ch) {
				i += 2;
				continue;
			}
			if (ch == '{') {
				long r = cs_code(c, i + 1, '}', depth + 1, 1);
				if (r < 0)
					return r;
				i = (size_t)r;
				continue;
			}
		}
		i++;
	}
	return cs_fail(c, open, "Unterminated string literal in expression");
}

static long cs_code(struct cs *c, size_t i, char closer, unsigned depth, int hole)
{
	size_t open = i ? i - 1 : 0;
	if (depth >= CG_POL_MAX_EXPR_NEST)
		return cs_fail(c, open, "Expression is nested too deeply");
	while (i < c->n) {
		char ch = c->s[i];
		long r;
		if (ch == closer)
			return (long)i + 1;
		switch (ch) {
		case '(':
			r = cs_code(c, i + 1, ')', depth + 1, 0);
			break;
		case '[':
			r = cs_code(c, i + 1, ']', depth + 1, 0);
			break;
		case '{':
			r = cs_code(c, i + 1, '}', depth + 1, 0);
			break;
		case ')':
		case ']':
		case '}':
			return cs_fail(c, i, ch == ')' ? "Unexpected ')' in expression"
					   : ch == ']' ? "Unexpected ']' in expression"
						       : "Unexpected '}' in expression");
		case '"':
			r = cs_string(c, i, i + 1);
			break;
		case '\'': {
			size_t j = i + 1;
			while (j < c->n && c->s[j] != '\'' && c->s[j] != '\n')
				j += c->s[j] == '\\' ? 2 : 1;
			if (j >= c->n || c->s[j] != '\'')
				return cs_fail(c, i, "Unterminated character literal in expression");
			r = (long)j + 1;
			break;
		}
		case '@':
			if (i + 1 < c->n && c->s[i + 1] == '"')
				r = cs_verbatim(c, i, i + 2);
			else if (i + 2 < c->n && c->s[i + 1] == '$' && c->s[i + 2] == '"')
				r = cs_interp(c, i, i + 3, 1, depth + 1);
			else
				r = (long)i + 1;
			break;
		case '$':
			if (i + 1 < c->n && c->s[i + 1] == '"')
				r = cs_interp(c, i, i + 2, 0, depth + 1);
			else if (i + 2 < c->n && c->s[i + 1] == '@' && c->s[i + 2] == '"')
				r = cs_interp(c, i, i + 3, 1, depth + 1);
			else
				r = (long)i + 1;
			break;
		case '/':
			if (i + 1 < c->n && c->s[i + 1] == '/') {
				size_t j = i + 2;
				while (j < c->n && c->s[j] != '\n')
					j++;
				r = (long)j;
			} else if (i + 1 < c->n && c->s[i + 1] == '*') {
				size_t j = i + 2;
				while (j + 1 < c->n && !(c->s[j] == '*' && c->s[j + 1] == '/'))
					j++;
				if (j + 1 >= c->n)
					return cs_fail(c, i, "Unterminated comment in expression");
				r = (long)j + 2;
			} else {
				r = (long)i + 1;
			}
			break;
		case ':':
			if (hole) {
				/* A format specifier ends the hole's code: {x:yyyy-MM-dd}. */
				size_t j = i + 1;
				while (j < c->n && c->s[j] != '}' && c->s[j] != '"')
					j++;
				if (j >= c->n || c->s[j] != '}')
					return cs_fail(c, open, "Unterminated string literal in expression");
				return (long)j + 1;
			}
			r = (long)i + 1;
			break;
		default:
			r = (long)i + 1;
		}
		if (r < 0)
			return r;
		i = (size_t)r;
	}
	return cs_fail(c, open, closer == ')' ? "Expression is not terminated: missing ')'"
			  : closer == ']' ? "Expression is not terminated: missing ']'"
					  : "Expression is not terminated: missing '}'");
}

long pol_cs_scan(const char *s, size_t n, size_t i, char closer, size_t *err_off, const char **err_msg)
{
	struct cs c = { s, n, 0, NULL };
	long r = cs_code(&c, i, closer, 0, 0);
	if (r < 0) {
		*err_off = c.err_off;
		*err_msg = c.err;
	}
	return r;
}

/* ---- rawxml pre-pass ----------------------------------------------- */

struct pp {
	struct pol_text *pt;
	struct cg_pol_diags *d;
	const char *s;
	size_t n;
	size_t copied; /* t1 bytes up to here are already in t2 */
	size_t stack[CG_POL_MAX_DEPTH];
	size_t depth;
};

static int pp_flush(struct pp *p, size_t upto)
{
	if (upto <= p->copied)
		return 0;
	if (map_add(&p->pt->m2, p->pt->t2.len, p->copied, 1) != 0 ||
	    cg_buf_append(&p->pt->t2, p->s + p->copied, upto - p->copied) != 0)
		return -1;
	p->copied = upto;
	return 0;
}

/* Escapes t1[a, b) into t2. In an attribute value, white space is written
 * as character references too: XML attribute-value normalisation would
 * otherwise turn a newline into a space and a // comment would swallow the
 * rest of an @{ } block. */
static int pp_escape(struct pp *p, size_t a, size_t b, int in_attr)
{
	if (pp_flush(p, a) != 0)
		return -1;
	for (size_t i = a; i < b; i++) {
		const char *rep = NULL;
		switch (p->s[i]) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '"': rep = in_attr ? "&quot;" : NULL; break;
		case '\'': rep = in_attr ? "&apos;" : NULL; break;
		case '\n': rep = in_attr ? "&#10;" : NULL; break;
		case '\r': rep = in_attr ? "&#13;" : NULL; break;
		case '\t': rep = in_attr ? "&#9;" : NULL; break;
		}
		if (!rep) {
			if (map_add(&p->pt->m2, p->pt->t2.len, i, 1) != 0 ||
			    cg_buf_append(&p->pt->t2, p->s + i, 1) != 0)
				return -1;
			continue;
		}
		if (map_add(&p->pt->m2, p->pt->t2.len, i, 0) != 0 ||
		    cg_buf_append(&p->pt->t2, rep, strlen(rep)) != 0)
			return -1;
	}
	p->copied = b;
	return 0;
}

static int pp_fail(struct pp *p, size_t off, const char *msg)
{
	pol_diag(p->d, CG_POL_ERROR, pol_pos_t1(p->pt, off), p->pt->origin, "%s", msg);
	return -1;
}

static long pp_find(struct pp *p, size_t i, const char *lit)
{
	size_t l = strlen(lit);
	for (; i + l <= p->n; i++)
		if (memcmp(p->s + i, lit, l) == 0)
			return (long)i;
	return -1;
}

/* If t1[i] starts an expression (@( or @{), returns its end; 0 if it is no
 * expression; -1 after reporting a scan error. */
static long pp_expr(struct pp *p, size_t i)
{
	if (i + 1 >= p->n || p->s[i] != '@' || (p->s[i + 1] != '(' && p->s[i + 1] != '{'))
		return 0;
	size_t eoff;
	const char *emsg;
	long e = pol_cs_scan(p->s, p->n, i + 2, p->s[i + 1] == '(' ? ')' : '}', &eoff, &emsg);
	if (e < 0) {
		pp_fail(p, eoff, emsg);
		return -1;
	}
	return e;
}

static int pp_text_at(struct pp *p, size_t off)
{
	if (p->depth) {
		struct pol_rec_elem *e = &p->pt->elems[p->stack[p->depth - 1]];
		if (e->text_off < 0)
			e->text_off = (long)off;
	}
	return 0;
}

static int pp_add_attr(struct pp *p, size_t name_off, size_t value_off)
{
	struct pol_text *pt = p->pt;
	if (pt->num_attrs == pt->cap_attrs) {
		size_t nc = pt->cap_attrs ? pt->cap_attrs * 2 : 64;
		struct pol_rec_attr *nv = realloc(pt->attrs, nc * sizeof(*nv));
		if (!nv)
			return -1;
		pt->attrs = nv;
		pt->cap_attrs = nc;
	}
	pt->attrs[pt->num_attrs++] = (struct pol_rec_attr){ name_off, value_off };
	pt->elems[pt->num_elems - 1].num_attrs++;
	return 0;
}

/* A quote at s[i] that cannot close an attribute value: what follows is
 * neither blank, '/', '>' nor the end. */
static int pp_raw_quote(const struct pp *p, size_t i)
{
	if (i + 1 >= p->n)
		return 0;
	char c = p->s[i + 1];
	return !pol_is_blank(c) && c != '/' && c != '>' && c != '?';
}

/* Is t1[i] == '&' the start of a reference XML knows without a DTD:
 * one of the five predefined entities or a character reference? */
static int pp_is_ref(const struct pp *p, size_t i)
{
	static const char *const names[] = { "amp;", "lt;", "gt;", "quot;", "apos;" };
	for (int k = 0; k < 5; k++) {
		size_t l = strlen(names[k]);
		if (i + 1 + l <= p->n && memcmp(p->s + i + 1, names[k], l) == 0)
			return 1;
	}
	size_t j = i + 1;
	if (j >= p->n || p->s[j] != '#')
		return 0;
	j++;
	int hex = j < p->n && p->s[j] == 'x';
	j += hex;
	size_t digits = 0;
	while (j < p->n && (hex ? ((p->s[j] >= '0' && p->s[j] <= '9') || ((p->s[j] | 0x20) >= 'a' && (p->s[j] | 0x20) <= 'f'))
				: (p->s[j] >= '0' && p->s[j] <= '9'))) {
		j++;
		digits++;
	}
	return digits && j < p->n && p->s[j] == ';';
}

/* rawxml literal text: APIM stores it unencoded, so a bare '&' (not a
 * reference), a '<' inside an attribute value and a quote that does not
 * end the value are written as references; everything else is left as is.
 * q is the attribute's quote, or 0 for element text. */
static int pp_fix_literal(struct pp *p, size_t a, size_t b, char q)
{
	for (size_t i = a; i < b; i++) {
		const char *rep = NULL;
		char c = p->s[i];
		if (c == '&' && !pp_is_ref(p, i))
			rep = "&amp;";
		else if (q && c == '<')
			rep = "&lt;";
		else if (q && c == q)
			rep = q == '"' ? "&quot;" : "&apos;";
		if (!rep)
			continue;
		if (pp_flush(p, i) != 0 || map_add(&p->pt->m2, p->pt->t2.len, i, 0) != 0 ||
		    cg_buf_append(&p->pt->t2, rep, strlen(rep)) != 0)
			return -1;
		p->copied = i + 1;
	}
	return 0;
}

/* Start tag at s[i] == '<'. Returns the offset after it, or -1. */
static long pp_start_tag(struct pp *p, size_t i, int rawxml)
{
	struct pol_text *pt = p->pt;
	if (pt->num_elems >= CG_POL_MAX_ELEMENTS)
		return pp_fail(p, i, "Policy document has more than 4096 elements");
	if (p->depth >= CG_POL_MAX_DEPTH)
		return pp_fail(p, i, "Elements are nested more than 32 levels deep");
	if (pt->num_elems == pt->cap_elems) {
		size_t nc = pt->cap_elems ? pt->cap_elems * 2 : 64;
		struct pol_rec_elem *nv = realloc(pt->elems, nc * sizeof(*nv));
		if (!nv)
			return pp_fail(p, i, "Out of memory");
		pt->elems = nv;
		pt->cap_elems = nc;
	}
	size_t j = i + 1;
	while (j < p->n && !pol_is_blank(p->s[j]) && p->s[j] != '/' && p->s[j] != '>')
		j++;
	pt->elems[pt->num_elems++] = (struct pol_rec_elem){ i, j - i - 1, pt->num_attrs, 0, -1 };
	for (;;) {
		while (j < p->n && pol_is_blank(p->s[j]))
			j++;
		if (j >= p->n)
			return -2;
		if (p->s[j] == '>') {
			p->stack[p->depth++] = pt->num_elems - 1;
			return (long)j + 1;
		}
		if (p->s[j] == '/') {
			if (j + 1 < p->n && p->s[j + 1] == '>')
				return (long)j + 2;
			return -2;
		}
		size_t name_off = j;
		while (j < p->n && !pol_is_blank(p->s[j]) && p->s[j] != '=' && p->s[j] != '/' &&
		       p->s[j] != '>')
			j++;
		if (j == name_off)
			return -2;
		while (j < p->n && pol_is_blank(p->s[j]))
			j++;
		if (j >= p->n || p->s[j] != '=')
			return -2;
		j++;
		while (j < p->n && pol_is_blank(p->s[j]))
			j++;
		if (j >= p->n || (p->s[j] != '"' && p->s[j] != '\''))
			return -2;
		char q = p->s[j];
		size_t v = j + 1;
		if (pp_add_attr(p, name_off, v) != 0)
			return pp_fail(p, i, "Out of memory");
		long e = rawxml ? pp_expr(p, v) : 0;
		if (e < 0)
			return -1;
		if (e > 0) {
			if ((size_t)e >= p->n || p->s[e] != q)
				return pp_fail(p, (size_t)e,
					       "Unexpected text after the expression; an expression must be the whole attribute value");
			if (pp_escape(p, v, (size_t)e, 1) != 0)
				return pp_fail(p, i, "Policy text is too large");
			j = (size_t)e + 1;
			continue;
		}
		size_t start = v;
		while (v < p->n && p->s[v] != q)
			v++;
		if (v >= p->n)
			return -2;
		if (rawxml && pp_raw_quote(p, v)) {
			/* rawxml keeps quotes raw in literal values too, as in
			 * validate-client-certificate subject="O="Contoso, Inc."":
			 * the value ends at a quote followed by what may follow an
			 * attribute; quotes before it are escaped (pp_fix_literal). */
			size_t end_q = v;
			while (end_q < p->n && (p->s[end_q] != q || pp_raw_quote(p, end_q)))
				end_q++;
			if (end_q >= p->n)
				return -2;
			v = end_q;
		}
		if (rawxml && pp_fix_literal(p, start, v, q) != 0)
			return pp_fail(p, i, "Policy text is too large");
		j = v + 1;
	}
}

/* Walks t1 as XML-ish text, records start tags, attributes and text
 * starts, and (rawxml) escapes expression spans into t2. Structure errors
 * that are not about expressions are left to libxml2, which reports them
 * better; the pre-pass just stops recording (incomplete). */
int pol_prepass(struct pol_text *pt, int rawxml, struct cg_pol_diags *d)
{
	struct pp p = { pt, d, pt->t1.data ? pt->t1.data : "", pt->t1.len, 0, { 0 }, 0 };
	size_t i = 0;
	while (i < p.n) {
		if (p.s[i] != '<') {
			size_t f = i;
			while (f < p.n && pol_is_blank(p.s[f]))
				f++;
			if (f >= p.n || p.s[f] == '<') {
				i = f;
				continue;
			}
			pp_text_at(&p, f);
			long e = rawxml && p.depth ? pp_expr(&p, f) : 0;
			if (e < 0)
				return -1;
			if (e > 0) {
				if (pp_escape(&p, f, (size_t)e, 0) != 0)
					return pp_fail(&p, f, "Policy text is too large");
				i = (size_t)e;
				continue;
			}
			size_t t = f;
			while (f < p.n && p.s[f] != '<')
				f++;
			if (rawxml && pp_fix_literal(&p, t, f, 0) != 0)
				return pp_fail(&p, t, "Policy text is too large");
			i = f;
			continue;
		}
		long r;
		if (i + 1 < p.n && p.s[i + 1] == '?') {
			r = pp_find(&p, i + 2, "?>");
			r = r < 0 ? -2 : r + 2;
		} else if (p.n - i >= 4 && memcmp(p.s + i, "<!--", 4) == 0) {
			r = pp_find(&p, i + 4, "-->");
			r = r < 0 ? -2 : r + 3;
		} else if (p.n - i >= 9 && memcmp(p.s + i, "<![CDATA[", 9) == 0) {
			r = pp_find(&p, i + 9, "]]>");
			if (r >= 0) {
				size_t f = i + 9;
				while (f < (size_t)r && pol_is_blank(p.s[f]))
					f++;
				if (f < (size_t)r)
					pp_text_at(&p, f);
			}
			r = r < 0 ? -2 : r + 3;
		} else if (i + 1 < p.n && p.s[i + 1] == '!') {
			/* DOCTYPE (and any other declaration): no DTDs, no entities. */
			return pp_fail(&p, i, "For security reasons DTD is prohibited in this XML document");
		} else if (i + 1 < p.n && p.s[i + 1] == '/') {
			r = pp_find(&p, i + 2, ">");
			if (r >= 0 && p.depth)
				p.depth--;
			r = r < 0 ? -2 : r + 1;
		} else {
			r = pp_start_tag(&p, i, rawxml);
		}
		if (r == -1)
			return -1;
		if (r == -2) {
			pt->incomplete = 1;
			break;
		}
		i = (size_t)r;
	}
	if (pp_flush(&p, p.n) != 0)
		return pp_fail(&p, 0, "Policy text is too large");
	/* Escapes may grow an expression sixfold ('"' -> "&quot;"); libxml2
	 * gets at most twice the expanded-text limit. */
	if (pt->t2.len > (size_t)CG_POL_MAX_EXPANDED_BYTES * 2u) {
		pol_diag(d, CG_POL_ERROR, pol_pos_orig(pt, 0), pt->origin,
			 "Policy text is larger than %u bytes after its expressions are escaped",
			 CG_POL_MAX_EXPANDED_BYTES * 2u);
		return -1;
	}
	return 0;
}
