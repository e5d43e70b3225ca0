"""validate-jwt and authentication-basic end to end, with the real binary,
real TLS and curl: tokens signed per run (HS256 with a secret named value,
RS256 with an n/e key, ES256 with an uploaded certificate's key, all keys
made by the openssl CLI), a 200 with the Jwt variable reaching the backend,
and every failure reason's status, body and LastError through on-error;
a policy refused when stored leaves the running one in place."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

SECRET = os.urandom(32)

POLICY = """<policies><inbound><base />
  <validate-jwt header-name="Authorization" require-scheme="Bearer" output-token-variable-name="jwt">
    <issuer-signing-keys>
      <key id="hs">{{jwt-secret}}</key>
      <key id="rs" n="%(n)s" e="%(e)s" />
      <key id="es" certificate-id="jwt-signer" />
    </issuer-signing-keys>
    <audiences><audience>api://orders</audience><audience>@("api://" + "admin")</audience></audiences>
    <issuers><issuer>https://idp.test/</issuer></issuers>
    <required-claims>
      <claim name="roles" match="any"><value>reader</value><value>writer</value></claim>
      <claim name="scp" separator=" "><value>orders.read</value></claim>
    </required-claims>
  </validate-jwt>
  <set-header name="X-Jwt-Subject" exists-action="override">
    <value>@(((Jwt)context.Variables["jwt"]).Subject)</value>
  </set-header>
</inbound><backend><base /></backend><outbound><base /></outbound>
<on-error><base />
  <set-header name="X-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header>
  <set-header name="X-Source" exists-action="override"><value>@(context.LastError.Source)</value></set-header>
  <set-header name="X-Message" exists-action="override"><value>@(context.LastError.Message)</value></set-header>
</on-error></policies>"""

# Only an RSA key: an HS256 token "signed" with that key's public PEM must fail.
RSA_ONLY = """<policies><inbound><base />
  <validate-jwt header-name="Authorization" require-expiration-time="false">
    <issuer-signing-keys><key n="%(n)s" e="%(e)s" /></issuer-signing-keys>
  </validate-jwt>
</inbound><backend><base /></backend><outbound><base /></outbound>
<on-error><base />
  <set-header name="X-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header>
</on-error></policies>"""

CUSTOM = """<policies><inbound><base />
  <validate-jwt query-parameter-name="access_token" failed-validation-httpcode="403"
                failed-validation-error-message="Token refused" clock-skew="120">
    <issuer-signing-keys><key>{{jwt-secret}}</key></issuer-signing-keys>
  </validate-jwt>
  <authentication-basic username="svc" password="@("pa" + "ss:word")" />
</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"""


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def der_ecdsa_to_jose(der, size):
    """DER ECDSA-Sig-Value -> r || s (RFC 7518 3.4)."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        ln = der[i + 1]
        v = der[i + 2:i + 2 + ln].lstrip(b"\x00")
        out += v.rjust(size, b"\x00")
        i += 2 + ln
    return out


class Jwt(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        d = cls.tmp
        cls.rsa_key = os.path.join(d, "jwt-rsa.pem")
        cgtest.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", cls.rsa_key])
        mod = cgtest.run(["openssl", "rsa", "-in", cls.rsa_key, "-noout", "-modulus"]).stdout
        cls.n = b64url(bytes.fromhex(mod.decode().strip().split("=", 1)[1]))
        cls.e = b64url((65537).to_bytes(3, "big"))
        cls.rsa_pub_pem = cgtest.run(["openssl", "pkey", "-in", cls.rsa_key, "-pubout"]).stdout
        cls.signer = cls.pki.client("jwt-signer")  # EC P-256 certificate and key
        cls.b = cls.backend()
        g = cgtest.Gateway(
            d, cls.pki, hosts=[{"name": "open.test", "default": True}],
            apis=[{"id": "orders", "path": "orders", "backend": cls.b.url("/o")},
                  {"id": "rsaonly", "path": "rsaonly", "backend": cls.b.url("/r")},
                  {"id": "custom", "path": "custom", "backend": cls.b.url("/c")}])
        g.cli("nv", "set", "jwt-secret", base64.b64encode(SECRET).decode(), "--secret")
        g.cli("cert", "add", "jwt-signer", cls.signer.leaf)
        g.set_policy(POLICY % {"n": cls.n, "e": cls.e}, "--api", "orders")
        g.set_policy(RSA_ONLY % {"n": cls.n, "e": cls.e}, "--api", "rsaonly")
        g.set_policy(CUSTOM, "--api", "custom")
        cls.gateways.append(g)
        g.start()
        cls.gw = g

    # ---- tokens ------------------------------------------------------------

    def sign(self, alg, data, secret=None):
        if alg == "HS256":
            return hmac.new(secret or SECRET, data, hashlib.sha256).digest()
        key = self.rsa_key if alg == "RS256" else self.signer.key
        cp = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=data,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, check=True)
        return cp.stdout if alg == "RS256" else der_ecdsa_to_jose(cp.stdout, 32)

    def token(self, alg="HS256", kid=None, secret=None, **claims):
        now = int(time.time())
        payload = {"sub": "alice", "aud": "api://orders", "iss": "https://idp.test/",
                   "exp": now + 600, "roles": ["user", "writer"], "scp": "orders.read orders.write"}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        header = {"alg": alg, "typ": "JWT"}
        if kid:
            header["kid"] = kid
        head = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
        if alg == "none":
            return head + "."
        return head + "." + b64url(self.sign(alg, head.encode(), secret))

    def call(self, path="/orders/x", tok=None, scheme="Bearer", headers=()):
        h = list(headers)
        if tok is not None:
            h.append("Authorization: %s %s" % (scheme, tok) if scheme else "Authorization: " + tok)
        return self.gw.curl(path, headers=h)

    def assert_refused(self, r, reason, status=401, body="Invalid JWT."):
        self.assertEqual(r.status, status, r)
        self.assertApimError(status, r.body, r.headers, message=body)
        self.assertEqual(r.headers.get("X-Reason"), reason, r)
        self.assertEqual(r.headers.get("X-Source"), "validate-jwt", r)
        # APIM sends no WWW-Authenticate for validate-jwt (on-error may add one)
        self.assertIsNone(r.headers.get("WWW-Authenticate"), r)

    # ---- tests ---------------------------------------------------------------

    def test_valid_tokens_reach_the_backend(self):
        for alg, kid in (("HS256", "hs"), ("RS256", "rs"), ("ES256", "es"), ("HS256", None)):
            self.b.reset()
            tok = self.token(alg, kid)
            r = self.call(tok=tok)
            self.assertEqual(r.status, 200, (alg, r))
            got = self.b.last()
            self.assertEqual(got.headers.get("X-Jwt-Subject"), "alice", alg)
            self.assertEqual(got.headers.get("Authorization"), "Bearer " + tok, alg)
        # the scheme is case-insensitive; the second audience is an expression
        r = self.call(tok=self.token(aud=["x", "api://admin"]), scheme="bearer")
        self.assertEqual(r.status, 200, r)

    def test_token_not_present(self):
        self.b.reset()
        for r in (self.call(), self.call(tok="dTpw", scheme="Basic"), self.call(tok=self.token(), scheme=None),
                  self.call(tok=self.token(), scheme="JWT")):
            self.assert_refused(r, "TokenNotPresent", body="JWT not present.")
            self.assertEqual(r.headers.get("X-Message"), "JWT not present.")
        self.assertEqual(self.b.count(), 0)

    def test_each_failure_reason(self):
        self.b.reset()
        cases = [
            (self.token(exp=int(time.time()) - 60), "TokenExpired", "Lifetime validation failed. The token is expired."),
            (self.token(aud="api://other"), "TokenAudienceNotAllowed", "Audience validation failed."),
            (self.token(iss="https://evil.test/"), "TokenIssuerNotAllowed", "Issuer validation failed."),
            (self.token(roles=None, scp=None), "TokenClaimNotFound",
             "JWT token is missing the following claims: roles, scp. Access denied."),
            (self.token(roles=["guest"]), "TokenClaimValueNotAllowed",
             "Claim roles value of guest is not allowed. Access denied."),
            (self.token(secret=os.urandom(32)), "TokenSignatureInvalid", "Signature validation failed."),
            (self.token(kid="unknown", secret=os.urandom(32)), "TokenSignatureKeyNotFound",
             "Signature validation failed. Unable to match key: kid: 'unknown'"),
            (self.token("none"), "TokenSignatureInvalid",
             "Signature validation failed. The token is not signed ('alg' is 'none'). Access denied."),
            ("not.a-jwt", "JwtInvalid", "The token is not a JWT in JWS compact serialization."),
            (self.token(exp=None), "JwtInvalid",
             "Lifetime validation failed. The token is missing an Expiration Time."),
        ]
        for tok, reason, message in cases:
            r = self.call(tok=tok)
            self.assert_refused(r, reason)
            self.assertTrue(r.headers.get("X-Message", "").startswith(message), (reason, r.headers.get("X-Message")))
        # a forged payload under a valid signature
        h, p, s = self.token().split(".")
        forged = h + "." + b64url(json.dumps({"sub": "admin", "aud": "api://orders", "iss": "https://idp.test/",
                                              "exp": int(time.time()) + 600, "roles": ["writer"],
                                              "scp": "orders.read"}).encode()) + "." + s
        self.assert_refused(self.call(tok=forged), "TokenSignatureInvalid")
        self.assertEqual(self.b.count(), 0)

    def test_hmac_token_made_with_the_rsa_public_key(self):
        """The classic pitfall: alg HS256 with the RSA public key as secret."""
        self.b.reset()
        for secret in (self.rsa_pub_pem, self.rsa_pub_pem.strip()):
            r = self.gw.curl("/rsaonly/x", headers=["Authorization: Bearer " + self.token(secret=secret)])
            self.assertEqual(r.status, 401, r)
            self.assertEqual(r.headers.get("X-Reason"), "TokenSignatureKeyNotFound", r)
        r = self.gw.curl("/rsaonly/x", headers=["Authorization: Bearer " + self.token("RS256")])
        self.assertEqual(r.status, 200, r)
        # no scheme required there: a bare token is accepted too
        r = self.gw.curl("/rsaonly/x", headers=["Authorization: " + self.token("RS256")])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.b.count(), 2)

    def test_query_parameter_custom_status_and_basic_auth(self):
        self.b.reset()
        r = self.gw.curl("/custom/x?a=1&access_token=" + self.token(exp=int(time.time()) - 60))
        self.assertEqual(r.status, 200, r)  # expired a minute ago, within clock-skew 120
        got = self.b.last()
        self.assertEqual(got.headers.get("Authorization"),
                         "Basic " + base64.b64encode(b"svc:pass:word").decode())
        r = self.gw.curl("/custom/x?access_token=" + self.token(exp=int(time.time()) - 300))
        self.assertEqual(r.status, 403, r)
        self.assertApimError(403, r.body, r.headers, message="Token refused")
        r = self.gw.curl("/custom/x")
        self.assertApimError(403, r.body, r.headers, message="Token refused")
        self.assertEqual(self.b.count(), 1)

    def test_bad_policy_refused_and_running_one_kept(self):
        bad = POLICY.replace("{{jwt-secret}}", "c2hvcnQ=") % {"n": self.n, "e": self.e}
        cp = self.gw.set_policy(bad, "--api", "orders", check=False)
        self.assertNotEqual(cp.returncode, 0)
        err = cp.stderr.decode()
        self.assertIn("4:20: Element 'key' holds 5 bytes; a symmetric signing key needs at least 16 bytes", err)
        cp = self.gw.set_policy(POLICY.replace("<audiences>", "<decryption-keys><key certificate-id=\"x\"/>"
                                               "</decryption-keys><audiences>") % {"n": self.n, "e": self.e},
                                "--api", "orders", check=False)
        self.assertIn("Element 'decryption-keys' of 'validate-jwt' is not run by this gateway yet", cp.stderr.decode())
        time.sleep(0.6)  # a change would have been picked up by now
        r = self.call(tok=self.token())
        self.assertEqual(r.status, 200, r)


OPENID = """<policies><inbound><base />
  <validate-jwt header-name="Authorization" require-scheme="Bearer">
    <openid-config url="%(url)s" />
    <audiences><audience>api://orders</audience></audiences>
  </validate-jwt>
</inbound><backend><base /></backend><outbound><base /></outbound>
<on-error><base />
  <set-header name="X-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header>
</on-error></policies>"""


def rsa_jwk(key_path, kid):
    mod = cgtest.run(["openssl", "rsa", "-in", key_path, "-noout", "-modulus"]).stdout
    return {"kty": "RSA", "use": "sig", "kid": kid, "e": "AQAB",
            "n": b64url(bytes.fromhex(mod.decode().strip().split("=", 1)[1]))}


def ec_jwk(key_path, kid):
    der = cgtest.run(["openssl", "pkey", "-in", key_path, "-pubout", "-outform", "DER"]).stdout
    pt = der[-65:]
    assert pt[0] == 4
    return {"kty": "EC", "crv": "P-256", "kid": kid, "x": b64url(pt[1:33]), "y": b64url(pt[33:])}


class OpenIdConfig(cgtest.GatewayTestCase):
    """openid-config: keys from a discovery document and its JWKS served
    by a loopback HTTPS server the test starts (its certificate from the
    test PKI, trusted through SSL_CERT_FILE), refreshed, rotated, kept when
    the server fails."""

    @classmethod
    def setup_gateways(cls):
        d = cls.tmp
        cls.keys = {}
        for kid in ("a", "b"):
            cls.keys[kid] = os.path.join(d, "oidc-%s.pem" % kid)
            cgtest.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", cls.keys[kid]])
        cls.keys["e"] = os.path.join(d, "oidc-e.pem")
        cgtest.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", cls.keys["e"]])
        cls.jwks = {"keys": [rsa_jwk(cls.keys["a"], "a"), ec_jwk(cls.keys["e"], "e"),
                             {"kty": "oct", "kid": "s", "k": b64url(SECRET)}]}
        cls.idp_fail = False
        idp_cert = cls.pki.server("idp.test", ips=["127.0.0.1"])
        cls.idp = cls.tls_backend(idp_cert.cert, idp_cert.key, handler=cls.idp_answer)
        cls.b = cls.backend()
        g = cgtest.Gateway(
            d, cls.pki, hosts=[{"name": "open.test", "default": True}],
            apis=[{"id": "orders", "path": "orders", "backend": cls.b.url("/o")}],
            serve_args=["--openid-refresh", "2"],
            env={"SSL_CERT_FILE": cls.pki.root_pem, "SSL_CERT_DIR": "/nonexistent"})
        g.set_policy(OPENID % {"url": cls.idp.url("/.well-known/openid-configuration")}, "--api", "orders")
        cls.gateways.append(g)
        g.start()
        cls.gw = g

    @classmethod
    def idp_answer(cls, req):
        if cls.idp_fail:
            return cgtest.BResp(500, b"down")
        if req.target == "/.well-known/openid-configuration":
            body = {"issuer": "https://idp.test/", "jwks_uri": cls.idp.url("/keys")}
        elif req.target == "/keys":
            body = cls.jwks
        else:
            return cgtest.BResp(404, b"")
        return cgtest.BResp(200, json.dumps(body).encode(), headers=[("Content-Type", "application/json")])

    def token(self, kid, alg="RS256", secret=None, signer=None, **claims):
        payload = {"sub": "carol", "aud": "api://orders", "iss": "https://idp.test/",
                   "exp": int(time.time()) + 600}
        payload.update(claims)
        head = b64url(json.dumps({"alg": alg, "kid": kid}).encode()) + "." + \
            b64url(json.dumps(payload).encode())
        if alg == "HS256":
            sig = hmac.new(secret, head.encode(), hashlib.sha256).digest()
        else:
            sig = cgtest.run(["openssl", "dgst", "-sha256", "-sign", self.keys[signer or kid]],
                             input=head.encode()).stdout
            if alg == "ES256":
                sig = der_ecdsa_to_jose(sig, 32)
        return head + "." + b64url(sig)

    def status(self, tok):
        r = self.gw.curl("/orders/x", headers=["Authorization: Bearer " + tok])
        return r.status, r.headers.get("X-Reason")

    def wait_status(self, tok, want, reason=None, timeout=15.0):
        last = []

        def attempt():
            last[:] = [self.status(tok)]
            return last[0][0] == want and (reason is None or last[0][1] == reason)
        if not cgtest.poll(attempt, timeout=timeout, step=0.3):
            self.fail("wanted %s %s, last %s" % (want, reason, last))

    def test_1_keys_fetched_and_checked(self):
        r = self.gw.curl("/orders/x")
        self.assertEqual((r.status, r.headers.get("X-Reason")), (401, "TokenNotPresent"), r)
        self.wait_status(self.token("a"), 200)
        self.assertEqual(self.status(self.token("e", "ES256")), (200, None))
        # the discovery document's issuer is the allowed one
        self.assertEqual(self.status(self.token("a", iss="https://other.test/")), (401, "TokenIssuerNotAllowed"))
        # the JWKS's symmetric key is never used: HS256 finds no key
        self.assertEqual(self.status(self.token("s", "HS256", secret=SECRET)), (401, "TokenSignatureKeyNotFound"))

    def test_2_rotation_and_unknown_kid_bound(self):
        self.wait_status(self.token("a"), 200)
        type(self).jwks = {"keys": [rsa_jwk(self.keys["b"], "b")]}
        # the new key arrives (an unknown kid asks for a refetch), the old one goes
        self.wait_status(self.token("b"), 200)
        self.wait_status(self.token("a"), 401, "TokenSignatureKeyNotFound")
        # an unknown kid with a good signature: every key is tried (APIM)
        self.assertEqual(self.status(self.token("zz", signer="b")), (200, None))
        # unknown kids that no key verifies do not make the gateway hammer the IdP
        tok = self.token("zz", signer="a")
        n0 = self.idp.count()
        t0 = time.time()
        for _ in range(20):
            self.assertEqual(self.status(tok), (401, "TokenSignatureKeyNotFound"))
        spent = time.time() - t0
        # two fetches (discovery + JWKS) per refresh interval of 2 s, plus one kid-miss refetch
        self.assertLessEqual(self.idp.count() - n0, 2 * (int(spent / 2) + 2), spent)

    def test_3_failing_idp_keeps_keys(self):
        type(self).jwks = {"keys": [rsa_jwk(self.keys["a"], "a")]}
        self.wait_status(self.token("a"), 200)
        type(self).idp_fail = True
        try:
            n0 = self.idp.count()
            cgtest.poll(lambda: self.idp.count() >= n0 + 2, timeout=10.0, step=0.2)
            self.assertGreaterEqual(self.idp.count(), n0 + 2)  # it did try again, and failed
            self.assertEqual(self.status(self.token("a")), (200, None))
        finally:
            type(self).idp_fail = False


if __name__ == "__main__":
    cgtest.main()
