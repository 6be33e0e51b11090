"""Revalidations (If-None-Match) answered by the kernel path (run by
notmod.sh in the client namespace; see e2e.py and xt.py).

nano-web alone (--xdp off) first answers every request of the test: the
references. Then with the helper: the entity-tag of the coding the
request's Accept-Encoding selects (strong or W/, with or without
If-Modified-Since; each coding has its own tag) gets nano-web's 304 of
that coding, byte for byte except Date, from XDP, for GET and HEAD,
identity and compressed resources, every Accept-Encoding, IPv4 and
IPv6; another tag (another coding's too) the 200 nano-web sends, from
XDP; no acceptable coding (nano-web's 406 comes before any precondition),
lists, "*", two If-None-Match headers,
If-Match, If-Unmodified-Since, If-Range, If-Modified-Since alone and
malformed values are handed off and nano-web's answers arrive unchanged;
keep-alive mixes, Connection: close (EOF after the 304), 304s built in
place by XDP (padded requests: nwx_tc not run), remembered requests;
after a file changes and nano-web reloads, the old entity-tag gets the
new 200 and the new one a 304. XDP's answers are proven by the helper's
counters (hits, not_modified, handoffs), not only by the bytes.

  revalidating.py [--only NAME[,NAME...]]   (parity, nomatch, handoff,
                                             keepalive, close, inplace,
                                             memo, reload)
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import closing  # noqa: E402
import e2e  # noqa: E402
import nwx  # noqa: E402
import segments  # noqa: E402

E = e2e.E
check = e2e.check
PORT = e2e.PORT
helper_stats = segments.helper_stats
delta = segments.delta

# /index.html and /sub/index.html are compressed (Vary), /tiny.txt and
# /blob.bin are identity only
PATHS = ["/", "/index.html", "/tiny.txt", "/sub/", "/blob.bin"]
ENCODINGS = [None, "gzip", "br", "gzip, deflate, br, zstd", "identity",
             "identity;q=0"]
NONE_ACCEPTABLE = "identity;q=0"
FUTURE = "Fri, 01 Jan 2100 00:00:00 GMT"
PAST = "Mon, 01 Jan 2001 00:00:00 GMT"


def log(msg):
    print("# " + msg, flush=True)


def ae(v):
    return [] if v is None else ["Accept-Encoding: " + v]


class Refs:
    """nano-web's own answer to each request, collected with --xdp off;
    etag: identity's tag per path, tags: per (path, Accept-Encoding)."""

    def __init__(self, S):
        self.S = S
        self.r = {}
        self.etag = {}
        self.tags = {}

    def get(self, key, method, path, headers):
        if key not in self.r:
            self.r[key] = nwx.fetch(self.S.addr4, PORT, method, path, headers)
        return self.r[key]


def cases(refs):
    """(name, method, path, headers) of revalidations XDP answers."""
    out = []
    for p in PATHS:
        for enc in ENCODINGS:
            if enc == NONE_ACCEPTABLE:
                continue  # a 406: handoff_cases()
            t = refs.tags[(p, enc)]
            for m in ("GET", "HEAD"):
                out.append(("match %s %s" % (p, enc), m, p,
                            ae(enc) + ["If-None-Match: " + t]))
        out.append(("weak gzip %s" % p, "GET", p, ae("gzip") + [
            "If-None-Match: W/" + refs.tags[(p, "gzip")]]))
        t = refs.etag[p]
        out.append(("weak %s" % p, "GET", p, ["If-None-Match: W/" + t]))
        out.append(("ows %s" % p, "GET", p, ["If-None-Match:   %s \t" % t]))
        out.append(("ims %s" % p, "GET", p, ["If-Modified-Since: " + PAST,
                                             "If-None-Match: " + t]))
    return out


def nomatch_cases(refs):
    out = []
    etag = refs.etag
    for p in PATHS:
        # another coding's tag: identity's with gzip selected, and back
        gz = refs.tags[(p, "gzip")]
        if gz != etag[p]:
            out.append(("identity tag, gzip %s" % p, "GET", p,
                        ["Accept-Encoding: gzip", "If-None-Match: " + etag[p]]))
            out.append(("gzip tag, identity %s" % p, "HEAD", p,
                        ["If-None-Match: " + gz]))
        for enc in ("gzip", None):
            for m in ("GET", "HEAD"):
                out.append(("other tag %s %s" % (p, enc), m, p,
                            ae(enc) + ['If-None-Match: "0123456789abcdef"']))
        # If-None-Match wins over an If-Modified-Since that would match
        out.append(("ims ignored %s" % p, "GET", p,
                    ["If-None-Match: W/\"x\"", "If-Modified-Since: " + FUTURE]))
        # a prefix, and the tag without its quotes inside others
        out.append(("prefix %s" % p, "GET", p,
                    ["If-None-Match: " + etag[p][:-2] + '"']))
    return out


def handoff_cases(refs):
    t = refs.etag["/index.html"]
    p = "/index.html"
    return [
        # no coding acceptable: nano-web's 406, whatever the tag (RFC 9110
        # 13.2.1: the preconditions of a request that gets no 2xx without
        # them are ignored)
        ("none acceptable", "GET", "/tiny.txt", ["Accept-Encoding: identity;q=0",
                                                 'If-None-Match: "x"']),
        ("none acceptable, the tag", "GET", "/tiny.txt",
         ["Accept-Encoding: identity;q=0", "If-None-Match: " + refs.etag["/tiny.txt"]]),
        ("none acceptable, the tag, HEAD", "HEAD", p,
         ["Accept-Encoding: identity;q=0", "If-None-Match: " + t]),
        # a negotiation XDP is unsure of (implicit identity)
        ("unsure coding", "GET", p, ["Accept-Encoding: gzip;q=0.5",
                                     "If-None-Match: " +
                                     refs.tags[(p, "gzip")]]),
        ("list", "GET", p, ['If-None-Match: "x", ' + t]),
        ("list no match", "GET", p, ['If-None-Match: "x", "y"']),
        ("trailing comma", "GET", p, ["If-None-Match: " + t + ","]),
        ("star", "GET", p, ["If-None-Match: *"]),
        ("two headers", "GET", p, ["If-None-Match: " + t,
                                   'If-None-Match: "x"']),
        ("two headers 2", "GET", p, ['If-None-Match: "x"',
                                     "If-None-Match: " + t]),
        ("empty", "GET", p, ["If-None-Match: "]),
        ("unquoted", "GET", p, ["If-None-Match: " + t.strip('"')]),
        ("lower w", "GET", p, ["If-None-Match: w/" + t]),
        ("if-match", "GET", p, ["If-Match: " + t]),
        ("if-match and inm", "GET", p, ["If-Match: " + t,
                                        "If-None-Match: " + t]),
        ("ims alone future", "GET", p, ["If-Modified-Since: " + FUTURE]),
        ("ims alone past", "GET", p, ["If-Modified-Since: " + PAST]),
        ("ims alone head", "HEAD", "/tiny.txt", ["If-Modified-Since: " + FUTURE]),
        ("if-unmodified-since", "GET", p, ["If-Unmodified-Since: " + PAST,
                                           "If-None-Match: " + t]),
        ("if-range", "GET", p, ["If-Range: " + t, "If-None-Match: " + t]),
        ("range", "GET", p, ["Range: bytes=0-9", "If-None-Match: W/\"x\""]),
    ]


def run_cases(S, refs, addr, tag, lst, want_status, hit, what):
    """Each request on a new connection: equal to nano-web's answer (but
    Date); hit=True: answered by XDP (hits +1, handoffs +0, not_modified
    +1 for a 304), False: handed off (handoffs +1, hits +0)."""
    bad, n, nm = [], 0, 0
    for name, m, p, h in lst:
        want = refs.get((name, m, p), m, p, h)
        if want_status and want.status != want_status:
            bad.append("%s: nano-web says %d" % (name, want.status))
        s0 = helper_stats(S)
        try:
            r = nwx.fetch(addr, PORT, m, p, h)
        except (nwx.HTTPError, OSError) as e:
            bad.append("%s %s: %r" % (name, m, e))
            continue
        s1 = helper_stats(S)
        n += 1
        d = nwx.parity_diff(r.raw, want.raw)
        if d:
            bad.append("%s %s: %s" % (name, m, d))
        is304 = 1 if want.status == 304 else 0
        nm += is304
        got = (delta(s0, s1, "hits"), delta(s0, s1, "handoffs"),
               delta(s0, s1, "not_modified"))
        exp = (1, 0, is304) if hit else (0, 1, 0)
        if got != exp:
            bad.append("%s %s: hits/handoffs/not_modified +%r, want +%r"
                       % (name, m, got, exp))
    check("%s: %d %s" % (tag, n, what), n == len(lst) and not bad,
          "; ".join(bad[:4]))
    return nm


def check_parity(S, refs, addr, tag):
    s0 = helper_stats(S)
    n = run_cases(S, refs, addr, tag, cases(refs), 304, True,
                  "revalidations with the selected coding's entity-tag "
                  "(strong, W/, OWS, with If-Modified-Since; GET/HEAD; "
                  "identity and compressed resources, every acceptable "
                  "Accept-Encoding): nano-web's 304 but Date, answered by "
                  "XDP")
    s1 = helper_stats(S)
    check("%s: not_modified counted each of them (%d)" % (tag, n),
          n >= 50 and delta(s0, s1, "not_modified") == n,
          "(not_modified +%d)" % delta(s0, s1, "not_modified"))


def check_nomatch(S, refs, addr, tag):
    run_cases(S, refs, addr, tag, nomatch_cases(refs), 200, True,
              "revalidations with another entity-tag (another coding's; "
              "If-Modified-Since beside it ignored): nano-web's 200 but "
              "Date, answered by XDP")


def check_handoff(S, refs, addr, tag):
    run_cases(S, refs, addr, tag, handoff_cases(refs), None, False,
              "preconditions XDP leaves to nano-web (lists, *, two "
              "headers, malformed, If-Match, If-Unmodified-Since, If-Range, "
              "Range, If-Modified-Since alone, no match and no acceptable "
              "coding, an unsure negotiation): handed off, nano-web's "
              "answer")


def check_keepalive(S, refs, addr, tag):
    """On one connection: 200, 304, 200 (other tag), HEAD 304, gzip 304,
    all from XDP; then a list (handed off) and a 304 from nano-web on the
    now kernel-owned connection."""
    t = refs.etag["/index.html"]
    p = "/index.html"
    seq = [("GET", [], 200), ("GET", ["If-None-Match: " + t], 304),
           ("GET", ['If-None-Match: "zz"'], 200),
           ("HEAD", ["If-None-Match: " + t], 304),
           ("GET", ["Accept-Encoding: gzip",
                    "If-None-Match: W/" + refs.tags[(p, "gzip")]], 304)]
    tail = [("GET", ['If-None-Match: "zz", ' + t], 304),
            ("GET", ["If-None-Match: " + t], 304)]
    errs = []
    s0 = helper_stats(S)
    c = nwx.Conn(addr, PORT, 5)
    try:
        for i, (m, h, st) in enumerate(seq + tail):
            if i == len(seq):
                s1 = helper_stats(S)
            r = c.exchange(m, p, h)
            want = refs.get(("ka", i, m, tuple(h)), m, p, h)
            d = nwx.parity_diff(r.raw, want.raw)
            if r.status != st or d:
                errs.append("%d %s %r: %d %s" % (i, m, h, r.status, d))
    except (nwx.HTTPError, OSError) as e:
        errs.append(repr(e))
    finally:
        c.close()
    s2 = helper_stats(S)
    check("%s: keep-alive: 200, 304, 200, HEAD 304, W/ gzip 304 on one "
          "connection from XDP, then a list handed off and nano-web answers "
          "the rest" % tag,
          not errs and delta(s0, s1, "hits") == 5 and
          delta(s0, s1, "not_modified") == 3 and delta(s0, s1, "handoffs") == 0
          and delta(s1, s2, "hits") == 0 and delta(s1, s2, "handoffs") == 1,
          "(%s; hits +%d/+%d, not_modified +%d, handoffs +%d/+%d)" % (
              "; ".join(errs[:3]), delta(s0, s1, "hits"), delta(s1, s2, "hits"),
              delta(s0, s1, "not_modified"), delta(s0, s1, "handoffs"),
              delta(s1, s2, "handoffs")))


def check_close(S, refs, addr, tag):
    """Connection: close with a matching tag: nano-web's 304 with
    "Connection: close", EOF right after it, from XDP; a non-matching tag:
    the 200, likewise."""
    errs, n = [], 0
    s0 = helper_stats(S)
    for p in ("/index.html", "/tiny.txt"):
        t = refs.etag[p]
        for m in ("GET", "HEAD"):
            for h, st in ((["If-None-Match: " + t], 304),
                          (['If-None-Match: "nope"'], 200)):
                h = h + ["Connection: close"]
                want = refs.get(("close", m, p, tuple(h)), m, p, h)
                try:
                    r, eof = closing.fetch_close(addr, m, p, h)
                except (nwx.HTTPError, OSError) as e:
                    errs.append("%s %s: %r" % (m, p, e))
                    continue
                n += 1
                d = nwx.parity_diff(r.raw, want.raw)
                if r.status != st or d or not eof or \
                        r.headers.get("connection") != "close":
                    errs.append("%s %s %d: %s, EOF %r" % (m, p, r.status, d, eof))
    s1 = helper_stats(S)
    check("%s: Connection: close: %d answers (304 and 200) equal nano-web's, "
          "EOF after each, all from XDP" % (tag, n),
          n == 8 and not errs and delta(s0, s1, "hits") == n and
          delta(s0, s1, "not_modified") == n // 2 and
          delta(s0, s1, "handoffs") == 0,
          "(%s; hits +%d, not_modified +%d, handoffs +%d)" % (
              "; ".join(errs[:3]), delta(s0, s1, "hits"),
              delta(s0, s1, "not_modified"), delta(s0, s1, "handoffs")))


def check_in_place(S, refs, addr, tag):
    """A request long enough for the 304 to fit its frame: XDP writes the
    304 itself (keep-alive, and with Connection: close), checksum from the
    helper's sum (veth drops a wrong one): equal to nano-web's, nwx_tc not
    run."""
    pad = ["X-Pad: " + "p" * 700]
    errs, n = [], 0
    cap = closing.watch_passed()
    with e2e.bpf_stats():
        s0, t0 = helper_stats(S), closing.tc_runs()
        for p in ("/index.html", "/tiny.txt"):
            for m in ("GET", "HEAD"):
                for extra in ([], ["Connection: close"]):
                    h = ["If-None-Match: " + refs.etag[p]] + extra + pad
                    want = refs.get(("inplace", m, p, tuple(h)), m, p, h)
                    try:
                        if extra:
                            r, eof = closing.fetch_close(addr, m, p, h, 3)
                        else:   # no wait for an EOF that does not come
                            r, eof = nwx.fetch(addr, PORT, m, p, h), False
                    except (nwx.HTTPError, OSError) as e:
                        errs.append("%s %s: %r" % (m, p, e))
                        continue
                    n += 1
                    d = nwx.parity_diff(r.raw, want.raw)
                    if r.status != 304 or d or eof != bool(extra):
                        errs.append("%s %s %r: %d %s EOF %r" % (
                            m, p, extra, r.status, d, eof))
        s1, t1 = helper_stats(S), closing.tc_runs()
    passed = closing.passed_summary(cap)
    check("%s: %d 304s built in place by XDP (padded requests, keep-alive "
          "and close): equal nano-web's, all XDP hits, nwx_tc not run"
          % (tag, n),
          n == 8 and not errs and delta(s0, s1, "not_modified") == n and
          t1 == t0,
          "(%s; not_modified +%d, nwx_tc runs +%d; %s)" % (
              "; ".join(errs[:3]), delta(s0, s1, "not_modified"), t1 - t0,
              passed))


def check_memo(S, refs, addr, tag):
    """The same revalidation again and again: remembered (memo_hits), still
    nano-web's 304; and a non-matching one, remembered, still the 200."""
    errs = []
    t = refs.etag["/index.html"]
    s0 = helper_stats(S)
    for i in range(4):
        for h, st in ((["If-None-Match: " + t, "X-Memo: 1"], 304),
                      (['If-None-Match: "memo-other"'], 200)):
            want = refs.get(("memo", tuple(h)), "GET", "/index.html", h)
            r = nwx.fetch(addr, PORT, "GET", "/index.html", h)
            d = nwx.parity_diff(r.raw, want.raw)
            if r.status != st or d:
                errs.append("%d: %d %s" % (i, r.status, d))
    s1 = helper_stats(S)
    check("%s: repeated revalidations remembered (memo_hits), answers "
          "unchanged" % tag,
          not errs and delta(s0, s1, "memo_hits") >= 6 and
          delta(s0, s1, "hits") == 8 and delta(s0, s1, "not_modified") == 4,
          "(%s; memo_hits +%d, hits +%d, not_modified +%d)" % (
              "; ".join(errs[:3]), delta(s0, s1, "memo_hits"),
              delta(s0, s1, "hits"), delta(s0, s1, "not_modified")))


def reload_site(S, path, body):
    return e2e.write_and_reload(S, path, body) and S.wait_pushed(15)


def check_reload(S, addr, tag):
    """A file changes and nano-web reloads: the old entity-tag (whose 304
    XDP remembered) now gets the new 200 (equal to nano-web's), the new
    one a 304, both from XDP."""
    p = "/reload.txt"
    path = os.path.join(S.site, "reload.txt")
    old = nwx.fetch(addr, PORT, "GET", p).headers["etag"]
    h_old = ["If-None-Match: " + old]
    errs = []
    for _ in range(2):   # the second is a remembered request
        r = nwx.fetch(addr, PORT, "GET", p, h_old)
        if r.status != 304:
            errs.append("before: %d" % r.status)
    body = ("generation-new " + e2e.text(333, 77) + "\n").encode()
    ok = reload_site(S, path, body)
    s0 = helper_stats(S)
    r = nwx.fetch(addr, PORT, "GET", p, h_old)
    s1 = helper_stats(S)
    new = r.headers.get("etag")
    # nano-web's own answer to it: the same request with a list (handed off)
    want = nwx.fetch(addr, PORT, "GET", p, ['If-None-Match: "x", ' + old])
    d = nwx.parity_diff(r.raw, want.raw)
    h_new = ["If-None-Match: " + (new or '"?"')]
    want304 = nwx.fetch(addr, PORT, "GET", p, ['If-None-Match: "x", ' +
                                               (new or '"?"')])
    s2 = helper_stats(S)
    r2 = nwx.fetch(addr, PORT, "GET", p, h_new)
    s3 = helper_stats(S)
    d2 = nwx.parity_diff(r2.raw, want304.raw)
    check("%s: after a reload the old entity-tag gets the new 200 from XDP "
          "(nano-web's but Date)" % tag,
          ok and not errs and r.status == 200 and r.body == body and
          new and new != old and not d and delta(s0, s1, "hits") == 1 and
          delta(s0, s1, "not_modified") == 0 and want.status == 200,
          "(%s; reloaded %r, %d %r %s, hits +%d)" % (
              errs, ok, r.status, new, d, delta(s0, s1, "hits")))
    check("%s: and the new entity-tag a 304 from XDP (nano-web's but Date)"
          % tag, r2.status == 304 and want304.status == 304 and not d2 and
          delta(s2, s3, "not_modified") == 1 and delta(s2, s3, "hits") == 1,
          "(%d, %s, not_modified +%d)" % (r2.status, d2,
                                          delta(s2, s3, "not_modified")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    want = e2e.wanted(a.only)

    tag = "notmod"
    S = e2e.Servers("veth")
    if not S.helper_bin:
        print("nanoweb-xdpd not built in %s" % E.builddir, flush=True)
        return 1
    e2e.make_site(S.site)
    S.start_nanoweb("off", name="nanoweb-ref")
    refs = Refs(S)
    for p in PATHS + ["/reload.txt"]:
        refs.etag[p] = nwx.fetch(S.addr4, PORT, "GET", p).headers["etag"]
        for enc in ENCODINGS:
            r = nwx.fetch(S.addr4, PORT, "GET", p, ae(enc))
            refs.tags[(p, enc)] = r.headers.get("etag") or refs.etag[p]
    enc = nwx.fetch(S.addr4, PORT, "GET", "/index.html",
                    ["Accept-Encoding: gzip"]).headers.get("content-encoding")
    check("%s: the site has a compressed resource (%r)" % (tag, enc),
          enc == "gzip")
    # every reference now, from nano-web alone
    for lst in (cases(refs), nomatch_cases(refs), handoff_cases(refs)):
        for name, m, p, h in lst:
            refs.get((name, m, p), m, p, h)
    fill_refs(refs)
    e2e.start_fast_path(S, tag)

    for addr, t in ((S.addr4, tag + "/v4"), (S.addr6, tag + "/v6")):
        if want("parity"):
            check_parity(S, refs, addr, t)
        if want("nomatch"):
            check_nomatch(S, refs, addr, t)
        if want("handoff"):
            check_handoff(S, refs, addr, t)
        if want("keepalive"):
            check_keepalive(S, refs, addr, t)
        if want("close"):
            check_close(S, refs, addr, t)
        if want("inplace"):
            check_in_place(S, refs, addr, t)
        if want("memo"):
            check_memo(S, refs, addr, t)
    if want("reload"):
        check_reload(S, S.addr4, tag)
    st = helper_stats(S)
    log("counters: " + ", ".join("%s %d" % (k, v) for k, v in sorted(st.items())))
    return e2e.stop_and_finish(S, tag)


def fill_refs(refs):
    """The references of the keep-alive, close, in-place and memo checks,
    from nano-web alone (each request on a new connection)."""
    t = refs.etag
    for p in ("/index.html",):
        seq = [("GET", [], 200), ("GET", ["If-None-Match: " + t[p]], 304),
               ("GET", ['If-None-Match: "zz"'], 200),
               ("HEAD", ["If-None-Match: " + t[p]], 304),
               ("GET", ["Accept-Encoding: gzip",
                        "If-None-Match: W/" + refs.tags[(p, "gzip")]], 304),
               ("GET", ['If-None-Match: "zz", ' + t[p]], 304),
               ("GET", ["If-None-Match: " + t[p]], 304)]
        for i, (m, h, _) in enumerate(seq):
            refs.get(("ka", i, m, tuple(h)), m, p, h)
    for p in ("/index.html", "/tiny.txt"):
        for m in ("GET", "HEAD"):
            for h in (["If-None-Match: " + t[p]], ['If-None-Match: "nope"']):
                h = h + ["Connection: close"]
                refs.get(("close", m, p, tuple(h)), m, p, h)
            for extra in ([], ["Connection: close"]):
                h = ["If-None-Match: " + t[p]] + extra + ["X-Pad: " + "p" * 700]
                refs.get(("inplace", m, p, tuple(h)), m, p, h)
    for h in (["If-None-Match: " + t["/index.html"], "X-Memo: 1"],
              ['If-None-Match: "memo-other"']):
        refs.get(("memo", tuple(h)), "GET", "/index.html", h)


if __name__ == "__main__":
    e2e.run_main(main)
