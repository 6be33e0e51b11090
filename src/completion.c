/*
 * Shell completion scripts (nano-web completion bash|zsh|fish), generated
 * from the CLI's own option table so they cannot drift from it. Pure.
 */
#include "completion.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const commands[][2] = {
	{ "serve", "Serve the files in DIR" },
	{ "version", "Print the version" },
	{ "help", "Print the help" },
	{ "completion", "Print a completion script" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))
#define SHELLS "bash zsh fish"

/* A value that is one of a few words ("auto on off"), not a name ("N"). */
static bool takes_words(const struct nw_cli_opt *o)
{
	return o->arg == ARG_VALUE && o->value && islower((unsigned char)o->value[0]);
}

static bool takes(const struct nw_cli_opt *o, const char *what)
{
	return o->arg == ARG_VALUE && o->value && strcmp(o->value, what) == 0;
}

/* The command names, sep between them. */
static void put_commands(struct strbuf *sb, const char *sep)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		sb_printf(sb, "%s%s", i ? sep : "", commands[i][0]);
}

static void bash_case(struct strbuf *sb, const struct nw_cli_opt *o)
{
	sb_puts(sb, "\t");
	if (o->short_name)
		sb_printf(sb, "-%c|", o->short_name);
	sb_printf(sb, "--%s)", o->name);
}

static void bash(struct strbuf *sb)
{
	const struct nw_cli_opt *o;
	bool first = true;

	sb_puts(sb, "# bash completion for nano-web: source <(nano-web completion bash)\n"
		"_nano_web()\n{\n"
		"\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
		"\tlocal i cmd=\n"
		"\tcase $prev in\n");
	for (o = nw_cli_opts; o < nw_cli_opts + NW_CLI_N_OPTS; o++) {
		if (o->arg != ARG_VALUE)
			continue;
		bash_case(sb, o);
		if (takes_words(o))
			sb_printf(sb, " COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n",
				  o->value);
		else if (takes(o, "FILE"))
			sb_puts(sb, " COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n");
		else if (takes(o, "DIR"))
			sb_puts(sb, " COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n");
		else
			sb_puts(sb, " return ;;\n");
	}
	sb_puts(sb, "\tesac\n"
		"\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
		"\t\tcase ${COMP_WORDS[i]} in\n\t\t");
	put_commands(sb, "|");
	sb_puts(sb, ") cmd=${COMP_WORDS[i]}; break ;;\n"
		"\t\tesac\n\tdone\n"
		"\tif [[ $cur == -* ]]; then\n"
		"\t\tCOMPREPLY=($(compgen -W '");
	for (o = nw_cli_opts; o < nw_cli_opts + NW_CLI_N_OPTS; o++) {
		sb_printf(sb, "%s--%s", first ? "" : " ", o->name);
		first = false;
		if (o->short_name)
			sb_printf(sb, " -%c", o->short_name);
	}
	sb_puts(sb, "' -- \"$cur\"))\n"
		"\telif [[ -z $cmd ]]; then\n"
		"\t\tCOMPREPLY=($(compgen -W '");
	put_commands(sb, " ");
	sb_puts(sb, "' -- \"$cur\"))\n"
		"\telif [[ $cmd == completion ]]; then\n"
		"\t\tCOMPREPLY=($(compgen -W '" SHELLS "' -- \"$cur\"))\n"
		"\telif [[ $cmd == serve ]]; then\n"
		"\t\tCOMPREPLY=($(compgen -d -- \"$cur\"))\n"
		"\tfi\n}\n"
		"complete -o filenames -F _nano_web nano-web\n");
}

/* What zsh's _arguments completes an option's value with. */
static const char *zsh_action(const struct nw_cli_opt *o, char *buf, size_t len)
{
	if (takes_words(o)) {
		snprintf(buf, len, "(%s)", o->value);
		return buf;
	}
	if (takes(o, "FILE"))
		return "_files";
	if (takes(o, "DIR"))
		return "_files -/";
	return " ";
}

static void zsh(struct strbuf *sb)
{
	char buf[128];

	sb_puts(sb, "#compdef nano-web\n"
		"# zsh completion for nano-web:\n"
		"#   nano-web completion zsh > \"${fpath[1]}/_nano-web\"\n"
		"_nano-web() {\n"
		"\tlocal state\n"
		"\t_arguments -s -S \\\n");
	for (const struct nw_cli_opt *o = nw_cli_opts; o < nw_cli_opts + NW_CLI_N_OPTS; o++) {
		const char *act = zsh_action(o, buf, sizeof buf);
		bool val = o->arg == ARG_VALUE;

		sb_puts(sb, "\t\t");
		if (o->short_name)
			sb_printf(sb, "'(-%c --%s)'{'-%c%s','--%s%s'}'", o->short_name,
				  o->name, o->short_name, val ? "+" : "", o->name,
				  val ? "=" : "");
		else
			sb_printf(sb, "'--%s%s", o->name, val ? "=" : "");
		sb_printf(sb, "[%s]", o->help);
		if (val) /* the message: the value's name, or the option's */
			sb_printf(sb, ":%s:%s", takes_words(o) ? o->name : o->value, act);
		sb_puts(sb, "' \\\n");
	}
	sb_puts(sb, "\t\t'1:command:((");
	for (size_t i = 0; i < N_COMMANDS; i++)
		sb_printf(sb, "%s%s\\:\"%s\"", i ? " " : "", commands[i][0], commands[i][1]);
	sb_puts(sb, "))' \\\n"
		"\t\t'*:: :->args'\n"
		"\tcase $state in\n"
		"\targs)\n"
		"\t\tcase $words[1] in\n"
		"\t\tserve) _files -/ ;;\n"
		"\t\tcompletion) _values shell " SHELLS " ;;\n"
		"\t\tesac ;;\n"
		"\tesac\n"
		"}\n"
		"if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
		"\t_nano-web \"$@\"\n"
		"else\n"
		"\tcompdef _nano-web nano-web\n"
		"fi\n");
}

static void fish(struct strbuf *sb)
{
	sb_puts(sb, "# fish completion for nano-web:\n"
		"#   nano-web completion fish > ~/.config/fish/completions/nano-web.fish\n"
		"complete -c nano-web -f\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		sb_printf(sb, "complete -c nano-web -n __fish_use_subcommand -a %s -d '%s'\n",
			  commands[i][0], commands[i][1]);
	sb_puts(sb, "complete -c nano-web -n '__fish_seen_subcommand_from serve' "
		"-a '(__fish_complete_directories)'\n"
		"complete -c nano-web -n '__fish_seen_subcommand_from completion' "
		"-a '" SHELLS "'\n");
	for (const struct nw_cli_opt *o = nw_cli_opts; o < nw_cli_opts + NW_CLI_N_OPTS; o++) {
		sb_puts(sb, "complete -c nano-web");
		if (o->short_name)
			sb_printf(sb, " -s %c", o->short_name);
		sb_printf(sb, " -l %s", o->name);
		if (takes_words(o))
			sb_printf(sb, " -x -a '%s'", o->value);
		else if (takes(o, "FILE"))
			sb_puts(sb, " -r -F");
		else if (takes(o, "DIR"))
			sb_puts(sb, " -x -a '(__fish_complete_directories)'");
		else if (o->arg == ARG_VALUE)
			sb_puts(sb, " -x");
		sb_printf(sb, " -d '%s'\n", o->help);
	}
}

bool nw_completion_script(const char *shell, struct strbuf *out)
{
	if (strcmp(shell, "bash") == 0)
		bash(out);
	else if (strcmp(shell, "zsh") == 0)
		zsh(out);
	else if (strcmp(shell, "fish") == 0)
		fish(out);
	else
		return false;
	return true;
}
