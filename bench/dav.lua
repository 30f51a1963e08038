-- wrk script for bench/dav: the WebDAV workloads.
--
-- Arguments after wrk's "--": WORKLOAD [FIRST]
--   propfind   PROPFIND Depth: 1 (allprop) of the request's URL
--   put        PUT of a 1 MiB body to the request's URL
--   lock       LOCK then UNLOCK of /locks/fN.txt, alternately; the UNLOCK
--              carries the token its LOCK got.  bench/dav runs this one with
--              as many threads as connections, so each connection has a Lua
--              state, a file and a token of its own: N is FIRST plus the
--              thread's number, and FIRST differs from run to run, so a lock
--              left by the previous run (wrk stops between a LOCK and its
--              UNLOCK) never meets the next one.
-- Every request is built once (a 1 MiB PUT is not rebuilt per request).
-- The done() report is report.lua's (one "BENCH ..." line); for lock it adds
-- "BENCH-NON2XX n", the answers outside 200-299, counted here (wrk itself
-- counts only status >= 400).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local kind = "propfind"
local token = nil
local lockinfo = '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">' ..
    '<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>' ..
    '</D:lockinfo>'
local thread_no = 0
local threads = {}
local lock_path = nil
local fixed = nil
local lock_req = nil
non2xx = 0

setup = function(thread)
    thread_no = thread_no + 1
    thread:set("tid", thread_no)
    table.insert(threads, thread)
end

init = function(args)
    kind = args[1] or "propfind"
    local first = tonumber(args[2] or "0")
    lock_path = string.format("/locks/f%d.txt", first + tonumber(tid or 1) - 1)
    if kind == "put" then
        fixed = wrk.format("PUT", nil, nil, string.rep("x", 1048576))
    elseif kind == "propfind" then
        fixed = wrk.format("PROPFIND", nil, { ["Depth"] = "1",
            ["Content-Type"] = "application/xml" },
            '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>')
    else
        lock_req = wrk.format("LOCK", lock_path, { ["Timeout"] = "Second-60",
            ["Content-Type"] = "application/xml" }, lockinfo)
    end
    if kind ~= "lock" then
        response = nil -- wrk would hand every body to Lua (7.5 MB for a PROPFIND)
    end
end

request = function()
    if fixed then
        return fixed
    elseif token then
        local t = token
        token = nil
        return wrk.format("UNLOCK", lock_path, { ["Lock-Token"] = t })
    else
        return lock_req
    end
end

response = function(status, headers, body)
    if status < 200 or status > 299 then
        non2xx = non2xx + 1
    elseif status == 200 or status == 201 then
        token = headers["Lock-Token"] or headers["lock-token"]
    end
end

local report_done = done
done = function(summary, latency, requests)
    report_done(summary, latency, requests)
    if kind == "lock" then
        local n = 0
        for _, t in ipairs(threads) do
            n = n + (t:get("non2xx") or 0)
        end
        io.write(string.format("BENCH-NON2XX %d\n", n))
    end
end
