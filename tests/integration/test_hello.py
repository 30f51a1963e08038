"""The embedding example (examples/hello.c): routes with parameters, a body route,
a deferred response, streamed responses (back-pressure included), 404/405 from
the router, and clean signal handling."""

import signal

from harness import (rss_kb, Conn, Hello, allow_set, build_request, check, check_status,
                     curl, eq, get, one, parse_response, shared, timeout)


def srv():
    return shared("hello", lambda: Hello())


def test_hello_get_hello():
    r = get(srv(), "/hello")
    check_status(r, 200)
    eq(r.body, b"Hello, world!\n", "body")
    eq(r.header("content-length"), "14", "Content-Length")
    eq(r.header("server"), "nxx", "Server")


def test_hello_named_parameter():
    r = get(srv(), "/hello/Ada")
    check_status(r, 200)
    eq(r.body, b"Hello, Ada!\n", "body")


def test_hello_parameter_is_percent_decoded_segment():
    r = get(srv(), "/hello/Grace%20Hopper")
    check_status(r, 200)
    eq(r.body, b"Hello, Grace Hopper!\n", "body")


def test_hello_head():
    with Conn(srv()) as c:
        h = c.request("HEAD", "/hello")
        g = c.request("GET", "/hello/Ada")
    check_status(h, 200, "HEAD /hello")
    eq(h.body, b"", "HEAD body")
    eq(h.header("content-length"), "14", "HEAD Content-Length")
    eq(g.body, b"Hello, Ada!\n", "GET after HEAD")


def test_hello_post_echo():
    body = b"echo me \x00\xff bytes"
    r = one(srv(), build_request("POST", "/echo", [("Content-Type", "application/octet-stream")], body),
            "POST")
    check_status(r, 200)
    eq(r.body, body, "echoed body")


def test_hello_post_echo_empty():
    r = one(srv(), build_request("POST", "/echo", [("Content-Length", "0")]), "POST")
    check_status(r, 200)
    eq(r.body, b"", "echo of an empty body")


def test_hello_post_echo_keepalive_sequence():
    with Conn(srv()) as c:
        for i in range(5):
            body = (b"%d-" % i) * (i * 100 + 1)
            r = c.request("POST", "/echo", body=body)
            check_status(r, 200, f"POST {i + 1}")
            eq(r.body, body, f"echo {i + 1}")


def test_hello_post_echo_body_split_across_writes():
    body = bytes(range(256)) * 40
    head = build_request("POST", "/echo", [("Content-Length", str(len(body)))])
    with Conn(srv()) as c:
        c.send(head)
        for i in range(0, len(body), 1000):
            c.send(body[i:i + 1000])
        r = c.read_response("POST")
    check_status(r, 200)
    eq(r.body, body, "echo")


def test_hello_unknown_path_is_404():
    r = get(srv(), "/nope")
    check_status(r, 404)


def test_hello_wrong_method_is_405_with_allow():
    r = one(srv(), build_request("DELETE", "/hello"), "DELETE")
    check_status(r, 405)
    check("GET" in allow_set(r), f"Allow: {r.header('allow')!r}")
    r = one(srv(), build_request("GET", "/echo"))
    check_status(r, 405, "GET /echo")
    check("POST" in allow_set(r), f"Allow: {r.header('allow')!r}")


def test_hello_options_lists_route_methods():
    r = one(srv(), build_request("OPTIONS", "/echo"), "OPTIONS")
    check_status(r, (200, 204), "OPTIONS /echo")
    check("POST" in allow_set(r), f"Allow: {r.header('allow')!r}")


def test_hello_slow_is_deferred():
    # While /slow waits on the loop, other requests on other connections are served.
    with Conn(srv(), 5) as slow:
        slow.send(build_request("GET", "/slow"))
        r = get(srv(), "/hello", timeout_s=0.9)
        check_status(r, 200, "GET /hello while /slow is pending")
        s = slow.read_response(timeout_s=5)
    check_status(s, 200, "/slow")
    eq(s.body, b"slow\n", "/slow body")


def test_hello_curl():
    s = srv()
    code, body, _, _ = curl([s.url + "/hello/Ada"])
    eq(code, 200, "curl status")
    eq(body, b"Hello, Ada!\n", "curl body")
    code, body, _, _ = curl(["--data-binary", "posted by curl", s.url + "/echo"])
    eq(code, 200, "curl POST status")
    eq(body, b"posted by curl", "curl POST echo")


def test_hello_exits_0_on_sigint():
    with Hello() as h:
        assert_alive_hello(h)
        h.signal(signal.SIGINT)
        rc = h.wait(10)
        eq(rc, 0, "exit status after SIGINT")


def test_hello_exits_0_on_sigterm():
    with Hello() as h:
        assert_alive_hello(h)
        h.signal(signal.SIGTERM)
        rc = h.wait(10)
        eq(rc, 0, "exit status after SIGTERM")


def assert_alive_hello(h):
    r = get(h, "/hello")
    check_status(r, 200, "hello alive")


def test_hello_survives_hostile_input():
    for data in (b"GARBAGE\r\n\r\n", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n",
                 b"GET /hello HTTP/1.1\r\n\r\n"):
        with Conn(srv()) as c:
            c.send(data, tolerant=True)
            r = c.read_response()
        check_status(r, 400, repr(data))
        assert_alive_hello(srv())


def test_hello_stream_is_chunked_and_keeps_the_connection():
    # three writes a tick apart (nxx_req_defer), then the next request on the same connection
    with Conn(srv()) as c:
        r = c.request("GET", "/stream")
        check_status(r, 200, "GET /stream")
        eq(r.header("transfer-encoding"), "chunked", "Transfer-Encoding")
        eq(r.header("content-length"), None, "Content-Length beside chunked")
        eq(r.body, b"one\ntwo\nthree\n", "streamed body")
        h = c.request("GET", "/hello")
        check_status(h, 200, "next request on the connection")
        eq(h.body, b"Hello, world!\n", "next body")


def test_hello_stream_http10_ends_with_the_close():
    with Conn(srv()) as c:
        c.send(build_request("GET", "/stream", version="HTTP/1.0", host=False))
        data, closed = c.read_all(5.0)
    check(closed, "HTTP/1.0 stream: the server did not close")
    head, _, body = data.partition(b"\r\n\r\n")
    check(b"transfer-encoding" not in head.lower(), f"chunked sent to HTTP/1.0: {head!r}")
    eq(body, b"one\ntwo\nthree\n", "close-delimited body")


def test_hello_stream_head_has_the_get_fields_and_no_content():
    # RFC 9110 §9.3.2: not "Content-Length: 0", which would describe a different answer
    with Conn(srv()) as c:
        r = c.request("HEAD", "/stream")
        check_status(r, 200, "HEAD /stream")
        eq(r.header("transfer-encoding"), "chunked", "Transfer-Encoding of HEAD")
        eq(r.header("content-length"), None, "Content-Length of HEAD")
        eq(r.body, b"", "HEAD body")
        h = c.request("GET", "/hello")
        check_status(h, 200, "request after HEAD /stream (no stray chunk bytes)")
        eq(h.body, b"Hello, world!\n", "body after HEAD")


def test_hello_stream_faster_than_the_client_reads():
    # 4 MiB written at once from one reused buffer: the socket takes part, the
    # rest is copied and queued; every byte must arrive, in order, unchanged
    import time
    want = b"".join(bytes([97 + i % 26]) * 65536 for i in range(64))
    with Conn(srv(), 20) as c:
        c.send(build_request("GET", "/stream/big"))
        time.sleep(0.5)  # let the server fill the socket before we read
        r = c.read_response("GET", timeout_s=20)
        check_status(r, 200, "GET /stream/big")
        eq(len(r.body), len(want), "streamed length")
        check(r.body == want, "streamed bytes differ from what the handler wrote")
        h = c.request("GET", "/hello")
        check_status(h, 200, "next request after the big stream")


@timeout(60)
def test_hello_stream_waits_for_a_slow_client_with_flat_memory():
    # /stream/long writes 32 MiB but pauses (nxx_resp_on_drain) while 256 KiB
    # wait for the client: reading slowly, the server's memory must stay far
    # below what it has sent, and every byte must arrive in order
    import time
    s = Hello().start()
    try:
        base = rss_kb(s.proc.pid)
        with Conn(s, 30) as c:
            c.send(build_request("GET", "/stream/long"))
            c.sock.settimeout(30)
            got = bytearray()
            peak = 0
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                chunk = c.sock.recv(256 * 1024)
                if not chunk:
                    break
                got += chunk
                if len(got) < 8 * 1024 * 1024:
                    time.sleep(0.01)  # a slow reader for the first 8 MiB
                    peak = max(peak, rss_kb(s.proc.pid))
                if got.endswith(b"\r\n0\r\n\r\n"):
                    break
        r = parse_response(got, 0, "GET")
        check(r is not None, f"incomplete response: {len(got)} bytes")
        resp, _ = r
        check_status(resp, 200, "GET /stream/long")
        want_len = 512 * 65536
        eq(len(resp.body), want_len, "streamed length")
        for i in (0, 1, 255, 511):
            piece = resp.body[i * 65536:(i + 1) * 65536]
            check(piece == bytes([97 + i % 26]) * 65536, f"piece {i} differs")
        check(peak - base < 12 * 1024, f"server RSS grew by {peak - base} KB while streaming "
              f"32 MiB to a slow client (no back-pressure?)")
    finally:
        s.stop()


def test_hello_stream_client_leaving_while_the_handler_waits():
    # the handler waits for a drain that never comes: the connection closes,
    # nothing runs on the departed request, and the server goes on serving
    import time
    with Conn(srv(), 10) as c:
        c.send(build_request("GET", "/stream/long"))
        data = c.sock.recv(65536)
        check(data.startswith(b"HTTP/1.1 200"), f"start of /stream/long: {data[:40]!r}")
        time.sleep(0.3)  # the server is now waiting for this client to read
    r = get(srv(), "/hello")
    check_status(r, 200, "GET /hello after a client left mid-stream")
