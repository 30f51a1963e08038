"""Persistent connections (RFC 9112 §9): keep-alive per version and Connection,
pipelining answered in order, and many concurrent connections."""

import socket
import time

from harness import (A_TXT, INDEX_HTML, SUB_INDEX_HTML, Conn, Server, build_request, check,
                     check_status, connect, eq, make_docroot, parse_response, shared, timeout)

_root = None


def root():
    global _root
    if _root is None:
        _root = make_docroot()
    return _root


def srv():
    return shared("nxx serve (defaults)", lambda: Server(root()))


def test_http11_keeps_connection_for_5_requests():
    with Conn(srv()) as c:
        for i in range(5):
            r = c.request("GET", "/a.txt")
            check_status(r, 200, f"request {i + 1}")
            eq(r.body, A_TXT, f"body {i + 1}")
            check((r.header("connection") or "").lower() != "close",
                  f"request {i + 1}: server announced close")
        check(not c.wait_eof(0.2), "server closed a keep-alive connection")


def test_connection_close_is_honoured():
    with Conn(srv()) as c:
        r = c.request("GET", "/a.txt", [("Connection", "close")])
        check_status(r, 200)
        eq((r.header("connection") or "").lower(), "close", "Connection in the response")
        check(c.wait_eof(3.0), "server did not close after Connection: close")
        eq(bytes(c.buf), b"", "bytes after the response")


def test_connection_close_mixed_case_and_list():
    with Conn(srv()) as c:
        r = c.request("GET", "/a.txt", [("Connection", "Keep-Alive, CLOSE")])
        check_status(r, 200)
        check(c.wait_eof(3.0), "server did not close after 'Connection: Keep-Alive, CLOSE'")


def test_http10_closes_by_default():
    with Conn(srv()) as c:
        r = c.request("GET", "/a.txt", version="HTTP/1.0", host=False)
        check_status(r, 200)
        eq(r.body, A_TXT, "body")
        check(r.version in ("HTTP/1.1", "HTTP/1.0"), r.version)
        check(c.wait_eof(3.0), "HTTP/1.0 connection not closed")


def test_http10_keep_alive_when_asked():
    with Conn(srv()) as c:
        for i in range(3):
            r = c.request("GET", "/a.txt", [("Connection", "keep-alive")], version="HTTP/1.0",
                          host=False)
            check_status(r, 200, f"request {i + 1}")
            eq((r.header("connection") or "").lower(), "keep-alive",
               f"request {i + 1}: Connection in the response")
            check(r.has("content-length"), "keep-alive 1.0 response without Content-Length")
        r = c.request("GET", "/a.txt", version="HTTP/1.0", host=False)
        check_status(r, 200, "last request without keep-alive")
        check(c.wait_eof(3.0), "connection not closed after a 1.0 request without keep-alive")


def test_http10_head_and_404():
    with Conn(srv()) as c:
        r = c.request("HEAD", "/a.txt", [("Connection", "keep-alive")], version="HTTP/1.0",
                      host=False)
        check_status(r, 200)
        r = c.request("GET", "/missing", [("Connection", "keep-alive")], version="HTTP/1.0",
                      host=False)
        check_status(r, 404)
        r = c.request("GET", "/a.txt", version="HTTP/1.0", host=False)
        eq(r.body, A_TXT, "body after HEAD and 404")


PIPELINE = [
    ("GET", "/a.txt", 200, A_TXT),
    ("GET", "/missing", 404, None),
    ("HEAD", "/a.txt", 200, b""),
    ("GET", "/", 200, INDEX_HTML),
    ("GET", "/sub/", 200, SUB_INDEX_HTML),
    ("HEAD", "/missing", 404, b""),
    ("GET", "/sub", 301, None),
    ("OPTIONS", "/a.txt", 204, b""),
    ("GET", "/.secret", 404, None),
    ("GET", "/with%20space.txt", 200, None),
]


def test_pipelining_20_requests_in_one_write():
    reqs = (PIPELINE * 2)[:20]
    data = b"".join(build_request(m, t, [("X-Seq", str(i))]) for i, (m, t, _, _) in enumerate(reqs))
    with Conn(srv(), 10) as c:
        c.send(data)
        for i, (method, target, status, body) in enumerate(reqs):
            r = c.read_response(method, timeout_s=10)
            check_status(r, status, f"pipelined #{i + 1} {method} {target}")
            if body is not None:
                eq(r.body, body, f"pipelined #{i + 1} {method} {target} body")
        check(not c.wait_eof(0.2), "connection closed after the pipeline")
        eq(bytes(c.buf), b"", "extra bytes after 20 responses")


def test_pipelining_last_request_closes():
    data = b"".join(build_request("GET", "/a.txt") for _ in range(4))
    data += build_request("GET", "/a.txt", [("Connection", "close")])
    data += build_request("GET", "/missing")  # after close: must not be answered
    with Conn(srv()) as c:
        c.send(data)
        for i in range(5):
            r = c.read_response("GET")
            check_status(r, 200, f"#{i + 1}")
        check(c.wait_eof(3.0), "no close after the Connection: close request")
        eq(bytes(c.buf), b"", "a request after Connection: close was answered")


def test_pipelining_large_burst():
    # 100 requests in one write: more than one read buffer's worth of heads.
    data = b"".join(build_request("GET", "/a.txt", [("X-Pad", "p" * 200)]) for _ in range(100))
    with Conn(srv(), 10) as c:
        c.send(data)
        for i in range(100):
            r = c.read_response("GET", timeout_s=10)
            check_status(r, 200, f"#{i + 1}")
            eq(r.body, A_TXT, f"#{i + 1} body")


@timeout(60)
def test_200_concurrent_connections():
    s = srv()
    n, rounds = 200, 3
    socks = []
    try:
        for _ in range(n):
            sk = connect(s, 10)
            socks.append(sk)
        bufs = [bytearray() for _ in range(n)]
        for rnd in range(rounds):
            req = build_request("GET", "/a.txt" if rnd != 1 else "/")
            for sk in socks:
                sk.sendall(req)
            want = A_TXT if rnd != 1 else INDEX_HTML
            deadline = time.monotonic() + 20
            for i, sk in enumerate(socks):
                while True:
                    r = parse_response(bufs[i], 0, "GET")
                    if r is not None:
                        resp, end = r
                        del bufs[i][:end]
                        break
                    sk.settimeout(max(0.1, deadline - time.monotonic()))
                    try:
                        chunk = sk.recv(65536)
                    except socket.timeout:
                        raise AssertionError(f"connection {i} round {rnd + 1}: no response")
                    check(chunk, f"connection {i} round {rnd + 1}: closed early")
                    bufs[i] += chunk
                check_status(resp, 200, f"connection {i} round {rnd + 1}")
                eq(resp.body, want, f"connection {i} round {rnd + 1} body")
    finally:
        for sk in socks:
            sk.close()


@timeout(60)
def test_request_and_half_close_in_one_wakeup_still_ends_the_connection():
    """A client that sends its last request and shuts its write side at once
    (both arriving before the worker wakes) gets the answer and then an EOF,
    not a connection held open until the keep-alive timeout: the FIN comes
    with the data's edge, and no later edge announces it. The worker is
    stopped while both arrive, so they always land in one wakeup."""
    import signal as _signal
    s = Server(root(), "--keepalive-timeout", "30", threads=1).start()
    try:
        for i in range(3):
            with Conn(s) as c:
                check_status(c.request("GET", "/a.txt"), 200, f"#{i + 1} first request")
                s.proc.send_signal(_signal.SIGSTOP)
                try:
                    c.send(build_request("GET", "/a.txt"))
                    # the TCP FIN itself, also under TLS (SSLSocket.shutdown
                    # would drop the TLS layer for the reads that follow)
                    socket.socket.shutdown(c.sock, socket.SHUT_WR)
                    time.sleep(0.1)
                finally:
                    s.proc.send_signal(_signal.SIGCONT)
                r = c.read_response("GET", timeout_s=5)
                check_status(r, 200, f"#{i + 1} request before the half-close")
                eq(r.body, A_TXT, f"#{i + 1} body")
                check(c.wait_eof(3.0), f"#{i + 1}: connection still open 3 s after the "
                      "client's FIN (it waits for the keep-alive timeout)")
    finally:
        s.stop()
