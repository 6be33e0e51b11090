#!/bin/sh
# Installs what nano-web needs to build, test and benchmark on Debian 12.
# Usage: scripts/install-deps.sh [--bench]   (run as root, or with sudo available)
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS="build-essential autoconf automake libtool pkg-config make
 libmicrohttpd-dev zlib1g-dev libbrotli-dev libzstd-dev libinih-dev
 clang libclang-rt-14-dev llvm libbpf-dev libelf-dev bpftool iproute2
 curl python3 wrk brotli zstd gzip procps zsh fish"
if [ "${1:-}" = "--bench" ]; then
  PKGS="$PKGS nginx-light libnginx-mod-http-brotli-static lighttpd lighttpd-mod-deflate h2o nghttp2-client gnuplot-nox"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
echo "install-deps: done"
