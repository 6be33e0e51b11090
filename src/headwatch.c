#include "headwatch.h"

#include <linux/bpf.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "accesslog.h"
#include "headclock.h"
#include "log.h"
#include "monotime.h"
#include "strbuf.h"

/* nw_conn.state: the requests completed (the epoch), shifted, and a phase.
 * The epoch in the same word makes the watcher's compare-and-swap fail when
 * the connection moved on after it looked, even back to the same phase. */
enum { PH_HEAD, PH_BUSY, PH_BODY, PH_KILLED };
#define PHASE(v) ((v) & 3u)
#define EPOCH(v) ((v) >> 2)
#define EPOCH_MAX (~0u >> 2)

/* The entry is libmicrohttpd's socket context: conn first, so that the
 * context pointer is the entry's. The clock is the watcher's alone. */
struct conn_entry {
	struct nw_conn conn;
	struct nw_headclock clock;
};

struct nw_headwatch {
	pthread_mutex_t lock; /* the list, current, stop */
	pthread_cond_t wake;  /* the watcher: stop */
	pthread_cond_t done;  /* nw_conn_close(): current moved on */
	struct nw_conn *head;
	/* the entry the watcher is looking at with the lock released: it
	 * stays in the list (and its descriptor open) until released */
	struct nw_conn *current;
	bool stop, running, log_requests;
	char *headers; /* of a 408 */
	pthread_t thread;
	long deadline_ms, tick_ms;
	atomic_ullong expired;
};

#define BODY_408 "Request Timeout\n"

/* What the kernel knows of the connection: the bytes received, and
 * whether the client has closed its side (CLOSE_WAIT, as numbered in the
 * kernel's tcp_states.h and linux/bpf.h). */
static void read_socket(int fd, struct nw_head_obs *obs)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	memset(&ti, 0, sizeof ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return;
	obs->bytes = ti.tcpi_bytes_received;
	obs->peer_closed = ti.tcpi_state == BPF_TCP_CLOSE_WAIT;
}

/* Whether all of a 408 went out. libmicrohttpd writes nothing while it
 * waits for a head or reads a body, unless it refuses a malformed head
 * itself: a 408 caught behind that is cut short, and not counted. */
static bool send_408(const struct nw_headwatch *hw, int fd)
{
	struct strbuf sb = STRBUF_INIT;
	char date[40];
	time_t now = time(NULL);
	struct tm tm;
	bool sent;

	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	sent = sb_printf(&sb,
			 "HTTP/1.1 408 Request Timeout\r\n"
			 "Date: %s\r\n"
			 "Connection: close\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "%s"
			 "Content-Length: %zu\r\n"
			 "\r\n" BODY_408,
			 date, hw->headers, sizeof BODY_408 - 1) &&
	       send(fd, sb.buf, sb.len, MSG_NOSIGNAL | MSG_DONTWAIT) ==
		       (ssize_t)sb.len;
	sb_free(&sb);
	return sent;
}

/* As nginx logs it: no request was read, or none the answer is to. */
static void log_408(const struct conn_entry *e, long now)
{
	char client[64];
	struct nw_access_entry a = {
		.method = "-",
		.path = "-",
		.status = 408,
		.bytes = sizeof BODY_408 - 1,
		.duration_ms = (double)(now - e->clock.since_ms),
		.client = client,
		.encoding = "identity",
	};

	nw_accesslog_client(e->conn.addr, client, sizeof client);
	nw_accesslog_write(&a);
}

/* Without hw->lock, but with e pinned as hw->current: libmicrohttpd
 * reports a connection closed (nw_conn_close(), which waits for the pin)
 * before it closes the descriptor, so fd is still this connection's. */
static void check_one(struct nw_headwatch *hw, struct conn_entry *e,
		      long now)
{
	struct nw_conn *c = &e->conn;
	unsigned v = atomic_load(&c->state);
	unsigned ph = PHASE(v);
	struct nw_head_obs obs = {
		.phase = ph == PH_HEAD ? NW_HP_HEAD :
			 ph == PH_BODY ? NW_HP_BODY : NW_HP_BUSY,
		.epoch = EPOCH(v),
		.now_ms = now,
		.accepted_ms = c->accepted_ms,
	};
	enum nw_head_verdict verdict;
	bool sent;

	if (ph == PH_KILLED)
		return;
	/* written before the state that shows them */
	obs.taken = atomic_load_explicit(&c->taken, memory_order_relaxed);
	if (ph == PH_HEAD)
		read_socket(c->fd, &obs);
	else if (ph == PH_BODY)
		obs.body_ms = atomic_load_explicit(&c->body_ms,
						   memory_order_relaxed);
	verdict = nw_headclock_step(&e->clock, &obs, hw->deadline_ms);
	if (verdict == NW_HEAD_OK)
		return;
	if (!atomic_compare_exchange_strong(&c->state, &v,
					    (v & ~3u) | PH_KILLED))
		return;
	if (verdict == NW_HEAD_PEER_GONE) {
		shutdown(c->fd, SHUT_RDWR);
		nw_debug("client closed its side while idle: connection closed");
		return;
	}
	if (ph == PH_BODY)
		e->clock.since_ms = obs.body_ms;
	sent = verdict == NW_HEAD_EXPIRED && send_408(hw, c->fd);
	/* wakes libmicrohttpd, which reads the end and closes the connection */
	shutdown(c->fd, SHUT_RDWR);
	atomic_fetch_add(&hw->expired, 1);
	if (sent && hw->log_requests)
		log_408(e, now);
	nw_debug("request not received within header_timeout: connection "
		 "closed%s", sent ? " with 408" : "");
}

static void sweep(struct nw_headwatch *hw)
{
	long now = nw_mono_ms();
	struct nw_conn *c = hw->head;

	while (c && !hw->stop) {
		hw->current = c;
		pthread_mutex_unlock(&hw->lock);
		check_one(hw, (struct conn_entry *)c, now);
		pthread_mutex_lock(&hw->lock);
		hw->current = NULL;
		pthread_cond_broadcast(&hw->done);
		c = c->next;
	}
}

static void *watch(void *arg)
{
	struct nw_headwatch *hw = arg;
	struct timespec until;

	pthread_mutex_lock(&hw->lock);
	while (!hw->stop) {
		until = nw_clock_after(CLOCK_MONOTONIC, hw->tick_ms);
		while (!hw->stop &&
		       pthread_cond_timedwait(&hw->wake, &hw->lock, &until) == 0)
			;
		if (!hw->stop)
			sweep(hw);
	}
	pthread_mutex_unlock(&hw->lock);
	return NULL;
}

static void destroy(struct nw_headwatch *hw)
{
	pthread_cond_destroy(&hw->done);
	pthread_cond_destroy(&hw->wake);
	pthread_mutex_destroy(&hw->lock);
	free(hw->headers);
	free(hw);
}

struct nw_headwatch *nw_headwatch_start(unsigned deadline_s,
					bool log_requests,
					const char *headers)
{
	struct nw_headwatch *hw = calloc(1, sizeof *hw);
	pthread_condattr_t ca;

	if (!hw)
		return NULL;
	hw->headers = strdup(headers ? headers : "");
	if (!hw->headers) {
		free(hw);
		return NULL;
	}
	pthread_mutex_init(&hw->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hw->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&hw->done, NULL);
	hw->deadline_ms = (long)deadline_s * 1000;
	hw->log_requests = log_requests;
	/* an eighth of the deadline, within 0.1-1 s: a request is cut off
	 * at most a tick after its deadline (two, when a later head's first
	 * byte is what starts it) */
	hw->tick_ms = hw->deadline_ms / 8;
	if (hw->tick_ms < 100)
		hw->tick_ms = 100;
	if (hw->tick_ms > 1000)
		hw->tick_ms = 1000;
	if (deadline_s) {
		int rc = pthread_create(&hw->thread, NULL, watch, hw);

		if (rc != 0) {
			nw_error("cannot start the header_timeout thread: %s",
				 strerror(rc));
			destroy(hw);
			return NULL;
		}
		hw->running = true;
	}
	return hw;
}

void nw_headwatch_stop(struct nw_headwatch *hw)
{
	if (!hw)
		return;
	if (hw->running) {
		pthread_mutex_lock(&hw->lock);
		hw->stop = true;
		pthread_cond_signal(&hw->wake);
		pthread_mutex_unlock(&hw->lock);
		pthread_join(hw->thread, NULL);
	}
	destroy(hw);
}

uint64_t nw_headwatch_expired(struct nw_headwatch *hw)
{
	return hw ? atomic_load(&hw->expired) : 0;
}

struct nw_conn *nw_conn_open(struct nw_headwatch *hw, int fd,
			     const struct sockaddr *addr)
{
	struct conn_entry *e = calloc(1, sizeof *e);
	struct nw_conn *c;

	if (!e)
		return NULL;
	c = &e->conn;
	c->fd = fd;
	c->addr = addr;
	atomic_init(&c->state, PH_HEAD);
	if (hw && hw->running) {
		c->accepted_ms = nw_mono_ms();
		pthread_mutex_lock(&hw->lock);
		c->next = hw->head;
		if (hw->head)
			hw->head->prev = c;
		hw->head = c;
		pthread_mutex_unlock(&hw->lock);
	}
	return c;
}

void nw_conn_close(struct nw_headwatch *hw, struct nw_conn *c)
{
	if (!c)
		return;
	if (hw && hw->running) {
		pthread_mutex_lock(&hw->lock);
		while (hw->current == c)
			pthread_cond_wait(&hw->done, &hw->lock);
		if (c->prev)
			c->prev->next = c->next;
		else
			hw->head = c->next;
		if (c->next)
			c->next->prev = c->prev;
		pthread_mutex_unlock(&hw->lock);
	}
	nw_query_clear(&c->query);
	free((struct conn_entry *)c);
}

/* Moves c to phase to (keeping its epoch, or starting the next one);
 * false if the deadline ended it first. */
static bool move(struct nw_conn *c, unsigned to, bool next)
{
	unsigned v = atomic_load_explicit(&c->state, memory_order_relaxed);
	unsigned epoch;

	do {
		if (PHASE(v) == PH_KILLED)
			return false;
		epoch = EPOCH(v);
		if (next)
			/* 0 marks the first request, timed from the accept */
			epoch = epoch == EPOCH_MAX ? 1 : epoch + 1;
	} while (!atomic_compare_exchange_weak(&c->state, &v,
					       epoch << 2 | to));
	return true;
}

bool nw_conn_head_taken(struct nw_conn *c, uint64_t head_bytes,
			uint64_t body_bytes)
{
	/* one writer (the thread serving the connection); the watcher reads
	 * them after the state that the compare-and-swap below publishes */
	atomic_store_explicit(&c->taken,
			      atomic_load_explicit(&c->taken,
						   memory_order_relaxed) +
				      head_bytes + body_bytes,
			      memory_order_relaxed);
	if (body_bytes)
		atomic_store_explicit(&c->body_ms, nw_mono_coarse_ms(),
				      memory_order_relaxed);
	return move(c, body_bytes ? PH_BODY : PH_BUSY, false);
}

bool nw_conn_body_read(struct nw_conn *c)
{
	unsigned ph = PHASE(atomic_load_explicit(&c->state,
						 memory_order_relaxed));

	if (ph != PH_BODY)
		return ph != PH_KILLED;
	return move(c, PH_BUSY, false);
}

void nw_conn_answered(struct nw_conn *c)
{
	move(c, PH_HEAD, true);
}
