/* The request deadline's state machine (src/headclock.c). */
#include "headclock.h"
#include "check.h"

#define DEADLINE 2000

struct look {
	enum nw_head_phase phase;
	unsigned epoch;
	uint64_t bytes, taken;
	long now;
	bool peer_closed;
	long body_ms;
};

static enum nw_head_verdict step(struct nw_headclock *hc, struct look l)
{
	struct nw_head_obs o = {
		.phase = l.phase, .epoch = l.epoch, .bytes = l.bytes,
		.taken = l.taken, .peer_closed = l.peer_closed,
		.body_ms = l.body_ms, .now_ms = l.now, .accepted_ms = 1000,
	};

	return nw_headclock_step(hc, &o, DEADLINE);
}

#define HEAD(e, b, t, n) ((struct look){ NW_HP_HEAD, (e), (b), (t), (n), false, 0 })
#define BUSY(e, b, t, n) ((struct look){ NW_HP_BUSY, (e), (b), (t), (n), false, 0 })

/* The first head: from the accept, bytes or not. */
static void test_first_request(void)
{
	struct nw_headclock hc = { 0 };

	CHECK_INT(step(&hc, HEAD(0, 0, 0, 1500)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(0, 0, 0, 2999)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(0, 0, 0, 3000)), NW_HEAD_EXPIRED_SILENT);

	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, HEAD(0, 5, 0, 2000)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(0, 9, 0, 3100)), NW_HEAD_EXPIRED);

	/* first seen late: still from the accept */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, HEAD(0, 1, 0, 4000)), NW_HEAD_EXPIRED);

	/* the head came in time: nothing more runs while it is answered */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, HEAD(0, 10, 0, 2000)), NW_HEAD_OK);
	CHECK_INT(step(&hc, BUSY(0, 80, 80, 2500)), NW_HEAD_OK);
	CHECK_INT(step(&hc, BUSY(0, 80, 80, 9000)), NW_HEAD_OK);
}

/* A later head: from the first look that sees bytes beyond the requests
 * taken; idling is not timed. */
static void test_keep_alive(void)
{
	struct nw_headclock hc = { 0 };

	CHECK_INT(step(&hc, BUSY(0, 80, 80, 1100)), NW_HEAD_OK);
	/* answered: waits for the next head, idle for long */
	CHECK_INT(step(&hc, HEAD(1, 80, 80, 1200)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(1, 80, 80, 60000)), NW_HEAD_OK);
	/* a byte arrives: the deadline runs from this look */
	CHECK_INT(step(&hc, HEAD(1, 81, 80, 61000)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(1, 90, 80, 62999)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(1, 95, 80, 63000)), NW_HEAD_EXPIRED);

	/* part of a head pipelined behind the last request, there when the
	 * period is first seen: timed at once */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, HEAD(3, 500, 450, 1000)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(3, 500, 450, 2999)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(3, 500, 450, 3000)), NW_HEAD_EXPIRED);

	/* the empty line a client may send before a request line, one per
	 * request, is not a head */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, HEAD(3, 458, 450, 1000)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(3, 458, 450, 9000)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(3, 459, 450, 9500)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(3, 459, 450, 11500)), NW_HEAD_EXPIRED);

	/* should the bytes received miss some the requests took, more
	 * bytes than at the first look still start the clock */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, HEAD(2, 300, 400, 1000)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(2, 300, 400, 8000)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(2, 301, 400, 8100)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(2, 301, 400, 10100)), NW_HEAD_EXPIRED);
}

/* Requests answered between two looks start a new period each time. */
static void test_epochs(void)
{
	struct nw_headclock hc = { 0 };

	CHECK_INT(step(&hc, HEAD(1, 100, 100, 1000)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(1, 101, 100, 1500)), NW_HEAD_OK);
	/* that head came and was answered, unseen: a new period, no clock */
	CHECK_INT(step(&hc, HEAD(2, 300, 300, 4000)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(2, 300, 300, 9000)), NW_HEAD_OK);
	CHECK_INT(step(&hc, BUSY(2, 400, 400, 9100)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(3, 400, 400, 9200)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(3, 400, 400, 20000)), NW_HEAD_OK);
	/* the count wraps past 0 (headwatch.c skips 0, the first request's) */
	CHECK_INT(step(&hc, HEAD(1, 400, 400, 30000)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(1, 400, 400, 90000)), NW_HEAD_OK);
}

/* A body read to be dropped: from when its head came, bytes or not. */
static void test_body(void)
{
	struct nw_headclock hc = { 0 };
	struct look l = { NW_HP_BODY, 4, 100, 100, 5000, false, 4000 };

	CHECK_INT(step(&hc, l), NW_HEAD_OK);
	l.now = 5999;
	l.bytes = 900;
	CHECK_INT(step(&hc, l), NW_HEAD_OK);
	l.now = 6000;
	CHECK_INT(step(&hc, l), NW_HEAD_EXPIRED);
	/* read in time and answered: the next head's period starts afresh */
	CHECK_INT(step(&hc, HEAD(5, 1000, 1000, 6500)), NW_HEAD_OK);
	CHECK_INT(step(&hc, HEAD(5, 1000, 1000, 20000)), NW_HEAD_OK);
}

/* A client that closed its side while no head was pending: seen twice. */
static void test_peer_closed(void)
{
	struct nw_headclock hc = { 0 };
	struct look l = HEAD(1, 80, 80, 1000);

	l.peer_closed = true;
	CHECK_INT(step(&hc, l), NW_HEAD_OK);
	l.now = 2000;
	CHECK_INT(step(&hc, l), NW_HEAD_PEER_GONE);

	/* seen once, then a request taken: a new period, seen once again */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, l), NW_HEAD_OK);
	l.epoch = 2;
	CHECK_INT(step(&hc, l), NW_HEAD_OK);
	CHECK_INT(step(&hc, l), NW_HEAD_PEER_GONE);
}

int main(void)
{
	test_first_request();
	test_keep_alive();
	test_epochs();
	test_body();
	test_peer_closed();
	return check_report();
}
