/* The request deadline's state machine (src/headclock.c). */
#include "headclock.h"
#include "check.h"

#define DEADLINE 2000

static struct nw_head_obs obs(enum nw_head_phase phase, unsigned epoch,
			      uint64_t bytes, long now)
{
	return (struct nw_head_obs){
		.phase = phase, .epoch = epoch, .bytes = bytes,
		.now_ms = now, .accepted_ms = 1000,
	};
}

static enum nw_head_verdict step(struct nw_headclock *hc, bool waiting,
				 unsigned epoch, uint64_t bytes, long now)
{
	struct nw_head_obs o = obs(waiting ? NW_HP_HEAD : NW_HP_BUSY, epoch,
				   bytes, now);

	return nw_headclock_step(hc, &o, DEADLINE);
}

static enum nw_head_verdict step_line(struct nw_headclock *hc,
				      unsigned epoch, uint64_t bytes,
				      long line, long now)
{
	struct nw_head_obs o = obs(NW_HP_HEAD, epoch, bytes, now);

	o.line_seen = true;
	o.line_ms = line;
	return nw_headclock_step(hc, &o, DEADLINE);
}

/* The first head: from the accept, bytes or not. */
static void test_first_request(void)
{
	struct nw_headclock hc = { 0 };

	CHECK_INT(step(&hc, true, 0, 0, 1500), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 0, 0, 2999), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 0, 0, 3000), NW_HEAD_EXPIRED_SILENT);

	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, true, 0, 5, 2000), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 0, 9, 3100), NW_HEAD_EXPIRED);

	/* first seen late: still from the accept */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, true, 0, 1, 4000), NW_HEAD_EXPIRED);

	/* its request line changes nothing */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step_line(&hc, 0, 30, 2500, 2600), NW_HEAD_OK);
	CHECK_INT(step_line(&hc, 0, 30, 2500, 3000), NW_HEAD_EXPIRED);

	/* the head came in time: nothing more runs */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, true, 0, 10, 2000), NW_HEAD_OK);
	CHECK_INT(step(&hc, false, 0, 80, 2500), NW_HEAD_OK);
	CHECK_INT(step(&hc, false, 0, 80, 9000), NW_HEAD_OK);
}

/* A later head: from its first byte seen, or its request line; idling is
 * not timed. */
static void test_keep_alive(void)
{
	struct nw_headclock hc = { 0 };

	CHECK_INT(step(&hc, false, 0, 80, 1100), NW_HEAD_OK);
	/* answered: waits for the next head, idle for long */
	CHECK_INT(step(&hc, true, 1, 80, 1200), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 1, 80, 60000), NW_HEAD_OK);
	/* a byte arrives: the deadline runs from here */
	CHECK_INT(step(&hc, true, 1, 81, 61000), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 1, 90, 62999), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 1, 95, 63000), NW_HEAD_EXPIRED);

	/* bytes already there when the period is first seen may end the
	 * request before: only more of them start the clock... */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, true, 3, 500, 1000), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 3, 500, 9000), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 3, 501, 9500), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 3, 501, 11500), NW_HEAD_EXPIRED);

	/* ...or the head's request line, from when it came (a partial head
	 * pipelined behind the request before) */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step_line(&hc, 3, 500, 900, 1000), NW_HEAD_OK);
	CHECK_INT(step_line(&hc, 3, 500, 900, 2899), NW_HEAD_OK);
	CHECK_INT(step_line(&hc, 3, 500, 900, 2900), NW_HEAD_EXPIRED);

	/* a line seen after the bytes started the clock does not restart it */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, true, 2, 100, 1000), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 2, 110, 2000), NW_HEAD_OK);
	CHECK_INT(step_line(&hc, 2, 140, 3500, 3600), NW_HEAD_OK);
	CHECK_INT(step_line(&hc, 2, 150, 3500, 4000), NW_HEAD_EXPIRED);
}

/* Requests answered between two looks start a new period each time. */
static void test_epochs(void)
{
	struct nw_headclock hc = { 0 };

	CHECK_INT(step(&hc, true, 1, 100, 1000), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 1, 101, 1500), NW_HEAD_OK);
	/* that head came and was answered, unseen: a new period, no clock */
	CHECK_INT(step(&hc, true, 2, 300, 4000), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 2, 300, 9000), NW_HEAD_OK);
	CHECK_INT(step(&hc, false, 2, 400, 9100), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 3, 400, 9200), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 3, 400, 20000), NW_HEAD_OK);
	/* the count wraps past 0 (headwatch.c skips 0, the first request's) */
	CHECK_INT(step(&hc, true, 1, 400, 30000), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 1, 400, 90000), NW_HEAD_OK);
}

/* A body read to be dropped: from when its head came, bytes or not. */
static void test_body(void)
{
	struct nw_headclock hc = { 0 };
	struct nw_head_obs o = obs(NW_HP_BODY, 4, 100, 5000);

	o.body_ms = 4000;
	CHECK_INT(nw_headclock_step(&hc, &o, DEADLINE), NW_HEAD_OK);
	o.now_ms = 5999;
	o.bytes = 900;
	CHECK_INT(nw_headclock_step(&hc, &o, DEADLINE), NW_HEAD_OK);
	o.now_ms = 6000;
	CHECK_INT(nw_headclock_step(&hc, &o, DEADLINE), NW_HEAD_EXPIRED);
	/* read in time and answered: the next head's period starts afresh */
	CHECK_INT(step(&hc, true, 5, 1000, 6500), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 5, 1000, 20000), NW_HEAD_OK);
}

int main(void)
{
	test_first_request();
	test_keep_alive();
	test_epochs();
	test_body();
	return check_report();
}
