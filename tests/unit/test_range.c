#include "check.h"
#include "range.h"

#include <stdint.h>

static struct nw_range r;

/* Parses and, for a single range, checks the bounds. */
static int single(const char *v, uint64_t len, uint64_t first, uint64_t last)
{
	r.first = 12345;
	r.last = 54321;
	if (nw_parse_range(v, len, &r) != NW_RANGE_SINGLE)
		return 0;
	return r.first == first && r.last == last;
}

static int res(const char *v, uint64_t len)
{
	return nw_parse_range(v, len, &r);
}

static void test_single(void)
{
	CHECK(single("bytes=0-0", 100, 0, 0));
	CHECK(single("bytes=0-99", 100, 0, 99));
	CHECK(single("bytes=0-", 100, 0, 99));
	CHECK(single("bytes=5-", 100, 5, 99));
	CHECK(single("bytes=99-", 100, 99, 99));
	CHECK(single("bytes=10-20", 100, 10, 20));
	CHECK(single("bytes=10-10", 100, 10, 10));
	CHECK(single("bytes=0-0", 1, 0, 0));
	CHECK(single("bytes=0-", 1, 0, 0));

	/* last-pos clamped to length-1 */
	CHECK(single("bytes=0-100", 100, 0, 99));
	CHECK(single("bytes=50-1000000", 100, 50, 99));
	CHECK(single("bytes=0-18446744073709551615", 100, 0, 99));
	CHECK(single("bytes=0-99999999999999999999999999", 100, 0, 99));

	/* suffix */
	CHECK(single("bytes=-1", 100, 99, 99));
	CHECK(single("bytes=-10", 100, 90, 99));
	CHECK(single("bytes=-100", 100, 0, 99));
	CHECK(single("bytes=-101", 100, 0, 99));
	CHECK(single("bytes=-99999999999999999999999", 100, 0, 99));
	CHECK(single("bytes=-1", 1, 0, 0));

	/* leading zeros */
	CHECK(single("bytes=007-0010", 100, 7, 10));
	CHECK(single("bytes=-0005", 100, 95, 99));

	/* case-insensitive unit, whitespace */
	CHECK(single("Bytes=1-2", 100, 1, 2));
	CHECK(single("BYTES=1-2", 100, 1, 2));
	CHECK(single("bytes= 1-2", 100, 1, 2));
	CHECK(single("bytes=1-2 ", 100, 1, 2));
	CHECK(single(" bytes=1-2", 100, 1, 2));
	CHECK(single("bytes=1-2,", 100, 1, 2));
	CHECK(single("bytes=,1-2", 100, 1, 2));
	CHECK(single("bytes=\t1-2\t", 100, 1, 2));

	/* large representations */
	CHECK(single("bytes=4294967296-", 8589934592ULL, 4294967296ULL,
		     8589934591ULL));
	CHECK(single("bytes=-1", UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 1));
	CHECK(single("bytes=18446744073709551614-", UINT64_MAX,
		     UINT64_MAX - 1, UINT64_MAX - 1));

	/* out may be NULL */
	CHECK_INT(nw_parse_range("bytes=0-1", 10, NULL), NW_RANGE_SINGLE);
}

static void test_unsatisfiable(void)
{
	CHECK_INT(res("bytes=100-", 100), NW_RANGE_UNSATISFIABLE);
	CHECK_INT(res("bytes=100-200", 100), NW_RANGE_UNSATISFIABLE);
	CHECK_INT(res("bytes=1000-2000", 100), NW_RANGE_UNSATISFIABLE);
	CHECK_INT(res("bytes=-0", 100), NW_RANGE_UNSATISFIABLE);
	CHECK_INT(res("bytes=-000", 100), NW_RANGE_UNSATISFIABLE);
	CHECK_INT(res("bytes=18446744073709551615-", 100), NW_RANGE_UNSATISFIABLE);
	CHECK_INT(res("bytes=18446744073709551616-", 100), NW_RANGE_UNSATISFIABLE);
	CHECK_INT(res("bytes=99999999999999999999999999-", 100),
		  NW_RANGE_UNSATISFIABLE);
	CHECK_INT(res("bytes=99999999999999999999-99999999999999999999", 100),
		  NW_RANGE_UNSATISFIABLE);
	CHECK_INT(res("bytes=18446744073709551615-", UINT64_MAX),
		  NW_RANGE_UNSATISFIABLE);
	CHECK_INT(res("bytes=100-, 200-300, -0", 100), NW_RANGE_UNSATISFIABLE);
	CHECK_INT(res("bytes=1-", 1), NW_RANGE_UNSATISFIABLE);
}

static void test_invalid(void)
{
	CHECK_INT(nw_parse_range(NULL, 100, &r), NW_RANGE_IGNORE);
	CHECK_INT(res("", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes= ", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=,", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes 0-1", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes =0-1", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("byte=0-1", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytesx=0-1", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("items=0-1", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("none", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=-", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=--1", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=1", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=a-b", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=1-a", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=1 - 2", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=1- 2", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=+1-2", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=0x10-20", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=1-2-3", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=1-2;x", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=1-2 3-4", 100), NW_RANGE_IGNORE);
	/* first > last is invalid, not unsatisfiable */
	CHECK_INT(res("bytes=5-3", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=500-300", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=18446744073709551616-18446744073709551615", 100),
		  NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=99999999999999999999-99999999999999999998", 100),
		  NW_RANGE_IGNORE);
	/* one bad element spoils the whole field */
	CHECK_INT(res("bytes=0-1, x", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=500-, 5-3", 100), NW_RANGE_IGNORE);
}

static void test_multiple(void)
{
	CHECK_INT(res("bytes=0-1,2-3", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=0-1, 2-3", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=0-1 , -5", 100), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=0-0,0-0", 100), NW_RANGE_IGNORE);
	/* some satisfiable: still the full 200 */
	CHECK_INT(res("bytes=0-1, 500-600", 100), NW_RANGE_IGNORE);
	/* none satisfiable */
	CHECK_INT(res("bytes=500-600, 700-", 100), NW_RANGE_UNSATISFIABLE);
}

static void test_zero_length(void)
{
	/* A zero-length representation has nothing to slice: send 200. */
	CHECK_INT(res("bytes=0-", 0), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=0-0", 0), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=-1", 0), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=-0", 0), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=5-10", 0), NW_RANGE_IGNORE);
	CHECK_INT(res("bytes=", 0), NW_RANGE_IGNORE);
}

int main(void)
{
	test_single();
	test_unsatisfiable();
	test_invalid();
	test_multiple();
	test_zero_length();
	return check_report();
}
