"""Helpers for nano-web's kernel fast path end-to-end tests.

Pure Python 3 standard library. Raw HTTP exchanges that keep every byte a
server sent (for the parity check), a Date-masking comparer, and raw-socket
tools: a spoofer of data segments without a handshake, a SYN flood generator
and an AF_PACKET sniffer to see what a server sends back.
"""
import os
import random
import re
import select
import socket
import struct
import threading
import time

# --------------------------------------------------------------------------
# raw HTTP


class HTTPError(Exception):
    pass


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def connect(host, port, timeout=5.0, src=None):
    """src: (address, port) to connect from, reused at once."""
    s = socket.socket(_family(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if src:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(src)
    s.connect((host, port))
    return s


def request_bytes(method, path, host="x", headers=(), version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, path, version), "Host: %s" % host]
    for h in headers:
        lines.append(h)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Response:
    def __init__(self, raw, head, body, status, headers):
        self.raw = raw          # every byte of this response as received
        self.head = head        # status line + headers + blank line
        self.body = body
        self.status = status
        self.headers = headers  # lower-case name -> value (last wins)

    def __repr__(self):
        return "<Response %d %d+%d bytes>" % (self.status, len(self.head),
                                              len(self.body))


class Conn:
    """One TCP connection that reads exact HTTP/1.1 responses off the wire."""

    def __init__(self, host, port, timeout=5.0, src=None):
        self.sock = connect(host, port, timeout, src)
        self.buf = b""
        self.deadline_s = timeout

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise HTTPError("timeout waiting for response bytes")
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            raise HTTPError("timeout waiting for response bytes")
        if not d:
            raise HTTPError("connection closed (%d bytes pending)" % len(self.buf))
        self.buf += d

    def read_response(self, head_request=False, timeout=None):
        deadline = time.monotonic() + (timeout or self.deadline_s)
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        i = self.buf.index(b"\r\n\r\n") + 4
        head = self.buf[:i]
        lines = head[:-4].decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        if not m:
            raise HTTPError("bad status line %r" % lines[0])
        status = int(m.group(1))
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        if head_request or status in (204, 304) or status < 200:
            n = 0
        elif "content-length" in headers:
            n = int(headers["content-length"])
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            raise HTTPError("chunked responses are not expected here")
        else:
            n = None
        if n is None:   # body until close
            try:
                while True:
                    self._fill(deadline)
            except HTTPError:
                pass
            n = len(self.buf) - i
        while len(self.buf) < i + n:
            self._fill(deadline)
        raw = self.buf[:i + n]
        self.buf = self.buf[i + n:]
        return Response(raw, head, raw[i:], status, headers)

    def exchange(self, method, path, headers=(), timeout=None):
        self.sock.sendall(request_bytes(method, path, headers=headers))
        return self.read_response(method == "HEAD", timeout)

    def closed_by_peer(self, wait=2.0):
        """True when the peer closes cleanly (FIN) within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except (socket.timeout, ConnectionResetError):
            return False


def fetch(host, port, method, path, headers=(), timeout=5.0):
    c = Conn(host, port, timeout)
    try:
        return c.exchange(method, path, headers)
    finally:
        c.close()


DATE_RE = re.compile(rb"(\r\nDate: )([^\r\n]*)(\r\n)", re.I)


def mask_date(raw):
    """The response with its Date value replaced; checks it is a valid one."""
    m = DATE_RE.search(raw)
    if not m:
        return raw
    if not re.match(rb"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
                    rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                    rb"\d{4} \d\d:\d\d:\d\d GMT$", m.group(2)):
        raise HTTPError("malformed Date value %r" % m.group(2))
    return raw[:m.start(2)] + b"<DATE>" + raw[m.end(2):]


def parity_diff(a, b):
    """None when a and b are equal apart from the Date value; else a
    description of the first difference."""
    ma, mb = mask_date(a), mask_date(b)
    if ma == mb:
        return None
    n = 0
    while n < min(len(ma), len(mb)) and ma[n] == mb[n]:
        n += 1
    return ("differ at byte %d (lengths %d vs %d): %r vs %r"
            % (n, len(ma), len(mb), ma[max(0, n - 20):n + 40],
               mb[max(0, n - 20):n + 40]))


# --------------------------------------------------------------------------
# raw packets


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


SYN, ACK, PSH, FIN, RST = 0x02, 0x10, 0x08, 0x01, 0x04


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload=b"",
                options=b"", window=65535):
    """A TCP segment (header + payload) with a correct checksum."""
    off = (20 + len(options)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags,
                      window, 0, 0) + options
    seg = hdr + payload
    if ":" in src:
        pseudo = (socket.inet_pton(socket.AF_INET6, src) +
                  socket.inet_pton(socket.AF_INET6, dst) +
                  struct.pack("!IxxxB", len(seg), socket.IPPROTO_TCP))
    else:
        pseudo = (socket.inet_aton(src) + socket.inet_aton(dst) +
                  struct.pack("!xBH", socket.IPPROTO_TCP, len(seg)))
    c = csum(pseudo + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def ipv4_packet(src, dst, seg, ident=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), ident, 0x4000,
                      64, socket.IPPROTO_TCP, 0, socket.inet_aton(src),
                      socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + seg


SYN_OPTIONS = (b"\x02\x04\x05\xb4"      # MSS 1460
               b"\x04\x02"              # SACK permitted
               b"\x01\x03\x03\x07"      # NOP, window scale 7
               b"\x01\x01")             # NOP NOP (pad to 12)


class RawSender:
    """Sends hand-built TCP segments with any source address."""

    def __init__(self, family):
        self.family = family
        if family == socket.AF_INET:
            self.s = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                   socket.IPPROTO_RAW)
        else:
            # IPv6 raw sockets cannot set the header without AF_PACKET;
            # IPV6_HDRINCL exists since Linux 4.5 (value 36).
            self.s = socket.socket(socket.AF_INET6, socket.SOCK_RAW,
                                   socket.IPPROTO_RAW)
            self.s.setsockopt(socket.IPPROTO_IPV6, 36, 1)

    def send(self, src, dst, seg):
        if self.family == socket.AF_INET:
            self.s.sendto(ipv4_packet(src, dst, seg), (dst, 0))
        else:
            hdr = struct.pack("!IHBB16s16s", 6 << 28, len(seg),
                              socket.IPPROTO_TCP, 64,
                              socket.inet_pton(socket.AF_INET6, src),
                              socket.inet_pton(socket.AF_INET6, dst))
            self.s.sendto(hdr + seg, (dst, 0))

    def close(self):
        self.s.close()


class Sniffer:
    """Captures TCP segments seen on `iface` (in this namespace) from
    sport==port (or to dport==port with direction='to'); records
    (src, dst, sport, dport, flags, payload_len), and in csum_ok, for each,
    whether its TCP checksum is right (a segment a local socket sent over
    veth or lo may carry only the pseudo header's sum: checksum offload)."""

    def __init__(self, iface, port, direction="from"):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                               socket.htons(0x0003))
        self.s.bind((iface, 0))
        self.port = port
        self.direction = direction
        self.seen = []
        self.csum_ok = []
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _parse(self, f):
        if len(f) < 14:
            return None
        et = struct.unpack("!H", f[12:14])[0]
        p = f[14:]
        if et == 0x0800 and len(p) >= 20 and p[9] == 6:
            ihl = (p[0] & 15) * 4
            tot = struct.unpack("!H", p[2:4])[0]
            src, dst = socket.inet_ntoa(p[12:16]), socket.inet_ntoa(p[16:20])
            t = p[ihl:tot]
            pseudo = p[12:20] + struct.pack("!xBH", 6, len(t))
        elif et == 0x86DD and len(p) >= 40 and p[6] == 6:
            plen = struct.unpack("!H", p[4:6])[0]
            src = socket.inet_ntop(socket.AF_INET6, p[8:24])
            dst = socket.inet_ntop(socket.AF_INET6, p[24:40])
            t = p[40:40 + plen]
            pseudo = p[8:40] + struct.pack("!IxxxB", len(t), 6)
        else:
            return None
        if len(t) < 20:
            return None
        sport, dport = struct.unpack("!HH", t[:4])
        doff = (t[12] >> 4) * 4
        return (src, dst, sport, dport, t[13], len(t) - doff), \
            csum(pseudo + t) == 0

    def _run(self):
        while not self.stop_ev.is_set():
            r, _, _ = select.select([self.s], [], [], 0.1)
            if not r:
                continue
            try:
                f, addr = self.s.recvfrom(65535)
            except OSError:
                return
            x = self._parse(f)
            if not x:
                continue
            x, ok = x
            if self.direction == "from" and x[2] != self.port:
                continue
            if self.direction == "to" and x[3] != self.port:
                continue
            self.seen.append(x)
            self.csum_ok.append(ok)

    def stop(self):
        self.stop_ev.set()
        self.t.join(2)
        self.s.close()
        return self.seen


def raw_port():
    """A source port for a segment sent from a raw socket (it and the next
    one), below the kernel's ephemeral range: no connection a test made
    earlier from the same address can still own that 4-tuple (e.g. a flow
    XDP keeps CLOSING because the client's last ACK was lost, which drops
    the segment without counting it). Above the servers' ports."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    if low < 10100:
        raise RuntimeError("ip_local_port_range starts at %d: no room below "
                           "it for raw test ports" % low)
    return random.randint(10000, min(low - 2, 30000))


def spoof_requests(src, dst, port, count=50, path="/index.html"):
    """Sends `count` ACK|PSH segments carrying a complete GET from random
    ports, without any handshake. Returns the set of source ports used."""
    fam = _family(dst)
    rs = RawSender(fam)
    ports = set()
    try:
        for i in range(count):
            sp = raw_port()
            ports.add(sp)
            req = request_bytes("GET", path)
            seg = tcp_segment(src, dst, sp, port, random.getrandbits(32),
                              random.getrandbits(32), ACK | PSH, req)
            rs.send(src, dst, seg)
            # a retransmission of the same segment, too
            rs.send(src, dst, seg)
    finally:
        rs.close()
    return ports


def syn_flood(src_fn, dst, port, count, seconds, stop_ev=None):
    """Sends up to `count` SYNs for at most `seconds`; src_fn(i) gives the
    source address of the i-th SYN. Returns how many were sent."""
    fam = _family(dst)
    rs = RawSender(fam)
    # Pre-build a batch: computing checksums is the slow part in Python.
    batch = []
    for i in range(min(count, 2048)):
        src = src_fn(i)
        seg = tcp_segment(src, dst, 1024 + (i * 7919) % 60000, port,
                          random.getrandbits(32), 0, SYN,
                          options=SYN_OPTIONS, window=64240)
        if fam == socket.AF_INET:
            pkt = ipv4_packet(src, dst, seg, i & 0xFFFF)
        else:
            pkt = struct.pack("!IHBB16s16s", 6 << 28, len(seg),
                              socket.IPPROTO_TCP, 64,
                              socket.inet_pton(socket.AF_INET6, src),
                              socket.inet_pton(socket.AF_INET6, dst)) + seg
        batch.append(pkt)
    sent = 0
    end = time.monotonic() + seconds
    try:
        while sent < count and time.monotonic() < end:
            if stop_ev is not None and stop_ev.is_set():
                break
            for pkt in batch:
                try:
                    rs.s.sendto(pkt, (dst, 0))
                except (BlockingIOError, OSError):
                    time.sleep(0.001)
                    continue
                sent += 1
                if sent >= count:
                    break
    finally:
        rs.close()
    return sent


def _main(argv):
    # nwx.py sniff IFACE PORT from|to OUTFILE : capture until SIGINT/SIGTERM
    import json
    import signal
    if len(argv) == 5 and argv[0] == "sniff":
        sn = Sniffer(argv[1], int(argv[2]), argv[3])
        done = threading.Event()
        signal.signal(signal.SIGINT, lambda *a: done.set())
        signal.signal(signal.SIGTERM, lambda *a: done.set())
        open(argv[4] + ".ready", "w").close()
        done.wait(600)
        seen = sn.stop()
        with open(argv[4] + ".tmp", "w") as f:
            json.dump(seen, f)
        os.rename(argv[4] + ".tmp", argv[4])
        return 0
    print("usage: nwx.py sniff IFACE PORT from|to OUTFILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    import sys
    sys.exit(_main(sys.argv[1:]))
