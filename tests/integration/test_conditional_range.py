#!/usr/bin/env python3
"""Conditional requests (If-None-Match, If-Modified-Since, If-Range) and
byte ranges, in memory and for large files served from disk."""
import email.utils
import hashlib
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402
from nwtest import Server, Site, compressible_text, http_date  # noqa: E402

t = nwtest.Tests("conditional_range")
MTIME = 1700000000

BIN = bytes((i * 7 + 3) % 251 for i in range(1000))          # 1000 bytes, not compressible type
CSS = compressible_text(4000, "css").encode()                 # has compressed variants
BIG = hashlib.sha256(b"seed").digest() * (300 * 1024 // 32)  # 300 KiB, on disk with 64K limit
BIGTXT = compressible_text(200 * 1024, "bigtxt").encode()     # large compressible text on disk


def start(config=None):
    s = Site()
    for k, v in {"blob.bin": BIN, "style.css": CSS, "big.bin": BIG, "big.txt": BIGTXT}.items():
        s.write(k, v, mtime=MTIME)
    return s, Server(s.root, config=config)


def check_304(label, r, ref, vary):
    t.eq(label + " -> 304", r.status, 304)
    t.eq(label + " 304 empty body", r.body, b"")
    # none, or the 200's (RFC 9110 8.6); libmicrohttpd always sends one
    t.eq(label + " 304 Content-Length is the 200's", r.h("Content-Length"),
         ref.h("Content-Length"))
    t.eq(label + " 304 ETag", r.h("ETag"), ref.h("ETag"))
    t.eq(label + " 304 Cache-Control", r.h("Cache-Control"), ref.h("Cache-Control"))
    t.eq(label + " 304 Last-Modified", r.h("Last-Modified"), ref.h("Last-Modified"))
    for h in ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        t.eq(label + " 304 " + h + " as the 200's", r.h(h), ref.h(h))
    t.check(label + " 304 has the security headers", r.h("X-Content-Type-Options") == "nosniff",
            r.header_list)
    if vary:
        t.check(label + " 304 Vary: Accept-Encoding", "accept-encoding" in (r.h("Vary") or "").lower(),
                r.h("Vary"))


def conditionals(srv, path, vary):
    ref = srv.get(path)
    et = ref.h("ETag")
    lm = ref.h("Last-Modified")
    if not t.check("%s has ETag and Last-Modified" % path, et and lm, ref.header_list):
        return
    check_304("%s INM exact" % path, srv.get(path, {"If-None-Match": et}), ref, vary)
    check_304("%s INM list" % path, srv.get(path, {"If-None-Match": '"aaaa", %s, "bbbb"' % et}), ref, vary)
    check_304("%s INM weak W/" % path, srv.get(path, {"If-None-Match": "W/" + et}), ref, vary)
    check_304("%s INM *" % path, srv.get(path, {"If-None-Match": "*"}), ref, vary)
    if vary:
        # Each content coding is its own representation with its own strong
        # ETag (RFC 9110 8.8.3): a cache holding the identity body must not
        # be told that it may serve it for a br request, and vice versa.
        br = srv.get(path, {"Accept-Encoding": "br"})
        t.eq("%s br variant" % path, br.h("Content-Encoding"), "br")
        t.eq("%s br ETag is the identity tag with -br" % path, br.h("ETag"), et[:-1] + '-br"')
        r = srv.get(path, {"If-None-Match": et, "Accept-Encoding": "br"})
        t.eq("%s identity ETag with AE br -> 200 br" % path,
             (r.status, r.h("Content-Encoding"), r.h("ETag")), (200, "br", br.h("ETag")))
        check_304("%s br ETag with AE br" % path,
                  srv.get(path, {"If-None-Match": br.h("ETag"), "Accept-Encoding": "br"}), br, vary)
        check_304("%s br ETag weak with AE br, gzip" % path,
                  srv.get(path, {"If-None-Match": "W/" + br.h("ETag"),
                                 "Accept-Encoding": "br, gzip"}), br, vary)
        r = srv.get(path, {"If-None-Match": br.h("ETag")})
        t.eq("%s br ETag without AE -> 200 identity" % path,
             (r.status, r.h("Content-Encoding"), r.h("ETag")), (200, None, et))
        check_304("%s either tag in a list" % path,
                  srv.get(path, {"If-None-Match": "%s, %s" % (et, br.h("ETag")),
                                 "Accept-Encoding": "br"}), br, vary)
    r = srv.get(path, {"If-None-Match": '"nomatch"'})
    t.eq("%s INM non-matching -> 200 full" % path, (r.status, len(r.body)), (200, len(ref.body)))
    r = srv.get(path, {"If-None-Match": et[1:-1]})
    t.eq("%s INM unquoted etag does not match -> 200" % path, r.status, 200)
    check_304("%s IMS = Last-Modified" % path, srv.get(path, {"If-Modified-Since": lm}), ref, vary)
    check_304("%s IMS later" % path, srv.get(path, {"If-Modified-Since": http_date(MTIME + 86400)}), ref, vary)
    r = srv.get(path, {"If-Modified-Since": http_date(MTIME - 86400)})
    t.eq("%s IMS earlier -> 200" % path, r.status, 200)
    r = srv.get(path, {"If-Modified-Since": "garbage date"})
    t.eq("%s IMS invalid -> 200" % path, r.status, 200)
    r = srv.get(path, {"If-Modified-Since": lm, "If-None-Match": '"nomatch"'})
    t.eq("%s IMS matching but INM non-matching -> 200 (INM wins)" % path, r.status, 200)
    h = srv.head(path, {"If-None-Match": et})
    t.eq("%s HEAD INM -> 304" % path, (h.status, h.body), (304, b""))
    # raw: a 304 has no body bytes on the wire
    raw = srv.raw(("GET %s HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\nConnection: close\r\n\r\n"
                   % (path, et)).encode())
    st, hdrs, body = nwtest.parse_raw(raw)
    t.eq("%s raw 304 has no body" % path, (st, body), (304, b""))


def ranges(srv, path, data, vary):
    n = len(data)
    ref = srv.get(path)
    t.eq("%s Accept-Ranges: bytes" % path, ref.h("Accept-Ranges"), "bytes")
    et = ref.h("ETag") or '"missing-etag"'
    cases = [
        ("bytes=0-99", 0, 99),
        ("bytes=0-0", 0, 0),
        ("bytes=100-", 100, n - 1),
        ("bytes=-100", n - 100, n - 1),
        ("bytes=%d-%d" % (n - 10, n + 5000), n - 10, n - 1),
        ("bytes=-%d" % (n + 50), 0, n - 1),
        ("bytes=%d-%d" % (n // 2, n // 2 + 999), n // 2, min(n // 2 + 999, n - 1)),
        ("bytes=%d-" % (n - 1), n - 1, n - 1),
    ]
    for spec, a, b in cases:
        for ae in (None, "br, gzip, zstd"):
            hdrs = {"Range": spec}
            if ae:
                hdrs["Accept-Encoding"] = ae
            r = srv.get(path, hdrs)
            label = "%s Range %s%s" % (path, spec, " +AE" if ae else "")
            t.eq(label + " -> 206", r.status, 206)
            t.eq(label + " Content-Range", r.h("Content-Range"), "bytes %d-%d/%d" % (a, b, n))
            t.check(label + " body is the identity slice", r.body == data[a:b + 1],
                    "got %d bytes, want %d" % (len(r.body), b - a + 1))
            t.eq(label + " Content-Length", r.h("Content-Length"), str(b - a + 1))
            t.eq(label + " no Content-Encoding", r.h("Content-Encoding"), None)
            if vary:
                t.check(label + " Vary: Accept-Encoding", "accept-encoding" in (r.h("Vary") or "").lower(),
                        r.h("Vary"))
    for spec in ("bytes=%d-" % n, "bytes=%d-%d" % (n + 10, n + 20), "bytes=-0"):
        r = srv.get(path, {"Range": spec})
        t.eq("%s Range %s -> 416" % (path, spec), r.status, 416)
        t.eq("%s Range %s Content-Range" % (path, spec), r.h("Content-Range"), "bytes */%d" % n)
    r = srv.get(path, {"Range": "bytes=0-1,5-6"})
    t.eq("%s multiple ranges -> 200 full" % path, (r.status, r.body == data), (200, True))
    if vary:
        # ranges are of the identity form: a client that refused it gets
        # the whole coded answer (RFC 9110 12.5.3), unsatisfiable or not
        for spec in ("bytes=0-9", "bytes=%d-" % n):
            r = srv.get(path, {"Range": spec, "Accept-Encoding": "gzip, identity;q=0"})
            body = nwtest.decode(r.body, r.h("Content-Encoding")) if r.h("Content-Encoding") else r.body
            t.eq("%s Range %s, identity refused -> 200 gzip, whole" % (path, spec),
                 (r.status, r.h("Content-Encoding"), body == data), (200, "gzip", True))
    for spec in ("bytes=5-2", "items=0-5", "bytes=abc", "bytes=--5"):
        r = srv.get(path, {"Range": spec})
        t.check("%s invalid Range %r -> 200 full or 416" % (path, spec),
                (r.status == 200 and r.body == data) or r.status == 416, r.status)
    r = srv.get(path, {"Range": "bytes=0-9", "If-Range": et})
    t.eq("%s If-Range matching ETag -> 206" % path, (r.status, r.body), (206, data[:10]))
    r = srv.get(path, {"Range": "bytes=0-9", "If-Range": '"other"'})
    t.eq("%s If-Range non-matching ETag -> 200 full" % path, (r.status, r.body == data), (200, True))
    r = srv.get(path, {"Range": "bytes=0-9", "If-Range": "W/" + et})
    t.eq("%s If-Range weak ETag -> 200 full (strong comparison)" % path, r.status, 200)
    r = srv.get(path, {"Range": "bytes=0-9", "If-None-Match": et})
    t.eq("%s Range + matching INM -> 304" % path, r.status, 304)
    h = srv.head(path, {"Range": "bytes=0-9"})
    t.check("%s HEAD Range -> 206 or 200 without body" % path,
            h.status in (200, 206) and h.body == b"", (h.status, h.body[:20]))
    # curl -r as a real client
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "o")
        p = nwtest.curl(["-r", "10-29", "-o", out, "-w", "%{http_code}", srv.url(path)])
        with open(out, "rb") as f:
            got = f.read()
        t.eq("%s curl -r 10-29" % path, (p.stdout.decode(), got), ("206", data[10:30]))


@t.case
def in_memory():
    s, srv = start()
    conditionals(srv, "/blob.bin", vary=False)
    conditionals(srv, "/style.css", vary=True)
    ranges(srv, "/blob.bin", BIN, vary=False)
    ranges(srv, "/style.css", CSS, vary=True)
    srv.stop_checked(t)


@t.case
def on_disk_large_files():
    s, srv = start(config="[limits]\nmax_memory_file = 64K\n")
    r = srv.get("/big.bin")
    t.eq("on-disk big.bin 200", r.status, 200)
    t.check("on-disk big.bin body byte-exact", r.body == BIG, "%d vs %d bytes" % (len(r.body), len(BIG)))
    t.eq("on-disk big.bin Content-Length", r.h("Content-Length"), str(len(BIG)))
    t.check("on-disk ETag strong quoted", (r.h("ETag") or "").startswith('"'), r.h("ETag"))
    t.eq("on-disk Last-Modified", r.h("Last-Modified"), http_date(MTIME))
    h = srv.head("/big.bin")
    t.eq("on-disk HEAD Content-Length, no body", (h.status, h.h("Content-Length"), h.body),
         (200, str(len(BIG)), b""))
    conditionals(srv, "/big.bin", vary=False)
    ranges(srv, "/big.bin", BIG, vary=False)
    # large compressible text on disk: whatever encoding is sent must decode
    for ae in (None, "gzip", "br", "zstd"):
        r = srv.get("/big.txt", {"Accept-Encoding": ae} if ae else {})
        try:
            dec = nwtest.decode(r.body, r.h("Content-Encoding"))
        except Exception as e:
            dec = "decode error %s" % e
        t.check("on-disk big.txt AE %s decodes to file" % ae, r.status == 200 and dec == BIGTXT,
                "%s %s" % (r.status, r.h("Content-Encoding")))
    r = srv.get("/big.txt", {"Range": "bytes=1000-1999", "Accept-Encoding": "br"})
    t.eq("on-disk big.txt Range with AE br: identity slice", (r.status, r.h("Content-Encoding"), r.body),
         (206, None, BIGTXT[1000:2000]))
    srv.stop_checked(t)


@t.case
def etag_of_each_encoding_revalidates():
    """A browser stores the ETag of the (compressed) response it got and
    sends it back with the same Accept-Encoding: that must give a 304."""
    s, srv = start()
    for ae in ("gzip", "br", "zstd", "gzip, deflate, br, zstd", None):
        h = {"Accept-Encoding": ae} if ae else {}
        r = srv.get("/style.css", h)
        et = r.h("ETag")
        h2 = dict(h)
        h2["If-None-Match"] = et or '"none"'
        r2 = srv.get("/style.css", h2)
        t.eq("ETag from AE %r revalidates with the same AE -> 304" % ae, r2.status, 304)
        t.eq("ETag from AE %r: 304 repeats that ETag" % ae, r2.h("ETag"), et)
        t.eq("ETag from AE %r: 304 has the 200's Content-Length" % ae,
             r2.h("Content-Length"), r.h("Content-Length"))
        h3 = dict(h)
        h3["If-None-Match"] = "W/" + (et or '"none"')
        t.eq("weak form of ETag from AE %r -> 304" % ae, srv.get("/style.css", h3).status, 304)
    srv.stop_checked(t)


@t.case
def empty_file():
    s = Site({"empty.txt": b"", "one.txt": b"1"})
    srv = Server(s.root)
    r = srv.get("/empty.txt")
    t.eq("empty file: 200, Content-Length 0, empty body", (r.status, r.h("Content-Length"), r.body),
         (200, "0", b""))
    t.check("empty file: has an ETag", (r.h("ETag") or "").startswith('"'), r.h("ETag"))
    r = srv.get("/empty.txt", {"Range": "bytes=0-"})
    t.check("empty file: Range bytes=0- -> 416 (bytes */0) or 200 (Range ignored)",
            (r.status == 416 and r.h("Content-Range") == "bytes */0") or (r.status == 200 and r.body == b""),
            (r.status, r.h("Content-Range")))
    r = srv.get("/one.txt", {"Range": "bytes=0-0"})
    t.eq("1-byte file: Range bytes=0-0", (r.status, r.h("Content-Range"), r.body), (206, "bytes 0-0/1", b"1"))
    r = srv.get("/one.txt", {"Range": "bytes=-5"})
    t.eq("1-byte file: Range bytes=-5", (r.status, r.h("Content-Range"), r.body), (206, "bytes 0-0/1", b"1"))
    srv.stop_checked(t)


@t.case
def last_modified_never_in_the_future_nor_older_than_a_templated_body():
    """RFC 9110 8.8.2.1: no Last-Modified later than the Date. A page whose
    body the environment fills in changed when it was rendered, not when
    its file did: a restart with another value must not revalidate by the
    file's date as unmodified. A large file served from disk with a future
    date is still served (its per-request check compares the file's own
    mtime)."""
    future = int(time.time()) + 10 * 365 * 86400
    s = Site()
    s.write("future.css", CSS, mtime=future)
    s.write("big.bin", BIG, mtime=future)
    s.write("page.html", b"<p>{{env.API}}</p>\n", mtime=MTIME)
    s.write("plain.html", b"<p>no placeholder</p>\n", mtime=MTIME)
    before = int(time.time()) - 1  # time(NULL) may trail time.time() by a tick
    srv = Server(s.root, env={"VITE_API": "one"},
                 config="[limits]\nmax_memory_file = 64K\n")
    after = int(time.time())
    for path in ("/future.css", "/big.bin", "/page.html"):
        r = srv.get(path)
        if not t.check("%s: 200 with Last-Modified and Date" % path,
                       r.status == 200 and r.h("Last-Modified") and r.h("Date"),
                       (r.status, r.header_list)):
            continue
        lm = email.utils.parsedate_to_datetime(r.h("Last-Modified")).timestamp()
        date = email.utils.parsedate_to_datetime(r.h("Date")).timestamp()
        t.check("%s: Last-Modified is the load, not after the Date" % path,
                before <= lm <= after and lm <= date,
                (r.h("Last-Modified"), r.h("Date")))
        t.eq("%s: revalidates by that date" % path,
             srv.get(path, {"If-Modified-Since": r.h("Last-Modified")}).status, 304)
        t.eq("%s: If-Range with that date" % path,
             srv.get(path, {"Range": "bytes=0-9",
                            "If-Range": r.h("Last-Modified")}).status, 206)
    r = srv.get("/big.bin", {"Range": "bytes=10-19"})
    t.eq("/big.bin (on disk, future mtime): 206 with its bytes",
         (r.status, r.body), (206, BIG[10:20]))
    t.eq("/page.html: the file's older date does not revalidate it",
         srv.get("/page.html", {"If-Modified-Since": http_date(MTIME)}).status, 200)
    t.eq("/plain.html (no placeholder) keeps the file's date",
         srv.get("/plain.html").h("Last-Modified"), http_date(MTIME))
    r = srv.get("/future.css", {"Range": "bytes=0-9",
                                "If-Range": http_date(future)})
    t.eq("/future.css: If-Range with the file's future date does not match",
         r.status, 200)
    srv.stop_checked(t)


if __name__ == "__main__":
    nwtest.require_tools("brotli", "zstd", "curl")
    t.main()
