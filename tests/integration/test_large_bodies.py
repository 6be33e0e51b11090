#!/usr/bin/env python3
"""Bodies of 256 KiB or more live in sealed memfds and go out by sendfile:
every byte, every range, HEAD and the compressed variants must be what the
file holds, across a reload, and the descriptors must be the memfds (a
plain heap copy would pass the byte checks too)."""
import hashlib
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402
from nwtest import Server, Site, wait_for  # noqa: E402

t = nwtest.Tests("large_bodies")
KIB = 1024


def body(seed, n):
    out, d = [], hashlib.sha256(seed.encode()).digest()
    while len(out) * 32 < n:
        d = hashlib.sha256(d).digest()
        out.append(d)
    return b"".join(out)[:n]


def memfd_fds(srv):
    """The server's descriptors of memfd bodies, as (fd, inode): a body's
    own, and a dup of it in its 200 response once that is built."""
    d = "/proc/%d/fd" % srv.proc.pid
    out = []
    for fd in os.listdir(d):
        try:
            if os.readlink(os.path.join(d, fd)).startswith("/memfd:nano-web body"):
                out.append((fd, os.stat(os.path.join(d, fd)).st_ino))
        except OSError:
            pass
    return out


def memfds(srv):
    """Distinct memfd bodies the server holds open."""
    return len({ino for _, ino in memfd_fds(srv)})


# descriptors for memfds whatever the host's limit: 2,048 with 100
# connections leaves room; the default 10,000 would need more
ROOMY = dict(config="[limits]\nmax_connections = 100\n",
             prefix=["prlimit", "--nofile=2048:2048", "--"])


@t.case
def served_from_memfds():
    big, edge, small = body("big", 1024 * KIB), body("edge", 256 * KIB), body("small", 256 * KIB - 1)
    text = nwtest.compressible_text(600 * KIB).encode()
    s = Site({"big.bin": big, "edge.bin": edge, "small.bin": small, "app.js": text})
    srv = Server(s.root, **ROOMY)
    # big.bin, edge.bin and app.js's identity (its compressed forms are far
    # smaller); not small.bin, one byte under the limit
    t.eq("memfds: one per body of 256 KiB or more", memfds(srv), 3)
    t.eq("no response built yet: one descriptor each", len(memfd_fds(srv)), 3)
    for name, data in (("big.bin", big), ("edge.bin", edge), ("small.bin", small),
                       ("app.js", text)):
        r = srv.get("/" + name)
        t.eq(name + ": 200 and every byte", (r.status, r.body == data), (200, True))
        t.eq(name + ": Content-Length", r.h("Content-Length"), str(len(data)))
        h = srv.head("/" + name)
        t.eq(name + ": HEAD has the length, no body", (h.status, h.h("Content-Length"), h.body),
             (200, str(len(data)), b""))
    for rng, lo, hi in (("bytes=0-0", 0, 0), ("bytes=131071-131072", 131071, 131072),
                        ("bytes=-100", len(big) - 100, len(big) - 1),
                        ("bytes=1000000-", 1000000, len(big) - 1)):
        r = srv.get("/big.bin", {"Range": rng})
        t.eq("big.bin %s: 206 and those bytes" % rng, (r.status, r.body == big[lo:hi + 1]),
             (206, True))
    t.eq("the three 200s are sent from the memfds: a second descriptor each",
         len(memfd_fds(srv)), 6)
    r = srv.get("/big.bin")
    r2 = srv.get("/big.bin", {"If-None-Match": r.h("ETag")})
    t.eq("big.bin revalidated: 304", r2.status, 304)
    for enc in ("gzip", "br", "zstd"):
        r = srv.get("/app.js", {"Accept-Encoding": enc})
        t.eq("app.js %s: decodes to the file" % enc,
             (r.h("Content-Encoding"), nwtest.decode(r.body, enc) == text), (enc, True))
    # many connections at once on one shared response: each gets its own offsets
    conns = [srv.conn() for _ in range(8)]
    for c in conns:
        c.request("GET", "/big.bin")
    ok = all(c.getresponse().read() == big for c in conns)
    t.check("8 concurrent downloads of one memfd body are each whole", ok, "")
    for c in conns:
        c.close()

    old = {ino for _, ino in memfd_fds(srv)}
    new = body("new", 512 * KIB)
    s.write("big.bin", new)
    srv.signal(signal.SIGHUP)
    t.check("after a reload: the new body",
            wait_for(lambda: srv.get("/big.bin").body == new), "")
    t.check("after a reload: none of the old snapshot's memfds is open",
            wait_for(lambda: not old & {ino for _, ino in memfd_fds(srv)}),
            "%s" % memfd_fds(srv))
    t.eq("after a reload: the new snapshot's three memfds", memfds(srv), 3)
    srv.stop_checked(t)


@t.case
def few_descriptors_keep_bodies_in_memory():
    """Descriptors go to connections first: with 2,048 of them and the
    default max_connections (10,000) no body takes one, and all are still
    served whole."""
    big = body("big", 1024 * KIB)
    s = Site({"big.bin": big})
    srv = Server(s.root, prefix=["prlimit", "--nofile=2048:2048", "--"])
    t.eq("no memfds when descriptors are short", memfds(srv), 0)
    r = srv.get("/big.bin")
    t.eq("big.bin from memory: 200 and every byte", (r.status, r.body == big), (200, True))
    srv.stop_checked(t)
    srv = Server(s.root, **ROOMY)
    t.eq("with max_connections = 100 the same limit leaves room: a memfd", memfds(srv), 1)
    t.eq("big.bin from its memfd: every byte", srv.get("/big.bin").body == big, True)
    srv.stop_checked(t)


def open_fds(pid):
    return {int(fd) for fd in os.listdir("/proc/%d/fd" % pid)}


def lowest_free_fd_once_settled(pid):
    """The lowest descriptor number pid has free, once its descriptors
    stayed the same for a second: the server may still hold the socket of
    a connection its client closed (the readiness checks'), and closing it
    later would leave a free number under the limit."""
    last, since = open_fds(pid), time.monotonic()
    deadline = since + 15
    while time.monotonic() - since < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        now = open_fds(pid)
        if now != last:
            last, since = now, time.monotonic()
    n = 0
    while n in last:
        n += 1
    return n


@t.case
def no_descriptor_for_the_response_serves_from_memory():
    """The 200 of a memfd body is sent from a dup of the memfd; when no
    descriptor is left for the dup (the process at its limit) the response
    is built from the mapping instead: still a 200 with every byte."""
    big = body("big", 1024 * KIB)
    s = Site({"big.bin": big})
    # as our own user (user = empty keeps root): prlimit on another user's
    # process needs CAP_SYS_RESOURCE, which root lacks on some machines
    srv = Server(s.root, config="[server]\nuser =\n" + ROOMY["config"],
                 prefix=ROOMY["prefix"])
    t.eq("a memfd, no response built yet", len(memfd_fds(srv)), 1)
    c = srv.conn()
    c.request("GET", "/_health")
    c.getresponse().read()
    # every descriptor number under the soft limit taken: dup fails (EMFILE)
    pid = srv.proc.pid
    limit = lowest_free_fd_once_settled(pid)
    subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:2048" % limit], check=True)
    c.request("GET", "/big.bin")
    r = c.getresponse()
    data = r.read()
    t.eq("at the descriptor limit: 200 and every byte", (r.status, data == big), (200, True))
    t.eq("at the descriptor limit: no second descriptor for the memfd",
         len(memfd_fds(srv)), 1)
    c.close()
    subprocess.run(["prlimit", "--pid", str(pid), "--nofile=2048:2048"], check=True)
    r = srv.get("/big.bin")
    t.eq("limit raised again: still every byte", (r.status, r.body == big), (200, True))
    srv.stop_checked(t)


if __name__ == "__main__":
    t.main()
