"""Methods on files: 405 with Allow, OPTIONS, TRACE (off and --trace), CONNECT,
unknown methods (501)."""

from harness import (A_TXT, Conn, Server, allow_set, assert_alive, build_request, check,
                     check_status, eq, exchange, get, make_docroot, one, shared)

_root = None
FILE_ALLOW = {"GET", "HEAD", "OPTIONS"}


def root():
    global _root
    if _root is None:
        _root = make_docroot()
    return _root


def srv():
    return shared("nxx serve (defaults)", lambda: Server(root()))


def trace_srv():
    return shared("nxx serve --trace", lambda: Server(root(), "--trace"))


def test_unsupported_methods_on_file_are_405_with_allow():
    for method in ("POST", "PUT", "DELETE", "PATCH", "PROPFIND"):
        r = one(srv(), build_request(method, "/a.txt", [("Content-Length", "0")]), method)
        check_status(r, 405, method)
        eq(allow_set(r), FILE_ALLOW, f"Allow on 405 for {method}")
        check(len(r.body) > 0, f"405 for {method} has no explanation body")
        assert_alive(srv(), f"after {method}")


def test_405_with_body_keeps_framing():
    # The 405 arrives before the body is needed; whatever the server does with the
    # body (read and discard it, or close), it must never answer the body as a request.
    body = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    data = build_request("POST", "/a.txt", [("Content-Length", str(len(body)))]) + body
    resps, _, _ = exchange(srv(), data, 2, timeout_s=1.5)
    check(len(resps) >= 1, "no response")
    check_status(resps[0], 405)
    eq(len(resps), 1, "responses (the body was answered as a request)")
    assert_alive(srv())


def test_options_on_file_is_204_with_allow():
    r = one(srv(), build_request("OPTIONS", "/a.txt"), "OPTIONS")
    check_status(r, 204)
    eq(allow_set(r), FILE_ALLOW, "Allow")
    eq(r.body, b"", "204 body")
    check(r.header("content-length") in (None, "0"), "204 must not announce a body")


def test_options_asterisk_is_204_with_allow():
    r = one(srv(), build_request("OPTIONS", "*"), "OPTIONS")
    check_status(r, 204, "OPTIONS *")
    check(len(allow_set(r)) > 0, f"OPTIONS * has no Allow: {r.headers!r}")
    check("OPTIONS" in allow_set(r), f"OPTIONS * Allow lacks OPTIONS: {r.header('allow')!r}")


def test_asterisk_form_only_with_options():
    r = one(srv(), build_request("GET", "*"))
    check_status(r, 400, "GET *")
    assert_alive(srv())


def test_options_keeps_connection_usable():
    with Conn(srv()) as c:
        c.send(build_request("OPTIONS", "/a.txt") + build_request("GET", "/a.txt"))
        o = c.read_response("OPTIONS")
        g = c.read_response("GET")
    check_status(o, 204)
    check_status(g, 200)
    eq(g.body, A_TXT, "GET after OPTIONS")


def test_trace_disabled_is_405_with_allow():
    r = one(srv(), build_request("TRACE", "/a.txt"), "TRACE")
    check_status(r, 405, "TRACE without --trace")
    check(len(allow_set(r)) > 0, "405 without Allow")
    check("TRACE" not in allow_set(r), "Allow lists TRACE although it is disabled")
    assert_alive(srv())


def test_trace_enabled_echoes_request_head():
    s = trace_srv()
    data = build_request("TRACE", "/a.txt", [("Host", "localhost"), ("X-Probe", "trace-me-42")])
    r = one(s, data, "TRACE")
    check_status(r, 200, "TRACE with --trace")
    eq(r.content_type, "message/http", "Content-Type")
    check(r.body.startswith(b"TRACE /a.txt HTTP/1.1\r\n"), f"TRACE body: {r.body[:200]!r}")
    check(b"X-Probe: trace-me-42" in r.body, f"TRACE body lacks the request field: {r.body!r}")
    eq(r.header("content-length"), str(len(r.body)), "Content-Length")
    assert_alive(s)


def test_trace_omits_sensitive_fields():
    # RFC 9110 §9.3.8: the echo SHOULD leave out fields likely to hold secrets.
    data = build_request("TRACE", "/", [("Cookie", "session=s3cr3t"),
                                        ("Authorization", "Basic dXNlcjpwYXNz"),
                                        ("X-Visible", "yes")])
    r = one(trace_srv(), data, "TRACE")
    check_status(r, 200)
    check(b"s3cr3t" not in r.body, "TRACE echoed the Cookie")
    check(b"dXNlcjpwYXNz" not in r.body, "TRACE echoed the Authorization")
    check(b"X-Visible: yes" in r.body, "TRACE dropped an ordinary field")


def test_trace_enabled_server_still_serves_files():
    r = get(trace_srv(), "/a.txt")
    check_status(r, 200)
    eq(r.body, A_TXT, "body")


def test_connect_is_405():
    data = b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n"
    resps, _, _ = exchange(srv(), data, 1, ["CONNECT"])
    check(resps, "no response to CONNECT")
    check_status(resps[0], 405, "CONNECT")
    check(len(allow_set(resps[0])) > 0, "405 without Allow")
    assert_alive(srv())


def test_authority_form_only_with_connect():
    r = one(srv(), b"GET 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n")
    check_status(r, 400, "GET with an authority-form target")
    assert_alive(srv())


def test_unknown_method_is_501():
    r = one(srv(), b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n")
    check_status(r, 501, "FOO")
    check(b"501" in r.body, f"501 body: {r.body!r}")
    assert_alive(srv())


def test_lowercase_method_is_not_get():
    # Methods are case-sensitive (RFC 9110 §9.1): "get" is an unknown method.
    r = one(srv(), b"get /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    check(r.status != 200, "lower-case 'get' was treated as GET")
    check(r.status in (400, 501), f"expected 501 (or 400), got {r.status}")
    assert_alive(srv())
