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
#include <getopt.h>
#include <ini.h>
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
#include "xdpd.h"

#ifndef NW_SYSCONFDIR
#define NW_SYSCONFDIR "/etc"
#endif

void xlog(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "nanoweb-xdpd[%d]: %s\n", (int)getpid(), buf);
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
	      "                    [--drain-ms MS]\n"
	      "       nanoweb-xdpd stats [--socket PATH]\n"
	      "signals: TERM/INT hand XDP's connections to the kernel (up to\n"
	      "--drain-ms, default 2000), then detach and clean up (a second TERM/INT\n"
	      "skips the wait); QUIT/USR2 exit leaving the programs attached and\n"
	      "pinned for the next helper to adopt\n", f);
}

static int parse_uint(const char *s, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int add_user(struct xdpd_cfg *c, const char *s)
{
	unsigned uid;

	if (c->n_allowed >= XDPD_MAX_USERS)
		return -1;
	if (parse_uint(s, 0xfffffffeUL, &uid)) {
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

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
}

static int set_attach(struct xdpd_cfg *c, const char *v)
{
	if (!strcmp(v, "auto"))
		c->attach = XDPD_ATTACH_AUTO;
	else if (!strcmp(v, "native"))
		c->attach = XDPD_ATTACH_NATIVE;
	else if (!strcmp(v, "generic"))
		c->attach = XDPD_ATTACH_GENERIC;
	else
		return -1;
	return 0;
}

struct ini_state {
	struct xdpd_cfg *cfg;
	char *server_user;
	char *allowed_users;
	int bad;
};

static int ini_cb(void *u, const char *section, const char *key, const char *v)
{
	struct ini_state *st = u;
	struct xdpd_cfg *c = st->cfg;

	if (!strcmp(section, "server") && !strcmp(key, "user")) {
		set_str(&st->server_user, v);
		return 1;
	}
	if (strcmp(section, "xdp"))
		return 1; /* nano-web's sections: not ours */
	if (!strcmp(key, "iface"))
		set_str(&c->ifaces, v);
	else if (!strcmp(key, "socket"))
		set_str(&c->socket, v);
	else if (!strcmp(key, "pin_dir"))
		set_str(&c->pin_dir, v);
	else if (!strcmp(key, "attach")) {
		if (set_attach(c, v))
			goto bad;
	} else if (!strcmp(key, "max_response")) {
		if (parse_uint(v, NWX_RESP_MAX, &c->max_response) || !c->max_response)
			goto bad;
	} else if (!strcmp(key, "flow_entries")) {
		if (parse_uint(v, 1u << 24, &c->flow_entries) || c->flow_entries < 16)
			goto bad;
	} else if (!strcmp(key, "cache_entries")) {
		if (parse_uint(v, 1u << 20, &c->cache_entries) || !c->cache_entries)
			goto bad;
	} else if (!strcmp(key, "drain_ms")) {
		if (parse_uint(v, 600000, &c->drain_ms))
			goto bad;
		c->drain_set = true;
	} else if (!strcmp(key, "allowed_users"))
		set_str(&st->allowed_users, v);
	/* other keys of [xdp] (mode = auto|on|off, ...) are nano-web's */
	return 1;
bad:
	xlog("[xdp] %s = %s: invalid value", key, v);
	st->bad = 1;
	return 1;
}

static volatile int keep_on_exit;

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct xdpd x;
	struct xdpd_cfg *c = &x.cfg;
	struct ini_state ist = { .cfg = c };
	const char *config = NULL;
	char *cli_users[XDPD_MAX_USERS];
	unsigned n_cli_users = 0;
	char *o_iface = NULL, *o_socket = NULL, *o_pin = NULL, *o_mode = NULL;
	unsigned o_flow = 0, o_cache = 0, o_maxr = 0, o_drain = 0;
	bool o_drain_set = false;
	bool stats = false;
	int opt, sfd, ready[2] = { -1, -1 }, rc = 0;
	sigset_t mask;

	if (argc > 1 && !strcmp(argv[1], "stats")) {
		stats = true;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	while ((opt = getopt_long(argc, argv, "i:s:m:c:p:F:C:R:u:fhD:", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': o_iface = optarg; break;
		case 's': o_socket = optarg; break;
		case 'm': o_mode = optarg; break;
		case 'c': config = optarg; break;
		case 'p': o_pin = optarg; break;
		case 'F':
			if (parse_uint(optarg, 1u << 24, &o_flow) || o_flow < 16) {
				fprintf(stderr, "nanoweb-xdpd: bad --flow-entries\n");
				return 2;
			}
			break;
		case 'C':
			if (parse_uint(optarg, 1u << 20, &o_cache) || !o_cache) {
				fprintf(stderr, "nanoweb-xdpd: bad --cache-entries\n");
				return 2;
			}
			break;
		case 'R':
			if (parse_uint(optarg, NWX_RESP_MAX, &o_maxr) || !o_maxr) {
				fprintf(stderr, "nanoweb-xdpd: bad --max-response (1..%d)\n",
					NWX_RESP_MAX);
				return 2;
			}
			break;
		case 'u':
			if (n_cli_users < XDPD_MAX_USERS)
				cli_users[n_cli_users++] = optarg;
			break;
		case 'f': c->foreground = true; break;
		case 'D':
			if (parse_uint(optarg, 600000, &o_drain)) {
				fprintf(stderr, "nanoweb-xdpd: bad --drain-ms (0..600000)\n");
				return 2;
			}
			o_drain_set = true;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	/* defaults, then the INI file, then the command line */
	c->socket = strdup(NWX_DEFAULT_SOCKET);
	c->pin_dir = strdup(NWX_DEFAULT_PIN_DIR);
	c->attach = XDPD_ATTACH_AUTO;
	c->max_response = NWX_DEFAULT_MAX_RESPONSE;
	c->flow_entries = 65536;
	c->cache_entries = 4096;
	if (!c->drain_set)
		c->drain_ms = 2000;
	if (!config && access(NW_SYSCONFDIR "/nanoweb.ini", R_OK) == 0 && !stats)
		config = NW_SYSCONFDIR "/nanoweb.ini";
	if (config) {
		int r = ini_parse(config, ini_cb, &ist);

		if (r < 0) {
			xlog("%s: cannot read: %s", config, strerror(errno));
			return 2;
		}
		if (r > 0) {
			xlog("%s:%d: syntax error", config, r);
			return 2;
		}
		if (ist.bad)
			return 2;
	}
	if (o_socket)
		set_str(&c->socket, o_socket);
	if (stats)
		return xdpd_stats_client(c->socket);
	if (o_iface)
		set_str(&c->ifaces, o_iface);
	if (o_pin)
		set_str(&c->pin_dir, o_pin);
	if (o_mode && set_attach(c, o_mode)) {
		fprintf(stderr, "nanoweb-xdpd: --mode must be native, generic or auto\n");
		return 2;
	}
	if (o_flow)
		c->flow_entries = o_flow;
	if (o_cache)
		c->cache_entries = o_cache;
	if (o_maxr)
		c->max_response = o_maxr;
	if (o_drain_set)
		c->drain_ms = o_drain;
	/* allowed users: root always; the configured list, or by default
	 * nano-web's own user ([server] user, "nobody" unless set) */
	if (ist.allowed_users && *ist.allowed_users)
		add_users(c, ist.allowed_users, "allowed_users");
	else if (!n_cli_users)
		add_users(c, ist.server_user ? ist.server_user : "nobody",
			  "[server] user");
	free(ist.allowed_users);
	free(ist.server_user);
	ist.allowed_users = ist.server_user = NULL;
	for (unsigned i = 0; i < n_cli_users; i++)
		if (add_user(c, cli_users[i])) {
			fprintf(stderr, "nanoweb-xdpd: --allow-uid %s: unknown user\n",
				cli_users[i]);
			return 2;
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

	if (xdpd_bpf_setup(&x) || xdpd_sock_listen(&x)) {
		/* a failed fresh start leaves nothing; a failed adoption leaves
		 * the predecessor's programs serving */
		xdpd_bpf_teardown(&x, x.adopted);
		xdpd_sock_close_all(&x);
		return 1;
	}
	xlog("ready: %u interface(s), flow map %u entries, cache %u responses, max response %u bytes",
	     x.n_ifs, c->flow_entries, c->cache_entries, c->max_response);
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
