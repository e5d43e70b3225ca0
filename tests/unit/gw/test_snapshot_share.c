/* Which compiled pipelines a snapshot shares (src/gw/snapshot.c): a chain
 * of documents that comes out the same is compiled once. An operation
 * without a document runs its API's pipeline; in a product with a policy,
 * an operation without a document runs the product-API pipeline, and the
 * APIs without documents share one global + product pipeline. Chains that
 * differ never share. (Behaviour through the gateway is covered by the
 * integration tests; this pins the memory bound: products x APIs x
 * operations pipelines only where documents differ.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gw/snapshot.h"
#include "tls/tls.h"

#include "gw/pki.h"

#define DOC(x)                                                                                    \
	"<policies><inbound><base /><set-header name=\"X-" x "\" exists-action=\"override\">"     \
	"<value>1</value></set-header></inbound><backend><base /></backend><outbound><base />" \
	"</outbound><on-error><base /></on-error></policies>"

static struct cg_model_host host = { "a.test", cert_pem, key_pem, false, true };
static struct cg_model_op ops[] = { { "plain", NULL, "GET", "/plain" }, { "own", NULL, "GET", "/own" } };
static struct cg_model_api apis[] = {
	{ "bare", "Bare", "bare", "http://127.0.0.1:2", ops, 2, false, NULL, NULL, CG_MODEL_PROTO_ALL },
	{ "bare2", "Bare2", "bare2", "http://127.0.0.1:2", NULL, 0, false, NULL, NULL, CG_MODEL_PROTO_ALL },
	{ "doc", "Doc", "doc", "http://127.0.0.1:3", ops, 2, false, NULL, NULL, CG_MODEL_PROTO_ALL },
};
static const char *gold_apis[] = { "bare", "bare2", "doc" };
static const char *tin_apis[] = { "bare", "doc" };
static struct cg_model_product products[] = {
	{ "gold", "Gold", "", true, false, -1, true, gold_apis, 3, "2026-01-01T00:00:00Z" },
	{ "tin", "Tin", "", true, false, -1, true, tin_apis, 2, "2026-01-01T00:00:00Z" },
};
static struct cg_model_policy pols[] = {
	{ CG_MODEL_POLICY_GLOBAL, NULL, NULL, "rawxml", DOC("G"), NULL },
	{ CG_MODEL_POLICY_API, "doc", NULL, "rawxml", DOC("A"), NULL },
	{ CG_MODEL_POLICY_OPERATION, "bare", "own", "rawxml", DOC("O"), NULL },
	{ CG_MODEL_POLICY_OPERATION, "doc", "own", "rawxml", DOC("O"), NULL },
	{ CG_MODEL_POLICY_PRODUCT, NULL, NULL, "rawxml", DOC("P"), "gold" },
};

static const struct cg_rt_api *api_of(const struct cg_snapshot *s, const char *id)
{
	for (size_t i = 0; i < s->num_apis; i++)
		if (cg_str_eq(s->apis[i]->id, cg_str_from_c(id)))
			return s->apis[i];
	fail_msg("no api %s", id);
	return NULL;
}

static const struct cg_rt_product_api *in_product(const struct cg_rt_product *p, const char *id)
{
	for (size_t i = 0; i < p->num_apis; i++)
		if (cg_str_eq(p->apis[i].api->id, cg_str_from_c(id)))
			return &p->apis[i];
	fail_msg("no api %s in the product", id);
	return NULL;
}

static void test_shared_pipelines(void **state)
{
	struct cg_model m = { 0 };
	m.hosts = &host;
	m.num_hosts = 1;
	m.apis = apis;
	m.num_apis = 3;
	m.products = products;
	m.num_products = 2;
	m.policies = pols;
	m.num_policies = sizeof(pols) / sizeof(pols[0]);
	char err[512];
	struct cg_snapshot *s = cg_snapshot_build(&m, 1, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);

	/* without products: an operation without a document runs its API's */
	const struct cg_rt_api *bare = api_of(s, "bare"), *doc = api_of(s, "doc");
	assert_ptr_equal(bare->ops[0].pipeline, bare->pipeline);
	assert_ptr_not_equal(bare->ops[1].pipeline, bare->pipeline);
	assert_ptr_equal(doc->ops[0].pipeline, doc->pipeline);
	assert_ptr_not_equal(doc->ops[1].pipeline, doc->pipeline);
	assert_ptr_not_equal(bare->pipeline, doc->pipeline);

	/* a product with a policy: documentless APIs share global + product,
	 * operations without a document their product-API pipeline */
	const struct cg_rt_product *gold = cg_snapshot_find_product(s, CG_STR("gold"));
	assert_non_null(gold);
	const struct cg_rt_product_api *gb = in_product(gold, "bare"), *gb2 = in_product(gold, "bare2"),
				       *gd = in_product(gold, "doc");
	assert_ptr_equal(gb->pipeline, gb2->pipeline);
	assert_ptr_not_equal(gb->pipeline, bare->pipeline);
	assert_ptr_not_equal(gd->pipeline, gb->pipeline);
	assert_ptr_not_equal(gd->pipeline, doc->pipeline);
	assert_ptr_equal(gb->op_pipelines[0], gb->pipeline);
	assert_ptr_not_equal(gb->op_pipelines[1], gb->pipeline);
	assert_ptr_not_equal(gb->op_pipelines[1], bare->ops[1].pipeline);
	assert_ptr_equal(gd->op_pipelines[0], gd->pipeline);

	/* a product without a policy runs the APIs' own pipelines */
	const struct cg_rt_product *tin = cg_snapshot_find_product(s, CG_STR("tin"));
	assert_non_null(tin);
	assert_ptr_equal(in_product(tin, "bare")->pipeline, bare->pipeline);
	assert_ptr_equal(in_product(tin, "bare")->op_pipelines[1], bare->ops[1].pipeline);
	assert_ptr_equal(in_product(tin, "doc")->op_pipelines[1], doc->ops[1].pipeline);
	cg_snapshot_unref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_pipelines),
	};
	return cmocka_run_group_tests(tests, setup_pki, NULL);
}
