/*
 * nanoweb-xdpd: who may write the cache and the served ports (pure logic,
 * no I/O; unit-tested by tests/xdp-unit/test_xdpd_owner).
 *
 * The cache has one active generation and XDP answers every served port
 * from it, so two nano-webs (two sites on two ports) pushing to one helper
 * would answer one site's requests with the other's content. Hence one
 * writer at a time: the first connection that sends a writing message
 * (SET_PORTS, BEGIN, PUT, DELETE, COMMIT) owns the cache and the ports
 * until it closes; any other connection gets NWX_E_BUSY meanwhile.
 *
 * A new writer normally starts from an empty cache (the previous writer's
 * content must not be served on its ports). The exception is a helper
 * restart that adopted pinned maps: the first writer within the grace
 * period inherits the adopted cache and ports (it is the nano-web that
 * pushed them, reconnecting), so XDP goes on answering across the restart.
 */
#ifndef XDPD_OWNER_H
#define XDPD_OWNER_H
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct xdpd_owner {
	uint64_t id;          /* connection id of the writer; 0: none */
	int32_t pid;          /* its pid (SO_PEERCRED), for messages */
	time_t inherit_until; /* adopted state claimable before this; 0: none */
};

enum xdpd_claim {
	XDPD_CLAIM_OWNER = 0, /* the connection already is the writer */
	XDPD_CLAIM_NEW,       /* it becomes the writer: drop the old cache */
	XDPD_CLAIM_INHERIT,   /* it becomes the writer and keeps the adopted
			       * cache and ports (restart grace period) */
	XDPD_CLAIM_BUSY,      /* another connection is the writer: refuse */
};

/* adopted: the helper adopted pinned maps at `now` (grace period starts). */
void xdpd_owner_init(struct xdpd_owner *o, bool adopted, time_t now,
		     unsigned grace_s);

/* True for the message types that need to be the writer. */
bool xdpd_owner_writes(unsigned msg_type);

/* Connection `id` (pid `pid`, id != 0) wants to write at `now`. */
enum xdpd_claim xdpd_owner_claim(struct xdpd_owner *o, uint64_t id,
				 int32_t pid, time_t now);

/* Connection `id` closed. True if it was the writer (nobody is now). */
bool xdpd_owner_release(struct xdpd_owner *o, uint64_t id);

/* True once, when the grace period ends without a writer claiming the
 * adopted state: the caller then drops the adopted cache. */
bool xdpd_owner_expire(struct xdpd_owner *o, time_t now);

#endif
