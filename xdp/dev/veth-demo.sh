#!/bin/bash
# Dev check over veth: server namespace (native XDP + helper + python
# http.server on :8080), client namespace (pass-through XDP on its peer,
# needed for XDP_TX), curl hits and misses over IPv4 and IPv6.
# usage: veth-demo.sh BUILDDIR   (as root)
set -u
B=${1:-/work/build-xdp}
D=$(cd "$(dirname "$0")" && pwd)
S=nwxs$$ C=nwxc$$
PIN=/sys/fs/bpf/nwx-veth-$$
SOCK=/tmp/nwx-veth-$$.sock
W=$(mktemp -d)
cleanup() {
	[ -n "${PUSH:-}" ] && kill "$PUSH" 2>/dev/null
	[ -n "${HELPER:-}" ] && kill -TERM "$HELPER" 2>/dev/null && sleep 0.5
	[ -n "${HTTP:-}" ] && kill "$HTTP" 2>/dev/null
	ip netns del "$S" 2>/dev/null; ip netns del "$C" 2>/dev/null
	rm -rf "$W" "$PIN"
}
trap cleanup EXIT
ip netns add "$S"; ip netns add "$C"
ip link add nwxa$$ netns "$S" type veth peer name nwxb$$ netns "$C"
ip -n "$S" link set lo up; ip -n "$C" link set lo up
ip -n "$S" addr add 10.77.0.1/24 dev nwxa$$; ip -n "$C" addr add 10.77.0.2/24 dev nwxb$$
ip -n "$S" addr add fd77::1/64 dev nwxa$$ nodad; ip -n "$C" addr add fd77::2/64 dev nwxb$$ nodad
ip -n "$S" link set nwxa$$ up; ip -n "$C" link set nwxb$$ up
printf '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *c) { return XDP_PASS; }\nchar _l[] SEC("license") = "GPL";\n' > "$W/pass.c"
clang -O2 -target bpf -I/usr/include/$(uname -m)-linux-gnu -c "$W/pass.c" -o "$W/pass.o"
ip -n "$C" link set dev nwxb$$ xdpdrv obj "$W/pass.o" sec xdp
echo "hello from XDP over veth" > "$W/hit.txt"
head -c 900 /dev/urandom | base64 -w 100 > "$W/hit1k.txt"
mkdir "$W/www"; head -c 300000 /dev/urandom | base64 > "$W/www/big.txt"; echo "from python" > "$W/www/miss.txt"
ip netns exec "$S" python3 -m http.server 8080 --bind :: -d "$W/www" >/dev/null 2>&1 & HTTP=$!
nsenter --net=/run/netns/$S "$B/nanoweb-xdpd" --foreground --iface nwxa$$ --mode native \
	--pin-dir "$PIN" --socket "$SOCK" --allow-uid 0 2>"$W/helper.log" & HELPER=$!
sleep 1.5
ip netns exec "$S" python3 "$D/push.py" "$SOCK" 8080 /hit.txt="$W/hit.txt" /hit1k.txt="$W/hit1k.txt" & PUSH=$!
sleep 1
U4=http://10.77.0.2; U4=http://10.77.0.1:8080; U6=http://[fd77::1]:8080
echo "== hit v4"; ip netns exec "$C" curl -sS -m 5 -i $U4/hit.txt
echo "== keep-alive v4: hit hit miss hit"
ip netns exec "$C" curl -sS -m 5 $U4/hit.txt $U4/hit.txt $U4/miss.txt $U4/hit.txt
echo "== keep-alive v6: hit miss(big) hit"
ip netns exec "$C" curl -sS -m 10 $U6/hit.txt -o /dev/null $U6/big.txt -o "$W/big.out" $U6/hit.txt
cmp "$W/big.out" "$W/www/big.txt" && echo "big file over hand-off: identical"
echo "== 1.2 KB hit (built by TC when the frame has no room), v4 and v6, and HEAD"
ip netns exec "$C" curl -sS -m 5 $U4/hit1k.txt -o "$W/h1" $U6/hit1k.txt -o "$W/h2"
cmp "$W/h1" "$W/hit1k.txt" && cmp "$W/h2" "$W/hit1k.txt" && echo "1.2 KB hits identical"
ip netns exec "$C" curl -sS -m 5 -I $U4/hit1k.txt
echo "== stats"; nsenter --net=/run/netns/$S "$B/nanoweb-xdpd" stats --socket "$SOCK"
echo "== helper log"; cat "$W/helper.log"
