/* Policy-engine microbenchmark (issue 6 item 4): nanoseconds per evaluation
 * of each of the four guide policies (plus their combination with a
 * set-header), with 1 and with 10,000 uploaded certificates, through the
 * same code the gateway runs per request: snapshot build (loader, engine,
 * steps), then cg_pipe_init + inbound + backend over a filled request view.
 *
 *   build/policy_bench [--iterations N] [--certs N]
 * Prints one line per (policy, certificate count): ns/eval (median of 7
 * runs), the outcome, and the engine's step count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expr/ctx.h"
#include "gw/pipeline.h"
#include "gw/snapshot.h"
#include "tls/tls.h"

#include "bench_util.h"

static const char *const names[] = { "1 NotAfter", "2 Issuer+Subject", "3 Thumbprint", "4 Certificates.Any",
				     "all four + set-header" };
static const char *const conds[] = {
	"@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)",
	"@(context.Request.Certificate == null || context.Request.Certificate.Issuer != \"CN=bench CA\" || "
	"context.Request.Certificate.SubjectName.Name != \"CN=bench client\")",
	"@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != "
	"\"0123456789ABCDEF0123456789ABCDEF01234567\")",
	"@(context.Request.Certificate == null || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == "
	"context.Request.Certificate.Thumbprint))",
};

static char *policy_text(int which)
{
	static char buf[8192];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "<policies><inbound>");
	for (int i = 0; i < 4; i++) {
		if (which != 4 && which != i)
			continue;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "<choose><when condition=\"%s\"><return-response><set-status code=\"403\" "
				      "reason=\"Invalid client certificate\" /></return-response></when></choose>",
				      conds[i]);
	}
	if (which == 4)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "<set-header name=\"X-Client-Thumbprint\" exists-action=\"override\"><value>"
				      "@(context.Request.Certificate.Thumbprint)</value></set-header>");
	snprintf(buf + n, sizeof(buf) - n,
		 "</inbound><backend><forward-request /></backend><outbound /><on-error /></policies>");
	return buf;
}

int main(int argc, char **argv)
{
	long iters = 200000, maxcerts = 10000;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--iterations") == 0)
			iters = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--certs") == 0)
			maxcerts = atol(argv[i + 1]);
	}
	cg_tls_global_init();
	/* A server certificate for the snapshot's hostname. */
	char *cert, *key;
	if (!bench_server_cert("policy_bench", &cert, &key))
		return 1;
	struct cg_model_host host = { "bench.test", cert, key, true, true };
	struct cg_model_api api = { "b", "B", "", "http://127.0.0.1:9", NULL, 0, false, NULL, NULL, CG_MODEL_PROTO_ALL };

	/* The client certificate the request presents, and the uploaded ones:
	 * the client's plus fillers with random thumbprints. */
	struct cg_expr_cert client;
	memset(&client, 0, sizeof(client));
	client.thumbprint = CG_STR("0123456789ABCDEF0123456789ABCDEF01234567");
	client.subject = CG_STR("CN=bench client");
	client.issuer = CG_STR("CN=bench CA");
	client.not_after = cg_expr_ticks_from_unix(4102444800LL);
	client.version = 3;
	struct cg_arena ta;
	cg_arena_init(&ta, 1 << 20, 0);
	struct cg_expr_cert *fill = cg_arena_zalloc(&ta, sizeof(*fill) * (size_t)maxcerts);
	const struct cg_expr_cert **all = cg_arena_zalloc(&ta, sizeof(*all) * (size_t)maxcerts);
	srand(42);
	for (long i = 0; i < maxcerts; i++) {
		char *t = cg_arena_alloc(&ta, 41);
		for (int k = 0; k < 40; k++)
			t[k] = "0123456789ABCDEF"[rand() & 15];
		t[40] = '\0';
		fill[i] = client;
		fill[i].thumbprint = cg_str_make(t, 40);
		all[i] = &fill[i];
	}
	all[maxcerts - 1] = &client; /* the client is the last one uploaded */

	printf("%-24s %8s %12s %10s %8s\n", "policy", "certs", "ns/eval", "outcome", "steps");
	long counts[] = { 1, maxcerts };
	for (int which = 0; which < 5; which++) {
		struct cg_model_policy pol = { CG_MODEL_POLICY_GLOBAL, NULL, NULL, "rawxml", policy_text(which), NULL };
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
			fprintf(stderr, "policy_bench: %s\n", err);
			return 1;
		}
		for (int ci = 0; ci < 2; ci++) {
			struct cg_expr_cert_table table;
			if (cg_expr_cert_table_build(&ta, all + (maxcerts - counts[ci]), (uint32_t)counts[ci],
						     &table) != 0)
				return 1;
			struct cg_arena ra;
			cg_arena_init(&ra, 16384, 0);
			double runs[7];
			enum cg_pipe_rc rc = CG_PIPE_CONTINUE;
			uint64_t steps = 0;
			for (int run = 0; run < 7; run++) {
				double t0 = bench_now_ns();
				for (long it = 0; it < iters; it++) {
					struct cg_pipe p;
					cg_pipe_init(&p, &ra, s->apis[0]->pipeline);
					p.method = CG_STR("GET");
					p.path = CG_STR("/x");
					p.reqv.method = CG_STR("GET");
					p.reqv.certificate = &client;
					p.depv.certificates = &table;
					rc = cg_pipe_run(&p, CG_POL_INBOUND);
					if (rc == CG_PIPE_CONTINUE)
						rc = cg_pipe_run(&p, CG_POL_BACKEND);
					steps = p.ectx.steps;
					cg_arena_reset(&ra);
				}
				runs[run] = (bench_now_ns() - t0) / (double)iters;
			}
			qsort(runs, 7, sizeof(runs[0]), bench_cmp_double);
			printf("%-24s %8ld %12.1f %10s %8llu\n", names[which], counts[ci], runs[3],
			       rc == CG_PIPE_CONTINUE ? "forward" : rc == CG_PIPE_RESPOND ? "403" : "error",
			       (unsigned long long)steps);
			cg_arena_destroy(&ra);
		}
		cg_snapshot_unref(s);
	}
	cg_arena_destroy(&ta);
	free(key);
	free(cert);
	return 0;
}
