"""Products end to end: products, their APIs and policy made with the CLI,
subscriptions scoped to "/products/{pid}" checked by the real gateway over
TLS with curl. A product key grants the product's APIs only; the product
policy runs between global and API (<base/>); context.Product in
expressions; unpublishing, removing the product or an API from it applies
live; the CLI refuses bad input and leaves the store unchanged."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

INVALID = ("Access denied due to invalid subscription key. Make sure to provide a valid key "
           "for an active subscription.")

HOST = "products.test"
KEY_P = "starter-key-000001"
KEY_ALL = "all-apis-key-00001"
KEY_LIVE = "live-prod-key-0001"
KEY_GONE = "gone-prod-key-0001"
KEY_SHRINK = "shrink-key-0000001"


def appender(name, value, extra=""):
    return """<set-header name="%s" exists-action="append"><value>%s</value></set-header>%s""" % (
        name, value, extra)


def policy(inbound, backend="<base />"):
    return ("<policies><inbound>%s</inbound><backend>%s</backend>"
            "<outbound><base /></outbound><on-error><base /></on-error></policies>" % (
                inbound, backend))


# At global scope <base/> has nothing above it: the global document forwards.
GLOBAL = policy(appender("X-Order", "global"), "<forward-request />")
PRODUCT = policy("<base />" + appender("X-Order", "product") + """
<set-header name="X-Product" exists-action="override">
  <value>@(context.Product.Id + "|" + context.Product.Name + "|" + context.Product.State + "|" + context.Product.SubscriptionRequired + "|" + context.Product.ApprovalRequired + "|" + (context.Product.SubscriptionsLimit ?? -1) + "|" + context.Subscription.Id)</value>
</set-header>""")
API = policy("<base />" + appender("X-Order", "api") + """
<set-header name="X-Seen-Product" exists-action="override">
  <value>@(context.Product == null ? "none" : context.Product.Name)</value>
</set-header>""")
OP = policy("<base />" + appender("X-Order", "operation"))
# A product document without <base/> in inbound drops the global inbound
# for its requests (APIM: per section).
NO_BASE = policy(appender("X-Order", "product-alone"))


class Products(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        apis = ["inprod", "other", "live", "gone", "shrink", "alone"]
        cls.gw = cgtest.Gateway(
            cls.tmp, cls.pki, hosts=[{"name": HOST, "default": True}],
            apis=[{"id": a, "path": a, "backend": cls.b.url("/" + a)} for a in apis],
            ops=[{"api": "inprod", "id": "getx", "method": "GET", "template": "/x"}])
        cls.gateways.append(cls.gw)
        cli = cls.gw.cli
        for a in apis:
            cli("api", "set", a, "--subscription-required", "true")
        cli("product", "set", "starter", "--display-name", "Starter Plan", "--state", "published",
            "--subscriptions-limit", "7")
        cli("product", "add-api", "starter", "inprod")
        for p in ("live", "gone", "shrink", "alone"):
            cli("product", "set", p, "--state", "published")
            cli("product", "add-api", p, p)
        cli("product", "add-api", "shrink", "other")
        cli("sub", "set", "sp", "--scope", "/products/starter", "--state", "active",
            "--primary-key", KEY_P)
        cli("sub", "set", "all", "--scope", "/apis", "--state", "active",
            "--primary-key", KEY_ALL)
        cli("sub", "set", "sl", "--scope", "/products/live", "--state", "active",
            "--primary-key", KEY_LIVE)
        cli("sub", "set", "sg", "--scope", "/products/gone", "--state", "active",
            "--primary-key", KEY_GONE)
        cli("sub", "set", "ss", "--scope", "/products/shrink", "--state", "active",
            "--primary-key", KEY_SHRINK)
        cli("sub", "set", "sa", "--scope", "/products/alone", "--state", "active",
            "--primary-key", "alone-key-0000001")
        # a product without a policy: its requests run the API's own pipelines
        cli("product", "set", "plain", "--state", "published")
        cli("product", "add-api", "plain", "inprod")
        cli("sub", "set", "spl", "--scope", "/products/plain", "--state", "active",
            "--primary-key", "plain-key-0000001")
        cls.gw.set_policy(GLOBAL)
        cls.gw.set_policy(PRODUCT, "--product", "starter")
        cls.gw.set_policy(NO_BASE, "--product", "alone")
        cls.gw.set_policy(API, "--api", "inprod")
        cls.gw.set_policy(OP, "--api", "inprod", "--operation", "getx")
        cls.gw.start()

    def call(self, path, key):
        return self.gw.curl(path, host=HOST, headers=["Ocp-Apim-Subscription-Key: " + key])

    def assert_401(self, res):
        self.assertEqual(res.status, 401, res)
        self.assertApimError(401, res.body, res.headers, INVALID)

    def test_product_key_grants_its_api_with_the_product_policy_in_order(self):
        res = self.call("/inprod/x", KEY_P)
        self.assertEqual(res.status, 200, res)
        req = self.b.last()
        self.assertEqual(req.headers.get_all("X-Order"),
                         ["global", "product", "api", "operation"])
        self.assertEqual(req.headers.get("X-Product"),
                         "starter|Starter Plan|Published|True|False|7|sp")
        self.assertEqual(req.headers.get("X-Seen-Product"), "Starter Plan")

    def test_product_without_policy_runs_the_api_pipelines_with_the_product_in_context(self):
        res = self.call("/inprod/x", "plain-key-0000001")
        self.assertEqual(res.status, 200, res)
        req = self.b.last()
        self.assertEqual(req.headers.get_all("X-Order"), ["global", "api", "operation"])
        self.assertEqual(req.headers.get("X-Seen-Product"), "plain")
        self.assertIsNone(req.headers.get("X-Product"))

    def test_product_key_on_another_api_is_invalid(self):
        before = self.b.count()
        self.assert_401(self.call("/other/x", KEY_P))
        self.assertEqual(self.b.count(), before)  # never forwarded

    def test_key_without_product_skips_the_product_scope(self):
        self.assertEqual(self.call("/inprod/x", KEY_ALL).status, 200)
        req = self.b.last()
        self.assertEqual(req.headers.get_all("X-Order"), ["global", "api", "operation"])
        self.assertEqual(req.headers.get("X-Seen-Product"), "none")
        self.assertIsNone(req.headers.get("X-Product"))

    def test_product_policy_without_base_drops_global_inbound(self):
        # (an API without operations: the API-level pipeline of the product)
        self.assertEqual(self.call("/alone/x", "alone-key-0000001").status, 200)
        self.assertEqual(self.b.last().headers.get_all("X-Order"), ["product-alone"])

    def test_unpublished_product_grants_nothing_live(self):
        self.assertEqual(self.call("/live/x", KEY_LIVE).status, 200)
        self.gw.cli("product", "set", "live", "--state", "notPublished")
        cgtest.poll(lambda: self.call("/live/x", KEY_LIVE).status == 401, timeout=10)
        self.assert_401(self.call("/live/x", KEY_LIVE))
        self.gw.cli("product", "set", "live", "--state", "published")
        cgtest.poll(lambda: self.call("/live/x", KEY_LIVE).status == 200, timeout=10)

    def test_product_removed_live(self):
        self.assertEqual(self.call("/gone/x", KEY_GONE).status, 200)
        cp = self.gw.cli("product", "rm", "gone", check=False)
        self.assertEqual(cp.returncode, 1, cp)
        self.assertIn(b"product 'gone' has 1 subscription", cp.stderr)
        self.assertEqual(self.call("/gone/x", KEY_GONE).status, 200)  # nothing changed
        self.gw.cli("product", "rm", "gone", "--delete-subscriptions")
        cgtest.poll(lambda: self.call("/gone/x", KEY_GONE).status == 401, timeout=10)
        self.assert_401(self.call("/gone/x", KEY_GONE))
        subs = json.loads(self.gw.cli("sub", "list", "--json").stdout.decode())
        self.assertNotIn("sg", [s["id"] for s in subs])

    def test_api_removed_from_product_live(self):
        self.assertEqual(self.call("/other/x", KEY_SHRINK).status, 200)
        self.gw.cli("product", "rm-api", "shrink", "other")
        cgtest.poll(lambda: self.call("/other/x", KEY_SHRINK).status == 401, timeout=10)
        self.assert_401(self.call("/other/x", KEY_SHRINK))
        # the subscription stays and still grants the product's other API
        self.assertEqual(self.call("/shrink/x", KEY_SHRINK).status, 200)


class ProductStore(unittest.TestCase):
    """CLI door: bad input is refused with a clear message and changes
    nothing."""

    def setUp(self):
        self.tmp = cgtest.tempfile.mkdtemp(prefix="products-")
        self.store = os.path.join(self.tmp, "s.db")
        self.cg("api", "set", "a", "--path", "a", "--backend", "http://127.0.0.1:9")
        self.cg("product", "set", "p", "--description", "first")
        self.cg("product", "add-api", "p", "a")
        self.cg("sub", "set", "s", "--scope", "/products/p", "--primary-key", "prod-key-0000001")

    def cg(self, *args, check=True):
        cp = cgtest.run([cgtest.certgate_path(), "--store", self.store] + list(args),
                        check=check)
        cp.stdout, cp.stderr = cp.stdout.decode(), cp.stderr.decode()
        return cp

    def snapshot(self):
        return (self.cg("product", "list", "--json").stdout,
                self.cg("sub", "list", "--json").stdout,
                self.cg("policy", "show", "--product", "p", check=False).stdout)

    def test_defaults_and_show(self):
        j = json.loads(self.cg("product", "show", "p", "--json").stdout)
        self.assertEqual(j["properties"], {
            "displayName": "p", "description": "first", "subscriptionRequired": True,
            "approvalRequired": False, "subscriptionsLimit": None, "state": "notPublished"})
        self.assertEqual(j["apis"], ["a"])
        sub = json.loads(self.cg("sub", "show", "s", "--json").stdout)
        self.assertEqual(sub["properties"]["scope"], "/products/p")
        self.cg("product", "set", "p", "--subscriptions-limit", "3", "--approval-required",
                "true")
        j = json.loads(self.cg("product", "show", "p", "--json").stdout)["properties"]
        self.assertEqual((j["subscriptionsLimit"], j["approvalRequired"], j["description"]),
                         (3, True, "first"))

    def test_bad_input_changes_nothing(self):
        for args, msg in (
                (["product", "set", "p", "--state", "live"],
                 "product state 'live' is not published or notPublished"),
                (["product", "set", "bad id"], "product id"),
                (["product", "set", "p", "--subscriptions-limit", "-1"],
                 "--subscriptions-limit takes"),
                (["product", "set", "p", "--subscription-required", "yes"],
                 "takes true or false"),
                (["product", "set", "p", "--description", "x" * 1001],
                 "at most 1000 are accepted"),
                (["product", "add-api", "p", "nope"], "API 'nope' does not exist"),
                (["product", "add-api", "nope", "a"], "product 'nope' does not exist"),
                (["product", "rm-api", "p", "b"], "API 'b' does not exist"),
                (["product", "rm", "p"],
                 "product 'p' has 1 subscription; remove them first"),
                (["product", "rm", "nope"], "product 'nope' does not exist"),
                (["sub", "set", "s", "--scope", "/products/nope"],
                 "scope: product 'nope' does not exist"),
                (["sub", "set", "x", "--scope", "/products/"], "is not \"/apis\""),
                (["sub", "set", "x", "--scope", "/products/a/b"], "is not \"/apis\""),
                (["policy", "set", "--product", "nope", "/dev/null"], "policy"),
                (["policy", "set", "--product", "p", "--api", "a", "/dev/null"],
                 "--product excludes --api")):
            with self.subTest(args=args):
                before = self.snapshot()
                cp = self.cg(*args, check=False)
                self.assertNotEqual(cp.returncode, 0, cp)
                self.assertIn(msg, cp.stderr)
                self.assertEqual(self.snapshot(), before)

    def test_bad_product_policy_has_line_and_column(self):
        f = os.path.join(self.tmp, "bad.xml")
        with open(f, "w") as fh:
            fh.write("<policies>\n<inbound>\n<set-header name=\"a\"><value>@(context.Nope)"
                     "</value></set-header>\n</inbound>\n</policies>\n")
        before = self.snapshot()
        cp = self.cg("policy", "set", "--product", "p", f, check=False)
        self.assertEqual(cp.returncode, 1, cp)
        self.assertRegex(cp.stderr, r"bad\.xml:3:\d+: ")
        self.assertEqual(self.snapshot(), before)

    def test_api_in_product_and_removal(self):
        self.cg("api", "set", "b", "--path", "b", "--backend", "http://127.0.0.1:9")
        self.cg("product", "add-api", "p", "b")
        self.cg("product", "rm-api", "p", "a")
        cp = self.cg("product", "rm-api", "p", "a", check=False)
        self.assertIn("API 'a' is not in product 'p'", cp.stderr)
        # removing an API removes it from its products
        self.cg("api", "rm", "b")
        self.assertEqual(json.loads(self.cg("product", "show", "p", "--json").stdout)["apis"], [])
        # with its subscriptions, on request (APIM deleteSubscriptions)
        self.cg("product", "rm", "p", "--delete-subscriptions")
        self.assertEqual(json.loads(self.cg("sub", "list", "--json").stdout), [])
        self.assertEqual(json.loads(self.cg("product", "list", "--json").stdout), [])


if __name__ == "__main__":
    unittest.main()
