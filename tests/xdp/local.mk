# End-to-end tests of the kernel fast path (tests/xdp/). They need root
# (network namespaces, BPF): as an ordinary user they print a loud SKIP and
# exit 77; with CI=true they never skip.
#
#   tools.sh     self-test of the test tools (namespaces, veth, loss program,
#                spoofer, SYN flood generator, sniffer, parity comparer)

XDP_TEST_SUPPORT = tests/xdp/lib.sh tests/xdp/nwx.py tests/xdp/xt.py \
	tests/xdp/tools.py tests/xdp/loss.bpf.c tests/xdp/pass.bpf.c
XDP_TESTS = tests/xdp/tools.sh
EXTRA_DIST += $(XDP_TEST_SUPPORT) $(XDP_TESTS)

if HAVE_XDP
TESTS += $(XDP_TESTS)

# Small BPF programs the tests attach on the client side.
XDP_TEST_BPF = tests/xdp/loss.bpf.o tests/xdp/pass.bpf.o
check_DATA = $(XDP_TEST_BPF)
CLEANFILES += $(XDP_TEST_BPF)
XDP_TEST_BPF_CFLAGS = -O2 -g -Wall -Werror -target bpf

tests/xdp/loss.bpf.o: $(srcdir)/tests/xdp/loss.bpf.c
	$(AM_V_GEN)$(MKDIR_P) tests/xdp && $(CLANG) $(XDP_TEST_BPF_CFLAGS) \
		-I/usr/include/`uname -m`-linux-gnu -c $(srcdir)/tests/xdp/loss.bpf.c -o $@
tests/xdp/pass.bpf.o: $(srcdir)/tests/xdp/pass.bpf.c
	$(AM_V_GEN)$(MKDIR_P) tests/xdp && $(CLANG) $(XDP_TEST_BPF_CFLAGS) \
		-I/usr/include/`uname -m`-linux-gnu -c $(srcdir)/tests/xdp/pass.bpf.c -o $@
endif
