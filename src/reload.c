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
#include "devtimer.h"
#include "log.h"

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | \
		    IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_ATTRIB | \
		    IN_MOVE_SELF)
#define MAX_DEPTH 64
#define MAX_WRITING 1024

/* A file written to and not closed yet: its directory's watch and name. */
struct writing {
	int wd;
	char *name;
};

struct nw_watch {
	int fd;
	char *root;        /* as configured: may be or pass through a symlink */
	char *resolved;    /* realpath(root) at the last rescan, or NULL */
	bool follow;       /* follow_symlinks: watch the directories links lead to */
	size_t watches;
	bool root_watched; /* false: the root is gone (deleted, moved) */
	struct writing *wr;
	size_t n_wr;
	struct dir_id { dev_t dev; ino_t ino; } *seen; /* directories watched by
					 * this scan (links may repeat them) */
	size_t n_seen, cap_seen;
};

/* Whether the directory st was watched already by this scan; notes it. */
static bool seen_before(struct nw_watch *w, const struct stat *st)
{
	for (size_t i = 0; i < w->n_seen; i++)
		if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino)
			return true;
	if (w->n_seen == w->cap_seen) {
		size_t cap = w->cap_seen ? w->cap_seen * 2 : 64;
		struct dir_id *n = realloc(w->seen, cap * sizeof *n);

		if (!n)
			return true; /* no memory: watch no more */
		w->seen = n;
		w->cap_seen = cap;
	}
	w->seen[w->n_seen].dev = st->st_dev;
	w->seen[w->n_seen++].ino = st->st_ino;
	return false;
}

static void add_tree(struct nw_watch *w, const char *dir, int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat dst;
	DIR *d;

	if (depth > MAX_DEPTH || stat(dir, &dst) != 0 || seen_before(w, &dst))
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
		if (lstat(path, &st) != 0)
			continue;
		/* a link to a directory: the snapshot serves it when it stays
		 * inside the root (watched there) or with follow_symlinks */
		if (S_ISDIR(st.st_mode) ||
		    (S_ISLNK(st.st_mode) && w->follow && stat(path, &st) == 0 &&
		     S_ISDIR(st.st_mode)))
			add_tree(w, path, depth + 1);
	}
	closedir(d);
}

/* Drops the files being written in watch wd (-1: all). */
static void forget_writing(struct nw_watch *w, int wd)
{
	size_t k = 0;

	for (size_t i = 0; i < w->n_wr; i++) {
		if (wd < 0 || w->wr[i].wd == wd)
			free(w->wr[i].name);
		else
			w->wr[k++] = w->wr[i];
	}
	w->n_wr = k;
}

static size_t find_writing(const struct nw_watch *w, int wd, const char *name)
{
	for (size_t i = 0; i < w->n_wr; i++)
		if (w->wr[i].wd == wd && strcmp(w->wr[i].name, name) == 0)
			return i;
	return SIZE_MAX;
}

static void note_writing(struct nw_watch *w, int wd, const char *name, bool on)
{
	size_t i = find_writing(w, wd, name);

	if (on && i == SIZE_MAX && w->n_wr < MAX_WRITING) {
		char *n = strdup(name);

		if (n) {
			w->wr[w->n_wr].wd = wd;
			w->wr[w->n_wr++].name = n;
		}
	} else if (!on && i != SIZE_MAX) {
		free(w->wr[i].name);
		w->wr[i] = w->wr[--w->n_wr];
	}
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
	w->n_seen = 0;
	forget_writing(w, -1);
	free(w->resolved);
	w->resolved = realpath(w->root, NULL);
	add_tree(w, w->root, 0);
	w->root_watched = w->watches > 0;
	nw_debug("dev: watching %zu directories under %s", w->watches, w->root);
	return true;
}

struct nw_watch *nw_watch_new(const char *root, bool follow_symlinks)
{
	struct nw_watch *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->fd = -1;
	w->follow = follow_symlinks;
	w->root = strdup(root);
	w->wr = calloc(MAX_WRITING, sizeof *w->wr);
	if (!w->root || !w->wr || !nw_watch_rescan(w)) {
		nw_watch_free(w);
		return NULL;
	}
	return w;
}

bool nw_watch_root_watched(const struct nw_watch *w)
{
	return w->root_watched;
}

bool nw_watch_root_moved(const struct nw_watch *w)
{
	char *now = realpath(w->root, NULL);
	bool moved = now && w->resolved && strcmp(now, w->resolved) != 0;

	free(now);
	return moved;
}

int nw_watch_fd(const struct nw_watch *w)
{
	return w->fd;
}

/* One event: a finished change, one in progress, or nothing to reload. */
static unsigned classify(struct nw_watch *w, const struct inotify_event *ev)
{
	const char *name = ev->len ? ev->name : "";

	if (ev->mask & IN_IGNORED) {
		forget_writing(w, ev->wd);
		return NW_CHANGE_NONE;
	}
	if (ev->mask & IN_ISDIR)
		return NW_CHANGE_DONE;
	if (ev->mask & (IN_MODIFY | IN_CREATE)) {
		/* a file being written: served once it is closed */
		note_writing(w, ev->wd, name, true);
		return NW_CHANGE_BUSY;
	}
	if (ev->mask & (IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM))
		note_writing(w, ev->wd, name, false);
	return NW_CHANGE_DONE;
}

unsigned nw_watch_drain(struct nw_watch *w)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	unsigned changes = NW_CHANGE_NONE;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof buf)) > 0) {
		char *p = buf;

		while (p < buf + n) {
			struct inotify_event *ev = (struct inotify_event *)(void *)p;

			changes |= classify(w, ev);
			p += sizeof *ev + ev->len;
		}
	}
	return changes;
}

bool nw_watch_writing(const struct nw_watch *w)
{
	return w->n_wr > 0;
}

void nw_watch_free(struct nw_watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->wr)
		forget_writing(w, -1);
	free(w->wr);
	free(w->seen);
	free(w->root);
	free(w->resolved);
	free(w);
}
