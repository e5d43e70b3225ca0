/* Internal interfaces between the loader's files (not for other modules).
 *
 * One input text (a document or a fragment) goes through two rewrites:
 *   orig --named values--> t1 --rawxml escaping--> t2 --libxml2
 * and each rewrite keeps a map from its output offsets back to its input
 * offsets, so a libxml2 error in t2 or a record in t1 is reported at the
 * line:col of orig. */
#ifndef CG_POLICY_INTERNAL_H
#define CG_POLICY_INTERNAL_H

#include <stdarg.h>

#include "base/arena.h"
#include "base/buf.h"
#include "policy/policy-t.h"

/* From out offset `out` on, positions map to src + (o - out) when exact,
 * or all to src when not (a substituted value or an escape sequence maps to
 * the character it replaced). */
struct pol_anchor {
	size_t out;
	size_t src;
	int exact;
};

struct pol_map {
	struct pol_anchor *v;
	size_t n, cap;
};

/* What the pre-pass saw, in t1 offsets, one record per start tag in
 * document order (libxml2 keeps the same order, so records and nodes pair
 * up one to one). */
struct pol_rec_attr {
	size_t name_off;
	size_t value_off;
};

struct pol_rec_elem {
	size_t off;        /* '<' */
	size_t name_len;
	size_t first_attr;
	size_t num_attrs;
	long text_off;     /* first non-blank text character, or -1 */
};

struct pol_text {
	struct cg_str orig;
	struct cg_str origin;   /* "" or the fragment id (for diagnostics) */
	uint32_t *lines;        /* byte offsets of line starts in orig */
	size_t num_lines;
	struct cg_buf t1;
	struct pol_map m1;      /* t1 -> orig */
	struct cg_buf t2;
	struct pol_map m2;      /* t2 -> t1 */
	uint32_t *lines2;       /* line starts of t2, for libxml2 positions */
	size_t num_lines2;
	struct pol_rec_elem *elems;
	size_t num_elems, cap_elems;
	struct pol_rec_attr *attrs;
	size_t num_attrs, cap_attrs;
	int incomplete;         /* the pre-pass stopped early (libxml2 reports why) */
	/* Last position computed: positions are mostly asked in document
	 * order, so a long line is not rescanned from its start each time. */
	size_t cache_line, cache_off;
	uint32_t cache_col;
};

/* text.c */
int pol_text_init(struct pol_text *pt, struct cg_str orig, struct cg_str origin);
void pol_text_free(struct pol_text *pt);
struct cg_pol_pos pol_pos_orig(struct pol_text *pt, size_t off);
struct cg_pol_pos pol_pos_t1(struct pol_text *pt, size_t off1);
struct cg_pol_pos pol_pos_t2(struct pol_text *pt, size_t off2);
struct cg_pol_pos pol_pos_t2_linecol(struct pol_text *pt, int line, int col);
int pol_named_values(struct pol_text *pt, const struct cg_pol_env *env, struct cg_pol_diags *d);
int pol_prepass(struct pol_text *pt, int rawxml, struct cg_pol_diags *d);

/* Scans C# code from s[i] (just after the opening '(' or '{' of an
 * expression) to its matching closer. Returns the offset just past the
 * closer, or -1 with *err_off and *err_msg set. */
long pol_cs_scan(const char *s, size_t n, size_t i, char closer, size_t *err_off, const char **err_msg);

/* diag.c */
void pol_diag(struct cg_pol_diags *d, enum cg_pol_severity sev, struct cg_pol_pos pos,
	      struct cg_str origin, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* validate.c: checks a loaded tree (doc->is_fragment: the root is
 * <fragment> and no section rules apply); adds the missing-<base/>
 * warnings. Returns the number of errors added. */
size_t pol_validate(struct cg_pol_doc *doc, struct cg_pol_diags *d);
/* Calls the compile hook on every expression; returns errors added. */
size_t pol_compile(struct cg_pol_doc *doc, const struct cg_pol_env *env, struct cg_pol_diags *d);

static inline int pol_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

#endif
