"""API protocols (APIM's URL schemes) end to end: the real gateway with a TLS
listener and a plain-HTTP one (--http-listen), driven with curl. An API not
served over a request's scheme answers as an unknown path does (404, no
policy, nothing sent to the backend); http,https APIs are served on both;
a change applies without a restart; a store from before migration 11 keeps
serving its APIs over both."""

import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

HOST = "open.test"

# A policy that shows it ran, with context.Api.Protocols: the 404s below
# must not carry it.
MARK_POLICY = """<policies>
  <inbound />
  <backend><forward-request /></backend>
  <outbound><set-header name="X-Ran" exists-action="override"><value>@(string.Join(",", context.Api.Protocols))</value></set-header></outbound>
  <on-error><set-header name="X-Ran" exists-action="override"><value>yes</value></set-header></on-error>
</policies>
"""


class Protocols(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.gw = cgtest.Gateway(
            cls.tmp, cls.pki, hosts=[{"name": HOST, "default": True}], http_listen=True,
            apis=[{"id": "secure", "path": "secure", "backend": cls.b.url("/s"),
                   "protocols": "https"},
                  {"id": "both", "path": "both", "backend": cls.b.url("/b"),
                   "protocols": "http,https"},
                  {"id": "plain", "path": "plain", "backend": cls.b.url("/p"),
                   "protocols": "http"},
                  {"id": "live", "path": "live", "backend": cls.b.url("/l"),
                   "protocols": "https"},
                  {"id": "dflt", "path": "dflt", "backend": cls.b.url("/d")}])
        cls.gateways.append(cls.gw)
        cls.gw.set_policy(MARK_POLICY)  # global: every matched request runs it
        cls.gw.start()

    def call(self, path, http):
        return self.gw.curl(path, host=HOST, http=http)

    def assert_unmatched(self, path, http):
        """The answer an unknown path gets, with no policy run and no backend call."""
        before = self.b.count()
        res = self.call(path, http)
        unknown = self.call("/no-such-api/x", http)
        self.assertEqual(res.status, 404, res)
        self.assertEqual(res.body, unknown.body)
        self.assertApimError(404, res.body, res.headers, "Resource not found")
        self.assertIsNone(res.headers.get("x-ran"))
        self.assertEqual(self.b.count(), before)

    def assert_served(self, path, http, backend_path, protocols):
        res = self.call(path, http)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.headers.get("x-ran"), protocols)
        self.assertEqual(self.b.last().target, backend_path)

    def test_https_only_api(self):
        self.assert_served("/secure/x", False, "/s/x", "https")
        self.assert_unmatched("/secure/x", True)

    def test_http_and_https_api(self):
        self.assert_served("/both/x", False, "/b/x", "http,https")
        self.assert_served("/both/y", True, "/b/y", "http,https")

    def test_http_only_api(self):
        self.assert_served("/plain/x", True, "/p/x", "http")
        self.assert_unmatched("/plain/x", False)

    def test_new_api_default_is_both(self):
        # as before APIs had protocols (APIM's default is https only)
        self.assert_served("/dflt/x", False, "/d/x", "http,https")
        self.assert_served("/dflt/y", True, "/d/y", "http,https")

    def test_change_applies_live(self):
        self.assert_unmatched("/live/x", True)
        self.gw.cli("api", "set", "live", "--protocols", "http,https")
        cgtest.poll(lambda: self.call("/live/x", True).status == 200, timeout=10)
        self.assert_served("/live/y", True, "/l/y", "http,https")
        self.gw.cli("api", "set", "live", "--protocols", "https")
        cgtest.poll(lambda: self.call("/live/x", True).status == 404, timeout=10)
        self.assert_unmatched("/live/x", True)
        self.assert_served("/live/z", False, "/l/z", "https")


WARNING = "served over plain HTTP too (--http-listen; protocols include http)"


class PlainHttpWarning(cgtest.GatewayTestCase):
    """With --http-listen and a hostname that negotiates client
    certificates, APIs served over http are named in a warning at start,
    and again when their number changes; https-only APIs are not."""

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.gw = cgtest.Gateway(
            cls.tmp, cls.pki, hosts=[{"name": HOST, "default": True, "negotiate": True}],
            http_listen=True,
            apis=[{"id": "guarded", "path": "guarded", "backend": cls.b.url("/g"),
                   "protocols": "https"},
                  {"id": "open", "path": "open", "backend": cls.b.url("/o")}])
        cls.no_mtls = cgtest.Gateway(
            cls.tmp, cls.pki, hosts=[{"name": HOST, "default": True}], http_listen=True,
            apis=[{"id": "open", "path": "open", "backend": cls.b.url("/o")}])
        cls.gateways += [cls.gw, cls.no_mtls]
        cls.gw.start()
        cls.no_mtls.start()

    def test_warns_at_start_and_on_change(self):
        err = self.gw.stderr()
        self.assertIn("API 'open' is " + WARNING, err)
        self.assertNotIn("'guarded'", err)
        self.gw.cli("api", "set", "guarded", "--protocols", "http,https")
        cgtest.poll(lambda: "and 1 more are " + WARNING in self.gw.stderr(), timeout=10)
        self.gw.cli("api", "set", "guarded", "--protocols", "https")
        # back to one: said again (waited for, so the next change is a
        # configuration of its own)
        cgtest.poll(lambda: self.gw.stderr().count("API 'open' is " + WARNING) == 2, timeout=10)
        self.gw.cli("api", "set", "open", "--protocols", "https")
        cgtest.poll(lambda: self.gw.curl("/open/x", host=HOST, http=True).status == 404, timeout=10)
        self.assertEqual(self.gw.stderr().count(WARNING), 3)  # none: nothing on plain HTTP

    def test_no_warning_without_client_certificates(self):
        self.assertEqual(self.no_mtls.curl("/open/x", host=HOST, http=True).status, 200)
        self.assertNotIn(WARNING, self.no_mtls.stderr())


class UpgradedStore(cgtest.GatewayTestCase):
    """A store written before protocols existed (schema version 10) keeps
    serving its APIs over both listeners after migration 11."""

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.gw = cgtest.Gateway(
            cls.tmp, cls.pki, hosts=[{"name": HOST, "default": True}], http_listen=True,
            apis=[{"id": "old", "path": "old", "backend": cls.b.url("/o")}])
        cls.gateways.append(cls.gw)
        db = sqlite3.connect(cls.gw.store)
        db.executescript("ALTER TABLE apis DROP COLUMN protocols; PRAGMA user_version = 10;")
        db.close()
        cls.gw.start()  # serve migrates the store

    def test_old_api_on_both(self):
        rows = self.gw.cli("api", "list").stdout.decode().splitlines()
        self.assertEqual(rows[1].split()[:3], ["old", "/old", "http,https"])
        for http in (False, True):
            res = self.gw.curl("/old/x", host=HOST, http=http)
            self.assertEqual(res.status, 200, res)
            self.assertEqual(self.b.last().target, "/o/x")


if __name__ == "__main__":
    unittest.main()
