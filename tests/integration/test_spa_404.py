#!/usr/bin/env python3
"""404 handling (custom 404.html, default text body) and --spa fallback."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402
from nwtest import Server, Site, compressible_text  # noqa: E402

t = nwtest.Tests("spa_404")

INDEX = "<!doctype html><html><body>SPA SHELL " + compressible_text(1000, "spa") + "</body></html>"
NOTFOUND = "<!doctype html><html><body>CUSTOM 404 PAGE</body></html>"
FILES = {
    "index.html": INDEX,
    "404.html": NOTFOUND,
    "assets/app.js": "console.log('app');\n",
    "about/index.html": "<html>ABOUT</html>",
}


@t.case
def not_found_custom_page():
    s = Site(FILES)
    srv = Server(s.root)
    for p in ("/nope", "/dashboard/settings", "/assets/x.js", "/nope.png", "/about/nope"):
        r = srv.get(p)
        t.eq("no --spa: GET %s -> 404" % p, r.status, 404)
        t.eq("no --spa: GET %s body is 404.html" % p, r.body, NOTFOUND.encode())
        t.check("no --spa: GET %s Content-Type text/html" % p,
                (r.h("Content-Type") or "").startswith("text/html"), r.h("Content-Type"))
    h = srv.head("/nope")
    t.eq("HEAD /nope -> 404 no body", (h.status, h.body), (404, b""))
    t.eq("HEAD /nope Content-Length of the 404 page", h.h("Content-Length"), str(len(NOTFOUND)))
    r = srv.get("/404.html")
    t.eq("GET /404.html itself is a 200", (r.status, r.body), (200, NOTFOUND.encode()))
    r = srv.get("/nope", {"Accept-Encoding": "gzip, br"})
    try:
        dec = nwtest.decode(r.body, r.h("Content-Encoding"))
    except Exception as e:
        dec = "decode error %s" % e
    t.eq("404 with AE: status and decoded body", (r.status, dec), (404, NOTFOUND.encode()))
    srv.stop_checked(t)


@t.case
def not_found_default():
    s = Site({"index.html": INDEX})
    srv = Server(s.root)
    r = srv.get("/nope")
    t.eq("no 404.html: GET /nope -> 404", r.status, 404)
    t.check("no 404.html: short non-empty body", 0 < len(r.body) < 1024, r.body)
    t.check("no 404.html: Content-Type is text", (r.h("Content-Type") or "").startswith("text/"),
            r.h("Content-Type"))
    t.eq("no 404.html: Content-Length matches", r.h("Content-Length"), str(len(r.body)))
    srv.stop_checked(t)


@t.case
def spa_mode():
    s = Site(FILES)
    srv = Server(s.root, args=["--spa"])
    for p in ("/dashboard/settings", "/dashboard", "/dashboard/", "/users/42/edit",
              "/dashboard?tab=1", "/a.b/c"):
        r = srv.get(p)
        t.eq("--spa: GET %s -> 200 index.html" % p, (r.status, r.body), (200, INDEX.encode()))
        t.check("--spa: GET %s Content-Type text/html" % p,
                (r.h("Content-Type") or "").startswith("text/html"), r.h("Content-Type"))
    for p in ("/assets/x.js", "/nope.png", "/favicon.ico", "/dashboard/app.css"):
        r = srv.get(p)
        t.eq("--spa: missing asset %s -> 404" % p, r.status, 404)
    h = srv.head("/dashboard/settings")
    t.eq("--spa: HEAD route -> 200 no body", (h.status, h.body), (200, b""))
    r = srv.get("/assets/app.js")
    t.eq("--spa: existing asset served", (r.status, r.body), (200, b"console.log('app');\n"))
    r = srv.get("/about/")
    t.eq("--spa: existing dir index served", (r.status, r.body), (200, b"<html>ABOUT</html>"))
    r = srv.get("/")
    t.eq("--spa: / is index.html", (r.status, r.body), (200, INDEX.encode()))
    r = srv.get("/dashboard/settings", {"Accept-Encoding": "br"})
    try:
        dec = nwtest.decode(r.body, r.h("Content-Encoding"))
    except Exception as e:
        dec = "decode error %s" % e
    t.eq("--spa: route with AE br decodes to index.html", (r.status, dec), (200, INDEX.encode()))
    et = srv.get("/").h("ETag")
    t.eq("--spa: route revalidates with index.html's ETag -> 304",
         srv.get("/dashboard/settings", {"If-None-Match": et or '"x"'}).status, 304)
    r = srv.get("/dashboard/settings", {"Range": "bytes=0-8"})
    t.eq("--spa: Range on a route is cut from index.html", (r.status, r.body), (206, INDEX.encode()[:9]))
    r = srv.get("/assets/x.js", {"Range": "bytes=0-8"})
    t.eq("--spa: Range on a missing asset -> 404 (not 206/416)", r.status, 404)
    r = srv.get("/assets/x.js", {"If-None-Match": "*"})
    t.eq("--spa: If-None-Match: * on a missing asset -> 404", r.status, 404)
    for p in ("/.env", "/../x", "/dashboard/../.env"):
        r = srv.get(p)
        t.check("--spa: %s is not rewritten to 200" % p, r.status in (400, 404), r.status)
    r = srv.get("/dashboard/../x")
    t.eq("--spa: /dashboard/../x is the route /x", (r.status, r.body), (200, INDEX.encode()))
    srv.stop_checked(t)


if __name__ == "__main__":
    nwtest.require_tools("brotli", "zstd")
    t.main()
