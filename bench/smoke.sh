#!/bin/bash
# make check: runs the benchmark harness for a few seconds so it cannot rot.
# Asserts that it produced results.json/results.md with a row for every
# server x scenario it ran, that nano-web's rows served requests, and that
# every server gave the answer each scenario expects (its status, and a
# compressed coding where one is asked for, so that a peer whose
# compression is not set up cannot make the comparison unfair unnoticed).
# Never asserts timings. A peer that is not installed is a failure when
# CI=true, otherwise a loud SKIP.
set -u
src=${NW_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${NW_BUILDDIR:-.}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

if [ ! -x "$build/nano-web" ]; then
	echo "SKIP: $build/nano-web is not built"
	exit 77
fi
for t in ip; do :; done

servers="nano-web,nano-web+xdp"
rc=0
for peer in nginx h2o lighttpd; do
	if command -v "$peer" >/dev/null 2>&1 || [ -x "/usr/sbin/$peer" ]; then
		servers="$servers,$peer"
	elif [ "${CI:-}" = true ]; then
		echo "FAIL: $peer is not installed (CI installs it: apt-get install nginx-light h2o lighttpd lighttpd-mod-deflate)"
		rc=1
	else
		echo "######################################################"
		echo "### SKIP: $peer is not installed: no $peer rows"
		echo "######################################################"
	fi
done
# gzip is an acceptable answer to "br, gzip", so the answer check cannot
# see a missing nginx brotli module: look for it
if [[ ",$servers," == *,nginx,* ]] && [ "${CI:-}" = true ] &&
	[ ! -e /usr/lib/nginx/modules/ngx_http_brotli_static_module.so ]; then
	echo "FAIL: nginx has no brotli_static module (CI installs it: apt-get install libnginx-mod-http-brotli-static)"
	rc=1
fi
[ $rc = 0 ] || exit $rc

out=$(mktemp -d "${TMPDIR:-/tmp}/nwbench-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
start=$(date +%s.%N)
PATH=$PATH:/usr/sbin:/sbin "$PY" "$src/bench/lib/nwbench.py" --smoke --nano-web "$build/nano-web" \
	--servers "$servers" --results "$out" >"$out/stdout" 2>"$out/stderr"
status=$?
end=$(date +%s.%N)
cat "$out/stderr"
if [ $status != 0 ]; then
	echo "FAIL: the harness exited with $status"
	exit 1
fi
dir=$(cat "$out/stdout" | tail -1)
"$PY" - "$dir" <<'PYEOF'
import json, os, sys
d = sys.argv[1]
for f in ("results.json", "results.md"):
    if not os.path.isfile(os.path.join(d, f)) or os.path.getsize(os.path.join(d, f)) == 0:
        sys.exit("FAIL: no %s in %s" % (f, d))
res = json.load(open(os.path.join(d, "results.json")))
md = open(os.path.join(d, "results.md")).read()
bad = []
ran = [s for s in res["servers"] if s.get("available")]
if not any(s["name"] == "nano-web" for s in ran):
    bad.append("nano-web did not run: %s" % [s for s in res["servers"] if s["name"] == "nano-web"])
for s in ran:
    for scn in res["options"]["scenarios"]:
        row = res["summary"].get("%s|%s" % (s["id"], scn))
        if row is None:
            bad.append("no result for %s x %s" % (s["id"], scn))
            continue
        if "| %s | %s |" % (scn, s["id"]) not in md:
            bad.append("no results.md row for %s x %s" % (s["id"], scn))
        for m in row.get("probe_mismatch", []):
            bad.append("%s x %s: wrong answer: %s" % (s["id"], scn, m))
        if s["name"].startswith("nano-web") and not row.get("requests"):
            bad.append("%s x %s: no requests served (%s)" % (s["id"], scn, row.get("errors")))
        if row.get("status_errors") and (row.get("status") or 0) < 400:
            print("WARN: %s x %s: %s responses with status >= 400 under load" % (
                s["id"], scn, row["status_errors"]))
peers = {s["name"] for s in ran} & {"nginx", "h2o", "lighttpd"}
if peers and "nano-web" in {s["name"] for s in ran}:
    for tr in res["options"]["transports"]:
        for scn in res["options"]["scenarios"]:
            row = next((r for r in res.get("vs_best", [])
                        if r["transport"] == tr and r["scenario"] == scn), None)
            if row is None or "nano-web" not in row:
                bad.append("no ratio to the best peer for nano-web on %s x %s" % (tr, scn))
            elif "| %s | %s | %s" % (tr, scn, row["best"].split("@")[0]) not in md:
                bad.append("no results.md best-peer row for %s x %s" % (tr, scn))
wc = res.get("wrk_check")
if wc is not None and not wc.get("requests"):
    bad.append("wrk check failed: %s" % wc)
for s in res["servers"]:
    if not s.get("available"):
        print("note: %s not available: %s" % (s["id"], s.get("reason")))
if bad:
    print("\n".join("FAIL: " + b for b in bad))
    sys.exit(1)
print("OK: %d servers x %d scenarios, results in %s" % (len(ran), len(res["options"]["scenarios"]), d))
PYEOF
rc=$?
echo "smoke took $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"

# bench/dev/pair.sh, once for a second: nano-web against itself
pair=$(ROUNDS=1 SECS=1 bash "$src/bench/dev/pair.sh" "$build" "$build" / 2>&1)
if [[ $pair == "pair.sh: needs "* ]] && [ "${CI:-}" != true ]; then
	echo "### SKIP: bench/dev/pair.sh not run: ${pair#pair.sh: }"
elif [[ $pair =~ A/B\ median\ [0-9.]+ ]]; then
	echo "OK: pair.sh: ${pair##*$'\n'}"
else
	echo "FAIL: bench/dev/pair.sh gave no ratio:"
	echo "$pair"
	rc=1
fi
exit $rc
