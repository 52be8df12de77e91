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

-- done(): the BENCHJSON line bench/run.sh reads, shared with the other wrk script.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "wrk_report.lua")
