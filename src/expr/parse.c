/* Parser: recursive descent for statements, precedence climbing for binary
 * operators (C# table, lowest first: ?:, ??, ||, &&, |, ^, &, == !=,
 * relational/is/as, shifts, additive, multiplicative), then unary/casts and
 * the postfix chain. Depth is bounded by CG_EXPR_MAX_DEPTH (Lua's
 * enterlevel) so hostile input cannot exhaust the C stack. */
#include "expr/internal.h"

#include <stdio.h>
#include <string.h>

struct parser {
	struct cg_expr_token *t;
	int n, i;
	struct cg_arena *arena;
	struct cg_expr_diagctx *dc;
	unsigned depth;
	bool failed;
};

#define TOK(p) (&(p)->t[(p)->i])
#define PEEK(p, k) ((p)->i + (k) < (p)->n ? (p)->t[(p)->i + (k)].kind : TK_EOF)

static struct cg_expr_node *parse_expr(struct parser *p);
static struct cg_expr_node *parse_unary(struct parser *p);
static struct cg_expr_node *parse_stmt(struct parser *p);
static struct cg_expr_node *parse_block(struct parser *p);

static const char *tk_text(const struct cg_expr_token *t, char *buf, size_t len)
{
	if (t->kind == TK_EOF)
		return "end of expression";
	snprintf(buf, len, "'%.*s'", (int)(t->text.len > 40 ? 40 : t->text.len), t->text.ptr);
	return buf;
}

static void *fail_at(struct parser *p, const struct cg_expr_token *t, const char *what)
{
	if (!p->failed) {
		char b[64];
		cg_expr_report(p->dc, false, t->line, t->col, "%s, found %s", what, tk_text(t, b, sizeof(b)));
	}
	p->failed = true;
	return NULL;
}

static struct cg_expr_node *mk(struct parser *p, uint16_t op, const struct cg_expr_token *at)
{
	struct cg_expr_node *e = cg_arena_zalloc(p->arena, sizeof(*e));
	if (!e) {
		if (!p->failed)
			cg_expr_report(p->dc, false, at->line, at->col, "out of memory");
		p->failed = true;
		return NULL;
	}
	e->op = op;
	e->line = at->line;
	e->col = at->col;
	e->slot = -1;
	return e;
}

static bool accept(struct parser *p, uint8_t k)
{
	if (TOK(p)->kind == k) {
		p->i++;
		return true;
	}
	return false;
}

static bool expect(struct parser *p, uint8_t k, const char *what)
{
	if (accept(p, k))
		return true;
	fail_at(p, TOK(p), what);
	return false;
}

static bool enter(struct parser *p)
{
	if (++p->depth > CG_EXPR_MAX_DEPTH) {
		if (!p->failed)
			cg_expr_report(p->dc, false, TOK(p)->line, TOK(p)->col,
				       "expression nested deeper than %d levels", CG_EXPR_MAX_DEPTH);
		p->failed = true;
		return false;
	}
	return true;
}

/* A growable node list in the arena (lists are short: args, statements). */
struct nlist {
	struct cg_expr_node **v;
	uint32_t n, cap;
};

static bool nl_push(struct parser *p, struct nlist *l, struct cg_expr_node *e)
{
	if (!e)
		return false;
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 4;
		struct cg_expr_node **v = cg_arena_alloc(p->arena, sizeof(*v) * cap);
		if (!v) {
			p->failed = true;
			return false;
		}
		if (l->n)
			memcpy(v, l->v, sizeof(*v) * l->n);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = e;
	return true;
}

/* ---- types ---- */

static bool is_predef(struct cg_str s)
{
	static const char *const names[] = { "string", "int", "long", "double", "bool", "char",
		"object", "decimal", "float", "byte", "sbyte", "short", "ushort", "uint", "ulong", "void" };
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (cg_str_eq(s, cg_str_from_c(names[k])))
			return true;
	return false;
}

/* Tries to parse a type at p->i. On failure restores p->i and returns NULL
 * without reporting (callers use it speculatively). */
static struct cg_expr_tsyn *try_type(struct parser *p, bool allow_array)
{
	int save = p->i;
	if (TOK(p)->kind != TK_IDENT)
		return NULL;
	if (!enter(p))
		return NULL;
	struct cg_expr_tsyn *ts = cg_arena_zalloc(p->arena, sizeof(*ts));
	if (!ts)
		goto no;
	ts->line = TOK(p)->line;
	ts->col = TOK(p)->col;
	const char *start = TOK(p)->text.ptr;
	const char *end = start + TOK(p)->text.len;
	p->i++;
	while (TOK(p)->kind == TK_DOT && PEEK(p, 1) == TK_IDENT) {
		p->i++;
		end = TOK(p)->text.ptr + TOK(p)->text.len;
		p->i++;
	}
	ts->name = cg_str_make(start, (size_t)(end - start));
	if (TOK(p)->kind == TK_LT) {
		p->i++;
		do {
			struct cg_expr_tsyn *a = try_type(p, true);
			if (!a || ts->nargs == 2)
				goto no;
			ts->args[ts->nargs++] = a;
		} while (accept(p, TK_COMMA));
		if (!accept(p, TK_GT))
			goto no;
	}
	if (TOK(p)->kind == TK_QUESTION && (PEEK(p, 1) == TK_RPAREN || PEEK(p, 1) == TK_IDENT ||
					     PEEK(p, 1) == TK_GT || PEEK(p, 1) == TK_COMMA)) {
		ts->nullable = true;
		p->i++;
	}
	while (allow_array && TOK(p)->kind == TK_LBRACK && PEEK(p, 1) == TK_RBRACK) {
		ts->rank++;
		p->i += 2;
	}
	p->depth--;
	return ts;
no:
	p->depth--;
	p->i = save;
	return NULL;
}

/* ---- expressions ---- */

static struct cg_expr_node *parse_args(struct parser *p, struct cg_expr_node *e, uint8_t close)
{
	struct nlist l = { 0 };
	if (!accept(p, close)) {
		do {
			struct cg_expr_token *at = TOK(p);
			struct cg_expr_node *a;
			if (accept(p, TK_OUT)) {
				/* out var x / out T x / out x: a local the call writes */
				a = mk(p, N_IDENT, at);
				if (!a)
					return NULL;
				a->sub = TK_OUT;
				if (TOK(p)->kind == TK_VAR || (TOK(p)->kind == TK_IDENT && PEEK(p, 1) == TK_IDENT)) {
					a->cond = true; /* declares the local */
					if (TOK(p)->kind == TK_VAR)
						p->i++;
					else
						a->tsyn = try_type(p, true);
				}
				if (TOK(p)->kind != TK_IDENT)
					return fail_at(p, TOK(p), "Identifier expected");
				a->name = TOK(p)->text;
				p->i++;
			} else {
				/* a named argument (preserveContent: true): the name is
				 * checked against the member in check.c */
				struct cg_str argname = CG_STR_NULL;
				if (TOK(p)->kind == TK_IDENT && PEEK(p, 1) == TK_COLON) {
					argname = TOK(p)->text;
					p->i += 2;
				}
				a = parse_expr(p);
				if (a && argname.ptr) {
					struct cg_expr_node *na = mk(p, N_NAMEDARG, at);
					if (!na)
						return NULL;
					na->name = argname;
					na->a = a;
					a = na;
				}
			}
			if (!nl_push(p, &l, a))
				return NULL;
			if (l.n > CG_EXPR_MAX_ARGS)
				return fail_at(p, at, "Too many arguments");
		} while (accept(p, TK_COMMA));
		if (!expect(p, close, close == TK_RPAREN ? "')' expected" : "']' expected"))
			return NULL;
	}
	e->list = l.v;
	e->n = l.n;
	return e;
}

static struct cg_expr_node *parse_lambda(struct parser *p)
{
	struct cg_expr_token *at = TOK(p);
	struct cg_expr_node *e = mk(p, N_LAMBDA, at);
	if (!e)
		return NULL;
	struct nlist params = { 0 };
	if (TOK(p)->kind == TK_IDENT) {
		struct cg_expr_node *id = mk(p, N_IDENT, TOK(p));
		if (!id)
			return NULL;
		id->name = TOK(p)->text;
		nl_push(p, &params, id);
		p->i++;
	} else {
		p->i++; /* ( */
		if (TOK(p)->kind != TK_RPAREN) {
			do {
				if (TOK(p)->kind != TK_IDENT)
					return fail_at(p, TOK(p), "Identifier expected");
				struct cg_expr_node *id = mk(p, N_IDENT, TOK(p));
				if (!id)
					return NULL;
				id->name = TOK(p)->text;
				nl_push(p, &params, id);
				p->i++;
			} while (accept(p, TK_COMMA));
		}
		if (!expect(p, TK_RPAREN, "')' expected"))
			return NULL;
	}
	if (!expect(p, TK_ARROW, "'=>' expected"))
		return NULL;
	e->list = params.v;
	e->n = params.n;
	if (TOK(p)->kind == TK_LBRACE)
		e->a = parse_block(p);
	else
		e->a = parse_expr(p);
	return e->a ? e : NULL;
}

static bool lambda_ahead(struct parser *p)
{
	if (TOK(p)->kind == TK_IDENT && PEEK(p, 1) == TK_ARROW)
		return true;
	if (TOK(p)->kind != TK_LPAREN)
		return false;
	int k = 1;
	if (PEEK(p, k) == TK_RPAREN)
		return PEEK(p, k + 1) == TK_ARROW;
	for (;;) {
		if (PEEK(p, k) != TK_IDENT)
			return false;
		k++;
		if (PEEK(p, k) == TK_RPAREN)
			return PEEK(p, k + 1) == TK_ARROW;
		if (PEEK(p, k) != TK_COMMA)
			return false;
		k++;
	}
}

static struct cg_expr_node *parse_interp(struct parser *p, struct cg_expr_token *t);

static struct cg_expr_node *parse_primary(struct parser *p)
{
	struct cg_expr_token *t = TOK(p);
	struct cg_expr_node *e;
	switch (t->kind) {
	case TK_INT:
	case TK_REAL:
	case TK_CHAR:
	case TK_STRING:
	case TK_TRUE:
	case TK_FALSE:
	case TK_NULL:
		e = mk(p, N_LIT, t);
		if (!e)
			return NULL;
		p->i++;
		if (t->kind == TK_INT) {
			if (t->num == NUM_INT) {
				e->lit.kind = CG_EXPR_V_INT;
				e->lit.u.i = (int32_t)t->u;
				e->type = cg_expr_ty(CG_EXPR_T_INT);
			} else if (t->num == NUM_ULONG && t->u > 0x7fffffffffffffffull) {
				cg_expr_report(p->dc, false, t->line, t->col,
					       "Integral constant is too large (ulong values above long.MaxValue are not supported)");
				p->failed = true;
				return NULL;
			} else {
				/* uint and ulong are carried as long: see docs/expressions.md */
				e->lit.kind = CG_EXPR_V_LONG;
				e->lit.u.l = (int64_t)t->u;
				e->type = cg_expr_ty(CG_EXPR_T_LONG);
			}
			e->sub = t->num;
		} else if (t->kind == TK_REAL) {
			if (t->num == NUM_DECIMAL) {
				/* the literal's text without '_' and the m suffix */
				char b[128];
				size_t n = 0;
				for (size_t k = 0; k < t->text.len && n < sizeof(b); k++)
					if (t->text.ptr[k] != '_' && t->text.ptr[k] != 'm' && t->text.ptr[k] != 'M')
						b[n++] = t->text.ptr[k];
				if (cg_expr_dec_parse(cg_str_make(b, n), true, &e->lit) < 0) {
					cg_expr_report(p->dc, false, t->line, t->col,
						       "Floating-point constant is outside the range of type 'decimal'");
					p->failed = true;
					return NULL;
				}
				e->type = cg_expr_ty(CG_EXPR_T_DECIMAL);
				return e;
			}
			e->lit.kind = CG_EXPR_V_DOUBLE;
			e->lit.u.d = t->d;
			e->type = cg_expr_ty(CG_EXPR_T_DOUBLE);
		} else if (t->kind == TK_CHAR) {
			e->lit.kind = CG_EXPR_V_CHAR;
			e->lit.u.c = (uint16_t)t->u;
			e->type = cg_expr_ty(CG_EXPR_T_CHAR);
		} else if (t->kind == TK_STRING) {
			e->lit.kind = CG_EXPR_V_STRING;
			e->lit.u.s = t->sval;
			e->type = cg_expr_ty(CG_EXPR_T_STRING);
		} else if (t->kind == TK_NULL) {
			e->type = cg_expr_ty(CG_EXPR_T_NULL);
		} else {
			e->lit.kind = CG_EXPR_V_BOOL;
			e->lit.u.b = t->kind == TK_TRUE;
			e->type = cg_expr_ty(CG_EXPR_T_BOOL);
		}
		return e;
	case TK_INTERP:
		p->i++;
		return parse_interp(p, t);
	case TK_THROW:
		/* a throw expression: x ?? throw new Exception("...") */
		p->i++;
		e = mk(p, N_THROWX, t);
		if (!e || !(e->a = parse_unary(p)))
			return NULL;
		return e;
	case TK_IDENT:
		if (PEEK(p, 1) == TK_ARROW)
			return parse_lambda(p);
		e = mk(p, N_IDENT, t);
		if (!e)
			return NULL;
		e->name = t->text;
		p->i++;
		return e;
	case TK_LPAREN:
		if (lambda_ahead(p))
			return parse_lambda(p);
		p->i++;
		e = parse_expr(p);
		if (!e || !expect(p, TK_RPAREN, "')' expected"))
			return NULL;
		return e;
	case TK_NEW: {
		p->i++;
		if (TOK(p)->kind == TK_LBRACK) {
			/* new[] { a, b } */
			p->i++;
			if (!expect(p, TK_RBRACK, "']' expected"))
				return NULL;
			e = mk(p, N_NEWARRAY, t);
		} else {
			struct cg_expr_tsyn *ts = try_type(p, false);
			if (!ts)
				return fail_at(p, TOK(p), "Type expected");
			if (TOK(p)->kind == TK_LBRACK && PEEK(p, 1) == TK_RBRACK) {
				ts->rank = 0;
				p->i += 2;
				e = mk(p, N_NEWARRAY, t);
				if (!e)
					return NULL;
				e->tsyn = ts;
			} else {
				e = mk(p, N_NEW, t);
				if (!e)
					return NULL;
				e->tsyn = ts;
				if (TOK(p)->kind == TK_LPAREN) {
					p->i++;
					if (!parse_args(p, e, TK_RPAREN))
						return NULL;
				} else if (TOK(p)->kind != TK_LBRACE) {
					return fail_at(p, TOK(p), "'(' expected");
				}
			}
		}
		if (!e)
			return NULL;
		if (TOK(p)->kind == TK_LBRACE) {
			/* collection initializer: { a, b }, or { {k, v}, ... } for a
			 * dictionary (each pair is a two-item N_NEWARRAY) */
			struct cg_expr_node *init = mk(p, N_NEWARRAY, TOK(p));
			if (!init)
				return NULL;
			p->i++;
			struct nlist l = { 0 };
			if (TOK(p)->kind != TK_RBRACE) {
				do {
					if (TOK(p)->kind == TK_RBRACE)
						break;
					if (TOK(p)->kind == TK_LBRACE && e->op == N_NEW) {
						struct cg_expr_node *pair = mk(p, N_NEWARRAY, TOK(p));
						struct nlist pl = { 0 };
						p->i++;
						if (!pair || !nl_push(p, &pl, parse_expr(p)) || !expect(p, TK_COMMA, "',' expected") ||
						    !nl_push(p, &pl, parse_expr(p)) || !expect(p, TK_RBRACE, "'}' expected"))
							return NULL;
						pair->list = pl.v;
						pair->n = pl.n;
						pair->sub = 1; /* a key/value pair */
						if (!nl_push(p, &l, pair))
							return NULL;
						continue;
					}
					if (!nl_push(p, &l, parse_expr(p)))
						return NULL;
				} while (accept(p, TK_COMMA));
			}
			if (!expect(p, TK_RBRACE, "'}' expected"))
				return NULL;
			init->list = l.v;
			init->n = l.n;
			if (e->op == N_NEWARRAY) {
				e->list = l.v;
				e->n = l.n;
			} else {
				e->b = init;
			}
		} else if (e->op == N_NEWARRAY) {
			return fail_at(p, TOK(p), "Array creation must have array size or array initializer");
		}
		return e;
	}
	default:
		return fail_at(p, t, "Invalid expression term");
	}
}

static struct cg_expr_node *parse_postfix(struct parser *p, struct cg_expr_node *e)
{
	for (;;) {
		if (!e)
			return NULL;
		struct cg_expr_token *t = TOK(p);
		struct cg_expr_node *n;
		switch (t->kind) {
		case TK_DOT:
		case TK_QDOT:
			p->i++;
			if (TOK(p)->kind != TK_IDENT)
				return fail_at(p, TOK(p), "Identifier expected");
			n = mk(p, N_MEMBER, TOK(p));
			if (!n)
				return NULL;
			n->a = e;
			n->cond = t->kind == TK_QDOT;
			n->name = TOK(p)->text;
			p->i++;
			/* generic method: Name<T>( */
			if (TOK(p)->kind == TK_LT) {
				int save = p->i;
				p->i++;
				struct cg_expr_tsyn *ts = try_type(p, true);
				if (ts && accept(p, TK_GT) && TOK(p)->kind == TK_LPAREN)
					n->tsyn = ts;
				else
					p->i = save;
			}
			e = n;
			break;
		case TK_LPAREN:
			p->i++;
			n = mk(p, N_CALL, t);
			if (!n)
				return NULL;
			n->a = e;
			if (e->op == N_MEMBER)
				n->line = e->line, n->col = e->col;
			e = parse_args(p, n, TK_RPAREN);
			break;
		case TK_LBRACK:
		case TK_QLBRACK:
			p->i++;
			n = mk(p, N_INDEX, t);
			if (!n)
				return NULL;
			n->a = e;
			n->cond = t->kind == TK_QLBRACK;
			e = parse_args(p, n, TK_RBRACK);
			if (e && e->n == 0)
				return fail_at(p, t, "Value expected");
			break;
		case TK_PLUSPLUS:
		case TK_MINUSMINUS:
			p->i++;
			n = mk(p, N_INCDEC, t);
			if (!n)
				return NULL;
			n->a = e;
			n->sub = t->kind;
			n->cond = true; /* postfix */
			e = n;
			break;
		default:
			return e;
		}
	}
}

/* Is "( type )" at p->i a cast? C#'s rule: a predefined type is always a
 * cast; otherwise the token after ')' must start an operand and not be a
 * binary operator. */
static struct cg_expr_tsyn *try_cast(struct parser *p)
{
	int save = p->i;
	p->i++;
	struct cg_expr_tsyn *ts = try_type(p, true);
	if (!ts || TOK(p)->kind != TK_RPAREN) {
		p->i = save;
		return NULL;
	}
	uint8_t next = PEEK(p, 1);
	bool predef = is_predef(ts->name) && ts->nargs == 0;
	bool ok = next == TK_IDENT || next == TK_INT || next == TK_REAL || next == TK_CHAR ||
		  next == TK_STRING || next == TK_INTERP || next == TK_LPAREN || next == TK_BANG ||
		  next == TK_TILDE || next == TK_TRUE || next == TK_FALSE || next == TK_NULL ||
		  next == TK_NEW;
	if (predef && (next == TK_MINUS || next == TK_PLUS || next == TK_PLUSPLUS || next == TK_MINUSMINUS))
		ok = true;
	if (!ok) {
		p->i = save;
		return NULL;
	}
	p->i++; /* ) */
	return ts;
}

static struct cg_expr_node *parse_unary(struct parser *p)
{
	if (!enter(p))
		return NULL;
	struct cg_expr_token *t = TOK(p);
	struct cg_expr_node *e = NULL;
	switch (t->kind) {
	case TK_BANG:
	case TK_MINUS:
	case TK_PLUS:
	case TK_TILDE:
		p->i++;
		e = mk(p, N_UNARY, t);
		if (!e)
			break;
		e->sub = t->kind;
		e->a = parse_unary(p);
		if (!e->a)
			e = NULL;
		break;
	case TK_PLUSPLUS:
	case TK_MINUSMINUS:
		p->i++;
		e = mk(p, N_INCDEC, t);
		if (!e)
			break;
		e->sub = t->kind;
		e->a = parse_unary(p);
		if (!e->a)
			e = NULL;
		break;
	case TK_LPAREN: {
		struct cg_expr_tsyn *ts = lambda_ahead(p) ? NULL : try_cast(p);
		if (ts) {
			e = mk(p, N_CAST, t);
			if (!e)
				break;
			e->tsyn = ts;
			e->a = parse_unary(p);
			if (!e->a)
				e = NULL;
			break;
		}
		e = parse_postfix(p, parse_primary(p));
		break;
	}
	default:
		e = parse_postfix(p, parse_primary(p));
	}
	p->depth--;
	return e;
}

/* Binary precedence; 0 = not a binary operator. */
static int binprec(uint8_t k)
{
	switch (k) {
	case TK_QQ: return 1;
	case TK_OROR: return 2;
	case TK_ANDAND: return 3;
	case TK_PIPE: return 4;
	case TK_CARET: return 5;
	case TK_AMP: return 6;
	case TK_EQ: case TK_NE: return 7;
	case TK_LT: case TK_GT: case TK_LE: case TK_GE: case TK_IS: case TK_AS: return 8;
	case TK_SHL: return 9;
	case TK_PLUS: case TK_MINUS: return 10;
	case TK_STAR: case TK_SLASH: case TK_PERCENT: return 11;
	default: return 0;
	}
}

static struct cg_expr_node *parse_binary(struct parser *p, int minprec)
{
	if (!enter(p))
		return NULL;
	struct cg_expr_node *lhs = parse_unary(p);
	while (lhs) {
		struct cg_expr_token *t = TOK(p);
		uint8_t k = t->kind;
		int adv = 1;
		/* '>' '>' adjacent is a right shift (not lexed as one token, see lex.c) */
		if (k == TK_GT && PEEK(p, 1) == TK_GT && p->t[p->i + 1].text.ptr == t->text.ptr + 1) {
			k = TK_SHL; /* same precedence; sub records the real operator */
			adv = 2;
		}
		int prec = binprec(k);
		if (!prec || prec < minprec)
			break;
		p->i += adv;
		struct cg_expr_node *e;
		if (k == TK_IS || k == TK_AS) {
			e = mk(p, k == TK_IS ? N_IS : N_AS, t);
			if (!e)
				break;
			e->a = lhs;
			if (k == TK_IS && TOK(p)->kind == TK_NULL) {
				p->i++;
				e->sub = TK_NULL;
			} else {
				e->tsyn = try_type(p, true);
				if (!e->tsyn) {
					lhs = fail_at(p, TOK(p), "Type expected");
					break;
				}
				/* `x is T name` pattern */
				if (k == TK_IS && TOK(p)->kind == TK_IDENT) {
					e->name = TOK(p)->text;
					p->i++;
				}
			}
			lhs = e;
			continue;
		}
		e = mk(p, N_BINARY, t);
		if (!e)
			break;
		e->sub = adv == 2 ? TK_SHR : k;
		e->a = lhs;
		/* ?? is right-associative; everything else left */
		e->b = parse_binary(p, k == TK_QQ ? prec : prec + 1);
		lhs = e->b ? e : NULL;
	}
	p->depth--;
	return lhs;
}

static struct cg_expr_node *parse_cond(struct parser *p)
{
	struct cg_expr_node *c = parse_binary(p, 1);
	if (!c || TOK(p)->kind != TK_QUESTION)
		return c;
	struct cg_expr_node *e = mk(p, N_COND, TOK(p));
	if (!e)
		return NULL;
	p->i++;
	e->a = c;
	e->b = parse_expr(p);
	if (!e->b || !expect(p, TK_COLON, "':' expected"))
		return NULL;
	e->c = parse_expr(p);
	return e->c ? e : NULL;
}

static bool is_assign(uint8_t k)
{
	return k == TK_ASSIGN || k == TK_PLUSEQ || k == TK_MINUSEQ || k == TK_STAREQ ||
	       k == TK_SLASHEQ || k == TK_PERCENTEQ || k == TK_AMPEQ || k == TK_PIPEEQ ||
	       k == TK_CARETEQ || k == TK_QQEQ || k == TK_SHLEQ || k == TK_SHREQ;
}

static struct cg_expr_node *parse_expr(struct parser *p)
{
	if (!enter(p))
		return NULL;
	struct cg_expr_node *lhs = parse_cond(p);
	if (lhs && is_assign(TOK(p)->kind)) {
		struct cg_expr_node *e = mk(p, N_ASSIGN, TOK(p));
		if (e) {
			e->sub = TOK(p)->kind;
			p->i++;
			e->a = lhs;
			e->b = parse_expr(p);
		}
		lhs = e && e->b ? e : NULL;
	}
	p->depth--;
	return lhs;
}

/* $"..." : literal parts become N_LIT strings; holes are lexed and parsed
 * from their slice with their own line:col. */
static struct cg_expr_node *parse_interp(struct parser *p, struct cg_expr_token *t)
{
	struct cg_expr_node *e = mk(p, N_INTERP, t);
	if (!e)
		return NULL;
	struct nlist parts = { 0 };
	struct cg_str s = t->text;
	bool verb = t->verbatim;
	char *buf = cg_arena_alloc(p->arena, s.len + 1);
	if (!buf)
		return fail_at(p, t, "out of memory");
	size_t n = 0, i = 0;
	uint32_t line = t->line, col = t->col + (verb ? 3 : 2);
#define ADVPOS(ch) do { if ((ch) == '\n') { line++; col = 1; } else if ((((unsigned char)(ch)) & 0xc0) != 0x80) col++; } while (0)
	while (i <= s.len) {
		bool end = i == s.len;
		char c = end ? 0 : s.ptr[i];
		if (end || (c == '{' && !(i + 1 < s.len && s.ptr[i + 1] == '{'))) {
			if (n) {
				struct cg_expr_node *lit = mk(p, N_LIT, t);
				if (!lit)
					return NULL;
				lit->lit.kind = CG_EXPR_V_STRING;
				lit->lit.u.s = cg_str_make(buf, n);
				lit->type = cg_expr_ty(CG_EXPR_T_STRING);
				nl_push(p, &parts, lit);
				buf += n;
				n = 0;
			}
			if (end)
				break;
			/* hole */
			ADVPOS(c);
			i++;
			long he = cg_expr_scan_hole(s, i, verb);
			if (he < 0)
				return fail_at(p, t, "Invalid interpolation hole");
			struct cg_str hs = cg_str_make(s.ptr + i, (size_t)he - i);
			struct cg_expr_token *ht;
			int nt = cg_expr_lex(hs, line, col, p->arena, p->dc, &ht);
			if (nt < 0) {
				p->failed = true;
				return NULL;
			}
			struct parser sub = { ht, nt, 0, p->arena, p->dc, p->depth, false };
			if (nt == 1)
				return fail_at(p, &ht[0], "Empty expression in an interpolation hole");
			struct cg_expr_node *x = parse_expr(&sub);
			if (x && sub.t[sub.i].kind != TK_EOF)
				x = fail_at(&sub, &sub.t[sub.i], "'}' expected");
			if (!x) {
				p->failed = true;
				return NULL;
			}
			for (; i < (size_t)he; i++)
				ADVPOS(s.ptr[i]);
			struct cg_expr_node *hole = mk(p, N_INTERP, t);
			if (!hole)
				return NULL;
			hole->a = x;
			hole->line = x->line;
			hole->col = x->col;
			if (s.ptr[i] == ',') {
				size_t j = ++i;
				while (j < s.len && s.ptr[j] != ':' && s.ptr[j] != '}')
					j++;
				struct cg_str al = cg_str_trim_ows(cg_str_make(s.ptr + i, j - i));
				bool neg = al.len && al.ptr[0] == '-';
				uint64_t v;
				if (!cg_str_to_u64(neg ? cg_str_sub(al, 1, al.len) : al, 1000, &v))
					return fail_at(p, t, "Invalid alignment in an interpolation hole");
				hole->align = neg ? -(int32_t)v : (int32_t)v;
				for (; i < j; i++)
					ADVPOS(s.ptr[i]);
			}
			if (s.ptr[i] == ':') {
				size_t j = ++i;
				while (j < s.len && s.ptr[j] != '}')
					j++;
				hole->name = cg_str_make(s.ptr + i, j - i);
				hole->cond = true; /* has a format */
				for (; i < j; i++)
					ADVPOS(s.ptr[i]);
			}
			/* at '}' */
			ADVPOS(s.ptr[i]);
			i++;
			nl_push(p, &parts, hole);
			continue;
		}
		if ((c == '{' || c == '}') && i + 1 < s.len && s.ptr[i + 1] == c) {
			buf[n++] = c;
			ADVPOS(c);
			ADVPOS(c);
			i += 2;
			continue;
		}
		if (verb && c == '"') {
			buf[n++] = '"';
			i += 2;
			col += 2;
			continue;
		}
		if (!verb && c == '\\') {
			size_t i0 = i;
			size_t k = cg_expr_unescape(s, &i, buf + n);
			if (k == 0)
				return fail_at(p, t, "Unrecognized escape sequence");
			n += k;
			col += (uint32_t)(i - i0);
			continue;
		}
		buf[n++] = c;
		ADVPOS(c);
		i++;
	}
#undef ADVPOS
	e->list = parts.v;
	e->n = parts.n;
	return e;
}

/* ---- statements (@{ } blocks) ---- */

static struct cg_expr_node *parse_decl(struct parser *p, bool need_semi)
{
	/* var x = e | T x = e | T x; ("var" requires an initializer) */
	struct cg_expr_token *at = TOK(p);
	struct cg_expr_node *s = mk(p, S_VAR, at);
	if (!s)
		return NULL;
	if (accept(p, TK_VAR))
		s->tsyn = NULL;
	else
		s->tsyn = try_type(p, true);
	if (TOK(p)->kind != TK_IDENT)
		return fail_at(p, TOK(p), "Identifier expected");
	s->name = TOK(p)->text;
	s->line = TOK(p)->line;
	s->col = TOK(p)->col;
	p->i++;
	if (accept(p, TK_ASSIGN)) {
		s->a = parse_expr(p);
		if (!s->a)
			return NULL;
	} else if (!s->tsyn) {
		return fail_at(p, TOK(p), "Implicitly-typed variables must be initialized");
	}
	if (need_semi && !expect(p, TK_SEMI, "';' expected"))
		return NULL;
	return s;
}

static bool decl_ahead(struct parser *p)
{
	if (TOK(p)->kind == TK_VAR && PEEK(p, 1) == TK_IDENT)
		return true;
	if (TOK(p)->kind != TK_IDENT)
		return false;
	int save = p->i;
	struct cg_expr_tsyn *ts = try_type(p, true);
	bool yes = ts && TOK(p)->kind == TK_IDENT &&
		   (PEEK(p, 1) == TK_ASSIGN || PEEK(p, 1) == TK_SEMI || PEEK(p, 1) == TK_IN);
	p->i = save;
	return yes;
}

static struct cg_expr_node *parse_paren_expr(struct parser *p)
{
	if (!expect(p, TK_LPAREN, "'(' expected"))
		return NULL;
	struct cg_expr_node *e = parse_expr(p);
	if (!e || !expect(p, TK_RPAREN, "')' expected"))
		return NULL;
	return e;
}

static struct cg_expr_node *parse_block(struct parser *p)
{
	struct cg_expr_token *at = TOK(p);
	if (!expect(p, TK_LBRACE, "'{' expected"))
		return NULL;
	struct cg_expr_node *b = mk(p, S_BLOCK, at);
	if (!b)
		return NULL;
	struct nlist l = { 0 };
	while (TOK(p)->kind != TK_RBRACE) {
		if (TOK(p)->kind == TK_EOF)
			return fail_at(p, TOK(p), "'}' expected");
		if (!nl_push(p, &l, parse_stmt(p)))
			return NULL;
	}
	p->i++;
	b->list = l.v;
	b->n = l.n;
	return b;
}

static struct cg_expr_node *parse_stmt_inner(struct parser *p)
{
	struct cg_expr_token *t = TOK(p);
	struct cg_expr_node *s;
	switch (t->kind) {
	case TK_LBRACE:
		return parse_block(p);
	case TK_SEMI:
		p->i++;
		return mk(p, S_EMPTY, t);
	case TK_IF:
		p->i++;
		s = mk(p, S_IF, t);
		if (!s || !(s->a = parse_paren_expr(p)) || !(s->b = parse_stmt(p)))
			return NULL;
		if (accept(p, TK_ELSE) && !(s->c = parse_stmt(p)))
			return NULL;
		return s;
	case TK_WHILE:
		p->i++;
		s = mk(p, S_WHILE, t);
		if (!s || !(s->a = parse_paren_expr(p)) || !(s->b = parse_stmt(p)))
			return NULL;
		return s;
	case TK_DO:
		p->i++;
		s = mk(p, S_DO, t);
		if (!s || !(s->b = parse_stmt(p)) || !expect(p, TK_WHILE, "'while' expected") ||
		    !(s->a = parse_paren_expr(p)) || !expect(p, TK_SEMI, "';' expected"))
			return NULL;
		return s;
	case TK_FOR:
		p->i++;
		s = mk(p, S_FOR, t);
		if (!s || !expect(p, TK_LPAREN, "'(' expected"))
			return NULL;
		if (TOK(p)->kind != TK_SEMI) {
			if (decl_ahead(p))
				s->d = parse_decl(p, false);
			else if ((s->d = mk(p, S_EXPR, TOK(p))))
				s->d->a = parse_expr(p);
			if (!s->d || (s->d->op == S_EXPR && !s->d->a))
				return NULL;
		}
		if (!expect(p, TK_SEMI, "';' expected"))
			return NULL;
		if (TOK(p)->kind != TK_SEMI && !(s->a = parse_expr(p)))
			return NULL;
		if (!expect(p, TK_SEMI, "';' expected"))
			return NULL;
		if (TOK(p)->kind != TK_RPAREN && !(s->c = parse_expr(p)))
			return NULL;
		if (!expect(p, TK_RPAREN, "')' expected") || !(s->b = parse_stmt(p)))
			return NULL;
		return s;
	case TK_FOREACH:
		p->i++;
		s = mk(p, S_FOREACH, t);
		if (!s || !expect(p, TK_LPAREN, "'(' expected"))
			return NULL;
		if (!accept(p, TK_VAR) && !(s->tsyn = try_type(p, true)))
			return fail_at(p, TOK(p), "Type expected");
		if (TOK(p)->kind != TK_IDENT)
			return fail_at(p, TOK(p), "Identifier expected");
		s->name = TOK(p)->text;
		p->i++;
		if (!expect(p, TK_IN, "'in' expected") || !(s->a = parse_expr(p)) ||
		    !expect(p, TK_RPAREN, "')' expected") || !(s->b = parse_stmt(p)))
			return NULL;
		return s;
	case TK_RETURN:
	case TK_THROW:
		p->i++;
		s = mk(p, t->kind == TK_RETURN ? S_RETURN : S_THROW, t);
		if (!s)
			return NULL;
		if (TOK(p)->kind != TK_SEMI && !(s->a = parse_expr(p)))
			return NULL;
		if (!expect(p, TK_SEMI, "';' expected"))
			return NULL;
		return s;
	case TK_BREAK:
	case TK_CONTINUE:
		p->i++;
		s = mk(p, t->kind == TK_BREAK ? S_BREAK : S_CONTINUE, t);
		if (!s || !expect(p, TK_SEMI, "';' expected"))
			return NULL;
		return s;
	case TK_TRY: {
		/* try { } catch [(Exception [e])] { } ... [finally { }] */
		p->i++;
		s = mk(p, S_TRY, t);
		if (!s || !(s->a = parse_block(p)))
			return NULL;
		struct nlist l = { 0 };
		while (TOK(p)->kind == TK_CATCH) {
			struct cg_expr_node *cc = mk(p, S_CATCH, TOK(p));
			if (!cc)
				return NULL;
			p->i++;
			if (accept(p, TK_LPAREN)) {
				if (!(cc->tsyn = try_type(p, false)))
					return fail_at(p, TOK(p), "Type expected");
				if (TOK(p)->kind == TK_IDENT) {
					cc->name = TOK(p)->text;
					p->i++;
				}
				if (!expect(p, TK_RPAREN, "')' expected"))
					return NULL;
			}
			if (!(cc->b = parse_block(p)) || !nl_push(p, &l, cc))
				return NULL;
		}
		if (accept(p, TK_FINALLY) && !(s->c = parse_block(p)))
			return NULL;
		if (!l.n && !s->c)
			return fail_at(p, TOK(p), "Expected catch or finally");
		s->list = l.v;
		s->n = l.n;
		return s;
	}
	case TK_SWITCH: {
		/* switch (e) { case c: case d: stmts default: stmts } */
		p->i++;
		s = mk(p, S_SWITCH, t);
		if (!s || !(s->a = parse_paren_expr(p)) || !expect(p, TK_LBRACE, "'{' expected"))
			return NULL;
		struct nlist sections = { 0 };
		while (TOK(p)->kind == TK_CASE || TOK(p)->kind == TK_DEFAULT) {
			struct cg_expr_node *sec = mk(p, S_CASE, TOK(p));
			if (!sec)
				return NULL;
			struct nlist labels = { 0 };
			while (TOK(p)->kind == TK_CASE || TOK(p)->kind == TK_DEFAULT) {
				struct cg_expr_token *lt = TOK(p);
				p->i++;
				struct cg_expr_node *label;
				if (lt->kind == TK_DEFAULT) {
					label = mk(p, S_EMPTY, lt); /* the default label */
				} else {
					label = parse_expr(p);
				}
				if (!label || !expect(p, TK_COLON, "':' expected") || !nl_push(p, &labels, label))
					return NULL;
			}
			struct cg_expr_node *body = mk(p, S_BLOCK, TOK(p));
			if (!body)
				return NULL;
			struct nlist stmts = { 0 };
			while (TOK(p)->kind != TK_CASE && TOK(p)->kind != TK_DEFAULT && TOK(p)->kind != TK_RBRACE) {
				if (TOK(p)->kind == TK_EOF)
					return fail_at(p, TOK(p), "'}' expected");
				if (!nl_push(p, &stmts, parse_stmt(p)))
					return NULL;
			}
			body->list = stmts.v;
			body->n = stmts.n;
			sec->list = labels.v;
			sec->n = labels.n;
			sec->b = body;
			if (!nl_push(p, &sections, sec))
				return NULL;
		}
		if (!expect(p, TK_RBRACE, "'}' expected"))
			return NULL;
		s->list = sections.v;
		s->n = sections.n;
		return s;
	}
	default:
		if (t->kind == TK_IDENT && cg_str_eq_lit(t->text, "using") && PEEK(p, 1) == TK_LPAREN) {
			/* using (var x = e) stmt: a block; Dispose() is a no-op here
			 * (every object lives in the request arena) */
			p->i += 2;
			s = mk(p, S_BLOCK, t);
			struct cg_expr_node *res;
			if (!s)
				return NULL;
			if (decl_ahead(p)) {
				res = parse_decl(p, false);
			} else if ((res = mk(p, S_EXPR, TOK(p)))) {
				res->a = parse_expr(p);
				if (!res->a)
					return NULL;
				res->op = S_USINGEXPR;
			}
			if (!res || !expect(p, TK_RPAREN, "')' expected"))
				return NULL;
			struct cg_expr_node *body = parse_stmt(p);
			if (!body)
				return NULL;
			struct cg_expr_node **l = cg_arena_alloc(p->arena, sizeof(*l) * 2);
			if (!l)
				return NULL;
			l[0] = res;
			l[1] = body;
			s->list = l;
			s->n = 2;
			return s;
		}
		if (decl_ahead(p))
			return parse_decl(p, true);
		s = mk(p, S_EXPR, t);
		if (!s || !(s->a = parse_expr(p)) || !expect(p, TK_SEMI, "';' expected"))
			return NULL;
		return s;
	}
}

static struct cg_expr_node *parse_stmt(struct parser *p)
{
	if (!enter(p))
		return NULL;
	struct cg_expr_node *s = parse_stmt_inner(p);
	p->depth--;
	return s;
}

struct cg_expr_node *cg_expr_parse(struct cg_expr_token *toks, int ntoks, enum cg_expr_kind kind,
				   struct cg_arena *arena, struct cg_expr_diagctx *dc)
{
	struct parser p = { toks, ntoks, 0, arena, dc, 0, false };
	struct cg_expr_node *root;
	if (kind == CG_EXPR_KIND_EXPR) {
		if (toks[0].kind == TK_EOF)
			return fail_at(&p, &toks[0], "Invalid expression term");
		root = parse_expr(&p);
	} else {
		root = mk(&p, S_BLOCK, &toks[0]);
		struct nlist l = { 0 };
		while (root && TOK(&p)->kind != TK_EOF)
			if (!nl_push(&p, &l, parse_stmt(&p)))
				root = NULL;
		if (root) {
			root->list = l.v;
			root->n = l.n;
		}
	}
	if (root && TOK(&p)->kind != TK_EOF)
		root = fail_at(&p, TOK(&p), kind == CG_EXPR_KIND_EXPR ? "End of expression expected" : "'}' expected");
	return p.failed ? NULL : root;
}
