#include "headwatch.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "accesslog.h"
#include "headclock.h"
#include "log.h"
#include "monotime.h"

/* nw_conn.state: the requests completed, shifted, and a phase. The epoch
 * in the same word lets the watcher's compare-and-swap fail when the
 * connection moved on after it looked, even back to waiting. */
enum { PH_WAITING, PH_IN_REQUEST, PH_KILLED };
#define PHASE(v) ((v) & 3u)
#define EPOCH(v) ((v) >> 2)

struct nw_headwatch {
	pthread_mutex_t lock;  /* the list, stop */
	pthread_cond_t wake;
	struct nw_conn *head;
	bool stop, running, log_requests;
	pthread_t thread;
	long deadline_ms, tick_ms;
	atomic_ullong expired;
};

/* The clock lives beside the list entry, touched by the watcher only. */
struct conn_entry {
	struct nw_conn conn;
	struct nw_headclock clock;
};

#define BODY_408 "Request Timeout\n"
#define BODY_408_LEN (sizeof BODY_408 - 1)
static const char answer_408[] =
	"HTTP/1.1 408 Request Timeout\r\n"
	"Connection: close\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Length: 16\r\n"
	"\r\n" BODY_408;

static uint64_t bytes_received(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	memset(&ti, 0, sizeof ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 0;
	return ti.tcpi_bytes_received;
}

/* As nginx logs it: no request was read. */
static void log_408(const struct conn_entry *e, long now)
{
	char client[64];
	struct nw_access_entry a = {
		.method = "-",
		.path = "-",
		.status = 408,
		.bytes = BODY_408_LEN,
		.duration_ms = (double)(now - e->clock.since_ms),
		.client = client,
		.encoding = "identity",
	};

	nw_accesslog_client(e->conn.addr, client, sizeof client);
	nw_accesslog_write(&a);
}

/* Under hw->lock: libmicrohttpd reports a connection closed (and removes
 * it from the list) before it closes the descriptor, so fd is still this
 * connection's. */
static void check_one(struct nw_headwatch *hw, struct conn_entry *e,
		      long now)
{
	unsigned v = atomic_load(&e->conn.state);
	struct nw_head_obs obs = {
		.waiting = PHASE(v) == PH_WAITING,
		.epoch = EPOCH(v),
		.now_ms = now,
		.accepted_ms = e->conn.accepted_ms,
	};
	enum nw_head_verdict verdict;

	if (obs.waiting)
		obs.bytes = bytes_received(e->conn.fd);
	verdict = nw_headclock_step(&e->clock, &obs, hw->deadline_ms);
	if (verdict == NW_HEAD_OK)
		return;
	if (!atomic_compare_exchange_strong(&e->conn.state, &v,
					    (v & ~3u) | PH_KILLED))
		return;
	/* libmicrohttpd writes nothing while it waits for a head (it could
	 * only be about to refuse a malformed one, on a connection that ends
	 * anyway) */
	if (verdict == NW_HEAD_EXPIRED)
		(void)send(e->conn.fd, answer_408, sizeof answer_408 - 1,
			   MSG_NOSIGNAL | MSG_DONTWAIT);
	/* wakes libmicrohttpd, which reads the end and closes the connection */
	shutdown(e->conn.fd, SHUT_RDWR);
	atomic_fetch_add(&hw->expired, 1);
	if (hw->log_requests && verdict == NW_HEAD_EXPIRED)
		log_408(e, now);
	nw_debug("request head not received within the deadline: connection "
		 "closed%s", verdict == NW_HEAD_EXPIRED ? " with 408" : "");
}

static void *watch(void *arg)
{
	struct nw_headwatch *hw = arg;
	struct timespec until;

	pthread_mutex_lock(&hw->lock);
	while (!hw->stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += hw->tick_ms % 1000 * 1000000L;
		until.tv_sec += hw->tick_ms / 1000 + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		while (!hw->stop &&
		       pthread_cond_timedwait(&hw->wake, &hw->lock, &until) == 0)
			;
		if (hw->stop)
			break;
		long now = nw_mono_ms();

		for (struct nw_conn *c = hw->head; c; c = c->next)
			check_one(hw, (struct conn_entry *)c, now);
	}
	pthread_mutex_unlock(&hw->lock);
	return NULL;
}

struct nw_headwatch *nw_headwatch_start(unsigned deadline_s,
					bool log_requests)
{
	struct nw_headwatch *hw = calloc(1, sizeof *hw);
	pthread_condattr_t ca;

	if (!hw)
		return NULL;
	pthread_mutex_init(&hw->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hw->wake, &ca);
	pthread_condattr_destroy(&ca);
	hw->deadline_ms = (long)deadline_s * 1000;
	hw->log_requests = log_requests;
	/* an eighth of the deadline, within 0.1-1 s: a head is cut off at
	 * most one tick after its deadline (two, after a previous answer) */
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
			pthread_cond_destroy(&hw->wake);
			pthread_mutex_destroy(&hw->lock);
			free(hw);
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
	pthread_cond_destroy(&hw->wake);
	pthread_mutex_destroy(&hw->lock);
	free(hw);
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
	atomic_init(&c->state, PH_WAITING);
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
		if (c->prev)
			c->prev->next = c->next;
		else
			hw->head = c->next;
		if (c->next)
			c->next->prev = c->prev;
		pthread_mutex_unlock(&hw->lock);
	}
	nw_query_clear(&c->query);
	free(c);
}

bool nw_conn_head_taken(struct nw_conn *c)
{
	unsigned v = atomic_load_explicit(&c->state, memory_order_relaxed);

	do {
		if (PHASE(v) == PH_KILLED)
			return false;
	} while (!atomic_compare_exchange_weak(&c->state, &v,
					       (v & ~3u) | PH_IN_REQUEST));
	return true;
}

void nw_conn_answered(struct nw_conn *c)
{
	unsigned v = atomic_load_explicit(&c->state, memory_order_relaxed);

	do {
		if (PHASE(v) == PH_KILLED)
			return;
	} while (!atomic_compare_exchange_weak(&c->state, &v,
					       ((EPOCH(v) + 1) << 2) |
						       PH_WAITING));
}
