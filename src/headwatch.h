/*
 * What nano-web keeps per connection beside libmicrohttpd (its socket
 * context), and the thread that enforces [limits] header_timeout on them:
 * about once a second it looks at every connection waiting for a request
 * head (headclock.h) and ends those past the deadline, with a 408 when part
 * of a head came (RFC 9110 15.5.9), else silently.
 */
#ifndef NW_HEADWATCH_H
#define NW_HEADWATCH_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "query.h"

struct nw_headwatch;

struct nw_conn {
	struct nw_query query; /* of the request it reads (query.h) */
	/* private to headwatch.c */
	_Atomic unsigned state;
	int fd;
	const struct sockaddr *addr; /* libmicrohttpd's, until the close */
	long accepted_ms;
	struct nw_conn *prev, *next;
};

/* deadline_s 0: no deadline (connections are still tracked, cheaply).
 * log_requests: a 408 gets an access log line. NULL when out of memory or
 * when the thread cannot start. */
struct nw_headwatch *nw_headwatch_start(unsigned deadline_s,
					bool log_requests);
/* After libmicrohttpd has closed every connection. */
void nw_headwatch_stop(struct nw_headwatch *hw);
/* Heads that missed the deadline since the start. */
uint64_t nw_headwatch_expired(struct nw_headwatch *hw);

/* libmicrohttpd's connection notifications. NULL: out of memory. */
struct nw_conn *nw_conn_open(struct nw_headwatch *hw, int fd,
			     const struct sockaddr *addr);
void nw_conn_close(struct nw_headwatch *hw, struct nw_conn *c);

/* A request head was taken: false when the deadline already ended the
 * connection (it must not be answered). */
bool nw_conn_head_taken(struct nw_conn *c);
/* Its answer is done: the next head's wait begins. */
void nw_conn_answered(struct nw_conn *c);

#endif
