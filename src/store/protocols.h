/* APIM API protocols (the URL schemes an API is served over) in their
 * three spellings: CG_MODEL_PROTO_* bits (store, model, gateway), a
 * comma-separated list (CLI, tables) and a JSON array (admin API, APIOps),
 * with one set of refusals for all. */
#ifndef CG_STORE_PROTOCOLS_H
#define CG_STORE_PROTOCOLS_H

#include <jansson.h>
#include <stddef.h>

#include "store/model-t.h"

/* The bit of one name: "http" or "https" (lowercase, as APIM writes them);
 * 0 for any other. */
unsigned cg_store_protocol_bit(const char *name, size_t len);

/* A comma-separated list ("https", "http,https") into bits. Refuses an
 * empty list, an empty item and unknown names: CG_STORE_FAIL_INVALID with
 * a message quoting the input; *out is 0 then. */
int cg_store_parse_protocols(const char *in, unsigned *out, char *err, size_t errlen);

/* A JSON array of names into bits; what names the value in messages
 * ("properties.protocols"). Refuses anything but a non-empty array of
 * known names, as cg_store_parse_protocols. */
int cg_store_protocols_from_json(const json_t *arr, const char *what, unsigned *out, char *err,
				 size_t errlen);

/* The list form of bits: "http", "https", "http,https" (static text; ""
 * for 0). */
const char *cg_store_protocols_text(unsigned protocols);

/* APIM's array form: ["http", "https"] in that order; a new reference,
 * NULL when out of memory. */
json_t *cg_store_protocols_json(unsigned protocols);

#endif
