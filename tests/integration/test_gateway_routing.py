"""Routing as APIM does it: API path suffix (segment boundary, longest
suffix wins), forwarded URL = serviceUrl + rest of path + original query,
operations by method + URL template, 404 JSON when nothing matches."""

import json
import os
import ssl
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402
from cgtest import BResp  # noqa: E402

EXPECTED_FAILURES = set()

NOT_FOUND = {"statusCode": 404, "message": "Resource not found"}


class RoutingTest(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b1 = cls.backend()
        cls.b2 = cls.backend()
        cls.b3 = cls.backend()
        cls.b4 = cls.backend()
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True}],
            apis=[
                {"id": "orders", "path": "orders", "backend": cls.b1.url("/base")},
                {"id": "special", "path": "orders/special", "backend": cls.b2.url("/sp")},
                {"id": "shop", "path": "shop", "backend": cls.b3.url("/api/v1")},
                {"id": "anyop", "path": "any", "backend": cls.b4.url("")},
                {"id": "deep", "path": "a/b/c", "backend": cls.b4.url("/deep")},
                {"id": "bare", "path": "bare", "backend": cls.b4.url("")},
            ],
            ops=[
                {"api": "shop", "id": "get-item", "method": "GET",
                 "template": "/items/{id}"},
                {"api": "shop", "id": "post-items", "method": "POST", "template": "/items"},
                {"api": "shop", "id": "anything-status", "method": "*",
                 "template": "/status"},
                {"api": "shop", "id": "two-params", "method": "GET",
                 "template": "/users/{uid}/orders/{oid}"},
                {"api": "anyop", "id": "wild", "method": "GET", "template": "/*"},
            ])

    def setUp(self):
        for b in (self.b1, self.b2, self.b3, self.b4):
            b.reset()

    def get(self, path, method="GET", body=None, host="open.test"):
        c = self.gw.tls(sni=host)
        try:
            req = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, host)
            if body is not None:
                req += "Content-Length: %d\r\n" % len(body)
            c.send(req.encode() + b"\r\n" + (body or b""))
            return c.read_response(timeout=10, head_request=(method == "HEAD"))
        finally:
            c.close()

    def assertRoutedTo(self, path, backend, target, method="GET", body=None):
        r = self.get(path, method, body)
        self.assertEqual(r.status, 200, "%s %s -> %r" % (method, path, r))
        reqs = backend.wait_requests(1)
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0].method, method)
        self.assertEqual(reqs[0].target, target)
        if body is not None:
            self.assertEqual(reqs[0].body, body)
        backend.reset()
        return r

    def assertNotFound(self, path, method="GET"):
        before = sum(b.count() for b in (self.b1, self.b2, self.b3, self.b4))
        r = self.get(path, method)
        self.assertEqual(r.status, 404, "%s %s -> %r" % (method, path, r))
        self.assertTrue((r.headers.get("content-type") or "").startswith("application/json"),
                        r.headers)
        self.assertEqual(json.loads(r.body), NOT_FOUND)
        after = sum(b.count() for b in (self.b1, self.b2, self.b3, self.b4))
        self.assertEqual(before, after, "a 404 must not reach any backend")

    # ---- API suffix

    def test_suffix_root(self):
        self.assertRoutedTo("/orders", self.b1, "/base")

    def test_suffix_subpath_and_query(self):
        self.assertRoutedTo("/orders/7?x=1", self.b1, "/base/7?x=1")

    def test_suffix_trailing_slash(self):
        self.assertRoutedTo("/orders/", self.b1, "/base/")

    def test_query_on_api_root(self):
        self.assertRoutedTo("/orders?a=1&b=two%20words", self.b1, "/base?a=1&b=two%20words")

    def test_encoded_path_forwarded_as_is(self):
        self.assertRoutedTo("/orders/a%2Fb/c%20d", self.b1, "/base/a%2Fb/c%20d")

    def test_suffix_needs_segment_boundary(self):
        self.assertNotFound("/ordersx")
        self.assertNotFound("/orders-old/1")

    def test_longest_suffix_wins(self):
        self.assertRoutedTo("/orders/special", self.b2, "/sp")
        self.assertRoutedTo("/orders/special/9?q=z", self.b2, "/sp/9?q=z")
        self.assertRoutedTo("/orders/specialx", self.b1, "/base/specialx")
        self.assertRoutedTo("/orders/7/special", self.b1, "/base/7/special")

    def test_multi_segment_suffix(self):
        self.assertRoutedTo("/a/b/c/d", self.b4, "/deep/d")
        self.assertNotFound("/a/b")

    def test_backend_without_path(self):
        self.assertRoutedTo("/any/thing?z=1", self.b4, "/thing?z=1")

    def test_backend_without_path_gets_origin_form(self):
        self.assertRoutedTo("/bare", self.b4, "/")
        self.assertRoutedTo("/bare?x=1", self.b4, "/?x=1")
        self.assertRoutedTo("/bare/", self.b4, "/")
        self.assertRoutedTo("/bare/p/q", self.b4, "/p/q")

    def test_api_without_operations_forwards_every_method(self):
        for m in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "FROBNICATE"):
            with self.subTest(method=m):
                body = b"payload-" + m.encode() if m in ("POST", "PUT", "PATCH") else None
                self.assertRoutedTo("/orders/m", self.b1, "/base/m", method=m, body=body)

    def test_unknown_path_is_404(self):
        self.assertNotFound("/")
        self.assertNotFound("/nothing/here")
        self.assertNotFound("/nothing?x=1")

    # ---- operations

    def test_operation_template_param(self):
        self.assertRoutedTo("/shop/items/42", self.b3, "/api/v1/items/42")
        self.assertRoutedTo("/shop/items/42?full=1", self.b3, "/api/v1/items/42?full=1")

    def test_operation_template_param_single_segment(self):
        self.assertNotFound("/shop/items/42/x")

    def test_operation_method_must_match(self):
        self.assertNotFound("/shop/items/42", method="DELETE")
        self.assertNotFound("/shop/items", method="GET")
        self.assertRoutedTo("/shop/items", self.b3, "/api/v1/items", method="POST", body=b"{}")

    def test_operation_star_method(self):
        for m in ("GET", "PUT", "DELETE"):
            with self.subTest(method=m):
                self.assertRoutedTo("/shop/status", self.b3, "/api/v1/status", method=m)

    def test_operation_two_params(self):
        self.assertRoutedTo("/shop/users/u1/orders/o2", self.b3, "/api/v1/users/u1/orders/o2")
        self.assertNotFound("/shop/users/u1/orders")

    def test_api_with_operations_but_no_match_is_404(self):
        self.assertNotFound("/shop")
        self.assertNotFound("/shop/other")
        self.assertNotFound("/shop/status/extra")

    def test_wildcard_template(self):
        self.assertRoutedTo("/any/x/y/z", self.b4, "/x/y/z")
        self.assertNotFound("/any/x", method="POST")

    def test_404_via_curl(self):
        r = self.gw.curl("/missing")
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.json(), NOT_FOUND)
        self.assertTrue(r.headers.get("content-type", "").startswith("application/json"))


def poll(fn, timeout=6.0, step=0.1):
    return cgtest.poll(fn, timeout, step)


class ReloadTest(cgtest.GatewayTestCase):
    """Store changes made with the CLI while serving apply within about a
    second, and do not drop open connections."""

    @classmethod
    def setup_gateways(cls):
        cls.b1 = cls.backend()
        cls.b2 = cls.backend()
        cls.gw = cls.gateway(hosts=[{"name": "open.test", "default": True}],
                             apis=[{"id": "one", "path": "one", "backend": cls.b1.url("/1")}])

    def status(self, path, sni="open.test"):
        c = self.gw.tls(sni=sni)
        try:
            c.send(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, sni)).encode())
            return c.read_response(timeout=10).status
        finally:
            c.close()

    def test_api_added_and_removed_live(self):
        keep = self.gw.tls(sni="open.test")
        keep.send(b"GET /one/a HTTP/1.1\r\nHost: open.test\r\n\r\n")
        self.assertEqual(keep.read_response().status, 200)
        self.assertEqual(self.status("/two/x"), 404)
        self.gw.cli("api", "set", "two", "--path", "two", "--backend", self.b2.url("/2"))
        self.assertTrue(poll(lambda: self.status("/two/x") == 200), "new API never served")
        self.assertEqual(self.b2.last().target, "/2/x")
        # The connection opened before the change still works.
        keep.send(b"GET /one/b HTTP/1.1\r\nHost: open.test\r\n\r\n")
        self.assertEqual(keep.read_response().status, 200)
        self.gw.cli("op", "set", "two", "only-get", "--method", "GET", "--url-template", "/x")
        self.assertTrue(poll(lambda: self.status("/two/y") == 404), "operation never applied")
        self.assertEqual(self.status("/two/x"), 200)
        self.gw.cli("api", "rm", "two")
        self.assertTrue(poll(lambda: self.status("/two/x") == 404), "removed API still served")
        keep.send(b"GET /one/c HTTP/1.1\r\nHost: open.test\r\n\r\n")
        self.assertEqual(keep.read_response().status, 200)
        keep.close()

    def test_in_flight_request_keeps_its_snapshot(self):
        slow = self.backend(lambda q: BResp(200, b"slow-done", delay=1.5))
        self.gw.cli("api", "set", "slow", "--path", "slow", "--backend", slow.url("/s"))
        self.assertTrue(poll(lambda: self.status("/slow/warm") == 200))
        slow.reset(lambda q: BResp(200, b"slow-done", delay=1.5))
        result = {}

        def go():
            try:
                c = self.gw.tls(sni="open.test")
                c.send(b"GET /slow/x HTTP/1.1\r\nHost: open.test\r\n\r\n")
                result["r"] = c.read_response(timeout=15)
                c.close()
            except Exception as e:
                result["e"] = repr(e)
        t = threading.Thread(target=go, daemon=True)
        t.start()
        self.assertEqual(len(slow.wait_requests(1, 5)), 1)
        self.gw.cli("api", "rm", "slow")
        self.assertTrue(poll(lambda: self.status("/slow/y") == 404))
        t.join(15)
        self.assertNotIn("e", result, result)
        self.assertEqual((result["r"].status, result["r"].body), (200, b"slow-done"))

    def test_changes_under_traffic(self):
        stop = threading.Event()
        bad = []
        count = [0]

        def traffic():
            for _ in range(2000):
                if stop.is_set():
                    return
                try:
                    st = self.status("/one/t")
                except Exception as e:
                    bad.append(repr(e))
                    return
                count[0] += 1
                if st != 200:
                    bad.append(st)
        ts = [threading.Thread(target=traffic, daemon=True) for _ in range(3)]
        for t in ts:
            t.start()
        for i in range(15):
            self.gw.cli("api", "set", "churn", "--path", "churn%d" % i, "--backend",
                        self.b2.url("/c%d" % i))
            time.sleep(0.05)
        self.assertTrue(poll(lambda: self.status("/churn14/z") == 200))
        stop.set()
        for t in ts:
            t.join(20)
        self.assertEqual(bad, [])
        self.assertGreater(count[0], 10)
        self.assertEqual(self.status("/churn13/z"), 404)

    def test_hostname_added_live(self):
        cf = self.pki.server("late.test")
        self.gw.cli("host", "set", "late.test", "--cert", cf.cert, "--key", cf.key,
                    "--negotiate-client-certificate")

        def served():
            try:
                c = self.gw.tls(sni="late.test")  # verifies name against the root
                der = c.sock.getpeercert(binary_form=True)
                c.close()
                return der == cf.der
            except (ssl.SSLError, OSError):
                return False
        self.assertTrue(poll(served), "new hostname's certificate never served")
        rc, out = self.gw.s_client("late.test", ["-msg"])
        self.assertIn("CertificateRequest", out)


class CliTest(cgtest.GatewayTestCase):
    """The store written by the CLI is what `api list` reports."""

    def test_api_list_json(self):
        b = self.backend()
        gw = cgtest.Gateway(self.tmp, self.pki, hosts=[{"name": "open.test"}],
                            apis=[{"id": "one", "path": "one", "backend": b.url("/x")},
                                  {"id": "two", "path": "two/deeper",
                                   "backend": b.url("")}])
        cp = gw.cli("api", "list", "--json")
        data = json.loads(cp.stdout)
        text = json.dumps(data)
        for s in ("one", "two", "two/deeper", b.url("/x")):
            self.assertIn(s, text)

    def test_api_set_refuses_duplicate_path(self):
        b = self.backend()
        gw = cgtest.Gateway(self.tmp, self.pki, hosts=[{"name": "open.test"}],
                            apis=[{"id": "one", "path": "one", "backend": b.url("/x")}])
        cp = gw.cli("api", "set", "other", "--path", "one", "--backend", b.url("/y"),
                    check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertTrue(cp.stderr.strip())


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
