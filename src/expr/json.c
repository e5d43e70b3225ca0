/* IMessageBody.As<T>() and the Newtonsoft JToken family on jansson.
 * JObject, JArray and JToken are one static type (JToken); json_t values
 * live until the request arena is reset (a cleanup hook drops them). */
#include "expr/internal.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static void json_cleanup(void *p)
{
	json_decref(p);
}

/* Newtonsoft's reader exception: not a System.* type. */
static int json_error(struct cg_expr_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int json_error(struct cg_expr_run *r, const char *fmt, ...)
{
	r->err->status = CG_EXPR_EXCEPTION;
	snprintf(r->err->type, sizeof(r->err->type), "%s", "Newtonsoft.Json.JsonReaderException");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err->message, sizeof(r->err->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int ret_json(struct cg_expr_run *r, json_t *j, struct cg_expr_value *out)
{
	memset(out, 0, sizeof(*out));
	if (!j)
		return 0;
	out->kind = CG_EXPR_V_OBJ;
	out->cls = CG_EXPR_T_JTOKEN;
	out->u.obj = j;
	return 0;
}

/* Parses text; kind 'o' requires an object, 'a' an array, 't' anything. */
static int parse_json(struct cg_expr_run *r, struct cg_str text, char kind, struct cg_expr_value *out)
{
	json_error_t e;
	json_t *j = json_loadb(text.ptr ? text.ptr : "", text.len, JSON_DECODE_ANY, &e);
	if (!j)
		return json_error(r, "%s. Path '', line %d, position %d.", e.text, e.line, e.column);
	if (cg_arena_on_cleanup(r->ctx->arena, json_cleanup, j) < 0) {
		json_decref(j);
		return cg_expr_nomem(r);
	}
	if (kind == 'o' && !json_is_object(j))
		return json_error(r, "Error reading JObject from JsonReader. Current JsonReader item is not an object.");
	if (kind == 'a' && !json_is_array(j))
		return json_error(r, "Error reading JArray from JsonReader. Current JsonReader item is not an array.");
	return ret_json(r, j, out);
}

static char kind_of(struct cg_str type_name)
{
	if (cg_str_eq_lit(type_name, "JObject") || cg_str_eq_lit(type_name, "Newtonsoft.Json.Linq.JObject"))
		return 'o';
	if (cg_str_eq_lit(type_name, "JArray") || cg_str_eq_lit(type_name, "Newtonsoft.Json.Linq.JArray"))
		return 'a';
	return 't';
}

/* Body.As<T>([preserveContent]): string, byte[], JObject, JArray, JToken.
 * certgate never consumes the body, so preserveContent changes nothing. */
int cg_expr_body_as(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		    unsigned nargs, struct cg_expr_value *out)
{
	const struct cg_expr_body *b = self->u.obj;
	struct cg_expr_type t = r->node->type;
	memset(out, 0, sizeof(*out));
	if (t.id == CG_EXPR_T_STRING) {
		out->kind = CG_EXPR_V_STRING;
		out->u.s = b->data.ptr ? b->data : CG_STR("");
		return 0;
	}
	if (t.id == CG_EXPR_T_ARRAY && t.elem == CG_EXPR_T_BYTE) {
		/* a copy: byte[] is mutable, the body belongs to the gateway */
		char *p = cg_expr_strbuf(r, b->data.len);
		if (!p)
			return -1;
		if (b->data.len)
			memcpy(p, b->data.ptr, b->data.len);
		out->kind = CG_EXPR_V_BYTES;
		out->cls = CG_EXPR_T_BYTE;
		out->u.s = cg_str_make(p, b->data.len);
		return 0;
	}
	if (t.id == CG_EXPR_T_JTOKEN)
		return parse_json(r, b->data, kind_of(r->node->tsyn->name), out);
	return cg_expr_throw(r, "InvalidOperationException", "As<T>: unsupported type");
}

int cg_expr_json_parse(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		       unsigned nargs, struct cg_expr_value *out)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return cg_expr_throw(r, "ArgumentNullException", "Value cannot be null. (Parameter 'json')");
	/* the owner type as written (JObject.Parse vs JArray.Parse) */
	return parse_json(r, args[0].u.s, r->node->lit.kind == CG_EXPR_V_INT ? (char)r->node->lit.u.i : 't', out);
}

/* token[key] on objects (null when absent, as Newtonsoft) and token[i] on arrays. */
int cg_expr_json_index(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		       unsigned nargs, struct cg_expr_value *out)
{
	json_t *j = (json_t *)self->u.obj;
	if (args[0].kind == CG_EXPR_V_STRING) {
		if (!json_is_object(j))
			return cg_expr_throw(r, "InvalidOperationException",
					     "Cannot access child value on Newtonsoft.Json.Linq.JValue.");
		char key[256];
		if (args[0].u.s.len >= sizeof(key))
			return ret_json(r, NULL, out);
		memcpy(key, args[0].u.s.ptr, args[0].u.s.len);
		key[args[0].u.s.len] = '\0'; /* jansson wants a C string */
		return ret_json(r, json_object_get(j, key), out);
	}
	if (args[0].kind == CG_EXPR_V_INT) {
		if (!json_is_array(j))
			return cg_expr_throw(r, "ArgumentException",
					     "Accessed JObject values with invalid key value: %d. Object property name expected.",
					     args[0].u.i);
		if (args[0].u.i < 0 || (size_t)args[0].u.i >= json_array_size(j))
			return cg_expr_throw(r, "ArgumentOutOfRangeException",
					     "Index was out of range. Must be non-negative and less than the size of the collection. (Parameter 'index')");
		return ret_json(r, json_array_get(j, (size_t)args[0].u.i), out);
	}
	return ret_json(r, NULL, out);
}

int cg_expr_json_count(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		       unsigned nargs, struct cg_expr_value *out)
{
	json_t *j = (json_t *)self->u.obj;
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_INT;
	out->u.i = (int32_t)(json_is_array(j) ? json_array_size(j) : json_is_object(j) ? json_object_size(j) : 0);
	return 0;
}

int cg_expr_json_containskey(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
			     unsigned nargs, struct cg_expr_value *out)
{
	struct cg_expr_value v;
	if (args[0].kind == CG_EXPR_V_NULL)
		return cg_expr_throw(r, "ArgumentNullException", "Value cannot be null. (Parameter 'propertyName')");
	if (!json_is_object((json_t *)self->u.obj))
		return cg_expr_throw(r, "InvalidOperationException", "ContainsKey on a value that is not a JObject");
	if (cg_expr_json_index(r, self, args, 1, &v) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_BOOL;
	out->u.b = v.kind != CG_EXPR_V_NULL;
	return 0;
}

/* JSON text in the request arena: compact, or indented by two spaces as
 * Newtonsoft's Formatting.Indented (with "\n" line ends, see docs). */
static int dump(struct cg_expr_run *r, json_t *j, bool indent, struct cg_str *out)
{
	size_t flags = JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | (indent ? JSON_INDENT(2) : JSON_COMPACT);
	size_t n = json_dumpb(j, NULL, 0, flags);
	char *p = cg_expr_strbuf(r, n);
	if (!p)
		return -1;
	json_dumpb(j, p, n, flags);
	*out = cg_str_make(p, n);
	return 0;
}

/* Converts a token to a scalar value: (string)t, (int)t, t.ToString() ... */
int cg_expr_json_to(struct cg_expr_run *r, const struct cg_expr_value *v, struct cg_expr_type t,
		    struct cg_expr_value *out)
{
	json_t *j = (json_t *)v->u.obj;
	memset(out, 0, sizeof(*out));
	if (v->kind == CG_EXPR_V_NULL || json_is_null(j)) {
		if (t.id == CG_EXPR_T_STRING || t.id == CG_EXPR_T_OBJECT || t.id == CG_EXPR_T_JTOKEN)
			return 0;
		return cg_expr_throw(r, "ArgumentException", "Can not convert Null to %s.",
				     t.id == CG_EXPR_T_INT ? "Int32" : t.id == CG_EXPR_T_LONG ? "Int64" :
				     t.id == CG_EXPR_T_BOOL ? "Boolean" : "Double");
	}
	switch (t.id) {
	case CG_EXPR_T_JTOKEN:
	case CG_EXPR_T_OBJECT:
		*out = *v;
		return 0;
	case CG_EXPR_T_STRING:
		if (json_is_string(j)) {
			out->kind = CG_EXPR_V_STRING;
			out->u.s = cg_str_make(json_string_value(j), json_string_length(j));
			return 0;
		}
		if (json_is_object(j) || json_is_array(j))
			return cg_expr_throw(r, "ArgumentException", "Can not convert %s to String.",
					     json_is_object(j) ? "Object" : "Array");
		if (json_is_true(j) || json_is_false(j)) {
			out->kind = CG_EXPR_V_STRING;
			out->u.s = json_is_true(j) ? CG_STR("True") : CG_STR("False");
			return 0;
		}
		if (json_is_integer(j)) {
			struct cg_expr_value n = { .kind = CG_EXPR_V_LONG };
			n.u.l = (int64_t)json_integer_value(j);
			out->kind = CG_EXPR_V_STRING;
			return cg_expr_tostr(r, &n, &out->u.s);
		}
		{
			struct cg_expr_value n = { .kind = CG_EXPR_V_DOUBLE };
			n.u.d = json_real_value(j);
			out->kind = CG_EXPR_V_STRING;
			return cg_expr_tostr(r, &n, &out->u.s);
		}
	case CG_EXPR_T_BOOL:
		if (json_is_boolean(j)) {
			out->kind = CG_EXPR_V_BOOL;
			out->u.b = json_is_true(j);
			return 0;
		}
		if (json_is_string(j)) {
			struct cg_str s = cg_str_make(json_string_value(j), json_string_length(j));
			if (cg_str_ieq_lit(s, "true") || cg_str_ieq_lit(s, "false")) {
				out->kind = CG_EXPR_V_BOOL;
				out->u.b = cg_str_ieq_lit(s, "true");
				return 0;
			}
		}
		break;
	case CG_EXPR_T_INT:
	case CG_EXPR_T_LONG:
	case CG_EXPR_T_DOUBLE: {
		double d;
		int64_t l = 0;
		bool isint = false;
		if (json_is_integer(j)) {
			l = (int64_t)json_integer_value(j);
			d = (double)l;
			isint = true;
		} else if (json_is_real(j)) {
			d = json_real_value(j);
		} else if (json_is_string(j)) {
			struct cg_str s = cg_str_make(json_string_value(j), json_string_length(j));
			if (cg_expr_parse_long(s, INT64_MIN, INT64_MAX, &l) == 0) {
				d = (double)l;
				isint = true;
			} else if (cg_expr_parse_double(s, &d) < 0) {
				return cg_expr_throw(r, "FormatException", "Input string was not in a correct format.");
			}
		} else {
			break;
		}
		if (t.id == CG_EXPR_T_DOUBLE) {
			out->kind = CG_EXPR_V_DOUBLE;
			out->u.d = d;
			return 0;
		}
		if (!isint) {
			double rd = cg_expr_rint(d);
			if (!(rd >= -9223372036854775808.0 && rd < 9223372036854775808.0))
				return cg_expr_throw(r, "OverflowException", "Arithmetic operation resulted in an overflow.");
			l = (int64_t)rd;
		}
		if (t.id == CG_EXPR_T_INT) {
			if (l < INT32_MIN || l > INT32_MAX)
				return cg_expr_throw(r, "OverflowException", "Value was either too large or too small for an Int32.");
			out->kind = CG_EXPR_V_INT;
			out->u.i = (int32_t)l;
		} else {
			out->kind = CG_EXPR_V_LONG;
			out->u.l = l;
		}
		return 0;
	}
	default:
		break;
	}
	char b[160];
	return cg_expr_throw(r, "ArgumentException", "Can not convert %s to %s.",
			     json_is_object(j) ? "Object" : json_is_array(j) ? "Array" : json_is_string(j) ? "String" :
			     json_is_boolean(j) ? "Boolean" : "Number",
			     cg_expr_ty_short(t, b, sizeof(b)));
}

/* JToken.ToString(): a string value's text, a number or bool as .NET
 * prints it, objects and arrays as indented JSON. */
int cg_expr_json_tostring(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
			  unsigned nargs, struct cg_expr_value *out)
{
	json_t *j = (json_t *)self->u.obj;
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_STRING;
	bool compact = nargs > 0 && args[0].u.i == 0; /* Formatting.None */
	if (json_is_object(j) || json_is_array(j))
		return dump(r, j, !compact, &out->u.s);
	if (json_is_null(j)) {
		out->u.s = CG_STR("");
		return 0;
	}
	if (json_is_string(j) && nargs == 0)
		return cg_expr_json_to(r, self, cg_expr_ty(CG_EXPR_T_STRING), out);
	if (nargs == 0)
		return cg_expr_json_to(r, self, cg_expr_ty(CG_EXPR_T_STRING), out);
	return dump(r, j, false, &out->u.s);
}

/* token.Value<T>(key) */
int cg_expr_json_value(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		       unsigned nargs, struct cg_expr_value *out)
{
	struct cg_expr_value v;
	if (cg_expr_json_index(r, self, args, 1, &v) < 0)
		return -1;
	return cg_expr_json_to(r, &v, r->node->type, out);
}

/* JArray items for LINQ and foreach. */
uint32_t cg_expr_json_len(const struct cg_expr_value *v)
{
	json_t *j = (json_t *)v->u.obj;
	return json_is_array(j) ? (uint32_t)json_array_size(j) : 0;
}

void cg_expr_json_item(const struct cg_expr_value *v, uint32_t i, struct cg_expr_value *out)
{
	json_t *it = json_array_get((json_t *)v->u.obj, i);
	memset(out, 0, sizeof(*out));
	if (it) {
		out->kind = CG_EXPR_V_OBJ;
		out->cls = CG_EXPR_T_JTOKEN;
		out->u.obj = it;
	}
}

/* ---- building JSON ---- */

struct cg_expr_jprop {
	struct cg_str name;
	json_t *value;
};

static int keep(struct cg_expr_run *r, json_t *j)
{
	if (!j)
		return cg_expr_nomem(r);
	if (cg_arena_on_cleanup(r->ctx->arena, json_cleanup, j) < 0) {
		json_decref(j);
		return cg_expr_nomem(r);
	}
	return 0;
}

/* A new json_t (owned by the caller) for a value, as Newtonsoft's
 * JToken.FromObject would build it for the types expressions have. */
static json_t *to_json(struct cg_expr_run *r, const struct cg_expr_value *v)
{
	char buf[96];
	switch (v->kind) {
	case CG_EXPR_V_NULL: return json_null();
	case CG_EXPR_V_BOOL: return json_boolean(v->u.b);
	case CG_EXPR_V_INT: return json_integer(v->u.i);
	case CG_EXPR_V_LONG: return json_integer(v->u.l);
	case CG_EXPR_V_DOUBLE: return json_real(v->u.d);
	/* a JSON number; Newtonsoft would keep the scale (1.50), jansson prints 1.5 */
	case CG_EXPR_V_DECIMAL: return json_real(cg_expr_dec_to_double(v));
	case CG_EXPR_V_STRING: return json_stringn_nocheck(v->u.s.ptr ? v->u.s.ptr : "", v->u.s.len);
	case CG_EXPR_V_DATETIME: {
		/* Json.NET's ISO 8601 form */
		int n = cg_expr_format_scalar(v, CG_STR("yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFFK"), buf, sizeof(buf));
		return n < 0 ? NULL : json_stringn(buf, (size_t)n);
	}
	case CG_EXPR_V_CHAR:
	case CG_EXPR_V_TIMESPAN:
	case CG_EXPR_V_GUID: {
		int n = cg_expr_format_scalar(v, CG_STR_NULL, buf, sizeof(buf));
		return n < 0 ? NULL : json_stringn(buf, (size_t)n);
	}
	case CG_EXPR_V_ARRAY: {
		json_t *a = json_array();
		for (uint32_t k = 0; a && k < v->u.arr->n; k++) {
			json_t *it = to_json(r, &v->u.arr->items[k]);
			if (!it || json_array_append_new(a, it) < 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	case CG_EXPR_V_OBJ:
		if (v->cls == CG_EXPR_T_LIST || v->cls == CG_EXPR_T_SET || v->cls == CG_EXPR_T_DICT) {
			/* collections serialize as arrays, dictionaries as objects */
			bool dict = v->cls == CG_EXPR_T_DICT;
			json_t *a = dict ? json_object() : json_array();
			uint32_t n = cg_expr_seq_len(v);
			for (uint32_t k = 0; a && k < n; k++) {
				struct cg_expr_value it;
				cg_expr_seq_item(v, k, &it);
				const struct cg_expr_var *kv = dict ? it.u.obj : NULL;
				json_t *j = to_json(r, dict ? &kv->value : &it);
				if (!j || (dict ? json_object_setn_new_nocheck(a, kv->name.ptr, kv->name.len, j) :
						  json_array_append_new(a, j)) < 0) {
					json_decref(a);
					return NULL;
				}
			}
			return a;
		}
		if (v->cls == CG_EXPR_T_JTOKEN)
			return json_deep_copy((json_t *)v->u.obj); /* Newtonsoft clones a parented token */
		if (v->cls == CG_EXPR_T_JPROPERTY) {
			const struct cg_expr_jprop *p = v->u.obj;
			json_t *o = json_object();
			if (o && json_object_setn_new_nocheck(o, p->name.ptr, p->name.len, json_deep_copy(p->value)) < 0) {
				json_decref(o);
				return NULL;
			}
			return o;
		}
		return NULL;
	default:
		return NULL;
	}
}

static int not_json(struct cg_expr_run *r, const struct cg_expr_value *v)
{
	char b[200];
	struct cg_expr_type t = v->kind == CG_EXPR_V_OBJ ? cg_expr_ty(v->cls) : cg_expr_ty(CG_EXPR_T_OBJECT);
	return cg_expr_throw(r, "ArgumentException", "Could not determine JSON object type for type %s.",
			     cg_expr_type_name(t, b, sizeof(b)));
}

/* new JObject(props...), new JArray(items...) */
int cg_expr_json_ctor(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		      unsigned nargs, struct cg_expr_value *out)
{
	char kind = r->node->lit.kind == CG_EXPR_V_INT ? (char)r->node->lit.u.i : 't';
	json_t *j = kind == 'a' ? json_array() : json_object();
	if (keep(r, j) < 0)
		return -1;
	for (unsigned k = 0; k < nargs; k++) {
		const struct cg_expr_value *a = &args[k];
		if (kind == 'a') {
			json_t *it = to_json(r, a);
			if (!it)
				return not_json(r, a);
			json_array_append_new(j, it);
		} else if (a->kind == CG_EXPR_V_OBJ && a->cls == CG_EXPR_T_JPROPERTY) {
			const struct cg_expr_jprop *p = a->u.obj;
			json_object_setn_new_nocheck(j, p->name.ptr, p->name.len, json_deep_copy(p->value));
		} else if (a->kind == CG_EXPR_V_OBJ && a->cls == CG_EXPR_T_JTOKEN && json_is_object((json_t *)a->u.obj)) {
			json_object_update(j, (json_t *)a->u.obj);
		} else if (a->kind != CG_EXPR_V_NULL) {
			return cg_expr_throw(r, "ArgumentException", "Can not add %s to Newtonsoft.Json.Linq.JObject.",
					     a->kind == CG_EXPR_V_STRING ? "Newtonsoft.Json.Linq.JValue" : "this value");
		}
	}
	return ret_json(r, j, out);
}

/* new JProperty(name, value) */
int cg_expr_jprop_ctor(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		       unsigned nargs, struct cg_expr_value *out)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return cg_expr_throw(r, "ArgumentNullException", "Value cannot be null. (Parameter 'name')");
	struct cg_expr_jprop *p = cg_arena_alloc(r->ctx->arena, sizeof(*p));
	if (!p)
		return cg_expr_nomem(r);
	json_t *v = to_json(r, &args[1]);
	if (!v)
		return not_json(r, &args[1]);
	if (keep(r, v) < 0)
		return -1;
	p->name = args[0].u.s;
	p->value = v;
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_OBJ;
	out->cls = CG_EXPR_T_JPROPERTY;
	out->u.obj = p;
	return 0;
}

int cg_expr_jprop_name(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		       unsigned nargs, struct cg_expr_value *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_STRING;
	out->u.s = ((const struct cg_expr_jprop *)self->u.obj)->name;
	return 0;
}

int cg_expr_jprop_value(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
			unsigned nargs, struct cg_expr_value *out)
{
	return ret_json(r, ((const struct cg_expr_jprop *)self->u.obj)->value, out);
}

/* token[key] = value (objects) and token[i] = value (arrays) */
int cg_expr_json_set(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		     unsigned nargs, struct cg_expr_value *out)
{
	json_t *j = (json_t *)self->u.obj;
	memset(out, 0, sizeof(*out));
	json_t *v = to_json(r, &args[1]);
	if (!v)
		return not_json(r, &args[1]);
	if (args[0].kind == CG_EXPR_V_STRING && json_is_object(j)) {
		json_object_setn_new_nocheck(j, args[0].u.s.ptr, args[0].u.s.len, v);
		return 0;
	}
	if (args[0].kind == CG_EXPR_V_INT && json_is_array(j) && args[0].u.i >= 0 &&
	    (size_t)args[0].u.i < json_array_size(j)) {
		json_array_set_new(j, (size_t)args[0].u.i, v);
		return 0;
	}
	json_decref(v);
	if (args[0].kind == CG_EXPR_V_INT && json_is_array(j))
		return cg_expr_throw(r, "ArgumentOutOfRangeException",
				     "Index was out of range. Must be non-negative and less than the size of the collection. (Parameter 'index')");
	return cg_expr_throw(r, "InvalidOperationException", "Cannot set child value on this token.");
}

/* obj.Add(name, value), arr.Add(value) */
int cg_expr_json_add(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		     unsigned nargs, struct cg_expr_value *out)
{
	json_t *j = (json_t *)self->u.obj;
	memset(out, 0, sizeof(*out));
	if (nargs == 2) {
		if (!json_is_object(j) || args[0].kind != CG_EXPR_V_STRING)
			return cg_expr_throw(r, "InvalidOperationException", "Add(name, value) needs a JObject.");
		char key[256];
		if (args[0].u.s.len >= sizeof(key))
			return cg_expr_throw(r, "ArgumentException", "property name too long");
		memcpy(key, args[0].u.s.ptr, args[0].u.s.len);
		key[args[0].u.s.len] = '\0'; /* jansson wants a C string */
		if (json_object_get(j, key))
			return cg_expr_throw(r, "ArgumentException",
					     "Can not add property %s to Newtonsoft.Json.Linq.JObject. Property with the same name already exists on object.",
					     key);
		json_t *v = to_json(r, &args[1]);
		if (!v)
			return not_json(r, &args[1]);
		json_object_set_new_nocheck(j, key, v);
		return 0;
	}
	json_t *v = to_json(r, &args[0]);
	if (!v)
		return not_json(r, &args[0]);
	if (json_is_array(j)) {
		json_array_append_new(j, v);
		return 0;
	}
	if (json_is_object(j) && args[0].kind == CG_EXPR_V_OBJ && args[0].cls == CG_EXPR_T_JPROPERTY) {
		json_object_update(j, v);
		json_decref(v);
		return 0;
	}
	json_decref(v);
	return cg_expr_throw(r, "ArgumentException", "Can not add this value to Newtonsoft.Json.Linq.JObject.");
}

int cg_expr_json_remove(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
			unsigned nargs, struct cg_expr_value *out)
{
	json_t *j = (json_t *)self->u.obj;
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_BOOL;
	if (!json_is_object(j) || args[0].kind != CG_EXPR_V_STRING || args[0].u.s.len >= 256)
		return 0;
	char key[256];
	memcpy(key, args[0].u.s.ptr, args[0].u.s.len);
	key[args[0].u.s.len] = '\0';
	out->u.b = json_object_del(j, key) == 0;
	return 0;
}

/* JsonConvert.SerializeObject(value): compact JSON text. */
int cg_expr_json_serialize(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
			   unsigned nargs, struct cg_expr_value *out)
{
	json_t *v = to_json(r, &args[0]);
	if (!v)
		return not_json(r, &args[0]);
	if (keep(r, v) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_STRING;
	return dump(r, v, false, &out->u.s);
}

/* ---- string.AsJwt() (APIM) ---- */

struct cg_expr_jwt {
	json_t *header, *payload;
	struct cg_expr_headers claims; /* name -> values, as Headers (joined with ',') */
};

static json_t *decode_part(struct cg_expr_run *r, struct cg_str part)
{
	char *buf = cg_expr_strbuf(r, part.len * 3 / 4 + 3);
	if (!buf)
		return NULL;
	long n = cg_b64_decode(part, true, (unsigned char *)buf);
	if (n < 0)
		return NULL;
	json_t *j = json_loadb(buf, (size_t)n, 0, NULL);
	if (!j)
		return NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	if (keep(r, j) < 0)
		return NULL; /* keep() dropped it and set the error */
	return j;
}

/* Claims as name -> values lines: arrays give one value per element. */
static int build_claims(struct cg_expr_run *r, struct cg_expr_jwt *t)
{
	size_t n = 0;
	const char *key;
	json_t *v;
	json_object_foreach(t->payload, key, v)
		n += json_is_array(v) ? json_array_size(v) : 1;
	struct cg_expr_header *items = cg_arena_alloc(r->ctx->arena, sizeof(*items) * (n ? n : 1));
	if (!items)
		return cg_expr_nomem(r);
	size_t k = 0;
	json_object_foreach(t->payload, key, v)
	{
		size_t m = json_is_array(v) ? json_array_size(v) : 1;
		for (size_t i = 0; i < m; i++) {
			json_t *x = json_is_array(v) ? json_array_get(v, i) : v;
			struct cg_expr_value tv = { .kind = CG_EXPR_V_OBJ, .cls = CG_EXPR_T_JTOKEN }, sv;
			tv.u.obj = x;
			items[k].name = cg_str_from_c(key);
			if (json_is_object(x) || json_is_array(x)) {
				if (dump(r, x, false, &items[k].value) < 0)
					return -1;
			} else if (cg_expr_json_to(r, &tv, cg_expr_ty(CG_EXPR_T_STRING), &sv) < 0) {
				return -1;
			} else {
				items[k].value = sv.kind == CG_EXPR_V_STRING ? sv.u.s : CG_STR("");
			}
			k++;
		}
	}
	t->claims.items = items;
	t->claims.n = k;
	return 0;
}

/* "header.payload.signature" -> Jwt, or null (never throws for bad text). */
int cg_expr_str_asjwt(struct cg_expr_run *r, const struct cg_expr_value *self, const struct cg_expr_value *args,
		      unsigned nargs, struct cg_expr_value *out)
{
	memset(out, 0, sizeof(*out));
	if (!self || self->kind != CG_EXPR_V_STRING)
		return 0;
	struct cg_str s = cg_str_trim_ows(self->u.s);
	long d1 = cg_str_find_char(s, '.');
	if (d1 < 0)
		return 0;
	struct cg_str rest = cg_str_sub(s, (size_t)d1 + 1, s.len);
	long d2 = cg_str_find_char(rest, '.');
	if (d2 < 0)
		return 0;
	json_t *h = decode_part(r, cg_str_make(s.ptr, (size_t)d1));
	if (r->err->status != CG_EXPR_OK)
		return -1;
	json_t *p = h ? decode_part(r, cg_str_make(rest.ptr, (size_t)d2)) : NULL;
	if (r->err->status != CG_EXPR_OK)
		return -1;
	if (!h || !p)
		return 0;
	struct cg_expr_jwt *t = cg_arena_zalloc(r->ctx->arena, sizeof(*t));
	if (!t)
		return cg_expr_nomem(r);
	t->header = h;
	t->payload = p;
	if (build_claims(r, t) < 0)
		return -1;
	out->kind = CG_EXPR_V_OBJ;
	out->cls = CG_EXPR_T_JWT;
	out->u.obj = t;
	return 0;
}

#define JWT(self) ((const struct cg_expr_jwt *)(self)->u.obj)

int cg_expr_jwt_parse(struct cg_expr_ctx *ctx, struct cg_str token, struct cg_expr_value *out,
		      struct cg_expr_error *err)
{
	/* A run with no program: AsJwt only allocates and reports through it. */
	struct cg_expr_run r;
	memset(&r, 0, offsetof(struct cg_expr_run, locals));
	memset(out, 0, sizeof(*out));
	err->status = CG_EXPR_OK;
	err->type[0] = err->message[0] = '\0';
	r.ctx = ctx;
	r.err = err;
	r.max_string = ctx->max_string ? ctx->max_string : CG_EXPR_DEFAULT_MAX_STRING;
	r.max_items = ctx->max_items ? ctx->max_items : CG_EXPR_DEFAULT_MAX_ITEMS;
	struct cg_expr_value self = { .kind = CG_EXPR_V_STRING };
	self.u.s = token;
	return cg_expr_str_asjwt(&r, &self, NULL, 0, out);
}

const struct json_t *cg_expr_jwt_header(const struct cg_expr_value *jwt)
{
	return JWT(jwt)->header;
}

const struct json_t *cg_expr_jwt_payload(const struct cg_expr_value *jwt)
{
	return JWT(jwt)->payload;
}

const struct cg_expr_headers *cg_expr_jwt_claim_list(const struct cg_expr_value *jwt)
{
	return &JWT(jwt)->claims;
}

static int jwt_str(json_t *o, const char *k, struct cg_expr_value *out)
{
	json_t *v = json_object_get(o, k);
	memset(out, 0, sizeof(*out));
	if (json_is_string(v)) {
		out->kind = CG_EXPR_V_STRING;
		out->u.s = cg_str_make(json_string_value(v), json_string_length(v));
	}
	return 0;
}

/* NumericDate claims as DateTime (UTC); absent -> null (DateTime? in APIM). */
static int jwt_time(json_t *o, const char *k, struct cg_expr_value *out)
{
	json_t *v = json_object_get(o, k);
	memset(out, 0, sizeof(*out));
	if (json_is_number(v)) {
		double secs = json_number_value(v);
		if (secs > -62135596800.0 && secs < 253402300799.0) {
			out->kind = CG_EXPR_V_DATETIME;
			out->dtkind = CG_EXPR_DT_UTC;
			out->u.ticks = 621355968000000000LL + (int64_t)secs * CG_EXPR_TICKS_PER_SEC;
		}
	}
	return 0;
}

#define JWT_FN(name) CG_EXPR_JSON_FN(name)
JWT_FN(cg_expr_jwt_algorithm) { return jwt_str(JWT(self)->header, "alg", out); }
JWT_FN(cg_expr_jwt_type) { return jwt_str(JWT(self)->header, "typ", out); }
JWT_FN(cg_expr_jwt_id) { return jwt_str(JWT(self)->payload, "jti", out); }
JWT_FN(cg_expr_jwt_issuer) { return jwt_str(JWT(self)->payload, "iss", out); }
JWT_FN(cg_expr_jwt_subject) { return jwt_str(JWT(self)->payload, "sub", out); }
JWT_FN(cg_expr_jwt_exp) { return jwt_time(JWT(self)->payload, "exp", out); }
JWT_FN(cg_expr_jwt_iat) { return jwt_time(JWT(self)->payload, "iat", out); }
JWT_FN(cg_expr_jwt_nbf) { return jwt_time(JWT(self)->payload, "nbf", out); }
JWT_FN(cg_expr_jwt_claims)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_OBJ;
	out->cls = CG_EXPR_T_HEADERS;
	out->u.obj = &JWT(self)->claims;
	return 0;
}
JWT_FN(cg_expr_jwt_audiences)
{
	json_t *v = json_object_get(JWT(self)->payload, "aud");
	size_t n = json_is_array(v) ? json_array_size(v) : json_is_string(v) ? 1 : 0;
	struct cg_expr_array *a = cg_expr_new_array(r, (uint32_t)n, CG_EXPR_T_STRING);
	if (!a)
		return -1;
	uint32_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_is_array(v) ? json_array_get(v, i) : v;
		if (!json_is_string(x))
			continue;
		memset(&a->items[k], 0, sizeof(a->items[k]));
		a->items[k].kind = CG_EXPR_V_STRING;
		a->items[k++].u.s = cg_str_make(json_string_value(x), json_string_length(x));
	}
	a->n = k;
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_ARRAY;
	out->cls = CG_EXPR_T_STRING;
	out->u.arr = a;
	return 0;
}

/* token.SelectToken(path): the simple JSONPath subset people use in
 * policies: [$.]name.name[3]['quoted name'].name. Null when absent; an
 * unsupported path (wildcards, filters, ..) is a JsonException. */
CG_EXPR_JSON_FN(cg_expr_json_selecttoken)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return cg_expr_throw(r, "ArgumentNullException", "Value cannot be null. (Parameter 'path')");
	struct cg_str p = args[0].u.s;
	json_t *j = (json_t *)self->u.obj;
	size_t i = 0;
	if (p.len && p.ptr[0] == '$') {
		i = 1;
		if (i < p.len && p.ptr[i] == '.')
			i++;
	}
	while (i < p.len && j) {
		char key[256];
		size_t kl = 0;
		if (p.ptr[i] == '[') {
			i++;
			if (i < p.len && (p.ptr[i] == '\'' || p.ptr[i] == '"')) {
				char q = p.ptr[i++];
				while (i < p.len && p.ptr[i] != q && kl < sizeof(key) - 1)
					key[kl++] = p.ptr[i++];
				if (i + 1 >= p.len || p.ptr[i] != q || p.ptr[i + 1] != ']')
					goto bad;
				i += 2;
				key[kl] = '\0';
				j = json_is_object(j) ? json_object_get(j, key) : NULL;
			} else {
				size_t idx = 0, nd = 0;
				while (i < p.len && p.ptr[i] >= '0' && p.ptr[i] <= '9' && nd < 9)
					idx = idx * 10 + (size_t)(p.ptr[i++] - '0'), nd++;
				if (!nd || i >= p.len || p.ptr[i] != ']')
					goto bad;
				i++;
				j = json_is_array(j) ? json_array_get(j, idx) : NULL;
			}
		} else {
			while (i < p.len && p.ptr[i] != '.' && p.ptr[i] != '[' && kl < sizeof(key) - 1) {
				if (p.ptr[i] == '*' || p.ptr[i] == '?' || p.ptr[i] == '(')
					goto bad;
				key[kl++] = p.ptr[i++];
			}
			if (!kl)
				goto bad;
			key[kl] = '\0';
			j = json_is_object(j) ? json_object_get(j, key) : NULL;
		}
		if (i < p.len && p.ptr[i] == '.') {
			i++;
			if (i >= p.len || p.ptr[i] == '.')
				goto bad;
		}
	}
	return ret_json(r, j, out);
bad:
	r->err->status = CG_EXPR_EXCEPTION;
	snprintf(r->err->type, sizeof(r->err->type), "%s", "Newtonsoft.Json.JsonException");
	snprintf(r->err->message, sizeof(r->err->message), "Unsupported path '%.*s' (certgate supports names and [index])",
		 (int)(p.len > 80 ? 80 : p.len), p.ptr);
	return -1;
}

/* JObject.Properties(): JProperty objects (name, value) in order. */
CG_EXPR_JSON_FN(cg_expr_json_properties)
{
	json_t *j = (json_t *)self->u.obj;
	size_t n = json_is_object(j) ? json_object_size(j) : 0;
	struct cg_expr_array *a = cg_expr_new_array(r, (uint32_t)n, CG_EXPR_T_JPROPERTY);
	if (!a)
		return -1;
	const char *key;
	json_t *v;
	uint32_t k = 0;
	if (n) {
		json_object_foreach(j, key, v)
		{
			struct cg_expr_jprop *pr = cg_arena_alloc(r->ctx->arena, sizeof(*pr));
			if (!pr)
				return cg_expr_nomem(r);
			pr->name = cg_str_from_c(key);
			pr->value = v;
			memset(&a->items[k], 0, sizeof(a->items[k]));
			a->items[k].kind = CG_EXPR_V_OBJ;
			a->items[k].cls = CG_EXPR_T_JPROPERTY;
			a->items[k++].u.obj = pr;
		}
	}
	a->n = k;
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_ARRAY;
	out->cls = CG_EXPR_T_JPROPERTY;
	out->u.arr = a;
	return 0;
}

/* token.Type: Newtonsoft's JTokenType name as a string ("Object", "Array",
 * "String", "Integer", "Float", "Boolean", "Null"), since enums are
 * compared as their names in most policies (ToString()). */
CG_EXPR_JSON_FN(cg_expr_json_type)
{
	json_t *j = (json_t *)self->u.obj;
	const char *t = json_is_object(j) ? "Object" : json_is_array(j) ? "Array" : json_is_string(j) ? "String" :
			json_is_integer(j) ? "Integer" : json_is_real(j) ? "Float" : json_is_boolean(j) ? "Boolean" : "Null";
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_STRING;
	out->u.s = cg_str_from_c(t);
	return 0;
}
