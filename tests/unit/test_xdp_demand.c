/* Unit tests for src/xdp_demand.c */
#include "check.h"
#include "xdp_demand.h"

static void test_counting(void)
{
	struct nw_xdp_demand *d = nw_xdp_demand_new(3);
	unsigned get_br = nw_xdp_answer_bit(NW_XDP_GET, 2);
	unsigned head_id = nw_xdp_answer_bit(NW_XDP_HEAD, 0);

	CHECK(d != NULL);
	CHECK_INT(get_br, 1u << 2);
	CHECK_INT(head_id, 1u << 4);
	CHECK_INT(nw_xdp_answer_bit(NW_XDP_NM, 3), 1u << 11);
	/* a new table counts nothing: every answer is taken as cached */
	nw_xdp_demand_note(d, 0, get_br);
	CHECK_INT(nw_xdp_demand_pending(d), 0);
	CHECK_INT(nw_xdp_demand_asked(d, 0), 0);

	nw_xdp_demand_set_cached(d, 1, head_id);
	nw_xdp_demand_note(d, 1, head_id);   /* in the cache */
	CHECK_INT(nw_xdp_demand_pending(d), 0);
	nw_xdp_demand_note(d, 1, get_br);
	nw_xdp_demand_note(d, 1, get_br);
	CHECK_INT(nw_xdp_demand_pending(d), 2);
	CHECK_INT(nw_xdp_demand_asked(d, 1), get_br);
	nw_xdp_demand_note(d, 7, get_br);    /* out of range: ignored */
	CHECK_INT(nw_xdp_demand_pending(d), 2);
	CHECK_INT(nw_xdp_demand_asked(d, 7), 0);
	nw_xdp_demand_free(d);
}

static void test_scores(void)
{
	struct nw_xdp_demand *d = nw_xdp_demand_new(2);
	unsigned bit = nw_xdp_answer_bit(NW_XDP_GET, 0);

	nw_xdp_demand_set_cached(d, 0, 0);
	nw_xdp_demand_set_cached(d, 1, 0);
	for (int i = 0; i < 100; i++)
		nw_xdp_demand_note(d, 0, bit);
	for (int i = 0; i < 10; i++)
		nw_xdp_demand_note(d, 1, bit);
	nw_xdp_demand_rescore(d);
	CHECK_INT(nw_xdp_demand_score(d, 0), 100);
	CHECK_INT(nw_xdp_demand_score(d, 1), 10);
	CHECK_INT(nw_xdp_demand_pending(d), 0);   /* the counts start again */
	/* resource 0 went into the cache (no more requests reach nano-web):
	 * it decays by an eighth; resource 1, still asked for, halves and
	 * gains its count */
	for (int i = 0; i < 30; i++)
		nw_xdp_demand_note(d, 1, bit);
	nw_xdp_demand_rescore(d);
	CHECK_INT(nw_xdp_demand_score(d, 0), 87);
	CHECK_INT(nw_xdp_demand_score(d, 1), 35);
	/* without requests every score reaches zero */
	for (int i = 0; i < 60; i++)
		nw_xdp_demand_rescore(d);
	CHECK_INT(nw_xdp_demand_score(d, 0), 0);
	CHECK_INT(nw_xdp_demand_score(d, 1), 0);
	CHECK_INT(nw_xdp_demand_score(NULL, 0), 0);
	nw_xdp_demand_free(d);
}

static void test_interval(void)
{
	long iv = NW_XDP_PUSH_MS;

	/* the first push for demand: no rate to compare with */
	CHECK_INT(nw_xdp_demand_next_interval(iv, 0, 500), NW_XDP_PUSH_MS);
	/* pushes that do not halve the demand back off, up to the max */
	iv = nw_xdp_demand_next_interval(iv, 500, 400);
	CHECK_INT(iv, 2 * NW_XDP_PUSH_MS);
	iv = nw_xdp_demand_next_interval(iv, 400, 260);
	CHECK_INT(iv, 4 * NW_XDP_PUSH_MS);
	for (int i = 0; i < 20; i++)
		iv = nw_xdp_demand_next_interval(iv, 400, 400);
	CHECK_INT(iv, NW_XDP_PUSH_MAX_MS);
	/* after a push that halved it: back to the start */
	CHECK_INT(nw_xdp_demand_next_interval(iv, 400, 200), NW_XDP_PUSH_MS);
}

int main(void)
{
	test_counting();
	test_scores();
	test_interval();
	return check_report();
}
