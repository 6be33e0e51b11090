#!/bin/bash
# Requests with "Connection: close" answered by the kernel path, over veth
# (native XDP), with the MTUs of multiseg.sh (answers of 1-3 segments) and
# 15 % random loss both ways for the loss check. See closing.py.
. "$(dirname "$0")/lib.sh"
xt_require_root
xt_private_bpffs "$@"
xt_setup_common
[ -x "$NW_BUILDDIR/nano-web" ] || xt_fail "nano-web not built in $NW_BUILDDIR"
if [ ! -x "$NW_BUILDDIR/nanoweb-xdpd" ] && [ ! -x "$NW_BUILDDIR/xdp/nanoweb-xdpd" ]; then
	xt_skip "nanoweb-xdpd not built (configure found no clang/bpftool/libbpf?)"
fi
xt_setup_veth
ip -n "$XT_NS_S" link set dev "$XT_VS" mtu 3500 || xt_fail "MTU 3500 on $XT_VS"
XT_LOSS_OBJ=$(xt_bpf_obj loss -DLOSS_PERMILLE=150)
chmod 755 "$XT_WORK"
export XT_NS_S XT_NS_C XT_VS XT_VC XT_A4S XT_A4C XT_A6S XT_A6C XT_WORK XT_PIDFILE
export XT_PASS_OBJ XT_LOSS_OBJ XT_PIN_DIR NW_BUILDDIR NW_SRCDIR
xt_in_ns "$XT_NS_C" timeout 600 python3 "$XT_DIR/closing.py" "$@"
