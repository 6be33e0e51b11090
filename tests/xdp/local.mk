# End-to-end tests of the kernel fast path (tests/xdp/). They need root
# (network namespaces, BPF): as an ordinary user they print a loud SKIP and
# exit 77; with CI=true they never skip.
#
#   close_csum.py  the checksum arithmetic of a "Connection: close"
#                  answer XDP builds in place (no root, no BPF)
#   client.py    nano-web's client (src/xdp_client.c) against a fake helper
#                speaking common/nanoweb_xdp_proto.h (no root, no BPF)
#   stats_cache.py  /_stats answers the counters the client thread read
#                (once a second while watched) and never waits for the
#                helper, even one that stopped answering (no root, no BPF)
#   tools.sh     self-test of the test tools (namespaces, veth, loss program,
#                spoofer, SYN flood generator, sniffer, parity comparer)
#   fallback.sh  every client check of veth.sh against nano-web without the
#                helper: clients must not notice the fallback
#   veth.sh      the kernel path end to end over veth (native XDP)
#   loopback.sh  the same on loopback (generic XDP) in a namespace of its own
#   multiseg.sh  answers of 2-3 segments over veth and loopback: parity,
#                keep-alive, the segments on the wire, the SYN-ACK's MSS,
#                one chosen segment lost, 15 % loss both ways (segments.py)
#   close.sh     requests with "Connection: close": parity, EOF, FIN on the
#                wire, answers built in place, other values handed off, a
#                write after the close reset, 2000 new connections, 15 %
#                loss both ways (closing.py)
#   notmod.sh    revalidations (If-None-Match): 304/200 parity from XDP,
#                what is handed off, keep-alive, Connection: close, in
#                place, remembered, after a reload (revalidating.py)
#   sock_abuse.sh  the helper's socket against abusive local peers: STATS
#                floods, per-uid and table limits, eviction for a writer,
#                bad-message runs, peers that do not read, log rate limits,
#                unsafe socket directories and paths to them, a second
#                helper on a live socket, a pinned cache of an older layout
#                (abusive_peers.py)

XDP_TEST_SUPPORT = tests/xdp/lib.sh tests/xdp/nwx.py tests/xdp/xt.py \
	tests/xdp/xt_selftest.py tests/xdp/e2e.py tests/xdp/loss.bpf.c \
	tests/xdp/pass.bpf.c tests/xdp/bench.sh tests/xdp/bench.py \
	tests/xdp/lsan-helper.supp tests/xdp/segments.py tests/xdp/dropseg.bpf.c \
	tests/xdp/closing.py tests/xdp/revalidating.py tests/xdp/abusive_peers.py \
	tests/xdp/idling.py
XDP_TESTS = tests/xdp/tools.sh tests/xdp/fallback.sh tests/xdp/veth.sh \
	tests/xdp/loopback.sh tests/xdp/multiseg.sh tests/xdp/close.sh \
	tests/xdp/notmod.sh tests/xdp/sock_abuse.sh tests/xdp/idle.sh
EXTRA_DIST += $(XDP_TEST_SUPPORT) $(XDP_TESTS) tests/xdp/client.py \
	tests/xdp/close_csum.py tests/xdp/stats_cache.py
TESTS += tests/xdp/client.py tests/xdp/close_csum.py tests/xdp/stats_cache.py

if HAVE_XDP
TESTS += $(XDP_TESTS)

# The helper's man page and systemd unit (installed with the helper).
nodist_man_MANS += man/nanoweb-xdpd.8
nodist_systemdunit_DATA += conf/nanoweb-xdpd.service

# Small BPF programs the tests attach on the client side.
XDP_TEST_BPF = tests/xdp/loss.bpf.o tests/xdp/pass.bpf.o tests/xdp/dropseg.bpf.o
check_DATA = $(XDP_TEST_BPF)
CLEANFILES += $(XDP_TEST_BPF)
XDP_TEST_BPF_CFLAGS = -O2 -g -Wall -Werror -target bpf

tests/xdp/loss.bpf.o: $(srcdir)/tests/xdp/loss.bpf.c
	$(AM_V_GEN)$(MKDIR_P) tests/xdp && $(CLANG) $(XDP_TEST_BPF_CFLAGS) \
		-I/usr/include/`uname -m`-linux-gnu -c $(srcdir)/tests/xdp/loss.bpf.c -o $@
tests/xdp/dropseg.bpf.o: $(srcdir)/tests/xdp/dropseg.bpf.c
	$(AM_V_GEN)$(MKDIR_P) tests/xdp && $(CLANG) $(XDP_TEST_BPF_CFLAGS) \
		-I/usr/include/`uname -m`-linux-gnu -c $(srcdir)/tests/xdp/dropseg.bpf.c -o $@
tests/xdp/pass.bpf.o: $(srcdir)/tests/xdp/pass.bpf.c
	$(AM_V_GEN)$(MKDIR_P) tests/xdp && $(CLANG) $(XDP_TEST_BPF_CFLAGS) \
		-I/usr/include/`uname -m`-linux-gnu -c $(srcdir)/tests/xdp/pass.bpf.c -o $@
endif
