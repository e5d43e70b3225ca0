/* `certgate export DIR`: the store written in the APIOps layout that
 * `certgate import` reads (docs/apiops.md). What must not leave the store
 * never does: secret named values are written without their value (the
 * "secret": true flag is kept, so an import keeps the value it finds
 * stored), certificates are written as their public DER, never with a
 * private key, and subscriptions without their keys. Hostnames (server
 * certificates and keys) are not part of the layout and are not exported. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "apiops/apiops-int.h"
#include "store/breaker.h"
#include "apiops/apiops.h"
#include "store/cert.h"
#include "store/protocols.h"
#include "store/store.h"

/* The entries of the layout at the root: what --force replaces. */
static const char *const layout_entries[] = {
	"policy.xml",      "apis",     "named values", "policy fragments", "certificates",
	"ca certificates", "backends", "products",     "subscriptions",
};

struct ex {
	struct cg_store *st;
	struct cg_apiops_diag *d;
	const char *dir;
};

static bool path_of(struct ex *x, char *out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool path_of(struct ex *x, char *out, const char *fmt, ...)
{
	char rel[CG_APIOPS_MAX_PATH_LEN + 1];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	int m = n < 0 ? -1 : snprintf(out, CG_APIOPS_MAX_PATH_LEN + 1, "%s/%s", x->dir, rel);
	if (n < 0 || (size_t)n >= sizeof(rel) || m < 0 || m > CG_APIOPS_MAX_PATH_LEN) {
		cg_apiops_diag_add(x->d, true, "%s/%s: the path is longer than %d bytes", x->dir,
				   rel, CG_APIOPS_MAX_PATH_LEN);
		return false;
	}
	return true;
}

static bool make_dir(struct ex *x, const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return true;
	cg_apiops_diag_add(x->d, true, "%s: cannot create the folder: %s", path, strerror(errno));
	return false;
}

static bool write_file(struct ex *x, const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		cg_apiops_diag_add(x->d, true, "%s: cannot write: %s", path, strerror(errno));
		return false;
	}
	const char *p = data;
	while (len) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			cg_apiops_diag_add(x->d, true, "%s: cannot write: %s", path,
					   strerror(errno));
			close(fd);
			return false;
		}
		p += k;
		len -= (size_t)k;
	}
	if (close(fd) != 0) {
		cg_apiops_diag_add(x->d, true, "%s: cannot write: %s", path, strerror(errno));
		return false;
	}
	return true;
}

/* Writes {"properties": props} (taking props) as indented JSON. */
static bool write_info(struct ex *x, const char *path, json_t *props)
{
	json_t *j = props ? json_pack("{s:o}", "properties", props) : NULL;
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!text) {
		cg_apiops_diag_add(x->d, true, "%s: out of memory", path);
		return false;
	}
	/* jansson leaves the last line open; files end with a newline. */
	size_t n = strlen(text);
	char *line = realloc(text, n + 2);
	if (!line) {
		free(text);
		cg_apiops_diag_add(x->d, true, "%s: out of memory", path);
		return false;
	}
	line[n] = '\n';
	bool ok = write_file(x, path, line, n + 1);
	free(line);
	return ok;
}

/* An id becomes a folder name: the store's ids are [A-Za-z0-9-._]+, which
 * lets "." and ".." through; those would leave the entity's folder. */
static bool safe_name(struct ex *x, const char *what, const char *id)
{
	if (strcmp(id, ".") != 0 && strcmp(id, "..") != 0 && !strchr(id, '/'))
		return true;
	cg_apiops_diag_add(x->d, true, "%s '%s' cannot be written as a folder name", what, id);
	return false;
}

static bool write_policy(struct ex *x, const char *path, const struct cg_model_policy *p)
{
	/* The layout holds rawxml (APIOps has no place for a format). An
	 * "xml" policy is written as stored: import reads it as rawxml. */
	if (strcmp(p->format, "rawxml") != 0)
		cg_apiops_diag_add(x->d, false,
				   "%s: warning: the policy is stored in format '%s' and "
				   "written as it "
				   "is; import reads policy.xml as rawxml",
				   path, p->format);
	return write_file(x, path, p->value, strlen(p->value));
}

static const struct cg_model_policy *find_policy(const struct cg_model *m,
						 enum cg_model_policy_scope scope,
						 const char *api_id, const char *op_id)
{
	for (size_t i = 0; i < m->num_policies; i++) {
		const struct cg_model_policy *p = &m->policies[i];
		if (p->scope != scope)
			continue;
		if (scope != CG_MODEL_POLICY_GLOBAL && strcmp(p->api_id, api_id) != 0)
			continue;
		if (scope == CG_MODEL_POLICY_OPERATION && strcmp(p->op_id, op_id) != 0)
			continue;
		return p;
	}
	return NULL;
}

static void export_apis(struct ex *x, const struct cg_model *m)
{
	char p[CG_APIOPS_MAX_PATH_LEN + 1];
	if (m->num_apis && (!path_of(x, p, "apis") || !make_dir(x, p)))
		return;
	for (size_t i = 0; i < m->num_apis; i++) {
		const struct cg_model_api *a = &m->apis[i];
		if (!safe_name(x, "API id", a->id) || !path_of(x, p, "apis/%s", a->id) ||
		    !make_dir(x, p) || !path_of(x, p, "apis/%s/apiInformation.json", a->id))
			continue;
		/* subscriptionRequired is always written: APIM's default (true)
		 * is not certgate's. protocols too, so a folder says what it
		 * serves whatever reads it. */
		write_info(x, p,
			   json_pack("{s:s, s:s, s:s, s:o?, s:b, s:{s:s, s:s}}", "displayName",
				     a->display_name, "path", a->path, "serviceUrl", a->service_url,
				     "protocols", cg_store_protocols_json(a->protocols),
				     "subscriptionRequired", a->subscription_required,
				     "subscriptionKeyParameterNames", "header", a->sub_key_header,
				     "query", a->sub_key_query));
		const struct cg_model_policy *pol =
			find_policy(m, CG_MODEL_POLICY_API, a->id, NULL);
		if (pol && path_of(x, p, "apis/%s/policy.xml", a->id))
			write_policy(x, p, pol);
		if (a->num_ops && (!path_of(x, p, "apis/%s/operations", a->id) || !make_dir(x, p)))
			continue;
		for (size_t k = 0; k < a->num_ops; k++) {
			const struct cg_model_op *o = &a->ops[k];
			if (!safe_name(x, "operation id", o->id) ||
			    !path_of(x, p, "apis/%s/operations/%s", a->id, o->id) ||
			    !make_dir(x, p) ||
			    !path_of(x, p, "apis/%s/operations/%s/operationInformation.json", a->id,
				     o->id))
				continue;
			write_info(x, p,
				   json_pack("{s:s, s:s, s:s}", "displayName", o->display_name,
					     "method", o->method, "urlTemplate", o->url_template));
			pol = find_policy(m, CG_MODEL_POLICY_OPERATION, a->id, o->id);
			if (pol && path_of(x, p, "apis/%s/operations/%s/policy.xml", a->id, o->id))
				write_policy(x, p, pol);
		}
	}
}

static void export_nvs(struct ex *x, const struct cg_model *m)
{
	char p[CG_APIOPS_MAX_PATH_LEN + 1];
	char msg[CG_STORE_ERR_LEN];
	if (m->num_named_values && (!path_of(x, p, "named values") || !make_dir(x, p)))
		return;
	for (size_t i = 0; i < m->num_named_values; i++) {
		const struct cg_model_named_value *nv = &m->named_values[i];
		if (!safe_name(x, "named value", nv->name) ||
		    !path_of(x, p, "named values/%s", nv->name) || !make_dir(x, p) ||
		    !path_of(x, p, "named values/%s/namedValueInformation.json", nv->name))
			continue;
		/* The model has no tags: read them with the entity. */
		struct cg_store_nv full;
		memset(&full, 0, sizeof(full));
		json_t *tags = NULL;
		if (cg_store_nv_get(x->st, nv->name, &full, msg, sizeof(msg)) == 0)
			tags = json_loads(full.tags, 0, NULL);
		cg_store_nv_free(&full);
		json_t *props = json_pack("{s:s}", "displayName", nv->name);
		if (props && !nv->secret)
			json_object_set_new(props, "value", json_string(nv->value));
		if (props) {
			json_object_set_new(props, "secret", json_boolean(nv->secret));
			json_object_set_new(props, "tags", tags ? tags : json_array());
			tags = NULL;
		}
		json_decref(tags);
		write_info(x, p, props);
	}
}

static void export_fragments(struct ex *x, const struct cg_model *m)
{
	char p[CG_APIOPS_MAX_PATH_LEN + 1];
	if (m->num_fragments && (!path_of(x, p, "policy fragments") || !make_dir(x, p)))
		return;
	for (size_t i = 0; i < m->num_fragments; i++) {
		const struct cg_model_fragment *f = &m->fragments[i];
		if (!safe_name(x, "fragment id", f->id) ||
		    !path_of(x, p, "policy fragments/%s", f->id) || !make_dir(x, p) ||
		    !path_of(x, p, "policy fragments/%s/policyFragmentInformation.json", f->id))
			continue;
		/* APIOps strips value and format from this file; we keep the
		 * format, which import honours, so an "xml" fragment stays one. */
		write_info(x, p,
			   json_pack("{s:s, s:s}", "description",
				     f->description ? f->description : "", "format", f->format));
		if (path_of(x, p, "policy fragments/%s/policy.xml", f->id))
			write_file(x, p, f->value, strlen(f->value));
	}
}

/* certificates/ID or "ca certificates"/ID: certificate.cer (DER, public)
 * and an information file with APIM's read-only properties. */
static void export_cert(struct ex *x, const char *kind, const char *info_name, const char *id,
			const unsigned char *der, size_t der_len, json_t *extra)
{
	char p[CG_APIOPS_MAX_PATH_LEN + 1];
	if (!safe_name(x, "certificate id", id) || !path_of(x, p, "%s/%s", kind, id) ||
	    !make_dir(x, p) || !path_of(x, p, "%s/%s/certificate.cer", kind, id) ||
	    !write_file(x, p, der, der_len) || !path_of(x, p, "%s/%s/%s", kind, id, info_name)) {
		json_decref(extra);
		return;
	}
	const unsigned char *q = der;
	X509 *c = d2i_X509(NULL, &q, (long)der_len);
	struct cg_store_cert_info *info = c ? calloc(1, sizeof(*info)) : NULL;
	json_t *props = extra ? extra : json_object();
	if (info && props) {
		cg_store_cert_info_of(c, info);
		json_object_set_new(props, "subject", json_string(info->subject));
		json_object_set_new(props, "thumbprint", json_string(info->thumbprint));
		json_object_set_new(props, "expirationDate", json_string(info->not_after));
	}
	free(info);
	X509_free(c);
	write_info(x, p, props);
}

static void export_certs(struct ex *x, const struct cg_model *m)
{
	char p[CG_APIOPS_MAX_PATH_LEN + 1];
	if (m->num_certs && (!path_of(x, p, "certificates") || !make_dir(x, p)))
		return;
	for (size_t i = 0; i < m->num_certs; i++) {
		const struct cg_model_cert *c = &m->certs[i];
		if (c->has_key)
			cg_apiops_diag_add(
				x->d, false,
				"warning: certificate '%s': its private key is not "
				"exported; add "
				"it again with 'certgate cert add %s FILE' after an import",
				c->id, c->id);
		export_cert(x, "certificates", "certificateInformation.json", c->id, c->der,
			    c->der_len, NULL);
	}
	if (m->num_cas && (!path_of(x, p, "ca certificates") || !make_dir(x, p)))
		return;
	for (size_t i = 0; i < m->num_cas; i++) {
		const struct cg_model_ca *c = &m->cas[i];
		export_cert(x, "ca certificates", "caCertificateInformation.json", c->id, c->der,
			    c->der_len,
			    json_pack("{s:s}", "storeName",
				      c->intermediate ? "CertificateAuthority" : "Root"));
	}
}

static void export_backends(struct ex *x, const struct cg_model *m)
{
	char p[CG_APIOPS_MAX_PATH_LEN + 1];
	if (m->num_backends && (!path_of(x, p, "backends") || !make_dir(x, p)))
		return;
	for (size_t i = 0; i < m->num_backends; i++) {
		const struct cg_model_backend *b = &m->backends[i];
		if (!safe_name(x, "backend id", b->id) || !path_of(x, p, "backends/%s", b->id) ||
		    !make_dir(x, p) || !path_of(x, p, "backends/%s/backendInformation.json", b->id))
			continue;
		if (b->members) {
			write_info(x, p, json_pack("{s:s, s:s, s:o}", "protocol", "http", "type", "Pool",
						   "pool", cg_store_pool_to_json(b->members, b->num_members)));
			continue;
		}
		json_t *props = json_pack("{s:s, s:s}", "url", b->url, "protocol", "http");
		if (props && b->breaker_json)
			json_object_set_new(props, "circuitBreaker", json_loads(b->breaker_json, 0, NULL));
		if (props && b->client_cert_id) {
			char *rid = NULL;
			/* ARM names certificates by resource id; import takes the
			 * last segment, so the short form round-trips. */
			if (asprintf(&rid, "/certificates/%s", b->client_cert_id) > 0)
				json_object_set_new(props, "credentials",
						    json_pack("{s:[s]}", "certificateIds", rid));
			free(rid);
		}
		if (props)
			json_object_set_new(props, "tls",
					    json_pack("{s:b, s:b}", "validateCertificateChain",
						      b->validate_chain, "validateCertificateName",
						      b->validate_name));
		write_info(x, p, props);
	}
}

static const struct cg_model_policy *product_policy(const struct cg_model *m, const char *pid)
{
	for (size_t i = 0; i < m->num_policies; i++) {
		const struct cg_model_policy *p = &m->policies[i];
		if (p->scope == CG_MODEL_POLICY_PRODUCT && strcmp(p->product_id, pid) == 0)
			return p;
	}
	return NULL;
}

/* products/ID/apis/API/productApiInformation.json, as APIOps v6 and later
 * lay links out; apiId (what the latest releases read) names the API. */
static void export_product_apis(struct ex *x, const struct cg_model_product *pr)
{
	char p[CG_APIOPS_MAX_PATH_LEN + 1];
	if (pr->num_apis && (!path_of(x, p, "products/%s/apis", pr->id) || !make_dir(x, p)))
		return;
	for (size_t k = 0; k < pr->num_apis; k++) {
		const char *api = pr->apis[k];
		char *rid = NULL;
		if (!safe_name(x, "API id", api) ||
		    !path_of(x, p, "products/%s/apis/%s", pr->id, api) || !make_dir(x, p) ||
		    !path_of(x, p, "products/%s/apis/%s/productApiInformation.json", pr->id, api) ||
		    asprintf(&rid, "/apis/%s", api) < 0)
			continue;
		write_info(x, p, json_pack("{s:s}", "apiId", rid));
		free(rid);
	}
}

static void export_products(struct ex *x, const struct cg_model *m)
{
	char p[CG_APIOPS_MAX_PATH_LEN + 1];
	if (m->num_products && (!path_of(x, p, "products") || !make_dir(x, p)))
		return;
	for (size_t i = 0; i < m->num_products; i++) {
		const struct cg_model_product *pr = &m->products[i];
		if (!safe_name(x, "product id", pr->id) || !path_of(x, p, "products/%s", pr->id) ||
		    !make_dir(x, p) || !path_of(x, p, "products/%s/productInformation.json", pr->id))
			continue;
		/* Every property is written, so the folder says the same to
		 * whatever reads it (APIM's defaults are not all certgate's). */
		json_t *props = json_pack("{s:s, s:s, s:b, s:b, s:s}", "displayName",
					  pr->display_name, "description", pr->description,
					  "subscriptionRequired", pr->subscription_required,
					  "approvalRequired", pr->approval_required, "state",
					  pr->published ? "published" : "notPublished");
		if (props)
			json_object_set_new(props, "subscriptionsLimit",
					    pr->subscriptions_limit < 0
						    ? json_null()
						    : json_integer(pr->subscriptions_limit));
		write_info(x, p, props);
		const struct cg_model_policy *pol = product_policy(m, pr->id);
		if (pol && path_of(x, p, "products/%s/policy.xml", pr->id))
			write_policy(x, p, pol);
		export_product_apis(x, pr);
	}
}

/* Subscriptions without their keys, as APIM's extractor writes them (its
 * GET leaves the keys out): an import generates new keys, or keeps the
 * stored ones of a subscription it updates. */
static void export_subs(struct ex *x, const struct cg_model *m)
{
	char p[CG_APIOPS_MAX_PATH_LEN + 1];
	if (m->num_subs && (!path_of(x, p, "subscriptions") || !make_dir(x, p)))
		return;
	for (size_t i = 0; i < m->num_subs; i++) {
		const struct cg_model_sub *s = &m->subs[i];
		char scope[CG_STORE_SUB_SCOPE_LEN];
		cg_store_sub_scope(s, scope, sizeof(scope));
		if (!safe_name(x, "subscription id", s->id) ||
		    !path_of(x, p, "subscriptions/%s", s->id) || !make_dir(x, p) ||
		    !path_of(x, p, "subscriptions/%s/subscriptionInformation.json", s->id))
			continue;
		write_info(x, p,
			   json_pack("{s:s, s:s, s:s, s:s?}", "displayName", s->display_name,
				     "scope", scope, "state", s->state, "expirationDate",
				     s->expiration));
	}
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) ? -1 : 0;
}

/* Makes dir ready: created when missing; when it has entries, refused
 * unless force, which removes the layout's own root entries only (a git
 * checkout's .git, a README stay). */
static bool prepare_dir(struct ex *x, bool force)
{
	struct stat sb;
	if (strlen(x->dir) > CG_APIOPS_MAX_PATH_LEN - 64) {
		cg_apiops_diag_add(x->d, true, "%s: the path is longer than %d bytes", x->dir,
				   CG_APIOPS_MAX_PATH_LEN - 64);
		return false;
	}
	if (stat(x->dir, &sb) != 0) {
		if (mkdir(x->dir, 0755) == 0)
			return true;
		cg_apiops_diag_add(x->d, true, "%s: cannot create the folder: %s", x->dir,
				   strerror(errno));
		return false;
	}
	if (!S_ISDIR(sb.st_mode)) {
		cg_apiops_diag_add(x->d, true, "%s: not a folder", x->dir);
		return false;
	}
	DIR *dh = opendir(x->dir);
	if (!dh) {
		cg_apiops_diag_add(x->d, true, "%s: cannot open the folder: %s", x->dir,
				   strerror(errno));
		return false;
	}
	bool empty = true;
	struct dirent *e;
	while ((e = readdir(dh)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	closedir(dh);
	if (empty)
		return true;
	if (!force) {
		cg_apiops_diag_add(x->d, true,
				   "%s: the folder is not empty: use --force to replace its "
				   "APIOps entries",
				   x->dir);
		return false;
	}
	char p[CG_APIOPS_MAX_PATH_LEN + 1];
	for (size_t i = 0; i < sizeof(layout_entries) / sizeof(layout_entries[0]); i++) {
		if (!path_of(x, p, "%s", layout_entries[i]))
			return false;
		if (lstat(p, &sb) != 0)
			continue;
		if (nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
			cg_apiops_diag_add(x->d, true, "%s: cannot remove: %s", p, strerror(errno));
			return false;
		}
	}
	return true;
}

int cg_apiops_export(const char *store_path, const char *dir, int force, char *err, size_t errlen)
{
	struct cg_apiops_diag d;
	cg_apiops_diag_init(&d, errlen > 1 ? errlen : 1);
	char msg[CG_STORE_ERR_LEN];
	struct cg_model m;
	memset(&m, 0, sizeof(m));
	bool loaded = false;
	struct ex x = { NULL, &d, dir };
	x.st = cg_store_open(store_path, 1, msg, sizeof(msg));
	if (!x.st || cg_store_load_model(x.st, &m, msg, sizeof(msg))) {
		cg_apiops_diag_add(&d, true, "%s", msg);
		goto out;
	}
	loaded = true;
	if (!prepare_dir(&x, force))
		goto out;
	const struct cg_model_policy *global = find_policy(&m, CG_MODEL_POLICY_GLOBAL, NULL, NULL);
	char p[CG_APIOPS_MAX_PATH_LEN + 1];
	if (global && path_of(&x, p, "policy.xml"))
		write_policy(&x, p, global);
	export_nvs(&x, &m);
	export_fragments(&x, &m);
	export_certs(&x, &m);
	export_backends(&x, &m);
	export_apis(&x, &m);
	export_products(&x, &m);
	export_subs(&x, &m);
out:
	if (d.errors) {
		char head[CG_APIOPS_MAX_PATH_LEN + 256];
		snprintf(head, sizeof(head), "export to '%s' failed (%zu problem%s):", dir,
			 d.errors, d.errors == 1 ? "" : "s");
		cg_apiops_diag_out(&d, head, err, errlen);
	} else {
		cg_apiops_diag_out(&d, "", err, errlen);
	}
	int rc = d.errors ? -1 : 0;
	if (loaded)
		cg_model_free(&m);
	cg_store_close(x.st);
	cg_apiops_diag_free(&d);
	return rc;
}
