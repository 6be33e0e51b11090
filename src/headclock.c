#include "headclock.h"

enum nw_head_verdict nw_headclock_step(struct nw_headclock *hc,
				       const struct nw_head_obs *obs,
				       long deadline_ms)
{
	if (!obs->waiting) {
		hc->started = false;
		return NW_HEAD_OK;
	}
	if (!hc->started || hc->epoch != obs->epoch) {
		/* a new waiting period: the first request's deadline runs
		 * from the accept, a later one's from its first byte */
		hc->started = true;
		hc->epoch = obs->epoch;
		hc->timing = obs->epoch == 0;
		hc->since_ms = obs->accepted_ms;
		hc->base = obs->epoch == 0 ? 0 : obs->bytes;
		if (!hc->timing)
			return NW_HEAD_OK;
	}
	if (!hc->timing) {
		if (obs->bytes <= hc->base)
			return NW_HEAD_OK;
		hc->timing = true;
		hc->since_ms = obs->now_ms;
	}
	if (obs->now_ms - hc->since_ms < deadline_ms)
		return NW_HEAD_OK;
	return obs->bytes > hc->base ? NW_HEAD_EXPIRED : NW_HEAD_EXPIRED_SILENT;
}
