#!/bin/bash
# Requests with "Connection: close" answered by the kernel path, over veth
# (native XDP), with the MTUs of multiseg.sh (answers of 1-10 segments) and
# 15 % random loss both ways for the loss check. See closing.py.
. "$(dirname "$0")/lib.sh"
xt_veth_test "$@"
ip -n "$XT_NS_S" link set dev "$XT_VS" mtu 3500 || xt_fail "MTU 3500 on $XT_VS"
XT_LOSS_OBJ=$(xt_bpf_obj loss -DLOSS_PERMILLE=150)
xt_run_veth_driver closing.py "$@"
