"""Request content read as it arrives (NXX_ROUTE_STREAM, examples/hello.c
PUT /upload): any size in constant memory, Content-Length or chunked, with
back-pressure, pipelined requests after it intact, and a client that leaves
half-way costs nothing."""

import os
import socket
import time

from harness import (rss_kb, Conn, Hello, build_request, check, check_status, eq, shared, timeout)


def srv():
    return shared("hello (uploads)", lambda: Hello())


def fnv1a(data):
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def test_upload_content_length_intact():
    data = os.urandom(3 * 1024 * 1024 + 7)
    with Conn(srv(), 20) as c:
        r = c.request("PUT", "/upload", body=data)
    check_status(r, 200, "PUT /upload")
    eq(r.body, b'{"bytes":%d,"fnv1a":"%s"}\n' % (len(data), fnv1a(data).encode()), "what arrived")


def _chunked(data, sizes):
    out, i, k = bytearray(), 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        k += 1
        piece = data[i:i + n]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
        i += n
    return bytes(out) + b"0\r\n\r\n"


def test_upload_chunked_intact_and_pipelined_request_after_it():
    data = os.urandom(1024 * 1024 + 333)
    body = _chunked(data, [1, 4095, 65536, 7, 100000])
    head = build_request("PUT", "/upload", [("Transfer-Encoding", "chunked")])
    with Conn(srv(), 20) as c:
        # the next request follows the last chunk in the same stream
        c.send(head + body + build_request("GET", "/hello/after"))
        r = c.read_response("PUT")
        n = c.read_response("GET")
    check_status(r, 200, "chunked PUT /upload")
    eq(r.body, b'{"bytes":%d,"fnv1a":"%s"}\n' % (len(data), fnv1a(data).encode()), "what arrived")
    check_status(n, 200, "the pipelined request after the upload")
    eq(n.body, b"Hello, after!\n", "its answer")


def test_upload_with_expect_100_continue():
    data = b"x" * 100000
    head = build_request("PUT", "/upload", [("Content-Length", str(len(data))),
                                            ("Expect", "100-continue")])
    with Conn(srv(), 10) as c:
        c.send(head)
        r = c.read_response("PUT", interim=False)
        check_status(r, 100, "interim answer before the content")
        c.send(data)
        r = c.read_response("PUT")
    check_status(r, 200)
    check(b'"bytes":100000' in r.body, f"body {r.body!r}")


def test_client_leaving_mid_upload():
    with Conn(srv(), 10) as c:
        c.send(build_request("PUT", "/upload", [("Content-Length", str(50 << 20))]))
        c.send(os.urandom(3 << 20))
        time.sleep(0.1)
    with Conn(srv()) as c:
        check_status(c.request("GET", "/hello"), 200, "the server after a client left mid-upload")


@timeout(120)
def test_one_gib_upload_in_constant_memory():
    # 1 GiB through a streaming handler: the server's resident memory must
    # not grow with what it has read (the limit: 16 MB over the start)
    s = Hello().start()
    try:
        pid = s.proc.pid
        total = 1 << 30
        block = os.urandom(1 << 20)
        with Conn(s, 60) as c:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            c.send(build_request("PUT", "/upload", [("Content-Length", str(total))]))
            base = rss_kb(pid)
            peak = base
            for i in range(total // len(block)):
                c.sock.sendall(block)
                if i % 32 == 0:
                    peak = max(peak, rss_kb(pid))
            r = c.read_response("PUT", timeout_s=60)
            peak = max(peak, rss_kb(pid))
        check_status(r, 200, "PUT of 1 GiB")
        check(b'"bytes":%d,' % total in r.body, f"the handler saw {r.body!r}")
        grew = peak - base
        check(grew < 16 * 1024, f"server RSS grew by {grew} KB during a 1 GiB upload")
    finally:
        s.stop()
