#!/usr/bin/env bash
# Installs the build dependencies, builds nano-web in build/ and serves a
# directory (default: the bundled www/) on port 3000. As root on Linux the
# kernel fast path (nanoweb-xdpd) is used when it can be; otherwise
# everything is served from userspace.
#
#   sudo scripts/serve.sh                 # www/ on :3000
#   sudo scripts/serve.sh ./public --spa  # any `nano-web serve` arguments
#
# Arguments are passed to `nano-web serve` as given: a relative DIR (or
# --config FILE) is relative to the directory you run the script from, not
# to the repository (cd ~/app && sudo ~/nano-web/scripts/serve.sh ./dist).
#
# Environment:
#   NANOWEB_SKIP_DEPS=1   do not run scripts/install-deps.sh (dependencies
#                         already installed, or installed another way)
#   NANOWEB_BUILD_DIR=DIR build in DIR instead of the repository's build/
#                         (an existing build directory is reused as it is)
set -euo pipefail
here=$(pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
build=${NANOWEB_BUILD_DIR:-$top/build}
if [ "${NANOWEB_SKIP_DEPS:-}" != 1 ]; then
	"$top/scripts/install-deps.sh"
fi
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null
fi
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" -q
make -j"$(nproc)" >/dev/null
# Back to the caller's directory: relative paths in "$@" are theirs. Without
# a DIR, nano-web finds the bundled www/ by itself (next to the binary or in
# the source tree), wherever it runs from.
cd "$here"
exec "$build/nano-web" serve "$@"
