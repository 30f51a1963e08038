"""Lingering close: when the server refuses a body it has not read, it shuts
its write side and keeps reading what the client is still sending, instead of
closing at once.  A closed socket would answer those late bytes with RST, and
a client (or an OS) that gets the RST first can lose the response.  Observable
here: after the answer and its FIN, more body bytes are still accepted and the
connection ends cleanly (EOF), not with a reset."""

import time

from harness import (Server, assert_alive, check, check_status, connect, make_docroot,
                     parse_responses, shared, timeout)

_root = None


def srv():
    global _root
    if _root is None:
        _root = make_docroot()
    return shared("nxx serve --max-body-bytes 1000 (linger)",
                  lambda: Server(_root, "--max-body-bytes", "1000"))


def _answer_then_keep_sending(head, first_body):
    s = connect(srv(), 5)
    try:
        s.sendall(head + first_body)
        got = b""
        while True:  # the answer, then the server's FIN
            data = s.recv(65536)
            if not data:
                break
            got += data
        resps, _ = parse_responses(got, eof=True)
        # the client, unaware, goes on sending its body
        late_error = None
        try:
            for _ in range(8):
                s.send(b"y" * 8192)
            time.sleep(0.2)
            s.send(b"y" * 8192)
            time.sleep(0.2)
            tail = s.recv(100)
        except OSError as e:
            late_error, tail = e, None
        return resps, late_error, tail
    finally:
        s.close()


@timeout(30)
def test_413_with_body_still_arriving_lingers_instead_of_reset():
    head = b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n"
    resps, late_error, tail = _answer_then_keep_sending(head, b"x" * 500)
    check(resps, "no response")
    check_status(resps[0], 413, "over the body limit")
    check(late_error is None, f"late body bytes were answered with a reset: {late_error!r}")
    check(tail == b"", f"expected a clean EOF after the answer, got {tail!r}")
    assert_alive(srv())


@timeout(30)
def test_405_with_unread_body_lingers_instead_of_reset():
    head = (b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n"
            b"Connection: close\r\n\r\n")
    resps, late_error, tail = _answer_then_keep_sending(head, b"x" * 100)
    check(resps, "no response")
    check_status(resps[0], 405, "POST on a file")
    check(late_error is None, f"late body bytes were answered with a reset: {late_error!r}")
    check(tail == b"", f"expected a clean EOF after the answer, got {tail!r}")
    assert_alive(srv())
