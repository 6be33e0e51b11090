#!/bin/sh
# Installs what nano-web needs to build, test and benchmark on Debian 12.
# Usage: scripts/install-deps.sh [--bench]   (run as root, or with sudo available)
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: run this as root (Debian installs no sudo by default): su -c '$0 $*'" >&2
    exit 1
  fi
  SUDO="sudo"
fi
PKGS="build-essential autoconf automake libtool pkg-config make
 libmicrohttpd-dev zlib1g-dev libbrotli-dev libzstd-dev libinih-dev
 clang libclang-rt-14-dev llvm libbpf-dev libelf-dev bpftool iproute2
 curl python3 wrk brotli zstd gzip procps zsh fish"
# The benchmark's peers are servers that Debian starts (on port 80) and
# enables at boot when installed. The harness runs its own copies, so the
# ones installed here are neither started nor enabled; a peer that was
# already installed is left as it was.
PEERS="nginx lighttpd h2o"   # the packages with the services (and their names)
NEW_PEERS=""
if [ "${1:-}" = "--bench" ]; then
  PKGS="$PKGS nginx-light libnginx-mod-http-brotli-static lighttpd lighttpd-mod-deflate h2o nghttp2-client gnuplot-nox"
  for p in $PEERS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || NEW_PEERS="$NEW_PEERS $p"
  done
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=""
if [ -n "$NEW_PEERS" ] && [ ! -e "$POLICY" ]; then
  # exit 101: "action forbidden", honoured by invoke-rc.d and deb-systemd-invoke
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  OWN_POLICY=1
  trap '$SUDO rm -f "$POLICY"' EXIT
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
if [ -n "$OWN_POLICY" ]; then
  $SUDO rm -f "$POLICY"
  trap - EXIT
fi
if [ -n "$NEW_PEERS" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  for p in $NEW_PEERS; do
    $SUDO systemctl disable --now "$p" >/dev/null 2>&1 || true
  done
fi
echo "install-deps: done"
