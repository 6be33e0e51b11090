/* The HTTP server: libmicrohttpd daemon, request routing, snapshot swap. */
#ifndef NW_SERVER_H
#define NW_SERVER_H
#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "snapshot.h"

struct nw_server;
struct nw_xdp_client;

/* Creates the listening socket (before privileges are dropped). */
struct nw_server *nw_server_new(const struct nw_config *cfg, char *err,
				size_t errlen);
/* The port actually bound (useful with port 0). */
uint16_t nw_server_port(const struct nw_server *srv);
/* "http://[::]:3000" style address for the start-up line. */
const char *nw_server_url(const struct nw_server *srv);
/* Starts the daemon threads; snapshot s becomes current (ref taken over). */
bool nw_server_start(struct nw_server *srv, struct nw_snapshot *s,
		     unsigned threads, char *err, size_t errlen);
/* Makes s, a reload's result, current and records the reload as
 * successful in the same step (/_health never reports an earlier failure
 * while s is served: freeing the old snapshot may take milliseconds); the
 * old snapshot is released when its last request ends. */
void nw_server_swap(struct nw_server *srv, struct nw_snapshot *s);
/* Current snapshot with a reference held (caller unrefs). */
struct nw_snapshot *nw_server_current(struct nw_server *srv);
/* Records a reload that failed for /_health (nw_server_swap records
 * one that succeeded). */
void nw_server_note_failed_reload(struct nw_server *srv);
void nw_server_set_xdp(struct nw_server *srv, struct nw_xdp_client *xdp);
/* Stops accepting, waits for in-flight requests (up to grace_ms, or until
 * a SIGTERM or SIGINT arrives on signal_fd, a signalfd, when >= 0), stops. */
void nw_server_shutdown(struct nw_server *srv, unsigned grace_ms, int signal_fd);
void nw_server_free(struct nw_server *srv);

#endif
