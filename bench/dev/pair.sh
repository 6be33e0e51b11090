#!/bin/bash
# Dev measurement (not a test): A/B of two servers loaded at the same time,
# both on one CPU, for a host whose speed swings from one second to the
# next (see bench/README.md, "Noise"). Run one after the other, two 2 s
# loads of the same server differ by up to 60% there; run at once on a
# shared core, both meet the same swings and their ratio is what is left:
# nano-web against a second copy of itself reads 1.00 (0.997-1.016 over
# five 3 s rounds) while their req/s moved between 168k and 238k.
#
# Each round loads A and B for SECS seconds each with its own nwload (32
# connections), both nwloads on LOAD_CPU; it prints both counts and A/B.
# Ratios are pulled towards 1: the two clients share LOAD_CPU, and on
# loopback the receive work of a request runs on its sender's CPU. So this
# says which of two is cheaper per request, and roughly by how much; the
# req/s a server reaches alone is bench/run's.
#
# usage: pair.sh A B [PATH [nwload args...]]
#   A, B: the port of a server on 127.0.0.1 that you started pinned to
#         SERVER_CPU in a session of its own (e.g. `setsid taskset -c 0
#         lighttpd -D -f ...`: see port_of below), or a nano-web
#         build directory: started here on SERVER_CPU with one thread,
#         serving SITE (default its bundled www/, which it reads before
#         dropping root), plus NW_ARGS_A / NW_ARGS_B (e.g. "--config
#         small.ini").
#   PATH defaults to /index.html; nwload args apply to both sides (-m HEAD,
#   -H "Connection: close", ...); LOAD_A / LOAD_B add arguments for one
#   side only (each server's own If-None-Match).
# env: ROUNDS (5), SECS (3), SERVER_CPU and LOAD_CPU (the first two CPUs
# this process may use; the same one if it has one), SITE.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
A=${1:?usage: pair.sh A B [PATH [nwload args...]]}
B=${2:?usage: pair.sh A B [PATH [nwload args...]]}
URLPATH=${3:-/index.html}
shift $(( $# < 3 ? $# : 3 ))
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-3}
read -r cpu0 cpu1 < <(python3 -c 'import os; c = sorted(os.sched_getaffinity(0)); print(c[0], c[1] if len(c) > 1 else c[0])')
SERVER_CPU=${SERVER_CPU:-$cpu0}
LOAD_CPU=${LOAD_CPU:-$cpu1}
SITE=(${SITE:+"$SITE"})
for tool in cc curl python3 taskset setsid; do
	command -v $tool >/dev/null || { echo "pair.sh: needs $tool" >&2; exit 2; }
done
W=$(mktemp -d)
cleanup() {
	local f
	for f in "$W"/A.pid "$W"/B.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$W"
}
trap cleanup EXIT
cc -O2 -pthread -o "$W/nwload" "$HERE/../lib/nwload.c" || exit 1

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A port as it is; a build directory: its nano-web, started and waited for
port_of() { # SIDE SPEC EXTRA_ARGS
	local side=$1 spec=$2 extra=$3 port
	if [ -x "$spec/nano-web" ]; then
		port=$(free_port)
		# Its own session, as a server started by hand: with the
		# kernel's autogroups a session shares its CPU time with the
		# nwloads of this script's session (measured: 0.44 against
		# lighttpd instead of 0.95).
		# shellcheck disable=SC2086 # NW_ARGS_* are word lists
		setsid taskset -c "$SERVER_CPU" "$spec/nano-web" serve "${SITE[@]}" \
			--port "$port" --listen 127.0.0.1 --threads 1 --xdp off \
			$extra > "$W/$side.log" 2>&1 &
		echo $! > "$W/$side.pid"
		for _ in $(seq 100); do
			curl -s -o /dev/null "http://127.0.0.1:$port/" && break
			if ! kill -0 "$(cat "$W/$side.pid")" 2>/dev/null; then
				echo "pair.sh: nano-web $side did not start:" >&2
				cat "$W/$side.log" >&2
				return 1
			fi
			sleep 0.2
		done
		echo "$port"
	elif [[ $spec =~ ^[0-9]+$ ]]; then
		echo "$spec"
	else
		echo "pair.sh: $spec is neither a port nor a build directory" >&2
		return 1
	fi
}
PA=$(port_of A "$A" "${NW_ARGS_A:-}") || exit 1
PB=$(port_of B "$B" "${NW_ARGS_B:-}") || exit 1

requests() { # FILE
	sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$1"
}
ratios=()
for r in $(seq "$ROUNDS"); do
	# shellcheck disable=SC2086 # LOAD_* are word lists
	taskset -c "$LOAD_CPU" "$W/nwload" -c 32 -d "$SECS" "$@" ${LOAD_A:-} \
		127.0.0.1 "$PA" "$URLPATH" > "$W/a.out" &
	taskset -c "$LOAD_CPU" "$W/nwload" -c 32 -d "$SECS" "$@" ${LOAD_B:-} \
		127.0.0.1 "$PB" "$URLPATH" > "$W/b.out"
	wait "$!" 2>/dev/null
	ra=$(requests "$W/a.out"); rb=$(requests "$W/b.out")
	if [ -z "$ra" ] || [ -z "$rb" ] || [ "$rb" = 0 ]; then
		echo "round $r: no count (A: ${ra:-none}, B: ${rb:-none})" >&2
		exit 1
	fi
	ratio=$(python3 -c "print('%.3f' % ($ra / $rb))")
	ratios+=("$ratio")
	printf 'round %d  A %9d  B %9d  A/B %s\n' "$r" "$ra" "$rb" "$ratio"
done
python3 -c 'import statistics, sys
v = sorted(float(x) for x in sys.argv[1:])
print("A/B median %.3f (rounds %.3f-%.3f)" % (statistics.median(v), v[0], v[-1]))' "${ratios[@]}"
