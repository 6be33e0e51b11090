#!/bin/bash
# End-to-end test of the kernel fast path over a veth pair between two
# network namespaces: native XDP on the server's end, a pass-through (or
# loss) program on the client's end, nanoweb-xdpd and nano-web in the server
# namespace, real clients in the client namespace. See e2e.py.
. "$(dirname "$0")/lib.sh"
xt_veth_test "$@"
xt_run_veth_driver e2e.py --mode veth "$@" || exit 1
