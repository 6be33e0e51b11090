/*
 * Dev load generator: one new TCP connection per request. Each of T threads
 * loops: connect, send one HTTP/1.1 GET, read the whole response (status
 * 200, Content-Length body), close (the client sends the first FIN). Prints
 * requests per second over the run and the errors.
 *
 *   connload HOST[,HOST...] PORT PATH THREADS SECONDS [SRC,SRC...]
 *
 * SRC: local addresses to bind to, round-robin per connection (the client
 * closes first and keeps TIME_WAIT: spread the 4-tuples over several
 * source addresses for long runs).
 *
 * cc -O2 -pthread -o connload connload.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SRC 32

static struct sockaddr_in dst;
static struct in_addr src[MAX_SRC];
static unsigned n_src;
static char req[512];
static size_t req_len;
static atomic_ulong done, errors;
static atomic_uint src_rr;
static volatile int stop;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one(void)
{
	char buf[8192];
	size_t have = 0, need = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one_ = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_));
	if (n_src) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
			.sin_addr = src[atomic_fetch_add(&src_rr, 1) % n_src] };

		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one_, sizeof(one_));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
			goto fail;
	}
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) ||
	    send(fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len)
		goto fail;
	for (;;) {
		ssize_t r = recv(fd, buf + have, sizeof(buf) - have, 0);
		char *eoh;

		if (r <= 0)
			goto fail;
		have += (size_t)r;
		if (!need && (eoh = memmem(buf, have, "\r\n\r\n", 4))) {
			char *cl = memmem(buf, (size_t)(eoh - buf), "\r\nContent-Length:", 17);

			if (have < 12 || memcmp(buf + 9, "200", 3) || !cl)
				goto fail;
			need = (size_t)(eoh + 4 - buf) + strtoul(cl + 17, NULL, 10);
		}
		if (need && have >= need)
			break;
		if (have == sizeof(buf))
			goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

static void *worker(void *arg)
{
	(void)arg;
	while (!stop) {
		if (one())
			atomic_fetch_add(&errors, 1);
		else
			atomic_fetch_add(&done, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned threads;
	double secs, t0, t1;
	pthread_t th[256];
	char *list, *tok, *save = NULL;

	if (argc < 6) {
		fprintf(stderr, "usage: connload HOST PORT PATH THREADS SECONDS [SRC,SRC...]\n");
		return 2;
	}
	dst.sin_family = AF_INET;
	dst.sin_port = htons((unsigned short)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1)
		return 2;
	req_len = (size_t)snprintf(req, sizeof(req),
				   "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n\r\n",
				   argv[3], argv[1]);
	threads = (unsigned)atoi(argv[4]);
	if (threads < 1 || threads > 256)
		return 2;
	secs = atof(argv[5]);
	if (argc > 6) {
		list = strdup(argv[6]);
		for (tok = strtok_r(list, ",", &save); tok && n_src < MAX_SRC;
		     tok = strtok_r(NULL, ",", &save))
			if (inet_pton(AF_INET, tok, &src[n_src]) == 1)
				n_src++;
	}
	t0 = now();
	for (unsigned i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	while (now() - t0 < secs)
		usleep(10000);
	stop = 1;
	t1 = now();
	for (unsigned i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	printf("requests %lu errors %lu seconds %.2f rps %.0f\n",
	       (unsigned long)done, (unsigned long)errors, t1 - t0,
	       (double)done / (t1 - t0));
	return 0;
}
