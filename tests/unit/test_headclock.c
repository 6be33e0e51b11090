/* The request-head deadline's state machine (src/headclock.c). */
#include "headclock.h"
#include "check.h"

#define DEADLINE 2000

static enum nw_head_verdict step(struct nw_headclock *hc, bool waiting,
				 unsigned epoch, uint64_t bytes, long now)
{
	struct nw_head_obs obs = {
		.waiting = waiting, .epoch = epoch, .bytes = bytes,
		.now_ms = now, .accepted_ms = 1000,
	};

	return nw_headclock_step(hc, &obs, DEADLINE);
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

	/* the head came in time: nothing more runs */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, true, 0, 10, 2000), NW_HEAD_OK);
	CHECK_INT(step(&hc, false, 0, 80, 2500), NW_HEAD_OK);
	CHECK_INT(step(&hc, false, 0, 80, 9000), NW_HEAD_OK);
}

/* A later head: from its first byte; idling is not timed. */
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

	/* bytes already there when the period is first seen (a pipelined
	 * partial head) are the base: only more of them start the clock */
	hc = (struct nw_headclock){ 0 };
	CHECK_INT(step(&hc, true, 3, 500, 1000), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 3, 500, 9000), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 3, 501, 9500), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 3, 501, 11500), NW_HEAD_EXPIRED);
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
	/* in a request, then waiting again with the same count is not
	 * possible; a new count always resets */
	CHECK_INT(step(&hc, false, 2, 400, 9100), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 3, 400, 9200), NW_HEAD_OK);
	CHECK_INT(step(&hc, true, 3, 400, 20000), NW_HEAD_OK);
}

int main(void)
{
	test_first_request();
	test_keep_alive();
	test_epochs();
	return check_report();
}
