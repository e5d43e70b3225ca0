/* Subscriptions (APIM subscriptions/{sid}): a named pair of keys granting
 * the APIs of a scope ("/apis": all of them, "/apis/{api}": one,
 * "/products/{pid}": the APIs of a product) while the subscription is
 * active. Keys are stored as given (listSecrets must return them, as
 * APIM's does); the gateway keeps only their SHA-256. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "store/store-int.h"
#include "store/validate.h"

static const char *const states[] = { "active",	  "suspended", "submitted",
				      "rejected", "cancelled", "expired" };

void cg_store_sub_scope(const struct cg_model_sub *s, char *out, size_t len)
{
	if (s->scope_product)
		snprintf(out, len, "/products/%s", s->scope_product);
	else if (s->scope_api)
		snprintf(out, len, "/apis/%s", s->scope_api);
	else
		snprintf(out, len, "/apis");
}

bool cg_store_sub_state_ok(const char *state)
{
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(state, states[i]) == 0)
			return true;
	return false;
}

static bool key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '~' || c == '-';
}

/* A given key: 8-256 characters a URL query carries unescaped. */
static int check_key(const char *what, const char *k, char *err, size_t errlen)
{
	size_t n = strlen(k);
	if (n < CG_STORE_MIN_SUB_KEY_LEN || n > CG_STORE_MAX_SUB_KEY_LEN)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s must be %d to %d characters long (it has %zu)", what,
				      CG_STORE_MIN_SUB_KEY_LEN, CG_STORE_MAX_SUB_KEY_LEN, n);
	for (size_t i = 0; i < n; i++)
		if (!key_char((unsigned char)k[i]))
			return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
					      "%s may only hold letters, digits and . _ ~ - "
					      "(character %zu is not one)",
					      what, i + 1);
	return 0;
}

int cg_store_sub_new_key(char *out, size_t outlen, char *err, size_t errlen)
{
	unsigned char raw[CG_STORE_SUB_KEY_BYTES];
	if (outlen < 2 * sizeof(raw) + 1 || getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_IO,
				      "cannot generate a subscription key: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* The tail of an "/apis/{api}" or "/products/{pid}" scope into buf, as
 * an id of what (one path segment). */
static int scope_id(const char *scope, const char *tail, const char *what, char *buf,
		   size_t buflen, char *err, size_t errlen)
{
	if (strlen(tail) >= buflen)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "scope '%.100s': the %s is too long", scope, what);
	snprintf(buf, buflen, "%s", tail);
	return cg_store_check_id(what, buf, err, errlen);
}

/* "/apis" -> *api and *product NULL; "/apis/x" -> *api "x";
 * "/products/p" -> *product "p" (an ARM id ending so is accepted); the id
 * is copied into buf. */
static int parse_scope(const char *scope, char *buf, size_t buflen, const char **api,
		       const char **product, char *err, size_t errlen)
{
	const char *p = strstr(scope, "/apis");
	const char *prod = strstr(scope, "/products/");
	*api = NULL;
	*product = NULL;
	bool arm = strncasecmp(scope, "/subscriptions/", 15) == 0;
	if (prod && !p && (prod == scope || arm) && prod[10] && !strchr(prod + 10, '/')) {
		int rc = scope_id(scope, prod + 10, "product id", buf, buflen, err, errlen);
		if (rc == 0)
			*product = buf;
		return rc;
	}
	if (!p || (p != scope && !arm) || (p[5] != 0 && p[5] != '/') ||
	    (p[5] == '/' && (!p[6] || strchr(p + 6, '/'))))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "scope '%.100s' is not \"/apis\" (all APIs), \"/apis/{api}\" "
				      "(one API) or \"/products/{pid}\" (the APIs of a product)",
				      scope);
	if (p[5] == 0)
		return 0;
	int rc = scope_id(scope, p + 6, "API id", buf, buflen, err, errlen);
	if (rc == 0)
		*api = buf;
	return rc;
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int cg_store_check_expiration(const char *in, char *err, size_t errlen)
{
	/* YYYY-MM-DDTHH:MM:SSZ, the form the store writes its own stamps in */
	if (strlen(in) != 20 || !digits(in, 4) || in[4] != '-' || !digits(in + 5, 2) ||
	    in[7] != '-' || !digits(in + 8, 2) || in[10] != 'T' || !digits(in + 11, 2) ||
	    in[13] != ':' || !digits(in + 14, 2) || in[16] != ':' || !digits(in + 17, 2) ||
	    in[19] != 'Z')
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "expiration date '%.40s' is not of the form "
				      "YYYY-MM-DDTHH:MM:SSZ (UTC)",
				      in);
	int mo = (in[5] - '0') * 10 + (in[6] - '0'), d = (in[8] - '0') * 10 + (in[9] - '0');
	int h = (in[11] - '0') * 10 + (in[12] - '0'), mi = (in[14] - '0') * 10 + (in[15] - '0');
	int sec = (in[17] - '0') * 10 + (in[18] - '0');
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "expiration date '%s' is out of range", in);
	return 0;
}

/* Syntax of everything given, before the write lock. */
static int check_input(const struct cg_store_sub_set *in, char *scope_id_buf, size_t scope_len,
		       const char **api, const char **product, char *err, size_t errlen)
{
	int rc;
	*api = NULL;
	*product = NULL;
	if ((rc = cg_store_check_id("subscription id", in->id ? in->id : "", err, errlen)))
		return rc;
	if (in->display_name && (rc = cg_store_check_display_name(in->display_name, err, errlen)))
		return rc;
	if (in->scope &&
	    (rc = parse_scope(in->scope, scope_id_buf, scope_len, api, product, err, errlen)))
		return rc;
	if (in->state && !cg_store_sub_state_ok(in->state))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "subscription state '%.40s' is not one of active, suspended, "
				      "submitted, rejected, cancelled, expired",
				      in->state);
	if (in->primary_key && (rc = check_key("the primary key", in->primary_key, err, errlen)))
		return rc;
	if (in->secondary_key &&
	    (rc = check_key("the secondary key", in->secondary_key, err, errlen)))
		return rc;
	if (in->primary_key && in->secondary_key && strcmp(in->primary_key, in->secondary_key) == 0)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "the primary and secondary keys must differ");
	if (in->expiration && in->expiration[0] &&
	    (rc = cg_store_check_expiration(in->expiration, err, errlen)))
		return rc;
	return 0;
}

/* Refuses (CONFLICT) a key another subscription (or this one's other
 * key slot, when kept) already uses: a key names one subscription. */
static int key_unused(struct cg_store *st, const char *id, const char *key, char *err,
		      size_t errlen)
{
	struct cg_db_stmt *s = cg_store_prepare_text(
		st,
		"SELECT id FROM subscriptions WHERE id <> ?1 AND (primary_key = ?2 OR "
		"secondary_key = ?2)",
		id, key, err, errlen);
	int rc = cg_store_first_row(st, s, "check subscription keys", err, errlen);
	if (rc == 0)
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_CONFLICT,
				    "a key given for subscription '%s' is already a key of "
				    "subscription '%s'",
				    id, cg_db_col_text(s, 0));
	else if (rc == CG_STORE_FAIL_NOT_FOUND)
		rc = 0;
	cg_db_finalize(s);
	return rc;
}

/* NOT_FOUND unless the API or product of the scope exists. */
static int scope_known(struct cg_store *st, const char *api, const char *product, char *err,
		       size_t errlen)
{
	size_t n;
	int rc = cg_store_count(st,
				api ? "SELECT count(*) FROM apis WHERE id = ?"
				    : "SELECT count(*) FROM products WHERE id = ?",
				api ? api : product, NULL, &n, err, errlen);
	if (rc == 0 && n == 0)
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_NOT_FOUND,
				    "scope: %s '%s' does not exist", api ? "API" : "product",
				    api ? api : product);
	return rc;
}

/* The keys the row will hold: given, kept (update) or generated (create). */
struct sub_keys {
	char gen[2][2 * CG_STORE_SUB_KEY_BYTES + 1];
	const char *k[2];
};

static int pick_keys(const struct cg_store_sub_set *in, bool exists, struct sub_keys *ks,
		     char *err, size_t errlen)
{
	const char *given[2] = { in->primary_key, in->secondary_key };
	for (int i = 0; i < 2; i++) {
		ks->k[i] = given[i];
		if (given[i] || exists)
			continue;
		int rc = cg_store_sub_new_key(ks->gen[i], sizeof(ks->gen[i]), err, errlen);
		if (rc)
			return rc;
		ks->k[i] = ks->gen[i];
	}
	return 0;
}

/* On update, a new key must not equal the key kept in the other slot. */
static int differs_from_kept(struct cg_store *st, const char *id, const struct sub_keys *ks,
			     char *err, size_t errlen)
{
	if (!ks->k[0] == !ks->k[1])
		return 0; /* both new (checked before) or both kept */
	size_t n;
	int rc = cg_store_count(st,
				ks->k[0] ? "SELECT count(*) FROM subscriptions WHERE id = ? AND "
					   "secondary_key = ?"
					 : "SELECT count(*) FROM subscriptions WHERE id = ? AND "
					   "primary_key = ?",
				id, ks->k[0] ? ks->k[0] : ks->k[1], &n, err, errlen);
	if (rc == 0 && n)
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				    "the primary and secondary keys must differ");
	return rc;
}

int cg_store_sub_set(struct cg_store *st, const struct cg_store_sub_set *in, char *err,
		     size_t errlen)
{
	char scope_id_buf[CG_STORE_MAX_ID_LEN + 2];
	const char *api = NULL, *product = NULL, *id = in->id ? in->id : "";
	struct sub_keys ks;
	int rc;
	if ((rc = check_input(in, scope_id_buf, sizeof(scope_id_buf), &api, &product, err, errlen)))
		return rc;
	if ((rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	struct cg_db_stmt *s = NULL;
	bool exists;
	if ((rc = cg_store_room_for(st, "subscriptions", "id", id, CG_STORE_MAX_SUBS,
				    "subscriptions", &exists, err, errlen)))
		goto out;
	if (!exists && !in->scope) {
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				    "subscription '%s' does not exist yet; a scope (\"/apis\", "
				    "\"/apis/{api}\" or \"/products/{pid}\") is needed to create it",
				    id);
		goto out;
	}
	if (((api || product) && (rc = scope_known(st, api, product, err, errlen))) ||
	    (rc = pick_keys(in, exists, &ks, err, errlen)) ||
	    (ks.k[0] && (rc = key_unused(st, id, ks.k[0], err, errlen))) ||
	    (ks.k[1] && (rc = key_unused(st, id, ks.k[1], err, errlen))) ||
	    (exists && (rc = differs_from_kept(st, id, &ks, err, errlen))))
		goto out;
	/* ?3 scope given (1) with ?4 its API and ?9 its product (both NULL =
	 * all APIs); ?7 expiration NULL keeps, "" clears. */
	s = cg_store_prepare_text(
		st,
		exists ? "UPDATE subscriptions SET display_name = coalesce(?2, display_name),"
			 " scope_api_id = CASE WHEN ?3 = 1 THEN CAST(?4 AS TEXT) ELSE scope_api_id END,"
			 " scope_product_id = CASE WHEN ?3 = 1 THEN CAST(?9 AS TEXT)"
			 " ELSE scope_product_id END,"
			 " state = coalesce(?5, state), primary_key = coalesce(?6, primary_key),"
			 " secondary_key = coalesce(?8, secondary_key),"
			 " expiration = CASE WHEN CAST(?7 AS TEXT) IS NULL THEN expiration"
			 " WHEN CAST(?7 AS TEXT) = '' THEN NULL ELSE CAST(?7 AS TEXT) END,"
			 " updated_at = " CG_STORE_SQL_NOW " WHERE id = ?1"
		       : "INSERT INTO subscriptions (id, display_name, scope_api_id, state,"
			 " primary_key, secondary_key, expiration, scope_product_id, created_at,"
			 " updated_at)"
			 " VALUES (?1, coalesce(?2, ?1), CASE WHEN ?3 = 1 THEN CAST(?4 AS TEXT) END,"
			 " coalesce(?5, 'submitted'), ?6, ?8,"
			 " CASE WHEN CAST(?7 AS TEXT) = '' THEN NULL ELSE CAST(?7 AS TEXT) END,"
			 " CASE WHEN ?3 = 1 THEN CAST(?9 AS TEXT) END, "
			 CG_STORE_SQL_NOW ", " CG_STORE_SQL_NOW ")",
		id, in->display_name, err, errlen);
	if (s) {
		cg_db_bind_int(s, 3, in->scope ? 1 : 0);
		cg_db_bind_text(s, 4, api);
		cg_db_bind_text(s, 5, in->state);
		cg_db_bind_text(s, 6, ks.k[0]);
		cg_db_bind_text(s, 7, in->expiration);
		cg_db_bind_text(s, 8, ks.k[1]);
		cg_db_bind_text(s, 9, product);
	}
	rc = cg_store_upsert_commit(st, s, "write subscription", exists, in->created, err, errlen);
	s = NULL;
out:
	cg_db_finalize(s);
	if (rc)
		cg_store_rollback(st);
	return rc;
}

int cg_store_sub_rm(struct cg_store *st, const char *id, char *err, size_t errlen)
{
	return cg_store_rm_by_id(st, "subscriptions", "subscription", id, err, errlen);
}

int cg_store_sub_regenerate(struct cg_store *st, const char *id, bool secondary, char *err,
			    size_t errlen)
{
	char key[2 * CG_STORE_SUB_KEY_BYTES + 1];
	int rc = cg_store_sub_new_key(key, sizeof(key), err, errlen);
	if (rc)
		return rc;
	struct cg_store_sub_set in = { .id = id };
	if (secondary)
		in.secondary_key = key;
	else
		in.primary_key = key;
	size_t n;
	/* Only an existing subscription: sub_set would ask for a scope. */
	if ((rc = cg_store_check_id("subscription id", id ? id : "", err, errlen)) ||
	    (rc = cg_store_count(st, "SELECT count(*) FROM subscriptions WHERE id = ?", id, NULL,
				 &n, err, errlen)))
		return rc;
	if (n == 0)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_NOT_FOUND,
				      "subscription '%s' does not exist", id);
	return cg_store_sub_set(st, &in, err, errlen);
}
