/* Watching the served tree for changes (--dev): inotify on every directory. */
#ifndef NW_RELOAD_H
#define NW_RELOAD_H
#include <stdbool.h>

struct nw_watch;

/* Watches root and every directory below it. NULL on failure (logged). */
struct nw_watch *nw_watch_new(const char *root);
/* The descriptor to poll for readability. */
int nw_watch_fd(const struct nw_watch *w);
/* Reads pending events; true when something under the root changed. */
bool nw_watch_drain(struct nw_watch *w);
/* Re-reads the tree so that new directories are watched too. */
bool nw_watch_rescan(struct nw_watch *w);
/* False when the last rescan found no root to watch (deleted or moved
 * away, as `rm -rf dist && build` does): rescan again until it is back. */
bool nw_watch_root_watched(const struct nw_watch *w);
void nw_watch_free(struct nw_watch *w);

#endif
