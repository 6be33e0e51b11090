/* libFuzzer target for src/framing.c: the input is one field name or value.
 * Checks what each predicate promises about the characters it lets through. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "framing.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (nw_token_ok(s, size)) {
		CHECK(size > 0);
		for (size_t i = 0; i < size; i++)
			CHECK(data[i] > 0x20 && data[i] < 0x7f &&
			      !strchr("\"(),/:;<=>?@[\\]{}", data[i]));
	}
	if (nw_host_ok(s, size)) {
		/* the value is what lies between the OWS around it */
		const char *v = s, *end = s + size;

		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		const char *rb = end > v ? memchr(v, ']', (size_t)(end - v)) : NULL;
		const char *host_end = rb ? rb + 1 : v;
		const char *colon = memchr(host_end, ':', (size_t)(end - host_end));

		for (const char *p = v; p < end; p++)
			CHECK(*p > 0x20 && *p < 0x7f &&
			      !strchr("\"#/<>?@\\^`{|}", *p));
		/* brackets only around an IP literal at the start; after the
		 * host, nothing or ':' and digits */
		CHECK(!rb || v[0] == '[');
		CHECK(!rb || rb == host_end - 1);
		if (rb)
			CHECK(host_end == end || *host_end == ':');
		if (colon)
			for (const char *p = colon + 1; p < end; p++)
				CHECK(*p >= '0' && *p <= '9');
	}
	if (nw_te_chunked_last(s)) {
		/* the last list member, OWS trimmed, is "chunked" in any case */
		size_t n = strlen(s), b;

		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		CHECK(n >= 7 && !strncasecmp(s + n - 7, "chunked", 7));
		for (b = n - 7; b && (s[b - 1] == ' ' || s[b - 1] == '\t'); b--)
			;
		CHECK(b == 0 || s[b - 1] == ',');
	}
	free(s);
	return 0;
}
