"""Fleet-wide throttling (docs/fleet.md): three real gateways on one shared
SQLite store send each other their rate-limit and quota counts over UDP on
loopback, signed with a shared key; requests spread over them are limited
as one. A gateway with another key is refused (metric, log line) and its
calls do not count; a peer that never answers is logged once and the
gateway keeps limiting alone; bad key files refuse to start; without the
fleet flags, counters stay per process.

Windows: with the fleet on, a rate-limit window is the k-th multiple of its
period since the Unix epoch (so every gateway agrees on it); a test that
needs one window waits until the current one has 20 s left at least."""

import datetime
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

EXPECTED_FAILURES = set()
TOKEN = "fleet-test-admin-token-0123456789abcdef"
FLEET_KEY = "5f1e7c0d2b9a48e3a6c1d0f7b2e9c4a85f1e7c0d2b9a48e3a6c1d0f7b2e9c4a8"
OTHER_KEY = "0000000000000000000000000000000000000000000000000000000000000001"
SLACK = 2  # calls a paced client may get past a fleet of three (docs/fleet.md)
PACE = 0.25  # s between paced calls: five of the default 50 ms intervals


def doc(inbound):
    return ("<policies><inbound><base />%s</inbound><backend><base /></backend>"
            "<outbound><base /></outbound><on-error><base /></on-error></policies>" % inbound)


RATE = doc('<rate-limit calls="10" renewal-period="60" />')
QUOTA = doc('<quota-by-key calls="10" renewal-period="300" '
            'counter-key="@(context.Request.Headers.GetValueOrDefault("X-Client", ""))" />')
WRONG = doc('<rate-limit calls="5" renewal-period="60" />')
PLAIN = doc('<rate-limit calls="3" renewal-period="60" />')


def udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((cgtest.LOOPBACK, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_window(period, need=20.0):
    """Sleeps into the next wall-clock window when this one has less than
    need seconds left."""
    left = period - (time.time() % period)
    if left < need:
        time.sleep(left + 0.3)


def metrics(port):
    return cgtest.scrape_metrics(port, TOKEN)[2]


def metric(text, name, labels=""):
    m = re.search(r"^%s%s (\d+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return int(m.group(1)) if m else None


class FleetLimits(cgtest.GatewayTestCase):

    @classmethod
    def write(cls, name, text):
        p = os.path.join(cls.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.tokf = cls.write("token", TOKEN)
        cls.keyf = cls.write("fleet.key", FLEET_KEY + "\n")
        cls.otherf = cls.write("other.key", OTHER_KEY + "\n")
        cls.alice = cls.pki.client("alice")
        apis = ["rate", "quota", "wrong", "plain"]
        cls.udp = [udp_port() for _ in range(4)]
        cls.dead = udp_port()  # nobody listens here
        cls.admin = []
        first = None
        cls.fleet = []
        for i in range(3):
            peers = []
            for j in range(3):
                if j != i:
                    peers += ["--fleet-peer", "127.0.0.1:%d" % cls.udp[j]]
            g = cls.start_gw(first, ["--fleet-listen", "127.0.0.1:%d" % cls.udp[i],
                                     "--fleet-key-file", cls.keyf] + peers, apis)
            first = first or g
            cls.fleet.append(g)
        # the intruder: same store, another key, sends to gateway 0
        cls.intruder = cls.start_gw(first, ["--fleet-listen", "127.0.0.1:%d" % cls.udp[3],
                                            "--fleet-key-file", cls.otherf,
                                            "--fleet-peer", "127.0.0.1:%d" % cls.udp[0],
                                            "--fleet-peer", "127.0.0.1:%d" % cls.dead], apis)
        # two gateways without the fleet flags
        cls.alone = [cls.start_gw(first, [], apis) for _ in range(2)]
        for api, text in (("rate", RATE), ("quota", QUOTA), ("wrong", WRONG), ("plain", PLAIN)):
            first.set_policy(text, "--api", api)
        time.sleep(1.0)  # every gateway polls the store every 250 ms

    @classmethod
    def start_gw(cls, first, fleet_args, apis):
        port = cgtest.free_port()
        kw = {}
        if first is None:
            kw = dict(hosts=[{"name": "secure.test", "default": True}],
                      apis=[{"id": a, "path": a, "backend": cls.b.url("/" + a)} for a in apis])
        else:
            kw = dict(store=first.store)
        g = cls.gateway(workers=2, serve_args=["--admin", "127.0.0.1:%d" % port,
                                               "--admin-token-file", cls.tokf] + fleet_args, **kw)
        g.admin_port = port
        return g

    def call(self, g, path, headers=()):
        return g.curl(path, host="secure.test", headers=headers).status

    def spread(self, path, rounds, headers=()):
        """Calls path round-robin over the fleet, PACE apart; returns the
        statuses per gateway."""
        out = [[] for _ in self.fleet]
        for r in range(rounds):
            for i, g in enumerate(self.fleet):
                out[i].append(self.call(g, path, headers))
                time.sleep(PACE)
        return out

    def test_rate_limit_holds_across_the_fleet(self):
        wait_for_window(60)
        statuses = self.spread("/rate/x", 6)  # 18 calls
        ok = sum(s.count(200) for s in statuses)
        self.assertGreaterEqual(ok, 10, statuses)
        self.assertLessEqual(ok, 10 + SLACK, statuses)
        time.sleep(0.5)
        after = []
        for g in self.fleet:
            res = g.curl("/rate/x", host="secure.test")
            self.assertEqual(res.status, 429, res)
            after.append(int(res.headers.get("Retry-After")))
        # one window on every gateway: the same end, to the second
        self.assertLessEqual(max(after) - min(after), 1, after)
        self.assertTrue(1 <= min(after) <= 60, after)
        for g in self.fleet:
            m = metrics(g.admin_port)
            self.assertGreater(metric(m, "certgate_fleet_datagrams_sent_total"), 0, m)
            self.assertGreater(metric(m, "certgate_fleet_datagrams_received_total"), 0, m)
            self.assertGreater(metric(m, "certgate_fleet_counts_total", '{result="applied"}'), 0, m)
            self.assertEqual(metric(m, "certgate_fleet_peers"), 2, m)
            self.assertEqual(metric(m, "certgate_fleet_peers_up"), 2, m)

    def test_quota_by_key_holds_across_the_fleet(self):
        wait_for_window(300)
        statuses = self.spread("/quota/x", 6, headers=["X-Client: alice"])
        ok = sum(s.count(200) for s in statuses)
        self.assertGreaterEqual(ok, 10, statuses)
        self.assertLessEqual(ok, 10 + SLACK, statuses)
        time.sleep(0.5)
        for g in self.fleet:
            self.assertEqual(self.call(g, "/quota/x", ["X-Client: alice"]), 403)
        # another key has its own budget, on any gateway
        self.assertEqual(self.call(self.fleet[1], "/quota/x", ["X-Client: bob"]), 200)

    def test_wrong_key_is_refused_and_does_not_count(self):
        g0 = self.fleet[0]
        before = metric(metrics(g0.admin_port), "certgate_fleet_datagrams_rejected_total", '{reason="mac"}')
        wait_for_window(60)
        # the intruder limits alone: 5 calls, then 429
        self.assertEqual([self.call(self.intruder, "/wrong/x") for _ in range(6)], [200] * 5 + [429])
        after = cgtest.poll(lambda: (metric(metrics(g0.admin_port), "certgate_fleet_datagrams_rejected_total",
                                            '{reason="mac"}') or 0) > before and True, timeout=5)
        self.assertTrue(after, "gateway 0 did not count the intruder's datagrams as refused")
        time.sleep(0.3)
        # its 5 calls were not counted on gateway 0 (nor shared from there)
        self.assertEqual([self.call(g0, "/wrong/x") for _ in range(5)], [200] * 5)
        time.sleep(0.3)
        self.assertEqual(self.call(self.fleet[1], "/wrong/x"), 429)
        err = g0.stderr()
        self.assertRegex(err, r"fleet: refused \d+ datagram\(s\) since the last such line \(one per 10 s at most\); "
                              r"the last from 127\.0\.0\.1:%d "
                              r"\(bad MAC: not signed with this gateway's fleet key\)" % self.udp[3])
        # rate-limited: one line per 10 s at most, not one per datagram
        # (the intruder sends a heartbeat a second)
        stamps = [datetime.datetime.strptime(m, "%Y-%m-%dT%H:%M:%S.%fZ") for m in
                  re.findall(r"^(\S+) warn fleet: refused", err, re.M)]
        self.assertTrue(stamps, err)
        for a, b in zip(stamps, stamps[1:]):
            self.assertGreaterEqual((b - a).total_seconds(), 9.9, err)
        for g in self.fleet + [self.intruder]:
            self.assertNotIn(FLEET_KEY, g.stderr())
            self.assertNotIn(OTHER_KEY, g.stderr())

    def test_silent_peer_logged_once_and_limits_stay_local(self):
        line = "fleet: peer 127.0.0.1:%d: nothing heard for 3 s" % self.dead
        self.assertTrue(cgtest.poll(lambda: line in self.intruder.stderr(), timeout=10),
                        self.intruder.stderr()[-2000:])
        time.sleep(1.5)
        self.assertEqual(self.intruder.stderr().count(line), 1)
        # the gateway 0 peer never answers the intruder either (it refuses it)
        m = metrics(self.intruder.admin_port)
        self.assertEqual(metric(m, "certgate_fleet_peers_up"), 0, m)

    def test_without_the_flags_counters_stay_per_process(self):
        wait_for_window(60)
        for g in self.alone:
            self.assertEqual([self.call(g, "/plain/x") for _ in range(4)], [200] * 3 + [429])
            self.assertIsNone(metric(metrics(g.admin_port), "certgate_fleet_datagrams_sent_total"))
            self.assertNotIn("fleet:", g.stderr())


class FleetRefusals(unittest.TestCase):
    """serve refuses bad fleet options before it starts."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.tmp = tempfile.mkdtemp(prefix="cgit-fleet-")
        cls.store = os.path.join(cls.tmp, "store.db")
        cls.bin = cgtest.certgate_path()

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def serve(self, *fleet):
        cp = cgtest.run([self.bin, "--store", self.store, "serve", "--listen",
                         "127.0.0.1:%d" % cgtest.free_port()] + list(fleet), check=False, timeout=30)
        return cp.returncode, cp.stderr.decode()

    def key(self, text):
        p = os.path.join(self.tmp, "k")
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_bad_key_files(self):
        listen = ["--fleet-listen", "127.0.0.1:%d" % udp_port()]
        missing = os.path.join(self.tmp, "missing.key")
        rc, err = self.serve(*listen, "--fleet-key-file", missing)
        self.assertEqual(rc, 1, err)
        self.assertIn("certgate serve: fleet key file '%s': No such file or directory" % missing, err)
        short = self.key("too-short-key\n")
        rc, err = self.serve(*listen, "--fleet-key-file", short)
        self.assertEqual(rc, 1, err)
        self.assertIn("certgate serve: fleet key file '%s': holds 13 bytes; a fleet key needs at least 32 "
                      "(e.g. openssl rand -hex 32 > FILE)" % short, err)
        self.assertNotIn("too-short-key", err.replace(short, ""))
        self.assertNotIn("ready", err)
        rc, err = self.serve(*listen, "--fleet-key-file", self.tmp)
        self.assertEqual(rc, 1, err)
        self.assertIn("not a regular file", err)

    def test_incomplete_or_bad_options(self):
        good = self.key(FLEET_KEY)
        rc, err = self.serve("--fleet-peer", "127.0.0.1:9", "--fleet-key-file", good)
        self.assertEqual(rc, 2, err)
        self.assertIn("the fleet options need --fleet-listen ADDR:PORT and --fleet-key-file FILE", err)
        rc, err = self.serve("--fleet-listen", "127.0.0.1:%d" % udp_port())
        self.assertEqual(rc, 2, err)
        rc, err = self.serve("--fleet-listen", "127.0.0.1:%d" % udp_port(), "--fleet-key-file", good,
                             "--fleet-peer", "peer.example:4290")
        self.assertEqual(rc, 2, err)
        self.assertIn("--fleet-peer 'peer.example:4290'", err)
        rc, err = self.serve("--fleet-listen", "127.0.0.1:%d" % udp_port(), "--fleet-key-file", good,
                             *["--fleet-peer", "127.0.0.1:9"] * 65)
        self.assertEqual(rc, 2, err)
        self.assertIn("--fleet-peer: at most 64", err)
        rc, err = self.serve("--fleet-listen", "127.0.0.1:%d" % udp_port(), "--fleet-key-file", good,
                             "--fleet-interval-ms", "5")
        self.assertEqual(rc, 2, err)
        self.assertIn("--fleet-interval-ms: '5' must be a whole number in [10, 1000]", err)


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
