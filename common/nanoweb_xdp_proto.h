/*
 * nanoweb_xdp_proto.h — the contract between nano-web and nanoweb-xdpd, and
 * the map layouts shared by the BPF programs (xdp/nanoweb.bpf.c) and the helper.
 *
 * STABILITY: once committed this header is append-only. New message types,
 * new error codes and new fields at the END of reply bodies may be added;
 * nothing is renumbered, resized or removed. A reader must accept a reply
 * body longer than the struct it knows (ignore the tail).
 *
 * ------------------------------------------------------------------------
 * Transport
 * ------------------------------------------------------------------------
 * A Unix socket of type SOCK_SEQPACKET, by default NWX_DEFAULT_SOCKET
 * (/run/nanoweb/xdpd.sock). One message per packet (send/recv of a whole
 * message, never split). Every message starts with struct nwx_hdr, whose
 * `len` is the total size of the message (header + body) and must equal the
 * size of the packet; at most NWX_MSG_MAX bytes. All integers are in host
 * byte order (both ends run on the same machine); structs are packed by
 * construction (explicit padding fields, no implicit holes).
 *
 * Every request gets exactly one reply, in order, carrying the request's
 * `seq`: either the reply type named for it below, or NWX_MSG_ERROR.
 * A bad message (wrong length, unknown type, invalid field) gets an
 * NWX_MSG_ERROR reply and a (rate-limited) log line in the helper; the
 * connection stays open, but the helper closes it after 16 bad messages in
 * a row, or when a reply cannot be delivered because the peer does not
 * read them. STATS from read-only peers is answered at most 10 times a
 * second per connection and 20 a second for all of them together (then
 * NWX_E_BUSY). See nanoweb-xdpd(8) for the connection limits.
 *
 * Permissions (SO_PEERCRED): HELLO and STATS are allowed to anyone who can
 * connect. Every message that changes a map (BEGIN, PUT, DELETE, COMMIT,
 * ABORT, SET_PORTS) needs the peer uid to be 0 or one of the helper's
 * allowed users; otherwise NWX_MSG_ERROR with NWX_E_PERM.
 *
 * A session (what nano-web does after each snapshot load or reload):
 *
 *   HELLO                      -> HELLO_REPLY (limits, may_write)
 *   SET_PORTS {3000}           -> OK            (XDP starts answering SYNs)
 *   BEGIN                      -> OK {generation = G (staging)}
 *   PUT x N (path, enc, method, response bytes, date offset) -> OK each
 *   COMMIT {G}                 -> OK {generation = G, count = entries}
 *                                 (one write flips the active generation;
 *                                  the previous generation's entries are
 *                                  deleted before this reply is sent)
 *   ... STATS                  -> STATS_REPLY
 *
 * The ports set with SET_PORTS belong to the connection that set them: when
 * that connection closes, the helper removes them (XDP then passes every
 * new SYN to the kernel, and hands off connections it owns on that port at
 * their next segment). The cache entries stay until the next writer takes
 * over.
 *
 * One writer at a time: the first connection that sends SET_PORTS, BEGIN,
 * PUT, DELETE or COMMIT becomes the writer and owns the cache and the served
 * ports until it closes. Any other connection sending one of those gets
 * NWX_MSG_ERROR with NWX_E_BUSY (ABORT, HELLO and STATS are always
 * answered). When a new writer takes over, the previous writer's cache is
 * dropped at once (nothing is served from it on the new writer's ports);
 * its COMMIT fills the cache again.
 * A helper that restarted (adopted pinned maps) keeps the previous ports
 * for a grace period (NWX_ADOPT_GRACE_S seconds) so a reconnecting nano-web
 * can claim them with SET_PORTS; after that they are removed. The first
 * writer within the grace period inherits the adopted cache and ports (the
 * adopted ports it does not claim are removed at its SET_PORTS); after it,
 * the adopted cache is dropped.
 *
 * ------------------------------------------------------------------------
 * What XDP serves (so the client knows what to push)
 * ------------------------------------------------------------------------
 * A request is answered by XDP only when ALL of these hold; everything else
 * is handed to the kernel (and so to nano-web) unchanged:
 *  - one TCP segment holding exactly one complete request (ends with the
 *    first CRLFCRLF, nothing after it), at most NWX_REQ_MAX bytes;
 *  - "GET " or "HEAD ", target starting with '/', "HTTP/1.1";
 *  - the path (target up to '?'; the query string is ignored) is canonical:
 *    only the characters A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) * + , ; = : @ /,
 *    no "//", no "/." (so no ".", "..", hidden segments), shorter than
 *    NWX_PATH_MAX; the query (if any) holds only visible ASCII;
 *  - one Host header, holding only uri-host [":" port] characters
 *    (A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) * + , ; = % : [ ]); no Range, If-* (but see below),
 *    Content-Length, Transfer-Encoding, Expect, Upgrade header; Connection
 *    absent or one token, "keep-alive" or "close" (any case; XDP then inserts
 *    "Connection: close" after the Date line, as libmicrohttpd does, and
 *    closes); at most one Accept-Encoding, which XDP parses exactly
 *    (codings br, zstd, gzip, identity, * and any other token which is
 *    ignored; optional ";q=" weights; ties br > zstd > gzip > identity,
 *    the same as nw_negotiate_encoding()); when the result would depend on
 *    the implicit weight of an unnamed identity, XDP hands off;
 *  - the path is in the cache for the active generation (full path
 *    compared), the negotiated encoding's entry for that method exists,
 *    and the response fits the client's receive window and at most
 *    NWX_MAX_SEGS segments of nwx_seg_size(the client's MSS) bytes.
 * So: push the key nano-web would look up after normalisation ("/" for the
 * index, "/a/b.css"), one PUT per (encoding, method) variant that fits, and
 * give `avail` = the mask of encodings the resource has in nano-web (bit
 * 1<<enc, identity always set) so XDP negotiates as nano-web would even
 * when a variant was too big to push (XDP then hands off).
 *
 * Revalidations (helpers whose HELLO_REPLY has NWX_FEAT_NOT_MODIFIED): a
 * request whose only precondition is one If-None-Match header holding a
 * single entity-tag (OWS [W/] DQUOTE *etagc DQUOTE OWS, visible ASCII; an
 * If-Modified-Since beside it is ignored, as RFC 9110 13.2.2 and nano-web
 * do) is evaluated as nano-web evaluates it: against the representation a
 * 200 would carry (the negotiated coding), each coding having its own
 * ETag; when no coding is acceptable it is handed off unevaluated (nano-web
 * answers 406 before any precondition, RFC 9110 13.2.1). XDP looks up that
 * coding's NWX_METHOD_NM entry; its ETag equals the tag by weak
 * comparison (the opaque-tags are equal) -> the entry (that coding's 304,
 * for GET and HEAD); else -> the 200 as above. A list, "*", several If-None-Match headers,
 * If-Match, If-Unmodified-Since, If-Range, If-Modified-Since alone, an
 * unsure negotiation, or no NM entry for that coding: handed off. So
 * nano-web pushes one NM entry per (path, coding): method NWX_METHOD_NM,
 * the coding in `encoding`, the same `avail`, the complete 304 as nano-web
 * sends it (Date placeholder, the 200's Content-Length), holding exactly one
 * "ETag: " header line whose value is a strong or weak entity-tag of at
 * most NWX_ETAG_MAX bytes; resp_len at most NWX_NM_RESP_MAX.
 */
#ifndef NANOWEB_XDP_PROTO_H
#define NANOWEB_XDP_PROTO_H

#ifndef __BPF__
#include <stdint.h>
#include <stddef.h>
typedef uint8_t nwx_u8;
typedef uint16_t nwx_u16;
typedef uint32_t nwx_u32;
typedef uint64_t nwx_u64;
#else
typedef __u8 nwx_u8;
typedef __u16 nwx_u16;
typedef __u32 nwx_u32;
typedef __u64 nwx_u64;
#endif

#define NWX_PROTO_VERSION 1
#define NWX_DEFAULT_SOCKET "/run/nanoweb/xdpd.sock"
#define NWX_DEFAULT_PIN_DIR "/sys/fs/bpf/nanoweb"
#define NWX_MSG_MAX 20480      /* (16384 before NWX_ANSWER_MAX) */

/* Limits (also the sizes of the map values below). */
#define NWX_PATH_MAX 256      /* canonical path, bytes, NUL excluded: < 256 */
#define NWX_RESP_MAX 4000     /* response bytes one map value holds: with
			       * it an nwx_resp element (value, key and the
			       * kernel's header) fits a 4 KiB allocation; at
			       * 4096 each took 8 KiB */
#define NWX_RESP_CHUNKS 4     /* a longer response continues in nwx_more */
#define NWX_ANSWER_MAX (NWX_RESP_CHUNKS * NWX_RESP_MAX) /* absolute cap on
			       * one cached response (16000 bytes) */
#define NWX_DEFAULT_MAX_RESPONSE 14600 /* default cap (INI max_response):
			       * NWX_MAX_SEGS segments of 1460 bytes */
#define NWX_MAX_SEGS 10       /* most TCP segments one answer may take: the
			       * initial window of RFC 6928 (the flow's MSS
			       * decides; more: handed off) */
#define NWX_SEG_MAX 4096      /* longest segment of an answer sent in several
			       * (an MSS above it, as on loopback, is cut to it) */
#define NWX_REQ_MAX 1536      /* longest request XDP parses */
#define NWX_DATE_LEN 29       /* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define NWX_NO_DATE 0xffff    /* date_offset: the response has no Date */
#define NWX_MAX_PORTS 16
#define NWX_ADOPT_GRACE_S 15
#define NWX_LEASE_S 5         /* see NWX_CTL_LEASE */
#define NWX_IDLE_GIVE_UP_S 60 /* see NWX_CTL_IDLE */

/* Encoding ids: identical to nano-web's enum nw_enc. */
#define NWX_ENC_IDENTITY 0
#define NWX_ENC_GZIP 1
#define NWX_ENC_BR 2
#define NWX_ENC_ZSTD 3
#define NWX_ENC_COUNT 4
/* Methods. */
#define NWX_METHOD_GET 0
#define NWX_METHOD_HEAD 1
#define NWX_METHOD_NM 2    /* the 304 Not Modified of the coding
			    * `encoding` (PUT/DELETE, helpers with
			    * NWX_FEAT_NOT_MODIFIED only) */
#define NWX_ETAG_MAX 63    /* opaque-tag (quotes included), bytes */
#define NWX_NM_TAG_OFF (NWX_RESP_MAX - 64) /* see struct nwx_resp_val */
#define NWX_NM_RESP_MAX NWX_NM_TAG_OFF

/* HELLO_REPLY features (bits) */
#define NWX_FEAT_NOT_MODIFIED 1u /* PUT/DELETE take NWX_METHOD_NM; XDP
				  * answers If-None-Match (see above) */

/* ------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------ */

/* Every message begins with this 16-byte header. */
struct nwx_hdr {
	nwx_u32 len;   /* total length of the message in bytes, header included */
	nwx_u16 type;  /* NWX_MSG_* */
	nwx_u16 flags; /* 0 (reserved) */
	nwx_u32 seq;   /* chosen by the requester, echoed in the reply */
	nwx_u32 reserved; /* 0 */
};

enum nwx_msg_type {
	/* requests (nano-web -> helper) */
	NWX_MSG_HELLO = 1,     /* body: struct nwx_hello. Reply HELLO_REPLY. */
	NWX_MSG_BEGIN = 2,     /* body: struct nwx_begin. Starts a staging
				* generation for this connection (discarding an
				* uncommitted one). Reply OK {generation = the
				* staging generation, count = entries copied}. */
	NWX_MSG_PUT = 3,       /* body: struct nwx_put + path + response.
				* Adds or replaces one response in the staging
				* generation. Reply OK {generation, count = 1}. */
	NWX_MSG_DELETE = 4,    /* body: struct nwx_delete + path. Removes
				* variants of a path from the staging generation.
				* Reply OK {generation, count = removed}. */
	NWX_MSG_COMMIT = 5,    /* body: struct nwx_commit. Flips the active
				* generation to the staging one with a single
				* map write, then deletes the old generation's
				* entries. Reply OK {generation = now active,
				* count = entries in it}. */
	NWX_MSG_ABORT = 6,     /* no body. Drops the staging generation.
				* Reply OK {generation = active, count = 0}. */
	NWX_MSG_SET_PORTS = 7, /* body: struct nwx_set_ports + ports. Replaces
				* the set of served TCP ports (owned by this
				* connection). count 0: serve none. Reply OK
				* {count = number of ports}. */
	NWX_MSG_STATS = 8,     /* no body. Reply STATS_REPLY. */

	/* replies (helper -> nano-web) */
	NWX_MSG_OK = 0x101,          /* body: struct nwx_ok */
	NWX_MSG_HELLO_REPLY = 0x102, /* body: struct nwx_hello_reply */
	NWX_MSG_STATS_REPLY = 0x103, /* body: struct nwx_stats */
	NWX_MSG_ERROR = 0x1ff,       /* body: struct nwx_error + text */
};

/* HELLO: first message on a connection (others are accepted without it). */
struct nwx_hello {
	nwx_u32 version; /* NWX_PROTO_VERSION; another value -> ERROR E_VERSION */
	nwx_u32 pid;     /* the client's pid, for log lines (informational) */
};

struct nwx_hello_reply {
	nwx_u32 version;       /* NWX_PROTO_VERSION of the helper */
	nwx_u32 may_write;     /* 1: this peer's uid may change the maps */
	nwx_u32 max_response;  /* cap on a PUT's resp_len (config, <= NWX_ANSWER_MAX;
				* helpers before it: <= NWX_RESP_MAX) */
	nwx_u32 path_max;      /* NWX_PATH_MAX */
	nwx_u32 cache_entries; /* responses per generation (config) */
	nwx_u32 flow_entries;  /* flow map size (config) */
	nwx_u32 active_generation;
	nwx_u32 helper_pid;
	/* appended: pid of the connection that owns the cache and the served
	 * ports (the writer session), 0 if none. While another connection owns
	 * them, this peer's SET_PORTS/BEGIN/PUT/DELETE/COMMIT get E_BUSY. */
	nwx_u32 owner_pid;
	/* appended: NWX_FEAT_* this helper supports (a shorter reply: none) */
	nwx_u32 features;
};

/* BEGIN */
#define NWX_BEGIN_COPY_ACTIVE 1u /* start from a copy of the active generation
				  * (then PUT/DELETE are deltas); without it
				  * the staging generation starts empty */
struct nwx_begin {
	nwx_u32 flags; /* NWX_BEGIN_* */
	nwx_u32 reserved; /* 0 */
};

/*
 * PUT: followed by path_len bytes of canonical path (no NUL), then resp_len
 * bytes of the complete response exactly as nano-web sends it: status line,
 * headers, the empty line, and (for GET) the body. date_offset is the
 * offset inside the response of the 29-byte IMF-fixdate Date value, which
 * XDP overwrites with the current date on every answer (NWX_NO_DATE: none).
 * len = sizeof(struct nwx_hdr) + sizeof(struct nwx_put) + path_len + resp_len.
 */
struct nwx_put {
	nwx_u32 generation;  /* the staging generation from BEGIN's reply */
	nwx_u8 method;       /* NWX_METHOD_GET or NWX_METHOD_HEAD (or
			      * NWX_METHOD_NM with NWX_FEAT_NOT_MODIFIED:
			      * a 304, see the top) */
	nwx_u8 encoding;     /* NWX_ENC_*: the variant this response is */
	nwx_u8 avail;        /* mask (1 << NWX_ENC_*) of every encoding nano-web
			      * has for this resource, identity included, pushed
			      * or not; must be equal for all PUTs of a path */
	nwx_u8 reserved;     /* 0 */
	nwx_u16 path_len;    /* 1 .. NWX_PATH_MAX-1, must be canonical */
	nwx_u16 date_offset; /* offset of the Date value, or NWX_NO_DATE */
	nwx_u32 resp_len;    /* 1 .. max_response; above NWX_RESP_MAX, the
			      * Date value must end within the first
			      * NWX_RESP_MAX bytes */
};

/* DELETE: followed by path_len bytes of path. */
#define NWX_ALL 0xff
struct nwx_delete {
	nwx_u32 generation; /* the staging generation */
	nwx_u8 method;      /* NWX_METHOD_* or NWX_ALL (which includes the
			     * NM entry) */
	nwx_u8 encoding;    /* NWX_ENC_* or NWX_ALL */
	nwx_u16 path_len;
};

/* COMMIT */
struct nwx_commit {
	nwx_u32 generation; /* must be this connection's staging generation */
	nwx_u32 reserved;   /* 0 */
};

/* SET_PORTS: followed by count u16 ports (host byte order, non-zero). */
struct nwx_set_ports {
	nwx_u16 count; /* 0 .. NWX_MAX_PORTS */
	nwx_u16 reserved; /* 0 */
};

/* OK reply. */
struct nwx_ok {
	nwx_u32 generation;
	nwx_u32 count;
};

/* STATS reply: every counter since the maps were created (adopted maps keep
 * counting). Append-only. */
struct nwx_stats {
	nwx_u64 hits;            /* requests answered by XDP */
	nwx_u64 hit_bytes;       /* response bytes (TCP payload) sent by XDP */
	nwx_u64 handoffs;        /* connections handed to the kernel */
	nwx_u64 handoff_failed;  /* hand-offs the kfunc or socket lookup refused */
	nwx_u64 syn_cookies;     /* SYN-ACKs with a cookie sent */
	nwx_u64 cookies_ok;      /* handshakes validated (flows created) */
	nwx_u64 invalid_dropped; /* segments of no flow, cookie or kernel
				  * socket: dropped, a RST sent back */
	nwx_u64 retransmits;     /* retransmitted requests answered again */
	nwx_u64 fins;            /* FINs answered by XDP */
	nwx_u64 rsts;            /* RSTs that removed an XDP flow */
	nwx_u64 passed;          /* packets of handed-off flows passed */
	nwx_u64 misses;          /* requests handed off because not cached */
	nwx_u64 cache_entries;   /* responses in the active generation */
	nwx_u64 cache_capacity;  /* max responses per generation */
	nwx_u64 map_memory;      /* bytes of memory used by all maps */
	nwx_u64 flow_entries;    /* flows in the flow map now */
	nwx_u64 flow_capacity;   /* size of the flow map */
	nwx_u64 active_generation;
	nwx_u64 ports;           /* number of served ports */
	nwx_u64 interfaces;      /* interfaces the programs are attached to */
	/* appended: */
	nwx_u64 multiseg;        /* answers sent as more than one segment */
	nwx_u64 seg_retransmits; /* answer data sent again after a duplicate
				  * ACK or a loss probe */
	nwx_u64 loss_probes;     /* probes the helper sent to flows whose
				  * answer was not fully acknowledged */
	nwx_u64 memo_hits;       /* requests answered without parsing: the
				  * same bytes were parsed before (nwx_memo) */
	nwx_u64 not_modified;    /* 304 answers to If-None-Match (included
				  * in hits) */
};

enum nwx_error_code {
	NWX_E_PROTO = 1,     /* framing: len mismatch, unknown type, short body */
	NWX_E_VERSION = 2,   /* unsupported protocol version */
	NWX_E_PERM = 3,      /* peer uid may not change the maps */
	NWX_E_INVAL = 4,     /* a field is invalid (path not canonical, bad enc,
			      * date offset out of range, ...) */
	NWX_E_TOOBIG = 5,    /* response larger than max_response */
	NWX_E_NOSPC = 6,     /* cache full (cache_entries) */
	NWX_E_COLLISION = 7, /* another path with the same hash is cached in this
			      * generation: this path is not cached (XDP hands
			      * it off), the session goes on */
	NWX_E_NOGEN = 8,     /* no staging generation / wrong generation */
	NWX_E_INTERNAL = 9,  /* a map operation failed */
	NWX_E_BUSY = 10,     /* another connection (another nano-web) is the
			      * writer: it owns the cache and the served ports
			      * until its connection closes; retry later */
};

/* ERROR reply: followed by text_len bytes of text (no NUL), a one-line
 * human-readable reason. */
struct nwx_error {
	nwx_u32 code;     /* enum nwx_error_code */
	nwx_u32 text_len;
};

/* ------------------------------------------------------------------------
 * Maps shared by the BPF programs and the helper (pinned in pin_dir under
 * these names). Nano-web never touches them.
 * ------------------------------------------------------------------------ */

/* nwx_ctl: ARRAY of u64, indexes: */
#define NWX_CTL_GEN 0       /* active generation (0: nothing cached) */
#define NWX_CTL_DATE_IDX 1  /* which nwx_date slot is current (0/1) */
#define NWX_CTL_WSCALE 2    /* our receive window scale announced (7) */
#define NWX_CTL_DRAIN 3     /* non-zero: the helper is stopping. XDP sends no
			     * SYN cookie and answers no request: every
			     * XDP-owned flow is handed to the kernel on its
			     * next in-order segment (FINs are still answered) */
#define NWX_CTL_MTU 4       /* smallest MTU of the interfaces served (0:
			     * unknown): the MSS XDP announces fits it */
#define NWX_CTL_LEASE 5     /* CLOCK_MONOTONIC ns: XDP acts as on
			     * NWX_CTL_DRAIN once this has passed. The helper
			     * renews it every second (NWX_LEASE_S ahead), so a
			     * helper that died or hangs leaves no fast path
			     * serving a cache nano-web can no longer update */
#define NWX_CTL_IDLE 6      /* idle timeout of an XDP-owned connection, in
			     * NWX_TIME() units (0: none): past it, the
			     * client's next in-order ACK hands it to the
			     * kernel (nano-web then applies its own
			     * timeout); the helper probes such flows for
			     * that ACK. nwx_flow.sent_t is the flow's last
			     * answer (or its handshake, or its FIN) */
#define NWX_CTL_COUNT 8

/* nwx_secret: ARRAY, 1 entry: SipHash key of the SYN cookies. */
struct nwx_secret {
	nwx_u64 k0, k1;
};

/* nwx_date: ARRAY, 2 entries (double buffered, see NWX_CTL_DATE_IDX).
 * sum_even/sum_odd: 16-bit one's-complement partial sums (unfolded) of the
 * 29 date bytes placed at an even / odd offset of the TCP payload. */
struct nwx_date {
	char s[32];     /* 29 bytes + padding */
	nwx_u32 sum_even;
	nwx_u32 sum_odd;
};

/* nwx_ports: ARRAY by port (host order) -> u32: 1 served, 0 not. */
#define NWX_PORTS_ENTRIES 65536

/* nwx_paths: HASH, one entry per (generation, path). */
struct nwx_path_key {
	nwx_u32 gen;
	nwx_u32 pad;  /* 0 */
	nwx_u64 hash; /* nwx_path_hash() of the path */
};
struct nwx_path_val {
	nwx_u16 len;       /* path length */
	nwx_u8 avail;      /* encodings the resource has (mask) */
	nwx_u8 pushed[2];  /* per method: mask of encodings in nwx_resp */
	nwx_u8 nm;         /* (formerly padding) mask of encodings with an
			    * NWX_METHOD_NM entry */
	nwx_u8 pad[2];
	char path[NWX_PATH_MAX];
};

/* nwx_resp: HASH (no prealloc), one entry per variant: the response's
 * first NWX_RESP_MAX bytes (len, date_off and csum are the whole
 * response's). nwx_more: HASH (no prealloc), the rest of a longer one:
 * chunk k (1 .. NWX_RESP_CHUNKS-1) holds bytes [k * NWX_RESP_MAX, ...),
 * len = its bytes, date_off = NWX_NO_DATE, csum = the whole response's
 * (XDP checks it against the first part's: never a mix of two PUTs). */
struct nwx_resp_key {
	nwx_u32 gen;
	nwx_u8 method;  /* NWX_METHOD_*: NM is coding enc's 304 */
	nwx_u8 enc;
	nwx_u16 chunk;  /* 0 in nwx_resp; in nwx_more, 1 .. NWX_RESP_CHUNKS-1 */
	nwx_u64 hash;
};
struct nwx_resp_val {
	nwx_u16 len;       /* response bytes */
	nwx_u16 date_off;  /* or NWX_NO_DATE */
	nwx_u32 csum;      /* unfolded 16-bit sum of data with the Date bytes
			    * counted as zero, as TCP payload (offset 0 even) */
	nwx_u8 data[NWX_RESP_MAX];
	/* An NWX_METHOD_NM entry (len <= NWX_NM_RESP_MAX) keeps its ETag's
	 * opaque-tag in the 64 bytes at data[NWX_NM_TAG_OFF]: its length,
	 * then its bytes, then zeros (the helper fills them in). */
};

/* The segment size of an answer of several segments for a flow's MSS. */
static inline nwx_u32 nwx_seg_size(nwx_u32 mss)
{
	return mss < NWX_SEG_MAX ? mss : NWX_SEG_MAX;
}

/* Whether an answer of total bytes (its FIN included) is one that loss
 * recovery covers: several segments (XDP's ack_inside(), the helper's
 * loss probes). */
static inline int nwx_answer_multiseg(nwx_u32 total, nwx_u32 mss)
{
	return total > nwx_seg_size(mss) && total <= NWX_ANSWER_MAX + 1;
}

/* nwx_flows: LRU_HASH keyed by the connection as the client sends it. IPv4
 * addresses are stored as ::ffff:a.b.c.d. */
struct nwx_flow_key {
	nwx_u32 saddr[4];
	nwx_u32 daddr[4];
	nwx_u16 sport;   /* network order */
	nwx_u16 dport;   /* network order */
	nwx_u32 pad;     /* 0 */
};
enum nwx_flow_state {
	NWX_FLOW_OWNED = 1,     /* XDP answers */
	NWX_FLOW_HANDOFF = 2,   /* XDP passed a segment for TC to hand off */
	NWX_FLOW_KERNEL = 3,    /* handed off: every packet passes */
	NWX_FLOW_CLOSING = 4,   /* XDP answered the client's FIN with FIN|ACK */
};
struct nwx_flow {
	nwx_u32 rcv_nxt;     /* next client sequence number expected (host) */
	nwx_u32 snd_nxt;     /* our next sequence number (host) */
	nwx_u32 last_seq;    /* seq of the last request answered */
	nwx_u32 last_ack;    /* ack of the last request answered */
	nwx_u16 last_len;    /* its payload length */
	nwx_u16 mss;         /* MSS from the cookie (client's, rounded down) */
	nwx_u8 state;        /* enum nwx_flow_state */
	nwx_u8 snd_wscale;   /* client's window scale (valid if wscale_ok) */
	nwx_u8 rcv_wscale;   /* ours, as announced */
	nwx_u8 wscale_ok;
	nwx_u8 sack_ok;
	nwx_u8 v6;
	/* (formerly padding, zero in older flows) loss recovery of an answer
	 * of several segments, which starts at last_ack and ends at snd_nxt: */
	nwx_u16 acked;       /* bytes of it the client acknowledged, and
			      * NWX_ACKED_RTX once retransmitted at that point */
	nwx_u32 sent_t;      /* when it was last (re)sent: NWX_TIME() units */
	/* an answer XDP could not build in place (no room to grow the frame,
	 * e.g. veth, or several segments): TC builds it from this segment and
	 * redirects it out. The pend_gen..pend_hash key also names the
	 * answer that loss recovery resends. */
	nwx_u8 pend;         /* NWX_PEND_*: what TC does for the segment below */
	nwx_u8 pend_method;
	nwx_u8 pend_enc;
	nwx_u8 pend_retrans;
	nwx_u32 pend_gen;
	nwx_u32 pend_seq;    /* the request's seq and ack */
	nwx_u32 pend_ack;
	nwx_u64 pend_hash;
};
#define NWX_PEND_ANSWER 1    /* answer the request (seq/ack below) */
#define NWX_PEND_RTX 2       /* resend the answer from this ACK's ack */
#define NWX_ACKED_RTX 0x8000
/* in pend_method: the answer ended with our FIN ("Connection: close"); the
 * flow only waits for the client's */
#define NWX_PM_CLOSED 0x80
/* Flow clock: CLOCK_MONOTONIC (bpf_ktime_get_coarse_ns in XDP: a tick's
 * resolution) in units of 2^20 ns (about 1.05 ms), truncated to 32 bits. */
#define NWX_TIME_SHIFT 20
#define NWX_MS_TO_T(ms) ((nwx_u32)(((nwx_u64)(ms) * 1000000) >> NWX_TIME_SHIFT))
/* An answer not fully acknowledged this long after it was sent is resent
 * from the client's ACK (the helper probes for that ACK: loss probes). */
#define NWX_RTO_MS 200

/* nwx_stats: PERCPU_ARRAY of u64, indexes: */
enum nwx_counter {
	NWX_C_HITS = 0,
	NWX_C_HIT_BYTES,
	NWX_C_HANDOFFS,
	NWX_C_HANDOFF_FAILED,
	NWX_C_SYN_COOKIES,
	NWX_C_COOKIES_OK,
	NWX_C_INVALID,
	NWX_C_RETRANSMITS,
	NWX_C_FINS,
	NWX_C_RSTS,
	NWX_C_PASSED,
	NWX_C_MISSES,
	NWX_C_MULTISEG,
	NWX_C_SEG_RTX,
	NWX_C_MEMO_HITS,
	NWX_C_NOT_MODIFIED,
	NWX_C_COUNT_ = 16 /* size of the array */
};

/* FNV-1a 64 of the path bytes: the hash in nwx_path_key / nwx_resp_key. */
#define NWX_FNV_OFFSET 0xcbf29ce484222325ULL
#define NWX_FNV_PRIME 0x100000001b3ULL

#ifndef __BPF__
static inline uint64_t nwx_path_hash(const char *p, size_t n)
{
	uint64_t h = NWX_FNV_OFFSET;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= NWX_FNV_PRIME;
	}
	return h;
}
#endif

#endif /* NANOWEB_XDP_PROTO_H */
