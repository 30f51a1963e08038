"""Regression: --help promised 503 with Retry-After to every connection over
--max-connections, but only the first 64 over the limit got it; the others
were closed without a byte.  Every refused connection now gets a prebuilt
503 (Retry-After, a problem body, Connection: close) and is closed."""

import socket
import time

from harness import (TRANSPORT, Conn, Server, check, check_status, connect, get, make_docroot,
                     parse_responses, remove_tree, served_again, timeout)

LIMIT = 5
OVER = 300


def _read_until_eof(sock, deadline):
    data = bytearray()
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except (ConnectionResetError, ConnectionAbortedError):
            return bytes(data), True
        if not chunk:
            return bytes(data), True
        data += chunk
    return bytes(data), False


@timeout(60)
def test_every_connection_over_the_limit_gets_503():
    root = make_docroot()
    held, over = [], []
    try:
        # over TLS a refused connection is answered after its handshake and
        # request, by as many as --tls-refusals at once per worker
        tls = ["--tls-refusals", str(OVER)] if TRANSPORT == "tls" else []
        with Server(root, "--max-connections", str(LIMIT), "--access-log", "off", *tls) as s:
            for _ in range(LIMIT):
                c = Conn(s)
                check_status(c.request("GET", "/a.txt"), 200, "a connection within the limit")
                held.append(c)
            for i in range(OVER):
                sock = connect(s, 5)
                # half ask something, half just wait for the answer (not over
                # TLS, where the answer comes after a request)
                if i % 2 or s.tls:
                    try:
                        sock.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
                    except OSError:
                        pass
                over.append(sock)
            deadline = time.monotonic() + 15
            silent, bad = 0, []
            for sock in over:
                data, closed = _read_until_eof(sock, deadline)
                if not data:
                    silent += 1
                    continue
                resps, _ = parse_responses(data, eof=True)
                r = resps[0] if resps else None
                if (r is None or r.status != 503 or not (r.header("retry-after") or "").isdigit()
                        or r.content_type != "application/problem+json" or not closed):
                    bad.append(data[:300])
            check(silent == 0, f"{silent} of {OVER} connections over the limit were closed "
                               "without an answer")
            check(not bad, f"{len(bad)} connections over the limit got something else than a "
                           f"closing 503 with Retry-After: {bad[:2]!r}")
            for c in held:
                check_status(c.request("GET", "/a.txt"), 200, "a held connection afterwards")
            for c in held:
                c.close()
            held = []
            served_again(s, "/a.txt", 5, "new connections not served after the held ones closed")
    finally:
        for c in held:
            c.close()
        for sock in over:
            sock.close()
        remove_tree(root)
