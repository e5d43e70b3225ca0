/* Binder and static type checker. Walks the parser's tree once, resolving
 * every name against locals, `context` and the member tables (members.c),
 * typing every node, inserting numeric conversions, and rewriting hot
 * patterns (Certificates.Any(c => c.Value.Thumbprint == x) -> hash lookup).
 * Unknown types and members fail here, at load time, with APIM's wording. */
#include "expr/internal.h"

#include <stdio.h>
#include <string.h>

#define T(x) cg_expr_ty(CG_EXPR_T_##x)

struct local {
	struct cg_str name;
	struct cg_expr_type type;
	int32_t slot;
};

struct checker {
	struct cg_arena *arena;
	struct cg_expr_diagctx *dc;
	const struct cg_expr_env *env;
	struct local locals[CG_EXPR_MAX_LOCALS];
	unsigned nlocals; /* visible locals (a stack; scopes pop back) */
	unsigned nslots;  /* slots ever used: each declaration gets its own */
	unsigned depth;
	unsigned loops;   /* enclosing loops, for break/continue */
	bool has_ret;
	bool depth_reported;
	unsigned in_catch; /* nested catch clauses, for `throw;` */
	unsigned switches; /* enclosing switch statements */
	uint8_t ctor_elem; /* element type of the collection being constructed */
	struct cg_expr_type ret;
};

static struct cg_expr_node *check(struct checker *c, struct cg_expr_node *e);
static struct cg_expr_type resolve_tsyn(struct checker *c, struct cg_expr_tsyn *ts, struct cg_expr_node *at);
static void check_stmt(struct checker *c, struct cg_expr_node *s);
static bool contains_return(const struct cg_expr_node *s);
static bool always_returns(const struct cg_expr_node *s);

static struct cg_expr_node *err_at(struct checker *c, struct cg_expr_node *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static struct cg_expr_node *err_at(struct checker *c, struct cg_expr_node *e, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cg_expr_report(c->dc, false, e->line, e->col, "%s", msg);
	e->type = T(ERROR);
	return e;
}

static const char *tn(struct cg_expr_type t, char *buf)
{
	return cg_expr_ty_short(t, buf, 160);
}

static struct cg_expr_node *mknode(struct checker *c, uint16_t op, const struct cg_expr_node *at)
{
	struct cg_expr_node *e = cg_arena_zalloc(c->arena, sizeof(*e));
	if (!e)
		return NULL;
	e->op = op;
	e->line = at->line;
	e->col = at->col;
	e->slot = -1;
	return e;
}

/* ---- conversions ---- */

/* T for a T? (Nullable<T>), else t itself. */
static struct cg_expr_type under(struct cg_expr_type t)
{
	return t.id == CG_EXPR_T_NULLABLE ? cg_expr_ty(t.elem) : t;
}

/* The value types certgate wraps in Nullable<T>. */
static bool nullable_ok(struct cg_expr_type t)
{
	switch (t.id) {
	case CG_EXPR_T_BOOL:
	case CG_EXPR_T_CHAR:
	case CG_EXPR_T_INT:
	case CG_EXPR_T_LONG:
	case CG_EXPR_T_DOUBLE:
	case CG_EXPR_T_DECIMAL:
	case CG_EXPR_T_DATETIME:
	case CG_EXPR_T_DTO:
	case CG_EXPR_T_TIMESPAN:
	case CG_EXPR_T_GUID:
		return true;
	default:
		return false;
	}
}

static int conv_cost(struct cg_expr_type from, struct cg_expr_type to);

/* C#'s nullable conversions: null and T (or what converts implicitly to
 * T) to T?, S? to T? when S converts to T, T? to object (boxing). T? to T
 * is explicit only. */
static int conv_cost_lifted(struct cg_expr_type from, struct cg_expr_type to)
{
	if (to.id != CG_EXPR_T_NULLABLE)
		return to.id == CG_EXPR_T_OBJECT ? 3 : -1;
	if (from.id == CG_EXPR_T_NULL)
		return 1;
	int k = conv_cost(under(from), under(to));
	return k < 0 ? -1 : k + (from.id != CG_EXPR_T_NULLABLE);
}

/* Cost of an implicit conversion, -1 when there is none. */
static int conv_cost(struct cg_expr_type from, struct cg_expr_type to)
{
	if (from.id == CG_EXPR_T_ERROR || to.id == CG_EXPR_T_ERROR)
		return 0;
	if (cg_expr_ty_eq(from, to))
		return 0;
	if (from.id == CG_EXPR_T_NULLABLE || to.id == CG_EXPR_T_NULLABLE)
		return conv_cost_lifted(from, to);
	if (from.id == CG_EXPR_T_NULL)
		return cg_expr_ty_is_ref(to) ? 1 : -1;
	if (to.id == CG_EXPR_T_OBJECT)
		return from.id == CG_EXPR_T_VOID || from.id == CG_EXPR_T_TYPEREF || from.id == CG_EXPR_T_LAMBDA ? -1 : 3;
	switch (from.id) {
	case CG_EXPR_T_CHAR:
	case CG_EXPR_T_BYTE:
		return to.id == CG_EXPR_T_INT ? 1 : to.id == CG_EXPR_T_LONG ? 2 : to.id == CG_EXPR_T_DOUBLE ? 2 :
		       to.id == CG_EXPR_T_DECIMAL ? 3 : -1;
	case CG_EXPR_T_INT:
		return to.id == CG_EXPR_T_LONG ? 1 : to.id == CG_EXPR_T_DOUBLE ? 2 : to.id == CG_EXPR_T_DECIMAL ? 3 : -1;
	case CG_EXPR_T_LONG:
		return to.id == CG_EXPR_T_DOUBLE ? 1 : to.id == CG_EXPR_T_DECIMAL ? 2 : -1;
	default:
		break;
	}
	if (to.id == CG_EXPR_T_SEQ) {
		struct cg_expr_type el = cg_expr_ty_elem(from);
		if (from.id != CG_EXPR_T_STRING && el.id != CG_EXPR_T_ERROR && el.id == to.elem)
			return 1;
	}
	return -1;
}

/* A T? node seen as a T: the same run-time value (null included), so the
 * lifted operators can type their operands with the plain rules. */
static struct cg_expr_node *unwrap(struct checker *c, struct cg_expr_node *e)
{
	if (e->type.id != CG_EXPR_T_NULLABLE)
		return e;
	struct cg_expr_type t = under(e->type);
	if (e->op == N_LIT) {
		e->type = t;
		return e;
	}
	if (e->op == N_CAST && e->sub == 0 && cg_expr_ty_eq(e->a->type, t))
		return e->a;
	struct cg_expr_node *n = mknode(c, N_CAST, e);
	if (!n)
		return e;
	n->a = e; /* a cast with sub 0 does nothing at run time */
	n->type = t;
	return n;
}

/* e (a T) typed as the T? to: no run-time work either. */
static struct cg_expr_node *wrap(struct checker *c, struct cg_expr_node *e, struct cg_expr_type to)
{
	if (cg_expr_ty_eq(e->type, to) || e->type.id == CG_EXPR_T_ERROR)
		return e;
	if (e->op == N_LIT) {
		e->type = to;
		return e;
	}
	struct cg_expr_node *n = mknode(c, N_CAST, e);
	if (!n)
		return e;
	n->a = e;
	n->type = to;
	return n;
}

static struct cg_expr_node *convert(struct checker *c, struct cg_expr_node *e, struct cg_expr_type to)
{
	if (to.id == CG_EXPR_T_NULLABLE || e->type.id == CG_EXPR_T_NULLABLE) {
		if (to.id != CG_EXPR_T_NULLABLE || e->type.id == CG_EXPR_T_NULL || e->type.id == CG_EXPR_T_ERROR)
			return e; /* boxing, or a null: nothing to do at run time */
		return wrap(c, convert(c, unwrap(c, e), under(to)), to);
	}
	if (e->type.id == CG_EXPR_T_ERROR || cg_expr_ty_eq(e->type, to) || !cg_expr_ty_is_numeric(to) ||
	    !cg_expr_ty_is_numeric(e->type))
		return e;
	/* Fold conversions of literals: never raises. A null stays null (the
	 * operand of a lifted operator). */
	if (e->op == N_LIT && e->lit.kind != CG_EXPR_V_NULL) {
		struct cg_expr_value v = e->lit;
		double d = v.kind == CG_EXPR_V_DOUBLE ? v.u.d : 0;
		int64_t l = v.kind == CG_EXPR_V_INT ? v.u.i : v.kind == CG_EXPR_V_LONG ? v.u.l :
			    v.kind == CG_EXPR_V_CHAR ? v.u.c : 0;
		if (v.kind != CG_EXPR_V_DOUBLE && v.kind != CG_EXPR_V_DECIMAL) {
			if (to.id == CG_EXPR_T_DECIMAL) {
				cg_expr_dec_from_long(l, &e->lit);
				e->type = to;
				return e;
			}
			if (to.id == CG_EXPR_T_LONG) {
				e->lit.kind = CG_EXPR_V_LONG;
				e->lit.u.l = l;
				e->type = to;
				return e;
			}
			if (to.id == CG_EXPR_T_DOUBLE) {
				e->lit.kind = CG_EXPR_V_DOUBLE;
				e->lit.u.d = (double)l;
				e->type = to;
				return e;
			}
			if (to.id == CG_EXPR_T_INT) {
				e->lit.kind = CG_EXPR_V_INT;
				e->lit.u.i = (int32_t)l;
				e->type = to;
				return e;
			}
		}
		(void)d;
	}
	struct cg_expr_node *n = mknode(c, N_CONVERT, e);
	if (!n)
		return e;
	n->a = e;
	n->type = to;
	return n;
}

/* Common type of two numeric operands (C# binary numeric promotion). */
static struct cg_expr_type promote(struct cg_expr_type a, struct cg_expr_type b)
{
	/* decimal with double has no common type (CS0019) */
	if (a.id == CG_EXPR_T_DECIMAL || b.id == CG_EXPR_T_DECIMAL)
		return a.id == CG_EXPR_T_DOUBLE || b.id == CG_EXPR_T_DOUBLE ? T(ERROR) : T(DECIMAL);
	if (a.id == CG_EXPR_T_DOUBLE || b.id == CG_EXPR_T_DOUBLE)
		return T(DOUBLE);
	if (a.id == CG_EXPR_T_LONG || b.id == CG_EXPR_T_LONG)
		return T(LONG);
	return T(INT);
}

/* ---- names ---- */

static struct local *find_local(struct checker *c, struct cg_str name)
{
	for (unsigned k = c->nlocals; k-- > 0;)
		if (cg_str_eq(c->locals[k].name, name))
			return &c->locals[k];
	return NULL;
}

static int declare(struct checker *c, struct cg_expr_node *at, struct cg_str name, struct cg_expr_type t)
{
	if (find_local(c, name) || cg_str_eq_lit(name, "context")) {
		err_at(c, at, "A local or parameter named '%.*s' cannot be declared in this scope",
		       CG_STR_FMT(name));
		return -1;
	}
	if (c->nlocals >= CG_EXPR_MAX_LOCALS || c->nslots >= CG_EXPR_MAX_LOCALS) {
		err_at(c, at, "more than %d locals", CG_EXPR_MAX_LOCALS);
		return -1;
	}
	struct local *l = &c->locals[c->nlocals++];
	l->name = name;
	l->type = t;
	l->slot = (int32_t)c->nslots++;
	return l->slot;
}

/* Is some prefix of the dotted name a known type (System.Text.Encoding in
 * System.Text.Encoding.UTF8)? Then the chain is a member access on it. */
static bool type_prefix(struct cg_str dn)
{
	for (size_t k = 1; k <= dn.len; k++)
		if ((k == dn.len || dn.ptr[k] == '.') && cg_expr_ty_lookup(cg_str_make(dn.ptr, k)).id != CG_EXPR_T_ERROR)
			return true;
	return false;
}

/* "a.b.c" for a chain of identifiers, or a null slice. */
static struct cg_str dotted(const struct cg_expr_node *e)
{
	if (e->op == N_IDENT && e->sub != TK_OUT)
		return e->name;
	if (e->op == N_MEMBER && !e->cond && !e->tsyn) {
		struct cg_str l = dotted(e->a);
		if (!l.ptr)
			return l;
		return cg_str_make(l.ptr, (size_t)(e->name.ptr + e->name.len - l.ptr));
	}
	return CG_STR_NULL;
}

/* T? / Nullable<T>: T must be one of the value types certgate wraps. */
static struct cg_expr_type make_nullable(struct checker *c, struct cg_expr_tsyn *ts, struct cg_expr_type t)
{
	char b1[160];
	if (t.id == CG_EXPR_T_ERROR || nullable_ok(t))
		return t.id == CG_EXPR_T_ERROR ? t : cg_expr_ty2(CG_EXPR_T_NULLABLE, t.id);
	if (cg_expr_ty_is_ref(t))
		cg_expr_report(c->dc, false, ts->line, ts->col,
			       "The type '%s' must be a non-nullable value type in order to use it as parameter 'T' in the generic type or method 'Nullable<T>'",
			       tn(t, b1));
	else
		cg_expr_report(c->dc, false, ts->line, ts->col, "Nullable<%s> is not supported by certgate yet",
			       tn(t, b1));
	return T(ERROR);
}

/* List<T>, HashSet<T>, Dictionary<string, T> with T a non-generic type;
 * Nullable<T>. */
static struct cg_expr_type resolve_generic(struct checker *c, struct cg_expr_tsyn *ts)
{
	if ((cg_str_eq_lit(ts->name, "Nullable") || cg_str_eq_lit(ts->name, "System.Nullable")) && ts->nargs == 1 &&
	    !ts->nullable)
		return make_nullable(c, ts, resolve_tsyn(c, ts->args[0], NULL));
	static const struct {
		const char *name;
		uint8_t id, nargs;
	} g[] = {
		{ "List", CG_EXPR_T_LIST, 1 }, { "System.Collections.Generic.List", CG_EXPR_T_LIST, 1 },
		{ "HashSet", CG_EXPR_T_SET, 1 }, { "System.Collections.Generic.HashSet", CG_EXPR_T_SET, 1 },
		{ "Dictionary", CG_EXPR_T_DICT, 2 }, { "System.Collections.Generic.Dictionary", CG_EXPR_T_DICT, 2 },
	};
	for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		if (!cg_str_eq(ts->name, cg_str_from_c(g[k].name)))
			continue;
		if (ts->nargs != g[k].nargs || ts->rank || ts->nullable)
			break;
		struct cg_expr_type a0 = resolve_tsyn(c, ts->args[0], NULL);
		struct cg_expr_type el = ts->nargs == 2 ? resolve_tsyn(c, ts->args[1], NULL) : a0;
		if (a0.id == CG_EXPR_T_ERROR || el.id == CG_EXPR_T_ERROR)
			return T(ERROR);
		if ((ts->nargs == 2 && a0.id != CG_EXPR_T_STRING) || el.elem) {
			cg_expr_report(c->dc, false, ts->line, ts->col,
				       "This generic instantiation is not supported by certgate yet (keys must be string, elements not generic)");
			return T(ERROR);
		}
		return cg_expr_ty2(g[k].id, el.id);
	}
	cg_expr_report(c->dc, false, ts->line, ts->col, "Type '%.*s' with type arguments is not supported by certgate yet",
		       CG_STR_FMT(ts->name));
	return T(ERROR);
}

static struct cg_expr_type resolve_tsyn(struct checker *c, struct cg_expr_tsyn *ts, struct cg_expr_node *at)
{
	if (ts->nargs) {
		struct cg_expr_type gt = resolve_generic(c, ts);
		if (gt.id == CG_EXPR_T_ERROR || !ts->rank)
			return gt;
		cg_expr_report(c->dc, false, ts->line, ts->col, "Arrays of generic types are not supported by certgate yet");
		return T(ERROR);
	}
	struct cg_expr_type t = cg_expr_ty_lookup(ts->name);
	if (t.id == CG_EXPR_T_ERROR) {
		bool apim;
		const char *full = cg_expr_ty_foreign(ts->name, &apim);
		if (full && apim)
			cg_expr_report(c->dc, false, ts->line, ts->col,
				       "Type '%s' is not supported by certgate yet", full);
		else if (full || cg_str_has_prefix(ts->name, CG_STR("System.")))
			cg_expr_report(c->dc, false, ts->line, ts->col,
				       "Usage of type '%.*s' is not supported within expressions",
				       full ? (int)strlen(full) : (int)ts->name.len, full ? full : ts->name.ptr);
		else
			cg_expr_report(c->dc, false, ts->line, ts->col,
				       "The type or namespace name '%.*s' could not be found",
				       CG_STR_FMT(ts->name));
		return T(ERROR);
	}
	if (ts->rank > 1) {
		cg_expr_report(c->dc, false, ts->line, ts->col, "Jagged arrays are not supported by certgate yet");
		return T(ERROR);
	}
	if (ts->rank == 1 && ts->nullable) {
		cg_expr_report(c->dc, false, ts->line, ts->col, "Arrays of nullable values are not supported by certgate yet");
		return T(ERROR);
	}
	if (ts->rank == 1)
		return cg_expr_ty2(CG_EXPR_T_ARRAY, t.id);
	(void)at;
	return ts->nullable ? make_nullable(c, ts, t) : t;
}

/* Reports a name that is neither a local, `context`, nor a known type. For
 * a dotted chain (System.IO.File.Exists) the error names the longest
 * prefix that is a known foreign type and points at the chain's start. */
static struct cg_expr_node *unknown_name(struct checker *c, struct cg_expr_node *e, struct cg_str name)
{
	bool apim = false;
	const char *full = NULL;
	for (size_t k = 1; k <= name.len && !full; k++)
		if (k == name.len || name.ptr[k] == '.')
			full = cg_expr_ty_foreign(cg_str_make(name.ptr, k), &apim);
	const struct cg_expr_node *root = e;
	while (root->op == N_MEMBER)
		root = root->a;
	e->line = root->line;
	e->col = root->col;
	if (full && apim)
		return err_at(c, e, "Type '%s' is not supported by certgate yet", full);
	if (full)
		return err_at(c, e, "Usage of type '%s' is not supported within expressions", full);
	if (cg_str_has_prefix(name, CG_STR("System.")))
		return err_at(c, e, "Usage of type '%.*s' is not supported within expressions", CG_STR_FMT(name));
	return err_at(c, e, "The name '%.*s' does not exist in the current context", CG_STR_FMT(name));
}

/* Resolves a dotted prefix as a type (System.String, Math) when its first
 * identifier is not a local or `context`. Returns a TYPEREF node, NULL
 * when the chain is not a type name, or an ERROR node when reported. */
static struct cg_expr_node *as_typeref(struct checker *c, struct cg_expr_node *e)
{
	struct cg_str name = dotted(e);
	if (!name.ptr)
		return NULL;
	const struct cg_expr_node *root = e;
	while (root->op == N_MEMBER)
		root = root->a;
	if (find_local(c, root->name) || cg_str_eq_lit(root->name, "context"))
		return NULL;
	struct cg_expr_type t = cg_expr_ty_lookup(name);
	if (t.id == CG_EXPR_T_ERROR)
		return NULL;
	struct cg_expr_node *n = mknode(c, N_TYPEREF, e);
	if (!n)
		return NULL;
	n->type = cg_expr_ty2(CG_EXPR_T_TYPEREF, t.id);
	return n;
}

/* ---- members ---- */

static const struct cg_expr_member *find_member(uint8_t owner, struct cg_str name, bool is_static,
						 uint8_t need, size_t *first)
{
	for (size_t k = 0; k < cg_expr_n_members; k++) {
		const struct cg_expr_member *m = &cg_expr_members[k];
		if (m->owner != owner || !cg_str_eq(name, cg_str_from_c(m->name)))
			continue;
		if (!!(m->flags & MF_STATIC) != is_static || (m->flags & (MF_METHOD | MF_INDEXER)) != need)
			continue;
		if (first)
			*first = k;
		return m;
	}
	return NULL;
}

static bool member_exists(uint8_t owner, struct cg_str name)
{
	for (size_t k = 0; k < cg_expr_n_members; k++)
		if (cg_expr_members[k].owner == owner && cg_str_eq(name, cg_str_from_c(cg_expr_members[k].name)))
			return true;
	return false;
}

static struct cg_expr_node *no_member(struct checker *c, struct cg_expr_node *e, struct cg_str name,
				      struct cg_expr_type owner)
{
	char b[160];
	return err_at(c, e, "Usage of member '%.*s' of type '%s' is not supported within expressions",
		      CG_STR_FMT(name), tn(owner, b));
}

static bool is_enumerable(struct cg_expr_type t)
{
	return cg_expr_ty_elem(t).id != CG_EXPR_T_ERROR;
}

/* ---- LINQ ---- */

enum linq {
	LQ_ANY = 1, LQ_ALL, LQ_COUNT, LQ_FIRST, LQ_FIRSTORDEFAULT, LQ_LAST, LQ_LASTORDEFAULT,
	LQ_WHERE, LQ_SELECT, LQ_CONTAINS, LQ_TOARRAY, LQ_TOLIST, LQ_SUM, LQ_MAX, LQ_MIN,
	LQ_ORDERBY, LQ_ORDERBYDESC, LQ_SKIP, LQ_TAKE, LQ_DISTINCT, LQ_ELEMENTAT,
	LQ_AVERAGE, LQ_REVERSE, LQ_SINGLE, LQ_SINGLEORDEFAULT,
};

static const char *const linq_names[] = {
	[LQ_ANY] = "Any", [LQ_ALL] = "All", [LQ_COUNT] = "Count", [LQ_FIRST] = "First",
	[LQ_FIRSTORDEFAULT] = "FirstOrDefault", [LQ_LAST] = "Last", [LQ_LASTORDEFAULT] = "LastOrDefault",
	[LQ_WHERE] = "Where", [LQ_SELECT] = "Select", [LQ_CONTAINS] = "Contains",
	[LQ_TOARRAY] = "ToArray", [LQ_TOLIST] = "ToList", [LQ_SUM] = "Sum", [LQ_MAX] = "Max",
	[LQ_MIN] = "Min", [LQ_ORDERBY] = "OrderBy", [LQ_ORDERBYDESC] = "OrderByDescending",
	[LQ_SKIP] = "Skip", [LQ_TAKE] = "Take", [LQ_DISTINCT] = "Distinct", [LQ_ELEMENTAT] = "ElementAt",
	[LQ_AVERAGE] = "Average", [LQ_REVERSE] = "Reverse", [LQ_SINGLE] = "Single", [LQ_SINGLEORDEFAULT] = "SingleOrDefault",
};

static int linq_kind(struct cg_str name)
{
	for (int k = 1; k < (int)(sizeof(linq_names) / sizeof(linq_names[0])); k++)
		if (cg_str_eq(name, cg_str_from_c(linq_names[k])))
			return k;
	return 0;
}

static bool uses_slot(const struct cg_expr_node *e, int32_t slot)
{
	if (!e)
		return false;
	if (e->op == N_LOCAL && e->slot == slot)
		return true;
	if (uses_slot(e->a, slot) || uses_slot(e->b, slot) || uses_slot(e->c, slot) || uses_slot(e->d, slot))
		return true;
	for (uint32_t k = 0; k < e->n; k++)
		if (uses_slot(e->list[k], slot))
			return true;
	return false;
}

/* p.Value.Thumbprint or p.Key, where p is the lambda's parameter. */
static bool is_thumb_of(const struct cg_expr_node *e, int32_t slot)
{
	if (e->op != N_PROP || e->cond)
		return false;
	if (e->a->op == N_LOCAL && e->a->slot == slot && strcmp(e->member->name, "Key") == 0)
		return true;
	return strcmp(e->member->name, "Thumbprint") == 0 && e->a->op == N_PROP && !e->a->cond &&
	       strcmp(e->a->member->name, "Value") == 0 && e->a->a->op == N_LOCAL && e->a->a->slot == slot;
}

static struct cg_expr_node *check_lambda(struct checker *c, struct cg_expr_node *lam, struct cg_expr_type param)
{
	if (lam->op != N_LAMBDA || lam->n != 1)
		return err_at(c, lam, "A lambda expression with one parameter is expected here");
	unsigned save = c->nlocals;
	int slot = declare(c, lam->list[0], lam->list[0]->name, param);
	if (slot < 0) {
		lam->type = T(ERROR); /* already reported */
		return lam;
	}
	lam->slot = slot;
	if (lam->a->op == S_BLOCK) {
		/* x => { ...; return v; }: its returns type the lambda, not the
		 * enclosing block */
		bool had = c->has_ret;
		struct cg_expr_type ret = c->ret;
		unsigned loops = c->loops, errs = c->dc->diag->n_errors;
		c->has_ret = false;
		c->loops = 0;
		check_stmt(c, lam->a);
		lam->type = c->has_ret ? c->ret : T(VOID);
		if (c->dc->diag->n_errors == errs && !always_returns(lam->a))
			err_at(c, lam, "Not all code paths return a value in lambda expression");
		c->has_ret = had;
		c->ret = ret;
		c->loops = loops;
		if (c->dc->diag->n_errors != errs)
			lam->type = T(ERROR);
	} else {
		lam->a = check(c, lam->a);
		lam->type = lam->a->type;
	}
	c->nlocals = save;
	return lam;
}

static struct cg_expr_node *check_linq(struct checker *c, struct cg_expr_node *call, struct cg_expr_node *target,
				       int kind)
{
	char b1[160];
	struct cg_expr_type el = cg_expr_ty_elem(target->type);
	struct cg_expr_node *e = mknode(c, N_LINQ, call);
	if (!e)
		return call;
	e->sub = (uint16_t)kind;
	e->a = target;
	bool takes_lambda = false, lambda_required = false, takes_int = false, takes_elem = false;
	switch (kind) {
	case LQ_ANY: case LQ_COUNT: case LQ_FIRST: case LQ_FIRSTORDEFAULT: case LQ_LAST: case LQ_LASTORDEFAULT:
	case LQ_SUM: case LQ_MAX: case LQ_MIN: case LQ_AVERAGE: case LQ_SINGLE: case LQ_SINGLEORDEFAULT:
		takes_lambda = true;
		break;
	case LQ_ALL: case LQ_WHERE: case LQ_SELECT: case LQ_ORDERBY: case LQ_ORDERBYDESC:
		takes_lambda = lambda_required = true;
		break;
	case LQ_SKIP: case LQ_TAKE: case LQ_ELEMENTAT:
		takes_int = true;
		break;
	case LQ_CONTAINS:
		takes_elem = true;
		break;
	default:
		break;
	}
	unsigned want = (lambda_required || takes_int || takes_elem) ? 1 : 0;
	unsigned maxa = (takes_lambda || takes_int || takes_elem) ? 1 : 0;
	if (call->n < want || call->n > maxa)
		return err_at(c, call, "No overload for method '%s' takes %u arguments", linq_names[kind], call->n);
	if (call->n && takes_lambda) {
		e->b = check_lambda(c, call->list[0], el);
		if (e->b->type.id == CG_EXPR_T_ERROR) {
			e->type = e->b->type; /* already reported */
			return e;
		}
		bool pred = kind != LQ_SELECT && kind != LQ_SUM && kind != LQ_MAX && kind != LQ_MIN &&
			    kind != LQ_ORDERBY && kind != LQ_ORDERBYDESC && kind != LQ_AVERAGE;
		if (pred && e->b->type.id != CG_EXPR_T_BOOL)
			return err_at(c, e->b, "Cannot implicitly convert type '%s' to 'bool'", tn(e->b->type, b1));
		/* The hot pattern: Certificates.Any(c => c.Value.Thumbprint == x)
		 * (or c.Key == x, either operand order) is a hash lookup. */
		struct cg_expr_node *body = e->b->a;
		if (kind == LQ_ANY && body->op != S_BLOCK && target->type.id == CG_EXPR_T_CERTDICT && body->op == N_BINARY &&
		    body->sub == TK_EQ) {
			struct cg_expr_node *key = NULL;
			if (is_thumb_of(body->a, e->b->slot) && !uses_slot(body->b, e->b->slot))
				key = body->b;
			else if (is_thumb_of(body->b, e->b->slot) && !uses_slot(body->a, e->b->slot))
				key = body->a;
			if (key && key->type.id == CG_EXPR_T_STRING) {
				e->op = N_CERT_HAS;
				e->b = key;
			}
		}
	} else if (call->n && takes_int) {
		e->b = convert(c, check(c, call->list[0]), T(INT));
		if (conv_cost(e->b->type, T(INT)) < 0)
			return err_at(c, e->b, "Argument 1: cannot convert to 'int'");
	} else if (call->n && takes_elem) {
		e->b = check(c, call->list[0]);
		if (conv_cost(e->b->type, el) < 0)
			return err_at(c, e->b, "Argument 1: cannot convert from '%s'", tn(e->b->type, b1));
		e->b = convert(c, e->b, el);
	}
	switch (kind) {
	case LQ_ANY: case LQ_ALL: case LQ_CONTAINS:
		e->type = T(BOOL);
		break;
	case LQ_COUNT:
		e->type = T(INT);
		break;
	case LQ_FIRST: case LQ_FIRSTORDEFAULT: case LQ_LAST: case LQ_LASTORDEFAULT: case LQ_ELEMENTAT:
	case LQ_SINGLE: case LQ_SINGLEORDEFAULT:
		e->type = el;
		break;
	case LQ_AVERAGE: {
		struct cg_expr_type vt = e->b ? e->b->type : el;
		if (vt.id != CG_EXPR_T_INT && vt.id != CG_EXPR_T_LONG && vt.id != CG_EXPR_T_DOUBLE &&
		    vt.id != CG_EXPR_T_DECIMAL)
			return err_at(c, e, "'Average' over '%s' is not supported", tn(vt, b1));
		e->type = vt.id == CG_EXPR_T_DECIMAL ? T(DECIMAL) : T(DOUBLE);
		break;
	}
	case LQ_SUM: case LQ_MAX: case LQ_MIN: {
		/* byte and char selectors widen to int (C#'s Func<T, int> overload) */
		if (e->b && (e->b->type.id == CG_EXPR_T_BYTE || (kind == LQ_SUM && e->b->type.id == CG_EXPR_T_CHAR))) {
			e->b->a = convert(c, e->b->a, T(INT));
			e->b->type = T(INT);
		}
		struct cg_expr_type vt = e->b ? e->b->type : el;
		bool ok = vt.id == CG_EXPR_T_INT || vt.id == CG_EXPR_T_LONG || vt.id == CG_EXPR_T_DOUBLE ||
			  vt.id == CG_EXPR_T_DECIMAL ||
			  (kind != LQ_SUM && (vt.id == CG_EXPR_T_STRING || vt.id == CG_EXPR_T_DATETIME ||
					      vt.id == CG_EXPR_T_TIMESPAN || vt.id == CG_EXPR_T_CHAR));
		if (!ok)
			return err_at(c, e, "'%s' over '%s' is not supported", linq_names[kind], tn(vt, b1));
		e->type = vt;
		break;
	}
	case LQ_SELECT:
		if (e->b->type.id == CG_EXPR_T_ARRAY || e->b->type.id == CG_EXPR_T_SEQ ||
		    e->b->type.id == CG_EXPR_T_VOID || e->b->type.id == CG_EXPR_T_NULL ||
		    e->b->type.id == CG_EXPR_T_NULLABLE)
			return err_at(c, e->b, "Select to '%s' is not supported by certgate yet", tn(e->b->type, b1));
		e->type = cg_expr_ty2(CG_EXPR_T_SEQ, e->b->type.id);
		break;
	case LQ_TOARRAY: case LQ_TOLIST:
		e->type = cg_expr_ty2(CG_EXPR_T_ARRAY, el.id);
		break;
	default:
		e->type = cg_expr_ty2(CG_EXPR_T_SEQ, el.id);
		break;
	}
	return e;
}

/* ---- calls ---- */

static struct cg_expr_node *check_args(struct checker *c, struct cg_expr_node *call)
{
	for (uint32_t k = 0; k < call->n; k++) {
		struct cg_expr_node *a = call->list[k];
		if (a->op == N_LAMBDA)
			return err_at(c, a, "A lambda expression is not expected here");
		if (a->op == N_IDENT && a->sub == TK_OUT) {
			/* out arguments: typed when the overload is known */
			continue;
		}
		if (a->op == N_NAMEDARG) {
			/* the one named argument in the tables: Body.As<T>(preserveContent: b) */
			if (!cg_str_eq_lit(a->name, "preserveContent"))
				return err_at(c, a, "Named arguments are not supported by certgate yet ('%.*s')",
					      CG_STR_FMT(a->name));
			a = call->list[k] = a->a;
		}
		call->list[k] = check(c, a);
		if (call->list[k]->type.id == CG_EXPR_T_ERROR) {
			call->type = call->list[k]->type; /* already reported */
			return call;
		}
	}
	return NULL;
}

/* A member's parameter or result type, with ELEM replaced by the owner's
 * element type (List<T>.Add(T), Dictionary<string,T>[key] ...). */
static struct cg_expr_type subst(struct cg_expr_type t, uint8_t elem)
{
	return t.id == CG_EXPR_T_ELEM ? cg_expr_ty(elem) : t;
}

/* A literal pattern (with literal or no options) is compiled once, with the
 * program: Regex.X(input, pattern[, ..., options]) and new Regex(pattern[,
 * options]). Returns -1 after reporting an invalid pattern. */
static int precompile_regex(struct checker *c, struct cg_expr_node *e, bool ctor, const char *name)
{
	unsigned pi = ctor ? 0 : 1;
	unsigned oi = ctor ? 1 : strcmp(name, "Replace") == 0 ? 3 : 2;
	if (e->n <= pi || e->list[pi]->op != N_LIT ||
	    e->list[pi]->lit.kind != CG_EXPR_V_STRING)
		return 0;
	int opts = 0;
	if (e->n > oi) {
		if (e->list[oi]->op != N_LIT)
			return 0;
		opts = e->list[oi]->lit.u.i;
	}
	const char *why = "";
	struct cg_str pat = e->list[pi]->lit.u.s;
	struct cg_expr_regex *x = cg_expr_regex_compile(c->arena, pat, opts, &why);
	if (!x) {
		err_at(c, e->list[pi], "Invalid pattern '%.*s': %s", (int)(pat.len > 60 ? 60 : pat.len), pat.ptr, why);
		e->type = T(ERROR);
		return -1;
	}
	e->lit.kind = CG_EXPR_V_OBJ;
	e->lit.u.obj = x;
	return 0;
}

static struct cg_expr_node *bind_call(struct checker *c, struct cg_expr_node *call, struct cg_expr_node *target,
				      uint8_t owner, struct cg_str name, bool is_static, uint8_t need,
				      struct cg_expr_tsyn *targ)
{
	char b1[160];
	size_t first;
	uint8_t elem = target ? target->type.elem : c->ctor_elem;
	if (!find_member(owner, name, is_static, need, &first)) {
		if (!member_exists(owner, name) || need == MF_INDEXER)
			return no_member(c, call, need == MF_INDEXER ? CG_STR("this[]") : name,
					 is_static ? cg_expr_ty(owner) : target->type);
		return err_at(c, call, "Non-invocable member '%s.%.*s' cannot be used like a method.",
			      tn(cg_expr_ty(owner), b1), CG_STR_FMT(name));
	}
	struct cg_expr_node *bad = check_args(c, call);
	if (bad)
		return bad;
	const struct cg_expr_member *best = NULL;
	int best_cost = 1 << 30;
	for (size_t k = first; k < cg_expr_n_members; k++) {
		const struct cg_expr_member *m = &cg_expr_members[k];
		/* overloads need not be adjacent: compile time only, scan on */
		if (m->owner != owner || !cg_str_eq(name, cg_str_from_c(m->name)))
			continue;
		if (!!(m->flags & MF_STATIC) != is_static || (m->flags & (MF_METHOD | MF_INDEXER)) != need)
			continue;
		if (call->n < m->nmin || (call->n > m->nmax && !(m->flags & MF_VARARGS)))
			continue;
		if (!!(m->flags & MF_GENERIC) != !!targ)
			continue;
		int cost = 0;
		for (uint32_t a = 0; a < call->n && cost >= 0; a++) {
			unsigned pi = a < CG_EXPR_MEMBER_PARAMS ? a : CG_EXPR_MEMBER_PARAMS - 1;
			if (m->flags & MF_VARARGS && pi >= m->nmax - 1u)
				pi = m->nmax - 1u;
			struct cg_expr_node *arg = call->list[a];
			bool is_out_param = ((m->flags & MF_OUT2) && a == 1) || ((m->flags & MF_OUT1) && a == 0);
			bool is_out_arg = arg->op == N_IDENT && arg->sub == TK_OUT;
			if (is_out_param != is_out_arg) {
				cost = -1;
				break;
			}
			if (is_out_arg) {
				/* out var x: any; out T x: T must be the parameter's type;
				 * out x: an existing local of that type */
				struct cg_expr_type want = subst(m->params[pi], elem);
				if (arg->tsyn) {
					struct cg_expr_type t = cg_expr_ty_lookup(arg->tsyn->name);
					if (arg->tsyn->rank == 1)
						t = cg_expr_ty2(CG_EXPR_T_ARRAY, t.id);
					if (!cg_expr_ty_eq(t, want))
						cost = -1;
				} else if (!arg->cond) {
					struct local *l = find_local(c, arg->name);
					if (!l || !cg_expr_ty_eq(l->type, want))
						cost = -1;
				}
				continue;
			}
			int k2 = conv_cost(arg->type, subst(m->params[pi], elem));
			cost = k2 < 0 ? -1 : cost + k2;
		}
		if (cost >= 0 && cost < best_cost) {
			best = m;
			best_cost = cost;
		}
	}
	if (!best) {
		char sig[160] = "";
		size_t off = 0;
		for (uint32_t a = 0; a < call->n && off < sizeof(sig) - 1; a++) {
			int w = snprintf(sig + off, sizeof(sig) - off, "%s%s", a ? ", " : "",
					 call->list[a]->op == N_IDENT ? "out" : tn(call->list[a]->type, b1));
			off += w > 0 ? (size_t)w : 0;
		}
		return err_at(c, call, "No overload of '%.*s' accepts (%s)", CG_STR_FMT(name), sig);
	}
	struct cg_expr_node *e = mknode(c, N_METHOD, call);
	if (!e)
		return call;
	e->member = best;
	e->a = target;
	e->cond = call->cond;
	e->list = call->list;
	e->n = call->n;
	for (uint32_t a = 0; a < call->n; a++) {
		unsigned pi = a < CG_EXPR_MEMBER_PARAMS ? a : CG_EXPR_MEMBER_PARAMS - 1;
		if (best->flags & MF_VARARGS && pi >= best->nmax - 1u)
			pi = best->nmax - 1u;
		struct cg_expr_node *arg = e->list[a];
		if (arg->op == N_IDENT && arg->sub == TK_OUT) {
			/* the out local: declared here (it stays visible in the
			 * enclosing block, as C# 7 scopes out variables) */
			int32_t slot;
			if (arg->cond) {
				slot = declare(c, arg, arg->name, subst(best->params[pi], elem));
				if (slot < 0) {
					e->type = T(ERROR);
					return e;
				}
			} else {
				slot = find_local(c, arg->name)->slot;
			}
			arg->op = N_LOCAL;
			arg->slot = slot;
			arg->type = subst(best->params[pi], elem);
			arg->cond = true; /* marks the out argument for eval */
			continue;
		}
		e->list[a] = convert(c, e->list[a], subst(best->params[pi], elem));
	}
	e->type = subst(best->result, elem);
	if (owner == CG_EXPR_T_HASH && is_static) {
		/* SHA256.Create() / new HMACSHA256(key): the algorithm is the
		 * type name as written */
		struct cg_str tname = call->op == N_NEW ? call->tsyn->name : dotted(call->a->a);
		int alg = cg_expr_hash_alg(tname);
		bool hmac = alg >= 0 && cg_expr_hash_hmac(alg);
		if (alg < 0 || (call->op == N_NEW && hmac != (call->n == 1)) || (call->op != N_NEW && hmac))
			return err_at(c, call, "Use SHA1/SHA256/SHA384/SHA512/MD5.Create(), new SHA256Managed() or new HMACSHA256(key)");
		e->lit.kind = CG_EXPR_V_INT;
		e->lit.u.i = alg;
	}
	if (owner == CG_EXPR_T_JTOKEN && is_static) {
		/* JObject.Parse / new JObject(...) vs JArray: which one was named */
		struct cg_str tname = call->op == N_NEW ? call->tsyn->name : dotted(call->a->a);
		e->lit.kind = CG_EXPR_V_INT;
		e->lit.u.i = cg_str_eq_lit(tname, "JObject") || cg_str_eq_lit(tname, "Newtonsoft.Json.Linq.JObject") ? 'o' :
			     cg_str_eq_lit(tname, "JArray") || cg_str_eq_lit(tname, "Newtonsoft.Json.Linq.JArray") ? 'a' : 't';
	}
	if (owner == CG_EXPR_T_REGEX && is_static && precompile_regex(c, e, call->op == N_NEW, best->name) < 0)
		return e;
	if (best->flags & MF_GENERIC) {
		e->type = resolve_tsyn(c, targ, call);
		e->tsyn = targ;
		/* GetValueOrDefault<decimal>(name, 5): the default is a T, so a
		 * numeric argument converts implicitly (int to decimal/double) */
		if (owner == CG_EXPR_T_VARIABLES && e->n == 2 && cg_expr_ty_is_numeric(e->type) &&
		    cg_expr_ty_is_numeric(e->list[1]->type) && conv_cost(e->list[1]->type, e->type) >= 0)
			e->list[1] = convert(c, e->list[1], e->type);
		if (owner == CG_EXPR_T_BODY && e->type.id != CG_EXPR_T_ERROR && e->type.id != CG_EXPR_T_STRING &&
		    e->type.id != CG_EXPR_T_JTOKEN &&
		    !(e->type.id == CG_EXPR_T_ARRAY && e->type.elem == CG_EXPR_T_BYTE))
			return err_at(c, call, "As<%.*s>() is not supported: use string, byte[], JObject, JArray or JToken",
				      CG_STR_FMT(targ->name));
	}
	return e;
}

/* seq.Cast<T>() where T is already the element type (.NET Framework code
 * writes Regex.Matches(...).Cast<Match>(): MatchCollection was not generic
 * there): the sequence itself. Other element types are refused. */
static struct cg_expr_node *check_cast_seq(struct checker *c, struct cg_expr_node *call, struct cg_expr_node *target,
					   struct cg_expr_tsyn *tsyn)
{
	char b1[160];
	struct cg_expr_type t = resolve_tsyn(c, tsyn, call);
	struct cg_expr_type el = cg_expr_ty_elem(target->type);
	if (t.id == CG_EXPR_T_ERROR)
		return call;
	if (call->n)
		return err_at(c, call, "No overload for method 'Cast' takes %u arguments", call->n);
	if (t.id != el.id || t.elem != el.elem)
		return err_at(c, call, "Cast<%s>() to another element type is not supported by certgate yet",
			      tn(t, b1));
	return target;
}

static struct cg_expr_node *check_call(struct checker *c, struct cg_expr_node *call)
{
	struct cg_expr_node *callee = call->a;
	if (callee->op != N_MEMBER) {
		if (callee->op == N_IDENT)
			return unknown_name(c, callee, callee->name);
		return err_at(c, call, "Method name expected");
	}
	struct cg_expr_node *target = as_typeref(c, callee->a);
	if (!target) {
		struct cg_str dn = dotted(callee->a);
		const struct cg_expr_node *root = callee->a;
		while (root->op == N_MEMBER)
			root = root->a;
		if (dn.ptr && dn.len != root->name.len && !find_local(c, root->name) &&
		    !cg_str_eq_lit(root->name, "context") && !type_prefix(dn))
			return unknown_name(c, callee->a, dn);
		target = check(c, callee->a);
	}
	if (target->type.id == CG_EXPR_T_ERROR) {
		call->type = target->type; /* already reported */
		return call;
	}
	call->cond = callee->cond;
	if (target->type.id == CG_EXPR_T_TYPEREF)
		return bind_call(c, call, NULL, target->type.elem, callee->name, true, MF_METHOD, callee->tsyn);
	if (cg_str_eq_lit(callee->name, "Cast") && callee->tsyn && is_enumerable(target->type))
		return check_cast_seq(c, call, target, callee->tsyn);
	int lq = linq_kind(callee->name);
	if (lq && is_enumerable(target->type) && !find_member(target->type.id, callee->name, false, MF_METHOD, NULL)) {
		if (callee->cond)
			return err_at(c, call, "'?.' before a LINQ method is not supported by certgate yet");
		return check_linq(c, call, target, lq);
	}
	uint8_t owner = target->type.id;
	return bind_call(c, call, target, owner, callee->name, false, MF_METHOD, callee->tsyn);
}

/* ---- operators ---- */

/* x?.Member with a value-type result is a Nullable<T> in C# (bool?, int?):
 * it cannot be used where a plain bool is required. */
static bool lifted(const struct cg_expr_node *e)
{
	return (e->op == N_PROP || e->op == N_METHOD) && (e->cond || (e->member->flags & MF_NULLABLE)) &&
	       !cg_expr_ty_is_ref(e->type) && e->type.id != CG_EXPR_T_ERROR;
}

static struct cg_expr_node *not_plain_bool(struct checker *c, struct cg_expr_node *e)
{
	char b1[160];
	return err_at(c, e, "Cannot implicitly convert type '%s?' to '%s'", tn(e->type, b1), tn(e->type, b1));
}

static bool is_eqtype_ref(struct cg_expr_type t)
{
	return cg_expr_ty_is_ref(t) || t.id == CG_EXPR_T_NULL;
}

/* Types e (a binary operator whose operands are checked); na and nb are
 * the operand types its error message names. */
static struct cg_expr_node *type_binary(struct checker *c, struct cg_expr_node *e, struct cg_expr_type na,
					struct cg_expr_type nb)
{
	char b1[160], b2[160];
	uint16_t op = e->sub;
	struct cg_expr_type ta = e->a->type, tb = e->b->type;
	const char *opname = "?";
	switch (op) {
	case TK_OROR: opname = "||"; break;
	case TK_ANDAND: opname = "&&"; break;
	case TK_QQ: opname = "??"; break;
	case TK_PLUS: opname = "+"; break;
	case TK_MINUS: opname = "-"; break;
	case TK_STAR: opname = "*"; break;
	case TK_SLASH: opname = "/"; break;
	case TK_PERCENT: opname = "%"; break;
	case TK_EQ: opname = "=="; break;
	case TK_NE: opname = "!="; break;
	case TK_LT: opname = "<"; break;
	case TK_GT: opname = ">"; break;
	case TK_LE: opname = "<="; break;
	case TK_GE: opname = ">="; break;
	case TK_AMP: opname = "&"; break;
	case TK_PIPE: opname = "|"; break;
	case TK_CARET: opname = "^"; break;
	case TK_SHL: opname = "<<"; break;
	case TK_SHR: opname = ">>"; break;
	}
	switch (op) {
	case TK_OROR:
	case TK_ANDAND:
		if (lifted(e->a))
			return not_plain_bool(c, e->a);
		if (lifted(e->b))
			return not_plain_bool(c, e->b);
		if (ta.id == CG_EXPR_T_BOOL && tb.id == CG_EXPR_T_BOOL) {
			e->op = op == TK_OROR ? N_ORELSE : N_ANDALSO;
			e->type = T(BOOL);
			return e;
		}
		break;
	case TK_QQ:
		if (ta.id == CG_EXPR_T_NULLABLE) {
			/* a T? with a T (or what converts to T): a T; with a T? or
			 * null: a T? */
			e->op = N_COALESCE;
			if (conv_cost(tb, under(ta)) >= 0) {
				e->a = unwrap(c, e->a);
				e->b = convert(c, e->b, under(ta));
				e->type = under(ta);
				return e;
			}
			if (conv_cost(tb, ta) >= 0) {
				e->b = convert(c, e->b, ta);
				e->type = ta;
				return e;
			}
			if (conv_cost(under(ta), tb) >= 0) {
				e->a = convert(c, unwrap(c, e->a), tb);
				e->type = tb;
				return e;
			}
			break;
		}
		/* references, and T? values (x?.Value, Jwt.ExpirationTime) */
		if (!cg_expr_ty_is_ref(ta) && ta.id != CG_EXPR_T_NULL && !lifted(e->a))
			break;
		e->op = N_COALESCE;
		if (conv_cost(tb, ta) >= 0) {
			e->type = ta.id == CG_EXPR_T_NULL ? tb : ta;
			return e;
		}
		if (conv_cost(ta, tb) >= 0) {
			e->type = tb;
			return e;
		}
		break;
	case TK_PLUS:
		if (ta.id == CG_EXPR_T_STRING || tb.id == CG_EXPR_T_STRING) {
			if (ta.id == CG_EXPR_T_VOID || tb.id == CG_EXPR_T_VOID)
				break;
			e->op = N_STRCAT;
			e->type = T(STRING);
			return e;
		}
		/* fallthrough */
	case TK_MINUS:
		if (ta.id == CG_EXPR_T_DATETIME && tb.id == CG_EXPR_T_TIMESPAN) {
			e->type = T(DATETIME);
			return e;
		}
		if (op == TK_MINUS && ta.id == CG_EXPR_T_DATETIME && tb.id == CG_EXPR_T_DATETIME) {
			e->type = T(TIMESPAN);
			return e;
		}
		if (ta.id == CG_EXPR_T_TIMESPAN && tb.id == CG_EXPR_T_TIMESPAN) {
			e->type = T(TIMESPAN);
			return e;
		}
		/* fallthrough */
	case TK_STAR:
	case TK_SLASH:
	case TK_PERCENT:
		if (cg_expr_ty_is_numeric(ta) && cg_expr_ty_is_numeric(tb) && promote(ta, tb).id != CG_EXPR_T_ERROR) {
			struct cg_expr_type t = promote(ta, tb);
			e->a = convert(c, e->a, t);
			e->b = convert(c, e->b, t);
			e->type = t;
			return e;
		}
		break;
	case TK_AMP:
	case TK_PIPE:
	case TK_CARET:
		if ((ta.id == CG_EXPR_T_BOOL || ta.id == CG_EXPR_T_REGEXOPT || ta.id == CG_EXPR_T_SPLITOPT) &&
		    cg_expr_ty_eq(ta, tb)) {
			e->type = ta; /* bool logic, or flags of an enum (held as int) */
			return e;
		}
		if (cg_expr_ty_is_numeric(ta) && cg_expr_ty_is_numeric(tb) && ta.id != CG_EXPR_T_DOUBLE &&
		    tb.id != CG_EXPR_T_DOUBLE && ta.id != CG_EXPR_T_DECIMAL && tb.id != CG_EXPR_T_DECIMAL) {
			struct cg_expr_type t = promote(ta, tb);
			e->a = convert(c, e->a, t);
			e->b = convert(c, e->b, t);
			e->type = t;
			return e;
		}
		break;
	case TK_SHL:
	case TK_SHR:
		if ((ta.id == CG_EXPR_T_INT || ta.id == CG_EXPR_T_LONG || ta.id == CG_EXPR_T_CHAR) &&
		    (tb.id == CG_EXPR_T_INT || tb.id == CG_EXPR_T_CHAR)) {
			e->a = convert(c, e->a, ta.id == CG_EXPR_T_LONG ? T(LONG) : T(INT));
			e->b = convert(c, e->b, T(INT));
			e->type = e->a->type;
			return e;
		}
		break;
	case TK_EQ:
	case TK_NE:
		if (cg_expr_ty_is_numeric(ta) && cg_expr_ty_is_numeric(tb) && promote(ta, tb).id != CG_EXPR_T_ERROR) {
			if (ta.id == CG_EXPR_T_CHAR && tb.id == CG_EXPR_T_CHAR) {
				e->type = T(BOOL);
				return e;
			}
			struct cg_expr_type t = promote(ta, tb);
			e->a = convert(c, e->a, t);
			e->b = convert(c, e->b, t);
			e->type = T(BOOL);
			return e;
		}
		if (ta.id == CG_EXPR_T_X500 && tb.id == CG_EXPR_T_STRING) {
			/* Roslyn would reject this (no == between the two types); APIM
			 * policies in the wild use it meaning the Name, so we compare
			 * Name and warn. */
			cg_expr_report(c->dc, true, e->line, e->col,
				       "X500DistinguishedName compared with a string: comparing its Name (use .Name)");
			e->op = N_X500_EQ;
			e->type = T(BOOL);
			return e;
		}
		if (ta.id == CG_EXPR_T_STRING && tb.id == CG_EXPR_T_X500) {
			cg_expr_report(c->dc, true, e->line, e->col,
				       "X500DistinguishedName compared with a string: comparing its Name (use .Name)");
			struct cg_expr_node *t = e->a;
			e->a = e->b;
			e->b = t;
			e->op = N_X500_EQ;
			e->type = T(BOOL);
			return e;
		}
		if (cg_expr_ty_eq(ta, tb) && ta.id != CG_EXPR_T_VOID && ta.id != CG_EXPR_T_TYPEREF &&
		    ta.id != CG_EXPR_T_LAMBDA && ta.id != CG_EXPR_T_CERTKV && ta.id != CG_EXPR_T_HEADERKV &&
		    ta.id != CG_EXPR_T_STRKV && ta.id != CG_EXPR_T_VARKV) {
			e->type = T(BOOL);
			return e;
		}
		if (is_eqtype_ref(ta) && is_eqtype_ref(tb) &&
		    (ta.id == CG_EXPR_T_NULL || tb.id == CG_EXPR_T_NULL || ta.id == CG_EXPR_T_OBJECT ||
		     tb.id == CG_EXPR_T_OBJECT)) {
			e->type = T(BOOL);
			return e;
		}
		/* value == null: C#'s lifted comparison (always false for a plain
		 * value; meaningful for the DateTime? members certgate returns) */
		if ((ta.id == CG_EXPR_T_NULL && tb.id != CG_EXPR_T_VOID && tb.id != CG_EXPR_T_TYPEREF) ||
		    (tb.id == CG_EXPR_T_NULL && ta.id != CG_EXPR_T_VOID && ta.id != CG_EXPR_T_TYPEREF)) {
			e->type = T(BOOL);
			return e;
		}
		break;
	case TK_LT:
	case TK_GT:
	case TK_LE:
	case TK_GE:
		if (cg_expr_ty_is_numeric(ta) && cg_expr_ty_is_numeric(tb) && promote(ta, tb).id != CG_EXPR_T_ERROR) {
			struct cg_expr_type t = promote(ta, tb);
			e->a = convert(c, e->a, t);
			e->b = convert(c, e->b, t);
			e->type = T(BOOL);
			return e;
		}
		if ((ta.id == CG_EXPR_T_DATETIME || ta.id == CG_EXPR_T_TIMESPAN || ta.id == CG_EXPR_T_DTO) &&
		    cg_expr_ty_eq(ta, tb)) {
			e->type = T(BOOL);
			return e;
		}
		break;
	}
	return err_at(c, e, "Operator '%s' cannot be applied to operands of type '%s' and '%s'", opname,
		      tn(na, b1), tn(nb, b2));
}

static bool is_arith_op(uint16_t op)
{
	return op == TK_PLUS || op == TK_MINUS || op == TK_STAR || op == TK_SLASH || op == TK_PERCENT ||
	       op == TK_AMP || op == TK_PIPE || op == TK_CARET || op == TK_SHL || op == TK_SHR;
}

/* C#'s lifted operators on T?: the operator of the T operands, with null
 * in, null out for arithmetic (+ - * / % & | ^ << >> give a T?),
 * comparisons false with a null, == and != true for two nulls; bool? & and
 * | are three-valued (null & false is false, null | true is true). A null
 * literal operand takes the other operand's type. */
static struct cg_expr_node *check_lifted_binary(struct checker *c, struct cg_expr_node *e)
{
	uint16_t op = e->sub;
	struct cg_expr_type na = e->a->type, nb = e->b->type;
	if (op == TK_OROR || op == TK_ANDAND || op == TK_QQ)
		return type_binary(c, e, na, nb); /* no lifted form: bool? && is an error */
	bool keep_null = op == TK_EQ || op == TK_NE; /* x == null: the null test */
	e->a = unwrap(c, e->a);
	e->b = unwrap(c, e->b);
	if (!keep_null && e->a->type.id == CG_EXPR_T_NULL)
		e->a->type = e->b->type;
	if (!keep_null && e->b->type.id == CG_EXPR_T_NULL)
		e->b->type = e->a->type;
	struct cg_expr_node *r = type_binary(c, e, na, nb);
	if (r->type.id == CG_EXPR_T_ERROR || !is_arith_op(op) || r->type.id == CG_EXPR_T_STRING)
		return r;
	if (r->type.id == CG_EXPR_T_BOOL && (op == TK_AMP || op == TK_PIPE))
		r->op = N_BOOL3;
	if (!nullable_ok(r->type))
		return r;
	return wrap(c, r, cg_expr_ty2(CG_EXPR_T_NULLABLE, r->type.id));
}

static struct cg_expr_node *check_binary(struct checker *c, struct cg_expr_node *e)
{
	e->a = check(c, e->a);
	e->b = check(c, e->b);
	struct cg_expr_type ta = e->a->type, tb = e->b->type;
	if (ta.id == CG_EXPR_T_ERROR || tb.id == CG_EXPR_T_ERROR) {
		e->type = T(ERROR);
		return e;
	}
	if (ta.id == CG_EXPR_T_NULLABLE || tb.id == CG_EXPR_T_NULLABLE)
		return check_lifted_binary(c, e);
	return type_binary(c, e, ta, tb);
}

static struct cg_expr_node *type_unary(struct checker *c, struct cg_expr_node *e, struct cg_expr_type t);

/* ! - + ~ on a T?: lifted (null stays null). */
static struct cg_expr_node *check_unary(struct checker *c, struct cg_expr_node *e)
{
	e->a = check(c, e->a);
	struct cg_expr_type t = e->a->type;
	if (t.id == CG_EXPR_T_ERROR) {
		e->type = t;
		return e;
	}
	if (t.id != CG_EXPR_T_NULLABLE)
		return type_unary(c, e, t);
	e->a = unwrap(c, e->a);
	struct cg_expr_node *r = type_unary(c, e, t);
	if (r->type.id == CG_EXPR_T_ERROR || !nullable_ok(r->type))
		return r;
	return wrap(c, r, cg_expr_ty2(CG_EXPR_T_NULLABLE, r->type.id));
}

/* Types a unary operator whose operand is checked; named is the operand
 * type its error message names. */
static struct cg_expr_node *type_unary(struct checker *c, struct cg_expr_node *e, struct cg_expr_type named)
{
	char b1[160];
	struct cg_expr_type t = e->a->type;
	switch (e->sub) {
	case TK_BANG:
		if (lifted(e->a))
			return not_plain_bool(c, e->a);
		if (t.id == CG_EXPR_T_BOOL) {
			e->type = t;
			return e;
		}
		return err_at(c, e, "Operator '!' cannot be applied to operand of type '%s'", tn(named, b1));
	case TK_MINUS:
	case TK_PLUS:
		if (cg_expr_ty_is_numeric(t)) {
			struct cg_expr_type r = t.id == CG_EXPR_T_CHAR ? T(INT) : t;
			e->a = convert(c, e->a, r);
			/* fold -literal so int.MinValue literals work: -2147483648
			 * (2147483648 alone is a uint; negated, C# makes it an int) */
			if (e->a->op == N_LIT && e->sub == TK_MINUS) {
				struct cg_expr_node *l = e->a;
				if (l->lit.kind == CG_EXPR_V_LONG && l->sub == NUM_UINT && l->lit.u.l == 2147483648LL) {
					l->lit.kind = CG_EXPR_V_INT;
					l->lit.u.i = INT32_MIN;
					l->type = T(INT);
					l->line = e->line;
					l->col = e->col;
					return l;
				}
				if (l->lit.kind == CG_EXPR_V_INT)
					l->lit.u.i = (int32_t)(0u - (uint32_t)l->lit.u.i);
				else if (l->lit.kind == CG_EXPR_V_LONG)
					l->lit.u.l = (int64_t)(0ull - (uint64_t)l->lit.u.l);
				else if (l->lit.kind == CG_EXPR_V_DECIMAL)
					l->lit.u.dec.neg = cg_expr_dec_coef(&l->lit) != 0 && !l->lit.u.dec.neg;
				else
					l->lit.u.d = -l->lit.u.d;
				return l;
			}
			e->type = r;
			return e;
		}
		if (t.id == CG_EXPR_T_TIMESPAN && e->sub == TK_MINUS) {
			e->type = t;
			return e;
		}
		return err_at(c, e, "Operator '%s' cannot be applied to operand of type '%s'",
			      e->sub == TK_MINUS ? "-" : "+", tn(named, b1));
	case TK_TILDE:
		if (t.id == CG_EXPR_T_INT || t.id == CG_EXPR_T_LONG || t.id == CG_EXPR_T_CHAR) {
			e->a = convert(c, e->a, t.id == CG_EXPR_T_LONG ? T(LONG) : T(INT));
			e->type = e->a->type;
			return e;
		}
		return err_at(c, e, "Operator '~' cannot be applied to operand of type '%s'", tn(named, b1));
	}
	return err_at(c, e, "unknown operator");
}

/* (T)x between plain T: the conversion node, or NULL after an error. */
static struct cg_expr_node *cast_plain(struct checker *c, struct cg_expr_node *x, struct cg_expr_type from,
				       struct cg_expr_type to, struct cg_expr_node *at)
{
	char b1[160], b2[160];
	if (cg_expr_ty_eq(x->type, to))
		return x;
	if (conv_cost(x->type, to) >= 0 && cg_expr_ty_is_numeric(to) && cg_expr_ty_is_numeric(x->type))
		return convert(c, x, to);
	if (cg_expr_ty_is_numeric(to) && cg_expr_ty_is_numeric(x->type)) {
		struct cg_expr_node *n = mknode(c, N_CONVERT, at);
		if (!n)
			return NULL;
		n->a = x;
		n->sub = 1;
		n->type = to;
		return n;
	}
	err_at(c, at, "Cannot convert type '%s' to '%s'", tn(from, b1), tn(to, b2));
	return NULL;
}

/* Casts with a T?: (T?)x converts x to T and wraps it; (T)x of a T?
 * takes its value (InvalidOperationException "Nullable object must have a
 * value." for null) and converts that; (object)x boxes. */
static struct cg_expr_node *check_cast_nullable(struct checker *c, struct cg_expr_node *e, struct cg_expr_type from,
						struct cg_expr_type to)
{
	if (to.id == CG_EXPR_T_NULLABLE) {
		if (from.id == CG_EXPR_T_NULL)
			return wrap(c, e->a, to);
		if (from.id == CG_EXPR_T_OBJECT) {
			e->type = to;
			e->sub = 1; /* unboxing: null, or a boxed T (InvalidCastException) */
			return e;
		}
		struct cg_expr_node *n = cast_plain(c, unwrap(c, e->a), from, under(to), e);
		return n ? wrap(c, n, to) : e;
	}
	e->type = to;
	if (to.id == CG_EXPR_T_OBJECT) {
		e->sub = 0;
		return e;
	}
	e->sub = 4; /* the value of a T? */
	e->type = under(from);
	struct cg_expr_node *n = cast_plain(c, e, from, to, e);
	return n ? n : e;
}

static struct cg_expr_node *check_cast(struct checker *c, struct cg_expr_node *e)
{
	char b1[160], b2[160];
	struct cg_expr_type to = resolve_tsyn(c, e->tsyn, e);
	e->a = check(c, e->a);
	struct cg_expr_type from = e->a->type;
	if (to.id == CG_EXPR_T_ERROR || from.id == CG_EXPR_T_ERROR) {
		e->type = T(ERROR);
		return e;
	}
	if (to.id == CG_EXPR_T_NULLABLE || from.id == CG_EXPR_T_NULLABLE)
		return check_cast_nullable(c, e, from, to);
	e->type = to;
	if (cg_expr_ty_eq(from, to) || conv_cost(from, to) >= 0) {
		if (cg_expr_ty_is_numeric(to) && cg_expr_ty_is_numeric(from))
			return convert(c, e->a, to);
		e->sub = 0; /* no runtime check needed */
		return e;
	}
	if (cg_expr_ty_is_numeric(to) && cg_expr_ty_is_numeric(from)) {
		e->op = N_CONVERT; /* explicit numeric conversion: truncation, unchecked wrap */
		e->sub = 1;
		return e;
	}
	if (from.id == CG_EXPR_T_OBJECT) {
		e->sub = 1; /* unboxing/downcast: checked at run time (InvalidCastException) */
		return e;
	}
	if (from.id == CG_EXPR_T_DAYOFWEEK && to.id == CG_EXPR_T_INT) {
		e->sub = 3; /* an enum's number */
		return e;
	}
	if (from.id == CG_EXPR_T_JTOKEN && (to.id == CG_EXPR_T_STRING || to.id == CG_EXPR_T_INT ||
					    to.id == CG_EXPR_T_LONG || to.id == CG_EXPR_T_DOUBLE ||
					    to.id == CG_EXPR_T_BOOL)) {
		e->sub = 2; /* JToken's explicit conversion operators */
		return e;
	}
	return err_at(c, e, "Cannot convert type '%s' to '%s'", tn(from, b1), tn(to, b2));
}

/* Type of a ?: or new[] { } from two candidates. */
static bool unify(struct cg_expr_type a, struct cg_expr_type b, struct cg_expr_type *out)
{
	if (conv_cost(b, a) >= 0 && b.id != CG_EXPR_T_OBJECT) {
		*out = a.id == CG_EXPR_T_NULL ? b : a;
		return a.id != CG_EXPR_T_NULL || cg_expr_ty_is_ref(b);
	}
	if (conv_cost(a, b) >= 0) {
		*out = b;
		return true;
	}
	return false;
}

static struct cg_expr_node *check_interp(struct checker *c, struct cg_expr_node *e)
{
	for (uint32_t k = 0; k < e->n; k++) {
		struct cg_expr_node *part = e->list[k];
		if (part->op == N_LIT)
			continue;
		part->a = check(c, part->a);
		if (part->a->type.id == CG_EXPR_T_ERROR || part->a->type.id == CG_EXPR_T_VOID) {
			e->type = T(ERROR);
			return e;
		}
		part->type = T(STRING);
	}
	e->type = T(STRING);
	return e;
}

/* A deep copy of an unchecked subtree (the checker rewrites nodes in place,
 * so `x[k] op= v` needs its own copy of x[k] for the read). */
static struct cg_expr_node *clone_tree(struct checker *c, const struct cg_expr_node *e, unsigned depth)
{
	if (!e || depth > CG_EXPR_MAX_TREE_DEPTH)
		return NULL;
	struct cg_expr_node *n = cg_arena_alloc(c->arena, sizeof(*n));
	if (!n)
		return NULL;
	*n = *e;
	n->a = e->a ? clone_tree(c, e->a, depth + 1) : NULL;
	n->b = e->b ? clone_tree(c, e->b, depth + 1) : NULL;
	n->c = e->c ? clone_tree(c, e->c, depth + 1) : NULL;
	n->d = e->d ? clone_tree(c, e->d, depth + 1) : NULL;
	if ((e->a && !n->a) || (e->b && !n->b) || (e->c && !n->c) || (e->d && !n->d))
		return NULL;
	if (e->n) {
		n->list = cg_arena_alloc(c->arena, sizeof(*n->list) * e->n);
		if (!n->list)
			return NULL;
		for (uint32_t k = 0; k < e->n; k++)
			if (!(n->list[k] = clone_tree(c, e->list[k], depth + 1)))
				return NULL;
	}
	return n;
}

static struct cg_expr_node *check_assign(struct checker *c, struct cg_expr_node *e)
{
	char b1[160], b2[160];
	if (e->a->op == N_INDEX && e->sub != TK_ASSIGN && e->a->n == 1) {
		/* x[k] op= v  ->  x[k] = x[k] op v (x and k are evaluated twice,
		 * which only matters for side effects, rare in policies) */
		static const struct { uint8_t from, to; } cops[] = {
			{ TK_PLUSEQ, TK_PLUS }, { TK_MINUSEQ, TK_MINUS }, { TK_STAREQ, TK_STAR },
			{ TK_SLASHEQ, TK_SLASH }, { TK_PERCENTEQ, TK_PERCENT }, { TK_AMPEQ, TK_AMP },
			{ TK_PIPEEQ, TK_PIPE }, { TK_CARETEQ, TK_CARET }, { TK_QQEQ, TK_QQ },
			{ TK_SHLEQ, TK_SHL }, { TK_SHREQ, TK_SHR },
		};
		struct cg_expr_node *bin = mknode(c, N_BINARY, e);
		struct cg_expr_node *read = clone_tree(c, e->a, 0);
		if (!bin || !read)
			return err_at(c, e, "out of memory");
		for (size_t k = 0; k < sizeof(cops) / sizeof(cops[0]); k++)
			if (cops[k].from == e->sub)
				bin->sub = cops[k].to;
		bin->a = read;
		bin->b = e->b;
		e->b = bin;
		e->sub = TK_ASSIGN;
	}
	if (e->a->op == N_INDEX) {
		/* token[key] = value: JToken's indexer setter */
		struct cg_expr_node *target = check(c, e->a->a);
		if (target->type.id == CG_EXPR_T_ERROR) {
			e->type = target->type;
			return e;
		}
		uint8_t tid = target->type.id;
		if ((tid != CG_EXPR_T_JTOKEN && tid != CG_EXPR_T_LIST && tid != CG_EXPR_T_DICT && tid != CG_EXPR_T_ARRAY) ||
		    e->sub != TK_ASSIGN ||
		    e->a->n != 1)
			return err_at(c, e->a, "Assignment to an element is not supported by certgate yet");
		if (tid == CG_EXPR_T_ARRAY && target->type.elem == CG_EXPR_T_BYTE && e->b->op == N_LIT &&
		    e->b->lit.kind == CG_EXPR_V_INT && e->b->lit.u.i >= 0 && e->b->lit.u.i <= 255)
			e->b->type = T(BYTE); /* a constant int in range converts to byte */
		struct cg_expr_node *call = mknode(c, N_CALL, e->a);
		struct cg_expr_node **args = cg_arena_alloc(c->arena, sizeof(*args) * 2);
		if (!call || !args)
			return err_at(c, e, "out of memory");
		args[0] = e->a->list[0];
		args[1] = e->b;
		call->list = args;
		call->n = 2;
		return bind_call(c, call, target, tid, CG_STR("set_Item"), false, MF_METHOD, NULL);
	}
	if (e->a->op == N_MEMBER)
		return err_at(c, e->a, "Property or indexer '%.*s' cannot be assigned to -- it is read only",
			      CG_STR_FMT(e->a->name));
	if (e->a->op != N_IDENT || e->a->sub == TK_OUT)
		return err_at(c, e->a, "The left-hand side of an assignment must be a local variable");
	struct local *l = find_local(c, e->a->name);
	if (!l && cg_str_eq_lit(e->a->name, "context"))
		return err_at(c, e->a, "The left-hand side of an assignment must be a local variable");
	if (!l)
		return unknown_name(c, e->a, e->a->name);
	if (e->sub != TK_ASSIGN) {
		/* x op= y  ->  x = x op y */
		static const struct { uint8_t from, to; } ops[] = {
			{ TK_PLUSEQ, TK_PLUS }, { TK_MINUSEQ, TK_MINUS }, { TK_STAREQ, TK_STAR },
			{ TK_SLASHEQ, TK_SLASH }, { TK_PERCENTEQ, TK_PERCENT }, { TK_AMPEQ, TK_AMP },
			{ TK_PIPEEQ, TK_PIPE }, { TK_CARETEQ, TK_CARET }, { TK_QQEQ, TK_QQ },
			{ TK_SHLEQ, TK_SHL }, { TK_SHREQ, TK_SHR },
		};
		struct cg_expr_node *bin = mknode(c, N_BINARY, e);
		struct cg_expr_node *lhs = mknode(c, N_IDENT, e->a);
		if (!bin || !lhs)
			return err_at(c, e, "out of memory");
		*lhs = *e->a;
		for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
			if (ops[k].from == e->sub)
				bin->sub = ops[k].to;
		bin->a = lhs;
		bin->b = e->b;
		e->b = bin;
		e->sub = TK_ASSIGN;
	}
	e->a = check(c, e->a);
	e->b = check(c, e->b);
	if (e->b->type.id == CG_EXPR_T_ERROR) {
		e->type = T(ERROR);
		return e;
	}
	if (conv_cost(e->b->type, l->type) < 0) {
		/* compound assignment with an explicit-conversion result (x += 1 on a char) */
		return err_at(c, e->b, "Cannot implicitly convert type '%s' to '%s'", tn(e->b->type, b1),
			      tn(l->type, b2));
	}
	e->b = convert(c, e->b, l->type);
	e->slot = l->slot;
	e->type = l->type;
	return e;
}

static struct cg_expr_node *check_member(struct checker *c, struct cg_expr_node *e)
{
	struct cg_expr_node *tr = as_typeref(c, e);
	if (tr)
		return err_at(c, e, "A type name is not a value here");
	struct cg_expr_node *target = as_typeref(c, e->a);
	if (!target) {
		struct cg_str dn = dotted(e);
		const struct cg_expr_node *root = e;
		while (root->op == N_MEMBER)
			root = root->a;
		if (dn.ptr && !find_local(c, root->name) && !cg_str_eq_lit(root->name, "context") &&
		    !type_prefix(dotted(e->a))) {
			/* System.IO.File.Exists / Environment.X: name the type */
			return unknown_name(c, e->a, dotted(e->a));
		}
		target = check(c, e->a);
	}
	if (target->type.id == CG_EXPR_T_ERROR) {
		e->type = T(ERROR);
		return e;
	}
	bool is_static = target->type.id == CG_EXPR_T_TYPEREF;
	uint8_t owner = is_static ? target->type.elem : target->type.id;
	const struct cg_expr_member *m = find_member(owner, e->name, is_static, 0, NULL);
	if (!m) {
		if (member_exists(owner, e->name))
			return err_at(c, e, "'%.*s' is a method; call it with ( )", CG_STR_FMT(e->name));
		return no_member(c, e, e->name, is_static ? cg_expr_ty(owner) : target->type);
	}
	e->op = N_PROP;
	e->member = m;
	e->a = is_static ? NULL : target;
	e->type = subst(m->result, target->type.elem);
	/* APIM compiles these anywhere; they are just empty where the section
	 * cannot have them, which is worth a warning at load time. */
	unsigned sec = c->env && c->env->sections ? c->env->sections : CG_EXPR_SEC_ALL;
	if (owner == CG_EXPR_T_CONTEXT && cg_str_eq_lit(e->name, "Response") && sec == CG_EXPR_SEC_INBOUND)
		cg_expr_report(c->dc, true, e->line, e->col,
			       "context.Response is null in the inbound section (no response yet)");
	if (owner == CG_EXPR_T_CONTEXT && cg_str_eq_lit(e->name, "LastError") && !(sec & CG_EXPR_SEC_ON_ERROR))
		cg_expr_report(c->dc, true, e->line, e->col,
			       "context.LastError is null outside the on-error section");
	return e;
}

static struct cg_expr_node *check_index(struct checker *c, struct cg_expr_node *e)
{
	e->a = check(c, e->a);
	if (e->a->type.id == CG_EXPR_T_ERROR) {
		e->type = T(ERROR);
		return e;
	}
	if (e->a->type.id == CG_EXPR_T_ARRAY || e->a->type.id == CG_EXPR_T_STRING) {
		if (e->n != 1)
			return err_at(c, e, "Wrong number of indices inside []; expected 1");
		e->list[0] = check(c, e->list[0]);
		if (conv_cost(e->list[0]->type, T(INT)) < 0)
			return err_at(c, e->list[0], "Cannot implicitly convert index to 'int'");
		e->list[0] = convert(c, e->list[0], T(INT));
		e->type = e->a->type.id == CG_EXPR_T_STRING ? T(CHAR) : cg_expr_ty(e->a->type.elem);
		return e;
	}
	struct cg_expr_node *call = e;
	struct cg_expr_node *r = bind_call(c, call, e->a, e->a->type.id, CG_STR("this[]"), false, MF_INDEXER, NULL);
	return r;
}

static struct cg_expr_node *check_new(struct checker *c, struct cg_expr_node *e)
{
	char b1[160], b2[160];
	if (e->op == N_NEWARRAY) {
		struct cg_expr_type el = e->tsyn ? resolve_tsyn(c, e->tsyn, e) : T(NULL);
		if (el.id == CG_EXPR_T_ERROR)
			return err_at(c, e, "invalid array type");
		bool implicit = !e->tsyn;
		bool has_null = false;
		for (uint32_t k = 0; k < e->n; k++) {
			e->list[k] = check(c, e->list[k]);
			struct cg_expr_type t = e->list[k]->type;
			if (t.id == CG_EXPR_T_ERROR) {
				e->type = t;
				return e;
			}
			if (implicit) {
				/* the best common type of the non-null elements */
				if (t.id == CG_EXPR_T_NULL) {
					has_null = true;
					continue;
				}
				struct cg_expr_type u;
				if (el.id == CG_EXPR_T_NULL)
					el = t;
				else if (!unify(el, t, &u))
					return err_at(c, e, "No best type found for implicitly-typed array");
				else
					el = u;
			} else if (conv_cost(t, el) < 0) {
				/* a constant int in range converts to byte implicitly */
				struct cg_expr_node *x = e->list[k];
				bool byte_const = el.id == CG_EXPR_T_BYTE && x->op == N_LIT && x->lit.kind == CG_EXPR_V_INT &&
						  x->lit.u.i >= 0 && x->lit.u.i <= 255;
				if (!byte_const)
					return err_at(c, e->list[k], "Cannot implicitly convert type '%s' to '%s'",
						      tn(t, b1), tn(el, b2));
				x->type = el;
			}
		}
		if (has_null && !cg_expr_ty_is_ref(el))
			return err_at(c, e, "No best type found for implicitly-typed array");
		if (el.id == CG_EXPR_T_NULL || el.id == CG_EXPR_T_ARRAY || el.id == CG_EXPR_T_SEQ)
			return err_at(c, e, "No best type found for implicitly-typed array");
		if (el.id == CG_EXPR_T_NULLABLE)
			return err_at(c, e, "Arrays of nullable values are not supported by certgate yet");
		for (uint32_t k = 0; k < e->n; k++)
			e->list[k] = convert(c, e->list[k], el);
		e->type = cg_expr_ty2(CG_EXPR_T_ARRAY, el.id);
		return e;
	}
	struct cg_expr_type t = resolve_tsyn(c, e->tsyn, e);
	if (t.id == CG_EXPR_T_ERROR) {
		e->type = t;
		return e;
	}
	if (e->b && t.id != CG_EXPR_T_LIST && t.id != CG_EXPR_T_SET && t.id != CG_EXPR_T_DICT)
		return err_at(c, e, "Object initializers are not supported by certgate yet");
	if (e->b && t.id == CG_EXPR_T_DICT) {
		/* new Dictionary<string, T> { { "k", v }, ... } */
		for (uint32_t k = 0; k < e->b->n; k++) {
			struct cg_expr_node *pair = e->b->list[k];
			if (pair->op != N_NEWARRAY || pair->sub != 1)
				return err_at(c, pair, "A dictionary initializer needs { key, value } pairs");
			pair->list[0] = check(c, pair->list[0]);
			pair->list[1] = check(c, pair->list[1]);
			if (pair->list[0]->type.id == CG_EXPR_T_ERROR || pair->list[1]->type.id == CG_EXPR_T_ERROR) {
				e->type = T(ERROR);
				return e;
			}
			if (conv_cost(pair->list[0]->type, T(STRING)) < 0)
				return err_at(c, pair->list[0], "Cannot implicitly convert type '%s' to 'String'",
					      tn(pair->list[0]->type, b1));
			if (conv_cost(pair->list[1]->type, cg_expr_ty(t.elem)) < 0)
				return err_at(c, pair->list[1], "Cannot implicitly convert type '%s' to '%s'",
					      tn(pair->list[1]->type, b1), tn(cg_expr_ty(t.elem), b2));
			pair->list[1] = convert(c, pair->list[1], cg_expr_ty(t.elem));
		}
	} else if (e->b) {
		/* new List<T> { a, b }: each item must convert to T */
		for (uint32_t k = 0; k < e->b->n; k++) {
			e->b->list[k] = check(c, e->b->list[k]);
			if (e->b->list[k]->type.id == CG_EXPR_T_ERROR) {
				e->type = T(ERROR);
				return e;
			}
			if (conv_cost(e->b->list[k]->type, cg_expr_ty(t.elem)) < 0)
				return err_at(c, e->b->list[k], "Cannot implicitly convert type '%s' to '%s'",
					      tn(e->b->list[k]->type, b1), tn(cg_expr_ty(t.elem), b2));
			e->b->list[k] = convert(c, e->b->list[k], cg_expr_ty(t.elem));
		}
	}
	c->ctor_elem = t.elem;
	struct cg_expr_node *init = e->b;
	struct cg_expr_node *r = bind_call(c, e, NULL, t.id, CG_STR(".ctor"), true, MF_METHOD, NULL);
	c->ctor_elem = 0;
	if (r->type.id != CG_EXPR_T_ERROR) {
		r->type = t; /* List<string>, not List<T> */
		r->b = init;
	}
	if (r->type.id == CG_EXPR_T_ERROR && !member_exists(t.id, CG_STR(".ctor"))) {
		/* bind_call reported "member .ctor"; the APIM wording for a
		 * missing constructor names the type */
		return r;
	}
	return r;
}

static struct cg_expr_node *check_throwx(struct checker *c, struct cg_expr_node *e)
{
	e->a = check(c, e->a);
	if (e->a->type.id != CG_EXPR_T_ERROR && e->a->type.id != CG_EXPR_T_EXCEPTION)
		return err_at(c, e->a, "The type caught or thrown must be derived from System.Exception");
	e->type = e->a->type.id == CG_EXPR_T_ERROR ? T(ERROR) : T(NULL);
	return e;
}

static struct cg_expr_node *check_expr(struct checker *c, struct cg_expr_node *e)
{
	char b1[160], b2[160];
	switch (e->op) {
	case N_LIT:
		return e;
	case N_IDENT: {
		if (e->sub == TK_OUT)
			return err_at(c, e, "'out' is not valid here");
		struct local *l = find_local(c, e->name);
		if (l) {
			e->op = N_LOCAL;
			e->slot = l->slot;
			e->type = l->type;
			return e;
		}
		if (cg_str_eq_lit(e->name, "context")) {
			e->op = N_CONTEXT;
			e->type = T(CONTEXT);
			return e;
		}
		if (cg_expr_ty_lookup(e->name).id != CG_EXPR_T_ERROR)
			return err_at(c, e, "'%.*s' is a type, which is not valid in the given context",
				      CG_STR_FMT(e->name));
		return unknown_name(c, e, e->name);
	}
	case N_MEMBER:
		return check_member(c, e);
	case N_CALL:
		return check_call(c, e);
	case N_INDEX:
		return check_index(c, e);
	case N_UNARY:
		return check_unary(c, e);
	case N_BINARY:
		if (e->sub == TK_QQ && e->b->op == N_THROWX) {
			/* x ?? throw ...: the type of x */
			e->a = check(c, e->a);
			e->b = check_throwx(c, e->b);
			if (e->a->type.id == CG_EXPR_T_ERROR || e->b->type.id == CG_EXPR_T_ERROR) {
				e->type = T(ERROR);
				return e;
			}
			if (!cg_expr_ty_is_ref(e->a->type))
				return err_at(c, e, "Operator '?\?' cannot be applied to a value type");
			e->op = N_COALESCE;
			e->type = e->a->type;
			return e;
		}
		return check_binary(c, e);
	case N_THROWX:
		return err_at(c, e, "A throw expression is not allowed in this context");
	case N_COND: {
		e->a = check(c, e->a);
		e->b = e->b->op == N_THROWX ? check_throwx(c, e->b) : check(c, e->b);
		e->c = e->c->op == N_THROWX ? check_throwx(c, e->c) : check(c, e->c);
		if (e->b->op == N_THROWX && e->c->op == N_THROWX)
			return err_at(c, e, "Type of conditional expression cannot be determined");
		if (e->b->op == N_THROWX || e->c->op == N_THROWX) {
			/* one branch throws: the other gives the type */
			struct cg_expr_node *v = e->b->op == N_THROWX ? e->c : e->b;
			if (e->a->type.id == CG_EXPR_T_ERROR || v->type.id == CG_EXPR_T_ERROR ||
			    e->b->type.id == CG_EXPR_T_ERROR || e->c->type.id == CG_EXPR_T_ERROR) {
				e->type = T(ERROR);
				return e;
			}
			if (e->a->type.id != CG_EXPR_T_BOOL)
				return err_at(c, e->a, "Cannot implicitly convert type '%s' to 'bool'", tn(e->a->type, b1));
			e->type = v->type;
			return e;
		}
		if (e->a->type.id == CG_EXPR_T_ERROR || e->b->type.id == CG_EXPR_T_ERROR ||
		    e->c->type.id == CG_EXPR_T_ERROR) {
			e->type = T(ERROR);
			return e;
		}
		if (e->a->type.id != CG_EXPR_T_BOOL)
			return err_at(c, e->a, "Cannot implicitly convert type '%s' to 'bool'", tn(e->a->type, b1));
		if (lifted(e->a))
			return not_plain_bool(c, e->a);
		struct cg_expr_type t;
		if (!unify(e->b->type, e->c->type, &t) || t.id == CG_EXPR_T_NULL)
			return err_at(c, e, "Type of conditional expression cannot be determined because there is no implicit conversion between '%s' and '%s'",
				      tn(e->b->type, b1), tn(e->c->type, b2));
		e->b = convert(c, e->b, t);
		e->c = convert(c, e->c, t);
		e->type = t;
		return e;
	}
	case N_IS:
	case N_AS: {
		e->a = check(c, e->a);
		if (e->a->type.id == CG_EXPR_T_ERROR) {
			e->type = T(ERROR);
			return e;
		}
		if (e->op == N_IS && e->sub == TK_NULL) {
			e->type = T(BOOL);
			return e;
		}
		struct cg_expr_type t = resolve_tsyn(c, e->tsyn, e);
		if (t.id == CG_EXPR_T_ERROR) {
			e->type = t;
			return e;
		}
		if (e->name.ptr) {
			/* x is T name: declares name (visible like an out variable) */
			e->slot = declare(c, e, e->name, t);
			if (e->slot < 0) {
				e->type = T(ERROR);
				return e;
			}
		}
		e->lit.kind = CG_EXPR_V_INT;
		e->lit.u.i = t.id; /* the tested type, for eval */
		e->lit.cls = t.elem;
		if (e->op == N_IS) {
			e->type = T(BOOL);
			return e;
		}
		if (!cg_expr_ty_is_ref(t))
			return err_at(c, e, "The as operator must be used with a reference type ('%s' is a value type)",
				      tn(t, b1));
		e->type = t;
		return e;
	}
	case N_CAST:
		return check_cast(c, e);
	case N_LAMBDA:
		return err_at(c, e, "A lambda expression is not valid here");
	case N_NEW:
	case N_NEWARRAY:
		return check_new(c, e);
	case N_INTERP:
		return check_interp(c, e);
	case N_ASSIGN:
		return check_assign(c, e);
	case N_INCDEC: {
		if (e->a->op != N_IDENT)
			return err_at(c, e, "The operand of an increment or decrement operator must be a local variable");
		e->a = check(c, e->a);
		if (e->a->type.id == CG_EXPR_T_ERROR) {
			e->type = T(ERROR);
			return e;
		}
		/* on a T? lifted: null stays null */
		struct cg_expr_type ut = under(e->a->type);
		if (ut.id != CG_EXPR_T_INT && ut.id != CG_EXPR_T_LONG && ut.id != CG_EXPR_T_DOUBLE &&
		    ut.id != CG_EXPR_T_CHAR && ut.id != CG_EXPR_T_DECIMAL)
			return err_at(c, e, "Operator '%s' cannot be applied to operand of type '%s'",
				      e->sub == TK_PLUSPLUS ? "++" : "--", tn(e->a->type, b1));
		e->slot = e->a->slot;
		e->type = e->a->type;
		return e;
	}
	default:
		return err_at(c, e, "unexpected node");
	}
}

/* ---- statements ---- */

static void check_ret(struct checker *c, struct cg_expr_node *s)
{
	char b1[160], b2[160];
	struct cg_expr_type t = s->a->type;
	if (t.id == CG_EXPR_T_ERROR)
		return;
	if (t.id == CG_EXPR_T_VOID) {
		err_at(c, s, "Cannot return a void value");
		return;
	}
	if (!c->has_ret) {
		c->has_ret = true;
		c->ret = t;
		return;
	}
	struct cg_expr_type u;
	if (unify(c->ret, t, &u) && u.id != CG_EXPR_T_NULL) {
		c->ret = u;
		return;
	}
	if (c->ret.id == CG_EXPR_T_NULL && cg_expr_ty_is_ref(t)) {
		c->ret = t;
		return;
	}
	/* Different return types: the block's value is an object (APIM
	 * compiles blocks as returning object; the policy converts). */
	(void)b1;
	(void)b2;
	c->ret = T(OBJECT);
}

static bool cond_bool(struct checker *c, struct cg_expr_node **ep)
{
	char b1[160];
	*ep = check(c, *ep);
	if ((*ep)->type.id == CG_EXPR_T_ERROR)
		return false;
	if ((*ep)->type.id != CG_EXPR_T_BOOL) {
		err_at(c, *ep, "Cannot implicitly convert type '%s' to 'bool'", tn((*ep)->type, b1));
		return false;
	}
	if (lifted(*ep)) {
		not_plain_bool(c, *ep);
		return false;
	}
	return true;
}

static void check_stmt(struct checker *c, struct cg_expr_node *s)
{
	char b1[160], b2[160];
	unsigned save = c->nlocals;
	switch (s->op) {
	case S_BLOCK:
		for (uint32_t k = 0; k < s->n; k++)
			check_stmt(c, s->list[k]);
		break;
	case S_EMPTY:
	case S_BREAK:
	case S_CONTINUE:
		if (s->op != S_EMPTY && !c->loops)
			err_at(c, s, "No enclosing loop out of which to break or continue");
		break;
	case S_USINGEXPR:
		s->a = check(c, s->a);
		return;
	case S_EXPR:
		if (s->a->op == N_INCDEC && s->a->a->op == N_INDEX) {
			/* x[k]++; as a statement is x[k] += 1; (its value is unused) */
			struct cg_expr_node *one = mknode(c, N_LIT, s->a);
			if (!one) {
				err_at(c, s, "out of memory");
				return;
			}
			one->lit.kind = CG_EXPR_V_INT;
			one->lit.u.i = 1;
			one->type = T(INT);
			s->a->b = one;
			s->a->sub = s->a->sub == TK_PLUSPLUS ? TK_PLUSEQ : TK_MINUSEQ;
			s->a->op = N_ASSIGN;
		}
		s->a = check(c, s->a);
		if (s->a->op != N_ASSIGN && s->a->op != N_INCDEC && s->a->op != N_METHOD &&
		    s->a->type.id != CG_EXPR_T_ERROR)
			err_at(c, s, "Only assignment, call, increment, decrement, and new object expressions can be used as a statement");
		return;
	case S_VAR: {
		struct cg_expr_type t = s->tsyn ? resolve_tsyn(c, s->tsyn, s) : T(ERROR);
		if (s->a) {
			s->a = check(c, s->a);
			if (!s->tsyn) {
				t = s->a->type;
				if (t.id == CG_EXPR_T_NULL || t.id == CG_EXPR_T_VOID) {
					err_at(c, s, "Cannot assign %s to an implicitly-typed variable",
					       t.id == CG_EXPR_T_NULL ? "<null>" : "void");
					t = T(ERROR);
				}
			} else if (t.id != CG_EXPR_T_ERROR && conv_cost(s->a->type, t) < 0) {
				err_at(c, s->a, "Cannot implicitly convert type '%s' to '%s'", tn(s->a->type, b1),
				       tn(t, b2));
			} else {
				s->a = convert(c, s->a, t);
			}
		}
		s->slot = declare(c, s, s->name, t);
		s->type = t;
		return; /* the local stays visible for the rest of the block */
	}
	case S_IF:
		cond_bool(c, &s->a);
		save = c->nlocals; /* out variables of the condition stay in scope */
		check_stmt(c, s->b);
		c->nlocals = save;
		if (s->c)
			check_stmt(c, s->c);
		c->nlocals = save;
		return;
	case S_WHILE:
	case S_DO:
		cond_bool(c, &s->a);
		c->loops++;
		check_stmt(c, s->b);
		c->loops--;
		break;
	case S_FOR:
		if (s->d)
			check_stmt(c, s->d);
		if (s->a)
			cond_bool(c, &s->a);
		if (s->c)
			s->c = check(c, s->c);
		c->loops++;
		check_stmt(c, s->b);
		c->loops--;
		break;
	case S_FOREACH: {
		s->a = check(c, s->a);
		struct cg_expr_type el = cg_expr_ty_elem(s->a->type);
		if (s->a->type.id != CG_EXPR_T_ERROR && el.id == CG_EXPR_T_ERROR)
			err_at(c, s->a, "foreach statement cannot operate on variables of type '%s'",
			       tn(s->a->type, b1));
		if (s->tsyn) {
			struct cg_expr_type t = resolve_tsyn(c, s->tsyn, s);
			if (t.id != CG_EXPR_T_ERROR && el.id != CG_EXPR_T_ERROR && conv_cost(el, t) < 0)
				err_at(c, s, "Cannot convert type '%s' to '%s'", tn(el, b1), tn(t, b2));
			el = t.id == CG_EXPR_T_ERROR ? el : t;
		}
		s->slot = declare(c, s, s->name, el);
		s->type = el;
		c->loops++;
		check_stmt(c, s->b);
		c->loops--;
		break;
	}
	case S_RETURN:
		if (!s->a) {
			err_at(c, s, "An object of a type convertible to 'object' is required");
			break;
		}
		s->a = check(c, s->a);
		check_ret(c, s);
		break;
	case S_THROW:
		if (s->a) {
			s->a = check(c, s->a);
			if (s->a->type.id != CG_EXPR_T_ERROR && s->a->type.id != CG_EXPR_T_EXCEPTION)
				err_at(c, s->a, "The type caught or thrown must be derived from System.Exception");
		} else if (!c->in_catch) {
			err_at(c, s, "A throw statement with no arguments is not allowed outside of a catch clause");
		}
		break;
	case S_SWITCH: {
		s->a = check(c, s->a);
		struct cg_expr_type t = s->a->type;
		if (t.id != CG_EXPR_T_ERROR && t.id != CG_EXPR_T_STRING && t.id != CG_EXPR_T_INT &&
		    t.id != CG_EXPR_T_LONG && t.id != CG_EXPR_T_CHAR && t.id != CG_EXPR_T_BOOL) {
			err_at(c, s->a, "switch on '%s' is not supported by certgate yet", tn(t, b1));
			break;
		}
		bool has_default = false;
		for (uint32_t k = 0; k < s->n; k++) {
			struct cg_expr_node *sec = s->list[k];
			for (uint32_t j = 0; j < sec->n; j++) {
				struct cg_expr_node *l = sec->list[j];
				if (l->op == S_EMPTY) {
					if (has_default)
						err_at(c, l, "The switch statement contains multiple cases with the label value 'default'");
					has_default = true;
					continue;
				}
				l = sec->list[j] = check(c, l);
				if (l->type.id == CG_EXPR_T_ERROR)
					continue;
				if (l->op != N_LIT || (conv_cost(l->type, t) < 0 && l->type.id != CG_EXPR_T_NULL)) {
					err_at(c, l, "A constant value of type '%s' is expected", tn(t, b1));
					continue;
				}
				l = sec->list[j] = convert(c, l, t);
				/* duplicate labels */
				for (uint32_t k2 = 0; k2 <= k; k2++)
					for (uint32_t j2 = 0; j2 < (k2 == k ? j : s->list[k2]->n); j2++) {
						const struct cg_expr_node *o = s->list[k2]->list[j2];
						if (o->op == N_LIT && o->lit.kind == l->lit.kind &&
						    (l->lit.kind == CG_EXPR_V_STRING ? cg_str_eq(o->lit.u.s, l->lit.u.s) :
						     memcmp(&o->lit.u, &l->lit.u, sizeof(o->lit.u)) == 0))
							err_at(c, l, "The switch statement contains multiple cases with the same label value");
					}
			}
			c->loops++; /* break leaves the switch */
			c->switches++;
			check_stmt(c, sec->b);
			c->switches--;
			c->loops--;
			const struct cg_expr_node *last = sec->b->n ? sec->b->list[sec->b->n - 1] : NULL;
			if (!last || !(last->op == S_BREAK || last->op == S_CONTINUE || always_returns(last)))
				err_at(c, sec, "Control cannot fall through from one case label to another");
		}
		s->sub = has_default;
		break;
	}
	case S_TRY:
		check_stmt(c, s->a);
		for (uint32_t k = 0; k < s->n; k++) {
			struct cg_expr_node *cc = s->list[k];
			unsigned sv = c->nlocals;
			if (cc->tsyn) {
				struct cg_expr_type t = resolve_tsyn(c, cc->tsyn, cc);
				if (t.id != CG_EXPR_T_ERROR && t.id != CG_EXPR_T_EXCEPTION)
					err_at(c, cc, "The type caught or thrown must be derived from System.Exception");
				if (cc->name.ptr)
					cc->slot = declare(c, cc, cc->name, T(EXCEPTION));
			}
			c->in_catch++;
			check_stmt(c, cc->b);
			c->in_catch--;
			c->nlocals = sv;
		}
		if (s->c) {
			bool had = c->has_ret;
			unsigned errs = c->dc->diag->n_errors;
			check_stmt(c, s->c);
			(void)had;
			if (contains_return(s->c) && c->dc->diag->n_errors == errs)
				err_at(c, s->c, "Control cannot leave the body of a finally clause");
		}
		break;
	default:
		err_at(c, s, "unexpected statement");
	}
	c->nlocals = save;
}

static bool contains_return(const struct cg_expr_node *s)
{
	if (!s)
		return false;
	if (s->op == S_RETURN)
		return true;
	if (contains_return(s->a) || contains_return(s->b) || contains_return(s->c) || contains_return(s->d))
		return true;
	for (uint32_t k = 0; k < s->n; k++)
		if (contains_return(s->list[k]))
			return true;
	return false;
}

/* Does s contain a break that leaves the loop it is in (not nested loops)? */
static bool has_break(const struct cg_expr_node *s)
{
	if (!s)
		return false;
	switch (s->op) {
	case S_BREAK:
		return true;
	case S_BLOCK:
		for (uint32_t k = 0; k < s->n; k++)
			if (has_break(s->list[k]))
				return true;
		return false;
	case S_IF:
		return has_break(s->b) || has_break(s->c);
	default:
		return false;
	}
}

/* Does every path through s end in return or throw? (C#'s reachability,
 * simplified: a loop whose condition is absent or the literal true and that
 * has no break never completes, so the code after it is unreachable.) */
static bool always_returns(const struct cg_expr_node *s)
{
	switch (s->op) {
	case S_WHILE:
	case S_DO:
	case S_FOR:
		return (!s->a || (s->a->op == N_LIT && s->a->lit.kind == CG_EXPR_V_BOOL && s->a->lit.u.b)) &&
		       !has_break(s->b);
	case S_RETURN:
	case S_THROW:
		return true;
	case S_BLOCK:
		for (uint32_t k = 0; k < s->n; k++)
			if (always_returns(s->list[k]))
				return true;
		return false;
	case S_IF:
		return s->c && always_returns(s->b) && always_returns(s->c);
	case S_SWITCH:
		/* with a default, a switch whose every section returns returns */
		if (!s->sub)
			return false;
		for (uint32_t k = 0; k < s->n; k++)
			if (!always_returns(s->list[k]->b))
				return false;
		return true;
	case S_TRY:
		if (!always_returns(s->a))
			return false;
		for (uint32_t k = 0; k < s->n; k++)
			if (!always_returns(s->list[k]->b))
				return false;
		return true;
	default:
		return false;
	}
}

static struct cg_expr_node *check(struct checker *c, struct cg_expr_node *e)
{
	if (++c->depth > CG_EXPR_MAX_TREE_DEPTH) {
		c->depth--;
		if (c->depth_reported) {
			e->type = T(ERROR);
			return e;
		}
		c->depth_reported = true; /* once: the siblings are as deep */
		return err_at(c, e, "expression tree deeper than %d levels", CG_EXPR_MAX_TREE_DEPTH);
	}
	struct cg_expr_node *r = check_expr(c, e);
	c->depth--;
	return r;
}

int cg_expr_check(struct cg_expr_program *p, const struct cg_expr_env *env, struct cg_arena *arena,
		  struct cg_expr_diagctx *dc)
{
	char b1[160], b2[160];
	struct checker c = { .arena = arena, .dc = dc, .env = env };
	unsigned before = dc->diag->n_errors;
	if (p->kind == CG_EXPR_KIND_EXPR) {
		p->root = check(&c, p->root);
		p->type = p->root->type;
		if (p->type.id == CG_EXPR_T_VOID && dc->diag->n_errors == before)
			err_at(&c, p->root, "An expression that returns void cannot be used as a value");
	} else {
		check_stmt(&c, p->root);
		if (!always_returns(p->root) && dc->diag->n_errors == before) {
			/* report at the end of the block, as the compiler does */
			cg_expr_report(dc, false, p->root->line, p->root->col, "Not all code paths return a value");
		}
		p->type = c.has_ret ? c.ret : T(OBJECT);
	}
	if (dc->diag->n_errors == before && env && env->has_result_type &&
	    conv_cost(p->type, env->result_type) < 0)
		err_at(&c, p->root, "Cannot implicitly convert type '%s' to '%s'", tn(p->type, b1),
		       tn(env->result_type, b2));
	p->nslots = c.nslots;
	return dc->diag->n_errors == before ? 0 : -1;
}
