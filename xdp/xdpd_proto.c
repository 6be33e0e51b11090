/* nanoweb-xdpd: pure logic (see xdpd_proto.h). */
#include "xdpd_proto.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool path_char_ok(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c && strchr("-._~!$&'()*+,;=:@/", c) != NULL;
}

bool xdpd_path_canonical(const char *p, size_t n)
{
	if (n == 0 || n >= NWX_PATH_MAX || p[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!path_char_ok((unsigned char)p[i]))
			return false;
		if (i > 0 && p[i - 1] == '/' && (p[i] == '/' || p[i] == '.'))
			return false;
	}
	return true;
}

uint64_t xdpd_csum_add(const uint8_t *b, size_t n, size_t off)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += ((off + i) & 1) ? (uint64_t)b[i] << 8 : b[i];
	return s;
}

uint32_t xdpd_resp_csum(const uint8_t *resp, size_t len, unsigned date_off)
{
	uint64_t s;

	if (date_off == NWX_NO_DATE || (size_t)date_off + NWX_DATE_LEN > len)
		return (uint32_t)xdpd_csum_add(resp, len, 0);
	s = xdpd_csum_add(resp, date_off, 0);
	s += xdpd_csum_add(resp + date_off + NWX_DATE_LEN,
			   len - date_off - NWX_DATE_LEN, date_off + NWX_DATE_LEN);
	return (uint32_t)s;
}

void xdpd_make_date(time_t t, struct nwx_date *d)
{
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	char buf[64];

	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 days[tm.tm_wday % 7], tm.tm_mday, mons[tm.tm_mon % 12],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	memset(d, 0, sizeof(*d));
	memcpy(d->s, buf, NWX_DATE_LEN);
	d->sum_even = (uint32_t)xdpd_csum_add((const uint8_t *)d->s, NWX_DATE_LEN, 0);
	d->sum_odd = (uint32_t)xdpd_csum_add((const uint8_t *)d->s, NWX_DATE_LEN, 1);
}

#define FAIL(code, ...) do { snprintf(err, errlen, __VA_ARGS__); return code; } while (0)

/* the flow map's layout may only grow into what was padding: pinned maps
 * of an older helper are adopted as they are */
_Static_assert(sizeof(struct nwx_flow) == 56 &&
		       offsetof(struct nwx_flow, acked) == 26 &&
		       offsetof(struct nwx_flow, sent_t) == 28 &&
		       offsetof(struct nwx_flow, pend) == 32,
	       "struct nwx_flow layout changed");

bool xdpd_loss_probe_due(const struct nwx_flow *f, uint32_t now)
{
	uint32_t total = f->snd_nxt - f->last_ack;
	uint64_t age;

	if (f->state != NWX_FLOW_OWNED || !nwx_answer_multiseg(total, f->mss))
		return false;
	if ((uint32_t)(f->acked & ~NWX_ACKED_RTX) >= total)
		return false;
	age = ((uint64_t)(uint32_t)(now - f->sent_t) << NWX_TIME_SHIFT) / 1000000;
	if (age < NWX_RTO_MS)
		return false;
	if (age < 3000)
		return true;
	return age < 60000 && (age / 100) % 10 == 0;
}

const char *xdpd_msg_name(unsigned type)
{
	switch (type) {
	case NWX_MSG_HELLO: return "HELLO";
	case NWX_MSG_BEGIN: return "BEGIN";
	case NWX_MSG_PUT: return "PUT";
	case NWX_MSG_DELETE: return "DELETE";
	case NWX_MSG_COMMIT: return "COMMIT";
	case NWX_MSG_ABORT: return "ABORT";
	case NWX_MSG_SET_PORTS: return "SET_PORTS";
	case NWX_MSG_STATS: return "STATS";
	}
	return "?";
}

int xdpd_check_frame(const void *msg, size_t n, char *err, size_t errlen)
{
	struct nwx_hdr h;
	size_t body, need_min, need_max;

	if (n < sizeof(h))
		FAIL(NWX_E_PROTO, "message of %zu bytes is shorter than a header", n);
	memcpy(&h, msg, sizeof(h));
	if (h.len != n)
		FAIL(NWX_E_PROTO, "header says %u bytes, received %zu", h.len, n);
	if (n > NWX_MSG_MAX)
		FAIL(NWX_E_PROTO, "message of %zu bytes exceeds %d", n, NWX_MSG_MAX);
	if (h.flags || h.reserved)
		FAIL(NWX_E_PROTO, "reserved header fields not zero");
	body = n - sizeof(h);
	switch (h.type) {
	case NWX_MSG_HELLO:
		need_min = need_max = sizeof(struct nwx_hello);
		break;
	case NWX_MSG_BEGIN:
		need_min = need_max = sizeof(struct nwx_begin);
		break;
	case NWX_MSG_PUT:
		need_min = sizeof(struct nwx_put) + 2;
		need_max = NWX_MSG_MAX;
		break;
	case NWX_MSG_DELETE:
		need_min = sizeof(struct nwx_delete) + 1;
		need_max = sizeof(struct nwx_delete) + NWX_PATH_MAX;
		break;
	case NWX_MSG_COMMIT:
		need_min = need_max = sizeof(struct nwx_commit);
		break;
	case NWX_MSG_ABORT:
	case NWX_MSG_STATS:
		need_min = need_max = 0;
		break;
	case NWX_MSG_SET_PORTS:
		need_min = sizeof(struct nwx_set_ports);
		need_max = need_min + 2 * NWX_MAX_PORTS;
		break;
	default:
		FAIL(NWX_E_PROTO, "unknown message type %u", h.type);
	}
	if (body < need_min || body > need_max)
		FAIL(NWX_E_PROTO, "%s body of %zu bytes (expected %zu..%zu)",
		     xdpd_msg_name(h.type), body, need_min, need_max);
	return 0;
}

static bool etagc(uint8_t c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x7e);
}

static const uint8_t *crlf(const uint8_t *p, const uint8_t *end)
{
	for (; end - p >= 2; p++)
		if (p[0] == '\r' && p[1] == '\n')
			return p;
	return NULL;
}

int xdpd_nm_tag(const uint8_t *resp, size_t len, const uint8_t **tag,
		size_t *tag_len)
{
	const uint8_t *end = resp + len, *eol = crlf(resp, end), *p, *v, *t;
	int found = 0;

	while (eol) {   /* eol ends the previous line: the status line first */
		p = eol + 2;
		eol = crlf(p, end);
		if (!eol || eol == p)
			break;  /* the empty line ends the head */
		if (eol - p < 5 || strncasecmp((const char *)p, "etag:", 5))
			continue;
		if (found++)
			return -1;
		for (v = p + 5; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		if (eol - v >= 2 && v[0] == 'W' && v[1] == '/')
			v += 2;
		if (v >= eol || *v != '"')
			return -1;
		for (t = v++; v < eol && etagc(*v); v++)
			;
		if (v >= eol || *v != '"')
			return -1;
		*tag = t;
		*tag_len = (size_t)(++v - t);
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		if (v != eol || *tag_len > NWX_ETAG_MAX)
			return -1;
	}
	return found == 1 ? 0 : -1;
}

int xdpd_check_put(const void *msg, size_t n, unsigned max_response,
		   struct xdpd_put *out, char *err, size_t errlen)
{
	const uint8_t *b = (const uint8_t *)msg + sizeof(struct nwx_hdr);
	const struct nwx_put *p = (const void *)b;
	size_t body = n - sizeof(struct nwx_hdr);

	if (body < sizeof(*p))
		FAIL(NWX_E_PROTO, "PUT too short");
	if (sizeof(*p) + (size_t)p->path_len + p->resp_len != body)
		FAIL(NWX_E_PROTO, "PUT lengths (path %u + response %u) do not match the body (%zu)",
		     p->path_len, p->resp_len, body - sizeof(*p));
	if (p->method > NWX_METHOD_NM)
		FAIL(NWX_E_INVAL, "PUT: bad method %u", p->method);
	if (p->encoding >= NWX_ENC_COUNT)
		FAIL(NWX_E_INVAL, "PUT: bad encoding %u", p->encoding);
	if (p->avail & ~0xfu)
		FAIL(NWX_E_INVAL, "PUT: bad avail mask 0x%x", p->avail);
	if (!((p->avail | 1u) & (1u << p->encoding)))
		FAIL(NWX_E_INVAL, "PUT: encoding %u not in avail mask 0x%x",
		     p->encoding, p->avail);
	if (p->reserved)
		FAIL(NWX_E_INVAL, "PUT: reserved field not zero");
	if (!xdpd_path_canonical((const char *)(b + sizeof(*p)), p->path_len))
		FAIL(NWX_E_INVAL, "PUT: path is not canonical (or too long)");
	if (p->resp_len == 0)
		FAIL(NWX_E_INVAL, "PUT: empty response");
	if (p->resp_len > max_response || p->resp_len > NWX_ANSWER_MAX)
		FAIL(NWX_E_TOOBIG, "PUT: response of %u bytes exceeds max_response %u",
		     p->resp_len, max_response);
	if (p->date_offset != NWX_NO_DATE &&
	    (size_t)p->date_offset + NWX_DATE_LEN > p->resp_len)
		FAIL(NWX_E_INVAL, "PUT: date offset %u outside the response",
		     p->date_offset);
	/* XDP patches the Date in the part nwx_resp holds */
	if (p->date_offset != NWX_NO_DATE &&
	    (size_t)p->date_offset + NWX_DATE_LEN > NWX_RESP_MAX)
		FAIL(NWX_E_INVAL, "PUT: date offset %u beyond the first %d bytes",
		     p->date_offset, NWX_RESP_MAX);
	if (p->resp_len < 9 ||
	    memcmp(b + sizeof(*p) + p->path_len, "HTTP/1.1 ", 9) != 0)
		FAIL(NWX_E_INVAL, "PUT: response does not start with \"HTTP/1.1 \"");
	out->put = p;
	out->path = (const char *)(b + sizeof(*p));
	out->resp = b + sizeof(*p) + p->path_len;
	out->tag = NULL;
	out->tag_len = 0;
	if (p->method == NWX_METHOD_NM) {
		if (p->resp_len > NWX_NM_RESP_MAX)
			FAIL(NWX_E_TOOBIG, "PUT: a 304 of %u bytes exceeds %d",
			     p->resp_len, NWX_NM_RESP_MAX);
		if (p->resp_len < 13 || memcmp(out->resp, "HTTP/1.1 304 ", 13))
			FAIL(NWX_E_INVAL, "PUT: method NM but not a 304");
		if (xdpd_nm_tag(out->resp, p->resp_len, &out->tag, &out->tag_len))
			FAIL(NWX_E_INVAL, "PUT: a 304 needs one ETag header holding an entity-tag of at most %d bytes",
			     NWX_ETAG_MAX);
	}
	return 0;
}

int xdpd_check_delete(const void *msg, size_t n, const struct nwx_delete **d,
		      const char **path, char *err, size_t errlen)
{
	const uint8_t *b = (const uint8_t *)msg + sizeof(struct nwx_hdr);
	const struct nwx_delete *p = (const void *)b;
	size_t body = n - sizeof(struct nwx_hdr);

	if (body < sizeof(*p) || sizeof(*p) + p->path_len != body)
		FAIL(NWX_E_PROTO, "DELETE: path length does not match the body");
	if (p->method != NWX_ALL && p->method > NWX_METHOD_NM)
		FAIL(NWX_E_INVAL, "DELETE: bad method %u", p->method);
	if (p->encoding != NWX_ALL && p->encoding >= NWX_ENC_COUNT)
		FAIL(NWX_E_INVAL, "DELETE: bad encoding %u", p->encoding);
	if (!xdpd_path_canonical((const char *)(b + sizeof(*p)), p->path_len))
		FAIL(NWX_E_INVAL, "DELETE: path is not canonical");
	*d = p;
	*path = (const char *)(b + sizeof(*p));
	return 0;
}

int xdpd_check_ports(const void *msg, size_t n, uint16_t *ports,
		     unsigned *count, char *err, size_t errlen)
{
	const uint8_t *b = (const uint8_t *)msg + sizeof(struct nwx_hdr);
	struct nwx_set_ports sp;
	size_t body = n - sizeof(struct nwx_hdr);

	if (body < sizeof(sp))
		FAIL(NWX_E_PROTO, "SET_PORTS too short");
	memcpy(&sp, b, sizeof(sp));
	if (sp.count > NWX_MAX_PORTS)
		FAIL(NWX_E_INVAL, "SET_PORTS: %u ports (at most %d)", sp.count,
		     NWX_MAX_PORTS);
	if (sp.reserved)
		FAIL(NWX_E_INVAL, "SET_PORTS: reserved field not zero");
	if (sizeof(sp) + 2u * sp.count != body)
		FAIL(NWX_E_PROTO, "SET_PORTS: count %u does not match the body",
		     sp.count);
	for (unsigned i = 0; i < sp.count; i++) {
		memcpy(&ports[i], b + sizeof(sp) + 2 * i, 2);
		if (ports[i] == 0)
			FAIL(NWX_E_INVAL, "SET_PORTS: port 0");
	}
	*count = sp.count;
	return 0;
}
