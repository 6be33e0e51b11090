/*
 * Command-line parsing. Two passes: the first checks the words and finds the
 * subcommand and --config; then the config file is loaded and the flags are
 * applied over it, in order, through nw_config_set.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct nw_cli_opt nw_cli_opts[NW_CLI_N_OPTS] = {
	{ "port", 'p', ARG_VALUE, OPT_PORT, "server", "port", "N", "Port to listen on" },
	{ "spa", 0, ARG_BOOL, OPT_SPA, "server", "spa", NULL,
	  "Single-page app, navigations to missing paths get index.html" },
	{ "dev", 'd', ARG_BOOL, OPT_DEV, "server", "dev", NULL,
	  "Development mode, reload files when they change" },
	{ "config-prefix", 0, ARG_VALUE, OPT_CONFIG_PREFIX, "server", "config_prefix", "P",
	  "Prefix of the environment variables injected into HTML" },
	{ "log-level", 0, ARG_VALUE, OPT_LOG_LEVEL, "log", "level", "debug info warn error",
	  "Log level" },
	{ "log-format", 0, ARG_VALUE, OPT_LOG_FORMAT, "log", "format", "console json",
	  "Log format" },
	{ "log-requests", 0, ARG_BOOL, OPT_LOG_REQUESTS, "log", "requests", NULL,
	  "Log every request" },
	{ "listen", 0, ARG_VALUE, OPT_LISTEN, "server", "listen", "ADDR", "IP address to bind" },
	{ "config", 'c', ARG_VALUE, OPT_CONFIG, NULL, NULL, "FILE", "INI settings file" },
	{ "threads", 't', ARG_VALUE, OPT_THREADS, "server", "threads", "N", "Worker threads" },
	{ "xdp", 0, ARG_VALUE, OPT_XDP, "xdp", "mode", "auto on off", "Kernel fast path" },
	{ "xdp-iface", 0, ARG_VALUE, OPT_XDP_IFACE, "xdp", "iface", "LIST",
	  "Interfaces for the fast path" },
	{ "help", 'h', ARG_NONE, OPT_HELP, NULL, NULL, NULL, "Print the help" },
	{ "version", 'V', ARG_NONE, OPT_VERSION, NULL, NULL, NULL, "Print the version" },
	{ "dir", 0, ARG_VALUE, OPT_DIR, NULL, NULL, "DIR", "Directory to serve" },
};

static const char usage_text[] =
"nano-web - a small, fast static file server\n"
"\n"
"Usage:\n"
"  nano-web serve [DIR] [OPTIONS]\n"
"  nano-web version\n"
"  nano-web help\n"
"  nano-web completion bash|zsh|fish\n"
"\n"
"Commands:\n"
"  serve [DIR]        Serve the files in DIR (default: the bundled site)\n"
"  version            Print the version and exit (also --version, -V)\n"
"  help               Print this help and exit (also --help, -h)\n"
"  completion SHELL   Print the completion script for bash, zsh or fish\n"
"\n"
"Options:\n"
"      --dir DIR             Serve DIR when serve names none\n"
"  -p, --port N              Port to listen on (1-65535) [default: 3000]\n"
"      --listen ADDR         IP address to bind, e.g. 127.0.0.1 or ::1\n"
"                            [default: all addresses, IPv4 and IPv6]\n"
"      --spa                 Single-page app: a page navigation to a missing\n"
"                            path gets index.html (see man nano-web)\n"
"  -d, --dev                 Development mode: reload files when they change\n"
"      --config-prefix P     Environment variables starting with P are\n"
"                            injected into HTML pages [default: VITE_]\n"
"      --log-level LEVEL     debug, info, warn or error [default: info]\n"
"      --log-format FORMAT   console or json [default: console]\n"
"      --log-requests        Log every request\n"
"  -c, --config FILE         Read settings from FILE (INI, see nanoweb.ini(5))\n"
"                            [default: $NANOWEB_CONFIG if set]\n"
"  -t, --threads N           Worker threads, 0 = one per CPU core [default: 0]\n"
"      --xdp MODE            Kernel fast path: auto, on or off [default: auto]\n"
"      --xdp-iface LIST      Interfaces for the fast path, comma separated\n"
"                            [default: every interface that is up]\n"
"  -h, --help                Print this help\n"
"  -V, --version             Print the version\n"
"\n"
"  Flags override the config file. Boolean flags also take a value\n"
"  (--spa=false). Options may come before or after the command.\n"
"\n"
"Examples:\n"
"  nano-web serve ./public --port 8080 --spa\n"
"  nano-web serve ./dist --dev --log-requests --log-level debug\n"
"  nano-web serve --config " NW_SYSCONFDIR "/nanoweb.ini\n"
"  NANOWEB_CONFIG=./nanoweb.ini nano-web serve ./public\n"
"\n"
"Signals: SIGHUP reloads the files and reopens the access log, SIGUSR1 only\n"
"reopens the access log, SIGTERM stops gracefully.\n"
"See nano-web(1) and nanoweb.ini(5) for details.\n";

const char *nw_cli_usage(void)
{
	return usage_text;
}

__attribute__((format(printf, 3, 4)))
static enum nw_command cli_fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return NW_CMD_ERROR;
}

/* A flag to apply once the config file is loaded. */
struct pending {
	const struct nw_cli_opt *def;
	const char *value;  /* NULL for a bare boolean flag */
};

static const struct nw_cli_opt *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < NW_CLI_N_OPTS; i++)
		if (strlen(nw_cli_opts[i].name) == len &&
		    strncmp(nw_cli_opts[i].name, name, len) == 0)
			return &nw_cli_opts[i];
	return NULL;
}

static const struct nw_cli_opt *find_short(char c)
{
	for (size_t i = 0; i < NW_CLI_N_OPTS; i++)
		if (nw_cli_opts[i].short_name && nw_cli_opts[i].short_name == c)
			return &nw_cli_opts[i];
	return NULL;
}

static bool is_command(const char *s, enum nw_command *cmd)
{
	if (strcmp(s, "serve") == 0)
		*cmd = NW_CMD_SERVE;
	else if (strcmp(s, "version") == 0)
		*cmd = NW_CMD_VERSION;
	else if (strcmp(s, "help") == 0)
		*cmd = NW_CMD_HELP;
	else if (strcmp(s, "completion") == 0)
		*cmd = NW_CMD_COMPLETION;
	else
		return false;
	return true;
}

enum nw_command nw_cli_parse(int argc, char **argv, struct nw_config *cfg,
			     const char **config_path, const char **shell,
			     char *err, size_t errlen)
{
	struct pending *pend;
	size_t npend = 0;
	bool have_cmd = false, only_pos = false, want_help = false, want_version = false;
	bool config_from_env = false;
	/* the previous word, if a long switch with no "=value" */
	const struct nw_cli_opt *bare_switch = NULL;
	enum nw_command cmd = NW_CMD_SERVE;
	const char *dir = NULL, *dir_flag = NULL, *config = NULL;
	char msg[512];

	if (err && errlen)
		err[0] = '\0';
	if (config_path)
		*config_path = NULL;
	*shell = NULL;
	if (argc <= 1)
		return NW_CMD_HELP; /* like the original: no command prints help */

	pend = calloc((size_t)argc, sizeof(*pend));
	if (!pend)
		return cli_fail(err, errlen, "out of memory");

	/* Pass 1: words, flags and their values; nothing is applied yet. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct nw_cli_opt *def = NULL;
		const char *value = NULL;
		char spelled[64];
		bool inline_value = false;
		const struct nw_cli_opt *bare_bool = bare_switch;

		bare_switch = NULL;

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			/* Positional: the command, then serve's DIR. */
			enum nw_command c;
			bool b;
			if (bare_bool && nw_parse_bool(a, &b)) {
				/* "--spa false": false would be the DIR */
				free(pend);
				return cli_fail(err, errlen,
						"'%s' after --%s: a switch takes its value "
						"after '=' (--%s=%s)", a, bare_bool->name,
						bare_bool->name, a);
			}
			if (!have_cmd && is_command(a, &c)) {
				have_cmd = true;
				cmd = c;
			} else if (!have_cmd) {
				free(pend);
				return cli_fail(err, errlen,
						"unknown command '%s' (expected serve, version, "
						"help or completion)", a);
			} else if (cmd == NW_CMD_SERVE && !dir) {
				if (!*a) {
					free(pend);
					return cli_fail(err, errlen, "serve: empty directory name");
				}
				dir = a;
			} else if (cmd == NW_CMD_COMPLETION && !*shell) {
				*shell = a;
			} else if (cmd == NW_CMD_HELP) {
				/* "help serve": same help */
			} else {
				free(pend);
				return cli_fail(err, errlen, "unexpected argument '%s'", a);
			}
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			def = find_long(name, len);
			if (!def) {
				free(pend);
				return cli_fail(err, errlen, "unknown option --%.*s", (int)len, name);
			}
			if (eq) {
				value = eq + 1;
				inline_value = true;
			}
			snprintf(spelled, sizeof(spelled), "--%s", def->name);
		} else {
			def = find_short(a[1]);
			if (!def) {
				free(pend);
				return cli_fail(err, errlen, "unknown option -%c", a[1]);
			}
			if (a[2]) {
				if (def->arg != ARG_VALUE) {
					free(pend);
					return cli_fail(err, errlen,
							"unknown option %s (-%c takes no value)", a, a[1]);
				}
				value = a + 2; /* -p8080 */
				inline_value = true;
			}
			snprintf(spelled, sizeof(spelled), "-%c", def->short_name);
		}
		switch (def->arg) {
		case ARG_NONE:
			if (inline_value) {
				free(pend);
				return cli_fail(err, errlen, "%s takes no value", spelled);
			}
			break;
		case ARG_BOOL:
			if (!inline_value && a[1] == '-')
				bare_switch = def;
			break;
		case ARG_VALUE:
			if (!inline_value) {
				if (i + 1 >= argc) {
					free(pend);
					return cli_fail(err, errlen, "%s: missing value", spelled);
				}
				/* "-p --threads 1": the value was left out (a
				 * value of that form: "--dir=--x" or "-p--x") */
				if (strncmp(argv[i + 1], "--", 2) == 0 && argv[i + 1][2]) {
					free(pend);
					return cli_fail(err, errlen,
							"%s: missing value (before %s)",
							spelled, argv[i + 1]);
				}
				value = argv[++i];
			}
			break;
		}
		if (def->id == OPT_HELP) {
			want_help = true;
		} else if (def->id == OPT_VERSION) {
			want_version = true;
		} else if (def->id == OPT_DIR) {
			if (!*value) {
				free(pend);
				return cli_fail(err, errlen, "%s: empty directory name", spelled);
			}
			dir_flag = value;
		} else if (def->id == OPT_CONFIG) {
			if (!*value) {
				free(pend);
				return cli_fail(err, errlen, "%s: missing file name", spelled);
			}
			config = value;
		} else {
			pend[npend].def = def;
			pend[npend].value = value;
			npend++;
		}
	}
	if (want_help || (have_cmd && cmd == NW_CMD_HELP)) {
		free(pend);
		return NW_CMD_HELP;
	}
	if (want_version || (have_cmd && cmd == NW_CMD_VERSION)) {
		free(pend);
		return NW_CMD_VERSION;
	}
	if (have_cmd && cmd == NW_CMD_COMPLETION) {
		free(pend);
		if (!*shell)
			return cli_fail(err, errlen, "completion: which shell? "
					"(bash, zsh or fish)");
		if (npend || config || dir_flag)
			return cli_fail(err, errlen, "completion takes no options");
		return NW_CMD_COMPLETION;
	}

	/* Pass 2: the config file, then the flags over it. Messages use the
	 * long spelling ("--port" also for -p). */
	if (!config) {
		const char *env = getenv("NANOWEB_CONFIG");
		if (env && *env) {
			config = env;
			config_from_env = true;
		}
	}
	if (config) {
		if (!nw_config_load_file(cfg, config, msg, sizeof(msg))) {
			free(pend);
			cli_fail(err, errlen, "%s%s", msg, config_from_env ?
				 " (named by NANOWEB_CONFIG)" : "");
			return NW_CMD_CONFIG_ERROR;
		}
		if (config_path)
			*config_path = config;
	}
	if (!dir)
		dir = dir_flag; /* serve's DIR wins, as in the original */
	if (dir && !nw_config_set(cfg, "server", "root", dir, msg, sizeof(msg))) {
		free(pend);
		return cli_fail(err, errlen, "serve: %s", msg);
	}
	for (size_t k = 0; k < npend; k++) {
		const struct nw_cli_opt *def = pend[k].def;
		const char *value = pend[k].value;

		if (def->arg == ARG_BOOL && !value)
			value = "true";
		if (!nw_config_set(cfg, def->section, def->key, value, msg, sizeof(msg))) {
			free(pend);
			return cli_fail(err, errlen, "--%s: %s", def->name, msg);
		}
	}
	free(pend);
	return cmd;
}
