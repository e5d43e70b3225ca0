/* JSON <-> XML conversion for APIM's json-to-xml and xml-to-json policies
 * (docs/policies.md, "json-to-xml and xml-to-json"). Pure functions over
 * a body: no pipeline state, so they are unit-tested and fuzzed alone.
 *
 * JSON is read with jansson, XML with libxml2. XML input never reaches the
 * network and never expands an entity: a document with a DOCTYPE is
 * refused before any declaration in it is read, which closes external
 * entities (XXE) and entity expansion bombs (billion laughs) at once. */
#ifndef CG_GW_XMLJSON_H
#define CG_GW_XMLJSON_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/str.h"

/* Elements (or JSON objects and arrays) nested deeper than this are
 * refused: the converters recurse once per level. */
#define CG_XJ_MAX_DEPTH 64

enum cg_xj_rc {
	CG_XJ_OK = 0,
	CG_XJ_INVALID,   /* the input is not valid JSON/XML, or cannot be carried over; err says where */
	CG_XJ_TOO_LARGE, /* the result would pass max_out bytes */
	CG_XJ_NOMEM,
};

struct cg_xj_j2x_opts {
	char ns_sep;               /* namespace-separator: "p<sep>name" -> p:name when p is declared */
	struct cg_str ns_prefix;   /* namespace-prefix (e.g. "xmlns"); empty: none */
	struct cg_str attr_block;  /* attribute-block-name; empty: none */
};

enum cg_xj_kind { CG_XJ_DIRECT, CG_XJ_JS_FRIENDLY };

struct cg_xj_x2j_opts {
	enum cg_xj_kind kind;
	bool always_array;         /* always-array-child-elements */
};

/* JSON text -> an XML document (UTF-8, with an XML declaration), copied
 * into arena. On CG_XJ_INVALID, err holds "line:col: reason" for a JSON
 * syntax error, or a reason naming the JSON member that cannot become XML
 * (an attribute that is not a scalar, a character XML 1.0 cannot carry,
 * nesting deeper than CG_XJ_MAX_DEPTH). */
enum cg_xj_rc cg_xj_json_to_xml(struct cg_str json, const struct cg_xj_j2x_opts *o, size_t max_out,
				struct cg_arena *arena, struct cg_str *out, char *err, size_t errlen);

/* XML text -> compact JSON in Newtonsoft's SerializeXmlNode shape, copied
 * into arena. Refuses (CG_XJ_INVALID, "line:col: reason") a document that
 * is not well-formed, that has a DOCTYPE, or that nests deeper than
 * CG_XJ_MAX_DEPTH. */
enum cg_xj_rc cg_xj_xml_to_json(struct cg_str xml, const struct cg_xj_x2j_opts *o, size_t max_out,
				struct cg_arena *arena, struct cg_str *out, char *err, size_t errlen);

#endif
