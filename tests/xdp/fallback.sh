#!/bin/bash
# The fallback clients must not notice: every client check of veth.sh (hits,
# keep-alive mixes, 301/304/206/404/405, split and pipelined requests, curl,
# http.client, wrk, 5% loss each way, SYN flood, reload under load) against
# nano-web with no nanoweb-xdpd at all.
exec bash "$(dirname "$0")/veth.sh" --no-helper "$@"
