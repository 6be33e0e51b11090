#!/usr/bin/env python3
"""Command line and INI configuration: version, help, bad flags, config
errors with FILE:LINE, values from the file, CLI overriding the file."""
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

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


def bash_complete(script, words):
    """What bash offers for the last of words (nano-web first), with the
    script's function, as readline would call it."""
    prog = (script + "\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_nano_web\n"
            "printf '%%s\\n' \"${COMPREPLY[@]}\"\n"
            % (" ".join("'%s'" % w for w in words), len(words) - 1))
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=10,
                       cwd=Site({"sub/a.txt": "a", "super.txt": "s"}).root)
    return sorted(x for x in p.stdout.decode().split("\n") if x), p.stderr.decode()


@t.case
def completion_scripts():
    """nano-web completion bash|zsh|fish (the original's completion command):
    bash's is run as bash would; zsh's and fish's are parsed by their shell."""
    rc, bash_script, err = run_cli(["completion", "bash"])
    t.eq("completion bash exits 0", (rc, err), (0, ""))
    help_text = run_cli(["--help"])[1]
    flags = sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", help_text)))
    got, err = bash_complete(bash_script, ["nano-web", "--"])
    t.eq("bash: every flag of --help is offered for '--'", [f for f in flags if f not in got], [])
    t.eq("bash: no error", err, "")
    for words, want in ((["nano-web", ""], ["completion", "help", "serve", "version"]),
                        (["nano-web", "se"], ["serve"]),
                        (["nano-web", "--log-level", ""], ["debug", "error", "info", "warn"]),
                        (["nano-web", "serve", "--xdp", "o"], ["off", "on"]),
                        (["nano-web", "completion", ""], ["bash", "fish", "zsh"]),
                        (["nano-web", "-p", ""], []),
                        (["nano-web", "serve", "su"], ["sub"]),
                        (["nano-web", "--dir", "su"], ["sub"])):
        t.eq("bash: %s" % " ".join(words), bash_complete(bash_script, words)[0], want)
    rc, out, err = run_cli(["completion", "tcsh"])
    t.eq("completion tcsh: exit 2", rc, 2)
    t.check("completion tcsh: names the shells", "bash, zsh or fish" in err, err)
    for shell, check in (("zsh", ["zsh", "-n"]), ("fish", ["fish", "--no-execute"])):
        rc, script, err = run_cli(["completion", shell])
        t.eq("completion %s exits 0" % shell, (rc, err), (0, ""))
        t.check("completion %s names every flag" % shell,
                all(f[2:] in script for f in flags), script[:200])
        if not shutil.which(check[0]):
            nwtest.skip_case(t, "%s is not installed: its script is not parsed" % shell)
            continue
        p = subprocess.run(check, input=script.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        t.eq("%s parses its script" % shell, (p.returncode, p.stderr.decode()), (0, ""))


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
        ("[server]\nroot = \"/srv/www\"\n", 2),
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
            # the file is at fault, not the command line: no pointer to --help
            t.check(label + " exits 2 without the --help hint",
                    rc == 2 and "--help" not in err, (rc, err))
        finally:
            os.unlink(p)
    rc, out, err = run_cli(["serve", s.root, "--config", "/nonexistent/nw.ini"], timeout=8)
    t.check("missing --config file exits non-zero with a message",
            rc not in (None, 0) and "/nonexistent/nw.ini" in err, (rc, err))
    rc, out, err = run_cli(["serve", s.root, "--no-such-flag"], timeout=8)
    t.check("an unknown flag exits 2 and points to --help",
            rc == 2 and "unknown option" in err and "nano-web --help" in err, (rc, err))


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
           "header.X-Custom = hello world\nheader.referrer-policy = no-referrer\n")
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
    t.eq("[security] header.referrer-policy replaces referrer_policy's header",
         r.h("Referrer-Policy"), "no-referrer")
    t.eq("... on a 404 too", srv.get("/nope.png").h("Referrer-Policy"), "no-referrer")
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
    t.eq("health=false: /_stats -> 404", srv.get("/_stats").status, 404)
    t.eq("--threads 1 serves", srv.get("/style.css").status, 200)
    srv.stop_checked(t)
    srv = Server(s.root, args=["--threads", "3", "--log-level", "error", "-d"])
    t.eq("--threads 3 --log-level error --dev serves", srv.get("/style.css").status, 200)
    srv.stop_checked(t, "threads=3 dev server")


@t.case
def every_documented_key_accepted():
    s = Site(FILES)
    port = nwtest.free_port()
    cfg = """[server]
root = %s
listen = 127.0.0.1
port = %d
spa = false
dev = false
config_prefix = VITE_
threads = 2
user = nobody
follow_symlinks = false
health = true
index = index.html

[log]
level = info
format = console
requests = false
access_log =

[cache]
html = public, max-age=900
hashed = public, max-age=31536000, immutable
default = public, max-age=3600
ext.woff2 = public, max-age=604800

[security]
enabled = true
content_type_options = nosniff
frame_options = SAMEORIGIN
referrer_policy = strict-origin-when-cross-origin
hsts = max-age=31536000; includeSubDomains
permissions_policy = camera=()
dns_prefetch = off
csp =
header.X-Test = 1

[compression]
enabled = true
gzip = true
brotli = true
zstd = true
min_size = 256

[limits]
max_memory_file = 8M
max_connections = 1000
per_ip_connections = 0
timeout = 30
header_timeout = 20
max_header_size = 16384
max_url_length = 8192
""" % (s.root, port)
    srv = Server(None, config=cfg, port=port, use_cli_port=False)
    r = srv.get("/style.css", {"Accept-Encoding": "br"})
    t.eq("INI with every documented key: serves", (r.status, r.h("Content-Encoding")), (200, "br"))
    t.eq("INI permissions_policy applied", r.h("Permissions-Policy"), "camera=()")
    t.eq("INI csp = (empty): no CSP header", r.h("Content-Security-Policy"), None)
    t.check("INI: no warnings about unknown keys on stderr", "unknown" not in srv.stderr().lower(),
            srv.stderr()[-500:])
    srv.stop_checked(t)


@t.case
def index_symlinks_and_limits_keys():
    s = Site({"home.html": "<html>HOME</html>", "sub/home.html": "<html>SUBHOME</html>",
              "index.html": "<html>INDEX</html>"})
    outside = s.scratch("outside.txt")
    with open(outside, "w") as f:
        f.write("outside\n")
    os.chmod(outside, 0o644)
    os.symlink(outside, s.path("link.txt"))
    cfg = ("[server]\nindex = home.html\nfollow_symlinks = true\n"
           "[limits]\nmax_url_length = 100\nmax_header_size = 1024\n")
    srv = Server(s.root, config=cfg)
    t.eq("[server] index=home.html: / serves home.html", srv.get("/").body, b"<html>HOME</html>")
    t.eq("[server] index=home.html: /sub/ serves sub/home.html", srv.get("/sub/").body,
         b"<html>SUBHOME</html>")
    r = srv.get("/link.txt")
    t.eq("[server] follow_symlinks=true: symlink out of the root served", (r.status, r.body),
         (200, b"outside\n"))
    st = nwtest.raw_status(srv.raw(b"GET /" + b"u" * 150 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    t.eq("[limits] max_url_length=100: 151-byte target -> 414", st, 414)
    st = nwtest.raw_status(srv.raw(b"GET /" + b"u" * 50 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    t.eq("[limits] max_url_length=100: 51-byte target -> 404", st, 404)
    st = nwtest.raw_status(srv.raw(b"GET /home.html HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 3000 +
                                   b"\r\nConnection: close\r\n\r\n"))
    t.check("[limits] max_header_size=1024: 3 KB header -> 4xx or closed", st is None or 400 <= st < 500, st)
    t.eq("alive", srv.get("/_health").status, 200)
    srv.stop_checked(t)


@t.case
def dir_flag_as_in_the_original():
    """The original's global --dir DIR: the directory when serve names none;
    serve's DIR wins over it."""
    a = Site({"index.html": "<html>A</html>"})
    b = Site({"index.html": "<html>B</html>"})
    srv = Server(None, args=["--dir", a.root])
    t.eq("--dir DIR serves DIR", srv.get("/").body, b"<html>A</html>")
    srv.stop_checked(t, "--dir server")
    srv = Server(b.root, args=["--dir=" + a.root])
    t.eq("serve DIR wins over --dir", srv.get("/").body, b"<html>B</html>")
    srv.stop_checked(t, "DIR and --dir server")
    p = subprocess.run([nwtest.binary(), "serve", "--dir", ""], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=10)
    t.eq("--dir '' is an error (exit 2)", p.returncode, 2)
    t.check("--dir '': the error names the flag", b"--dir" in p.stderr, p.stderr)


@t.case
def default_root_is_bundled_site():
    srv = Server(None)
    r = srv.get("/")
    t.eq("serve without DIR: / is 200 (bundled site)", r.status, 200)
    t.check("serve without DIR: / is HTML", (r.h("Content-Type") or "").startswith("text/html"), r.h("Content-Type"))
    srv.stop_checked(t)


@t.case
def bundled_site_in_a_private_directory():
    """Started as root, nano-web reads a site as [server] user, except the
    bundled one: a clone in a 0700 home directory (/root) still serves its
    www/ (found next to the binary)."""
    if os.geteuid() != 0:
        nwtest.skip_case(t, "needs root (nano-web switches users only as root)")
        return
    s = Site()
    home = s.scratch("home")
    bindir = os.path.join(home, "clone", "build")
    os.makedirs(os.path.join(bindir, "www"))
    os.chmod(home, 0o700)
    exe = os.path.join(bindir, "nano-web")
    shutil.copy2(nwtest.binary(), exe)
    with open(os.path.join(bindir, "www", "index.html"), "w") as f:
        f.write("<html>bundled, in a private home</html>")
    port = nwtest.free_port()
    p = subprocess.Popen([exe, "serve", "--port", str(port), "--listen", "127.0.0.1",
                          "--xdp", "off"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         env=nwtest.base_env(None), cwd="/")
    try:
        body, deadline = None, time.monotonic() + 20
        while body is None and p.poll() is None and time.monotonic() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/")
                body = c.getresponse().read()
                c.close()
            except OSError:
                time.sleep(0.1)
        t.eq("bundled site in a 0700 directory, as root: / is served", body,
             b"<html>bundled, in a private home</html>")
    finally:
        if p.poll() is None:
            p.terminate()
        err = p.communicate(timeout=20)[1]
    t.eq("... and nano-web exits 0 (%s)" % err.decode(errors="replace")[-300:],
         p.returncode, 0)


@t.case
def empty_cache_values_send_no_cache_control():
    """nanoweb.ini(5): an empty [cache] value sends no Cache-Control header
    (it used to turn every matching response into a 500)."""
    s = Site(dict(FILES, **{"big.bin": bytes(range(256)) * 64, "font.woff2": "w0ff\n"}))
    cfg = ("[cache]\ndefault =\nhtml =\nhashed =\next.woff2 =\n"
           "[limits]\nmax_memory_file = 4K\n")
    srv = Server(s.root, config=cfg)
    for path in ("/", "/index.html", "/style.css", "/app.3f9a1c2b.js", "/font.woff2",
                 "/big.bin"):
        for method in ("GET", "HEAD"):
            r = srv.request(method, path)
            t.eq("empty [cache] values: %s %s -> 200" % (method, path), r.status, 200)
            t.check("empty [cache] values: %s %s has no Cache-Control" % (method, path),
                    not r.has("Cache-Control"), r.h("Cache-Control"))
        etag = srv.get(path).h("ETag")
        r = srv.get(path, {"If-None-Match": etag or '"x"'})
        t.eq("empty [cache] values: %s revalidated -> 304" % path, r.status, 304)
        t.check("empty [cache] values: 304 of %s has no Cache-Control" % path,
                not r.has("Cache-Control"), r.h("Cache-Control"))
    r = srv.get("/style.css", {"Accept-Encoding": "gzip"})
    t.eq("empty [cache] values: gzip variant -> 200", (r.status, r.h("Content-Encoding")), (200, "gzip"))
    t.check("empty [cache] values: gzip variant has no Cache-Control", not r.has("Cache-Control"),
            r.h("Cache-Control"))
    srv.stop_checked(t)
    # Only the empty rule is dropped: the others still apply.
    srv = Server(s.root, config="[cache]\nhtml =\ndefault = public, max-age=5\n")
    t.eq("html empty: /index.html has no Cache-Control", srv.get("/index.html").h("Cache-Control"), None)
    t.eq("html empty: default still sent", srv.get("/style.css").h("Cache-Control"), "public, max-age=5")
    srv.stop_checked(t)


@t.case
def line_length_limit_as_documented():
    """nanoweb.ini(5): lines up to 8190 bytes (newline not counted); the error
    for a longer one states the same limit."""
    s = Site(FILES)
    ok_line = "csp = " + "a" * (8190 - 6)
    srv = Server(s.root, config="[security]\n%s\n" % ok_line)
    t.eq("an 8190-byte line is accepted", len(srv.get("/").h("Content-Security-Policy") or ""), 8190 - 6)
    srv.stop_checked(t)
    man = os.path.join(nwtest.srcdir(), "man", "nanoweb.ini.5.in")
    with open(man) as f:
        t.check("nanoweb.ini(5) documents 8190 bytes", "up to 8190 bytes" in f.read(), man)
    p = write_tmp("[security]\n%sa\n" % ok_line)
    try:
        rc, out, err = run_cli(["serve", s.root, "--config", p, "--xdp", "off"], timeout=8)
        t.eq("an 8191-byte line exits 2", rc, 2)
        t.check("the message names line 2 and the documented limit",
                "%s:2: line too long (at most 8190 bytes)" % p in err, err)
    finally:
        os.unlink(p)


@t.case
def config_errors_escape_control_bytes():
    """An error quoting the config file's bytes prints control bytes as
    \\xHH: a value cannot clear the terminal or forge a line."""
    s = Site(FILES)
    p = write_tmp("[server]\nport = 80\x1b[2J\x07\n[limits]\n\x1b]0;x\x07 = 1\n")
    try:
        rc, out, err = run_cli(["serve", s.root, "--config", p, "--xdp", "off"], timeout=8)
        t.eq("a port with control bytes exits 2", rc, 2)
        t.check("the message names line 2, the bytes escaped",
                "%s:2: [server] port: invalid port '80\\x1b[2J\\x07'" % p in err, err)
        t.check("no raw control byte on stderr",
                not any(c < " " and c != "\n" for c in err), repr(err))
    finally:
        os.unlink(p)
    rc, out, err = run_cli(["completion", "x\x1b[2J"])
    t.check("completion: an unknown shell is escaped too",
            rc == 2 and "\\x1b[2J" in err and "\x1b" not in err, repr(err))


if __name__ == "__main__":
    t.main()
