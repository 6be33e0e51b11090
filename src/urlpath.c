/* Request-target path normalisation. Pure: no I/O. */
#include "urlpath.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static inline int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* NUL, C0 controls and DEL. Bytes >= 0x80 (UTF-8) are allowed. */
static inline bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

#define WELL_KNOWN ".well-known"
#define WELL_KNOWN_LEN (sizeof(WELL_KNOWN) - 1)

/*
 * Removes the last kept segment ("/seg") that ends at `end`, returning the
 * new output length. Whether it was a hidden one is read back from out:
 * hidden unless it starts with '.' only as the leading ".well-known".
 * Once the output has overflowed it is not all there: the result will be
 * an error anyway, so a hidden segment is then left counted.
 */
static size_t pop_segment(const char *out, size_t end, bool overflow,
			  size_t *hidden_kept)
{
	size_t start = end - 1;

	if (overflow)
		return end;
	while (out[start] != '/')
		start--;
	if (out[start + 1] == '.' &&
	    !(start == 0 && end - 1 == WELL_KNOWN_LEN &&
	      memcmp(out + 1, WELL_KNOWN, WELL_KNOWN_LEN) == 0))
		(*hidden_kept)--;
	return start;
}

static enum nw_path_status normalize(const char *raw, size_t raw_len,
				     size_t max_len, char *out,
				     size_t out_size, size_t *out_len)
{
	size_t i = 0, o = 0;  /* read position, output length */
	bool overflow = false;
	size_t hidden_kept = 0; /* kept segments starting with '.' */
	bool trailing_slash = false;
	size_t nseg = 0;      /* segments kept so far */

	if (raw_len > max_len)
		return NW_PATH_TOO_LONG;
	if (raw == NULL || raw_len == 0 || raw[0] != '/')
		return NW_PATH_BAD;
	if (out == NULL || out_size == 0)
		overflow = true;

	while (i < raw_len) {
		/*
		 * At a raw '/'. Skip the run of slashes, then decode one
		 * segment, writing "/segment" tentatively at out[o].
		 */
		size_t seg_start, seg_len = 0;
		char head[WELL_KNOWN_LEN + 1] = { 0 }; /* first decoded bytes */

		while (i < raw_len && raw[i] == '/')
			i++;
		if (i == raw_len) {
			trailing_slash = true;
			break;
		}
		seg_start = o;
		if (!overflow && o + 1 < out_size)
			out[o] = '/';
		else
			overflow = true;

		while (i < raw_len && raw[i] != '/') {
			unsigned char c = (unsigned char)raw[i];

			if (c == '%') {
				int hi, lo;

				if (raw_len - i < 3)
					return NW_PATH_BAD;
				hi = hexval((unsigned char)raw[i + 1]);
				lo = hexval((unsigned char)raw[i + 2]);
				if (hi < 0 || lo < 0)
					return NW_PATH_BAD;
				c = (unsigned char)(hi << 4 | lo);
				/* an encoded separator is never a plain one */
				if (c == '/')
					return NW_PATH_BAD;
				i += 3;
			} else {
				/* RFC 9112 3.2: no whitespace in a request-target;
				 * libmicrohttpd passes "GET /a b HTTP/1.1" as "/a b".
				 * Nor a fragment (RFC 9112 3.2.1): a client strips
				 * it, so a raw '#' is a malformed target (%23 is a
				 * name's '#'). */
				if (c == ' ' || c == '#')
					return NW_PATH_BAD;
				i++;
			}
			if (is_ctl(c) || c == '\\')
				return NW_PATH_BAD;
			if (seg_len < sizeof(head))
				head[seg_len] = (char)c;
			seg_len++;
			if (!overflow && seg_start + 1 + seg_len < out_size)
				out[seg_start + seg_len] = (char)c;
			else
				overflow = true;
		}

		if (seg_len == 1 && head[0] == '.') {
			/* "." : dropped; a final one leaves a trailing '/' */
			if (i == raw_len)
				trailing_slash = true;
			continue;
		}
		if (seg_len == 2 && head[0] == '.' && head[1] == '.') {
			/* "..": removes the segment kept before it (RFC 3986
			 * 5.2.4); there is nothing above the root */
			if (nseg == 0)
				return NW_PATH_BAD;
			o = pop_segment(out, seg_start, overflow, &hidden_kept);
			nseg--;
			if (i == raw_len)
				trailing_slash = true;
			continue;
		}
		if (head[0] == '.' &&
		    !(nseg == 0 && seg_len == WELL_KNOWN_LEN &&
		      memcmp(head, WELL_KNOWN, WELL_KNOWN_LEN) == 0))
			hidden_kept++;
		o = seg_start + 1 + seg_len;
		nseg++;
	}

	if (hidden_kept)
		return NW_PATH_HIDDEN;
	if (nseg == 0 || trailing_slash) {
		if (!overflow && o + 1 < out_size)
			out[o] = '/';
		else
			overflow = true;
		o++;
	}
	if (overflow)
		return NW_PATH_TOO_LONG;
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return NW_PATH_OK;
}

enum nw_path_status nw_normalize_path(const char *raw, size_t raw_len,
				      size_t max_len, char *out,
				      size_t out_size, size_t *out_len)
{
	enum nw_path_status st;

	st = normalize(raw, raw_len, max_len, out, out_size, out_len);
	if (st != NW_PATH_OK) {
		if (out && out_size)
			out[0] = '\0';
		if (out_len)
			*out_len = 0;
	}
	return st;
}

const char *nw_origin_form(const char *target)
{
	const char *p, *authority_end;

	if (strncasecmp(target, "http://", 7) == 0)
		p = target + 7;
	else if (strncasecmp(target, "https://", 8) == 0)
		p = target + 8;
	else
		return target;
	authority_end = p + strcspn(p, "/");
	if (strcspn(p, "@#") < (size_t)(authority_end - p))
		return NULL;
	return *authority_end ? authority_end : "/";
}

int nw_path_has_extension(const char *path)
{
	const char *base, *dot;

	if (path == NULL)
		return 0;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	/* "name.ext": a dot that neither starts nor ends the name */
	return dot != NULL && dot != base && dot[1] != '\0';
}
