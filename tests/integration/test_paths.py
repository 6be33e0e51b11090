#!/usr/bin/env python3
"""Request-target handling: decoding, traversal, hidden files, long URLs,
huge headers and malformed requests (the server must survive all of them)."""
import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402
from nwtest import Server, Site  # noqa: E402

t = nwtest.Tests("paths")

FILES = {
    "index.html": "<html>root index</html>",
    "style.css": "body{color:red}\n",
    "a/index.html": "<html>A</html>",
    "a/b.txt": "a/b\n",
    "my file.txt": "spaces\n",
    "caf\u00e9.txt": "utf8 name\n",
    "100%.txt": "percent\n",
    "plus+sign.txt": "plus\n",
    "q?x.txt": "question\n",
    "h#x.txt": "hash\n",
    "semi;colon.txt": "semi\n",
    ".env": "SECRET=1\n",
    "a/.secret": "SECRET=2\n",
    ".git/HEAD": "ref: SECRET\n",
}


def start():
    s = Site(FILES)
    # a symlink escaping the root must not be served (follow_symlinks=false)
    outside = s.scratch("outside.txt")
    with open(outside, "w") as f:
        f.write("OUTSIDE SECRET\n")
    os.chmod(outside, 0o644)
    os.symlink(outside, s.path("link-out.txt"))
    os.symlink("/etc", s.path("etc-link"))
    return s, Server(s.root)


def raw_get(srv, target, extra=b""):
    req = b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"Connection: close\r\n\r\n"
    return nwtest.parse_raw(srv.raw(req))


@t.case
def decoding_and_lookup():
    s, srv = start()
    ok = {
        b"/%61/b.txt": b"a/b\n",
        b"/a/%62.txt": b"a/b\n",
        b"/st%79le.css": b"body{color:red}\n",
        b"/my%20file.txt": b"spaces\n",
        b"/caf%C3%A9.txt": b"utf8 name\n",
        b"/caf%c3%a9.txt": b"utf8 name\n",
        b"/100%25.txt": b"percent\n",
        b"/plus+sign.txt": b"plus\n",
        b"/plus%2Bsign.txt": b"plus\n",
        b"/q%3Fx.txt": b"question\n",
        b"/h%23x.txt": b"hash\n",
        b"/semi;colon.txt": b"semi\n",
        b"/style.css?v=123": b"body{color:red}\n",
        b"/style.css?../../etc/passwd": b"body{color:red}\n",
        b"/style.css?%00": b"body{color:red}\n",
        b"/a/b.txt?": b"a/b\n",
        b"/?x=1": b"<html>root index</html>",
        b"/a/?x=%2e%2e": b"<html>A</html>",
    }
    for target, body in ok.items():
        st, _, got = raw_get(srv, target)
        t.eq("GET %s -> 200 with file" % target.decode(), (st, got), (200, body))
    st, _, _ = raw_get(srv, b"/%252e%252e/etc/passwd")
    t.eq("GET /%252e%252e/... decoded once -> 404 (not traversal)", st, 404)
    st, _, _ = raw_get(srv, b"/my%2520file.txt")
    t.eq("GET /my%2520file.txt decoded once -> 404", st, 404)
    st, _, _ = raw_get(srv, b"/nope.txt")
    t.eq("GET /nope.txt -> 404", st, 404)
    st, _, _ = raw_get(srv, b"/Style.css")
    t.eq("GET /Style.css (case differs) -> 404", st, 404)
    st, _, _ = raw_get(srv, b"/style.css/")
    t.eq("GET /style.css/ (file with a trailing slash) -> 404", st, 404)
    st, _, _ = raw_get(srv, b"/q?x.txt")
    t.eq("GET /q?x.txt is /q with a query -> 404", st, 404)
    t.eq("server alive", srv.get("/_health").status, 200)
    srv.stop_checked(t)


@t.case
def traversal_and_bad_paths():
    s, srv = start()
    bad400 = [
        b"/../etc/passwd",
        b"/a/../../etc/passwd",
        b"/a/../..",
        b"/..",
        b"/%2e%2e/etc/passwd",
        b"/%2E%2E/etc/passwd",
        b"/a/%2e%2e/%2e%2e/etc/passwd",
        b"/.%2e/etc/passwd",
        b"/%2e./etc/passwd",
        b"/%00",
        b"/style.css%00",
        b"/style.css%00.html",
        b"/a%5Cb.txt",
        b"/a%5cb.txt",
        b"/a\\b.txt",
        b"/..\\..\\etc\\passwd",
        b"/a%2Fb.txt",
        b"/a%2fb.txt",
        b"/%2Fetc%2Fpasswd",
        b"/my file.txt",
        b"/ ",
        # a fragment is never sent (RFC 9112 3.2.1): a malformed target
        b"/h#x.txt",
        b"/style.css#top",
        b"/style.css?v=1#top",
        b"/#",
        b"http://x#y",
        b"http://user@x/style.css",
        b"http://x/style.css#top",
    ]
    for target in bad400:
        st, _, body = raw_get(srv, target)
        t.eq("GET %s -> 400" % target.decode("latin-1"), st, 400)
        t.check("GET %s leaks nothing" % target.decode("latin-1"),
                b"root:" not in body and b"SECRET" not in body, body[:80])
    # ".." inside the root is resolved (RFC 3986 5.2.4), as nginx does
    for target, want in ((b"/a/../index.html", b"root index"),
                         (b"/a/../style.css", b"color:red"),
                         (b"/x/y/../../a/b.txt", b"a/b"),
                         (b"/a/%2e%2e/a/b.txt", b"a/b"),
                         (b"/.git/../style.css", b"color:red"),
                         (b"/a/b/..", b"<html>A</html>")):
        st, _, body = raw_get(srv, target)
        t.check("GET %s -> 200 with the resolved file" % target.decode(),
                st == 200 and want in body, (st, body[:80]))
    for target in (b"/a/../.env", b"/x/../.git/HEAD", b"/.git/x/../HEAD"):
        st, _, body = raw_get(srv, target)
        t.eq("hidden after '..' %s -> 404" % target.decode(), st, 404)
        t.check("hidden after '..' %s leaks nothing" % target.decode(),
                b"SECRET" not in body, body[:80])
    for target in (b"/.env", b"/%2eenv", b"/%2Eenv", b"/a/.secret", b"/.git/HEAD", b"/.git/",
                   b"/a/%2esecret", b"/.env?x=1"):
        st, _, body = raw_get(srv, target)
        t.eq("hidden %s -> 404" % target.decode(), st, 404)
        t.check("hidden %s leaks nothing" % target.decode(), b"SECRET" not in body, body[:80])
    for target in (b"/link-out.txt", b"/etc-link/passwd", b"/etc-link/hostname"):
        st, _, body = raw_get(srv, target)
        t.check("symlink out of root %s not served" % target.decode(),
                st != 200 and b"OUTSIDE" not in body and b"root:" not in body, (st, body[:80]))
    t.eq("server alive after bad paths", srv.get("/_health").status, 200)
    srv.stop_checked(t)


@t.case
def long_urls_and_headers():
    s, srv = start()
    st, _, _ = raw_get(srv, b"/" + b"a" * 9000)
    t.eq("request target of 9001 bytes -> 414", st, 414)
    st, _, _ = raw_get(srv, b"/style.css?" + b"q" * 9000)
    t.eq("long query string (target > 8192) -> 414", st, 414)
    st, _, _ = raw_get(srv, b"/" + b"a" * 8000)
    t.eq("request target of 8001 bytes -> 404 (within limit)", st, 404)
    st, _, _ = raw_get(srv, b"/style.css?" + b"q" * 7000)
    t.eq("7000-byte query within limit -> 200", st, 200)
    t.eq("alive after long URLs", srv.get("/_health").status, 200)
    big = b"X-Big: " + b"b" * 20000 + b"\r\n"
    raw = srv.raw(b"GET /style.css HTTP/1.1\r\nHost: x\r\n" + big + b"Connection: close\r\n\r\n")
    st = nwtest.raw_status(raw)
    t.check("20 KB header line -> 4xx (431/413/400) or closed", st is None or 400 <= st < 500, st)
    t.check("20 KB header line not answered 200", st != 200, st)
    t.eq("alive after huge header", srv.get("/_health").status, 200)
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(300))  # ~32 KB
    st = nwtest.raw_status(srv.raw(b"GET /style.css HTTP/1.1\r\nHost: x\r\n" + many +
                                   b"Connection: close\r\n\r\n"))
    t.check("300 headers (~32 KB) -> 4xx or closed", st is None or 400 <= st < 500, st)
    t.eq("alive after many headers", srv.get("/_health").status, 200)
    ok = b"X-Ok: " + b"o" * 4000 + b"\r\n"
    st = nwtest.raw_status(srv.raw(b"GET /style.css HTTP/1.1\r\nHost: x\r\n" + ok +
                                   b"Connection: close\r\n\r\n"))
    t.eq("4 KB header within limit -> 200", st, 200)
    # a list field joined from many lines beyond what nano-web joins (2 KB)
    ae = b"".join(b"Accept-Encoding: x-%03d;q=0.5, %s\r\n" % (i, b"y" * 90) for i in range(30))
    st = nwtest.raw_status(srv.raw(b"GET /style.css HTTP/1.1\r\nHost: x\r\n" + ae +
                                   b"Connection: close\r\n\r\n"))
    t.eq("Accept-Encoding on 30 lines of ~110 bytes (a 3 KB list) -> 431", st, 431)
    srv.stop_checked(t)


@t.case
def malformed_requests():
    s, srv = start()
    junk = [
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"\x00\x01\x02\x03\xff\xfe\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /% HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET http://evil.example/style.css HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET style.css HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\r\n\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"Host: x\r\n" * 3 + b"\r\n",
    ]
    for j in junk:
        raw = srv.raw(j, timeout=0.5)
        st = nwtest.raw_status(raw)
        # 505 (HTTP Version Not Supported) is a proper answer to HTTP/9.9.
        t.check("malformed %r: not a 5xx (505 allowed for a bad version)" % j[:40],
                st is None or st < 500 or (st == 505 and b"HTTP/9.9" in j), st)
        t.check("alive after %r" % j[:40], srv.alive() and srv.get("/_health").status == 200,
                srv.describe() if not srv.alive() else "")
    st = nwtest.raw_status(srv.raw(b"GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    t.check("bad percent escape /%zz -> 400 or 404", st in (400, 404), st)
    # half-open connection: send partial request and close
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=3)
    sock.sendall(b"GET /style.css HTT")
    sock.close()
    t.eq("alive after partial request", srv.get("/_health").status, 200)
    srv.stop_checked(t)


if __name__ == "__main__":
    t.main()
