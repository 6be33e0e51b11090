# fuzz targets (built by scripts/fuzz.sh; see tests/fuzz/)
EXTRA_DIST += tests/fuzz/fuzz_encoding.c tests/fuzz/fuzz_range.c \
	tests/fuzz/fuzz_conditional.c tests/fuzz/fuzz_urlpath.c \
	tests/fuzz/fuzz_mime.c tests/fuzz/fuzz_template.c tests/fuzz/fuzz_spa.c
