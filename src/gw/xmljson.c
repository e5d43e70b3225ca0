/* JSON <-> XML conversion: see xmljson.h; the rules, with examples, are in
 * docs/policies.md ("json-to-xml and xml-to-json"). */
#include "gw/xmljson.h"

#include <jansson.h>
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

#define XJ_NAME_MAX 4096 /* bytes of one encoded XML name */

static enum cg_xj_rc fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum cg_xj_rc fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return CG_XJ_INVALID;
}

static enum cg_xj_rc copy_out(struct cg_arena *arena, const char *p, size_t n, size_t max_out,
			      struct cg_str *out)
{
	if (n > max_out)
		return CG_XJ_TOO_LARGE;
	*out = cg_arena_strdup_str(arena, cg_str_make(p, n));
	return out->ptr ? CG_XJ_OK : CG_XJ_NOMEM;
}

/* ---- JSON -> XML ----------------------------------------------------------- */

struct j2x {
	const struct cg_xj_j2x_opts *o;
	xmlDocPtr doc;
	enum cg_xj_rc rc;
	char *err;
	size_t errlen;
};

/* XML 1.0 (fifth edition) NameStartChar and NameChar, by code point. */
static bool name_start(uint32_t c)
{
	static const uint32_t r[][2] = { { 'A', 'Z' },	       { '_', '_' },	       { 'a', 'z' },
					 { 0xC0, 0xD6 },       { 0xD8, 0xF6 },	       { 0xF8, 0x2FF },
					 { 0x370, 0x37D },     { 0x37F, 0x1FFF },      { 0x200C, 0x200D },
					 { 0x2070, 0x218F },   { 0x2C00, 0x2FEF },     { 0x3001, 0xD7FF },
					 { 0xF900, 0xFDCF },   { 0xFDF0, 0xFFFD },     { 0x10000, 0xEFFFF } };
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (c >= r[i][0] && c <= r[i][1])
			return true;
	return false;
}

static bool name_char(uint32_t c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == 0xB7 ||
	       (c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

/* The code point at s[*i] (valid UTF-8: jansson checked it); advances *i. */
static uint32_t next_cp(struct cg_str s, size_t *i)
{
	unsigned char c = (unsigned char)s.ptr[*i];
	int n = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
	uint32_t cp = n ? c & (0x3F >> n) : c;
	for (int k = 1; k <= n && *i + (size_t)k < s.len; k++)
		cp = (cp << 6) | ((unsigned char)s.ptr[*i + (size_t)k] & 0x3F);
	*i += (size_t)n + 1;
	return cp;
}

/* .NET's XmlConvert.EncodeName: a character that may not stand where it
 * is becomes _xHHHH_ (_xHHHHHHHH_ beyond the BMP). Returns a
 * NUL-terminated name in b. */
static int encode_name(struct j2x *s, struct cg_str name, struct cg_buf *b)
{
	b->len = 0;
	if (!name.len) {
		s->rc = fail(s->err, s->errlen, "A JSON member with an empty name cannot become an XML element");
		return -1;
	}
	for (size_t i = 0; i < name.len;) {
		size_t at = i;
		uint32_t c = next_cp(name, &i);
		int r = (at ? name_char(c) : name_start(c)) ? cg_buf_append(b, &name.ptr[at], i - at)
							    : cg_buf_printf(b, c > 0xFFFF ? "_x%08X_" : "_x%04X_", c);
		if (r != 0)
			goto too_long;
	}
	if (cg_buf_append(b, "", 1) == 0)
		return 0;
too_long:
	s->rc = fail(s->err, s->errlen, "JSON member name '%.40s...' is too long for an XML name", name.ptr);
	return -1;
}

/* XML 1.0 carries no C0 control other than tab, LF and CR, and no U+FFFE/U+FFFF. */
static bool xml_text_ok(struct cg_str t)
{
	for (size_t i = 0; i < t.len; i++) {
		unsigned char c = (unsigned char)t.ptr[i];
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			return false;
		if (c == 0xEF && i + 2 < t.len && (unsigned char)t.ptr[i + 1] == 0xBF &&
		    ((unsigned char)t.ptr[i + 2] & 0xFE) == 0xBE)
			return false;
	}
	return true;
}

/* The text of a scalar (string, number, true/false; null: empty). Numbers:
 * integers as written, reals in the shortest form that reads back the
 * same (.NET's round-trip formatting). */
static struct cg_str scalar_text(const json_t *v, char *buf, size_t n)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return cg_str_make(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return cg_str_from_c(buf);
	case JSON_REAL:
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, n, "%.*g", prec, json_real_value(v));
			if (strtod(buf, NULL) == json_real_value(v))
				break;
		}
		return cg_str_from_c(buf);
	case JSON_TRUE:
		return CG_STR("true");
	case JSON_FALSE:
		return CG_STR("false");
	default:
		return CG_STR("");
	}
}

static int check_text(struct j2x *s, const char *member, struct cg_str t)
{
	if (xml_text_ok(t))
		return 0;
	s->rc = fail(s->err, s->errlen, "The value of JSON member '%.100s' holds a character XML 1.0 cannot carry",
		     member);
	return -1;
}

/* "p<sep>local" (or "p:local") whose prefix p is declared at n or above:
 * its namespace, and *local set past the separator. */
static xmlNsPtr find_prefix(struct j2x *s, xmlNodePtr n, struct cg_str name, struct cg_str *local)
{
	for (size_t i = 1; i + 1 < name.len; i++)
		if (name.ptr[i] == s->o->ns_sep || name.ptr[i] == ':') {
			char p[256];
			if (i >= sizeof(p))
				return NULL;
			memcpy(p, name.ptr, i);
			p[i] = '\0';
			xmlNsPtr ns = xmlSearchNs(s->doc, n, (const xmlChar *)p);
			if (ns)
				*local = cg_str_sub(name, i + 1, name.len - i - 1);
			return ns;
		}
	return NULL;
}

/* The namespace-prefix rule: "xmlns" declares the default namespace,
 * "xmlns:p" (or "xmlns<sep>p") declares p. Returns true for such a name;
 * *prefix is empty for the default namespace. */
static bool is_ns_decl(const struct j2x *s, struct cg_str name, struct cg_str *prefix)
{
	struct cg_str np = s->o->ns_prefix;
	if (!np.len || !cg_str_has_prefix(name, np))
		return false;
	if (name.len == np.len) {
		*prefix = CG_STR("");
		return true;
	}
	char c = name.ptr[np.len];
	if ((c != ':' && c != s->o->ns_sep) || name.len == np.len + 1)
		return false;
	*prefix = cg_str_sub(name, np.len + 1, name.len - np.len - 1);
	return true;
}

static int set_attr(struct j2x *s, xmlNodePtr n, struct cg_str name, const json_t *v)
{
	char num[40];
	if (json_is_object(v) || json_is_array(v)) {
		s->rc = fail(s->err, s->errlen, "JSON member '%.*s' is an attribute; its value must be a scalar",
			     (int)(name.len > 100 ? 100 : name.len), name.ptr);
		return -1;
	}
	struct cg_str t = scalar_text(v, num, sizeof(num));
	struct cg_buf b, tb;
	struct cg_str local = name;
	xmlNsPtr ns = find_prefix(s, n, name, &local);
	cg_buf_init(&b, XJ_NAME_MAX);
	cg_buf_init(&tb, t.len + 1);
	int rc = -1;
	if (check_text(s, name.ptr, t) == 0 && encode_name(s, local, &b) == 0) {
		if (cg_buf_append_str(&tb, t) != 0 || cg_buf_append(&tb, "", 1) != 0 ||
		    !xmlSetNsProp(n, ns, (const xmlChar *)b.data, (const xmlChar *)tb.data))
			s->rc = CG_XJ_NOMEM;
		else
			rc = 0;
	}
	cg_buf_free(&b);
	cg_buf_free(&tb);
	return rc;
}

static int add_text(struct j2x *s, xmlNodePtr n, const char *member, const json_t *v, bool cdata)
{
	char num[40];
	struct cg_str t = scalar_text(v, num, sizeof(num));
	if (check_text(s, member, t) != 0)
		return -1;
	if (!t.len)
		return 0;
	xmlNodePtr c = cdata ? xmlNewCDataBlock(s->doc, (const xmlChar *)t.ptr, (int)t.len)
			     : xmlNewDocTextLen(s->doc, (const xmlChar *)t.ptr, (int)t.len);
	if (!c || !xmlAddChild(n, c)) {
		xmlFreeNode(c);
		s->rc = CG_XJ_NOMEM;
		return -1;
	}
	return 0;
}

static int emit(struct j2x *s, xmlNodePtr parent, struct cg_str name, const json_t *v, int depth);

/* libxml2 writes a namespace's URI without escaping '&' or '<' (a URI
 * holds no '<', but '&' is common in queries): escape them here. */
static int new_ns(struct j2x *s, xmlNodePtr n, const char *key, const char *href, const char *prefix)
{
	struct cg_buf b;
	cg_buf_init(&b, strlen(href) * 5 + 1);
	int rc = 0;
	for (const char *c = href; *c && rc == 0; c++)
		rc = *c == '&' ? cg_buf_append(&b, "&amp;", 5) : *c == '<' ? cg_buf_append(&b, "&lt;", 4)
									 : cg_buf_append(&b, c, 1);
	if (rc == 0)
		rc = cg_buf_append(&b, "", 1);
	if (rc != 0)
		s->rc = CG_XJ_NOMEM;
	else if (!xmlNewNs(n, (const xmlChar *)b.data, (const xmlChar *)prefix)) {
		s->rc = fail(s->err, s->errlen, "Namespace declaration '%.100s' is not valid or repeated", key);
		rc = -1;
	}
	cg_buf_free(&b);
	return rc;
}

static int declare_namespaces(struct j2x *s, xmlNodePtr n, const json_t *obj)
{
	const char *key;
	const json_t *v;
	json_object_foreach ((json_t *)obj, key, v) {
		struct cg_str prefix;
		if (!is_ns_decl(s, cg_str_from_c(key), &prefix))
			continue;
		if (!json_is_string(v)) {
			s->rc = fail(s->err, s->errlen, "Namespace declaration '%.100s' must have a string value", key);
			return -1;
		}
		char p[256];
		snprintf(p, sizeof(p), "%.*s", (int)prefix.len, prefix.ptr);
		/* a prefix must be an XML name (not the reserved xml, xmlns), bound to a URI */
		if (prefix.len && (prefix.len >= sizeof(p) || xmlValidateNCName((const xmlChar *)p, 0) != 0 ||
				   !strcmp(p, "xmlns") || !strcmp(p, "xml") || !json_string_length(v))) {
			s->rc = fail(s->err, s->errlen,
				     "Namespace declaration '%.100s' needs a prefix that is an XML name other than xml "
				     "and xmlns, and a non-empty value",
				     key);
			return -1;
		}
		if (check_text(s, key, cg_str_make(json_string_value(v), json_string_length(v))) != 0 ||
		    new_ns(s, n, key, json_string_value(v), prefix.len ? p : NULL) != 0)
			return -1;
	}
	return 0;
}

/* One member of an object whose element is n: an attribute ("@name", or
 * a member of the attribute block), text ("#text", "#cdata-section"), or
 * a child element. */
static int member(struct j2x *s, xmlNodePtr n, const char *key, const json_t *v, int depth)
{
	struct cg_str k = cg_str_from_c(key), prefix;
	if (is_ns_decl(s, k, &prefix))
		return 0;
	if (key[0] == '@' && key[1])
		return set_attr(s, n, cg_str_sub(k, 1, k.len - 1), v);
	if (s->o->attr_block.len && cg_str_eq(k, s->o->attr_block) && json_is_object(v)) {
		const char *ak;
		const json_t *av;
		json_object_foreach ((json_t *)v, ak, av)
			if (set_attr(s, n, cg_str_from_c(ak), av) != 0)
				return -1;
		return 0;
	}
	bool text = cg_str_eq_lit(k, "#text"), cdata = cg_str_eq_lit(k, "#cdata-section");
	if ((text || cdata) && !json_is_object(v) && !json_is_array(v))
		return add_text(s, n, key, v, cdata);
	return emit(s, n, k, v, depth + 1);
}

static xmlNodePtr new_elem(struct j2x *s, xmlNodePtr parent, struct cg_str name)
{
	struct cg_buf b;
	cg_buf_init(&b, XJ_NAME_MAX);
	xmlNodePtr n = NULL;
	if (encode_name(s, name, &b) == 0) {
		n = xmlNewDocNode(s->doc, NULL, (const xmlChar *)b.data, NULL);
		if (!n)
			s->rc = CG_XJ_NOMEM;
		else if (parent)
			xmlAddChild(parent, n);
		else
			xmlDocSetRootElement(s->doc, n);
	}
	cg_buf_free(&b);
	return n;
}

/* After n's own declarations: a prefixed name takes its namespace. */
static int qualify(struct j2x *s, xmlNodePtr n, struct cg_str name)
{
	struct cg_str local;
	xmlNsPtr ns = find_prefix(s, n, name, &local);
	if (!ns)
		return 0;
	struct cg_buf b;
	cg_buf_init(&b, XJ_NAME_MAX);
	int rc = encode_name(s, local, &b);
	if (rc == 0) {
		xmlNodeSetName(n, (const xmlChar *)b.data);
		xmlSetNs(n, ns);
	}
	cg_buf_free(&b);
	return rc;
}

/* name: v as element(s) under parent (NULL: the document's root). An
 * array repeats the element once per item; null is an empty element. */
static int emit(struct j2x *s, xmlNodePtr parent, struct cg_str name, const json_t *v, int depth)
{
	if (depth > CG_XJ_MAX_DEPTH) {
		s->rc = fail(s->err, s->errlen, "JSON nested deeper than %d levels", CG_XJ_MAX_DEPTH);
		return -1;
	}
	if (json_is_array(v)) {
		size_t i;
		const json_t *it;
		json_array_foreach ((json_t *)v, i, it)
			if (emit(s, parent, name, it, depth + 1) != 0)
				return -1;
		return 0;
	}
	xmlNodePtr n = new_elem(s, parent, name);
	if (!n)
		return -1;
	if (!json_is_object(v))
		return add_text(s, n, name.ptr, v, false) == 0 ? qualify(s, n, name) : -1;
	if (declare_namespaces(s, n, v) != 0)
		return -1;
	const char *key;
	const json_t *m;
	json_object_foreach ((json_t *)v, key, m)
		if (member(s, n, key, m, depth) != 0)
			return -1;
	return qualify(s, n, name);
}

/* The single member of a one-member object is the root element; anything
 * else is wrapped in <Document> (an array's items as <item>). */
static int emit_root(struct j2x *s, const json_t *root)
{
	if (json_is_object(root) && json_object_size(root) == 1) {
		void *it = json_object_iter((json_t *)root);
		struct cg_str k = cg_str_from_c(json_object_iter_key(it)), prefix;
		const json_t *v = json_object_iter_value(it);
		if (!json_is_array(v) && k.len && k.ptr[0] != '@' && k.ptr[0] != '#' && !is_ns_decl(s, k, &prefix) &&
		    !(s->o->attr_block.len && cg_str_eq(k, s->o->attr_block)))
			return emit(s, NULL, k, v, 1);
	}
	if (json_is_object(root))
		return emit(s, NULL, CG_STR("Document"), root, 1);
	xmlNodePtr doc = new_elem(s, NULL, CG_STR("Document"));
	if (!doc)
		return -1;
	if (json_is_array(root))
		return emit(s, doc, CG_STR("item"), root, 1);
	return add_text(s, doc, "Document", root, false);
}

enum cg_xj_rc cg_xj_json_to_xml(struct cg_str json, const struct cg_xj_j2x_opts *o, size_t max_out,
				struct cg_arena *arena, struct cg_str *out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(json.ptr ? json.ptr : "", json.len, JSON_DECODE_ANY, &je);
	if (!root)
		return fail(err, errlen, "%d:%d: %s", je.line < 1 ? 1 : je.line, je.column < 1 ? 1 : je.column,
			    je.text);
	xmlInitParser();
	struct j2x s = { o, xmlNewDoc((const xmlChar *)"1.0"), CG_XJ_OK, err, errlen };
	if (!s.doc) {
		json_decref(root);
		return CG_XJ_NOMEM;
	}
	enum cg_xj_rc rc = CG_XJ_OK;
	if (emit_root(&s, root) != 0) {
		rc = s.rc != CG_XJ_OK ? s.rc : CG_XJ_NOMEM;
	} else {
		xmlChar *mem = NULL;
		int len = 0;
		xmlDocDumpMemoryEnc(s.doc, &mem, &len, "utf-8");
		rc = mem ? copy_out(arena, (const char *)mem, (size_t)len, max_out, out) : CG_XJ_NOMEM;
		xmlFree(mem);
	}
	xmlFreeDoc(s.doc);
	json_decref(root);
	return rc;
}

/* ---- XML -> JSON ----------------------------------------------------------- */

struct x2j_parse {
	int depth;
	bool doctype, too_deep;
	int line, col;       /* where parsing was stopped */
	char msg[200];       /* libxml2's first error */
	int eline, ecol;
};

static void stop_at(xmlParserCtxtPtr c, struct x2j_parse *st)
{
	st->line = c->input ? c->input->line : 0;
	st->col = c->input ? c->input->col : 0;
	xmlStopParser(c);
}

/* A DOCTYPE stops the parser before its internal subset is read: no
 * entity is ever declared, so none can be expanded or fetched. */
static void deny_doctype(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
	xmlParserCtxtPtr c = ctx;
	struct x2j_parse *st = c->_private;
	st->doctype = true;
	stop_at(c, st);
}

static void start_el(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri, int nb_ns,
		     const xmlChar **ns, int nb_attrs, int nb_def, const xmlChar **attrs)
{
	xmlParserCtxtPtr c = ctx;
	struct x2j_parse *st = c->_private;
	if (++st->depth > CG_XJ_MAX_DEPTH) {
		st->too_deep = true;
		stop_at(c, st);
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_ns, ns, nb_attrs, nb_def, attrs);
}

static void end_el(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	xmlParserCtxtPtr c = ctx;
	struct x2j_parse *st = c->_private;
	st->depth--;
	xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

static void keep_error(void *ctx, xmlErrorPtr e)
{
	xmlParserCtxtPtr c = ctx;
	struct x2j_parse *st = c->_private;
	if (st->msg[0] || !e || e->level < XML_ERR_ERROR)
		return;
	snprintf(st->msg, sizeof(st->msg), "%s", e->message ? e->message : "not well-formed");
	size_t n = strlen(st->msg);
	while (n && (st->msg[n - 1] == '\n' || st->msg[n - 1] == ' '))
		st->msg[--n] = '\0';
	st->eline = e->line;
	st->ecol = e->int2;
}

static enum cg_xj_rc parse_xml(struct cg_str xml, xmlDocPtr *doc, char *err, size_t errlen)
{
	if (xml.len > (size_t)INT32_MAX)
		return CG_XJ_TOO_LARGE;
	xmlInitParser();
	xmlParserCtxtPtr c = xmlNewParserCtxt();
	if (!c)
		return CG_XJ_NOMEM;
	struct x2j_parse st = { 0 };
	c->_private = &st;
	c->sax->internalSubset = deny_doctype;
	c->sax->startElementNs = start_el;
	c->sax->endElementNs = end_el;
	c->sax->serror = keep_error;
	/* NONET: nothing is fetched; no NOENT and no DTDLOAD: nothing expanded
	 * or loaded (and a DOCTYPE stops the parse anyway). */
	*doc = xmlCtxtReadMemory(c, xml.ptr ? xml.ptr : "", (int)xml.len, "body.xml", NULL,
				 XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
	enum cg_xj_rc rc = CG_XJ_OK;
	if (st.doctype)
		rc = fail(err, errlen, "%d:%d: A DOCTYPE is not allowed (DTDs and entities are refused)", st.line,
			  st.col);
	else if (st.too_deep)
		rc = fail(err, errlen, "%d:%d: XML nested deeper than %d elements", st.line, st.col,
			  CG_XJ_MAX_DEPTH);
	else if (!*doc || !c->wellFormed || !xmlDocGetRootElement(*doc))
		rc = st.msg[0] ? fail(err, errlen, "%d:%d: %s", st.eline, st.ecol, st.msg)
			       : fail(err, errlen, "1:1: The XML body has no root element");
	if (rc != CG_XJ_OK && *doc) {
		xmlFreeDoc(*doc);
		*doc = NULL;
	}
	xmlFreeParserCtxt(c);
	return rc;
}

struct x2j {
	const struct cg_xj_x2j_opts *o;
	bool nomem;
};

/* "prefix:name", or name; malloc'd. */
static char *qname(const xmlNs *ns, const xmlChar *name, const char *lead)
{
	const char *p = ns && ns->prefix ? (const char *)ns->prefix : NULL;
	size_t n = strlen(lead) + (p ? strlen(p) + 1 : 0) + strlen((const char *)name) + 1;
	char *q = malloc(n);
	if (q)
		snprintf(q, n, "%s%s%s%s", lead, p ? p : "", p ? ":" : "", (const char *)name);
	return q;
}

/* Adds key: v; a second value under the same key turns it into an array
 * (element values are never arrays otherwise); force: always an array. */
static void add_member(struct x2j *s, json_t *obj, const char *key, json_t *v, bool force)
{
	if (!key || !v) {
		s->nomem = true;
		json_decref(v);
		return;
	}
	json_t *cur = json_object_get(obj, key);
	if (!cur && force) {
		cur = json_array();
		if (!cur || json_object_set_new(obj, key, cur) != 0) {
			s->nomem = true;
			json_decref(v);
			return;
		}
	}
	if (json_is_array(cur)) {
		s->nomem |= json_array_append_new(cur, v) != 0;
		return;
	}
	if (!cur) {
		s->nomem |= json_object_set_new(obj, key, v) != 0;
		return;
	}
	json_t *arr = json_pack("[OO]", cur, v);
	json_decref(v);
	s->nomem |= !arr || json_object_set_new(obj, key, arr) != 0;
}

static json_t *xml_str(const xmlChar *t)
{
	return json_string(t ? (const char *)t : "");
}

static bool skip_child(const xmlNode *c)
{
	return (c->type == XML_TEXT_NODE && xmlIsBlankNode((xmlNodePtr)c)) ||
	       (c->type != XML_ELEMENT_NODE && c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE &&
		c->type != XML_COMMENT_NODE);
}

/* Text (and CDATA) only, no attributes: the element is its text. */
static bool text_only(const xmlNode *el)
{
	if (el->properties || el->nsDef)
		return false;
	for (const xmlNode *c = el->children; c; c = c->next)
		if (!skip_child(c) && c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			return false;
	return true;
}

static json_t *elem_json(struct x2j *s, const xmlNode *el);

static void attrs_json(struct x2j *s, json_t *obj, const xmlNode *el)
{
	for (const xmlNs *ns = el->nsDef; ns; ns = ns->next) {
		char *k = qname(NULL, ns->prefix ? ns->prefix : (const xmlChar *)"", ns->prefix ? "@xmlns:" : "@xmlns");
		add_member(s, obj, k, xml_str(ns->href), false);
		free(k);
	}
	for (const xmlAttr *a = el->properties; a; a = a->next) {
		xmlChar *v = xmlNodeGetContent((const xmlNode *)a);
		char *k = qname(a->ns, a->name, "@");
		add_member(s, obj, k, v ? xml_str(v) : NULL, false);
		free(k);
		xmlFree(v);
	}
}

static json_t *elem_json(struct x2j *s, const xmlNode *el)
{
	if (text_only(el)) {
		xmlChar *t = el->children ? xmlNodeGetContent(el) : NULL;
		bool blank = !t || !*t || (el->children && !el->children->next && skip_child(el->children));
		json_t *v = blank ? json_null() : xml_str(t);
		xmlFree(t);
		return v;
	}
	json_t *obj = json_object();
	if (!obj)
		return NULL;
	attrs_json(s, obj, el);
	for (const xmlNode *c = el->children; c && !s->nomem; c = c->next) {
		if (skip_child(c))
			continue;
		if (c->type == XML_ELEMENT_NODE) {
			char *k = qname(c->ns, c->name, "");
			add_member(s, obj, k, elem_json(s, c), s->o->always_array);
			free(k);
			continue;
		}
		const char *k = c->type == XML_TEXT_NODE ? "#text" : c->type == XML_CDATA_SECTION_NODE ? "#cdata-section" : "#comment";
		add_member(s, obj, k, xml_str(c->content), false);
	}
	return obj;
}

/* Newtonsoft writes the XML declaration as a "?xml" member (direct only). */
static void decl_json(struct x2j *s, json_t *top, const xmlDoc *doc)
{
	json_t *d = json_object();
	if (!d) {
		s->nomem = true;
		return;
	}
	add_member(s, d, "@version", xml_str(doc->version ? doc->version : (const xmlChar *)"1.0"), false);
	if (doc->encoding)
		add_member(s, d, "@encoding", xml_str(doc->encoding), false);
	if (doc->standalone >= 0)
		add_member(s, d, "@standalone", json_string(doc->standalone ? "yes" : "no"), false);
	add_member(s, top, "?xml", d, false);
}

enum cg_xj_rc cg_xj_xml_to_json(struct cg_str xml, const struct cg_xj_x2j_opts *o, size_t max_out,
				struct cg_arena *arena, struct cg_str *out, char *err, size_t errlen)
{
	xmlDocPtr doc = NULL;
	enum cg_xj_rc rc = parse_xml(xml, &doc, err, errlen);
	if (rc != CG_XJ_OK)
		return rc;
	struct x2j s = { o, false };
	json_t *top = json_object();
	const xmlNode *root = xmlDocGetRootElement(doc);
	s.nomem = !top;
	if (top && o->kind == CG_XJ_DIRECT && doc->standalone != -1)
		decl_json(&s, top, doc);
	if (top) {
		char *k = qname(root->ns, root->name, "");
		add_member(&s, top, k, elem_json(&s, root), false);
		free(k);
	}
	char *txt = s.nomem ? NULL : json_dumps(top, JSON_COMPACT);
	rc = txt ? copy_out(arena, txt, strlen(txt), max_out, out) : CG_XJ_NOMEM;
	free(txt);
	json_decref(top);
	xmlFreeDoc(doc);
	return rc;
}
