#!/usr/bin/env python3
"""make check: the benchmark's pure helpers, on made-up records (no
servers): the answer check that keeps the comparison fair, and the noise
measures that tell a reader which differences are differences."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import nwbench  # noqa: E402

failed = 0


def check(ok, what):
    global failed
    print("%s: %s" % ("PASS" if ok else "FAIL", what))
    if not ok:
        failed += 1


BR = {"Accept-Encoding": "gzip, deflate, br, zstd"}
ok200 = {"status": 200, "encoding": "identity"}
check(nwbench.uncompressed("GET", "/assets/app.js", BR, ok200),
      "identity answer to a br request for JS is flagged")
check(not nwbench.uncompressed("GET", "/assets/app.js", BR, {"status": 200, "encoding": "gzip"}),
      "gzip answer to a br request is accepted (nginx without brotli)")
check(not nwbench.uncompressed("GET", "/index.html", {}, ok200),
      "identity answer to a request without Accept-Encoding is accepted")
check(not nwbench.uncompressed("GET", "/blob.bin", BR, ok200),
      "identity answer for an incompressible blob is accepted")
check(not nwbench.uncompressed("HEAD", "/index.html", BR, ok200),
      "HEAD is not checked")
check(not nwbench.uncompressed("GET", "/index.html", BR, {"status": 304, "encoding": "identity"}),
      "a 304 (no body) is not checked")


def rec(server, scn, rps, steal):
    return {"server": server, "scenario": scn, "rps": rps, "steal_pct": steal,
            "requests": int(rps), "errors": {"status": 0}}


records = [rec("nano-web", "head", 100.0, 0.0), rec("nano-web", "head", 150.0, 4.0),
           rec("nginx", "head", 100.0, 1.0), rec("nginx", "head", 110.0, 2.0)]
summary = nwbench.summarize(records)
check(summary["nano-web|head"]["round_spread"] == 1.5, "round spread is max/min over rounds")
check(summary["nginx|head"]["round_spread"] == 1.1, "round spread of the second row")
line = nwbench.noise_line({"summary": summary, "records": records})
print(line)
check(line is not None and "median of 30%" in line and "90th percentile 50%" in line
      and "most 50%" in line,
      "noise line gives the median and largest spread")
check(line is not None and "steal" in line and "median 1.5%" in line and "most 4.0%" in line,
      "noise line gives the CPU steal")
one = nwbench.summarize(records[:1])
check(one["nano-web|head"]["round_spread"] is None, "one round has no spread")
check(nwbench.noise_line({"summary": one, "records": [{"server": "x"}]}) is None,
      "no noise line without rounds or steal figures")

busy, steal, total = nwbench.stat_ticks()
check(0 <= busy <= total and 0 <= steal <= total, "/proc/stat ticks are read")

sys.exit(1 if failed else 0)
