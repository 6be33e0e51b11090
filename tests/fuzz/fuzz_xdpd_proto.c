/* libFuzzer target for xdp/xdpd_proto.c: the helper's checks of a message
 * from its socket. Input: one flags byte (bit 0: keep the header's len as
 * sent; else it is set to the size, so the fuzzer reaches the bodies), two
 * bytes of max_response, then the message. Every message either fails with
 * a reason or yields pointers and values inside the limits the map writes
 * rely on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xdpd_proto.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int inside(const void *p, size_t len, const void *buf, size_t n)
{
	const uint8_t *q = p, *b = buf;

	return q >= b && q <= b + n && len <= (size_t)(b + n - q);
}

static void check_put(const void *msg, size_t n, unsigned max_response)
{
	struct xdpd_put put;
	char err[256] = "";

	if (xdpd_check_put(msg, n, max_response, &put, err, sizeof(err))) {
		CHECK(err[0]);
		return;
	}
	CHECK(inside(put.path, put.put->path_len, msg, n));
	CHECK(xdpd_path_canonical(put.path, put.put->path_len));
	CHECK(inside(put.resp, put.put->resp_len, msg, n));
	CHECK(put.put->resp_len >= 9 && put.put->resp_len <= max_response &&
	      put.put->resp_len <= NWX_ANSWER_MAX);
	CHECK(!memcmp(put.resp, "HTTP/1.1 ", 9));
	CHECK(put.put->encoding < NWX_ENC_COUNT);
	CHECK(put.put->date_offset == NWX_NO_DATE ||
	      (put.put->date_offset + NWX_DATE_LEN <= put.put->resp_len &&
	       put.put->date_offset + NWX_DATE_LEN <= NWX_RESP_MAX));
	if (put.put->method == NWX_METHOD_NM) {
		CHECK(put.put->resp_len <= NWX_NM_RESP_MAX);
		CHECK(inside(put.tag, put.tag_len, put.resp, put.put->resp_len));
		CHECK(put.tag_len >= 2 && put.tag_len <= NWX_ETAG_MAX);
		CHECK(put.tag[0] == '"' && put.tag[put.tag_len - 1] == '"');
	} else {
		CHECK(put.put->method <= NWX_METHOD_NM && !put.tag);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union { struct nwx_hdr h; uint8_t b[NWX_MSG_MAX + 64]; } rx;
	const struct nwx_delete *del;
	uint16_t ports[NWX_MAX_PORTS + 1];
	unsigned max_response, count;
	const char *path;
	char err[256] = "";
	size_t n;

	if (size < 3 || size - 3 > sizeof(rx.b))
		return 0;
	max_response = (unsigned)data[1] << 8 | data[2];
	n = size - 3;
	memcpy(rx.b, data + 3, n);
	if (!(data[0] & 1) && n >= sizeof(rx.h))
		rx.h.len = (uint32_t)n;
	if (xdpd_check_frame(rx.b, n, err, sizeof(err))) {
		CHECK(err[0]);
		return 0;
	}
	CHECK(n >= sizeof(rx.h) && n <= NWX_MSG_MAX && rx.h.len == n);
	CHECK(strcmp(xdpd_msg_name(rx.h.type), "?"));
	switch (rx.h.type) {
	case NWX_MSG_PUT:
		check_put(rx.b, n, max_response);
		break;
	case NWX_MSG_DELETE:
		if (xdpd_check_delete(rx.b, n, &del, &path, err, sizeof(err))) {
			CHECK(err[0]);
			break;
		}
		CHECK(inside(path, del->path_len, rx.b, n));
		CHECK(xdpd_path_canonical(path, del->path_len));
		break;
	case NWX_MSG_SET_PORTS:
		if (xdpd_check_ports(rx.b, n, ports, &count, err, sizeof(err))) {
			CHECK(err[0]);
			break;
		}
		CHECK(count <= NWX_MAX_PORTS);
		for (unsigned i = 0; i < count; i++)
			CHECK(ports[i] != 0);
		break;
	}
	return 0;
}
