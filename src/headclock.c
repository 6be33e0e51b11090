#include "headclock.h"

/* Bytes beyond the requests taken that are not yet a head, per request:
 * the empty line a client may send before a request line (RFC 9112 2.2),
 * which libmicrohttpd skips and does not count in a head's size. */
#define SLACK 2

enum nw_head_verdict nw_headclock_step(struct nw_headclock *hc,
				       const struct nw_head_obs *obs,
				       long deadline_ms)
{
	bool pending;

	if (obs->phase != NW_HP_HEAD) {
		hc->started = false;
		if (obs->phase == NW_HP_BODY &&
		    obs->now_ms - obs->body_ms >= deadline_ms)
			return NW_HEAD_EXPIRED;
		return NW_HEAD_OK;
	}
	if (!hc->started || hc->epoch != obs->epoch) {
		/* a new waiting period: the first head's deadline runs from
		 * the accept */
		hc->started = true;
		hc->epoch = obs->epoch;
		hc->timing = obs->epoch == 0;
		hc->peer_closed = false;
		hc->since_ms = obs->accepted_ms;
		hc->base = obs->epoch == 0 ? 0 : obs->bytes;
	}
	if (obs->peer_closed && hc->peer_closed)
		return NW_HEAD_PEER_GONE;
	hc->peer_closed = obs->peer_closed;
	/* beyond the requests taken (part of a head pipelined behind the
	 * last one), or more since the period began (should the count of
	 * bytes received miss some that requests took) */
	pending = obs->bytes > obs->taken + SLACK * ((uint64_t)obs->epoch + 1) ||
		  obs->bytes > hc->base;
	if (!hc->timing && pending) {
		hc->timing = true;
		hc->since_ms = obs->now_ms;
	}
	if (!hc->timing || obs->now_ms - hc->since_ms < deadline_ms)
		return NW_HEAD_OK;
	return pending ? NW_HEAD_EXPIRED : NW_HEAD_EXPIRED_SILENT;
}
