#!/usr/bin/env python3
"""Command line and INI configuration: version, help, bad flags, config
errors with FILE:LINE, values from the file, CLI overriding the file."""
import os
import re
import socket
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402
from nwtest import Server, Site, compressible_text, run_cli  # noqa: E402

t = nwtest.Tests("config_cli")

FILES = {
    "index.html": "<html><body>[{{env.FOO}}] " + compressible_text(400, "i") + "</body></html>",
    "style.css": compressible_text(3000, "css"),
    "app.3f9a1c2b.js": "console.log(1);\n",
    "img.png": b"\x89PNG\r\n\x1a\n1234",
}


def write_tmp(text):
    fd, p = tempfile.mkstemp(suffix=".ini", prefix="nw-cfg-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(p, 0o644)
    return p


@t.case
def version_help_flags():
    rc, out, err = run_cli(["version"])
    t.eq("version exit 0", rc, 0)
    t.check("version prints 'nano-web <version>'", re.match(r"^nano-web \S+", out.strip()), out + err)
    for flag in ("--help", "-h"):
        rc, out, err = run_cli([flag])
        t.eq("%s exit 0" % flag, rc, 0)
        text = out + err
        t.check("%s prints usage mentioning serve and --port" % flag,
                "serve" in text and "--port" in text, text[:300])
    rc, out, err = run_cli(["serve", "--help"])
    t.eq("serve --help exit 0", rc, 0)
    t.check("serve --help prints usage", "--port" in out + err, (out + err)[:300])
    s = Site(FILES)
    for args in (["serve", s.root, "--bogus-flag"], ["--no-such-option"],
                 ["serve", s.root, "--port", "notanumber"], ["serve", s.root, "--port", "70000"],
                 ["serve", s.root, "--log-level", "loud"], ["serve", s.root, "--log-format", "xml"],
                 ["frobnicate"]):
        rc, out, err = run_cli(args, timeout=5)
        t.check("%s exits non-zero (not kept running)" % " ".join(args[2:] or args),
                rc is not None and rc != 0, "rc=%r" % rc)
        t.check("%s prints a message" % " ".join(args[2:] or args), (out + err).strip(), "no output")
    rc, out, err = run_cli(["serve", s.root, "--bogus-flag"], timeout=5)
    t.check("unknown flag message names the flag", "bogus-flag" in out + err, out + err)
    rc, out, err = run_cli(["serve", os.path.join(s.root, "does-not-exist"), "--port",
                            str(nwtest.free_port()), "--listen", "127.0.0.1"], timeout=10)
    t.check("missing root dir exits non-zero", rc is not None and rc != 0, "rc=%r" % rc)


@t.case
def config_errors():
    s = Site(FILES)
    cases = [
        ("[server]\nport = 3000\nthis line is not ini\n", 3),
        ("[server]\nbogus_key = 1\n", 2),
        ("[server]\nport = 3000\n\n[log]\nlevel = info\nnope = 2\n", 6),
        ("[nosuchsection]\nx = 1\n", None),
        ("[server]\nport = notaport\n", 2),
        ("[server]\nspa = maybe\n", 2),
        ("[limits]\nmax_memory_file = 12Q\n", 2),
        ("[server\nport = 1\n", 1),
    ]
    for text, line in cases:
        p = write_tmp(text)
        try:
            rc, out, err = run_cli(["serve", s.root, "--config", p, "--port",
                                    str(nwtest.free_port()), "--listen", "127.0.0.1"], timeout=8)
            label = "config %r" % text.strip().splitlines()[-1]
            t.check(label + " exits non-zero", rc is not None and rc != 0, "rc=%r" % rc)
            if line is None:
                t.check(label + " stderr has FILE:LINE:", re.search(re.escape(p) + r":\d+:", err), err)
            else:
                t.check(label + " stderr has %s:%d:" % (p, line), ("%s:%d:" % (p, line)) in err, err)
        finally:
            os.unlink(p)
    rc, out, err = run_cli(["serve", s.root, "--config", "/nonexistent/nw.ini"], timeout=8)
    t.check("missing --config file exits non-zero with a message",
            rc not in (None, 0) and "/nonexistent/nw.ini" in err, (rc, err))


@t.case
def values_from_file_and_overrides():
    s = Site(FILES)
    port = nwtest.free_port()
    cfg = ("[server]\nroot = %s\nlisten = 127.0.0.1\nport = %d\nspa = true\nconfig_prefix = APP_\n"
           "threads = 2\n" % (s.root, port))
    srv = Server(None, config=cfg, port=port, use_cli_port=False,
                 env={"APP_FOO": "from-app", "VITE_FOO": "from-vite"})
    r = srv.get("/some/route")
    t.eq("INI root+port+spa: SPA route served", r.status, 200)
    t.check("INI config_prefix APP_ used", b"[from-app]" in r.body, r.body[:80])
    srv.stop_checked(t, "INI-only server")

    # CLI flags override the file: --port, --config-prefix
    p2 = nwtest.free_port()
    srv = Server(s.root, config=cfg, port=p2, env={"APP_FOO": "from-app", "VITE_FOO": "from-vite"},
                 args=["--config-prefix", "VITE_"])
    r = srv.get("/")
    t.eq("CLI --port overrides INI port", r.status, 200)
    t.check("CLI --config-prefix overrides INI", b"[from-vite]" in r.body, r.body[:80])
    c = socket.socket()
    try:
        c.settimeout(2)
        refused = c.connect_ex(("127.0.0.1", port)) != 0
    finally:
        c.close()
    t.check("INI port not listened on when --port given", refused, "connect to INI port succeeded")
    srv.stop_checked(t, "override server")

    # -p short flag and default prefix VITE_
    p3 = nwtest.free_port()
    srv = Server(s.root, port=p3, use_cli_port=False, args=["-p", str(p3), "--listen", "127.0.0.1"],
                 env={"VITE_FOO": "vite-default"})
    t.check("-p and default prefix VITE_", b"[vite-default]" in srv.get("/").body, "")
    srv.stop_checked(t, "-p server")


@t.case
def cache_and_security_config():
    s = Site(FILES)
    cfg = ("[cache]\nhtml = no-cache\nhashed = public, max-age=99, immutable\ndefault = max-age=5\n"
           "ext.css = public, max-age=77\n"
           "[security]\nframe_options = DENY\nhsts =\ncsp = default-src 'self'\n"
           "header.X-Custom = hello world\n")
    srv = Server(s.root, config=cfg)
    t.eq("[cache] html", srv.get("/").h("Cache-Control"), "no-cache")
    t.eq("[cache] hashed", srv.get("/app.3f9a1c2b.js").h("Cache-Control"), "public, max-age=99, immutable")
    t.eq("[cache] default", srv.get("/img.png").h("Cache-Control"), "max-age=5")
    t.eq("[cache] ext.css", srv.get("/style.css").h("Cache-Control"), "public, max-age=77")
    r = srv.get("/")
    t.eq("[security] frame_options = DENY", r.h("X-Frame-Options"), "DENY")
    t.eq("[security] hsts = (empty) removes HSTS", r.h("Strict-Transport-Security"), None)
    t.eq("[security] csp", r.h("Content-Security-Policy"), "default-src 'self'")
    t.eq("[security] header.X-Custom", r.h("X-Custom"), "hello world")
    t.eq("[security] others keep defaults", r.h("X-Content-Type-Options"), "nosniff")
    t.eq("extra header on 404 too", srv.get("/nope.png").h("X-Custom"), "hello world")
    srv.stop_checked(t)
    srv = Server(s.root, config="[security]\nenabled = false\n")
    r = srv.get("/")
    for h in ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
              "Strict-Transport-Security", "Permissions-Policy", "X-DNS-Prefetch-Control"):
        t.eq("[security] enabled=false: no %s" % h, r.h(h), None)
    srv.stop_checked(t, "security-disabled server")


@t.case
def health_disabled_and_threads():
    s = Site(FILES)
    srv = Server(s.root, config="[server]\nhealth = false\n", wait_path="/", args=["--threads", "1"])
    t.eq("health=false: /_health -> 404", srv.get("/_health").status, 404)
    t.eq("--threads 1 serves", srv.get("/style.css").status, 200)
    srv.stop_checked(t)
    srv = Server(s.root, args=["--threads", "3", "--log-level", "error", "-d"])
    t.eq("--threads 3 --log-level error --dev serves", srv.get("/style.css").status, 200)
    srv.stop_checked(t, "threads=3 dev server")


if __name__ == "__main__":
    t.main()
