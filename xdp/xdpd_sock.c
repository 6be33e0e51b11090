/*
 * nanoweb-xdpd: the Unix socket (SOCK_SEQPACKET) nano-web talks to. Every
 * message is framed and validated (xdpd_proto.c); only allowed uids may
 * change the maps; a bad message gets an error reply and a log line.
 *
 * Any local user may connect (HELLO, STATS), so no peer may hold the main
 * loop, the client table or the log: a few messages per client per turn,
 * STATS rate-limited, read-only peers capped per uid and evicted for a
 * writer, log lines about a peer rate-limited, and a peer that keeps
 * sending bad messages or does not read its replies is disconnected.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "xdpd.h"
#include "xdpd_proto.h"
#include "xdpd_listen.h"

#define MAX_CLIENTS 64
#define MAX_RO_PER_UID 8    /* read-only connections of one uid */
#define MSGS_PER_TURN 8     /* messages read from one client per poll round */
#define STATS_EVERY_MS 100  /* STATS: 10 a second per connection ... */
#define STATS_BURST 10      /* ... after a burst of 10 */
#define RO_STATS_EVERY_MS 50 /* STATS of all read-only peers together: 20 a
			      * second (~7 ms each: a seventh of the helper's
			      * time at most) ... */
#define RO_STATS_BURST 20   /* ... after a burst of 20 */
#define LOG_EVERY_MS 1000   /* rate-limited log lines: one a second ... */
#define LOG_BURST 5         /* ... after a burst of 5 */
#define MAX_BAD_RUN 16      /* consecutive bad messages before disconnecting */

/* A rate-limited log line (see rlog()). */
struct ratelog {
	uint64_t tat;
	unsigned dropped;
};

struct client {
	uint64_t id;        /* connection id (never 0, never reused) */
	int fd;
	uid_t uid;
	pid_t pid;
	bool may_write;
	bool listens;       /* not root: listens on every port its last
			     * SET_PORTS claimed (checked, see ports_owned()) */
	uint32_t staging;   /* 0: none */
	unsigned staged;    /* responses in the staging generation */
	uint16_t ports[NWX_MAX_PORTS];
	unsigned n_ports;
	uint64_t last_ms;   /* connect or last message: eviction order */
	uint64_t stats_tat; /* STATS rate limit (allow()) */
	struct ratelog log; /* refusals, lost replies */
	unsigned bad_run;   /* consecutive refused messages (bad_code()) */
	const char *drop;   /* set: disconnect after this message, why */
};

static int listen_fd = -1;
static char sock_path[108];
static struct client clients[MAX_CLIENTS];
static unsigned n_clients;
static uint64_t last_id;
/* rate limit of the E_BUSY log line (a refused nano-web retries each second) */
static pid_t busy_logged_pid;
static time_t busy_logged_at;
static unsigned busy_suppressed;
static struct ratelog accept_log; /* refused and evicted connections */
static struct ratelog ro_log;     /* read-only peers coming and going */
static uint64_t ro_stats_tat;     /* STATS budget of all read-only peers */
static union {
	uint8_t b[NWX_MSG_MAX + 1];
	struct nwx_hdr h;
} rx;

static uint64_t now_ms(void)
{
	return xdpd_mono_ns() / 1000000;
}

/* A burst of `burst` events, then one per `every_ms`: *tat is a virtual
 * clock that each allowed event moves every_ms ahead of now. */
static bool allow(uint64_t *tat, unsigned every_ms, unsigned burst)
{
	uint64_t now = now_ms();

	if (*tat < now)
		*tat = now;
	if (*tat - now >= (uint64_t)every_ms * burst)
		return false;
	*tat += every_ms;
	return true;
}

/* xlog(), at most LOG_BURST lines then one a second per ratelog; the count
 * of the lines dropped meanwhile goes with the next line logged. */
static void __attribute__((format(printf, 2, 3)))
rlog(struct ratelog *r, const char *fmt, ...)
{
	char buf[900];
	va_list ap;

	if (!allow(&r->tat, LOG_EVERY_MS, LOG_BURST)) {
		r->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (r->dropped)
		xlog("%s (and %u similar lines not logged)", buf, r->dropped);
	else
		xlog("%s", buf);
	r->dropped = 0;
}

bool xdpd_port_claimed(uint16_t port)
{
	for (unsigned i = 0; i < n_clients; i++)
		for (unsigned j = 0; j < clients[i].n_ports; j++)
			if (clients[i].ports[j] == port)
				return true;
	return false;
}

bool xdpd_gen_in_use(uint32_t gen)
{
	for (unsigned i = 0; i < n_clients; i++)
		if (clients[i].staging == gen)
			return true;
	return false;
}

static bool uid_allowed(struct xdpd *x, uid_t uid)
{
	if (uid == 0)
		return true;
	for (unsigned i = 0; i < x->cfg.n_allowed; i++)
		if (x->cfg.allowed[i] == uid)
			return true;
	return false;
}

static bool owned_by_us(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/* Root creates, removes and connects to names in the socket's directory:
 * nobody else may change its entries (nor swap in a symlink). */
static int check_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st)) {
		xlog("socket directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		xlog("socket directory %s: not a directory", dir);
		return -1;
	}
	if (!owned_by_us(&st) || (st.st_mode & 022)) {
		xlog("refusing the socket directory %s (owner uid %u, mode %04o): "
		     "it must be owned by root and not writable by group or others",
		     dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* Nobody but root (or us) may change it: its owner, and for a directory
 * its mode (writable by group or others only with the sticky bit, as
 * /tmp, where others cannot rename entries they do not own). */
static bool safe_entry(const struct stat *st)
{
	return owned_by_us(st) &&
	       (S_ISLNK(st->st_mode) || !(st->st_mode & 022) ||
		(st->st_mode & S_ISVTX));
}

static int refuse_parent(const char *dir, const char *path,
			 const struct stat *st)
{
	xlog("refusing the socket directory %s: %s %s (owner uid %u, mode "
	     "%04o) lets another user replace it; each directory above the "
	     "socket, and each symlink on the way, must be owned by root and "
	     "not writable by group or others, unless sticky", dir,
	     S_ISLNK(st->st_mode) ? "the symlink" : "its parent", path,
	     (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777));
	return -1;
}

/*
 * Everything on the way to the socket's directory: whoever may rename an
 * entry in one of the directories above it, or re-point a symlink on the
 * way, can swap the directory for one of their own (and root would unlink
 * and bind there, nano-web connect there). Walked twice: as written, with
 * lstat (a symlink must be root's or ours, and so must the directories
 * holding it), and resolved, since a symlink leads elsewhere.
 */
static int check_parents(const char *dir)
{
	char path[PATH_MAX], *slash;
	struct stat st;
	size_t i;

	if (dir[0] == '/' && strlen(dir) < sizeof(path)) {
		for (i = 1; dir[i - 1]; i++) {
			if (dir[i] != '/' && dir[i])
				continue;
			memcpy(path, dir, i);
			path[i] = 0;
			if (lstat(path, &st)) {
				xlog("socket directory %s: %s: %s", dir, path,
				     strerror(errno));
				return -1;
			}
			/* the directory itself is check_dir()'s */
			if ((S_ISLNK(st.st_mode) || dir[i]) && !safe_entry(&st))
				return refuse_parent(dir, path, &st);
		}
	}
	if (!realpath(dir, path)) {
		xlog("socket directory %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((slash = strrchr(path, '/')) && path[1]) {
		if (slash == path)
			slash[1] = 0;
		else
			*slash = 0;
		if (stat(path, &st)) {
			xlog("socket directory %s: %s: %s", dir, path, strerror(errno));
			return -1;
		}
		if (!safe_entry(&st))
			return refuse_parent(dir, path, &st);
	}
	return 0;
}

/* 0 when nothing listens on the socket's path (free, stale or not a socket),
 * -1 (logged) when something answers there or it cannot be told. */
static int check_not_served(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r, e;

	if (fd < 0) {
		xlog("socket: %s", strerror(errno));
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	e = errno;
	close(fd);
	if (r && (e == ECONNREFUSED || e == ENOENT))
		return 0;
	if (!r || e == EAGAIN || e == EPROTOTYPE)
		xlog("%s: another nanoweb-xdpd (or another program) listens there: "
		     "not starting a second helper on it", sa->sun_path);
	else
		xlog("%s: cannot tell whether a helper listens there: %s",
		     sa->sun_path, strerror(e));
	return -1;
}

/* The socket's address; its directory (created when missing) is safe and
 * nothing answers on it. */
static int sock_checked(struct xdpd *x, struct sockaddr_un *sa)
{
	char dir[sizeof(sa->sun_path)], *slash;

	if (strlen(x->cfg.socket) >= sizeof(sa->sun_path)) {
		xlog("socket path too long: %s", x->cfg.socket);
		return -1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s", x->cfg.socket);
	snprintf(dir, sizeof(dir), "%s", x->cfg.socket);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = 0;
	else
		*slash = 0;
	if (mkdir(dir, 0755) && errno != EEXIST)
		xlog("cannot create %s: %s", dir, strerror(errno));
	memcpy(sa->sun_path, sock_path, strlen(sock_path));
	return check_dir(dir) || check_parents(dir) || check_not_served(sa) ?
		       -1 : 0;
}

int xdpd_sock_check(struct xdpd *x)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	return sock_checked(x, &sa);
}

int xdpd_sock_listen(struct xdpd *x)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old_mask;
	int r;

	/* again: time has passed since xdpd_sock_check() */
	if (sock_checked(x, &sa))
		return -1;
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0) {
		xlog("socket: %s", strerror(errno));
		return -1;
	}
	unlink(sock_path); /* a stale socket of a previous helper */
	/* mode 0666 at creation: any local user may connect (HELLO, STATS);
	 * no chmod() by name afterwards */
	old_mask = umask(0111);
	r = bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (r || listen(listen_fd, 16)) {
		xlog("cannot listen on %s: %s", sock_path, strerror(errno));
		close(listen_fd);
		listen_fd = -1;
		return -1;
	}
	xlog("listening on %s", sock_path);
	return 0;
}

static void send_msg(struct client *c, uint16_t type, uint32_t seq,
		     const void *body, size_t blen, const void *tail, size_t tlen)
{
	uint8_t buf[sizeof(struct nwx_hdr) + 512];
	struct nwx_hdr h = { .type = type, .seq = seq };
	size_t n = sizeof(h) + blen + tlen;

	if (n > sizeof(buf))
		return;
	h.len = (uint32_t)n;
	memcpy(buf, &h, sizeof(h));
	if (blen)
		memcpy(buf + sizeof(h), body, blen);
	if (tlen)
		memcpy(buf + sizeof(h) + blen, tail, tlen);
	if (c->drop)
		return;
	if (type != NWX_MSG_ERROR)
		c->bad_run = 0;
	/* its socket buffer is full (or it is gone): whatever it sends next
	 * would go unanswered too */
	if (send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)n) {
		rlog(&c->log, "client pid %d uid %u: reply lost: %s", (int)c->pid,
		     (unsigned)c->uid, strerror(errno));
		c->drop = "it does not read its replies";
	}
}

static void reply_ok(struct client *c, uint32_t seq, uint32_t gen, uint32_t count)
{
	struct nwx_ok ok = { .generation = gen, .count = count };

	send_msg(c, NWX_MSG_OK, seq, &ok, sizeof(ok), NULL, 0);
}

static void send_err(struct client *c, uint32_t seq, int code, const char *text)
{
	struct nwx_error e = { .code = (uint32_t)code };
	size_t tl = strlen(text);

	if (tl > 400)
		tl = 400;
	e.text_len = (uint32_t)tl;
	send_msg(c, NWX_MSG_ERROR, seq, &e, sizeof(e), text, tl);
}

/* Refusals a correct client never gets: a run of them is a broken or
 * hostile peer. (Collisions, a full cache, E_BUSY are part of a session.) */
static bool bad_code(int code)
{
	return code == NWX_E_PROTO || code == NWX_E_VERSION ||
	       code == NWX_E_PERM || code == NWX_E_INVAL || code == NWX_E_NOGEN;
}

static void reply_err(struct client *c, uint32_t seq, int code, const char *text)
{
	send_err(c, seq, code, text);
	rlog(&c->log, "client pid %d uid %u: refused: %s", (int)c->pid,
	     (unsigned)c->uid, text);
	if (bad_code(code) && ++c->bad_run >= MAX_BAD_RUN && !c->drop)
		c->drop = "too many bad messages in a row";
}

/* Another connection is the writer: E_BUSY, logged once a minute per pid. */
static void reply_busy(struct xdpd *x, struct client *c, uint32_t seq)
{
	char text[160];
	time_t now = time(NULL);

	snprintf(text, sizeof(text),
		 "%s: another nano-web (pid %d) owns the kernel path",
		 xdpd_msg_name(rx.h.type), (int)x->owner.pid);
	send_err(c, seq, NWX_E_BUSY, text);
	if (c->pid == busy_logged_pid && now - busy_logged_at < 60) {
		busy_suppressed++;
		return;
	}
	if (busy_suppressed)
		xlog("(%u similar refusals not logged)", busy_suppressed);
	xlog("client pid %d uid %u: refused: %s", (int)c->pid, (unsigned)c->uid,
	     text);
	busy_logged_pid = c->pid;
	busy_logged_at = now;
	busy_suppressed = 0;
}

/* A writer that is not root serves only ports it listens on itself: every
 * SET_PORTS is checked against the process's sockets, and its other writing
 * messages wait for one that passed, so that it cannot even take the write
 * session from nano-web. False (and an E_PERM reply) otherwise. */
static bool ports_owned(struct client *c, uint32_t seq, const void *body,
			size_t n)
{
	uint16_t ports[NWX_MAX_PORTS];
	unsigned cnt = 0;
	char err[256];
	int code;

	if (c->uid == 0)
		return true;
	if (rx.h.type != NWX_MSG_SET_PORTS) {
		if (c->listens)
			return true;
		snprintf(err, sizeof(err), "%s: uid %u must first claim, with "
			 "SET_PORTS, ports it listens on",
			 xdpd_msg_name(rx.h.type), (unsigned)c->uid);
		reply_err(c, seq, NWX_E_PERM, err);
		return false;
	}
	c->listens = false;
	code = xdpd_check_ports(body, n, ports, &cnt, err, sizeof(err));
	if (code) {
		reply_err(c, seq, code, err);
		return false;
	}
	for (unsigned i = 0; i < cnt; i++) {
		char why[160] = "";
		int r = xdpd_pid_listens(c->pid, ports[i], why, sizeof(why));

		if (r == 1)
			continue;
		snprintf(err, sizeof(err), "SET_PORTS: port %u: client pid %d "
			 "(uid %u) %s%s", ports[i], (int)c->pid, (unsigned)c->uid,
			 r == 0 ? "does not listen on it" :
			 "cannot be checked: ", why);
		reply_err(c, seq, NWX_E_PERM, err);
		return false;
	}
	c->listens = true;
	return true;
}

/* Writing messages need the connection to be the single writer. False (and
 * an E_BUSY reply) if another connection is. */
static bool claim_writer(struct xdpd *x, struct client *c, uint32_t seq)
{
	switch (xdpd_owner_claim(&x->owner, c->id, c->pid, time(NULL))) {
	case XDPD_CLAIM_OWNER:
		return true;
	case XDPD_CLAIM_INHERIT:
		xlog("client pid %d is the writer: it takes over the adopted cache (generation %u) and ports",
		     (int)c->pid, x->active_gen);
		return true;
	case XDPD_CLAIM_NEW:
		if (x->active_gen) {
			xlog("client pid %d is the writer: dropping the previous writer's cache (generation %u)",
			     (int)c->pid, x->active_gen);
			xdpd_gen_flip(x, 0);
		} else {
			xlog("client pid %d is the writer", (int)c->pid);
		}
		xdpd_drop_adopted_ports(x, NULL, 0);
		return true;
	case XDPD_CLAIM_BUSY:
		break;
	}
	reply_busy(x, c, seq);
	return false;
}

static void drop_staging(struct xdpd *x, struct client *c)
{
	if (c->staging) {
		uint32_t g = c->staging;

		c->staging = 0;
		c->staged = 0;
		xdpd_gen_delete(x, g);
	}
}

static void release_ports(struct xdpd *x, struct client *c)
{
	uint16_t old[NWX_MAX_PORTS];
	unsigned n = c->n_ports;

	memcpy(old, c->ports, sizeof(old));
	c->n_ports = 0;
	for (unsigned i = 0; i < n; i++)
		if (!xdpd_port_claimed(old[i])) {
			xdpd_port_set(x, old[i], false);
			xlog("port %u: no longer served", old[i]);
		}
}

static void client_close(struct xdpd *x, unsigned idx)
{
	struct client *c = &clients[idx];

	if (c->log.dropped)
		xlog("client pid %d uid %u: %u log lines about it not logged",
		     (int)c->pid, (unsigned)c->uid, c->log.dropped);
	if (c->may_write || c->drop)
		xlog("client pid %d uid %u disconnected%s%s", (int)c->pid,
		     (unsigned)c->uid, c->drop ? " by the helper: " : "",
		     c->drop ? c->drop : "");
	else
		rlog(&ro_log, "client pid %d uid %u disconnected", (int)c->pid,
		     (unsigned)c->uid);
	close(c->fd);
	c->fd = -1;
	drop_staging(x, c);
	release_ports(x, c);
	if (xdpd_owner_release(&x->owner, c->id))
		xlog("the writer (pid %d) left: its ports are no longer served; the next writer takes over",
		     (int)c->pid);
	clients[idx] = clients[--n_clients];
}

static unsigned read_only_of(uid_t uid)
{
	unsigned n = 0;

	for (unsigned i = 0; i < n_clients; i++)
		n += !clients[i].may_write && clients[i].uid == uid;
	return n;
}

/* The read-only client idle longest, or -1. */
static int idlest_read_only(void)
{
	int v = -1;

	for (unsigned i = 0; i < n_clients; i++)
		if (!clients[i].may_write &&
		    (v < 0 || clients[i].last_ms < clients[v].last_ms))
			v = (int)i;
	return v;
}

void xdpd_sock_accept(struct xdpd *x)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct client *c;
	bool may_write;

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
		xlog("SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	may_write = uid_allowed(x, cr.uid);
	if (!may_write && read_only_of(cr.uid) >= MAX_RO_PER_UID) {
		rlog(&accept_log, "client pid %d uid %u: refused: uid %u already has %d read-only connections",
		     (int)cr.pid, (unsigned)cr.uid, (unsigned)cr.uid, MAX_RO_PER_UID);
		close(fd);
		return;
	}
	if (n_clients == MAX_CLIENTS) {
		/* a writer (nano-web) is never locked out by readers */
		int v = may_write ? idlest_read_only() : -1;

		if (v < 0) {
			rlog(&accept_log, "client pid %d uid %u: refused: %d clients connected",
			     (int)cr.pid, (unsigned)cr.uid, MAX_CLIENTS);
			close(fd);
			return;
		}
		rlog(&accept_log, "%d clients connected: disconnecting read-only client pid %d uid %u (idle longest) for client pid %d uid %u",
		     MAX_CLIENTS, (int)clients[v].pid, (unsigned)clients[v].uid,
		     (int)cr.pid, (unsigned)cr.uid);
		clients[v].drop = "evicted for a client that may change the maps";
		client_close(x, (unsigned)v);
	}
	c = &clients[n_clients++];
	memset(c, 0, sizeof(*c));
	c->id = ++last_id;
	c->fd = fd;
	c->uid = cr.uid;
	c->pid = cr.pid;
	c->may_write = may_write;
	c->last_ms = now_ms();
	if (c->may_write)
		xlog("client pid %d uid %u connected (may change the maps)",
		     (int)c->pid, (unsigned)c->uid);
	else   /* anyone may connect: a loop of them must not fill the log */
		rlog(&ro_log, "client pid %d uid %u connected (read-only)",
		     (int)c->pid, (unsigned)c->uid);
}

static void handle_msg(struct xdpd *x, struct client *c, size_t n)
{
	char err[512];
	uint32_t seq = rx.h.seq;
	const uint8_t *body = rx.b + sizeof(struct nwx_hdr);
	int code;

	code = xdpd_check_frame(rx.b, n, err, sizeof(err));
	if (code) {
		if (n >= sizeof(struct nwx_hdr)) {
			reply_err(c, seq, code, err);
			return;
		}
		rlog(&c->log, "client pid %d uid %u: %s", (int)c->pid,
		     (unsigned)c->uid, err);
		if (++c->bad_run >= MAX_BAD_RUN)
			c->drop = "too many bad messages in a row";
		return;
	}
	if (rx.h.type != NWX_MSG_HELLO && rx.h.type != NWX_MSG_STATS &&
	    !c->may_write) {
		snprintf(err, sizeof(err), "%s: uid %u may not change the maps",
			 xdpd_msg_name(rx.h.type), (unsigned)c->uid);
		reply_err(c, seq, NWX_E_PERM, err);
		return;
	}
	if (xdpd_owner_writes(rx.h.type) &&
	    (!ports_owned(c, seq, rx.b, n) || !claim_writer(x, c, seq)))
		return;
	switch (rx.h.type) {
	case NWX_MSG_HELLO: {
		struct nwx_hello h;
		struct nwx_hello_reply r = { 0 };

		memcpy(&h, body, sizeof(h));
		if (h.version != NWX_PROTO_VERSION) {
			snprintf(err, sizeof(err), "HELLO: protocol version %u, this helper speaks %d",
				 h.version, NWX_PROTO_VERSION);
			reply_err(c, seq, NWX_E_VERSION, err);
			return;
		}
		r.version = NWX_PROTO_VERSION;
		r.may_write = c->may_write;
		r.max_response = x->cfg.max_response;
		r.path_max = NWX_PATH_MAX;
		r.cache_entries = x->cfg.cache_entries;
		r.flow_entries = x->cfg.flow_entries;
		r.active_generation = x->active_gen;
		r.helper_pid = (uint32_t)getpid();
		r.owner_pid = x->owner.id ? (uint32_t)x->owner.pid : 0;
		r.features = NWX_FEAT_NOT_MODIFIED;
		send_msg(c, NWX_MSG_HELLO_REPLY, seq, &r, sizeof(r), NULL, 0);
		return;
	}
	case NWX_MSG_BEGIN: {
		struct nwx_begin b;
		unsigned copied = 0;

		memcpy(&b, body, sizeof(b));
		if ((b.flags & ~NWX_BEGIN_COPY_ACTIVE) || b.reserved) {
			reply_err(c, seq, NWX_E_INVAL, "BEGIN: unknown flags");
			return;
		}
		drop_staging(x, c);
		xdpd_gen_release_prev(x);
		c->staging = x->next_gen++;
		if (!x->next_gen)
			x->next_gen = 1;
		if ((b.flags & NWX_BEGIN_COPY_ACTIVE) && x->active_gen &&
		    xdpd_gen_copy(x, x->active_gen, c->staging, &copied)) {
			drop_staging(x, c);
			reply_err(c, seq, NWX_E_NOSPC, "BEGIN: copying the active generation failed");
			return;
		}
		c->staged = copied;
		reply_ok(c, seq, c->staging, copied);
		return;
	}
	case NWX_MSG_PUT: {
		struct xdpd_put p;
		int change = 0;

		code = xdpd_check_put(rx.b, n, x->cfg.max_response, &p, err, sizeof(err));
		if (!code && (!c->staging || p.put->generation != c->staging)) {
			snprintf(err, sizeof(err), "PUT: generation %u is not this connection's staging generation (%u)",
				 p.put->generation, c->staging);
			code = NWX_E_NOGEN;
		}
		/* a response already staged (BEGIN with COPY_ACTIVE, or a
		 * PUT again) is replaced in place: it needs no room */
		if (!code)
			code = xdpd_map_put(x, c->staging, p.put, p.path, p.resp,
					    p.tag, p.tag_len,
					    c->staged < x->cfg.cache_entries ?
						    x->cfg.cache_entries - c->staged : 0,
					    &change, err, sizeof(err));
		/* a failed PUT may have removed the response it was to replace */
		if (change < 0 && c->staged)
			c->staged--;
		if (code) {
			reply_err(c, seq, code, err);
			return;
		}
		c->staged += change > 0;
		reply_ok(c, seq, c->staging, 1);
		return;
	}
	case NWX_MSG_DELETE: {
		const struct nwx_delete *d;
		const char *path;
		unsigned removed = 0;

		code = xdpd_check_delete(rx.b, n, &d, &path, err, sizeof(err));
		if (!code && (!c->staging || d->generation != c->staging)) {
			snprintf(err, sizeof(err), "DELETE: generation %u is not this connection's staging generation (%u)",
				 d->generation, c->staging);
			code = NWX_E_NOGEN;
		}
		if (code) {
			reply_err(c, seq, code, err);
			return;
		}
		xdpd_map_delete(x, c->staging, path, d->path_len, d->method,
				d->encoding, &removed);
		c->staged = c->staged > removed ? c->staged - removed : 0;
		reply_ok(c, seq, c->staging, removed);
		return;
	}
	case NWX_MSG_COMMIT: {
		struct nwx_commit cm;
		uint32_t g;
		unsigned count = 0;

		memcpy(&cm, body, sizeof(cm));
		if (!c->staging || cm.generation != c->staging) {
			snprintf(err, sizeof(err), "COMMIT: generation %u is not this connection's staging generation (%u)",
				 cm.generation, c->staging);
			reply_err(c, seq, NWX_E_NOGEN, err);
			return;
		}
		g = c->staging;
		c->staging = 0;
		if (xdpd_gen_flip(x, g)) {
			reply_err(c, seq, NWX_E_INTERNAL, "COMMIT: cannot write the active generation");
			return;
		}
		xdpd_gen_count(x, g, &count);
		c->staged = 0;
		xlog("generation %u active: %u responses (client pid %d)", g, count,
		     (int)c->pid);
		reply_ok(c, seq, g, count);
		return;
	}
	case NWX_MSG_ABORT:
		drop_staging(x, c);
		reply_ok(c, seq, x->active_gen, 0);
		return;
	case NWX_MSG_SET_PORTS: {
		uint16_t ports[NWX_MAX_PORTS];
		unsigned cnt = 0;

		code = xdpd_check_ports(rx.b, n, ports, &cnt, err, sizeof(err));
		if (code) {
			reply_err(c, seq, code, err);
			return;
		}
		/* the new set first, then the old ports not in it: a port in
		 * both is served throughout (its flows are not handed off) */
		for (unsigned i = 0; i < cnt; i++) {
			bool had = false;

			for (unsigned j = 0; j < c->n_ports; j++)
				had |= c->ports[j] == ports[i];
			if (xdpd_port_set(x, ports[i], true)) {
				snprintf(err, sizeof(err), "SET_PORTS: port %u: %s",
					 ports[i], strerror(errno));
				/* roll back the ports this message added */
				for (unsigned k = 0; k < i; k++) {
					bool old = false;

					for (unsigned j = 0; j < c->n_ports; j++)
						old |= c->ports[j] == ports[k];
					if (!old)
						xdpd_port_set(x, ports[k], false);
				}
				reply_err(c, seq, NWX_E_INTERNAL, err);
				return;
			}
			if (!had)
				xlog("port %u: served (client pid %d)", ports[i],
				     (int)c->pid);
		}
		for (unsigned j = 0; j < c->n_ports; j++) {
			bool keep = false;

			for (unsigned i = 0; i < cnt; i++)
				keep |= c->ports[j] == ports[i];
			if (!keep) {
				xdpd_port_set(x, c->ports[j], false);
				xlog("port %u: no longer served", c->ports[j]);
			}
		}
		memcpy(c->ports, ports, cnt * sizeof(ports[0]));
		c->n_ports = cnt;
		xdpd_drop_adopted_ports(x, ports, cnt);
		reply_ok(c, seq, x->active_gen, cnt);
		return;
	}
	case NWX_MSG_STATS: {
		struct nwx_stats st;
		const char *over = NULL;
		int per_s = 0;

		/* reading the maps takes milliseconds: not for a loop. A
		 * peer that may write is trusted (nano-web reads its counters
		 * on its push connection). */
		if (!c->may_write) {
			if (!allow(&c->stats_tat, STATS_EVERY_MS, STATS_BURST))
				over = "on this connection", per_s = 1000 / STATS_EVERY_MS;
			else if (!allow(&ro_stats_tat, RO_STATS_EVERY_MS,
					RO_STATS_BURST))
				over = "from read-only peers",
				per_s = 1000 / RO_STATS_EVERY_MS;
		}
		if (over) {
			snprintf(err, sizeof(err),
				 "STATS: more than %d a second %s; retry later",
				 per_s, over);
			reply_err(c, seq, NWX_E_BUSY, err);
			return;
		}
		if (xdpd_bpf_stats(x, &st)) {
			reply_err(c, seq, NWX_E_INTERNAL, "STATS: cannot read the maps");
			return;
		}
		send_msg(c, NWX_MSG_STATS_REPLY, seq, &st, sizeof(st), NULL, 0);
		return;
	}
	}
}

void xdpd_sock_poll_fds(struct xdpd *x, struct pollfd *pfd, unsigned *n)
{
	(void)x;
	pfd[*n].fd = listen_fd;
	pfd[*n].events = POLLIN;
	(*n)++;
	for (unsigned i = 0; i < n_clients; i++) {
		pfd[*n].fd = clients[i].fd;
		pfd[*n].events = POLLIN;
		(*n)++;
	}
}

void xdpd_sock_handle(struct xdpd *x, struct pollfd *pfd, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		unsigned i;

		if (!pfd[k].revents)
			continue;
		if (pfd[k].fd == listen_fd) {
			xdpd_sock_accept(x);
			continue;
		}
		for (i = 0; i < n_clients; i++)
			if (clients[i].fd == pfd[k].fd)
				break;
		if (i == n_clients)
			continue;
		/* a few messages, then the next client and the main loop's
		 * tick: poll() comes back at once for what is left */
		for (unsigned m = 0; m < MSGS_PER_TURN; m++) {
			struct client *c = &clients[i];
			ssize_t r = recv(c->fd, rx.b, sizeof(rx.b),
					 MSG_DONTWAIT | MSG_TRUNC);

			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (r <= 0) {
				client_close(x, i);
				break;
			}
			c->last_ms = now_ms();
			if ((size_t)r > NWX_MSG_MAX) {
				struct nwx_hdr h;

				memcpy(&h, rx.b, sizeof(h));
				reply_err(c, h.seq, NWX_E_PROTO,
					  "message longer than NWX_MSG_MAX");
			} else {
				handle_msg(x, c, (size_t)r);
			}
			if (c->drop) {
				client_close(x, i);
				break;
			}
		}
	}
}

void xdpd_sock_close_all(struct xdpd *x)
{
	(void)x;
	for (unsigned i = 0; i < n_clients; i++)
		close(clients[i].fd);
	n_clients = 0;
	if (listen_fd >= 0) {
		close(listen_fd);
		listen_fd = -1;
		unlink(sock_path);
	}
}

/* `nanoweb-xdpd stats`: asks a running helper and prints its counters. */
int xdpd_stats_client(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct nwx_hdr h = { .len = sizeof(h), .type = NWX_MSG_STATS, .seq = 1 };
	uint8_t buf[1024];
	struct nwx_stats st;
	ssize_t r;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 1;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "nanoweb-xdpd: cannot connect to %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h) ||
	    (r = recv(fd, buf, sizeof(buf), 0)) < (ssize_t)sizeof(h)) {
		fprintf(stderr, "nanoweb-xdpd: no answer from %s\n", path);
		close(fd);
		return 1;
	}
	close(fd);
	memcpy(&h, buf, sizeof(h));
	if (h.type != NWX_MSG_STATS_REPLY ||
	    (size_t)r < sizeof(h) + sizeof(st)) {
		fprintf(stderr, "nanoweb-xdpd: unexpected reply type 0x%x\n", h.type);
		return 1;
	}
	memcpy(&st, buf + sizeof(h), sizeof(st));
#define P(f) printf("%-18s %llu\n", #f, (unsigned long long)st.f)
	P(hits); P(hit_bytes); P(handoffs); P(handoff_failed); P(syn_cookies);
	P(cookies_ok); P(invalid_dropped); P(retransmits); P(fins); P(rsts);
	P(passed); P(misses); P(cache_entries); P(cache_capacity); P(map_memory);
	P(flow_entries); P(flow_capacity); P(active_generation); P(ports);
	P(interfaces);
	P(multiseg); P(seg_retransmits); P(loss_probes);
	P(memo_hits); P(not_modified);
#undef P
	return 0;
}
