/* Store tests for uploaded certificates and CA certificates: real SQLite
 * files, real PEM/DER/PKCS#12 files made per run with the openssl CLI.
 * Every refused write leaves the rows and the change token as they were. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "store/cert.h"
#include "store/store.h"

#define PATH_LEN 512
#define DUMP_MAX (16 * 1024 * 1024) /* holds a store at CG_STORE_MAX_CERTS rows */

static char g_dir[PATH_LEN / 2];
static int g_store_seq;
static char g_store[PATH_LEN];
static char g_err[CG_STORE_ERR_LEN];
static char g_warn[CG_STORE_ERR_LEN];

#include "store/store_fixture.h"

struct file {
	unsigned char *data;
	size_t len;
};

static struct file slurp(const char *name)
{
	struct file r;
	r.data = slurp_file(name, &r.len);
	return r;
}

static struct file client_pem, client_der, client_pfx, client_pfx_empty, client_with_key,
	client_with_other_key, client_with_enc_key, two_certs, nocert_pfx, garbage, expired,
	root_pem, int_der, leaf_pem, leaf_pfx, rsa_pfx, legacy_pfx;
static char client_thumb[41];

static int make_pki(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/cg-store-cert-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	sh("openssl req -x509 " EC_NEW " -keyout client.key -out client.crt -days 30 "
	   "-subj '/C=US/ST=Washington/O=Contoso/CN=client.example.com'");
	sh("openssl x509 -in client.crt -outform DER -out client.der");
	sh("openssl pkcs12 -export -in client.crt -inkey client.key -out client.pfx "
	   "-passout pass:s3cret");
	sh("openssl pkcs12 -export -in client.crt -inkey client.key -out client-empty.pfx "
	   "-passout pass:");
	sh("openssl pkcs12 -export -nocerts -inkey client.key -out nocert.pfx -passout pass:x");
	/* RC2-40 / 3DES, as Windows and older tools export. */
	sh("openssl pkcs12 -export -legacy -in client.crt -inkey client.key -out legacy.pfx "
	   "-passout pass:old");
	sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key");
	sh("openssl pkey -in client.key -aes256 -passout pass:x -out enc.key");
	sh("cat client.crt client.key > with-key.pem && cat client.crt other.key > with-other.pem"
	   " && cat client.crt enc.key > with-enc.pem");
	sh("openssl x509 -in client.crt -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' > "
	   "thumb.txt");
	sh("head -c 2000 /dev/urandom > garbage.bin");
	/* root -> intermediate -> leaf (CA:FALSE) */
	make_root_and_int();
	sh("openssl x509 -in int.crt -outform DER -out int.der");
	sh("openssl req -new " EC_NEW " -keyout leaf.key -out leaf.csr -subj /CN=leaf");
	sh("printf 'basicConstraints=CA:FALSE\\n' > leaf.ext");
	sh("openssl x509 -req -in leaf.csr -CA int.crt -CAkey int.key -CAcreateserial -days 30 "
	   "-extfile leaf.ext -out leaf.crt");
	sh("openssl pkcs12 -export -in leaf.crt -inkey leaf.key -certfile int.crt -out leaf.pfx "
	   "-passout pass:pw");
	sh("cat root.crt leaf.crt > two.pem");
	sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.crt -days 30 "
	   "-subj /CN=rsa && openssl pkcs12 -export -in rsa.crt -inkey rsa.key -out rsa.pfx "
	   "-passout pass:pw");
	sh("printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\nnew_certs_dir=.\\n"
	   "serial=serial\\ndefault_md=sha256\\npolicy=p\\nunique_subject=no\\n"
	   "[p]\\ncommonName=supplied\\n' > ca.cnf && : > index.txt && echo 01 > serial");
	sh("openssl req -new " EC_NEW " -keyout exp.key -out exp.csr -subj /CN=old");
	sh("openssl ca -batch -config ca.cnf -selfsign -keyfile exp.key -in exp.csr -out exp.crt "
	   "-startdate 20200101000000Z -enddate 20200201000000Z -notext");
	client_pem = slurp("client.crt");
	client_der = slurp("client.der");
	client_pfx = slurp("client.pfx");
	client_pfx_empty = slurp("client-empty.pfx");
	client_with_key = slurp("with-key.pem");
	client_with_other_key = slurp("with-other.pem");
	client_with_enc_key = slurp("with-enc.pem");
	two_certs = slurp("two.pem");
	nocert_pfx = slurp("nocert.pfx");
	garbage = slurp("garbage.bin");
	expired = slurp("exp.crt");
	root_pem = slurp("root.crt");
	int_der = slurp("int.der");
	leaf_pem = slurp("leaf.crt");
	leaf_pfx = slurp("leaf.pfx");
	rsa_pfx = slurp("rsa.pfx");
	legacy_pfx = slurp("legacy.pfx");
	struct file t = slurp("thumb.txt");
	snprintf(client_thumb, sizeof(client_thumb), "%.40s", (const char *)t.data);
	free(t.data);
	return 0;
}

static char *dump(void)
{
	static const char *const q[] = {
		"SELECT * FROM meta",
		"SELECT id, thumbprint, subject, issuer, not_before, "
		"not_after, hex(der), key_pem FROM certificates ORDER BY id",
		"SELECT id, thumbprint, hex(der), intermediate FROM "
		"ca_certificates ORDER BY id",
		"SELECT * FROM backends ORDER BY id"
	};
	return dump_rows(q, sizeof(q) / sizeof(q[0]), DUMP_MAX);
}

static int cert_add(struct cg_store *st, const char *id, struct file f, const char *password)
{
	struct cg_store_cert_add in = { .id = id,
					.data = f.data,
					.len = f.len,
					.password = password,
					.warn = g_warn,
					.warnlen = sizeof(g_warn) };
	return cg_store_cert_add(st, &in, g_err, sizeof(g_err));
}

static int ca_add(struct cg_store *st, const char *id, struct file f, bool intermediate)
{
	struct cg_store_ca_add in = { .id = id,
				      .data = f.data,
				      .len = f.len,
				      .intermediate = intermediate,
				      .warn = g_warn,
				      .warnlen = sizeof(g_warn) };
	return cg_store_ca_add(st, &in, g_err, sizeof(g_err));
}

static void ok(int rc)
{
	if (rc)
		fprintf(stderr, "unexpected failure %d: %s\n", rc, g_err);
	assert_int_equal(rc, 0);
}

static void test_formats_round_trip(void **state)
{
	struct cg_store *st = *state;
	bool created = false;
	struct cg_store_cert_add in = {
		.id = "pem", .data = client_pem.data, .len = client_pem.len, .created = &created
	};
	ok(cg_store_cert_add(st, &in, g_err, sizeof(g_err)));
	assert_true(created);
	struct cg_store_cert_info info;
	bool has_key = true;
	ok(cg_store_cert_get(st, "pem", &info, &has_key, g_err, sizeof(g_err)));
	assert_false(has_key);
	assert_string_equal(info.thumbprint, client_thumb);
	assert_string_equal(info.subject, "CN=client.example.com, O=Contoso, S=Washington, C=US");
	assert_int_equal(strlen(info.not_after), 20); /* yyyy-MM-ddTHH:mm:ssZ */
	assert_int_equal(info.not_after[19], 'Z');

	/* The same certificate under another id is a conflict, whatever the
	 * file format; replacing the same id is fine. */
	struct before b = snap(st);
	assert_refused(st, b, cert_add(st, "der", client_der, NULL), CG_STORE_FAIL_CONFLICT,
		       "is already stored as certificate 'pem'");
	ok(cert_add(st, "pem", client_der, NULL));
	ok(cert_add(st, "pem", client_pfx, "s3cret"));
	ok(cg_store_cert_get(st, "pem", &info, &has_key, g_err, sizeof(g_err)));
	assert_true(has_key);
	assert_string_equal(info.thumbprint, client_thumb);
	ok(cert_add(st, "pem", client_pfx_empty, NULL));
	ok(cert_add(st, "pem", client_pfx_empty, ""));
	ok(cert_add(st, "pem", client_with_key, NULL));
	ok(cert_add(st, "rsa", rsa_pfx, "pw"));
	ok(cert_add(st, "pem", legacy_pfx, "old"));
	ok(cg_store_cert_get(st, "pem", &info, &has_key, g_err, sizeof(g_err)));
	assert_true(has_key);
	struct before lb = snap(st);
	assert_refused(st, lb, cert_add(st, "pem", legacy_pfx, "wrong"), CG_STORE_FAIL_INVALID,
		       "wrong password for the PKCS#12 (PFX) file");
	/* A PFX with a chain: the certificate that matches the key is kept. */
	ok(cert_add(st, "leaf", leaf_pfx, "pw"));
	ok(cg_store_cert_get(st, "leaf", &info, &has_key, g_err, sizeof(g_err)));
	assert_string_equal(info.subject, "CN=leaf");

	struct cg_model m;
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_certs, 3);
	assert_string_equal(m.certs[0].id, "leaf");
	assert_string_equal(m.certs[1].id, "pem");
	assert_string_equal(m.certs[1].thumbprint, client_thumb);
	assert_true(m.certs[1].has_key);
	assert_non_null(strstr(m.certs[1].key_pem, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(m.certs[1].der_len, client_der.len);
	assert_memory_equal(m.certs[1].der, client_der.data, client_der.len);
	cg_model_free(&m);

	ok(cg_store_cert_rm(st, "pem", g_err, sizeof(g_err)));
	b = snap(st);
	assert_refused(st, b, cg_store_cert_rm(st, "pem", g_err, sizeof(g_err)),
		       CG_STORE_FAIL_NOT_FOUND, "certificate 'pem' does not exist");
	assert_int_equal(cg_store_cert_get(st, "pem", &info, &has_key, g_err, sizeof(g_err)),
			 CG_STORE_FAIL_NOT_FOUND);
}

static void test_cert_refusals(void **state)
{
	struct cg_store *st = *state;
	ok(cert_add(st, "keep", client_pem, NULL));
	struct before b;
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", client_pfx, "wrong"), CG_STORE_FAIL_INVALID,
		       "wrong password for the PKCS#12 (PFX) file");
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", client_pfx, NULL), CG_STORE_FAIL_INVALID,
		       "needs a password (give it with --password-file)");
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", nocert_pfx, "x"), CG_STORE_FAIL_INVALID,
		       "the PKCS#12 (PFX) file holds no certificate");
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", client_with_other_key, NULL), CG_STORE_FAIL_INVALID,
		       "the private key does not match the certificate");
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", client_with_enc_key, NULL), CG_STORE_FAIL_INVALID,
		       "the private key is encrypted");
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", garbage, NULL), CG_STORE_FAIL_INVALID,
		       "the file is not a certificate: expected PEM, DER (.cer) or PKCS#12");
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", two_certs, NULL), CG_STORE_FAIL_INVALID,
		       "the PEM holds more than one certificate");
	struct file empty = { (unsigned char *)"", 0 };
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", empty, NULL), CG_STORE_FAIL_INVALID,
		       "the certificate file is empty");
	struct file text = { (unsigned char *)"-----BEGIN PRIVATE KEY-----\nAAAA\n", 33 };
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", text, NULL), CG_STORE_FAIL_INVALID,
		       "no certificate found in the PEM");
	/* Truncated DER is neither a certificate nor a PKCS#12. */
	struct file cut = { client_der.data, client_der.len - 10 };
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", cut, NULL), CG_STORE_FAIL_INVALID,
		       "not a certificate");
	b = snap(st);
	assert_refused(st, b, cert_add(st, "bad id", leaf_pem, NULL), CG_STORE_FAIL_INVALID,
		       "certificate id 'bad id'");
	/* The size limit: one byte over is refused before parsing. */
	struct file big = { calloc(1, CG_STORE_MAX_CERT_FILE_BYTES + 1),
			    CG_STORE_MAX_CERT_FILE_BYTES + 1 };
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", big, NULL), CG_STORE_FAIL_INVALID,
		       "at most 262144 are accepted");
	big.len = CG_STORE_MAX_CERT_FILE_BYTES;
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", big, NULL), CG_STORE_FAIL_INVALID,
		       "not a certificate");
	free(big.data);
	char pw[CG_STORE_MAX_PASSWORD_LEN + 2];
	memset(pw, 'p', sizeof(pw));
	pw[CG_STORE_MAX_PASSWORD_LEN + 1] = 0;
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", client_pfx, pw), CG_STORE_FAIL_INVALID,
		       "the password is longer than 1024 bytes");
	pw[CG_STORE_MAX_PASSWORD_LEN] = 0;
	b = snap(st);
	assert_refused(st, b, cert_add(st, "x", client_pfx, pw), CG_STORE_FAIL_INVALID,
		       "wrong password");
}

static void test_expired_cert_warns(void **state)
{
	struct cg_store *st = *state;
	ok(cert_add(st, "old", expired, NULL));
	assert_string_equal(g_warn, "certificate 'old' expired on 2020-02-01T00:00:00Z");
	ok(cert_add(st, "new", client_pem, NULL));
	assert_string_equal(g_warn, "");
}

static void test_cert_in_use(void **state)
{
	struct cg_store *st = *state;
	ok(cert_add(st, "backend-client", client_pfx, "s3cret"));
	ok(cg_store_policy_set(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, NULL,
			       "<policies><inbound><base />"
			       "<authentication-certificate certificate-id = 'backend-client' />"
			       "</inbound></policies>",
			       g_err, sizeof(g_err)));
	struct before b = snap(st);
	assert_refused(st, b, cg_store_cert_rm(st, "backend-client", g_err, sizeof(g_err)),
		       CG_STORE_FAIL_CONFLICT,
		       "certificate 'backend-client' is used by the global policy "
		       "(authentication-certificate)");
	/* By thumbprint (any case) in an operation policy, or in a fragment. */
	struct cg_store_api_set a = { .id = "orders", .path = "o", .service_url = "http://x" };
	ok(cg_store_api_set(st, &a, g_err, sizeof(g_err)));
	struct cg_store_op_set o = {
		.api_id = "orders", .id = "get", .method = "GET", .url_template = "/x"
	};
	ok(cg_store_op_set(st, &o, g_err, sizeof(g_err)));
	char lower[41];
	for (int i = 0; i < 40; i++)
		lower[i] = (char)(client_thumb[i] >= 'A' && client_thumb[i] <= 'F'
					  ? client_thumb[i] + 32
					  : client_thumb[i]);
	lower[40] = 0;
	char text[512];
	snprintf(text, sizeof(text),
		 "<policies><inbound><base /><authentication-certificate thumbprint=\"%s\" />"
		 "</inbound></policies>",
		 lower);
	ok(cg_store_policy_set(st, CG_MODEL_POLICY_OPERATION, "orders", "get", NULL, text, g_err,
			       sizeof(g_err)));
	ok(cg_store_fragment_set(
		st, "mtls", NULL, NULL,
		"<fragment><authentication-certificate certificate-id=\"backend-client\""
		" /></fragment>",
		g_err, sizeof(g_err)));
	ok(cg_store_policy_rm(st, CG_MODEL_POLICY_GLOBAL, NULL, NULL, g_err, sizeof(g_err)));
	b = snap(st);
	assert_refused(st, b, cg_store_cert_rm(st, "backend-client", g_err, sizeof(g_err)),
		       CG_STORE_FAIL_CONFLICT,
		       "is used by the policy of operation 'get' of api 'orders', fragment 'mtls'");
	ok(cg_store_fragment_rm(st, "mtls", g_err, sizeof(g_err)));
	/* Commented out, or another element's thumbprint: not a use. */
	snprintf(text, sizeof(text),
		 "<policies><inbound><base /><!-- <authentication-certificate thumbprint=\"%s\" />"
		 " --><validate-client-certificate><identities><identity thumbprint=\"%s\" />"
		 "</identities></validate-client-certificate></inbound></policies>",
		 client_thumb, client_thumb);
	ok(cg_store_policy_set(st, CG_MODEL_POLICY_OPERATION, "orders", "get", NULL, text, g_err,
			       sizeof(g_err)));
	ok(cg_store_cert_rm(st, "backend-client", g_err, sizeof(g_err)));
}

static void test_ca(void **state)
{
	struct cg_store *st = *state;
	ok(ca_add(st, "root", root_pem, false));
	assert_string_equal(g_warn, "");
	ok(ca_add(st, "int", int_der, true));
	assert_string_equal(g_warn, "");
	struct before b = snap(st);
	assert_refused(st, b, ca_add(st, "leaf", leaf_pem, false), CG_STORE_FAIL_INVALID,
		       "'CN=leaf' (thumbprint ");
	assert_non_null(strstr(g_err, "is not a CA certificate (basicConstraints CA:FALSE"));
	b = snap(st);
	assert_refused(st, b, ca_add(st, "again", root_pem, false), CG_STORE_FAIL_CONFLICT,
		       "already stored as CA certificate 'root'");
	b = snap(st);
	assert_refused(st, b, ca_add(st, "x", garbage, false), CG_STORE_FAIL_INVALID,
		       "not a certificate");
	/* An intermediate added as a root is stored, with a warning. */
	ok(ca_add(st, "int", int_der, false));
	assert_non_null(strstr(g_warn, "CA certificate 'int' is not self-signed"));

	struct cg_model m;
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_cas, 2);
	assert_string_equal(m.cas[0].id, "int");
	assert_false(m.cas[0].intermediate);
	assert_int_equal(m.cas[0].der_len, int_der.len);
	assert_memory_equal(m.cas[0].der, int_der.data, int_der.len);
	assert_string_equal(m.cas[1].id, "root");
	assert_int_equal(strlen(m.cas[1].thumbprint), 40);
	cg_model_free(&m);

	ok(cg_store_ca_rm(st, "int", g_err, sizeof(g_err)));
	b = snap(st);
	assert_refused(st, b, cg_store_ca_rm(st, "int", g_err, sizeof(g_err)),
		       CG_STORE_FAIL_NOT_FOUND, "CA certificate 'int' does not exist");
}

static int backend(struct cg_store *st, const char *id, const char *url, const char *cert,
		   int chain, int name);

/* Mutated uploads (bit flips, truncations, spliced bytes) of every format:
 * the parser answers 0 or INVALID, never crashes or leaks (ASan build),
 * and anything it accepts has a certificate. A fixed seed keeps it
 * reproducible; the fuzz corpus is elsewhere, this is the cheap net. */
static void test_upload_parser_survives_mutations(void **state)
{
	(void)state;
	const struct file *seeds[] = { &client_pem, &client_der, &client_pfx, &client_with_key,
				       &leaf_pfx,   &root_pem,   &two_certs };
	unsigned seed = 12345;
	for (int iter = 0; iter < 3000; iter++) {
		const struct file *f = seeds[iter % (int)(sizeof(seeds) / sizeof(seeds[0]))];
		unsigned char *buf = malloc(f->len + 1);
		memcpy(buf, f->data, f->len);
		size_t len = f->len;
		seed = seed * 1103515245u + 12345u;
		int kind = (int)((seed >> 16) % 3);
		if (kind == 0) {
			for (int k = 0; k < 4; k++) {
				seed = seed * 1103515245u + 12345u;
				buf[(seed >> 8) % len] ^= (unsigned char)(1u << ((seed >> 4) % 8));
			}
		} else if (kind == 1) {
			len = (seed >> 8) % len;
		} else {
			size_t at = (seed >> 8) % len;
			memset(buf + at, (int)(seed & 0xff), (len - at) < 16 ? len - at : 16);
		}
		X509 *x = NULL;
		EVP_PKEY *k = NULL;
		char err[CG_STORE_ERR_LEN];
		int rc = cg_store_cert_parse_upload(buf, len, iter % 2 ? "s3cret" : "pw", &x, &k,
						    err, sizeof(err));
		assert_true(rc == 0 || rc == CG_STORE_FAIL_INVALID);
		if (rc == 0)
			assert_non_null(x);
		else
			assert_true(x == NULL && k == NULL && err[0]);
		X509_free(x);
		EVP_PKEY_free(k);
		free(buf);
	}
}

static void test_count_limits(void **state)
{
	struct cg_store *st = *state;
	raw_fill(CG_STORE_MAX_CERTS - 1,
		 "INSERT INTO certificates (id, thumbprint, subject, issuer, not_before, not_after,"
		 " der, created_at, updated_at) SELECT 'c' || i, 'T' || i, '', '', '', '', x'00',"
		 " 'now', 'now' FROM n");
	ok(cert_add(st, "last", client_pem, NULL));
	struct before b = snap(st);
	assert_refused(st, b, cert_add(st, "one-more", root_pem, NULL), CG_STORE_FAIL_INVALID,
		       "already holds 50000 certificates, the limit");
	raw_fill(CG_STORE_MAX_CAS - 1,
		 "INSERT INTO ca_certificates (id, thumbprint, subject, not_after, der, created_at,"
		 " updated_at) SELECT 'a' || i, 'T' || i, '', '', x'00', 'now', 'now' FROM n");
	ok(ca_add(st, "last", root_pem, false));
	b = snap(st);
	assert_refused(st, b, ca_add(st, "one-more", int_der, true), CG_STORE_FAIL_INVALID,
		       "already holds 100 CA certificates, the limit");
	raw_fill(CG_STORE_MAX_BACKENDS - 1,
		 "INSERT INTO backends (id, url, created_at, updated_at) SELECT 'b' || i, "
		 "'http://x', 'now', 'now' FROM n");
	ok(backend(st, "last", "http://x", NULL, -1, -1));
	b = snap(st);
	assert_refused(st, b, backend(st, "one-more", "http://x", NULL, -1, -1),
		       CG_STORE_FAIL_INVALID, "already holds 10000 backends, the limit");
	raw_exec("INSERT INTO ca_certificates (id, thumbprint, subject, not_after, der, created_at,"
		 " updated_at) VALUES ('extra', 'X', '', '', x'00', 'now', 'now')");
	struct cg_model m;
	assert_int_equal(cg_store_load_model(st, &m, g_err, sizeof(g_err)), CG_STORE_FAIL_INVALID);
	assert_non_null(strstr(g_err, "101 CA certificates, more than certgate's limit of 100"));
}

static int backend(struct cg_store *st, const char *id, const char *url, const char *cert,
		   int chain, int name)
{
	struct cg_store_backend_set in = { .id = id,
					   .url = url,
					   .client_cert_id = cert,
					   .validate_chain = chain,
					   .validate_name = name };
	return cg_store_backend_set(st, &in, g_err, sizeof(g_err));
}

static void test_backends(void **state)
{
	struct cg_store *st = *state;
	ok(cert_add(st, "gw-client", client_pfx, "s3cret"));
	ok(cert_add(st, "public-only", root_pem, NULL));
	ok(backend(st, "plain", "HTTP://10.0.0.5:8080/api", NULL, -1, -1));
	ok(backend(st, "mtls", "https://b.example.com", "gw-client", 0, -1));
	struct cg_model m;
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_int_equal(m.num_backends, 2);
	assert_string_equal(m.backends[0].id, "mtls");
	assert_string_equal(m.backends[0].client_cert_id, "gw-client");
	assert_false(m.backends[0].validate_chain);
	assert_true(m.backends[0].validate_name);
	assert_string_equal(m.backends[1].url, "http://10.0.0.5:8080/api");
	assert_null(m.backends[1].client_cert_id);
	assert_true(m.backends[1].validate_chain);
	cg_model_free(&m);
	/* Update keeps what is not given. */
	ok(backend(st, "mtls", NULL, NULL, -1, 0));
	ok(cg_store_load_model(st, &m, g_err, sizeof(g_err)));
	assert_string_equal(m.backends[0].client_cert_id, "gw-client");
	assert_false(m.backends[0].validate_chain);
	assert_false(m.backends[0].validate_name);
	cg_model_free(&m);

	struct before b = snap(st);
	assert_refused(st, b, backend(st, "x", "https://b", "nope", -1, -1),
		       CG_STORE_FAIL_NOT_FOUND, "certificate 'nope' does not exist");
	b = snap(st);
	assert_refused(st, b, backend(st, "x", "https://b", "public-only", -1, -1),
		       CG_STORE_FAIL_INVALID, "certificate 'public-only' has no private key");
	b = snap(st);
	assert_refused(st, b, backend(st, "x", NULL, NULL, -1, -1), CG_STORE_FAIL_INVALID,
		       "a URL is needed to create it");
	b = snap(st);
	assert_refused(st, b, backend(st, "x", "ftp://b", NULL, -1, -1), CG_STORE_FAIL_INVALID,
		       "must start with http:// or https://");

	/* The certificate a backend presents cannot go, nor lose its key. */
	b = snap(st);
	assert_refused(st, b, cg_store_cert_rm(st, "gw-client", g_err, sizeof(g_err)),
		       CG_STORE_FAIL_CONFLICT,
		       "certificate 'gw-client' is used by backend 'mtls' (client certificate)");
	b = snap(st);
	assert_refused(
		st, b, cert_add(st, "gw-client", client_der, NULL), CG_STORE_FAIL_INVALID,
		"is the client certificate of backend 'mtls'; the new file has no private key");
	ok(cert_add(st, "gw-client", client_pfx_empty, NULL)); /* with a key: fine */

	struct cg_store_backend_set drop = {
		.id = "mtls", .no_client_cert = true, .validate_chain = -1, .validate_name = -1
	};
	ok(cg_store_backend_set(st, &drop, g_err, sizeof(g_err)));
	ok(cg_store_cert_rm(st, "gw-client", g_err, sizeof(g_err)));
	ok(cg_store_backend_rm(st, "mtls", g_err, sizeof(g_err)));
	b = snap(st);
	assert_refused(st, b, cg_store_backend_rm(st, "mtls", g_err, sizeof(g_err)),
		       CG_STORE_FAIL_NOT_FOUND, "backend 'mtls' does not exist");
}

#define T(f) cmocka_unit_test_setup_teardown(f, fresh_store, close_store)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_formats_round_trip),
		T(test_cert_refusals),
		T(test_expired_cert_warns),
		T(test_cert_in_use),
		T(test_ca),
		T(test_count_limits),
		T(test_backends),
		T(test_upload_parser_survives_mutations),
	};
	return cmocka_run_group_tests(tests, make_pki, drop_dir);
}
