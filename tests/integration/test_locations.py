"""The library's own handlers and policies, as examples/locations.c sets them up:
redirect locations (301, 302, 303, 307, 308), a canonical host name (308),
strict virtual hosts (421), a fixed answer, HTCPCP pots (418, 406, 415),
gone (410), a legal block (451), required Content-Length (411), a
maintenance switch and a limit of requests in flight (503)."""

import os
import time

import harness
from harness import (Conn, Process, assert_alive, build_request, check, check_status, eq, get,
                     one, shared, temp_dir)

NXX_LOCATIONS = harness._bin("NXX_LOCATIONS", "build/locations")

_maint = None


class Locations(Process):
    """`locations 127.0.0.1:0 MAINTENANCE_FILE` (examples/locations.c)."""

    kind = "locations"

    def __init__(self, maintenance_file):
        super().__init__([NXX_LOCATIONS, "127.0.0.1:0", maintenance_file], listeners=1,
                         env=harness.census_example_env("locations"))


def _maintenance_file():
    global _maint
    if _maint is None:
        _maint = os.path.join(temp_dir("nxx-it-locations-"), "maintenance")
    return _maint


def srv():
    return shared("locations", lambda: Locations(_maintenance_file()))


def req(method, target, headers=None, body=b"", host="localhost"):
    hdrs = [("Host", host)] + list(headers or [])
    return one(srv(), build_request(method, target, hdrs, body), method)


# -- redirects (RFC 9110 §15.4) ---------------------------------------------

def test_redirect_statuses_and_locations():
    for method, target, status, location in (
            ("GET", "/old/a/b", 301, "/new/a/b"),
            ("GET", "/found", 302, "/"),
            ("POST", "/form", 303, "/thanks"),
            ("GET", "/docs/intro", 307, "/manual/intro"),
            ("PUT", "/v1/items/7", 308, "/v2/items/7")):
        r = req(method, target, body=b"x" if method != "GET" else b"")
        check_status(r, status, f"{method} {target}")
        eq(r.header("location"), location, f"Location of {method} {target}")
        # RFC 9110 §15.4: a short hypertext note with a link to the new URI
        check(location.encode() in r.body, f"{status} body lacks the link: {r.body!r}")


def test_redirect_keeps_the_query():
    r = req("GET", "/old/x?page=2&q=a%20b")
    check_status(r, 301, "prefix redirect with a query")
    eq(r.header("location"), "/new/x?page=2&q=a%20b", "Location keeps the query")


def test_redirect_cannot_smuggle_a_line_break():
    # the decoded path goes into Location: a %0d%0a must stay encoded
    r = req("GET", "/old/a%0d%0aSet-Cookie:%20x=1")
    check_status(r, 301, "redirect of an encoded line break")
    check(r.header("set-cookie") is None, f"a field was injected: {r.headers!r}")
    check("\r" not in r.header("location") and "\n" not in r.header("location"),
          f"raw line break in Location {r.header('location')!r}")


def test_canonical_host_308():
    r = req("GET", "/a?b=1", host="www.example.test")
    check_status(r, 308, "alias of a canonical host")
    eq(r.header("location"), "http://example.test/a?b=1", "canonical Location")
    r = req("GET", "/", host="example.test")
    check_status(r, 200, "the canonical name itself")
    eq(r.body, b"example.test\n", "body under the canonical name")


# -- hosts (RFC 9110 §15.5.20) ------------------------------------------------

def test_strict_hosts_421():
    r = req("GET", "/", [("Accept", "application/problem+json")], host="nowhere.test")
    check_status(r, 421, "a Host this server has no host for")
    eq(r.content_type, "application/problem+json", "421 problem body")
    check(b"nowhere.test" in r.body, f"the detail names the authority: {r.body!r}")
    r = one(srv(), b"GET http://elsewhere.test/ HTTP/1.1\r\nHost: elsewhere.test\r\n\r\n")
    check_status(r, 421, "absolute-form target naming another authority")
    check_status(req("GET", "/", host="127.0.0.1"), 200, "an alias of a named host")
    assert_alive(srv(), "after 421s")


# -- fixed answers and pots ----------------------------------------------------

def test_fixed_answer():
    r = req("GET", "/health")
    check_status(r, 200, "fixed answer")
    eq(r.body, b"ok\n", "fixed body")
    eq(r.content_type, "text/plain", "fixed Content-Type")


def test_teapot_418_and_tea():
    coffee = [("Content-Type", "message/coffeepot")]
    r = req("BREW", "/pot", coffee, b"start")
    check_status(r, 418, "BREW coffee in a teapot (RFC 2324 §2.3.2)")
    check(b"teapot" in r.body, f"418 detail: {r.body!r}")
    check_status(req("POST", "/pot", coffee, b"start"), 418, "POST coffee in a teapot")
    r = req("BREW", "/pot", [("Content-Type", "message/teapot")], b"start")
    check_status(r, 200, "tea in a teapot (RFC 7168 §2.1.1)")


def test_coffee_pot_additions_406_and_tea_415():
    coffee = [("Content-Type", "message/coffeepot")]
    r = req("BREW", "/coffee", coffee + [("Accept-Additions", "milk")], b"start")
    check_status(r, 200, "coffee with milk")
    check(b"milk" in r.body, f"coffee body: {r.body!r}")
    r = req("BREW", "/coffee", coffee + [("Accept-Additions", "whisky")], b"start")
    check_status(r, 406, "an addition the pot does not have")
    check(b"milk" in r.body and b"sugar" in r.body, f"406 lists what it has: {r.body!r}")
    r = req("BREW", "/coffee", [("Content-Type", "message/teapot")], b"start")
    check_status(r, 415, "tea in a coffee pot")
    eq(r.header("accept-post"), "message/coffeepot", "Accept-Post of the 415")


# -- policies --------------------------------------------------------------------

def test_gone_410():
    for target in ("/gone", "/gone/old-page.html"):
        r = req("GET", target, [("Accept", "application/json")])
        check_status(r, 410, target)
        eq(r.content_type, "application/problem+json", f"410 problem body for {target}")
    check_status(req("GET", "/goner"), 404, "/goner is not under /gone")


def test_legal_block_451():
    r = req("GET", "/blocked/report.pdf")
    check_status(r, 451, "a path under a legal block")
    eq(r.header("link"), '<https://authority.example/orders/42>; rel="blocked-by"',
       "Link to the blocking authority (RFC 7725 §4)")


def test_require_length_411():
    chunked = build_request("PUT", "/upload", [("Transfer-Encoding", "chunked")],
                            b"3\r\nabc\r\n0\r\n\r\n")
    with Conn(srv()) as c:
        c.send(chunked)
        r = c.read_response("PUT")
        check_status(r, 411, "chunked content where a length is required")
    r = req("PUT", "/upload", body=b"abc")
    check_status(r, 200, "the same content with Content-Length")
    eq(r.body, b"3 bytes\n", "the handler got the content")


def test_require_length_411_before_100_continue():
    head = build_request("PUT", "/upload", [("Transfer-Encoding", "chunked"),
                                            ("Expect", "100-continue")])
    with Conn(srv()) as c:
        c.send(head)
        r = c.read_response("PUT", interim=False)
        check_status(r, 411, "the final status instead of 100 Continue")


def _poll(target, status, seconds=5.0):
    """GET target until it answers status (the maintenance file is checked once a second)."""
    deadline = time.monotonic() + seconds
    while True:
        r = req("GET", target)
        if r.status == status or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


def test_maintenance_503():
    path = _maintenance_file()
    check_status(req("GET", "/shop/cart"), 200, "before maintenance")
    with open(path, "w") as f:
        f.write("down\n")
    try:
        r = _poll("/shop/cart", 503)
        check_status(r, 503, "while the maintenance file exists")
        eq(r.header("retry-after"), "120", "Retry-After of maintenance")
        check_status(req("GET", "/shop/status"), 200, "an exempt path")
        check_status(req("GET", "/health"), 200, "another location")
    finally:
        os.unlink(path)
    check_status(_poll("/shop/cart", 200), 200, "after the maintenance file is gone")


def test_max_inflight_503():
    with Conn(srv()) as first:
        first.send(build_request("GET", "/busy"))
        # the head of a streamed answer: the first request is in flight now
        deadline = time.monotonic() + 5
        while b"working\n" not in first.buf:
            check(first._recv_some(deadline), f"no start of /busy: {bytes(first.buf)!r}")
        check(first.buf.startswith(b"HTTP/1.1 200 "), f"first /busy: {bytes(first.buf[:100])!r}")
        r = get(srv(), "/busy")
        check_status(r, 503, "a second request while the limit of one is in flight")
        eq(r.header("retry-after"), "2", "Retry-After of the in-flight limit")
        r = first.read_response("GET")
        eq(r.body, b"working\ndone\n", "the first request finishes")
    check_status(get(srv(), "/busy"), 200, "once the first has finished")
