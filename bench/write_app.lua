-- wrk script: POST /api/v1/subjects/{id}/consents, flipping the newsletter of seeded subjects:
-- withdrawn then granted for each subject in turn, so that nearly every request is a change.
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
  local id = ids[(math.floor(i / 2) % #ids) + 1]
  local status = (i % 2 == 0) and "withdrawn" or "granted"
  return wrk.format("POST", "/api/v1/subjects/" .. id .. "/consents",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"},
    '{"channel": "newsletter", "status": "' .. status .. '", "source": "api"}')
end

-- done(): the BENCHJSON line bench/run.sh reads, shared with the other wrk script.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "wrk_report.lua")
