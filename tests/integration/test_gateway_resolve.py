"""A backend whose host does not resolve is not a configuration error: the
gateway starts (and applies later changes), requests to that API get 502,
and every other API keeps working."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

EXPECTED_FAILURES = set()


class UnresolvedBackend(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True}],
            # .invalid never resolves (RFC 6761)
            apis=[{"id": "gone", "path": "gone", "backend": "http://backend.invalid:8080/x"},
                  {"id": "ok", "path": "ok", "backend": cls.b.url("/o")}])

    def test_other_apis_work_and_the_unresolved_one_is_502(self):
        self.assertEqual(self.gw.curl("/ok/1").status, 200)
        r = self.gw.curl("/gone/1")
        self.assertEqual(r.status, 502, r)
        self.assertApimError(502, r.body, r.headers)
        self.assertIn("cannot resolve", self.gw.stderr())

    def test_changes_still_apply(self):
        self.gw.cli("api", "set", "later", "--path", "later", "--backend", self.b.url("/l"))
        deadline = time.monotonic() + 3
        while self.gw.curl("/later/1").status != 200:
            self.assertLess(time.monotonic(), deadline, "change not applied")
            time.sleep(0.1)


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
