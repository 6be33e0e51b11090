/*
 * When --dev reloads, from what the watcher reports. Pure: the caller
 * passes the time (ms on a monotonic clock).
 *
 * A finished change (a file closed after writing, moved, deleted,
 * chmod-ed; a directory made) reloads once the tree has been quiet for
 * NW_DEV_DEBOUNCE_MS; while another file is still open for writing, also
 * not before that file's writes have paused for NW_DEV_QUIET_MS (it would
 * be read half done); and in any case no later than NW_DEV_MAX_WAIT_MS
 * after the change, even if changes keep coming (a log file written every
 * 100 ms must not hold a reload back for ever). Writes alone, to a file
 * not closed yet, reload once they have paused for NW_DEV_QUIET_MS.
 */
#ifndef NW_DEVTIMER_H
#define NW_DEVTIMER_H
#include <stdbool.h>

#define NW_DEV_DEBOUNCE_MS 150
#define NW_DEV_MAX_WAIT_MS 1000
#define NW_DEV_QUIET_MS 1000

enum nw_change {
	NW_CHANGE_NONE = 0,
	NW_CHANGE_DONE = 1,  /* finished */
	NW_CHANGE_BUSY = 2,  /* a write to a file not closed yet */
};

struct nw_devtimer {
	bool done, wrote, writing;
	long first_done, last_done, last_write;
};

/* Records what the watcher reported at time now: NW_CHANGE_* bits, and
 * whether a file is open for writing after them. */
void nw_devtimer_note(struct nw_devtimer *t, unsigned changes, bool writing,
		      long now);
/* Milliseconds until the reload is due (0: now), or -1: none pending. */
long nw_devtimer_due(const struct nw_devtimer *t, long now);
/* Forgets what was pending: call when the reload starts. */
void nw_devtimer_clear(struct nw_devtimer *t);

#endif
