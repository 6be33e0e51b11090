/*
 * The query string of the request a connection is reading, kept by
 * nano-web instead of libmicrohttpd.
 *
 * libmicrohttpd 0.9.75 parses a query into one record per parameter in the
 * connection's memory pool: a few hundred short parameters exhaust it, and
 * it then leaves the request unanswered until the connection times out.
 * nano-web needs the query only as sent (a check for control bytes, the URL
 * length limit, the directory redirect), so its URI log callback, which
 * libmicrohttpd calls before it parses the query, takes the query out of the
 * request target with nw_query_take(). Pure.
 */
#ifndef NW_QUERY_H
#define NW_QUERY_H
#include <stdbool.h>
#include <stddef.h>

struct nw_query {
	char *buf;    /* the bytes after the first '?', NUL-terminated */
	size_t len;
	size_t cap;
	bool has;     /* the request target had a '?' */
	bool failed;  /* out of memory copying it */
};

/*
 * Copies the query of target (NULL: none) into q, then ends target's query
 * right after its '?': a parser looking for one finds it empty. Returns
 * false when out of memory (q->failed).
 */
bool nw_query_take(struct nw_query *q, char *target);

/* Whether the query holds a control byte or a '#', which cannot be in a
 * request-target (RFC 9112 3.2, 3.2.1: a fragment is never sent). */
bool nw_query_bad(const struct nw_query *q);

/* Frees what q holds (q itself stays, empty). */
void nw_query_clear(struct nw_query *q);
/* Frees q and what it holds. */
void nw_query_free(struct nw_query *q);

#endif
