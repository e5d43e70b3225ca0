/* Snapshot build cost with products: P products that each hold the same A
 * APIs of O operations. A product with a policy compiles its own pipeline
 * per (API, operation): P x A x (O + 1) chains; a product without one
 * reuses the API's (docs/subscriptions.md). Prints the build time and the
 * process's resident memory growth per snapshot, with and without product
 * policies.
 *
 *   build/products_bench [--products P] [--apis A] [--ops O] [--every-doc]
 *
 * --every-doc gives every API and operation its own document too: the worst
 * case, where no chain can be shared (P x A x (O + 1) compiles).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw/snapshot.h"
#include "tls/tls.h"

#include "bench_util.h"

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static const char policy_text[] =
	"<policies><inbound><base /><set-header name=\"X-Plan\" exists-action=\"override\">"
	"<value>@(context.Product.Name)</value></set-header></inbound><backend><base /></backend>"
	"<outbound><base /></outbound><on-error><base /></on-error></policies>";

int main(int argc, char **argv)
{
	long np = 100, na = 100, no = 10;
	bool every = false;
	for (int i = 1; i < argc; i++) {
		const char *val = i + 1 < argc ? argv[i + 1] : "0";
		if (strcmp(argv[i], "--every-doc") == 0)
			every = true;
		else if (strcmp(argv[i], "--products") == 0)
			np = atol(val), i++;
		else if (strcmp(argv[i], "--apis") == 0)
			na = atol(val), i++;
		else if (strcmp(argv[i], "--ops") == 0)
			no = atol(val), i++;
	}
	cg_tls_global_init();
	char *cert, *key;
	if (!bench_server_cert("products_bench", &cert, &key))
		return 1;
	struct cg_model_host host = { "bench.test", cert, key, true, true };
	struct cg_model_api *apis = calloc((size_t)na, sizeof(*apis));
	struct cg_model_op *ops = calloc((size_t)no, sizeof(*ops));
	struct cg_model_product *products = calloc((size_t)np, sizeof(*products));
	size_t npols = (size_t)np + (every ? (size_t)(na * (no + 1)) : 0);
	struct cg_model_policy *pols = calloc(npols, sizeof(*pols));
	const char **ids = calloc((size_t)na, sizeof(*ids));
	char(*names)[24] = calloc((size_t)(na + np + no), sizeof(*names));
	if (!apis || !ops || !products || !pols || !ids || !names)
		return 1;
	for (long k = 0; k < no; k++) {
		snprintf(names[na + np + k], 24, "/op%ld", k);
		ops[k] = (struct cg_model_op){ names[na + np + k] + 1, NULL, "GET", names[na + np + k] };
	}
	for (long i = 0; i < na; i++) {
		snprintf(names[i], 24, "api%06ld", i); /* ids sorted bytewise, as the store gives them */
		apis[i] = (struct cg_model_api){ names[i], names[i], names[i], "http://127.0.0.1:9", ops,
						 (size_t)no, false, NULL, NULL, CG_MODEL_PROTO_ALL };
		ids[i] = names[i];
	}
	for (long p = 0; p < np; p++) {
		snprintf(names[na + p], 24, "prod%06ld", p);
		products[p] = (struct cg_model_product){ names[na + p], names[na + p], "", true, false, -1,
							 true, ids, (size_t)na, "2026-01-01T00:00:00Z" };
		pols[p] = (struct cg_model_policy){ CG_MODEL_POLICY_PRODUCT, NULL, NULL, "rawxml", policy_text,
						    names[na + p] };
	}
	for (size_t i = 0, at = (size_t)np; at < npols; i++) {
		pols[at++] = (struct cg_model_policy){ CG_MODEL_POLICY_API, names[i], NULL, "rawxml", policy_text, NULL };
		for (long k = 0; k < no; k++)
			pols[at++] = (struct cg_model_policy){ CG_MODEL_POLICY_OPERATION, names[i], ops[k].id,
							       "rawxml", policy_text, NULL };
	}
	for (int with = 0; with < 2; with++) {
		struct cg_model m = { 0 };
		m.hosts = &host;
		m.num_hosts = 1;
		m.apis = apis;
		m.num_apis = (size_t)na;
		m.products = products;
		m.num_products = (size_t)np;
		m.policies = with ? pols : NULL;
		m.num_policies = with ? npols : 0;
		char err[512];
		long before = rss_kb();
		double t0 = bench_now_ns();
		struct cg_snapshot *s = cg_snapshot_build(&m, 1, err, sizeof(err));
		double ms = (bench_now_ns() - t0) / 1e6;
		if (!s) {
			fprintf(stderr, "products_bench: %s\n", err);
			return 1;
		}
		printf("%ld products x %ld APIs x %ld operations, product policies %-3s: build %8.1f ms, "
		       "RSS +%ld kB\n", np, na, no, with ? "yes" : "no", ms, rss_kb() - before);
		cg_snapshot_unref(s);
	}
	free(apis), free(ops), free(products), free(pols), free(ids), free(names);
	free(cert), free(key);
	return 0;
}
