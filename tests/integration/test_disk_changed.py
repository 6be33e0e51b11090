#!/usr/bin/env python3
"""A large file served from disk and overwritten in place (same inode) after
loading: nano-web must not send the length and ETag recorded at load (the
client would wait for bytes that do not exist) but 503 until a reload."""
import hashlib
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402
from nwtest import Server, Site, wait_for  # noqa: E402

t = nwtest.Tests("disk_changed")
CONFIG = "[limits]\nmax_memory_file = 64K\n"


def body(seed, n):
    d = hashlib.sha256(seed.encode()).digest()
    return (d * (n // len(d) + 1))[:n]


def overwrite_in_place(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def check_503(label, r, elapsed):
    t.eq(label + " -> 503", r.status, 503)
    t.check(label + " answered at once (no hang)", elapsed < 3.0, "%.1f s" % elapsed)
    t.eq(label + " Retry-After", r.h("Retry-After"), "1")
    t.eq(label + " Cache-Control", r.h("Cache-Control"), "no-store")
    t.check(label + " no stale validators", not r.has("ETag") and not r.has("Content-Range"),
            r.header_list)


def timed(srv, method, path, headers=None):
    t0 = time.monotonic()
    r = srv.request(method, path, headers, timeout=8)
    return r, time.monotonic() - t0


@t.case
def overwritten_in_place():
    old, new = body("old", 300 * 1024), body("new", 120 * 1024)
    s = Site({"big.bin": old, "small.txt": "small\n"})
    srv = Server(s.root, config=CONFIG)
    r0 = srv.get("/big.bin")
    t.eq("before: 200 full", (r0.status, r0.body == old), (200, True))
    ino = os.stat(s.path("big.bin")).st_ino
    overwrite_in_place(s.path("big.bin"), new)
    t.eq("same inode after the overwrite", os.stat(s.path("big.bin")).st_ino, ino)
    for method, hdrs in (("GET", None), ("HEAD", None), ("GET", {"Range": "bytes=0-99"}),
                         ("GET", {"Range": "bytes=200000-"}),
                         ("GET", {"If-None-Match": r0.h("ETag")}),
                         ("GET", {"If-Modified-Since": r0.h("Last-Modified")})):
        r, el = timed(srv, method, "/big.bin", hdrs)
        check_503("%s %s after overwrite" % (method, hdrs or ""), r, el)
    t.eq("other files unaffected", srv.get("/small.txt").status, 200)
    warnings = [ln for ln in srv.stderr().splitlines() if "changed on disk" in ln]
    t.eq("one warning for the resource", len(warnings), 1)
    t.check("the warning names the file and asks for a reload",
            warnings and "big.bin" in warnings[0] and "SIGHUP" in warnings[0], warnings)
    srv.signal(signal.SIGHUP)
    ok = wait_for(lambda: srv.get("/big.bin").status == 200)
    r = srv.get("/big.bin")
    t.check("after SIGHUP: 200 with the new length and body", ok and r.body == new,
            "%d %s bytes" % (r.status, len(r.body)))
    t.eq("after SIGHUP: Content-Length", r.h("Content-Length"), str(len(new)))
    t.check("after SIGHUP: new ETag", r.h("ETag") != r0.h("ETag"), r.h("ETag"))
    srv.stop_checked(t)


@t.case
def same_size_rewrite():
    """Same length, new bytes: caught by the modification time."""
    old, new = body("old", 200 * 1024), body("new", 200 * 1024)
    s = Site({"big.bin": old})
    srv = Server(s.root, config=CONFIG)
    t.eq("before: 200", srv.get("/big.bin").status, 200)
    time.sleep(0.02)
    overwrite_in_place(s.path("big.bin"), new)
    r, el = timed(srv, "GET", "/big.bin")
    check_503("same-size rewrite", r, el)
    srv.signal(signal.SIGHUP)
    ok = wait_for(lambda: srv.get("/big.bin").body == new)
    t.check("after SIGHUP: the new body", ok, "")
    srv.stop_checked(t)


@t.case
def rewrite_with_mtime_kept():
    """Same length, new bytes, the modification time set back (cp -p, rsync
    -t of a reproducible build): caught by the change time, so the old
    strong ETag never covers the new bytes (no stale 304, no 206 spliced
    from two versions)."""
    old, new = body("old", 200 * 1024), body("new", 200 * 1024)
    s = Site({"big.bin": old})
    os.utime(s.path("big.bin"), (1, 1))
    srv = Server(s.root, config=CONFIG)
    r0 = srv.get("/big.bin")
    t.eq("before: 200", (r0.status, r0.body == old), (200, True))
    time.sleep(0.02)
    overwrite_in_place(s.path("big.bin"), new)
    os.utime(s.path("big.bin"), (1, 1))
    st = os.stat(s.path("big.bin"))
    t.eq("size and mtime as at the load", (st.st_size, st.st_mtime), (len(old), 1))
    for hdrs in (None, {"If-None-Match": r0.h("ETag")},
                 {"If-Range": r0.h("ETag"), "Range": "bytes=0-9"}):
        r, el = timed(srv, "GET", "/big.bin", hdrs)
        check_503("mtime kept, %s" % (hdrs or "plain GET"), r, el)
    srv.signal(signal.SIGHUP)
    ok = wait_for(lambda: srv.get("/big.bin").body == new)
    t.check("after SIGHUP: the new body", ok, "")
    srv.stop_checked(t)


@t.case
def replaced_by_rename_still_served():
    """Deploy by rename: the loaded inode is unchanged, so it is served."""
    old = body("old", 200 * 1024)
    s = Site({"big.bin": old})
    srv = Server(s.root, config=CONFIG)
    s.write("big.bin", body("new", 100 * 1024))
    r = srv.get("/big.bin")
    t.eq("renamed over: the loaded version, 200", (r.status, r.body == old), (200, True))
    r = srv.get("/big.bin", {"If-None-Match": r.h("ETag")})
    t.eq("renamed over: the loaded version's ETag still gets 304", r.status, 304)
    srv.stop_checked(t)



@t.case
def new_hard_link_still_served():
    """A hard link made to a served file (a backup, rsync --link-dest) moves
    its change time, not its bytes: still served."""
    old = body("old", 200 * 1024)
    s = Site({"big.bin": old})
    srv = Server(s.root, config=CONFIG)
    os.link(s.path("big.bin"), os.path.join(s.parent, "big.bin.bak"))
    r = srv.get("/big.bin")
    t.eq("a new hard link: still 200 with the loaded bytes", (r.status, r.body == old), (200, True))
    # the link count excuses the change time, not the size: shorter
    # bytes written in place with the mtime set back are still caught
    st = os.stat(s.path("big.bin"))
    overwrite_in_place(s.path("big.bin"), body("new", 100 * 1024))
    os.utime(s.path("big.bin"), ns=(st.st_atime_ns, st.st_mtime_ns))
    r, el = timed(srv, "GET", "/big.bin")
    check_503("after a hard link, a shorter rewrite with the mtime kept", r, el)
    srv.stop_checked(t)


if __name__ == "__main__":
    t.main()
