# bench/: nano-web against nginx, h2o and lighttpd (see bench/README.md).
# The full run is `bench/run`; make check runs only the few-second smoke mode.
TESTS += bench/smoke.sh bench/test_report.py
EXTRA_DIST += bench/run bench/smoke.sh bench/test_report.py bench/README.md \
	bench/lib/nwbench.py bench/lib/bpfstats.py bench/lib/fixtures.py bench/lib/wrk.lua bench/lib/nwload.c \
	bench/dev/instructions.sh bench/dev/pair.sh \
	bench/configs/nginx.conf.in bench/configs/h2o.conf.in \
	bench/configs/lighttpd.conf.in bench/configs/nano-web-xdp.ini.in
