#!/bin/sh
# Builds the libFuzzer targets in tests/fuzz/ (one per pure module) with
# clang and runs each for N seconds (default 20).
#   scripts/fuzz.sh [SECONDS]
# Environment: CC (default clang), FUZZ_DIR (work directory; default a new
# temporary one, kept so corpora and crash artifacts can be inspected),
# FUZZ_TARGETS (default: all of them).
# Exits non-zero when a target fails to build or finds a crash.
set -u

secs=${1:-20}
case $secs in
''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-clang}
work=${FUZZ_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/nw-fuzz.XXXXXX")}
targets=${FUZZ_TARGETS:-encoding range conditional urlpath mime template spa framing config xdpd_proto}
mkdir -p "$work" || exit 1

# A few seeds per target so the fuzzer starts from meaningful input.
seed() {
	mkdir -p "$work/corpus_$1"
	printf '%b' "$3" >"$work/corpus_$1/seed_$2"
}
seed encoding 1 '\x0fgzip, deflate, br, zstd'
seed encoding 2 '\x07br;q=0.5, gzip;q=1.0, *;q=0, identity;q=0'
seed encoding 3 '\x03x-gzip;q=0.001, identity'
seed range 1 '\x00\x64bytes=0-99'
seed range 2 '\x03\x00\x00\x00\x00\x00\x00\x10\x00bytes=-500, 3-, 1-2'
seed range 3 '\x02\x01bytes=18446744073709551615-99999999999999999999'
seed conditional 1 'Sun, 06 Nov 1994 08:49:37 GMT'
seed conditional 2 'Sunday, 06-Nov-94 08:49:37 GMT'
seed conditional 3 'Sun Nov  6 08:49:37 1994'
seed conditional 4 'W/"abc", "def""abc"'
seed urlpath 1 '\x80/a//b/./c/%2e%2e/%2F%5c%00/.well-known/x/.git'
seed urlpath 2 '\x10/caf%C3%A9/index.html'
seed mime 1 '/assets/index-BxYz12Ab.js'
seed mime 2 'text/html; charset=utf-8'
seed template 1 'V_A=1\nV_B=<x>&\nX=2\n\0<p>{{env.A}}{{ Json }}{{EscapedJson}}{{env.V_B}}{{x}}{{'
seed template 2 'V_U=\xe2\x80\xa8\xff"\x27\\\n\0{{{env.U}}}'
seed spa 1 'navigate\0document\0text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\0/users/jane.doe'
seed spa 2 '\0\0text/html;q=0, text/html;level=1;q="1", */*\0/a/b'
seed framing 1 'gzip, Chunked \t'
seed framing 2 '[::1]:8080'
seed config 1 '[server]\nport = 8080\nspa = yes\n[cache]\next.css = public, max-age=60\nhtml =\n'
seed config 2 '; c\n[headers]\nX-A = 1\n[xdp]\nmode = off\n[env]\nVITE_X=y\nbad line\n'
# xdpd_proto: flags, max_response (2 bytes), then a message (little endian):
# a PUT of /a with a 304, and SET_PORTS {80, 443}
seed xdpd_proto 1 '\0\x10\0\0\0\0\0\x03\0\0\0\x07\0\0\0\0\0\0\0\x01\0\0\0\x02\0\x01\0\x02\0\xff\xff\x1d\0\0\0/aHTTP/1.1 304 N\r\nETag: "x"\r\n\r\n'
seed xdpd_proto 2 '\0\x10\0\0\0\0\0\x07\0\0\0\x01\0\0\0\0\0\0\0\x02\0\0\0\x50\0\xbb\x01'

status=0
for t in $targets; do
	src="$root/tests/fuzz/fuzz_$t.c"
	bin="$work/fuzz_$t"
	# modules the target's module calls
	case $t in
	spa) deps="$root/src/encoding.c $root/src/urlpath.c" ;;
	config) deps="$root/src/mime.c $root/src/framing.c -linih" ;;
	*) deps= ;;
	esac
	case $t in
	xdpd_proto) mod="$root/xdp/$t.c" inc="-I$root/xdp -I$root/common" ;;
	*) mod="$root/src/$t.c" inc= ;;
	esac
	if ! "$cc" -std=gnu11 -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-I"$root/src" $inc "$src" "$mod" $deps -o "$bin"; then
		echo "fuzz: $t: build failed" >&2
		status=1
		continue
	fi
	mkdir -p "$work/corpus_$t" "$work/crash_$t"
	echo "fuzz: $t for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/crash_$t/" -print_final_stats=1 \
		"$work/corpus_$t" >"$work/log_$t" 2>&1; then
		echo "fuzz: $t: CRASH (log $work/log_$t, artifacts in $work/crash_$t/)" >&2
		tail -n 40 "$work/log_$t" >&2
		status=1
	else
		grep -E '^stat::number_of_executed_units|^Done' "$work/log_$t" | tail -n 1
	fi
done
echo "fuzz: work directory $work"
exit $status
