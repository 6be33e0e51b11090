/*
 * The request deadline of one connection, as a state machine a watcher
 * steps about once a second. Pure: no I/O, no clock.
 *
 * A connection must deliver a request head within the deadline
 * ([limits] header_timeout): its first one counted from the accept, a later
 * one from when the watcher first sees bytes beyond the requests taken so
 * far (an idle keep-alive connection is [limits] timeout's business). A
 * body nano-web reads before answering gets the same time from the end of
 * its head. libmicrohttpd 0.9.75 has only an inactivity timer, which a
 * client sending a byte now and then never trips.
 *
 * A connection waiting for a head whose client has closed its side (seen
 * at two looks in a row, so that libmicrohttpd had time to take any
 * request that came before the close) can never bring one: libmicrohttpd
 * 0.9.75 may leave such a connection open until its timeout.
 */
#ifndef NW_HEADCLOCK_H
#define NW_HEADCLOCK_H
#include <stdbool.h>
#include <stdint.h>

struct nw_headclock {
	bool started;      /* a waiting period has been seen */
	bool timing;       /* the deadline runs, from since_ms */
	bool peer_closed;  /* the client's close was seen at the last look */
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
	uint64_t taken;      /* bytes of the requests taken (heads, bodies) */
	bool peer_closed;    /* the client has closed its side */
	long body_ms;
	long now_ms, accepted_ms;
};

enum nw_head_verdict {
	NW_HEAD_OK,
	NW_HEAD_EXPIRED,        /* part of a request came, not all: 408 */
	NW_HEAD_EXPIRED_SILENT, /* nothing came: close without an answer */
	NW_HEAD_PEER_GONE,      /* no head can come: close, not a timeout */
};

enum nw_head_verdict nw_headclock_step(struct nw_headclock *hc,
				       const struct nw_head_obs *obs,
				       long deadline_ms);

#endif
