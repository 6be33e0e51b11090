# The kernel fast path: BPF programs (xdp/nanoweb.bpf.c) and the privileged
# helper nanoweb-xdpd. See xdp/README.md.

EXTRA_DIST += xdp/nanoweb.bpf.c xdp/README.md xdp/dev/veth-demo.sh xdp/dev/push.py \
	xdp/dev/lo-demo.sh xdp/dev/owner-demo.sh xdp/dev/nwxc.py xdp/dev/drain-demo.sh \
	xdp/dev/connload.c xdp/dev/measure.sh

if HAVE_XDP
sbin_PROGRAMS = nanoweb-xdpd
nanoweb_xdpd_SOURCES = \
	xdp/xdpd_main.c xdp/xdpd.h \
	xdp/xdpd_bpf.c \
	xdp/xdpd_sock.c \
	xdp/xdpd_proto.c xdp/xdpd_proto.h \
	xdp/xdpd_owner.c xdp/xdpd_owner.h \
	xdp/xdpd_listen.c xdp/xdpd_listen.h \
	xdp/xdpd_clsact.c xdp/xdpd_clsact.h \
	xdp/xdpd_iflock.c xdp/xdpd_iflock.h \
	common/nanoweb_xdp_proto.h
nodist_nanoweb_xdpd_SOURCES = xdp/nanoweb.skel.h
nanoweb_xdpd_CPPFLAGS = $(AM_CPPFLAGS) -Ixdp -I$(srcdir)/xdp
nanoweb_xdpd_CFLAGS = $(AM_CFLAGS) $(LIBBPF_CFLAGS) $(LIBELF_CFLAGS) $(INIH_CFLAGS)
# libnwcore: nano-web's INI reader (config.c), so both read nanoweb.ini alike.
nanoweb_xdpd_LDADD = libnwcore.a $(LIBBPF_LIBS) $(LIBELF_LIBS) $(INIH_LIBS)

XDP_BPF_CFLAGS = -g -O2 -Wall -target bpf -D__TARGET_ARCH_x86

xdp/vmlinux.h:
	$(AM_V_GEN)$(MKDIR_P) xdp && \
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && \
	mv $@.tmp $@

xdp/nanoweb.bpf.o: $(srcdir)/xdp/nanoweb.bpf.c xdp/vmlinux.h \
		$(srcdir)/common/nanoweb_xdp_proto.h
	$(AM_V_GEN)$(CLANG) $(XDP_BPF_CFLAGS) -Ixdp -I$(srcdir)/common \
		-c $(srcdir)/xdp/nanoweb.bpf.c -o $@

xdp/nanoweb.skel.h: xdp/nanoweb.bpf.o
	$(AM_V_GEN)$(BPFTOOL) gen skeleton xdp/nanoweb.bpf.o name nanoweb > $@.tmp && \
	mv $@.tmp $@

# every object of the helper may include the skeleton
$(am_nanoweb_xdpd_OBJECTS): xdp/nanoweb.skel.h

CLEANFILES += xdp/vmlinux.h xdp/nanoweb.bpf.o xdp/nanoweb.skel.h \
	xdp/vmlinux.h.tmp xdp/nanoweb.skel.h.tmp

# Unit tests of the helper's pure logic (message validation, checksums).
XDP_UNIT_TESTS = tests/xdp-unit/test_xdpd_proto tests/xdp-unit/test_xdpd_owner \
	tests/xdp-unit/test_xdpd_listen
check_PROGRAMS += $(XDP_UNIT_TESTS)
TESTS += $(XDP_UNIT_TESTS)
tests_xdp_unit_test_xdpd_proto_SOURCES = tests/xdp-unit/test_xdpd_proto.c \
	xdp/xdpd_proto.c xdp/xdpd_proto.h common/nanoweb_xdp_proto.h
tests_xdp_unit_test_xdpd_proto_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/xdp
tests_xdp_unit_test_xdpd_owner_SOURCES = tests/xdp-unit/test_xdpd_owner.c \
	xdp/xdpd_owner.c xdp/xdpd_owner.h common/nanoweb_xdp_proto.h
tests_xdp_unit_test_xdpd_owner_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/xdp
tests_xdp_unit_test_xdpd_listen_SOURCES = tests/xdp-unit/test_xdpd_listen.c \
	tests/unit/check.h xdp/xdpd_listen.c xdp/xdpd_listen.h
tests_xdp_unit_test_xdpd_listen_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/xdp \
	-I$(srcdir)/tests/unit
endif
