/* Subscription keys: a table of SHA-256 digests built with the snapshot,
 * and the per-request check. The key itself is never compared byte by
 * byte: its digest indexes the table and the candidate digest is compared
 * with CRYPTO_memcmp, so timing says nothing about a stored key. */
#include "gw/subs.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gw/snapshot.h"
#include "http/h1.h"

/* Fetched once: OpenSSL 3's implicit fetch (EVP_sha256()) per call
 * costs more than the digest of a key (bench/subs_bench, RelWithDebInfo:
 * a check with a key 280-350 ns with it, 115-135 ns without). */
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static int digest(struct cg_str key, unsigned char out[32])
{
	unsigned int n = 0;
	pthread_once(&sha256_once, fetch_sha256);
	return sha256 && EVP_Digest(key.ptr, key.len, out, &n, sha256, NULL) == 1 && n == 32 ? 0 : -1;
}

static size_t slot_of(const unsigned char d[32], size_t mask)
{
	size_t h;
	memcpy(&h, d, sizeof(h));
	return h & mask;
}

static int add_key(struct cg_snapshot *s, const struct cg_rt_sub *sub, struct cg_str key)
{
	unsigned char d[32];
	if (digest(key, d) != 0)
		return -1;
	size_t i = slot_of(d, s->sub_key_mask);
	while (s->sub_keys[i].sub)
		i = (i + 1) & s->sub_key_mask;
	memcpy(s->sub_keys[i].digest, d, sizeof(d));
	s->sub_keys[i].sub = sub;
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SSZ" (the store checked the form) -> unix seconds. */
static int parse_time(const char *iso, int64_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int build_sub(struct cg_snapshot *s, const struct cg_model_sub *ms, struct cg_rt_sub *rs,
		     char *err, size_t errlen)
{
	struct cg_arena *a = &s->arena;
	rs->id = cg_arena_strdup_str(a, cg_str_from_c(ms->id));
	rs->display_name = cg_arena_strdup_str(a, cg_str_from_c(ms->display_name));
	rs->scope_api = cg_arena_strdup_str(a, cg_str_from_c(ms->scope_api ? ms->scope_api : ""));
	rs->scope_product =
		cg_arena_strdup_str(a, cg_str_from_c(ms->scope_product ? ms->scope_product : ""));
	rs->primary_key = cg_arena_strdup_str(a, cg_str_from_c(ms->primary_key));
	rs->secondary_key = cg_arena_strdup_str(a, cg_str_from_c(ms->secondary_key));
	rs->active = strcmp(ms->state, "active") == 0;
	if (!rs->id.ptr || !rs->display_name.ptr || !rs->scope_api.ptr || !rs->scope_product.ptr ||
	    !rs->primary_key.ptr ||
	    !rs->secondary_key.ptr) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (parse_time(ms->created_at, &rs->created) != 0 ||
	    (ms->expiration && parse_time(ms->expiration, &rs->expires) != 0)) {
		snprintf(err, errlen, "subscription '%s': malformed date", ms->id);
		return -1;
	}
	if (add_key(s, rs, rs->primary_key) != 0 || add_key(s, rs, rs->secondary_key) != 0) {
		snprintf(err, errlen, "subscription '%s': cannot hash its keys", ms->id);
		return -1;
	}
	return 0;
}

int cg_snapshot_subs(struct cg_snapshot *s, const struct cg_model *m, char *err, size_t errlen)
{
	size_t slots = 16;
	while (slots < 4 * m->num_subs) /* two keys each, at most half full */
		slots *= 2;
	s->subs = cg_arena_zalloc(&s->arena, sizeof(*s->subs) * (m->num_subs + 1));
	s->sub_keys = cg_arena_zalloc(&s->arena, sizeof(*s->sub_keys) * slots);
	if (!s->subs || !s->sub_keys) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->sub_key_mask = slots - 1;
	for (size_t i = 0; i < m->num_subs; i++) {
		if (build_sub(s, &m->subs[i], &s->subs[i], err, errlen) != 0)
			return -1;
		s->num_subs++;
	}
	return 0;
}

/* The value of query parameter name in query (raw, as sent), or a NULL
 * slice. */
static struct cg_str query_value(struct cg_str query, struct cg_str name)
{
	size_t i = 0;
	while (i < query.len) {
		size_t end = i;
		while (end < query.len && query.ptr[end] != '&')
			end++;
		struct cg_str part = cg_str_make(query.ptr + i, end - i);
		if (part.len > name.len && part.ptr[name.len] == '=' &&
		    memcmp(part.ptr, name.ptr, name.len) == 0)
			return cg_str_sub(part, name.len + 1, part.len);
		i = end + 1;
	}
	return CG_STR_NULL;
}

static const struct cg_rt_sub *find_key(const struct cg_snapshot *s, struct cg_str key)
{
	unsigned char d[32];
	if (!s->sub_keys || digest(key, d) != 0)
		return NULL;
	const struct cg_rt_sub *found = NULL;
	for (size_t i = slot_of(d, s->sub_key_mask); s->sub_keys[i].sub;
	     i = (i + 1) & s->sub_key_mask)
		if (!found && CRYPTO_memcmp(s->sub_keys[i].digest, d, sizeof(d)) == 0)
			found = s->sub_keys[i].sub;
	return found;
}

/* A product scope grants the APIs of its product while it is published;
 * a product that is not there (cannot happen) grants nothing. */
static bool scope_grants(const struct cg_rt_sub *sub, const struct cg_rt_api *api)
{
	if (sub->scope_product.len)
		return sub->product && sub->product->published &&
		       cg_product_find_api(sub->product, api) != NULL;
	return !sub->scope_api.len || cg_str_eq(sub->scope_api, api->id);
}

static bool grants(const struct cg_rt_sub *sub, const struct cg_rt_api *api, int64_t now)
{
	return sub->active && (!sub->expires || now < sub->expires) && scope_grants(sub, api);
}

enum cg_sub_check cg_sub_check(const struct cg_snapshot *s, const struct cg_rt_api *api,
			       const struct cg_h1_header *hdrs, size_t num_hdrs, struct cg_str query,
			       int64_t now, const struct cg_rt_sub **sub, struct cg_str *key)
{
	*sub = NULL;
	*key = CG_STR_NULL;
	const struct cg_h1_header *h = cg_h1_find_header(hdrs, num_hdrs, api->sub_header);
	struct cg_str k = h ? cg_str_trim_ows(h->value) : query_value(query, api->sub_query);
	if (!k.ptr)
		return api->sub_required ? CG_SUB_MISSING : CG_SUB_OK;
	const struct cg_rt_sub *found = k.len ? find_key(s, k) : NULL;
	if (!found || !grants(found, api, now))
		return CG_SUB_INVALID;
	*sub = found;
	*key = k;
	return CG_SUB_OK;
}
