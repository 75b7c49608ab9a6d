-- One script for every figure. Settings come from the environment:
--   BENCH_METHOD, BENCH_CTYPE, BENCH_BODY or BENCH_BODY_FILE (a fixed request), or
--   BENCH_REQUESTS_FILE (one "METHOD<TAB>path<TAB>body" line per request, sent in turn);
--   BENCH_DELAY_MS: pause per connection between requests (a paced, not saturating, load);
--   BENCH_RATE: requests per second per wrk thread on a fixed schedule, whatever the
--   answers' latency (each request takes the next free slot; a connection waits for it).
local method = os.getenv("BENCH_METHOD") or "POST"
local ctype = os.getenv("BENCH_CTYPE") or "application/x-www-form-urlencoded"
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local rate = tonumber(os.getenv("BENCH_RATE") or "0")

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

if rate > 0 then
  -- wrk is closed-loop: a connection sends its next request when the answer comes. Here
  -- the thread hands out send times one interval apart and a free connection waits for
  -- the next one, so the offered rate stays constant while connections are free. Slots
  -- missed while every connection waited for an answer are sent at once afterwards (up
  -- to a second of them), so a stall shows in the latency of what arrived during it.
  local ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clk_id, bench_timespec *tp);
  ]]
  local ts = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 / rate
  local next_slot = nil
  function delay()
    local now = now_ms()
    if next_slot == nil or next_slot < now - 1000 then
      next_slot = now
    end
    local wait = next_slot - now
    next_slot = next_slot + interval
    if wait <= 0 then
      return 0
    end
    return math.floor(wait)  -- wrk's timers are in whole ms and fire late rather than early
  end
elseif delay_ms > 0 then
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
