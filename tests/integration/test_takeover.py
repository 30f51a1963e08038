"""Connections a handler takes over (examples/hello.c): GET /tunnel with
Upgrade: x-echo answers 101 and echoes every byte in order, including bytes
the client sent in the same write as its request; CONNECT is routed like any
method (200 and an echo tunnel in hello, 405 with Allow where no location
takes it); a tunnel that goes quiet is closed by the tunnel timeout."""

import time

from harness import (Conn, Hello, Server, assert_alive, build_request, check, check_status,
                     eq, make_docroot, shared, timeout)


def srv():
    return shared("hello (takeover)", lambda: Hello())


def files():
    def make():
        root = make_docroot()
        return Server(root)
    return shared("nxx serve (CONNECT)", make)


def test_upgrade_101_then_bytes_in_order():
    with Conn(srv()) as c:
        # the first bytes of the new protocol travel with the request head
        c.send(build_request("GET", "/tunnel", [("Upgrade", "x-echo"), ("Connection", "upgrade")])
               + b"early-bytes;")
        r = c.read_response("GET", interim=False)
        check_status(r, 101, "upgrade")
        eq(r.header("upgrade"), "x-echo", "Upgrade")
        check("upgrade" in r.tokens("connection"), f"Connection: {r.header('connection')!r}")
        check(not r.has("content-length") and not r.has("transfer-encoding"),
              f"a 101 has no framing fields: {r.headers!r}")
        eq(c.read_exactly(12), b"early-bytes;", "bytes sent behind the head come back first")
        sent = b""
        for i in range(50):
            piece = (b"%03d:" % i) * (i + 1)
            c.send(piece)
            sent += piece
        eq(c.read_exactly(len(sent)), sent, "every byte in order")
        # a large write in one go: the handler's output outruns the socket
        big = bytes(range(256)) * 4096
        c.send(big)
        eq(c.read_exactly(len(big), 10), big, "1 MiB echoed intact")
        # the client shuts its side: the handler closes after echoing
        c.send(b"last")
        c.sock.shutdown(1)
        eq(c.read_exactly(4), b"last", "bytes before the client's FIN")
        check(c.wait_eof(5), "the server closes the tunnel after the client's FIN")
    with Conn(srv()) as c:
        check_status(c.request("GET", "/hello"), 200, "a request after a tunnel")


def test_upgrade_refused_without_the_protocol():
    with Conn(srv()) as c:
        r = c.request("GET", "/tunnel")
    check_status(r, 426, "no Upgrade")
    eq(r.header("upgrade"), "x-echo", "426 names the protocol")


def test_upgrade_not_for_http10():
    # RFC 9110 §7.8: a server must ignore Upgrade in an HTTP/1.0 request
    with Conn(srv()) as c:
        c.send(b"GET /tunnel HTTP/1.0\r\nUpgrade: x-echo\r\nConnection: upgrade\r\n\r\n")
        r = c.read_response("GET")
    check(r.status != 101, f"no 101 to HTTP/1.0, got {r.status}")
    check_status(r, 426, "the upgrade-only route, asked without an Upgrade it may honour")


def test_connect_takeover_200():
    with Conn(srv()) as c:
        c.send(b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\nping")
        r = c.read_response("CONNECT")
        check_status(r, 200, "CONNECT")
        check(not r.has("content-length") and not r.has("transfer-encoding"),
              f"2xx to CONNECT has no framing fields: {r.headers!r}")
        eq(c.read_exactly(4), b"ping", "tunnel bytes")
        c.send(b"pong")
        eq(c.read_exactly(4), b"pong", "tunnel bytes")


def test_connect_refused_where_no_location_takes_it():
    with Conn(files()) as c:
        c.send(b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n")
        r = c.read_response("CONNECT")
    check_status(r, 405, "CONNECT to the file server")
    check("GET" in (r.header("allow") or ""), f"Allow: {r.header('allow')!r}")
    assert_alive(files(), "after CONNECT")


@timeout(30)
def test_idle_tunnel_times_out():
    # with a 500 ms tunnel timeout: activity keeps the tunnel open, silence
    # ends it
    s = Hello(tunnel_timeout_ms=500).start()
    try:
        with Conn(s) as c:
            c.send(build_request("GET", "/tunnel", [("Upgrade", "x-echo"),
                                                    ("Connection", "upgrade")]))
            r = c.read_response("GET", interim=False)
            check_status(r, 101)
            for _ in range(4):
                time.sleep(0.3)
                c.send(b"x")
                eq(c.read_exactly(1), b"x", "open while active")
            t0 = time.monotonic()
            check(c.wait_eof(5), "an idle tunnel is closed")
            waited = time.monotonic() - t0
            check(0.3 < waited < 3, f"closed after {waited:.2f} s of silence (timeout 0.5 s)")
    finally:
        s.stop()
