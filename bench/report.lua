-- wrk done() hook for bench/run: prints one machine-readable line with the
-- totals and latency percentiles. The percentiles are computed here from the
-- raw histogram (latency(i) -> value, count) instead of being taken from
-- wrk's own summary, because wrk's printed percentiles are wrong under
-- pipelining; with pipelining, wrk records one latency per batch of requests
-- (first write to last response of the batch).

local function percentile_from_histogram(latency, p)
    local values, counts, total = {}, {}, 0
    local i = 1
    while true do
        local v, c = latency(i)
        if c == nil or c == 0 then
            break
        end
        values[i], counts[i] = v, c
        total = total + c
        i = i + 1
    end
    if total == 0 then
        return -1
    end
    local rank = math.ceil(p / 100 * total)
    local seen = 0
    for k = 1, #values do
        seen = seen + counts[k]
        if seen >= rank then
            return values[k]
        end
    end
    return values[#values]
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d " ..
        "status=%d timeout=%d p50_us=%d p99_us=%d wrk_p99_us=%d\n",
        summary.requests, summary.duration, summary.bytes, e.connect, e.read,
        e.write, e.status, e.timeout,
        percentile_from_histogram(latency, 50), percentile_from_histogram(latency, 99),
        latency:percentile(99)))
end
