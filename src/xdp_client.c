/*
 * nano-web's side of the kernel fast path (see xdp_client.h and
 * ../shared/DESIGN.md): starts nanoweb-xdpd when nano-web runs as root and no
 * helper answers, keeps a connection to it from a background thread, pushes
 * every eligible prebuilt response of each snapshot, and reads its counters.
 *
 * Threads: the HTTP side calls publish/stats/free; one background thread owns
 * the push connection. `mu` guards the shared fields; the socket itself is
 * only used by the background thread (stats use a connection of their own).
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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "responses.h"
#include "nanoweb_xdp_proto.h"

#ifndef NW_SBINDIR
#define NW_SBINDIR "/usr/local/sbin"
#endif

#define HELPER_NAME "nanoweb-xdpd"
#define HELPER_START_WAIT_MS 15000   /* loading and attaching BPF programs */
#define HELPER_STOP_WAIT_MS 15000
#define RECONNECT_MS 1000
#define PUBLISH_WAIT_MS 5000         /* publish() waits for the commit this long */
#define IO_TIMEOUT_MS 5000

/* IMF-fixdate placeholder for the Date value: XDP writes the real one. */
#define DATE_PLACEHOLDER "Thu, 01 Jan 1970 00:00:00 GMT"

/* ---------------------------------------------------------------------- */
/* The wire protocol (common/nanoweb_xdp_proto.h).                         */

/*
 * PROVISIONAL until the shared header defines the messages: a message is a
 * 32-bit little-endian total length, a 16-bit type and a 16-bit flags field,
 * then the payload; every request gets one reply whose 32-bit status leads
 * its payload.
 */
#define NW_WIRE_MAX_RESPONSE 9000
enum {
	W_HELLO = 1, W_BEGIN = 2, W_PUT = 3, W_COMMIT = 4, W_STATS = 5,
	W_PING = 6, W_REPLY = 0x8000,
};
#define W_VERSION 1
#define W_MAX_MSG (64 * 1024)

struct nw_wire_stats {
	uint64_t v[16];
	unsigned n;
};

static const char *const wire_stat_names[] = {
	"hits", "handoffs", "syncookies", "dropped_invalid", "bytes",
	"map_entries", "map_memory",
};

static bool full_write(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

static bool full_read(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t r = recv(fd, b, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ECONNRESET;
			return false;
		}
		b += r;
		n -= (size_t)r;
	}
	return true;
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* Sends one request (payload from up to three pieces) and reads the reply
 * into rep (up to *replen bytes, set to what came). */
static bool wire_call(int fd, uint16_t type, const void *a, size_t alen,
		      const void *b, size_t blen, const void *c3, size_t clen,
		      uint8_t *rep, size_t *replen)
{
	uint8_t hdr[8], rh[8], st[4];
	size_t total = sizeof hdr + alen + blen + clen, n, want;

	if (total > W_MAX_MSG) {
		errno = EMSGSIZE;
		return false;
	}
	put_u32(hdr, (uint32_t)total);
	put_u16(hdr + 4, type);
	put_u16(hdr + 6, 0);
	if (!full_write(fd, hdr, sizeof hdr) ||
	    (alen && !full_write(fd, a, alen)) ||
	    (blen && !full_write(fd, b, blen)) ||
	    (clen && !full_write(fd, c3, clen)))
		return false;
	if (!full_read(fd, rh, sizeof rh))
		return false;
	n = get_u32(rh);
	if (n < sizeof rh + sizeof st || n > W_MAX_MSG) {
		errno = EPROTO;
		return false;
	}
	if (!full_read(fd, st, sizeof st))
		return false;
	n -= sizeof rh + sizeof st;
	want = replen ? *replen : 0;
	if (n > want) {
		/* drain what does not fit */
		uint8_t sink[256];
		size_t left = n - want;

		if (want && !full_read(fd, rep, want))
			return false;
		while (left) {
			size_t k = left < sizeof sink ? left : sizeof sink;

			if (!full_read(fd, sink, k))
				return false;
			left -= k;
		}
		n = want;
	} else if (n && !full_read(fd, rep, n)) {
		return false;
	}
	if (replen)
		*replen = n;
	if (get_u32(st) != 0) {
		errno = (int)get_u32(st) > 0 ? (int)get_u32(st) : EPROTO;
		return false;
	}
	return true;
}

static bool nw_wire_hello(int fd, uint16_t port, char *why, size_t whylen)
{
	uint8_t p[8];

	put_u32(p, W_VERSION);
	put_u16(p + 4, port);
	put_u16(p + 6, 0);
	if (!wire_call(fd, W_HELLO, p, sizeof p, NULL, 0, NULL, 0, NULL, NULL)) {
		if (why)
			snprintf(why, whylen, "hello refused: %s", strerror(errno));
		return false;
	}
	return true;
}

static bool nw_wire_begin(int fd, uint64_t gen)
{
	uint8_t p[8];

	put_u64(p, gen);
	return wire_call(fd, W_BEGIN, p, sizeof p, NULL, 0, NULL, 0, NULL, NULL);
}

static bool nw_wire_put(int fd, uint64_t gen, const char *path,
			enum nw_enc enc, bool head_only, const uint8_t *head,
			size_t head_len, const char *date_placeholder,
			const uint8_t *body, size_t body_len)
{
	uint8_t p[24];
	const char *d = memmem(head, head_len, date_placeholder,
			       strlen(date_placeholder));
	size_t plen = strlen(path);

	if (plen > 1024) {
		errno = ENAMETOOLONG;
		return false;
	}
	put_u64(p, gen);
	p[8] = (uint8_t)enc;
	p[9] = head_only;
	put_u16(p + 10, (uint16_t)plen);
	put_u16(p + 12, d ? (uint16_t)((const uint8_t *)d - head) : 0xffff);
	put_u16(p + 14, (uint16_t)(head_len + body_len));
	put_u32(p + 16, 0);
	put_u32(p + 20, 0);
	{
		uint8_t *buf = malloc(sizeof p + plen + head_len);
		bool ok;

		if (!buf)
			return false;
		memcpy(buf, p, sizeof p);
		memcpy(buf + sizeof p, path, plen);
		memcpy(buf + sizeof p + plen, head, head_len);
		ok = wire_call(fd, W_PUT, buf, sizeof p + plen + head_len, body,
			       body_len, NULL, 0, NULL, NULL);
		free(buf);
		return ok;
	}
}

static bool nw_wire_commit(int fd, uint64_t gen)
{
	uint8_t p[8];

	put_u64(p, gen);
	return wire_call(fd, W_COMMIT, p, sizeof p, NULL, 0, NULL, 0, NULL, NULL);
}

static bool nw_wire_alive(int fd)
{
	return wire_call(fd, W_PING, NULL, 0, NULL, 0, NULL, 0, NULL, NULL);
}

static bool nw_wire_stats(int fd, struct nw_wire_stats *st)
{
	uint8_t rep[8 * 16];
	size_t n = sizeof rep;

	if (!wire_call(fd, W_STATS, NULL, 0, NULL, 0, NULL, 0, rep, &n))
		return false;
	st->n = (unsigned)(n / 8);
	for (unsigned i = 0; i < st->n; i++)
		st->v[i] = get_u64(rep + 8 * i);
	return true;
}

static void nw_wire_stats_json(const struct nw_wire_stats *st,
			       struct strbuf *out)
{
	size_t names = sizeof wire_stat_names / sizeof wire_stat_names[0];

	for (unsigned i = 0; i < names; i++)
		sb_printf(out, "%s\"%s\":%llu", i ? "," : "", wire_stat_names[i],
			  (unsigned long long)(i < st->n ? st->v[i] : 0));
}

/* ---------------------------------------------------------------------- */
/* The helper nano-web started (nw_xdp_prepare), if any.                   */

static pid_t g_guard_pid = -1;   /* guardian process: parent of the helper */
static int g_guard_fd = -1;      /* its lifeline: closing it stops the helper */
static bool g_prepare_logged;    /* prepare already said why there is no helper */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
static bool helper_answers(const char *path, uint16_t port)
{
	int fd = sock_connect(path, 1000);
	bool ok;

	if (fd < 0)
		return false;
	ok = nw_wire_hello(fd, port, NULL, 0);
	close(fd);
	return ok;
}

static bool is_exec(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
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
	const char *path;

	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0 && argv0 && strchr(argv0, '/') &&
	    realpath(argv0, self))
		n = (ssize_t)strlen(self);
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(out, outsz, "%s/%s", self, HELPER_NAME);
			if (is_exec(out))
				return true;
			snprintf(out, outsz, "%s/xdp/%s", self, HELPER_NAME);
			if (is_exec(out))
				return true;
		}
	}
	path = getenv("PATH");
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);

		if (len > 0 && len < outsz) {
			snprintf(out, outsz, "%.*s/%s", (int)len, path, HELPER_NAME);
			if (out[0] == '/' && is_exec(out))
				return true;
		}
		path = end ? end + 1 : NULL;
	}
	snprintf(out, outsz, "%s/%s", NW_SBINDIR, HELPER_NAME);
	if (is_exec(out))
		return true;
	snprintf(where, wheresz, "next to %s, on PATH or in %s",
		 n > 0 ? self : "nano-web", NW_SBINDIR);
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
	fprintf(f, "[xdp]\n");
	if (cfg->xdp_iface && cfg->xdp_iface[0])
		fprintf(f, "iface = %s\n", cfg->xdp_iface);
	fprintf(f, "attach = %s\n", attach_name(cfg->xdp_attach));
	fprintf(f, "socket = %s\n", cfg->xdp_socket);
	fprintf(f, "pin_dir = %s\n", cfg->xdp_pin_dir);
	fprintf(f, "max_response = %u\n", cfg->xdp_max_response);
	fprintf(f, "flow_entries = %u\n", cfg->xdp_flow_entries);
	fprintf(f, "cache_entries = %u\n", cfg->xdp_cache_entries);
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
	setpgid(0, 0);
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
	for (int i = 0; i < HELPER_STOP_WAIT_MS / 50; i++) {
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
	for (long end = now_ms() + HELPER_STOP_WAIT_MS + 2000; now_ms() < end;) {
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
	char *argv[4];
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
	argv[0] = (char *)bin;
	argv[1] = (char *)"--config";
	argv[2] = ini;
	argv[3] = NULL;
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
	for (end = now_ms() + HELPER_START_WAIT_MS; now_ms() < end;) {
		if (helper_answers(cfg->xdp_socket, port)) {
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
	if (helper_answers(cfg->xdp_socket, port))
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
/* Eligible responses and the interfaces' MTU.                            */

/* Smallest MTU of the interfaces the kernel path is on (0: unknown). */
static unsigned iface_mtu(const char *name)
{
	char p[300], buf[32];
	FILE *f;
	unsigned v = 0;

	snprintf(p, sizeof p, "/sys/class/net/%s/mtu", name);
	f = fopen(p, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof buf, f))
		v = (unsigned)strtoul(buf, NULL, 10);
	fclose(f);
	return v;
}

static bool iface_up(const char *name)
{
	char p[300], buf[32];
	FILE *f;
	unsigned long flags = 0;

	snprintf(p, sizeof p, "/sys/class/net/%s/flags", name);
	f = fopen(p, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof buf, f))
		flags = strtoul(buf, NULL, 16);
	fclose(f);
	return flags & 1;   /* IFF_UP */
}

static unsigned min_mtu(const struct nw_config *cfg)
{
	unsigned m = 0, v;

	if (cfg->xdp_iface && cfg->xdp_iface[0]) {
		const char *p = cfg->xdp_iface;

		while (*p) {
			char name[64];
			size_t n = strcspn(p, ",");

			if (n > 0 && n < sizeof name) {
				memcpy(name, p, n);
				name[n] = '\0';
				v = iface_mtu(name);
				if (v && (!m || v < m))
					m = v;
			}
			p += n;
			if (*p == ',')
				p++;
		}
	} else {
		/* Every interface that is up, loopback included. */
		char name[64];
		FILE *f = fopen("/proc/net/dev", "re");
		char line[512];

		if (!f)
			return 0;
		while (fgets(line, sizeof line, f)) {
			char *c = strchr(line, ':'), *s = line;

			if (!c)
				continue;
			*c = '\0';
			while (*s == ' ')
				s++;
			if (strlen(s) >= sizeof name)
				continue;
			strcpy(name, s);
			if (!iface_up(name))
				continue;
			v = iface_mtu(name);
			if (v && (!m || v < m))
				m = v;
		}
		fclose(f);
	}
	return m;
}

/*
 * Largest full response (head + body) the kernel path may send: the
 * configured cap, and one segment at the smallest MTU (IPv6 header 40, TCP
 * header 20, room for 12 bytes of TCP options).
 */
static unsigned response_limit(const struct nw_config *cfg)
{
	unsigned lim = cfg->xdp_max_response, mtu = min_mtu(cfg);

	if (mtu > 72 && mtu - 72 < lim)
		lim = mtu - 72;
	if (lim > NW_WIRE_MAX_RESPONSE)
		lim = NW_WIRE_MAX_RESPONSE;
	return lim;
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
	uint64_t want_gen;
	uint64_t committed_gen;     /* newest generation the helper committed */
	uint64_t attempts;          /* push attempts finished (ok or not) */
	bool connected;
	bool warned;                /* the "unreachable" line was logged */
	unsigned limit;             /* response_limit() at start */
	size_t pushed_entries;      /* in the last committed generation */
	size_t pushed_bytes;
	size_t skipped_large;       /* variants too large for one segment */
};

struct push_ctx {
	const struct nw_config *cfg;
	unsigned limit;
	size_t entries, bytes, skipped;
};

/*
 * Pushes every eligible response of `s` under its generation, then commits
 * it (which makes it visible to XDP at once and drops older generations).
 */
static bool push_snapshot(int fd, struct push_ctx *pc, struct nw_snapshot *s)
{
	struct strbuf head = STRBUF_INIT;
	bool ok = true;

	if (!nw_wire_begin(fd, s->generation))
		return false;
	for (size_t i = 0; ok && i < s->n_slots; i++) {
		const struct nw_resource *r;
		const char *key;

		if (!s->slots[i])
			continue;
		r = &s->res[s->slots[i] - 1];
		key = s->slot_keys[i];
		if (r->on_disk || !key)
			continue;
		for (int e = 0; ok && e < NW_ENC_COUNT; e++) {
			const struct nw_variant *v = &r->var[e];
			size_t body_len;

			if (!(r->enc_mask & NW_ENC_BIT(e)) && e != NW_ENC_IDENTITY)
				continue;
			if (!v->body && v->len)
				continue;
			body_len = (size_t)v->len;
			for (int h = 0; ok && h < 2; h++) {
				head.len = 0;
				if (head.buf)
					head.buf[0] = '\0';
				if (!nw_response_head(pc->cfg, r, (enum nw_enc)e, h == 1,
						      DATE_PLACEHOLDER, &head)) {
					ok = false;
					break;
				}
				if (head.len + body_len > pc->limit) {
					if (h == 0)
						pc->skipped++;
					break;   /* GET too large: no HEAD entry either */
				}
				ok = nw_wire_put(fd, s->generation, key,
						 (enum nw_enc)e, h == 1,
						 (const uint8_t *)head.buf, head.len,
						 DATE_PLACEHOLDER,
						 h == 1 ? NULL : v->body,
						 h == 1 ? 0 : body_len);
				if (ok) {
					pc->entries++;
					pc->bytes += head.len + (h == 1 ? 0 : body_len);
				}
			}
		}
	}
	sb_free(&head);
	return ok && nw_wire_commit(fd, s->generation);
}

static void *client_thread(void *arg)
{
	struct nw_xdp_client *c = arg;
	int fd = -1;
	uint64_t pushed = 0;   /* generation committed on this connection */

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct nw_snapshot *s;
		struct push_ctx pc = { c->cfg, c->limit, 0, 0, 0 };
		char why[256];
		bool ok;

		if (fd < 0) {
			pthread_mutex_unlock(&c->mu);
			fd = sock_connect(c->cfg->xdp_socket, IO_TIMEOUT_MS);
			why[0] = '\0';
			if (fd >= 0 && !nw_wire_hello(fd, c->port, why, sizeof why)) {
				close(fd);
				fd = -1;
			} else if (fd < 0) {
				snprintf(why, sizeof why, "%s", strerror(errno));
			}
			pthread_mutex_lock(&c->mu);
			if (fd < 0) {
				if (!c->warned) {
					nw_warn("kernel path: nanoweb-xdpd not reachable on %s (%s); "
						"serving everything from userspace, retrying every second",
						c->cfg->xdp_socket, why);
					c->warned = true;
				}
				c->connected = false;
				c->attempts++;
				pthread_cond_broadcast(&c->done_cv);
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += RECONNECT_MS / 1000;
				if (!c->stop)
					pthread_cond_timedwait(&c->cv, &c->mu, &ts);
				continue;
			}
			nw_info("kernel path: connected to nanoweb-xdpd on %s",
				c->cfg->xdp_socket);
			c->connected = true;
			c->warned = false;
			pushed = 0;
		}
		if (!c->want || pushed == c->want_gen) {
			/* Idle: wake for work or stop; check the peer each second. */
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&c->cv, &c->mu, &ts);
			if (!c->stop && (!c->want || pushed == c->want_gen) &&
			    !nw_wire_alive(fd)) {
				nw_warn("kernel path: lost nanoweb-xdpd; serving everything "
					"from userspace until it is back");
				c->warned = true;
				c->connected = false;
				close(fd);
				fd = -1;
			}
			continue;
		}
		s = c->want;
		nw_snapshot_ref(s);
		pthread_mutex_unlock(&c->mu);
		ok = push_snapshot(fd, &pc, s);
		pthread_mutex_lock(&c->mu);
		c->attempts++;
		if (ok) {
			pushed = s->generation;
			if (s->generation > c->committed_gen || c->committed_gen == 0)
				c->committed_gen = s->generation;
			c->pushed_entries = pc.entries;
			c->pushed_bytes = pc.bytes;
			c->skipped_large = pc.skipped;
			nw_info("kernel path: generation %llu: %zu responses (%zu bytes) in the kernel, "
				"%zu variants too large for one segment of %u bytes",
				(unsigned long long)s->generation, pc.entries, pc.bytes,
				pc.skipped, c->limit);
		} else {
			nw_warn("kernel path: pushing generation %llu to nanoweb-xdpd failed (%s); "
				"serving everything from userspace until it is back",
				(unsigned long long)s->generation,
				errno ? strerror(errno) : "refused");
			c->warned = true;
			c->connected = false;
			close(fd);
			fd = -1;
		}
		pthread_cond_broadcast(&c->done_cv);
		pthread_mutex_unlock(&c->mu);
		nw_snapshot_unref(s);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	if (fd >= 0)
		close(fd);
	return NULL;
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
	c->limit = response_limit(cfg);
	c->warned = g_prepare_logged;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->done_cv, NULL);
	if (pthread_create(&c->thread, NULL, client_thread, c) != 0) {
		nw_warn("kernel path: cannot start the client thread: %s; "
			"serving everything from userspace", strerror(errno));
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
	c->want_gen = s->generation;
	attempts = c->attempts;
	pthread_cond_broadcast(&c->cv);
	/*
	 * Wait (bounded) until the helper committed this generation, so that
	 * once the caller reports the reload done, XDP serves nothing older.
	 * When the helper is not there, the first failed attempt ends the wait.
	 */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += PUBLISH_WAIT_MS / 1000;
	while (c->committed_gen < s->generation && !c->stop) {
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

void nw_xdp_client_stats_json(struct nw_xdp_client *c, struct strbuf *out)
{
	struct nw_wire_stats st;
	bool connected;
	uint64_t gen;
	size_t entries, bytes, skipped;
	int fd;

	if (!c) {
		sb_puts(out, "null");
		return;
	}
	pthread_mutex_lock(&c->mu);
	connected = c->connected;
	gen = c->committed_gen;
	entries = c->pushed_entries;
	bytes = c->pushed_bytes;
	skipped = c->skipped_large;
	pthread_mutex_unlock(&c->mu);
	if (!connected) {
		sb_puts(out, "null");
		return;
	}
	/* A connection of its own: the push connection may be busy. */
	fd = sock_connect(c->cfg->xdp_socket, 1000);
	if (fd < 0 || !nw_wire_stats(fd, &st)) {
		if (fd >= 0)
			close(fd);
		sb_puts(out, "null");
		return;
	}
	close(fd);
	sb_printf(out, "{\"connected\":true,\"generation\":%llu,"
		  "\"pushed_responses\":%zu,\"pushed_bytes\":%zu,"
		  "\"too_large\":%zu,\"max_response\":%u,",
		  (unsigned long long)gen, entries, bytes, skipped, c->limit);
	nw_wire_stats_json(&st, out);
	sb_putc(out, '}');
}

void nw_xdp_client_free(struct nw_xdp_client *c)
{
	if (c) {
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		pthread_cond_broadcast(&c->cv);
		pthread_cond_broadcast(&c->done_cv);
		pthread_mutex_unlock(&c->mu);
		if (c->thread_started)
			pthread_join(c->thread, NULL);
		if (c->want)
			nw_snapshot_unref(c->want);
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
