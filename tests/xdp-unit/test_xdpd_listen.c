/* Unit tests of nanoweb-xdpd's check that a client listens on the ports it
 * claims (xdp/xdpd_listen.c): the /proc parsers, and the check against
 * this process's own sockets. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include "xdpd_listen.h"
#include "check.h"

static void test_lines(void)
{
	unsigned long ino = 0;
	const char *v4 = "   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 "
			 "00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0";
	const char *v6 = "   1: 00000000000000000000000000000000:1F90 "
			 "00000000000000000000000000000000:0000 0A 00000000:00000000 "
			 "00:00000000 00000000   65534        0 777 1 0000000000000000 100 0 0 10 0";
	const char *est = "   2: 0100007F:0BB8 0100007F:D431 01 00000000:00000000 "
			  "00:00000000 00000000     0        0 999 1 0000000000000000 20 4 30 10 -1";

	CHECK(xdpd_tcp_line_listens(v4, 3000, &ino) && ino == 123456);
	CHECK(!xdpd_tcp_line_listens(v4, 3001, &ino));
	CHECK(xdpd_tcp_line_listens(v6, 8080, &ino) && ino == 777);
	CHECK(!xdpd_tcp_line_listens(est, 3000, &ino));   /* ESTABLISHED */
	CHECK(!xdpd_tcp_line_listens("  sl  local_address rem_address   st tx_queue "
				     "rx_queue tr tm->when retrnsmt   uid  timeout inode",
				     3000, &ino));             /* the heading */
	CHECK(!xdpd_tcp_line_listens("", 3000, &ino));
	CHECK(!xdpd_tcp_line_listens("   0: 0100007F:0BB8", 3000, &ino));

	CHECK(xdpd_socket_inode("socket:[4242]", &ino) && ino == 4242);
	CHECK(!xdpd_socket_inode("socket:[4242", &ino));
	CHECK(!xdpd_socket_inode("pipe:[4242]", &ino));
	CHECK(!xdpd_socket_inode("/dev/null", &ino));
	CHECK(!xdpd_socket_inode("anon_inode:[eventfd]", &ino));
}

/* This process listening on a port of its own, then not. */
static void test_own_socket(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	char err[128] = "";
	int s = socket(AF_INET, SOCK_STREAM, 0), other;
	uint16_t port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
	      getsockname(s, (struct sockaddr *)&a, &len) == 0);
	port = ntohs(a.sin_port);
	/* bound, not listening: not a listener */
	CHECK(xdpd_pid_listens(getpid(), port, err, sizeof err) == 0);
	CHECK(listen(s, 8) == 0);
	CHECK(xdpd_pid_listens(getpid(), port, err, sizeof err) == 1);
	/* another process (our parent) holds no such socket */
	CHECK(xdpd_pid_listens(getppid(), port, err, sizeof err) == 0);
	/* a connection to it is no listener on another port */
	other = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(other >= 0 && connect(other, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(xdpd_pid_listens(getpid(), (uint16_t)(port + 1), err, sizeof err) == 0);
	close(other);
	close(s);
	CHECK(xdpd_pid_listens(getpid(), port, err, sizeof err) == 0);
	/* no such process, while a listener exists: it cannot be told */
	s = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = 0;
	len = sizeof a;
	CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
	      getsockname(s, (struct sockaddr *)&a, &len) == 0 && listen(s, 8) == 0);
	CHECK(xdpd_pid_listens(0x3ffffff0, ntohs(a.sin_port), err, sizeof err) == -1);
	CHECK(err[0] != '\0');
	close(s);
}

int main(void)
{
	test_lines();
	test_own_socket();
	return check_report();
}
