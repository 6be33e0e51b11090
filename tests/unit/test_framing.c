/* Unit tests for src/framing.c */
#include <string.h>

#include "charclass.h"
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
	CHECK(nw_token_ok("Host", 4));
	CHECK(nw_token_ok("X-Custom_1.a!#$%&'*+^`|~", 24));
	CHECK(!nw_token_ok("Host ", 5));
	CHECK(!nw_token_ok("X-Tab\t", 6));
	CHECK(!nw_token_ok(" Host", 5));
	CHECK(!nw_token_ok("", 0));
	CHECK(!nw_token_ok("a:b", 3));
	CHECK(!nw_token_ok("a\"b", 3));
	CHECK(!nw_token_ok("a(b)", 4));
	CHECK(!nw_token_ok("a\0b", 3));
	/* tchar (charclass.h's table) against RFC 9110's list, every byte */
	for (int c = 0; c < 256; c++) {
		char one = (char)c;
		bool strict = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
			      (c >= 'a' && c <= 'z') ||
			      (c && strchr("!#$%&'*+-.^_`|~", c));

		CHECK(nw_token_ok(&one, 1) == strict);
		CHECK(nw_is_tchar((unsigned char)c) == strict);
	}
	CHECK(!nw_token_ok("caf\xc3\xa9", 5));
}

static void test_host(void)
{
#define HOST_OK(s) nw_host_ok((s), sizeof(s) - 1)
	CHECK(HOST_OK(""));
	CHECK(HOST_OK("example.com"));
	CHECK(HOST_OK("example.com:8080"));
	CHECK(HOST_OK("127.0.0.1:3000"));
	CHECK(HOST_OK("[::1]:3000"));
	CHECK(HOST_OK("xn--bcher-kva.example"));
	CHECK(HOST_OK("a_b~c%41!$&'()*+,;="));
	CHECK(!HOST_OK("a b"));
	CHECK(!HOST_OK("a/b"));
	CHECK(!HOST_OK("user@host"));
	CHECK(!HOST_OK("a?b"));
	CHECK(!HOST_OK("a#b"));
	CHECK(!HOST_OK("a\\b"));
	CHECK(!HOST_OK("a\tb"));
	CHECK(!HOST_OK("a\"b"));
	CHECK(!HOST_OK("a<b>"));
	CHECK(!HOST_OK("caf\xc3\xa9"));
	/* the shape: uri-host [ ":" port ], port = *DIGIT */
	CHECK(HOST_OK("example.com:"));
	CHECK(HOST_OK(":80"));
	CHECK(HOST_OK("[::1]"));
	CHECK(HOST_OK("[v1.fe80::a+en1]:8080"));
	CHECK(!HOST_OK("x:abc"));
	CHECK(!HOST_OK("x:80:81"));
	CHECK(!HOST_OK("a:b:c"));
	CHECK(!HOST_OK("::1"));
	CHECK(!HOST_OK("[::1"));
	CHECK(!HOST_OK("[::1]x"));
	CHECK(!HOST_OK("[::1]:8x"));
	CHECK(!HOST_OK("[]"));
	CHECK(!HOST_OK("[[::1]]"));
	CHECK(!HOST_OK("a]b"));
	CHECK(!HOST_OK("a[b"));
	CHECK(!HOST_OK("a\0b"));
	/* the OWS around a field value is not part of it */
	CHECK(HOST_OK("x "));
	CHECK(HOST_OK("x\t"));
	CHECK(HOST_OK(" example.com:8080 \t"));
	CHECK(HOST_OK("[::1]:3000 "));
	CHECK(HOST_OK(" "));
	CHECK(!HOST_OK("x :80"));
	CHECK(!HOST_OK("x: 80"));
	CHECK(!HOST_OK("x\r"));
#undef HOST_OK
}

/* The bit sets against the grammar's own lists, for all 256 bytes. */
static void check_class(struct nw_charclass cc, const char *members)
{
	for (int c = 0; c < 256; c++) {
		bool want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') ||
			    (c && strchr(members, c) != NULL);

		if (nw_cc_has(cc, (unsigned char)c) != want) {
			fprintf(stderr, "byte 0x%02x: %s\n", c,
				want ? "missing" : "extra");
			CHECK(false);
			return;
		}
	}
	CHECK(true);
}

static void test_char_classes(void)
{
	check_class(NW_CC_HOST, "-._~!$&'()*+,;=%:[]");
	check_class(NW_CC_PATH, "-._~!$&'()*+,;=:@/");
	check_class(NW_CC_QUERY, "-._~!$&'()*+,;=:@/?");
	CHECK(nw_is_tchar('~'));
	CHECK(!nw_is_tchar(' '));
	CHECK(!nw_is_tchar(0xe9));
}

static void test_method_known(void)
{
	CHECK(nw_method_known("GET"));
	CHECK(nw_method_known("POST"));
	CHECK(nw_method_known("PATCH"));
	CHECK(nw_method_known("TRACE"));
	CHECK(!nw_method_known("get"));
	CHECK(!nw_method_known("PROPFIND"));
	CHECK(!nw_method_known("BREW"));
	CHECK(!nw_method_known("GETX"));
	CHECK(!nw_method_known(""));
}

int main(void)
{
	test_char_classes();
	test_host();
	test_te();
	test_field_name();
	test_method_known();
	return check_report();
}
