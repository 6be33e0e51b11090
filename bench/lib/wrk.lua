-- wrk script for the nano-web benchmark.
-- NWB_METHOD, NWB_PATH: the request; NWB_HEADERS: "Name: value" lines
-- separated by "|"; NWB_PATHLIST: a file of paths to cycle through.
-- done() prints one line "NWBENCH {json}" with counts and latency (us).
local method = os.getenv("NWB_METHOD") or "GET"
local path = os.getenv("NWB_PATH") or "/"
local hdrs = {}
for h in string.gmatch(os.getenv("NWB_HEADERS") or "", "[^|]+") do
  local k, v = string.match(h, "^%s*([^:]+):%s*(.-)%s*$")
  if k then hdrs[k] = v end
end
wrk.method = method
wrk.path = path
wrk.headers = hdrs

local list = os.getenv("NWB_PATHLIST")
if list and list ~= "" then
  local reqs = {}
  for p in io.lines(list) do
    if p ~= "" then reqs[#reqs + 1] = wrk.format(method, p, hdrs) end
  end
  local n = #reqs
  local i = 0
  init = function(args)
    i = math.random(n) - 1
  end
  request = function()
    i = i + 1
    if i > n then i = 1 end
    return reqs[i]
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'NWBENCH {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"lat_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
