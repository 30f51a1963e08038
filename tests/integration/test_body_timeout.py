"""The request timeout covers the body too: a client that sends the head of a
POST to a route that reads its body (the REST store) and then stalls gets 408
with Connection: close, and the connection is closed."""

import time

from harness import (Conn, Server, assert_alive, check, check_status, eq, make_docroot,
                     parse_responses, shared, timeout, temp_dir)


def srv():
    def make():
        root = make_docroot()
        data = temp_dir("nxx-bodyto-")
        return Server(root, "--api", "/api", "--data", data, "--request-timeout", "1")
    return shared("nxx serve --api --request-timeout 1", make)


@timeout(15)
def test_stalled_body_gets_408_and_close():
    head = (b"POST /api/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{\"name\": \"par")
    with Conn(srv(), 6) as c:
        c.send(head)
        t0 = time.monotonic()
        check(c.wait_eof(4.0), "connection not closed within 4 s of a stalled body")
        elapsed = time.monotonic() - t0
        resps, _ = parse_responses(bytes(c.buf), eof=True)
        check(resps, f"closed without an answer (received {bytes(c.buf)[:200]!r})")
        check_status(resps[0], 408, "stalled body")
        eq((resps[0].header("connection") or "").lower(), "close", "Connection on the 408")
        check(0.5 <= elapsed < 3.5, f"408 after {elapsed:.2f} s (timeout is 1 s)")
    assert_alive(srv())


@timeout(15)
def test_complete_body_within_timeout_is_served():
    body = b'{"name": "whole"}'
    req = (b"POST /api/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    with Conn(srv(), 6) as c:
        c.send(req)
        time.sleep(0.3)  # well inside the 1 s timeout
        c.send(body)
        deadline = time.monotonic() + 4.0
        resps = []
        while time.monotonic() < deadline:
            resps, _ = parse_responses(bytes(c.buf))
            if resps:
                break
            c.wait_eof(0.1)  # reads what arrives meanwhile into c.buf
        check(resps, f"no answer to a body sent in time (received {bytes(c.buf)[:200]!r})")
        check_status(resps[0], 201, "body within the timeout")
