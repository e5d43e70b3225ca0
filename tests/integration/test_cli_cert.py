"""certgate CLI: cert and ca commands, against the real binary.

PEM, DER and PKCS#12 files (with and without a password) are made per run
with the openssl CLI. A failed command must exit 1 or 2, print
"certgate: ..." on stderr, nothing on stdout, and leave every row of the
store as it was. No private key line and no password may ever be printed.

Env: CERTGATE (the binary). Python 3 standard library only.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

CERTGATE = os.environ.get("CERTGATE")
TIMEOUT = 60
PASSWORD = "pfx-Pa55word"
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def openssl(cwd, *args):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, timeout=TIMEOUT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fingerprint(cwd, cert):
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha1"],
                         cwd=cwd, check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1].replace(":", "").upper()


class Pki:
    def __init__(self, d):
        self.d = d
        openssl(d, "req", "-x509", *EC, "-keyout", "client.key", "-out", "client.crt",
                "-days", "30", "-subj", "/C=US/ST=Washington/O=Contoso/CN=client.example.com")
        openssl(d, "x509", "-in", "client.crt", "-outform", "DER", "-out", "client.cer")
        openssl(d, "pkcs12", "-export", "-in", "client.crt", "-inkey", "client.key",
                "-out", "client.pfx", "-passout", "pass:" + PASSWORD)
        openssl(d, "pkcs12", "-export", "-in", "client.crt", "-inkey", "client.key",
                "-out", "nopass.pfx", "-passout", "pass:")
        openssl(d, "pkcs12", "-export", "-legacy", "-in", "client.crt", "-inkey", "client.key",
                "-out", "legacy.pfx", "-passout", "pass:" + PASSWORD)
        openssl(d, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", "other.key")
        with open(self.p("client.crt")) as c, open(self.p("other.key")) as k, \
                open(self.p("mismatch.pem"), "w") as f:
            f.write(c.read() + k.read())
        with open(self.p("pw.txt"), "w") as f:
            f.write(PASSWORD + "\n")
        with open(self.p("wrong.txt"), "w") as f:
            f.write("nope\n")
        with open(self.p("garbage.bin"), "wb") as f:
            f.write(os.urandom(3000))
        openssl(d, "req", "-x509", *EC, "-keyout", "root.key", "-out", "root.crt", "-days", "30",
                "-subj", "/CN=Contoso Root", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=keyCertSign,cRLSign")
        openssl(d, "x509", "-in", "root.crt", "-outform", "DER", "-out", "root.cer")
        openssl(d, "req", "-new", *EC, "-keyout", "int.key", "-out", "int.csr",
                "-subj", "/CN=Contoso Issuing")
        with open(self.p("int.ext"), "w") as f:
            f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n")
        openssl(d, "x509", "-req", "-in", "int.csr", "-CA", "root.crt", "-CAkey", "root.key",
                "-CAcreateserial", "-days", "30", "-extfile", "int.ext", "-out", "int.crt")
        openssl(d, "req", "-new", *EC, "-keyout", "leaf.key", "-out", "leaf.csr",
                "-subj", "/CN=leaf")
        with open(self.p("leaf.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
        openssl(d, "x509", "-req", "-in", "leaf.csr", "-CA", "int.crt", "-CAkey", "int.key",
                "-CAcreateserial", "-days", "30", "-extfile", "leaf.ext", "-out", "leaf.crt")
        self.thumb = fingerprint(d, "client.crt")
        self.root_thumb = fingerprint(d, "root.crt")
        self.key_lines = []
        for k in ("client.key", "other.key", "root.key"):
            with open(self.p(k)) as f:
                self.key_lines.append(f.read().splitlines()[1])

    def p(self, name):
        return os.path.join(self.d, name)


class CliCertTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not CERTGATE:
            raise unittest.SkipTest("CERTGATE is not set")
        cls.top = tempfile.mkdtemp(prefix="cg-cli-cert-")
        cls.pki = Pki(cls.top)
        cls.seq = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.top, ignore_errors=True)

    def setUp(self):
        CliCertTest.seq += 1
        self.dir = os.path.join(self.top, "t%d" % CliCertTest.seq)
        os.mkdir(self.dir)
        self.store = os.path.join(self.dir, "store.db")

    def run_cg(self, *args):
        e = dict(os.environ)
        e.pop("CERTGATE_STORE", None)
        cp = subprocess.run([CERTGATE, "--store", self.store] + list(args), capture_output=True,
                            text=True, timeout=TIMEOUT, env=e, cwd=self.dir)
        for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            self.assertNotIn(marker, cp.stderr)
        for secret in self.pki.key_lines + [PASSWORD, "PRIVATE KEY"]:
            self.assertNotIn(secret, cp.stdout + cp.stderr)
        return cp

    def ok(self, *args):
        cp = self.run_cg(*args)
        self.assertEqual(cp.returncode, 0, "%s: %s" % (args, cp.stderr))
        return cp

    def rows(self):
        if not os.path.exists(self.store):
            return None
        db = sqlite3.connect(self.store)
        try:
            return [sorted(db.execute("SELECT * FROM %s" % t).fetchall(), key=repr)
                    for t in ("meta", "certificates", "ca_certificates", "backends")]
        finally:
            db.close()

    def fails(self, code, message, *args):
        before = self.rows()
        cp = self.run_cg(*args)
        self.assertEqual(cp.returncode, code, "%s: %r %r" % (args, cp.stdout, cp.stderr))
        self.assertTrue(cp.stderr.startswith("certgate: "), cp.stderr)
        self.assertIn(message, cp.stderr)
        self.assertEqual(cp.stdout, "")
        self.assertEqual(self.rows(), before)
        return cp

    def test_cert_lifecycle(self):
        p = self.pki
        cp = self.ok("cert", "add", "partner", p.p("client.pfx"), "--password-file",
                     p.p("pw.txt"))
        self.assertEqual(cp.stdout, "certificate 'partner' created: CN=client.example.com, "
                         "O=Contoso, S=Washington, C=US, thumbprint %s, expires %s "
                         "(with private key)\n" % (p.thumb, cp.stdout.split("expires ")[1]
                                                   .split(" ")[0]))
        cp = self.ok("cert", "add", "partner", p.p("client.cer"))
        self.assertIn("certificate 'partner' updated", cp.stdout)
        self.assertNotIn("with private key", cp.stdout)
        self.ok("cert", "add", "partner", p.p("nopass.pfx"))
        cp = self.ok("cert", "add", "partner", p.p("legacy.pfx"), "--password-file",
                     p.p("pw.txt"))
        self.assertIn("(with private key)", cp.stdout)
        self.ok("cert", "add", "root-as-cert", p.p("root.crt"))
        lines = self.ok("cert", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "THUMBPRINT", "EXPIRES", "KEY", "SUBJECT"])
        self.assertEqual(lines[1].split()[:2], ["partner", p.thumb])
        self.assertEqual(lines[1].split()[3], "yes")
        self.assertEqual(lines[2].split()[0], "root-as-cert")
        cp = self.ok("cert", "show", "partner")
        self.assertIn("Subject:         CN=client.example.com, O=Contoso, S=Washington, C=US",
                      cp.stdout)
        self.assertIn("Thumbprint:      %s" % p.thumb, cp.stdout)
        self.assertRegex(cp.stdout, r"Expiration date: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n")
        self.assertIn("Private key:     stored (never shown)", cp.stdout)
        j = json.loads(self.ok("cert", "show", "partner", "--json").stdout)
        self.assertEqual(j["type"], "Microsoft.ApiManagement/service/certificates")
        self.assertEqual(j["name"], "partner")
        self.assertEqual(j["properties"]["thumbprint"], p.thumb)
        self.assertTrue(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                                     j["properties"]["expirationDate"]))
        self.assertTrue(j["properties"]["hasPrivateKey"])
        self.assertEqual(len(json.loads(self.ok("cert", "list", "--json").stdout)), 2)
        self.ok("cert", "rm", "partner")
        self.fails(1, "certificate 'partner' does not exist", "cert", "show", "partner")
        self.fails(1, "certificate 'partner' does not exist", "cert", "rm", "partner")

    def test_cert_refusals(self):
        p = self.pki
        self.ok("cert", "add", "keep", p.p("client.cer"))
        self.fails(1, "wrong password for the PKCS#12 (PFX) file", "cert", "add", "x",
                   p.p("client.pfx"), "--password-file", p.p("wrong.txt"))
        self.fails(1, "needs a password (give it with --password-file)", "cert", "add", "x",
                   p.p("client.pfx"))
        self.fails(1, "the private key does not match the certificate", "cert", "add", "x",
                   p.p("mismatch.pem"))
        self.fails(1, "the file is not a certificate", "cert", "add", "x", p.p("garbage.bin"))
        self.fails(1, "is already stored as certificate 'keep'", "cert", "add", "x",
                   p.p("client.crt"))
        self.fails(1, "cannot read certificate file", "cert", "add", "x", p.p("none.pem"))
        self.fails(1, "cannot read --password-file file", "cert", "add", "x",
                   p.p("client.pfx"), "--password-file", p.p("none.txt"))
        self.fails(2, "missing FILE", "cert", "add", "x")
        self.fails(1, "certificate id 'a b'", "cert", "add", "a b", p.p("leaf.crt"))

    def test_cert_used_by_policy(self):
        p = self.pki
        self.ok("cert", "add", "backend", p.p("client.pfx"), "--password-file", p.p("pw.txt"))
        pol = os.path.join(self.dir, "p.xml")
        with open(pol, "w") as f:
            f.write('<policies><inbound><base /><authentication-certificate '
                    'certificate-id="backend" /></inbound></policies>')
        self.ok("policy", "set", pol)
        self.fails(1, "certificate 'backend' is used by the global policy", "cert", "rm",
                   "backend")

    def test_ca(self):
        p = self.pki
        cp = self.ok("ca", "add", "root", p.p("root.cer"))
        self.assertEqual(cp.stdout, "CA certificate 'root' created (root)\n")
        self.assertEqual(cp.stderr, "")
        cp = self.ok("ca", "add", "issuing", p.p("int.crt"), "--intermediate")
        self.assertEqual(cp.stdout, "CA certificate 'issuing' created (intermediate)\n")
        self.fails(1, "is not a CA certificate (basicConstraints CA:FALSE", "ca", "add", "leaf",
                   p.p("leaf.crt"))
        self.fails(1, "already stored as CA certificate 'root'", "ca", "add", "again",
                   p.p("root.crt"))
        self.fails(1, "not a certificate", "ca", "add", "x", p.p("garbage.bin"))
        lines = self.ok("ca", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "STORE", "THUMBPRINT", "EXPIRES", "SUBJECT"])
        self.assertEqual(lines[1].split()[:2], ["issuing", "CertificateAuthority"])
        self.assertEqual(lines[2].split()[:3], ["root", "Root", p.root_thumb])
        j = json.loads(self.ok("ca", "list", "--json").stdout)
        self.assertEqual(j[1]["storeName"], "Root")
        self.assertEqual(j[1]["certificate"]["subject"], "CN=Contoso Root")
        # An intermediate as a root is kept, with a warning.
        cp = self.ok("ca", "add", "issuing", p.p("int.crt"))
        self.assertIn("certgate: warning: CA certificate 'issuing' is not self-signed",
                      cp.stderr)
        self.ok("ca", "rm", "issuing")
        self.fails(1, "CA certificate 'issuing' does not exist", "ca", "rm", "issuing")

    def test_backends(self):
        p = self.pki
        self.ok("cert", "add", "gw-client", p.p("client.pfx"), "--password-file", p.p("pw.txt"))
        self.ok("cert", "add", "public", p.p("root.cer"))
        cp = self.ok("backend", "set", "orders-be", "--url", "https://10.0.0.5:8443",
                     "--client-cert", "gw-client", "--no-validate-chain")
        self.assertEqual(cp.stdout, "backend 'orders-be' created\n")
        self.ok("backend", "set", "plain", "--url", "http://127.0.0.1:9000/x")
        lines = self.ok("backend", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "URL", "CLIENT-CERT", "CHAIN", "NAME",
                                            "BREAKER", "POOL"])
        self.assertEqual(lines[1].split(), ["orders-be", "https://10.0.0.5:8443", "gw-client",
                                            "no", "validate", "-", "-"])
        self.assertEqual(lines[2].split(), ["plain", "http://127.0.0.1:9000/x", "-",
                                            "validate", "validate", "-", "-"])
        j = json.loads(self.ok("backend", "show", "orders-be", "--json").stdout)
        self.assertEqual(j["properties"]["credentials"]["certificateIds"], ["gw-client"])
        self.assertEqual(j["properties"]["tls"], {"validateCertificateChain": False,
                                                  "validateCertificateName": True})
        self.fails(1, "certificate 'gw-client' is used by backend 'orders-be'", "cert", "rm",
                   "gw-client")
        self.fails(1, "has no private key", "backend", "set", "x", "--url", "https://b",
                   "--client-cert", "public")
        self.fails(1, "certificate 'nope' does not exist", "backend", "set", "x", "--url",
                   "https://b", "--client-cert", "nope")
        self.fails(1, "a URL is needed to create it", "backend", "set", "x")
        self.fails(2, "exclude each other", "backend", "set", "x", "--validate-chain",
                   "--no-validate-chain")
        self.ok("backend", "set", "orders-be", "--no-client-cert", "--validate-chain")
        self.assertIn("Client cert:       none", self.ok("backend", "show", "orders-be").stdout)
        self.ok("cert", "rm", "gw-client")
        self.ok("backend", "rm", "orders-be")
        self.fails(1, "backend 'orders-be' does not exist", "backend", "rm", "orders-be")

    def test_help(self):
        top = self.ok("--help").stdout
        per_cmd = {
            ("cert", "add"): ["--password-file"], ("cert", "list"): ["--json"],
            ("cert", "show"): ["--json"], ("cert", "rm"): [],
            ("ca", "add"): ["--intermediate", "--password-file"], ("ca", "list"): ["--json"],
            ("ca", "rm"): [],
            ("backend", "set"): ["--url", "--client-cert", "--no-client-cert",
                                 "--no-validate-chain", "--no-validate-name",
                                 "--validate-chain", "--validate-name"],
            ("backend", "list"): ["--json"], ("backend", "show"): ["--json"],
            ("backend", "rm"): [],
        }
        for (g, v), opts in per_cmd.items():
            self.assertIn("%s %s" % (g, v), top)
            cp = self.ok(g, v, "--help")
            self.assertTrue(cp.stdout.startswith("Usage: certgate [--store FILE] %s %s" % (g, v)),
                            cp.stdout)
            for o in opts + ["--help", "Exit status"]:
                self.assertIn(o, cp.stdout, "%s %s --help lacks %s" % (g, v, o))
        for g in ("cert", "ca", "backend"):
            self.assertIn("certgate %s " % g, self.ok(g, "--help").stdout)
        self.assertFalse(os.path.exists(self.store))

if __name__ == "__main__":
    unittest.main()
