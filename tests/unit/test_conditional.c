#include "check.h"
#include "conditional.h"

#include <stdint.h>
#include <time.h>

static char buf[NW_HTTP_DATE_LEN];

static const char *fmt(time_t t)
{
	memset(buf, 'X', sizeof(buf));
	nw_http_date_format(t, buf);
	return buf;
}

static time_t parse(const char *s)
{
	time_t t = 424242;

	if (!nw_http_date_parse(s, &t))
		return (time_t)-999999;
	return t;
}

static int bad(const char *s)
{
	time_t t = 777;

	return !nw_http_date_parse(s, &t) && t == 777;
}

static void test_format(void)
{
	CHECK_STR(fmt(0), "Thu, 01 Jan 1970 00:00:00 GMT");
	CHECK_STR(fmt(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
	CHECK_STR(fmt(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
	CHECK_STR(fmt(1709251199), "Thu, 29 Feb 2024 23:59:59 GMT");
	CHECK_STR(fmt(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
	CHECK_STR(fmt(-86400), "Wed, 31 Dec 1969 00:00:00 GMT");
	CHECK_STR(fmt(-86401), "Tue, 30 Dec 1969 23:59:59 GMT");
	CHECK_STR(fmt(4102444800LL), "Fri, 01 Jan 2100 00:00:00 GMT");
	CHECK_STR(fmt(2147483647), "Tue, 19 Jan 2038 03:14:07 GMT");
	CHECK_STR(fmt(2147483648LL), "Tue, 19 Jan 2038 03:14:08 GMT");
	CHECK_INT(strlen(fmt(1234567890)), NW_HTTP_DATE_LEN - 1);
	/* out of the 4-digit year range: clamped, never overflows */
	CHECK_STR(fmt((time_t)INT64_MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
	CHECK_STR(fmt((time_t)INT64_MIN), "Sat, 01 Jan 0000 00:00:00 GMT");
	CHECK_INT(strlen(fmt((time_t)INT64_MAX)), NW_HTTP_DATE_LEN - 1);

	/* agree with the C library over a wide span */
	{
		int ok = 1;
		int64_t t;
		char want[64];
		struct tm tm;

		for (t = -2208988800LL; t < 4133894400LL; t += 86400 * 13 + 3607) {
			time_t tt = (time_t)t;

			gmtime_r(&tt, &tm);
			strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
			if (strcmp(fmt(tt), want) != 0 || parse(buf) != tt) {
				fprintf(stderr, "mismatch at %lld: %s vs %s\n",
					(long long)t, buf, want);
				ok = 0;
				break;
			}
		}
		CHECK(ok);
	}
}

static void test_parse(void)
{
	CHECK_INT(parse("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
	CHECK_INT(parse("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
	CHECK_INT(parse("Sun Nov  6 08:49:37 1994"), 784111777);
	CHECK_INT(parse("Sun Nov 06 08:49:37 1994"), 784111777);
	CHECK_INT(parse("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
	CHECK_INT(parse("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
	CHECK_INT(parse("Wed, 31 Dec 1969 23:59:59 GMT"), -1);
	CHECK_INT(parse("Tue, 19 Jan 2038 03:14:08 GMT"), 2147483648LL);
	/* RFC 850 two-digit years: 70..99 -> 19xx, 00..69 -> 20xx */
	CHECK_INT(parse("Thursday, 01-Jan-70 00:00:00 GMT"), 0);
	CHECK_INT(parse("Saturday, 01-Jan-00 00:00:00 GMT"), 946684800);
	CHECK_INT(parse("Tuesday, 29-Feb-00 00:00:00 GMT"), 951782400);
	/* leniency: case, surrounding whitespace */
	CHECK_INT(parse("sun, 06 nov 1994 08:49:37 gmt"), 784111777);
	CHECK_INT(parse("  Sun, 06 Nov 1994 08:49:37 GMT  "), 784111777);
	CHECK_INT(parse("SUNDAY, 06-NOV-94 08:49:37 GMT"), 784111777);
	/* weekday is not cross-checked */
	CHECK_INT(parse("Mon, 06 Nov 1994 08:49:37 GMT"), 784111777);
	/* leap second folds into the next minute */
	CHECK_INT(parse("Sat, 31 Dec 2016 23:59:60 GMT"), 1483228800);
	/* out pointer may be NULL */
	CHECK(nw_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", NULL));
}

static void test_parse_bad(void)
{
	CHECK(bad(NULL));
	CHECK(bad(""));
	CHECK(bad("   "));
	CHECK(bad("garbage"));
	CHECK(bad("0"));
	CHECK(bad("784111777"));
	CHECK(bad("Sun, 06 Nov 1994 08:49:37"));
	CHECK(bad("Sun, 06 Nov 1994 08:49:37 UTC"));
	CHECK(bad("Sun, 06 Nov 1994 08:49:37 GMT+1"));
	CHECK(bad("Sun, 06 Nov 1994 08:49:37 GMTx"));
	CHECK(bad("Sun, 6 Nov 1994 08:49:37 GMT"));
	CHECK(bad("Sun, 06 Nov 94 08:49:37 GMT"));
	CHECK(bad("Sun, 06 Nov 1994 8:49:37 GMT"));
	CHECK(bad("Sun, 06 Nov 1994 08:49 GMT"));
	CHECK(bad("Sun,06 Nov 1994 08:49:37 GMT"));
	CHECK(bad("Sun, 06  Nov 1994 08:49:37 GMT"));
	CHECK(bad("Xyz, 06 Nov 1994 08:49:37 GMT"));
	CHECK(bad("Sun, 06 Foo 1994 08:49:37 GMT"));
	CHECK(bad("Sun, 32 Jan 1994 08:49:37 GMT"));
	CHECK(bad("Sun, 00 Jan 1994 08:49:37 GMT"));
	CHECK(bad("Sun, 31 Apr 1994 08:49:37 GMT"));
	CHECK(bad("Sun, 29 Feb 1900 00:00:00 GMT"));
	CHECK(bad("Sun, 29 Feb 2023 00:00:00 GMT"));
	CHECK(bad("Sun, 06 Nov 1994 24:00:00 GMT"));
	CHECK(bad("Sun, 06 Nov 1994 23:60:00 GMT"));
	CHECK(bad("Sun, 06 Nov 1994 23:59:61 GMT"));
	CHECK(bad("Sun, 06 Nov 1994 08:49:37 GMT; length=12"));
	CHECK(bad("Sunday, 06-Nov-1994 08:49:37 GMT"));
	CHECK(bad("Sunday, 06 Nov 94 08:49:37 GMT"));
	CHECK(bad("Sun, 06-Nov-94 08:49:37 GMT"));
	CHECK(bad("Sun Nov 6 08:49:37 1994"));
	CHECK(bad("Sun Nov  6 08:49:37 94"));
	CHECK(bad("Sun Nov  6 08:49:37 1994 GMT"));
	CHECK(bad("Sun Nov   6 08:49:37 1994"));
	CHECK(bad("Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
	CHECK(bad("Sun, 06 Nov 1994 08:49:37 G"));
	CHECK(bad("Sun, 0"));
	CHECK(bad("Sun"));
	CHECK(bad("Sunday"));
}

#define ETAG "\"abc\""

static void test_inm(void)
{
	CHECK(nw_if_none_match_matches("\"abc\"", ETAG));
	CHECK(nw_if_none_match_matches("W/\"abc\"", ETAG));
	CHECK(nw_if_none_match_matches("\"x\", \"abc\"", ETAG));
	CHECK(nw_if_none_match_matches("\"x\",W/\"abc\",\"y\"", ETAG));
	CHECK(nw_if_none_match_matches(" \"abc\" ", ETAG));
	CHECK(nw_if_none_match_matches(",,\"abc\",,", ETAG));
	CHECK(nw_if_none_match_matches("*", ETAG));
	CHECK(nw_if_none_match_matches(" * ", ETAG));
	CHECK(nw_if_none_match_matches("*", NULL));
	/* our own tag weak: still a weak match */
	CHECK(nw_if_none_match_matches("\"abc\"", "W/\"abc\""));
	CHECK(nw_if_none_match_matches("W/\"abc\"", "W/\"abc\""));
	CHECK(nw_if_none_match_matches("\"\"", "\"\""));

	CHECK(!nw_if_none_match_matches(NULL, ETAG));
	CHECK(!nw_if_none_match_matches("", ETAG));
	CHECK(!nw_if_none_match_matches("\"abd\"", ETAG));
	CHECK(!nw_if_none_match_matches("\"ABC\"", ETAG));
	CHECK(!nw_if_none_match_matches("\"abc", ETAG));
	CHECK(!nw_if_none_match_matches("abc", ETAG));
	CHECK(!nw_if_none_match_matches("\"ab\"", ETAG));
	CHECK(!nw_if_none_match_matches("\"abcd\"", ETAG));
	CHECK(!nw_if_none_match_matches("w/\"abc\"", ETAG));
	CHECK(!nw_if_none_match_matches("W/ \"abc\"", ETAG));
	CHECK(!nw_if_none_match_matches("\"abc\"x", ETAG));
	CHECK(!nw_if_none_match_matches("\"abc\" \"abc\"", ETAG));
	CHECK(!nw_if_none_match_matches("\"abc\", garbage", ETAG));
	CHECK(!nw_if_none_match_matches("*, \"abc\"", ETAG));
	CHECK(!nw_if_none_match_matches("**", ETAG));
	CHECK(!nw_if_none_match_matches("\"abc\"", NULL));
	CHECK(!nw_if_none_match_matches("\"abc\"", "abc"));
	CHECK(!nw_if_none_match_matches("\"a bc\"", "\"a bc\""));
}

static void test_not_modified(void)
{
	const char *d = "Sun, 06 Nov 1994 08:49:37 GMT";

	CHECK(!nw_not_modified(NULL, NULL, ETAG, 784111777));
	CHECK(nw_not_modified(ETAG, NULL, ETAG, 784111777));
	CHECK(nw_not_modified("W/\"abc\"", NULL, ETAG, 784111777));
	CHECK(!nw_not_modified("\"zzz\"", NULL, ETAG, 784111777));
	CHECK(nw_not_modified(NULL, d, ETAG, 784111777));
	CHECK(nw_not_modified(NULL, d, ETAG, 784111776));
	CHECK(nw_not_modified(NULL, d, ETAG, 0));
	CHECK(!nw_not_modified(NULL, d, ETAG, 784111778));
	CHECK(nw_not_modified(NULL, "Sunday, 06-Nov-94 08:49:37 GMT", ETAG, 784111777));
	CHECK(nw_not_modified(NULL, "Sun Nov  6 08:49:37 1994", ETAG, 784111777));
	/* unparsable date ignored */
	CHECK(!nw_not_modified(NULL, "yesterday", ETAG, 0));
	CHECK(!nw_not_modified(NULL, "", ETAG, 0));
	/* If-None-Match present: If-Modified-Since is not evaluated */
	CHECK(!nw_not_modified("\"zzz\"", d, ETAG, 784111777));
	CHECK(!nw_not_modified("", d, ETAG, 784111777));
	CHECK(nw_not_modified(ETAG, "Thu, 01 Jan 1970 00:00:00 GMT", ETAG, 784111777));
	CHECK(nw_not_modified("*", NULL, ETAG, 1));
}

static void test_if_match(void)
{
	CHECK(nw_if_match_matches("\"abc\"", ETAG));
	CHECK(nw_if_match_matches(" \"abc\" ", ETAG));
	CHECK(nw_if_match_matches("\"x\", \"abc\"", ETAG));
	CHECK(nw_if_match_matches("\"x\",\"abc\",\"y\"", ETAG));
	CHECK(nw_if_match_matches(",,\"abc\",", ETAG));
	CHECK(nw_if_match_matches("*", ETAG));
	CHECK(nw_if_match_matches(" * ", ETAG));
	CHECK(nw_if_match_matches("*", NULL));
	/* strong comparison: a weak tag never matches */
	CHECK(!nw_if_match_matches("W/\"abc\"", ETAG));
	CHECK(!nw_if_match_matches("W/\"abc\", W/\"x\"", ETAG));
	CHECK(!nw_if_match_matches("\"abc\"", "W/\"abc\""));
	CHECK(!nw_if_match_matches("W/\"abc\"", "W/\"abc\""));
	CHECK(nw_if_match_matches("W/\"abc\", \"abc\"", ETAG));

	CHECK(!nw_if_match_matches(NULL, ETAG));
	CHECK(!nw_if_match_matches("", ETAG));
	CHECK(!nw_if_match_matches("\"nope\"", ETAG));
	CHECK(!nw_if_match_matches("\"ABC\"", ETAG));
	CHECK(!nw_if_match_matches("abc", ETAG));
	CHECK(!nw_if_match_matches("\"abc", ETAG));
	/* malformed list: no match even though our tag is in it */
	CHECK(!nw_if_match_matches("\"abc\", garbage", ETAG));
	CHECK(!nw_if_match_matches("\"abc\" \"x\"", ETAG));
	CHECK(!nw_if_match_matches("*, \"abc\"", ETAG));
	CHECK(!nw_if_match_matches("\"abc\"", NULL));
}

static enum nw_precondition pre(const char *im, const char *ius,
				const char *inm, const char *ims, time_t mtime)
{
	struct nw_preconditions p = { im, ius, inm, ims };

	return nw_evaluate_preconditions(&p, ETAG, mtime);
}

static void test_preconditions(void)
{
	const char *d = "Sun, 06 Nov 1994 08:49:37 GMT";
	const time_t t = 784111777;

	CHECK_INT(pre(NULL, NULL, NULL, NULL, t), NW_PRECOND_PROCEED);
	/* step 1: If-Match */
	CHECK_INT(pre(ETAG, NULL, NULL, NULL, t), NW_PRECOND_PROCEED);
	CHECK_INT(pre("*", NULL, NULL, NULL, t), NW_PRECOND_PROCEED);
	CHECK_INT(pre("\"nope\"", NULL, NULL, NULL, t), NW_PRECOND_FAILED);
	CHECK_INT(pre("W/\"abc\"", NULL, NULL, NULL, t), NW_PRECOND_FAILED);
	CHECK_INT(pre("", NULL, NULL, NULL, t), NW_PRECOND_FAILED);
	/* step 2 only without If-Match */
	CHECK_INT(pre(ETAG, d, NULL, NULL, t + 1), NW_PRECOND_PROCEED);
	CHECK_INT(pre("\"nope\"", d, NULL, NULL, t), NW_PRECOND_FAILED);
	CHECK_INT(pre(NULL, d, NULL, NULL, t), NW_PRECOND_PROCEED);
	CHECK_INT(pre(NULL, d, NULL, NULL, t - 1), NW_PRECOND_PROCEED);
	CHECK_INT(pre(NULL, d, NULL, NULL, t + 1), NW_PRECOND_FAILED);
	CHECK_INT(pre(NULL, "Sun Nov  6 08:49:37 1994", NULL, NULL, t + 1),
		  NW_PRECOND_FAILED);
	/* an invalid date is ignored */
	CHECK_INT(pre(NULL, "yesterday", NULL, NULL, t), NW_PRECOND_PROCEED);
	CHECK_INT(pre(NULL, "", NULL, NULL, t), NW_PRECOND_PROCEED);
	CHECK_INT(pre(NULL, "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
		      NULL, NULL, t + 1), NW_PRECOND_PROCEED);
	/* 412 wins over 304 */
	CHECK_INT(pre("\"nope\"", NULL, ETAG, NULL, t), NW_PRECOND_FAILED);
	CHECK_INT(pre(NULL, d, NULL, d, t + 1), NW_PRECOND_FAILED);
	/* steps 3 and 4 after a passing step 1 or 2 */
	CHECK_INT(pre(ETAG, NULL, ETAG, NULL, t), NW_PRECOND_NOT_MODIFIED);
	CHECK_INT(pre(NULL, d, ETAG, NULL, t), NW_PRECOND_NOT_MODIFIED);
	CHECK_INT(pre(ETAG, NULL, NULL, d, t), NW_PRECOND_NOT_MODIFIED);
	CHECK_INT(pre(ETAG, NULL, "\"zzz\"", d, t), NW_PRECOND_PROCEED);
	CHECK_INT(pre(NULL, NULL, NULL, d, t + 1), NW_PRECOND_PROCEED);
}

static void test_if_range(void)
{
	const char *d = "Sun, 06 Nov 1994 08:49:37 GMT";

	CHECK(nw_if_range_allows(NULL, ETAG, 784111777));
	CHECK(nw_if_range_allows(ETAG, ETAG, 784111777));
	CHECK(nw_if_range_allows(" \"abc\" ", ETAG, 0));
	CHECK(!nw_if_range_allows("W/\"abc\"", ETAG, 0));
	CHECK(!nw_if_range_allows("\"abc\"", "W/\"abc\"", 0));
	CHECK(!nw_if_range_allows("W/\"abc\"", "W/\"abc\"", 0));
	CHECK(!nw_if_range_allows("\"abd\"", ETAG, 0));
	CHECK(!nw_if_range_allows("\"abc\", \"abc\"", ETAG, 0));
	CHECK(!nw_if_range_allows("\"abc", ETAG, 0));
	CHECK(!nw_if_range_allows("\"abc\"", NULL, 0));
	CHECK(nw_if_range_allows(d, ETAG, 784111777));
	CHECK(nw_if_range_allows("Sunday, 06-Nov-94 08:49:37 GMT", ETAG, 784111777));
	CHECK(!nw_if_range_allows(d, ETAG, 784111776));
	CHECK(!nw_if_range_allows(d, ETAG, 784111778));
	CHECK(!nw_if_range_allows("", ETAG, 784111777));
	CHECK(!nw_if_range_allows("*", ETAG, 784111777));
	CHECK(!nw_if_range_allows("garbage", ETAG, 784111777));
}

int main(void)
{
	test_format();
	test_parse();
	test_parse_bad();
	test_inm();
	test_not_modified();
	test_if_match();
	test_preconditions();
	test_if_range();
	return check_report();
}
