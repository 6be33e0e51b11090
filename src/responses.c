#include "responses.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "mime.h"

typedef bool (*header_fn)(void *ctx, const char *name, const char *value);

/* A configured header whose value may be empty: an empty value means "do not
 * send it" (libmicrohttpd refuses empty values, which would turn the response
 * into a 500). The same rule serves the userspace responses and the heads
 * rendered for the kernel path. */
static bool optional(header_fn fn, void *ctx, const char *name,
		     const char *value)
{
	return !value || !value[0] || fn(ctx, name, value);
}

static bool emit_security_headers(const struct nw_config *cfg, header_fn fn,
				  void *ctx)
{
	const struct { const char *name; const char *value; } sec[] = {
		{ "X-Content-Type-Options", cfg->content_type_options },
		{ "X-Frame-Options", cfg->frame_options },
		{ "Referrer-Policy", cfg->referrer_policy },
		{ "Strict-Transport-Security", cfg->hsts },
		{ "Permissions-Policy", cfg->permissions_policy },
		{ "X-DNS-Prefetch-Control", cfg->dns_prefetch },
		{ "Content-Security-Policy", cfg->csp },
	};
	size_t i;

	if (cfg->security_headers) {
		for (i = 0; i < sizeof sec / sizeof sec[0]; i++)
			if (!optional(fn, ctx, sec[i].name, sec[i].value))
				return false;
	}
	for (i = 0; i < cfg->n_extra_headers; i++)
		if (!fn(ctx, cfg->extra_headers[i].name,
			cfg->extra_headers[i].value))
			return false;
	return true;
}

/* The representation headers of one variant, in the order they are sent. */
static bool emit_resource_headers(const struct nw_resource *r, enum nw_enc enc,
				  bool ranges, header_fn fn, void *ctx)
{
	const char *token = nw_enc_token(enc);

	if (!fn(ctx, "Content-Type", r->content_type))
		return false;
	if (token && !fn(ctx, "Content-Encoding", token))
		return false;
	if (nw_resource_varies(r) &&
	    !fn(ctx, "Vary", "Accept-Encoding"))
		return false;
	if (!fn(ctx, "ETag", nw_variant_etag(r, enc)) ||
	    !fn(ctx, "Last-Modified", r->last_modified) ||
	    !optional(fn, ctx, "Cache-Control", r->cache_control))
		return false;
	if (ranges && !fn(ctx, "Accept-Ranges", "bytes"))
		return false;
	return true;
}

/* The headers of the 304 of r's variant enc, in the order they are sent. */
static bool emit_not_modified_headers(const struct nw_config *cfg,
				      const struct nw_resource *r,
				      enum nw_enc enc, header_fn fn, void *ctx)
{
	return (!nw_resource_varies(r) ||
		fn(ctx, "Vary", "Accept-Encoding")) &&
	       fn(ctx, "ETag", nw_variant_etag(r, enc)) &&
	       fn(ctx, "Last-Modified", r->last_modified) &&
	       optional(fn, ctx, "Cache-Control", r->cache_control) &&
	       emit_security_headers(cfg, fn, ctx);
}

static bool mhd_header(void *ctx, const char *name, const char *value)
{
	return MHD_add_response_header(ctx, name, value) == MHD_YES;
}

bool nw_add_security_headers(struct MHD_Response *resp,
			     const struct nw_config *cfg)
{
	return emit_security_headers(cfg, mhd_header, resp);
}

bool nw_add_resource_headers(struct MHD_Response *resp,
			     const struct nw_resource *r, enum nw_enc enc)
{
	return emit_resource_headers(r, enc, false, mhd_header, resp);
}

static struct MHD_Response *build_ok(const struct nw_config *cfg,
				     const struct nw_resource *r,
				     enum nw_enc enc)
{
	const struct nw_variant *v = &r->var[enc];
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer((size_t)v->len, (void *)v->body,
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return NULL;
	if (!emit_resource_headers(r, enc, true, mhd_header,
				   resp) ||
	    !emit_security_headers(cfg, mhd_header, resp)) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

static struct MHD_Response *build_not_modified(const struct nw_config *cfg,
					       const struct nw_resource *r,
					       enum nw_enc enc)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(0, (void *)"",
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return NULL;
	if (!emit_not_modified_headers(cfg, r, enc, mhd_header, resp)) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

/* The 404 page: the body of 404.html, with no validators and no caching. */
static struct MHD_Response *build_not_found(const struct nw_config *cfg,
					    const struct nw_resource *r,
					    enum nw_enc enc)
{
	const struct nw_variant *v = &r->var[enc];
	const char *token = nw_enc_token(enc);
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer((size_t)v->len, (void *)v->body,
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return NULL;
	if (!mhd_header(resp, "Content-Type", r->content_type) ||
	    (token && !mhd_header(resp, "Content-Encoding", token)) ||
	    (nw_resource_varies(r) &&
	     !mhd_header(resp, "Vary", "Accept-Encoding")) ||
	    !mhd_header(resp, "Cache-Control", "no-cache") ||
	    !emit_security_headers(cfg, mhd_header, resp)) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

static void release_responses(struct nw_snapshot *s)
{
	size_t i;
	int e;

	for (i = 0; i < s->n_res; i++) {
		struct nw_resource *r = &s->res[i];
		struct nw_resource_responses *rr = r->server_data;

		for (e = 0; e < NW_ENC_COUNT; e++) {
			if (r->var[e].server_resp)
				MHD_destroy_response(r->var[e].server_resp);
			r->var[e].server_resp = NULL;
		}
		if (rr) {
			for (e = 0; e < NW_ENC_COUNT; e++) {
				if (rr->not_modified[e])
					MHD_destroy_response(rr->not_modified[e]);
				if (rr->not_found[e])
					MHD_destroy_response(rr->not_found[e]);
			}
			free(rr);
			r->server_data = NULL;
		}
	}
}

/*
 * Responses are built on first use, not at load time: a site of 10,000
 * files has some 50,000 variants and 304s, each a libmicrohttpd response
 * with a dozen copied headers (~110 MiB, most never requested). The
 * snapshot is shared by every worker thread, so the first builder
 * publishes its response with a compare-and-swap and a loser drops its
 * copy. The slots are caches on an otherwise immutable snapshot.
 */
static struct MHD_Response *publish(void **slot, struct MHD_Response *built)
{
	void *expected = NULL;

	if (!built)
		return NULL;
	if (__atomic_compare_exchange_n(slot, &expected, built, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return built;
	MHD_destroy_response(built);
	return expected;
}

static struct MHD_Response *published(void **slot)
{
	return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
}

struct MHD_Response *nw_response_ok(const struct nw_config *cfg,
				    const struct nw_resource *r,
				    enum nw_enc enc)
{
	void **slot = (void **)&((struct nw_resource *)r)->var[enc].server_resp;
	struct MHD_Response *resp = published(slot);

	if (resp || !(r->enc_mask & NW_ENC_BIT(enc)) || r->on_disk)
		return resp;
	return publish(slot, build_ok(cfg, r, enc));
}

struct MHD_Response *nw_response_not_modified(const struct nw_config *cfg,
					      const struct nw_resource *r,
					      enum nw_enc enc)
{
	struct nw_resource_responses *rr = r->server_data;
	void **slot = (void **)&rr->not_modified[enc];
	struct MHD_Response *resp = published(slot);

	return resp ? resp : publish(slot, build_not_modified(cfg, r, enc));
}

bool nw_responses_build(struct nw_snapshot *s, const struct nw_config *cfg)
{
	struct MHD_Response *probe;
	size_t i;
	int e;

	/* The configured headers are checked now, not at the first request:
	 * libmicrohttpd refuses some values (line breaks). */
	probe = MHD_create_response_from_buffer(0, (void *)"",
						MHD_RESPMEM_PERSISTENT);
	if (!probe)
		return false;
	if (!emit_security_headers(cfg, mhd_header, probe)) {
		MHD_destroy_response(probe);
		return false;
	}
	MHD_destroy_response(probe);
	for (i = 0; i < s->n_res; i++) {
		struct nw_resource *r = &s->res[i];
		struct nw_resource_responses *rr = calloc(1, sizeof *rr);

		r->server_data = rr;
		if (!rr)
			goto fail;
		if (r != s->not_found || r->on_disk)
			continue;
		for (e = 0; e < NW_ENC_COUNT; e++) {
			if (!(r->enc_mask & NW_ENC_BIT(e)))
				continue;
			rr->not_found[e] = build_not_found(cfg, r, (enum nw_enc)e);
			if (!rr->not_found[e])
				goto fail;
		}
	}
	s->server_release = release_responses;
	return true;
fail:
	release_responses(s);
	return false;
}

struct head_ctx {
	struct strbuf *out;
};

static bool head_header(void *ctx, const char *name, const char *value)
{
	struct head_ctx *h = ctx;

	return sb_printf(h->out, "%s: %s\r\n", name, value);
}

/*
 * libmicrohttpd writes the status line, Date, the application's headers in
 * the order they were added, then Content-Length (HEAD included) and the
 * empty line. tests/integration pins this against the real server.
 */
bool nw_response_head(const struct nw_config *cfg, const struct nw_resource *r,
		      enum nw_enc enc, bool head, const char *date,
		      struct strbuf *out)
{
	struct head_ctx h = { out };

	(void)head; /* HEAD carries exactly the headers of GET */
	if (!(r->enc_mask & NW_ENC_BIT(enc)) || r->on_disk)
		return false;
	return sb_printf(out, "HTTP/1.1 200 OK\r\nDate: %s\r\n", date) &&
	       emit_resource_headers(r, enc, true, head_header, &h) &&
	       emit_security_headers(cfg, head_header, &h) &&
	       sb_printf(out, "Content-Length: %llu\r\n\r\n",
			 (unsigned long long)r->var[enc].len);
}

bool nw_response_not_modified_head(const struct nw_config *cfg,
				   const struct nw_resource *r, enum nw_enc enc,
				   const char *date, struct strbuf *out)
{
	struct head_ctx h = { out };

	return sb_printf(out, "HTTP/1.1 304 Not Modified\r\nDate: %s\r\n",
			 date) &&
	       emit_not_modified_headers(cfg, r, enc, head_header, &h) &&
	       sb_puts(out, "Content-Length: 0\r\n\r\n");
}
