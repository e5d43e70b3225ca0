"""<api> and <operation> limits inside rate-limit and quota in product
policies, end to end: products, APIs, operations (with display names),
subscriptions and policies made with the CLI, run by the real gateway (two
workers) over TLS, driven by curl with product subscription keys.

Every test uses its own subscription: counters are per subscription, so
the tests share no counter. Windows are 60 s or more, so no test waits for
one to end."""

import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

HOST = "limits.test"


def policy(inbound):
    return ("<policies>\n  <inbound>\n    <base />\n    %s\n  </inbound>\n"
            "  <backend><base /></backend>\n  <outbound><base /></outbound>\n"
            "  <on-error><base /></on-error>\n</policies>\n" % inbound)


# gold: 6 calls a minute for the product, 4 for "Orders API" (by display
# name), 2 for its operation "Create order" (by display name).
GOLD = policy(
    '<rate-limit calls="6" renewal-period="60" remaining-calls-header-name="X-Remaining" '
    'total-calls-header-name="X-Total">\n'
    '      <api name="Orders API" calls="4" renewal-period="60">\n'
    '        <operation name="Create order" calls="2" renewal-period="60" />\n'
    '      </api>\n'
    '    </rate-limit>')

# silver: id wins over name (APIM: "id will be used and name will be
# ignored"), for the API and the operation, and ignores ASCII case; the
# product's window is longer than the API's.
SILVER = policy(
    '<rate-limit calls="4" renewal-period="200">\n'
    '      <api id="ORDERS" name="Billing" calls="2" renewal-period="60">\n'
    '        <operation id="list" name="Create order" calls="1" renewal-period="60" />\n'
    '      </api>\n'
    '    </rate-limit>')

# bronze: a quota with an API quota that takes the quota's renewal-period.
BRONZE = policy('<quota calls="5" renewal-period="3600"><api id="billing" calls="1" /></quota>')



def copper(gen):
    """An API limit whose policy changes around it (gen in on-error)."""
    return ('<policies><inbound><base /><rate-limit calls="10" renewal-period="60">'
            '<api id="orders" calls="1" renewal-period="60" /></rate-limit></inbound>'
            '<backend><base /></backend><outbound><base /></outbound>'
            '<on-error><base /><set-header name="X-Gen" exists-action="override">'
            '<value>%d</value></set-header></on-error></policies>' % gen)


SUBS = {
    "g-op": "gold", "g-api": "gold", "g-other": "gold", "g-two-a": "gold", "g-two-b": "gold",
    "s-id": "silver", "s-name": "silver", "s-op": "silver", "b-quota": "bronze",
    "c-reload": "copper",
}


def key_of(sid):
    return "key-%s-00000000" % sid


class ApiLimits(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.gw = cgtest.Gateway(
            cls.tmp, cls.pki, hosts=[{"name": HOST, "default": True}],
            apis=[{"id": a, "path": a, "backend": cls.b.url("/" + a),
                   "subscription_required": True} for a in ("orders", "billing", "plain")],
            ops=[{"api": "orders", "id": "create", "method": "POST", "template": "/create"},
                 {"api": "orders", "id": "list", "method": "GET", "template": "/list"}],
            workers=2)
        cls.gateways.append(cls.gw)
        cli = cls.gw.cli
        cli("api", "set", "orders", "--display-name", "Orders API")
        cli("api", "set", "billing", "--display-name", "Billing")
        cli("op", "set", "orders", "create", "--display-name", "Create order")
        for p in ("gold", "silver", "bronze", "copper"):
            cli("product", "set", p, "--state", "published")
            cli("product", "add-api", p, "orders")
            cli("product", "add-api", p, "billing")
        for sid, p in SUBS.items():
            cli("sub", "set", sid, "--scope", "/products/" + p, "--state", "active",
                "--primary-key", key_of(sid))
        cls.gw.set_policy(GOLD, "--product", "gold")
        cls.gw.set_policy(SILVER, "--product", "silver")
        cls.gw.set_policy(BRONZE, "--product", "bronze")
        cls.gw.set_policy(copper(1), "--product", "copper")
        cls.gw.start()

    def call(self, path, sid, method=None):
        return self.gw.curl(path, host=HOST, method=method,
                            headers=["Ocp-Apim-Subscription-Key: " + key_of(sid)])

    def ok(self, path, sid, remaining=None, total=None, method=None):
        res = self.call(path, sid, method)
        self.assertEqual(res.status, 200, res)
        if remaining is not None:
            self.assertEqual((res.headers.get("X-Remaining"), res.headers.get("X-Total")),
                             (str(remaining), str(total)), res)
        return res

    def assert_429(self, res, low, high):
        self.assertEqual(res.status, 429, res)
        after = int(res.headers.get("Retry-After"))
        self.assertTrue(low <= after <= high, res)
        self.assertApimError(429, res.body, res.headers,
                             "Rate limit is exceeded. Try again in %d seconds." % after)
        return after

    def test_operation_limit_trips_on_that_operation_only(self):
        before = self.b.count()
        # product 6, API 4, operation 2: the fewest left is reported, with
        # the calls of the limit that has them
        self.ok("/orders/create", "g-op", 1, 2, method="POST")
        self.ok("/orders/create", "g-op", 0, 2, method="POST")
        self.assert_429(self.call("/orders/create", "g-op", method="POST"), 1, 60)
        self.assertEqual(self.b.count(), before + 2)  # the refused call was not forwarded
        # the API's other operation still runs: the refused call was counted
        # in no limit (API: 3 of 4 used, product: 3 of 6)
        self.ok("/orders/list", "g-op", 1, 4)
        self.ok("/orders/list", "g-op", 0, 4)
        self.assert_429(self.call("/orders/list", "g-op"), 1, 60)
        # another API of the product has the product's limit only
        self.ok("/billing/x", "g-op", 1, 6)

    def test_api_limit_lower_than_product_trips_on_that_api_only(self):
        for left in (3, 2, 1, 0):
            self.ok("/orders/list", "g-api", left, 4)
        self.assert_429(self.call("/orders/list", "g-api"), 1, 60)
        self.assert_429(self.call("/orders/create", "g-api", method="POST"), 1, 60)
        # the product counted the 4 admitted calls, not the refused ones
        self.ok("/billing/x", "g-api", 1, 6)
        self.ok("/billing/x", "g-api", 0, 6)
        # now the product's own limit refuses, on every API
        self.assert_429(self.call("/billing/x", "g-api"), 1, 60)

    def test_other_api_gets_the_product_limit(self):
        for left in (5, 4, 3, 2, 1, 0):
            self.ok("/billing/x", "g-other", left, 6)
        self.assert_429(self.call("/billing/x", "g-other"), 1, 60)
        self.assert_429(self.call("/orders/list", "g-other"), 1, 60)

    def test_two_subscriptions_have_separate_counters(self):
        self.ok("/orders/create", "g-two-a", 1, 2, method="POST")
        self.ok("/orders/create", "g-two-a", 0, 2, method="POST")
        self.assert_429(self.call("/orders/create", "g-two-a", method="POST"), 1, 60)
        # the same operation, API and product under another subscription
        self.ok("/orders/create", "g-two-b", 1, 2, method="POST")
        self.ok("/orders/list", "g-two-b", 2, 4)

    def test_id_wins_over_name_and_the_longest_wait_is_reported(self):
        # <operation id="list" name="Create order">: create is not limited
        # by it (by name it would allow 1 call), only by the API's 2
        self.ok("/orders/create", "s-id", method="POST")
        self.ok("/orders/create", "s-id", method="POST")
        after = self.assert_429(self.call("/orders/create", "s-id", method="POST"), 1, 60)
        # the API's other operation: the API limit refuses it too
        self.assert_429(self.call("/orders/list", "s-id"), 1, 60)
        # billing has the product's limit: 2 of 4 used
        self.ok("/billing/x", "s-id")
        self.ok("/billing/x", "s-id")
        # now the product's limit (200 s window) refuses as well as the
        # API's (60 s): the client is told the longest wait
        self.assertGreater(self.assert_429(self.call("/orders/create", "s-id", method="POST"),
                                           61, 200), after)
        self.assert_429(self.call("/billing/x", "s-id"), 61, 200)

    def test_api_name_is_ignored_when_id_is_given(self):
        # <api id="orders" name="Billing">: billing gets the product's 4
        # calls, not the API limit's 2
        for _ in range(4):
            self.ok("/billing/x", "s-name")
        self.assert_429(self.call("/billing/x", "s-name"), 61, 200)

    def test_operation_limit_by_id(self):
        self.ok("/orders/list", "s-op")
        self.assert_429(self.call("/orders/list", "s-op"), 1, 60)
        # the API's 2: one left for its other operation
        self.ok("/orders/create", "s-op", method="POST")

    def test_quota_api_limit(self):
        self.ok("/billing/x", "b-quota")
        res = self.call("/billing/x", "b-quota")
        self.assertEqual(res.status, 403, res)
        after = int(res.headers.get("Retry-After"))
        self.assertTrue(1 <= after <= 3600, res)
        msg = json.loads(res.body)["message"]
        m = re.fullmatch(r"Out of call volume quota\. Quota will be replenished in "
                         r"(\d\d):(\d\d):(\d\d)\.", msg)
        self.assertIsNotNone(m, msg)
        self.assertEqual(int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3)), after)
        # the product's quota (5) still admits the product's other API
        for _ in range(4):
            self.ok("/orders/list", "b-quota")
        self.assertEqual(self.call("/orders/list", "b-quota").status, 403)

    def test_counter_survives_a_configuration_change(self):
        self.ok("/orders/list", "c-reload")
        res = self.call("/orders/list", "c-reload")
        self.assert_429(res, 1, 60)
        self.assertEqual(res.headers.get("X-Gen"), "1")
        # the same limit in a changed document counts on (the counter is
        # named by subscription, API, selector and window, not by snapshot)
        self.gw.set_policy(copper(2), "--product", "copper")
        deadline = time.monotonic() + 10
        while True:
            res = self.call("/orders/list", "c-reload")
            self.assert_429(res, 1, 60)  # never a fresh budget
            if res.headers.get("X-Gen") == "2":
                break
            self.assertLess(time.monotonic(), deadline, "the new policy was not applied")
            time.sleep(0.1)


class ApiLimitsStore(unittest.TestCase):
    """Refusals when stored: line:col, and the stored policy is kept."""

    def setUp(self):
        self.tmp = cgtest.tempfile.mkdtemp(prefix="apilimits-")
        self.store = os.path.join(self.tmp, "s.db")
        self.cg("api", "set", "a", "--path", "a", "--backend", "http://127.0.0.1:9")
        self.cg("product", "set", "p")
        self.cg("product", "add-api", "p", "a")
        self.write("good.xml", policy('<rate-limit calls="5" renewal-period="60">'
                                      '<api id="a" calls="1" renewal-period="60" /></rate-limit>'))

    def cg(self, *args, check=True):
        cp = cgtest.run([cgtest.certgate_path(), "--store", self.store] + list(args), check=check)
        cp.stdout, cp.stderr = cp.stdout.decode(), cp.stderr.decode()
        return cp

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_product_policy_loads_and_checks(self):
        self.cg("policy", "set", "--product", "p", os.path.join(self.tmp, "good.xml"))
        self.assertIn('<api id="a" calls="1"', self.cg("policy", "show", "--product", "p").stdout)
        cp = self.cg("policy", "check", "--scope", "product", os.path.join(self.tmp, "good.xml"))
        self.assertEqual(cp.returncode, 0, cp)

    def test_refused_outside_a_product_and_nothing_changes(self):
        good = os.path.join(self.tmp, "good.xml")
        self.cg("policy", "set", "--api", "a", self.write(
            "api.xml", policy('<rate-limit calls="5" renewal-period="60" />')))
        for scope in (["--api", "a"], []):
            with self.subTest(scope=scope):
                before = self.cg("policy", "show", *scope, check=False).stdout
                cp = self.cg("policy", "set", *scope, good, check=False)
                self.assertEqual(cp.returncode, 1, cp)
                self.assertIn("good.xml:4:47: Element 'api' in 'rate-limit' is allowed only in a "
                              "product policy: it limits the calls to one API of the product",
                              cp.stderr)
                self.assertEqual(self.cg("policy", "show", *scope, check=False).stdout, before)
        cp = self.cg("policy", "check", good, check=False)
        self.assertEqual(cp.returncode, 1, cp)
        self.assertIn("good.xml:4:47: Element 'api' in 'rate-limit' is allowed only", cp.stdout + cp.stderr)

    def test_bad_product_policy_has_line_and_column_and_keeps_the_old_one(self):
        self.cg("policy", "set", "--product", "p", os.path.join(self.tmp, "good.xml"))
        before = self.cg("policy", "show", "--product", "p").stdout
        for text, msg in (
                ('<rate-limit calls="5" renewal-period="60"><api id="a" calls="1" /></rate-limit>',
                 ":4:47: Element 'api' is missing required attribute 'renewal-period'"),
                ('<rate-limit calls="5" renewal-period="60"><operation id="o" calls="1" '
                 'renewal-period="1" /></rate-limit>',
                 ":4:47: Element 'operation' is not allowed in element 'rate-limit'"),
                ('<quota calls="5" renewal-period="60"><api id="a" bandwidth="10" /></quota>',
                 ":4:54: Attribute 'bandwidth' of element 'api' is not run by this gateway yet "
                 "(call quotas are)"),
                ('<rate-limit calls="5" renewal-period="60"><api id="a" calls="1" renewal-period="1" />'
                 '<api id="A" calls="2" renewal-period="1" /></rate-limit>',
                 ":4:90: Element 'api' with id 'A' appears more than once in 'rate-limit'")):
            with self.subTest(text=text):
                cp = self.cg("policy", "set", "--product", "p",
                             self.write("bad.xml", policy(text)), check=False)
                self.assertEqual(cp.returncode, 1, cp)
                self.assertIn("bad.xml" + msg, cp.stderr)
                self.assertEqual(self.cg("policy", "show", "--product", "p").stdout, before)


if __name__ == "__main__":
    cgtest.main()
