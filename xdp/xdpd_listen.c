#include "xdpd_listen.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TCP_LISTEN_STATE 0x0A /* TCP_LISTEN in /proc/net/tcp's st column */
#define MAX_LISTENERS 64      /* sockets listening on one port (SO_REUSEPORT) */

bool xdpd_tcp_line_listens(const char *line, uint16_t port,
			   unsigned long *inode)
{
	unsigned lport, state;
	unsigned long ino;

	/* "  0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000
	 *  00000000     0        0 12345 1 ..." (IPv6: 32 hex digits) */
	if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*x:%*x "
		   "%*x:%*x %*x %*u %*u %lu", &lport, &state, &ino) != 3)
		return false;
	if (state != TCP_LISTEN_STATE || lport != port || ino == 0)
		return false;
	*inode = ino;
	return true;
}

bool xdpd_socket_inode(const char *link, unsigned long *inode)
{
	unsigned long ino;
	char end;

	if (sscanf(link, "socket:[%lu%c", &ino, &end) != 2 || end != ']')
		return false;
	*inode = ino;
	return true;
}

/* The inodes of the sockets listening on port, from /proc/self/net/FILE:
 * this process's network namespace, where XDP serves. */
static size_t listeners(const char *file, uint16_t port, unsigned long *ino,
			size_t n, size_t cap)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof path, "/proc/self/net/%s", file);
	f = fopen(path, "re");
	if (!f)
		return n; /* no IPv6 in this kernel: none there */
	while (n < cap && fgets(line, sizeof line, f))
		if (xdpd_tcp_line_listens(line, port, &ino[n]))
			n++;
	fclose(f);
	return n;
}

int xdpd_pid_listens(int32_t pid, uint16_t port, char *err, size_t errlen)
{
	unsigned long want[MAX_LISTENERS], ino;
	char dir[64], link[64 + 256], target[64];
	struct dirent *de;
	size_t n;
	DIR *d;
	int found = 0;

	n = listeners("tcp", port, want, 0, MAX_LISTENERS);
	n = listeners("tcp6", port, want, n, MAX_LISTENERS);
	if (n == 0)
		return 0;
	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while (!found && (de = readdir(d))) {
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "%s/%s", dir, de->d_name);
		len = readlink(link, target, sizeof target - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (!xdpd_socket_inode(target, &ino))
			continue;
		for (size_t i = 0; i < n && !found; i++)
			found = want[i] == ino;
	}
	closedir(d);
	return found;
}
