// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper: random packet loss for the end-to-end tests (this kernel has
 * no netem). Attached on the CLIENT side of the veth pair: the XDP program
 * drops a share of what arrives from the server, the TC program a share of
 * what the client sends. Only TCP over IPv4/IPv6 is dropped, so ARP and
 * neighbour discovery keep working. The XDP program doubles as the peer
 * program that native XDP_TX on the server's veth needs.
 *
 * The rate is LOSS_PERMILLE (compile time, default 50 = 5 %). With
 * -DLOSS_LOG, every dropped TCP segment is also recorded in loss_log (for
 * investigating a stall: what was lost, when); off by default, since
 * xt.py's loss_counters() reads every map of the program as counters.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef LOSS_PERMILLE
#define LOSS_PERMILLE 50
#endif

/* Counters: [0] seen TCP, [1] dropped. Read with bpftool map dump. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} loss_stats SEC(".maps");

#ifdef LOSS_LOG
#define LOSS_LOG_N 8192
struct drop_rec {
	__u64 t_ns;   /* bpf_ktime_get_ns() */
	__u32 seq, ack;   /* host order */
	__u16 sport, dport;   /* host order */
	__u16 len;   /* TCP payload */
	__u8 flags;
	__u8 dir;   /* 0: from the server (XDP), 1: from the client (TC) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LOSS_LOG_N + 1);   /* [LOSS_LOG_N].t_ns: count */
	__type(key, __u32);
	__type(value, struct drop_rec);
} loss_log SEC(".maps");

static __always_inline void log_drop(void *data, void *data_end, __u8 dir)
{
	struct ethhdr *eth = data;
	struct drop_rec *r, *c;
	struct tcphdr *th;
	__u32 k = LOSS_LOG_N, l4len;

	if ((void *)(eth + 1) > data_end)
		return;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return;
		th = (void *)ip + ip->ihl * 4;
		l4len = bpf_ntohs(ip->tot_len) - ip->ihl * 4;
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return;
		th = (void *)(ip6 + 1);
		l4len = bpf_ntohs(ip6->payload_len);
	}
	if ((void *)(th + 1) > data_end)
		return;
	c = bpf_map_lookup_elem(&loss_log, &k);
	if (!c)
		return;
	k = __sync_fetch_and_add(&c->t_ns, 1) % LOSS_LOG_N;
	r = bpf_map_lookup_elem(&loss_log, &k);
	if (!r)
		return;
	r->t_ns = bpf_ktime_get_ns();
	r->seq = bpf_ntohl(th->seq);
	r->ack = bpf_ntohl(th->ack_seq);
	r->sport = bpf_ntohs(th->source);
	r->dport = bpf_ntohs(th->dest);
	r->len = l4len - th->doff * 4;
	r->flags = ((__u8 *)th)[13];
	r->dir = dir;
}
#else
#define log_drop(data, end, dir) do { } while (0)
#endif

static __always_inline int is_tcp(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return 0;
		return ip->protocol == IPPROTO_TCP;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		return ip6->nexthdr == IPPROTO_TCP;
	}
	return 0;
}

static __always_inline int lose(void)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&loss_stats, &k);

	if (v)
		(*v)++;
	if (bpf_get_prandom_u32() % 1000 >= LOSS_PERMILLE)
		return 0;
	k = 1;
	v = bpf_map_lookup_elem(&loss_stats, &k);
	if (v)
		(*v)++;
	return 1;
}

SEC("xdp")
int loss_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (is_tcp(data, data_end) && lose()) {
		log_drop(data, data_end, 0);
		return XDP_DROP;
	}
	return XDP_PASS;
}

SEC("tc")
int loss_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (is_tcp(data, data_end) && lose()) {
		log_drop(data, data_end, 1);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
