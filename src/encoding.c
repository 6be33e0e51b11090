/* Accept-Encoding negotiation (RFC 9110 §12.5.3). Pure: no I/O. */
#include "encoding.h"

#include <stdbool.h>
#include <stddef.h>

#include "charclass.h"

/* Weights are kept in thousandths: q=1 is 1000, q=0.5 is 500. */
#define Q_MAX 1000
#define Q_UNSET -1

/* Index of a coding in the q table; "*" and unknown codings get their own. */
enum {
	K_IDENTITY = NW_ENC_IDENTITY,
	K_GZIP = NW_ENC_GZIP,
	K_BR = NW_ENC_BR,
	K_ZSTD = NW_ENC_ZSTD,
	K_STAR = NW_ENC_COUNT,
	K_OTHER,
	K_COUNT
};

const char *nw_enc_token(enum nw_enc e)
{
	switch (e) {
	case NW_ENC_GZIP:
		return "gzip";
	case NW_ENC_BR:
		return "br";
	case NW_ENC_ZSTD:
		return "zstd";
	default:
		return NULL;
	}
}

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

/* Case-insensitive compare of the token [s, s+n) with lower-case `lit`. */
static bool tok_eq(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (lit[i] == '\0' || lower(s[i]) != lit[i])
			return false;
	}
	return lit[n] == '\0';
}

static int classify(const char *s, size_t n)
{
	switch (n) {
	case 1:
		return s[0] == '*' ? K_STAR : K_OTHER;
	case 2:
		return tok_eq(s, n, "br") ? K_BR : K_OTHER;
	case 4:
		if (tok_eq(s, n, "gzip"))
			return K_GZIP;
		return tok_eq(s, n, "zstd") ? K_ZSTD : K_OTHER;
	case 6:
		return tok_eq(s, n, "x-gzip") ? K_GZIP : K_OTHER;
	case 8:
		return tok_eq(s, n, "identity") ? K_IDENTITY : K_OTHER;
	default:
		return K_OTHER;
	}
}

int nw_parse_qvalue(const char **pp)
{
	const char *p = *pp;
	int q, scale, ndig = 0;

	if (*p == '0') {
		q = 0;
	} else if (*p == '1') {
		q = Q_MAX;
	} else {
		return -1;
	}
	p++;
	if (*p == '.') {
		p++;
		scale = 100;
		while (*p >= '0' && *p <= '9') {
			if (++ndig > 3)
				return -1;
			if (q == Q_MAX) {
				if (*p != '0')
					return -1;
			} else {
				q += (*p - '0') * scale;
			}
			scale /= 10;
			p++;
		}
	}
	*pp = p;
	return q;
}

int nw_negotiate_encoding(const char *accept, unsigned available)
{
	/* Q_UNSET until a coding is named; the highest mention wins. */
	int q[K_COUNT] = { Q_UNSET, Q_UNSET, Q_UNSET, Q_UNSET, Q_UNSET, Q_UNSET };
	static const int pref[NW_ENC_COUNT] = {
		NW_ENC_BR, NW_ENC_ZSTD, NW_ENC_GZIP, NW_ENC_IDENTITY
	};
	const char *p = accept;
	int best = -1, best_q = 0;
	int i;

	if (accept == NULL)
		return NW_ENC_IDENTITY;

	for (;;) {
		const char *tok;
		size_t n;
		int k, w = Q_MAX;

		/* Empty list elements and OWS are allowed (RFC 9110 §5.6.1.2). */
		while (nw_is_ows(*p) || *p == ',')
			p++;
		if (*p == '\0')
			break;

		tok = p;
		while (nw_is_tchar((unsigned char)*p))
			p++;
		n = (size_t)(p - tok);
		if (n == 0)
			return NW_ENC_IDENTITY; /* garbage: treat as absent */
		k = classify(tok, n);

		while (nw_is_ows(*p))
			p++;
		if (*p == ';') {
			/* weight = OWS ";" OWS "q=" qvalue */
			p++;
			while (nw_is_ows(*p))
				p++;
			if ((*p != 'q' && *p != 'Q') || p[1] != '=')
				return NW_ENC_IDENTITY;
			p += 2;
			w = nw_parse_qvalue(&p);
			if (w < 0)
				return NW_ENC_IDENTITY;
			while (nw_is_ows(*p))
				p++;
		}
		if (*p != ',' && *p != '\0')
			return NW_ENC_IDENTITY;

		if (w > q[k])
			q[k] = w;
	}

	/* Resolve the effective weight of every coding we can produce. */
	for (i = 0; i < NW_ENC_COUNT; i++) {
		int e = pref[i], w;

		if (e != NW_ENC_IDENTITY && !(available & NW_ENC_BIT(e)))
			continue;
		w = q[e];
		if (w == Q_UNSET)
			w = q[K_STAR];
		if (w == Q_UNSET) {
			/*
			 * Unnamed and no "*": a content coding is not
			 * acceptable; identity is, but only as a last resort
			 * (it loses to any coding the client did name).
			 * Identity comes last in pref[], so best is final.
			 */
			if (e == NW_ENC_IDENTITY && best < 0)
				best = e;
			continue;
		}
		if (w > best_q) {
			best_q = w;
			best = e;
		}
	}
	return best;
}
