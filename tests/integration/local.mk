# Integration tests: start the real nano-web binary on a loopback port and
# talk to it with http.client, raw sockets and curl (Python 3 stdlib only).
# Each script exits 0 (pass), 1 (fail) or 77 (skip; never under CI=true).
IT_TESTS = \
	tests/integration/test_basic.py \
	tests/integration/test_negotiation.py \
	tests/integration/test_conditional_range.py \
	tests/integration/test_preconditions.py \
	tests/integration/test_disk_changed.py \
	tests/integration/test_large_bodies.py \
	tests/integration/test_paths.py \
	tests/integration/test_spa_404.py \
	tests/integration/test_config_cli.py \
	tests/integration/test_reload.py \
	tests/integration/test_limits_shutdown.py \
	tests/integration/test_logging.py \
	tests/integration/test_serve_script.py \
	tests/integration/test_install.py
TESTS += $(IT_TESTS)
EXTRA_DIST += $(IT_TESTS) tests/integration/nwtest.py tests/integration/local.mk \
	tests/integration/README.md tests/integration/test_xdpd_config.py

# nanoweb-xdpd --check-config against nano-web on the same files (reads the
# configuration only: nothing is loaded or attached).
if HAVE_XDP
TESTS += tests/integration/test_xdpd_config.py
endif

# LD_PRELOAD fault injection for test_limits_shutdown.py (a shared object,
# built as a program linked with -shared).
check_PROGRAMS += tests/integration/epoll_delay.so
tests_integration_epoll_delay_so_SOURCES = tests/integration/epoll_delay.c
tests_integration_epoll_delay_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_integration_epoll_delay_so_LDFLAGS = -shared
tests_integration_epoll_delay_so_LDADD = -ldl
