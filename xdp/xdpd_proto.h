/*
 * nanoweb-xdpd: pure logic of the helper (no I/O): message framing and
 * validation, canonical paths, the checksums XDP adds up, IMF dates.
 * Reachable from unit tests (tests/xdp-unit/).
 */
#ifndef XDPD_PROTO_H
#define XDPD_PROTO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "nanoweb_xdp_proto.h"

/* True when p[0..n) is a path XDP can match: '/' first, only the
 * characters listed in nanoweb_xdp_proto.h, no "//", no "/.", n <
 * NWX_PATH_MAX. */
bool xdpd_path_canonical(const char *p, size_t n);

/* One's-complement partial sum (unfolded) of b[0..n) as it sits at offset
 * `off` of a TCP payload (words in memory order, as the BPF side adds). */
uint64_t xdpd_csum_add(const uint8_t *b, size_t n, size_t off);

/* Partial sum of a response with the Date bytes counted as zero. */
uint32_t xdpd_resp_csum(const uint8_t *resp, size_t len, unsigned date_off);

/* Fills d (s: the IMF-fixdate of t, sum_even/sum_odd). */
void xdpd_make_date(time_t t, struct nwx_date *d);

/*
 * Checks the framing of a received message of n bytes: at least a header,
 * hdr->len == n, n <= NWX_MSG_MAX, flags/reserved 0, known request type and
 * a body size that fits it. Returns 0 or an NWX_E_* code; err gets a reason.
 */
int xdpd_check_frame(const void *msg, size_t n, char *err, size_t errlen);

/* A validated PUT. */
struct xdpd_put {
	const struct nwx_put *put;
	const char *path;
	const uint8_t *resp;
	const uint8_t *tag;   /* NWX_METHOD_NM: the ETag's opaque-tag */
	size_t tag_len;
};

/*
 * The opaque-tag (quotes included) of the one "ETag:" header line of a
 * response head (field name in any case, OWS around the value; "W/" is
 * skipped): 0, or -1 when there is none, more than one, or its value is
 * not an entity-tag of visible ASCII at most NWX_ETAG_MAX bytes long.
 */
int xdpd_nm_tag(const uint8_t *resp, size_t len, const uint8_t **tag,
		size_t *tag_len);

/* Validates a PUT body (after xdpd_check_frame). */
int xdpd_check_put(const void *msg, size_t n, unsigned max_response,
		   struct xdpd_put *out, char *err, size_t errlen);

/* Validates DELETE; *path gets the path. */
int xdpd_check_delete(const void *msg, size_t n, const struct nwx_delete **d,
		      const char **path, char *err, size_t errlen);

/* Validates SET_PORTS; ports[] gets count ports. */
int xdpd_check_ports(const void *msg, size_t n, uint16_t *ports,
		     unsigned *count, char *err, size_t errlen);

const char *xdpd_msg_name(unsigned type);

/*
 * Loss recovery: true when the helper should probe flow f at flow clock
 * `now` (NWX_TIME_SHIFT units): XDP owns it, its last answer took several
 * segments, the client has not acknowledged all of it, and it was last
 * (re)sent at least NWX_RTO_MS ago. Probed on every sweep for 3 s, then
 * about once a second, and given up after 60 s (a client that went away).
 */
bool xdpd_loss_probe_due(const struct nwx_flow *f, uint32_t now);

#endif
