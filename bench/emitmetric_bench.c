/* emit-metric microbenchmark (src/gw/emitmetric.c): nanoseconds per
 * inbound run of a policy with one emit-metric, through the code the
 * gateway runs per request (snapshot build, then cg_pipe_init + inbound),
 * minus nothing: a set-variable policy is printed as the baseline.
 * Cases: one default dimension (API ID); three dimensions (API ID, the
 * client IP out of 500 per thread, the certificate's subject); the same
 * with 100,000 IPs per thread, past the cap of 1,000 series (nearly all
 * folded into the overflow series). 1 and 2 threads on one snapshot (the
 * threads share the metric's shards). The baseline runs a snprintf of
 * the IP too.
 *
 *   build/emitmetric_bench [--iterations N]
 * Prints ns/run per case and thread count (median of 7 runs). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr/ctx.h"
#include "gw/emitmetric.h"
#include "gw/pipeline.h"
#include "gw/snapshot.h"
#include "tls/tls.h"

#include "bench_util.h"

static long iters = 200000;

static const char *const names[] = { "set-variable (baseline)", "emit-metric, API ID", "emit-metric, 3 dims",
				     "3 dims, past the cap" };
static const char *const policies[] = {
	"<set-variable name=\"x\" value=\"1\" />",
	"<emit-metric name=\"r\"><dimension name=\"API ID\" /></emit-metric>",
	"<emit-metric name=\"r3\" namespace=\"Contoso\"><dimension name=\"API ID\" />"
	"<dimension name=\"Client IP\" value=\"@(context.Request.IpAddress)\" />"
	"<dimension name=\"Caller\" value=\"@(context.Request.Certificate.Subject)\" /></emit-metric>",
	"<emit-metric name=\"r4\" namespace=\"Contoso\"><dimension name=\"API ID\" />"
	"<dimension name=\"Client IP\" value=\"@(context.Request.IpAddress)\" />"
	"<dimension name=\"Caller\" value=\"@(context.Request.Certificate.Subject)\" /></emit-metric>",
};

/* Client IPs: 500 per thread (two threads stay under the default cap of
 * 1,000 per metric), or 100,000 (past it: nearly all folded). */
static int ips_per_thread = 500;

struct job {
	const struct cg_pipeline *pl;
	int thread;
	double ns;
};

static void *work(void *arg)
{
	struct job *j = arg;
	struct cg_expr_cert client;
	memset(&client, 0, sizeof(client));
	client.thumbprint = CG_STR("0123456789ABCDEF0123456789ABCDEF01234567");
	client.subject = CG_STR("CN=bench client, O=bench");
	char ip[24];
	struct cg_arena ra;
	cg_arena_init(&ra, 16384, 0);
	double t0 = bench_now_ns();
	for (long it = 0; it < iters; it++) {
		struct cg_pipe p;
		cg_pipe_init(&p, &ra, j->pl);
		p.method = CG_STR("GET");
		p.path = CG_STR("/x");
		p.reqv.method = CG_STR("GET");
		int k = (int)(it % ips_per_thread);
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", j->thread, k / 256, k % 256);
		p.reqv.ip_address = cg_str_from_c(ip);
		p.reqv.certificate = &client;
		p.apiv.id = CG_STR("b");
		if (cg_pipe_run(&p, CG_POL_INBOUND) != CG_PIPE_CONTINUE) {
			fprintf(stderr, "emitmetric_bench: the policy failed\n");
			exit(1);
		}
		cg_arena_reset(&ra);
	}
	j->ns = (bench_now_ns() - t0) / (double)iters;
	cg_arena_destroy(&ra);
	return NULL;
}

static double measure(const struct cg_pipeline *pl, int threads)
{
	double runs[7];
	for (int run = 0; run < 7; run++) {
		pthread_t t[2];
		struct job jobs[2];
		double sum = 0;
		for (int i = 0; i < threads; i++) {
			jobs[i] = (struct job){ pl, i, 0 };
			pthread_create(&t[i], NULL, work, &jobs[i]);
		}
		for (int i = 0; i < threads; i++) {
			pthread_join(t[i], NULL);
			sum += jobs[i].ns;
		}
		runs[run] = sum / threads;
	}
	qsort(runs, 7, sizeof(runs[0]), bench_cmp_double);
	return runs[3];
}

int main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], "--iterations") == 0)
			iters = atol(argv[i + 1]);
	cg_tls_global_init();
	char *cert, *key;
	if (!bench_server_cert("emitmetric_bench", &cert, &key))
		return 1;
	struct cg_model_host host = { "bench.test", cert, key, true, true };
	struct cg_model_api api = { "b", "B", "", "http://127.0.0.1:9", NULL, 0, false, NULL, NULL, CG_MODEL_PROTO_ALL };
	printf("%-26s %8s %10s\n", "policy", "threads", "ns/run");
	for (size_t which = 0; which < sizeof(policies) / sizeof(policies[0]); which++) {
		char text[2048];
		snprintf(text, sizeof(text), "<policies><inbound>%s</inbound><backend><forward-request /></backend>"
					     "</policies>", policies[which]);
		struct cg_model_policy pol = { CG_MODEL_POLICY_GLOBAL, NULL, NULL, "rawxml", text, NULL };
		struct cg_model m = { 0 };
		m.hosts = &host;
		m.num_hosts = 1;
		m.apis = &api;
		m.num_apis = 1;
		m.policies = &pol;
		m.num_policies = 1;
		char err[1024];
		struct cg_snapshot *s = cg_snapshot_build(&m, 1, err, sizeof(err));
		if (!s) {
			fprintf(stderr, "emitmetric_bench: %s\n", err);
			return 1;
		}
		ips_per_thread = which == 3 ? 100000 : 500;
		for (int threads = 1; threads <= 2; threads++)
			printf("%-26s %8d %10.1f\n", names[which], threads, measure(s->apis[0]->pipeline, threads));
		cg_snapshot_unref(s);
	}
	struct cg_emetric_stats st;
	cg_emetric_stats(&st);
	printf("series: %llu, folded: %llu\n", (unsigned long long)st.series, (unsigned long long)st.folded);
	free(key);
	free(cert);
	return 0;
}
