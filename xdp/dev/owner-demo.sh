#!/bin/bash
# Dev check of the single-writer rule (loopback, generic XDP, in a network
# and mount namespace of its own). Two userspace servers on :8081 ("site A")
# and :8082 ("site B"); nwxc.py plays two nano-webs:
#  - A holds the helper (port 8081, /x.txt = "XDP A");
#  - B's SET_PORTS/BEGIN/PUT/DELETE/COMMIT are refused with E_BUSY, A's
#    session and answers are untouched;
#  - a keep-alive connection XDP owns on 8081 is open when A leaves and B
#    takes over (port 8082, /x.txt = "XDP B"): its next request must be
#    handed to site A's server, never answered with B's content.
# usage: owner-demo.sh BUILDDIR   (as root). Exit status 0: all as expected.
set -u
if [ -z "${NWX_UNSHARED:-}" ]; then
	export NWX_UNSHARED=1
	exec unshare --mount --propagation private bash "$0" "$@"
fi
mount -t bpf bpf /sys/fs/bpf || exit 1
B=${1:-/work/build-xdp2}
D=$(cd "$(dirname "$0")" && pwd)
NS=nwxown$$
PIN=/sys/fs/bpf/nwx-own
SOCK=/tmp/nwx-own-$$.sock
W=$(mktemp -d)
PIDS=()
FAIL=0
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "${HELPER:-}" ] && kill -TERM "$HELPER" 2>/dev/null && wait "$HELPER" 2>/dev/null
	ip -n "$NS" link set dev lo xdpgeneric off 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$W" "$PIN" "$SOCK"
}
trap cleanup EXIT
in_ns() { nsenter --net=/run/netns/$NS "$@"; }
NSX="nsenter --net=/run/netns/$NS" # for background jobs: $! is the process itself
expect() { # what got want
	if [ "$2" = "$3" ]; then echo "ok   $1: $2"; else echo "FAIL $1: got '$2', want '$3'"; FAIL=1; fi
}
get() { in_ns curl -sS -m 5 "http://127.0.0.1:$1$2"; }

ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -p "$W/a" "$W/b"
printf 'userspace A' > "$W/a/x.txt"
printf 'userspace B' > "$W/b/x.txt"
$NSX python3 -m http.server 8081 --bind 127.0.0.1 -d "$W/a" >/dev/null 2>&1 & PIDS+=($!)
$NSX python3 -m http.server 8082 --bind 127.0.0.1 -d "$W/b" >/dev/null 2>&1 & PIDS+=($!)
$NSX "$B/nanoweb-xdpd" --foreground --iface lo --mode generic --pin-dir "$PIN" \
	--socket "$SOCK" --allow-uid 0 2>"$W/helper.log" & HELPER=$!
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
sleep 0.5

$NSX python3 "$D/nwxc.py" "$SOCK" hold 8081 /x.txt="XDP A" > "$W/a.out" & A=$!; PIDS+=($A)
for _ in $(seq 50); do grep -q committed "$W/a.out" && break; sleep 0.1; done
expect "A's hit on 8081" "$(get 8081 /x.txt)" "XDP A"

echo "== B tries to push while A is connected"
in_ns python3 "$D/nwxc.py" "$SOCK" try 8082 /x.txt="XDP B"
expect "B refused with E_BUSY on every writing message" "$?" 0
expect "A still answered by XDP" "$(get 8081 /x.txt)" "XDP A"
expect "8082 not served by XDP" "$(get 8082 /x.txt)" "userspace B"

# a keep-alive connection that XDP owns on 8081, across A leaving
cat > "$W/ka.py" <<'PY'
import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", 8081))
def get():
    s.sendall(b"GET /x.txt HTTP/1.1\r\nHost: a\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, body = buf.split(b"\r\n\r\n", 1)
    n = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0]
    while len(body) < n:
        body += s.recv(4096)
    return body.decode()
print(get(), flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
print(get(), flush=True)
PY
$NSX python3 "$W/ka.py" "$W/go" > "$W/ka.out" 2>&1 & KA=$!
for _ in $(seq 50); do [ -s "$W/ka.out" ] && break; sleep 0.1; done

echo "== A leaves, B takes over"
kill "$A"; wait "$A" 2>/dev/null
sleep 0.3
$NSX python3 "$D/nwxc.py" "$SOCK" hold 8082 /x.txt="XDP B" > "$W/b.out" & PIDS+=($!)
for _ in $(seq 50); do grep -q committed "$W/b.out" && break; sleep 0.1; done
cat "$W/b.out"
in_ns python3 "$D/nwxc.py" "$SOCK" hello
touch "$W/go"; wait "$KA"
expect "keep-alive on 8081: 1st (XDP)" "$(sed -n 1p "$W/ka.out")" "XDP A"
expect "keep-alive on 8081: 2nd (handed off to site A)" "$(sed -n 2p "$W/ka.out")" "userspace A"
expect "B's hit on 8082" "$(get 8082 /x.txt)" "XDP B"
expect "8081 no longer served by XDP" "$(get 8081 /x.txt)" "userspace A"
in_ns python3 "$D/nwxc.py" "$SOCK" stats

echo "== helper restart (SIGQUIT, adopt): the first writer inherits"
kill -QUIT "$HELPER"; wait "$HELPER"
$NSX "$B/nanoweb-xdpd" --foreground --iface lo --mode generic --pin-dir "$PIN" \
	--socket "$SOCK" --allow-uid 0 2>>"$W/helper.log" & HELPER=$!
for _ in $(seq 50); do grep -q "ready" <(tail -n 3 "$W/helper.log") && break; sleep 0.1; done
expect "8082 served from the adopted cache" "$(get 8082 /x.txt)" "XDP B"
$NSX python3 "$D/nwxc.py" "$SOCK" hold 8082 /x.txt="XDP B2" > "$W/c.out" & PIDS+=($!)
for _ in $(seq 50); do grep -q committed "$W/c.out" && break; sleep 0.1; done
in_ns python3 "$D/nwxc.py" "$SOCK" try 8081 /x.txt="XDP D" >/dev/null
expect "a second writer after the restart is refused" "$?" 0
expect "the inheriting writer's commit" "$(get 8082 /x.txt)" "XDP B2"
grep -q "takes over the adopted cache" "$W/helper.log"
expect "the helper logged the inheritance" "$?" 0
echo "== helper log"; cat "$W/helper.log"
exit $FAIL
