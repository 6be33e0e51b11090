#include "server.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include "accesslog.h"
#include "charclass.h"
#include "conditional.h"
#include "encoding.h"
#include "log.h"
#include "range.h"
#include "query.h"
#include "responses.h"
#include "spa.h"
#include "strbuf.h"
#include "textesc.h"
#include "framing.h"
#include "headwatch.h"
#include "urlpath.h"
#include "xdp_client.h"

#define ALLOW_METHODS "GET, HEAD, OPTIONS"

struct nw_server {
	const struct nw_config *cfg;
	int listen_fd;
	uint16_t port;
	char url[128];
	struct MHD_Daemon *daemon;
	pthread_mutex_t snap_lock;
	struct nw_snapshot *current;
	pthread_mutex_t xdp_lock; /* xdp, against its free at shutdown */
	struct nw_xdp_client *xdp;
	struct nw_headwatch *headwatch; /* [limits] header_timeout */
	time_t started;
	/* The last reload's outcome, for /_health (under snap_lock). */
	time_t reload_time; /* 0: none yet */
	bool reload_ok;
	/* Prebuilt responses that do not depend on the snapshot. */
	struct MHD_Response *bad_request, *not_found, *not_allowed,
		*not_implemented, *not_acceptable, *not_acceptable_spa, *uri_too_long,
		*header_too_large, *options, *server_error,
		*precondition_failed, *changed_on_disk;
	/* the text 404 of a missing path the --spa rule decided */
	struct MHD_Response *not_found_spa;
	atomic_uint inflight;
	atomic_uint connections;
	atomic_bool stopping;
	atomic_ullong requests, bytes_sent, status_2xx, status_3xx, status_4xx,
		status_5xx;
};

/* Per-request state, only allocated when requests are logged. */
struct req_log {
	struct nw_snapshot *snap;
	struct timespec start;
	unsigned status;
	uint64_t bytes;
	enum nw_enc enc;
	char client[INET6_ADDRSTRLEN + 8];
	char method[16];
	char path[];
};

/*
 * con_cls: &first_call after the first callback when no log entry is kept;
 * then the snapshot that answered, tagged in its low bit (snapshots are
 * aligned), or, when requests are logged, a struct req_log.
 */
static long first_call; /* aligned: its low bit is clear */
#define TAG_ANSWERED(s) ((void *)((uintptr_t)(s) | 1u))
#define ANSWERED(p) (((uintptr_t)(p) & 1u) != 0)
#define UNTAG(p) ((struct nw_snapshot *)((uintptr_t)(p) & ~(uintptr_t)1u))

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static struct MHD_Response *text_response_cc(const struct nw_config *cfg,
					     const char *body, const char *cc)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return NULL;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", cc);
	nw_add_security_headers(r, cfg);
	return r;
}

static struct MHD_Response *text_response(const struct nw_config *cfg,
					  const char *body)
{
	return text_response_cc(cfg, body, "no-cache");
}

static bool build_static_responses(struct nw_server *srv)
{
	const struct nw_config *cfg = srv->cfg;

	srv->bad_request = text_response(cfg, "Bad Request\n");
	srv->not_found = text_response(cfg, "Not Found\n");
	srv->not_found_spa = text_response_cc(cfg, "Not Found\n", "no-store");
	srv->not_allowed = text_response(cfg, "Method Not Allowed\n");
	srv->not_implemented = text_response(cfg, "Not Implemented\n");
	srv->not_acceptable = text_response(cfg, "Not Acceptable\n");
	srv->not_acceptable_spa = text_response(cfg, "Not Acceptable\n");
	srv->uri_too_long = text_response(cfg, "URI Too Long\n");
	srv->header_too_large = text_response(cfg, "Request Header Fields Too Large\n");
	srv->server_error = text_response(cfg, "Internal Server Error\n");
	srv->precondition_failed = text_response(cfg, "Precondition Failed\n");
	srv->changed_on_disk = text_response_cc(cfg, "Service Unavailable\n",
						"no-store");
	srv->options = MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
	if (!srv->bad_request || !srv->not_found || !srv->not_found_spa ||
	    !srv->not_allowed || !srv->not_implemented ||
	    !srv->not_acceptable ||
	    !srv->not_acceptable_spa || !srv->uri_too_long ||
	    !srv->header_too_large || !srv->server_error ||
	    !srv->precondition_failed || !srv->changed_on_disk ||
	    !srv->options)
		return false;
	MHD_add_response_header(srv->changed_on_disk, "Retry-After", "1");
	/* after a malformed request the rest of the stream cannot be
	 * trusted (smuggling: RFC 9112 6.3, 11.2) */
	MHD_add_response_header(srv->bad_request, "Connection", "close");
	MHD_add_response_header(srv->not_found_spa, "Vary", NW_SPA_VARY);
	/* a 406 is the answer to the Accept-Encoding (and, for a path the
	 * --spa rule gave index.html, to its fields too) */
	MHD_add_response_header(srv->not_acceptable, "Vary", "Accept-Encoding");
	MHD_add_response_header(srv->not_acceptable_spa, "Vary",
				"Accept-Encoding, " NW_SPA_VARY);
	MHD_add_response_header(srv->not_allowed, "Allow", ALLOW_METHODS);
	MHD_add_response_header(srv->options, "Allow", ALLOW_METHODS);
	nw_add_security_headers(srv->options, cfg);
	return true;
}

static void destroy_static_responses(struct nw_server *srv)
{
	struct MHD_Response **all[] = {
		&srv->bad_request, &srv->not_found, &srv->not_found_spa,
		&srv->not_allowed, &srv->not_implemented,
		&srv->not_acceptable, &srv->not_acceptable_spa, &srv->uri_too_long,
		&srv->header_too_large,
		&srv->options,
		&srv->server_error, &srv->precondition_failed,
		&srv->changed_on_disk,
	};
	size_t i;

	for (i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (*all[i])
			MHD_destroy_response(*all[i]);
		*all[i] = NULL;
	}
}

static struct nw_snapshot *acquire(struct nw_server *srv)
{
	struct nw_snapshot *s;

	pthread_mutex_lock(&srv->snap_lock);
	s = srv->current;
	nw_snapshot_ref(s);
	pthread_mutex_unlock(&srv->snap_lock);
	return s;
}

struct nw_snapshot *nw_server_current(struct nw_server *srv)
{
	return acquire(srv);
}

void nw_server_swap(struct nw_server *srv, struct nw_snapshot *s)
{
	struct nw_snapshot *old;

	pthread_mutex_lock(&srv->snap_lock);
	old = srv->current;
	srv->current = s;
	srv->reload_time = time(NULL);
	srv->reload_ok = true;
	pthread_mutex_unlock(&srv->snap_lock);
	if (old)
		nw_snapshot_unref(old);
}

void nw_server_set_xdp(struct nw_server *srv, struct nw_xdp_client *xdp)
{
	pthread_mutex_lock(&srv->xdp_lock);
	srv->xdp = xdp;
	pthread_mutex_unlock(&srv->xdp_lock);
}

/* The request headers nano-web looks at, gathered in one pass. */
struct req_headers {
	const char *accept_encoding;
	struct nw_preconditions pre;
	const char *range;
	const char *if_range;
	const char *content_length;
	size_t total; /* bytes of every header line */
	unsigned hosts; /* Host field lines */
	/* Single-valued fields seen on several lines: ignored (RFC 9110
	 * 13.1.3, 14.2); a repeated If-Range fails. */
	bool ims_repeated, ius_repeated, range_repeated, if_range_repeated;
	bool bad_framing; /* a malformed field name, or a body of unknown length */
	bool list_too_long; /* a list below did not fit: 431 */
	/* Lists sent on several field lines, joined with ", " (RFC 9110 5.3) */
	char ae_joined[2048], inm_joined[2048], im_joined[2048];
};

/* A field that must appear once: NULL (ignored) once it is repeated. */
static void single(const char **slot, bool *repeated, const char *value)
{
	if (*repeated)
		return;
	if (*slot) {
		*repeated = true;
		*slot = NULL;
		return;
	}
	*slot = value;
}

/* prev (NULL, a field value, or buf itself) with ", value" appended in buf;
 * a list that would not fit keeps its first lines and sets *overflow. */
static const char *join_list(char *buf, size_t size, const char *prev,
			     const char *value, size_t vlen, bool *overflow)
{
	size_t plen;

	if (!prev)
		return value;
	plen = strlen(prev);
	if (plen + 2 + vlen >= size) {
		*overflow = true;
		return prev;
	}
	if (prev != buf)
		memcpy(buf, prev, plen);
	memcpy(buf + plen, ", ", 2);
	memcpy(buf + plen + 2, value, vlen);
	buf[plen + 2 + vlen] = '\0';
	return buf;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind,
				      const char *key, size_t klen,
				      const char *value, size_t vlen)
{
	struct req_headers *h = cls;

	(void)kind;
	h->total += klen + vlen + 4;
	if (!nw_token_ok(key, klen))
		h->bad_framing = true;
	switch (klen) {
	case 4:
		if (strcasecmp(key, "Host") == 0) {
			h->hosts++;
			if (!nw_host_ok(value ? value : "", value ? vlen : 0))
				h->bad_framing = true;
		}
		break;
	case 5:
		if (strcasecmp(key, "Range") == 0)
			single(&h->range, &h->range_repeated, value);
		break;
	case 8:
		if (strcasecmp(key, "If-Range") == 0)
			single(&h->if_range, &h->if_range_repeated, value);
		else if (strcasecmp(key, "If-Match") == 0 && value)
			h->pre.if_match = join_list(h->im_joined,
						    sizeof h->im_joined,
						    h->pre.if_match, value, vlen,
						    &h->list_too_long);
		break;
	case 13:
		if (strcasecmp(key, "If-None-Match") == 0 && value)
			h->pre.if_none_match = join_list(h->inm_joined,
							 sizeof h->inm_joined,
							 h->pre.if_none_match,
							 value, vlen,
							 &h->list_too_long);
		break;
	case 14:
		/* lines that disagree leave the body's length unknown (RFC
		 * 9112 6.3); libmicrohttpd would read by the first one */
		if (strcasecmp(key, "Content-Length") == 0 && value) {
			if (h->content_length &&
			    strcmp(h->content_length, value) != 0)
				h->bad_framing = true;
			h->content_length = value;
		}
		break;
	case 15:
		if (strcasecmp(key, "Accept-Encoding") == 0 && value)
			h->accept_encoding = join_list(h->ae_joined,
						       sizeof h->ae_joined,
						       h->accept_encoding, value,
						       vlen, &h->list_too_long);
		break;
	case 17:
		if (strcasecmp(key, "If-Modified-Since") == 0)
			single(&h->pre.if_modified_since, &h->ims_repeated,
			       value);
		else if (strcasecmp(key, "Transfer-Encoding") == 0 &&
			 !nw_te_chunked_last(value ? value : ""))
			h->bad_framing = true;
		break;
	case 19:
		if (strcasecmp(key, "If-Unmodified-Since") == 0)
			single(&h->pre.if_unmodified_since, &h->ius_repeated,
			       value);
		break;
	}
	return MHD_YES;
}

/*
 * The fields the --spa rule reads, gathered only for a missing path (the
 * hot path for existing files does not look for them). Accept lines are
 * joined like the other lists; of a repeated Sec-Fetch-Mode or
 * Sec-Fetch-Dest the first line counts, as with
 * MHD_lookup_connection_value().
 */
struct intent {
	const char *mode, *dest, *accept;
	bool accept_cut; /* only its first lines: the rule only looks for html */
	char accept_joined[512];
};

static enum MHD_Result collect_intent(void *cls, enum MHD_ValueKind kind,
				      const char *key, size_t klen,
				      const char *value, size_t vlen)
{
	struct intent *in = cls;

	(void)kind;
	if (!value)
		return MHD_YES;
	if (klen == 6 && strcasecmp(key, "Accept") == 0)
		in->accept = join_list(in->accept_joined,
				       sizeof in->accept_joined, in->accept,
				       value, vlen, &in->accept_cut);
	else if (klen == 14 && !in->mode &&
		 strcasecmp(key, "Sec-Fetch-Mode") == 0)
		in->mode = value;
	else if (klen == 14 && !in->dest &&
		 strcasecmp(key, "Sec-Fetch-Dest") == 0)
		in->dest = value;
	return MHD_YES;
}

/* Whether the missing path gets index.html under --spa. */
static bool wants_index(struct MHD_Connection *c, const char *path)
{
	struct intent in;

	/* the join buffer needs no clearing */
	in.mode = in.dest = in.accept = NULL;
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, collect_intent, &in);
	return nw_spa_fallback(path, in.mode, in.dest, in.accept);
}

/* What one request is answered with. */
struct answer {
	unsigned status;
	struct MHD_Response *resp;
	bool owned;      /* destroy after queueing */
	uint64_t bytes;  /* body bytes, for the log */
	enum nw_enc enc;
};

static void count_status(struct nw_server *srv, unsigned status, uint64_t bytes)
{
	atomic_fetch_add_explicit(&srv->requests, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&srv->bytes_sent, bytes, memory_order_relaxed);
	if (status < 300)
		atomic_fetch_add_explicit(&srv->status_2xx, 1, memory_order_relaxed);
	else if (status < 400)
		atomic_fetch_add_explicit(&srv->status_3xx, 1, memory_order_relaxed);
	else if (status < 500)
		atomic_fetch_add_explicit(&srv->status_4xx, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&srv->status_5xx, 1, memory_order_relaxed);
}

static void fixed(struct answer *a, unsigned status, struct MHD_Response *resp,
		  const char *body)
{
	a->status = status;
	a->resp = resp;
	a->owned = false;
	a->bytes = body ? strlen(body) : 0;
	a->enc = NW_ENC_IDENTITY;
}

static void json_answer(struct nw_server *srv, struct answer *a,
			struct strbuf *sb)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(sb->len, sb->buf,
					    MHD_RESPMEM_MUST_COPY);
	if (!r) {
		fixed(a, 500, srv->server_error, "Internal Server Error\n");
		return;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	nw_add_security_headers(r, srv->cfg);
	a->status = 200;
	a->resp = r;
	a->owned = true;
	a->bytes = sb->len;
	a->enc = NW_ENC_IDENTITY;
}

static void iso_time_of(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void iso_time(char *buf, size_t len)
{
	iso_time_of(time(NULL), buf, len);
}

void nw_server_note_failed_reload(struct nw_server *srv)
{
	pthread_mutex_lock(&srv->snap_lock);
	srv->reload_time = time(NULL);
	srv->reload_ok = false;
	pthread_mutex_unlock(&srv->snap_lock);
}

/* ,"last_reload":null or {"ok":...,"time":...}. Why one failed is in the
 * log only: this answer is public, and the reason names local paths. */
static void last_reload_json(struct nw_server *srv, struct strbuf *sb,
			     bool *failed)
{
	char ts[32];

	pthread_mutex_lock(&srv->snap_lock);
	*failed = srv->reload_time && !srv->reload_ok;
	if (!srv->reload_time) {
		sb_printf(sb, ",\"last_reload\":null");
	} else {
		iso_time_of(srv->reload_time, ts, sizeof ts);
		sb_printf(sb, ",\"last_reload\":{\"ok\":%s,\"time\":\"%s\"}",
			  srv->reload_ok ? "true" : "false", ts);
	}
	pthread_mutex_unlock(&srv->snap_lock);
}

static void health(struct nw_server *srv, struct nw_snapshot *s,
		   struct answer *a)
{
	struct strbuf sb = STRBUF_INIT, reload = STRBUF_INIT;
	char ts[32];
	bool failed;

	iso_time(ts, sizeof ts);
	last_reload_json(srv, &reload, &failed);
	/* still 200 after a failed reload: the last good content is served */
	sb_printf(&sb,
		  "{\"status\":\"%s\",\"time\":\"%s\",\"uptime_seconds\":%lld,"
		  "\"generation\":%llu,\"files\":%zu,\"skipped\":%zu%s}\n",
		  failed ? "degraded" : "ok", ts,
		  (long long)(time(NULL) - srv->started),
		  (unsigned long long)s->generation, s->stats.files,
		  s->stats.skipped, reload.buf ? reload.buf : "");
	json_answer(srv, a, &sb);
	sb_free(&reload);
	sb_free(&sb);
}

static void stats(struct nw_server *srv, struct nw_snapshot *s,
		  struct answer *a)
{
	struct strbuf sb = STRBUF_INIT;
	char ts[32];

	iso_time(ts, sizeof ts);
	sb_printf(&sb,
		  "{\"time\":\"%s\",\"uptime_seconds\":%lld,"
		  "\"requests\":%llu,\"bytes_sent\":%llu,\"status\":{\"2xx\":%llu,"
		  "\"3xx\":%llu,\"4xx\":%llu,\"5xx\":%llu},\"in_flight\":%u,"
		  "\"header_timeouts\":%llu,"
		  "\"snapshot\":{\"generation\":%llu,\"files\":%zu,\"skipped\":%zu,"
		  "\"bytes\":%llu,\"compressed_bytes\":%llu,\"memory_bytes\":%llu,"
		  "\"load_seconds\":%.3f},\"xdp\":",
		  ts, (long long)(time(NULL) - srv->started),
		  (unsigned long long)srv->requests,
		  (unsigned long long)srv->bytes_sent,
		  (unsigned long long)srv->status_2xx,
		  (unsigned long long)srv->status_3xx,
		  (unsigned long long)srv->status_4xx,
		  (unsigned long long)srv->status_5xx, (unsigned)srv->inflight,
		  (unsigned long long)nw_headwatch_expired(srv->headwatch),
		  (unsigned long long)s->generation, s->stats.files,
		  s->stats.skipped, (unsigned long long)s->stats.bytes,
		  (unsigned long long)s->stats.compressed_bytes,
		  (unsigned long long)s->stats.memory_bytes,
		  s->stats.load_seconds);
	/* the client may be freed once nw_server_set_xdp() has returned */
	pthread_mutex_lock(&srv->xdp_lock);
	if (srv->xdp)
		nw_xdp_client_stats_json(srv->xdp, &sb);
	else
		sb_puts(&sb, "null");
	pthread_mutex_unlock(&srv->xdp_lock);
	sb_puts(&sb, "}\n");
	json_answer(srv, a, &sb);
	sb_free(&sb);
}

static void put_escaped(struct strbuf *sb, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	sb_putc(sb, '%');
	sb_putc(sb, hex[c >> 4]);
	sb_putc(sb, hex[c & 15]);
}

/* Percent-encodes a canonical path for a Location header. */
static void encode_path(struct strbuf *sb, const char *p)
{
	for (; *p; p++) {
		if (nw_cc_has(NW_CC_PATH, (unsigned char)*p))
			sb_putc(sb, *p);
		else
			put_escaped(sb, (unsigned char)*p);
	}
}

/* The query as the client sent it, for a Location header: what cannot
 * stand in a query (raw bytes >= 0x80, a space, '"', '<', a '%' that starts
 * no escape...) is percent-encoded. */
static void put_query(struct strbuf *sb, const char *p)
{
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (nw_cc_has(NW_CC_QUERY, c) ||
		    (c == '%' && isxdigit((unsigned char)p[1]) &&
		     isxdigit((unsigned char)p[2])))
			sb_putc(sb, (char)c);
		else
			put_escaped(sb, c);
	}
}

static void redirect_to_dir(struct nw_server *srv, const struct nw_query *q,
			    const char *path, struct answer *a)
{
	struct strbuf sb = STRBUF_INIT;
	struct MHD_Response *r;

	encode_path(&sb, path);
	sb_putc(&sb, '/');
	if (q->len) {
		sb_putc(&sb, '?');
		put_query(&sb, q->buf);
	}
	r = MHD_create_response_from_buffer(0, (void *)"",
					    MHD_RESPMEM_PERSISTENT);
	if (!r || !sb.buf ||
	    MHD_add_response_header(r, "Location", sb.buf) != MHD_YES) {
		if (r)
			MHD_destroy_response(r);
		fixed(a, 500, srv->server_error, "Internal Server Error\n");
	} else {
		MHD_add_response_header(r, "Cache-Control", "public, max-age=3600");
		nw_add_security_headers(r, srv->cfg);
		a->status = 301;
		a->resp = r;
		a->owned = true;
		a->bytes = 0;
		a->enc = NW_ENC_IDENTITY;
	}
	sb_free(&sb);
}

/* spa: the --spa rule decided it (the answer varies with NW_SPA_VARY). */
static void not_found(struct nw_server *srv, struct nw_snapshot *s,
		      const char *accept, bool spa, struct answer *a)
{
	const struct nw_resource *nf = s->not_found;
	struct MHD_Response *resp;
	int enc;

	if (nf) {
		enc = nw_negotiate_encoding(accept, nf->enc_mask);
		if (enc < 0)
			enc = NW_ENC_IDENTITY;
		resp = nw_response_not_found(srv->cfg, nf, (enum nw_enc)enc,
					     spa);
		if (resp) {
			a->status = 404;
			a->resp = resp;
			a->owned = false;
			a->bytes = nf->var[enc].len;
			a->enc = (enum nw_enc)enc;
			return;
		}
	}
	fixed(a, 404, spa ? srv->not_found_spa : srv->not_found, "Not Found\n");
}

/*
 * An on-disk file overwritten in place since it was loaded no longer
 * matches the length and ETag recorded: sending them could promise more
 * bytes than exist (the client hangs), or new bytes under the old strong
 * ETag (a stale 304, a resumed download spliced from two versions). The
 * ctime catches a rewrite whose size and mtime stayed (cp -p, rsync -t of
 * a reproducible build). It also moves when a link is made or removed (a
 * deploy by rename unlinks the loaded inode, which is still served as it
 * was), so a changed link count excuses it; a chmod does not, and waits
 * for the reload too. Warned once per resource and snapshot.
 */
static bool changed_on_disk(const struct nw_resource *r, int fd)
{
	struct stat st;
	atomic_bool *warned = (atomic_bool *)&r->stale_warned;
	int rc;

	/* fd -1: nothing is open yet; the inode held since the load, as
	 * nw_resource_open() would give, else the path */
	if (fd < 0)
		fd = r->disk_fd;
	rc = fd >= 0 ? fstat(fd, &st) : stat(r->file, &st);

	if (rc != 0) {
		nw_warn("cannot stat %s: %s", r->file, strerror(errno));
		return true;
	}
	if ((uint64_t)st.st_size == r->size && st.st_mtim.tv_sec == r->mtime &&
	    st.st_mtim.tv_nsec == r->mtime_nsec &&
	    ((st.st_ctim.tv_sec == r->ctime.tv_sec &&
	      st.st_ctim.tv_nsec == r->ctime.tv_nsec) ||
	     st.st_nlink != r->nlink))
		return false;
	if (!atomic_exchange(warned, true))
		nw_warn("%s changed on disk since it was loaded: answering 503 "
			"until a reload (SIGHUP, or --dev)", r->file);
	return true;
}

/* A response built for this request only: 206, 416, on-disk bodies.
 * spa as for serve_resource(). */
static bool per_request(struct nw_server *srv, const struct nw_resource *r,
			unsigned status, const struct nw_range *range, bool spa,
			struct answer *a)
{
	const char *vary = nw_vary(r, spa);
	struct MHD_Response *resp = NULL;
	uint64_t first = range ? range->first : 0;
	uint64_t len = range ? range->last - range->first + 1 : r->size;
	char buf[96];

	if (status == 416) {
		resp = MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
		len = 0;
	} else if (r->on_disk) {
		int fd = nw_resource_open(r);

		if (fd < 0) {
			nw_warn("cannot open %s: %s", r->file, strerror(errno));
			return false;
		}
		if (changed_on_disk(r, fd)) {
			close(fd);
			fixed(a, 503, srv->changed_on_disk,
			      "Service Unavailable\n");
			return true;
		}
		resp = MHD_create_response_from_fd_at_offset64(len, fd,
							       (int64_t)first);
		if (!resp)
			close(fd);
	} else {
		resp = MHD_create_response_from_buffer(
			(size_t)len, (void *)(r->var[NW_ENC_IDENTITY].body + first),
			MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return false;
	/* A 416 describes no representation: no validators, no caching. */
	if (status != 416)
		nw_add_resource_headers(resp, r, NW_ENC_IDENTITY, spa);
	if (status == 206) {
		snprintf(buf, sizeof buf, "bytes %llu-%llu/%llu",
			 (unsigned long long)range->first,
			 (unsigned long long)range->last,
			 (unsigned long long)r->size);
		MHD_add_response_header(resp, "Content-Range", buf);
	} else if (status == 416) {
		snprintf(buf, sizeof buf, "bytes */%llu",
			 (unsigned long long)r->size);
		MHD_add_response_header(resp, "Content-Range", buf);
		MHD_add_response_header(resp, "Cache-Control", "no-cache");
		if (vary)
			MHD_add_response_header(resp, "Vary", vary);
	} else {
		MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	}
	nw_add_security_headers(resp, srv->cfg);
	a->status = status;
	a->resp = resp;
	a->owned = true;
	a->bytes = len;
	a->enc = NW_ENC_IDENTITY;
	return true;
}

/* spa: r is index.html answering a missing path (nw_spa_fallback()). */
static void serve_resource(struct nw_server *srv, const struct req_headers *h,
			   const struct nw_resource *r, bool is_get, bool spa,
			   struct answer *a)
{
	struct nw_range range;
	int enc = nw_negotiate_encoding(h->accept_encoding, r->enc_mask);
	enum nw_enc selected;
	enum nw_range_result ranged;

	/* before the preconditions, which a request that gets no 2xx
	 * without them ignores (RFC 9110 13.2.1), and before Range: a 206
	 * would be in identity, which was refused */
	if (enc < 0) {
		fixed(a, 406, spa ? srv->not_acceptable_spa : srv->not_acceptable,
		      "Not Acceptable\n");
		return;
	}
	/* Ranges are of the identity form: a client that refused it
	 * (identity;q=0) gets the whole coded 200 instead. */
	ranged = is_get && h->range && !h->if_range_repeated &&
		 (enc == NW_ENC_IDENTITY ||
		  nw_negotiate_encoding(h->accept_encoding,
					NW_ENC_BIT(NW_ENC_IDENTITY)) >= 0) &&
		 nw_if_range_allows(h->if_range, r->etag, r->modified) ?
		 nw_parse_range(h->range, r->size, &range) : NW_RANGE_IGNORE;
	/* Each coding has its own ETag, so the preconditions are evaluated
	 * against the representation the answer would carry (RFC 9110
	 * 13.1.1): identity's for a range, which is what a client resuming
	 * a download with If-Match names. */
	selected = ranged != NW_RANGE_IGNORE ? NW_ENC_IDENTITY : (enum nw_enc)enc;
	switch (nw_evaluate_preconditions(&h->pre, nw_variant_etag(r, selected),
					  r->modified)) {
	case NW_PRECOND_FAILED:
		fixed(a, 412, srv->precondition_failed, "Precondition Failed\n");
		return;
	case NW_PRECOND_NOT_MODIFIED:
		/* a 304 must not confirm a file changed since its ETag was
		 * computed */
		if (r->on_disk && changed_on_disk(r, -1)) {
			fixed(a, 503, srv->changed_on_disk,
			      "Service Unavailable\n");
			return;
		}
		a->resp = nw_response_not_modified(srv->cfg, r, selected, spa);
		if (!a->resp)
			goto fail;
		a->status = 304;
		a->owned = false;
		a->bytes = 0;
		a->enc = selected;
		return;
	case NW_PRECOND_PROCEED:
		break;
	}
	switch (ranged) {
	case NW_RANGE_SINGLE:
		if (per_request(srv, r, 206, &range, spa, a))
			return;
		goto fail;
	case NW_RANGE_UNSATISFIABLE:
		if (per_request(srv, r, 416, NULL, spa, a))
			return;
		goto fail;
	case NW_RANGE_IGNORE:
		break;
	}
	if (r->on_disk) {
		if (per_request(srv, r, 200, NULL, spa, a))
			return;
		goto fail;
	}
	a->resp = nw_response_ok(srv->cfg, r, (enum nw_enc)enc, spa);
	if (!a->resp)
		goto fail;
	a->status = 200;
	a->owned = false;
	a->bytes = is_get ? r->var[enc].len : 0;
	a->enc = (enum nw_enc)enc;
	return;
fail:
	fixed(a, 500, srv->server_error, "Internal Server Error\n");
}

/* What nano-web keeps of connection c (on_connection()); NULL when it
 * could not be allocated: route() answers 500. */
static struct nw_conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* q: the request's query (take_query()), NULL if it could not be kept */
static void route(struct nw_server *srv, struct MHD_Connection *c,
		  struct nw_snapshot *s, const char *method, const char *url,
		  bool http10, const struct nw_query *q, struct answer *a)
{
	const struct nw_config *cfg = srv->cfg;
	bool is_get = strcmp(method, "GET") == 0;
	const struct nw_resource *r, *direct;
	size_t url_len, plen;
	char path[8192 + 2];
	enum nw_path_status st;
	struct req_headers h;
	bool spa;

	/* The join buffers need no clearing. */
	memset(&h, 0, offsetof(struct req_headers, ae_joined));
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, collect_header, &h);
	/* RFC 9112 3.2, 5.1, 6.1: an HTTP/1.1 request without Host, or any
	 * with several, a field name that is not a token, or a
	 * Transfer-Encoding not ending in chunked gets 400 (the kernel path
	 * hands all of these over). A request with a body is answered before
	 * it is read, so libmicrohttpd closes the connection after it. */
	if (h.bad_framing || h.hosts > 1 || (h.hosts == 0 && !http10)) {
		fixed(a, 400, srv->bad_request, "Bad Request\n");
		return;
	}
	if (!is_get && strcmp(method, "HEAD") != 0) {
		/* a method is a token (RFC 9110 9.1): else the request line
		 * is malformed (RFC 9112 3) */
		if (!nw_token_ok(method, strlen(method)))
			fixed(a, 400, srv->bad_request, "Bad Request\n");
		else if (strcmp(method, "OPTIONS") == 0)
			fixed(a, 204, srv->options, NULL);
		else if (nw_method_known(method))
			fixed(a, 405, srv->not_allowed, "Method Not Allowed\n");
		else
			fixed(a, 501, srv->not_implemented, "Not Implemented\n");
		return;
	}
	if (h.total > cfg->max_header_size || h.list_too_long) {
		fixed(a, 431, srv->header_too_large,
		      "Request Header Fields Too Large\n");
		return;
	}
	if (!q || q->failed) {
		fixed(a, 500, srv->server_error, "Internal Server Error\n");
		return;
	}
	if (nw_query_bad(q)) {
		fixed(a, 400, srv->bad_request, "Bad Request\n");
		return;
	}
	url = nw_origin_form(url);
	if (!url) {
		fixed(a, 400, srv->bad_request, "Bad Request\n");
		return;
	}
	url_len = strlen(url);
	if (url_len + (q->has ? 1 + q->len : 0) > cfg->max_url_length) {
		fixed(a, 414, srv->uri_too_long, "URI Too Long\n");
		return;
	}
	st = nw_normalize_path(url, url_len, cfg->max_url_length, path,
			       sizeof path - 1, &plen);
	if (st == NW_PATH_TOO_LONG) {
		fixed(a, 414, srv->uri_too_long, "URI Too Long\n");
		return;
	}
	if (st == NW_PATH_BAD) {
		fixed(a, 400, srv->bad_request, "Bad Request\n");
		return;
	}
	if (st == NW_PATH_HIDDEN) {
		not_found(srv, s, NULL, false, a);
		return;
	}
	if (path[0] == '/' && path[1] == '_') {
		if (cfg->health && strcmp(path, "/_health") == 0) {
			health(srv, s, a);
			return;
		}
		if (cfg->health && strcmp(path, "/_stats") == 0) {
			stats(srv, s, a);
			return;
		}
	}
	r = direct = nw_snapshot_lookup(s, path, plen);
	if (!r && plen > 0 && path[plen - 1] != '/') {
		path[plen] = '/';
		path[plen + 1] = '\0';
		if (nw_snapshot_lookup(s, path, plen + 1)) {
			path[plen] = '\0';
			redirect_to_dir(srv, q, path, a);
			return;
		}
		path[plen] = '\0';
	}
	/* Either answer to a missing path now depends on the request's
	 * fields (both carry Vary: NW_SPA_VARY). */
	spa = !r && cfg->spa && s->index_html && nw_spa_applies(path);
	if (spa && wants_index(c, path))
		r = s->index_html;
	if (!r) {
		not_found(srv, s, h.accept_encoding, spa, a);
		return;
	}
	serve_resource(srv, &h, r, is_get, spa, a);
	/* what XDP could answer, were it cached (it hands off HTTP/1.0,
	 * Range, If-Match, If-Unmodified-Since and If-Modified-Since without
	 * If-None-Match) */
	if (direct && (a->status == 200 || a->status == 304) && !http10 &&
	    !h.range && !h.range_repeated && !h.pre.if_match &&
	    !h.pre.if_unmodified_since && !h.ius_repeated &&
	    (!(h.pre.if_modified_since || h.ims_repeated) ||
	     h.pre.if_none_match))
		nw_snapshot_note_answer(s, r, a->status == 304 ? NW_XDP_NM :
					is_get ? NW_XDP_GET : NW_XDP_HEAD, a->enc);
}

static void log_start(struct MHD_Connection *c, const char *method,
		      const char *url, void **con_cls)
{
	const union MHD_ConnectionInfo *ci;
	size_t ulen = strlen(url);
	struct req_log *rl;

	if (ulen > 1000)
		ulen = nw_utf8_cut(url, 1000);
	rl = calloc(1, sizeof *rl + ulen + 1);
	if (!rl) {
		*con_cls = &first_call;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &rl->start);
	snprintf(rl->method, sizeof rl->method, "%s", method);
	memcpy(rl->path, url, ulen);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	nw_accesslog_client(ci ? ci->client_addr : NULL, rl->client,
			    sizeof rl->client);
	*con_cls = rl;
}

/* A body of at most this many bytes is read and dropped before the
 * answer, so that the connection stays open for the next request. */
#define BODY_DRAIN_MAX (64 * 1024)

enum body_plan {
	BODY_NONE,
	BODY_DRAIN,  /* read and dropped, then answered */
	BODY_REFUSE, /* answered before it; libmicrohttpd then closes the
			connection rather than read it */
};

static enum MHD_Result count_content_length(void *cls, enum MHD_ValueKind kind,
					    const char *key, const char *value)
{
	(void)kind;
	(void)value;
	if (strcasecmp(key, "Content-Length") == 0)
		(*(unsigned *)cls)++;
	return MHD_YES;
}

/* A body is answered before it when it is large or chunked, when its
 * client waits for a 100 Continue it should not get, or when several
 * Content-Length lines put its length in doubt (route() refuses those that
 * disagree). libmicrohttpd has checked the syntax of the one it uses. */
static enum body_plan plan_body(struct MHD_Connection *c, uint64_t *len)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	unsigned lines = 0;
	unsigned long n;

	*len = 0;
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding"))
		return BODY_REFUSE;
	if (!cl || strcmp(cl, "0") == 0)
		return BODY_NONE;
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect"))
		return BODY_REFUSE;
	MHD_get_connection_values(c, MHD_HEADER_KIND, count_content_length, &lines);
	n = strlen(cl) > 6 ? ULONG_MAX : strtoul(cl, NULL, 10);
	if (lines > 1 || n > BODY_DRAIN_MAX)
		return BODY_REFUSE;
	*len = n;
	return BODY_DRAIN;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct nw_server *srv = cls;
	struct answer a;
	struct nw_snapshot *s;
	struct req_log *rl = NULL;
	struct nw_conn *conn = conn_of(c);
	enum MHD_Result ret;

	(void)upload_data;
	if (!*con_cls) {
		uint64_t body_len;
		enum body_plan plan = plan_body(c, &body_len);
		const union MHD_ConnectionInfo *hs = MHD_get_connection_info(
			c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);

		/* too late: header_timeout has ended the connection */
		if (conn && !nw_conn_head_taken(conn, hs ? hs->header_size : 0,
						body_len))
			return MHD_NO;
		atomic_fetch_add_explicit(&srv->inflight, 1, memory_order_relaxed);
		if (srv->cfg->log_requests)
			log_start(c, method, url, con_cls);
		else
			*con_cls = &first_call;
		/* Answering on the first callback makes libmicrohttpd close
		 * the connection: wait for the last one, after the body. */
		if (plan != BODY_REFUSE)
			return MHD_YES;
	}
	if (ANSWERED(*con_cls)) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*con_cls != &first_call)
		rl = *con_cls;
	if (rl && rl->snap) {
		/* Already answered; discard any request body. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* a small body, dropped: the answer comes after it */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (conn && !nw_conn_body_read(conn))
		return MHD_NO; /* header_timeout ended it */
	s = acquire(srv);
	route(srv, c, s, method, url,
	      strcmp(version, MHD_HTTP_VERSION_1_0) == 0,
	      conn ? &conn->query : NULL, &a);
	if (strcmp(method, "HEAD") == 0)
		a.bytes = 0;   /* the body a GET would get is not sent */
	if (rl) {
		rl->snap = s;
		rl->status = a.status;
		rl->bytes = a.bytes;
		rl->enc = a.enc;
	} else {
		/* Keeps the snapshot alive until the response is sent. */
		*con_cls = TAG_ANSWERED(s);
	}
	count_status(srv, a.status, a.bytes);
	ret = MHD_queue_response(c, a.status, a.resp);
	if (a.owned)
		MHD_destroy_response(a.resp);
	*upload_data_size = 0;
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct nw_server *srv = cls;
	struct nw_conn *conn = conn_of(c);
	void *p = *con_cls;

	(void)toe;
	if (conn)
		nw_conn_answered(conn);
	if (!p)
		return;
	if (ANSWERED(p)) {
		nw_snapshot_unref(UNTAG(p));
	} else if (p != &first_call) {
		struct req_log *rl = p;

		if (rl->snap) {
			struct nw_access_entry e = {
				.method = rl->method,
				.path = rl->path,
				.status = rl->status,
				.bytes = rl->bytes,
				.duration_ms = elapsed_ms(&rl->start),
				.client = rl->client,
				.encoding = nw_enc_token(rl->enc) ? nw_enc_token(rl->enc) : "identity",
			};
			nw_accesslog_write(&e);
			nw_snapshot_unref(rl->snap);
		}
		free(rl);
	}
	*con_cls = NULL;
	atomic_fetch_sub_explicit(&srv->inflight, 1, memory_order_relaxed);
}

/*
 * The connection limit is enforced here rather than by libmicrohttpd: at its
 * own limit it stops polling the listening socket, so further clients hang
 * in the backlog; refused here, they are closed at once.
 */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
				 socklen_t addrlen)
{
	struct nw_server *srv = cls;

	(void)addr;
	(void)addrlen;
	if (atomic_load(&srv->stopping))
		return MHD_NO;
	if (srv->cfg->max_connections &&
	    atomic_load_explicit(&srv->connections, memory_order_relaxed) >=
		    srv->cfg->max_connections)
		return MHD_NO;
	return MHD_YES;
}

/* A connection's context is a struct nw_conn (headwatch.h). */
static void on_connection(void *cls, struct MHD_Connection *c,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct nw_server *srv = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		/* pointers into libmicrohttpd's connection, valid until
		 * the close */
		const union MHD_ConnectionInfo *fd = MHD_get_connection_info(
			c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *addr = MHD_get_connection_info(
			c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		atomic_fetch_add_explicit(&srv->connections, 1, memory_order_relaxed);
		*socket_context = fd && addr ?
			nw_conn_open(srv->headwatch, fd->connect_fd,
				     addr->client_addr) : NULL;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		atomic_fetch_sub_explicit(&srv->connections, 1, memory_order_relaxed);
		nw_conn_close(srv->headwatch, *socket_context);
		*socket_context = NULL;
	}
}

/*
 * The URI log callback: libmicrohttpd calls it with the request target in
 * its own buffer before it parses the query, which nw_query_take() takes
 * out (the target stays writable: libmicrohttpd itself ends the path at the
 * '?'). Returns the request's first con_cls: none.
 */
static void *take_query(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct nw_conn *conn = conn_of(c);

	(void)cls;
	if (conn)
		nw_query_take(&conn->query, (char *)uri);
	return NULL;
}

/* libmicrohttpd hands us the raw path: nw_normalize_path decodes it once. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	nw_debug("libmicrohttpd: %s", msg);
}

static int open_listener(const struct nw_config *cfg, uint16_t *port_out,
			 char *url, size_t urllen, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char host[256], portstr[8], addr[INET6_ADDRSTRLEN];
	const char *h = cfg->listen;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = -1, one = 1, zero = 0, rc;
	bool any6 = false;

	if (!h || !*h || strcmp(h, "::") == 0 || strcmp(h, "[::]") == 0) {
		h = "::";
		any6 = true;
	}
	snprintf(host, sizeof host, "%s", h);
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n > 2 && host[n - 1] == ']') {
			memmove(host, host + 1, n - 2);
			host[n - 2] = '\0';
		}
	}
	snprintf(portstr, sizeof portstr, "%u", cfg->port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "listen address %s: %s", host, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 && any6 && errno == EAFNOSUPPORT) {
		/* No IPv6 on this host: fall back to IPv4 any. */
		freeaddrinfo(res);
		res = NULL;
		hints.ai_family = AF_INET;
		if (getaddrinfo("0.0.0.0", portstr, &hints, &res) != 0) {
			snprintf(err, errlen, "cannot resolve 0.0.0.0");
			return -1;
		}
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any6 ? &zero : &one,
			   sizeof one);
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
		snprintf(err, errlen, "bind %s port %u: %s", host, cfg->port,
			 strerror(errno));
		goto fail;
	}
	/* Wake up for a new connection only once its request is in (as h2o
	 * and nginx's "deferred" do): one event-loop round less per
	 * connection, and a client that connects and says nothing costs no
	 * libmicrohttpd connection. Not fatal where unsupported. */
	setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof one);
	if (listen(fd, 4096) != 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		goto fail;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		goto fail;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&ss;

		*port_out = ntohs(s6->sin6_port);
		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
		snprintf(url, urllen, "http://[%s]:%u", addr, *port_out);
	} else {
		const struct sockaddr_in *s4 = (const void *)&ss;

		*port_out = ntohs(s4->sin_port);
		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
		snprintf(url, urllen, "http://%s:%u", addr, *port_out);
	}
	freeaddrinfo(res);
	return fd;
fail:
	close(fd);
	freeaddrinfo(res);
	return -1;
}

struct nw_server *nw_server_new(const struct nw_config *cfg, char *err,
				size_t errlen)
{
	struct nw_server *srv = calloc(1, sizeof *srv);

	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->cfg = cfg;
	pthread_mutex_init(&srv->snap_lock, NULL);
	pthread_mutex_init(&srv->xdp_lock, NULL);
	srv->listen_fd = open_listener(cfg, &srv->port, srv->url,
				       sizeof srv->url, err, errlen);
	if (srv->listen_fd < 0) {
		pthread_mutex_destroy(&srv->snap_lock);
		pthread_mutex_destroy(&srv->xdp_lock);
		free(srv);
		return NULL;
	}
	return srv;
}

uint16_t nw_server_port(const struct nw_server *srv)
{
	return srv->port;
}

const char *nw_server_url(const struct nw_server *srv)
{
	return srv->url;
}

bool nw_server_start(struct nw_server *srv, struct nw_snapshot *s,
		     unsigned threads, char *err, size_t errlen)
{
	const struct nw_config *cfg = srv->cfg;
	/* The per-connection pool holds the request head (the request line
	 * counts towards max_header_size) and the response head. Every idle
	 * keep-alive connection holds one and libmicrohttpd clears it for
	 * every request, so it is kept small: 20 KiB at the defaults. */
	size_t mem_limit = cfg->max_header_size + 4096;
	/* No MHD_USE_TURBO: with it libmicrohttpd skips shutdown(SHUT_WR)
	 * and closes a "Connection: close" socket only when the event loop
	 * next wakes up, so the client usually closes first and collects the
	 * TIME_WAIT; under a new-connection-per-request load its ephemeral
	 * ports run out (measured: 31k req/s falling to 500 req/s over veth).
	 * Keep-alive throughput is the same without it. */
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[16];
	size_t n = 0;
	struct strbuf sec = STRBUF_INIT; /* the 408's headers */

	if (!build_static_responses(srv)) {
		snprintf(err, errlen, "out of memory");
		destroy_static_responses(srv);
		return false;
	}
	srv->headwatch = nw_security_headers_text(cfg, &sec) ?
		nw_headwatch_start(cfg->header_timeout, cfg->log_requests,
				   sec.buf) : NULL;
	sb_free(&sec);
	if (!srv->headwatch) {
		snprintf(err, errlen, "cannot start the header_timeout watcher");
		destroy_static_responses(srv);
		return false;
	}
	srv->current = s;
	srv->started = time(NULL);
#define OPT(o, v, p) opts[n++] = (struct MHD_OptionItem){ (o), (intptr_t)(v), (p) }
	/* first: libmicrohttpd's messages about the options after it go
	 * through our log too */
	OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL);
	OPT(MHD_OPTION_LISTEN_SOCKET, srv->listen_fd, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv);
	OPT(MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL);
	OPT(MHD_OPTION_URI_LOG_CALLBACK, take_query, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem_limit, NULL);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv);
	/* Above nano-web's own limit (on_accept), which answers first, in
	 * every worker: libmicrohttpd splits this limit between them, and a
	 * worker at its share takes the listening socket out of its epoll
	 * set, which must not happen once stop_listening() has closed it. */
	OPT(MHD_OPTION_CONNECTION_LIMIT,
	    (cfg->max_connections ? cfg->max_connections + 64 : 1000000) *
		    (threads > 1 ? threads : 1), NULL);
	if (cfg->per_ip_connections)
		OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_connections, NULL);
	if (threads > 1)
		OPT(MHD_OPTION_THREAD_POOL_SIZE, threads, NULL);
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	srv->daemon = MHD_start_daemon(flags, 0, on_accept, srv, on_request, srv,
				       MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!srv->daemon) {
		snprintf(err, errlen, "cannot start the HTTP daemon");
		srv->current = NULL;
		destroy_static_responses(srv);
		nw_headwatch_stop(srv->headwatch);
		srv->headwatch = NULL;
		return false;
	}
	return true;
}

/*
 * Not MHD_quiesce_daemon: in libmicrohttpd 0.9.75, with a worker pool, it
 * takes the listening socket out of each worker's epoll set from this
 * thread while a busy worker may be doing the same, and aborts on the
 * failure (ENOENT); and the socket it returns must stay open until
 * MHD_stop_daemon, as a worker may still remove it (EBADF, another abort).
 * Instead the listening socket is replaced, under the same descriptor
 * number, by an eventfd that never becomes readable: the kernel closes the
 * listener (new clients are refused, its queue is reset) and drops it from
 * the epoll sets itself, and libmicrohttpd, which still owns the number,
 * closes the eventfd in MHD_stop_daemon. on_accept refuses the few
 * connections accepted just before the swap.
 */
static void stop_listening(struct nw_server *srv)
{
	int placeholder;

	atomic_store(&srv->stopping, true);
	placeholder = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (placeholder < 0 ||
	    dup3(placeholder, srv->listen_fd, O_CLOEXEC) < 0)
		nw_warn("shutdown: cannot close the listening socket (%s); "
			"new connections are closed once accepted",
			strerror(errno));
	if (placeholder >= 0)
		close(placeholder);
}

/* Whether a SIGTERM or SIGINT arrived on signal_fd within ms (others are
 * read and dropped); sleeps ms without one. */
static bool stop_signal(int signal_fd, int ms)
{
	struct pollfd p = { .fd = signal_fd, .events = POLLIN };
	struct signalfd_siginfo si;
	bool stop = false;

	if (signal_fd < 0) {
		struct timespec d = { 0, (long)ms * 1000 * 1000 };

		nanosleep(&d, NULL);
		return false;
	}
	if (poll(&p, 1, ms) <= 0)
		return false;
	while (read(signal_fd, &si, sizeof si) == sizeof si)
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			stop = true;
	return stop;
}

void nw_server_shutdown(struct nw_server *srv, unsigned grace_ms, int signal_fd)
{
	struct timespec t0;

	if (!srv->daemon)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	stop_listening(srv);
	/* Requests in flight finish; idle keep-alive connections are closed
	 * by MHD_stop_daemon. A second stop signal does not wait for them. */
	while (atomic_load(&srv->inflight) > 0 && elapsed_ms(&t0) < grace_ms) {
		if (stop_signal(signal_fd, 20)) {
			nw_info("second stop signal after %u ms: not waiting for "
				"%u requests in flight", (unsigned)elapsed_ms(&t0),
				(unsigned)atomic_load(&srv->inflight));
			break;
		}
	}
	if (atomic_load(&srv->inflight) > 0 && elapsed_ms(&t0) >= grace_ms)
		nw_warn("shutdown: %u requests still in flight after %u ms",
			(unsigned)atomic_load(&srv->inflight), grace_ms);
	MHD_stop_daemon(srv->daemon);
	srv->daemon = NULL;
	srv->listen_fd = -1; /* closed by MHD_stop_daemon */
	/* every connection is closed now */
	nw_headwatch_stop(srv->headwatch);
	srv->headwatch = NULL;
}

void nw_server_free(struct nw_server *srv)
{
	if (!srv)
		return;
	if (srv->daemon)
		nw_server_shutdown(srv, 0, -1);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	destroy_static_responses(srv);
	if (srv->current)
		nw_snapshot_unref(srv->current);
	pthread_mutex_destroy(&srv->snap_lock);
	pthread_mutex_destroy(&srv->xdp_lock);
	free(srv);
}
