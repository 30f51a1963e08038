"""Timeouts (slow-client defence): --request-timeout gives 408 + close to a client
that does not finish its head; --keepalive-timeout closes idle connections
silently.  These tests are about timing, so they wait, with generous bounds."""

import time

from harness import (A_TXT, Conn, Server, assert_alive, build_request, check, check_status, eq,
                     make_docroot, parse_responses, remove_tree, shared, timeout)

_root = None


def root():
    global _root
    if _root is None:
        _root = make_docroot()
    return _root


def srv():
    return shared("nxx serve --request-timeout 1 --keepalive-timeout 1",
                  lambda: Server(root(), "--request-timeout", "1", "--keepalive-timeout", "1"))


def _check_408_then_close(c, t0, what):
    check(c.wait_eof(4.0), f"{what}: connection not closed within 4 s")
    elapsed = time.monotonic() - t0
    resps, left = parse_responses(bytes(c.buf), eof=True)
    check(resps, f"{what}: closed without a 408 (received {bytes(c.buf)[:200]!r})")
    check_status(resps[0], 408, what)
    eq((resps[0].header("connection") or "").lower(), "close", f"{what}: Connection on the 408")
    eq(len(resps), 1, f"{what}: responses")
    check(elapsed >= 0.5, f"{what}: 408 after {elapsed:.2f} s, before the 1 s timeout")
    check(elapsed < 3.5, f"{what}: 408 after {elapsed:.2f} s (timeout is 1 s)")


@timeout(15)
def test_request_timeout_half_head_gets_408_and_close():
    with Conn(srv(), 6) as c:
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nUser-Ag")
        t0 = time.monotonic()
        _check_408_then_close(c, t0, "half a head")
    assert_alive(srv())


@timeout(15)
def test_request_timeout_not_reset_by_trickling_bytes():
    # A slowloris client sends one byte at a time; the head deadline is not pushed back.
    data = b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    with Conn(srv(), 6) as c:
        t0 = time.monotonic()
        for i in range(len(data)):
            if not c.send(data[i:i + 1], tolerant=True):
                break
            if c.wait_eof(0.2) or c.buf:
                break
            if time.monotonic() - t0 > 5:
                break
        _check_408_then_close(c, t0, "trickled head")
    assert_alive(srv())


@timeout(15)
def test_request_timeout_on_second_request_of_keepalive_connection():
    with Conn(srv(), 6) as c:
        r = c.request("GET", "/a.txt")
        check_status(r, 200)
        c.send(b"GET /a.txt HTTP/1.1\r\n")
        t0 = time.monotonic()
        _check_408_then_close(c, t0, "half a head on a reused connection")


@timeout(15)
def test_keepalive_timeout_closes_idle_connection_silently():
    with Conn(srv(), 6) as c:
        r = c.request("GET", "/a.txt")
        check_status(r, 200)
        eq(r.body, A_TXT, "body")
        t0 = time.monotonic()
        check(c.wait_eof(4.0), "idle keep-alive connection not closed within 4 s")
        elapsed = time.monotonic() - t0
        eq(bytes(c.buf), b"", "bytes sent on an idle keep-alive close (should be silent)")
        check(elapsed >= 0.5, f"closed after {elapsed:.2f} s, before the 1 s keep-alive timeout")
        check(elapsed < 3.5, f"closed after {elapsed:.2f} s (keep-alive timeout is 1 s)")


@timeout(15)
def test_active_connection_outlives_keepalive_timeout():
    # Requests every 0.4 s for 2.4 s: the idle timer restarts after each response.
    with Conn(srv(), 6) as c:
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < 2.4:
            r = c.request("GET", "/a.txt")
            check_status(r, 200, f"request {i + 1} at {time.monotonic() - t0:.1f} s")
            i += 1
            time.sleep(0.4)
        check(i >= 5, "too few requests")


@timeout(15)
def test_complete_request_is_served_with_short_timeouts():
    with Conn(srv(), 6) as c:
        c.send(build_request("GET", "/a.txt"))
        r = c.read_response()
    check_status(r, 200)


@timeout(15)
def test_unread_body_does_not_hold_connection():
    # nxx serve answers POST on a file with 405 without needing the body; a client
    # that then trickles nothing must not keep the connection open past the
    # request timeout (whether the server closes at once or discards for a while).
    with Conn(srv(), 6) as c:
        c.send(build_request("POST", "/a.txt", [("Content-Length", "100")]) + b"0123456789")
        t0 = time.monotonic()
        r = c.read_response("POST", timeout_s=3)
        check_status(r, 405, "POST /a.txt with a partial body")
        check(c.wait_eof(4.0), "connection with an unfinished body still open after 4 s")
        check(time.monotonic() - t0 < 3.5, "closed too late")
        resps, _ = parse_responses(bytes(c.buf), eof=True)
        check(all(x.status == 408 for x in resps), f"unexpected responses after the 405: {resps!r}")
    assert_alive(srv())


@timeout(15)
def test_fractional_keepalive_timeout():
    root_dir = make_docroot()
    try:
        with Server(root_dir, "--keepalive-timeout", "0.5") as s:
            with Conn(s, 5) as c:
                check_status(c.request("GET", "/a.txt"), 200)
                t0 = time.monotonic()
                check(c.wait_eof(3.0), "idle connection not closed with --keepalive-timeout 0.5")
                elapsed = time.monotonic() - t0
                check(elapsed >= 0.2, f"closed after {elapsed:.2f} s, before 0.5 s")
                check(elapsed < 2.0, f"closed after {elapsed:.2f} s with a 0.5 s timeout")
    finally:
        remove_tree(root_dir)
