#include "check.h"
#include "urlpath.h"

static char out[256];
static size_t out_len;

static int norm_n(const char *raw, size_t n)
{
	memset(out, 'X', sizeof(out));
	out_len = 9999;
	return nw_normalize_path(raw, n, 1024, out, sizeof(out), &out_len);
}

static int norm(const char *raw)
{
	return norm_n(raw, strlen(raw));
}

/* OK, with the given canonical path (and a matching out_len). */
static int ok(const char *raw, const char *want)
{
	if (norm(raw) != NW_PATH_OK) {
		fprintf(stderr, "  %s: status %d\n", raw, norm(raw));
		return 0;
	}
	if (strcmp(out, want) != 0 || out_len != strlen(want)) {
		fprintf(stderr, "  %s: got \"%s\" (%zu), want \"%s\"\n", raw,
			out, out_len, want);
		return 0;
	}
	return 1;
}

static void test_ok(void)
{
	CHECK(ok("/", "/"));
	CHECK(ok("/index.html", "/index.html"));
	CHECK(ok("/a/b/c.js", "/a/b/c.js"));
	CHECK(ok("/a/", "/a/"));
	CHECK(ok("/a/b/", "/a/b/"));
	/* repeated slashes */
	CHECK(ok("//", "/"));
	CHECK(ok("///", "/"));
	CHECK(ok("//a//b", "/a/b"));
	CHECK(ok("/a///b//", "/a/b/"));
	/* dot segments */
	CHECK(ok("/./a", "/a"));
	CHECK(ok("/a/.", "/a/"));
	CHECK(ok("/a/./", "/a/"));
	CHECK(ok("/a/./b", "/a/b"));
	CHECK(ok("/.", "/"));
	CHECK(ok("/./", "/"));
	CHECK(ok("/././.", "/"));
	CHECK(ok("/%2e", "/"));
	CHECK(ok("/a/%2E/b", "/a/b"));
	CHECK(ok("/a/%2e", "/a/"));
	/* percent-decoding, exactly once */
	CHECK(ok("/a%20b", "/a b"));
	CHECK(ok("/a%23b", "/a#b"));
	CHECK(ok("/%41%42%43", "/ABC"));
	CHECK(ok("/%61%62", "/ab"));
	CHECK(ok("/%7e", "/~"));
	CHECK(ok("/%2541", "/%41"));
	CHECK(ok("/%252e%252e/x", "/%2e%2e/x"));
	CHECK(ok("/a%3Fb", "/a?b"));
	CHECK(ok("/a%23b", "/a#b"));
	CHECK(ok("/a+b", "/a+b"));
	/* UTF-8 raw and encoded */
	CHECK(ok("/caf\xc3\xa9.html", "/caf\xc3\xa9.html"));
	CHECK(ok("/caf%C3%A9.html", "/caf\xc3\xa9.html"));
	CHECK(ok("/%E2%82%AC", "/\xe2\x82\xac"));
	CHECK(ok("/\xff", "/\xff"));
	/* dots inside names are fine */
	CHECK(ok("/a.b", "/a.b"));
	CHECK(ok("/a..b", "/a..b"));
	CHECK(ok("/a.", "/a."));
	CHECK(ok("/a../b", "/a../b"));
	/* .well-known */
	CHECK(ok("/.well-known/acme-challenge/tok",
		 "/.well-known/acme-challenge/tok"));
	CHECK(ok("/.well-known/", "/.well-known/"));
	CHECK(ok("/.well-known", "/.well-known"));
	CHECK(ok("//.well-known//x", "/.well-known/x"));
	CHECK(ok("/./.well-known/x", "/.well-known/x"));
	CHECK(ok("/%2ewell-known/x", "/.well-known/x"));
	/* NULL out_len is allowed */
	CHECK_INT(nw_normalize_path("/a", 2, 10, out, sizeof(out), NULL),
		  NW_PATH_OK);
	/* raw_len bounds the input, not a NUL */
	CHECK_INT(norm_n("/abc/def", 4), NW_PATH_OK);
	CHECK_STR(out, "/abc");
}

static void test_bad(void)
{
	CHECK_INT(norm(""), NW_PATH_BAD);
	CHECK_INT(norm("a"), NW_PATH_BAD);
	CHECK_INT(norm("a/b"), NW_PATH_BAD);
	CHECK_INT(norm("%2Fa"), NW_PATH_BAD);
	CHECK_INT(norm("*"), NW_PATH_BAD);
	CHECK_INT(norm("http://x/a"), NW_PATH_BAD);
	/* dot-dot above the root, in every spelling */
	CHECK_INT(norm("/.."), NW_PATH_BAD);
	CHECK_INT(norm("/../"), NW_PATH_BAD);
	CHECK_INT(norm("/../etc/passwd"), NW_PATH_BAD);
	CHECK_INT(norm("/a/../../b"), NW_PATH_BAD);
	CHECK_INT(norm("/a/b/../../../etc/passwd"), NW_PATH_BAD);
	CHECK_INT(norm("/./../x"), NW_PATH_BAD);
	CHECK_INT(norm("/%2e%2e/x"), NW_PATH_BAD);
	CHECK_INT(norm("/%2E%2E"), NW_PATH_BAD);
	CHECK_INT(norm("/.%2e/x"), NW_PATH_BAD);
	CHECK_INT(norm("/%2e./x"), NW_PATH_BAD);
	CHECK_INT(norm("/a/%2e%2e/%2e%2e"), NW_PATH_BAD);
	CHECK_INT(norm("/a/../.."), NW_PATH_BAD);
	/* encoded separators */
	CHECK_INT(norm("/a%2Fb"), NW_PATH_BAD);
	CHECK_INT(norm("/a%2fb"), NW_PATH_BAD);
	CHECK_INT(norm("/%2F"), NW_PATH_BAD);
	CHECK_INT(norm("/..%2Fx"), NW_PATH_BAD);
	CHECK_INT(norm("/a%5Cb"), NW_PATH_BAD);
	CHECK_INT(norm("/a%5cb"), NW_PATH_BAD);
	CHECK_INT(norm("/a\\b"), NW_PATH_BAD);
	CHECK_INT(norm("/..\\x"), NW_PATH_BAD);
	/* a raw space (libmicrohttpd keeps one inside the target) */
	CHECK_INT(norm("/a b"), NW_PATH_BAD);
	CHECK_INT(norm("/ "), NW_PATH_BAD);
	/* a fragment is never sent */
	CHECK_INT(norm("/a#b"), NW_PATH_BAD);
	CHECK_INT(norm("/#"), NW_PATH_BAD);
	/* NUL and control bytes */
	CHECK_INT(norm("/a%00"), NW_PATH_BAD);
	CHECK_INT(norm("/a%00.html"), NW_PATH_BAD);
	CHECK_INT(norm_n("/a\0b", 4), NW_PATH_BAD);
	CHECK_INT(norm("/a%0a"), NW_PATH_BAD);
	CHECK_INT(norm("/a%0D%0A"), NW_PATH_BAD);
	CHECK_INT(norm("/a\nb"), NW_PATH_BAD);
	CHECK_INT(norm("/a\tb"), NW_PATH_BAD);
	CHECK_INT(norm("/a%1f"), NW_PATH_BAD);
	CHECK_INT(norm("/a%7F"), NW_PATH_BAD);
	CHECK_INT(norm("/a\x7f"), NW_PATH_BAD);
	/* malformed escapes */
	CHECK_INT(norm("/%zz"), NW_PATH_BAD);
	CHECK_INT(norm("/a%"), NW_PATH_BAD);
	CHECK_INT(norm("/a%4"), NW_PATH_BAD);
	CHECK_INT(norm("/a%4g"), NW_PATH_BAD);
	CHECK_INT(norm("/a%g4"), NW_PATH_BAD);
	CHECK_INT(norm("/%%41"), NW_PATH_BAD);
	CHECK_INT(norm("/%"), NW_PATH_BAD);
	CHECK_INT(norm("/% 1"), NW_PATH_BAD);
	CHECK_INT(norm("/%-1"), NW_PATH_BAD);
	/* "%4" at the raw_len boundary even if more bytes follow in memory */
	CHECK_INT(norm_n("/a%41", 4), NW_PATH_BAD);
	/* overlong UTF-8 for '.' and '/' is just bytes, but never a separator */
	CHECK_INT(norm("/%c0%ae%c0%ae/x"), NW_PATH_OK);
	CHECK_STR(out, "/\xc0\xae\xc0\xae/x");
	CHECK_INT(norm("/%c0%afx"), NW_PATH_OK);
	/* bad beats hidden */
	CHECK_INT(norm("/.git/%zz"), NW_PATH_BAD);
	CHECK_INT(norm("/.env/../../x"), NW_PATH_BAD);
	/* on failure out is "" and out_len 0 */
	CHECK_INT(norm("/abc/%zz"), NW_PATH_BAD);
	CHECK_STR(out, "");
	CHECK_INT(out_len, 0);
	CHECK_INT(norm("/abc/.git"), NW_PATH_HIDDEN);
	CHECK_STR(out, "");
	CHECK_INT(out_len, 0);
	/* NULL raw */
	CHECK_INT(nw_normalize_path(NULL, 0, 10, out, sizeof(out), &out_len),
		  NW_PATH_BAD);
}

/* ".." removes the segment before it (RFC 3986 5.2.4), as nginx does */
static void test_dot_dot(void)
{
	CHECK(ok("/a/../b", "/b"));
	CHECK(ok("/a/..", "/"));
	CHECK(ok("/a/../", "/"));
	CHECK(ok("/a/b/..", "/a/"));
	CHECK(ok("/a/b/../", "/a/"));
	CHECK(ok("/a/b/../c.js", "/a/c.js"));
	CHECK(ok("/a/b/../../c.js", "/c.js"));
	CHECK(ok("/a//b/..//c", "/a/c"));
	CHECK(ok("/a/./../b", "/b"));
	CHECK(ok("/a/%2e%2e/b", "/b"));
	CHECK(ok("/a/.%2E/b", "/b"));
	CHECK_INT(norm("/a/..b/c"), NW_PATH_HIDDEN);
	CHECK(ok("/abc/def/../../xyz", "/xyz"));
	/* a hidden segment that ".." removes is no longer in the path */
	CHECK(ok("/.git/../index.html", "/index.html"));
	CHECK(ok("/a/.env/../b", "/a/b"));
	CHECK(ok("/.well-known/../.well-known/x", "/.well-known/x"));
	CHECK(ok("/a/../.well-known/x", "/.well-known/x"));
	CHECK(ok("/.well-known/../b", "/b"));
	/* what remains is checked as usual */
	CHECK_INT(norm("/x/../.git/config"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/.git/a/../b"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/.well-known/a/../.x"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/a/.well-known/../.well-known/x"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/a/../%zz"), NW_PATH_BAD);
}

static void test_hidden(void)
{
	CHECK_INT(norm("/.env"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/.git/config"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/a/.git/config"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/a/.htaccess"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/%2eenv"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/%2Egit/HEAD"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/..a"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/..."), NW_PATH_HIDDEN);
	CHECK_INT(norm("/a/.b/"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/a/.well-known/x"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/.well-known/.secret"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/.well-knownx/a"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/.well-know/a"), NW_PATH_HIDDEN);
	CHECK_INT(norm("/.WELL-KNOWN/a"), NW_PATH_HIDDEN);
}

static void test_lengths(void)
{
	char big[300];
	char small[8];
	size_t n = 1234;

	/* raw_len > max_len */
	CHECK_INT(nw_normalize_path("/abcdef", 7, 6, out, sizeof(out), &n),
		  NW_PATH_TOO_LONG);
	CHECK_INT(nw_normalize_path("/abcdef", 7, 7, out, sizeof(out), &n),
		  NW_PATH_OK);
	CHECK_INT(nw_normalize_path("/", 1, 0, out, sizeof(out), &n),
		  NW_PATH_TOO_LONG);
	/* result must fit out_size with its NUL */
	CHECK_INT(nw_normalize_path("/abcdef", 7, 100, small, 8, &n),
		  NW_PATH_OK);
	CHECK_STR(small, "/abcdef");
	CHECK_INT(nw_normalize_path("/abcdefg", 8, 100, small, 8, &n),
		  NW_PATH_TOO_LONG);
	CHECK_INT(nw_normalize_path("/abcdef/", 8, 100, small, 8, &n),
		  NW_PATH_TOO_LONG);
	CHECK_INT(nw_normalize_path("/abcde/", 7, 100, small, 8, &n),
		  NW_PATH_OK);
	CHECK_STR(small, "/abcde/");
	/* decoding shrinks: raw longer than out is fine */
	CHECK_INT(nw_normalize_path("/%41%42%43%44%45%46", 19, 100, small, 8, &n),
		  NW_PATH_OK);
	CHECK_STR(small, "/ABCDEF");
	CHECK_INT(nw_normalize_path("//////a", 7, 100, small, 3, &n),
		  NW_PATH_OK);
	CHECK_STR(small, "/a");
	CHECK_INT(nw_normalize_path("/", 1, 100, small, 1, &n),
		  NW_PATH_TOO_LONG);
	CHECK_INT(nw_normalize_path("/", 1, 100, small, 2, &n), NW_PATH_OK);
	CHECK_STR(small, "/");
	CHECK_INT(nw_normalize_path("/", 1, 100, NULL, 0, &n), NW_PATH_TOO_LONG);
	/* bad is still reported when the output overflows */
	CHECK_INT(nw_normalize_path("/abcdefghij/%zz", 15, 100, small, 8, &n),
		  NW_PATH_BAD);
	/* ".." does not bring back what overflowed */
	CHECK_INT(nw_normalize_path("/abcdefghij/../x", 16, 100, small, 8, &n),
		  NW_PATH_TOO_LONG);
	CHECK_INT(nw_normalize_path("/abc/../xyz", 11, 100, small, 8, &n),
		  NW_PATH_OK);
	CHECK_STR(small, "/xyz");
	/* long paths */
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	CHECK_INT(nw_normalize_path(big, 255, 1024, out, sizeof(out), &n),
		  NW_PATH_OK);
	CHECK_INT(n, 255);
	CHECK_INT(nw_normalize_path(big, 256, 1024, out, sizeof(out), &n),
		  NW_PATH_TOO_LONG);
	CHECK_INT(nw_normalize_path(big, 300, 299, out, sizeof(out), &n),
		  NW_PATH_TOO_LONG);
}

static void test_origin_form(void)
{
	CHECK_STR(nw_origin_form("/a/b"), "/a/b");
	CHECK_STR(nw_origin_form("http://x/index.html"), "/index.html");
	CHECK_STR(nw_origin_form("HTTP://Example.COM:8080/a/b/"), "/a/b/");
	CHECK_STR(nw_origin_form("https://x"), "/");
	CHECK_STR(nw_origin_form("http://[::1]:3000/x"), "/x");
	CHECK_STR(nw_origin_form("http:///x"), "/x");
	CHECK_STR(nw_origin_form("ftp://x/y"), "ftp://x/y");
	CHECK_STR(nw_origin_form("http:/x"), "http:/x");
	CHECK_STR(nw_origin_form("*"), "*");
	CHECK_STR(nw_origin_form(""), "");
	CHECK(nw_origin_form("http://user@x/a") == NULL);
	CHECK(nw_origin_form("https://u:p@x") == NULL);
	CHECK(nw_origin_form("http://x#y") == NULL);
	CHECK(nw_origin_form("http://x#/a") == NULL);
	CHECK_STR(nw_origin_form("http://x/a#b"), "/a#b");
	CHECK_STR(nw_origin_form("http://x/a@b"), "/a@b");
}

static void test_extension(void)
{
	CHECK(nw_path_has_extension("/a.html"));
	CHECK(nw_path_has_extension("/a/b/c.js"));
	CHECK(nw_path_has_extension("/a.b.c"));
	CHECK(nw_path_has_extension("a.txt"));
	CHECK(nw_path_has_extension("/.well-known/x.json"));
	CHECK(!nw_path_has_extension("/"));
	CHECK(!nw_path_has_extension("/about"));
	CHECK(!nw_path_has_extension("/a.b/c"));
	CHECK(!nw_path_has_extension("/a.b/"));
	CHECK(!nw_path_has_extension("/a."));
	CHECK(!nw_path_has_extension("/.hidden"));
	CHECK(!nw_path_has_extension(""));
	CHECK(!nw_path_has_extension(NULL));
}

int main(void)
{
	test_ok();
	test_bad();
	test_dot_dot();
	test_hidden();
	test_lengths();
	test_origin_form();
	test_extension();
	return check_report();
}
