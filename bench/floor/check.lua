-- wrk script for the floor: GET /floor/check for a random seeded e-mail.
-- FLOOR_SUBJECTS (100000) = the seeded range user1..userN@example.com; FLOOR_CHANNEL (email).
local subjects = tonumber(os.getenv("FLOOR_SUBJECTS") or "100000")
local channel = os.getenv("FLOOR_CHANNEL") or "email"

init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

request = function()
  return wrk.format("GET", "/floor/check?channel=" .. channel .. "&email=user" .. math.random(1, subjects) .. "%40example.com")
end

-- done(): the BENCHJSON line, the same as the app's scripts write (bench/wrk_report.lua).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "../wrk_report.lua")
