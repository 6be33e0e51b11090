/* The access log: one line per request, console or JSON. */
#ifndef NW_ACCESSLOG_H
#define NW_ACCESSLOG_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "config.h"

struct nw_access_entry {
	const char *method;
	const char *path;     /* raw request path */
	unsigned status;
	uint64_t bytes;       /* body bytes of the response */
	double duration_ms;
	const char *client;   /* address text */
	const char *encoding; /* "identity", "br", ... */
};

/* The client address as a line shows it (an IPv4-mapped one as IPv4);
 * "-" when sa is NULL. */
void nw_accesslog_client(const struct sockaddr *sa, char *text, size_t len);

/* Opens the log (cfg->access_log: NULL, "" or "-" means stdout). */
bool nw_accesslog_open(const struct nw_config *cfg, char *err, size_t errlen);
void nw_accesslog_write(const struct nw_access_entry *e);
/* Writes out buffered lines; the main loop calls it about once a second. */
void nw_accesslog_flush(void);
/* Opens the log file again (after logrotate moved it). On failure the old
 * file stays in use and false is returned with err set. */
bool nw_accesslog_reopen(char *err, size_t errlen);
void nw_accesslog_close(void);

#endif
