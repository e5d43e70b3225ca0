"""Value cache policies end to end (cache-store-value, cache-lookup-value,
cache-remove-value): APIM policy text stored with the CLI, run by the real
gateway with two worker threads and its built-in cache, driven by curl and
a keep-alive TLS connection with real client certificates. Each test keys
its entries with its own namespace (the `ns` query parameter)."""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

TOKEN = "cache-test-token-0123456789abcdef"

Q = 'context.Request.Url.Query.GetValueOrDefault("%s", "%s")'
KEY = '@(%s + "-" + context.Request.Certificate.Thumbprint)' % (Q % ("ns", ""))


def doc(gen=1):
    """store / remove on request (?op=), then always a lookup answered in
    X-Tok; X-Gen tells which policy version ran."""
    return """<policies>
  <inbound>
    <base />
    <choose>
      <when condition="@(%(op)s == "store")">
        <cache-store-value key="%(key)s" value="@(%(v)s)" duration="@(int.Parse(%(d)s))" />
      </when>
      <when condition="@(%(op)s == "remove")">
        <cache-remove-value key="%(key)s" />
      </when>
    </choose>
    <cache-lookup-value key="%(key)s" variable-name="tok" default-value="none" />
    <cache-lookup-value key="never-stored" variable-name="unset" />
    <return-response>
      <set-status code="200" />
      <set-header name="X-Tok" exists-action="override"><value>@((string)context.Variables["tok"])</value></set-header>
      <set-header name="X-Unset" exists-action="override"><value>@(context.Variables.ContainsKey("unset").ToString())</value></set-header>
      <set-header name="X-Gen" exists-action="override"><value>%(gen)d</value></set-header>
    </return-response>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>
""" % {"op": Q % ("op", ""), "v": Q % ("v", ""), "d": Q % ("d", "60"), "key": KEY, "gen": gen}


class CacheValue(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.alice = cls.pki.client("alice")
        cls.bob = cls.pki.client("bob")
        cls.admin_port, admin_args = cgtest.admin_listener(cls.tmp, TOKEN)
        cls.gw = cls.gateway(
            hosts=[{"name": "secure.test", "negotiate": True, "default": True}],
            apis=[{"id": "c", "path": "c", "backend": "http://127.0.0.1:9/"}],
            workers=2,
            serve_args=admin_args)
        cls.gw.set_policy(doc(1), "--api", "c")
        if not cgtest.poll(lambda: cls.call_as(cls.alice, "/c/x").headers.get("X-Gen") == "1", timeout=5):
            raise AssertionError("the cache policy was not applied")

    @classmethod
    def call_as(cls, who, path):
        return cls.gw.curl(path, host="secure.test", cert=who.cert, key=who.key)

    def call(self, query, who=None):
        res = self.call_as(who or self.alice, "/c/x?" + query)
        self.assertEqual(res.status, 200, res)
        return res

    def metrics(self):
        status, _, body = cgtest.scrape_metrics(self.admin_port, TOKEN)
        self.assertEqual(status, 200, body)
        out = {}
        for line in body.splitlines():
            m = re.match(r'^(certgate_cache_[a-z_]+(?:\{[^}]*\})?) (\d+)$', line)
            if m:
                out[m.group(1)] = int(m.group(2))
        return out

    def test_stored_value_is_seen_by_later_requests(self):
        before = self.metrics()
        self.assertEqual(self.call("ns=seen").headers.get("X-Tok"), "none")  # default-value on a miss
        self.assertEqual(self.call("ns=seen&op=store&v=token-1").headers.get("X-Tok"), "token-1")
        # new connections (the kernel spreads them over both workers) all see it
        for _ in range(8):
            self.assertEqual(self.call("ns=seen").headers.get("X-Tok"), "token-1")
        # and so does every request of one keep-alive connection
        c = self.gw.tls(sni="secure.test", cert=self.alice.cert, key=self.alice.key)
        try:
            for _ in range(3):
                c.send(b"GET /c/x?ns=seen HTTP/1.1\r\nHost: secure.test\r\n\r\n")
                r = c.read_response()
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers.get("X-Tok"), "token-1")
        finally:
            c.close()
        after = self.metrics()
        self.assertEqual(after["certgate_cache_stores_total"] - before["certgate_cache_stores_total"], 1)
        self.assertGreaterEqual(after['certgate_cache_lookups_total{result="hit"}'] -
                                before['certgate_cache_lookups_total{result="hit"}'], 12)

    def test_miss_without_default_leaves_the_variable_unset(self):
        self.assertEqual(self.call("ns=unset").headers.get("X-Unset"), "False")

    def test_expires_after_duration(self):
        self.assertEqual(self.call("ns=exp&op=store&v=short&d=1").headers.get("X-Tok"), "short")
        time.sleep(1.3)
        self.assertEqual(self.call("ns=exp").headers.get("X-Tok"), "none")

    def test_remove(self):
        self.call("ns=rm&op=store&v=gone")
        self.assertEqual(self.call("ns=rm").headers.get("X-Tok"), "gone")
        self.assertEqual(self.call("ns=rm&op=remove").headers.get("X-Tok"), "none")
        self.assertEqual(self.call("ns=rm").headers.get("X-Tok"), "none")

    def test_keys_follow_the_key_expression(self):
        before = self.metrics()
        self.call("ns=who&op=store&v=for-alice", self.alice)
        self.call("ns=who&op=store&v=for-bob", self.bob)
        self.assertEqual(self.call("ns=who", self.alice).headers.get("X-Tok"), "for-alice")
        self.assertEqual(self.call("ns=who", self.bob).headers.get("X-Tok"), "for-bob")
        after = self.metrics()
        self.assertEqual(after["certgate_cache_entries"] - before["certgate_cache_entries"], 2)
        self.assertGreater(after["certgate_cache_bytes"], before["certgate_cache_bytes"])

    def test_value_survives_a_configuration_reload(self):
        self.call("ns=reload&op=store&v=kept")
        try:
            self.gw.set_policy(doc(2), "--api", "c")
            self.assertTrue(cgtest.poll(lambda: self.call("ns=reload").headers.get("X-Gen") == "2", timeout=5))
            self.assertEqual(self.call("ns=reload").headers.get("X-Tok"), "kept")
        finally:
            self.gw.set_policy(doc(1), "--api", "c")
            self.assertTrue(cgtest.poll(lambda: self.call("ns=reload").headers.get("X-Gen") == "1", timeout=5))

    def test_bad_duration_is_an_error_and_stores_nothing(self):
        res = self.call_as(self.alice, "/c/x?ns=bad&op=store&v=x&d=0")
        self.assertApimError(500, res.body, res.headers, "Internal server error")
        self.assertEqual(self.call("ns=bad").headers.get("X-Tok"), "none")

    def test_external_cache_is_refused_when_stored(self):
        text = doc(1).replace('default-value="none" />', 'default-value="none" caching-type="external" />')
        cp = self.gw.set_policy(text, "--api", "c", check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn(":12:190: Value 'external' of attribute 'caching-type' in element 'cache-lookup-value' "
                      "needs an external cache", cp.stderr.decode())
        # the running policy is unchanged
        self.assertEqual(self.call("ns=ext").headers.get("X-Gen"), "1")

    def test_serve_refuses_bad_cache_limits(self):
        for args, msg in ((["--cache-max-bytes", "100"], "--cache-max-bytes: '100' must be a whole number"),
                          (["--cache-max-bytes", "65536"], "--cache-max-bytes must hold at least 16 entries")):
            cp = cgtest.run([self.gw.bin, "--store", self.gw.store, "serve", "--listen",
                             "127.0.0.1:%d" % cgtest.free_port()] + args, check=False)
            self.assertEqual(cp.returncode, 2, cp)
            self.assertIn(msg, cp.stderr.decode())


if __name__ == "__main__":
    cgtest.main()
