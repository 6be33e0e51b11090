/* Unit tests of nanoweb-xdpd's single-writer rule (xdp/xdpd_owner.c). */
#include <stdio.h>
#include "xdpd_owner.h"
#include "nanoweb_xdp_proto.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); fails++; } } while (0)

static void test_writes(void)
{
	CHECK(xdpd_owner_writes(NWX_MSG_SET_PORTS));
	CHECK(xdpd_owner_writes(NWX_MSG_BEGIN));
	CHECK(xdpd_owner_writes(NWX_MSG_PUT));
	CHECK(xdpd_owner_writes(NWX_MSG_DELETE));
	CHECK(xdpd_owner_writes(NWX_MSG_COMMIT));
	CHECK(!xdpd_owner_writes(NWX_MSG_HELLO));
	CHECK(!xdpd_owner_writes(NWX_MSG_STATS));
	CHECK(!xdpd_owner_writes(NWX_MSG_ABORT));
	CHECK(!xdpd_owner_writes(NWX_MSG_OK));
	CHECK(!xdpd_owner_writes(0));
}

/* fresh helper: first writer wins, the second is busy until it leaves */
static void test_fresh(void)
{
	struct xdpd_owner o;

	xdpd_owner_init(&o, false, 1000, 15);
	CHECK(!xdpd_owner_expire(&o, 5000));
	CHECK(xdpd_owner_claim(&o, 1, 101, 1000) == XDPD_CLAIM_NEW);
	CHECK(o.id == 1 && o.pid == 101);
	CHECK(xdpd_owner_claim(&o, 1, 101, 1001) == XDPD_CLAIM_OWNER);
	CHECK(xdpd_owner_claim(&o, 2, 202, 1001) == XDPD_CLAIM_BUSY);
	CHECK(o.id == 1 && o.pid == 101); /* the first session is untouched */
	CHECK(!xdpd_owner_release(&o, 2)); /* a non-writer leaving: nothing */
	CHECK(xdpd_owner_claim(&o, 2, 202, 1002) == XDPD_CLAIM_BUSY);
	CHECK(xdpd_owner_release(&o, 1));
	CHECK(o.id == 0);
	CHECK(!xdpd_owner_release(&o, 1)); /* twice: no-op */
	/* the next writer takes over with a fresh cache */
	CHECK(xdpd_owner_claim(&o, 2, 202, 1003) == XDPD_CLAIM_NEW);
	CHECK(xdpd_owner_claim(&o, 1, 101, 1003) == XDPD_CLAIM_BUSY);
	CHECK(o.pid == 202);
	/* id 0 is never a connection */
	CHECK(xdpd_owner_claim(&o, 0, 1, 1003) == XDPD_CLAIM_BUSY);
	CHECK(!xdpd_owner_release(&o, 0));
	CHECK(o.id == 2);
}

/* restart with adopted pins: the first writer in the grace period inherits */
static void test_adopted(void)
{
	struct xdpd_owner o;

	xdpd_owner_init(&o, true, 1000, 15);
	CHECK(!xdpd_owner_expire(&o, 1010));
	CHECK(xdpd_owner_claim(&o, 7, 70, 1014) == XDPD_CLAIM_INHERIT);
	CHECK(xdpd_owner_claim(&o, 8, 80, 1014) == XDPD_CLAIM_BUSY);
	CHECK(!xdpd_owner_expire(&o, 1100)); /* claimed: nothing to drop */
	CHECK(xdpd_owner_release(&o, 7));
	/* a later writer does not inherit again */
	CHECK(xdpd_owner_claim(&o, 8, 80, 1101) == XDPD_CLAIM_NEW);

	/* nobody within the grace period: the adopted cache is dropped once */
	xdpd_owner_init(&o, true, 1000, 15);
	CHECK(!xdpd_owner_expire(&o, 1014));
	CHECK(xdpd_owner_expire(&o, 1015));
	CHECK(!xdpd_owner_expire(&o, 1016));
	CHECK(xdpd_owner_claim(&o, 9, 90, 1016) == XDPD_CLAIM_NEW);

	/* claimed after the deadline but before the expiry tick ran */
	xdpd_owner_init(&o, true, 1000, 15);
	CHECK(xdpd_owner_claim(&o, 3, 30, 1015) == XDPD_CLAIM_NEW);
	CHECK(!xdpd_owner_expire(&o, 1015));

	/* a non-writer (read-only) connection closing changes nothing */
	xdpd_owner_init(&o, true, 1000, 15);
	CHECK(!xdpd_owner_release(&o, 4));
	CHECK(xdpd_owner_claim(&o, 5, 50, 1001) == XDPD_CLAIM_INHERIT);
}

int main(void)
{
	test_writes();
	test_fresh();
	test_adopted();
	if (fails) {
		fprintf(stderr, "test_xdpd_owner: %d failure(s)\n", fails);
		return 1;
	}
	printf("test_xdpd_owner: all passed\n");
	return 0;
}
