/* Range header parsing (RFC 9110 §14). Pure: no I/O. */
#ifndef NW_RANGE_H
#define NW_RANGE_H
#include <stdint.h>
#include <stddef.h>

struct nw_range {
	uint64_t first; /* inclusive */
	uint64_t last;  /* inclusive */
};

enum nw_range_result {
	NW_RANGE_IGNORE = 0,        /* absent, malformed, other unit, or several ranges: send 200 */
	NW_RANGE_SINGLE = 1,        /* one satisfiable range in *out: send 206 */
	NW_RANGE_UNSATISFIABLE = 2  /* well-formed but none satisfiable: send 416 */
};

/*
 * Parses a Range field value against a representation of `length` bytes.
 * Accepts "bytes=a-b", "bytes=a-", "bytes=-n" (whitespace around commas
 * allowed). b is clamped to length-1. Several ranges: if they are all
 * satisfiable the result is NW_RANGE_IGNORE (nano-web sends the full 200;
 * multipart/byteranges is not produced); if none is satisfiable,
 * NW_RANGE_UNSATISFIABLE. A syntactically invalid value is NW_RANGE_IGNORE.
 * "bytes=-0" and first > last are unsatisfiable / invalid per the RFC.
 *
 * Details: the unit is case-insensitive ("Bytes="); no whitespace around
 * '=' or '-'; empty list elements are skipped; one malformed element makes
 * the whole field NW_RANGE_IGNORE. Numbers of any length are accepted and
 * compared exactly (no overflow): a first-pos beyond 2^64-1 is simply
 * unsatisfiable, a huge last-pos is clamped, a huge suffix-length means the
 * whole representation. Several ranges of which only some are satisfiable
 * give NW_RANGE_IGNORE. A zero-length representation always gives
 * NW_RANGE_IGNORE (the empty 200 is sent; never 416). `out` may be NULL.
 */
enum nw_range_result nw_parse_range(const char *value, uint64_t length,
				    struct nw_range *out);

#endif
