/* nanoweb-xdpd: the privileged helper of nano-web's kernel fast path. */
#ifndef XDPD_H
#define XDPD_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <net/if.h>
#include <poll.h>
#include <time.h>
#include "config.h"
#include "nanoweb_xdp_proto.h"
#include "xdpd_owner.h"

#define XDPD_MAX_IFACES NW_XDP_MAX_IFACES
#define XDPD_MAX_USERS 32

enum xdpd_attach { XDPD_ATTACH_AUTO = 0, XDPD_ATTACH_NATIVE, XDPD_ATTACH_GENERIC };

struct xdpd_cfg {
	char *ifaces;        /* comma separated; NULL: every interface that is up */
	char *socket;
	char *pin_dir;
	enum xdpd_attach attach;
	unsigned max_response;
	unsigned flow_entries;
	unsigned cache_entries;
	uid_t allowed[XDPD_MAX_USERS];
	unsigned n_allowed;
	bool foreground;
	unsigned drain_ms;   /* clean stop: longest wait for owned flows */
	unsigned idle_s;     /* [limits] timeout: XDP-owned connections idle
			      * longer go to nano-web (0: never) */
};

struct xdpd_iface {
	char name[IF_NAMESIZE];
	int ifindex;        /* set by lock_ifaces() */
	uint32_t xdp_flags; /* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE */
	bool tc;
	int lock_fd;        /* xdpd_iflock(); -1: not held */
};

struct nanoweb;

struct xdpd {
	struct xdpd_cfg cfg;
	struct nanoweb *skel;
	int fd_ctl, fd_secret, fd_date, fd_ports, fd_paths, fd_resp, fd_more, fd_flows,
	    fd_stats;
	bool adopted;
	uint32_t started_t;  /* setup time, NWX_TIME() units: flows of
			      * adopted pins were stamped by older programs */
	struct xdpd_iface ifs[XDPD_MAX_IFACES];
	unsigned n_ifs;
	uint32_t active_gen, next_gen;
	/* the generation active before the last flip, kept until the next
	 * BEGIN: answers sent from it may still be resent (loss recovery,
	 * a retransmitted request) */
	uint32_t prev_gen;
	uint32_t date_idx;
	time_t last_date;
	/* ports that a previous helper registered, kept until claimed or
	 * until adopt_deadline */
	uint16_t adopted_ports[NWX_MAX_PORTS];
	unsigned n_adopted_ports;
	time_t adopt_deadline;
	struct xdpd_owner owner; /* the single writer (xdpd_owner.h) */
	long last_sweep_ms;      /* loss probes: last sweep of the flow map */
	long last_idle_ms;       /* the last sweep that looked for idle flows */
	long last_lease_ms;      /* NWX_CTL_LEASE last renewed */
	uint64_t loss_probes;    /* loss probes sent */
};

/* log.c-like: one line on stderr */
void xlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* CLOCK_MONOTONIC, ns (what bpf_ktime_get_*ns read in the programs) */
uint64_t xdpd_mono_ns(void);

/* xdpd_bpf.c */
int xdpd_bpf_setup(struct xdpd *x);        /* load or adopt, pin, attach */
void xdpd_bpf_teardown(struct xdpd *x, bool keep); /* keep: leave attached+pinned */
void xdpd_bpf_tick(struct xdpd *x);        /* Date map, grace period */
int xdpd_bpf_stats(struct xdpd *x, struct nwx_stats *st);
int xdpd_gen_delete(struct xdpd *x, uint32_t gen); /* entries of a generation */
int xdpd_gen_count(struct xdpd *x, uint32_t gen, unsigned *count);
int xdpd_gen_copy(struct xdpd *x, uint32_t from, uint32_t to, unsigned *count);
int xdpd_gen_flip(struct xdpd *x, uint32_t gen);
void xdpd_gen_release_prev(struct xdpd *x);
/* returns 0 or NWX_E_*; a response that is not there yet needs room (the
 * entries the generation may still take: NWX_E_NOSPC at 0), and *added
 * says whether it took one */
int xdpd_map_put(struct xdpd *x, uint32_t gen, const struct nwx_put *p,
		 const char *path, const uint8_t *resp, const uint8_t *tag,
		 size_t tag_len, unsigned room, int *staged_change, char *err,
		 size_t errlen);
int xdpd_map_delete(struct xdpd *x, uint32_t gen, const char *path,
		    unsigned len, unsigned method, unsigned enc, unsigned *removed);
int xdpd_port_set(struct xdpd *x, uint16_t port, bool on);
void xdpd_drop_adopted_ports(struct xdpd *x, const uint16_t *keep, unsigned n);
int xdpd_bpf_drain(struct xdpd *x, bool on); /* NWX_CTL_DRAIN */
/* flows XDP still owns (OWNED, CLOSING, or HANDOFF not yet taken by TC) */
unsigned xdpd_bpf_owned_flows(struct xdpd *x);
/* drain: a keep-alive-style probe to each idle owned flow (see xdpd_bpf.c) */
unsigned xdpd_bpf_probe_owned(struct xdpd *x);
/* loss recovery: probes flows whose multi-segment answer is not fully
 * acknowledged after NWX_RTO_MS (called by xdpd_bpf_tick every 100 ms);
 * and, when idle is set (once a second), connections idle past cfg.idle_s:
 * probed, so that the client's ACK hands them to nano-web; given up (entry
 * deleted) NWX_IDLE_GIVE_UP_S later, as are CLOSING flows whose last ACK
 * never came. One walk of the flow map for both; returns the loss probes
 * sent. */
unsigned xdpd_bpf_sweep(struct xdpd *x, bool idle);

/* xdpd_sock.c */
/* before anything is loaded: a socket the helper could not take is refused
 * without attaching first */
int xdpd_sock_check(struct xdpd *x);
int xdpd_sock_listen(struct xdpd *x);
void xdpd_sock_accept(struct xdpd *x);
void xdpd_sock_poll_fds(struct xdpd *x, struct pollfd *pfd, unsigned *n);
void xdpd_sock_handle(struct xdpd *x, struct pollfd *pfd, unsigned n);
void xdpd_sock_close_all(struct xdpd *x);
bool xdpd_port_claimed(uint16_t port);
bool xdpd_gen_in_use(uint32_t gen);
int xdpd_stats_client(const char *socket_path);

#endif
