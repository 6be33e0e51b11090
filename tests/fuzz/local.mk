# fuzz targets (built by scripts/fuzz.sh; see tests/fuzz/)
