"""Policy state across a configuration reload (SIGHUP): a reload that keeps a
rate limit, a quota, failed sign-ins or a captive portal keeps its counts and
admissions, also after reloads that were refused; one that changes the
limit's settings starts afresh."""

import base64
import hashlib

from harness import (ConfigServer, build_request, check_status, config_dir, one, remove_tree,
                     write_config)


def sha(k):
    return hashlib.sha256(k.encode()).hexdigest()


def site(rate="3/min", note="a"):
    return f"""\
# {note}
hosts:
  captive.test:
    captive: {{portal: /portal, login: /portal/login, trusted-proxies: [127.0.0.1]}}
    locations:
      /: {{return: {{status: 200, body: "the internet\\n"}}}}
  localhost:
    default: true
    locations:
      /: {{return: {{status: 200, body: "ok\\n"}}}}
      /limited:
        return: {{status: 200, body: "limited\\n"}}
        rate-limit: {{limit: {rate}}}
      /paid:
        return: {{status: 200, body: "paid\\n"}}
        quota: {{keys: keys, limit: 3}}
      /private:
        return: {{status: 200, body: "private\\n"}}
        auth: {{basic: users, max-failures: 2}}
"""


# "alice:secret", bcrypt (htpasswd -nbB alice secret)
USERS = "alice:$2y$05$ge8ZrGBL5obZ2Nrk2zJC5eyAweSjmjb0ikQiWIVTNqbY2RvSTPxoO\n"


def test_counts_survive_a_reload_that_keeps_the_policy():
    d, path = config_dir(site(), files={"keys": f"acme:{sha('k1')}\n", "users": USERS})
    try:
        with ConfigServer(path) as s:
            def get(target, headers=()):
                return one(s, build_request("GET", target, list(headers)))
            bad = [("Authorization", "Basic " + base64.b64encode(b"alice:wrong").decode())]
            check_status(get("/limited"), 200, "1 of 3")
            check_status(get("/limited"), 200, "2 of 3")
            check_status(get("/paid", [("X-API-Key", "k1")]), 200, "quota 1 of 3")
            check_status(get("/paid", [("X-API-Key", "k1")]), 200, "quota 2 of 3")
            check_status(get("/private", bad), 401, "failed sign-in 1 of 2")
            check_status(get("/private", bad), 401, "failed sign-in 2 of 2")
            captive = [("Host", "captive.test"), ("X-Forwarded-For", "192.0.2.7")]
            check_status(get("/", captive), 511, "captive")
            check_status(one(s, build_request("POST", "/portal/login", captive), "POST"), 303,
                         "signed in to the network")
            write_config(path, site(note="b"))
            s.reload()
            check_status(get("/limited"), 200, "3 of 3, after the reload")
            r = get("/limited")
            check_status(r, 429, "the fourth: the reload forgot nothing")
            check_status(get("/paid", [("X-API-Key", "k1")]), 200, "quota 3 of 3")
            check_status(get("/paid", [("X-API-Key", "k1")]), 402, "quota spent")
            check_status(get("/private", bad), 429, "the failures are still counted")
            check_status(get("/", captive), 200, "still admitted")
            # a reload that fails after building the limits, then one that works
            # (whose generation may reuse the failed one's memory): still counted
            for i in range(3):
                write_config(path, site(note=f"x{i}") + "      /broken: {files: /nonexistent/nxx}\n")
                s.reload(expect_ok=False)
                write_config(path, site(note=f"y{i}"))
                s.reload()
                check_status(get("/limited"), 429, f"still over the limit after reloads {i}")
            check_status(get("/paid", [("X-API-Key", "k1")]), 402, "quota still spent")
            write_config(path, site(rate="5/min", note="c"))
            s.reload()
            check_status(get("/limited"), 200, "a changed limit starts afresh")
    finally:
        remove_tree(d)
