"""APIM policies end to end: the four policies of APIM's client-certificate
guide, verbatim, stored with the CLI and run by the real gateway against
real client certificates; hot apply of policy changes; on-error; request
and response edits seen by the backend and the client."""

import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

EXPECTED_FAILURES = set()

GUIDE = [
    '@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)',
    '@(context.Request.Certificate == null || context.Request.Certificate.Issuer != "{issuer}" || '
    'context.Request.Certificate.SubjectName.Name != "{subject}")',
    '@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != "{thumb}")',
    '@(context.Request.Certificate == null || !context.Deployment.Certificates.Any('
    'c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint))',
]


def guide_policy(cond):
    # Exactly the guide's shape, in rawxml: raw quotes inside the attribute.
    return ('<policies>\n  <inbound>\n    <base />\n    <choose>\n'
            '      <when condition="%s">\n        <return-response>\n'
            '          <set-status code="403" reason="Invalid client certificate" />\n'
            '        </return-response>\n      </when>\n    </choose>\n  </inbound>\n'
            '  <backend><base /></backend>\n  <outbound><base /></outbound>\n'
            '  <on-error><base /></on-error>\n</policies>\n' % cond)


def dotnet_name(pem, which):
    """The .NET form of a certificate's subject or issuer for our simple test
    names: RFC 2253 order (most specific first) with ", " separators."""
    out = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-" + which, "-nameopt",
                          "RFC2253"], stdout=subprocess.PIPE, check=True).stdout.decode()
    name = out.split("=", 1)[1].strip()
    return ", ".join(name.split(","))


def reason_of(res):
    """The reason phrase of curl's final status line."""
    heads = [b for b in res.heads.split("\r\n\r\n") if b.strip()]
    line = heads[-1].split("\r\n", 1)[0] if heads else ""
    parts = line.split(" ", 2)
    return parts[2] if len(parts) > 2 else ""


class GuidePolicies(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.valid = cls.pki.client("alice")
        cls.other = cls.pki.client("bob")
        cls.expired = cls.pki.client("carol", kind="expired")
        cls.selfsigned = cls.pki.client("mallory", kind="selfsigned")
        apis = [{"id": "g%d" % i, "path": "g%d" % i, "backend": cls.b.url("/b%d" % i)}
                for i in range(1, 5)]
        apis.append({"id": "open", "path": "open", "backend": cls.b.url("/open")})
        cls.gw = cls.gateway(
            hosts=[{"name": "secure.test", "negotiate": True, "default": True},
                   {"name": "plain.test"}],
            apis=apis)
        fill = {"issuer": dotnet_name(cls.valid.leaf, "issuer"),
                "subject": dotnet_name(cls.valid.leaf, "subject"),
                "thumb": cls.valid.thumbprint}
        for i, cond in enumerate(GUIDE, 1):
            cls.set_policy(guide_policy(cond.format(**fill)), "--api", "g%d" % i)
        cls.gw_wait_applied()

    @classmethod
    def set_policy(cls, text, *scope, check=True):
        return cls.gw.set_policy(text, *scope, check=check)

    @classmethod
    def gw_wait_applied(cls):
        # The gateway polls the store every 250 ms: let a change land.
        time.sleep(1.0)

    def call(self, path, who=None, host="secure.test"):
        kw = {}
        if who is not None:
            kw = {"cert": who.cert, "key": who.key}
        return self.gw.curl(path, host=host, **kw)

    def assert_denied(self, res):
        self.assertEqual(res.status, 403, res)
        self.assertEqual(reason_of(res), "Invalid client certificate")

    def test_1_not_after(self):
        self.assertEqual(self.call("/g1/x", self.valid).status, 200)
        self.assert_denied(self.call("/g1/x"))
        self.assert_denied(self.call("/g1/x", self.expired))
        # a certificate from any CA passes this check: it only reads the date
        self.assertEqual(self.call("/g1/x", self.selfsigned).status, 200)

    def test_2_issuer_and_subject(self):
        self.assertEqual(self.call("/g2/x", self.valid).status, 200)
        self.assert_denied(self.call("/g2/x", self.other))  # same issuer, other subject
        self.assert_denied(self.call("/g2/x", self.selfsigned))
        self.assert_denied(self.call("/g2/x"))

    def test_2_published_variant_compares_subject_name_by_name_and_warns(self):
        # The guide's published variant compares SubjectName (an
        # X500DistinguishedName) with a string: compared by its Name, with a
        # warning when the policy is stored.
        cond = ('@(context.Request.Certificate == null || context.Request.Certificate.Issuer != "%s" || '
                'context.Request.Certificate.SubjectName != "%s")'
                % (dotnet_name(self.valid.leaf, "issuer"), dotnet_name(self.valid.leaf, "subject")))
        cp = self.set_policy(guide_policy(cond), "--api", "open")
        try:
            self.assertIn("warning: X500DistinguishedName compared with a string", cp.stderr.decode())
            self.gw_wait_applied()
            self.assertEqual(self.call("/open/x", self.valid).status, 200)
            self.assert_denied(self.call("/open/x", self.other))
        finally:
            self.gw.cli("policy", "rm", "--api", "open")
            self.gw_wait_applied()

    def test_3_thumbprint(self):
        self.b.reset()
        res = self.call("/g3/x?q=1", self.valid)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(self.b.last().target, "/b3/x?q=1")
        self.assert_denied(self.call("/g3/x", self.other))
        self.assert_denied(self.call("/g3/x"))

    def test_3_thumbprint_is_ordinal(self):
        # APIM compares Thumbprint with == (ordinal): a lowercase literal
        # never matches the uppercase thumbprint.
        self.set_policy(guide_policy(GUIDE[2].format(thumb=self.valid.thumbprint.lower())),
                        "--api", "open")
        self.gw_wait_applied()
        try:
            self.assert_denied(self.call("/open/x", self.valid))
        finally:
            self.gw.cli("policy", "rm", "--api", "open")
            self.gw_wait_applied()
        self.assertEqual(self.call("/open/x").status, 200)

    def test_4_uploaded_certificates(self):
        self.assert_denied(self.call("/g4/x", self.valid))
        self.gw.cli("cert", "add", "alice", self.valid.leaf)
        try:
            deadline = time.monotonic() + 1.5
            while self.call("/g4/x", self.valid).status != 200:
                self.assertLess(time.monotonic(), deadline, "upload not applied within ~1 s")
                time.sleep(0.1)
            self.assert_denied(self.call("/g4/x", self.other))
        finally:
            self.gw.cli("cert", "rm", "alice")
        deadline = time.monotonic() + 1.5
        while self.call("/g4/x", self.valid).status != 403:
            self.assertLess(time.monotonic(), deadline, "removal not applied within ~1 s")
            time.sleep(0.1)
        self.assert_denied(self.call("/g4/x", self.valid))

    def test_hostname_without_negotiation_sees_no_certificate(self):
        # plain.test does not negotiate client certificates: Certificate is
        # null even though curl has one to offer, so guide policy 1 denies.
        self.assert_denied(self.call("/g1/x", self.valid, host="plain.test"))

    def test_invalid_policy_refused_and_running_one_kept(self):
        bad = guide_policy('@(context.Request.Certificate.NoSuchMember == null)')
        cp = self.set_policy(bad, "--api", "g3", check=False)
        self.assertNotEqual(cp.returncode, 0)
        err = cp.stderr.decode()
        self.assertIn("NoSuchMember", err)
        self.assertRegex(err, r"\d+:\d+")
        self.gw_wait_applied()
        self.assertEqual(self.call("/g3/x", self.valid).status, 200)
        self.assert_denied(self.call("/g3/x", self.other))


class PolicyBehaviour(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True}],
            apis=[{"id": "edit", "path": "edit", "backend": cls.b.url("/e")},
                  {"id": "fail", "path": "fail", "backend": cls.b.url("/f")},
                  {"id": "mock", "path": "mock", "backend": cls.b.url("/m")},
                  {"id": "down", "path": "down", "backend": "http://127.0.0.1:%d" %
                   cgtest.free_port()}])
        GuidePolicies.set_policy.__func__(cls, """<policies>
  <inbound>
    <base />
    <set-header name="X-From-Policy" exists-action="override">
      <value>@(context.Request.Method + " " + context.Api.Id)</value>
    </set-header>
    <set-header name="X-Remove-Me" exists-action="delete" />
    <rewrite-uri template="/rewritten" />
  </inbound>
  <backend><base /></backend>
  <outbound>
    <base />
    <set-header name="X-Out" exists-action="override"><value>@(context.Response.StatusCode.ToString())</value></set-header>
  </outbound>
  <on-error><base /></on-error>
</policies>""", "--api", "edit")
        GuidePolicies.set_policy.__func__(cls, """<policies>
  <inbound><base /><set-variable name="x" value="@(context.Request.Certificate.Thumbprint)" /></inbound>
  <backend><base /></backend><outbound><base /></outbound>
  <on-error>
    <set-header name="X-Error" exists-action="override">
      <value>@(context.LastError.Source + "|" + context.LastError.Reason + "|" + context.LastError.Section)</value>
    </set-header>
  </on-error>
</policies>""", "--api", "fail")
        GuidePolicies.set_policy.__func__(cls, """<policies>
  <inbound><base /><return-response><set-status code="418" reason="Teapot" />
    <set-header name="Content-Type" exists-action="override"><value>text/plain</value></set-header>
    <set-body>@("hello " + context.Request.Headers.GetValueOrDefault("X-Name", "nobody"))</set-body>
  </return-response></inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>""", "--api", "mock")
        GuidePolicies.set_policy.__func__(cls, """<policies>
  <inbound><base /></inbound><backend><base /></backend><outbound><base /></outbound>
  <on-error><set-header name="X-LastError" exists-action="override"><value>@(context.LastError.Reason)</value></set-header></on-error>
</policies>""", "--api", "down")
        time.sleep(1.0)

    def test_request_and_response_edits(self):
        self.b.reset()
        res = self.gw.curl("/edit/orig?k=v", host="open.test",
                           headers=["X-Remove-Me: 1", "X-Keep: 2"])
        self.assertEqual(res.status, 200, res)
        req = self.b.last()
        self.assertEqual(req.target, "/e/rewritten?k=v")
        self.assertEqual(req.headers.get("X-From-Policy"), "GET edit")
        self.assertIsNone(req.headers.get("X-Remove-Me"))
        self.assertEqual(req.headers.get("X-Keep"), "2")
        self.assertEqual(res.headers.get("X-Out"), "200")

    def test_expression_failure_goes_to_on_error(self):
        self.b.reset()
        res = self.gw.curl("/fail/x", host="open.test")
        self.assertEqual(res.status, 500, res)
        self.assertApimError(500, res.body, res.headers)
        self.assertEqual(res.headers.get("X-Error"),
                         "set-variable|ExpressionValueEvaluationFailure|inbound")
        self.assertEqual(self.b.count(), 0)

    def test_return_response_with_body(self):
        self.b.reset()
        res = self.gw.curl("/mock/x", host="open.test", headers=["X-Name: ada"])
        self.assertEqual(res.status, 418, res)
        self.assertEqual(reason_of(res), "Teapot")
        self.assertEqual(res.body, b"hello ada")
        self.assertEqual(res.headers.get("Content-Type"), "text/plain")
        self.assertEqual(self.b.count(), 0)

    def test_backend_failure_goes_to_on_error(self):
        res = self.gw.curl("/down/x", host="open.test")
        self.assertEqual(res.status, 502, res)
        self.assertApimError(502, res.body, res.headers)
        self.assertEqual(res.headers.get("X-LastError"), "BackendConnectionFailure")


class ValidateClientCertificate(cgtest.GatewayTestCase):
    """validate-client-certificate: identities (OR across, AND within),
    case-insensitive thumbprints, DN subjects, dates, the reason in
    LastError, 401 by default (docs/client-certificates.md)."""

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.alice = cls.pki.client("alice")
        cls.bob = cls.pki.client("bob")
        cls.carol = cls.pki.client("carol", kind="expired")
        cls.mallory = cls.pki.client("mallory", kind="selfsigned")
        cls.gw = cls.gateway(
            hosts=[{"name": "secure.test", "negotiate": True, "default": True}],
            apis=[{"id": "ids", "path": "ids", "backend": cls.b.url("/i")},
                  {"id": "trust", "path": "trust", "backend": cls.b.url("/t")}])
        on_error = ('<on-error><set-header name="X-Reason" exists-action="override">'
                    '<value>@(context.LastError.Source + "|" + context.LastError.Reason)</value>'
                    '</set-header></on-error>')
        GuidePolicies.set_policy.__func__(cls, """<policies><inbound><base />
  <validate-client-certificate validate-revocation="false" validate-trust="false"
      validate-not-before="true" validate-not-after="true" ignore-error="false">
    <identities>
      <identity thumbprint="%s" />
      <identity subject="CN=bob, O=certgate tests" issuer-subject="%s" />
    </identities>
  </validate-client-certificate>
</inbound><backend><base /></backend><outbound><base /></outbound>%s</policies>""" % (
            cls.alice.thumbprint.lower(), dotnet_name(cls.bob.leaf, "issuer"), on_error),
            "--api", "ids")
        cls.gw.cli("api", "set", "trust-norev", "--path", "trust-norev", "--backend",
                   cls.b.url("/n"))
        cls.gw.cli("api", "set", "verify", "--path", "verify", "--backend", cls.b.url("/v"))
        GuidePolicies.set_policy.__func__(cls, """<policies><inbound><base />
  <validate-client-certificate validate-revocation="false" />
</inbound><backend><base /></backend><outbound><base /></outbound>%s</policies>""" % on_error,
            "--api", "trust-norev")
        GuidePolicies.set_policy.__func__(cls, """<policies><inbound><base />
  <set-header name="X-Verify" exists-action="override"><value>@(context.Request.Certificate == null ? "none" : context.Request.Certificate.VerifyNoRevocation().ToString() + "/" + context.Request.Certificate.Verify().ToString())</value></set-header>
</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>""",
            "--api", "verify")
        GuidePolicies.set_policy.__func__(cls, """<policies><inbound><base />
  <validate-client-certificate />
</inbound><backend><base /></backend><outbound><base /></outbound>%s</policies>""" % on_error,
            "--api", "trust")
        time.sleep(1.0)

    def call(self, path, who=None):
        kw = {"cert": who.cert, "key": who.key} if who else {}
        return self.gw.curl(path, host="secure.test", **kw)

    def assert_refused(self, res, reason):
        self.assertEqual(res.status, 401, res)
        self.assertApimError(401, res.body, res.headers)
        self.assertEqual(res.headers.get("X-Reason"), "validate-client-certificate|" + reason)

    def test_identities(self):
        self.assertEqual(self.call("/ids/x", self.alice).status, 200)  # lowercase thumbprint claim
        self.assertEqual(self.call("/ids/x", self.bob).status, 200)    # subject + issuer-subject
        self.assert_refused(self.call("/ids/x", self.mallory), "ClientCertificateIdentityMismatch")
        self.assert_refused(self.call("/ids/x"), "ClientCertificateMissing")
        self.assert_refused(self.call("/ids/x", self.carol), "ClientCertificateExpired")

    def test_trust_without_uploaded_ca_fails(self):
        # validate-trust defaults to true: with no CA certificate uploaded,
        # no chain can be trusted.
        self.assert_refused(self.call("/trust/x", self.alice), "ClientCertificateUntrusted")
        self.assert_refused(self.call("/trust-norev/x", self.alice), "ClientCertificateUntrusted")
        self.b.reset()
        self.assertEqual(self.call("/verify/x", self.alice).status, 200)
        self.assertEqual(self.b.last().headers.get("X-Verify"), "False/False")

    def test_trust_with_uploaded_cas(self):
        _, out = self.gw.s_client(sni="secure.test", args=["-tls1_3"], input=b"")
        self.assertIn("No client certificate CA names sent", out)
        self.gw.cli("ca", "add", "test-root", self.pki.root_pem)
        self.gw.cli("ca", "add", "test-inter", self.pki.inter.leaf, "--intermediate")
        try:
            time.sleep(1.0)
            # The CertificateRequest now names the uploaded CAs.
            _, out = self.gw.s_client(sni="secure.test", args=["-tls1_3"], input=b"")
            self.assertIn("Acceptable client certificate CA names", out)
            self.assertIn("certgate test root CA", out)
            self.assertIn("certgate test intermediate CA", out)
            self.assertEqual(self.call("/trust-norev/x", self.alice).status, 200)
            self.assert_refused(self.call("/trust-norev/x", self.mallory),
                                "ClientCertificateUntrusted")
            self.assert_refused(self.call("/trust-norev/x", self.carol), "ClientCertificateExpired")
            # Revocation checking on (the default) with no CRL for the
            # issuer: unknown status fails closed.
            self.assert_refused(self.call("/trust/x", self.alice),
                                "ClientCertificateRevocationUnknown")
            self.b.reset()
            self.assertEqual(self.call("/verify/x", self.alice).status, 200)
            self.assertEqual(self.b.last().headers.get("X-Verify"), "True/False")
            self.assertEqual(self.call("/verify/x", self.mallory).status, 200)
            self.assertEqual(self.b.last().headers.get("X-Verify"), "False/False")
        finally:
            self.gw.cli("ca", "rm", "test-inter")
            self.gw.cli("ca", "rm", "test-root")
            time.sleep(1.0)


class UploadedCrl(cgtest.GatewayTestCase):
    """validate-client-certificate with revocation checking against CRLs
    uploaded with `certgate crl add`: a revoked certificate is refused with
    ClientCertificateRevoked, a good one admitted; a CRL whose issuer is not
    an uploaded CA is refused by the store."""

    @classmethod
    def setup_gateways(cls):
        import datetime
        cls.b = cls.backend()
        cls.alice = cls.pki.client("alice")
        pki = cls.pki
        now = datetime.datetime.utcnow()
        start = (now - datetime.timedelta(days=1)).strftime("%Y%m%d%H%M%SZ")
        end = (now + datetime.timedelta(days=30)).strftime("%Y%m%d%H%M%SZ")
        ext = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature",
               "extendedKeyUsage=clientAuth"]
        key, leaf = pki._ca_sign_dates("rev-client", "/CN=revoked-client", ext, start, end, False)
        cls.revoked = pki._with_chain("rev-client", leaf, key, pki.inter)
        cnf = os.path.join(pki._p("ca-db"), "ca.cnf")
        cgtest.run(["openssl", "ca", "-batch", "-config", cnf, "-cert", pki.inter.leaf, "-keyfile",
                    pki.inter.key, "-revoke", leaf])
        cls.inter_crl = os.path.join(cls.tmp, "inter.crl.pem")
        cgtest.run(["openssl", "ca", "-batch", "-config", cnf, "-cert", pki.inter.leaf, "-keyfile",
                    pki.inter.key, "-gencrl", "-crldays", "7", "-out", cls.inter_crl])
        # The root's (empty) CRL: the intermediate's own status is checked too.
        rootdb = os.path.join(cls.tmp, "root-db")
        os.makedirs(rootdb, exist_ok=True)
        open(os.path.join(rootdb, "index.txt"), "w").close()
        rcnf = os.path.join(rootdb, "ca.cnf")
        with open(rcnf, "w") as f:
            f.write("[ca]\ndefault_ca=d\n[d]\ndatabase=%s\ndefault_md=sha256\n"
                    % os.path.join(rootdb, "index.txt"))
        cls.root_crl = os.path.join(cls.tmp, "root.crl.pem")
        cgtest.run(["openssl", "ca", "-batch", "-config", rcnf, "-cert", pki.root.leaf, "-keyfile",
                    pki.root.key, "-gencrl", "-crldays", "7", "-out", cls.root_crl])
        cls.gw = cls.gateway(
            hosts=[{"name": "secure.test", "negotiate": True, "default": True}],
            apis=[{"id": "rev", "path": "rev", "backend": cls.b.url("/r")}])
        cls.gw.cli("ca", "add", "test-root", pki.root_pem)
        cls.gw.cli("ca", "add", "test-inter", pki.inter.leaf, "--intermediate")
        cls.gw.cli("crl", "add", "inter-crl", cls.inter_crl)
        cls.gw.cli("crl", "add", "root-crl", cls.root_crl)
        GuidePolicies.set_policy.__func__(cls, """<policies><inbound><base />
  <validate-client-certificate validate-revocation="true" validate-trust="true" />
</inbound><backend><base /></backend><outbound><base /></outbound>
<on-error><set-header name="X-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header></on-error></policies>""",
            "--api", "rev")
        time.sleep(1.0)

    def test_revoked_refused_good_admitted(self):
        r = self.gw.curl("/rev/x", host="secure.test", cert=self.alice.cert, key=self.alice.key)
        self.assertEqual(r.status, 200, (r, self.gw.stderr()[-2000:]))
        r = self.gw.curl("/rev/x", host="secure.test", cert=self.revoked.cert, key=self.revoked.key)
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.headers.get("X-Reason"), "ClientCertificateRevoked")

    def test_crl_from_an_unknown_issuer_is_refused(self):
        other = os.path.join(self.tmp, "other-db")
        os.makedirs(other, exist_ok=True)
        open(os.path.join(other, "index.txt"), "w").close()
        cnf = os.path.join(other, "ca.cnf")
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca=d\n[d]\ndatabase=%s\ndefault_md=sha256\n"
                    % os.path.join(other, "index.txt"))
        stranger = self.pki.client("s", kind="selfsigned")
        crl = os.path.join(self.tmp, "stranger.crl.pem")
        cgtest.run(["openssl", "ca", "-batch", "-config", cnf, "-cert", stranger.leaf, "-keyfile",
                    stranger.key, "-gencrl", "-crldays", "7", "-out", crl])
        before = self.gw.cli("crl", "list", "--json").stdout
        cp = self.gw.cli("crl", "add", "stranger", crl, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("the CRL cannot be used", cp.stderr.decode())
        self.assertEqual(self.gw.cli("crl", "list", "--json").stdout, before)
        cp = self.gw.cli("crl", "add", "garbage", self.alice.leaf, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("not a certificate revocation list", cp.stderr.decode())


class FetchedCrl(cgtest.GatewayTestCase):
    """CRLs fetched from the certificates' distribution points (a local HTTP
    server): the first request for an issuer fails closed while the fetch
    runs in the background; then good certificates pass and revoked ones are
    refused, and the CRL is fetched once, not per request."""

    @classmethod
    def setup_gateways(cls):
        import datetime
        import functools
        import http.server
        import threading
        pki = cls.pki
        cls.www = os.path.join(cls.tmp, "www")
        os.makedirs(cls.www, exist_ok=True)
        cls.hits = []

        class H(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *a):
                cls.hits.append(self.path)
        cls.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(H, directory=cls.www))
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
        cdp = "crlDistributionPoints=URI:http://127.0.0.1:%d/inter.crl" % cls.httpd.server_address[1]
        now = datetime.datetime.utcnow()
        start = (now - datetime.timedelta(days=1)).strftime("%Y%m%d%H%M%SZ")
        end = (now + datetime.timedelta(days=30)).strftime("%Y%m%d%H%M%SZ")
        ext = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature",
               "extendedKeyUsage=clientAuth", cdp]
        k1, l1 = pki._ca_sign_dates("cdp-good", "/CN=cdp-good", ext, start, end, False)
        k2, l2 = pki._ca_sign_dates("cdp-revoked", "/CN=cdp-revoked", ext, start, end, False)
        cls.good = pki._with_chain("cdp-good", l1, k1, pki.inter)
        cls.revoked = pki._with_chain("cdp-revoked", l2, k2, pki.inter)
        cnf = os.path.join(pki._p("ca-db"), "ca.cnf")
        cgtest.run(["openssl", "ca", "-batch", "-config", cnf, "-cert", pki.inter.leaf, "-keyfile",
                    pki.inter.key, "-revoke", l2])
        pem = os.path.join(cls.tmp, "inter-fetch.crl.pem")
        cgtest.run(["openssl", "ca", "-batch", "-config", cnf, "-cert", pki.inter.leaf, "-keyfile",
                    pki.inter.key, "-gencrl", "-crldays", "7", "-out", pem])
        cgtest.run(["openssl", "crl", "-in", pem, "-outform", "DER", "-out",
                    os.path.join(cls.www, "inter.crl")])
        rootdb = os.path.join(cls.tmp, "root-db2")
        os.makedirs(rootdb, exist_ok=True)
        open(os.path.join(rootdb, "index.txt"), "w").close()
        rcnf = os.path.join(rootdb, "ca.cnf")
        with open(rcnf, "w") as f:
            f.write("[ca]\ndefault_ca=d\n[d]\ndatabase=%s\ndefault_md=sha256\n"
                    % os.path.join(rootdb, "index.txt"))
        root_crl = os.path.join(cls.tmp, "root2.crl.pem")
        cgtest.run(["openssl", "ca", "-batch", "-config", rcnf, "-cert", pki.root.leaf, "-keyfile",
                    pki.root.key, "-gencrl", "-crldays", "7", "-out", root_crl])
        cls.b = cls.backend()
        cls.gw = cls.gateway(
            hosts=[{"name": "secure.test", "negotiate": True, "default": True}],
            apis=[{"id": "f", "path": "f", "backend": cls.b.url("/f")}])
        cls.gw.cli("ca", "add", "test-root", pki.root_pem)
        cls.gw.cli("ca", "add", "test-inter", pki.inter.leaf, "--intermediate")
        cls.gw.cli("crl", "add", "root-crl", root_crl)  # the intermediate's own status
        GuidePolicies.set_policy.__func__(cls, """<policies><inbound><base />
  <validate-client-certificate />
</inbound><backend><base /></backend><outbound><base /></outbound>
<on-error><set-header name="X-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header></on-error></policies>""",
            "--api", "f")
        time.sleep(1.0)

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        super().tearDownClass()

    def call(self, who):
        return self.gw.curl("/f/x", host="secure.test", cert=who.cert, key=who.key)

    def test_fetched_crl(self):
        deadline = time.monotonic() + 5
        while True:
            r = self.call(self.good)
            if r.status == 200:
                break
            # until the first fetch lands: unknown status, failing closed
            self.assertEqual(r.headers.get("X-Reason"), "ClientCertificateRevocationUnknown", r)
            self.assertLess(time.monotonic(), deadline, "the CRL was never fetched")
            time.sleep(0.2)
        r = self.call(self.revoked)
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.headers.get("X-Reason"), "ClientCertificateRevoked")
        for _ in range(5):
            self.assertEqual(self.call(self.good).status, 200)
        self.assertEqual(self.hits.count("/inter.crl"), 1, self.hits)


class Bodies(cgtest.GatewayTestCase):
    """context.Request.Body / context.Response.Body: the body is buffered
    (bounded by --max-buffered-body) when a policy reads it, and forwarded
    or returned intact unless a policy replaces it."""

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True}],
            apis=[{"id": "req", "path": "req", "backend": cls.b.url("/r")},
                  {"id": "resp", "path": "resp", "backend": cls.b.url("/s")},
                  {"id": "json", "path": "json", "backend": cls.b.url("/j")}],
            serve_args=["--max-buffered-body", "65536"])
        GuidePolicies.set_policy.__func__(cls, """<policies><inbound><base />
  <set-header name="X-Body-Length" exists-action="override"><value>@(context.Request.Body.As<string>(preserveContent: true).Length.ToString())</value></set-header>
  <choose><when condition="@(context.Request.Body.As<string>(preserveContent: true).Contains("forbidden"))">
    <return-response><set-status code="400" reason="Bad body" /></return-response></when></choose>
</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>""",
            "--api", "req")
        GuidePolicies.set_policy.__func__(cls, """<policies><inbound><base /></inbound><backend><base /></backend>
<outbound><base />
  <set-header name="X-Resp-Has-Echo" exists-action="override"><value>@(context.Response.Body.As<string>(preserveContent: true).Contains("method").ToString())</value></set-header>
</outbound><on-error><base /></on-error></policies>""", "--api", "resp")
        GuidePolicies.set_policy.__func__(cls, """<policies><inbound><base /></inbound><backend><base /></backend>
<outbound><base />
  <set-body>@{ var body = context.Response.Body.As<string>(); return "wrapped:" + body.Length; }</set-body>
</outbound><on-error><base /></on-error></policies>""", "--api", "json")
        time.sleep(1.0)

    def test_request_body_read_and_forwarded(self):
        self.b.reset()
        body = b"hello " * 1000
        r = self.gw.curl("/req/x", host="open.test", data=body)
        self.assertEqual(r.status, 200, r)
        got = self.b.last()
        self.assertEqual(got.body, body)
        self.assertEqual(got.headers.get("X-Body-Length"), str(len(body)))
        # chunked from the client: forwarded with a Content-Length
        self.b.reset()
        r = self.gw.curl("/req/x", host="open.test", data=body, headers=["Transfer-Encoding: chunked"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.b.last().body, body)
        self.assertEqual(self.b.last().headers.get("Content-Length"), str(len(body)))

    def test_request_body_decides(self):
        self.b.reset()
        r = self.gw.curl("/req/x", host="open.test", data=b"this is forbidden")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(self.b.count(), 0)

    def test_request_body_over_the_buffer_limit(self):
        r = self.gw.curl("/req/x", host="open.test", data=b"x" * 70000)
        self.assertEqual(r.status, 413, r)

    def test_response_body_read(self):
        r = self.gw.curl("/resp/x", host="open.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("X-Resp-Has-Echo"), "True")
        self.assertIn(b"method", r.body)

    def test_response_body_replaced(self):
        r = self.gw.curl("/json/x", host="open.test")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body.startswith(b"wrapped:"), r.body)
        self.assertGreater(int(r.body.split(b":")[1]), 10)


class ForwardClientCertificate(cgtest.GatewayTestCase):
    """certgate's forward-client-certificate policy: RFC 9440 Client-Cert /
    Client-Cert-Chain or Envoy's X-Forwarded-Client-Cert, built from the
    handshake; what the client sends under those names never passes."""

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.alice = cls.pki.client("alice")
        cls.gw = cls.gateway(
            hosts=[{"name": "secure.test", "negotiate": True, "default": True}],
            apis=[{"id": "rfc", "path": "rfc", "backend": cls.b.url("/r")},
                  {"id": "xfcc", "path": "xfcc", "backend": cls.b.url("/x")}])
        for api, fmt in (("rfc", "rfc9440"), ("xfcc", "xfcc")):
            GuidePolicies.set_policy.__func__(cls, """<policies><inbound><base />
  <forward-client-certificate format="%s" />
</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>""" % fmt,
                "--api", api)
        time.sleep(1.0)

    def test_rfc9440(self):
        import base64
        self.b.reset()
        r = self.gw.curl("/rfc/x", host="secure.test", cert=self.alice.cert, key=self.alice.key,
                         headers=["Client-Cert: :Zm9yZ2Vk:", "Client-Cert-Chain: :Zm9yZ2Vk:"])
        self.assertEqual(r.status, 200, r)
        h = self.b.last().headers
        self.assertEqual(h.get_all("Client-Cert"), [":%s:" % base64.b64encode(self.alice.der).decode()])
        inter = cgtest.der_of_pem(self.pki.inter.leaf)
        self.assertEqual(h.get_all("Client-Cert-Chain"), [":%s:" % base64.b64encode(inter).decode()])
        # no certificate: nothing forwarded, and the forged headers are gone
        self.b.reset()
        r = self.gw.curl("/rfc/x", host="secure.test", headers=["Client-Cert: :Zm9yZ2Vk:"])
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(self.b.last().headers.get("Client-Cert"))

    def test_xfcc(self):
        import hashlib
        self.b.reset()
        r = self.gw.curl("/xfcc/x", host="secure.test", cert=self.alice.cert, key=self.alice.key,
                         headers=["X-Forwarded-Client-Cert: Hash=forged"])
        self.assertEqual(r.status, 200, r)
        xfcc = self.b.last().headers.get_all("X-Forwarded-Client-Cert")
        self.assertEqual(len(xfcc), 1, xfcc)
        self.assertTrue(xfcc[0].startswith("Hash=%s;Subject=\"" % hashlib.sha256(self.alice.der).hexdigest()),
                        xfcc[0])
        self.assertIn("CN=alice", xfcc[0])


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
