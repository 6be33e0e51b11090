/* Milliseconds on the monotonic clock, for timeouts and deadlines. */
#ifndef NW_MONOTIME_H
#define NW_MONOTIME_H
#include <time.h>

static inline long nw_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The time on clock ms from now, for pthread_cond_timedwait() on a
 * condition variable of that clock. */
static inline struct timespec nw_clock_after(clockid_t clock, long ms)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* The same clock to the kernel's tick (a few ms), for a hot path. */
static inline long nw_mono_coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
