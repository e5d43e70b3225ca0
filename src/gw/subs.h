/* Subscription keys at the gateway (APIM subscriptions): the snapshot's
 * table of key digests, and the check a request to an API goes through
 * before its policies run. See docs/subscriptions.md. */
#ifndef CG_GW_SUBS_H
#define CG_GW_SUBS_H

#include "gw/gw-t.h"
#include "http/h1-t.h"
#include "store/model-t.h"

/* Builds s->subs and the key table from the model's subscriptions (keys
 * are kept as SHA-256 digests in the table). Returns 0, or -1 with err
 * (out of memory, a malformed date). */
int cg_snapshot_subs(struct cg_snapshot *s, const struct cg_model *m, char *err, size_t errlen);

enum cg_sub_check {
	CG_SUB_OK = 0,     /* no key on an API that needs none, or a key that grants the API */
	CG_SUB_MISSING,    /* the API needs a key and none came: SubscriptionKeyNotFound */
	CG_SUB_INVALID,    /* a key came that grants nothing here: SubscriptionKeyInvalid */
};

/* APIM's messages for the two refusals (401). */
#define CG_SUB_MSG_MISSING                                                                          \
	"Access denied due to missing subscription key. Make sure to include subscription key when " \
	"making requests to this API."
#define CG_SUB_MSG_INVALID                                                                          \
	"Access denied due to invalid subscription key. Make sure to provide a valid key for an "   \
	"active subscription."

/* Checks the request's key for api: the API's key header (first one),
 * else its query parameter. A key is looked up by digest and compared in
 * constant time; it grants the API when its subscription is active, not
 * expired at now (unix seconds) and scoped to all APIs, to this one or to
 * a published product that contains it. A
 * key that does not is refused even on an API that needs none (APIM).
 * On CG_SUB_OK *sub is the subscription (NULL: none) and *key the key as
 * sent (a slice of the request). */
enum cg_sub_check cg_sub_check(const struct cg_snapshot *s, const struct cg_rt_api *api,
			       const struct cg_h1_header *hdrs, size_t num_hdrs, struct cg_str query,
			       int64_t now, const struct cg_rt_sub **sub, struct cg_str *key);

#endif
