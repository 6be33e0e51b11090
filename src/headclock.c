#include "headclock.h"

enum nw_head_verdict nw_headclock_step(struct nw_headclock *hc,
				       const struct nw_head_obs *obs,
				       long deadline_ms)
{
	if (obs->phase != NW_HP_HEAD) {
		hc->started = false;
		if (obs->phase == NW_HP_BODY &&
		    obs->now_ms - obs->body_ms >= deadline_ms)
			return NW_HEAD_EXPIRED;
		return NW_HEAD_OK;
	}
	if (!hc->started || hc->epoch != obs->epoch) {
		/* a new waiting period: the first head's deadline runs from
		 * the accept; bytes already there for a later one may be the
		 * end of the request before it */
		hc->started = true;
		hc->epoch = obs->epoch;
		hc->timing = obs->epoch == 0;
		hc->since_ms = obs->accepted_ms;
		hc->base = obs->epoch == 0 ? 0 : obs->bytes;
	}
	if (!hc->timing && obs->line_seen) {
		hc->timing = true;
		hc->since_ms = obs->line_ms;
	} else if (!hc->timing && obs->bytes > hc->base) {
		hc->timing = true;
		hc->since_ms = obs->now_ms;
	}
	if (!hc->timing || obs->now_ms - hc->since_ms < deadline_ms)
		return NW_HEAD_OK;
	return obs->bytes > hc->base || obs->line_seen ? NW_HEAD_EXPIRED
						       : NW_HEAD_EXPIRED_SILENT;
}
