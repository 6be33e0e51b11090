#!/bin/bash
# Dev measurements for the issue note (not a test: numbers depend on the
# machine). In namespaces of its own (and a private bpffs):
#   veth: nano-web + nanoweb-xdpd (native XDP) in one namespace, the load in
#         another, pass-through XDP on the client's veth;
#   lo:   everything in one namespace on its loopback (generic XDP).
# For each: the XDP program's run time per packet (kernel.bpf_stats_enabled)
# and req/s for a ~1 KB cached GET through XDP, then with the helper stopped
# (nano-web alone), on keep-alive connections (wrk) and with a new
# connection per request (connload.c). Each run lasts SECS seconds.
# BODY=2048 serves a 2 KB body instead (~2.6 KB response, 2 segments on
# veth): the server's veth then gets a 3500-byte MTU and max_response 4000,
# so XDP announces an MSS of the client's 1460 and answers in 2 segments.
# PERF=FILE records a system-wide profile (perf record -a -g) of the
# keep-alive run into FILE. XDP_ONLY=1 skips the runs without the helper.
# WRK_THREADS=N: wrk threads (default 2). THREADED=1 (veth): the server
# veth's NAPI in a kernel thread; NAPI_CPU=N pins that thread (and the
# client veth's, which delivers XDP_TX) to CPU N. LOAD_CPU=M pins the load
# generators to CPU M.
# usage: [BODY=N] [XDP_ONLY=1] measure.sh BUILDDIR [veth|lo|both]   (as root)
set -u
if [ -z "${NWX_UNSHARED:-}" ]; then
	export NWX_UNSHARED=1
	exec unshare --mount --propagation private bash "$0" "$@"
fi
mount -t bpf bpf /sys/fs/bpf || exit 1
B=${1:-/work/build-xdp2}
WHICH=${2:-both}
SECS=${SECS:-5}
CONNS=${CONNS:-32}
BODY=${BODY:-480}
D=$(cd "$(dirname "$0")" && pwd)
ID=$(printf '%x' $(( $$ % 65536 )))
S=nwxm-$ID-s; C=nwxm-$ID-c; VS=vms$ID; VC=vmc$ID
PIN=/sys/fs/bpf/nwx-measure
W=$(mktemp -d); chmod 755 "$W"
PIDS=()
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "${HELPER:-}" ] && kill -TERM "$HELPER" 2>/dev/null && wait "$HELPER" 2>/dev/null
	[ -n "${NW:-}" ] && kill -TERM "$NW" 2>/dev/null && wait "$NW" 2>/dev/null
	ip -n "$S" link set dev lo xdpgeneric off 2>/dev/null
	ip netns del "$S" 2>/dev/null; ip netns del "$C" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
	rm -rf "$W" "$PIN"
}
trap cleanup EXIT
sysctl -qw kernel.bpf_stats_enabled=1
gcc -O2 -pthread -o "$W/connload" "$D/connload.c" || exit 1
mkdir "$W/site"
# ~1 KB response by default: nano-web's head is ~540 bytes
head -c "$BODY" /dev/urandom | base64 -w 76 | head -c "$BODY" > "$W/site/hit.txt"

prog_stats() { # id -> "run_time_ns run_cnt"
	bpftool prog show id "$1" -j | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("run_time_ns",0), d.get("run_cnt",0))'
}
hits() { nsenter --net=/run/netns/$S "$B/nanoweb-xdpd" stats --socket "$W/xdpd.sock" 2>/dev/null | awk '$1=="hits"{print $2}'; }

run_mode() { # mode
	local mode=$1 iface srv cl srcs attach
	ip netns add "$S"; ip -n "$S" link set lo up
	ip netns exec "$S" sysctl -qw net.ipv4.tcp_syncookies=1
	if [ "$mode" = veth ]; then
		ip netns add "$C"; ip -n "$C" link set lo up
		ip link add "$VS" netns "$S" type veth peer name "$VC" netns "$C"
		ip -n "$S" addr add 10.233.0.1/24 dev "$VS"
		srcs=""
		for i in 2 3 4 5 6 7 8 9; do
			ip -n "$C" addr add 10.233.0.$i/24 dev "$VC"
			srcs="$srcs${srcs:+,}10.233.0.$i"
		done
		ip -n "$S" link set "$VS" up; ip -n "$C" link set "$VC" up
		printf '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass_xdp(struct xdp_md *c) { return XDP_PASS; }\nchar LICENSE[] SEC("license") = "GPL";\n' > "$W/pass.bpf.c"
		clang -O2 -target bpf -I/usr/include/$(uname -m)-linux-gnu -c "$W/pass.bpf.c" -o "$W/pass.bpf.o" || return 1
		ip -force -n "$C" link set dev "$VC" xdpdrv obj "$W/pass.bpf.o" sec xdp || return 1
		[ "$BODY" -gt 900 ] && { ip -n "$S" link set dev "$VS" mtu 3500 || return 1; }
		iface=$VS; srv=10.233.0.1; cl=$C; attach=native
	else
		iface=lo; srv=127.0.0.1; cl=$S; attach=generic
		srcs=127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9
	fi
	ip netns exec "$cl" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
	cat > "$W/nanoweb.ini" <<INI
[server]
user = nobody
[log]
level = warn
[xdp]
iface = $iface
attach = $attach
socket = $W/xdpd.sock
pin_dir = $PIN
$([ "$BODY" -gt 900 ] && echo "max_response = 4000")
INI
	nsenter --net=/run/netns/$S "$B/nanoweb-xdpd" --foreground --config "$W/nanoweb.ini" \
		--drain-ms 0 2>"$W/helper-$mode.log" & HELPER=$!
	for _ in $(seq 50); do [ -S "$W/xdpd.sock" ] && break; sleep 0.1; done
	nsenter --net=/run/netns/$S "$B/nano-web" serve "$W/site" --port 8080 --listen 0.0.0.0 \
		--xdp on --xdp-iface "$iface" --config "$W/nanoweb.ini" >"$W/nanoweb-$mode.log" 2>&1 & NW=$!
	for _ in $(seq 100); do [ "$(hits)" != "" ] && nsenter --net=/run/netns/$S "$B/nanoweb-xdpd" stats --socket "$W/xdpd.sock" | grep -q "^cache_entries *[1-9]" && break; sleep 0.1; done
	# THREADED=1: the server veth's NAPI (where XDP and TC run) in a kernel
	# thread, as a NIC's interrupts run on their own CPU, instead of in the
	# softirq of the sending CPU (veth has NAPI only once XDP is attached)
	if [ -n "${THREADED:-}" ] && [ "$mode" = veth ]; then
		ip netns exec "$S" sh -c "echo 1 > /sys/class/net/$VS/threaded" || return 1
		if [ -n "${NAPI_CPU:-}" ]; then
			ip netns exec "$C" sh -c "echo 1 > /sys/class/net/$VC/threaded" || return 1
			local t
			for t in $(pgrep "^napi/($VS|$VC)-"); do
				taskset -pc "$NAPI_CPU" "$t" >/dev/null || return 1
			done
			echo "   NAPI threads on CPU $NAPI_CPU: $(pgrep -l "^napi/($VS|$VC)-" | tr '\n' ' ')"
		fi
	fi
	local load=()
	[ -n "${LOAD_CPU:-}" ] && load=(taskset -c "$LOAD_CPU")
	local url=http://$srv:8080/hit.txt
	local size
	size=$(nsenter --net=/run/netns/$cl curl -s -o /dev/null -w '%{size_header}+%{size_download}' "$url")
	local pid
	pid=$(ip -n "$S" -d link show "$iface" | grep -o 'prog/xdp id [0-9]*' | awk '{print $3}')
	local tid
	tid=$(ip netns exec "$S" tc filter show dev "$iface" ingress | grep -o ' id [0-9]*' | awk '{print $2}' | head -1)
	echo "== $mode ($attach XDP on $iface, prog ids xdp $pid tc $tid, response $size bytes, ${SECS}s runs, $CONNS conns)"
	measure() { # label cmd...
		local a b h0 h1 out ta tb ta2 tb2
		read -r a b < <(prog_stats "$pid"); read -r ta tb < <(prog_stats "$tid"); h0=$(hits)
		out=$("${@:2}")
		read -r a2 b2 < <(prog_stats "$pid"); read -r ta2 tb2 < <(prog_stats "$tid"); h1=$(hits)
		local rps
		rps=$(echo "$out" | awk '/Requests\/sec:/{print $2} /^requests /{print $8}')
		local errs
		errs=$(echo "$out" | awk '/Non-2xx|Socket errors/{printf "%s ", $0} /^requests /{print "errors " $4}')
		local pkts=$((b2 - b)) ns=$((a2 - a)) nh=$((h1 - h0))
		local tp=$((tb2 - tb)) tn=$((ta2 - ta))
		printf '%-34s %9s req/s  hits %8d  xdp: pkts %9d ns/pkt %5s ns/hit %5s  tc: pkts %8d ns/pkt %5s  %s\n' "$1" "$rps" "$nh" "$pkts" \
			"$( [ $pkts -gt 0 ] && echo $((ns / pkts)) || echo -)" \
			"$( [ $nh -gt 0 ] && echo $((ns / nh)) || echo -)" \
			"$tp" "$( [ $tp -gt 0 ] && echo $((tn / tp)) || echo -)" "$errs"
	}
	if [ -n "${PERF:-}" ]; then # a system-wide profile of the wrk run
		(sleep 1; perf record -a -g -o "$PERF" -- sleep $((SECS - 2)) >/dev/null 2>&1) &
	fi
	measure "XDP, keep-alive (wrk)" "${load[@]}" nsenter --net=/run/netns/$cl wrk -t"${WRK_THREADS:-2}" -c"$CONNS" -d"${SECS}s" "$url"
	measure "XDP, new conn/request (connload)" "${load[@]}" nsenter --net=/run/netns/$cl "$W/connload" "$srv" 8080 /hit.txt "$CONNS" "$SECS" "$srcs"
	kill -TERM "$HELPER"; wait "$HELPER"; HELPER=
	if [ -n "${XDP_ONLY:-}" ]; then
		kill -TERM "$NW"; wait "$NW"; NW=
		ip netns del "$S"; ip netns del "$C" 2>/dev/null
		rm -f "$W/xdpd.sock"
		return 0
	fi
	sleep 1.5
	local still
	still=$(ip -n "$S" -d link show "$iface" | grep -c 'prog/xdp')
	echo "   helper stopped (XDP programs left on $iface: $still)"
	measure "userspace, keep-alive (wrk)" "${load[@]}" nsenter --net=/run/netns/$cl wrk -t"${WRK_THREADS:-2}" -c"$CONNS" -d"${SECS}s" "$url"
	measure "userspace, new conn/request" "${load[@]}" nsenter --net=/run/netns/$cl "$W/connload" "$srv" 8080 /hit.txt "$CONNS" "$SECS" "$srcs"
	kill -TERM "$NW"; wait "$NW"; NW=
	ip -n "$S" link set dev lo xdpgeneric off 2>/dev/null
	ip netns del "$S"; ip netns del "$C" 2>/dev/null
	rm -f "$W/xdpd.sock"
}
[ "$WHICH" = lo ] || run_mode veth
[ "$WHICH" = veth ] || run_mode lo
