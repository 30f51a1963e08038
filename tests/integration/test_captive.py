"""511 Network Authentication Required (RFC 6585 §6): a captive host answers
addresses not yet admitted with a page linking to the portal, never
cacheable; the portal's pages are served; a POST to the login path admits the
address (303); the RFC 8908 API says captive or not and for how long."""

import json

from harness import (TRANSPORT, ConfigServer, build_request, check, check_status, config_dir,
                     check_config, eq, one, remove_tree, tls_files)

SITE = """\
hosts:
  captive.test:
    default: true
    captive: {portal: /portal, login: /portal/login, api: /captive-api, admit: 600,
              trusted-proxies: [127.0.0.1]}
    locations:
      /: {return: {status: 200, body: "the internet\\n"}}
      /portal: {files: {root: site}}
"""


def test_511_then_login_admits():
    d, path = config_dir(SITE, files={"site/portal/index.html": "<form method=post action=login>"})
    try:
        with ConfigServer(path) as s:
            def req(method="GET", target="/", client="192.0.2.10", headers=()):
                h = [("Host", "captive.test"), ("X-Forwarded-For", client)] + list(headers)
                return one(s, build_request(method, target, h), method)
            r = req(headers=[("Accept", "text/html")])
            check_status(r, 511, "an address not yet admitted")
            eq(r.content_type, "text/html", "an HTML page")
            check(b'href="/portal"' in r.body, f"the page links to the portal: {r.body[:200]!r}")
            check("no-store" in (r.header("cache-control") or ""), "never cacheable")
            r = req(target="/portal/index.html")
            check_status(r, 200, "the portal's pages are served")
            r = req(target="/captive-api")
            check_status(r, 200, "the RFC 8908 API")
            eq(r.content_type, "application/captive+json", "its type")
            api = json.loads(r.body)
            eq(api["captive"], True, "captive")
            scheme = "https" if TRANSPORT == "tls" else "http"
            eq(api["user-portal-url"], f"{scheme}://captive.test/portal",
               "user-portal-url: the scheme the request came by")
            r = req("POST", "/portal/login")
            check_status(r, 303, "the login form")
            eq(r.header("location"), "/", "back to the site")
            r = req()
            check_status(r, 200, "admitted")
            eq(r.body, b"the internet\n", "the site")
            api = json.loads(req(target="/captive-api").body)
            eq(api["captive"], False, "no longer captive")
            check(0 < api["seconds-remaining"] <= 600, f"seconds-remaining: {api}")
            check_status(req(client="192.0.2.11"), 511, "another address is still captive")
    finally:
        remove_tree(d)


def test_portal_url_is_https_over_tls_or_as_configured():
    """RFC 8908 §5: user-portal-url must be an https URI; over TLS the
    portal on the asked host is https://, and a configured URL is used as it
    is (a portal served under another name)."""
    crt, key = tls_files()
    d, path = config_dir(SITE, files={"site/portal/index.html": "<form>"})
    try:
        with ConfigServer(path, "--tls-cert", crt, "--tls-key", key) as s:
            s.tls = True
            r = one(s, build_request("GET", "/captive-api", [("Host", "captive.test")]))
            check_status(r, 200, "the API over TLS")
            eq(json.loads(r.body)["user-portal-url"], "https://captive.test/portal",
               "https when the request came over TLS")
        with open(path, "w") as f:
            f.write(SITE.replace("api: /captive-api,",
                                 "api: /captive-api, portal-url: \"https://portal.example/in\","))
        with ConfigServer(path) as s:
            r = one(s, build_request("GET", "/captive-api", [("Host", "captive.test")]))
            eq(json.loads(r.body)["user-portal-url"], "https://portal.example/in",
               "the configured URL")
        with open(path, "w") as f:
            f.write(SITE.replace("api: /captive-api,",
                                 "api: /captive-api, portal-url: \"http://portal.example/\","))
        code, out, err = check_config(path)
        check(code != 0 and "portal-url" in err and "https://" in err,
              f"an http URL is refused: {err!r}")
    finally:
        remove_tree(d)
