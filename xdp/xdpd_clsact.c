/* nanoweb-xdpd: counting the filters on a clsact qdisc (see xdpd_clsact.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/pkt_sched.h>
#include "xdpd_clsact.h"

/* One dump request (RTM_GETTFILTER) for the filters under parent; returns
 * how many messages describe one, or -1. */
static int dump_filters(int fd, int ifindex, __u32 parent, __u32 seq)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req;
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	int n = 0;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.tc));
	req.nh.nlmsg_type = RTM_GETTFILTER;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = seq;
	req.tc.tcm_family = AF_UNSPEC;
	req.tc.tcm_ifindex = ifindex;
	req.tc.tcm_parent = parent;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -1;
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return n;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				errno = e->error ? -e->error : EPROTO;
				return -1;
			}
			if (nh->nlmsg_type == RTM_NEWTFILTER)
				n++;
		}
	}
}

int xdpd_clsact_filters(int ifindex)
{
	static const __u32 parents[] = {
		TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS),
		TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS),
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int total = 0, err = 0;

	if (fd < 0)
		return -1;
	for (unsigned i = 0; i < sizeof(parents) / sizeof(parents[0]); i++) {
		int n = dump_filters(fd, ifindex, parents[i], i + 1);

		if (n < 0) {
			err = errno;
			total = -1;
			break;
		}
		total += n;
	}
	close(fd);
	if (total < 0)
		errno = err;
	return total;
}
