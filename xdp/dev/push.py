#!/usr/bin/env python3
"""Dev tool: act as nano-web towards nanoweb-xdpd (common/nanoweb_xdp_proto.h).

push.py SOCKET PORT PATH=FILE... : registers PORT, pushes a GET and a HEAD
response (identity) for each PATH with FILE's bytes as body, commits, prints
the stats, then stays connected (the ports belong to the connection) until
killed. Without PATH=FILE it only prints the stats.
"""
import email.utils, os, socket, struct, sys, time

HDR = struct.Struct("<IHHII")
def msg(t, body=b"", seq=[0]):
    seq[0] += 1
    return HDR.pack(HDR.size + len(body), t, 0, seq[0], 0) + body

def call(s, t, body=b""):
    s.send(msg(t, body))
    r = s.recv(65536)
    ln, typ, _, seq, _ = HDR.unpack_from(r)
    if typ == 0x1FF:
        code, tl = struct.unpack_from("<II", r, 16)
        raise SystemExit("error %d: %s" % (code, r[24:24 + tl].decode()))
    return typ, r[16:]

def response(body, head=False):
    date = email.utils.formatdate(usegmt=True)
    h = ("HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: text/plain\r\n"
         "Content-Length: %d\r\n\r\n" % (date, len(body))).encode()
    off = h.index(date.encode())
    return (h if head else h + body), off

STATS = ["hits", "hit_bytes", "handoffs", "handoff_failed", "syn_cookies",
         "cookies_ok", "invalid_dropped", "retransmits", "fins", "rsts", "passed",
         "misses", "cache_entries", "cache_capacity", "map_memory", "flow_entries",
         "flow_capacity", "active_generation", "ports", "interfaces"]

def stats(s):
    _, b = call(s, 8)
    vals = struct.unpack_from("<%dQ" % len(STATS), b)
    return dict(zip(STATS, vals))

def main():
    sock, port = sys.argv[1], int(sys.argv[2])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sock)
    call(s, 1, struct.pack("<II", 1, os.getpid()))
    pairs = [a.split("=", 1) for a in sys.argv[3:]]
    if not pairs:
        print(stats(s)); return
    call(s, 7, struct.pack("<HH", 1, 0) + struct.pack("<H", port))
    _, b = call(s, 2, struct.pack("<II", 0, 0))
    gen = struct.unpack_from("<I", b)[0]
    for path, f in pairs:
        body = open(f, "rb").read()
        for method in (0, 1):
            r, off = response(body, head=method == 1)
            p = path.encode()
            call(s, 3, struct.pack("<IBBBBHHI", gen, method, 0, 1, 0, len(p), off, len(r)) + p + r)
    _, b = call(s, 5, struct.pack("<II", gen, 0))
    print("committed generation %d: %d responses" % struct.unpack_from("<II", b), flush=True)
    while True:
        time.sleep(3600)

main()
