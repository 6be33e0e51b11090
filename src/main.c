/* nano-web: start-up, signals, reloads and shutdown. */
#include "build-config.h" /* autoconf: PACKAGE_VERSION */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "accesslog.h"
#include "cli.h"
#include "completion.h"
#include "devtimer.h"
#include "log.h"
#include "monotime.h"
#include "privdrop.h"
#include "reload.h"
#include "responses.h"
#include "server.h"
#include "snapshot.h"
#include "textesc.h"
#include "xdp_client.h"

extern char **environ;

#define SHUTDOWN_GRACE_MS 30000
#define DEV_ROOT_RETRY_MS 500

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The bundled site: next to the binary (build tree), the source tree, then
 * the installed copy. */
static char *bundled_www(void)
{
	char exe[PATH_MAX], cand[PATH_MAX + 8];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(cand, sizeof cand, "%s/www", exe);
			if (is_dir(cand) && strcmp(exe, NW_BINDIR) != 0)
				return strdup(cand);
		}
	}
	snprintf(cand, sizeof cand, "%s/www", NW_SRCDIR);
	if (n > 0 && strncmp(exe, NW_BINDIR, strlen(NW_BINDIR)) != 0 && is_dir(cand))
		return strdup(cand);
	return strdup(NW_PKGDATADIR "/www");
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static unsigned ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

static void log_snapshot(const char *what, const struct nw_snapshot *s)
{
	const struct nw_snapshot_stats *st = &s->stats;
	char kept[64] = "";

	if (st->kept_compressed)
		snprintf(kept, sizeof kept, ", compressed forms of %zu unchanged kept",
			 st->kept_compressed);
	nw_info("%s %zu files from %s (%llu bytes, %llu bytes compressed, "
		"%llu bytes in memory, %zu skipped%s) in %.0f ms, generation %llu",
		what, st->files, s->root, (unsigned long long)st->bytes,
		(unsigned long long)st->compressed_bytes,
		(unsigned long long)st->memory_bytes, st->skipped, kept,
		st->load_seconds * 1000.0, (unsigned long long)s->generation);
}

static size_t open_fds(void)
{
	size_t n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Warnings about a snapshot just loaded that would otherwise surprise
 * later: an empty site, and files served from disk that a reload could not
 * open again (it opens them before it closes the old snapshot's). */
static void check_snapshot(const struct nw_snapshot *s)
{
	struct rlimit rl;
	size_t disk = 0, used;

	if (s->stats.files == 0)
		nw_warn("%s has no files to serve", s->root);
	for (size_t i = 0; i < s->n_res; i++)
		disk += s->res[i].on_disk && s->res[i].disk_fd >= 0;
	if (!disk || getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    rl.rlim_cur == RLIM_INFINITY)
		return;
	used = open_fds();
	if (used + disk + 64 > rl.rlim_cur)
		nw_warn("%zu files are served from disk, a descriptor each, and "
			"%zu of the limit of %llu descriptors are in use: a "
			"reload, which opens them again before it closes the "
			"old ones, would fail; raise the limit (ulimit -n, "
			"LimitNOFILE=) or [limits] max_memory_file", disk, used,
			(unsigned long long)rl.rlim_cur);
}

/* prev: the snapshot being served, whose unchanged files' compressed forms
 * a reload keeps (NULL at start-up) */
static struct nw_snapshot *load(const struct nw_config *cfg, unsigned threads,
				const struct nw_snapshot *prev,
				char *err, size_t errlen)
{
	struct nw_snapshot *s;

	s = nw_snapshot_reload(cfg, environ, threads, isatty(2), prev, err,
			       errlen);
	if (!s)
		return NULL;
	if (!nw_responses_build(s, cfg)) {
		snprintf(err, errlen, "out of memory building responses");
		nw_snapshot_unref(s);
		return NULL;
	}
	return s;
}

static void reopen_access_log(void)
{
	char err[512];

	if (!nw_accesslog_reopen(err, sizeof err))
		nw_error("%s; still writing to the old file", err);
}

static bool access_log_is_file(const struct nw_config *cfg)
{
	return cfg->access_log && cfg->access_log[0] &&
	       strcmp(cfg->access_log, "-") != 0;
}

/*
 * Started as root, a missing access log file is created owned by [server]
 * user, so that the dropped process can open it again (SIGUSR1, SIGHUP).
 * An existing file is opened as it is.
 */
static bool open_access_log(const struct nw_config *cfg, char *err,
			    size_t errlen)
{
	char why[PATH_MAX + 128];

	if (access_log_is_file(cfg) &&
	    !nw_create_for_user(cfg->access_log, cfg->user, why, sizeof why)) {
		snprintf(err, errlen, "access log %.*s", (int)(errlen > 16 ? errlen - 16 : 0), why);
		return false;
	}
	return nw_accesslog_open(cfg, err, errlen);
}

/* After the switch to [server] user: says now, not at the first rotation,
 * when reopening the access log is going to fail. */
static void check_access_log(const struct nw_config *cfg)
{
	char dir[PATH_MAX], *slash;

	if (!access_log_is_file(cfg))
		return;
	if (access(cfg->access_log, W_OK) != 0) {
		nw_warn("access log %s is not writable by user '%s' (%s): "
			"reopening it (SIGUSR1, SIGHUP) will fail; chown it to "
			"that user", cfg->access_log, cfg->user, strerror(errno));
		return;
	}
	snprintf(dir, sizeof dir, "%s", cfg->access_log);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	if (access(dir, W_OK | X_OK) != 0)
		nw_warn("user '%s' cannot create files in %s: after a rotation "
			"that moves %s away, reopening it (SIGUSR1) fails unless "
			"the new file exists and is writable by that user (e.g. "
			"logrotate's create or copytruncate)", cfg->user, dir,
			cfg->access_log);
}

/* The configuration file as read at start-up: a reload does not read it
 * again, and says so when it has changed since. */
static struct {
	const char *path;
	struct stat st;
	bool have;
} config_file;

static void note_config_file(const char *path)
{
	config_file.path = path;
	config_file.have = path && stat(path, &config_file.st) == 0;
}

static void warn_config_changed(void)
{
	struct stat st;

	if (config_file.have && stat(config_file.path, &st) == 0 &&
	    (st.st_mtim.tv_sec != config_file.st.st_mtim.tv_sec ||
	     st.st_mtim.tv_nsec != config_file.st.st_mtim.tv_nsec ||
	     st.st_size != config_file.st.st_size ||
	     st.st_ino != config_file.st.st_ino))
		nw_warn("%s has changed since start-up: a reload reads the "
			"files again, not the configuration; restart to apply "
			"it", config_file.path);
}

/* Builds a new snapshot and swaps it in; on failure the old one stays. */
static void reload(struct nw_server *srv, struct nw_xdp_client *xdp,
		   const struct nw_config *cfg, unsigned threads,
		   const char *why)
{
	struct nw_snapshot *s, *cur = nw_server_current(srv);
	char err[512];

	if (strcmp(why, "SIGHUP") == 0)
		warn_config_changed();
	s = load(cfg, threads, cur, err, sizeof err);
	if (!s) {
		nw_error("reload (%s) failed: %s; still serving generation %llu",
			 why, err, (unsigned long long)cur->generation);
		nw_snapshot_unref(cur);
		nw_server_note_failed_reload(srv);
		return;
	}
	nw_snapshot_unref(cur);
	nw_server_swap(srv, s);
	if (xdp)
		nw_xdp_client_publish(xdp, s);
	log_snapshot("reloaded", s);
	check_snapshot(s);
}

/* XDP's answers never reach nano-web, so they get no access-log line: with
 * request logging on, auto leaves the kernel path off, and on says what the
 * log will miss. */
static void kernel_path_and_request_log(struct nw_config *cfg)
{
	if (!cfg->log_requests || cfg->xdp == NW_XDP_OFF)
		return;
	if (cfg->xdp == NW_XDP_AUTO) {
		cfg->xdp = NW_XDP_OFF;
		nw_info("kernel path off: request logging is on, and the kernel's "
			"answers would not be logged (set [xdp] mode = on to use "
			"it anyway)");
	} else {
		nw_warn("request logging is on, but answers from the kernel path "
			"are not logged: the access log has only the requests "
			"that reach nano-web (/_stats counts the others)");
	}
}

static int serve(struct nw_config *cfg, const char *argv0)
{
	struct nw_server *srv;
	struct nw_snapshot *s;
	struct nw_xdp_client *xdp = NULL;
	struct nw_watch *watch = NULL;
	unsigned threads = cfg->threads ? cfg->threads : ncpu();
	struct pollfd pfd[2];
	sigset_t mask;
	struct nw_devtimer dev = { 0 };
	bool running = true, was_root, bundled = !cfg->root;
	char err[512];
	int sfd, rc = 0;

	if (!cfg->root) {
		cfg->root = bundled_www();
		if (!cfg->root) {
			nw_error("out of memory");
			return 1;
		}
	}
	raise_fd_limit();
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		nw_error("signalfd: %s", strerror(errno));
		return 1;
	}
	srv = nw_server_new(cfg, err, sizeof err);
	if (!srv) {
		nw_error("%s", err);
		return 1;
	}
	if (cfg->log_requests && !open_access_log(cfg, err, sizeof err)) {
		nw_error("%s", err);
		nw_server_free(srv);
		return 1;
	}
	if (!cfg->log_requests && cfg->access_log && cfg->access_log[0] &&
	    strcmp(cfg->access_log, "-") != 0)
		nw_warn("[log] access_log = %s is not written: request logging "
			"is off (set [log] requests = true, or --log-requests)",
			cfg->access_log);
	kernel_path_and_request_log(cfg);
	/* Before the site is loaded: the helper's guardian is a fork of this
	 * process and should not share (and be counted with) the content. */
	if (!nw_xdp_prepare(cfg, argv0, nw_server_port(srv), err, sizeof err)) {
		nw_error("kernel path: %s", err);
		nw_server_free(srv);
		return 1;
	}
	/* Everything that needs root is done (the port is bound, the access log
	 * open, the helper started): the site is loaded, at start-up and at
	 * every reload, as [server] user, so that a reload never sees less (or
	 * more) than the first load did. The exception is the bundled site,
	 * ours and public: a clone in a private home directory (0700, /root)
	 * is out of that user's reach, and `sudo scripts/serve.sh` must serve
	 * it (its reloads then fail, and it keeps serving). */
	was_root = geteuid() == 0 && cfg->user && cfg->user[0];
	s = bundled ? load(cfg, threads, NULL, err, sizeof err) : NULL;
	if (bundled && !s) {
		nw_error("%s", err);
		nw_server_free(srv);
		return 1;
	}
	if (!nw_drop_privileges(cfg->user, err, sizeof err)) {
		nw_error("%s", err);
		nw_snapshot_unref(s);
		nw_server_free(srv);
		return 1;
	}
	if (was_root && cfg->log_requests)
		check_access_log(cfg);
	if (!s)
		s = load(cfg, threads, NULL, err, sizeof err);
	if (!s) {
		if (was_root && strstr(err, strerror(EACCES)))
			nw_error("%s (loading as user '%s', see [server] user)",
				 err, cfg->user);
		else
			nw_error("%s", err);
		nw_server_free(srv);
		return 1;
	}
	log_snapshot("loaded", s);
	check_snapshot(s);
	if (cfg->dev) {
		/* Armed before the first request can be answered. */
		watch = nw_watch_new(cfg->root, cfg->follow_symlinks);
		if (!watch)
			nw_warn("dev: cannot watch %s; reload with SIGHUP", cfg->root);
	}
	if (!nw_server_start(srv, s, threads, err, sizeof err)) {
		nw_error("%s", err);
		nw_snapshot_unref(s);
		nw_server_free(srv);
		return 1;
	}
	if (cfg->xdp != NW_XDP_OFF) {
		xdp = nw_xdp_client_new(cfg, nw_server_port(srv));
		nw_server_set_xdp(srv, xdp);
		if (xdp)
			nw_xdp_client_publish(xdp, s);
	}
	nw_info("nano-web %s listening on %s (%u threads%s%s)", PACKAGE_VERSION,
		nw_server_url(srv), threads, cfg->spa ? ", spa" : "",
		cfg->dev ? ", dev" : "");

	while (running) {
		int nfds = 1, n;
		bool root_gone = watch && !nw_watch_root_watched(watch);
		long due = nw_devtimer_due(&dev, nw_mono_ms());
		/* Buffered access log lines go out within about a second; a
		 * dev root is looked for (gone) or re-resolved (a symlink
		 * re-pointed) every DEV_ROOT_RETRY_MS. */
		int timeout = due >= 0 ? (int)due :
			      watch ? DEV_ROOT_RETRY_MS :
			      cfg->log_requests ? 1000 : -1;

		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		if (watch) {
			pfd[1] = (struct pollfd){ .fd = nw_watch_fd(watch), .events = POLLIN };
			nfds = 2;
		}
		n = poll(pfd, (nfds_t)nfds, timeout);
		if (n < 0 && errno != EINTR) {
			nw_error("poll: %s", strerror(errno));
			break;
		}
		if (n == 0 && cfg->log_requests)
			nw_accesslog_flush();
		if (n == 0 && root_gone && due < 0) {
			nw_watch_rescan(watch);
			if (nw_watch_root_watched(watch)) {
				nw_info("dev: %s is back", cfg->root);
				nw_devtimer_note(&dev, NW_CHANGE_DONE, false,
						 nw_mono_ms());
			}
			continue;
		}
		if (n == 0 && watch && due < 0 && nw_watch_root_moved(watch)) {
			nw_watch_rescan(watch);
			nw_info("dev: %s leads to another directory now", cfg->root);
			nw_devtimer_note(&dev, NW_CHANGE_DONE, false, nw_mono_ms());
			continue;
		}
		if (due >= 0 && nw_devtimer_due(&dev, nw_mono_ms()) == 0) {
			/* the changes settled (devtimer.h): reload once */
			nw_devtimer_clear(&dev);
			/* Re-arm before loading, so that a change made during
			 * the load triggers another reload. */
			nw_watch_rescan(watch);
			if (!nw_watch_root_watched(watch))
				nw_warn("dev: %s is gone: serving the last content "
					"until it is back", cfg->root);
			reload(srv, xdp, cfg, threads, "file change");
			continue;
		}
		if (n > 0 && (pfd[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGHUP || si.ssi_signo == SIGUSR1)
					reopen_access_log();
				if (si.ssi_signo == SIGHUP) {
					/* a root recreated since is watched again */
					if (watch)
						nw_watch_rescan(watch);
					reload(srv, xdp, cfg, threads, "SIGHUP");
				} else if (si.ssi_signo != SIGUSR1) {
					nw_info("received %s: finishing in-flight requests",
						strsignal((int)si.ssi_signo));
					running = false;
				}
			}
		}
		if (n > 0 && nfds == 2 && (pfd[1].revents & POLLIN)) {
			unsigned changes = nw_watch_drain(watch);

			if (changes)
				nw_devtimer_note(&dev, changes,
						 nw_watch_writing(watch), nw_mono_ms());
		}
	}
	/* The helper first: while it drains, the connections XDP owns are
	 * handed to the kernel and still need the listener. */
	nw_server_set_xdp(srv, NULL);
	nw_xdp_client_free(xdp);
	nw_server_shutdown(srv, SHUTDOWN_GRACE_MS, sfd);
	nw_watch_free(watch);
	nw_server_free(srv);
	nw_accesslog_close();
	close(sfd);
	nw_info("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	struct nw_config cfg;
	const char *config_path = NULL, *shell = NULL;
	struct strbuf sb = STRBUF_INIT;
	char err[1024];
	int rc = 0;
	enum nw_command cmd;

	nw_config_init(&cfg);
	cmd = nw_cli_parse(argc, argv, &cfg, &config_path, &shell, err, sizeof err);
	switch (cmd) {
	case NW_CMD_HELP:
		fputs(nw_cli_usage(), stdout);
		break;
	case NW_CMD_COMPLETION:
		if (!nw_completion_script(shell, &sb) || !sb.buf) {
			char esc[256];

			nw_console_escape(shell, esc, sizeof esc, false);
			fprintf(stderr, "nano-web: completion: unknown shell '%s' "
				"(bash, zsh or fish)\n", esc);
			rc = 2;
		} else {
			fputs(sb.buf, stdout);
		}
		sb_free(&sb);
		break;
	case NW_CMD_VERSION:
		printf("nano-web %s\n", PACKAGE_VERSION);
		break;
	case NW_CMD_ERROR:
	case NW_CMD_CONFIG_ERROR: {
		/* it may quote the config file's bytes: no terminal escapes */
		char esc[4 * sizeof err];

		nw_console_escape(err, esc, sizeof esc, false);
		fprintf(stderr, "nano-web: %s\n%s", esc, cmd == NW_CMD_ERROR ?
			"(see 'nano-web --help')\n" : "");
		rc = 2;
		break;
	}
	case NW_CMD_SERVE:
		nw_log_setup(cfg.log_level, cfg.log_format);
		if (config_path)
			nw_info("configuration from %s", config_path);
		note_config_file(config_path);
		rc = serve(&cfg, argv[0]);
		break;
	}
	nw_config_free(&cfg);
	return rc;
}
