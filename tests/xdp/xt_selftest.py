"""Self-test of the kernel fast path test tools (run in the client netns)."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwx  # noqa: E402
import xt  # noqa: E402

E = xt.Env()
check = xt.Checker()


# parity comparer
a = b"HTTP/1.1 200 OK\r\nDate: Mon, 02 Jun 2025 10:00:00 GMT\r\nX: 1\r\n\r\nbody"
b = b"HTTP/1.1 200 OK\r\nDate: Tue, 03 Jun 2025 11:22:33 GMT\r\nX: 1\r\n\r\nbody"
c = b"HTTP/1.1 200 OK\r\nDate: Tue, 03 Jun 2025 11:22:33 GMT\r\nX: 2\r\n\r\nbody"
check("parity: equal except Date", nwx.parity_diff(a, b) is None)
check("parity: header difference found", nwx.parity_diff(a, c) is not None)
try:
    nwx.mask_date(b"HTTP/1.1 200 OK\r\nDate: yesterday\r\n\r\n")
    check("parity: malformed Date refused", False)
except nwx.HTTPError:
    check("parity: malformed Date refused", True)

# a plain server in the server namespace
port = 18080
payload = os.urandom(2 * 1024 * 1024)
with open(os.path.join(E.work, "blob.bin"), "wb") as f:
    f.write(payload)
srv = E.spawn_s(["python3", "-m", "http.server", "--bind", "::", "--directory",
                 E.work, str(port)], "httpserver")
ok = xt.wait_until(lambda: xt.tcp_open(E.a4s, port), 10)
check("veth: TCP to the server namespace", ok)

for fam, addr in (("IPv4", E.a4s), ("IPv6", "[%s]" % E.a6s)):
    out = subprocess.run(["curl", "-s", "--max-time", "20",
                          "http://%s:%d/blob.bin" % (addr, port)],
                         capture_output=True).stdout
    check("veth %s: 2 MB byte-correct" % fam, out == payload)

E.loss_on()
before = E.loss_counters()
bad = 0
for i in range(3):
    out = subprocess.run(["curl", "-s", "--max-time", "60",
                          "http://%s:%d/blob.bin" % (E.a4s, port)],
                         capture_output=True).stdout
    bad += out != payload
after = E.loss_counters()
E.loss_off()
check("loss: transfers byte-correct under 5% loss", bad == 0)
for d in ("xdp", "tc"):
    seen = after[d][0] - before[d][0]
    dropped = after[d][1] - before[d][1]
    rate = dropped / seen if seen else 0
    check("loss: %s drops about 5%%" % d, seen > 100 and 0.02 < rate < 0.10,
          "(%d of %d)" % (dropped, seen))

# spoofer, flood and sniffer: watch the server side's interface
for fam, src, dst in (("IPv4", E.a4c, E.a4s), ("IPv6", E.a6c, E.a6s)):
    sn = E.sniffer_s(9999, "to")
    time.sleep(0.3)
    ports = nwx.spoof_requests(src, dst, 9999, count=20)
    time.sleep(0.5)
    seen = sn.stop()
    data = [x for x in seen if x[5] > 0]
    check("spoofer %s: segments reach the server side" % fam,
          len(data) == 40 and {x[2] for x in data} == ports,
          "(%d seen)" % len(data))

def rx_packets():
    out = E.run_s(["ip", "-j", "-s", "link", "show", "dev", E.vs]).stdout
    return json.loads(out)[0]["stats64"]["rx"]["packets"]


rx0 = rx_packets()
n = nwx.syn_flood(lambda i: "10.231.%d.%d" % (1 + i // 250, 1 + i % 250),
                  E.a4s, 9998, 20000, 10)
time.sleep(0.5)
rx = rx_packets() - rx0
check("flood: SYNs sent and received", n == 20000 and rx >= n,
      "(%d sent, %d received)" % (n, rx))

E.stop_all()
sys.exit(check.finish())
