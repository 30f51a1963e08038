"""425 Too Early (RFC 8470): a request marked Early-Data: 1 by a trusted front
proxy with an unsafe method, or any early request to a location in `reject`
mode; the field from an untrusted peer, and safe methods, pass."""

import json

from harness import ConfigServer, build_request, check, check_status, config_dir, one, remove_tree

SITE = """\
locations:
  /:
    return: {status: 200, body: "ok\\n"}
    early-data: {trusted-proxies: [127.0.0.1]}
  /pay:
    return: {status: 200, body: "paid\\n"}
    early-data: {mode: reject, trusted-proxies: [127.0.0.0/8]}
  /open:
    return: {status: 200, body: "open\\n"}
    early-data: {mode: reject}
"""


def test_425_for_early_requests_from_a_trusted_proxy():
    d, path = config_dir(SITE)
    try:
        with ConfigServer(path) as s:
            def req(method, target, early=True):
                h = [("Accept", "application/json")] + ([("Early-Data", "1")] if early else [])
                return one(s, build_request(method, target, h), method)
            r = req("POST", "/")
            check_status(r, 425, "POST in early data")
            detail = json.loads(r.body)["detail"]
            check("early data" in detail and "again" in detail, f"detail: {detail!r}")
            check_status(req("GET", "/"), 200, "GET is safe to take from early data")
            check_status(req("HEAD", "/"), 200, "HEAD too")
            check_status(req("POST", "/", early=False), 200, "POST after the handshake")
            check_status(req("GET", "/pay"), 425, "reject mode refuses even GET")
            check_status(req("GET", "/pay", early=False), 200, "not early: served")
            check_status(req("GET", "/open"), 200,
                         "Early-Data from a peer that is not a trusted proxy means nothing")
            r = one(s, build_request("POST", "/", [("Early-Data", "0")]), "POST")
            check_status(r, 200, "Early-Data: 0 is not early")
    finally:
        remove_tree(d)
