#!/usr/bin/env python3
"""Basic serving: paths, MIME types, headers, methods, HEAD, hidden files,
templates, health, keep-alive, pre-compressed siblings."""
import gzip
import io
import json
import os
import re
import socket
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402
from nwtest import Server, Site, compressible_text  # noqa: E402

t = nwtest.Tests("basic")
MTIME = 1700000000  # Tue, 14 Nov 2023 22:13:20 GMT

INDEX = ("<!doctype html><html><head><title>nano</title></head><body>\n"
         + compressible_text(2000, "index") + "\n</body></html>\n")
TEMPLATE = ("<!doctype html><html><body>\n"
            "<p id=foo>[{{env.FOO}}]</p>\n"
            "<p id=full>[{{env.VITE_FOO}}]</p>\n"
            "<p id=html>[{{env.HTML}}]</p>\n"
            "<p id=unset>[{{env.NOPE}}]</p>\n"
            "<script>window.A=@@J@@{{Json}}@@J@@;</script>\n"
            "<script>window.B=JSON.parse(\"@@E@@{{EscapedJson}}@@E@@\");</script>\n"
            "<script>window.C=@@S@@{{ Json }}@@S@@;</script>\n"
            + compressible_text(600, "tpl") + "</body></html>\n")
XSS = "</script><b>&\u2028\u2029\"'"
CSS = compressible_text(5000, "css")
JS = compressible_text(4000, "js")
JSON_BODY = json.dumps({"k": [compressible_text(50, str(i)) for i in range(40)]})
SVG = ("<svg xmlns=\"http://www.w3.org/2000/svg\">"
       + "".join("<rect x=\"%d\" y=\"1\" width=\"2\" height=\"3\"/>" % i for i in range(100))
       + "</svg>\n")
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
SMALL = "tiny text file\n"
PRE = compressible_text(3000, "pre")
PRE_GZ = None  # built at fixture time (distinct gzip header so we can recognise it)
PRE2 = compressible_text(3000, "pre2")
PRE_BR = PRE_ZST = None


def make_pre_gz():
    buf = io.BytesIO()
    with gzip.GzipFile(filename="sibling-marker.txt", mode="wb", fileobj=buf,
                       mtime=1234567, compresslevel=1) as g:
        g.write(PRE.encode())
    return buf.getvalue()


def cli_compress(cmd, data):
    import subprocess
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE, check=True, timeout=30).stdout


def site():
    global PRE_GZ, PRE_BR, PRE_ZST
    s = Site()
    PRE_GZ = make_pre_gz()
    # sibling variants made by the CLI tools at a low level: recognisable bytes
    PRE_BR = cli_compress(["brotli", "-c", "-q", "1"], PRE2.encode())
    PRE_ZST = cli_compress(["zstd", "-c", "-q", "-1", "--no-check"], PRE2.encode())
    files = {
        "index.html": INDEX,
        "tpl.html": TEMPLATE,
        "a/index.html": "<html>A " + compressible_text(500, "a") + "</html>",
        "a/b/index.html": "<html>AB</html>",
        "style.css": CSS,
        "app.3f9a1c2b.js": JS,
        "plain.js": JS,
        "data.json": JSON_BODY,
        "logo.svg": SVG,
        "image.png": PNG,
        "small.txt": SMALL,
        "pre.txt": PRE,
        "pre.txt.gz": PRE_GZ,
        "pre2.css": PRE2,
        "pre2.css.br": PRE_BR,
        "pre2.css.zst": PRE_ZST,
        "tpl.js": "var x = '{{env.FOO}}'; /* {{Json}} */\n",
        ".env": "SECRET=1\n",
        ".git/config": "[core]\n",
        "a/.hidden": "hidden\n",
        ".well-known/security.txt": "Contact: mailto:x@example.org\n",
    }
    for k, v in files.items():
        s.write(k, v, mtime=MTIME)
    return s


ENV = {"VITE_FOO": "bar", "VITE_HTML": "<i>&", "VITE_XSS": XSS, "OTHER": "secret-other"}


def start():
    s = site()
    return s, Server(s.root, env=ENV)


@t.case
def paths_and_mime():
    s, srv = start()
    r = srv.get("/")
    t.eq("GET / status", r.status, 200)
    t.eq("GET / body is index.html", r.body, INDEX.encode())
    t.eq("GET / content-type", r.h("Content-Type"), "text/html; charset=utf-8")
    r = srv.get("/index.html")
    t.eq("GET /index.html status", r.status, 200)
    t.eq("GET /index.html body", r.body, INDEX.encode())
    r = srv.get("/a/")
    t.eq("GET /a/ status", r.status, 200)
    t.check("GET /a/ body is a/index.html", r.body.startswith(b"<html>A "), r.body[:40])
    r = srv.get("/a/index.html")
    t.eq("GET /a/index.html status", r.status, 200)
    r = srv.get("/a/b/")
    t.eq("GET /a/b/ body", (r.status, r.body), (200, b"<html>AB</html>"))
    for path, loc in (("/a", "/a/"), ("/a?x=1", "/a/?x=1"), ("/a/b", "/a/b/"),
                      ("/a/b?q=1&r=2", "/a/b/?q=1&r=2"),
                      ("/a?x=%2F%20y&z", "/a/?x=%2F%20y&z"),
                      # '+' stays '+' (libmicrohttpd reads it as a space)
                      ("/a?k=a+b", "/a/?k=a+b"),
                      ("/a?k+1=a++b&q=%2B%20+", "/a/?k+1=a++b&q=%2B%20+"),
                      ("/a/b?+=%2B+%20", "/a/b/?+=%2B+%20"),
                      # the query as sent, empty parameters too
                      ("/a?x&", "/a/?x&"), ("/a?&&y=&", "/a/?&&y=&"),
                      ("/a?", "/a/")):
        r = srv.get(path)
        t.eq("GET %s -> 301" % path, r.status, 301)
        t.eq("GET %s 301 Cache-Control" % path, r.h("Cache-Control"), "public, max-age=3600")
        t.eq("GET %s 301 has the security headers" % path,
             r.h("X-Content-Type-Options"), "nosniff")
        got = r.h("Location") or ""
        # Accept an absolute URL as long as path+query match.
        m = re.match(r"^https?://[^/]+(/.*)$", got)
        t.eq("GET %s Location" % path, m.group(1) if m else got, loc)
    # what cannot stand in a query is percent-encoded in Location (RFC
    # 3986 3.4); a control byte in the query is a malformed target: 400
    for target, loc in ((b"/a?x=\xc3\xa9&y=<\"q\">", "/a/?x=%C3%A9&y=%3C%22q%22%3E"),
                        (b"/a?p=50%&q=%zz%4", "/a/?p=50%25&q=%25zz%254"),
                        (b"/a?ok=%41%2f", "/a/?ok=%41%2f")):
        st, hdrs, _ = nwtest.parse_raw(srv.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
                                               b"Connection: close\r\n\r\n"))
        got = dict((k.lower(), v) for k, v in hdrs).get("location", "")
        t.eq("GET %r -> 301 Location %s" % (target, loc), (st, got), (301, loc))
    for target in (b"/a?x=\x01", b"/a?x=\x7f", b"/a/?\x1b[31m", b"/style.css?a=\tb"):
        st = nwtest.raw_status(srv.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
                                       b"Connection: close\r\n\r\n"))
        t.eq("control byte in the query %r -> 400" % target, st, 400)
    # nano-web keeps the query whole: libmicrohttpd would take a record of
    # its connection pool per parameter, and ~300 short ones left the
    # request unanswered until the timeout
    for n in (400, 1500):
        target = b"/style.css?" + b"a=b&" * n
        st = nwtest.raw_status(srv.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
                                       b"Connection: close\r\n\r\n"))
        t.eq("a query of %d parameters (%d bytes) -> 200" % (n, len(target)), st, 200)
    expect = {
        "/style.css": ["text/css; charset=utf-8"],
        "/app.3f9a1c2b.js": ["application/javascript; charset=utf-8",
                             "text/javascript; charset=utf-8"],
        "/data.json": ["application/json; charset=utf-8"],
        "/logo.svg": ["image/svg+xml; charset=utf-8"],
        "/image.png": ["image/png"],
        "/small.txt": ["text/plain; charset=utf-8"],
        "/tpl.html": ["text/html; charset=utf-8"],
    }
    for path, ctypes in expect.items():
        r = srv.get(path)
        t.eq("GET %s status" % path, r.status, 200)
        t.check("GET %s content-type in %s" % (path, ctypes),
                (r.h("Content-Type") or "").replace(" ;", ";") in ctypes,
                "got %r" % r.h("Content-Type"))
    t.eq("png body byte-exact", srv.get("/image.png").body, PNG)
    t.eq("css body byte-exact", srv.get("/style.css").body, CSS.encode())
    t.eq("json body byte-exact", srv.get("/data.json").body, JSON_BODY.encode())
    srv.stop_checked(t)


@t.case
def headers():
    s, srv = start()
    r = srv.get("/style.css")
    etag = r.h("ETag") or ""
    t.check("ETag is strong quoted hex", re.fullmatch(r'"[0-9a-fA-F]+"', etag), etag)
    t.eq("Last-Modified is file mtime", r.h("Last-Modified"), nwtest.http_date(MTIME))
    t.eq("Accept-Ranges", r.h("Accept-Ranges"), "bytes")
    t.check("Vary: Accept-Encoding on compressible resource",
            "accept-encoding" in (r.h("Vary") or "").lower(), r.h("Vary"))
    t.eq("Content-Length matches body", r.h("Content-Length"), str(len(r.body)))
    t.check("no Connection: close on normal response",
            "close" not in (r.h("Connection") or "").lower(), r.h("Connection"))
    cc = {
        "/app.3f9a1c2b.js": "public, max-age=31536000, immutable",
        "/index.html": "no-cache",
        "/": "no-cache",
        "/tpl.html": "no-cache",
        "/style.css": "public, max-age=3600",
        "/plain.js": "public, max-age=3600",
        "/image.png": "public, max-age=3600",
    }
    for path, v in cc.items():
        t.eq("Cache-Control %s" % path, srv.get(path).h("Cache-Control"), v)
    sec = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
        "X-DNS-Prefetch-Control": "off",
    }
    for path in ("/", "/image.png"):
        r = srv.get(path)
        for k, v in sec.items():
            t.eq("security header %s on %s" % (k, path), r.h(k), v)
        t.check("Permissions-Policy present on %s" % path, r.h("Permissions-Policy"),
                r.header_list)
    r2 = srv.get("/style.css")
    t.eq("ETag stable across requests", r2.h("ETag"), etag)
    t.check("ETag differs between different files",
            srv.get("/plain.js").h("ETag") not in (None, etag) or JS == CSS, "")
    # curl as a real client
    p = nwtest.curl(["-D", "-", "-o", "/dev/null", srv.url("/style.css")])
    t.check("curl GET /style.css 200", p.returncode == 0 and b" 200" in p.stdout.split(b"\r\n")[0],
            p.stdout[:200] + p.stderr)
    srv.stop_checked(t)


@t.case
def head_and_methods():
    s, srv = start()
    for path in ("/", "/style.css", "/image.png", "/a/", "/small.txt"):
        g = srv.get(path)
        h = srv.head(path)
        t.eq("HEAD %s status" % path, h.status, g.status)
        t.eq("HEAD %s body empty" % path, h.body, b"")
        gd, hd = g.headers_dict(), h.headers_dict()
        t.eq("HEAD %s headers identical to GET" % path, hd, gd)
        t.eq("HEAD %s Content-Length = GET body length" % path,
             h.h("Content-Length"), str(len(g.body)))
    # HEAD on the wire: nothing after the header block.
    raw = srv.raw(b"HEAD /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    st, hdrs, body = nwtest.parse_raw(raw)
    t.eq("raw HEAD status", st, 200)
    t.eq("raw HEAD sends no body bytes", body, b"")
    t.check("raw HEAD has Content-Length of the full body",
            ("Content-Length", str(len(CSS))) in hdrs, hdrs)
    for m in ("POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT"):
        target = "/style.css"
        raw = srv.raw(("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                       "Connection: close\r\n\r\n" % (m, target)).encode())
        st, hdrs, body = nwtest.parse_raw(raw)
        t.eq("%s -> 405" % m, st, 405)
        allow = ",".join(v for k, v in hdrs if k.lower() == "allow")
        toks = {x.strip().upper() for x in allow.split(",")}
        t.check("%s 405 Allow lists GET and HEAD" % m, {"GET", "HEAD"} <= toks, allow)
    # a method HTTP does not define: not implemented (RFC 9110 9.1)
    for m in ("PROPFIND", "BREW", "get"):
        raw = srv.raw(("%s /style.css HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n\r\n" % m).encode())
        st, hdrs, body = nwtest.parse_raw(raw)
        t.eq("%s -> 501" % m, st, 501)
        t.eq("%s 501 body" % m, body, b"Not Implemented\n")
    # a method that is not a token: a malformed request line
    for m in (b"G@T", b"G\x01T", b"GE(T", b'"GET"'):
        st = nwtest.raw_status(srv.raw(m + b" /style.css HTTP/1.1\r\nHost: x\r\n"
                                       b"Connection: close\r\n\r\n"))
        t.eq("method %r -> 400" % m, st, 400)
    r = srv.request("POST", "/style.css", body=b"x=1",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    t.eq("POST with body -> 405", r.status, 405)
    # a small body is read and dropped: the connection goes on; a large or
    # chunked one, or one behind Expect: 100-continue, is not read: the
    # answer closes the connection
    nxt = b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    for label, req, want in (
            ("POST with a 5-byte body", b"POST /style.css HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 5\r\n\r\nhello", [b"405", b"200"]),
            ("BREW with a 64 KiB body", b"BREW /style.css HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 65536\r\n\r\n" + b"b" * 65536, [b"501", b"200"]),
            ("GET with a 3-byte body", b"GET /style.css HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 3\r\n\r\nabc", [b"200", b"200"]),
            ("POST with a 64 KiB + 1 body", b"POST /style.css HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 65537\r\n\r\nhello", [b"405"]),
            ("POST chunked", b"POST /style.css HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", [b"405"]),
            ("POST behind Expect: 100-continue", b"POST /style.css HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n", [b"405"])):
        raw = srv.raw(req + nxt)
        got = re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)
        t.eq("%s: answers %s" % (label, [x.decode() for x in want]), got, want)
        if len(want) == 1:
            t.check("%s: the answer says Connection: close" % label,
                    b"\r\nConnection: close\r\n" in raw.split(b"\r\n\r\n")[0] + b"\r\n", raw[:200])
        else:
            t.check("%s: the second answer is the file" % label, raw.endswith(SMALL.encode()), raw[-40:])
    r = srv.request("OPTIONS", "/style.css")
    t.eq("OPTIONS -> 204", r.status, 204)
    toks = {x.strip().upper() for x in (r.h("Allow") or "").split(",")}
    t.check("OPTIONS Allow lists GET and HEAD", {"GET", "HEAD"} <= toks, r.h("Allow"))
    t.eq("OPTIONS no body", r.body, b"")
    t.eq("server still healthy after methods", srv.get("/_health").status, 200)
    # Host (RFC 9112 3.2) and the absolute form of the target (3.2.2).
    for label, req, want in (
            ("HTTP/1.1 without Host", b"GET /style.css HTTP/1.1\r\n", 400),
            ("two Host lines", b"GET /style.css HTTP/1.1\r\nHost: a\r\nHost: b\r\n", 400),
            ("HEAD without Host", b"HEAD /style.css HTTP/1.1\r\n", 400),
            ("POST without Host", b"POST /style.css HTTP/1.1\r\nContent-Length: 0\r\n", 400),
            ("HTTP/1.0 without Host", b"GET /style.css HTTP/1.0\r\n", 200),
            ("empty Host", b"GET /style.css HTTP/1.1\r\nHost:\r\n", 200),
            ("Host with port", b"GET /style.css HTTP/1.1\r\nHost: example.com:8080\r\n", 200),
            ("Host IPv6 literal", b"GET /style.css HTTP/1.1\r\nHost: [::1]:3000\r\n", 200),
            ("Host with a space", b"GET /style.css HTTP/1.1\r\nHost: a b\r\n", 400),
            # the OWS around a field value is not part of it (RFC 9110 5.5)
            ("Host followed by a space", b"GET /style.css HTTP/1.1\r\nHost: x \r\n", 200),
            ("Host with a port, then a tab",
             b"GET /style.css HTTP/1.1\r\nHost: x:80\t\r\n", 200),
            ("Host with a slash", b"GET /style.css HTTP/1.1\r\nHost: a/b\r\n", 400),
            ("Host with userinfo", b"GET /style.css HTTP/1.1\r\nHost: u@a\r\n", 400),
            ("Host with a port that is not a number",
             b"GET /style.css HTTP/1.1\r\nHost: x:abc\r\n", 400),
            ("Host with two colons", b"GET /style.css HTTP/1.1\r\nHost: a:b:c\r\n", 400),
            ("Host IPv6 without brackets", b"GET /style.css HTTP/1.1\r\nHost: ::1\r\n", 400),
            ("Host IPv6 unclosed", b"GET /style.css HTTP/1.1\r\nHost: [::1\r\n", 400),
            ("Host empty port", b"GET /style.css HTTP/1.1\r\nHost: x:\r\n", 200),
            ("absolute form", b"GET http://x/style.css HTTP/1.1\r\nHost: x\r\n", 200),
            ("absolute form, other host, port, query",
             b"GET HTTP://Other.Example:8080/style.css?v=3 HTTP/1.1\r\nHost: y\r\n", 200),
            ("absolute form https", b"GET https://x/style.css HTTP/1.1\r\nHost: x\r\n", 200),
            ("absolute form without path", b"GET http://x HTTP/1.1\r\nHost: x\r\n", None),
            ("absolute form with ..", b"GET http://x/../style.css HTTP/1.1\r\nHost: x\r\n", 400),
            ("space before the colon", b"GET /style.css HTTP/1.1\r\nHost : x\r\n", 400),
            ("tab before the colon", b"GET /style.css HTTP/1.1\r\nHost: x\r\nX-A\t: 1\r\n", 400),
            ("Transfer-Encoding not ending in chunked",
             b"GET /style.css HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n", 400),
            ("Transfer-Encoding chunked, empty body",
             b"GET /style.css HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n", None),
            ("two Content-Length lines that disagree",
             b"GET /style.css HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n", 400),
            ("two equal Content-Length lines",
             b"GET /style.css HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n", 200)):
        tail = b"0\r\n\r\n" if b"chunked" in req else b""
        st, hdrs, body = nwtest.parse_raw(srv.raw(req + b"Connection: close\r\n\r\n" + tail))
        expect = CSS.encode()
        if want is None:  # what the same request without a body gives
            path = req.split(b" ")[1].decode()
            ref = srv.get(path if path.startswith("/") else "/")
            want, expect = ref.status, ref.body
        t.eq("%s -> %d" % (label, want), st, want)
        if want == 200 and not label.startswith(("POST", "HEAD")):
            t.eq("%s: the file's bytes" % label, body, expect)
    t.eq("server still healthy after Host checks", srv.get("/_health").status, 200)
    # A bad Transfer-Encoding closes the connection: what follows it on the
    # same connection is not read as a request (no smuggling).
    raw = srv.raw(b"GET /style.css HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, x\r\n\r\n"
                  b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n")
    t.eq("bad Transfer-Encoding: one 400, then closed",
         (raw.count(b"HTTP/1.1 "), nwtest.parse_raw(raw)[0]), (1, 400))
    # Content-Length 0 then N: libmicrohttpd reads no body, a proxy using the
    # last line would send the next request as the body; after the 400 the
    # connection must close, or that request would be served
    smuggled = b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = srv.raw(b"GET /style.css HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(smuggled) + smuggled)
    t.eq("Content-Length 0 and N: one 400, then closed",
         (raw.count(b"HTTP/1.1 "), nwtest.parse_raw(raw)[0]), (1, 400))
    srv.stop_checked(t)


@t.case
def hidden_and_well_known():
    s, srv = start()
    for p in ("/.env", "/.git/config", "/.git/", "/a/.hidden", "/%2eenv", "/.git"):
        r = srv.get(p)
        t.eq("hidden %s -> 404" % p, r.status, 404)
        t.check("hidden %s does not leak content" % p,
                b"SECRET" not in r.body and b"[core]" not in r.body and b"hidden\n" != r.body, r.body[:80])
    r = srv.get("/.well-known/security.txt")
    t.eq("/.well-known/security.txt 200", (r.status, r.body),
         (200, b"Contact: mailto:x@example.org\n"))
    srv.stop_checked(t)


@t.case
def templates():
    s, srv = start()
    r = srv.get("/tpl.html")
    t.eq("template page 200", r.status, 200)
    body = r.body.decode("utf-8")
    t.check("{{env.FOO}} -> bar", "<p id=foo>[bar]</p>" in body, body[:300])
    t.check("{{env.VITE_FOO}} (full name) -> bar", "<p id=full>[bar]</p>" in body, body[:400])
    t.check("{{env.HTML}} HTML-escaped", "<i>" not in body.split("<p id=html>")[1][:20]
            and "&lt;i&gt;&amp;" in body, body[:500])
    t.check("{{env.NOPE}} unset -> empty", "<p id=unset>[]</p>" in body, body[:600])

    def between(tag):
        parts = body.split(tag)
        return parts[1] if len(parts) >= 3 else None

    j = between("@@J@@")
    t.check("{{Json}} replaced", j is not None and "{{" not in j, j)
    expected = {"FOO": "bar", "HTML": "<i>&", "XSS": XSS}
    try:
        got = json.loads(j)
    except Exception as e:
        got = "not JSON: %s: %r" % (e, j)
    t.eq("{{Json}} is the prefixed env as JSON", got, expected)
    bad = [c for c in ("<", ">", "&", "\u2028", "\u2029") if j is not None and c in j]
    t.check("{{Json}} safe in <script> (no raw < > & U+2028 U+2029)", not bad, "%r in %r" % (bad, j))
    t.check("{{Json}} escapes < as \\u003c", j is not None and "\\u003c" in j.lower(), j)
    t.check("non-prefixed env not exposed", "secret-other" not in body, "")
    e = between("@@E@@")
    try:
        got = json.loads(json.loads('"' + e + '"'))
    except Exception as ex:
        got = "not a JS-string-escaped JSON: %s: %r" % (ex, e)
    t.eq("{{EscapedJson}} decodes (string literal -> JSON) to env", got, expected)
    t.check("{{EscapedJson}} has no raw < > &", e is not None and not any(c in e for c in "<>&"), e)
    js = srv.get("/tpl.js").body
    t.eq("placeholders in a .js file are left alone", js, b"var x = '{{env.FOO}}'; /* {{Json}} */\n")
    sj = between("@@S@@")
    t.check("{{ Json }} with spaces replaced", sj == j, sj)
    t.eq("Content-Length matches rendered body", r.h("Content-Length"), str(len(r.body)))
    # compressed variants of templated HTML decode to the rendered body
    for enc in ("gzip", "br", "zstd"):
        g = srv.get("/tpl.html", headers={"Accept-Encoding": enc})
        ce = g.h("Content-Encoding")
        try:
            dec = nwtest.decode(g.body, ce)
        except Exception as ex:
            dec = "decode error %s" % ex
        t.eq("templated html %s variant decodes to rendered body" % enc, dec, r.body)
    srv.stop_checked(t)


@t.case
def health_and_stats():
    s, srv = start()
    r = srv.get("/_health")
    t.eq("/_health 200", r.status, 200)
    t.check("/_health content-type json", "json" in (r.h("Content-Type") or ""), r.h("Content-Type"))
    try:
        j = json.loads(r.body)
    except Exception as e:
        j = {"error": str(e), "body": r.body[:200]}
    t.eq("/_health status ok", j.get("status"), "ok")
    t.check("/_health last_reload null before any reload",
            "last_reload" in j and j["last_reload"] is None, j)
    t.check("/_health has time string", isinstance(j.get("time"), str) and j.get("time"), j)
    r = srv.get("/_stats")
    t.eq("/_stats 200", r.status, 200)
    try:
        j = json.loads(r.body)
    except Exception as e:
        j = "not JSON: %s %r" % (e, r.body[:200])
    t.check("/_stats is a JSON object", isinstance(j, dict) and len(j) > 0, j)
    before = flatten(j) if isinstance(j, dict) else {}
    for _ in range(6):
        srv.get("/style.css")
    try:
        after = flatten(json.loads(srv.get("/_stats").body))
    except Exception:
        after = {}
    grown = sorted(k for k, v in after.items() if isinstance(before.get(k), (int, float))
                   and v - before[k] >= 6)
    t.check("/_stats has a counter that grew by >= 6 after 6 requests", grown, (before, after))
    # bytes_sent counts bodies sent: a HEAD sends none (the /_stats answer
    # in between is the only body, and its size is known)
    for path in ("/style.css", "/nope-404"):
        a = srv.get("/_stats")
        for _ in range(5):
            srv.head(path)
        b = json.loads(srv.get("/_stats").body)["bytes_sent"]
        t.eq("bytes_sent: HEAD %s adds no body bytes" % path,
             b - json.loads(a.body)["bytes_sent"], len(a.body))
    # each answer is counted in its own class
    before = json.loads(srv.get("/_stats").body)["status"]
    t.eq("a malformed path -> 400", nwtest.raw_status(srv.raw(
        b"GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")), 400)
    t.eq("a directory without its slash -> 301", srv.get("/a").status, 301)
    after = json.loads(srv.get("/_stats").body)["status"]
    t.eq("/_stats status: one more 4xx and one more 3xx",
         (after["4xx"] - before["4xx"], after["3xx"] - before["3xx"]), (1, 1))
    srv.stop_checked(t)


@t.case
def health_counts_what_the_load_left_out():
    s = Site({"index.html": "<html>x</html>"})
    os.symlink("/etc/hostname", s.path("outside.txt"))
    os.symlink("nowhere.txt", s.path("dangling.txt"))
    srv = Server(s.root)
    h = json.loads(srv.get("/_health").body)
    t.eq("/_health: 1 file, 2 left out (a link outside the root, a dangling one), ok",
         (h.get("files"), h.get("skipped"), h.get("status")), (1, 2, "ok"))
    t.eq("... the same count in /_stats",
         json.loads(srv.get("/_stats").body)["snapshot"]["skipped"], 2)
    srv.stop_checked(t)


def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, prefix + k + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[prefix + k] = v
    return out


@t.case
def keep_alive():
    s, srv = start()
    c = srv.conn()
    ports = set()
    ok = 0
    closes = []
    paths = ["/", "/style.css", "/image.png", "/nope", "/a", "/small.txt", "/_health", "/style.css"]
    for p in paths:
        c.request("GET", p, headers={"Accept-Encoding": "gzip"})
        r = c.getresponse()
        r.read()
        ports.add(c.sock.getsockname()[1] if c.sock else None)
        if r.status in (200, 301, 404):
            ok += 1
        if "close" in (r.getheader("Connection") or "").lower():
            closes.append(p)
        # HEAD on the same connection too
        c.request("HEAD", p)
        r = c.getresponse()
        r.read()
        ports.add(c.sock.getsockname()[1] if c.sock else None)
        if "close" in (r.getheader("Connection") or "").lower():
            closes.append("HEAD " + p)
    c.close()
    t.eq("keep-alive: all requests answered", ok, len(paths))
    t.eq("keep-alive: one socket reused for all requests", len(ports), 1)
    t.eq("keep-alive: no Connection: close", closes, [])
    # 304, 206, 416, 405 with a body, OPTIONS: the connection stays in sync
    c = srv.conn()
    etag = srv.get("/style.css").h("ETag")
    seq = [("GET", "/style.css", {"If-None-Match": etag}, None, 304),
           ("GET", "/style.css", {"Range": "bytes=0-9"}, None, 206),
           ("GET", "/style.css", {"Range": "bytes=999999-"}, None, 416),
           ("POST", "/style.css", {"Content-Type": "text/plain"}, b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n", 405),
           ("OPTIONS", "/style.css", {}, None, 204),
           ("GET", "/small.txt", {}, None, 200)]
    got = []
    for m, p, h, b, want in seq:
        try:
            c.request(m, p, body=b, headers=h)
            r = c.getresponse()
            body = r.read()
            got.append(r.status)
            if "close" in (r.getheader("Connection") or "").lower():
                c.close()
                c = srv.conn()
        except Exception as e:
            got.append(repr(e))
            c.close()
            c = srv.conn()
    c.close()
    t.eq("keep-alive: 304/206/416/405(body)/204/200 in sequence", got, [x[4] for x in seq])
    t.eq("keep-alive: the last GET after a POST body got the right file", body, SMALL.encode())
    # HTTP/1.0 with keep-alive still works and HTTP/1.0 without Host is served
    raw = srv.raw(b"GET /small.txt HTTP/1.0\r\n\r\n")
    st, _, body = nwtest.parse_raw(raw)
    t.eq("HTTP/1.0 GET", (st, body), (200, SMALL.encode()))
    # pipelined requests on one socket
    raw = srv.raw(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.eq("pipelined: two responses", raw.count(b"HTTP/1.1 200"), 2)
    # Connection: close from the client: the server closes after the response
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    sock.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data, eof = b"", False
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                eof = True
                break
            data += b
    except OSError:
        pass
    sock.close()
    t.check("Connection: close request: full response then EOF (bound 5 s)",
            eof and data.endswith(SMALL.encode()), (eof, data[-60:]))
    server_closes_first(srv)
    srv.stop_checked(t)


def time_wait_ports(port):
    """(server side, client side) TIME_WAIT sockets of 127.0.0.1:port."""
    hexport = "%04X" % port
    server = client = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, remote, state = line.split()[1:4]
            if state != "06":
                continue
            if local.endswith(":" + hexport):
                server += 1
            elif remote.endswith(":" + hexport):
                client += 1
    return server, client


def server_closes_first(srv):
    """With "Connection: close" the server must send its FIN right after the
    response, also while it is busy with other connections, without waiting
    for the client to close; if the client has to close first, the client
    keeps the TIME_WAIT and a client making a new connection per request
    runs out of ephemeral ports. (Whether a client that closes as soon as
    the body is in beats that FIN is a race on a loaded machine, so each
    client here waits for it, briefly.)"""
    n = 40
    before = time_wait_ports(srv.port)
    socks = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(n)]
    for s in socks:
        s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    complete = eof = 0
    for s in socks:
        s.settimeout(0.5)  # the FIN follows the body at once
        data, closed = b"", False
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                closed = True
                break
            data += b
        complete += data.endswith(SMALL.encode())
        eof += closed
        s.close()
    after = time_wait_ports(srv.port)
    server_tw, client_tw = after[0] - before[0], after[1] - before[1]
    t.eq("Connection: close under concurrency: every response complete", complete, n)
    t.eq("Connection: close: the server's FIN follows every response", eof, n)
    t.check("Connection: close: the server closed first (its TIME_WAITs)",
            server_tw >= n and client_tw == 0, (server_tw, client_tw))


@t.case
def first_requests_race():
    """Responses are built at the first request for them: many threads
    asking for the same never-served variants at once all get them right."""
    s = site()
    srv = Server(s.root, args=["--threads", "4"], env=ENV)
    want = {}
    for path in ("/style.css", "/plain.js", "/data.json"):
        for enc in ("identity", "gzip", "br", "zstd"):
            want[(path, enc)] = None
    results, errors = [], []
    barrier = threading.Barrier(12)

    def client():
        try:
            c = srv.conn()
            barrier.wait(10)
            for (path, enc) in want:
                c.request("GET", path, headers={"Accept-Encoding": enc})
                r = c.getresponse()
                results.append((path, enc, r.status, r.getheader("ETag"),
                                r.getheader("Content-Encoding"), r.read()))
                etag = r.getheader("ETag") or ""
                c.request("GET", path, headers={"Accept-Encoding": enc, "If-None-Match": etag})
                r = c.getresponse()
                r.read()
                results.append((path, "304", r.status, r.getheader("ETag") == etag, None, b""))
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    t.eq("first requests in parallel: no client error", errors, [])
    t.eq("first requests in parallel: every answer arrived", len(results), 12 * 2 * len(want))
    bad = []
    for (path, enc, status, etag, ce, body) in results:
        if enc == "304":
            if status != 304 or etag is not True:
                bad.append((path, enc, status, etag))
            continue
        if status != 200:
            bad.append((path, enc, status))
            continue
        first = want[(path, enc)]
        if first is None:
            want[(path, enc)] = (etag, ce, body)
        elif first != (etag, ce, body):
            bad.append((path, enc, "differs"))
    t.eq("first requests in parallel: 200s identical per variant, 304s right", bad, [])
    srv.stop_checked(t)


@t.case
def siblings_by_bytes_not_mtime():
    """A sibling older than its file is used when it decompresses to the
    file's bytes (a build that touches the file after compressing it), and
    a stale one is logged and left alone, whatever its mtime."""
    s = Site()
    s.write("older.txt", PRE, mtime=MTIME)
    s.write("older.txt.gz", make_pre_gz(), mtime=MTIME - 3600)
    s.write("stale.txt", PRE.replace("a", "b"), mtime=MTIME)
    s.write("stale.txt.gz", make_pre_gz(), mtime=MTIME + 3600)
    srv = Server(s.root)
    r = srv.get("/older.txt", headers={"Accept-Encoding": "gzip"})
    t.eq("an older sibling with the same bytes is the gzip variant",
         (r.h("Content-Encoding"), r.body), ("gzip", make_pre_gz()))
    r = srv.get("/stale.txt", headers={"Accept-Encoding": "gzip"})
    t.check("a newer but stale sibling is not used",
            nwtest.safe_decode(r.body, r.h("Content-Encoding") or "identity")
            == PRE.replace("a", "b").encode(), r.header_list)
    t.check("... and the log says so",
            "not using %s" % s.path("stale.txt.gz") in srv.stderr(), srv.stderr()[-500:])
    srv.stop_checked(t)


@t.case
def precompressed_and_small():
    s, srv = start()
    r = srv.get("/pre.txt", headers={"Accept-Encoding": "gzip"})
    t.eq("sibling .gz used as gzip variant: Content-Encoding", r.h("Content-Encoding"), "gzip")
    t.eq("sibling .gz used as gzip variant: bytes are the sibling file", r.body, PRE_GZ)
    t.eq("sibling .gz decodes to identity", nwtest.safe_decode(r.body, "gzip"), PRE.encode())
    for enc, want in (("br", PRE_BR), ("zstd", PRE_ZST)):
        r = srv.get("/pre2.css", headers={"Accept-Encoding": enc})
        t.eq("sibling variant for %s: Content-Encoding" % enc, r.h("Content-Encoding"), enc)
        t.check("sibling variant for %s: bytes are the sibling file" % enc, r.body == want,
                "got %d bytes, sibling has %d" % (len(r.body), len(want)))
        t.eq("sibling variant for %s decodes to identity" % enc, nwtest.safe_decode(r.body, enc),
             PRE2.encode())
    r = srv.get("/pre.txt")
    t.eq("identity of pre.txt", (r.status, r.h("Content-Encoding"), r.body), (200, None, PRE.encode()))
    # a sibling is also a file of its own, as with nginx's gzip_static: a
    # link to pre.txt.gz gets its bytes as they are
    for path, want, ctype in (("/pre.txt.gz", PRE_GZ, "application/gzip"),
                              ("/pre2.css.zst", PRE_ZST, None)):
        for ae in (None, "gzip, br, zstd"):
            r = srv.get(path, headers={"Accept-Encoding": ae} if ae else {})
            t.eq("the sibling %s at its own URL (%s): 200, its bytes, no Content-Encoding"
                 % (path, ae), (r.status, r.body == want, r.h("Content-Encoding")),
                 (200, True, None))
            if ctype:
                t.eq("... Content-Type %s" % ctype, r.h("Content-Type"), ctype)
        r = srv.get(path, headers={"Range": "bytes=0-9"})
        t.eq("the sibling %s: a range of its bytes" % path, (r.status, r.body), (206, want[:10]))
        r2 = srv.get(path, headers={"If-None-Match": r.h("ETag") or "x"})
        t.eq("the sibling %s: revalidated" % path, r2.status, 304)
    r = srv.get("/small.txt", headers={"Accept-Encoding": "gzip, br, zstd"})
    t.eq("small file (<256 B) not compressed", (r.h("Content-Encoding"), r.body), (None, SMALL.encode()))
    r = srv.get("/image.png", headers={"Accept-Encoding": "gzip, br, zstd"})
    t.eq("png (random) not compressed", (r.h("Content-Encoding"), r.body), (None, PNG))
    for enc in ("gzip", "br", "zstd"):
        r = srv.get("/style.css", headers={"Accept-Encoding": enc})
        t.eq("css compressed with %s" % enc, r.h("Content-Encoding"), enc)
        t.check("css %s variant smaller than identity" % enc, len(r.body) < len(CSS), len(r.body))
    srv.stop_checked(t)


@t.case
def many_files():
    s = Site()
    names = []
    for i in range(1500):
        name = "d%02d/sub%d/file-%04d.txt" % (i % 37, i % 5, i)
        names.append(name)
        s.write(name, "content of %s\n" % name)
    srv = Server(s.root)
    c = srv.conn()
    bad = []
    for name in names:
        c.request("GET", "/" + name)
        r = c.getresponse()
        body = r.read()
        if r.status != 200 or body != ("content of %s\n" % name).encode():
            bad.append((name, r.status, body[:40]))
    c.close()
    t.eq("1500 files in 185 directories: each served with its own content", bad[:5], [])
    t.eq("a name that is not there -> 404", srv.get("/d01/sub1/file-9999.txt").status, 404)
    srv.stop_checked(t)


if __name__ == "__main__":
    nwtest.require_tools("brotli", "zstd", "curl")
    t.main()
