#!/usr/bin/env python3
"""nanoweb-xdpd reads the shared nanoweb.ini with nano-web's own reader:
the same files are accepted and rejected by both programs, with the same
FILE:LINE. Uses `nanoweb-xdpd --check-config`, which reads the configuration
and exits without loading or attaching anything."""
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402
from nwtest import Server, Site, run_cli  # noqa: E402

t = nwtest.Tests("xdpd_config")

LONG_CSP = "default-src 'self'; " + "; ".join("img-src https://cdn%d.example.com" % i
                                                for i in range(20))
assert len(LONG_CSP) > 400


def helper():
    return os.path.join(nwtest.builddir(), "nanoweb-xdpd")


def write_ini(site, name, text):
    p = site.scratch(name)
    with open(p, "w") as f:
        f.write(text)
    return p


def check_config(path, *extra):
    p = subprocess.run([helper(), "--check-config", "--config", path] + list(extra),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=10)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def settings(out):
    return dict(re.findall(r"^(\w+) = (.*)$", out, re.M))


ACCEPTED = {
    # a long value with ';' and '#' in it, and [XDP] in capitals with an
    # indented key: nano-web reads all of them; the helper used to fail at
    # line 2 (200-byte lines), ignore [XDP] and take the indented key as a
    # continuation of the previous value
    "long_csp_upper_section_indented_key":
        ("[security]\ncsp = %s\n# comment\n[XDP]\n  flow_entries = 2048\n"
         "attach = generic\nmax_response = 1400\n" % LONG_CSP,
         {"flow_entries": "2048", "attach": "generic", "max_response": "1400"}),
    "socket_with_semicolon":
        ("[xdp]\nsocket = /tmp/nw;x.sock\ncache_entries = 10\n",
         {"socket": "/tmp/nw;x.sock", "cache_entries": "10"}),
    # nanoweb.ini(5): lines up to 8190 bytes, not counting the newline
    "line_of_8190_bytes": ("[security]\ncsp = %s\n" % ("a" * (8190 - 6)), {}),
    "ranges_low_ends":
        ("[xdp]\nmax_response = 64\nflow_entries = 16\ncache_entries = 1\ndrain_ms = 0\n",
         {"max_response": "64", "flow_entries": "16", "cache_entries": "1", "drain_ms": "0"}),
    "ranges_high_ends":
        ("[xdp]\nmax_response = 16000\nflow_entries = 16777216\ncache_entries = 1048576\n"
         "drain_ms = 600000\n",
         {"max_response": "16000", "flow_entries": "16777216", "cache_entries": "1048576"}),
}

REJECTED = {
    # (text, line nano-web and the helper must name)
    "max_response_too_small": ("[server]\nuser = nobody\n\n[xdp]\nmax_response = 63\n", 5),
    "max_response_too_big": ("[xdp]\nmax_response = 16001\n", 2),
    "flow_entries_too_small": ("# x\n[xdp]\nflow_entries = 15\n", 3),
    "flow_entries_too_big": ("[xdp]\nflow_entries = 16777217\n", 2),
    "cache_entries_zero": ("[xdp]\ncache_entries = 0\n", 2),
    "bad_attach_after_long_line": ("[security]\ncsp = %s\n[xdp]\nattach = fast\n" % LONG_CSP, 4),
    "unknown_key": ("[xdp]\niface = lo\nbogus = 1\n", 3),
    "line_too_long": ("[security]\ncsp = %s\n" % ("a" * 9000), 2),
    "line_of_8191_bytes": ("[security]\ncsp = %s\n" % ("a" * (8191 - 6)), 2),
}


@t.case
def same_files_accepted():
    s = Site({"index.html": "<html>x</html>"})
    for name, (text, want) in sorted(ACCEPTED.items()):
        path = write_ini(s, name + ".ini", text)
        rc, out, err = check_config(path)
        t.eq("%s: nanoweb-xdpd --check-config exits 0" % name, rc, 0)
        t.check("%s: nothing on stderr" % name, err == "", err)
        got = settings(out)
        for k, v in want.items():
            t.eq("%s: helper's %s" % (name, k), got.get(k), v)
        srv = Server(s.root, config=text)
        t.eq("%s: nano-web accepts it too" % name, srv.get("/").status, 200)
        srv.stop_checked(t)


@t.case
def same_files_rejected_with_the_same_line():
    s = Site()
    for name, (text, line) in sorted(REJECTED.items()):
        path = write_ini(s, name + ".ini", text)
        rc, out, err = check_config(path)
        t.eq("%s: nanoweb-xdpd exits 2" % name, rc, 2)
        t.check("%s: nanoweb-xdpd names %s:%d" % (name, os.path.basename(path), line),
                "%s:%d:" % (path, line) in err, err)
        nrc, nout, nerr = run_cli(["serve", s.root, "--xdp", "off", "--config", path])
        t.eq("%s: nano-web exits 2" % name, nrc, 2)
        t.check("%s: nano-web names the same line" % name, "%s:%d:" % (path, line) in nerr, nerr)
        # the same message (after the program's own prefix)
        hm = re.search(re.escape(path) + r":\d+: (.*)", err)
        nm = re.search(re.escape(path) + r":\d+: (.*)", nerr)
        t.eq("%s: same message" % name, hm and hm.group(1), nm and nm.group(1))
        if name.startswith("line_"):
            t.check("%s: the message states the documented limit (8190 bytes)" % name,
                    "at most 8190 bytes" in err, err)


@t.case
def flags_use_the_same_ranges():
    s = Site()
    path = write_ini(s, "empty.ini", "")
    for flag, bad, good in (("--max-response", "63", "64"), ("--max-response", "16001", "16000"),
                            ("--flow-entries", "15", "16"),
                            ("--flow-entries", "16777217", "16777216"),
                            ("--cache-entries", "0", "1")):
        rc, out, err = check_config(path, flag, bad)
        t.eq("%s %s rejected (exit 2)" % (flag, bad), rc, 2)
        rc, out, err = check_config(path, flag, good)
        t.eq("%s %s accepted" % (flag, good), rc, 0)
        key = flag[2:].replace("-", "_")
        t.eq("%s %s overrides the file" % (flag, good), settings(out).get(key), good)
    # every flag is checked as its INI key is (nanoweb.ini(5))
    for flag, bad in (("--flow-entries", "+16"), ("--flow-entries", " 16"),
                      ("--drain-ms", "-0"), ("--socket", "relative/x.sock"), ("--socket", ""),
                      ("--pin-dir", ""), ("--pin-dir", "bpf/x"), ("--iface", "eth0,,x"),
                      ("--iface", "bad/name"), ("--mode", "fast")):
        rc, out, err = check_config(path, flag, bad)
        t.eq("%s %r rejected (exit 2)" % (flag, bad), rc, 2)
        t.check("%s %r: the error names the flag" % (flag, bad), flag + ":" in err, err)
    rc, out, err = check_config(path, "--mode", "NATIVE", "--socket", "/tmp/x.sock")
    t.eq("--mode NATIVE --socket /tmp/x.sock accepted, as in the file",
         (rc, settings(out).get("attach"), settings(out).get("socket")),
         (0, "native", "/tmp/x.sock"))
    rc, out, err = check_config(path, *sum((["--allow-uid", str(i)] for i in range(33)), []))
    t.eq("33 --allow-uid rejected (exit 2)", rc, 2)


if __name__ == "__main__":
    if not os.access(helper(), os.X_OK):
        nwtest.skip_or_fail("nanoweb-xdpd not built (configure without XDP?)")
    t.main()
