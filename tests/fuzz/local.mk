# fuzz targets (built by scripts/fuzz.sh; see tests/fuzz/). make check runs
# each for a few seconds (tests/fuzz/smoke.sh).
TESTS += tests/fuzz/smoke.sh
EXTRA_DIST += tests/fuzz/smoke.sh \
	tests/fuzz/fuzz_encoding.c tests/fuzz/fuzz_range.c \
	tests/fuzz/fuzz_conditional.c tests/fuzz/fuzz_urlpath.c \
	tests/fuzz/fuzz_mime.c tests/fuzz/fuzz_template.c tests/fuzz/fuzz_spa.c \
	tests/fuzz/fuzz_framing.c tests/fuzz/fuzz_config.c \
	tests/fuzz/fuzz_xdpd_proto.c
