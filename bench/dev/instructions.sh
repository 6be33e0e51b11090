#!/bin/bash
# Dev measurement for the issue note (not a test): userspace instructions
# per request of nano-web, counted by callgrind, by object (nano-web,
# libmicrohttpd, libc). Deterministic where timings move by 5% between
# runs, so it shows changes of 1-2% in the request path. libmicrohttpd's
# memset of its connection pool (max_header_size + 4 KiB, zeroed for every
# request) is listed apart: callgrind counts each byte of `rep stosb`, so
# its count says nothing about its time (about 3% of the server's CPU on
# HEAD by perf).
#
# usage: instructions.sh BUILDDIR [SITE]   (SITE defaults to the bundled www/)
# Kinds: HEAD /index.html, GET /index.html, a browser's 304 revalidation of
# it (both validators, its brotli ETag) and a GET of a missing page. Each
# is loaded for SECS seconds (default 3) over 4 keep-alive connections.
set -u
B=${1:?usage: instructions.sh BUILDDIR [SITE]}
HERE=$(cd "$(dirname "$0")" && pwd)
SITE=${2:-$HERE/../../www}
SECS=${SECS:-3}
PORT=${PORT:-3996}
for tool in valgrind callgrind_annotate callgrind_control curl cc python3; do
	command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cc -O2 -pthread -o "$W/nwload" "$HERE/../lib/nwload.c" || exit 1
# stays root (user =): callgrind_control must reach the process
printf '[server]\nuser =\n' > "$W/nanoweb.ini"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$W/cg.%p" \
	"$B/nano-web" serve "$SITE" --config "$W/nanoweb.ini" --port "$PORT" \
	--listen 127.0.0.1 --threads 1 --xdp off > "$W/nano-web.log" 2>&1 &
VG=$!
URL=http://127.0.0.1:$PORT/index.html
for _ in $(seq 120); do
	curl -s -o /dev/null "$URL" && break
	sleep 0.5
done
header() { # NAME [curl args]: a response header of /index.html
	local name=$1
	shift
	curl -s -o /dev/null -D - "$@" "$URL" | tr -d '\r' |
		awk -F': ' -v n="$name" 'tolower($1) == tolower(n) { print $2 }'
}
AE='gzip, deflate, br, zstd'
ETAG=$(header ETag -H "Accept-Encoding: $AE")
LASTMOD=$(header Last-Modified)

# per-object sums of one dump, divided by the requests
summarize() { # FILE REQUESTS
	python3 - "$1" "$2" <<'EOF'
import collections, re, subprocess, sys
f, n = sys.argv[1], int(sys.argv[2])
out = subprocess.run(["callgrind_annotate", "--threshold=100", f],
                     capture_output=True, text=True).stdout
by = collections.Counter()
for line in out.splitlines():
    m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(\S+) \[(.*)\]$", line)
    if not m:
        continue
    obj = m.group(3).split("/")[-1]
    if "memset" in m.group(2):
        obj = "pool memset"
    elif obj.startswith("nano-web"):
        obj = "nano-web"
    by[obj] += int(m.group(1).replace(",", ""))
memset = by.pop("pool memset", 0)
total = sum(by.values())
print("%7d  %s  (memset: %d)" % (total // n, "  ".join(
    "%s %d" % (k, v // n) for k, v in by.most_common() if v // n), memset // n))
EOF
}
DUMPS=0 # callgrind numbers its dumps cg.PID.1, .2, ...
run() { # LABEL PATH [nwload args]
	local label=$1 path=$2 n
	shift 2
	callgrind_control -z $VG > /dev/null 2>&1
	callgrind_control -i on $VG > /dev/null 2>&1
	n=$("$W/nwload" -c 4 -d "$SECS" "$@" 127.0.0.1 "$PORT" "$path" |
		sed -n 's/.*"requests":\([0-9]*\).*/\1/p')
	callgrind_control -i off $VG > /dev/null 2>&1
	callgrind_control -d $VG > /dev/null 2>&1
	DUMPS=$((DUMPS + 1))
	printf '%-15s %6s req  ' "$label" "$n"
	summarize "$W/cg.$VG.$DUMPS" "${n:-1}"
}
echo "instructions per request (excluding the pool memset), by object:"
run head /index.html -m HEAD
run get /index.html
run revalidate_304 /index.html -H "Accept-Encoding: $AE" \
	-H "If-None-Match: $ETAG" -H "If-Modified-Since: $LASTMOD"
run not_found /no/such/page.html
kill $VG
wait $VG 2> /dev/null
