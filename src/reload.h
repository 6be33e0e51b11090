/* Watching the served tree for changes (--dev): inotify on every directory. */
#ifndef NW_RELOAD_H
#define NW_RELOAD_H
#include <stdbool.h>

struct nw_watch;

/* Watches root and every directory below it (and, with follow_symlinks,
 * those its links lead to). NULL on failure (logged). */
struct nw_watch *nw_watch_new(const char *root, bool follow_symlinks);
/* The descriptor to poll for readability. */
int nw_watch_fd(const struct nw_watch *w);
/* Reads pending events: NW_CHANGE_* bits (devtimer.h) of what changed
 * under the root: a change finished, or a file still being written. */
unsigned nw_watch_drain(struct nw_watch *w);
/* True while a file written to has not been closed (or deleted) since. */
bool nw_watch_writing(const struct nw_watch *w);
/* Re-reads the tree so that new directories are watched too. */
bool nw_watch_rescan(struct nw_watch *w);
/* False when the last rescan found no root to watch (deleted or moved
 * away, as `rm -rf dist && build` does): rescan again until it is back. */
bool nw_watch_root_watched(const struct nw_watch *w);
/* True when root, as given, now leads to another directory than the one
 * the last rescan watched (a symlink in it re-pointed, as a deploy that
 * swaps `current -> releases/vN` does; inotify watches the directory a
 * link led to, so no event says so): rescan and reload. */
bool nw_watch_root_moved(const struct nw_watch *w);
void nw_watch_free(struct nw_watch *w);

#endif
