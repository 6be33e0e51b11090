"""The checksum arithmetic of close_sum() in xdp/nanoweb.bpf.c, step for
step, against the sum of the bytes XDP actually sends: a response with
"Connection: close\\r\\n" inserted after its Date line. close.sh only sees
nano-web's responses, whose Date line always ends at the same (even)
offset; this covers both parities and prefixes of every length mod 4.
No root needed.
"""
import random
import sys

CONN_CLOSE = b"Connection: close\r\n"
CONN_CLOSE_SUM = 0x32674
DATE_LEN = 29


def mem_sum(b, off=0):
    """The helper's xdpd_csum_add: even payload offsets are the low byte."""
    return sum(x << 8 if (off + i) & 1 else x for i, x in enumerate(b))


def fold(s):
    """nanoweb.bpf.c fold(): the folded, inverted 16-bit sum."""
    for _ in range(2):
        s = (s & 0xffffffff) + (s >> 32)
    for _ in range(3):
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def fold16(s):
    return ~fold(s) & 0xffff


def swab16(x):
    return ((x & 0xff) << 8) | (x >> 8)


def close_sum(resp, d, csum):
    """close_sum() as written in C (bpf_csum_diff: the memory-order sum of
    whole words, folded to 32 bits: the same number mod 0xffff)."""
    ins = d + DATE_LEN + 2
    n4 = d & ~3
    pre = mem_sum(resp[:n4])
    for k in range(d - n4):
        pre += resp[n4 + k] << (8 * (k & 1))
    crlf = DATE_LEN + d
    pre += (ord("\r") << 8) + ord("\n") if crlf & 1 else \
        ord("\r") + (ord("\n") << 8)
    ins_sum = fold16(CONN_CLOSE_SUM)
    if ins & 1:
        ins_sum = swab16(ins_sum)
    return pre + ins_sum + swab16(fold16(fold16(csum) + (0xffff - fold16(pre))))


def check_one(rnd, d, tail):
    date = b"Sun, 06 Nov 1994 08:49:37 GMT"
    head = bytes(rnd.getrandbits(8) for _ in range(d))
    rest = bytes(rnd.getrandbits(8) for _ in range(tail))
    resp = head + date + b"\r\n" + rest
    # the helper's sum: the Date counted as zero
    csum = mem_sum(head) + mem_sum(b"\r\n" + rest, d + DATE_LEN)
    csum &= 0xffffffff
    sent = head + bytes(DATE_LEN) + b"\r\n" + CONN_CLOSE + rest
    want = fold(mem_sum(sent))
    got = fold(close_sum(resp, d, csum))
    # 0x0000 and 0xffff are the same one's complement number
    return want == got or {want, got} == {0, 0xffff}


def main():
    rnd = random.Random(7)
    assert mem_sum(CONN_CLOSE) == CONN_CLOSE_SUM, hex(mem_sum(CONN_CLOSE))
    bad = []
    n = 0
    for d in range(0, 97):
        for tail in (1, 2, 3, 50, 1001, 2000):
            for _ in range(4):
                n += 1
                if not check_one(rnd, d, tail):
                    bad.append((d, tail))
    ok = not bad
    print("%s - close_sum() equals the sum of the bytes sent, %d cases, "
          "Date line ending at even and odd offsets%s" % (
              "ok 1" if ok else "not ok 1", n, "" if ok else " %r" % bad[:5]))
    print("1..1")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
