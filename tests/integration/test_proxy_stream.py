"""A 1 GiB upload and a 1 GiB download through the proxy keep the server's
resident memory within 16 MB of where it started: both contents stream
with back-pressure instead of collecting in the proxy.  The upstream reads
slowly at first and the client reads slowly at first, so the side that
waits is the proxy's."""

import threading
import time

from harness import Conn, build_request, check, check_status, eq, rss_kb, timeout
from upstreams import FakeUpstream, ProxyServer

SERIAL = True  # measures memory

GIB = 1 << 30
LIMIT_KB = 16 * 1024


class Peak:
    """Samples a process's RSS until stopped; keeps the largest."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, rss_kb(pid), False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop:
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.05)

    def done(self):
        self.stop = True
        self.t.join()
        return self.peak


def _sink(c):
    head = c.read_head()
    n = int(head.header("content-length"))
    time.sleep(1)  # let the proxy meet a full upstream socket first
    got = len(c.buf)
    c.buf = b""
    while got < n:
        chunk = c.sock.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    c.respond(200, [], b"%d" % got)


def _source(c):
    c.read_head()
    c.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % GIB)
    block = b"\xa5" * (1 << 20)
    for _ in range(GIB // len(block)):
        c.sock.sendall(block)


@timeout(240)
def test_upload_1gib_in_bounded_memory():
    up = FakeUpstream(_sink)
    with ProxyServer(up.url, "--max-body-bytes", "2G", threads=1) as srv, Conn(srv, 120) as c:
        # warm up: the first request's allocations are not growth
        base = rss_kb(srv.proc.pid)
        peak = Peak(srv.proc.pid)
        c.send(build_request("PUT", "/big", [("Content-Length", str(GIB))]))
        block = b"\x5a" * (1 << 20)
        for _ in range(GIB // len(block)):
            c.sock.sendall(block)
        r = c.read_response("PUT", 120)
        top = peak.done()
        check_status(r, 200, "the upstream's answer")
        eq(r.body, b"%d" % GIB, "every byte reached the upstream")
        check(top - base < LIMIT_KB, f"RSS grew by {top - base} KB (limit {LIMIT_KB} KB)")
    up.close()


@timeout(240)
def test_download_1gib_in_bounded_memory():
    up = FakeUpstream(_source)
    with ProxyServer(up.url, threads=1) as srv, Conn(srv, 120) as c:
        base = rss_kb(srv.proc.pid)
        peak = Peak(srv.proc.pid)
        c.send(build_request("GET", "/big"))
        time.sleep(1)  # a client that does not read at first
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += c.sock.recv(65536)
        head, _, rest = buf.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 200"), f"head: {head[:100]!r}")
        check(b"Content-Length: %d" % GIB in head, "the upstream's length is kept")
        got = len(rest)
        c.sock.settimeout(60)
        while got < GIB:
            chunk = c.sock.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
        top = peak.done()
        eq(got, GIB, "every byte reached the client")
        check(top - base < LIMIT_KB, f"RSS grew by {top - base} KB (limit {LIMIT_KB} KB)")
    up.close()


@timeout(120)
def test_keepalive_requests_do_not_grow_memory():
    # every proxied response is a stream: each must give its memory back at
    # its end, not when the client's connection closes
    from upstreams import serve_forever

    def h(c, req):
        c.respond(200, [("Content-Type", "text/plain")], b"x" * 600)
    up = FakeUpstream(serve_forever(h))
    with ProxyServer(up.url, threads=1) as srv, Conn(srv, 30) as c:
        for _ in range(200):
            c.send(build_request("GET", "/warm"))
            check_status(c.read_response("GET"), 200, "warm-up")
        base = rss_kb(srv.proc.pid)
        batch = build_request("GET", "/k") * 20
        for _ in range(250):
            c.send(batch)
            for _ in range(20):
                c.read_response("GET")
        grown = rss_kb(srv.proc.pid) - base
        check(grown < 2048, f"5000 keep-alive requests grew RSS by {grown} KB")
    up.close()
