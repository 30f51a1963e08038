"""Limits set on the command line: --max-uri-bytes, --max-header-bytes,
--max-body-bytes (413 from Content-Length, before any body is sent)."""

from harness import (A_TXT, Conn, Server, assert_alive, build_request, check, check_status, eq,
                     make_docroot, shared)

_root = None


def root():
    global _root
    if _root is None:
        _root = make_docroot()
    return _root


def srv():
    return shared(
        "nxx serve --max-uri-bytes 100 --max-header-bytes 2000 --max-body-bytes 1000",
        lambda: Server(root(), "--max-uri-bytes", "100", "--max-header-bytes", "2000",
                       "--max-body-bytes", "1000"),
    )


def _first(data, method="GET"):
    with Conn(srv()) as c:
        c.send(data, tolerant=True)
        return c.read_response(method)


def test_max_uri_bytes_makes_200_byte_target_414():
    r = _first(build_request("GET", "/" + "a" * 199))
    check_status(r, 414, "200-byte target with --max-uri-bytes 100")
    assert_alive(srv())


def test_max_uri_bytes_allows_short_target():
    r = _first(build_request("GET", "/a.txt?" + "q" * 50))
    check_status(r, 200, "57-byte target")
    eq(r.body, A_TXT, "body")


def test_max_header_bytes_2000_makes_2500_byte_section_431():
    headers = [(f"X-H{i}", "v" * 800) for i in range(3)]
    r = _first(build_request("GET", "/a.txt", headers))
    check_status(r, 431, "2.4 KB header section with --max-header-bytes 2000")
    assert_alive(srv())


def test_max_header_bytes_2000_allows_1500_byte_section():
    headers = [(f"X-H{i}", "v" * 700) for i in range(2)]
    r = _first(build_request("GET", "/a.txt", headers))
    check_status(r, 200, "1.4 KB header section")


def test_max_body_bytes_413_before_body_is_sent():
    # Only the head is sent: the 413 must come from Content-Length alone.
    head = build_request("POST", "/", [("Content-Length", "5000"), ("Accept", "application/json")])
    with Conn(srv()) as c:
        c.send(head)
        r = c.read_response("POST", timeout_s=5)
    check_status(r, 413, "POST with Content-Length 5000 over --max-body-bytes 1000")
    assert_alive(srv())


def test_max_body_bytes_413_with_expect_no_100():
    head = build_request("POST", "/", [("Content-Length", "5000"), ("Expect", "100-continue")])
    with Conn(srv()) as c:
        c.send(head)
        r = c.read_response("POST", timeout_s=5, interim=False)
    check_status(r, 413, "POST with Expect and Content-Length over the limit")
    assert_alive(srv())


def field_srv():
    return shared(
        "nxx serve --max-field-bytes 500 --max-headers 10 --max-body-bytes 1K",
        lambda: Server(root(), "--max-field-bytes", "500", "--max-headers", "10",
                       "--max-body-bytes", "1K"),
    )


def test_max_field_bytes_names_the_field():
    with Conn(field_srv()) as c:
        c.send(build_request("GET", "/a.txt", [("X-Long-One", "v" * 600)]))
        r = c.read_response()
    check_status(r, 431, "a 612-byte field with --max-field-bytes 500")
    check(b"x-long-one" in r.body.lower(), f"431 detail does not name the field: {r.body!r}")
    with Conn(field_srv()) as c:
        r = c.request("GET", "/a.txt", [("X-Shorter", "v" * 400)])
    check_status(r, 200, "a 411-byte field")


def test_max_headers_limits_field_count():
    with Conn(field_srv()) as c:
        c.send(build_request("GET", "/a.txt", [(f"X-N{i}", "1") for i in range(20)]))
        r = c.read_response()
    check_status(r, 431, "21 fields with --max-headers 10")
    assert_alive(field_srv())
    with Conn(field_srv()) as c:
        r = c.request("GET", "/a.txt", [(f"X-N{i}", "1") for i in range(5)])
    check_status(r, 200, "6 fields with --max-headers 10")


def test_size_suffix_k():
    with Conn(field_srv()) as c:
        c.send(build_request("POST", "/", [("Content-Length", "1025")]))
        r = c.read_response("POST")
    check_status(r, 413, "Content-Length 1025 with --max-body-bytes 1K")
    with Conn(field_srv()) as c:
        c.send(build_request("POST", "/", [("Content-Length", "1024")]) + b"x" * 1024)
        r = c.read_response("POST")
    check(r.status != 413, f"Content-Length 1024 refused with 413 under --max-body-bytes 1K")
