// SPDX-License-Identifier: GPL-2.0
/*
 * nano-web kernel fast path.
 *
 * nwx_xdp (XDP, ingress): owns TCP connections to the served ports from
 * their SYN. SYN -> SYN-ACK carrying a SYN cookie (no state); the ACK that
 * proves the cookie creates a flow entry; a complete cached GET/HEAD in one
 * segment is answered (one segment in place, or up to NWX_MAX_SEGS through
 * TC, for a response of up to NWX_ANSWER_MAX bytes); FIN is answered;
 * anything else on an owned flow is marked for hand-off and passed up.
 *
 * nwx_tc (TC ingress): builds the answers XDP could not (several segments,
 * or no room in the frame) and resends lost answer data; for a flow marked
 * for hand-off, creates the kernel socket with bpf_sk_assign_tcp_reqsk()
 * from that very segment, using the MSS / window scales / SACK announced in
 * the SYN-ACK.
 *
 * Map layouts and limits: common/nanoweb_xdp_proto.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "nanoweb_xdp_proto.h"

#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define TC_ACT_OK_ 0
#define TC_ACT_SHOT_ 2
#define TC_HANDOFF (-100) /* tc_answer(): hand the flow off instead */

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

#define OUR_WSCALE 7

/*
 * "Connection: close" answers (BPF-side values beside the header's):
 * PEND_CLOSE in f->pend asks TC for the answer with CONN_CLOSE inserted
 * after the Date line, as libmicrohttpd sends it, and our FIN on its last
 * segment; PM_CLOSED in f->pend_method marks a flow whose answer was so
 * sent (snd_nxt counts the FIN): it only waits for the client's FIN.
 */
#define PEND_CLOSE 3
#define PM_CLOSED NWX_PM_CLOSED
#define CONN_CLOSE "Connection: close\r\n"
#define CONN_CLOSE_LEN 19
/* CONN_CLOSE's sum as a payload at an even offset (the helper's order:
 * even offsets are the low byte); at an odd one it is byte-swapped */
#define CONN_CLOSE_SUM 0x32674
/* Powers of two at or above a whole answer (with CONN_CLOSE), a segment
 * of one and a map value's data: the masks that bound offsets and lengths
 * in the scratch buffer (RESP_SPAN + SEG_SPAN bytes) for the verifier.
 * Never used to bound a read of a map value (NWX_RESP_MAX bytes of data). */
#define RESP_SPAN 16384
#define SEG_SPAN NWX_SEG_MAX
#define CHUNK_SPAN 4096
_Static_assert(RESP_SPAN >= NWX_ANSWER_MAX + CONN_CLOSE_LEN &&
	       !(RESP_SPAN & (RESP_SPAN - 1)),
	       "RESP_SPAN: a power of two, at least a whole answer");
_Static_assert(CHUNK_SPAN >= NWX_RESP_MAX && !(CHUNK_SPAN & (CHUNK_SPAN - 1)) &&
	       !(SEG_SPAN & (SEG_SPAN - 1)),
	       "CHUNK_SPAN, SEG_SPAN: powers of two");
/* an answer sent in place by XDP has its Date line this close to its
 * start and at most this much after it (bounds for the verifier) */
#define CLOSE_HEAD_MAX 128
#define CLOSE_TAIL_MAX 2048
#define HANDOFF (-1)
#define PENDING (-2)
#define GONE (-3) /* a retransmitted request whose answer cannot be sent
		   * again as it was: the connection is reset */
#define REQBUF 2048
/* hide a value's known range from clang so it keeps the masks the
 * verifier needs */
#define OPAQUE(x) asm volatile("" : "+r"(x))

extern int bpf_sk_assign_tcp_reqsk(struct __sk_buff *skb, struct sock *sk,
				   struct bpf_tcp_req_attrs *attrs,
				   int attrs__sz) __ksym;

/* FNV-1a 64 of lower-case header names and tokens. */
#define H_HOST 0x4077f8cc7eaf4d6fULL
#define H_RANGE 0x526eb811b28d5cb2ULL
#define H_CONTENT_LENGTH 0x2d69a1e6ee916e7dULL
#define H_TRANSFER_ENCODING 0x8640bd735e9d802cULL
#define H_EXPECT 0x208ad7977190aad8ULL
#define H_UPGRADE 0x7f7d77d7c2a03db7ULL
#define H_CONNECTION 0xc7f597ea639b1b59ULL
#define H_ACCEPT_ENCODING 0x1d28531d6419b959ULL
#define H_KEEP_ALIVE 0x9b912fcf8da69be0ULL
#define H_CLOSE 0x9ec2699513c0f9c3ULL
#define H_GZIP 0x3ffceb726a921155ULL
#define H_BR 0x08a64607b54df055ULL
#define H_ZSTD 0xde345761a12b312aULL
#define H_IDENTITY 0xe90f184c6aa3ffbbULL
#define H_STAR 0xaf63a74c8601927dULL
#define H_X_GZIP 0xc07135b7c731afdaULL
#define H_IF_NONE_MATCH 0x6770b6749fb03f57ULL
#define H_IF_MODIFIED_SINCE 0x8ce07dcb53ae9c09ULL

/* ------------------------------------------------------------------ maps */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NWX_CTL_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} nwx_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nwx_secret);
} nwx_secret SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct nwx_date);
} nwx_date SEC(".maps");

/* an array, not a hash: every data segment of an owned flow checks its
 * port (leaving()), and an array lookup is inlined */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NWX_PORTS_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} nwx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nwx_path_key);
	__type(value, struct nwx_path_val);
} nwx_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nwx_resp_key);
	__type(value, struct nwx_resp_val);
} nwx_resp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nwx_resp_key);
	__type(value, struct nwx_resp_val);
} nwx_more SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct nwx_flow_key);
	__type(value, struct nwx_flow);
} nwx_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NWX_C_COUNT_);
	__type(key, __u32);
	__type(value, __u64);
} nwx_stats SEC(".maps");

struct pctx {
	__u32 len;      /* payload length */
	__u32 start;    /* index of the first path byte ('/') */
	__u32 state;
	__u32 kstart;   /* start of the version token */
	__u32 path_len;
	__u32 nlen;     /* header name length so far */
	__u32 vstart;   /* start of the current header value */
	__u32 hdr;      /* HD_* of the current header */
	__u32 ae_start, ae_end;
	__u64 hash;     /* path hash */
	__u64 nhash;    /* name / value hash */
	__u8 prev;
	__u8 host, ae_count, bad, done, ifhdr;
	__u8 conn;      /* Connection headers seen */
	__u8 close;     /* the Connection header is "close" */
	__u8 conn_ws;   /* whitespace after its first character */
	__u8 host_port; /* the Host value's ':' seen: only digits follow */
	__u8 inm, ims;  /* If-None-Match / If-Modified-Since headers seen */
	__u8 tag_st;    /* TG_*: where in the If-None-Match value */
	__u8 tag_len;   /* bytes of its opaque-tag so far (in scratch.tag) */
};

struct actx {
	__u32 start, end;
	__u32 state, ndig, q;
	__u32 q_id, q_gz, q_br, q_zs, q_star;
	__u64 h;
	__u32 named; /* bit enc, bit 4: "*" */
	__u32 bad, ntok;
};

struct pkt {
	__u32 saddr[4], daddr[4]; /* key form: IPv4 as ::ffff:a.b.c.d */
	__u16 sport, dport;       /* network order */
	__u32 seq, ack;           /* host order */
	__u32 l4off, poff, plen;
	__u16 window;             /* host order */
	__u8 flags, v6, doff;
	__u8 smac[6], dmac[6];
};

/*
 * An answer (or the rest of one) as TC sends it: bytes [from, rlen) of the
 * response, cut at mss, our seq of byte 0 = seq0, every segment acking ack.
 */
struct segjob {
	struct pkt p;     /* the client's segment the skb holds */
	__u32 seq0, ack;
	__u32 from, rlen, mss;
	__u16 win;
	__u8 fin;         /* FIN on the last segment (after byte rlen) */
	__u8 known;       /* rest holds the sum of bytes [off, rlen) */
	__u64 rest;       /* (off: the next segment's start) */
};

/* nwx_memo's value (see there) */
struct memo_val {
	__u64 hash;   /* the path's hash: nwx_resp key */
	__u32 gen;
	__u8 method, enc, close, pad;
};

/* per-CPU parse state: in a map value, so the verifier does not track
 * every byte's state machine precisely through bpf_loop */
struct scratch {
	/* the answer TC segments (Date filled in); SEG_SPAN more so that
	 * any offset in it plus any segment's length stays inside */
	__u8 resp[RESP_SPAN + SEG_SPAN];
	struct segjob job;
	__u8 req[REQBUF] __attribute__((aligned(8)));
	__u8 path[NWX_PATH_MAX];
	struct pctx pc;
	struct actx ac;
	__u64 mkey;             /* nwx_memo: key and value being stored */
	struct memo_val memo;
	/* If-None-Match's opaque-tag as the helper stores an ETag
	 * (NWX_NM_TAG_OFF): length, bytes, zeros */
	__u8 tag[64] __attribute__((aligned(8)));
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} nwx_scratch SEC(".maps");

/*
 * Requests already parsed, by a keyed hash (SipHash, the cookie secret) of
 * their exact bytes: a client repeats the same request bytes, and parsing
 * them again byte by byte is most of a hit's cost. Only answers are kept,
 * for the generation they were resolved in; a new generation misses.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct memo_val);
} nwx_memo SEC(".maps");

/* --------------------------------------------------------------- helpers */

static __always_inline void cnt(__u32 idx, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&nwx_stats, &idx);

	if (c)
		*c += v;
}

static __always_inline __u64 ctl_get(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&nwx_ctl, &idx);

	return v ? *v : 0;
}

static __always_inline __u16 fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* the coarse clock (a tick's resolution) is cheap enough to stamp every
 * answer with (bpf_ktime_get_ns() is not free in a VM) */
static __always_inline __u32 now_t(void)
{
	return (__u32)(bpf_ktime_get_coarse_ns() >> NWX_TIME_SHIFT);
}

static __always_inline __u64 sum32(__u32 x)
{
	return (x & 0xffff) + (x >> 16);
}

/* MSS tables (no static const arrays: see DESIGN.md). Ascending. */
static __always_inline __u32 mss_v4(__u32 i)
{
	switch (i & 7) {
	case 0: return 536;
	case 1: return 1300;
	case 2: return 1440;
	case 3: return 1460;
	case 4: return 4312;
	case 5: return 8960;
	case 6: return 16384;
	default: return 65483;
	}
}

static __always_inline __u32 mss_v6(__u32 i)
{
	switch (i & 7) {
	case 0: return 1220;
	case 1: return 1280;
	case 2: return 1420;
	case 3: return 1440;
	case 4: return 4292;
	case 5: return 8940;
	case 6: return 16364;
	default: return 65476;
	}
}

static __always_inline __u32 mss_of(int v6, __u32 i)
{
	return v6 ? mss_v6(i) : mss_v4(i);
}

/* --------------------------------------------------------------- packets */


static __always_inline int parse_pkt(void *data, void *end, struct pkt *p)
{
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u32 l4off, tot, hl;

	if ((void *)(eth + 1) > end)
		return -1;
	__builtin_memcpy(p->smac, eth->h_source, 6);
	__builtin_memcpy(p->dmac, eth->h_dest, 6);
	if (eth->h_proto == bpf_htons(ETH_P_IP_)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return -1;
		if (*(__u8 *)ip != 0x45 || ip->protocol != IPPROTO_TCP)
			return -1;
		if (ip->frag_off & bpf_htons(0x3fff))
			return -1;
		tot = bpf_ntohs(ip->tot_len);
		if (tot < 40)
			return -1;
		tot -= 20;
		p->saddr[2] = p->daddr[2] = bpf_htonl(0xffff);
		p->saddr[3] = ip->saddr;
		p->daddr[3] = ip->daddr;
		l4off = sizeof(*eth) + sizeof(*ip);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6_)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return -1;
		if (ip6->nexthdr != IPPROTO_TCP)
			return -1;
		tot = bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		l4off = sizeof(*eth) + sizeof(*ip6);
		p->v6 = 1;
	} else {
		return -1;
	}
	th = data + l4off;
	if ((void *)th + 20 > end)
		return -1;
	p->doff = ((__u8 *)th)[12] >> 4;
	hl = (__u32)p->doff * 4;
	if (hl < 20 || tot < hl)
		return -1;
	p->l4off = l4off;
	p->poff = l4off + hl;
	p->plen = tot - hl;
	tot += l4off;
	if (tot > 0xffff || data + tot > end)
		return -1;
	p->sport = th->source;
	p->dport = th->dest;
	p->seq = bpf_ntohl(th->seq);
	p->ack = bpf_ntohl(th->ack_seq);
	p->window = bpf_ntohs(th->window);
	p->flags = ((__u8 *)th)[13];
	return 0;
}

static __always_inline void make_key(const struct pkt *p, struct nwx_flow_key *k)
{
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
	k->sport = p->sport;
	k->dport = p->dport;
	k->pad = 0;
}

static __always_inline int port_served(__u16 dport_net)
{
	__u32 port = bpf_ntohs(dport_net);
	__u32 *on = bpf_map_lookup_elem(&nwx_ports, &port);

	return on && *on;
}

static __always_inline void make_tuple(const struct pkt *p,
				       struct bpf_sock_tuple *t, __u32 *size)
{
	if (p->v6) {
		__builtin_memcpy(t->ipv6.saddr, p->saddr, 16);
		__builtin_memcpy(t->ipv6.daddr, p->daddr, 16);
		t->ipv6.sport = p->sport;
		t->ipv6.dport = p->dport;
		*size = sizeof(t->ipv6);
	} else {
		t->ipv4.saddr = p->saddr[3];
		t->ipv4.daddr = p->daddr[3];
		t->ipv4.sport = p->sport;
		t->ipv4.dport = p->dport;
		*size = sizeof(t->ipv4);
	}
}

/* 0: no socket; 1: a listener; 2: another socket (established, tw...). */
static __always_inline int kernel_socket(struct xdp_md *ctx, const struct pkt *p)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 size;
	int r;

	make_tuple(p, &t, &size);
	sk = bpf_skc_lookup_tcp(ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	r = sk->state == BPF_TCP_LISTEN ? 1 : 2;
	bpf_sk_release(sk);
	return r;
}

/* ------------------------------------------------------------ syncookies */

#define ROTL(x, b) (__u64)(((x) << (b)) | ((x) >> (64 - (b))))

/*
 * SipHash: 2-4 for the SYN cookies (a MAC), 1-3 for the request memo's key
 * (a hash-table key, as the kernel's hsiphash and Rust's HashMap use it:
 * the secret key keeps collisions out of a client's reach).
 */
struct sip {
	__u64 v0, v1, v2, v3;
};

static __always_inline void sip_round(struct sip *s)
{
	s->v0 += s->v1; s->v1 = ROTL(s->v1, 13); s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3; s->v3 = ROTL(s->v3, 16); s->v3 ^= s->v2;
	s->v0 += s->v3; s->v3 = ROTL(s->v3, 21); s->v3 ^= s->v0;
	s->v2 += s->v1; s->v1 = ROTL(s->v1, 17); s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static __always_inline void sip_init(struct sip *s, __u64 k0, __u64 k1)
{
	s->v0 = 0x736f6d6570736575ULL ^ k0;
	s->v1 = 0x646f72616e646f6dULL ^ k1;
	s->v2 = 0x6c7967656e657261ULL ^ k0;
	s->v3 = 0x7465646279746573ULL ^ k1;
}

static __always_inline void sip_word(struct sip *s, __u64 m, int rounds)
{
	int i;

	s->v3 ^= m;
	for (i = 0; i < rounds; i++)
		sip_round(s);
	s->v0 ^= m;
}

/* last: the final block (the message length in its top byte); c, d: the
 * compression and finalization rounds */
static __always_inline __u64 sip_end(struct sip *s, __u64 last, int c, int d)
{
	int i;

	sip_word(s, last, c);
	s->v2 ^= 0xff;
	for (i = 0; i < d; i++)
		sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

struct sipin {
	__u64 w[6];
};

/* SipHash-2-4 of 48 bytes. */
static __noinline __u64 siphash48(struct sipin *in, __u64 k0, __u64 k1)
{
	struct sip s;
	int i;

	sip_init(&s, k0, k1);
	for (i = 0; i < 6; i++)
		sip_word(&s, in->w[i], 2);
	return sip_end(&s, 48ULL << 56, 2, 4);
}

static __always_inline __u32 cookie_mac(const struct pkt *p, __u32 isn,
					__u64 slot, __u32 info)
{
	__u32 zero = 0;
	struct nwx_secret *k = bpf_map_lookup_elem(&nwx_secret, &zero);
	struct sipin in;

	if (!k)
		return 0;
	__builtin_memcpy(&in.w[0], p->saddr, 16);
	__builtin_memcpy(&in.w[2], p->daddr, 16);
	in.w[4] = ((__u64)p->sport << 48) | ((__u64)p->dport << 32) | isn;
	in.w[5] = (slot << 8) | info;
	return (__u32)(siphash48(&in, k->k0, k->k1) >> 40); /* 24 bits */
}

static __always_inline __u64 cookie_slot(void)
{
	return bpf_ktime_get_ns() >> 36; /* ~68.7 s */
}

/* SipHash-1-3 of the plen request bytes in req (the memo's key). */
static __noinline __u64 req_key(const __u8 *req, __u32 plen)
{
	__u32 zero = 0, nfull = plen / 8, rem = plen & 7, i;
	struct nwx_secret *k = bpf_map_lookup_elem(&nwx_secret, &zero);
	struct sip s;
	__u64 m;

	if (!k || plen > NWX_REQ_MAX)
		return 0;
	sip_init(&s, k->k0, k->k1);
	for (i = 0; i < NWX_REQ_MAX / 8; i++) {
		if (i >= nfull)
			break;
		sip_word(&s, ((const __u64 *)req)[i], 1);
	}
	m = ((const __u64 *)req)[nfull & 0xff];
	m = rem ? m & ((1ULL << (rem * 8)) - 1) : 0;
	return sip_end(&s, m | (__u64)(plen & 0xff) << 56, 1, 3);
}

/* Validates ack-1 as our cookie for seq-1; fills a new flow. */
static __always_inline int cookie_check(const struct pkt *p, struct nwx_flow *f)
{
	__u32 cookie = p->ack - 1, isn = p->seq - 1;
	__u32 info = cookie & 0xff, mac = cookie >> 8;
	__u64 slot = cookie_slot();
	__u32 ws;

	if (cookie_mac(p, isn, slot, info) != mac &&
	    cookie_mac(p, isn, slot - 1, info) != mac)
		return -1;
	ws = info & 0xf;
	__builtin_memset(f, 0, sizeof(*f));
	f->sent_t = now_t();
	f->rcv_nxt = p->seq;
	f->snd_nxt = p->ack;
	f->last_seq = p->seq - 1;
	f->last_ack = p->ack - 1;
	f->mss = mss_of(p->v6, info >> 5);
	f->sack_ok = (info >> 4) & 1;
	f->wscale_ok = ws != 15;
	f->snd_wscale = f->wscale_ok ? ws : 0;
	f->rcv_wscale = f->wscale_ok ? OUR_WSCALE : 0;
	f->state = NWX_FLOW_OWNED;
	f->v6 = p->v6;
	return 0;
}

/* TCP option parsing of a SYN, one byte position per bpf_loop step. */
struct optctx {
	__u8 buf[64];
	__u32 len, next;
	__u32 mss;
	__u32 ws;
	__u32 sack;
};

static long opt_cb(__u32 i, void *arg)
{
	struct optctx *o = arg;
	__u32 kind, l, j = i;

	if (i >= o->len || i >= 40)
		return 1;
	if (i != o->next)
		return 0;
	OPAQUE(j); /* keep the masks below */
	kind = o->buf[j & 63];
	if (kind == 0)
		return 1;
	if (kind == 1) {
		o->next = i + 1;
		return 0;
	}
	if (i + 1 >= o->len)
		return 1;
	l = o->buf[(j + 1) & 63];
	if (l < 2 || i + l > o->len)
		return 1;
	if (kind == 2 && l == 4)
		o->mss = ((__u32)o->buf[(j + 2) & 63] << 8) | o->buf[(j + 3) & 63];
	else if (kind == 3 && l == 3)
		o->ws = o->buf[(j + 2) & 63];
	else if (kind == 4 && l == 2)
		o->sack = 1;
	o->next = i + l;
	return 0;
}

/* ---------------------------------------------------------- reply builder */

/*
 * Makes the frame newlen bytes long: at the tail if there is room, else
 * (partly) at the head. A frame's tailroom can be tiny (veth and generic
 * XDP copy frames into just-fitting buffers): then the caller falls back
 * to TC.
 */
static __always_inline int resize(struct xdp_md *ctx, __u32 newlen)
{
	int g = (int)newlen - (int)bpf_xdp_get_buff_len(ctx);
	int h;

	if (g <= 0)
		return bpf_xdp_adjust_tail(ctx, g);
	if (!bpf_xdp_adjust_tail(ctx, g))
		return 0;
	if (!bpf_xdp_adjust_head(ctx, -g))
		return 0;
	h = g > 192 ? 192 : g;
	if (bpf_xdp_adjust_head(ctx, -h))
		return -1;
	if (!bpf_xdp_adjust_tail(ctx, g - h))
		return 0;
	bpf_xdp_adjust_head(ctx, h);
	return -1;
}

#define XW(ctx) (void *)(long)(ctx)->data, (void *)(long)(ctx)->data_end

/*
 * Rewrites the (already resized) packet into a reply to p: swapped
 * addresses, TCP header of hl bytes (20 or 32: then opt[] are the 3 option
 * words), payload of plen bytes whose one's-complement sum is psum.
 */
static __always_inline int write_reply(void *data, void *end,
				       const struct pkt *p,
				       __u32 seq, __u32 ack, __u8 flags,
				       __u16 win, __u32 hl, __u32 plen,
				       __u64 psum, const __u32 *opt)
{
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u32 tcplen = hl + plen;
	__u64 sum = 0;
	int i;

	if ((void *)(eth + 1) > end)
		return -1;
	__builtin_memcpy(eth->h_dest, p->smac, 6);
	__builtin_memcpy(eth->h_source, p->dmac, 6);
	eth->h_proto = bpf_htons(p->v6 ? ETH_P_IPV6_ : ETH_P_IP_);
	if (!p->v6) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return -1;
		*(__u8 *)ip = 0x45;
		ip->tos = 0;
		ip->tot_len = bpf_htons(20 + tcplen);
		ip->id = 0;
		ip->frag_off = bpf_htons(0x4000);
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		ip->check = 0;
		ip->saddr = p->daddr[3];
		ip->daddr = p->saddr[3];
		sum = sum32(p->saddr[3]) + sum32(p->daddr[3]);
		/* the header's words as they lie in memory, summed here: two
		 * bpf_csum_diff calls cost more than the arithmetic */
		ip->check = fold(sum + 0x45 + bpf_htons(20 + tcplen) +
				 bpf_htons(0x4000) + 64 + (IPPROTO_TCP << 8));
		th = (void *)(ip + 1);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return -1;
		*(__u32 *)ip6 = bpf_htonl(0x60000000);
		ip6->payload_len = bpf_htons(tcplen);
		ip6->nexthdr = IPPROTO_TCP;
		ip6->hop_limit = 64;
		__builtin_memcpy(&ip6->saddr, p->daddr, 16);
		__builtin_memcpy(&ip6->daddr, p->saddr, 16);
		for (i = 0; i < 4; i++)
			sum += sum32(p->saddr[i]) + sum32(p->daddr[i]);
		th = (void *)(ip6 + 1);
	}
	sum += bpf_htons(IPPROTO_TCP) + bpf_htons(tcplen);
	if ((void *)th + 32 > end && hl == 32)
		return -1;
	if ((void *)th + 20 > end)
		return -1;
	th->source = p->dport;
	th->dest = p->sport;
	th->seq = bpf_htonl(seq);
	th->ack_seq = bpf_htonl(ack);
	((__u8 *)th)[12] = (hl / 4) << 4;
	((__u8 *)th)[13] = flags;
	th->window = bpf_htons(win);
	th->check = 0;
	th->urg_ptr = 0;
	if (hl == 32) {
		__u32 *o = (void *)th + 20;

		if ((void *)th + 32 > end)
			return -1;
		o[0] = opt[0];
		o[1] = opt[1];
		o[2] = opt[2];
		sum += sum32(opt[0]) + sum32(opt[1]) + sum32(opt[2]);
	}
	sum += sum32(p->dport | (__u32)p->sport << 16) +
	       sum32(bpf_htonl(seq)) + sum32(bpf_htonl(ack)) +
	       ((hl / 4) << 4) + ((__u32)flags << 8) + bpf_htons(win);
	th->check = fold(sum + psum);
	return 0;
}

static __always_inline int send_ctl(struct xdp_md *ctx, const struct pkt *p,
				    __u32 seq, __u32 ack, __u8 flags, __u16 win)
{
	if (resize(ctx, p->l4off + 20))
		return XDP_DROP;
	if (write_reply(XW(ctx), p, seq, ack, flags, win, 20, 0, 0, NULL))
		return XDP_DROP;
	return XDP_TX;
}

static __always_inline int syn_cookie(struct xdp_md *ctx, struct pkt *p)
{
	struct optctx o = {};
	__u32 optlen = (__u32)p->doff * 4 - 20;
	__u32 idx, info, isn, ws, i, opt[3];
	__u64 mtu;

	if (optlen > 40)
		return XDP_PASS;
	if (optlen > 0) {
		if (bpf_xdp_load_bytes(ctx, p->l4off + 20, o.buf, optlen))
			return XDP_PASS;
		o.len = optlen;
		o.ws = 0xff;
		bpf_loop(40, opt_cb, &o, 0);
	} else {
		o.ws = 0xff;
	}
	if (!o.mss)
		o.mss = p->v6 ? 1220 : 536;
	mtu = ctl_get(NWX_CTL_MTU);
	if (mtu > 100 && mtu - (p->v6 ? 60 : 40) < o.mss)
		o.mss = mtu - (p->v6 ? 60 : 40); /* our link's MTU caps it too */
	if (p->v6 && o.mss < 1220)
		return XDP_PASS; /* the kfunc refuses it: let the kernel do it */
	idx = 0;
	for (i = 1; i < 8; i++)
		if (mss_of(p->v6, i) <= o.mss)
			idx = i;
	ws = o.ws == 0xff ? 15 : (o.ws > 14 ? 14 : o.ws);
	info = (idx << 5) | ((o.sack ? 1 : 0) << 4) | ws;
	isn = (cookie_mac(p, p->seq, cookie_slot(), info) << 8) | info;

	opt[0] = bpf_htonl((2 << 24) | (4 << 16) | mss_of(p->v6, idx));
	opt[1] = ws == 15 ? 0x01010101 : bpf_htonl(0x01030300 | OUR_WSCALE);
	opt[2] = o.sack ? bpf_htonl(0x01010402) : 0x01010101;
	if (resize(ctx, p->l4off + 32))
		return XDP_DROP;
	if (write_reply(XW(ctx), p, isn, p->seq + 1, F_SYN | F_ACK, 65535, 32, 0,
			0, opt))
		return XDP_DROP;
	cnt(NWX_C_SYN_COOKIES, 1);
	return XDP_TX;
}

/* ------------------------------------------------------- request parsing */

enum {
	PS_PATH = 0, PS_QUERY, PS_VERSION, PS_LINE, PS_NAME, PS_OWS, PS_VALUE, PS_LF,
	PS_END
};
enum { NHD_OTHER = 0, NHD_HOST, NHD_AE, NHD_CONN, NHD_BAD, NHD_INM, NHD_IMS };
/* If-None-Match: OWS [ "W/" ] DQUOTE *etagc DQUOTE OWS, nothing else */
enum { TG_START = 0, TG_SLASH, TG_QUOTE, TG_OPAQUE, TG_END };


static __always_inline int is_alpha(__u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static __always_inline int is_digit(__u8 c)
{
	return c >= '0' && c <= '9';
}

static __always_inline int path_char_ok(__u8 c)
{
	if (is_alpha(c) || is_digit(c))
		return 1;
	switch (c) {
	case '-': case '.': case '_': case '~': case '!': case '$': case '&':
	case '\'': case '(': case ')': case '*': case '+': case ',': case ';':
	case '=': case ':': case '@': case '/':
		return 1;
	}
	return 0;
}

/* reg-name or IPv4 characters of a Host value before its port (an IP
 * literal's brackets are left to nano-web's nw_host_ok(), which gives 400
 * to a malformed one): anything else is handed off. */
static __always_inline int host_char_ok(__u8 c)
{
	if (is_alpha(c) || is_digit(c))
		return 1;
	switch (c) {
	case '-': case '.': case '_': case '~': case '!': case '$': case '&':
	case '\'': case '(': case ')': case '*': case '+': case ',': case ';':
	case '=': case '%':
		return 1;
	}
	return 0;
}

static __always_inline int is_tchar(__u8 c)
{
	if (is_alpha(c) || is_digit(c))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
	case '+': case '-': case '.': case '^': case '_': case '`': case '|':
	case '~':
		return 1;
	}
	return 0;
}

static __always_inline __u8 lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static __always_inline __u64 fnv(__u64 h, __u8 c)
{
	return (h ^ c) * NWX_FNV_PRIME;
}

/* One byte of an If-None-Match value after its leading OWS; the
 * opaque-tag goes to s->tag. -1: not one entity-tag of visible ASCII
 * (a list, "*", ...): handed off. */
static __always_inline int inm_byte(struct scratch *s, struct pctx *pc,
				    __u8 c)
{
	__u32 k;

	switch (pc->tag_st) {
	case TG_START:
		if (c == 'W') {
			pc->tag_st = TG_SLASH;
			return 0;
		}
		if (c != '"')
			return -1;
		pc->tag_st = TG_OPAQUE;
		break;
	case TG_SLASH:
		if (c != '/')
			return -1;
		pc->tag_st = TG_QUOTE;
		return 0;
	case TG_QUOTE:
		if (c != '"')
			return -1;
		pc->tag_st = TG_OPAQUE;
		break;
	case TG_OPAQUE:
		if (c == '"')
			pc->tag_st = TG_END;
		else if (c != 0x21 && (c < 0x23 || c > 0x7e))
			return -1;
		break;
	default:
		return c == ' ' || c == '\t' ? 0 : -1;
	}
	if (pc->tag_len >= NWX_ETAG_MAX)
		return -1;
	k = pc->tag_len + 1;
	OPAQUE(k);
	s->tag[k & 63] = c;
	pc->tag_len++;
	return 0;
}

static long parse_cb(__u32 i, void *arg)
{
	__u32 zero = 0, idx, k;
	struct scratch *s;
	struct pctx *pc;
	__u8 c;

	s = bpf_map_lookup_elem(&nwx_scratch, &zero);
	if (!s)
		return 1;
	pc = &s->pc;
	idx = pc->start + i;
	if (idx >= pc->len || idx >= NWX_REQ_MAX)
		return 1;
	k = idx;
	OPAQUE(k);
	c = s->req[k & (REQBUF - 1)];

	switch (pc->state) {
	case PS_PATH:
		if (c == ' ' || c == '?') {
			pc->state = c == ' ' ? PS_VERSION : PS_QUERY;
			pc->kstart = idx + 1;
			return 0;
		}
		if (!path_char_ok(c) || pc->path_len >= NWX_PATH_MAX - 1)
			goto bad;
		if (pc->prev == '/' && (c == '/' || c == '.'))
			goto bad;
		k = pc->path_len;
		OPAQUE(k);
		s->path[k & (NWX_PATH_MAX - 1)] = c;
		pc->path_len++;
		pc->hash = fnv(pc->hash, c);
		pc->prev = c;
		return 0;
	case PS_QUERY:
		if (c == ' ') {
			pc->state = PS_VERSION;
			pc->kstart = idx + 1;
			return 0;
		}
		/* nano-web gives 400 to a '#' (a fragment is never sent) */
		if (c < 0x21 || c > 0x7e || c == '#')
			goto bad;
		return 0;
	case PS_VERSION:
		k = idx - pc->kstart;
		if (k < 8) {
			if (c != ((0x312e312f50545448ULL >> (8 * k)) & 0xff))
				goto bad;
		} else if (k == 8) {
			if (c != '\r')
				goto bad;
		} else {
			if (c != '\n')
				goto bad;
			pc->state = PS_LINE;
		}
		return 0;
	case PS_LINE:
		if (c == '\r') {
			pc->state = PS_END;
			return 0;
		}
		if (!is_tchar(c))
			goto bad;
		pc->nhash = fnv(NWX_FNV_OFFSET, lower(c));
		pc->nlen = 1;
		pc->ifhdr = lower(c) == 'i';
		pc->state = PS_NAME;
		return 0;
	case PS_NAME:
		if (c == ':') {
			__u64 h = pc->nhash;

			if (h == H_HOST)
				pc->hdr = NHD_HOST;
			else if (h == H_ACCEPT_ENCODING)
				pc->hdr = NHD_AE;
			else if (h == H_CONNECTION)
				pc->hdr = NHD_CONN;
			else if (h == H_IF_NONE_MATCH && pc->nlen == 13)
				pc->hdr = NHD_INM;
			else if (h == H_IF_MODIFIED_SINCE && pc->nlen == 17)
				pc->hdr = NHD_IMS;
			else if (h == H_RANGE || h == H_CONTENT_LENGTH ||
				 h == H_TRANSFER_ENCODING || h == H_EXPECT ||
				 h == H_UPGRADE || pc->ifhdr == 3)
				pc->hdr = NHD_BAD;
			else
				pc->hdr = NHD_OTHER;
			pc->nhash = NWX_FNV_OFFSET;
			pc->state = PS_OWS;
			return 0;
		}
		if (!is_tchar(c))
			goto bad;
		if (pc->nlen == 1 && pc->ifhdr == 1 && lower(c) == 'f')
			pc->ifhdr = 2;
		else if (pc->nlen == 2 && pc->ifhdr == 2 && c == '-')
			pc->ifhdr = 3;
		else if (pc->nlen < 3)
			pc->ifhdr = 0;
		pc->nlen++;
		pc->nhash = fnv(pc->nhash, lower(c));
		return 0;
	case PS_OWS:
		if (c == ' ' || c == '\t')
			return 0;
		pc->vstart = idx;
		pc->state = PS_VALUE;
		/* fall through */
	case PS_VALUE:
		if (c == '\r') {
			switch (pc->hdr) {
			case NHD_HOST:
				pc->host++;
				break;
			case NHD_AE:
				pc->ae_count++;
				pc->ae_start = pc->vstart;
				pc->ae_end = idx;
				break;
			case NHD_CONN:
				if (++pc->conn > 1)
					goto bad;
				if (pc->nhash == H_CLOSE)
					pc->close = 1;
				else if (pc->nhash != H_KEEP_ALIVE)
					goto bad;
				break;
			case NHD_INM:
				if (pc->tag_st != TG_END || ++pc->inm > 1)
					goto bad;
				s->tag[0] = pc->tag_len;
				break;
			case NHD_IMS:
				pc->ims = 1;
				break;
			case NHD_BAD:
				goto bad;
			}
			pc->state = PS_LF;
			return 0;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			goto bad;
		if (pc->hdr == NHD_HOST) {
			/* uri-host [ ":" port ], port = *DIGIT */
			if (c == ':' && !pc->host_port)
				pc->host_port = 1;
			else if (pc->host_port ? !is_digit(c) : !host_char_ok(c))
				goto bad;
		}
		if (pc->hdr == NHD_INM) {
			if (inm_byte(s, pc, c))
				goto bad;
			return 0;
		}
		if (c != ' ' && c != '\t') {
			/* one token: "clo se" is not "close" to nano-web */
			if (pc->hdr == NHD_CONN && pc->conn_ws)
				goto bad;
			pc->nhash = fnv(pc->nhash, lower(c));
		} else if (pc->hdr == NHD_CONN) {
			pc->conn_ws = 1;
		}
		return 0;
	case PS_LF:
		if (c != '\n')
			goto bad;
		pc->state = PS_LINE;
		return 0;
	case PS_END:
		if (c != '\n' || idx + 1 != pc->len)
			goto bad;
		pc->done = 1;
		return 1;
	}
bad:
	pc->bad = 1;
	return 1;
}

/* Accept-Encoding: list of coding [ OWS ";" OWS "q=" qvalue ]. */
enum { AS_TOKSTART = 0, AS_TOK, AS_AFTERTOK, AS_PARAM, AS_QEQ, AS_QV0, AS_QDOT0,
       AS_QFRAC0, AS_QDOT1, AS_QFRAC1, AS_QEND };


static __always_inline void ae_finish(struct actx *a)
{
	__u32 bit;

	a->ntok++;
	if (a->h == H_IDENTITY)
		bit = 1 << NWX_ENC_IDENTITY;
	else if (a->h == H_GZIP)
		bit = 1 << NWX_ENC_GZIP;
	else if (a->h == H_BR)
		bit = 1 << NWX_ENC_BR;
	else if (a->h == H_ZSTD)
		bit = 1 << NWX_ENC_ZSTD;
	else if (a->h == H_STAR)
		bit = 1 << 4;
	else if (a->h == H_X_GZIP) {
		a->bad = 1;
		return;
	} else
		return;
	if (a->named & bit) {
		a->bad = 1;
		return;
	}
	a->named |= bit;
	switch (bit) {
	case 1: a->q_id = a->q; break;
	case 2: a->q_gz = a->q; break;
	case 4: a->q_br = a->q; break;
	case 8: a->q_zs = a->q; break;
	default: a->q_star = a->q; break;
	}
}

static long ae_cb(__u32 i, void *arg)
{
	__u32 zero = 0, idx, j;
	struct scratch *s;
	struct actx *a;
	__u8 c;
	int ows;

	s = bpf_map_lookup_elem(&nwx_scratch, &zero);
	if (!s)
		return 1;
	a = &s->ac;
	idx = a->start + i;
	if (idx >= a->end || idx >= NWX_REQ_MAX)
		return 1;
	j = idx;
	OPAQUE(j);
	c = s->req[j & (REQBUF - 1)];
	ows = c == ' ' || c == '\t';

	switch (a->state) {
	case AS_TOKSTART:
		if (ows)
			return 0;
		if (!is_tchar(c))
			goto bad;
		a->h = fnv(NWX_FNV_OFFSET, lower(c));
		a->q = 1000;
		a->state = AS_TOK;
		return 0;
	case AS_TOK:
		if (is_tchar(c)) {
			a->h = fnv(a->h, lower(c));
			return 0;
		}
		if (ows) {
			a->state = AS_AFTERTOK;
			return 0;
		}
		/* fall through */
	case AS_AFTERTOK:
		if (ows)
			return 0;
		if (c == ';') {
			a->state = AS_PARAM;
			return 0;
		}
		if (c == ',')
			goto next;
		goto bad;
	case AS_PARAM:
		if (ows)
			return 0;
		if (c != 'q')
			goto bad;
		a->state = AS_QEQ;
		return 0;
	case AS_QEQ:
		if (c != '=')
			goto bad;
		a->state = AS_QV0;
		return 0;
	case AS_QV0:
		if (c == '0') {
			a->q = 0;
			a->state = AS_QDOT0;
		} else if (c == '1') {
			a->q = 1000;
			a->state = AS_QDOT1;
		} else {
			goto bad;
		}
		return 0;
	case AS_QDOT0:
	case AS_QDOT1:
		if (c == '.') {
			a->ndig = 0;
			a->state = a->state == AS_QDOT0 ? AS_QFRAC0 : AS_QFRAC1;
			return 0;
		}
		goto qend;
	case AS_QFRAC0:
		if (is_digit(c)) {
			if (a->ndig >= 3)
				goto bad;
			a->q += (c - '0') * (a->ndig == 0 ? 100 : a->ndig == 1 ? 10 : 1);
			a->ndig++;
			return 0;
		}
		goto qend;
	case AS_QFRAC1:
		if (c == '0') {
			if (a->ndig >= 3)
				goto bad;
			a->ndig++;
			return 0;
		}
		goto qend;
	case AS_QEND:
		goto qend;
	}
	goto bad;
qend:
	if (ows) {
		a->state = AS_QEND;
		return 0;
	}
	if (c == ',')
		goto next;
	goto bad;
next:
	ae_finish(a);
	a->state = AS_TOKSTART;
	return 0;
bad:
	a->bad = 1;
	return 1;
}

/* Returns the encoding to send, -1 for none acceptable, -2 unsure. */
static __always_inline int negotiate(struct actx *a, int have, __u32 avail)
{
	__u32 n = a->named, star = n & 16;
	__u32 qbr, qzs, qgz, qid, best = 0, bestq = 0;

	if (!have)
		return NWX_ENC_IDENTITY;
	qbr = (n & 4) ? a->q_br : star ? a->q_star : 0;
	qzs = (n & 8) ? a->q_zs : star ? a->q_star : 0;
	qgz = (n & 2) ? a->q_gz : star ? a->q_star : 0;
	if ((avail & 4) && qbr > bestq) {
		best = NWX_ENC_BR;
		bestq = qbr;
	}
	if ((avail & 8) && qzs > bestq) {
		best = NWX_ENC_ZSTD;
		bestq = qzs;
	}
	if ((avail & 2) && qgz > bestq) {
		best = NWX_ENC_GZIP;
		bestq = qgz;
	}
	if (!(n & 1) && !star) {
		/* identity unnamed: its weight is implicit */
		if (bestq == 0)
			return NWX_ENC_IDENTITY;
		if (bestq == 1000)
			return best;
		return -2;
	}
	qid = (n & 1) ? a->q_id : a->q_star;
	if (bestq > 0 && bestq >= qid)
		return best;
	if (qid > 0)
		return NWX_ENC_IDENTITY;
	return -1;
}

/* ------------------------------------------------------------ serving */

/* The Date slot to patch in (*dt NULL: none) and the payload's sum. */
static __always_inline int answer_date(struct nwx_resp_val *rv,
				       struct nwx_date **dt, __u64 *psum)
{
	__u32 off = rv->date_off, idx;

	*psum = rv->csum;
	*dt = NULL;
	if (off == NWX_NO_DATE || off + NWX_DATE_LEN > rv->len)
		return 0;
	idx = ctl_get(NWX_CTL_DATE_IDX) & 1;
	*dt = bpf_map_lookup_elem(&nwx_date, &idx);
	if (!*dt)
		return -1;
	*psum += (off & 1) ? (*dt)->sum_odd : (*dt)->sum_even;
	return 0;
}

/* rlen: the answer's bytes; its FIN, if any, is in snd_nxt but not here */
static __always_inline void answered(struct nwx_flow *f, __u32 seq, __u32 ack,
				     __u32 plen, __u32 rlen, int fin,
				     int retrans)
{
	cnt(NWX_C_HITS, 1);
	cnt(NWX_C_HIT_BYTES, rlen);
	/* the loss recovery of answers of several segments, and the idle
	 * timeout (NWX_CTL_IDLE) */
	f->sent_t = now_t();
	f->acked = 0;
	if (retrans) {
		cnt(NWX_C_RETRANSMITS, 1);
		return;
	}
	f->last_seq = seq;
	f->last_ack = ack;
	f->last_len = (__u16)plen;
	f->rcv_nxt = seq + plen;
	f->snd_nxt = ack + rlen + (fin ? 1 : 0);
}

static __always_inline int fin_sent(const struct nwx_flow *f)
{
	return f->pend_method & PM_CLOSED;
}

/*
 * Whether a response can be sent with CONN_CLOSE inserted after its Date
 * line: it has one, ending in CRLF, and the longer answer still fits the
 * scratch copy TC builds it in.
 */
static __always_inline int close_fits(const struct nwx_resp_val *rv)
{
	__u32 off = rv->date_off, rlen = rv->len;

	if (off == NWX_NO_DATE || off + NWX_DATE_LEN + 2 > rlen ||
	    rlen + CONN_CLOSE_LEN > NWX_ANSWER_MAX)
		return 0;
	off += NWX_DATE_LEN;
	if (off >= NWX_RESP_MAX - 1) /* known from rlen: for the verifier */
		return 0;
	return rv->data[off] == '\r' && rv->data[off + 1] == '\n';
}

/* Where XDP can insert CONN_CLOSE itself: the offset, or 0 if TC must. */
static __always_inline __u32 close_in_place(const struct nwx_resp_val *rv)
{
	__u32 ins = rv->date_off + NWX_DATE_LEN + 2;

	if (ins > CLOSE_HEAD_MAX || ins >= rv->len ||
	    rv->len - ins > CLOSE_TAIL_MAX)
		return 0;
	return ins;
}

/* Writes the response at base with CONN_CLOSE inserted at ins. */
static __always_inline int store_close(struct xdp_md *ctx, __u32 base,
				       const struct nwx_resp_val *rv,
				       __u32 ins)
{
	char cc[] = CONN_CLOSE;
	__u32 n = rv->len - ins;

	OPAQUE(ins);
	OPAQUE(n);
	/* unchanged (close_in_place): bounds for the verifier */
	ins = ((ins - 1) & (CLOSE_HEAD_MAX - 1)) + 1;
	n = ((n - 1) & (CLOSE_TAIL_MAX - 1)) + 1;
	if (bpf_xdp_store_bytes(ctx, base, (void *)rv->data, ins) ||
	    bpf_xdp_store_bytes(ctx, base + ins, cc, CONN_CLOSE_LEN) ||
	    bpf_xdp_store_bytes(ctx, base + ins + CONN_CLOSE_LEN,
				(void *)rv->data + ins, n))
		return -1;
	return 0;
}

static __always_inline __u32 fold16(__u64 s)
{
	return (__u16)~fold(s);
}

static __always_inline __u32 swab16(__u32 x)
{
	return ((x & 0xff) << 8) | (x >> 8);
}

/*
 * The payload sum (Date as zero) of the response with CONN_CLOSE inserted
 * at ins (the end of the Date line), from the helper's sum of it: the
 * bytes before ins (summed here, < CLOSE_HEAD_MAX) keep their offsets;
 * the rest, whose sum is the helper's minus theirs, moves by 19 bytes, an
 * odd number, which byte-swaps its sum.
 */
static __always_inline int close_sum(const struct nwx_resp_val *rv, __u32 ins,
				     __u64 *sum)
{
	__u32 d = rv->date_off, n4, crlf = NWX_DATE_LEN + d, ins_sum;
	__u64 pre;
	__s64 r;

	if (d > CLOSE_HEAD_MAX)
		return -1;
	n4 = d & ~3u;
	r = bpf_csum_diff(NULL, 0, (void *)rv->data, n4, 0);
	if (r < 0)
		return -1;
	pre = (__u32)r;
	if (d - n4 > 0)
		pre += rv->data[n4];
	if (d - n4 > 1)
		pre += (__u64)rv->data[n4 + 1] << 8;
	if (d - n4 > 2)
		pre += rv->data[n4 + 2];
	pre += (crlf & 1) ? ('\r' << 8) + '\n' : '\r' + ('\n' << 8);
	ins_sum = fold16(CONN_CLOSE_SUM);
	if (ins & 1)
		ins_sum = swab16(ins_sum);
	/* one's complement: rest = csum - pre = csum + ~pre */
	*sum = pre + ins_sum +
	       swab16(fold16((__u64)fold16(rv->csum) + (0xffff - fold16(pre))));
	return 0;
}

static __always_inline int serve(struct xdp_md *ctx, struct pkt *p,
				 struct nwx_flow *f, int retrans)
{
	__u32 zero = 0, plen = p->plen, start, rlen;
	struct nwx_path_key pk = {};
	struct nwx_resp_key rk = {};
	struct memo_val *mv;
	struct nwx_path_val *pv;
	struct nwx_resp_val *rv;
	struct nwx_date *dt;
	struct scratch *s;
	struct pctx *pc;
	struct actx *ac;
	__u64 gen, wnd, psum, phash;
	__u32 seq = p->seq, ack = p->ack, mss = f->mss, ins = 0, seg;
	__u8 method, close;
	int enc, i;

	s = bpf_map_lookup_elem(&nwx_scratch, &zero);
	if (!s)
		return HANDOFF;
	if (plen < 16 || plen > NWX_REQ_MAX)
		return HANDOFF;
	if (retrans) {
		/* the answer sent before, byte for byte: from the key and
		 * generation it was sent from (a reload since may have
		 * changed the path's answer, or removed it) */
		gen = f->pend_gen;
		method = f->pend_method & ~PM_CLOSED;
		enc = f->pend_enc;
		phash = f->pend_hash;
		close = fin_sent(f);
		goto known;
	}
	if (bpf_xdp_load_bytes(ctx, p->poff, s->req, plen))
		return HANDOFF;
	gen = ctl_get(NWX_CTL_GEN);
	s->mkey = req_key(s->req, plen);
	mv = gen ? bpf_map_lookup_elem(&nwx_memo, &s->mkey) : NULL;
	if (mv && mv->gen == (__u32)gen) {
		cnt(NWX_C_MEMO_HITS, 1);
		method = mv->method;
		enc = mv->enc;
		phash = mv->hash;
		close = mv->close;
		goto known;
	}
	if (s->req[0] == 'G' && s->req[1] == 'E' && s->req[2] == 'T' &&
	    s->req[3] == ' ' && s->req[4] == '/') {
		method = NWX_METHOD_GET;
		start = 4;
	} else if (s->req[0] == 'H' && s->req[1] == 'E' && s->req[2] == 'A' &&
		   s->req[3] == 'D' && s->req[4] == ' ' && s->req[5] == '/') {
		method = NWX_METHOD_HEAD;
		start = 5;
	} else {
		return HANDOFF;
	}
	for (i = 0; i < NWX_PATH_MAX / 8; i++)
		((__u64 *)s->path)[i] = 0;
	for (i = 0; i < 8; i++)
		((__u64 *)s->tag)[i] = 0;

	pc = &s->pc;
	ac = &s->ac;
	__builtin_memset(pc, 0, sizeof(*pc));
	__builtin_memset(ac, 0, sizeof(*ac));
	pc->len = plen;
	pc->start = start;
	pc->state = PS_PATH;
	pc->hash = NWX_FNV_OFFSET;
	bpf_loop(NWX_REQ_MAX, parse_cb, NULL, 0);
	if (!pc->done || pc->bad || pc->host != 1 || pc->ae_count > 1 ||
	    pc->path_len == 0)
		return HANDOFF;
	/* If-Modified-Since counts only without If-None-Match (RFC 9110
	 * 13.2.2), and is not evaluated here */
	if (pc->ims && !pc->inm)
		return HANDOFF;
	if (pc->ae_count) {
		ac->start = pc->ae_start;
		ac->end = pc->ae_end;
		bpf_loop(NWX_REQ_MAX, ae_cb, NULL, 0);
		if (ac->bad)
			return HANDOFF;
		switch (ac->state) {
		case AS_TOKSTART:
			if (ac->ntok == 0)
				return HANDOFF; /* empty list */
			return HANDOFF;         /* trailing comma */
		case AS_PARAM:
		case AS_QEQ:
		case AS_QV0:
			return HANDOFF;
		}
		ae_finish(ac);
		if (ac->bad)
			return HANDOFF;
	}

	if (!gen)
		goto miss;
	pk.gen = (__u32)gen;
	pk.hash = pc->hash;
	pv = bpf_map_lookup_elem(&nwx_paths, &pk);
	if (!pv || pv->len != pc->path_len)
		goto miss;
	for (i = 0; i < NWX_PATH_MAX / 8; i++)
		if (((__u64 *)pv->path)[i] != ((__u64 *)s->path)[i])
			goto miss;
	enc = negotiate(ac, pc->ae_count, pv->avail | 1);
	if (pc->inm && enc >= 0) {
		/* as nano-web: against the tag of the coding a 200 would
		 * carry; weak comparison: the opaque-tags. None acceptable:
		 * nano-web's 406, before any precondition (handed off). */
		__u32 sel = (__u32)enc;

		if (!(pv->nm & (1 << sel)))
			goto miss;
		rk.gen = (__u32)gen;
		rk.method = NWX_METHOD_NM;
		rk.enc = (__u8)sel;
		rk.hash = pc->hash;
		rv = bpf_map_lookup_elem(&nwx_resp, &rk);
		if (!rv)
			goto miss;
		for (i = 0; i < 8; i++)
			if (((__u64 *)(rv->data + NWX_NM_TAG_OFF))[i] !=
			    ((__u64 *)s->tag)[i])
				break;
		if (i == 8) {
			method = NWX_METHOD_NM;
			enc = sel;
			goto remember;
		}
	}
	if (enc < 0)
		return HANDOFF;
	if (!(pv->pushed[method & 1] & (1 << enc)))
		goto miss;
remember:
	phash = pc->hash;
	close = pc->close;
	s->memo.hash = phash;
	s->memo.gen = (__u32)gen;
	s->memo.method = method;
	s->memo.enc = (__u8)enc;
	s->memo.close = close;
	bpf_map_update_elem(&nwx_memo, &s->mkey, &s->memo, BPF_ANY);
known:
	rk.gen = (__u32)gen;
	rk.method = method;
	rk.enc = enc;
	rk.hash = phash;
	rv = bpf_map_lookup_elem(&nwx_resp, &rk);
	if (!rv) {
		if (retrans)
			return GONE;
		goto miss;
	}
	rlen = rv->len;
	if (fin_sent(f) && !close)
		return HANDOFF; /* a "retransmission" that differs */
	if (close) {
		if (!close_fits(rv))
			return HANDOFF;
		rlen += CONN_CLOSE_LEN;
		ins = close_in_place(rv);
	}
	if (retrans && f->snd_nxt - f->last_ack != rlen + (close ? 1 : 0))
		return GONE; /* not the answer the flow counts (an older
			      * program recorded no key for it) */
	seg = nwx_seg_size(mss);
	if (rlen < 1 || rlen > NWX_ANSWER_MAX || seg == 0 ||
	    (rlen + seg - 1) / seg > NWX_MAX_SEGS)
		return HANDOFF;
	wnd = (__u64)p->window << (f->wscale_ok ? (f->snd_wscale & 15) : 0);
	if (rlen > wnd)
		return HANDOFF;
	if (answer_date(rv, &dt, &psum))
		return HANDOFF;
	if (method == NWX_METHOD_NM)
		cnt(NWX_C_NOT_MODIFIED, 1);
	if (rlen > NWX_RESP_MAX || rlen > mss || (close && !ins) ||
	    resize(ctx, p->l4off + 20 + rlen)) {
		/* more than one map value, several segments, a header XDP
		 * does not insert, or no room in this frame: TC builds the
		 * answer in the skb */
		f->pend = close ? PEND_CLOSE : NWX_PEND_ANSWER;
		f->pend_method = method | (f->pend_method & PM_CLOSED);
		f->pend_enc = (__u8)enc;
		f->pend_retrans = (__u8)retrans;
		f->pend_gen = (__u32)gen;
		f->pend_seq = seq;
		f->pend_ack = ack;
		f->pend_hash = phash;
		return PENDING;
	}
	if (ins) {
		__u64 body;

		if (store_close(ctx, p->l4off + 20, rv, ins) ||
		    close_sum(rv, ins, &body))
			return XDP_DROP;
		psum = psum - rv->csum + body; /* the Date's part stays */
	} else if (bpf_xdp_store_bytes(ctx, p->l4off + 20, rv->data, rlen)) {
		return XDP_DROP;
	}
	if (dt && bpf_xdp_store_bytes(ctx, p->l4off + 20 + (rv->date_off & 0xfff),
				      dt->s, NWX_DATE_LEN))
		return XDP_DROP;
	if (write_reply(XW(ctx), p, ack, seq + plen,
			F_PSH | F_ACK | (ins ? F_FIN : 0),
			65535 >> (f->rcv_wscale & 15), 20, rlen, psum, NULL))
		return XDP_DROP;
	/* named as TC names its answers: a retransmitted request gets this
	 * answer again, and with its FIN an answer of MSS bytes is in loss
	 * recovery's reach */
	f->pend_method = method | (ins ? PM_CLOSED : 0);
	f->pend_enc = (__u8)enc;
	f->pend_gen = (__u32)gen;
	f->pend_hash = phash;
	answered(f, seq, ack, plen, rlen, ins != 0, retrans);
	return XDP_TX;
miss:
	cnt(NWX_C_MISSES, 1);
	return HANDOFF;
}

/*
 * The helper is stopping (NWX_CTL_DRAIN), or its lease ran out (it died or
 * hangs, NWX_CTL_LEASE): XDP sends no SYN cookie and answers nothing.
 */
static __always_inline int stopping(void)
{
	return ctl_get(NWX_CTL_DRAIN) ||
	       bpf_ktime_get_coarse_ns() > ctl_get(NWX_CTL_LEASE);
}

/*
 * True when XDP must stop answering on an owned flow and hand it to the
 * kernel at its next in-order segment:
 *  - the helper is stopping (stopping()): it will detach the programs, and
 *    a flow still owned by XDP after that is reset by the kernel at its
 *    next segment (no program is left to hand it off, no socket exists);
 *    or it is gone, and nothing keeps the cache in step with nano-web;
 *  - the flow's port is no longer served: the nano-web that served it left
 *    (its cache may be replaced by another writer's, for other ports).
 */
static __always_inline int leaving(const struct pkt *p)
{
	return stopping() || !port_served(p->dport);
}

/*
 * The flow has been idle longer than NWX_CTL_IDLE: nano-web closes such a
 * connection ([limits] timeout), so it goes to nano-web, which will.
 */
static __always_inline int idle(const struct nwx_flow *f)
{
	__u32 limit = (__u32)ctl_get(NWX_CTL_IDLE);

	return limit && now_t() - f->sent_t >= limit;
}

/* An answer of several segments is out and ack falls inside it. */
static __always_inline int ack_inside(const struct nwx_flow *f, __u32 ack)
{
	__u32 total = f->snd_nxt - f->last_ack;

	return nwx_answer_multiseg(total, f->mss) && ack - f->last_ack < total;
}

/*
 * Loss recovery of an answer of several segments, on an in-order ACK that
 * leaves part of it unacknowledged: TC resends the answer from that ack
 *  - on a duplicate ACK (the ack did not move), once per position: a
 *    segment before the last was lost and a later one arrived (with SACK,
 *    such an ACK carries a SACK block; one without is a window update);
 *  - on any such ACK once the answer is NWX_RTO_MS old: a lost last
 *    segment draws no duplicate ACK, so the helper probes flows whose
 *    answer is not fully acknowledged after NWX_RTO_MS (xdpd_bpf.c), and
 *    the client's answer to the probe lands here.
 *  - on an ACK that moves forward but carries SACK blocks (the segment at
 *    its ack was lost, a later one arrived), unless it answers a resend.
 * An ACK of a first part is otherwise no evidence of loss (quick ACKs of
 * segment 1 come before segment 2 arrives): it is only recorded.
 */
static __always_inline int partial_ack(const struct pkt *p, struct nwx_flow *f)
{
	__u32 off = p->ack - f->last_ack, acked = f->acked & ~NWX_ACKED_RTX;
	__u32 now = now_t();
	int old = now - f->sent_t >= NWX_MS_TO_T(NWX_RTO_MS);

	if (off < acked)
		return XDP_DROP;
	if (off > acked) {
		/* with SACK blocks it is also a duplicate ACK: the segment at
		 * off is missing and a later one arrived (a client out of
		 * quick-ACK mode sends no ACK of the segments before until
		 * then); not when our resend from the last position is what
		 * moved it (the rest of that resend is on its way) */
		int sacked = f->sack_ok && p->doff > 5 &&
			     !(f->acked & NWX_ACKED_RTX);

		f->acked = (__u16)off;
		if (!old && !sacked)
			return XDP_DROP;
	} else if (!old) {
		if (f->acked & NWX_ACKED_RTX)
			return XDP_DROP;
		if (f->sack_ok && p->doff <= 5)
			return XDP_DROP;
	}
	f->acked = (__u16)(off | NWX_ACKED_RTX);
	f->sent_t = now;
	f->pend = NWX_PEND_RTX;
	f->pend_seq = p->seq;
	f->pend_ack = p->ack;
	return XDP_PASS; /* TC resends */
}

/*
 * An in-order segment of a flow whose answer ended with our FIN (ACKs
 * inside the answer went to loss recovery). Once the client acknowledged
 * all of it: its FIN is acknowledged and the flow deleted (no TIME_WAIT:
 * see README); data gets the RST that nano-web's closed socket would send.
 * Anything else is dropped. Never handed off: a kernel socket cannot start
 * after our FIN.
 */
static __always_inline int fin_wait(struct xdp_md *ctx, const struct pkt *p,
				    struct nwx_flow *f,
				    struct nwx_flow_key *key)
{
	__u32 snd = f->snd_nxt;
	__u16 win = 65535 >> (f->rcv_wscale & 15);

	if (p->ack != snd)
		return XDP_DROP;
	if (p->plen) {
		bpf_map_delete_elem(&nwx_flows, key);
		cnt(NWX_C_RSTS, 1);
		return send_ctl(ctx, p, snd, p->seq, F_RST | F_ACK, 0);
	}
	if (!(p->flags & F_FIN))
		return XDP_DROP;
	bpf_map_delete_elem(&nwx_flows, key);
	cnt(NWX_C_FINS, 1);
	return send_ctl(ctx, p, snd, p->seq + 1, F_ACK, win);
}

static __always_inline int owned(struct xdp_md *ctx, struct pkt *p,
				 struct nwx_flow *f, struct nwx_flow_key *key)
{
	int r, retrans;

	if (p->flags & F_RST) {
		bpf_map_delete_elem(&nwx_flows, key);
		cnt(NWX_C_RSTS, 1);
		return XDP_DROP;
	}
	if (!(p->flags & F_ACK))
		return XDP_DROP;
	if (p->seq == f->rcv_nxt) {
		if (ack_inside(f, p->ack))
			return partial_ack(p, f);
		if (p->ack == f->snd_nxt)
			f->acked = (__u16)(f->snd_nxt - f->last_ack);
		if (fin_sent(f))
			return fin_wait(ctx, p, f, key);
	}
	if (p->plen == 0) {
		if (!(p->flags & F_FIN)) {
			/* pure ACK: dropped, unless the flow must leave XDP
			 * (an in-order ACK is enough for the hand-off: the
			 * kernel takes it as the handshake's last ACK) */
			if (p->seq == f->rcv_nxt && p->ack == f->snd_nxt &&
			    (leaving(p) || idle(f))) {
				f->state = NWX_FLOW_HANDOFF;
				return XDP_PASS;
			}
			return XDP_DROP;
		}
		if (p->seq != f->rcv_nxt || p->ack != f->snd_nxt)
			return XDP_DROP;
		f->rcv_nxt = p->seq + 1;
		f->state = NWX_FLOW_CLOSING;
		f->sent_t = now_t();
		cnt(NWX_C_FINS, 1);
		return send_ctl(ctx, p, f->snd_nxt, p->seq + 1, F_FIN | F_ACK,
				65535 >> (f->rcv_wscale & 15));
	}
	if (p->seq == f->rcv_nxt) {
		if (p->ack != f->snd_nxt)
			return XDP_DROP; /* our answer is not acknowledged yet */
		if ((p->flags & F_FIN) || leaving(p)) {
			f->state = NWX_FLOW_HANDOFF;
			return XDP_PASS;
		}
		retrans = 0;
	} else if (p->seq == f->last_seq && p->plen == f->last_len &&
		   p->ack == f->last_ack) {
		retrans = 1;
	} else {
		return XDP_DROP;
	}
	r = serve(ctx, p, f, retrans);
	if (r == PENDING)
		return XDP_PASS; /* TC answers */
	if (r == GONE) {
		bpf_map_delete_elem(&nwx_flows, key);
		cnt(NWX_C_RSTS, 1);
		return send_ctl(ctx, p, p->ack, 0, F_RST, 0);
	}
	if (r == HANDOFF) {
		if (retrans)
			return XDP_DROP;
		f->state = NWX_FLOW_HANDOFF;
		return XDP_PASS;
	}
	return r;
}

SEC("xdp")
int nwx_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct nwx_flow_key key;
	struct nwx_flow nf, *f;
	struct pkt p = {};
	int ks;

	if (parse_pkt(data, end, &p))
		return XDP_PASS;
	make_key(&p, &key);
	f = bpf_map_lookup_elem(&nwx_flows, &key);

	if (p.flags & F_SYN) {
		if (p.flags & (F_ACK | F_RST | F_FIN))
			return XDP_PASS;
		if (f) {
			if (f->state == NWX_FLOW_KERNEL ||
			    f->state == NWX_FLOW_HANDOFF)
				return XDP_PASS;
			bpf_map_delete_elem(&nwx_flows, &key);
		}
		if (stopping())
			return XDP_PASS; /* stopping: the kernel answers SYNs */
		if (!port_served(p.dport))
			return XDP_PASS;
		if (kernel_socket(ctx, &p) != 1)
			return XDP_PASS; /* no listener, or the kernel's own */
		return syn_cookie(ctx, &p);
	}

	if (f)
		goto have_flow;

	if (!port_served(p.dport))
		return XDP_PASS;
	if ((p.flags & F_RST) || !(p.flags & F_ACK))
		return XDP_PASS;
	if (cookie_check(&p, &nf) == 0) {
		if (bpf_map_update_elem(&nwx_flows, &key, &nf, BPF_ANY))
			return XDP_DROP;
		cnt(NWX_C_COOKIES_OK, 1);
		f = bpf_map_lookup_elem(&nwx_flows, &key);
		if (!f)
			return XDP_DROP;
		/* the handshake's ACK; when stopping, owned() hands the
		 * new flow off on it at once */
		if (p.plen == 0 && !(p.flags & F_FIN) &&
		    !stopping())
			return XDP_DROP;
		goto have_flow;
	}
	if (stopping())
		return XDP_PASS; /* stopping: SYNs went to the kernel */
	ks = kernel_socket(ctx, &p);
	if (ks == 2)
		return XDP_PASS; /* a connection the kernel owns */
	/*
	 * No connection: a RST, as the kernel sends for a segment of none.
	 * The client of a flow that is gone (evicted from the LRU, given up
	 * idle, or a "Connection: close" client resending its FIN after our
	 * ACK was lost) learns it at once instead of retransmitting until its
	 * TCP gives up, and an HTTP client retries on a new connection. A
	 * spoofed request gets no data: the RST is no larger than it.
	 */
	cnt(NWX_C_INVALID, 1);
	return send_ctl(ctx, &p, p.ack, 0, F_RST, 0);

have_flow:
	{
		switch (f->state) {
		case NWX_FLOW_KERNEL:
			if (p.flags & (F_FIN | F_RST))
				bpf_map_delete_elem(&nwx_flows, &key);
			cnt(NWX_C_PASSED, 1);
			return XDP_PASS;
		case NWX_FLOW_HANDOFF:
			cnt(NWX_C_PASSED, 1);
			return XDP_PASS;
		case NWX_FLOW_CLOSING:
			if (p.flags & F_RST) {
				bpf_map_delete_elem(&nwx_flows, &key);
				return XDP_DROP;
			}
			if (p.flags & F_FIN)
				return send_ctl(ctx, &p, f->snd_nxt, f->rcv_nxt,
						F_FIN | F_ACK,
						65535 >> (f->rcv_wscale & 15));
			if ((p.flags & F_ACK) && p.ack == f->snd_nxt + 1)
				bpf_map_delete_elem(&nwx_flows, &key);
			return XDP_DROP;
		}
	}
	return owned(ctx, &p, f, &key);
}

/* ------------------------------------------------------------- TC: hand-off */

/*
 * The rest of the response's first part (bytes [ins, end0)) into the
 * scratch buffer after CONN_CLOSE inserted at ins. The size check also
 * bounds ins for the verifier: ins + CONN_CLOSE_LEN + n stays inside resp[].
 */
static __always_inline int insert_close(struct scratch *s,
					struct bpf_dynptr *dp, __u32 ins,
					__u32 end0)
{
	__u32 n = end0 - ins;

	if (ins >= end0 || end0 > NWX_RESP_MAX)
		return -1;
	ins &= CHUNK_SPAN - 1;
	__builtin_memcpy(s->resp + ins, CONN_CLOSE, CONN_CLOSE_LEN);
	OPAQUE(n);
	n &= CHUNK_SPAN - 1; /* unchanged: bounds for the verifier */
	return bpf_dynptr_read(s->resp + ins + CONN_CLOSE_LEN, n, dp, ins, 0);
}

/*
 * The parts after the first of a response longer than one map value, from
 * nwx_more, into the scratch buffer (shift bytes further: CONN_CLOSE).
 * Every part must carry the first's sum: a part of another PUT of the
 * same key is never mixed in. (Not inlined: its stack would add to that
 * of nwx_tc, beside put_segment's.)
 */
static __noinline int load_more(struct scratch *s,
				const struct nwx_resp_key *rk0,
				const struct nwx_resp_val *rv, __u32 rlen,
				__u32 shift)
{
	struct nwx_resp_key k = *rk0;
	struct nwx_resp_val *cv;
	struct bpf_dynptr dp;
	__u32 at, n;
	int c;

	OPAQUE(shift);
	shift &= 31; /* 0 or CONN_CLOSE_LEN: bounds for the verifier */
	for (c = 1; c < NWX_RESP_CHUNKS; c++) {
		at = c * NWX_RESP_MAX;
		if (at >= rlen)
			break;
		k.chunk = (__u16)c;
		cv = bpf_map_lookup_elem(&nwx_more, &k);
		if (!cv || cv->csum != rv->csum)
			return -1;
		n = rlen - at;
		if (n > NWX_RESP_MAX)
			n = NWX_RESP_MAX;
		if (cv->len != n)
			return -1;
		OPAQUE(n);
		n = ((n - 1) & (CHUNK_SPAN - 1)) + 1; /* unchanged (1..4000):
						       * for the verifier */
		if (bpf_dynptr_from_mem(cv->data, NWX_RESP_MAX, 0, &dp) ||
		    bpf_dynptr_read(s->resp + at + shift, n, &dp, 0, 0))
			return -1;
	}
	return 0;
}

/* The response (key rk) into the scratch buffer, with the Date dt
 * (answer_date(); and CONN_CLOSE after the Date line if close). */
static __always_inline int load_resp(struct scratch *s,
				     const struct nwx_resp_key *rk,
				     struct nwx_resp_val *rv, __u32 rlen,
				     int close, const struct nwx_date *dt)
{
	__u32 off = rv->date_off, end0 = rlen, head;
	struct bpf_dynptr dp;

	if (rlen < 1 || rlen > NWX_ANSWER_MAX)
		return -1;
	if (end0 > NWX_RESP_MAX)
		end0 = NWX_RESP_MAX;
	head = end0;
	if (close) {
		if (off == NWX_NO_DATE || off + NWX_DATE_LEN + 2 > end0)
			return -1;
		head = off + NWX_DATE_LEN + 2;
	}
	/* a copy of a run-time length from a map value to another: through a
	 * dynptr (bpf_probe_read_kernel would need CAP_PERFMON) */
	if (bpf_dynptr_from_mem(rv->data, NWX_RESP_MAX, 0, &dp) ||
	    bpf_dynptr_read(s->resp, head, &dp, 0, 0))
		return -1;
	if (close && insert_close(s, &dp, head, end0))
		return -1;
	if (rlen > NWX_RESP_MAX &&
	    load_more(s, rk, rv, rlen, close ? CONN_CLOSE_LEN : 0))
		return -1;
	if (!dt)
		return 0;
	__builtin_memcpy(s->resp + (off & (CHUNK_SPAN - 1)), dt->s,
			 NWX_DATE_LEN);
	return 0;
}

/*
 * bpf_redirect() out of the interface the skb came in on. The field is
 * loaded in asm: clang may otherwise compute skb + offset once for several
 * call sites and load through it, a modified context pointer the verifier
 * refuses.
 */
static __always_inline __u32 in_ifindex(struct __sk_buff *skb)
{
	__u32 ifx;

	asm volatile("%0 = *(u32 *)(%1 + %2)"
		     : "=r"(ifx)
		     : "r"(skb), "i"(__builtin_offsetof(struct __sk_buff, ifindex)));
	return ifx;
}

static __always_inline long redirect_back(struct __sk_buff *skb)
{
	return bpf_redirect(in_ifindex(skb), 0);
}

/* A copy of the skb out of the interface it came in on. */
static __always_inline long clone_back(struct __sk_buff *skb)
{
	return bpf_clone_redirect(skb, in_ifindex(skb), 0);
}

/* One's-complement sum (unfolded) of s->resp[off, off+len) as a TCP
 * payload: bpf_csum_diff over whole words, 512 bytes a call, then the
 * last 0-3 bytes. */
static __always_inline __u64 seg_sum(struct scratch *s, __u32 off, __u32 len)
{
	__u32 n4 = len & ~3u, o, t;
	__u64 sum = 0, k;
	__s64 r;
	int c;

	for (c = 0; c < SEG_SPAN / 512; c++) {
		o = c * 512;
		if (o >= n4)
			break;
		k = n4 - o;
		if (k > 512)
			k = 512;
		OPAQUE(k);
		k = ((k - 1) & 511) + 1; /* unchanged: bounds for the verifier */
		r = bpf_csum_diff(NULL, 0,
				  (void *)(s->resp + ((off + o) & (RESP_SPAN - 1))),
				  k, 0);
		if (r < 0)
			return ~0ULL;
		sum += (__u32)r;
	}
	t = (off + n4) & (RESP_SPAN - 1);
	if (len - n4 > 0)
		sum += s->resp[t];
	if (len - n4 > 1)
		sum += (__u64)s->resp[t + 1] << 8;
	if (len - n4 > 2)
		sum += s->resp[t + 2];
	return sum;
}

/*
 * A segment's payload sum: summed, except the last one's when the whole
 * answer's sum is known (the helper's plus the Date's): the rest of it.
 * Segments start at multiples of an even MSS, so every one's bytes keep
 * the parity they have in the whole answer.
 */
static __always_inline __u64 seg_payload_sum(struct scratch *s,
					     struct segjob *j, __u32 off,
					     __u32 len, int last)
{
	__u64 sum;

	if (last && j->known)
		return j->rest;
	sum = seg_sum(s, off, len);
	if (sum != ~0ULL && j->known)
		j->rest = fold16(j->rest) + 0xffff - fold16(sum);
	return sum;
}

static __always_inline __u8 seg_flags(int last, int fin)
{
	if (!last)
		return F_ACK;
	return F_PSH | F_ACK | (fin ? F_FIN : 0);
}

/*
 * Makes the skb the segment of bytes [off, off+len) of the answer (len 0:
 * only its FIN); sends a copy of it out unless it is the last one (then
 * the caller redirects the skb itself).
 */
static __noinline int put_segment(struct __sk_buff *skb, __u32 off, __u32 len)
{
	__u32 zero = 0, hl;
	struct scratch *s;
	struct segjob *j;
	void *data, *end;
	__u64 psum, n;
	int last;

	s = bpf_map_lookup_elem(&nwx_scratch, &zero);
	if (!s || len > SEG_SPAN || off > NWX_ANSWER_MAX + CONN_CLOSE_LEN)
		return -1;
	j = &s->job;
	hl = j->p.l4off + 20;
	last = off + len >= j->rlen;
	if (len == 0 && !(last && j->fin))
		return -1;
	psum = seg_payload_sum(s, j, off, len, last);
	if (psum == ~0ULL)
		return -1;
	if (bpf_skb_change_tail(skb, hl + len, 0))
		return -1;
	n = len;
	OPAQUE(n);
	n = ((n - 1) & (SEG_SPAN - 1)) + 1; /* len, 1..SEG_SPAN, as
						 * the verifier can see */
	if (len && bpf_skb_store_bytes(skb, hl,
				       s->resp + (off & (RESP_SPAN - 1)),
				       n, 0))
		return -1;
	if (bpf_skb_pull_data(skb, hl))
		return -1;
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (write_reply(data, end, &j->p, j->seq0 + off, j->ack,
			seg_flags(last, last && j->fin), j->win, 20, len,
			psum, NULL))
		return -1;
	if (last)
		return 0;
	return bpf_clone_redirect(skb, skb->ifindex, 0) ? -1 : 0;
}

/* How many segments send_segments() sends for j. */
static __always_inline __u32 segs_from(const struct segjob *j)
{
	if (j->from >= j->rlen)
		return 1; /* only the FIN */
	return (j->rlen - j->from + j->mss - 1) / j->mss;
}

/* Sends the job's segments; returns the TC verdict (the last segment is
 * the skb itself, redirected). */
static __always_inline int send_segments(struct __sk_buff *skb,
					 struct segjob *j)
{
	__u32 off = j->from, len;
	int i;

	if (off > j->rlen || (off == j->rlen && !j->fin))
		return TC_ACT_SHOT_;
	for (i = 0; i < NWX_MAX_SEGS; i++) {
		len = j->rlen - off;
		if (len > j->mss)
			len = j->mss;
		if (put_segment(skb, off, len))
			return TC_ACT_SHOT_;
		off += len;
		if (off >= j->rlen)
			return redirect_back(skb);
	}
	return TC_ACT_SHOT_;
}

/* Answer data that cannot be resent (the cache was reloaded and its
 * generation deleted): reset the connection rather than leave it hanging. */
static __always_inline int tc_reset(struct __sk_buff *skb, struct pkt *p,
				    struct nwx_flow_key *key)
{
	void *data, *end;

	bpf_map_delete_elem(&nwx_flows, key);
	cnt(NWX_C_RSTS, 1);
	if (bpf_skb_change_tail(skb, p->l4off + 20, 0) ||
	    bpf_skb_pull_data(skb, p->l4off + 20))
		return TC_ACT_SHOT_;
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (write_reply(data, end, p, p->ack, 0, F_RST, 0, 20, 0, 0, NULL))
		return TC_ACT_SHOT_;
	/* sent twice: its flow is gone, so nothing would resend a lost one,
	 * and a client waiting for the rest of an answer sends nothing */
	clone_back(skb);
	return redirect_back(skb);
}

/*
 * An answer of one segment (no CONN_CLOSE to insert): stored straight from
 * the response entry, Date patched over it, checksummed from the helper's
 * sum as XDP's in-place answers are; no scratch copy, no summing.
 */
static __always_inline int tc_one(struct __sk_buff *skb, struct pkt *p,
				  struct nwx_resp_val *rv, __u16 win)
{
	__u32 rlen = rv->len, hl = p->l4off + 20, n;
	struct nwx_date *dt;
	void *data, *end;
	__u64 psum;

	if (rlen < 1 || rlen > NWX_RESP_MAX || answer_date(rv, &dt, &psum))
		return TC_ACT_SHOT_;
	if (bpf_skb_change_tail(skb, hl + rlen, 0))
		return TC_ACT_SHOT_;
	n = rlen;
	OPAQUE(n);
	if (n < 1 || n > NWX_RESP_MAX) /* unchanged: bounds for the verifier */
		return TC_ACT_SHOT_;
	if (bpf_skb_store_bytes(skb, hl, rv->data, n, 0))
		return TC_ACT_SHOT_;
	if (dt && bpf_skb_store_bytes(skb, hl + rv->date_off, dt->s,
				      NWX_DATE_LEN, 0))
		return TC_ACT_SHOT_;
	if (bpf_skb_pull_data(skb, hl))
		return TC_ACT_SHOT_;
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (write_reply(data, end, p, p->ack, p->seq + p->plen, F_PSH | F_ACK,
			win, 20, rlen, psum, NULL))
		return TC_ACT_SHOT_;
	return redirect_back(skb);
}

/* Builds in the skb what XDP left pending for this segment: an answer (of
 * one or several segments) or the resending of one from the ACK's ack.
 * Returns the TC verdict, or TC_HANDOFF. */
static __always_inline int tc_answer(struct __sk_buff *skb, struct pkt *p,
				     struct nwx_flow *f,
				     struct nwx_flow_key *key)
{
	struct nwx_resp_key rk = {};
	struct nwx_resp_val *rv;
	struct nwx_date *dt;
	struct segjob *j;
	struct scratch *s;
	__u32 zero = 0, rlen, mss = f->mss, seg = nwx_seg_size(f->mss);
	__u16 win = 65535 >> (f->rcv_wscale & 15);
	__u64 psum;
	int pend = f->pend, close;

	if (p->seq != f->pend_seq || p->ack != f->pend_ack)
		return TC_ACT_SHOT_;
	f->pend = 0;
	close = pend == PEND_CLOSE || fin_sent(f);
	rk.gen = f->pend_gen;
	rk.method = f->pend_method & ~PM_CLOSED;
	rk.enc = f->pend_enc;
	rk.hash = f->pend_hash;
	rv = bpf_map_lookup_elem(&nwx_resp, &rk);
	if (!rv) {
		if (pend == NWX_PEND_RTX)
			return tc_reset(skb, p, key);
		return TC_ACT_SHOT_; /* reloaded meanwhile: the client retransmits */
	}
	rlen = rv->len;
	if (pend == NWX_PEND_ANSWER && !close && rlen <= mss &&
	    rlen <= NWX_RESP_MAX) {
		answered(f, p->seq, p->ack, p->plen, rlen, 0, f->pend_retrans);
		return tc_one(skb, p, rv, win);
	}
	s = bpf_map_lookup_elem(&nwx_scratch, &zero);
	if (!s || seg == 0 || answer_date(rv, &dt, &psum) ||
	    load_resp(s, &rk, rv, rlen, close, dt)) {
		/* a part of a long response missing or of another PUT (the
		 * helper deleting a generation as we read it): a request not
		 * answered before goes to nano-web, which has it whole */
		if (pend != NWX_PEND_RTX && !f->pend_retrans && !fin_sent(f))
			return TC_HANDOFF;
		return TC_ACT_SHOT_;
	}
	if (close)
		rlen += CONN_CLOSE_LEN;
	j = &s->job;
	j->p = *p;
	j->rlen = rlen;
	j->mss = seg;
	j->win = win;
	j->fin = close;
	j->from = 0;
	j->known = !close && !(seg & 1); /* the sum of all of it: psum */
	j->rest = psum;
	if (pend == NWX_PEND_RTX) {
		j->seq0 = f->last_ack;
		j->ack = f->rcv_nxt;
		j->from = p->ack - f->last_ack;
		j->known = 0; /* psum covers the answer from byte 0 */
		if (f->snd_nxt - f->last_ack != rlen + close)
			return TC_ACT_SHOT_;
		cnt(NWX_C_SEG_RTX, segs_from(j));
		return send_segments(skb, j);
	}
	j->seq0 = p->ack;
	j->ack = p->seq + p->plen;
	if (rlen > seg)
		cnt(NWX_C_MULTISEG, 1);
	/* recorded before sending: a segment that fails to go out is a loss */
	answered(f, p->seq, p->ack, p->plen, rlen, close, f->pend_retrans);
	if (close)
		f->pend_method |= PM_CLOSED;
	return send_segments(skb, j);
}

SEC("tc")
int nwx_tc(struct __sk_buff *skb)
{
	struct bpf_tcp_req_attrs attrs = {};
	struct bpf_sock_tuple t = {};
	struct nwx_flow_key key;
	struct nwx_flow *f;
	struct bpf_sock *skc;
	struct tcp_sock *tp;
	struct pkt p = {};
	void *data, *end;
	__u32 size;
	int ret;

	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (data + 14 + 40 + 20 > end) {
		bpf_skb_pull_data(skb, 14 + 40 + 20);
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
	}
	if (parse_pkt(data, end, &p))
		return TC_ACT_OK_;
	make_key(&p, &key);
	f = bpf_map_lookup_elem(&nwx_flows, &key);
	if (!f)
		return TC_ACT_OK_;
	if (f->state == NWX_FLOW_OWNED && f->pend) {
		ret = tc_answer(skb, &p, f, &key);
		if (ret != TC_HANDOFF)
			return ret;
		f->state = NWX_FLOW_HANDOFF;
	}
	if (f->state != NWX_FLOW_HANDOFF)
		return TC_ACT_OK_;

	make_tuple(&p, &t, &size);
	skc = bpf_skc_lookup_tcp(skb, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!skc) {
		cnt(NWX_C_HANDOFF_FAILED, 1);
		f->state = NWX_FLOW_KERNEL;
		return TC_ACT_OK_;
	}
	if (skc->state != BPF_TCP_LISTEN) {
		/* already handed off (a retransmission raced us) */
		bpf_sk_release(skc);
		f->state = NWX_FLOW_KERNEL;
		return TC_ACT_OK_;
	}
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp) {
		bpf_sk_release(skc);
		cnt(NWX_C_HANDOFF_FAILED, 1);
		f->state = NWX_FLOW_KERNEL;
		return TC_ACT_OK_;
	}
	attrs.mss = f->mss;
	attrs.wscale_ok = f->wscale_ok;
	attrs.snd_wscale = f->snd_wscale;
	attrs.rcv_wscale = f->rcv_wscale;
	attrs.sack_ok = f->sack_ok;
	ret = bpf_sk_assign_tcp_reqsk(skb, (struct sock *)tp, &attrs,
				      sizeof(attrs));
	bpf_sk_release(skc);
	f->state = NWX_FLOW_KERNEL;
	if (ret < 0)
		cnt(NWX_C_HANDOFF_FAILED, 1);
	else
		cnt(NWX_C_HANDOFFS, 1);
	return TC_ACT_OK_;
}

char _license[] SEC("license") = "GPL";
