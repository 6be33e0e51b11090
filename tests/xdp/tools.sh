#!/bin/bash
# Self-test of the end-to-end test tools: namespaces and veth, the loss
# program (XDP + TC), the spoofer, the SYN flood generator, the sniffer and
# the parity comparer. Needs no nano-web and no nanoweb-xdpd.
. "$(dirname "$0")/lib.sh"
xt_require_root
xt_setup_common
xt_setup_veth
export XT_NS_S XT_NS_C XT_VS XT_VC XT_A4S XT_A4C XT_A6S XT_A6C XT_WORK XT_PIDFILE
export XT_PASS_OBJ XT_LOSS_OBJ
xt_in_ns "$XT_NS_C" timeout 120 python3 "$XT_DIR/xt_selftest.py" || exit 1
