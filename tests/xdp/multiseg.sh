#!/bin/bash
# Answers of several TCP segments from the kernel path, over veth (native
# XDP): the server's end gets a 3500-byte MTU (about the most a veth allows
# with XDP on its peer: the MSS XDP announces must fit it, see the mss
# check), the client's keeps 1500 (MSS 1460/1440), and nano-web pushes
# responses of up to the default max_response (14600): up to 10 segments.
# Random loss at 15 % both ways for the loss check. Then the same on
# loopback (generic XDP). See segments.py.
. "$(dirname "$0")/lib.sh"
xt_veth_test "$@"
ip -n "$XT_NS_S" link set dev "$XT_VS" mtu 3500 || xt_fail "MTU 3500 on $XT_VS"
# XT_LOSS_PERMILLE: the random loss rate each way (per mille); XT_LOSS_LOG=1
# records every drop (with segments.py --trace DIR)
XT_LOSS_PERMILLE=${XT_LOSS_PERMILLE:-150}
XT_LOSS_OBJ=$(xt_bpf_obj loss -DLOSS_PERMILLE="$XT_LOSS_PERMILLE" ${XT_LOSS_LOG:+-DLOSS_LOG})
XT_DROPSEG_OBJ=$(xt_bpf_obj dropseg)
export XT_LOSS_PERMILLE XT_DROPSEG_OBJ
xt_run_veth_driver segments.py "$@" || exit 1
# the same answers on loopback (generic XDP) in a namespace of its own, the
# client asking for MSS 1460
XT_NS_L="nwx-$XT_ID-l"
xt_add_ns "$XT_NS_L"
export XT_NS_S=$XT_NS_L XT_NS_C=$XT_NS_L XT_A4S=127.0.0.1 XT_A4C=127.0.0.1 XT_A6S=::1 XT_A6C=::1
rm -f "$XT_WORK"/*.sock
xt_in_ns "$XT_NS_L" timeout 600 python3 "$XT_DIR/segments.py" --mode lo "$@" || exit 1
