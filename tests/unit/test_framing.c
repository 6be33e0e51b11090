/* Unit tests for src/framing.c */
#include <string.h>

#include "check.h"
#include "framing.h"

static void test_te(void)
{
	CHECK(nw_te_chunked_last("chunked"));
	CHECK(nw_te_chunked_last("CHUNKED"));
	CHECK(nw_te_chunked_last("gzip, chunked"));
	CHECK(nw_te_chunked_last("gzip,chunked "));
	CHECK(nw_te_chunked_last(" \tchunked\t"));
	CHECK(!nw_te_chunked_last("gzip"));
	CHECK(!nw_te_chunked_last("chunked, gzip"));
	CHECK(!nw_te_chunked_last("chunked;q=1"));
	CHECK(!nw_te_chunked_last("xchunked"));
	CHECK(!nw_te_chunked_last("chunkedx"));
	CHECK(!nw_te_chunked_last("chunked,"));
	CHECK(!nw_te_chunked_last(""));
	CHECK(!nw_te_chunked_last(" "));
	CHECK(!nw_te_chunked_last("identity"));
}

static void test_field_name(void)
{
	CHECK(nw_field_name_ok("Host", 4));
	CHECK(nw_field_name_ok("X-Custom_1.a!#$%&'*+^`|~", 24));
	CHECK(!nw_field_name_ok("Host ", 5));
	CHECK(!nw_field_name_ok("X-Tab\t", 6));
	CHECK(!nw_field_name_ok(" Host", 5));
	CHECK(!nw_field_name_ok("", 0));
	CHECK(!nw_field_name_ok("a:b", 3));
	CHECK(!nw_field_name_ok("a\"b", 3));
	CHECK(!nw_field_name_ok("a(b)", 4));
	CHECK(!nw_field_name_ok("a\0b", 3));
	CHECK(!nw_field_name_ok("caf\xc3\xa9", 5));
}

int main(void)
{
	test_te();
	test_field_name();
	return check_report();
}
