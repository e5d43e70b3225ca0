"""Response framing the gateway re-establishes from what the backend sent:
Content-Length: 0 bodies on keep-alive connections (a regression: the header
was dropped and clients waited for the connection to close), HEAD and 304
repeating the representation's length, 204 with none."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402
from cgtest import BResp  # noqa: E402

EXPECTED_FAILURES = set()


class Framing(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.gw = cls.gateway(hosts=[{"name": "open.test", "default": True}],
                             apis=[{"id": "a", "path": "a", "backend": cls.b.url("")}])

    def test_empty_body_keeps_the_connection_usable(self):
        self.b.set_handler(lambda req: BResp(200, b""))
        c = self.gw.tls(sni="open.test")
        try:
            for i in range(3):
                c.send(b"GET /a/x HTTP/1.1\r\nHost: open.test\r\n\r\n")
                r = c.read_response(timeout=5)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers.get("Content-Length"), "0", r)
                self.assertEqual(r.body, b"")
        finally:
            c.close()
            self.b.reset()

    def test_head_repeats_the_length(self):
        self.b.set_handler(lambda req: BResp(200, b"", headers=[("Content-Length", "1234")],
                                             mode="raw",
                                             raw=b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
                                             raw_keep=True))
        c = self.gw.tls(sni="open.test")
        try:
            c.send(b"HEAD /a/x HTTP/1.1\r\nHost: open.test\r\n\r\n")
            r = c.read_response(timeout=5, head_request=True)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.headers.get("Content-Length"), "1234", r)
        finally:
            c.close()
            self.b.reset()

    def test_204_has_no_length(self):
        self.b.set_handler(lambda req: BResp(204, b""))
        c = self.gw.tls(sni="open.test")
        try:
            for _ in range(2):
                c.send(b"GET /a/x HTTP/1.1\r\nHost: open.test\r\n\r\n")
                r = c.read_response(timeout=5)
                self.assertEqual(r.status, 204, r)
                self.assertIsNone(r.headers.get("Content-Length"), r)
        finally:
            c.close()
            self.b.reset()


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
