/*
 * Character classes of the HTTP grammar, as bit sets over ASCII: a test is
 * one shift and mask, which matters per byte of every request. tchar, which
 * every header name of every request goes through, is a table: one load a
 * byte. Pure.
 */
#ifndef NW_CHARCLASS_H
#define NW_CHARCLASS_H
#include <stdbool.h>
#include <stdint.h>

/* Bits 0-63 and 64-127 of a class; bytes >= 0x80 are in none. */
struct nw_charclass {
	uint64_t lo, hi;
};

/* The bytes of a Host field (RFC 3986 3.2.2, 3.2.3): unreserved,
 * sub-delims, '%' of pct-encoded, ':' and the brackets of an IP literal. */
#define NW_CC_HOST ((struct nw_charclass){ \
	.lo = 0x2fff7ff200000000ULL, .hi = 0x47fffffeaffffffeULL })

/* A path's bytes as sent (RFC 3986 3.3): pchar (unreserved, sub-delims,
 * ':', '@') and '/'; '%' of pct-encoded apart. */
#define NW_CC_PATH ((struct nw_charclass){ \
	.lo = 0x2fffffd200000000ULL, .hi = 0x47fffffe87ffffffULL })

/* A query's bytes (RFC 3986 3.4): those of a path and '?'. */
#define NW_CC_QUERY ((struct nw_charclass){ \
	.lo = 0xafffffd200000000ULL, .hi = 0x47fffffe87ffffffULL })

/* OWS (RFC 9110 5.6.3): space or horizontal tab. */
static inline bool nw_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Branch-free: the word by bit 6, the bit by bits 0-5, none with bit 7. */
static inline bool nw_cc_has(struct nw_charclass cc, unsigned char c)
{
	uint64_t w = (c & 64) ? cc.hi : cc.lo;

	return ((w >> (c & 63)) & ((uint64_t)(c >> 7) ^ 1)) != 0;
}

/* tchar (RFC 9110 5.6.2): ALPHA DIGIT ! # $ % & ' * + - . ^ _ ` | ~ */
static const bool nw_tchar[256] = {
	['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
	['!'] = true, ['#'] = true, ['$'] = true, ['%'] = true, ['&'] = true,
	['\''] = true, ['*'] = true, ['+'] = true, ['-'] = true, ['.'] = true,
	['^'] = true, ['_'] = true, ['`'] = true, ['|'] = true, ['~'] = true,
};

static inline bool nw_is_tchar(unsigned char c)
{
	return nw_tchar[c];
}

#endif
