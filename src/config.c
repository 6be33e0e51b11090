/*
 * nano-web settings: defaults, value parsers, the INI file (inih) and
 * nw_config_set, which the CLI uses for its overrides too.
 */
#include "config.h"
#include "framing.h"
#include "mime.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Longest accepted INI line, in bytes (CSP values get long). */
#define NW_INI_LINE_MAX 8192

/* ---------------------------------------------------------------- helpers */

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort(); /* out of memory while building the configuration */
	return p;
}

static void set_str(char **dst, const char *value)
{
	char *p = xstrdup(value);
	free(*dst);
	*dst = p;
}

/* For settings where "" means "not set" (NULL). */
static void set_opt_str(char **dst, const char *value)
{
	free(*dst);
	*dst = (value && *value) ? xstrdup(value) : NULL;
}

__attribute__((format(printf, 3, 4)))
static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* Control characters (CR, LF, NUL...) would split or corrupt a header. */
static bool header_value_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

/* ---------------------------------------------------------------- parsers */

bool nw_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	if (!s)
		return false;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Decimal digits only: no sign, no spaces, no hex; detects overflow. */
static bool parse_u64(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*end = p;
	*out = v;
	return true;
}

bool nw_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	const char *end;
	uint64_t v = 0;

	if (!s || !parse_u64(s, &end, &v) || *end || v > max)
		return false;
	*out = (unsigned long)v;
	return true;
}

/* "512", "64K", "8M", "1G", "1T" (also "8MB", "8MiB", lower case): binary
 * units. */
bool nw_parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v = 0;
	unsigned shift = 0;

	if (!s || !parse_u64(s, &end, &v))
		return false;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	case 'B': break;
	default: return false;
	}
	if (shift) {
		if (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0)
			end += strlen(end);
	} else if (strcasecmp(end, "B") == 0) {
		end++;
	}
	if (*end)
		return false;
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

/* ---------------------------------------------------------------- defaults */

void nw_config_init(struct nw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* [server] */
	cfg->root = NULL;
	cfg->listen = NULL;
	cfg->port = 3000;
	cfg->spa = false;
	cfg->dev = false;
	cfg->config_prefix = xstrdup("VITE_");
	cfg->threads = 0;
	cfg->user = xstrdup("nobody");
	cfg->follow_symlinks = false;
	cfg->health = true;
	cfg->index = xstrdup("index.html");
	/* [log] */
	cfg->log_level = NW_LOG_INFO;
	cfg->log_format = NW_LOG_CONSOLE;
	cfg->log_requests = false;
	cfg->access_log = NULL;
	/* [cache] */
	cfg->cache_html = xstrdup("no-cache");
	cfg->cache_hashed = xstrdup("public, max-age=31536000, immutable");
	cfg->cache_default = xstrdup("public, max-age=3600");
	/* [security] */
	cfg->security_headers = true;
	cfg->content_type_options = xstrdup("nosniff");
	cfg->frame_options = xstrdup("SAMEORIGIN");
	cfg->referrer_policy = xstrdup("strict-origin-when-cross-origin");
	cfg->hsts = xstrdup("max-age=31536000; includeSubDomains");
	cfg->permissions_policy = xstrdup("camera=(), microphone=(), geolocation=()");
	cfg->dns_prefetch = xstrdup("off");
	cfg->csp = xstrdup("");
	/* [compression] */
	cfg->compress = true;
	cfg->gzip = cfg->brotli = cfg->zstd = true;
	cfg->min_compress_size = 256;
	/* [limits] */
	cfg->max_memory_file = 8u << 20;
	cfg->max_connections = 10000;
	cfg->per_ip_connections = 0;
	cfg->timeout = 30;
	cfg->header_timeout = 20;
	cfg->max_header_size = 16384;
	cfg->max_url_length = 8192;
	/* [xdp] */
	cfg->xdp = NW_XDP_AUTO;
	cfg->xdp_iface = NULL;
	cfg->xdp_attach = NW_ATTACH_AUTO;
	cfg->xdp_socket = xstrdup("/run/nanoweb/xdpd.sock");
	cfg->xdp_pin_dir = xstrdup("/sys/fs/bpf/nanoweb");
	cfg->xdp_max_response = NW_XDP_MAX_RESPONSE_DEFAULT;
	cfg->xdp_flow_entries = 65536;
	cfg->xdp_cache_entries = 4096;
	cfg->xdp_allowed_users = xstrdup("");
	cfg->xdp_drain_ms = 2000;
}

void nw_config_free(struct nw_config *cfg)
{
	char **strs[] = {
		&cfg->root, &cfg->listen, &cfg->config_prefix, &cfg->user,
		&cfg->index, &cfg->access_log, &cfg->cache_html,
		&cfg->cache_hashed, &cfg->cache_default,
		&cfg->content_type_options, &cfg->frame_options,
		&cfg->referrer_policy, &cfg->hsts, &cfg->permissions_policy,
		&cfg->dns_prefetch, &cfg->csp, &cfg->xdp_iface,
		&cfg->xdp_socket, &cfg->xdp_pin_dir, &cfg->xdp_allowed_users,
	};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (size_t i = 0; i < cfg->n_cache_rules; i++) {
		free(cfg->cache_rules[i].ext);
		free(cfg->cache_rules[i].value);
	}
	for (size_t i = 0; i < cfg->n_extra_headers; i++) {
		free(cfg->extra_headers[i].name);
		free(cfg->extra_headers[i].value);
	}
	memset(cfg, 0, sizeof(*cfg));
}

/* ---------------------------------------------------------------- values */

#define BOOL_HINT "expected true/false, yes/no, on/off or 1/0"
#define SIZE_HINT "expected bytes with an optional K, M, G or T suffix"

static bool val_bool(const char *v, bool *out, char *err, size_t errlen)
{
	if (nw_parse_bool(v, out))
		return true;
	return fail(err, errlen, "invalid boolean '%s' (" BOOL_HINT ")", v);
}

static bool val_uint(const char *v, unsigned long min, unsigned long max,
		     unsigned *out, char *err, size_t errlen)
{
	unsigned long n = 0;

	if (!nw_parse_uint(v, max, &n) || n < min)
		return fail(err, errlen, "invalid number '%s' (expected %lu-%lu)",
			    v, min, max);
	*out = (unsigned)n;
	return true;
}

static bool val_size(const char *v, uint64_t min, uint64_t max,
		     uint64_t *out, char *err, size_t errlen)
{
	uint64_t n;

	if (!nw_parse_size(v, &n))
		return fail(err, errlen, "invalid size '%s' (" SIZE_HINT ")", v);
	if (n < min || n > max)
		return fail(err, errlen,
			    "size '%s' out of range (expected %llu-%llu bytes)", v,
			    (unsigned long long)min, (unsigned long long)max);
	*out = n;
	return true;
}

static bool val_header(const char *v, char **dst, char *err, size_t errlen)
{
	if (!header_value_ok(v))
		return fail(err, errlen, "header value contains control characters (CR, LF...)");
	set_str(dst, v);
	return true;
}

static bool val_enum(const char *v, const char *what, const char *const *names,
		     int *out, char *err, size_t errlen)
{
	char list[128] = "";
	size_t n = 0;

	for (; names[n]; n++)
		if (strcasecmp(v, names[n]) == 0) {
			*out = (int)n;
			return true;
		}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s",
			 i == 0 ? "" : (i + 1 == n ? " or " : ", "), names[i]);
	}
	return fail(err, errlen, "invalid %s '%s' (expected %s)", what, v, list);
}

/* A plain file path: no control characters. */
static bool val_path(const char *v, char **dst, bool empty_is_null,
		     char *err, size_t errlen)
{
	size_t n = strlen(v);

	if (!header_value_ok(v) || strchr(v, '\t'))
		return fail(err, errlen, "path '%s' contains control characters "
			    "(tab, newline, ...): not supported", v);
	/* other INI dialects strip them; this one would keep them */
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
		return fail(err, errlen, "path %s is in quotes: write it without "
			    "them (values are taken as written)", v);
	if (empty_is_null)
		set_opt_str(dst, v);
	else
		set_str(dst, v);
	return true;
}

static bool val_abs_path(const char *v, size_t maxlen, char **dst,
			 char *err, size_t errlen)
{
	if (v[0] != '/')
		return fail(err, errlen, "'%s' is not an absolute path", v);
	if (strlen(v) > maxlen)
		return fail(err, errlen, "path too long (max %zu bytes)", maxlen);
	return val_path(v, dst, false, err, errlen);
}

/* IP literal, with or without [brackets]; "" or "*" means any address. */
static bool val_listen(struct nw_config *cfg, const char *v, char *err, size_t errlen)
{
	char buf[64];
	unsigned char addr[16];
	size_t len = strlen(v);

	if (len == 0 || strcmp(v, "*") == 0) {
		set_opt_str(&cfg->listen, NULL);
		return true;
	}
	if (len >= sizeof(buf))
		return fail(err, errlen, "invalid listen address '%s'", v);
	if (v[0] == '[' && v[len - 1] == ']') {
		/* brackets hold an IPv6 address only (RFC 3986 3.2.2) */
		memcpy(buf, v + 1, len - 2);
		buf[len - 2] = '\0';
		if (inet_pton(AF_INET6, buf, addr) == 1) {
			set_str(&cfg->listen, buf);
			return true;
		}
		return fail(err, errlen, "invalid listen address '%s' (brackets hold an "
			    "IPv6 address)", v);
	}
	memcpy(buf, v, len + 1);
	if (inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1) {
		set_str(&cfg->listen, buf);
		return true;
	}
	const char *colon = strrchr(buf, ':');
	if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1))
		return fail(err, errlen,
			    "invalid listen address '%s' (give the port separately, with port / --port)", v);
	return fail(err, errlen,
		    "invalid listen address '%s' (expected an IPv4 or IPv6 address, e.g. 127.0.0.1 or ::1)", v);
}

/* "eth0,eth1": names as the kernel accepts them (< 16 bytes, no '/' or space). */
static bool val_iface_list(const char *v, char **dst, char *err, size_t errlen)
{
	const char *p = v;
	unsigned names = 0;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (++names > NW_XDP_MAX_IFACES)
			return fail(err, errlen, "more than %d interfaces in '%.40s...'",
				    NW_XDP_MAX_IFACES, v);
		const char *q = p;

		while (q < p + n && *q == ' ')
			q++;
		size_t m = (size_t)(p + n - q);
		while (m && q[m - 1] == ' ')
			m--;
		if (m == 0 || m >= 16)
			return fail(err, errlen, "invalid interface list '%s' (names are 1-15 bytes, comma separated)", v);
		for (size_t i = 0; i < m; i++) {
			unsigned char c = (unsigned char)q[i];
			if (c <= ' ' || c == '/' || c == ':' || c == 0x7f)
				return fail(err, errlen, "invalid interface name in '%s'", v);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	set_opt_str(dst, v);
	return true;
}

/* "0,www-data, 1001": user names or uids, comma/space separated. */
static bool val_user_list(const char *v, char **dst, char *err, size_t errlen)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (!isalnum(*p) && !strchr("_.-$, ", *p))
			return fail(err, errlen,
				    "invalid user list '%s' (expected user names or uids separated by commas)", v);
	set_str(dst, v);
	return true;
}

static bool val_user(const char *v, char **dst, char *err, size_t errlen)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (!isalnum(*p) && !strchr("_.-$", *p))
			return fail(err, errlen, "invalid user name '%s'", v);
	set_str(dst, v);
	return true;
}

/* ---------------------------------------------------------------- sections */

static bool set_server(struct nw_config *cfg, const char *key, const char *v,
		       char *err, size_t errlen)
{
	unsigned n = 0;

	if (strcmp(key, "root") == 0)
		return val_path(v, &cfg->root, true, err, errlen);
	if (strcmp(key, "listen") == 0)
		return val_listen(cfg, v, err, errlen);
	if (strcmp(key, "port") == 0) {
		unsigned long p = 0;
		if (!nw_parse_uint(v, 65535, &p) || p == 0)
			return fail(err, errlen, "invalid port '%s' (expected 1-65535)", v);
		cfg->port = (uint16_t)p;
		return true;
	}
	if (strcmp(key, "spa") == 0)
		return val_bool(v, &cfg->spa, err, errlen);
	if (strcmp(key, "dev") == 0)
		return val_bool(v, &cfg->dev, err, errlen);
	if (strcmp(key, "config_prefix") == 0) {
		if (!*v)
			return fail(err, errlen, "config_prefix must not be empty (it would expose the whole environment)");
		for (const unsigned char *p = (const unsigned char *)v; *p; p++)
			if (!isalnum(*p) && *p != '_')
				return fail(err, errlen, "invalid config prefix '%s' (letters, digits and _ only)", v);
		set_str(&cfg->config_prefix, v);
		return true;
	}
	if (strcmp(key, "threads") == 0) {
		if (!val_uint(v, 0, 1024, &n, err, errlen))
			return false;
		cfg->threads = n;
		return true;
	}
	if (strcmp(key, "user") == 0)
		return val_user(v, &cfg->user, err, errlen);
	if (strcmp(key, "follow_symlinks") == 0)
		return val_bool(v, &cfg->follow_symlinks, err, errlen);
	if (strcmp(key, "health") == 0)
		return val_bool(v, &cfg->health, err, errlen);
	if (strcmp(key, "index") == 0) {
		if (!*v || strchr(v, '/') || strcmp(v, ".") == 0 || strcmp(v, "..") == 0 ||
		    !header_value_ok(v))
			return fail(err, errlen, "invalid index file name '%s' (a plain file name such as index.html)", v);
		set_str(&cfg->index, v);
		return true;
	}
	return fail(err, errlen, "unknown key '%s' in [server]", key);
}

static bool set_log(struct nw_config *cfg, const char *key, const char *v,
		    char *err, size_t errlen)
{
	if (strcmp(key, "level") == 0) {
		static const char *const names[] = { "debug", "info", "warn", "error", NULL };
		int x = 0;
		if (strcasecmp(v, "warning") == 0)
			v = "warn";
		if (!val_enum(v, "log level", names, &x, err, errlen))
			return false;
		cfg->log_level = (enum nw_log_level)x;
		return true;
	}
	if (strcmp(key, "format") == 0) {
		static const char *const names[] = { "console", "json", NULL };
		int x = 0;
		if (!val_enum(v, "log format", names, &x, err, errlen))
			return false;
		cfg->log_format = (enum nw_log_format)x;
		return true;
	}
	if (strcmp(key, "requests") == 0)
		return val_bool(v, &cfg->log_requests, err, errlen);
	if (strcmp(key, "access_log") == 0)
		return val_path(v, &cfg->access_log, true, err, errlen);
	return fail(err, errlen, "unknown key '%s' in [log]", key);
}

static bool ext_ok(const char *ext)
{
	if (!*ext || ext[0] == '.' || ext[strlen(ext) - 1] == '.')
		return false;
	for (const unsigned char *p = (const unsigned char *)ext; *p; p++)
		if (!isalnum(*p) && !strchr("._-+~", *p))
			return false;
	return true;
}

static bool set_cache_rule(struct nw_config *cfg, const char *ext, const char *v,
			   char *err, size_t errlen)
{
	char *lower;
	size_t i;

	if (!ext_ok(ext))
		return fail(err, errlen, "invalid extension '%s' in 'ext.%s' (expected e.g. ext.css)", ext, ext);
	if (!header_value_ok(v))
		return fail(err, errlen, "header value contains control characters (CR, LF...)");
	for (i = 0; i < cfg->n_cache_rules; i++)
		if (strcasecmp(cfg->cache_rules[i].ext, ext) == 0)
			break;
	if (i == cfg->n_cache_rules) {
		if (i == NW_MAX_CACHE_RULES)
			return fail(err, errlen, "too many ext.* cache rules (at most %d)", NW_MAX_CACHE_RULES);
		lower = xstrdup(ext);
		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		cfg->cache_rules[i].ext = lower;
		cfg->cache_rules[i].value = NULL;
		cfg->n_cache_rules++;
	}
	set_str(&cfg->cache_rules[i].value, v);
	return true;
}

static bool set_cache(struct nw_config *cfg, const char *key, const char *v,
		      char *err, size_t errlen)
{
	if (strcmp(key, "html") == 0)
		return val_header(v, &cfg->cache_html, err, errlen);
	if (strcmp(key, "hashed") == 0)
		return val_header(v, &cfg->cache_hashed, err, errlen);
	if (strcmp(key, "default") == 0)
		return val_header(v, &cfg->cache_default, err, errlen);
	if (strncmp(key, "ext.", 4) == 0)
		return set_cache_rule(cfg, key + 4, v, err, errlen);
	return fail(err, errlen, "unknown key '%s' in [cache]", key);
}

/* Headers the server sets itself: a second copy would contradict it. NULL
 * when name is not one, else a hint for the error ("" for none). */
static const char *header_reserved(const char *name)
{
	static const struct { const char *name, *hint; } reserved[] = {
		{ "Content-Length", "" }, { "Transfer-Encoding", "" },
		{ "Connection", "" }, { "Keep-Alive", "" }, { "Upgrade", "" },
		{ "Trailer", "" }, { "TE", "" }, { "Content-Encoding", "" },
		{ "Content-Range", "" }, { "Date", "" },
		{ "Content-Type", "" }, { "ETag", "" },
		{ "Last-Modified", "" }, { "Location", "" }, { "Vary", "" },
		{ "Accept-Ranges", "" }, { "Allow", "" }, { "Retry-After", "" },
		{ "Cache-Control", " (set it in [cache])" },
	};

	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strcasecmp(name, reserved[i].name) == 0)
			return reserved[i].hint;
	return NULL;
}

/* The index of the header.NAME entry named name (case-insensitive), or
 * n_extra_headers when there is none. */
static size_t extra_header_index(const struct nw_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_extra_headers; i++)
		if (strcasecmp(cfg->extra_headers[i].name, name) == 0)
			break;
	return i;
}

static bool set_extra_header(struct nw_config *cfg, const char *name, const char *v,
			     char *err, size_t errlen)
{
	const char *hint = header_reserved(name);
	size_t i;

	if (!nw_token_ok(name, strlen(name)))
		return fail(err, errlen, "invalid header name '%s' (letters, digits and !#$%%&'*+-.^_`|~ only)", name);
	if (hint)
		return fail(err, errlen, "header '%s' is managed by the server and cannot be set%s", name, hint);
	if (!header_value_ok(v))
		return fail(err, errlen, "header value contains control characters (CR, LF...)");
	i = extra_header_index(cfg, name);
	if (!*v) {
		/* An empty value removes a header set earlier. */
		if (i < cfg->n_extra_headers) {
			free(cfg->extra_headers[i].name);
			free(cfg->extra_headers[i].value);
			memmove(&cfg->extra_headers[i], &cfg->extra_headers[i + 1],
				(cfg->n_extra_headers - i - 1) * sizeof(cfg->extra_headers[0]));
			cfg->n_extra_headers--;
		}
		return true;
	}
	if (i == cfg->n_extra_headers) {
		if (i == NW_MAX_EXTRA_HEADERS)
			return fail(err, errlen, "too many header.* entries (at most %d)", NW_MAX_EXTRA_HEADERS);
		cfg->extra_headers[i].name = xstrdup(name);
		cfg->extra_headers[i].value = NULL;
		cfg->n_extra_headers++;
	} else {
		set_str(&cfg->extra_headers[i].name, name);
	}
	set_str(&cfg->extra_headers[i].value, v);
	return true;
}

static bool set_security(struct nw_config *cfg, const char *key, const char *v,
			 char *err, size_t errlen)
{
	static const struct { const char *key; size_t off; } hdrs[] = {
		{ "content_type_options", offsetof(struct nw_config, content_type_options) },
		{ "frame_options", offsetof(struct nw_config, frame_options) },
		{ "referrer_policy", offsetof(struct nw_config, referrer_policy) },
		{ "hsts", offsetof(struct nw_config, hsts) },
		{ "permissions_policy", offsetof(struct nw_config, permissions_policy) },
		{ "dns_prefetch", offsetof(struct nw_config, dns_prefetch) },
		{ "csp", offsetof(struct nw_config, csp) },
	};

	if (strcmp(key, "enabled") == 0)
		return val_bool(v, &cfg->security_headers, err, errlen);
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
		if (strcmp(key, hdrs[i].key) == 0)
			return val_header(v, (char **)((char *)cfg + hdrs[i].off), err, errlen);
	if (strncmp(key, "header.", 7) == 0)
		return set_extra_header(cfg, key + 7, v, err, errlen);
	return fail(err, errlen, "unknown key '%s' in [security]", key);
}

static bool set_compression(struct nw_config *cfg, const char *key, const char *v,
			    char *err, size_t errlen)
{
	if (strcmp(key, "enabled") == 0)
		return val_bool(v, &cfg->compress, err, errlen);
	if (strcmp(key, "gzip") == 0)
		return val_bool(v, &cfg->gzip, err, errlen);
	if (strcmp(key, "brotli") == 0)
		return val_bool(v, &cfg->brotli, err, errlen);
	if (strcmp(key, "zstd") == 0)
		return val_bool(v, &cfg->zstd, err, errlen);
	if (strcmp(key, "min_size") == 0)
		return val_size(v, 0, UINT64_C(1) << 30, &cfg->min_compress_size, err, errlen);
	return fail(err, errlen, "unknown key '%s' in [compression]", key);
}

static bool set_limits(struct nw_config *cfg, const char *key, const char *v,
		       char *err, size_t errlen)
{
	uint64_t sz = 0;

	if (strcmp(key, "max_memory_file") == 0)
		return val_size(v, 0, UINT64_C(1) << 40, &cfg->max_memory_file, err, errlen);
	if (strcmp(key, "max_connections") == 0)
		return val_uint(v, 1, 1000000, &cfg->max_connections, err, errlen);
	if (strcmp(key, "per_ip_connections") == 0)
		return val_uint(v, 0, 1000000, &cfg->per_ip_connections, err, errlen);
	if (strcmp(key, "timeout") == 0)
		return val_uint(v, 0, 86400, &cfg->timeout, err, errlen);
	if (strcmp(key, "header_timeout") == 0)
		return val_uint(v, 0, 86400, &cfg->header_timeout, err, errlen);
	if (strcmp(key, "max_header_size") == 0) {
		if (!val_size(v, 1024, 16u << 20, &sz, err, errlen))
			return false;
		cfg->max_header_size = (size_t)sz;
		return true;
	}
	if (strcmp(key, "max_url_length") == 0) {
		if (!val_size(v, 64, 16u << 20, &sz, err, errlen))
			return false;
		cfg->max_url_length = (size_t)sz;
		return true;
	}
	return fail(err, errlen, "unknown key '%s' in [limits]", key);
}

static bool set_xdp(struct nw_config *cfg, const char *key, const char *v,
		    char *err, size_t errlen)
{
	int x = 0;

	if (strcmp(key, "mode") == 0) {
		static const char *const names[] = { "auto", "on", "off", NULL };
		bool b;
		if (strcasecmp(v, "auto") != 0 && nw_parse_bool(v, &b)) {
			cfg->xdp = b ? NW_XDP_ON : NW_XDP_OFF;
			return true;
		}
		if (!val_enum(v, "xdp mode", names, &x, err, errlen))
			return false;
		cfg->xdp = (enum nw_xdp_mode)x;
		return true;
	}
	if (strcmp(key, "iface") == 0)
		return val_iface_list(v, &cfg->xdp_iface, err, errlen);
	if (strcmp(key, "attach") == 0) {
		static const char *const names[] = { "auto", "native", "generic", NULL };
		if (!val_enum(v, "xdp attach mode", names, &x, err, errlen))
			return false;
		cfg->xdp_attach = (enum nw_xdp_attach)x;
		return true;
	}
	if (strcmp(key, "socket") == 0)
		return val_abs_path(v, 107, &cfg->xdp_socket, err, errlen);
	if (strcmp(key, "pin_dir") == 0)
		return val_abs_path(v, 200, &cfg->xdp_pin_dir, err, errlen);
	if (strcmp(key, "max_response") == 0)
		return val_uint(v, NW_XDP_MAX_RESPONSE_MIN, NW_XDP_MAX_RESPONSE_MAX,
				&cfg->xdp_max_response, err, errlen);
	if (strcmp(key, "flow_entries") == 0)
		return val_uint(v, NW_XDP_FLOW_ENTRIES_MIN, NW_XDP_FLOW_ENTRIES_MAX,
				&cfg->xdp_flow_entries, err, errlen);
	if (strcmp(key, "cache_entries") == 0)
		return val_uint(v, NW_XDP_CACHE_ENTRIES_MIN, NW_XDP_CACHE_ENTRIES_MAX,
				&cfg->xdp_cache_entries, err, errlen);
	if (strcmp(key, "allowed_users") == 0)
		return val_user_list(v, &cfg->xdp_allowed_users, err, errlen);
	if (strcmp(key, "drain_ms") == 0)
		return val_uint(v, 0, NW_XDP_DRAIN_MS_MAX, &cfg->xdp_drain_ms, err, errlen);
	return fail(err, errlen, "unknown key '%s' in [xdp]", key);
}

static const struct {
	const char *name;
	bool (*set)(struct nw_config *, const char *, const char *, char *, size_t);
} sections[] = {
	{ "server", set_server },
	{ "log", set_log },
	{ "cache", set_cache },
	{ "security", set_security },
	{ "compression", set_compression },
	{ "limits", set_limits },
	{ "xdp", set_xdp },
};

static bool known_section(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strlen(sections[i].name) == len &&
		    strncasecmp(name, sections[i].name, len) == 0)
			return true;
	return false;
}

bool nw_config_set(struct nw_config *cfg, const char *section,
		   const char *key, const char *value, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!section || !*section)
		return fail(err, errlen, "key '%s' is outside of a [section]", key ? key : "");
	if (!key || !value)
		return fail(err, errlen, "missing key or value");
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(section, sections[i].name) == 0)
			return sections[i].set(cfg, key, value, err, errlen);
	return fail(err, errlen, "unknown section [%s]", section);
}

/* ---------------------------------------------------------------- INI */

struct ini_ctx {
	struct nw_config *cfg;
	const char *name;  /* file name for messages */
	const char *text;  /* nw_config_load_string: the rest of the text */
	FILE *fp;          /* nw_config_load_file */
	int line;          /* line last handed to inih */
	int err_line;      /* first line with an error, 0: none */
	char msg[600];
};

static int next_byte(struct ini_ctx *ctx)
{
	if (ctx->fp)
		return getc(ctx->fp);
	return *ctx->text ? (unsigned char)*ctx->text++ : EOF;
}

/* A "[name]" line names a known section and has nothing after the ']'
 * (inih ignores both; a section with no keys would pass unnoticed). */
static bool section_line_ok(struct ini_ctx *ctx, const char *p)
{
	const char *end;

	if (ctx->line == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '[' || !(end = strchr(p, ']')))
		return true; /* not a section line, or inih's syntax error */
	if (!known_section(p + 1, (size_t)(end - p - 1))) {
		snprintf(ctx->msg, sizeof(ctx->msg), "unknown section %.*s",
			 (int)(end - p + 1 > 60 ? 60 : end - p + 1), p);
		return false;
	}
	for (end++; isspace((unsigned char)*end); end++)
		;
	if (*end) {
		size_t n = strcspn(end, "\r\n");

		snprintf(ctx->msg, sizeof(ctx->msg),
			 "text after the section name: '%.*s'", (int)(n > 40 ? 40 : n), end);
		return false;
	}
	return true;
}

/*
 * Hands inih one line at a time so ctx->line is the line being parsed: at
 * most size - 2 bytes before its "\n" or "\r\n" (inih's buffer of size
 * holds it, a "\n" and the NUL).
 */
static char *ini_read_line(char *buf, int size, void *stream)
{
	struct ini_ctx *ctx = stream;
	size_t n = 0, limit = (size_t)size - 2;
	int c;

	if (ctx->err_line)
		return NULL;
	while ((c = next_byte(ctx)) != EOF && c != '\n') {
		if (c == '\0') {
			snprintf(ctx->msg, sizeof(ctx->msg), "NUL byte in line");
			goto bad;
		}
		if (n > limit) /* one more than the limit: a '\r' at most */
			goto too_long;
		buf[n++] = (char)c;
	}
	if (n == 0 && c == EOF)
		return NULL;
	if (c == '\n' && n > 0 && buf[n - 1] == '\r')
		n--;
	if (n > limit)
		goto too_long;
	if (c == '\n')
		buf[n++] = '\n';
	buf[n] = '\0';
	ctx->line++;
	if (!section_line_ok(ctx, buf)) {
		ctx->err_line = ctx->line;
		return NULL;
	}
	return buf;
too_long:
	snprintf(ctx->msg, sizeof(ctx->msg), "line too long (at most %zu bytes)",
		 limit);
bad:
	ctx->line++;
	ctx->err_line = ctx->line;
	return NULL;
}

static int ini_handler_cb(void *user, const char *section, const char *name,
			  const char *value)
{
	struct ini_ctx *ctx = user;
	char err[400];
	char sec[24], key[128];
	size_t i;

	if (ctx->err_line)
		return 0;
	if (!*name) {
		snprintf(ctx->msg, sizeof(ctx->msg), "syntax error (no key before '=')");
		ctx->err_line = ctx->line;
		return 0;
	}
	/* Section and key names are case-insensitive; header.<Name> keeps its case. */
	for (i = 0; section[i] && i + 1 < sizeof(sec); i++)
		sec[i] = (char)tolower((unsigned char)section[i]);
	sec[i] = '\0';
	if (section[i]) {
		snprintf(ctx->msg, sizeof(ctx->msg), "unknown section [%.40s...]", section);
		ctx->err_line = ctx->line;
		return 0;
	}
	for (i = 0; name[i] && i + 1 < sizeof(key); i++) {
		if ((strcmp(sec, "security") == 0 && i >= 7 && strncasecmp(name, "header.", 7) == 0) ||
		    (strcmp(sec, "cache") == 0 && i >= 4 && strncasecmp(name, "ext.", 4) == 0))
			key[i] = name[i];
		else
			key[i] = (char)tolower((unsigned char)name[i]);
	}
	key[i] = '\0';
	if (name[i]) {
		snprintf(ctx->msg, sizeof(ctx->msg), "key too long: '%.40s...'", name);
		ctx->err_line = ctx->line;
		return 0;
	}
	if (!nw_config_set(ctx->cfg, sec, key, value, err, sizeof(err))) {
		if (!*sec || strncmp(err, "unknown ", 8) == 0)
			snprintf(ctx->msg, sizeof(ctx->msg), "%s", err);
		else
			snprintf(ctx->msg, sizeof(ctx->msg), "[%s] %s: %s", sec, key, err);
		ctx->err_line = ctx->line;
		return 0;
	}
	return 1;
}

static bool ini_run(struct ini_ctx *ctx, char *err, size_t errlen)
{
	int rc;

	/* Process-wide inih switches (Debian builds inih with them as variables):
	 * whole-line comments only ('#' and ';' may appear in header values),
	 * no indented continuation lines, long lines, stop at the first error. */
	ini_allow_multiline = false;
	ini_allow_inline_comments = false;
	ini_allow_bom = true;
	ini_allow_no_value = false;
	ini_stop_on_first_error = true;
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_max_line = NW_INI_LINE_MAX;
	ini_initial_alloc = NW_INI_LINE_MAX;

	rc = ini_parse_stream(ini_read_line, ctx, ini_handler_cb, ctx);
	if (ctx->err_line)
		return fail(err, errlen, "%s:%d: %s", ctx->name, ctx->err_line, ctx->msg);
	if (rc == -2)
		return fail(err, errlen, "%s: out of memory", ctx->name);
	if (rc != 0)
		return fail(err, errlen,
			    "%s:%d: syntax error (expected [section], key = value or a # comment)",
			    ctx->name, rc);
	if (err && errlen)
		err[0] = '\0';
	return true;
}

bool nw_config_load_string(struct nw_config *cfg, const char *text,
			   const char *name, char *err, size_t errlen)
{
	struct ini_ctx ctx = { .cfg = cfg, .name = name ? name : "(string)",
			       .text = text ? text : "" };

	return ini_run(&ctx, err, errlen);
}

bool nw_config_load_file(struct nw_config *cfg, const char *path,
			 char *err, size_t errlen)
{
	struct ini_ctx ctx = { .cfg = cfg, .name = path };
	struct stat st;
	bool ok;

	ctx.fp = fopen(path, "re");
	if (!ctx.fp)
		return fail(err, errlen, "config file %s: %s", path, strerror(errno));
	if (fstat(fileno(ctx.fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(ctx.fp);
		return fail(err, errlen, "config file %s: %s", path, strerror(EISDIR));
	}
	ok = ini_run(&ctx, err, errlen);
	if (ok && ferror(ctx.fp))
		ok = fail(err, errlen, "config file %s: read error", path);
	fclose(ctx.fp);
	return ok;
}

/* ---------------------------------------------------------------- cache */

const char *nw_config_cache_control(const struct nw_config *cfg,
				    const char *path, const char *content_type)
{
	const char *base, *best = NULL;
	size_t blen, best_len = 0;

	if (!path)
		path = "";
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	blen = strlen(base);
	/* Longest matching suffix wins, so ext.gz and ext.tar.gz can coexist. */
	for (size_t i = 0; i < cfg->n_cache_rules; i++) {
		size_t elen = strlen(cfg->cache_rules[i].ext);
		if (elen + 1 <= blen && elen > best_len &&
		    base[blen - elen - 1] == '.' &&
		    strcasecmp(base + blen - elen, cfg->cache_rules[i].ext) == 0) {
			best = cfg->cache_rules[i].value;
			best_len = elen;
		}
	}
	if (best)
		return best;
	if (*base && nw_path_is_hashed_asset(path))
		return cfg->cache_hashed;
	if (!content_type)
		content_type = nw_mime_type(path);
	if (nw_mime_is_html(content_type))
		return cfg->cache_html;
	return cfg->cache_default;
}

bool nw_config_extra_header(const struct nw_config *cfg, const char *name)
{
	return extra_header_index(cfg, name) < cfg->n_extra_headers;
}
