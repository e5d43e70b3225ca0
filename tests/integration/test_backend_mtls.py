"""Backends with a client certificate (mTLS to the backend) and the backend
entity's TLS settings: a backend entity whose URL is an API's serviceUrl is
applied by itself (APIM), set-backend-service backend-id selects one, and
authentication-certificate presents an uploaded certificate. The backend is
a real TLS server that requires a client certificate from our test CA."""

import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

EXPECTED_FAILURES = set()


def make_pfx(cf, path, password=""):
    subprocess.run(["openssl", "pkcs12", "-export", "-in", cf.leaf, "-inkey", cf.key,
                    "-out", path, "-passout", "pass:" + password], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class BackendMtls(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        srv = cls.pki.server("backend.test", ips=["127.0.0.1"])
        cls.mtls_be = cls.tls_backend(srv.cert, srv.key, require_client_cert_ca=cls.pki.root_pem)
        self_signed = cls.pki.client("selfsigned-backend", kind="selfsigned")
        cls.selfsigned_be = cls.tls_backend(self_signed.leaf, self_signed.key)
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True}],
            apis=[{"id": "auto", "path": "auto", "backend": cls.mtls_be.url("/a")},
                  {"id": "bypolicy", "path": "bypolicy", "backend": cls.mtls_be.url("/p")},
                  {"id": "byid", "path": "byid", "backend": "http://127.0.0.1:9"},
                  {"id": "nocert", "path": "nocert", "backend": cls.mtls_be.url("/n")},
                  {"id": "lax", "path": "lax", "backend": cls.selfsigned_be.url("/l")},
                  {"id": "strict", "path": "strict", "backend": cls.selfsigned_be.url("/s")},
                  {"id": "bybody", "path": "bybody", "backend": cls.mtls_be.url("/b")}],
            # The "system" CA store is the test root (OpenSSL's default paths).
            env={"SSL_CERT_FILE": cls.pki.root_pem})
        cls.client = cls.pki.client("gateway-client")
        pfx = os.path.join(cls.tmp, "gw-client.pfx")
        make_pfx(cls.client, pfx, "s3cret")
        pw = os.path.join(cls.tmp, "pw.txt")
        with open(pw, "w") as f:
            f.write("s3cret")
        cls.gw.cli("cert", "add", "gw-client", pfx, "--password-file", pw)
        # The intermediate lets the gateway send the client certificate's chain.
        cls.gw.cli("ca", "add", "test-root", cls.pki.root_pem)
        cls.gw.cli("ca", "add", "test-inter", cls.pki.inter.leaf, "--intermediate")
        # A backend entity on the URL of API "auto": applied without policy.
        cls.gw.cli("backend", "set", "mtls-auto", "--url", cls.mtls_be.url("/a"),
                   "--client-cert", "gw-client")
        cls.gw.cli("backend", "set", "mtls-byid", "--url", cls.mtls_be.url("/i"),
                   "--client-cert", "gw-client")
        cls.gw.cli("backend", "set", "lax", "--url", cls.selfsigned_be.url("/l"),
                   "--no-validate-chain", "--no-validate-name")
        cls.policy("bypolicy", '<authentication-certificate certificate-id="gw-client" />')
        cls.policy("byid", '<set-backend-service backend-id="mtls-byid" />')
        # A PFX carried in a (secret) named value, chain included.
        import base64
        pfx2 = os.path.join(cls.tmp, "body.pfx")
        subprocess.run(["openssl", "pkcs12", "-export", "-in", cls.client.leaf, "-inkey", cls.client.key,
                        "-certfile", cls.pki.inter.leaf, "-out", pfx2, "-passout", "pass:pw2"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(pfx2, "rb") as f:
            cls.gw.cli("nv", "set", "client-pfx", base64.b64encode(f.read()).decode(), "--secret")
        cls.gw.cli("nv", "set", "client-pfx-pw", "pw2", "--secret")
        cls.policy("bybody", '<authentication-certificate body="@(Convert.FromBase64String(&quot;{{client-pfx}}&quot;))" '
                   'password="{{client-pfx-pw}}" />'.replace("&quot;", '"'))
        time.sleep(1.0)

    @classmethod
    def policy(cls, api, inbound):
        cls.gw.set_policy("<policies><inbound><base />%s</inbound><backend><base /></backend>"
                          "<outbound><base /></outbound><on-error><base /></on-error></policies>" % inbound,
                          "--api", api)

    def test_backend_entity_applied_to_matching_service_url(self):
        self.mtls_be.reset()
        r = self.gw.curl("/auto/x?q=1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.mtls_be.last().target, "/a/x?q=1")

    def test_authentication_certificate_policy(self):
        self.mtls_be.reset()
        r = self.gw.curl("/bypolicy/y")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.mtls_be.last().target, "/p/y")

    def test_authentication_certificate_body_and_password(self):
        for _ in range(3):  # the second and third use the worker's cached context
            self.mtls_be.reset()
            r = self.gw.curl("/bybody/q")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(self.mtls_be.last().target, "/b/q")

    def test_set_backend_service_backend_id(self):
        self.mtls_be.reset()
        r = self.gw.curl("/byid/z")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.mtls_be.last().target, "/i/z")

    def test_without_client_certificate_the_backend_refuses(self):
        before = self.mtls_be.count()
        r = self.gw.curl("/nocert/x")
        self.assertEqual(r.status, 502, r)
        self.assertApimError(502, r.body, r.headers)
        self.assertEqual(self.mtls_be.count(), before)

    def test_validation_settings_of_the_backend_entity(self):
        # Same self-signed backend: refused by default, accepted through the
        # entity that turns chain and name validation off.
        self.assertEqual(self.gw.curl("/strict/x").status, 502)
        self.selfsigned_be.reset()
        r = self.gw.curl("/lax/x")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.selfsigned_be.last().target, "/l/x")

    def test_unknown_references_refused_at_store_or_load(self):
        # A policy naming a backend that does not exist never reaches the
        # gateway: refused when stored, or (if the store cannot tell) the
        # running configuration stays.
        fd, path = tempfile.mkstemp(dir=self.tmp, suffix=".xml")
        with os.fdopen(fd, "w") as f:
            f.write('<policies><inbound><set-backend-service backend-id="nope" /></inbound>'
                    '<backend><forward-request /></backend><outbound /><on-error /></policies>')
        cp = self.gw.cli("policy", "set", "--api", "byid", path, check=False)
        time.sleep(1.0)
        r = self.gw.curl("/byid/z")
        self.assertEqual(r.status, 200, (cp.returncode, cp.stderr, r))


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
