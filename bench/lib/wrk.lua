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
  local reqs, paths = {}, {}
  for p in io.lines(list) do
    if p ~= "" then paths[#paths + 1] = p; reqs[#reqs + 1] = false end
  end
  local n = #reqs
  local i = 0
  init = function(args)
    -- wrk.format adds no Host header: without one nginx and lighttpd answer 400
    local h = {}
    for k, v in pairs(hdrs) do h[k] = v end
    h["Host"] = wrk.host .. ":" .. wrk.port
    for j = 1, n do reqs[j] = wrk.format(method, paths[j], h) end
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
