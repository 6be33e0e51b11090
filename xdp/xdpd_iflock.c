/* nanoweb-xdpd: per-interface locks (see xdpd_iflock.h). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "xdpd_iflock.h"

int xdpd_iflock(int ifindex)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int n, err;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	/* sun_path[0] = 0: an abstract name */
	n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1,
		     "nanoweb-xdpd/iface/%d", ifindex);
	if (bind(fd, (struct sockaddr *)&a,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n))) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}
