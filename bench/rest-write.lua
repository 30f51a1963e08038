-- wrk script for bench/rest's write workloads: POST an item to a collection
-- or PATCH one item, with a JSON body that differs from one request to the
-- next, so that every PATCH really changes the item (a store could skip a
-- write that changes nothing) and every POST creates a new item.
--
-- Arguments after wrk's "--": METHOD CONTENT-TYPE, e.g.
--   wrk ... http://127.0.0.1:PORT/users -- POST application/json
--   wrk ... http://127.0.0.1:PORT/api/users/ID -- PATCH application/merge-patch+json
--
-- The requests are formatted once per thread in init() (a ring of RING
-- distinct requests, values unique per thread), so request() costs a Lua
-- call and a table lookup, no formatting.
-- The done() report is report.lua's (one "BENCH ..." line).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local RING = 1000
local thread_no = 0

setup = function(thread)
    thread_no = thread_no + 1
    thread:set("tid", thread_no)
end

local function body_for(method, t, k)
    if method == "POST" then
        return string.format(
            '{"name":"Bench User %d-%d","email":"bench.%d.%d@example.com",' ..
            '"age":%d,"tags":["bench","wrk"]}', t, k, t, k, 18 + k % 70)
    end
    return string.format('{"name":"Patched %d-%d","age":%d}', t, k, 18 + k % 70)
end

init = function(args)
    local method = args[1] or "POST"
    local ctype = args[2] or "application/json"
    local t = tid or 0
    -- wrk.headers already holds Host with the port (wrk.init sets it).
    local headers = {}
    for name, value in pairs(wrk.headers) do
        headers[name] = value
    end
    headers["Content-Type"] = ctype
    ring = {}
    for k = 1, RING do
        ring[k] = wrk.format(method, wrk.path, headers, body_for(method, t, k))
    end
    pos = 0
end

request = function()
    pos = pos % RING + 1
    return ring[pos]
end
