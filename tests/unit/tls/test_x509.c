/* Tests for the .NET view of X.509 certificates (src/tls/x509.c).
 *
 * Certificates are made per run with the openssl CLI in a mkdtemp
 * directory, or with the OpenSSL API where the CLI cannot express the case
 * (unknown OIDs, BMPString/T61String/OCTET STRING values, fixed dates).
 * Expected strings are .NET's output for the same certificates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/arena.h"
#include "tls/x509.h"


static char g_dir[64];
static struct cg_arena g_arena;

#include "tls/tls_cli.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* A self-signed P-256 certificate with this subject (openssl -subj
 * syntax), optional serial and subjectAltName; its PEM is left in c.pem. */
static struct cg_x509 *gen(const char *subj, const char *serial, const char *san)
{
	char sanarg[8192];
	const char *argv[32];
	int n = 0;
	const char *fixed[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
				"ec_paramgen_curve:prime256v1", "-nodes", "-days", "30", "-utf8" };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		argv[n++] = fixed[i];
	argv[n++] = "-keyout";
	argv[n++] = path("k.pem");
	argv[n++] = "-out";
	argv[n++] = path("c.pem");
	argv[n++] = "-subj";
	argv[n++] = subj;
	if (serial) {
		argv[n++] = "-set_serial";
		argv[n++] = serial;
	}
	if (san) {
		snprintf(sanarg, sizeof(sanarg), "subjectAltName=%s", san);
		argv[n++] = "-addext";
		argv[n++] = sanarg;
	}
	argv[n] = NULL;
	assert_int_equal(run(argv), 0);
	size_t len;
	char *pem = slurp(path("c.pem"), &len);
	struct cg_x509 *c = NULL;
	char err[256] = "";
	int rc = cg_x509_view_from_pem(cg_str_make(pem, len), &g_arena, &c, err, sizeof(err));
	free(pem);
	if (rc != 0)
		fail_msg("view_from_pem: %s", err);
	return c;
}

static void assert_str(struct cg_str got, const char *want)
{
	if (!cg_str_eq(got, cg_str_from_c(want)))
		fail_msg("got  [%.*s]\nwant [%s]", CG_STR_FMT(got), want);
}

/* ---- thumbprints ---------------------------------------------------- */

static void read_fingerprint(const char *alg, char *out, size_t cap)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "openssl x509 -in %s -noout -fingerprint -%s", path("c.pem"), alg);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char line[256] = "";
	assert_non_null(fgets(line, sizeof(line), f));
	pclose(f);
	char *eq = strchr(line, '=');
	assert_non_null(eq);
	size_t n = 0;
	for (char *p = eq + 1; *p && *p != '\n' && n + 1 < cap; p++)
		if (*p != ':')
			out[n++] = *p;
	out[n] = '\0';
}

static void test_thumbprint_matches_openssl(void **state)
{
	struct cg_x509 *c = gen("/CN=thumb", NULL, NULL);
	char want1[64], want256[128], got[CG_X509_SHA256_HEX_LEN];
	read_fingerprint("sha1", want1, sizeof(want1));
	read_fingerprint("sha256", want256, sizeof(want256));
	assert_int_equal(strlen(want1), 40);
	assert_string_equal(c->thumbprint, want1);
	assert_string_equal(c->sha256, want256);
	cg_x509_thumbprint_der((const unsigned char *)c->raw.ptr, c->raw.len, got);
	assert_string_equal(got, want1);
	cg_x509_sha256_der((const unsigned char *)c->raw.ptr, c->raw.len, got);
	assert_string_equal(got, want256);
	/* RawData is the DER the CLI writes. */
	const char *argv[] = { "openssl", "x509", "-in", path("c.pem"), "-outform", "DER", "-out", path("c.der"), NULL };
	assert_int_equal(run(argv), 0);
	size_t len;
	char *der = slurp(path("c.der"), &len);
	assert_int_equal(len, c->raw.len);
	assert_memory_equal(der, c->raw.ptr, len);
	free(der);
	/* Known vector: SHA-1("abc"). */
	cg_x509_thumbprint_der((const unsigned char *)"abc", 3, got);
	assert_string_equal(got, "A9993E364706816ABA3E25717850C26C9CD0D89D");
}

/* ---- Subject / Issuer ---------------------------------------------- */

static void test_subject_reverse_order_and_keys(void **state)
{
	struct cg_x509 *c = gen("/C=US/ST=Illinois/L=Chicago/O=Contoso, Inc./OU=IT/CN=www.contoso.com", NULL, NULL);
	const char *want = "CN=www.contoso.com, OU=IT, O=\"Contoso, Inc.\", L=Chicago, S=Illinois, C=US";
	assert_str(c->subject, want);
	assert_str(c->issuer, want);
}

static void test_subject_email_dc_and_more_keys(void **state)
{
	struct cg_x509 *c = gen("/DC=com/DC=contoso/CN=Jane/emailAddress=jane@contoso.com/street=1 Main St"
				"/title=Dr/GN=Jane/SN=Doe/initials=JD/serialNumber=1234/postalCode=94107"
				"/businessCategory=Private Organization/jurisdictionC=US/UID=jdoe",
				NULL, NULL);
	assert_str(c->subject,
		   "OID.0.9.2342.19200300.100.1.1=jdoe, OID.1.3.6.1.4.1.311.60.2.1.3=US, "
		   "OID.2.5.4.15=Private Organization, PostalCode=94107, SERIALNUMBER=1234, I=JD, SN=Doe, "
		   "G=Jane, T=Dr, STREET=1 Main St, E=jane@contoso.com, CN=Jane, DC=contoso, DC=com");
}

static void test_subject_multivalued_rdn(void **state)
{
	/* DER sorts the SET: CN (2.5.4.3) comes before OU (2.5.4.11). .NET
	 * prints the values of one RDN in encoded order. */
	struct cg_x509 *c = gen("/O=Org/OU=zz+CN=b", NULL, NULL);
	assert_str(c->subject, "CN=b + OU=zz, O=Org");
}

static void test_subject_utf8(void **state)
{
	struct cg_x509 *c = gen("/C=CH/L=Z\xc3\xbcrich/O=\xe6\x9d\xb1\xe4\xba\xac Ltd/CN=\xe6\x9d\xb1\xe4\xba\xac", NULL, NULL);
	assert_str(c->subject, "CN=\xe6\x9d\xb1\xe4\xba\xac, O=\xe6\x9d\xb1\xe4\xba\xac Ltd, L=Z\xc3\xbcrich, C=CH");
}

static void test_subject_quoting(void **state)
{
	/* In -subj, "+" starts a multi-valued RDN; "\+" keeps it in the value. */
	struct cg_x509 *c = gen("/CN=say \"hi\"/OU= lead/OU=trail /OU=a\\+b/OU=k=v/OU=x#y/OU=a;b/OU=<t>/OU=plain.value-1 (ok)", NULL, NULL);
	assert_str(c->subject, "OU=plain.value-1 (ok), OU=\"<t>\", OU=\"a;b\", OU=\"x#y\", OU=\"k=v\", OU=\"a+b\", "
			       "OU=\"trail \", OU=\" lead\", CN=\"say \"\"hi\"\"\"");
}

/* ---- SerialNumber --------------------------------------------------- */

static void test_serial_numbers(void **state)
{
	assert_str(gen("/CN=s", "0x80", NULL)->serial, "0080");
	assert_str(gen("/CN=s", "1", NULL)->serial, "01");
	assert_str(gen("/CN=s", "0x7F", NULL)->serial, "7F");
	assert_str(gen("/CN=s", "0xDEADBEEF01", NULL)->serial, "00DEADBEEF01");
	assert_str(gen("/CN=s", "0x0102030405060708090A0B0C0D0E0F1011121314", NULL)->serial,
		   "0102030405060708090A0B0C0D0E0F1011121314");
}

/* ---- SANs and GetNameInfo ------------------------------------------- */

static void test_sans_and_name_info(void **state)
{
	struct cg_x509 *c = gen("/O=Org/CN=client one", NULL,
				"DNS:a.example,DNS:b.example,IP:192.0.2.1,IP:2001:db8::1,email:x@example.com,"
				"URI:https://example.com/x,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@corp.example");
	assert_int_equal(c->num_sans, 7);
	assert_false(c->sans_truncated);
	assert_int_equal(c->sans[0].type, CG_X509_SAN_DNS);
	assert_str(c->sans[0].value, "a.example");
	assert_str(c->sans[1].value, "b.example");
	assert_int_equal(c->sans[2].type, CG_X509_SAN_IP);
	assert_str(c->sans[2].value, "192.0.2.1");
	assert_int_equal(c->sans[3].type, CG_X509_SAN_IP);
	assert_str(c->sans[3].value, "2001:db8::1");
	assert_int_equal(c->sans[4].type, CG_X509_SAN_EMAIL);
	assert_str(c->sans[4].value, "x@example.com");
	assert_int_equal(c->sans[5].type, CG_X509_SAN_URI);
	assert_str(c->sans[5].value, "https://example.com/x");
	assert_int_equal(c->sans[6].type, CG_X509_SAN_UPN);
	assert_str(c->sans[6].value, "user@corp.example");

	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, false), "client one");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_DNS, false), "a.example");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_DNS_FROM_ALT, false), "a.example");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_EMAIL, false), "x@example.com");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_UPN, false), "user@corp.example");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_URL, false), "https://example.com/x");
	/* forIssuer: the issuer name (same here), no issuerAltName. */
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, true), "client one");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_DNS, true), "client one");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_DNS_FROM_ALT, true), "");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_EMAIL, true), "");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_URL, true), "");
	assert_str(cg_x509_get_name_info(c, (enum cg_x509_name_type)9, false), "");
}

static void test_issuer_alt_name_for_issuer(void **state)
{
	const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
			       "-nodes", "-days", "1", "-keyout", path("k.pem"), "-out", path("c.pem"),
			       "-subj", "/O=Issuing Org", "-addext", "subjectAltName=DNS:leaf.example",
			       "-addext", "issuerAltName=email:ca@x.example,DNS:ca.example,URI:https://ca.example/", NULL };
	assert_int_equal(run(argv), 0);
	size_t len;
	char *pem = slurp(path("c.pem"), &len);
	struct cg_x509 *c = NULL;
	char err[128] = "";
	assert_int_equal(cg_x509_view_from_pem(cg_str_make(pem, len), &g_arena, &c, err, sizeof(err)), 0);
	free(pem);
	assert_int_equal(c->num_issuer_alt_names, 3);
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_EMAIL, true), "ca@x.example");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_DNS, true), "ca.example");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_URL, true), "https://ca.example/");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, true), "Issuing Org");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_DNS, false), "leaf.example");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_EMAIL, false), "");
}

static void test_name_info_fallbacks(void **state)
{
	/* No CN: SimpleName takes an OU. .NET keeps the last OU it sees in
	 * display order, i.e. the least specific one. */
	struct cg_x509 *c = gen("/C=US/O=Org/OU=Unit A/OU=Unit B/emailAddress=e@x.example", NULL, NULL);
	assert_str(c->subject, "E=e@x.example, OU=Unit B, OU=Unit A, O=Org, C=US");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, false), "Unit A");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_EMAIL, false), "e@x.example");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_DNS, false), "");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_UPN, false), "");
	c = gen("/C=US/O=Org", NULL, NULL);
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, false), "Org");
	c = gen("/C=US/emailAddress=only@x.example", NULL, NULL);
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, false), "only@x.example");
	/* Any other attribute, the most specific one, before a SAN e-mail. */
	c = gen("/C=US/L=Town", NULL, "email:san@x.example");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, false), "Town");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_EMAIL, false), "san@x.example");
	/* An empty subject: the SAN e-mail. */
	c = gen("/", NULL, "email:san@x.example,DNS:d.example");
	assert_str(c->subject, "");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, false), "san@x.example");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_DNS, false), "d.example");
	c = gen("/", NULL, NULL);
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, false), "");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_DNS, false), "");
	/* Several CNs: the most specific (last encoded) one. */
	c = gen("/CN=first/CN=second", NULL, NULL);
	assert_str(c->subject, "CN=second, CN=first");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, false), "second");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_DNS, false), "second");
	/* Inside a multi-valued RDN, encoded order: CN=b before OU. */
	c = gen("/O=Org/OU=zz+CN=b+CN=c", NULL, NULL);
	assert_str(c->subject, "CN=b + CN=c + OU=zz, O=Org");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, false), "b");
}

static void test_san_limit_truncates(void **state)
{
	char san[8192];
	size_t n = 0;
	for (int i = 0; i < CG_X509_MAX_SANS + 5; i++)
		n += (size_t)snprintf(san + n, sizeof(san) - n, "%sDNS:h%d.example", i ? "," : "", i);
	struct cg_x509 *c = gen("/CN=many", NULL, san);
	assert_int_equal(c->num_sans, CG_X509_MAX_SANS);
	assert_true(c->sans_truncated);
	assert_str(c->sans[CG_X509_MAX_SANS - 1].value, "h127.example");
}

/* ---- validate-client-certificate claims ---------------------------- */

static void test_identity_claims(void **state)
{
	struct cg_x509 *c = gen("/O=Org/CN=other/CN=Client.Example", "0xA5",
				"DNS:api.example,DNS:*.Wild.example,IP:192.0.2.1");
	char lower[CG_X509_SHA1_HEX_LEN];
	for (size_t i = 0; i < sizeof(lower); i++)
		lower[i] = (char)cg_ascii_lower((unsigned char)c->thumbprint[i]);
	assert_true(cg_x509_thumbprint_matches(c, cg_str_from_c(c->thumbprint)));
	assert_true(cg_x509_thumbprint_matches(c, cg_str_from_c(lower)));
	assert_false(cg_x509_thumbprint_matches(c, cg_str_make(c->thumbprint, 39)));
	assert_false(cg_x509_thumbprint_matches(c, cg_str_from_c(c->sha256)));
	lower[0] = lower[0] == '0' ? '1' : '0';
	assert_false(cg_x509_thumbprint_matches(c, cg_str_from_c(lower)));
	assert_false(cg_x509_thumbprint_matches(NULL, cg_str_from_c(c->thumbprint)));

	assert_str(c->serial, "00A5");
	assert_true(cg_x509_serial_matches(c, CG_STR("00A5")));
	assert_true(cg_x509_serial_matches(c, CG_STR("a5")));
	assert_true(cg_x509_serial_matches(c, CG_STR("00:a5")));
	assert_true(cg_x509_serial_matches(c, CG_STR(" 00 A5 ")));
	assert_false(cg_x509_serial_matches(c, CG_STR("A50")));
	assert_false(cg_x509_serial_matches(c, CG_STR("0xA5")));
	assert_false(cg_x509_serial_matches(c, CG_STR("")));
	assert_false(cg_x509_serial_matches(c, CG_STR("::")));

	assert_true(cg_x509_common_name_matches(c, CG_STR("Client.Example")));
	assert_false(cg_x509_common_name_matches(c, CG_STR("client.example")));
	assert_false(cg_x509_common_name_matches(c, CG_STR("other")));

	assert_true(cg_x509_dns_name_matches(c, CG_STR("api.example")));
	assert_true(cg_x509_dns_name_matches(c, CG_STR("API.Example")));
	assert_true(cg_x509_dns_name_matches(c, CG_STR("*.wild.example")));
	assert_false(cg_x509_dns_name_matches(c, CG_STR("x.wild.example")));
	assert_false(cg_x509_dns_name_matches(c, CG_STR("192.0.2.1")));
	assert_false(cg_x509_dns_name_matches(c, CG_STR("")));

	c = gen("/O=No CN", NULL, NULL);
	assert_false(cg_x509_common_name_matches(c, CG_STR("")));
	assert_false(cg_x509_dns_name_matches(c, CG_STR("No CN")));
}

/* ---- other members -------------------------------------------------- */

static void test_version_sigalg_members(void **state)
{
	struct cg_x509 *c = gen("/CN=m", NULL, NULL);
	assert_int_equal(c->version, 3);
	assert_str(c->signature_algorithm.value, "1.2.840.10045.4.3.2");
	assert_str(c->signature_algorithm.friendly_name, "sha256ECDSA");
	assert_str(c->friendly_name, "");
	assert_false(c->has_private_key);
	assert_true(c->not_after > c->not_before);
	assert_int_equal(c->not_after - c->not_before, 30 * 86400);
	assert_true(c->not_before_ticks == (c->not_before + 62135596800LL) * 10000000LL);

	const char *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
			       "-keyout", path("rk.pem"), "-out", path("c.pem"), "-subj", "/CN=rsa", NULL };
	assert_int_equal(run(argv), 0);
	size_t len;
	char *pem = slurp(path("c.pem"), &len);
	char err[128];
	assert_int_equal(cg_x509_view_from_pem(cg_str_make(pem, len), &g_arena, &c, err, sizeof(err)), 0);
	free(pem);
	assert_str(c->signature_algorithm.friendly_name, "sha256RSA");
	assert_str(c->signature_algorithm.value, "1.2.840.113549.1.1.11");
}

/* A certificate built with the API: fixed dates and serial, and name
 * values the CLI cannot write. Re-decoded from DER so the name is in its
 * encoded form, as it is for every certificate the gateway sees. */
static X509 *api_cert(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	ASN1_INTEGER *serial = ASN1_INTEGER_new();
	assert_non_null(key);
	assert_non_null(x);
	assert_true(X509_set_version(x, X509_VERSION_3));
	ASN1_INTEGER_set(serial, 0xA5);
	assert_true(X509_set_serialNumber(x, serial));
	ASN1_INTEGER_free(serial);
	assert_true(ASN1_TIME_set_string(X509_getm_notBefore(x), "20250102150405Z"));
	assert_true(ASN1_TIME_set_string(X509_getm_notAfter(x), "20301231000000Z"));

	static const unsigned char bmp[] = { 0x00, 'B', 0x00, 'm', 0x00, 'p', 0x00, 0xFC, 0x67, 0x71 };
	static const unsigned char t61[] = { 'c', 'a', 'f', 0xE9 };
	static const unsigned char oct[] = { 0xAB, 0xCD, 0xEF };
	static const unsigned char nul[] = { 'x', 0, 0 };
	assert_true(X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "1.2.3.4", V_ASN1_UTF8STRING, (const unsigned char *)"hello", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "O", V_ASN1_BMPSTRING, bmp, sizeof(bmp), -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "OU", V_ASN1_T61STRING, t61, sizeof(t61), -1, 0));
	/* A BIT STRING is no text type for .NET: "#" and the hex of its DER.
	 * (OpenSSL refuses to decode an OCTET STRING value in a name.) */
	assert_true(X509_NAME_add_entry_by_txt(n, "1.2.3.5", V_ASN1_BIT_STRING, oct, sizeof(oct), -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "L", V_ASN1_UTF8STRING, (const unsigned char *)"line1\nline2", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "ST", V_ASN1_UTF8STRING, (const unsigned char *)"", 0, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "street", V_ASN1_UTF8STRING, nul, sizeof(nul), -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", V_ASN1_UTF8STRING, (const unsigned char *)"\tTab", -1, -1, 0));
	assert_true(X509_set_subject_name(x, n));
	X509_NAME_free(n);
	n = X509_NAME_new();
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Test CA", -1, -1, 0));
	assert_true(X509_set_issuer_name(x, n));
	X509_NAME_free(n);
	assert_true(X509_set_pubkey(x, key));
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	EVP_PKEY_free(key);

	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	X509_free(x);
	const unsigned char *p = der;
	x = d2i_X509(NULL, &p, len);
	OPENSSL_free(der);
	assert_non_null(x);
	return x;
}

static void test_value_types_dates_and_tostring(void **state)
{
	X509 *x = api_cert();
	struct cg_x509 *c = NULL;
	char err[128] = "";
	assert_int_equal(cg_x509_view_new(x, &g_arena, &c, err, sizeof(err)), 0);
	X509_free(x); /* the view holds its own reference */
	const char *subject = "CN=\"\tTab\", STREET=x, S=\"\", L=\"line1\nline2\", OID.1.2.3.5=#030400ABCDEF, "
			      "OU=caf\xc3\xa9, O=Bmp\xc3\xbc\xe6\x9d\xb1, OID.1.2.3.4=hello, C=US";
	assert_str(c->subject, subject);
	assert_str(c->issuer, "CN=Test CA");
	assert_str(c->serial, "00A5");
	assert_true(c->not_before == 1735830245);
	assert_true(c->not_after == 1924905600);
	assert_true(c->not_before_ticks == 638714270450000000LL);
	char want[2048];
	snprintf(want, sizeof(want),
		 "[Subject]\n  %s\n\n[Issuer]\n  CN=Test CA\n\n[Serial Number]\n  00A5\n\n"
		 "[Not Before]\n  1/2/2025 3:04:05 PM\n\n[Not After]\n  12/31/2030 12:00:00 AM\n\n"
		 "[Thumbprint]\n  %s\n",
		 subject, c->thumbprint);
	assert_str(c->text, want);
	/* GetNameInfo returns the decoded value, unquoted. */
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, false), "\tTab");
	assert_str(cg_x509_get_name_info(c, CG_X509_NAME_SIMPLE, true), "Test CA");
}

static void test_value_to_utf8_and_keys(void **state)
{
	ASN1_STRING *s = ASN1_STRING_type_new(V_ASN1_UTF8STRING);
	struct cg_str out;
	bool bin = true;
	char err[128] = "";
	assert_true(ASN1_STRING_set(s, "a\xff" "b", 3));
	assert_int_equal(cg_x509_value_to_utf8(s, &g_arena, &out, &bin, err, sizeof(err)), 0);
	assert_str(out, "a\xef\xbf\xbd" "b");
	assert_false(bin);
	char *big = malloc(CG_X509_MAX_VALUE_LEN + 1);
	memset(big, 'x', CG_X509_MAX_VALUE_LEN + 1);
	assert_true(ASN1_STRING_set(s, big, CG_X509_MAX_VALUE_LEN + 1));
	free(big);
	assert_int_equal(cg_x509_value_to_utf8(s, &g_arena, &out, &bin, err, sizeof(err)), -1);
	assert_string_equal(err, "attribute value longer than 4096 bytes");
	ASN1_STRING_free(s);

	/* BMPString: UTF-16 with a surrogate pair; a lone surrogate is U+FFFD. */
	static const unsigned char bmp[] = { 0x00, 'a', 0xD8, 0x3D, 0xDE, 0x00, 0xDC, 0x00, 0x00 };
	s = ASN1_STRING_type_new(V_ASN1_BMPSTRING);
	assert_true(ASN1_STRING_set(s, bmp, sizeof(bmp)));
	assert_int_equal(cg_x509_value_to_utf8(s, &g_arena, &out, &bin, err, sizeof(err)), 0);
	assert_str(out, "a\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd");
	ASN1_STRING_free(s);
	/* T61String: UTF-8 when it is valid UTF-8, else Latin-1. */
	s = ASN1_STRING_type_new(V_ASN1_T61STRING);
	assert_true(ASN1_STRING_set(s, "Z\xc3\xbcrich", 7));
	assert_int_equal(cg_x509_value_to_utf8(s, &g_arena, &out, &bin, err, sizeof(err)), 0);
	assert_str(out, "Z\xc3\xbcrich");
	ASN1_STRING_free(s);
	/* Any other type: "#" and the hex of its DER. */
	s = ASN1_STRING_type_new(V_ASN1_BIT_STRING);
	assert_true(ASN1_STRING_set(s, "\x01", 1));
	assert_int_equal(cg_x509_value_to_utf8(s, &g_arena, &out, &bin, err, sizeof(err)), 0);
	assert_str(out, "#03020001");
	assert_true(bin);
	ASN1_STRING_free(s);

	assert_str(cg_x509_dotnet_key(NID_stateOrProvinceName), "S");
	assert_str(cg_x509_dotnet_key(NID_pkcs9_emailAddress), "E");
	assert_str(cg_x509_dotnet_key(NID_businessCategory), "");
	assert_str(cg_x509_dotnet_key(NID_undef), "");
}

/* ---- bad input ------------------------------------------------------ */

static void test_bad_der(void **state)
{
	struct cg_x509 *c = (struct cg_x509 *)1;
	char err[128] = "";
	static const unsigned char garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x05, 0xFF };
	assert_int_equal(cg_x509_view_from_der(garbage, 0, &g_arena, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "empty DER");
	assert_null(c);
	assert_int_equal(cg_x509_view_from_der(garbage, sizeof(garbage), &g_arena, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid DER certificate");
	unsigned char *huge = calloc(1, CG_X509_MAX_DER_LEN + 1);
	assert_int_equal(cg_x509_view_from_der(huge, CG_X509_MAX_DER_LEN + 1, &g_arena, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "DER larger than 65536 bytes");
	free(huge);

	gen("/CN=der", NULL, NULL);
	const char *argv[] = { "openssl", "x509", "-in", path("c.pem"), "-outform", "DER", "-out", path("c.der"), NULL };
	assert_int_equal(run(argv), 0);
	size_t len;
	char *der = slurp(path("c.der"), &len);
	assert_int_equal(cg_x509_view_from_der((unsigned char *)der, len, &g_arena, &c, err, sizeof(err)), 0);
	assert_str(c->subject, "CN=der");
	assert_int_equal(cg_x509_view_from_der((unsigned char *)der, len - 1, &g_arena, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid DER certificate");
	der[len] = 0;
	assert_int_equal(cg_x509_view_from_der((unsigned char *)der, len + 1, &g_arena, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "trailing bytes after DER certificate");
	free(der);
}

static void test_bad_pem(void **state)
{
	struct cg_x509 *c;
	char err[128] = "";
	assert_int_equal(cg_x509_view_from_pem(CG_STR(""), &g_arena, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "empty PEM");
	assert_int_equal(cg_x509_view_from_pem(CG_STR("hello"), &g_arena, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "no PEM certificate found");
	assert_int_equal(cg_x509_view_from_pem(CG_STR("-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n"),
					       &g_arena, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid PEM certificate");

	gen("/CN=pem", NULL, NULL);
	size_t len;
	char *pem = slurp(path("c.pem"), &len);
	/* Truncated in the middle of the base64. */
	assert_int_equal(cg_x509_view_from_pem(cg_str_make(pem, len / 2), &g_arena, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid PEM certificate");
	/* Without its END line. */
	char *end = strstr(pem, "-----END");
	assert_non_null(end);
	assert_int_equal(cg_x509_view_from_pem(cg_str_make(pem, (size_t)(end - pem)), &g_arena, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid PEM certificate");
	/* Text around the block is fine (the CLI's -text output has it). */
	char *wrapped = malloc(len + 64);
	int n = snprintf(wrapped, len + 64, "subject=CN=pem\n%s\ntrailing\n", pem);
	assert_int_equal(cg_x509_view_from_pem(cg_str_make(wrapped, (size_t)n), &g_arena, &c, err, sizeof(err)), 0);
	assert_str(c->subject, "CN=pem");
	free(wrapped);
	free(pem);
	char *huge = malloc(CG_X509_MAX_PEM_LEN + 1);
	memset(huge, 'A', CG_X509_MAX_PEM_LEN + 1);
	assert_int_equal(cg_x509_view_from_pem(cg_str_make(huge, CG_X509_MAX_PEM_LEN + 1), &g_arena, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "PEM larger than 262144 bytes");
	free(huge);
	assert_int_equal(cg_x509_view_new(NULL, &g_arena, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "no certificate");
}

static void test_name_limits(void **state)
{
	X509_NAME *n = X509_NAME_new();
	struct cg_str out;
	char err[128] = "";
	for (int i = 0; i < CG_X509_MAX_RDNS + 1; i++)
		assert_true(X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const unsigned char *)"u", -1, -1, 0));
	assert_int_equal(cg_x509_name_to_dotnet(n, &g_arena, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "name has more than 64 RDNs");
	X509_NAME_free(n);

	n = X509_NAME_new();
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"c", -1, -1, 0));
	for (int i = 0; i < CG_X509_MAX_RDN_VALUES; i++)
		assert_true(X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const unsigned char *)"u", -1, -1, -1));
	assert_int_equal(cg_x509_name_to_dotnet(n, &g_arena, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "RDN has more than 16 values");
	X509_NAME_free(n);

	/* Five values of 4000 bytes pass each value's limit but not the name's. */
	n = X509_NAME_new();
	char *v = malloc(4000);
	memset(v, 'v', 4000);
	for (int i = 0; i < 5; i++)
		assert_true(X509_NAME_add_entry_by_txt(n, "OU", V_ASN1_UTF8STRING, (unsigned char *)v, 4000, -1, 0));
	free(v);
	assert_int_equal(cg_x509_name_to_dotnet(n, &g_arena, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "name longer than 16384 bytes");
	X509_NAME_free(n);

	n = X509_NAME_new();
	assert_int_equal(cg_x509_name_to_dotnet(n, &g_arena, &out, err, sizeof(err)), 0);
	assert_str(out, "");
	X509_NAME_free(n);
}

/* Signs x with a fresh key and returns its DER (caller frees). */
static unsigned char *sign_der(X509 *x, int *len)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	assert_non_null(key);
	assert_true(X509_set_pubkey(x, key));
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	EVP_PKEY_free(key);
	unsigned char *der = NULL;
	*len = i2d_X509(x, &der);
	assert_true(*len > 0);
	return der;
}

static X509 *bare_cert(void)
{
	X509 *x = X509_new();
	assert_non_null(x);
	assert_true(X509_set_version(x, X509_VERSION_3));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 7));
	assert_true(ASN1_TIME_set_string(X509_getm_notBefore(x), "20250101000000Z"));
	assert_true(ASN1_TIME_set_string(X509_getm_notAfter(x), "20260101000000Z"));
	return x;
}

static void expect_view_error(X509 *x, const char *want)
{
	int len;
	unsigned char *der = sign_der(x, &len);
	X509_free(x);
	struct cg_x509 *c = (struct cg_x509 *)1;
	char err[128] = "";
	assert_int_equal(cg_x509_view_from_der(der, (size_t)len, &g_arena, &c, err, sizeof(err)), -1);
	OPENSSL_free(der);
	assert_null(c);
	assert_string_equal(err, want);
}

static void test_view_refuses_bad_certificates(void **state)
{
	/* A subject over the RDN limit. */
	X509 *x = bare_cert();
	X509_NAME *n = X509_get_subject_name(x);
	for (int i = 0; i < CG_X509_MAX_RDNS + 1; i++)
		assert_true(X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const unsigned char *)"u", -1, -1, 0));
	expect_view_error(x, "subject: name has more than 64 RDNs");

	/* An issuer with an RDN over the value limit. */
	x = bare_cert();
	n = X509_get_issuer_name(x);
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"c", -1, -1, 0));
	for (int i = 0; i < CG_X509_MAX_RDN_VALUES; i++)
		assert_true(X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const unsigned char *)"u", -1, -1, -1));
	expect_view_error(x, "issuer: RDN has more than 16 values");

	/* A validity date that is not a date. */
	x = bare_cert();
	assert_true(ASN1_STRING_set(X509_getm_notBefore(x), "25XX01000000Z", 13));
	expect_view_error(x, "validity dates cannot be read");

	/* Two subjectAltName extensions. */
	x = bare_cert();
	X509_EXTENSION *e1 = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:a.example");
	X509_EXTENSION *e2 = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:b.example");
	assert_non_null(e1);
	assert_non_null(e2);
	assert_true(X509_add_ext(x, e1, -1));
	assert_true(X509_add_ext(x, e2, -1));
	X509_EXTENSION_free(e1);
	X509_EXTENSION_free(e2);
	expect_view_error(x, "certificate has more than one subjectAltName extension");

	struct cg_str out;
	char err[64] = "";
	assert_int_equal(cg_x509_name_to_dotnet(NULL, &g_arena, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "no name");
}

static void test_view_out_of_memory(void **state)
{
	X509 *x = api_cert();
	/* Every cap below what a view needs must fail cleanly (no leak of the
	 * X509 reference: the arena cleanup still runs), never crash. */
	int failed = 0, built = 0;
	for (size_t cap = 0; cap < 64 * 1024; cap += 64) {
		struct cg_arena small;
		struct cg_x509 *c = NULL;
		char err[128] = "";
		cg_arena_init(&small, 512, cap);
		int rc = cg_x509_view_new(x, &small, &c, err, sizeof(err));
		if (rc != 0) {
			size_t n = strlen(err);
			assert_null(c);
			if (n < 13 || strcmp(err + n - 13, "out of memory") != 0)
				fail_msg("cap %zu: %s", cap, err);
			failed++;
		} else {
			assert_non_null(c);
			assert_str(c->issuer, "CN=Test CA");
			built++;
		}
		cg_arena_destroy(&small);
	}
	assert_true(failed > 0);
	assert_true(built > 0);
	X509_free(x);
}

static int dir_setup(void **state)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/cg-x509-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	cg_arena_init(&g_arena, 64 * 1024, 0);
	return 0;
}

static int dir_teardown(void **state)
{
	cg_arena_destroy(&g_arena);
	return remove_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thumbprint_matches_openssl),
		cmocka_unit_test(test_subject_reverse_order_and_keys),
		cmocka_unit_test(test_subject_email_dc_and_more_keys),
		cmocka_unit_test(test_subject_multivalued_rdn),
		cmocka_unit_test(test_subject_utf8),
		cmocka_unit_test(test_subject_quoting),
		cmocka_unit_test(test_serial_numbers),
		cmocka_unit_test(test_sans_and_name_info),
		cmocka_unit_test(test_issuer_alt_name_for_issuer),
		cmocka_unit_test(test_name_info_fallbacks),
		cmocka_unit_test(test_san_limit_truncates),
		cmocka_unit_test(test_identity_claims),
		cmocka_unit_test(test_version_sigalg_members),
		cmocka_unit_test(test_value_types_dates_and_tostring),
		cmocka_unit_test(test_value_to_utf8_and_keys),
		cmocka_unit_test(test_bad_der),
		cmocka_unit_test(test_bad_pem),
		cmocka_unit_test(test_name_limits),
		cmocka_unit_test(test_view_refuses_bad_certificates),
		cmocka_unit_test(test_view_out_of_memory),
	};
	return cmocka_run_group_tests(tests, dir_setup, dir_teardown);
}
