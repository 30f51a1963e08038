-- 16 requests written at once on every connection (HTTP/1.1 pipelining),
-- for bench/run's "pipelined" workload. Same done() report as report.lua.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local depth = 16

init = function(args)
    local r = {}
    for i = 1, depth do
        r[i] = wrk.format(nil, wrk.path)
    end
    req = table.concat(r)
end

request = function()
    return req
end
