#!/bin/bash
# Dev check on loopback (generic XDP) inside a namespace of its own:
# helper + python http.server on :8080, one cached path, curl hit and miss.
# usage: lo-demo.sh BUILDDIR   (as root)
set -u
B=${1:-/work/build-xdp}
D=$(cd "$(dirname "$0")" && pwd)
NS=nwxlo$$
PIN=/sys/fs/bpf/nwx-lo-$$
SOCK=/tmp/nwx-lo-$$.sock
W=$(mktemp -d)
cleanup() {
	[ -n "${PUSH:-}" ] && kill "$PUSH" 2>/dev/null
	[ -n "${HELPER:-}" ] && kill -TERM "$HELPER" 2>/dev/null && sleep 0.5
	[ -n "${HTTP:-}" ] && kill "$HTTP" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$W" "$PIN"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
echo "hello from XDP" > "$W/hit.txt"
mkdir "$W/www"; echo "from python" > "$W/www/miss.txt"
ip netns exec "$NS" python3 -m http.server 8080 --bind :: -d "$W/www" >/dev/null 2>&1 & HTTP=$!
nsenter --net=/run/netns/$NS "$B/nanoweb-xdpd" --foreground --iface lo --mode generic \
	--pin-dir "$PIN" --socket "$SOCK" --allow-uid 0 2>"$W/helper.log" & HELPER=$!
sleep 1.5
ip netns exec "$NS" python3 "$D/push.py" "$SOCK" 8080 /hit.txt="$W/hit.txt" & PUSH=$!
sleep 1
for u in /hit.txt /miss.txt; do
	echo "== $u"; ip netns exec "$NS" curl -sS -m 5 -i "http://127.0.0.1:8080$u"
done
echo "== keep-alive: hit, miss, hit"
ip netns exec "$NS" curl -sS -m 5 "http://127.0.0.1:8080/hit.txt" "http://127.0.0.1:8080/miss.txt" "http://[::1]:8080/hit.txt"
echo "== stats"; nsenter --net=/run/netns/$NS "$B/nanoweb-xdpd" stats --socket "$SOCK"
echo "== helper log"; cat "$W/helper.log"
