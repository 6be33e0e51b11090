#!/bin/bash
# The helper's socket against local peers that abuse it (xdp/xdpd_sock.c):
# real nanoweb-xdpd processes on the lo (and a veth) of a network namespace
# of our own, with sockets and pins private to this run, driven by
# tests/xdp/abusive_peers.py as root and as unprivileged uids.
. "$(dirname "$0")/lib.sh"
xt_require_root
xt_private_bpffs "$@"
xt_setup_common
xt_require_builds
XT_NS_S="nwx-$XT_ID-s"
xt_add_ns "$XT_NS_S"
ip -n "$XT_NS_S" link add nwxd0 type veth peer name nwxd1 || xt_fail "cannot add a veth pair"
ip -n "$XT_NS_S" link set nwxd0 up && ip -n "$XT_NS_S" link set nwxd1 up
chmod 755 "$XT_WORK"
XT_NS_C=$XT_NS_S
export XT_NS_S XT_NS_C XT_WORK XT_PIDFILE XT_PIN_DIR NW_BUILDDIR NW_SRCDIR
xt_in_ns "$XT_NS_S" timeout 300 python3 "$XT_DIR/abusive_peers.py" "$@" || exit 1
