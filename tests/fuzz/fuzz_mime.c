/* libFuzzer target for src/mime.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	t = nw_mime_type(s);
	if (t == NULL || *t == '\0')
		abort();
	if (nw_mime_is_html(t) && !nw_mime_compressible(t))
		abort();
	(void)nw_mime_compressible(s);
	(void)nw_mime_is_html(s);
	(void)nw_path_is_hashed_asset(s);
	free(s);
	return 0;
}
