/* The two-level PKI test_trust and test_vcc make with the openssl CLI:
 * ca.cnf with a root CA and an intermediate CA (see write_ca_files), and
 * the commands that make certificates from it. Included after tls_cli.h. */
#ifndef CG_TEST_TLS_PKI_H
#define CG_TEST_TLS_PKI_H

/* Writes ca.cnf and the CA databases; extra: more extension sections
 * ("[v3_x]\n..."), "" for none. */
static void write_config(const char *extra)
{
	char cnf[4096];
	snprintf(cnf, sizeof(cnf),
		 CA_CNF_HEAD
		 "[v3_leaf]\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature\n"
		 "extendedKeyUsage = clientAuth\nsubjectAltName = DNS:client.example\n"
		 "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
		 "%s"
		 "[v3_server]\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n"
		 "[v3_noca]\nbasicConstraints = CA:FALSE\n"
		 "[ca]\ndefault_ca = intca\n"
		 "[intca]\ndatabase = %s/int.idx\ncrlnumber = %s/int.crlnum\nserial = %s/int.serial\nnew_certs_dir = %s\n"
		 "certificate = %s/int.pem\nprivate_key = %s/int.key\ndefault_md = sha256\n"
		 "default_crl_days = 30\npolicy = pol\nunique_subject = no\nemail_in_dn = yes\n"
		 "[rootca]\ndatabase = %s/root.idx\ncrlnumber = %s/root.crlnum\nserial = %s/root.serial\nnew_certs_dir = %s\n"
		 "certificate = %s/root.pem\nprivate_key = %s/root.key\ndefault_md = sha256\n"
		 "default_crl_days = 30\npolicy = pol\nunique_subject = no\n"
		 "[pol]\ncommonName = optional\n",
		 extra, g_dir, g_dir, g_dir, g_dir, g_dir, g_dir, g_dir, g_dir, g_dir, g_dir, g_dir, g_dir);
	write_ca_files(cnf);
}

/* name.key, and name.pem for subj signed by ca (ca.pem, ca.key) with
 * `openssl x509 -req`, the given serial, extensions ext, for ten years. */
static void ca_signed(const char *name, const char *subj, const char *ca, const char *serial, const char *ext)
{
	char csr[64], pem[64], ca_pem[64], ca_key[64];
	snprintf(csr, sizeof(csr), "%s.csr", name);
	snprintf(pem, sizeof(pem), "%s.pem", name);
	snprintf(ca_pem, sizeof(ca_pem), "%s.pem", ca);
	snprintf(ca_key, sizeof(ca_key), "%s.key", ca);
	make_csr(name, subj, false);
	RUN("openssl", "x509", "-req", "-in", path(csr), "-CA", path(ca_pem), "-CAkey", path(ca_key), "-set_serial",
	    serial, "-days", "3650", "-extfile", path("ca.cnf"), "-extensions", ext, "-out", path(pem));
}

/* name.pem signed by the intermediate with `openssl ca` and extensions
 * ext, between the given dates (YYYYMMDDHHMMSSZ). */
static void leaf_by_int(const char *name, const char *subj, const char *ext, const char *start, const char *end)
{
	char csr[64], pem[64];
	snprintf(csr, sizeof(csr), "%s.csr", name);
	snprintf(pem, sizeof(pem), "%s.pem", name);
	make_csr(name, subj, true);
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-batch", "-notext", "-preserveDN", "-utf8",
	    "-extensions", ext, "-in", path(csr), "-out", path(pem), "-startdate", start, "-enddate", end);
}

/* ca.cnf (with extra sections), the root and the intermediate, and the
 * intermediate's first four leaves (serials 1000-1003): valid and revoked
 * 2024-01-01 .. 2034-01-01, expired (2020-2021), future (2040-2041). */
static void make_cas_and_leaves(const char *extra)
{
	write_config(extra);
	self_signed("root", "/CN=Test Root CA/O=certgate tests", "v3_root");
	ca_signed("int", "/CN=Test Intermediate CA/O=certgate tests", "root", "4096", "v3_int");
	leaf_by_int("valid", "/C=US/O=Contoso, Inc./CN=valid client", "v3_leaf", "20240101000000Z", "20340101000000Z");
	leaf_by_int("revoked", "/CN=revoked client", "v3_leaf", "20240101000000Z", "20340101000000Z");
	leaf_by_int("expired", "/CN=expired client", "v3_leaf", "20200101000000Z", "20210101000000Z");
	leaf_by_int("future", "/CN=future client", "v3_leaf", "20400101000000Z", "20410101000000Z");
}

#endif
