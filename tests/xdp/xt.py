"""Test environment for the kernel fast path end-to-end tests.

The driver runs inside the client network namespace (started with
`nsenter --net=/run/netns/CLIENT python3 ...` by a tests/xdp/*.sh script, which made the
namespaces and removes them). Processes of the server side are started with
`nsenter --net=/run/netns/SERVER ...`; their pids go to $XT_PIDFILE so the shell's trap
can stop them whatever happens here.
"""
import json
import os
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def wait_until(fn, seconds, step=0.05):
    end = time.monotonic() + seconds
    while True:
        try:
            if fn():
                return True
        except Exception:
            pass
        if time.monotonic() >= end:
            return False
        time.sleep(step)


def tcp_open(host, port, timeout=0.5):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Checker:
    """Counts checks; prints the closing 'N passed, N failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = []
        self.skipped = 0

    def __call__(self, name, ok, info=""):
        print("%s: %s %s" % ("PASS" if ok else "FAIL", name, info), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed.append(name)
        return ok

    def skip(self, name, why):
        print("SKIP: %s (%s)" % (name, why), flush=True)
        self.skipped += 1

    def finish(self):
        if self.failed:
            print("failed checks:", flush=True)
            for f in self.failed:
                print("  - " + f, flush=True)
        line = "%d passed, %d failed" % (self.passed, len(self.failed))
        if self.skipped:
            line += ", %d skipped" % self.skipped
        print(line, flush=True)
        return 1 if self.failed else 0


class Env:
    def __init__(self):
        g = os.environ.get
        self.ns_s = g("XT_NS_S")
        self.ns_c = g("XT_NS_C")
        self.vs = g("XT_VS")
        self.vc = g("XT_VC")
        self.a4s, self.a4c = g("XT_A4S"), g("XT_A4C")
        self.a6s, self.a6c = g("XT_A6S"), g("XT_A6C")
        self.work = g("XT_WORK")
        self.pidfile = g("XT_PIDFILE")
        self.pin_dir = g("XT_PIN_DIR")
        self.pass_obj = g("XT_PASS_OBJ")
        self.loss_obj = g("XT_LOSS_OBJ")
        self.builddir = g("NW_BUILDDIR", os.getcwd())
        self.srcdir = g("NW_SRCDIR", os.path.dirname(os.path.dirname(HERE)))
        self.procs = []

    # processes ----------------------------------------------------------
    def in_s(self, argv):
        """argv run in the server's network namespace. nsenter switches the
        network namespace only: unlike `ip netns exec`, it keeps the mount
        namespace, so every process sees the same /sys/fs/bpf (a helper
        that restarts must find its predecessor's pins)."""
        if self.ns_s == self.ns_c:
            return argv
        return ["nsenter", "--net=/run/netns/" + self.ns_s] + argv

    def _record(self, pid):
        if self.pidfile:
            with open(self.pidfile, "a") as f:
                f.write("%d\n" % pid)

    def spawn_s(self, argv, name, env=None):
        """Starts argv in the server namespace; output to WORK/name.log."""
        log = open(os.path.join(self.work, name + ".log"), "ab")
        cmd = self.in_s(argv)
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env)
        log.close()
        p.nw_name = name
        self._record(p.pid)
        self.procs.append(p)
        return p

    def run_s(self, argv, timeout=30, check=False):
        cmd = self.in_s(argv)
        return subprocess.run(cmd, capture_output=True, timeout=timeout,
                              check=check, stdin=subprocess.DEVNULL)

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        """Signals p and waits; returns its exit status (None if it had to
        be killed)."""
        if p.poll() is not None:
            return p.returncode
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
            return None

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p, timeout=5)
        self.procs = []

    def log_of(self, name):
        try:
            with open(os.path.join(self.work, name + ".log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # client-side loss -----------------------------------------------------
    def _ip_c(self, *args):
        subprocess.run(["ip", "-force"] + list(args), check=True,
                       capture_output=True, timeout=20)

    def loss_on(self, obj=None):
        obj = obj or self.loss_obj
        self._ip_c("link", "set", "dev", self.vc, "xdpdrv", "obj", obj,
                   "sec", "xdp")
        subprocess.run(["tc", "qdisc", "replace", "dev", self.vc, "clsact"],
                       check=True, capture_output=True, timeout=20)
        subprocess.run(["tc", "filter", "replace", "dev", self.vc, "egress",
                        "pref", "1", "handle", "1", "bpf", "da", "obj", obj,
                        "sec", "tc"], check=True, capture_output=True,
                       timeout=20)

    def loss_off(self):
        subprocess.run(["tc", "qdisc", "del", "dev", self.vc, "clsact"],
                       capture_output=True, timeout=20)
        self._ip_c("link", "set", "dev", self.vc, "xdpdrv", "obj",
                   self.pass_obj, "sec", "xdp")

    def loss_counters(self):
        """{'xdp': (seen, dropped), 'tc': (seen, dropped)} of the loss
        programs on the client's veth end."""
        net = json.loads(subprocess.run(
            ["bpftool", "-j", "net", "show", "dev", self.vc],
            capture_output=True, timeout=20, check=True).stdout)[0]
        ids = {}
        for x in net.get("xdp", []):
            ids["xdp"] = x.get("id")
        for x in net.get("tc", []):
            if x.get("kind", "").endswith("egress"):
                ids["tc"] = x.get("id")
        out = {}
        for k, pid in ids.items():
            prog = json.loads(subprocess.run(
                ["bpftool", "-j", "prog", "show", "id", str(pid)],
                capture_output=True, timeout=20, check=True).stdout)
            vals = (0, 0)
            for mid in prog.get("map_ids", []):
                m = json.loads(subprocess.run(
                    ["bpftool", "-j", "map", "dump", "id", str(mid)],
                    capture_output=True, timeout=20, check=True).stdout)
                if m and "elements" in m[0]:
                    m = m[0]["elements"]
                v = []
                for el in m:
                    if "formatted" in el:
                        el = el["formatted"]
                    v.append(sum(int(c["value"]) for c in el["values"]))
                if len(v) >= 2:
                    vals = tuple(v[:2])
            out[k] = vals
        return out

    # sniffing on the server side ------------------------------------------
    def sniffer_s(self, port, direction="from", seconds=60):
        return RemoteSniffer(self, port, direction, seconds)


class RemoteSniffer:
    """nwx.Sniffer run in the server namespace (on its veth end)."""

    def __init__(self, env, port, direction, seconds):
        self.env = env
        self.out = os.path.join(env.work, "sniff-%d-%d.json"
                                % (port, int(time.monotonic() * 1000)))
        self.p = env.spawn_s(["timeout", str(seconds), "python3",
                              os.path.join(HERE, "nwx.py"), "sniff",
                              env.vs, str(port), direction, self.out],
                             "sniffer")
        wait_until(lambda: os.path.exists(self.out + ".ready"), 5)

    def stop(self):
        self.env.stop(self.p, signal.SIGINT, 5)
        try:
            with open(self.out) as f:
                return [tuple(x) for x in json.load(f)]
        except (OSError, ValueError):
            return []
