"""510 Not Extended (RFC 2774): a location that requires an extension answers
requests that do not declare it mandatory with 510 naming it; M-GET with Man
(or C-Man) naming it is served with Ext; a mandatory request whose extension
nothing here understands gets 510; malformed declarations get 400."""

import json
import os

from harness import (ConfigServer, build_request, check, check_status, config_dir, eq, one,
                     remove_tree)

EXT = "http://example.org/ext/signing"
SITE = f"""\
locations:
  /:
    return: {{status: 200, body: "plain\\n"}}
  /signed:
    return: {{status: 200, body: "signed\\n"}}
    require-extension: "{EXT}"
"""


def test_510_and_ext():
    d, path = config_dir(SITE)
    try:
        with ConfigServer(path) as s:
            def req(method, target, headers=()):
                return one(s, build_request(method, target, [("Accept", "application/json")] +
                                            list(headers)), method.replace("M-", ""))
            r = req("GET", "/signed")
            check_status(r, 510, "no declaration")
            detail = json.loads(r.body)["detail"]
            check(EXT in detail and "M-GET" in detail and "Man:" in detail,
                  f"the detail shows how to declare it: {detail!r}")
            r = req("GET", "/signed", [("Man", f'"{EXT}"; ns=16')])
            check_status(r, 510, "a declaration on a plain GET is not mandatory")
            r = req("M-GET", "/signed", [("Man", f'"{EXT}"; ns=16'), ("16-key", "k1")])
            check_status(r, 200, "M-GET with Man")
            eq(r.body, b"signed\n", "the content")
            eq(r.header("ext"), "", "Ext on a fulfilled mandatory request (RFC 2774 §5.1)")
            eq(r.header("cache-control"), 'no-cache="Ext"', "kept out of caches")
            r = req("M-GET", "/signed", [("C-Man", f'"{EXT}"'), ("Connection", "C-Man")])
            check_status(r, 200, "M-GET with C-Man")
            r = req("M-GET", "/signed", [("Man", f'"{EXT}", "http://example.org/other"')])
            check_status(r, 510, "one more mandatory extension it does not understand")
            check("other" in json.loads(r.body)["detail"], "named")
            r = req("M-GET", "/", [("Man", '"http://example.org/other"; ns=11')])
            check_status(r, 510, "no policy fulfils the declaration")
            r = req("M-GET", "/signed", [("Man", f'{EXT}; ns=16')])
            check_status(r, 400, "an unquoted URI is malformed")
            r = req("M-GET", "/signed", [("Man", f'"{EXT}"; ns=x')])
            check_status(r, 400, "a bad namespace")
            r = req("M-FOO", "/")
            check_status(r, 501, "M- of an unknown method is still unknown")
            check_status(req("GET", "/"), 200, "plain requests elsewhere")
    finally:
        remove_tree(d)


def test_access_log_keeps_the_m_prefix_and_the_deciding_policy():
    d, path = config_dir(SITE)
    log = os.path.join(d, "access.log")
    try:
        with ConfigServer(path, "--access-log", log, "--access-log-format", "json") as s:
            def req(method, target, headers=()):
                return one(s, build_request(method, target, list(headers)),
                           method.replace("M-", ""))
            check_status(req("M-GET", "/signed", [("Man", f'"{EXT}"; ns=16')]), 200, "M-GET")
            check_status(req("GET", "/signed"), 510, "GET without the declaration")
            check_status(req("M-HEAD", "/signed", [("Man", f'"{EXT}"')]), 200, "M-HEAD")
        with open(log) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        # two workers write their own lines: the order between them is not the requests'
        got = sorted((l["method"], l["status"], l.get("policy") or "") for l in lines)
        eq(got, [("GET", 510, "require-extension"), ("M-GET", 200, ""), ("M-HEAD", 200, "")],
           "methods as sent, and the policy that refused")
    finally:
        remove_tree(d)
