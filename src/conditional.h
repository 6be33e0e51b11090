/* Conditional requests (RFC 9110 §13) and HTTP dates. Pure: no I/O. */
#ifndef NW_CONDITIONAL_H
#define NW_CONDITIONAL_H
#include <stdbool.h>
#include <time.h>

#define NW_HTTP_DATE_LEN 30 /* "Sun, 06 Nov 1994 08:49:37 GMT" + NUL */

/* Formats t as an IMF-fixdate into out (NW_HTTP_DATE_LEN bytes). */
void nw_http_date_format(time_t t, char *out);

/* Parses IMF-fixdate, RFC 850 and asctime forms. Returns false on garbage. */
bool nw_http_date_parse(const char *s, time_t *out);

/*
 * If-None-Match: true when the field value (a list of entity tags, or "*")
 * matches `etag` (a quoted strong tag such as "\"abc\"") by weak comparison.
 */
bool nw_if_none_match_matches(const char *field, const char *etag);

/*
 * Decides whether a GET/HEAD gets 304 Not Modified.
 * inm / ims: the If-None-Match / If-Modified-Since values or NULL.
 * If-Modified-Since is only evaluated when If-None-Match is absent; an
 * unparsable date is ignored. Not modified when mtime <= the given date.
 */
bool nw_not_modified(const char *inm, const char *ims, const char *etag,
		     time_t mtime);

/*
 * If-Range: true when a Range may be honoured. NULL field: true.
 * An entity tag must match strongly (a weak tag never matches);
 * an HTTP date must equal mtime exactly.
 */
bool nw_if_range_allows(const char *field, const char *etag, time_t mtime);

#endif
