/* Unit tests for src/config.c (defaults, parsers, INI, cache rules) and
 * src/cli.c (command line). */
#include "config.h"
#include "cli.h"
#include "check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[1024];

/* Loads `text` into a fresh config; the caller frees it. */
static bool load(struct nw_config *cfg, const char *text)
{
	nw_config_init(cfg);
	return nw_config_load_string(cfg, text, "t.ini", err, sizeof(err));
}

/* Expects `text` to fail with a message containing `want`. */
static void load_fails(const char *text, const char *want)
{
	struct nw_config cfg;

	err[0] = '\0';
	CHECK(!load(&cfg, text));
	if (!strstr(err, want)) {
		check_failed++;
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, want);
	} else {
		check_passed++;
	}
	nw_config_free(&cfg);
}

static void test_defaults(void)
{
	struct nw_config c;

	nw_config_init(&c);
	CHECK(c.root == NULL);
	CHECK(c.listen == NULL);
	CHECK_INT(c.port, 3000);
	CHECK(!c.spa && !c.dev);
	CHECK_STR(c.config_prefix, "VITE_");
	CHECK_INT(c.threads, 0);
	CHECK_STR(c.user, "nobody");
	CHECK(!c.follow_symlinks);
	CHECK(c.health);
	CHECK_STR(c.index, "index.html");
	CHECK_INT(c.log_level, NW_LOG_INFO);
	CHECK_INT(c.log_format, NW_LOG_CONSOLE);
	CHECK(!c.log_requests);
	CHECK(c.access_log == NULL);
	CHECK_STR(c.cache_html, "no-cache");
	CHECK_STR(c.cache_hashed, "public, max-age=31536000, immutable");
	CHECK_STR(c.cache_default, "public, max-age=3600");
	CHECK_INT(c.n_cache_rules, 0);
	CHECK(c.security_headers);
	CHECK_STR(c.content_type_options, "nosniff");
	CHECK_STR(c.frame_options, "SAMEORIGIN");
	CHECK_STR(c.referrer_policy, "strict-origin-when-cross-origin");
	CHECK_STR(c.hsts, "max-age=31536000; includeSubDomains");
	CHECK_STR(c.permissions_policy, "camera=(), microphone=(), geolocation=()");
	CHECK_STR(c.dns_prefetch, "off");
	CHECK_STR(c.csp, "");
	CHECK_INT(c.n_extra_headers, 0);
	CHECK(c.compress && c.gzip && c.brotli && c.zstd);
	CHECK_INT(c.min_compress_size, 256);
	CHECK_INT(c.max_memory_file, 8 << 20);
	CHECK_INT(c.max_connections, 10000);
	CHECK_INT(c.per_ip_connections, 0);
	CHECK_INT(c.timeout, 30);
	CHECK_INT(c.header_timeout, 20);
	CHECK_INT(c.max_header_size, 16384);
	CHECK_INT(c.max_url_length, 8192);
	CHECK_INT(c.xdp, NW_XDP_AUTO);
	CHECK(c.xdp_iface == NULL);
	CHECK_INT(c.xdp_attach, NW_ATTACH_AUTO);
	CHECK_STR(c.xdp_socket, "/run/nanoweb/xdpd.sock");
	CHECK_STR(c.xdp_pin_dir, "/sys/fs/bpf/nanoweb");
	CHECK_INT(c.xdp_max_response, 14600);
	CHECK_INT(c.xdp_flow_entries, 65536);
	CHECK_INT(c.xdp_cache_entries, 4096);
	CHECK_STR(c.xdp_allowed_users, "");
	nw_config_free(&c);
	CHECK(c.config_prefix == NULL);
	nw_config_free(&c); /* twice is harmless */
}

static void test_parsers(void)
{
	bool b = false;
	uint64_t sz = 0;
	unsigned long n = 0;

	CHECK(nw_parse_bool("true", &b) && b);
	CHECK(nw_parse_bool("YES", &b) && b);
	CHECK(nw_parse_bool("on", &b) && b);
	CHECK(nw_parse_bool("1", &b) && b);
	CHECK(nw_parse_bool("false", &b) && !b);
	CHECK(nw_parse_bool("No", &b) && !b);
	CHECK(nw_parse_bool("off", &b) && !b);
	CHECK(nw_parse_bool("0", &b) && !b);
	CHECK(!nw_parse_bool("", &b));
	CHECK(!nw_parse_bool("2", &b));
	CHECK(!nw_parse_bool("truee", &b));
	CHECK(!nw_parse_bool(NULL, &b));

	CHECK(nw_parse_size("0", &sz) && sz == 0);
	CHECK(nw_parse_size("512", &sz) && sz == 512);
	CHECK(nw_parse_size("64K", &sz) && sz == 65536);
	CHECK(nw_parse_size("64k", &sz) && sz == 65536);
	CHECK(nw_parse_size("8M", &sz) && sz == 8u << 20);
	CHECK(nw_parse_size("1T", &sz) && sz == UINT64_C(1) << 40);
	CHECK(nw_parse_size("2tib", &sz) && sz == UINT64_C(2) << 40);
	CHECK(!nw_parse_size("16777216T", &sz));
	CHECK(nw_parse_size("8MiB", &sz) && sz == 8u << 20);
	CHECK(nw_parse_size("8MB", &sz) && sz == 8u << 20);
	CHECK(nw_parse_size("2G", &sz) && sz == UINT64_C(2) << 30);
	CHECK(nw_parse_size("100B", &sz) && sz == 100);
	CHECK(!nw_parse_size("", &sz));
	CHECK(!nw_parse_size("K", &sz));
	CHECK(!nw_parse_size("-1", &sz));
	CHECK(!nw_parse_size("1.5M", &sz));
	CHECK(!nw_parse_size("10P", &sz));
	CHECK(!nw_parse_size("10 K", &sz));
	CHECK(!nw_parse_size("18446744073709551616", &sz));
	CHECK(!nw_parse_size("17179869184G", &sz));
	CHECK(nw_parse_size("18446744073709551615", &sz) && sz == UINT64_MAX);

	CHECK(nw_parse_uint("0", 10, &n) && n == 0);
	CHECK(nw_parse_uint("10", 10, &n) && n == 10);
	CHECK(!nw_parse_uint("11", 10, &n));
	CHECK(!nw_parse_uint("", 10, &n));
	CHECK(!nw_parse_uint("+1", 10, &n));
	CHECK(!nw_parse_uint("-1", 10, &n));
	CHECK(!nw_parse_uint(" 1", 10, &n));
	CHECK(!nw_parse_uint("1 ", 10, &n));
	CHECK(!nw_parse_uint("0x10", 100, &n));
	CHECK(!nw_parse_uint("99999999999999999999999", ~0UL, &n));
}

static const char full_ini[] =
	"# every section\n"
	"; both comment styles\n"
	"[server]\n"
	"root = /srv/www\n"
	"listen = 127.0.0.1\n"
	"port = 8080\n"
	"spa = yes\n"
	"dev = on\n"
	"config_prefix = APP_\n"
	"threads = 4\n"
	"user = www-data\n"
	"follow_symlinks = true\n"
	"health = false\n"
	"index = home.html\n"
	"\n"
	"[log]\n"
	"level = debug\n"
	"format = json\n"
	"requests = 1\n"
	"access_log = /var/log/nanoweb/access.log\n"
	"[cache]\n"
	"html = no-cache\n"
	"hashed = public, max-age=1, immutable\n"
	"default = public, max-age=60\n"
	"ext.css = public, max-age=600\n"
	"ext.WASM = public, max-age=7\n"
	"[security]\n"
	"enabled = false\n"
	"content_type_options =\n"
	"frame_options = DENY\n"
	"referrer_policy = no-referrer\n"
	"hsts = max-age=63072000; includeSubDomains; preload\n"
	"permissions_policy = camera=()\n"
	"dns_prefetch = on\n"
	"csp = default-src 'self'; img-src * ; script-src 'self' # not a comment\n"
	"header.X-Robots-Tag = noindex\n"
	"header.Access-Control-Allow-Origin = *\n"
	"[compression]\n"
	"enabled = off\n"
	"gzip = no\n"
	"brotli = false\n"
	"zstd = 0\n"
	"min_size = 1K\n"
	"[limits]\n"
	"max_memory_file = 16M\n"
	"max_connections = 500\n"
	"per_ip_connections = 20\n"
	"timeout = 10\n"
	"header_timeout = 0\n"
	"max_header_size = 32K\n"
	"max_url_length = 4096\n"
	"[xdp]\n"
	"mode = on\n"
	"iface = eth0, eth1\n"
	"attach = generic\n"
	"socket = /run/x.sock\n"
	"pin_dir = /sys/fs/bpf/x\n"
	"max_response = 1200\n"
	"flow_entries = 1024\n"
	"cache_entries = 128\n"
	"allowed_users = root, 1000\n";

static void test_ini_full(void)
{
	struct nw_config c;

	CHECK(load(&c, full_ini));
	CHECK_STR(err, "");
	CHECK_STR(c.root, "/srv/www");
	CHECK_STR(c.listen, "127.0.0.1");
	CHECK_INT(c.port, 8080);
	CHECK(c.spa && c.dev);
	CHECK_STR(c.config_prefix, "APP_");
	CHECK_INT(c.threads, 4);
	CHECK_STR(c.user, "www-data");
	CHECK(c.follow_symlinks);
	CHECK(!c.health);
	CHECK_STR(c.index, "home.html");
	CHECK_INT(c.log_level, NW_LOG_DEBUG);
	CHECK_INT(c.log_format, NW_LOG_JSON);
	CHECK(c.log_requests);
	CHECK_STR(c.access_log, "/var/log/nanoweb/access.log");
	CHECK_STR(c.cache_html, "no-cache");
	CHECK_STR(c.cache_hashed, "public, max-age=1, immutable");
	CHECK_STR(c.cache_default, "public, max-age=60");
	CHECK_INT(c.n_cache_rules, 2);
	CHECK_STR(c.cache_rules[0].ext, "css");
	CHECK_STR(c.cache_rules[0].value, "public, max-age=600");
	CHECK_STR(c.cache_rules[1].ext, "wasm");
	CHECK(!c.security_headers);
	CHECK_STR(c.content_type_options, "");
	CHECK_STR(c.frame_options, "DENY");
	CHECK_STR(c.referrer_policy, "no-referrer");
	CHECK_STR(c.hsts, "max-age=63072000; includeSubDomains; preload");
	CHECK_STR(c.permissions_policy, "camera=()");
	CHECK_STR(c.dns_prefetch, "on");
	/* No inline comments: ';' and '#' are part of header values. */
	CHECK_STR(c.csp, "default-src 'self'; img-src * ; script-src 'self' # not a comment");
	CHECK_INT(c.n_extra_headers, 2);
	CHECK_STR(c.extra_headers[0].name, "X-Robots-Tag");
	CHECK_STR(c.extra_headers[0].value, "noindex");
	CHECK_STR(c.extra_headers[1].name, "Access-Control-Allow-Origin");
	CHECK_STR(c.extra_headers[1].value, "*");
	CHECK(!c.compress && !c.gzip && !c.brotli && !c.zstd);
	CHECK_INT(c.min_compress_size, 1024);
	CHECK_INT(c.max_memory_file, 16 << 20);
	CHECK_INT(c.max_connections, 500);
	CHECK_INT(c.per_ip_connections, 20);
	CHECK_INT(c.timeout, 10);
	CHECK_INT(c.header_timeout, 0);
	CHECK_INT(c.max_header_size, 32768);
	CHECK_INT(c.max_url_length, 4096);
	CHECK_INT(c.xdp, NW_XDP_ON);
	CHECK_STR(c.xdp_iface, "eth0, eth1");
	CHECK_INT(c.xdp_attach, NW_ATTACH_GENERIC);
	CHECK_STR(c.xdp_socket, "/run/x.sock");
	CHECK_STR(c.xdp_pin_dir, "/sys/fs/bpf/x");
	CHECK_INT(c.xdp_max_response, 1200);
	CHECK_INT(c.xdp_flow_entries, 1024);
	CHECK_INT(c.xdp_cache_entries, 128);
	CHECK_STR(c.xdp_allowed_users, "root, 1000");
	nw_config_free(&c);
}

static void test_ini_details(void)
{
	struct nw_config c;

	/* Empty text, comments only, CRLF, BOM, case-insensitive names. */
	CHECK(load(&c, ""));
	nw_config_free(&c);
	CHECK(load(&c, "# nothing\n; here\n\n"));
	nw_config_free(&c);
	CHECK(load(&c, "\xef\xbb\xbf[Server]\r\nPort = 81\r\n"));
	CHECK_INT(c.port, 81);
	nw_config_free(&c);
	/* No trailing newline. */
	CHECK(load(&c, "[server]\nport=82"));
	CHECK_INT(c.port, 82);
	nw_config_free(&c);
	/* Duplicate keys: last wins; sections may repeat. */
	CHECK(load(&c, "[server]\nport = 1\nport = 2\n[log]\nlevel=warn\n[server]\nport = 3\n"));
	CHECK_INT(c.port, 3);
	CHECK_INT(c.log_level, NW_LOG_WARN);
	nw_config_free(&c);
	/* Duplicate rules and headers replace; an empty header value removes. */
	CHECK(load(&c, "[cache]\next.css = a\next.CSS = b\n[security]\n"
		       "header.X-A = 1\nheader.x-a = 2\nheader.X-B = 3\nheader.X-A =\n"));
	CHECK_INT(c.n_cache_rules, 1);
	CHECK_STR(c.cache_rules[0].value, "b");
	CHECK_INT(c.n_extra_headers, 1);
	CHECK_STR(c.extra_headers[0].name, "X-B");
	nw_config_free(&c);
	/* Empty root / listen mean the defaults. */
	CHECK(load(&c, "[server]\nroot = /x\nroot =\nlisten = ::1\n"));
	CHECK(c.root == NULL);
	CHECK_STR(c.listen, "::1");
	nw_config_free(&c);
	CHECK(load(&c, "[server]\nlisten = [::1]\n"));
	CHECK_STR(c.listen, "::1");
	nw_config_free(&c);
	load_fails("[server]\nlisten = [127.0.0.1]\n", "brackets hold an IPv6 address");
	load_fails("[server]\nlisten = []\n", "t.ini:2: [server] listen: invalid listen address");
	CHECK(load(&c, "[server]\nlisten = 10.0.0.1\nlisten = *\n"));
	CHECK(c.listen == NULL);
	nw_config_free(&c);
	CHECK(load(&c, "[server]\nuser =\n[log]\nlevel = WARNING\naccess_log = -\n"));
	CHECK_STR(c.user, "");
	CHECK_INT(c.log_level, NW_LOG_WARN);
	CHECK_STR(c.access_log, "-");
	nw_config_free(&c);
	CHECK(load(&c, "[xdp]\nmode = off\nattach = native\n"));
	CHECK_INT(c.xdp, NW_XDP_OFF);
	CHECK_INT(c.xdp_attach, NW_ATTACH_NATIVE);
	nw_config_free(&c);
	CHECK(load(&c, "[xdp]\nmode = false\n"));
	CHECK_INT(c.xdp, NW_XDP_OFF);
	nw_config_free(&c);
	CHECK(load(&c, "[server]\nport = 65535\n"));
	CHECK_INT(c.port, 65535);
	nw_config_free(&c);

	/* A long CSP line (longer than inih's default 200 bytes). */
	{
		char text[3000], want[2500];
		memset(want, 'a', sizeof(want) - 1);
		want[sizeof(want) - 1] = '\0';
		snprintf(text, sizeof(text), "[security]\ncsp = %s\nhsts = x\n", want);
		CHECK(load(&c, text));
		CHECK_STR(c.csp, want);
		CHECK_STR(c.hsts, "x");
		nw_config_free(&c);
	}
	{
		static char text[20000];
		memcpy(text, "[security]\ncsp = ", 17);
		memset(text + 17, 'b', 10000);
		strcpy(text + 10017, "\n");
		load_fails(text, "t.ini:2: line too long");
	}
	/* Too many rules / headers. */
	{
		char text[4096] = "[cache]\n";
		for (int i = 0; i <= NW_MAX_CACHE_RULES; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
				 "ext.e%d = x\n", i);
		load_fails(text, "t.ini:34: [cache] ext.e32: too many ext.* cache rules (at most 32)");
	}
	{
		char text[4096] = "[security]\n";
		for (int i = 0; i <= NW_MAX_EXTRA_HEADERS; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
				 "header.X-H%d = x\n", i);
		load_fails(text, "t.ini:18: [security] header.X-H16: too many header.* entries (at most 16)");
	}
}

static void test_ini_errors(void)
{
	load_fails("[server]\nport = abc\n", "t.ini:2: [server] port: invalid port 'abc'");
	load_fails("[server]\nport = 0\n", "t.ini:2:");
	load_fails("[server]\nport = 65536\n", "invalid port '65536'");
	load_fails("[server]\nport = -1\n", "invalid port");
	load_fails("\n\n[server]\nprot = 80\n", "t.ini:4: unknown key 'prot' in [server]");
	load_fails("[sever]\nport = 80\n", "t.ini:1: unknown section [sever]");
	/* a section with no keys, text after it, a name with spaces */
	load_fails("[server]\nport = 1\n[sever]\n# port = 1\n", "t.ini:3: unknown section [sever]");
	load_fails("\n  [server] garbage\nport = 1\n", "t.ini:2: text after the section name: 'garbage'");
	load_fails("[ server ]\n", "t.ini:1: unknown section [ server ]");
	load_fails("\xef\xbb\xbf[sever]\n", "t.ini:1: unknown section [sever]");
	{
		struct nw_config c;

		CHECK(load(&c, "\xef\xbb\xbf[Server]  \t\r\nport = 5\n[LOG]\n"));
		CHECK_INT(c.port, 5);
		nw_config_free(&c);
	}
	load_fails("port = 80\n", "t.ini:1: key 'port' is outside of a [section]");
	load_fails("[server]\nport\n", "t.ini:2: syntax error");
	load_fails("[server]\n= 5\n", "t.ini:2: syntax error (no key before '=')");
	load_fails("[server\nport = 1\n", "t.ini:1: syntax error");
	load_fails("[server]\nspa = maybe\n", "t.ini:2: [server] spa: invalid boolean 'maybe'");
	load_fails("[server]\nthreads = 5000\n", "threads: invalid number '5000'");
	load_fails("[server]\nconfig_prefix =\n", "must not be empty");
	load_fails("[server]\nconfig_prefix = A-B\n", "invalid config prefix");
	load_fails("[server]\nindex = a/b.html\n", "invalid index file name");
	load_fails("[server]\nindex =\n", "invalid index file name");
	load_fails("[server]\nlisten = localhost\n", "invalid listen address 'localhost'");
	load_fails("[server]\nlisten = 127.0.0.1:80\n", "give the port separately");
	load_fails("[server]\nuser = a b\n", "invalid user name");
	load_fails("[log]\nlevel = loud\n", "t.ini:2: [log] level: invalid log level 'loud' (expected debug, info, warn or error)");
	load_fails("[log]\nformat = xml\n", "invalid log format 'xml' (expected console or json)");
	load_fails("[log]\nfile = x\n", "unknown key 'file' in [log]");
	load_fails("[cache]\next. = x\n", "invalid extension");
	load_fails("[cache]\next.c/s = x\n", "invalid extension");
	load_fails("[cache]\nhtm = x\n", "unknown key 'htm' in [cache]");
	load_fails("[security]\nheader.X Y = 1\n", "invalid header name 'X Y'");
	load_fails("[security]\nheader.X(Y) = 1\n", "invalid header name");
	load_fails("[security]\nheader. = 1\n", "invalid header name ''");
	load_fails("[security]\nheader.Content-Length = 1\n", "managed by the server");
	load_fails("[security]\nheader.content-type = text/plain\n", "'content-type' is managed by the server");
	load_fails("[security]\nheader.ETag = x\n", "managed by the server");
	load_fails("[security]\nheader.Location = /x\n", "managed by the server");
	load_fails("[security]\nheader.Last-Modified = x\n", "managed by the server");
	load_fails("[security]\nheader.Vary = x\n", "managed by the server");
	load_fails("[security]\nheader.Cache-Control = x\n", "cannot be set (set it in [cache])");
	load_fails("[security]\nenabled = 2\n", "invalid boolean");
	load_fails("[security]\nxss = 1\n", "unknown key 'xss' in [security]");
	load_fails("[compression]\nmin_size = 1X\n", "[compression] min_size: invalid size '1X'");
	load_fails("[compression]\nlevel = 9\n", "unknown key");
	load_fails("[limits]\nmax_connections = 0\n", "invalid number '0' (expected 1-1000000)");
	load_fails("[limits]\nmax_header_size = 10\n", "out of range");
	load_fails("[limits]\nmax_memory_file = lots\n", "invalid size");
	load_fails("[limits]\ntimeout = 1.5\n", "invalid number");
	load_fails("[xdp]\nmode = maybe\n", "invalid xdp mode 'maybe' (expected auto, on or off)");
	load_fails("[xdp]\nattach = skb\n", "invalid xdp attach mode");
	load_fails("[xdp]\nsocket = relative.sock\n", "not an absolute path");
	load_fails("[xdp]\niface = averyveryverylongname0\n", "invalid interface list");
	load_fails("[xdp]\niface = eth0,,eth1\n", "invalid interface list");
	load_fails("[xdp]\nallowed_users = root;rm\n", "invalid user list");
	load_fails("[xdp]\nmax_response = 100000\n", "invalid number");
	load_fails("[xdp]\nmax_response = 16001\n", "t.ini:2:");
	/* The first error is reported, not a later one. */
	load_fails("[server]\nport = x\nspa = y\n", "t.ini:2:");
	load_fails("[server]\nport\nspa = y\n", "t.ini:2: syntax error");
	load_fails("[server]\nspa = y\nport\n", "t.ini:2: [server] spa");
}

static void test_set(void)
{
	struct nw_config c;

	nw_config_init(&c);
	CHECK(nw_config_set(&c, "server", "port", "9000", err, sizeof(err)));
	CHECK_INT(c.port, 9000);
	CHECK(!nw_config_set(&c, "server", "port", "x", err, sizeof(err)));
	CHECK_STR(err, "invalid port 'x' (expected 1-65535)");
	CHECK_INT(c.port, 9000);
	CHECK(!nw_config_set(&c, "cache", "html", "a\r\nSet-Cookie: x", err, sizeof(err)));
	CHECK(strstr(err, "control characters") != NULL);
	CHECK(!nw_config_set(&c, "security", "header.X-A", "a\nb", err, sizeof(err)));
	CHECK(!nw_config_set(&c, "security", "csp", "a\rb", err, sizeof(err)));
	CHECK(!nw_config_set(&c, "cache", "ext.js", "a\nb", err, sizeof(err)));
	CHECK(nw_config_set(&c, "security", "csp", "a\tb", err, sizeof(err)));
	CHECK(!nw_config_set(&c, "server", "root", "/srv/a\tb", err, sizeof(err)));
	CHECK(strstr(err, "path '/srv/a\tb' contains control characters") != NULL);
	/* Quotes are kept by inih: a quoted path is refused, not looked up. */
	CHECK(!nw_config_set(&c, "server", "root", "\"/srv/www\"", err, sizeof(err)));
	CHECK_STR(err, "path \"/srv/www\" is in quotes: write it without them "
		  "(values are taken as written)");
	CHECK(!nw_config_set(&c, "log", "access_log", "'/var/log/a.log'", err, sizeof(err)));
	CHECK(nw_config_set(&c, "server", "root", "/srv/\"odd\" name", err, sizeof(err)));
	CHECK(nw_config_set(&c, "server", "root", "\"", err, sizeof(err)));
	CHECK(!nw_config_set(&c, "nope", "x", "1", err, sizeof(err)));
	CHECK_STR(err, "unknown section [nope]");
	CHECK(!nw_config_set(&c, "", "x", "1", err, sizeof(err)));
	/* A NULL or tiny error buffer is fine. */
	CHECK(!nw_config_set(&c, "server", "port", "x", NULL, 0));
	CHECK(!nw_config_set(&c, "server", "port", "x", err, 1));
	CHECK_STR(err, "");
	nw_config_free(&c);
}

static void test_file(void)
{
	struct nw_config c;
	char path[] = "/tmp/nw-test-config-XXXXXX";
	int fd = mkstemp(path);
	const char text[] = "[server]\nport = 4242\n\n[log]\nlevel = bogus\n";

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	nw_config_init(&c);
	CHECK(!nw_config_load_file(&c, path, err, sizeof(err)));
	{
		char want[128];
		snprintf(want, sizeof(want), "%s:5: [log] level: invalid log level 'bogus'", path);
		CHECK(strncmp(err, want, strlen(want)) == 0);
	}
	CHECK_INT(c.port, 4242);
	nw_config_free(&c);

	nw_config_init(&c);
	CHECK(!nw_config_load_file(&c, "/nonexistent/nanoweb.ini", err, sizeof(err)));
	CHECK_STR(err, "config file /nonexistent/nanoweb.ini: No such file or directory");
	nw_config_free(&c);

	/* A long line in a file. */
	{
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		if (f) {
			fputs("[security]\ncsp = ", f);
			for (int i = 0; i < 9000; i++)
				fputc('c', f);
			fputs("\n", f);
			fclose(f);
		}
		nw_config_init(&c);
		CHECK(!nw_config_load_file(&c, path, err, sizeof(err)));
		CHECK(strstr(err, ":2: line too long") != NULL);
		nw_config_free(&c);
		f = fopen(path, "w");
		if (f) {
			fputs("[security]\ncsp = ", f);
			for (int i = 0; i < 8000; i++)
				fputc('c', f);
			fputs("\r\n[server]\nport = 7\n", f);
			fclose(f);
		}
		nw_config_init(&c);
		CHECK(nw_config_load_file(&c, path, err, sizeof(err)));
		CHECK_INT(strlen(c.csp), 8000);
		CHECK_INT(c.port, 7);
		nw_config_free(&c);
	}
	/* 8190 bytes before the line's end, "\n", "\r\n" or none, and no more */
	for (int crlf = 0; crlf < 3; crlf++) {
		for (int extra = 0; extra < 2; extra++) {
			FILE *f = fopen(path, "w");

			CHECK(f != NULL);
			if (!f)
				break;
			fputs("[security]\ncsp = ", f);
			for (int i = 0; i < 8190 - 6 + extra; i++)
				fputc('c', f);
			fputs(crlf == 0 ? "\n" : crlf == 1 ? "\r\n" : "", f);
			fclose(f);
			nw_config_init(&c);
			CHECK(nw_config_load_file(&c, path, err, sizeof(err)) == !extra);
			if (extra)
				CHECK(strstr(err, ":2: line too long (at most 8190 bytes)") != NULL);
			else
				CHECK_INT(strlen(c.csp), 8190 - 6);
			nw_config_free(&c);
		}
	}
	unlink(path);
	/* a directory */
	CHECK(mkdir(path, 0700) == 0);
	nw_config_init(&c);
	CHECK(!nw_config_load_file(&c, path, err, sizeof(err)));
	CHECK(strstr(err, ": Is a directory") != NULL);
	nw_config_free(&c);
	rmdir(path);
}

/* conf/nanoweb.ini loads as is, and with every "#key = value" line
 * uncommented it gives exactly the built-in defaults. */
static void test_shipped_ini(void)
{
#ifdef NW_SRCDIR
	struct nw_config c, d;
	FILE *f = fopen(NW_SRCDIR "/conf/nanoweb.ini", "r");
	static char text[16384];
	char line[512];
	size_t len = 0;
	int keys = 0;

	CHECK(f != NULL);
	if (!f)
		return;
	nw_config_init(&c);
	CHECK(nw_config_load_file(&c, NW_SRCDIR "/conf/nanoweb.ini", err, sizeof(err)));
	CHECK_STR(err, "");
	nw_config_free(&c);
	while (fgets(line, sizeof(line), f)) {
		const char *l = line;
		/* "#key = ..." or "#key =": a commented default (not ext./header. examples). */
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z') {
			size_t n = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_");
			if (strncmp(line + 1 + n, " =", 2) == 0) {
				l = line + 1;
				keys++;
			}
		}
		size_t ll = strlen(l);
		if (len + ll < sizeof(text)) {
			memcpy(text + len, l, ll);
			len += ll;
		}
	}
	text[len] = '\0';
	fclose(f);
	CHECK_INT(keys, 48); /* every scalar key of every section */
	CHECK(load(&c, text));
	CHECK_STR(err, "");
	nw_config_init(&d);
	CHECK(c.root == NULL && c.listen == NULL && c.access_log == NULL && c.xdp_iface == NULL);
	CHECK_INT(c.port, d.port);
	CHECK(c.spa == d.spa && c.dev == d.dev && c.follow_symlinks == d.follow_symlinks);
	CHECK(c.health == d.health && c.log_requests == d.log_requests);
	CHECK_STR(c.config_prefix, d.config_prefix);
	CHECK_INT(c.threads, d.threads);
	CHECK_STR(c.user, d.user);
	CHECK_STR(c.index, d.index);
	CHECK_INT(c.log_level, d.log_level);
	CHECK_INT(c.log_format, d.log_format);
	CHECK_STR(c.cache_html, d.cache_html);
	CHECK_STR(c.cache_hashed, d.cache_hashed);
	CHECK_STR(c.cache_default, d.cache_default);
	CHECK_INT(c.n_cache_rules, 0);
	CHECK(c.security_headers == d.security_headers);
	CHECK_STR(c.content_type_options, d.content_type_options);
	CHECK_STR(c.frame_options, d.frame_options);
	CHECK_STR(c.referrer_policy, d.referrer_policy);
	CHECK_STR(c.hsts, d.hsts);
	CHECK_STR(c.permissions_policy, d.permissions_policy);
	CHECK_STR(c.dns_prefetch, d.dns_prefetch);
	CHECK_STR(c.csp, d.csp);
	CHECK_INT(c.n_extra_headers, 0);
	CHECK(c.compress == d.compress && c.gzip == d.gzip && c.brotli == d.brotli &&
	      c.zstd == d.zstd);
	CHECK_INT(c.min_compress_size, d.min_compress_size);
	CHECK_INT(c.max_memory_file, d.max_memory_file);
	CHECK_INT(c.max_connections, d.max_connections);
	CHECK_INT(c.per_ip_connections, d.per_ip_connections);
	CHECK_INT(c.timeout, d.timeout);
	CHECK_INT(c.header_timeout, d.header_timeout);
	CHECK_INT(c.max_header_size, d.max_header_size);
	CHECK_INT(c.max_url_length, d.max_url_length);
	CHECK_INT(c.xdp, d.xdp);
	CHECK_INT(c.xdp_attach, d.xdp_attach);
	CHECK_STR(c.xdp_socket, d.xdp_socket);
	CHECK_STR(c.xdp_pin_dir, d.xdp_pin_dir);
	CHECK_INT(c.xdp_max_response, d.xdp_max_response);
	CHECK_INT(c.xdp_flow_entries, d.xdp_flow_entries);
	CHECK_INT(c.xdp_cache_entries, d.xdp_cache_entries);
	CHECK_STR(c.xdp_allowed_users, d.xdp_allowed_users);
	nw_config_free(&c);
	nw_config_free(&d);
#endif
}

static void test_cache_control(void)
{
	struct nw_config c;

	nw_config_init(&c);
	CHECK_STR(nw_config_cache_control(&c, "/index.html", "text/html; charset=utf-8"),
		  "no-cache");
	CHECK_STR(nw_config_cache_control(&c, "/about/", "text/html; charset=utf-8"),
		  "no-cache");
	CHECK_STR(nw_config_cache_control(&c, "/assets/app.3f9a1c2b.js",
					  "text/javascript; charset=utf-8"),
		  "public, max-age=31536000, immutable");
	CHECK_STR(nw_config_cache_control(&c, "/assets/index-BxYz12Ab.css", "text/css"),
		  "public, max-age=31536000, immutable");
	CHECK_STR(nw_config_cache_control(&c, "/logo.png", "image/png"),
		  "public, max-age=3600");
	/* No Content-Type: derived from the path. */
	CHECK_STR(nw_config_cache_control(&c, "/page.html", NULL), "no-cache");
	CHECK_STR(nw_config_cache_control(&c, "/style.css", NULL), "public, max-age=3600");

	CHECK(nw_config_set(&c, "cache", "ext.css", "max-age=5", err, sizeof(err)));
	CHECK(nw_config_set(&c, "cache", "ext.gz", "max-age=6", err, sizeof(err)));
	CHECK(nw_config_set(&c, "cache", "ext.tar.gz", "max-age=7", err, sizeof(err)));
	CHECK(nw_config_set(&c, "cache", "ext.html", "no-store", err, sizeof(err)));
	/* Rules come first, even over hashed assets and HTML. */
	CHECK_STR(nw_config_cache_control(&c, "/a/index-BxYz12Ab.css", "text/css"), "max-age=5");
	CHECK_STR(nw_config_cache_control(&c, "/STYLE.CSS", "text/css"), "max-age=5");
	CHECK_STR(nw_config_cache_control(&c, "/x.gz", "application/gzip"), "max-age=6");
	CHECK_STR(nw_config_cache_control(&c, "/x.tar.gz", "application/gzip"), "max-age=7");
	CHECK_STR(nw_config_cache_control(&c, "/index.html", "text/html"), "no-store");
	/* The extension is matched on the last path segment only. */
	CHECK_STR(nw_config_cache_control(&c, "/css/file", "application/octet-stream"),
		  "public, max-age=3600");
	CHECK_STR(nw_config_cache_control(&c, "/dir.css/file", "application/octet-stream"),
		  "public, max-age=3600");
	CHECK_STR(nw_config_cache_control(&c, "/xcss", "application/octet-stream"),
		  "public, max-age=3600");
	nw_config_free(&c);
}

/* ---------------------------------------------------------------- CLI */

static const char *cli_shell; /* completion's SHELL, from the last cli() */

/* cli(&cfg, &path, "serve", "--spa", ...): the arguments after argv[0]. */
#define cli(c, path, ...) cli_((c), (path), 0, ##__VA_ARGS__, (char *)NULL)

static enum nw_command cli_(struct nw_config *c, const char **path, int dummy, ...)
{
	char *argv[32];
	int argc = 1;
	va_list ap;
	char *a;

	va_start(ap, dummy);
	argv[0] = (char *)"nano-web";
	while ((a = va_arg(ap, char *)) != NULL && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	nw_config_free(c);
	nw_config_init(c);
	err[0] = '\0';
	return nw_cli_parse(argc, argv, c, path, &cli_shell, err, sizeof(err));
}

static void test_cli(void)
{
	struct nw_config c;
	const char *path = "x";

	unsetenv("NANOWEB_CONFIG");
	nw_config_init(&c);

	CHECK_INT(cli(&c, &path), NW_CMD_HELP);
	CHECK(path == NULL);
	CHECK_INT(cli(&c, &path, "help"), NW_CMD_HELP);
	CHECK_INT(cli(&c, &path, "completion", "bash"), NW_CMD_COMPLETION);
	CHECK_STR(cli_shell, "bash");
	CHECK_INT(cli(&c, &path, "completion"), NW_CMD_ERROR);
	CHECK(strstr(err, "completion: which shell?") != NULL);
	CHECK_INT(cli(&c, &path, "completion", "zsh", "--port", "1"), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "completion", "fish", "x"), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "completion", "bash", "--config", "x.ini"), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "completion", "bash", "--dir", "/tmp"), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "completion", "zsh", "--help"), NW_CMD_HELP);
	CHECK_INT(cli(&c, &path, "--help"), NW_CMD_HELP);
	CHECK_INT(cli(&c, &path, "-h"), NW_CMD_HELP);
	CHECK_INT(cli(&c, &path, "serve", "--help"), NW_CMD_HELP);
	CHECK_INT(cli(&c, &path, "serve", "--port", "abc", "-h"), NW_CMD_HELP);
	CHECK_INT(cli(&c, &path, "version"), NW_CMD_VERSION);
	CHECK_INT(cli(&c, &path, "--version"), NW_CMD_VERSION);
	CHECK_INT(cli(&c, &path, "-V"), NW_CMD_VERSION);

	/* The README example. */
	CHECK_INT(cli(&c, &path, "serve", "./public", "--port", "8080", "--spa", "--dev"),
		  NW_CMD_SERVE);
	CHECK_STR(c.root, "./public");
	CHECK_INT(c.port, 8080);
	CHECK(c.spa && c.dev);
	CHECK(path == NULL);

	CHECK_INT(cli(&c, &path, "serve"), NW_CMD_SERVE);
	CHECK(c.root == NULL);
	CHECK_INT(c.port, 3000);

	/* Options before the command, short forms, --opt=value. */
	CHECK_INT(cli(&c, &path, "-p", "81", "-d", "serve", "dist"), NW_CMD_SERVE);
	CHECK_INT(c.port, 81);
	CHECK(c.dev);
	CHECK_STR(c.root, "dist");
	CHECK_INT(cli(&c, &path, "serve", "-p8082", "--threads=3"), NW_CMD_SERVE);
	CHECK_INT(c.port, 8082);
	CHECK_INT(c.threads, 3);
	CHECK_INT(cli(&c, &path, "serve", "--config-prefix", "APP_", "--log-level", "debug",
		      "--log-format=json", "--log-requests", "--listen", "::1",
		      "--xdp", "off", "--xdp-iface", "eth0,eth1"), NW_CMD_SERVE);
	CHECK_STR(c.config_prefix, "APP_");
	CHECK_INT(c.log_level, NW_LOG_DEBUG);
	CHECK_INT(c.log_format, NW_LOG_JSON);
	CHECK(c.log_requests);
	CHECK_STR(c.listen, "::1");
	CHECK_INT(c.xdp, NW_XDP_OFF);
	CHECK_STR(c.xdp_iface, "eth0,eth1");
	CHECK_INT(cli(&c, &path, "serve", "--spa=false", "--dev=yes"), NW_CMD_SERVE);
	CHECK(!c.spa && c.dev);
	/* Options without a command start the server. */
	CHECK_INT(cli(&c, &path, "--port", "99"), NW_CMD_SERVE);
	CHECK_INT(c.port, 99);
	/* "--" ends the options. */
	CHECK_INT(cli(&c, &path, "serve", "--", "--weird-dir"), NW_CMD_SERVE);
	CHECK_STR(c.root, "--weird-dir");

	/* Errors. */
	CHECK_INT(cli(&c, &path, "serve", "--x"), NW_CMD_ERROR);
	CHECK_STR(err, "unknown option --x");
	CHECK_INT(cli(&c, &path, "serve", "--x=1"), NW_CMD_ERROR);
	CHECK_STR(err, "unknown option --x");
	CHECK_INT(cli(&c, &path, "serve", "-x"), NW_CMD_ERROR);
	CHECK_STR(err, "unknown option -x");
	CHECK_INT(cli(&c, &path, "serve", "--port", "abc"), NW_CMD_ERROR);
	CHECK(strncmp(err, "--port: invalid port 'abc'", 26) == 0);
	CHECK_INT(cli(&c, &path, "serve", "-p", "0"), NW_CMD_ERROR);
	CHECK(strncmp(err, "--port: invalid port '0'", 24) == 0);
	CHECK_INT(cli(&c, &path, "serve", "--port"), NW_CMD_ERROR);
	CHECK_STR(err, "--port: missing value");
	CHECK_INT(cli(&c, &path, "serve", "site", "-p", "--threads", "1"), NW_CMD_ERROR);
	CHECK_STR(err, "-p: missing value (before --threads)");
	CHECK_INT(cli(&c, &path, "serve", "--dir", "--spa"), NW_CMD_ERROR);
	CHECK_STR(err, "--dir: missing value (before --spa)");
	CHECK_INT(cli(&c, &path, "serve", "--dir=--odd"), NW_CMD_SERVE);
	CHECK_INT(cli(&c, &path, "serve", "--config-prefix", "-"), NW_CMD_ERROR);
	CHECK(strstr(err, "missing value") == NULL);
	CHECK_INT(cli(&c, &path, "serve", "--log-level=loud"), NW_CMD_ERROR);
	CHECK(strncmp(err, "--log-level: invalid log level 'loud'", 37) == 0);
	CHECK_INT(cli(&c, &path, "serve", "--log-format", "xml"), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "serve", "--xdp", "sometimes"), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "serve", "--threads", "-1"), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "serve", "--listen", "example.com"), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "serve", "--spa=maybe"), NW_CMD_ERROR);
	CHECK(strncmp(err, "--spa: invalid boolean 'maybe'", 30) == 0);
	CHECK_INT(cli(&c, &path, "serve", "--help=1"), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "serve", "-dp"), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "server"), NW_CMD_ERROR);
	CHECK(strstr(err, "unknown command 'server'") != NULL);
	CHECK_INT(cli(&c, &path, "./public"), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "serve", "a", "b"), NW_CMD_ERROR);
	CHECK_STR(err, "unexpected argument 'b'");
	/* "--spa false" would serve a directory named false */
	CHECK_INT(cli(&c, &path, "serve", "--spa", "false"), NW_CMD_ERROR);
	CHECK_STR(err, "'false' after --spa: a switch takes its value after '=' (--spa=false)");
	CHECK_INT(cli(&c, &path, "serve", "d", "--dev", "on"), NW_CMD_ERROR);
	CHECK(strstr(err, "(--dev=on)") != NULL);
	CHECK_INT(cli(&c, &path, "serve", "--spa", "www"), NW_CMD_SERVE);
	CHECK(c.spa);
	CHECK_INT(cli(&c, &path, "serve", "--spa=false", "1"), NW_CMD_SERVE);
	CHECK(!c.spa);
	CHECK_INT(cli(&c, &path, "version", "x"), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "serve", ""), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "serve", "--config="), NW_CMD_ERROR);
	CHECK_INT(cli(&c, &path, "serve", "--config", "/nonexistent.ini"), NW_CMD_CONFIG_ERROR);
	CHECK_STR(err, "config file /nonexistent.ini: No such file or directory");

	nw_config_free(&c);
}

static void test_cli_config(void)
{
	struct nw_config c;
	const char *path = NULL;
	char file[] = "/tmp/nw-test-cli-XXXXXX", file2[] = "/tmp/nw-test-cli2-XXXXXX";
	int fd = mkstemp(file), fd2 = mkstemp(file2);
	const char text[] = "[server]\nport = 5000\nspa = true\nroot = /from/file\n[log]\nlevel = warn\n";
	const char text2[] = "[server]\nport = 6000\n";

	CHECK(fd >= 0 && fd2 >= 0);
	if (fd < 0 || fd2 < 0)
		return;
	CHECK(write(fd, text, sizeof(text) - 1) > 0);
	CHECK(write(fd2, text2, sizeof(text2) - 1) > 0);
	close(fd);
	close(fd2);
	nw_config_init(&c);

	/* File first, then flags win, wherever --config appears. */
	CHECK_INT(cli(&c, &path, "serve", "--port", "7000", "--config", file), NW_CMD_SERVE);
	CHECK_INT(c.port, 7000);
	CHECK(c.spa);
	CHECK_STR(c.root, "/from/file");
	CHECK_INT(c.log_level, NW_LOG_WARN);
	CHECK(path == file);
	CHECK_INT(cli(&c, &path, "--config", file, "serve", "./dir"), NW_CMD_SERVE);
	CHECK_INT(c.port, 5000);
	CHECK_STR(c.root, "./dir");
	CHECK_INT(cli(&c, &path, "serve", "-c", file, "--spa=off"), NW_CMD_SERVE);
	CHECK(!c.spa);

	/* $NANOWEB_CONFIG when there is no --config. */
	setenv("NANOWEB_CONFIG", file2, 1);
	CHECK_INT(cli(&c, &path, "serve"), NW_CMD_SERVE);
	CHECK_INT(c.port, 6000);
	CHECK_STR(path, file2);
	CHECK_INT(cli(&c, &path, "serve", "--config", file), NW_CMD_SERVE);
	CHECK_INT(c.port, 5000);
	CHECK(path == file);
	setenv("NANOWEB_CONFIG", "", 1);
	CHECK_INT(cli(&c, &path, "serve"), NW_CMD_SERVE);
	CHECK(path == NULL);
	CHECK_INT(c.port, 3000);
	/* an error says where the name came from */
	setenv("NANOWEB_CONFIG", "/nonexistent-env.ini", 1);
	CHECK_INT(cli(&c, &path, "serve"), NW_CMD_CONFIG_ERROR);
	CHECK_STR(err, "config file /nonexistent-env.ini: No such file or directory (named by NANOWEB_CONFIG)");
	unsetenv("NANOWEB_CONFIG");

	/* A bad file names file:line. */
	{
		FILE *f = fopen(file2, "w");
		if (f) {
			fputs("[server]\n\nport = x\n", f);
			fclose(f);
		}
		char want[128];
		snprintf(want, sizeof(want), "%s:3: [server] port: invalid port 'x'", file2);
		CHECK_INT(cli(&c, &path, "serve", "--config", file2), NW_CMD_CONFIG_ERROR);
		CHECK(strncmp(err, want, strlen(want)) == 0);
	}

	nw_config_free(&c);
	unlink(file);
	unlink(file2);
}

static void test_usage(void)
{
	const char *u = nw_cli_usage();

	CHECK(strstr(u, "Usage:") != NULL);
	CHECK(strstr(u, "Commands:") != NULL);
	CHECK(strstr(u, "Options:") != NULL);
	CHECK(strstr(u, "Examples:") != NULL);
	static const char *const flags[] = {
		"--port", "-p,", "--spa", "--dev", "-d,", "--config-prefix", "--log-level",
		"--log-format", "--log-requests", "--listen", "--config", "--threads",
		"--xdp ", "--xdp-iface", "--help", "--version", "-V",
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		CHECK(strstr(u, flags[i]) != NULL);
}

int main(void)
{
	test_defaults();
	test_parsers();
	test_ini_full();
	test_ini_details();
	test_ini_errors();
	test_set();
	test_file();
	test_shipped_ini();
	test_cache_control();
	test_cli();
	test_cli_config();
	test_usage();
	return check_report();
}
