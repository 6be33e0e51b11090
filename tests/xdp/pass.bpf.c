// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper: a pass-through XDP program for the client's end of the veth
 * pair. Native XDP_TX on a veth only delivers when the peer has an XDP
 * program too; this one lets every packet through.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pass_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
