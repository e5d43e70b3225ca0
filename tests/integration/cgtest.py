"""Shared harness for certgate integration tests.

Real parts only: a PKI generated per run with the openssl CLI, a raw-socket
HTTP/1.1 backend that records exactly what it received, the real certgate
binary (env CERTGATE), and real clients (curl CLI, openssl s_client, Python
ssl/socket for exact bytes). Loopback only; every wait is bounded.

Python 3 standard library only.
"""

import hashlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
LOOPBACK = "127.0.0.1"


def certgate_path():
    p = os.environ.get("CERTGATE")
    if not p:
        for cand in ("build-it", "build-test", "build"):
            q = os.path.join(os.environ.get("CG_SOURCE_DIR", os.path.join(HERE, "..", "..")),
                             cand, "certgate")
            if os.path.exists(q):
                return os.path.abspath(q)
        raise RuntimeError("CERTGATE is not set (path to the certgate binary)")
    return p


def run(cmd, timeout=30, check=True, input=None, env=None, cwd=None):
    """Runs cmd (list); returns CompletedProcess with bytes stdout/stderr."""
    cp = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=timeout, env=env, cwd=cwd)
    if check and cp.returncode != 0:
        raise RuntimeError("command failed (%d): %s\nstdout: %s\nstderr: %s" % (
            cp.returncode, " ".join(cmd), cp.stdout.decode(errors="replace"),
            cp.stderr.decode(errors="replace")))
    return cp


def poll(fn, timeout=5.0, step=0.05):
    """Calls fn() until it returns a truthy value or timeout; returns the
    last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def status_eventually(request, want=200, timeout=10.0, step=0.2):
    """Calls request() (returning an HTTP status) until it returns want or
    timeout, a connection that fails counting as no status; returns the
    last status (None if the last try failed)."""
    def attempt():
        try:
            return request()
        except (OSError, http.client.HTTPException):
            return None
    last = [None]
    def done():
        last[0] = attempt()
        return last[0] == want
    poll(done, timeout, step)
    return last[0]


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((LOOPBACK, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def admin_listener(tmp, token):
    """An admin API on a free loopback port guarded by token (written to a
    file in tmp): returns (port, the serve arguments)."""
    tokf = os.path.join(tmp, "admin-token")
    with open(tokf, "w") as f:
        f.write(token)
    port = free_port()
    return port, ["--admin", "%s:%d" % (LOOPBACK, port), "--admin-token-file", tokf]


def scrape_metrics(port, token):
    """GET /metrics from an admin listener: (status, Content-Type, body)."""
    c = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    try:
        c.request("GET", "/metrics", headers={"Authorization": "Bearer " + token} if token else {})
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()
    finally:
        c.close()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def thumbprint_of_pem(path):
    """Uppercase hex SHA-1 of the DER of the first certificate in path."""
    with open(path) as f:
        pem = f.read()
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", pem, re.S)
    der = ssl.PEM_cert_to_DER_cert(m.group(0))
    return hashlib.sha1(der).hexdigest().upper()


def der_of_pem(path):
    with open(path) as f:
        pem = f.read()
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", pem, re.S)
    return ssl.PEM_cert_to_DER_cert(m.group(0))


# --------------------------------------------------------------------------
# PKI

class CertFiles:
    """cert: PEM (leaf first, then intermediate when issued by our CA);
    leaf: PEM with the leaf only; key: unencrypted PEM key;
    thumbprint: uppercase SHA-1 hex of the leaf's DER; der: leaf DER."""

    def __init__(self, cert, key, leaf):
        self.cert = cert
        self.key = key
        self.leaf = leaf
        self.thumbprint = thumbprint_of_pem(leaf)
        self.der = der_of_pem(leaf)

    def __repr__(self):
        return "CertFiles(%s)" % self.leaf


class Pki:
    """Root CA -> intermediate CA -> server and client certificates, all made
    with the openssl CLI under dir. ECDSA P-256 by default, RSA-2048 on
    request."""

    def __init__(self, dir):
        self.dir = os.path.join(dir, "pki")
        os.makedirs(self.dir, exist_ok=True)
        self._serial = int(time.time() * 1000) & 0xFFFFFFFF
        self.root = self._make_ca("root", "certgate test root CA", None)
        self.inter = self._make_ca("inter", "certgate test intermediate CA", self.root)
        self.root_pem = self.root.leaf
        self._unknown = None
        self._cache = {}

    def _p(self, name):
        return os.path.join(self.dir, name)

    def _next_serial(self):
        self._serial += 1
        return str(self._serial)

    def _genkey(self, path, rsa=False):
        if rsa:
            run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                 "-out", path])
        else:
            run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-out", path])

    def _ext(self, name, lines):
        path = self._p(name + ".ext")
        with open(path, "w") as f:
            f.write("[v3]\n" + "\n".join(lines) + "\n")
        return path

    def _sign(self, name, subj, issuer, ext_lines, rsa=False, days=365):
        key = self._p(name + ".key")
        csr = self._p(name + ".csr")
        leaf = self._p(name + ".leaf.pem")
        self._genkey(key, rsa)
        run(["openssl", "req", "-new", "-key", key, "-subj", subj, "-out", csr])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", issuer.leaf, "-CAkey", issuer.key,
             "-set_serial", self._next_serial(), "-days", str(days), "-sha256",
             "-extfile", self._ext(name, ext_lines), "-extensions", "v3", "-out", leaf])
        return key, leaf

    def _make_ca(self, name, cn, issuer):
        key = self._p(name + ".key")
        leaf = self._p(name + ".pem")
        ext = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign",
               "subjectKeyIdentifier=hash"]
        if issuer is None:
            self._genkey(key)
            run(["openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=" + cn,
                 "-days", "3650", "-sha256", "-set_serial", self._next_serial(),
                 "-addext", ext[0], "-addext", ext[1], "-out", leaf])
        else:
            key, leaf = self._sign(name, "/O=certgate tests/CN=" + cn, issuer,
                                   ext + ["authorityKeyIdentifier=keyid"], days=3650)
        return CertFiles(leaf, key, leaf)

    def server(self, hostname, rsa=False, sans=None, ips=None):
        """Server certificate for hostname (SAN DNS:hostname plus sans, and
        IP:ips), issued by the intermediate. .cert holds leaf + intermediate."""
        k = ("server", hostname, rsa, tuple(sans or ()), tuple(ips or ()))
        if k in self._cache:
            return self._cache[k]
        name = "srv-%s-%s-%d" % (hostname, "rsa" if rsa else "ec", len(self._cache))
        sanlist = ",".join(["DNS:" + h for h in [hostname] + list(sans or [])] +
                           ["IP:" + i for i in (ips or [])])
        key, leaf = self._sign(name, "/CN=" + hostname, self.inter, [
            "basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature" +
            (",keyEncipherment" if rsa else ""), "extendedKeyUsage=serverAuth",
            "subjectAltName=" + sanlist], rsa=rsa)
        chain = self._p(name + ".chain.pem")
        with open(chain, "w") as out:
            for p in (leaf, self.inter.leaf):
                with open(p) as f:
                    out.write(f.read())
        cf = CertFiles(chain, key, leaf)
        self._cache[k] = cf
        return cf

    def client(self, cn="client", kind="valid", rsa=False):
        """Client certificate. kind: 'valid' (issued by the intermediate),
        'expired' (issued by the intermediate, valid 2020-01-01..2021-01-01),
        'selfsigned', 'unknown_ca' (issued by a CA nobody trusts)."""
        k = ("client", cn, kind, rsa)
        if k in self._cache:
            return self._cache[k]
        name = "cli-%s-%s" % (cn, kind)
        ext = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature",
               "extendedKeyUsage=clientAuth"]
        if kind == "valid":
            key, leaf = self._sign(name, "/O=certgate tests/CN=" + cn, self.inter, ext, rsa=rsa)
            cf = self._with_chain(name, leaf, key, self.inter)
        elif kind == "unknown_ca":
            if self._unknown is None:
                self._unknown = self._make_ca("unknown", "nobody trusts this CA", None)
            key, leaf = self._sign(name, "/CN=" + cn, self._unknown, ext, rsa=rsa)
            cf = CertFiles(leaf, key, leaf)
        elif kind == "selfsigned":
            key = self._p(name + ".key")
            leaf = self._p(name + ".pem")
            self._genkey(key, rsa)
            run(["openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=" + cn,
                 "-days", "30", "-addext", "extendedKeyUsage=clientAuth", "-out", leaf])
            cf = CertFiles(leaf, key, leaf)
        elif kind == "expired":
            key, leaf = self._ca_sign_dates(name, "/CN=" + cn, ext, "20200101000000Z",
                                            "20210101000000Z", rsa)
            cf = self._with_chain(name, leaf, key, self.inter)
        else:
            raise ValueError(kind)
        self._cache[k] = cf
        return cf

    def _with_chain(self, name, leaf, key, issuer):
        chain = self._p(name + ".chain.pem")
        with open(chain, "w") as out:
            for p in (leaf, issuer.leaf):
                with open(p) as f:
                    out.write(f.read())
        return CertFiles(chain, key, leaf)

    def _ca_sign_dates(self, name, subj, ext_lines, start, end, rsa):
        """Signs with `openssl ca` to set explicit notBefore/notAfter."""
        cadir = self._p("ca-db")
        os.makedirs(os.path.join(cadir, "new"), exist_ok=True)
        idx = os.path.join(cadir, "index.txt")
        if not os.path.exists(idx):
            open(idx, "w").close()
        with open(os.path.join(cadir, "serial"), "w") as f:
            # openssl ca wants an even number of hex digits
            serial = "%X" % (int(self._next_serial()) | 0x1000)
            f.write(("0" + serial if len(serial) % 2 else serial) + "\n")
        cnf = os.path.join(cadir, "ca.cnf")
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca=d\n[d]\ndatabase=%s\nnew_certs_dir=%s\nserial=%s\n"
                    "default_md=sha256\npolicy=pol\nunique_subject=no\n"
                    "[pol]\ncommonName=supplied\norganizationName=optional\n"
                    "[v3]\n%s\n" % (idx, os.path.join(cadir, "new"),
                                   os.path.join(cadir, "serial"), "\n".join(ext_lines)))
        key = self._p(name + ".key")
        csr = self._p(name + ".csr")
        leaf = self._p(name + ".leaf.pem")
        self._genkey(key, rsa)
        run(["openssl", "req", "-new", "-key", key, "-subj", subj, "-out", csr])
        run(["openssl", "ca", "-batch", "-config", cnf, "-cert", self.inter.leaf,
             "-keyfile", self.inter.key, "-in", csr, "-out", leaf, "-startdate", start,
             "-enddate", end, "-extensions", "v3", "-notext"])
        return key, leaf


# --------------------------------------------------------------------------
# HTTP/1.1 message helpers

class Headers:
    """Ordered list of (name, value) with case-insensitive lookups."""

    def __init__(self, items=None):
        self.items = list(items or [])

    def get(self, name, default=None):
        n = name.lower()
        for k, v in self.items:
            if k.lower() == n:
                return v
        return default

    def get_all(self, name):
        n = name.lower()
        return [v for k, v in self.items if k.lower() == n]

    def has(self, name):
        return self.get(name) is not None

    def names(self):
        return [k.lower() for k, _ in self.items]

    def __contains__(self, name):
        return self.has(name)

    def __repr__(self):
        return "Headers(%r)" % self.items


def parse_head(head):
    """head: bytes up to (excluding) CRLFCRLF. Returns (start_line, Headers)."""
    lines = head.split(b"\r\n")
    start = lines[0].decode("latin-1")
    hs = []
    for ln in lines[1:]:
        if not ln:
            continue
        k, _, v = ln.partition(b":")
        hs.append((k.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
    return start, Headers(hs)


class Response:
    def __init__(self, status, reason, headers, body, raw_head=b""):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.raw_head = raw_head

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "Response(%d %s, %r, body=%r)" % (self.status, self.reason, self.headers,
                                                  self.body[:300])


class Conn:
    """A client connection (TCP or TLS) with a read buffer. All reads are
    bounded by timeout (seconds)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.closed = False  # peer closed (EOF or reset)

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        if self.closed:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("read timed out")
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, ssl.SSLEOFError):
            d = b""
        if not d:
            self.closed = True
            return False
        self.buf += d
        return True

    def read_all(self, timeout=5.0):
        """Reads until the peer closes or timeout. Returns (data, closed)."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
        except socket.timeout:
            pass
        d, self.buf = self.buf, b""
        return d, self.closed

    def wait_closed(self, timeout):
        """True if the peer closes within timeout (data read meanwhile is kept)."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
        except socket.timeout:
            return False
        return True

    def read_response(self, timeout=10.0, head_request=False, allow_interim=False):
        """Reads one response. Interim (1xx) responses are returned when
        allow_interim, else skipped. Raises socket.timeout or EOFError."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\r\n\r\n" not in self.buf:
                if not self._fill(deadline):
                    raise EOFError("closed before a response head; got %r" % self.buf[:200])
            head, _, rest = self.buf.partition(b"\r\n\r\n")
            self.buf = rest
            start, hs = parse_head(head)
            parts = start.split(" ", 2)
            status = int(parts[1])
            reason = parts[2] if len(parts) > 2 else ""
            if 100 <= status < 200:
                if allow_interim:
                    return Response(status, reason, hs, b"", head)
                continue
            break
        if head_request or status in (204, 304):
            return Response(status, reason, hs, b"", head)
        te = (hs.get("transfer-encoding") or "").lower()
        if "chunked" in te:
            body = self._read_chunked(deadline)
        elif hs.get("content-length") is not None:
            n = int(hs.get("content-length"))
            while len(self.buf) < n:
                if not self._fill(deadline):
                    raise EOFError("closed inside a body (%d of %d)" % (len(self.buf), n))
            body, self.buf = self.buf[:n], self.buf[n:]
        else:
            while self._fill(deadline):
                pass
            body, self.buf = self.buf, b""
        return Response(status, reason, hs, body, head)

    def _read_line(self, deadline):
        while b"\r\n" not in self.buf:
            if not self._fill(deadline):
                raise EOFError("closed inside chunked body")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _read_chunked(self, deadline):
        body = b""
        for _ in range(10_000_000):
            line = self._read_line(deadline)
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while self._read_line(deadline) != b"":
                    pass
                return body
            while len(self.buf) < size + 2:
                if not self._fill(deadline):
                    raise EOFError("closed inside a chunk")
            body += self.buf[:size]
            self.buf = self.buf[size + 2:]
        raise RuntimeError("too many chunks")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def client_ssl_context(cafile=None, cert=None, key=None, verify=True, minv=None, maxv=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify and cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    if minv:
        ctx.minimum_version = minv
    if maxv:
        ctx.maximum_version = maxv
    return ctx


def connect_tcp(port, timeout=5.0):
    s = socket.create_connection((LOOPBACK, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Conn(s)


def connect_tls(port, sni=None, cafile=None, cert=None, key=None, verify=None, timeout=5.0,
                minv=None, maxv=None):
    """TLS connection to 127.0.0.1:port. sni=None sends no SNI. The server's
    hostname is checked against sni when cafile is given and sni is set."""
    if verify is None:
        verify = bool(cafile and sni)
    ctx = client_ssl_context(cafile, cert, key, verify, minv, maxv)
    if verify and not sni:
        ctx.check_hostname = False
    raw = socket.create_connection((LOOPBACK, port), timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        s = ctx.wrap_socket(raw, server_hostname=sni)
    except Exception:
        raw.close()
        raise
    return Conn(s)


def raw_tcp(port, data, timeout=5.0):
    """Sends exact bytes over TCP, reads until close or timeout: (data, closed)."""
    c = connect_tcp(port, timeout)
    try:
        c.send(data)
        return c.read_all(timeout)
    finally:
        c.close()


def raw_tls(port, sni, data, cert=None, key=None, cafile=None, timeout=5.0):
    """Sends exact bytes over TLS, reads until close or timeout: (data, closed)."""
    c = connect_tls(port, sni=sni, cafile=cafile, cert=cert, key=key, timeout=timeout)
    try:
        c.send(data)
        return c.read_all(timeout)
    finally:
        c.close()


def parse_responses(data, head_indexes=()):
    """Parses concatenated responses from bytes; returns the list parsed
    (stops at the first incomplete one). head_indexes: positions of responses
    to HEAD requests (no body)."""
    out = []

    class _S:
        def recv(self, n):
            return b""

        def settimeout(self, t):
            pass

    c = Conn(_S())
    c.buf = data
    for i in range(1000):
        if not c.buf:
            break
        try:
            out.append(c.read_response(timeout=1, head_request=(i in head_indexes)))
        except (EOFError, ValueError, IndexError, socket.timeout):
            break
    return out


def status_of(data):
    """Status code of the first response in data, or None."""
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else None


# --------------------------------------------------------------------------
# Backend

class BReq:
    """One request as the backend received it."""

    def __init__(self, conn_id, method, target, version, headers, body, chunked, trailers,
                 raw_head):
        self.conn_id = conn_id
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.chunked = chunked
        self.trailers = trailers
        self.raw_head = raw_head

    def to_json(self):
        return {"method": self.method, "target": self.target, "version": self.version,
                "headers": [[k, v] for k, v in self.headers.items],
                "body_len": len(self.body), "body_sha256": sha256(self.body),
                "body": self.body.decode("latin-1") if len(self.body) <= 65536 else None,
                "chunked": self.chunked, "conn": self.conn_id}

    def __repr__(self):
        return "BReq(%s %s conn=%d %r)" % (self.method, self.target, self.conn_id, self.headers)


class BResp:
    """What the backend answers. mode: 'length' (Content-Length), 'chunked',
    'close' (close-delimited body), 'noanswer' (close without answering),
    'raw' (send raw bytes, optionally in trickle=(size, delay) pieces, then
    close unless raw_keep). delay: seconds before answering."""

    def __init__(self, status=200, body=b"", headers=None, mode="length", delay=0.0,
                 reason=None, raw=b"", chunk_size=8192, keep_alive=True, trickle=None,
                 raw_keep=False):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.headers = list(headers or [])
        self.mode = mode
        self.delay = delay
        self.reason = reason or {200: "OK", 201: "Created", 204: "No Content",
                                 404: "Not Found", 500: "Internal Server Error"}.get(status, "X")
        self.raw = raw
        self.chunk_size = chunk_size
        self.keep_alive = keep_alive
        self.trickle = trickle  # (piece size, delay) for mode 'raw'
        self.raw_keep = raw_keep  # mode 'raw': keep the connection after sending


def echo_handler(req):
    """Default: 200 with a JSON description of the request."""
    return BResp(200, json.dumps(req.to_json()).encode(),
                 [("Content-Type", "application/json")])


class Backend:
    """Threaded HTTP/1.1 server on 127.0.0.1:0 over raw sockets. Records
    every request in .requests (BReq) and counts accepted connections.
    handler(BReq) -> BResp (default: echo_handler)."""

    MAX_HEAD = 1 << 20

    def __init__(self, handler=None, tls_cert=None, tls_key=None, require_client_cert_ca=None):
        self.handler = handler or echo_handler
        self.requests = []
        self.connections = 0
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.errors = []
        self.ctx = None
        if tls_cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(tls_cert, tls_key)
            if require_client_cert_ca:
                self.ctx.load_verify_locations(require_client_cert_ca)
                self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((LOOPBACK, 0))
        self.lsock.listen(128)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self._stop = threading.Event()
        self._socks = set()
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def url(self, path=""):
        return "%s://127.0.0.1:%d%s" % ("https" if self.ctx else "http", self.port, path)

    def reset(self, handler=None):
        with self.lock:
            self.requests = []
            self.connections = 0
            self.handler = handler or echo_handler

    def set_handler(self, handler):
        with self.lock:
            self.handler = handler or echo_handler

    def wait_requests(self, n, timeout=5.0):
        """Waits until at least n requests were recorded; returns the list."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.requests)

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self._stop.set()
        self.thread.join(5)
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                cid = self.connections
                self._socks.add(s)
            threading.Thread(target=self._serve, args=(s, cid), daemon=True).start()

    def _serve(self, s, cid):
        s.settimeout(30)
        try:
            if self.ctx:
                try:
                    s = self.ctx.wrap_socket(s, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                with self.lock:
                    self._socks.add(s)
            c = Conn(s)
            for _ in range(100000):
                req = self._read_request(c, cid)
                if req is None:
                    return
                with self.cond:
                    self.requests.append(req)
                    handler = self.handler
                    self.cond.notify_all()
                resp = handler(req)
                if resp is None:
                    resp = echo_handler(req)
                if resp.delay:
                    if self._stop.wait(resp.delay):
                        return
                if not self._respond(c, req, resp):
                    return
                conn_hdr = (req.headers.get("connection") or "").lower()
                if "close" in conn_hdr or not resp.keep_alive:
                    return
        except (OSError, ValueError, EOFError, socket.timeout) as e:
            if not isinstance(e, (EOFError, socket.timeout, ConnectionResetError)):
                self.errors.append(repr(e))
        finally:
            try:
                s.close()
            except OSError:
                pass
            with self.lock:
                self._socks.discard(s)

    def _read_request(self, c, cid):
        deadline = time.monotonic() + 60
        while b"\r\n\r\n" not in c.buf:
            if len(c.buf) > self.MAX_HEAD:
                raise ValueError("backend: head too large")
            if not c._fill(deadline):
                return None
        head, _, c.buf = c.buf.partition(b"\r\n\r\n")
        start, hs = parse_head(head)
        method, target, version = start.split(" ", 2)
        body = b""
        chunked = False
        trailers = Headers()
        te = (hs.get("transfer-encoding") or "").lower()
        if (hs.get("expect") or "").lower() == "100-continue":
            c.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in te:
            chunked = True
            for _ in range(10_000_000):
                line = c._read_line(deadline)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    tl = []
                    for _ in range(1000):
                        ln = c._read_line(deadline)
                        if ln == b"":
                            break
                        k, _, v = ln.partition(b":")
                        tl.append((k.decode("latin-1"), v.strip().decode("latin-1")))
                    trailers = Headers(tl)
                    break
                while len(c.buf) < size + 2:
                    if not c._fill(deadline):
                        raise EOFError("backend: closed inside chunk")
                body += c.buf[:size]
                c.buf = c.buf[size + 2:]
        elif hs.get("content-length") is not None:
            n = int(hs.get("content-length"))
            while len(c.buf) < n:
                if not c._fill(deadline):
                    raise EOFError("backend: closed inside body")
            body, c.buf = c.buf[:n], c.buf[n:]
        return BReq(cid, method, target, version, hs, body, chunked, trailers, head)

    def _respond(self, c, req, r):
        if r.mode == "noanswer":
            return False
        if r.mode == "raw":
            if r.trickle:
                size, delay = r.trickle
                for i in range(0, len(r.raw), size):
                    c.send(r.raw[i:i + size])
                    if self._stop.wait(delay):
                        return False
            else:
                c.send(r.raw)
            return r.raw_keep
        head = "HTTP/1.1 %d %s\r\n" % (r.status, r.reason)
        names = [k.lower() for k, _ in r.headers]
        hdrs = list(r.headers)
        no_body = req.method == "HEAD" or r.status in (204, 304)
        if r.mode == "length" and "content-length" not in names and r.status != 204:
            hdrs.append(("Content-Length", str(len(r.body))))
        elif r.mode == "chunked":
            hdrs.append(("Transfer-Encoding", "chunked"))
        elif r.mode == "close":
            hdrs.append(("Connection", "close"))
        for k, v in hdrs:
            head += "%s: %s\r\n" % (k, v)
        head += "\r\n"
        c.send(head.encode("latin-1"))
        if no_body:
            return r.mode != "close"
        if r.mode == "chunked":
            b = r.body
            for i in range(0, len(b), r.chunk_size):
                part = b[i:i + r.chunk_size]
                c.send(b"%x\r\n" % len(part) + part + b"\r\n")
            c.send(b"0\r\n\r\n")
        else:
            mv = memoryview(r.body)
            for i in range(0, len(r.body), 1 << 20):
                c.send(mv[i:i + (1 << 20)])
        return r.mode != "close"


def TlsBackend(cert, key, handler=None, require_client_cert_ca=None):
    """Backend over TLS with cert/key (PEM paths)."""
    return Backend(handler, tls_cert=cert, tls_key=key,
                   require_client_cert_ca=require_client_cert_ca)


# --------------------------------------------------------------------------
# Gateway

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                     "ThreadSanitizer", "ERROR: UndefinedBehaviorSanitizer")


class Gateway:
    """Builds a store with the certgate CLI and runs `certgate serve`.

    hosts: list of dicts {name, negotiate (bool), default (bool), rsa (bool)}
    apis:  list of dicts {id, path, backend, subscription_required (default False),
           protocols ("https", "http" or "http,https"; default: certgate's, https)}
    ops:   list of dicts {api, id, method, template}
    """

    def __init__(self, tmpdir, pki, hosts=(), apis=(), ops=(), http_listen=False,
                 serve_args=(), workers=None, log_level=None, env=None, nofile=None,
                 store=None):
        self.bin = certgate_path()
        self.tmpdir = tmpdir
        self.pki = pki
        self.dir = tempfile.mkdtemp(prefix="gw-", dir=tmpdir)
        # store: a file in the gateway's dir, or the given one (a
        # PostgreSQL URL several gateways share: test_store_pg.py)
        self.store = store or os.path.join(self.dir, "store.db")
        self.hosts = list(hosts)
        self.apis = list(apis)
        self.ops = list(ops)
        self.http_listen = http_listen
        self.serve_args = list(serve_args)
        self.workers = workers
        self.log_level = log_level
        self.env = dict(env or {})
        self.nofile = nofile  # RLIMIT_NOFILE of the serve process
        self.proc = None
        self.port = None
        self.http_port = None
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.exit_code = None
        self.done = False  # exit already checked by a test
        self.host_certs = {}
        self._build_store()

    def cli(self, *args, check=True, timeout=30):
        return run([self.bin, "--store", self.store] + list(args), check=check,
                   timeout=timeout)

    def set_policy(self, text, *scope, check=True):
        """`certgate policy set [scope...] FILE` with text written to a
        temporary file; scope e.g. "--api", "a", "--operation", "o"."""
        fd, path = tempfile.mkstemp(dir=self.dir, suffix=".xml")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return self.cli("policy", "set", *scope, path, check=check)

    def _build_store(self):
        for h in self.hosts:
            cf = self.pki.server(h["name"], rsa=h.get("rsa", False))
            self.host_certs[h["name"]] = cf
            a = ["host", "set", h["name"], "--cert", cf.cert, "--key", cf.key]
            if h.get("negotiate"):
                a.append("--negotiate-client-certificate")
            if h.get("default"):
                a.append("--default")
            self.cli(*a)
        for a in self.apis:
            # explicit, so the tests do not depend on the default (false;
            # APIM's is true: docs/subscriptions.md)
            proto = ["--protocols", a["protocols"]] if "protocols" in a else []
            self.cli("api", "set", a["id"], "--path", a["path"], "--backend", a["backend"],
                     "--subscription-required",
                     "true" if a.get("subscription_required") else "false", *proto)
        for o in self.ops:
            self.cli("op", "set", o["api"], o["id"], "--method", o["method"],
                     "--url-template", o["template"])

    def start(self, timeout=10.0):
        last = ""
        for attempt in range(3):
            self.port = free_port()
            args = [self.bin, "--store", self.store, "serve", "--listen",
                    "%s:%d" % (LOOPBACK, self.port)]
            if self.http_listen:
                self.http_port = free_port()
                args += ["--http-listen", "%s:%d" % (LOOPBACK, self.http_port)]
            if self.workers:
                args += ["--workers", str(self.workers)]
            if self.log_level:
                args += ["--log-level", self.log_level]
            if os.environ.get("CG_TLS_ENGINE"):
                # ctest runs every integration test once per TLS engine
                args += ["--tls-engine", os.environ["CG_TLS_ENGINE"]]
            args += self.serve_args
            self.args = args
            env = dict(os.environ)
            env.update(self.env)
            env.setdefault("TZ", "UTC")
            env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
            env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
            self.errf = open(self.stderr_path, "ab")
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=self.errf, stderr=self.errf, env=env,
                                         preexec_fn=self._limits if self.nofile else None)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.ready():
                    return self
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            last = self.stderr()
            self._kill()
            if "in use" not in last.lower():
                break
        raise AssertionError("certgate did not become ready (args %s)\nstderr:\n%s" % (
            " ".join(self.args), last[-4000:]))

    def _limits(self):
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def cpu_ticks(self):
        """utime + stime of the serve process, in clock ticks."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def ready(self):
        return "ready" in self.stderr()

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        try:
            self.errf.close()
        except Exception:
            pass

    def signal(self, sig=signal.SIGTERM):
        os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout):
        """Waits for the process to exit; returns its code or None if still running."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, bound=20.0):
        """SIGTERM, wait up to bound, then SIGKILL. Returns the exit code and
        raises AssertionError on a non-zero exit or sanitizer reports."""
        if self.proc is None or self.done:
            return self.exit_code
        if self.proc.poll() is None:
            try:
                self.signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        code = self.wait_exit(bound)
        killed = False
        if code is None:
            killed = True
            self.proc.kill()
            code = self.proc.wait(10)
        self.exit_code = code
        try:
            self.errf.close()
        except Exception:
            pass
        self.check_clean(code, killed)
        return code

    def check_clean(self, code=None, killed=False):
        err = self.stderr()
        problems = []
        if killed:
            problems.append("did not exit within the bound after SIGTERM (SIGKILLed)")
        elif code is not None and code != 0:
            problems.append("exit code %d after SIGTERM" % code)
        for m in SANITIZER_MARKERS:
            if m in err:
                problems.append("stderr contains %r" % m)
        self.done = True
        if problems:
            raise AssertionError("certgate: %s\nstderr (tail):\n%s" % (
                "; ".join(problems), err[-6000:]))

    # ---- clients

    def url(self, path="/", host="open.test", http=False):
        if http:
            return "http://%s:%d%s" % (host, self.http_port, path)
        return "https://%s:%d%s" % (host, self.port, path)

    def curl(self, path="/", host="open.test", http=False, **kw):
        """curl CLI against this gateway, resolving host to 127.0.0.1 (so SNI
        = host) and trusting the test root."""
        port = self.http_port if http else self.port
        kw.setdefault("cacert", self.pki.root_pem)
        return curl(self.url(path, host, http), resolve=["%s:%d:%s" % (host, port, LOOPBACK)],
                    tmpdir=self.dir, **kw)

    def tls(self, sni="open.test", **kw):
        kw.setdefault("cafile", self.pki.root_pem)
        return connect_tls(self.port, sni=sni, **kw)

    def tcp(self, timeout=5.0):
        return connect_tcp(self.http_port, timeout)

    def s_client(self, sni=None, args=(), input=b"", **kw):
        return s_client(self.port, sni=sni, args=args, input=input, **kw)


# --------------------------------------------------------------------------
# curl, s_client

class CurlResult:
    def __init__(self, rc, status, headers, body, heads, stderr):
        self.rc = rc
        self.status = status
        self.headers = headers
        self.body = body
        self.heads = heads  # every response head (interim ones too), text
        self.stderr = stderr

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "CurlResult(rc=%d status=%s headers=%r body=%r stderr=%r)" % (
            self.rc, self.status, self.headers, self.body[:400], self.stderr[-400:])


_curl_seq = [0]
_curl_lock = threading.Lock()


def curl(url, method=None, headers=(), data=None, data_file=None, cert=None, key=None,
         cacert=None, insecure=False, resolve=(), timeout=20, extra=(), tmpdir=None,
         out_file=None):
    """Runs the curl CLI. Returns CurlResult(rc, status, headers of the final
    response (Headers), body bytes, all heads, stderr). data: bytes sent as
    --data-binary; data_file: path sent with --data-binary @path."""
    with _curl_lock:
        _curl_seq[0] += 1
        seq = _curl_seq[0]
    d = tmpdir or tempfile.gettempdir()
    hfile = os.path.join(d, "curl-%d-%d.h" % (os.getpid(), seq))
    bfile = out_file or os.path.join(d, "curl-%d-%d.b" % (os.getpid(), seq))
    cmd = ["curl", "-sS", "--max-time", str(timeout), "--connect-timeout", "5",
           "-D", hfile, "-o", bfile, "-w", "%{http_code}"]
    for r in resolve:
        cmd += ["--resolve", r]
    if method:
        cmd += ["-X", method]
    for h in headers:
        cmd += ["-H", h]
    inp = None
    if data is not None:
        cmd += ["--data-binary", "@-"]
        inp = data
    elif data_file is not None:
        cmd += ["--data-binary", "@" + data_file]
    if cert:
        cmd += ["--cert", cert]
    if key:
        cmd += ["--key", key]
    if cacert:
        cmd += ["--cacert", cacert]
    if insecure:
        cmd += ["-k"]
    cmd += list(extra)
    cmd.append(url)
    cp = subprocess.run(cmd, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=timeout + 10)
    heads = ""
    if os.path.exists(hfile):
        with open(hfile, "rb") as f:
            heads = f.read().decode("latin-1")
        os.unlink(hfile)
    body = b""
    if os.path.exists(bfile) and out_file is None:
        with open(bfile, "rb") as f:
            body = f.read()
        os.unlink(bfile)
    blocks = [b for b in heads.split("\r\n\r\n") if b.strip()]
    hs = Headers()
    if blocks:
        _, hs = parse_head(blocks[-1].encode("latin-1"))
    try:
        status = int(cp.stdout.decode().strip() or "0")
    except ValueError:
        status = 0
    return CurlResult(cp.returncode, status, hs, body, heads,
                      cp.stderr.decode(errors="replace"))


def s_client(port, sni=None, args=(), input=b"", timeout=10, cert=None, key=None,
             hold=0.0):
    """Runs `openssl s_client -connect 127.0.0.1:port` (with -servername sni
    or -noservername). input is written to stdin; with hold > 0 stdin stays
    open that long after writing (so s_client does not quit at EOF at once).
    Returns (rc, output text of stdout+stderr)."""
    cmd = ["openssl", "s_client", "-connect", "%s:%d" % (LOOPBACK, port)]
    cmd += ["-servername", sni] if sni else ["-noservername"]
    if cert:
        cmd += ["-cert", cert]
    if key:
        cmd += ["-key", key]
    cmd += list(args)
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = b""
    try:
        if hold > 0:
            if input:
                p.stdin.write(input)
                p.stdin.flush()
            time.sleep(hold)
            out, _ = p.communicate(timeout=timeout)
        else:
            out, _ = p.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate(timeout=5)
    except BrokenPipeError:
        out, _ = p.communicate(timeout=timeout)
    return p.returncode, out.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------
# unittest glue

class GatewayTestCase(unittest.TestCase):
    """Base with one temp dir + PKI per class. Subclasses set up gateways in
    setUpClass via cls.tmp, cls.pki and register them with cls.gateways."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cgit-")
        cls.pki = Pki(cls.tmp)
        cls.gateways = []
        cls.backends = []
        try:
            cls.setup_gateways()
        except Exception:
            cls._teardown_all(check=False)
            raise

    @classmethod
    def setup_gateways(cls):
        pass

    @classmethod
    def backend(cls, *a, **kw):
        b = Backend(*a, **kw)
        cls.backends.append(b)
        return b

    @classmethod
    def tls_backend(cls, *a, **kw):
        b = TlsBackend(*a, **kw)
        cls.backends.append(b)
        return b

    @classmethod
    def gateway(cls, **kw):
        g = Gateway(cls.tmp, cls.pki, **kw)
        cls.gateways.append(g)
        g.start()
        return g

    @classmethod
    def _teardown_all(cls, check=True):
        errors = []
        for g in cls.gateways:
            try:
                g.stop()
            except AssertionError as e:
                errors.append(str(e))
            except Exception as e:
                errors.append(repr(e))
        for b in cls.backends:
            b.close()
        if not os.environ.get("CG_KEEP_TMP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)
        if check and errors:
            raise AssertionError("\n".join(errors))

    @classmethod
    def tearDownClass(cls):
        cls._teardown_all(check=True)

    def assertApimError(self, status, body, headers=None, message=None):
        """body is an APIM-style JSON error {"statusCode": status, "message": ...}."""
        try:
            j = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
        except ValueError:
            self.fail("error body is not JSON: %r" % body[:300])
        self.assertEqual(j.get("statusCode"), status, j)
        self.assertIsInstance(j.get("message"), str, j)
        self.assertTrue(j["message"], j)
        if message is not None:
            self.assertEqual(j["message"], message)
        if headers is not None:
            self.assertTrue((headers.get("content-type") or "").startswith("application/json"),
                            headers)


def main(expected_failures=()):
    """unittest.main(), skipping 'Class.test_name' entries of expected_failures
    with a clear reason (the lead empties those lists as the gateway lands)."""
    import __main__
    for name in expected_failures:
        cls_name, _, meth = name.partition(".")
        cls = getattr(__main__, cls_name)
        setattr(cls, meth, unittest.skip("EXPECTED_FAILURES: gateway feature not done yet")(
            getattr(cls, meth)))
    unittest.main(verbosity=2)
