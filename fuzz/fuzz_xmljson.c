/* Fuzzes the json-to-xml and xml-to-json converters (src/gw/xmljson.c):
 * the first byte picks the direction and options, the rest is the body.
 * Must never crash, leak or hang; a JSON -> XML result is converted back
 * to JSON, which must succeed (the converter's XML is always well-formed). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/arena.h"
#include "gw/xmljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	uint8_t sel = data[0];
	struct cg_str in = cg_str_make((const char *)data + 1, size - 1);
	struct cg_arena a;
	cg_arena_init(&a, 4096, 0);
	struct cg_str out;
	char err[400];
	if (sel & 1) {
		struct cg_xj_x2j_opts o = { sel & 2 ? CG_XJ_DIRECT : CG_XJ_JS_FRIENDLY, (sel & 4) != 0 };
		(void)cg_xj_xml_to_json(in, &o, 1 << 20, &a, &out, err, sizeof(err));
	} else {
		struct cg_xj_j2x_opts o = { sel & 2 ? ':' : '_', sel & 4 ? CG_STR("xmlns") : CG_STR(""),
					    sel & 8 ? CG_STR("#attrs") : CG_STR("") };
		struct cg_xj_x2j_opts back = { CG_XJ_DIRECT, false };
		struct cg_str json;
		if (cg_xj_json_to_xml(in, &o, 1 << 20, &a, &out, err, sizeof(err)) == CG_XJ_OK &&
		    cg_xj_xml_to_json(out, &back, 1 << 22, &a, &json, err, sizeof(err)) != CG_XJ_OK)
			abort();
	}
	cg_arena_destroy(&a);
	return 0;
}
