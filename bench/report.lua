-- wrk done() hook for bench/run: prints one machine-readable line with the
-- run's totals and latency percentiles, computed here from wrk's latency
-- histogram (latency:percentile walks it once) rather than scraped from
-- wrk's human-readable summary.
--
-- Under pipelining wrk records one latency sample per batch (from writing
-- the batch to reading its last response), so there the figure is the
-- latency of a whole batch of requests, not of one request. Walking the raw
-- histogram with latency(i) is not an option: each call rescans the whole
-- histogram, and past the last value it returns a non-zero count.

function done(summary, latency, requests)
    local e = summary.errors
    local samples = latency.max > 0
    io.write(string.format(
        "BENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d " ..
        "status=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
        summary.requests, summary.duration, summary.bytes, e.connect, e.read,
        e.write, e.status, e.timeout,
        samples and latency:percentile(50) or -1,
        samples and latency:percentile(99) or -1,
        samples and latency.max or -1))
end
