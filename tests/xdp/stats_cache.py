"""/_stats never waits for nanoweb-xdpd.

nano-web (one worker thread) against the fake helper of client.py. Checks:
/_stats does not open a connection to the helper of its own; the counters
are read on the push connection about once a second while /_stats is asked
for, not at all once nobody asked for 30 s; the first /_stats after such a
quiet period answers the old reading at once (its counters_age_ms says how
old) and the next ones a new one; with a helper that stops answering, an
unrelated request and several /_stats in flight all answer within 0.3 s,
and /_stats says "xdp": null once the connection is given up;
NANOWEB_STATS_WAIT_MS makes each /_stats wait for a reading of its own.

No root needed (as root nano-web is started as nobody).
"""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import client  # noqa: E402
import nwx  # noqa: E402
import xt  # noqa: E402

check = xt.Checker()
FAST = 0.3


class Helper(client.FakeHelper):
    """Counts STATS (its "hits" counter is their number); stalled, it
    receives everything and answers nothing, like a stopped helper."""

    def __init__(self, path):
        self.readings = 0
        self.stalled = False
        super().__init__(path)

    def handle(self, c, typ, seq, body):
        if self.stalled:
            return
        if typ == client.MSG["STATS"]:
            self.readings += 1
            vals = [self.readings] + list(range(2, 26))
            self.reply(c, seq, client.MSG["STATS_REPLY"],
                       client.struct.pack("=25Q", *vals))
            return
        super().handle(c, typ, seq, body)


def as_nobody():
    pw = pwd.getpwnam("nobody")
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)


class NanoWeb:
    def __init__(self, work, site, sock, name, wait_ms=None):
        self.port = client.free_port()
        ini = os.path.join(work, name + ".ini")
        with open(ini, "w") as f:
            f.write("[xdp]\nsocket = %s\niface = lo\n" % sock)
        os.chmod(ini, 0o644)
        env = dict(os.environ)
        env.pop("NANOWEB_STATS_WAIT_MS", None)
        if wait_ms:
            env["NANOWEB_STATS_WAIT_MS"] = str(wait_ms)
        self.log = os.path.join(work, name + ".log")
        self.logf = open(self.log, "wb")
        nanoweb = os.path.join(os.environ.get("NW_BUILDDIR", os.getcwd()),
                               "nano-web")
        if os.geteuid() == 0:
            # run as nobody: a copy, since the build tree may be in a
            # private directory (a clone in /root)
            copy = os.path.join(work, "nano-web")
            if not os.path.exists(copy):
                shutil.copy(nanoweb, copy)
                os.chmod(copy, 0o755)
            nanoweb = copy
        self.p = subprocess.Popen(
            [nanoweb, "serve", site, "--port", str(self.port), "--listen",
             "127.0.0.1", "--threads", "1", "--xdp", "auto", "--config", ini],
            stdout=self.logf, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=env,
            preexec_fn=as_nobody if os.geteuid() == 0 else None)

    def get(self, path, timeout=10):
        """(seconds, response or the exception)"""
        t0 = time.monotonic()
        try:
            r = nwx.fetch("127.0.0.1", self.port, "GET", path, timeout=timeout)
        except (nwx.HTTPError, OSError) as e:
            r = e
        return time.monotonic() - t0, r

    def xdp(self):
        return json.loads(self.get("/_stats")[1].body)["xdp"]

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.logf.close()


def parallel(nw, paths):
    """GETs all paths at once (the first after the others started): their
    durations, in order."""
    out = [None] * len(paths)

    def one(i):
        out[i] = nw.get(paths[i])

    ts = [threading.Thread(target=one, args=(i,)) for i in range(1, len(paths))]
    for t in ts:
        t.start()
    time.sleep(0.05)
    one(0)
    for t in ts:
        t.join(15)
    return [o[0] if o and not isinstance(o[1], Exception) else 99.0
            for o in out]


def cached(nw, fake):
    """The counters come from the push connection, once a second while
    watched, not at all after 30 s without /_stats."""
    ok = xt.wait_until(lambda: fake.last()[0] is not None, 15) and \
        xt.wait_until(lambda: nw.get("/_health")[1].status == 200, 10)
    check("session up and pushed", ok)
    conns = fake.conns
    x = nw.xdp() or {}
    check("/_stats: connected, the helper's counters and their age",
          x.get("connected") is True and x.get("hits", 0) >= 1 and
          x.get("cache_entries") == 13 and
          isinstance(x.get("counters_age_ms"), int) and
          x.get("pushed_responses", 0) > 0, "(%r)" % x)

    r0, t0, samples = fake.readings, time.monotonic(), []
    while time.monotonic() - t0 < 3.0:
        dt, r = nw.get("/_stats")
        samples.append((dt, json.loads(r.body)["xdp"]))
        time.sleep(0.05)
    n = fake.readings - r0
    ages = [(s[1] or {}).get("counters_age_ms") or 99999 for s in samples[5:]]
    check("watched for 3 s: %d /_stats, %d readings (one a second)"
          % (len(samples), n), 2 <= n <= 5)
    check("watched: counters at most ~1 s old (max %d ms)" % max(ages),
          max(ages) <= 1500)
    check("watched: every /_stats fast (max %.3f s)"
          % max(s[0] for s in samples), max(s[0] for s in samples) < FAST)
    check("no connection of its own per /_stats (%d, was %d)"
          % (fake.conns, conns), fake.conns == conns)

    # nobody asks: after the 30 s window no more readings
    time.sleep(31)
    r1 = fake.readings
    time.sleep(2.5)
    check("nobody asked for 33 s: no readings (%d more)" % (fake.readings - r1),
          fake.readings == r1)
    dt, r = nw.get("/_stats")
    x = json.loads(r.body)["xdp"] or {}
    # that reading is from 30 s after the last /_stats, >= 2.5 s ago
    check("first /_stats after the quiet period: at once, the old reading "
          "(%.3f s, age %r ms)" % (dt, x.get("counters_age_ms")),
          dt < FAST and x.get("counters_age_ms", 0) >= 2500 and
          x.get("hits") == r1)
    time.sleep(0.3)
    x = nw.xdp() or {}
    check("the next one: a new reading (age %r ms)" % x.get("counters_age_ms"),
          x.get("counters_age_ms", 99999) < 1000 and x.get("hits", 0) > r1)


def stalled(nw, fake):
    """A helper that stops answering stalls no request thread."""
    fake.stalled = True
    worst, t0 = [], time.monotonic()
    while time.monotonic() - t0 < 3.0:
        d = parallel(nw, ["/tiny.txt"] + ["/_stats"] * 8)
        worst.append((d[0], max(d[1:])))
        time.sleep(0.2)
    check("helper stalled: an unrelated request with 8 /_stats in flight "
          "(threads=1) stays fast (max %.3f s)" % max(w[0] for w in worst),
          max(w[0] for w in worst) < FAST)
    check("helper stalled: /_stats answers at once (max %.3f s)"
          % max(w[1] for w in worst), max(w[1] for w in worst) < FAST)
    # the push connection's 5 s timeout gives it up
    ok = xt.wait_until(lambda: nw.xdp() is None, 10, 0.2)
    dt, r = nw.get("/tiny.txt")
    check("helper stalled: /_stats says xdp null once the connection is "
          "given up, requests still fast", ok and dt < FAST and r.status == 200)


def wait_knob(work, site, sock):
    """NANOWEB_STATS_WAIT_MS: each /_stats has a reading of its own."""
    fake = Helper(sock)
    nw = NanoWeb(work, site, sock, "knob", wait_ms=2000)
    try:
        xt.wait_until(lambda: fake.last()[0] is not None, 15)
        xt.wait_until(lambda: nw.get("/_health")[1].status == 200, 10)
        hits = [(nw.xdp() or {}).get("hits") for _ in range(3)]
        check("NANOWEB_STATS_WAIT_MS: consecutive /_stats each read the "
              "counters anew (%r)" % hits,
              None not in hits and hits[0] < hits[1] < hits[2])
        check("NANOWEB_STATS_WAIT_MS is logged",
              "NANOWEB_STATS_WAIT_MS" in nw.text())
    finally:
        nw.stop()
        fake.close()


def main():
    work = tempfile.mkdtemp(prefix="nwx-stats.")
    os.chmod(work, 0o755)
    site = os.path.join(work, "site")
    os.makedirs(site)
    for name, body in (("index.html", "<p>stats</p>\n"), ("tiny.txt", "tiny\n")):
        with open(os.path.join(site, name), "w") as f:
            f.write(body)
        os.chmod(os.path.join(site, name), 0o644)
    os.chmod(site, 0o755)
    sock = os.path.join(work, "xdpd.sock")
    fake = Helper(sock)
    nw = NanoWeb(work, site, sock, "nanoweb")
    try:
        cached(nw, fake)
        stalled(nw, fake)
    except Exception:
        import traceback
        traceback.print_exc()
        check.failed.append("exception")
    finally:
        nw.stop()
        fake.close()
    try:
        wait_knob(work, site, sock)
    except Exception:
        import traceback
        traceback.print_exc()
        check.failed.append("exception")
    rc = check.finish()
    if rc:
        for name in ("nanoweb.log", "knob.log"):
            p = os.path.join(work, name)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    sys.stdout.write("--- %s\n%s" % (
                        name, f.read().decode("utf-8", "replace")[-3000:]))
    shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
