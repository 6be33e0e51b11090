/*
 * nanoweb-xdpd: command line, the [xdp] section of nanoweb.ini, signals and
 * the main loop.
 *
 *   SIGTERM, SIGINT   drain (XDP hands every connection it owns to the kernel
 *                     at its next segment, for up to --drain-ms), then
 *                     detach everything, remove pins and the socket
 *   SIGQUIT, SIGUSR2  exit leaving programs attached and maps pinned: the
 *                     next helper adopts them (upgrade / restart)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "config.h"   /* nano-web's INI reader (libnwcore) */
#include "textesc.h"  /* libnwcore */
#include "xdpd.h"

_Static_assert(NW_XDP_MAX_RESPONSE_MAX == NWX_ANSWER_MAX &&
		       NW_XDP_MAX_RESPONSE_DEFAULT == NWX_DEFAULT_MAX_RESPONSE,
	       "[xdp] max_response range and the helper's map values");

#ifndef NW_SYSCONFDIR
#define NW_SYSCONFDIR "/etc"
#endif

void xlog(const char *fmt, ...)
{
	char buf[1024], esc[4 * sizeof buf];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* it may quote a config file's or a client's bytes: one line, no
	 * terminal escapes */
	nw_console_escape(buf, esc, sizeof esc, false);
	fprintf(stderr, "nanoweb-xdpd[%d]: %s\n", (int)getpid(), esc);
}

static int libbpf_log(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	char buf[512];

	if (lvl == LIBBPF_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* netlink's extack for fallbacks we handle (native -> generic, an
	 * existing clsact qdisc): our own log line says what happened */
	if (strstr(buf, "Kernel error message"))
		return 0;
	buf[strcspn(buf, "\n")] = 0;
	xlog("%s", buf);
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: nanoweb-xdpd [--iface NAME[,NAME...]] [--socket PATH]\n"
	      "                    [--mode native|generic|auto] [--config FILE]\n"
	      "                    [--pin-dir DIR] [--flow-entries N] [--cache-entries N]\n"
	      "                    [--max-response BYTES] [--allow-uid UID]... [--foreground]\n"
	      "                    [--drain-ms MS] [--check-config]\n"
	      "       nanoweb-xdpd stats [--config FILE] [--socket PATH]\n"
	      "signals: TERM/INT hand XDP's connections to the kernel (up to\n"
	      "--drain-ms, default 2000), then detach and clean up (a second TERM/INT\n"
	      "skips the wait); QUIT/USR2 exit leaving the programs attached and\n"
	      "pinned for the next helper to adopt\n", f);
}

static int add_user(struct xdpd_cfg *c, const char *s)
{
	unsigned long uid;

	if (c->n_allowed >= XDPD_MAX_USERS)
		return -1;
	if (!nw_parse_uint(s, 0xfffffffeUL, &uid)) {
		struct passwd *pw = getpwnam(s);

		if (!pw)
			return -1;
		uid = pw->pw_uid;
	}
	c->allowed[c->n_allowed++] = (uid_t)uid;
	return 0;
}

static int add_users(struct xdpd_cfg *c, const char *list, const char *what)
{
	char *dup = strdup(list), *save = NULL, *t;
	int r = 0;

	for (t = strtok_r(dup, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		if (add_user(c, t)) {
			xlog("%s: unknown user %s (ignored)", what, t);
			r = -1;
		}
	free(dup);
	return r;
}


static const char *attach_name(enum xdpd_attach a)
{
	return a == XDPD_ATTACH_NATIVE ? "native" :
	       a == XDPD_ATTACH_GENERIC ? "generic" : "auto";
}

/*
 * The shared nanoweb.ini is read by nano-web's own reader (libnwcore's
 * nw_config_load_file): the same line length, comments, case rules,
 * value checks and FILE:LINE messages, so the two programs accept and
 * reject the same files. The helper then takes [xdp] and [server] user.
 */
/* A command-line setting: the [xdp] key it overrides, and its value. */
struct override {
	const char *flag, *key, *value;
};

/* defaults, then the INI file, then the command line: each value checked
 * as the same key in the file is */
static bool load_config(struct xdpd_cfg *c, const char *path,
			struct nw_config *nc, const struct override *o,
			size_t n)
{
	char err[1024];

	if (path && !nw_config_load_file(nc, path, err, sizeof err)) {
		xlog("%s", err);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (o[i].value &&
		    !nw_config_set(nc, "xdp", o[i].key, o[i].value, err, sizeof err)) {
			xlog("%s: %s", o[i].flag, err);
			return false;
		}
	c->socket = strdup(nc->xdp_socket);
	c->pin_dir = strdup(nc->xdp_pin_dir);
	c->ifaces = nc->xdp_iface && *nc->xdp_iface ? strdup(nc->xdp_iface) : NULL;
	c->attach = nc->xdp_attach == NW_ATTACH_NATIVE ? XDPD_ATTACH_NATIVE :
		    nc->xdp_attach == NW_ATTACH_GENERIC ? XDPD_ATTACH_GENERIC :
		    XDPD_ATTACH_AUTO;
	c->max_response = nc->xdp_max_response;
	c->flow_entries = nc->xdp_flow_entries;
	c->cache_entries = nc->xdp_cache_entries;
	c->drain_ms = nc->xdp_drain_ms;
	c->idle_s = nc->timeout;
	return true;
}

static volatile int keep_on_exit;

uint64_t xdpd_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long mono_ms(void)
{
	return (long)(xdpd_mono_ns() / 1000000);
}

/*
 * Clean stop, first half: set NWX_CTL_DRAIN, so XDP sends no more SYN
 * cookies (the kernel answers new SYNs itself), answers no more requests,
 * and hands every connection it owns to the kernel at its next in-order
 * segment (request, ACK; FINs are still answered). Waits until no flow is
 * owned by XDP any more, at most cfg.drain_ms, or until a second TERM/INT.
 *
 * Idle connections (keep-alive clients between requests) are asked for a
 * segment with a keep-alive-style probe (xdpd_bpf_probe_owned), so they are
 * handed off too. What cannot be drained: a connection XDP owns that sends
 * nothing during the wait even so (client gone, probe or answer lost, the
 * wait cut short). After the detach its next segment reaches the kernel,
 * which has no socket for it (XDP answered its handshake), and no program
 * is left to hand it off: the kernel answers with a RST, so the client sees
 * a reset. Unavoidable once detached; a stop with SIGQUIT/SIGUSR2 (restart,
 * upgrade) keeps every such connection.
 */
static void drain(struct xdpd *x, int sfd)
{
	long start = mono_ms(), end = start + (long)x->cfg.drain_ms;
	unsigned owned = xdpd_bpf_owned_flows(x), probes;
	long last_probe;

	if (!x->cfg.drain_ms || !owned)
		return;
	if (xdpd_bpf_drain(x, true)) {
		xlog("drain: cannot set the drain flag: stopping at once");
		return;
	}
	/* idle connections send nothing by themselves: probe them (again
	 * every 600 ms: Linux rate-limits its answers to such probes to one
	 * per 500 ms per connection) */
	probes = xdpd_bpf_probe_owned(x);
	last_probe = mono_ms();
	xlog("drain: handing %u connection(s) owned by XDP to the kernel (up to %u ms; %u idle ones probed)",
	     owned, x->cfg.drain_ms, probes);
	while (owned && mono_ms() < end) {
		struct pollfd p = { .fd = sfd, .events = POLLIN };
		long left = end - mono_ms();

		if (poll(&p, 1, left < 50 ? (int)(left > 0 ? left : 0) : 50) > 0) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) &&
			    si.ssi_signo != SIGHUP) {
				xlog("%s again: not waiting any longer",
				     strsignal((int)si.ssi_signo));
				break;
			}
		}
		xdpd_bpf_tick(x); /* FINs and retransmissions still carry a Date */
		owned = xdpd_bpf_owned_flows(x);
		if (owned && mono_ms() - last_probe >= 600) {
			xdpd_bpf_probe_owned(x);
			last_probe = mono_ms();
		}
	}
	if (owned)
		xlog("drain: %u connection(s) still owned by XDP after %ld ms: the kernel resets them at their next segment",
		     owned, mono_ms() - start);
	else
		xlog("drain: every connection handed off after %ld ms",
		     mono_ms() - start);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "socket", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "config", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "flow-entries", required_argument, NULL, 'F' },
		{ "cache-entries", required_argument, NULL, 'C' },
		{ "max-response", required_argument, NULL, 'R' },
		{ "allow-uid", required_argument, NULL, 'u' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "drain-ms", required_argument, NULL, 'D' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct xdpd x;
	struct xdpd_cfg *c = &x.cfg;
	struct nw_config nc;
	const char *config = NULL;
	char *cli_users[XDPD_MAX_USERS];
	unsigned n_cli_users = 0;
	struct override o[] = {
		{ "--iface", "iface", NULL },
		{ "--socket", "socket", NULL },
		{ "--mode", "attach", NULL },
		{ "--pin-dir", "pin_dir", NULL },
		{ "--flow-entries", "flow_entries", NULL },
		{ "--cache-entries", "cache_entries", NULL },
		{ "--max-response", "max_response", NULL },
		{ "--drain-ms", "drain_ms", NULL },
	};
	bool stats = false, check = false;
	int opt, sfd, ready[2] = { -1, -1 }, rc = 0;
	sigset_t mask;

	if (argc > 1 && !strcmp(argv[1], "stats")) {
		stats = true;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	while ((opt = getopt_long(argc, argv, "i:s:m:c:p:F:C:R:u:fhD:k", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': o[0].value = optarg; break;
		case 's': o[1].value = optarg; break;
		case 'm': o[2].value = optarg; break;
		case 'c': config = optarg; break;
		case 'p': o[3].value = optarg; break;
		case 'F': o[4].value = optarg; break;
		case 'C': o[5].value = optarg; break;
		case 'R': o[6].value = optarg; break;
		case 'u':
			if (n_cli_users == XDPD_MAX_USERS) {
				fprintf(stderr, "nanoweb-xdpd: more than %d --allow-uid\n",
					XDPD_MAX_USERS);
				return 2;
			}
			cli_users[n_cli_users++] = optarg;
			break;
		case 'f': c->foreground = true; break;
		case 'D': o[7].value = optarg; break;
		case 'k': check = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	nw_config_init(&nc);
	if (!config && access(NW_SYSCONFDIR "/nanoweb.ini", R_OK) == 0 && !stats)
		config = NW_SYSCONFDIR "/nanoweb.ini";
	if (!load_config(c, config, &nc, o, sizeof o / sizeof o[0])) {
		nw_config_free(&nc);
		return 2;
	}
	if (stats)
		return xdpd_stats_client(c->socket);
	/* allowed users: root always; the configured list, or by default
	 * nano-web's own user ([server] user, "nobody" unless set) */
	if (nc.xdp_allowed_users && *nc.xdp_allowed_users)
		add_users(c, nc.xdp_allowed_users, "allowed_users");
	else if (!n_cli_users)
		add_users(c, nc.user ? nc.user : "nobody", "[server] user");
	nw_config_free(&nc);
	for (unsigned i = 0; i < n_cli_users; i++)
		if (add_user(c, cli_users[i])) {
			if (c->n_allowed == XDPD_MAX_USERS)
				fprintf(stderr, "nanoweb-xdpd: --allow-uid %s: more than "
					"%d allowed users in all\n", cli_users[i],
					XDPD_MAX_USERS);
			else
				fprintf(stderr, "nanoweb-xdpd: --allow-uid %s: unknown user\n",
					cli_users[i]);
			return 2;
		}
	if (check) {
		/* --check-config: the settings it would run with; nothing is
		 * loaded, attached or opened */
		printf("configuration: %s\n", config ? config : "(defaults)");
		printf("iface = %s\nattach = %s\nsocket = %s\npin_dir = %s\n"
		       "max_response = %u\nflow_entries = %u\ncache_entries = %u\n"
		       "drain_ms = %u\nallowed uids =",
		       c->ifaces ? c->ifaces : "(every interface that is up)",
		       attach_name(c->attach), c->socket, c->pin_dir,
		       c->max_response, c->flow_entries, c->cache_entries,
		       c->drain_ms);
		for (unsigned i = 0; i < c->n_allowed; i++)
			printf(" %u", (unsigned)c->allowed[i]);
		printf(" (and root)\n");
		return 0;
	}
	if (geteuid() != 0)
		xlog("warning: not running as root: loading BPF programs will probably fail");

	libbpf_set_print(libbpf_log);

	if (!c->foreground) {
		pid_t pid;
		char b;

		if (pipe(ready)) {
			xlog("pipe: %s", strerror(errno));
			return 1;
		}
		pid = fork();
		if (pid < 0) {
			xlog("fork: %s", strerror(errno));
			return 1;
		}
		if (pid > 0) {
			close(ready[1]);
			/* the child writes one byte once it serves the socket */
			return read(ready[0], &b, 1) == 1 ? 0 : 1;
		}
		close(ready[0]);
		setsid();
		/* Let go of the caller's input and output (out=$(nanoweb-xdpd)
		 * or ssh would wait for the helper to exit); the log stays on
		 * standard error. */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			if (null > STDERR_FILENO)
				close(null);
		}
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	if (xdpd_sock_check(&x) || xdpd_bpf_setup(&x) || xdpd_sock_listen(&x)) {
		/* a failed fresh start leaves nothing; a failed adoption leaves
		 * the predecessor's programs serving */
		xdpd_bpf_teardown(&x, x.adopted);
		xdpd_sock_close_all(&x);
		return 1;
	}
	xlog("ready: %u interface(s), flow map %u entries, cache %u responses, max response %u bytes, drain %u ms",
	     x.n_ifs, c->flow_entries, c->cache_entries, c->max_response,
	     c->drain_ms);
	if (ready[1] >= 0) {
		if (write(ready[1], "1", 1) != 1)
			rc = 0;
		close(ready[1]);
	}

	for (;;) {
		struct pollfd pfd[80];
		unsigned n = 0;
		int r;

		pfd[n].fd = sfd;
		pfd[n].events = POLLIN;
		n++;
		xdpd_sock_poll_fds(&x, pfd, &n);
		r = poll(pfd, n, 100); /* loss probes: a sweep every 100 ms */
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && pfd[0].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					xlog("SIGHUP: nothing to reload (restart to change the configuration)");
				} else {
					keep_on_exit = si.ssi_signo == SIGQUIT ||
						       si.ssi_signo == SIGUSR2;
					xlog("%s: %s", strsignal((int)si.ssi_signo),
					     keep_on_exit ? "exiting, leaving the fast path in place"
							  : "stopping");
					break;
				}
			}
		}
		if (r > 0)
			xdpd_sock_handle(&x, pfd + 1, n - 1);
		xdpd_bpf_tick(&x);
	}
	xdpd_sock_close_all(&x);
	if (!keep_on_exit)
		drain(&x, sfd);
	xdpd_bpf_teardown(&x, keep_on_exit);
	return rc;
}
