/* Store tests against real SQLite files and real certificates made with the
 * openssl CLI in a temp dir per run. Every refused write is checked for its
 * message, its failure kind, and that the store's rows and change token are
 * exactly what they were before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/cert.h"
#include "store/store.h"
#include "store/protocols.h"
#include "store/validate.h"

#define PATH_LEN 512
#define DUMP_MAX (1024 * 1024) /* bytes of a table dump */

static char g_dir[PATH_LEN / 2]; /* the run's temp dir: PKI and stores */
static int g_store_seq;          /* one fresh store file per test */
static char g_store[PATH_LEN];   /* the current test's store path */

#include "store/store_fixture.h"

/* PEM texts read from the generated files. */
static const char *ec_crt, *ec_key, *rsa_crt, *rsa_key, *other_key, *enc_key, *enc_legacy_key,
	*ed_crt, *ed_key, *exp_crt, *exp_key, *future_crt, *future_key, *chain_ok, *chain_bad,
	*leaf_key, *garbage, *san_crt;

static char *slurp(const char *name)
{
	size_t n;
	return (char *)slurp_file(name, &n);
}

static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

static int make_pki(void **state)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/cg-store-test-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	sh("openssl req -x509 " EC_NEW " -keyout ec.key -out ec.crt -days 30 "
	   "-subj '/C=US/ST=Washington/O=Contoso, Ltd/CN=api.example.com' "
	   "-addext 'subjectAltName=DNS:api.example.com,DNS:*.api.example.com,IP:127.0.0.1'");
	sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.crt -days 30 "
	   "-subj '/CN=rsa.example.com'");
	sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key");
	sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 "
	   "-pass pass:secret -out enc.key");
	sh("openssl rsa -in rsa.key -aes128 -passout pass:secret -traditional -out enc-legacy.key");
	sh("openssl req -x509 -newkey ed25519 -nodes -keyout ed.key -out ed.crt -days 30 "
	   "-subj '/CN=ed.example.com'");
	/* Certificates dated in the past and the future need `openssl ca`. */
	sh("printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\nnew_certs_dir=.\\n"
	   "serial=serial\\ndefault_md=sha256\\npolicy=p\\nunique_subject=no\\n"
	   "[p]\\ncommonName=supplied\\n' > ca.cnf && : > index.txt && echo 01 > serial");
	sh("openssl req -new " EC_NEW " -keyout exp.key -out exp.csr -subj /CN=old.example.com");
	sh("openssl ca -batch -config ca.cnf -selfsign -keyfile exp.key -in exp.csr -out exp.crt "
	   "-startdate 20200101000000Z -enddate 20200201000000Z -notext");
	sh("openssl req -new " EC_NEW
	   " -keyout future.key -out future.csr -subj /CN=new.example.com");
	sh("openssl ca -batch -config ca.cnf -selfsign -keyfile future.key -in future.csr "
	   "-out future.crt -startdate 20990101000000Z -enddate 20991231000000Z -notext");
	/* root -> intermediate -> leaf */
	make_root_and_int();
	sh("openssl req -new " EC_NEW
	   " -keyout leaf.key -out leaf.csr -subj /CN=chain.example.com");
	sh("openssl x509 -req -in leaf.csr -CA int.crt -CAkey int.key -CAcreateserial -days 30 "
	   "-out leaf.crt");
	sh("head -c 3000 /dev/urandom | base64 > garbage.txt");
	ec_crt = slurp("ec.crt");
	ec_key = slurp("ec.key");
	rsa_crt = slurp("rsa.crt");
	rsa_key = slurp("rsa.key");
	other_key = slurp("other.key");
	enc_key = slurp("enc.key");
	enc_legacy_key = slurp("enc-legacy.key");
	ed_crt = slurp("ed.crt");
	ed_key = slurp("ed.key");
	exp_crt = slurp("exp.crt");
	exp_key = slurp("exp.key");
	future_crt = slurp("future.crt");
	future_key = slurp("future.key");
	char *leaf = slurp("leaf.crt"), *inter = slurp("int.crt");
	chain_ok = concat(leaf, inter);
	chain_bad = concat(inter, leaf);
	free(leaf);
	free(inter);
	leaf_key = slurp("leaf.key");
	garbage = slurp("garbage.txt");
	san_crt = ec_crt;
	return 0;
}

/* Every row of every table (and the meta counter), read over a separate raw
 * SQLite connection, as one string: "nothing changed" means this string
 * and the change token are equal before and after. */
static char *dump(void)
{
	static const char *const q[] = { "SELECT * FROM meta",
					 "SELECT * FROM hostnames ORDER BY name",
					 "SELECT * FROM apis ORDER BY id",
					 "SELECT * FROM operations ORDER BY api_id, id" };
	return dump_rows(q, sizeof(q) / sizeof(q[0]), DUMP_MAX);
}

static void host(struct cg_store *st, const char *name, const char *crt, const char *key,
		 int negotiate, bool make_default)
{
	char err[CG_STORE_ERR_LEN], warn[CG_STORE_ERR_LEN];
	struct cg_store_host_set in = { .name = name,
					.cert_pem = crt,
					.key_pem = key,
					.negotiate_client_certificate = negotiate,
					.make_default = make_default,
					.warn = warn,
					.warnlen = sizeof(warn) };
	int rc = cg_store_host_set(st, &in, err, sizeof(err));
	if (rc)
		fprintf(stderr, "host_set: %s\n", err);
	assert_int_equal(rc, 0);
	assert_string_equal(warn, "");
}

static void api(struct cg_store *st, const char *id, const char *dn, const char *path,
		const char *url)
{
	char err[CG_STORE_ERR_LEN];
	struct cg_store_api_set in = {
		.id = id, .display_name = dn, .path = path, .service_url = url
	};
	int rc = cg_store_api_set(st, &in, err, sizeof(err));
	if (rc)
		fprintf(stderr, "api_set: %s\n", err);
	assert_int_equal(rc, 0);
}

static void op(struct cg_store *st, const char *api_id, const char *id, const char *method,
	       const char *tmpl)
{
	char err[CG_STORE_ERR_LEN];
	struct cg_store_op_set in = { .api_id = api_id,
				      .id = id,
				      .display_name = NULL,
				      .method = method,
				      .url_template = tmpl };
	int rc = cg_store_op_set(st, &in, err, sizeof(err));
	if (rc)
		fprintf(stderr, "op_set: %s\n", err);
	assert_int_equal(rc, 0);
}

static const struct cg_model_host *find_host(const struct cg_model *m, const char *name)
{
	for (size_t i = 0; i < m->num_hosts; i++)
		if (strcmp(m->hosts[i].name, name) == 0)
			return &m->hosts[i];
	return NULL;
}

static const struct cg_model_api *find_api(const struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_apis; i++)
		if (strcmp(m->apis[i].id, id) == 0)
			return &m->apis[i];
	return NULL;
}

static void load(struct cg_store *st, struct cg_model *m)
{
	char err[CG_STORE_ERR_LEN];
	int rc = cg_store_load_model(st, m, err, sizeof(err));
	if (rc)
		fprintf(stderr, "load: %s\n", err);
	assert_int_equal(rc, 0);
}

/* ---- open / create / migrate ---- */

static void test_open_creates_private_wal_store(void **state)
{
	char path[PATH_LEN], err[CG_STORE_ERR_LEN];
	snprintf(path, sizeof(path), "%s/new-%d.db", g_dir, ++g_store_seq);
	mode_t old = umask(0); /* the mode must not depend on the caller's umask */
	struct cg_store *st = cg_store_open(path, 0, err, sizeof(err));
	umask(old);
	assert_non_null(st);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	cg_store_close(st);

	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), cg_store_schema_version());
	sqlite3_finalize(s);
	sqlite3_close(db);

	/* Reopening read-write and read-only both work and see an empty model. */
	st = cg_store_open(path, 0, err, sizeof(err));
	assert_non_null(st);
	cg_store_close(st);
	st = cg_store_open(path, 1, err, sizeof(err));
	assert_non_null(st);
	struct cg_model m;
	load(st, &m);
	assert_int_equal(m.num_hosts, 0);
	assert_int_equal(m.num_apis, 0);
	cg_model_free(&m);
	/* A read-only handle refuses writes. */
	struct cg_store_api_set in = {
		.id = "a", .display_name = NULL, .path = "a", .service_url = "http://b"
	};
	assert_int_equal(cg_store_api_set(st, &in, err, sizeof(err)), CG_STORE_FAIL_IO);
	assert_non_null(strstr(err, "read-only"));
	cg_store_close(st);
}

static void test_open_refusals(void **state)
{
	char path[PATH_LEN], err[CG_STORE_ERR_LEN];
	snprintf(path, sizeof(path), "%s/missing.db", g_dir);
	assert_null(cg_store_open(path, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "does not exist"));
	assert_int_equal(access(path, F_OK), -1); /* read-only never creates */

	assert_null(cg_store_open("", 0, err, sizeof(err)));
	assert_string_equal(err, "store path is empty");

	snprintf(path, sizeof(path), "%s/no-such-dir/x.db", g_dir);
	assert_null(cg_store_open(path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot create store"));
	assert_non_null(strstr(err, "No such file or directory"));

	snprintf(path, sizeof(path), "%s/garbage.txt", g_dir);
	assert_null(cg_store_open(path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "not a database"));

	/* A store written by a newer certgate. */
	snprintf(path, sizeof(path), "%s/newer.db", g_dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_null(cg_store_open(path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "schema version 999"));
	assert_null(cg_store_open(path, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "newer certgate"));
}

static void test_migrates_existing_empty_database(void **state)
{
	char path[PATH_LEN], err[CG_STORE_ERR_LEN];
	snprintf(path, sizeof(path), "%s/old.db", g_dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE unrelated (x)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	/* Read-only cannot migrate and says how to. */
	assert_null(cg_store_open(path, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "schema version 0"));
	struct cg_store *st = cg_store_open(path, 0, err, sizeof(err));
	assert_non_null(st);
	api(st, "a", NULL, "a", "http://backend");
	cg_store_close(st);
	st = cg_store_open(path, 1, err, sizeof(err));
	assert_non_null(st);
	struct cg_model m;
	load(st, &m);
	assert_int_equal(m.num_apis, 1);
	cg_model_free(&m);
	cg_store_close(st);
}

static void test_validators_accept_and_normalise(void **state)
{
	char err[CG_STORE_ERR_LEN];
	char out[CG_STORE_MAX_TEMPLATE_LEN + CG_STORE_MAX_URL_LEN + 1];
	static const char *const urls[][2] = {
		{ "http://b", "http://b" },
		{ "HTTPS://B.example.com:443/a/b/", "https://B.example.com:443/a/b/" },
		{ "http://[::1]:8080/x", "http://[::1]:8080/x" },
		{ "http://10.0.0.1:65535", "http://10.0.0.1:65535" },
		{ "http://my_host.internal", "http://my_host.internal" },
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		assert_int_equal(cg_store_check_service_url(urls[i][0], out, err, sizeof(err)), 0);
		assert_string_equal(out, urls[i][1]);
	}
	static const char *const tmpls[][2] = {
		{ "/", "/" },
		{ "/a/{b}/c", "/a/{}/c" },
		{ "/a/{b}.{fmt}", "/a/{}.{}" },
		{ "/a?x={x}&y=lit", "/a?x={}&y=lit" },
		{ "/*", "/*" },
		{ "/a/{id}/*", "/a/{}/*" },
	};
	for (size_t i = 0; i < sizeof(tmpls) / sizeof(tmpls[0]); i++) {
		assert_int_equal(cg_store_check_url_template(tmpls[i][0], out, err, sizeof(err)), 0);
		assert_string_equal(out, tmpls[i][1]);
	}
	static const char *const paths[][2] = {
		{ "", "" }, { "/", "" }, { "///a/b///", "a/b" }, { "v1.0/x", "v1.0/x" },
		{ "a/...", "a/..." },
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(cg_store_check_path(paths[i][0], out, err, sizeof(err)), 0);
		assert_string_equal(out, paths[i][1]);
	}
	assert_int_equal(cg_store_check_method("patch", out, err, sizeof(err)), 0);
	assert_string_equal(out, "PATCH");
	assert_int_equal(cg_store_check_method("*", out, err, sizeof(err)), 0);
	assert_string_equal(out, "*");
	assert_int_equal(cg_store_check_hostname("*.API.example.COM", out, err, sizeof(err)), 0);
	assert_string_equal(out, "*.api.example.com");
	assert_int_equal(cg_store_check_hostname("xn--bcher-kva.example", out, err, sizeof(err)), 0);
	assert_int_equal(cg_store_check_id("API id", "a-b.c_D9", err, sizeof(err)), 0);
}

/* ---- hostnames ---- */

static void test_host_round_trip(void **state)
{
	struct cg_store *st = *state;
	bool created = false;
	char cerr[CG_STORE_ERR_LEN];
	struct cg_store_host_set hin = { .name = "API.Example.com",
					 .cert_pem = ec_crt,
					 .key_pem = ec_key,
					 .negotiate_client_certificate = -1,
					 .created = &created };
	assert_int_equal(cg_store_host_set(st, &hin, cerr, sizeof(cerr)), 0);
	assert_true(created);
	assert_int_equal(cg_store_host_set(st, &hin, cerr, sizeof(cerr)), 0);
	assert_false(created);
	host(st, "rsa.example.com", rsa_crt, rsa_key, 1, false);
	struct cg_model m;
	load(st, &m);
	assert_int_equal(m.num_hosts, 2);
	const struct cg_model_host *a = find_host(&m, "api.example.com");
	const struct cg_model_host *r = find_host(&m, "rsa.example.com");
	assert_non_null(a);
	assert_non_null(r);
	assert_true(a->is_default); /* the first one becomes the default */
	assert_false(a->negotiate_client_certificate);
	assert_false(r->is_default);
	assert_true(r->negotiate_client_certificate);
	assert_non_null(strstr(a->cert_pem, "-----BEGIN CERTIFICATE-----"));
	assert_non_null(strstr(a->key_pem, "-----BEGIN PRIVATE KEY-----"));
	/* The stored chain is what was parsed: same leaf thumbprint. */
	struct cg_store_cert_info i1, i2;
	char err[CG_STORE_ERR_LEN];
	assert_int_equal(cg_store_cert_describe(a->cert_pem, &i1, err, sizeof(err)), 0);
	assert_int_equal(cg_store_cert_describe(ec_crt, &i2, err, sizeof(err)), 0);
	assert_string_equal(i1.thumbprint, i2.thumbprint);
	cg_model_free(&m);

	/* --default moves the default; an update with no cert/key keeps them. */
	host(st, "rsa.example.com", NULL, NULL, -1, true);
	load(st, &m);
	assert_false(find_host(&m, "api.example.com")->is_default);
	assert_true(find_host(&m, "rsa.example.com")->is_default);
	assert_true(find_host(&m, "rsa.example.com")->negotiate_client_certificate);
	char *kept = strdup(find_host(&m, "rsa.example.com")->cert_pem);
	cg_model_free(&m);
	host(st, "rsa.example.com", NULL, NULL, 0, false);
	load(st, &m);
	assert_false(find_host(&m, "rsa.example.com")->negotiate_client_certificate);
	assert_true(find_host(&m, "rsa.example.com")->is_default);
	assert_string_equal(find_host(&m, "rsa.example.com")->cert_pem, kept);
	free(kept);
	cg_model_free(&m);

	/* Replacing the certificate and key together; this one names another
	 * host, which is stored with a warning. */
	char warn[CG_STORE_ERR_LEN];
	struct cg_store_host_set rin = { .name = "api.example.com", .cert_pem = rsa_crt,
					 .key_pem = rsa_key, .negotiate_client_certificate = -1,
					 .warn = warn, .warnlen = sizeof(warn) };
	assert_int_equal(cg_store_host_set(st, &rin, err, sizeof(err)), 0);
	assert_string_equal(warn, "the certificate (subject 'CN=rsa.example.com') does not name "
				  "'api.example.com' in its subject alternative names; clients "
				  "that check names will refuse it");
	load(st, &m);
	assert_int_equal(cg_store_cert_describe(find_host(&m, "api.example.com")->cert_pem, &i1,
						err, sizeof(err)),
			 0);
	assert_string_equal(i1.subject, "CN=rsa.example.com");
	cg_model_free(&m);

	/* Removal: the default cannot go while others exist. */
	struct before b = snap(st);
	int rc = cg_store_host_rm(st, "rsa.example.com", err, sizeof(err));
	assert_refused_err(
		st, b, rc, CG_STORE_FAIL_CONFLICT, err,
		"hostname 'rsa.example.com' is the default hostname and 1 other hostname exist");
	b = snap(st);
	rc = cg_store_host_rm(st, "nope.example.com", err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_NOT_FOUND, err,
		       "hostname 'nope.example.com' does not exist");
	assert_int_equal(cg_store_host_rm(st, "API.example.com", err, sizeof(err)), 0);
	assert_int_equal(cg_store_host_rm(st, "rsa.example.com", err, sizeof(err)), 0);
	load(st, &m);
	assert_int_equal(m.num_hosts, 0);
	cg_model_free(&m);
}

static void test_host_wildcard_and_chain(void **state)
{
	struct cg_store *st = *state;
	host(st, "chain.example.com", chain_ok, leaf_key, -1, false);
	/* A wildcard hostname needs a certificate with that wildcard. */
	host(st, "*.API.Example.COM", ec_crt, ec_key, -1, false);
	char err[CG_STORE_ERR_LEN], warn[CG_STORE_ERR_LEN];
	struct cg_store_host_set in = { .name = "*.example.com", .cert_pem = ec_crt,
					.key_pem = ec_key, .negotiate_client_certificate = -1,
					.warn = warn, .warnlen = sizeof(warn) };
	assert_int_equal(cg_store_host_set(st, &in, err, sizeof(err)), 0);
	assert_non_null(strstr(warn, "does not name '*.example.com'"));
	struct cg_model m;
	load(st, &m);
	assert_int_equal(m.num_hosts, 3);
	assert_string_equal(m.hosts[0].name, "*.api.example.com");
	assert_string_equal(m.hosts[1].name, "*.example.com");
	assert_string_equal(m.hosts[2].name, "chain.example.com");
	struct cg_store_cert_info info;
	assert_int_equal(cg_store_cert_describe(m.hosts[2].cert_pem, &info, err, sizeof(err)), 0);
	assert_int_equal(info.chain_len, 2);
	assert_string_equal(info.subject, "CN=chain.example.com");
	assert_string_equal(info.issuer, "CN=Intermediate");
	cg_model_free(&m);
}

static void test_cert_describe(void **state)
{
	struct cg_store_cert_info info;
	char err[CG_STORE_ERR_LEN];
	assert_int_equal(cg_store_cert_describe(ec_crt, &info, err, sizeof(err)), 0);
	/* .NET order and quoting: reverse RDNs, S= for state, quoted comma. */
	assert_string_equal(info.subject,
			    "CN=api.example.com, O=\"Contoso, Ltd\", S=Washington, C=US");
	assert_string_equal(info.subject, info.issuer);
	assert_int_equal(strlen(info.thumbprint), 40);
	for (size_t i = 0; i < 40; i++)
		assert_true(strchr("0123456789ABCDEF", info.thumbprint[i]) != NULL);
	assert_int_equal(info.num_sans, 3);
	assert_string_equal(info.sans[0], "DNS:api.example.com");
	assert_string_equal(info.sans[1], "DNS:*.api.example.com");
	assert_string_equal(info.sans[2], "IP:127.0.0.1");
	assert_false(info.expired);
	assert_string_equal(info.key_type, "EC");
	assert_int_equal(info.key_bits, 256);
	assert_int_equal(strlen(info.not_after), 20);
	assert_int_equal(info.not_after[19], 'Z');

	/* The thumbprint equals openssl's SHA-1 fingerprint of the same file. */
	char cmd[PATH_LEN + 128], line[256] = "";
	snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s/ec.crt' -noout -fingerprint -sha1", g_dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	char hex[64];
	size_t n = 0;
	for (const char *c = strchr(line, '=') + 1; *c && *c != '\n'; c++)
		if (*c != ':')
			hex[n++] = *c;
	hex[n] = 0;
	assert_string_equal(info.thumbprint, hex);
}

static void test_host_expired_warns_but_is_stored(void **state)
{
	struct cg_store *st = *state;
	char err[CG_STORE_ERR_LEN], warn[CG_STORE_ERR_LEN];
	struct cg_store_host_set in = { .name = "old.example.com",
					.cert_pem = exp_crt,
					.key_pem = exp_key,
					.negotiate_client_certificate = -1,
					.warn = warn,
					.warnlen = sizeof(warn) };
	assert_int_equal(cg_store_host_set(st, &in, err, sizeof(err)), 0);
	assert_string_equal(warn, "the certificate for 'old.example.com' expired on "
				  "2020-02-01T00:00:00Z; clients will refuse it");
	in = (struct cg_store_host_set){ .name = "new.example.com",
					 .cert_pem = future_crt,
					 .key_pem = future_key,
					 .negotiate_client_certificate = -1,
					 .warn = warn,
					 .warnlen = sizeof(warn) };
	assert_int_equal(cg_store_host_set(st, &in, err, sizeof(err)), 0);
	assert_non_null(strstr(warn, "is not valid before 2099-01-01T00:00:00Z"));
	struct cg_model m;
	load(st, &m);
	assert_int_equal(m.num_hosts, 2);
	cg_model_free(&m);
}

struct host_case {
	const char *name;
	const char **crt, **key;
	int want_rc;
	const char *want;
};

static const char *null_pem = NULL;
static const char *empty_pem = "";

static void test_host_refusals(void **state)
{
	struct cg_store *st = *state;
	host(st, "api.example.com", ec_crt, ec_key, 1, false);
	api(st, "a", NULL, "a", "http://b");
	static const struct host_case cases[] = {
		{ "", &ec_crt, &ec_key, CG_STORE_FAIL_INVALID, "hostname is empty" },
		{ "bad_name.example.com", &ec_crt, &ec_key, CG_STORE_FAIL_INVALID,
		  "hostname 'bad_name.example.com' has a character other than letters, digits, '-' "
		  "and '.'" },
		{ "a..b", &ec_crt, &ec_key, CG_STORE_FAIL_INVALID, "has an empty label" },
		{ ".a.b", &ec_crt, &ec_key, CG_STORE_FAIL_INVALID, "has an empty label" },
		{ "a.b.", &ec_crt, &ec_key, CG_STORE_FAIL_INVALID, "has an empty label" },
		{ "-a.b", &ec_crt, &ec_key, CG_STORE_FAIL_INVALID, "starts or ends with '-'" },
		{ "a.*.b", &ec_crt, &ec_key, CG_STORE_FAIL_INVALID,
		  "'*' that is not the whole first label" },
		{ "*a.b", &ec_crt, &ec_key, CG_STORE_FAIL_INVALID,
		  "'*' that is not the whole first label" },
		{ "*.", &ec_crt, &ec_key, CG_STORE_FAIL_INVALID, "has nothing after the wildcard" },
		{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.b",
		  &ec_crt, &ec_key, CG_STORE_FAIL_INVALID,
		  "has a label longer than 63 characters" },
		{ "new.example.com", &null_pem, &ec_key, CG_STORE_FAIL_INVALID,
		  "hostname 'new.example.com' does not exist yet; a certificate and a key are both "
		  "needed" },
		{ "new.example.com", &ec_crt, &null_pem, CG_STORE_FAIL_INVALID,
		  "does not exist yet" },
		{ "new.example.com", &ec_crt, &other_key, CG_STORE_FAIL_INVALID,
		  "the private key does not match the certificate (leaf subject "
		  "'CN=api.example.com, " },
		{ "new.example.com", &rsa_crt, &ec_key, CG_STORE_FAIL_INVALID,
		  "the private key does not match the certificate" },
		{ "new.example.com", &ec_crt, &enc_key, CG_STORE_FAIL_INVALID,
		  "the private key is encrypted; certgate needs an unencrypted key" },
		{ "new.example.com", &rsa_crt, &enc_legacy_key, CG_STORE_FAIL_INVALID,
		  "the private key is encrypted" },
		{ "new.example.com", &ed_crt, &ed_key, CG_STORE_FAIL_INVALID,
		  "private key type ED25519 is not supported (use RSA or EC)" },
		{ "new.example.com", &garbage, &ec_key, CG_STORE_FAIL_INVALID,
		  "no certificate found in the PEM" },
		{ "new.example.com", &empty_pem, &ec_key, CG_STORE_FAIL_INVALID,
		  "no certificate found in the PEM" },
		{ "new.example.com", &ec_key, &ec_key, CG_STORE_FAIL_INVALID,
		  "no certificate found in the PEM" },
		{ "new.example.com", &ec_crt, &garbage, CG_STORE_FAIL_INVALID,
		  "no private key found" },
		{ "new.example.com", &ec_crt, &ec_crt, CG_STORE_FAIL_INVALID,
		  "no private key found" },
		{ "new.example.com", &chain_bad, &leaf_key, CG_STORE_FAIL_INVALID,
		  "certificate 2 in the chain did not issue certificate 1" },
		/* An update is checked as a whole: a new key must match the old cert. */
		{ "api.example.com", &null_pem, &rsa_key, CG_STORE_FAIL_INVALID,
		  "the private key does not match the certificate" },
		{ "api.example.com", &rsa_crt, &null_pem, CG_STORE_FAIL_INVALID,
		  "the private key does not match the certificate" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct host_case *c = &cases[i];
		char err[CG_STORE_ERR_LEN];
		struct before b = snap(st);
		struct cg_store_host_set in = { .name = c->name,
						.cert_pem = *c->crt,
						.key_pem = *c->key,
						.negotiate_client_certificate = 0,
						.make_default = true };
		int rc = cg_store_host_set(st, &in, err, sizeof(err));
		assert_refused_err(st, b, rc, c->want_rc, err, c->want);
	}
	/* A damaged PEM block (bad base64 inside valid armour). */
	char *broken = strdup(ec_crt);
	char *mid = strstr(broken, "\n") + 10;
	memcpy(mid, "!!!!", 4);
	char err[CG_STORE_ERR_LEN];
	struct before b = snap(st);
	struct cg_store_host_set in = { .name = "x.example.com",
					.cert_pem = broken,
					.key_pem = ec_key,
					.negotiate_client_certificate = -1 };
	int rc = cg_store_host_set(st, &in, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err,
		       "certificate 1 in the PEM does not parse");
	free(broken);
	/* Oversized input. */
	char *huge = malloc(CG_STORE_MAX_PEM_BYTES + 2);
	memset(huge, 'A', CG_STORE_MAX_PEM_BYTES + 1);
	huge[CG_STORE_MAX_PEM_BYTES + 1] = 0;
	b = snap(st);
	in.cert_pem = huge;
	rc = cg_store_host_set(st, &in, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err, "at most 262144 are accepted");
	free(huge);
}

/* ---- APIs and operations ---- */

static void test_api_and_op_round_trip(void **state)
{
	struct cg_store *st = *state;
	api(st, "orders", NULL, "/orders/v1/", "HTTPS://backend.example.com:8443/base");
	api(st, "root", "Root API", "", "http://10.0.0.1");
	api(st, "v6", NULL, "six", "http://[::1]:8080");
	op(st, "orders", "get-order", "get", "/orders/{id}");
	op(st, "orders", "list", "GET", "/orders?sort={sort}&page={page}");
	op(st, "orders", "any", "*", "/*");
	op(st, "root", "ping", "GET", "/ping");
	struct cg_model m;
	load(st, &m);
	assert_int_equal(m.num_apis, 3);
	const struct cg_model_api *o = find_api(&m, "orders");
	assert_non_null(o);
	assert_string_equal(o->display_name, "orders"); /* defaults to the id */
	assert_string_equal(o->path, "orders/v1");
	assert_string_equal(o->service_url, "https://backend.example.com:8443/base");
	assert_int_equal(o->num_ops, 3);
	assert_string_equal(o->ops[0].id, "any");
	assert_string_equal(o->ops[0].method, "*");
	assert_string_equal(o->ops[1].id, "get-order");
	assert_string_equal(o->ops[1].method, "GET");
	assert_string_equal(o->ops[1].url_template, "/orders/{id}");
	assert_string_equal(o->ops[1].display_name, "get-order");
	const struct cg_model_api *r = find_api(&m, "root");
	assert_string_equal(r->display_name, "Root API");
	assert_string_equal(r->path, "");
	assert_int_equal(r->num_ops, 1);
	assert_int_equal(find_api(&m, "v6")->num_ops, 0);
	cg_model_free(&m);

	/* created tells a new entity from an update. */
	bool created = true;
	char cerr[CG_STORE_ERR_LEN];
	struct cg_store_api_set cin = { .id = "orders",
					.display_name = "Orders",
					.created = &created };
	assert_int_equal(cg_store_api_set(st, &cin, cerr, sizeof(cerr)), 0);
	assert_false(created);
	cin = (struct cg_store_api_set){
		.id = "new", .path = "new", .service_url = "http://b", .created = &created
	};
	assert_int_equal(cg_store_api_set(st, &cin, cerr, sizeof(cerr)), 0);
	assert_true(created);
	struct cg_store_op_set cop = { .api_id = "new",
				       .id = "o",
				       .method = "GET",
				       .url_template = "/",
				       .created = &created };
	created = false;
	assert_int_equal(cg_store_op_set(st, &cop, cerr, sizeof(cerr)), 0);
	assert_true(created);
	assert_int_equal(cg_store_op_set(st, &cop, cerr, sizeof(cerr)), 0);
	assert_false(created);
	assert_int_equal(cg_store_api_rm(st, "new", cerr, sizeof(cerr)), 0);

	/* Partial updates keep what is not given. */
	api(st, "orders", "Orders", NULL, NULL);
	api(st, "orders", NULL, "orders/v2", NULL);
	char err[CG_STORE_ERR_LEN];
	struct cg_store_op_set oin = { .api_id = "orders",
				       .id = "get-order",
				       .display_name = "Get one order",
				       .method = NULL,
				       .url_template = NULL };
	assert_int_equal(cg_store_op_set(st, &oin, err, sizeof(err)), 0);
	oin = (struct cg_store_op_set){ .api_id = "orders",
					.id = "get-order",
					.display_name = NULL,
					.method = "delete",
					.url_template = NULL };
	assert_int_equal(cg_store_op_set(st, &oin, err, sizeof(err)), 0);
	load(st, &m);
	o = find_api(&m, "orders");
	assert_string_equal(o->display_name, "Orders");
	assert_string_equal(o->path, "orders/v2");
	assert_string_equal(o->service_url, "https://backend.example.com:8443/base");
	assert_string_equal(o->ops[1].display_name, "Get one order");
	assert_string_equal(o->ops[1].method, "DELETE");
	assert_string_equal(o->ops[1].url_template, "/orders/{id}");
	cg_model_free(&m);

	/* Removing operations and APIs (operations go with their API). */
	assert_int_equal(cg_store_op_rm(st, "orders", "any", err, sizeof(err)), 0);
	assert_int_equal(cg_store_api_rm(st, "root", err, sizeof(err)), 0);
	load(st, &m);
	assert_int_equal(m.num_apis, 2);
	assert_null(find_api(&m, "root"));
	assert_int_equal(find_api(&m, "orders")->num_ops, 2);
	cg_model_free(&m);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(g_store, &db), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*) FROM operations WHERE api_id='root'",
					    -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

struct api_case {
	const char *id, *dn, *path, *url;
	int want_rc;
	const char *want;
};

/* SQL behind the store's back that the schema must refuse. */
static void raw_exec_fails(const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(g_store, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* protocols: http and https on create (as before protocols), kept when not given,
 * set when given; bits outside http/https are refused and change nothing. */
static void test_api_protocols(void **state)
{
	struct cg_store *st = *state;
	char err[CG_STORE_ERR_LEN];
	struct cg_model m;
	api(st, "orders", NULL, "orders", "http://b");
	load(st, &m);
	assert_int_equal(find_api(&m, "orders")->protocols, CG_MODEL_PROTO_ALL);
	cg_model_free(&m);
	struct cg_store_api_set in = { .id = "orders", .protocols = CG_MODEL_PROTO_HTTPS };
	assert_int_equal(cg_store_api_set(st, &in, err, sizeof(err)), 0);
	api(st, "orders", "Orders", NULL, NULL); /* protocols not given: kept */
	in.protocols = 4;
	assert_int_equal(cg_store_api_set(st, &in, err, sizeof(err)), CG_STORE_FAIL_INVALID);
	assert_string_equal(err, "API protocols: only http and https are served");
	load(st, &m);
	assert_int_equal(find_api(&m, "orders")->protocols, CG_MODEL_PROTO_HTTPS);
	cg_model_free(&m);
	in.protocols = CG_MODEL_PROTO_HTTP;
	assert_int_equal(cg_store_api_set(st, &in, err, sizeof(err)), 0);
	load(st, &m);
	assert_int_equal(find_api(&m, "orders")->protocols, CG_MODEL_PROTO_HTTP);
	cg_model_free(&m);
	/* the column's own check backs the store's */
	raw_exec_fails("UPDATE apis SET protocols = 0");
	raw_exec_fails("UPDATE apis SET protocols = 4");
}

/* The list and JSON spellings and their refusals (CLI, admin API, APIOps). */
static void test_protocol_lists(void **state)
{
	(void)state;
	char err[CG_STORE_ERR_LEN];
	unsigned bits = 9;
	assert_int_equal(cg_store_parse_protocols("https", &bits, err, sizeof(err)), 0);
	assert_int_equal(bits, CG_MODEL_PROTO_HTTPS);
	assert_int_equal(cg_store_parse_protocols("https,http", &bits, err, sizeof(err)), 0);
	assert_int_equal(bits, CG_MODEL_PROTO_ALL);
	assert_int_equal(cg_store_parse_protocols("http,http", &bits, err, sizeof(err)), 0);
	assert_int_equal(bits, CG_MODEL_PROTO_HTTP);
	assert_string_equal(cg_store_protocols_text(CG_MODEL_PROTO_ALL), "http,https");
	assert_string_equal(cg_store_protocols_text(0), "");
	static const struct {
		const char *in, *err;
	} bad[] = {
		{ "", "protocols (an empty name): at least one protocol is needed: https, http or "
		      "http,https" },
		{ "https,", "at least one protocol is needed" },
		{ ",http", "at least one protocol is needed" },
		{ "ws", "protocols: unknown protocol 'ws' (APIs are served over http and https)" },
		{ "HTTPS", "unknown protocol 'HTTPS'" },
		{ "http, https", "unknown protocol ' https'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cg_store_parse_protocols(bad[i].in, &bits, err, sizeof(err)),
				 CG_STORE_FAIL_INVALID);
		assert_int_equal(bits, 0);
		assert_non_null(strstr(err, bad[i].err));
	}
	static const struct {
		const char *json, *err;
		unsigned bits;
	} js[] = {
		{ "[\"http\", \"https\"]", NULL, CG_MODEL_PROTO_ALL },
		{ "[\"https\"]", NULL, CG_MODEL_PROTO_HTTPS },
		{ "[]", "p must be a non-empty array of protocol names", 0 },
		{ "\"https\"", "p must be a non-empty array", 0 },
		{ "[1]", "p must be a non-empty array", 0 },
		{ "[\"https\", \"wss\"]", "p: unknown protocol 'wss'", 0 },
	};
	for (size_t i = 0; i < sizeof(js) / sizeof(js[0]); i++) {
		json_t *v = json_loads(js[i].json, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		int rc = cg_store_protocols_from_json(v, "p", &bits, err, sizeof(err));
		assert_int_equal(rc, js[i].err ? CG_STORE_FAIL_INVALID : 0);
		assert_int_equal(bits, js[i].bits);
		if (js[i].err)
			assert_non_null(strstr(err, js[i].err));
		json_decref(v);
	}
	json_t *out = cg_store_protocols_json(CG_MODEL_PROTO_ALL);
	char *text = json_dumps(out, JSON_COMPACT);
	assert_string_equal(text, "[\"http\",\"https\"]");
	free(text);
	json_decref(out);
}

static void test_api_refusals(void **state)
{
	struct cg_store *st = *state;
	api(st, "orders", NULL, "orders", "http://b");
	api(st, "root", NULL, "", "http://b");
	static const struct api_case cases[] = {
		{ "", NULL, "x", "http://b", CG_STORE_FAIL_INVALID, "API id is empty" },
		{ "a b", NULL, "x", "http://b", CG_STORE_FAIL_INVALID,
		  "API id 'a b' may contain only letters, digits, '-', '.' and '_'" },
		{ "a/b", NULL, "x", "http://b", CG_STORE_FAIL_INVALID, "may contain only letters" },
		{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "x",
		  NULL, "x", "http://b", CG_STORE_FAIL_INVALID, "is longer than 80 characters" },
		{ "new", "", "x", "http://b", CG_STORE_FAIL_INVALID, "display name is empty" },
		{ "new", "a\nb", "x", "http://b", CG_STORE_FAIL_INVALID,
		  "contains a control character" },
		{ "new", NULL, "x?y", "http://b", CG_STORE_FAIL_INVALID,
		  "API path 'x?y' must not contain '?' or '#'" },
		{ "new", NULL, "x#y", "http://b", CG_STORE_FAIL_INVALID,
		  "must not contain '?' or '#'" },
		{ "new", NULL, "a//b", "http://b", CG_STORE_FAIL_INVALID,
		  "must not contain \"//\"" },
		{ "new", NULL, "a/../b", "http://b", CG_STORE_FAIL_INVALID,
		  "must not contain '.' or '..' segments" },
		{ "new", NULL, "..", "http://b", CG_STORE_FAIL_INVALID, "'..' segments" },
		{ "new", NULL, "a/./b", "http://b", CG_STORE_FAIL_INVALID, "'..' segments" },
		{ "new", NULL, "a b", "http://b", CG_STORE_FAIL_INVALID,
		  "must not contain spaces" },
		{ "new", NULL, "a/{id}", "http://b", CG_STORE_FAIL_INVALID,
		  "must not contain '{'" },
		{ "new", NULL, "/Orders/", "http://b", CG_STORE_FAIL_CONFLICT,
		  "API path 'Orders' is already used by API 'orders'" },
		{ "new", NULL, "/", "http://b", CG_STORE_FAIL_CONFLICT,
		  "API path '' is already used by API 'root'" },
		{ "root", NULL, "orders", NULL, CG_STORE_FAIL_CONFLICT,
		  "is already used by API 'orders'" },
		{ "new", NULL, "x", "ftp://b", CG_STORE_FAIL_INVALID,
		  "backend URL 'ftp://b' must start with http:// or https://" },
		{ "new", NULL, "x", "b.example.com", CG_STORE_FAIL_INVALID,
		  "must start with http://" },
		{ "new", NULL, "x", "http://", CG_STORE_FAIL_INVALID, "has no host" },
		{ "new", NULL, "x", "http:///path", CG_STORE_FAIL_INVALID, "has no host" },
		{ "new", NULL, "x", "http://:80", CG_STORE_FAIL_INVALID, "has no host" },
		{ "new", NULL, "x", "http://b:0", CG_STORE_FAIL_INVALID,
		  "port that is not a number 1-65535" },
		{ "new", NULL, "x", "http://b:65536", CG_STORE_FAIL_INVALID,
		  "port that is not a number" },
		{ "new", NULL, "x", "http://b:", CG_STORE_FAIL_INVALID,
		  "port that is not a number" },
		{ "new", NULL, "x", "http://b:8a", CG_STORE_FAIL_INVALID,
		  "port that is not a number" },
		{ "new", NULL, "x", "http://b/p?q=1", CG_STORE_FAIL_INVALID,
		  "must not have a query ('?') or fragment ('#')" },
		{ "new", NULL, "x", "http://b/#f", CG_STORE_FAIL_INVALID, "or fragment" },
		{ "new", NULL, "x", "http://user:pw@b", CG_STORE_FAIL_INVALID,
		  "must not contain user info" },
		{ "new", NULL, "x", "http://b c", CG_STORE_FAIL_INVALID,
		  "must not contain spaces" },
		{ "new", NULL, "x", "http://b!d", CG_STORE_FAIL_INVALID,
		  "has a host with characters" },
		{ "new", NULL, "x", "http://[::g]", CG_STORE_FAIL_INVALID, "invalid IPv6 address" },
		{ "new", NULL, "x", "http://[::1", CG_STORE_FAIL_INVALID, "unterminated '['" },
		{ "new", NULL, "x", NULL, CG_STORE_FAIL_INVALID,
		  "API 'new' does not exist yet; a path and a backend URL are both needed" },
		{ "new", NULL, NULL, "http://b", CG_STORE_FAIL_INVALID, "does not exist yet" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct api_case *c = &cases[i];
		char err[CG_STORE_ERR_LEN];
		struct before b = snap(st);
		struct cg_store_api_set in = {
			.id = c->id, .display_name = c->dn, .path = c->path, .service_url = c->url
		};
		int rc = cg_store_api_set(st, &in, err, sizeof(err));
		assert_refused_err(st, b, rc, c->want_rc, err, c->want);
	}
	char err[CG_STORE_ERR_LEN];
	struct before b = snap(st);
	int rc = cg_store_api_rm(st, "nope", err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_NOT_FOUND, err, "API 'nope' does not exist");
	b = snap(st);
	rc = cg_store_api_rm(st, "no pe", err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err, "may contain only letters");
}

struct op_case {
	const char *api_id, *id, *method, *tmpl;
	int want_rc;
	const char *want;
};

static void test_op_refusals(void **state)
{
	struct cg_store *st = *state;
	api(st, "orders", NULL, "orders", "http://b");
	op(st, "orders", "get", "GET", "/orders/{id}");
	op(st, "orders", "q", "GET", "/search?q={q}");
	static const struct op_case cases[] = {
		{ "nope", "x", "GET", "/x", CG_STORE_FAIL_NOT_FOUND, "API 'nope' does not exist" },
		{ "orders", "", "GET", "/x", CG_STORE_FAIL_INVALID, "operation id is empty" },
		{ "orders", "a b", "GET", "/x", CG_STORE_FAIL_INVALID,
		  "operation id 'a b' may contain only" },
		{ "orders", "x", "", "/x", CG_STORE_FAIL_INVALID, "method is empty" },
		{ "orders", "x", "GE T", "/x", CG_STORE_FAIL_INVALID,
		  "method 'GE T' is not an HTTP method (a token like GET) or '*'" },
		{ "orders", "x", "G*", "/x", CG_STORE_FAIL_INVALID, "is not an HTTP method" },
		{ "orders", "x", "GET", "", CG_STORE_FAIL_INVALID, "URL template is empty" },
		{ "orders", "x", "GET", "x", CG_STORE_FAIL_INVALID,
		  "URL template 'x' must start with '/'" },
		{ "orders", "x", "GET", "/a/{id", CG_STORE_FAIL_INVALID,
		  "has a '{' without its '}'" },
		{ "orders", "x", "GET", "/a/{id/b}", CG_STORE_FAIL_INVALID,
		  "has a '{' without its '}'" },
		{ "orders", "x", "GET", "/a/id}", CG_STORE_FAIL_INVALID,
		  "has a '}' without its '{'" },
		{ "orders", "x", "GET", "/a/{}", CG_STORE_FAIL_INVALID,
		  "has an empty parameter name '{}'" },
		{ "orders", "x", "GET", "/a/{i d}", CG_STORE_FAIL_INVALID,
		  "has a parameter name with characters other than" },
		{ "orders", "x", "GET", "/a/{id}/{id}", CG_STORE_FAIL_INVALID,
		  "uses the same parameter name twice" },
		{ "orders", "x", "GET", "/a/{x}{y}", CG_STORE_FAIL_INVALID,
		  "URL template '/a/{x}{y}' has two {parameters} with nothing between them" },
		{ "orders", "x", "GET", "/a/{id}?id={id}", CG_STORE_FAIL_INVALID,
		  "uses the same parameter name twice" },
		{ "orders", "x", "GET", "/a?", CG_STORE_FAIL_INVALID,
		  "has an empty query part after '?'" },
		{ "orders", "x", "GET", "/a?x", CG_STORE_FAIL_INVALID,
		  "query part that is not name={param}" },
		{ "orders", "x", "GET", "/a?x={x}&", CG_STORE_FAIL_INVALID,
		  "query part that ends with '&'" },
		{ "orders", "x", "GET", "/a?={x}", CG_STORE_FAIL_INVALID,
		  "query part that is not" },
		{ "orders", "x", "GET", "/a?x={x}y", CG_STORE_FAIL_INVALID,
		  "query part that is not" },
		{ "orders", "x", "GET", "/a*", CG_STORE_FAIL_INVALID,
		  "may use '*' only as a final \"/*\" segment" },
		{ "orders", "x", "GET", "/*/a", CG_STORE_FAIL_INVALID, "only as a final" },
		{ "orders", "x", "GET", "/*?a={a}", CG_STORE_FAIL_INVALID, "only as a final" },
		{ "orders", "x", "GET", "/a//b", CG_STORE_FAIL_INVALID, "must not contain \"//\"" },
		{ "orders", "x", "GET", "/a b", CG_STORE_FAIL_INVALID, "must not contain spaces" },
		{ "orders", "x", "GET", "/a#b", CG_STORE_FAIL_INVALID, "'#'" },
		{ "orders", "x", "get", "/orders/{orderId}", CG_STORE_FAIL_CONFLICT,
		  "operation 'get' of API 'orders' already has GET /orders/{id}" },
		{ "orders", "x", "GET", "/search?q={query}", CG_STORE_FAIL_CONFLICT,
		  "operation 'q' of API 'orders' already has GET /search?q={q}" },
		{ "orders", "q", "GET", "/orders/{x}", CG_STORE_FAIL_CONFLICT,
		  "operation 'get' of API 'orders' already has" },
		{ "orders", "x", NULL, "/x", CG_STORE_FAIL_INVALID,
		  "operation 'x' of API 'orders' does not exist yet; a method and a URL template" },
		{ "orders", "x", "GET", NULL, CG_STORE_FAIL_INVALID, "does not exist yet" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct op_case *c = &cases[i];
		char err[CG_STORE_ERR_LEN];
		struct before b = snap(st);
		struct cg_store_op_set in = { .api_id = c->api_id,
					      .id = c->id,
					      .display_name = NULL,
					      .method = c->method,
					      .url_template = c->tmpl };
		int rc = cg_store_op_set(st, &in, err, sizeof(err));
		assert_refused_err(st, b, rc, c->want_rc, err, c->want);
	}
	/* Same template, other method: fine. */
	op(st, "orders", "put", "PUT", "/orders/{orderId}");
	char err[CG_STORE_ERR_LEN];
	struct before b = snap(st);
	int rc = cg_store_op_rm(st, "orders", "nope", err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_NOT_FOUND, err,
		       "API 'orders' has no operation 'nope'");
	b = snap(st);
	rc = cg_store_op_rm(st, "nope", "get", err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_NOT_FOUND, err, "API 'nope' does not exist");
}

/* ---- limits ---- */

static char *repeat(char c, size_t n, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *s = malloc(pl + n + sl + 1);
	memcpy(s, prefix, pl);
	memset(s + pl, c, n);
	memcpy(s + pl + n, suffix, sl + 1);
	return s;
}

static void test_length_limits(void **state)
{
	struct cg_store *st = *state;
	api(st, "a", NULL, "a", "http://b");
	char err[CG_STORE_ERR_LEN];
	struct before b;
	int rc;

	/* Exactly at each limit is accepted; one more is refused. */
	char *label63 = repeat('x', 63, "", ".example.com");
	char *host = repeat('a', CG_STORE_MAX_HOSTNAME_LEN - 4, "", ".com"); /* one 249-char label */
	char out[CG_STORE_MAX_HOSTNAME_LEN + 1];
	assert_int_equal(cg_store_check_hostname(label63, out, err, sizeof(err)), 0);
	char *name254 = malloc(CG_STORE_MAX_HOSTNAME_LEN + 2);
	for (size_t i = 0; i < CG_STORE_MAX_HOSTNAME_LEN + 1; i++)
		name254[i] = (i % 2) ? '.' : 'a';
	name254[CG_STORE_MAX_HOSTNAME_LEN + 1] = 0; /* "a.a.a...a", 254 chars */
	name254[CG_STORE_MAX_HOSTNAME_LEN] = 'a';
	b = snap(st);
	struct cg_store_host_set hin = { .name = name254, .cert_pem = ec_crt, .key_pem = ec_key,
					 .negotiate_client_certificate = -1 };
	rc = cg_store_host_set(st, &hin, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err, "is longer than 253 characters");
	name254[CG_STORE_MAX_HOSTNAME_LEN] = 0; /* 253 chars: fine */
	assert_int_equal(cg_store_check_hostname(name254, out, err, sizeof(err)), 0);
	free(label63);
	free(host);
	free(name254);

	char *path400 = repeat('p', CG_STORE_MAX_PATH_LEN, "/", "/");
	char *path401 = repeat('p', CG_STORE_MAX_PATH_LEN + 1, "", "");
	api(st, "p400", NULL, path400, "http://b");
	b = snap(st);
	struct cg_store_api_set ain = { .id = "p401", .path = path401, .service_url = "http://b" };
	rc = cg_store_api_set(st, &ain, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err, "is longer than 400 characters");
	free(path400);
	free(path401);

	char *url2000 = repeat('u', CG_STORE_MAX_URL_LEN - 9, "http://b/", "");
	char *url2001 = repeat('u', CG_STORE_MAX_URL_LEN - 8, "http://b/", "");
	api(st, "u2000", NULL, "u2000", url2000);
	b = snap(st);
	ain = (struct cg_store_api_set){ .id = "u2001", .path = "u2001", .service_url = url2001 };
	rc = cg_store_api_set(st, &ain, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err, "is longer than 2000 characters");
	free(url2000);
	free(url2001);

	char *dn300 = repeat('d', CG_STORE_MAX_DISPLAY_NAME_LEN, "", "");
	char *dn301 = repeat('d', CG_STORE_MAX_DISPLAY_NAME_LEN + 1, "", "");
	api(st, "a", dn300, NULL, NULL);
	b = snap(st);
	ain = (struct cg_store_api_set){ .id = "a", .display_name = dn301 };
	rc = cg_store_api_set(st, &ain, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err, "is longer than 300 bytes");
	free(dn300);
	free(dn301);

	char *m32 = repeat('M', CG_STORE_MAX_METHOD_LEN, "", "");
	char *m33 = repeat('M', CG_STORE_MAX_METHOD_LEN + 1, "", "");
	op(st, "a", "m32", m32, "/m");
	b = snap(st);
	struct cg_store_op_set oin = { .api_id = "a", .id = "m33", .method = m33,
				       .url_template = "/m33" };
	rc = cg_store_op_set(st, &oin, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err, "is longer than 32 characters");
	free(m32);
	free(m33);

	char *t1000 = repeat('t', CG_STORE_MAX_TEMPLATE_LEN - 1, "/", "");
	char *t1001 = repeat('t', CG_STORE_MAX_TEMPLATE_LEN, "/", "");
	op(st, "a", "t1000", "GET", t1000);
	b = snap(st);
	oin = (struct cg_store_op_set){ .api_id = "a", .id = "t1001", .method = "GET",
					.url_template = t1001 };
	rc = cg_store_op_set(st, &oin, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err, "is longer than 1000 characters");
	free(t1000);
	free(t1001);

	/* 32 parameters are fine, 33 are not. */
	char tmpl[CG_STORE_MAX_TEMPLATE_LEN + 1];
	size_t pos = 0;
	for (int i = 0; i < CG_STORE_MAX_TEMPLATE_PARAMS; i++)
		pos += (size_t)snprintf(tmpl + pos, sizeof(tmpl) - pos, "/{p%d}", i);
	op(st, "a", "p32", "GET", tmpl);
	snprintf(tmpl + pos, sizeof(tmpl) - pos, "/{p%d}", CG_STORE_MAX_TEMPLATE_PARAMS);
	b = snap(st);
	oin = (struct cg_store_op_set){ .api_id = "a", .id = "p33", .method = "GET",
					.url_template = tmpl };
	rc = cg_store_op_set(st, &oin, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err, "has more than 32 parameters");

	/* A chain of more than 10 certificates. */
	size_t cl = strlen(chain_ok);
	char *long_chain = malloc(cl * 6 + 1);
	for (int i = 0; i < 6; i++)
		memcpy(long_chain + cl * (size_t)i, chain_ok, cl + 1);
	b = snap(st);
	hin = (struct cg_store_host_set){ .name = "c.example.com", .cert_pem = long_chain,
					  .key_pem = leaf_key, .negotiate_client_certificate = -1 };
	rc = cg_store_host_set(st, &hin, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err,
		       "the certificate chain has more than 10 certificates");
	free(long_chain);
}

static void test_count_limits(void **state)
{
	struct cg_store *st = *state;
	char err[CG_STORE_ERR_LEN];
	api(st, "a", NULL, "a", "http://b");
	/* Operations per API. */
	raw_fill(CG_STORE_MAX_OPS_PER_API,
		 "INSERT INTO operations SELECT 'a', 'o' || i, 'o', 'GET', '/o' || i, 'x', 'x' "
		 "FROM n");
	struct before b = snap(st);
	struct cg_store_op_set oin = { .api_id = "a", .id = "one-more", .method = "GET",
				       .url_template = "/one-more" };
	int rc = cg_store_op_set(st, &oin, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err,
		       "API 'a' already has 1000 operations, the limit");
	/* APIs. */
	raw_fill(CG_STORE_MAX_APIS - 1,
		 "INSERT INTO apis (id, display_name, path, service_url, created_at, updated_at)"
		 " SELECT 'x' || i, 'x', 'x' || i, 'http://b', 'x', 'x' FROM n");
	b = snap(st);
	struct cg_store_api_set ain = { .id = "one-more", .path = "one-more",
					.service_url = "http://b" };
	rc = cg_store_api_set(st, &ain, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err,
		       "the store already holds 10000 APIs, the limit");
	/* Hostnames (rows with a placeholder certificate: only counted). */
	raw_fill(CG_STORE_MAX_HOSTS,
		 "INSERT INTO hostnames SELECT 'h' || i || '.example.com', 'c', 'k', 0, i = 1, 'x', "
		 "'x' FROM n");
	b = snap(st);
	struct cg_store_host_set hin = { .name = "one-more.example.com", .cert_pem = ec_crt,
					 .key_pem = ec_key, .negotiate_client_certificate = -1 };
	rc = cg_store_host_set(st, &hin, err, sizeof(err));
	assert_refused_err(st, b, rc, CG_STORE_FAIL_INVALID, err,
		       "the store already holds 1000 hostnames, the limit");
	/* The model at the limits loads; one row past a limit (written behind
	 * the store's back) is refused at load. */
	struct cg_model m;
	load(st, &m);
	assert_int_equal(m.num_hosts, CG_STORE_MAX_HOSTS);
	assert_int_equal(m.num_apis, CG_STORE_MAX_APIS);
	assert_int_equal(find_api(&m, "a")->num_ops, CG_STORE_MAX_OPS_PER_API);
	cg_model_free(&m);
	raw_exec("INSERT INTO operations VALUES ('a', 'extra', 'e', 'GET', '/e', 'x', 'x')");
	rc = cg_store_load_model(st, &m, err, sizeof(err));
	assert_int_equal(rc, CG_STORE_FAIL_INVALID);
	assert_non_null(strstr(err, "API 'a' has 1001 operations, more than certgate's limit of 1000"));
	raw_exec("DELETE FROM operations WHERE id = 'extra'");
	raw_exec("INSERT INTO hostnames VALUES ('extra.example.com', 'c', 'k', 0, 0, 'x', 'x')");
	rc = cg_store_load_model(st, &m, err, sizeof(err));
	assert_int_equal(rc, CG_STORE_FAIL_INVALID);
	assert_non_null(strstr(err, "holds 1001 hostnames, more than certgate's limit of 1000"));
}

/* ---- concurrency and change tokens ---- */

#define WRITERS           2
#define WRITES_PER_WRITER 40

static void test_two_writers_both_succeed(void **state)
{
	pid_t pids[WRITERS];
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			char err[CG_STORE_ERR_LEN];
			struct cg_store *st = cg_store_open(g_store, 0, err, sizeof(err));
			if (!st)
				_exit(10);
			for (int i = 0; i < WRITES_PER_WRITER; i++) {
				char id[32], path[32];
				snprintf(id, sizeof(id), "w%d-%d", w, i);
				snprintf(path, sizeof(path), "p/%d/%d", w, i);
				struct cg_store_api_set in = { .id = id,
							       .display_name = NULL,
							       .path = path,
							       .service_url = "http://b" };
				if (cg_store_api_set(st, &in, err, sizeof(err)) != 0) {
					fprintf(stderr, "writer %d: %s\n", w, err);
					_exit(11);
				}
			}
			cg_store_close(st);
			_exit(0);
		}
	}
	/* Meanwhile hold the write lock for a while from a raw connection:
	 * the writers must wait for it, not fail. */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(g_store, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	struct timespec ts = { 0, 300 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	for (int w = 0; w < WRITERS; w++) {
		int status;
		assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	struct cg_model m;
	load(*state, &m);
	assert_int_equal(m.num_apis, WRITERS * WRITES_PER_WRITER);
	cg_model_free(&m);
}

static void test_change_token(void **state)
{
	struct cg_store *a = *state;
	char err[CG_STORE_ERR_LEN];
	struct cg_store *b = cg_store_open(g_store, 0, err, sizeof(err));
	assert_non_null(b);
	uint64_t t0 = token(a);
	assert_true(token(a) == t0); /* reading does not move it */

	/* Each kind of write from the other connection moves it. */
	uint64_t prev = t0;
#define MOVED()                                                                                    \
	do {                                                                                       \
		uint64_t now = token(a);                                                           \
		assert_true(now != prev);                                                          \
		prev = now;                                                                        \
	} while (0)
	host(b, "api.example.com", ec_crt, ec_key, -1, false);
	MOVED();
	api(b, "x", NULL, "x", "http://b");
	MOVED();
	op(b, "x", "o", "GET", "/");
	MOVED();
	assert_int_equal(cg_store_op_rm(b, "x", "o", err, sizeof(err)), 0);
	MOVED();
	assert_int_equal(cg_store_api_rm(b, "x", err, sizeof(err)), 0);
	MOVED();
	assert_int_equal(cg_store_host_rm(b, "api.example.com", err, sizeof(err)), 0);
	MOVED();
	/* Our own writes move it too. */
	api(a, "y", NULL, "y", "http://b");
	MOVED();
	/* A write by a foreign tool (no counter bump) moves it via data_version. */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(g_store, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE apis SET display_name = 'z'", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	MOVED();
	/* A refused write does not. */
	struct cg_store_api_set in = {
		.id = "bad id", .display_name = NULL, .path = "q", .service_url = "http://b"
	};
	assert_int_equal(cg_store_api_set(b, &in, err, sizeof(err)), CG_STORE_FAIL_INVALID);
	assert_true(token(a) == prev);
	cg_store_close(b);
}

static void test_default_path(void **state)
{
	unsetenv("CERTGATE_STORE");
	assert_string_equal(cg_store_default_path(), "certgate.db");
	setenv("CERTGATE_STORE", "/tmp/x.db", 1);
	assert_string_equal(cg_store_default_path(), "/tmp/x.db");
	setenv("CERTGATE_STORE", "", 1);
	assert_string_equal(cg_store_default_path(), "certgate.db");
	unsetenv("CERTGATE_STORE");
}

#define T(f) cmocka_unit_test_setup_teardown(f, fresh_store, close_store)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_creates_private_wal_store),
		cmocka_unit_test(test_open_refusals),
		cmocka_unit_test(test_migrates_existing_empty_database),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_cert_describe),
		cmocka_unit_test(test_validators_accept_and_normalise),
		T(test_host_round_trip),
		T(test_host_wildcard_and_chain),
		T(test_host_expired_warns_but_is_stored),
		T(test_host_refusals),
		T(test_api_and_op_round_trip),
		T(test_api_protocols),
		cmocka_unit_test(test_protocol_lists),
		T(test_api_refusals),
		T(test_op_refusals),
		T(test_length_limits),
		T(test_count_limits),
		T(test_two_writers_both_succeed),
		T(test_change_token),
	};
	return cmocka_run_group_tests(tests, make_pki, drop_dir);
}
