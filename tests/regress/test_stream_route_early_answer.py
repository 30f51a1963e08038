"""Regression: a route that reads its content as it arrives (NXX_ROUTE_STREAM:
the WebDAV handler, the proxy, an embedder's upload) and whose handler wrote
its answer itself before it started reading (the WebDAV handler's 507 with
an XML error body for a PUT larger than the quota leaves room for) left the
content unread in the connection, so HTTP/1 parsed the content's bytes as
the next request: a body that held a request line got that request answered
(smuggled past every check the refusal made), any other body got a 400 for
a "request" made of body bytes, and the client's real next request got an
answer meant for something else.  (A refusal the handler returns as a
status goes through the pipeline, which always closed the connection; the
cases of 409 and 405 check that this stays so.)  Now the engine skips the
unread content when it is small and already here, or closes the connection
after the answer (Connection: close), so the next answer on a connection is
always for the client's next request.  A proxy location whose upstream
answers before it has read the content is held to the same rule."""

import time

from harness import (Conn, Server, at_teardown, build_request, check, eq, make_docroot,
                     parse_response, remove_tree, timeout)
from upstreams import FakeUpstream, ProxyServer

SMUGGLED = b"this file must never be served through a PUT's content\n"
# content that is itself a whole request for a file that exists
INNER = b"GET /smuggled.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"


def _chunked(body):
    return b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"


def _put(target, body, chunked=False):
    if chunked:
        return build_request("PUT", target, [("Transfer-Encoding", "chunked")]) + _chunked(body)
    return build_request("PUT", target, [("Content-Length", str(len(body)))]) + body


def _read_all_responses(c, first_method, want, deadline_s=5.0):
    """Responses on c until the server closes or 1 s passes without more, and
    whether it closed (waited for, up to 10 s, when fewer than want came)."""
    out = []
    method = first_method
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        r = parse_response(c.buf, 0, method=method, eof=c.eof)
        if r is not None:
            resp, n = r
            del c.buf[:n]
            out.append(resp)
            method = "GET"
            continue
        if c.eof or not c._recv_some(min(end, time.monotonic() + 1.0)):
            break
    return out, c.eof or (len(out) < want and c.wait_eof(10.0))


def _check_next_answer(got, refusal, what, next_body=b"hello from a.txt\n"):
    """got: what came back for [refused PUT, GET /a.txt] and whether the
    server then closed.  The first is the refusal; then either the GET's
    answer, or nothing and the server closes the connection (announced with
    Connection: close when the refusal's head could still say so).  Never an
    answer made from the PUT's content."""
    resps, closed = got
    check(resps, f"{what}: no answer at all")
    first = resps[0]
    eq(first.status, refusal, f"{what}: the PUT's refusal")
    rest = resps[1:]
    for r in rest:
        check(r.status != 400, f"{what}: the PUT's content was parsed as a request "
                               f"(400: {r.body[:200]!r})")
        check(SMUGGLED not in r.body, f"{what}: the request inside the PUT's content was "
                                      f"answered")
    if "close" in first.tokens("connection") or (not rest and closed):
        eq(rest, [], f"{what}: nothing after a refusal that closes the connection")
        check(closed, f"{what}: the connection is closed after Connection: close")
        return
    eq(len(rest), 1, f"{what}: exactly one answer for the next request: {rest!r}")
    eq((rest[0].status, rest[0].body), (200, next_body), f"{what}: the answer to GET /a.txt")


@timeout(60)
def test_refused_put_content_is_never_a_request():
    root = make_docroot({"smuggled.txt": SMUGGLED})
    garbage = b"\x00\x01 not a request at all \r\n\r\n" + b"z" * 300
    big = INNER + b"y" * (512 * 1024)
    # (what, target, body, chunked, status): 507 is written by the handler
    # (the tree already holds more than the quota: no PUT with content fits),
    # 409 and 405 are returned to the pipeline
    over_quota = [
        ("507 over the quota, content a request", "/new.txt", INNER, False, 507),
        ("507 over the quota, content of garbage", "/new.txt", garbage, False, 507),
        ("507 over the quota, 512 KiB of content", "/new.txt", big, False, 507),
    ]
    returned = [
        ("409, content a request", "/missing/new.txt", INNER, False, 409),
        ("409, chunked content a request", "/missing/new.txt", INNER, True, 409),
        ("409, chunked garbage", "/missing/new.txt", garbage, True, 409),
        ("405 on a collection, content a request", "/sub/", INNER, False, 405),
    ]
    try:
        for args, cases in ((["--dav-quota", "16"], over_quota), (["--dav"], returned)):
            with Server(root, *args) as s:
                for what, target, body, chunked, status in cases:
                    _both_ways(s, what, target, body, chunked, status)
    finally:
        remove_tree(root)


def _both_ways(s, what, target, body, chunked, status, next_body=b"hello from a.txt\n"):
    # all at once: the content and the next request behind the head
    with Conn(s, 10) as c:
        c.send(_put(target, body, chunked) + build_request("GET", "/a.txt"), tolerant=True)
        _check_next_answer(_read_all_responses(c, "PUT", 2), status, what, next_body)
    # the content only after the refusal came back
    with Conn(s, 10) as c:
        head, content = _put(target, body, chunked).split(b"\r\n\r\n", 1)
        c.send(head + b"\r\n\r\n")
        first = c.read_response("PUT")
        c.send(content + build_request("GET", "/a.txt"), tolerant=True)
        rest, closed = _read_all_responses(c, "GET", 1)
        _check_next_answer(([first] + rest, closed), status, f"{what}, content sent late", next_body)


def _answers_first(c):
    # an upstream that answers each request before it reads the content
    while True:
        req = c.read_head()
        c.respond(200, [("Content-Type", "text/plain")], b"early " + req.target.encode() + b"\n")
        c.read_body(req)


@timeout(60)
def test_proxied_put_answered_before_its_content_was_read():
    up = FakeUpstream(_answers_first)
    at_teardown(up.close)
    big = INNER + b"y" * (512 * 1024)
    with ProxyServer(up.url) as s:
        for what, body, chunked in (("content a request", INNER, False),
                                    ("chunked content a request", INNER, True),
                                    ("512 KiB of content", big, False),
                                    ("512 KiB chunked", big, True)):
            _both_ways(s, f"proxy, {what}", "/x", body, chunked, 200, b"early /a.txt\n")
