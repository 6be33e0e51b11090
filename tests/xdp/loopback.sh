#!/bin/bash
# End-to-end test of the kernel fast path on loopback (generic XDP), in a
# network namespace of its own so the host's lo is never touched. See e2e.py.
. "$(dirname "$0")/lib.sh"
xt_require_root
xt_private_bpffs "$@"
xt_setup_common
xt_require_builds "$@"
xt_add_ns "$XT_NS_S"
XT_NS_C=$XT_NS_S
chmod 755 "$XT_WORK"
export XT_NS_S XT_NS_C XT_WORK XT_PIDFILE XT_PIN_DIR NW_BUILDDIR NW_SRCDIR
export XT_A4S=127.0.0.1 XT_A4C=127.0.0.1 XT_A6S=::1 XT_A6C=::1
xt_in_ns "$XT_NS_S" timeout 600 python3 "$XT_DIR/e2e.py" --mode lo "$@" || exit 1
