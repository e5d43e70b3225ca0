"""GET /metrics on the admin listener (Prometheus text format): handshakes
with and without a client certificate, requests by status class,
validate-client-certificate failures by reason, and days to expiry of the
client certificates seen in traffic."""

import os
import re
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

EXPECTED_FAILURES = set()
TOKEN = "metrics-test-token-0123456789abcdef"


class Metrics(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.admin_port, admin_args = cgtest.admin_listener(cls.tmp, TOKEN)
        cls.gw = cls.gateway(
            hosts=[{"name": "secure.test", "negotiate": True, "default": True}],
            apis=[{"id": "open", "path": "open", "backend": cls.b.url("/o")},
                  {"id": "vcc", "path": "vcc", "backend": cls.b.url("/v")},
                  {"id": "rl", "path": "rl", "backend": cls.b.url("/r")},
                  {"id": "quota", "path": "quota", "backend": cls.b.url("/q")},
                  {"id": "paid", "path": "paid", "backend": cls.b.url("/p"),
                   "subscription_required": True}],
            serve_args=admin_args)
        cls.gw.set_policy('<policies><inbound><base /><validate-client-certificate validate-trust="false" '
                          'validate-revocation="false" /></inbound><backend><base /></backend>'
                          '<outbound><base /></outbound><on-error><base /></on-error></policies>',
                          "--api", "vcc")
        for api, limit in (("rl", '<rate-limit-by-key calls="1" renewal-period="60" counter-key="m" />'),
                           ("quota", '<quota-by-key calls="1" renewal-period="3600" counter-key="m" />')):
            cls.gw.set_policy('<policies><inbound><base />%s</inbound><backend><base /></backend>'
                              '<outbound><base /></outbound><on-error><base /></on-error></policies>' % limit,
                              "--api", api)
        time.sleep(1.0)
        cls.alice = cls.pki.client("alice")

    def metrics(self, token=TOKEN):
        return cgtest.scrape_metrics(self.admin_port, token)

    @staticmethod
    def value(text, name, labels=""):
        m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
        return float(m.group(1)) if m else None

    def test_counters_move_with_traffic(self):
        _, _, before = self.metrics()
        with_cert = self.value(before, "certgate_tls_handshakes_total", '{client_certificate="yes"}')
        without = self.value(before, "certgate_tls_handshakes_total", '{client_certificate="no"}')
        ok = self.value(before, "certgate_requests_total", '{code="2xx"}')
        missing = self.value(before, "certgate_client_certificate_validation_failures_total",
                             '{reason="ClientCertificateMissing"}')
        self.assertIsNotNone(with_cert, before)
        self.assertEqual(self.gw.curl("/open/x", host="secure.test", cert=self.alice.cert,
                                      key=self.alice.key).status, 200)
        self.assertEqual(self.gw.curl("/open/x", host="secure.test").status, 200)
        self.assertEqual(self.gw.curl("/vcc/x", host="secure.test").status, 401)
        self.assertEqual(self.gw.curl("/nothing", host="secure.test").status, 404)
        status, ctype, after = self.metrics()
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        self.assertEqual(self.value(after, "certgate_tls_handshakes_total",
                                    '{client_certificate="yes"}'), with_cert + 1)
        self.assertEqual(self.value(after, "certgate_tls_handshakes_total",
                                    '{client_certificate="no"}'), without + 3)
        self.assertEqual(self.value(after, "certgate_requests_total", '{code="2xx"}'), ok + 2)
        self.assertGreaterEqual(self.value(after, "certgate_requests_total", '{code="4xx"}'), 2)
        self.assertEqual(self.value(after, "certgate_client_certificate_validation_failures_total",
                                    '{reason="ClientCertificateMissing"}'), missing + 1)
        # alice's certificate is valid for about a year (the test PKI's default)
        m = re.search(r'^certgate_client_certificate_expiry_days\{thumbprint="%s",subject="([^"]*)"\} (\S+)$'
                      % self.alice.thumbprint, after, re.M)
        self.assertIsNotNone(m, after)
        self.assertIn("CN=alice", m.group(1))
        self.assertTrue(300 < float(m.group(2)) < 400, m.group(2))

    def test_throttling_refusals_and_counters(self):
        _, _, before = self.metrics()
        rate = self.value(before, "certgate_throttle_refusals_total", '{policy="rate-limit"}')
        quota = self.value(before, "certgate_throttle_refusals_total", '{policy="quota"}')
        self.assertIsNotNone(rate, before)
        codes = [self.gw.curl(path, host="secure.test").status for path in ("/rl/a", "/rl/b", "/quota/a", "/quota/b")]
        self.assertEqual(codes, [200, 429, 200, 403])
        _, _, after = self.metrics()
        self.assertEqual(self.value(after, "certgate_throttle_refusals_total", '{policy="rate-limit"}'), rate + 1)
        self.assertEqual(self.value(after, "certgate_throttle_refusals_total", '{policy="quota"}'), quota + 1)
        self.assertEqual(self.value(after, "certgate_throttle_refusals_total", '{policy="concurrency"}'), 0)
        self.assertGreaterEqual(self.value(after, "certgate_throttle_keys"), 2)
        self.assertEqual(self.value(after, "certgate_throttle_overflows_total"), 0)
        self.assertIsNotNone(self.value(after, "certgate_throttle_reclaimed_total"), after)

    def test_subscription_refusals(self):
        _, _, before = self.metrics()
        missing = self.value(before, "certgate_subscription_refusals_total", '{reason="missing"}')
        invalid = self.value(before, "certgate_subscription_refusals_total", '{reason="invalid"}')
        self.assertIsNotNone(missing, before)
        self.assertEqual(self.gw.curl("/paid/x", host="secure.test").status, 401)
        self.assertEqual(self.gw.curl("/paid/x", host="secure.test",
                                      headers=["Ocp-Apim-Subscription-Key: nope-nope"]).status, 401)
        self.assertEqual(self.gw.curl("/open/x", host="secure.test",
                                      headers=["Ocp-Apim-Subscription-Key: nope-nope"]).status, 401)
        _, _, after = self.metrics()
        self.assertEqual(self.value(after, "certgate_subscription_refusals_total",
                                    '{reason="missing"}'), missing + 1)
        self.assertEqual(self.value(after, "certgate_subscription_refusals_total",
                                    '{reason="invalid"}'), invalid + 2)

    def test_metrics_need_the_token(self):
        status, _, body = self.metrics(token=None)
        self.assertEqual(status, 401)
        self.assertNotIn("certgate_", body)
        status, _, _ = self.metrics(token="wrong-token-wrong-token-wrong")
        self.assertEqual(status, 401)


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
