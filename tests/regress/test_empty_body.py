"""Regression: a REST write with empty content (Content-Length: 0, or chunked
with no data) reached the NDJSON counter and the form parser as a NULL
pointer with length 0, and both did arithmetic on it (undefined behaviour:
the clang sanitizer build died); the release build answered 202 with a bulk
task of nothing and 205 with an empty item.  Now empty content is a 400 that
says so, on every route that takes content, and no sanitizer complains."""

import json

from harness import (Conn, Server, assert_alive, check, check_status, eq, make_docroot,
                     parse_responses, shared, timeout, temp_dir)


def srv():
    def make():
        root = make_docroot()
        data = temp_dir("nxx-empty-")
        return Server(root, "--api", "/api", "--data", data)
    return shared("nxx serve --api (empty bodies)", make)


def _send(method, target, ctype, body=b"", chunked=False):
    head = (f"{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
            "Accept: application/json, application/problem+json\r\nConnection: close\r\n").encode()
    if chunked:
        data = head + b"Transfer-Encoding: chunked\r\n\r\n" + (
            (b"%x\r\n" % len(body) + body + b"\r\n") if body else b"") + b"0\r\n\r\n"
    else:
        data = head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    with Conn(srv(), 6) as c:
        c.send(data)
        c.wait_eof(5.0)
        resps, _ = parse_responses(bytes(c.buf), eof=True)
    check(resps, f"no answer to {method} {target} ({ctype}, {len(body)} bytes)")
    return resps[0]


def _empty_is_400(method, target, ctype, what):
    for chunked in (False, True):
        r = _send(method, target, ctype, chunked=chunked)
        how = "chunked, no data" if chunked else "Content-Length: 0"
        check_status(r, 400, f"{what} ({how})")
        eq(r.content_type, "application/problem+json", f"{what} ({how})")
        detail = json.loads(r.body).get("detail", "")
        check("no content" in detail, f"{what} ({how}): detail {detail!r} does not say why")
    assert_alive(srv(), f"after an empty {what}")


@timeout(20)
def test_empty_ndjson_bulk_import_is_400():
    _empty_is_400("POST", "/api/items/_bulk", "application/x-ndjson", "NDJSON bulk import")


@timeout(20)
def test_ndjson_bulk_import_of_blank_lines_is_400():
    r = _send("POST", "/api/items/_bulk", "application/x-ndjson", b"\n  \r\n\t\n")
    check_status(r, 400, "NDJSON bulk import of blank lines")


@timeout(20)
def test_empty_json_bulk_import_is_400_and_empty_array_is_a_task():
    _empty_is_400("POST", "/api/items/_bulk", "application/json", "JSON bulk import")
    r = _send("POST", "/api/items/_bulk", "application/json", b"[]")
    check_status(r, 202, "bulk import of []")
    eq(json.loads(r.body)["total"], 0, "total of an import of []")


@timeout(20)
def test_empty_urlencoded_form_is_400():
    _empty_is_400("POST", "/api/items", "application/x-www-form-urlencoded", "urlencoded form")
    r = _send("POST", "/api/items", "application/x-www-form-urlencoded", b"name=x")
    check_status(r, 205, "the same form with a field")


@timeout(20)
def test_empty_multipart_form_is_400():
    _empty_is_400("POST", "/api/items", "multipart/form-data; boundary=B", "multipart form")


@timeout(20)
def test_empty_json_bodies_are_400():
    _empty_is_400("POST", "/api/items", "application/json", "JSON POST")
    _empty_is_400("PUT", "/api/items/a", "application/json", "JSON PUT")
    _empty_is_400("PATCH", "/api/items/a", "application/merge-patch+json", "merge patch")
    _empty_is_400("PUT", "/api/_schemas/items", "application/json", "schema PUT")
