#include "expr/ctx.h"

#include <string.h>

/* FNV-1a: thumbprints are already uniformly distributed hex, any mix will do. */
static uint32_t hash_str(struct cg_str s)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.ptr[i];
		h *= 16777619u;
	}
	return h;
}

int cg_expr_cert_table_build(struct cg_arena *arena, const struct cg_expr_cert *const *certs,
			     uint32_t n, struct cg_expr_cert_table *out)
{
	memset(out, 0, sizeof(*out));
	uint32_t size = 8;
	while (size < n * 2u && size < (1u << 30))
		size <<= 1;
	out->items = cg_arena_alloc(arena, sizeof(*out->items) * (n ? n : 1));
	uint32_t *slots = cg_arena_zalloc(arena, sizeof(*slots) * size);
	if (!out->items || !slots)
		return -1;
	out->slots = slots;
	out->mask = size - 1;
	const struct cg_expr_cert **items = (const struct cg_expr_cert **)out->items;
	for (uint32_t i = 0; i < n; i++) {
		if (cg_expr_cert_table_get(out, certs[i]->thumbprint))
			continue;
		uint32_t h = hash_str(certs[i]->thumbprint) & out->mask;
		while (slots[h])
			h = (h + 1) & out->mask;
		items[out->n] = certs[i];
		slots[h] = ++out->n;
	}
	return 0;
}

const struct cg_expr_cert *cg_expr_cert_table_get(const struct cg_expr_cert_table *t, struct cg_str key)
{
	if (!t || !t->slots)
		return NULL;
	for (uint32_t h = hash_str(key) & t->mask; t->slots[h]; h = (h + 1) & t->mask) {
		const struct cg_expr_cert *c = t->items[t->slots[h] - 1];
		if (cg_str_eq(c->thumbprint, key))
			return c;
	}
	return NULL;
}

int cg_expr_vars_set(struct cg_expr_vars *vars, struct cg_arena *arena, struct cg_str name,
		     const struct cg_expr_value *value)
{
	for (uint32_t i = 0; i < vars->n; i++) {
		if (cg_str_eq(vars->items[i].name, name)) {
			vars->items[i].value = *value;
			return 0;
		}
	}
	if (vars->n == vars->cap) {
		/* Doubling in the arena leaves the old array behind; variables are
		 * few (tens), so the waste is bounded and small. */
		uint32_t cap = vars->cap ? vars->cap * 2 : 8;
		struct cg_expr_var *items = cg_arena_alloc(arena, sizeof(*items) * cap);
		if (!items)
			return -1;
		if (vars->n)
			memcpy(items, vars->items, sizeof(*items) * vars->n);
		vars->items = items;
		vars->cap = cap;
	}
	vars->items[vars->n].name = name;
	vars->items[vars->n].value = *value;
	vars->n++;
	return 0;
}

const struct cg_expr_value *cg_expr_vars_get(const struct cg_expr_vars *vars, struct cg_str name)
{
	if (!vars)
		return NULL;
	for (uint32_t i = 0; i < vars->n; i++)
		if (cg_str_eq(vars->items[i].name, name))
			return &vars->items[i].value;
	return NULL;
}

int64_t cg_expr_ticks_from_unix(int64_t secs)
{
	return 621355968000000000LL + secs * 10000000LL;
}
