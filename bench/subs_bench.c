/* Subscription-key check microbenchmark: nanoseconds per cg_sub_check (the
 * work every routed request does before its policies) with 1 and with
 * 100,000 subscriptions in the snapshot, for a request without a key on an
 * API that needs none, a valid header key, a valid query key, a key of a
 * subscription to a product that holds the API (its membership is one
 * more binary search), and an unknown key. Ten typical request headers
 * precede the key header. The product subscription is one of the N.
 *
 *   build/subs_bench [--iterations N] [--subs N]
 * Prints one line per (case, subscription count): ns/check, median of 7
 * runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw/snapshot.h"
#include "gw/subs.h"
#include "tls/tls.h"

#include "bench_util.h"

#define NHDR 11

struct bcase {
	const char *name;
	const char *api;
	const char *key_header; /* value of Ocp-Apim-Subscription-Key, or NULL */
	const char *query;
	enum cg_sub_check want;
};

static const struct bcase cases[] = {
	{ "open API, no key", "open", NULL, "a=1&b=2", CG_SUB_OK },
	{ "header key", "paid", "k-00000001-primary", "a=1&b=2", CG_SUB_OK },
	{ "query key", "paid", NULL, "a=1&subscription-key=k-00000001-secondary", CG_SUB_OK },
	{ "product key", "paid", "k-product-primary", "a=1&b=2", CG_SUB_OK },
	{ "unknown key", "paid", "k-99999999-primary", "", CG_SUB_INVALID },
};

static double run_case(const struct cg_snapshot *s, const struct bcase *bc, long iters)
{
	static const char *const names[NHDR - 1] = { "Host",	     "User-Agent", "Accept",
						     "Accept-Encoding", "Accept-Language", "Connection",
						     "Cache-Control", "X-Request-Id", "Traceparent",
						     "Content-Type" };
	struct cg_h1_header h[NHDR];
	size_t n = 0;
	for (; n < NHDR - 1; n++)
		h[n] = (struct cg_h1_header){ cg_str_from_c(names[n]), CG_STR("some value") };
	if (bc->key_header)
		h[n++] = (struct cg_h1_header){ CG_STR("Ocp-Apim-Subscription-Key"),
						cg_str_from_c(bc->key_header) };
	const struct cg_rt_api *api = NULL;
	for (size_t i = 0; i < s->num_apis; i++)
		if (cg_str_eq(s->apis[i]->id, cg_str_from_c(bc->api)))
			api = s->apis[i];
	double runs[7];
	for (int r = 0; r < 7; r++) {
		double t0 = bench_now_ns();
		for (long i = 0; i < iters; i++) {
			const struct cg_rt_sub *sub;
			struct cg_str key;
			if (cg_sub_check(s, api, h, n, cg_str_from_c(bc->query), 1800000000, &sub, &key) !=
			    bc->want) {
				fprintf(stderr, "subs_bench: %s: unexpected result\n", bc->name);
				exit(1);
			}
		}
		runs[r] = (bench_now_ns() - t0) / (double)iters;
	}
	qsort(runs, 7, sizeof(runs[0]), bench_cmp_double);
	return runs[3];
}

int main(int argc, char **argv)
{
	long iters = 1000000, maxsubs = 100000;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--iterations") == 0)
			iters = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--subs") == 0)
			maxsubs = atol(argv[i + 1]);
	}
	cg_tls_global_init();
	char *cert, *key;
	if (!bench_server_cert("subs_bench", &cert, &key))
		return 1;
	struct cg_model_host host = { "bench.test", cert, key, true, true };
	struct cg_model_api apis[] = {
		{ "open", "Open", "open", "http://127.0.0.1:9", NULL, 0, false, NULL, NULL, CG_MODEL_PROTO_ALL },
		{ "paid", "Paid", "paid", "http://127.0.0.1:9", NULL, 0, true, NULL, NULL, CG_MODEL_PROTO_ALL },
	};
	/* A product holding "paid"; subs[1] is scoped to it. */
	static const char *gold_apis[] = { "paid" };
	struct cg_model_product gold = { "gold", "Gold", "", true, false, -1, true,
					 gold_apis, 1, "2026-01-01T00:00:00Z" };
	if (maxsubs < 2)
		maxsubs = 2;
	struct cg_model_sub *subs = calloc((size_t)maxsubs, sizeof(*subs));
	char(*txt)[3][40] = calloc((size_t)maxsubs, sizeof(*txt));
	if (!subs || !txt)
		return 1;
	for (long i = 0; i < maxsubs; i++) {
		snprintf(txt[i][0], 40, "s%ld", i + 1);
		snprintf(txt[i][1], 40, "k-%08ld-primary", i + 1);
		snprintf(txt[i][2], 40, "k-%08ld-secondary", i + 1);
		subs[i] = (struct cg_model_sub){ txt[i][0], txt[i][0], NULL, "active", txt[i][1],
						 txt[i][2], NULL, "2026-01-01T00:00:00Z", NULL };
	}
	subs[1].primary_key = "k-product-primary";
	subs[1].scope_product = "gold";
	long counts[2] = { 2, maxsubs };
	for (int c = 0; c < 2; c++) {
		struct cg_model m = { 0 };
		m.hosts = &host;
		m.num_hosts = 1;
		m.apis = apis;
		m.num_apis = 2;
		m.subs = subs;
		m.num_subs = (size_t)counts[c];
		m.products = &gold;
		m.num_products = 1;
		char err[512];
		struct cg_snapshot *s = cg_snapshot_build(&m, 1, err, sizeof(err));
		if (!s) {
			fprintf(stderr, "subs_bench: %s\n", err);
			return 1;
		}
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
			printf("%-18s %7ld subscriptions  %7.1f ns/check\n", cases[k].name, counts[c],
			       run_case(s, &cases[k], iters));
		cg_snapshot_unref(s);
	}
	free(subs);
	free(txt);
	free(cert);
	free(key);
	return 0;
}
