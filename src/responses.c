#include "responses.h"
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "mime.h"
#include "spa.h"

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
			if (!nw_config_extra_header(cfg, sec[i].name) &&
			    !optional(fn, ctx, sec[i].name, sec[i].value))
				return false;
	}
	for (i = 0; i < cfg->n_extra_headers; i++)
		if (!fn(ctx, cfg->extra_headers[i].name,
			cfg->extra_headers[i].value))
			return false;
	return true;
}

const char *nw_vary(const struct nw_resource *r, bool spa)
{
	if (spa)
		return nw_resource_varies(r) ? "Accept-Encoding, " NW_SPA_VARY :
					       NW_SPA_VARY;
	return nw_resource_varies(r) ? "Accept-Encoding" : NULL;
}

/* The representation headers of one variant, in the order they are sent. */
static bool emit_resource_headers(const struct nw_resource *r, enum nw_enc enc,
				  bool ranges, bool spa, header_fn fn,
				  void *ctx)
{
	const char *token = nw_enc_token(enc);

	if (!fn(ctx, "Content-Type", r->content_type))
		return false;
	if (token && !fn(ctx, "Content-Encoding", token))
		return false;
	if (!optional(fn, ctx, "Vary", nw_vary(r, spa)))
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
				      enum nw_enc enc, bool spa, header_fn fn,
				      void *ctx)
{
	return optional(fn, ctx, "Vary", nw_vary(r, spa)) &&
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
			     const struct nw_resource *r, enum nw_enc enc,
			     bool spa)
{
	return emit_resource_headers(r, enc, false, spa, mhd_header, resp);
}

static struct MHD_Response *build_ok(const struct nw_config *cfg,
				     const struct nw_resource *r,
				     enum nw_enc enc, bool spa)
{
	const struct nw_variant *v = &r->var[enc];
	struct MHD_Response *resp;

	resp = NULL;
	if (v->fd_plus1) {
		/* sent by sendfile; libmicrohttpd closes its own descriptor */
		int fd = fcntl(v->fd_plus1 - 1, F_DUPFD_CLOEXEC, 0);

		resp = fd < 0 ? NULL : MHD_create_response_from_fd64(v->len, fd);
		if (!resp && fd >= 0)
			close(fd);
	}
	if (!resp) /* no memfd, or no descriptor left: from the mapping */
		resp = MHD_create_response_from_buffer((size_t)v->len,
						       (void *)v->body,
						       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return NULL;
	if (!emit_resource_headers(r, enc, true, spa, mhd_header, resp) ||
	    !emit_security_headers(cfg, mhd_header, resp)) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

/* Never called: libmicrohttpd sends no body with a 304. */
static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_OF_STREAM;
}

/*
 * Of the 200's size: libmicrohttpd 0.9.75 writes a Content-Length in every
 * 304, from the response's size, and a 304's must be the 200's (RFC 9110
 * 8.6). A callback, not the body: an on-disk file has none in memory.
 */
static struct MHD_Response *build_not_modified(const struct nw_config *cfg,
					       const struct nw_resource *r,
					       enum nw_enc enc, bool spa)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_callback(r->var[enc].len, 4096,
						 no_body, NULL, NULL);
	if (!resp)
		return NULL;
	if (!emit_not_modified_headers(cfg, r, enc, spa, mhd_header, resp)) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

/* The 404 page: the body of 404.html, with no validators and no caching. */
static struct MHD_Response *build_not_found(const struct nw_config *cfg,
					    const struct nw_resource *r,
					    enum nw_enc enc, bool spa)
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
	    !optional(mhd_header, resp, "Vary", nw_vary(r, spa)) ||
	    /* a 404 the --spa rule decided is not stored at all: a cache
	     * that ignores Vary would give it to navigations too */
	    !mhd_header(resp, "Cache-Control", spa ? "no-store" : "no-cache") ||
	    !emit_security_headers(cfg, mhd_header, resp)) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

static void destroy_all(struct MHD_Response **resp)
{
	int e;

	for (e = 0; e < NW_ENC_COUNT; e++) {
		if (resp[e])
			MHD_destroy_response(resp[e]);
		resp[e] = NULL;
	}
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
			destroy_all(rr->not_modified);
			destroy_all(rr->not_found);
			if (rr->spa) {
				destroy_all(rr->spa->ok);
				destroy_all(rr->spa->not_modified);
				destroy_all(rr->spa->not_found);
				free(rr->spa);
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

typedef struct MHD_Response *(*build_fn)(const struct nw_config *cfg,
					 const struct nw_resource *r,
					 enum nw_enc enc, bool spa);

/* The response published in *slot, else the one build() makes. */
static struct MHD_Response *built_once(void **slot, build_fn build,
				       const struct nw_config *cfg,
				       const struct nw_resource *r,
				       enum nw_enc enc, bool spa)
{
	struct MHD_Response *resp = published(slot);

	return resp ? resp : publish(slot, build(cfg, r, enc, spa));
}

struct MHD_Response *nw_response_ok(const struct nw_config *cfg,
				    const struct nw_resource *r,
				    enum nw_enc enc, bool spa)
{
	struct nw_resource_responses *rr = r->server_data;

	if (!(r->enc_mask & NW_ENC_BIT(enc)) || r->on_disk || (spa && !rr->spa))
		return NULL;
	return built_once(spa ? (void **)&rr->spa->ok[enc] :
			  (void **)&((struct nw_resource *)r)->var[enc].server_resp,
			  build_ok, cfg, r, enc, spa);
}

struct MHD_Response *nw_response_not_modified(const struct nw_config *cfg,
					      const struct nw_resource *r,
					      enum nw_enc enc, bool spa)
{
	struct nw_resource_responses *rr = r->server_data;

	if (spa && !rr->spa)
		return NULL;
	return built_once(spa ? (void **)&rr->spa->not_modified[enc] :
			  (void **)&rr->not_modified[enc],
			  build_not_modified, cfg, r, enc, spa);
}

struct MHD_Response *nw_response_not_found(const struct nw_config *cfg,
					   const struct nw_resource *r,
					   enum nw_enc enc, bool spa)
{
	struct nw_resource_responses *rr = r->server_data;

	if (!rr || r->on_disk || !(r->enc_mask & NW_ENC_BIT(enc)))
		return NULL;
	if (!spa)
		return rr->not_found[enc]; /* built with the snapshot */
	if (!rr->spa)
		return NULL;
	return built_once((void **)&rr->spa->not_found[enc], build_not_found,
			  cfg, r, enc, true);
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
		/* --spa answers, built on first use: index.html for a missing
		 * path, and the 404 page, each with the SPA Vary */
		if (r == s->index_html || r == s->not_found) {
			rr->spa = calloc(1, sizeof *rr->spa);
			if (!rr->spa)
				goto fail;
		}
		if (r != s->not_found || r->on_disk)
			continue;
		for (e = 0; e < NW_ENC_COUNT; e++) {
			if (!(r->enc_mask & NW_ENC_BIT(e)))
				continue;
			rr->not_found[e] = build_not_found(cfg, r,
							   (enum nw_enc)e, false);
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
	       emit_resource_headers(r, enc, true, false, head_header, &h) &&
	       emit_security_headers(cfg, head_header, &h) &&
	       sb_printf(out, "Content-Length: %llu\r\n\r\n",
			 (unsigned long long)r->var[enc].len);
}

bool nw_security_headers_text(const struct nw_config *cfg, struct strbuf *out)
{
	struct head_ctx h = { out };

	return emit_security_headers(cfg, head_header, &h);
}

bool nw_response_not_modified_head(const struct nw_config *cfg,
				   const struct nw_resource *r, enum nw_enc enc,
				   const char *date, struct strbuf *out)
{
	struct head_ctx h = { out };

	return sb_printf(out, "HTTP/1.1 304 Not Modified\r\nDate: %s\r\n",
			 date) &&
	       emit_not_modified_headers(cfg, r, enc, false, head_header, &h) &&
	       sb_printf(out, "Content-Length: %llu\r\n\r\n",
			 (unsigned long long)r->var[enc].len);
}
