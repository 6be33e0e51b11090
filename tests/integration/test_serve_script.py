#!/usr/bin/env python3
"""scripts/serve.sh: a relative DIR is relative to the caller's working
directory (it used to be resolved against the repository); without a DIR the
bundled www/ is served. Runs the script with NANOWEB_SKIP_DEPS=1 and
NANOWEB_BUILD_DIR set to this build (nothing is installed or rebuilt)."""
import http.client
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402
from nwtest import Site  # noqa: E402

t = nwtest.Tests("serve_script")


def get(port, path="/"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def run_script(cwd, args):
    """Starts serve.sh in cwd; returns (proc, port, log path). The script
    execs nano-web, so proc is the server."""
    port = nwtest.free_port()
    fd, log = tempfile.mkstemp(prefix="nw-serve-sh-", suffix=".log")
    env = nwtest.base_env({"NANOWEB_SKIP_DEPS": "1",
                           "NANOWEB_BUILD_DIR": nwtest.builddir()})
    p = subprocess.Popen(["bash", os.path.join(nwtest.srcdir(), "scripts", "serve.sh")] +
                         list(args) + ["--port", str(port), "--listen", "127.0.0.1",
                                       "--xdp", "off"],
                         cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd)
    os.close(fd)
    deadline = time.monotonic() + 120   # make may have to check the build
    while time.monotonic() < deadline and p.poll() is None:
        try:
            if get(port, "/_health")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    return p, port, log


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def log_of(path):
    with open(path, errors="replace") as f:
        return f.read()[-1500:]


@t.case
def relative_dir_is_the_callers():
    s = Site()
    app = s.scratch("app")
    os.makedirs(os.path.join(app, "dist"))
    with open(os.path.join(app, "dist", "index.html"), "w") as f:
        f.write("<html>the caller's dist</html>")
    os.chmod(os.path.join(app, "dist", "index.html"), 0o644)
    for d in (app, os.path.join(app, "dist")):
        os.chmod(d, 0o755)
    p, port, log = run_script(app, ["./dist"])
    try:
        t.check("serve.sh ./dist is running", p.poll() is None, log_of(log))
        if p.poll() is None:
            t.eq("serve.sh ./dist (from ~/app): / is app/dist/index.html", get(port, "/"),
                 (200, b"<html>the caller's dist</html>"))
    finally:
        stop(p)


@t.case
def no_dir_serves_the_bundled_site():
    s = Site()
    elsewhere = s.scratch("elsewhere")
    os.makedirs(elsewhere)
    with open(os.path.join(nwtest.srcdir(), "www", "index.html"), "rb") as f:
        bundled = f.read()
    p, port, log = run_script(elsewhere, [])
    try:
        t.check("serve.sh without DIR is running", p.poll() is None, log_of(log))
        if p.poll() is None:
            status, body = get(port, "/")
            t.eq("serve.sh without DIR (from another directory): / is www/index.html",
                 (status, body[:200]), (200, bundled[:200]))
    finally:
        stop(p)


if __name__ == "__main__":
    t.main()
