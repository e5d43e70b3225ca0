"""The admin API over TLS and with admin client certificates (src/admin/tls.c):
`certgate serve --admin ... --admin-cert F --admin-key F [--admin-key-password-file F]
[--admin-client-ca F [--admin-client-thumbprint HEX ...]] [--admin-token-file F]`.

TLS admin with a token (Python ssl, curl), plain HTTP on the TLS port, /metrics
over TLS; client certificates: valid (alone, with the token), none, another
CA, expired, self-signed, a pinned thumbprint and another certificate of the
same CA, a body never read from a refused client; an encrypted key opened
with its password file; and every startup refusal with its message.

Python 3 standard library, curl and openssl CLIs; loopback only; every wait
bounded; processes stopped by pid."""

import http.client
import json
import os
import socket
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

TOKEN = "adm1n-" + "0f1e2d3c4b5a69788796" * 2


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def cat(out, *paths):
    with open(out, "w") as f:
        for p in paths:
            with open(p) as g:
                f.write(g.read())
    return out


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def error(self):
        e = json.loads(self.body.decode())["error"]
        return e["code"], e["message"]

    def __repr__(self):
        return "Resp(%d, %r)" % (self.status, self.body[:300])


class AdminTlsCase(cgtest.GatewayTestCase):
    """One gateway per class with the admin API over TLS. Subclasses say
    which admin options (admin_args) they want."""

    use_token = False
    client_ca = False
    pins = ()

    @classmethod
    def admin_args(cls):
        return []

    @classmethod
    def setup_gateways(cls):
        cls.srv = cls.pki.server("admin.test", ips=["127.0.0.1"])
        cls.token_file = write(os.path.join(cls.tmp, "admin.token"), TOKEN + "\n")
        # The admin client CAs: the test root and intermediate (clients
        # send their intermediate too; the bundle needs its root).
        cls.ca_bundle = cat(os.path.join(cls.tmp, "admin-ca.pem"), cls.pki.root_pem,
                            cls.pki.inter.leaf)
        cls.admin_port = cgtest.free_port()
        args = ["--admin", "127.0.0.1:%d" % cls.admin_port] + cls.admin_args()
        cls.gw = cls.gateway(hosts=[{"name": "a.test", "default": True}], serve_args=args)

    def ctx(self, client=None):
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        c.load_verify_locations(self.pki.root_pem)
        if client is not None:
            c.load_cert_chain(client.cert, client.key)
        return c

    def req(self, method, path, client=None, token=None, body=None, conn=None):
        own = conn is None
        c = conn or http.client.HTTPSConnection("127.0.0.1", self.admin_port, timeout=10,
                                                context=self.ctx(client))
        h = {}
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            if own:
                c.close()

    def assertError(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.error()[0], code, r)


class TlsTokenTest(AdminTlsCase):
    """--admin-cert/--admin-key with a token, no client certificates."""

    @classmethod
    def admin_args(cls):
        return ["--admin-cert", cls.srv.cert, "--admin-key", cls.srv.key,
                "--admin-token-file", cls.token_file]

    def test_token_over_tls(self):
        r = self.req("GET", "/apis", token=TOKEN)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["count"], 0)

    def test_versions_and_chain(self):
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            c = self.ctx()
            c.minimum_version = c.maximum_version = v
            raw = socket.create_connection(("127.0.0.1", self.admin_port), timeout=10)
            with c.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                self.assertEqual(s.version(), {ssl.TLSVersion.TLSv1_2: "TLSv1.2",
                                               ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[v])
                # The chain sent is leaf + intermediate (verified above
                # against the root alone).
                self.assertEqual(s.getpeercert()["subject"], ((("commonName", "admin.test"),),))

    def test_no_token_is_401(self):
        self.assertError(self.req("GET", "/apis"), 401, "AuthenticationFailed")
        self.assertError(self.req("GET", "/apis", token="x" * 20), 401, "AuthenticationFailed")

    def test_no_certificate_request(self):
        # Without --admin-client-ca no client certificate is asked for: a
        # client that has one keeps it (OpenSSL's s_client says so).
        cp = cgtest.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.admin_port,
                         "-CAfile", self.pki.root_pem, "-brief"], input=b"", check=False,
                        timeout=20)
        out = cp.stdout + cp.stderr
        self.assertIn(b"Verification: OK", out)
        self.assertNotIn(b"Acceptable client certificate CA names", out)

    def test_curl(self):
        r = cgtest.curl("https://127.0.0.1:%d/apis" % self.admin_port,
                        headers=["Authorization: Bearer " + TOKEN], cacert=self.pki.root_pem,
                        tmpdir=self.gw.dir)
        self.assertEqual((r.rc, r.status), (0, 200), r)

    def test_plain_http_on_tls_port(self):
        s = socket.create_connection(("127.0.0.1", self.admin_port), timeout=10)
        try:
            s.sendall(b"GET /apis HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                      TOKEN.encode() + b"\r\n\r\n")
            data = b""
            try:
                while True:
                    d = s.recv(4096)
                    if not d:
                        break
                    data += d
            except (ConnectionResetError, socket.timeout):
                pass
            self.assertNotIn(b"HTTP/1.1 200", data)
        finally:
            s.close()
        self.assertIn("TLS handshake failed", self.gw.stderr())

    def test_metrics_over_tls(self):
        r = self.req("GET", "/metrics", token=TOKEN)
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"certgate_", r.body)
        self.assertError(self.req("GET", "/metrics"), 401, "AuthenticationFailed")

    def test_keep_alive_and_write(self):
        c = http.client.HTTPSConnection("127.0.0.1", self.admin_port, timeout=10,
                                        context=self.ctx())
        try:
            r = self.req("PUT", "/apis/echo", token=TOKEN, conn=c,
                         body={"properties": {"path": "echo",
                                              "serviceUrl": "http://127.0.0.1:1"}})
            self.assertEqual(r.status, 201, r)
            r = self.req("GET", "/apis/echo", token=TOKEN, conn=c)
            self.assertEqual(r.status, 200, r)
            r = self.req("DELETE", "/apis/echo", token=TOKEN, conn=c)
            self.assertEqual(r.status, 200, r)
        finally:
            c.close()


class ClientCertTest(AdminTlsCase):
    """--admin-client-ca without a token; the key is encrypted."""

    @classmethod
    def admin_args(cls):
        pw = write(os.path.join(cls.tmp, "key.pw"), "s3cret pass\n")
        enc = os.path.join(cls.tmp, "admin-enc.key")
        cgtest.run(["openssl", "pkey", "-in", cls.srv.key, "-aes256", "-passout",
                    "pass:s3cret pass", "-out", enc])
        return ["--admin-cert", cls.srv.cert, "--admin-key", enc,
                "--admin-key-password-file", pw, "--admin-client-ca", cls.ca_bundle]

    def test_valid_certificate(self):
        r = self.req("GET", "/apis", client=self.pki.client("admin1"))
        self.assertEqual(r.status, 200, r)

    def test_valid_certificate_curl_and_metrics(self):
        cf = self.pki.client("admin1")
        r = cgtest.curl("https://127.0.0.1:%d/metrics" % self.admin_port, cert=cf.cert,
                        key=cf.key, cacert=self.pki.root_pem, tmpdir=self.gw.dir)
        self.assertEqual((r.rc, r.status), (0, 200), r)
        self.assertIn(b"certgate_", r.body)
        r = cgtest.curl("https://127.0.0.1:%d/metrics" % self.admin_port,
                        cacert=self.pki.root_pem, tmpdir=self.gw.dir)
        self.assertEqual(r.status, 403, r)

    def test_no_certificate(self):
        self.assertError(self.req("GET", "/apis"), 403, "ClientCertificateRequired")
        self.assertIn("no client certificate", self.gw.stderr())

    def test_other_ca(self):
        r = self.req("GET", "/apis", client=self.pki.client("intruder", kind="unknown_ca"))
        self.assertError(r, 403, "ClientCertificateInvalid")
        self.assertRegex(self.gw.stderr(), r"client certificate [0-9A-F]{40} refused: untrusted")

    def test_expired(self):
        r = self.req("GET", "/apis", client=self.pki.client("old", kind="expired"))
        self.assertError(r, 403, "ClientCertificateInvalid")
        self.assertRegex(self.gw.stderr(), r"refused: expired")

    def test_self_signed(self):
        r = self.req("GET", "/apis", client=self.pki.client("me", kind="selfsigned"))
        self.assertError(r, 403, "ClientCertificateInvalid")

    def test_refused_connection_is_closed_and_body_not_read(self):
        # A PUT with a body from a client without a certificate is answered
        # from its head alone, and the connection ends.
        c = self.ctx()
        raw = socket.create_connection(("127.0.0.1", self.admin_port), timeout=10)
        s = c.wrap_socket(raw, server_hostname="127.0.0.1")
        try:
            s.sendall(b"PUT /apis/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100000\r\n\r\n")
            data = b""
            while True:
                try:
                    d = s.recv(65536)
                except (ssl.SSLError, ConnectionResetError):
                    break
                if not d:
                    break
                data += d
            self.assertTrue(data.startswith(b"HTTP/1.1 403 "), data[:200])
            self.assertIn(b"Connection: close", data)
            self.assertIn(b"ClientCertificateRequired", data)
        finally:
            s.close()
        self.assertEqual(self.req("GET", "/apis/x", client=self.pki.client("admin1")).status, 404)

    def test_certificate_request_lists_admin_cas(self):
        cp = cgtest.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.admin_port,
                         "-CAfile", self.pki.root_pem, "-tls1_2"], input=b"", check=False,
                        timeout=20)
        out = cp.stdout.decode(errors="replace")
        self.assertIn("Acceptable client certificate CA names", out)
        self.assertIn("certgate test root CA", out)


class CertAndTokenTest(AdminTlsCase):
    """Both a token and client certificates: a request needs both."""

    @classmethod
    def admin_args(cls):
        return ["--admin-cert", cls.srv.cert, "--admin-key", cls.srv.key,
                "--admin-client-ca", cls.ca_bundle, "--admin-token-file", cls.token_file]

    def test_both(self):
        r = self.req("GET", "/apis", client=self.pki.client("admin1"), token=TOKEN)
        self.assertEqual(r.status, 200, r)

    def test_certificate_without_token(self):
        r = self.req("GET", "/apis", client=self.pki.client("admin1"))
        self.assertError(r, 401, "AuthenticationFailed")
        self.assertIn("bearer", r.headers.get("www-authenticate", "").lower())

    def test_token_without_certificate(self):
        self.assertError(self.req("GET", "/apis", token=TOKEN), 403, "ClientCertificateRequired")

    def test_token_with_untrusted_certificate(self):
        r = self.req("GET", "/apis", client=self.pki.client("x", kind="unknown_ca"), token=TOKEN)
        self.assertError(r, 403, "ClientCertificateInvalid")


class PinnedTest(AdminTlsCase):
    """--admin-client-thumbprint: only the pinned certificates, which must
    also chain to the admin CAs."""

    @classmethod
    def admin_args(cls):
        tp = cls.pki.client("pinned").thumbprint
        # As an operator may paste it: lowercase, with colons.
        pretty = ":".join(tp[i:i + 2] for i in range(0, 40, 2)).lower()
        return ["--admin-cert", cls.srv.cert, "--admin-key", cls.srv.key,
                "--admin-client-ca", cls.ca_bundle, "--admin-client-thumbprint", "00" * 20,
                "--admin-client-thumbprint", pretty]

    def test_pinned(self):
        self.assertEqual(self.req("GET", "/apis", client=self.pki.client("pinned")).status, 200)

    def test_same_ca_not_pinned(self):
        r = self.req("GET", "/apis", client=self.pki.client("other"))
        self.assertError(r, 403, "ClientCertificateInvalid")
        self.assertIn("not one of the --admin-client-thumbprint values", self.gw.stderr())


class StartupTest(unittest.TestCase):
    """serve refuses bad admin TLS settings before it starts, naming the
    option, the file and why."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.tmp = tempfile.mkdtemp(prefix="cgit-admintls-")
        cls.pki = cgtest.Pki(cls.tmp)
        cls.gw = cgtest.Gateway(cls.tmp, cls.pki, hosts=[{"name": "a.test", "default": True}])
        cls.srv = cls.pki.server("admin.test", ips=["127.0.0.1"])
        cls.other = cls.pki.server("other.test")
        cls.token = write(os.path.join(cls.tmp, "tok"), TOKEN)
        cls.garbage = write(os.path.join(cls.tmp, "garbage.pem"), "not a PEM file\n")
        cls.bad_cert = write(os.path.join(cls.tmp, "bad-cert.pem"),
                             "-----BEGIN CERTIFICATE-----\nAAAA!!!!\n-----END CERTIFICATE-----\n")
        cls.bad_key = write(os.path.join(cls.tmp, "bad-key.pem"),
                            "-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n")
        cls.root_then_bad = cat(os.path.join(cls.tmp, "root-then-bad.pem"), cls.pki.root_pem,
                                cls.bad_cert)
        cls.enc = os.path.join(cls.tmp, "enc.key")
        cgtest.run(["openssl", "pkey", "-in", cls.srv.key, "-aes256", "-passout", "pass:right",
                    "-out", cls.enc])
        cls.pw_wrong = write(os.path.join(cls.tmp, "wrong.pw"), "wrong\n")
        cls.leaf_only = cls.pki.client("leaf").leaf

    @classmethod
    def tearDownClass(cls):
        import shutil
        if not os.environ.get("CG_KEEP_TMP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def serve(self, *extra, admin="127.0.0.1:%d"):
        args = [self.gw.bin, "--store", self.gw.store, "serve", "--listen",
                "127.0.0.1:%d" % cgtest.free_port()]
        if admin:
            args += ["--admin", admin % cgtest.free_port()]
        return cgtest.run(args + list(extra), check=False, timeout=30)

    def refused(self, code, text, *extra, **kw):
        cp = self.serve(*extra, **kw)
        self.assertEqual(cp.returncode, code, cp.stderr)
        self.assertIn(text.encode(), cp.stderr)
        self.assertNotIn(b"ready", cp.stderr)

    def tls(self):
        return ["--admin-cert", self.srv.cert, "--admin-key", self.srv.key]

    def test_missing_cert_file(self):
        absent = os.path.join(self.tmp, "absent.pem")
        self.refused(1, "--admin-cert '%s': No such file or directory" % absent,
                     "--admin-cert", absent, "--admin-key", self.srv.key,
                     "--admin-token-file", self.token)

    def test_unreadable_key_file(self):
        self.refused(1, "--admin-key '%s': Is a directory" % self.tmp,
                     "--admin-cert", self.srv.cert, "--admin-key", self.tmp,
                     "--admin-token-file", self.token)

    def test_malformed_cert(self):
        self.refused(1, "--admin-cert '%s': no PEM certificate in it" % self.garbage,
                     "--admin-cert", self.garbage, "--admin-key", self.srv.key,
                     "--admin-token-file", self.token)

        self.refused(1, "--admin-cert '%s': the first certificate does not parse" % self.bad_cert,
                     "--admin-cert", self.bad_cert, "--admin-key", self.srv.key,
                     "--admin-token-file", self.token)

    def test_malformed_key(self):
        self.refused(1, "--admin-key '%s': no PEM private key in it" % self.garbage,
                     "--admin-cert", self.srv.cert, "--admin-key", self.garbage,
                     "--admin-token-file", self.token)
        self.refused(1, "--admin-key '%s': the private key does not parse" % self.bad_key,
                     "--admin-cert", self.srv.cert, "--admin-key", self.bad_key,
                     "--admin-token-file", self.token)

    def test_key_does_not_match(self):
        self.refused(1, "--admin-key '%s' does not match the certificate in --admin-cert '%s'"
                     % (self.other.key, self.srv.cert),
                     "--admin-cert", self.srv.cert, "--admin-key", self.other.key,
                     "--admin-token-file", self.token)

    def test_encrypted_key_without_password(self):
        self.refused(1, "the key is encrypted: give its password with --admin-key-password-file",
                     "--admin-cert", self.srv.cert, "--admin-key", self.enc,
                     "--admin-token-file", self.token)

    def test_encrypted_key_wrong_password(self):
        self.refused(1, "--admin-key '%s': cannot decrypt the key (wrong password?)" % self.enc,
                     "--admin-cert", self.srv.cert, "--admin-key", self.enc,
                     "--admin-key-password-file", self.pw_wrong, "--admin-token-file", self.token)

    def test_client_ca_without_tls(self):
        self.refused(2, "--admin-client-ca needs TLS on the admin API",
                     "--admin-client-ca", self.pki.root_pem, "--admin-token-file", self.token)

    def test_client_ca_malformed(self):
        self.refused(1, "--admin-client-ca '%s': no PEM certificate in it" % self.garbage,
                     *self.tls(), "--admin-client-ca", self.garbage)
        self.refused(1, "--admin-client-ca '%s': certificate 2 does not parse"
                     % self.root_then_bad, *self.tls(), "--admin-client-ca", self.root_then_bad)

    def test_client_ca_missing(self):
        absent = os.path.join(self.tmp, "absent-ca.pem")
        self.refused(1, "--admin-client-ca '%s': No such file or directory" % absent,
                     *self.tls(), "--admin-client-ca", absent)

    def test_client_ca_without_root(self):
        self.refused(1, "no self-signed root CA certificate in it",
                     *self.tls(), "--admin-client-ca", self.pki.inter.leaf)

    def test_client_ca_not_a_ca(self):
        self.refused(1, "--admin-client-ca '%s': certificate 1: " % self.leaf_only,
                     *self.tls(), "--admin-client-ca", self.leaf_only)

    def test_non_loopback_without_auth(self):
        self.refused(2, "is not a loopback address and has no authentication",
                     *self.tls(), admin="0.0.0.0:%d")

    def test_loopback_without_auth(self):
        self.refused(2, "--admin needs --admin-token-file FILE, or --admin-client-ca FILE",
                     *self.tls())

    def test_option_pairs(self):
        self.refused(2, "--admin-cert needs --admin-key", "--admin-cert", self.srv.cert,
                     "--admin-token-file", self.token)
        self.refused(2, "--admin-key needs --admin-cert", "--admin-key", self.srv.key,
                     "--admin-token-file", self.token)
        self.refused(2, "--admin-key-password-file needs --admin-key",
                     "--admin-key-password-file", self.pw_wrong, "--admin-token-file", self.token)
        self.refused(2, "--admin-client-thumbprint needs --admin-client-ca", *self.tls(),
                     "--admin-token-file", self.token, "--admin-client-thumbprint", "AB" * 20)
        self.refused(2, "--admin-cert needs --admin ADDR:PORT", *self.tls(), admin=None)

    def test_bad_thumbprint(self):
        self.refused(2, "--admin-client-thumbprint 'xyz': expected a SHA-1 thumbprint",
                     *self.tls(), "--admin-client-ca", self.pki.root_pem,
                     "--admin-client-thumbprint", "xyz")

    def test_help_lists_options(self):
        cp = cgtest.run([self.gw.bin, "serve", "--help"], check=False)
        for o in (b"--admin-cert", b"--admin-key", b"--admin-key-password-file",
                  b"--admin-client-ca", b"--admin-client-thumbprint"):
            self.assertIn(o, cp.stdout)


class FdLimitTest(cgtest.GatewayTestCase):
    """Out of file descriptors, the admin listener pauses (no busy loop)
    and serves again once descriptors are free."""

    def start(self, port, nofile=None):
        token = write(os.path.join(self.tmp, "tok"), TOKEN)
        return self.gateway(hosts=[{"name": "a.test", "default": True}], workers=1, nofile=nofile,
                            serve_args=["--admin", "127.0.0.1:%d" % port,
                                        "--admin-token-file", token])

    def get(self, port):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            c.request("GET", "/apis", headers={"Authorization": "Bearer " + TOKEN})
            return c.getresponse().status
        finally:
            c.close()

    def test_emfile_pauses_and_recovers(self):
        import time
        port = cgtest.free_port()
        g = self.start(port)
        self.assertEqual(self.get(port), 200)
        used = len(os.listdir("/proc/%d/fd" % g.proc.pid))
        g.stop()
        # Room for 8 more descriptors; 24 connections want more (and
        # stay well under the 64-connection cap).
        port = cgtest.free_port()
        g = self.start(port, nofile=used + 8)
        socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(24)]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "admin: cannot accept" not in g.stderr():
            time.sleep(0.05)
        self.assertIn("admin: cannot accept: Too many open files", g.stderr())
        # Paused, not spinning: over 1 s a busy loop would take ~100
        # ticks of CPU (utime + stime, 100 per second).
        c0 = g.cpu_ticks()
        time.sleep(1.0)
        self.assertLess(g.cpu_ticks() - c0, 30)
        for s in socks:
            s.close()
        self.assertEqual(cgtest.status_eventually(lambda: self.get(port)), 200)


if __name__ == "__main__":
    cgtest.main()
