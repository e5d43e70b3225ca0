/* API protocols: names, lists and JSON arrays to bits and back. */
#include "store/protocols.h"

#include <stdio.h>
#include <string.h>

#include "store/store-t.h"

#define QUOTE_MAX 64 /* bytes of a bad input quoted in a message */

unsigned cg_store_protocol_bit(const char *name, size_t len)
{
	if (len == 4 && memcmp(name, "http", 4) == 0)
		return CG_MODEL_PROTO_HTTP;
	if (len == 5 && memcmp(name, "https", 5) == 0)
		return CG_MODEL_PROTO_HTTPS;
	return 0;
}

static int unknown(const char *what, const char *name, size_t len, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: unknown protocol '%.*s%s' (APIs are served over http and https)",
		 what, (int)(len > QUOTE_MAX ? QUOTE_MAX : len), name, len > QUOTE_MAX ? "..." : "");
	return CG_STORE_FAIL_INVALID;
}

static int empty(const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: at least one protocol is needed: https, http or http,https", what);
	return CG_STORE_FAIL_INVALID;
}

static int not_array(const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "%s must be a non-empty array of protocol names: [\"https\"], [\"http\"] or "
		 "[\"http\", \"https\"]",
		 what);
	return CG_STORE_FAIL_INVALID;
}

int cg_store_parse_protocols(const char *in, unsigned *out, char *err, size_t errlen)
{
	*out = 0;
	for (const char *p = in;;) {
		size_t n = strcspn(p, ",");
		unsigned bit = cg_store_protocol_bit(p, n);
		if (!bit) {
			*out = 0;
			return n ? unknown("protocols", p, n, err, errlen)
				 : empty("protocols (an empty name)", err, errlen);
		}
		*out |= bit;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

int cg_store_protocols_from_json(const json_t *arr, const char *what, unsigned *out, char *err,
				 size_t errlen)
{
	*out = 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return not_array(what, err, errlen);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *v = json_array_get(arr, i);
		unsigned bit = json_is_string(v) ? cg_store_protocol_bit(json_string_value(v),
									 json_string_length(v))
						 : 0;
		if (!bit) {
			*out = 0;
			return json_is_string(v) ? unknown(what, json_string_value(v),
							   json_string_length(v), err, errlen)
						 : not_array(what, err, errlen);
		}
		*out |= bit;
	}
	return 0;
}

const char *cg_store_protocols_text(unsigned protocols)
{
	switch (protocols & CG_MODEL_PROTO_ALL) {
	case CG_MODEL_PROTO_HTTP:
		return "http";
	case CG_MODEL_PROTO_HTTPS:
		return "https";
	case CG_MODEL_PROTO_ALL:
		return "http,https";
	default:
		return "";
	}
}

json_t *cg_store_protocols_json(unsigned protocols)
{
	json_t *j = json_array();
	if (j && (((protocols & CG_MODEL_PROTO_HTTP) &&
		   json_array_append_new(j, json_string("http")) != 0) ||
		  ((protocols & CG_MODEL_PROTO_HTTPS) &&
		   json_array_append_new(j, json_string("https")) != 0))) {
		json_decref(j);
		return NULL;
	}
	return j;
}
