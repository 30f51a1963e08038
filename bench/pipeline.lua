-- 16 requests written at once on every connection (HTTP/1.1 pipelining),
-- for bench/run's "pipelined" workload; the done() report is report.lua's.
pipeline_depth = 16

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

init = function(args)
    local r = {}
    for i = 1, pipeline_depth do
        r[i] = wrk.format(nil, wrk.path)
    end
    req = table.concat(r)
end

request = function()
    return req
end
