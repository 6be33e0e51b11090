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


# --spa by what the request wants (Sec-Fetch-Mode, Sec-Fetch-Dest, Accept).
CHROME_NAV_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                     "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")
NAV = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "none",
       "Sec-Fetch-User": "?1", "Accept": CHROME_NAV_ACCEPT}
FETCH = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Sec-Fetch-Site": "same-origin",
         "Accept": "*/*"}
IMG = {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image", "Sec-Fetch-Site": "same-origin",
       "Accept": "image/avif,image/webp,*/*"}
CURL = {"Accept": "*/*"}
SPA_VARY = ("sec-fetch-mode", "sec-fetch-dest", "accept")


def vary_set(r):
    return set(v.strip().lower() for v in (r.h("Vary") or "").split(",") if v.strip())


def check_spa_vary(label, r, encoding=False):
    """One Vary line naming the SPA fields (and Accept-Encoding when it varies)."""
    lines = [v for k, v in r.header_list if k.lower() == "vary"]
    t.eq(label + ": one Vary line", len(lines), 1)
    want = set(SPA_VARY) | ({"accept-encoding"} if encoding else set())
    t.eq(label + ": Vary", vary_set(r), want)


def check_plain_vary(label, r):
    t.check(label + ": Vary names no Sec-Fetch-*/Accept",
            vary_set(r) <= {"accept-encoding"}, r.h("Vary"))


def nf_varies(srv):
    """Whether the 404 page has compressed variants (it is too small here)."""
    return "accept-encoding" in vary_set(srv.get("/404.html"))


def index_body(label, r):
    try:
        return nwtest.decode(r.body, r.h("Content-Encoding"))
    except Exception as e:
        return "%s: decode error %s" % (label, e)


@t.case
def spa_navigation():
    s = Site(FILES)
    srv = Server(s.root, args=["--spa"])
    for p in ("/users/jane.doe", "/v/1.2", "/dashboard", "/x.png", "/dashboard/app.css"):
        r = srv.get(p, NAV)
        t.eq("navigate %s -> 200 index.html" % p, (r.status, r.body), (200, INDEX.encode()))
        check_spa_vary("navigate %s" % p, r, encoding=True)
    r = srv.get("/users/jane.doe", dict(NAV, **{"Accept-Encoding": "gzip, deflate, br, zstd"}))
    t.eq("navigate with AE decodes to index.html", (r.status, index_body("AE", r)),
         (200, INDEX.encode()))
    t.check("navigate with AE is compressed", r.h("Content-Encoding") in ("br", "zstd", "gzip"),
            r.h("Content-Encoding"))
    check_spa_vary("navigate with AE", r, encoding=True)
    r = srv.get("/users/jane.doe", {"Sec-Fetch-Mode": "NAVIGATE"})
    t.eq("Sec-Fetch-Mode: NAVIGATE (any case) -> 200", r.status, 200)
    # without a navigation, a file name is a 404 even when HTML is acceptable:
    # crawlers ask for robots.txt and sitemap.xml with text/html in Accept
    for p in ("/users/jane.doe", "/robots.txt", "/sitemap.xml", "/old/report.pdf"):
        r = srv.get(p, {"Accept": CHROME_NAV_ACCEPT})
        t.eq("Accept text/html, no Sec-Fetch: %s -> 404" % p, (r.status, r.body),
             (404, NOTFOUND.encode()))
        check_spa_vary("Accept text/html %s" % p, r, encoding=nf_varies(srv))
    r = srv.get("/pricing", {"Accept": CHROME_NAV_ACCEPT})
    t.eq("crawler-like /pricing -> 200 index.html", (r.status, r.body), (200, INDEX.encode()))
    r = srv.get("/page", dict(FETCH, Accept="text/html"))
    t.eq("fetch() asking for text/html -> 200", r.status, 200)
    r = srv.get("/page.html", dict(FETCH, Accept="text/html"))
    t.eq("fetch() asking for text/html, a file name -> 404", r.status, 404)
    srv.stop_checked(t)


@t.case
def spa_subresources():
    s = Site(FILES)
    srv = Server(s.root, args=["--spa"])
    for label, hdrs, p in (("fetch cors", FETCH, "/api/x"),
                           ("fetch application/json", dict(FETCH, Accept="application/json"),
                            "/api/users"),
                           ("img", IMG, "/missing"),
                           ("script chunk", {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "script",
                                             "Accept": "*/*"}, "/assets/chunk-abc"),
                           ("Sec-Fetch-Dest alone", {"Sec-Fetch-Dest": "image"}, "/missing")):
        r = srv.get(p, hdrs)
        t.eq("%s %s -> 404 page" % (label, p), (r.status, r.body), (404, NOTFOUND.encode()))
        check_spa_vary("%s %s" % (label, p), r, encoding=nf_varies(srv))
    r = srv.get("/api/x", FETCH)
    t.eq("a 404 the rule decided is not stored (a cache ignoring Vary)",
         r.h("Cache-Control"), "no-store")
    r = srv.get("/nope.png", CURL)
    t.eq("a 404 for a file name is not stored either", r.h("Cache-Control"), "no-store")
    r = srv.get("/api/x", dict(FETCH, **{"Accept-Encoding": "br"}))
    t.eq("fetch with AE: 404 page decodes", (r.status, index_body("404 AE", r)),
         (404, NOTFOUND.encode()))
    check_spa_vary("fetch with AE 404", r, encoding=nf_varies(srv))
    r = srv.get("/api/x", dict(FETCH, **{"If-None-Match": "*"}))
    t.eq("fetch If-None-Match: * -> 404", r.status, 404)
    r = srv.get("/api/x", dict(FETCH, Range="bytes=0-3"))
    t.eq("fetch Range -> 404", r.status, 404)
    srv.stop_checked(t)
    # a 404 page large enough to be compressed: both Vary reasons on one line
    big404 = "<!doctype html><html><body>" + compressible_text(4000, "nf") + "</body></html>"
    s2 = Site(dict(FILES, **{"404.html": big404}))
    srv = Server(s2.root, args=["--spa"])
    for ae in ("br", "gzip", None):
        r = srv.get("/api/x", dict(FETCH, **({"Accept-Encoding": ae} if ae else {})))
        t.eq("compressible 404 page, AE %s: decodes" % ae, (r.status, index_body("404", r)),
             (404, big404.encode()))
        t.eq("compressible 404 page, AE %s: Content-Encoding" % ae, r.h("Content-Encoding"), ae)
        check_spa_vary("compressible 404 page, AE %s" % ae, r, encoding=True)
    r = srv.get("/api/x", {"Accept-Encoding": "br"})
    t.eq("compressible 404 page, curl-like /api/x -> 200 (extension rule)", r.status, 200)
    srv.stop_checked(t)
    srv = Server(s2.root)
    r = srv.get("/api/x", dict(FETCH, **{"Accept-Encoding": "br"}))
    t.eq("no --spa: compressible 404 page Vary is Accept-Encoding only",
         (r.status, vary_set(r)), (404, {"accept-encoding"}))
    t.eq("no --spa: the 404 page is no-cache", r.h("Cache-Control"), "no-cache")
    srv.stop_checked(t)


@t.case
def spa_old_clients():
    s = Site(FILES)
    srv = Server(s.root, args=["--spa"])
    r = srv.get("/dashboard", CURL)
    t.eq("curl-like /dashboard -> 200 index.html", (r.status, r.body), (200, INDEX.encode()))
    check_spa_vary("curl-like /dashboard", r, encoding=True)
    r = srv.get("/nope.png", CURL)
    t.eq("curl-like /nope.png -> 404", (r.status, r.body), (404, NOTFOUND.encode()))
    check_spa_vary("curl-like /nope.png", r, encoding=nf_varies(srv))
    r = srv.get("/users/jane.doe", CURL)
    t.eq("curl-like /users/jane.doe -> 404 (extension rule)", r.status, 404)
    for acc in ("text/html;q=0", "text/html; q=0.000, */*", "text/*", "*/*;q=0.9"):
        r = srv.get("/users/jane.doe", {"Accept": acc})
        t.eq("Accept %r does not count: /users/jane.doe -> 404" % acc, r.status, 404)
    r = srv.get("/dashboard", {"Accept": "text/html;q=0"})
    t.eq("Accept text/html;q=0: /dashboard -> 200 (extension rule)", r.status, 200)
    # empty values count as absent: the extension rule
    r = srv.get("/dashboard", {"Sec-Fetch-Mode": "", "Sec-Fetch-Dest": "", "Accept": ""})
    t.eq("empty Sec-Fetch-*: /dashboard -> 200", r.status, 200)
    r = srv.get("/x.png", {"Sec-Fetch-Mode": "", "Accept": ""})
    t.eq("empty Sec-Fetch-*: /x.png -> 404", r.status, 404)
    # Accept on several lines is one list; of Sec-Fetch-Mode the first line counts
    raw = srv.raw(b"GET /users HTTP/1.1\r\nHost: x\r\nSec-Fetch-Mode: cors\r\n"
                  b"Accept: image/png\r\nAccept: text/html\r\nConnection: close\r\n\r\n")
    t.eq("Accept on two lines, text/html on the second -> 200", nwtest.raw_status(raw), 200)
    raw = srv.raw(b"GET /users/jane.doe HTTP/1.1\r\nHost: x\r\nSec-Fetch-Mode: cors\r\n"
                  b"Sec-Fetch-Mode: navigate\r\nConnection: close\r\n\r\n")
    t.eq("Sec-Fetch-Mode repeated: the first (cors) counts -> 404", nwtest.raw_status(raw), 404)
    for path, hdrs in (("/.well-known/acme-challenge/tok3n", CURL),
                       ("/.well-known/apple-app-site-association", {"Accept": "*/*"}),
                       ("/.well-known/x", {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"})):
        r = srv.get(path, hdrs)
        t.eq("missing %s -> 404, never index.html" % path, (r.status, r.body),
             (404, NOTFOUND.encode()))
        check_plain_vary("missing %s" % path, r)
        t.check("missing %s: not the SPA 404's no-store" % path,
                "no-store" not in (r.h("Cache-Control") or ""), r.h("Cache-Control"))
    srv.stop_checked(t)


@t.case
def spa_existing_files_unaffected():
    s = Site(FILES)
    srv = Server(s.root, args=["--spa"])
    for p, body in (("/", INDEX.encode()), ("/index.html", INDEX.encode()),
                    ("/assets/app.js", b"console.log('app');\n"), ("/about/", b"<html>ABOUT</html>"),
                    ("/404.html", NOTFOUND.encode())):
        for label, hdrs in (("navigate", NAV), ("fetch", FETCH), ("curl", CURL)):
            r = srv.get(p, hdrs)
            t.eq("existing %s (%s) -> 200" % (p, label), (r.status, r.body), (200, body))
            check_plain_vary("existing %s (%s)" % (p, label), r)
    et = srv.get("/", NAV).h("ETag")
    r = srv.get("/", dict(NAV, **{"If-None-Match": et or '"x"'}))
    t.eq("existing / revalidates -> 304", r.status, 304)
    check_plain_vary("existing / 304", r)
    for p in ("/.env", "/dashboard/.git/config"):
        r = srv.get(p, NAV)
        t.eq("hidden %s on a navigation -> 404" % p, r.status, 404)
        check_plain_vary("hidden %s" % p, r)
    r = srv.get("/about", NAV)
    t.eq("directory without slash -> 301 (not the fallback)", r.status, 301)
    srv.stop_checked(t)
    # without --spa the 404 does not vary with the request's intent
    srv = Server(s.root)
    for hdrs in (NAV, FETCH, CURL):
        r = srv.get("/users/jane.doe", hdrs)
        t.eq("no --spa: 404 whatever the intent", (r.status, r.body), (404, NOTFOUND.encode()))
        check_plain_vary("no --spa 404", r)
    srv.stop_checked(t)


@t.case
def spa_conditional_range_head():
    s = Site(FILES)
    srv = Server(s.root, args=["--spa"])
    nav = srv.get("/users/jane.doe", NAV)
    et = nav.h("ETag")
    t.eq("fallback ETag is index.html's", et, srv.get("/", NAV).h("ETag"))
    r = srv.get("/users/jane.doe", dict(NAV, **{"If-None-Match": et or '"x"'}))
    t.eq("navigate If-None-Match fallback ETag -> 304", (r.status, r.body), (304, b""))
    check_spa_vary("navigate 304", r, encoding=True)
    t.eq("304 keeps the ETag", r.h("ETag"), et)
    r = srv.get("/users/jane.doe", dict(FETCH, **{"If-None-Match": et or '"x"'}))
    t.eq("fetch If-None-Match fallback ETag -> 404", r.status, 404)
    r = srv.get("/users/jane.doe", dict(NAV, Range="bytes=0-8"))
    t.eq("navigate Range -> 206 cut from index.html", (r.status, r.body), (206, INDEX.encode()[:9]))
    check_spa_vary("navigate 206", r, encoding=True)
    r = srv.get("/users/jane.doe", dict(NAV, Range="bytes=999999-"))
    t.eq("navigate unsatisfiable Range -> 416", r.status, 416)
    check_spa_vary("navigate 416", r, encoding=True)
    for label, hdrs, p, status, length in (
            ("navigate", NAV, "/users/jane.doe", 200, len(INDEX)),
            ("curl-like", CURL, "/dashboard", 200, len(INDEX)),
            ("fetch", FETCH, "/api/x", 404, len(NOTFOUND)),
            ("img", IMG, "/missing", 404, len(NOTFOUND)),
            ("curl-like", CURL, "/nope.png", 404, len(NOTFOUND))):
        g = srv.get(p, hdrs)
        h = srv.head(p, hdrs)
        t.eq("HEAD %s %s like GET" % (label, p), (h.status, h.body, h.h("Content-Length")),
             (status, b"", str(length)))
        t.eq("HEAD %s %s same Vary and ETag as GET" % (label, p),
             (h.h("Vary"), h.h("ETag")), (g.h("Vary"), g.h("ETag")))
        check_spa_vary("HEAD %s %s" % (label, p), h, encoding=status == 200 or nf_varies(srv))
    srv.stop_checked(t)


@t.case
def spa_without_404_page_and_on_disk_index():
    big = "<!doctype html><html><body>BIG SHELL " + "x" * 9000 + "</body></html>"
    s = Site({"index.html": big, "app.js": "1;\n"})
    srv = Server(s.root, args=["--spa"], config="[limits]\nmax_memory_file = 4K\n")
    r = srv.get("/users/jane.doe", NAV)
    t.eq("on-disk index.html: navigate -> 200", (r.status, r.body), (200, big.encode()))
    check_spa_vary("on-disk index.html fallback", r)
    r = srv.get("/users/jane.doe", dict(NAV, Range="bytes=0-8"))
    t.eq("on-disk index.html: navigate Range -> 206", (r.status, r.body), (206, big.encode()[:9]))
    check_spa_vary("on-disk index.html 206", r)
    r = srv.get("/", NAV)
    check_plain_vary("on-disk index.html at /", r)
    r = srv.get("/api/x", FETCH)
    t.eq("no 404.html: fetch -> 404 text", r.status, 404)
    t.check("no 404.html: text body", (r.h("Content-Type") or "").startswith("text/plain"),
            r.h("Content-Type"))
    check_spa_vary("no 404.html 404", r)
    r = srv.head("/api/x", FETCH)
    t.eq("no 404.html: HEAD fetch -> 404", (r.status, r.body), (404, b""))
    check_spa_vary("no 404.html HEAD 404", r)
    srv.stop_checked(t)


if __name__ == "__main__":
    nwtest.require_tools("brotli", "zstd")
    t.main()
