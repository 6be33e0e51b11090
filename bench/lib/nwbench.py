#!/usr/bin/python3
"""nano-web benchmark orchestrator (Python 3 standard library only).

Runs every scenario against every server, interleaved, for several rounds,
and writes results.json, results.md and chart.png under bench/results/.
Normally started by bench/run; `nwbench.py --help` lists the options.

Also has small helper subcommands that bench itself runs inside the client
network namespace: `probe`, `idle`, `pyload`, `health`.
"""
import argparse
import datetime
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
CONFIGS = os.path.join(BENCH, "configs")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
sys.path.insert(0, HERE)
import bpfstats  # noqa: E402

BROWSER_AE = "gzip, deflate, br, zstd"
# what a desktop browser sends to navigate to a page (~600 bytes): a
# request's size is what the kernel path's per-request hashing scales with
BROWSER_NAV = {
    "Connection": "keep-alive",
    "sec-ch-ua": '"Chromium";v="130", "Google Chrome";v="130", '
                 '"Not?A_Brand";v="99"',
    "sec-ch-ua-mobile": "?0",
    "sec-ch-ua-platform": '"Linux"',
    "Upgrade-Insecure-Requests": "1",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,"
              "image/avif,image/webp,image/apng,*/*;q=0.8,"
              "application/signed-exchange;v=b3;q=0.7",
    "Sec-Fetch-Site": "none",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-User": "?1",
    "Sec-Fetch-Dest": "document",
    "Accept-Encoding": BROWSER_AE,
    "Accept-Language": "en-US,en;q=0.9",
}

# a first visit: a new connection asks for the page, then its assets
PAGE_PATHS = ["/index.html", "/assets/style.css", "/assets/app.js"]

# name: (method, path, headers, expected status, notes)
SCENARIOS = [
    ("html_identity", "GET", "/index.html", {}, 200),
    ("html_gzip", "GET", "/index.html", {"Accept-Encoding": "gzip"}, 200),
    ("html_br", "GET", "/index.html", {"Accept-Encoding": "br, gzip"}, 200),
    ("html_browser", "GET", "/index.html", BROWSER_NAV, 200),
    ("js_compressed", "GET", "/assets/app.js", {"Accept-Encoding": BROWSER_AE}, 200),
    ("css_compressed", "GET", "/assets/style.css", {"Accept-Encoding": BROWSER_AE}, 200),
    ("blob_1m", "GET", "/blob.bin", {}, 200),
    ("head", "HEAD", "/index.html", {}, 200),
    ("not_found", "GET", "/no/such/page.html", {}, 404),
    # what a browser sends to revalidate a cached page: both validators
    ("revalidate_304", "GET", "/index.html", {"Accept-Encoding": BROWSER_AE,
                                              "If-None-Match": "@ETAG@",
                                              "If-Modified-Since": "@LASTMOD@"}, 304),
    ("fresh_conn", "GET", "/index.html", {"Connection": "close"}, 200),
    ("page_load", "GET", "@PAGE@", BROWSER_NAV, 200),
    ("many_files", "GET", "@SITE@", {}, 200),
    ("idle_1k", "GET", "/index.html", {}, 200),
]
SCENARIO_NAMES = [s[0] for s in SCENARIOS]
SCEN = {s[0]: s for s in SCENARIOS}
PEERS = ["nginx", "h2o", "lighttpd"]
NGINX_BROTLI = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so"
ALL_SERVERS = ["nano-web", "nano-web+xdp"] + PEERS

SRV_NS_ADDR = "10.77.0.1"
CLI_NS_ADDR = "10.77.0.2"


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# client-side helpers (also run as subcommands inside the client namespace)

def http_once(host, port, method, path, headers, timeout=5.0):
    """One request on a fresh connection; returns a dict (never raises)."""
    import http.client
    try:
        c = http.client.HTTPConnection(host, port, timeout=timeout)
        c.request(method, path, headers=headers)
        r = c.getresponse()
        body = r.read()
        out = {"status": r.status,
               "encoding": r.getheader("Content-Encoding") or "identity",
               "content_length": r.getheader("Content-Length"),
               "body_bytes": len(body),
               "etag": r.getheader("ETag"),
               "last_modified": r.getheader("Last-Modified"),
               "keep_alive": not r.will_close,
               "server": r.getheader("Server")}
        c.close()
        return out
    except Exception as e:  # noqa: BLE001
        return {"status": 0, "error": "%s: %s" % (type(e).__name__, e)}


def health_wait(host, port, path, timeout, proc=None):
    """Polls until `path` answers 200. Returns seconds waited or None."""
    t0 = time.monotonic()
    req = ("GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n" % path).encode()
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            return None
        try:
            s = socket.create_connection((host, port), timeout=1.0)
            s.sendall(req)
            data = s.recv(64)
            s.close()
            if data.startswith(b"HTTP/1.") and data[9:12] == b"200":
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.005)
    return None


def pyload(host, port, method, path, headers, duration, paths=None, per_conn=False):
    """Tiny keep-alive load generator (smoke mode): one connection, as many
    requests as fit in `duration` seconds; reconnects when the server closes.
    per_conn: each connection asks for `paths` once, in order, and is then
    reset (as nwload -S)."""
    import http.client
    lat = []
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    nbytes = 0
    c = None
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < duration:
        p = paths[i % len(paths)] if paths else path
        i += 1
        try:
            if c is None:
                c = http.client.HTTPConnection(host, port, timeout=5)
            t1 = time.monotonic()
            c.request(method, p, headers=headers)
            r = c.getresponse()
            body = r.read()
            lat.append((time.monotonic() - t1) * 1e6)
            nbytes += len(body)
            if r.status >= 400:
                errors["status"] += 1
            if per_conn and i % len(paths) == 0:
                if c.sock is not None:
                    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
                c.close()
                c = None
            elif r.will_close:
                c.close()
                c = None
        except (OSError, http.client.HTTPException):
            errors["read"] += 1
            if c is not None:
                c.close()
            c = None
            if per_conn:
                i = 0  # a new connection starts a new page
    dur = time.monotonic() - t0
    lat.sort()

    def pct(q):
        return lat[min(len(lat) - 1, int(len(lat) * q))] if lat else 0
    return {"requests": len(lat), "duration_us": int(dur * 1e6), "bytes": nbytes,
            "errors": errors,
            "lat_us": {"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99),
                       "max": lat[-1] if lat else 0,
                       "mean": statistics.fmean(lat) if lat else 0}}


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def idle_main(host, port, n, path):
    """Opens n keep-alive connections, completes one request on each, prints
    READY {json}, waits for a line on stdin, then prints how many are still
    open."""
    limit = raise_nofile()
    n = min(n, max(0, limit - 64))
    req = ("GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path).encode()
    socks = []
    failed = 0
    t0 = time.monotonic()
    for _ in range(n):
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(req)
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = s.recv(65536)
                if not d:
                    raise OSError("closed")
                buf += d
            head, _, rest = buf.partition(b"\r\n\r\n")
            m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            need = int(m.group(1)) if m else 0
            while len(rest) < need:
                d = s.recv(65536)
                if not d:
                    raise OSError("closed")
                rest += d
            if not head.startswith(b"HTTP/1.1 200"):
                raise OSError("status " + head[:20].decode("latin1"))
            socks.append(s)
        except OSError:
            failed += 1
    print("READY " + json.dumps({"opened": len(socks), "failed": failed,
                                 "open_s": round(time.monotonic() - t0, 3)}), flush=True)
    sys.stdin.readline()
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            d = s.recv(1)
            if d:
                alive += 1
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
        s.close()
    print("DONE " + json.dumps({"opened": len(socks), "failed": failed, "alive_at_end": alive}),
          flush=True)


# --------------------------------------------------------------------------
# /proc accounting

def proc_tree(root):
    """root pid and all its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def proc_cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return None
    f = st[st.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])  # utime + stime


def proc_status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pids_mentioning(text):
    """Processes whose command line mentions text (the helper nano-web starts
    may be detached from its process tree, but is given our private paths)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if text.encode() in f.read():
                        out.append(int(d))
            except OSError:
                pass
    return out


def reset_hwm(pids):
    for p in pids:
        try:
            with open("/proc/%d/clear_refs" % p, "w") as f:
                f.write("5")
        except OSError:
            pass


def stat_ticks():
    """(busy, steal, all) ticks of the whole machine from /proc/stat. Steal
    (time the hypervisor gave this VM's CPUs to someone else) is not busy:
    it is reported apart, as a sign of a noisy host."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]] + [0] * 8
    idle = v[3] + v[4]
    return sum(v[:7]) - idle, v[7], sum(v[:8])


def machine_ticks():
    return stat_ticks()[0]


class Meter:
    """CPU (machine, server tree) and peak RSS around one load run."""

    def __init__(self, root_pid):
        self.root = root_pid

    def start(self):
        self.pids = proc_tree(self.root)
        reset_hwm(self.pids)
        self.p0 = {p: proc_cpu_ticks(p) for p in self.pids}
        self.m0 = stat_ticks()
        self.t0 = time.monotonic()

    def stop(self):
        m1 = stat_ticks()
        pids = proc_tree(self.root)
        srv = 0
        for p in pids:
            t = proc_cpu_ticks(p)
            if t is None:
                continue
            srv += t - (self.p0.get(p) or 0)
        hwm = sum(proc_status_kb(p, "VmHWM") for p in pids)
        rss = sum(proc_status_kb(p, "VmRSS") for p in pids)
        every = m1[2] - self.m0[2]
        return {"machine_cpu_s": (m1[0] - self.m0[0]) / CLK_TCK, "server_cpu_s": srv / CLK_TCK,
                "steal_pct": round(100.0 * (m1[1] - self.m0[1]) / every, 2) if every > 0 else None,
                "peak_rss_kb": hwm, "rss_kb": rss, "nprocs": len(pids),
                "wall_s": time.monotonic() - self.t0}


def xdp_prog_stats():
    """{prog id: (run_time_ns, run_cnt, name, pids, type)} for every loaded
    XDP and TC (sched_cls) program: the kernel path runs both."""
    bt = shutil.which("bpftool")
    if not bt:
        return {}
    try:
        out = subprocess.run([bt, "-j", "prog", "show"], capture_output=True, text=True,
                             timeout=10).stdout
        progs = json.loads(out or "[]")
    except (subprocess.SubprocessError, ValueError):
        return {}
    return {p["id"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0), p.get("name", ""),
                      [x.get("pid") for x in p.get("pids", [])], p.get("type"))
            for p in progs if p.get("type") in ("xdp", "sched_cls")}


# --------------------------------------------------------------------------
# environment

def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def version_of(name, nano_web):
    try:
        if name == "nginx":
            return sh(["nginx", "-v"]).stderr.strip().replace("nginx version: ", "")
        if name == "h2o":
            return sh(["h2o", "--version"]).stdout.splitlines()[0]
        if name == "lighttpd":
            return sh(["lighttpd", "-v"]).stdout.splitlines()[0]
        if name == "wrk":
            r = sh(["wrk", "-v"])
            return (r.stdout + r.stderr).splitlines()[0]
        if name.startswith("nano-web"):
            r = sh([nano_web, "version"])
            return (r.stdout + r.stderr).strip().splitlines()[0] if (r.stdout + r.stderr).strip() else "?"
    except (OSError, IndexError):
        return None
    return None


def machine_info():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = proc_status_kb  # silence linters
    memtotal = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                memtotal = int(line.split()[1])
    osname = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    del mem
    return {"cpu_model": model, "cores": os.cpu_count(), "kernel": platform.release(),
            "mem_gib": round(memtotal / 1048576, 1), "os": osname,
            "loadavg_at_start": open("/proc/loadavg").read().split()[:3]}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def fill(template, out, values):
    with open(os.path.join(CONFIGS, template)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("@%s@" % k, str(v))
    with open(out, "w") as f:
        f.write(text)
    return out


# --------------------------------------------------------------------------
# network namespaces

class Netns:
    """Where one server runs, and its clients. "veth": a server and a client
    namespace joined by a veth pair; "lo": one namespace, server and clients
    on its loopback. Every server gets its own on each transport, so
    nothing one leaves behind reaches another: nano-web+xdp's XDP and TC
    programs (generic XDP on a shared loopback made lighttpd's new
    connections wait ~40 ms each; XDP on one veth end takes GSO away from
    the other), nor the sockets, TIME_WAITs and port use of the
    new-connection scenarios (in a shared pair the server measured last
    after fresh_conn sometimes fell to a third, and in page_load to a
    twentieth, 2026-11-30)."""

    def __init__(self, kind, group, index):
        tag = "%d" % (os.getpid() % 100000)
        self.kind, self.group = kind, group
        base = "nwb-%s-%s-%s" % (kind, re.sub(r"[^a-z0-9]", "", group), tag)
        self.srv = base + "-srv" if kind == "veth" else base
        self.cli = base + "-cli" if kind == "veth" else base
        self.sif, self.cif = "nwbs%s%d" % (tag, index), "nwbc%s%d" % (tag, index)
        self.created = []
        self.napi = None

    def setup(self, work=None):
        if self.kind == "lo":
            cmds = [["ip", "netns", "add", self.srv],
                    ["ip", "-n", self.srv, "link", "set", "lo", "up"]]
        else:
            cmds = [
                ["ip", "netns", "add", self.srv], ["ip", "netns", "add", self.cli],
                ["ip", "link", "add", self.sif, "type", "veth", "peer", "name", self.cif],
                ["ip", "link", "set", self.sif, "netns", self.srv],
                ["ip", "link", "set", self.cif, "netns", self.cli],
                ["ip", "-n", self.srv, "addr", "add", SRV_NS_ADDR + "/24", "dev", self.sif],
                ["ip", "-n", self.cli, "addr", "add", CLI_NS_ADDR + "/24", "dev", self.cif],
                ["ip", "-n", self.srv, "link", "set", "lo", "up"],
                ["ip", "-n", self.cli, "link", "set", "lo", "up"],
                ["ip", "-n", self.srv, "link", "set", self.sif, "up"],
                ["ip", "-n", self.cli, "link", "set", self.cif, "up"],
            ]
        for c in cmds:
            r = sh(c)
            if r.returncode != 0:
                raise RuntimeError("%s: %s" % (" ".join(c), r.stderr.strip()))
            if c[:3] == ["ip", "netns", "add"]:
                self.created.append(c[3])
        if self.kind == "veth":
            self.napi = self.client_napi(work)
        sh(["ip", "netns", "exec", self.srv, "sysctl", "-qw", "net.ipv4.tcp_syncookies=1"])
        self.agent = Agent(self)

    def client_napi(self, work):
        """NAPI on the client end, the same in every pair: XDP_TX on veth
        needs it, or the kernel path's answers are silently dropped. An
        XDP_PASS program there gives it (it also takes GSO away from the
        servers' end); GRO on (ethtool), the fallback, gave none for the
        kernel path's answers on 6.18."""
        clang = shutil.which("clang")
        if clang and work:
            src = os.path.join(work, "xdp_pass.c")
            obj = os.path.join(work, "xdp_pass.o")
            with open(src, "w") as f:
                f.write('/* XDP_PASS is 2; no headers needed */\n'
                        '__attribute__((section("xdp"), used)) int pass(void *c) '
                        '{ return 2; }\n'
                        'char _l[] __attribute__((section("license"), used)) = "GPL";\n')
            r = sh([clang, "-O2", "-g", "-target", "bpf", "-c", src, "-o", obj])
            if r.returncode == 0:
                r = sh(["ip", "-n", self.cli, "link", "set", "dev", self.cif, "xdpdrv",
                        "obj", obj, "sec", "xdp"])
                if r.returncode == 0:
                    return "XDP_PASS program on the client veth"
        if shutil.which("ethtool"):
            r = sh(["ip", "netns", "exec", self.cli, "ethtool", "-K", self.cif, "gro", "on"])
            if r.returncode == 0:
                return "GRO on the client veth"
        return "none"

    def cleanup(self):
        if getattr(self, "agent", None):
            self.agent.close()
            self.agent = None
        while self.created:
            sh(["ip", "netns", "del", self.created.pop()])


# --------------------------------------------------------------------------
# servers

class Server:
    def __init__(self, name, transport, opts, work, netns):
        self.name, self.transport, self.opts, self.netns = name, transport, opts, netns
        self.id = name if transport == "lo" else "%s@%s" % (name, transport)
        self.prefix = os.path.join(work, "srv-" + self.id.replace("@", "-").replace("+", "-"))
        os.makedirs(os.path.join(self.prefix, "tmp"), exist_ok=True)
        os.chmod(self.prefix, 0o755)
        self.host = SRV_NS_ADDR if transport == "veth" else "127.0.0.1"
        # None: the host's own namespace (lo without root)
        self.port = free_port()
        self.proc = None
        self.xdp_ids = []
        self.start_s = None
        self.health_path = "/_health" if name.startswith("nano-web") else "/index.html"
        self.agent = netns.agent if netns else None

    def ns_prefix(self):
        ns = ["ip", "netns", "exec", self.netns.srv] if self.netns else []
        return ns + pin_prefix("server")

    def command(self, root):
        o, t = self.opts, self.opts.threads
        v = {"ROOT": root, "LISTEN": self.host, "PORT": self.port, "THREADS": t,
             "PREFIX": self.prefix}
        root_user = os.geteuid() == 0
        if self.name == "nginx":
            v["USER"] = "user nobody nogroup;" if root_user else ""
            v["LOAD_MODULES"] = ""
            v["BROTLI"] = ""
            mod = NGINX_BROTLI
            if os.path.exists(mod):
                v["LOAD_MODULES"] = "load_module %s;" % mod
                v["BROTLI"] = "    brotli_static on;"
            conf = fill("nginx.conf.in", os.path.join(self.prefix, "nginx.conf"), v)
            return ["nginx", "-p", self.prefix + "/", "-e", self.prefix + "/error.log", "-c", conf]
        if self.name == "h2o":
            v["USER"] = "user: nobody" if root_user else ""
            if root_user:  # h2o writes its pid file after dropping to nobody
                import pwd
                pw = pwd.getpwnam("nobody")
                os.chown(self.prefix, pw.pw_uid, pw.pw_gid)
            conf = fill("h2o.conf.in", os.path.join(self.prefix, "h2o.conf"), v)
            return ["h2o", "-c", conf]
        if self.name == "lighttpd":
            v["WORKERS"] = "server.max-worker = %d" % t if t > 1 else ""
            os.makedirs(os.path.join(self.prefix, "deflate-cache"), exist_ok=True)
            conf = fill("lighttpd.conf.in", os.path.join(self.prefix, "lighttpd.conf"), v)
            return ["lighttpd", "-D", "-f", conf]
        cmd = [o.nano_web, "serve", root, "--port", str(self.port), "--listen", self.host,
               "--threads", str(t)]
        if self.name == "nano-web":
            return cmd + ["--xdp", "off"]
        # nano-web+xdp
        iface = self.netns.sif if self.transport == "veth" else "lo"
        attach = "native" if self.transport == "veth" else "generic"
        ini = fill("nano-web-xdp.ini.in", os.path.join(self.prefix, "nanoweb.ini"),
                   {"IFACE": iface, "ATTACH": attach, "PREFIX": self.prefix,
                    "PIN_DIR": "/sys/fs/bpf/nanoweb-bench-%d-%s" % (os.getpid(), self.transport)})
        return cmd + ["--config", ini, "--xdp", "on", "--xdp-iface", iface]

    def start(self, root, timeout):
        before = xdp_prog_stats() if self.name == "nano-web+xdp" else {}
        cmd = self.ns_prefix() + self.command(root)
        self.logf = open(os.path.join(self.prefix, "stdout.log"), "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.start_s = client_health(self, timeout)
        if self.start_s is None:
            err = self.tail_log()
            self.stop()
            raise RuntimeError("%s did not become ready (%s)%s" % (
                self.id, " ".join(cmd), ("\n" + err) if err else ""))
        self.start_s = time.monotonic() - t0
        if self.name == "nano-web+xdp":
            time.sleep(0.3)  # let the helper publish the snapshot
            after = xdp_prog_stats()
            mine = set(proc_tree(self.proc.pid)) | set(pids_mentioning(self.prefix))
            # new XDP programs held by this server's process tree (other
            # tests on the machine may load theirs meanwhile)
            self.xdp_ids = [i for i in after if i not in before
                            and (not after[i][3] or mine.intersection(after[i][3]))]
            if not self.xdp_ids:  # could not tell whose: take every new one
                self.xdp_ids = [i for i in after if i not in before]
        return self.start_s

    def tail_log(self):
        out = []
        for n in ("stdout.log", "error.log"):
            p = os.path.join(self.prefix, n)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    data = f.read()[-1500:].decode("utf8", "replace").strip()
                if data:
                    out.append("%s:\n%s" % (n, data))
        return "\n".join(out)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.proc.wait(5)
        # nginx workers may outlive a killed master by a moment
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc = None
        self.logf.close()


# --pin: CPU lists (taskset syntax) for the servers and the load generators
PIN = {"server": None, "client": None}


def pin_prefix(role):
    return ["taskset", "-c", PIN[role]] if PIN[role] else []


def client_prefix(srv):
    ns = ["ip", "netns", "exec", srv.netns.cli] if srv.netns else []
    return ns + pin_prefix("client")


class Agent:
    """A helper process in the client namespace that runs probes, health
    checks and the Python load generator (saves a Python start per call)."""

    def __init__(self, netns):
        self.p = subprocess.Popen(["ip", "netns", "exec", netns.cli, sys.executable, __file__,
                                   "agent"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)

    def call(self, op, *args):
        self.p.stdin.write(json.dumps([op] + list(args)) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("client agent died")
        return json.loads(line)

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()


def agent_main():
    ops = {"probe": http_once, "health": health_wait, "pyload": pyload}
    for line in sys.stdin:
        a = json.loads(line)
        try:
            r = ops[a[0]](*a[1:])
        except Exception as e:  # noqa: BLE001
            r = {"error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(r), flush=True)


def client_health(srv, timeout):
    if srv.agent is None:
        return health_wait(srv.host, srv.port, srv.health_path, timeout, srv.proc)
    # short slices, so a server that died is noticed
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        r = srv.agent.call("health", srv.host, srv.port, srv.health_path, 0.5)
        if r is not None:
            return r
        if not srv.alive():
            return None
    return None


def client_probe(srv, method, path, headers):
    if srv.agent is None:
        return http_once(srv.host, srv.port, method, path, headers)
    return srv.agent.call("probe", srv.host, srv.port, method, path, headers)


# --------------------------------------------------------------------------
# one measurement

def request_for(scn, probe, site_paths):
    name, method, path, headers, expect = SCEN[scn]
    headers = dict(headers)
    if path == "@SITE@":
        path = site_paths[0]
    elif path == "@PAGE@":
        path = PAGE_PATHS[0]
    for k, v in list(headers.items()):
        if v == "@ETAG@":
            headers[k] = probe.get("etag") or '"none"'
        elif v == "@LASTMOD@":
            if probe.get("last_modified"):
                headers[k] = probe["last_modified"]
            else:
                del headers[k]
    return method, path, headers, expect


CROSS_SCENARIO = "html_br"


def cross_check_wrk(running, o, scenarios):
    """The load generator's share of the figures, made visible: in a full
    run with nwload, one more load of CROSS_SCENARIO per server with wrk
    (same connections and threads, no CPU or latency figures). Listed
    beside nwload's median in results.md."""
    if o.smoke or o.loadgen != "nwload" or CROSS_SCENARIO not in scenarios \
            or not shutil.which("wrk"):
        return []
    o2 = argparse.Namespace(**vars(o))
    o2.loadgen = "wrk"
    method, path, headers, _ = request_for(CROSS_SCENARIO, {}, [])
    out = []
    for srv in running:
        try:
            r = run_load(srv, CROSS_SCENARIO, o2, method, path, headers, None,
                         o.connections)
            rps = r["requests"] / (r["duration_us"] / 1e6) if r.get("duration_us") else None
            out.append({"server": srv.id, "scenario": CROSS_SCENARIO, "rps": rps})
            log("wrk cross-check %-22s %10s req/s" % (srv.id, fmt(rps)))
        except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as e:
            out.append({"server": srv.id, "scenario": CROSS_SCENARIO, "error": str(e)})
    return out


def build_nwload(work):
    """Compiles bench/lib/nwload.c (HEAD-capable, sub-second) into work."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    out = os.path.join(work, "nwload")
    r = sh([cc, "-O2", "-pthread", "-o", out, os.path.join(HERE, "nwload.c")])
    if r.returncode != 0:
        log("nwload did not compile: " + r.stderr[-500:])
        return None
    return out


def loadgen_for(o, scn):
    # wrk and h2load wait for a body after a HEAD response with a
    # Content-Length, so HEAD is always loaded with nwload; wrk's
    # connections share their thread's request(), so it cannot load one
    # page per connection either
    if o.loadgen == "wrk" and scn in ("head", "page_load") and o.nwload:
        return "nwload"
    return o.loadgen


def run_load(srv, scn, o, method, path, headers, pathlist, conns, per_conn=False):
    """Runs the load generator; returns the parsed NWBENCH dict or raises.
    pathlist: a file of paths to cycle through or, per_conn, for each
    connection to ask for once, in order."""
    lg = loadgen_for(o, scn)
    if lg == "nwload":
        cmd = client_prefix(srv) + [o.nwload, "-c", str(conns), "-d", "%.3f" % o.duration,
                                    "-t", str(o.wrk_threads), "-m", method]
        for kv in headers.items():
            cmd += ["-H", "%s: %s" % kv]
        if pathlist:
            cmd += ["-P", pathlist] + (["-S"] if per_conn else [])
        cmd += [srv.host, str(srv.port), path]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=o.duration + 20)
        for line in r.stdout.splitlines():
            if line.startswith("NWBENCH "):
                return json.loads(line[8:])
        raise RuntimeError("nwload failed (rc %d): %s" % (r.returncode, r.stderr[-300:]))
    if lg == "py":
        if srv.agent is None:
            paths = None
            if pathlist:
                with open(pathlist) as f:
                    paths = [x for x in f.read().split() if x]
            return pyload(srv.host, srv.port, method, path, headers, o.duration, paths,
                          per_conn)
        paths = None
        if pathlist:
            with open(pathlist) as f:
                paths = [x for x in f.read().split() if x]
        r = srv.agent.call("pyload", srv.host, srv.port, method, path, headers, o.duration, paths,
                           per_conn)
        if "error" in r:
            raise RuntimeError(r["error"])
        return r
    env = dict(os.environ, NWB_METHOD=method, NWB_PATH=path,
               NWB_HEADERS="|".join("%s: %s" % kv for kv in headers.items()),
               NWB_PATHLIST=pathlist or "")
    dur = max(1, int(round(o.duration)))
    cmd = client_prefix(srv) + ["wrk", "-t", str(o.wrk_threads), "-c", str(conns),
                                "-d", "%ds" % dur, "--timeout", "5s",
                                "-s", os.path.join(HERE, "wrk.lua"),
                                "http://%s:%d%s" % (srv.host, srv.port, path)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=dur + 20)
    for line in r.stdout.splitlines():
        if line.startswith("NWBENCH "):
            return json.loads(line[8:])
    raise RuntimeError("wrk failed (rc %d): %s %s" % (r.returncode, r.stdout[-300:], r.stderr[-300:]))


def uncompressed(method, path, headers, probe):
    """True when a compressible file asked for with gzip or br came back
    uncompressed: every server here is configured to compress it."""
    ae = headers.get("Accept-Encoding", "").lower()
    return (method == "GET" and probe.get("status") == 200
            and path.endswith((".html", ".css", ".js"))
            and ("gzip" in ae or "br" in ae)
            and probe.get("encoding") == "identity")


def measure(srv, scn, o, site_paths, pathlist, pagelist):
    rec = {"server": srv.id, "scenario": scn, "transport": srv.transport}
    if not srv.alive():
        rec["error"] = "server not running"
        return rec
    base = client_probe(srv, "GET", "/index.html", {})
    if base.get("status") == 0:
        # no answer at all: loading it would only wait for timeouts
        rec["probe"] = base
        rec["error"] = "no answer to GET /index.html: %s" % base.get("error")
        rec["probe_mismatch"] = rec["error"]
        return rec
    validators = base
    sh = SCEN[scn][3]
    if "@ETAG@" in sh.values() and "Accept-Encoding" in sh:
        # a browser revalidates the representation it holds: the one its
        # Accept-Encoding got (nano-web, nginx and h2o tag each coding)
        v = client_probe(srv, "GET", SCEN[scn][2],
                         {"Accept-Encoding": sh["Accept-Encoding"]})
        if v.get("status") == 200:
            validators = v
    method, path, headers, expect = request_for(scn, validators, site_paths)
    probe = client_probe(srv, method, path, {k: v for k, v in headers.items() if k != "Connection"})
    rec["probe"] = probe
    rec["expect_status"] = expect
    if probe.get("status") != expect:
        rec["probe_mismatch"] = "%s %s %s: expected %d, got %s" % (
            method, path, json.dumps(headers), expect, probe.get("status") or probe.get("error"))
    elif uncompressed(method, path, headers, probe):
        # a peer whose compression is not set up serves fewer CPU cycles
        # and more bytes: a different benchmark (lighttpd without
        # lighttpd-mod-deflate ignores every deflate.* key)
        rec["probe_mismatch"] = "%s %s with Accept-Encoding: %s: answered identity, " \
            "its compression is not working" % (method, path, headers["Accept-Encoding"])
    conns = o.connections
    if o.smoke and scn == "blob_1m":
        # 32 x 1 MiB in flight would not finish one answer within the
        # smoke's fraction of a second (an ASan build over veth)
        conns = 2
    idle = None
    if scn == "idle_1k":
        conns = o.busy_connections
        idle = subprocess.Popen(client_prefix(srv) + [
            sys.executable, __file__, "idle", srv.host, str(srv.port), str(o.idle_connections),
            "/index.html"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = idle.stdout.readline()
        rec["idle"] = json.loads(line[6:]) if line.startswith("READY ") else {"error": line}
    meter = Meter(srv.proc.pid)
    xdp0 = xdp_prog_stats() if srv.xdp_ids else {}
    meter.start()
    try:
        res = run_load(srv, scn, o, method, path, headers,
                       pathlist if scn == "many_files" else
                       pagelist if scn == "page_load" else None, conns,
                       per_conn=scn == "page_load")
    except (RuntimeError, ValueError, subprocess.SubprocessError) as e:
        rec["error"] = str(e)
        res = None
    m = meter.stop()
    if idle is not None:
        try:
            idle.stdin.write("\n")
            idle.stdin.flush()
            line = idle.stdout.readline()
            if line.startswith("DONE "):
                rec["idle"] = json.loads(line[5:])
            idle.wait(10)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            idle.kill()
    if res is None:
        return rec
    n = res["requests"]
    dur = res["duration_us"] / 1e6
    rec.update({
        "requests": n, "duration_s": round(dur, 3),
        "rps": round(n / dur, 1) if dur > 0 else 0,
        "p50_ms": res["lat_us"]["p50"] / 1000, "p99_ms": res["lat_us"]["p99"] / 1000,
        "bytes": res["bytes"], "errors": res["errors"],
        "machine_cpu_s_per_1k": round(m["machine_cpu_s"] / n * 1000, 5) if n else None,
        "server_cpu_s_per_1k": round(m["server_cpu_s"] / n * 1000, 5) if n else None,
        "peak_rss_kb": m["peak_rss_kb"], "server_procs": m["nprocs"],
        "steal_pct": m["steal_pct"],
    })
    if srv.xdp_ids:
        # The kernel path's work is done by its BPF programs, outside any
        # process: their run time counts as server CPU.
        xdp1 = xdp_prog_stats()
        per = {"xdp": [0, 0], "sched_cls": [0, 0]}
        for i in srv.xdp_ids:
            if i in xdp0 and i in xdp1:
                per[xdp1[i][4]][0] += xdp1[i][0] - xdp0[i][0]
                per[xdp1[i][4]][1] += xdp1[i][1] - xdp0[i][1]
        ns, cnt = per["xdp"]
        tns, tcnt = per["sched_cls"]
        rec["xdp_packets"] = cnt
        rec["xdp_ns_per_packet"] = round(ns / cnt, 1) if cnt else None
        rec["tc_packets"] = tcnt
        rec["tc_ns_per_packet"] = round(tns / tcnt, 1) if tcnt else None
        if n:
            rec["bpf_cpu_s_per_1k"] = round((ns + tns) / 1e9 / n * 1000, 5)
            rec["server_cpu_s_per_1k"] = round(
                (m["server_cpu_s"] + (ns + tns) / 1e9) / n * 1000, 5)
    if not srv.alive():
        rec["error"] = "server died during the run"
    return rec


def memfd_kb(pid):
    """What nano-web holds in sealed memfds (bodies of 256 KiB or more, not
    in its RSS until mapped in): the sum of their sizes, each file once."""
    d = "/proc/%d/fd" % pid
    sizes = {}
    try:
        names = os.listdir(d)
    except OSError:
        return None
    for fd in names:
        try:
            if os.readlink(os.path.join(d, fd)).startswith("/memfd:nano-web body"):
                st = os.stat(os.path.join(d, fd))
                sizes[st.st_ino] = st.st_size
        except OSError:
            pass
    return sum(sizes.values()) // 1024


def startup_probe(o, root, label, timeout):
    """nano-web's time from exec to the first 200 on /_health, and its memory."""
    port = free_port()
    prefix = tempfile.mkdtemp(prefix="startup-", dir=o.work)
    logf = open(os.path.join(prefix, "stdout.log"), "wb")
    cmd = [o.nano_web, "serve", root, "--port", str(port), "--listen", "127.0.0.1",
           "--threads", str(o.threads), "--xdp", "off"]
    m0 = machine_ticks()
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    s = health_wait("127.0.0.1", port, "/_health", timeout, p)
    out = {"site": label, "root": root}
    if s is None:
        out["error"] = ("exited with %s" % p.poll()) if p.poll() is not None else (
            "not ready after %ds" % timeout)
    else:
        out["startup_s"] = round(time.monotonic() - t0, 4)
        out["cpu_s"] = proc_cpu_ticks(p.pid) / CLK_TCK
        out["machine_cpu_s"] = (machine_ticks() - m0) / CLK_TCK
        out["rss_kb"] = proc_status_kb(p.pid, "VmRSS")
        out["peak_rss_kb"] = proc_status_kb(p.pid, "VmHWM")
        out["memfd_kb"] = memfd_kb(p.pid)
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(10)
    except (OSError, subprocess.TimeoutExpired):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        p.wait()
    logf.close()
    if "error" in out:
        with open(os.path.join(prefix, "stdout.log"), "rb") as f:
            tail = f.read()[-300:].decode("utf8", "replace").strip()
        if tail:
            out["error"] += ": " + tail.replace("\n", " / ")
    return out


def tree_stats(root):
    n = size = 0
    for d, _, files in os.walk(root):
        for f in files:
            n += 1
            size += os.path.getsize(os.path.join(d, f))
    return n, size


# --------------------------------------------------------------------------
# reporting

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(records):
    groups = {}
    for r in records:
        groups.setdefault((r["server"], r["scenario"]), []).append(r)
    out = {}
    for k, rs in groups.items():
        ok = [r for r in rs if "rps" in r]
        s = {"rounds": len(rs), "ok_rounds": len(ok)}
        for f in ("rps", "p50_ms", "p99_ms", "machine_cpu_s_per_1k", "server_cpu_s_per_1k",
                  "peak_rss_kb", "xdp_ns_per_packet", "tc_ns_per_packet", "bpf_cpu_s_per_1k",
                  "requests"):
            s[f] = median([r.get(f) for r in ok])
        rps = [r["rps"] for r in ok if r.get("rps")]
        # how far the rounds disagree: the run's own measure of its noise
        s["round_spread"] = round(max(rps) / min(rps), 3) if len(rps) > 1 else None
        s["errors"] = sorted({r["error"] for r in rs if r.get("error")})
        mism = sorted({r["probe_mismatch"] for r in rs if r.get("probe_mismatch")})
        if mism:
            s["probe_mismatch"] = mism
        p = next((r["probe"] for r in rs if r.get("probe")), {})
        s["status"] = p.get("status")
        s["encoding"] = p.get("encoding")
        s["body_bytes"] = p.get("body_bytes")
        idle = [r["idle"] for r in rs if r.get("idle")]
        if idle:
            s["idle_opened"] = median([i.get("opened") for i in idle])
            s["idle_alive_at_end"] = median([i.get("alive_at_end") for i in idle])
        s["status_errors"] = median([r["errors"].get("status") for r in ok])
        s["io_errors"] = median([sum(v for k, v in r["errors"].items() if k != "status") for r in ok])
        out["%s|%s" % k] = s
    return out


def fmt(v, nd=0):
    if v is None:
        return "–"
    if nd == 0:
        return "{:,}".format(int(round(v)))
    return ("{:.%df}" % nd).format(v)


def ratio(v, ref, lower_better=False):
    if v is None or not ref:
        return ""
    return " (%.2f×)" % (v / ref)


def noise_line(res):
    """How noisy the run was, from its own data: how far the rounds of one
    server and scenario disagree, and how much CPU time the hypervisor
    stole. A ratio between two servers smaller than the spread is not a
    difference."""
    sp = sorted(s["round_spread"] for s in res["summary"].values() if s.get("round_spread"))
    st = sorted(r["steal_pct"] for r in res["records"] if r.get("steal_pct") is not None)
    parts = []
    if sp:
        parts.append("the rounds of one server and scenario differ by a median of %.0f%% "
                     "(90th percentile %.0f%%, most %.0f%%)" % (
                         100 * (statistics.median(sp) - 1), 100 * (sp[math.ceil(0.9 * len(sp)) - 1] - 1),
                         100 * (sp[-1] - 1)))
    if st:
        parts.append("CPU steal during the loads: median %.1f%%, most %.1f%%" % (
            statistics.median(st), st[-1]))
    rsp = sorted(c["spread"] for row in res.get("vs_best") or [] for k, c in row.items()
                 if k.startswith("nano-web") and c["rounds"] > 1)
    if rsp:
        parts.append("the per-round ratios of nano-web and nano-web+xdp to the best peer "
                     "differ by a median of %.0f%%"
                     % (100 * (statistics.median(rsp) - 1)))
    if not parts:
        return None
    return ("Noise: " + "; ".join(parts) + ". Differences smaller than that spread are not "
            "differences; rows whose rounds differ by more than 20% say so in their notes.")


def paired_ratios(records, a, b, scenario):
    """a's req/s over b's in each round where both were measured. The two
    loads ran in the same scenario of the same round (seconds apart with
    one transport, up to ~30 s in a full run), so a slow phase of the host
    longer than that hits both alike; faster swings (bench/README) it
    cannot pair away, and then only more rounds narrow the ratio."""
    by_round = {}
    for r in records:
        if r.get("scenario") == scenario and r.get("rps") and r.get("server") in (a, b):
            by_round.setdefault(r.get("round"), {})[r["server"]] = r["rps"]
    return sorted(v[a] / v[b] for v in by_round.values() if a in v and b in v)


def vs_best_peer(res):
    """For every transport and scenario: the peer with the highest median
    req/s among those that gave the expected answer (a peer serving
    identity where it was asked for brotli is not a fair best), and
    nano-web's (and nano-web+xdp's) per-round ratio to it as median and
    middle half of the rounds (the issue's targets are ratios to the best
    peer)."""
    S = res["summary"]
    rows = []
    for tr in res["options"]["transports"]:
        suffix = "" if tr == "lo" else "@" + tr
        for scn in res["options"]["scenarios"]:
            ran = [p + suffix for p in PEERS
                   if S.get("%s%s|%s" % (p, suffix, scn), {}).get("rps")]
            wrong = [p for p in ran if S["%s|%s" % (p, scn)].get("probe_mismatch")]
            peers = [p for p in ran if p not in wrong]
            if not peers:
                continue
            best = max(peers, key=lambda p: S["%s|%s" % (p, scn)]["rps"])
            row = {"transport": tr, "scenario": scn, "best": best,
                   "best_rps": S["%s|%s" % (best, scn)]["rps"],
                   "left_out": [p.split("@")[0] for p in wrong]}
            for nw in ("nano-web", "nano-web+xdp"):
                rs = paired_ratios(res["records"], nw + suffix, best, scn)
                if not rs:
                    continue
                q = statistics.quantiles(rs, n=4, method="inclusive") if len(rs) > 1 else rs * 3
                row[nw] = {"median": round(statistics.median(rs), 3),
                           "q1": round(q[0], 3), "q3": round(q[2], 3), "rounds": len(rs),
                           "spread": round(rs[-1] / rs[0], 3)}
            rows.append(row)
    return rows


def vs_best_markdown(rows):
    L = ["## nano-web against the best peer",
         "",
         "Per round, nano-web's req/s over the best peer's (highest median req/s of "
         "nginx, h2o and lighttpd on that transport that gave the expected answer), "
         "both measured in the same scenario of the same round; "
         "the median over rounds and, in brackets, the middle half of them. "
         "Above 1.00 nano-web served more.",
         "",
         "| transport | scenario | best peer | its req/s | nano-web | nano-web+xdp |",
         "|---|---|---|---:|---:|---:|"]

    def cell(c):
        if not c:
            return "–"
        return "%.2f [%.2f–%.2f]" % (c["median"], c["q1"], c["q3"])
    for r in rows:
        L.append("| %s | %s | %s | %s | %s | %s |" % (
            r["transport"], r["scenario"], r["best"].split("@")[0] + "".join(
                " (%s left out: wrong answer)" % p for p in r.get("left_out", [])),
            fmt(r["best_rps"]),
            cell(r.get("nano-web")), cell(r.get("nano-web+xdp"))))
    L.append("")
    return L


def write_markdown(path, res):
    S = res["summary"]
    L = []
    L.append("# nano-web benchmark — %s%s" % (res["started"], " (SMOKE: not a measurement)" if res["options"]["smoke"] else ""))
    L.append("")
    mi = res["machine"]
    L.append("Machine: %s, %d cores, %.1f GiB, kernel %s, %s; load average at start %s." % (
        mi["cpu_model"], mi["cores"], mi["mem_gib"], mi["kernel"], mi["os"],
        " ".join(mi["loadavg_at_start"])))
    L.append("Versions: " + "; ".join("%s: %s" % (k, v) for k, v in res["versions"].items() if v))
    o = res["options"]
    lg = ("wrk (%d thread(s), %d connections; idle_1k: %d idle + %d busy)" % (
        o["wrk_threads"], o["connections"], o["idle_connections"], o["busy_connections"])
        + "; HEAD with bench/lib/nwload.c, since wrk cannot load HEAD"
        if o["loadgen"] == "wrk" else
        "bench/lib/nwload.c (%d thread(s), %d connections; idle_1k: %d idle + %d busy)" % (
            o["wrk_threads"], o["connections"], o["idle_connections"], o["busy_connections"])
        if o["loadgen"] == "nwload" else
        "a 1-connection Python client (idle_1k: %d idle)" % o["idle_connections"])
    L.append("Run: %d round(s), %s s per scenario, %d server thread(s)/worker(s), load generator %s, "
             "transports %s. "
             "Figures are medians over rounds; (×) is the ratio to nginx on the same transport "
             "(for CPU and memory, lower is better)." % (
                 o["rounds"], o["duration"], o["threads"], lg, ",".join(o["transports"])))
    noise = noise_line(res)
    if noise:
        L.append("")
        L.append(noise)
    if o.get("pin"):
        srv_cpus, cli_cpus = o["pin"].split(":")
        L.append("")
        L.append("Pinned with taskset: every server on CPU(s) %s, the load generators on CPU(s) %s "
                 "(XDP and TC run in the softirq of the client's sends, so on the client's CPUs)."
                 % (srv_cpus, cli_cpus))
    L.append("")
    for tr in res["options"]["transports"]:
        servers = [s for s in res["servers"] if s["transport"] == tr]
        if not servers:
            continue
        L.append("## Transport: %s" % ("loopback (127.0.0.1)" if tr == "lo" else
                                       "veth between two network namespaces"))
        L.append("")
        na = [sv for sv in servers if not sv.get("available", True)]
        for sv in na:
            L.append("- **%s: not available** (%s)" % (sv["id"], sv.get("reason", "")))
        if na:
            L.append("")
        servers = [sv for sv in servers if sv.get("available", True)]
        L.append("| scenario | server | req/s | p50 ms | p99 ms | CPU s/1k req (machine) | "
                 "CPU s/1k req (server) | peak RSS MiB | answer | notes |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---|---|")
        for scn in res["options"]["scenarios"]:
            ref = S.get("%s|%s" % ("nginx" if tr == "lo" else "nginx@" + tr, scn), {})
            for sv in servers:
                sid = sv["id"]
                if not sv.get("available", True):
                    L.append("| %s | %s | not available | | | | | | | %s |" % (
                        scn, sid, sv.get("reason", "")))
                    continue
                s = S.get("%s|%s" % (sid, scn))
                if not s:
                    continue
                notes = []
                if s.get("probe_mismatch"):
                    notes.append("WRONG ANSWER: " + "; ".join(s["probe_mismatch"]))
                notes.extend(s.get("errors", []))
                if (s.get("round_spread") or 0) > 1.2:
                    notes.append("rounds %.0f%% apart" % (100 * (s["round_spread"] - 1)))
                if s.get("status_errors") and (s.get("status") or 0) < 400:
                    notes.append("WRONG ANSWERS: %s responses with status >= 400 under load"
                                 % fmt(s["status_errors"]))
                if s.get("io_errors"):
                    notes.append("%s connect/read/write/timeout errors" % fmt(s["io_errors"]))
                if s.get("xdp_ns_per_packet") is not None:
                    notes.append("XDP %.0f ns/packet" % s["xdp_ns_per_packet"])
                if s.get("tc_ns_per_packet") is not None:
                    notes.append("TC %.0f ns/packet" % s["tc_ns_per_packet"])
                if s.get("bpf_cpu_s_per_1k") is not None:
                    notes.append("server CPU includes %.4f s/1k in BPF programs"
                                 % s["bpf_cpu_s_per_1k"])
                if "idle_opened" in s:
                    notes.append("idle: %s opened, %s alive at end" % (
                        fmt(s["idle_opened"]), fmt(s["idle_alive_at_end"])))
                    base = S.get("%s|html_identity" % sid, {}).get("peak_rss_kb")
                    if base and s.get("peak_rss_kb") and s["idle_opened"]:
                        notes.append("≈%.1f KiB RSS per idle connection (vs html_identity)" % (
                            (s["peak_rss_kb"] - base) / s["idle_opened"]))
                ans = "%s %s %sB" % (s.get("status"), s.get("encoding") or "",
                                     fmt(s.get("body_bytes")))
                rss = s["peak_rss_kb"] / 1024 if s.get("peak_rss_kb") is not None else None
                rrss = ref.get("peak_rss_kb") / 1024 if ref.get("peak_rss_kb") else None
                L.append("| %s | %s | %s%s | %s%s | %s%s | %s%s | %s%s | %s%s | %s | %s |" % (
                    scn, sid,
                    fmt(s.get("rps")), ratio(s.get("rps"), ref.get("rps")),
                    fmt(s.get("p50_ms"), 3), ratio(s.get("p50_ms"), ref.get("p50_ms")),
                    fmt(s.get("p99_ms"), 3), ratio(s.get("p99_ms"), ref.get("p99_ms")),
                    fmt(s.get("machine_cpu_s_per_1k"), 4),
                    ratio(s.get("machine_cpu_s_per_1k"), ref.get("machine_cpu_s_per_1k")),
                    fmt(s.get("server_cpu_s_per_1k"), 4),
                    ratio(s.get("server_cpu_s_per_1k"), ref.get("server_cpu_s_per_1k")),
                    fmt(rss, 1), ratio(rss, rrss), ans, "; ".join(notes).replace("|", "/")))
        L.append("")
    if res.get("vs_best"):
        L.extend(vs_best_markdown(res["vs_best"]))
    if res.get("wrk_cross"):
        L.append("## Load generator cross-check (%s, last round)" % CROSS_SCENARIO)
        L.append("")
        L.append("The same servers loaded once more with wrk instead of nwload. A server that "
                 "leaves the client's core idle reads about the same with both; one whose "
                 "work lands on the client's core (nano-web+xdp) reads lower with the "
                 "costlier client.")
        L.append("")
        L.append("| server | nwload req/s (median) | wrk req/s | wrk / nwload |")
        L.append("|---|---:|---:|---:|")
        for c in res["wrk_cross"]:
            nw = res["summary"].get("%s|%s" % (c["server"], c["scenario"]), {}).get("rps")
            L.append("| %s | %s | %s | %s |" % (
                c["server"], fmt(nw), fmt(c.get("rps")) if "error" not in c else c["error"],
                ("%.2f" % (c["rps"] / nw)) if c.get("rps") and nw else "–"))
        L.append("")
    L.append("## nano-web start-up")
    L.append("")
    L.append("| site | files | size MiB | start-up s (exec → first 200 on /_health) | CPU s | RSS MiB after start | peak RSS MiB | in memfds MiB |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for st in res["startup"]:
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            st["site"], fmt(st.get("files")), fmt((st.get("bytes") or 0) / 1048576, 1),
            fmt(st.get("startup_s"), 3) if "error" not in st else st["error"],
            fmt(st.get("cpu_s"), 2), fmt((st.get("rss_kb") or 0) / 1024, 1),
            fmt((st.get("peak_rss_kb") or 0) / 1024, 1),
            fmt(st["memfd_kb"] / 1024, 1) if st.get("memfd_kb") is not None else "–"))
    L.append("")
    if res.get("notes"):
        L.append("## Notes")
        L.append("")
        for n in res["notes"]:
            L.append("- " + n)
        L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def write_chart(outdir, res):
    gp = shutil.which("gnuplot")
    if not gp:
        return "gnuplot not installed (apt-get install gnuplot-nox): no chart"
    S = res["summary"]
    scens = res["options"]["scenarios"]
    plots = []
    for tr in res["options"]["transports"]:
        servers = [s["id"] for s in res["servers"] if s["transport"] == tr and s.get("available", True)]
        if not servers:
            continue
        dat = os.path.join(outdir, "chart-%s.dat" % tr)
        with open(dat, "w") as f:
            f.write("scenario " + " ".join('"%s"' % s for s in servers) + "\n")
            for scn in scens:
                vals = []
                for s in servers:
                    v = S.get("%s|%s" % (s, scn), {}).get("rps")
                    vals.append("%.1f" % v if v is not None else "0")
                f.write("%s %s\n" % (scn, " ".join(vals)))
        cols = ", ".join("'%s' using %d%s title columnheader(%d)" % (
            dat, i + 2, ":xtic(1)" if i == 0 else "", i + 2) for i in range(len(servers)))
        plots.append((tr, cols))
    if not plots:
        return "no data for a chart"
    script = os.path.join(outdir, "chart.gp")
    with open(script, "w") as f:
        f.write("set terminal pngcairo noenhanced size 1400,%d font 'sans,10'\n" % (520 * len(plots)))
        f.write("set output '%s'\n" % os.path.join(outdir, "chart.png"))
        f.write("set multiplot layout %d,1\n" % len(plots))
        f.write("set style data histogram\nset style histogram clustered gap 1\n"
                "set style fill solid 0.85 border -1\nset xtics rotate by -25 nomirror\n"
                "set ylabel 'requests/s (median)'\nset grid ytics\nset key outside right top\n"
                "set yrange [0:*]\n")
        for tr, cols in plots:
            f.write("set title 'nano-web benchmark, %s, %s: requests/s per scenario'\n" % (
                "loopback" if tr == "lo" else "veth", res["started"]))
            f.write("plot %s\n" % cols)
        f.write("unset multiplot\n")
    r = sh([gp, script])
    if r.returncode != 0:
        return "gnuplot failed: " + r.stderr.strip()[-300:]
    return None


# --------------------------------------------------------------------------
# main

CLEANUP = []


def cleanup(*_):
    while CLEANUP:
        f = CLEANUP.pop()
        try:
            f()
        except Exception as e:  # noqa: BLE001
            log("cleanup:", e)


def on_signal(signum, _frame):
    cleanup()
    sys.exit(128 + signum)


def main_bench(argv):
    ap = argparse.ArgumentParser(prog="bench/run", description="nano-web vs nginx, h2o, lighttpd")
    ap.add_argument("--smoke", action="store_true", help="a few seconds in total, for make check")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=float, help="seconds per scenario (wrk: whole seconds)")
    ap.add_argument("--servers", default=",".join(ALL_SERVERS))
    ap.add_argument("--scenarios", default=",".join(SCENARIO_NAMES))
    ap.add_argument("--transports", help="lo,veth (default: lo, plus veth when root)")
    ap.add_argument("--threads", type=int, default=1, help="worker threads/processes per server")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--load-threads", "--wrk-threads", dest="wrk_threads", type=int, default=1,
                    help="threads of the load generator (nwload -t, wrk -t)")
    ap.add_argument("--pin", metavar="SERVER_CPUS:CLIENT_CPUS",
                    help="run every server on SERVER_CPUS and the load generators on "
                         "CLIENT_CPUS (taskset lists, e.g. 0:1); default: not pinned")
    ap.add_argument("--idle-connections", type=int, default=1000)
    ap.add_argument("--busy-connections", type=int, default=4)
    ap.add_argument("--site-files", type=int)
    ap.add_argument("--loadgen", choices=["wrk", "nwload", "py"],
                    help="default nwload; with wrk, HEAD is still loaded by nwload")
    ap.add_argument("--no-xdp", action="store_true")
    ap.add_argument("--no-startup", action="store_true")
    ap.add_argument("--nano-web", required=True, help="path to the built nano-web")
    ap.add_argument("--results", default=os.path.join(BENCH, "results"))
    ap.add_argument("--keep-work", action="store_true", help="keep the temp tree and server logs")
    o = ap.parse_args(argv)
    o.rounds = o.rounds or (1 if o.smoke else 3)
    o.duration = o.duration or (0.08 if o.smoke else 5.0)
    o.site_files = o.site_files if o.site_files is not None else (300 if o.smoke else 10000)
    o.loadgen = o.loadgen or "nwload"
    if o.smoke and o.idle_connections == 1000:
        o.idle_connections = 100
    is_root = os.geteuid() == 0
    o.transports = (o.transports or ("lo,veth" if is_root else "lo")).split(",")
    # each once, in the order given: a server's namespaces are named after it
    servers = list(dict.fromkeys(s for s in o.servers.split(",") if s))
    scenarios = list(dict.fromkeys(s for s in o.scenarios.split(",") if s))
    if not 1 <= o.wrk_threads <= 64:
        ap.error("--load-threads wants 1 to 64 (nwload's limit)")
    for s in servers:
        if s not in ALL_SERVERS:
            ap.error("unknown server %s (known: %s)" % (s, ", ".join(ALL_SERVERS)))
    for s in scenarios:
        if s not in SCEN:
            ap.error("unknown scenario %s (known: %s)" % (s, ", ".join(SCENARIO_NAMES)))
    if "veth" in o.transports and not is_root:
        log("veth transport needs root: dropped")
        o.transports = [t for t in o.transports if t != "veth"]
    o.nano_web = os.path.abspath(o.nano_web)
    if o.pin:
        m = re.fullmatch(r"([0-9,-]+):([0-9,-]+)", o.pin)
        if not m:
            ap.error("--pin wants SERVER_CPUS:CLIENT_CPUS, e.g. 0:1")
        PIN["server"], PIN["client"] = m.group(1), m.group(2)
    raise_nofile()

    started = datetime.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    outdir = os.path.join(o.results, started + ("-smoke" if o.smoke else ""))
    os.makedirs(outdir, exist_ok=True)
    o.work = tempfile.mkdtemp(prefix="nwbench-")
    os.chmod(o.work, 0o755)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if not o.keep_work:
        CLEANUP.append(lambda: shutil.rmtree(o.work, ignore_errors=True))
    notes = []
    if "nginx" in servers and shutil.which("nginx") and not os.path.exists(NGINX_BROTLI):
        # the answer check accepts gzip for br (a server may prefer it), so
        # say it here: nginx then answers br clients with gzip
        notes.append("nginx has no brotli_static module (apt-get install "
                     "libnginx-mod-http-brotli-static): it answers br clients with gzip")
    try:
        return run_all(o, servers, scenarios, started, outdir, notes)
    finally:
        cleanup()


def run_all(o, servers, scenarios, started, outdir, notes):
    import fixtures
    t0 = time.monotonic()
    o.nwload = build_nwload(o.work)
    if o.loadgen == "nwload" and not o.nwload:
        if not o.smoke and shutil.which("wrk"):
            notes.append("no C compiler for nwload: wrk loads instead")
            o.loadgen = "wrk"
        else:
            notes.append("no C compiler for nwload: the Python client loads instead")
            o.loadgen = "py"
    if o.loadgen == "wrk" and not o.nwload and "head" in scenarios:
        notes.append("no C compiler for nwload: HEAD is loaded with wrk, which cannot (0 req/s)")
    if o.loadgen == "wrk" and not o.nwload and "page_load" in scenarios:
        notes.append("no C compiler for nwload: page_load is loaded with wrk, which keeps "
                     "each connection open instead of one page per connection")
    root = os.path.join(o.work, "tree")
    fixtures.make_main(root, o.site_files, log=lambda m: notes.append(m))
    pathlist = os.path.join(o.work, "site-paths.txt")
    with open(pathlist) as f:
        site_paths = [x for x in f.read().split() if x]
    pagelist = os.path.join(o.work, "page-paths.txt")
    with open(pagelist, "w") as f:
        f.write("\n".join(PAGE_PATHS) + "\n")
    log("fixtures: %d files in %.1fs under %s" % (tree_stats(root)[0], time.monotonic() - t0, o.work))

    versions = {n: version_of(n, o.nano_web) for n in ["nano-web", "nginx", "h2o", "lighttpd", "wrk"]}
    xdpd = os.path.join(os.path.dirname(o.nano_web), "nanoweb-xdpd")
    xdp_reason = None
    if o.no_xdp:
        xdp_reason = "--no-xdp"
    elif not os.access(xdpd, os.X_OK):
        xdp_reason = "nanoweb-xdpd not built next to nano-web"
    elif os.geteuid() != 0:
        xdp_reason = "needs root"
    # as root every server runs in namespaces of its own on every
    # transport (see Netns)
    nets = {}
    if os.geteuid() == 0:
        groups = [name for name in servers
                  if name != "nano-web+xdp" or xdp_reason is None]
        for tr in list(o.transports):
            for i, g in enumerate(groups):
                n = Netns(tr, g, i)
                CLEANUP.append(n.cleanup)
                try:
                    n.setup(o.work)
                    nets[tr, g] = n
                except RuntimeError as e:
                    notes.append("%s transport unavailable: %s" % (tr, e))
                    n.cleanup()
                    o.transports = [t for t in o.transports if t != tr]
                    break
                if n.napi == "none" and i == 0:
                    notes.append("veth: neither clang nor ethtool: XDP_TX replies on veth will "
                                 "be dropped (apt-get install clang)")
                elif n.napi and i == 0:
                    notes.append("veth: %s, in every pair" % n.napi)
    if xdp_reason is None and "nano-web+xdp" in servers:
        try:
            fd = bpfstats.enable()
            CLEANUP.append(lambda: os.close(fd))
        except OSError as e:
            notes.append("could not enable BPF run-time stats: %s" % e)

    # which server instances run
    insts, unavailable = [], []
    for tr in o.transports:
        for name in servers:
            sid = name if tr == "lo" else "%s@%s" % (name, tr)
            reason = None
            if name in PEERS and not shutil.which(name):
                reason = "not installed"
            if name == "nano-web+xdp" and xdp_reason:
                reason = xdp_reason
            if name.startswith("nano-web") and not os.access(o.nano_web, os.X_OK):
                reason = "nano-web not built (%s)" % o.nano_web
            if reason:
                unavailable.append({"id": sid, "name": name, "transport": tr, "available": False,
                                    "reason": reason})
                if name in PEERS and reason == "not installed":
                    print("SKIP: %s is not installed; its rows are missing" % name, file=sys.stderr)
                continue
            insts.append(Server(name, tr, o, o.work, nets.get((tr, name))))
    if o.loadgen == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --loadgen py")

    records = []
    failed_start = {}
    wrk_cross = []
    for rnd in range(o.rounds):
        order = insts[rnd % len(insts):] + insts[:rnd % len(insts)] if insts else []
        running = []
        for srv in order:
            if srv.id in failed_start:
                continue
            try:
                s = srv.start(root, 300)
                running.append(srv)
                CLEANUP.append(srv.stop)
                log("round %d: %s ready in %.3fs on %s:%d" % (rnd + 1, srv.id, s, srv.host, srv.port))
            except (RuntimeError, OSError) as e:
                failed_start[srv.id] = str(e)
                log("round %d: %s failed to start: %s" % (rnd + 1, srv.id, e))
        for scn in scenarios:
            for srv in running:
                rec = measure(srv, scn, o, site_paths, pathlist, pagelist)
                rec["round"] = rnd + 1
                records.append(rec)
                log("round %d %-14s %-22s %10s req/s  p99 %s ms%s" % (
                    rnd + 1, scn, srv.id, fmt(rec.get("rps")), fmt(rec.get("p99_ms"), 2),
                    ("  ERROR " + rec["error"]) if rec.get("error") else
                    ("  " + rec["probe_mismatch"]) if rec.get("probe_mismatch") else ""))
        if rnd == o.rounds - 1:
            wrk_cross = cross_check_wrk(running, o, scenarios)
        for srv in running:
            srv.stop()
            if srv.stop in CLEANUP:
                CLEANUP.remove(srv.stop)

    wrk_check = None
    if o.smoke and shutil.which("wrk"):
        # smoke mode loads with nwload; run wrk and its script once so that
        # path cannot rot either
        srv = next((s for s in insts if s.name == "nano-web" and s.id not in failed_start), None)
        if srv is not None:
            try:
                srv.start(root, 120)
                CLEANUP.append(srv.stop)
                o2 = argparse.Namespace(**vars(o))
                o2.loadgen, o2.duration = "wrk", 1
                r = run_load(srv, "html_identity", o2, "GET", "/index.html", {}, None, 4)
                wrk_check = {"requests": r["requests"], "errors": r["errors"]}
            except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as e:
                wrk_check = {"requests": 0, "error": str(e)}
            srv.stop()
            CLEANUP.remove(srv.stop)
            log("wrk check: %s" % wrk_check)

    startup = []
    if not o.no_startup and os.access(o.nano_web, os.X_OK):
        sites = [("site-%d-files" % o.site_files, os.path.join(root, "site"), 120)]
        if not o.smoke:
            big = os.path.join(o.work, "big")
            fixtures.make_big(big)
            sites.append(("site-100MB", big, 600))
        for label, d, to in sites:
            runs = [startup_probe(o, d, label, to) for _ in range(1 if o.smoke or "100MB" in label else o.rounds)]
            ok = [r for r in runs if "startup_s" in r]
            st = dict(runs[0])
            if ok:
                for f in ("startup_s", "cpu_s", "rss_kb", "peak_rss_kb", "machine_cpu_s", "memfd_kb"):
                    st[f] = median([r.get(f) for r in ok])
            st["files"], st["bytes"] = tree_stats(d)
            st.pop("root", None)
            startup.append(st)
            log("start-up %s: %s" % (label, st.get("startup_s", st.get("error"))))

    for sid, err in failed_start.items():
        lines = err.splitlines()
        last = [x for x in lines[1:] if re.search(r"(?i)error|fail|emerg|crit", x)]
        notes.append("%s failed to start: %s%s" % (sid, lines[0], (" — " + last[-1]) if last else ""))
    for u in unavailable:
        notes.append("%s: not available (%s)" % (u["id"], u["reason"]))
    res = {
        "started": started, "machine": machine_info(), "versions": versions,
        "options": {"smoke": o.smoke, "rounds": o.rounds, "duration": o.duration,
                    "threads": o.threads, "connections": o.connections,
                    "wrk_threads": o.wrk_threads, "pin": o.pin,
                    "idle_connections": o.idle_connections,
                    "busy_connections": o.busy_connections, "site_files": o.site_files,
                    "loadgen": o.loadgen, "transports": o.transports, "scenarios": scenarios,
                    "servers": servers},
        "servers": [{"id": s.id, "name": s.name, "transport": s.transport,
                     "available": s.id not in failed_start,
                     "reason": failed_start.get(s.id, "").split("\n")[0]} for s in insts] + unavailable,
        "records": records, "summary": summarize(records), "startup": startup, "notes": notes,
        "elapsed_s": round(time.monotonic() - t0, 1), "wrk_check": wrk_check,
        "wrk_cross": wrk_cross,
    }
    try:
        res["vs_best"] = vs_best_peer(res)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, statistics.StatisticsError) as e:
        # the raw records are worth more than this summary of them
        res["vs_best"] = []
        notes.append("no comparison with the best peer: %s: %s" % (type(e).__name__, e))
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=False)
    err = write_chart(outdir, res)
    if err:
        res["notes"].append(err)
    write_markdown(os.path.join(outdir, "results.md"), res)
    if err:
        with open(os.path.join(outdir, "results.json"), "w") as f:
            json.dump(res, f, indent=1)
    latest = os.path.join(o.results, "latest")
    try:
        if os.path.islink(latest) or os.path.exists(latest):
            os.remove(latest)
        os.symlink(os.path.basename(outdir), latest)
    except OSError:
        pass
    if not o.smoke and noise_line(res):
        log(noise_line(res))
    log("results: %s (%.1fs)" % (outdir, time.monotonic() - t0))
    print(outdir)
    return 0


def main(argv):
    if argv and argv[0] == "probe":
        h, p, m, path, hd = argv[1:6]
        print(json.dumps(http_once(h, int(p), m, path, json.loads(hd))))
        return 0
    if argv and argv[0] == "agent":
        agent_main()
        return 0
    if argv and argv[0] == "health":
        h, p, path, to = argv[1:5]
        print(json.dumps({"s": health_wait(h, int(p), path, float(to))}))
        return 0
    if argv and argv[0] == "idle":
        h, p, n, path = argv[1:5]
        idle_main(h, int(p), int(n), path)
        return 0
    if argv and argv[0] == "pyload":
        h, p, m, path, hd, dur = argv[1:7]
        plist = argv[7] if len(argv) > 7 and argv[7] else None
        paths = None
        if plist:
            with open(plist) as f:
                paths = [x for x in f.read().split() if x]
        print(json.dumps(pyload(h, int(p), m, path, json.loads(hd), float(dur), paths)))
        return 0
    return main_bench(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
