"""Store durability (issue 4, item 7).

- Two processes x 50 CLI writes at once on one store: all exit 0, all
  present; reference checks ({{named value}}, certificate-id) hold between
  concurrent writers; a write waits for a lock held by another process and
  fails cleanly after the busy timeout, while the gateway keeps serving and
  never sees the uncommitted change.
- SIGKILL of a writer loop (with its certgate child) and of certgate itself
  at random moments / around the commit: integrity_check ok, nothing that
  exited 0 lost, killed writes atomic, the CLI works, the running gateway
  applies what was committed.
- SIGKILL of a running gateway during traffic and writes, restart on the
  same store: it starts and serves the last committed configuration.

Real binary, real store file (checked with Python's sqlite3: PRAGMA
integrity_check and foreign_key_check), real TLS clients. Processes are
ended by their pid (a writer loop and its certgate child by the writer's
own process group)."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402
from cgtest import BResp  # noqa: E402

# 'Class.test_name': one-line reason (the gateway/store is wrong there).
EXPECTED_FAILURES = {}

HOST = "open.test"

POLICY = """<policies>
  <inbound>
    <base />
    <set-header name="X-Gen" exists-action="override"><value>{gen}</value></set-header>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>
"""

# A writer: runs certgate commands one after another, logging "start I",
# then "ok I" or "fail I RC" (flushed) for each. Index I decides the command:
#   I%4==0  api set wI (backend BASE/wI)     I%4==1  nv set wnI vI
#   I%4==2  policy set --api w(I-2) (gen I)
#   I%4==3  nv set wn(I-2) uI   (update of the value set at I-2)
# Bounded: at most COUNT commands and 30 s.
WRITER = r"""
import os, subprocess, sys, time
bin, store, first, count, log, tmp, base = sys.argv[1:8]
first, count = int(first), int(count)
policy = open(os.path.join(tmp, "policy.tmpl")).read()
out = open(log, "a", buffering=1)
end = time.monotonic() + 30
for i in range(first, first + count):
    if time.monotonic() > end:
        break
    k = i % 4
    if k == 0:
        cmd = ["api", "set", "w%d" % i, "--path", "w%d" % i, "--backend",
               base + "/w%d" % i]
    elif k == 1:
        cmd = ["nv", "set", "wn%d" % i, "v%d" % i]
    elif k == 2:
        p = os.path.join(tmp, "p%d.xml" % i)
        with open(p, "w") as f:
            f.write(policy.replace("{gen}", "gen-%d" % i))
        cmd = ["policy", "set", "--api", "w%d" % (i - 2), p]
    else:
        cmd = ["nv", "set", "wn%d" % (i - 2), "u%d" % i]
    out.write("start %d\n" % i)
    cp = subprocess.run([bin, "--store", store] + cmd, stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE, timeout=30)
    if cp.returncode == 0:
        out.write("ok %d\n" % i)
    else:
        out.write("fail %d %d %s\n" % (i, cp.returncode,
                  cp.stderr.decode(errors="replace").strip().replace("\n", " | ")))
"""


def poll(fn, timeout=5.0, step=0.05):
    return cgtest.poll(fn, timeout, step)


def integrity(store):
    """(integrity_check rows, foreign_key_check rows) read with Python's sqlite3."""
    db = sqlite3.connect(store, timeout=10)
    try:
        ic = [r[0] for r in db.execute("PRAGMA integrity_check")]
        fk = db.execute("PRAGMA foreign_key_check").fetchall()
        return ic, fk
    finally:
        db.close()


def policies_of(store):
    db = sqlite3.connect(store, timeout=10)
    try:
        return {r[0]: r[1] for r in db.execute(
            "SELECT api_id, value FROM policies WHERE scope = 'api'")}
    finally:
        db.close()


class Durability(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend(cls.handler)
        cls.gw = cls.gateway(hosts=[{"name": HOST, "default": True}],
                             apis=[{"id": "dur", "path": "dur", "backend": cls.b.url("/d")}],
                             workers=2, serve_args=["--access-log", "off"])
        with open(os.path.join(cls.tmp, "policy.tmpl"), "w") as f:
            f.write(POLICY)

    @staticmethod
    def handler(req):
        gen = (req.headers.get("X-Gen") or "none").encode("latin-1")
        return BResp(mode="raw", raw_keep=True, raw=b"HTTP/1.1 200 OK\r\nX-Saw-Gen: " + gen +
                     b"\r\nContent-Length: 2\r\n\r\nok")

    def cli_json(self, *args):
        return json.loads(self.gw.cli(*args).stdout.decode())

    def state(self):
        """What the CLI reads back: ({api id: backend}, {nv name: value})."""
        apis = {a["id"]: a["serviceUrl"] for a in self.cli_json("api", "list", "--json")}
        nvs = {n["name"]: n["value"] for n in self.cli_json("nv", "list", "--json")}
        return apis, nvs

    def assert_store_ok(self, label):
        ic, fk = integrity(self.gw.store)
        self.assertEqual(ic, ["ok"], "%s: integrity_check" % label)
        self.assertEqual(fk, [], "%s: foreign_key_check" % label)

    # ---- 5. two writers at once

    def test_5_two_writers_at_once(self):
        script = r"""
import json, subprocess, sys
bin, store, tag = sys.argv[1:4]
res = []
for i in range(50):
    if i % 2:
        cmd = ["api", "set", "%s%d" % (tag, i), "--path", "%s%d" % (tag, i),
               "--backend", "http://127.0.0.1:9/%s%d" % (tag, i)]
    else:
        cmd = ["nv", "set", "%s%d" % (tag, i), "val-%s%d" % (tag, i)]
    cp = subprocess.run([bin, "--store", store] + cmd, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=30)
    res.append([cmd, cp.returncode, cp.stderr.decode(errors="replace")])
print(json.dumps(res))
"""
        t0 = time.monotonic()
        ps = [subprocess.Popen([sys.executable, "-c", script, self.gw.bin, self.gw.store, tag],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
              for tag in ("ta", "tb")]
        outs = []
        for p in ps:
            try:
                out, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate(timeout=10)
                self.fail("a writer did not finish 50 commands in 60 s")
            self.assertEqual(p.returncode, 0, err)
            outs.append(json.loads(out.decode()))
        took = time.monotonic() - t0
        failed = [r for res in outs for r in res if r[1] != 0]
        self.assertEqual(failed, [], "commands failed with two writers")
        self.assertEqual(sum(len(r) for r in outs), 100)
        apis, nvs = self.state()
        for tag in ("ta", "tb"):
            for i in range(50):
                name = "%s%d" % (tag, i)
                if i % 2:
                    self.assertEqual(apis.get(name), "http://127.0.0.1:9/" + name)
                else:
                    self.assertEqual(nvs.get(name), "val-" + name)
        self.assertEqual(len([a for a in apis if a[:2] in ("ta", "tb")]) +
                         len([n for n in nvs if n[:2] in ("ta", "tb")]), 100)
        self.assert_store_ok("after two writers")
        sys.stderr.write("\n  [writers] 2 x 50 commands in %.2f s\n" % took)

    RACE_SCRIPT = r"""
import json, subprocess, sys
bin, store, role, api, pol, ref, pem = sys.argv[1:8]
res = []
def run(*a):
    cp = subprocess.run([bin, "--store", store] + list(a), stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=30)
    res.append([list(a), cp.returncode, cp.stderr.decode(errors="replace")])
    return cp.returncode
for i in range(30):
    if role == "policy":
        if run("policy", "set", "--api", api, pol) == 0:
            run("policy", "rm", "--api", api)
    elif role == "nv":
        run("nv", "rm", ref)
        run("nv", "set", ref, "v%d" % i)
    else:
        run("cert", "rm", ref)
        run("cert", "add", ref, pem)
print(json.dumps(res))
"""

    def reference_race(self, api, pol_text, kind, ref, pem=""):
        """One process sets/removes the policy of api (pol_text references
        ref); another removes/re-creates ref (kind 'nv' or 'cert'). A
        sampler reads the store in read transactions meanwhile: the policy
        must never be there while ref is not. The checks ("ref exists" for
        the policy, "ref is unused" for the removal) must be made inside the
        writing transaction, or both could pass and leave a policy whose
        reference is gone, which the running gateway could never load."""
        self.gw.cli("api", "set", api, "--path", api, "--backend", self.b.url("/" + api))
        pol = os.path.join(self.tmp, api + ".xml")
        with open(pol, "w") as f:
            f.write(pol_text)
        reloads = self.gw.stderr().count("reload:")
        ps = [subprocess.Popen([sys.executable, "-c", self.RACE_SCRIPT, self.gw.bin,
                                self.gw.store, role, api, pol, ref, pem],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
              for role in ("policy", kind)]
        table, col = {"nv": ("named_values", "name"), "cert": ("certificates", "id")}[kind]
        torn = []
        samples = 0
        end = time.monotonic() + 60
        db = sqlite3.connect(self.gw.store, timeout=10, isolation_level=None)
        try:
            while any(p.poll() is None for p in ps) and time.monotonic() < end:
                db.execute("BEGIN")
                row = db.execute(
                    "SELECT (SELECT count(*) FROM policies WHERE api_id = ?),"
                    " (SELECT count(*) FROM %s WHERE %s = ?)" % (table, col),
                    (api, ref)).fetchone()
                db.execute("COMMIT")
                samples += 1
                if row[0] and not row[1]:
                    torn.append(samples)
                time.sleep(0.003)
        finally:
            db.close()
        outs = []
        for p in ps:
            try:
                out, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate(timeout=10)
                self.fail("a racing writer did not finish")
            self.assertEqual(p.returncode, 0, err)
            outs += json.loads(out.decode())
        self.assertEqual(torn, [], "the policy of %s was stored while %s '%s' was missing "
                         "(%d of %d samples)" % (api, kind, ref, len(torn), samples))
        # a refusal is the reference check, never a locked or broken store
        bad = [r for r in outs if r[1] != 0 and not (
            r[1] == 1 and "'%s'" % ref in r[2] and "lock" not in r[2] and "busy" not in r[2])]
        self.assertEqual(bad, [], "unexpected failures")
        time.sleep(0.6)  # let the gateway load the last state
        self.assertEqual(self.gw.stderr().count("reload:"), reloads,
                         "the gateway met a configuration it could not load")
        self.assert_store_ok("after racing writers")
        n_set = len([r for r in outs if r[0][:2] == ["policy", "set"] and r[1] == 0])
        n_rm = len([r for r in outs if r[0][:2] == [kind, "rm"] and r[1] == 0])
        sys.stderr.write("\n  [reference race %s] %d samples; policy set ok %d/30, %s rm ok "
                         "%d/30\n" % (kind, samples, n_set, kind, n_rm))

    def test_5_named_value_references_hold_between_writers(self):
        self.gw.cli("nv", "set", "rv", "start")
        self.reference_race("racer", POLICY.format(gen="{{rv}}"), "nv", "rv")

    def test_5_certificate_references_hold_between_writers(self):
        rc = self.pki.client("race-cert")
        pem = os.path.join(self.tmp, "race-cert.pem")
        with open(pem, "w") as out:
            for path in (rc.leaf, rc.key):
                with open(path) as f:
                    out.write(f.read())
        self.gw.cli("cert", "add", "rc", pem)
        text = POLICY.format(gen="r2").replace(
            "<base />\n    <set-header",
            '<base />\n    <authentication-certificate certificate-id="rc" />\n'
            '    <set-header', 1)
        self.assertIn('certificate-id="rc"', text)
        self.reference_race("racer2", text, "cert", "rc", pem)

    def test_5_writer_waits_for_a_held_lock(self):
        # Another process holds the write lock (with an uncommitted change):
        # the gateway keeps serving and never sees the change; a CLI write
        # waits for the lock and succeeds when it is released in time, and
        # fails cleanly (exit 1, store unchanged) when it is not.
        pol = os.path.join(self.tmp, "lock.xml")
        with open(pol, "w") as f:
            f.write(POLICY.format(gen="locked-before"))
        self.gw.cli("policy", "set", "--api", "dur", pol)
        self.assertTrue(poll(lambda: self.request_gen() == (200, "locked-before")))
        reloads = self.gw.stderr().count("reload:")
        # hold None: until the CLI gives up (its busy timeout is 5 s), so a
        # CLI that starts late under load cannot outlive a fixed hold.
        for hold, want_rc in ((1.5, 0), (None, 1)):
            db = sqlite3.connect(self.gw.store, timeout=10, isolation_level=None)
            try:
                db.execute("BEGIN IMMEDIATE")
                db.execute("UPDATE policies SET value = 'garbage <<<' WHERE api_id = 'dur'")
                t0 = time.monotonic()
                p = subprocess.Popen([self.gw.bin, "--store", self.gw.store, "nv", "set",
                                      "lockwait%d" % want_rc, "v"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                seen = set()
                t_done = None  # when the CLI ended, if it did while the lock was held
                for _ in range(1000):
                    elapsed = time.monotonic() - t0
                    if (hold is not None and elapsed >= hold) or elapsed >= 20 or \
                            (hold is None and t_done is not None):
                        break
                    seen.add(self.request_gen())
                    if t_done is None and p.poll() is not None:
                        t_done = time.monotonic() - t0
                    time.sleep(0.05)
                self.assertEqual(seen, {(200, "locked-before")}, "while the lock is held")
                db.execute("ROLLBACK")
            finally:
                db.close()
            out, err = p.communicate(timeout=30)
            took = time.monotonic() - t0 if t_done is None else t_done
            err = err.decode(errors="replace")
            self.assertEqual(p.returncode, want_rc, err)
            nvs = self.state()[1]
            if want_rc == 0:
                self.assertGreaterEqual(took, hold - 0.2, "did not wait for the lock")
                self.assertEqual(nvs.get("lockwait0"), "v")
            else:
                self.assertRegex(err, r"^certgate: .*(busy|locked)", err)
                self.assertNotIn("lockwait1", nvs)
                self.assertIsNotNone(t_done, "the CLI did not give up while the lock was held")
                self.assertTrue(4.0 <= took <= 15, "gave up after %.1f s (busy timeout "
                                "5 s)" % took)
                sys.stderr.write("\n  [lock] CLI gave up after %.1f s: %s\n" % (
                    took, err.strip()))
        self.gw.cli("nv", "set", "lockwait1", "v")
        time.sleep(0.6)
        self.assertEqual(self.request_gen(), (200, "locked-before"))
        self.assertEqual(self.gw.stderr().count("reload:"), reloads,
                         "the gateway saw the uncommitted change")
        self.assert_store_ok("after a held lock")

    # ---- 6. SIGKILL of writers at random moments

    def expected_writes(self, started, ok, failed):
        """From the writer logs: {('api'|'nv'|'policy', key): [(index, value,
        status)]} in index order; status 'ok', 'fail' or '?' (started, never
        finished: killed)."""
        w = {}
        for i in sorted(started):
            st = "ok" if i in ok else ("fail" if i in failed else "?")
            k = i % 4
            if k == 0:
                key, val = ("api", "w%d" % i), self.b.url("/w%d" % i)
            elif k == 1:
                key, val = ("nv", "wn%d" % i), "v%d" % i
            elif k == 2:
                key, val = ("policy", "w%d" % (i - 2)), "gen-%d" % i
            else:
                key, val = ("nv", "wn%d" % (i - 2)), "u%d" % i
            w.setdefault(key, []).append((i, val, st))
        return w

    def check_writes(self, writes, label):
        apis, nvs = self.state()
        pols = policies_of(self.gw.store)
        lost = []
        for (kind, key), ws in writes.items():
            if kind == "api":
                have = apis.get(key)
            elif kind == "nv":
                have = nvs.get(key)
            else:
                p = pols.get(key)
                have = None
                if p is not None:
                    for _, val, _ in ws:
                        if ">%s<" % val in p:
                            have = val
            oks = [x for x in ws if x[2] == "ok"]
            # Allowed: the last write that exited 0, or any later one that
            # was killed (committed or not: atomic either way).
            allowed = set()
            if oks:
                allowed.add(oks[-1][1])
                later = [x for x in ws if x[0] > oks[-1][0]]
            else:
                allowed.add(None)
                later = ws
            allowed |= {x[1] for x in later if x[2] == "?"}
            if have not in allowed:
                lost.append((kind, key, have, ws))
        self.assertEqual(lost, [], "%s: committed writes lost or torn" % label)

    def test_6_sigkill_writer_loop(self):
        log = os.path.join(self.tmp, "writer.log")
        open(log, "a").close()  # a writer may die before it opens it
        rng = random.Random(int(time.time()))
        started, ok, failed = set(), set(), {}
        reloads = self.gw.stderr().count("reload:")
        kills = 0
        t0 = time.monotonic()
        for rnd in range(8):
            p = subprocess.Popen([sys.executable, "-c", WRITER, self.gw.bin, self.gw.store,
                                  str(100000 + rnd * 1000), "1000", log, self.tmp,
                                  self.b.url("")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 start_new_session=True)
            time.sleep(rng.uniform(0.25, 0.9))
            if p.poll() is None:
                # the writer and the certgate it runs right now: its own group
                os.killpg(p.pid, signal.SIGKILL)
                kills += 1
            p.wait(10)
            p.stderr.close()
            time.sleep(0.05)  # the certgate child dies with its group
            with open(log) as f:
                for ln in f:
                    parts = ln.split(" ", 3)
                    if len(parts) < 2 or not parts[1].strip().isdigit():
                        continue  # a line cut by the kill
                    i = int(parts[1])
                    if parts[0] == "start":
                        started.add(i)
                    elif parts[0] == "ok":
                        ok.add(i)
                    elif parts[0] == "fail":
                        failed[i] = ln.strip()
            label = "after kill %d" % (rnd + 1)
            self.assert_store_ok(label)
            self.check_writes(self.expected_writes(started, ok, failed), label)
            # the running gateway applies what was committed
            newest = max([i for i in ok if i % 4 == 0], default=None)
            if newest is not None:
                self.assertTrue(poll(lambda: self.request_gen("/w%d/x" % newest)[0] == 200,
                                     1.5), "%s: API w%d not served" % (label, newest))
            # the CLI still works
            self.gw.cli("nv", "set", "probe%d" % rnd, "alive")
            self.assertEqual(self.state()[1].get("probe%d" % rnd), "alive")
        # A command that failed may only fail for a reason of its own (the
        # api of a policy set was never created because its set was killed),
        # never because the store was locked or broken.
        bad = [f for i, f in failed.items()
               if not (i % 4 == 2 and (i - 2) not in ok) and
               not (i % 4 == 3 and (i - 2) not in ok)]
        self.assertEqual(bad, [], "writer commands failed")
        self.assertGreaterEqual(len(ok), 8, "the writers hardly wrote anything")
        self.assertEqual(self.gw.stderr().count("reload:"), reloads,
                         "a killed writer left a state the gateway could not load")
        sys.stderr.write("\n  [writer kills] %d kills, %d commands ok, %d failed (after a "
                         "killed predecessor), %d cut by a kill, %.1f s\n" % (
                             kills, len(ok), len(failed), len(started) - len(ok) - len(failed),
                             time.monotonic() - t0))
        self.assertGreaterEqual(kills, 6)

    def test_6_sigkill_certgate_mid_write(self):
        rng = random.Random(int(time.time()) + 1)
        # Start near the time one write takes here; then the kill delay
        # follows the end of the commands (shorter after one that finished,
        # longer after one that was killed), so kills land around the
        # commit, whatever the load on the machine.
        t = time.monotonic()
        self.gw.cli("api", "set", "m-warm", "--path", "m-warm", "--backend",
                    "http://127.0.0.1:9/m")
        delay = time.monotonic() - t
        committed = {}   # key -> value, from exit 0
        uncertain = {}   # key -> value of a killed command
        killed = finished = landed = 0  # landed: killed after its commit
        end = time.monotonic() + 30
        for i in range(80):
            if (killed >= 12 and finished >= 4) or time.monotonic() > end:
                break
            k = i % 3
            if k == 0:
                key, val = ("api", "m%d" % i), "http://127.0.0.1:9/m%d" % i
                cmd = ["api", "set", "m%d" % i, "--path", "m%d" % i, "--backend", val]
            elif k == 1:
                key, val = ("nv", "mn%d" % i), "x%d" % i
                cmd = ["nv", "set", "mn%d" % i, val]
            else:
                key, val = ("nv", "mshared"), "s%d" % i
                cmd = ["nv", "set", "mshared", val]
            p = subprocess.Popen([self.gw.bin, "--store", self.gw.store] + cmd,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(delay * rng.uniform(0.7, 1.3))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            rc = p.wait(30)
            err = p.stderr.read().decode(errors="replace")
            p.stderr.close()
            if rc == 0:
                finished += 1
                committed[key] = val
                uncertain.pop(key, None)
                delay *= 0.8
            elif rc == -signal.SIGKILL:
                killed += 1
                uncertain[key] = val
                delay *= 1.2
            else:
                self.fail("%s exited %d: %s" % (cmd, rc, err))
            label = "after command %d (rc %d)" % (i, rc)
            self.assert_store_ok(label)
            apis, nvs = self.state()
            for (kind, name), want in list(committed.items()) + list(uncertain.items()):
                have = (apis if kind == "api" else nvs).get(name)
                allowed = {committed.get((kind, name))}
                if (kind, name) in uncertain:
                    allowed.add(uncertain[(kind, name)])
                self.assertIn(have, allowed, "%s: %s %s" % (label, kind, name))
                # settle what a killed command left, for the next rounds
                if (kind, name) in uncertain:
                    if have == uncertain[(kind, name)]:
                        landed += 1
                    committed[(kind, name)] = have
                    del uncertain[(kind, name)]
        self.gw.cli("api", "set", "m-after", "--path", "m-after", "--backend",
                    "http://127.0.0.1:9/a")
        self.assertEqual(self.state()[0].get("m-after"), "http://127.0.0.1:9/a")
        sys.stderr.write("\n  [certgate kills] %d writes killed (%d of them after their "
                         "commit), %d ran to the end; last delay %.0f ms\n" % (
                             killed, landed, finished, delay * 1000))
        self.assertGreaterEqual(killed, 5, "hardly any command was killed")
        self.assertGreaterEqual(finished, 3, "hardly any command ran to its end")

    # ---- 7. SIGKILL of the gateway during traffic and writes

    def request_gen(self, path="/dur/x", gw=None):
        c = (gw or self.gw).tls(sni=HOST, timeout=5)
        try:
            c.send(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, HOST)).encode())
            r = c.read_response(timeout=5)
            return r.status, r.headers.get("x-saw-gen")
        finally:
            c.close()

    def restart_after_sigkill(self, gw, name):
        """SIGKILL gw, then start it again on the same store (a fresh stderr
        file: 'ready' is looked for there)."""
        gw.proc.send_signal(signal.SIGKILL)
        self.assertEqual(gw.proc.wait(10), -signal.SIGKILL)
        old_err = gw.stderr()
        for m in cgtest.SANITIZER_MARKERS:
            self.assertNotIn(m, old_err)
        gw.errf.close()
        gw.stderr_path = os.path.join(gw.dir, "stderr-%s.log" % name)
        try:
            gw.start()
        except AssertionError:
            gw.done = True  # it is not running: nothing for the class teardown to check
            raise

    def test_7_restart_on_any_configuration_the_cli_accepted(self):
        # What the CLI committed, a restarted gateway must start on. Policies
        # with authentication-certificate: naming a certificate never
        # uploaded (the CLI must refuse it, or the restart must work), then
        # one uploaded with its key (stored; SIGKILL; restart serves it).
        g = cgtest.Gateway(self.tmp, self.pki, hosts=[{"name": HOST, "default": True}],
                           apis=[{"id": "ac", "path": "ac", "backend": self.b.url("/ac")}],
                           workers=1, serve_args=["--access-log", "off"])
        self.gateways.append(g)
        g.start()
        cf = self.pki.client("ac-cert")
        pem = os.path.join(self.tmp, "ac-cert.pem")
        with open(pem, "w") as out:
            for p in (cf.leaf, cf.key):
                with open(p) as f:
                    out.write(f.read())
        for step, gen, upload in (("missing", "ac1", False), ("uploaded", "ac2", True)):
            if upload:
                g.cli("cert", "add", "ac-cert", pem)
            text = POLICY.format(gen=gen).replace(
                "<base />\n    <set-header",
                '<base />\n    <authentication-certificate thumbprint="%s" />\n    '
                '<set-header' % cf.thumbprint, 1)
            self.assertIn("authentication-certificate", text)
            path = os.path.join(self.tmp, "ac-%s.xml" % step)
            with open(path, "w") as f:
                f.write(text)
            cp = g.cli("policy", "set", "--api", "ac", path, check=False)
            if cp.returncode != 0:  # refused: nothing was committed
                self.assertFalse(upload, cp.stderr.decode())
                self.assertRegex(cp.stderr.decode(), r":\d+:\d+: ")
                continue
            try:
                self.restart_after_sigkill(g, "ac-" + step)
            except AssertionError as e:
                self.fail("%s: the gateway does not start on a store the CLI accepted:\n%s" %
                          (step, str(e)[-600:]))
            self.assertEqual(self.request_gen("/ac/x", gw=g), (200, gen), step)
            self.assert_store_ok("after restart (%s)" % step)

    def test_7_sigkill_gateway_during_traffic_and_writes(self):
        pol = os.path.join(self.tmp, "g7.xml")
        t0 = time.monotonic()
        for cycle in range(2):
            stop = threading.Event()
            last = {"gen": None, "apis": [], "errors": []}
            traffic = {"n": 0}

            def writer():
                for g in range(1000):
                    if stop.is_set():
                        return
                    gen = "c%d-%d" % (cycle, g)
                    with open(pol + gen, "w") as f:
                        f.write(POLICY.format(gen=gen))
                    cp = self.gw.cli("policy", "set", "--api", "dur", pol + gen, check=False)
                    if cp.returncode != 0:
                        last["errors"].append(cp.stderr.decode())
                        return
                    last["gen"] = gen
                    aid = "k%d-%d" % (cycle, g)
                    cp = self.gw.cli("api", "set", aid, "--path", aid, "--backend",
                                     self.b.url("/" + aid), check=False)
                    if cp.returncode != 0:
                        last["errors"].append(cp.stderr.decode())
                        return
                    last["apis"].append(aid)

            def load():
                port = self.gw.port
                for _ in range(100000):
                    if stop.is_set():
                        return
                    c = None
                    try:
                        c = cgtest.connect_tls(port, sni=HOST, cafile=self.pki.root_pem,
                                               timeout=2)
                        for _ in range(50):
                            c.send(b"GET /dur/t HTTP/1.1\r\nHost: open.test\r\n\r\n")
                            c.read_response(timeout=2)
                            traffic["n"] += 1
                    except Exception:
                        time.sleep(0.01)  # the gateway is gone: that is the point
                    finally:
                        if c is not None:
                            c.close()

            ts = [threading.Thread(target=writer, daemon=True)] + \
                 [threading.Thread(target=load, daemon=True) for _ in range(2)]
            for t in ts:
                t.start()
            time.sleep(1.0)
            n_before = traffic["n"]
            self.gw.proc.send_signal(signal.SIGKILL)
            self.assertEqual(self.gw.proc.wait(10), -signal.SIGKILL)
            time.sleep(0.3)  # writes go on while no gateway runs
            stop.set()
            for t in ts:
                t.join(20)
            self.assertEqual(last["errors"], [], "a write failed around the gateway's kill")
            self.assertIsNotNone(last["gen"], "no write committed before the kill")
            self.assertGreater(n_before, 0, "no traffic before the kill")
            self.assert_store_ok("after SIGKILL of the gateway (cycle %d)" % cycle)
            # restart on the same store: a fresh stderr file ("ready" is looked for there)
            for m in cgtest.SANITIZER_MARKERS:
                self.assertNotIn(m, self.gw.stderr())
            self.gw.errf.close()
            self.gw.stderr_path = os.path.join(self.gw.dir, "stderr-restart%d.log" % cycle)
            self.gw.start()
            self.assertEqual(self.request_gen(), (200, last["gen"]),
                             "restarted gateway does not serve the last committed policy")
            for aid in (last["apis"][0], last["apis"][-1]):
                st, _ = self.request_gen("/%s/x" % aid)
                self.assertEqual(st, 200, "API %s committed before the restart is not "
                                 "served" % aid)
            self.assert_store_ok("after restart (cycle %d)" % cycle)
            sys.stderr.write("\n  [gateway kill %d] %d requests before the kill, last gen %s, "
                             "%d APIs written\n" % (cycle, n_before, last["gen"],
                                                    len(last["apis"])))
        self.assertLess(time.monotonic() - t0, 60)


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
