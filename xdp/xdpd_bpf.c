/*
 * nanoweb-xdpd: loading or adopting the BPF objects, pinning, attaching
 * to interfaces, and every map operation.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <ifaddrs.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xdpd.h"
#include "xdpd_proto.h"
#include "xdpd_clsact.h"
#include "xdpd_iflock.h"
#include "nanoweb.skel.h"

#define TC_HANDLE 0x4e57
#define TC_PRIO 1

static int pin_path(const struct xdpd *x, const char *name, char *out, size_t n)
{
	int r = snprintf(out, n, "%s/%s", x->cfg.pin_dir, name);

	return (r < 0 || (size_t)r >= n) ? -1 : 0;
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, dir, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

/* Reuses a pinned map if it has the same layout; else removes the pin. */
static int adopt_map(struct xdpd *x, struct bpf_map *m)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	if (pin_path(x, bpf_map__name(m), path, sizeof(path)))
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
	    info.type != bpf_map__type(m) ||
	    info.key_size != bpf_map__key_size(m) ||
	    info.value_size != bpf_map__value_size(m) ||
	    info.map_flags != bpf_map__map_flags(m)) {
		xlog("pinned map %s has another layout: replacing it (its entries are lost)",
		     path);
		close(fd);
		unlink(path);
		return 0;
	}
	if (info.max_entries != bpf_map__max_entries(m)) {
		xlog("pinned map %s keeps its size %u (configured %u): restart with a clean stop to resize",
		     path, info.max_entries, bpf_map__max_entries(m));
		bpf_map__set_max_entries(m, info.max_entries);
	}
	close(fd);
	/* libbpf reuses it at load (pin_path set by the caller) */
	return 1;
}

static int ctl_set(struct xdpd *x, __u32 idx, __u64 v)
{
	return bpf_map_update_elem(x->fd_ctl, &idx, &v, BPF_ANY);
}

static __u64 ctl_get(struct xdpd *x, __u32 idx)
{
	__u64 v = 0;

	bpf_map_lookup_elem(x->fd_ctl, &idx, &v);
	return v;
}

/* XDP serves for secs more (NWX_CTL_LEASE); renewed by every tick */
static void lease(struct xdpd *x, unsigned secs)
{
	__u64 now = xdpd_mono_ns();

	if (ctl_set(x, NWX_CTL_LEASE, now + (__u64)secs * 1000000000u))
		xlog("cannot renew the fast path's lease: %s", strerror(errno));
	else
		x->last_lease_ms = (long)(now / 1000000u);
}

/*
 * The ports nwx_ports marks served, up to max of them into out; returns
 * how many there are.
 */
static unsigned served_ports(struct xdpd *x, uint16_t *out, unsigned max)
{
	__u32 *keys = calloc(NWX_PORTS_ENTRIES, sizeof(*keys));
	__u32 *vals = calloc(NWX_PORTS_ENTRIES, sizeof(*vals));
	__u32 count = NWX_PORTS_ENTRIES, batch;
	unsigned n = 0;

	if (!keys || !vals ||
	    (bpf_map_lookup_batch(x->fd_ports, NULL, &batch, keys, vals,
				  &count, NULL) && errno != ENOENT)) {
		xlog("cannot read the served ports: %s", strerror(errno));
		count = 0;
	}
	for (__u32 i = 0; i < count; i++) {
		if (!vals[i])
			continue;
		if (n < max)
			out[n] = (uint16_t)keys[i];
		n++;
	}
	free(keys);
	free(vals);
	return n;
}

static bool prog_is_ours(__u32 id, const char *name)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	bool r;

	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	r = !bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, name);
	close(fd);
	return r;
}

static void sysctl_syncookies(void)
{
	const char *p = "/proc/sys/net/ipv4/tcp_syncookies";
	char buf[16] = "";
	int fd = open(p, O_RDONLY);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = 0;
		close(fd);
	}
	if (buf[0] != '0') {
		xlog("net.ipv4.tcp_syncookies = %c: hand-offs can be accepted",
		     buf[0] ? buf[0] : '?');
		return;
	}
	fd = open(p, O_WRONLY);
	if (fd < 0 || write(fd, "1\n", 2) != 2)
		xlog("net.ipv4.tcp_syncookies is 0 and cannot be set (%s): handed-off connections will be reset",
		     strerror(errno));
	else
		xlog("net.ipv4.tcp_syncookies was 0: set it to 1 (hand-offs need it)");
	if (fd >= 0)
		close(fd);
}

/*
 * NWX_CTL_MTU: the smallest MTU of our interfaces. XDP announces an MSS that
 * fits it, and cuts answers at the flow's MSS, so no segment it sends is
 * larger than the link takes.
 */
static void update_mtu(struct xdpd *x)
{
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned mtu = 0;

	if (sk < 0)
		return;
	for (unsigned i = 0; i < x->n_ifs; i++) {
		struct ifreq r;

		memset(&r, 0, sizeof(r));
		snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", x->ifs[i].name);
		if (!ioctl(sk, SIOCGIFMTU, &r) && r.ifr_mtu > 0 &&
		    (!mtu || (unsigned)r.ifr_mtu < mtu))
			mtu = (unsigned)r.ifr_mtu;
	}
	close(sk);
	if (mtu && mtu != ctl_get(x, NWX_CTL_MTU))
		ctl_set(x, NWX_CTL_MTU, mtu);
}

static int attach_iface(struct xdpd *x, struct xdpd_iface *ifc)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tco, .handle = TC_HANDLE, .priority = TC_PRIO,
		    .flags = BPF_TC_F_REPLACE);
	int xfd = bpf_program__fd(x->skel->progs.nwx_xdp);
	int tfd = bpf_program__fd(x->skel->progs.nwx_tc);
	__u32 want = 0;
	int err;

	if (!bpf_xdp_query(ifc->ifindex, 0, &q) && q.prog_id) {
		if (!prog_is_ours(q.prog_id, "nwx_xdp")) {
			xlog("interface %s: another XDP program (id %u) is attached: skipping it",
			     ifc->name, q.prog_id);
			return -1;
		}
		if (q.attach_mode == XDP_ATTACHED_SKB)
			want = XDP_FLAGS_SKB_MODE;
		else if (q.attach_mode == XDP_ATTACHED_DRV)
			want = XDP_FLAGS_DRV_MODE;
		if ((x->cfg.attach == XDPD_ATTACH_NATIVE && want == XDP_FLAGS_SKB_MODE) ||
		    (x->cfg.attach == XDPD_ATTACH_GENERIC && want == XDP_FLAGS_DRV_MODE)) {
			bpf_xdp_detach(ifc->ifindex, want, NULL);
			want = 0;
		}
	}
	if (!want) {
		if (x->cfg.attach == XDPD_ATTACH_GENERIC)
			want = XDP_FLAGS_SKB_MODE;
		else
			want = XDP_FLAGS_DRV_MODE;
	}
	err = bpf_xdp_attach(ifc->ifindex, xfd, want, NULL);
	if (err && want == XDP_FLAGS_DRV_MODE && x->cfg.attach == XDPD_ATTACH_AUTO) {
		want = XDP_FLAGS_SKB_MODE;
		err = bpf_xdp_attach(ifc->ifindex, xfd, want, NULL);
	}
	if (err) {
		xlog("interface %s: attaching XDP (%s) failed: %s", ifc->name,
		     want == XDP_FLAGS_SKB_MODE ? "generic" : "native",
		     strerror(-err));
		return -1;
	}
	ifc->xdp_flags = want;
	hook.ifindex = ifc->ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		xlog("interface %s: creating the clsact qdisc failed: %s",
		     ifc->name, strerror(-err));
		bpf_xdp_detach(ifc->ifindex, want, NULL);
		return -1;
	}
	tco.prog_fd = tfd;
	err = bpf_tc_attach(&hook, &tco);
	if (err) {
		xlog("interface %s: attaching TC ingress failed: %s", ifc->name,
		     strerror(-err));
		bpf_xdp_detach(ifc->ifindex, want, NULL);
		return -1;
	}
	ifc->tc = true;
	xlog("interface %s: XDP attached (%s mode), TC ingress attached",
	     ifc->name, want == XDP_FLAGS_SKB_MODE ? "generic" : "native");
	return 0;
}

/*
 * Removes ifindex's clsact qdisc once our filter is gone and no other is
 * left on it: it was most likely created for ours (attach_iface()), and an
 * empty one does nothing. Another program's filter keeps it.
 */
static void drop_empty_clsact(int ifindex, const char *name)
{
	LIBBPF_OPTS(bpf_tc_hook, all, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int n = xdpd_clsact_filters(ifindex);

	if (n < 0) {
		xlog("interface %s: cannot list the clsact qdisc's filters (%s): leaving it",
		     name, strerror(errno));
		return;
	}
	if (n > 0)
		return;
	if (bpf_tc_hook_destroy(&all))
		xlog("interface %s: removing the empty clsact qdisc failed", name);
	else
		xlog("interface %s: removed the clsact qdisc (no filter left on it)",
		     name);
}

/* Detaches our programs from ifindex, whatever attached them. */
static void detach_ifindex(int ifindex, const char *name)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tco, .handle = TC_HANDLE, .priority = TC_PRIO);
	bool did = false;

	if (!bpf_xdp_query(ifindex, 0, &q) && q.prog_id &&
	    prog_is_ours(q.prog_id, "nwx_xdp")) {
		__u32 f = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE :
			  q.attach_mode == XDP_ATTACHED_DRV ? XDP_FLAGS_DRV_MODE : 0;
		if (bpf_xdp_detach(ifindex, f, NULL))
			xlog("interface %s: detaching XDP failed", name);
		did = true;
	}
	hook.ifindex = ifindex;
	if (!bpf_tc_query(&hook, &tco) && prog_is_ours(tco.prog_id, "nwx_tc")) {
		LIBBPF_OPTS(bpf_tc_opts, d, .handle = TC_HANDLE, .priority = TC_PRIO);
		if (bpf_tc_detach(&hook, &d))
			xlog("interface %s: detaching TC failed", name);
		else
			drop_empty_clsact(ifindex, name);
		did = true;
	}
	if (did)
		xlog("interface %s: detached", name);
}

static int pick_ifaces(struct xdpd *x)
{
	x->n_ifs = 0;
	if (x->cfg.ifaces && *x->cfg.ifaces) {
		char *dup = strdup(x->cfg.ifaces), *save = NULL, *t;

		for (t = strtok_r(dup, ", ", &save); t && x->n_ifs < XDPD_MAX_IFACES;
		     t = strtok_r(NULL, ", ", &save)) {
			snprintf(x->ifs[x->n_ifs].name, IF_NAMESIZE, "%s", t);
			x->ifs[x->n_ifs].lock_fd = -1;
			x->n_ifs++;
		}
		free(dup);
	} else {
		/* getifaddrs: netlink, so right in any network namespace */
		struct ifaddrs *ifa, *i;

		if (getifaddrs(&ifa))
			return -1;
		for (i = ifa; i && x->n_ifs < XDPD_MAX_IFACES; i = i->ifa_next) {
			bool dup = false;

			if (!(i->ifa_flags & IFF_UP))
				continue;
			for (unsigned k = 0; k < x->n_ifs; k++)
				if (!strcmp(x->ifs[k].name, i->ifa_name))
					dup = true;
			if (dup)
				continue;
			snprintf(x->ifs[x->n_ifs].name, IF_NAMESIZE, "%s", i->ifa_name);
			x->ifs[x->n_ifs].lock_fd = -1;
			x->n_ifs++;
		}
		freeifaddrs(ifa);
	}
	return x->n_ifs ? 0 : -1;
}

/* Takes the lock of every picked interface (xdpd_iflock.h); returns how
 * many it holds. An interface another running helper serves is skipped. */
static unsigned lock_ifaces(struct xdpd *x)
{
	unsigned n = 0;

	for (unsigned i = 0; i < x->n_ifs; i++) {
		struct xdpd_iface *ifc = &x->ifs[i];
		int ifindex = (int)if_nametoindex(ifc->name);

		if (!ifindex) {
			xlog("interface %s: %s", ifc->name, strerror(errno));
			continue;
		}
		ifc->ifindex = ifindex;
		ifc->lock_fd = xdpd_iflock(ifindex);
		if (ifc->lock_fd >= 0)
			n++;
		else if (errno == EADDRINUSE)
			xlog("interface %s: another running nanoweb-xdpd serves it: skipping it",
			     ifc->name);
		else
			xlog("interface %s: cannot take its lock: %s", ifc->name,
			     strerror(errno));
	}
	return n;
}

/* `ip netns exec` mounts a fresh /sys without /sys/fs/bpf: mount one */
static void ensure_bpffs(const char *pin_dir)
{
	struct statfs sf;

	if (strncmp(pin_dir, "/sys/fs/bpf/", 12))
		return;
	if (!statfs("/sys/fs/bpf", &sf) && sf.f_type == 0xcafe4a11)
		return;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		xlog("/sys/fs/bpf is not a BPF filesystem and mounting one failed: %s",
		     strerror(errno));
	else
		xlog("mounted a BPF filesystem on /sys/fs/bpf (pins are visible only in this mount namespace)");
}

int xdpd_bpf_setup(struct xdpd *x)
{
	struct bpf_map *m;
	struct bpf_program *p;
	char path[PATH_MAX];
	unsigned adopted = 0, n_ok = 0;
	bool lapsed;
	int err;

	if (pick_ifaces(x)) {
		xlog("no interface to attach to");
		return -1;
	}
	if (!lock_ifaces(x)) {
		xlog("every interface is served by another running nanoweb-xdpd");
		return -1;
	}
	ensure_bpffs(x->cfg.pin_dir);
	if (mkdir_p(x->cfg.pin_dir)) {
		xlog("cannot create pin directory %s: %s", x->cfg.pin_dir, strerror(errno));
		return -1;
	}
	x->skel = nanoweb__open();
	if (!x->skel) {
		xlog("cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	bpf_map__set_max_entries(x->skel->maps.nwx_flows, x->cfg.flow_entries);
	bpf_map__set_max_entries(x->skel->maps.nwx_paths, 2 * x->cfg.cache_entries);
	bpf_map__set_max_entries(x->skel->maps.nwx_resp, 2 * x->cfg.cache_entries);
	/* at most NWX_RESP_CHUNKS - 1 more parts per response; entries (4 KiB
	 * each) are allocated only for responses longer than NWX_RESP_MAX */
	bpf_map__set_max_entries(x->skel->maps.nwx_more,
				 2 * (NWX_RESP_CHUNKS - 1) * x->cfg.cache_entries);
	bpf_object__for_each_map(m, x->skel->obj) {
		int r;

		if (bpf_map__is_internal(m))
			continue; /* .rodata etc.: not shared, not pinnable */
		r = adopt_map(x, m);
		if (r < 0 || pin_path(x, bpf_map__name(m), path, sizeof(path)) ||
		    bpf_map__set_pin_path(m, path))
			return -1;
		adopted += r; /* libbpf reuses pinned maps and pins new ones */
	}
	x->adopted = adopted > 0;
	x->started_t = (uint32_t)(xdpd_mono_ns() >> NWX_TIME_SHIFT);
	err = nanoweb__load(x->skel);
	if (err) {
		xlog("loading the BPF programs failed: %s", strerror(-err));
		return -1;
	}
	x->fd_ctl = bpf_map__fd(x->skel->maps.nwx_ctl);
	x->fd_secret = bpf_map__fd(x->skel->maps.nwx_secret);
	x->fd_date = bpf_map__fd(x->skel->maps.nwx_date);
	x->fd_ports = bpf_map__fd(x->skel->maps.nwx_ports);
	x->fd_paths = bpf_map__fd(x->skel->maps.nwx_paths);
	x->fd_resp = bpf_map__fd(x->skel->maps.nwx_resp);
	x->fd_more = bpf_map__fd(x->skel->maps.nwx_more);
	x->fd_flows = bpf_map__fd(x->skel->maps.nwx_flows);
	x->fd_stats = bpf_map__fd(x->skel->maps.nwx_stats);

	bpf_object__for_each_map(m, x->skel->obj) {
		if (bpf_map__is_pinned(m) || bpf_map__is_internal(m))
			continue;
		if (pin_path(x, bpf_map__name(m), path, sizeof(path)))
			return -1;
		/* a fresh map: a pin left by an incompatible predecessor is gone */
		if (bpf_map__pin(m, path)) {
			xlog("cannot pin map %s: %s", path, strerror(errno));
			return -1;
		}
	}
	if (!bpf_map__is_pinned(x->skel->maps.nwx_secret) || adopted == 0 ||
	    ctl_get(x, NWX_CTL_WSCALE) == 0) {
		struct nwx_secret sec;
		__u32 zero = 0;

		if (getrandom(&sec, sizeof(sec), 0) != sizeof(sec)) {
			xlog("getrandom: %s", strerror(errno));
			return -1;
		}
		bpf_map_update_elem(x->fd_secret, &zero, &sec, BPF_ANY);
		ctl_set(x, NWX_CTL_WSCALE, 7);
	}
	bpf_object__for_each_program(p, x->skel->obj) {
		if (pin_path(x, bpf_program__name(p), path, sizeof(path)))
			return -1;
		unlink(path);
		if (bpf_program__pin(p, path)) {
			xlog("cannot pin program %s: %s", path, strerror(errno));
			return -1;
		}
	}
	/* a predecessor that died (or kept the fast path for a successor
	 * that came too late) stopped renewing it: XDP has stopped answering,
	 * and nano-web may have reloaded since */
	lapsed = x->adopted && ctl_get(x, NWX_CTL_LEASE) < xdpd_mono_ns();
	x->active_gen = (uint32_t)ctl_get(x, NWX_CTL_GEN);
	x->next_gen = x->active_gen + 1;
	x->date_idx = (uint32_t)ctl_get(x, NWX_CTL_DATE_IDX) & 1;
	x->last_date = 0;
	xdpd_bpf_tick(x);
	if (x->adopted) {
		unsigned n = served_ports(x, x->adopted_ports, NWX_MAX_PORTS);

		x->n_adopted_ports = n < NWX_MAX_PORTS ? n : NWX_MAX_PORTS;
		x->adopt_deadline = time(NULL) + NWX_ADOPT_GRACE_S;
		xdpd_owner_init(&x->owner, true, time(NULL), NWX_ADOPT_GRACE_S);
		/* staging generations of the previous helper are orphans */
		xdpd_gen_delete(x, 0);
		if (lapsed && x->active_gen) {
			xlog("the previous helper's lease had run out: its cache (generation %u) may be stale, dropped until nano-web pushes again",
			     x->active_gen);
			xdpd_gen_flip(x, 0);
		}
		xlog("adopted the pinned maps in %s (active generation %u, %u port(s) kept for %d s)",
		     x->cfg.pin_dir, x->active_gen, x->n_adopted_ports,
		     NWX_ADOPT_GRACE_S);
	} else {
		ctl_set(x, NWX_CTL_GEN, 0);
		xdpd_owner_init(&x->owner, false, time(NULL), 0);
		xlog("created and pinned fresh maps in %s", x->cfg.pin_dir);
	}
	/* a predecessor killed while draining left the flag set */
	ctl_set(x, NWX_CTL_DRAIN, 0);
	sysctl_syncookies();

	update_mtu(x);
	ctl_set(x, NWX_CTL_IDLE, NWX_MS_TO_T((uint64_t)x->cfg.idle_s * 1000));
	for (unsigned i = 0; i < x->n_ifs; i++)
		if (x->ifs[i].lock_fd >= 0 && !attach_iface(x, &x->ifs[i]))
			n_ok++;
	if (!n_ok) {
		xlog("could not attach to any interface");
		return -1;
	}
	return 0;
}

static bool holds_lock(const struct xdpd *x, unsigned ifindex)
{
	for (unsigned i = 0; i < x->n_ifs; i++)
		if (x->ifs[i].lock_fd >= 0 &&
		    (unsigned)x->ifs[i].ifindex == ifindex)
			return true;
	return false;
}

static void release_ifaces(struct xdpd *x)
{
	for (unsigned i = 0; i < x->n_ifs; i++) {
		if (x->ifs[i].lock_fd >= 0)
			close(x->ifs[i].lock_fd);
		x->ifs[i].lock_fd = -1;
	}
}

void xdpd_bpf_teardown(struct xdpd *x, bool keep)
{
	struct if_nameindex *ni, *i;
	struct bpf_map *m;
	struct bpf_program *p;
	char path[PATH_MAX];

	if (!x->skel)
		return;
	if (keep) {
		/* a successor has this long to adopt them; after that XDP
		 * hands everything to nano-web */
		lease(x, NWX_ADOPT_GRACE_S);
		xlog("leaving the programs attached and the maps pinned in %s for the next helper (for %d s)",
		     x->cfg.pin_dir, NWX_ADOPT_GRACE_S);
		nanoweb__destroy(x->skel);
		x->skel = NULL;
		return;
	}
	/* every interface but those another running helper serves: a
	 * predecessor may have attached to others */
	ni = if_nameindex();
	for (i = ni; i && i->if_index; i++) {
		int fd = xdpd_iflock((int)i->if_index);

		if (fd < 0 && errno == EADDRINUSE && !holds_lock(x, i->if_index))
			continue;
		detach_ifindex((int)i->if_index, i->if_name);
		if (fd >= 0)
			close(fd);
	}
	if (ni)
		if_freenameindex(ni);
	release_ifaces(x);
	bpf_object__for_each_program(p, x->skel->obj) {
		if (!pin_path(x, bpf_program__name(p), path, sizeof(path)))
			unlink(path);
	}
	bpf_object__for_each_map(m, x->skel->obj) {
		if (!bpf_map__is_internal(m) &&
		    !pin_path(x, bpf_map__name(m), path, sizeof(path)))
			unlink(path);
	}
	if (rmdir(x->cfg.pin_dir) && errno != ENOENT)
		xlog("cannot remove %s: %s", x->cfg.pin_dir, strerror(errno));
	nanoweb__destroy(x->skel);
	x->skel = NULL;
	xlog("programs detached, pins removed");
}

void xdpd_bpf_tick(struct xdpd *x)
{
	time_t now = time(NULL);
	long ms = (long)(xdpd_mono_ns() / 1000000);

	if (ms - x->last_sweep_ms >= 100) {
		bool idle = ms - x->last_idle_ms >= 1000;

		x->last_sweep_ms = ms;
		if (idle)
			x->last_idle_ms = ms;
		xdpd_bpf_sweep(x, idle);
	}
	if (ms - x->last_lease_ms >= 1000)
		lease(x, NWX_LEASE_S);

	if (now != x->last_date) {
		struct nwx_date d;
		__u32 idx = x->date_idx ^ 1;

		xdpd_make_date(now, &d);
		update_mtu(x); /* once a second */
		if (!bpf_map_update_elem(x->fd_date, &idx, &d, BPF_ANY)) {
			ctl_set(x, NWX_CTL_DATE_IDX, idx);
			x->date_idx = idx;
			x->last_date = now;
		}
	}
	if (xdpd_owner_expire(&x->owner, now) && x->active_gen) {
		/* nobody claimed what the previous helper served: its cache
		 * must not be served on a future writer's ports */
		xlog("no nano-web took over the adopted cache within %d s: dropping generation %u",
		     NWX_ADOPT_GRACE_S, x->active_gen);
		xdpd_gen_flip(x, 0);
	}
	if (x->n_adopted_ports && now >= x->adopt_deadline) {
		for (unsigned i = 0; i < x->n_adopted_ports; i++) {
			if (xdpd_port_claimed(x->adopted_ports[i]))
				continue;
			xdpd_port_set(x, x->adopted_ports[i], false);
			xlog("port %u: no nano-web claimed it within %d s: no longer served",
			     x->adopted_ports[i], NWX_ADOPT_GRACE_S);
		}
		x->n_adopted_ports = 0;
	}
}

int xdpd_port_set(struct xdpd *x, uint16_t port, bool on)
{
	__u32 key = port, v = on ? 1 : 0;

	return bpf_map_update_elem(x->fd_ports, &key, &v, BPF_ANY);
}

/* The writer that inherited the adopted state set its ports: adopted ports
 * it did not claim are no longer served (one writer owns every port). */
void xdpd_drop_adopted_ports(struct xdpd *x, const uint16_t *keep, unsigned n)
{
	for (unsigned i = 0; i < x->n_adopted_ports; i++) {
		bool kept = false;

		for (unsigned j = 0; j < n; j++)
			if (keep[j] == x->adopted_ports[i])
				kept = true;
		if (kept)
			continue;
		xdpd_port_set(x, x->adopted_ports[i], false);
		xlog("port %u: not claimed by the new writer: no longer served",
		     x->adopted_ports[i]);
	}
	x->n_adopted_ports = 0;
}

int xdpd_bpf_drain(struct xdpd *x, bool on)
{
	return ctl_set(x, NWX_CTL_DRAIN, on ? 1 : 0);
}

/* Collects the keys of a map (key_size bytes each); caller frees. */
static void *map_keys(int fd, size_t ksz, size_t *n)
{
	size_t cap = 256, cnt = 0;
	char *keys = malloc(cap * ksz), *prev = NULL;
	char cur[64];

	*n = 0;
	if (!keys || ksz > sizeof(cur))
		return keys;
	while (!bpf_map_get_next_key(fd, prev, cur)) {
		if (cnt == cap) {
			char *nk = realloc(keys, 2 * cap * ksz);

			if (!nk)
				break;
			keys = nk;
			cap *= 2;
		}
		memcpy(keys + cnt * ksz, cur, ksz);
		prev = keys + cnt * ksz;
		cnt++;
	}
	*n = cnt;
	return keys;
}

/*
 * Deletes the entries of generation gen; gen 0: of every generation that
 * is neither active nor being staged by a connected client.
 */
int xdpd_gen_delete(struct xdpd *x, uint32_t gen)
{
	const int fds[] = { x->fd_resp, x->fd_more };
	size_t n, i;
	struct nwx_path_key *pk;

	for (unsigned m = 0; m < 2; m++) {
		struct nwx_resp_key *rk = map_keys(fds[m], sizeof(*rk), &n);

		for (i = 0; rk && i < n; i++) {
			uint32_t g = rk[i].gen;

			if (gen ? g == gen : (g != x->active_gen && g != x->prev_gen &&
					      !xdpd_gen_in_use(g)))
				bpf_map_delete_elem(fds[m], &rk[i]);
		}
		free(rk);
	}
	pk = map_keys(x->fd_paths, sizeof(*pk), &n);
	for (i = 0; pk && i < n; i++) {
		uint32_t g = pk[i].gen;

		if (gen ? g == gen : (g != x->active_gen && g != x->prev_gen &&
				      !xdpd_gen_in_use(g)))
			bpf_map_delete_elem(x->fd_paths, &pk[i]);
	}
	free(pk);
	return 0;
}

int xdpd_gen_count(struct xdpd *x, uint32_t gen, unsigned *count)
{
	size_t n, i;
	struct nwx_resp_key *rk = map_keys(x->fd_resp, sizeof(*rk), &n);

	*count = 0;
	for (i = 0; rk && i < n; i++)
		if (rk[i].gen == gen)
			(*count)++;
	free(rk);
	return 0;
}

/* Copies generation from's entries of a response map to generation to;
 * returns how many, or -1 if one could not be written. */
static int copy_resp(int fd, uint32_t from, uint32_t to)
{
	static struct nwx_resp_val rv;
	size_t n, i;
	struct nwx_resp_key *rk = map_keys(fd, sizeof(*rk), &n);
	int copied = 0;

	for (i = 0; rk && i < n; i++) {
		struct nwx_resp_key k = rk[i];

		if (k.gen != from || bpf_map_lookup_elem(fd, &k, &rv))
			continue;
		k.gen = to;
		if (bpf_map_update_elem(fd, &k, &rv, BPF_ANY)) {
			copied = -1;
			break;
		}
		copied++;
	}
	free(rk);
	return copied;
}

int xdpd_gen_copy(struct xdpd *x, uint32_t from, uint32_t to, unsigned *count)
{
	struct nwx_path_val pv;
	size_t n, i;
	struct nwx_path_key *pk;
	int err = 0, r;

	*count = 0;
	/* the further parts first: a response is whole once nwx_resp has it */
	if (copy_resp(x->fd_more, from, to) < 0)
		err = -1;
	r = copy_resp(x->fd_resp, from, to);
	if (r < 0)
		err = -1;
	else
		*count = (unsigned)r;
	pk = map_keys(x->fd_paths, sizeof(*pk), &n);
	for (i = 0; pk && i < n; i++) {
		struct nwx_path_key k = pk[i];

		if (k.gen != from || bpf_map_lookup_elem(x->fd_paths, &k, &pv))
			continue;
		k.gen = to;
		if (bpf_map_update_elem(x->fd_paths, &k, &pv, BPF_ANY))
			err = -1;
	}
	free(pk);
	return err;
}

/*
 * Makes gen the active generation (0: none). The one it replaces stays
 * until the next BEGIN (xdpd_gen_release_prev()): loss recovery resends
 * answers from the generation they were sent from, and a reload in the
 * middle would otherwise leave nothing to resend (the connection was
 * reset). Dropping the cache (gen 0) keeps nothing.
 */
int xdpd_gen_flip(struct xdpd *x, uint32_t gen)
{
	uint32_t prev = x->active_gen;

	if (ctl_set(x, NWX_CTL_GEN, gen))
		return -1;
	x->active_gen = gen;
	x->prev_gen = gen && prev != gen ? prev : 0;
	return xdpd_gen_delete(x, 0);
}

/* Before a new staging generation: the maps hold two generations, the
 * active one and the one being staged. */
void xdpd_gen_release_prev(struct xdpd *x)
{
	if (x->prev_gen) {
		x->prev_gen = 0;
		xdpd_gen_delete(x, 0);
	}
}

/* The path entry's mask of the encodings pushed for method m. */
static uint8_t *method_mask(struct nwx_path_val *pv, unsigned m)
{
	return m == NWX_METHOD_NM ? &pv->nm : &pv->pushed[m];
}

/*
 * Writes the parts of a response after its first NWX_RESP_MAX bytes to
 * nwx_more (the first part's key rk, sum csum), and deletes parts a
 * longer earlier response of that key left beyond them.
 */
static int put_more(struct xdpd *x, struct nwx_resp_key rk, const uint8_t *resp,
		    size_t len, uint32_t csum)
{
	static struct nwx_resp_val cv;

	for (unsigned c = 1; c < NWX_RESP_CHUNKS; c++) {
		size_t at = (size_t)c * NWX_RESP_MAX;

		rk.chunk = (__u16)c;
		if (at >= len) {
			bpf_map_delete_elem(x->fd_more, &rk);
			continue;
		}
		memset(&cv, 0, sizeof(cv));
		cv.len = (__u16)(len - at < NWX_RESP_MAX ? len - at : NWX_RESP_MAX);
		cv.date_off = NWX_NO_DATE;
		cv.csum = csum;
		memcpy(cv.data, resp + at, cv.len);
		if (bpf_map_update_elem(x->fd_more, &rk, &cv, BPF_ANY))
			return -1;
	}
	return 0;
}

/* Deletes a response: its first part, then the others. */
static int delete_resp(struct xdpd *x, struct nwx_resp_key rk)
{
	int r = bpf_map_delete_elem(x->fd_resp, &rk);

	for (unsigned c = 1; c < NWX_RESP_CHUNKS; c++) {
		rk.chunk = (__u16)c;
		bpf_map_delete_elem(x->fd_more, &rk);
	}
	return r;
}

int xdpd_map_put(struct xdpd *x, uint32_t gen, const struct nwx_put *p,
		 const char *path, const uint8_t *resp, const uint8_t *tag,
		 size_t tag_len, unsigned room, int *staged_change, char *err,
		 size_t errlen)
{
	static struct nwx_resp_val rv;
	struct nwx_path_key pk = { .gen = gen };
	struct nwx_resp_key rk = { .gen = gen };
	struct nwx_path_val pv;
	uint64_t h = nwx_path_hash(path, p->path_len);
	uint8_t avail = (uint8_t)(p->avail | 1);
	uint8_t bit = (uint8_t)(1u << p->encoding);
	bool added;
	int e;

	*staged_change = 0;
	pk.hash = h;
	if (!bpf_map_lookup_elem(x->fd_paths, &pk, &pv)) {
		if (pv.len != p->path_len || memcmp(pv.path, path, p->path_len)) {
			snprintf(err, errlen, "PUT %.*s: hash collides with %.*s: not cached",
				 (int)p->path_len, path, (int)pv.len, pv.path);
			return NWX_E_COLLISION;
		}
		if (pv.avail != avail) {
			snprintf(err, errlen, "PUT %.*s: avail mask 0x%x differs from an earlier PUT (0x%x)",
				 (int)p->path_len, path, avail, pv.avail);
			return NWX_E_INVAL;
		}
	} else {
		memset(&pv, 0, sizeof(pv));
		pv.len = p->path_len;
		pv.avail = avail;
		memcpy(pv.path, path, p->path_len);
	}
	added = !(*method_mask(&pv, p->method) & bit);
	if (added && !room) {
		snprintf(err, errlen, "PUT: cache full (%u entries)",
			 x->cfg.cache_entries);
		return NWX_E_NOSPC;
	}
	memset(&rv, 0, sizeof(rv));
	rv.len = (__u16)p->resp_len;
	rv.date_off = p->date_offset;
	memcpy(rv.data, resp, p->resp_len < NWX_RESP_MAX ? p->resp_len : NWX_RESP_MAX);
	rv.csum = xdpd_resp_csum(resp, p->resp_len, rv.date_off);
	if (p->method == NWX_METHOD_NM) {
		/* after the response (len <= NWX_NM_RESP_MAX): what XDP
		 * compares a request's entity-tag with */
		rv.data[NWX_NM_TAG_OFF] = (uint8_t)tag_len;
		memcpy(rv.data + NWX_NM_TAG_OFF + 1, tag, tag_len);
	}
	rk.method = p->method;
	rk.enc = p->encoding;
	rk.hash = h;
	/* the further parts first: XDP reads them only through the first */
	if (put_more(x, rk, resp, p->resp_len, rv.csum) ||
	    bpf_map_update_elem(x->fd_resp, &rk, &rv, BPF_ANY)) {
		e = errno;
		snprintf(err, errlen, "PUT %.*s: response map: %s", (int)p->path_len,
			 path, strerror(e));
		/* no earlier response of the key stays with parts of this one
		 * (TC would refuse them, and the client retry) */
		delete_resp(x, rk);
		if (!added) { /* that earlier response is gone */
			*method_mask(&pv, p->method) &= (uint8_t)~bit;
			if (!pv.pushed[0] && !pv.pushed[1] && !pv.nm)
				bpf_map_delete_elem(x->fd_paths, &pk);
			else
				bpf_map_update_elem(x->fd_paths, &pk, &pv, BPF_ANY);
			*staged_change = -1;
		}
		return e == E2BIG || e == ENOMEM || e == ENOSPC ?
			       NWX_E_NOSPC : NWX_E_INTERNAL;
	}
	*method_mask(&pv, p->method) |= bit;
	if (bpf_map_update_elem(x->fd_paths, &pk, &pv, BPF_ANY)) {
		e = errno;
		snprintf(err, errlen, "PUT %.*s: path map: %s", (int)p->path_len,
			 path, strerror(e));
		delete_resp(x, rk);
		*staged_change = added ? 0 : -1;
		return e == E2BIG || e == ENOMEM || e == ENOSPC ?
			       NWX_E_NOSPC : NWX_E_INTERNAL;
	}
	*staged_change = added;
	return 0;
}

int xdpd_map_delete(struct xdpd *x, uint32_t gen, const char *path,
		    unsigned len, unsigned method, unsigned enc, unsigned *removed)
{
	struct nwx_path_key pk = { .gen = gen };
	struct nwx_path_val pv;
	uint64_t h = nwx_path_hash(path, len);

	*removed = 0;
	pk.hash = h;
	if (bpf_map_lookup_elem(x->fd_paths, &pk, &pv) || pv.len != len ||
	    memcmp(pv.path, path, len))
		return 0;
	for (unsigned m = 0; m <= NWX_METHOD_NM; m++) {
		if (method != NWX_ALL && method != m)
			continue;
		for (unsigned e = 0; e < NWX_ENC_COUNT; e++) {
			struct nwx_resp_key rk = { .gen = gen, .method = (__u8)m,
						   .enc = (__u8)e, .hash = h };

			if (enc != NWX_ALL && enc != e)
				continue;
			if (!delete_resp(x, rk))
				(*removed)++;
			*method_mask(&pv, m) &= (uint8_t)~(1u << e);
		}
	}
	if (!pv.pushed[0] && !pv.pushed[1] && !pv.nm)
		bpf_map_delete_elem(x->fd_paths, &pk);
	else
		bpf_map_update_elem(x->fd_paths, &pk, &pv, BPF_ANY);
	return 0;
}

static unsigned long long fd_memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

typedef bool (*flow_fn)(const struct nwx_flow_key *k,
			const struct nwx_flow *f, void *arg);

/*
 * Calls fn for every flow, read in batches, and counts those it returns
 * true for. XDP adds and deletes flows meanwhile: a batch walk goes bucket
 * by bucket, where bpf_map_get_next_key starts again from the first key
 * whenever the one it was given has gone.
 */
static unsigned each_flow(struct xdpd *x, flow_fn fn, void *arg)
{
	enum { BATCH = 256 };
	static struct nwx_flow_key keys[BATCH];
	static struct nwx_flow vals[BATCH];
	struct nwx_flow_key in, out;
	unsigned counted = 0;
	bool first = true;

	for (;;) {
		__u32 n = BATCH;
		int r = bpf_map_lookup_batch(x->fd_flows, first ? NULL : &in, &out,
					     keys, vals, &n, NULL);

		first = false;
		for (__u32 i = 0; i < n && i < BATCH; i++)
			if (fn(&keys[i], &vals[i], arg))
				counted++;
		if (r)
			break;
		in = out;
	}
	return counted;
}

static bool any_flow(const struct nwx_flow_key *k, const struct nwx_flow *f,
		     void *arg)
{
	(void)k, (void)f, (void)arg;
	return true;
}

static bool owned_flow(const struct nwx_flow_key *k, const struct nwx_flow *f,
		       void *arg)
{
	(void)k, (void)arg;
	return f->state != NWX_FLOW_KERNEL;
}

unsigned xdpd_bpf_owned_flows(struct xdpd *x)
{
	return each_flow(x, owned_flow, NULL);
}

/*
 * Drain: asks the client of an idle flow XDP owns for a segment, so that XDP
 * can hand the flow off before the programs go. The probe is what a TCP
 * keep-alive sends: an ACK with seq = snd_nxt - 1, below the client's
 * window, which the client must answer with an ACK at (rcv_nxt, snd_nxt)
 * (RFC 9293 3.10.7.4); with NWX_CTL_DRAIN set, XDP hands the flow to the
 * kernel on that ACK. Sent from a raw socket with the server's address as
 * the source (IP_PKTINFO / IPV6_PKTINFO).
 */
static int raw4 = -1, raw6 = -1;

static uint16_t csum_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * An ACK to the client of flow k with sequence number seq_h, carrying one
 * byte (of no meaning: the client already has it) if with_byte.
 */
static int send_probe(const struct nwx_flow_key *k, const struct nwx_flow *f,
		      uint32_t seq_h, bool with_byte)
{
	uint8_t th[21] = { 0 };
	size_t tlen = with_byte ? 21 : 20;
	uint32_t seq = htonl(seq_h), ack = htonl(f->rcv_nxt);
	uint16_t win = htons((uint16_t)(65535 >> (f->rcv_wscale & 15)));
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))] = { 0 };
	struct iovec iov = { th, tlen };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = (struct cmsghdr *)cbuf;

	memcpy(th, &k->dport, 2);     /* from the server's port */
	memcpy(th + 2, &k->sport, 2); /* to the client's */
	memcpy(th + 4, &seq, 4);
	memcpy(th + 8, &ack, 4);
	th[12] = 5 << 4;
	th[13] = 0x10; /* ACK */
	memcpy(th + 14, &win, 2);
	if (!f->v6) {
		struct sockaddr_in dst = { .sin_family = AF_INET,
					   .sin_addr.s_addr = k->saddr[3] };
		struct in_pktinfo pi = { .ipi_spec_dst.s_addr = k->daddr[3] };
		uint8_t ph[12];
		uint16_t c, len = htons((uint16_t)tlen);

		if (raw4 < 0)
			raw4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
		if (raw4 < 0)
			return -1;
		memcpy(ph, &k->daddr[3], 4);
		memcpy(ph + 4, &k->saddr[3], 4);
		ph[8] = 0;
		ph[9] = IPPROTO_TCP;
		memcpy(ph + 10, &len, 2);
		c = csum_fold(xdpd_csum_add(ph, sizeof(ph), 0) +
			      xdpd_csum_add(th, tlen, 0));
		memcpy(th + 16, &c, 2);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		mh.msg_name = &dst;
		mh.msg_namelen = sizeof(dst);
		return sendmsg(raw4, &mh, MSG_DONTWAIT) == (ssize_t)tlen ? 0 : -1;
	} else {
		struct sockaddr_in6 dst = { .sin6_family = AF_INET6 };
		struct in6_pktinfo pi = { 0 };

		if (raw6 < 0) {
			int off = 16; /* the kernel fills the TCP checksum */

			raw6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
			if (raw6 >= 0 && setsockopt(raw6, IPPROTO_IPV6, IPV6_CHECKSUM,
						    &off, sizeof(off))) {
				close(raw6);
				raw6 = -1;
			}
		}
		if (raw6 < 0)
			return -1;
		memcpy(&dst.sin6_addr, k->saddr, 16);
		memcpy(&pi.ipi6_addr, k->daddr, 16);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		mh.msg_name = &dst;
		mh.msg_namelen = sizeof(dst);
		return sendmsg(raw6, &mh, MSG_DONTWAIT) == (ssize_t)tlen ? 0 : -1;
	}
}

static bool probe_idle(const struct nwx_flow_key *k, const struct nwx_flow *f,
		       void *arg)
{
	(void)arg;
	return f->state == NWX_FLOW_OWNED && !f->pend &&
	       !send_probe(k, f, f->snd_nxt - 1, false);
}

unsigned xdpd_bpf_probe_owned(struct xdpd *x)
{
	return each_flow(x, probe_idle, NULL);
}

/*
 * Loss recovery of answers of several segments (see xdp/README.md): a lost
 * last segment draws no duplicate ACK, so a flow whose answer is not fully
 * acknowledged NWX_RTO_MS after it was sent gets a probe that the client
 * must answer at once with an ACK at its rcv_nxt, on which XDP resends the
 * answer from there. The probe is one byte at seq = (start of the answer)
 * - 1, below the client's window: unlike a zero-length one (the drain's),
 * Linux answers such a duplicate data segment at once, with no rate limit.
 */
static bool probe_lost(const struct nwx_flow_key *k, const struct nwx_flow *f,
		       uint32_t now)
{
	return xdpd_loss_probe_due(f, now) &&
	       !send_probe(k, f, f->last_ack - 1, true);
}

struct sweep_arg {
	const struct xdpd *x;
	uint32_t now;   /* NWX_TIME() units, read once a sweep */
	uint32_t limit; /* the idle timeout, the same units (0: none) */
	bool idle;      /* this sweep handles idle flows too */
};

/*
 * How long the flow has been idle: never more than the helper has run (an
 * older program stamped only some answers), and 0 for a stamp later than
 * the sweep's clock (XDP answered it after the sweep read the clock).
 */
static uint32_t idle_age(const struct sweep_arg *a, uint32_t sent_t)
{
	int32_t age = (int32_t)(a->now - sent_t);
	int32_t up = (int32_t)(a->now - a->x->started_t);

	if (age > up)
		age = up;
	return age > 0 ? (uint32_t)age : 0;
}

static bool idle_flow(const struct nwx_flow_key *k, const struct nwx_flow *f,
		      void *arg)
{
	const struct sweep_arg *a = arg;
	uint32_t age = idle_age(a, f->sent_t);
	uint32_t give_up = NWX_MS_TO_T(NWX_IDLE_GIVE_UP_S * 1000);
	struct nwx_flow cur;

	if (f->state == NWX_FLOW_CLOSING ||
	    (f->state == NWX_FLOW_OWNED && (f->pend_method & NWX_PM_CLOSED))) {
		/* its last ACK was lost, or it never sent its FIN after ours:
		 * the client is gone, and there is nothing to hand off */
		if (age < give_up)
			return false;
	} else if (f->state != NWX_FLOW_OWNED || !a->limit || age < a->limit) {
		return false;
	} else if (age < a->limit + give_up) {
		/* the drain's probe: its ACK hands the flow to nano-web (XDP
		 * checks the age too) */
		probe_idle(k, f, NULL);
		return false;
	}
	/* only as read: not one XDP changed meanwhile */
	if (bpf_map_lookup_elem(a->x->fd_flows, k, &cur) || cur.state != f->state ||
	    cur.sent_t != f->sent_t || cur.rcv_nxt != f->rcv_nxt)
		return false;
	bpf_map_delete_elem(a->x->fd_flows, k);
	return true;
}

/* One walk for both: the flow map can be large */
static bool sweep_flow(const struct nwx_flow_key *k, const struct nwx_flow *f,
		       void *arg)
{
	const struct sweep_arg *a = arg;

	if (a->idle && idle_flow(k, f, arg))
		return false; /* deleted */
	return probe_lost(k, f, a->now);
}

unsigned xdpd_bpf_sweep(struct xdpd *x, bool idle)
{
	struct sweep_arg a = {
		.x = x,
		.now = (uint32_t)(xdpd_mono_ns() >> NWX_TIME_SHIFT),
		.limit = NWX_MS_TO_T((uint64_t)x->cfg.idle_s * 1000),
		.idle = idle,
	};
	unsigned sent = each_flow(x, sweep_flow, &a);

	x->loss_probes += sent;
	return sent;
}

int xdpd_bpf_stats(struct xdpd *x, struct nwx_stats *st)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 c[NWX_C_COUNT_] = { 0 }, *vals;
	struct bpf_map *m;
	unsigned cnt;

	memset(st, 0, sizeof(*st));
	if (ncpu <= 0)
		return -1;
	vals = calloc((size_t)ncpu, sizeof(__u64));
	if (!vals)
		return -1;
	for (__u32 k = 0; k < NWX_C_COUNT_; k++) {
		if (bpf_map_lookup_elem(x->fd_stats, &k, vals))
			continue;
		for (int i = 0; i < ncpu; i++)
			c[k] += vals[i];
	}
	free(vals);
	st->hits = c[NWX_C_HITS];
	st->hit_bytes = c[NWX_C_HIT_BYTES];
	st->handoffs = c[NWX_C_HANDOFFS];
	st->handoff_failed = c[NWX_C_HANDOFF_FAILED];
	st->syn_cookies = c[NWX_C_SYN_COOKIES];
	st->cookies_ok = c[NWX_C_COOKIES_OK];
	st->invalid_dropped = c[NWX_C_INVALID];
	st->retransmits = c[NWX_C_RETRANSMITS];
	st->fins = c[NWX_C_FINS];
	st->rsts = c[NWX_C_RSTS];
	st->passed = c[NWX_C_PASSED];
	st->misses = c[NWX_C_MISSES];
	st->multiseg = c[NWX_C_MULTISEG];
	st->seg_retransmits = c[NWX_C_SEG_RTX];
	st->loss_probes = x->loss_probes;
	st->memo_hits = c[NWX_C_MEMO_HITS];
	st->not_modified = c[NWX_C_NOT_MODIFIED];
	xdpd_gen_count(x, x->active_gen, &cnt);
	st->cache_entries = cnt;
	st->cache_capacity = bpf_map__max_entries(x->skel->maps.nwx_resp) / 2;
	bpf_object__for_each_map(m, x->skel->obj)
		st->map_memory += fd_memlock(bpf_map__fd(m));
	st->flow_entries = each_flow(x, any_flow, NULL);
	st->flow_capacity = bpf_map__max_entries(x->skel->maps.nwx_flows);
	st->active_generation = x->active_gen;
	st->ports = served_ports(x, NULL, 0);
	st->interfaces = 0;
	for (unsigned i = 0; i < x->n_ifs; i++)
		if (x->ifs[i].xdp_flags)
			st->interfaces++;
	return 0;
}
