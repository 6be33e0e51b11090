"""Idle connections that XDP owns (run by idle.sh in the client namespace;
see e2e.py and xt.py).

nano-web closes a keep-alive connection idle for [limits] timeout (2 s
here). The kernel path follows: a flow XDP owns and that has been idle that
long is probed by the helper, the client's ACK hands it to the kernel, and
nano-web closes it after its own timeout. Checks, IPv4 and IPv6: a
connection XDP answered, left idle, is handed off (the helper's counter, a
kernel socket on the server); a request on it then gets nano-web's answer,
byte for byte; left idle again, the server closes it (EOF). A connection
that asks more often than the timeout stays with XDP (every answer a hit,
no hand-off). A connection whose flow entry is gone (evicted) is reset at
its next request. A connection handed off at a request XDP cannot answer,
then idle longer than [limits] header_timeout (1 s here), is still served:
nano-web's count of the bytes its requests took matches the kernel's count
of bytes received on the handed-off socket.

  idling.py [--only NAME[,NAME...]]   (handoff, active, evicted, taken)
"""
import argparse
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
import nwx  # noqa: E402
import segments  # noqa: E402
import xt  # noqa: E402

E = e2e.E
check = e2e.check
PORT = e2e.PORT
TIMEOUT = 2
HEADER_TIMEOUT = 1
PATH = "/index.html"


def delta(a, b, k):
    return b.get(k, 0) - a.get(k, 0)


def kernel_socket(lport):
    out = E.run_s(["ss", "-Htn", "state", "established",
                   "( dport = :%d )" % lport]).stdout.decode()
    return out.strip() != ""


def check_handoff(S, want, addr, tag):
    c = nwx.Conn(addr, PORT, 10)
    try:
        s0 = segments.helper_stats(S)
        r = c.exchange("GET", PATH)
        t0 = time.monotonic()
        s1 = segments.helper_stats(S)
        lport = c.sock.getsockname()[1]
        served = (nwx.parity_diff(r.raw, want) is None and
                  delta(s0, s1, "hits") == 1 and not kernel_socket(lport))
        check("%s: a keep-alive request answered by XDP, no kernel socket"
              % tag, served, "(hits +%d)" % delta(s0, s1, "hits"))
        handed = xt.wait_until(
            lambda: delta(s1, segments.helper_stats(S), "handoffs") >= 1,
            TIMEOUT + 5, 0.1)
        dt = time.monotonic() - t0
        check("%s: idle for the %d s timeout: handed to the kernel after "
              "%.1f s, a kernel socket on the server" % (tag, TIMEOUT, dt),
              handed and dt >= TIMEOUT - 0.5 and kernel_socket(lport))
        s2 = segments.helper_stats(S)
        r = c.exchange("GET", PATH)
        t0 = time.monotonic()
        s3 = segments.helper_stats(S)
        check("%s: a request after it: nano-web's answer, byte for byte "
              "(not XDP's)" % tag,
              nwx.parity_diff(r.raw, want) is None and
              delta(s2, s3, "hits") == 0,
              "(hits +%d)" % delta(s2, s3, "hits"))
        eof = c.closed_by_peer(TIMEOUT + 4)
        dt = time.monotonic() - t0
        check("%s: idle again: nano-web closes it after its timeout (EOF "
              "after %.1f s)" % (tag, dt), eof and dt >= TIMEOUT - 0.5)
    except (nwx.HTTPError, OSError) as e:
        check("%s: idle connection" % tag, False, repr(e))
    finally:
        c.close()


def check_handed_then_idle(S, want, addr, tag):
    """Handed off at a miss (after an XDP hit, or as the first request),
    then idle past header_timeout but not timeout: the next request gets
    nano-web's answer. Were the kernel's byte count off from the heads
    nano-web read, the wait would look like a head in progress: a 408."""
    for warm in (False, True):
        c = nwx.Conn(addr, PORT, 10)
        label = "%s: %shanded off at a miss, idle %.1f s (header_timeout %d s)" % (
            tag, "an XDP hit, then " if warm else "", HEADER_TIMEOUT + 0.6,
            HEADER_TIMEOUT)
        try:
            n0 = S.stats()["header_timeouts"]
            s0 = segments.helper_stats(S)
            if warm:
                c.exchange("GET", PATH)
            miss = c.exchange("GET", "/nope.html")
            s1 = segments.helper_stats(S)
            time.sleep(HEADER_TIMEOUT + 0.6)
            r = c.exchange("GET", PATH)
            n1 = S.stats()["header_timeouts"]
            check("%s: the next request is served" % label,
                  miss.status == 404 and delta(s0, s1, "handoffs") == 1 and
                  nwx.parity_diff(r.raw, want) is None and n1 == n0,
                  "(404: %d, handoffs +%d, then %d, header_timeouts +%d)" % (
                      miss.status, delta(s0, s1, "handoffs"), r.status, n1 - n0))
        except (nwx.HTTPError, OSError) as e:
            check(label, False, repr(e))
        finally:
            c.close()


def flow_key(sock):
    """The nwx_flows key of a client socket's connection (IPv4 as
    ::ffff:a.b.c.d, ports in network order)."""
    def addr16(a):
        if ":" in a:
            return socket.inet_pton(socket.AF_INET6, a)
        return b"\0" * 10 + b"\xff\xff" + socket.inet_aton(a)
    local, peer = sock.getsockname(), sock.getpeername()
    return (addr16(local[0]) + addr16(peer[0]) +
            struct.pack("!HH", local[1], peer[1]) + b"\0" * 4)


def check_evicted(S, want, addr, tag):
    """A connection XDP owns whose flow entry is gone (LRU eviction, or
    given up idle): its next request gets a RST at once, as the kernel
    answers a segment of no connection, not silence until the client's TCP
    gives up; a new connection is served."""
    c = nwx.Conn(addr, PORT, 5)
    try:
        s0 = segments.helper_stats(S)
        r = c.exchange("GET", PATH)
        s1 = segments.helper_stats(S)
        check("%s: a keep-alive request answered by XDP" % tag,
              nwx.parity_diff(r.raw, want) is None and
              delta(s0, s1, "hits") == 1, "(hits +%d)" % delta(s0, s1, "hits"))
        d = subprocess.run(["bpftool", "map", "delete", "pinned",
                            os.path.join(E.pin_dir, "nwx_flows"), "key"] +
                           [str(b) for b in flow_key(c.sock)],
                           capture_output=True, text=True, timeout=20)
        check("%s: its flow entry deleted from nwx_flows" % tag,
              d.returncode == 0, "(%s)" % d.stderr.strip())
        t0 = time.monotonic()
        try:
            c.exchange("GET", PATH)
            got = "an answer"
        except ConnectionResetError:
            got = "reset"
        except (nwx.HTTPError, OSError) as e:
            got = repr(e)
        dt = time.monotonic() - t0
        s2 = segments.helper_stats(S)
        check("%s: the next request on it: reset at once (%.2f s), "
              "invalid_dropped +1" % (tag, dt),
              got == "reset" and dt < 2 and
              delta(s1, s2, "invalid_dropped") >= 1,
              "(%s; invalid_dropped +%d)" % (
                  got, delta(s1, s2, "invalid_dropped")))
    finally:
        c.close()
    try:
        r = nwx.fetch(addr, PORT, "GET", PATH)
        err = nwx.parity_diff(r.raw, want)
    except (nwx.HTTPError, OSError) as e:
        err = repr(e)
    check("%s: a new connection is served" % tag, err is None, "(%s)" % err)


def check_active(S, want, addr, tag):
    c = nwx.Conn(addr, PORT, 10)
    n, bad = 0, []
    try:
        s0 = segments.helper_stats(S)
        end = time.monotonic() + 2.5 * TIMEOUT
        while time.monotonic() < end:
            r = c.exchange("GET", PATH)
            n += 1
            if nwx.parity_diff(r.raw, want):
                bad.append(n)
            time.sleep(TIMEOUT / 3)
        s1 = segments.helper_stats(S)
    except (nwx.HTTPError, OSError) as e:
        bad.append(repr(e))
        s1 = s0
    finally:
        c.close()
    check("%s: %d requests %.1f s apart over %.0f s: all from XDP, no "
          "hand-off" % (tag, n, TIMEOUT / 3, 2.5 * TIMEOUT),
          not bad and n >= 5 and delta(s0, s1, "hits") == n and
          delta(s0, s1, "handoffs") == 0,
          "(bad %r, hits +%d, handoffs +%d)" % (
              bad[:3], delta(s0, s1, "hits"), delta(s0, s1, "handoffs")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    want = e2e.wanted(a.only)

    tag = "idle"
    S = e2e.Servers("veth")
    if not S.helper_bin:
        print("nanoweb-xdpd not built in %s" % E.builddir, flush=True)
        return 1
    with open(S.ini, "a") as f:
        f.write("[limits]\ntimeout = %d\nheader_timeout = %d\n"
                % (TIMEOUT, HEADER_TIMEOUT))
    e2e.make_site(S.site)
    S.start_nanoweb("off", name="nanoweb-ref")
    ref = nwx.fetch(S.addr4, PORT, "GET", PATH).raw
    e2e.start_fast_path(S, tag)
    for addr, t in ((S.addr4, tag + "/v4"), (S.addr6, tag + "/v6")):
        if want("handoff"):
            check_handoff(S, ref, addr, t)
        if want("active"):
            check_active(S, ref, addr, t)
        if want("evicted"):
            check_evicted(S, ref, addr, t)
        if want("taken"):
            check_handed_then_idle(S, ref, addr, t)
    return e2e.stop_and_finish(S, tag)


if __name__ == "__main__":
    e2e.run_main(main)
