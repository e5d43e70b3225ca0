"""Throttling policies end to end (rate-limit, rate-limit-by-key, quota,
quota-by-key, limit-concurrency): APIM policy text stored with the CLI, run
by the real gateway with two worker threads, driven by curl with real
client certificates. Windows are short or never reached, so no test waits
a whole period but one of 2 s."""

import json
import os
import re
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

EXPECTED_FAILURES = set()


def doc(inbound="", backend="<base />", outbound="<base />", on_error="<base />"):
    return ("<policies>\n  <inbound>\n    <base />\n    %s\n  </inbound>\n"
            "  <backend>%s</backend>\n  <outbound>%s</outbound>\n  <on-error>%s</on-error>\n"
            "</policies>\n" % (inbound, backend, outbound, on_error))


BY_THUMBPRINT = doc(
    '<rate-limit-by-key calls="3" renewal-period="60" '
    'counter-key="@(context.Request.Certificate == null ? "none" : context.Request.Certificate.Thumbprint)" '
    'remaining-calls-header-name="X-Remaining" total-calls-header-name="X-Total" />')

SHORT = doc('<rate-limit calls="2" renewal-period="2" />')

ON_SUCCESS = doc(
    '<rate-limit-by-key calls="2" renewal-period="60" counter-key="ok-only" '
    'increment-condition="@(context.Response.StatusCode == 200)" />')

QUOTA = doc('<quota-by-key calls="2" renewal-period="300" counter-key="@(context.Request.IpAddress)" />')

# Two policies counting one key: APIM counts it once per request.
QUOTA_TWICE = doc('<quota-by-key calls="2" renewal-period="0" counter-key="twice" />\n'
                  '    <quota-by-key calls="2" renewal-period="0" counter-key="twice" />')

CONCURRENCY = doc(backend='<limit-concurrency key="@(context.Api.Id)" max-count="2">'
                  '<forward-request timeout="10" /></limit-concurrency>')

BURST = doc('<rate-limit-by-key calls="4" renewal-period="60" counter-key="burst" />')


def reload_doc(gen):
    return doc('<rate-limit calls="2" renewal-period="60" retry-after-header-name="X-Retry" '
               'retry-after-variable-name="wait" />',
               on_error='<base /><set-header name="X-Why" exists-action="override">'
               '<value>@(context.LastError.Source + "|" + context.LastError.Reason + "|" + '
               'context.Variables["wait"].ToString() + "|%d")</value></set-header>' % gen)


def handler(req):
    if "/missing" in req.target:
        return cgtest.BResp(404, b"no")
    if req.target.startswith("/slow"):
        return cgtest.BResp(200, b"slow", delay=1.5)
    return cgtest.echo_handler(req)


class Throttling(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend(handler=handler)
        cls.alice = cls.pki.client("alice")
        cls.bob = cls.pki.client("bob")
        apis = ["bythumb", "short", "shortb", "onsuccess", "quota", "twice", "burst", "reload"]
        cls.gw = cls.gateway(
            hosts=[{"name": "secure.test", "negotiate": True, "default": True}],
            apis=[{"id": a, "path": a, "backend": cls.b.url("/" + a)} for a in apis] +
                 [{"id": "conc", "path": "conc", "backend": cls.b.url("/slow")}],
            workers=2)
        for api, text in (("bythumb", BY_THUMBPRINT), ("short", SHORT), ("shortb", SHORT),
                          ("onsuccess", ON_SUCCESS), ("quota", QUOTA), ("twice", QUOTA_TWICE),
                          ("conc", CONCURRENCY),
                          ("burst", BURST), ("reload", reload_doc(1))):
            cls.set_policy(text, "--api", api)
        time.sleep(1.0)  # the gateway polls the store every 250 ms

    @classmethod
    def set_policy(cls, text, *scope, check=True):
        return cls.gw.set_policy(text, *scope, check=check)

    def call(self, path, who=None):
        who = who or self.alice
        return self.gw.curl(path, host="secure.test", cert=who.cert, key=who.key)

    def assert_rate_limited(self, res, period):
        self.assertEqual(res.status, 429, res)
        after = int(res.headers.get("Retry-After"))
        self.assertTrue(1 <= after <= period, res)
        self.assertApimError(429, res.body, res.headers,
                             "Rate limit is exceeded. Try again in %d seconds." % after)

    def test_calls_per_certificate_thumbprint(self):
        for left in (2, 1, 0):
            res = self.call("/bythumb/x")
            self.assertEqual(res.status, 200, res)
            self.assertEqual(res.headers.get("X-Remaining"), str(left))
            self.assertEqual(res.headers.get("X-Total"), "3")
        self.assert_rate_limited(self.call("/bythumb/x"), 60)
        # another certificate is another key: its own budget
        res = self.call("/bythumb/x", self.bob)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.headers.get("X-Remaining"), "2")

    def test_window_renews_and_scope_is_the_api(self):
        for _ in range(2):
            self.assertEqual(self.call("/short/x").status, 200)
        # rate-limit (no key) counts every caller of the API together
        res = self.call("/short/x", self.bob)
        self.assert_rate_limited(res, 2)
        # the same policy on another API is another counter
        self.assertEqual(self.call("/shortb/x").status, 200)
        time.sleep(int(res.headers.get("Retry-After")) + 0.2)
        self.assertEqual(self.call("/short/x").status, 200)

    def test_increment_condition_on_response_status(self):
        # 404s are not counted (evaluated at the end of outbound)
        for _ in range(3):
            self.assertEqual(self.call("/onsuccess/missing").status, 404)
        self.assertEqual(self.call("/onsuccess/x").status, 200)
        self.assertEqual(self.call("/onsuccess/x").status, 200)
        self.assert_rate_limited(self.call("/onsuccess/missing"), 60)

    def test_quota_by_key(self):
        self.assertEqual(self.call("/quota/x").status, 200)
        self.assertEqual(self.call("/quota/x", self.bob).status, 200)  # same IP, same key
        res = self.call("/quota/x")
        self.assertEqual(res.status, 403, res)
        after = int(res.headers.get("Retry-After"))
        self.assertTrue(1 <= after <= 300, res)
        msg = json.loads(res.body)["message"]
        m = re.fullmatch(r"Out of call volume quota\. Quota will be replenished in 00:(\d\d):(\d\d)\.", msg)
        self.assertIsNotNone(m, msg)
        self.assertEqual(int(m.group(1)) * 60 + int(m.group(2)), after)

    def test_quota_key_counted_once_per_request(self):
        self.assertEqual(self.call("/twice/x").status, 200)
        self.assertEqual(self.call("/twice/x").status, 200)
        res = self.call("/twice/x")
        self.assertEqual(res.status, 403, res)
        # renewal-period 0: a lifetime quota, no Retry-After
        self.assertIsNone(res.headers.get("Retry-After"), res)
        self.assertApimError(403, res.body, res.headers, "Out of call volume quota.")

    def parallel(self, path, n):
        out = [None] * n

        def one(i):
            out[i] = self.call(path).status
        ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return sorted(out)

    def test_concurrent_requests_do_not_over_admit(self):
        self.assertEqual(self.parallel("/burst/x", 10), [200] * 4 + [429] * 6)

    def test_limit_concurrency_holds_the_slot_through_the_backend_call(self):
        self.b.reset(handler)
        # the backend answers after 1.5 s: five at once, two get in
        self.assertEqual(self.parallel("/conc/x", 5), [200] * 2 + [429] * 3)
        self.assertEqual(len(self.b.requests), 2)
        # both slots were given back when their requests ended
        self.assertEqual(self.parallel("/conc/x", 2), [200, 200])

    def test_counter_survives_a_configuration_reload(self):
        for _ in range(2):
            self.assertEqual(self.call("/reload/x").status, 200)
        res = self.call("/reload/x")
        self.assertEqual(res.status, 429, res)
        self.assertIsNone(res.headers.get("Retry-After"))
        wait = res.headers.get("X-Retry")
        self.assertEqual(res.headers.get("X-Why"), "rate-limit|RateLimitExceeded|%s|1" % wait)
        self.set_policy(reload_doc(2), "--api", "reload")
        deadline = time.monotonic() + 3
        while True:
            res = self.call("/reload/x")
            self.assertEqual(res.status, 429, res)  # never a fresh budget
            if res.headers.get("X-Why", "").endswith("|2"):
                break
            self.assertLess(time.monotonic(), deadline, "the new policy was not applied")
            time.sleep(0.1)

    def test_forms_not_run_are_refused_when_stored(self):
        cp = self.set_policy(doc('<quota calls="5" bandwidth="100" renewal-period="300" />'),
                             "--api", "short", check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn(":4:22: Attribute 'bandwidth' of element 'quota' is not run by this gateway yet "
                      "(call quotas are)", cp.stderr.decode())
        cp = self.set_policy(doc('<rate-limit calls="5" renewal-period="301" />'), "--api", "short",
                             check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn(":4:43: Value '301' of attribute 'renewal-period' in element 'rate-limit' is not "
                      "valid; expected 1 to 300 seconds", cp.stderr.decode())
        # the stored policy is kept
        shown = self.gw.cli("policy", "show", "--api", "short").stdout.decode()
        self.assertIn('<rate-limit calls="2" renewal-period="2" />', shown)


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
