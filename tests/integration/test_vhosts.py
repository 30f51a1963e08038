"""Virtual hosts from a configuration file: exact names (without case, port or
a trailing dot), wildcards (the longest wins), aliases, the default host,
strict-hosts (421 with a problem body), and canonical-name redirects."""

import json

from harness import (ConfigServer, check, check_status, config_dir, eq, get, have_ipv6_loopback,
                     remove_tree, shared, skip)

HOSTS = """\
hosts:
  example.org:
    aliases: [www.example.org, example.net]
    canonical: example.org
    locations:
      /: {return: {status: 200, body: "example.org\\n"}}
  "*.example.org":
    locations:
      /: {return: {status: 200, body: "wildcard\\n"}}
  "*.deep.example.org":
    locations:
      /: {return: {status: 200, body: "deep wildcard\\n"}}
  fallback.test:
    default: true
    locations:
      /: {return: {status: 200, body: "default\\n"}}
  perm.test:
    aliases: [old.perm.test]
    canonical: {name: perm.test, status: 308}
    locations:
      /: {return: {status: 200, body: "perm\\n"}}
"""


def _server(text, key, **kw):
    def make():
        d, path = config_dir(text)
        return ConfigServer(path, **kw)
    return shared(key, make)


def hosts_srv():
    return _server(HOSTS, "nxx serve --config (virtual hosts)")


def strict_srv():
    return _server("strict-hosts: true\n" + HOSTS.replace("    default: true\n", ""),
                   "nxx serve --config (strict-hosts)")


def body_for(srv, host, path="/"):
    r = get(srv, path, [("Host", host)])
    check_status(r, 200, f"Host: {host}")
    return r.body.decode()


def _scheme(s):
    """The scheme of the server's own URLs: https over TLS."""
    return "https" if s.tls else "http"


def test_exact_name_without_case_port_or_trailing_dot():
    s = hosts_srv()
    for host in ("example.org", "EXAMPLE.org", f"example.org:{s.port}"):
        eq(body_for(s, host), "example.org\n", f"Host: {host}")
    eq(body_for(s, "a.example.org."), "wildcard\n", "a.example.org. (trailing dot)")
    # the host is found with the dot, and its canonical name has none
    r = get(s, "/", [("Host", "example.org.")])
    check_status(r, 301, "Host: example.org. (canonical example.org)")
    eq(r.header("location"), f"{_scheme(s)}://example.org/", "Location")


def test_wildcard_and_the_longest_wins():
    s = hosts_srv()
    eq(body_for(s, "a.example.org"), "wildcard\n", "a.example.org")
    eq(body_for(s, "a.b.example.org"), "wildcard\n", "a.b.example.org")
    eq(body_for(s, "deep.example.org"), "wildcard\n", "deep.example.org itself")
    eq(body_for(s, "x.deep.example.org"), "deep wildcard\n", "x.deep.example.org")


def test_default_host_answers_unknown_names():
    s = hosts_srv()
    for host in ("unknown.test", "127.0.0.1", "example.org.evil"):
        eq(body_for(s, host), "default\n", f"Host: {host}")


def test_aliases_redirect_to_the_canonical_name():
    s = hosts_srv()
    for alias in ("www.example.org", "example.net"):
        r = get(s, "/some/path?q=1", [("Host", f"{alias}:{s.port}")])
        check_status(r, 301, f"Host: {alias}")
        eq(r.header("location"), f"{_scheme(s)}://example.org:{s.port}/some/path?q=1",
           f"Location from {alias}")
    r = get(s, "/x", [("Host", "old.perm.test")], method="POST")
    check_status(r, 308, "canonical with status 308")
    eq(r.header("location"), f"{_scheme(s)}://perm.test/x", "Location")
    # the canonical name itself is served
    eq(body_for(s, "perm.test"), "perm\n", "perm.test")


def test_strict_hosts_421_with_a_problem_body():
    s = strict_srv()
    r = get(s, "/", [("Host", "unknown.test"), ("Accept", "application/json")])
    check_status(r, 421, "strict-hosts, unknown name")
    eq(r.content_type, "application/problem+json", "Content-Type of the 421")
    p = json.loads(r.body)
    eq(p.get("status"), 421, "status member")
    check("unknown.test" in p.get("detail", ""), f"detail does not name the authority: {p}")
    # named hosts still answer, wildcards too
    eq(body_for(s, "example.org"), "example.org\n", "a named host under strict-hosts")
    eq(body_for(s, "z.example.org"), "wildcard\n", "a wildcard under strict-hosts")


def test_ipv6_literal_as_a_host_name():
    if not have_ipv6_loopback():
        skip("no IPv6 loopback")
    d, path = config_dir("hosts:\n  \"[::1]\":\n    locations:\n      /: {return: {status: 200, "
                         "body: \"v6\\n\"}}\n  other.test:\n    default: true\n    locations:\n"
                         "      /: {return: 404}\n")
    try:
        with ConfigServer(path, listen="[::1]:0") as s:
            r = get(s, "/", [("Host", f"[::1]:{s.port}")])
            check_status(r, 200, "Host: [::1]:PORT")
            eq(r.body, b"v6\n", "body")
            check_status(get(s, "/", [("Host", "other.test")]), 404, "the default host")
    finally:
        remove_tree(d)
