/* libFuzzer target for src/range.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t length = 0;
	struct nw_range r;
	enum nw_range_result res;
	char *s;
	size_t i;

	if (size < 2)
		return 0;
	/* first byte picks the representation length */
	switch (data[0] & 3) {
	case 0:
		length = data[1];
		break;
	case 1:
		length = 0;
		break;
	case 2:
		length = UINT64_MAX - data[1];
		break;
	default:
		for (i = 0; i < 8 && i + 1 < size; i++)
			length = length << 8 | data[1 + i];
		break;
	}
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	res = nw_parse_range(s, length, &r);
	if (res != NW_RANGE_IGNORE && res != NW_RANGE_SINGLE &&
	    res != NW_RANGE_UNSATISFIABLE)
		abort();
	if (res == NW_RANGE_SINGLE && (length == 0 || r.first > r.last ||
				       r.last >= length))
		abort();
	if (length == 0 && res != NW_RANGE_IGNORE)
		abort();
	if (nw_parse_range(s, length, NULL) != res)
		abort();
	free(s);
	return 0;
}
