#!/usr/bin/env bash
# Installs the build dependencies, builds nano-web in build/ and serves a
# directory (default: the bundled www/) on port 3000. As root on Linux the
# kernel fast path (nanoweb-xdpd) is used when it can be; otherwise
# everything is served from userspace.
#
#   sudo scripts/serve.sh                 # www/ on :3000
#   sudo scripts/serve.sh ./public --spa  # any `nano-web serve` arguments
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "${NANOWEB_SKIP_DEPS:-}" != 1 ]; then
	"$top/scripts/install-deps.sh"
fi
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null
fi
mkdir -p build
cd build
[ -f Makefile ] || "$top/configure" -q
make -j"$(nproc)" >/dev/null
cd "$top"
exec "$top/build/nano-web" serve "$@"
