"""Error bodies: application/problem+json (RFC 9457) for JSON clients, HTML for
browsers, plain text otherwise; none for HEAD; Content-Length always right."""

import json

from harness import (A_TXT, Conn, Server, allow_set, build_request, check, check_status, eq,
                     make_docroot, shared)

_root = None

# (method, target, expected status, reason phrase)
ERRORS = [
    ("GET", "/missing", 404, "Not Found"),
    ("GET", "/nodir/", 403, "Forbidden"),
    ("DELETE", "/a.txt", 405, "Method Not Allowed"),
    ("GET", "/%zz", 400, "Bad Request"),
    ("FOO", "/", 501, "Not Implemented"),
]


def root():
    global _root
    if _root is None:
        _root = make_docroot()
    return _root


def srv():
    return shared("nxx serve (defaults)", lambda: Server(root()))


def _ask(method, target, accept):
    """The error response, then a GET /a.txt on the same connection: if the error's
    Content-Length were wrong, the second response would not parse."""
    headers = [("Accept", accept)] if accept else []
    with Conn(srv()) as c:
        c.send(build_request(method, target, headers) + build_request("GET", "/a.txt"))
        r = c.read_response(method)
        if r.header("connection", "").lower() != "close":
            nxt = c.read_response("GET")
            check_status(nxt, 200, f"GET after {method} {target} on the same connection")
            eq(nxt.body, A_TXT, f"body of GET after {method} {target}")
    eq(r.header("content-length"), str(len(r.body)), f"{method} {target} Content-Length")
    return r


def _check_problem_json(r, status, reason, what):
    check_status(r, status, what)
    eq(r.content_type, "application/problem+json", f"{what} Content-Type")
    try:
        doc = json.loads(r.body)
    except ValueError as e:
        raise AssertionError(f"{what}: body is not JSON ({e}): {r.body[:300]!r}")
    check(isinstance(doc, dict), f"{what}: problem is not an object")
    for key in ("type", "title", "status", "detail", "instance"):
        check(key in doc, f"{what}: problem lacks '{key}': {doc!r}")
    check(isinstance(doc["type"], str) and doc["type"], f"{what}: type {doc['type']!r}")
    eq(doc["title"], reason, f"{what} title")
    check(type(doc["status"]) is int, f"{what}: status is not an integer: {doc['status']!r}")
    eq(doc["status"], status, f"{what} status member")
    check(isinstance(doc["detail"], str) and doc["detail"].strip(), f"{what}: empty detail")
    check(isinstance(doc["instance"], str), f"{what}: instance {doc['instance']!r}")
    return doc


def test_problem_json_for_accept_application_json():
    for method, target, status, reason in ERRORS:
        r = _ask(method, target, "application/json")
        _check_problem_json(r, status, reason, f"{method} {target}")


def test_problem_json_for_accept_problem_json():
    for method, target, status, reason in ERRORS:
        r = _ask(method, target, "application/problem+json")
        _check_problem_json(r, status, reason, f"{method} {target}")


def test_problem_json_when_json_preferred_by_q():
    r = _ask("GET", "/missing", "text/html;q=0.1, application/json")
    _check_problem_json(r, 404, "Not Found", "Accept with q-values")


def test_405_problem_json_keeps_allow():
    r = _ask("PUT", "/a.txt", "application/json")
    _check_problem_json(r, 405, "Method Not Allowed", "PUT /a.txt")
    eq(allow_set(r), {"GET", "HEAD", "OPTIONS"}, "Allow")


def test_problem_html_for_accept_text_html():
    for method, target, status, reason in ERRORS:
        r = _ask(method, target, "text/html")
        check_status(r, status, f"{method} {target}")
        eq(r.content_type, "text/html", f"{method} {target} Content-Type")
        text = r.body.decode("utf-8", "replace")
        check(str(status) in text, f"{method} {target}: HTML page lacks {status}: {text[:300]!r}")
        check("<" in text and ">" in text, f"{method} {target}: not HTML: {text[:300]!r}")


def test_problem_html_for_browser_accept():
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    r = _ask("GET", "/missing", accept)
    check_status(r, 404)
    eq(r.content_type, "text/html", "Content-Type for a browser")


def test_problem_text_without_accept():
    for method, target, status, reason in ERRORS:
        for accept in (None, "*/*", "text/plain"):
            r = _ask(method, target, accept)
            what = f"{method} {target} Accept={accept}"
            check_status(r, status, what)
            eq(r.content_type, "text/plain", f"{what} Content-Type")
            text = r.body.decode("utf-8", "replace")
            check(str(status) in text and reason in text,
                  f"{what}: text lacks '{status}' and '{reason}': {text!r}")


def test_head_error_has_no_body():
    for accept in (None, "application/json", "text/html"):
        headers = [("Accept", accept)] if accept else []
        with Conn(srv()) as c:
            c.send(build_request("HEAD", "/missing", headers) + build_request("GET", "/a.txt"))
            h = c.read_response("HEAD")
            g = c.read_response("GET")
        check_status(h, 404, f"HEAD /missing Accept={accept}")
        eq(h.body, b"", "HEAD error body")
        check_status(g, 200, "GET after HEAD error (a stray body would break this)")
        eq(g.body, A_TXT, "GET after HEAD error")


def test_error_reason_phrases_on_status_line():
    for method, target, status, reason in ERRORS:
        r = _ask(method, target, None)
        eq(r.reason, reason, f"{method} {target} status line reason")
