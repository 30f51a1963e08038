"""Files under the root: GET/HEAD, index.html, the directory redirect, dotfiles,
percent-decoding, and no escape from the root by any encoding."""

import os
import urllib.parse

from harness import (A_TXT, FIXED_MTIME, INDEX_HTML, SPACE_TXT, SUB_INDEX_HTML, Conn, Server,
                     assert_alive, build_request, check, check_status, curl, eq, exchange, get,
                     http_date, is_imf_fixdate, make_docroot, one, shared,
                     TRANSPORT)

_root = None


def root():
    global _root
    if _root is None:
        _root = make_docroot()
        # symlinks inside the root that point outside it
        os.symlink("/etc/passwd", os.path.join(_root, "passwd-link"))
        os.symlink("/etc", os.path.join(_root, "etc-link"))
    return _root


def srv():
    return shared("nxx serve (defaults)", lambda: Server(root()))


def _passwd():
    try:
        with open("/etc/passwd", "rb") as f:
            return f.read()
    except OSError:
        return b"root:x:0:0:"


def test_get_file_headers_and_body():
    r = get(srv(), "/a.txt")
    check_status(r, 200)
    eq(r.body, A_TXT, "body")
    eq(r.header("content-type"), "text/plain; charset=utf-8", "Content-Type")
    eq(r.header("content-length"), str(len(A_TXT)), "Content-Length")
    eq(len(r.header_all("content-length")), 1, "number of Content-Length fields")
    check(is_imf_fixdate(r.header("date")), f"Date is not an IMF-fixdate: {r.header('date')!r}")
    eq(r.header("server"), "nxx", "Server")
    eq(r.header("last-modified"), http_date(FIXED_MTIME), "Last-Modified")
    etag = r.header("etag") or ""
    check(etag.startswith('"') or etag.startswith('W/"'), f"ETag missing or malformed: {etag!r}")
    check(etag.endswith('"') and len(etag) >= 3, f"ETag malformed: {etag!r}")
    eq(r.version, "HTTP/2" if TRANSPORT == "h2c" else "HTTP/1.1", "response version")
    eq(r.reason, "" if TRANSPORT == "h2c" else "OK", "reason phrase (none in HTTP/2)")


def test_date_header_is_current():
    import email.utils
    import time

    r = get(srv(), "/a.txt")
    when = email.utils.parsedate_to_datetime(r.header("date")).timestamp()
    check(abs(when - time.time()) < 5, f"Date {r.header('date')!r} is not now")


def test_head_has_no_body():
    with Conn(srv()) as c:
        g = c.request("GET", "/a.txt")
        # HEAD then GET on the same connection: if HEAD sent a body, the GET
        # response would not parse (or would contain the stray body).
        c.send(build_request("HEAD", "/a.txt") + build_request("GET", "/index.html"))
        h = c.read_response("HEAD")
        nxt = c.read_response("GET")
    check_status(h, 200, "HEAD /a.txt")
    eq(h.body, b"", "HEAD body")
    for name in ("content-type", "content-length", "last-modified", "etag", "server"):
        eq(h.header(name), g.header(name), f"HEAD {name} vs GET")
    check(is_imf_fixdate(h.header("date")), "HEAD Date")
    check_status(nxt, 200, "GET after HEAD on the same connection")
    eq(nxt.body, INDEX_HTML, "GET after HEAD body")


def test_get_root_serves_index_html():
    r = get(srv(), "/")
    check_status(r, 200)
    eq(r.body, INDEX_HTML, "body of /")
    eq(r.content_type, "text/html", "Content-Type of /")


def test_get_subdir_slash_serves_its_index():
    r = get(srv(), "/sub/")
    check_status(r, 200)
    eq(r.body, SUB_INDEX_HTML, "body of /sub/")


def test_directory_without_slash_redirects_301():
    r = get(srv(), "/sub")
    check_status(r, 301)
    loc = urllib.parse.urlsplit(r.header("location") or "")
    eq(loc.path, "/sub/", "Location path")
    eq(loc.query, "", "Location query")


def test_directory_redirect_keeps_query():
    r = get(srv(), "/sub?x=1")
    check_status(r, 301)
    loc = urllib.parse.urlsplit(r.header("location") or "")
    eq(loc.path, "/sub/", "Location path")
    eq(loc.query, "x=1", "Location query")


def test_directory_without_index_is_403_with_problem_body():
    r = get(srv(), "/nodir/")
    check_status(r, 403)
    check(len(r.body) > 0, "403 has no body")
    check("403" in r.body.decode("utf-8", "replace"), f"403 body does not name the status: {r.body!r}")


def test_missing_file_is_404():
    r = get(srv(), "/missing")
    check_status(r, 404)
    check(b"404" in r.body, f"404 body does not name the status: {r.body!r}")


def test_dotfile_is_hidden_404():
    r = get(srv(), "/.secret")
    check_status(r, 404)
    check(b"do not serve" not in r.body, "dotfile content leaked")
    check_status(get(srv(), "/%2esecret"), 404, "percent-encoded dotfile")


def test_file_with_space_in_name():
    r = get(srv(), "/with%20space.txt")
    check_status(r, 200)
    eq(r.body, SPACE_TXT, "body")


def test_percent_decoded_path():
    r = get(srv(), "/%61.txt")
    check_status(r, 200, "/%61.txt")
    eq(r.body, A_TXT, "body")


def test_dot_segments_inside_root_resolve():
    r = get(srv(), "/sub/../a.txt")
    check_status(r, 200, "/sub/../a.txt")
    eq(r.body, A_TXT, "body")
    r = get(srv(), "/./sub/./")
    check_status(r, 200, "/./sub/./")
    eq(r.body, SUB_INDEX_HTML, "body")


def test_query_string_ignored_for_files():
    r = get(srv(), "/a.txt?v=1&x=%20")
    check_status(r, 200)
    eq(r.body, A_TXT, "body")


def test_bad_percent_encoding_is_400():
    for target in ("/%zz", "/a%2", "/%"):
        r = get(srv(), target)
        check_status(r, 400, target)
        assert_alive(srv(), f"after {target}")


TRAVERSALS = [
    "/../etc/passwd",
    "/../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "/sub/..%2f..%2fetc/passwd",
    "/sub/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc/passwd",
    "/..%5c..%5cetc/passwd",
    "/sub/../../etc/passwd",
    "/sub/../../../../etc/passwd",
    "/%252e%252e/etc/passwd",
    "/..;/etc/passwd",
    "/.%2e/.%2e/etc/passwd",
    "//etc/passwd",
    "/passwd-link",
    "/etc-link/passwd",
    "/a.txt%00.html",
    "/%c0%ae%c0%ae/etc/passwd",
]


def _check_no_escape(target, resp):
    check(resp.status in (400, 403, 404), f"{target}: expected 400/403/404, got {resp.status}")
    check(_passwd()[:20] not in resp.body and b"root:" not in resp.body,
          f"{target}: the content of /etc/passwd was served")


def test_traversal_attempts_never_escape_root():
    for target in TRAVERSALS:
        r = get(srv(), target)
        _check_no_escape(target, r)
        assert_alive(srv(), f"after {target}")


def test_traversal_absolute_form_never_escapes_root():
    for target in ("http://x/../../etc/passwd", "http://localhost/%2e%2e/%2e%2e/etc/passwd"):
        r = one(srv(), build_request("GET", target, [("Host", "x")]))
        _check_no_escape(target, r)
        assert_alive(srv(), f"after {target}")


def test_absolute_form_is_accepted():
    r = one(srv(), build_request("GET", "http://localhost/a.txt", [("Host", "localhost")]))
    check_status(r, 200, "GET http://localhost/a.txt")
    eq(r.body, A_TXT, "body")


def test_symlink_outside_root_not_followed():
    for target in ("/passwd-link", "/etc-link/passwd", "/etc-link/"):
        r = get(srv(), target)
        _check_no_escape(target, r)


def test_curl_get_and_head():
    s = srv()
    code, body, head, _ = curl([s.url + "/a.txt"])
    eq(code, 200, "curl GET status")
    eq(body, A_TXT, "curl GET body")
    code, body, head, _ = curl(["-I", s.url + "/a.txt"])
    eq(code, 200, "curl HEAD status")  # (with -I curl writes the head to its output file)
    check(f"content-length: {len(A_TXT)}" in head.lower(), f"curl HEAD headers: {head!r}")
    code, body, _, _ = curl(["--http1.0", s.url + "/missing"])
    eq(code, 404, "curl HTTP/1.0 404")


def test_many_files_one_connection_exact_lengths():
    # Exact Content-Length on every response: a wrong one desynchronises the stream.
    with Conn(srv()) as c:
        for target, body in (("/a.txt", A_TXT), ("/", INDEX_HTML), ("/sub/", SUB_INDEX_HTML),
                             ("/with%20space.txt", SPACE_TXT)) * 3:
            r = c.request("GET", target)
            check_status(r, 200, target)
            eq(r.body, body, target)


def test_pipelined_file_and_error_keep_framing():
    resps, _, _ = exchange(srv(), build_request("GET", "/missing") + build_request("GET", "/a.txt"), 2)
    eq(len(resps), 2, "responses")
    check_status(resps[0], 404)
    check_status(resps[1], 200)
    eq(resps[1].body, A_TXT, "body after a 404 on the same connection")
