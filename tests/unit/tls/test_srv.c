/* Tests for client-facing TLS sessions (src/tls/srv.h), each case run once
 * per engine (GnuTLS, OpenSSL): real handshakes over a socketpair whose
 * server end is non-blocking, against an OpenSSL client on the other end
 * (also non-blocking), the two stepped in turn. What the client saw (the
 * server certificate, CertificateRequests, CA names) is read from the
 * client SSL and its message callback, never from the engine under test.
 *
 * The PKI is made per run with the openssl CLI in a mkdtemp directory: two
 * server certificates (CN a.test, b.test), a client chain the server knows
 * nothing of (root, intermediate, leaf) and one more CA used only as a CA
 * name hint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/arena.h"
#include "tls/srv.h"
#include "tls/tls.h"

static char g_dir[64];
static struct cg_arena g_arena; /* tls_cli.h's per-test arena: unused here */

#include "tls/tls_cli.h"

/* ---- PKI made with the openssl CLI ---------------------------------- */

static char pem_a[8192], key_a[8192], pem_b[8192], key_b[8192], pem_r[8192], key_r[8192];
static X509 *c_client, *c_int, *c_root, *c_hint;
static EVP_PKEY *k_client;

#define EC "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"

static void read_text(const char *name, char *buf, size_t n)
{
	FILE *f = fopen(path(name), "r");
	assert_non_null(f);
	size_t got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
	assert_true(got > 0 && got < n - 1);
}

static void make_pki(void)
{
	write_file(path("ca.cnf"), "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n"
				   "[v3_ca]\nbasicConstraints = critical,CA:TRUE\n"
				   "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n"
				   "[v3_int]\nbasicConstraints = critical,CA:TRUE,pathlen:0\n"
				   "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n"
				   "authorityKeyIdentifier = keyid\n"
				   "[v3_server]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
				   "extendedKeyUsage = serverAuth\n"
				   "[v3_client]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
				   "extendedKeyUsage = clientAuth\nauthorityKeyIdentifier = keyid\n");
	char cnf[160]; /* path() reuses its buffers */
	snprintf(cnf, sizeof(cnf), "%s", path("ca.cnf"));
	RUN("openssl", "req", "-config", cnf, "-x509", EC, "-days", "2", "-keyout", path("a.key"), "-out",
	    path("a.pem"), "-subj", "/CN=a.test", "-extensions", "v3_server");
	RUN("openssl", "req", "-config", cnf, "-x509", EC, "-days", "2", "-keyout", path("b.key"), "-out",
	    path("b.pem"), "-subj", "/CN=b.test", "-extensions", "v3_server");
	RUN("openssl", "req", "-config", cnf, "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
	    path("r.key"), "-out", path("r.pem"), "-subj", "/CN=r.test", "-extensions", "v3_server");
	RUN("openssl", "req", "-config", cnf, "-x509", EC, "-days", "2", "-keyout", path("root.key"), "-out",
	    path("root.pem"), "-subj", "/CN=Client Root CA/O=certgate tests", "-extensions", "v3_ca");
	RUN("openssl", "req", "-config", cnf, "-x509", EC, "-days", "2", "-keyout", path("hint.key"), "-out",
	    path("hint.pem"), "-subj", "/CN=Hint CA/O=certgate tests", "-extensions", "v3_ca");
	RUN("openssl", "req", "-config", cnf, "-new", EC, "-keyout", path("int.key"), "-out", path("int.csr"),
	    "-subj", "/CN=Client Intermediate CA/O=certgate tests");
	RUN("openssl", "x509", "-req", "-in", path("int.csr"), "-CA", path("root.pem"), "-CAkey", path("root.key"),
	    "-set_serial", "2", "-days", "2", "-extfile", cnf, "-extensions", "v3_int", "-out", path("int.pem"));
	RUN("openssl", "req", "-config", cnf, "-new", EC, "-keyout", path("client.key"), "-out",
	    path("client.csr"), "-subj", "/CN=client one/O=certgate tests");
	RUN("openssl", "x509", "-req", "-in", path("client.csr"), "-CA", path("int.pem"), "-CAkey", path("int.key"),
	    "-set_serial", "3", "-days", "2", "-extfile", cnf, "-extensions", "v3_client", "-out",
	    path("client.pem"));
}

static int group_setup(void **state)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/cg-srv-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	/* A peer that went away must show up as an I/O result, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	cg_tls_global_init();
	make_pki();
	read_text("a.pem", pem_a, sizeof(pem_a));
	read_text("a.key", key_a, sizeof(key_a));
	read_text("b.pem", pem_b, sizeof(pem_b));
	read_text("b.key", key_b, sizeof(key_b));
	read_text("r.pem", pem_r, sizeof(pem_r));
	read_text("r.key", key_r, sizeof(key_r));
	c_client = load_cert("client");
	c_int = load_cert("int");
	c_root = load_cert("root");
	c_hint = load_cert("hint");
	FILE *f = fopen(path("client.key"), "r");
	assert_non_null(f);
	k_client = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k_client);
	return 0;
}

static int group_teardown(void **state)
{
	X509 **all[] = { &c_client, &c_int, &c_root, &c_hint };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		X509_free(*all[i]);
		*all[i] = NULL;
	}
	EVP_PKEY_free(k_client);
	k_client = NULL;
	return remove_dir();
}

/* ---- fixture: hosts, one connection, what select and the client saw ---- */

static const enum cg_tls_engine k_gnutls = CG_TLS_ENGINE_GNUTLS;
static const enum cg_tls_engine k_openssl = CG_TLS_ENGINE_OPENSSL;

struct fx {
	enum cg_tls_engine engine;
	struct cg_tls_host *host[2]; /* [0] a.test (the default), [1] b.test */
	SSL_CTX *cctx;
	int fd[2]; /* [0] the server's (non-blocking), [1] the client's */
	struct cg_tls_srv *srv;
	SSL *cli;
	/* select: calls and the last SNI it got (NUL-terminated copy) */
	int select_calls;
	char sni[300];
	size_t sni_len;
	/* the client's message callback: handshake messages it received and sent */
	int cert_requests; /* CertificateRequest received */
	int certs_sent;    /* Certificate sent (empty or not) */
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->engine = *(const enum cg_tls_engine *)*state;
	f->fd[0] = f->fd[1] = -1;
	cg_tls_set_server_engine(f->engine);
	*state = f;
	return 0;
}

static void conn_close(struct fx *f)
{
	cg_tls_srv_free(f->srv);
	f->srv = NULL;
	SSL_free(f->cli); /* no SSL_shutdown: nothing more goes out */
	f->cli = NULL;
	for (int i = 0; i < 2; i++) {
		if (f->fd[i] >= 0)
			close(f->fd[i]);
		f->fd[i] = -1;
	}
	ERR_clear_error();
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	conn_close(f);
	SSL_CTX_free(f->cctx);
	for (int i = 0; i < 2; i++)
		cg_tls_host_free(f->host[i]);
	free(f);
	return 0;
}

static struct cg_tls_host *select_host(void *arg, struct cg_str sni)
{
	struct fx *f = arg;
	f->select_calls++;
	assert_true(sni.len < sizeof(f->sni));
	if (sni.len)
		memcpy(f->sni, sni.ptr, sni.len);
	f->sni[sni.len] = '\0';
	f->sni_len = sni.len;
	bool b = sni.len == 6 && memcmp(sni.ptr, "b.test", 6) == 0;
	return b && f->host[1] ? f->host[1] : f->host[0];
}

static struct cg_tls_host *host(struct fx *f, int i, bool negotiate)
{
	char err[CG_TLS_ERR_LEN] = "";
	const char *sid = i ? "b.test" : "a.test";
	f->host[i] = cg_tls_host_new(i ? pem_b : pem_a, i ? key_b : key_a, negotiate, (const unsigned char *)sid,
				     strlen(sid), err, sizeof(err));
	if (!f->host[i])
		fail_msg("cg_tls_host_new: %s", err);
	return f->host[i];
}

static void on_msg(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg)
{
	struct fx *f = arg;
	if (content_type != SSL3_RT_HANDSHAKE || len < 1)
		return;
	unsigned type = ((const unsigned char *)buf)[0];
	if (!write_p && type == SSL3_MT_CERTIFICATE_REQUEST)
		f->cert_requests++;
	if (write_p && type == SSL3_MT_CERTIFICATE)
		f->certs_sent++;
}

/* The client's context: TLS versions min..max (0: OpenSSL's defaults),
 * optionally the client leaf with its key, and the intermediate as its
 * chain. It checks nothing about the server: the tests look themselves. */
static void client_ctx(struct fx *f, int min, int max, bool cert, bool chain)
{
	SSL_CTX_free(f->cctx);
	f->cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(f->cctx);
	SSL_CTX_set_verify(f->cctx, SSL_VERIFY_NONE, NULL);
	if (min && min < TLS1_2_VERSION) {
		/* OpenSSL 3 refuses TLS < 1.2 below security level 0. */
		SSL_CTX_set_security_level(f->cctx, 0);
		assert_true(SSL_CTX_set_cipher_list(f->cctx, "DEFAULT:@SECLEVEL=0"));
	}
	if (min)
		assert_true(SSL_CTX_set_min_proto_version(f->cctx, min));
	if (max)
		assert_true(SSL_CTX_set_max_proto_version(f->cctx, max));
	if (cert) {
		assert_true(SSL_CTX_use_certificate(f->cctx, c_client));
		assert_true(SSL_CTX_use_PrivateKey(f->cctx, k_client));
		if (chain)
			assert_true(SSL_CTX_add1_chain_cert(f->cctx, c_int));
	}
}

/* A connection: the server session on host h, the client with SNI sni
 * (NULL: none). */
static void conn_open(struct fx *f, struct cg_tls_host *h, const char *sni)
{
	conn_close(f);
	f->select_calls = 0;
	f->sni[0] = '\0';
	f->sni_len = 0;
	f->cert_requests = f->certs_sent = 0;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, f->fd), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(fcntl(f->fd[i], F_SETFL, fcntl(f->fd[i], F_GETFL) | O_NONBLOCK), 0);
	f->srv = cg_tls_srv_new(h, f->fd[0], select_host, f);
	assert_non_null(f->srv);
	f->cli = SSL_new(f->cctx);
	assert_non_null(f->cli);
	assert_true(SSL_set_fd(f->cli, f->fd[1]));
	SSL_set_connect_state(f->cli);
	SSL_set_msg_callback(f->cli, on_msg);
	SSL_set_msg_callback_arg(f->cli, f);
	if (sni)
		assert_true(SSL_set_tlsext_host_name(f->cli, sni));
}

/* The gateway calls the engine after its poll reported the socket: each
 * server step here stands for such a wake (cg_tls_srv_woken). */
static int srv_handshake(struct fx *f)
{
	cg_tls_srv_woken(f->srv);
	return cg_tls_srv_handshake(f->srv);
}

static long srv_read(struct fx *f, void *buf, size_t n)
{
	cg_tls_srv_woken(f->srv);
	return cg_tls_srv_read(f->srv, buf, n);
}

static long srv_write(struct fx *f, const void *buf, size_t n)
{
	cg_tls_srv_woken(f->srv);
	return cg_tls_srv_write(f->srv, buf, n);
}

enum { PENDING, DONE, FAILED };

/* Steps server and client in turn until both are done, the server failed,
 * or 200 rounds passed. The server's last result (1 when done); the
 * client's state in *cli. */
static int handshake(struct fx *f, int *cli)
{
	int srv = CG_TLS_WANT_READ;
	int c = PENDING;
	for (int i = 0; i < 200; i++) {
		if (srv != 1 && srv != CG_TLS_ERROR) {
			srv = srv_handshake(f);
			assert_true(srv == 1 || srv == CG_TLS_WANT_READ || srv == CG_TLS_WANT_WRITE ||
				    srv == CG_TLS_ERROR);
		}
		if (srv == CG_TLS_ERROR)
			break;
		if (c == PENDING) {
			int r = SSL_do_handshake(f->cli);
			if (r == 1) {
				c = DONE;
			} else {
				int e = SSL_get_error(f->cli, r);
				if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
					c = FAILED;
			}
			/* The OpenSSL engine's cg_tls_srv_error reads this thread's
			 * error queue: leave only the server's there. */
			ERR_clear_error();
		}
		if (srv == 1 && c != PENDING)
			break;
	}
	if (cli)
		*cli = c;
	return srv;
}

static void handshake_ok(struct fx *f)
{
	int cli;
	int srv = handshake(f, &cli);
	if (srv != 1)
		fail_msg("%s server handshake: %d (%s)", cg_tls_engine_name(f->engine), srv,
			 cg_tls_srv_error(f->srv));
	assert_int_equal(cli, DONE);
}

static char *client_saw_cn(struct fx *f, char *buf, size_t n)
{
	X509 *x = SSL_get0_peer_certificate(f->cli);
	assert_non_null(x);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, (int)n) > 0);
	return buf;
}

static const int k_versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };

/* ---- 1. SNI selection ----------------------------------------------------- */

static void test_sni_selection(void **state)
{
	struct fx *f = *state;
	host(f, 0, false);
	host(f, 1, false);
	char cn[64];
	static const struct {
		const char *sent; /* NULL: no SNI */
		const char *select_got;
		const char *served;
	} cases[] = {
		{ "b.test", "b.test", "b.test" },
		{ "B.Test.", "b.test", "b.test" },
		{ "a.test", "a.test", "a.test" },
		{ "other.example", "other.example", "a.test" },
		{ NULL, "", "a.test" },
	};
	for (size_t v = 0; v < 2; v++) {
		client_ctx(f, k_versions[v], k_versions[v], false, false);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			conn_open(f, f->host[0], cases[i].sent);
			handshake_ok(f);
			assert_int_equal(f->select_calls, 1);
			assert_string_equal(f->sni, cases[i].select_got);
			assert_int_equal(f->sni_len, strlen(cases[i].select_got));
			assert_string_equal(client_saw_cn(f, cn, sizeof(cn)), cases[i].served);
		}
	}
}

/* The chosen host's negotiate setting applies, not the default's. */
static void test_sni_selects_negotiate(void **state)
{
	struct fx *f = *state;
	for (size_t v = 0; v < 2; v++) {
		cg_tls_host_free(f->host[0]);
		cg_tls_host_free(f->host[1]);
		host(f, 0, false);
		host(f, 1, true);
		client_ctx(f, k_versions[v], k_versions[v], true, false);
		conn_open(f, f->host[0], "b.test");
		handshake_ok(f);
		assert_int_equal(f->cert_requests, 1);
		assert_int_equal(cg_tls_srv_peer_count(f->srv), 1);
		conn_open(f, f->host[0], "a.test");
		handshake_ok(f);
		assert_int_equal(f->cert_requests, 0);
		assert_int_equal(cg_tls_srv_peer_count(f->srv), 0);

		/* And the other way round: a negotiating default, a host that does not. */
		cg_tls_host_free(f->host[0]);
		cg_tls_host_free(f->host[1]);
		host(f, 0, true);
		host(f, 1, false);
		conn_open(f, f->host[0], "b.test");
		handshake_ok(f);
		assert_int_equal(f->cert_requests, 0);
		assert_int_equal(f->certs_sent, 0);
		assert_int_equal(cg_tls_srv_peer_count(f->srv), 0);
		assert_null(cg_tls_srv_peer_x509(f->srv));
	}
}

/* ---- 2-4. client certificates ---------------------------------------------- */

static void test_negotiate_any_chain(void **state)
{
	struct fx *f = *state;
	host(f, 0, true);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	assert_true(X509_digest(c_client, EVP_sha1(), md, &mdlen));
	assert_int_equal(mdlen, 20);
	char want_tp[41];
	for (unsigned i = 0; i < 20; i++)
		snprintf(want_tp + 2 * i, 3, "%02X", md[i]);
	unsigned char *der = NULL;
	int der_len = i2d_X509(c_client, &der);
	assert_true(der_len > 0);

	for (size_t v = 0; v < 2; v++) {
		for (int chain = 0; chain < 2; chain++) {
			client_ctx(f, k_versions[v], k_versions[v], true, chain);
			conn_open(f, f->host[0], "a.test");
			handshake_ok(f);
			assert_int_equal(f->cert_requests, 1);
			assert_int_equal(cg_tls_srv_peer_count(f->srv), chain ? 2 : 1);
			char tp[41];
			memset(tp, 'x', sizeof(tp));
			assert_true(cg_tls_srv_peer_thumbprint(f->srv, tp));
			assert_string_equal(tp, want_tp);
			struct cg_str d = cg_tls_srv_peer_der(f->srv);
			assert_int_equal(d.len, (size_t)der_len);
			assert_memory_equal(d.ptr, der, (size_t)der_len);
			X509 *x = cg_tls_srv_peer_x509(f->srv);
			assert_non_null(x);
			assert_ptr_equal(cg_tls_srv_peer_x509(f->srv), x); /* built once, kept */
			assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_subject_name(c_client)), 0);
			char cn[64];
			assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
							      sizeof(cn)) > 0);
			assert_string_equal(cn, "client one");
			assert_int_equal(X509_cmp(x, c_client), 0);
			STACK_OF(X509) *rest = cg_tls_srv_peer_chain(f->srv);
			if (chain) {
				assert_non_null(rest);
				assert_int_equal(sk_X509_num(rest), 1);
				assert_int_equal(X509_cmp(sk_X509_value(rest, 0), c_int), 0);
			} else {
				assert_true(rest == NULL || sk_X509_num(rest) == 0);
			}
		}
	}
	OPENSSL_free(der);
}

static void test_negotiate_no_client_cert(void **state)
{
	struct fx *f = *state;
	host(f, 0, true);
	for (size_t v = 0; v < 2; v++) {
		client_ctx(f, k_versions[v], k_versions[v], false, false);
		conn_open(f, f->host[0], "a.test");
		handshake_ok(f);
		assert_int_equal(f->cert_requests, 1); /* asked ... */
		assert_int_equal(f->certs_sent, 1);    /* ... and answered with an empty Certificate */
		assert_int_equal(cg_tls_srv_peer_count(f->srv), 0);
		char tp[41] = "";
		assert_false(cg_tls_srv_peer_thumbprint(f->srv, tp));
		assert_null(cg_tls_srv_peer_x509(f->srv));
		assert_int_equal(cg_tls_srv_peer_der(f->srv).len, 0);
		STACK_OF(X509) *rest = cg_tls_srv_peer_chain(f->srv);
		assert_true(rest == NULL || sk_X509_num(rest) == 0);
	}
}

static void test_no_negotiate(void **state)
{
	struct fx *f = *state;
	host(f, 0, false);
	for (size_t v = 0; v < 2; v++) {
		client_ctx(f, k_versions[v], k_versions[v], true, true);
		conn_open(f, f->host[0], "a.test");
		handshake_ok(f);
		assert_int_equal(f->cert_requests, 0);
		assert_int_equal(f->certs_sent, 0);
		assert_int_equal(cg_tls_srv_peer_count(f->srv), 0);
		char tp[41] = "";
		assert_false(cg_tls_srv_peer_thumbprint(f->srv, tp));
		assert_null(cg_tls_srv_peer_x509(f->srv));
		assert_int_equal(cg_tls_srv_peer_der(f->srv).len, 0);
	}
}

/* ---- 5. versions -------------------------------------------------------------- */

static void test_versions(void **state)
{
	struct fx *f = *state;
	host(f, 0, false);
	client_ctx(f, TLS1_2_VERSION, TLS1_2_VERSION, false, false);
	conn_open(f, f->host[0], "a.test");
	handshake_ok(f);
	assert_string_equal(cg_tls_srv_version(f->srv), "TLSv1.2");
	assert_string_equal(SSL_get_version(f->cli), "TLSv1.2");

	client_ctx(f, TLS1_3_VERSION, TLS1_3_VERSION, false, false);
	conn_open(f, f->host[0], "a.test");
	handshake_ok(f);
	assert_string_equal(cg_tls_srv_version(f->srv), "TLSv1.3");

	client_ctx(f, 0, 0, false, false); /* the client offers both: 1.3 wins */
	conn_open(f, f->host[0], "a.test");
	handshake_ok(f);
	assert_string_equal(cg_tls_srv_version(f->srv), "TLSv1.3");

	static const int old[] = { TLS1_1_VERSION, TLS1_VERSION };
	for (size_t i = 0; i < 2; i++) {
		client_ctx(f, old[i], old[i], false, false);
		conn_open(f, f->host[0], "a.test");
		int cli;
		assert_int_equal(handshake(f, &cli), CG_TLS_ERROR);
		assert_int_not_equal(cli, DONE);
		assert_string_not_equal(cg_tls_srv_error(f->srv), "no TLS error recorded");
	}
}

/* Handshake after handshake with one key, EC and RSA, TLS 1.2 and 1.3: the
 * server's signature is made with a context the key kept from the previous
 * one (GnuTLS engine) and the client checks every CertificateVerify. */
static void test_repeated_signatures(void **state)
{
	struct fx *f = *state;
	char err[CG_TLS_ERR_LEN] = "";
	host(f, 0, false);
	/* host 1 is the one select_host serves for SNI b.test: here an RSA key */
	f->host[1] = cg_tls_host_new(pem_r, key_r, false, (const unsigned char *)"b.test", 6, err, sizeof(err));
	if (!f->host[1])
		fail_msg("cg_tls_host_new: %s", err);
	for (int h = 0; h < 2; h++)
		for (size_t v = 0; v < 2; v++) {
			client_ctx(f, k_versions[v], k_versions[v], false, false);
			for (int i = 0; i < 6; i++) {
				conn_open(f, f->host[0], h ? "b.test" : "a.test");
				handshake_ok(f);
				X509 *leaf = SSL_get1_peer_certificate(f->cli);
				assert_non_null(leaf);
				assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(leaf)), h ? EVP_PKEY_RSA : EVP_PKEY_EC);
				X509_free(leaf);
			}
		}
}

/* ---- 6. data ------------------------------------------------------------------ */

/* The client reads what is there into buf at *got (at most cap). */
static void client_drain(struct fx *f, unsigned char *buf, size_t *got, size_t cap)
{
	for (;;) {
		size_t n = 0;
		if (*got >= cap) {
			/* Anything more would be a bug: look for it. */
			unsigned char extra;
			int r = SSL_read_ex(f->cli, &extra, 1, &n);
			assert_int_equal(r, 0);
			assert_int_equal(SSL_get_error(f->cli, r), SSL_ERROR_WANT_READ);
			return;
		}
		int r = SSL_read_ex(f->cli, buf + *got, cap - *got, &n);
		if (r == 1) {
			*got += n;
			continue;
		}
		assert_int_equal(SSL_get_error(f->cli, r), SSL_ERROR_WANT_READ);
		ERR_clear_error();
		return;
	}
}

static void test_data(void **state)
{
	struct fx *f = *state;
	host(f, 0, false);
	enum { SMALL = 100, BIG = 200 * 1024 };
	unsigned char small[SMALL], got_small[SMALL + 16];
	for (size_t i = 0; i < SMALL; i++)
		small[i] = (unsigned char)(i * 7 + 3);
	unsigned char *big = malloc(BIG), *got_big = malloc(BIG);
	assert_non_null(big);
	assert_non_null(got_big);
	for (size_t i = 0; i < BIG; i++)
		big[i] = (unsigned char)((i * 131) ^ (i >> 9));

	for (size_t v = 0; v < 2; v++) {
		client_ctx(f, k_versions[v], k_versions[v], false, false);
		conn_open(f, f->host[0], "a.test");
		/* A small send buffer: the 200 KB cannot all go out at once. */
		int sz = 8192;
		assert_int_equal(setsockopt(f->fd[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
		handshake_ok(f);

		/* Client to server: 100 bytes, then nothing more to read. */
		size_t n = 0;
		assert_int_equal(SSL_write_ex(f->cli, small, SMALL, &n), 1);
		assert_int_equal(n, SMALL);
		size_t have = 0;
		long r;
		int calls = 0;
		while (have < SMALL && calls++ < 100) {
			r = srv_read(f, got_small + have, sizeof(got_small) - have);
			if (r <= 0)
				fail_msg("%s read after %zu bytes: %ld (%s)", cg_tls_engine_name(f->engine), have, r,
					 cg_tls_srv_error(f->srv));
			have += (size_t)r;
		}
		assert_int_equal(have, SMALL);
		assert_memory_equal(got_small, small, SMALL);
		assert_int_equal(srv_read(f, got_small, sizeof(got_small)), CG_TLS_WANT_READ);

		/* Bytes that come after a read emptied the socket: the GnuTLS
		 * engine does not look (no syscall) until the poll wakes it; both
		 * read them once woken. */
		assert_int_equal(SSL_write_ex(f->cli, small, 10, &n), 1);
		r = cg_tls_srv_read(f->srv, got_small, sizeof(got_small));
		if (f->engine == CG_TLS_ENGINE_GNUTLS)
			assert_int_equal(r, CG_TLS_WANT_READ);
		else
			assert_int_equal(r, 10);
		if (r == CG_TLS_WANT_READ)
			assert_int_equal(srv_read(f, got_small, sizeof(got_small)), 10);

		/* Server to client: 200 KB, retried on WANT_WRITE while the client reads. */
		size_t off = 0, recvd = 0;
		int wants = 0, rounds = 0;
		memset(got_big, 0, BIG);
		while (off < BIG) {
			assert_true(rounds++ < 10000);
			r = srv_write(f, big + off, BIG - off);
			if (r > 0) {
				assert_true((size_t)r <= BIG - off);
				off += (size_t)r;
				continue;
			}
			if (r != CG_TLS_WANT_WRITE)
				fail_msg("%s write at %zu: %ld (%s)", cg_tls_engine_name(f->engine), off, r,
					 cg_tls_srv_error(f->srv));
			wants++;
			client_drain(f, got_big, &recvd, BIG);
		}
		assert_true(wants > 0);
		client_drain(f, got_big, &recvd, BIG);
		assert_int_equal(recvd, BIG);
		assert_memory_equal(got_big, big, BIG);

		/* close_notify from the client: a clean EOF. */
		assert_true(SSL_shutdown(f->cli) >= 0);
		assert_int_equal(srv_read(f, got_small, sizeof(got_small)), CG_TLS_EOF);

		/* A client that just goes away, without close_notify: an error
		 * (a truncation attack looks the same). */
		conn_open(f, f->host[0], "a.test");
		handshake_ok(f);
		assert_int_equal(SSL_write_ex(f->cli, small, 10, &n), 1);
		SSL_free(f->cli);
		f->cli = NULL;
		close(f->fd[1]);
		f->fd[1] = -1;
		r = srv_read(f, got_small, sizeof(got_small));
		assert_int_equal(r, 10); /* what came before the close still arrives */
		r = srv_read(f, got_small, sizeof(got_small));
		if (r != CG_TLS_ERROR)
			fail_msg("%s read after a close without close_notify: %ld, want CG_TLS_ERROR",
				 cg_tls_engine_name(f->engine), r);
		/* And before the handshake is done: an error too. */
		conn_open(f, f->host[0], "a.test");
		close(f->fd[1]);
		f->fd[1] = -1;
		r = srv_handshake(f);
		if (r != CG_TLS_ERROR)
			fail_msg("%s handshake after the client closed: %ld, want CG_TLS_ERROR",
				 cg_tls_engine_name(f->engine), r);
	}
	free(big);
	free(got_big);
}

/* ---- 7. junk -------------------------------------------------------------------- */

static void test_junk(void **state)
{
	struct fx *f = *state;
	host(f, 0, false);
	client_ctx(f, 0, 0, false, false);
	static const struct {
		const char *bytes;
		size_t len;
	} junk[] = {
		{ "GET / HTTP/1.1\r\n\r\n", 18 },
		{ "\x16\x03\x01\x00\x05hello", 10 },
		{ "\x17\x03\x03\x00\x05hello", 10 },             /* application data first */
		{ "\x15\x03\x01\x00\x02\x02\x28", 7 },            /* a fatal alert first */
		{ "\x16\x03\x03\x00\x04\x02\x00\x00\x00", 9 }, /* a ServerHello */
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		conn_open(f, f->host[0], NULL);
		assert_int_equal(write(f->fd[1], junk[i].bytes, junk[i].len), (ssize_t)junk[i].len);
		int r = srv_handshake(f);
		if (r != CG_TLS_ERROR)
			fail_msg("%s junk %zu: handshake %d, want CG_TLS_ERROR", cg_tls_engine_name(f->engine), i, r);
		assert_string_not_equal(cg_tls_srv_error(f->srv), "no TLS error recorded");
		assert_int_equal(f->select_calls, 0);
	}
	/* The first bytes of a real ClientHello: wait for the rest. */
	conn_open(f, f->host[0], NULL);
	assert_int_equal(write(f->fd[1], "\x16\x03\x01", 3), 3);
	assert_int_equal(srv_handshake(f), CG_TLS_WANT_READ);
	assert_int_equal(srv_handshake(f), CG_TLS_WANT_READ);
}

/* ---- 8. host credentials ---------------------------------------------------------- */

static char *host_err(enum cg_tls_engine e, const char *cert, const char *key, char *err, size_t n)
{
	cg_tls_set_server_engine(e);
	err[0] = '\0';
	struct cg_tls_host *h = cg_tls_host_new(cert, key, true, (const unsigned char *)"x", 1, err, n);
	if (h) {
		cg_tls_host_free(h);
		fail_msg("%s accepted the credentials", cg_tls_engine_name(e));
	}
	return err;
}

static void test_host_refusals(void **state)
{
	struct fx *f = *state;
	enum cg_tls_engine other = f->engine == CG_TLS_ENGINE_GNUTLS ? CG_TLS_ENGINE_OPENSSL : CG_TLS_ENGINE_GNUTLS;
	char e1[CG_TLS_ERR_LEN], e2[CG_TLS_ERR_LEN];
	static const struct {
		const char *cert, *key, *want;
	} cases[] = {
		{ pem_a, key_b, "does not match" },
		{ "garbage, not PEM", key_a, "no PEM certificate found" },
		{ "", key_a, "no PEM certificate found" },
		{ pem_a, "garbage, not PEM", "no usable PEM private key found" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		host_err(f->engine, cases[i].cert, cases[i].key, e1, sizeof(e1));
		if (!strstr(e1, cases[i].want))
			fail_msg("%s case %zu: \"%s\" lacks \"%s\"", cg_tls_engine_name(f->engine), i, e1,
				 cases[i].want);
		/* Word for word what the other engine says. */
		assert_string_equal(e1, host_err(other, cases[i].cert, cases[i].key, e2, sizeof(e2)));
	}
	cg_tls_set_server_engine(f->engine);
	/* The good pair still builds (with the chain after the leaf). */
	host(f, 0, true);
}

/* ---- 9. CA names in the CertificateRequest ------------------------------------------ */

static void test_ca_names(void **state)
{
	struct fx *f = *state;
	host(f, 0, true);
	host(f, 1, true);
	X509 *cas[] = { c_hint };
	assert_int_equal(cg_tls_host_set_ca_names(f->host[0], cas, 1), 0);
	for (size_t v = 0; v < 2; v++) {
		client_ctx(f, k_versions[v], k_versions[v], true, true);
		conn_open(f, f->host[0], "a.test");
		handshake_ok(f);
		assert_int_equal(f->cert_requests, 1);
		const STACK_OF(X509_NAME) *names = SSL_get0_peer_CA_list(f->cli);
		if (!names || sk_X509_NAME_num(names) != 1)
			fail_msg("%s %s: the client saw %d CA names, want 1", cg_tls_engine_name(f->engine),
				 v ? "TLSv1.3" : "TLSv1.2", names ? sk_X509_NAME_num(names) : -1);
		assert_int_equal(X509_NAME_cmp(sk_X509_NAME_value(names, 0), X509_get_subject_name(c_hint)), 0);
		/* A hint only: a chain from another CA is still taken. */
		assert_int_equal(cg_tls_srv_peer_count(f->srv), 2);

		/* A host without CA names lists none. */
		conn_open(f, f->host[1], "b.test");
		handshake_ok(f);
		assert_int_equal(f->cert_requests, 1);
		names = SSL_get0_peer_CA_list(f->cli);
		assert_true(names == NULL || sk_X509_NAME_num(names) == 0);
	}
}

/* ---- 10. a configuration replaced under live sessions -------------------------- */

/* The gateway frees a snapshot's hosts while connections made under it go
 * on: what the session needs stays alive until it is freed (ASan checks). */
static void test_host_freed_under_session(void **state)
{
	struct fx *f = *state;
	host(f, 0, true);
	host(f, 1, true);
	client_ctx(f, 0, 0, true, true);
	conn_open(f, f->host[0], "b.test");
	handshake_ok(f);
	for (int i = 0; i < 2; i++) {
		cg_tls_host_free(f->host[i]);
		f->host[i] = NULL;
	}
	char tp[41];
	assert_true(cg_tls_srv_peer_thumbprint(f->srv, tp));
	assert_int_equal(cg_tls_srv_peer_count(f->srv), 2);
	assert_non_null(cg_tls_srv_peer_x509(f->srv));
	size_t n = 0;
	char buf[64];
	assert_int_equal(SSL_write_ex(f->cli, "ping", 4, &n), 1);
	assert_int_equal(srv_read(f, buf, sizeof(buf)), 4);
	assert_int_equal(srv_write(f, "pong", 4), 4);
	assert_int_equal(SSL_read_ex(f->cli, buf, sizeof(buf), &n), 1);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "pong", 4);
}

#define BOTH(fn)                                                                                         \
	{ "gnutls/" #fn, fn, fx_setup, fx_teardown, (void *)&k_gnutls },                                       \
	{                                                                                                \
		"openssl/" #fn, fn, fx_setup, fx_teardown, (void *)&k_openssl                                  \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_sni_selection),
		BOTH(test_sni_selects_negotiate),
		BOTH(test_negotiate_any_chain),
		BOTH(test_negotiate_no_client_cert),
		BOTH(test_no_negotiate),
		BOTH(test_versions),
		BOTH(test_repeated_signatures),
		BOTH(test_data),
		BOTH(test_junk),
		BOTH(test_host_refusals),
		BOTH(test_ca_names),
		BOTH(test_host_freed_under_session),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
