/* Prometheus names for emit-metric's metric names, namespaces and
 * dimensions (docs/policies.md, "emit-metric"). The loader uses it to
 * refuse names that cannot become a metric or label name and dimensions
 * that would share a label; the gateway uses it to name what it exposes. */
#include <string.h>

#include "policy/policy.h"

static bool alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

size_t cg_pol_metric_name(struct cg_str in, char *out, size_t cap)
{
	size_t k = 0;
	bool gap = false;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < in.len; i++) {
		unsigned char c = (unsigned char)in.ptr[i];
		if (!alnum(c)) {
			gap = k > 0; /* a run of other bytes is one '_', none at the start */
			continue;
		}
		/* a label name cannot start with a digit: "_1st" */
		bool lead = k == 0 && c >= '0' && c <= '9';
		if (k + (gap || lead ? 2 : 1) + 1 > cap)
			return 0;
		if (gap || lead)
			out[k++] = '_';
		gap = false;
		out[k++] = (char)cg_ascii_lower(c);
	}
	out[k] = '\0';
	return k;
}

enum cg_pol_metric_dim cg_pol_metric_dim(struct cg_str name)
{
	static const struct {
		const char *name;
		enum cg_pol_metric_dim dim;
	} dims[] = {
		{ "API ID", CG_POL_DIM_API_ID },
		{ "Operation ID", CG_POL_DIM_OPERATION_ID },
		{ "Product ID", CG_POL_DIM_PRODUCT_ID },
		{ "User ID", CG_POL_DIM_USER_ID },
		{ "Subscription ID", CG_POL_DIM_SUBSCRIPTION_ID },
		{ "Location", CG_POL_DIM_LOCATION },
		{ "Location ID", CG_POL_DIM_LOCATION },
		{ "Gateway ID", CG_POL_DIM_GATEWAY_ID },
		{ "Backend ID", CG_POL_DIM_BACKEND_ID },
	};
	for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++)
		if (cg_str_ieq(name, cg_str_from_c(dims[i].name)))
			return dims[i].dim;
	return CG_POL_DIM_CUSTOM;
}
