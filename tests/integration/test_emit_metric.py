"""emit-metric end to end: APIM policy text stored with the CLI, run by the
real gateway (two workers) over TLS with real client certificates (curl),
and the custom metrics scraped from /metrics on the admin listener: a
series per dimension value, default dimensions filled from the request,
series kept across a configuration reload, new label sets past the cap
folded into the overflow series (with one warning), refusals with line:col
that keep the running policy."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

TOKEN = "emit-metric-test-token-0123456789abcdef"
FAMILY = "certgate_custom_contoso_request_total"
WIDE = "certgate_custom_api_management_wide_total"


def doc(gen=1, value="1"):
    """Counts each call per API, tenant (X-Tenant header) and caller (the
    client certificate's subject); X-Gen tells which version ran."""
    return """<policies>
  <inbound>
    <base />
    <emit-metric name="Request" value="%(value)s" namespace="Contoso">
      <dimension name="API ID" />
      <dimension name="Tenant" value="@(context.Request.Headers.GetValueOrDefault("X-Tenant", "none"))" />
      <dimension name="Caller" value="@(context.Request.Certificate?.Subject ?? "none")" />
    </emit-metric>
    <return-response>
      <set-status code="200" />
      <set-header name="X-Gen" exists-action="override"><value>%(gen)d</value></set-header>
    </return-response>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>
""" % {"gen": gen, "value": value}


WIDE_DOC = """<policies>
  <inbound>
    <base />
    <emit-metric name="Wide">
      <dimension name="Tenant" value="@(context.Request.Headers.GetValueOrDefault("X-Tenant", "none"))" />
    </emit-metric>
    <return-response><set-status code="204" /></return-response>
  </inbound>
</policies>
"""


class EmitMetric(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.alice = cls.pki.client("alice")
        cls.bob = cls.pki.client("bob")
        cls.admin_port, admin_args = cgtest.admin_listener(cls.tmp, TOKEN)
        cls.gw = cls.gateway(
            hosts=[{"name": "secure.test", "negotiate": True, "default": True}],
            apis=[{"id": "m", "path": "m", "backend": "http://127.0.0.1:9/"},
                  {"id": "w", "path": "w", "backend": "http://127.0.0.1:9/"}],
            workers=2,
            serve_args=admin_args + ["--emit-metric-max-series", "50",
                                     "--emit-metric-max-series-per-metric", "12"])
        cls.gw.set_policy(doc(1), "--api", "m")
        cls.gw.set_policy(WIDE_DOC, "--api", "w")
        if not cgtest.poll(lambda: cls.call_as(cls.alice, "/m/x", "boot").headers.get("X-Gen") == "1",
                           timeout=5):
            raise AssertionError("the emit-metric policy was not applied")

    @classmethod
    def call_as(cls, who, path, tenant):
        kw = {"cert": who.cert, "key": who.key} if who else {}
        return cls.gw.curl(path, host="secure.test", headers=["X-Tenant: " + tenant], **kw)

    def call(self, tenant, who=None, path="/m/x", status=200):
        res = self.call_as(who, path, tenant)
        self.assertEqual(res.status, status, res)
        return res

    def scrape(self):
        status, _, body = cgtest.scrape_metrics(self.admin_port, TOKEN)
        self.assertEqual(status, 200, body)
        return body

    def series(self, family, body=None):
        """{labels text: value} of one family."""
        out = {}
        for line in (body or self.scrape()).splitlines():
            m = re.match(r'^%s\{(.*)\} (\S+)$' % re.escape(family), line)
            if m:
                out[m.group(1)] = float(m.group(2))
        return out

    @staticmethod
    def labels(tenant, caller):
        return 'api_id="m",caller="%s",tenant="%s"' % (caller, tenant)

    def test_counts_per_dimension_value(self):
        for _ in range(3):
            self.call("t-count", self.alice)
        for _ in range(2):
            self.call("t-count", self.bob)
        self.call("t-count")  # no certificate: Caller "none"
        body = self.scrape()
        s = self.series(FAMILY, body)
        self.assertEqual(s[self.labels("t-count", "CN=alice, O=certgate tests")], 3, s)
        self.assertEqual(s[self.labels("t-count", "CN=bob, O=certgate tests")], 2, s)
        self.assertEqual(s[self.labels("t-count", "none")], 1, s)
        self.assertIn("# TYPE %s counter" % FAMILY, body)
        self.assertIn("# HELP %s emit-metric 'Request' of namespace 'Contoso'" % FAMILY, body)

    def test_label_values_are_escaped(self):
        self.call('q"b\\s', self.alice)
        body = self.scrape()
        self.assertIn('%s{%s} 1\n' % (FAMILY, self.labels('q\\"b\\\\s', "CN=alice, O=certgate tests")), body)

    def test_series_survive_a_configuration_reload(self):
        self.call("t-reload", self.alice)
        key = self.labels("t-reload", "CN=alice, O=certgate tests")
        try:
            self.gw.set_policy(doc(2, value="@(2.5)"), "--api", "m")
            self.assertTrue(cgtest.poll(lambda: self.call_as(None, "/m/x", "t-poll").headers.get("X-Gen") == "2", timeout=5))
            self.call("t-reload", self.alice)
            self.assertEqual(self.series(FAMILY)[key], 3.5)
        finally:
            self.gw.set_policy(doc(1), "--api", "m")
            self.assertTrue(cgtest.poll(lambda: self.call_as(None, "/m/x", "t-poll").headers.get("X-Gen") == "1", timeout=5))

    def test_overflow_past_the_per_metric_cap(self):
        def folded():
            m = re.search(r'^certgate_emit_metric_folded_total (\d+)$', self.scrape(), re.M)
            return int(m.group(1))
        before = folded()
        for i in range(14):
            self.call("w%d" % i, self.alice, path="/w/x", status=204)
        self.call("w0", self.alice, path="/w/x", status=204)  # a known label set still counts
        s = self.series(WIDE)
        self.assertEqual(len(s), 13, s)  # 12 series (the cap) + the overflow series
        self.assertEqual(s['overflow="true"'], 2, s)
        self.assertEqual(s['tenant="w0"'], 2, s)
        self.assertEqual(sum(v for k, v in s.items()), 15)
        self.assertEqual(folded() - before, 2)
        # one warning for both (one per 10 s at most)
        warn = [ln for ln in self.gw.stderr().splitlines() if "reached the series limit" in ln]
        self.assertEqual(len(warn), 1, warn)
        self.assertIn("%s reached the series limit (12 per metric, 50 in all)" % WIDE, warn[0])

    def test_bad_policy_is_refused_and_the_running_one_kept(self):
        text = doc(1).replace('<dimension name="API ID" />', '<dimension name="Client" />')
        cp = self.gw.set_policy(text, "--api", "m", check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn(":5:7: Element 'dimension' named 'Client' requires attribute 'value'", cp.stderr.decode())
        text = doc(1).replace('value="1"', 'value="-1"')
        cp = self.gw.set_policy(text, "--api", "m", check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn(":4:40: Value '-1' of attribute 'value' in element 'emit-metric' is not valid; "
                      "expected a number, 0 or more", cp.stderr.decode())
        self.assertEqual(self.call("t-kept").headers.get("X-Gen"), "1")

    def test_non_numeric_value_is_a_500(self):
        try:
            self.gw.set_policy(doc(3, value='@("5")'), "--api", "m")
            self.assertTrue(cgtest.poll(lambda: self.call_as(None, "/m/x", "t-poll").status == 500, timeout=5))
            res = self.call_as(self.alice, "/m/x", "t-string")
            self.assertApimError(500, res.body, res.headers, "Internal server error")
            self.assertNotIn('tenant="t-string"', self.scrape())
        finally:
            self.gw.set_policy(doc(1), "--api", "m")
            self.assertTrue(cgtest.poll(lambda: self.call_as(None, "/m/x", "t-poll").headers.get("X-Gen") == "1", timeout=5))

    def test_serve_refuses_bad_limits(self):
        for args, msg in ((["--emit-metric-max-series", "0"], "--emit-metric-max-series: '0' must be a whole number"),
                          (["--emit-metric-max-series", "10", "--emit-metric-max-series-per-metric", "11"],
                           "--emit-metric-max-series-per-metric must not be above --emit-metric-max-series")):
            cp = cgtest.run([self.gw.bin, "--store", self.gw.store, "serve", "--listen",
                             "127.0.0.1:%d" % cgtest.free_port()] + args, check=False)
            self.assertEqual(cp.returncode, 2, cp)
            self.assertIn(msg, cp.stderr.decode())


if __name__ == "__main__":
    cgtest.main()
