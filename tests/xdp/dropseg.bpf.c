// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper: drops one chosen segment. Attached (XDP) on the CLIENT side
 * of the veth pair: of the TCP segments from source port 8080 whose
 * payload is exactly drop_ctl[0] bytes long, drop_ctl[2] are let through
 * (counting down) and the next one is dropped, and drop_ctl[0] is reset to
 * 0 (off); drop_ctl[1] counts the drops. Userspace arms it with map
 * updates. Also the peer program that native XDP_TX on the server needs.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u32);
} drop_ctl SEC(".maps");

/* TCP payload length of a segment from port 8080, or -1. */
static __always_inline int payload_len(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct tcphdr *th;
	int l3len, iphl;

	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP)
			return -1;
		iphl = ip->ihl * 4;
		l3len = bpf_ntohs(ip->tot_len) - iphl;
		th = (void *)ip + iphl;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
			return -1;
		l3len = bpf_ntohs(ip6->payload_len);
		th = (void *)(ip6 + 1);
	} else {
		return -1;
	}
	if ((void *)(th + 1) > end || th->source != bpf_htons(8080))
		return -1;
	return l3len - th->doff * 4;
}

SEC("xdp")
int dropseg_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 k0 = 0, k1 = 1, k2 = 2, *want, *n, *skip;
	int len = payload_len(data, end);

	want = bpf_map_lookup_elem(&drop_ctl, &k0);
	if (len <= 0 || !want || *want != (__u32)len)
		return XDP_PASS;
	skip = bpf_map_lookup_elem(&drop_ctl, &k2);
	if (skip && *skip) {
		(*skip)--;
		return XDP_PASS;
	}
	*want = 0;
	n = bpf_map_lookup_elem(&drop_ctl, &k1);
	if (n)
		__sync_fetch_and_add(n, 1);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
