#!/usr/bin/env bash
# Builds nano-web and runs the whole test suite (unit, integration, kernel
# path, benchmark smoke). Installs the Debian packages it needs first.
#
#   scripts/test.sh            normal build in build/
#   scripts/test.sh --asan     ASan+UBSan build in build-asan/
#   scripts/test.sh --no-deps  skip the apt-get step
#
# Tests that need root (the kernel path) print a loud SKIP when run as an
# ordinary user; with CI=true they never skip.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
asan=no deps=yes
for a in "$@"; do
	case "$a" in
	--asan) asan=yes ;;
	--no-deps) deps=no ;;
	*) echo "usage: $0 [--asan] [--no-deps]" >&2; exit 2 ;;
	esac
done
if [ "$deps" = yes ]; then
	"$top/scripts/install-deps.sh" --bench
fi
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null
fi
if [ "$asan" = yes ]; then
	build="$top/build-asan"
	san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
	# -Werror is for the normal build: at -O1 GCC's truncation analysis
	# is noisier than at -O2.
	flags=(CFLAGS="-O1 -g $san" LDFLAGS="$san")
	werror=
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
	build="$top/build"
	flags=()
	werror=--enable-werror
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ]; then
	"$top/configure" -q $werror "${flags[@]}"
fi
make -j"$(nproc)" >/dev/null
status=0
make -j"$(nproc)" check || status=$?
# One line for CI: totals from the automake test driver.
log="$build/test-suite.log"
if [ -f "$log" ]; then
	awk -v what="${asan/yes/asan}" '
		/^# PASS:/ {p=$3} /^# FAIL:/ {f=$3} /^# ERROR:/ {e=$3} /^# SKIP:/ {s=$3} /^# XPASS:/ {x=$3}
		END { printf "%s%d passed, %d failed, %d skipped\n", (what=="asan" ? "asan: " : ""), p, f+e+x, s }' "$log"
fi
exit $status
