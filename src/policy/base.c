/* <base/> expansion: the effective policy of an operation (apim.md §1.3).
 * Textual expansion per section, broad to narrow; nodes are shared with the
 * loaded documents, only the top-level lists are new. */
#include <string.h>

#include "base/arena.h"
#include "policy/internal.h"
#include "policy/policy.h"

/* APIM's default global policy when none is stored:
 * <policies><inbound/><backend><forward-request/></backend><outbound/><on-error/></policies> */
static const struct cg_pol_node default_forward = {
	.name = { "forward-request", 15 },
	.pos = { 1, 1, 0 },
	.origin = { "", 0 },
	.scope = CG_POL_SCOPE_GLOBAL,
	.path = { "forward-request[1]", 18 },
};

static int list_push(struct cg_arena *a, struct cg_pol_list *l, size_t *cap, struct cg_pol_node *n)
{
	if (l->len == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct cg_pol_node **nv = cg_arena_alloc(a, nc * sizeof(*nv));
		if (!nv)
			return -1;
		if (l->len)
			memcpy(nv, l->items, l->len * sizeof(*nv));
		l->items = nv;
		*cap = nc;
	}
	l->items[l->len++] = n;
	return 0;
}

/* Expands one scope's section over the broader result `inherited`. A NULL
 * document or a missing section behaves as a lone <base/>. */
static int expand(struct cg_arena *a, const struct cg_pol_doc *doc, int section,
		  const struct cg_pol_list *inherited, struct cg_pol_list *out)
{
	size_t cap = 0;
	memset(out, 0, sizeof(*out));
	const struct cg_pol_node *sec = doc ? doc->sections[section] : NULL;
	if (!sec) {
		*out = *inherited;
		return 0;
	}
	for (struct cg_pol_node *n = sec->children; n; n = n->next) {
		if (cg_str_eq_lit(n->name, "base")) {
			for (size_t i = 0; i < inherited->len; i++)
				if (list_push(a, out, &cap, inherited->items[i]) != 0)
					return -1;
			continue;
		}
		if (list_push(a, out, &cap, n) != 0)
			return -1;
	}
	return 0;
}

int cg_pol_effective_chain(struct cg_arena *arena, const struct cg_pol_doc *const *docs, size_t n,
			   struct cg_pol_effective *out)
{
	memset(out, 0, sizeof(*out));
	for (int s = 0; s < CG_POL_NSECTIONS; s++) {
		struct cg_pol_list none = { NULL, 0 }, cur;
		if (n && docs[0]) {
			/* <base/> at global scope has nothing above it: a no-op. */
			if (expand(arena, docs[0], s, &none, &cur) != 0)
				return -1;
		} else if (s == CG_POL_BACKEND) {
			cur.items = cg_arena_alloc(arena, sizeof(*cur.items));
			if (!cur.items)
				return -1;
			/* The default node is constant data shared by every snapshot. */
			cur.items[0] = (struct cg_pol_node *)&default_forward;
			cur.len = 1;
		} else {
			cur = none;
		}
		for (size_t k = 1; k < n; k++) {
			struct cg_pol_list next;
			if (expand(arena, docs[k], s, &cur, &next) != 0)
				return -1;
			cur = next;
		}
		out->sections[s] = cur;
	}
	return 0;
}

int cg_pol_effective(struct cg_arena *arena, const struct cg_pol_doc *global,
		     const struct cg_pol_doc *api, const struct cg_pol_doc *op,
		     struct cg_pol_effective *out)
{
	const struct cg_pol_doc *const docs[3] = { global, api, op };
	return cg_pol_effective_chain(arena, docs, 3, out);
}
