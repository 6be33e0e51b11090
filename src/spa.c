/* The --spa rule: which missing paths get index.html. Pure: no I/O. */
#include "spa.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>
#include "charclass.h"
#include "encoding.h"
#include "urlpath.h"

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const char *token_end(const char *p)
{
	while (nw_is_tchar((unsigned char)*p))
		p++;
	return p;
}

/* p at '"': the byte after the closing quote, or NULL when unterminated. */
static const char *quoted_end(const char *p)
{
	for (p++; *p != '"'; p++) {
		if (*p == '\0' || (*p == '\\' && *++p == '\0'))
			return NULL;
	}
	return p + 1;
}

/* The end of a malformed element: the next ',' outside a quoted string. */
static const char *skip_element(const char *p)
{
	while (*p && *p != ',') {
		if (*p == '"') {
			const char *q = quoted_end(p);

			if (!q)
				return p + strlen(p);
			p = q;
		} else {
			p++;
		}
	}
	return p;
}

/*
 * One element at p: type "/" subtype *( OWS ";" OWS name "=" value ).
 * Sets *len to the length of "type/subtype" and *weight to its q in
 * thousandths (1000 without one). Returns the element's end (',' or NUL),
 * or NULL when malformed.
 */
static const char *parse_range(const char *p, size_t *len, int *weight)
{
	const char *start = p, *e = token_end(p), *name;

	if (e == p || *e != '/')
		return NULL;
	p = e + 1;
	e = token_end(p);
	if (e == p)
		return NULL;
	*len = (size_t)(e - start);
	*weight = 1000;
	for (p = skip_ows(e); *p == ';'; p = skip_ows(p)) {
		name = skip_ows(p + 1);
		if (*name == ';' || *name == ',' || *name == '\0') {
			p = name; /* an empty parameter (RFC 9110 5.6.6) */
			continue;
		}
		e = token_end(name);
		if (e == name || *e != '=')
			return NULL;
		p = e + 1;
		if (e - name == 1 && (*name == 'q' || *name == 'Q')) {
			*weight = nw_parse_qvalue(&p);
			if (*weight < 0)
				return NULL;
		} else if (*p == '"') {
			p = quoted_end(p);
			if (!p)
				return NULL;
		} else {
			e = token_end(p);
			if (e == p)
				return NULL;
			p = e;
		}
	}
	return *p == ',' || *p == '\0' ? p : NULL;
}

bool nw_accept_lists_html(const char *accept)
{
	bool listed = false, refused = false;
	const char *p = accept, *end;
	size_t len;
	int q;

	if (!p)
		return false;
	for (;;) {
		p = skip_ows(p);
		if (*p && *p != ',') {
			end = parse_range(p, &len, &q);
			if (end && len == 9 && strncasecmp(p, "text/html", 9) == 0) {
				if (q > 0)
					listed = true;
				else
					refused = true;
			}
			p = end ? end : skip_element(p);
		}
		if (*p == '\0')
			break;
		p++; /* ',' */
	}
	return listed && !refused;
}

static bool present(const char *value)
{
	return value && value[0];
}

bool nw_spa_applies(const char *path)
{
	return strncmp(path, "/.well-known/", 13) != 0 &&
	       strcmp(path, "/.well-known") != 0;
}

bool nw_spa_fallback(const char *path, const char *fetch_mode,
		     const char *fetch_dest, const char *accept)
{
	if (!nw_spa_applies(path))
		return false;
	if (present(fetch_mode) && strcasecmp(fetch_mode, "navigate") == 0)
		return true;
	/* crawlers ask for robots.txt or sitemap.xml with text/html in
	 * Accept: a missing file must stay a 404 for them */
	if (nw_path_has_extension(path))
		return false;
	if (present(fetch_mode) || present(fetch_dest))
		return nw_accept_lists_html(accept);
	return true;
}
