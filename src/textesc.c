/* Escaping text for the logs (textesc.h). Pure. */
#include "textesc.h"

#include <stdio.h>

/* Length of the valid UTF-8 sequence at p (1-4), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned c = p[0];
	size_t n;
	unsigned min, cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0; /* also the NUL at the end */
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t nw_json_escape(const char *s, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (outsz == 0)
		return 0;
	while (*p) {
		size_t n = utf8_len(p);
		char esc[8];
		const char *put = esc;
		size_t len;

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			len = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			len = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
		} else if (n == 0) {
			put = "\\ufffd";
			len = 6;
			n = 1;
		} else {
			put = (const char *)p;
			len = n;
		}
		if (o + len >= outsz)
			break;
		for (size_t i = 0; i < len; i++)
			out[o++] = put[i];
		p += n;
	}
	out[o] = '\0';
	return o;
}

size_t nw_console_escape(const char *s, char *out, size_t outsz, bool field)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outsz == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\') {
			if (o + 2 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (*p < 0x20 || *p == 0x7f || (field && (*p == ' ' || *p >= 0x80))) {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
	return o;
}

size_t nw_utf8_cut(const char *s, size_t len)
{
	size_t i = len;

	/* back over continuation bytes to the lead byte of the last char */
	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80 && len - i < 3)
		i--;
	if (i > 0 && (unsigned char)s[i - 1] >= 0xc0) {
		size_t n = (unsigned char)s[i - 1] >= 0xf0 ? 4 :
			   (unsigned char)s[i - 1] >= 0xe0 ? 3 : 2;

		if (len - (i - 1) < n) /* that char is cut: drop it */
			return i - 1;
	}
	return len;
}
