/* libFuzzer target for src/conditional.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conditional.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[NW_HTTP_DATE_LEN];
	char *s, *etag;
	time_t t, t2, mtime = 0;
	size_t i, cut;

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (nw_http_date_parse(s, &t)) {
		/* what we parse, we format and parse back to the same time */
		nw_http_date_format(t, buf);
		if (strlen(buf) != NW_HTTP_DATE_LEN - 1)
			abort();
		if (!nw_http_date_parse(buf, &t2) || t2 != t)
			abort();
		mtime = t;
	}
	for (i = 0; i < size && i < 8; i++)
		mtime = (time_t)((uint64_t)mtime << 8 | data[i]);
	nw_http_date_format(mtime, buf);
	if (strlen(buf) != NW_HTTP_DATE_LEN - 1 || !nw_http_date_parse(buf, &t2))
		abort();

	/* split: field | etag */
	cut = size / 2;
	etag = s + cut;
	{
		char *field = strndup(s, cut);

		if (field) {
			bool m = nw_if_none_match_matches(field, etag);

			if (nw_not_modified(field, NULL, etag, mtime) != m)
				abort();
			(void)nw_not_modified(NULL, field, etag, mtime);
			(void)nw_if_range_allows(field, etag, mtime);
			free(field);
		}
	}
	if (!nw_if_range_allows(NULL, s, mtime))
		abort();
	free(s);
	return 0;
}
