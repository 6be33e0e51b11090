/* The --spa rule: which missing paths get index.html. Pure: no I/O. */
#ifndef NW_SPA_H
#define NW_SPA_H
#include <stdbool.h>

/*
 * The request fields nw_spa_fallback() reads, as a Vary value. Every answer
 * it decides (index.html or 404) carries it: the same path gets either,
 * depending on them.
 */
#define NW_SPA_VARY "Sec-Fetch-Mode, Sec-Fetch-Dest, Accept"

/*
 * Whether the missing canonical `path` is answered with index.html, from
 * the request's Sec-Fetch-Mode, Sec-Fetch-Dest and Accept values (NULL when
 * absent; an empty value counts as absent). The first rule that applies:
 *   0. under /.well-known/ (RFC 8615: read by programs, an ACME client or
 *      an OS fetching app links, never an app route): no;
 *   1. Sec-Fetch-Mode "navigate" (any case): yes, whatever the path
 *      (a browser opening /users/jane.doe);
 *   2. the last segment has a file extension (nw_path_has_extension): no
 *      (a missing asset, or robots.txt asked for by a crawler);
 *   3. Sec-Fetch-Mode or Sec-Fetch-Dest present (a browser's subresource
 *      or fetch()): yes iff Accept lists text/html (nw_accept_lists_html);
 *   4. else (curl, crawlers, older clients): yes.
 */
bool nw_spa_fallback(const char *path, const char *fetch_mode,
		     const char *fetch_dest, const char *accept);

/* Whether, under --spa, the answer to the missing canonical `path`
 * depends on the request's fields (rules 1-4): false under /.well-known/
 * (rule 0: always 404, so that 404 carries neither NW_SPA_VARY nor the
 * SPA 404's no-store). */
bool nw_spa_applies(const char *path);

/*
 * True when the Accept field value lists the media range text/html
 * (case-insensitive, with any parameters) with a weight above 0, and no
 * text/html element has q=0 (a refusal wins). Wildcard ranges (any type,
 * or text with any subtype) do not count. Elements are comma-separated
 * with optional whitespace; parameters are tokens or quoted strings; the
 * weight is a qvalue as in nw_parse_qvalue(). A malformed element (no
 * subtype, bad q, garbage) is skipped, the rest of the list still counts.
 * NULL or "" is false.
 */
bool nw_accept_lists_html(const char *accept);

#endif
