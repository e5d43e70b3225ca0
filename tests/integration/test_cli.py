"""certgate CLI: every command and every error path, against the real binary.

Each test gets a fresh store file. Certificates and keys (ECDSA, RSA, a
mismatched key, an encrypted key, an expired certificate, garbage) are made
with the openssl CLI in a temp dir per run. A failed command must exit 1
(operation failed) or 2 (usage), print "certgate: ..." on stderr, nothing on
stdout, and leave the store exactly as it was (host list --json and
api list --json compared before and after).

Env: CERTGATE (the binary). Python 3 standard library only.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

CERTGATE = os.environ.get("CERTGATE")
TIMEOUT = 60


def openssl(cwd, *args):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, timeout=TIMEOUT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sha1_fingerprint(cwd, cert):
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha1"],
                         cwd=cwd, check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1].replace(":", "").upper()


class Pki:
    """Key material for the whole run."""

    def __init__(self, d):
        self.d = d
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl(d, "req", "-x509", *ec, "-keyout", "ec.key", "-out", "ec.crt", "-days", "30",
                "-subj", "/O=Example Org/CN=api.example.com",
                "-addext", "subjectAltName=DNS:api.example.com,IP:127.0.0.1")
        openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key",
                "-out", "rsa.crt", "-days", "30", "-subj", "/CN=rsa.example.com")
        openssl(d, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", "other.key")
        openssl(d, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-aes256", "-pass", "pass:secret", "-out", "enc.key")
        with open(os.path.join(d, "garbage.pem"), "wb") as f:
            f.write(b"this is not a PEM file\n" * 20)
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\n"
                    "serial=serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n"
                    "[p]\ncommonName=supplied\n")
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("01\n")
        openssl(d, "x509", "-in", "ec.crt", "-outform", "der", "-out", "ec.der")
        with open(os.path.join(d, "big.pem"), "wb") as f:
            f.write(b"A" * (1024 * 1024 + 1))
        openssl(d, "req", "-new", *ec, "-keyout", "exp.key", "-out", "exp.csr",
                "-subj", "/CN=old.example.com")
        openssl(d, "ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", "exp.key",
                "-in", "exp.csr", "-out", "exp.crt", "-startdate", "20200101000000Z",
                "-enddate", "20200201000000Z", "-notext")

        # The first base64 line of every private key: it must never be printed.
        self.key_lines = []
        for k in ("ec.key", "rsa.key", "other.key", "exp.key"):
            with open(self.p(k)) as f:
                self.key_lines.append(f.read().splitlines()[1])

    def p(self, name):
        return os.path.join(self.d, name)


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not CERTGATE:
            raise unittest.SkipTest("CERTGATE is not set")
        cls.top = tempfile.mkdtemp(prefix="cg-cli-")
        cls.pki = Pki(cls.top)
        cls.seq = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.top, ignore_errors=True)

    def setUp(self):
        CliTest.seq += 1
        self.dir = os.path.join(self.top, "t%d" % CliTest.seq)
        os.mkdir(self.dir)
        self.store = os.path.join(self.dir, "store.db")

    # -- running the binary ------------------------------------------------

    def run_cg(self, *args, store=True, env=None, cwd=None):
        cmd = [CERTGATE] + (["--store", self.store] if store else []) + list(args)
        e = dict(os.environ)
        e.pop("CERTGATE_STORE", None)
        if env:
            e.update(env)
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=e,
                            cwd=cwd or self.dir)
        for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            self.assertNotIn(marker, cp.stderr)
        # A private key must never be printed, whatever the command.
        for secret in self.pki.key_lines:
            self.assertNotIn(secret, cp.stdout + cp.stderr)
        return cp

    def ok(self, *args, **kw):
        cp = self.run_cg(*args, **kw)
        self.assertEqual(cp.returncode, 0, "%s: %s" % (args, cp.stderr))
        return cp

    def snapshot(self):
        if not os.path.exists(self.store):
            return None
        return (self.ok("api", "list", "--json").stdout, self.ok("host", "list", "--json").stdout)

    def fails(self, code, message, *args, **kw):
        """Runs a command that must fail with exit code and message, changing nothing."""
        before = self.snapshot()
        cp = self.run_cg(*args, **kw)
        self.assertEqual(cp.returncode, code, "%s: stdout %r stderr %r" % (args, cp.stdout,
                                                                           cp.stderr))
        self.assertTrue(cp.stderr.startswith("certgate: "), cp.stderr)
        self.assertIn(message, cp.stderr)
        self.assertEqual(cp.stdout, "")
        if code == 2:
            self.assertIn("Try 'certgate", cp.stderr)
        self.assertEqual(self.snapshot(), before)
        return cp

    def host(self, name, crt="ec.crt", key="ec.key", *extra):
        return self.ok("host", "set", name, "--cert", self.pki.p(crt), "--key",
                       self.pki.p(key), *extra)

    def seed(self):
        """A store with one host, two APIs and an operation."""
        self.host("api.example.com")
        self.ok("api", "set", "orders", "--path", "orders", "--backend", "http://127.0.0.1:9000")
        self.ok("api", "set", "root", "--path", "/", "--backend", "https://b.example.com/x")
        self.ok("op", "set", "orders", "get", "--method", "GET", "--url-template", "/o/{id}")

    # -- help and version -------------------------------------------------

    def test_help_lists_every_command_and_option(self):
        cp = self.ok("--help", store=False)
        for c in ("host set", "host list", "host show", "host rm", "api set", "api list",
                  "api show", "api rm", "op set", "op list", "op show", "op rm", "serve",
                  "sub set", "sub list", "sub show", "sub keys", "sub regenerate", "sub rm",
                  "--store", "--version", "CERTGATE_STORE"):
            self.assertIn(c, cp.stdout)
        per_cmd = {
            ("host", "set"): ["--cert", "--key", "--negotiate-client-certificate",
                              "--no-negotiate-client-certificate", "--default", "--store"],
            ("host", "list"): ["--json"], ("host", "show"): ["--json"], ("host", "rm"): [],
            ("api", "set"): ["--path", "--backend", "--display-name", "--subscription-required",
                             "--subscription-key-header", "--subscription-key-query"],
            ("sub", "set"): ["--scope", "--display-name", "--state", "--primary-key",
                             "--secondary-key", "--expiration", "--no-expiration"],
            ("sub", "regenerate"): ["--primary", "--secondary"],
            ("sub", "keys"): ["--json"], ("sub", "list"): ["--json"], ("sub", "rm"): [],
            ("api", "list"): ["--json"], ("api", "show"): ["--json"], ("api", "rm"): [],
            ("op", "set"): ["--method", "--url-template", "--display-name"],
            ("op", "list"): ["--json"], ("op", "show"): ["--json"], ("op", "rm"): [],
        }
        for (g, v), opts in per_cmd.items():
            cp = self.ok(g, v, "--help", store=False)
            self.assertTrue(cp.stdout.startswith("Usage: certgate [--store FILE] %s %s" % (g, v)),
                            cp.stdout)
            for o in opts + ["--help", "Exit status"]:
                self.assertIn(o, cp.stdout, "%s %s --help lacks %s" % (g, v, o))
        for g in ("host", "api", "op"):
            cp = self.ok(g, "--help", store=False)
            self.assertIn("certgate %s set" % g, cp.stdout)
        self.assertFalse(os.path.exists(self.store))

    def test_version(self):
        cp = self.ok("--version", store=False)
        self.assertRegex(cp.stdout, r"^certgate \d+\.\d+\.\d+ \(OpenSSL 3\.[^,]*, GnuTLS 3\.")

    def test_serve_help_goes_to_the_gateway(self):
        cp = self.ok("serve", "--help")
        self.assertNotEqual(cp.stdout.strip(), "")
        self.assertFalse(os.path.exists(self.store))

    # -- usage errors (exit 2) --------------------------------------------

    def test_usage_errors(self):
        self.seed()
        crt, key = self.pki.p("ec.crt"), self.pki.p("ec.key")
        cases = [
            ([], "missing COMMAND"),
            (["frob"], "unknown command 'frob'"),
            (["host"], "missing a verb after 'host'"),
            (["api", "sett"], "unknown command 'api sett'"),
            (["--bogus", "api", "list"], "unknown option '--bogus'"),
            (["api", "list", "--bogus"], "api list: unknown option '--bogus'"),
            (["api", "list", "extra"], "unexpected argument 'extra'"),
            (["api", "set"], "api set: missing ID"),
            (["api", "set", "x", "--path"], "option --path needs a value"),
            (["api", "set", "x", "--path", "a", "--path", "b"], "option --path is given twice"),
            (["api", "list", "--json=yes"], "option --json takes no value"),
            (["op", "set", "orders"], "op set: missing OP-ID"),
            (["op", "rm", "orders"], "missing OP-ID"),
            (["op", "list"], "missing API-ID"),
            (["host", "show"], "missing NAME"),
            (["host", "set", "a.example.com", "--cert", crt, "--key", key,
              "--negotiate-client-certificate", "--no-negotiate-client-certificate"],
             "exclude each other"),
        ]
        for args, msg in cases:
            with self.subTest(args=args):
                self.fails(2, msg, *args)
        self.fails(2, "option --store needs a value", "--store", store=False)
        self.fails(2, "option --store needs a file name", "--store=", "api", "list", store=False)

    # -- hostnames ---------------------------------------------------------

    def test_host_lifecycle(self):
        cp = self.host("API.Example.com")
        self.assertEqual(cp.stdout, "hostname 'api.example.com' created (default hostname)\n")
        self.assertEqual(cp.stderr, "")
        cp = self.host("rsa.example.com", "rsa.crt", "rsa.key", "--negotiate-client-certificate")
        self.assertEqual(cp.stdout, "hostname 'rsa.example.com' created\n")

        cp = self.ok("host", "list")
        lines = cp.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "DEFAULT", "NEGOTIATE-CLIENT-CERT", "EXPIRES",
                                            "THUMBPRINT", "SUBJECT"])
        self.assertEqual(len(lines), 3)
        # Aligned: every row's second column starts where the header's does.
        col = lines[0].index("DEFAULT")
        for l in lines[1:]:
            self.assertIn(l[col:col + 3], ("yes", "no "))
        self.assertTrue(lines[1].startswith("api.example.com"))
        ec_tp = sha1_fingerprint(self.top, "ec.crt")
        self.assertIn(ec_tp, lines[1])

        hosts = json.loads(self.ok("host", "list", "--json").stdout)
        self.assertEqual([h["hostName"] for h in hosts], ["api.example.com", "rsa.example.com"])
        self.assertEqual([h["defaultSslBinding"] for h in hosts], [True, False])
        self.assertEqual([h["negotiateClientCertificate"] for h in hosts], [False, True])
        c = hosts[0]["certificate"]
        self.assertEqual(c["thumbprint"], ec_tp)
        self.assertEqual(c["subject"], "CN=api.example.com, O=Example Org")
        self.assertEqual(c["subjectAlternativeNames"], ["DNS:api.example.com", "IP:127.0.0.1"])
        self.assertRegex(c["expirationDate"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertFalse(c["expired"])
        self.assertEqual(hosts[1]["certificate"]["keyType"], "RSA")
        self.assertEqual(hosts[1]["certificate"]["keyBits"], 2048)

        cp = self.ok("host", "show", "API.EXAMPLE.COM")
        self.assertIn("Thumbprint:                    %s\n" % ec_tp, cp.stdout)
        self.assertIn("Subject:                       CN=api.example.com, O=Example Org\n",
                      cp.stdout)
        self.assertIn("Default:                       yes\n", cp.stdout)
        self.assertIn("Subject alternative names:     DNS:api.example.com, IP:127.0.0.1\n",
                      cp.stdout)
        shown = json.loads(self.ok("host", "show", "api.example.com", "--json").stdout)
        self.assertEqual(shown, hosts[0])

        # --default moves the default; updates without --cert/--key keep them.
        cp = self.ok("host", "set", "rsa.example.com", "--default")
        self.assertEqual(cp.stdout, "hostname 'rsa.example.com' updated (default hostname)\n")
        self.ok("host", "set", "rsa.example.com", "--no-negotiate-client-certificate")
        hosts2 = json.loads(self.ok("host", "list", "--json").stdout)
        self.assertEqual([h["defaultSslBinding"] for h in hosts2], [False, True])
        self.assertEqual([h["negotiateClientCertificate"] for h in hosts2], [False, False])
        self.assertEqual(hosts2[1]["certificate"], hosts[1]["certificate"])
        # Replacing the certificate and key together; one for another name
        # is stored with a warning.
        cp = self.host("api.example.com", "rsa.crt", "rsa.key")
        self.assertEqual(cp.stderr, "certgate: warning: the certificate (subject "
                                    "'CN=rsa.example.com') does not name 'api.example.com' in "
                                    "its subject alternative names; clients that check names "
                                    "will refuse it\n")
        self.assertIn("Subject:                       CN=rsa.example.com\n",
                      self.ok("host", "show", "api.example.com").stdout)

        self.fails(1, "hostname 'rsa.example.com' is the default hostname and 1 other hostname "
                      "exist; make another one the default first",
                   "host", "rm", "rsa.example.com")
        self.assertEqual(self.ok("host", "rm", "api.example.com").stdout,
                         "hostname 'api.example.com' removed\n")
        self.ok("host", "rm", "rsa.example.com")
        self.assertEqual(json.loads(self.ok("host", "list", "--json").stdout), [])
        self.assertEqual(self.ok("host", "list").stdout.split(),
                         ["NAME", "DEFAULT", "NEGOTIATE-CLIENT-CERT", "EXPIRES", "THUMBPRINT",
                          "SUBJECT"])

    def test_host_errors(self):
        self.seed()
        p = self.pki.p
        missing = os.path.join(self.dir, "nope.pem")
        cases = [
            (["--cert", missing, "--key", p("ec.key")],
             "cannot read --cert file '%s': No such file or directory" % missing),
            (["--cert", p("ec.crt"), "--key", missing],
             "cannot read --key file '%s': No such file or directory" % missing),
            (["--cert", p("ec.crt"), "--key", self.dir],
             "cannot read --key file '%s': Is a directory" % self.dir),
            (["--cert", p("big.pem"), "--key", p("ec.key")],
             "--cert file '%s' is larger than 1048576 bytes" % p("big.pem")),
            (["--cert", p("ec.der"), "--key", p("ec.key")],
             "--cert file '%s' is binary, not PEM text" % p("ec.der")),
            (["--cert", p("ec.crt"), "--key", p("other.key")],
             "the private key does not match the certificate (leaf subject "
             "'CN=api.example.com, O=Example Org'"),
            (["--cert", p("rsa.crt"), "--key", p("ec.key")],
             "the private key does not match the certificate"),
            (["--cert", p("ec.crt"), "--key", p("enc.key")],
             "the private key is encrypted; certgate needs an unencrypted key"),
            (["--cert", p("garbage.pem"), "--key", p("ec.key")],
             "no certificate found in the PEM"),
            (["--cert", p("ec.key"), "--key", p("ec.key")], "no certificate found in the PEM"),
            (["--cert", p("ec.crt"), "--key", p("garbage.pem")], "no private key found"),
            (["--cert", p("ec.crt"), "--key", p("ec.crt")], "no private key found"),
            (["--cert", p("ec.crt")],
             "hostname 'new.example.com' does not exist yet; a certificate and a key are both "
             "needed to create it"),
            (["--key", p("ec.key")], "does not exist yet"),
        ]
        for extra, msg in cases:
            with self.subTest(extra=extra):
                self.fails(1, msg, "host", "set", "new.example.com", *extra)
        for name, msg in [("bad_name.example.com", "has a character other than letters"),
                          ("a..example.com", "has an empty label"),
                          ("a.*.example.com", "has a '*' that is not the whole first label")]:
            with self.subTest(name=name):
                self.fails(1, "hostname '%s' %s" % (name, msg), "host", "set", name, "--cert",
                           p("ec.crt"), "--key", p("ec.key"))
        # An update is checked as a whole: a new key must match the stored cert.
        self.fails(1, "does not match", "host", "set", "api.example.com", "--key", p("rsa.key"))
        self.fails(1, "hostname 'nope.example.com' does not exist", "host", "show",
                   "nope.example.com")
        self.fails(1, "hostname 'nope.example.com' does not exist", "host", "rm",
                   "nope.example.com")

    def test_expired_certificate_warns(self):
        cp = self.host("old.example.com", "exp.crt", "exp.key")
        self.assertEqual(cp.stderr, "certgate: warning: the certificate for 'old.example.com' "
                                    "expired on 2020-02-01T00:00:00Z; clients will refuse it\n")
        self.assertIn("2020-02-01T00:00:00Z (expired)", self.ok("host", "list").stdout)
        self.assertTrue(json.loads(self.ok("host", "list", "--json").stdout)[0]
                        ["certificate"]["expired"])

    # -- APIs and operations -----------------------------------------------

    def test_api_and_op_lifecycle(self):
        cp = self.ok("api", "set", "orders", "--path", "/orders/v1/", "--backend",
                     "HTTP://127.0.0.1:9000/base", "--display-name", "Orders API")
        self.assertEqual(cp.stdout, "API 'orders' created\n")
        self.ok("api", "set", "root", "--path", "", "--backend", "https://b.example.com")
        self.assertEqual(self.ok("op", "set", "orders", "get-order", "--method", "get",
                                 "--url-template", "/orders/{id}").stdout,
                         "operation 'get-order' of API 'orders' created\n")
        self.ok("op", "set", "orders", "search", "--method", "GET", "--url-template",
                "/search?q={q}", "--display-name", "Search")
        self.ok("op", "set", "orders", "any", "--method", "*", "--url-template", "/*")

        lines = self.ok("api", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "PATH", "PROTOCOLS", "BACKEND", "OPERATIONS",
                                            "DISPLAY-NAME"])
        self.assertEqual(lines[1].split(), ["orders", "/orders/v1", "http,https",
                                            "http://127.0.0.1:9000/base", "3", "Orders", "API"])
        self.assertEqual(lines[2].split(), ["root", "/", "http,https", "https://b.example.com", "0",
                                            "root"])
        self.assertEqual(lines[1].index("/orders"), lines[0].index("PATH"))

        apis = json.loads(self.ok("api", "list", "--json").stdout)
        self.assertEqual(apis[0], {
            "id": "orders", "displayName": "Orders API", "path": "orders/v1",
            "serviceUrl": "http://127.0.0.1:9000/base",
            "subscriptionRequired": False, "protocols": ["http", "https"],
            "subscriptionKeyParameterNames": {"header": "Ocp-Apim-Subscription-Key",
                                              "query": "subscription-key"},
            "operations": [
                {"id": "any", "displayName": "any", "method": "*", "urlTemplate": "/*"},
                {"id": "get-order", "displayName": "get-order", "method": "GET",
                 "urlTemplate": "/orders/{id}"},
                {"id": "search", "displayName": "Search", "method": "GET",
                 "urlTemplate": "/search?q={q}"},
            ]})
        self.assertEqual(apis[1]["path"], "")
        self.assertEqual(json.loads(self.ok("api", "show", "orders", "--json").stdout), apis[0])
        out = self.ok("api", "show", "orders").stdout
        self.assertIn("Path:          /orders/v1\n", out)
        self.assertIn("Backend:       http://127.0.0.1:9000/base\n", out)
        self.assertIn("Protocols:     http,https\n", out)
        self.assertRegex(out, r"\nsearch +GET +/search\?q=\{q\} +Search\n")
        self.assertEqual(json.loads(self.ok("op", "list", "orders", "--json").stdout),
                         apis[0]["operations"])
        self.assertEqual(self.ok("op", "list", "orders").stdout.splitlines()[0].split(),
                         ["ID", "METHOD", "URL-TEMPLATE", "DISPLAY-NAME"])
        self.assertEqual(json.loads(self.ok("op", "show", "orders", "search", "--json").stdout),
                         apis[0]["operations"][2])
        self.assertIn("URL template:  /search?q={q}\n",
                      self.ok("op", "show", "orders", "search").stdout)

        # Updates keep what is not given.
        self.assertEqual(self.ok("api", "set", "orders", "--backend", "http://other:81").stdout,
                         "API 'orders' updated\n")
        self.ok("op", "set", "orders", "get-order", "--method", "DELETE")
        a = json.loads(self.ok("api", "show", "orders", "--json").stdout)
        self.assertEqual((a["path"], a["serviceUrl"], a["displayName"]),
                         ("orders/v1", "http://other:81", "Orders API"))
        self.assertEqual(a["operations"][1]["method"], "DELETE")
        self.assertEqual(a["operations"][1]["urlTemplate"], "/orders/{id}")

        self.assertEqual(self.ok("op", "rm", "orders", "any").stdout,
                         "operation 'any' of API 'orders' removed\n")
        self.assertEqual(len(json.loads(self.ok("op", "list", "orders", "--json").stdout)), 2)
        self.ok("api", "rm", "orders")
        self.assertEqual([x["id"] for x in json.loads(self.ok("api", "list", "--json").stdout)],
                         ["root"])
        # Its operations went with it: a new API of that id starts empty.
        self.ok("api", "set", "orders", "--path", "o2", "--backend", "http://b")
        self.assertEqual(json.loads(self.ok("op", "list", "orders", "--json").stdout), [])

    def test_api_protocols(self):
        # New APIs: http and https (as before protocols; APIM's default is
        # https); --protocols sets, omitted keeps.
        self.ok("api", "set", "a", "--path", "a", "--backend", "http://b")
        self.ok("api", "set", "both", "--path", "both", "--backend", "http://b",
                "--protocols", "https")
        show = lambda i: json.loads(self.ok("api", "show", i, "--json").stdout)["protocols"]
        self.assertEqual(show("a"), ["http", "https"])
        self.assertEqual(show("both"), ["https"])
        self.ok("api", "set", "a", "--protocols", "http")
        self.assertEqual(show("a"), ["http"])
        self.ok("api", "set", "a", "--display-name", "A")
        self.assertEqual(show("a"), ["http"])
        rows = {l.split()[0]: l.split()[2] for l in self.ok("api", "list").stdout.splitlines()[1:]}
        self.assertEqual(rows, {"a": "http", "both": "https"})
        for bad, msg in (("", "at least one protocol is needed"),
                         ("ws", "unknown protocol 'ws'"),
                         ("https,", "at least one protocol is needed"),
                         ("HTTP", "unknown protocol 'HTTP'")):
            with self.subTest(bad=bad):
                cp = self.fails(2, "--protocols: ", "api", "set", "a", "--protocols", bad)
                self.assertIn(msg, cp.stderr)
                self.fails(2, msg, "api", "set", "new", "--path", "n", "--backend",
                           "http://b", "--protocols", bad)
        self.assertEqual(show("a"), ["http"])

    def test_api_and_op_errors(self):
        self.seed()
        cases = [
            (["api", "set", "dup", "--path", "/Orders/", "--backend", "http://b"],
             "API path 'Orders' is already used by API 'orders'"),
            (["api", "set", "dup", "--path", "/", "--backend", "http://b"],
             "API path '' is already used by API 'root'"),
            (["api", "set", "x", "--path", "a?b", "--backend", "http://b"],
             "API path 'a?b' must not contain '?' or '#'"),
            (["api", "set", "x", "--path", "a//b", "--backend", "http://b"], "\"//\""),
            (["api", "set", "x", "--path", "a/../b", "--backend", "http://b"], "'..' segments"),
            (["api", "set", "x", "--path", "x", "--backend", "ftp://b"],
             "backend URL 'ftp://b' must start with http:// or https://"),
            (["api", "set", "x", "--path", "x", "--backend", "http://b:70000"],
             "port that is not a number 1-65535"),
            (["api", "set", "x", "--path", "x", "--backend", "http://u@b"], "user info"),
            (["api", "set", "x", "--path", "x", "--backend", "http://b/?q=1"],
             "must not have a query"),
            (["api", "set", "x", "--path", "x", "--backend", "http://"], "has no host"),
            (["api", "set", "bad id", "--path", "x", "--backend", "http://b"],
             "API id 'bad id' may contain only letters, digits, '-', '.' and '_'"),
            (["api", "set", "x", "--path", "x"],
             "API 'x' does not exist yet; a path and a backend URL are both needed"),
            (["api", "show", "nope"], "API 'nope' does not exist"),
            (["api", "rm", "nope"], "API 'nope' does not exist"),
            (["op", "set", "nope", "o", "--method", "GET", "--url-template", "/"],
             "API 'nope' does not exist"),
            (["op", "set", "orders", "o", "--method", "GE T", "--url-template", "/"],
             "method 'GE T' is not an HTTP method"),
            (["op", "set", "orders", "o", "--method", "GET", "--url-template", "o/{id}"],
             "URL template 'o/{id}' must start with '/'"),
            (["op", "set", "orders", "o", "--method", "GET", "--url-template", "/o/{id"],
             "has a '{' without its '}'"),
            (["op", "set", "orders", "o", "--method", "GET", "--url-template", "/o/{}"],
             "empty parameter name"),
            (["op", "set", "orders", "o", "--method", "GET", "--url-template", "/{a}/{a}"],
             "uses the same parameter name twice"),
            (["op", "set", "orders", "o", "--method", "GET", "--url-template", "/o*"],
             "'*' only as a final"),
            (["op", "set", "orders", "o", "--method", "get", "--url-template", "/o/{oid}"],
             "operation 'get' of API 'orders' already has GET /o/{id}"),
            (["op", "set", "orders", "o", "--method", "GET"],
             "operation 'o' of API 'orders' does not exist yet"),
            (["op", "list", "nope"], "API 'nope' does not exist"),
            (["op", "show", "orders", "nope"], "API 'orders' has no operation 'nope'"),
            (["op", "rm", "orders", "nope"], "API 'orders' has no operation 'nope'"),
        ]
        for args, msg in cases:
            with self.subTest(args=args):
                self.fails(1, msg, *args)

    # -- choosing the store ------------------------------------------------

    def test_store_selection_and_mode(self):
        env_store = os.path.join(self.dir, "env.db")
        self.ok("api", "set", "a", "--path", "a", "--backend", "http://b", store=False,
                env={"CERTGATE_STORE": env_store})
        self.assertEqual(stat.S_IMODE(os.stat(env_store).st_mode), 0o600)
        # --store wins over the environment.
        self.ok("api", "set", "b", "--path", "b", "--backend", "http://b",
                env={"CERTGATE_STORE": env_store})
        ids = lambda *a, **kw: [x["id"] for x in json.loads(
            self.ok("api", "list", "--json", *a, **kw).stdout)]
        self.assertEqual(ids(store=False, env={"CERTGATE_STORE": env_store}), ["a"])
        self.assertEqual(ids(), ["b"])
        # --store is also accepted after the command.
        self.assertEqual(ids("--store", env_store, store=False), ["a"])
        # Without either: ./certgate.db in the working directory.
        self.ok("api", "set", "c", "--path", "c", "--backend", "http://b", store=False)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "certgate.db")))
        self.assertEqual(ids(store=False), ["c"])

    def test_missing_store_is_not_created_by_reads_or_removals(self):
        for args in (["api", "list"], ["host", "list", "--json"], ["api", "show", "x"],
                     ["op", "list", "x"], ["api", "rm", "x"], ["host", "rm", "a.example.com"],
                     ["op", "rm", "a", "b"], ["op", "set", "a", "b", "--method", "GET",
                                              "--url-template", "/"]):
            with self.subTest(args=args):
                self.fails(1, "store '%s' does not exist" % self.store, *args)
                self.assertFalse(os.path.exists(self.store))

    def test_not_a_store(self):
        with open(self.store, "w") as f:
            f.write("hello, I am not SQLite" * 100)
        cp = self.run_cg("api", "list")
        self.assertEqual(cp.returncode, 1)
        self.assertIn("not a database", cp.stderr)
        cp = self.run_cg("api", "set", "a", "--path", "a", "--backend", "http://b")
        self.assertEqual(cp.returncode, 1)
        self.assertIn("not a database", cp.stderr)
        with open(self.store) as f:
            self.assertTrue(f.read().startswith("hello, I am not SQLite"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
