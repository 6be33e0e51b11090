/* The --dev watcher (src/reload.c) on a real directory: what a write, a
 * close, a delete, a rename and a new directory report, and when a file
 * counts as still being written. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devtimer.h"
#include "reload.h"
#include "check.h"

static char root[] = "/tmp/nw-test-reload-XXXXXX";

/* Two buffers, used in turn: rename(at(a), at(b)) gets two paths. */
static const char *at(const char *name)
{
	static char path[2][256];
	static int k;

	k ^= 1;
	snprintf(path[k], sizeof path[k], "%s/%s", root, name);
	return path[k];
}

/* A file opened and written, not closed. */
static int open_written(const char *name)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	CHECK(write(fd, "x", 1) == 1);
	return fd;
}

static void test_write_then_close(struct nw_watch *w)
{
	int fd = open_written("a.txt");

	CHECK(nw_watch_drain(w) & NW_CHANGE_BUSY);
	CHECK(nw_watch_writing(w));
	/* more writes: still busy */
	CHECK(write(fd, "y", 1) == 1);
	CHECK(nw_watch_drain(w) & NW_CHANGE_BUSY);
	CHECK(nw_watch_writing(w));
	close(fd);
	CHECK(nw_watch_drain(w) & NW_CHANGE_DONE);
	CHECK(!nw_watch_writing(w));
	/* nothing happened since */
	CHECK_INT(nw_watch_drain(w), NW_CHANGE_NONE);
	CHECK(!nw_watch_writing(w));
}

static void test_two_writers(struct nw_watch *w)
{
	int a = open_written("a.txt"), b = open_written("b.txt");

	nw_watch_drain(w);
	CHECK(nw_watch_writing(w));
	close(a);
	nw_watch_drain(w);
	CHECK(nw_watch_writing(w)); /* b is still open */
	close(b);
	nw_watch_drain(w);
	CHECK(!nw_watch_writing(w));
}

static void test_deleted_or_moved_while_written(struct nw_watch *w)
{
	int fd = open_written("gone.txt");

	nw_watch_drain(w);
	CHECK(nw_watch_writing(w));
	CHECK(unlink(at("gone.txt")) == 0);
	CHECK(nw_watch_drain(w) & NW_CHANGE_DONE);
	CHECK(!nw_watch_writing(w)); /* no close will come for it here */
	close(fd);
	nw_watch_drain(w);

	fd = open_written("tmp.txt");
	nw_watch_drain(w);
	CHECK(nw_watch_writing(w));
	CHECK(rename(at("tmp.txt"), at("final.txt")) == 0);
	CHECK(nw_watch_drain(w) & NW_CHANGE_DONE);
	CHECK(!nw_watch_writing(w));
	close(fd); /* the close of final.txt: a change, no writer left */
	CHECK(nw_watch_drain(w) & NW_CHANGE_DONE);
	CHECK(!nw_watch_writing(w));
}

static void test_new_directory(struct nw_watch *w)
{
	CHECK(mkdir(at("sub"), 0755) == 0);
	CHECK(nw_watch_drain(w) & NW_CHANGE_DONE);
	CHECK(nw_watch_rescan(w));
	/* watched after the rescan: a write below it is seen */
	int fd = open_written("sub/c.txt");
	CHECK(nw_watch_drain(w) & NW_CHANGE_BUSY);
	CHECK(nw_watch_writing(w));
	close(fd);
	CHECK(nw_watch_drain(w) & NW_CHANGE_DONE);
	CHECK(!nw_watch_writing(w));
}

static void test_root_gone(struct nw_watch *w)
{
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
	nw_watch_drain(w);
	nw_watch_rescan(w);
	CHECK(!nw_watch_root_watched(w));
	CHECK(mkdir(root, 0755) == 0);
	nw_watch_rescan(w);
	CHECK(nw_watch_root_watched(w));
	int fd = open_written("back.txt");
	CHECK(nw_watch_drain(w) & NW_CHANGE_BUSY);
	close(fd);
	nw_watch_drain(w);
	CHECK(!nw_watch_writing(w));
}

int main(void)
{
	struct nw_watch *w;
	char cmd[300];

	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	w = nw_watch_new(root, false);
	CHECK(w != NULL);
	if (w) {
		CHECK(nw_watch_fd(w) >= 0);
		CHECK(nw_watch_root_watched(w));
		CHECK_INT(nw_watch_drain(w), NW_CHANGE_NONE);
		test_write_then_close(w);
		test_two_writers(w);
		test_deleted_or_moved_while_written(w);
		test_new_directory(w);
		test_root_gone(w);
		nw_watch_free(w);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return check_report();
}
