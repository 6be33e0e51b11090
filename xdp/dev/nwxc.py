#!/usr/bin/env python3
"""Dev tool: a minimal client of nanoweb-xdpd's socket protocol
(common/nanoweb_xdp_proto.h), for checking the single-writer rule by hand.

  nwxc.py SOCK hold PORT PATH=TEXT...   become the writer: SET_PORTS PORT,
                                        push GET+HEAD of each PATH (body TEXT),
                                        COMMIT, print "committed ...", then
                                        stay connected until killed
  nwxc.py SOCK try PORT PATH=TEXT       like hold, but report every reply
                                        (error code and text) and exit: 0 if
                                        the session was refused with E_BUSY
  nwxc.py SOCK hello                    print HELLO_REPLY (owner_pid)
  nwxc.py SOCK stats                    print the counters
"""
import email.utils, os, socket, struct, sys, time

HDR = struct.Struct("<IHHII")
HELLO, BEGIN, PUT, DELETE, COMMIT, ABORT, SET_PORTS, STATS = range(1, 9)
OK, HELLO_REPLY, STATS_REPLY, ERROR = 0x101, 0x102, 0x103, 0x1FF
E_BUSY = 10
NAMES = {HELLO: "HELLO", BEGIN: "BEGIN", PUT: "PUT", DELETE: "DELETE",
         COMMIT: "COMMIT", ABORT: "ABORT", SET_PORTS: "SET_PORTS", STATS: "STATS"}
STATS_F = ["hits", "hit_bytes", "handoffs", "handoff_failed", "syn_cookies",
           "cookies_ok", "invalid_dropped", "retransmits", "fins", "rsts",
           "passed", "misses", "cache_entries", "cache_capacity", "map_memory",
           "flow_entries", "flow_capacity", "active_generation", "ports",
           "interfaces"]


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.connect(path)
        self.seq = 0

    def call(self, t, body=b""):
        """(type, body) or ('ERROR', code, text)"""
        self.seq += 1
        self.s.send(HDR.pack(HDR.size + len(body), t, 0, self.seq, 0) + body)
        r = self.s.recv(65536)
        ln, typ, _, seq, _ = HDR.unpack_from(r)
        assert ln == len(r) and seq == self.seq, "bad reply framing"
        if typ == ERROR:
            code, tl = struct.unpack_from("<II", r, 16)
            return ("ERROR", code, r[24:24 + tl].decode())
        return (typ, r[16:])


def response(body, head=False):
    date = email.utils.formatdate(usegmt=True)
    h = ("HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: text/plain\r\n"
         "Content-Length: %d\r\n\r\n" % (date, len(body))).encode()
    return (h if head else h + body), h.index(date.encode())


def session(c, port, pairs, verbose):
    """SET_PORTS, BEGIN, PUT..., DELETE, COMMIT; returns the list of replies."""
    out = []
    def step(t, body):
        r = c.call(t, body)
        out.append((NAMES[t], r))
        if verbose:
            print("%-9s -> %s" % (NAMES[t], "OK" if r[0] == OK else r), flush=True)
        return r
    step(SET_PORTS, struct.pack("<HHH", 1, 0, port))
    r = step(BEGIN, struct.pack("<II", 0, 0))
    gen = struct.unpack_from("<I", r[1])[0] if r[0] == OK else 1
    for path, text in pairs:
        body, p = text.encode(), path.encode()
        for method in (0, 1):
            resp, off = response(body, head=method == 1)
            step(PUT, struct.pack("<IBBBBHHI", gen, method, 0, 1, 0, len(p),
                                  off, len(resp)) + p + resp)
        if verbose:  # a DELETE of a path that is not there: no-op when allowed
            step(DELETE, struct.pack("<IBBH", gen, 0xff, 0xff, 5) + b"/nope")
    r = step(COMMIT, struct.pack("<II", gen, 0))
    return out, r


def main():
    sock, cmd = sys.argv[1], sys.argv[2]
    c = Conn(sock)
    t, b = c.call(HELLO, struct.pack("<II", 1, os.getpid()))
    hello = struct.unpack_from("<8I", b)
    owner = struct.unpack_from("<I", b, 32)[0] if len(b) >= 36 else None
    if cmd == "hello":
        print("helper pid %d, active generation %d, owner pid %s" %
              (hello[7], hello[6], owner))
        return 0
    if cmd == "stats":
        r = c.call(STATS)
        print(dict(zip(STATS_F, struct.unpack_from("<%dQ" % len(STATS_F), r[1]))))
        return 0
    port = int(sys.argv[3])
    pairs = [a.split("=", 1) for a in sys.argv[4:]]
    if cmd == "hold":
        out, r = session(c, port, pairs, False)
        bad = [x for x in out if x[1][0] != OK]
        if bad:
            print("refused:", bad, flush=True)
            return 1
        print("committed generation %d: %d responses (pid %d, port %d)" %
              (struct.unpack_from("<II", r[1]) + (os.getpid(), port)), flush=True)
        while True:
            time.sleep(3600)
    if cmd == "try":
        print("HELLO     -> owner pid %s" % owner)
        out, r = session(c, port, pairs, True)
        r = c.call(ABORT)
        print("ABORT     -> %s" % ("OK" if r[0] == OK else r))
        r = c.call(STATS)
        print("STATS     -> %s" % ("OK" if r[0] == STATS_REPLY else r))
        busy = all(x[1][0] == "ERROR" and x[1][1] == E_BUSY for x in out)
        return 0 if busy else 1
    print(__doc__)
    return 2


sys.exit(main())
