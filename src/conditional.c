/* Conditional requests (RFC 9110 §13) and HTTP dates. Pure: no I/O. */
#include "conditional.h"

#include <stdint.h>
#include <string.h>

static const char day_names[7][4] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char day_names_long[7][10] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday"
};
static const char month_names[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* Seconds from 1970-01-01 to 0000-01-01 and to 9999-12-31 23:59:59. */
#define MIN_TIME (-62167219200LL)
#define MAX_TIME (253402300799LL)

static inline int floor_div(int64_t a, int64_t b, int64_t *rem)
{
	int64_t q = a / b, r = a % b;

	if (r < 0) {
		r += b;
		q--;
	}
	*rem = r;
	return (int)q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static void put_digits(char *p, int v, int n)
{
	while (n--) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void nw_http_date_format(time_t t, char *out)
{
	int64_t s = (int64_t)t, secs, y;
	int days, m, d, wd;
	int64_t wrem;

	if (s < MIN_TIME)
		s = MIN_TIME;
	if (s > MAX_TIME)
		s = MAX_TIME;
	days = floor_div(s, 86400, &secs);
	civil_from_days(days, &y, &m, &d);
	/* 1970-01-01 was a Thursday */
	floor_div((int64_t)days + 4, 7, &wrem);
	wd = (int)wrem;
	/* "Sun, 06 Nov 1994 08:49:37 GMT", written by hand: every field has a
	 * fixed width once the year is clamped to 0..9999. */
	memcpy(out, day_names[wd], 3);
	out[3] = ',';
	out[4] = ' ';
	put_digits(out + 5, d, 2);
	out[7] = ' ';
	memcpy(out + 8, month_names[m - 1], 3);
	out[11] = ' ';
	put_digits(out + 12, (int)y, 4);
	out[16] = ' ';
	put_digits(out + 17, (int)(secs / 3600), 2);
	out[19] = ':';
	put_digits(out + 20, (int)(secs / 60 % 60), 2);
	out[22] = ':';
	put_digits(out + 23, (int)(secs % 60), 2);
	memcpy(out + 25, " GMT", 5);
}

static inline const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

/* Case-insensitive match of `lit` at *pp; advances on success. */
static bool eat(const char **pp, const char *lit)
{
	const char *p = *pp;

	while (*lit) {
		if (lower(*p) != lower(*lit))
			return false;
		p++;
		lit++;
	}
	*pp = p;
	return true;
}

/* Exactly n digits. */
static bool digits(const char **pp, int n, int *out)
{
	const char *p = *pp;
	int v = 0;

	while (n--) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p++ - '0');
	}
	*out = v;
	*pp = p;
	return true;
}

static int month(const char **pp)
{
	int i;

	for (i = 0; i < 12; i++) {
		if (eat(pp, month_names[i]))
			return i + 1;
	}
	return 0;
}

static bool day_name(const char **pp, bool long_form)
{
	int i;

	for (i = 0; i < 7; i++) {
		if (eat(pp, long_form ? day_names_long[i] : day_names[i]))
			return true;
	}
	return false;
}

/* hour ":" minute ":" second */
static bool time_of_day(const char **pp, int *h, int *mi, int *s)
{
	return digits(pp, 2, h) && eat(pp, ":") && digits(pp, 2, mi) &&
	       eat(pp, ":") && digits(pp, 2, s);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool make_time(int64_t y, int m, int d, int h, int mi, int s,
		      time_t *out)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int64_t t;

	if (m < 1 || m > 12 || d < 1)
		return false;
	if (d > mdays[m - 1] + (m == 2 && is_leap(y)))
		return false;
	/* second 60 is a leap second; it folds into the next minute */
	if (h > 23 || mi > 59 || s > 60)
		return false;
	t = days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + s;
	if ((time_t)t != t)
		return false; /* does not fit a 32-bit time_t */
	*out = (time_t)t;
	return true;
}

bool nw_http_date_parse(const char *s, time_t *out)
{
	const char *start, *p;
	int y = 0, m, d, h, mi, sec;
	time_t t;

	if (s == NULL)
		return false;
	start = p = skip_ows(s);

	if (day_name(&p, false) && eat(&p, ", ")) {
		/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		if (!digits(&p, 2, &d) || !eat(&p, " ") ||
		    !(m = month(&p)) || !eat(&p, " ") ||
		    !digits(&p, 4, &y) || !eat(&p, " ") ||
		    !time_of_day(&p, &h, &mi, &sec) || !eat(&p, " GMT"))
			return false;
	} else if (p = start, day_name(&p, true) && eat(&p, ", ")) {
		/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
		if (!digits(&p, 2, &d) || !eat(&p, "-") ||
		    !(m = month(&p)) || !eat(&p, "-") ||
		    !digits(&p, 2, &y) || !eat(&p, " ") ||
		    !time_of_day(&p, &h, &mi, &sec) || !eat(&p, " GMT"))
			return false;
		/* A fixed pivot instead of "50 years from now": 70..99 are
		 * 19xx, 00..69 are 20xx. */
		y += y >= 70 ? 1900 : 2000;
	} else {
		/* asctime: Sun Nov  6 08:49:37 1994 */
		p = start;
		if (!day_name(&p, false) || !eat(&p, " ") ||
		    !(m = month(&p)) || !eat(&p, " "))
			return false;
		if (*p == ' ') {
			p++;
			if (!digits(&p, 1, &d))
				return false;
		} else if (!digits(&p, 2, &d)) {
			return false;
		}
		if (!eat(&p, " ") || !time_of_day(&p, &h, &mi, &sec) ||
		    !eat(&p, " ") || !digits(&p, 4, &y))
			return false;
	}
	if (*skip_ows(p) != '\0')
		return false;
	if (!make_time(y, m, d, h, mi, sec, &t))
		return false;
	if (out)
		*out = t;
	return true;
}

/* ---- entity tags ---- */

struct etag {
	const char *opaque; /* the quoted string, quotes included */
	size_t len;
	bool weak;
};

static inline bool is_etagc(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

/* entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE */
static bool parse_etag(const char **pp, struct etag *e)
{
	const char *p = *pp;

	e->weak = false;
	if (p[0] == 'W' && p[1] == '/') {
		e->weak = true;
		p += 2;
	}
	if (*p != '"')
		return false;
	e->opaque = p++;
	while (is_etagc((unsigned char)*p))
		p++;
	if (*p != '"')
		return false;
	p++;
	e->len = (size_t)(p - e->opaque);
	*pp = p;
	return true;
}

/* The resource's own tag; false when it is not a valid entity-tag. */
static bool own_etag(const char *etag, struct etag *e)
{
	const char *p = etag;

	if (etag == NULL || !parse_etag(&p, e))
		return false;
	return *p == '\0';
}

static bool opaque_eq(const struct etag *a, const struct etag *b)
{
	return a->len == b->len && memcmp(a->opaque, b->opaque, a->len) == 0;
}

/*
 * An If-None-Match or If-Match field against our etag: "*" alone, or a
 * list of entity tags compared weakly (opaque-tags equal) or strongly
 * (neither tag weak). A malformed field never matches.
 */
static bool tag_list_matches(const char *field, const char *etag, bool strong)
{
	struct etag mine, e;
	bool have_mine, match = false;
	const char *p;

	if (field == NULL)
		return false;
	p = skip_ows(field);
	if (*p == '*')
		return *skip_ows(p + 1) == '\0';

	have_mine = own_etag(etag, &mine) && !(strong && mine.weak);
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (!parse_etag(&p, &e))
			return false;
		p = skip_ows(p);
		if (*p != ',' && *p != '\0')
			return false;
		if (have_mine && !(strong && e.weak) && opaque_eq(&mine, &e))
			match = true;
	}
	return match;
}

bool nw_if_none_match_matches(const char *field, const char *etag)
{
	return tag_list_matches(field, etag, false);
}

bool nw_if_match_matches(const char *field, const char *etag)
{
	return tag_list_matches(field, etag, true);
}

bool nw_not_modified(const char *inm, const char *ims, const char *etag,
		     time_t mtime)
{
	time_t since;

	if (inm != NULL)
		return nw_if_none_match_matches(inm, etag);
	if (ims == NULL || !nw_http_date_parse(ims, &since))
		return false;
	return mtime <= since;
}

enum nw_precondition nw_evaluate_preconditions(const struct nw_preconditions *p,
					       const char *etag, time_t mtime)
{
	time_t since;

	if (p->if_match != NULL) {
		if (!nw_if_match_matches(p->if_match, etag))
			return NW_PRECOND_FAILED;
	} else if (p->if_unmodified_since != NULL &&
		   nw_http_date_parse(p->if_unmodified_since, &since) &&
		   mtime > since) {
		return NW_PRECOND_FAILED;
	}
	if (nw_not_modified(p->if_none_match, p->if_modified_since, etag, mtime))
		return NW_PRECOND_NOT_MODIFIED;
	return NW_PRECOND_PROCEED;
}

bool nw_if_range_allows(const char *field, const char *etag, time_t mtime)
{
	const char *p;
	struct etag mine, e;
	time_t t;

	if (field == NULL)
		return true;
	p = skip_ows(field);
	if (*p == '"' || (p[0] == 'W' && p[1] == '/')) {
		if (!parse_etag(&p, &e) || *skip_ows(p) != '\0')
			return false;
		if (e.weak || !own_etag(etag, &mine) || mine.weak)
			return false;
		return opaque_eq(&mine, &e);
	}
	if (!nw_http_date_parse(p, &t))
		return false;
	return t == mtime;
}
