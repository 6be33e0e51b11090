"""Harness for nano-web integration tests.

Starts the REAL nano-web binary ($NW_BUILDDIR/nano-web) on a free loopback
port, serving a temporary site directory, and talks to it with real clients
(http.client, raw sockets, curl). Python 3.11 standard library only.

Each test script:
    t = nwtest.Tests("basic")
    @t.case
    def some_case(): ... t.check("name", condition, "detail") ...
    t.main()         # runs the cases, prints "N passed, N failed", exits

Exit codes: 0 pass, 1 fail, 77 skip (never a skip when CI=true: then fail).
"""
import email.utils
import gzip
import http.client
import json
import os
import shutil
import signal as _signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zlib

HEALTH_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
SKIP = 77


def in_ci():
    return os.environ.get("CI", "").lower() == "true"


def builddir():
    d = os.environ.get("NW_BUILDDIR")
    if d:
        return d
    # Fall back to an in-tree build next to the sources.
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def srcdir():
    d = os.environ.get("NW_SRCDIR")
    if d:
        return d
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def binary():
    return os.path.join(builddir(), "nano-web")


def skip_or_fail(reason):
    """Skip loudly (exit 77); under CI=true a skip is a failure."""
    bar = "!" * 72
    if in_ci():
        print(bar)
        print("FAIL (would skip, but CI=true): " + reason)
        print(bar)
        print("0 passed, 1 failed")
        sys.exit(1)
    print(bar)
    print("SKIP: " + reason)
    print(bar)
    sys.exit(SKIP)


# --------------------------------------------------------------------------
# Test bookkeeping


class Tests:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.cases = []
        self.failures = []

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("PASS %s" % name)
        else:
            self.failed += 1
            self.failures.append(name)
            print("FAIL %s%s" % (name, (": " + str(detail)) if detail != "" else ""))
        sys.stdout.flush()
        return bool(cond)

    def eq(self, name, got, expected):
        return self.check(name, got == expected,
                          "expected %r, got %r" % (_short(expected), _short(got)))

    def case(self, fn):
        self.cases.append(fn)
        return fn

    def main(self):
        if not os.access(binary(), os.X_OK):
            skip_or_fail("nano-web binary not found at %s (set NW_BUILDDIR)" % binary())
        only = sys.argv[1:]
        for fn in self.cases:
            if only and fn.__name__ not in only:
                continue
            print("== %s.%s" % (self.name, fn.__name__))
            sys.stdout.flush()
            started = time.monotonic()
            failed_before = self.failed
            try:
                fn()
            except SkipCase as e:
                print("SKIP %s: %s" % (fn.__name__, e))
            except Exception:
                self.check("%s completed without exception" % fn.__name__, False,
                           traceback.format_exc().strip().replace("\n", "\n    "))
            finally:
                Server.stop_all()
                Site.cleanup_all()
                if self.failed == failed_before:
                    for d in Server._logdirs:
                        shutil.rmtree(d, ignore_errors=True)
                else:
                    for d in Server._logdirs:
                        print("   server logs kept in %s" % d)
                Server._logdirs = []
                print("   (%s took %.1f s; informational)" % (fn.__name__, time.monotonic() - started))
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.stdout.flush()
        sys.exit(1 if self.failed or self.passed == 0 else 0)


class SkipCase(Exception):
    """Skip one case (turned into a failure under CI=true by skip_case())."""


def skip_case(t, reason):
    bar = "!" * 72
    if in_ci():
        t.check("not skipped under CI: " + reason, False, reason)
        raise SkipCase("(counted as failure under CI=true) " + reason)
    print(bar)
    print("SKIP: " + reason)
    print(bar)
    raise SkipCase(reason)


def _short(v, n=300):
    s = repr(v) if not isinstance(v, str) else v
    if len(s) > n:
        return s[:n] + "...(%d chars)" % len(s)
    return v


# --------------------------------------------------------------------------
# Site fixtures


class Site:
    _all = []

    def __init__(self, files=None):
        # A parent temp dir holds the root plus scratch space outside it.
        self.parent = tempfile.mkdtemp(prefix="nw-it-")
        os.chmod(self.parent, 0o755)  # the server may drop to "nobody"
        self.root = os.path.join(self.parent, "site")
        os.mkdir(self.root, 0o755)
        os.chmod(self.root, 0o755)
        Site._all.append(self)
        for path, data in (files or {}).items():
            self.write(path, data)

    def path(self, rel):
        return os.path.join(self.root, rel.lstrip("/"))

    def write(self, rel, data, mtime=None):
        p = self.path(rel)
        d = os.path.dirname(p)
        os.makedirs(d, exist_ok=True)
        _chmod_up(d, self.root)
        if isinstance(data, str):
            data = data.encode("utf-8")
        # Atomic replace: write outside the root, then rename in.
        fd, tmp = tempfile.mkstemp(dir=self.parent, prefix=".w-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        if mtime is not None:
            os.utime(tmp, (mtime, mtime))
        os.rename(tmp, p)
        return p

    def remove(self, rel):
        os.unlink(self.path(rel))

    def scratch(self, name):
        return os.path.join(self.parent, name)

    def cleanup(self):
        shutil.rmtree(self.parent, ignore_errors=True)

    @classmethod
    def cleanup_all(cls):
        for s in cls._all:
            s.cleanup()
        cls._all = []


def _chmod_up(d, root):
    d = os.path.abspath(d)
    root = os.path.abspath(root)
    while d.startswith(root):
        try:
            os.chmod(d, 0o755)
        except OSError:
            pass
        if d == root:
            break
        d = os.path.dirname(d)


def wait_for(fn, timeout=10.0, interval=0.05):
    """Polls fn() until truthy or timeout (a bound, not a timing check);
    returns its last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    return last


def compressible_text(n, seed="nano"):
    """Deterministic, highly compressible text of n bytes."""
    line = ("/* %s: the quick brown fox jumps over the lazy dog 0123456789 */\n" % seed)
    s = (line * (n // len(line) + 1))[:n]
    return s


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
            return True
        finally:
            s.close()
    except OSError:
        return False


def base_env(extra=None):
    """A minimal, controlled environment for the server (no stray VITE_*)."""
    env = {}
    for k in ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "ASAN_OPTIONS",
              "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    if extra:
        env.update(extra)
    return env


# --------------------------------------------------------------------------
# Server process


class ServerError(Exception):
    pass


class Server:
    _running = []
    _logdirs = []

    def __init__(self, root=None, args=(), config=None, env=None, port=None,
                 listen="127.0.0.1", wait=True, wait_path="/_health",
                 wait_status=200, site=None, use_cli_port=True, prefix=()):
        """root: directory served (positional DIR), or None to omit it.
        config: INI text; written to a temp file and passed with --config.
        env: extra environment variables. wait_path: polled until it answers
        wait_status (None: any HTTP answer). prefix: a command nano-web runs
        under (["prlimit", "--nofile=64:64", "--"])."""
        self.prefix = list(prefix)
        for attempt in range(3):
            try:
                self._start(root, args, config, env, port, listen, wait, wait_path,
                            wait_status, use_cli_port)
                return
            except ServerError:
                # Another process may have taken the free port we picked
                # (tests run in parallel): retry on a new port.
                if port is None and attempt < 2 and "in use" in self.stderr().lower():
                    self.stop(timeout=5)
                    continue
                raise

    def _start(self, root, args, config, env, port, listen, wait, wait_path,
               wait_status, use_cli_port):
        self.listen = listen
        self.family = socket.AF_INET6 if ":" in listen else socket.AF_INET
        self.port = port or free_port(self.family, listen)
        self.logdir = tempfile.mkdtemp(prefix="nw-log-")
        Server._logdirs.append(self.logdir)
        os.chmod(self.logdir, 0o755)
        self.stdout_path = os.path.join(self.logdir, "stdout")
        self.stderr_path = os.path.join(self.logdir, "stderr")
        self.config_path = None
        argv = self.prefix + [binary(), "serve"]
        if root is not None:
            argv.append(root)
        if use_cli_port:
            argv += ["--port", str(self.port), "--listen", listen]
        # The kernel fast path is tested by tests/xdp; here the HTTP server is
        # tested on its own, independent of any nanoweb-xdpd on the machine.
        # NW_IT_XDP=auto runs this suite through the kernel path instead.
        argv += ["--xdp", os.environ.get("NW_IT_XDP", "off")]
        if config is not None:
            self.config_path = os.path.join(self.logdir, "nanoweb.ini")
            with open(self.config_path, "w") as f:
                f.write(config)
            os.chmod(self.config_path, 0o644)
            argv += ["--config", self.config_path]
        argv += list(args)
        self.argv = argv
        self.returncode = None
        out = open(self.stdout_path, "wb")
        err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=out, stderr=err,
                                     stdin=subprocess.DEVNULL,
                                     env=base_env(env), cwd=self.logdir)
        out.close()
        err.close()
        Server._running.append(self)
        if wait:
            self.wait_ready(wait_path, wait_status)

    # ---- lifecycle
    def host_for_url(self):
        return "[%s]" % self.listen if self.family == socket.AF_INET6 else self.listen

    def wait_ready(self, path="/_health", status=200, timeout=HEALTH_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError("nano-web exited with %s during startup\n%s" %
                                  (self.proc.returncode, self.describe()))
            try:
                r = self.request("GET", path, timeout=2)
                if status is None or r.status == status:
                    return
                last = "status %d" % r.status
            except OSError as e:
                last = repr(e)
            except http.client.HTTPException as e:
                last = repr(e)
            time.sleep(0.05)
        raise ServerError("nano-web did not answer %s %s within %.0fs (last: %s)\n%s" %
                          (path, status, timeout, last, self.describe()))

    def describe(self):
        return ("argv: %s\n--- stderr ---\n%s\n--- stdout ---\n%s" %
                (" ".join(self.argv), self.stderr()[-4000:], self.stdout()[-2000:]))

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.returncode = None  # did not exit on its own
        if self in Server._running:
            Server._running.remove(self)
        return self.returncode

    def stop(self, sig=_signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends sig and waits; returns the exit code (None if it hung and
        had to be killed). A crash shows as a negative code."""
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            if self in Server._running:
                Server._running.remove(self)
            return self.returncode
        self.proc.send_signal(sig)
        return self.wait_exit(timeout)

    def stop_checked(self, t, label="server"):
        rc = self.stop()
        t.check("%s exits 0 on SIGTERM" % label, rc == 0,
                "exit code %r\n%s" % (rc, self.describe()))
        return rc

    @classmethod
    def stop_all(cls):
        for s in list(cls._running):
            try:
                s.stop(timeout=5)
            except Exception:
                pass
        cls._running = []

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    # ---- clients
    def conn(self, timeout=10):
        return http.client.HTTPConnection(self.listen, self.port, timeout=timeout)

    def request(self, method, path, headers=None, body=None, timeout=10):
        """One request on a fresh http.client connection. Returns Resp."""
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return Resp(r.status, r.reason, r.getheaders(), data)
        finally:
            c.close()

    def get(self, path, headers=None, **kw):
        return self.request("GET", path, headers, **kw)

    def head(self, path, headers=None, **kw):
        return self.request("HEAD", path, headers, **kw)

    def raw(self, data, timeout=5, read_all=True, source=None):
        """Sends raw bytes, returns everything read until EOF/timeout."""
        return raw_exchange((self.listen, self.port), data, timeout=timeout,
                            family=self.family, source=source)

    def url(self, path="/"):
        return "http://%s:%d%s" % (self.host_for_url(), self.port, path)


class Resp:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.header_list = headers
        self.body = body

    def h(self, name, default=None):
        """Header value (joined with ', ' when repeated), case-insensitive."""
        vals = [v for k, v in self.header_list if k.lower() == name.lower()]
        if not vals:
            return default
        return ", ".join(vals)

    def has(self, name):
        return any(k.lower() == name.lower() for k, _ in self.header_list)

    def headers_dict(self, exclude=("date",)):
        d = {}
        for k, v in self.header_list:
            if k.lower() in exclude:
                continue
            d.setdefault(k.lower(), []).append(v)
        return d

    def __repr__(self):
        return "<Resp %d %r %d bytes>" % (self.status, self.header_list, len(self.body))


def raw_exchange(addr, data, timeout=5, family=socket.AF_INET, source=None):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        s.connect(addr)
        if data:
            s.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def start_slow_download(port, request, first=256 * 1024):
    """Sends request on a socket with a 32 KiB receive buffer and reads the
    first bytes of the answer, so the server is left mid-body. Returns the
    socket (10 s timeout) and the bytes read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(request)
    got = b""
    while len(got) < first:
        b = sock.recv(65536)
        if not b:
            break
        got += b
    return sock, got


def parse_raw(resp_bytes):
    """Splits a raw HTTP/1.x response into (status, headers list, body)."""
    head, sep, body = resp_bytes.partition(b"\r\n\r\n")
    if not sep:
        return None, [], b""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        return None, [], body
    hdrs = []
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs.append((k.strip(), v.strip()))
    return status, hdrs, body


def raw_status(resp_bytes):
    st, _, _ = parse_raw(resp_bytes)
    return st


# --------------------------------------------------------------------------
# Decoding


def decode(body, encoding):
    """Decompresses body per Content-Encoding (None/identity: unchanged)."""
    if encoding in (None, "", "identity"):
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        return _pipe(["brotli", "-d", "-c"], body)
    if encoding == "zstd":
        return _pipe(["zstd", "-d", "-c", "-q"], body)
    raise ValueError("unknown encoding %r" % encoding)


def safe_decode(body, encoding):
    """decode() that returns an error string instead of raising."""
    try:
        return decode(body, encoding)
    except Exception as e:
        return "decode error (%s): %s" % (encoding, e)


def _pipe(cmd, data):
    if shutil.which(cmd[0]) is None:
        raise RuntimeError("%s not installed (scripts/install-deps.sh installs it)" % cmd[0])
    p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if p.returncode != 0:
        raise ValueError("%s failed: %s" % (" ".join(cmd), p.stderr.decode(errors="replace")))
    return p.stdout


def require_tools(*tools):
    missing = [x for x in tools if shutil.which(x) is None]
    if missing:
        skip_or_fail("missing tools %s: run scripts/install-deps.sh "
                     "(apt-get install %s)" % (", ".join(missing), " ".join(missing)))


def http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


def curl(args, timeout=20):
    p = subprocess.run(["curl", "-sS", "--max-time", str(int(timeout))] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout + 5)
    return p


def run_cli(args, timeout=10, env=None):
    """Runs nano-web with args (bounded); returns (rc, stdout, stderr).
    rc is None when it had to be killed (kept running)."""
    p = subprocess.Popen([binary()] + list(args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         env=base_env(env), cwd=tempfile.gettempdir())
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        rc = None
    return rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
