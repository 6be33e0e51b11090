#!/bin/bash
# Revalidations (If-None-Match) answered by the kernel path, over veth
# (native XDP): 304 and 200 parity with nano-web, hand-offs of what XDP
# leaves to nano-web, keep-alive, Connection: close, in place, remembered
# requests, a reload. See revalidating.py.
. "$(dirname "$0")/lib.sh"
xt_require_root
xt_private_bpffs "$@"
xt_setup_common
[ -x "$NW_BUILDDIR/nano-web" ] || xt_fail "nano-web not built in $NW_BUILDDIR"
if [ ! -x "$NW_BUILDDIR/nanoweb-xdpd" ] && [ ! -x "$NW_BUILDDIR/xdp/nanoweb-xdpd" ]; then
	xt_skip "nanoweb-xdpd not built (configure found no clang/bpftool/libbpf?)"
fi
xt_setup_veth
chmod 755 "$XT_WORK"
export XT_NS_S XT_NS_C XT_VS XT_VC XT_A4S XT_A4C XT_A6S XT_A6C XT_WORK XT_PIDFILE
export XT_PASS_OBJ XT_LOSS_OBJ XT_PIN_DIR NW_BUILDDIR NW_SRCDIR
xt_in_ns "$XT_NS_C" timeout 600 python3 "$XT_DIR/revalidating.py" "$@"
