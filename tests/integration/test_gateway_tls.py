"""TLS behaviour of `certgate serve`: SNI certificate choice, TLS versions,
client-certificate negotiation per hostname, no renegotiation, no post-
handshake auth, no session tickets, no cross-hostname resumption, and the
421 check when Host selects a hostname with different TLS settings."""

import os
import re
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

# 'Class.test_name' entries skipped until the gateway implements them.
EXPECTED_FAILURES = set()


def count_msgs(out, name):
    """Counts handshake messages named `name` received from the server in
    `openssl s_client -msg` output ("<<< TLS 1.x, Handshake [...], NAME")."""
    return len(re.findall(r"^<<< .*Handshake.*, %s$" % re.escape(name), out, re.M))


class TlsTest(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.be = cls.backend()
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True},
                   {"name": "secure.test", "negotiate": True},
                   {"name": "rsa.test", "rsa": True},
                   {"name": "open2.test"},
                   {"name": "secure2.test", "negotiate": True}],
            apis=[{"id": "echo", "path": "echo", "backend": cls.be.url("/base")}])

    def setUp(self):
        self.be.reset()

    # ---- helpers

    def request(self, sni, host=None, path="/echo/x", cert=None, minv=None, maxv=None,
                verify=None):
        c = self.gw.tls(sni=sni, cert=cert.cert if cert else None,
                        key=cert.key if cert else None, minv=minv, maxv=maxv,
                        verify=verify)
        try:
            c.send(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host or sni)).encode())
            return c.read_response(timeout=10)
        finally:
            c.close()

    def logged_cert(self, thumbprint, timeout=3.0):
        """True once the gateway's access log shows cert=<thumbprint>: the
        only outside view (without policies) of the certificate the gateway
        recorded for a request."""
        deadline = time.monotonic() + timeout
        for _ in range(100):
            if ("cert=" + thumbprint) in self.gw.stderr():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return False

    def peer_der(self, sni):
        c = cgtest.connect_tls(self.gw.port, sni=sni, verify=False)
        try:
            return c.sock.getpeercert(binary_form=True)
        finally:
            c.close()

    # ---- certificate selection

    def test_sni_selects_each_hostname_certificate(self):
        for name in ("open.test", "secure.test", "rsa.test", "open2.test"):
            with self.subTest(name=name):
                # Verifies the chain to the test root and the name.
                c = self.gw.tls(sni=name)
                der = c.sock.getpeercert(binary_form=True)
                c.close()
                self.assertEqual(der, self.gw.host_certs[name].der)

    def test_no_sni_gets_default_hostname_certificate(self):
        self.assertEqual(self.peer_der(None), self.gw.host_certs["open.test"].der)

    def test_unknown_sni_gets_default_hostname_certificate(self):
        self.assertEqual(self.peer_der("nobody.test"), self.gw.host_certs["open.test"].der)

    def test_sni_is_case_insensitive(self):
        c = cgtest.connect_tls(self.gw.port, sni="SECURE.Test", verify=False)
        der = c.sock.getpeercert(binary_form=True)
        c.close()
        self.assertEqual(der, self.gw.host_certs["secure.test"].der)
        rc, out = self.gw.s_client("SECURE.TEST", ["-msg"])
        self.assertEqual(count_msgs(out, "CertificateRequest"), 1, out)

    def test_alpn_never_selects_h2(self):
        ctx = cgtest.client_ssl_context(self.pki.root_pem)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        import socket as _socket
        raw = _socket.create_connection(("127.0.0.1", self.gw.port), timeout=5)
        s = ctx.wrap_socket(raw, server_hostname="open.test")
        self.assertIn(s.selected_alpn_protocol(), (None, "http/1.1"))
        c = cgtest.Conn(s)
        c.send(b"GET /echo/alpn HTTP/1.1\r\nHost: open.test\r\n\r\n")
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 200)
        # curl asking for HTTP/2 falls back to HTTP/1.1.
        r = self.gw.curl("/echo/alpn2", extra=["--http2"])
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.heads.startswith("HTTP/1.1 200"), r.heads)

    def test_full_chain_is_served(self):
        # The client only trusts the root: the intermediate must come from the server.
        rc, out = self.gw.s_client("open.test", ["-CAfile", self.pki.root_pem, "-showcerts"])
        self.assertIn("Verify return code: 0 (ok)", out)
        self.assertEqual(out.count("-----BEGIN CERTIFICATE-----"), 2, out)

    def test_rsa_and_ecdsa_server_keys(self):
        _, out = self.gw.s_client("rsa.test", ["-CAfile", self.pki.root_pem])
        self.assertIn("Server public key is 2048 bit", out)
        self.assertIn("Verify return code: 0 (ok)", out)
        _, out = self.gw.s_client("open.test", ["-CAfile", self.pki.root_pem])
        self.assertIn("Server public key is 256 bit", out)
        # Both serve HTTP.
        self.assertEqual(self.request("rsa.test").status, 200)

    # ---- versions

    def test_tls12_and_tls13_accepted(self):
        for v, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            with self.subTest(version=name):
                c = self.gw.tls(sni="open.test", minv=v, maxv=v)
                self.assertEqual(c.sock.version(), name)
                c.send(b"GET /echo/v HTTP/1.1\r\nHost: open.test\r\n\r\n")
                r = c.read_response()
                c.close()
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json()["target"], "/base/v")

    def test_tls10_and_tls11_refused(self):
        for flag, name in (("-tls1", "TLSv1"), ("-tls1_1", "TLSv1.1")):
            with self.subTest(version=name):
                rc, out = self.gw.s_client("open.test", [flag, "-cipher", "DEFAULT@SECLEVEL=0"])
                self.assertNotEqual(rc, 0, out)
                self.assertIn("Cipher is (NONE)", out)
                self.assertNotIn("-----BEGIN CERTIFICATE-----", out)
                self.assertNotIn("Server certificate", out)

    # ---- client certificate negotiation

    def test_no_certificate_request_without_negotiate(self):
        for flag in ("-tls1_2", "-tls1_3"):
            for name in ("open.test", "rsa.test"):
                with self.subTest(version=flag, host=name):
                    rc, out = self.gw.s_client(name, [flag, "-msg"])
                    self.assertEqual(count_msgs(out, "ServerHello"), 1, out)
                    self.assertEqual(count_msgs(out, "CertificateRequest"), 0, out)
                    self.assertNotIn("Cipher is (NONE)", out)

    def test_no_sni_means_default_hostname_settings(self):
        rc, out = self.gw.s_client(None, ["-msg"])
        self.assertEqual(count_msgs(out, "ServerHello"), 1, out)
        self.assertEqual(count_msgs(out, "CertificateRequest"), 0, out)

    def test_certificate_request_with_negotiate(self):
        for flag in ("-tls1_2", "-tls1_3"):
            for name in ("secure.test", "secure2.test"):
                with self.subTest(version=flag, host=name):
                    rc, out = self.gw.s_client(name, [flag, "-msg"])
                    self.assertEqual(count_msgs(out, "CertificateRequest"), 1, out)
                    self.assertNotIn("Cipher is (NONE)", out)

    def test_negotiate_accepts_any_client_certificate(self):
        kinds = [("valid", False), ("expired", False), ("selfsigned", False),
                 ("unknown_ca", False), ("valid", True)]
        for kind, rsa in kinds:
            for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                with self.subTest(kind=kind, rsa=rsa, version=v):
                    cert = self.pki.client("c-%s-%s" % (kind, rsa), kind, rsa=rsa)
                    r = self.request("secure.test", cert=cert, minv=v, maxv=v)
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual(r.json()["target"], "/base/x")
                    self.assertTrue(self.logged_cert(cert.thumbprint),
                                    "access log never shows cert=%s" % cert.thumbprint)

    def test_negotiate_client_certificate_sent_by_curl(self):
        for kind in ("valid", "expired", "selfsigned", "unknown_ca"):
            with self.subTest(kind=kind):
                cert = self.pki.client("curl-" + kind, kind)
                r = self.gw.curl("/echo/c", host="secure.test", cert=cert.cert, key=cert.key)
                self.assertEqual(r.rc, 0, r)
                self.assertEqual(r.status, 200, r)

    def test_s_client_sends_certificate_handshake_succeeds(self):
        cert = self.pki.client("sc", "selfsigned")
        rc, out = self.gw.s_client("secure.test", ["-msg", "-CAfile", self.pki.root_pem],
                                   cert=cert.cert, key=cert.key,
                                   input=b"GET /echo/s HTTP/1.1\r\nHost: secure.test\r\n"
                                         b"Connection: close\r\n\r\n", hold=1.0)
        self.assertEqual(count_msgs(out, "CertificateRequest"), 1, out)
        self.assertRegex(out, r">>> .*Handshake.*, Certificate\n")
        self.assertRegex(out, r">>> .*Handshake.*, CertificateVerify\n")
        self.assertIn("HTTP/1.1 200", out)

    def test_negotiate_accepts_ed25519_and_rsa_pss_client_keys(self):
        for alg, opts in (("ed25519", []), ("rsa-pss", ["-pkeyopt", "rsa_keygen_bits:2048"])):
            key = os.path.join(self.tmp, "odd-%s.key" % alg)
            crt = os.path.join(self.tmp, "odd-%s.pem" % alg)
            cgtest.run(["openssl", "genpkey", "-algorithm", alg] + opts + ["-out", key])
            cgtest.run(["openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=odd " + alg,
                        "-days", "5", "-out", crt])
            for flag in ("-tls1_2", "-tls1_3"):
                with self.subTest(alg=alg, version=flag):
                    rc, out = self.gw.s_client(
                        "secure.test", [flag, "-msg"], cert=crt, key=key, hold=1.0,
                        input=b"GET /echo/o HTTP/1.1\r\nHost: secure.test\r\n"
                              b"Connection: close\r\n\r\n")
                    self.assertRegex(out, r">>> .*Handshake.*, CertificateVerify\n")
                    self.assertIn("HTTP/1.1 200", out)

    def test_large_post_with_client_certificate(self):
        # APIM's renegotiation "deadlock" hit bodies over ~60 KB; here the
        # certificate comes with the handshake, so size does not matter.
        cert = self.pki.client("bigpost")
        body = os.urandom(300 * 1024)
        c = self.gw.tls(sni="secure.test", cert=cert.cert, key=cert.key)
        c.send(b"POST /echo/big HTTP/1.1\r\nHost: secure.test\r\nContent-Length: %d\r\n\r\n"
               % len(body) + body)
        r = c.read_response(timeout=20)
        c.close()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["body_sha256"], cgtest.sha256(body))

    def test_negotiate_without_client_certificate_succeeds(self):
        r = self.request("secure.test")
        self.assertEqual(r.status, 200)
        r = self.request("secure.test", minv=ssl.TLSVersion.TLSv1_2,
                         maxv=ssl.TLSVersion.TLSv1_2)
        self.assertEqual(r.status, 200)

    def test_open_hostname_with_client_certificate_configured(self):
        cert = self.pki.client("ignored")
        r = self.request("open.test", cert=cert)
        self.assertEqual(r.status, 200)
        # Not requested, so never sent: the gateway has no certificate.
        marker = self.pki.client("marker")
        self.assertEqual(self.request("secure.test", cert=marker).status, 200)
        self.assertTrue(self.logged_cert(marker.thumbprint))
        self.assertNotIn(cert.thumbprint, self.gw.stderr())

    # ---- renegotiation, post-handshake auth

    def test_no_renegotiation_tls12(self):
        for name in ("open.test", "secure.test"):
            with self.subTest(host=name):
                rc, out = self.gw.s_client(
                    name, ["-tls1_2", "-msg"], input=b"R\n", hold=1.5, timeout=10)
                self.assertIn("RENEGOTIATING", out)  # the attempt was made
                self.assertEqual(count_msgs(out, "ServerHello"), 1, out)
                self.assertEqual(count_msgs(out, "CertificateRequest"),
                                 1 if name == "secure.test" else 0, out)

    def test_no_post_handshake_auth(self):
        cert = self.pki.client("pha")
        for name, expect in (("open.test", 0), ("secure.test", 1)):
            with self.subTest(host=name):
                rc, out = self.gw.s_client(
                    name, ["-tls1_3", "-msg", "-enable_pha"], cert=cert.cert, key=cert.key,
                    input=("GET /echo/p HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                           % name).encode(), hold=1.0)
                self.assertIn("HTTP/1.1 200", out)
                # Only the initial handshake may ask (secure.test), never later.
                self.assertEqual(count_msgs(out, "CertificateRequest"), expect, out)

    def test_tls13_key_update_is_not_refused(self):
        # A KeyUpdate (with update_requested) is not a renegotiation: the
        # connection keeps working and the server updates its keys too.
        cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.gw.port,
               "-servername", "open.test", "-tls1_3", "-msg"]
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        try:
            time.sleep(0.5)
            p.stdin.write(b"K\n")
            p.stdin.flush()
            time.sleep(0.5)
            p.stdin.write(b"GET /echo/ku HTTP/1.1\r\nHost: open.test\r\nConnection: close\r\n\r\n")
            p.stdin.flush()
            time.sleep(1.0)
            out, _ = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate(timeout=5)
        out = out.decode(errors="replace")
        self.assertRegex(out, r">>> .*Handshake.*, KeyUpdate\n")
        self.assertRegex(out, r"<<< .*Handshake.*, KeyUpdate\n")
        self.assertIn("HTTP/1.1 200", out)

    # ---- sessions

    def test_no_session_tickets_tls13(self):
        for name in ("open.test", "secure.test"):
            with self.subTest(host=name):
                rc, out = self.gw.s_client(
                    name, ["-tls1_3", "-msg"],
                    input=("GET /echo/t HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                           % name).encode(), hold=1.0)
                self.assertIn("HTTP/1.1 200", out)
                self.assertEqual(count_msgs(out, "NewSessionTicket"), 0, out)

    def test_no_resumption_across_hostnames(self):
        pairs = [("open.test", "secure.test"), ("secure.test", "open.test"),
                 ("open.test", "rsa.test")]
        for flag in ("-tls1_2", "-tls1_3"):
            for a, b in pairs:
                with self.subTest(version=flag, first=a, second=b):
                    sess = os.path.join(self.tmp, "sess-%s-%s%s" % (a, b, flag))
                    rc, out = self.gw.s_client(a, [flag, "-msg", "-sess_out", sess],
                                               input=b"", hold=0.5)
                    self.assertNotIn("Cipher is (NONE)", out)
                    if not os.path.exists(sess):
                        # Nothing resumable was issued: then no session id and
                        # no ticket at all.
                        if flag == "-tls1_2":
                            self.assertRegex(out, r"Session-ID: *\n")
                        self.assertNotIn("TLS session ticket", out)
                        self.assertEqual(count_msgs(out, "NewSessionTicket"), 0, out)
                        continue
                    rc, out = self.gw.s_client(b, [flag, "-sess_in", sess, "-msg"])
                    self.assertNotIn("Reused,", out)
                    self.assertIn("New,", out)
                    if b == "secure.test":
                        self.assertEqual(count_msgs(out, "CertificateRequest"), 1, out)


class DefaultHostTest(cgtest.GatewayTestCase):
    """--default moves the default hostname; clients without SNI get its
    certificate and its client-certificate setting."""

    @classmethod
    def setup_gateways(cls):
        cls.be = cls.backend()
        cls.gw = cls.gateway(
            hosts=[{"name": "first.test"}, {"name": "secure.test", "negotiate": True,
                                            "default": True}],
            apis=[{"id": "echo", "path": "echo", "backend": cls.be.url("/base")}])

    def test_no_sni_gets_the_marked_default(self):
        c = cgtest.connect_tls(self.gw.port, sni=None, verify=False)
        der = c.sock.getpeercert(binary_form=True)
        c.close()
        self.assertEqual(der, self.gw.host_certs["secure.test"].der)
        rc, out = self.gw.s_client(None, ["-msg"])
        self.assertEqual(count_msgs(out, "CertificateRequest"), 1, out)
        rc, out = self.gw.s_client("first.test", ["-msg"])
        self.assertEqual(count_msgs(out, "CertificateRequest"), 0, out)

    def test_no_sni_with_first_host_is_421(self):
        c = cgtest.connect_tls(self.gw.port, sni=None, verify=False)
        c.send(b"GET /echo/d HTTP/1.1\r\nHost: first.test\r\n\r\n")
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 421, r)
        self.assertEqual(self.be.count(), 0)


class MisdirectedTest(cgtest.GatewayTestCase):
    """421 when Host selects a hostname whose TLS settings differ from the
    SNI-selected one; otherwise served."""

    @classmethod
    def setup_gateways(cls):
        cls.be = cls.backend()
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True},
                   {"name": "open2.test"},
                   {"name": "secure.test", "negotiate": True},
                   {"name": "secure2.test", "negotiate": True}],
            apis=[{"id": "echo", "path": "echo", "backend": cls.be.url("/base")}])

    def setUp(self):
        self.be.reset()

    def send(self, sni, host, cert=None):
        c = self.gw.tls(sni=sni, cert=cert.cert if cert else None,
                        key=cert.key if cert else None)
        try:
            c.send(("GET /echo/m HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode())
            return c.read_response(timeout=10)
        finally:
            c.close()

    def assert421(self, r):
        self.assertEqual(r.status, 421, r)
        self.assertApimError(421, r.body, r.headers)

    def test_open_sni_secure_host_is_421(self):
        r = self.send("open.test", "secure.test")
        self.assert421(r)
        self.assertEqual(self.be.count(), 0, "the backend must not see a misdirected request")

    def test_secure_sni_open_host_is_421(self):
        cert = self.pki.client("m1")
        self.assert421(self.send("secure.test", "open.test", cert=cert))
        self.assertEqual(self.be.count(), 0)

    def test_no_sni_secure_host_is_421(self):
        c = cgtest.connect_tls(self.gw.port, sni=None, verify=False)
        try:
            c.send(b"GET /echo/m HTTP/1.1\r\nHost: secure.test\r\n\r\n")
            r = c.read_response(timeout=10)
        finally:
            c.close()
        self.assert421(r)
        self.assertEqual(self.be.count(), 0)

    def test_host_normalisation_does_not_bypass(self):
        for host in ("SECURE.TEST", "secure.test:443", "Secure.Test:%d" % self.gw.port,
                     "secure.test."):
            with self.subTest(host=host):
                self.assert421(self.send("open.test", host))
        self.assertEqual(self.be.count(), 0)

    def test_same_settings_served(self):
        r = self.send("open.test", "open2.test")
        self.assertEqual(r.status, 200, r)
        r = self.send("secure.test", "secure2.test")
        self.assertEqual(r.status, 200, r)
        reqs = self.be.wait_requests(2)
        self.assertEqual(len(reqs), 2)
        self.assertEqual(reqs[0].target, "/base/m")

    def test_unknown_host_served_under_sni_settings(self):
        self.assertEqual(self.send("open.test", "unknown.test").status, 200)
        self.assertEqual(self.send("secure.test", "unknown.test").status, 200)
        self.assertEqual(self.be.count(), 2)

    def test_duplicate_host_headers_rejected(self):
        for hosts in (("open.test", "secure.test"), ("secure.test", "open.test")):
            with self.subTest(hosts=hosts):
                c = self.gw.tls(sni="open.test")
                c.send(("GET /echo/m HTTP/1.1\r\nHost: %s\r\nHost: %s\r\n\r\n" % hosts).encode())
                r = c.read_response(timeout=10)
                c.close()
                self.assertIn(r.status, (400, 421), r)
        self.assertEqual(self.be.count(), 0)

    def test_absolute_form_target_cannot_bypass_421(self):
        for target in ("https://secure.test/echo/m", "https://secure.test:%d/echo/m" % self.gw.port):
            with self.subTest(target=target):
                c = self.gw.tls(sni="open.test")
                c.send(("GET %s HTTP/1.1\r\nHost: open.test\r\n\r\n" % target).encode())
                r = c.read_response(timeout=10)
                c.close()
                self.assertIn(r.status, (400, 421), r)
        self.assertEqual(self.be.count(), 0)

    def test_checked_per_request_on_a_kept_alive_connection(self):
        c = self.gw.tls(sni="open.test")
        try:
            c.send(b"GET /echo/1 HTTP/1.1\r\nHost: open.test\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
            c.send(b"GET /echo/2 HTTP/1.1\r\nHost: secure.test\r\n\r\n")
            r = c.read_response()
        finally:
            c.close()
        self.assert421(r)
        self.assertEqual([q.target for q in self.be.requests], ["/base/1"])

    def test_matching_host_with_port_served(self):
        r = self.send("secure.test", "secure.test:%d" % self.gw.port)
        self.assertEqual(r.status, 200, r)

    def test_421_via_curl(self):
        r = self.gw.curl("/echo/m", host="open.test", headers=["Host: secure.test"])
        self.assertEqual(r.status, 421, r)
        self.assertApimError(421, r.body, r.headers)


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
