/* libFuzzer target for src/encoding.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned avail;
	char *s;
	int r;

	if (size < 1)
		return 0;
	avail = data[0] & 0x0f;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	r = nw_negotiate_encoding(s, avail);
	if (r < -1 || r >= NW_ENC_COUNT)
		abort();
	if (r > 0 && !(avail & NW_ENC_BIT(r)))
		abort(); /* chose a coding we do not have */
	if (r != nw_negotiate_encoding(s, avail))
		abort();
	/* with every coding available the answer is never "none" unless
	 * identity was excluded */
	if (nw_negotiate_encoding(s, 0) > 0)
		abort();
	if (r >= 0 && nw_enc_token((enum nw_enc)r) == NULL && r != NW_ENC_IDENTITY)
		abort();
	free(s);
	return 0;
}
