/* Conditional requests (RFC 9110 §13) and HTTP dates. Pure: no I/O. */
#ifndef NW_CONDITIONAL_H
#define NW_CONDITIONAL_H
#include <stdbool.h>
#include <time.h>

#define NW_HTTP_DATE_LEN 30 /* "Sun, 06 Nov 1994 08:49:37 GMT" + NUL */

/* Formats t as an IMF-fixdate into out (NW_HTTP_DATE_LEN bytes, NUL
 * terminated). Times outside years 0000..9999 are clamped. */
void nw_http_date_format(time_t t, char *out);

/*
 * Parses IMF-fixdate, RFC 850 and asctime forms. Returns false on garbage.
 * Names are matched case-insensitively, surrounding OWS is skipped, the
 * weekday is not cross-checked, fields are range-checked (Feb 29 only in
 * leap years; second 60 allowed). RFC 850 two-digit years: 70..99 mean
 * 19xx, 00..69 mean 20xx. *out is only written on success (out may be NULL).
 */
bool nw_http_date_parse(const char *s, time_t *out);

/*
 * If-None-Match: true when the field value (a list of entity tags, or "*")
 * matches `etag` (a quoted strong tag such as "\"abc\"") by weak comparison.
 * "*" matches anything (even a NULL etag) but must stand alone. A malformed
 * field (an unquoted tag, junk between tags) never matches.
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
 * If-Match: true when the field value is "*" or lists an entity tag equal to
 * `etag` by strong comparison (weak tags, ours or theirs, never match).
 * A malformed field never matches.
 */
bool nw_if_match_matches(const char *field, const char *etag);

/* Outcome of the preconditions of a GET or HEAD (RFC 9110 13.2.2). */
enum nw_precondition {
	NW_PRECOND_PROCEED = 0,      /* go on (Range, If-Range next) */
	NW_PRECOND_FAILED = 412,     /* If-Match or If-Unmodified-Since false */
	NW_PRECOND_NOT_MODIFIED = 304
};

/* The conditional fields of a request, NULL when absent (or, for the
 * dates, when sent more than once: a list is not a valid HTTP-date). */
struct nw_preconditions {
	const char *if_match;
	const char *if_unmodified_since;
	const char *if_none_match;
	const char *if_modified_since;
};

/*
 * Evaluates the preconditions in the order of RFC 9110 13.2.2: If-Match,
 * else If-Unmodified-Since (an unparsable date is ignored; 412 when mtime
 * is later), then nw_not_modified().
 */
enum nw_precondition nw_evaluate_preconditions(const struct nw_preconditions *p,
					       const char *etag, time_t mtime);

/*
 * If-Range: true when a Range may be honoured. NULL field: true.
 * An entity tag must match strongly (a weak tag never matches);
 * an HTTP date must equal mtime exactly.
 */
bool nw_if_range_allows(const char *field, const char *etag, time_t mtime);

#endif
