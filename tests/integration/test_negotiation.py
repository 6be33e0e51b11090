#!/usr/bin/env python3
"""Accept-Encoding negotiation (RFC 9110 q-values), Vary, byte-exact bodies."""
import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402
from nwtest import Server, Site, compressible_text  # noqa: E402

t = nwtest.Tests("negotiation")

FILES = {
    "index.html": "<!doctype html><html><body>" + compressible_text(3000, "html") + "</body></html>",
    "style.css": compressible_text(8000, "css"),
    "app.js": compressible_text(6000, "js"),
    "data.json": json.dumps([compressible_text(40, str(i)) for i in range(100)]),
    "logo.svg": "<svg xmlns=\"http://www.w3.org/2000/svg\">" + "<g/>" * 500 + "</svg>",
    "small.css": "a{b:c}\n",
    "text.txt": compressible_text(2000, "txt"),
}

# (Accept-Encoding value, expected Content-Encoding or None for identity,
#  or 406) for a resource that has all three variants.
CASES = [
    (None, None),
    ("", None),
    ("identity", None),
    ("gzip", "gzip"),
    ("br", "br"),
    ("zstd", "zstd"),
    ("GZIP", "gzip"),
    ("gzip, deflate", "gzip"),
    ("gzip, br", "br"),
    ("gzip, zstd", "zstd"),
    ("gzip, zstd, br", "br"),
    ("br, zstd, gzip, identity", "br"),
    ("*", "br"),
    ("gzip;q=1.0, br;q=0.5", "gzip"),
    ("gzip;q=0.8, zstd;q=0.9, br;q=0.1", "zstd"),
    ("br;q=0.9, gzip;q=0.9, zstd;q=0.9", "br"),
    ("gzip;q=0.9, zstd;q=0.9", "zstd"),
    ("br;q=0, gzip", "gzip"),
    ("br;q=0, *", "zstd"),
    ("br;q=0, zstd;q=0, *", "gzip"),
    ("*;q=0.5, gzip", "gzip"),
    ("*;q=0.1, identity;q=0.5", None),
    ("identity;q=1, gzip;q=0.5", None),
    ("deflate", None),
    ("compress, x-foo", None),
    ("gzip;q=0", None),
    ("br;q=0.000", None),
    ("gzip ; q=0.5 , br ; q=0.4", "gzip"),
    ("gzip, identity;q=0", "gzip"),
    ("identity;q=0", 406),
    ("*;q=0", 406),
    ("gzip;q=0, br;q=0, zstd;q=0, identity;q=0", 406),
    ("deflate, identity;q=0", 406),
]


def start(extra_args=(), config=None):
    s = Site(FILES)
    return s, Server(s.root, args=extra_args, config=config)


@t.case
def negotiation_table():
    s, srv = start()
    ident_r = srv.get("/style.css")
    ident = ident_r.body
    tags = {None: ident_r.h("ETag")}
    for ae, want in CASES:
        hdrs = {} if ae is None else {"Accept-Encoding": ae}
        r = srv.get("/style.css", headers=hdrs)
        label = "AE %r" % (ae,)
        if want == 406:
            t.eq(label + " -> 406", r.status, 406)
            continue
        t.eq(label + " status 200", r.status, 200)
        t.eq(label + " Content-Encoding", r.h("Content-Encoding"), want)
        tag = tags.setdefault(want, r.h("ETag"))
        t.eq(label + " ETag of this coding", r.h("ETag"),
             tag if want is None else tags[None][:-1] + "-" + want + '"')
        t.check(label + " Vary: Accept-Encoding", "accept-encoding" in (r.h("Vary") or "").lower(),
                r.h("Vary"))
        try:
            dec = nwtest.decode(r.body, r.h("Content-Encoding"))
        except Exception as e:
            dec = "decode error: %s" % e
        t.check(label + " decodes to identity body", dec == ident,
                "decoded %d bytes vs %d" % (len(dec), len(ident)))
    t.eq("one distinct strong ETag per coding", len(set(tags.values())), 4)
    # a resource with no compressed variant: only identity exists
    for ae, want in (("gzip, br, zstd", None), ("identity;q=0, gzip", 406),
                     ("*;q=0", 406), ("br;q=0.5", None), ("*", None)):
        r = srv.get("/small.css", headers={"Accept-Encoding": ae})
        label = "small.css AE %r" % ae
        if want == 406:
            t.eq(label + " -> 406", r.status, 406)
        else:
            t.eq(label, (r.status, r.h("Content-Encoding"), r.body), (200, None, b"a{b:c}\n"))
    # A list on several field lines is one list (RFC 9110 5.3).
    br_tag = tags["br"]
    for lines, want in ((["br;q=0", "gzip"], ("200", "gzip")),
                        (["identity;q=0", "br"], ("200", "br")),
                        (["gzip", "br;q=0", "zstd;q=0"], ("200", "gzip")),
                        (["", "zstd"], ("200", "zstd")),
                        (["deflate", "identity;q=0"], ("406", None))):
        req = "GET /style.css HTTP/1.1\r\nHost: x\r\n"
        req += "".join("Accept-Encoding: %s\r\n" % v for v in lines)
        st, hdrs, _ = nwtest.parse_raw(srv.raw((req + "Connection: close\r\n\r\n").encode()))
        ce = dict((k.lower(), v) for k, v in hdrs).get("content-encoding")
        t.eq("Accept-Encoding on %d lines %r" % (len(lines), lines), (str(st), ce), want)
    for lines, want in ((['"nope"', br_tag], 304), ([br_tag, '"nope"'], 304),
                        (['"a"', '"b"'], 200)):
        req = "GET /style.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br\r\n"
        req += "".join("If-None-Match: %s\r\n" % v for v in lines)
        st, hdrs, _ = nwtest.parse_raw(srv.raw((req + "Connection: close\r\n\r\n").encode()))
        t.eq("If-None-Match on 2 lines %r" % (lines,), st, want)
    srv.stop_checked(t)


@t.case
def byte_exact_all_types():
    s, srv = start()
    for path in ("/", "/style.css", "/app.js", "/data.json", "/logo.svg", "/text.txt"):
        ident = srv.get(path)
        t.eq("GET %s identity 200" % path, ident.status, 200)
        t.eq("GET %s identity has no Content-Encoding" % path, ident.h("Content-Encoding"), None)
        src = FILES["index.html" if path == "/" else path[1:]].encode()
        t.eq("GET %s identity body equals file" % path, ident.body, src)
        for enc in ("gzip", "br", "zstd"):
            r = srv.get(path, headers={"Accept-Encoding": enc})
            t.eq("GET %s %s: Content-Encoding" % (path, enc), r.h("Content-Encoding"), enc)
            t.eq("GET %s %s: Content-Length = body" % (path, enc), r.h("Content-Length"), str(len(r.body)))
            try:
                dec = nwtest.decode(r.body, enc)
            except Exception as e:
                dec = "decode error: %s" % e
            t.check("GET %s %s decodes byte-for-byte" % (path, enc), dec == src,
                    "decoded %r..." % (dec[:60],))
            t.check("GET %s %s: Vary" % (path, enc), "accept-encoding" in (r.h("Vary") or "").lower(), r.h("Vary"))
            h = srv.head(path, headers={"Accept-Encoding": enc})
            t.eq("HEAD %s %s: same Content-Encoding and Length" % (path, enc),
                 (h.h("Content-Encoding"), h.h("Content-Length"), h.body),
                 (enc, str(len(r.body)), b""))
    srv.stop_checked(t)


@t.case
def curl_compressed():
    s, srv = start()
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "body")
        p = nwtest.curl(["--compressed", "-D", os.path.join(d, "h"), "-o", out, srv.url("/style.css")])
        t.eq("curl --compressed exit 0", p.returncode, 0)
        with open(out, "rb") as f:
            got = f.read()
        with open(os.path.join(d, "h"), "rb") as f:
            hdr = f.read().decode("latin-1").lower()
        t.check("curl --compressed got a compressed response", "content-encoding:" in hdr, hdr)
        t.eq("curl --compressed body equals file", got, FILES["style.css"].encode())
        for enc in ("gzip", "br", "zstd"):
            p = nwtest.curl(["-H", "Accept-Encoding: " + enc, "-o", out, srv.url("/app.js")])
            with open(out, "rb") as f:
                raw = f.read()
            try:
                dec = nwtest.decode(raw, enc)
            except Exception as e:
                dec = "decode error: %s" % e
            t.eq("curl raw %s body decodes (CLI tool)" % enc, dec, FILES["app.js"].encode())
    srv.stop_checked(t)


@t.case
def compression_config():
    s, srv = start(config="[compression]\nenabled = false\n")
    r = srv.get("/style.css", headers={"Accept-Encoding": "br, gzip, zstd"})
    t.eq("[compression] enabled=false: identity", (r.h("Content-Encoding"), r.body),
         (None, FILES["style.css"].encode()))
    srv.stop_checked(t, "compression-disabled server")
    s, srv = start(config="[compression]\ngzip = false\nbrotli = false\n")
    r = srv.get("/style.css", headers={"Accept-Encoding": "br, gzip"})
    t.eq("gzip=false brotli=false, AE br,gzip: identity", r.h("Content-Encoding"), None)
    r = srv.get("/style.css", headers={"Accept-Encoding": "br, gzip, zstd"})
    t.eq("gzip=false brotli=false, AE br,gzip,zstd: zstd", r.h("Content-Encoding"), "zstd")
    srv.stop_checked(t, "zstd-only server")
    s, srv = start(config="[compression]\nmin_size = 7000\n")
    r = srv.get("/app.js", headers={"Accept-Encoding": "gzip"})
    t.eq("min_size=7000: 6000-byte js not compressed", r.h("Content-Encoding"), None)
    r = srv.get("/style.css", headers={"Accept-Encoding": "gzip"})
    t.eq("min_size=7000: 8000-byte css compressed", r.h("Content-Encoding"), "gzip")
    srv.stop_checked(t, "min_size server")


if __name__ == "__main__":
    nwtest.require_tools("brotli", "zstd", "curl")
    t.main()
