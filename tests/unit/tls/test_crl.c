/* Tests for the CRL fetcher (src/tls/crl.c) and the trust store using it
 * (cg_trust_set_crl_source, cg_trust_set_revocation_fail_open).
 *
 * A real HTTP server runs in a thread of this test on 127.0.0.1 (an
 * ephemeral port, known before the PKI is made) and counts requests per
 * path. The PKI is made per run with the openssl CLI: a root, an
 * intermediate whose crlDistributionPoints names the root's CRL, leaves
 * whose crlDistributionPoints name http://127.0.0.1:PORT/<path>, CRLs from
 * `openssl ca -gencrl` (with -crlsec / -crl_nextupdate for short-lived and
 * stale ones). Certificates with odd distribution points (many, long,
 * forged) are made with the OpenSSL API and signed by the same keys.
 * Verification times are the wall clock: the fetcher schedules on it. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/arena.h"
#include "tls/crl.h"
#include "tls/trust.h"
#include "tls/vcc.h"
#include "tls/x509.h"

extern char **environ;

static char g_dir[64];
static struct cg_arena g_arena;
static int g_port;      /* the test server */
static int g_dead_port; /* nothing listens there */
static int g_ocsp_port, g_ocsp_forged_port; /* `openssl ocsp` responders (test_ocsp) */
static int g_ocsp_deleg_port, g_ocsp_noeku_port; /* delegated responders (test_ocsp_delegated) */
static pid_t g_responders[4]; /* running responders: a failed test leaves them to group_teardown */

/* ---- the HTTP server ----------------------------------------------------- */

enum mode { M_SERVE, M_HANG, M_404, M_CHUNKED, M_NOCL, M_BIGHDR, M_FAIL_FIRST };

struct route {
	char path[64];
	enum mode mode;
	unsigned char *body;
	size_t len;
	int fail_first; /* M_FAIL_FIRST: answer 404 this many times, then serve */
	int count;
};

#define MAX_ROUTES 32
static struct route g_routes[MAX_ROUTES];
static int g_nroutes;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_listen = -1;
static _Atomic bool g_stop;
static pthread_t g_srv;
static int g_hung[64];
static int g_nhung;
static int g_unknown_count; /* requests for paths with no route */

static void route_set(const char *path, enum mode m, const unsigned char *body, size_t len)
{
	pthread_mutex_lock(&g_mu);
	struct route *r = NULL;
	for (int i = 0; i < g_nroutes; i++)
		if (strcmp(g_routes[i].path, path) == 0)
			r = &g_routes[i];
	if (!r) {
		assert_true(g_nroutes < MAX_ROUTES);
		r = &g_routes[g_nroutes++];
		snprintf(r->path, sizeof(r->path), "%s", path);
	}
	r->mode = m;
	free(r->body);
	r->body = NULL;
	r->len = len;
	if (len) {
		r->body = malloc(len);
		memcpy(r->body, body, len);
	}
	pthread_mutex_unlock(&g_mu);
}

static int route_count(const char *path)
{
	int n = 0;
	pthread_mutex_lock(&g_mu);
	for (int i = 0; i < g_nroutes; i++)
		if (strcmp(g_routes[i].path, path) == 0)
			n = g_routes[i].count;
	pthread_mutex_unlock(&g_mu);
	return n;
}

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

static void serve_one(int fd)
{
	char req[4096];
	size_t n = 0;
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n < sizeof(req) - 1) {
		ssize_t r = recv(fd, req + n, sizeof(req) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[n] = '\0';
	char path[256] = "";
	if (sscanf(req, "GET %255s HTTP/1.1", path) != 1) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&g_mu);
	struct route *r = NULL;
	for (int i = 0; i < g_nroutes; i++) {
		size_t pl = strlen(g_routes[i].path);
		/* A route ending in '*' matches every path it prefixes
		 * (OCSP GETs carry the request in the path). */
		if (strcmp(g_routes[i].path, path) == 0 ||
		    (pl && g_routes[i].path[pl - 1] == '*' && strncmp(g_routes[i].path, path, pl - 1) == 0))
			r = &g_routes[i];
	}
	enum mode m = r ? r->mode : M_404;
	if (r) {
		r->count++;
		if (m == M_FAIL_FIRST)
			m = r->fail_first-- > 0 ? M_404 : M_SERVE;
	} else {
		g_unknown_count++;
	}
	unsigned char *body = NULL;
	size_t len = r ? r->len : 0;
	if (len) {
		body = malloc(len);
		memcpy(body, r->body, len);
	}
	pthread_mutex_unlock(&g_mu);
	char h[256];
	switch (m) {
	case M_SERVE:
		snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", len);
		write_all(fd, h, strlen(h));
		write_all(fd, body, len);
		break;
	case M_NOCL: /* HTTP/1.0 style: the body ends at close */
		snprintf(h, sizeof(h), "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\n\r\n");
		write_all(fd, h, strlen(h));
		write_all(fd, body, len);
		break;
	case M_CHUNKED:
		snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n", len);
		write_all(fd, h, strlen(h));
		write_all(fd, body, len);
		write_all(fd, "\r\n0\r\n\r\n", 7);
		break;
	case M_BIGHDR: {
		write_all(fd, "HTTP/1.1 200 OK\r\n", 17);
		for (int i = 0; i < 400; i++)
			write_all(fd, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 58);
		write_all(fd, "Content-Length: 0\r\n\r\n", 21);
		break;
	}
	case M_HANG:
		free(body);
		pthread_mutex_lock(&g_mu);
		if (g_nhung < 64) {
			g_hung[g_nhung++] = fd;
			pthread_mutex_unlock(&g_mu);
			return;
		}
		pthread_mutex_unlock(&g_mu);
		break;
	default:
		snprintf(h, sizeof(h), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
		write_all(fd, h, strlen(h));
		break;
	}
	free(body);
	close(fd);
}

static void *server_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&g_stop)) {
		struct pollfd p = { .fd = g_listen, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(g_listen, NULL, NULL);
		if (fd >= 0)
			serve_one(fd);
	}
	return NULL;
}

static int listen_on(int backlog, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, backlog) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* ---- PKI ------------------------------------------------------------------ */

#include "tls/tls_cli.h"

/* Leaf extension sections, one per distribution point the tests use. */
static const char *const g_dp_paths[] = { "int.crl", "garbage", "missing", "big", "bignocl", "forged.crl",
					   "wrong.crl", "hang", "short.crl", "stale.crl", "chunked", "bighdr",
					   "flaky.crl", "upl.crl" };
#define NDP (sizeof(g_dp_paths) / sizeof(g_dp_paths[0]))

static void write_config(void)
{
	char cnf[16384];
	int n = snprintf(
		cnf, sizeof(cnf),
		CA_CNF_HEAD
		"crlDistributionPoints = URI:http://127.0.0.1:%d/root.crl\n"
		"[v3_dead]\nbasicConstraints = CA:FALSE\ncrlDistributionPoints = URI:http://127.0.0.1:%d/x.crl\n"
		"[v3_https]\nbasicConstraints = CA:FALSE\ncrlDistributionPoints = URI:https://127.0.0.1:%d/int.crl\n"
		"[v3_many]\nbasicConstraints = CA:FALSE\ncrlDistributionPoints = "
		"URI:http://127.0.0.1:%d/dp1,URI:http://127.0.0.1:%d/dp2,URI:http://127.0.0.1:%d/dp3,"
		"URI:http://127.0.0.1:%d/dp4,URI:http://127.0.0.1:%d/dp5\n"
		"[v3_ocsp]\nbasicConstraints = CA:FALSE\nauthorityInfoAccess = OCSP;URI:http://127.0.0.1:%d/\n"
		"[v3_ocsp_forged]\nbasicConstraints = CA:FALSE\nauthorityInfoAccess = OCSP;URI:http://127.0.0.1:%d/\n"
		"[v3_ocsp_fallback]\nbasicConstraints = CA:FALSE\nauthorityInfoAccess = OCSP;URI:http://127.0.0.1:%d/\n"
		"crlDistributionPoints = URI:http://127.0.0.1:%d/missing\n"
		"[v3_ocsp_deleg]\nbasicConstraints = CA:FALSE\nauthorityInfoAccess = OCSP;URI:http://127.0.0.1:%d/\n"
		"[v3_ocsp_noeku]\nbasicConstraints = CA:FALSE\nauthorityInfoAccess = OCSP;URI:http://127.0.0.1:%d/\n"
		"[v3_ocsp_signer]\nbasicConstraints = CA:FALSE\nextendedKeyUsage = OCSPSigning\n"
		"[v3_plain]\nbasicConstraints = CA:FALSE\n"
		"[ca]\ndefault_ca = intca\n"
		"[intca]\ndatabase = %s/int.idx\ncrlnumber = %s/int.crlnum\nserial = %s/int.serial\nnew_certs_dir = %s\n"
		"certificate = %s/int.pem\nprivate_key = %s/int.key\ndefault_md = sha256\n"
		"default_crl_days = 30\npolicy = pol\nunique_subject = no\n"
		"[rootca]\ndatabase = %s/root.idx\ncrlnumber = %s/root.crlnum\nserial = %s/root.serial\nnew_certs_dir = %s\n"
		"certificate = %s/root.pem\nprivate_key = %s/root.key\ndefault_md = sha256\n"
		"default_crl_days = 30\npolicy = pol\nunique_subject = no\n"
		"[pol]\ncommonName = optional\n",
		g_port, g_dead_port, g_port, g_port, g_port, g_port, g_port, g_port, g_ocsp_port, g_ocsp_forged_port,
		g_ocsp_port, g_port, g_ocsp_deleg_port, g_ocsp_noeku_port, g_dir, g_dir, g_dir, g_dir, g_dir,
		g_dir, g_dir, g_dir, g_dir, g_dir, g_dir, g_dir);
	for (size_t i = 0; i < NDP; i++)
		n += snprintf(cnf + n, sizeof(cnf) - (size_t)n,
			      "[v3_dp%zu]\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature\n"
			      "crlDistributionPoints = URI:http://127.0.0.1:%d/%s\n",
			      i, g_port, g_dp_paths[i]);
	write_ca_files(cnf);
}

/* name.pem signed by the intermediate with extension section ext. */
static void leaf(const char *name, const char *ext)
{
	char csr[64], pem[64], subj[96];
	snprintf(csr, sizeof(csr), "%s.csr", name);
	snprintf(pem, sizeof(pem), "%s.pem", name);
	snprintf(subj, sizeof(subj), "/CN=%s", name);
	make_csr(name, subj, false);
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-batch", "-notext", "-extensions", ext, "-in", path(csr),
	    "-out", path(pem), "-startdate", "20240101000000Z", "-enddate", "20340101000000Z");
}

/* The section name for distribution point path p. */
static const char *dp_ext(const char *p)
{
	static char s[16];
	for (size_t i = 0; i < NDP; i++)
		if (strcmp(g_dp_paths[i], p) == 0) {
			snprintf(s, sizeof(s), "v3_dp%zu", i);
			return s;
		}
	fail_msg("no section for %s", p);
	return NULL;
}

static void make_pki(void)
{
	write_config();
	self_signed("root", "/CN=Test Root CA/O=certgate tests", "v3_root");
	RUN("openssl", "req", "-config", path("ca.cnf"), "-new", EC, "-keyout", path("int.key"), "-out",
	    path("int.csr"), "-subj", "/CN=Test Intermediate CA/O=certgate tests");
	RUN("openssl", "x509", "-req", "-in", path("int.csr"), "-CA", path("root.pem"), "-CAkey", path("root.key"),
	    "-set_serial", "4096", "-days", "3650", "-extfile", path("ca.cnf"), "-extensions", "v3_int", "-out",
	    path("int.pem"));
	self_signed("fakeint", "/CN=Test Intermediate CA/O=certgate tests", "v3_root");
	leaf("good", dp_ext("int.crl"));
	leaf("revoked", dp_ext("int.crl"));
	leaf("garbage", dp_ext("garbage"));
	leaf("missing", dp_ext("missing"));
	leaf("big", dp_ext("big"));
	leaf("bignocl", dp_ext("bignocl"));
	leaf("forged", dp_ext("forged.crl"));
	leaf("wrong", dp_ext("wrong.crl"));
	leaf("hang", dp_ext("hang"));
	leaf("short", dp_ext("short.crl"));
	leaf("stale", dp_ext("stale.crl"));
	leaf("chunked", dp_ext("chunked"));
	leaf("bighdr", dp_ext("bighdr"));
	leaf("flaky", dp_ext("flaky.crl"));
	leaf("upl", dp_ext("upl.crl"));
	leaf("dead", "v3_dead");
	leaf("https", "v3_https");
	leaf("many", "v3_many");
	leaf("ocsp_good", "v3_ocsp");
	leaf("ocsp_revoked", "v3_ocsp");
	leaf("ocsp_forged", "v3_ocsp_forged");
	leaf("ocsp_fallback", "v3_ocsp_fallback");
	leaf("ocsp_deleg", "v3_ocsp_deleg");
	leaf("ocsp_noeku", "v3_ocsp_noeku");
	leaf("ocsp_signer", "v3_ocsp_signer"); /* a responder the intermediate delegated to */
	leaf("ocsp_plain", "v3_plain");        /* issued by it, but not for OCSP */
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-revoke", path("ocsp_revoked.pem"));
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-revoke", path("revoked.pem"));
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-gencrl", "-out", path("int.crl"));
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-name", "rootca", "-gencrl", "-out", path("root.crl"));
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-gencrl", "-keyfile", path("fakeint.key"), "-cert",
	    path("fakeint.pem"), "-out", path("forged.crl"));
	/* Past its nextUpdate. */
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-gencrl", "-crl_lastupdate", "20240101000000Z",
	    "-crl_nextupdate", "20240102000000Z", "-out", path("stale.crl"));
}

static unsigned char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	unsigned char *buf = malloc(1 << 16);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

/* Serves the file g_dir/file at path p. */
static void serve_file(const char *p, const char *file, enum mode m)
{
	size_t n;
	unsigned char *b = slurp(path(file), &n);
	route_set(p, m, b, n);
	free(b);
}

/* A leaf for cn issued by issuer, signed with key (also its public key),
 * with a random serial and one extension nid made from spec. */
static X509 *api_leaf_ext(const char *cn, X509 *issuer, EVP_PKEY *key, int nid, const char *spec)
{
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 900000 + (long)(random() % 100000));
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	X509_set_issuer_name(x, X509_get_subject_name(issuer));
	ASN1_TIME_set(X509_getm_notBefore(x), 1704067200);
	ASN1_TIME_set(X509_getm_notAfter(x), 2019686400);
	X509_set_pubkey(x, key);
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, spec);
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

/* A leaf with the given distribution point URIs (NULL-terminated),
 * issued by issuer and signed with key. */
static X509 *api_leaf(const char *cn, X509 *issuer, EVP_PKEY *key, const char *const *uris)
{
	char *spec = calloc(1, 200000);
	assert_non_null(spec);
	for (int i = 0; uris[i]; i++) {
		strcat(spec, i ? ",URI:" : "URI:");
		strcat(spec, uris[i]);
	}
	X509 *x = api_leaf_ext(cn, issuer, key, NID_crl_distribution_points, spec);
	free(spec);
	return x;
}

/* ---- fixtures ---------------------------------------------------------- */

static X509 *c_root, *c_int, *c_good, *c_revoked;
static EVP_PKEY *k_int, *k_fake;

/* A leaf with an authorityInfoAccess OCSP URI and no distribution point. */
static X509 *api_leaf_ocsp(const char *cn, const char *uri)
{
	char spec[1200];
	snprintf(spec, sizeof(spec), "OCSP;URI:%s", uri);
	return api_leaf_ext(cn, c_int, k_int, NID_info_access, spec);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/cg-crl-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	g_listen = listen_on(64, &g_port);
	int dead = listen_on(1, &g_dead_port);
	if (g_listen < 0 || dead < 0)
		return -1;
	close(dead); /* nothing listens there now: connection refused */
	/* Free ports for the OCSP responders, started by test_ocsp. */
	int o1 = listen_on(1, &g_ocsp_port), o2 = listen_on(1, &g_ocsp_forged_port);
	int o3 = listen_on(1, &g_ocsp_deleg_port), o4 = listen_on(1, &g_ocsp_noeku_port);
	close(o1);
	close(o2);
	close(o3);
	close(o4);
	make_pki();
	c_root = load_cert("root");
	c_int = load_cert("int");
	c_good = load_cert("good");
	c_revoked = load_cert("revoked");
	k_int = load_key("int");
	k_fake = load_key("fakeint");
	serve_file("/int.crl", "int.crl", M_SERVE);
	serve_file("/root.crl", "root.crl", M_SERVE);
	serve_file("/forged.crl", "forged.crl", M_SERVE);
	serve_file("/wrong.crl", "root.crl", M_SERVE); /* signed by the root, not the leaf's issuer */
	serve_file("/stale.crl", "stale.crl", M_SERVE);
	serve_file("/chunked", "int.crl", M_CHUNKED);
	route_set("/garbage", M_SERVE, (const unsigned char *)"this is not a CRL\n", 18);
	route_set("/missing", M_404, NULL, 0);
	route_set("/hang", M_HANG, NULL, 0);
	route_set("/bighdr", M_BIGHDR, NULL, 0);
	unsigned char *big = calloc(1, 5000);
	route_set("/big", M_SERVE, big, 5000);
	route_set("/bignocl", M_NOCL, big, 5000);
	free(big);
	if (pthread_create(&g_srv, NULL, server_main, NULL) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int k = 0; k < 4; k++)
		if (g_responders[k]) {
			kill(g_responders[k], SIGTERM);
			waitpid(g_responders[k], NULL, 0);
			g_responders[k] = 0;
		}
	atomic_store(&g_stop, true);
	pthread_join(g_srv, NULL);
	close(g_listen);
	for (int i = 0; i < g_nhung; i++)
		close(g_hung[i]);
	for (int i = 0; i < g_nroutes; i++)
		free(g_routes[i].body);
	X509_free(c_root);
	X509_free(c_int);
	X509_free(c_good);
	X509_free(c_revoked);
	EVP_PKEY_free(k_int);
	EVP_PKEY_free(k_fake);
	return remove_dir();
}

/* Test settings: short timeouts, small CRLs, no retries within a test
 * unless it asks. */
static struct cg_crl_fetcher *fetcher(unsigned retry_min_ms)
{
	struct cg_crl_config cfg;
	char err[256] = "";
	cg_crl_config_init(&cfg);
	cfg.connect_timeout_ms = 1000;
	cfg.fetch_timeout_ms = 1000;
	cfg.max_crl_bytes = 4096;
	cfg.min_refresh_ms = 500;
	cfg.retry_min_ms = retry_min_ms ? retry_min_ms : 600000;
	cfg.retry_max_ms = 600000;
	struct cg_crl_fetcher *f = cg_crl_fetcher_new(&cfg, err, sizeof(err));
	if (!f)
		fail_msg("fetcher: %s", err);
	return f;
}

/* Root + intermediate (both in the store), revocation from f. */
static struct cg_trust *store_with(struct cg_crl_fetcher *f, bool fail_open, bool with_int)
{
	char err[256] = "";
	struct cg_trust *t = cg_trust_new(&g_arena, 1);
	assert_non_null(t);
	assert_int_equal(cg_trust_add_ca(t, c_root, true, err, sizeof(err)), 0);
	if (with_int)
		assert_int_equal(cg_trust_add_ca(t, c_int, false, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_set_crl_source(t, f), 0);
	assert_int_equal(cg_trust_set_revocation_fail_open(t, fail_open), 0);
	assert_int_equal(cg_trust_finish(t, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_revocation_fail_open(t), fail_open);
	return t;
}

#define ALL (CG_TRUST_CHECK_TIME | CG_TRUST_CHECK_REVOCATION)

static struct cg_trust_result verify(const struct cg_trust *t, X509 *x, int64_t now)
{
	struct cg_trust_result r;
	cg_trust_verify(t, x, NULL, now, ALL, &r);
	return r;
}

static void want(const struct cg_trust_result *r, enum cg_trust_reason reason, const char *text)
{
	if (r->reason != reason)
		fail_msg("reason: got %s (%s, depth %d), want %s", cg_trust_reason_name(r->reason), r->error_text,
			 r->depth, cg_trust_reason_name(reason));
	assert_string_equal(r->error_text, text);
}

/* The stats entry for url path p ("/int.crl"); fails when absent. */
static struct cg_crl_entry_stats entry_for(struct cg_crl_fetcher *f, const char *p, bool *found)
{
	static struct cg_crl_entry_stats st[CG_CRL_MAX_ENTRIES];
	struct cg_crl_entry_stats none;
	memset(&none, 0, sizeof(none));
	size_t n = cg_crl_fetcher_stats(f, time(NULL), st, CG_CRL_MAX_ENTRIES, NULL);
	for (size_t i = 0; i < n && i < CG_CRL_MAX_ENTRIES; i++) {
		const char *slash = strchr(st[i].url + 7, '/');
		if (slash && strcmp(slash, p) == 0) {
			if (found)
				*found = true;
			return st[i];
		}
	}
	if (found)
		*found = false;
	return none;
}

/* Waits (at most ms) until the entry for p has had n fetch attempts
 * (successes + failures). */
static struct cg_crl_entry_stats wait_attempts_ms(struct cg_crl_fetcher *f, const char *p, uint64_t n, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		bool found;
		struct cg_crl_entry_stats s = entry_for(f, p, &found);
		if (found && s.fetches + s.failures >= n)
			return s;
		usleep(10000);
	}
	fail_msg("no %llu fetch attempts for %s", (unsigned long long)n, p);
	struct cg_crl_entry_stats none;
	memset(&none, 0, sizeof(none));
	return none;
}

static struct cg_crl_entry_stats wait_attempts(struct cg_crl_fetcher *f, const char *p, uint64_t n)
{
	return wait_attempts_ms(f, p, n, 5000);
}

/* The first verification registers and fails "unknown"; after the
 * background fetch the next one uses the CRL. */
static struct cg_trust_result verify_after_fetch(struct cg_crl_fetcher *f, const struct cg_trust *t, X509 *x,
						 const char *p)
{
	int64_t now = time(NULL);
	struct cg_trust_result r = verify(t, x, now);
	/* Unknown on a fresh fetcher; a caller may have registered it
	 * already, and then the fetch may have landed. */
	assert_true(r.reason == CG_TRUST_REVOCATION_UNKNOWN || r.reason == CG_TRUST_OK);
	wait_attempts(f, p, 1);
	wait_attempts(f, "/root.crl", 1); /* the intermediate's own CRL */
	return verify(t, x, time(NULL));
}

static double now_us(void);

/* ---- tests --------------------------------------------------------------- */

static void test_good_and_revoked_fetched_once(void **state)
{
	(void)state;
	int before = route_count("/int.crl"), root_before = route_count("/root.crl");
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *t = store_with(f, false, true);
	/* No CRL yet: unknown (fail closed), and the fetch is started. */
	struct cg_trust_result r = verify(t, c_good, time(NULL));
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
	assert_int_equal(r.depth, 0);
	r = verify_after_fetch(f, t, c_good, "/int.crl");
	want(&r, CG_TRUST_OK, "ok");
	r = verify(t, c_revoked, time(NULL));
	want(&r, CG_TRUST_REVOKED, "certificate revoked");
	assert_int_equal(r.depth, 0);
	/* Many more verifications, with and without a cache: no new fetch. */
	struct cg_trust_cache *c = cg_trust_cache_new(0);
	for (int i = 0; i < 50; i++) {
		r = verify(t, i % 2 ? c_good : c_revoked, time(NULL));
		cg_trust_cache_verify(t, c, c_good, NULL, time(NULL), ALL, &r);
		assert_int_equal(r.reason, CG_TRUST_OK);
	}
	assert_true(r.from_cache);
	/* The cached result ends at the CRL's nextUpdate (30 days). */
	struct cg_crl_entry_stats s = entry_for(f, "/int.crl", NULL);
	assert_true(s.has_crl);
	assert_int_equal(r.valid_until, s.next_update);
	/* At nextUpdate the cached "ok" is not used: the CRL is stale. */
	cg_trust_cache_verify(t, c, c_good, NULL, s.next_update, ALL, &r);
	assert_false(r.from_cache);
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "CRL has expired");
	assert_int_equal(r.depth, 0);
	assert_int_equal(route_count("/int.crl") - before, 1);
	assert_int_equal(route_count("/root.crl") - root_before, 1);
	assert_int_equal(s.fetches, 1);
	assert_int_equal(s.failures, 0);
	assert_string_equal(s.last_error, "");
	assert_int_equal(s.revoked_entries, 2); /* "revoked" and "ocsp_revoked" */
	assert_string_equal(s.issuer, "O=certgate tests, CN=Test Intermediate CA");
	assert_false(s.stale);
	assert_true(s.age_s >= 0 && s.age_s < 120);
	/* Scheduled at 80% of 30 days after lastUpdate. */
	assert_true(s.next_fetch_at >= s.last_update + (s.next_update - s.last_update) * 8 / 10 - 1);
	assert_true(s.next_fetch_at <= s.last_update + (s.next_update - s.last_update) * 8 / 10 + 1);
	struct cg_crl_totals tot;
	assert_int_equal(cg_crl_fetcher_stats(f, time(NULL), NULL, 0, &tot), 2);
	assert_int_equal(tot.fetches, 2);
	assert_int_equal(tot.failures, 0);
	cg_trust_cache_free(c);
	cg_crl_fetcher_free(f);
}

/* Refresh at 80% of a 6 s CRL, before its nextUpdate; the new CRL
 * (listing the leaf) replaces a cached "ok" at once. */
static void test_refresh_before_next_update(void **state)
{
	(void)state;
	X509 *x = load_cert("short");
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-gencrl", "-crlsec", "6", "-out", path("short.crl"));
	serve_file("/short.crl", "short.crl", M_SERVE);
	int before = route_count("/short.crl");
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *t = store_with(f, false, true);
	struct cg_trust_cache *c = cg_trust_cache_new(0);
	struct cg_trust_result r;
	cg_trust_cache_verify(t, c, x, NULL, time(NULL), ALL, &r);
	assert_int_equal(r.reason, CG_TRUST_REVOCATION_UNKNOWN);
	struct cg_crl_entry_stats s = wait_attempts(f, "/short.crl", 1);
	wait_attempts(f, "/root.crl", 1);
	assert_true(s.has_crl);
	int64_t next = s.next_update;
	assert_true(next - s.last_update == 6);
	cg_trust_cache_verify(t, c, x, NULL, time(NULL), ALL, &r);
	want(&r, CG_TRUST_OK, "ok");
	assert_false(r.from_cache); /* the CRL's arrival ended the "unknown" entry */
	assert_int_equal(r.valid_until, next);
	cg_trust_cache_verify(t, c, x, NULL, time(NULL), ALL, &r);
	assert_true(r.from_cache);
	assert_int_equal(route_count("/short.crl") - before, 1);
	/* The CA revokes it; the next CRL is served from now on. */
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-revoke", path("short.pem"));
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-gencrl", "-out", path("short2.crl"));
	serve_file("/short.crl", "short2.crl", M_SERVE);
	/* Served from cache until the refresh: still one request. */
	assert_int_equal(route_count("/short.crl") - before, 1);
	s = wait_attempts_ms(f, "/short.crl", 2, 9000);
	int64_t seen = time(NULL);
	assert_int_equal(s.fetches, 2);
	assert_true(seen < next); /* refreshed before nextUpdate */
	assert_true(s.fetched_at >= s.last_update);
	cg_trust_cache_verify(t, c, x, NULL, time(NULL), ALL, &r);
	want(&r, CG_TRUST_REVOKED, "certificate revoked");
	assert_false(r.from_cache);
	assert_int_equal(route_count("/short.crl") - before, 2);
	cg_trust_cache_free(c);
	cg_crl_fetcher_free(f);
	X509_free(x);
}

/* Every bad distribution point: revocation unknown, fail closed by
 * default, passes with fail-open; the reason is in the stats. */
static void test_bad_distribution_points(void **state)
{
	(void)state;
	static const struct {
		const char *leaf, *path, *err;
	} cases[] = {
		{ "garbage", "/garbage", "invalid CRL (neither PEM nor DER)" },
		{ "missing", "/missing", "HTTP status 404 (want 200; redirects are not followed)" },
		{ "big", "/big", "CRL is larger than 4096 bytes (Content-Length 5000)" },
		{ "bignocl", "/bignocl", "CRL is larger than 4096 bytes" },
		{ "forged", "/forged.crl",
		  "CRL signature does not verify with the key of 'O=certgate tests, CN=Test Intermediate CA'" },
		{ "wrong", "/wrong.crl",
		  "CRL issuer 'O=certgate tests, CN=Test Root CA' is not the certificate issuer 'O=certgate tests, "
		  "CN=Test Intermediate CA'" },
		{ "hang", "/hang", "timed out after 1000 ms" },
		{ "chunked", "/chunked", "a Transfer-Encoding response is not accepted (send Content-Length)" },
		{ "bighdr", "/bighdr", "response headers are longer than 16384 bytes" },
		{ "dead", "/x.crl", NULL /* connection refused: checked below */ },
	};
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *closed = store_with(f, false, true);
	struct cg_trust *open = store_with(f, true, true);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509 *x = load_cert(cases[i].leaf);
		struct cg_trust_result r = verify(closed, x, time(NULL));
		want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
		struct cg_crl_entry_stats s = wait_attempts(f, cases[i].path, 1);
		wait_attempts(f, "/root.crl", 1);
		if (cases[i].err)
			assert_string_equal(s.last_error, cases[i].err);
		else {
			char e[128];
			snprintf(e, sizeof(e), "cannot connect to 127.0.0.1:%d: Connection refused", g_dead_port);
			assert_string_equal(s.last_error, e);
		}
		assert_false(s.has_crl);
		assert_int_equal(s.failures, 1);
		assert_int_equal(s.consecutive_failures, 1);
		/* Fail closed by default ... */
		r = verify(closed, x, time(NULL));
		want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
		assert_false(r.revocation_skipped);
		/* ... open when configured. */
		r = verify(open, x, time(NULL));
		want(&r, CG_TRUST_OK, "ok");
		assert_true(r.revocation_skipped);
		assert_true(cg_trust_dotnet_verify(open, NULL, x, NULL, time(NULL), true));
		assert_false(cg_trust_dotnet_verify(closed, NULL, x, NULL, time(NULL), true));
		X509_free(x);
	}
	/* A revoked certificate fails even with fail-open. */
	struct cg_trust_result r = verify(open, c_revoked, time(NULL));
	if (r.reason != CG_TRUST_REVOKED) {
		wait_attempts(f, "/int.crl", 1);
		r = verify(open, c_revoked, time(NULL));
	}
	want(&r, CG_TRUST_REVOKED, "certificate revoked");
	/* No retry within the test's back-off: one request each. */
	assert_int_equal(entry_for(f, "/garbage", NULL).failures, 1);
	struct cg_crl_totals tot;
	cg_crl_fetcher_stats(f, time(NULL), NULL, 0, &tot);
	assert_int_equal(tot.failures, sizeof(cases) / sizeof(cases[0]));
	cg_crl_fetcher_free(f);
}

static void test_stale_crl(void **state)
{
	(void)state;
	X509 *x = load_cert("stale");
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *closed = store_with(f, false, true);
	struct cg_trust *open = store_with(f, true, true);
	struct cg_trust_result r = verify_after_fetch(f, closed, x, "/stale.crl");
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "CRL has expired");
	struct cg_crl_entry_stats s = entry_for(f, "/stale.crl", NULL);
	assert_true(s.has_crl);
	assert_true(s.stale);
	assert_int_equal(s.fetches, 0);
	assert_int_equal(s.failures, 1);
	assert_string_equal(s.last_error, "CRL is past its nextUpdate 2024-01-02T00:00:00Z");
	r = verify(open, x, time(NULL));
	want(&r, CG_TRUST_OK, "ok");
	assert_true(r.revocation_skipped);
	/* Metrics say so. */
	char buf[8192];
	size_t n = cg_crl_fetcher_metrics(f, time(NULL), buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	char line[512];
	snprintf(line, sizeof(line),
		 "certgate_crl_stale{issuer=\"O=certgate tests, CN=Test Intermediate CA\",url=\"http://127.0.0.1:%d/"
		 "stale.crl\"} 1\n",
		 g_port);
	assert_non_null(strstr(buf, line));
	assert_non_null(strstr(buf, "certgate_crl_fetches_total "));
	assert_non_null(strstr(buf, "certgate_crl_fetch_failures_total 1\n"));
	snprintf(line, sizeof(line),
		 "certgate_crl_age_seconds{issuer=\"O=certgate tests, CN=Test Intermediate CA\",url=\"http://127.0.0.1:%d/"
		 "stale.crl\"} %lld\n",
		 g_port, (long long)(time(NULL) - s.last_update));
	assert_non_null(strstr(buf, line));
	/* Each family together, after its TYPE line: every age line comes
	 * before the first next-update line. */
	char *age_type = strstr(buf, "# TYPE certgate_crl_age_seconds gauge\n");
	char *next_type = strstr(buf, "# TYPE certgate_crl_next_update_seconds gauge\n");
	assert_non_null(age_type);
	assert_non_null(next_type);
	assert_true(strstr(buf, "certgate_crl_age_seconds{") > age_type);
	assert_null(strstr(next_type, "certgate_crl_age_seconds{"));
	assert_non_null(strstr(buf, "# TYPE certgate_crl_fetches_total counter\ncertgate_crl_fetches_total 1\n"));
	/* A buffer too small drops whole lines. */
	n = cg_crl_fetcher_metrics(f, time(NULL), buf, 40);
	assert_string_equal(buf, "certgate_crl_fetches_total 1\n");
	cg_crl_fetcher_free(f);
	X509_free(x);
}

static void test_retry_after_failure(void **state)
{
	(void)state;
	X509 *x = load_cert("flaky");
	serve_file("/flaky.crl", "int.crl", M_FAIL_FIRST);
	pthread_mutex_lock(&g_mu);
	for (int i = 0; i < g_nroutes; i++)
		if (strcmp(g_routes[i].path, "/flaky.crl") == 0)
			g_routes[i].fail_first = 2;
	pthread_mutex_unlock(&g_mu);
	struct cg_crl_fetcher *f = fetcher(100);
	struct cg_trust *t = store_with(f, false, true);
	struct cg_trust_result r = verify(t, x, time(NULL));
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
	struct cg_crl_entry_stats s = wait_attempts(f, "/flaky.crl", 3);
	assert_int_equal(s.failures, 2);
	assert_int_equal(s.fetches, 1);
	assert_int_equal(s.consecutive_failures, 0);
	assert_string_equal(s.last_error, "");
	wait_attempts(f, "/root.crl", 1);
	r = verify(t, x, time(NULL));
	want(&r, CG_TRUST_OK, "ok");
	assert_int_equal(route_count("/flaky.crl"), 3);
	cg_crl_fetcher_free(f);
	X509_free(x);
}

/* An uploaded CRL for the issuer wins: the fetcher is not consulted. */
static void test_uploaded_crl_wins(void **state)
{
	(void)state;
	X509 *x = load_cert("upl");
	route_set("/upl.crl", M_SERVE, (const unsigned char *)"garbage", 7);
	int before = route_count("/upl.crl");
	char err[256];
	size_t n;
	unsigned char *crl = slurp(path("int.crl"), &n), *rcrl;
	size_t rn;
	rcrl = slurp(path("root.crl"), &rn);
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *t = cg_trust_new(&g_arena, 1);
	assert_int_equal(cg_trust_add_ca(t, c_root, true, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_add_ca(t, c_int, false, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_add_crl_data(t, cg_str_make((const char *)crl, n), err, sizeof(err)), 0);
	assert_int_equal(cg_trust_add_crl_data(t, cg_str_make((const char *)rcrl, rn), err, sizeof(err)), 0);
	assert_int_equal(cg_trust_set_crl_source(t, f), 0);
	assert_int_equal(cg_trust_finish(t, err, sizeof(err)), 0);
	struct cg_trust_result r = verify(t, x, time(NULL));
	want(&r, CG_TRUST_OK, "ok");
	r = verify(t, c_revoked, time(NULL));
	want(&r, CG_TRUST_REVOKED, "certificate revoked");
	usleep(200000);
	assert_int_equal(route_count("/upl.crl") - before, 0);
	struct cg_crl_totals tot;
	assert_int_equal(cg_crl_fetcher_stats(f, time(NULL), NULL, 0, &tot), 0);
	assert_int_equal(tot.lookups, 0);
	/* Setters after finish are refused. */
	assert_int_equal(cg_trust_set_crl_source(t, f), -1);
	assert_int_equal(cg_trust_set_revocation_fail_open(t, true), -1);
	free(crl);
	free(rcrl);
	cg_crl_fetcher_free(f);
	X509_free(x);
}

/* Only issuers in the store are fetched for, and only for certificates
 * they signed: a forged certificate cannot choose a URL. */
static void test_no_fetch_for_forged_or_foreign(void **state)
{
	(void)state;
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ssrf", g_port);
	route_set("/ssrf", M_404, NULL, 0);
	const char *uris[] = { url, NULL };
	/* Names the intermediate as issuer, signed with another key. */
	X509 *forged = api_leaf("forged leaf", c_int, k_fake, uris);
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *t = store_with(f, false, true);
	struct cg_trust_result r = verify(t, forged, time(NULL));
	assert_int_not_equal(r.reason, CG_TRUST_OK);
	/* The intermediate only sent by the client: its leaves' CRLs are not
	 * fetched (the root's CRL for the intermediate is). */
	struct cg_trust *rootonly = store_with(f, false, false);
	STACK_OF(X509) *ch = sk_X509_new_null();
	sk_X509_push(ch, c_int);
	struct cg_trust_result r2;
	cg_trust_verify(rootonly, c_good, ch, time(NULL), ALL, &r2);
	want(&r2, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
	usleep(300000);
	assert_int_equal(route_count("/ssrf"), 0);
	bool found;
	entry_for(f, "/ssrf", &found);
	assert_false(found);
	entry_for(f, "/int.crl", &found);
	assert_false(found);
	sk_X509_free(ch);
	X509_free(forged);
	cg_crl_fetcher_free(f);
}

/* URLs refused without a request, each with its reason; logged once. */
static void test_refused_urls(void **state)
{
	(void)state;
	char u_https[128], u_port[128], u_user[128];
	snprintf(u_https, sizeof(u_https), "https://127.0.0.1:%d/int.crl", g_port);
	snprintf(u_port, sizeof(u_port), "http://127.0.0.1:99999/p.crl");
	snprintf(u_user, sizeof(u_user), "http://me@127.0.0.1:%d/u.crl", g_port);
	static const char *const errs[] = { "https:// is not fetched (only http://: a CRL is signed, TLS adds nothing)",
					    "not an http:// URL", "URL has an invalid port", "URL has user information" };
	const char *urls[] = { u_https, "ldap://127.0.0.1/cn=crl", u_port, u_user };
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *t = store_with(f, false, true);
	for (int i = 0; i < 4; i++) {
		const char *one[] = { urls[i], NULL };
		X509 *x = api_leaf("refused", c_int, k_int, one);
		struct cg_trust_result r = verify(t, x, time(NULL));
		want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
		verify(t, x, time(NULL)); /* once tracked, not again */
		X509_free(x);
	}
	struct cg_crl_entry_stats st[8];
	struct cg_crl_totals tot;
	assert_int_equal(cg_crl_fetcher_stats(f, time(NULL), st, 8, &tot), 4 + 1 /* root.crl */);
	int refused = 0;
	for (int i = 0; i < 5; i++) {
		for (int k = 0; k < 4; k++)
			if (strcmp(st[i].url, urls[k]) == 0) {
				assert_true(st[i].refused);
				assert_string_equal(st[i].last_error, errs[k]);
				refused++;
			}
	}
	assert_int_equal(refused, 4);
	assert_int_equal(tot.refused, 4);
	/* The https leaf from the CLI too: nothing requested. */
	int before = route_count("/int.crl");
	X509 *x = load_cert("https");
	struct cg_trust_result r = verify(t, x, time(NULL));
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
	usleep(100000);
	assert_int_equal(route_count("/int.crl"), before);
	X509_free(x);
	cg_crl_fetcher_free(f);
}

/* CG_CRL_MAX_DP_PER_CERT, CG_CRL_MAX_ENTRIES, CG_CRL_MAX_URL_LEN. */
static void test_limits(void **state)
{
	(void)state;
	/* Five distribution points: the first four are followed. */
	for (int i = 1; i <= 5; i++) {
		char p[16];
		snprintf(p, sizeof(p), "/dp%d", i);
		serve_file(p, "int.crl", M_SERVE);
	}
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *t = store_with(f, false, true);
	X509 *many = load_cert("many");
	struct cg_trust_result r = verify(t, many, time(NULL));
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
	for (int i = 1; i <= CG_CRL_MAX_DP_PER_CERT; i++) {
		char p[16];
		snprintf(p, sizeof(p), "/dp%d", i);
		wait_attempts(f, p, 1);
	}
	wait_attempts(f, "/root.crl", 1);
	r = verify(t, many, time(NULL));
	want(&r, CG_TRUST_OK, "ok");
	assert_int_equal(route_count("/dp4"), 1);
	assert_int_equal(route_count("/dp5"), 0);
	X509_free(many);
	cg_crl_fetcher_free(f);

	/* A table of CG_CRL_MAX_ENTRIES; the next point is not tracked. */
	f = fetcher(0);
	t = store_with(f, false, true);
	int unknown_before = g_unknown_count;
	for (int i = 0; i < CG_CRL_MAX_ENTRIES + 1; i++) {
		char u[96];
		snprintf(u, sizeof(u), "http://127.0.0.1:%d/e/%d", g_port, i);
		const char *one[] = { u, NULL };
		X509 *x = api_leaf("entry", c_int, k_int, one);
		verify(t, x, time(NULL));
		X509_free(x);
	}
	struct cg_crl_totals tot;
	assert_int_equal(cg_crl_fetcher_stats(f, time(NULL), NULL, 0, &tot), CG_CRL_MAX_ENTRIES);
	assert_int_equal(tot.refused, 2); /* root.crl took a slot: the 64th and 65th points */
	for (int i = 0; i < 500 && tot.failures < CG_CRL_MAX_ENTRIES - 1; i++) {
		usleep(10000);
		cg_crl_fetcher_stats(f, time(NULL), NULL, 0, &tot);
	}
	assert_int_equal(tot.failures, CG_CRL_MAX_ENTRIES - 1); /* 404s; root.crl is not tracked */
	assert_int_equal(g_unknown_count - unknown_before, CG_CRL_MAX_ENTRIES - 1);
	cg_crl_fetcher_free(f);

	/* A URL longer than CG_CRL_MAX_URL_LEN is not tracked. */
	f = fetcher(0);
	t = store_with(f, false, true);
	char *u = malloc(CG_CRL_MAX_URL_LEN + 2);
	int pre = snprintf(u, CG_CRL_MAX_URL_LEN + 2, "http://127.0.0.1:%d/", g_port);
	memset(u + pre, 'a', (size_t)(CG_CRL_MAX_URL_LEN + 1 - pre));
	u[CG_CRL_MAX_URL_LEN + 1] = '\0';
	const char *one[] = { u, NULL };
	X509 *x = api_leaf("long", c_int, k_int, one);
	r = verify(t, x, time(NULL));
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
	bool found;
	cg_crl_fetcher_stats(f, time(NULL), NULL, 0, &tot);
	assert_int_equal(tot.refused, 1);
	entry_for(f, "/root.crl", &found);
	assert_true(found);
	assert_int_equal(tot.entries, 1);
	free(u);
	X509_free(x);
	cg_crl_fetcher_free(f);
}

/* The connect timeout: a listener whose backlog is full drops SYNs. */
static void test_connect_timeout(void **state)
{
	(void)state;
	int port, lfd = listen_on(0, &port);
	assert_true(lfd >= 0);
	/* Fill the accept queue without accepting. */
	int fill[4];
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		connect(fill[i], (struct sockaddr *)&a, sizeof(a));
	}
	usleep(50000);
	struct cg_crl_config cfg;
	char err[256];
	cg_crl_config_init(&cfg);
	cfg.connect_timeout_ms = 300;
	cfg.fetch_timeout_ms = 5000;
	cfg.retry_min_ms = 600000;
	struct cg_crl_fetcher *f = cg_crl_fetcher_new(&cfg, err, sizeof(err));
	assert_non_null(f);
	struct cg_trust *t = store_with(f, false, true);
	char u[96];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/c.crl", port);
	const char *one[] = { u, NULL };
	X509 *x = api_leaf("slow", c_int, k_int, one);
	verify(t, x, time(NULL));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct cg_crl_entry_stats s = wait_attempts(f, "/c.crl", 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	char e[128];
	snprintf(e, sizeof(e), "cannot connect to 127.0.0.1:%d: timed out", port);
	assert_string_equal(s.last_error, e);
	assert_true((t1.tv_sec - t0.tv_sec) < 3); /* the connect limit, not the 5 s total */
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
	X509_free(x);
	cg_crl_fetcher_free(f);
}

static void test_config_refusals(void **state)
{
	(void)state;
	struct cg_crl_config cfg;
	char err[256];
	cg_crl_config_init(&cfg);
	cfg.refresh_pct = 100;
	assert_null(cg_crl_fetcher_new(&cfg, err, sizeof(err)));
	assert_string_equal(err, "CRL refresh must be 1..99 percent of its lifetime, not 100");
	cg_crl_config_init(&cfg);
	cfg.max_crl_bytes = (256u << 20) + 1;
	assert_null(cg_crl_fetcher_new(&cfg, err, sizeof(err)));
	assert_string_equal(err, "CRL size limit must be at most 268435456 bytes");
	/* NULL is the defaults; NULL fetcher calls are harmless. */
	struct cg_crl_fetcher *f = cg_crl_fetcher_new(NULL, err, sizeof(err));
	assert_non_null(f);
	cg_crl_fetcher_free(f);
	cg_crl_fetcher_free(NULL);
	assert_int_equal(cg_crl_fetcher_epoch(NULL), 0);
	assert_int_equal(cg_crl_fetcher_stats(NULL, 0, NULL, 0, NULL), 0);
}

/* Workers verify through their own caches while the fetcher replaces the
 * CRL: no crash, no use after free (ASan), answers only ok/unknown. */
struct wargs {
	const struct cg_trust *t;
	atomic_int *stop;
	int bad;
};

static void *worker(void *arg)
{
	struct wargs *w = arg;
	struct cg_trust_cache *c = cg_trust_cache_new(16);
	while (!atomic_load(w->stop)) {
		struct cg_trust_result r;
		cg_trust_cache_verify(w->t, c, c_good, NULL, time(NULL), ALL, &r);
		if (r.reason != CG_TRUST_OK && r.reason != CG_TRUST_REVOCATION_UNKNOWN)
			w->bad++;
		cg_trust_verify(w->t, c_revoked, NULL, time(NULL), ALL, &r);
		if (r.reason != CG_TRUST_REVOKED && r.reason != CG_TRUST_REVOCATION_UNKNOWN)
			w->bad++;
	}
	cg_trust_cache_free(c);
	return NULL;
}

static void test_threads_during_refresh(void **state)
{
	(void)state;
	struct cg_crl_config cfg;
	char err[256];
	cg_crl_config_init(&cfg);
	cfg.min_refresh_ms = 20;
	cfg.refresh_pct = 1; /* 1% of 5 s has passed: refetched every 20 ms */
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-gencrl", "-crlsec", "5", "-out", path("thr.crl"));
	serve_file("/int.crl", "thr.crl", M_SERVE);
	struct cg_crl_fetcher *f = cg_crl_fetcher_new(&cfg, err, sizeof(err));
	assert_non_null(f);
	struct cg_trust *t = store_with(f, false, true);
	atomic_int stop = 0;
	struct wargs w[3] = { { t, &stop, 0 }, { t, &stop, 0 }, { t, &stop, 0 } };
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, worker, &w[i]);
	wait_attempts(f, "/int.crl", 10);
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	struct cg_crl_totals tot;
	cg_crl_fetcher_stats(f, time(NULL), NULL, 0, &tot);
	assert_true(tot.fetches >= 10);
	/* The same CRL again changes no result: only the two first
	 * arrivals (int.crl, root.crl) moved the epoch. */
	assert_int_equal(tot.epoch, 2);
	cg_crl_fetcher_free(f);
	serve_file("/int.crl", "int.crl", M_SERVE);
}

/* An `openssl ocsp` responder on port, signing with signer/key for the
 * intermediate's index; waits until it accepts connections. */
static pid_t start_responder(int port, const char *signer, const char *key)
{
	char p[16];
	snprintf(p, sizeof(p), "%d", port);
	const char *argv[] = { "openssl", "ocsp", "-index", path("int.idx"), "-port", p, "-rsigner", path(signer),
			       "-rkey", path(key), "-CA", path("int.pem"), "-ndays", "1", NULL };
	char log[64];
	snprintf(log, sizeof(log), "ocsp-%d.log", port);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, path(log), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	pid_t pid = -1;
	assert_int_equal(posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	/* Ready when it says so: a probe connection that sends nothing
	 * would hold the single-threaded responder. */
	for (int i = 0; i < 300; i++) {
		char buf[512] = "";
		FILE *fp = fopen(path(log), "r");
		if (fp) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
			buf[n] = '\0';
			fclose(fp);
		}
		if (strstr(buf, "waiting for OCSP client connections")) {
			for (int k = 0; k < 4; k++)
				if (!g_responders[k]) {
					g_responders[k] = pid;
					break;
				}
			return pid;
		}
		usleep(10000);
	}
	fail_msg("openssl ocsp did not start on port %d", port);
	return -1;
}

static void stop_responder(pid_t pid)
{
	for (int k = 0; k < 4; k++)
		if (g_responders[k] == pid)
			g_responders[k] = 0;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* Waits (at most 5 s) for an OCSP answer or failure for x. */
static struct cg_ocsp_entry_stats wait_ocsp(struct cg_crl_fetcher *f, X509 *x)
{
	struct cg_ocsp_entry_stats s;
	for (int i = 0; i < 500; i++) {
		if (cg_crl_fetcher_ocsp_stats(f, x, c_int, &s) && s.fetches + s.failures > 0)
			return s;
		usleep(10000);
	}
	fail_msg("no OCSP answer");
	return s;
}

/* OCSP is the fallback for a certificate with no CRL: a real responder
 * (`openssl ocsp`) on loopback, asked in the background with GET. */
static void test_ocsp(void **state)
{
	(void)state;
	pid_t rp = start_responder(g_ocsp_port, "int.pem", "int.key");
	pid_t fp = start_responder(g_ocsp_forged_port, "fakeint.pem", "fakeint.key");
	X509 *good = load_cert("ocsp_good"), *rev = load_cert("ocsp_revoked"), *forged = load_cert("ocsp_forged"),
	     *fb = load_cert("ocsp_fallback");
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *t = store_with(f, false, true);
	struct cg_trust_cache *c = cg_trust_cache_new(0);
	struct cg_trust_result r;
	cg_trust_cache_verify(t, c, good, NULL, time(NULL), ALL, &r);
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
	struct cg_ocsp_entry_stats s = wait_ocsp(f, good);
	wait_attempts(f, "/root.crl", 1);
	assert_int_equal(s.status, CG_OCSP_GOOD);
	assert_string_equal(s.last_error, "");
	assert_true(s.next_update - s.this_update == 86400);
	cg_trust_cache_verify(t, c, good, NULL, time(NULL), ALL, &r);
	want(&r, CG_TRUST_OK, "ok");
	assert_false(r.from_cache); /* the answer's arrival ended the "unknown" entry */
	assert_int_equal(r.valid_until, s.next_update);
	cg_trust_cache_verify(t, c, good, NULL, time(NULL), ALL, &r);
	assert_true(r.from_cache);
	double t0 = now_us();
	for (int i = 0; i < 200; i++)
		cg_trust_verify(t, good, NULL, time(NULL), ALL, &r);
	print_message("cost per call: verify with a cached OCSP answer (leaf) and a fetched CRL (intermediate) %.1f us\n",
		      (now_us() - t0) / 200);
	/* A stale answer is not used. */
	r = verify(t, good, s.next_update);
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");

	r = verify(t, rev, time(NULL));
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
	s = wait_ocsp(f, rev);
	assert_int_equal(s.status, CG_OCSP_REVOKED);
	r = verify(t, rev, time(NULL));
	want(&r, CG_TRUST_REVOKED, "certificate revoked");
	assert_int_equal(r.depth, 0);

	/* Signed by a key the issuer never delegated to. */
	verify(t, forged, time(NULL));
	s = wait_ocsp(f, forged);
	assert_int_equal(s.status, CG_OCSP_NONE);
	assert_string_equal(s.last_error, "OCSP response signature does not verify with 'O=certgate tests, CN=Test "
					  "Intermediate CA' or a responder it delegated to");
	r = verify(t, forged, time(NULL));
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");

	/* The CRL cannot be fetched: the responder answers instead. */
	verify(t, fb, time(NULL));
	wait_attempts(f, "/missing", 1);
	s = wait_ocsp(f, fb);
	assert_int_equal(s.status, CG_OCSP_GOOD);
	r = verify(t, fb, time(NULL));
	want(&r, CG_TRUST_OK, "ok");

	/* A responder that is gone: unknown, with the reason. */
	stop_responder(rp);
	struct cg_crl_fetcher *f2 = fetcher(0);
	struct cg_trust *t2 = store_with(f2, false, true);
	verify(t2, good, time(NULL));
	s = wait_ocsp(f2, good);
	char e[128];
	snprintf(e, sizeof(e), "cannot connect to 127.0.0.1:%d: Connection refused", g_ocsp_port);
	assert_string_equal(s.last_error, e);
	r = verify(t2, good, time(NULL));
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
	struct cg_crl_totals tot;
	cg_crl_fetcher_stats(f, time(NULL), NULL, 0, &tot);
	assert_int_equal(tot.ocsp_entries, 4);
	assert_int_equal(tot.ocsp_fetches, 3);
	assert_int_equal(tot.ocsp_failures, 1);
	char buf[4096];
	cg_crl_fetcher_metrics(f, time(NULL), buf, sizeof(buf));
	assert_non_null(strstr(buf, "certgate_ocsp_fetches_total 3\n"));
	assert_non_null(strstr(buf, "certgate_ocsp_fetch_failures_total 1\n"));
	stop_responder(fp);
	cg_trust_cache_free(c);
	cg_crl_fetcher_free(f);
	cg_crl_fetcher_free(f2);
	X509_free(good);
	X509_free(rev);
	X509_free(forged);
	X509_free(fb);
}

/* A responder certificate issued by the intermediate with id-kp-OCSPSigning
 * may answer for it; one without that EKU may not. */
static void test_ocsp_delegated(void **state)
{
	(void)state;
	pid_t dp = start_responder(g_ocsp_deleg_port, "ocsp_signer.pem", "ocsp_signer.key");
	pid_t np = start_responder(g_ocsp_noeku_port, "ocsp_plain.pem", "ocsp_plain.key");
	X509 *d = load_cert("ocsp_deleg"), *n = load_cert("ocsp_noeku");
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *t = store_with(f, false, true);
	verify(t, d, time(NULL));
	verify(t, n, time(NULL));
	struct cg_ocsp_entry_stats s = wait_ocsp(f, d);
	assert_string_equal(s.last_error, "");
	assert_int_equal(s.status, CG_OCSP_GOOD);
	s = wait_ocsp(f, n);
	assert_int_equal(s.status, CG_OCSP_NONE);
	assert_string_equal(s.last_error, "OCSP response signature does not verify with 'O=certgate tests, CN=Test "
					  "Intermediate CA' or a responder it delegated to");
	wait_attempts(f, "/root.crl", 1);
	struct cg_trust_result r = verify(t, d, time(NULL));
	want(&r, CG_TRUST_OK, "ok");
	r = verify(t, n, time(NULL));
	want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
	stop_responder(dp);
	stop_responder(np);
	X509_free(d);
	X509_free(n);
	cg_crl_fetcher_free(f);
}

/* Bad OCSP answers and CG_OCSP_MAX_ENTRIES / CG_OCSP_MAX_BYTES. */
static void test_ocsp_bad_and_limits(void **state)
{
	(void)state;
	unsigned char *big = calloc(1, CG_OCSP_MAX_BYTES + 1);
	route_set("/ocspbig/*", M_SERVE, big, CG_OCSP_MAX_BYTES + 1);
	free(big);
	route_set("/ocspgarbage/*", M_SERVE, (const unsigned char *)"not OCSP", 8);
	static const struct {
		const char *dir, *err;
	} cases[] = {
		{ "ocspbig", "OCSP response is larger than 65536 bytes (Content-Length 65537)" },
		{ "ocspgarbage", "invalid OCSP response (not DER)" },
		{ "ocsp404", "HTTP status 404 (want 200; redirects are not followed)" },
	};
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *t = store_with(f, false, true);
	struct cg_trust *open = store_with(f, true, true);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char u[128];
		snprintf(u, sizeof(u), "http://127.0.0.1:%d/%s", g_port, cases[i].dir);
		X509 *x = api_leaf_ocsp("ocsp bad", u);
		struct cg_trust_result r = verify(t, x, time(NULL));
		want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
		struct cg_ocsp_entry_stats s = wait_ocsp(f, x);
		assert_string_equal(s.last_error, cases[i].err);
		assert_int_equal(s.status, CG_OCSP_NONE);
		wait_attempts(f, "/root.crl", 1);
		r = verify(t, x, time(NULL));
		want(&r, CG_TRUST_REVOCATION_UNKNOWN, "unable to get certificate CRL");
		r = verify(open, x, time(NULL));
		want(&r, CG_TRUST_OK, "ok");
		assert_true(r.revocation_skipped);
		X509_free(x);
	}
	/* An https responder is refused without a request. */
	char u[128];
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/ocsp", g_port);
	X509 *x = api_leaf_ocsp("ocsp https", u);
	verify(t, x, time(NULL));
	struct cg_ocsp_entry_stats s;
	assert_true(cg_crl_fetcher_ocsp_stats(f, x, c_int, &s));
	assert_true(s.refused);
	assert_string_equal(s.last_error, "https:// is not fetched (only http://: a CRL is signed, TLS adds nothing)");
	X509_free(x);
	cg_crl_fetcher_free(f);

	/* CG_OCSP_MAX_ENTRIES certificates; the next one is not asked for. */
	f = fetcher(0);
	t = store_with(f, false, true);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/ocsp404", g_port);
	for (int i = 0; i < CG_OCSP_MAX_ENTRIES + 1; i++) {
		x = api_leaf_ocsp("ocsp many", u);
		ASN1_INTEGER_set(X509_get_serialNumber(x), 100000 + i);
		assert_true(X509_sign(x, k_int, EVP_sha256()) > 0);
		verify(t, x, time(NULL));
		X509_free(x);
	}
	struct cg_crl_totals tot;
	cg_crl_fetcher_stats(f, time(NULL), NULL, 0, &tot);
	assert_int_equal(tot.ocsp_entries, CG_OCSP_MAX_ENTRIES);
	assert_int_equal(tot.refused, 1);
	cg_crl_fetcher_free(f);
}

/* validate-client-certificate over a fetcher-backed store: the policy's
 * Reasons and Messages (docs/client-certificates.md). */
static void test_validate_client_certificate(void **state)
{
	(void)state;
	char err[256];
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *t = store_with(f, false, true);
	struct cg_vcc_config cfg;
	cg_vcc_config_init(&cfg);
	struct cg_x509 *good = NULL, *revoked = NULL, *garbage = NULL;
	X509 *xg = load_cert("garbage");
	assert_int_equal(cg_x509_view_new(c_good, &g_arena, &good, err, sizeof(err)), 0);
	assert_int_equal(cg_x509_view_new(c_revoked, &g_arena, &revoked, err, sizeof(err)), 0);
	assert_int_equal(cg_x509_view_new(xg, &g_arena, &garbage, err, sizeof(err)), 0);
	struct cg_trust_cache *c = cg_trust_cache_new(0);
	struct cg_vcc_result res;
	cg_vcc_check(&cfg, good, NULL, t, c, time(NULL), &res);
	assert_false(res.ok);
	assert_string_equal(res.reason_name, "ClientCertificateRevocationUnknown");
	assert_string_equal(res.message, "The revocation status of the client certificate could not be determined: "
					 "unable to get certificate CRL (depth 0)");
	wait_attempts(f, "/int.crl", 1);
	wait_attempts(f, "/root.crl", 1);
	cg_vcc_check(&cfg, good, NULL, t, c, time(NULL), &res);
	assert_true(res.ok);
	cg_vcc_check(&cfg, revoked, NULL, t, c, time(NULL), &res);
	assert_false(res.ok);
	assert_string_equal(res.reason_name, "ClientCertificateRevoked");
	assert_string_equal(res.message, "The client certificate has been revoked");
	cg_vcc_check(&cfg, garbage, NULL, t, c, time(NULL), &res);
	wait_attempts(f, "/garbage", 1);
	cg_vcc_check(&cfg, garbage, NULL, t, c, time(NULL), &res);
	assert_string_equal(res.reason_name, "ClientCertificateRevocationUnknown");
	/* The gateway-wide fail-open store lets it pass; revoked still fails. */
	struct cg_trust *open = store_with(f, true, true);
	cg_vcc_check(&cfg, garbage, NULL, open, c, time(NULL), &res);
	assert_true(res.ok);
	assert_true(res.trust.revocation_skipped);
	cg_vcc_check(&cfg, revoked, NULL, open, c, time(NULL), &res);
	assert_string_equal(res.reason_name, "ClientCertificateRevoked");
	cg_trust_cache_free(c);
	X509_free(xg);
	cg_crl_fetcher_free(f);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void test_cost_report(void **state)
{
	(void)state;
	struct cg_crl_fetcher *f = fetcher(0);
	struct cg_trust *t = store_with(f, false, true);
	verify_after_fetch(f, t, c_good, "/int.crl");
	struct cg_trust_cache *c = cg_trust_cache_new(0);
	struct cg_trust_result r;
	const int n = 300;
	int64_t now = time(NULL);
	double t0 = now_us();
	for (int i = 0; i < n; i++)
		cg_trust_verify(t, c_good, NULL, now, ALL, &r);
	double t1 = now_us();
	for (int i = 0; i < n; i++)
		cg_trust_cache_verify(t, c, c_good, NULL, now, ALL, &r);
	double t2 = now_us();
	assert_true(r.from_cache);
	STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
	int64_t from = INT64_MIN, until = INT64_MAX;
	for (int i = 0; i < n; i++) {
		cg_crl_fetcher_lookup(f, c_good, c_int, sk, &from, &until);
		X509_CRL_free(sk_X509_CRL_pop(sk));
	}
	double t3 = now_us();
	sk_X509_CRL_free(sk);
	print_message("cost per call: verify with fetched CRLs %.1f us, cache hit %.2f us, fetcher lookup %.2f us\n",
		      (t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / n);
	cg_trust_cache_free(c);
	cg_crl_fetcher_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_and_revoked_fetched_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_before_next_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_distribution_points, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_crl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uploaded_crl_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fetch_for_forged_or_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_urls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_during_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validate_client_certificate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ocsp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ocsp_bad_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ocsp_delegated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost_report, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
