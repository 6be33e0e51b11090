#include "bodyfd.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

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

int nw_bodyfd_seal(const uint8_t **body, size_t len)
{
	void *map;
	int fd;

	if (!*body || len < NW_BODYFD_MIN)
		return -1;
	fd = memfd_create("nano-web body", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	/* sealed against writes: what the ETag describes is what is sent */
	if (write_all(fd, *body, len) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
		  F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
		close(fd);
		return -1;
	}
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		close(fd);
		return -1;
	}
	free((void *)*body);
	*body = map;
	return fd;
}

void nw_bodyfd_release(const uint8_t *body, size_t len, int fd)
{
	munmap((void *)body, len);
	close(fd);
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
