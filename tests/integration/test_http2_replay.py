"""The main features over HTTP/2 (h2c): the same pipeline answers the same
statuses, fields and bodies as over HTTP/1.1 — static files, ranges,
conditional requests, redirects, the REST API, the policies' 4xx and 5xx
and the problem bodies.  Each case is one request on a fresh h2c
connection (h2client.h2_request)."""

import json
import os

from h2client import h2_request
from harness import (A_TXT, FIXED_MTIME, INDEX_HTML, ConfigServer, Server, check, check_status,
                     config_dir, eq, make_docroot, shared)
from test_config_codes import CONFIG, PAGE

_root = None
_dir = None
DATA = bytes(range(256)) * 40  # 10240 bytes


def root():
    global _root
    if _root is None:
        _root = make_docroot({"data.bin": DATA})
    return _root


def files():
    return shared("nxx serve --h2c --api", lambda: Server(
        root(), "--h2c", "--api", "/api", "--data", os.path.join(root(), ".store")))


def codes():
    def make():
        global _dir
        _dir, path = config_dir(None, files={"maint.html": PAGE})
        with open(path, "w") as f:
            f.write("h2c: true\n" + CONFIG.replace("MAINT", os.path.join(_dir, "maintenance")))
        return ConfigServer(path)
    return shared("nxx serve --config (status codes, h2c)", make)


def get(path, headers=(), method="GET", body=b"", server=None, authority=None):
    return h2_request(server or files(), method, path, headers, body, authority=authority)


# ---- files ----


def test_file_200_with_validators():
    r = get("/a.txt")
    check_status(r, 200)
    eq(r.body, A_TXT, "body")
    eq(r.header("content-length"), str(len(A_TXT)), "content-length")
    check(r.header("etag") and r.header("last-modified"), "validators")
    eq(r.header("accept-ranges"), "bytes", "accept-ranges")


def test_index_and_directory_redirect_301():
    r = get("/")
    check_status(r, 200)
    eq(r.body, INDEX_HTML, "index")
    r = get("/sub")
    check_status(r, 301, "directory without its slash")
    check((r.header("location") or "").endswith("/sub/"), f"Location {r.header('location')}")


def test_dotfile_and_missing_are_refused():
    check_status(get("/.secret"), (403, 404), "dotfile")
    r = get("/missing", [("Accept", "application/json")])
    check_status(r, 404)
    eq(r.content_type, "application/problem+json", "problem+json")
    eq(json.loads(r.body)["status"], 404, "status member")


def test_range_single_multi_and_416():
    r = get("/data.bin", [("Range", "bytes=10-19")])
    check_status(r, 206)
    eq(r.body, DATA[10:20], "one range")
    eq(r.header("content-range"), f"bytes 10-19/{len(DATA)}", "Content-Range")
    r = get("/data.bin", [("Range", "bytes=0-1,100-101")])
    check_status(r, 206)
    check(r.content_type == "multipart/byteranges", f"type {r.content_type}")
    check(DATA[100:102] in r.body, "second part")
    r = get("/data.bin", [("Range", "bytes=999999-")])
    check_status(r, 416)
    eq(r.header("content-range"), f"bytes */{len(DATA)}", "Content-Range of the 416")


def test_conditionals_304_and_412():
    etag = get("/a.txt").header("etag")
    r = get("/a.txt", [("If-None-Match", etag)])
    check_status(r, 304)
    eq(r.body, b"", "no content")
    eq(r.header("etag"), etag, "ETag on the 304")
    check(r.header("content-length") is None, "no content-length on a 304")
    import email.utils
    r = get("/a.txt", [("If-Modified-Since", email.utils.formatdate(FIXED_MTIME, usegmt=True))])
    check_status(r, 304, "If-Modified-Since")
    check_status(get("/a.txt", [("If-Match", '"nope"')]), 412, "If-Match false")
    r = get("/a.txt", [("Range", "bytes=0-3"), ("If-Range", etag)])
    check_status(r, 206, "If-Range with the current ETag")


def test_head_options_and_405():
    r = get("/a.txt", method="HEAD")
    check_status(r, 200)
    eq(r.body, b"", "HEAD")
    eq(r.header("content-length"), str(len(A_TXT)), "HEAD length")
    r = get("/a.txt", method="DELETE")
    check_status(r, 405)
    check("GET" in (r.header("allow") or ""), f"Allow: {r.header('allow')}")
    r = get("/a.txt", method="OPTIONS")
    check_status(r, 204)
    check(r.header("allow"), "Allow on OPTIONS")


def test_unknown_method_501_and_expect_417():
    check_status(get("/a.txt", method="FROB"), 501, "unknown method")
    check_status(get("/a.txt", [("Expect", "something")]), 417, "unknown expectation")


def test_header_field_over_limit_431():
    r = get("/a.txt", [("X-Big", "x" * 9000), ("Accept", "application/json")])
    check_status(r, 431)
    check(b"x-big" in r.body.lower(), f"the problem names the field: {r.body[:200]!r}")


def test_uri_over_limit_414():
    check_status(get("/" + "a" * 9000), 414)


# ---- the REST API ----


def test_rest_crud_and_tombstone():
    ct = [("Content-Type", "application/json")]
    r = get("/api/books", ct, "POST", b'{"title":"h2"}')
    check_status(r, 201)
    loc = r.header("location")
    check(loc and r.header("etag"), "Location and ETag")
    r = get(loc)
    check_status(r, 200)
    eq(json.loads(r.body)["title"], "h2", "stored")
    etag = r.header("etag")
    r = get(loc, ct + [("If-Match", etag)], "PUT", b'{"title":"h2 again"}')
    check_status(r, 200, "PUT with If-Match")
    r = get(loc, ct + [("If-Match", etag)], "PUT", b'{"title":"stale"}')
    check_status(r, 412, "PUT with a stale If-Match")
    r = get(loc, [("Content-Type", "application/merge-patch+json")], "PATCH", b'{"n":1}')
    check_status(r, 200, "PATCH")
    check_status(get(loc, method="DELETE"), 204, "DELETE")
    check_status(get(loc), 410, "a deleted item")


def test_rest_bad_input_4xx():
    r = get("/api/books", [("Content-Type", "application/json")], "POST", b'{"title":')
    check_status(r, 400, "malformed JSON")
    r = get("/api/books", [("Content-Type", "text/plain")], "POST", b"x")
    check_status(r, 415, "media type")
    check(r.header("accept-post"), "Accept-Post")
    r = get("/api/books", [("Content-Type", "application/json")], "POST",
            b'{"x":"' + b"y" * (2 << 20) + b'"}')
    check_status(r, 413, "content over --max-body-bytes (Content-Length)")
    check_status(get("/api/books/none"), 404, "missing item")


def test_content_without_length_is_counted_against_the_limit():
    # no content-length: the limit is checked as the DATA frames arrive
    from h2client import H2
    with H2(files()) as c:
        sid = c.headers("POST", "/api/books", [("content-type", "application/json")], end=False)
        sent = c.send_body(sid, b"x" * (3 << 20), 10, end=False)
        check(sent < 3 << 20, "the server took all the content")
        eq(c.response(sid)[0], 413, "content over the limit")


# ---- configured statuses ----


def test_redirects_301_to_308():
    for path, status, loc in (("/r301/x", 301, "https://codes.test/new/r301/x"),
                              ("/r303?a=1", 303, "/see?from=a=1"),
                              ("/r308/one/two", 308, "/p/two/one")):
        r = get(path, server=codes(), authority="codes.test")
        check_status(r, status, path)
        eq(r.header("location"), loc, f"Location of {path}")


def test_policies_410_411_413_418_451():
    s = codes()
    a = "codes.test"
    check_status(get("/gone", server=s, authority=a), 410, "gone")
    tea = [("Content-Type", "message/teapot")]
    # HTTP/2 content without content-length is of unknown length, like chunked
    from h2client import H2
    with H2(s) as c:
        c.authority = a
        sid = c.headers("BREW", "/upload", [("content-type", "message/teapot")], end=False)
        c.conn.send_data(sid, b"start", end_stream=True)
        c.flush()
        eq(c.response(sid)[0], 411, "require-length without content-length")
    r = get("/upload", tea + [("Content-Length", "5")], "BREW", b"start", server=s, authority=a)
    check_status(r, 200, "with content-length")
    check_status(get("/small", tea, "POST", b"x" * 11, server=s, authority=a), 413, "413")
    check_status(get("/teapot", [("Content-Type", "message/coffeepot")], "BREW", b"start",
                     server=s, authority=a), 418, "teapot")
    r = get("/blocked", [("Accept", "application/json")], server=s, authority=a)
    check_status(r, 451, "legal-block")
    eq(r.header("link"), '<https://authority.example/>; rel="blocked-by"', "Link")


def test_503_maintenance_with_retry_after():
    s = codes()
    flag = os.path.join(_dir, "maintenance")
    open(flag, "w").close()
    try:
        import time
        deadline = time.monotonic() + 3
        while True:
            r = get("/page", [("Accept", "text/html")], server=s, authority="maint.test")
            if r.status == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        check_status(r, 503, "maintenance")
        eq(r.header("retry-after"), "120", "Retry-After")
    finally:
        os.unlink(flag)


def test_scope_headers_reach_h2_responses():
    r = get("/big", server=codes(), authority="codes.test", method="OPTIONS")
    eq(r.header("x-server-level"), "s", "server-level field")
    eq(r.header("x-host-level"), "h", "host-level field")

