"""The forward proxy (`forward:` on the location '/'): curl -x sends
absolute-form requests, which go to the allowed destination in origin-form;
curl -p opens a CONNECT tunnel, 200 and then bytes both ways untouched.
Destinations and ports off the allow-list get 403, an origin-form request
400, a destination that refuses 502.  Every target is on 127.0.0.1."""

import subprocess

from harness import (Conn, shared, skip, build_request, check, check_status, eq, at_teardown,
                     temp_dir, tls_files, TRANSPORT)
from upstreams import (FakeUpstream, Squid, closed_port, echo_bytes, proxy_config,
                       serve_forever)


def _echo(c, req):
    c.respond(200, [("Content-Type", "text/plain")],
              f"{req.method} {req.target} host={req.header('host')} "
              f"via={req.header('via')}\n".encode())


_state = {}


def setup():
    if _state:
        return _state
    http = FakeUpstream(serve_forever(_echo))
    raw = FakeUpstream(echo_bytes)
    at_teardown(http.close)
    at_teardown(raw.close)
    dead = closed_port()
    srv = shared("nxx forward", lambda: proxy_config(
        "  /:\n    forward:\n"
        f"      allow: ['127.0.0.1:{http.port}', '127.0.0.1:{raw.port}', '127.0.0.1:{dead}']\n"
        f"      connect-ports: ['{http.port}', '{raw.port}', '{dead}']\n"))
    _state.update(http=http, raw=raw, dead=dead, srv=srv)
    return _state


def curl(*args):
    # a proxy the suite made TLS (NXX_TRANSPORT=tls) is trusted by its CA
    ca = ["--proxy-cacert", tls_files()[0]] if TRANSPORT == "tls" else []
    return subprocess.run(["curl", "-s", "--max-time", "10"] + ca + list(args),
                          capture_output=True, timeout=20)


def test_curl_x_absolute_form():
    s = setup()
    p = curl("-x", s["srv"].url, f"http://127.0.0.1:{s['http'].port}/hello?q=1")
    eq(p.returncode, 0, f"curl -x: {p.stderr!r}")
    text = p.stdout.decode()
    check(text.startswith(f"GET /hello?q=1 host=127.0.0.1:{s['http'].port} via=1.1 nxx-"),
          f"origin-form upstream, Host and Via: {text!r}")


def test_curl_p_connect_tunnel():
    s = setup()
    p = curl("-p", "-x", s["srv"].url, f"http://127.0.0.1:{s['http'].port}/tunnelled")
    eq(p.returncode, 0, f"curl -p: {p.stderr!r}")
    text = p.stdout.decode()
    check(text.startswith("GET /tunnelled host=") and "via=None" in text,
          f"the request went through the tunnel untouched: {text!r}")


def test_raw_connect_bytes_both_ways():
    s = setup()
    target = f"127.0.0.1:{s['raw'].port}"
    with Conn(s["srv"]) as c:
        c.send(build_request("CONNECT", target, [("Host", target)], host=False) + b"early;")
        r = c.read_response("CONNECT")
        check_status(r, 200, "CONNECT")
        eq(c.read_exactly(6), b"early;", "bytes sent behind the head")
        big = bytes(range(256)) * 8192
        c.send(big)
        eq(c.read_exactly(len(big), 20), big, "2 MiB echoed through the tunnel")
        c.sock.shutdown(1)
        check(c.wait_eof(5), "the destination's close ends the tunnel")


def test_refusals():
    s = setup()
    srv = s["srv"]
    with Conn(srv) as c:
        r = c.request("GET", "/local")
    check_status(r, 400, "origin-form at a forward proxy")
    with Conn(srv) as c:
        r = c.request("GET", "http://127.0.0.1:1/x", [("Host", "127.0.0.1:1")], host=False)
    check_status(r, 403, "a destination off the allow-list")
    with Conn(srv) as c:
        c.send(build_request("CONNECT", "127.0.0.1:1", [("Host", "127.0.0.1:1")], host=False))
        r = c.read_response("CONNECT")
    check_status(r, 403, "CONNECT off the allow-list")
    with Conn(srv) as c:
        t = f"127.0.0.1:{s['dead']}"
        c.send(build_request("CONNECT", t, [("Host", t)], host=False))
        r = c.read_response("CONNECT")
    check_status(r, 502, "an allowed destination that refuses")


def test_connect_443_only_by_default():
    http = FakeUpstream(serve_forever(_echo))
    at_teardown(http.close)
    srv = shared("nxx forward 443", lambda: proxy_config(
        f"  /:\n    forward: '127.0.0.1:{http.port}'\n"))
    t = f"127.0.0.1:{http.port}"
    with Conn(srv) as c:
        c.send(build_request("CONNECT", t, [("Host", t)], host=False))
        r = c.read_response("CONNECT")
    check_status(r, 403, "CONNECT to a port other than 443")
    check("443" in r.body.decode(), "the detail says which port")
    p = curl("-x", srv.url, f"http://{t}/plain")
    eq(p.returncode, 0, "absolute-form still goes")


def test_proxy_authentication_407():
    """auth with proxy: true on the forward proxy's location: absolute-form
    and CONNECT requests without Proxy-Authorization get 407 with
    Proxy-Authenticate; with the right credentials they go through, and the
    credentials are not passed on to the destination."""
    import base64
    import os
    import shutil
    if not shutil.which("htpasswd"):
        skip("htpasswd (apache2-utils) is not installed")
    seen = []

    def echo_auth(c, req):
        seen.append(req.header("proxy-authorization"))
        _echo(c, req)

    http = FakeUpstream(serve_forever(echo_auth))
    at_teardown(http.close)
    d = temp_dir("nxx-it-proxyauth-")
    users = os.path.join(d, "users")
    subprocess.run(["htpasswd", "-bcB", users, "alice", "s3cret"], check=True, capture_output=True)
    t = f"127.0.0.1:{http.port}"
    srv = shared("nxx forward auth", lambda: proxy_config(
        f"  /:\n    auth: {{basic: '{users}', proxy: true, realm: Proxy}}\n"
        f"    forward: {{allow: ['{t}'], connect-ports: ['{http.port}']}}\n"))
    good = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    bad = "Basic " + base64.b64encode(b"alice:wrong").decode()
    for method, target, extra in (("GET", f"http://{t}/x", []), ("CONNECT", t, [("Host", t)])):
        for creds in (None, bad):
            hdrs = extra + ([("Proxy-Authorization", creds)] if creds else [])
            with Conn(srv) as c:
                c.send(build_request(method, target, hdrs, host=method != "CONNECT"))
                r = c.read_response(method)
            check_status(r, 407, f"{method} with {'wrong' if creds else 'no'} credentials")
            check(r.header("proxy-authenticate", "").startswith('Basic realm="Proxy"'),
                  f"the challenge: {r.headers!r}")
    p = curl("-x", srv.url, "-U", "alice:s3cret", f"http://{t}/in")
    eq(p.returncode, 0, f"curl -x -U: {p.stderr!r}")
    check(p.stdout.decode().startswith("GET /in "), f"absolute-form through: {p.stdout!r}")
    eq(seen, [None], "Proxy-Authorization is not passed on")
    p = curl("-p", "-x", srv.url, "-U", "alice:s3cret", f"http://{t}/tunnelled")
    eq(p.returncode, 0, f"curl -p -U: {p.stderr!r}")
    check(p.stdout.decode().startswith("GET /tunnelled "), f"through the tunnel: {p.stdout!r}")
    with Conn(srv) as c:
        c.send(build_request("GET", f"http://{t}/h", [("Proxy-Authorization", good)]))
        check_status(c.read_response("GET"), 200, "a raw request with the credentials")


def test_same_curl_command_lines_as_squid():
    s = setup()
    try:
        sq = Squid([s["http"].port, s["raw"].port])
    except FileNotFoundError:
        skip("squid is not installed")
    at_teardown(sq.close)
    http = f"http://127.0.0.1:{s['http'].port}"
    cases = [
        ("absolute-form", ["-x", "PROXY", http + "/a?b=1"]),
        ("CONNECT tunnel", ["-p", "-x", "PROXY", http + "/t"]),
        ("CONNECT to a port not allowed", ["-p", "-x", "PROXY", "http://127.0.0.1:1/"]),
    ]
    for what, args in cases:
        got = {}
        for name, url in (("nxx", s["srv"].url), ("squid", sq.url)):
            p = curl("-o", "-", "-w", "\n%{http_code} %{http_connect}",
                     *[url if a == "PROXY" else a for a in args])
            out = p.stdout.decode(errors="replace")
            body, _, codes = out.rpartition("\n")
            # what the destination saw, without the Via each proxy adds
            got[name] = (p.returncode, codes, body.split(" via=")[0])
        eq(got["nxx"], got["squid"], f"{what}: nxx and squid")
