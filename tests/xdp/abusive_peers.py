#!/usr/bin/env python3
"""nanoweb-xdpd's socket against abusive local peers (driver of
sock_abuse.sh, which runs it inside a network namespace of its own).

Any local user may connect to the helper's socket (HELLO, STATS). Checks:
  - a STATS flood on several connections neither starves other clients
    nor stops the main loop's tick (the Date map keeps turning);
  - STATS is answered at most ~10 times a second per connection, the rest
    gets E_BUSY;
  - one read-only uid holds at most 8 connections;
  - with the table full of read-only peers, a peer that may write (root)
    still gets in: the read-only peer idle longest is disconnected;
  - a run of 16 bad messages disconnects a peer, its refusals are logged a
    few times only; a peer that does not read its replies is disconnected
    with one log line;
  - a socket directory writable by others, or owned by another user, is
    refused, as is one under a directory others may write (not sticky),
    also through a symlink, and one reached through another user's symlink; a root 0700 one works; the socket is 0666 whatever the umask;
  - a second helper on a live helper's socket exits 1 and leaves it alone;
    a stale socket is replaced;
  - a pinned cache map of an older layout is replaced;
  - a writer that is not root (nobody, which may write by default) claims
    only ports it listens on itself: not another service's, and no writing
    message before such a claim.
Unprivileged peers: a child that switched uid connects and hands the
sockets back (SCM_RIGHTS); SO_PEERCRED keeps naming the child's uid.
"""
import json
import os
import select
import socket
import stat
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import xt  # noqa: E402

HDR = struct.Struct("=IHHII")
HELLO, BEGIN, STATS = 1, 2, 8
OK, HELLO_REPLY, STATS_REPLY, ERROR = 0x101, 0x102, 0x103, 0x1ff
E_PERM, E_BUSY = 3, 10
CTL_DATE_IDX = 1

E = xt.Env()
check = xt.Checker()
SOCK = os.path.join(E.work, "run", "xdpd.sock")   # the helper makes run/
NOBODY = 65534
RO_UID = 64000   # read-only: not root, not [server] user (often nobody)


def helper_bin():
    for p in ("nanoweb-xdpd", "xdp/nanoweb-xdpd"):
        p = os.path.join(E.builddir, p)
        if os.access(p, os.X_OK):
            return p
    raise SystemExit("nanoweb-xdpd not built in %s" % E.builddir)


HELPER = helper_bin()


def msg(t, seq=1, body=b""):
    return HDR.pack(HDR.size + len(body), t, 0, seq, 0) + body


HELLO_MSG = msg(HELLO, 1, struct.pack("=II", 1, os.getpid()))


def reply(s, timeout=2.0):
    """(type, error code or None, body); None on EOF; raises on timeout"""
    s.settimeout(timeout)
    r = s.recv(65536)
    if not r:
        return None
    typ = HDR.unpack_from(r)[1]
    if typ == ERROR:
        return typ, struct.unpack_from("=I", r, 16)[0], r[24:]
    return typ, None, r[16:]


def call(s, m, timeout=2.0):
    s.send(m)
    return reply(s, timeout)


def answers(s, timeout=2.0):
    """True if a HELLO on s gets its reply, False on EOF/error/timeout"""
    try:
        r = call(s, HELLO_MSG, timeout)
        return r is not None and r[0] == HELLO_REPLY
    except OSError:
        return False


def is_closed(s, timeout=2.0):
    """True when the helper closed s (EOF, pending replies skipped)"""
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            s.settimeout(max(0.01, end - time.monotonic()))
            if not s.recv(65536):
                return True
    except (socket.timeout, BlockingIOError):
        return False
    except OSError:
        return True
    return False


def connect_as(uid, n, path=SOCK):
    """n connections made by a child running as uid, handed back:
    (the child's pid, which the helper logs, [sockets])"""
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        try:
            a.close()
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            socks = []
            for _ in range(n):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.connect(path)
                socks.append(s)
            socket.send_fds(b, [b"ok"], [s.fileno() for s in socks])
            os._exit(0)
        except BaseException as e:  # noqa: B902 (report, whatever it is)
            b.send(str(e).encode())
            os._exit(1)
    b.close()
    data, fds, _, _ = socket.recv_fds(a, 1024, n)
    os.waitpid(pid, 0)
    a.close()
    if len(fds) != n:
        raise RuntimeError("connect_as(%d): %r" % (uid, data))
    return pid, [socket.socket(fileno=fd) for fd in fds]


def close_all(socks):
    for s in socks:
        s.close()
    time.sleep(0.3)   # the helper sees the EOFs


class Helper:
    def __init__(self, name, sock, iface, pin, umask=None):
        self.name = name
        self.pin = pin
        self.log = os.path.join(E.work, name + ".log")
        argv = [HELPER, "--foreground", "--iface", iface, "--mode", "generic",
                "--socket", sock, "--pin-dir", pin, "--flow-entries", "4096",
                "--cache-entries", "64"]
        old = os.umask(umask) if umask is not None else None
        try:
            self.p = E.spawn_s(argv, name)
        finally:
            if old is not None:
                os.umask(old)

    def wait_ready(self, seconds=20):
        return xt.wait_until(lambda: "ready:" in self.text() or
                             self.p.poll() is not None, seconds) and \
            self.p.poll() is None

    def wait_exit(self, seconds=30):
        try:
            return self.p.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def mark(self):
        return len(self.text())

    def since(self, mark):
        return self.text()[mark:]

    def stop(self):
        rc = E.stop(self.p)
        subprocess.run(["rm", "-rf", self.pin])
        return rc


def lines_of(text, pid, word):
    return [ln for ln in text.splitlines()
            if ("client pid %d " % pid) in ln and word in ln]


def date_idx(pin):
    r = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned",
                        os.path.join(pin, "nwx_ctl"), "key", "1", "0", "0", "0"],
                       capture_output=True, text=True)
    v = json.loads(r.stdout)["value"]
    return int(v[0], 16)


# ---------------------------------------------------------------------------
def flood_child(socks, seconds, depth, out):
    """Keeps `depth` STATS outstanding on each socket for `seconds`; writes
    {"replies": n, "busy": n} to the fd out."""
    n = {"replies": 0, "busy": 0}
    end = time.monotonic() + seconds
    try:
        for s in socks:
            s.setblocking(False)
            for _ in range(depth):
                s.send(msg(STATS))
        while time.monotonic() < end:
            rd, _, _ = select.select(socks, [], [], 0.05)
            for s in rd:
                r = s.recv(65536)
                if not r:
                    socks.remove(s)
                    continue
                typ = HDR.unpack_from(r)[1]
                if typ == STATS_REPLY:
                    n["replies"] += 1
                elif struct.unpack_from("=I", r, 16)[0] == E_BUSY:
                    n["busy"] += 1
                s.send(msg(STATS))
    except OSError as e:
        n["error"] = str(e)
    os.write(out, json.dumps(n).encode())


def test_stats_flood(h):
    """F2: a STATS flood does not hold the main loop nor other clients."""
    seconds = 4.0
    _, flood = connect_as(62000, 4)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        flood_child(flood, seconds, 32, wfd)
        os._exit(0)
    os.close(wfd)
    for s in flood:     # the child's now
        s.close()
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    probe.connect(SOCK)
    worst, lost, flips, idx = 0.0, 0, 0, None
    end = time.monotonic() + seconds - 0.3
    time.sleep(0.2)
    while time.monotonic() < end:
        t = time.monotonic()
        if answers(probe, 1.0):
            worst = max(worst, time.monotonic() - t)
        else:
            lost += 1
            probe.close()
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            probe.connect(SOCK)
        i = date_idx(h.pin)
        if idx is not None and i != idx:
            flips += 1
        idx = i
        time.sleep(0.1)
    probe.close()
    os.waitpid(pid, 0)
    with os.fdopen(rfd) as f:
        res = json.loads(f.read() or "{}")
    # a held loop would keep the HELLO waiting for the whole flood (4 s);
    # the bound is loose: CI's ASan stage shares 2 cores with the flood
    check("STATS flood (4 connections, 32 outstanding each): another client's "
          "HELLO answered within 1 s each time",
          lost == 0 and worst < 1.0, "(worst %.0f ms, %d unanswered)" %
          (worst * 1000, lost))
    check("STATS flood: the main loop's tick goes on (the Date slot turned "
          "at least twice in %.1f s)" % (seconds - 0.5), flips >= 2,
          "(%d turns)" % flips)
    # 4 connections: a burst of 10 each, then 10 a second each
    most = 4 * (10 + 10 * seconds + 3)
    check("STATS flood: at most ~10 STATS a second answered per connection, "
          "the rest E_BUSY", 0 < res.get("replies", 0) <= most and
          res.get("busy", 0) > 0, "(%r, at most %d)" % (res, most))
    time.sleep(0.3)


def test_stats_rate(h):
    """F2: STATS per connection: a burst of 10, then 10 a second; E_BUSY."""
    _, (s,) = connect_as(62001, 1)
    t0 = time.monotonic()
    got = [call(s, msg(STATS)) for _ in range(30)]
    # the burst of 10, one more per 100 ms the 30 calls took (a slow
    # machine or an ASan build takes several hundred ms), and 2 to spare
    most = 10 + int((time.monotonic() - t0) / 0.1) + 2
    ok = sum(1 for r in got if r and r[0] == STATS_REPLY)
    busy = [r for r in got if r and r[0] == ERROR and r[1] == E_BUSY]
    check("30 STATS in a row on one connection: the burst of 10, then one per "
          "100 ms, the others E_BUSY", 10 <= ok <= min(most, 29) and ok + len(busy) == 30,
          "(%d answered, at most %d, %d E_BUSY, e.g. %r)" %
          (ok, most, len(busy), busy[0][2] if busy else None))
    time.sleep(1.1)
    r = call(s, msg(STATS))
    check("STATS answered again a second later", r and r[0] == STATS_REPLY,
          "(%r)" % (r[:2] if r else r,))
    close_all([s])


def test_per_uid(h):
    """F3: at most 8 read-only connections per uid."""
    m = h.mark()
    pid, socks = connect_as(RO_UID, 9)
    served = [answers(s) for s in socks]
    check("uid %d: 8 connections served, the 9th refused" % RO_UID,
          served == [True] * 8 + [False], "(%r)" % served)
    check("the refused connection is logged",
          len(lines_of(h.since(m), pid, "read-only connections")) == 1)
    close_all(socks)
    _, again = connect_as(RO_UID, 1)
    check("after they closed, uid %d connects again" % RO_UID,
          answers(again[0]))
    close_all(again)


def test_evict(h):
    """F3: a full table of read-only peers does not lock a writer out."""
    m = h.mark()
    held = []
    pids = []
    for k in range(8):
        pid, socks = connect_as(61000 + k, 8)
        pids.append(pid)
        held += socks
    check("64 read-only connections (8 uids x 8) served",
          all(answers(s) for s in held))
    time.sleep(0.05)
    for s in held[1:]:      # the first one is now the one idle longest
        answers(s)
    _, (extra,) = connect_as(61100, 1)
    check("table full: another read-only peer is refused", not answers(extra))
    extra.close()
    root = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    root.connect(SOCK)
    try:
        r = call(root, HELLO_MSG)
    except OSError as e:
        r = ("error", e)
    may_write = r and r[0] == HELLO_REPLY and \
        struct.unpack_from("=I", r[2], 4)[0]
    check("table full: root (may write) is served", bool(may_write),
          "(%r)" % (r[:2] if r else r,))
    check("the read-only peer idle longest was disconnected for it",
          is_closed(held[0], 1.0))
    check("the other read-only peers are still served",
          all(answers(s) for s in held[1:]))
    log = h.since(m)
    check("the eviction is logged", ("read-only client pid %d " % pids[0]) in log
          and "idle longest" in log)
    close_all(held + [root])


def test_bad_run(h):
    """F5: bad messages: a run of 16 disconnects; few log lines."""
    m = h.mark()
    pid, (s,) = connect_as(63000, 1)
    begin = msg(BEGIN, 1, struct.pack("=II", 0, 0))
    first = [call(s, begin) for _ in range(15)]
    mid = answers(s)
    n, closed = 0, False
    for _ in range(100):
        try:
            r = call(s, begin)
        except OSError:
            closed = True
            break
        if r is None:
            closed = True
            break
        n += 1
    check("15 refused BEGINs (E_PERM), then a good message: still served",
          all(r and r[1] == E_PERM for r in first) and mid)
    check("then 16 refused in a row: the helper disconnects",
          closed and n == 16, "(%d replies, closed %r)" % (n, closed))
    time.sleep(0.3)
    log = h.since(m)
    refused = lines_of(log, pid, "refused")
    check("31 refusals: at most 6 log lines about them",
          1 <= len(refused) <= 6, "(%d)" % len(refused))
    check("the disconnection says why, with the count of lines not logged",
          lines_of(log, pid, "too many bad messages") and
          lines_of(log, pid, "not logged"))
    s.close()


PUT, COMMIT, E_NOSPC, NO_DATE = 3, 5, 6, 0xffff


def put_msg(gen, path, body):
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    return msg(PUT, 2, struct.pack("=IBBBBHHI", gen, 0, 0, 1, 0, len(path),
                                   NO_DATE, len(resp)) + path + resp)


def ok_body(r):
    """(generation, count) of an OK reply, or None"""
    return struct.unpack_from("=II", r[2]) if r and r[0] == OK else None


def test_copy_active(h):
    """F6: after BEGIN with COPY_ACTIVE, a PUT that replaces a copied
    response takes no room: a full generation can be replaced in full, and
    only a new response past cache_entries (64) gets E_NOSPC."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(SOCK)
    try:
        call(s, HELLO_MSG)
        g1 = ok_body(call(s, msg(BEGIN, 1, struct.pack("=II", 0, 0))))[0]
        first = [ok_body(call(s, put_msg(g1, b"/p%d" % i, b"old")))
                 for i in range(62)]
        c1 = ok_body(call(s, msg(COMMIT, 3, struct.pack("=II", g1, 0))))
        b2 = ok_body(call(s, msg(BEGIN, 4, struct.pack("=II", 1, 0))))
        g2 = b2[0]
        again = [call(s, put_msg(g2, b"/p%d" % i, b"new")) for i in range(62)]
        new = [call(s, put_msg(g2, b"/n%d" % i, b"x")) for i in range(3)]
        c2 = ok_body(call(s, msg(COMMIT, 5, struct.pack("=II", g2, 0))))
    finally:
        s.close()
    check("COPY_ACTIVE: 62 responses committed, then copied",
          all(first) and c1 and c1[1] == 62 and b2[1] == 62,
          "(%r %r)" % (c1, b2))
    check("COPY_ACTIVE: all 62 copied responses replaced (no E_NOSPC)",
          all(ok_body(r) for r in again),
          "(%r)" % [r for r in again if not ok_body(r)][:2])
    check("COPY_ACTIVE: two new responses fit, the third gets E_NOSPC; "
          "64 committed", ok_body(new[0]) and ok_body(new[1]) and
          new[2] and new[2][1] == E_NOSPC and c2 and c2[1] == 64,
          "(%r %r)" % (new, c2))


SET_PORTS = 7


def ports_msg(*ports, seq=3):
    return msg(SET_PORTS, seq, struct.pack("=HH", len(ports), 0) +
               b"".join(struct.pack("=H", p) for p in ports))


def as_nobody(listen, other):
    """In a child running as nobody, which listens on a port of its own when
    `listen`: the error codes (None: OK) of BEGIN before any claim, of
    SET_PORTS for other_port (another process's), and of SET_PORTS for its
    own port. Returns (its pid, {what: code})."""
    other_port = other.getsockname()[1]
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        out = {}
        try:
            a.close()
            other.close()   # a fork holds its parent's sockets: not ours
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            own = None
            if listen:
                own = socket.socket()
                own.bind(("127.0.0.1", 0))
                own.listen(4)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(SOCK)
            call(s, HELLO_MSG)
            out["begin"] = call(s, msg(BEGIN, 2, struct.pack("=II", 0, 0)))[1]
            out["other"] = call(s, ports_msg(other_port))[1]
            out["begin_after_refusal"] = call(s, msg(BEGIN, 4, struct.pack("=II", 0, 0)))[1]
            if own:
                port = own.getsockname()[1]
                out["own"] = call(s, ports_msg(port, seq=5))[1]
                out["own_and_other"] = call(s, ports_msg(port, other_port, seq=6))[1]
                out["own_again"] = call(s, ports_msg(port, seq=7))[1]
            s.close()
        except BaseException as e:  # noqa: B902 (report, whatever it is)
            out["error"] = repr(e)
        b.send(json.dumps(out).encode())
        os._exit(0)
    b.close()
    data = a.recv(65536)
    os.waitpid(pid, 0)
    a.close()
    return pid, json.loads(data or b"{}")


def test_ports_owned(h):
    """A writer that is not root serves only ports it listens on: a process
    running as nobody (allowed to write by default, as nano-web runs as it)
    cannot make XDP answer another service's port, nor take the write
    session with anything but such a claim."""
    other = socket.socket()          # another service's port (root's)
    other.bind(("127.0.0.1", 0))
    other.listen(4)
    port = other.getsockname()[1]
    m = h.mark()
    try:
        pid, got = as_nobody(True, other)
        pid2, got2 = as_nobody(False, other)
    finally:
        other.close()
    check("nobody: BEGIN before claiming a port it listens on -> E_PERM",
          got.get("begin") == E_PERM and got2.get("begin") == E_PERM, "(%r %r)" % (got, got2))
    check("nobody: SET_PORTS of another process's listening port -> E_PERM",
          got.get("other") == E_PERM and got2.get("other") == E_PERM, "(%r %r)" % (got, got2))
    check("nobody: still no writing after that refusal",
          got.get("begin_after_refusal") == E_PERM, "(%r)" % got)
    check("nobody: SET_PORTS of its own listening port -> OK",
          "own" in got and got["own"] is None, "(%r)" % got)
    check("nobody: its own port plus another's -> E_PERM; its own alone again -> OK",
          got.get("own_and_other") == E_PERM and "own_again" in got and
          got["own_again"] is None, "(%r)" % got)
    log = h.since(m)
    check("the refusals are logged, naming the port and the client",
          ("SET_PORTS: port %d: client pid %d (uid %d) does not listen on it" %
           (port, pid, NOBODY)) in log, "(%s)" % log[-600:])
    check("the port of the other service was never served",
          ("port %d: served" % port) not in log, "(%s)" % log[-600:])


def test_ro_log(h):
    """Read-only peers connecting in a loop: their connect and disconnect
    lines are rate-limited (5, then one a second)."""
    m = h.mark()
    pid, socks = connect_as(62002, 1)
    close_all(socks)
    for _ in range(30):
        _, socks = connect_as(62002, 1)
        close_all(socks)
    time.sleep(0.3)
    lines = [ln for ln in h.since(m).splitlines() if "uid 62002" in ln]
    check("31 read-only connections (62 lines unlimited): at most 16 log "
          "lines about them", 1 <= len(lines) <= 16, "(%d)" % len(lines))


def test_stats_budget(h):
    """All read-only peers together: 20 STATS a second after a burst of 20,
    however many uids and connections ask."""
    time.sleep(1.5)   # the budget refills
    conns = [connect_as(62010 + i, 1) for i in range(4)]
    got = []
    t0 = time.monotonic()
    for _, (s,) in conns:
        got += [call(s, msg(STATS)) for _ in range(10)]
    refill = int(20 * (time.monotonic() - t0)) + 2
    ok = sum(1 for r in got if r and r[0] == STATS_REPLY)
    busy = sum(1 for r in got if r and r[0] == ERROR and r[1] == E_BUSY)
    check("4 uids, 40 STATS at once: 20 answered (plus %d refilled meanwhile), "
          "the others E_BUSY" % refill,
          20 <= ok <= 20 + refill and ok + busy == 40,
          "(%d answered, %d E_BUSY)" % (ok, busy))
    for _, socks in conns:
        close_all(socks)


def test_no_reader(h):
    """F5: a peer that does not read its replies is disconnected."""
    m = h.mark()
    pid, (s,) = connect_as(63001, 1)
    s.settimeout(5)
    sent, err = 0, None
    try:
        for _ in range(20000):
            s.send(HELLO_MSG)
            sent += 1
    except OSError as e:
        err = e
    closed = is_closed(s, 2.0)
    check("a peer sending HELLOs without reading is disconnected",
          closed, "(%d sent, %r)" % (sent, err))
    time.sleep(0.3)
    log = h.since(m)
    lost = lines_of(log, pid, "reply lost")
    check("one 'reply lost' line, and the reason of the disconnection",
          len(lost) == 1 and lines_of(log, pid, "does not read its replies"),
          "(%d lines)" % len(lost))
    s.close()


def test_second_helper(h):
    """F8: a second helper on a live helper's socket leaves it alone."""
    b = Helper("second", SOCK, "nwxd0", E.pin_dir + "-second")
    rc = b.wait_exit()
    out = b.text()
    check("a second helper on the same socket exits 1, naming the socket",
          rc == 1 and SOCK in out and "another nanoweb-xdpd" in out,
          "(rc %r: %s)" % (rc, out.strip().splitlines()[-1:] if out else ""))
    check("... before loading or attaching anything",
          "attached" not in out and "pinned" not in out,
          "(%r)" % out.strip().splitlines()[:4])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.connect(SOCK)
        r = call(s, HELLO_MSG)
        pid = struct.unpack_from("=I", r[2], 28)[0] if r and r[0] == HELLO_REPLY else None
    except OSError as e:
        pid = e
    s.close()
    check("the first helper still answers on its socket", pid == h.p.pid,
          "(helper pid %r, expected %d)" % (pid, h.p.pid))
    b.stop()


def test_background():
    """Without --foreground the helper returns once it serves, and lets go
    of the caller's standard output: out=$(nanoweb-xdpd ...) used to wait
    for the helper's exit."""
    sock = os.path.join(E.work, "run-bg", "xdpd.sock")
    pin = E.pin_dir + "-bg"
    errlog = os.path.join(E.work, "bg.log")
    t0 = time.monotonic()
    with open(errlog, "w") as err:
        try:
            p = subprocess.run([HELPER, "--iface", "nwxd0", "--mode", "generic",
                                "--socket", sock, "--pin-dir", pin, "--flow-entries",
                                "4096", "--cache-entries", "64"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=err, timeout=30)
            rc, out = p.returncode, p.stdout
        except subprocess.TimeoutExpired:
            rc, out = None, b""
    took = time.monotonic() - t0
    check("background start: returns 0 once ready, its output read to the end",
          rc == 0 and took < 25, "(rc %r after %.1f s: %s)" % (
              rc, took, open(errlog, errors="replace").read()[-300:]))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = None
    try:
        s.connect(sock)
        r = call(s, HELLO_MSG)
        pid = struct.unpack_from("=I", r[2], 28)[0] if r and r[0] == HELLO_REPLY else None
    except OSError:
        pass
    s.close()
    check("background start: the helper serves its socket", pid is not None, "")
    if pid:
        os.kill(pid, 15)
        check("background helper stops on SIGTERM",
              xt.wait_until(lambda: not os.path.exists(sock), 20), "")
    subprocess.run(["rm", "-rf", pin])


def start_exit(name, sockdir):
    """A helper on sockdir/xdpd.sock that should exit: (rc, its log, info)."""
    b = Helper(name, os.path.join(sockdir, "xdpd.sock"), "nwxd0",
               E.pin_dir + "-" + name)
    rc = b.wait_exit()
    out = b.text()
    b.stop()
    return rc, out, "(rc %r: %s)" % (rc, out.strip().splitlines()[-1:] if out else "")


def start_fails(name, sockdir):
    rc, out, info = start_exit(name, sockdir)
    return rc == 1 and "refusing the socket directory " + sockdir in out and \
        not os.path.exists(os.path.join(sockdir, "xdpd.sock")), info


def test_socket_dirs():
    """F7: the socket's directory; its mode."""
    for name, mode, owner in (("open", 0o777, 0), ("sticky", 0o1777, 0),
                              ("group", 0o775, 0), ("nobody", 0o755, NOBODY)):
        d = os.path.join(E.work, "dir-" + name)
        os.mkdir(d)
        os.chmod(d, mode)
        os.chown(d, owner, owner)
        ok, info = start_fails(name, d)
        check("socket directory %s (mode %04o, uid %d) refused: exit 1, "
              "nothing created" % (name, mode, owner), ok, info)
    # the directories above it: one writable by others lets them swap the
    # socket's directory (also when reached through a symlink); a sticky
    # one (/tmp) does not
    parent = os.path.join(E.work, "parent-open")
    os.mkdir(parent)
    os.chmod(parent, 0o777)
    d = os.path.join(parent, "run")
    os.mkdir(d, 0o755)
    ok, info = start_fails("parent-open", d)
    check("a socket directory under one writable by others (0777) refused",
          ok, info)
    link = os.path.join(E.work, "link-run")
    os.symlink(d, link)
    rc, out, info = start_exit("via-link", link)
    check("reached through a symlink, refused too, naming that parent",
          rc == 1 and "its parent %s " % parent in out, info)
    # a symlink on the way that another user owns (they may re-point it),
    # though it leads to a root 0755 directory
    good = os.path.join(E.work, "good-run")
    os.mkdir(good, 0o755)
    ulink = os.path.join(E.work, "user-link")
    os.symlink(good, ulink)
    os.lchown(ulink, NOBODY, NOBODY)
    rc, out, info = start_exit("user-link", ulink)
    check("a symlink owned by another user on the way: refused, naming it",
          rc == 1 and "the symlink %s (owner uid %d" % (ulink, NOBODY) in out
          and not os.path.exists(os.path.join(good, "xdpd.sock")), info)
    sticky = os.path.join(E.work, "parent-sticky")
    os.mkdir(sticky)
    os.chmod(sticky, 0o1777)
    d = os.path.join(sticky, "run")
    os.mkdir(d, 0o755)
    c = Helper("sticky-parent", os.path.join(d, "xdpd.sock"), "nwxd0",
               E.pin_dir + "-sticky-parent")
    up = c.wait_ready()
    check("under a sticky world-writable directory (like /tmp): it starts",
          up, "(%s)" % c.text().strip().splitlines()[-1:])
    check("and stops cleanly", c.stop() == 0)
    # root's 0700 directory, a stale socket left there, umask 077
    d = os.path.join(E.work, "dir-private")
    os.mkdir(d, 0o700)
    path = os.path.join(d, "xdpd.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    stale.bind(path)
    stale.close()
    c = Helper("private", path, "nwxd0", E.pin_dir + "-private", umask=0o077)
    up = c.wait_ready()
    check("root's 0700 directory with a stale socket in it: the helper starts",
          up, "(%s)" % c.text().strip().splitlines()[-1:])
    mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else None
    check("its socket is mode 0666 under umask 077", mode == 0o666,
          "(%r)" % (oct(mode) if mode is not None else None))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    check("and it answers", answers(s))
    s.close()
    check("it stops cleanly and removes its socket",
          c.stop() == 0 and not os.path.exists(path))


def test_old_layout():
    """A pinned cache map of the older layout (4096-byte responses, 8 KiB a
    kernel allocation) is replaced by one of the current layout."""
    pin = E.pin_dir + "-old-layout"
    os.makedirs(pin, exist_ok=True)
    path = os.path.join(pin, "nwx_resp")
    r = subprocess.run(["bpftool", "map", "create", path, "type", "hash",
                        "key", "16", "value", "4104", "entries", "128",
                        "name", "nwx_resp", "flags", "1"],
                       capture_output=True, text=True)
    if not check("an nwx_resp of the old layout pinned (bpftool)",
                 r.returncode == 0, r.stderr.strip()):
        return
    c = Helper("old-layout", os.path.join(E.work, "run-old", "xdpd.sock"),
               "nwxd0", pin)
    up = c.wait_ready()
    check("the helper starts over it, saying it replaces it",
          up and ("pinned map %s has another layout: replacing it" % path)
          in c.text(), "(%s)" % c.text().strip().splitlines()[-2:])
    r = subprocess.run(["bpftool", "-j", "map", "show", "pinned", path],
                       capture_output=True, text=True)
    try:
        vsize = json.loads(r.stdout).get("bytes_value")
    except ValueError:
        vsize = None
    check("the pinned map now holds responses of at most 4000 bytes "
          "(4008-byte values)", vsize == 4008, "(%r)" % vsize)
    check("it stops cleanly", c.stop() == 0)


def main():
    h = Helper("helper", SOCK, "lo", E.pin_dir)
    try:
        up = h.wait_ready()
        if not check("the helper starts (socket directory created by it)",
                     up, "" if up else "(%s)" % h.text()[-400:].strip()):
            return check.finish()
        st = os.stat(os.path.dirname(SOCK))
        check("it created its socket directory 0755",
              stat.S_IMODE(st.st_mode) == 0o755)
        test_stats_rate(h)
        test_stats_flood(h)
        test_per_uid(h)
        test_evict(h)
        test_bad_run(h)
        test_copy_active(h)
        test_ro_log(h)
        test_stats_budget(h)
        test_no_reader(h)
        test_ports_owned(h)
        test_second_helper(h)
        test_background()
        test_socket_dirs()
        test_old_layout()
        check("the helper is still running", h.p.poll() is None)
    finally:
        check("the helper stops cleanly (exit 0)", h.stop() == 0)
        E.stop_all()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
