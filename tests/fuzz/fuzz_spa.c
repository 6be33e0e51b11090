/* libFuzzer target for src/spa.c: four NUL-separated fields (Sec-Fetch-Mode,
 * Sec-Fetch-Dest, Accept, path); a missing field is absent (NULL). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spa.h"
#include "urlpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *field[4] = { NULL }, *p;
	bool html, fallback;
	size_t n = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (p = buf; n < 4 && p <= buf + size; p += strlen(p) + 1)
		field[n++] = p;
	html = nw_accept_lists_html(field[2]);
	fallback = nw_spa_fallback(field[3] ? field[3] : "/", field[0],
				   field[1], field[2]);
	/* the Accept rule alone is enough for index.html */
	if (html && !fallback)
		abort();
	/* without any request field, only the extension decides */
	if (nw_spa_fallback(field[3] ? field[3] : "/", NULL, NULL, NULL) !=
	    !nw_path_has_extension(field[3] ? field[3] : "/"))
		abort();
	free(buf);
	return 0;
}
