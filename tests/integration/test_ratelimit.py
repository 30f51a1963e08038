"""Rate limits: 429 with Retry-After, RateLimit-Policy and RateLimit fields
(also on allowed responses), exact counts across two workers and many
connections, keys by API key and by a field, several limits on one location,
the client address from X-Forwarded-For / Forwarded only behind a trusted
proxy (IPv6 counted by /64), and --rate-limit on the command line."""

import json
import re
import threading

from harness import (Conn, ConfigServer, Server, build_request, check, check_status, config_dir,
                     eq, make_docroot, one, remove_tree)

SITE = """\
locations:
  /:
    return: {status: 200, body: "ok\\n"}
  /api:
    return: {status: 200, body: "api\\n"}
    rate-limit: {limit: 100/min}
  /keyed:
    return: {status: 200, body: "k\\n"}
    rate-limit: {limit: 2/min, by: api-key, param: api_key}
  /two:
    return: {status: 200, body: "2\\n"}
    rate-limit:
      - {limit: 5/min, name: burst}
      - {limit: 3/h, name: hourly, by: field, field: X-Client}
  /behind:
    return: {status: 200, body: "b\\n"}
    rate-limit: {limit: 1/min, trusted-proxies: [127.0.0.1, "::1"]}
  /untrusted:
    return: {status: 200, body: "u\\n"}
    rate-limit: {limit: 1/min}
"""

RL_RE = re.compile(r'^"([a-z]+)";r=(\d+);t=(\d+)$')


def serve():
    d, path = config_dir(SITE)
    return d, ConfigServer(path, threads=2)


def get(s, path, headers=None):
    return one(s, build_request("GET", path, headers or []))


def fields(r):
    m = RL_RE.match(r.header("ratelimit") or "")
    check(m, f"RateLimit field: {r.header('ratelimit')!r}")
    return m.group(1), int(m.group(2)), int(m.group(3))


def test_429_with_retry_after_and_ratelimit_fields():
    d, s = serve()
    try:
        with s:
            for i in range(2):
                r = get(s, "/keyed", [("X-API-Key", "k1")])
                check_status(r, 200, f"request {i + 1} of 2")
                eq(r.header("ratelimit-policy"), '"default";q=2;w=60', "RateLimit-Policy")
                name, left, reset = fields(r)
                eq(left, 1 - i, "r counts down")
                check(0 < reset <= 60, f"t within the window: {reset}")
            r = one(s, build_request("GET", "/keyed", [("X-API-Key", "k1"),
                                                      ("Accept", "application/json")]))
            check_status(r, 429, "third request within the minute")
            retry = int(r.header("retry-after"))
            check(0 < retry <= 60, f"Retry-After: {retry}")
            eq(fields(r)[1], 0, "r=0 on the 429")
            eq(r.header("ratelimit-policy"), '"default";q=2;w=60', "policy on the 429")
            detail = json.loads(r.body)["detail"]
            check("2 requests per 60 seconds" in detail and "try again" in detail,
                  f"the detail says what to do: {detail!r}")
            check_status(get(s, "/keyed?api_key=k2"), 200, "another key (query parameter)")
            check_status(get(s, "/keyed", [("X-API-Key", "k2")]), 200, "k2 by the field")
            check_status(get(s, "/keyed", [("X-API-Key", "k2")]), 429, "k2 spent")
            for _ in range(3):
                r = get(s, "/keyed")
                check_status(r, 200, "a request without a key is not limited by this rule")
                check(not r.has("ratelimit"), "and carries no RateLimit field")
    finally:
        remove_tree(d)


def test_exactly_100_of_1000_across_workers_and_connections():
    d, s = serve()
    try:
        with s:
            statuses = []
            lock = threading.Lock()

            def client(n):
                got = []
                with Conn(s, timeout_s=20) as c:
                    for _ in range(n):
                        c.send(build_request("GET", "/api"))
                        got.append(c.read_response().status)
                with lock:
                    statuses.extend(got)

            threads = [threading.Thread(target=client, args=(20,)) for _ in range(50)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            eq(len(statuses), 1000, "every request answered")
            eq(sorted(set(statuses)), [200, 429], "only 200 and 429")
            eq(sum(1 for x in statuses if x != 429), 100,
               "exactly the quota of 100 a minute got through, over 50 connections and 2 workers")
    finally:
        remove_tree(d)


def test_several_limits_on_one_location():
    d, s = serve()
    try:
        with s:
            for i in range(3):
                r = get(s, "/two", [("X-Client", "c1")])
                check_status(r, 200, f"request {i + 1}")
                eq(r.header_all("ratelimit-policy"), ['"burst";q=5;w=60', '"hourly";q=3;w=3600'],
                   "both policies")
            r = get(s, "/two", [("X-Client", "c1")])
            check_status(r, 429, "the hourly limit of the field's value is spent")
            eq(r.header("retry-after") is not None, True, "Retry-After")
            r = get(s, "/two", [("X-Client", "c2")])
            check_status(r, 200, "another field value: the fifth request of the address")
            eq(fields(r)[:2], ("burst", 0), "the address's burst limit is spent now")
            r = get(s, "/two", [("X-Client", "c3")])
            check_status(r, 429, "the sixth request of the address")
            eq(r.header_all("ratelimit")[0].split(";")[:2], ['"burst"', "r=0"], "burst r=0")
    finally:
        remove_tree(d)


def test_forwarded_address_only_from_trusted_proxies():
    d, s = serve()
    try:
        with s:
            xff = lambda a: [("X-Forwarded-For", a)]  # noqa: E731
            check_status(get(s, "/behind", xff("192.0.2.1")), 200, "client 192.0.2.1")
            check_status(get(s, "/behind", xff("192.0.2.1")), 429, "192.0.2.1 again")
            check_status(get(s, "/behind", xff("192.0.2.2")), 200, "another client")
            check_status(get(s, "/behind", xff("192.0.2.9, 127.0.0.1")), 200,
                         "a trusted hop on the right is skipped")
            check_status(get(s, "/behind", xff("203.0.113.5, 192.0.2.2")), 429,
                         "the rightmost untrusted hop is the client, not what it claims")
            fwd = lambda a: [("Forwarded", f'for="{a}";proto=http')]  # noqa: E731
            check_status(get(s, "/behind", fwd("[2001:db8::1]:4711")), 200, "IPv6 client")
            check_status(get(s, "/behind", fwd("[2001:db8::2]")), 429,
                         "the same /64 is one client")
            check_status(get(s, "/behind", fwd("[2001:db8:0:1::1]")), 200, "another /64")
            check_status(get(s, "/untrusted", xff("198.51.100.1")), 200, "first")
            check_status(get(s, "/untrusted", xff("198.51.100.2")), 429,
                         "without trusted proxies the field is ignored: one peer, one count")
    finally:
        remove_tree(d)


def test_command_line_rate_limit():
    root = make_docroot()
    try:
        with Server(root, "--rate-limit", "2/min") as s:
            codes = [get(s, "/").status for _ in range(2)]
            eq(codes, [200, 200], "two a minute")
            r = get(s, "/")
            check_status(r, 429, "the third within the minute")
            check(0 < int(r.header("retry-after")) <= 60, "Retry-After within the minute")
            eq(r.header("ratelimit-policy"), '"default";q=2;w=60', "RateLimit-Policy")
    finally:
        remove_tree(root)
