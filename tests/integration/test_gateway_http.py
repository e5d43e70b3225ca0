"""HTTP/1.1 strictness and framing through the gateway: smuggling vectors
refused (and nothing reaches the backend), limits (431, 413), keep-alive,
pipelining, chunked in both directions, close-delimited responses,
Expect: 100-continue, HEAD, large bodies streamed without corruption."""

import hashlib
import json
import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402
from cgtest import BResp  # noqa: E402

EXPECTED_FAILURES = set()

MAX_BODY = 1 << 20


class HttpTest(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.be = cls.backend()
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True}],
            apis=[{"id": "echo", "path": "echo", "backend": cls.be.url("/base"),
                   "protocols": "http,https"}],
            http_listen=True,
            serve_args=["--max-body", str(MAX_BODY)])
        # Default limits (100 MiB body) for the 20 MiB transfers.
        cls.big_gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True}],
            apis=[{"id": "echo", "path": "echo", "backend": cls.be.url("/base")}])

    def setUp(self):
        self.be.reset()

    # ---- helpers

    def conn(self, tls=False):
        return self.gw.tls(sni="open.test") if tls else self.gw.tcp()

    def exchange(self, data, tls=False, timeout=5.0):
        """Sends data, reads until close/timeout: (bytes, closed)."""
        c = self.conn(tls)
        try:
            c.send(data)
            return c.read_all(timeout)
        finally:
            c.close()

    def assertRejected(self, data, status, must_close=True, tls=False):
        out, closed = self.exchange(data, tls=tls)
        self.assertEqual(cgtest.status_of(out), status, out[:500])
        rs = cgtest.parse_responses(out)
        self.assertEqual(len(rs), 1, "exactly one response expected, got %r" % out[:800])
        self.assertApimError(status, rs[0].body, rs[0].headers)
        if must_close:
            self.assertTrue(closed, "connection must be closed after %d" % status)
        time.sleep(0.1)
        self.assertEqual(self.be.count(), 0, "rejected request reached the backend: %r"
                         % self.be.requests)
        return out

    # ---- smuggling vectors

    def test_cl_and_te_is_400_and_close(self):
        for tls in (False, True):
            with self.subTest(tls=tls):
                self.assertRejected(
                    b"POST /echo/a HTTP/1.1\r\nHost: open.test\r\nContent-Length: 4\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /echo/smuggled HTTP/1.1\r\n"
                    b"Host: open.test\r\n\r\n", 400, tls=tls)

    def test_differing_duplicate_content_length_is_400(self):
        self.assertRejected(b"POST /echo/a HTTP/1.1\r\nHost: open.test\r\nContent-Length: 3\r\n"
                            b"Content-Length: 5\r\n\r\nabcde", 400)

    def test_content_length_list_differing_is_400(self):
        self.assertRejected(b"POST /echo/a HTTP/1.1\r\nHost: open.test\r\n"
                            b"Content-Length: 3, 5\r\n\r\nabcde", 400)

    def test_invalid_content_length_is_400(self):
        for cl in (b"-1", b"1x", b"+5", b"0x10", b""):
            with self.subTest(cl=cl):
                self.assertRejected(b"POST /echo/a HTTP/1.1\r\nHost: open.test\r\n"
                                    b"Content-Length: " + cl + b"\r\n\r\nabcde", 400)

    def test_unknown_transfer_coding_rejected(self):
        for te in (b"gzip", b"chunked, gzip", b"xchunked", b"chunked\x0b"):
            with self.subTest(te=te):
                out, closed = self.exchange(
                    b"POST /echo/a HTTP/1.1\r\nHost: open.test\r\nTransfer-Encoding: " + te +
                    b"\r\n\r\n0\r\n\r\n")
                self.assertIn(cgtest.status_of(out), (400, 501), out[:300])
                self.assertTrue(closed)
                self.assertEqual(self.be.count(), 0)

    def test_transfer_coding_names_are_case_insensitive(self):
        c = self.conn()
        c.send(b"POST /echo/uc HTTP/1.1\r\nHost: open.test\r\nTransfer-Encoding: Chunked\r\n\r\n"
               b"5\r\nhello\r\n0\r\n\r\n")
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 200)
        self.assertEqual(self.be.last().body, b"hello")

    def test_whitespace_line_after_request_line_never_applies(self):
        out, closed = self.exchange(
            b"POST /echo/ws HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: open.test\r\n"
            b"Content-Length: 5\r\n\r\nhello")
        st = cgtest.status_of(out)
        self.assertIn(st, (200, 400), out[:300])
        for r in self.be.requests:
            self.assertFalse(r.chunked)
            self.assertEqual(r.body, b"hello")

    def test_lf_only_chunk_framing_rejected(self):
        for chunks in (b"5\nhello\n0\n\n", b"5;a=b\nX\r\nhello\r\n0\r\n\r\n",
                       b"5\r\nhello\n0\r\n\r\n", b"5\r\nhelloXX0\r\n\r\n"):
            with self.subTest(chunks=chunks):
                self.be.reset()
                out, closed = self.exchange(
                    b"POST /echo/lf HTTP/1.1\r\nHost: open.test\r\nTransfer-Encoding: chunked"
                    b"\r\n\r\n" + chunks + b"GET /echo/smuggled HTTP/1.1\r\nHost: open.test\r\n\r\n")
                self.assertTrue(closed)
                self.assertNotIn(b"HTTP/1.1 200", out)
                self.assertNotIn("/base/smuggled", [r.target for r in self.be.requests])

    def test_obs_fold_is_400(self):
        self.assertRejected(b"GET /echo/a HTTP/1.1\r\nHost: open.test\r\nX-A: one\r\n"
                            b" folded\r\n\r\n", 400)

    def test_bare_cr_is_400(self):
        self.assertRejected(b"GET /echo/a HTTP/1.1\r\nHost: open.test\r\nX-A: a\rb\r\n\r\n", 400)

    def test_control_char_in_header_is_400(self):
        for bad in (b"X-A: a\x01b", b"X-A: a\x00b", b"X-A: a\x7fb"):
            with self.subTest(bad=bad):
                self.assertRejected(b"GET /echo/a HTTP/1.1\r\nHost: open.test\r\n" + bad +
                                    b"\r\n\r\n", 400)

    def test_space_before_colon_is_400(self):
        self.assertRejected(b"GET /echo/a HTTP/1.1\r\nHost: open.test\r\n"
                            b"Content-Length : 5\r\n\r\nabcde", 400)

    def test_bad_request_line_is_400(self):
        for line in (b"GET  /echo/a HTTP/1.1", b"GET /echo/a HTTP/1.1 x", b"GET /echo/a HTTP/9.9",
                     b"GE\x01T /echo/a HTTP/1.1", b"GET /echo/\x7fa HTTP/1.1"):
            with self.subTest(line=line):
                out, closed = self.exchange(line + b"\r\nHost: open.test\r\n\r\n")
                self.assertIn(cgtest.status_of(out), (400, 505), out[:300])
                self.assertEqual(self.be.count(), 0)

    def test_invalid_chunk_size(self):
        for size in (b"zz", b"-1", b"1 2", b"fffffffffffffffffffff"):
            with self.subTest(size=size):
                self.be.reset()
                out, closed = self.exchange(
                    b"POST /echo/a HTTP/1.1\r\nHost: open.test\r\nTransfer-Encoding: chunked"
                    b"\r\n\r\n" + size + b"\r\nabc\r\n0\r\n\r\n")
                self.assertTrue(closed, "connection must close after a bad chunk")
                st = cgtest.status_of(out)
                self.assertTrue(st == 400 or (st is None and out == b""),
                                "expected 400 or a bare close, got %r" % out[:300])
                # The backend never got a complete request with that body.
                for r in self.be.requests:
                    self.assertNotEqual(r.body, b"abc")

    def test_chunk_data_longer_than_size(self):
        out, closed = self.exchange(
            b"POST /echo/a HTTP/1.1\r\nHost: open.test\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabcdef\r\n0\r\n\r\n")
        self.assertTrue(closed)
        self.assertNotIn(b"HTTP/1.1 200", out)

    def test_missing_host_is_400(self):
        self.assertRejected(b"GET /echo/a HTTP/1.1\r\nX-A: 1\r\n\r\n", 400, must_close=False)

    def test_invalid_header_name_is_400(self):
        for line in (b"X A: b", b"X\"A: b", b": novalue", b"X-A\x80: b"):
            with self.subTest(line=line):
                self.assertRejected(b"GET /echo/a HTTP/1.1\r\nHost: open.test\r\n" + line +
                                    b"\r\n\r\n", 400)

    def test_body_of_locally_answered_request_is_not_a_request(self):
        """A 404 answered by the gateway itself must consume (or close on) the
        request body: the body must never be parsed as the next request."""
        inner = b"GET /echo/smuggled HTTP/1.1\r\nHost: open.test\r\n\r\n"
        for framing in ("length", "chunked"):
            with self.subTest(framing=framing):
                self.be.reset()
                if framing == "length":
                    req = b"POST /missing HTTP/1.1\r\nHost: open.test\r\nContent-Length: " + \
                        str(len(inner)).encode() + b"\r\n\r\n" + inner
                else:
                    req = b"POST /missing HTTP/1.1\r\nHost: open.test\r\n" \
                        b"Transfer-Encoding: chunked\r\n\r\n" + \
                        b"%x\r\n" % len(inner) + inner + b"\r\n0\r\n\r\n"
                req += b"GET /echo/after HTTP/1.1\r\nHost: open.test\r\nConnection: close\r\n\r\n"
                out, closed = self.exchange(req)
                rs = cgtest.parse_responses(out)
                self.assertGreaterEqual(len(rs), 1, out[:300])
                self.assertEqual(rs[0].status, 404)
                time.sleep(0.1)
                targets = [r.target for r in self.be.requests]
                self.assertNotIn("/base/smuggled", targets)
                if len(rs) > 1:  # kept alive: the next real request is served
                    self.assertEqual(rs[1].status, 200)
                    self.assertEqual(targets, ["/base/after"])

    def test_pipelined_bad_request_stops_the_connection(self):
        out, closed = self.exchange(
            b"GET /echo/one HTTP/1.1\r\nHost: open.test\r\n\r\n"
            b"GET /echo/two HTTP/1.1\r\nHost: open.test\r\nX-A: a\r\n folded\r\n\r\n"
            b"GET /echo/three HTTP/1.1\r\nHost: open.test\r\n\r\n")
        rs = cgtest.parse_responses(out)
        self.assertEqual([r.status for r in rs], [200, 400], out[:600])
        self.assertTrue(closed)
        time.sleep(0.1)
        self.assertEqual([r.target for r in self.be.requests], ["/base/one"])

    def test_long_request_target_rejected(self):
        out, closed = self.exchange(b"GET /echo/" + b"a" * 40000 + b" HTTP/1.1\r\n"
                                    b"Host: open.test\r\n\r\n")
        self.assertIn(cgtest.status_of(out), (414, 431), out[:300])
        self.assertEqual(self.be.count(), 0)

    def test_invalid_host_is_400(self):
        for host in (b"open.test/evil", b"a b", b"open.test@evil.test", b"[::1", b"open.test:99999x"):
            with self.subTest(host=host):
                self.assertRejected(b"GET /echo/a HTTP/1.1\r\nHost: " + host + b"\r\n\r\n", 400,
                                    must_close=False)

    def test_origin_form_required(self):
        for target in (b"echo/a", b"*"):
            with self.subTest(target=target):
                out, closed = self.exchange(b"GET " + target + b" HTTP/1.1\r\nHost: open.test\r\n\r\n")
                self.assertIn(cgtest.status_of(out), (400, 404), out[:300])
                self.assertEqual(self.be.count(), 0)

    def test_absolute_form_accepted(self):
        c = self.conn(tls=True)
        c.send(b"GET https://open.test/echo/abs?y=1 HTTP/1.1\r\nHost: open.test\r\n\r\n")
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 200)
        self.assertEqual(self.be.last().target, "/base/abs?y=1")
        self.assertEqual(self.be.last().headers.get_all("host"), ["127.0.0.1:%d" % self.be.port])

    def test_connect_never_tunnels(self):
        backend_port = str(self.be.port).encode()
        out, closed = self.exchange(b"CONNECT 127.0.0.1:" + backend_port + b" HTTP/1.1\r\n"
                                    b"Host: 127.0.0.1:" + backend_port + b"\r\n\r\n"
                                    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", tls=True)
        self.assertIn(cgtest.status_of(out), (400, 405, 501), out[:300])
        self.assertNotIn(b"HTTP/1.1 200", out)
        self.assertEqual(self.be.count(), 0)
        self.assertEqual(self.be.connections, 0, "a tunnel was opened to the backend")

    def test_http10_with_transfer_encoding_closes(self):
        out, closed = self.exchange(b"POST /echo/a HTTP/1.0\r\nHost: open.test\r\n"
                                    b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                                    b"GET /echo/second HTTP/1.1\r\nHost: open.test\r\n\r\n")
        self.assertTrue(closed, "faulty framing (TE in HTTP/1.0) must close the connection")
        self.assertNotIn("/base/second", [r.target for r in self.be.requests])

    def test_half_closed_client_still_answered(self):
        c = self.conn()
        c.send(b"GET /echo/half HTTP/1.1\r\nHost: open.test\r\n\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response(timeout=5)
        c.close()
        self.assertEqual(r.status, 200)

    def test_chunked_body_exactly_max_body_passes(self):
        body = os.urandom(MAX_BODY)
        c = self.conn()
        data = b"POST /echo/exact HTTP/1.1\r\nHost: open.test\r\nTransfer-Encoding: chunked\r\n\r\n"
        for i in range(0, MAX_BODY, 100000):
            part = body[i:i + 100000]
            data += b"%x\r\n" % len(part) + part + b"\r\n"
        c.send(data + b"0\r\n\r\n")
        r = c.read_response(timeout=20)
        c.close()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["body_sha256"], cgtest.sha256(body))

    def test_chunked_request_with_trailers(self):
        c = self.conn()
        c.send(b"POST /echo/tr HTTP/1.1\r\nHost: open.test\r\nTransfer-Encoding: chunked\r\n"
               b"Trailer: X-Sum\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\nX-Sum: 9\r\n\r\n"
               b"GET /echo/after HTTP/1.1\r\nHost: open.test\r\n\r\n")
        r1 = c.read_response()
        r2 = c.read_response()
        c.close()
        self.assertEqual(r1.status, 200)
        self.assertEqual(r2.status, 200)
        self.assertEqual(self.be.requests[0].body, b"wikipedia")
        self.assertEqual(self.be.requests[1].target, "/base/after")

    def test_many_idle_connections(self):
        conns = []
        try:
            for i in range(100):
                conns.append(self.conn(tls=(i % 2 == 0)))
            r = self.gw.curl("/echo/many")
            self.assertEqual(r.status, 200, r)
            for c in conns[:10]:
                c.send(b"GET /echo/m HTTP/1.1\r\nHost: open.test\r\n\r\n")
                self.assertEqual(c.read_response().status, 200)
        finally:
            for c in conns:
                c.close()

    # ---- limits

    def test_header_line_over_limit_is_431(self):
        self.assertRejected(b"GET /echo/a HTTP/1.1\r\nHost: open.test\r\nX-Big: " +
                            b"a" * 40000 + b"\r\n\r\n", 431)

    def test_too_many_headers_is_431(self):
        hs = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
        self.assertRejected(b"GET /echo/a HTTP/1.1\r\nHost: open.test\r\n" + hs + b"\r\n", 431)

    def test_headers_under_limits_pass(self):
        hs = b"".join(b"X-H%d: v%d\r\n" % (i, i) for i in range(80))
        c = self.conn()
        c.send(b"GET /echo/a HTTP/1.1\r\nHost: open.test\r\nX-Big: " + b"b" * 8000 + b"\r\n" +
               hs + b"\r\n")
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 200)
        got = self.be.last()
        self.assertEqual(got.headers.get("x-big"), "b" * 8000)
        self.assertEqual(got.headers.get("x-h79"), "v79")

    def test_body_over_max_body_content_length_is_413(self):
        self.assertRejected(b"POST /echo/a HTTP/1.1\r\nHost: open.test\r\nContent-Length: %d"
                            b"\r\n\r\n" % (MAX_BODY + 1) + b"x" * 1000, 413, must_close=False)

    def test_body_at_max_body_passes(self):
        body = os.urandom(MAX_BODY)
        c = self.conn()
        c.send(b"POST /echo/a HTTP/1.1\r\nHost: open.test\r\nContent-Length: %d\r\n\r\n"
               % len(body) + body)
        r = c.read_response(timeout=20)
        c.close()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["body_sha256"], cgtest.sha256(body))

    def test_chunked_body_over_max_body(self):
        chunk = b"y" * 65536
        data = b"POST /echo/a HTTP/1.1\r\nHost: open.test\r\nTransfer-Encoding: chunked\r\n\r\n"
        data += (b"10000\r\n" + chunk + b"\r\n") * (MAX_BODY // 65536 + 2) + b"0\r\n\r\n"
        c = self.conn()
        try:
            try:
                c.send(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            out, closed = c.read_all(10)
        finally:
            c.close()
        self.assertTrue(closed)
        st = cgtest.status_of(out)
        self.assertTrue(st == 413 or (st is None and out == b""), out[:300])
        for r in self.be.requests:
            self.assertLessEqual(len(r.body), MAX_BODY)

    # ---- keep-alive, pipelining

    def test_keep_alive_sequential(self):
        for tls in (False, True):
            with self.subTest(tls=tls):
                c = self.conn(tls)
                for i in range(5):
                    c.send(b"GET /echo/k%d HTTP/1.1\r\nHost: open.test\r\n\r\n" % i)
                    r = c.read_response()
                    self.assertEqual(r.status, 200)
                    self.assertEqual(r.json()["target"], "/base/k%d" % i)
                c.close()

    def test_pipelining_in_order(self):
        for tls in (False, True):
            with self.subTest(tls=tls):
                self.be.reset(lambda q: BResp(200, q.target.encode(),
                                              delay=0.3 if q.target.endswith("p0") else 0))
                reqs = b"".join(b"GET /echo/p%d HTTP/1.1\r\nHost: open.test\r\n\r\n" % i
                                for i in range(4))
                reqs += b"POST /echo/p4 HTTP/1.1\r\nHost: open.test\r\nContent-Length: 3\r\n" \
                        b"\r\nabc"
                reqs += b"GET /echo/p5 HTTP/1.1\r\nHost: open.test\r\nConnection: close\r\n\r\n"
                c = self.conn(tls)
                c.send(reqs)
                bodies = [c.read_response(timeout=10).body for _ in range(6)]
                self.assertTrue(c.wait_closed(5))
                c.close()
                self.assertEqual(bodies, [b"/base/p%d" % i for i in range(6)])

    def test_body_after_head_then_pipelined_request(self):
        # The head arrives alone, so the body is read straight into the
        # backend's buffer, at most what Content-Length has left: the next
        # request, in the same write (the same TLS record), must stay for
        # the next exchange, and the body reach the backend intact.
        for tls in (False, True):
            for size in (5, 70000):
                with self.subTest(tls=tls, size=size):
                    body = os.urandom(size)
                    c = self.conn(tls)
                    c.send(b"POST /echo/d HTTP/1.1\r\nHost: open.test\r\n"
                           b"Content-Length: %d\r\n\r\n" % size)
                    time.sleep(0.05)
                    c.send(body + b"GET /echo/after HTTP/1.1\r\nHost: open.test\r\n\r\n")
                    r1 = c.read_response(timeout=10)
                    r2 = c.read_response(timeout=10)
                    c.close()
                    self.assertEqual(r1.status, 200, r1)
                    self.assertEqual(r1.json()["body_sha256"], cgtest.sha256(body))
                    self.assertEqual(r2.status, 200, r2)
                    self.assertEqual(r2.json()["target"], "/base/after")

    def test_connection_close_honoured(self):
        c = self.conn()
        c.send(b"GET /echo/c HTTP/1.1\r\nHost: open.test\r\nConnection: close\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertTrue(c.wait_closed(5))
        c.close()

    def test_http10_without_keepalive_closes(self):
        c = self.conn()
        c.send(b"GET /echo/old HTTP/1.0\r\nHost: open.test\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertTrue(c.wait_closed(5))
        c.close()

    # ---- bodies

    def test_chunked_request_body_forwarded(self):
        c = self.conn()
        c.send(b"POST /echo/ch HTTP/1.1\r\nHost: open.test\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n")
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 200)
        got = self.be.last()
        self.assertEqual(got.body, b"hello 0123456789")
        self.assertEqual(got.method, "POST")
        # Re-encoded: either chunked or a Content-Length, never both.
        self.assertFalse(got.chunked and got.headers.has("content-length"), got.headers)
        if not got.chunked:
            self.assertEqual(got.headers.get("content-length"), "16")

    def test_content_length_body_forwarded(self):
        body = bytes(range(256)) * 10
        r = self.gw.curl("/echo/b", method="PUT", data=body)
        self.assertEqual(r.status, 200)
        got = self.be.last()
        self.assertEqual(got.method, "PUT")
        self.assertEqual(got.body, body)
        self.assertEqual(got.headers.get("content-length"), str(len(body)))

    def test_chunked_response_forwarded(self):
        body = os.urandom(300000)
        self.be.reset(lambda q: BResp(200, body, mode="chunked", chunk_size=7777))
        r = self.gw.curl("/echo/chunked")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, body)
        c = self.conn()
        c.send(b"GET /echo/chunked HTTP/1.1\r\nHost: open.test\r\n\r\n")
        r = c.read_response()
        c.send(b"GET /echo/chunked HTTP/1.1\r\nHost: open.test\r\n\r\n")
        r2 = c.read_response()
        c.close()
        self.assertEqual(r.body, body)
        self.assertEqual(r2.body, body)

    def test_close_delimited_response_forwarded(self):
        body = os.urandom(200000)
        self.be.reset(lambda q: BResp(200, body, mode="close"))
        r = self.gw.curl("/echo/close")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, body)

    def test_expect_100_continue(self):
        c = self.conn()
        c.send(b"POST /echo/e HTTP/1.1\r\nHost: open.test\r\nContent-Length: 5\r\n"
               b"Expect: 100-continue\r\n\r\n")
        interim = c.read_response(timeout=5, allow_interim=True)
        self.assertEqual(interim.status, 100)
        c.send(b"hello")
        r = c.read_response(timeout=5)
        c.close()
        self.assertEqual(r.status, 200)
        got = self.be.last()
        self.assertEqual(got.body, b"hello")
        self.assertFalse(got.headers.has("expect"), got.headers)

    def test_expect_100_continue_curl(self):
        body = b"z" * 5000
        r = self.gw.curl("/echo/e2", data=body, headers=["Expect: 100-continue"])
        self.assertEqual(r.status, 200)
        self.assertIn("HTTP/1.1 100", r.heads)
        self.assertEqual(self.be.last().body, body)
        self.assertFalse(self.be.last().headers.has("expect"))

    def test_expect_100_continue_not_sent_for_rejected_requests(self):
        for path, cl, status in (("/missing", 5, 404), ("/echo/big", MAX_BODY + 1, 413)):
            with self.subTest(status=status):
                c = self.conn()
                c.send(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: open.test\r\n"
                       b"Content-Length: " + str(cl).encode() + b"\r\nExpect: 100-continue\r\n\r\n")
                r = c.read_response(timeout=5, allow_interim=True)
                c.close()
                self.assertEqual(r.status, status, r)
        self.assertEqual(self.be.count(), 0)

    def test_head_with_chunked_response_headers(self):
        self.be.reset(lambda q: BResp(200, b"0123456789", mode="chunked"))
        c = self.conn()
        c.send(b"HEAD /echo/hc HTTP/1.1\r\nHost: open.test\r\n\r\n")
        r1 = c.read_response(head_request=True, timeout=5)
        c.send(b"GET /echo/hc2 HTTP/1.1\r\nHost: open.test\r\n\r\n")
        r2 = c.read_response(timeout=5)
        c.close()
        self.assertEqual(r1.status, 200)
        self.assertEqual(r2.body, b"0123456789")

    def test_pipelined_large_responses_with_backpressure(self):
        blob = os.urandom(1 << 20)
        self.be.reset(lambda q: BResp(200, blob + q.target.encode()))
        n = 12
        c = self.conn(tls=True)
        c.send(b"".join(b"GET /echo/bp%d HTTP/1.1\r\nHost: open.test\r\n\r\n" % i
                        for i in range(n)))
        time.sleep(1.0)  # let the gateway hit a full socket buffer
        for i in range(n):
            r = c.read_response(timeout=20)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, blob + b"/base/bp%d" % i)
        c.close()

    def test_client_gone_mid_upload_and_mid_response(self):
        # The gateway must survive clients vanishing at any point (ASan checks
        # at exit) and keep serving.
        c = self.conn()
        c.send(b"POST /echo/gone HTTP/1.1\r\nHost: open.test\r\nContent-Length: 1000000\r\n\r\n"
               + b"x" * 100000)
        c.close()
        self.be.reset(lambda q: BResp(200, b"z" * (4 << 20), delay=0.3))
        c = self.conn(tls=True)
        c.send(b"GET /echo/gone2 HTTP/1.1\r\nHost: open.test\r\n\r\n")
        c.close()
        c = self.conn(tls=True)
        c.send(b"GET /echo/gone3 HTTP/1.1\r\nHost: open.test\r\n\r\n")
        c.sock.recv(1000)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # RST mid-response
        time.sleep(0.8)
        self.be.reset()
        r = self.gw.curl("/echo/still")
        self.assertEqual(r.status, 200, r)

    def test_non_tls_bytes_on_tls_port(self):
        for junk in (b"GET / HTTP/1.1\r\nHost: open.test\r\n\r\n", os.urandom(3000),
                     b"\x16\x03\x01\x00\x05hello"):
            s = socket.create_connection(("127.0.0.1", self.gw.port), timeout=5)
            c = cgtest.Conn(s)
            try:
                c.send(junk)
            except OSError:
                pass
            closed = c.wait_closed(5)
            data = c.buf
            c.close()
            self.assertTrue(closed, "junk connection left open: %r" % junk[:16])
            self.assertNotIn(b"HTTP/1.1 200", data)
        r = self.gw.curl("/echo/ok")
        self.assertEqual(r.status, 200)

    def test_head_has_no_body(self):
        self.be.reset(lambda q: BResp(200, b"hello", headers=[("Content-Type", "text/plain")]))
        c = self.conn()
        c.send(b"HEAD /echo/h HTTP/1.1\r\nHost: open.test\r\n\r\n"
               b"GET /echo/h2 HTTP/1.1\r\nHost: open.test\r\n\r\n")
        r1 = c.read_response(head_request=True)
        r2 = c.read_response()
        c.close()
        self.assertEqual(r1.status, 200)
        self.assertEqual(r1.body, b"")
        self.assertIn(r1.headers.get("content-length"), (None, "5"))
        self.assertEqual(r2.status, 200)
        self.assertEqual(r2.body, b"hello")  # the HEAD left no stray bytes
        self.assertEqual(self.be.requests[0].method, "HEAD")

    def test_large_bodies_both_ways(self):
        size = 20 * 1024 * 1024
        blob = os.urandom(size)
        path = os.path.join(self.tmp, "big.bin")
        with open(path, "wb") as f:
            f.write(blob)
        digest = cgtest.sha256(blob)
        gw = self.big_gw
        # upload
        self.be.reset(lambda q: BResp(200, json.dumps({"n": len(q.body),
                                                       "sha": cgtest.sha256(q.body)}).encode()))
        r = gw.curl("/echo/up", data_file=path, timeout=120)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"n": size, "sha": digest})
        # download (length and chunked)
        for mode in ("length", "chunked"):
            with self.subTest(mode=mode):
                self.be.reset(lambda q: BResp(200, blob, mode=mode, chunk_size=1 << 20))
                out = os.path.join(self.tmp, "down-%s.bin" % mode)
                r = gw.curl("/echo/down", out_file=out, timeout=120)
                self.assertEqual(r.status, 200, r)
                with open(out, "rb") as f:
                    self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest)


class LimitsTest(cgtest.GatewayTestCase):
    """--max-header-bytes and --max-headers are honoured."""

    @classmethod
    def setup_gateways(cls):
        cls.be = cls.backend()
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True}],
            apis=[{"id": "echo", "path": "echo", "backend": cls.be.url("/base"),
                   "protocols": "http,https"}],
            http_listen=True,
            serve_args=["--max-header-bytes", "2048", "--max-headers", "10"])

    def setUp(self):
        self.be.reset()

    def send(self, extra):
        """Returns (first response, closed within 2 s after it)."""
        c = self.gw.tcp()
        try:
            c.send(b"GET /echo/l HTTP/1.1\r\nHost: open.test\r\n" + extra + b"\r\n")
            r = c.read_response(timeout=5)
            return r, (r.status != 200 and c.wait_closed(2))
        finally:
            c.close()

    def test_header_count_limit(self):
        r, _ = self.send(b"".join(b"X-H%d: v\r\n" % i for i in range(8)))
        self.assertEqual(r.status, 200, r)
        r, _ = self.send(b"".join(b"X-H%d: v\r\n" % i for i in range(12)))
        self.assertEqual(r.status, 431, r)
        self.assertApimError(431, r.body, r.headers)
        self.assertEqual(self.be.count(), 1)

    def test_header_bytes_limit(self):
        r, _ = self.send(b"X-Big: " + b"a" * 1000 + b"\r\n")
        self.assertEqual(r.status, 200, r)
        r, closed = self.send(b"X-Big: " + b"a" * 3000 + b"\r\n")
        self.assertEqual(r.status, 431, r)
        self.assertTrue(closed)
        self.assertEqual(self.be.count(), 1)


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
