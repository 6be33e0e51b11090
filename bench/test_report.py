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


def rrec(server, scn, rnd, rps):
    return {"server": server, "scenario": scn, "round": rnd, "rps": rps,
            "requests": int(rps), "errors": {"status": 0}, "transport": "veth"}


# a host whose speed halves in round 2 and recovers: rates scatter 2x,
# the ratio of two servers measured together does not
paired = [rrec("nano-web@veth", "head", 1, 110.0), rrec("h2o@veth", "head", 1, 100.0),
          rrec("nano-web@veth", "head", 2, 55.0), rrec("h2o@veth", "head", 2, 50.0),
          rrec("nano-web@veth", "head", 3, 99.0), rrec("h2o@veth", "head", 3, 90.0),
          rrec("nginx@veth", "head", 1, 80.0), rrec("nginx@veth", "head", 2, 40.0),
          rrec("nginx@veth", "head", 3, 95.0),
          rrec("nano-web+xdp@veth", "head", 1, 200.0),
          rrec("nano-web@veth", "not_found", 1, 10.0)]
check([round(x, 3) for x in nwbench.paired_ratios(paired, "nano-web@veth", "h2o@veth", "head")]
      == [1.1, 1.1, 1.1], "per-round ratios pair the two servers' rounds")
check(nwbench.paired_ratios(paired, "nano-web@veth", "h2o@veth", "not_found") == [],
      "no ratio where the peer has no round")
res = {"summary": nwbench.summarize(paired), "records": paired,
       "options": {"transports": ["veth"], "scenarios": ["head", "not_found"]}}
rows = nwbench.vs_best_peer(res)
check(len(rows) == 1 and rows[0]["best"] == "h2o@veth",
      "best peer is the one with the highest median (h2o 90 over nginx 80)")
check(rows and rows[0]["nano-web"]["median"] == 1.1 and rows[0]["nano-web"]["rounds"] == 3,
      "nano-web's median paired ratio to the best peer")
check(rows and rows[0]["nano-web+xdp"] == {"median": 2.0, "q1": 2.0, "q3": 2.0, "rounds": 1,
                                           "spread": 1.0},
      "one round gives that round's ratio")
md = "\n".join(nwbench.vs_best_markdown(rows))
# h2o answered wrongly (say, identity to a br request): not a fair best
flagged = [dict(r, probe_mismatch="identity answer") if r["server"] == "h2o@veth" else r
           for r in paired]
fres = dict(res, summary=nwbench.summarize(flagged), records=flagged)
frows = nwbench.vs_best_peer(fres)
check(frows and frows[0]["best"] == "nginx@veth" and frows[0]["left_out"] == ["h2o"],
      "a peer with a wrong answer is left out of the best-peer choice")
check("| veth | head | nginx (h2o left out: wrong answer) |"
      in "\n".join(nwbench.vs_best_markdown(frows)),
      "the markdown row says which peer was left out")
check("| veth | head | h2o | 90 | 1.10 [1.10–1.10] | 2.00 [2.00–2.00] |" in md,
      "the markdown row names the peer and gives median [middle half]")
res["vs_best"] = rows
line = nwbench.noise_line(res)
check(line is not None and "rounds of one server and scenario differ by a median of 100%" in line
      and "nano-web+xdp to the best peer differ by a median of 0%" in line,
      "noise line sets the rates' spread beside the paired ratios' spread")

busy, steal, total = nwbench.stat_ticks()
check(0 <= busy <= total and 0 <= steal <= total, "/proc/stat ticks are read")

sys.exit(1 if failed else 0)
