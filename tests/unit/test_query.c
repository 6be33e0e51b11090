/* The query taken out of a request target (src/query.c). */
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "check.h"

static void take(struct nw_query *q, const char *target, const char *left)
{
	char buf[256];

	strcpy(buf, target);
	CHECK(nw_query_take(q, buf));
	CHECK_STR(buf, left);
}

int main(void)
{
	struct nw_query *q = calloc(1, sizeof *q);
	char big[5000];

	take(q, "/a/b", "/a/b");
	CHECK(!q->has);
	CHECK_INT(q->len, 0);
	CHECK(!nw_query_bad(q));

	/* the first '?' starts it; the target keeps "...?" and nothing after */
	take(q, "/a?x=1&y=2?z", "/a?");
	CHECK(q->has);
	CHECK_STR(q->buf, "x=1&y=2?z");
	CHECK_INT(q->len, 9);

	take(q, "/a?", "/a?");
	CHECK(q->has);
	CHECK_INT(q->len, 0);
	CHECK_STR(q->buf, "");

	/* the next request on the connection: nothing left of the last */
	take(q, "/b", "/b");
	CHECK(!q->has);
	CHECK_INT(q->len, 0);

	CHECK(nw_query_take(q, NULL));
	CHECK(!q->has);

	take(q, "/?a=\x01", "/?");
	CHECK(nw_query_bad(q));
	take(q, "/?a=\x7f", "/?");
	CHECK(nw_query_bad(q));
	take(q, "/?a=\x1f", "/?");
	CHECK(nw_query_bad(q));
	/* a space is no control byte (libmicrohttpd passes one through) */
	take(q, "/?a=b c", "/?");
	CHECK(!nw_query_bad(q));
	take(q, "/?a=b#c", "/?");
	CHECK(nw_query_bad(q));
	take(q, "/?a=%01+%23\x80", "/?");
	CHECK(!nw_query_bad(q));

	/* grows as needed */
	big[0] = '/';
	big[1] = '?';
	memset(big + 2, 'a', sizeof big - 3);
	big[sizeof big - 1] = '\0';
	CHECK(nw_query_take(q, big));
	CHECK_INT(q->len, sizeof big - 3);
	CHECK_STR(big, "/?");
	CHECK(q->cap >= sizeof big - 2);

	nw_query_free(q);
	nw_query_free(NULL);
	return check_report();
}
