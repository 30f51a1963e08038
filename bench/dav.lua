-- wrk script for bench/dav: the WebDAV workloads.
--
-- Arguments after wrk's "--": WORKLOAD
--   propfind   PROPFIND Depth: 1 (allprop) of the request's URL
--   put        PUT of a 1 MiB body to the request's URL
--   lock       LOCK then UNLOCK of /locks/fN.txt (N: the thread's number),
--              alternately, each thread with one connection (the UNLOCK
--              carries the token its LOCK got)
-- The done() report is report.lua's (one "BENCH ..." line).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local kind = "propfind"
local token = nil
local lockinfo = '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">' ..
    '<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>' ..
    '</D:lockinfo>'
local body_1m = nil
local thread_no = 0
local lock_path = nil

setup = function(thread)
    thread_no = thread_no + 1
    thread:set("tid", thread_no)
end

init = function(args)
    -- each thread locks a file of its own (exclusive locks on one file conflict)
    lock_path = string.format("/locks/f%d.txt", tonumber(tid or 1) % 256)
    kind = args[1] or "propfind"
    if kind == "put" then
        body_1m = string.rep("x", 1048576)
    end
    if kind ~= "lock" then
        response = nil -- wrk would hand every body to Lua (7.5 MB for a PROPFIND)
    end
end

request = function()
    if kind == "propfind" then
        return wrk.format("PROPFIND", nil, { ["Depth"] = "1",
            ["Content-Type"] = "application/xml" },
            '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>')
    elseif kind == "put" then
        return wrk.format("PUT", nil, nil, body_1m)
    elseif token then
        local t = token
        token = nil
        return wrk.format("UNLOCK", lock_path, { ["Lock-Token"] = t })
    else
        return wrk.format("LOCK", lock_path, { ["Timeout"] = "Second-60",
            ["Content-Type"] = "application/xml" }, lockinfo)
    end
end

response = function(status, headers, body)
    if kind == "lock" and (status == 200 or status == 201) then
        token = headers["Lock-Token"] or headers["lock-token"]
    end
end
