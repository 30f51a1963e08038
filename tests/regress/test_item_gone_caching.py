"""Regression: the 404 of a REST item that does not exist and the 410 of a
deleted one (its tombstone) carried no Cache-Control, while the item's 200
and 304 carry `no-cache`.  Both statuses are heuristically cacheable (RFC
9111 §4.2.2), so a shared cache could go on answering "Not Found" or "Gone"
after a PUT (re)creates the item.  They now carry the item's own rule, as
does the 404 of a collection schema that a PUT may create."""


from harness import (Conn, Server, check, check_status, eq, make_docroot, shared,
                     timeout, temp_dir)


def srv():
    def make():
        root = make_docroot()
        data = temp_dir("nxx-gone-")
        return Server(root, "--api", "/api", "--data", data)
    return shared("nxx serve --api (404/410 caching)", make)


def _cache_control(resp, what):
    values = resp.header_all("cache-control")
    eq(values, ["no-cache"], f"{what}: Cache-Control")


@timeout(20)
def test_missing_and_deleted_items_are_revalidated_like_the_item():
    with Conn(srv(), 5) as c:
        for method in ("GET", "HEAD"):
            r = c.request(method, "/api/things/never")
            check_status(r, 404, f"{method} of an item that never existed")
            _cache_control(r, f"{method} 404")

        r = c.request("PUT", "/api/things/t1", [("Content-Type", "application/json")], b"{}")
        check_status(r, 201, "PUT creates the item")
        r = c.request("GET", "/api/things/t1")
        check_status(r, 200, "GET of the item")
        _cache_control(r, "the item's 200")
        etag = r.header("etag")
        r = c.request("GET", "/api/things/t1", [("If-None-Match", etag)])
        check_status(r, 304, "GET with the item's ETag")
        _cache_control(r, "the item's 304")

        r = c.request("DELETE", "/api/things/t1")
        check_status(r, 204, "DELETE of the item")
        for method in ("GET", "HEAD"):
            r = c.request(method, "/api/things/t1")
            check_status(r, 410, f"{method} of the deleted item")
            _cache_control(r, f"{method} 410")

        r = c.request("PUT", "/api/things/t1", [("Content-Type", "application/json")], b"{}")
        check_status(r, 201, "PUT re-creates the item")
        check_status(c.request("GET", "/api/things/t1"), 200, "GET of the re-created item")


@timeout(20)
def test_missing_schema_is_revalidated():
    with Conn(srv(), 5) as c:
        r = c.request("GET", "/api/_schemas/things")
        check_status(r, 404, "GET of a schema that does not exist")
        _cache_control(r, "schema 404")
        r = c.request("PUT", "/api/_schemas/things", [("Content-Type", "application/json")],
                      b'{"type": "object"}')
        check_status(r, 201, "PUT of the schema")
        r = c.request("GET", "/api/_schemas/things")
        check_status(r, 200, "GET of the schema")
        _cache_control(r, "schema 200")


@timeout(20)
def test_other_errors_keep_their_caching():
    with Conn(srv(), 5) as c:
        # a name that can never exist stays heuristically cacheable, as for files
        r = c.request("GET", "/api/things/bad%20id")
        check_status(r, 404, "GET of an impossible id")
        check(not r.has("cache-control"), f"impossible id: {r.raw[:300]!r}")
