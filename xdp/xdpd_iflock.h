/*
 * nanoweb-xdpd: one helper per interface. An interface carries one XDP
 * program, so a second helper (another pin directory, another socket)
 * must neither take over an interface a running helper serves nor detach
 * that helper's programs when it stops. Each helper holds, per interface it
 * serves, an abstract Unix socket named after the interface index: such
 * names are per network namespace, like interfaces, and the kernel frees
 * them when the holder dies, even by SIGKILL.
 */
#ifndef XDPD_IFLOCK_H
#define XDPD_IFLOCK_H

/* The lock of ifindex: an fd to keep (close() releases it), or -1 with
 * errno EADDRINUSE when a running helper holds it. */
int xdpd_iflock(int ifindex);

#endif
