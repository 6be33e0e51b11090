/*
 * nano-web's side of the kernel fast path: talks to nanoweb-xdpd over its
 * Unix socket, pushes every eligible prebuilt response of each snapshot, and
 * reads the helper's counters for /_stats. Everything here is best effort:
 * when the helper is missing, nano-web logs one line and serves everything
 * from userspace.
 */
#ifndef NW_XDP_CLIENT_H
#define NW_XDP_CLIENT_H
#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "snapshot.h"
#include "strbuf.h"

struct nw_xdp_client;

/*
 * Called while still privileged (before privileges are dropped), once, at
 * start-up. With cfg->xdp == NW_XDP_OFF does nothing and returns true.
 * When running as root with xdp auto/on and no helper answers on
 * cfg->xdp_socket, starts nanoweb-xdpd itself (found next to argv0's binary
 * first, then on PATH, then in the installed sbindir). Returns false only
 * when cfg->xdp == NW_XDP_ON and the kernel path cannot be had (err says why).
 */
bool nw_xdp_prepare(const struct nw_config *cfg, const char *argv0,
		    uint16_t port, char *err, size_t errlen);

/* Creates the client (connects lazily, reconnects in the background). */
struct nw_xdp_client *nw_xdp_client_new(const struct nw_config *cfg,
					uint16_t port);

/*
 * Publishes a snapshot that has just become current (initial load and every
 * reload): pushes all eligible responses and removes the ones that vanished,
 * atomically from the clients' point of view. Takes its own reference on the
 * snapshot if it works asynchronously. Returns without blocking for long.
 */
void nw_xdp_client_publish(struct nw_xdp_client *c, struct nw_snapshot *s);

/*
 * Appends the kernel path's state and counters as a JSON object value
 * ("null" when the helper is not connected) for /_stats. Never talks to the
 * helper: the counters are the client thread's last reading (their age in
 * "counters_age_ms"), which it renews about once a second while /_stats is
 * asked for. Returns at once unless NANOWEB_STATS_WAIT_MS is set.
 */
void nw_xdp_client_stats_json(struct nw_xdp_client *c, struct strbuf *out);

/* Stops the client; if nano-web started the helper, stops it too (which
 * detaches the programs and removes the pins). NULL is fine. */
void nw_xdp_client_free(struct nw_xdp_client *c);

#endif
