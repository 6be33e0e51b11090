#!/bin/bash
# Idle connections that XDP owns, over veth (native XDP): handed to nano-web
# once idle for [limits] timeout, which then closes them as it closes its
# own; active ones stay with XDP. See idling.py.
. "$(dirname "$0")/lib.sh"
xt_veth_test "$@"
xt_run_veth_driver idling.py "$@"
