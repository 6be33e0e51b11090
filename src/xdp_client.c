/*
 * nano-web's side of the kernel fast path (see xdp_client.h and
 * ../shared/DESIGN.md): starts nanoweb-xdpd when nano-web runs as root and no
 * helper answers, keeps a connection to it from a background thread, pushes
 * every eligible prebuilt response of each snapshot, and reads its counters.
 *
 * Threads: the HTTP side calls publish/stats/free; one background thread owns
 * the push connection. `mu` guards the shared fields; the socket itself is
 * only used by the background thread, which also reads the helper's counters
 * on it for /_stats: a request thread never waits for the helper.
 */
#include "xdp_client.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "monotime.h"
#include "responses.h"
#include "nanoweb_xdp_proto.h"

#ifndef NW_SBINDIR
#define NW_SBINDIR "/usr/local/sbin"
#endif

#define HELPER_NAME "nanoweb-xdpd"
#define HELPER_START_WAIT_MS 15000   /* loading and attaching BPF programs */
/* after SIGTERM the helper drains for up to [xdp] drain_ms, then detaches
 * and cleans up; past this much more it is killed */
#define HELPER_STOP_MARGIN_MS 13000
#define RECONNECT_MS 1000
#define PUBLISH_WAIT_MS 5000         /* publish() waits for the commit this long */
#define IO_TIMEOUT_MS 5000
/* A full cache is pushed again, with what nano-web answered itself first,
 * only after this many such requests (and at intervals: xdp_demand.h). */
#define HOT_PUSH_MIN_REQUESTS 32
/* The helper's counters for /_stats are read this often at most, while
 * /_stats was asked for within STATS_WATCH_MS; /_stats answers the last
 * reading. */
#define STATS_EVERY_MS 1000
#define STATS_WATCH_MS 30000
#define STATS_WAIT_MAX_MS 10000   /* caps NANOWEB_STATS_WAIT_MS */

_Static_assert(NW_XDP_GET == NWX_METHOD_GET && NW_XDP_HEAD == NWX_METHOD_HEAD &&
	       NW_XDP_NM == NWX_METHOD_NM && NW_ENC_COUNT == 4,
	       "xdp_demand.h numbers answers as the wire protocol does");

/* IMF-fixdate placeholder for the Date value: XDP writes the real one. */
#define DATE_PLACEHOLDER "Thu, 01 Jan 1970 00:00:00 GMT"


/* ---------------------------------------------------------------------- */
/* The wire protocol (common/nanoweb_xdp_proto.h): one message per         */
/* SOCK_SEQPACKET packet, one reply per request, in order.                 */

struct wire {
	int fd;
	uint32_t seq;
	uint32_t err_code;      /* of the last NWX_MSG_ERROR reply, or 0 */
	char err_text[160];
	uint8_t buf[NWX_MSG_MAX];
};

static void wire_init(struct wire *w, int fd)
{
	w->fd = fd;
	w->seq = 0;
	w->err_code = 0;
	w->err_text[0] = '\0';
}

/*
 * Sends one request of `type` whose body is the concatenation of `parts`, and reads its reply. Returns the reply's body length (>= 0) with
 * the body in w->buf + sizeof(struct nwx_hdr) when the reply has type
 * `want`; -1 on a transport or framing failure (errno set: the connection is
 * unusable); -2 on an NWX_MSG_ERROR reply (w->err_code, w->err_text).
 */
#define WIRE_MAX_PARTS 4
static long wire_call(struct wire *w, uint16_t type,
		      const struct iovec *parts, int nparts, uint16_t want)
{
	struct nwx_hdr h = { 0 };
	size_t total = sizeof h;
	struct iovec iov[WIRE_MAX_PARTS + 1] = { { &h, sizeof h } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 1 };
	struct nwx_hdr rh;
	ssize_t n;

	for (int i = 0; i < nparts && i < WIRE_MAX_PARTS; i++) {
		iov[mh.msg_iovlen++] = parts[i];
		total += parts[i].iov_len;
	}

	if (total > NWX_MSG_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	h.len = (uint32_t)total;
	h.type = type;
	h.seq = ++w->seq;
	do
		n = sendmsg(w->fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)total) {
		if (n >= 0)
			errno = EMSGSIZE;
		return -1;
	}
	do
		n = recv(w->fd, w->buf, sizeof w->buf, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n == 0)
			errno = ECONNRESET;
		return -1;
	}
	if ((size_t)n < sizeof rh) {
		errno = EPROTO;
		return -1;
	}
	memcpy(&rh, w->buf, sizeof rh);
	if (rh.len != (uint32_t)n || rh.seq != h.seq) {
		errno = EPROTO;
		return -1;
	}
	if (rh.type == NWX_MSG_ERROR) {
		struct nwx_error e = { 0 };
		size_t tl;

		if ((size_t)n >= sizeof rh + sizeof e)
			memcpy(&e, w->buf + sizeof rh, sizeof e);
		tl = (size_t)n - sizeof rh - ((size_t)n >= sizeof rh + sizeof e ? sizeof e : 0);
		if (tl > e.text_len)
			tl = e.text_len;
		if (tl >= sizeof w->err_text)
			tl = sizeof w->err_text - 1;
		w->err_code = e.code ? e.code : NWX_E_PROTO;
		memcpy(w->err_text, w->buf + sizeof rh + sizeof e, tl);
		w->err_text[tl] = '\0';
		for (size_t i = 0; i < tl; i++)
			if ((unsigned char)w->err_text[i] < 0x20)
				w->err_text[i] = ' ';
		return -2;
	}
	if (rh.type != want) {
		errno = EPROTO;
		return -1;
	}
	return (long)((size_t)n - sizeof rh);
}

static const void *wire_body(const struct wire *w)
{
	return w->buf + sizeof(struct nwx_hdr);
}

/* Describes the failure of the last call for a log line. */
static void wire_why(const struct wire *w, long rc, char *out, size_t outsz)
{
	if (rc == -2)
		snprintf(out, outsz, "error %u: %s", w->err_code,
			 w->err_text[0] ? w->err_text : "(no text)");
	else
		snprintf(out, outsz, "%s", strerror(errno));
}

static bool wire_hello(struct wire *w, struct nwx_hello_reply *out,
		       char *why, size_t whylen)
{
	struct nwx_hello hello = { NWX_PROTO_VERSION, (uint32_t)getpid() };
	struct iovec iov = { &hello, sizeof hello };
	long rc = wire_call(w, NWX_MSG_HELLO, &iov, 1, NWX_MSG_HELLO_REPLY);

	if (rc < 0) {
		if (why)
			wire_why(w, rc, why, whylen);
		return false;
	}
	memset(out, 0, sizeof *out);
	memcpy(out, wire_body(w), (size_t)rc < sizeof *out ? (size_t)rc : sizeof *out);
	return true;
}

/* Stats reply: fields in the order of struct nwx_stats (append-only). */
static const char *const stat_names[] = {
	"hits", "hit_bytes", "handoffs", "handoff_failed", "syn_cookies",
	"cookies_ok", "invalid_dropped", "retransmits", "fins", "rsts",
	"passed", "misses", "cache_entries", "cache_capacity", "map_memory",
	"flow_entries", "flow_capacity", "active_generation", "ports",
	"interfaces", "multiseg", "seg_retransmits", "loss_probes",
	"memo_hits", "not_modified",
};
#define N_STAT_NAMES (sizeof stat_names / sizeof stat_names[0])

struct stats_reply {
	uint64_t v[N_STAT_NAMES];
	size_t n;
};

/* wire_call()'s result: >= 0 with *st filled in, else -1 or -2. */
static long wire_stats(struct wire *w, struct stats_reply *st)
{
	long rc = wire_call(w, NWX_MSG_STATS, NULL, 0, NWX_MSG_STATS_REPLY);

	if (rc < 0)
		return rc;
	st->n = (size_t)rc / sizeof(uint64_t);
	if (st->n > N_STAT_NAMES)
		st->n = N_STAT_NAMES;   /* a newer helper: ignore the tail */
	memcpy(st->v, wire_body(w), st->n * sizeof(uint64_t));
	return rc;
}

/* ---------------------------------------------------------------------- */
/* The helper nano-web started (nw_xdp_prepare), if any.                   */

static pid_t g_guard_pid = -1;   /* guardian process: parent of the helper */
static int g_guard_fd = -1;      /* its lifeline: closing it stops the helper */
static long g_stop_wait_ms = 15000; /* drain_ms + HELPER_STOP_MARGIN_MS */
static bool g_prepare_logged;    /* prepare already said why there is no helper */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Connects to the helper's Unix socket; -1 with errno on failure. */
static int sock_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd, e;

	if (!path || strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* True when a helper answers a hello on `path`. */
static bool helper_answers(const char *path)
{
	struct nwx_hello_reply hr;
	struct wire *w;
	int fd = sock_connect(path, 1000);
	bool ok;

	if (fd < 0)
		return false;
	w = malloc(sizeof *w);
	if (!w) {
		close(fd);
		return false;
	}
	wire_init(w, fd);
	ok = wire_hello(w, &hr, NULL, 0);
	free(w);
	close(fd);
	return ok;
}

static bool is_exec(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* out = dir (dlen bytes) + sub + HELPER_NAME, if it fits and is executable. */
static bool try_helper(char *out, size_t outsz, const char *dir, size_t dlen,
		       const char *sub)
{
	int n = snprintf(out, outsz, "%.*s%s%s", (int)dlen, dir, sub, HELPER_NAME);

	return n > 0 && (size_t)n < outsz && out[0] == '/' && is_exec(out);
}

/*
 * Finds nanoweb-xdpd: next to our own binary (a build tree: also its xdp/
 * directory), then on PATH, then in the installed sbindir. `where` gets a
 * description of the places looked at, for the message when none has it.
 */
static bool find_helper(const char *argv0, char *out, size_t outsz,
			char *where, size_t wheresz)
{
	char self[PATH_MAX];
	ssize_t n;
	const char *path, *slash = NULL;

	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0 && argv0 && strchr(argv0, '/') && realpath(argv0, self))
		n = (ssize_t)strlen(self);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
	}
	if (slash) {
		size_t dlen = (size_t)(slash - self);

		if (try_helper(out, outsz, self, dlen, "/") ||
		    try_helper(out, outsz, self, dlen, "/xdp/"))
			return true;
	}
	path = getenv("PATH");
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);

		if (len > 0 && try_helper(out, outsz, path, len, "/"))
			return true;
		path = end ? end + 1 : NULL;
	}
	if (try_helper(out, outsz, NW_SBINDIR, strlen(NW_SBINDIR), "/"))
		return true;
	if (slash)
		snprintf(where, wheresz, "next to %.*s, on PATH or in %s",
			 (int)(slash - self), self, NW_SBINDIR);
	else
		snprintf(where, wheresz, "next to nano-web, on PATH or in %s",
			 NW_SBINDIR);
	return false;
}

static const char *attach_name(enum nw_xdp_attach a)
{
	switch (a) {
	case NW_ATTACH_NATIVE:
		return "native";
	case NW_ATTACH_GENERIC:
		return "generic";
	default:
		return "auto";
	}
}

/*
 * Writes the effective [xdp] settings (and the user nano-web runs as, which
 * the helper allows to change the maps) to a private INI file the helper
 * reads with --config; the settings may come from the command line as well
 * as from nano-web's own INI file.
 */
static bool write_helper_config(const struct nw_config *cfg, char *path,
				size_t pathsz)
{
	FILE *f;
	int fd;

	snprintf(path, pathsz, "/tmp/nanoweb-xdpd-%ld.XXXXXX.ini", (long)getpid());
	fd = mkstemps(path, 4);
	if (fd < 0)
		return false;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(path);
		return false;
	}
	fprintf(f, "# written by nano-web for the helper it started\n");
	fprintf(f, "[server]\nuser = %s\n", cfg->user ? cfg->user : "");
	/* XDP hands connections idle this long to nano-web, which closes them */
	fprintf(f, "[limits]\ntimeout = %u\n", cfg->timeout);
	fprintf(f, "[xdp]\n");
	if (cfg->xdp_iface && cfg->xdp_iface[0])
		fprintf(f, "iface = %s\n", cfg->xdp_iface);
	fprintf(f, "attach = %s\n", attach_name(cfg->xdp_attach));
	fprintf(f, "socket = %s\n", cfg->xdp_socket);
	fprintf(f, "pin_dir = %s\n", cfg->xdp_pin_dir);
	fprintf(f, "max_response = %u\n", cfg->xdp_max_response);
	fprintf(f, "flow_entries = %u\n", cfg->xdp_flow_entries);
	fprintf(f, "cache_entries = %u\n", cfg->xdp_cache_entries);
	fprintf(f, "drain_ms = %u\n", cfg->xdp_drain_ms);
	if (cfg->xdp_allowed_users && cfg->xdp_allowed_users[0])
		fprintf(f, "allowed_users = %s\n", cfg->xdp_allowed_users);
	if (fclose(f) != 0) {
		unlink(path);
		return false;
	}
	return true;
}

/*
 * The guardian: a small root process between nano-web and the helper. It
 * starts the helper and stops it (SIGTERM, then SIGKILL after a grace
 * period) as soon as its lifeline pipe from nano-web reaches EOF: when
 * nano-web frees the client, or dies. nano-web itself may no longer signal
 * a root process once it has dropped its privileges.
 * Runs after fork() in a possibly threaded process: async-signal-safe calls
 * only.
 */
static void guardian(int life, char *const argv[])
{
	sigset_t none;
	pid_t h;
	int st;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_IGN);   /* the terminal's ^C is for nano-web */
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN); /* "pkill -USR1 nano-web" (logrotate) */
	/* "pkill nano-web" matches this process too: it must outlive nano-web
	 * long enough to stop the helper when the lifeline closes. */
	signal(SIGTERM, SIG_IGN);
	setpgid(0, 0);
	/* Nothing of nano-web's but the lifeline: above all not its
	 * listening socket, which shutdown closes by replacing it (server.c)
	 * and which would stay open here. */
	if (life > 3)
		close_range(3, (unsigned)life - 1, 0);
	close_range((unsigned)life + 1, ~0u, 0);
	h = fork();
	if (h < 0)
		_exit(127);
	if (h == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul >= 0) {
			dup2(nul, 0);
			if (nul > 0)
				close(nul);
		}
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGUSR1, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execv(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		struct pollfd p = { .fd = life, .events = POLLIN };
		pid_t w = waitpid(h, &st, WNOHANG);
		int r;

		if (w == h)   /* the helper went away on its own */
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 126);
		r = poll(&p, 1, 200);
		if (r > 0) {
			char c;

			if (read(life, &c, 1) <= 0)
				break;
		}
	}
	kill(h, SIGTERM);
	for (long i = 0; i < g_stop_wait_ms / 50; i++) {
		if (waitpid(h, &st, WNOHANG) == h)
			_exit(0);
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	kill(h, SIGKILL);
	waitpid(h, &st, 0);
	_exit(1);
}

static void stop_guardian(void)
{
	int st;

	if (g_guard_pid <= 0)
		return;
	if (g_guard_fd >= 0) {
		close(g_guard_fd);
		g_guard_fd = -1;
	}
	for (long end = nw_mono_ms() + g_stop_wait_ms + 2000; nw_mono_ms() < end;) {
		pid_t w = waitpid(g_guard_pid, &st, WNOHANG);

		if (w == g_guard_pid || (w < 0 && errno == ECHILD)) {
			g_guard_pid = -1;
			return;
		}
		sleep_ms(50);
	}
	kill(g_guard_pid, SIGKILL);
	waitpid(g_guard_pid, &st, 0);
	g_guard_pid = -1;
}

/* Starts the helper through a guardian and waits for its socket. */
static bool start_helper(const struct nw_config *cfg, const char *bin,
			 uint16_t port, char *err, size_t errlen)
{
	char ini[128];
	char *argv[5];
	int life[2], st;
	pid_t g;
	long end;
	bool up = false;

	if (!write_helper_config(cfg, ini, sizeof ini)) {
		snprintf(err, errlen, "cannot write the helper's configuration: %s",
			 strerror(errno));
		return false;
	}
	if (pipe2(life, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		unlink(ini);
		return false;
	}
	g_stop_wait_ms = (long)cfg->xdp_drain_ms + HELPER_STOP_MARGIN_MS;
	argv[0] = (char *)bin;
	argv[1] = (char *)"--foreground";   /* the guardian is its parent */
	argv[2] = (char *)"--config";
	argv[3] = ini;
	argv[4] = NULL;
	fflush(NULL);
	g = fork();
	if (g < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(life[0]);
		close(life[1]);
		unlink(ini);
		return false;
	}
	if (g == 0) {
		close(life[1]);
		guardian(life[0], argv);
		_exit(127);
	}
	close(life[0]);
	g_guard_pid = g;
	g_guard_fd = life[1];
	nw_info("kernel path: started %s (pid group %ld), waiting for %s", bin,
		(long)g, cfg->xdp_socket);
	for (end = nw_mono_ms() + HELPER_START_WAIT_MS; nw_mono_ms() < end;) {
		if (helper_answers(cfg->xdp_socket)) {
			up = true;
			break;
		}
		if (waitpid(g, &st, WNOHANG) == g) {
			g_guard_pid = -1;
			close(g_guard_fd);
			g_guard_fd = -1;
			snprintf(err, errlen, "%s exited (status %d) before its socket %s answered",
				 bin, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
				 cfg->xdp_socket);
			unlink(ini);
			return false;
		}
		sleep_ms(50);
	}
	unlink(ini);   /* read at start-up; a restart gets a fresh one */
	if (!up) {
		stop_guardian();
		snprintf(err, errlen, "%s did not answer on %s within %d s", bin,
			 cfg->xdp_socket, HELPER_START_WAIT_MS / 1000);
		return false;
	}
	return true;
}

bool nw_xdp_prepare(const struct nw_config *cfg, const char *argv0,
		    uint16_t port, char *err, size_t errlen)
{
	char bin[PATH_MAX], where[PATH_MAX + 64], why[PATH_MAX + 256];

	if (cfg->xdp == NW_XDP_OFF)
		return true;
	if (helper_answers(cfg->xdp_socket))
		return true;
	if (geteuid() != 0) {
		if (cfg->xdp == NW_XDP_ON) {
			snprintf(err, errlen, "xdp = on, but no nanoweb-xdpd answers on %s "
				 "and nano-web is not root, so it cannot start one",
				 cfg->xdp_socket);
			return false;
		}
		return true;   /* the client says it once, and keeps trying */
	}
	if (!find_helper(argv0, bin, sizeof bin, where, sizeof where)) {
		snprintf(why, sizeof why, "%s not found (looked %s)", HELPER_NAME, where);
	} else if (start_helper(cfg, bin, port, why, sizeof why)) {
		return true;
	}
	if (cfg->xdp == NW_XDP_ON) {
		snprintf(err, errlen, "xdp = on, but %s", why);
		return false;
	}
	nw_warn("kernel path off: %s; serving everything from userspace", why);
	g_prepare_logged = true;
	return true;
}

/* ---------------------------------------------------------------------- */
/* The client.                                                            */

struct nw_xdp_client {
	const struct nw_config *cfg;
	uint16_t port;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* wakes the thread (work, stop) */
	pthread_cond_t done_cv;  /* wakes publish() (commit, failure) */
	bool stop;
	struct nw_snapshot *want;   /* newest snapshot to publish (ref held) */
	uint64_t committed_snap;    /* snapshot generation the helper committed */
	uint32_t active_gen;        /* the helper's generation for it */
	uint64_t attempts;          /* connection or push attempts finished */
	bool connected;
	bool warned;                /* the "unreachable" line was logged */
	unsigned limit;             /* max_response, lowered to the helper's cap */
	uint32_t helper_pid;
	uint32_t features;          /* NWX_FEAT_* of the helper */
	uint32_t capacity;          /* its cache_entries */
	size_t pushed_entries;      /* in the last committed generation */
	size_t pushed_bytes;
	size_t skipped_large;       /* GET variants over the limit */
	size_t skipped_path;        /* paths XDP cannot serve (not canonical) */
	bool cache_full;            /* the last push filled the helper's cache */
	long pushed_at_ms;          /* when it was committed (nw_mono_ms) */
	uint64_t hot_pushes;        /* pushes for demand (NW_XDP_PUSH_MS) */
	long hot_interval_ms;       /* between them, now */
	double hot_rate;            /* requests/s that led to the last one */
	atomic_bool interrupt;      /* a newer snapshot or stop: ends a hot push */
	struct wire w;              /* the push connection (thread only) */
	/* The helper's counters for /_stats, read by the thread. */
	pthread_cond_t stats_cv;    /* wakes /_stats waiting for a reading */
	struct stats_reply stats;   /* the last reading on this connection */
	long stats_at_ms;           /* when it started (nw_mono_ms); 0: none yet */
	long stats_tried_ms;        /* the last attempt; 0: none on this connection */
	long stats_asked_ms;        /* the last /_stats; 0: none */
	bool stats_urgent;          /* a /_stats waits for a new reading */
	uint64_t stats_started;     /* readings started, */
	uint64_t stats_done;        /* and finished (failed ones too) */
	long stats_wait_ms;         /* NANOWEB_STATS_WAIT_MS (tests) */
};

/*
 * True for the paths XDP can be asked about: canonical, only the characters
 * it accepts, no "//" and no "/." (the rules in nanoweb_xdp_proto.h).
 */
static bool xdp_path_ok(const char *p, size_t n)
{
	static const char extra[] = "-._~!$&'()*+,;=:@/";

	if (n == 0 || n >= NWX_PATH_MAX || p[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || (c && strchr(extra, c))))
			return false;
		if (c == '/' && i + 1 < n && (p[i + 1] == '/' || p[i + 1] == '.'))
			return false;
	}
	return true;
}

struct push_ctx {
	const struct nw_config *cfg;
	unsigned limit;
	uint32_t gen;            /* the helper's staging generation */
	bool nm;                 /* push 304s (NWX_FEAT_NOT_MODIFIED) */
	size_t entries, bytes, skipped, badpath, collisions;
	bool full;               /* the helper's cache is full */
	uint16_t *done;          /* per slot: the answers pushed, or that
				  * cannot be (nw_xdp_answer_bit) */
	size_t demand_cap;       /* entries for what is in demand, at most */
	const atomic_bool *cancel; /* set: stop (a hot push, superseded) */
	bool cancelled;
	char why[200];           /* why the push failed */
};

/* One PUT. -1: the connection is unusable; 0: done or skipped. */
static int put_one(struct wire *w, struct push_ctx *pc, const char *key,
		   size_t keylen, unsigned avail, int enc, int method,
		   const struct strbuf *head, const uint8_t *body,
		   size_t body_len)
{
	struct nwx_put put = { 0 };
	const char *d = memmem(head->buf, head->len, DATE_PLACEHOLDER,
			       NWX_DATE_LEN);
	struct iovec iov[4];
	long rc;

	put.generation = pc->gen;
	put.method = (uint8_t)method;
	put.encoding = (uint8_t)enc;
	put.avail = (uint8_t)avail;
	put.path_len = (uint16_t)keylen;
	put.date_offset = d ? (uint16_t)(d - head->buf) : NWX_NO_DATE;
	put.resp_len = (uint32_t)(head->len + body_len);
	iov[0] = (struct iovec){ &put, sizeof put };
	iov[1] = (struct iovec){ (void *)key, keylen };
	iov[2] = (struct iovec){ head->buf, head->len };
	iov[3] = (struct iovec){ (void *)body, body_len };
	rc = wire_call(w, NWX_MSG_PUT, iov, body_len ? 4 : 3, NWX_MSG_OK);
	if (rc >= 0) {
		pc->entries++;
		pc->bytes += head->len + body_len;
		return 0;
	}
	if (rc == -1) {
		wire_why(w, rc, pc->why, sizeof pc->why);
		return -1;
	}
	switch (w->err_code) {
	case NWX_E_COLLISION:   /* XDP hands this path off: fine */
		pc->collisions++;
		return 0;
	case NWX_E_NOSPC:
		pc->full = true;
		return 0;
	case NWX_E_TOOBIG:
		pc->skipped++;
		return 0;
	case NWX_E_INVAL:       /* a path or response the helper refuses */
		nw_debug("kernel path: %s not cached: %s", key, w->err_text);
		pc->badpath++;
		return 0;
	default:
		wire_why(w, rc, pc->why, sizeof pc->why);
		return -1;
	}
}

/* One request whose answer is an OK body; false with the reason in why. */
static bool call_ok(struct wire *w, uint16_t type, void *body, size_t len,
		    struct nwx_ok *ok, char *why, size_t whylen)
{
	struct iovec iov = { body, len };
	long rc = wire_call(w, type, &iov, 1, NWX_MSG_OK);

	if (rc < (long)sizeof *ok) {
		if (rc >= 0)
			errno = EPROTO;
		wire_why(w, rc >= 0 ? -1 : rc, why, whylen);
		return false;
	}
	memcpy(ok, wire_body(w), sizeof *ok);
	return true;
}

/*
 * The kernel cache holds a fixed number of responses; when a site has more,
 * the ones pushed first are the ones XDP serves. Those in demand first
 * (xdp_demand.h: resources nano-web answered itself because they were left
 * out), by score; then shallow paths (the front page, top-level pages and
 * assets are what most requests ask for), shorter keys before longer at the
 * same depth, then by name so the choice is stable across reloads.
 */
static unsigned path_depth(const char *k)
{
	unsigned d = 0;

	for (; *k; k++)
		d += *k == '/';
	return d;
}

struct push_item {
	const char *key;
	size_t len;       /* of key */
	unsigned tier;    /* 0: in demand; else 1 + path_depth(key) */
	uint64_t score;   /* of the demand */
	size_t slot;
};

static int cmp_push_order(const void *a, const void *b)
{
	const struct push_item *x = a, *y = b;

	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* The servable in-memory resources' slots, in push order. */
static size_t push_order(const struct nw_snapshot *s, struct push_ctx *pc,
			 struct push_item *order)
{
	const struct nw_xdp_demand *d = atomic_load(&s->xdp_demand);
	size_t n = 0;

	for (size_t i = 0; i < s->n_slots; i++) {
		const char *key = s->slot_keys[i];
		size_t len;

		if (!s->slots[i] || !key || s->res[s->slots[i] - 1].on_disk)
			continue;
		len = strlen(key);
		if (!xdp_path_ok(key, len)) {
			pc->badpath++;
			continue;
		}
		uint64_t score = nw_xdp_demand_score(d, s->slots[i] - 1);

		order[n++] = (struct push_item){ key, len,
						 score ? 0 : 1 + path_depth(key),
						 score, i };
	}
	qsort(order, n, sizeof *order, cmp_push_order);
	return n;
}

/* r has coding e in memory (identity always exists; an on-disk body is not
 * in memory). */
static bool has_variant(const struct nw_resource *r, unsigned e)
{
	const struct nw_variant *v = &r->var[e];

	return (r->enc_mask & NW_ENC_BIT(e) || e == NW_ENC_IDENTITY) &&
	       (v->body || !v->len);
}

/* The encodings in `wanted` (bits) of one resource for one method (NM: its
 * 304s). Those it has not (never_cached()) are skipped. False: stop the
 * push. */
static bool push_resource(struct wire *w, struct push_ctx *pc,
			  const struct nw_snapshot *s,
			  const struct push_item *it, int m, unsigned wanted,
			  struct strbuf *head)
{
	const struct nw_resource *r = &s->res[s->slots[it->slot] - 1];
	uint16_t *done = &pc->done[it->slot];
	const char *key = it->key;
	size_t keylen = it->len;
	unsigned avail = (r->enc_mask | NW_ENC_BIT(NW_ENC_IDENTITY)) &
			 ((1u << NWX_ENC_COUNT) - 1);

	for (int e = 0; !pc->full && e < NW_ENC_COUNT; e++) {
		const struct nw_variant *v = &r->var[e];
		size_t blen = m == NWX_METHOD_GET ? (size_t)v->len : 0;
		unsigned bit = nw_xdp_answer_bit((unsigned)m, (unsigned)e);
		bool ok;

		if (!(wanted & (1u << e)) || !has_variant(r, (unsigned)e))
			continue;
		head->len = 0;
		/* each coding's 304 carries its own ETag */
		ok = m == NWX_METHOD_NM ?
			nw_response_not_modified_head(pc->cfg, r, (enum nw_enc)e,
						      DATE_PLACEHOLDER, head) :
			nw_response_head(pc->cfg, r, (enum nw_enc)e,
					 m == NWX_METHOD_HEAD, DATE_PLACEHOLDER,
					 head);
		if (!ok) {
			snprintf(pc->why, sizeof pc->why, "cannot render the %s of %s",
				 m == NWX_METHOD_NM ? "304" : "response head", key);
			return false;
		}
		if (head->len + blen > pc->limit ||
		    (m == NWX_METHOD_NM && head->len > NWX_NM_RESP_MAX)) {
			if (m == NWX_METHOD_GET)
				pc->skipped++;
			*done |= bit;
			continue;   /* XDP hands this variant off */
		}
		if (put_one(w, pc, key, keylen, avail, e, m, head,
			    m == NWX_METHOD_GET ? v->body : NULL, blen) < 0)
			return false;
		if (!pc->full)
			*done |= bit;
	}
	return true;
}

/* The answers of r that XDP can never give (no such variant, or a body
 * over the limit), whether or not the push reached it. */
static unsigned never_cached(const struct nw_resource *r, unsigned limit)
{
	unsigned bits = 0;

	for (unsigned e = 0; e < NW_ENC_COUNT; e++) {
		if (!has_variant(r, e))
			bits |= nw_xdp_answer_bit(NWX_METHOD_GET, e) |
				nw_xdp_answer_bit(NWX_METHOD_HEAD, e) |
				nw_xdp_answer_bit(NWX_METHOD_NM, e);
		else if (r->var[e].len > limit)
			bits |= nw_xdp_answer_bit(NWX_METHOD_GET, e);
	}
	return bits;
}

/*
 * After a commit: which answers did not fit, so that the HTTP layer counts
 * the requests for them (nothing is counted while everything fits, nor for
 * what XDP cannot serve anyway). An answer counts as cached when it is for
 * every key of its resource ("/a/" and "/a/index.html").
 */
static void record_cached(struct nw_snapshot *s, const struct push_ctx *pc,
			  const struct push_item *order, size_t n)
{
	struct nw_xdp_demand *d = atomic_load(&s->xdp_demand);
	unsigned never = 0xf000u |   /* no such kinds */
		(pc->nm ? 0 : 0xfu << (NWX_METHOD_NM * 4));
	uint16_t *all;

	if (!d && !pc->full)
		return;
	if (!d) {
		d = nw_xdp_demand_new(s->n_res);
		if (!d)
			return;   /* no demand ordering: shallowest first stays */
		atomic_store_explicit(&s->xdp_demand, d, memory_order_release);
	}
	all = malloc((s->n_res ? s->n_res : 1) * sizeof *all);
	if (!all)
		return;
	for (size_t i = 0; i < n; i++)
		all[s->slots[order[i].slot] - 1] = 0xffffu;
	for (size_t i = 0; i < n; i++) {
		size_t r = s->slots[order[i].slot] - 1;

		all[r] &= pc->done[order[i].slot] | never |
			  never_cached(&s->res[r], pc->limit);
	}
	for (size_t i = 0; i < n; i++) {
		size_t r = s->slots[order[i].slot] - 1;

		nw_xdp_demand_set_cached(d, r, pc->full ? all[r] : 0xffffu);
	}
	free(all);
}

enum push_pass { PASS_ALL, PASS_ASKED, PASS_REST };

/* order[lo, hi): their GETs, their 304s (browsers revalidate often), then
 * their HEADs; of resources in demand, the answers asked for (PASS_ASKED)
 * or the others (PASS_REST). False: stop the push. */
static bool push_group(struct wire *w, struct push_ctx *pc,
		       const struct nw_snapshot *s,
		       const struct push_item *order, size_t lo, size_t hi,
		       enum push_pass pass, struct strbuf *head)
{
	static const int methods[] = { NWX_METHOD_GET, NWX_METHOD_NM,
				       NWX_METHOD_HEAD };
	const struct nw_xdp_demand *d = atomic_load(&s->xdp_demand);

	for (int k = 0; k < 3; k++) {
		int m = methods[k];

		if (m == NWX_METHOD_NM && !pc->nm)
			continue;
		for (size_t i = lo; !pc->full && i < hi; i++) {
			unsigned asked = nw_xdp_demand_asked(
				d, s->slots[order[i].slot] - 1) >> (m * 4);
			unsigned wanted = pass == PASS_ALL ? 0xfu :
					  pass == PASS_ASKED ? asked : ~asked;

			if (pc->cancel && atomic_load(pc->cancel)) {
				pc->cancelled = true;
				snprintf(pc->why, sizeof pc->why, "superseded");
				return false;
			}
			if (pass == PASS_ASKED && pc->entries >= pc->demand_cap)
				return true;
			if ((wanted & 0xfu) &&
			    !push_resource(w, pc, s, &order[i], m, wanted, head))
				return false;
		}
	}
	return true;
}

/*
 * Pushes every eligible response of `s` into a new staging generation, then
 * commits it: one map write makes it visible to XDP at once, and the
 * previous generation (with whatever vanished) is deleted. Shallow paths go
 * first, and at each depth the GETs, then the 304s (a helper with
 * NWX_FEAT_NOT_MODIFIED), then the HEADs, so a full cache holds the front
 * page for both methods but no deep HEAD before a shallower GET. Returns
 * false when the connection is unusable or the helper refused the session.
 */
static bool push_snapshot(struct wire *w, struct push_ctx *pc,
			  struct nw_snapshot *s, uint32_t *active)
{
	struct strbuf head = STRBUF_INIT;
	struct nwx_begin begin = { 0, 0 };
	struct nwx_commit commit = { 0, 0 };
	struct nwx_ok ok;
	struct push_item *order = malloc((s->n_slots ? s->n_slots : 1) *
					  sizeof *order);
	size_t n, n0;
	bool good = true;

	pc->done = calloc(s->n_slots ? s->n_slots : 1, sizeof *pc->done);
	if (!order || !pc->done) {
		snprintf(pc->why, sizeof pc->why, "out of memory");
		good = false;
		goto out;
	}
	if (!call_ok(w, NWX_MSG_BEGIN, &begin, sizeof begin, &ok, pc->why,
		     sizeof pc->why)) {
		good = false;
		goto out;
	}
	pc->gen = ok.generation;
	n = push_order(s, pc, order);
	/* Resources in demand (tier 0): the answers asked for first, the
	 * rest of theirs once everything else is in. Then one tier (depth)
	 * at a time. */
	for (n0 = 0; n0 < n && order[n0].tier == 0; n0++)
		;
	good = push_group(w, pc, s, order, 0, n0, PASS_ASKED, &head);
	for (size_t lo = n0, hi; good && !pc->full && lo < n; lo = hi) {
		for (hi = lo; hi < n && order[hi].tier == order[lo].tier; hi++)
			;
		good = push_group(w, pc, s, order, lo, hi, PASS_ALL, &head);
	}
	if (good && !pc->full)
		good = push_group(w, pc, s, order, 0, n0, PASS_REST, &head);
	sb_free(&head);
	if (!good) {
		/* Drop the staging generation if the connection still works. */
		if (w->fd >= 0)
			wire_call(w, NWX_MSG_ABORT, NULL, 0, NWX_MSG_OK);
		goto out;
	}
	commit.generation = pc->gen;
	good = call_ok(w, NWX_MSG_COMMIT, &commit, sizeof commit, &ok, pc->why,
		       sizeof pc->why);
	if (good) {
		*active = ok.generation;
		record_cached(s, pc, order, n);
	}
out:
	free(order);
	free(pc->done);
	pc->done = NULL;
	return good;
}

/* Connects, says hello and claims our port. -1 with a reason on failure. */
static int session_open(struct nw_xdp_client *c, char *why, size_t whylen)
{
	struct nwx_hello_reply hr;
	struct {
		struct nwx_set_ports sp;
		uint16_t port;
	} ports = { { 1, 0 }, c->port };
	struct iovec iov = { &ports, sizeof ports };
	int fd = sock_connect(c->cfg->xdp_socket, IO_TIMEOUT_MS);
	long rc;

	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	wire_init(&c->w, fd);
	if (!wire_hello(&c->w, &hr, why, whylen))
		goto fail;
	if (hr.version != NWX_PROTO_VERSION) {
		snprintf(why, whylen, "protocol version %u, nano-web speaks %u",
			 hr.version, NWX_PROTO_VERSION);
		goto fail;
	}
	if (!hr.may_write) {
		snprintf(why, whylen, "uid %ld may not change its maps (see allowed_users)",
			 (long)geteuid());
		goto fail;
	}
	rc = wire_call(&c->w, NWX_MSG_SET_PORTS, &iov, 1, NWX_MSG_OK);
	if (rc < 0) {
		wire_why(&c->w, rc, why, whylen);
		goto fail;
	}
	pthread_mutex_lock(&c->mu);
	c->limit = c->cfg->xdp_max_response;
	if (hr.max_response && hr.max_response < c->limit)
		c->limit = hr.max_response;
	c->helper_pid = hr.helper_pid;
	c->features = hr.features;
	c->capacity = hr.cache_entries;
	pthread_mutex_unlock(&c->mu);
	return fd;
fail:
	close(fd);
	c->w.fd = -1;
	return -1;
}

/* True when the helper closed the connection (or it broke). */
static bool session_dead(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 0) < 0)
		return errno != EINTR;
	return p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL);
}

/* The CLOCK_REALTIME deadline ms from now, for pthread_cond_timedwait()
 * on the client's condition variables (default clock). */
static struct timespec deadline_in(long ms)
{
	return nw_clock_after(CLOCK_REALTIME, ms);
}

static void wait_locked(struct nw_xdp_client *c, long ms)
{
	struct timespec ts = deadline_in(ms);

	if (!c->stop)
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

/* The connection is gone: say so once per outage, fall back to userspace. */
static void lost(struct nw_xdp_client *c, int *fd, const char *what,
		 const char *why)
{
	if (!c->warned) {
		nw_warn("kernel path: %s nanoweb-xdpd on %s (%s); serving everything "
			"from userspace, retrying every second", what,
			c->cfg->xdp_socket, why);
		c->warned = true;
	}
	c->connected = false;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	c->w.fd = -1;
	c->attempts++;
	pthread_cond_broadcast(&c->done_cv);
	pthread_cond_broadcast(&c->stats_cv);
}

/* A reading of the counters is due: one on each new connection (so the
 * first /_stats has some) and after each commit, then about once a second
 * while someone watches /_stats. */
static bool stats_due(const struct nw_xdp_client *c, long now)
{
	if (c->stats_urgent || !c->stats_tried_ms)
		return true;
	return c->stats_asked_ms && now - c->stats_asked_ms < STATS_WATCH_MS &&
	       now - c->stats_tried_ms >= STATS_EVERY_MS;
}

/* Reads the helper's counters on the push connection (called with mu held,
 * which is released meanwhile). */
static void read_stats(struct nw_xdp_client *c, int *fd)
{
	struct stats_reply st;
	uint64_t n = ++c->stats_started;
	long t = nw_mono_ms(), rc;
	char why[200] = "";

	c->stats_tried_ms = t;
	c->stats_urgent = false;
	pthread_mutex_unlock(&c->mu);
	rc = wire_stats(&c->w, &st);
	if (rc < 0)
		wire_why(&c->w, rc, why, sizeof why);
	pthread_mutex_lock(&c->mu);
	if (rc >= 0) {
		c->stats = st;
		c->stats_at_ms = t;
	} else if (rc == -2) {   /* the connection still works */
		nw_debug("kernel path: nanoweb-xdpd gave no counters: %s", why);
	}
	c->stats_done = n;
	pthread_cond_broadcast(&c->stats_cv);
	if (rc == -1)
		lost(c, fd, "lost", why);
}

/*
 * The pushed snapshot is due to be pushed again, what is in demand first.
 * Sets the interval to the next one: back to the start when the last push
 * halved the demand, else doubled.
 */
static bool hot_push_due(struct nw_xdp_client *c, const struct nw_snapshot *s)
{
	const struct nw_xdp_demand *d = atomic_load(&s->xdp_demand);
	long since = nw_mono_ms() - c->pushed_at_ms;
	uint64_t pending;
	double rate;

	if (!d || !c->cache_full || since < c->hot_interval_ms)
		return false;
	pending = nw_xdp_demand_pending(d);
	if (pending < HOT_PUSH_MIN_REQUESTS)
		return false;
	rate = (double)pending * 1000.0 / (double)since;
	c->hot_interval_ms = nw_xdp_demand_next_interval(c->hot_interval_ms,
							 c->hot_rate, rate);
	c->hot_rate = rate;
	return true;
}

static void *client_thread(void *arg)
{
	struct nw_xdp_client *c = arg;
	int fd = -1;
	uint64_t pushed = 0;   /* snapshot generation committed on this connection */

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct nw_snapshot *s;
		struct push_ctx pc;
		char why[256];
		uint32_t active = 0;
		bool ok, hot = false;

		if (fd < 0) {
			pthread_mutex_unlock(&c->mu);
			fd = session_open(c, why, sizeof why);
			pthread_mutex_lock(&c->mu);
			if (fd < 0) {
				lost(c, &fd, "cannot use", why);
				wait_locked(c, RECONNECT_MS);
				continue;
			}
			nw_info("kernel path: connected to nanoweb-xdpd (pid %u) on %s",
				c->helper_pid, c->cfg->xdp_socket);
			c->connected = true;
			c->warned = false;
			c->stats_at_ms = c->stats_tried_ms = 0;
			pushed = 0;
		}
		if (stats_due(c, nw_mono_ms())) {
			read_stats(c, &fd);
			continue;
		}
		if (c->want && pushed == c->want->generation &&
		    hot_push_due(c, c->want)) {
			hot = true;
			nw_xdp_demand_rescore(atomic_load(&c->want->xdp_demand));
		} else if (!c->want || pushed == c->want->generation) {
			/* Idle: wake for work or stop; notice a helper that left. */
			wait_locked(c, 200);
			if (!c->stop && session_dead(fd))
				lost(c, &fd, "lost", "it closed the connection");
			continue;
		}
		s = c->want;
		nw_snapshot_ref(s);
		memset(&pc, 0, sizeof pc);
		pc.cfg = c->cfg;
		pc.limit = c->limit;
		pc.nm = c->features & NWX_FEAT_NOT_MODIFIED;
		/* What is in demand takes half the cache at most: XDP's hits
		 * are not seen here, so the other half keeps the shallowest
		 * paths (the front page) whatever nano-web is asked for. */
		pc.demand_cap = c->capacity ? c->capacity / 2 : SIZE_MAX;
		/* set again (under mu) by a publish() or stop from now on */
		atomic_store(&c->interrupt, false);
		pc.cancel = hot ? &c->interrupt : NULL;
		pthread_mutex_unlock(&c->mu);
		ok = push_snapshot(&c->w, &pc, s, &active);
		pthread_mutex_lock(&c->mu);
		if (ok) {
			pushed = s->generation;
			c->committed_snap = s->generation;
			c->active_gen = active;
			c->pushed_entries = pc.entries;
			c->pushed_bytes = pc.bytes;
			c->skipped_large = pc.skipped;
			c->skipped_path = pc.badpath;
			c->cache_full = pc.full;
			c->pushed_at_ms = nw_mono_ms();
			c->stats_tried_ms = 0;   /* a reading of the new cache */
			c->attempts++;
			if (!hot) {   /* a new snapshot: its demand starts afresh */
				c->hot_interval_ms = NW_XDP_PUSH_MS;
				c->hot_rate = 0;
			} else if (c->hot_pushes++ == 0) {
				nw_info("kernel path: the cache cannot hold the whole site: "
					"it is pushed again with what nano-web answered "
					"itself first (every %d s at most, less often while "
					"that does not help)", NW_XDP_PUSH_MS / 1000);
			}
			nw_log(hot ? NW_LOG_DEBUG : NW_LOG_INFO,
				"kernel path: generation %llu in the kernel%s: %zu responses "
				"(%zu bytes); %zu variants over %u bytes, %zu paths not "
				"servable by XDP, %zu hash collisions%s",
				(unsigned long long)s->generation, hot ? " again" : "",
				pc.entries, pc.bytes, pc.skipped, pc.limit, pc.badpath,
				pc.collisions,
				pc.full ? "; the helper's cache is FULL (raise cache_entries)" : "");
			pthread_cond_broadcast(&c->done_cv);
		} else if (pc.cancelled) {
			nw_debug("kernel path: push for demand given up: a newer "
				 "snapshot or stop came");
		} else {
			c->warned = false;   /* a failed push always says so */
			lost(c, &fd, "pushing failed to", pc.why);
		}
		pthread_mutex_unlock(&c->mu);
		nw_snapshot_unref(s);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	if (fd >= 0)
		close(fd);   /* the helper releases our port: SYNs go to the kernel */
	return NULL;
}

/*
 * NANOWEB_STATS_WAIT_MS: for tests that read the counters right before and
 * after a request, /_stats waits up to this long for a reading that starts
 * after it came (holding its worker thread meanwhile). 0 (default): never.
 */
static long stats_wait_env(void)
{
	const char *v = getenv("NANOWEB_STATS_WAIT_MS");
	char *end;
	long ms;

	if (!v || !*v)
		return 0;
	errno = 0;
	ms = strtol(v, &end, 10);
	if (errno || *end || end == v || ms < 0) {
		nw_warn("NANOWEB_STATS_WAIT_MS: '%s' is not a number of "
			"milliseconds: ignored", v);
		return 0;
	}
	if (ms == 0)
		return 0;
	if (ms > STATS_WAIT_MAX_MS)
		ms = STATS_WAIT_MAX_MS;
	nw_info("NANOWEB_STATS_WAIT_MS: /_stats waits up to %ld ms for the "
		"helper's counters (meant for tests)", ms);
	return ms;
}

struct nw_xdp_client *nw_xdp_client_new(const struct nw_config *cfg,
					uint16_t port)
{
	struct nw_xdp_client *c;

	if (cfg->xdp == NW_XDP_OFF)
		return NULL;
	c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->cfg = cfg;
	c->port = port;
	c->limit = cfg->xdp_max_response;
	c->hot_interval_ms = NW_XDP_PUSH_MS;
	c->warned = g_prepare_logged;
	c->w.fd = -1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->done_cv, NULL);
	pthread_cond_init(&c->stats_cv, NULL);
	c->stats_wait_ms = stats_wait_env();
	if (pthread_create(&c->thread, NULL, client_thread, c) != 0) {
		nw_warn("kernel path: cannot start the client thread; "
			"serving everything from userspace");
		pthread_cond_destroy(&c->stats_cv);
		pthread_cond_destroy(&c->done_cv);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		free(c);
		return NULL;
	}
	c->thread_started = true;
	return c;
}

void nw_xdp_client_publish(struct nw_xdp_client *c, struct nw_snapshot *s)
{
	struct timespec ts;
	uint64_t attempts;

	if (!c || !s)
		return;
	nw_snapshot_ref(s);
	pthread_mutex_lock(&c->mu);
	if (c->want)
		nw_snapshot_unref(c->want);
	c->want = s;
	atomic_store(&c->interrupt, true);
	attempts = c->attempts;
	pthread_cond_broadcast(&c->cv);
	/*
	 * Wait (bounded) until the helper committed this generation, so that
	 * once the caller reports the reload done, XDP serves nothing older.
	 * Without a helper, the first failed attempt ends the wait.
	 */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += PUBLISH_WAIT_MS / 1000;
	while (c->committed_snap != s->generation && !c->stop) {
		if (c->attempts != attempts && !c->connected)
			break;
		if (pthread_cond_timedwait(&c->done_cv, &c->mu, &ts) == ETIMEDOUT) {
			nw_warn("kernel path: generation %llu not committed by nanoweb-xdpd "
				"within %d s; it goes on in the background",
				(unsigned long long)s->generation, PUBLISH_WAIT_MS / 1000);
			break;
		}
	}
	pthread_mutex_unlock(&c->mu);
}

/* NANOWEB_STATS_WAIT_MS: waits (mu held) for a reading started after now. */
static void wait_for_stats(struct nw_xdp_client *c)
{
	uint64_t want = c->stats_started + 1;
	struct timespec ts = deadline_in(c->stats_wait_ms);

	c->stats_urgent = true;
	pthread_cond_broadcast(&c->cv);
	while (c->connected && !c->stop && c->stats_done < want)
		if (pthread_cond_timedwait(&c->stats_cv, &c->mu, &ts) == ETIMEDOUT)
			break;
}

void nw_xdp_client_stats_json(struct nw_xdp_client *c, struct strbuf *out)
{
	struct stats_reply st;
	bool connected;
	uint64_t snap;
	size_t entries, bytes, skipped, badpath;
	uint64_t hot_pushes;
	unsigned limit;
	uint32_t pid;
	long now, at;

	if (!c) {
		sb_puts(out, "null");
		return;
	}
	pthread_mutex_lock(&c->mu);
	now = nw_mono_ms();
	if (c->connected) {
		c->stats_asked_ms = now;
		if (c->stats_wait_ms > 0)
			wait_for_stats(c);
		else if (!c->stats_at_ms || now - c->stats_at_ms >= STATS_EVERY_MS)
			/* after a quiet period: this answer has the old
			 * reading, the next ones a new one */
			pthread_cond_broadcast(&c->cv);
	}
	connected = c->connected;
	snap = c->committed_snap;
	entries = c->pushed_entries;
	bytes = c->pushed_bytes;
	skipped = c->skipped_large;
	badpath = c->skipped_path;
	hot_pushes = c->hot_pushes;
	limit = c->limit;
	pid = c->helper_pid;
	at = c->stats_at_ms;
	st = c->stats;
	pthread_mutex_unlock(&c->mu);
	if (!connected) {
		sb_puts(out, "null");
		return;
	}
	sb_printf(out, "{\"connected\":true,\"helper_pid\":%u,"
		  "\"snapshot_generation\":%llu,\"pushed_responses\":%zu,"
		  "\"pushed_bytes\":%zu,\"too_large\":%zu,\"not_servable\":%zu,"
		  "\"max_response\":%u,\"hot_pushes\":%llu",
		  pid, (unsigned long long)snap, entries, bytes, skipped, badpath,
		  limit, (unsigned long long)hot_pushes);
	if (!at) {
		sb_puts(out, ",\"counters_age_ms\":null}");
		return;
	}
	sb_printf(out, ",\"counters_age_ms\":%ld", nw_mono_ms() - at);
	for (size_t i = 0; i < st.n; i++)
		sb_printf(out, ",\"%s\":%llu", stat_names[i],
			  (unsigned long long)st.v[i]);
	sb_putc(out, '}');
}

void nw_xdp_client_free(struct nw_xdp_client *c)
{
	if (c) {
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		atomic_store(&c->interrupt, true);
		pthread_cond_broadcast(&c->cv);
		pthread_cond_broadcast(&c->done_cv);
		pthread_cond_broadcast(&c->stats_cv);
		pthread_mutex_unlock(&c->mu);
		if (c->thread_started)
			pthread_join(c->thread, NULL);
		if (c->want)
			nw_snapshot_unref(c->want);
		pthread_cond_destroy(&c->stats_cv);
		pthread_cond_destroy(&c->done_cv);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		free(c);
	}
	/* If we started the helper, stop it: it detaches and removes its pins. */
	if (g_guard_pid > 0) {
		nw_info("kernel path: stopping the nanoweb-xdpd we started");
		stop_guardian();
	}
}
