-- wrk script: GET /api/v1/check for a random seeded subject's e-mail, with the API key.
-- BENCH_SUBJECTS (default 100000) = the seeded range user1..userN@example.com; BENCH_KEY = a consent:read key.
local n = tonumber(os.getenv("BENCH_SUBJECTS") or "100000")
local key = os.getenv("BENCH_KEY") or ""

init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

request = function()
  return wrk.format("GET", "/api/v1/check?channel=email&email=user" .. math.random(1, n) .. "%40example.com",
                    {["Authorization"] = "Bearer " .. key})
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,' ..
    '"mean_ms":%.3f,"max_ms":%.3f,"errors":%d,"err_detail":"connect=%d read=%d write=%d status=%d timeout=%d"}\n',
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.status + e.timeout,
    e.connect, e.read, e.write, e.status, e.timeout))
end
