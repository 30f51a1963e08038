"""Every status a configuration can make nxx send, each through a YAML file:
redirects (301/302/303/307/308 with $1, {host}, {path}, {query}), 410, 411,
413 per location, 418/200/406 from pots, 451 with Link, 503 from the
maintenance switch and from max-inflight, fixed answers, and response fields
inherited from the server, the host and the location."""

import json
import os
import time

from harness import (Conn, ConfigServer, build_request, check, check_status, config_dir, eq,
                     get, one, shared, timeout)

CONFIG = """\
max-body-bytes: 1K
headers: {X-Server-Level: s}
hosts:
  codes.test:
    default: true
    headers: {X-Host-Level: h}
    locations:
      /r301: {redirect: {to: "https://{host}/new{path}", status: 301}}
      /r302: {redirect: "/to/$1"}
      /r303: {redirect: {to: "/see?from={query}", status: 303}}
      /r307: {redirect: {to: "/tmp/$1", status: 307}}
      /r308/:a/:b: {redirect: {to: "/p/$2/$1", status: 308}}
      /gone: {gone: true}
      /upload: {teapot: {}, require-length: true}
      /teapot: {teapot: {}}
      /coffee: {teapot: {coffee: true, additions: [milk, sugar]}}
      /blocked: {legal-block: {by: "https://authority.example/", detail: "blocked by order 42"}}
      /blocked2: {legal-block: "https://b.example/"}
      "= /health": {return: {status: 200, body: "ok\\n", content-type: text/plain}}
      "= /empty": {return: 204}
      /nope: {return: 404}
      /big: {teapot: {}, max-body-bytes: 4K, headers: {X-Location-Level: l}}
      /small: {teapot: {}, max-body-bytes: 10}
      /slow: {teapot: {}, max-inflight: {limit: 1, retry-after: 7}}
  maint.test:
    maintenance: {file: MAINT, retry-after: 120, page: maint.html, exempt: [/health]}
    locations:
      /: {return: {status: 200, body: "up\\n"}}
      "= /health": {return: {status: 200, body: "ok\\n"}}
"""
PAGE = b"<!DOCTYPE html><title>Back soon</title><p>maintenance</p>\n"

_dir = None


def srv():
    def make():
        global _dir
        _dir, path = config_dir(None, files={"maint.html": PAGE})
        with open(path, "w") as f:
            f.write(CONFIG.replace("MAINT", os.path.join(_dir, "maintenance")))
        return ConfigServer(path)
    return shared("nxx serve --config (status codes)", make)


def req(method, path, headers=None, body=b"", host="codes.test"):
    headers = [("Host", host)] + list(headers or [])
    return one(srv(), build_request(method, path, headers, body), method)


# ---- 3xx ------------------------------------------------------------------


def redirect(path, status, location, host="codes.test"):
    r = req("GET", path, host=host)
    check_status(r, status, path)
    eq(r.header("location"), location, f"Location of {path}")
    eq(r.content_type, "text/html", f"Content-Type of the {status}")
    check(location.encode().replace(b"&", b"&amp;") in r.body, f"body lacks the link: {r.body!r}")


def test_301_with_host_and_path():
    redirect("/r301/x?y=1", 301, "https://codes.test/new/r301/x?y=1",
             host=f"codes.test:{srv().port}")


def test_302_with_a_capture():
    redirect("/r302/a/b", 302, "/to/a/b")


def test_303_with_the_query():
    redirect("/r303?x=1", 303, "/see?from=x=1")


def test_307_keeps_the_method():
    r = req("POST", "/r307/f", [("Content-Type", "text/plain")], b"data")
    check_status(r, 307, "POST /r307/f")
    eq(r.header("location"), "/tmp/f", "Location")


def test_308_with_named_captures():
    redirect("/r308/one/two", 308, "/p/two/one")


# ---- 4xx ------------------------------------------------------------------


def test_410_gone():
    for path in ("/gone", "/gone/anything/below"):
        r = req("GET", path, [("Accept", "application/json")])
        check_status(r, 410, path)
        eq(r.content_type, "application/problem+json", "problem body")
        eq(json.loads(r.body)["status"], 410, "status member")


def test_411_for_chunked_content_and_a_content_length_passes():
    r = req("BREW", "/upload", [("Content-Type", "message/teapot"),
                                ("Transfer-Encoding", "chunked")], b"5\r\nstart\r\n0\r\n\r\n")
    check_status(r, 411, "chunked BREW to a require-length location")
    check("Content-Length" in r.body.decode(), f"detail: {r.body!r}")
    r = req("BREW", "/upload", [("Content-Type", "message/teapot")], b"start")
    check_status(r, 200, "BREW with Content-Length")
    eq(r.body, b"brewing tea\n", "body")


def test_413_per_location():
    ct = [("Content-Type", "message/teapot")]
    check_status(req("POST", "/small", ct, b"x" * 11), 413, "11 bytes to max-body-bytes 10")
    check_status(req("POST", "/teapot", ct, b"x" * 2000), 413, "2000 bytes under the server's 1K")
    r = req("POST", "/big", ct, b"x" * 2000)
    check(r.status != 413, f"2000 bytes to a 4K location got {r.status}")
    check_status(r, 400, "2000 bytes of not start/stop to a pot")


def test_418_teapot_200_and_406_coffee_pot():
    coffee = [("Content-Type", "message/coffeepot")]
    r = req("BREW", "/teapot", coffee, b"start")
    check_status(r, 418, "BREW message/coffeepot to a teapot")
    r = req("BREW", "/coffee", coffee, b"start")
    check_status(r, 200, "BREW message/coffeepot to a coffee pot")
    eq(r.body, b"brewing coffee\n", "body")
    r = req("BREW", "/coffee", coffee + [("Accept-Additions", "milk")], b"start")
    check_status(r, 200, "an addition the pot has")
    r = req("BREW", "/coffee", coffee + [("Accept-Additions", "milk, whisky")], b"start")
    check_status(r, 406, "an addition the pot lacks")
    check(b"whisky" in r.body and b"milk, sugar" in r.body, f"406 body: {r.body!r}")


def test_451_with_link_blocked_by():
    r = req("GET", "/blocked", [("Accept", "application/json")])
    check_status(r, 451, "legal-block")
    eq(r.header("link"), '<https://authority.example/>; rel="blocked-by"', "Link")
    eq(json.loads(r.body)["detail"], "blocked by order 42", "detail")
    r = req("GET", "/blocked2/x")
    check_status(r, 451, "legal-block as a single URL")
    eq(r.header("link"), '<https://b.example/>; rel="blocked-by"', "Link")


# ---- fixed answers ----------------------------------------------------------


def test_return_locations():
    r = req("GET", "/health")
    check_status(r, 200, "= /health")
    eq((r.body, r.header("content-type")), (b"ok\n", "text/plain"), "body and type")
    check_status(req("GET", "/health/x"), 404, "= /health is exact")
    r = req("GET", "/empty")
    check_status(r, 204, "return: 204")
    eq(r.body, b"", "no body")
    r = req("GET", "/nope/x", [("Accept", "application/json")])
    check_status(r, 404, "return: 404")
    eq(r.content_type, "application/problem+json", "the standard problem body")


# ---- 503 ---------------------------------------------------------------------


def poll(pred, limit_s, what):
    deadline = time.monotonic() + limit_s
    while True:
        r = pred()
        if r is not None:
            return r
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {limit_s} s")
        time.sleep(0.05)


@timeout(20)
def test_503_maintenance_switch():
    srv()
    flag = os.path.join(_dir, "maintenance")
    check_status(req("GET", "/", host="maint.test"), 200, "before the switch")
    open(flag, "w").close()
    try:
        t0 = time.monotonic()
        r = poll(lambda: (lambda x: x if x.status == 503 else None)(
            req("GET", "/page", [("Accept", "text/html")], host="maint.test")),
            2.5, "no 503 after touching the file")
        check(time.monotonic() - t0 < 2.5, "the switch took too long")
        eq(r.header("retry-after"), "120", "Retry-After")
        eq(r.content_type, "text/html", "a browser gets the page")
        eq(r.body, PAGE, "the configured page")
        r = req("GET", "/page", [("Accept", "application/json")], host="maint.test")
        check_status(r, 503, "JSON client during maintenance")
        eq(r.content_type, "application/problem+json", "problem body for JSON")
        eq(json.loads(r.body)["status"], 503, "status member")
        eq(r.header("retry-after"), "120", "Retry-After")
        r = req("GET", "/health", host="maint.test")
        check_status(r, 200, "an exempt path during maintenance")
        # other hosts are not under this host's switch
        check_status(req("GET", "/health"), 200, "another host")
    finally:
        os.unlink(flag)
    r = poll(lambda: (lambda x: x if x.status == 200 else None)(
        req("GET", "/", host="maint.test")), 2.5, "still 503 after removing the file")
    eq(r.body, b"up\n", "served again")


def test_503_max_inflight():
    # a request held in flight: its head is in, its content is not.  Its 100
    # Continue comes once the head policies have counted it, so the requests
    # below cannot overtake it (they would take the one place and it the 503)
    held = Conn(srv())
    try:
        held.send(build_request("POST", "/slow", [("Host", "codes.test"),
                                                  ("Content-Type", "message/teapot"),
                                                  ("Content-Length", "5"),
                                                  ("Expect", "100-continue")]))
        check_status(held.read_response("POST", interim=False), 100, "the held request")
        held.send(b"st")
        r = req("GET", "/slow")
        check_status(r, 503, "while the one allowed request is in flight")
        eq(r.header("retry-after"), "7", "Retry-After")
        check(b"limit of 1" in r.body, f"detail: {r.body!r}")
        # other locations are not limited
        check_status(req("GET", "/teapot"), 200, "another location")
        held.send(b"art")
        done = held.read_response("POST")
        check_status(done, 200, "the held request completes")
    finally:
        held.close()
    poll(lambda: (lambda x: x if x.status == 200 else None)(req("GET", "/slow")), 3.0,
         "the limit is not released")


# ---- response fields ---------------------------------------------------------


def test_headers_inherited_server_host_location():
    r = req("GET", "/big")
    names = [k.lower() for k, _ in r.headers]
    for name, value in (("x-server-level", "s"), ("x-host-level", "h"), ("x-location-level", "l")):
        eq(r.header(name), value, name)
    check(names.index("x-server-level") < names.index("x-host-level") <
          names.index("x-location-level"), f"order: {names}")
    r = req("GET", "/teapot")
    eq((r.header("x-server-level"), r.header("x-host-level"), r.header("x-location-level")),
       ("s", "h", None), "a location without fields of its own")
    r = req("GET", "/no/location/here")
    check_status(r, 404, "no location")
    eq((r.header("x-server-level"), r.header("x-host-level")), ("s", "h"),
       "a 404 under the host's scope")
    r = req("GET", "/", host="maint.test")
    eq((r.header("x-server-level"), r.header("x-host-level")), ("s", None), "another host")
