/* Policy documents: types only (see policy.h for the functions).
 *
 * A loaded policy document is a small tree of our own, allocated in the
 * caller's arena (the snapshot arena): nothing points into the input text,
 * libxml2 or a temporary buffer once loading returns. Every element and
 * attribute carries its position in the ORIGINAL policy text (before
 * named-value substitution and before the rawxml escaping pre-pass), so any
 * later error (expression compile errors, runtime LastError) can name it. */
#ifndef CG_POLICY_POLICY_T_H
#define CG_POLICY_POLICY_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

struct cg_arena;

/* Named limits. Each one has a test that hits it (tests/unit/policy). */
#define CG_POL_MAX_DOC_BYTES (256u * 1024u)      /* policy document text, before substitution */
#define CG_POL_MAX_FRAGMENT_BYTES (512u * 1024u) /* fragment text (APIM: 512 KB) */
#define CG_POL_MAX_EXPANDED_BYTES (1024u * 1024u) /* text after named values and escaping */
#define CG_POL_MAX_INCLUDED_BYTES (2048u * 1024u) /* fragment text included by one document, in total */
#define CG_POL_MAX_DEPTH 32u                     /* element nesting, root = 1 */
#define CG_POL_MAX_ELEMENTS 4096u                /* elements per document or fragment text */
#define CG_POL_MAX_EXPR_NEST 64u                 /* brackets/strings nesting inside one @(...) */
#define CG_POL_MAX_DIAGS 100u                    /* diagnostics kept per check; the rest are counted */
#define CG_POL_MAX_IDENTITIES 10u                /* validate-client-certificate <identity> count */
#define CG_POL_MAX_METRIC_DIMENSIONS 10u         /* emit-metric <dimension> count (APIM: 10 custom dimensions) */
#define CG_POL_MAX_METRIC_NAME 128u              /* emit-metric name, namespace, dimension name: bytes */

/* emit-metric's default dimensions: a <dimension> with one of these names
 * (ASCII case ignored) may omit its value, which then comes from the
 * request (docs/policies.md). */
enum cg_pol_metric_dim {
	CG_POL_DIM_CUSTOM = -1, /* any other name: a value is required */
	CG_POL_DIM_API_ID,
	CG_POL_DIM_OPERATION_ID,
	CG_POL_DIM_PRODUCT_ID,
	CG_POL_DIM_USER_ID,
	CG_POL_DIM_SUBSCRIPTION_ID,
	CG_POL_DIM_LOCATION,      /* "Location" or "Location ID" (APIM's pages use both) */
	CG_POL_DIM_GATEWAY_ID,
	CG_POL_DIM_BACKEND_ID,    /* outbound only (APIM) */
};
#define CG_POL_MAX_NAMED_VALUE_NAME 256u         /* APIM displayName length */
#define CG_POL_JWT_MIN_HMAC_KEY 16u              /* validate-jwt symmetric key bytes (128 bits, as .NET) */
#define CG_POL_JWT_MIN_RSA_BITS 2048u            /* validate-jwt RSA modulus bits (n/e keys) */
#define CG_POL_JWT_MAX_OPENID 4                  /* validate-jwt <openid-config> elements */

/* How the text is stored (APIM PolicyContentFormat). rawxml: expressions
 * hold raw '"', '<', '&&'; xml: a well-formed, entity-escaped document. */
enum cg_pol_format {
	CG_POL_FORMAT_RAWXML = 0,
	CG_POL_FORMAT_XML,
};

/* Scopes. Names as context.LastError.Scope spells them. Broad to narrow
 * the order is global, workspace, product, api, operation; workspace and
 * product came later and are numbered after the first three so existing
 * values keep their meaning (cg_pol_effective_chain takes the order). */
enum cg_pol_scope {
	CG_POL_SCOPE_GLOBAL = 0,
	CG_POL_SCOPE_API,
	CG_POL_SCOPE_OPERATION,
	CG_POL_SCOPE_WORKSPACE,
	CG_POL_SCOPE_PRODUCT,
	CG_POL_NSCOPES,
};

enum cg_pol_section {
	CG_POL_INBOUND = 0,
	CG_POL_BACKEND,
	CG_POL_OUTBOUND,
	CG_POL_ON_ERROR,
	CG_POL_NSECTIONS,
};

enum cg_pol_severity {
	CG_POL_ERROR = 0,
	CG_POL_WARNING,
};

/* A position in the original text: 1-based line, 1-based column counted in
 * characters (UTF-8 code points), and the 0-based byte offset. */
struct cg_pol_pos {
	uint32_t line;
	uint32_t col;
	uint32_t off;
};

/* The expression-engine hook (src/expr plugs in here). Called once per
 * expression after the document validated, in document order.
 *   src: the code inside the delimiters (without "@(" ")" or "@{" "}"),
 *        after named-value substitution; valid only during the call.
 *   is_block: 1 for @{ statements }, 0 for @( expression ).
 *   line, col: position of the first byte of src in the original text.
 *   section: "inbound", "backend", "outbound", "on-error", or "fragment"
 *            when a fragment is checked on its own.
 * Returns 0 and sets *compiled (may stay NULL), or -1 with a message in err
 * (APIM wording, no position: the loader adds the position). On success,
 * err may hold warnings, one per line, which become warning diagnostics. */
typedef int (*cg_pol_expr_compile_fn)(void *ud, struct cg_str src, int is_block, int line, int col,
				      const char *section, void **compiled, char *err, size_t errlen);

struct cg_pol_named_value {
	struct cg_str name;  /* ^[A-Za-z0-9-._]+$, matched exactly */
	struct cg_str value; /* substituted textually, never re-scanned */
};

struct cg_pol_fragment {
	struct cg_str id;   /* fragment-id */
	struct cg_str text; /* <fragment>...</fragment> */
	enum cg_pol_format format;
};

/* What a document may refer to. All pointers may be NULL / counts 0. */
struct cg_pol_env {
	const struct cg_pol_named_value *named_values;
	size_t num_named_values;
	const struct cg_pol_fragment *fragments;
	size_t num_fragments;
	cg_pol_expr_compile_fn compile; /* NULL: expressions are kept uncompiled */
	void *compile_ud;
};

/* One diagnostic. origin is empty for the document itself, or the
 * fragment id for a position inside a fragment's text. */
struct cg_pol_diag {
	struct cg_pol_diag *next;
	enum cg_pol_severity severity;
	struct cg_pol_pos pos;
	struct cg_str origin;
	struct cg_str message;
};

/* A diagnostics list; entries live in *arena. */
struct cg_pol_diags {
	struct cg_arena *arena;
	struct cg_pol_diag *head, *tail;
	size_t num_errors;
	size_t num_warnings;
	size_t num_dropped; /* past CG_POL_MAX_DIAGS */
};

struct cg_pol_attr {
	struct cg_str name;
	struct cg_str value;     /* decoded; for an expression the whole "@(...)" */
	bool is_expr;
	struct cg_pol_pos pos;   /* of the attribute name */
	struct cg_pol_pos vpos;  /* of the first character of the value */
	void *compiled;          /* from cg_pol_expr_compile_fn, or NULL */
};

struct cg_pol_node {
	struct cg_str name;
	struct cg_pol_pos pos;          /* of '<' */
	struct cg_str origin;           /* "" or the fragment id the element came from */
	enum cg_pol_scope scope;        /* context.LastError.Scope */
	struct cg_str path;             /* context.LastError.Path, "choose[1]/when[2]" */
	struct cg_str id;               /* the id attribute (LastError.PolicyId), or empty */
	struct cg_pol_attr *attrs;
	size_t num_attrs;
	/* Text content (text and CDATA children joined). When the trimmed text
	 * is one expression, text is that trimmed expression and text_is_expr. */
	struct cg_str text;
	bool text_is_expr;
	bool has_text;                  /* any non-whitespace text */
	struct cg_pol_pos text_pos;     /* first non-whitespace character */
	void *text_compiled;
	struct cg_pol_node *children;   /* first child element */
	struct cg_pol_node *next;       /* next sibling */
	size_t num_children;
};

/* A loaded document: <policies> or <fragment>. */
struct cg_pol_doc {
	enum cg_pol_scope scope;
	bool is_fragment;
	struct cg_pol_node *root;
	struct cg_pol_node *sections[CG_POL_NSECTIONS]; /* NULL when absent */
};

/* A list of statements (element pointers; nodes are shared, not copied). */
struct cg_pol_list {
	struct cg_pol_node **items;
	size_t len;
};

/* The effective policy of one operation after <base/> expansion. */
struct cg_pol_effective {
	struct cg_pol_list sections[CG_POL_NSECTIONS];
};

/* A CORS origin: scheme and host (slices into the parsed text, compared
 * ASCII case-insensitively) and port (80 / 443 when omitted for http /
 * https, 0 when omitted for another scheme). */
struct cg_pol_origin {
	struct cg_str scheme;
	struct cg_str host;
	uint32_t port;
};

#endif
