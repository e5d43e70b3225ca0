"""APIM's cors and find-and-replace policies end to end, with the real
binary, real TLS and curl: the preflight the gateway answers itself (the
backend never sees it), allowed and refused origins, the headers of actual
requests (errors included), and bodies edited on both sides with correct
framing."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

APP = "https://app.example"

WEB = """<policies><inbound><base />
  <cors allow-credentials="true">
    <allowed-origins><origin>https://app.example/</origin><origin>http://localhost:8080</origin></allowed-origins>
    <allowed-methods preflight-result-max-age="300"><method>GET</method><method>@("PUT")</method></allowed-methods>
    <allowed-headers><header>content-type</header><header>x-token</header></allowed-headers>
    <expose-headers><header>x-request-id</header><header>x-total</header></expose-headers>
  </cors>
  <check-header name="X-Key" failed-check-httpcode="401" failed-check-error-message="no key" ignore-case="false" />
  <set-header name="X-Inbound-Ran" exists-action="override"><value>yes</value></set-header>
</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"""

STAR = """<policies><inbound><base />
  <cors><allowed-origins><origin>*</origin></allowed-origins>
    <allowed-methods><method>*</method></allowed-methods>
    <allowed-headers><header>*</header></allowed-headers></cors>
</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"""

LOOSE = """<policies><inbound><base />
  <cors terminate-unmatched-request="false"><allowed-origins><origin>https://app.example</origin></allowed-origins></cors>
</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"""

FAR = """<policies><inbound><base />
  <find-and-replace from="notebook" to="laptop" />
</inbound><backend><base /></backend><outbound><base />
  <find-and-replace from="@("method")" to="METHOD-X" />
</outbound><on-error><base /></on-error></policies>"""

# Operation scope, without <base/> in inbound: only this cors applies to PUT /items.
OP_PUT = """<policies><inbound>
  <cors><allowed-origins><origin>https://ops.example</origin></allowed-origins>
    <allowed-methods><method>PUT</method></allowed-methods></cors>
</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"""

GROW = """<policies><inbound><base /><find-and-replace from="a" to="aaaa" /></inbound>
<backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"""


class Cors(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        g = cgtest.Gateway(
            cls.tmp, cls.pki, hosts=[{"name": "open.test", "default": True}],
            apis=[{"id": "web", "path": "web", "backend": cls.b.url("/w")},
                  {"id": "star", "path": "star", "backend": cls.b.url("/s")},
                  {"id": "loose", "path": "loose", "backend": cls.b.url("/l")},
                  {"id": "far", "path": "far", "backend": cls.b.url("/f")},
                  {"id": "grow", "path": "grow", "backend": cls.b.url("/g")}],
            ops=[{"api": "web", "id": "get-items", "method": "GET", "template": "/items"},
                 {"api": "web", "id": "put-items", "method": "PUT", "template": "/items"},
                 {"api": "web", "id": "opt-custom", "method": "OPTIONS", "template": "/custom"}],
            serve_args=["--max-buffered-body", "65536"])
        for api, text in (("web", WEB), ("star", STAR), ("loose", LOOSE), ("far", FAR), ("grow", GROW)):
            g.set_policy(text, "--api", api)
        g.set_policy(OP_PUT, "--api", "web", "--operation", "put-items")
        cls.gateways.append(g)
        g.start()
        cls.gw = g

    def preflight(self, path, origin=APP, method="GET", headers=None):
        h = ["Origin: " + origin, "Access-Control-Request-Method: " + method]
        if headers:
            h.append("Access-Control-Request-Headers: " + headers)
        return self.gw.curl(path, method="OPTIONS", headers=h)

    def assert_no_cors(self, r):
        for n in ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                  "Access-Control-Allow-Methods", "Access-Control-Expose-Headers"):
            self.assertIsNone(r.headers.get(n), r)

    # ---- preflight -------------------------------------------------------

    def test_preflight_allowed_answered_by_the_gateway(self):
        self.b.reset()
        r = self.preflight("/web/items", headers="Content-Type, X-Token")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), APP)
        self.assertEqual(r.headers.get("Access-Control-Allow-Credentials"), "true")
        self.assertEqual(r.headers.get("Access-Control-Allow-Methods"), "GET")
        self.assertEqual(r.headers.get("Access-Control-Allow-Headers"), "Content-Type, X-Token")
        self.assertEqual(r.headers.get("Access-Control-Max-Age"), "300")
        self.assertEqual(r.headers.get("Vary"), "Origin")
        self.assertEqual(r.headers.get("Content-Length"), "0")
        self.assertEqual(r.body, b"")
        # default port and case: the same origin
        r = self.preflight("/web/items", origin="HTTPS://App.Example:443", method="GET")
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), "HTTPS://App.Example:443", r)
        # only cors ran: check-header (X-Key missing) did not answer 401
        self.assertEqual(self.b.count(), 0)

    def test_preflight_refused_is_an_empty_200(self):
        self.b.reset()
        for r in (self.preflight("/web/items", origin="https://evil.example"),
                  self.preflight("/web/items", origin="https://app.example:8443"),
                  self.preflight("/web/items", origin="null"),
                  self.preflight("/web/items", method="DELETE"),
                  self.preflight("/web/items", headers="X-Token, X-Other")):
            self.assertEqual(r.status, 200, r)
            self.assert_no_cors(r)
            self.assertEqual(r.body, b"")
        self.assertEqual(self.b.count(), 0)

    def test_preflight_without_an_options_operation(self):
        # No operation at all for this path: the API's cors still answers.
        r = self.preflight("/web/nothing", method="GET")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), APP)
        # Without the preflight headers it is an unrouted OPTIONS: 404.
        r = self.gw.curl("/web/nothing", method="OPTIONS", headers=["Origin: " + APP])
        self.assertEqual(r.status, 404, r)
        # No API, no cors: 404.
        self.assertEqual(self.preflight("/nope/x").status, 404)

    def test_preflight_uses_the_announced_operation(self):
        # No OPTIONS operation: the operation the announced method reaches
        # (PUT /items) decides, with its own cors.
        self.b.reset()
        r = self.preflight("/web/items", origin="https://ops.example", method="PUT")
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), "https://ops.example", r)
        self.assertIsNone(r.headers.get("Access-Control-Allow-Credentials"))
        # GET /items has the API's cors only: ops.example is not in it
        r = self.preflight("/web/items", origin="https://ops.example", method="GET")
        self.assertEqual(r.status, 200, r)
        self.assert_no_cors(r)
        r = self.gw.curl("/web/items", method="PUT", data=b"x", headers=["Origin: https://ops.example"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), "https://ops.example")
        self.assertEqual(self.b.count(), 1)

    def test_options_operation_takes_the_preflight(self):
        self.b.reset()
        r = self.gw.curl("/web/custom", method="OPTIONS",
                         headers=["Origin: " + APP, "Access-Control-Request-Method: PUT", "X-Key: k"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.b.count(), 1)
        self.assertEqual(self.b.last().method, "OPTIONS")
        # handled as an actual cross-origin request: headers, no Allow-Methods
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), APP)
        self.assertIsNone(r.headers.get("Access-Control-Allow-Methods"))

    # ---- actual requests ---------------------------------------------------

    def test_actual_request_allowed(self):
        self.b.reset()
        r = self.gw.curl("/web/items", headers=["Origin: " + APP, "X-Key: k"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), APP)
        self.assertEqual(r.headers.get("Access-Control-Allow-Credentials"), "true")
        self.assertEqual(r.headers.get("Access-Control-Expose-Headers"), "x-request-id, x-total")
        self.assertEqual(r.headers.get("Vary"), "Origin")
        self.assertIsNone(r.headers.get("Access-Control-Allow-Methods"))
        self.assertEqual(self.b.last().headers.get("X-Inbound-Ran"), "yes")
        # no Origin: no CORS headers, the request runs as usual
        r = self.gw.curl("/web/items", headers=["X-Key: k"])
        self.assertEqual(r.status, 200, r)
        self.assert_no_cors(r)
        self.assertIsNone(r.headers.get("Vary"))

    def test_actual_request_refused_origin_terminates(self):
        self.b.reset()
        r = self.gw.curl("/web/items", method="PUT", data=b"x",
                         headers=["Origin: https://evil.example", "X-Key: k"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")
        self.assert_no_cors(r)
        self.assertEqual(self.b.count(), 0)

    def test_error_response_keeps_cors_headers(self):
        r = self.gw.curl("/web/items", headers=["Origin: " + APP])
        self.assertEqual(r.status, 401, r)
        self.assertApimError(401, r.body, r.headers, "no key")
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), APP)

    def test_any_origin(self):
        self.b.reset()
        r = self.gw.curl("/star/x", headers=["Origin: https://whoever.example"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), "*")
        self.assertIsNone(r.headers.get("Access-Control-Allow-Credentials"))
        self.assertIsNone(r.headers.get("Vary"))
        r = self.preflight("/star/x", origin="https://whoever.example", method="DELETE", headers="X-Any")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), "*")
        self.assertEqual(r.headers.get("Access-Control-Allow-Methods"), "DELETE")
        self.assertEqual(r.headers.get("Access-Control-Allow-Headers"), "X-Any")
        self.assertIsNone(r.headers.get("Access-Control-Max-Age"))
        self.assertEqual(self.b.count(), 1)  # the GET only

    def test_terminate_unmatched_false(self):
        self.b.reset()
        r = self.gw.curl("/loose/x", headers=["Origin: https://evil.example"])
        self.assertEqual(r.status, 200, r)
        self.assert_no_cors(r)
        self.assertEqual(self.b.count(), 1)  # went through, without CORS headers
        r = self.preflight("/loose/x", origin="https://evil.example", method="GET")
        self.assertEqual(r.status, 200, r)
        self.assert_no_cors(r)
        # allowed-methods absent: GET and POST only
        r = self.preflight("/loose/x", method="POST")
        self.assertEqual(r.headers.get("Access-Control-Allow-Methods"), "POST", r)
        r = self.preflight("/loose/x", method="PUT")
        self.assert_no_cors(r)
        self.assertEqual(self.b.count(), 1)

    # ---- find-and-replace --------------------------------------------------

    def test_find_and_replace_request_body(self):
        self.b.reset()
        body = b"my notebook, your notebook" + b" filler" * 2000
        want = body.replace(b"notebook", b"laptop")
        for extra in ([], ["Transfer-Encoding: chunked"]):
            r = self.gw.curl("/far/x", data=body, headers=extra)
            self.assertEqual(r.status, 200, r)
            got = self.b.last()
            self.assertEqual(got.body, want)
            self.assertEqual(got.headers.get("Content-Length"), str(len(want)))
            self.assertIsNone(got.headers.get("Transfer-Encoding"))

    def test_find_and_replace_response_body(self):
        r = self.gw.curl("/far/x", data=b"notebook")
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(b'"method"', r.body)
        self.assertIn(b'"METHOD-X": "POST"', r.body)
        self.assertIn(b"laptop", r.body)
        self.assertEqual(r.headers.get("Content-Length"), str(len(r.body)))

    def test_find_and_replace_limits(self):
        self.b.reset()
        # 20000 'a' become 80000 bytes: over --max-buffered-body (65536)
        r = self.gw.curl("/grow/x", data=b"a" * 20000)
        self.assertEqual(r.status, 413, r)
        self.assertApimError(413, r.body, r.headers)
        self.assertEqual(self.b.count(), 0)
        # nothing to replace: forwarded intact
        r = self.gw.curl("/grow/x", data=b"b" * 30000)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.b.last().body, b"b" * 30000)
        # a compressed body is never edited as text
        r = self.gw.curl("/far/x", data=b"notebook", headers=["Content-Encoding: gzip"])
        self.assertEqual(r.status, 415, r)
        self.assertEqual(self.b.count(), 1)


if __name__ == "__main__":
    cgtest.main()
