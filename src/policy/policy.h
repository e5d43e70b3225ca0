/* Policy document loader: APIM policy text -> validated policy tree.
 *
 * src/policy owns reading policy documents and fragments (rawxml or xml),
 * named-value substitution, fragment inclusion, validation of the policies
 * we know, <base/> expansion into the effective policy, and the check mode
 * behind `certgate policy check`. It may call src/base, libxml2 and (through
 * the cg_pol_expr_compile_fn hook only) the expression engine.
 *
 * Order of work for one text (APIM semantics, apim.md §1):
 *   1. {{name}} named values, one textual pass over the raw text;
 *   2. rawxml pre-pass: @(...) / @{...} spans found with a C#-aware scanner
 *      and XML-escaped, bare '&' and raw quotes in literals escaped
 *      (format rawxml only);
 *   3. libxml2 parse (no network, no entities, DOCTYPE refused);
 *   4. tree build, <include-fragment/> replaced by the fragment's elements;
 *   5. validation; 6. expression compile hook.
 * Every diagnostic has the line:col of the ORIGINAL text. A document with
 * any error is refused whole. */
#ifndef CG_POLICY_POLICY_H
#define CG_POLICY_POLICY_H

#include "base/buf.h"
#include "policy/policy-t.h"

/* Starts an empty diagnostics list whose entries live in arena. */
void cg_pol_diags_init(struct cg_pol_diags *d, struct cg_arena *arena);

/* Formats one diagnostic as "line:col: message" (with "fragment 'id' "
 * in front for a fragment position, and "warning: " for warnings).
 * Returns 0, or -1 when the buffer refuses to grow. */
int cg_pol_diag_format(const struct cg_pol_diag *dg, struct cg_buf *out);

/* Loads one policy document (root <policies>) for a scope.
 * text: the stored policy text; not referenced after return.
 * env: named values, fragments and the expression hook (may be NULL).
 * On success returns 0 and *out (allocated in arena; strings copied there).
 * On any error returns -1, *out = NULL, and every error found is in d
 * (warnings may be added either way). arena may hold partial garbage after
 * a failure; it is freed with the arena. */
int cg_pol_load(struct cg_arena *arena, struct cg_str text, enum cg_pol_format format,
		enum cg_pol_scope scope, const struct cg_pol_env *env, struct cg_pol_diags *d,
		struct cg_pol_doc **out);

/* Loads a fragment on its own (root <fragment>), e.g. when it is saved.
 * Same contract as cg_pol_load; the section rules of the places that
 * include it are checked when a document includes it. */
int cg_pol_load_fragment(struct cg_arena *arena, struct cg_str id, struct cg_str text,
			 enum cg_pol_format format, const struct cg_pol_env *env,
			 struct cg_pol_diags *d, struct cg_pol_doc **out);

/* `certgate policy check`: loads text as a global-scope document (or as a
 * fragment when its root is <fragment>) and collects every error and
 * warning into d (fragments it includes are looked up in env).
 * Returns the number of errors (0 = the text would be accepted). */
int cg_pol_check(struct cg_arena *arena, struct cg_str text, enum cg_pol_format format,
		 const struct cg_pol_env *env, struct cg_pol_diags *d);

/* The effective policy of an operation: <base/> in a narrower scope's
 * section is replaced by the broader scope's same section at its position.
 * global, api, op: loaded documents or NULL. No global document means APIM's
 * default (<backend><forward-request/></backend>); no api/op document means
 * <base/> in every section, and so does a section missing from a document
 * (our choice: omission never drops inherited security policies).
 * The lists live in arena and point at the documents' nodes.
 * Returns 0, or -1 when out of memory. */
int cg_pol_effective(struct cg_arena *arena, const struct cg_pol_doc *global,
		     const struct cg_pol_doc *api, const struct cg_pol_doc *op,
		     struct cg_pol_effective *out);

/* The same over any chain of scopes: docs[0..n) broad to narrow (e.g.
 * global, workspace, product, api, operation); docs[0] is the global
 * document or NULL for APIM's default; a NULL entry (no product in context,
 * no policy stored) behaves as <base/> everywhere. n >= 1. */
int cg_pol_effective_chain(struct cg_arena *arena, const struct cg_pol_doc *const *docs, size_t n,
			   struct cg_pol_effective *out);

const char *cg_pol_scope_name(enum cg_pol_scope s);     /* "global", "api", "operation", "workspace", "product" */
const char *cg_pol_section_name(enum cg_pol_section s); /* "inbound", ..., "on-error" */

/* A stable text dump of a subtree (tests, `policy check -v`): one element
 * per line, indented, with positions, scope, path and attributes. */
int cg_pol_dump_node(const struct cg_pol_node *n, int depth, struct cg_buf *out);
int cg_pol_dump_doc(const struct cg_pol_doc *doc, struct cg_buf *out);
int cg_pol_dump_effective(const struct cg_pol_effective *e, struct cg_buf *out);

/* The attribute named name, or NULL. */
const struct cg_pol_attr *cg_pol_attr_get(const struct cg_pol_node *n, const char *name);

/* CORS origins (struct cg_pol_origin).
 * Parses "scheme://host[:port][/path]" (a path is ignored; user info, a
 * query, a fragment, port 0 or above 65535 are refused). Returns false for
 * anything else, "*" and "null" included. */
bool cg_pol_origin_parse(struct cg_str s, struct cg_pol_origin *out);
bool cg_pol_origin_eq(const struct cg_pol_origin *a, const struct cg_pol_origin *b);

/* Parses an APIM date-time attribute "yyyy-MM-ddTHH:mm:ssZ" (quota-by-key
 * first-period-start) into seconds since 1970-01-01T00:00:00Z (negative
 * before it; years 1 to 9999). Returns 0, or -1 for any other text. */
int cg_pol_parse_utc(struct cg_str s, int64_t *out);

/* emit-metric: the Prometheus form of a metric name, namespace or
 * dimension name. ASCII letters and digits are kept (lowercased); every
 * run of other bytes becomes one '_', none at either end ("API ID" ->
 * "api_id", "Client IP" -> "client_ip"); a leading digit gets a '_'
 * before it ("1st" -> "_1st": label names cannot start with one). Writes a NUL-terminated name
 * into out[cap] and returns its length; 0 when in has no ASCII letter or
 * digit, or the name needs more than cap - 1 bytes. */
size_t cg_pol_metric_name(struct cg_str in, char *out, size_t cap);

/* Which default dimension a <dimension name> is (ASCII case ignored), or
 * CG_POL_DIM_CUSTOM. */
enum cg_pol_metric_dim cg_pol_metric_dim(struct cg_str name);

#endif
