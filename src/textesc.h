/* Escaping text from requests and file names for the logs. Pure. */
#ifndef NW_TEXTESC_H
#define NW_TEXTESC_H
#include <stdbool.h>
#include <stddef.h>

/*
 * s as the inside of a JSON string into out (outsz bytes, NUL included;
 * cut at a character boundary when it does not fit): '"' and '\\'
 * escaped, control bytes and DEL as \u00XX, and what is not valid UTF-8
 * (stray bytes, overlongs, surrogates) as \ufffd, so every line parses.
 * Returns the length written.
 */
size_t nw_json_escape(const char *s, char *out, size_t outsz);

/*
 * s for a console log line: control bytes, DEL and '\\' as \xHH / "\\\\"
 * (no forged lines). field: one space-separated field of an access-log
 * line, so spaces and bytes >= 0x80 become \xHH too (as nginx logs them):
 * a request target cannot forge the fields after it.
 */
size_t nw_console_escape(const char *s, char *out, size_t outsz, bool field);

/* The longest prefix of s[0..len) that ends on a UTF-8 character
 * boundary: where to cut a long value. */
size_t nw_utf8_cut(const char *s, size_t len);

#endif
