/* Tests for DN text parsing, rendering and structural matching
 * (src/tls/dn.c, cg_dn_matches in src/tls/x509.c). Names to match come
 * from certificates made per run with the openssl CLI, or are built with
 * the OpenSSL API where the CLI cannot express them. */
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

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "base/arena.h"
#include "tls/x509.h"


static char g_dir[64];
static struct cg_arena g_arena;

#include "tls/tls_cli.h"

static struct cg_dn *parse_ok(const char *text)
{
	struct cg_dn *dn = NULL;
	char err[256] = "";
	if (cg_dn_parse(cg_str_from_c(text), &g_arena, &dn, err, sizeof(err)) != 0)
		fail_msg("parse [%s]: %s", text, err);
	assert_non_null(dn);
	return dn;
}

static void parse_err(const char *text, size_t len, const char *want)
{
	struct cg_dn *dn = (struct cg_dn *)1;
	char err[256] = "";
	assert_int_equal(cg_dn_parse(cg_str_make(text, len), &g_arena, &dn, err, sizeof(err)), -1);
	assert_null(dn);
	if (strcmp(err, want) != 0)
		fail_msg("input [%.*s]\ngot  [%s]\nwant [%s]", (int)len, text, err, want);
}
#define PARSE_ERR(lit, want) parse_err((lit), sizeof(lit) - 1, (want))

static void assert_str(struct cg_str got, const char *want)
{
	if (!cg_str_eq(got, cg_str_from_c(want)))
		fail_msg("got  [%.*s]\nwant [%s]", CG_STR_FMT(got), want);
}

static void render_is(const char *text, const char *want)
{
	assert_str(cg_dn_to_dotnet(parse_ok(text), &g_arena), want);
}

/* ---- parsing -------------------------------------------------------- */

static void test_parse_forward_doc_example(void **state)
{
	/* The validate-client-certificate documentation's example. */
	struct cg_dn *dn = parse_ok("C=US, ST=Illinois, L=Chicago, O=\"Contoso, Inc.\", CN=*.contoso.com");
	assert_int_equal(dn->num_rdns, 5);
	assert_int_equal(dn->rdns[0].avas[0].nid, NID_countryName);
	assert_int_equal(dn->rdns[1].avas[0].nid, NID_stateOrProvinceName);
	assert_str(dn->rdns[1].avas[0].oid, "2.5.4.8");
	assert_str(dn->rdns[3].avas[0].value, "Contoso, Inc.");
	assert_str(dn->rdns[4].avas[0].value, "*.contoso.com");
	assert_str(cg_dn_to_dotnet(dn, &g_arena), "C=US, S=Illinois, L=Chicago, O=\"Contoso, Inc.\", CN=*.contoso.com");
}

static void test_parse_aliases_and_oids(void **state)
{
	struct cg_dn *dn = parse_ok("e=a@x.example; EMAIL=b@x.example; emailAddress=c@x.example; s=IL; st=IL;"
				    " oid.2.5.4.3=x; 2.5.4.3=y; OID.1.2.3.4=z; cn=w; GivenName=G; SURNAME=S; title=T;"
				    " uid=u; serialNumber=1; PostalCode=1; dc=com");
	int want[] = { NID_pkcs9_emailAddress, NID_pkcs9_emailAddress, NID_pkcs9_emailAddress,
		       NID_stateOrProvinceName, NID_stateOrProvinceName, NID_commonName, NID_commonName,
		       NID_undef, NID_commonName, NID_givenName, NID_surname, NID_title, NID_userId,
		       NID_serialNumber, NID_postalCode, NID_domainComponent };
	assert_int_equal(dn->num_rdns, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < dn->num_rdns; i++)
		assert_int_equal(dn->rdns[i].avas[0].nid, want[i]);
	assert_str(dn->rdns[7].avas[0].oid, "1.2.3.4");
	assert_str(cg_dn_to_dotnet(dn, &g_arena),
		   "E=a@x.example, E=b@x.example, E=c@x.example, S=IL, S=IL, CN=x, CN=y, OID.1.2.3.4=z, CN=w, "
		   "G=G, SN=S, T=T, OID.0.9.2342.19200300.100.1.1=u, SERIALNUMBER=1, PostalCode=1, DC=com");
}

static void test_parse_quotes_spaces_multivalue(void **state)
{
	struct cg_dn *dn = parse_ok("  CN =  John  Smith  ,O=\"say \"\"hi\"\"\" + OU = \" lead\" ;L=\"\"  ");
	assert_int_equal(dn->num_rdns, 3);
	assert_str(dn->rdns[0].avas[0].value, "John  Smith");
	assert_int_equal(dn->rdns[1].num_avas, 2);
	assert_str(dn->rdns[1].avas[0].value, "say \"hi\"");
	assert_str(dn->rdns[1].avas[1].value, " lead");
	assert_str(dn->rdns[2].avas[0].value, "");
	assert_str(cg_dn_to_dotnet(dn, &g_arena), "CN=John  Smith, O=\"say \"\"hi\"\"\" + OU=\" lead\", L=\"\"");
	/* Quoted separators and UTF-8 pass through. */
	render_is("CN=\"a,b;c+d=e<f>g#h\", L=Z\xc3\xbcrich, CN=\xe6\x9d\xb1\xe4\xba\xac",
		  "CN=\"a,b;c+d=e<f>g#h\", L=Z\xc3\xbcrich, CN=\xe6\x9d\xb1\xe4\xba\xac");
	/* '=' inside an unquoted value is part of it (as in CertStrToName). */
	render_is("CN=a=b", "CN=\"a=b\"");
	/* A newline is a separator's neighbour, not part of a value. */
	dn = parse_ok("CN=a,\n  O=b");
	assert_int_equal(dn->num_rdns, 2);
	assert_str(dn->rdns[1].avas[0].value, "b");
}

static void test_parse_errors(void **state)
{
	PARSE_ERR("", "dn:1:1: empty distinguished name");
	PARSE_ERR("   \t ", "dn:1:1: empty distinguished name");
	PARSE_ERR("CN=\"abc", "dn:1:4: unterminated quoted value");
	PARSE_ERR("CN=x, O=\"Contoso, Inc.", "dn:1:9: unterminated quoted value");
	PARSE_ERR("CN=a,\nO=\"b", "dn:2:3: unterminated quoted value");
	PARSE_ERR("CN=x,", "dn:1:6: expected attribute type after ','");
	PARSE_ERR("CN=x; ", "dn:1:7: expected attribute type after ';'");
	PARSE_ERR("CN=x+", "dn:1:6: expected attribute type after '+'");
	PARSE_ERR("CN=x,,O=y", "dn:1:6: expected attribute type, found ','");
	PARSE_ERR(",CN=x", "dn:1:1: expected attribute type, found ','");
	PARSE_ERR("=x", "dn:1:1: expected attribute type, found '='");
	PARSE_ERR("XX=1", "dn:1:1: unknown attribute type 'XX'");
	PARSE_ERR("CN=1, Foo=2", "dn:1:7: unknown attribute type 'Foo'");
	PARSE_ERR("CN x", "dn:1:4: expected '=' after 'CN', found 'x'");
	PARSE_ERR("CN", "dn:1:3: expected '=' after 'CN'");
	PARSE_ERR("C\xc3\xa9=1", "dn:1:2: expected '=' after 'C', found 0xC3");
	PARSE_ERR("CN=a\"b", "dn:1:5: '\"' inside an unquoted value (quote the whole value)");
	PARSE_ERR("CN=\"a\" b", "dn:1:8: unexpected 'b' after quoted value");
	PARSE_ERR("CN=\"a\"\"", "dn:1:4: unterminated quoted value");
	PARSE_ERR("OID.2.05.4=x", "dn:1:1: invalid OID '2.05.4'");
	PARSE_ERR("OID.3.1=x", "dn:1:1: invalid OID '3.1'");
	PARSE_ERR("2.5..4=x", "dn:1:1: invalid OID '2.5..4'");
	PARSE_ERR("2=x", "dn:1:1: invalid OID '2'");
	PARSE_ERR("OID.=x", "dn:1:1: unknown attribute type 'OID.'");
	PARSE_ERR("CN=a\x01", "dn:1:5: control character 0x01 in value");
	PARSE_ERR("CN=\"a\x7f\x02\"", "dn:1:7: control character 0x02 in value");
	PARSE_ERR("CN=a\0b", "dn:1:5: control character 0x00 in value");
}

static void test_parse_limits(void **state)
{
	char buf[CG_DN_MAX_TEXT + 2];
	size_t n = 0;
	for (int i = 0; i < CG_X509_MAX_RDNS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sOU=u", i ? "," : "");
	struct cg_dn *dn = parse_ok(buf);
	assert_int_equal(dn->num_rdns, CG_X509_MAX_RDNS);
	snprintf(buf + n, sizeof(buf) - n, ",OU=u");
	parse_err(buf, strlen(buf), "dn:1:321: more than 64 RDNs");

	n = (size_t)snprintf(buf, sizeof(buf), "CN=c");
	for (int i = 0; i < CG_X509_MAX_RDN_VALUES - 1; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "+OU=u");
	dn = parse_ok(buf);
	assert_int_equal(dn->rdns[0].num_avas, CG_X509_MAX_RDN_VALUES);
	snprintf(buf + n, sizeof(buf) - n, "+OU=u");
	parse_err(buf, strlen(buf), "dn:1:81: more than 16 values in one RDN");

	memset(buf, 'v', sizeof(buf));
	memcpy(buf, "CN=", 3);
	parse_err(buf, 3 + CG_X509_MAX_VALUE_LEN + 1, "dn:1:4: value longer than 4096 bytes");
	buf[3] = '"';
	buf[3 + CG_X509_MAX_VALUE_LEN + 2] = '"';
	parse_err(buf, 3 + CG_X509_MAX_VALUE_LEN + 3, "dn:1:4: value longer than 4096 bytes");
	parse_err(buf, CG_DN_MAX_TEXT + 1, "dn:1:1: distinguished name longer than 8192 bytes");
}

static void test_parse_out_of_memory(void **state)
{
	const char *text = "C=US, ST=Illinois, L=Chicago, O=\"Contoso, Inc.\" + OU=IT, OID.1.2.3.4=x, CN=*.contoso.com";
	int failed = 0, built = 0;
	for (size_t cap = 0; cap < 16 * 1024; cap += 32) {
		struct cg_arena small;
		struct cg_dn *dn = NULL;
		char err[128] = "";
		cg_arena_init(&small, 256, cap);
		if (cg_dn_parse(cg_str_from_c(text), &small, &dn, err, sizeof(err)) == 0) {
			assert_non_null(dn);
			built++;
		} else {
			assert_null(dn);
			if (!strstr(err, ": out of memory"))
				fail_msg("cap %zu: %s", cap, err);
			failed++;
		}
		cg_arena_destroy(&small);
	}
	assert_true(failed > 0);
	assert_true(built > 0);
}

/* ---- matching against certificates ----------------------------------- */

/* A self-signed certificate made by the CLI with this -subj, as a view. */
static struct cg_x509 *gen(const char *subj)
{
	char key[128], crt[128];
	snprintf(key, sizeof(key), "%s/k.pem", g_dir);
	snprintf(crt, sizeof(crt), "%s/c.pem", g_dir);
	const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
			       "-nodes", "-days", "1", "-utf8", "-keyout", key, "-out", crt, "-subj", subj, NULL };
	assert_int_equal(run(argv), 0);
	FILE *f = fopen(crt, "rb");
	assert_non_null(f);
	static char pem[16384];
	size_t len = fread(pem, 1, sizeof(pem), f);
	fclose(f);
	struct cg_x509 *c = NULL;
	char err[256] = "";
	if (cg_x509_view_from_pem(cg_str_make(pem, len), &g_arena, &c, err, sizeof(err)) != 0)
		fail_msg("view: %s", err);
	return c;
}

static bool matches(const char *text, const struct cg_x509 *c)
{
	return cg_dn_matches(parse_ok(text), X509_get_subject_name(c->x509));
}

static void test_match_forward_and_reverse(void **state)
{
	struct cg_x509 *c = gen("/C=US/ST=Illinois/L=Chicago/O=Contoso, Inc./CN=*.contoso.com");
	assert_str(c->subject, "CN=*.contoso.com, O=\"Contoso, Inc.\", L=Chicago, S=Illinois, C=US");
	/* Forward (DER) order with ST=, as in the documentation. */
	assert_true(matches("C=US, ST=Illinois, L=Chicago, O=\"Contoso, Inc.\", CN=*.contoso.com", c));
	/* .NET's Subject text, reverse order with S=. */
	assert_true(matches("CN=*.contoso.com, O=\"Contoso, Inc.\", L=Chicago, S=Illinois, C=US", c));
	assert_true(cg_dn_matches(parse_ok("CN=*.contoso.com; O=\"Contoso, Inc.\"; L=Chicago; S=Illinois; C=US"),
				  X509_get_subject_name(c->x509)));
	/* Keys are case-insensitive; spaces around them do not matter. */
	assert_true(matches("  cn = *.contoso.com ,o=\"Contoso, Inc.\",l=Chicago,st=Illinois,c=US", c));
	/* Its own Subject parses back and matches. */
	assert_true(cg_dn_matches(parse_ok("CN=*.contoso.com, O=\"Contoso, Inc.\", L=Chicago, S=Illinois, C=US"),
				  X509_get_issuer_name(c->x509)));
}

static void test_match_mismatches(void **state)
{
	struct cg_x509 *c = gen("/C=US/ST=Illinois/L=Chicago/O=Contoso, Inc./CN=*.contoso.com");
	/* An arbitrary shuffle is not accepted. */
	assert_false(matches("CN=*.contoso.com, C=US, O=\"Contoso, Inc.\", L=Chicago, S=Illinois", c));
	/* Extra RDN, missing RDN. */
	assert_false(matches("CN=*.contoso.com, OU=IT, O=\"Contoso, Inc.\", L=Chicago, S=Illinois, C=US", c));
	assert_false(matches("CN=*.contoso.com, O=\"Contoso, Inc.\", L=Chicago, C=US", c));
	assert_false(matches("CN=*.contoso.com", c));
	/* Values compare exactly: case, inner spaces, punctuation. */
	assert_false(matches("CN=*.CONTOSO.com, O=\"Contoso, Inc.\", L=Chicago, S=Illinois, C=US", c));
	assert_false(matches("CN=*.contoso.com, O=\"Contoso,  Inc.\", L=Chicago, S=Illinois, C=US", c));
	assert_false(matches("CN=*.contoso.com, O=\"Contoso, Inc\", L=Chicago, S=Illinois, C=US", c));
	/* The CN is a literal, not a pattern. */
	assert_false(matches("CN=www.contoso.com, O=\"Contoso, Inc.\", L=Chicago, S=Illinois, C=US", c));
	/* A different type with the same value. */
	assert_false(matches("CN=*.contoso.com, O=\"Contoso, Inc.\", L=Chicago, L=Illinois, C=US", c));
	assert_false(cg_dn_matches(NULL, X509_get_subject_name(c->x509)));
	assert_false(cg_dn_matches(parse_ok("CN=x"), NULL));
}

static void test_match_multivalued(void **state)
{
	struct cg_x509 *c = gen("/DC=com/DC=contoso/O=Org/OU=zz+CN=b");
	assert_str(c->subject, "CN=b + OU=zz, O=Org, DC=contoso, DC=com");
	assert_true(matches("CN=b + OU=zz, O=Org, DC=contoso, DC=com", c));
	/* Order inside one RDN is free (it is a set). */
	assert_true(matches("OU=zz + CN=b, O=Org, DC=contoso, DC=com", c));
	assert_true(matches("DC=com, DC=contoso, O=Org, OU=zz+CN=b", c));
	/* A multi-valued RDN is not the same as separate RDNs. */
	assert_false(matches("CN=b, OU=zz, O=Org, DC=contoso, DC=com", c));
	assert_false(matches("CN=b + OU=zz + O=Org, DC=contoso, DC=com", c));
	assert_false(matches("CN=b + CN=b, O=Org, DC=contoso, DC=com", c));
	/* DC order matters like any other RDN. */
	assert_false(matches("CN=b + OU=zz, O=Org, DC=com, DC=contoso", c));
}

static void test_match_utf8_email_oid(void **state)
{
	struct cg_x509 *c = gen("/C=CH/L=Z\xc3\xbcrich/CN=\xe6\x9d\xb1\xe4\xba\xac/emailAddress=a@x.example");
	assert_true(matches("E=a@x.example, CN=\xe6\x9d\xb1\xe4\xba\xac, L=Z\xc3\xbcrich, C=CH", c));
	assert_true(matches("C=CH, L=Z\xc3\xbcrich, CN=\xe6\x9d\xb1\xe4\xba\xac, emailAddress=a@x.example", c));
	assert_true(matches("OID.1.2.840.113549.1.9.1=a@x.example, 2.5.4.3=\xe6\x9d\xb1\xe4\xba\xac, L=Z\xc3\xbcrich, C=CH", c));
	assert_false(matches("E=a@x.example, CN=\xe6\x9d\xb1\xe4\xba\xac, L=Zurich, C=CH", c));
}

/* Names the CLI cannot write: built in memory with the API. */
static void test_match_api_names(void **state)
{
	X509_NAME *n = X509_NAME_new();
	static const unsigned char bmp[] = { 0x00, 'Z', 0x00, 0xFC, 0x00, 'r' };
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", V_ASN1_UTF8STRING, (const unsigned char *)" padded ", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "O", V_ASN1_BMPSTRING, bmp, sizeof(bmp), -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "1.2.3.4", V_ASN1_UTF8STRING, (const unsigned char *)"v", -1, -1, 0));
	/* Leading/trailing spaces in a certificate value must be quoted. */
	assert_true(cg_dn_matches(parse_ok("OID.1.2.3.4=v, O=Z\xc3\xbcr, CN=\" padded \""), n));
	assert_false(cg_dn_matches(parse_ok("OID.1.2.3.4=v, O=Z\xc3\xbcr, CN=padded"), n));
	assert_false(cg_dn_matches(parse_ok("OID.1.2.3.4=v, O=Z\xc3\xbcr, CN= padded "), n));
	assert_true(cg_dn_matches(parse_ok("1.2.3.4=v; O=Z\xc3\xbcr; CN=\" padded \""), n));
	assert_false(cg_dn_matches(parse_ok("OID.1.2.3.5=v, O=Z\xc3\xbcr, CN=\" padded \""), n));
	X509_NAME_free(n);

	/* A value .NET shows as "#hex" never matches, even spelled as hex. */
	n = X509_NAME_new();
	static const unsigned char bits[] = { 0xAB };
	assert_true(X509_NAME_add_entry_by_txt(n, "1.2.3.5", V_ASN1_BIT_STRING, bits, sizeof(bits), -1, 0));
	struct cg_str s;
	char err[64];
	assert_int_equal(cg_x509_name_to_dotnet(n, &g_arena, &s, err, sizeof(err)), 0);
	assert_str(s, "OID.1.2.3.5=#030200AB");
	assert_false(cg_dn_matches(parse_ok("OID.1.2.3.5=#030200AB"), n));
	X509_NAME_free(n);

	/* An empty name never matches. */
	n = X509_NAME_new();
	assert_false(cg_dn_matches(parse_ok("CN=x"), n));
	X509_NAME_free(n);
}

static void test_render_roundtrip_of_subject(void **state)
{
	struct cg_x509 *c = gen("/DC=com/O=Contoso, Inc./OU=a\\+b/OU=zz+CN=say \"hi\"/street= lead");
	/* DER sorts a SET by encoding, so the shorter OU value comes first. */
	const char *want = "STREET=\" lead\", OU=zz + CN=\"say \"\"hi\"\"\", OU=\"a+b\", O=\"Contoso, Inc.\", DC=com";
	assert_str(c->subject, want);
	struct cg_dn *dn = parse_ok(want);
	assert_str(cg_dn_to_dotnet(dn, &g_arena), want);
	assert_true(cg_dn_matches(dn, X509_get_subject_name(c->x509)));
	assert_str(cg_dn_to_dotnet(NULL, &g_arena), "");
}

static int dir_setup(void **state)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/cg-dn-XXXXXX");
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
		cmocka_unit_test(test_parse_forward_doc_example),
		cmocka_unit_test(test_parse_aliases_and_oids),
		cmocka_unit_test(test_parse_quotes_spaces_multivalue),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_parse_out_of_memory),
		cmocka_unit_test(test_match_forward_and_reverse),
		cmocka_unit_test(test_match_mismatches),
		cmocka_unit_test(test_match_multivalued),
		cmocka_unit_test(test_match_utf8_email_oid),
		cmocka_unit_test(test_match_api_names),
		cmocka_unit_test(test_render_roundtrip_of_subject),
	};
	return cmocka_run_group_tests(tests, dir_setup, dir_teardown);
}
