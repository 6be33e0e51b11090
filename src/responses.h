/*
 * Prebuilt HTTP responses for a snapshot: one libmicrohttpd response object
 * per resource variant (200) and one 304 per resource, built once at load
 * time and reused for every request. Also renders the exact bytes of a
 * response head, as nano-web sends it, for the kernel fast path.
 */
#ifndef NW_RESPONSES_H
#define NW_RESPONSES_H
#include <stdbool.h>
#include "config.h"
#include "encoding.h"
#include "snapshot.h"
#include "strbuf.h"

/*
 * Appends to `out` the exact status line and header block (ending with the
 * empty line) that nano-web sends for a 200 GET (head=false) or HEAD
 * (head=true) of variant `enc` of `r`, with `date` (an IMF-fixdate) as the
 * Date value. The body that follows a GET is r->var[enc].body.
 */
bool nw_response_head(const struct nw_config *cfg, const struct nw_resource *r,
		      enum nw_enc enc, bool head, const char *date,
		      struct strbuf *out);

#endif
