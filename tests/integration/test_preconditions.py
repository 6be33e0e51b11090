#!/usr/bin/env python3
"""If-Match and If-Unmodified-Since (RFC 9110 13.2.2 order), the 406 before
Range, the 416's headers and repeated single-valued fields."""
import hashlib
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402
from nwtest import Server, Site, compressible_text, http_date  # noqa: E402

t = nwtest.Tests("preconditions")
MTIME = 1700000000

BIN = bytes((i * 7 + 3) % 251 for i in range(1000))
CSS = compressible_text(4000, "css").encode()
BIG = hashlib.sha256(b"seed").digest() * (300 * 1024 // 32)  # on disk with 64K limit
JS = compressible_text(3000, "js").encode()


def start():
    s = Site()
    for k, v in {"blob.bin": BIN, "style.css": CSS, "big.bin": BIG,
                 "app.3f9a1c2b.js": JS}.items():
        s.write(k, v, mtime=MTIME)
    return s, Server(s.root, config="[limits]\nmax_memory_file = 64K\n")


def raw(srv, path, lines, method="GET"):
    req = "%s %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n" % (
        method, path, "".join(l + "\r\n" for l in lines))
    return nwtest.parse_raw(srv.raw(req.encode()))


def check_412(label, r):
    t.eq(label + " -> 412", r.status, 412)
    cc = (r.h("Cache-Control") or "").lower()
    t.check(label + " 412 not cacheable", "no-store" in cc or "no-cache" in cc, cc)
    t.check(label + " 412 has the security headers", r.has("X-Content-Type-Options"),
            r.header_list)
    t.check(label + " 412 carries no representation validators",
            not r.has("ETag") and not r.has("Content-Range"), r.header_list)


def if_match(srv, path, data):
    ref = srv.get(path)
    et = ref.h("ETag")
    for method in ("GET", "HEAD"):
        r = srv.request(method, path, {"If-Match": '"nope"'})
        check_412("%s %s If-Match other" % (method, path), r)
        r = srv.request(method, path, {"If-Match": '"nope"', "Range": "bytes=0-9"})
        check_412("%s %s If-Match other + Range" % (method, path), r)
    r = srv.get(path, {"If-Match": et})
    t.eq("%s If-Match own ETag -> 200 full" % path, (r.status, r.body == data), (200, True))
    r = srv.get(path, {"If-Match": "*"})
    t.eq("%s If-Match * -> 200" % path, r.status, 200)
    r = srv.get(path, {"If-Match": '"a", %s, "b"' % et})
    t.eq("%s If-Match list with own ETag -> 200" % path, r.status, 200)
    check_412("%s If-Match weak own ETag (strong comparison)" % path,
              srv.get(path, {"If-Match": "W/" + et}))
    check_412("%s If-Match malformed list" % path,
              srv.get(path, {"If-Match": "%s, garbage" % et}))
    check_412("%s If-Match unquoted" % path, srv.get(path, {"If-Match": et.strip('"')}))
    r = srv.get(path, {"If-Match": et, "Range": "bytes=0-9"})
    t.eq("%s If-Match own ETag + Range -> 206" % path, (r.status, r.body), (206, data[:10]))
    h = srv.head(path, {"If-Match": et})
    t.eq("%s HEAD If-Match own ETag -> 200" % path, (h.status, h.body), (200, b""))
    # several field lines form one list
    st, _, _ = raw(srv, path, ['If-Match: "a"', "If-Match: " + et])
    t.eq("%s If-Match on two lines, own tag on the second -> 200" % path, st, 200)
    st, _, _ = raw(srv, path, ['If-Match: "a"', 'If-Match: "b"'])
    t.eq("%s If-Match on two lines, no match -> 412" % path, st, 412)
    # step 1 before step 3: a failing If-Match beats a matching If-None-Match
    check_412("%s If-Match other + INM own" % path,
              srv.get(path, {"If-Match": '"nope"', "If-None-Match": et}))
    r = srv.get(path, {"If-Match": et, "If-None-Match": et})
    t.eq("%s If-Match own + INM own -> 304" % path, r.status, 304)


def if_unmodified_since(srv, path, data):
    ref = srv.get(path)
    lm = ref.h("Last-Modified")
    before = http_date(MTIME - 86400)
    r = srv.get(path, {"If-Unmodified-Since": lm})
    t.eq("%s IUS = Last-Modified -> 200" % path, (r.status, r.body == data), (200, True))
    r = srv.get(path, {"If-Unmodified-Since": http_date(MTIME + 86400)})
    t.eq("%s IUS later -> 200" % path, r.status, 200)
    for method in ("GET", "HEAD"):
        check_412("%s %s IUS earlier" % (method, path),
                  srv.request(method, path, {"If-Unmodified-Since": before}))
        check_412("%s %s IUS earlier + Range" % (method, path),
                  srv.request(method, path, {"If-Unmodified-Since": before,
                                             "Range": "bytes=0-9"}))
    r = srv.get(path, {"If-Unmodified-Since": "not a date"})
    t.eq("%s IUS invalid -> ignored, 200" % path, r.status, 200)
    r = srv.get(path, {"If-Unmodified-Since": before, "If-Match": ref.h("ETag")})
    t.eq("%s IUS earlier but If-Match own ETag -> 200 (IUS not evaluated)" % path,
         r.status, 200)
    check_412("%s If-Match other + IUS later" % path,
              srv.get(path, {"If-Match": '"nope"', "If-Unmodified-Since": lm}))
    st, _, _ = raw(srv, path, ["If-Unmodified-Since: " + before,
                               "If-Unmodified-Since: " + before])
    t.eq("%s IUS on two lines -> ignored, 200" % path, st, 200)
    r = srv.get(path, {"If-Unmodified-Since": lm, "Range": "bytes=0-9"})
    t.eq("%s IUS = Last-Modified + Range -> 206" % path, (r.status, r.body), (206, data[:10]))


@t.case
def if_match_and_ius():
    s, srv = start()
    for path, data in (("/blob.bin", BIN), ("/style.css", CSS), ("/big.bin", BIG)):
        if_match(srv, path, data)
        if_unmodified_since(srv, path, data)
    # the ETag compared is the one of the coding a 200 would carry
    ident = srv.get("/style.css").h("ETag")
    br = srv.get("/style.css", {"Accept-Encoding": "br"})
    t.eq("style.css br variant", br.h("Content-Encoding"), "br")
    check_412("style.css identity ETag with AE br",
              srv.get("/style.css", {"If-Match": ident, "Accept-Encoding": "br"}))
    r = srv.get("/style.css", {"If-Match": br.h("ETag"), "Accept-Encoding": "br"})
    t.eq("style.css br ETag with AE br -> 200 br", (r.status, r.h("Content-Encoding")),
         (200, "br"))
    check_412("style.css br ETag without AE", srv.get("/style.css", {"If-Match": br.h("ETag")}))
    # a range is served in identity, so its preconditions name identity's
    # ETag: a download resumed with the ETag of its 206 goes on
    part = srv.get("/style.css", {"Accept-Encoding": "br", "Range": "bytes=0-9"})
    t.eq("style.css AE br + Range -> 206 identity with identity's ETag",
         (part.status, part.h("Content-Encoding"), part.h("ETag")), (206, None, ident))
    r = srv.get("/style.css", {"Accept-Encoding": "br", "Range": "bytes=10-19",
                               "If-Match": part.h("ETag")})
    t.eq("style.css AE br + Range + If-Match identity ETag -> 206 (resumed)",
         (r.status, r.body), (206, CSS[10:20]))
    check_412("style.css AE br + Range + If-Match br ETag",
              srv.get("/style.css", {"Accept-Encoding": "br", "Range": "bytes=10-19",
                                     "If-Match": br.h("ETag")}))
    r = srv.get("/style.css", {"Accept-Encoding": "br", "Range": "bytes=10-19",
                               "If-None-Match": ident})
    t.eq("style.css AE br + Range + If-None-Match identity ETag -> 304 with it",
         (r.status, r.h("ETag")), (304, ident))
    # an If-Range that fails: the whole 200 in br, whose ETag If-Match names
    r = srv.get("/style.css", {"Accept-Encoding": "br", "Range": "bytes=10-19",
                               "If-Range": '"other"', "If-Match": br.h("ETag")})
    t.eq("style.css AE br + failing If-Range + If-Match br ETag -> 200 br",
         (r.status, r.h("Content-Encoding")), (200, "br"))
    # curl, as in the report
    p = nwtest.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", 'If-Match: "nope"',
                     srv.url("/blob.bin")])
    t.eq("curl If-Match \"nope\" -> 412", p.stdout.decode(), "412")
    srv.stop_checked(t)


@t.case
def ordering():
    s, srv = start()
    # 406 is decided before Range
    r = srv.get("/blob.bin", {"Accept-Encoding": "identity;q=0"})
    t.eq("identity;q=0 -> 406", r.status, 406)
    r = srv.get("/blob.bin", {"Accept-Encoding": "identity;q=0", "Range": "bytes=0-9"})
    t.eq("identity;q=0 + Range -> 406 (not a 206 in identity)", r.status, 406)
    r = srv.get("/big.bin", {"Accept-Encoding": "identity;q=0", "Range": "bytes=0-9"})
    t.eq("on disk: identity;q=0 + Range -> 406", r.status, 406)
    t.check("406 Vary: Accept-Encoding", "accept-encoding" in (r.h("Vary") or "").lower(),
            r.h("Vary"))
    # and before the preconditions, which a request that would get no 2xx
    # without them ignores (RFC 9110 13.2.1)
    for path in ("/blob.bin", "/style.css", "/big.bin"):
        et = srv.get(path).h("ETag")
        for cond in ({"If-None-Match": "*"}, {"If-None-Match": et}, {"If-Match": '"nope"'},
                     {"If-Modified-Since": http_date(MTIME + 86400)},
                     {"If-Unmodified-Since": http_date(MTIME - 86400)}):
            h = dict(cond, **{"Accept-Encoding": "identity;q=0, *;q=0"})
            t.eq("%s %s + nothing acceptable -> 406" % (path, cond), srv.get(path, h).status, 406)
    # a 416 describes no representation
    for path, data in (("/app.3f9a1c2b.js", JS), ("/blob.bin", BIN), ("/big.bin", BIG)):
        ref = srv.get(path)
        r = srv.get(path, {"Range": "bytes=%d-" % (len(data) + 10)})
        t.eq("%s 416" % path, r.status, 416)
        t.eq("%s 416 Content-Range" % path, r.h("Content-Range"), "bytes */%d" % len(data))
        t.eq("%s 416 Cache-Control: no-cache" % path, r.h("Cache-Control"), "no-cache")
        t.eq("%s 416 without the representation's headers" % path,
             [k for k in ("ETag", "Last-Modified", "Content-Type") if r.has(k)], [])
        t.check("%s 416 has the security headers" % path, r.has("X-Content-Type-Options"),
                r.header_list)
        if path.endswith(".js"):
            t.check("hashed asset 200 is immutable (the 416 must not be)",
                    "immutable" in (ref.h("Cache-Control") or ""), ref.h("Cache-Control"))
    # a list on several lines means the same as one line (RFC 9110 5.3);
    # one too long to join is refused, not cut (cut, it gave a wrong 412)
    et = srv.get("/blob.bin").h("ETag")
    others = ", ".join('"%016x"' % i for i in range(60))
    st, _, body = raw(srv, "/blob.bin", ["If-Match: " + others, "If-Match: " + et])
    t.eq("If-Match over two lines, the tag on the second -> 200", (st, body == BIN), (200, True))
    others = ", ".join('"%016x"' % i for i in range(120))
    st, _, _ = raw(srv, "/blob.bin", ["If-Match: " + others, "If-Match: " + et])
    t.eq("If-Match lines too long to join -> 431", st, 431)
    st, _, _ = raw(srv, "/blob.bin", ["If-Match: " + others + ", " + et])
    t.eq("the same list on one line -> 200", st, 200)
    # single-valued fields on several lines are ignored
    lm = srv.get("/blob.bin").h("Last-Modified")
    st, _, body = raw(srv, "/blob.bin", ["If-Modified-Since: " + lm,
                                         "If-Modified-Since: " + lm])
    t.eq("IMS on two lines -> ignored, 200", (st, body == BIN), (200, True))
    st, _, _ = raw(srv, "/blob.bin", ["If-Modified-Since: garbage",
                                      "If-Modified-Since: " + lm])
    t.eq("IMS on two lines, the last valid -> ignored, 200", st, 200)
    st, _, _ = raw(srv, "/blob.bin", ["If-Modified-Since: " + lm])
    t.eq("IMS on one line -> 304", st, 304)
    et = srv.get("/blob.bin").h("ETag")
    st, _, body = raw(srv, "/blob.bin", ["Range: bytes=0-9", "If-Range: " + et])
    t.eq("If-Range own ETag -> 206", (st, body), (206, BIN[:10]))
    st, _, body = raw(srv, "/blob.bin", ["Range: bytes=0-9", "If-Range: " + et,
                                         "If-Range: " + et])
    t.eq("If-Range on two lines -> 200 full", (st, body == BIN), (200, True))
    for path, data in (("/blob.bin", BIN), ("/big.bin", BIG)):
        st, hdrs, body = raw(srv, path, ["Range: bytes=0-9", "Range: bytes=0-9"])
        t.eq("%s Range on two lines -> 200 full" % path, (st, body == data), (200, True))
        st, _, body = raw(srv, path, ["Range: bytes=0-9"])
        t.eq("%s Range on one line -> 206" % path, (st, body), (206, data[:10]))
    srv.stop_checked(t)


if __name__ == "__main__":
    t.main()
