"""Graceful shutdown: SIGTERM/SIGINT stop accepting, close idle connections,
let in-flight requests finish, and exit 0 promptly."""

import signal
import socket
import time

from harness import (Conn, Hello, Server, build_request, check, check_status, eq, make_docroot,
                     remove_tree, timeout)


@timeout(30)
def test_sigterm_with_idle_keepalive_connection_exits_promptly():
    root = make_docroot()
    try:
        with Server(root) as s:
            with Conn(s) as idle:
                check_status(idle.request("GET", "/a.txt"), 200, "request before SIGTERM")
                t0 = time.monotonic()
                s.signal(signal.SIGTERM)
                rc = s.wait(10)
                elapsed = time.monotonic() - t0
                eq(rc, 0, "exit status")
                check(elapsed < 5, f"exit took {elapsed:.1f} s with an idle connection open")
                check(idle.wait_eof(2.0), "the idle connection was not closed")
                eq(bytes(idle.buf), b"", "bytes sent on the idle connection at shutdown")
    finally:
        remove_tree(root)


@timeout(30)
def test_sigint_exits_0():
    root = make_docroot()
    try:
        with Server(root) as s:
            with Conn(s) as c:
                check_status(c.request("GET", "/a.txt"), 200)
            s.signal(signal.SIGINT)
            eq(s.wait(10), 0, "exit status after SIGINT")
    finally:
        remove_tree(root)


@timeout(30)
def test_sigterm_lets_inflight_slow_request_finish():
    with Hello() as h:
        with Conn(h, 10) as c:
            c.send(build_request("GET", "/slow"))
            # /slow answers after ~1 s; give the request time to reach the handler.
            time.sleep(0.3)
            t0 = time.monotonic()
            h.signal(signal.SIGTERM)
            r = c.read_response(timeout_s=8)
            check_status(r, 200, "in-flight /slow after SIGTERM")
            eq(r.body, b"slow\n", "/slow body")
            rc = h.wait(10)
            eq(rc, 0, "exit status after draining")
            check(time.monotonic() - t0 < 8, "drain took too long")


@timeout(30)
def test_sigterm_stops_accepting_while_draining():
    with Hello() as h:
        with Conn(h, 10) as c:
            c.send(build_request("GET", "/slow"))
            time.sleep(0.3)
            h.signal(signal.SIGTERM)
            # While /slow drains (~0.7 s left), new connections must soon be refused.
            refused = False
            deadline = time.monotonic() + 0.6
            while time.monotonic() < deadline and not refused:
                sk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sk.settimeout(1)
                try:
                    sk.connect(h.addr)
                except (ConnectionRefusedError, ConnectionResetError):
                    refused = True  # a reset: the listener closed with this SYN pending
                finally:
                    sk.close()
                if not refused:
                    time.sleep(0.05)
            check(refused, "the listener still accepts connections after SIGTERM")
            r = c.read_response(timeout_s=8)
            check_status(r, 200, "in-flight /slow")
            eq(h.wait(10), 0, "exit status")


@timeout(40)
def test_sigterm_under_load_exits_cleanly():
    # Busy keep-alive clients and pipelined requests in flight at SIGTERM.
    root = make_docroot()
    try:
        with Server(root) as s:
            conns = [Conn(s) for _ in range(20)]
            try:
                # serving one request first keeps this test about load, not about the
                # start-up window (test_sigterm_right_after_listening_line_exits_0)
                check_status(conns[0].request("GET", "/a.txt"), 200)
                for c in conns:
                    c.send(b"".join(build_request("GET", "/a.txt") for _ in range(10)))
                s.signal(signal.SIGTERM)
                eq(s.wait(15), 0, "exit status under load")
            finally:
                for c in conns:
                    c.close()
    finally:
        remove_tree(root)


@timeout(40)
def test_sigterm_right_after_listening_line_exits_0():
    # The listening line means "ready": a supervisor may stop the server at once.
    # If the signal handlers are installed after the line is printed, SIGTERM in
    # that window kills the process (exit -15) instead of a clean stop.
    root = make_docroot()
    try:
        bad = []
        for i in range(20):
            for make in (lambda: Server(root), lambda: Hello()):
                p = make().start()
                try:
                    p.signal(signal.SIGTERM)
                    rc = p.wait(10)
                finally:
                    p._kill()
                if rc != 0:
                    bad.append(f"{p.kind} run {i + 1}: exit {rc}")
        eq(bad, [], "exit status after SIGTERM right after the listening line")
    finally:
        remove_tree(root)
