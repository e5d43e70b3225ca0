/* Shared by the gw unit tests: a throwaway server certificate and key made
 * with the openssl CLI, read into memory (the tests build snapshots from
 * PEM text, as the store hands it over). */
#ifndef CG_TEST_GW_PKI_H
#define CG_TEST_GW_PKI_H

#include <stdio.h>
#include <stdlib.h>

static char cert_pem[8192], key_pem[8192];

static void read_file(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
}

static __attribute__((unused)) int setup_pki(void **state)
{
	char dir[] = "/tmp/cg-gwtest-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s/k.pem "
		 "-out %s/c.pem -days 2 -subj /CN=a.test 2>/dev/null",
		 dir, dir);
	assert_int_equal(system(cmd), 0);
	char p[256];
	snprintf(p, sizeof(p), "%s/c.pem", dir);
	read_file(p, cert_pem, sizeof(cert_pem));
	snprintf(p, sizeof(p), "%s/k.pem", dir);
	read_file(p, key_pem, sizeof(key_pem));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	cg_tls_global_init();
	return 0;
}

#endif
