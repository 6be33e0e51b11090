"""nano-web's kernel path client against a fake nanoweb-xdpd.

A Python stand-in for the helper speaks common/nanoweb_xdp_proto.h on a Unix
SOCK_SEQPACKET socket and records what nano-web pushes. Checks: the session
(HELLO, SET_PORTS, BEGIN, PUT..., COMMIT); every pushed response equals what
nano-web itself sends for that request (except Date, whose offset must point
at the 29-byte placeholder); every eligible variant is pushed, GET and HEAD,
and nothing too large or that XDP cannot serve; `avail` masks; /_stats shows
the helper's counters; a reload pushes a new generation without the vanished
file; a helper that goes away is reported once and nano-web re-pushes when it
comes back; error replies (collision) do not stop a push; a helper that
announces NWX_FEAT_NOT_MODIFIED gets one 304 per path and coding (equal to
nano-web's own 304 of that coding, GET and HEAD), an older one none.

No root needed (as root nano-web drops to nobody; the socket allows it).
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwx  # noqa: E402
import xt  # noqa: E402

HDR = struct.Struct("=IHHII")
MSG = dict(HELLO=1, BEGIN=2, PUT=3, DELETE=4, COMMIT=5, ABORT=6, SET_PORTS=7,
           STATS=8, OK=0x101, HELLO_REPLY=0x102, STATS_REPLY=0x103,
           ERROR=0x1ff)
E_COLLISION, E_PERM, E_NOSPC = 7, 3, 6
ENC = {0: None, 1: "gzip", 2: "br", 3: "zstd"}
check = xt.Checker()


class FakeHelper:
    def __init__(self, path, may_write=True, collide=(), capacity=None,
                 features=None):
        self.path = path
        self.features = features   # None: an older helper's shorter HELLO_REPLY
        self.capacity = capacity   # PUTs beyond it: E_NOSPC (cache full)
        self.may_write = may_write
        self.collide = set(collide)
        self.events = []       # (type, fields) in order, over all connections
        self.committed = {}    # generation -> {(path, method, enc): (avail, off, bytes)}
        self.staging = {}
        self.order = []        # PUT keys of the current staging generation
        self.gen = 100
        self.ports = None
        self.conns = 0
        self.lock = threading.Lock()
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.srv.bind(path)
        os.chmod(path, 0o777)
        self.srv.listen(8)
        self.stop_ev = threading.Event()
        self.clients = []
        self.t = threading.Thread(target=self.accept_loop, daemon=True)
        self.t.start()

    def accept_loop(self):
        self.srv.settimeout(0.1)
        while not self.stop_ev.is_set():
            try:
                c, _ = self.srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns += 1
            self.clients.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def reply(self, c, seq, typ, body=b""):
        c.send(HDR.pack(HDR.size + len(body), typ, 0, seq, 0) + body)

    def serve(self, c):
        c.settimeout(0.2)
        while not self.stop_ev.is_set():
            try:
                m = c.recv(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            if not m:
                with self.lock:
                    self.events.append(("CLOSE", None))
                return
            ln, typ, flags, seq, _ = HDR.unpack_from(m)
            body = m[HDR.size:]
            if ln != len(m):
                self.events.append(("BADLEN", (ln, len(m))))
                return
            with self.lock:
                self.handle(c, typ, seq, body)

    def handle(self, c, typ, seq, body):
        if typ == MSG["HELLO"]:
            ver, pid = struct.unpack_from("=II", body)
            self.events.append(("HELLO", (ver, pid)))
            body = struct.pack(
                "=8I", 1, 1 if self.may_write else 0, 1400, 256,
                self.capacity or 4096, 65536, self.gen, os.getpid())
            if self.features is not None:
                body += struct.pack("=II", 0, self.features)
            self.reply(c, seq, MSG["HELLO_REPLY"], body)
        elif typ == MSG["SET_PORTS"]:
            n, _ = struct.unpack_from("=HH", body)
            self.ports = list(struct.unpack_from("=%dH" % n, body, 4))
            self.events.append(("SET_PORTS", self.ports))
            self.reply(c, seq, MSG["OK"], struct.pack("=II", 0, n))
        elif typ == MSG["BEGIN"]:
            flags, _ = struct.unpack_from("=II", body)
            self.gen += 1
            self.staging = {}
            self.order = []
            self.events.append(("BEGIN", flags))
            self.reply(c, seq, MSG["OK"], struct.pack("=II", self.gen, 0))
        elif typ == MSG["PUT"]:
            gen, meth, enc, avail, _, plen, doff, rlen = \
                struct.unpack_from("=IBBBBHHI", body)
            path = body[16:16 + plen].decode()
            resp = body[16 + plen:]
            if gen != self.gen or len(resp) != rlen:
                self.events.append(("BADPUT", (path, gen, rlen, len(resp))))
                self.err(c, seq, 4, "bad put")
                return
            if path in self.collide:
                self.events.append(("COLLIDE", path))
                self.err(c, seq, E_COLLISION, "collision")
                return
            if self.capacity is not None and len(self.staging) >= self.capacity:
                self.err(c, seq, E_NOSPC, "cache full")
                return
            self.staging[(path, meth, enc)] = (avail, doff, resp)
            self.order.append((path, meth, enc))
            self.reply(c, seq, MSG["OK"], struct.pack("=II", gen, 1))
        elif typ == MSG["COMMIT"]:
            gen, _ = struct.unpack_from("=II", body)
            self.committed[gen] = self.staging
            self.events.append(("COMMIT", gen))
            self.reply(c, seq, MSG["OK"], struct.pack("=II", gen,
                                                      len(self.staging)))
        elif typ == MSG["ABORT"]:
            self.events.append(("ABORT", None))
            self.reply(c, seq, MSG["OK"], struct.pack("=II", self.gen, 0))
        elif typ == MSG["STATS"]:
            vals = list(range(1, 26)) + [777]   # one more than known: a newer helper
            self.reply(c, seq, MSG["STATS_REPLY"], struct.pack("=26Q", *vals))
        else:
            self.err(c, seq, 1, "unknown type")

    def err(self, c, seq, code, text):
        t = text.encode()
        self.reply(c, seq, MSG["ERROR"], struct.pack("=II", code, len(t)) + t)

    def last(self):
        with self.lock:
            if not self.committed:
                return None, {}
            g = max(self.committed)
            return g, self.committed[g]

    def close(self):
        self.stop_ev.set()
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass
        self.srv.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
        self.t.join(2)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    builddir = os.environ.get("NW_BUILDDIR", os.getcwd())
    nanoweb = os.path.join(builddir, "nano-web")
    work = tempfile.mkdtemp(prefix="nwx-client.")
    os.chmod(work, 0o755)
    site = os.path.join(work, "site")
    os.makedirs(os.path.join(site, "sub"))
    files = {
        "index.html": "<html><body>%s</body></html>\n" % ("hello kernel path " * 30),
        "style.css": "body{margin:0}\n" + "/* static */\n" * 40,
        "tiny.txt": "tiny\n",
        "sub/index.html": "<p>%s</p>\n" % ("sub page " * 40),
        "big.html": "<p>%s</p>\n" % " ".join(str(i * 7919 % 10007) for i in range(6000)),
        "a b.txt": "space in the name\n",
        ".hidden.txt": "hidden\n",
        "gone.txt": "this file vanishes on reload\n",
        "collide.txt": "the fake helper says: hash collision\n",
    }
    for n, b in files.items():
        with open(os.path.join(site, n), "w") as f:
            f.write(b)
    for dp, dn, fn in os.walk(site):
        os.chmod(dp, 0o755)
        for x in fn:
            os.chmod(os.path.join(dp, x), 0o644)
    sock = os.path.join(work, "xdpd.sock")
    ini = os.path.join(work, "nanoweb.ini")
    with open(ini, "w") as f:
        f.write("[xdp]\nsocket = %s\niface = lo\n" % sock)
    port = free_port()
    fake = FakeHelper(sock, collide=["/collide.txt"])
    logf = open(os.path.join(work, "nanoweb.log"), "wb")
    p = subprocess.Popen([nanoweb, "serve", site, "--port", str(port),
                          "--listen", "127.0.0.1", "--xdp", "auto",
                          "--config", ini], stdout=logf,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    rc = 1
    try:
        rc = run(p, fake, port, site, sock, work)
    except Exception:
        import traceback
        traceback.print_exc()
        check.failed.append("exception")
        check.finish()
    finally:
        stop_run(p, logf, fake)
        if rc:
            with open(os.path.join(work, "nanoweb.log"), "rb") as f:
                sys.stdout.write(f.read().decode("utf-8", "replace")[-4000:])
        shutil.rmtree(work, ignore_errors=True)
    return rc


def nw_log(work):
    with open(os.path.join(work, "nanoweb.log"), "rb") as f:
        return f.read().decode("utf-8", "replace")


def verify_pushed(entries, port, tag):
    """Every pushed response equals nano-web's own answer (except Date)."""
    bad = []
    for (path, meth, enc), (avail, doff, resp) in sorted(entries.items()):
        m = "GET" if meth == 0 else "HEAD"
        hdrs = ["Accept-Encoding: " + ENC[enc]] if ENC[enc] else []
        r = nwx.fetch("127.0.0.1", port, m, path, hdrs)
        if doff == 0xffff or resp[doff:doff + 29] != b"Thu, 01 Jan 1970 00:00:00 GMT" \
                or resp[doff - 8:doff] != b"\r\nDate: ":
            bad.append("%s %s enc %d: date offset %d" % (m, path, enc, doff))
        d = nwx.parity_diff(resp, r.raw)
        if d:
            bad.append("%s %s enc %d: %s" % (m, path, enc, d))
        if not avail & 1 or not avail & (1 << enc):
            bad.append("%s %s: avail %#x" % (m, path, avail))
    check("%s: %d pushed responses equal nano-web's own (Date offset right)"
          % (tag, len(entries)), not bad and entries, "; ".join(bad[:4]))


def expected_keys(port, paths, limit=1400):
    """(path, method, enc) that should be pushed: every variant nano-web has
    whose response fits the limit, for GET and HEAD."""
    keys = set()
    for path in paths:
        for enc, tok in ENC.items():
            hdrs = ["Accept-Encoding: " + tok] if tok else []
            r = nwx.fetch("127.0.0.1", port, "GET", path, hdrs)
            got = r.headers.get("content-encoding")
            if (got or None) != tok:
                continue
            if len(r.raw) <= limit:
                keys.add((path, 0, enc))
            keys.add((path, 1, enc))
    return keys


def run(p, fake, port, site, sock, work):
    ok = xt.wait_until(lambda: fake.last()[0] is not None, 15)
    ev = [e[0] for e in fake.events]
    i = ev.index("SET_PORTS") if "SET_PORTS" in ev else 0
    check("session: HELLO, SET_PORTS, BEGIN, PUTs, COMMIT", ok and i > 0 and
          ev[i - 1:i + 2] == ["HELLO", "SET_PORTS", "BEGIN"] and
          fake.events[i - 1][1][0] == 1 and fake.ports == [port] and
          "COMMIT" in ev[i:] and "BADPUT" not in ev and "BADLEN" not in ev,
          "(%r)" % fake.events[:4])
    xt.wait_until(lambda: nwx.fetch("127.0.0.1", port, "GET", "/_health").status == 200, 10)
    gen, entries = fake.last()
    verify_pushed(entries, port, "first push")
    check("a helper without NWX_FEAT_NOT_MODIFIED gets no 304",
          entries and not any(k[1] == 2 for k in entries))
    paths = ["/", "/index.html", "/style.css", "/tiny.txt", "/sub/",
             "/sub/index.html", "/gone.txt", "/big.html"]
    want = expected_keys(port, paths)
    got = set(entries)
    check("every eligible variant pushed, GET and HEAD", want <= got,
          "(missing %r)" % sorted(want - got)[:6])
    check("nothing too large pushed (big.html GET)",
          not any(k[0] == "/big.html" and k[1] == 0 for k in got))
    check("HEAD of a large file pushed", ("/big.html", 1, 0) in got)
    check("paths XDP cannot serve are not pushed",
          not any(k[0] in ("/a b.txt", "/.hidden.txt") for k in got))
    check("a collision reply does not stop the push",
          ("COLLIDE", "/collide.txt") in fake.events and want <= got)
    check("only known keys pushed", got <= want | {k for k in got if k[0] in paths},
          "(%r)" % sorted(got - want)[:5])

    st = json.loads(nwx.fetch("127.0.0.1", port, "GET", "/_stats").body)
    x = st.get("xdp") or {}
    check("/_stats has the helper's counters",
          x.get("connected") is True and x.get("hits") == 1 and
          x.get("syn_cookies") == 5 and x.get("invalid_dropped") == 7 and
          x.get("map_memory") == 15 and x.get("interfaces") == 20 and
          x.get("multiseg") == 21 and x.get("loss_probes") == 23 and
          x.get("memo_hits") == 24 and x.get("not_modified") == 25 and
          777 not in x.values() and
          x.get("snapshot_generation") == st["snapshot"]["generation"],
          "(%r)" % x)

    # reload: changed file pushed, vanished file gone, in a new generation
    with open(os.path.join(site, "tiny.txt"), "w") as f:
        f.write("tiny v2\n")
    os.unlink(os.path.join(site, "gone.txt"))
    n0 = nw_log(work).count("reloaded")
    p.send_signal(signal.SIGHUP)
    ok = xt.wait_until(lambda: nw_log(work).count("reloaded") > n0, 15)
    gen2, entries2 = fake.last()
    check("reload: a new generation committed before nano-web reports it",
          ok and gen2 > gen)
    check("reload: new body pushed, vanished file gone",
          entries2.get(("/tiny.txt", 0, 0), (0, 0, b""))[2].endswith(b"tiny v2\n")
          and not any(k[0] == "/gone.txt" for k in entries2))
    verify_pushed(entries2, port, "after reload")

    # the helper goes away: one log line, userspace serves; it comes back:
    # nano-web reconnects and pushes again
    fake.close()
    time.sleep(2.5)
    r = nwx.fetch("127.0.0.1", port, "GET", "/tiny.txt")
    st = json.loads(nwx.fetch("127.0.0.1", port, "GET", "/_stats").body)
    lost = [ln for ln in nw_log(work).splitlines() if "kernel path" in ln
            and ("lost" in ln or "cannot use" in ln)]
    check("helper gone: one log line, userspace serves, /_stats xdp null",
          len(lost) == 1 and r.status == 200 and st.get("xdp") is None,
          "(%d lines: %r)" % (len(lost), lost))
    fake2 = FakeHelper(sock)
    try:
        ok = xt.wait_until(lambda: fake2.last()[0] is not None, 10)
        gen3, entries3 = fake2.last()
        check("helper back: reconnect and re-push within seconds",
              ok and {k for k in entries3 if k[0] != "/collide.txt"} == set(entries2))
        st = json.loads(nwx.fetch("127.0.0.1", port, "GET", "/_stats").body)
        check("helper back: /_stats connected again",
              (st.get("xdp") or {}).get("connected") is True)
        # clean exit closes the session
        p.send_signal(signal.SIGTERM)
        rc = p.wait(15)
        xt.wait_until(lambda: ("CLOSE", None) in fake2.events, 5)
        check("nano-web exits 0 and closes the session", rc == 0 and
              ("CLOSE", None) in fake2.events, "(rc %r)" % rc)
    finally:
        fake2.close()

    # a helper that does not let us write: said once, userspace serves
    fake3 = FakeHelper(sock, may_write=False)
    try:
        logf = open(os.path.join(work, "nanoweb2.log"), "wb")
        p2 = subprocess.Popen([os.path.join(os.environ.get("NW_BUILDDIR", "."), "nano-web"),
                               "serve", site, "--port", str(port), "--listen",
                               "127.0.0.1", "--xdp", "auto", "--config",
                               os.path.join(work, "nanoweb.ini")],
                              stdout=logf, stderr=subprocess.STDOUT)
        xt.wait_until(lambda: nwx.fetch("127.0.0.1", port, "GET", "/_health").status == 200, 10)
        time.sleep(2.5)
        with open(os.path.join(work, "nanoweb2.log")) as f:
            lines = [ln for ln in f if "kernel path" in ln]
        r = nwx.fetch("127.0.0.1", port, "GET", "/index.html")
        check("helper refuses writes: one log line, nothing pushed, userspace serves",
              len(lines) == 1 and "may not change" in lines[0] and
              not fake3.committed and r.status == 200, "(%r)" % lines)
        p2.send_signal(signal.SIGTERM)
        p2.wait(10)
        logf.close()
    finally:
        fake3.close()
    full_cache_order(site, port, sock, work)
    hot_push(site, port, sock, work)
    hot_push_cap(site, port, sock, work)
    hot_push_alias_and_rest(site, port, sock, work)
    not_modified_pushed(site, port, sock, work)
    return check.finish()


def push_with_capacity(site, port, sock, work, cap, name):
    """Starts nano-web against a fake helper holding `cap` entries (None:
    unlimited); returns (committed entries, nano-web's log)."""
    fake, p, logf = push_with_features(site, port, sock, work, None, cap, name)
    try:
        xt.wait_until(lambda: fake.last()[0] is not None, 15)
        _, entries = fake.last()
    finally:
        stop_run(p, logf, fake)
    with open(os.path.join(work, name + ".log")) as f:
        return entries, f.read()


def tier(key):
    """Push priority of (path, method, enc): depth first, then GET, 304
    (method 2), HEAD."""
    return (key[0].count("/"), {0: 0, 2: 1, 1: 2}[key[1]])


def full_cache_order(site, port, sock, work):
    """A cache too small for the site gets the shallowest paths first, at
    each depth the GETs before the HEADs: nothing of a later tier while
    something of an earlier one is left out. nano-web says it is full."""
    for i in range(12):
        with open(os.path.join(site, "sub", "deep%02d.txt" % i), "w") as f:
            f.write("deep page %d\n" % i)
    everything, _ = push_with_capacity(site, port, sock, work, None, "nanoweb3")
    tiers = sorted({tier(k) for k in everything})
    first = [k for k in everything if tier(k) == tiers[0]]
    check("full cache: the site has several tiers (depth, method)",
          len(tiers) >= 4 and len(first) > 4, "(%r)" % tiers)
    for cap in (4, len(first) + 3):
        entries, log = push_with_capacity(site, port, sock, work, cap, "nanoweb4")
        keys = set(entries)
        worst = max((tier(k) for k in keys), default=None)
        skipped = [k for k in everything if k not in keys and worst and tier(k) < worst]
        check("full cache of %d: as many entries as it holds" % cap,
              len(keys) == cap, "(%r)" % sorted(keys))
        check("full cache of %d: nothing of a later tier while an earlier "
              "one is left out" % cap, not skipped, "(left out %r, have %r)"
              % (sorted(skipped)[:4], sorted(keys)[:8]))
        check("full cache of %d: nano-web says so" % cap, "cache is FULL" in log,
              log[-500:])
    check("full cache of 4: the front page's GETs",
          any(k[0] == "/" and k[1] == 0 for k in push_with_capacity(
              site, port, sock, work, 4, "nanoweb5")[0]))


def hot_push(site, port, sock, work):
    """A full cache is pushed again with what nano-web answered itself
    first: after GETs of a deep page the cache left out, a new generation
    holds that answer, not the ones nobody asked for (and no more than the
    cache holds),
    /_stats counts the push; requests for the deep page once it is in cause
    no further push."""
    deep = "/sub/deep07.txt"
    fake, p, logf = push_with_features(site, port, sock, work, None, cap=6)
    try:
        xt.wait_until(lambda: fake.last()[0] is not None, 15)
        xt.wait_until(lambda: nwx.fetch("127.0.0.1", port, "GET", "/_health").status == 200, 10)
        g0, first = fake.last()
        check("hot push: the deep page is left out at first",
              len(first) == 6 and not any(k[0] == deep for k in first),
              "(%r)" % sorted(first))
        for _ in range(40):
            nwx.fetch("127.0.0.1", port, "GET", deep)
        has_deep = lambda: (deep, 0, 0) in fake.last()[1]   # noqa: E731
        xt.wait_until(has_deep, 15)
        g1, again = fake.last()
        check("hot push: after 40 GETs of it, a new generation holds that "
              "answer (not its HEAD, never asked for), 6 entries in all",
              g1 > g0 and (deep, 0, 0) in again and (deep, 1, 0) not in again
              and len(again) == 6, "(%r)" % sorted(again))
        st = json.loads(nwx.fetch("127.0.0.1", port, "GET", "/_stats").body)
        check("hot push: /_stats counts it",
              (st.get("xdp") or {}).get("hot_pushes") == 1, "(%r)" % st.get("xdp"))
        for _ in range(40):
            nwx.fetch("127.0.0.1", port, "GET", deep)
        time.sleep(6)
        check("hot push: requests for it once it is in cause no further push",
              fake.last()[0] == g1, "(generation %r after %r)" % (fake.last()[0], g1))
    finally:
        stop_run(p, logf, fake)
    with open(os.path.join(work, "nanoweb6.log")) as f:
        log = f.read()
    check("hot push: nano-web says it pushes again", "pushed again" in log, log[-400:])


def hot_push_cap(site, port, sock, work):
    """What is in demand takes half the cache at most: with 4 deep pages
    asked for and a cache of 6, the push for demand holds 3 of them and
    the front page's GET (XDP's own hits are not seen by nano-web, so the
    shallowest paths keep the other half)."""
    deep = ["/sub/deep%02d.txt" % i for i in range(1, 5)]
    fake, p, logf = push_with_features(site, port, sock, work, None, cap=6)
    try:
        xt.wait_until(lambda: fake.last()[0] is not None, 15)
        xt.wait_until(lambda: nwx.fetch("127.0.0.1", port, "GET", "/_health").status == 200, 10)
        g0 = fake.last()[0]
        for _ in range(12):
            for d in deep:
                nwx.fetch("127.0.0.1", port, "GET", d)
        xt.wait_until(lambda: fake.last()[0] != g0, 15)
        g1, entries = fake.last()
        got = [k for k in entries if k[0] in deep]
        check("hot push into a cache of 6, 4 pages in demand: 3 of them, "
              "and the front page's GET", g1 != g0 and len(got) == 3 and
              ("/", 0, 0) in entries, "(%r)" % sorted(entries))
    finally:
        stop_run(p, logf, fake)


def hot_push_alias_and_rest(site, port, sock, work):
    """Two keys of one resource ("/sub/" and "/sub/index.html"): with the
    first in the cache and the second not, requests for the second still
    bring a push for demand that holds it. Then a helper with room for
    everything: its push holds every answer, those of the page in demand
    that nobody asked for too."""
    everything, _ = push_with_capacity(site, port, sock, work, None, "nanoweb7")
    keys = list(everything)
    cap = keys.index(("/sub/index.html", 0, 0))
    check("alias: the full push order has /sub/ before /sub/index.html",
          ("/sub/", 0, 0) in keys[:cap], "(%r)" % keys[:cap + 1])
    fake, p, logf = push_with_features(site, port, sock, work, None, cap=cap)
    try:
        xt.wait_until(lambda: fake.last()[0] is not None, 15)
        xt.wait_until(lambda: nwx.fetch("127.0.0.1", port, "GET", "/_health").status == 200, 10)
        for _ in range(40):
            nwx.fetch("127.0.0.1", port, "GET", "/sub/index.html",
                      ["Accept-Encoding: gzip"])
        ok = xt.wait_until(lambda: ("/sub/index.html", 0, 1) in fake.last()[1], 15)
        check("alias: /sub/ cached, 40 GETs of /sub/index.html (gzip): pushed "
              "for demand", ok, "(%r)" % sorted(fake.last()[1])[:8])
        fake.close()
        fake = FakeHelper(sock)   # room for everything: nano-web reconnects
        ok = xt.wait_until(lambda: set(fake.last()[1]) == set(everything), 15)
        check("a helper with room for everything after a push for demand: "
              "every answer pushed (%d)" % len(everything), ok,
              "(missing %r)" % sorted(set(everything) - set(fake.last()[1]))[:6])
    finally:
        stop_run(p, logf, fake)


def stop_run(p, logf, fake):
    """Stops nano-web (SIGTERM, then SIGKILL after 10 s) and closes its
    log and the fake helper."""
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
    logf.close()
    fake.close()


def push_with_features(site, port, sock, work, features, cap=None,
                       name="nanoweb6"):
    """(fake helper, nano-web, its log file) against a fake helper with
    `features` and `cap` entries; nano-web logs to WORK/name.log and keeps
    running: the caller stops it (stop_run)."""
    fake = FakeHelper(sock, features=features, capacity=cap)
    logf = open(os.path.join(work, name + ".log"), "wb")
    p = subprocess.Popen([os.path.join(os.environ.get("NW_BUILDDIR", "."), "nano-web"),
                          "serve", site, "--port", str(port), "--listen",
                          "127.0.0.1", "--xdp", "auto", "--config",
                          os.path.join(work, "nanoweb.ini")],
                         stdout=logf, stderr=subprocess.STDOUT)
    return fake, p, logf


def not_modified_pushed(site, port, sock, work):
    """NWX_FEAT_NOT_MODIFIED: one 304 per (path, coding) pushed (method 2,
    the path's avail), byte-equal (but Date) to what nano-web sends for GET
    and HEAD with If-None-Match: that coding's ETag and an Accept-Encoding
    that selects it; the push order puts them between GETs and HEADs."""
    fake, p, logf = push_with_features(site, port, sock, work, 1)
    try:
        xt.wait_until(lambda: fake.last()[0] is not None, 15)
        xt.wait_until(lambda: nwx.fetch("127.0.0.1", port, "GET", "/_health").status == 200, 10)
        _, entries = fake.last()
        nm = {k: v for k, v in entries.items() if k[1] == 2}
        heads = {(k[0], k[2]) for k in entries if k[1] == 1}
        bad = []
        for (path, meth, enc), (avail, doff, resp) in sorted(nm.items()):
            others = {v[0] for k, v in entries.items() if k[0] == path}
            if others != {avail}:
                bad.append("%s: avail %r" % (path, others))
            if resp[doff:doff + 29] != b"Thu, 01 Jan 1970 00:00:00 GMT":
                bad.append("%s: date offset %d" % (path, doff))
            ae = ["Accept-Encoding: " + ENC[enc]] if ENC[enc] else []
            etag = nwx.fetch("127.0.0.1", port, "GET", path, ae).headers.get("etag")
            for m in ("GET", "HEAD"):
                r = nwx.fetch("127.0.0.1", port, m, path,
                              ae + ["If-None-Match: " + etag])
                d = nwx.parity_diff(resp, r.raw)
                if r.status != 304 or d:
                    bad.append("%s %s %s: %d %s" % (m, path, ENC[enc], r.status, d))
        check("304s pushed to a helper with NWX_FEAT_NOT_MODIFIED: one per "
              "(path, coding) (%d), equal to nano-web's own (GET and HEAD)"
              % len(nm), nm and {(k[0], k[2]) for k in nm} == heads and
              len({k[2] for k in nm}) == 4 and not bad,
              "; ".join(bad[:4]) + " (%r)" % sorted(heads ^ {(k[0], k[2]) for k in nm}))
        seq = [k for k in fake.order]
        tiers = [tier(k) for k in seq]
        check("304s pushed after the GETs and before the HEADs of their depth",
              tiers == sorted(tiers), "(%r)" % seq[:12])
    finally:
        stop_run(p, logf, fake)


if __name__ == "__main__":
    sys.exit(main())
