"""Backend pools and circuit breakers (APIM backends of type Pool and
circuitBreaker rules) end to end: the real gateway with two workers over
TLS, real loopback backends, set-backend-service backend-id. Spreading by
weight, priority groups falling over when their breakers trip, a breaker
tripping after `count` failures, 503 while open, closing again after
tripDuration, Retry-After with acceptRetryAfter, metrics; and the
refusals of the CLI, the admin API and APIOps, which leave the store as it
was, and an export/import round trip.

A configuration change gives the gateway a new snapshot and fresh breaker
state (docs/backend-pools.md), so the breaker tests change nothing while
they run."""

import http.client
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402

TOKEN = "pools-test-token-0123456789abcdef"


def named(name, status=200, headers=()):
    """A handler answering status with the backend's name in X-Backend."""
    def h(req):
        return cgtest.BResp(status, name.encode(), [("X-Backend", name)] + list(headers))
    return h


def breaker(count, trip, ranges=((500, 599),), accept=False, interval="PT1M"):
    return json.dumps({"rules": [{
        "name": "trip-on-errors",
        "failureCondition": {"count": count, "interval": interval,
                             "statusCodeRanges": [{"min": a, "max": b} for a, b in ranges]},
        "tripDuration": trip, "acceptRetryAfter": accept}]})


def policy(backend_id):
    return ("<policies><inbound><base /><set-backend-service backend-id=\"%s\" /></inbound>"
            "<backend><base /></backend><outbound><base /></outbound>"
            "<on-error><base /></on-error></policies>" % backend_id)


class Pools(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        names = ["w1", "w2", "r1", "r2", "r3", "f1", "f2", "s1", "solo", "ra", "nora", "keep"]
        cls.be = {n: cls.backend(named(n)) for n in names}
        for n in ("f1", "f2", "solo", "keep"):
            cls.be[n].set_handler(named(n, 500))
        cls.be["ra"].set_handler(named("ra", 429, [("Retry-After", "2")]))
        cls.be["nora"].set_handler(named("nora", 429, [("Retry-After", "2")]))
        cls.admin_port, admin_args = cgtest.admin_listener(cls.tmp, TOKEN)
        apis = ["weighted", "prio", "solo", "ra", "nora", "keep", "rr"]
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True}],
            apis=[{"id": a, "path": a, "backend": "http://127.0.0.1:9/"} for a in apis],
            workers=2,
            serve_args=admin_args)
        cli = cls.gw.cli
        for n in ("w1", "w2", "r1", "r2", "r3", "s1"):
            cli("backend", "set", n, "--url", cls.be[n].url())
        for n in ("f1", "f2"):
            cli("backend", "set", n, "--url", cls.be[n].url(),
                "--circuit-breaker", breaker(2, "PT1H"))
        cli("backend", "set", "solo", "--url", cls.be["solo"].url(),
            "--circuit-breaker", breaker(3, "PT3S"))
        cli("backend", "set", "ra", "--url", cls.be["ra"].url(),
            "--circuit-breaker", breaker(1, "PT1H", ((429, 429),), accept=True))
        cli("backend", "set", "nora", "--url", cls.be["nora"].url(),
            "--circuit-breaker", breaker(1, "PT1H", ((429, 429),), accept=False))
        cli("backend", "set", "keep", "--url", cls.be["keep"].url(),
            "--circuit-breaker", breaker(1, "PT1H"))
        cli("backend", "set", "weighted", "--pool", "w1:0:3,w2:0:1")
        cli("backend", "set", "rr", "--pool", "r1,r2,r3")
        cli("backend", "set", "prio", "--pool", "s1:2,f1:1,f2:1")
        for a in apis:
            cls.gw.set_policy(policy(a), "--api", a)
        # Applied when the last API's policy (rr: no breakers) routes to its pool.
        if not cgtest.poll(lambda: cls.gw.curl("/rr/x").status == 200, timeout=10):
            raise AssertionError("the pool policies were not applied")
        time.sleep(0.5)
        for b in cls.be.values():
            b.reset(b.handler)

    def call(self, api):
        return self.gw.curl("/%s/x" % api)

    def metrics(self):
        return cgtest.scrape_metrics(self.admin_port, TOKEN)[2]

    def test_weights_spread_requests(self):
        seen = {"w1": 0, "w2": 0}
        for _ in range(80):
            r = self.call("weighted")
            self.assertEqual(r.status, 200, r)
            seen[r.headers.get("X-Backend")] += 1
        # 3:1 per worker cursor; two workers interleave: within +-8.
        self.assertTrue(52 <= seen["w1"] <= 68, seen)
        self.assertEqual(seen["w1"] + seen["w2"], 80)

    def test_round_robin_without_weights(self):
        seen = {"r1": 0, "r2": 0, "r3": 0}
        for _ in range(60):
            r = self.call("rr")
            self.assertEqual(r.status, 200, r)
            seen[r.headers.get("X-Backend")] += 1
        for n, k in seen.items():
            self.assertTrue(14 <= k <= 26, seen)

    def test_priority_group_falls_over_when_its_breakers_trip(self):
        # f1 and f2 (priority 1) answer 500: each trips after 2 failures;
        # only then does s1 (priority 2) take requests.
        statuses = [self.call("prio").status for _ in range(12)]
        self.assertEqual(self.be["s1"].count(), statuses.count(200))
        self.assertEqual(statuses[:4], [500] * 4, statuses)
        self.assertEqual(statuses[4:], [200] * 8, statuses)
        self.assertEqual(self.be["f1"].count() + self.be["f2"].count(), 4)
        m = self.metrics()
        self.assertIn('certgate_backend_circuit_breaker_open{backend="f1"} 1', m)
        self.assertIn('certgate_backend_circuit_breaker_trips_total{backend="f2"} 1', m)

    def test_single_backend_trips_then_closes_after_trip_duration(self):
        for _ in range(3):
            r = self.call("solo")
            self.assertEqual(r.status, 500, r)
        self.assertEqual(self.be["solo"].count(), 3)
        tripped = time.monotonic()
        r = self.call("solo")
        self.assertEqual(r.status, 503, r)
        self.assertApimError(503, r.body, r.headers, "Service Unavailable")
        self.assertEqual(self.be["solo"].count(), 3)  # not sent
        self.assertIn("certgate_backend_unavailable_total", self.metrics())
        # Open for tripDuration (3 s), then the backend is used again.
        self.assertTrue(cgtest.poll(lambda: self.call("solo").status == 500, timeout=8, step=0.3))
        self.assertGreaterEqual(time.monotonic() - tripped, 2.5)
        self.assertEqual(self.be["solo"].count(), 4)

    def test_retry_after_sets_the_trip_duration(self):
        r = self.call("ra")
        self.assertEqual(r.status, 429, r)
        self.assertEqual(self.call("ra").status, 503)
        r = self.call("nora")
        self.assertEqual(r.status, 429, r)
        self.assertEqual(self.call("nora").status, 503)
        # ra: Retry-After: 2 accepted -> open 2 s; nora: tripDuration PT1H.
        self.assertTrue(cgtest.poll(lambda: self.call("ra").status == 429, timeout=6, step=0.3))
        self.assertEqual(self.be["ra"].count(), 2)
        self.assertEqual(self.call("nora").status, 503)
        self.assertEqual(self.be["nora"].count(), 1)


    def applied_after(self, change):
        """Runs change, then waits until the gateway applied a new configuration."""
        before = self.gw.stderr().count("configuration generation")
        change()
        self.assertTrue(cgtest.poll(lambda: self.gw.stderr().count("configuration generation") > before, timeout=10))

    def test_configuration_change_keeps_a_tripped_breaker(self):
        self.assertEqual(self.call("keep").status, 500)
        self.assertEqual(self.call("keep").status, 503)
        # An unrelated change: the new configuration takes the breaker over.
        self.applied_after(lambda: self.gw.cli("nv", "set", "unrelated", "1"))
        self.assertEqual(self.call("keep").status, 503)
        self.assertEqual(self.be["keep"].count(), 1)
        self.assertIn('certgate_backend_circuit_breaker_open{backend="keep"} 1', self.metrics())
        # A changed rule is another breaker: closed, counts empty.
        self.applied_after(lambda: self.gw.cli("backend", "set", "keep", "--circuit-breaker",
                                               breaker(1, "PT2H")))
        self.assertEqual(self.call("keep").status, 500)
        self.assertEqual(self.be["keep"].count(), 2)
        self.assertEqual(self.call("keep").status, 503)


class Refusals(cgtest.GatewayTestCase):
    """Bad pools and breakers through the three doors: the exact message,
    the exit status or HTTP status, and nothing changed."""

    @classmethod
    def setup_gateways(cls):
        cls.b = cls.backend()
        cls.admin_port, admin_args = cgtest.admin_listener(cls.tmp, TOKEN)
        cls.gw = cls.gateway(
            hosts=[{"name": "open.test", "default": True}],
            serve_args=admin_args)
        cls.gw.cli("backend", "set", "m1", "--url", cls.b.url("/1"),
                   "--circuit-breaker", breaker(3, "PT30S"))
        cls.gw.cli("backend", "set", "m2", "--url", cls.b.url("/2"))
        cls.gw.cli("backend", "set", "pool1", "--pool", "m1:1:3,m2:2")

    def listing(self):
        return self.gw.cli("backend", "list", "--json").stdout

    def cli_refused(self, msg, *args):
        before = self.listing()
        cp = self.gw.cli("backend", "set", *args, check=False)
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertEqual(cp.stderr.decode(), "certgate: %s\n" % msg)
        self.assertEqual(self.listing(), before)

    def admin(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10)
        try:
            h = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}
            c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def test_cli_refusals(self):
        self.cli_refused("pool member backend 'nope' does not exist", "p2", "--pool", "m1,nope")
        self.cli_refused("pool member backend 'pool1' is a pool; a pool's members are single "
                         "backends", "p2", "--pool", "pool1")
        self.cli_refused("pool 'p2' cannot be a member of itself", "p2", "--pool", "m1,p2")
        self.cli_refused("backend 'm1' is a member of pool 'pool1' and cannot become a pool",
                         "m1", "--pool", "m2")
        self.cli_refused("pool 'pool1' has no url (its members have theirs)",
                         "pool1", "--url", "http://127.0.0.1:9/")
        self.cli_refused("pool 'pool1' has no circuit breaker (give its members theirs)",
                         "pool1", "--circuit-breaker", breaker(1, "PT1S"))
        self.cli_refused("properties.circuitBreaker.rules[0].tripDuration 'P1M' uses years or "
                         "months, whose length varies; give days, hours, minutes or seconds (P30D)",
                         "m2", "--circuit-breaker", breaker(1, "P1M"))
        self.cli_refused("properties.circuitBreaker.rules[0].failureCondition.interval 'PT1X' "
                         "is not an ISO 8601 duration (P[nW][nD][T[nH][nM][n[.f]S]], e.g. "
                         "PT30S, PT1M, P1DT2H)",
                         "m2", "--circuit-breaker", breaker(1, "PT1S", interval="PT1X"))
        self.cli_refused("properties.circuitBreaker.rules[0].failureCondition.statusCodeRanges[0] "
                         "{min 500, max 600} must satisfy 100 <= min <= max <= 599", "m2", "--circuit-breaker", breaker(1, "PT1S", ((500, 600),)))
        two = json.loads(breaker(1, "PT1S"))
        two["rules"].append(two["rules"][0])
        self.cli_refused("properties.circuitBreaker.rules must be an array of one rule (APIM "
                         "allows one per backend)", "m2", "--circuit-breaker", json.dumps(two))
        before = self.listing()
        cp = self.gw.cli("backend", "rm", "m2", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertEqual(cp.stderr.decode(),
                         "certgate: backend 'm2' is a member of pool 'pool1'; remove it from "
                         "the pool first\n")
        self.assertEqual(self.listing(), before)
        cp = self.gw.cli("backend", "set", "p2", "--pool", "m1:101", check=False)
        self.assertEqual(cp.returncode, 2)
        self.assertIn("--pool 'm1:101': priority must be a number from 0 to 100",
                      cp.stderr.decode())

    def test_admin_shape_and_refusals(self):
        st, body = self.admin("GET", "/backends/pool1")
        self.assertEqual(st, 200)
        p = json.loads(body)["properties"]
        self.assertEqual(p["type"], "Pool")
        self.assertEqual(p["pool"], {"services": [
            {"id": "/backends/m1", "priority": 1, "weight": 3},
            {"id": "/backends/m2", "priority": 2}]})
        st, body = self.admin("GET", "/backends/m1")
        self.assertEqual(json.loads(body)["properties"]["circuitBreaker"],
                         json.loads(breaker(3, "PT30S")))
        before = self.listing()
        for props, msg in (
                ({"type": "Pool", "pool": {"services": [{"id": "/backends/m1", "weight": 101}]}},
                 "properties.pool.services[0].weight must be an integer from 0 to 100"),
                ({"type": "Pool", "pool": {"services": [{"id": "/backends/m1"},
                                                        {"id": "m1"}]}},
                 "properties.pool.services[1]: backend 'm1' is already services[0]"),
                ({"type": "Pool", "pool": {"services": [{"id": "/apis/m1"}]}},
                 "properties.pool.services[0].id must name a backend ('/backends/NAME' or "
                 "'NAME')"),
                ({"type": "Pool", "pool": {"services": [{"id": "/backends/ghost"}]}},
                 "pool member backend 'ghost' does not exist"),
                ({"type": "Pool", "pool": {"services": [{"id": "m%d" % (i % 2 + 1)}
                                                        for i in range(31)]}},
                 "properties.pool.services must be an array of 1 to 30 backends"),
                ({"url": self.b.url(), "circuitBreaker": {"rules": [{
                    "failureCondition": {"interval": "PT1M",
                                         "statusCodeRanges": [{"min": 500, "max": 599}]},
                    "tripDuration": "PT1M"}]}},
                 "properties.circuitBreaker.rules[0].failureCondition needs count or percentage "
                 "(the threshold that trips it)"),
                ({"url": self.b.url(), "circuitBreaker": {"rules": [{
                    "failureCondition": {"count": 1, "interval": "PT1M"},
                    "tripDuration": "PT1M"}]}},
                 "properties.circuitBreaker.rules[0].failureCondition needs statusCodeRanges or "
                 "errorReasons (what counts as a failure)"),
                ({"url": self.b.url(), "circuitBreaker": {"rules": [{
                    "failureCondition": {"count": 1, "interval": "PT1M", "errorReasons": ["x"]},
                    "tripDuration": "PT0S"}]}},
                 "properties.circuitBreaker.rules[0].tripDuration 'PT0S' must be at least 1 "
                 "millisecond"),
                ({"url": self.b.url(), "type": "Weird"},
                 "properties.type 'Weird' is not a backend type (\"Single\" or \"Pool\")")):
            st, body = self.admin("PUT", "/backends/bad", {"properties": props})
            self.assertEqual(st, 400, body)
            j = json.loads(body)
            self.assertEqual(j["error"]["message"], msg, j)
        self.assertEqual(self.listing(), before)
        st, _ = self.admin("PUT", "/backends/pool2", {"properties": {
            "type": "Pool", "pool": {"services": [{"id": "/backends/m2", "priority": 0}]}}})
        self.assertEqual(st, 201)
        st, _ = self.admin("DELETE", "/backends/pool2")
        self.assertEqual(st, 200)

    def test_apiops_round_trip_and_refusal(self):
        d = os.path.join(self.tmp, "export")
        cp = self.gw.cli("export", d, check=False)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        with open(os.path.join(d, "backends/pool1/backendInformation.json")) as f:
            props = json.load(f)["properties"]
        self.assertEqual(props["type"], "Pool")
        self.assertNotIn("url", props)
        fresh = os.path.join(self.tmp, "fresh.db")
        cgtest.run([self.gw.bin, "--store", fresh, "import", d])
        out = cgtest.run([self.gw.bin, "--store", fresh, "backend", "list", "--json"]).stdout
        self.assertEqual(json.loads(out), json.loads(self.listing()))
        # A bad breaker in the folder: FILE: message, nothing changed.
        info = os.path.join(d, "backends/m1/backendInformation.json")
        with open(info) as f:
            j = json.load(f)
        j["properties"]["circuitBreaker"]["rules"][0]["tripDuration"] = "soon"
        with open(info, "w") as f:
            json.dump(j, f)
        before = self.listing()
        cp = self.gw.cli("import", d, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("%s: properties.circuitBreaker.rules[0].tripDuration 'soon' is not an ISO "
                      "8601 duration" % info, cp.stderr.decode())
        self.assertEqual(self.listing(), before)


if __name__ == "__main__":
    cgtest.main()
