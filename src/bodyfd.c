#include "bodyfd.h"
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* memfds alive in the process, across the snapshots a reload keeps */
static atomic_size_t live;

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int nw_bodyfd_seal(const uint8_t **body, size_t len, size_t budget)
{
	void *map;
	int fd;

	if (!*body || len < NW_BODYFD_MIN)
		return -1;
	if (atomic_fetch_add(&live, 1) >= budget) {
		atomic_fetch_sub(&live, 1);
		return -1;
	}
	fd = memfd_create("nano-web body", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		goto fail;
	/* sealed against writes: what the ETag describes is what is sent */
	if (write_all(fd, *body, len) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
		  F_SEAL_WRITE | F_SEAL_SEAL) != 0)
		goto fail_fd;
	/* private: before Linux 6.7 a shared mapping of a write-sealed memfd
	 * is refused even read-only; never written, it shares the pages */
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		goto fail_fd;
	free((void *)*body);
	*body = map;
	return fd;
fail_fd:
	close(fd);
fail:
	atomic_fetch_sub(&live, 1);
	return -1;
}

void nw_bodyfd_release(const uint8_t *body, size_t len, int fd)
{
	munmap((void *)body, len);
	close(fd);
	atomic_fetch_sub(&live, 1);
}

size_t nw_bodyfd_budget(unsigned max_connections)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)max_connections + 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	if (rl.rlim_cur <= need)
		return 0;
	return (size_t)((rl.rlim_cur - need) / 4);
}
