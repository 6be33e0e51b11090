/*
 * The request deadline of one connection, as a state machine a watcher
 * steps about once a second. Pure: no I/O, no clock.
 *
 * A connection must deliver a request head within the deadline
 * ([limits] header_timeout): its first one counted from the accept, a later
 * one from its request line, or from the first byte the watcher sees arrive
 * after the previous answer, whichever it learns of first (an idle
 * keep-alive connection is [limits] timeout's business). A body nano-web
 * reads before answering gets the same time from the end of its head.
 * libmicrohttpd 0.9.75 has only an inactivity timer, which a client sending
 * a byte now and then never trips.
 */
#ifndef NW_HEADCLOCK_H
#define NW_HEADCLOCK_H
#include <stdbool.h>
#include <stdint.h>

struct nw_headclock {
	bool started;      /* a waiting period has been seen */
	bool timing;       /* the deadline runs, from since_ms */
	unsigned epoch;    /* requests completed when the period began */
	uint64_t base;     /* bytes received when the period began */
	long since_ms;
};

enum nw_head_phase {
	NW_HP_BUSY, /* a request is being answered: not timed */
	NW_HP_HEAD, /* waiting for (the rest of) a head */
	NW_HP_BODY, /* reading a body to drop it, since body_ms */
};

/* What the watcher read of the connection at one step. */
struct nw_head_obs {
	enum nw_head_phase phase;
	unsigned epoch;      /* requests completed on the connection: 0 only
				before the first */
	uint64_t bytes;      /* bytes received on it since the accept */
	bool line_seen;      /* HEAD: this head's request line came, at */
	long line_ms;
	long body_ms;
	long now_ms, accepted_ms;
};

enum nw_head_verdict {
	NW_HEAD_OK,
	NW_HEAD_EXPIRED,        /* part of a request came, not all: 408 */
	NW_HEAD_EXPIRED_SILENT, /* nothing came: close without an answer */
};

enum nw_head_verdict nw_headclock_step(struct nw_headclock *hc,
				       const struct nw_head_obs *obs,
				       long deadline_ms);

#endif
