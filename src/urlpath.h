/* Request-target path normalisation. Pure: no I/O. */
#ifndef NW_URLPATH_H
#define NW_URLPATH_H
#include <stddef.h>

enum nw_path_status {
	NW_PATH_OK = 0,
	NW_PATH_BAD = 400,     /* bad escape, NUL, ".." above the root, backslash, control char, not starting with '/' */
	NW_PATH_HIDDEN = 404,  /* a segment starting with '.', other than a leading "/.well-known/" */
	NW_PATH_TOO_LONG = 414 /* raw target longer than max_len */
};

/*
 * Turns the raw path of a request target (no query string: the caller cuts
 * at '?') into the canonical path used as the snapshot key.
 * Percent-decodes exactly once; collapses repeated '/'; drops "." segments;
 * a ".." segment (raw or decoded) removes the segment before it, as RFC 3986
 * 5.2.4 does; keeps a trailing '/'. Rejects (NW_PATH_BAD): NUL or control
 * bytes (raw or decoded), '\\' (raw or decoded), a ".." with nothing left to
 * remove (above the root), malformed %-escapes. Hidden segments left in the
 * result give NW_PATH_HIDDEN.
 * `out` must hold out_size bytes; a result that does not fit is
 * NW_PATH_TOO_LONG, as is raw_len > max_len.
 *
 * Details: the result is NUL-terminated (the NUL must fit out_size too) and
 * *out_len (out_len may be NULL) excludes it. raw need not be NUL-terminated.
 * An encoded '/' ("%2F") or '\\' ("%5C") is NW_PATH_BAD, never a separator.
 * A final "." or ".." segment leaves a trailing '/' ("/a/." -> "/a/",
 * "/a/b/.." -> "/a/"); an empty result is "/". Only a ".well-known" first segment (after "." segments are
 * dropped, matched case-sensitively) may start with '.'. Bytes >= 0x80 are
 * passed through as they are (no UTF-8 validation). Precedence when several
 * apply: raw_len > max_len, then NW_PATH_BAD, then NW_PATH_HIDDEN, then an
 * output that does not fit. Segments that overflowed out are not restored
 * by a later ".." (the result stays NW_PATH_TOO_LONG, or NW_PATH_HIDDEN if a
 * hidden segment had been kept before it). Other than on NW_PATH_OK, out holds "" (when
 * out_size > 0) and *out_len is 0.
 */
enum nw_path_status nw_normalize_path(const char *raw, size_t raw_len,
				      size_t max_len, char *out,
				      size_t out_size, size_t *out_len);

/*
 * The origin-form part of a request target. An absolute-form target
 * ("http://host:8080/a/b", scheme case-insensitive, http or https; RFC 9112
 * 3.2.2 says a server must accept it) yields its path ("/a/b"), or "/" when
 * it has none; anything else is returned unchanged. The query is already
 * cut off by the caller. NULL: an authority with userinfo ("user@host"),
 * which a server treats as an error (RFC 9110 4.2.4), or with a '#' (a
 * fragment, never sent: RFC 9112 3.2); a '#' in the path is
 * nw_normalize_path()'s to refuse.
 */
const char *nw_origin_form(const char *target);

/* True when the last segment of a canonical path has a file extension:
 * a '.' that is neither its first nor its last byte ("/a.b/c", "/.x", "/a."
 * have none). */
int nw_path_has_extension(const char *path);

#endif
