#include "reload.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | \
		    IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_ATTRIB | \
		    IN_MOVE_SELF)
#define MAX_DEPTH 64

struct nw_watch {
	int fd;
	char *root;
	size_t watches;
	bool root_watched; /* false: the root is gone (deleted, moved) */
};

static void add_tree(struct nw_watch *w, const char *dir, int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (depth > MAX_DEPTH)
		return;
	if (inotify_add_watch(w->fd, dir, WATCH_MASK | IN_ONLYDIR) < 0) {
		if (errno == ENOSPC)
			nw_warn("dev: inotify watch limit reached at %s "
				"(raise fs.inotify.max_user_watches)", dir);
		return;
	}
	w->watches++;
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' ||
		     (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >=
		    (int)sizeof path)
			continue;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			add_tree(w, path, depth + 1);
	}
	closedir(d);
}

bool nw_watch_rescan(struct nw_watch *w)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0) {
		nw_warn("dev: inotify: %s", strerror(errno));
		return false;
	}
	if (w->fd >= 0) {
		/* Keep the descriptor number stable for the caller's poll set. */
		dup3(fd, w->fd, O_CLOEXEC);
		close(fd);
	} else {
		w->fd = fd;
	}
	w->watches = 0;
	add_tree(w, w->root, 0);
	w->root_watched = w->watches > 0;
	nw_debug("dev: watching %zu directories under %s", w->watches, w->root);
	return true;
}

struct nw_watch *nw_watch_new(const char *root)
{
	struct nw_watch *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->fd = -1;
	w->root = strdup(root);
	if (!w->root || !nw_watch_rescan(w)) {
		nw_watch_free(w);
		return NULL;
	}
	return w;
}

bool nw_watch_root_watched(const struct nw_watch *w)
{
	return w->root_watched;
}

int nw_watch_fd(const struct nw_watch *w)
{
	return w->fd;
}

bool nw_watch_drain(struct nw_watch *w)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof buf)) > 0) {
		char *p = buf;

		while (p < buf + n) {
			struct inotify_event *ev = (struct inotify_event *)(void *)p;

			if (!(ev->mask & IN_IGNORED))
				changed = true;
			p += sizeof *ev + ev->len;
		}
	}
	return changed;
}

void nw_watch_free(struct nw_watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->root);
	free(w);
}
