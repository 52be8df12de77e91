-- wrk script: POST /api/v1/subjects/{id}/consents, flipping the newsletter of seeded subjects.
-- BENCH_IDS = a file of subject public ids, one a line; BENCH_KEY = a consent:write key.
local key = os.getenv("BENCH_KEY") or ""
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local i = 0

init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  i = math.random(0, #ids * 2)
end

request = function()
  i = i + 1
  local id = ids[(i % #ids) + 1]
  local status = (math.floor(i / #ids) % 2 == 0) and "withdrawn" or "granted"
  return wrk.format("POST", "/api/v1/subjects/" .. id .. "/consents",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"},
    '{"channel": "newsletter", "status": "' .. status .. '", "source": "api"}')
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
