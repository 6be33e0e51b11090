/* Accept-Encoding negotiation (RFC 9110 §12.5.3). Pure: no I/O. */
#ifndef NW_ENCODING_H
#define NW_ENCODING_H

enum nw_enc {
	NW_ENC_IDENTITY = 0,
	NW_ENC_GZIP = 1,
	NW_ENC_BR = 2,
	NW_ENC_ZSTD = 3,
	NW_ENC_COUNT = 4
};

#define NW_ENC_BIT(e) (1u << (e))

/* Content-Encoding token for e ("gzip", "br", "zstd"), or NULL for identity. */
const char *nw_enc_token(enum nw_enc e);

/*
 * Picks the representation to send. `accept` is the Accept-Encoding field
 * value (NULL when the header is absent: identity). `available` is a mask of
 * NW_ENC_BIT()s the resource has; identity is always available.
 * Highest q wins; ties go br > zstd > gzip > identity. q=0 excludes a coding;
 * "*" covers every coding not named; "identity;q=0" or "*;q=0" (without a
 * positive identity) excludes identity.
 * Returns the chosen encoding, or -1 when nothing available is acceptable
 * (the caller answers 406).
 * A malformed field (bad q-value, garbage) is treated as absent.
 *
 * Details: tokens are case-insensitive and "x-gzip" means gzip. The only
 * parameter allowed is the weight (";q=", "Q=" too, no spaces around '=');
 * any other parameter is malformed. A qvalue is "0", "0.", "0.d", "0.dd",
 * "0.ddd", "1", "1." or "1.0".."1.000". Empty list elements are skipped.
 * A coding named twice gets the highest of its weights. Identity that is
 * neither named nor covered by "*" is acceptable only as a last resort: it
 * loses to any coding with a positive weight. An empty field value ("")
 * therefore selects identity. Single pass, no allocation.
 */
int nw_negotiate_encoding(const char *accept, unsigned available);

/*
 * Parses a qvalue (RFC 9110 §12.4.2) at *pp into thousandths:
 *   qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
 * Advances *pp past it. Returns -1 when malformed. What follows it is the
 * caller's to check ("0.5x" parses as 500 with *pp at 'x').
 */
int nw_parse_qvalue(const char **pp);

#endif
