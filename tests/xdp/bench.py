"""Numbers for the issue note (not part of make check): run by bench.sh in
the client namespace of a veth pair.

  - the XDP program's own run time per packet (kernel.bpf_stats_enabled);
  - requests per second for XDP hits versus the same requests with the
    helper stopped (userspace), measured in one run, on keep-alive
    connections (wrk) and with a new connection per request (a small
    multi-process client: connect, GET, read, close).
"""
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
import nwx  # noqa: E402

E = e2e.E
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))


def wrk(url, conns=16, threads=2):
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns,
                          "-d%ds" % int(SECONDS), url],
                         capture_output=True, timeout=SECONDS + 30).stdout.decode()
    for ln in out.splitlines():
        if ln.startswith("Requests/sec:"):
            return float(ln.split()[1]), out
    return 0.0, out


def _newconn_worker(addr, port, seconds, q):
    req = nwx.request_bytes("GET", "/index.html")
    n = err = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect((addr, port))
            s.sendall(req)
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
            if buf.startswith(b"HTTP/1.1 200"):
                n += 1
            else:
                err += 1
        except OSError:
            err += 1
        finally:
            s.close()
    q.put((n, err))


def newconn(addr, port, procs=4):
    q = multiprocessing.Queue()
    ps = [multiprocessing.Process(target=_newconn_worker,
                                  args=(addr, port, SECONDS, q))
          for _ in range(procs)]
    for p in ps:
        p.start()
    res = [q.get(timeout=SECONDS + 30) for _ in ps]
    for p in ps:
        p.join(5)
    n = sum(r[0] for r in res)
    return n / SECONDS, sum(r[1] for r in res)


def prog_stats(ids):
    tot_ns = tot_cnt = 0
    for i in ids:
        out = subprocess.run(["bpftool", "-j", "prog", "show", "id", str(i)],
                             capture_output=True).stdout
        try:
            j = json.loads(out)
        except ValueError:
            continue
        if j.get("type") == "xdp":
            tot_ns += j.get("run_time_ns", 0)
            tot_cnt += j.get("run_cnt", 0)
    return tot_ns, tot_cnt


def main():
    S = e2e.Servers("veth")
    e2e.make_site(S.site)
    S.start_nanoweb("auto")
    S.start_helper()
    if not S.wait_pushed(15):
        print("nano-web did not push to the helper")
        return 1
    ids = e2e.bpf_state()
    url = "http://%s:%d/index.html" % (S.addr4, e2e.PORT)
    with e2e.bpf_stats():
        ns0, c0 = prog_stats(ids)
        k0 = S.kstats()
        xdp_ka, out = wrk(url)
        k1 = S.kstats()
        ns1, c1 = prog_stats(ids)
        xdp_nc, xdp_nc_err = newconn(S.addr4, e2e.PORT)
        ns2, c2 = prog_stats(ids)
    S.stop_helper(signal.SIGTERM)
    time.sleep(1)
    us_ka, _ = wrk(url)
    us_nc, us_nc_err = newconn(S.addr4, e2e.PORT)
    S.stop_nanoweb()
    hits = e2e.counter(k1, "hits") - e2e.counter(k0, "hits")
    print("XDP program cost, keep-alive hits: %.0f ns/packet over %d packets"
          % ((ns1 - ns0) / max(1, c1 - c0), c1 - c0))
    print("XDP program cost, new connection per request: %.0f ns/packet over "
          "%d packets" % ((ns2 - ns1) / max(1, c2 - c1), c2 - c1))
    print("keep-alive (wrk -c16, 2 threads, /index.html): XDP %.0f req/s "
          "(%d hits), userspace %.0f req/s" % (xdp_ka, hits, us_ka))
    print("new connection per request (4 processes): XDP %.0f req/s "
          "(%d errors), userspace %.0f req/s (%d errors)"
          % (xdp_nc, xdp_nc_err, us_nc, us_nc_err))
    E.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
