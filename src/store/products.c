/* Products (APIM products/{pid}): a group of APIs that a subscription
 * scoped to "/products/{pid}" grants while the product is published, and
 * a policy scope between global and API (policy.c). Removing a product
 * with subscriptions is refused unless they go too (APIM's
 * deleteSubscriptions); removing an API from a product only removes the
 * link: the product's subscriptions stop granting that API. */
#include <stdio.h>
#include <string.h>

#include "store/store-int.h"
#include "store/validate.h"

static int check_state(const char *state, char *err, size_t errlen)
{
	if (strcmp(state, "published") == 0 || strcmp(state, "notPublished") == 0)
		return 0;
	return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
			      "product state '%.40s' is not published or notPublished", state);
}

/* Syntax of everything given, before the write lock. */
static int check_input(const struct cg_store_product_set *in, char *err, size_t errlen)
{
	int rc;
	if ((rc = cg_store_check_id("product id", in->id ? in->id : "", err, errlen)))
		return rc;
	if (in->display_name && (rc = cg_store_check_display_name(in->display_name, err, errlen)))
		return rc;
	if (in->description && strlen(in->description) > CG_STORE_MAX_DESCRIPTION_LEN)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "the description is %zu bytes; at most %d are accepted",
				      strlen(in->description), CG_STORE_MAX_DESCRIPTION_LEN);
	if (in->state && (rc = check_state(in->state, err, errlen)))
		return rc;
	if (in->subscriptions_limit < CG_STORE_PRODUCT_NO_LIMIT ||
	    in->subscriptions_limit > 1000000000)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "subscriptionsLimit %lld is out of range (0 to 1000000000)",
				      (long long)in->subscriptions_limit);
	return 0;
}

/* Binds an int that may be "keep" (-1): NULL then. */
static void bind_keep(struct cg_db_stmt *s, int i, int64_t v)
{
	if (v != -1)
		cg_db_bind_int(s, i, v);
}

int cg_store_product_set(struct cg_store *st, const struct cg_store_product_set *in, char *err,
			 size_t errlen)
{
	int rc;
	bool exists;
	if ((rc = check_input(in, err, errlen)) || (rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	if ((rc = cg_store_room_for(st, "products", "id", in->id, CG_STORE_MAX_PRODUCTS, "products",
				    &exists, err, errlen))) {
		cg_store_rollback(st);
		return rc;
	}
	/* ?6 subscriptionsLimit: NULL keeps, -2 clears, else the limit. */
	struct cg_db_stmt *s = cg_store_prepare_text(
		st,
		exists ? "UPDATE products SET display_name = coalesce(?2, display_name),"
			 " description = coalesce(?3, description),"
			 " subscription_required = coalesce(?4, subscription_required),"
			 " approval_required = coalesce(?5, approval_required),"
			 " subscriptions_limit = CASE WHEN CAST(?6 AS BIGINT) IS NULL"
			 " THEN subscriptions_limit WHEN CAST(?6 AS BIGINT) = -2 THEN NULL"
			 " ELSE CAST(?6 AS BIGINT) END,"
			 " state = coalesce(?7, state), updated_at = " CG_STORE_SQL_NOW
			 " WHERE id = ?1"
		       : "INSERT INTO products (id, display_name, description,"
			 " subscription_required, approval_required, subscriptions_limit, state,"
			 " created_at, updated_at) VALUES (?1, coalesce(?2, ?1), coalesce(?3, ''),"
			 " coalesce(?4, 1), coalesce(?5, 0),"
			 " CASE WHEN CAST(?6 AS BIGINT) >= 0 THEN CAST(?6 AS BIGINT) END,"
			 " coalesce(?7, 'notPublished'), " CG_STORE_SQL_NOW ", " CG_STORE_SQL_NOW ")",
		in->id, in->display_name, err, errlen);
	if (s) {
		cg_db_bind_text(s, 3, in->description);
		bind_keep(s, 4, in->subscription_required);
		bind_keep(s, 5, in->approval_required);
		bind_keep(s, 6, in->subscriptions_limit);
		cg_db_bind_text(s, 7, in->state);
	}
	rc = cg_store_upsert_commit(st, s, "write product", exists, in->created, err, errlen);
	if (rc)
		cg_store_rollback(st);
	return rc;
}

static int product_exists(struct cg_store *st, const char *id, char *err, size_t errlen)
{
	size_t n;
	int rc = cg_store_count(st, "SELECT count(*) FROM products WHERE id = ?", id, NULL, &n, err,
				errlen);
	if (rc == 0 && n == 0)
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_NOT_FOUND,
				    "product '%s' does not exist", id);
	return rc;
}

int cg_store_product_rm(struct cg_store *st, const char *id, bool delete_subs, char *err,
			size_t errlen)
{
	size_t n;
	int rc;
	if ((rc = cg_store_check_id("product id", id ? id : "", err, errlen)) ||
	    (rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	if ((rc = product_exists(st, id, err, errlen)) ||
	    (rc = cg_store_count(st, "SELECT count(*) FROM subscriptions WHERE scope_product_id = ?",
				 id, NULL, &n, err, errlen)))
		goto fail;
	if (n && !delete_subs) {
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_CONFLICT,
				    "product '%s' has %zu subscription%s; remove them first, or "
				    "remove the product with its subscriptions (deleteSubscriptions)",
				    id, n, n == 1 ? "" : "s");
		goto fail;
	}
	if (n && (rc = cg_store_run(st, "DELETE FROM subscriptions WHERE scope_product_id = ?", id,
				    NULL, "delete product subscriptions", err, errlen)))
		goto fail;
	return cg_store_delete_commit(
		st, cg_store_prepare_text(st, "DELETE FROM products WHERE id = ?", id, NULL, err, errlen),
		"delete product", err, errlen, "product '%s' does not exist", id);
fail:
	cg_store_rollback(st);
	return rc;
}

/* Ids, then the write lock, then both ends of the link must exist. */
static int link_begin(struct cg_store *st, const char *pid, const char *api, char *err,
		      size_t errlen)
{
	size_t n;
	int rc;
	if ((rc = cg_store_check_id("product id", pid ? pid : "", err, errlen)) ||
	    (rc = cg_store_check_id("API id", api ? api : "", err, errlen)) ||
	    (rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	if ((rc = product_exists(st, pid, err, errlen)) ||
	    (rc = cg_store_count(st, "SELECT count(*) FROM apis WHERE id = ?", api, NULL, &n, err,
				 errlen)))
		goto fail;
	if (n == 0) {
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_NOT_FOUND, "API '%s' does not exist",
				    api);
		goto fail;
	}
	return 0;
fail:
	cg_store_rollback(st);
	return rc;
}

int cg_store_product_api_add(struct cg_store *st, const char *pid, const char *api, bool *created,
			     char *err, size_t errlen)
{
	size_t n, total;
	int rc;
	if ((rc = link_begin(st, pid, api, err, errlen)))
		return rc;
	if ((rc = cg_store_count(st,
				 "SELECT count(*) FROM product_apis WHERE product_id = ? AND "
				 "api_id = ?",
				 pid, api, &n, err, errlen)) ||
	    (rc = cg_store_count(st, "SELECT count(*) FROM product_apis", NULL, NULL, &total, err,
				 errlen)))
		goto fail;
	if (n) { /* already there: APIM answers 200, nothing changes */
		cg_store_rollback(st);
		if (created)
			*created = false;
		return 0;
	}
	if (total >= CG_STORE_MAX_PRODUCT_APIS) {
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				    "the store already holds %d product-API links, the limit",
				    CG_STORE_MAX_PRODUCT_APIS);
		goto fail;
	}
	rc = cg_store_upsert_commit(
		st,
		cg_store_prepare_text(st,
				      "INSERT INTO product_apis (product_id, api_id, created_at)"
				      " VALUES (?1, ?2, " CG_STORE_SQL_NOW ")",
				      pid, api, err, errlen),
		"add API to product", false, created, err, errlen);
	if (rc == 0)
		return 0;
fail:
	cg_store_rollback(st);
	return rc;
}

int cg_store_product_api_rm(struct cg_store *st, const char *pid, const char *api, char *err,
			    size_t errlen)
{
	int rc;
	if ((rc = link_begin(st, pid, api, err, errlen)))
		return rc;
	return cg_store_delete_commit(
		st,
		cg_store_prepare_text(st,
				      "DELETE FROM product_apis WHERE product_id = ? AND api_id = ?",
				      pid, api, err, errlen),
		"remove API from product", err, errlen, "API '%s' is not in product '%s'", api, pid);
}
