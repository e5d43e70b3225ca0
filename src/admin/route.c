/* Request paths -> resources. ARM clients (az rest, Terraform, APIOps)
 * send full resource ids; people with curl send short paths. Both name the
 * same resource, so the ARM prefix is recognised and dropped. */
#include <string.h>

#include "admin/admin-int.h"

enum cg_admin_method cg_admin_method_of(struct cg_str m)
{
	if (cg_str_eq_lit(m, "GET"))
		return CG_ADMIN_M_GET;
	if (cg_str_eq_lit(m, "PUT"))
		return CG_ADMIN_M_PUT;
	if (cg_str_eq_lit(m, "DELETE"))
		return CG_ADMIN_M_DELETE;
	if (cg_str_eq_lit(m, "POST"))
		return CG_ADMIN_M_POST;
	if (cg_str_eq_lit(m, "PATCH"))
		return CG_ADMIN_M_PATCH;
	return CG_ADMIN_M_OTHER;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes one segment into out (CG_ADMIN_MAX_NAME_LEN + 1).
 * A decoded '/' or NUL would let a name escape its segment or cut the C
 * string the store sees, so both are refused. */
static int decode_name(struct cg_str s, char *out)
{
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= s.len)
				return -1;
			hi = hexval(s.ptr[i + 1]);
			lo = hexval(s.ptr[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			if (c == '\0' || c == '/')
				return -1;
			i += 2;
		}
		if (n >= CG_ADMIN_MAX_NAME_LEN)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

static bool seg_is(struct cg_str s, const char *word)
{
	return cg_str_ieq(s, cg_str_from_c(word));
}

int cg_admin_route(struct cg_str path, struct cg_admin_route *out, int *status)
{
	struct cg_str seg[CG_ADMIN_MAX_SEGMENTS + 8];
	size_t n = 0;
	memset(out, 0, sizeof(*out));
	*status = 404;
	if (path.len == 0 || path.ptr[0] != '/')
		return -1;
	/* One trailing '/' is dropped ("/apis/" is "/apis"). */
	if (path.len > 1 && path.ptr[path.len - 1] == '/')
		path.len--;
	size_t i = 1;
	while (i <= path.len && path.len > 1) {
		size_t j = i;
		while (j < path.len && path.ptr[j] != '/')
			j++;
		if (j == i)
			return -1; /* "//": no such resource */
		if (n == sizeof(seg) / sizeof(seg[0]))
			return -1;
		seg[n++] = cg_str_make(path.ptr + i, j - i);
		i = j + 1;
	}
	struct cg_str *s = seg;
	/* The ARM prefix; "/subscriptions/{sid}" alone is APIM's subscription
	 * entity, routed below. */
	if (n >= 3 && seg_is(s[0], "subscriptions") && seg_is(s[2], "resourceGroups")) {
		if (n < 8 || !seg_is(s[4], "providers") ||
		    !seg_is(s[5], "Microsoft.ApiManagement") || !seg_is(s[6], "service"))
			return -1;
		s += 8;
		n -= 8;
	}
	if (n == 0 || n > CG_ADMIN_MAX_SEGMENTS)
		return -1;

	/* Names are decoded in place into out; a bad one is the client's
	 * mistake (400), not an unknown resource. */
#define NAME(field, k)                                                                             \
	do {                                                                                       \
		if (decode_name(s[k], out->field) != 0) {                                          \
			*status = 400;                                                     \
			return -1;                                                         \
		}                                                                                  \
	} while (0)

	if (seg_is(s[0], "apis")) {
		if (n == 1) {
			out->res = CG_ADMIN_RES_APIS;
			return 0;
		}
		NAME(api, 1);
		if (n == 2) {
			out->res = CG_ADMIN_RES_API;
			return 0;
		}
		size_t k = 2;
		if (seg_is(s[2], "operations")) {
			if (n == 3) {
				out->res = CG_ADMIN_RES_OPS;
				return 0;
			}
			NAME(op, 3);
			if (n == 4) {
				out->res = CG_ADMIN_RES_OP;
				return 0;
			}
			k = 4;
		}
		if (!seg_is(s[k], "policies"))
			return -1;
		if (n == k + 1) {
			out->res = CG_ADMIN_RES_POLICIES;
			return 0;
		}
		if (n == k + 2 && seg_is(s[k + 1], "policy")) {
			out->res = CG_ADMIN_RES_POLICY;
			return 0;
		}
		return -1;
	}
	if (seg_is(s[0], "products")) {
		if (n == 1) {
			out->res = CG_ADMIN_RES_PRODUCTS;
			return 0;
		}
		NAME(product, 1);
		if (n == 2) {
			out->res = CG_ADMIN_RES_PRODUCT;
			return 0;
		}
		if (seg_is(s[2], "apis")) {
			if (n == 3) {
				out->res = CG_ADMIN_RES_PRODUCT_APIS;
				return 0;
			}
			NAME(api, 3);
			if (n == 4) {
				out->res = CG_ADMIN_RES_PRODUCT_API;
				return 0;
			}
			return -1;
		}
		if (!seg_is(s[2], "policies"))
			return -1;
		if (n == 3) {
			out->res = CG_ADMIN_RES_POLICIES;
			return 0;
		}
		if (n == 4 && seg_is(s[3], "policy")) {
			out->res = CG_ADMIN_RES_POLICY;
			return 0;
		}
		return -1;
	}
	if (seg_is(s[0], "policies")) {
		if (n == 1) {
			out->res = CG_ADMIN_RES_POLICIES;
			return 0;
		}
		if (n == 2 && seg_is(s[1], "policy")) {
			out->res = CG_ADMIN_RES_POLICY;
			return 0;
		}
		return -1;
	}
	static const struct {
		const char *word;
		enum cg_admin_res list, item;
	} simple[] = {
		{ "hostnames", CG_ADMIN_RES_HOSTS, CG_ADMIN_RES_HOST },
		{ "policyFragments", CG_ADMIN_RES_FRAGMENTS, CG_ADMIN_RES_FRAGMENT },
		{ "certificates", CG_ADMIN_RES_CERTS, CG_ADMIN_RES_CERT },
		{ "caCertificates", CG_ADMIN_RES_CAS, CG_ADMIN_RES_CA },
		{ "namedValues", CG_ADMIN_RES_NAMED_VALUES, CG_ADMIN_RES_NAMED_VALUE },
		{ "backends", CG_ADMIN_RES_BACKENDS, CG_ADMIN_RES_BACKEND },
		{ "subscriptions", CG_ADMIN_RES_SUBS, CG_ADMIN_RES_SUB },
	};
	for (size_t t = 0; t < sizeof(simple) / sizeof(simple[0]); t++) {
		if (!seg_is(s[0], simple[t].word))
			continue;
		if (n == 1) {
			out->res = simple[t].list;
			return 0;
		}
		NAME(name, 1);
		if (n == 2) {
			out->res = simple[t].item;
			return 0;
		}
		if (n == 3 && simple[t].item == CG_ADMIN_RES_NAMED_VALUE &&
		    seg_is(s[2], "listValue")) {
			out->res = CG_ADMIN_RES_NAMED_VALUE_LIST;
			return 0;
		}
		if (n == 3 && simple[t].item == CG_ADMIN_RES_SUB &&
		    (seg_is(s[2], "listSecrets") || seg_is(s[2], "regeneratePrimaryKey") ||
		     seg_is(s[2], "regenerateSecondaryKey"))) {
			out->res = CG_ADMIN_RES_SUB_ACTION;
			out->action = seg_is(s[2], "listSecrets")	     ? CG_ADMIN_SUB_LIST_SECRETS
				      : seg_is(s[2], "regeneratePrimaryKey") ? CG_ADMIN_SUB_REGEN_PRIMARY
									     : CG_ADMIN_SUB_REGEN_SECONDARY;
			return 0;
		}
		return -1;
	}
#undef NAME
	return -1;
}
