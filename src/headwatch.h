/*
 * What nano-web keeps per connection beside libmicrohttpd (its socket
 * context), and the thread that enforces [limits] header_timeout on them:
 * about once a second it looks at every connection waiting for a request
 * head or reading a body to drop (headclock.h) and ends those past the
 * deadline, with a 408 when part of a request came (RFC 9110 15.5.9), else
 * silently.
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
	_Atomic uint64_t taken;    /* bytes of the requests taken */
	_Atomic long body_ms;      /* when the body being read began */
	int fd;
	const struct sockaddr *addr; /* libmicrohttpd's, until the close */
	long accepted_ms;
	struct nw_conn *prev, *next;
};

/* deadline_s 0: no deadline (connections are not watched).
 * log_requests: a 408 gets an access log line. headers: header lines (each
 * ending in CRLF) a 408 carries, copied. NULL when out of memory or when
 * the thread cannot start. */
struct nw_headwatch *nw_headwatch_start(unsigned deadline_s,
					bool log_requests,
					const char *headers);
/* After libmicrohttpd has closed every connection. */
void nw_headwatch_stop(struct nw_headwatch *hw);
/* Connections ended by the deadline since the start. */
uint64_t nw_headwatch_expired(struct nw_headwatch *hw);

/* libmicrohttpd's connection notifications. NULL: out of memory. */
struct nw_conn *nw_conn_open(struct nw_headwatch *hw, int fd,
			     const struct sockaddr *addr);
void nw_conn_close(struct nw_headwatch *hw, struct nw_conn *c);

/* A whole head of head_bytes came: false when the deadline already ended
 * the connection (it must not be answered). body_bytes: a body that will
 * be read before the answer, and is timed too. */
bool nw_conn_head_taken(struct nw_conn *c, uint64_t head_bytes,
			uint64_t body_bytes);
/* That body has been read: false when the deadline ended the connection. */
bool nw_conn_body_read(struct nw_conn *c);
/* The answer is done: the next head's wait begins. */
void nw_conn_answered(struct nw_conn *c);

#endif
