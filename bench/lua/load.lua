-- One script for every figure. Settings come from the environment:
--   BENCH_METHOD, BENCH_CTYPE, BENCH_BODY or BENCH_BODY_FILE (a fixed request), or
--   BENCH_REQUESTS_FILE (one "METHOD<TAB>path<TAB>body" line per request, sent in turn);
--   BENCH_DELAY_MS: pause per connection between requests (a paced, not saturating, load).
local method = os.getenv("BENCH_METHOD") or "POST"
local ctype = os.getenv("BENCH_CTYPE") or "application/x-www-form-urlencoded"
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

wrk.method = method
wrk.headers["Content-Type"] = ctype
if os.getenv("BENCH_AUTH") then
  wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
end
if os.getenv("BENCH_BODY_FILE") then
  wrk.body = slurp(os.getenv("BENCH_BODY_FILE"))
elseif os.getenv("BENCH_BODY") then
  wrk.body = os.getenv("BENCH_BODY")
end

local list = nil
local counter = 0
if os.getenv("BENCH_REQUESTS_FILE") then
  list = {}
  for line in io.lines(os.getenv("BENCH_REQUESTS_FILE")) do
    local m, p, b = line:match("^([^\t]*)\t([^\t]*)\t?(.*)$")
    if b == "" then b = nil end
    table.insert(list, wrk.format(m, p, nil, b))
  end
end

function setup(thread)
  thread:set("offset", math.random(1, 1000000))
end

function init(args)
  counter = tonumber(offset or 0)
end

if list then
  function request()
    counter = counter + 1
    return list[(counter % #list) + 1]
  end
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,' ..
    '"p50":%d,"p95":%d,"p99":%d,"mean":%.1f,"max":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max))
end
