/*
 * LD_PRELOAD shim for test_limits_shutdown.py: delays every EPOLL_CTL_DEL of
 * a listening socket by 2 ms. That widens the window in which two threads
 * can both try to take the listening socket out of an epoll set (the
 * libmicrohttpd shutdown race behind the "Failed to remove listen FD from
 * epoll set" abort) from a few microseconds to one that a test hits.
 */
#include <dlfcn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

typedef int (*epoll_ctl_fn)(int, int, int, struct epoll_event *);

static int is_listening(int fd)
{
	int on = 0;
	socklen_t len = sizeof on;

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	static epoll_ctl_fn real;

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "epoll_ctl");
	if (op == EPOLL_CTL_DEL && is_listening(fd)) {
		struct timespec d = { 0, 2 * 1000 * 1000 };

		nanosleep(&d, NULL);
	}
	return real(epfd, op, fd, ev);
}
