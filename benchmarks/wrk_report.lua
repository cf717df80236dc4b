-- wrk script used by benchmarks/harness.py.
-- The request comes from the environment (BENCH_METHOD, BENCH_BODY,
-- BENCH_CONTENT_TYPE); done() prints one machine-readable line with the
-- request count, duration, latency percentiles (microseconds) and errors.
local method = os.getenv("BENCH_METHOD")
if method then wrk.method = method end
local body = os.getenv("BENCH_BODY")
if body then
  wrk.body = body
  wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "application/octet-stream"
end

-- BENCH_HEADERS: more request headers, one "Name: value" a line (e.g. Connection: close)
local headers = os.getenv("BENCH_HEADERS")
if headers then
  for line in headers:gmatch("[^\n]+") do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then wrk.headers[name] = value end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"mean_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}\n',
    summary.requests, summary.duration, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), e.connect, e.read, e.write, e.timeout, e.status))
end
