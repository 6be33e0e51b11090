/* When --dev reloads (devtimer.h). Pure. */
#include "devtimer.h"

void nw_devtimer_note(struct nw_devtimer *t, unsigned changes, bool writing,
		      long now)
{
	if (changes & NW_CHANGE_DONE) {
		if (!t->done)
			t->first_done = now;
		t->done = true;
		t->last_done = now;
	}
	if (changes & NW_CHANGE_BUSY) {
		t->wrote = true;
		t->last_write = now;
	}
	t->writing = writing;
}

static long until(long at, long now)
{
	return at > now ? at - now : 0;
}

long nw_devtimer_due(const struct nw_devtimer *t, long now)
{
	long paused = until(t->last_write + NW_DEV_QUIET_MS, now);

	if (t->done) {
		long quiet = until(t->last_done + NW_DEV_DEBOUNCE_MS, now);
		long cap = until(t->first_done + NW_DEV_MAX_WAIT_MS, now);

		if (t->writing && paused > quiet)
			quiet = paused;
		return quiet < cap ? quiet : cap;
	}
	return t->wrote ? paused : -1;
}

void nw_devtimer_clear(struct nw_devtimer *t)
{
	t->done = t->wrote = false;
}
