"""The REST management API (src/admin/): `certgate serve --admin 127.0.0.1:P
--admin-token-file F` on a store made by the CLI. Every resource with GET
(list, item), PUT (create 201, update 200), DELETE (200, absent 204), ETag and
If-Match (412), the bearer token (401), unknown routes and ids (404), wrong
methods (405), invalid bodies (400 with jansson's line/column), the body limit
(413, Content-Length and chunked), the connection limit (503), the header
timeout, `api-version` ignored, the ARM id prefix, and that REST and CLI see
each other's changes and the gateway applies them.

Python 3 standard library only (http.client, socket, urllib), loopback only,
every wait bounded, processes stopped by pid (cgtest.Gateway.stop)."""

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

EXPECTED_FAILURES = set()

MAX_BODY = 1024 * 1024   # CG_ADMIN_MAX_BODY_BYTES
MAX_CONNS = 64           # CG_ADMIN_MAX_CONNS
HEADER_TIMEOUT = 10.0    # CG_ADMIN_HEADER_TIMEOUT_MS / 1000
ARM = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
       "Microsoft.ApiManagement/service/svc")
TOKEN = "t0k3n-" + "a1b2c3d4e5f6a7b8c9d0" * 2


def setUpModule():
    # Until `serve` is wired to src/admin (--admin, --admin-token-file),
    # there is nothing to test: skip, saying so, rather than fail.
    cp = cgtest.run([cgtest.certgate_path(), "serve", "--help"], check=False)
    if b"--admin-token-file" not in cp.stdout:
        raise unittest.SkipTest("this certgate has no --admin option yet (serve not wired)")


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lowercase name -> value
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def error(self):
        e = self.json()["error"]
        return e["code"], e["message"]

    def __repr__(self):
        return "Resp(%d, %r, %r)" % (self.status, self.headers, self.body[:600])


class AdminCase(cgtest.GatewayTestCase):
    """One gateway with the admin API per class; helpers for requests."""

    @classmethod
    def setup_gateways(cls):
        cls.token_file = os.path.join(cls.tmp, "admin.token")
        with open(cls.token_file, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(cls.token_file, 0o600)
        cls.admin_port = cgtest.free_port()
        cls.be = cls.backend()
        cls.gw = cls.gateway(
            hosts=[{"name": "a.test", "default": True}],
            http_listen=True,
            serve_args=["--admin", "127.0.0.1:%d" % cls.admin_port,
                        "--admin-token-file", cls.token_file])

    def req(self, method, path, body=None, token=TOKEN, headers=None, conn=None):
        """One request; body: dict/list (JSON-encoded), bytes or str."""
        own = conn is None
        c = conn or http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=20)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            if own:
                c.close()

    def raw(self, data, timeout=10.0):
        """Sends bytes on a fresh connection; returns all bytes until close
        (or timeout)."""
        s = socket.create_connection(("127.0.0.1", self.admin_port), timeout=timeout)
        try:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            out = b""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    d = s.recv(65536)
                except ConnectionResetError:
                    break
                except socket.timeout:
                    break
                if not d:
                    break
                out += d
            return out
        finally:
            s.close()

    def assertError(self, r, status, code, contains=None):
        self.assertEqual(r.status, status, r)
        self.assertIn("application/json", r.headers.get("content-type", ""), r)
        c, m = r.error()
        self.assertEqual(c, code, r)
        if contains:
            self.assertIn(contains, m, r)
        return m

    def cli(self, *args, check=True):
        return self.gw.cli(*args, check=check)

    def cli_apis(self):
        return {a["id"]: a for a in json.loads(self.cli("api", "list", "--json").stdout)}

    def new_cert(self, name):
        """A fresh certificate for name: CertFiles from the test PKI."""
        return self.pki.server(name)


class AuthTest(AdminCase):

    def test_missing_token_is_401(self):
        r = self.req("GET", "/apis", token=None)
        m = self.assertError(r, 401, "AuthenticationFailed", "missing")
        self.assertTrue(r.headers.get("www-authenticate", "").startswith("Bearer"), r)
        self.assertNotIn(TOKEN, m)

    def test_wrong_token_is_401(self):
        for tok in ("wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper()):
            r = self.req("GET", "/apis", token=tok)
            self.assertError(r, 401, "AuthenticationFailed")

    def test_other_schemes_are_401(self):
        for v in ("Basic " + base64.b64encode(b"u:" + TOKEN.encode()).decode(), TOKEN,
                  "Bearer", "Bearer  "):
            r = self.req("GET", "/apis", token=None, headers={"Authorization": v})
            self.assertError(r, 401, "AuthenticationFailed")

    def test_wrong_token_closes_the_connection(self):
        # Every guess costs a new connection.
        r = self.req("GET", "/apis", token="guess-" + "0" * 20)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.headers.get("connection"), "close")
        out = self.raw(("GET /apis HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n\r\n"
                        "GET /apis HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                        % TOKEN).encode())
        self.assertEqual(out.count(b"HTTP/1.1 "), 1, out)
        self.assertTrue(out.startswith(b"HTTP/1.1 401 "), out)

    def test_scheme_is_case_insensitive(self):
        r = self.req("GET", "/apis", token=None, headers={"Authorization": "bearer " + TOKEN})
        self.assertEqual(r.status, 200, r)

    def test_unknown_route_without_token_is_401_not_404(self):
        r = self.req("GET", "/nothing/here", token=None)
        self.assertEqual(r.status, 401, r)

    def test_unauthorized_body_is_not_read(self):
        # A 401 comes as soon as the head is in, and the connection closes:
        # a client without the token cannot make us take its megabyte.
        out = self.raw(b"PUT /apis/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n"
                       b"Authorization: Bearer nope\r\n\r\n{")
        self.assertTrue(out.startswith(b"HTTP/1.1 401 "), out)
        self.assertIn(b"Connection: close", out)

    def test_token_not_logged(self):
        self.req("GET", "/apis", token="a-wrong-token-value")
        self.req("GET", "/apis")
        err = self.gw.stderr()
        self.assertNotIn(TOKEN, err)
        self.assertNotIn("a-wrong-token-value", err)
        # The audit line names the client.
        self.assertRegex(err, r"admin: 127\.0\.0\.1:\d+ GET /apis -> 401")


class ApiTest(AdminCase):

    def put_api(self, id, props, **kw):
        return self.req("PUT", "/apis/" + id, {"properties": props}, **kw)

    def test_crud_etag_if_match(self):
        r = self.req("GET", "/apis/crud")
        self.assertError(r, 404, "ResourceNotFound", "crud")
        r = self.put_api("crud", {"displayName": "CRUD", "path": "crud",
                                  "serviceUrl": self.be.url("/base")})
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(j["id"], "/apis/crud")
        self.assertEqual(j["name"], "crud")
        self.assertEqual(j["type"], "Microsoft.ApiManagement/service/apis")
        p = j["properties"]
        self.assertEqual(p["displayName"], "CRUD")
        self.assertEqual(p["path"], "crud")
        self.assertEqual(p["serviceUrl"], self.be.url("/base"))
        self.assertEqual(p["protocols"], ["http", "https"])
        self.assertIs(p["subscriptionRequired"], False)
        self.assertIs(p["isCurrent"], True)
        etag1 = r.headers["etag"]
        self.assertRegex(etag1, r'^"[0-9a-f]{32}"$')

        g = self.req("GET", "/apis/crud")
        self.assertEqual(g.status, 200, g)
        self.assertEqual(g.headers["etag"], etag1)
        self.assertEqual(g.json(), j)

        # Same content again: 200, same ETag (a hash of the stored state).
        r = self.put_api("crud", {"displayName": "CRUD"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["etag"], etag1)

        # Stale If-Match: 412 and nothing changed.
        r = self.put_api("crud", {"displayName": "changed"}, headers={"If-Match": '"0000"'})
        self.assertError(r, 412, "PreconditionFailed")
        self.assertEqual(self.req("GET", "/apis/crud").json()["properties"]["displayName"],
                         "CRUD")

        r = self.put_api("crud", {"displayName": "Second"}, headers={"If-Match": etag1})
        self.assertEqual(r.status, 200, r)
        etag2 = r.headers["etag"]
        self.assertNotEqual(etag1, etag2)
        self.assertEqual(r.json()["properties"]["displayName"], "Second")
        # Left-out properties keep their value.
        self.assertEqual(r.json()["properties"]["path"], "crud")

        r = self.put_api("crud", {"displayName": "Third"}, headers={"If-Match": etag1})
        self.assertError(r, 412, "PreconditionFailed")
        r = self.put_api("crud", {"displayName": "Third"}, headers={"If-Match": "*"})
        self.assertEqual(r.status, 200, r)
        r = self.put_api("crud", {"displayName": "Fourth"},
                         headers={"If-Match": 'W/"x", ' + r.headers["etag"]})
        self.assertEqual(r.status, 200, r)
        etag = r.headers["etag"]

        r = self.req("DELETE", "/apis/crud", headers={"If-Match": etag1})
        self.assertError(r, 412, "PreconditionFailed")
        self.assertEqual(self.req("GET", "/apis/crud").status, 200)
        r = self.req("DELETE", "/apis/crud", headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.req("GET", "/apis/crud").status, 404)
        r = self.req("DELETE", "/apis/crud")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"")

    def test_protocols(self):
        protos = lambda: self.req("GET", "/apis/proto").json()["properties"]["protocols"]
        r = self.put_api("proto", {"path": "proto", "serviceUrl": self.be.url("/pr"),
                                   "protocols": ["https", "http"]})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["properties"]["protocols"], ["http", "https"])
        # live at the gateway's plain-HTTP listener
        cgtest.poll(lambda: self.gw.curl("/proto/x", host="a.test", http=True).status == 200,
                    timeout=10)
        # left out or null: kept
        self.assertEqual(self.put_api("proto", {"displayName": "P"}).status, 200)
        self.assertEqual(self.put_api("proto", {"protocols": None}).status, 200)
        self.assertEqual(protos(), ["http", "https"])
        self.assertEqual(self.put_api("proto", {"protocols": ["https"]}).status, 200)
        self.assertEqual(protos(), ["https"])
        cgtest.poll(lambda: self.gw.curl("/proto/x", host="a.test", http=True).status == 404,
                    timeout=10)
        self.assertEqual(self.gw.curl("/proto/x", host="a.test").status, 200)
        for bad, msg in (([], "properties.protocols must be a non-empty array"),
                         ("https", "properties.protocols must be a non-empty array"),
                         ([True], "properties.protocols must be a non-empty array"),
                         (["https", "ws"], "properties.protocols: unknown protocol 'ws'")):
            with self.subTest(bad=bad):
                self.assertError(self.put_api("proto", {"displayName": "changed",
                                                        "protocols": bad}),
                                 400, "ValidationError", msg)
                self.assertError(self.put_api("proto-new", {"path": "pn",
                                                            "serviceUrl": self.be.url(""),
                                                            "protocols": bad}),
                                 400, "ValidationError", msg)
        self.assertEqual(self.req("GET", "/apis/proto-new").status, 404)
        p = self.req("GET", "/apis/proto").json()["properties"]
        self.assertEqual((p["displayName"], p["protocols"]), ("P", ["https"]))

    def test_if_match_on_absent_is_412(self):
        r = self.put_api("nothere", {"path": "nothere", "serviceUrl": self.be.url("")},
                         headers={"If-Match": "*"})
        self.assertError(r, 412, "PreconditionFailed")
        self.assertEqual(self.req("GET", "/apis/nothere").status, 404)

    def test_list(self):
        for i in range(3):
            r = self.put_api("list%d" % i, {"path": "list/%d" % i, "serviceUrl": self.be.url("")})
            self.assertEqual(r.status, 201, r)
        r = self.req("GET", "/apis")
        self.assertEqual(r.status, 200, r)
        j = r.json()
        self.assertEqual(j["count"], len(j["value"]))
        ids = {a["id"] for a in j["value"]}
        self.assertTrue({"/apis/list0", "/apis/list1", "/apis/list2"} <= ids, ids)
        for a in j["value"]:
            self.assertEqual(set(a), {"id", "name", "type", "properties"})

    def test_api_version_and_arm_prefix(self):
        r = self.put_api("armed", {"path": "armed", "serviceUrl": self.be.url("")})
        self.assertEqual(r.status, 201, r)
        for path in ("/apis/armed?api-version=2022-08-01",
                     ARM + "/apis/armed?api-version=2024-05-01",
                     ARM.lower() + "/APIS/armed",
                     "/apis/armed/"):
            g = self.req("GET", path)
            self.assertEqual(g.status, 200, (path, g))
            self.assertEqual(g.json()["name"], "armed")
        r = self.req("PUT", ARM + "/apis/armed2?api-version=2022-08-01",
                     {"properties": {"path": "armed2", "serviceUrl": self.be.url("")}})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.req("DELETE", ARM + "/apis/armed2?api-version=x").status, 200)

    def test_validation_errors_are_400_with_store_message(self):
        m = self.assertError(self.put_api("bad1", {"path": "a//b", "serviceUrl": self.be.url("")}),
                             400, "ValidationError")
        self.assertIn("a//b", m)
        m = self.assertError(self.put_api("bad2", {"path": "bad2", "serviceUrl": "ftp://x/"}),
                             400, "ValidationError")
        self.assertIn("ftp://x/", m)
        self.assertError(self.put_api("bad3", {"displayName": "no path or url"}), 400,
                         "ValidationError")
        self.assertError(self.put_api("bad%20id!", {"path": "b4", "serviceUrl": self.be.url("")}),
                         400, "ValidationError", "bad id!")
        self.assertEqual(self.put_api("dup1", {"path": "dup", "serviceUrl": self.be.url("")}).status,
                         201)
        m = self.assertError(self.put_api("dup2", {"path": "dup", "serviceUrl": self.be.url("")}),
                             400, "ValidationError")
        self.assertIn("dup1", m)
        # Types are checked before the store sees anything.
        self.assertError(self.put_api("bad5", {"path": 5, "serviceUrl": self.be.url("")}), 400,
                         "ValidationError", "properties.path must be a string")
        self.assertError(self.put_api("bad6", {"path": "b6", "serviceUrl": self.be.url(""),
                                              "subscriptionRequired": "yes"}),
                         400, "ValidationError", "subscriptionRequired")
        self.assertError(self.put_api("bad6", {"path": "b6", "serviceUrl": self.be.url(""),
                                              "subscriptionKeyParameterNames": "key"}),
                         400, "ValidationError", "subscriptionKeyParameterNames")
        self.assertError(self.put_api("bad6", {"path": "b6", "serviceUrl": self.be.url(""),
                                              "subscriptionKeyParameterNames": {
                                                  "header": "bad header"}}),
                         400, "ValidationError", "is not an HTTP header name")
        self.assertError(self.req("PUT", "/apis/bad7", {"properties": []}), 400,
                         "ValidationError", "properties")
        for i in range(1, 8):
            if i != 1:
                self.assertEqual(self.req("GET", "/apis/bad%d" % i).status, 404)

    def test_malformed_json_is_400_with_line_and_column(self):
        r = self.req("PUT", "/apis/mal", '{"properties": {"path": "mal",}}')
        m = self.assertError(r, 400, "InvalidRequestContent")
        self.assertRegex(m, r"line 1 column \d+")
        r = self.req("PUT", "/apis/mal", '{\n  "properties": {\n    "path": nope\n  }\n}')
        m = self.assertError(r, 400, "InvalidRequestContent")
        self.assertIn("line 3 column", m)
        m = self.assertError(self.req("PUT", "/apis/mal", ""), 400, "InvalidRequestContent")
        self.assertIn("empty", m)
        self.assertError(self.req("PUT", "/apis/mal", "[1]"), 400, "InvalidRequestContent",
                         "object")
        self.assertError(self.req("PUT", "/apis/mal", '{"a":1,"a":2}'), 400,
                         "InvalidRequestContent", "duplicate")
        self.assertError(self.req("PUT", "/apis/mal", b'{"a":"\xff"}'), 400,
                         "InvalidRequestContent")
        self.assertEqual(self.req("GET", "/apis/mal").status, 404)

    def test_unknown_routes_and_methods(self):
        for p in ("/", "/nothing", "/apis/x/y", "/apis/x/operations/y/z", "/hostnames/a/b",
                  "/policies/other", "/subscriptions/x/apis", "//apis"):
            self.assertError(self.req("GET", p), 404, "ResourceNotFound")
        r = self.req("POST", "/apis")
        self.assertError(r, 405, "MethodNotAllowed")
        self.assertEqual(r.headers.get("allow"), "GET")
        r = self.req("PATCH", "/apis/x", {"properties": {}})
        self.assertError(r, 405, "MethodNotAllowed")
        self.assertEqual(r.headers.get("allow"), "GET, PUT, DELETE")
        self.assertError(self.req("GET", "/apis/%2Fetc"), 400, "InvalidResourceName")
        self.assertError(self.req("GET", "/apis/%zz"), 400, "InvalidResourceName")

    def test_percent_encoded_names(self):
        r = self.put_api("pct.x", {"path": "pct", "serviceUrl": self.be.url("")})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.req("GET", "/apis/pct%2Ex").json()["name"], "pct.x")

    def test_rest_change_seen_by_cli_and_back(self):
        r = self.put_api("fromrest", {"displayName": "From REST", "path": "fromrest",
                                      "serviceUrl": self.be.url("/r")})
        self.assertEqual(r.status, 201, r)
        apis = self.cli_apis()
        self.assertIn("fromrest", apis)
        self.assertEqual(apis["fromrest"]["displayName"], "From REST")
        self.assertEqual(apis["fromrest"]["serviceUrl"], self.be.url("/r"))

        self.cli("api", "set", "fromcli", "--path", "fromcli", "--backend", self.be.url("/c"),
                 "--display-name", "From CLI")
        g = self.req("GET", "/apis/fromcli")
        self.assertEqual(g.status, 200, g)
        self.assertEqual(g.json()["properties"]["displayName"], "From CLI")
        # A CLI change moves the ETag: a REST client holding the old one loses.
        etag = g.headers["etag"]
        self.cli("api", "set", "fromcli", "--display-name", "Changed by CLI")
        r = self.put_api("fromcli", {"displayName": "x"}, headers={"If-Match": etag})
        self.assertError(r, 412, "PreconditionFailed")
        self.cli("op", "set", "fromcli", "op1", "--method", "GET", "--url-template", "/o")
        self.assertEqual(self.req("GET", "/apis/fromcli/operations/op1").status, 200)

        self.assertEqual(self.req("DELETE", "/apis/fromrest").status, 200)
        self.assertNotIn("fromrest", self.cli_apis())

    def test_gateway_applies_rest_changes(self):
        self.be.reset()
        r = self.put_api("live", {"path": "live", "serviceUrl": self.be.url("/up")})
        self.assertEqual(r.status, 201, r)
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            c = self.gw.curl("/live/x", host="a.test")
            status = c.status
            if status == 200:
                break
            time.sleep(0.2)
        self.assertEqual(status, 200)
        self.assertEqual(self.be.last().target, "/up/x")


class OperationTest(AdminCase):

    @classmethod
    def setup_gateways(cls):
        super().setup_gateways()
        cls.gw.cli("api", "set", "shop", "--path", "shop", "--backend", cls.be.url(""))

    def test_crud(self):
        base = "/apis/shop/operations/"
        self.assertError(self.req("GET", base + "get-item"), 404, "ResourceNotFound")
        r = self.req("PUT", base + "get-item", {"properties": {
            "displayName": "Get item", "method": "get", "urlTemplate": "/items/{id}"}})
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(j["id"], "/apis/shop/operations/get-item")
        self.assertEqual(j["type"], "Microsoft.ApiManagement/service/apis/operations")
        self.assertEqual(j["properties"], {"displayName": "Get item", "method": "GET",
                                           "urlTemplate": "/items/{id}"})
        etag = r.headers["etag"]
        g = self.req("GET", base + "get-item")
        self.assertEqual((g.status, g.headers["etag"]), (200, etag))
        r = self.req("PUT", base + "get-item", {"properties": {"urlTemplate": "/items/{iid}"}},
                     headers={"If-Match": '"nope"'})
        self.assertError(r, 412, "PreconditionFailed")
        r = self.req("PUT", base + "get-item", {"properties": {"urlTemplate": "/items/{iid}"}},
                     headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["properties"]["urlTemplate"], "/items/{iid}")

        lst = self.req("GET", "/apis/shop/operations")
        self.assertEqual(lst.status, 200)
        self.assertIn("/apis/shop/operations/get-item", [o["id"] for o in lst.json()["value"]])
        self.assertEqual(lst.json()["count"], len(lst.json()["value"]))

        ops = self.cli_apis()["shop"]["operations"]
        self.assertIn({"id": "get-item", "displayName": "Get item", "method": "GET",
                       "urlTemplate": "/items/{iid}"}, ops)

        r = self.req("DELETE", base + "get-item", headers={"If-Match": etag})
        self.assertError(r, 412, "PreconditionFailed")
        self.assertEqual(self.req("DELETE", base + "get-item").status, 200)
        self.assertEqual(self.req("DELETE", base + "get-item").status, 204)
        self.assertEqual(self.req("GET", base + "get-item").status, 404)

    def test_errors(self):
        r = self.req("PUT", "/apis/noapi/operations/x", {"properties": {
            "method": "GET", "urlTemplate": "/"}})
        self.assertError(r, 404, "ResourceNotFound", "noapi")
        self.assertError(self.req("GET", "/apis/noapi/operations"), 404, "ResourceNotFound")
        self.assertError(self.req("DELETE", "/apis/noapi/operations/x"), 404, "ResourceNotFound")
        self.assertError(self.req("PUT", "/apis/shop/operations/bad", {"properties": {
            "method": "GET", "urlTemplate": "no-slash"}}), 400, "ValidationError", "no-slash")
        self.assertError(self.req("PUT", "/apis/shop/operations/bad", {"properties": {
            "method": "G E T", "urlTemplate": "/"}}), 400, "ValidationError")
        self.assertError(self.req("PUT", "/apis/shop/operations/bad", {"properties": {
            "method": "GET"}}), 400, "ValidationError")
        self.assertEqual(self.req("PUT", "/apis/shop/operations/d1", {"properties": {
            "method": "GET", "urlTemplate": "/d/{a}"}}).status, 201)
        m = self.assertError(self.req("PUT", "/apis/shop/operations/d2", {"properties": {
            "method": "GET", "urlTemplate": "/d/{b}"}}), 400, "ValidationError")
        self.assertIn("d1", m)
        self.assertError(self.req("POST", "/apis/shop/operations"), 405, "MethodNotAllowed")


class HostnameTest(AdminCase):

    def pem(self, cf):
        with open(cf.cert) as f:
            cert = f.read()
        with open(cf.key) as f:
            key = f.read()
        return cert, key

    def pfx_b64(self, cf, password):
        out = os.path.join(self.tmp, "h-%s.pfx" % password)
        cgtest.run(["openssl", "pkcs12", "-export", "-in", cf.cert, "-inkey", cf.key,
                    "-out", out, "-passout", "pass:" + password])
        with open(out, "rb") as f:
            return base64.b64encode(f.read()).decode()

    def assertNoKey(self, r):
        self.assertNotIn(b"PRIVATE KEY", r.body)
        self.assertNotIn(b"keyPem", r.body)
        self.assertNotIn(b"encodedCertificate", r.body)

    def test_pem_crud(self):
        cf = self.new_cert("pem.test")
        cert, key = self.pem(cf)
        r = self.req("PUT", "/hostnames/pem.test", {"properties": {
            "hostName": "pem.test", "certificatePem": cert, "keyPem": key,
            "negotiateClientCertificate": True}})
        self.assertEqual(r.status, 201, r)
        self.assertNoKey(r)
        j = r.json()
        self.assertEqual(j["id"], "/hostnames/pem.test")
        self.assertEqual(j["type"], "Microsoft.ApiManagement/service/hostnameConfigurations")
        p = j["properties"]
        self.assertEqual(p["hostName"], "pem.test")
        self.assertIs(p["negotiateClientCertificate"], True)
        self.assertIs(p["defaultSslBinding"], False)
        self.assertEqual(p["certificate"]["thumbprint"], cf.thumbprint)
        self.assertEqual(p["certificate"]["subject"], "CN=pem.test")
        self.assertRegex(p["certificate"]["expiry"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        etag = r.headers["etag"]

        g = self.req("GET", "/hostnames/PEM.test")
        self.assertEqual((g.status, g.headers["etag"]), (200, etag))
        self.assertNoKey(g)
        lst = self.req("GET", "/hostnames")
        self.assertNoKey(lst)
        self.assertIn("pem.test", [h["name"] for h in lst.json()["value"]])

        # The CLI sees it.
        hosts = json.loads(self.cli("host", "list", "--json").stdout)
        names = [h.get("hostName") or h.get("name") for h in hosts]
        self.assertIn("pem.test", names)

        r = self.req("PUT", "/hostnames/pem.test", {"properties": {
            "negotiateClientCertificate": False}}, headers={"If-Match": '"stale"'})
        self.assertError(r, 412, "PreconditionFailed")
        r = self.req("PUT", "/hostnames/pem.test", {"properties": {
            "negotiateClientCertificate": False}}, headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json()["properties"]["negotiateClientCertificate"], False)
        self.assertNotEqual(r.headers["etag"], etag)

        # A new certificate (and key) changes the ETag too.
        cf2 = self.pki.server("pem.test", rsa=True)
        cert2, key2 = self.pem(cf2)
        etag2 = r.headers["etag"]
        r = self.req("PUT", "/hostnames/pem.test", {"properties": {
            "certificatePem": cert2, "keyPem": key2}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["properties"]["certificate"]["thumbprint"], cf2.thumbprint)
        self.assertNotEqual(r.headers["etag"], etag2)

        self.assertEqual(self.req("DELETE", "/hostnames/pem.test").status, 200)
        self.assertEqual(self.req("DELETE", "/hostnames/pem.test").status, 204)
        self.assertError(self.req("GET", "/hostnames/pem.test"), 404, "ResourceNotFound")

        err = self.gw.stderr()
        self.assertNotIn("PRIVATE KEY", err)
        self.assertNotIn(key.splitlines()[1], err)

    def test_pfx(self):
        cf = self.new_cert("pfx.test")
        enc = self.pfx_b64(cf, "s3cret")
        r = self.req("PUT", "/hostnames/pfx.test", {"properties": {
            "hostName": "pfx.test", "encodedCertificate": enc, "certificatePassword": "wrong"}})
        self.assertError(r, 400, "ValidationError", "certificatePassword")
        self.assertEqual(self.req("GET", "/hostnames/pfx.test").status, 404)
        r = self.req("PUT", "/hostnames/pfx.test", {"properties": {
            "hostName": "pfx.test", "encodedCertificate": enc, "certificatePassword": "s3cret"}})
        self.assertEqual(r.status, 201, r)
        self.assertNoKey(r)
        self.assertEqual(r.json()["properties"]["certificate"]["thumbprint"], cf.thumbprint)
        self.assertNotIn("s3cret", self.gw.stderr())
        # The chain came out of the PFX leaf first: the gateway serves it.
        deadline = time.monotonic() + 10
        ok = False
        while time.monotonic() < deadline and not ok:
            c = self.gw.curl("/", host="pfx.test")
            ok = c.rc == 0
            if not ok:
                time.sleep(0.2)
        self.assertTrue(ok, c)

    def test_pem_in_encoded_certificate(self):
        cf = self.new_cert("enc.test")
        cert, key = self.pem(cf)
        r = self.req("PUT", "/hostnames/enc.test", {"properties": {
            "encodedCertificate": cert + key}})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["properties"]["certificate"]["thumbprint"], cf.thumbprint)

    def test_errors(self):
        cf = self.new_cert("err.test")
        cert, key = self.pem(cf)
        other = self.new_cert("other.test")
        _, okey = self.pem(other)
        self.assertError(self.req("PUT", "/hostnames/err.test", {"properties": {}}), 400,
                         "ValidationError", "certificate")
        self.assertError(self.req("PUT", "/hostnames/err.test", {"properties": {
            "certificatePem": cert, "keyPem": okey}}), 400, "ValidationError")
        self.assertError(self.req("PUT", "/hostnames/err.test", {"properties": {
            "certificatePem": "garbage", "keyPem": key}}), 400, "ValidationError")
        self.assertError(self.req("PUT", "/hostnames/err.test", {"properties": {
            "encodedCertificate": "!!!notbase64!!!"}}), 400, "ValidationError")
        self.assertError(self.req("PUT", "/hostnames/err.test", {"properties": {
            "hostName": "else.test", "certificatePem": cert, "keyPem": key}}), 400,
            "ValidationError", "else.test")
        self.assertError(self.req("PUT", "/hostnames/bad_name", {"properties": {
            "certificatePem": cert, "keyPem": key}}), 400, "ValidationError")
        self.assertError(self.req("PUT", "/hostnames/err.test", {"properties": {
            "encodedCertificate": "x", "certificatePem": cert}}), 400, "ValidationError")
        self.assertError(self.req("PUT", "/hostnames/err.test", {"properties": {
            "certificatePem": cert, "keyPem": key, "negotiateClientCertificate": "yes"}}),
            400, "ValidationError", "negotiateClientCertificate")
        self.assertEqual(self.req("GET", "/hostnames/err.test").status, 404)

    def test_default_moves_and_default_delete_is_409(self):
        cf = self.new_cert("def.test")
        cert, key = self.pem(cf)
        r = self.req("PUT", "/hostnames/def.test", {"properties": {
            "certificatePem": cert, "keyPem": key, "defaultSslBinding": True}})
        self.assertEqual(r.status, 201, r)
        self.assertIs(r.json()["properties"]["defaultSslBinding"], True)
        self.assertIs(self.req("GET", "/hostnames/a.test").json()["properties"]
                      ["defaultSslBinding"], False)
        self.assertError(self.req("DELETE", "/hostnames/def.test"), 409, "Conflict")
        self.assertError(self.req("PUT", "/hostnames/def.test", {"properties": {
            "defaultSslBinding": False}}), 409, "Conflict")
        r = self.req("PUT", "/hostnames/a.test", {"properties": {"defaultSslBinding": True}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.req("DELETE", "/hostnames/def.test").status, 200)


POLICY = ("<policies><inbound><base /><set-header name=\"X-From\" exists-action=\"override\">"
          "<value>%s</value></set-header></inbound><backend><base /></backend>"
          "<outbound><base /></outbound><on-error><base /></on-error></policies>")
POLICY_RAW = ("<policies><inbound><base /><choose><when condition=\"@(context.Request.Headers"
              ".GetValueOrDefault(\"X-A\",\"\") != \"b\")\"><set-header name=\"X-Raw\" "
              "exists-action=\"override\"><value>1</value></set-header></when></choose>"
              "</inbound><backend><base /></backend><outbound><base /></outbound>"
              "<on-error><base /></on-error></policies>")
FRAGMENT = ("<fragment><set-header name=\"X-Frag\" exists-action=\"override\"><value>%s"
            "</value></set-header></fragment>")


class PolicyTest(AdminCase):

    @classmethod
    def setup_gateways(cls):
        super().setup_gateways()
        cls.gw.cli("api", "set", "pol", "--path", "pol", "--backend", cls.be.url(""))
        cls.gw.cli("op", "set", "pol", "get", "--method", "GET", "--url-template", "/x")

    def put_policy(self, path, value, fmt="rawxml", **kw):
        props = {"value": value}
        if fmt is not None:
            props["format"] = fmt
        return self.req("PUT", path, {"properties": props}, **kw)

    def test_scopes_crud(self):
        for path, typ in (("/policies/policy", "Microsoft.ApiManagement/service/policies"),
                          ("/apis/pol/policies/policy",
                           "Microsoft.ApiManagement/service/apis/policies"),
                          ("/apis/pol/operations/get/policies/policy",
                           "Microsoft.ApiManagement/service/apis/operations/policies")):
            self.assertError(self.req("GET", path), 404, "ResourceNotFound", "not set")
            r = self.put_policy(path, POLICY % "one")
            self.assertEqual(r.status, 201, r)
            j = r.json()
            self.assertEqual((j["id"], j["name"], j["type"]), (path, "policy", typ))
            self.assertEqual(j["properties"], {"format": "rawxml", "value": POLICY % "one"})
            etag = r.headers["etag"]
            g = self.req("GET", path + "?api-version=2022-08-01&format=rawxml")
            self.assertEqual((g.status, g.headers["etag"]), (200, etag))
            lst = self.req("GET", path[:-len("/policy")])
            self.assertEqual(lst.json()["count"], 1)
            self.assertEqual(lst.json()["value"][0]["id"], path)
            r = self.put_policy(path, POLICY % "two", headers={"If-Match": '"stale"'})
            self.assertError(r, 412, "PreconditionFailed")
            r = self.put_policy(path, POLICY % "two", headers={"If-Match": etag})
            self.assertEqual(r.status, 200, r)
            self.assertNotEqual(r.headers["etag"], etag)
            self.assertError(self.req("DELETE", path, headers={"If-Match": etag}), 412,
                             "PreconditionFailed")
            self.assertEqual(self.req("DELETE", path).status, 200)
            self.assertEqual(self.req("DELETE", path).status, 204)
            self.assertEqual(self.req("GET", path[:-len("/policy")]).json(),
                             {"value": [], "count": 0})

    def test_rawxml_and_xml(self):
        r = self.put_policy("/apis/pol/policies/policy", POLICY_RAW)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["properties"]["value"], POLICY_RAW)
        # The same text is not well-formed XML: format xml refuses it.
        r = self.put_policy("/apis/pol/policies/policy", POLICY_RAW, fmt="xml")
        self.assertError(r, 400, "ValidationError")
        self.assertEqual(self.req("GET", "/apis/pol/policies/policy").json()["properties"]
                         ["value"], POLICY_RAW)
        # No format: APIM's default, xml.
        r = self.put_policy("/apis/pol/policies/policy", POLICY % "x", fmt=None)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["properties"]["format"], "xml")
        self.assertEqual(self.req("DELETE", "/apis/pol/policies/policy").status, 200)

    def test_invalid_policies(self):
        path = "/policies/policy"
        m = self.assertError(self.put_policy(path, "<policies><inbound><nope/></inbound>"
                                             "</policies>"), 400, "ValidationError")
        self.assertRegex(m, r"\d+:\d+")
        m = self.assertError(self.put_policy(
            path, POLICY % "@(context.Request.Nope)"), 400, "ValidationError")
        self.assertRegex(m, r"\d+:\d+")
        self.assertError(self.put_policy(path, POLICY % "x", fmt="xml-link"), 400,
                         "ValidationError", "xml-link")
        self.assertError(self.req("PUT", path, {"properties": {"format": "rawxml"}}), 400,
                         "ValidationError", "properties.value")
        self.assertError(self.req("GET", path), 404, "ResourceNotFound")
        self.assertError(self.req("GET", "/apis/nope/policies/policy"), 404, "ResourceNotFound",
                         "nope")
        self.assertError(self.put_policy("/apis/pol/operations/nope/policies/policy",
                                         POLICY % "x"), 404, "ResourceNotFound", "nope")
        self.assertError(self.req("POST", path), 405, "MethodNotAllowed")

    def test_cli_sees_rest_policy_and_back(self):
        r = self.put_policy("/apis/pol/operations/get/policies/policy", POLICY % "rest")
        self.assertEqual(r.status, 201, r)
        cp = self.cli("policy", "show", "--api", "pol", "--operation", "get")
        self.assertIn(b"rest", cp.stdout)
        f = os.path.join(self.tmp, "cli-policy.xml")
        with open(f, "w") as fh:
            fh.write(POLICY % "cli")
        self.cli("policy", "set", "--api", "pol", "--operation", "get", f, "--format", "rawxml")
        g = self.req("GET", "/apis/pol/operations/get/policies/policy")
        self.assertEqual(g.json()["properties"]["value"], POLICY % "cli")
        self.assertEqual(self.req("DELETE", "/apis/pol/operations/get/policies/policy").status,
                         200)

    def test_gateway_applies_rest_policy(self):
        self.be.reset()
        r = self.put_policy("/apis/pol/policies/policy", POLICY % "gateway")
        self.assertIn(r.status, (200, 201), r)
        deadline = time.monotonic() + 10
        got = None
        while time.monotonic() < deadline:
            self.be.reset()
            c = self.gw.curl("/pol/x", host="a.test")
            if c.status == 200 and self.be.count():
                got = self.be.last().headers.get("X-From")
                if got == "gateway":
                    break
            time.sleep(0.2)
        self.assertEqual(got, "gateway")
        self.assertEqual(self.req("DELETE", "/apis/pol/policies/policy").status, 200)


class NamedValueTest(AdminCase):

    def test_plain_and_secret(self):
        r = self.req("PUT", "/namedValues/plain", {"properties": {
            "displayName": "plain", "value": "hello", "tags": ["t1", "t2"]}})
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(j["id"], "/namedValues/plain")
        self.assertEqual(j["type"], "Microsoft.ApiManagement/service/namedValues")
        self.assertEqual(j["properties"], {"displayName": "plain", "secret": False,
                                           "tags": ["t1", "t2"], "value": "hello"})
        secret = "s3cr3t-" + "9f8e7d6c5b4a"
        r = self.req("PUT", "/namedValues/sec", {"properties": {"value": secret,
                                                                "secret": True}})
        self.assertEqual(r.status, 201, r)
        self.assertNotIn(secret.encode(), r.body)
        self.assertNotIn("value", r.json()["properties"])
        etag = r.headers["etag"]
        g = self.req("GET", "/namedValues/sec")
        self.assertEqual((g.status, g.headers["etag"]), (200, etag))
        self.assertNotIn(secret.encode(), g.body)
        lst = self.req("GET", "/namedValues")
        self.assertNotIn(secret.encode(), lst.body)
        self.assertTrue({"plain", "sec"} <= {v["name"] for v in lst.json()["value"]})
        lv = self.req("POST", "/namedValues/sec/listValue")
        self.assertEqual((lv.status, lv.json()), (200, {"value": secret}))
        self.assertEqual(self.req("POST", "/namedValues/plain/listValue").json(),
                         {"value": "hello"})
        self.assertError(self.req("POST", "/namedValues/none/listValue"), 404,
                         "ResourceNotFound")
        self.assertError(self.req("GET", "/namedValues/sec/listValue"), 405, "MethodNotAllowed")
        # A new secret value changes the ETag, shows nothing.
        r = self.req("PUT", "/namedValues/sec", {"properties": {"value": secret + "x",
                                                                "secret": True}},
                     headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.headers["etag"], etag)
        self.assertError(self.req("DELETE", "/namedValues/sec", headers={"If-Match": etag}),
                         412, "PreconditionFailed")
        self.assertNotIn(secret, self.gw.stderr())
        # The CLI sees it (and hides the secret too).
        cp = self.cli("nv", "list", "--json")
        self.assertIn(b"sec", cp.stdout)
        self.assertNotIn(secret.encode(), cp.stdout)
        self.assertEqual(self.req("DELETE", "/namedValues/sec").status, 200)
        self.assertEqual(self.req("DELETE", "/namedValues/sec").status, 204)
        self.assertEqual(self.req("DELETE", "/namedValues/plain").status, 200)

    def test_errors_and_conflict(self):
        self.assertError(self.req("PUT", "/namedValues/nv1", {"properties": {
            "displayName": "other", "value": "v"}}), 400, "ValidationError", "displayName")
        self.assertError(self.req("PUT", "/namedValues/nv1", {"properties": {
            "secret": True}}), 400, "ValidationError", "properties.value")
        self.assertError(self.req("PUT", "/namedValues/nv1", {"properties": {
            "value": "v", "tags": "t"}}), 400, "ValidationError", "tags")
        self.assertError(self.req("PUT", "/namedValues/nv1", {"properties": {
            "value": "v", "keyVault": {"secretIdentifier": "https://kv/secrets/x"}}}), 400,
            "ValidationError", "keyVault")
        self.assertError(self.req("PUT", "/namedValues/bad%20name", {"properties": {
            "value": "v"}}), 400, "ValidationError")
        self.assertError(self.req("GET", "/namedValues/nv1"), 404, "ResourceNotFound")
        self.assertEqual(self.req("PUT", "/namedValues/used", {"properties": {
            "value": "v1"}}).status, 201)
        r = self.req("PUT", "/policies/policy", {"properties": {
            "format": "rawxml", "value": POLICY % "{{used}}"}})
        self.assertEqual(r.status, 201, r)
        self.assertError(self.req("DELETE", "/namedValues/used"), 409, "Conflict", "used")
        self.assertEqual(self.req("GET", "/namedValues/used").status, 200)
        self.assertEqual(self.req("DELETE", "/policies/policy").status, 200)
        self.assertEqual(self.req("DELETE", "/namedValues/used").status, 200)


class FragmentTest(AdminCase):

    def test_crud_and_conflict(self):
        r = self.req("PUT", "/policyFragments/frag", {"properties": {
            "description": "sets X-Frag", "format": "rawxml", "value": FRAGMENT % "1"}})
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(j["id"], "/policyFragments/frag")
        self.assertEqual(j["type"], "Microsoft.ApiManagement/service/policyFragments")
        self.assertEqual(j["properties"], {"description": "sets X-Frag", "format": "rawxml",
                                           "value": FRAGMENT % "1"})
        etag = r.headers["etag"]
        g = self.req("GET", "/policyFragments/frag")
        self.assertEqual((g.status, g.headers["etag"]), (200, etag))
        self.assertIn("/policyFragments/frag",
                      [f["id"] for f in self.req("GET", "/policyFragments").json()["value"]])
        # Description left out: kept.
        r = self.req("PUT", "/policyFragments/frag", {"properties": {
            "format": "rawxml", "value": FRAGMENT % "2"}}, headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["properties"]["description"], "sets X-Frag")
        self.assertError(self.req("PUT", "/policyFragments/frag", {"properties": {
            "format": "rawxml", "value": FRAGMENT % "3"}}, headers={"If-Match": etag}), 412,
            "PreconditionFailed")
        m = self.assertError(self.req("PUT", "/policyFragments/bad", {"properties": {
            "format": "rawxml", "value": "<fragment><nope/></fragment>"}}), 400,
            "ValidationError")
        self.assertRegex(m, r"\d+:\d+")
        self.assertError(self.req("GET", "/policyFragments/bad"), 404, "ResourceNotFound")
        r = self.req("PUT", "/policies/policy", {"properties": {"format": "rawxml", "value":
            "<policies><inbound><base /><include-fragment fragment-id=\"frag\" /></inbound>"
            "<backend><base /></backend><outbound><base /></outbound>"
            "<on-error><base /></on-error></policies>"}})
        self.assertEqual(r.status, 201, r)
        self.assertError(self.req("DELETE", "/policyFragments/frag"), 409, "Conflict")
        cp = self.cli("fragment", "list", "--json")
        self.assertIn(b"frag", cp.stdout)
        self.assertEqual(self.req("DELETE", "/policies/policy").status, 200)
        self.assertEqual(self.req("DELETE", "/policyFragments/frag").status, 200)
        self.assertEqual(self.req("DELETE", "/policyFragments/frag").status, 204)


class CertificateTest(AdminCase):

    def b64file(self, path):
        with open(path, "rb") as f:
            return base64.b64encode(f.read()).decode()

    def pfx(self, cf, password):
        out = os.path.join(self.tmp, "cert-%s.pfx" % os.path.basename(cf.leaf))
        cgtest.run(["openssl", "pkcs12", "-export", "-in", cf.leaf, "-inkey", cf.key,
                    "-out", out, "-passout", "pass:" + password])
        return self.b64file(out)

    def test_der_and_pfx(self):
        cf = self.pki.client("upload-der")
        r = self.req("PUT", "/certificates/der1", {"properties": {
            "data": base64.b64encode(cf.der).decode()}})
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(j["id"], "/certificates/der1")
        self.assertEqual(j["type"], "Microsoft.ApiManagement/service/certificates")
        p = j["properties"]
        self.assertEqual(p["thumbprint"], cf.thumbprint)
        self.assertIn("CN=upload-der", p["subject"])
        self.assertRegex(p["expirationDate"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertIs(p["hasPrivateKey"], False)
        etag = r.headers["etag"]
        g = self.req("GET", "/certificates/der1")
        self.assertEqual((g.status, g.headers["etag"], g.json()), (200, etag, j))
        self.assertIn("/certificates/der1",
                      [c["id"] for c in self.req("GET", "/certificates").json()["value"]])

        # The same certificate under another id: refused.
        self.assertError(self.req("PUT", "/certificates/der2", {"properties": {
            "data": base64.b64encode(cf.der).decode()}}), 400, "ValidationError",
            "already stored")

        # A PFX with its key: stored for backend mTLS, never shown.
        cf2 = self.pki.client("upload-pfx")
        enc = self.pfx(cf2, "pfx-pass-123")
        self.assertError(self.req("PUT", "/certificates/pfx1", {"properties": {
            "data": enc, "password": "wrong"}}), 400, "ValidationError")
        r = self.req("PUT", "/certificates/pfx1", {"properties": {
            "data": enc, "password": "pfx-pass-123"}})
        self.assertEqual(r.status, 201, r)
        self.assertIs(r.json()["properties"]["hasPrivateKey"], True)
        self.assertEqual(r.json()["properties"]["thumbprint"], cf2.thumbprint)
        self.assertNotIn(b"PRIVATE KEY", r.body)
        self.assertNotIn(b"pfx-pass-123", r.body)
        self.assertNotIn("pfx-pass-123", self.gw.stderr())

        # Replace der1 with another certificate: 200, new ETag.
        cf3 = self.pki.client("upload-der3")
        r = self.req("PUT", "/certificates/der1", {"properties": {
            "data": base64.b64encode(cf3.der).decode()}}, headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["properties"]["thumbprint"], cf3.thumbprint)
        self.assertNotEqual(r.headers["etag"], etag)
        self.assertError(self.req("DELETE", "/certificates/der1", headers={"If-Match": etag}),
                         412, "PreconditionFailed")

        # The CLI sees REST uploads, and REST sees CLI uploads.
        self.assertIn(cf2.thumbprint.encode(), self.cli("cert", "list", "--json").stdout)
        cf4 = self.pki.client("upload-cli")
        self.cli("cert", "add", "fromcli", cf4.leaf)
        g = self.req("GET", "/certificates/fromcli")
        self.assertEqual(g.json()["properties"]["thumbprint"], cf4.thumbprint)
        self.assertEqual(self.req("DELETE", "/certificates/fromcli").status, 200)

        for cid in ("der1", "pfx1"):
            self.assertEqual(self.req("DELETE", "/certificates/" + cid).status, 200)
            self.assertEqual(self.req("DELETE", "/certificates/" + cid).status, 204)
            self.assertError(self.req("GET", "/certificates/" + cid), 404, "ResourceNotFound")

    def test_errors(self):
        self.assertError(self.req("PUT", "/certificates/e1", {"properties": {}}), 400,
                         "ValidationError", "properties.data")
        self.assertError(self.req("PUT", "/certificates/e1", {"properties": {
            "data": "***"}}), 400, "ValidationError", "base64")
        self.assertError(self.req("PUT", "/certificates/e1", {"properties": {
            "data": base64.b64encode(b"garbage").decode()}}), 400, "ValidationError")
        self.assertError(self.req("PUT", "/certificates/e1", {"properties": {
            "keyVault": {"secretIdentifier": "https://kv.vault.azure.net/secrets/x"}}}), 400,
            "ValidationError", "keyVault")
        self.assertEqual(self.req("GET", "/certificates/e1").status, 404)

    def test_ca_certificates(self):
        r = self.req("PUT", "/caCertificates/root", {"properties": {
            "storeName": "Root", "data": self.b64file(self.pki.root_pem)}})
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(j["id"], "/caCertificates/root")
        self.assertEqual(j["properties"]["storeName"], "Root")
        self.assertEqual(j["properties"]["thumbprint"],
                         cgtest.thumbprint_of_pem(self.pki.root_pem))
        etag = r.headers["etag"]
        self.assertEqual(self.req("GET", "/caCertificates/root").headers["etag"], etag)
        r = self.req("PUT", "/caCertificates/inter", {"properties": {
            "storeName": "CertificateAuthority", "data": self.b64file(self.pki.inter.leaf)}})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["properties"]["storeName"], "CertificateAuthority")
        ids = [c["id"] for c in self.req("GET", "/caCertificates").json()["value"]]
        self.assertTrue({"/caCertificates/root", "/caCertificates/inter"} <= set(ids), ids)
        leaf = self.pki.client("not-a-ca")
        self.assertError(self.req("PUT", "/caCertificates/leaf", {"properties": {
            "data": base64.b64encode(leaf.der).decode()}}), 400, "ValidationError")
        self.assertError(self.req("PUT", "/caCertificates/x", {"properties": {
            "storeName": "My", "data": self.b64file(self.pki.root_pem)}}), 400,
            "ValidationError", "storeName")
        self.assertError(self.req("DELETE", "/caCertificates/root", headers={"If-Match": '"x"'}),
                         412, "PreconditionFailed")
        for cid in ("root", "inter"):
            self.assertEqual(self.req("DELETE", "/caCertificates/" + cid).status, 200)
            self.assertEqual(self.req("DELETE", "/caCertificates/" + cid).status, 204)
        self.assertError(self.req("GET", "/caCertificates/root"), 404, "ResourceNotFound")


class BackendTest(AdminCase):

    def upload_pfx(self, cid, cn):
        cf = self.pki.client(cn)
        out = os.path.join(self.tmp, "be-%s.pfx" % cn)
        cgtest.run(["openssl", "pkcs12", "-export", "-in", cf.leaf, "-inkey", cf.key,
                    "-out", out, "-passout", "pass:pw"])
        with open(out, "rb") as f:
            data = base64.b64encode(f.read()).decode()
        r = self.req("PUT", "/certificates/" + cid, {"properties": {"data": data,
                                                                      "password": "pw"}})
        self.assertEqual(r.status, 201, r)
        return cf

    def test_crud_and_client_certificate(self):
        url = self.be.url("/b")
        r = self.req("PUT", "/backends/orders", {"properties": {"url": url,
                                                                "protocol": "http"}})
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(j["id"], "/backends/orders")
        self.assertEqual(j["type"], "Microsoft.ApiManagement/service/backends")
        self.assertEqual(j["properties"]["url"], url)
        self.assertEqual(j["properties"]["credentials"], {"certificateIds": []})
        self.assertEqual(j["properties"]["tls"], {"validateCertificateChain": True,
                                                  "validateCertificateName": True})
        etag = r.headers["etag"]
        g = self.req("GET", "/backends/orders")
        self.assertEqual((g.status, g.headers["etag"]), (200, etag))
        self.assertIn("/backends/orders",
                      [b["id"] for b in self.req("GET", "/backends").json()["value"]])

        self.upload_pfx("be-client", "backend-client")
        r = self.req("PUT", "/backends/orders", {"properties": {
            "credentials": {"certificateIds": ["/certificates/be-client"], "header": {},
                            "query": {}},
            "tls": {"validateCertificateChain": False}}}, headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r)
        p = r.json()["properties"]
        self.assertEqual(p["url"], url)  # kept
        self.assertEqual(p["credentials"]["certificateIds"], ["/certificates/be-client"])
        self.assertEqual(p["tls"], {"validateCertificateChain": False,
                                    "validateCertificateName": True})
        self.assertNotEqual(r.headers["etag"], etag)
        self.assertError(self.req("PUT", "/backends/orders", {"properties": {"url": url}},
                                  headers={"If-Match": etag}), 412, "PreconditionFailed")
        # The certificate is in use: 409 until the backend lets go of it.
        self.assertError(self.req("DELETE", "/certificates/be-client"), 409, "Conflict")
        self.assertIn(b"orders", self.cli("backend", "list", "--json").stdout)
        r = self.req("PUT", "/backends/orders", {"properties": {
            "credentials": {"certificateIds": []}}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["properties"]["credentials"], {"certificateIds": []})
        self.assertEqual(self.req("DELETE", "/certificates/be-client").status, 200)
        self.assertEqual(self.req("DELETE", "/backends/orders").status, 200)
        self.assertEqual(self.req("DELETE", "/backends/orders").status, 204)
        self.assertError(self.req("GET", "/backends/orders"), 404, "ResourceNotFound")

    def test_errors(self):
        url = self.be.url("")
        cf = self.pki.client("keyless")
        self.assertEqual(self.req("PUT", "/certificates/keyless", {"properties": {
            "data": base64.b64encode(cf.der).decode()}}).status, 201)
        for props, contains in (
                ({}, None),
                ({"url": "ftp://x/"}, "ftp://x/"),
                ({"url": url, "protocol": "soap"}, "protocol"),
                ({"url": url, "type": "Pool"}, "type"),
                ({"url": url, "pool": {"services": []}}, "pool"),
                ({"url": url, "proxy": {"url": "http://p"}}, "proxy"),
                ({"url": url, "credentials": {"header": {"x-key": ["v"]}}}, "header"),
                ({"url": url, "credentials": {"certificateIds": ["a", "b"]}}, "at most one"),
                ({"url": url, "credentials": {"certificateIds": ["/certificates/none"]}},
                 "none"),
                ({"url": url, "credentials": {"certificateIds": ["/certificates/keyless"]}},
                 "keyless"),
                ({"url": url, "credentials": {"certificateIds": ["/apis/x"]}}, "/apis/x"),
                ({"url": url, "tls": {"validateCertificateChain": "no"}},
                 "validateCertificateChain")):
            self.assertError(self.req("PUT", "/backends/bad", {"properties": props}), 400,
                             "ValidationError", contains)
        self.assertEqual(self.req("GET", "/backends/bad").status, 404)
        self.assertEqual(self.req("DELETE", "/certificates/keyless").status, 200)


class SubscriptionTest(AdminCase):

    def test_crud_secrets_and_gateway(self):
        url = self.be.url("/s")
        r = self.req("PUT", "/apis/paid", {"properties": {
            "path": "paid", "serviceUrl": url, "subscriptionRequired": True,
            "subscriptionKeyParameterNames": {"header": "X-Key", "query": "key"}}})
        self.assertEqual(r.status, 201, r)
        p = r.json()["properties"]
        self.assertIs(p["subscriptionRequired"], True)
        self.assertEqual(p["subscriptionKeyParameterNames"], {"header": "X-Key", "query": "key"})

        r = self.req("PUT", ARM + "/subscriptions/s1", {"properties": {
            "displayName": "S One", "scope": "/apis/paid", "state": "active",
            "primaryKey": "admin-primary-0001", "ownerId": "/users/1"}})
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(j["id"], "/subscriptions/s1")
        self.assertEqual(j["type"], "Microsoft.ApiManagement/service/subscriptions")
        self.assertEqual(j["properties"]["scope"], "/apis/paid")
        self.assertEqual(j["properties"]["state"], "active")
        self.assertIsNone(j["properties"]["expirationDate"])
        # keys only through listSecrets (APIM)
        self.assertNotIn("admin-primary-0001", r.body.decode())
        etag = r.headers["etag"]
        g = self.req("GET", "/subscriptions/s1")
        self.assertEqual((g.status, g.headers["etag"]), (200, etag))
        self.assertNotIn("Key", json.dumps(g.json()))
        self.assertIn("s1", [x["name"] for x in self.req("GET", "/subscriptions").json()["value"]])
        keys = self.req("POST", "/subscriptions/s1/listSecrets").json()
        self.assertEqual(keys["primaryKey"], "admin-primary-0001")
        self.assertRegex(keys["secondaryKey"], "^[0-9a-f]{32}$")

        # the gateway honours it, through the API's own header name
        def call(key):
            return self.gw.curl("/paid/x", host="a.test", headers=["X-Key: " + key]).status
        cgtest.poll(lambda: call("admin-primary-0001") == 200, timeout=10)
        self.assertEqual(call(keys["secondaryKey"]), 200)

        r = self.req("POST", "/subscriptions/s1/regeneratePrimaryKey")
        self.assertEqual(r.status, 204, r)
        new = self.req("POST", "/subscriptions/s1/listSecrets").json()
        self.assertNotEqual(new["primaryKey"], "admin-primary-0001")
        self.assertEqual(new["secondaryKey"], keys["secondaryKey"])
        self.assertNotEqual(self.req("GET", "/subscriptions/s1").headers["etag"], etag)
        cgtest.poll(lambda: call("admin-primary-0001") == 401, timeout=10)
        self.assertEqual(call(new["primaryKey"]), 200)

        r = self.req("PUT", "/subscriptions/s1", {"properties": {"state": "suspended"}})
        self.assertEqual((r.status, r.json()["properties"]["state"]), (200, "suspended"))
        cgtest.poll(lambda: call(new["primaryKey"]) == 401, timeout=10)
        self.assertEqual(self.req("DELETE", "/subscriptions/s1").status, 200)
        self.assertEqual(self.req("GET", "/subscriptions/s1").status, 404)
        self.assertEqual(self.req("POST", "/subscriptions/s1/listSecrets").status, 404)
        self.assertError(self.req("GET", "/subscriptions/s1/listSecrets"), 405,
                         "MethodNotAllowed")

    def test_bad_input_changes_nothing(self):
        self.req("PUT", "/subscriptions/keep", {"properties": {
            "scope": "/apis", "primaryKey": "keep-primary-00001"}})
        before = self.req("GET", "/subscriptions").body
        for body, contains in (
                ({"scope": "/apis/nope"}, "API 'nope' does not exist"),
                ({"scope": "/products/p"}, "scope: product 'p' does not exist"),
                ({"scope": "/apis", "state": "paused"}, "is not one of active"),
                ({"scope": "/apis", "primaryKey": "keep-primary-00001"},
                 "already a key of subscription 'keep'"),
                ({"scope": "/apis", "expirationDate": "soon"}, "YYYY-MM-DDTHH:MM:SSZ"),
                ({"scope": 7}, "properties.scope must be a string"),
                ({}, "a scope")):
            with self.subTest(body=body):
                self.assertError(self.req("PUT", "/subscriptions/bad", {"properties": body}),
                                 400, "ValidationError", contains)
        self.assertError(self.req("PUT", "/subscriptions/bad", '{"properties": {"scope": }'),
                         400, "InvalidRequestContent")
        self.assertEqual(self.req("GET", "/subscriptions").body, before)


class HttpTest(AdminCase):

    def test_keep_alive(self):
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10)
        try:
            for _ in range(3):
                r = self.req("GET", "/apis", conn=c)
                self.assertEqual(r.status, 200)
            sock = c.sock
            r = self.req("GET", "/hostnames", conn=c)
            self.assertIs(c.sock, sock)  # same connection
        finally:
            c.close()

    def test_pipelined(self):
        one = ("GET /apis HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % TOKEN)
        last = ("GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                "Authorization: Bearer %s\r\n\r\n" % TOKEN)
        out = self.raw((one * 3 + last).encode())
        self.assertEqual(out.count(b"HTTP/1.1 200 OK"), 3, out)
        self.assertEqual(out.count(b"HTTP/1.1 404 "), 1, out)

    def test_chunked_body(self):
        body = json.dumps({"properties": {"path": "chunky", "serviceUrl": "http://127.0.0.1:9"}})
        chunks = "".join("%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7])
                         for i in range(0, len(body), 7))
        out = self.raw(("PUT /apis/chunky HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                        "Connection: close\r\nAuthorization: Bearer %s\r\n\r\n%s0\r\n\r\n"
                        % (TOKEN, chunks)).encode())
        self.assertTrue(out.startswith(b"HTTP/1.1 201 "), out)
        self.assertEqual(self.req("GET", "/apis/chunky").status, 200)

    def test_body_at_limit_is_accepted(self):
        core = json.dumps({"properties": {"path": "big", "serviceUrl": "http://127.0.0.1:9"}})
        body = core + " " * (MAX_BODY - len(core))
        self.assertEqual(len(body), MAX_BODY)
        r = self.req("PUT", "/apis/big", body)
        self.assertEqual(r.status, 201, r)

    def test_body_over_limit_is_413(self):
        head = ("PUT /apis/huge HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                "Authorization: Bearer %s\r\n\r\n" % (MAX_BODY + 1, TOKEN)).encode()
        out = self.raw(head + b"{" + b" " * 100)
        self.assertTrue(out.startswith(b"HTTP/1.1 413 "), out)
        self.assertIn(b"RequestEntityTooLarge", out)
        # Through http.client too (it sends the whole body; we answer early).
        try:
            r = self.req("PUT", "/apis/huge", "{" + " " * MAX_BODY + "}")
            self.assertError(r, 413, "RequestEntityTooLarge")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertEqual(self.req("GET", "/apis/huge").status, 404)

    def test_chunked_body_over_limit_is_413(self):
        chunk = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"
        n = MAX_BODY // 65536 + 1
        data = (("PUT /apis/huge2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 "Authorization: Bearer %s\r\n\r\n" % TOKEN).encode() + chunk * n +
                b"0\r\n\r\n")
        out = self.raw(data)
        self.assertTrue(out.startswith(b"HTTP/1.1 413 "), out)

    def test_bad_framing_is_400_and_head_limit_431(self):
        out = self.raw(b"PUT /apis/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out)
        out = self.raw(b"GET /apis HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (17 * 1024) +
                       b"\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431 "), out)
        # CG_ADMIN_MAX_HEADERS (64): at the limit fine, one more 431.
        auth = "Authorization: Bearer %s\r\n" % TOKEN
        def with_headers(n):
            extra = "".join("X-H%d: v\r\n" % i for i in range(n - 2))
            return ("GET /apis HTTP/1.1\r\nHost: x\r\n%s%sConnection: close\r\n\r\n"
                    % (auth, extra)).encode()
        out = self.raw(with_headers(64 - 1))  # + Connection = 64
        self.assertTrue(out.startswith(b"HTTP/1.1 200 "), out)
        out = self.raw(with_headers(65 - 1))
        self.assertTrue(out.startswith(b"HTTP/1.1 431 "), out)

    def test_expect_continue(self):
        body = json.dumps({"properties": {"path": "cont", "serviceUrl": "http://127.0.0.1:9"}})
        s = socket.create_connection(("127.0.0.1", self.admin_port), timeout=10)
        try:
            s.sendall(("PUT /apis/cont HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                       "Content-Length: %d\r\nAuthorization: Bearer %s\r\n\r\n"
                       % (len(body), TOKEN)).encode())
            got = s.recv(4096)
            self.assertTrue(got.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), got)
            s.sendall(body.encode())
            got = got[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
            deadline = time.monotonic() + 10
            while b"\r\n\r\n" not in got and time.monotonic() < deadline:
                got += s.recv(4096)
            self.assertTrue(got.startswith(b"HTTP/1.1 201 "), got)
        finally:
            s.close()

    def open_all(self):
        """MAX_CONNS connections, the last one proven accepted and served
        (the server accepts in order). Connections of earlier tests may
        still be closing on the server side: then retry, bounded."""
        req = ("GET /apis HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
               % TOKEN).encode()
        got = b""
        for _ in range(20):
            socks = [socket.create_connection(("127.0.0.1", self.admin_port), timeout=10)
                     for _ in range(MAX_CONNS)]
            socks[-1].sendall(req)
            got = socks[-1].recv(4096)
            if got.startswith(b"HTTP/1.1 200 "):
                return socks
            for s in socks:
                s.close()
            time.sleep(0.25)
        self.fail("could not hold %d connections: %r" % (MAX_CONNS, got))

    def test_connection_limit(self):
        socks = self.open_all()
        try:
            out = self.raw(("GET /apis HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s"
                            "\r\n\r\n" % TOKEN).encode())
            self.assertTrue(out.startswith(b"HTTP/1.1 503 "), out)
            self.assertIn(b"ServiceUnavailable", out)
        finally:
            for s in socks:
                s.close()
        self.assertEqual(cgtest.status_eventually(lambda: self.req("GET", "/apis").status, step=0.1), 200)

    def test_slots_of_clients_gone_are_free_for_a_new_one(self):
        # While the server is stopped a 65th client arrives, then the 64
        # leave: when it runs again the loop sees the accept before the 64
        # EOFs (readiness order), and the limit check must close the
        # connections whose client went away instead of turning it away.
        socks = self.open_all()
        pid = self.gw.proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            late = socket.create_connection(("127.0.0.1", self.admin_port), timeout=10)
            late.sendall(("GET /apis HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                          % TOKEN).encode())
            time.sleep(0.1)
            for s in socks:
                s.close()
            time.sleep(0.1)
        finally:
            os.kill(pid, signal.SIGCONT)
        try:
            got = late.recv(4096)
        finally:
            late.close()
        self.assertTrue(got.startswith(b"HTTP/1.1 200 "), got)

    def test_header_timeout(self):
        s = socket.create_connection(("127.0.0.1", self.admin_port), timeout=HEADER_TIMEOUT + 10)
        try:
            t0 = time.monotonic()
            s.sendall(b"GET /apis HTTP/1.1\r\nHost: x\r\n")
            d = s.recv(100)
            elapsed = time.monotonic() - t0
            self.assertEqual(d, b"")
            self.assertGreater(elapsed, HEADER_TIMEOUT - 1)
            self.assertLess(elapsed, HEADER_TIMEOUT + 5)
        finally:
            s.close()


class StartupTest(unittest.TestCase):
    """serve refuses bad admin settings before it starts."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cgit-admin-")
        cls.pki = cgtest.Pki(cls.tmp)
        cls.gw = cgtest.Gateway(cls.tmp, cls.pki, hosts=[{"name": "a.test", "default": True}])

    def serve(self, *extra):
        return cgtest.run([self.gw.bin, "--store", self.gw.store, "serve", "--listen",
                           "127.0.0.1:%d" % cgtest.free_port()] + list(extra), check=False,
                          timeout=30)

    def test_short_token_refused(self):
        f = os.path.join(self.tmp, "short.token")
        with open(f, "w") as fh:
            fh.write("short\n")
        cp = self.serve("--admin", "127.0.0.1:%d" % cgtest.free_port(), "--admin-token-file", f)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn(b"at least 16 bytes", cp.stderr)

    def test_missing_token_file_refused(self):
        cp = self.serve("--admin", "127.0.0.1:%d" % cgtest.free_port(), "--admin-token-file",
                        os.path.join(self.tmp, "absent"))
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn(b"absent", cp.stderr)

    def test_admin_needs_token_file(self):
        cp = self.serve("--admin", "127.0.0.1:%d" % cgtest.free_port())
        self.assertEqual(cp.returncode, 2, cp.stderr)

    def test_help_lists_admin_options(self):
        cp = cgtest.run([self.gw.bin, "serve", "--help"], check=False)
        self.assertIn(b"--admin-token-file", cp.stdout)


class ProductTest(AdminCase):

    PRODUCT_POLICY = ("<policies><inbound><base /><set-header name=\"X-Product\" "
                      "exists-action=\"override\"><value>@(context.Product.Name)</value>"
                      "</set-header></inbound><backend><base /></backend><outbound><base />"
                      "</outbound><on-error><base /></on-error></policies>")

    def test_crud_apis_policy_and_gateway(self):
        r = self.req("PUT", "/apis/gold-api", {"properties": {
            "path": "gold", "serviceUrl": self.be.url("/g"), "subscriptionRequired": True}})
        self.assertEqual(r.status, 201, r)
        r = self.req("PUT", ARM + "/products/gold", {"properties": {
            "displayName": "Gold", "description": "the gold tier", "terms": "ignored",
            "subscriptionsLimit": 2}})
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual((j["id"], j["name"], j["type"]),
                         ("/products/gold", "gold", "Microsoft.ApiManagement/service/products"))
        self.assertEqual(j["properties"], {
            "displayName": "Gold", "description": "the gold tier",
            "subscriptionRequired": True, "approvalRequired": False,
            "subscriptionsLimit": 2, "state": "notPublished"})
        self.assertIn("gold", [x["name"] for x in self.req("GET", "/products").json()["value"]])
        r = self.req("PUT", "/products/gold/apis/gold-api")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["id"], "/products/gold/apis/gold-api")
        self.assertEqual(self.req("PUT", "/products/gold/apis/gold-api").status, 200)
        self.assertEqual(self.req("GET", "/products/gold/apis/gold-api").status, 200)
        lst = self.req("GET", "/products/gold/apis").json()
        self.assertEqual(([x["name"] for x in lst["value"]], lst["count"]), (["gold-api"], 1))
        r = self.req("PUT", "/products/gold/policies/policy", {"properties": {
            "format": "rawxml", "value": self.PRODUCT_POLICY}})
        self.assertIn(r.status, (200, 201), r)
        g = self.req("GET", "/products/gold/policies/policy")
        self.assertEqual(g.status, 200, g)
        self.assertEqual(g.json()["type"], "Microsoft.ApiManagement/service/products/policies")
        r = self.req("PUT", "/subscriptions/gs", {"properties": {
            "scope": "/products/gold", "state": "active", "primaryKey": "gold-primary-0001"}})
        self.assertEqual((r.status, r.json()["properties"]["scope"]), (201, "/products/gold"), r)

        def call(key="gold-primary-0001"):
            return self.gw.curl("/gold/x", host="a.test",
                                headers=["Ocp-Apim-Subscription-Key: " + key]).status
        # notPublished grants nothing; published does, with the product policy
        cgtest.poll(lambda: call() == 401, timeout=10)
        r = self.req("PUT", "/products/gold", {"properties": {"state": "published"}})
        self.assertEqual((r.status, r.json()["properties"]["state"]), (200, "published"), r)
        self.assertEqual(r.json()["properties"]["description"], "the gold tier")  # kept
        cgtest.poll(lambda: call() == 200, timeout=10)
        self.assertEqual(self.be.last().headers.get("X-Product"), "Gold")

        # a product with subscriptions is removed only with them (APIM)
        self.assertError(self.req("DELETE", "/products/gold"), 409, "Conflict",
                         "has 1 subscription")
        self.assertEqual(self.req("GET", "/subscriptions/gs").status, 200)
        self.assertEqual(self.req("DELETE", "/products/gold/apis/gold-api").status, 200)
        self.assertEqual(self.req("GET", "/products/gold/apis/gold-api").status, 404)
        cgtest.poll(lambda: call() == 401, timeout=10)
        r = self.req("DELETE", "/products/gold?deleteSubscriptions=true&api-version=2022-08-01")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.req("GET", "/products/gold").status, 404)
        self.assertEqual(self.req("GET", "/subscriptions/gs").status, 404)
        self.assertEqual(self.req("DELETE", "/products/gold").status, 204)

    def test_bad_input_changes_nothing(self):
        self.req("PUT", "/products/keep", {"properties": {"displayName": "Keep"}})
        before = self.req("GET", "/products").body
        for path, body, status, code, msg in (
                ("/products/keep", {"properties": {"state": "open"}}, 400, "ValidationError",
                 "product state 'open'"),
                ("/products/keep", {"properties": {"subscriptionsLimit": -1}}, 400,
                 "ValidationError", "subscriptionsLimit"),
                ("/products/keep", {"properties": {"subscriptionRequired": "yes"}}, 400,
                 "ValidationError", "subscriptionRequired"),
                ("/products/keep/apis/nope", None, 404, "ResourceNotFound",
                 "API 'nope' does not exist"),
                ("/products/nope/apis/nope", None, 404, "ResourceNotFound",
                 "product 'nope' does not exist"),
                ("/products/nope/policies/policy", {"properties": {
                    "format": "rawxml", "value": self.PRODUCT_POLICY}}, 404,
                 "ResourceNotFound", "product 'nope' not found"),
                ("/products/keep/policies/policy", {"properties": {
                    "format": "rawxml", "value": "<policies><inbound><nope /></inbound>"
                    "</policies>"}}, 400, "ValidationError", "1:")):
            with self.subTest(path=path, body=body):
                self.assertError(self.req("PUT", path, body), status, code, msg)
                self.assertEqual(self.req("GET", "/products").body, before)
        self.assertEqual(self.req("GET", "/products/keep/policies/policy").status, 404)


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
