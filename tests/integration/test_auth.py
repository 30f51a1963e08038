"""Basic authentication: 401 with the challenge, htpasswd files written by the
real `htpasswd` (bcrypt, SHA-256 and SHA-512 crypt accepted; plaintext, MD5
and SHA-1 refused at load), roles from a groups file (403 naming the role,
per method), failed-attempt slowing (429), the credential cache, the proxy
mode (407 with Proxy-Authenticate for an absolute-form request), and
--auth-basic/--auth-realm on the command line."""

import base64
import json
import os
import re
import shutil
import subprocess

from harness import (Conn, ConfigServer, Server, build_request, check, check_config,
                     check_status, config_dir, eq, make_docroot, one, remove_tree, skip)

USERS = {"alice": ("secret", "-B"), "bob": ("hunter2", "-5"), "carol": ("s3cr3t", "-2")}
GROUPS = "admin: alice\nstaff: alice bob carol\n"


def htpasswd(path, user, password, flag):
    if not shutil.which("htpasswd"):
        skip("htpasswd (apache2-utils) is not installed")
    args = ["htpasswd", "-b", flag] + (["-c"] if not os.path.exists(path) else [])
    subprocess.run(args + [path, user, password], check=True, capture_output=True, timeout=30)


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def make_site(yaml):
    d, path = config_dir(None, files={"www/index.html": "hello\n", "www/admin/index.html": "adm\n",
                                      "groups": GROUPS})
    for user, (pw, flag) in USERS.items():
        htpasswd(os.path.join(d, "users"), user, pw, flag)
    with open(path, "w") as f:
        f.write(yaml)
    return d, path


SITE = """\
auth: {basic: users, groups: groups, realm: "Staff area", max-failures: 10, failure-window: 60}
locations:
  /:
    files: {root: www}
  /admin:
    files: {root: www}
    require:
      - {role: admin, methods: [DELETE, PUT]}
      - {role: [staff]}
"""


def req(s, method="GET", path="/", headers=None):
    return one(s, build_request(method, path, headers or []), method)


def test_401_challenge_and_problem_body():
    d, path = make_site(SITE)
    try:
        with ConfigServer(path) as s:
            r = req(s, headers=[("Accept", "application/problem+json")])
            check_status(r, 401, "no credentials")
            eq(r.header("www-authenticate"), 'Basic realm="Staff area", charset="UTF-8"',
               "the challenge (RFC 7617)")
            body = json.loads(r.body)
            eq(body["status"], 401, "problem status")
            check("credentials" in body["detail"], f"detail says what to do: {body}")
            for bad in ("Basic !!!", "Bearer abc", "Basic " + base64.b64encode(b"nocolon").decode(),
                        basic("alice", "wrong"), basic("nobody", "secret")):
                r = req(s, headers=[("Authorization", bad)])
                check_status(r, 401, f"Authorization: {bad}")
                check(r.header("www-authenticate"), "a 401 always carries the challenge")
    finally:
        remove_tree(d)


def test_hash_kinds_accepted():
    d, path = make_site(SITE)
    try:
        with open(os.path.join(d, "users")) as f:
            kinds = sorted(line.split(":", 1)[1][:3] for line in f if line.strip())
        eq(kinds, ["$2y", "$5$", "$6$"], "htpasswd wrote bcrypt, SHA-256 and SHA-512 crypt")
        with ConfigServer(path) as s:
            for user, (pw, _) in USERS.items():
                r = req(s, headers=[("Authorization", basic(user, pw))])
                check_status(r, 200, f"{user}'s password")
                eq(r.body, b"hello\n", "the file")
    finally:
        remove_tree(d)


def test_weak_hashes_refused_at_load():
    for flag, what in (("-m", "MD5-crypt"), ("-s", "SHA-1"), ("-p", "plaintext")):
        d, path = config_dir("auth: users\nlocations: {/: {return: 200}}\n")
        try:
            htpasswd(os.path.join(d, "users"), "alice", "secret", "-B")
            htpasswd(os.path.join(d, "users"), "weak", "pw", flag)
            code, out, err = check_config(path)
            check(code != 0, f"nxx check accepted a {what} line")
            check(what in err and "'weak'" in err and "users:2" in err,
                  f"the error names the file, line, user and kind: {err!r}")
        finally:
            remove_tree(d)


def test_roles_403_names_the_role_per_method():
    d, path = make_site(SITE)
    try:
        with ConfigServer(path) as s:
            bob = [("Authorization", basic("bob", "hunter2")), ("Accept", "application/json")]
            r = req(s, "GET", "/admin/", bob)
            check_status(r, 200, "bob (staff) reads /admin")
            r = req(s, "DELETE", "/admin/index.html", bob)
            check_status(r, 403, "bob deletes in /admin")
            detail = json.loads(r.body)["detail"]
            check("'admin' role" in detail and "'bob'" in detail, f"403 detail: {detail!r}")
            alice = [("Authorization", basic("alice", "secret"))]
            r = req(s, "DELETE", "/admin/index.html", alice)
            check_status(r, 405, "alice (admin) passes the role check; files take no DELETE")
    finally:
        remove_tree(d)


def test_failed_attempts_slowed_with_429():
    d, path = make_site(SITE.replace("max-failures: 10", "max-failures: 3"))
    try:
        with ConfigServer(path) as s:
            for i in range(3):
                r = req(s, headers=[("Authorization", basic("alice", f"guess{i}"))])
                check_status(r, 401, f"failure {i + 1}")
            r = req(s, headers=[("Authorization", basic("alice", "guess4"))])
            check_status(r, 429, "the fourth failure within the window")
            retry = int(r.header("retry-after"))
            check(50 <= retry <= 60, f"Retry-After is the rest of the window: {retry}")
            r = req(s, headers=[("Authorization", basic("alice", "secret"))])
            check_status(r, 429, "even the right password waits until the window ends")
            r = req(s, headers=[])
            check_status(r, 429, "no credentials from that address either")
    finally:
        remove_tree(d)


def test_verified_credentials_are_cached():
    """A credential verified on a connection is remembered: it passes without a
    new check even after the address was locked out by failures; with
    `cache: 0` it is checked again and waits like any other."""
    for cache, expect in (("60", 200), ("0", 429)):
        d, path = make_site(SITE.replace("max-failures: 10, failure-window: 60",
                                         f"max-failures: 3, failure-window: 60, cache: {cache}"))
        try:
            with ConfigServer(path, threads=1) as s, Conn(s) as c:
                good = [("Authorization", basic("alice", "secret"))]
                c.send(build_request("GET", "/", good))
                check_status(c.read_response(), 200, "first sign-in")
                for i in range(4):
                    req(s, headers=[("Authorization", basic("bob", f"guess{i}"))])
                c.send(build_request("GET", "/", good))
                check_status(c.read_response(), expect, f"signed in again with cache {cache}")
        finally:
            remove_tree(d)


def test_407_proxy_mode_absolute_form():
    d, path = make_site("""\
locations:
  /:
    files: {root: www}
    auth: {basic: users, realm: proxy, proxy: true}
""")
    try:
        with ConfigServer(path) as s:
            target = f"http://127.0.0.1:{s.port}/index.html"
            r = req(s, "GET", target)
            check_status(r, 407, "absolute-form request without Proxy-Authorization")
            eq(r.header("proxy-authenticate"), 'Basic realm="proxy", charset="UTF-8"',
               "Proxy-Authenticate (RFC 9110 §11.7.1)")
            check(not r.has("www-authenticate"), "no WWW-Authenticate on a 407")
            r = req(s, "GET", target, [("Authorization", basic("alice", "secret"))])
            check_status(r, 407, "Authorization is for the origin, not the proxy")
            r = req(s, "GET", target, [("Proxy-Authorization", basic("alice", "secret"))])
            check_status(r, 200, "with Proxy-Authorization")
    finally:
        remove_tree(d)


def test_command_line_auth_basic():
    root = make_docroot()
    d, _ = config_dir(None)
    try:
        users = os.path.join(d, "users")
        htpasswd(users, "alice", "secret", "-B")
        with Server(root, "--auth-basic", users, "--auth-realm", "Files") as s:
            r = req(s)
            check_status(r, 401, "--auth-basic protects everything")
            eq(r.header("www-authenticate"), 'Basic realm="Files", charset="UTF-8"', "realm")
            r = req(s, headers=[("Authorization", basic("alice", "secret"))])
            check_status(r, 200, "with the password")
    finally:
        remove_tree(root)
        remove_tree(d)


def test_access_log_names_user_and_policy():
    d, path = make_site(SITE)
    log = os.path.join(d, "access.log")
    try:
        with ConfigServer(path, "--access-log", log, "--access-log-format", "json") as s:
            req(s, headers=[("Authorization", basic("bob", "hunter2"))])
            req(s, "DELETE", "/admin/x", [("Authorization", basic("bob", "hunter2"))])
            req(s)
        with open(log) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        eq(sorted((e["status"], e.get("user") or "", e.get("policy") or "") for e in lines),
           [(200, "bob", ""), (401, "", "auth"), (403, "bob", "require")],
           "user and deciding policy in the log")
    finally:
        remove_tree(d)


def test_combined_access_log_ends_with_the_deciding_policy():
    d, path = make_site(SITE)
    log = os.path.join(d, "access.log")
    try:
        with ConfigServer(path, "--access-log", log) as s:
            req(s, headers=[("Authorization", basic("bob", "hunter2"))])
            req(s, "DELETE", "/admin/x", [("Authorization", basic("bob", "hunter2"))])
            req(s)
        with open(log) as f:
            lines = [line.rstrip("\n") for line in f if line.strip()]
        got = []
        for line in lines:
            m = re.search(r'" (\d{3}) \d+ .* "([^"]*)"$', line)
            check(m, f"the combined line ends with a quoted policy field: {line!r}")
            got.append((int(m[1]), m[2]))
        eq(sorted(got), [(200, "-"), (401, "auth"), (403, "require")],
           "the deciding policy, or \"-\", last on each combined line")
    finally:
        remove_tree(d)


def test_bearer_tokens_from_a_hashed_file():
    import hashlib
    tok = "tk_7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e"
    d, path = make_site("""\
auth: {bearer: tokens, basic: users, groups: groups, realm: api}
locations:
  /:
    files: {root: www}
  /admin:
    files: {root: www}
    require: admin
""")
    try:
        with open(os.path.join(d, "tokens"), "w") as f:
            f.write(f"# service tokens\nrobot:{hashlib.sha256(tok.encode()).hexdigest()}\n")
        with ConfigServer(path) as s:
            r = req(s)
            check_status(r, 401, "no credentials")
            eq(r.header_all("www-authenticate"),
               ['Basic realm="api", charset="UTF-8"', 'Bearer realm="api"'],
               "both schemes offered, no error code without a token (RFC 6750 §3.1)")
            r = req(s, headers=[("Authorization", "Bearer " + tok)])
            check_status(r, 200, "the token")
            r = req(s, headers=[("Authorization", "Bearer " + tok + "x")])
            check_status(r, 401, "a wrong token")
            eq(r.header_all("www-authenticate")[1],
               'Bearer realm="api", error="invalid_token", '
               'error_description="the access token is not valid here"', "RFC 6750 §3 error")
            r = req(s, headers=[("Authorization", "Bearer a b")])
            check_status(r, 400, "a malformed token is invalid_request (RFC 6750 §3.1)")
            check('error="invalid_request"' in r.header_all("www-authenticate")[1], "the code")
            r = req(s, "GET", "/admin/", [("Authorization", "Bearer " + tok)])
            check_status(r, 403, "robot has no admin role")
            eq(r.header("www-authenticate"),
               'Bearer realm="api", error="insufficient_scope", '
               'error_description="a role this resource requires is missing"',
               "RFC 6750 §3.1 insufficient_scope on the 403")
            r = req(s, "GET", "/admin/", [("Authorization", basic("alice", "secret"))])
            check_status(r, 200, "alice has it")
    finally:
        remove_tree(d)


def _b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _der_to_raw(der):
    """ECDSA-Sig-Value (DER SEQUENCE of two INTEGERs) to JWS R || S (RFC 7518 §3.4)."""
    i = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        n = der[i + 1]
        out += der[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0")
        i += 2 + n
    return out


def _jwt(key_path, alg, claims):
    head = _b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = _b64url(json.dumps(claims).encode())
    msg = f"{head}.{body}".encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_path], input=msg,
                         capture_output=True, check=True, timeout=30).stdout
    if alg == "ES256":
        sig = _der_to_raw(sig)
    return f"{head}.{body}.{_b64url(sig)}"


def test_jwt_rs256_es256_claims_and_roles():
    import time
    if not shutil.which("openssl"):
        skip("the openssl command is not installed")
    for alg, gen in (("RS256", ["genpkey", "-algorithm", "RSA", "-pkeyopt",
                                "rsa_keygen_bits:2048"]),
                     ("ES256", ["genpkey", "-algorithm", "EC", "-pkeyopt",
                                "ec_paramgen_curve:P-256"])):
        d, path = make_site("""\
auth: {jwt-key: pub.pem, jwt-issuer: "https://id.example", jwt-audience: api, realm: api}
locations:
  /:
    files: {root: www}
  /admin:
    files: {root: www}
    require: admin
""")
        try:
            key = os.path.join(d, "key.pem")
            subprocess.run(["openssl"] + gen + ["-out", key], check=True, capture_output=True,
                           timeout=60)
            subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out",
                            os.path.join(d, "pub.pem")], check=True, capture_output=True,
                           timeout=30)
            now = int(time.time())
            good = {"sub": "dana", "iss": "https://id.example", "aud": ["api", "web"],
                    "exp": now + 300, "nbf": now - 10, "roles": ["admin"]}
            with ConfigServer(path) as s:
                def status(claims, target="/"):
                    tok = _jwt(key, alg, claims)
                    return req(s, "GET", target, [("Authorization", "Bearer " + tok)])
                check_status(status(good), 200, f"{alg}: a valid token")
                check_status(status(good, "/admin/"), 200, f"{alg}: the roles claim")
                check_status(status(dict(good, roles="ops dev"), "/admin/"), 403,
                             f"{alg}: roles as a string without admin")
                for what, claims in (("expired", dict(good, exp=now - 120)),
                                     ("not yet valid", dict(good, nbf=now + 300)),
                                     ("another issuer", dict(good, iss="https://evil")),
                                     ("another audience", dict(good, aud="web"))):
                    r = status(claims)
                    check_status(r, 401, f"{alg}: {what}")
                    check('error="invalid_token"' in r.header("www-authenticate"),
                          f"{alg} {what}: {r.header('www-authenticate')}")
                r = status(dict(good, exp=now - 30))
                check_status(r, 200, f"{alg}: expired 30 s ago is within the 60 s skew")
        finally:
            remove_tree(d)


def test_access_log_names_other_policies():
    d, path = config_dir("locations:\n  /old: {gone: true}\n  /x: {legal-block: \"https://a.example/\"}\n")
    log = os.path.join(d, "access.log")
    try:
        with ConfigServer(path, "--access-log", log, "--access-log-format", "json") as s:
            req(s, "GET", "/old")
            req(s, "GET", "/x")
        with open(log) as f:
            got = sorted((e["status"], e.get("policy")) for e in map(json.loads, f) if e)
        eq(got, [(410, "gone"), (451, "legal-block")], "the deciding policy of each refusal")
    finally:
        remove_tree(d)


def test_a_role_nobody_can_be_granted_is_a_load_error():
    """require without an auth in its scope or one around it could only ever
    answer 403: nxx check and a start refuse it, naming where it is."""
    for text, where in (("""\
locations:
  /admin:
    return: 204
    require: admin
""", "4:"), ("""\
locations:
  /admin:
    return: 204
    require: admin
  /login:
    return: 204
    auth: {basic: users}
""", "4:"), ("""\
require: {role: admin}
locations:
  /admin:
    return: 204
    auth: {basic: users}
""", "1:")):
        d, path = config_dir(text, files={"users": "alice:" + "$2y$05$ge8ZrGBL5obZ2Nrk2zJC5e"
                                          "yAweSjmjb0ikQiWIVTNqbY2RvSTPxoO\n"})
        try:
            code, out, err = check_config(path)
            check(code != 0, f"refused: {code} {out!r} {err!r}")
            check("the role 'admin' can never be granted" in err and f"nxx.yaml:{where}" in err,
                  f"the message says why and where: {err!r}")
        finally:
            remove_tree(d)
    d, path = config_dir("""\
auth: {basic: users}
locations:
  /admin:
    return: 204
    require: admin
""", files={"users": "alice:$2y$05$ge8ZrGBL5obZ2Nrk2zJC5eyAweSjmjb0ikQiWIVTNqbY2RvSTPxoO\n"})
    try:
        code, out, err = check_config(path)
        eq(code, 0, f"an auth around the location grants it: {err!r}")
    finally:
        remove_tree(d)
