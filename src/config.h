/*
 * nano-web settings: defaults, the INI file (inih) and the command line.
 * Pure apart from reading the INI file: loading from a string is exposed for
 * unit tests. Every key here is documented in man/nanoweb.ini.5.
 */
#ifndef NW_CONFIG_H
#define NW_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum nw_log_level { NW_LOG_DEBUG = 0, NW_LOG_INFO, NW_LOG_WARN, NW_LOG_ERROR };
enum nw_log_format { NW_LOG_CONSOLE = 0, NW_LOG_JSON };
enum nw_xdp_mode { NW_XDP_AUTO = 0, NW_XDP_ON, NW_XDP_OFF };
enum nw_xdp_attach { NW_ATTACH_AUTO = 0, NW_ATTACH_NATIVE, NW_ATTACH_GENERIC };

#define NW_MAX_CACHE_RULES 32
#define NW_MAX_EXTRA_HEADERS 16

struct nw_cache_rule {
	char *ext;   /* extension without dot, lower case: "css" */
	char *value; /* Cache-Control value */
};

struct nw_header {
	char *name;
	char *value;
};

struct nw_config {
	/* [server] */
	char *root;              /* directory to serve; NULL: the bundled www/ */
	char *listen;            /* address; NULL or "" or "::": dual-stack any */
	uint16_t port;           /* 3000 */
	bool spa;                /* unknown page routes get index.html */
	bool dev;                /* watch the root with inotify and reload */
	char *config_prefix;     /* "VITE_" */
	unsigned threads;        /* 0: one per core */
	char *user;              /* user to drop to when started as root ("nobody"); "" keeps root */
	bool follow_symlinks;    /* serve symlinks that resolve outside the root */
	bool health;             /* /_health endpoint (true) */
	char *index;             /* "index.html" */
	/* [log] */
	enum nw_log_level log_level;   /* info */
	enum nw_log_format log_format; /* console */
	bool log_requests;             /* false */
	char *access_log;              /* NULL/"" or "-": stdout; else a file path */
	/* [cache] */
	char *cache_html;        /* "no-cache" */
	char *cache_hashed;      /* "public, max-age=31536000, immutable" */
	char *cache_default;     /* "public, max-age=3600" */
	struct nw_cache_rule cache_rules[NW_MAX_CACHE_RULES]; /* "ext.css = ..." */
	size_t n_cache_rules;
	/* [security] */
	bool security_headers;   /* true */
	char *content_type_options; /* "nosniff" ("" omits the header; same for all below) */
	char *frame_options;     /* "SAMEORIGIN" */
	char *referrer_policy;   /* "strict-origin-when-cross-origin" */
	char *hsts;              /* "max-age=31536000; includeSubDomains" */
	char *permissions_policy;/* "camera=(), microphone=(), geolocation=()" */
	char *dns_prefetch;      /* "off" (X-DNS-Prefetch-Control) */
	char *csp;               /* "" (Content-Security-Policy, off by default) */
	struct nw_header extra_headers[NW_MAX_EXTRA_HEADERS]; /* "header.X-Foo = bar" */
	size_t n_extra_headers;
	/* [compression] */
	bool compress;           /* true */
	bool gzip, brotli, zstd; /* each true */
	uint64_t min_compress_size; /* 256 bytes: smaller bodies are not compressed */
	/* [limits] */
	uint64_t max_memory_file; /* 8 MiB: larger files are served from disk */
	unsigned max_connections; /* 10000 */
	unsigned per_ip_connections; /* 0: unlimited */
	unsigned timeout;         /* idle/slow-client timeout in seconds (30) */
	unsigned header_timeout;  /* seconds to deliver a request head (20); 0: none */
	size_t max_header_size;   /* bytes of request line + headers (16384) */
	size_t max_url_length;    /* bytes of request target (8192) -> 414 */
	/* [xdp] */
	enum nw_xdp_mode xdp;     /* auto */
	char *xdp_iface;          /* comma separated; NULL/"": every interface that is up */
	enum nw_xdp_attach xdp_attach; /* auto */
	char *xdp_socket;         /* "/run/nanoweb/xdpd.sock" */
	char *xdp_pin_dir;        /* "/sys/fs/bpf/nanoweb" */
	unsigned xdp_max_response; /* cap on a response XDP may send, bytes (14600) */
	unsigned xdp_flow_entries; /* flow map size (65536) */
	unsigned xdp_cache_entries; /* cache map size (4096) */
	char *xdp_allowed_users;  /* uids/names allowed to change the maps ("" : root and the nano-web user) */
	unsigned xdp_drain_ms;    /* nanoweb-xdpd: clean-stop drain of XDP-owned connections, ms (2000) */
};

/*
 * Ranges of the [xdp] numbers, shared by nano-web and nanoweb-xdpd (which
 * reads the same file with nw_config_load_file) and by the helper's flags.
 */
#define NW_XDP_MAX_RESPONSE_MIN 64
#define NW_XDP_MAX_RESPONSE_MAX 16000     /* NWX_ANSWER_MAX: four map values */
#define NW_XDP_MAX_RESPONSE_DEFAULT 14600 /* NWX_DEFAULT_MAX_RESPONSE */
#define NW_XDP_FLOW_ENTRIES_MIN 16
#define NW_XDP_FLOW_ENTRIES_MAX (1u << 24)
#define NW_XDP_CACHE_ENTRIES_MIN 1
#define NW_XDP_CACHE_ENTRIES_MAX (1u << 20)
#define NW_XDP_DRAIN_MS_MAX 600000
#define NW_XDP_MAX_IFACES 64 /* names in [xdp] iface */

/* Fills defaults. Strings are malloc'd; release with nw_config_free. */
void nw_config_init(struct nw_config *cfg);
void nw_config_free(struct nw_config *cfg);

/*
 * INI syntax (inih): "[section]" headers, "key = value" (or "key: value")
 * lines, whole-line comments starting with '#' or ';'. There are no inline
 * comments: '#' and ';' inside a value are part of it (CSP, HSTS). No
 * continuation lines; a line may be up to 8190 bytes (not counting its
 * newline). Section and key names
 * are case-insensitive (the Name in header.<Name> keeps its case). Empty
 * values are allowed: for root, listen, access_log and xdp.iface "" means
 * the default; for header values it means "do not send"; "header.X =" removes
 * X. A repeated key: the last one wins. Booleans: true/false, yes/no, on/off,
 * 1/0. Sizes: bytes with an optional K, M, G (binary) and optional B/iB.
 *
 * Loading stops at the first error. cfg may then hold the keys read before
 * it, so load into a fresh config (nw_config_init) and swap on success.
 * The loaders set inih's process-wide switches (Debian's libinih exports
 * them as variables); nothing else in nano-web uses inih.
 *
 * Applies an INI file. On error returns false and writes
 * "FILE:LINE: message" into err (unknown section or key, bad value,
 * syntax error); an unreadable file is "FILE: strerror".
 */
bool nw_config_load_file(struct nw_config *cfg, const char *path,
			 char *err, size_t errlen);
/* Same, from text in memory; `name` is used in messages. */
bool nw_config_load_string(struct nw_config *cfg, const char *text,
			   const char *name, char *err, size_t errlen);

/*
 * Sets one key as if read from the INI file (used by the CLI overrides too).
 * section and key are lower case ("server", "port"; "ext.css",
 * "header.X-Foo"). Returns false with a message (without file:line) in err;
 * value errors do not name the key ("invalid port 'abc' (expected 1-65535)"),
 * callers prefix it. On failure the setting is unchanged.
 */
bool nw_config_set(struct nw_config *cfg, const char *section,
		   const char *key, const char *value, char *err, size_t errlen);

/* Parsers shared with the CLI. Sizes accept K, M, G, T suffixes (binary). */
bool nw_parse_bool(const char *s, bool *out);
bool nw_parse_size(const char *s, uint64_t *out);
bool nw_parse_uint(const char *s, unsigned long max, unsigned long *out);

/*
 * Cache-Control value for a URL path and its Content-Type under cfg:
 * an ext.<extension> rule matching the end of the last path segment
 * (case-insensitive, the longest wins: ext.tar.gz over ext.gz), else
 * cache_hashed for nw_path_is_hashed_asset, else cache_html when the type is
 * HTML, else cache_default. content_type NULL: derived from the path.
 * The result may be "" (configured empty): then send no Cache-Control.
 */
const char *nw_config_cache_control(const struct nw_config *cfg,
				    const char *path, const char *content_type);

/* Whether a [security] header.NAME entry names this header
 * (case-insensitive): it then replaces the named key's header. */
bool nw_config_extra_header(const struct nw_config *cfg, const char *name);

#endif
