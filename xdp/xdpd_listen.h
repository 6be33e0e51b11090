/*
 * nanoweb-xdpd: whether a client process listens on a port. XDP answers
 * SYNs and requests on every served port, so a writer that is not root may
 * claim only ports it listens on itself: else any process of an allowed
 * user (often the widely shared nobody) could answer clients of another
 * service's port with bytes of its own.
 */
#ifndef XDPD_LISTEN_H
#define XDPD_LISTEN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pure: one line of /proc/net/tcp or tcp6. True when it is a socket in
 * LISTEN state bound to port; *inode is then its inode. */
bool xdpd_tcp_line_listens(const char *line, uint16_t port,
			   unsigned long *inode);

/* Pure: the inode of a socket as /proc/PID/fd/N's link names it
 * ("socket:[12345]"); false for anything else. */
bool xdpd_socket_inode(const char *link, unsigned long *inode);

/* 1: process pid holds a socket listening on port in this network
 * namespace (TCP over IPv4 or IPv6); 0: it does not; -1: it cannot be
 * told (why in err). */
int xdpd_pid_listens(int32_t pid, uint16_t port, char *err, size_t errlen);

#endif
