/* Reading an APIOps folder into a plan, before anything is written.
 *
 * Every file is read and parsed here (JSON with jansson, reporting its
 * line:col; policies as text, loaded later by the store's own validation),
 * every name and required property is checked, and every problem is
 * gathered, so the user sees them all in one run. Entries the layout does
 * not know are refused rather than skipped: silently dropping, say, a
 * product policy would leave an API less protected than the folder says. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "apiops/apiops-int.h"
#include "store/breaker.h"
#include "store/protocols.h"
#include "store/store.h"
#include "store/validate.h"

/* APIOps folders we know but do not import: refusing them by name says
 * more than "unknown entry". */
static const char *const unsupported_dirs[] = {
	"gateways", "groups",       "loggers",    "diagnostics",
	"tags",     "version sets", "workspaces",
};

struct rd {
	struct cg_apiops_plan *plan;
	struct cg_apiops_diag *d;
	const char *root;
};

static bool oom(struct rd *r, const char *what)
{
	cg_apiops_diag_add(r->d, true, "%s: out of memory", what);
	return false;
}

/* "dir/name" in the arena, or NULL (reported) past CG_APIOPS_MAX_PATH_LEN. */
static const char *join(struct rd *r, const char *dir, const char *name)
{
	size_t n = strlen(dir) + 1 + strlen(name);
	if (n > CG_APIOPS_MAX_PATH_LEN) {
		cg_apiops_diag_add(r->d, true, "%s/%s: the path is longer than %d bytes", dir, name,
				   CG_APIOPS_MAX_PATH_LEN);
		return NULL;
	}
	char *p = cg_arena_printf(&r->plan->arena, "%s/%s", dir, name);
	if (!p)
		oom(r, dir);
	return p;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The entries of dir, sorted (so writes and messages come in a stable
 * order), without "." and "..", and without hidden entries when
 * skip_hidden (the root of a git checkout holds .git). NULL on failure
 * (reported); *n = 0 for an empty folder. */
static const char **list_dir(struct rd *r, const char *dir, bool skip_hidden, size_t *n)
{
	*n = 0;
	DIR *dh = opendir(dir);
	if (!dh) {
		cg_apiops_diag_add(r->d, true, "%s: cannot open the folder: %s", dir,
				   strerror(errno));
		return NULL;
	}
	size_t cap = 16;
	const char **names = cg_arena_alloc(&r->plan->arena, cap * sizeof(*names));
	struct dirent *e;
	while (names && (e = readdir(dh))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (skip_hidden && e->d_name[0] == '.')
			continue;
		/* Links are not followed: a folder checked out from a repository
		 * must not make the import read files outside it. */
		struct stat sb;
		char lp[CG_APIOPS_MAX_PATH_LEN + 2];
		int k = snprintf(lp, sizeof(lp), "%s/%s", dir, e->d_name);
		if (k > 0 && (size_t)k < sizeof(lp) && lstat(lp, &sb) == 0 && S_ISLNK(sb.st_mode)) {
			cg_apiops_diag_add(r->d, true, "%s: a symbolic link: not followed", lp);
			continue;
		}
		if (*n == cap) {
			const char **bigger =
				cg_arena_alloc(&r->plan->arena, 2 * cap * sizeof(*names));
			if (bigger)
				memcpy(bigger, names, cap * sizeof(*names));
			names = bigger;
			cap *= 2;
			if (!names)
				break;
		}
		names[*n] = cg_arena_strndup(&r->plan->arena, e->d_name, strlen(e->d_name));
		if (!names[*n]) {
			names = NULL;
			break;
		}
		(*n)++;
	}
	closedir(dh);
	if (!names) {
		oom(r, dir);
		return NULL;
	}
	qsort(names, *n, sizeof(*names), cmp_names);
	return names;
}

static bool is_dir(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* Reads a regular file of at most CG_APIOPS_MAX_FILE_BYTES into the arena
 * (with a NUL after it). text: refuse NUL bytes (the store takes C
 * strings, and a NUL would cut the text silently). */
static bool read_file(struct rd *r, const char *path, bool text, const char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		cg_apiops_diag_add(r->d, true, "%s: cannot read: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		cg_apiops_diag_add(r->d, true, "%s: not a regular file", path);
		return false;
	}
	if (sb.st_size > CG_APIOPS_MAX_FILE_BYTES) {
		close(fd);
		cg_apiops_diag_add(r->d, true, "%s: the file is %lld bytes; at most %d are read",
				   path, (long long)sb.st_size, CG_APIOPS_MAX_FILE_BYTES);
		return false;
	}
	char *buf = cg_arena_alloc(&r->plan->arena, (size_t)sb.st_size + 1);
	if (!buf) {
		close(fd);
		return oom(r, path);
	}
	size_t got = 0;
	/* The size is checked again while reading: the file may grow. */
	while (got <= (size_t)sb.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)sb.st_size + 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			cg_apiops_diag_add(r->d, true, "%s: cannot read: %s", path,
					   strerror(errno));
			close(fd);
			return false;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	if (got > (size_t)sb.st_size) {
		cg_apiops_diag_add(r->d, true, "%s: the file changed while it was read", path);
		return false;
	}
	buf[got] = 0;
	if (text && memchr(buf, 0, got)) {
		cg_apiops_diag_add(r->d, true, "%s: the file contains a NUL byte", path);
		return false;
	}
	*out = buf;
	if (len)
		*len = got;
	return true;
}

/* Parses a JSON file and returns its root (a new reference), or NULL
 * after reporting "FILE:line:col: ..." (jansson's position). A UTF-8 BOM
 * (Windows editors write one) is skipped; it takes no column. */
static json_t *read_json(struct rd *r, const char *path)
{
	const char *data;
	size_t len;
	if (!read_file(r, path, false, &data, &len))
		return NULL;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		data += 3, len -= 3;
	json_error_t je;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	/* The text may hold a secret (a named value, a subscription key);
	 * what is kept is copied out of j, so the raw bytes are wiped now
	 * rather than left in the arena. */
	OPENSSL_cleanse((void *)data, len);
	if (!j)
		cg_apiops_diag_add(r->d, true, "%s:%d:%d: %s", path, je.line, je.column, je.text);
	return j;
}

/* The "properties" object of information file path's root j (taking j),
 * as a new reference, or NULL after reporting why. */
static json_t *props_of(struct rd *r, const char *path, json_t *j)
{
	json_t *props = json_is_object(j) ? json_object_get(j, "properties") : NULL;
	if (!json_is_object(j))
		cg_apiops_diag_add(r->d, true, "%s: expected a JSON object {\"properties\": {...}}",
				   path);
	else if (!props)
		cg_apiops_diag_add(r->d, true, "%s: missing required property 'properties'", path);
	else if (!json_is_object(props))
		cg_apiops_diag_add(r->d, true, "%s: property 'properties' must be an object", path);
	if (props && json_is_object(props))
		json_incref(props);
	else
		props = NULL;
	json_decref(j);
	return props;
}

/* Parses an information file and returns its "properties" object (a new
 * reference), or NULL after reporting why. */
static json_t *read_info(struct rd *r, const char *path)
{
	json_t *j = read_json(r, path);
	return j ? props_of(r, path, j) : NULL;
}

/* A string property copied to the arena. Absent: *out = NULL, and an
 * error when required. */
static bool get_str(struct rd *r, json_t *props, const char *key, bool required, const char *path,
		    const char **out)
{
	*out = NULL;
	json_t *v = json_object_get(props, key);
	if (!v || json_is_null(v)) {
		if (required)
			cg_apiops_diag_add(r->d, true,
					   "%s: missing required property 'properties.%s'", path,
					   key);
		return !required;
	}
	if (!json_is_string(v)) {
		cg_apiops_diag_add(r->d, true, "%s: property 'properties.%s' must be a string",
				   path, key);
		return false;
	}
	size_t n = json_string_length(v);
	if (memchr(json_string_value(v), 0, n)) {
		cg_apiops_diag_add(r->d, true, "%s: property 'properties.%s' contains a NUL", path,
				   key);
		return false;
	}
	*out = cg_arena_strndup(&r->plan->arena, json_string_value(v), n);
	return *out ? true : oom(r, path);
}

static bool get_bool(struct rd *r, json_t *props, const char *key, const char *path, bool *out)
{
	json_t *v = json_object_get(props, key);
	if (!v || json_is_null(v))
		return true;
	if (!json_is_boolean(v)) {
		cg_apiops_diag_add(r->d, true, "%s: property 'properties.%s' must be true or false",
				   path, key);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

/* subscriptionKeyParameterNames {header, query} of an API (both optional). */
static bool key_names(struct rd *r, json_t *props, struct cg_apiops_api *api)
{
	json_t *n = json_object_get(props, "subscriptionKeyParameterNames");
	if (!n || json_is_null(n))
		return true;
	if (!json_is_object(n)) {
		cg_apiops_diag_add(r->d, true,
				   "%s: property 'properties.subscriptionKeyParameterNames' must be "
				   "an object {header, query}",
				   api->file);
		return false;
	}
	bool ok = get_str(r, n, "header", false, api->file, &api->sub_key_header);
	return get_str(r, n, "query", false, api->file, &api->sub_key_query) && ok;
}

/* protocols of an API: absent or null leaves 0 (http and https on create, kept on
 * update); else a non-empty array of "http"/"https". */
static bool api_protocols(struct rd *r, json_t *props, struct cg_apiops_api *api)
{
	json_t *v = json_object_get(props, "protocols");
	char err[CG_STORE_ERR_LEN];
	if (!v || json_is_null(v))
		return true;
	if (cg_store_protocols_from_json(v, "property 'properties.protocols'", &api->protocols, err,
					 sizeof(err)) == 0)
		return true;
	cg_apiops_diag_add(r->d, true, "%s: %s", api->file, err);
	return false;
}

/* Grows an arena array by one zeroed element; NULL when out of memory. */
static void *push(struct rd *r, void **arr, size_t *n, size_t size)
{
	/* Capacities are powers of two from 8: n tells when to grow. */
	if (*n >= 8 && (*n & (*n - 1)) == 0) {
		void *bigger = cg_arena_alloc(&r->plan->arena, 2 * *n * size);
		if (!bigger)
			return NULL;
		memcpy(bigger, *arr, *n * size);
		*arr = bigger;
	} else if (*n == 0) {
		*arr = cg_arena_alloc(&r->plan->arena, 8 * size);
		if (!*arr)
			return NULL;
	}
	char *e = (char *)*arr + *n * size;
	memset(e, 0, size);
	(*n)++;
	return e;
}

/* Counts the n entity folders of a listing against CG_APIOPS_MAX_ENTITIES
 * before any of them is read, so an oversized folder is refused at once
 * (and its message is not lost behind one line per folder). */
static bool count_entities(struct rd *r, const char *path, size_t n)
{
	if (r->plan->entities > CG_APIOPS_MAX_ENTITIES ||
	    n > CG_APIOPS_MAX_ENTITIES - r->plan->entities) {
		if (r->plan->entities <= CG_APIOPS_MAX_ENTITIES)
			cg_apiops_diag_add(r->d, true,
					   "%s: more than %d entity folders in one import", path,
					   CG_APIOPS_MAX_ENTITIES);
		r->plan->entities = CG_APIOPS_MAX_ENTITIES + 1;
		return false;
	}
	r->plan->entities += n;
	return true;
}

static bool check_id(struct rd *r, const char *what, const char *id, const char *path)
{
	char msg[CG_STORE_ERR_LEN];
	if (cg_store_check_id(what, id, msg, sizeof(msg)) == 0)
		return true;
	cg_apiops_diag_add(r->d, true, "%s: %s", path, msg);
	return false;
}

static void unknown_entry(struct rd *r, const char *path, const char *expected)
{
	cg_apiops_diag_add(r->d, true, "%s: unknown entry (expected %s)", path, expected);
}

/* The properties of dir/name, the one file an entity folder of that kind
 * holds (any other entry is refused). *info is its path, for messages.
 * NULL after a diagnostic. */
static json_t *read_only_info(struct rd *r, const char *dir, const char *name, const char **info)
{
	size_t n;
	const char **names = list_dir(r, dir, false, &n);
	*info = NULL;
	if (!names)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *p = join(r, dir, names[i]);
		if (p && strcmp(names[i], name) == 0)
			*info = p;
		else if (p)
			unknown_entry(r, p, name);
	}
	if (!*info) {
		cg_apiops_diag_add(r->d, true, "%s: missing %s", dir, name);
		return NULL;
	}
	return read_info(r, *info);
}

/* ---- named values/<name>/namedValueInformation.json ---- */

static void read_nv(struct rd *r, const char *dir, const char *name)
{
	const char *info;
	json_t *props = read_only_info(r, dir, "namedValueInformation.json", &info);
	if (!props)
		return;
	struct cg_apiops_nv nv = { .file = info };
	bool ok = get_str(r, props, "displayName", false, info, &nv.name) &&
		  get_str(r, props, "value", false, info, &nv.value) &&
		  get_bool(r, props, "secret", info, &nv.secret);
	if (ok && json_object_get(props, "keyVault") &&
	    !json_is_null(json_object_get(props, "keyVault"))) {
		cg_apiops_diag_add(r->d, true,
				   "%s: Key Vault named values are not supported: give the value "
				   "in 'properties.value'",
				   info);
		ok = false;
	}
	if (ok && !nv.name)
		nv.name = name;
	if (ok && !nv.value && !nv.secret) {
		cg_apiops_diag_add(r->d, true, "%s: missing required property 'properties.value'",
				   info);
		ok = false;
	}
	char msg[CG_STORE_ERR_LEN];
	if (ok && cg_store_check_nv_name(nv.name, msg, sizeof(msg))) {
		cg_apiops_diag_add(r->d, true, "%s: %s", info, msg);
		ok = false;
	}
	json_t *tags = json_object_get(props, "tags");
	if (ok && tags && !json_is_null(tags)) {
		if (!json_is_array(tags)) {
			cg_apiops_diag_add(r->d, true,
					   "%s: property 'properties.tags' must be an array", info);
			ok = false;
		} else {
			size_t nt = json_array_size(tags);
			nv.tags = cg_arena_alloc(&r->plan->arena, (nt ? nt : 1) * sizeof(char *));
			if (!nv.tags)
				ok = oom(r, info);
			for (size_t i = 0; ok && i < nt; i++) {
				json_t *t = json_array_get(tags, i);
				if (!json_is_string(t)) {
					cg_apiops_diag_add(
						r->d, true,
						"%s: 'properties.tags' must hold strings", info);
					ok = false;
					break;
				}
				nv.tags[i] = cg_arena_strndup(&r->plan->arena, json_string_value(t),
							      strlen(json_string_value(t)));
				if (!nv.tags[i])
					ok = oom(r, info);
			}
			nv.num_tags = nt;
		}
	}
	json_decref(props);
	if (!ok)
		return;
	struct cg_apiops_nv *slot = push(r, (void **)&r->plan->nvs, &r->plan->num_nvs, sizeof(nv));
	if (!slot) {
		oom(r, info);
		return;
	}
	*slot = nv;
}

static int cmp_nv(const void *a, const void *b)
{
	const struct cg_apiops_nv *x = *(const struct cg_apiops_nv *const *)a;
	const struct cg_apiops_nv *y = *(const struct cg_apiops_nv *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->file, y->file);
}

/* Policies name a value by displayName, not by its folder: two folders
 * giving one name would leave it to folder order which one wins. Sorted,
 * so 100 000 names cost n log n, not n^2. */
static void check_nv_duplicates(struct rd *r)
{
	size_t n = r->plan->num_nvs;
	if (n < 2)
		return;
	const struct cg_apiops_nv **v = cg_arena_alloc(&r->plan->arena, n * sizeof(*v));
	if (!v) {
		oom(r, "named values");
		return;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = &r->plan->nvs[i];
	qsort(v, n, sizeof(*v), cmp_nv);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i - 1]->name, v[i]->name) == 0)
			cg_apiops_diag_add(r->d, true, "%s: named value '%s' is also given by %s",
					   v[i]->file, v[i]->name, v[i - 1]->file);
}

/* ---- certificates/<id>/certificate.{pem,cer,pfx} (our extension) ---- */

static const char *const cert_files[] = { "certificate.pem", "certificate.cer", "certificate.pfx" };

static void read_cert(struct rd *r, const char *dir, const char *id, bool ca)
{
	const char *info_name =
		ca ? "caCertificateInformation.json" : "certificateInformation.json";
	if (!check_id(r, ca ? "CA certificate id" : "certificate id", id, dir))
		return;
	size_t n;
	const char **names = list_dir(r, dir, false, &n);
	if (!names)
		return;
	const char *file = NULL, *info = NULL;
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		const char *p = join(r, dir, names[i]);
		if (!p) {
			ok = false;
			continue;
		}
		bool is_cert = false;
		for (size_t k = 0; k < 3; k++)
			is_cert = is_cert || strcmp(names[i], cert_files[k]) == 0;
		if (is_cert && file) {
			cg_apiops_diag_add(r->d, true,
					   "%s: two certificate files (%s and %s): keep one", dir,
					   strrchr(file, '/') + 1, names[i]);
			ok = false;
		} else if (is_cert) {
			file = p;
		} else if (strcmp(names[i], info_name) == 0) {
			info = p;
		}
		/* Any other entry must be the password file the information
		 * file names: checked once that file is read. */
	}
	if (!file) {
		cg_apiops_diag_add(r->d, true,
				   "%s: missing the certificate file (certificate.pem, "
				   "certificate.cer or certificate.pfx)",
				   dir);
		return;
	}
	struct cg_apiops_cert c = { .file = file, .id = id, .ca = ca };
	const char *password_file = NULL;
	if (info) {
		json_t *props = read_info(r, info);
		if (!props)
			return;
		const char *store_name = NULL;
		ok = get_str(r, props, "passwordFile", false, info, &password_file) &&
		     get_str(r, props, "thumbprint", false, info, &c.thumbprint) && ok;
		if (ca && ok && get_str(r, props, "storeName", false, info, &store_name) &&
		    store_name) {
			if (strcmp(store_name, "CertificateAuthority") == 0)
				c.intermediate = true;
			else if (strcmp(store_name, "Root") != 0) {
				cg_apiops_diag_add(r->d, true,
						   "%s: 'properties.storeName' must be \"Root\" or "
						   "\"CertificateAuthority\"",
						   info);
				ok = false;
			}
		}
		json_decref(props);
	}
	/* Everything else in the folder must be the password file. */
	for (size_t i = 0; i < n; i++) {
		const char *p = cg_arena_printf(&r->plan->arena, "%s/%s", dir, names[i]);
		if (!p || (file && strcmp(p, file) == 0) || (info && strcmp(p, info) == 0))
			continue;
		bool is_cert = false;
		for (size_t k = 0; k < 3; k++)
			is_cert = is_cert || strcmp(names[i], cert_files[k]) == 0;
		if (is_cert)
			continue;
		if (password_file && strcmp(names[i], password_file) == 0)
			continue;
		unknown_entry(
			r, p,
			password_file
				? "the certificate, its information file and its password file"
				: "the certificate file and its information file");
		ok = false;
	}
	if (!ok)
		return;
	if (!read_file(r, file, false, (const char **)&c.data, &c.len))
		return;
	if (password_file) {
		/* A name in the certificate's folder, or an absolute path (so a
		 * password can live outside the repository). */
		const char *pp = password_file;
		if (pp[0] != '/') {
			if (strchr(pp, '/') || strcmp(pp, "..") == 0 || strcmp(pp, ".") == 0) {
				cg_apiops_diag_add(
					r->d, true,
					"%s: 'properties.passwordFile' must be a file name "
					"in the certificate's folder or an absolute path",
					info);
				return;
			}
			pp = join(r, dir, pp);
			if (!pp)
				return;
		}
		const char *pw;
		size_t pwlen;
		if (!read_file(r, pp, true, &pw, &pwlen))
			return;
		/* One final newline is dropped, as `cert add --password-file` does. */
		char *w = (char *)pw;
		if (pwlen && w[pwlen - 1] == '\n')
			w[--pwlen] = 0;
		if (pwlen && w[pwlen - 1] == '\r')
			w[--pwlen] = 0;
		c.password = pw;
	}
	struct cg_apiops_cert *slot =
		push(r, (void **)&r->plan->certs, &r->plan->num_certs, sizeof(c));
	if (!slot) {
		oom(r, file);
		return;
	}
	*slot = c;
}

/* ---- backends/<id>/backendInformation.json ---- */

/* Backend properties certgate does not implement. Each one changes what
 * the backend receives or where requests go, so dropping it silently would
 * make the gateway behave differently from APIM: refuse it instead. */
static const char *const unsupported_backend_props[] = {
	"proxy", "serviceFabricCluster",
};
static const char *const unsupported_credentials[] = {
	"certificate", "query", "header", "authorization", "managedIdentity",
};

static bool backend_tls(struct rd *r, json_t *props, const char *info, struct cg_apiops_backend *b)
{
	json_t *tls = json_object_get(props, "tls");
	if (!tls || json_is_null(tls))
		return true;
	if (!json_is_object(tls)) {
		cg_apiops_diag_add(r->d, true, "%s: property 'properties.tls' must be an object",
				   info);
		return false;
	}
	bool ok = true;
	static const char *const keys[] = { "validateCertificateChain", "validateCertificateName" };
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(tls, keys[i]);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_boolean(v)) {
			cg_apiops_diag_add(r->d, true,
					   "%s: property 'properties.tls.%s' must be true or false",
					   info, keys[i]);
			ok = false;
		} else if (i == 0) {
			b->validate_chain = json_is_true(v);
		} else {
			b->validate_name = json_is_true(v);
		}
	}
	return ok;
}

/* credentials.certificateIds: ARM resource ids ".../certificates/ID" (or a
 * bare id); the store presents one client certificate per backend. */
static bool backend_credentials(struct rd *r, json_t *props, const char *info,
				struct cg_apiops_backend *b)
{
	json_t *cr = json_object_get(props, "credentials");
	if (!cr || json_is_null(cr))
		return true;
	if (!json_is_object(cr)) {
		cg_apiops_diag_add(r->d, true,
				   "%s: property 'properties.credentials' must be an object", info);
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < sizeof(unsupported_credentials) / sizeof(char *); i++) {
		json_t *v = json_object_get(cr, unsupported_credentials[i]);
		if (v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0) &&
		    !(json_is_object(v) && json_object_size(v) == 0)) {
			cg_apiops_diag_add(r->d, true,
					   "%s: 'properties.credentials.%s' is not supported by "
					   "certgate (only certificateIds)",
					   info, unsupported_credentials[i]);
			ok = false;
		}
	}
	json_t *ids = json_object_get(cr, "certificateIds");
	if (!ok || !ids || json_is_null(ids))
		return ok;
	if (!json_is_array(ids) || json_array_size(ids) > 1 ||
	    (json_array_size(ids) == 1 && !json_is_string(json_array_get(ids, 0)))) {
		cg_apiops_diag_add(r->d, true,
				   "%s: 'properties.credentials.certificateIds' must be an array "
				   "of at most one certificate id",
				   info);
		return false;
	}
	if (json_array_size(ids) == 0)
		return true;
	const char *v = json_string_value(json_array_get(ids, 0));
	const char *slash = strrchr(v, '/');
	if (slash) {
		const char *marker = strstr(v, "/certificates/");
		if (!marker || marker + 13 != slash) {
			cg_apiops_diag_add(r->d, true,
					   "%s: '%s' in 'properties.credentials.certificateIds' is "
					   "not a certificate resource id (.../certificates/ID)",
					   info, v);
			return false;
		}
		v = slash + 1;
	}
	b->client_cert_id = cg_arena_strndup(&r->plan->arena, v, strlen(v));
	return b->client_cert_id ? check_id(r, "certificate id", v, info) : oom(r, info);
}

/* type and pool: a pool's members into the plan's arena. */
static bool backend_pool(struct rd *r, json_t *props, const char *info, struct cg_apiops_backend *b)
{
	const char *type = NULL;
	json_t *pool = json_object_get(props, "pool");
	char err[256];
	struct cg_model_pool_member m[CG_STORE_MAX_POOL_MEMBERS];
	if (!get_str(r, props, "type", false, info, &type))
		return false;
	if (type && strcmp(type, "Single") != 0 && strcmp(type, "Pool") != 0) {
		cg_apiops_diag_add(r->d, true,
				   "%s: 'properties.type' \"%s\" is not a backend type (\"Single\" or "
				   "\"Pool\")",
				   info, type);
		return false;
	}
	b->is_pool = type && strcmp(type, "Pool") == 0;
	bool has_pool = pool && !json_is_null(pool);
	if (has_pool != b->is_pool) {
		cg_apiops_diag_add(r->d, true, "%s: %s", info,
				   has_pool ? "'properties.pool' needs 'properties.type' \"Pool\""
					    : "'properties.type' \"Pool\" needs 'properties.pool'");
		return false;
	}
	if (!has_pool)
		return true;
	if (cg_store_pool_from_json(pool, m, &b->num_members, err, sizeof(err))) {
		cg_apiops_diag_add(r->d, true, "%s: %s", info, err);
		return false;
	}
	b->members = cg_arena_alloc(&r->plan->arena, sizeof(m[0]) * b->num_members);
	for (size_t i = 0; b->members && i < b->num_members; i++) {
		b->members[i] = m[i];
		b->members[i].backend_id =
			cg_arena_strndup(&r->plan->arena, m[i].backend_id, strlen(m[i].backend_id));
		if (!b->members[i].backend_id)
			return oom(r, info);
	}
	return b->members ? true : oom(r, info);
}

/* circuitBreaker: checked now (every problem of the folder in one run),
 * kept as JSON text for the store. */
static bool backend_breaker(struct rd *r, json_t *props, const char *info, struct cg_apiops_backend *b)
{
	json_t *cb = json_object_get(props, "circuitBreaker");
	struct cg_model_breaker rule;
	bool has;
	char err[256];
	if (cg_store_breaker_from_json(cb, &rule, &has, err, sizeof(err))) {
		cg_apiops_diag_add(r->d, true, "%s: %s", info, err);
		return false;
	}
	if (!has)
		return true;
	char *text = json_dumps(cb, JSON_COMPACT);
	b->breaker_json = text ? cg_arena_strndup(&r->plan->arena, text, strlen(text)) : NULL;
	free(text);
	return b->breaker_json ? true : oom(r, info);
}

static void read_backend(struct rd *r, const char *dir, const char *id)
{
	if (!check_id(r, "backend id", id, dir))
		return;
	const char *info;
	json_t *props = read_only_info(r, dir, "backendInformation.json", &info);
	if (!props)
		return;
	struct cg_apiops_backend b = {
		.file = info, .id = id, .validate_chain = true, .validate_name = true
	};
	const char *protocol = NULL;
	bool ok = backend_pool(r, props, info, &b);
	ok = get_str(r, props, "url", !b.is_pool, info, &b.url) && ok;
	ok = backend_breaker(r, props, info, &b) && ok;
	ok = get_str(r, props, "protocol", false, info, &protocol) && ok;
	if (protocol && strcmp(protocol, "http") != 0) {
		cg_apiops_diag_add(r->d, true,
				   "%s: 'properties.protocol' \"%s\" is not supported (only "
				   "\"http\")",
				   info, protocol);
		ok = false;
	}
	for (size_t i = 0; i < sizeof(unsupported_backend_props) / sizeof(char *); i++) {
		json_t *v = json_object_get(props, unsupported_backend_props[i]);
		if (!v || json_is_null(v))
			continue;
		cg_apiops_diag_add(r->d, true, "%s: 'properties.%s' is not supported by certgate",
				   info, unsupported_backend_props[i]);
		ok = false;
	}
	ok = backend_tls(r, props, info, &b) && ok;
	ok = backend_credentials(r, props, info, &b) && ok;
	json_decref(props);
	if (!ok)
		return;
	struct cg_apiops_backend *slot =
		push(r, (void **)&r->plan->backends, &r->plan->num_backends, sizeof(b));
	if (!slot) {
		oom(r, dir);
		return;
	}
	*slot = b;
}

/* ---- policy fragments/<id>/{policyFragmentInformation.json, policy.xml} ---- */

static void read_fragment(struct rd *r, const char *dir, const char *id)
{
	if (!check_id(r, "fragment id", id, dir))
		return;
	size_t n;
	const char **names = list_dir(r, dir, false, &n);
	if (!names)
		return;
	const char *info = NULL, *pol = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *p = join(r, dir, names[i]);
		if (!p)
			continue;
		if (strcmp(names[i], "policyFragmentInformation.json") == 0)
			info = p;
		else if (strcmp(names[i], "policy.xml") == 0)
			pol = p;
		else
			unknown_entry(r, p, "policyFragmentInformation.json and policy.xml");
	}
	struct cg_apiops_fragment f = { .file = pol, .id = id, .format = "rawxml" };
	bool ok = true;
	if (info) {
		json_t *props = read_info(r, info);
		if (!props)
			return;
		const char *format = NULL;
		ok = get_str(r, props, "description", false, info, &f.description) &&
		     get_str(r, props, "format", false, info, &format) &&
		     get_str(r, props, "value", false, info, &f.text);
		json_decref(props);
		if (format)
			f.format = format; /* the store refuses what it does not know */
		if (f.text && pol) {
			cg_apiops_diag_add(
				r->d, true,
				"%s: the fragment text is given twice ('properties.value' "
				"and policy.xml): keep policy.xml",
				info);
			ok = false;
		}
		if (f.text)
			f.file = info;
	}
	if (!ok)
		return;
	if (!pol && !f.text) {
		cg_apiops_diag_add(r->d, true, "%s: missing policy.xml (the fragment's text)", dir);
		return;
	}
	if (pol && !read_file(r, pol, true, &f.text, NULL))
		return;
	struct cg_apiops_fragment *slot =
		push(r, (void **)&r->plan->frags, &r->plan->num_frags, sizeof(f));
	if (!slot) {
		oom(r, dir);
		return;
	}
	*slot = f;
}

/* ---- apis/<id>/... ---- */

static void read_op(struct rd *r, struct cg_apiops_api *api, const char *dir, const char *id)
{
	if (!check_id(r, "operation id", id, dir))
		return;
	size_t n;
	const char **names = list_dir(r, dir, false, &n);
	if (!names)
		return;
	struct cg_apiops_op op = { .id = id };
	for (size_t i = 0; i < n; i++) {
		const char *p = join(r, dir, names[i]);
		if (!p)
			continue;
		if (strcmp(names[i], "operationInformation.json") == 0)
			op.file = p;
		else if (strcmp(names[i], "policy.xml") == 0)
			op.policy_file = p;
		else
			unknown_entry(r, p, "operationInformation.json and policy.xml");
	}
	if (!op.file && !op.policy_file) {
		/* APIOps keeps operations in the API's specification file,
		 * which certgate does not read: say what to add. */
		cg_apiops_diag_add(
			r->d, true,
			"%s: missing operationInformation.json ({\"properties\": "
			"{\"displayName\", \"method\", \"urlTemplate\"}}); certgate does "
			"not read operations from specification files",
			dir);
		return;
	}
	if (!op.file) {
		/* Only a policy.xml, as the APIOps extractor writes it: the
		 * operation itself must already be in the store (`op set`);
		 * the dry run says so when it is not. */
		if (!read_file(r, op.policy_file, true, &op.policy, NULL))
			return;
		struct cg_apiops_op *slot = push(r, (void **)&api->ops, &api->num_ops, sizeof(op));
		if (!slot)
			oom(r, dir);
		else
			*slot = op;
		return;
	}
	json_t *props = read_info(r, op.file);
	if (!props)
		return;
	bool ok = get_str(r, props, "displayName", true, op.file, &op.display_name);
	ok = get_str(r, props, "method", true, op.file, &op.method) && ok;
	ok = get_str(r, props, "urlTemplate", true, op.file, &op.url_template) && ok;
	json_decref(props);
	if (op.policy_file && !read_file(r, op.policy_file, true, &op.policy, NULL))
		ok = false;
	if (!ok)
		return;
	struct cg_apiops_op *slot = push(r, (void **)&api->ops, &api->num_ops, sizeof(op));
	if (!slot) {
		oom(r, dir);
		return;
	}
	*slot = op;
}

static bool is_specification(const char *name)
{
	static const char *const exts[] = { "yaml", "yml", "json", "wsdl", "wadl", "graphql" };
	if (strncmp(name, "specification.", 14) != 0)
		return false;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (strcmp(name + 14, exts[i]) == 0)
			return true;
	return false;
}

static void read_api(struct rd *r, const char *dir, const char *id)
{
	if (strstr(id, ";rev=")) {
		cg_apiops_diag_add(r->d, true,
				   "%s: API revisions are not supported: import the current "
				   "revision only",
				   dir);
		return;
	}
	if (!check_id(r, "API id", id, dir))
		return;
	size_t n;
	const char **names = list_dir(r, dir, false, &n);
	if (!names)
		return;
	struct cg_apiops_api api = { .id = id };
	const char *ops_dir = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *p = join(r, dir, names[i]);
		if (!p)
			continue;
		if (strcmp(names[i], "apiInformation.json") == 0)
			api.file = p;
		else if (strcmp(names[i], "policy.xml") == 0)
			api.policy_file = p;
		else if (strcmp(names[i], "operations") == 0 && is_dir(p))
			ops_dir = p;
		else if (is_specification(names[i]))
			cg_apiops_diag_add(r->d, false,
					   "%s: warning: ignored: certgate does not read "
					   "specification "
					   "files; describe each operation in "
					   "operations/<name>/operationInformation.json",
					   p);
		else
			unknown_entry(r, p,
				      "apiInformation.json, policy.xml, operations/ and "
				      "specification.*");
	}
	if (!api.file) {
		cg_apiops_diag_add(r->d, true, "%s: missing apiInformation.json", dir);
		return;
	}
	json_t *props = read_info(r, api.file);
	if (!props)
		return;
	bool ok = get_str(r, props, "displayName", true, api.file, &api.display_name);
	ok = get_str(r, props, "path", true, api.file, &api.path) && ok;
	ok = get_str(r, props, "serviceUrl", true, api.file, &api.service_url) && ok;
	bool sub = false;
	json_t *sr = json_object_get(props, "subscriptionRequired");
	ok = get_bool(r, props, "subscriptionRequired", api.file, &sub) && ok;
	api.subscription_required = sr && !json_is_null(sr) ? sub : -1; /* -1: keep / false */
	ok = key_names(r, props, &api) && ok;
	ok = api_protocols(r, props, &api) && ok;
	json_decref(props);
	if (api.policy_file && !read_file(r, api.policy_file, true, &api.policy, NULL))
		ok = false;
	if (ops_dir) {
		size_t no;
		const char **ops = list_dir(r, ops_dir, false, &no);
		if (ops && !count_entities(r, ops_dir, no))
			ops = NULL;
		for (size_t i = 0; ops && i < no; i++) {
			const char *p = join(r, ops_dir, ops[i]);
			if (!p)
				continue;
			if (!is_dir(p))
				unknown_entry(r, p, "a folder per operation");
			else
				read_op(r, &api, p, ops[i]);
		}
	}
	if (!ok)
		return;
	struct cg_apiops_api *slot =
		push(r, (void **)&r->plan->apis, &r->plan->num_apis, sizeof(api));
	if (!slot) {
		oom(r, dir);
		return;
	}
	*slot = api;
}

/* ---- products/<id>/... ---- */

/* Adds API api (named by file) to the product's links. */
static bool product_link(struct rd *r, struct cg_apiops_product *p, const char *api,
			 const char *file)
{
	if (!check_id(r, "API id", api, file))
		return false;
	struct cg_apiops_link *l = push(r, (void **)&p->links, &p->num_links, sizeof(*l));
	const char *copy = cg_arena_strndup(&r->plan->arena, api, strlen(api));
	if (!l || !copy)
		return oom(r, file);
	l->api = copy;
	l->file = file;
	return true;
}

/* apis.json (APIOps up to v5): [{"name": "API"}, ...]. */
static bool product_apis_json(struct rd *r, struct cg_apiops_product *p, const char *path)
{
	json_t *j = read_json(r, path);
	if (!j)
		return false;
	bool ok = json_is_array(j);
	for (size_t i = 0; ok && i < json_array_size(j); i++) {
		json_t *name = json_object_get(json_array_get(j, i), "name");
		ok = json_is_string(name) && product_link(r, p, json_string_value(name), path);
		if (!json_is_string(name))
			cg_apiops_diag_add(r->d, true,
					   "%s: expected an array of {\"name\": \"API id\"} objects "
					   "(element %zu is not one)",
					   path, i + 1);
	}
	if (!json_is_array(j))
		cg_apiops_diag_add(r->d, true, "%s: expected an array of {\"name\": \"API id\"} objects",
				   path);
	json_decref(j);
	return ok;
}

/* apis/LINK/productApiInformation.json (APIOps v6 and later): "{}" with
 * LINK the API's id, or {"properties": {"apiId": ".../apis/API"}} (the
 * link's own name in the folder, the API in apiId). */
static bool product_api_link(struct rd *r, struct cg_apiops_product *p, const char *dir,
			     const char *link)
{
	size_t n;
	const char **names = list_dir(r, dir, false, &n);
	const char *file = NULL;
	if (!names)
		return false;
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		const char *q = join(r, dir, names[i]);
		if (q && strcmp(names[i], "productApiInformation.json") == 0) {
			file = q;
		} else {
			if (q)
				unknown_entry(r, q, "productApiInformation.json");
			ok = false;
		}
	}
	if (!file)
		cg_apiops_diag_add(r->d, true, "%s: missing productApiInformation.json", dir);
	if (!ok || !file)
		return false;
	json_t *j = read_json(r, file);
	if (!j)
		return false;
	json_t *props = json_object_get(j, "properties");
	json_t *api_id = props ? json_object_get(props, "apiId") : NULL;
	const char *api = link;
	if (!json_is_object(j) || (props && !json_is_null(props) && !json_is_object(props)) ||
	    (api_id && !json_is_null(api_id) && !json_is_string(api_id))) {
		cg_apiops_diag_add(r->d, true,
				   "%s: expected {} or {\"properties\": {\"apiId\": \"/apis/API\"}}",
				   file);
		json_decref(j);
		return false;
	}
	if (json_is_string(api_id)) {
		const char *v = json_string_value(api_id), *slash = strrchr(v, '/');
		const char *marker = strstr(v, "/apis/");
		if (slash && (!marker || marker + 5 != slash)) {
			cg_apiops_diag_add(r->d, true,
					   "%s: '%s' in 'properties.apiId' is not an API resource id "
					   "(.../apis/API)",
					   file, v);
			json_decref(j);
			return false;
		}
		api = slash ? slash + 1 : v;
	}
	ok = product_link(r, p, api, file);
	json_decref(j);
	return ok;
}

static int cmp_links(const void *a, const void *b)
{
	return strcmp(((const struct cg_apiops_link *)a)->api,
		      ((const struct cg_apiops_link *)b)->api);
}

/* Sorted by API id without repeats (an API named twice is one link), so
 * the import can tell in n log n which stored links the folder drops. */
static void product_links_sort(struct cg_apiops_product *p)
{
	if (p->num_links < 2)
		return;
	qsort(p->links, p->num_links, sizeof(*p->links), cmp_links);
	size_t k = 1;
	for (size_t i = 1; i < p->num_links; i++)
		if (strcmp(p->links[i].api, p->links[k - 1].api) != 0)
			p->links[k++] = p->links[i];
	p->num_links = k;
}

/* Groups and tags are refused nowhere and honoured nowhere: a group only
 * chooses who sees the product in APIM's developer portal, a tag only
 * labels it; neither changes which requests the gateway admits. A
 * groups.json or tags.json must still be JSON. */
static void product_ignored(struct rd *r, const char *path, const char *name, bool folder)
{
	bool groups = strncmp(name, "groups", 6) == 0;
	if (!folder) {
		json_t *j = read_json(r, path);
		if (!j)
			return;
		json_decref(j);
	}
	cg_apiops_diag_add(r->d, false,
			   groups ? "%s: warning: ignored: certgate has no groups (APIM groups only "
				    "choose who sees the product in the developer portal, not which "
				    "requests the gateway admits)"
				  : "%s: warning: ignored: tags only label the product",
			   path);
}

/* The product's properties, with APIM's PUT defaults for what is left out. */
static bool product_props(struct rd *r, json_t *props, struct cg_apiops_product *p)
{
	const char *f = p->file;
	bool ok = get_str(r, props, "displayName", true, f, &p->display_name);
	ok = get_str(r, props, "description", false, f, &p->description) && ok;
	ok = get_str(r, props, "state", false, f, &p->state) && ok;
	ok = get_bool(r, props, "subscriptionRequired", f, &p->subscription_required) && ok;
	ok = get_bool(r, props, "approvalRequired", f, &p->approval_required) && ok;
	json_t *lim = json_object_get(props, "subscriptionsLimit");
	if (lim && !json_is_null(lim) && !json_is_integer(lim)) {
		cg_apiops_diag_add(r->d, true,
				   "%s: property 'properties.subscriptionsLimit' must be an integer "
				   "or null",
				   f);
		ok = false;
	} else if (lim && !json_is_null(lim)) {
		p->subscriptions_limit = json_integer_value(lim);
		if (p->subscriptions_limit < 0) {
			cg_apiops_diag_add(r->d, true,
					   "%s: property 'properties.subscriptionsLimit' must not be "
					   "negative",
					   f);
			ok = false;
		}
	}
	if (ok && !p->subscription_required)
		cg_apiops_diag_add(r->d, false,
				   "%s: warning: 'properties.subscriptionRequired' is false: "
				   "certgate opens no API because of a product; set "
				   "subscriptionRequired false on the API itself to call it without "
				   "a key (docs/subscriptions.md#products)",
				   f);
	return ok;
}

/* productInformation.json: the properties, after checking that a "name"
 * (early APIOps releases wrote the product's id there and named the folder
 * after its display name) is the folder's name. */
static bool product_info(struct rd *r, struct cg_apiops_product *p)
{
	json_t *j = read_json(r, p->file);
	if (!j)
		return false;
	json_t *name = json_is_object(j) ? json_object_get(j, "name") : NULL;
	if (json_is_string(name) && strcmp(json_string_value(name), p->id) != 0) {
		cg_apiops_diag_add(r->d, true,
				   "%s: the product's name is '%s' but its folder is '%s': the "
				   "folder's name is the product id (as current APIOps releases write "
				   "it); rename the folder",
				   p->file, json_string_value(name), p->id);
		json_decref(j);
		return false;
	}
	json_t *props = props_of(r, p->file, j);
	if (!props)
		return false;
	bool ok = product_props(r, props, p);
	json_decref(props);
	return ok;
}

/* One entry of a product folder; false when it is not part of the layout. */
static bool product_entry(struct rd *r, struct cg_apiops_product *p, const char *path,
			  const char *name, bool *ok)
{
	bool folder = is_dir(path);
	if (strcmp(name, "productInformation.json") == 0 && !folder) {
		p->file = path;
	} else if (strcmp(name, "policy.xml") == 0 && !folder) {
		p->policy_file = path;
		*ok = read_file(r, path, true, &p->policy, NULL) && *ok;
	} else if (strcmp(name, "apis.json") == 0 && !folder) {
		*ok = product_apis_json(r, p, path) && *ok;
	} else if (strcmp(name, "apis") == 0 && folder) {
		size_t n;
		const char **links = list_dir(r, path, false, &n);
		*ok = links && count_entities(r, path, n) && *ok;
		for (size_t i = 0; links && i < n; i++) {
			const char *q = join(r, path, links[i]);
			if (q && !is_dir(q))
				unknown_entry(r, q, "a folder per API");
			*ok = q && is_dir(q) && product_api_link(r, p, q, links[i]) && *ok;
		}
	} else if ((strcmp(name, "groups.json") == 0 || strcmp(name, "tags.json") == 0) &&
		   !folder) {
		product_ignored(r, path, name, false);
	} else if ((strcmp(name, "groups") == 0 || strcmp(name, "tags") == 0) && folder) {
		product_ignored(r, path, name, true);
	} else {
		return false;
	}
	return true;
}

static void read_product(struct rd *r, const char *dir, const char *id)
{
	if (!check_id(r, "product id", id, dir)) {
		cg_apiops_diag_note(r->d, "  early APIOps releases named product folders after "
					  "the display name: rename the folder to the product's id");
		return;
	}
	size_t n;
	const char **names = list_dir(r, dir, false, &n);
	if (!names)
		return;
	struct cg_apiops_product p = { .id = id,
				       .subscription_required = true,
				       .subscriptions_limit = CG_STORE_PRODUCT_NO_LIMIT };
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		const char *q = join(r, dir, names[i]);
		if (q && !product_entry(r, &p, q, names[i], &ok))
			unknown_entry(r, q,
				      "productInformation.json, policy.xml, apis.json or apis/, "
				      "groups.json or groups/, tags.json or tags/");
	}
	if (!p.file) {
		cg_apiops_diag_add(r->d, true, "%s: missing productInformation.json", dir);
		return;
	}
	if (!product_info(r, &p) || !ok)
		return;
	product_links_sort(&p);
	struct cg_apiops_product *slot =
		push(r, (void **)&r->plan->products, &r->plan->num_products, sizeof(p));
	if (!slot) {
		oom(r, dir);
		return;
	}
	*slot = p;
}

/* ---- subscriptions/<id>/subscriptionInformation.json ---- */

static void read_sub(struct rd *r, const char *dir, const char *id)
{
	if (!check_id(r, "subscription id", id, dir))
		return;
	const char *info;
	json_t *props = read_only_info(r, dir, "subscriptionInformation.json", &info);
	if (!props)
		return;
	struct cg_apiops_sub s = { .file = info, .id = id };
	bool ok = get_str(r, props, "scope", true, info, &s.scope);
	ok = get_str(r, props, "displayName", false, info, &s.display_name) && ok;
	ok = get_str(r, props, "state", false, info, &s.state) && ok;
	ok = get_str(r, props, "primaryKey", false, info, &s.primary_key) && ok;
	ok = get_str(r, props, "secondaryKey", false, info, &s.secondary_key) && ok;
	ok = get_str(r, props, "expirationDate", false, info, &s.expiration) && ok;
	json_decref(props);
	/* APIM's GET leaves the keys out, so an extracted folder has none;
	 * keys typed into a folder are secrets kept in git. */
	if (ok && (s.primary_key || s.secondary_key))
		cg_apiops_diag_add(r->d, false,
				   "%s: warning: the file holds subscription keys: they are secrets; "
				   "leave them out to keep the stored keys (or get new ones), and "
				   "read them with 'certgate sub keys %s'",
				   info, id);
	if (!ok)
		return;
	struct cg_apiops_sub *slot = push(r, (void **)&r->plan->subs, &r->plan->num_subs, sizeof(s));
	if (!slot) {
		oom(r, dir);
		return;
	}
	*slot = s;
}

/* ---- the root ---- */

typedef void (*entity_fn)(struct rd *r, const char *dir, const char *name);

static void read_nv_entity(struct rd *r, const char *dir, const char *name)
{
	read_nv(r, dir, name);
}

static void read_cert_entity(struct rd *r, const char *dir, const char *name)
{
	read_cert(r, dir, name, false);
}

static void read_ca_entity(struct rd *r, const char *dir, const char *name)
{
	read_cert(r, dir, name, true);
}

/* Calls fn for every entity folder of a kind folder. */
static void each_entity(struct rd *r, const char *kind_dir, entity_fn fn)
{
	size_t n;
	const char **names = list_dir(r, kind_dir, false, &n);
	if (names && !count_entities(r, kind_dir, n))
		return;
	for (size_t i = 0; names && i < n; i++) {
		const char *p = join(r, kind_dir, names[i]);
		if (!p)
			continue;
		if (!is_dir(p))
			unknown_entry(r, p, "a folder per entity");
		else
			fn(r, p, names[i]);
	}
}

bool cg_apiops_read(const char *dir, struct cg_apiops_plan *plan, struct cg_apiops_diag *d)
{
	memset(plan, 0, sizeof(*plan));
	cg_arena_init(&plan->arena, 64 * 1024, 0);
	struct rd r = { plan, d, dir };
	if (strlen(dir) > CG_APIOPS_MAX_PATH_LEN) {
		cg_apiops_diag_add(d, true, "%s: the path is longer than %d bytes", dir,
				   CG_APIOPS_MAX_PATH_LEN);
		return false;
	}
	if (!is_dir(dir)) {
		cg_apiops_diag_add(d, true, "%s: %s", dir,
				   exists(dir) ? "not a folder" : "no such folder");
		return false;
	}
	size_t n;
	const char **names = list_dir(&r, dir, true, &n);
	if (!names)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *p = join(&r, dir, names[i]);
		if (!p)
			continue;
		const char *nm = names[i];
		bool folder = is_dir(p);
		if (strcmp(nm, "policy.xml") == 0 && !folder) {
			plan->global_file = p;
			read_file(&r, p, true, &plan->global_policy, NULL);
		} else if (strcmp(nm, "apis") == 0 && folder) {
			each_entity(&r, p, read_api);
		} else if (strcmp(nm, "named values") == 0 && folder) {
			each_entity(&r, p, read_nv_entity);
		} else if (strcmp(nm, "policy fragments") == 0 && folder) {
			each_entity(&r, p, read_fragment);
		} else if (strcmp(nm, "certificates") == 0 && folder) {
			each_entity(&r, p, read_cert_entity);
		} else if (strcmp(nm, "ca certificates") == 0 && folder) {
			each_entity(&r, p, read_ca_entity);
		} else if (strcmp(nm, "backends") == 0 && folder) {
			each_entity(&r, p, read_backend);
		} else if (strcmp(nm, "products") == 0 && folder) {
			each_entity(&r, p, read_product);
		} else if (strcmp(nm, "subscriptions") == 0 && folder) {
			each_entity(&r, p, read_sub);
		} else {
			bool known = false;
			for (size_t k = 0;
			     k < sizeof(unsupported_dirs) / sizeof(unsupported_dirs[0]); k++)
				known = known || strcmp(nm, unsupported_dirs[k]) == 0;
			if (known)
				cg_apiops_diag_add(d, true,
						   "%s: APIOps folder '%s' is not supported by "
						   "certgate: remove it to import the rest",
						   p, nm);
			else
				unknown_entry(&r, p,
					      "policy.xml, apis/, backends/, named values/, policy "
					      "fragments/, products/, subscriptions/, certificates/, "
					      "ca certificates/");
		}
	}
	check_nv_duplicates(&r);
	return d->errors == 0;
}

void cg_apiops_plan_free(struct cg_apiops_plan *plan)
{
	/* Certificate files may hold private keys, and secrets sit in named
	 * values and passwords: wipe them before the arena goes back. */
	for (size_t i = 0; i < plan->num_certs; i++) {
		struct cg_apiops_cert *c = &plan->certs[i];
		if (c->data)
			OPENSSL_cleanse((void *)c->data, c->len);
		if (c->password)
			OPENSSL_cleanse((void *)c->password, strlen(c->password));
	}
	for (size_t i = 0; i < plan->num_nvs; i++)
		if (plan->nvs[i].value && plan->nvs[i].secret)
			OPENSSL_cleanse((void *)plan->nvs[i].value, strlen(plan->nvs[i].value));
	for (size_t i = 0; i < plan->num_subs; i++) {
		const char *keys[] = { plan->subs[i].primary_key, plan->subs[i].secondary_key };
		for (size_t k = 0; k < 2; k++)
			if (keys[k])
				OPENSSL_cleanse((void *)keys[k], strlen(keys[k]));
	}
	cg_arena_destroy(&plan->arena);
	memset(plan, 0, sizeof(*plan));
}
