/* Command-line parsing. Pure: writes messages only into the err buffer. */
#ifndef NW_CLI_H
#define NW_CLI_H
#include "config.h"

enum nw_command {
	NW_CMD_SERVE = 0,
	NW_CMD_VERSION,
	NW_CMD_HELP,
	NW_CMD_COMPLETION,
	NW_CMD_ERROR,
	NW_CMD_CONFIG_ERROR /* the config file's fault, not the command line's */
};

enum nw_cli_opt_id {
	OPT_PORT, OPT_SPA, OPT_DEV, OPT_CONFIG_PREFIX, OPT_LOG_LEVEL,
	OPT_LOG_FORMAT, OPT_LOG_REQUESTS, OPT_LISTEN, OPT_CONFIG, OPT_THREADS,
	OPT_XDP, OPT_XDP_IFACE, OPT_HELP, OPT_VERSION, OPT_DIR, NW_CLI_N_OPTS
};

enum nw_cli_arg { ARG_NONE, ARG_BOOL, ARG_VALUE };

/* nano-web's flags, for the parser and the completion scripts. */
struct nw_cli_opt {
	const char *name;   /* long name, without "--" */
	char short_name;    /* 0: none */
	enum nw_cli_arg arg; /* ARG_BOOL: a flag that also takes "=false" */
	enum nw_cli_opt_id id;
	const char *section, *key; /* nw_config_set target, NULL: special */
	/* ARG_VALUE: its value's name, or the words it takes ("auto on off") */
	const char *value;
	const char *help;   /* one line */
};

extern const struct nw_cli_opt nw_cli_opts[NW_CLI_N_OPTS];

/*
 * nano-web serve [DIR] [--port/-p N] [--spa] [--dev/-d] [--config-prefix P]
 *   [--log-level L] [--log-format console|json] [--log-requests]
 *   [--listen ADDR] [--config FILE] [--threads N] [--xdp auto|on|off]
 *   [--xdp-iface NAME[,NAME...]]
 * nano-web version | --version | -V
 * nano-web --help | -h | help     (also "nano-web serve --help")
 * nano-web completion bash|zsh|fish   (*shell: the word after it)
 * Options also work before the subcommand (as in the original nano-web).
 * "--opt=value" and "--opt value" are both accepted.
 *
 * Short forms: -p (--port), -d (--dev), -c (--config), -t (--threads),
 * -h, -V; "-p8080" works too. Boolean flags (--spa, --dev, --log-requests)
 * take an optional "=BOOL" ("--spa=false") to override the config file.
 * "--" ends the options. Options without a subcommand mean serve; no
 * arguments at all mean help. Help wins over every other valid argument,
 * then version (a malformed one is still an error);
 * neither loads the config file.
 *
 * cfg must have been filled by nw_config_init.
 * The config file (--config, else $NANOWEB_CONFIG) is loaded into cfg first,
 * then the flags are applied over it, so flags win. Returns the command;
 * NW_CMD_ERROR with a message in err (unknown flag, bad value):
 * "unknown option --x", "--port: invalid port 'abc' (expected 1-65535)";
 * NW_CMD_CONFIG_ERROR for a bad config file: "FILE:LINE: [server] port: ...".
 * Messages have no "nano-web:" prefix.
 * *config_path is set to the file used (or NULL).
 */
enum nw_command nw_cli_parse(int argc, char **argv, struct nw_config *cfg,
			     const char **config_path, const char **shell,
			     char *err, size_t errlen);

/* The --help text. */
const char *nw_cli_usage(void);

#endif
