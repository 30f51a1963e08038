"""Regression: a chunked request whose chunk size line announced more than
--max-body-bytes was not refused until more than the limit had actually
arrived (or 408 at the request timeout), while a Content-Length over the
limit got 413 at once.  The decoder now knows the limit and a chunk size
that would pass it is answered 413 at once, naming the limit, and the
connection is closed."""

import json
import time

from harness import (Conn, Server, assert_alive, check, check_status, make_docroot,
                     parse_responses, shared, timeout, temp_dir)

LIMIT = 1000


def srv():
    def make():
        root = make_docroot()
        data = temp_dir("nxx-chunklimit-")
        return Server(root, "--api", "/api", "--data", data, "--max-body-bytes", str(LIMIT))
    return shared("nxx serve --api --max-body-bytes 1000 (chunk limit)", make)


HEAD = (b"POST /api/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nAccept: application/json\r\n\r\n")


def _refused_at_once(body_start, what):
    """Send the head and the start of a body that never completes; the 413 must
    come without waiting for the rest, and the connection must close."""
    t0 = time.monotonic()
    with Conn(srv(), 5) as c:
        c.send(HEAD + body_start)
        r = c.read_response(timeout_s=3)
        took = time.monotonic() - t0
        check_status(r, 413, what)
        check(took < 3, f"{what}: 413 after {took:.1f} s")
        check(r.content_type == "application/problem+json", f"{what}: {r.raw!r}")
        detail = json.loads(r.body).get("detail", "")
        check(str(LIMIT) in detail, f"{what}: the problem detail does not name the limit: "
                                    f"{detail!r}")
        check(c.wait_eof(5), f"{what}: connection not closed after the 413")


@timeout(20)
def test_first_chunk_over_the_limit_is_413_at_once():
    _refused_at_once(b"100000\r\n" + b"x" * 100, "a first chunk of 1 MiB")
    assert_alive(srv())


@timeout(20)
def test_largest_chunk_size_is_413_at_once():
    _refused_at_once(b"ffffffffffffffff\r\n", "a chunk of 2^64-1 bytes")
    assert_alive(srv())


@timeout(20)
def test_later_chunk_past_the_limit_is_413_at_once():
    first = b'{"name":"' + b"a" * 590 + b'"}'
    _refused_at_once(b"%x\r\n" % len(first) + first + b"\r\n" + b"200\r\n",
                     "a second chunk that takes the body past the limit")
    assert_alive(srv())


@timeout(20)
def test_chunked_body_within_the_limit_is_read():
    doc = b'{"name":"' + b"b" * (LIMIT - 12) + b'"}'
    half = len(doc) // 2
    body = (b"%x\r\n" % half + doc[:half] + b"\r\n" +
            b"%x\r\n" % (len(doc) - half) + doc[half:] + b"\r\n0\r\n\r\n")
    with Conn(srv(), 5) as c:
        c.send(HEAD.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + body)
        c.wait_eof(5)
        resps, _ = parse_responses(bytes(c.buf), eof=True)
        check(resps, f"no answer to a {len(doc)}-byte chunked body: {bytes(c.buf)!r}")
        check_status(resps[0], 201, f"a chunked body of {len(doc)} bytes (limit {LIMIT})")
