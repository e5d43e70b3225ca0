"""certgate CLI: policy, nv and fragment commands, against the real binary.

Each test gets a fresh store file. A failed command must exit 1 (operation
failed) or 2 (usage), print "certgate: ..." on stderr, nothing on stdout,
and leave every row of the store (read with Python's sqlite3, including the
change counter) exactly as it was. Secret named values must never appear in
any output unless `nv show --reveal` asks for them.

Env: CERTGATE (the binary). Python 3 standard library only.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

CERTGATE = os.environ.get("CERTGATE")
TIMEOUT = 60

CERT_POLICY = """<policies>
  <inbound>
    <base />
    <choose>
      <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != "{{trusted-thumbprint}}")">
        <return-response>
          <set-status code="403" reason="Invalid client certificate" />
        </return-response>
      </when>
    </choose>
    <include-fragment fragment-id="tag-request" />
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>
"""

FRAGMENT = """<fragment>
  <set-header name="X-Gateway" exists-action="override"><value>{{gateway-name}}</value></set-header>
</fragment>
"""

BROKEN = """<policies>
  <inbound>
    <set-variable name="a" value="@(1 +)" />
    <set-variable name="b" value="@(NoSuchType.Now)" />
  </inbound>
</policies>
"""

SECRET = "TopSecretValue42"


class CliPolicyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not CERTGATE:
            raise unittest.SkipTest("CERTGATE is not set")
        cls.top = tempfile.mkdtemp(prefix="cg-cli-policy-")
        cls.seq = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.top, ignore_errors=True)

    def setUp(self):
        CliPolicyTest.seq += 1
        self.dir = os.path.join(self.top, "t%d" % CliPolicyTest.seq)
        os.mkdir(self.dir)
        self.store = os.path.join(self.dir, "store.db")

    def write(self, name, text):
        p = os.path.join(self.dir, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def run_cg(self, *args, input=None, secret_ok=False):
        cmd = [CERTGATE, "--store", self.store] + list(args)
        e = dict(os.environ)
        e.pop("CERTGATE_STORE", None)
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=e,
                            cwd=self.dir, input=input)
        for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            self.assertNotIn(marker, cp.stderr)
        if not secret_ok:
            self.assertNotIn(SECRET, cp.stdout + cp.stderr)
            self.assertNotIn("TopSecret", cp.stdout + cp.stderr)
        return cp

    def ok(self, *args, **kw):
        cp = self.run_cg(*args, **kw)
        self.assertEqual(cp.returncode, 0, "%s: %s" % (args, cp.stderr))
        return cp

    def rows(self):
        if not os.path.exists(self.store):
            return None
        db = sqlite3.connect(self.store)
        try:
            out = []
            for t in ("meta", "apis", "operations", "policies", "named_values", "fragments"):
                out.append(sorted(db.execute("SELECT * FROM %s" % t).fetchall(), key=repr))
            return out
        finally:
            db.close()

    def fails(self, code, message, *args, **kw):
        before = self.rows()
        cp = self.run_cg(*args, **kw)
        self.assertEqual(cp.returncode, code, "%s: stdout %r stderr %r" % (args, cp.stdout,
                                                                           cp.stderr))
        self.assertTrue(cp.stderr.startswith("certgate: "), cp.stderr)
        self.assertIn(message, cp.stderr)
        self.assertEqual(cp.stdout, "")
        self.assertEqual(self.rows(), before)
        return cp

    def seed(self):
        self.ok("api", "set", "orders", "--path", "orders", "--backend", "http://127.0.0.1:9")
        self.ok("op", "set", "orders", "get", "--method", "GET", "--url-template", "/o/{id}")
        self.ok("nv", "set", "trusted-thumbprint", "1F0A2B3C4D5E6F708192A3B4C5D6E7F801234567")
        self.ok("nv", "set", "gateway-name", "edge-1")
        self.ok("fragment", "set", "tag-request", self.write("frag.xml", FRAGMENT),
                "--description", "tags requests")

    # -- policies ----------------------------------------------------------

    def test_policy_lifecycle(self):
        self.seed()
        pf = self.write("policy.xml", CERT_POLICY)
        cp = self.ok("policy", "set", pf)
        self.assertEqual(cp.stdout, "The global policy was set\n")
        self.assertEqual(cp.stderr, "")
        self.ok("policy", "set", "--api", "orders", pf)
        cp = self.ok("policy", "set", "--api", "orders", "--operation", "get", "-",
                     "--format", "rawxml", input=CERT_POLICY)
        self.assertEqual(cp.stdout, "The policy of operation 'get' of api 'orders' was set\n")
        self.assertEqual(self.ok("policy", "show").stdout, CERT_POLICY)
        self.assertEqual(self.ok("policy", "show", "--api", "orders", "--operation", "get")
                         .stdout, CERT_POLICY)
        lines = self.ok("policy", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["SCOPE", "API/PRODUCT", "OPERATION", "FORMAT", "BYTES"])
        self.assertEqual(lines[1].split(), ["global", "-", "-", "rawxml", str(len(CERT_POLICY))])
        self.assertEqual(lines[2].split()[:3], ["api", "orders", "-"])
        self.assertEqual(lines[3].split()[:3], ["operation", "orders", "get"])
        j = json.loads(self.ok("policy", "list", "--json").stdout)
        self.assertEqual([(p["scope"], p["apiId"], p["operationId"]) for p in j],
                         [("global", None, None), ("api", "orders", None),
                          ("operation", "orders", "get")])
        # As xml: only the expressions change, escaped; and back again.
        xml = self.ok("policy", "show", "--format", "xml").stdout
        self.assertIn('Thumbprint != &quot;{{trusted-thumbprint}}&quot;)"', xml)
        self.assertEqual(xml.replace("&quot;", '"'), CERT_POLICY)
        self.ok("policy", "set", "-", "--format", "xml", input=xml)
        self.assertEqual(self.ok("policy", "show").stdout, xml)
        self.assertEqual(self.ok("policy", "show", "--format", "rawxml").stdout, CERT_POLICY)
        self.fails(2, "--format must be rawxml or xml", "policy", "show", "--format", "json")
        cp = self.ok("policy", "rm", "--api", "orders", "--operation", "get")
        self.assertEqual(cp.stdout, "The policy of operation 'get' of api 'orders' was removed\n")
        self.fails(1, "The policy of operation 'get' of api 'orders' is not set",
                   "policy", "show", "--api", "orders", "--operation", "get")
        self.fails(1, "is not set", "policy", "rm", "--api", "orders", "--operation", "get")
        # Removing the API removes its policy.
        self.ok("api", "rm", "orders")
        self.assertEqual(len(json.loads(self.ok("policy", "list", "--json").stdout)), 1)

    def test_policy_set_refusals(self):
        self.seed()
        bad = self.write("bad.xml", BROKEN)
        cp = self.fails(1, "certgate: the global policy does not load (2 errors):", "policy",
                        "set", bad)
        self.assertIn("\n%s:3:" % bad, cp.stderr)
        self.assertIn("\n%s:4:" % bad, cp.stderr)
        self.assertIn("NoSuchType", cp.stderr)
        missing = self.write("missing.xml", CERT_POLICY.replace("trusted-thumbprint", "nope"))
        self.fails(1, "Named value 'nope' could not be found", "policy", "set", missing)
        self.fails(1, "API 'zz' does not exist", "policy", "set", "--api", "zz",
                   self.write("p.xml", CERT_POLICY))
        self.fails(1, "API 'orders' has no operation 'zz'", "policy", "set", "--api", "orders",
                   "--operation", "zz", self.write("p.xml", CERT_POLICY))
        self.fails(2, "--operation needs --api", "policy", "set", "--operation", "get", "p.xml")
        self.fails(2, "--format must be rawxml or xml", "policy", "set", "p.xml",
                   "--format", "json")
        self.fails(1, "cannot read policy file", "policy", "set", "nope.xml")
        with open(os.path.join(self.dir, "nul.xml"), "wb") as f:
            f.write(b"<policies>\0</policies>")
        self.fails(1, "policy file 'nul.xml' is binary, not text", "policy", "set", "nul.xml")
        self.fails(2, "missing FILE", "policy", "set")

    def test_policy_check(self):
        # No store: references cannot resolve, and no store file appears.
        pf = self.write("policy.xml", CERT_POLICY)
        cp = self.run_cg("policy", "check", pf)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("%s:5:" % pf, cp.stdout)
        self.assertIn("Named value 'trusted-thumbprint' could not be found", cp.stdout)
        self.assertFalse(os.path.exists(self.store))
        self.seed()
        cp = self.ok("policy", "check", pf)
        self.assertEqual(cp.stdout, "%s: OK (0 warnings)\n" % pf)
        bad = self.write("bad.xml", BROKEN)
        cp = self.run_cg("policy", "check", bad)
        self.assertEqual(cp.returncode, 1)
        diags = cp.stdout.splitlines()
        self.assertTrue(diags[0].startswith(bad + ":3:35: Invalid expression term"), diags)
        self.assertTrue(diags[1].startswith(bad + ":4:35: The name 'NoSuchType'"), diags)
        self.assertEqual(len(diags), 2)
        self.assertIn("certgate: %s: 2 errors, 0 warnings" % bad, cp.stderr)
        # As an API policy the same text also warns about the missing <base/>.
        cp = self.run_cg("policy", "check", bad, "--scope", "api")
        self.assertEqual(cp.returncode, 1)
        self.assertTrue(cp.stdout.startswith(bad + ":2:3: warning: Section 'inbound' has no "
                                             "'base' element"), cp.stdout)
        # Warnings only: exit 0.
        w = self.write("warn.xml", "<policies>\n<inbound />\n</policies>")
        cp = self.ok("policy", "check", w, "--scope", "operation")
        self.assertEqual(cp.stdout.splitlines()[-1], w + ": OK (1 warning)")
        self.assertIn(w + ":2:1: warning:", cp.stdout)
        cp = self.ok("policy", "check", w, "--scope", "product")
        self.assertIn(w + ":2:1: warning:", cp.stdout)
        self.fails(2, "--scope must be global, product, api or operation", "policy", "check", w,
                   "--scope", "workspace")
        # A fragment is checked as a fragment; stdin works.
        cp = self.ok("policy", "check", "-", input=FRAGMENT)
        self.assertEqual(cp.stdout, "<stdin>: OK (0 warnings)\n")

    # -- named values ------------------------------------------------------

    def test_named_values(self):
        cp = self.ok("nv", "set", "plain", "hello")
        self.assertEqual(cp.stdout, "named value 'plain' created\n")
        vf = self.write("secret.txt", SECRET + "\n")
        cp = self.ok("nv", "set", "key", "--value-file", vf, "--secret", "--tags", "a,b-c")
        self.assertEqual(cp.stdout, "named value 'key' created (secret)\n")
        lines = self.ok("nv", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "SECRET", "VALUE"])
        self.assertEqual(lines[1].split(), ["key", "yes", "***"])
        self.assertEqual(lines[2].split(), ["plain", "no", "hello"])
        j = json.loads(self.ok("nv", "list", "--json").stdout)
        self.assertEqual(j, [{"name": "key", "secret": True, "value": None},
                             {"name": "plain", "secret": False, "value": "hello"}])
        cp = self.ok("nv", "show", "key")
        self.assertIn("Value:   *** (use --reveal to show it)", cp.stdout)
        cp = self.ok("nv", "show", "key", "--reveal", "--json", secret_ok=True)
        self.assertEqual(json.loads(cp.stdout), {"name": "key", "secret": True,
                                                 "value": SECRET, "tags": ["a", "b-c"]})
        cp = self.ok("nv", "set", "plain", "bye")
        self.assertEqual(cp.stdout, "named value 'plain' updated\n")
        self.fails(1, "may contain only letters, digits", "nv", "set", "a b", "x")
        self.fails(1, "the value is only whitespace", "nv", "set", "e", "   ")
        self.fails(1, "the value is 4097 bytes; at most 4096", "nv", "set", "e", "v" * 4097)
        self.fails(1, "is longer than 256 characters", "nv", "set", "n" * 257, "v")
        self.fails(2, "missing VALUE", "nv", "set", "e")
        self.fails(2, "give VALUE or --value-file, not both", "nv", "set", "e", "x",
                   "--value-file", vf)
        self.fails(1, "named value 'zz' does not exist", "nv", "show", "zz")
        self.fails(1, "named value 'zz' does not exist", "nv", "rm", "zz")
        self.ok("nv", "rm", "plain")
        self.fails(1, "does not exist", "nv", "show", "plain")

    def test_named_value_in_use_and_revalidation(self):
        self.seed()
        self.ok("policy", "set", self.write("p.xml", CERT_POLICY))
        self.ok("policy", "set", "--api", "orders", self.write("p.xml", CERT_POLICY))
        self.fails(1, "named value 'trusted-thumbprint' is used by the global policy, the "
                   "policy of api 'orders'", "nv", "rm", "trusted-thumbprint")
        self.fails(1, "named value 'gateway-name' is used by the global policy, the policy of "
                   "api 'orders', fragment 'tag-request'", "nv", "rm", "gateway-name")
        # A value that breaks the expression is refused with every user.
        cp = self.fails(1, "named value 'trusted-thumbprint' cannot be changed to this value:",
                        "nv", "set", "trusted-thumbprint", 'x" + (')
        self.assertIn("\nthe global policy would not load:\n", cp.stderr)
        self.assertIn("\nthe policy of api 'orders' would not load:\n", cp.stderr)
        self.ok("nv", "set", "trusted-thumbprint", "ABCDEF")

    def test_secret_values_never_printed(self):
        self.seed()
        self.ok("nv", "set", "secret-name", SECRET, "--secret")
        p = CERT_POLICY.replace('"{{trusted-thumbprint}}"', "{{secret-name}}.ToString()")
        # The policy fails to compile because the secret becomes a name;
        # the message must not show it (run_cg checks every output).
        cp = self.fails(1, "does not load", "policy", "set", self.write("p.xml", p))
        self.assertIn("***", cp.stderr)
        cp = self.run_cg("policy", "check", self.write("p.xml", p))
        self.assertEqual(cp.returncode, 1)
        self.assertIn("***", cp.stdout)

    # -- fragments ---------------------------------------------------------

    def test_fragments(self):
        self.seed()
        lines = self.ok("fragment", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "FORMAT", "BYTES", "DESCRIPTION"])
        self.assertEqual(lines[1].split(), ["tag-request", "rawxml", str(len(FRAGMENT)), "tags",
                                            "requests"])
        self.assertEqual(self.ok("fragment", "show", "tag-request").stdout, FRAGMENT)
        self.assertEqual(self.ok("fragment", "show", "tag-request", "--format", "xml").stdout,
                         FRAGMENT)  # no expression: nothing to escape
        j = json.loads(self.ok("fragment", "show", "tag-request", "--json").stdout)
        self.assertEqual(j, {"id": "tag-request", "properties": {
            "description": "tags requests", "format": "rawxml", "value": FRAGMENT}})
        self.ok("policy", "set", self.write("p.xml", CERT_POLICY))
        self.fails(1, "fragment 'tag-request' is used by the global policy", "fragment", "rm",
                   "tag-request")
        # Loads on its own, but forward-request is not allowed where it is included.
        fr = self.write("fr.xml", "<fragment>\n  <forward-request />\n</fragment>\n")
        cp = self.fails(1, "fragment 'tag-request' cannot be changed to this text:", "fragment",
                        "set", "tag-request", fr)
        self.assertIn("the global policy would not load:\n%s:2:3: " % fr, cp.stderr)
        # A policy that breaks in a stored fragment points into the fragment.
        self.ok("fragment", "set", "fwd", fr)
        inc = self.write("inc.xml", "<policies><inbound>\n<include-fragment "
                         "fragment-id=\"fwd\" />\n</inbound></policies>")
        cp = self.run_cg("policy", "check", inc)
        self.assertEqual(cp.returncode, 1, cp.stdout)
        self.assertTrue(cp.stdout.startswith("fragment 'fwd' 2:3: "), cp.stdout)
        cp = self.fails(1, "the global policy does not load", "policy", "set", inc)
        self.assertIn("\nfragment 'fwd' 2:3: ", cp.stderr)
        self.ok("fragment", "rm", "fwd")
        base = self.write("base.xml", "<fragment>\n  <base />\n</fragment>\n")
        cp = self.fails(1, "fragment 'x' does not load (1 error):", "fragment", "set", "x", base)
        self.assertIn("\n%s:2:" % base, cp.stderr)
        self.fails(1, "fragment id 'a b'", "fragment", "set", "a b", fr)
        self.fails(1, "fragment 'zz' does not exist", "fragment", "show", "zz")
        self.fails(1, "fragment 'zz' does not exist", "fragment", "rm", "zz")
        self.ok("policy", "rm")
        cp = self.ok("fragment", "rm", "tag-request")
        self.assertEqual(cp.stdout, "fragment 'tag-request' removed\n")

    def test_help(self):
        top = self.ok("--help").stdout
        per_cmd = {
            ("policy", "set"): ["--api", "--operation", "--format"],
            ("policy", "show"): ["--api", "--operation", "--format"],
            ("policy", "rm"): ["--api", "--operation"],
            ("policy", "list"): ["--json"],
            ("policy", "check"): ["--format", "--scope"],
            ("nv", "set"): ["--secret", "--value-file", "--tags"],
            ("nv", "list"): ["--json"], ("nv", "show"): ["--reveal", "--json"], ("nv", "rm"): [],
            ("fragment", "set"): ["--description", "--format"],
            ("fragment", "list"): ["--json"], ("fragment", "show"): ["--format", "--json"],
            ("fragment", "rm"): [],
        }
        for (g, v), opts in per_cmd.items():
            self.assertIn("%s %s" % (g, v), top)
            cp = self.ok(g, v, "--help")
            self.assertTrue(cp.stdout.startswith("Usage: certgate [--store FILE] %s %s" % (g, v)),
                            cp.stdout)
            for o in opts + ["--help", "Exit status"]:
                self.assertIn(o, cp.stdout, "%s %s --help lacks %s" % (g, v, o))
        for g in ("policy", "nv", "fragment"):
            cp = self.ok(g, "--help")
            self.assertIn("certgate %s set" % g, cp.stdout)
        self.assertFalse(os.path.exists(self.store))

if __name__ == "__main__":
    unittest.main()
