/* Evaluator: walks the typed tree. Every node costs one step (the budget
 * that bounds loops and scans); recursion is bounded by
 * CG_EXPR_MAX_EVAL_DEPTH. Temporaries go to the request arena; the common
 * path (property reads, comparisons on slices) allocates nothing. */
#include "expr/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "expr/ctx.h"

#define DT_MAX_TICKS 3155378975999999999LL

int cg_expr_throw(struct cg_expr_run *r, const char *type, const char *fmt, ...)
{
	r->err->status = CG_EXPR_EXCEPTION;
	snprintf(r->err->type, sizeof(r->err->type), "System.%s", type);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err->message, sizeof(r->err->message), fmt, ap);
	va_end(ap);
	return -1;
}

int cg_expr_budget(struct cg_expr_run *r, const char *what)
{
	r->err->status = CG_EXPR_BUDGET;
	snprintf(r->err->type, sizeof(r->err->type), "%s", "LimitExceeded");
	snprintf(r->err->message, sizeof(r->err->message), "expression %s limit exceeded", what);
	return -1;
}

int cg_expr_nomem(struct cg_expr_run *r)
{
	r->err->status = CG_EXPR_NOMEM;
	snprintf(r->err->type, sizeof(r->err->type), "%s", "OutOfMemory");
	snprintf(r->err->message, sizeof(r->err->message), "%s", "request arena exhausted");
	return -1;
}

char *cg_expr_strbuf(struct cg_expr_run *r, size_t n)
{
	if (n > r->max_string) {
		cg_expr_budget(r, "string length");
		return NULL;
	}
	char *p = cg_arena_alloc(r->ctx->arena, n ? n : 1);
	if (!p)
		cg_expr_nomem(r);
	return p;
}

static int null_ref(struct cg_expr_run *r)
{
	return cg_expr_throw(r, "NullReferenceException", "Object reference not set to an instance of an object.");
}

int cg_expr_nullable_empty(struct cg_expr_run *r)
{
	return cg_expr_throw(r, "InvalidOperationException", "Nullable object must have a value.");
}

static struct cg_expr_value vbool(bool b)
{
	struct cg_expr_value v = { .kind = CG_EXPR_V_BOOL };
	v.u.b = b;
	return v;
}

int cg_expr_tostr(struct cg_expr_run *r, const struct cg_expr_value *v, struct cg_str *out)
{
	if (v->kind == CG_EXPR_V_STRING) {
		*out = v->u.s;
		return 0;
	}
	if (v->kind == CG_EXPR_V_NULL) {
		*out = CG_STR("");
		return 0;
	}
	if (v->kind == CG_EXPR_V_OBJ && v->cls == CG_EXPR_T_X500) {
		/* X500DistinguishedName.ToString() is the type name; Name is the text */
		*out = CG_STR("System.Security.Cryptography.X509Certificates.X500DistinguishedName");
		return 0;
	}
	if (v->kind == CG_EXPR_V_BYTES) {
		*out = CG_STR("System.Byte[]");
		return 0;
	}
	if (v->kind == CG_EXPR_V_OBJ) {
		/* the object's own ToString() when the tables have one (IUrl,
		 * X509Certificate2, JToken, StringBuilder ...), as string + obj
		 * calls it in C# */
		for (size_t k = 0; k < cg_expr_n_members; k++) {
			const struct cg_expr_member *m = &cg_expr_members[k];
			if (m->owner == v->cls && (m->flags & MF_METHOD) && !(m->flags & MF_STATIC) && m->nmin == 0 &&
			    strcmp(m->name, "ToString") == 0) {
				struct cg_expr_value s;
				/* a ToString that renders through tostr again must not
				 * loop: the depth guard turns that into a budget error */
				if (++r->depth > CG_EXPR_MAX_EVAL_DEPTH) {
					r->depth--;
					return cg_expr_budget(r, "depth");
				}
				int rc = m->fn(r, v, NULL, 0, &s);
				r->depth--;
				if (rc < 0)
					return -1;
				*out = s.kind == CG_EXPR_V_STRING ? s.u.s : CG_STR("");
				return 0;
			}
		}
	}
	if (v->kind == CG_EXPR_V_OBJ || v->kind == CG_EXPR_V_ARRAY) {
		char b[200];
		struct cg_expr_type t = v->kind == CG_EXPR_V_ARRAY ? cg_expr_ty2(CG_EXPR_T_ARRAY, v->cls) :
								   cg_expr_ty(v->cls);
		const char *n = cg_expr_type_name(t, b, sizeof(b));
		size_t len = strlen(n);
		char *p = cg_expr_strbuf(r, len);
		if (!p)
			return -1;
		memcpy(p, n, len);
		*out = cg_str_make(p, len);
		return 0;
	}
	char buf[128];
	int n = cg_expr_format_scalar(v, CG_STR_NULL, buf, sizeof(buf));
	if (n < 0)
		return cg_expr_throw(r, "FormatException", "Input string was not in a correct format.");
	char *p = cg_expr_strbuf(r, (size_t)n);
	if (!p)
		return -1;
	memcpy(p, buf, (size_t)n);
	*out = cg_str_make(p, (size_t)n);
	return 0;
}

static bool values_equal(const struct cg_expr_value *a, const struct cg_expr_value *b)
{
	if (a->kind == CG_EXPR_V_NULL || b->kind == CG_EXPR_V_NULL)
		return a->kind == b->kind;
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case CG_EXPR_V_BOOL: return a->u.b == b->u.b;
	case CG_EXPR_V_CHAR: return a->u.c == b->u.c;
	case CG_EXPR_V_INT: return a->u.i == b->u.i;
	case CG_EXPR_V_LONG: return a->u.l == b->u.l;
	case CG_EXPR_V_DOUBLE: return a->u.d == b->u.d;
	case CG_EXPR_V_DECIMAL: return cg_expr_dec_cmp(a, b) == 0;
	case CG_EXPR_V_STRING: return cg_str_eq(a->u.s, b->u.s);
	case CG_EXPR_V_DATETIME:
	case CG_EXPR_V_TIMESPAN: return a->u.ticks == b->u.ticks;
	case CG_EXPR_V_GUID: return memcmp(a->u.guid, b->u.guid, 16) == 0;
	case CG_EXPR_V_ARRAY: return a->u.arr == b->u.arr;
	case CG_EXPR_V_BYTES: return a->u.s.ptr == b->u.s.ptr && a->u.s.len == b->u.s.len;
	case CG_EXPR_V_OBJ: return a->u.obj == b->u.obj && a->cls == b->cls && a->aux == b->aux;
	}
	return false;
}

static int cmp3(double a, double b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

/* ---- sequences: arrays and the dictionaries of the context view ---- */

static uint32_t seq_len(const struct cg_expr_value *v);
static void seq_item(const struct cg_expr_value *v, uint32_t i, struct cg_expr_value *out);

uint32_t cg_expr_seq_len(const struct cg_expr_value *v)
{
	return seq_len(v);
}

void cg_expr_seq_item(const struct cg_expr_value *v, uint32_t i, struct cg_expr_value *out)
{
	seq_item(v, i, out);
}

static uint32_t seq_len(const struct cg_expr_value *v)
{
	if (v->kind == CG_EXPR_V_ARRAY)
		return v->u.arr->n;
	if (v->kind == CG_EXPR_V_BYTES)
		return (uint32_t)v->u.s.len;
	if (v->kind == CG_EXPR_V_STRING)
		return (uint32_t)v->u.s.len;
	if (v->kind != CG_EXPR_V_OBJ)
		return 0;
	switch (v->cls) {
	case CG_EXPR_T_JTOKEN: return cg_expr_json_len(v);
	case CG_EXPR_T_LIST:
	case CG_EXPR_T_SET:
	case CG_EXPR_T_DICT: return cg_expr_coll_len(v);
	case CG_EXPR_T_MATCHES: return ((const struct cg_expr_array *)v->u.obj)->n;
	case CG_EXPR_T_CERTDICT: return ((const struct cg_expr_cert_table *)v->u.obj)->n;
	case CG_EXPR_T_HEADERS: return (uint32_t)((const struct cg_expr_headers *)v->u.obj)->n;
	case CG_EXPR_T_STRDICT: return (uint32_t)((const struct cg_expr_strmap *)v->u.obj)->n;
	case CG_EXPR_T_VARIABLES: return ((const struct cg_expr_vars *)v->u.obj)->n;
	}
	return 0;
}

/* Element i. Dictionary entries are KeyValuePair objects pointing at the
 * entry (aux/idx in u.obj): no allocation. */
static void seq_item(const struct cg_expr_value *v, uint32_t i, struct cg_expr_value *out)
{
	memset(out, 0, sizeof(*out));
	if (v->kind == CG_EXPR_V_ARRAY) {
		*out = v->u.arr->items[i];
		return;
	}
	if (v->kind == CG_EXPR_V_BYTES) {
		out->kind = CG_EXPR_V_INT;
		out->u.i = (unsigned char)v->u.s.ptr[i];
		return;
	}
	if (v->kind == CG_EXPR_V_STRING) {
		out->kind = CG_EXPR_V_CHAR;
		out->u.c = (unsigned char)v->u.s.ptr[i];
		return;
	}
	if (v->cls == CG_EXPR_T_JTOKEN) {
		cg_expr_json_item(v, i, out);
		return;
	}
	if (v->cls == CG_EXPR_T_LIST || v->cls == CG_EXPR_T_SET || v->cls == CG_EXPR_T_DICT) {
		cg_expr_coll_item(v, i, out);
		return;
	}
	if (v->cls == CG_EXPR_T_MATCHES) {
		*out = ((const struct cg_expr_array *)v->u.obj)->items[i];
		return;
	}
	out->kind = CG_EXPR_V_OBJ;
	switch (v->cls) {
	case CG_EXPR_T_CERTDICT:
		out->cls = CG_EXPR_T_CERTKV;
		out->u.obj = ((const struct cg_expr_cert_table *)v->u.obj)->items[i];
		break;
	case CG_EXPR_T_HEADERS:
		out->cls = CG_EXPR_T_HEADERKV;
		out->u.ref.obj = &((const struct cg_expr_headers *)v->u.obj)->items[i];
		out->u.ref.owner = v->u.obj; /* for Value: all lines of this name */
		break;
	case CG_EXPR_T_STRDICT:
		out->cls = CG_EXPR_T_STRKV;
		out->u.obj = &((const struct cg_expr_strmap *)v->u.obj)->items[i];
		break;
	case CG_EXPR_T_VARIABLES:
		out->cls = CG_EXPR_T_VARKV;
		out->u.obj = &((const struct cg_expr_vars *)v->u.obj)->items[i];
		break;
	}
}

/* Headers enumerate one entry per distinct name (IReadOnlyDictionary); a
 * repeated name is skipped at its later lines. */
static bool seq_skip(const struct cg_expr_value *v, uint32_t i)
{
	if (v->kind != CG_EXPR_V_OBJ || v->cls != CG_EXPR_T_HEADERS)
		return false;
	const struct cg_expr_headers *h = v->u.obj;
	for (uint32_t k = 0; k < i; k++)
		if (cg_str_ieq(h->items[k].name, h->items[i].name))
			return true;
	return false;
}

static int ev(struct cg_expr_run *r, const struct cg_expr_node *e, struct cg_expr_value *out);

/* byte[] values are compact (V_BYTES); an array of byte values built
 * element by element is packed once it is complete. */
static int pack_bytes(struct cg_expr_run *r, struct cg_expr_value *v)
{
	if (v->kind != CG_EXPR_V_ARRAY || v->cls != CG_EXPR_T_BYTE)
		return 0;
	const struct cg_expr_array *a = v->u.arr;
	char *p = cg_expr_strbuf(r, a->n);
	if (!p)
		return -1;
	for (uint32_t k = 0; k < a->n; k++)
		p[k] = (char)(uint8_t)a->items[k].u.i;
	v->kind = CG_EXPR_V_BYTES;
	v->u.s = cg_str_make(p, a->n);
	return 0;
}

/* Strings enumerate UTF-16 code units, as .NET. ASCII text is indexed in
 * place; other text is decoded once into a char array (bounded by
 * max_items) so enumeration stays linear. */
static int chars_of(struct cg_expr_run *r, struct cg_expr_value *v)
{
	if (v->kind != CG_EXPR_V_STRING)
		return 0;
	struct cg_str s = v->u.s;
	size_t i;
	for (i = 0; i < s.len && (unsigned char)s.ptr[i] < 0x80; i++)
		;
	if (i == s.len)
		return 0;
	size_t n = 0;
	for (i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if ((c & 0xc0) != 0x80)
			n += c >= 0xf0 ? 2 : 1;
	}
	struct cg_expr_array *a = cg_expr_new_array(r, (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n), CG_EXPR_T_CHAR);
	if (!a)
		return -1;
	size_t k = 0;
	for (i = 0; i < s.len && k < n;) {
		unsigned char c = (unsigned char)s.ptr[i];
		int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		uint32_t cp = extra == 3 ? c & 7u : extra == 2 ? c & 15u : extra == 1 ? c & 31u : c;
		i++;
		for (int e = 0; e < extra && i < s.len; e++, i++)
			cp = (cp << 6) | ((unsigned char)s.ptr[i] & 0x3fu);
		memset(&a->items[k], 0, sizeof(a->items[k]));
		a->items[k].kind = CG_EXPR_V_CHAR;
		if (cp >= 0x10000 && k + 1 < n) {
			cp -= 0x10000;
			a->items[k++].u.c = (uint16_t)(0xd800 + (cp >> 10));
			memset(&a->items[k], 0, sizeof(a->items[k]));
			a->items[k].kind = CG_EXPR_V_CHAR;
			a->items[k++].u.c = (uint16_t)(0xdc00 + (cp & 0x3ff));
		} else {
			a->items[k++].u.c = (uint16_t)cp;
		}
	}
	a->n = (uint32_t)k;
	v->kind = CG_EXPR_V_ARRAY;
	v->cls = CG_EXPR_T_CHAR;
	v->u.arr = a;
	return 0;
}

int cg_expr_char_array(struct cg_expr_run *r, struct cg_str s, struct cg_expr_value *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_STRING;
	out->u.s = s;
	if (chars_of(r, out) < 0)
		return -1;
	if (out->kind == CG_EXPR_V_ARRAY)
		return 0;
	/* ASCII: one char per byte */
	struct cg_expr_array *a = cg_expr_new_array(r, (uint32_t)s.len, CG_EXPR_T_CHAR);
	if (!a)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		memset(&a->items[i], 0, sizeof(a->items[i]));
		a->items[i].kind = CG_EXPR_V_CHAR;
		a->items[i].u.c = (unsigned char)s.ptr[i];
	}
	out->kind = CG_EXPR_V_ARRAY;
	out->cls = CG_EXPR_T_CHAR;
	out->u.arr = a;
	return 0;
}

struct cg_expr_array *cg_expr_new_array(struct cg_expr_run *r, uint32_t n, uint8_t elem)
{
	if (n > r->max_items) {
		cg_expr_budget(r, "collection size");
		return NULL;
	}
	struct cg_expr_array *a = cg_arena_alloc(r->ctx->arena, sizeof(*a) + sizeof(a->items[0]) * (n ? n : 1));
	if (!a) {
		cg_expr_nomem(r);
		return NULL;
	}
	a->n = n;
	(void)elem;
	return a;
}

static int compare_values(const struct cg_expr_value *a, const struct cg_expr_value *b)
{
	if (a->kind == CG_EXPR_V_NULL || b->kind == CG_EXPR_V_NULL)
		return (a->kind != CG_EXPR_V_NULL) - (b->kind != CG_EXPR_V_NULL);
	switch (a->kind) {
	case CG_EXPR_V_INT: return cmp3(a->u.i, b->u.i);
	case CG_EXPR_V_LONG: return a->u.l < b->u.l ? -1 : a->u.l > b->u.l;
	case CG_EXPR_V_DOUBLE: return cmp3(a->u.d, b->u.d);
	case CG_EXPR_V_DECIMAL: return cg_expr_dec_cmp(a, b);
	case CG_EXPR_V_CHAR: return cmp3(a->u.c, b->u.c);
	case CG_EXPR_V_BOOL: return cmp3(a->u.b, b->u.b);
	case CG_EXPR_V_DATETIME:
	case CG_EXPR_V_TIMESPAN: return a->u.ticks < b->u.ticks ? -1 : a->u.ticks > b->u.ticks;
	case CG_EXPR_V_STRING:
		/* Comparer<string>.Default is culture-aware (see docs) */
		return cg_expr_culture_cmp(a->u.s, b->u.s, false);
	default:
		return 0;
	}
}

static int ev_linq(struct cg_expr_run *r, const struct cg_expr_node *e, struct cg_expr_value *out);

static int exec_body(struct cg_expr_run *r, const struct cg_expr_node *s, struct cg_expr_value *ret);

static int call_lambda(struct cg_expr_run *r, const struct cg_expr_node *lam, const struct cg_expr_value *arg,
		       struct cg_expr_value *out)
{
	r->locals[lam->slot] = *arg;
	if (lam->a->op == S_BLOCK)
		return exec_body(r, lam->a, out);
	return ev(r, lam->a, out);
}

/* Must match check.c's enum linq. */
enum { LQ_ANY = 1, LQ_ALL, LQ_COUNT, LQ_FIRST, LQ_FIRSTORDEFAULT, LQ_LAST, LQ_LASTORDEFAULT,
	LQ_WHERE, LQ_SELECT, LQ_CONTAINS, LQ_TOARRAY, LQ_TOLIST, LQ_SUM, LQ_MAX, LQ_MIN,
	LQ_ORDERBY, LQ_ORDERBYDESC, LQ_SKIP, LQ_TAKE, LQ_DISTINCT, LQ_ELEMENTAT,
	LQ_AVERAGE, LQ_REVERSE, LQ_SINGLE, LQ_SINGLEORDEFAULT };

static int sort_values(struct cg_expr_run *r, struct cg_expr_value *keys, struct cg_expr_value *items,
		       uint32_t n, bool desc)
{
	/* Stable insertion sort (OrderBy is stable); n is bounded by max_items
	 * and each comparison costs a step, so the budget bounds the time. */
	for (uint32_t i = 1; i < n; i++) {
		struct cg_expr_value k = keys[i], it = items[i];
		uint32_t j = i;
		while (j > 0) {
			if (++r->steps > r->max_steps)
				return cg_expr_budget(r, "step");
			int c = compare_values(&keys[j - 1], &k);
			if (desc ? c >= 0 : c <= 0)
				break;
			keys[j] = keys[j - 1];
			items[j] = items[j - 1];
			j--;
		}
		keys[j] = k;
		items[j] = it;
	}
	return 0;
}

static int ev_linq(struct cg_expr_run *r, const struct cg_expr_node *e, struct cg_expr_value *out)
{
	struct cg_expr_value src, x, y;
	if (ev(r, e->a, &src) < 0)
		return -1;
	if (src.kind == CG_EXPR_V_NULL)
		return cg_expr_throw(r, "ArgumentNullException", "Value cannot be null. (Parameter 'source')");
	if (chars_of(r, &src) < 0)
		return -1;
	uint32_t n = seq_len(&src);
	const struct cg_expr_node *lam = e->b && e->b->op == N_LAMBDA ? e->b : NULL;
	int kind = e->sub;
	struct cg_expr_value arg = { 0 };
	if (e->b && !lam && ev(r, e->b, &arg) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	switch (kind) {
	case LQ_ANY:
	case LQ_ALL:
	case LQ_COUNT:
	case LQ_CONTAINS: {
		int32_t count = 0;
		bool found = kind == LQ_ALL;
		for (uint32_t i = 0; i < n; i++) {
			if (seq_skip(&src, i))
				continue;
			seq_item(&src, i, &x);
			bool hit;
			if (kind == LQ_CONTAINS) {
				hit = values_equal(&x, &arg);
			} else if (lam) {
				if (call_lambda(r, lam, &x, &y) < 0)
					return -1;
				hit = y.u.b;
			} else {
				hit = true;
			}
			if (kind == LQ_COUNT) {
				count += hit;
				continue;
			}
			if (kind == LQ_ALL && !hit) {
				found = false;
				break;
			}
			if (kind != LQ_ALL && hit) {
				found = true;
				break;
			}
			if (++r->steps > r->max_steps)
				return cg_expr_budget(r, "step");
		}
		*out = kind == LQ_COUNT ? (struct cg_expr_value){ .kind = CG_EXPR_V_INT, .u.i = count } : vbool(found);
		return 0;
	}
	case LQ_FIRST:
	case LQ_FIRSTORDEFAULT:
	case LQ_LAST:
	case LQ_LASTORDEFAULT:
	case LQ_ELEMENTAT: {
		bool last = kind == LQ_LAST || kind == LQ_LASTORDEFAULT;
		bool found = false;
		int32_t idx = kind == LQ_ELEMENTAT ? arg.u.i : 0;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t i = last ? n - 1 - k : k;
			if (seq_skip(&src, i))
				continue;
			seq_item(&src, i, &x);
			if (lam) {
				if (call_lambda(r, lam, &x, &y) < 0)
					return -1;
				if (!y.u.b)
					continue;
			}
			if (kind == LQ_ELEMENTAT && idx-- > 0)
				continue;
			*out = x;
			found = true;
			break;
		}
		if (!found) {
			if (kind == LQ_ELEMENTAT)
				return cg_expr_throw(r, "ArgumentOutOfRangeException",
						     "Index was out of range. Must be non-negative and less than the size of the collection. (Parameter 'index')");
			if (kind == LQ_FIRST || kind == LQ_LAST)
				return cg_expr_throw(r, "InvalidOperationException",
						     lam ? "Sequence contains no matching element" : "Sequence contains no elements");
			/* default(T): null for references, zero for values */
			memset(out, 0, sizeof(*out));
			switch (e->type.id) {
			case CG_EXPR_T_INT: out->kind = CG_EXPR_V_INT; break;
			case CG_EXPR_T_LONG: out->kind = CG_EXPR_V_LONG; break;
			case CG_EXPR_T_DOUBLE: out->kind = CG_EXPR_V_DOUBLE; break;
			case CG_EXPR_T_DECIMAL: out->kind = CG_EXPR_V_DECIMAL; break;
			case CG_EXPR_T_BOOL: out->kind = CG_EXPR_V_BOOL; break;
			case CG_EXPR_T_CHAR: out->kind = CG_EXPR_V_CHAR; break;
			default: break;
			}
		}
		return 0;
	}
	case LQ_AVERAGE: {
		if (e->type.id == CG_EXPR_T_DECIMAL) {
			struct cg_expr_value acc = cg_expr_dec_make(0, 0, false), cnt;
			uint32_t m = 0;
			for (uint32_t i = 0; i < n; i++) {
				seq_item(&src, i, &x);
				if (lam && call_lambda(r, lam, &x, &x) < 0)
					return -1;
				if (cg_expr_dec_arith(TK_PLUS, &acc, &x, &acc) < 0)
					return cg_expr_throw(r, "OverflowException", CG_EXPR_DEC_OVF);
				m++;
				if (++r->steps > r->max_steps)
					return cg_expr_budget(r, "step");
			}
			if (!m)
				return cg_expr_throw(r, "InvalidOperationException", "Sequence contains no elements");
			cg_expr_dec_from_long(m, &cnt);
			cg_expr_dec_arith(TK_SLASH, &acc, &cnt, out);
			return 0;
		}
		double sum = 0;
		uint32_t cnt = 0;
		for (uint32_t i = 0; i < n; i++) {
			seq_item(&src, i, &x);
			if (lam && call_lambda(r, lam, &x, &x) < 0)
				return -1;
			sum += x.kind == CG_EXPR_V_INT ? x.u.i : x.kind == CG_EXPR_V_LONG ? (double)x.u.l : x.u.d;
			cnt++;
			if (++r->steps > r->max_steps)
				return cg_expr_budget(r, "step");
		}
		if (!cnt)
			return cg_expr_throw(r, "InvalidOperationException", "Sequence contains no elements");
		out->kind = CG_EXPR_V_DOUBLE;
		out->u.d = sum / cnt;
		return 0;
	}
	case LQ_SINGLE:
	case LQ_SINGLEORDEFAULT: {
		uint32_t hits = 0;
		for (uint32_t i = 0; i < n; i++) {
			if (seq_skip(&src, i))
				continue;
			seq_item(&src, i, &x);
			if (lam) {
				if (call_lambda(r, lam, &x, &y) < 0)
					return -1;
				if (!y.u.b)
					continue;
			}
			if (hits++)
				return cg_expr_throw(r, "InvalidOperationException",
						     lam ? "Sequence contains more than one matching element" :
							   "Sequence contains more than one element");
			*out = x;
		}
		if (!hits && kind == LQ_SINGLE)
			return cg_expr_throw(r, "InvalidOperationException",
					     lam ? "Sequence contains no matching element" : "Sequence contains no elements");
		if (!hits) {
			memset(out, 0, sizeof(*out));
			switch (e->type.id) {
			case CG_EXPR_T_INT: out->kind = CG_EXPR_V_INT; break;
			case CG_EXPR_T_LONG: out->kind = CG_EXPR_V_LONG; break;
			case CG_EXPR_T_DOUBLE: out->kind = CG_EXPR_V_DOUBLE; break;
			case CG_EXPR_T_DECIMAL: out->kind = CG_EXPR_V_DECIMAL; break;
			case CG_EXPR_T_BOOL: out->kind = CG_EXPR_V_BOOL; break;
			case CG_EXPR_T_CHAR: out->kind = CG_EXPR_V_CHAR; break;
			default: break;
			}
		}
		return 0;
	}
	case LQ_SUM:
	case LQ_MAX:
	case LQ_MIN: {
		bool any = false;
		struct cg_expr_value acc = { 0 };
		acc.kind = e->type.id == CG_EXPR_T_INT ? CG_EXPR_V_INT : e->type.id == CG_EXPR_T_LONG ? CG_EXPR_V_LONG :
			   e->type.id == CG_EXPR_T_DOUBLE ? CG_EXPR_V_DOUBLE :
			   e->type.id == CG_EXPR_T_DECIMAL ? CG_EXPR_V_DECIMAL : CG_EXPR_V_NULL;
		for (uint32_t i = 0; i < n; i++) {
			seq_item(&src, i, &x);
			if (lam && call_lambda(r, lam, &x, &x) < 0)
				return -1;
			if (kind == LQ_SUM) {
				if (x.kind == CG_EXPR_V_INT) {
					int64_t s = (int64_t)acc.u.i + x.u.i;
					if (s > INT32_MAX || s < INT32_MIN)
						return cg_expr_throw(r, "OverflowException", "Arithmetic operation resulted in an overflow.");
					acc.u.i = (int32_t)s;
				} else if (x.kind == CG_EXPR_V_LONG) {
					if (__builtin_add_overflow(acc.u.l, x.u.l, &acc.u.l))
						return cg_expr_throw(r, "OverflowException", "Arithmetic operation resulted in an overflow.");
				} else if (x.kind == CG_EXPR_V_DECIMAL) {
					if (cg_expr_dec_arith(TK_PLUS, &acc, &x, &acc) < 0)
						return cg_expr_throw(r, "OverflowException", CG_EXPR_DEC_OVF);
				} else {
					acc.u.d += x.u.d;
				}
			} else if (x.kind != CG_EXPR_V_NULL) {
				int c = compare_values(&x, &acc);
				if (!any || (kind == LQ_MAX ? c > 0 : c < 0))
					acc = x;
				any = true;
			}
			if (++r->steps > r->max_steps)
				return cg_expr_budget(r, "step");
		}
		if (kind != LQ_SUM && !any && cg_expr_ty_is_ref(e->type) == false)
			return cg_expr_throw(r, "InvalidOperationException", "Sequence contains no elements");
		if (kind != LQ_SUM && !any)
			acc.kind = CG_EXPR_V_NULL;
		*out = acc;
		return 0;
	}
	default:
		break;
	}
	/* Materialising operators: the result is an array in the request arena. */
	struct cg_expr_array *res = cg_expr_new_array(r, n, e->type.elem);
	if (!res)
		return -1;
	struct cg_expr_value *keys = NULL;
	if (kind == LQ_ORDERBY || kind == LQ_ORDERBYDESC) {
		keys = cg_arena_alloc(r->ctx->arena, sizeof(*keys) * (n ? n : 1));
		if (!keys)
			return cg_expr_nomem(r);
	}
	uint32_t m = 0;
	int32_t cnt = kind == LQ_SKIP || kind == LQ_TAKE ? arg.u.i : 0;
	for (uint32_t i = 0; i < n; i++) {
		if (seq_skip(&src, i))
			continue;
		if (++r->steps > r->max_steps)
			return cg_expr_budget(r, "step");
		seq_item(&src, i, &x);
		switch (kind) {
		case LQ_WHERE:
			if (call_lambda(r, lam, &x, &y) < 0)
				return -1;
			if (y.u.b)
				res->items[m++] = x;
			break;
		case LQ_SELECT:
			if (call_lambda(r, lam, &x, &y) < 0)
				return -1;
			res->items[m++] = y;
			break;
		case LQ_ORDERBY:
		case LQ_ORDERBYDESC:
			if (call_lambda(r, lam, &x, &y) < 0)
				return -1;
			keys[m] = y;
			res->items[m++] = x;
			break;
		case LQ_SKIP:
			if ((int64_t)i >= cnt)
				res->items[m++] = x;
			break;
		case LQ_TAKE:
			if ((int64_t)m < cnt)
				res->items[m++] = x;
			break;
		case LQ_DISTINCT: {
			bool dup = false;
			for (uint32_t k = 0; k < m && !dup; k++)
				dup = values_equal(&res->items[k], &x);
			if (!dup)
				res->items[m++] = x;
			break;
		}
		default:
			res->items[m++] = x;
		}
	}
	res->n = m;
	if (keys && sort_values(r, keys, res->items, m, kind == LQ_ORDERBYDESC) < 0)
		return -1;
	if (kind == LQ_REVERSE)
		for (uint32_t i = 0; i < m / 2; i++) {
			struct cg_expr_value t = res->items[i];
			res->items[i] = res->items[m - 1 - i];
			res->items[m - 1 - i] = t;
		}
	out->kind = CG_EXPR_V_ARRAY;
	out->cls = e->type.elem;
	out->u.arr = res;
	return e->type.id == CG_EXPR_T_ARRAY ? pack_bytes(r, out) : 0;
}

/* ---- arithmetic ---- */

static int arith(struct cg_expr_run *r, uint16_t op, struct cg_expr_value *a, const struct cg_expr_value *b,
		 struct cg_expr_type t)
{
	static const char ovf[] = "Arithmetic operation resulted in an overflow.";
	if (t.id == CG_EXPR_T_DECIMAL) {
		int rc = cg_expr_dec_arith(op, a, b, a);
		if (rc == -2)
			return cg_expr_throw(r, "DivideByZeroException", "Attempted to divide by zero.");
		if (rc < 0)
			return cg_expr_throw(r, "OverflowException", CG_EXPR_DEC_OVF);
		return 0;
	}
	if (t.id == CG_EXPR_T_REGEXOPT || t.id == CG_EXPR_T_SPLITOPT)
		t.id = CG_EXPR_T_INT; /* enum flags: int bit operations */
	if (a->kind == CG_EXPR_V_DATETIME || a->kind == CG_EXPR_V_TIMESPAN) {
		int64_t res;
		if (a->kind == CG_EXPR_V_DATETIME && b->kind == CG_EXPR_V_DATETIME) {
			a->kind = CG_EXPR_V_TIMESPAN;
			a->u.ticks -= b->u.ticks;
			return 0;
		}
		bool bad = op == TK_PLUS ? __builtin_add_overflow(a->u.ticks, b->u.ticks, &res) :
					   __builtin_sub_overflow(a->u.ticks, b->u.ticks, &res);
		if (a->kind == CG_EXPR_V_DATETIME && (bad || res < 0 || res > DT_MAX_TICKS))
			return cg_expr_throw(r, "ArgumentOutOfRangeException",
					     "The added or subtracted value results in an un-representable DateTime. (Parameter 'value')");
		if (bad)
			return cg_expr_throw(r, "OverflowException", "TimeSpan overflowed because the duration is too long.");
		a->u.ticks = res;
		return 0;
	}
	if (t.id == CG_EXPR_T_INT) {
		/* unchecked: wrap, as C# does by default */
		uint32_t x = (uint32_t)a->u.i, y = (uint32_t)b->u.i;
		switch (op) {
		case TK_PLUS: x += y; break;
		case TK_MINUS: x -= y; break;
		case TK_STAR: x *= y; break;
		case TK_SLASH:
		case TK_PERCENT:
			if (b->u.i == 0)
				return cg_expr_throw(r, "DivideByZeroException", "Attempted to divide by zero.");
			if (a->u.i == INT32_MIN && b->u.i == -1)
				return cg_expr_throw(r, "OverflowException", ovf);
			x = (uint32_t)(op == TK_SLASH ? a->u.i / b->u.i : a->u.i % b->u.i);
			break;
		case TK_AMP: x &= y; break;
		case TK_PIPE: x |= y; break;
		case TK_CARET: x ^= y; break;
		case TK_SHL: x <<= (y & 31); break;
		case TK_SHR: x = (uint32_t)(a->u.i >> (y & 31)); break;
		}
		a->u.i = (int32_t)x;
		return 0;
	}
	if (t.id == CG_EXPR_T_LONG) {
		uint64_t x = (uint64_t)a->u.l, y = (uint64_t)b->u.l;
		switch (op) {
		case TK_PLUS: x += y; break;
		case TK_MINUS: x -= y; break;
		case TK_STAR: x *= y; break;
		case TK_SLASH:
		case TK_PERCENT:
			if (b->u.l == 0)
				return cg_expr_throw(r, "DivideByZeroException", "Attempted to divide by zero.");
			if (a->u.l == INT64_MIN && b->u.l == -1)
				return cg_expr_throw(r, "OverflowException", ovf);
			x = (uint64_t)(op == TK_SLASH ? a->u.l / b->u.l : a->u.l % b->u.l);
			break;
		case TK_AMP: x &= y; break;
		case TK_PIPE: x |= y; break;
		case TK_CARET: x ^= y; break;
		case TK_SHL: x <<= (b->u.i & 63); break;
		case TK_SHR: x = (uint64_t)(a->u.l >> (b->u.i & 63)); break;
		}
		a->u.l = (int64_t)x;
		return 0;
	}
	if (t.id == CG_EXPR_T_BOOL) {
		switch (op) {
		case TK_AMP: a->u.b = a->u.b && b->u.b; break;
		case TK_PIPE: a->u.b = a->u.b || b->u.b; break;
		case TK_CARET: a->u.b = a->u.b != b->u.b; break;
		}
		return 0;
	}
	double x = a->u.d, y = b->u.d;
	switch (op) {
	case TK_PLUS: x += y; break;
	case TK_MINUS: x -= y; break;
	case TK_STAR: x *= y; break;
	case TK_SLASH: x /= y; break;
	case TK_PERCENT: x = cg_expr_fmod(x, y); break;
	}
	a->u.d = x;
	return 0;
}

/* Numeric conversion; explicit ones truncate and wrap (unchecked). */
static void conv_num(struct cg_expr_value *v, uint8_t to)
{
	double d = v->kind == CG_EXPR_V_DOUBLE ? v->u.d : 0;
	int64_t l = v->kind == CG_EXPR_V_INT ? v->u.i : v->kind == CG_EXPR_V_LONG ? v->u.l :
		    v->kind == CG_EXPR_V_CHAR ? v->u.c : 0;
	bool isd = v->kind == CG_EXPR_V_DOUBLE;
	if (isd) {
		/* .NET on x64 saturates NaN/out-of-range double->long to
		 * 0x8000000000000000; do the same instead of C's UB. */
		if (isnan(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0)
			l = INT64_MIN;
		else
			l = (int64_t)d;
	}
	memset(&v->u, 0, sizeof(v->u));
	switch (to) {
	case CG_EXPR_T_INT:
		v->kind = CG_EXPR_V_INT;
		if (isd && (isnan(d) || d >= 2147483648.0 || d < -2147483648.0))
			v->u.i = INT32_MIN;
		else
			v->u.i = (int32_t)(uint32_t)(uint64_t)l;
		break;
	case CG_EXPR_T_LONG:
		v->kind = CG_EXPR_V_LONG;
		v->u.l = l;
		break;
	case CG_EXPR_T_DOUBLE:
		v->kind = CG_EXPR_V_DOUBLE;
		v->u.d = isd ? d : (double)l;
		break;
	case CG_EXPR_T_CHAR:
		v->kind = CG_EXPR_V_CHAR;
		v->u.c = (uint16_t)(uint64_t)l;
		break;
	case CG_EXPR_T_BYTE:
		v->kind = CG_EXPR_V_INT; /* bytes are held as ints */
		v->u.i = (uint8_t)(uint64_t)l;
		break;
	}
}

/* Conversions to and from decimal: (decimal)double and decimal to an
 * integer throw OverflowException out of range (checked, as .NET). */
static int conv_dec(struct cg_expr_run *r, struct cg_expr_value *v, uint8_t to)
{
	if (v->kind == CG_EXPR_V_DECIMAL) {
		int64_t l;
		switch (to) {
		case CG_EXPR_T_DECIMAL:
			return 0;
		case CG_EXPR_T_DOUBLE: {
			double d = cg_expr_dec_to_double(v);
			memset(&v->u, 0, sizeof(v->u));
			v->kind = CG_EXPR_V_DOUBLE;
			v->u.d = d;
			return 0;
		}
		case CG_EXPR_T_INT:
			if (cg_expr_dec_to_long(v, INT32_MIN, INT32_MAX, &l) < 0)
				return cg_expr_throw(r, "OverflowException", "Value was either too large or too small for an Int32.");
			break;
		case CG_EXPR_T_CHAR:
			if (cg_expr_dec_to_long(v, 0, 0xffff, &l) < 0)
				return cg_expr_throw(r, "OverflowException", "Value was either too large or too small for a character.");
			break;
		case CG_EXPR_T_BYTE:
			if (cg_expr_dec_to_long(v, 0, 255, &l) < 0)
				return cg_expr_throw(r, "OverflowException", "Value was either too large or too small for an unsigned byte.");
			break;
		default:
			if (cg_expr_dec_to_long(v, INT64_MIN, INT64_MAX, &l) < 0)
				return cg_expr_throw(r, "OverflowException", "Value was either too large or too small for an Int64.");
			break;
		}
		memset(&v->u, 0, sizeof(v->u));
		v->kind = CG_EXPR_V_LONG;
		v->u.l = l;
		conv_num(v, to);
		return 0;
	}
	if (v->kind == CG_EXPR_V_DOUBLE) {
		if (cg_expr_dec_from_double(v->u.d, v) < 0)
			return cg_expr_throw(r, "OverflowException", CG_EXPR_DEC_OVF);
		return 0;
	}
	int64_t l = v->kind == CG_EXPR_V_INT ? v->u.i : v->kind == CG_EXPR_V_LONG ? v->u.l :
		    v->kind == CG_EXPR_V_CHAR ? v->u.c : 0;
	cg_expr_dec_from_long(l, v);
	return 0;
}

/* Does runtime value v have static type t (for is/as/casts from object)? */
static bool value_is(const struct cg_expr_value *v, uint8_t tid, uint8_t elem)
{
	switch (v->kind) {
	case CG_EXPR_V_NULL: return false;
	case CG_EXPR_V_BOOL: return tid == CG_EXPR_T_BOOL || tid == CG_EXPR_T_OBJECT;
	case CG_EXPR_V_CHAR: return tid == CG_EXPR_T_CHAR || tid == CG_EXPR_T_OBJECT;
	case CG_EXPR_V_INT: return tid == CG_EXPR_T_INT || tid == CG_EXPR_T_OBJECT;
	case CG_EXPR_V_LONG: return tid == CG_EXPR_T_LONG || tid == CG_EXPR_T_OBJECT;
	case CG_EXPR_V_DOUBLE: return tid == CG_EXPR_T_DOUBLE || tid == CG_EXPR_T_OBJECT;
	case CG_EXPR_V_DECIMAL: return tid == CG_EXPR_T_DECIMAL || tid == CG_EXPR_T_OBJECT;
	case CG_EXPR_V_STRING: return tid == CG_EXPR_T_STRING || tid == CG_EXPR_T_OBJECT;
	case CG_EXPR_V_DATETIME: return tid == CG_EXPR_T_DATETIME || tid == CG_EXPR_T_OBJECT;
	case CG_EXPR_V_TIMESPAN: return tid == CG_EXPR_T_TIMESPAN || tid == CG_EXPR_T_OBJECT;
	case CG_EXPR_V_GUID: return tid == CG_EXPR_T_GUID || tid == CG_EXPR_T_OBJECT;
	case CG_EXPR_V_BYTES: return tid == CG_EXPR_T_OBJECT || (tid == CG_EXPR_T_ARRAY && elem == CG_EXPR_T_BYTE);
	case CG_EXPR_V_ARRAY: return tid == CG_EXPR_T_OBJECT || (tid == CG_EXPR_T_ARRAY && elem == v->cls) ||
				     (tid == CG_EXPR_T_SEQ && elem == v->cls);
	case CG_EXPR_V_OBJ: return tid == CG_EXPR_T_OBJECT || tid == v->cls;
	}
	return false;
}

static int cast_fail(struct cg_expr_run *r, const struct cg_expr_value *v, struct cg_expr_type to)
{
	static const uint8_t kind_tid[] = {
		[CG_EXPR_V_BOOL] = CG_EXPR_T_BOOL, [CG_EXPR_V_CHAR] = CG_EXPR_T_CHAR,
		[CG_EXPR_V_INT] = CG_EXPR_T_INT, [CG_EXPR_V_LONG] = CG_EXPR_T_LONG,
		[CG_EXPR_V_DOUBLE] = CG_EXPR_T_DOUBLE, [CG_EXPR_V_STRING] = CG_EXPR_T_STRING,
		[CG_EXPR_V_DATETIME] = CG_EXPR_T_DATETIME, [CG_EXPR_V_TIMESPAN] = CG_EXPR_T_TIMESPAN,
		[CG_EXPR_V_GUID] = CG_EXPR_T_GUID, [CG_EXPR_V_DECIMAL] = CG_EXPR_T_DECIMAL,
	};
	char b1[160], b2[160];
	struct cg_expr_type from = v->kind == CG_EXPR_V_OBJ ? cg_expr_ty(v->cls) :
				   v->kind == CG_EXPR_V_ARRAY ? cg_expr_ty2(CG_EXPR_T_ARRAY, v->cls) :
				   v->kind == CG_EXPR_V_BYTES ? cg_expr_ty2(CG_EXPR_T_ARRAY, CG_EXPR_T_BYTE) :
				   v->kind < sizeof(kind_tid) ? cg_expr_ty(kind_tid[v->kind]) : cg_expr_ty(CG_EXPR_T_OBJECT);
	return cg_expr_throw(r, "InvalidCastException", "Unable to cast object of type '%s' to type '%s'.",
			     cg_expr_type_name(from, b1, sizeof(b1)), cg_expr_type_name(to, b2, sizeof(b2)));
}

/* Shared by casts and GetValueOrDefault<T>: unboxes v to t or throws. */
int cg_expr_unbox(struct cg_expr_run *r, struct cg_expr_value *v, struct cg_expr_type t);

int cg_expr_unbox(struct cg_expr_run *r, struct cg_expr_value *v, struct cg_expr_type t)
{
	struct cg_expr_type want = t;
	if (t.id == CG_EXPR_T_NULLABLE) {
		/* (T?)obj: null stays null, else a boxed T */
		if (v->kind == CG_EXPR_V_NULL)
			return 0;
		t = cg_expr_ty(t.elem);
	}
	if (v->kind == CG_EXPR_V_NULL) {
		if (cg_expr_ty_is_ref(t))
			return 0;
		return null_ref(r);
	}
	if (value_is(v, t.id, t.elem))
		return 0;
	return cast_fail(r, v, want);
}

static int interp(struct cg_expr_run *r, const struct cg_expr_node *e, struct cg_expr_value *out)
{
	/* Two passes would re-evaluate holes; instead render each part into a
	 * slice array on the stack (parts are few) and join once. */
	struct cg_str parts[64];
	size_t total = 0;
	if (e->n > 64)
		return cg_expr_budget(r, "interpolation parts");
	for (uint32_t k = 0; k < e->n; k++) {
		const struct cg_expr_node *p = e->list[k];
		if (p->op == N_LIT) {
			parts[k] = p->lit.u.s;
		} else {
			struct cg_expr_value v;
			if (ev(r, p->a, &v) < 0)
				return -1;
			if (p->cond && v.kind != CG_EXPR_V_NULL && v.kind != CG_EXPR_V_STRING &&
			    v.kind != CG_EXPR_V_OBJ && v.kind != CG_EXPR_V_ARRAY && v.kind != CG_EXPR_V_BYTES) {
				char buf[128];
				int n = cg_expr_format_scalar(&v, p->name, buf, sizeof(buf));
				if (n < 0)
					return cg_expr_throw(r, "FormatException", "Input string was not in a correct format.");
				char *s = cg_expr_strbuf(r, (size_t)n);
				if (!s)
					return -1;
				memcpy(s, buf, (size_t)n);
				parts[k] = cg_str_make(s, (size_t)n);
			} else if (cg_expr_tostr(r, &v, &parts[k]) < 0) {
				return -1;
			}
			size_t w = (size_t)(p->align < 0 ? -p->align : p->align);
			if (w > parts[k].len) {
				char *s = cg_expr_strbuf(r, w);
				if (!s)
					return -1;
				size_t pad = w - parts[k].len;
				if (p->align > 0) {
					memset(s, ' ', pad);
					memcpy(s + pad, parts[k].ptr, parts[k].len);
				} else {
					memcpy(s, parts[k].ptr, parts[k].len);
					memset(s + parts[k].len, ' ', pad);
				}
				parts[k] = cg_str_make(s, w);
			}
		}
		total += parts[k].len;
	}
	char *s = cg_expr_strbuf(r, total);
	if (!s)
		return -1;
	size_t off = 0;
	for (uint32_t k = 0; k < e->n; k++) {
		if (parts[k].len)
			memcpy(s + off, parts[k].ptr, parts[k].len);
		off += parts[k].len;
	}
	out->kind = CG_EXPR_V_STRING;
	out->u.s = cg_str_make(s, total);
	return 0;
}

static int ev_inner(struct cg_expr_run *r, const struct cg_expr_node *e, struct cg_expr_value *out)
{
	struct cg_expr_value a, b;
	memset(out, 0, sizeof(*out));
	switch (e->op) {
	case N_LIT:
		*out = e->lit;
		return 0;
	case N_LOCAL:
		*out = r->locals[e->slot];
		return 0;
	case N_CONTEXT:
		out->kind = CG_EXPR_V_OBJ;
		out->cls = CG_EXPR_T_CONTEXT;
		out->u.obj = r->ctx->context;
		return 0;
	case N_PROP:
		if (e->a) {
			if (ev(r, e->a, &a) < 0)
				return -1;
			if (a.kind == CG_EXPR_V_NULL && !(e->member->flags & MF_NULLSELF)) {
				if (e->cond)
					return 0; /* ?. yields null */
				return null_ref(r);
			}
		}
		r->node = e;
		return e->member->fn(r, e->a ? &a : NULL, NULL, 0, out);
	case N_INDEX:
		if (!e->member) {
			/* arrays and strings; dictionaries bind an indexer member */
			if (ev(r, e->a, &a) < 0)
				return -1;
			if (a.kind == CG_EXPR_V_NULL) {
				if (e->cond)
					return 0;
				return null_ref(r);
			}
			if (ev(r, e->list[0], &b) < 0 || chars_of(r, &a) < 0)
				return -1;
			if (b.u.i < 0 || (uint32_t)b.u.i >= seq_len(&a))
				return cg_expr_throw(r, "IndexOutOfRangeException",
						     "Index was outside the bounds of the array.");
			seq_item(&a, (uint32_t)b.u.i, out);
			return 0;
		}
		/* fallthrough */
	case N_METHOD: {
		struct cg_expr_value args[CG_EXPR_MAX_ARGS];
		if (e->a) {
			if (ev(r, e->a, &a) < 0)
				return -1;
			if (a.kind == CG_EXPR_V_NULL && !(e->member->flags & MF_NULLSELF)) {
				if (e->cond)
					return 0;
				return null_ref(r);
			}
		}
		bool has_out = false;
		for (uint32_t k = 0; k < e->n; k++) {
			if (e->list[k]->op == N_LOCAL && e->list[k]->cond) {
				memset(&args[k], 0, sizeof(args[k]));
				has_out = true;
				continue;
			}
			if (ev(r, e->list[k], &args[k]) < 0)
				return -1;
		}
		r->node = e;
		r->out_args = args;
		if (e->member->fn(r, e->a ? &a : NULL, args, e->n, out) < 0)
			return -1;
		if (e->b && e->b->op == N_NEWARRAY) {
			/* new List<T> { a, b } / new Dictionary<string,T> { {k, v} } */
			struct cg_expr_value coll = *out, item, kv[2], dummy;
			bool added;
			for (uint32_t k = 0; k < e->b->n; k++) {
				const struct cg_expr_node *it = e->b->list[k];
				if (it->op == N_NEWARRAY && it->sub == 1) {
					if (ev(r, it->list[0], &kv[0]) < 0 || ev(r, it->list[1], &kv[1]) < 0 ||
					    cg_expr_dict_add(r, &coll, kv, 2, &dummy) < 0)
						return -1;
					continue;
				}
				if (ev(r, it, &item) < 0 || cg_expr_coll_add_value(r, &coll, &item, &added) < 0)
					return -1;
			}
			*out = coll;
		}
		if (has_out)
			for (uint32_t k = 0; k < e->n; k++)
				if (e->list[k]->op == N_LOCAL && e->list[k]->cond)
					r->locals[e->list[k]->slot] = args[k];
		return 0;
	}
	case N_LINQ:
		return ev_linq(r, e, out);
	case N_CERT_HAS: {
		if (ev(r, e->a, &a) < 0)
			return -1;
		if (a.kind == CG_EXPR_V_NULL)
			return cg_expr_throw(r, "ArgumentNullException", "Value cannot be null. (Parameter 'source')");
		const struct cg_expr_cert_table *t = a.u.obj;
		*out = vbool(false);
		/* .NET would not run the lambda on an empty dictionary, so the key
		 * expression (which may throw) is not evaluated then either. */
		if (t->n == 0)
			return 0;
		if (ev(r, e->b, &b) < 0)
			return -1;
		out->u.b = b.kind == CG_EXPR_V_STRING && cg_expr_cert_table_get(t, b.u.s) != NULL;
		return 0;
	}
	case N_CONVERT:
		if (ev(r, e->a, out) < 0)
			return -1;
		if (out->kind == CG_EXPR_V_NULL)
			return 0;
		if (out->kind == CG_EXPR_V_DECIMAL || e->type.id == CG_EXPR_T_DECIMAL)
			return conv_dec(r, out, e->type.id);
		conv_num(out, e->type.id);
		return 0;
	case N_CAST:
		if (ev(r, e->a, out) < 0)
			return -1;
		if (e->sub == 3) {
			/* (int)DayOfWeek: the enum is held as its name */
			static const char *const days[] = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday" };
			int k = 0;
			while (k < 7 && !cg_str_eq(out->u.s, cg_str_from_c(days[k])))
				k++;
			memset(out, 0, sizeof(*out));
			out->kind = CG_EXPR_V_INT;
			out->u.i = k;
			return 0;
		}
		if (e->sub == 2) {
			/* (T)token: Newtonsoft's explicit conversions */
			a = *out;
			return cg_expr_json_to(r, &a, e->type, out);
		}
		if (e->sub == 4) /* (T)x of a T? */
			return out->kind == CG_EXPR_V_NULL ? cg_expr_nullable_empty(r) : 0;
		if (e->sub && cg_expr_unbox(r, out, e->type) < 0)
			return -1;
		return 0;
	case N_IS:
	case N_AS:
		if (ev(r, e->a, &a) < 0)
			return -1;
		if (e->op == N_IS) {
			*out = vbool(e->sub == TK_NULL ? a.kind == CG_EXPR_V_NULL :
					 value_is(&a, (uint8_t)e->lit.u.i, e->lit.cls));
			if (e->slot >= 0 && out->u.b)
				r->locals[e->slot] = a; /* the pattern variable */
			return 0;
		}
		if (value_is(&a, (uint8_t)e->lit.u.i, e->lit.cls))
			*out = a;
		return 0;
	case N_UNARY:
		if (ev(r, e->a, out) < 0)
			return -1;
		switch (e->sub) {
		case TK_BANG: out->u.b = !out->u.b; break;
		case TK_MINUS:
			if (out->kind == CG_EXPR_V_INT)
				out->u.i = (int32_t)(0u - (uint32_t)out->u.i);
			else if (out->kind == CG_EXPR_V_LONG)
				out->u.l = (int64_t)(0ull - (uint64_t)out->u.l);
			else if (out->kind == CG_EXPR_V_DOUBLE)
				out->u.d = -out->u.d;
			else if (out->kind == CG_EXPR_V_DECIMAL)
				out->u.dec.neg = cg_expr_dec_coef(out) != 0 && !out->u.dec.neg;
			else
				out->u.ticks = (int64_t)(0ull - (uint64_t)out->u.ticks);
			break;
		case TK_TILDE:
			if (out->kind == CG_EXPR_V_INT)
				out->u.i = ~out->u.i;
			else
				out->u.l = ~out->u.l;
			break;
		}
		return 0;
	case N_BOOL3: {
		/* bool? & |: false & anything is false, true | anything is true,
		 * else null with a null operand */
		if (ev(r, e->a, &a) < 0 || ev(r, e->b, &b) < 0)
			return -1;
		bool decides = e->sub == TK_PIPE; /* the value that decides alone */
		if ((a.kind != CG_EXPR_V_NULL && a.u.b == decides) || (b.kind != CG_EXPR_V_NULL && b.u.b == decides))
			*out = vbool(decides);
		else if (a.kind == CG_EXPR_V_NULL || b.kind == CG_EXPR_V_NULL)
			memset(out, 0, sizeof(*out));
		else
			*out = vbool(!decides);
		return 0;
	}
	case N_ANDALSO:
	case N_ORELSE:
		if (ev(r, e->a, out) < 0)
			return -1;
		if (out->u.b == (e->op == N_ORELSE))
			return 0;
		return ev(r, e->b, out);
	case N_COALESCE:
		if (ev(r, e->a, out) < 0)
			return -1;
		if (out->kind != CG_EXPR_V_NULL)
			return 0;
		return ev(r, e->b, out);
	case N_COND:
		if (ev(r, e->a, &a) < 0)
			return -1;
		return ev(r, a.u.b ? e->b : e->c, out);
	case N_STRCAT: {
		struct cg_str sa, sb;
		if (ev(r, e->a, &a) < 0 || cg_expr_tostr(r, &a, &sa) < 0)
			return -1;
		if (ev(r, e->b, &b) < 0 || cg_expr_tostr(r, &b, &sb) < 0)
			return -1;
		char *s = cg_expr_strbuf(r, sa.len + sb.len);
		if (!s)
			return -1;
		if (sa.len)
			memcpy(s, sa.ptr, sa.len);
		if (sb.len)
			memcpy(s + sa.len, sb.ptr, sb.len);
		out->kind = CG_EXPR_V_STRING;
		out->u.s = cg_str_make(s, sa.len + sb.len);
		return 0;
	}
	case N_X500_EQ: {
		if (ev(r, e->a, &a) < 0 || ev(r, e->b, &b) < 0)
			return -1;
		bool eq;
		if (a.kind == CG_EXPR_V_NULL || b.kind == CG_EXPR_V_NULL) {
			eq = a.kind == b.kind;
		} else {
			const struct cg_expr_cert *c = cg_expr_cert_decoded(r, a.u.obj);
			if (!c)
				return -1;
			eq = cg_str_eq(a.aux ? c->issuer : c->subject, b.u.s);
		}
		*out = vbool(e->sub == TK_EQ ? eq : !eq);
		return 0;
	}
	case N_BINARY: {
		if (ev(r, e->a, &a) < 0 || ev(r, e->b, &b) < 0)
			return -1;
		switch (e->sub) {
		case TK_EQ:
			*out = vbool(values_equal(&a, &b));
			return 0;
		case TK_NE:
			*out = vbool(!values_equal(&a, &b));
			return 0;
		case TK_LT:
		case TK_GT:
		case TK_LE:
		case TK_GE: {
			if (a.kind == CG_EXPR_V_NULL || b.kind == CG_EXPR_V_NULL) {
				*out = vbool(false); /* lifted comparison with null is false */
				return 0;
			}
			int c = compare_values(&a, &b);
			bool res = e->sub == TK_LT ? c < 0 : e->sub == TK_GT ? c > 0 : e->sub == TK_LE ? c <= 0 : c >= 0;
			if (a.kind == CG_EXPR_V_DOUBLE && (isnan(a.u.d) || isnan(b.u.d)))
				res = false;
			*out = vbool(res);
			return 0;
		}
		default:
			if (a.kind == CG_EXPR_V_NULL || b.kind == CG_EXPR_V_NULL)
				return 0; /* lifted arithmetic on null is null */
			if (arith(r, e->sub, &a, &b, e->type) < 0)
				return -1;
			*out = a;
			return 0;
		}
	}
	case N_INTERP:
		return interp(r, e, out);
	case N_THROWX: {
		if (ev(r, e->a, &a) < 0)
			return -1;
		if (a.kind == CG_EXPR_V_NULL)
			return null_ref(r);
		const struct cg_expr_exception *x = a.u.obj;
		r->err->status = CG_EXPR_EXCEPTION;
		snprintf(r->err->type, sizeof(r->err->type), "%s", x->type);
		snprintf(r->err->message, sizeof(r->err->message), "%s", x->message);
		return -1;
	}
	case N_NEWARRAY: {
		struct cg_expr_array *arr = cg_expr_new_array(r, e->n, e->type.elem);
		if (!arr)
			return -1;
		for (uint32_t k = 0; k < e->n; k++)
			if (ev(r, e->list[k], &arr->items[k]) < 0)
				return -1;
		out->kind = CG_EXPR_V_ARRAY;
		out->cls = e->type.elem;
		out->u.arr = arr;
		return pack_bytes(r, out);
	}
	case N_ASSIGN:
		if (ev(r, e->b, out) < 0)
			return -1;
		r->locals[e->slot] = *out;
		return 0;
	case N_INCDEC: {
		struct cg_expr_value *l = &r->locals[e->slot];
		struct cg_expr_value old = *l;
		int d = e->sub == TK_PLUSPLUS ? 1 : -1;
		switch (l->kind) {
		case CG_EXPR_V_INT: l->u.i = (int32_t)((uint32_t)l->u.i + (uint32_t)d); break;
		case CG_EXPR_V_LONG: l->u.l = (int64_t)((uint64_t)l->u.l + (uint64_t)(int64_t)d); break;
		case CG_EXPR_V_DOUBLE: l->u.d += d; break;
		case CG_EXPR_V_DECIMAL: {
			struct cg_expr_value one = cg_expr_dec_make(1, 0, false);
			if (cg_expr_dec_arith(d > 0 ? TK_PLUS : TK_MINUS, l, &one, l) < 0)
				return cg_expr_throw(r, "OverflowException", CG_EXPR_DEC_OVF);
			break;
		}
		case CG_EXPR_V_CHAR: l->u.c = (uint16_t)(l->u.c + d); break;
		case CG_EXPR_V_NULL:
			if (e->type.id == CG_EXPR_T_NULLABLE)
				break; /* null++ is null */
			return null_ref(r);
		default: return null_ref(r);
		}
		*out = e->cond ? old : *l;
		return 0;
	}
	default:
		return cg_expr_throw(r, "InvalidOperationException", "internal: node %u cannot be evaluated", e->op);
	}
}

static int ev(struct cg_expr_run *r, const struct cg_expr_node *e, struct cg_expr_value *out)
{
	if (++r->steps > r->max_steps)
		return cg_expr_budget(r, "step");
	if (++r->depth > CG_EXPR_MAX_EVAL_DEPTH) {
		r->depth--;
		return cg_expr_budget(r, "depth");
	}
	int rc = ev_inner(r, e, out);
	r->depth--;
	return rc;
}

/* ---- statements ---- */

enum flow { F_NORMAL, F_RETURN, F_BREAK, F_CONTINUE };

static int exec(struct cg_expr_run *r, const struct cg_expr_node *s, struct cg_expr_value *ret, enum flow *fl)
{
	struct cg_expr_value v;
	if (++r->steps > r->max_steps)
		return cg_expr_budget(r, "step");
	*fl = F_NORMAL;
	switch (s->op) {
	case S_BLOCK:
		for (uint32_t k = 0; k < s->n; k++) {
			if (exec(r, s->list[k], ret, fl) < 0)
				return -1;
			if (*fl != F_NORMAL)
				return 0;
		}
		return 0;
	case S_EMPTY:
		return 0;
	case S_EXPR:
	case S_USINGEXPR:
		return ev(r, s->a, &v);
	case S_VAR:
		memset(&r->locals[s->slot], 0, sizeof(v));
		if (s->a && ev(r, s->a, &r->locals[s->slot]) < 0)
			return -1;
		return 0;
	case S_IF:
		if (ev(r, s->a, &v) < 0)
			return -1;
		if (v.u.b)
			return exec(r, s->b, ret, fl);
		return s->c ? exec(r, s->c, ret, fl) : 0;
	case S_WHILE:
	case S_DO:
	case S_FOR:
		if (s->op == S_FOR && s->d && exec(r, s->d, ret, fl) < 0)
			return -1;
		for (bool first = true;; first = false) {
			if (!(s->op == S_DO && first) && s->a) {
				if (ev(r, s->a, &v) < 0)
					return -1;
				if (!v.u.b)
					break;
			}
			if (exec(r, s->b, ret, fl) < 0)
				return -1;
			if (*fl == F_RETURN)
				return 0;
			if (*fl == F_BREAK)
				break;
			if (s->op == S_FOR && s->c && ev(r, s->c, &v) < 0)
				return -1;
		}
		*fl = F_NORMAL;
		return 0;
	case S_FOREACH: {
		struct cg_expr_value src;
		if (ev(r, s->a, &src) < 0)
			return -1;
		if (src.kind == CG_EXPR_V_NULL)
			return null_ref(r);
		if (chars_of(r, &src) < 0)
			return -1;
		uint32_t n = seq_len(&src);
		for (uint32_t i = 0; i < n; i++) {
			if (seq_skip(&src, i))
				continue;
			seq_item(&src, i, &r->locals[s->slot]);
			if (exec(r, s->b, ret, fl) < 0)
				return -1;
			if (*fl == F_RETURN)
				return 0;
			if (*fl == F_BREAK)
				break;
		}
		*fl = F_NORMAL;
		return 0;
	}
	case S_RETURN:
		if (ev(r, s->a, ret) < 0)
			return -1;
		*fl = F_RETURN;
		return 0;
	case S_THROW: {
		const struct cg_expr_exception *x;
		if (s->a) {
			if (ev(r, s->a, &v) < 0)
				return -1;
			if (v.kind == CG_EXPR_V_NULL)
				return null_ref(r);
			x = v.u.obj;
		} else {
			x = r->current_exc->u.obj;
		}
		r->err->status = CG_EXPR_EXCEPTION;
		snprintf(r->err->type, sizeof(r->err->type), "%s", x->type);
		snprintf(r->err->message, sizeof(r->err->message), "%s", x->message);
		return -1;
	}
	case S_TRY: {
		int rc = exec(r, s->a, ret, fl);
		if (rc < 0 && r->err->status == CG_EXPR_EXCEPTION && s->n) {
			/* every catch here is catch (Exception): the first one runs.
			 * Budget and memory failures are not exceptions: never caught. */
			const struct cg_expr_node *cc = s->list[0];
			struct cg_expr_exception *x = cg_arena_alloc(r->ctx->arena, sizeof(*x));
			if (!x)
				return cg_expr_nomem(r);
			memcpy(x->type, r->err->type, sizeof(x->type));
			memcpy(x->message, r->err->message, sizeof(x->message));
			struct cg_expr_value xv = { .kind = CG_EXPR_V_OBJ, .cls = CG_EXPR_T_EXCEPTION };
			xv.u.obj = x;
			if (cc->slot >= 0)
				r->locals[cc->slot] = xv;
			r->err->status = CG_EXPR_OK;
			const struct cg_expr_value *saved = r->current_exc;
			r->current_exc = &xv;
			rc = exec(r, cc->b, ret, fl);
			r->current_exc = saved;
		}
		if (s->c) {
			/* finally runs on every path; its own failure wins */
			struct cg_expr_error keep = *r->err;
			enum flow f2;
			struct cg_expr_value dummy;
			if (exec(r, s->c, &dummy, &f2) < 0)
				return -1;
			*r->err = keep;
		}
		return rc;
	}
	case S_SWITCH: {
		if (ev(r, s->a, &v) < 0)
			return -1;
		const struct cg_expr_node *hit = NULL, *dflt = NULL;
		for (uint32_t k = 0; k < s->n && !hit; k++) {
			const struct cg_expr_node *sec = s->list[k];
			for (uint32_t j = 0; j < sec->n; j++) {
				if (sec->list[j]->op == S_EMPTY)
					dflt = sec;
				else if (values_equal(&v, &sec->list[j]->lit))
					hit = sec;
			}
		}
		if (!hit)
			hit = dflt;
		if (!hit)
			return 0;
		if (exec(r, hit->b, ret, fl) < 0)
			return -1;
		if (*fl == F_BREAK)
			*fl = F_NORMAL; /* break leaves the switch only */
		return 0;
	}
	case S_BREAK:
		*fl = F_BREAK;
		return 0;
	case S_CONTINUE:
		*fl = F_CONTINUE;
		return 0;
	default:
		return cg_expr_throw(r, "InvalidOperationException", "internal: statement %u", s->op);
	}
}

/* A statement lambda's body: its return value, with the depth guard. */
static int exec_body(struct cg_expr_run *r, const struct cg_expr_node *s, struct cg_expr_value *ret)
{
	enum flow fl;
	if (++r->depth > CG_EXPR_MAX_EVAL_DEPTH) {
		r->depth--;
		return cg_expr_budget(r, "depth");
	}
	memset(ret, 0, sizeof(*ret));
	int rc = exec(r, s, ret, &fl);
	r->depth--;
	return rc;
}

int cg_expr_eval(const struct cg_expr_program *p, struct cg_expr_ctx *ctx, struct cg_expr_value *out,
		 struct cg_expr_error *err)
{
	struct cg_expr_run r;
	r.ctx = ctx;
	r.err = err;
	r.node = NULL;
	r.current_exc = NULL;
	r.out_args = NULL;
	r.steps = 0;
	r.max_steps = ctx->max_steps ? ctx->max_steps : CG_EXPR_DEFAULT_MAX_STEPS;
	r.max_string = ctx->max_string ? ctx->max_string : CG_EXPR_DEFAULT_MAX_STRING;
	r.max_items = ctx->max_items ? ctx->max_items : CG_EXPR_DEFAULT_MAX_ITEMS;
	r.depth = 0;
	/* locals are written before they are read (the checker's scoping);
	 * only the used slots are cleared, so small programs pay nothing */
	if (p->nslots)
		memset(r.locals, 0, sizeof(r.locals[0]) * p->nslots);
	err->status = CG_EXPR_OK;
	err->type[0] = err->message[0] = '\0';
	int rc;
	if (p->kind == CG_EXPR_KIND_EXPR) {
		rc = ev(&r, p->root, out);
	} else {
		enum flow fl;
		memset(out, 0, sizeof(*out));
		rc = exec(&r, p->root, out, &fl);
	}
	ctx->steps = r.steps;
	return rc;
}
