/* Escaping for the logs (src/textesc.c). */
#include <string.h>

#include "textesc.h"
#include "check.h"

static const char *json(const char *s, size_t outsz)
{
	static char out[256];

	nw_json_escape(s, out, outsz);
	return out;
}

static const char *console(const char *s, bool field)
{
	static char out[256];

	nw_console_escape(s, out, sizeof out, field);
	return out;
}

/* Escapes into a buffer of outsz bytes followed by guard bytes, which must
 * stay untouched. */
static const char *console_in(const char *s, size_t outsz, bool field)
{
	static char out[64];

	memset(out, '#', sizeof out);
	nw_console_escape(s, out, outsz, field);
	for (size_t i = outsz; i < sizeof out; i++)
		CHECK(out[i] == '#');
	return out;
}

int main(void)
{
	CHECK_STR(json("a\"b\\c", 256), "a\\\"b\\\\c");
	CHECK_STR(json("\n\x01\x7f", 256), "\\u000a\\u0001\\u007f");
	CHECK_STR(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 256),
		  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* stray, cut, overlong, surrogate, beyond U+10FFFF */
	CHECK_STR(json("\xff\xfe", 256), "\\ufffd\\ufffd");
	CHECK_STR(json("a\xc3", 256), "a\\ufffd");
	CHECK_STR(json("\xc0\xaf", 256), "\\ufffd\\ufffd");
	CHECK_STR(json("\xed\xa0\x80", 256), "\\ufffd\\ufffd\\ufffd");
	CHECK_STR(json("\xf4\x90\x80\x80", 256), "\\ufffd\\ufffd\\ufffd\\ufffd");
	/* cut where it fits, never inside a character or an escape */
	CHECK_STR(json("ab\xc3\xa9", 4), "ab");
	CHECK_STR(json("ab\"", 4), "ab");
	CHECK_STR(json("abc", 1), "");

	CHECK_STR(console("/a b 200", true), "/a\\x20b\\x20200");
	CHECK_STR(console("/a\nb\x7f\\", true), "/a\\x0ab\\x7f\\\\");
	CHECK_STR(console("/caf\xc3\xa9", true), "/caf\\xc3\\xa9");
	CHECK_STR(console("file a\n2026 error fake", false),
		  "file a\\x0a2026 error fake");
	CHECK_STR(console("caf\xc3\xa9", false), "caf\xc3\xa9");
	/* cut where it fits, never inside an escape, never past outsz */
	CHECK_STR(console_in("a\n", 4, true), "a");
	CHECK_STR(console_in("a\n", 5, true), "a");
	CHECK_STR(console_in("a\n", 6, true), "a\\x0a");
	CHECK_STR(console_in("a\\", 3, true), "a");
	CHECK_STR(console_in("a\\", 4, true), "a\\\\");
	CHECK_STR(console_in("ab", 2, false), "a");
	CHECK_STR(console_in("ab", 1, false), "");

	CHECK_INT(nw_utf8_cut("ab\xc3\xa9", 3), 2);
	CHECK_INT(nw_utf8_cut("ab\xc3\xa9", 4), 4);
	CHECK_INT(nw_utf8_cut("a\xe2\x82\xac", 3), 1);
	CHECK_INT(nw_utf8_cut("a\xf0\x9f\x98\x80", 4), 1);
	CHECK_INT(nw_utf8_cut("abc", 2), 2);
	return check_report();
}
