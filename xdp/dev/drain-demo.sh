#!/bin/bash
# Dev check of the helper's clean stop (SIGTERM drain) over a veth pair:
# native XDP on the server's end, a pass-through XDP program on the
# client's. nano-web (+ our helper) in the server namespace; in the client
# namespace:
#  - "busy": one keep-alive connection doing a GET every 50 ms across the
#    SIGTERM: every answer must be right, no reset (XDP hands it off at its
#    first request after the drain flag is set; nano-web answers the rest);
#  - "idle": one keep-alive connection, one GET before the SIGTERM, then
#    silent past the drain period: the helper's keep-alive-style probe makes
#    its client send an ACK during the drain, XDP hands it off on that ACK,
#    and its next request (after the detach) is answered by nano-web
#    (without the probe it would be reset: no program left to hand it off,
#    no kernel socket);
#  - the same over IPv6 ("idle6");
#  - new connections during the drain (the kernel answers their SYNs).
# Afterwards: no program on the interface, no pins.
# usage: drain-demo.sh BUILDDIR   (as root). Exit status 0: all as expected.
# DRAIN_MS=0 shows the stop without a drain (the busy connection is reset).
set -u
if [ -z "${NWX_UNSHARED:-}" ]; then
	export NWX_UNSHARED=1
	exec unshare --mount --propagation private bash "$0" "$@"
fi
mount -t bpf bpf /sys/fs/bpf || exit 1
B=${1:-/work/build-xdp2}
D=$(cd "$(dirname "$0")" && pwd)
ID=$(printf '%x' $(( $$ % 65536 )))
S=nwxdr-$ID-s; C=nwxdr-$ID-c; VS=vds$ID; VC=vdc$ID
A4S=10.232.0.1; A4C=10.232.0.2; A6S=fd00:232::1; A6C=fd00:232::2
PIN=/sys/fs/bpf/nwx-drain
W=$(mktemp -d); chmod 755 "$W"
PIDS=()
FAIL=0
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "${HELPER:-}" ] && kill -TERM "$HELPER" 2>/dev/null && wait "$HELPER" 2>/dev/null
	ip netns del "$S" 2>/dev/null; ip netns del "$C" 2>/dev/null
	rm -rf "$W" "$PIN"
}
trap cleanup EXIT
NS_S="nsenter --net=/run/netns/$S"; NS_C="nsenter --net=/run/netns/$C"
expect() { if [ "$2" = "$3" ]; then echo "ok   $1: $2"; else echo "FAIL $1: got '$2', want '$3'"; FAIL=1; fi; }

ip netns add "$S"; ip netns add "$C"
ip -n "$S" link set lo up; ip -n "$C" link set lo up
ip link add "$VS" netns "$S" type veth peer name "$VC" netns "$C"
ip -n "$S" addr add $A4S/24 dev "$VS"; ip -n "$C" addr add $A4C/24 dev "$VC"
ip -n "$S" -6 addr add $A6S/64 dev "$VS" nodad; ip -n "$C" -6 addr add $A6C/64 dev "$VC" nodad
ip -n "$S" link set "$VS" up; ip -n "$C" link set "$VC" up
cat > "$W/pass.bpf.c" <<'C'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int pass_xdp(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
C
clang -O2 -target bpf -I/usr/include/$(uname -m)-linux-gnu -c "$W/pass.bpf.c" -o "$W/pass.bpf.o" || exit 1
ip -force -n "$C" link set dev "$VC" xdpdrv obj "$W/pass.bpf.o" sec xdp || exit 1

mkdir "$W/site"
head -c 700 /dev/zero | tr '\0' 'x' > "$W/site/hit.txt"
cat > "$W/nanoweb.ini" <<INI
[server]
user = nobody
[xdp]
iface = $VS
attach = native
socket = $W/xdpd.sock
pin_dir = $PIN
INI
$NS_S "$B/nanoweb-xdpd" --foreground --config "$W/nanoweb.ini" --drain-ms "${DRAIN_MS:-2000}" \
	2>"$W/helper.log" & HELPER=$!
for _ in $(seq 50); do [ -S "$W/xdpd.sock" ] && break; sleep 0.1; done
$NS_S "$B/nano-web" serve "$W/site" --port 8080 --listen :: --xdp on \
	--xdp-iface "$VS" --config "$W/nanoweb.ini" >"$W/nanoweb.log" 2>&1 & PIDS+=($!)
for _ in $(seq 100); do grep -q "in the kernel" "$W/nanoweb.log" && break; sleep 0.1; done

cat > "$W/ka.py" <<'PY'
import socket, sys, time
addr, mode, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
want = b"x" * 700
s = socket.create_connection((addr, 8080))
def get():
    s.sendall(b"GET /hit.txt HTTP/1.1\r\nHost: a\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d: raise ConnectionError("closed")
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    n = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0]
    while len(body) < n:
        body += s.recv(4096)
    return body == want
ok = bad = 0
err = ""
t0 = time.time()
try:
    if mode == "busy":
        while time.time() - t0 < secs:
            if get(): ok += 1
            else: bad += 1
            time.sleep(0.05)
    else:
        ok += get()
        time.sleep(secs)
        ok += get()
except Exception as e:
    err = type(e).__name__
print("%s ok=%d bad=%d err=%s" % (mode, ok, bad, err or "none"), flush=True)
PY
$NS_C python3 "$W/ka.py" $A4S busy 5 > "$W/busy.out" 2>&1 & BUSY=$!
$NS_C python3 "$W/ka.py" $A4S idle 4.5 > "$W/idle.out" 2>&1 & IDLE=$!
$NS_C python3 "$W/ka.py" $A6S idle6 4.5 > "$W/idle6.out" 2>&1 & IDLE6=$!
sleep 1.5
echo "== before SIGTERM"; $NS_S "$B/nanoweb-xdpd" stats --socket "$W/xdpd.sock" | grep -E "^(hits|handoffs|flow_entries)"
kill -TERM "$HELPER"
sleep 0.3
n=0; for i in $(seq 10); do $NS_C curl -sf -m 2 -o /dev/null http://$A4S:8080/hit.txt && n=$((n+1)); done
expect "new connections during the drain" "$n" 10
wait "$HELPER"; HELPER=
wait "$BUSY" "$IDLE" "$IDLE6"
cat "$W/busy.out" "$W/idle.out" "$W/idle6.out"
expect "busy keep-alive across SIGTERM" "$(cut -d' ' -f3,4 "$W/busy.out")" "bad=0 err=none"
expect "idle keep-alive past the drain (probed, handed off)" "$(cut -d' ' -f2,4 "$W/idle.out")" "ok=2 err=none"
n=0; for i in $(seq 5); do $NS_C curl -sf -m 2 -o /dev/null http://$A4S:8080/hit.txt && n=$((n+1)); done
expect "idle IPv6 keep-alive past the drain (probed, handed off)" "$(cut -d' ' -f2,4 "$W/idle6.out")" "ok=2 err=none"
expect "after the stop, userspace" "$n" 5
expect "XDP left on $VS" "$(ip -n "$S" -d link show "$VS" | grep -c 'prog/xdp')" 0
expect "TC filters left on $VS" "$(ip netns exec "$S" tc filter show dev "$VS" ingress 2>/dev/null | grep -c bpf)" 0
expect "pins left" "$(ls "$PIN" 2>/dev/null | wc -l)" 0
echo "== helper log"; cat "$W/helper.log"
[ $FAIL = 0 ] || { echo "== nano-web log"; cat "$W/nanoweb.log"; }
exit $FAIL
