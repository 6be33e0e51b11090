#!/bin/bash
# Revalidations (If-None-Match) answered by the kernel path, over veth
# (native XDP): 304 and 200 parity with nano-web, hand-offs of what XDP
# leaves to nano-web, keep-alive, Connection: close, in place, remembered
# requests, a reload. See revalidating.py.
. "$(dirname "$0")/lib.sh"
xt_veth_test "$@"
xt_run_veth_driver revalidating.py "$@"
