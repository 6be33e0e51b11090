#!/usr/bin/python3
"""Deterministic fixture trees for the nano-web benchmark.

Everything is derived from fixed seeds, and every file gets the same fixed
mtime, so two runs (and two machines) serve byte-identical trees with
identical Last-Modified values. Python 3 standard library only; the brotli
and zstd siblings come from Debian's `brotli` and `zstd` commands when they
are installed (they are deterministic too).

Main tree (served by every server in every scenario):
  index.html            ~2 KB HTML page            (+ .gz .br .zst)
  assets/app.js         ~80 KB compressible JS     (+ .gz .br .zst)
  assets/style.css      ~12 KB CSS                 (+ .gz .br .zst)
  blob.bin              1 MiB incompressible bytes
  site/dNN/pageNNNN.html  N small pages (10,000 by default), identity only

Big tree (start-up measurement only): 400 x 256 KB, half text, half random.
"""
import gzip
import os
import random
import shutil
import subprocess
import sys

MTIME = 1704067200  # 2024-01-01T00:00:00Z

WORDS = ("static server kernel packet request response header cache "
         "compress brotli gzip zstd latency throughput socket epoll thread "
         "connection keep alive snapshot memory page bundle module event "
         "handler buffer stream vector render layout style script index "
         "router state effect hook component element attribute value").split()


def _text(rng, nwords):
    return " ".join(rng.choice(WORDS) for _ in range(nwords))


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o644)


def html_page(rng, title, target):
    head = ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>%s</title>\n<link rel=\"stylesheet\" href=\"/assets/style.css\">\n"
            "<script defer src=\"/assets/app.js\"></script>\n</head>\n<body>\n"
            "<header><h1>%s</h1><nav><a href=\"/\">Home</a> <a href=\"/docs/\">Docs</a></nav></header>\n<main>\n"
            % (title, title))
    tail = "</main>\n<footer>nano-web benchmark fixture</footer>\n</body>\n</html>\n"
    body = []
    size = len(head) + len(tail)
    while size < target:
        p = "<p>%s.</p>\n" % _text(rng, rng.randint(8, 20)).capitalize()
        body.append(p)
        size += len(p)
    out = (head + "".join(body) + tail).encode()
    return out[:max(target, len(head) + len(tail))] if False else out


def js_bundle(rng, target):
    parts = ["/* bundle generated for the nano-web benchmark */\n\"use strict\";\n"]
    size = len(parts[0])
    i = 0
    while size < target:
        a, b, c = (rng.choice(WORDS) for _ in range(3))
        s = ("export function %s_%s_%d(%s, %s) {\n"
             "  const %s = { kind: \"%s\", size: %d, items: [] };\n"
             "  for (let i = 0; i < %s.length; i++) {\n"
             "    if (%s[i] && %s[i].%s !== undefined) %s.items.push(%s[i].%s);\n"
             "  }\n  return %s;\n}\n"
             % (a, b, i, a, b, c, a, rng.randint(0, 9999), a, a, a, b, c, a, b, c))
        parts.append(s)
        size += len(s)
        i += 1
    return "".join(parts).encode()


def css_sheet(rng, target):
    parts = [":root { --fg: #222; --bg: #fff; --accent: #3060c0; }\n"]
    size = len(parts[0])
    i = 0
    props = ["margin", "padding", "color", "background", "border", "font-size",
             "line-height", "display", "gap", "width"]
    while size < target:
        sel = ".%s-%s-%d" % (rng.choice(WORDS), rng.choice(WORDS), i)
        decl = " ".join("%s: %dpx;" % (rng.choice(props), rng.randint(0, 64))
                        for _ in range(rng.randint(2, 5)))
        s = "%s { %s }\n" % (sel, decl)
        parts.append(s)
        size += len(s)
        i += 1
    return "".join(parts).encode()


def siblings(paths, log=print):
    """Writes .gz (stdlib, mtime 0), .br and .zst (Debian tools) next to paths."""
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        with open(p + ".gz", "wb") as f:
            f.write(gzip.compress(data, compresslevel=9, mtime=0))
    br = shutil.which("brotli")
    zs = shutil.which("zstd")
    if br:
        subprocess.run([br, "-f", "-k", "-q", "11"] + list(paths), check=True)
    else:
        log("fixtures: no `brotli` command: no .br siblings (apt-get install brotli)")
    if zs:
        subprocess.run([zs, "-q", "-f", "-k", "-19"] + list(paths), check=True)
    else:
        log("fixtures: no `zstd` command: no .zst siblings (apt-get install zstd)")


def _fix_times(root):
    for d, dirs, files in os.walk(root):
        os.chmod(d, 0o755)
        for n in files:
            os.utime(os.path.join(d, n), (MTIME, MTIME))
        os.utime(d, (MTIME, MTIME))


def make_main(root, site_files=10000, log=print):
    rng = random.Random(20240101)
    _write(os.path.join(root, "index.html"), html_page(rng, "nano-web benchmark", 2048))
    _write(os.path.join(root, "assets/app.js"), js_bundle(rng, 80 * 1024))
    _write(os.path.join(root, "assets/style.css"), css_sheet(rng, 12 * 1024))
    _write(os.path.join(root, "blob.bin"), random.Random(1).randbytes(1 << 20))
    siblings([os.path.join(root, p) for p in ("index.html", "assets/app.js", "assets/style.css")], log)
    paths = []
    prng = random.Random(7)
    for i in range(site_files):
        rel = "site/d%02d/page%04d.html" % (i % 100, i)
        _write(os.path.join(root, rel),
               html_page(prng, "page %d" % i, prng.randint(400, 1600)))
        paths.append("/" + rel)
    with open(os.path.join(root, "..", "site-paths.txt"), "w") as f:
        order = list(paths)
        random.Random(3).shuffle(order)
        f.write("\n".join(order) + "\n")
    _fix_times(root)
    return paths


def make_big(root, nfiles=400, size=256 * 1024):
    rng = random.Random(99)
    for i in range(nfiles):
        p = os.path.join(root, "f%03d" % (i // 100), "file%04d%s" % (i, ".txt" if i % 2 == 0 else ".bin"))
        if i % 2 == 0:
            chunk = []
            n = 0
            while n < size:
                s = _text(rng, 12) + "\n"
                chunk.append(s)
                n += len(s)
            data = "".join(chunk).encode()[:size]
        else:
            data = rng.randbytes(size)
        _write(p, data)
    _fix_times(root)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--site-files", type=int, default=10000)
    ap.add_argument("--big", action="store_true", help="write the 100 MB tree instead")
    a = ap.parse_args()
    if a.big:
        make_big(a.dir)
    else:
        make_main(a.dir, a.site_files)
