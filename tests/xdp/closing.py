"""Requests with "Connection: close" answered by the kernel path (run by
close.sh in the client namespace; see segments.py, e2e.py and xt.py).

The server's veth has a 3500-byte MTU, the client's 1500, as in
multiseg.sh: answers of one and of 2-10 segments. Checks: served by XDP
(hits), byte-identical to nano-web's own answer to the same request (except
Date), EOF right after the body, for GET and HEAD, every encoding, IPv4 and
IPv6; the FIN on the answer's last segment on the wire; other Connection
values handed off; keep-alive answers then a close on one connection; a
request after the close reset as by nano-web; the
client's FIN acknowledged (no socket left in
LAST_ACK) and the flow entries gone; 2000 new connections in a row; a
stray FIN answered with a RST; every answer complete under random loss
both ways within a bound.

  closing.py [--only NAME[,NAME...]]   (burst, stray, hits, wire, other,
                                        inplace, keepalive, after, loss)
"""
import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
import nwx  # noqa: E402
import segments  # noqa: E402

E = e2e.E
check = e2e.check
PORT = e2e.PORT
ENCODINGS = segments.ENCODINGS
PATHS = segments.PATHS
MULTI = segments.MULTI
CLOSE = "Connection: close"
INSERTED = len(CLOSE) + 2
LOSS_BOUND_S = 15
BURST = 2000
helper_stats = segments.helper_stats
delta = segments.delta


def log(msg):
    print("# " + msg, flush=True)


def hdrs(ae, conn=CLOSE):
    return segments.hdrs(ae) + ([conn] if conn else [])


def fetch_close(addr, method, path, headers, timeout=5.0):
    """One request on a new connection; returns (response, EOF seen right
    after it, with nothing more)."""
    c = nwx.Conn(addr, PORT, timeout)
    try:
        r = c.exchange(method, path, headers, timeout=timeout)
        eof = c.buf == b"" and c.closed_by_peer(timeout)
        return r, eof
    finally:
        c.close()


def collect_reference(S):
    ref = {}
    for p in PATHS:
        for label, ae in ENCODINGS:
            for m in ("GET", "HEAD"):
                ref[(p, label, m)], eof = fetch_close(S.addr4, m, p, hdrs(ae))
                if not eof:
                    raise RuntimeError("nano-web did not close after %s %s"
                                       % (m, p))
    return ref


def flows(S):
    return helper_stats(S).get("flow_entries", -1)


def check_hits(S, ref, addr, tag):
    mss = 1440 if ":" in addr else 1460
    bad, not_hit, n, multi, single = [], [], 0, 0, 0
    for p in PATHS:
        for label, ae in ENCODINGS:
            for m in ("GET", "HEAD"):
                want = ref[(p, label, m)].raw
                s0 = helper_stats(S)
                try:
                    r, eof = fetch_close(addr, m, p, hdrs(ae))
                except (nwx.HTTPError, OSError) as e:
                    bad.append("%s %s %s: %r" % (m, p, label, e))
                    continue
                s1 = helper_stats(S)
                n += 1
                d = nwx.parity_diff(r.raw, want)
                if d:
                    bad.append("%s %s %s: %s" % (m, p, label, d))
                if not eof:
                    bad.append("%s %s %s: no EOF after the body" % (m, p, label))
                # the response as cached, and with the header inserted
                # within NWX_ANSWER_MAX (16000) and 10 segments
                fits = (len(want) - INSERTED <= S.max_response and
                        len(want) <= 16000 and -(-len(want) // mss) <= 10)
                if delta(s0, s1, "hits") != (1 if fits else 0):
                    not_hit.append("%s %s %s (%d bytes): hits +%d" % (
                        m, p, label, len(want), delta(s0, s1, "hits")))
                if fits:
                    if len(want) > mss:
                        multi += 1
                    else:
                        single += 1
    check("%s: %d answers to Connection: close equal nano-web's except "
          "Date, EOF right after each" % (tag, n), not bad, "; ".join(bad[:4]))
    check("%s: every one that nano-web pushed served by XDP (%d in one "
          "segment, %d in several); larger ones handed off"
          % (tag, single, multi),
          not not_hit and multi >= 6 and single >= 6, "; ".join(not_hit[:6]))


def check_wire(S, ref, addr, tag):
    """A 3- and a 9-segment answer (the header inserted in the first map
    value's part, the rest from nwx_more): FIN (with PSH) on the last
    segment only, then nothing more from the server but the ACK of the
    client's FIN."""
    for path in ("/r3k.bin", "/r12k.bin"):
        check_wire_of(S, ref, addr, tag, path)


def check_wire_of(S, ref, addr, tag, path):
    mss = 1440 if ":" in addr else 1460
    want = ref[(path, "none", "GET")].raw
    sn = nwx.Sniffer(E.vc, PORT, "from")
    time.sleep(0.2)
    c = nwx.Conn(addr, PORT, 5)
    try:
        r = c.exchange("GET", path, [CLOSE])
        lport = c.sock.getsockname()[1]
        eof = c.closed_by_peer(3)
    finally:
        c.close()
    time.sleep(0.3)
    segs = [x for x in sn.stop() if x[3] == lport]
    data = [x for x in segs if x[5] > 0]
    n = -(-len(want) // mss)
    lens = [x[5] for x in data]
    fins = [bool(x[4] & 0x01) for x in data]
    after = [x[4] for x in segs[segs.index(data[-1]) + 1:]] if data else []
    check("%s: Connection: close, %d bytes: %d segments %r, FIN on the last "
          "only, then one ACK (of the client's FIN)" % (tag, len(want), n, lens),
          nwx.parity_diff(r.raw, want) is None and eof and len(lens) == n and
          fins == [False] * (n - 1) + [True] and after == [0x10],
          "(fin %r, after: %r)" % (fins, after))


def check_other_values(S, addr, tag):
    """Connection values XDP does not answer are handed off, and nano-web
    answers them as it would (close or keep-alive)."""
    cases = [("Connection: close, foo", True), ("Connection: c lose", False),
             ("Connection: keep-alive, close", True),
             ("Connection: upgrade", False)]
    errs = []
    for h, closes in cases:
        s0 = helper_stats(S)
        c = nwx.Conn(addr, PORT, 5)
        try:
            r = c.exchange("GET", "/tiny.txt", [h])
            eof = c.closed_by_peer(0.5 if not closes else 3)
        except (nwx.HTTPError, OSError) as e:
            errs.append("%s: %r" % (h, e))
            continue
        finally:
            c.close()
        s1 = helper_stats(S)
        has = r.headers.get("connection") == "close"
        if delta(s0, s1, "hits") or delta(s0, s1, "handoffs") != 1:
            errs.append("%s: hits +%d handoffs +%d" % (
                h, delta(s0, s1, "hits"), delta(s0, s1, "handoffs")))
        if r.status != 200 or has != closes or eof != closes:
            errs.append("%s: status %d, close header %r, EOF %r" % (
                h, r.status, has, eof))
    check("%s: other Connection values handed off, nano-web's answer "
          "(close or not) as usual" % tag, not errs, "; ".join(errs[:4]))


def last_ack_sockets():
    out = subprocess.run(["ss", "-Htan", "state", "last-ack",
                          "( dport = :%d )" % PORT], capture_output=True,
                         timeout=10).stdout.decode()
    return len([ln for ln in out.splitlines() if ln.strip()])


def one_close(addr, path, timeout=5.0):
    s = socket.create_connection((addr, PORT), timeout)
    try:
        s.sendall(nwx.request_bytes("GET", path, headers=[CLOSE]))
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                return got
            got += d
    finally:
        s.close()


def check_burst(S, ref, tag):
    """BURST new connections in a row, each GET with Connection: close and
    read to EOF: all complete, all XDP hits; afterwards no flow entries
    left and no client socket stuck in LAST_ACK (our ACK of its FIN)."""
    want = {p: ref[(p, "none", "GET")].raw for p in ("/tiny.txt", "/page2k.html")}
    s0 = helper_stats(S)
    errs, t0 = [], time.monotonic()
    for i in range(BURST):
        addr = S.addr4 if i % 2 else S.addr6
        p = "/tiny.txt" if i % 3 else "/page2k.html"
        try:
            d = nwx.parity_diff(one_close(addr, p), want[p])
            if d:
                errs.append("%d %s: %s" % (i, p, d))
        except OSError as e:
            errs.append("%d %s: %r" % (i, p, e))
        if len(errs) > 5:
            break
    dt = time.monotonic() - t0
    s1 = helper_stats(S)
    time.sleep(0.3)
    left, la = flows(S), last_ack_sockets()
    log("burst: %d connections in %.2f s (%.0f/s); counters: %s" % (
        BURST, dt, BURST / dt, ", ".join("%s +%d" % (k, delta(s0, s1, k))
                                         for k in sorted(s1)
                                         if delta(s0, s1, k))))
    check("%s: %d new connections with Connection: close in a row: all "
          "complete and correct, all XDP hits" % (tag, BURST),
          not errs and delta(s0, s1, "hits") == BURST,
          "(%s; hits +%d)" % ("; ".join(errs[:3]), delta(s0, s1, "hits")))
    check("%s: then no flow entry left, no client socket in LAST_ACK"
          % tag, left == 0 and la == 0,
          "(flow_entries %d, LAST_ACK %d)" % (left, la))


def tc_runs():
    """How many times the server's nwx_tc ran (kernel.bpf_stats_enabled)."""
    ids = [t["id"] for sec in json.loads(E.run_s(
        ["bpftool", "-j", "net", "show"], check=True).stdout)
        for t in sec.get("tc", []) if t.get("name", "").startswith("nwx_tc")]
    prog = json.loads(subprocess.run(
        ["bpftool", "-j", "prog", "show", "id", str(ids[0])],
        capture_output=True, timeout=20, check=True).stdout)
    return prog.get("run_cnt", 0)


def watch_passed():
    """tcpdump on the server's veth for what XDP passes up (each such
    packet runs nwx_tc), to name it when an in-place check counts nwx_tc
    runs; None without tcpdump. Stopped with the driver's processes at the
    latest."""
    if not shutil.which("tcpdump"):
        return None
    p = E.spawn_s(["tcpdump", "-i", E.vs, "-Q", "in", "-n", "-l", "-tt", "-e"],
                  "passed")
    time.sleep(0.5)  # capturing before the first request
    return p


def passed_summary(p):
    """Stops watch_passed()'s capture; the packets it saw, in brief."""
    if p is None:
        return "no tcpdump to show what passed"
    time.sleep(0.2)
    E.stop(p)
    with open(os.path.join(E.work, "passed.log"), errors="replace") as f:
        lines = [ln.strip() for ln in f if re.match(r"\d+\.\d+ ", ln)]
    os.unlink(os.path.join(E.work, "passed.log"))
    return "passed up: %d packet(s)%s" % (
        len(lines), (": " + " | ".join(lines[:3])) if lines else "")


def check_in_place(S, ref, addr, tag):
    """An answer of one segment that fits the request's frame (a padded
    request) is written by XDP itself, CONN_CLOSE inserted, checksum from
    the helper's sum (a wrong one is dropped by the client's veth): equal
    to nano-web's, EOF after it, nwx_tc never ran."""
    pad = ["X-Pad: " + "p" * 700]
    errs, n = [], 0
    cap = watch_passed()
    with e2e.bpf_stats():
        s0, t0 = helper_stats(S), tc_runs()
        for p in ("/tiny.txt", "/r2k.bin"):
            for label, ae in ENCODINGS:
                for m in ("GET", "HEAD"):
                    want = ref[(p, label, m)].raw
                    if len(want) > 1200:
                        continue
                    n += 1
                    try:
                        r, eof = fetch_close(addr, m, p, hdrs(ae) + pad, 3)
                    except (nwx.HTTPError, OSError) as e:
                        errs.append("%s %s %s: %r" % (m, p, label, e))
                        continue
                    d = nwx.parity_diff(r.raw, want)
                    if d or not eof:
                        errs.append("%s %s %s: %s, EOF %r" % (m, p, label, d, eof))
        s1, t1 = helper_stats(S), tc_runs()
    passed = passed_summary(cap)
    check("%s: %d answers built in place by XDP (padded requests): equal "
          "nano-web's, EOF after each, all hits, nwx_tc not run" % (tag, n),
          n >= 8 and not errs and delta(s0, s1, "hits") == n and t1 == t0,
          "(%s; hits +%d, nwx_tc runs +%d; %s)" % (
              "; ".join(errs[:3]), delta(s0, s1, "hits"), t1 - t0, passed))


def check_keepalive_then_close(S, ref, addr, tag):
    """Keep-alive answers of 1 and 3 segments on one connection, then one
    with Connection: close: all from XDP, the last followed by EOF."""
    errs = []
    s0 = helper_stats(S)
    c = nwx.Conn(addr, PORT, 5)
    try:
        for p in ("/tiny.txt", "/r3k.bin"):
            r = c.exchange("GET", p)
            if r.status != 200 or r.headers.get("connection"):
                errs.append("%s: %d %r" % (p, r.status, r.headers))
        r = c.exchange("GET", "/r3k.bin", [CLOSE])
        d = nwx.parity_diff(r.raw, ref[("/r3k.bin", "none", "GET")].raw)
        if d:
            errs.append(d)
        if c.buf or not c.closed_by_peer(3):
            errs.append("no EOF after the last answer")
    except (nwx.HTTPError, OSError) as e:
        errs.append(repr(e))
    finally:
        c.close()
    s1 = helper_stats(S)
    check("%s: keep-alive answers, then Connection: close on the same "
          "connection: all XDP hits, EOF after the last" % tag,
          not errs and delta(s0, s1, "hits") == 3 and
          delta(s0, s1, "handoffs") == 0,
          "(%s; hits +%d, handoffs +%d)" % ("; ".join(errs), delta(s0, s1, "hits"),
                                           delta(s0, s1, "handoffs")))


def after_close(addr):
    """What a client that sends another request after the answer and its
    EOF sees when it writes again: 'reset' (the server's kernel reset the
    connection) or 'open'."""
    c = nwx.Conn(addr, PORT, 5)
    try:
        c.exchange("GET", "/tiny.txt", [CLOSE])
        if not c.closed_by_peer(3):
            return "no EOF"
        c.sock.sendall(nwx.request_bytes("GET", "/tiny.txt"))
        time.sleep(0.5)
        try:
            c.sock.sendall(nwx.request_bytes("GET", "/tiny.txt"))
            return "open"
        except (BrokenPipeError, ConnectionResetError):
            return "reset"
    finally:
        c.close()


def check_after_close(S, ref_outcome, addr, tag):
    s0 = helper_stats(S)
    got = after_close(addr)
    s1 = helper_stats(S)
    check("%s: a request sent after the answer and its EOF: %r, as from "
          "nano-web (%r)" % (tag, got, ref_outcome),
          got == ref_outcome and delta(s0, s1, "hits") == 1 and
          delta(s0, s1, "rsts") == (1 if got == "reset" else 0),
          "(hits +%d, rsts +%d)" % (delta(s0, s1, "hits"),
                                    delta(s0, s1, "rsts")))


def check_stray_fin(S, tag):
    """A bare FIN of no connection (what a client whose FIN's ACK was lost
    resends: XDP keeps no TIME_WAIT) gets a RST at its ack, and so does a
    FIN with data, as from the kernel: a RST and no data."""
    sport = nwx.raw_port()
    sn = nwx.Sniffer(E.vc, PORT, "from")
    tx = nwx.RawSender(socket.AF_INET)
    time.sleep(0.2)
    try:
        tx.send(E.a4c, E.a4s, nwx.tcp_segment(E.a4c, E.a4s, sport, PORT,
                                              1000, 777, 0x11))
        tx.send(E.a4c, E.a4s, nwx.tcp_segment(E.a4c, E.a4s, sport + 1, PORT,
                                              1000, 777, 0x11, b"GET / x"))
        time.sleep(0.5)
    finally:
        tx.close()
        got = sn.stop()
    flags = {x[3]: x[4] for x in got if x[3] in (sport, sport + 1)}
    check("%s: a FIN of no connection, bare or with data, gets a RST and "
          "nothing else" % tag,
          flags == {sport: nwx.RST, sport + 1: nwx.RST} and
          len([x for x in got if x[3] in (sport, sport + 1)]) == 2,
          "(%r)" % flags)


def check_loss(S, ref, tag):
    """Random loss of 15 % both ways: every answer to Connection: close
    complete, byte-correct and followed by EOF within LOSS_BOUND_S; client
    sockets and flow entries are gone soon after."""
    s0 = helper_stats(S)
    E.loss_on()
    errs, n, worst, slow = [], 0, 0.0, 0
    end = time.monotonic() + 200
    try:
        for i in range(160):
            if time.monotonic() > end:
                errs.append("out of time after %d responses" % n)
                break
            addr = S.addr4 if i % 2 == 0 else S.addr6
            p = random.choice(MULTI + ["/tiny.txt"])
            label, ae = random.choice(ENCODINGS)
            m = "HEAD" if random.random() < 0.15 else "GET"
            try:
                c = nwx.Conn(addr, PORT, LOSS_BOUND_S)
            except OSError:
                continue   # handshake lost too often: not what is tested
            try:
                t0 = time.monotonic()
                r = c.exchange(m, p, hdrs(ae), timeout=LOSS_BOUND_S)
                eof = c.closed_by_peer(LOSS_BOUND_S)
                dt = time.monotonic() - t0
                worst = max(worst, dt)
                slow += dt > 2.0
                n += 1
                d = nwx.parity_diff(r.raw, ref[(p, label, m)].raw)
                if d or not eof or dt > LOSS_BOUND_S:
                    errs.append("%s %s %s: %s, eof %r, %.1f s" % (
                        m, p, label, d, eof, dt))
            except (nwx.HTTPError, OSError) as e:
                errs.append("%s %s: %r" % (addr, p, e))
            finally:
                c.close()
        counts = E.loss_counters()
    finally:
        E.loss_off()
    s1 = helper_stats(S)
    log("loss: %d answers, worst %.2f s, %d over 2 s; seg_retransmits +%d, "
        "loss_probes +%d, retransmits +%d, hits +%d, dropped %r" % (
            n, worst, slow, delta(s0, s1, "seg_retransmits"),
            delta(s0, s1, "loss_probes"), delta(s0, s1, "retransmits"),
            delta(s0, s1, "hits"), counts))
    check("%s: 15%% loss each way: %d answers to Connection: close complete, "
          "byte-correct, then EOF, each within %d s" % (tag, n, LOSS_BOUND_S),
          not errs and n >= 150, "; ".join(errs[:3]))
    check("%s: loss: XDP served them and resent lost data" % tag,
          delta(s0, s1, "hits") >= n * 0.8 and
          delta(s0, s1, "seg_retransmits") > 0,
          "(hits +%d, seg_retransmits +%d)" % (
              delta(s0, s1, "hits"), delta(s0, s1, "seg_retransmits")))
    check("%s: loss programs dropped packets both ways" % tag,
          len(counts) == 2 and all(v[1] > 0 for v in counts.values()),
          "(%r)" % counts)
    # a client whose FIN's ACK was lost resends its FIN (after 200 ms and
    # more, backing off): XDP answers it with a RST (the flow is gone)
    ok = e2e.xt.wait_until(lambda: last_ack_sockets() == 0 and flows(S) == 0,
                           20, 0.5)
    check("%s: loss: soon no client socket in LAST_ACK, no flow entry left"
          % tag, ok, "(LAST_ACK %d, flow_entries %d)" % (last_ack_sockets(),
                                                          flows(S)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    want = e2e.wanted(a.only)

    tag = "close"
    S = e2e.Servers("veth")
    if not S.helper_bin:
        print("nanoweb-xdpd not built in %s" % E.builddir, flush=True)
        return 1
    with open(S.ini, "a") as f:
        f.write("max_response = %d\n" % segments.MAX_RESPONSE)
    segments.make_site(S.site)
    # no TIME_WAIT in the server namespace: nano-web closes the connections
    # it answers with Connection: close (the reference, after_close(), the
    # hand-offs), and a client port reused for one of those tuples within
    # 60 s would go to the kernel, not to XDP (9 of the burst's 2000, once,
    # under ASan)
    E.run_s(["sysctl", "-qw", "net.ipv4.tcp_max_tw_buckets=0"], check=True)
    S.start_nanoweb("off", name="nanoweb-ref")
    ref = collect_reference(S)
    ref_after = after_close(S.addr4)
    e2e.start_fast_path(S, tag)
    S.max_response = int((S.kstats() or {}).get("max_response", 0))

    if want("burst"):
        check_burst(S, ref, tag)
    if want("stray"):
        check_stray_fin(S, tag)
    for addr, t in ((S.addr4, tag + "/v4"), (S.addr6, tag + "/v6")):
        if want("hits"):
            check_hits(S, ref, addr, t)
        if want("wire"):
            check_wire(S, ref, addr, t)
        if want("other"):
            check_other_values(S, addr, t)
        if want("inplace"):
            check_in_place(S, ref, addr, t)
        if want("keepalive"):
            check_keepalive_then_close(S, ref, addr, t)
        if want("after"):
            check_after_close(S, ref_after, addr, t)
    if want("loss"):
        check_loss(S, ref, tag)
    return e2e.stop_and_finish(S, tag)


if __name__ == "__main__":
    e2e.run_main(main)
