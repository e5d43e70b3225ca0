/* Subscription keys at the gateway: where the key is read (header, then
 * query), what grants an API (state, expiration, scope), and the table of
 * digests with many subscriptions (every key found, no false match). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw/snapshot.h"
#include "gw/subs.h"
#include "tls/tls.h"

#include "gw/pki.h"

static struct cg_model_host host = { "a.test", cert_pem, key_pem, false, true };

static struct cg_model_api apis[] = {
	{ "orders", "Orders", "orders", "http://127.0.0.1:2", NULL, 0, true, NULL, NULL, CG_MODEL_PROTO_ALL },
	{ "open", "Open", "open", "http://127.0.0.1:3", NULL, 0, false, "X-Key", "k", CG_MODEL_PROTO_ALL },
};

#define NOW 1800000000 /* 2027-01-15 */

static struct cg_model_sub subs[] = {
	{ "all", "All", NULL, "active", "all-primary", "all-secondary", NULL, "2026-01-01T00:00:00Z", NULL },
	{ "one", "One", "orders", "active", "one-primary", "one-secondary", NULL,
	  "2026-01-01T00:00:00Z", NULL },
	{ "susp", "Susp", NULL, "suspended", "susp-primary", "susp-secondary", NULL,
	  "2026-01-01T00:00:00Z", NULL },
	{ "old", "Old", NULL, "active", "old-primary", "old-secondary", "2027-01-15T09:00:00Z",
	  "2026-01-01T00:00:00Z", NULL },
	{ "other", "Other", "open", "active", "other-primary", "other-secondary", NULL,
	  "2026-01-01T00:00:00Z", NULL },
};

static struct cg_snapshot *build(struct cg_model_sub *s, size_t n)
{
	struct cg_model m = { 0 };
	m.hosts = &host;
	m.num_hosts = 1;
	m.apis = apis;
	m.num_apis = 2;
	m.subs = s;
	m.num_subs = n;
	char err[512];
	struct cg_snapshot *snap = cg_snapshot_build(&m, 1, err, sizeof(err));
	if (!snap)
		fail_msg("build: %s", err);
	return snap;
}

static const struct cg_rt_api *api(const struct cg_snapshot *s, const char *id)
{
	for (size_t i = 0; i < s->num_apis; i++)
		if (cg_str_eq(s->apis[i]->id, cg_str_from_c(id)))
			return s->apis[i];
	fail_msg("no api %s", id);
	return NULL;
}

/* The check for one header (name: value, or none) and query; the
 * subscription id granted in *who ("" when none). */
static enum cg_sub_check check(const struct cg_snapshot *s, const char *api_id, const char *hname,
			       const char *hvalue, const char *query, int64_t now,
			       const char **who)
{
	struct cg_h1_header h = { cg_str_from_c(hname ? hname : ""),
				  cg_str_from_c(hvalue ? hvalue : "") };
	const struct cg_rt_sub *sub;
	struct cg_str key;
	enum cg_sub_check rc = cg_sub_check(s, api(s, api_id), &h, hname ? 1 : 0,
					    cg_str_from_c(query), now, &sub, &key);
	static char buf[64];
	snprintf(buf, sizeof(buf), "%.*s", sub ? (int)sub->id.len : 0, sub ? sub->id.ptr : "");
	*who = buf;
	return rc;
}

static void test_where_the_key_is_read(void **state)
{
	struct cg_snapshot *s = build(subs, 5);
	const char *who;
	const char *H = "Ocp-Apim-Subscription-Key";
	assert_int_equal(check(s, "orders", NULL, NULL, "", NOW, &who), CG_SUB_MISSING);
	assert_int_equal(check(s, "orders", H, "all-primary", "", NOW, &who), CG_SUB_OK);
	assert_string_equal(who, "all");
	/* header names are case-insensitive; blanks around the value go */
	assert_int_equal(check(s, "orders", "ocp-apim-subscription-key", " all-secondary\t", "", NOW, &who),
			 CG_SUB_OK);
	assert_int_equal(check(s, "orders", NULL, NULL, "a=1&subscription-key=one-primary&b", NOW, &who),
			 CG_SUB_OK);
	assert_string_equal(who, "one");
	/* a parameter whose name only starts or ends the same is another one */
	assert_int_equal(check(s, "orders", NULL, NULL, "xsubscription-key=all-primary", NOW, &who),
			 CG_SUB_MISSING);
	assert_int_equal(check(s, "orders", NULL, NULL, "subscription-keys=all-primary", NOW, &who),
			 CG_SUB_MISSING);
	assert_int_equal(check(s, "orders", NULL, NULL, "subscription-key", NOW, &who), CG_SUB_MISSING);
	assert_int_equal(check(s, "orders", NULL, NULL, "subscription-key=", NOW, &who), CG_SUB_INVALID);
	/* the header wins over the query */
	assert_int_equal(check(s, "orders", H, "nope", "subscription-key=all-primary", NOW, &who),
			 CG_SUB_INVALID);
	/* the API's own names */
	assert_int_equal(check(s, "open", "x-key", "all-primary", "", NOW, &who), CG_SUB_OK);
	assert_int_equal(check(s, "open", NULL, NULL, "k=all-primary", NOW, &who), CG_SUB_OK);
	assert_int_equal(check(s, "open", H, "anything", "", NOW, &who), CG_SUB_OK);
	assert_string_equal(who, ""); /* not its header: no key at all */
	cg_snapshot_unref(s);
}

static void test_what_grants(void **state)
{
	struct cg_snapshot *s = build(subs, 5);
	const char *who;
	const char *H = "Ocp-Apim-Subscription-Key";
	assert_int_equal(check(s, "open", NULL, NULL, "", NOW, &who), CG_SUB_OK); /* not required */
	assert_int_equal(check(s, "open", "X-Key", "nope", "", NOW, &who), CG_SUB_INVALID);
	assert_int_equal(check(s, "orders", H, "susp-primary", "", NOW, &who), CG_SUB_INVALID);
	/* expiration: usable until the instant, not at it */
	assert_int_equal(check(s, "orders", H, "old-primary", "", NOW, &who), CG_SUB_OK);
	assert_int_equal(check(s, "orders", H, "old-primary", "", NOW + 3600, &who), CG_SUB_INVALID);
	/* scope: one API */
	assert_int_equal(check(s, "orders", H, "other-primary", "", NOW, &who), CG_SUB_INVALID);
	assert_int_equal(check(s, "open", "X-Key", "other-secondary", "", NOW, &who), CG_SUB_OK);
	assert_int_equal(check(s, "open", "X-Key", "one-primary", "", NOW, &who), CG_SUB_INVALID);
	/* a prefix or an extension of a key is not the key */
	assert_int_equal(check(s, "orders", H, "all-primar", "", NOW, &who), CG_SUB_INVALID);
	assert_int_equal(check(s, "orders", H, "all-primaryx", "", NOW, &who), CG_SUB_INVALID);
	cg_snapshot_unref(s);
}

static void test_many_keys(void **state)
{
	enum { N = 3000 };
	struct cg_model_sub *many = calloc(N, sizeof(*many));
	char(*txt)[4][32] = calloc(N, sizeof(*txt));
	assert_non_null(many);
	assert_non_null(txt);
	for (int i = 0; i < N; i++) {
		snprintf(txt[i][0], 32, "s%d", i);
		snprintf(txt[i][1], 32, "p-%08d", i);
		snprintf(txt[i][2], 32, "q-%08d", i);
		many[i] = (struct cg_model_sub){ txt[i][0], txt[i][0], NULL, "active", txt[i][1],
						 txt[i][2], NULL, "2026-01-01T00:00:00Z", NULL };
	}
	struct cg_snapshot *s = build(many, N);
	assert_true(s->sub_key_mask + 1 >= 4 * N);
	const char *who;
	for (int i = 0; i < N; i++) {
		assert_int_equal(check(s, "orders", "Ocp-Apim-Subscription-Key", txt[i][1 + i % 2], "",
				       NOW, &who),
				 CG_SUB_OK);
		assert_string_equal(who, txt[i][0]);
	}
	assert_int_equal(check(s, "orders", "Ocp-Apim-Subscription-Key", "p-99999999", "", NOW, &who),
			 CG_SUB_INVALID);
	cg_snapshot_unref(s);
	free(many);
	free(txt);
}

static void test_no_subscriptions(void **state)
{
	struct cg_snapshot *s = build(NULL, 0);
	const char *who;
	assert_int_equal(check(s, "orders", "Ocp-Apim-Subscription-Key", "all-primary", "", NOW, &who),
			 CG_SUB_INVALID);
	assert_int_equal(check(s, "open", NULL, NULL, "", NOW, &who), CG_SUB_OK);
	cg_snapshot_unref(s);
}

static void test_bad_date_refuses_the_snapshot(void **state)
{
	struct cg_model_sub bad = { "bad", "Bad", NULL, "active", "bad-primary", "bad-secondary",
				    "someday", "2026-01-01T00:00:00Z", NULL };
	struct cg_model m = { 0 };
	m.hosts = &host;
	m.num_hosts = 1;
	m.subs = &bad;
	m.num_subs = 1;
	char err[512];
	assert_null(cg_snapshot_build(&m, 1, err, sizeof(err)));
	assert_string_equal(err, "subscription 'bad': malformed date");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_where_the_key_is_read), cmocka_unit_test(test_what_grants),
		cmocka_unit_test(test_many_keys), cmocka_unit_test(test_no_subscriptions),
		cmocka_unit_test(test_bad_date_refuses_the_snapshot),
	};
	return cmocka_run_group_tests(tests, setup_pki, NULL);
}
