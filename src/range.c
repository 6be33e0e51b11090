/* Range header parsing (RFC 9110 §14). Pure: no I/O. */
#include "range.h"

#include <stdbool.h>

#include "charclass.h"

/* A decimal number as written: digits with the leading zeros dropped. */
struct num {
	const char *digits;
	size_t len;      /* 0 for the value zero */
	uint64_t value;  /* saturated at UINT64_MAX */
};

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads 1*DIGIT at *pp. Returns false when there is no digit. */
static bool read_num(const char **pp, struct num *n)
{
	const char *p = *pp;

	if (!is_digit(*p))
		return false;
	while (*p == '0')
		p++;
	n->digits = p;
	n->value = 0;
	while (is_digit(*p)) {
		unsigned d = (unsigned)(*p - '0');

		if (n->value > (UINT64_MAX - d) / 10)
			n->value = UINT64_MAX;
		else
			n->value = n->value * 10 + d;
		p++;
	}
	n->len = (size_t)(p - n->digits);
	*pp = p;
	return true;
}

/* Exact comparison, also for numbers that do not fit 64 bits. */
static int num_cmp(const struct num *a, const struct num *b)
{
	size_t i;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	for (i = 0; i < a->len; i++) {
		if (a->digits[i] != b->digits[i])
			return a->digits[i] < b->digits[i] ? -1 : 1;
	}
	return 0;
}

static bool unit_is_bytes(const char *p)
{
	static const char lit[] = "bytes=";
	int i;

	for (i = 0; lit[i]; i++) {
		char c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + ('a' - 'A'));
		if (c != lit[i])
			return false;
	}
	return true;
}

enum nw_range_result nw_parse_range(const char *value, uint64_t length,
				    struct nw_range *out)
{
	const char *p = value;
	unsigned nspecs = 0, nsat = 0;
	struct nw_range sat = { 0, 0 };

	if (value == NULL)
		return NW_RANGE_IGNORE;
	while (nw_is_ows(*p))
		p++;
	if (!unit_is_bytes(p))
		return NW_RANGE_IGNORE; /* other unit, or garbage */
	p += 6;

	/* range-set = 1#range-spec, empty elements and OWS tolerated */
	for (;;) {
		struct num first, last;
		struct nw_range r = { 0, 0 };
		bool ok;

		while (nw_is_ows(*p) || *p == ',')
			p++;
		if (*p == '\0')
			break;

		if (*p == '-') {
			/* suffix-range = "-" suffix-length */
			p++;
			if (!read_num(&p, &last))
				return NW_RANGE_IGNORE;
			ok = last.value > 0 && length > 0;
			if (ok) {
				r.first = last.value >= length ?
					  0 : length - last.value;
				r.last = length - 1;
			}
		} else {
			/* int-range = first-pos "-" [ last-pos ] */
			if (!read_num(&p, &first) || *p != '-')
				return NW_RANGE_IGNORE;
			p++;
			if (is_digit(*p)) {
				read_num(&p, &last);
				if (num_cmp(&first, &last) > 0)
					return NW_RANGE_IGNORE;
			} else {
				last.value = UINT64_MAX;
			}
			ok = first.value < length;
			if (ok) {
				r.first = first.value;
				r.last = last.value < length ?
					 last.value : length - 1;
			}
		}

		while (nw_is_ows(*p))
			p++;
		if (*p != ',' && *p != '\0')
			return NW_RANGE_IGNORE;

		nspecs++;
		if (ok) {
			nsat++;
			sat = r;
		}
	}

	if (nspecs == 0)
		return NW_RANGE_IGNORE; /* "bytes=" */
	if (length == 0)
		return NW_RANGE_IGNORE; /* nothing to slice: plain 200 */
	if (nsat == 0)
		return NW_RANGE_UNSATISFIABLE;
	if (nspecs > 1)
		return NW_RANGE_IGNORE;
	if (out)
		*out = sat;
	return NW_RANGE_SINGLE;
}
