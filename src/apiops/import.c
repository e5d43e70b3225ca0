/* `certgate import DIR`: the plan read from the folder is written to the
 * store through the store's public write functions, all or nothing.
 *
 * The store has no batch write (each write is its own transaction), so
 * all-or-nothing is built here in two passes:
 *  1. a dry run: the store is copied (SQLite's online backup, a consistent
 *     snapshot even while the gateway or another CLI writes) to a private
 *     scratch file, and every write is applied there, with the store's own
 *     validation (policies loaded against the new named values and
 *     fragments, certificates parsed, paths checked for conflicts). Any
 *     refusal ends the import with every message and the real store
 *     untouched;
 *  2. the same writes, in the same order, on the real store, only when the
 *     store has not changed since it was copied.
 * What pass 2 cannot promise is atomicity against a crash or an I/O error
 * in its middle, and a running gateway may load a snapshot between two of
 * its writes: both need a store batch API (see docs/apiops.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509.h>
#include <sqlite3.h>

#include "apiops/apiops-int.h"
#include "apiops/apiops.h"
#include "store/cert.h"
#include "store/store.h"

/* One store write's message buffer: big enough for every diagnostic. */
struct wr {
	struct cg_store *st;
	struct cg_apiops_diag *d;
	bool warn;
	size_t failed, done;
	char *msg; /* CG_STORE_DIAG_LEN bytes */
};

/* Records the outcome of one write: a refusal as errors about file, the
 * warnings of an accepted write when this pass reports them. */
static bool outcome(struct wr *w, int rc, const char *file)
{
	if (rc) {
		w->failed++;
		cg_apiops_diag_store(w->d, true, file, w->msg);
		return false;
	}
	w->done++;
	if (w->warn && w->msg[0])
		cg_apiops_diag_store(w->d, false, file, w->msg);
	return true;
}

/* APIM's PUT replaces the whole backend: what the file omits is the
 * default, not "keep" (no breaker, single unless type Pool). */
static void apply_backend(struct wr *w, struct cg_store *st, const struct cg_apiops_backend *b)
{
	struct cg_store_backend_set in = {
		.id = b->id,
		.url = b->url,
		.client_cert_id = b->client_cert_id,
		.no_client_cert = b->client_cert_id == NULL && !b->is_pool,
		.validate_chain = b->validate_chain,
		.validate_name = b->validate_name,
		.is_pool = b->is_pool,
		.members = b->members,
		.num_members = b->num_members,
		.breaker_json = b->breaker_json ? b->breaker_json : "",
	};
	w->msg[0] = 0;
	outcome(w, cg_store_backend_set(st, &in, w->msg, CG_STORE_DIAG_LEN), b->file);
}

static void apply_nv(struct wr *w, const struct cg_apiops_nv *nv)
{
	struct cg_store_nv stored;
	memset(&stored, 0, sizeof(stored));
	const char *value = nv->value;
	w->msg[0] = 0;
	if (!value) {
		/* A secret exported without its value: keep the one stored. */
		int rc = cg_store_nv_get(w->st, nv->name, &stored, w->msg, CG_STORE_DIAG_LEN);
		if (rc == CG_STORE_FAIL_NOT_FOUND) {
			w->failed++;
			cg_apiops_diag_add(
				w->d, true,
				"%s: secret named value '%s' has no 'properties.value' "
				"and none is stored: add the value, or set it first with "
				"'certgate nv set %s --secret --value-file FILE'",
				nv->file, nv->name, nv->name);
			return;
		}
		if (rc) {
			w->failed++;
			cg_apiops_diag_store(w->d, true, nv->file, w->msg);
			return;
		}
		value = stored.value;
	}
	struct cg_store_nv_set in = {
		.name = nv->name,
		.value = value,
		.secret = nv->secret,
		.tags = nv->tags,
		.num_tags = nv->num_tags,
	};
	w->msg[0] = 0;
	outcome(w, cg_store_nv_set(w->st, &in, w->msg, CG_STORE_DIAG_LEN), nv->file);
	if (stored.name)
		cg_store_nv_free(&stored);
}

/* properties.thumbprint, when given, must be the file's: it catches a
 * certificate file swapped for another one. */
static bool thumbprint_matches(struct wr *w, const struct cg_apiops_cert *c)
{
	if (!c->thumbprint)
		return true;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	if (cg_store_cert_parse_upload(c->data, c->len, c->password, &x, &key, w->msg,
				       CG_STORE_DIAG_LEN))
		return true; /* the store's write reports why it does not parse */
	struct cg_store_cert_info *info = calloc(1, sizeof(*info));
	bool ok = true;
	if (info) {
		cg_store_cert_info_of(x, info);
		ok = strcasecmp(info->thumbprint, c->thumbprint) == 0;
		if (!ok) {
			w->failed++;
			cg_apiops_diag_add(w->d, true,
					   "%s: the certificate's thumbprint is %s, not %s as its "
					   "information file says",
					   c->file, info->thumbprint, c->thumbprint);
		}
	}
	free(info);
	X509_free(x);
	EVP_PKEY_free(key);
	return ok;
}

/* Exports never hold private keys, so a folder's certificate without a key
 * must not wipe the key stored with the same certificate (added again with
 * `cert add` from a PFX for backend mTLS): true when the store already
 * holds this very certificate with a key, and nothing is to be written. */
static bool keeps_stored_key(struct wr *w, const struct cg_apiops_cert *c)
{
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	if (c->ca || cg_store_cert_parse_upload(c->data, c->len, c->password, &x, &key, w->msg,
						CG_STORE_DIAG_LEN))
		return false;
	bool keep = false;
	struct cg_store_cert_info *mine = calloc(1, sizeof(*mine));
	struct cg_store_cert_info *stored = calloc(1, sizeof(*stored));
	bool has_key = false;
	if (!key && mine && stored &&
	    cg_store_cert_get(w->st, c->id, stored, &has_key, w->msg, CG_STORE_DIAG_LEN) == 0 &&
	    has_key) {
		cg_store_cert_info_of(x, mine);
		keep = strcmp(mine->thumbprint, stored->thumbprint) == 0;
	}
	free(mine);
	free(stored);
	X509_free(x);
	EVP_PKEY_free(key);
	return keep;
}

static void apply_cert(struct wr *w, const struct cg_apiops_cert *c)
{
	if (!thumbprint_matches(w, c))
		return;
	if (keeps_stored_key(w, c)) {
		w->done++;
		return;
	}
	char warn[1024] = "";
	int rc;
	w->msg[0] = 0;
	if (c->ca) {
		struct cg_store_ca_add in = { .id = c->id,
					      .data = c->data,
					      .len = c->len,
					      .password = c->password,
					      .intermediate = c->intermediate,
					      .warn = warn,
					      .warnlen = sizeof(warn) };
		rc = cg_store_ca_add(w->st, &in, w->msg, CG_STORE_DIAG_LEN);
	} else {
		struct cg_store_cert_add in = { .id = c->id,
						.data = c->data,
						.len = c->len,
						.password = c->password,
						.warn = warn,
						.warnlen = sizeof(warn) };
		rc = cg_store_cert_add(w->st, &in, w->msg, CG_STORE_DIAG_LEN);
	}
	if (rc == 0)
		snprintf(w->msg, CG_STORE_DIAG_LEN, "%s", warn);
	outcome(w, rc, c->file);
}

/* Returns 0 or the store's failure. */
static int apply_policy(struct wr *w, enum cg_model_policy_scope scope, const char *api_id,
			const char *op_id, const char *file, const char *text)
{
	w->msg[0] = 0;
	/* APIOps writes policies as rawxml, APIM's stored form. */
	int rc = cg_store_policy_set(w->st, scope, api_id, op_id, "rawxml", text, w->msg,
				     CG_STORE_DIAG_LEN);
	outcome(w, rc, file);
	return rc;
}

/* ---- products and subscriptions ---- */

/* A product as an APIM PUT: what the file leaves out takes APIM's default,
 * not the stored value. */
static bool apply_product(struct wr *w, const struct cg_apiops_product *p)
{
	struct cg_store_product_set in = {
		.id = p->id,
		.display_name = p->display_name,
		.description = p->description ? p->description : "",
		.subscription_required = p->subscription_required,
		.approval_required = p->approval_required,
		.subscriptions_limit = p->subscriptions_limit,
		.state = p->state ? p->state : "notPublished",
	};
	w->msg[0] = 0;
	return outcome(w, cg_store_product_set(w->st, &in, w->msg, CG_STORE_DIAG_LEN), p->file);
}

static bool plan_has_api(const struct cg_apiops_plan *plan, const char *id)
{
	for (size_t i = 0; i < plan->num_apis; i++)
		if (strcmp(plan->apis[i].id, id) == 0)
			return true;
	return false;
}

/* Links the product to every API its folder names. An API that exists
 * neither in the folder nor in the store refuses the import. */
static void apply_links(struct wr *w, const struct cg_apiops_plan *plan,
			const struct cg_apiops_product *p)
{
	for (size_t k = 0; k < p->num_links; k++) {
		const struct cg_apiops_link *l = &p->links[k];
		w->msg[0] = 0;
		int rc = cg_store_product_api_add(w->st, p->id, l->api, NULL, w->msg,
						  CG_STORE_DIAG_LEN);
		if (rc != CG_STORE_FAIL_NOT_FOUND) {
			outcome(w, rc, l->file);
			continue;
		}
		w->failed++;
		/* An API of the folder that the store refused has said why. */
		if (!plan_has_api(plan, l->api))
			cg_apiops_diag_add(w->d, true,
					   "%s: API '%s' of product '%s' is neither in the folder "
					   "(apis/%s/) nor in the store",
					   l->file, l->api, p->id, l->api);
	}
}

static int cmp_link_api(const void *key, const void *elt)
{
	return strcmp(key, ((const struct cg_apiops_link *)elt)->api);
}

/* A product's APIs are what its folder says: links the store holds and the
 * folder does not name are removed (a stale link would let the product's
 * keys reach an API the folder took out of it). */
static void drop_stale_links(struct wr *w, const struct cg_apiops_plan *plan, const bool *ok)
{
	struct cg_model m;
	memset(&m, 0, sizeof(m));
	if (cg_store_load_model(w->st, &m, w->msg, CG_STORE_DIAG_LEN)) {
		w->failed++;
		cg_apiops_diag_add(w->d, true, "%s", w->msg);
		return;
	}
	for (size_t i = 0; i < m.num_products; i++) {
		const struct cg_model_product *mp = &m.products[i];
		const struct cg_apiops_product *p = NULL;
		for (size_t k = 0; !p && k < plan->num_products; k++)
			if (ok[k] && strcmp(plan->products[k].id, mp->id) == 0)
				p = &plan->products[k];
		for (size_t a = 0; p && a < mp->num_apis; a++) {
			if (bsearch(mp->apis[a], p->links, p->num_links, sizeof(*p->links),
				    cmp_link_api))
				continue;
			w->msg[0] = 0;
			outcome(w,
				cg_store_product_api_rm(w->st, p->id, mp->apis[a], w->msg,
							CG_STORE_DIAG_LEN),
				p->file);
		}
	}
	cg_model_free(&m);
}

static void apply_sub(struct wr *w, const struct cg_apiops_sub *s)
{
	/* Keys left out (as APIM's extractor leaves them out) are generated
	 * for a new subscription and kept for a stored one. */
	struct cg_store_sub_set in = { .id = s->id,
				       .display_name = s->display_name,
				       .scope = s->scope,
				       .state = s->state,
				       .primary_key = s->primary_key,
				       .secondary_key = s->secondary_key,
				       .expiration = s->expiration };
	w->msg[0] = 0;
	outcome(w, cg_store_sub_set(w->st, &in, w->msg, CG_STORE_DIAG_LEN), s->file);
}

/* Products, their API links, subscriptions (which may name the products),
 * then the product policies. Runs after the APIs are written. */
static void apply_products(struct wr *w, const struct cg_apiops_plan *plan)
{
	bool *ok = calloc(plan->num_products ? plan->num_products : 1, sizeof(bool));
	if (!ok) {
		w->failed++;
		cg_apiops_diag_add(w->d, true, "out of memory");
		return;
	}
	for (size_t i = 0; i < plan->num_products; i++) {
		ok[i] = apply_product(w, &plan->products[i]);
		if (ok[i])
			apply_links(w, plan, &plan->products[i]);
	}
	if (plan->num_products)
		drop_stale_links(w, plan, ok);
	for (size_t i = 0; i < plan->num_subs; i++)
		apply_sub(w, &plan->subs[i]);
	for (size_t i = 0; i < plan->num_products; i++) {
		const struct cg_apiops_product *p = &plan->products[i];
		if (ok[i] && p->policy)
			apply_policy(w, CG_MODEL_POLICY_PRODUCT, p->id, NULL, p->policy_file,
				     p->policy);
	}
	free(ok);
}

size_t cg_apiops_apply(struct cg_store *st, const struct cg_apiops_plan *plan,
		       struct cg_apiops_diag *d, bool warn, size_t *done)
{
	struct wr w = { .st = st, .d = d, .warn = warn };
	w.msg = malloc(CG_STORE_DIAG_LEN);
	if (!w.msg) {
		cg_apiops_diag_add(d, true, "out of memory");
		return 1;
	}
	/* Dependency order: what policies name (values, certificates,
	 * fragments) and what they are attached to (APIs, operations) first. */
	for (size_t i = 0; i < plan->num_nvs; i++)
		apply_nv(&w, &plan->nvs[i]);
	for (size_t i = 0; i < plan->num_certs; i++)
		apply_cert(&w, &plan->certs[i]);
	/* Single backends first: pools name them. */
	for (int pools = 0; pools < 2; pools++)
		for (size_t i = 0; i < plan->num_backends; i++)
			if (plan->backends[i].is_pool == pools)
				apply_backend(&w, st, &plan->backends[i]);
	for (size_t i = 0; i < plan->num_frags; i++) {
		const struct cg_apiops_fragment *f = &plan->frags[i];
		w.msg[0] = 0;
		outcome(&w,
			cg_store_fragment_set(st, f->id, f->description, f->format, f->text, w.msg,
					      CG_STORE_DIAG_LEN),
			f->file);
	}
	bool *api_ok = calloc(plan->num_apis ? plan->num_apis : 1, sizeof(bool));
	if (!api_ok) {
		free(w.msg);
		cg_apiops_diag_add(d, true, "out of memory");
		return w.failed + 1;
	}
	for (size_t i = 0; i < plan->num_apis; i++) {
		const struct cg_apiops_api *a = &plan->apis[i];
		struct cg_store_api_set in = { .id = a->id,
					       .display_name = a->display_name,
					       .path = a->path,
					       .service_url = a->service_url,
					       .subscription_required = a->subscription_required,
					       .sub_key_header = a->sub_key_header,
					       .sub_key_query = a->sub_key_query,
					       .protocols = a->protocols };
		w.msg[0] = 0;
		api_ok[i] =
			outcome(&w, cg_store_api_set(st, &in, w.msg, CG_STORE_DIAG_LEN), a->file);
		/* Operations of a refused API would only repeat "no such API". */
		for (size_t k = 0; api_ok[i] && k < a->num_ops; k++) {
			const struct cg_apiops_op *o = &a->ops[k];
			if (!o->file)
				continue; /* policy only */
			struct cg_store_op_set oin = { .api_id = a->id,
						       .id = o->id,
						       .display_name = o->display_name,
						       .method = o->method,
						       .url_template = o->url_template };
			w.msg[0] = 0;
			outcome(&w, cg_store_op_set(st, &oin, w.msg, CG_STORE_DIAG_LEN), o->file);
		}
	}
	if (plan->global_policy)
		apply_policy(&w, CG_MODEL_POLICY_GLOBAL, NULL, NULL, plan->global_file,
			     plan->global_policy);
	for (size_t i = 0; i < plan->num_apis; i++) {
		const struct cg_apiops_api *a = &plan->apis[i];
		if (!api_ok[i])
			continue;
		if (a->policy)
			apply_policy(&w, CG_MODEL_POLICY_API, a->id, NULL, a->policy_file,
				     a->policy);
		for (size_t k = 0; k < a->num_ops; k++) {
			const struct cg_apiops_op *o = &a->ops[k];
			if (!o->policy)
				continue;
			int rc = apply_policy(&w, CG_MODEL_POLICY_OPERATION, a->id, o->id,
					      o->policy_file, o->policy);
			/* A policy for an operation the store does not have:
			 * say where operations come from. */
			if (rc == CG_STORE_FAIL_NOT_FOUND && !o->file)
				cg_apiops_diag_note(d,
						    "  add operations/%s/operationInformation.json "
						    "or create it with 'certgate op set %s %s': "
						    "certgate does not read operations from "
						    "specification files",
						    o->id, a->id, o->id);
		}
	}
	free(api_ok);
	apply_products(&w, plan);
	free(w.msg);
	if (done)
		*done = w.done;
	return w.failed;
}

/* ---- the scratch copy ---- */

struct scratch {
	char dir[64];
	char db[96];
};

/* A private folder (0700: the copy holds keys and secrets) with an empty
 * 0600 file, or false with err filled. */
static bool scratch_make(struct scratch *s, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp || strlen(tmp) > 30)
		tmp = "/tmp";
	snprintf(s->dir, sizeof(s->dir), "%s/certgate-import-XXXXXX", tmp);
	if (!mkdtemp(s->dir)) {
		snprintf(err, errlen, "cannot create a scratch folder in %s: %s", tmp,
			 strerror(errno));
		s->dir[0] = 0;
		return false;
	}
	snprintf(s->db, sizeof(s->db), "%s/store.db", s->dir);
	int fd = open(s->db, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", s->db, strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

static void scratch_remove(struct scratch *s)
{
	if (!s->dir[0])
		return;
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[128];
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", s->db, suffixes[i]);
		unlink(p);
	}
	rmdir(s->dir);
	s->dir[0] = 0;
}

/* Copies the store at src into the scratch file with SQLite's online
 * backup: one consistent read of the source, WAL or not, without
 * blocking its writers for longer than a page copy. */
static bool scratch_copy(const char *src, const struct scratch *s, char *err, size_t errlen)
{
	sqlite3 *from = NULL, *to = NULL;
	bool ok = false;
	if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open store '%s': %s", src,
			 from ? sqlite3_errmsg(from) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(from, CG_STORE_BUSY_TIMEOUT_MS);
	if (sqlite3_open_v2(s->db, &to, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", s->db,
			 to ? sqlite3_errmsg(to) : "out of memory");
		goto out;
	}
	sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
	if (!b) {
		snprintf(err, errlen, "cannot copy store '%s': %s", src, sqlite3_errmsg(to));
		goto out;
	}
	int rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "cannot copy store '%s': %s", src, sqlite3_errstr(rc));
		goto out;
	}
	ok = true;
out:
	sqlite3_close(to);
	sqlite3_close(from);
	return ok;
}

static bool file_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

int cg_apiops_import(const char *store_path, const char *dir, char *err, size_t errlen)
{
	struct cg_apiops_diag d;
	struct cg_apiops_plan plan;
	struct scratch s = { "", "" };
	struct cg_store *real = NULL, *dry = NULL;
	char msg[CG_STORE_ERR_LEN];
	char head[CG_APIOPS_MAX_PATH_LEN + 512]; /* the first line of err */
	uint64_t t0 = 0, t1 = 0;
	int rc = -1;
	cg_apiops_diag_init(&d, errlen > 1 ? errlen : 1);
	if (!cg_apiops_read(dir, &plan, &d))
		goto refused;
	/* The real store stays open from before the copy to the writes, so
	 * one connection's change token says whether anyone wrote between. */
	bool url = cg_store_is_url(store_path);
	bool existed = url || file_exists(store_path);
	char shown[PATH_MAX]; /* store_path without a URL's password */
	cg_store_display(store_path, shown, sizeof(shown));
	if (existed) {
		real = cg_store_open(store_path, 0, msg, sizeof(msg));
		if (!real || cg_store_change_token(real, &t0, msg, sizeof(msg))) {
			cg_apiops_diag_add(&d, true, "%s", msg);
			goto refused;
		}
	}
	/* The dry run: a SQLite file is copied; a PostgreSQL store is
	 * rehearsed in a transaction that is rolled back. */
	if (url)
		dry = cg_store_open_rehearsal(store_path, msg, sizeof(msg));
	else if (scratch_make(&s, msg, sizeof(msg)) &&
		 (!existed || scratch_copy(store_path, &s, msg, sizeof(msg))))
		dry = cg_store_open(s.db, 0, msg, sizeof(msg));
	if (!dry) {
		cg_apiops_diag_add(&d, true, "%s", msg);
		goto refused;
	}
	if (cg_apiops_apply(dry, &plan, &d, true, NULL))
		goto refused;
	cg_store_close(dry);
	dry = NULL;
	scratch_remove(&s);
	if (existed) {
		if (cg_store_change_token(real, &t1, msg, sizeof(msg))) {
			cg_apiops_diag_add(&d, true, "%s", msg);
			goto refused;
		}
		if (t1 != t0) {
			cg_apiops_diag_add(&d, true,
					   "store '%s' changed while the folder was checked: run "
					   "the import again",
					   shown);
			goto refused;
		}
	} else if (!(real = cg_store_open(store_path, 0, msg, sizeof(msg)))) {
		cg_apiops_diag_add(&d, true, "%s", msg);
		goto refused;
	}
	/* Warnings were gathered by the dry run; this pass reports failures
	 * only, which now mean the store or the disk failed under us. */
	size_t writes = 0;
	size_t before = d.errors;
	if (cg_apiops_apply(real, &plan, &d, false, &writes)) {
		snprintf(head, sizeof(head),
			 "import failed after %zu write%s to store '%.1000s' (the folder was valid; "
			 "%zu write%s failed): the store holds part of the folder; run the "
			 "import again",
			 writes, writes == 1 ? "" : "s", shown, d.errors - before,
			 d.errors - before == 1 ? "" : "s");
		cg_apiops_diag_out(&d, head, err, errlen);
		goto out;
	}
	cg_apiops_diag_out(&d, "", err, errlen);
	rc = 0;
	goto out;
refused:
	snprintf(head, sizeof(head),
		 "import of '%s' refused: nothing was changed (%zu problem%s):", dir, d.errors,
		 d.errors == 1 ? "" : "s");
	cg_apiops_diag_out(&d, head, err, errlen);
out:
	cg_store_close(dry);
	scratch_remove(&s);
	cg_store_close(real);
	cg_apiops_plan_free(&plan);
	cg_apiops_diag_free(&d);
	return rc;
}
