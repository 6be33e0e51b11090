#!/usr/bin/env python3
"""Access log (--log-requests) in console and JSON formats, access_log file."""
import datetime
import json
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402
from nwtest import Server, Site, compressible_text  # noqa: E402

t = nwtest.Tests("logging")
CSS = compressible_text(5000, "css")
FILES = {"style.css": CSS, "index.html": "<html>x</html>"}


def traffic(srv):
    g = srv.get("/style.css", {"Accept-Encoding": "gzip"})
    i = srv.get("/style.css")
    n = srv.get("/missing-file.txt")
    srv.head("/index.html")
    return g, i, n


@t.case
def console_format():
    s = Site(FILES)
    srv = Server(s.root, args=["--log-requests"])
    g, i, n = traffic(srv)
    srv.stop_checked(t)
    out = srv.stdout().splitlines()
    gz = [ln for ln in out if "/style.css" in ln and "gzip" in ln]
    t.check("console: a line for GET /style.css with encoding gzip", gz, "\n".join(out[-10:]))
    if gz:
        ln = gz[0]
        t.check("console: line has method GET", "GET" in ln, ln)
        t.check("console: line has status 200", "200" in ln.split(), ln)
        t.check("console: line has bytes sent (%d)" % len(g.body), str(len(g.body)) in ln, ln)
        t.check("console: line has client address", "127.0.0.1" in ln, ln)
    nf = [ln for ln in out if "/missing-file.txt" in ln]
    t.check("console: one line for the 404", len(nf) == 1 and "404" in nf[0].split(), nf)
    hd = [ln for ln in out if "/index.html" in ln and "HEAD" in ln]
    t.eq("console: one line for the HEAD", len(hd), 1)
    css = [ln for ln in out if "/style.css" in ln]
    t.eq("console: one line per request to /style.css", len(css), 2)


@t.case
def json_format():
    s = Site(FILES)
    srv = Server(s.root, args=["--log-requests", "--log-format", "json"])
    g, i, n = traffic(srv)
    srv.stop_checked(t)
    lines = [ln for ln in srv.stdout().splitlines() if ln.strip()]
    objs, bad = [], []
    for ln in lines:
        try:
            o = json.loads(ln)
            if isinstance(o, dict):
                objs.append(o)
            else:
                bad.append(ln)
        except ValueError:
            bad.append(ln)
    t.eq("json: every stdout line is a JSON object", bad[:5], [])
    reqs = [o for o in objs if "path" in o and "method" in o]
    keys = {"method", "path", "status", "bytes", "duration_ms", "client", "encoding"}
    t.check("json: >= 4 request lines (health probes may add more)", len(reqs) >= 4, objs[:6])
    for o in reqs:
        missing = keys - set(o)
        if missing:
            t.check("json: keys present in %r" % o, False, "missing %s" % sorted(missing))
            break
    else:
        t.check("json: all request lines have the 7 keys", bool(reqs), "")
    gz = [o for o in reqs if o.get("path") == "/style.css" and o.get("encoding") == "gzip"]
    t.eq("json: one gzip line for /style.css", len(gz), 1)
    if gz:
        o = gz[0]
        t.eq("json: method", o.get("method"), "GET")
        t.eq("json: status is the integer 200", o.get("status"), 200)
        t.eq("json: bytes = gzip body length", o.get("bytes"), len(g.body))
        t.check("json: duration_ms is a number >= 0",
                isinstance(o.get("duration_ms"), (int, float)) and o["duration_ms"] >= 0, o.get("duration_ms"))
        t.check("json: client is 127.0.0.1", "127.0.0.1" in str(o.get("client")), o.get("client"))
        ts = str(o.get("time"))
        ok = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ts)
        if ok:
            when = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            ok = abs(when - time.time()) < 120
        t.check("json: time is now, as UTC ISO 8601 with milliseconds", ok, ts)
    idn = [o for o in reqs if o.get("path") == "/style.css" and o.get("encoding") != "gzip"]
    t.check("json: identity line for /style.css with bytes = %d" % len(CSS),
            len(idn) == 1 and idn[0].get("bytes") == len(CSS), idn)
    if idn:
        t.check("json: identity encoding shown as identity/empty/null",
                idn[0].get("encoding") in ("identity", "", None, "-"), idn[0].get("encoding"))
    nf = [o for o in reqs if o.get("path") == "/missing-file.txt"]
    t.check("json: 404 line with status 404", len(nf) == 1 and nf[0].get("status") == 404, nf)


@t.case
def off_by_default_and_file():
    s = Site(FILES)
    srv = Server(s.root)
    traffic(srv)
    srv.stop_checked(t)
    t.check("no --log-requests: no access lines on stdout",
            "/style.css" not in srv.stdout() and "/missing-file.txt" not in srv.stdout(), srv.stdout()[-500:])
    logfile = os.path.join(s.parent, "access.log")
    srv = Server(s.root, config="[log]\naccess_log = %s\n" % logfile)
    srv.stop_checked(t, "access_log without requests")
    t.check("access_log set, request logging off: warned, nothing written",
            "is not written: request logging is off" in srv.stderr() + srv.stdout() and
            not os.path.exists(logfile), (srv.stderr() + srv.stdout())[-300:])
    open(logfile, "w").close()
    os.chmod(logfile, 0o666)
    os.chmod(s.parent, 0o777)
    srv = Server(s.root, config="[log]\nrequests = true\naccess_log = %s\n" % logfile)
    traffic(srv)
    # Lines are buffered, but reach the file within about a second while
    # the server runs (no new request needed to push them out).
    seen = False
    for _ in range(150):
        with open(logfile) as f:
            if "/missing-file.txt" in f.read():
                seen = True
                break
        time.sleep(0.02)
    t.check("[log] access_log: lines reach the file within 3 s while running", seen, "")
    # logrotate: the file is moved away, then SIGUSR1 (or SIGHUP) makes
    # nano-web open a new one at the configured path.
    rotated = []
    for n, sig in enumerate((signal.SIGUSR1, signal.SIGHUP), 1):
        os.rename(logfile, "%s.%d" % (logfile, n))
        rotated.append("%s.%d" % (logfile, n))
        srv.signal(sig)
        for _ in range(250):
            if os.path.exists(logfile):
                break
            time.sleep(0.02)
        srv.get("/after-rotate-%d.txt" % n)
        # its line is logged when libmicrohttpd reports the request complete,
        # which may come after the client has the answer: wait for it (lines
        # reach the file within about a second) before the next rotation
        for _ in range(150):
            try:
                with open(logfile) as f:
                    if "/after-rotate-%d.txt" % n in f.read():
                        break
            except OSError:
                pass
            time.sleep(0.02)
    t.check("still running after SIGUSR1 and SIGHUP", srv.alive(), srv.describe())
    modes = [oct(os.stat(f).st_mode & 0o777) for f in (rotated[1], logfile)]
    t.eq("files created by the reopens are 0640 (client addresses)", modes,
         [oct(0o640)] * 2)
    srv.stop_checked(t, "access_log server")
    with open(rotated[0]) as f:
        content = f.read()
    t.check("[log] access_log file gets the request lines",
            "/style.css" in content and "/missing-file.txt" in content, content[-500:])
    t.check("[log] access_log: lines not on stdout", "/missing-file.txt" not in srv.stdout(), srv.stdout()[-300:])
    t.check("SIGUSR1: the moved file gets no later line", "/after-rotate" not in content, content[-300:])
    logs = [open(f).read() for f in rotated[1:] + [logfile]]
    t.check("SIGUSR1 reopened: the next request went to the new file",
            "/after-rotate-1.txt" in logs[0] and "/after-rotate-2.txt" not in logs[0], logs[0][-300:])
    t.check("SIGHUP reopened: the next request went to the new file",
            "/after-rotate-2.txt" in logs[1] and "/after-rotate-1.txt" not in logs[1], logs[1][-300:])



@t.case
def write_errors_are_said():
    """A full disk loses access lines: the error log says so, once (not per
    line) while it lasts, and serving goes on."""
    s = Site(FILES)
    srv = Server(s.root, config="[log]\nrequests = true\naccess_log = /dev/full\n")
    for _ in range(3):
        traffic(srv)
        time.sleep(0.6)   # lines are flushed about once a second
    said = lambda: srv.stderr().count("access log /dev/full: write failed")
    t.check("write failure to the access log is logged",
            nwtest.wait_for(lambda: said() >= 1, timeout=5), srv.stderr()[-500:])
    t.check("... with its cause and what it means",
            "No space left on device" in srv.stderr() and
            "request lines are being lost" in srv.stderr(), srv.stderr()[-500:])
    for _ in range(3):
        traffic(srv)
        time.sleep(0.6)
    t.eq("... once a minute at most, not per flush", said(), 1)
    t.eq("still serving", srv.get("/index.html").status, 200)
    srv.stop_checked(t)


@t.case
def root_does_not_follow_a_symlinked_access_log():
    """Started as root, a symlink at access_log is refused: the log's
    directory is writable by [server] user, who could point it at a file
    root then appends to."""
    if os.geteuid() != 0:
        nwtest.skip_case(t, "needs root (how root opens the access log)")
    s = Site(FILES)
    target = os.path.join(s.parent, "target.txt")
    with open(target, "w") as f:
        f.write("untouched\n")
    link = os.path.join(s.parent, "access.log")
    os.symlink(target, link)
    ini = os.path.join(s.parent, "nw.ini")
    with open(ini, "w") as f:
        f.write("[log]\nrequests = true\naccess_log = %s\n" % link)
    rc, out, err = nwtest.run_cli(["serve", s.root, "--config", ini, "--port",
                                   str(nwtest.free_port()), "--listen", "127.0.0.1",
                                   "--xdp", "off"], timeout=8)
    t.check("exits 1 naming the symlink", rc == 1 and
            ("access log %s is a symbolic link" % link) in err, (rc, err[-400:]))
    with open(target) as f:
        t.eq("the link's target is untouched", f.read(), "untouched\n")



@t.case
def request_logging_keeps_auto_kernel_path_off():
    """The kernel's answers never reach nano-web, so they would be missing
    from the access log: with request logging on, --xdp auto does not start
    or use the kernel path, and says why."""
    s = Site(FILES)
    srv = Server(s.root, args=["--xdp", "auto", "--log-requests"])
    for _ in range(5):
        srv.get("/index.html")
    t.check("auto + request logging: the log says the kernel path is off and why",
            "kernel path off: request logging is on" in srv.stderr(), srv.stderr()[-600:])
    t.check("... and no helper is started or used",
            "nanoweb-xdpd" not in srv.stderr() and "connected to" not in srv.stderr(),
            srv.stderr()[-600:])
    t.check("every request is in the access log",
            nwtest.wait_for(lambda: srv.stdout().count("GET /index.html 200") == 5, timeout=5),
            srv.stdout()[-600:])
    srv.stop_checked(t)


EVIL = [b"/x%22y%0Ainjected-line%0D", b"/%1B[31mred", b"/q?a=%0Ainjected-query", b"/tab%09x\\y",
        b'/raw"quote',
        # not UTF-8; UTF-8 longer than the 1000 bytes logged (cut there)
        b"/\xff\xfe\xc3(bad", b"/" + "\u00e9".encode() * 600,
        # spaces: fields of a console line that must not be forged
        b"/a b 200 0 0.1ms 6.6.6.6 identity", b"/\x7f\xc2\x9b31m"]


def evil_requests(srv):
    for target in EVIL:
        srv.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    srv.raw(b"GET /ua HTTP/1.1\r\nHost: x\r\nUser-Agent: evil\"}\r\nConnection: close\r\n\r\n")


@t.case
def log_injection():
    s = Site(FILES)
    srv = Server(s.root, args=["--log-requests", "--log-format", "json"])
    evil_requests(srv)
    srv.stop_checked(t)
    objs, bad = json_lines(srv.stdout())
    t.eq("json: hostile paths still give one parseable JSON object per line", bad[:5], [])
    raw = open(srv.stdout_path, "rb").read()
    bad = []
    for ln in raw.splitlines():
        try:
            json.loads(ln.decode("utf-8"))
        except ValueError:
            bad.append(ln[:120])
    t.eq("json: every line is valid UTF-8 JSON (raw bytes)", bad[:3], [])
    t.check("json: the hostile requests were logged", len([o for o in objs if "path" in o]) >= len(EVIL), objs[-8:])
    srv = Server(s.root, args=["--log-requests"])
    evil_requests(srv)
    srv.stop_checked(t, "console server")
    out = srv.stdout()
    lines = out.splitlines()
    t.check("console: an encoded newline in the path does not start a new log line",
            not any(ln.startswith("injected") for ln in lines), out[-600:])
    t.check("console: no raw ESC or CR bytes from the request in the log", "\x1b" not in out and "\r" not in out,
            repr(out[-300:]))
    fields = [ln for ln in lines if len(ln.split(" ")) != 8]
    t.eq("console: 8 fields on every line (a target with spaces forges none)",
         fields[:3], [])
    t.check("console: DEL and C1 bytes escaped", "\x7f" not in out and "\u009b" not in out,
            repr(out[-300:]))
    # the method is a field too: its bytes above 0x7f are escaped like the path's
    srv = Server(s.root, args=["--log-requests"])
    r = nwtest.parse_raw(srv.raw(b"G\xc3\x89T /m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    t.eq("a method that is not a token: 400", r[0], 400)
    srv.stop_checked(t, "console server (method)")
    t.check("console: the method's bytes above 0x7f escaped",
            "G\\xc3\\x89T /m 400 " in srv.stdout(), srv.stdout()[-300:])


def json_lines(text):
    objs, bad = [], []
    for ln in text.splitlines():
        if not ln.strip():
            continue
        try:
            o = json.loads(ln)
            (objs if isinstance(o, dict) else bad).append(o if isinstance(o, dict) else ln)
        except ValueError:
            bad.append(ln)
    return objs, bad


@t.case
def log_level_and_format():
    s = Site(FILES)
    srv = Server(s.root, args=["--log-format", "json", "--log-level", "debug"])
    srv.get("/style.css")
    srv.stop_checked(t, "debug json server")
    objs, bad = json_lines(srv.stderr())
    t.eq("--log-format json: every stderr line is a JSON object", bad[:5], [])
    levels = {o.get("level") for o in objs}
    t.check("--log-level debug: info and debug messages present", {"info", "debug"} <= levels, levels)
    t.eq("libmicrohttpd's messages all go through our logger (it is the first option)",
         [o for o in objs if "not the first option" in str(o.get("msg", o))], [])
    srv = Server(s.root, args=["--log-format", "json", "--log-level", "error"])
    srv.get("/style.css")
    srv.get("/nope")
    srv.stop_checked(t, "error-level server")
    objs, bad = json_lines(srv.stderr())
    t.eq("--log-level error: nothing below error on stderr",
         [o for o in objs if o.get("level") in ("debug", "info", "warn", "warning")][:5] + bad[:5], [])
    srv = Server(s.root, config="[log]\nlevel = warn\nformat = json\n")
    srv.stop_checked(t, "INI warn server")
    objs, bad = json_lines(srv.stderr())
    t.eq("[log] level=warn format=json: JSON, no info/debug",
         [o for o in objs if o.get("level") in ("debug", "info")][:5] + bad[:5], [])


if __name__ == "__main__":
    t.main()
