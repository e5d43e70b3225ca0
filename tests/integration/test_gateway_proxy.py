"""Proxy behaviour: what the backend receives (Host, X-Forwarded-*, no hop-
by-hop headers, no client-certificate headers from the client), what the
client receives back, keep-alive to backends, backend errors (502/504),
HTTPS backends verified against the system CA store."""

import json
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402
from cgtest import BResp  # noqa: E402

EXPECTED_FAILURES = set()

HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade")
CERT_HEADERS = ("X-Forwarded-Client-Cert", "Client-Cert", "Client-Cert-Chain",
                "X-SSL-Client-Cert", "X-SSL-Client-Verify", "x-ssl-client-s-dn",
                "X-Ssl-Client-Sha1", "X-SSL-CLIENT-I-DN",
                # Underscore spellings: many backends (CGI, nginx, WSGI) map
                # '_' and '-' to the same variable.
                "X_Forwarded_Client_Cert", "Client_Cert", "X_SSL_Client_Verify",
                "x-ssl_client-cert")


class ProxyTest(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.be = cls.backend()
        # A port that refuses connections: bound, never listening.
        cls.dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        cls.dead.bind(("127.0.0.1", 0))
        dead_port = cls.dead.getsockname()[1]
        cls.tls_be = cls.tls_backend(cls.pki.client("backend-self", "selfsigned").cert,
                                     cls.pki.client("backend-self", "selfsigned").key)
        # A backend whose accept queue is full: connects hang (SYN dropped).
        cls.blackhole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        cls.blackhole.bind(("127.0.0.1", 0))
        cls.blackhole.listen(0)
        cls.fillers = []
        for _ in range(4):
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            f.setblocking(False)
            try:
                f.connect(cls.blackhole.getsockname())
            except BlockingIOError:
                pass
            cls.fillers.append(f)
        # A "TLS" backend that accepts TCP and never says a word.
        cls.mute = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        cls.mute.bind(("127.0.0.1", 0))
        cls.mute.listen(16)
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True},
                   {"name": "secure.test", "negotiate": True}],
            # every API is also called over the plain-HTTP listener
            apis=[dict(a, protocols="http,https") for a in [
                  {"id": "echo", "path": "echo", "backend": cls.be.url("/base")},
                  {"id": "dead", "path": "dead", "backend": "http://127.0.0.1:%d/x" % dead_port},
                  {"id": "tlsself", "path": "tlsself", "backend": cls.tls_be.url("/t")},
                  {"id": "hole", "path": "hole",
                   "backend": "http://127.0.0.1:%d/h" % cls.blackhole.getsockname()[1]},
                  {"id": "mute", "path": "mute",
                   "backend": "https://127.0.0.1:%d/m" % cls.mute.getsockname()[1]},
                  {"id": "tlspriv", "path": "tlspriv",
                   "backend": "https://127.0.0.1:%d/t" % cls.tls_be.port}]],
            http_listen=True,
            serve_args=["--backend-timeout", "1.5", "--backend-connect-timeout", "2.5"])

    @classmethod
    def tearDownClass(cls):
        for s in [cls.dead, cls.blackhole, cls.mute] + cls.fillers:
            s.close()
        super().tearDownClass()

    def setUp(self):
        self.be.reset()

    def raw(self, req, tls=True, sni="open.test", cert=None):
        c = self.gw.tls(sni=sni, cert=cert.cert if cert else None,
                        key=cert.key if cert else None) if tls else self.gw.tcp()
        try:
            c.send(req)
            return c.read_response(timeout=10)
        finally:
            c.close()

    # ---- request side

    def test_host_sent_to_backend_is_backend_authority(self):
        r = self.gw.curl("/echo/h")
        self.assertEqual(r.status, 200)
        self.assertEqual(self.be.last().headers.get_all("host"), ["127.0.0.1:%d" % self.be.port])

    def test_x_forwarded_headers_https(self):
        r = self.raw(b"GET /echo/f HTTP/1.1\r\nHost: open.test:%d\r\n\r\n" % self.gw.port)
        self.assertEqual(r.status, 200)
        h = self.be.last().headers
        self.assertEqual(h.get_all("x-forwarded-for"), ["127.0.0.1"])
        self.assertEqual(h.get_all("x-forwarded-proto"), ["https"])
        self.assertEqual(h.get_all("x-forwarded-host"), ["open.test:%d" % self.gw.port])

    def test_x_forwarded_headers_http(self):
        r = self.raw(b"GET /echo/f HTTP/1.1\r\nHost: plain.test\r\n\r\n", tls=False)
        self.assertEqual(r.status, 200)
        h = self.be.last().headers
        self.assertEqual(h.get_all("x-forwarded-proto"), ["http"])
        self.assertEqual(h.get_all("x-forwarded-host"), ["plain.test"])
        self.assertEqual(h.get_all("x-forwarded-for"), ["127.0.0.1"])

    def test_x_forwarded_for_appended(self):
        r = self.raw(b"GET /echo/f HTTP/1.1\r\nHost: open.test\r\n"
                     b"X-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n\r\n")
        self.assertEqual(r.status, 200)
        xff = self.be.last().headers.get_all("x-forwarded-for")
        self.assertEqual([v.replace(" ", "") for v in xff], ["10.0.0.1,10.0.0.2,127.0.0.1"])

    def test_x_forwarded_for_several_lines(self):
        r = self.raw(b"GET /echo/f HTTP/1.1\r\nHost: open.test\r\n"
                     b"X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n\r\n")
        self.assertEqual(r.status, 200)
        xff = self.be.last().headers.get_all("x-forwarded-for")
        hops = [h.strip() for v in xff for h in v.split(",")]
        self.assertEqual(hops, ["1.1.1.1", "2.2.2.2", "127.0.0.1"])

    def test_client_supplied_forwarded_proto_and_host_replaced(self):
        r = self.raw(b"GET /echo/f HTTP/1.1\r\nHost: open.test\r\nX-Forwarded-Proto: http\r\n"
                     b"X-Forwarded-Host: evil.test\r\n\r\n")
        self.assertEqual(r.status, 200)
        h = self.be.last().headers
        self.assertEqual(h.get_all("x-forwarded-proto"), ["https"])
        self.assertEqual(h.get_all("x-forwarded-host"), ["open.test"])

    def test_hop_by_hop_request_headers_not_forwarded(self):
        r = self.raw(b"GET /echo/hop HTTP/1.1\r\nHost: open.test\r\n"
                     b"Connection: keep-alive, X-Private, Upgrade\r\nX-Private: secret\r\n"
                     b"Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n"
                     b"Trailer: X-T\r\nUpgrade: websocket\r\nX-Kept: yes\r\n\r\n")
        self.assertEqual(r.status, 200)
        h = self.be.last().headers
        for name in ("x-private", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
                     "transfer-encoding"):
            self.assertNotIn(name, h.names(), h)
        for v in h.get_all("connection"):
            self.assertNotIn("x-private", v.lower())
            self.assertNotIn("upgrade", v.lower())
        self.assertEqual(h.get_all("x-kept"), ["yes"])

    def test_client_certificate_headers_stripped(self):
        for sni, cert in (("open.test", None), ("secure.test", self.pki.client("hdr"))):
            with self.subTest(sni=sni):
                self.be.reset()
                req = b"GET /echo/cc HTTP/1.1\r\nHost: %s\r\n" % sni.encode()
                for n in CERT_HEADERS:
                    req += n.encode() + b": forged-" + n.encode() + b"\r\n"
                req += b"X-Client-Other: kept\r\n\r\n"
                r = self.raw(req, sni=sni, cert=cert)
                self.assertEqual(r.status, 200, r)
                h = self.be.last().headers
                for n in CERT_HEADERS:
                    self.assertNotIn(n.lower(), h.names(), h)
                for k, v in h.items:
                    self.assertNotIn("forged", v, (k, v))
                self.assertEqual(h.get_all("x-client-other"), ["kept"])

    def test_headers_and_body_forwarded_verbatim(self):
        body = b'{"a": 1, "b": [1, 2, 3]}'
        r = self.raw(b"PATCH /echo/v?x=%20y HTTP/1.1\r\nHost: open.test\r\n"
                     b"Content-Type: application/json\r\nX-Dup: one\r\nX-Dup: two\r\n"
                     b"X-Spaces:   padded value  \r\nContent-Length: " + str(len(body)).encode() +
                     b"\r\n\r\n" + body)
        self.assertEqual(r.status, 200)
        got = self.be.last()
        self.assertEqual(got.method, "PATCH")
        self.assertEqual(got.target, "/base/v?x=%20y")
        self.assertEqual(got.body, body)
        self.assertEqual(got.headers.get("content-type"), "application/json")
        self.assertEqual(", ".join(got.headers.get_all("x-dup")).replace(", ", ","), "one,two")
        self.assertEqual(got.headers.get("x-spaces"), "padded value")
        self.assertEqual(got.version, "HTTP/1.1")

    def test_obs_text_and_long_target_forwarded(self):
        q = "q=" + "v" * 8000
        r = self.raw(b"GET /echo/u?" + q.encode() + b" HTTP/1.1\r\nHost: open.test\r\n"
                     b"X-U: caf\xc3\xa9 \xff\r\n\r\n")
        self.assertEqual(r.status, 200)
        got = self.be.last()
        self.assertEqual(got.target, "/base/u?" + q)
        self.assertEqual(got.headers.get("x-u").encode("latin-1"), b"caf\xc3\xa9 \xff")

    # ---- response side

    def test_backend_status_headers_body_returned(self):
        self.be.reset(lambda q: BResp(201, b"created!", reason="Created",
                                      headers=[("X-Resp", "a"), ("Set-Cookie", "a=1"),
                                               ("Set-Cookie", "b=2"),
                                               ("Content-Type", "text/plain")]))
        r = self.raw(b"POST /echo/r HTTP/1.1\r\nHost: open.test\r\nContent-Length: 0\r\n\r\n")
        self.assertEqual(r.status, 201)
        self.assertEqual(r.body, b"created!")
        self.assertEqual(r.headers.get("x-resp"), "a")
        self.assertEqual(r.headers.get_all("set-cookie"), ["a=1", "b=2"])
        self.assertEqual(r.headers.get("content-type"), "text/plain")

    def test_backend_error_status_passed_through(self):
        self.be.reset(lambda q: BResp(500, b"boom"))
        r = self.gw.curl("/echo/err")
        self.assertEqual(r.status, 500)
        self.assertEqual(r.body, b"boom")

    def test_hop_by_hop_response_headers_not_returned(self):
        self.be.reset(lambda q: BResp(200, b"ok", headers=[
            ("Connection", "X-Bar"), ("X-Bar", "1"), ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"), ("Upgrade", "foo"), ("Trailer", "X-T"),
            ("X-Keep", "k")]))
        r = self.raw(b"GET /echo/hr HTTP/1.1\r\nHost: open.test\r\n\r\n")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"ok")
        for n in ("x-bar", "keep-alive", "proxy-connection", "upgrade", "trailer"):
            self.assertNotIn(n, r.headers.names(), r.headers)
        self.assertEqual(r.headers.get("x-keep"), "k")

    def test_backend_response_with_cl_and_te(self):
        self.be.reset(lambda q: BResp(mode="raw", raw=b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                                      b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
        r = self.raw(b"GET /echo/clte HTTP/1.1\r\nHost: open.test\r\n\r\n")
        self.assertFalse(r.headers.has("content-length") and r.headers.has("transfer-encoding"),
                         r.headers)
        if r.status == 200:
            self.assertEqual(r.body, b"hello")
        else:
            self.assertEqual(r.status, 502, r)

    def test_backend_response_with_differing_content_lengths_is_502(self):
        self.be.reset(lambda q: BResp(mode="raw", raw=b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                                      b"Content-Length: 5\r\n\r\nhello"))
        r = self.raw(b"GET /echo/cl2 HTTP/1.1\r\nHost: open.test\r\n\r\n")
        self.assertEqual(r.status, 502, r)
        self.assertApimError(502, r.body, r.headers)

    def test_backend_connection_close_is_honoured(self):
        self.be.reset(lambda q: BResp(200, b"bye", headers=[("Connection", "close")],
                                      keep_alive=False))
        c = self.gw.tls(sni="open.test")
        for i in range(4):  # back to back: no time for the FIN to be noticed
            c.send(b"GET /echo/cc%d HTTP/1.1\r\nHost: open.test\r\n\r\n" % i)
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, b"bye"), r)
        c.close()
        self.assertEqual(self.be.count(), 4)
        self.assertEqual(self.be.connections, 4)

    def test_http10_close_delimited_backend_response(self):
        self.be.reset(lambda q: BResp(mode="raw", raw=b"HTTP/1.0 200 OK\r\n"
                                      b"Content-Type: text/plain\r\n\r\nold-style body"))
        r = self.raw(b"GET /echo/h10 HTTP/1.1\r\nHost: open.test\r\n\r\n")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"old-style body")

    def test_backend_response_in_tiny_pieces(self):
        raw = (b"HTTP/1.1 200 OK\r\nX-Piece: yes\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        self.be.reset(lambda q: BResp(mode="raw", raw=raw, trickle=(3, 0.01), raw_keep=True))
        r = self.raw(b"GET /echo/tiny HTTP/1.1\r\nHost: open.test\r\n\r\n")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("x-piece"), "yes")
        self.assertEqual(r.body, b"hello world")

    def test_backend_interim_responses(self):
        for interim in (b"HTTP/1.1 100 Continue\r\n\r\n",
                        b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"):
            with self.subTest(interim=interim[:12]):
                raw = interim + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"
                self.be.reset(lambda q: BResp(mode="raw", raw=raw, raw_keep=True))
                c = self.gw.tls(sni="open.test")
                c.send(b"GET /echo/int HTTP/1.1\r\nHost: open.test\r\n\r\n")
                r = c.read_response(timeout=10)
                self.assertEqual((r.status, r.body), (200, b"final"))
                # The connection is still in sync.
                self.be.reset()
                c.send(b"GET /echo/next HTTP/1.1\r\nHost: open.test\r\n\r\n")
                r = c.read_response(timeout=10)
                c.close()
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json()["target"], "/base/next")

    def test_request_head_in_one_byte_records(self):
        c = self.gw.tls(sni="open.test")
        for b in b"GET /echo/bytes HTTP/1.1\r\nHost: open.test\r\nX-A: 1\r\n\r\n":
            c.send(bytes([b]))
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 200)
        self.assertEqual(self.be.last().headers.get("x-a"), "1")

    def test_truncated_backend_body_closes_client_connection(self):
        for raw in (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"):
            with self.subTest(raw=raw[:40]):
                self.be.reset(lambda q, raw=raw: BResp(mode="raw", raw=raw))
                c = self.gw.tls(sni="open.test")
                c.send(b"GET /echo/trunc HTTP/1.1\r\nHost: open.test\r\n\r\n")
                with self.assertRaises(EOFError):
                    c.read_response(timeout=10)
                self.assertTrue(c.closed)
                c.close()

    def test_oversized_backend_response_head_is_502(self):
        self.be.reset(lambda q: BResp(200, b"ok", headers=[("X-Big", "a" * 1000000)]))
        r = self.gw.curl("/echo/bighead")
        self.assertEqual(r.status, 502, r)
        self.assertApimError(502, r.body, r.headers)

    def test_no_body_statuses_keep_connection_usable(self):
        for st in (204, 304):
            with self.subTest(status=st):
                self.be.reset(lambda q, st=st: BResp(st, b"", headers=[("X-S", str(st))])
                              if q.target.endswith("/nb") else None)
                c = self.gw.tls(sni="open.test")
                c.send(b"GET /echo/nb HTTP/1.1\r\nHost: open.test\r\n\r\n"
                       b"GET /echo/next HTTP/1.1\r\nHost: open.test\r\n\r\n")
                r1 = c.read_response()
                r2 = c.read_response()
                c.close()
                self.assertEqual(r1.status, st)
                self.assertEqual(r1.headers.get("x-s"), str(st))
                self.assertEqual(r1.body, b"")
                self.assertEqual(r2.status, 200)
                self.assertEqual(r2.json()["target"], "/base/next")

    def test_empty_post_forwarded_with_zero_length(self):
        r = self.raw(b"POST /echo/e HTTP/1.1\r\nHost: open.test\r\nContent-Length: 0\r\n\r\n")
        self.assertEqual(r.status, 200)
        got = self.be.last()
        self.assertEqual(got.method, "POST")
        self.assertEqual(got.body, b"")
        self.assertFalse(got.chunked)

    # ---- backend connections

    def test_backend_closing_idle_connections_is_tolerated(self):
        # The backend closes every connection right after answering, without
        # saying so: a pooled connection found dead must not become a 502.
        self.be.reset(lambda q: BResp(200, b"fine", keep_alive=False))
        for i in range(4):
            r = self.gw.curl("/echo/stale%d" % i)
            self.assertEqual((r.status, r.body), (200, b"fine"), r)
            time.sleep(0.3)
        self.assertEqual(self.be.count(), 4)

    def test_keep_alive_to_backend(self):
        n = 10
        c = self.gw.tls(sni="open.test")
        for i in range(n):
            c.send(b"GET /echo/ka%d HTTP/1.1\r\nHost: open.test\r\n\r\n" % i)
            self.assertEqual(c.read_response().status, 200)
        c.close()
        for i in range(n):
            self.assertEqual(self.gw.curl("/echo/kb%d" % i).status, 200)
        reqs = self.be.wait_requests(2 * n)
        self.assertEqual(len(reqs), 2 * n)
        conns = {r.conn_id for r in reqs}
        self.assertLess(len(conns), n, "backend saw %d connections for %d requests"
                        % (len(conns), 2 * n))

    def test_backend_refused_is_502(self):
        r = self.gw.curl("/dead/x")
        self.assertEqual(r.status, 502, r)
        self.assertApimError(502, r.body, r.headers)

    def test_backend_closes_without_answer_is_502(self):
        self.be.reset(lambda q: BResp(mode="noanswer"))
        r = self.gw.curl("/echo/none")
        self.assertEqual(r.status, 502, r)
        self.assertApimError(502, r.body, r.headers)

    def test_backend_garbage_is_502(self):
        self.be.reset(lambda q: BResp(mode="raw", raw=b"NOT HTTP AT ALL\r\n\r\n"))
        r = self.gw.curl("/echo/garbage")
        self.assertEqual(r.status, 502, r)
        self.assertApimError(502, r.body, r.headers)

    def test_backend_timeout_is_504(self):
        self.be.reset(lambda q: BResp(200, b"late", delay=4))
        t0 = time.monotonic()
        r = self.gw.curl("/echo/slow")
        took = time.monotonic() - t0
        self.assertEqual(r.status, 504, r)
        self.assertApimError(504, r.body, r.headers)
        self.assertLess(took, 3.9, "504 must come from --backend-timeout 1.5")

    def test_backend_connect_timeout_is_502(self):
        for path in ("/hole/x", "/mute/x"):
            with self.subTest(path=path):
                t0 = time.monotonic()
                r = self.gw.curl(path)
                took = time.monotonic() - t0
                self.assertEqual(r.status, 502, r)
                self.assertApimError(502, r.body, r.headers)
                # --backend-connect-timeout 2.5 (not --backend-timeout 1.5 -> 504)
                self.assertGreater(took, 2.0)
                self.assertLess(took, 5.0)

    def test_gateway_still_serves_after_backend_errors(self):
        self.gw.curl("/dead/x")
        self.be.reset()
        r = self.gw.curl("/echo/after")
        self.assertEqual(r.status, 200)

    def test_https_backend_self_signed_is_502(self):
        before = self.tls_be.count()
        for path in ("/tlsself/x", "/tlspriv/x"):
            with self.subTest(path=path):
                r = self.gw.curl(path)
                self.assertEqual(r.status, 502, r)
                self.assertApimError(502, r.body, r.headers)
        self.assertEqual(self.tls_be.count(), before,
                         "an unverified backend must never receive the request")


class TrustedTlsBackendTest(cgtest.GatewayTestCase):
    """HTTPS backends verified against the system CA store: with the store
    pointed at the test root (SSL_CERT_FILE, read by OpenSSL's default
    verify paths) a backend with a valid certificate for 127.0.0.1 works,
    and one whose certificate names another host is refused."""

    @classmethod
    def setup_gateways(cls):
        good = cls.pki.server("backend.test", ips=["127.0.0.1"])
        wrong = cls.pki.server("elsewhere.test")
        cls.good = cls.tls_backend(good.cert, good.key)
        cls.wrong = cls.tls_backend(wrong.cert, wrong.key)
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True}],
            apis=[{"id": "good", "path": "good", "backend": cls.good.url("/g")},
                  {"id": "wrong", "path": "wrong", "backend": cls.wrong.url("/w")}],
            env={"SSL_CERT_FILE": cls.pki.root_pem, "SSL_CERT_DIR": "/nonexistent"})

    def test_verified_backend_served(self):
        for i in range(3):
            r = self.gw.curl("/good/x%d?y=1" % i, method="POST", data=b"to-tls-backend")
            self.assertEqual(r.status, 200, r)
        reqs = self.good.wait_requests(3)
        self.assertEqual([q.target for q in reqs], ["/g/x0?y=1", "/g/x1?y=1", "/g/x2?y=1"])
        self.assertEqual(reqs[0].body, b"to-tls-backend")
        self.assertEqual(reqs[0].headers.get("host"), "127.0.0.1:%d" % self.good.port)
        self.assertLess(len({q.conn_id for q in reqs}), 3, "no keep-alive to the TLS backend")

    def test_backend_name_mismatch_is_502(self):
        r = self.gw.curl("/wrong/x")
        self.assertEqual(r.status, 502, r)
        self.assertApimError(502, r.body, r.headers)
        self.assertEqual(self.wrong.count(), 0)


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
