#!/bin/bash
# End-to-end test of the kernel fast path over a veth pair between two
# network namespaces: native XDP on the server's end, a pass-through (or
# loss) program on the client's end, nanoweb-xdpd and nano-web in the server
# namespace, real clients in the client namespace. See e2e.py.
. "$(dirname "$0")/lib.sh"
xt_require_root
xt_private_bpffs "$@"
xt_setup_common
[ -x "$NW_BUILDDIR/nano-web" ] || xt_fail "nano-web not built in $NW_BUILDDIR"
if [[ " $* " != *" --no-helper "* ]] && [ ! -x "$NW_BUILDDIR/nanoweb-xdpd" ] && [ ! -x "$NW_BUILDDIR/xdp/nanoweb-xdpd" ]; then
	xt_skip "nanoweb-xdpd not built (configure found no clang/bpftool/libbpf?)"
fi
xt_setup_veth
chmod 755 "$XT_WORK"
export XT_NS_S XT_NS_C XT_VS XT_VC XT_A4S XT_A4C XT_A6S XT_A6C XT_WORK XT_PIDFILE
export XT_PASS_OBJ XT_LOSS_OBJ XT_PIN_DIR NW_BUILDDIR NW_SRCDIR
xt_in_ns "$XT_NS_C" timeout 600 python3 "$XT_DIR/e2e.py" --mode veth "$@" || exit 1
