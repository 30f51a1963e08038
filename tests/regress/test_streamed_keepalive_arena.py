"""Regression: on an HTTP/1 keep-alive connection, a streamed response
(nxx_resp_stream/nxx_resp_start: every proxied response is one) whose bytes
were all written while its request still ran kept the request's arena when
the response ended.  The arena is released when the output queue drains with
no request in progress; a stream drains while its request is current, so
h1_end found nothing left to drain and released nothing, and every later
request on the connection bumped further into the same arena.  A client
that kept one connection open for thousands of proxied requests grew the
server's resident memory by a few kilobytes per request until it closed
(about 20 MB for 5,000 requests).  Now h1_end releases the arena when the
stream's output has already gone."""

from harness import (Conn, Server, build_request, check, check_status, make_docroot, rss_kb,
                     timeout)
from upstreams import ProxyServer

SERIAL = True  # measures the server's memory

BODY = b"s" * 600
WARM = 200
BATCH = 20
BATCHES = 250  # 5,000 streamed responses on one connection
LIMIT_KB = 2048


@timeout(120)
def test_streamed_responses_on_one_connection_keep_rss_flat():
    root = make_docroot({"s.txt": BODY})
    # the upstream is another nxx serving a file; the proxy streams each answer
    with Server(root, "--access-log", "off", threads=1, upstream=True) as up, \
            ProxyServer(up.url, "--access-log", "off", threads=1) as px, \
            Conn(px, 30) as c:
        for _ in range(WARM):
            c.send(build_request("GET", "/s.txt"))
            check_status(c.read_response("GET"), 200, "warm-up")
        base = rss_kb(px.proc.pid)
        batch = build_request("GET", "/s.txt") * BATCH
        for i in range(BATCHES):
            c.send(batch)
            for _ in range(BATCH):
                r = c.read_response("GET")
                check(r.status == 200 and r.body == BODY,
                      f"batch {i}: {r.status}, {len(r.body)} bytes")
        grown = rss_kb(px.proc.pid) - base
        check(grown < LIMIT_KB, f"{BATCH * BATCHES} streamed responses on one keep-alive "
                                f"connection grew the server's RSS by {grown} KB "
                                f"(limit {LIMIT_KB} KB)")
