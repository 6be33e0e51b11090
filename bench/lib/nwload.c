/*
 * nwload: a small HTTP/1.1 keep-alive load generator for the nano-web
 * benchmark. wrk and h2load both wait for a body after a HEAD response that
 * carries Content-Length, so they cannot load HEAD; nwload can, and it also
 * runs for sub-second durations (smoke mode). T threads (default 1), each
 * with its own epoll and its share of the N connections, one request in
 * flight per connection.
 *
 *   nwload -c CONNS -d SECONDS [-t THREADS] [-m METHOD] [-H 'Name: value']...
 *          [-P pathfile [-S]] HOST PORT PATH
 *
 * -P cycles through the paths in the file; with -S each connection instead
 * asks for them in order, as a browser's first visit loads a page and its
 * assets over one new connection, and then resets it (SO_LINGER 0), so
 * that neither side keeps a TIME_WAIT: at tens of thousands of connections
 * a second the client's ports come round again within seconds, and meet
 * either its own TIME_WAITs (connect() slows down as they fill the range)
 * or the server's (where the kernel path leaves such a SYN to the kernel,
 * which would slow down whatever scenario follows). With
 * -H 'Connection: close' (or an answer that says close) a connection waits
 * for the server's FIN before it closes, as the server said it would close
 * first: so the TIME_WAIT stays at the server, not among the client's ports.
 *
 * Prints one line: NWBENCH {"requests":..,"duration_us":..,"bytes":..,
 * "errors":{..},"lat_us":{"p50":..,"p90":..,"p99":..,"max":..,"mean":..}}
 * (the same as bench/lib/wrk.lua). Status >= 400 counts as a status error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FINE 100000 /* 1 us buckets up to 100 ms */
#define COARSE 10000 /* then 1 ms buckets up to 10 s */
#define SINK_SIZE (256 * 1024) /* the rest of a large body is read into it */
#define DRAIN_US 1000000 /* longest wait for the FIN after a "close" answer */

struct conn {
	int fd;
	int connecting;
	int hdr_done;
	int close_after;
	int draining;    /* answered "close": waits for the server's FIN */
	uint64_t t_drain; /* since when (a FIN later than DRAIN_US: timeout) */
	size_t next;     /* -S: index of its next path */
	long body_left;
	uint64_t t_sent;
	size_t len;
	char buf[16384];
};

/* read-only once the threads run */
static struct sockaddr_in addr;
static char **reqs;
static size_t *reqlens;
static size_t nreqs;
static int is_head, req_close, per_conn;
static uint64_t t0, stop;

/* each thread's own; added into the totals below when it ends */
static __thread size_t next_req;
static __thread uint64_t hist_fine[FINE], hist_coarse[COARSE + 1];
static __thread uint64_t nresp, nbytes, lat_sum, lat_max;
static __thread uint64_t e_connect, e_read, e_write, e_status, e_timeout;
static __thread size_t draining_n; /* connections waiting for a FIN */
static __thread int ep;

static pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t tot_fine[FINE], tot_coarse[COARSE + 1];
static uint64_t tot_resp, tot_bytes, tot_lat_sum, tot_lat_max;
static uint64_t tot_connect, tot_read, tot_write, tot_status, tot_timeout;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void record(uint64_t us)
{
	if (us < FINE)
		hist_fine[us]++;
	else
		hist_coarse[(us - FINE) / 1000 < COARSE ? (us - FINE) / 1000 : COARSE]++;
	lat_sum += us;
	if (us > lat_max)
		lat_max = us;
	nresp++;
}

static uint64_t pct(double q)
{
	uint64_t want = (uint64_t)(q * (double)tot_resp), seen = 0;
	if (!tot_resp)
		return 0;
	for (size_t i = 0; i < FINE; i++)
		if ((seen += tot_fine[i]) > want)
			return i;
	for (size_t i = 0; i <= COARSE; i++)
		if ((seen += tot_coarse[i]) > want)
			return FINE + i * 1000;
	return tot_lat_max;
}

static void add_to_totals(void)
{
	pthread_mutex_lock(&total_lock);
	for (size_t i = 0; i < FINE; i++)
		tot_fine[i] += hist_fine[i];
	for (size_t i = 0; i <= COARSE; i++)
		tot_coarse[i] += hist_coarse[i];
	tot_resp += nresp;
	tot_bytes += nbytes;
	tot_lat_sum += lat_sum;
	if (lat_max > tot_lat_max)
		tot_lat_max = lat_max;
	tot_connect += e_connect;
	tot_read += e_read;
	tot_write += e_write;
	tot_status += e_status;
	tot_timeout += e_timeout;
	pthread_mutex_unlock(&total_lock);
}

static int send_req(struct conn *c)
{
	size_t i = per_conn ? c->next++ : next_req++ % nreqs;
	ssize_t n = send(c->fd, reqs[i], reqlens[i], MSG_NOSIGNAL);
	if (n != (ssize_t)reqlens[i]) {
		e_write++;
		return -1;
	}
	c->t_sent = now_us();
	c->hdr_done = 0;
	c->len = 0;
	return 0;
}

static void open_conn(struct conn *c)
{
	struct epoll_event ev = { 0 };
	int one = 1;
	c->next = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		e_connect++;
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->connecting = 1;
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
		e_connect++;
		close(c->fd);
		c->fd = -1;
		return;
	}
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void drop(struct conn *c)
{
	if (c->draining)
		draining_n--;
	c->draining = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Consumes what is in c->buf; returns 1 when a response completed. */
static int parse(struct conn *c)
{
	if (!c->hdr_done) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (!end)
			return c->len == sizeof c->buf ? -1 : 0;
		size_t hlen = (size_t)(end - c->buf) + 4;
		if (c->len < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0)
			return -1;
		int status = atoi(c->buf + 9);
		long cl = 0;
		c->close_after = req_close || c->buf[7] == '0';
		for (char *p = memchr(c->buf, '\n', hlen); p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
			p++;
			if (!strncasecmp(p, "content-length:", 15))
				cl = atol(p + 15);
			else if (!strncasecmp(p, "connection:", 11)) {
				char *v = p + 11;
				while (*v == ' ')
					v++;
				if (!strncasecmp(v, "close", 5))
					c->close_after = 1;
				else if (!strncasecmp(v, "keep-alive", 10))
					c->close_after = req_close;
			} else if (!strncasecmp(p, "transfer-encoding:", 18))
				return -1; /* static files: never chunked here */
		}
		if (status >= 400)
			e_status++;
		c->body_left = (is_head || status == 304 || status == 204 || status < 200) ? 0 : cl;
		c->hdr_done = 1;
		nbytes += hlen;
		memmove(c->buf, c->buf + hlen, c->len - hlen);
		c->len -= hlen;
	}
	size_t take = c->len < (size_t)c->body_left ? c->len : (size_t)c->body_left;
	c->body_left -= (long)take;
	nbytes += take;
	memmove(c->buf, c->buf + take, c->len - take);
	c->len -= take;
	return c->body_left == 0;
}

struct share {
	size_t index, nconn;
};

/* One thread: its connections, until `stop`. */
static void *run(void *arg)
{
	struct share *sh = arg;
	struct conn *cs = calloc(sh->nconn, sizeof *cs);

	if (!cs)
		return NULL;
	char *sink = malloc(SINK_SIZE);

	if (!sink) {
		free(cs);
		return NULL;
	}
	next_req = sh->index;
	ep = epoll_create1(0);
	for (size_t i = 0; i < sh->nconn; i++)
		open_conn(&cs[i]);
	struct epoll_event evs[256];
	uint64_t next_scan = 0; /* for FINs that do not come */
	for (;;) {
		uint64_t t = now_us();
		if (t >= stop)
			break;
		int wait_ms = (int)((stop - t) / 1000) + 1;
		if (draining_n && wait_ms > 100)
			wait_ms = 100; /* to see FINs that do not come */
		int n = epoll_wait(ep, evs, 256, wait_ms);
		if (draining_n && (t = now_us()) >= next_scan) {
			/* every 100 ms, not on every wakeup of a busy loop */
			next_scan = t + 100000;
			for (size_t k = 0; k < sh->nconn; k++)
				if (cs[k].fd >= 0 && cs[k].draining &&
				    t - cs[k].t_drain > DRAIN_US) {
					e_timeout++;
					drop(&cs[k]);
					open_conn(&cs[k]);
				}
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->fd < 0)
				continue;
			if (c->connecting) {
				int err = 0;
				socklen_t l = sizeof err;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
				if (err) {
					e_connect++;
					drop(c);
					open_conn(c);
					continue;
				}
				c->connecting = 0;
				struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				if (send_req(c) < 0) {
					drop(c);
					open_conn(c);
				}
				continue;
			}
			if (c->draining) {
				ssize_t r = recv(c->fd, sink, SINK_SIZE, 0);
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (r > 0)
					e_read++; /* bytes after a complete answer */
				drop(c);
				open_conn(c);
				continue;
			}
			/* the rest of a large body: straight into the sink,
			 * as much as the socket has (a 16 KB read per wakeup
			 * made the client, not the server, the limit) */
			int in_body = c->hdr_done && c->body_left > 0 && c->len == 0;
			ssize_t r = in_body
				? recv(c->fd, sink, (size_t)c->body_left < SINK_SIZE ? (size_t)c->body_left : SINK_SIZE, 0)
				: recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
			if (r <= 0) {
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				e_read++;
				drop(c);
				open_conn(c);
				continue;
			}
			int done;
			if (in_body) {
				c->body_left -= r;
				nbytes += (uint64_t)r;
				done = c->body_left == 0;
			} else {
				c->len += (size_t)r;
				while ((done = parse(c)) == 0 && c->len > 0 && c->hdr_done && c->body_left == 0)
					;
			}
			if (done < 0) {
				e_read++;
				drop(c);
				open_conn(c);
				continue;
			}
			if (done == 1) {
				record(now_us() - c->t_sent);
				if (per_conn && c->next == nreqs) {
					struct linger rst = { 1, 0 };

					setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
					drop(c);
					open_conn(c);
				} else if (c->close_after) {
					/* the server closes first, as it said it
					 * would: closing before its FIN arrives left
					 * the TIME_WAIT here, and a few seconds of
					 * them exhaust the ports towards that server
					 * (connect() then crawls, in this scenario
					 * and in the next one against that server) */
					c->draining = 1;
					c->t_drain = now_us();
					draining_n++;
				} else if (send_req(c) < 0) {
					drop(c);
					open_conn(c);
				}
			}
		}
	}
	add_to_totals();
	for (size_t i = 0; i < sh->nconn; i++)
		drop(&cs[i]);
	close(ep);
	free(cs);
	free(sink);
	return NULL;
}

int main(int argc, char **argv)
{
	int nconn = 8, nthreads = 1, opt;
	double dur = 1;
	const char *method = "GET", *pathfile = NULL;
	char hdrs[4096] = "";
	while ((opt = getopt(argc, argv, "c:d:t:m:H:P:S")) != -1) {
		switch (opt) {
		case 'c': nconn = atoi(optarg); break;
		case 'd': dur = atof(optarg); break;
		case 't': nthreads = atoi(optarg); break;
		case 'm': method = optarg; break;
		case 'P': pathfile = optarg; break;
		case 'S': per_conn = 1; break;
		case 'H':
			if (!strncasecmp(optarg, "connection:", 11) && strcasestr(optarg, "close"))
				req_close = 1;
			if (strlen(hdrs) + strlen(optarg) + 3 < sizeof hdrs) {
				strcat(hdrs, optarg);
				strcat(hdrs, "\r\n");
			}
			break;
		default:
			fprintf(stderr, "usage: nwload -c N -d S [-t T] [-m M] [-H h]... [-P file [-S]] HOST PORT PATH\n");
			return 2;
		}
	}
	if (argc - optind != 3 || nconn < 1 || nthreads < 1 || nthreads > 64 ||
	    (per_conn && !pathfile))
		return 2;
	if (nthreads > nconn)
		nthreads = nconn;
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &addr.sin_addr) != 1)
		return 2;
	is_head = !strcasecmp(method, "HEAD");

	char **paths = &argv[optind + 2];
	size_t npaths = 1;
	if (pathfile) {
		FILE *f = fopen(pathfile, "r");
		char line[1024];
		size_t cap = 0;
		if (!f)
			return 2;
		paths = NULL;
		npaths = 0;
		while (fgets(line, sizeof line, f)) {
			line[strcspn(line, "\r\n")] = 0;
			if (!*line)
				continue;
			if (npaths == cap) {
				cap = cap ? cap * 2 : 1024;
				paths = realloc(paths, cap * sizeof *paths);
			}
			paths[npaths++] = strdup(line);
		}
		fclose(f);
		if (!npaths)
			return 2;
	}
	nreqs = npaths;
	reqs = calloc(nreqs, sizeof *reqs);
	reqlens = calloc(nreqs, sizeof *reqlens);
	for (size_t i = 0; i < nreqs; i++) {
		int n = asprintf(&reqs[i], "%s %s HTTP/1.1\r\nHost: %s:%s\r\n%s\r\n", method, paths[i],
				 argv[optind], argv[optind + 1], hdrs);
		if (n < 0)
			return 1;
		reqlens[i] = (size_t)n;
	}

	pthread_t tid[64];
	struct share shares[64];
	t0 = now_us();
	stop = t0 + (uint64_t)(dur * 1e6);
	for (int i = 0; i < nthreads; i++) {
		struct share *sh = &shares[i];

		sh->index = (size_t)i;
		sh->nconn = nconn / nthreads + (i < nconn % nthreads);
		if (pthread_create(&tid[i], NULL, run, sh)) {
			fprintf(stderr, "nwload: cannot start thread %d\n", i);
			return 1;
		}
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	uint64_t elapsed = now_us() - t0;
	printf("NWBENCH {\"requests\":%llu,\"duration_us\":%llu,\"bytes\":%llu,"
	       "\"errors\":{\"connect\":%llu,\"read\":%llu,\"write\":%llu,\"status\":%llu,\"timeout\":%llu},"
	       "\"lat_us\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"max\":%llu,\"mean\":%.1f}}\n",
	       (unsigned long long)tot_resp, (unsigned long long)elapsed, (unsigned long long)tot_bytes,
	       (unsigned long long)tot_connect, (unsigned long long)tot_read, (unsigned long long)tot_write,
	       /* timeout: a FIN that did not come (in flight at the end: not counted, as wrk) */
	       (unsigned long long)tot_status, (unsigned long long)tot_timeout,
	       (unsigned long long)pct(0.5), (unsigned long long)pct(0.9), (unsigned long long)pct(0.99),
	       (unsigned long long)tot_lat_max, tot_resp ? (double)tot_lat_sum / (double)tot_resp : 0.0);
	return 0;
}
