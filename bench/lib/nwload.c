/*
 * nwload: a small HTTP/1.1 keep-alive load generator for the nano-web
 * benchmark. wrk and h2load both wait for a body after a HEAD response that
 * carries Content-Length, so they cannot load HEAD; nwload can, and it also
 * runs for sub-second durations (smoke mode). One thread, epoll, N
 * connections, one request in flight per connection.
 *
 *   nwload -c CONNS -d SECONDS [-m METHOD] [-H 'Name: value']... [-P pathfile]
 *          HOST PORT PATH
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

struct conn {
	int fd;
	int connecting;
	int hdr_done;
	int close_after;
	long body_left;
	uint64_t t_sent;
	size_t len;
	char buf[16384];
};

static struct sockaddr_in addr;
static char **reqs;
static size_t *reqlens;
static size_t nreqs, next_req;
static int is_head, req_close;
static uint64_t hist_fine[FINE], hist_coarse[COARSE + 1];
static uint64_t nresp, nbytes, lat_sum, lat_max;
static uint64_t e_connect, e_read, e_write, e_status, e_timeout;
static int ep;

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
	uint64_t want = (uint64_t)(q * (double)nresp), seen = 0;
	if (!nresp)
		return 0;
	for (size_t i = 0; i < FINE; i++)
		if ((seen += hist_fine[i]) > want)
			return i;
	for (size_t i = 0; i <= COARSE; i++)
		if ((seen += hist_coarse[i]) > want)
			return FINE + i * 1000;
	return lat_max;
}

static int send_req(struct conn *c)
{
	size_t i = next_req++ % nreqs;
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

int main(int argc, char **argv)
{
	int nconn = 8, opt;
	double dur = 1;
	const char *method = "GET", *pathfile = NULL;
	char hdrs[4096] = "";
	while ((opt = getopt(argc, argv, "c:d:m:H:P:")) != -1) {
		switch (opt) {
		case 'c': nconn = atoi(optarg); break;
		case 'd': dur = atof(optarg); break;
		case 'm': method = optarg; break;
		case 'P': pathfile = optarg; break;
		case 'H':
			if (!strncasecmp(optarg, "connection:", 11) && strcasestr(optarg, "close"))
				req_close = 1;
			if (strlen(hdrs) + strlen(optarg) + 3 < sizeof hdrs) {
				strcat(hdrs, optarg);
				strcat(hdrs, "\r\n");
			}
			break;
		default:
			fprintf(stderr, "usage: nwload -c N -d S [-m M] [-H h]... [-P file] HOST PORT PATH\n");
			return 2;
		}
	}
	if (argc - optind != 3 || nconn < 1)
		return 2;
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

	ep = epoll_create1(0);
	struct conn *cs = calloc((size_t)nconn, sizeof *cs);
	for (int i = 0; i < nconn; i++)
		open_conn(&cs[i]);
	uint64_t t0 = now_us(), stop = t0 + (uint64_t)(dur * 1e6);
	struct epoll_event evs[256];
	for (;;) {
		uint64_t t = now_us();
		if (t >= stop)
			break;
		int n = epoll_wait(ep, evs, 256, (int)((stop - t) / 1000) + 1);
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
			ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
			if (r <= 0) {
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				e_read++;
				drop(c);
				open_conn(c);
				continue;
			}
			c->len += (size_t)r;
			int done;
			while ((done = parse(c)) == 0 && c->len > 0 && c->hdr_done && c->body_left == 0)
				;
			if (done < 0) {
				e_read++;
				drop(c);
				open_conn(c);
				continue;
			}
			if (done == 1) {
				record(now_us() - c->t_sent);
				if (c->close_after) {
					drop(c);
					open_conn(c);
				} else if (send_req(c) < 0) {
					drop(c);
					open_conn(c);
				}
			}
		}
	}
	uint64_t elapsed = now_us() - t0;
	for (int i = 0; i < nconn; i++)
		if (cs[i].fd >= 0 && !cs[i].connecting)
			e_timeout += 0; /* in flight at the end: not counted, as wrk */
	printf("NWBENCH {\"requests\":%llu,\"duration_us\":%llu,\"bytes\":%llu,"
	       "\"errors\":{\"connect\":%llu,\"read\":%llu,\"write\":%llu,\"status\":%llu,\"timeout\":%llu},"
	       "\"lat_us\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"max\":%llu,\"mean\":%.1f}}\n",
	       (unsigned long long)nresp, (unsigned long long)elapsed, (unsigned long long)nbytes,
	       (unsigned long long)e_connect, (unsigned long long)e_read, (unsigned long long)e_write,
	       (unsigned long long)e_status, (unsigned long long)e_timeout,
	       (unsigned long long)pct(0.5), (unsigned long long)pct(0.9), (unsigned long long)pct(0.99),
	       (unsigned long long)lat_max, nresp ? (double)lat_sum / (double)nresp : 0.0);
	return 0;
}
