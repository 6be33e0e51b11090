/* libFuzzer target for src/spa.c: four NUL-separated fields (Sec-Fetch-Mode,
 * Sec-Fetch-Dest, Accept, path); a missing field is absent (NULL). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spa.h"
#include "urlpath.h"

static bool refuses_html(const char *accept)
{
	const char *e = accept, *end;
	size_t n;

	for (; e && *e; e = *end ? end + 1 : end) {
		end = strchr(e, ',');
		if (!end)
			end = e + strlen(e);
		while (e < end && (*e == ' ' || *e == '\t'))
			e++;
		for (n = (size_t)(end - e); n && (e[n - 1] == ' ' || e[n - 1] == '\t'); n--)
			;
		if (n == 13 && !strncasecmp(e, "text/html;q=0", 13))
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *field[4] = { NULL }, *p;
	const char *path;
	bool html, mode, dest, want, well_known;
	size_t n = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (p = buf; n < 4 && p <= buf + size; p += strlen(p) + 1)
		field[n++] = p;
	path = field[3] ? field[3] : "/";
	html = nw_accept_lists_html(field[2]);
	mode = field[0] && *field[0];
	dest = field[1] && *field[1];
	/* the rules of spa.h, first match wins */
	well_known = !strncmp(path, "/.well-known/", 13) || !strcmp(path, "/.well-known");
	if (nw_spa_applies(path) == well_known)
		abort();
	if (well_known)
		want = false;
	else if (mode && !strcasecmp(field[0], "navigate"))
		want = true;
	else if (nw_path_has_extension(path))
		want = false;
	else if (mode || dest)
		want = html;
	else
		want = true;
	if (nw_spa_fallback(path, field[0], field[1], field[2]) != want)
		abort();
	/* an element "text/html;q=0" refuses HTML whatever else is listed
	 * (without quoted strings, where a ',' may not end an element) */
	if (html && !strchr(field[2], '"') && refuses_html(field[2]))
		abort();
	free(buf);
	return 0;
}
