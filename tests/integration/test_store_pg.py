"""certgate with a PostgreSQL store (docs/fleet.md), against a real
PostgreSQL server the test starts itself: initdb into a temp dir, the
postgres server on a free loopback port with its unix socket in that temp
dir, stopped by its pid at the end. Skipped (with the reason) only when the
server binaries are missing.

- Every CLI command gives the same exit status, output and error text on a
  PostgreSQL store as on a SQLite file (a script of writes, refusals and
  reads, run against both).
- A gateway serves from the PostgreSQL store, and two gateways sharing it
  both pick up a change written by the CLI; an idle gateway sends no
  queries (the change token is the writers' NOTIFY); after a server
  restart the gateway reconnects and picks up a write.
- import: its dry run is a rehearsal in a transaction that is rolled back;
  the result matches an import into a SQLite file, a refused import leaves
  the store as it was.
- Bad input: an unreachable server, a password in the URL (never shown), a
  read-only open of an empty database: clear errors.
"""
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402
from cgtest import LOOPBACK, run  # noqa: E402


def pg_bin():
    """The directory of initdb/postgres: $CG_PG_BIN, else the newest
    Debian /usr/lib/postgresql/N/bin that has both."""
    dirs = [os.environ.get("CG_PG_BIN", "")]
    dirs += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                   key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0,
                   reverse=True)
    for d in dirs:
        if d and all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "postgres")):
            return d
    return None


class PgServer:
    """A throwaway PostgreSQL cluster. initdb refuses to run as root, so as
    root the server runs as the 'postgres' user (or 'nobody')."""

    def __init__(self, bindir):
        self.bin = bindir
        self.dir = tempfile.mkdtemp(prefix="cg-pg-")
        self.log = os.path.join(self.dir, "server.log")
        self.proc = None
        self.user = None
        if os.getuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self.user = pwd.getpwnam(name)
                    break
                except KeyError:
                    pass
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self._run([os.path.join(bindir, "initdb"), "-D", self.data, "-U", "certgate",
                   "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        self._start()

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    def _demote(self):
        if self.user:
            os.setgid(self.user.pw_gid)
            os.setgroups([])
            os.setuid(self.user.pw_uid)

    def _run(self, args, timeout=120):
        cp = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=self._demote, timeout=timeout, cwd=self.dir)
        if cp.returncode != 0:
            raise AssertionError("%s failed:\n%s" % (args[0], cp.stdout.decode(errors="replace")))

    def _start(self, port=None):
        for attempt in range(1 if port else 3):
            self.port = port or cgtest.free_port()
            seen = len(self.server_log())  # "ready" of an earlier start does not count
            logf = open(self.log, "ab")
            self.proc = subprocess.Popen(
                [os.path.join(self.bin, "postgres"), "-D", self.data, "-p", str(self.port),
                 "-c", "listen_addresses=" + LOOPBACK, "-c", "unix_socket_directories=" + self.dir,
                 "-c", "fsync=off", "-c", "max_connections=50"],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, preexec_fn=self._demote)
            logf.close()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.proc.poll() is None:
                if "ready to accept connections" in self.server_log()[seen:]:
                    return
                time.sleep(0.1)
            self.stop()
        raise AssertionError("postgres did not start:\n" + self.server_log()[-3000:])

    def restart(self):
        """Stops the server and starts it again on the same port."""
        self.stop()
        self._start(self.port)

    def server_log(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def url(self, db, password=None):
        auth = "certgate" + (":" + password if password else "")
        return "postgresql://%s@%s:%d/%s" % (auth, LOOPBACK, self.port, db)

    def createdb(self, name):
        # Through the server's own template: connect to 'postgres' with psql
        # if present, else with the createdb binary of the same directory.
        self._run([os.path.join(self.bin, "createdb"), "-h", LOOPBACK, "-p", str(self.port),
                   "-U", "certgate", name], timeout=60)

    def query(self, sql, db="postgres"):
        """Rows of sql (psql, database db) as lists of strings."""
        cp = run([os.path.join(self.bin, "psql"), "-h", LOOPBACK, "-p", str(self.port),
                  "-U", "certgate", "-d", db, "-Atc", sql])
        return [line.split("|") for line in cp.stdout.decode().splitlines()]

    def stop(self):
        """Fast shutdown by pid (SIGINT), then SIGKILL after 30 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def remove(self):
        self.stop()
        if not os.environ.get("CG_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)


PG_BIN = pg_bin()
SERVER = None


def setUpModule():
    global SERVER
    if PG_BIN is None:
        raise unittest.SkipTest("PostgreSQL server binaries (initdb, postgres) not found; "
                                "install the 'postgresql' package (scripts/deps.sh test)")
    SERVER = PgServer(PG_BIN)


def tearDownModule():
    if SERVER:
        SERVER.remove()


class PgCase(unittest.TestCase):
    databases = 0

    def assert_serves_b(self, gw, timeout):
        """The API "b" written to the store reaches gw within timeout s."""
        ok = cgtest.poll(lambda: gw.curl("/b/x", host="fleet.test").status == 200, timeout, 0.2)
        self.assertTrue(ok, gw.stderr()[-2000:])

    @classmethod
    def setUpClass(cls):
        cls.top = tempfile.mkdtemp(prefix="cg-pgstore-")
        cls.pki = cgtest.Pki(cls.top)

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("CG_KEEP_TMP"):
            shutil.rmtree(cls.top, ignore_errors=True)

    def new_db(self):
        PgCase.databases += 1
        name = "store%d" % PgCase.databases
        SERVER.createdb(name)
        return SERVER.url(name)

    def cg(self, store, *args, check=False, timeout=30):
        return run([cgtest.certgate_path(), "--store", store] + list(args), check=check,
                   timeout=timeout)

    def write(self, name, text):
        p = os.path.join(self.top, name)
        with open(p, "w") as f:
            f.write(text)
        return p


POLICY = """<policies>
  <inbound><base /><include-fragment fragment-id="f1" />
    <set-header name="x-nv" exists-action="override"><value>{{nv1}}</value></set-header>
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>
"""
API_POLICY = """<policies>
  <inbound><base /><set-header name="x-api" exists-action="override"><value>@(context.Api.Id)</value></set-header></inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>
"""
BAD_POLICY = """<policies>
  <inbound><base /><set-header name="x" exists-action="override"><value>@(context.Nope(</value></set-header></inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>
"""
FRAGMENT = """<fragment><set-header name="x-frag" exists-action="override"><value>yes</value></set-header></fragment>
"""
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


class SameAsSqliteTest(PgCase):
    """One script of commands, run against a SQLite file and a PostgreSQL
    database: every step must answer the same (status, stdout, stderr, the
    store's name aside)."""

    def script(self):
        h1 = self.pki.server("h1.test")
        h2 = self.pki.server("h2.test", rsa=True)
        cl = self.pki.client("pg-client")
        with open(cl.cert) as c, open(cl.key) as k:
            both = self.write("client-with-key.pem", c.read() + k.read())
        pol = self.write("pol.xml", POLICY)
        apol = self.write("api.xml", API_POLICY)
        bad = self.write("bad.xml", BAD_POLICY)
        frag = self.write("frag.xml", FRAGMENT)
        return [
            ["host", "set", "h1.test", "--cert", h1.cert, "--key", h1.key,
             "--negotiate-client-certificate"],
            ["host", "set", "h2.test", "--cert", h2.cert, "--key", h2.key, "--default"],
            ["host", "set", "h3.test", "--cert", h1.cert],  # refused: no key
            ["host", "set", "h1.test", "--key", h2.key],  # refused: key mismatch
            ["host", "rm", "h2.test"],  # refused: the default
            ["host", "list", "--json"],
            ["api", "set", "a1", "--path", "one", "--backend", "http://127.0.0.1:9/"],
            ["api", "set", "a2", "--path", "ONE", "--backend", "http://127.0.0.1:9/"],
            ["api", "set", "a2", "--path", "two", "--backend", "http://127.0.0.1:9/",
             "--display-name", "Two"],
            ["api", "set", "a2", "--path", "Two/"],
            ["api", "set", "a2", "--protocols", "https,http"],
            ["api", "set", "a1", "--protocols", "ws"],  # refused: unknown protocol
            ["api", "list", "--json"],
            ["api", "set", "a1", "--subscription-required", "true",
             "--subscription-key-header", "X-Key"],
            ["sub", "set", "s1", "--scope", "/apis/a1", "--state", "active",
             "--primary-key", "pg-primary-0001", "--secondary-key", "pg-secondary-01"],
            ["sub", "set", "s2", "--scope", "/apis", "--primary-key", "pg-primary-0001"],
            ["sub", "set", "s3", "--scope", "/apis/zz"],  # refused: no such API
            ["sub", "set", "s1", "--state", "suspended", "--expiration", "2030-01-01T00:00:00Z"],
            ["sub", "list"],
            ["sub", "keys", "s1", "--json"],
            ["product", "set", "p1", "--state", "published", "--subscriptions-limit", "5",
             "--description", "pg product"],
            ["product", "set", "p1", "--state", "live"],  # refused: no such state
            ["product", "set", "p1", "--subscriptions-limit", "none"],
            ["product", "add-api", "p1", "a1"],
            ["product", "add-api", "p1", "a1"],  # already there
            ["product", "add-api", "p1", "zz"],  # refused: no such API
            ["sub", "set", "s4", "--scope", "/products/p1", "--primary-key", "pg-product-0001"],
            ["sub", "set", "s5", "--scope", "/products/zz"],  # refused: no such product
            ["product", "show", "p1", "--json"],
            ["product", "rm", "p1"],  # refused: s4 is scoped to it
            ["op", "set", "a1", "get-x", "--method", "GET", "--url-template", "/x/{id}"],
            ["op", "set", "a1", "get-y", "--method", "GET", "--url-template", "/x/{other}"],
            ["op", "set", "nope", "get-y", "--method", "GET", "--url-template", "/y"],
            ["op", "list", "a1", "--json"],
            ["nv", "set", "nv1", "hello"],
            ["nv", "set", "sec1", "s3cr3t", "--secret", "--tags", "t1,t2"],
            ["nv", "show", "sec1", "--json"],
            ["fragment", "set", "f1", frag, "--description", "a fragment"],
            ["policy", "set", pol],
            ["policy", "set", "--api", "a1", apol],
            ["policy", "set", "--api", "a1", "--operation", "get-x", apol],
            ["policy", "set", "--api", "a2", bad],  # refused with line:col
            ["policy", "set", "--api", "zz", apol],  # refused: no such API
            ["policy", "set", "--product", "p1", apol],
            ["policy", "set", "--product", "p1", apol],  # replaces it
            ["policy", "set", "--product", "zz", apol],  # refused: no such product
            ["policy", "list", "--json"],
            ["policy", "show", "--api", "a1", "--format", "xml"],
            ["policy", "show", "--api", "a2"],  # not set
            ["nv", "rm", "nv1"],  # refused: in use
            ["fragment", "rm", "f1"],  # refused: in use
            ["fragment", "show", "f1", "--json"],
            ["cert", "add", "c1", both],
            ["cert", "add", "c2", both],  # refused: same thumbprint
            ["cert", "list", "--json"],
            ["cert", "show", "c1", "--json"],
            ["ca", "add", "root", self.pki.root_pem],
            ["ca", "add", "inter", self.pki.inter.leaf, "--intermediate"],
            ["ca", "add", "leaf", cl.leaf],  # refused: not a CA
            ["ca", "list", "--json"],
            ["backend", "set", "b1", "--url", "https://127.0.0.1:9/", "--client-cert", "c1",
             "--no-validate-name"],
            ["backend", "set", "b2", "--url", "https://127.0.0.1:9/", "--client-cert", "c9"],
            ["cert", "rm", "c1"],  # refused: b1 presents it
            ["backend", "set", "b1", "--no-client-cert"],
            ["backend", "set", "b3", "--url", "http://127.0.0.1:9/", "--circuit-breaker",
             '{"rules": [{"name": "r", "failureCondition": {"count": 3, "interval": "PT1M",'
             ' "statusCodeRanges": [{"min": 500, "max": 599}]}, "tripDuration": "PT30S"}]}'],
            ["backend", "set", "pool1", "--pool", "b3:1:3,b1:2"],
            ["backend", "set", "pool2", "--pool", "pool1"],  # refused: a pool in a pool
            ["backend", "rm", "b3"],  # refused: pool1 has it
            ["backend", "set", "pool1", "--pool", "b1:0:0"],
            ["backend", "list", "--json"],
            ["cert", "rm", "c1"],
            ["policy", "rm", "--api", "a1", "--operation", "get-x"],
            ["policy", "rm", "--api", "a1", "--operation", "get-x"],  # not set
            ["op", "rm", "a1", "get-x"],
            ["api", "rm", "a2"],
            ["api", "rm", "a2"],  # does not exist
            ["ca", "rm", "inter"],
            ["api", "list", "--json"],
            ["sub", "rm", "s1"],
            ["sub", "list"],
            ["policy", "show", "--product", "p1"],
            ["product", "rm-api", "p1", "a1"],
            ["product", "rm-api", "p1", "a1"],  # refused: not in it
            ["product", "rm", "p1", "--delete-subscriptions"],
            ["product", "list", "--json"],
            ["policy", "list", "--json"],
            ["sub", "list"],
            ["host", "list"],
        ]

    def answers(self, store, script, shown):
        out = []
        for args in script:
            cp = self.cg(store, *args)
            norm = lambda b: TIME.sub("TIME", b.decode("utf-8", "replace").replace(shown, "STORE"))
            out.append((args, cp.returncode, norm(cp.stdout), norm(cp.stderr)))
        return out

    def test_every_command_answers_as_on_sqlite(self):
        script = self.script()
        lite = os.path.join(self.top, "same.db")
        url = self.new_db()
        want = self.answers(lite, script, lite)
        got = self.answers(url, script, url)
        refusals = 0
        for w, g in zip(want, got):
            self.assertEqual(g, w, "command %s" % " ".join(w[0]))
            refusals += w[1] != 0
        # The script checks refusals too, not only successes.
        self.assertGreaterEqual(refusals, 15)
        refused_policy = [a for a in want if a[0][:2] == ["policy", "set"] and a[1]][0]
        self.assertRegex(refused_policy[3], r"bad\.xml:\d+:\d+: ")
        # Stamps are written as on SQLite: UTC, seconds, 'Z'.
        self.assertEqual(self.cg(url, "api", "list").returncode, 0)


class FleetTest(PgCase):
    """Two gateways share one PostgreSQL store."""

    def test_two_gateways_pick_up_one_write(self):
        url = self.new_db()
        backend = cgtest.Backend()
        gws = []
        try:
            for i in range(2):
                # The first builds the store; both serve it.
                gws.append(cgtest.Gateway(
                    self.top, self.pki, store=url,
                    hosts=[{"name": "fleet.test", "default": True}] if i == 0 else [],
                    apis=[{"id": "a", "path": "a", "backend": backend.url()}] if i == 0 else [],
                ).start())
            for gw in gws:
                self.assertEqual(gw.curl("/a/x", host="fleet.test").status, 200)
                self.assertEqual(gw.curl("/b/x", host="fleet.test").status, 404)
            self.cg(url, "api", "set", "b", "--path", "b", "--backend", backend.url(),
                    check=True)
            for gw in gws:
                self.assert_serves_b(gw, 15)
            # Each gateway applied a second configuration generation.
            for gw in gws:
                self.assertIn("configuration generation 2 applied", gw.stderr())
        finally:
            for gw in gws:
                gw.stop()
            backend.close()


class PushTest(PgCase):
    def test_an_idle_gateway_sends_no_queries_and_still_sees_writes(self):
        """The change token is the writers' NOTIFY, read from the socket: a
        polling gateway would show a new state_change every 250 ms."""
        url = self.new_db()
        name = url.rsplit("/", 1)[1]
        backend = cgtest.Backend()
        gw = None
        sql = ("SELECT pid, state, state_change FROM pg_stat_activity WHERE datname = '%s'"
               " ORDER BY pid" % name)
        try:
            gw = cgtest.Gateway(self.top, self.pki, store=url,
                                hosts=[{"name": "fleet.test", "default": True}]).start()
            time.sleep(0.5)
            before = SERVER.query(sql)
            self.assertEqual(len(before), 1, before)  # the gateway's one connection
            self.assertEqual(before[0][1], "idle")
            time.sleep(2)
            self.assertEqual(SERVER.query(sql), before)
            self.cg(url, "api", "set", "b", "--path", "b", "--backend", backend.url(),
                    check=True)
            self.assert_serves_b(gw, 15)
        finally:
            if gw:
                gw.stop()
            backend.close()


class RestartTest(PgCase):
    def test_gateway_keeps_serving_and_reconnects_after_a_server_restart(self):
        url = self.new_db()
        backend = cgtest.Backend()
        gw = None
        try:
            gw = cgtest.Gateway(self.top, self.pki, store=url,
                                hosts=[{"name": "fleet.test", "default": True}],
                                apis=[{"id": "a", "path": "a", "backend": backend.url()}]).start()
            self.assertEqual(gw.curl("/a/x", host="fleet.test").status, 200)
            SERVER.stop()
            time.sleep(2.5)  # polls fail meanwhile; the configuration stays
            self.assertEqual(gw.curl("/a/x", host="fleet.test").status, 200)
            SERVER.restart()
            self.cg(url, "api", "set", "b", "--path", "b", "--backend", backend.url(),
                    check=True)
            self.assert_serves_b(gw, 20)
        finally:
            if gw:
                gw.stop()
            backend.close()


class BadInputTest(PgCase):
    def test_unreachable_server_is_a_clear_error_without_the_password(self):
        port = cgtest.free_port()  # nothing listens there
        url = "postgresql://certgate:hunter2@%s:%d/x" % (LOOPBACK, port)
        cp = self.cg(url, "api", "list")
        self.assertEqual(cp.returncode, 1)
        err = cp.stderr.decode()
        self.assertIn("cannot open store 'postgresql://certgate@%s:%d/x'" % (LOOPBACK, port), err)
        self.assertIn("Connection refused", err)
        self.assertNotIn("hunter2", err)

    def test_password_and_query_never_shown_in_a_refusal(self):
        plain = self.new_db()
        url = plain.replace("certgate@", "certgate:hunter2@") + "?password=hunter3"
        cp = self.cg(url, "api", "list")  # refused: the database has no schema yet
        self.assertEqual(cp.returncode, 1)
        err = cp.stderr.decode()
        self.assertIn("store '%s' has schema version 0" % plain, err)
        self.assertNotIn("hunter", err + cp.stdout.decode())

    def test_certgate_store_environment_may_name_a_url(self):
        url = self.new_db()
        env = dict(os.environ, CERTGATE_STORE=url)
        cp = run([cgtest.certgate_path(), "api", "set", "e", "--path", "e", "--backend",
                  "http://127.0.0.1:9/"], env=env, cwd=self.top)
        self.assertIn(b"API 'e' created", cp.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.top, "certgate.db")))
        ids = [a["id"] for a in json.loads(self.cg(url, "api", "list", "--json",
                                                    check=True).stdout)]
        self.assertEqual(ids, ["e"])

    def test_gateway_on_an_empty_database_is_refused_with_the_version(self):
        # A write command migrates; the read-only gateway never does and
        # says what to run. serve migrates an existing store itself, so
        # check the read path through a read command on a fresh database.
        url = self.new_db()
        cp = self.cg(url, "api", "list")
        self.assertEqual(cp.returncode, 1)
        self.assertIn("has schema version 0, this certgate needs", cp.stderr.decode())
        self.assertEqual(self.cg(url, "api", "set", "a", "--path", "a", "--backend",
                                 "http://127.0.0.1:9/").returncode, 0)
        self.assertEqual(self.cg(url, "api", "list").returncode, 0)

    def exported_folder(self, name):
        """An APIOps folder exported from a SQLite store holding an API with
        an operation, policies at three scopes, a named value, a fragment
        and a CA certificate."""
        lite = os.path.join(self.top, name + ".db")
        pol = self.write(name + "-pol.xml", POLICY)
        apol = self.write(name + "-api.xml", API_POLICY)
        frag = self.write(name + "-frag.xml", FRAGMENT)
        for args in (["api", "set", "a1", "--path", "one", "--backend", "http://127.0.0.1:9/"],
                     ["op", "set", "a1", "get-x", "--method", "GET", "--url-template", "/x/{id}"],
                     ["nv", "set", "nv1", "hello"],
                     ["fragment", "set", "f1", frag],
                     ["policy", "set", pol],
                     ["policy", "set", "--api", "a1", apol],
                     ["policy", "set", "--api", "a1", "--operation", "get-x", apol],
                     ["ca", "add", "root", self.pki.root_pem],
                     ["product", "set", "p1", "--state", "published"],
                     ["product", "add-api", "p1", "a1"],
                     ["policy", "set", "--product", "p1", apol],
                     ["sub", "set", "s1", "--scope", "/products/p1", "--state", "active"]):
            self.cg(lite, *args, check=True)
        folder = os.path.join(self.top, name + "-folder")
        self.cg(lite, "export", folder, check=True)
        return folder

    LISTS = (["api", "list", "--json"], ["op", "list", "a1", "--json"],
             ["policy", "list", "--json"], ["nv", "list", "--json"],
             ["fragment", "list", "--json"], ["ca", "list", "--json"],
             ["product", "list", "--json"])

    def listing(self, store):
        return [self.cg(store, *args).stdout for args in self.LISTS]

    def test_import_lands_as_in_a_sqlite_file(self):
        folder = self.exported_folder("imp")
        url = self.new_db()
        lite = os.path.join(self.top, "imp-target.db")
        got = self.cg(url, "import", folder)
        want = self.cg(lite, "import", folder)
        self.assertEqual(want.returncode, 0, want.stderr)
        self.assertEqual((got.returncode, got.stdout.decode().replace(url, "STORE"),
                          got.stderr.decode().replace(url, "STORE")),
                         (want.returncode, want.stdout.decode().replace(lite, "STORE"),
                          want.stderr.decode().replace(lite, "STORE")))
        self.assertEqual(self.listing(url), self.listing(lite))
        self.assertIn(b'"a1"', self.listing(url)[0])
        self.assertIn(b'"apis": [\n      "a1"', self.listing(url)[-1])
        subs = json.loads(self.cg(url, "sub", "list", "--json").stdout)
        self.assertEqual([(s["id"], s["properties"]["scope"]) for s in subs],
                         [("s1", "/products/p1")])

    def test_refused_import_changes_nothing(self):
        folder = self.exported_folder("bad")
        with open(os.path.join(folder, "apis", "a1", "policy.xml"), "w") as f:
            f.write(BAD_POLICY)
        url = self.new_db()
        self.cg(url, "api", "set", "keep", "--path", "keep", "--backend",
                "http://127.0.0.1:9/", check=True)
        before = self.listing(url)
        cp = self.cg(url, "import", folder)
        self.assertEqual(cp.returncode, 1)
        err = cp.stderr.decode()
        self.assertIn("refused: nothing was changed", err)
        self.assertRegex(err, r"policy\.xml:\d+:\d+: ")
        # The rehearsal's writes (the API, the named value, the fragment,
        # the CA before the refused policy) were all rolled back.
        self.assertEqual(self.listing(url), before)
        # And the store is not left locked: a write goes through at once.
        self.cg(url, "api", "set", "after", "--path", "after", "--backend",
                "http://127.0.0.1:9/", check=True, timeout=10)

    def test_upgrade_from_version_10_serves_apis_over_both(self):
        # Migration 11 on PostgreSQL: APIs from before protocols keep http and
        # https; a new one gets what it asks for.
        url = self.new_db()
        self.cg(url, "api", "set", "old", "--path", "old", "--backend", "http://127.0.0.1:9/",
                check=True)
        # (Migration 12's pool table and columns go too: they come after.)
        SERVER.query("ALTER TABLE apis DROP COLUMN protocols; DROP TABLE backend_pool_members;"
                     " ALTER TABLE backends DROP COLUMN is_pool;"
                     " ALTER TABLE backends DROP COLUMN circuit_breaker;"
                     " UPDATE certgate_schema SET version = 10", db=url.rsplit("/", 1)[1])
        self.cg(url, "api", "set", "new", "--path", "new", "--backend", "http://127.0.0.1:9/",
                "--protocols", "https", check=True)
        apis = json.loads(self.cg(url, "api", "list", "--json", check=True).stdout)
        self.assertEqual({a["id"]: a["protocols"] for a in apis},
                         {"new": ["https"], "old": ["http", "https"]})
        self.assertEqual(SERVER.query("SELECT max(version) FROM certgate_schema",
                                      db=url.rsplit("/", 1)[1]), [["12"]])

    def test_concurrent_writers_all_land(self):
        url = self.new_db()
        self.cg(url, "api", "list")  # nothing yet; the first write migrates
        errors = []

        def writer(i):
            cp = self.cg(url, "api", "set", "w%d" % i, "--path", "w%d" % i, "--backend",
                         "http://127.0.0.1:9/")
            if cp.returncode != 0:
                errors.append(cp.stderr.decode())

        ts = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        self.assertEqual(errors, [])
        ids = [a["id"] for a in json.loads(self.cg(url, "api", "list", "--json",
                                                    check=True).stdout)]
        self.assertEqual(sorted(ids), ["w%d" % i for i in range(6)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
