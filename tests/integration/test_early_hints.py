"""103 Early Hints (RFC 8297) from `early-hints` in the configuration: the
Link values of the server, the host and the location arrive in one 103
before the final response of a GET or HEAD, and the final response carries
them too; never to HTTP/1.0, never before a refusal by a head policy,
never for other methods; over HTTP/2 the 103 is an interim HEADERS frame.
A value that is not a Link value is refused by `nxx check`."""

from harness import (ConfigServer, build_request, check, check_config, check_status,
                     config_dir, curl, eq, one, remove_tree, shared)

SERVER_HINT = "</site.css>; rel=preload; as=style"
LOC_HINT = "</app.js>; rel=preload; as=script"

CONFIG = f"""\
early-hints: ["{SERVER_HINT}"]
hosts:
  hints.test:
    default: true
    locations:
      /:
        files: {{root: www}}
        early-hints: ["{LOC_HINT}"]
      /gone: {{gone: true}}
      "= /post": {{return: {{status: 204}}}}
"""


def make_server(*args):
    _, path = config_dir(CONFIG, files={"www/index.html": b"<!DOCTYPE html><p>hinted</p>\n"})
    return ConfigServer(path, *args)


def srv():
    return shared("nxx serve --config (early hints)", make_server)


def req(method, path, version="HTTP/1.1"):
    return one(srv(), build_request(method, path, [("Host", "hints.test")], version=version),
               method)


def interim_statuses(r):
    return [i["status"] if isinstance(i, dict) else i.status for i in r.interim]


def test_get_gets_103_with_every_scope_hint_then_the_same_links():
    r = req("GET", "/index.html")
    check_status(r, 200, "GET of a hinted location")
    eq(interim_statuses(r), [103], "interim responses before the 200")
    if not isinstance(r.interim[0], dict):  # HTTP/1.1: the 103's own fields
        eq(r.interim[0].header_all("link"), [SERVER_HINT, LOC_HINT],
           "Link fields of the 103, the server's first")
    eq(r.header_all("link"), [SERVER_HINT, LOC_HINT], "Link fields of the final response")
    check(b"hinted" in r.body, f"the file after the hints: {r.body!r}")


def test_head_gets_103_too():
    r = req("HEAD", "/index.html")
    check_status(r, 200, "HEAD of a hinted location")
    eq(interim_statuses(r), [103], "interim responses before the HEAD's 200")


def test_no_103_to_http_1_0():
    r = req("GET", "/index.html", version="HTTP/1.0")
    check_status(r, 200, "HTTP/1.0 GET")
    eq(interim_statuses(r), [], "interim responses to an HTTP/1.0 client (RFC 9110 §15.2)")
    eq(r.header_all("link"), [SERVER_HINT, LOC_HINT], "Link fields of the final response")


def test_no_103_before_a_policy_refusal():
    r = req("GET", "/gone")
    check_status(r, 410, "a gone location under a hinted server")
    eq(interim_statuses(r), [], "interim responses before a refusal by a head policy")


def test_only_get_and_head_are_hinted():
    r = req("DELETE", "/post")
    check_status(r, 204, "DELETE of a fixed answer")
    eq(interim_statuses(r), [], "interim responses to a DELETE")
    eq(r.header_all("link"), [SERVER_HINT], "the server's Link field on the final response")


def test_server_hint_alone_where_the_location_has_none():
    r = req("GET", "/post")
    check_status(r, 204, "GET of a fixed answer")
    eq(interim_statuses(r), [103], "interim responses")
    eq(r.header_all("link"), [SERVER_HINT], "Link fields where only the server has a hint")


def test_http2_103_as_interim_headers():
    s = shared("nxx serve --config --h2c (early hints)", lambda: make_server("--h2c"))
    # h2 by ALPN when the suite runs over TLS, with prior knowledge otherwise
    code, body, head, _ = curl(["--http2" if s.tls else "--http2-prior-knowledge", "-H",
                                "Host: hints.test", f"{s.url}/index.html"])
    eq(code, 200, "h2 GET")
    blocks = [b for b in head.replace("\r\n", "\n").split("\n\n") if b.strip()]
    eq([b.split("\n")[0].strip() for b in blocks], ["HTTP/2 103", "HTTP/2 200"],
       "responses curl saw on the stream")
    links = [l.split(":", 1)[1].strip() for l in blocks[0].split("\n")[1:]
             if l.lower().startswith("link:")]
    eq(links, [SERVER_HINT, LOC_HINT], "Link fields of the h2 103")
    check(b"hinted" in body, "the file after the hints")


def test_check_refuses_a_value_that_is_not_a_link():
    d, path = config_dir('early-hints: ["style.css; rel=preload"]\n'
                         'locations: {/: {return: 204}}\n')
    try:
        rc, _, err = check_config(path)
        eq(rc, 2, f"nxx check of a bad hint: {err}")
        check("early-hints" in err and "not a Link value" in err, f"the error says why: {err!r}")
    finally:
        remove_tree(d)
