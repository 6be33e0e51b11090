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

/* The same clock to the kernel's tick (a few ms), for a hot path. */
static inline long nw_mono_coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
