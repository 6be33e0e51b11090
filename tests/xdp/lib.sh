# Shared by the kernel fast path's end-to-end tests (sourced by bash).
#
# Namespaces, veth pair, test BPF programs and clean-up. Every name is unique
# per run; everything is removed by the EXIT trap, whatever happens.

set -u

NW_BUILDDIR=${NW_BUILDDIR:-$(pwd)}
NW_SRCDIR=${NW_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
XT_DIR="$NW_SRCDIR/tests/xdp"
# Under ASan (CI): suppress only the helper's start-up configuration leak.
export LSAN_OPTIONS="suppressions=$XT_DIR/lsan-helper.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
XT_NAME=$(basename "$0" .sh)
# e2e.py and the scripts built on it read the kernel path's counters through
# /_stats right before and after a request: each /_stats waits for a reading
# of its own (stats_cache.py and tests/integration run without it). Set here
# so that a test run by hand checks what make check does.
export NANOWEB_STATS_WAIT_MS=${NANOWEB_STATS_WAIT_MS:-3000}

xt_log() { printf '[%s] %s\n' "$XT_NAME" "$*" >&2; }
xt_fail() { xt_log "FAIL: $*"; exit 1; }

# Exit 77 (skip) loudly, unless CI=true, where a skip is a failure.
xt_skip() {
	if [ "${CI:-}" = true ]; then
		xt_fail "would skip under CI, which is not allowed: $*"
	fi
	echo "" >&2
	echo "**************************************************************" >&2
	echo "*** SKIP $XT_NAME: $*" >&2
	echo "**************************************************************" >&2
	exit 77
}

# nano-web must be built; so must the helper unless the driver's arguments
# hold --no-helper.
xt_require_builds() {
	[ -x "$NW_BUILDDIR/nano-web" ] || xt_fail "nano-web not built in $NW_BUILDDIR"
	[[ " $* " == *" --no-helper "* ]] && return 0
	if [ ! -x "$NW_BUILDDIR/nanoweb-xdpd" ] && [ ! -x "$NW_BUILDDIR/xdp/nanoweb-xdpd" ]; then
		xt_skip "nanoweb-xdpd not built (configure found no clang/bpftool/libbpf?)"
	fi
}

# The start of a veth test: root, a private bpffs (re-executes the script
# with the same arguments), the work dir, the builds, the veth pair.
xt_veth_test() {
	xt_require_root
	xt_private_bpffs "$@"
	xt_setup_common
	xt_require_builds "$@"
	xt_setup_veth
}

# Runs the Python driver $1 of tests/xdp (with the other arguments) in the
# client namespace, the veth setup and the test's objects exported.
xt_run_veth_driver() {
	local driver=$1
	shift
	chmod 755 "$XT_WORK"
	export XT_NS_S XT_NS_C XT_VS XT_VC XT_A4S XT_A4C XT_A6S XT_A6C XT_WORK XT_PIDFILE
	export XT_PASS_OBJ XT_LOSS_OBJ XT_PIN_DIR NW_BUILDDIR NW_SRCDIR
	xt_in_ns "$XT_NS_C" timeout 600 python3 "$XT_DIR/$driver" "$@"
}

xt_require_root() {
	[ "$(id -u)" = 0 ] || xt_skip "needs root (network namespaces, BPF)"
	local t
	for t in ip tc bpftool python3 curl nsenter; do
		command -v "$t" >/dev/null 2>&1 || xt_skip "needs $t"
	done
}

# Re-executes the test in a mount namespace of its own with a fresh BPF file
# system on /sys/fs/bpf: the helper's pins stay out of the host's bpffs (and
# out of the way of concurrent runs), yet every process of the test, a
# restarted helper included, sees the same pins. Call with "$@" first thing.
xt_private_bpffs() {
	if [ -z "${XT_UNSHARED:-}" ]; then
		command -v unshare >/dev/null 2>&1 || xt_skip "needs unshare (util-linux)"
		export XT_UNSHARED=1
		exec unshare --mount --propagation private bash "$0" "$@"
	fi
	mount -t bpf bpf /sys/fs/bpf || xt_fail "cannot mount a BPF file system on /sys/fs/bpf"
}

# Unique suffix: short enough for 15-character interface names.
XT_ID=$(printf '%x%04x' $(( $$ % 4096 )) $(( RANDOM )))
XT_NS_S="nwx-$XT_ID-s"
XT_NS_C="nwx-$XT_ID-c"
XT_VS="vs$XT_ID"
XT_VC="vc$XT_ID"
# Addresses live only inside our own namespaces.
XT_A4S=10.231.0.1
XT_A4C=10.231.0.2
XT_A6S=fd00:231::1
XT_A6C=fd00:231::2
XT_WORK=
XT_PIN_DIR=
XT_NAMESPACES=()
XT_PIDFILE=

xt_cleanup() {
	local rc=$? pid ns
	set +e
	if [ -n "$XT_PIDFILE" ] && [ -f "$XT_PIDFILE" ]; then
		# processes the Python driver started and recorded (our own only)
		while read -r pid; do
			[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
		done < "$XT_PIDFILE"
		sleep 0.5
		while read -r pid; do
			[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
		done < "$XT_PIDFILE"
	fi
	for ns in "${XT_NAMESPACES[@]}"; do
		ip -n "$ns" link set dev lo xdpgeneric off 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$XT_PIN_DIR" ] && [ -d "$XT_PIN_DIR" ]; then
		rm -rf "$XT_PIN_DIR"
	fi
	if [ -n "$XT_WORK" ] && [ -d "$XT_WORK" ]; then
		if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -z "${XT_KEEP_LOGS:-}" ]; then
			local f
			for f in "$XT_WORK"/*.log; do
				[ -f "$f" ] || continue
				echo "----- $(basename "$f") (last 60 lines) -----" >&2
				tail -n 60 "$f" >&2
			done
		fi
		if [ -n "${XT_SAVE_LOGS:-}" ]; then
			mkdir -p "$XT_SAVE_LOGS" && cp "$XT_WORK"/*.log "$XT_SAVE_LOGS"/ 2>/dev/null
		fi
		rm -rf "$XT_WORK"
	fi
	exit "$rc"
}

xt_setup_common() {
	XT_WORK=$(mktemp -d /tmp/nwx-$XT_ID.XXXXXX)
	XT_PIDFILE="$XT_WORK/pids"
	: > "$XT_PIDFILE"
	XT_PIN_DIR="/sys/fs/bpf/nwx-$XT_ID"
	trap xt_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Runs a command in a network namespace, keeping our mount namespace (and so
# the host's /sys/fs/bpf, where the helper pins; `ip netns exec` would give
# every command a mount namespace of its own).
xt_in_ns() {
	local ns=$1; shift
	nsenter --net="/run/netns/$ns" "$@"
}

xt_add_ns() {
	ip netns add "$1" || xt_fail "ip netns add $1"
	XT_NAMESPACES+=("$1")
	ip -n "$1" link set lo up
	# the kernel path needs SYN cookies enabled (never 0)
	ip netns exec "$1" sysctl -qw net.ipv4.tcp_syncookies=1
	# No TIME_WAIT sockets: a new connection from a client port whose
	# earlier connection nano-web closed first would match the server's
	# TIME_WAIT socket, and XDP rightly leaves that SYN to the kernel, so
	# a check expecting a hit would fail whenever the client's ephemeral
	# ports come round again. e2e.py's check_time_wait() turns them back
	# on to test that case itself.
	ip netns exec "$1" sysctl -qw net.ipv4.tcp_max_tw_buckets=0
}

# Compiles a test BPF object from tests/xdp/NAME.bpf.c into $XT_WORK, unless
# the build already made it (make check builds them in tests/xdp/).
xt_bpf_obj() {
	local name=$1; shift
	local out="$NW_BUILDDIR/tests/xdp/$name.bpf.o"
	if [ -f "$out" ] && [ $# = 0 ]; then
		echo "$out"
		return
	fi
	out="$XT_WORK/$name${1:+-$(echo "$*" | tr -c 'a-zA-Z0-9' _)}.bpf.o"
	command -v clang >/dev/null 2>&1 || xt_skip "needs clang for the test BPF programs"
	clang -O2 -g -Wall -target bpf -I/usr/include/$(uname -m)-linux-gnu \
		"$@" -c "$XT_DIR/$name.bpf.c" -o "$out" || xt_fail "compiling $name.bpf.c"
	echo "$out"
}

# Two namespaces joined by a veth pair; the client's end gets a pass-through
# XDP program so native XDP_TX on the server's end delivers.
xt_setup_veth() {
	xt_add_ns "$XT_NS_S"
	xt_add_ns "$XT_NS_C"
	ip link add "$XT_VS" netns "$XT_NS_S" type veth peer name "$XT_VC" netns "$XT_NS_C" \
		|| xt_fail "creating the veth pair"
	ip -n "$XT_NS_S" addr add "$XT_A4S/24" dev "$XT_VS"
	ip -n "$XT_NS_C" addr add "$XT_A4C/24" dev "$XT_VC"
	ip -n "$XT_NS_S" -6 addr add "$XT_A6S/64" dev "$XT_VS" nodad
	ip -n "$XT_NS_C" -6 addr add "$XT_A6C/64" dev "$XT_VC" nodad
	# Nothing but the tests' own traffic may pass XDP later, since each
	# packet passed runs nwx_tc and the in-place checks assert it did not
	# run: no link-local addresses (hence no router solicitations or MLD
	# reports after link-up) and permanent neighbour entries (no ARP or
	# neighbour probes).
	ip -n "$XT_NS_S" link set "$XT_VS" addrgenmode none
	ip -n "$XT_NS_C" link set "$XT_VC" addrgenmode none
	ip -n "$XT_NS_S" link set "$XT_VS" up
	ip -n "$XT_NS_C" link set "$XT_VC" up
	local mac_s mac_c
	mac_s=$(ip -n "$XT_NS_S" -br link show dev "$XT_VS" | awk '{print $3}')
	mac_c=$(ip -n "$XT_NS_C" -br link show dev "$XT_VC" | awk '{print $3}')
	ip -n "$XT_NS_S" neigh replace "$XT_A4C" lladdr "$mac_c" dev "$XT_VS" nud permanent &&
	ip -n "$XT_NS_S" neigh replace "$XT_A6C" lladdr "$mac_c" dev "$XT_VS" nud permanent &&
	ip -n "$XT_NS_C" neigh replace "$XT_A4S" lladdr "$mac_s" dev "$XT_VC" nud permanent &&
	ip -n "$XT_NS_C" neigh replace "$XT_A6S" lladdr "$mac_s" dev "$XT_VC" nud permanent ||
		xt_fail "permanent neighbour entries on the veth pair"
	XT_PASS_OBJ=$(xt_bpf_obj pass)
	XT_LOSS_OBJ=$(xt_bpf_obj loss)
	xt_client_pass
}

# Client side: pass-through XDP only (no loss).
xt_client_pass() {
	ip netns exec "$XT_NS_C" tc qdisc del dev "$XT_VC" clsact 2>/dev/null
	ip -force -n "$XT_NS_C" link set dev "$XT_VC" xdpdrv obj "$XT_PASS_OBJ" sec xdp \
		|| xt_fail "attaching the pass-through XDP program on $XT_VC"
}

# Client side: drop TCP at random both ways (XDP ingress + TC egress).
xt_client_loss() {
	local obj=$XT_LOSS_OBJ
	[ $# -gt 0 ] && obj=$(xt_bpf_obj loss "-DLOSS_PERMILLE=$1")
	ip -force -n "$XT_NS_C" link set dev "$XT_VC" xdpdrv obj "$obj" sec xdp \
		|| xt_fail "attaching the loss XDP program on $XT_VC"
	ip netns exec "$XT_NS_C" tc qdisc replace dev "$XT_VC" clsact || xt_fail "clsact on $XT_VC"
	ip netns exec "$XT_NS_C" tc filter replace dev "$XT_VC" egress pref 1 handle 1 \
		bpf da obj "$obj" sec tc || xt_fail "attaching the loss TC program on $XT_VC"
}
