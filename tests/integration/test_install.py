#!/usr/bin/env python3
"""make install / uninstall into a DESTDIR: the systemd units name the
configured directories (their ExecStart binary and --config file are the
installed ones), an edited nanoweb.ini survives `make install` and
`make uninstall`, and an unedited one is removed by uninstall."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwtest  # noqa: E402

t = nwtest.Tests("install")


def make(target, destdir):
    # A plain make of this build directory (not a sub-make of `make check`:
    # no inherited MAKEFLAGS).
    p = subprocess.run(["make", "-s", "-C", nwtest.builddir(), target, "DESTDIR=" + destdir],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=nwtest.base_env(), stdin=subprocess.DEVNULL, timeout=300)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def files_under(d):
    out = []
    for root, _, names in os.walk(d):
        out += [os.path.join(root, n) for n in names]
    return sorted(out)


@t.case
def units_and_config_file():
    dest = tempfile.mkdtemp(prefix="nw-destdir-")
    try:
        rc, out = make("install", dest)
        t.eq("make install exits 0", rc, 0)
        if rc:
            print(out[-2000:])
            return
        units = [f for f in files_under(dest) if f.endswith(".service")]
        t.check("nanoweb.service installed", any(f.endswith("/nanoweb.service") for f in units), units)
        inis = [f for f in files_under(dest) if f.endswith("/nanoweb.ini")]
        t.eq("one nanoweb.ini installed", len(inis), 1)
        for u in units:
            with open(u) as f:
                text = f.read()
            name = os.path.basename(u)
            t.check("%s: no @placeholder@ left" % name,
                    not re.search(r"@(bindir|sbindir|sysconfdir)@", text), text[:300])
            m = re.search(r"^ExecStart=(\S+) .*--config (\S+)", text, re.M)
            t.check("%s: ExecStart with --config" % name, m, text)
            if m:
                t.check("%s: ExecStart names the installed binary (%s)" % (name, m.group(1)),
                        os.access(dest + m.group(1), os.X_OK), files_under(dest))
                t.check("%s: --config names the installed nanoweb.ini (%s)" % (name, m.group(2)),
                        os.path.isfile(dest + m.group(2)), inis)
            if name == "nanoweb.service":
                t.check("nanoweb.service: RestartPreventExitStatus=2",
                        re.search(r"^RestartPreventExitStatus=2$", text, re.M), text)
        if not inis:
            return
        ini = inis[0]
        with open(ini, "a") as f:
            f.write("# edited by the admin\n")
        rc, out = make("install", dest)
        t.eq("second make install exits 0", rc, 0)
        with open(ini) as f:
            t.check("make install keeps an edited nanoweb.ini", f.read().endswith("# edited by the admin\n"), "")
        rc, out = make("uninstall", dest)
        t.eq("make uninstall exits 0", rc, 0)
        t.eq("make uninstall keeps only the edited nanoweb.ini", files_under(dest), [ini])
        shutil.copy(os.path.join(nwtest.srcdir(), "conf", "nanoweb.ini"), ini)
        rc, out = make("uninstall", dest)
        t.eq("make uninstall of an unedited nanoweb.ini leaves nothing", files_under(dest), [])
    finally:
        shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    t.main()
