/* Unit tests of nanoweb-xdpd's pure logic: framing, PUT validation,
 * canonical paths, checksums, dates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xdpd_proto.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); fails++; } } while (0)

static size_t mk_put(uint8_t *buf, const char *path, const char *resp,
		     uint16_t date_off, uint8_t enc, uint8_t avail)
{
	struct nwx_hdr h = { .type = NWX_MSG_PUT, .seq = 7 };
	struct nwx_put p = { .generation = 1, .method = NWX_METHOD_GET,
			     .encoding = enc, .avail = avail,
			     .path_len = (uint16_t)strlen(path),
			     .date_offset = date_off,
			     .resp_len = (uint32_t)strlen(resp) };
	size_t n = sizeof(h) + sizeof(p) + strlen(path) + strlen(resp);

	h.len = (uint32_t)n;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &p, sizeof(p));
	memcpy(buf + sizeof(h) + sizeof(p), path, strlen(path));
	memcpy(buf + sizeof(h) + sizeof(p) + strlen(path), resp, strlen(resp));
	return n;
}

/* reference: RFC 1071 sum of a byte string (big-endian words), folded */
static uint16_t ref_csum(const uint8_t *b, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t fold_le(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	/* our sums are in memory (little-endian word) order: swap to compare */
	return (uint16_t)((s >> 8) | ((s & 0xff) << 8));
}

static int nm_tag(const char *resp, const char **tag, size_t *len)
{
	const uint8_t *t = NULL;
	int r = xdpd_nm_tag((const uint8_t *)resp, strlen(resp), &t, len);

	*tag = (const char *)t;
	return r;
}

/* The ETag of a 304 the helper stores for XDP to compare. */
static void test_nm_tag(void)
{
	static uint8_t buf[NWX_MSG_MAX + 64];
	const char *ok = "HTTP/1.1 304 Not Modified\r\nDate: Sun, 06 Nov 1994 "
			 "08:49:37 GMT\r\nVary: Accept-Encoding\r\nETag: "
			 "\"c61fc3c861b91f7e\"\r\nContent-Length: 2078\r\n\r\n";
	const char *tag;
	struct xdpd_put p;
	char err[256];
	size_t len, n;

	CHECK(nm_tag(ok, &tag, &len) == 0 && len == 18 &&
	      !memcmp(tag, "\"c61fc3c861b91f7e\"", 18));
	CHECK(nm_tag("HTTP/1.1 304 X\r\netag:  W/\"a\" \r\n\r\n", &tag, &len) == 0 &&
	      len == 3 && !memcmp(tag, "\"a\"", 3));
	CHECK(nm_tag("HTTP/1.1 304 X\r\nETag: \"\"\r\n\r\n", &tag, &len) == 0 &&
	      len == 2);
	/* none, two, malformed, too long, only in the body */
	CHECK(nm_tag("HTTP/1.1 304 X\r\nDate: x\r\n\r\n", &tag, &len) == -1);
	CHECK(nm_tag("HTTP/1.1 304 X\r\nETag: \"a\"\r\nETag: \"a\"\r\n\r\n",
		     &tag, &len) == -1);
	CHECK(nm_tag("HTTP/1.1 304 X\r\nETag: a\r\n\r\n", &tag, &len) == -1);
	CHECK(nm_tag("HTTP/1.1 304 X\r\nETag: \"a\r\n\r\n", &tag, &len) == -1);
	CHECK(nm_tag("HTTP/1.1 304 X\r\nETag: \"a\"x\r\n\r\n", &tag, &len) == -1);
	CHECK(nm_tag("HTTP/1.1 304 X\r\nETag: \"a\", \"b\"\r\n\r\n", &tag, &len) == -1);
	CHECK(nm_tag("HTTP/1.1 304 X\r\nETag: \"a b\"\r\n\r\n", &tag, &len) == -1);
	CHECK(nm_tag("HTTP/1.1 304 X\r\nETag: \"" "0123456789012345678901234567890123456789"
		     "012345678901234567890\"\r\n\r\n", &tag, &len) == 0 && len == 63);
	CHECK(nm_tag("HTTP/1.1 304 X\r\nETag: \"" "0123456789012345678901234567890123456789"
		     "0123456789012345678901\"\r\n\r\n", &tag, &len) == -1);
	CHECK(nm_tag("HTTP/1.1 304 X\r\n\r\nETag: \"a\"\r\n", &tag, &len) == -1);
	CHECK(nm_tag("HTTP/1.1 304 X\r\nX-ETag: \"a\"\r\n\r\n", &tag, &len) == -1);

	/* PUT of method NM: a 304 with one ETag, of an encoding in avail */
	n = mk_put(buf, "/a", ok, 33, 0, 3);
	((struct nwx_put *)(buf + sizeof(struct nwx_hdr)))->method = NWX_METHOD_NM;
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == 0 &&
	      p.tag_len == 18 && !memcmp(p.tag, "\"c61fc3c861b91f7e\"", 18));
	n = mk_put(buf, "/a", ok, 33, 1, 3);
	((struct nwx_put *)(buf + sizeof(struct nwx_hdr)))->method = NWX_METHOD_NM;
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == 0);
	n = mk_put(buf, "/a", ok, 33, 2, 3);
	((struct nwx_put *)(buf + sizeof(struct nwx_hdr)))->method = NWX_METHOD_NM;
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == NWX_E_INVAL);
	n = mk_put(buf, "/a", "HTTP/1.1 200 OK\r\nETag: \"a\"\r\n\r\n",
		   NWX_NO_DATE, 0, 1);
	((struct nwx_put *)(buf + sizeof(struct nwx_hdr)))->method = NWX_METHOD_NM;
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == NWX_E_INVAL);
	n = mk_put(buf, "/a", "HTTP/1.1 304 Not Modified\r\n\r\n",
		   NWX_NO_DATE, 0, 1);
	((struct nwx_put *)(buf + sizeof(struct nwx_hdr)))->method = NWX_METHOD_NM;
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == NWX_E_INVAL);
	n = mk_put(buf, "/a", ok, 33, 0, 3);
	((struct nwx_put *)(buf + sizeof(struct nwx_hdr)))->method = 3;
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == NWX_E_INVAL);
	/* a 200 has no tag to store */
	n = mk_put(buf, "/a", "HTTP/1.1 200 OK\r\nETag: \"a\"\r\n\r\n",
		   NWX_NO_DATE, 0, 1);
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == 0 &&
	      p.tag == NULL);
}

/* Loss probes: only OWNED flows with a multi-segment answer not fully
 * acknowledged, from NWX_RTO_MS on, backing off after 3 s, never after 60 s. */
static void test_loss_probe_due(void)
{
	struct nwx_flow f = { .state = NWX_FLOW_OWNED, .mss = 1460,
			      .last_ack = 0xfffff000u, .snd_nxt = 0xfffff000u + 2600,
			      .sent_t = 0xfffffff0u };
	uint32_t t0 = f.sent_t;

	CHECK(!xdpd_loss_probe_due(&f, t0));
	CHECK(!xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(NWX_RTO_MS) - 1));
	CHECK(xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(NWX_RTO_MS) + 1)); /* wraps */
	CHECK(xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(2900)));
	CHECK(xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(5020)));
	CHECK(!xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(5550)));
	CHECK(!xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(61000)));
	f.acked = 1460 | NWX_ACKED_RTX;
	CHECK(xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(300)));
	f.acked = 2600;
	CHECK(!xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(300)));
	f.acked = 0;
	f.snd_nxt = f.last_ack + 1400; /* one segment: the client retransmits */
	CHECK(!xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(300)));
	f.snd_nxt = f.last_ack + 2600;
	f.state = NWX_FLOW_KERNEL;
	CHECK(!xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(300)));
	/* answers of up to NWX_ANSWER_MAX (and a FIN) are probed too */
	f.state = NWX_FLOW_OWNED;
	f.snd_nxt = f.last_ack + NWX_ANSWER_MAX + 1;
	CHECK(xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(300)));
	f.snd_nxt = f.last_ack + NWX_ANSWER_MAX + 2;
	CHECK(!xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(300)));
	/* segments of at most NWX_SEG_MAX (loopback's MSS): 5000 is two */
	f.mss = 65483;
	f.snd_nxt = f.last_ack + 5000;
	CHECK(xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(300)));
	f.snd_nxt = f.last_ack + NWX_SEG_MAX;
	CHECK(!xdpd_loss_probe_due(&f, t0 + NWX_MS_TO_T(300)));
}

/* A response of up to NWX_ANSWER_MAX bytes: accepted up to max_response;
 * its Date must lie in the first NWX_RESP_MAX bytes (nwx_resp's part). */
static void test_long_put(uint8_t *buf)
{
	static char resp[NWX_ANSWER_MAX + 2];
	const char *head = "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
	struct xdpd_put p;
	char err[256];
	size_t n;

	memset(resp, 'b', NWX_ANSWER_MAX);
	memcpy(resp, head, strlen(head));
	resp[NWX_ANSWER_MAX] = '\0';
	n = mk_put(buf, "/big.js", resp, 23, 0, 1);
	CHECK(n <= NWX_MSG_MAX && xdpd_check_frame(buf, n, err, sizeof(err)) == 0);
	CHECK(xdpd_check_put(buf, n, NWX_ANSWER_MAX, &p, err, sizeof(err)) == 0 &&
	      p.put->resp_len == NWX_ANSWER_MAX);
	CHECK(xdpd_check_put(buf, n, NWX_DEFAULT_MAX_RESPONSE, &p, err,
			     sizeof(err)) == NWX_E_TOOBIG);
	resp[NWX_ANSWER_MAX] = 'b';
	n = mk_put(buf, "/big.js", resp, 23, 0, 1);
	CHECK(xdpd_check_put(buf, n, 1u << 20, &p, err, sizeof(err)) == NWX_E_TOOBIG);
	/* a Date beyond the first part, in a long response: refused */
	resp[NWX_ANSWER_MAX] = '\0';
	memcpy(resp + NWX_RESP_MAX - 20, "Sun, 06 Nov 1994 08:49:37 GMT", 29);
	n = mk_put(buf, "/big.js", resp, NWX_RESP_MAX - 20, 0, 1);
	CHECK(xdpd_check_put(buf, n, NWX_ANSWER_MAX, &p, err, sizeof(err)) == NWX_E_INVAL);
	n = mk_put(buf, "/big.js", resp, NWX_RESP_MAX - NWX_DATE_LEN, 0, 1);
	CHECK(xdpd_check_put(buf, n, NWX_ANSWER_MAX, &p, err, sizeof(err)) == 0);
}

int main(void)
{
	static uint8_t buf[NWX_MSG_MAX + 64];
	struct xdpd_put p;
	char err[256];
	size_t n;
	const char *resp = "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\nhello";

	test_nm_tag();

	/* paths */
	CHECK(xdpd_path_canonical("/", 1));
	CHECK(xdpd_path_canonical("/a/b.css", 8));
	CHECK(!xdpd_path_canonical("a", 1));
	CHECK(!xdpd_path_canonical("//a", 3));
	CHECK(!xdpd_path_canonical("/a/../b", 7));
	CHECK(!xdpd_path_canonical("/.env", 5));
	CHECK(!xdpd_path_canonical("/a%20b", 6));
	CHECK(!xdpd_path_canonical("/a?b", 4));
	CHECK(!xdpd_path_canonical("/a b", 4));

	/* framing */
	n = mk_put(buf, "/index.html", resp, 23, 0, 1);
	CHECK(xdpd_check_frame(buf, n, err, sizeof(err)) == 0);
	CHECK(xdpd_check_frame(buf, n - 1, err, sizeof(err)) == NWX_E_PROTO);
	CHECK(xdpd_check_frame(buf, 3, err, sizeof(err)) == NWX_E_PROTO);
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == 0);
	CHECK(p.put->path_len == 11 && !memcmp(p.path, "/index.html", 11));
	CHECK(xdpd_check_put(buf, n, 10, &p, err, sizeof(err)) == NWX_E_TOOBIG);
	n = mk_put(buf, "/index.html", resp, 60, 0, 1);
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == NWX_E_INVAL);
	n = mk_put(buf, "/x/../y", resp, NWX_NO_DATE, 0, 1);
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == NWX_E_INVAL);
	n = mk_put(buf, "/y", resp, NWX_NO_DATE, 2, 1);
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == NWX_E_INVAL);
	n = mk_put(buf, "/y", resp, NWX_NO_DATE, 2, 5);
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == 0);
	n = mk_put(buf, "/y", "garbage", NWX_NO_DATE, 0, 1);
	CHECK(xdpd_check_put(buf, n, 1400, &p, err, sizeof(err)) == NWX_E_INVAL);
	{
		struct nwx_hdr h = { .len = sizeof(h), .type = 99 };

		memcpy(buf, &h, sizeof(h));
		CHECK(xdpd_check_frame(buf, sizeof(h), err, sizeof(err)) == NWX_E_PROTO);
		h.type = NWX_MSG_STATS;
		memcpy(buf, &h, sizeof(h));
		CHECK(xdpd_check_frame(buf, sizeof(h), err, sizeof(err)) == 0);
	}

	/* checksums: response sum with the Date counted as zero, plus the
	 * date's own sum at the same parity, equals the whole sum */
	for (unsigned off = 20; off < 24; off++) {
		uint8_t r[128];
		struct nwx_date d;
		uint64_t s;

		memset(r, 'x', sizeof(r));
		memcpy(r, "HTTP/1.1 200 OK\r\n", 17);
		xdpd_make_date(784111777, &d);
		CHECK(!memcmp(d.s, "Sun, 06 Nov 1994 08:49:37 GMT", 29));
		memcpy(r + off, d.s, 29);
		s = xdpd_resp_csum(r, 101, off);
		s += (off & 1) ? d.sum_odd : d.sum_even;
		CHECK(fold_le(s) == ref_csum(r, 101));
	}
	test_loss_probe_due();
	test_long_put(buf);
	if (fails)
		fprintf(stderr, "%d check(s) failed\n", fails);
	return fails ? 1 : 0;
}
