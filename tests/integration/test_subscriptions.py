"""Subscriptions end to end: keys created with the CLI, checked by the real
gateway over TLS with curl. Missing and invalid keys (401, APIM's messages
and JSON body), primary and secondary keys, states, expiration, the query
parameter, a custom header name, scopes, hot removal, on-error with
LastError, context.Subscription in expressions, rate-limit per
subscription, and what the backend receives."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

MISSING = ("Access denied due to missing subscription key. Make sure to include subscription "
           "key when making requests to this API.")
INVALID = ("Access denied due to invalid subscription key. Make sure to provide a valid key "
           "for an active subscription.")

HOST = "subs.test"
KEY_A1 = "alpha-primary-0001"
KEY_A2 = "alpha-secondary-0001"
KEY_ONE = "only-orders-key-01"
KEY_SUSP = "suspended-key-0001"
KEY_OLD = "expired-key-000001"
KEY_GONE = "removed-later-0001"
KEY_RL1 = "rate-limit-key-001"
KEY_RL2 = "rate-limit-key-002"

CTX_POLICY = """<policies>
  <inbound>
    <base />
    <set-header name="X-Sub" exists-action="override">
      <value>@(context.Subscription == null ? "none" : context.Subscription.Id + "|" + context.Subscription.Name + "|" + context.Subscription.Key + "|" + (context.Subscription.Key == context.Subscription.PrimaryKey ? "primary" : "secondary") + "|" + context.Subscription.EndDate.HasValue + "|" + context.Subscription.CreatedDate.Year)</value>
    </set-header>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error>
    <base />
    <set-header name="X-Error" exists-action="override">
      <value>@(context.LastError.Source + "|" + context.LastError.Reason + "|" + context.LastError.Section + "|" + context.Response.StatusCode)</value>
    </set-header>
  </on-error>
</policies>
"""

RATE_POLICY = """<policies>
  <inbound><base /><rate-limit calls="2" renewal-period="60" /></inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>
"""


class Subscriptions(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        apis = ["orders", "billing", "open", "custom", "ctx", "rl", "live"]
        # Everything is stored before the gateway starts: its first
        # snapshot has it all (no wait for the store poll).
        cls.gw = cgtest.Gateway(
            cls.tmp, cls.pki, hosts=[{"name": HOST, "default": True}],
            apis=[{"id": a, "path": a, "backend": cls.b.url("/" + a)} for a in apis])
        cls.gateways.append(cls.gw)
        for a in ("orders", "billing", "ctx", "rl", "live"):
            cls.gw.cli("api", "set", a, "--subscription-required", "true")
        cls.gw.cli("api", "set", "custom", "--subscription-required", "true",
                   "--subscription-key-header", "X-Api-Key", "--subscription-key-query", "apikey")
        cli = cls.gw.cli
        cli("sub", "set", "alpha", "--scope", "/apis", "--state", "active",
            "--display-name", "Alpha Corp", "--primary-key", KEY_A1, "--secondary-key", KEY_A2)
        cli("sub", "set", "one", "--scope", "/apis/orders", "--state", "active",
            "--primary-key", KEY_ONE)
        cli("sub", "set", "susp", "--scope", "/apis", "--state", "suspended",
            "--primary-key", KEY_SUSP)
        cli("sub", "set", "old", "--scope", "/apis", "--state", "active",
            "--primary-key", KEY_OLD, "--expiration", "2020-01-01T00:00:00Z")
        cli("sub", "set", "gone", "--scope", "/apis/live", "--state", "active",
            "--primary-key", KEY_GONE)
        cli("sub", "set", "rl1", "--scope", "/apis/rl", "--state", "active",
            "--primary-key", KEY_RL1)
        cli("sub", "set", "rl2", "--scope", "/apis/rl", "--state", "active",
            "--primary-key", KEY_RL2)
        cls.gw.set_policy(CTX_POLICY, "--api", "ctx")
        cls.gw.set_policy(RATE_POLICY, "--api", "rl")
        cls.gw.start()

    def call(self, path, key=None, header="Ocp-Apim-Subscription-Key", headers=()):
        hs = list(headers)
        if key is not None:
            hs.append("%s: %s" % (header, key))
        return self.gw.curl(path, host=HOST, headers=hs)

    def assert_401(self, res, message):
        self.assertEqual(res.status, 401, res)
        self.assertApimError(401, res.body, res.headers, message)

    def test_missing_key(self):
        before = self.b.count()
        self.assert_401(self.call("/orders/x"), MISSING)
        self.assertEqual(self.b.count(), before)  # never forwarded

    def test_invalid_key(self):
        self.assert_401(self.call("/orders/x", "no-such-key-000"), INVALID)
        # an empty header is a key that matches nothing (curl's "Name;" sends one)
        self.assert_401(self.call("/orders/x", headers=["Ocp-Apim-Subscription-Key;"]), INVALID)

    def test_primary_and_secondary_keys(self):
        for k in (KEY_A1, KEY_A2):
            res = self.call("/orders/x", k)
            self.assertEqual(res.status, 200, res)

    def test_key_is_forwarded_to_the_backend(self):
        # APIM passes the key header on (a policy may delete it)
        self.assertEqual(self.call("/orders/fwd", KEY_A1).status, 200)
        req = self.b.last()
        self.assertEqual(req.headers.get("Ocp-Apim-Subscription-Key"), KEY_A1)

    def test_api_scoped_subscription(self):
        self.assertEqual(self.call("/orders/x", KEY_ONE).status, 200)
        self.assert_401(self.call("/billing/x", KEY_ONE), INVALID)

    def test_suspended_and_expired_refuse(self):
        self.assert_401(self.call("/orders/x", KEY_SUSP), INVALID)
        self.assert_401(self.call("/orders/x", KEY_OLD), INVALID)

    def test_query_parameter_key(self):
        res = self.call("/orders/x?a=1&subscription-key=" + KEY_A1)
        self.assertEqual(res.status, 200, res)
        self.assert_401(self.call("/orders/x?subscription-key=wrong-key-0000"), INVALID)

    def test_custom_header_and_query_names(self):
        self.assertEqual(self.call("/custom/x", KEY_A1, header="X-Api-Key").status, 200)
        self.assertEqual(self.call("/custom/x?apikey=" + KEY_A2).status, 200)
        # the default names mean nothing on this API
        self.assert_401(self.call("/custom/x", KEY_A1), MISSING)
        self.assert_401(self.call("/custom/x?subscription-key=" + KEY_A1), MISSING)

    def test_api_without_requirement(self):
        self.assertEqual(self.call("/open/x").status, 200)
        self.assertEqual(self.call("/open/x", KEY_A1).status, 200)
        # APIM evaluates a key even where none is required
        self.assert_401(self.call("/open/x", "no-such-key-000"), INVALID)

    def test_context_subscription_in_expression(self):
        res = self.call("/ctx/x", KEY_A2)
        self.assertEqual(res.status, 200, res)
        year = time.gmtime().tm_year
        self.assertEqual(self.b.last().headers.get("X-Sub"),
                         "alpha|Alpha Corp|%s|secondary|False|%d" % (KEY_A2, year))

    def test_on_error_runs_with_last_error(self):
        res = self.call("/ctx/x")
        self.assert_401(res, MISSING)
        self.assertEqual(res.headers.get("X-Error"),
                         "authorization|SubscriptionKeyNotFound|inbound|401")
        res = self.call("/ctx/x", "wrong-key-00000")
        self.assert_401(res, INVALID)
        self.assertEqual(res.headers.get("X-Error"),
                         "authorization|SubscriptionKeyInvalid|inbound|401")

    def test_rate_limit_counts_per_subscription(self):
        for _ in range(2):
            self.assertEqual(self.call("/rl/x", KEY_RL1).status, 200)
        self.assertEqual(self.call("/rl/x", KEY_RL1).status, 429)
        # another subscription has its own counter
        self.assertEqual(self.call("/rl/x", KEY_RL2).status, 200)

    def test_subscription_removed_live(self):
        self.assertEqual(self.call("/live/x", KEY_GONE).status, 200)
        self.gw.cli("sub", "rm", "gone")
        cgtest.poll(lambda: self.call("/live/x", KEY_GONE).status == 401, timeout=10)
        self.assert_401(self.call("/live/x", KEY_GONE), INVALID)

    def test_state_change_live(self):
        self.gw.cli("sub", "set", "flip", "--scope", "/apis/live", "--primary-key",
                    "flip-key-00000001")
        # created "submitted" (APIM's default): not usable yet
        time.sleep(0.6)
        self.assert_401(self.call("/live/x", "flip-key-00000001"), INVALID)
        self.gw.cli("sub", "set", "flip", "--state", "active")
        cgtest.poll(lambda: self.call("/live/x", "flip-key-00000001").status == 200, timeout=10)

    def test_regenerated_key_replaces_the_old_one(self):
        self.gw.cli("sub", "set", "regen", "--scope", "/apis/live", "--state", "active",
                    "--primary-key", "regen-key-0000001")
        cgtest.poll(lambda: self.call("/live/x", "regen-key-0000001").status == 200, timeout=10)
        self.gw.cli("sub", "regenerate", "regen", "--primary")
        keys = json.loads(self.gw.cli("sub", "keys", "regen", "--json").stdout.decode())
        self.assertRegex(keys["primaryKey"], "^[0-9a-f]{32}$")
        cgtest.poll(lambda: self.call("/live/x", keys["primaryKey"]).status == 200, timeout=10)
        self.assert_401(self.call("/live/x", "regen-key-0000001"), INVALID)


class SubscriptionStore(unittest.TestCase):
    """CLI door: bad input is refused with a clear message and changes
    nothing; keys are never printed by list/show."""

    def setUp(self):
        self.tmp = cgtest.tempfile.mkdtemp(prefix="subs-")
        self.store = os.path.join(self.tmp, "s.db")
        self.cg("api", "set", "a", "--path", "a", "--backend", "http://127.0.0.1:9")
        self.cg("sub", "set", "s1", "--scope", "/apis/a", "--primary-key", "first-key-000001")

    def cg(self, *args, check=True):
        cp = cgtest.run([cgtest.certgate_path(), "--store", self.store] + list(args),
                        check=check)
        cp.stdout, cp.stderr = cp.stdout.decode(), cp.stderr.decode()
        return cp

    def refused(self, args, message):
        before = self.cg("sub", "list", "--json").stdout
        cp = self.cg(*args, check=False)
        self.assertNotEqual(cp.returncode, 0, cp)
        self.assertIn(message, cp.stderr)
        self.assertEqual(self.cg("sub", "list", "--json").stdout, before)

    def test_bad_input_changes_nothing(self):
        for args, msg in (
                (["sub", "set", "x", "--scope", "/apis/nope"], "scope: API 'nope' does not exist"),
                (["sub", "set", "x", "--scope", "/products/p"],
                 "scope: product 'p' does not exist"),
                (["sub", "set", "x", "--scope", "/things"], "is not \"/apis\""),
                (["sub", "set", "x"],
                 "a scope (\"/apis\", \"/apis/{api}\" or \"/products/{pid}\") is needed"),
                (["sub", "set", "x", "--scope", "/apis", "--state", "on"],
                 "subscription state 'on' is not one of"),
                (["sub", "set", "x", "--scope", "/apis", "--primary-key", "first-key-000001"],
                 "is already a key of subscription 's1'"),
                (["sub", "set", "x", "--scope", "/apis", "--secondary-key", "first-key-000001"],
                 "is already a key of subscription 's1'"),
                (["sub", "set", "x", "--scope", "/apis", "--primary-key", "short"],
                 "must be 8 to 256 characters long"),
                (["sub", "set", "x", "--scope", "/apis", "--primary-key", "has space 12345"],
                 "may only hold letters, digits"),
                (["sub", "set", "x", "--scope", "/apis", "--primary-key", "same-key-0000001",
                  "--secondary-key", "same-key-0000001"], "must differ"),
                (["sub", "set", "s1", "--secondary-key", "first-key-000001"], "must differ"),
                (["sub", "set", "x", "--scope", "/apis", "--expiration", "tomorrow"],
                 "is not of the form YYYY-MM-DDTHH:MM:SSZ"),
                (["sub", "set", "x", "--scope", "/apis", "--expiration",
                  "2030-02-30T25:00:00Z"], "is out of range"),
                (["sub", "set", "bad id", "--scope", "/apis"], "subscription id"),
                (["sub", "rm", "nope"], "subscription 'nope' does not exist"),
                (["sub", "regenerate", "nope", "--primary"],
                 "subscription 'nope' does not exist")):
            with self.subTest(args=args):
                self.refused(args, msg)

    def test_api_key_names_are_checked(self):
        for args, msg in ((["--subscription-key-header", "bad header"], "is not an HTTP header"),
                          (["--subscription-key-query", "a=b"], "must be 1-100"),
                          (["--subscription-required", "yes"], "takes true or false")):
            before = self.cg("api", "show", "a", "--json").stdout
            cp = self.cg("api", "set", "a", *args, check=False)
            self.assertNotEqual(cp.returncode, 0, cp)
            self.assertIn(msg, cp.stderr)
            self.assertEqual(self.cg("api", "show", "a", "--json").stdout, before)

    def test_keys_only_through_keys(self):
        self.cg("sub", "set", "gen", "--scope", "/apis")
        listing = self.cg("sub", "list", "--json").stdout + self.cg("sub", "show", "gen").stdout
        keys = json.loads(self.cg("sub", "keys", "gen", "--json").stdout)
        self.assertRegex(keys["primaryKey"], "^[0-9a-f]{32}$")
        self.assertRegex(keys["secondaryKey"], "^[0-9a-f]{32}$")
        self.assertNotEqual(keys["primaryKey"], keys["secondaryKey"])
        self.assertNotIn(keys["primaryKey"], listing)
        self.assertNotIn("first-key-000001", listing)
        shown = json.loads(self.cg("sub", "show", "gen", "--json").stdout)
        self.assertEqual(shown["properties"]["state"], "submitted")
        self.assertEqual(shown["properties"]["scope"], "/apis")

    def test_removing_the_api_removes_its_subscriptions(self):
        self.cg("api", "rm", "a")
        self.assertEqual(json.loads(self.cg("sub", "list", "--json").stdout), [])


if __name__ == "__main__":
    unittest.main()
