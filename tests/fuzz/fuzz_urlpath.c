/* libFuzzer target for src/urlpath.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "urlpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[512], again[512];
	size_t out_len = 0, again_len = 0, out_size, i;
	enum nw_path_status st;

	if (size < 1)
		return 0;
	/* first byte picks the output buffer size */
	out_size = (size_t)data[0] * 2 + 1;
	data++;
	size--;

	if (size < sizeof again) {
		const char *origin;

		memcpy(again, data, size);
		again[size] = '\0';
		origin = nw_origin_form(again);
		/* a suffix of the target, never the scheme alone; NULL
		 * only for an absolute form */
		if (!origin) {
			if (strncasecmp(again, "http", 4) != 0)
				abort();
		} else if (origin != again &&
			   origin != again + strlen(again) - strlen(origin) &&
			   strcmp(origin, "/") != 0) {
			abort();
		}
	}
	st = nw_normalize_path((const char *)data, size, 400, out, out_size,
			       &out_len);
	switch (st) {
	case NW_PATH_OK:
		break;
	case NW_PATH_BAD:
	case NW_PATH_HIDDEN:
	case NW_PATH_TOO_LONG:
		if (out_len != 0 || out[0] != '\0')
			abort();
		return 0;
	default:
		abort();
	}
	if (out_len + 1 > out_size || out[out_len] != '\0' ||
	    strlen(out) != out_len || out[0] != '/')
		abort();
	for (i = 0; i < out_len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			abort();
		if (c == '/' && i + 1 < out_len) {
			if (out[i + 1] == '/')
				abort();
			if (out[i + 1] == '.' && strncmp(out + i + 1, ".well-known", 11) != 0)
				abort();
			if (out[i + 1] == '.' && i != 0)
				abort();
		}
	}
	/* canonical paths without '%' are fixed points; a decoded space or
	 * '#' is not, since a raw one is refused in a request target */
	if (memchr(out, '%', out_len) == NULL && memchr(out, ' ', out_len) == NULL &&
	    memchr(out, '#', out_len) == NULL) {
		if (nw_normalize_path(out, out_len, 400, again, sizeof(again),
				      &again_len) != NW_PATH_OK ||
		    again_len != out_len || memcmp(out, again, out_len) != 0)
			abort();
	}
	(void)nw_path_has_extension(out);
	return 0;
}
