/* When --dev reloads (src/devtimer.c). */
#include "devtimer.h"
#include "check.h"

/* Feeds changes at the given times (what: NW_CHANGE_* bits, and W: a file
 * is open for writing after them); returns when the reload is due
 * (absolute ms), stepping a clock as the main loop's poll would. */
#define W 4

static long run(struct nw_devtimer *t, const long *at, const unsigned *what,
		int n, long now)
{
	int i = 0;

	for (;;) {
		long due = nw_devtimer_due(t, now);
		long next = i < n ? at[i] : -1;

		if (due < 0 && next < 0)
			return -1;
		if (due >= 0 && (next < 0 || now + due <= next)) {
			nw_devtimer_clear(t);
			return now + due;
		}
		now = next;
		nw_devtimer_note(t, what[i] & 3, (what[i] & W) != 0, now);
		i++;
	}
}

int main(void)
{
	struct nw_devtimer t = { 0 };
	const unsigned D = NW_CHANGE_DONE, B = NW_CHANGE_BUSY;

	CHECK_INT(nw_devtimer_due(&t, 0), -1);
	{	/* one save: after the debounce */
		long at[] = { 100 };
		unsigned w[] = { D };
		CHECK_INT(run(&t, at, w, 1, 0), 100 + NW_DEV_DEBOUNCE_MS);
	}
	{	/* a burst of saves: after the last, quiet */
		long at[] = { 0, 50, 100, 120 };
		unsigned w[] = { D, D, D, D };
		CHECK_INT(run(&t, at, w, 4, 0), 120 + NW_DEV_DEBOUNCE_MS);
	}
	{	/* changes every 100 ms for ever: capped after the first */
		long at[40];
		unsigned w[40];
		for (int i = 0; i < 40; i++) {
			at[i] = 1000 + 100 * i;
			w[i] = D;
		}
		CHECK_INT(run(&t, at, w, 40, 0), 1000 + NW_DEV_MAX_WAIT_MS);
	}
	{	/* an editor's save: written and closed at once */
		long at[] = { 0 };
		unsigned w[] = { B | D };
		CHECK_INT(run(&t, at, w, 1, 0), NW_DEV_DEBOUNCE_MS);
	}
	{	/* a slow write (10 KB every 300 ms), then its close */
		long at[] = { 0, 300, 600, 900, 1200, 1250 };
		unsigned w[] = { B | W, B | W, B | W, B | W, B | W, D };
		CHECK_INT(run(&t, at, w, 6, 0), 1250 + NW_DEV_DEBOUNCE_MS);
	}
	{	/* a file written and never closed: once its writes pause */
		long at[] = { 0, 200 };
		unsigned w[] = { B | W, B | W };
		CHECK_INT(run(&t, at, w, 2, 0), 200 + NW_DEV_QUIET_MS);
	}
	{	/* a save while another file is half written: after its
		 * writes pause */
		long at[] = { 0, 100, 300 };
		unsigned w[] = { B | W, D | W, B | W };
		CHECK_INT(run(&t, at, w, 3, 0), 100 + NW_DEV_MAX_WAIT_MS);
		long at2[] = { 0, 100 };
		unsigned w2[] = { B | W, D | W };
		CHECK_INT(run(&t, at2, w2, 2, 0), 0 + NW_DEV_QUIET_MS);
	}
	{	/* a log written every 100 ms and never closed, beside a save:
		 * the save waits no longer than the cap */
		long at[30];
		unsigned w[30];
		for (int i = 0; i < 30; i++) {
			at[i] = 100 * i;
			w[i] = B | W;
		}
		w[5] = B | D | W;
		CHECK_INT(run(&t, at, w, 30, 0), 500 + NW_DEV_MAX_WAIT_MS);
	}
	CHECK_INT(nw_devtimer_due(&t, 99999), -1);
	return check_report();
}
