/* List<T>, HashSet<T> and Dictionary<string, T>: small mutable collections
 * in the request arena (an array of entries, linear search). Every search
 * is charged to the step budget, so quadratic use stays bounded, and
 * growth stops at ctx->max_items. */
#include "expr/internal.h"

#include <stdio.h>
#include <string.h>

struct cg_expr_coll {
	uint32_t n, cap;
	struct cg_expr_var *items; /* name = key (dictionaries only) */
};

#define FN(name)                                                                                  \
	int name(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args, \
		 unsigned nargs, struct cg_expr_value *out)

static struct cg_expr_coll *C(const struct cg_expr_value *v)
{
	/* collections are the one mutable kind of object a value points at */
	return (struct cg_expr_coll *)(uintptr_t)v->u.obj;
}

static int charge(struct cg_expr_run *r, uint32_t n)
{
	r->steps += n / 8;
	if (r->steps > r->max_steps)
		return cg_expr_budget(r, "step");
	return 0;
}

static int grow(struct cg_expr_run *r, struct cg_expr_coll *c)
{
	if (c->n >= r->max_items)
		return cg_expr_budget(r, "collection size");
	if (c->n < c->cap)
		return 0;
	uint32_t cap = c->cap ? c->cap * 2 : 8;
	struct cg_expr_var *items = cg_arena_alloc(r->ctx->arena, sizeof(*items) * cap);
	if (!items)
		return cg_expr_nomem(r);
	if (c->n)
		memcpy(items, c->items, sizeof(*items) * c->n);
	c->items = items;
	c->cap = cap;
	return 0;
}

static bool same(const struct cg_expr_value *a, const struct cg_expr_value *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case CG_EXPR_V_NULL: return true;
	case CG_EXPR_V_STRING: return cg_str_eq(a->u.s, b->u.s);
	case CG_EXPR_V_BOOL: return a->u.b == b->u.b;
	case CG_EXPR_V_CHAR: return a->u.c == b->u.c;
	case CG_EXPR_V_INT: return a->u.i == b->u.i;
	case CG_EXPR_V_DOUBLE: return a->u.d == b->u.d;
	case CG_EXPR_V_DECIMAL: return cg_expr_dec_cmp(a, b) == 0;
	case CG_EXPR_V_GUID: return memcmp(a->u.guid, b->u.guid, 16) == 0;
	default: return memcmp(&a->u, &b->u, sizeof(a->u)) == 0;
	}
}

static long find_value(struct cg_expr_run *r, struct cg_expr_coll *c, const struct cg_expr_value *v)
{
	if (charge(r, c->n) < 0)
		return -2;
	for (uint32_t i = 0; i < c->n; i++)
		if (same(&c->items[i].value, v))
			return i;
	return -1;
}

static long find_key(struct cg_expr_run *r, struct cg_expr_coll *c, struct cg_str k)
{
	if (charge(r, c->n) < 0)
		return -2;
	for (uint32_t i = 0; i < c->n; i++)
		if (cg_str_eq(c->items[i].name, k))
			return i;
	return -1;
}

static int ret_void(struct cg_expr_value *out)
{
	memset(out, 0, sizeof(*out));
	return 0;
}

static int ret_b(struct cg_expr_value *out, bool b)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_BOOL;
	out->u.b = b;
	return 0;
}

static int key_null(struct cg_expr_run *r)
{
	return cg_expr_throw(r, "ArgumentNullException", "Value cannot be null. (Parameter 'key')");
}

/* .ctor for all three; the static type says which. */
FN(cg_expr_coll_new)
{
	struct cg_expr_coll *c = cg_arena_zalloc(r->ctx->arena, sizeof(*c));
	if (!c)
		return cg_expr_nomem(r);
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_OBJ;
	out->cls = r->node->type.id;
	out->u.obj = c;
	return 0;
}

/* List.Add(x), HashSet.Add(x) (false when present), also used by initializers */
int cg_expr_coll_add_value(struct cg_expr_run *r, const struct cg_expr_value *coll, const struct cg_expr_value *v,
			   bool *added)
{
	struct cg_expr_coll *c = C(coll);
	if (coll->cls == CG_EXPR_T_SET) {
		long at = find_value(r, c, v);
		if (at == -2)
			return -1;
		if (at >= 0) {
			*added = false;
			return 0;
		}
	}
	if (grow(r, c) < 0)
		return -1;
	memset(&c->items[c->n], 0, sizeof(c->items[0]));
	c->items[c->n++].value = *v;
	*added = true;
	return 0;
}

FN(cg_expr_coll_add)
{
	bool added;
	if (cg_expr_coll_add_value(r, self, &args[0], &added) < 0)
		return -1;
	return self->cls == CG_EXPR_T_SET ? ret_b(out, added) : ret_void(out);
}

FN(cg_expr_coll_count)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_INT;
	out->u.i = (int32_t)C(self)->n;
	return 0;
}

FN(cg_expr_coll_contains)
{
	long at = find_value(r, C(self), &args[0]);
	return at == -2 ? -1 : ret_b(out, at >= 0);
}

FN(cg_expr_coll_remove)
{
	struct cg_expr_coll *c = C(self);
	long at;
	if (self->cls == CG_EXPR_T_DICT) {
		if (args[0].kind == CG_EXPR_V_NULL)
			return key_null(r);
		at = find_key(r, c, args[0].u.s);
	} else {
		at = find_value(r, c, &args[0]);
	}
	if (at == -2)
		return -1;
	if (at >= 0) {
		memmove(&c->items[at], &c->items[at + 1], sizeof(c->items[0]) * (c->n - (uint32_t)at - 1));
		c->n--;
	}
	return ret_b(out, at >= 0);
}

FN(cg_expr_coll_clear)
{
	C(self)->n = 0;
	return ret_void(out);
}

static int bad_index(struct cg_expr_run *r)
{
	return cg_expr_throw(r, "ArgumentOutOfRangeException",
			     "Index was out of range. Must be non-negative and less than the size of the collection. (Parameter 'index')");
}

FN(cg_expr_list_get)
{
	struct cg_expr_coll *c = C(self);
	if (args[0].u.i < 0 || (uint32_t)args[0].u.i >= c->n)
		return bad_index(r);
	*out = c->items[args[0].u.i].value;
	return 0;
}

FN(cg_expr_list_set)
{
	struct cg_expr_coll *c = C(self);
	if (args[0].u.i < 0 || (uint32_t)args[0].u.i >= c->n)
		return bad_index(r);
	c->items[args[0].u.i].value = args[1];
	return ret_void(out);
}

FN(cg_expr_dict_add)
{
	struct cg_expr_coll *c = C(self);
	if (args[0].kind == CG_EXPR_V_NULL)
		return key_null(r);
	long at = find_key(r, c, args[0].u.s);
	if (at == -2)
		return -1;
	if (at >= 0)
		return cg_expr_throw(r, "ArgumentException", "An item with the same key has already been added. Key: %.*s",
				     (int)(args[0].u.s.len > 80 ? 80 : args[0].u.s.len), args[0].u.s.ptr);
	if (grow(r, c) < 0)
		return -1;
	c->items[c->n].name = args[0].u.s;
	c->items[c->n++].value = args[1];
	return ret_void(out);
}

FN(cg_expr_dict_get)
{
	struct cg_expr_coll *c = C(self);
	if (args[0].kind == CG_EXPR_V_NULL)
		return key_null(r);
	long at = find_key(r, c, args[0].u.s);
	if (at == -2)
		return -1;
	if (at < 0)
		return cg_expr_throw(r, "Collections.Generic.KeyNotFoundException",
				     "The given key '%.*s' was not present in the dictionary.",
				     (int)(args[0].u.s.len > 100 ? 100 : args[0].u.s.len), args[0].u.s.ptr);
	*out = c->items[at].value;
	return 0;
}

FN(cg_expr_dict_set)
{
	struct cg_expr_coll *c = C(self);
	if (args[0].kind == CG_EXPR_V_NULL)
		return key_null(r);
	long at = find_key(r, c, args[0].u.s);
	if (at == -2)
		return -1;
	if (at >= 0) {
		c->items[at].value = args[1];
		return ret_void(out);
	}
	if (grow(r, c) < 0)
		return -1;
	c->items[c->n].name = args[0].u.s;
	c->items[c->n++].value = args[1];
	return ret_void(out);
}

FN(cg_expr_dict_containskey)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return key_null(r);
	long at = find_key(r, C(self), args[0].u.s);
	return at == -2 ? -1 : ret_b(out, at >= 0);
}

FN(cg_expr_dict_trygetvalue)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return key_null(r);
	struct cg_expr_coll *c = C(self);
	long at = find_key(r, c, args[0].u.s);
	if (at == -2)
		return -1;
	if (at >= 0)
		r->out_args[1] = c->items[at].value;
	else
		memset(&r->out_args[1], 0, sizeof(r->out_args[1])); /* default(T): see docs */
	return ret_b(out, at >= 0);
}

/* Keys / Values as arrays (snapshots, as ToArray() of them would be). */
static int project(struct cg_expr_run *r, const struct cg_expr_value *self, bool keys, struct cg_expr_value *out)
{
	struct cg_expr_coll *c = C(self);
	struct cg_expr_array *a = cg_expr_new_array(r, c->n, 0);
	if (!a)
		return -1;
	for (uint32_t i = 0; i < c->n; i++) {
		if (keys) {
			memset(&a->items[i], 0, sizeof(a->items[i]));
			a->items[i].kind = CG_EXPR_V_STRING;
			a->items[i].u.s = c->items[i].name;
		} else {
			a->items[i] = c->items[i].value;
		}
	}
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_ARRAY;
	out->cls = keys ? CG_EXPR_T_STRING : r->node->type.elem;
	out->u.arr = a;
	return 0;
}
FN(cg_expr_dict_keys) { return project(r, self, true, out); }
FN(cg_expr_dict_values) { return project(r, self, false, out); }

FN(cg_expr_dictkv_key)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_STRING;
	out->u.s = ((const struct cg_expr_var *)self->u.obj)->name;
	return 0;
}

FN(cg_expr_dictkv_value)
{
	*out = ((const struct cg_expr_var *)self->u.obj)->value;
	return 0;
}

uint32_t cg_expr_coll_len(const struct cg_expr_value *v)
{
	return C(v)->n;
}

void cg_expr_coll_item(const struct cg_expr_value *v, uint32_t i, struct cg_expr_value *out)
{
	struct cg_expr_coll *c = C(v);
	if (v->cls == CG_EXPR_T_DICT) {
		memset(out, 0, sizeof(*out));
		out->kind = CG_EXPR_V_OBJ;
		out->cls = CG_EXPR_T_DICTKV;
		out->u.obj = &c->items[i];
	} else {
		*out = c->items[i].value;
	}
}
