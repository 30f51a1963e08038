"""--max-connections: over the limit a client gets 503 with Retry-After and is
closed; capacity comes back when connections close."""

import time

from harness import (served_again, A_TXT, Conn, Server, check, check_status, eq, get, make_docroot,
                     parse_responses, remove_tree, timeout)


@timeout(30)
def test_max_connections_third_gets_503_and_recovers():
    root = make_docroot()
    try:
        with Server(root, "--max-connections", "2") as s:
            a, b = Conn(s), Conn(s)
            try:
                # Both are accepted and counted once they have been answered.
                for c in (a, b):
                    r = c.request("GET", "/a.txt")
                    check_status(r, 200, "one of the two allowed connections")
                with Conn(s) as third:
                    third.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", tolerant=True)
                    check(third.wait_eof(5.0), "third connection not closed")
                    resps, _ = parse_responses(bytes(third.buf), eof=True)
                    check(resps, f"third connection closed without a 503: {bytes(third.buf)!r}")
                    check_status(resps[0], 503, "third connection")
                    ra = resps[0].header("retry-after") or ""
                    check(ra.isdigit(), f"503 without a delay-seconds Retry-After: {ra!r}")
                    eq(len(resps), 1, "responses on the refused connection")
                # The two held connections still work.
                for c in (a, b):
                    r = c.request("GET", "/a.txt")
                    eq(r.body, A_TXT, "held connection still served")
            finally:
                a.close()
                b.close()
            # The server learns of the closes asynchronously: retry for a bounded time.
            served_again(s, "/a.txt", 5, "new connections not served after the two closed")
    finally:
        remove_tree(root)
