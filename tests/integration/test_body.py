"""Request bodies on a route that reads them (hello's POST /echo): Expect:
100-continue, chunked uploads, body limits, and smuggling shapes where a body
is really consumed."""

from harness import (Conn, Hello, Server, build_request, check, check_status, eq, exchange,
                     get, make_docroot, parse_responses, shared)

_root = None
FOLLOW = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
MIB = 1024 * 1024


def hello():
    return shared("hello", lambda: Hello())


def nxx():
    global _root
    if _root is None:
        _root = make_docroot()
    return shared("nxx serve (defaults)", lambda: Server(_root))


def hello_alive(what="after the previous input"):
    try:
        r = get(hello(), "/hello", [("Connection", "close")])
    except AssertionError as e:
        raise AssertionError(f"hello not alive {what}: {e}\n{hello().describe()}")
    check_status(r, 200, f"hello alive {what}")


def _until_close(conn, what):
    check(conn.wait_eof(3.0), f"{what}: connection not closed")
    resps, left = parse_responses(bytes(conn.buf), eof=True)
    eq(len(resps), 0, f"{what}: responses after the error (desync)")
    eq(left, b"", f"{what}: bytes after the error")


# -- Expect: 100-continue ------------------------------------------------


def test_expect_100_continue_before_body():
    body = b"sent only after 100 Continue"
    head = build_request("POST", "/echo", [("Content-Length", str(len(body))),
                                           ("Expect", "100-continue")])
    with Conn(hello()) as c:
        c.send(head)
        first = c.read_response("POST", timeout_s=5, interim=False)
        check_status(first, 100, "interim response before the body")
        eq(first.version, "HTTP/1.1", "100 version")
        eq(first.reason, "Continue", "100 reason")
        c.send(body)
        r = c.read_response("POST")
    check_status(r, 200, "final response")
    eq(r.body, body, "echo")


def test_expect_100_continue_with_chunked_body():
    head = build_request("POST", "/echo", [("Transfer-Encoding", "chunked"),
                                           ("Expect", "100-continue")])
    with Conn(hello()) as c:
        c.send(head)
        first = c.read_response("POST", timeout_s=5, interim=False)
        check_status(first, 100, "interim response before a chunked body")
        c.send(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        r = c.read_response("POST")
    check_status(r, 200)
    eq(r.body, b"abcde", "echo")


def test_expect_100_continue_case_insensitive():
    body = b"xyz"
    head = build_request("POST", "/echo", [("Content-Length", "3"), ("Expect", "100-Continue")])
    with Conn(hello()) as c:
        c.send(head)
        first = c.read_response("POST", timeout_s=5, interim=False)
        check_status(first, 100, "Expect: 100-Continue")
        c.send(body)
        r = c.read_response("POST")
    eq(r.body, body, "echo")


def test_expect_100_continue_on_404_sends_final_status_only():
    head = build_request("POST", "/nope", [("Content-Length", "100000"), ("Expect", "100-continue")])
    with Conn(hello()) as c:
        c.send(head)
        r = c.read_response("POST", timeout_s=5, interim=False)
    check_status(r, 404, "final status instead of 100")
    hello_alive()


def test_expect_100_continue_on_405_sends_final_status_only():
    head = build_request("PUT", "/echo", [("Content-Length", "100000"), ("Expect", "100-continue")])
    with Conn(hello()) as c:
        c.send(head)
        r = c.read_response("PUT", timeout_s=5, interim=False)
    check_status(r, 405, "final status instead of 100")
    check(r.has("allow"), "405 without Allow")
    hello_alive()


def test_expect_100_continue_on_static_file_is_405_without_100():
    head = build_request("POST", "/a.txt", [("Content-Length", "100000"), ("Expect", "100-continue")])
    with Conn(nxx()) as c:
        c.send(head)
        r = c.read_response("POST", timeout_s=5, interim=False)
    check_status(r, 405, "nxx serve POST /a.txt with Expect")


def test_expect_100_continue_over_body_limit_is_413_without_100():
    head = build_request("POST", "/echo", [("Content-Length", str(2 * MIB)),
                                           ("Expect", "100-continue")])
    with Conn(hello()) as c:
        c.send(head)
        r = c.read_response("POST", timeout_s=5, interim=False)
    check_status(r, 413, "Content-Length over the 1 MiB default with Expect")
    hello_alive()


def test_expect_100_continue_not_sent_to_http10():
    body = b"one-oh body"
    head = build_request("POST", "/echo", [("Content-Length", str(len(body))),
                                           ("Expect", "100-continue")], version="HTTP/1.0",
                         host=False)
    with Conn(hello()) as c:
        c.send(head)
        # Nothing may arrive before the body: a 1.0 client does not know 100.
        check(not c.wait_eof(0.5) and not c.buf, f"server sent {bytes(c.buf)!r} to HTTP/1.0 before the body")
        c.send(body)
        r = c.read_response("POST", interim=True)
    check_status(r, 200)
    eq(r.interim, [], "interim responses to HTTP/1.0")
    eq(r.body, body, "echo")


def test_expect_unknown_value_is_417():
    data = build_request("POST", "/echo", [("Content-Length", "3"), ("Expect", "foo")], b"abc")
    resps, _, _ = exchange(hello(), data, 1, ["POST"])
    check(resps, "no response")
    check_status(resps[0], 417, "Expect: foo on hello")
    resps, _, _ = exchange(nxx(), build_request("GET", "/a.txt", [("Expect", "foo")]), 1)
    check(resps, "no response")
    check_status(resps[0], 417, "Expect: foo on nxx serve")
    hello_alive()


def test_expect_100_continue_with_body_already_sent():
    body = b"eager client"
    data = build_request("POST", "/echo", [("Content-Length", str(len(body))),
                                           ("Expect", "100-continue")], body)
    with Conn(hello()) as c:
        c.send(data)
        r = c.read_response("POST")  # a 100 may or may not come first
        c.send(build_request("GET", "/hello"))
        nxt = c.read_response("GET")
    check_status(r, 200)
    eq(r.body, body, "echo")
    eq(nxt.body, b"Hello, world!\n", "next request on the same connection")


# -- chunked uploads -----------------------------------------------------


def test_chunked_upload_echoed_exactly():
    chunks = (b"5;ext=1\r\nhello\r\n"
              b"1;name=\"quoted value\"\r\n \r\n"
              b"000A\r\n0123456789\r\n"
              b"b\r\nabcdefghijk\r\n"
              b"0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n")
    data = build_request("POST", "/echo", [("Transfer-Encoding", "chunked")]) + chunks
    with Conn(hello()) as c:
        c.send(data + build_request("GET", "/hello"))
        r = c.read_response("POST")
        nxt = c.read_response("GET")
    check_status(r, 200)
    eq(r.body, b"hello 0123456789abcdefghijk", "echo of a chunked body")
    check_status(nxt, 200, "request after the chunked one (trailer consumed exactly)")
    eq(nxt.body, b"Hello, world!\n", "next body")


def test_chunked_upload_many_small_writes():
    payload = bytes(range(256)) * 20
    pieces = [build_request("POST", "/echo", [("Transfer-Encoding", "chunked")])]
    for i in range(0, len(payload), 333):
        part = payload[i:i + 333]
        pieces.append(b"%x\r\n" % len(part) + part + b"\r\n")
    pieces.append(b"0\r\n\r\n")
    stream = b"".join(pieces)
    with Conn(hello()) as c:
        for i in range(0, len(stream), 97):
            c.send(stream[i:i + 97])
        r = c.read_response("POST")
    check_status(r, 200)
    eq(r.body, payload, "echo")


def test_chunked_body_over_1mib_is_413_and_closes():
    head = build_request("POST", "/echo", [("Transfer-Encoding", "chunked")])
    piece = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"  # 64 KiB chunks
    with Conn(hello(), 10) as c:
        c.send(head)
        c.send_until_answer([piece] * 24)  # up to 1.5 MiB, stop once the server answers
        r = c.read_response("POST", timeout_s=10)
        check_status(r, 413, "chunked body over 1 MiB")
        check(c.wait_eof(5.0), "connection not closed after 413")
    hello_alive()


def test_content_length_over_1mib_is_413_before_body():
    head = build_request("POST", "/echo", [("Content-Length", str(MIB + 1))])
    with Conn(hello()) as c:
        c.send(head)
        r = c.read_response("POST", timeout_s=5)
    check_status(r, 413, "Content-Length 1 MiB + 1")
    hello_alive()


def test_body_of_exactly_1mib_is_accepted():
    body = b"z" * MIB
    with Conn(hello(), 15) as c:
        c.send(build_request("POST", "/echo", [("Content-Length", str(MIB))]) + body)
        r = c.read_response("POST", timeout_s=15)
    check_status(r, 200, "a body at the limit")
    eq(len(r.body), MIB, "echo length")


def test_bad_chunk_size_is_400_and_closes():
    for bad in (b"zz\r\nabc\r\n0\r\n\r\n", b"-1\r\nabc\r\n0\r\n\r\n", b"\r\n\r\n",
                b"0x3\r\nabc\r\n0\r\n\r\n"):
        data = build_request("POST", "/echo", [("Transfer-Encoding", "chunked")]) + bad + FOLLOW
        with Conn(hello()) as c:
            c.send(data, tolerant=True)
            r = c.read_response("POST")
            check_status(r, 400, f"chunk {bad!r}")
            _until_close(c, f"chunk {bad!r}")
        hello_alive(f"after chunk {bad!r}")


def test_chunk_size_overflow_is_rejected_and_closes():
    data = (build_request("POST", "/echo", [("Transfer-Encoding", "chunked")])
            + b"ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n" + FOLLOW)
    with Conn(hello()) as c:
        c.send(data, tolerant=True)
        r = c.read_response("POST")
        check_status(r, (400, 413), "chunk size over 64 bits")
        _until_close(c, "chunk size overflow")
    hello_alive()


def test_chunk_data_without_crlf_is_400_and_closes():
    data = (build_request("POST", "/echo", [("Transfer-Encoding", "chunked")])
            + b"3\r\nabcXX0\r\n\r\n" + FOLLOW)
    with Conn(hello()) as c:
        c.send(data, tolerant=True)
        r = c.read_response("POST")
        check_status(r, 400, "chunk data longer than its size")
        _until_close(c, "chunk without CRLF")
    hello_alive()


# -- smuggling where the body is really read -----------------------------


def test_smuggling_cl_te_on_body_route_closes():
    data = (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"0\r\n\r\n" + FOLLOW)
    with Conn(hello()) as c:
        c.send(data, tolerant=True)
        r = c.read_response("POST")
        check_status(r, 400, "CL + TE on /echo")
        _until_close(c, "CL + TE on /echo")
    hello_alive()


def test_smuggling_te_cl_on_body_route_closes():
    data = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
            b"8\r\nSMUGGLED\r\n0\r\n\r\n" + FOLLOW)
    with Conn(hello()) as c:
        c.send(data, tolerant=True)
        r = c.read_response("POST")
        check_status(r, 400, "TE + CL on /echo")
        _until_close(c, "TE + CL on /echo")
    hello_alive()


def test_smuggling_te_te_on_body_route_never_desyncs():
    for shape in (b"Transfer-Encoding: xchunked", b"Transfer-Encoding : chunked",
                  b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
                  b"Transfer-Encoding: chunked, chunked", b"Transfer-Encoding: identity"):
        data = (b"POST /echo HTTP/1.1\r\nHost: x\r\n" + shape + b"\r\n\r\n"
                b"0\r\n\r\n" + FOLLOW)
        with Conn(hello()) as c:
            c.send(data, tolerant=True)
            r = c.read_response("POST")
            check(r.status in (400, 501), f"{shape!r}: expected 400 or 501, got {r.status}")
            _until_close(c, repr(shape))
        hello_alive(f"after {shape!r}")


def test_pipelined_posts_keep_framing():
    bodies = [b"first", b"", b"third\r\n\r\nGET /x HTTP/1.1\r\n\r\n", b"4"]
    data = b"".join(build_request("POST", "/echo", [("Content-Length", str(len(b)))], b)
                    for b in bodies)
    with Conn(hello()) as c:
        c.send(data)
        for i, b in enumerate(bodies):
            r = c.read_response("POST")
            check_status(r, 200, f"POST #{i + 1}")
            eq(r.body, b, f"echo #{i + 1}")


def test_body_on_get_is_never_answered_as_a_request():
    # A body on a route that does not read it is skipped (or the connection is
    # closed); its bytes must never be parsed as the next request.
    inner = b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
    for framing, body in (("Content-Length", inner),
                          ("Transfer-Encoding", b"%x\r\n" % len(inner) + inner + b"\r\n0\r\n\r\n")):
        value = str(len(body)) if framing == "Content-Length" else "chunked"
        data = (b"GET /hello HTTP/1.1\r\nHost: x\r\n" + framing.encode() + b": " + value.encode()
                + b"\r\n\r\n" + body + build_request("GET", "/hello/again"))
        with Conn(hello()) as c:
            c.send(data, tolerant=True)
            first = c.read_response()
            check_status(first, 200, f"GET /hello with a {framing} body")
            c.wait_eof(1.0)
            rest, left = parse_responses(bytes(c.buf), eof=c.eof)
        check(all(r.status != 404 for r in rest), f"{framing}: the body was answered as a request")
        if rest:
            eq([r.body for r in rest], [b"Hello, again!\n"], f"{framing}: the request after the body")
        hello_alive()


def test_chunk_extension_too_long_is_400_and_closes():
    data = (build_request("POST", "/echo", [("Transfer-Encoding", "chunked")])
            + b"1;" + b"e" * 100000 + b"\r\nx\r\n0\r\n\r\n" + FOLLOW)
    with Conn(hello(), 10) as c:
        c.send_until_answer([data[i:i + 8192] for i in range(0, len(data), 8192)])
        r = c.read_response("POST")
        check_status(r, (400, 413, 431), "a 100 KB chunk extension")
        check(c.wait_eof(3.0), "connection not closed")
    hello_alive()


def test_trailer_section_over_limit_is_rejected_and_closes():
    trailers = b"".join(b"X-T%d: %s\r\n" % (i, b"v" * 1000) for i in range(100))
    data = (build_request("POST", "/echo", [("Transfer-Encoding", "chunked")])
            + b"1\r\nx\r\n0\r\n" + trailers + b"\r\n" + FOLLOW)
    with Conn(hello(), 10) as c:
        c.send_until_answer([data[i:i + 8192] for i in range(0, len(data), 8192)])
        r = c.read_response("POST")
        check_status(r, (400, 431), "100 KB of trailer fields")
        check(c.wait_eof(3.0), "connection not closed")
    hello_alive()


def test_many_tiny_chunks_echoed():
    n = 20000
    data = (build_request("POST", "/echo", [("Transfer-Encoding", "chunked")])
            + b"".join(b"1\r\n%c\r\n" % (97 + i % 26) for i in range(n)) + b"0\r\n\r\n")
    with Conn(hello(), 10) as c:
        c.send(data)
        r = c.read_response("POST", timeout_s=10)
    check_status(r, 200)
    eq(r.body, bytes(97 + i % 26 for i in range(n)), "echo of 20000 one-byte chunks")
