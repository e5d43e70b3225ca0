"""Process lifecycle and connection timeouts: header (slowloris), handshake,
body and idle timeouts; graceful stop on SIGTERM (in-flight request
completes, new connections refused, bounded by --grace, exit 0); several
workers; startup errors."""

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgtest  # noqa: E402
from cgtest import BResp  # noqa: E402

EXPECTED_FAILURES = set()

HOSTS = [{"name": "open.test", "default": True}, {"name": "secure.test", "negotiate": True}]


class TimeoutTest(cgtest.GatewayTestCase):

    @classmethod
    def setup_gateways(cls):
        cls.be = cls.backend()
        cls.gw = cls.gateway(
            hosts=HOSTS,
            apis=[{"id": "echo", "path": "echo", "backend": cls.be.url("/base"),
                   "protocols": "http,https"}],
            http_listen=True,
            serve_args=["--header-timeout", "2", "--idle-timeout", "1.5",
                        "--body-timeout", "1.5"])

    def setUp(self):
        self.be.reset()

    def slowloris(self, c):
        """Sends a request head one byte every 0.5 s (faster than any
        per-read timeout) for at most 12 s; returns (bytes sent, seconds until
        the gateway closed or None, what it answered)."""
        head = b"GET /echo/slow HTTP/1.1\r\nHost: open.test\r\nX-Pad: " + b"p" * 30 + b"\r\n\r\n"
        t0 = time.monotonic()
        sent = 0
        for i in range(len(head)):
            if time.monotonic() - t0 > 12:
                break
            try:
                c.send(head[i:i + 1])
                sent += 1
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                break
            if c.wait_closed(0.5):
                break
        closed_after = time.monotonic() - t0 if c.wait_closed(0.5) else None
        data, _ = c.read_all(0.1)
        return sent, closed_after, c, data

    def check_slowloris(self, c):
        sent, closed_after, c, data = self.slowloris(c)
        c.close()
        self.assertIsNotNone(closed_after, "slow header never closed (sent %d bytes)" % sent)
        self.assertLess(closed_after, 5.5, "closed only after %.1fs" % closed_after)
        self.assertGreater(closed_after, 1.0, "closed too early (%.1fs)" % closed_after)
        if data:
            self.assertEqual(cgtest.status_of(data), 408, data[:300])
        self.assertEqual(self.be.count(), 0)

    def test_slow_header_closed_tcp(self):
        self.check_slowloris(self.gw.tcp())

    def test_slow_header_closed_tls(self):
        self.check_slowloris(self.gw.tls(sni="open.test"))

    def test_silent_tls_handshake_closed(self):
        s = socket.create_connection(("127.0.0.1", self.gw.port), timeout=5)
        c = cgtest.Conn(s)
        t0 = time.monotonic()
        closed = c.wait_closed(8)
        c.close()
        self.assertTrue(closed, "a connection that never starts TLS must be closed")
        self.assertLess(time.monotonic() - t0, 6)

    def test_slow_body_closed(self):
        c = self.gw.tcp()
        c.send(b"POST /echo/b HTTP/1.1\r\nHost: open.test\r\nContent-Length: 10\r\n\r\nabc")
        t0 = time.monotonic()
        closed = c.wait_closed(8)
        took = time.monotonic() - t0
        data = c.buf
        c.close()
        self.assertTrue(closed, "stalled body must be closed after --body-timeout")
        self.assertLess(took, 6)
        self.assertNotIn(b"HTTP/1.1 200", data)
        for r in self.be.requests:
            self.assertNotEqual(r.body[:3], b"abc", "incomplete body reached the backend whole")

    def test_slow_backend_not_cut_by_client_timeouts(self):
        # The backend takes longer than --idle-timeout and --body-timeout:
        # those apply to the client, not to a request waiting for its answer.
        self.be.reset(lambda q: BResp(200, b"eventually", delay=2.5))
        c = self.gw.tls(sni="open.test")
        c.send(b"POST /echo/slowbe HTTP/1.1\r\nHost: open.test\r\nContent-Length: 3\r\n\r\nabc")
        r = c.read_response(timeout=10)
        c.close()
        self.assertEqual((r.status, r.body), (200, b"eventually"))

    def test_body_streaming_with_progress_is_not_cut(self):
        # Total upload time > --header-timeout and > --body-timeout, but
        # progress every 0.4 s: must succeed.
        c = self.gw.tcp()
        parts = 9
        c.send(b"POST /echo/trickle HTTP/1.1\r\nHost: open.test\r\nContent-Length: %d\r\n\r\n"
               % (parts * 100))
        for i in range(parts):
            time.sleep(0.4)
            c.send(bytes([65 + i]) * 100)
        r = c.read_response(timeout=10)
        c.close()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.be.last().body, b"".join(bytes([65 + i]) * 100 for i in range(parts)))

    def test_idle_keep_alive_closed(self):
        for tls in (False, True):
            with self.subTest(tls=tls):
                c = self.gw.tls(sni="open.test") if tls else self.gw.tcp()
                c.send(b"GET /echo/i HTTP/1.1\r\nHost: open.test\r\n\r\n")
                self.assertEqual(c.read_response().status, 200)
                # Still usable shortly after...
                time.sleep(0.3)
                c.send(b"GET /echo/i2 HTTP/1.1\r\nHost: open.test\r\n\r\n")
                self.assertEqual(c.read_response().status, 200)
                # ...then closed once idle for --idle-timeout.
                t0 = time.monotonic()
                closed = c.wait_closed(8)
                took = time.monotonic() - t0
                c.close()
                self.assertTrue(closed, "idle keep-alive connection never closed")
                self.assertGreater(took, 0.8)
                self.assertLess(took, 5)

    def test_activity_moves_the_idle_deadline(self):
        # The connection timer is re-armed lazily: a request that moves the
        # deadline later keeps the armed timer, which re-arms when it fires
        # early. Requests 0.5 s apart for 3 s (twice --idle-timeout) must all
        # get through, and the close must come a full idle timeout after the
        # last one, not at a deadline an earlier request had set.
        c = self.gw.tls(sni="open.test")
        for i in range(7):
            if i:
                time.sleep(0.5)
            c.send(b"GET /echo/a%d HTTP/1.1\r\nHost: open.test\r\n\r\n" % i)
            self.assertEqual(c.read_response().status, 200, "request %d" % i)
        t0 = time.monotonic()
        closed = c.wait_closed(8)
        took = time.monotonic() - t0
        c.close()
        self.assertTrue(closed, "idle keep-alive connection never closed")
        self.assertGreater(took, 1.3, "closed %.2fs after the last request" % took)
        self.assertLess(took, 5)


class GracefulStopTest(cgtest.GatewayTestCase):
    """Each test starts its own gateway: they stop it."""

    def start(self, delay=2.0, workers=None, serve_args=()):
        be = self.backend(lambda q: BResp(200, b"slow-ok", delay=delay))
        gw = self.gateway(hosts=HOSTS,
                          apis=[{"id": "echo", "path": "echo", "backend": be.url("/base")}],
                          serve_args=list(serve_args), workers=workers)
        return be, gw

    def in_flight(self, gw, result):
        def go():
            try:
                c = gw.tls(sni="open.test")
                c.send(b"GET /echo/inflight HTTP/1.1\r\nHost: open.test\r\n\r\n")
                result["resp"] = c.read_response(timeout=20)
                c.close()
            except Exception as e:  # reported by the test
                result["error"] = repr(e)
        t = threading.Thread(target=go, daemon=True)
        t.start()
        return t

    def test_sigterm_completes_in_flight_request_and_exits_0(self):
        be, gw = self.start(delay=3.0)
        result = {}
        t = self.in_flight(gw, result)
        self.assertEqual(len(be.wait_requests(1, timeout=10)), 1, "request never reached backend")
        gw.signal(signal.SIGTERM)
        # New connections are refused while the in-flight request is still
        # running (it ends ~3 s after it reached the backend).
        refused = False
        for _ in range(15):
            try:
                s = socket.create_connection(("127.0.0.1", gw.port), timeout=2)
                s.close()
            except (ConnectionRefusedError, ConnectionResetError):
                # reset: the connection was in a listener's accept queue when
                # the listener closed; the kernel refuses it that way
                refused = True
                break
            time.sleep(0.1)
        self.assertTrue(refused, "new connections still accepted 1.5 s after SIGTERM")
        self.assertNotIn("resp", result, "in-flight request ended before the check")
        t.join(20)
        self.assertNotIn("error", result, result)
        self.assertEqual(result["resp"].status, 200, result)
        self.assertEqual(result["resp"].body, b"slow-ok")
        code = gw.wait_exit(10)
        self.assertEqual(code, 0, gw.stderr()[-3000:])
        gw.check_clean(code)

    def test_grace_bounds_the_stop(self):
        be, gw = self.start(serve_args=["--grace", "1"], delay=15.0)
        result = {}
        t = self.in_flight(gw, result)
        self.assertEqual(len(be.wait_requests(1, timeout=10)), 1)
        t0 = time.monotonic()
        gw.signal(signal.SIGTERM)
        code = gw.wait_exit(8)
        took = time.monotonic() - t0
        self.assertIsNotNone(code, "still running 8 s after SIGTERM with --grace 1")
        self.assertLess(took, 4.5)
        t.join(10)
        self.assertNotIn("resp", result, "the request cannot have completed: %r" % result)
        self.assertEqual(code, 0, gw.stderr()[-3000:])
        gw.check_clean(code)

    def test_grace_expiry_after_another_worker_ended(self):
        # One request holds one of two workers past --grace; the other
        # worker ends (and is joined) first. The grace timer then wakes the
        # workers: waking the ended one used to abort the process (libuv's
        # async write to a closed loop). Which worker gets the connection is
        # the kernel's SO_REUSEPORT hash, so a few stops cover both orders.
        for attempt in range(4):
            be, gw = self.start(serve_args=["--grace", "1"], delay=15.0, workers=2)
            result = {}
            t = self.in_flight(gw, result)
            self.assertEqual(len(be.wait_requests(1, timeout=10)), 1)
            gw.signal(signal.SIGTERM)
            code = gw.wait_exit(8)
            t.join(10)
            self.assertEqual(code, 0, "attempt %d: %s" % (attempt, gw.stderr()[-3000:]))
            self.assertIn("grace period over", gw.stderr())
            gw.check_clean(code)

    def test_idle_connections_do_not_delay_stop(self):
        be, gw = self.start(delay=0)
        c = gw.tls(sni="open.test")
        c.send(b"GET /echo/x HTTP/1.1\r\nHost: open.test\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        t0 = time.monotonic()
        gw.signal(signal.SIGTERM)
        code = gw.wait_exit(10)
        took = time.monotonic() - t0
        self.assertTrue(c.wait_closed(2))
        c.close()
        self.assertEqual(code, 0, gw.stderr()[-3000:])
        self.assertLess(took, 3, "an idle keep-alive connection held the stop %.1fs" % took)
        gw.check_clean(code)

    def test_stop_with_connections_in_every_state(self):
        # Connections still in the handshake or the request head may be
        # waited for (up to --header-timeout), but never beyond --grace.
        be, gw = self.start(delay=0.8, workers=2, serve_args=["--grace", "3"])
        conns = []
        results = [{} for _ in range(3)]
        threads = []
        try:
            for i in range(20):  # idle keep-alive after a request
                c = gw.tls(sni="open.test" if i % 2 else "secure.test")
                conns.append(c)
            for _ in range(8):  # TCP connected, no ClientHello yet
                conns.append(cgtest.Conn(socket.create_connection(("127.0.0.1", gw.port), 5)))
            for _ in range(5):  # half a request head
                c = gw.tls(sni="open.test")
                c.send(b"GET /echo/partial HTTP/1.1\r\nHost: op")
                conns.append(c)
            for r in results:  # in flight
                threads.append(self.in_flight(gw, r))
            be.wait_requests(3, timeout=10)
            t0 = time.monotonic()
            gw.signal(signal.SIGTERM)
            code = gw.wait_exit(10)
            took = time.monotonic() - t0
        finally:
            for c in conns:
                c.close()
        for t in threads:
            t.join(10)
        self.assertEqual(code, 0, gw.stderr()[-3000:])
        self.assertLess(took, 5)
        for r in results:
            self.assertNotIn("error", r, r)
            self.assertEqual(r["resp"].status, 200)
        gw.check_clean(code)

    def test_workers_parallel_requests(self):
        be, gw = self.start(delay=0.05, workers=2)
        results = []
        lock = threading.Lock()

        def client(i):
            for j in range(6):
                try:
                    sni = "secure.test" if (i + j) % 2 else "open.test"
                    c = gw.tls(sni=sni)
                    c.send(b"GET /echo/w%d-%d HTTP/1.1\r\nHost: %s\r\n\r\n"
                           % (i, j, sni.encode()))
                    r = c.read_response(timeout=20)
                    c.close()
                    with lock:
                        results.append((r.status, r.body))
                except Exception as e:
                    with lock:
                        results.append((0, repr(e).encode()))

        ts = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        self.assertEqual(len(results), 96)
        bad = [r for r in results if r != (200, b"slow-ok")]
        self.assertEqual(bad, [])
        self.assertEqual(be.count(), 96)
        # Two worker threads at least (plus main/control threads).
        tasks = os.listdir("/proc/%d/task" % gw.proc.pid)
        self.assertGreaterEqual(len(tasks), 2)
        # One SO_REUSEPORT listening socket per worker.
        self.assertEqual(listening_sockets(gw.port), 2)


def listening_sockets(port):
    """Number of LISTEN sockets on 127.0.0.1:port (from /proc/net/tcp)."""
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            local, state = parts[1], parts[3]
            if state == "0A" and local == "0100007F:%04X" % port:
                n += 1
    return n


class LoggingTest(cgtest.GatewayTestCase):

    def test_debug_log_has_access_lines_and_no_secrets(self):
        be = self.backend()
        gw = self.gateway(hosts=HOSTS, log_level="debug",
                          apis=[{"id": "echo", "path": "echo", "backend": be.url("/base")}])
        cert = self.pki.client("logged")
        c = gw.tls(sni="secure.test", cert=cert.cert, key=cert.key)
        c.send(b"GET /echo/logme?q=1 HTTP/1.1\r\nHost: secure.test\r\n"
               b"Authorization: Bearer sekret-token\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        c.close()
        self.assertEqual(gw.curl("/nothing").status, 404)
        gw.stop()
        err = gw.stderr()
        lines = [ln for ln in err.splitlines() if "/echo/logme" in ln]
        self.assertTrue(lines, "no access log line for the request:\n" + err[-2000:])
        self.assertTrue(any("200" in ln for ln in lines), lines)
        self.assertTrue(any("/nothing" in ln and "404" in ln for ln in err.splitlines()),
                        err[-2000:])
        self.assertNotIn("PRIVATE KEY", err)
        with open(gw.host_certs["open.test"].key) as f:
            key_body = f.read().splitlines()[1]
        self.assertNotIn(key_body, err)


class DescriptorLimitTest(cgtest.GatewayTestCase):
    """Out of file descriptors, the listener rests instead of spinning on a
    level-triggered accept wake, and accepts again once descriptors free."""

    def test_emfile_pauses_accepts_and_recovers(self):
        be = self.backend()
        apis = [{"id": "echo", "path": "echo", "backend": be.url("/b")}]
        g = self.gateway(hosts=HOSTS, apis=apis, workers=1)
        used = len(os.listdir("/proc/%d/fd" % g.proc.pid))
        g.stop()
        # Room for 8 more descriptors; 40 connections want more.
        g = self.gateway(hosts=HOSTS, apis=apis, workers=1, nofile=used + 8)
        socks = [socket.create_connection(("127.0.0.1", g.port), timeout=5) for _ in range(40)]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "not accepting" not in g.stderr():
            time.sleep(0.05)
        self.assertIn("accept: Too many open files; not accepting for 100 ms", g.stderr())
        # Resting, not spinning: a busy loop takes ~100 ticks per second.
        c0 = g.cpu_ticks()
        time.sleep(1.0)
        self.assertLess(g.cpu_ticks() - c0, 30)
        # A line per rest (10 per second at most), not one per wake.
        self.assertLess(g.stderr().count("not accepting"), 40)
        for s in socks:
            s.close()
        code = cgtest.status_eventually(lambda: g.curl("/echo/x", host="open.test", timeout=3).status)
        self.assertEqual(code, 200, g.stderr()[-2000:])


class StartupTest(cgtest.GatewayTestCase):

    def make(self):
        g = cgtest.Gateway(self.tmp, self.pki, hosts=HOSTS,
                              apis=[{"id": "echo", "path": "echo",
                                     "backend": "http://127.0.0.1:9/x"}])
        self.gateways.append(g)
        return g

    def test_ready_line_and_sigint(self):
        g = self.make()
        g.start()
        self.assertIn("ready", g.stderr())
        g.signal(signal.SIGINT)
        code = g.wait_exit(10)
        self.assertEqual(code, 0, g.stderr()[-2000:])
        g.check_clean(code)

    def test_bad_listen_address_is_usage_error(self):
        g = self.make()
        cp = cgtest.run([g.bin, "--store", g.store, "serve", "--listen", "127.0.0.1:notaport"],
                        check=False, timeout=10)
        self.assertEqual(cp.returncode, 2, cp)
        self.assertTrue(cp.stderr.strip())

    def test_port_in_use_is_startup_failure(self):
        g = self.make()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        try:
            cp = cgtest.run([g.bin, "--store", g.store, "serve", "--listen",
                             "127.0.0.1:%d" % s.getsockname()[1]], check=False, timeout=10)
        finally:
            s.close()
        self.assertEqual(cp.returncode, 1, cp)
        self.assertTrue(cp.stderr.strip())
        self.assertNotIn(b"AddressSanitizer", cp.stderr)

    def test_missing_store_is_startup_failure(self):
        cp = cgtest.run([cgtest.certgate_path(), "--store", os.path.join(self.tmp, "none.db"),
                         "serve", "--listen", "127.0.0.1:%d" % cgtest.free_port()],
                        check=False, timeout=10)
        self.assertEqual(cp.returncode, 1, cp)
        self.assertTrue(cp.stderr.strip())


if __name__ == "__main__":
    cgtest.main(EXPECTED_FAILURES)
