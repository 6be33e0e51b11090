#!/bin/bash
# make check: builds every libFuzzer target (scripts/fuzz.sh) and runs each
# for a few seconds, so the targets cannot rot and each pure parser gets some
# fuzzing on every run. Longer runs: scripts/fuzz.sh SECONDS.
# Without clang's libFuzzer runtime (Debian: libclang-rt-14-dev) this is a
# loud SKIP, and a failure when CI=true.
set -u
src=${NW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${NW_BUILDDIR:-.}
secs=${NW_FUZZ_SECONDS:-3}
cc=${CC_FUZZ:-clang}

probe=$(mktemp -d "${TMPDIR:-/tmp}/nw-fuzz-probe.XXXXXX") || exit 99
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$probe/p.c"
if ! "$cc" -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" >"$probe/log" 2>&1; then
	rm -rf "$probe"
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $cc cannot build a libFuzzer target (apt-get install clang libclang-rt-14-dev)"
		exit 1
	fi
	echo "######################################################################"
	echo "### SKIP: $cc cannot build a libFuzzer target: the fuzzers did not run"
	echo "### (apt-get install clang libclang-rt-14-dev)"
	echo "######################################################################"
	exit 77
fi
rm -rf "$probe"

work="$build/tests/fuzz-work"
rm -rf "$work"
# the targets carry their own sanitizers; the ASan build's options must not
# leak into them (abort_on_error would hide libFuzzer's report)
env -u ASAN_OPTIONS -u UBSAN_OPTIONS FUZZ_DIR="$work" CC="$cc" \
	bash "$src/scripts/fuzz.sh" "$secs"
rc=$?
if [ $rc -eq 0 ]; then
	rm -rf "$work"
	echo "PASS: every fuzz target ran ${secs}s without a finding"
else
	echo "FAIL: see the logs and artifacts in $work"
fi
exit $rc
