/*
 * nanoweb-xdpd: the clsact qdisc our TC program hangs on. The helper
 * creates it when an interface has none; after detaching its own filter it
 * removes the qdisc again if no filter is left on it (ingress or egress),
 * so a stopped helper leaves no empty qdisc behind.
 */
#ifndef XDPD_CLSACT_H
#define XDPD_CLSACT_H

/* Filters on ifindex's clsact qdisc (both directions, every chain, as
 * rtnetlink dumps them); -1 with errno on failure. */
int xdpd_clsact_filters(int ifindex);

#endif
