"""The REST JSON store (`nxx serve --api /api --data DIR`): every status it
sends for real (201, 204, 205, 226, 304, 400, 404, 405, 406, 409, 410, 412,
415, 422, 428, 507), JSON Merge Patch end to end (RFC 7396 appendix A),
preconditions and the lost-update race, pagination links (RFC 8288),
filters and sorting, and the changes feed (RFC 3229 + feed).

The helpers at the top (api(), call(), js(), ...) are reused by
test_rest_tasks.py and test_rest_durability.py."""

import json
import re
import threading

from harness import (Conn, Server, allow_set, build_request, check, check_status, eq,
                     is_imf_fixdate, make_docroot, one, shared, temp_dir)

_root = None
ETAG_RE = re.compile(r'^"(\d+)"$')
COLL_ETAG_RE = re.compile(r'^"c(\d+)"$')
JSON = "application/json"
MERGE = "application/merge-patch+json"


def tmpdir(prefix):
    return temp_dir(prefix)


def root():
    global _root
    if _root is None:
        _root = make_docroot()
    return _root


def api_server(*flags, data=None):
    """An unstarted `nxx serve ROOT --api /api --data DIR [flags]`."""
    return Server(root(), "--api", "/api", "--data", data or tmpdir("nxx-it-data-"), *flags)


def api(*flags):
    """The module's shared API server for these flags (a fresh database each)."""
    return shared("nxx serve --api /api " + " ".join(flags), lambda: api_server(*flags))


def call(srv, method, path, body=None, headers=None, ctype=JSON, accept=JSON, timeout_s=10.0):
    """One request on a new connection.  body: bytes, str, or a value sent as JSON."""
    hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    names = {k.lower() for k, _ in hdrs}
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    if body is not None and ctype and "content-type" not in names:
        hdrs.append(("Content-Type", ctype))
    if accept and "accept" not in names:
        hdrs.append(("Accept", accept))
    if body is not None and "content-length" not in names:
        hdrs.append(("Content-Length", str(len(body))))
    hdrs.append(("Connection", "close"))
    return one(srv, build_request(method, path, hdrs, body or b""), method, timeout_s)


def js(resp):
    try:
        return json.loads(resp.body)
    except ValueError:
        raise AssertionError(f"body is not JSON: {resp.raw[:400]!r}")


def strip_id(item):
    return {k: v for k, v in item.items() if k != "id"}


def etag_of(resp):
    tag = resp.header("etag")
    check(tag is not None and ETAG_RE.match(tag), f"bad item ETag {tag!r}: {resp.raw[:300]!r}")
    return tag


def put(srv, path, obj, headers=None):
    return call(srv, "PUT", path, obj, headers)


def problem(resp, status):
    """Check an RFC 9457 problem body (we always ask for JSON) and return it."""
    check_status(resp, status)
    eq(resp.content_type, "application/problem+json", f"{status} content type")
    p = js(resp)
    eq(p.get("status"), status, "problem status member")
    check(p.get("detail"), f"problem without a detail: {p}")
    return p


def assert_api_alive(srv):
    check_status(call(srv, "GET", "/api/alive-check"), 200, "API still answers")


# ---------------------------------------------------------------------------
# 201, 409, Prefer, 205


def test_post_201_location_etag_and_the_stored_item():
    s = api()
    r = call(s, "POST", "/api/users", {"name": "ann", "age": 31, "ratio": 0.1})
    check_status(r, 201)
    item = js(r)
    check(isinstance(item.get("id"), str) and item["id"], f"no id assigned: {item}")
    eq(strip_id(item), {"name": "ann", "age": 31, "ratio": 0.1}, "stored item")
    check(b"0.1" in r.body and b"0.100000" not in r.body, f"0.1 did not round-trip: {r.body!r}")
    loc = r.header("location")
    eq(loc, "/api/users/" + item["id"], "Location")
    tag = etag_of(r)
    eq(r.content_type, "application/json", "content type")
    g = call(s, "GET", loc)
    check_status(g, 200, "GET Location")
    eq(js(g), item, "GET returns the item the POST returned")
    eq(g.header("etag"), tag, "ETag of GET equals the POST's")
    check(is_imf_fixdate(g.header("last-modified")), f"Last-Modified {g.header('last-modified')}")
    eq(g.header("cache-control"), "no-cache", "Cache-Control")
    h = call(s, "HEAD", loc)
    check_status(h, 200, "HEAD")
    eq(h.body, b"", "HEAD body")
    eq(h.header("content-length"), g.header("content-length"), "HEAD Content-Length")
    eq(h.header("etag"), tag, "HEAD ETag")


def test_post_with_existing_id_409():
    s = api()
    check_status(call(s, "POST", "/api/accounts", {"id": "acme", "plan": "a"}), 201)
    r = call(s, "POST", "/api/accounts", {"id": "acme", "plan": "b"})
    p = problem(r, 409)
    check("acme" in p["detail"], f"409 detail does not name the id: {p}")
    eq(js(call(s, "GET", "/api/accounts/acme"))["plan"], "a", "the first item is unchanged")
    # a bad client id is content, not a name: 422
    problem(call(s, "POST", "/api/accounts", {"id": "no spaces"}), 422)
    problem(call(s, "POST", "/api/accounts", {"id": 7}), 422)


def test_prefer_return_minimal():
    s = api()
    r = call(s, "POST", "/api/minimal", {"a": 1}, {"Prefer": "return=minimal"})
    check_status(r, 201)
    eq(r.body, b"", "201 body with return=minimal")
    eq(r.header("preference-applied"), "return=minimal", "Preference-Applied")
    check(r.header("location", "").startswith("/api/minimal/"), "Location")
    etag_of(r)
    loc = r.header("location")
    r = call(s, "PUT", loc, {"a": 2}, {"Prefer": "return=minimal"})
    check_status(r, 204, "PUT replacing, minimal")
    eq(r.header("preference-applied"), "return=minimal", "Preference-Applied on PUT")
    r = call(s, "PATCH", loc, {"b": 3}, {"Prefer": "return=minimal"}, ctype=MERGE)
    check_status(r, 204, "PATCH minimal")
    tag = etag_of(r)  # RFC 5789 §2: a 204 to PATCH may carry the new tag
    g = call(s, "GET", loc)
    eq(strip_id(js(g)), {"a": 2, "b": 3}, "item after minimal writes")
    eq(g.header("etag"), tag, "PATCH's ETag is the item's")
    r = call(s, "PUT", "/api/minimal/new1", {"x": 1}, {"Prefer": "return=minimal"})
    check_status(r, 201, "PUT creating, minimal")
    eq(r.body, b"", "201 body")
    eq(r.header("location"), "/api/minimal/new1", "Location of PUT-created")


def test_html_form_posts_205_reset_content():
    s = api()
    r = call(s, "POST", "/api/signups", "name=Ann+Lee&age=31&tag=a&tag=b&note=100%25",
             ctype="application/x-www-form-urlencoded", accept="text/html")
    check_status(r, 205, "urlencoded form")
    eq(r.header("content-length"), "0", "205 Content-Length")
    eq(r.body, b"", "205 body")
    boundary = "----nxxtest7MA4YWxkTrZu0gW"
    parts = [("name", "Bo"), ("age", "7"), ("empty", "")]
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                   for k, v in parts)
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n"
             f"Content-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n")
    r = call(s, "POST", "/api/signups", body, ctype=f"multipart/form-data; boundary={boundary}",
             accept="text/html")
    check_status(r, 205, "multipart form (empty file input)")
    eq(r.body, b"", "205 body")
    items = sorted((strip_id(i) for i in js(call(s, "GET", "/api/signups"))),
                   key=lambda i: i["name"])
    eq(items, [{"name": "Ann Lee", "age": "31", "tag": ["a", "b"], "note": "100%"},
               {"name": "Bo", "age": "7", "empty": ""}], "items made from the forms")
    with_file = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; "
                 f"filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n")
    r = call(s, "POST", "/api/signups", with_file,
             ctype=f"multipart/form-data; boundary={boundary}")
    problem(r, 415)
    check("multipart/form-data" in r.header("accept-post", ""), "Accept-Post on the 415")
    eq(len(js(call(s, "GET", "/api/signups"))), 2, "nothing stored from the file form")


# ---------------------------------------------------------------------------
# PUT, conditional requests, DELETE and tombstones


def test_put_creates_201_then_replaces_200():
    s = api()
    r = put(s, "/api/things/t1", {"v": 1})
    check_status(r, 201, "PUT creating")
    eq(r.header("location"), "/api/things/t1", "Location")
    eq(js(r), {"id": "t1", "v": 1}, "created item")
    t1 = etag_of(r)
    r = put(s, "/api/things/t1", {"id": "t1", "w": 2})
    check_status(r, 200, "PUT replacing")
    eq(js(r), {"id": "t1", "w": 2}, "replaced, not merged")
    check(etag_of(r) != t1, "ETag changes on every write")
    eq(r.header("content-location"), "/api/things/t1", "Content-Location")
    p = problem(put(s, "/api/things/t1", {"id": "other"}), 422)
    check("id" in p["detail"], f"422 detail: {p}")
    problem(put(s, "/api/things/t1", [1, 2]), 422)
    eq(js(call(s, "GET", "/api/things/t1")), {"id": "t1", "w": 2}, "unchanged by the 422s")


def test_if_none_match_star_and_if_match():
    s = api()
    r = put(s, "/api/cond/c1", {"v": 1}, {"If-None-Match": "*"})
    check_status(r, 201, "If-None-Match: * on an absent item")
    tag = etag_of(r)
    problem(put(s, "/api/cond/c1", {"v": 2}, {"If-None-Match": "*"}), 412)
    problem(put(s, "/api/cond/c1", {"v": 2}, {"If-Match": '"999999"'}), 412)
    problem(put(s, "/api/cond/never", {"v": 2}, {"If-Match": "*"}), 412)
    check_status(call(s, "GET", "/api/cond/never"), 404, "If-Match: * did not create")
    r = put(s, "/api/cond/c1", {"v": 3}, {"If-Match": tag})
    check_status(r, 200, "matching If-Match")
    tag2 = etag_of(r)
    problem(put(s, "/api/cond/c1", {"v": 4}, {"If-Match": tag}), 412)  # now stale
    problem(call(s, "PATCH", "/api/cond/c1", {"v": 5}, {"If-Match": tag}, ctype=MERGE), 412)
    problem(call(s, "DELETE", "/api/cond/c1", headers={"If-Match": tag}), 412)
    problem(put(s, "/api/cond/c1", {"v": 4}, {"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}),
            412)
    # a precondition failure outranks a content error (RFC 9110 §13.2.1)
    problem(put(s, "/api/cond/c1", [1], {"If-Match": tag}), 412)
    # conditional GET
    r = call(s, "GET", "/api/cond/c1", headers={"If-None-Match": tag2})
    check_status(r, 304, "If-None-Match with the current tag")
    eq(r.header("etag"), tag2, "304 carries the ETag")
    check_status(call(s, "GET", "/api/cond/c1", headers={"If-None-Match": tag}), 200, "old tag")
    problem(call(s, "GET", "/api/cond/c1", headers={"If-Match": tag}), 412)
    eq(js(call(s, "GET", "/api/cond/c1"))["v"], 3, "no failed write changed the item")
    check_status(call(s, "DELETE", "/api/cond/c1", headers={"If-Match": tag2}), 204, "DELETE")


def test_delete_204_then_410_and_put_recreates_201():
    s = api()
    check_status(put(s, "/api/notes/n1", {"t": "x"}), 201)
    r = call(s, "DELETE", "/api/notes/n1")
    check_status(r, 204, "DELETE")
    eq(r.body, b"", "204 body")
    p = problem(call(s, "GET", "/api/notes/n1"), 410)
    check("deleted" in p["detail"], f"410 detail: {p}")
    problem(call(s, "DELETE", "/api/notes/n1"), 410)
    problem(call(s, "PATCH", "/api/notes/n1", {"t": "y"}, ctype=MERGE), 410)
    check_status(call(s, "HEAD", "/api/notes/n1"), 410, "HEAD of a tombstone")
    problem(call(s, "DELETE", "/api/notes/never"), 404)
    problem(call(s, "GET", "/api/notes/never"), 404)
    r = put(s, "/api/notes/n1", {"t": "again"})
    check_status(r, 201, "PUT over a tombstone recreates")
    eq(js(call(s, "GET", "/api/notes/n1")), {"id": "n1", "t": "again"}, "recreated item")
    # the tombstone does not show in the collection
    check_status(put(s, "/api/notes/n2", {"t": "two"}), 201)
    check_status(call(s, "DELETE", "/api/notes/n2"), 204)
    eq([i["id"] for i in js(call(s, "GET", "/api/notes"))], ["n1"], "live items only")


def test_lost_update_race_one_200_one_412():
    """Two PUTs with the same If-Match, sent at the same moment: exactly one wins."""
    s = api()
    check_status(put(s, "/api/race/r", {"n": 0}), 201)
    for round_no in range(20):
        tag = etag_of(call(s, "GET", "/api/race/r"))
        conns = [Conn(s, 10) for _ in range(2)]
        try:
            reqs = []
            for k in range(2):
                body = json.dumps({"n": round_no, "writer": k}).encode()
                reqs.append(build_request("PUT", "/api/race/r", [
                    ("Content-Type", JSON), ("If-Match", tag), ("Accept", JSON),
                    ("Content-Length", str(len(body)))], body))
            barrier = threading.Barrier(2)
            results = [None, None]

            def go(k):
                barrier.wait(5)
                conns[k].send(reqs[k])
                results[k] = conns[k].read_response("PUT", 10)

            threads = [threading.Thread(target=go, args=(k,), daemon=True) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(15)
            check(all(results), f"round {round_no}: a PUT got no answer")
            statuses = sorted(r.status for r in results)
            eq(statuses, [200, 412], f"round {round_no}: statuses of two PUTs with If-Match {tag}")
            winner = next(k for k in range(2) if results[k].status == 200)
            eq(js(call(s, "GET", "/api/race/r")), {"id": "r", "n": round_no, "writer": winner},
               f"round {round_no}: the stored item is the winner's")
        finally:
            for c in conns:
                c.close()


def test_reads_follow_writes():
    """A reader polling an item never sees it go back in time, and whoever got a
    write's 2xx reads that write at once (the read cache is invalidated first)."""
    s = api()
    check_status(put(s, "/api/rw/x", {"n": 0}), 201)
    stop = threading.Event()
    seen, errors = [], []

    def reader():
        with Conn(s, 10) as c:
            while not stop.is_set():
                r = c.request("GET", "/api/rw/x", [("Accept", JSON)])
                if r.status != 200:
                    errors.append(r.status)
                    return
                seen.append(json.loads(r.body)["n"])

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        with Conn(s, 10) as c:
            for n in range(1, 150):
                if n % 2:
                    r = c.request("PUT", "/api/rw/x", [("Content-Type", JSON)],
                                  json.dumps({"n": n}))
                else:
                    r = c.request("PATCH", "/api/rw/x", [("Content-Type", MERGE)],
                                  json.dumps({"n": n}))
                check_status(r, 200, f"write {n}")
                g = c.request("GET", "/api/rw/x", [("Accept", JSON)])
                eq(js(g)["n"], n, f"GET right after write {n}")
                eq(g.header("etag"), r.header("etag"), f"ETag after write {n}")
            stop.set()
            t.join(10)
            check_status(c.request("DELETE", "/api/rw/x"), 204, "DELETE")
            check_status(c.request("GET", "/api/rw/x"), 410, "GET right after DELETE")
    finally:
        stop.set()
        t.join(10)
    check(not errors, f"reader got {errors[:3]}")
    check(len(seen) > 10, f"reader saw only {len(seen)} answers")
    check(all(a <= b for a, b in zip(seen, seen[1:])), "a reader saw an item go back in time")


# ---------------------------------------------------------------------------
# PATCH: RFC 7396


RFC7396_EXAMPLES = [
    # (target, patch, result) from RFC 7396 appendix A, where target and result are objects
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    # RFC 7396 §3
    ({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
      "tags": ["example", "sample"], "content": "This will be unchanged"},
     {"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": None},
      "tags": ["example"]},
     {"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
      "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"}),
]


def test_merge_patch_rfc7396_examples():
    s = api()
    for i, (target, patch, result) in enumerate(RFC7396_EXAMPLES):
        path = f"/api/patches/p{i}"
        check_status(put(s, path, target), 201, f"example {i}: PUT target")
        r = call(s, "PATCH", path, patch, ctype=MERGE)
        check_status(r, 200, f"example {i}: PATCH")
        eq(strip_id(js(r)), result, f"example {i}: PATCH response")
        eq(js(r)["id"], f"p{i}", f"example {i}: id kept")
        eq(strip_id(js(call(s, "GET", path))), result, f"example {i}: stored")


def test_merge_patch_errors():
    s = api()
    check_status(put(s, "/api/pe/x", {"a": 1}), 201)
    r = call(s, "PATCH", "/api/pe/x", {"a": 2}, ctype=JSON)
    problem(r, 415)
    eq(r.header("accept-patch"), MERGE, "Accept-Patch")
    problem(call(s, "PATCH", "/api/pe/x", ["c"], ctype=MERGE), 422)  # result is no object
    problem(call(s, "PATCH", "/api/pe/x", '"str"', ctype=MERGE), 422)
    problem(call(s, "PATCH", "/api/pe/x", {"id": "y"}, ctype=MERGE), 422)
    check_status(call(s, "PATCH", "/api/pe/x", {"id": "x", "b": 1}, ctype=MERGE), 200)
    problem(call(s, "PATCH", "/api/pe/absent", {"a": 1}, ctype=MERGE), 404)
    problem(call(s, "PATCH", "/api/pe/x", '{"a":', ctype=MERGE), 400)
    eq(js(call(s, "GET", "/api/pe/x")), {"id": "x", "a": 1, "b": 1}, "item after the errors")


# ---------------------------------------------------------------------------
# 400, 404, 405, 406, 415, 422


def test_malformed_json_400_with_byte_offset():
    s = api()
    body = '{"name": "ann",, "age": 3}'
    r = call(s, "POST", "/api/bad", body)
    p = problem(r, 400)
    m = re.search(r"byte (\d+)", p["detail"])
    check(m, f"400 detail without a byte offset: {p['detail']}")
    check(14 <= int(m.group(1)) <= 17, f"offset {m.group(1)} is not near the error at 15")
    problem(call(s, "POST", "/api/bad", '{"a": 1, "a": 2}'), 400)  # duplicate member
    problem(call(s, "POST", "/api/bad", b"", ctype=JSON), 400)
    problem(call(s, "PUT", "/api/bad/x", b"\xff\xfe{}"), 400)
    eq(js(call(s, "GET", "/api/bad")), [], "nothing stored")
    assert_api_alive(s)


def test_non_object_item_422():
    s = api()
    for body in ('[1, 2]', '"text"', '3', 'null', 'true'):
        p = problem(call(s, "POST", "/api/nonobj", body), 422)
        check("object" in p["detail"], f"422 detail for {body!r}: {p}")


def test_not_found_names_and_items_404():
    s = api()
    for path in ("/api/Users", "/api/a.b", "/api/" + "x" * 65, "/api/users/a%20b",
                 "/api/users/" + "i" * 129, "/api/users/nope", "/api/_tasks/nope",
                 "/api/_tasks/nope/result", "/api/_schemas/nope", "/api/_schemas"):
        r = call(s, "GET", path)
        check_status(r, 404, path)
    check_status(call(s, "GET", "/api/" + "x" * 64), 200, "a 64-character collection name")
    check_status(call(s, "GET", "/api/users/" + "i" * 128), 404, "a 128-character id is valid")
    problem(call(s, "PUT", "/api/Bad/x", {"a": 1}), 404)


def test_method_not_allowed_405_with_allow():
    s = api()
    cases = [
        ("POST", "/api/users/x", {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}),
        ("PATCH", "/api/users", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("DELETE", "/api/users", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("PUT", "/api/_tasks/t1", {"GET", "HEAD", "OPTIONS"}),
        ("POST", "/api/_schemas/users", {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}),
        ("GET", "/api/users/_bulk", {"POST", "OPTIONS"}),
    ]
    for method, path, allow in cases:
        r = call(s, method, path, {} if method in ("POST", "PATCH", "PUT") else None)
        check_status(r, 405, f"{method} {path}")
        got = allow_set(r)
        check(allow <= got, f"{method} {path}: Allow {sorted(got)} lacks {sorted(allow - got)}")
        check(method not in got, f"{method} {path}: Allow lists the refused method")
    r = call(s, "OPTIONS", "/api/users/x")
    check_status(r, 204, "OPTIONS item")
    check({"GET", "PUT", "PATCH", "DELETE"} <= allow_set(r), f"OPTIONS Allow {allow_set(r)}")
    r = call(s, "OPTIONS", "/api/_tasks/t1")
    check_status(r, 204, "OPTIONS task")
    eq(allow_set(r), {"GET", "HEAD", "OPTIONS"}, "OPTIONS Allow of a task monitor")


def test_not_acceptable_406():
    s = api()
    check_status(put(s, "/api/neg/a", {"v": 1}), 201)
    for path in ("/api/neg/a", "/api/neg"):
        check_status(call(s, "GET", path, accept="text/html"), 406, path)
        check_status(call(s, "GET", path, accept="application/json;q=0, */*;q=0.1"), 406, path)
        check_status(call(s, "GET", path, accept="application/*"), 200, path)
        check_status(call(s, "GET", path, accept="*/*"), 200, path)
    r = call(s, "POST", "/api/neg", {"v": 2}, accept="text/plain")
    check_status(r, 406, "POST whose representation is refused")
    eq(len(js(call(s, "GET", "/api/neg"))), 1, "the refused POST wrote nothing")
    r = call(s, "POST", "/api/neg", {"v": 2}, {"Prefer": "return=minimal"}, accept="text/plain")
    check_status(r, 201, "POST with return=minimal sends no representation")


def test_unsupported_media_type_415():
    s = api()
    r = call(s, "POST", "/api/media", "a,b", ctype="text/csv")
    problem(r, 415)
    accept_post = r.header("accept-post", "")
    check("application/json" in accept_post, f"Accept-Post {accept_post!r}")
    r = call(s, "POST", "/api/media", '{"a":1}', ctype=None)
    problem(r, 415)
    check(r.has("accept-post"), "Accept-Post when Content-Type is missing")
    r = call(s, "POST", "/api/media", '{"a":1}', {"Content-Encoding": "gzip"})
    problem(r, 415)
    check_status(call(s, "POST", "/api/media", {"a": 1}, ctype="application/vnd.test+json"), 201,
                 "+json suffix")
    check_status(call(s, "POST", "/api/media", {"a": 1}, ctype="application/json; charset=utf-8"),
                 201, "charset=utf-8")
    problem(call(s, "POST", "/api/media", {"a": 1}, ctype="application/json; charset=latin1"), 415)
    problem(call(s, "PUT", "/api/media/x", "<a/>", ctype="application/xml"), 415)
    eq(len(js(call(s, "GET", "/api/media"))), 2, "only the accepted POSTs stored")
    assert_api_alive(s)


def test_schema_422_with_pointers():
    s = api()
    schema = {
        "type": "object",
        "required": ["name", "email"],
        "properties": {
            "name": {"type": "string", "minLength": 2},
            "email": {"type": "string", "format": "email"},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 3},
        },
        "additionalProperties": False,
    }
    r = call(s, "PUT", "/api/_schemas/people", schema)
    check_status(r, 201, "PUT a new schema")
    eq(r.header("location"), "/api/_schemas/people", "schema Location")
    eq(js(call(s, "GET", "/api/_schemas/people")), schema, "GET schema")
    check_status(call(s, "PUT", "/api/_schemas/people", schema), 200, "PUT replacing a schema")
    good = {"name": "Ann", "email": "ann@example.com", "age": 40, "tags": ["a"]}
    check_status(call(s, "POST", "/api/people", good), 201, "valid item")
    bad = {"name": "A", "age": -1, "tags": ["a", "z"], "extra": 1}
    p = problem(call(s, "POST", "/api/people", bad), 422)
    pointers = {e["pointer"] for e in p.get("errors", [])}
    check({"/name", "/age", "/tags/1", "/extra", ""} <= pointers,
          f"422 errors {p.get('errors')} lack some pointers")
    check(all(e.get("message") for e in p["errors"]), "every error has a message")
    p = problem(put(s, "/api/people/p1", {"name": "Bo", "email": "not-an-email"}), 422)
    eq([e["pointer"] for e in p["errors"]], ["/email"], "PUT 422 pointer")
    check_status(put(s, "/api/people/p1", {"name": "Bo", "email": "bo@example.com"}), 201)
    p = problem(call(s, "PATCH", "/api/people/p1", {"age": "old"}, ctype=MERGE), 422)
    eq([e["pointer"] for e in p["errors"]], ["/age"], "PATCH 422 pointer")
    # invalid schemas
    for bad_schema, where in (({"type": "objekt"}, "/type"), ({"minimum": "3"}, "/minimum"),
                              ({"properties": {"a": {"required": [1]}}}, "/properties/a/required"),
                              ({"pattern": "("}, "/pattern")):
        p = problem(call(s, "PUT", "/api/_schemas/broken", bad_schema), 422)
        check(any(e["pointer"].startswith(where) for e in p.get("errors", [])),
              f"invalid schema {bad_schema}: errors {p.get('errors')} do not point at {where}")
    check_status(call(s, "GET", "/api/_schemas/broken"), 404, "no invalid schema stored")
    check_status(call(s, "DELETE", "/api/_schemas/people"), 204, "DELETE schema")
    check_status(call(s, "DELETE", "/api/_schemas/people"), 404, "DELETE it again")
    check_status(call(s, "POST", "/api/people", bad), 201, "no schema, no validation")


# ---------------------------------------------------------------------------
# collections: pagination, filters, sort, the feed


def test_empty_and_unknown_collection_200_empty_array():
    s = api()
    r = call(s, "GET", "/api/never-written")
    check_status(r, 200)
    eq(js(r), [], "body")
    eq(r.header("x-total-count"), "0", "X-Total-Count")
    check(COLL_ETAG_RE.match(r.header("etag", "")), f"collection ETag {r.header('etag')}")
    check(not r.has("link"), "no Link on a single page")


def links(resp):
    out = {}
    for part in (resp.header("link") or "").split(","):
        m = re.match(r'\s*<([^>]*)>\s*;\s*rel="([^"]+)"', part)
        if m:
            out[m.group(2)] = m.group(1)
    return out


def test_pagination_link_headers():
    s = api()
    for i in range(25):
        check_status(put(s, f"/api/pages/p{i:02d}",
                         {"i": i, "kind": "odd" if i % 2 else "even", "t": "x,y;z"}),
                     201)
    r = call(s, "GET", "/api/pages?limit=10")
    check_status(r, 200)
    eq([x["id"] for x in js(r)], [f"p{i:02d}" for i in range(10)], "first page")
    eq(r.header("x-total-count"), "25", "X-Total-Count")
    ln = links(r)
    check("next" in ln and "first" in ln and "prev" not in ln, f"links of page 1: {ln}")
    seen, url, pages = [], "/api/pages?limit=10", 0
    while url and pages < 10:
        r = call(s, "GET", url)
        check_status(r, 200, url)
        seen += [x["id"] for x in js(r)]
        ln = links(r)
        if pages:
            check("prev" in ln, f"page {pages + 1} has no prev: {ln}")
        url = ln.get("next")
        pages += 1
    eq(pages, 3, "pages followed through rel=next")
    eq(seen, [f"p{i:02d}" for i in range(25)], "every item once, in order")
    r = call(s, "GET", "/api/pages?kind=odd&limit=5&offset=5")
    eq([x["i"] for x in js(r)], [11, 13, 15, 17, 19], "filtered page")
    eq(r.header("x-total-count"), "12", "filtered total")
    ln = links(r)
    check("kind=odd" in ln.get("next", "") and "offset=10" in ln.get("next", ""),
          f"next keeps the filter: {ln}")
    check("offset=0" in ln.get("prev", ""), f"prev: {ln}")
    for bad in ("limit=0", "limit=abc", "offset=-1", "limit=1e3", "offset=%zz"):
        problem(call(s, "GET", "/api/pages?" + bad), 400)
    r = call(s, "GET", "/api/pages?limit=3&t=x,y;z")
    eq(len(js(r)), 3, "filter with ',' and ';'")
    nxt = links(r).get("next", "")
    eq(nxt, "/api/pages?t=x%2Cy%3Bz&limit=3&offset=3", "a parameter cannot break the Link field")
    r = call(s, "GET", "/api/pages?limit=100000")
    check_status(r, 200, "a limit over the maximum is capped")
    eq(len(js(r)), 25, "all items")


def test_filters_and_sort():
    s = api()
    rows = [("a", "red", 3, True), ("b", "blue", 1, False), ("c", "red", 2, False),
            ("d", "green", 3, True), ("e", "red", 1, True)]
    for ident, color, n, flag in rows:
        check_status(put(s, f"/api/shapes/{ident}", {"color": color, "n": n, "flag": flag}), 201)
    ids = lambda q: [x["id"] for x in js(call(s, "GET", "/api/shapes" + q))]  # noqa: E731
    eq(ids("?color=red"), ["a", "c", "e"], "equality filter")
    eq(ids("?color=red&n=1"), ["e"], "two filters ANDed")
    eq(ids("?n=3"), ["a", "d"], "numeric filter")
    eq(ids("?flag=true&color=green"), ["d"], "boolean filter")
    eq(ids("?color=purple"), [], "no match")
    eq(ids("?sort=-n"), ["a", "d", "c", "b", "e"], "sort descending, ties by id")
    eq(ids("?sort=n,-color"), ["e", "b", "c", "a", "d"], "two sort keys")
    eq(ids("?sort=color&color=red"), ["a", "c", "e"], "sort with a filter")
    problem(call(s, "GET", "/api/shapes?sort="), 400)


def test_collection_etag_304_and_226_feed():
    s = api()
    for k in ("a", "b", "c"):
        check_status(put(s, f"/api/feed/{k}", {"k": k}), 201)
    r = call(s, "GET", "/api/feed")
    e1 = r.header("etag")
    check(COLL_ETAG_RE.match(e1 or ""), f"collection ETag {e1}")
    r = call(s, "GET", "/api/feed", headers={"If-None-Match": e1})
    check_status(r, 304, "If-None-Match with the collection's tag")
    eq(r.header("etag"), e1, "304 ETag")
    check_status(call(s, "PATCH", "/api/feed/a", {"k": "A"}, ctype=MERGE), 200)
    check_status(call(s, "DELETE", "/api/feed/b"), 204)
    check_status(put(s, "/api/feed/d", {"k": "d"}), 201)
    r = call(s, "GET", "/api/feed", headers={"A-IM": "feed", "If-None-Match": e1})
    check_status(r, 226, "A-IM: feed with an older version")
    eq(r.reason, "IM Used", "reason phrase")
    eq(r.header("im"), "feed", "IM field")
    e2 = r.header("etag")
    check(COLL_ETAG_RE.match(e2 or "") and e2 != e1, f"226 ETag {e2} (old {e1})")
    eq(js(r), [{"id": "a", "k": "A"}, {"id": "b", "deleted": True}, {"id": "d", "k": "d"}],
       "only the changes since the old version, deletions as tombstones")
    r = call(s, "GET", "/api/feed", headers={"A-IM": "feed", "If-None-Match": e2})
    check_status(r, 304, "A-IM: feed with the current version")
    r = call(s, "GET", "/api/feed", headers={"If-None-Match": e1})
    check_status(r, 200, "an old tag without A-IM: the full collection")
    eq(sorted(x["id"] for x in js(r)), ["a", "c", "d"], "full listing")
    eq(r.header("etag"), e2, "ETag of the full listing")
    r = call(s, "GET", "/api/feed", headers={"A-IM": "feed"})
    check_status(r, 200, "A-IM without If-None-Match: everything")


def test_head_collection():
    s = api()
    check_status(put(s, "/api/headc/x", {"a": 1}), 201)
    g = call(s, "GET", "/api/headc")
    h = call(s, "HEAD", "/api/headc")
    check_status(h, 200)
    eq(h.body, b"", "no body")
    eq(h.header("content-length"), g.header("content-length"), "Content-Length")
    eq(h.header("etag"), g.header("etag"), "ETag")


def test_values_round_trip():
    s = api()
    item = {"f": 0.1, "big": 1e300, "neg": -5, "u": "é ü \u0001 \"q\" \\", "nested": {"a": [1, 2.5,
            None, False]}, "zero": 0.0}
    r = call(s, "POST", "/api/values", item)
    check_status(r, 201)
    eq(strip_id(js(call(s, "GET", r.header("location")))), item, "values survive storage")


# ---------------------------------------------------------------------------
# 428 and 507: servers with their own flags


def test_precondition_required_428():
    s = api("--api-require-preconditions")
    r = put(s, "/api/strict/a", {"v": 1})
    check_status(r, 201, "PUT creating needs no precondition")
    tag = etag_of(r)
    p = problem(put(s, "/api/strict/a", {"v": 2}), 428)
    check("If-Match" in p["detail"], f"428 detail: {p}")
    problem(call(s, "PATCH", "/api/strict/a", {"v": 2}, ctype=MERGE), 428)
    problem(call(s, "DELETE", "/api/strict/a"), 428)
    r = put(s, "/api/strict/a", {"v": 2}, {"If-Match": tag})
    check_status(r, 200, "PUT with If-Match")
    tag = etag_of(r)
    r = call(s, "PATCH", "/api/strict/a", {"w": 1}, {"If-Match": tag}, ctype=MERGE)
    check_status(r, 200, "PATCH with If-Match")
    problem(put(s, "/api/strict/a", {"v": 3}, {"If-None-Match": "*"}), 412)
    check_status(put(s, "/api/strict/b", {"v": 1}, {"If-None-Match": "*"}), 201)
    problem(call(s, "DELETE", "/api/strict/zzz"), 404)
    check_status(call(s, "DELETE", "/api/strict/a", headers={"If-Match": etag_of(r)}), 204)
    check_status(call(s, "POST", "/api/strict", {"v": 1}), 201, "POST needs no precondition")


def test_insufficient_storage_507_writes_nothing():
    s = api("--api-max-db-bytes", "65536")
    acked = {}
    saw_507 = None
    for i in range(300):
        item = {"i": i, "pad": "x" * 2000}
        r = call(s, "POST", "/api/fill", item)
        if r.status == 507:
            saw_507 = r
            break
        check_status(r, 201, f"POST {i}")
        acked[js(r)["id"]] = item
    check(saw_507 is not None, "no 507 after 300 items of 2 KB in a 64 KiB database")
    p = problem(saw_507, 507)
    check("full" in p["detail"], f"507 detail: {p}")
    problem(put(s, "/api/fill/big", {"pad": "y" * 20000}), 507)
    check_status(call(s, "GET", "/api/fill/big"), 404, "the refused PUT left nothing")
    listed = js(call(s, "GET", "/api/fill?limit=1000"))
    eq({x["id"]: strip_id(x) for x in listed}, acked, "exactly the acknowledged items")
    check_status(call(s, "GET", "/api/fill"), 200, "reads still work")
