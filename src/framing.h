/* Request framing and field-syntax checks (RFC 9112). Pure: no I/O. */
#ifndef NW_FRAMING_H
#define NW_FRAMING_H
#include <stdbool.h>
#include <stddef.h>

/*
 * True when a Transfer-Encoding field value ends with the "chunked" coding
 * (case-insensitive, optional whitespace, parameters not allowed). A request
 * whose Transfer-Encoding does not end with it has no determinable length
 * and must get 400 and a closed connection (RFC 9112 6.1).
 */
bool nw_te_chunked_last(const char *value);

/* True when s (len bytes) is a token (RFC 9110 5.6.2): the syntax of a
 * field name and of a method. A name with whitespace before the colon
 * ("Host : x") is not one (RFC 9112 5.1). */
bool nw_token_ok(const char *s, size_t len);

/* True when method is one HTTP defines (RFC 9110 9.3, PATCH of RFC 5789):
 * a file server that does not allow it answers 405; any other method is
 * not implemented (501, RFC 9110 9.1). Case-sensitive, as methods are. */
bool nw_method_known(const char *method);

/* True when value is a valid Host field value: uri-host [ ":" port ] with
 * reg-name, IPv4 or bracketed IPv6 characters only (RFC 9112 3.2, RFC 3986
 * 3.2.2); empty is valid. The OWS around a field value is not part of
 * it (RFC 9110 5.5) and is skipped. Checked by character class, as the
 * kernel path does. */
bool nw_host_ok(const char *value, size_t len);

#endif
