/* Shared by the gw unit tests that run policies: a one-hostname,
 * one-API snapshot built from policy text, and a request ready to run. */
#ifndef CG_TEST_GW_PIPE_HELPERS_H
#define CG_TEST_GW_PIPE_HELPERS_H

#include "gw/pipeline.h"
#include "gw/snapshot.h"

#include "gw/pki.h"

static struct cg_model_host host = { "a.test", cert_pem, key_pem, false, true };
static struct cg_model_api api = { "api", "API", "api", "http://127.0.0.1:1/base", NULL, 0, false, NULL, NULL, CG_MODEL_PROTO_ALL };

/* Uploaded certificates of the snapshots build() makes (none by default). */
static struct cg_model_cert *pt_certs;
static size_t pt_num_certs;

/* Builds a snapshot whose global policy is text (rawxml). */
static __attribute__((unused)) struct cg_snapshot *build(const char *global, const char *api_policy, char *err, size_t errlen)
{
	struct cg_model m = { 0 };
	struct cg_model_policy pols[2];
	size_t n = 0;
	if (global)
		pols[n++] = (struct cg_model_policy){ CG_MODEL_POLICY_GLOBAL, NULL, NULL, "rawxml", global, NULL };
	if (api_policy)
		pols[n++] = (struct cg_model_policy){ CG_MODEL_POLICY_API, "api", NULL, "rawxml", api_policy, NULL };
	m.hosts = &host;
	m.num_hosts = 1;
	m.apis = &api;
	m.num_apis = 1;
	m.policies = pols;
	m.num_policies = n;
	m.certs = pt_certs;
	m.num_certs = pt_num_certs;
	return cg_snapshot_build(&m, 1, err, errlen);
}

struct run {
	struct cg_arena arena;
	struct cg_pipe p;
	enum cg_pipe_rc rc;
};

/* A GET /x request with Host, X-Key and the name/value pairs of extra
 * (NULL-terminated, may be NULL), ready to run. */
static __attribute__((unused)) void prepare(struct run *r, const struct cg_pipeline *pl, const char *const *extra)
{
	cg_arena_init(&r->arena, 4096, 0);
	assert_int_equal(cg_pipe_init(&r->p, &r->arena, pl), 0);
	r->p.method = CG_STR("GET");
	r->p.path = CG_STR("/x");
	r->p.reqv.method = CG_STR("GET");
	r->p.reqv.ip_address = CG_STR("10.1.2.3");
	r->p.apiv.id = CG_STR("api");
	cg_hlist_add(&r->p.req_hdrs, &r->arena, CG_STR("Host"), CG_STR("a.test"));
	cg_hlist_add(&r->p.req_hdrs, &r->arena, CG_STR("X-Key"), CG_STR("secret"));
	for (size_t i = 0; extra && extra[i]; i += 2)
		cg_hlist_add(&r->p.req_hdrs, &r->arena, cg_str_from_c(extra[i]), cg_str_from_c(extra[i + 1]));
	r->p.reqv.headers.items = r->p.req_hdrs.items;
	r->p.reqv.headers.n = r->p.req_hdrs.n;
}

/* The value of the first header named name in l (NUL-terminated copy in a
 * static buffer), or NULL. */
static __attribute__((unused)) const char *hval(const struct cg_hlist *l, const char *name)
{
	static char buf[256];
	const struct cg_expr_header *h = cg_hlist_find(l, cg_str_from_c(name));
	if (!h)
		return NULL;
	snprintf(buf, sizeof(buf), "%.*s", CG_STR_FMT(h->value));
	return buf;
}

static __attribute__((unused)) struct cg_snapshot *build_ok(const char *inbound)
{
	char err[512], text[2048];
	snprintf(text, sizeof(text),
		 "<policies><inbound>%s</inbound><backend><forward-request/></backend><outbound/><on-error/>"
		 "</policies>",
		 inbound);
	struct cg_snapshot *s = build(text, NULL, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	return s;
}

#endif
