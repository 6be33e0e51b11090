/*
 * LD_PRELOAD shim for test_limits_shutdown.py: the first three poll()
 * calls fail with ENOMEM, as when the kernel is short of memory for its
 * wait tables. nano-web's main loop (signals, dev watch) is the caller;
 * libmicrohttpd's workers wait in epoll_wait and are not affected.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>

typedef int (*poll_fn)(struct pollfd *, nfds_t, int);

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	static poll_fn real;
	static atomic_int failures = 3;

	if (atomic_fetch_sub(&failures, 1) > 0) {
		errno = ENOMEM;
		return -1;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "poll");
	return real(fds, n, timeout);
}
