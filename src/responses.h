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

/* Per-resource data the HTTP layer hangs on nw_resource.server_data. */
struct nw_resource_responses {
	struct MHD_Response *not_modified[NW_ENC_COUNT]; /* 304 */
	struct MHD_Response *not_found[NW_ENC_COUNT]; /* only for the 404.html resource */
};

/*
 * Prepares s for its responses (the 404 page's are built now, the others on
 * first use) and sets s->server_release. Returns false (with nothing left
 * allocated) when out of memory or when libmicrohttpd refuses a configured
 * header.
 */
bool nw_responses_build(struct nw_snapshot *s, const struct nw_config *cfg);

/* The 200 response of variant enc of in-memory r, built on first use; NULL
 * when out of memory (or r has no such variant, or is served from disk). */
struct MHD_Response *nw_response_ok(const struct nw_config *cfg,
				    const struct nw_resource *r,
				    enum nw_enc enc);

/* The 304 response of variant enc of r (its own ETag), built on first use;
 * NULL when out of memory. */
struct MHD_Response *nw_response_not_modified(const struct nw_config *cfg,
					      const struct nw_resource *r,
					      enum nw_enc enc);

/* Adds the security headers (and configured extra headers) to resp. */
bool nw_add_security_headers(struct MHD_Response *resp,
			     const struct nw_config *cfg);

/*
 * Adds the representation headers of variant enc of r (Content-Type,
 * Content-Encoding, Vary, ETag, Last-Modified, Cache-Control) to resp.
 * with_encoding=false leaves out Content-Encoding (ranges of identity).
 */
bool nw_add_resource_headers(struct MHD_Response *resp,
			     const struct nw_resource *r, enum nw_enc enc);

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
 * "Content-Length: 0" libmicrohttpd adds, the empty line.
 */
bool nw_response_not_modified_head(const struct nw_config *cfg,
				   const struct nw_resource *r, enum nw_enc enc,
				   const char *date, struct strbuf *out);

#endif
