#!/bin/bash
# Numbers for the issue note (not run by make check): the XDP program's cost
# per packet and requests per second, XDP versus userspace, over a veth pair
# between two namespaces. Run as root from the build directory:
#   NW_BUILDDIR=$PWD bash /path/to/tests/xdp/bench.sh
. "$(dirname "$0")/lib.sh"
xt_require_root
xt_private_bpffs "$@"
xt_setup_common
xt_setup_veth
chmod 755 "$XT_WORK"
export XT_NS_S XT_NS_C XT_VS XT_VC XT_A4S XT_A4C XT_A6S XT_A6C XT_WORK XT_PIDFILE
export XT_PASS_OBJ XT_LOSS_OBJ XT_PIN_DIR NW_BUILDDIR NW_SRCDIR
xt_in_ns "$XT_NS_C" timeout 300 python3 "$XT_DIR/bench.py" || exit 1
