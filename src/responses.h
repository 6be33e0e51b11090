/*
 * Reusable HTTP responses for a snapshot: one libmicrohttpd response object
 * per resource variant (200) and one 304 per variant, built at the first
 * request that needs it and reused for every later one. Also renders the exact bytes of a
 * response head, as nano-web sends it, for the kernel fast path.
 */
#ifndef NW_RESPONSES_H
#define NW_RESPONSES_H
#include <stdbool.h>
#include <stdint.h>
#include <microhttpd.h>
#include "config.h"
#include "encoding.h"
#include "snapshot.h"
#include "strbuf.h"

/*
 * The --spa answers to a missing path (nw_spa_fallback()): they carry
 * Vary: NW_SPA_VARY (after Accept-Encoding when the resource varies).
 * Shared by every thread like the others, so never changed per request.
 */
struct nw_spa_responses {
	struct MHD_Response *ok[NW_ENC_COUNT];           /* index.html: 200 */
	struct MHD_Response *not_modified[NW_ENC_COUNT]; /* index.html: 304 */
	struct MHD_Response *not_found[NW_ENC_COUNT];    /* the 404 page */
};

/* Per-resource data the HTTP layer hangs on nw_resource.server_data. */
struct nw_resource_responses {
	struct MHD_Response *not_modified[NW_ENC_COUNT]; /* 304 */
	struct MHD_Response *not_found[NW_ENC_COUNT]; /* only for the 404.html resource */
	struct nw_spa_responses *spa; /* only for index.html and 404.html */
};

/*
 * Prepares s for its responses (the 404 page's are built now, the others on
 * first use) and sets s->server_release. Returns false (with nothing left
 * allocated) when out of memory or when libmicrohttpd refuses a configured
 * header.
 */
bool nw_responses_build(struct nw_snapshot *s, const struct nw_config *cfg);

/*
 * The Vary value of r's answers: "Accept-Encoding" when r varies, with
 * NW_SPA_VARY appended when spa (a --spa answer to a missing path); NULL
 * when there is nothing to send.
 */
const char *nw_vary(const struct nw_resource *r, bool spa);

/* The 200 response of variant enc of in-memory r, built on first use; NULL
 * when out of memory (or r has no such variant, or is served from disk).
 * spa: r (index.html) as the --spa answer to a missing path. */
struct MHD_Response *nw_response_ok(const struct nw_config *cfg,
				    const struct nw_resource *r,
				    enum nw_enc enc, bool spa);

/* The 304 response of variant enc of r (its own ETag), built on first use;
 * NULL when out of memory. spa as for nw_response_ok(). */
struct MHD_Response *nw_response_not_modified(const struct nw_config *cfg,
					      const struct nw_resource *r,
					      enum nw_enc enc, bool spa);

/* The 404 answer with variant enc of the 404 page r (s->not_found, in
 * memory); spa: the one of a missing path the --spa rule decided. NULL
 * when out of memory or when r has no such variant. */
struct MHD_Response *nw_response_not_found(const struct nw_config *cfg,
					   const struct nw_resource *r,
					   enum nw_enc enc, bool spa);

/* The security headers (and configured extra headers) as header lines,
 * each ending in CRLF, for an answer written without libmicrohttpd. */
bool nw_security_headers_text(const struct nw_config *cfg, struct strbuf *out);

/* Adds the security headers (and configured extra headers) to resp. */
bool nw_add_security_headers(struct MHD_Response *resp,
			     const struct nw_config *cfg);

/*
 * Adds the representation headers of variant enc of r (Content-Type,
 * Content-Encoding, Vary, ETag, Last-Modified, Cache-Control) to resp;
 * spa as for nw_response_ok().
 */
bool nw_add_resource_headers(struct MHD_Response *resp,
			     const struct nw_resource *r, enum nw_enc enc,
			     bool spa);

/*
 * Appends to `out` the exact status line and header block (ending with the
 * empty line) that nano-web sends for a 200 GET (head=false) or HEAD
 * (head=true) of variant `enc` of `r`, with `date` (an IMF-fixdate) as the
 * Date value. The body that follows a GET is r->var[enc].body.
 */
bool nw_response_head(const struct nw_config *cfg, const struct nw_resource *r,
		      enum nw_enc enc, bool head, const char *date,
		      struct strbuf *out);

/*
 * The same for the 304 of variant enc of r (GET and HEAD alike): status
 * line, Date, the headers of nw_response_not_modified(), the
 * Content-Length libmicrohttpd adds (the 200's), the empty line.
 */
bool nw_response_not_modified_head(const struct nw_config *cfg,
				   const struct nw_resource *r, enum nw_enc enc,
				   const char *date, struct strbuf *out);

#endif
