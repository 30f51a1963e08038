-- wrk done() hook for bench/run: prints one machine-readable line with the
-- run's totals and its p50/p99 latency.
--
-- wrk 4.1 "corrects" its latency histogram for coordinated omission before
-- done() runs: for every sample above twice the expected interval
-- E = duration / (requests / connections) it adds synthetic samples at
-- n-E, n-2E, ... That is wrk's usual behaviour and its own percentiles
-- include it, so for ordinary runs latency:percentile() is used as wrk
-- reports it. Under pipelining two things break: wrk records one sample per
-- batch while E is computed per response (so E is `depth` times too small
-- and the correction floods the histogram), and synthetic samples land
-- below the recorded minimum, which latency:percentile() never visits, so
-- its p99 reads 0. For pipelined runs (global pipeline_depth > 1) the raw
-- histogram is therefore read back bucket by bucket with latency(i), the
-- correction is undone, and p99 is taken over the real samples: the
-- latency of a whole batch (first write to last response). The result is
-- cross-checked against the number of batches; if it does not add up, or
-- the walk would take too long, -1 ("n/a") is printed.

pipeline_depth = pipeline_depth or 1

local function raw_histogram(latency, budget_s)
    local vals, data = {}, {}
    local t0 = os.clock()
    local i = 1
    while true do
        -- latency(i) is the i-th non-empty bucket from the minimum; past the
        -- last one the value is 0 (its count is then not meaningful).
        local v, c = latency(i)
        if v == nil or v == 0 then
            break
        end
        vals[i], data[v] = v, c
        i = i + 1
        if os.clock() - t0 > budget_s then
            return nil
        end
    end
    return vals, data
end

local function uncorrected_percentiles(summary, latency, conns, ps)
    local per_conn = math.floor(summary.requests / conns)
    if per_conn == 0 then
        return nil
    end
    local e = math.floor(summary.duration / per_conn)
    local vals, data = raw_histogram(latency, 5.0)
    if vals == nil or #vals == 0 or e <= 0 then
        return nil
    end
    local orig, total = {}, 0
    for k = #vals, 1, -1 do
        local v = vals[k]
        local added = 0
        if v > e then
            local n = v + e
            while n <= latency.max do
                added = added + (orig[n] or 0)
                n = n + e
            end
        end
        local o = data[v] - added
        if o < 0 then
            return nil
        end
        orig[v] = o
        total = total + o
    end
    local batches = summary.requests / pipeline_depth
    if math.abs(total - batches) > 0.05 * batches + conns then
        return nil
    end
    local out = { n = total }
    for j, p in ipairs(ps) do
        local rank, seen = math.ceil(p / 100 * total), 0
        for k = 1, #vals do
            seen = seen + orig[vals[k]]
            if seen >= rank then
                out[j] = vals[k]
                break
            end
        end
    end
    return out
end

function done(summary, latency, requests)
    local e = summary.errors
    local p50, p99, samples = -1, -1, -1
    if latency.max > 0 then
        if pipeline_depth > 1 then
            local conns = tonumber(os.getenv("BENCH_CONNS") or "")
            local r = conns and uncorrected_percentiles(summary, latency, conns, { 50, 99 })
            if r then
                p50, p99, samples = r[1], r[2], r.n
            end
        else
            p50, p99 = latency:percentile(50), latency:percentile(99)
        end
    end
    io.write(string.format(
        "BENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d " ..
        "status=%d timeout=%d p50_us=%d p99_us=%d max_us=%d samples=%d\n",
        summary.requests, summary.duration, summary.bytes, e.connect, e.read,
        e.write, e.status, e.timeout, p50, p99, latency.max, samples))
end
