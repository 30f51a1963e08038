"""TLS listeners: `nxx serve DIR --tls-cert --tls-key` over curl and openssl
s_client (TLS 1.2 and 1.3 only, ALPN http/1.1), files larger than the TLS
buffer, certificates per host chosen by SNI, 421 for an authority the
connection's certificate does not cover, 400 with a problem body for plain
HTTP on a TLS port, a ClientHello on a plain port closed without an answer,
https-redirect (308, method kept) and HSTS, the handshake timeout, session
resumption by ticket across workers, and certificates reloaded on SIGHUP
while an open connection goes on."""

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from harness import (Conn, ConfigServer, Server, build_request, check, check_status, config_dir,
                     curl, eq, get, make_docroot, parse_responses, remove_tree, skip, timeout,
                     write_config)

BIG = os.urandom(3 * 1024 * 1024 + 12345)  # bigger than any TLS buffer, not a multiple of 16K


def have_openssl():
    return shutil.which("openssl") is not None


def make_cert(d, name, cn, sans):
    """A self-signed P-256 certificate for the names and addresses in sans."""
    if not have_openssl():
        skip("openssl is not installed")
    crt, key = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
    san = ",".join(sans)
    p = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + cn,
         "-addext", "subjectAltName=" + san],
        capture_output=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError(f"openssl req failed: {p.stderr.decode()}")
    return crt, key


class Tls:
    """A root with files and a certificate for localhost/127.0.0.1 (and a.example)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nxx-it-tls-")
        self.root = make_docroot({"big.bin": BIG})
        self.crt, self.key = make_cert(self.dir, "a", "a.example",
                                       ["DNS:a.example", "DNS:localhost", "IP:127.0.0.1"])

    def close(self):
        remove_tree(self.dir)
        remove_tree(self.root)


def tls_conn(srv, name=None, port=None, alpn=None, cafile=None):
    """A TLS socket to srv (verified against cafile when given)."""
    ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
    if alpn:
        ctx.set_alpn_protocols(alpn)
    s = socket.create_connection(("127.0.0.1", port or srv.port), timeout=5)
    return ctx.wrap_socket(s, server_hostname=name)


def tls_exchange(sock, data, count=1):
    sock.sendall(data)
    buf = bytearray()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            resps, _ = parse_responses(bytes(buf), eof=False)
        except Exception:
            resps = []
        if len(resps) >= count:
            return resps
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    resps, _ = parse_responses(bytes(buf), eof=True)
    return resps


def s_client(port, *args, stdin=b"", timeout_s=15):
    if not have_openssl():
        skip("openssl is not installed")
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}"] + list(args)
    p = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout_s)
    return p.returncode, p.stdout.decode("latin-1") + p.stderr.decode("latin-1")


@timeout(60)
def test_https_with_curl_and_alpn_http11():
    t = Tls()
    try:
        with Server(t.root, "--tls-cert", t.crt, "--tls-key", t.key) as s:
            check("https://" in s.stderr, "the listening line says https")
            check(s.wait_stderr(lambda t: "TLS:" in t and ("16 KiB" in t or "kernel TLS" in t),
                                5), f"the log says how files go out: {s.stderr!r}")
            url = f"https://127.0.0.1:{s.port}"
            code, body, head, err = curl(["--cacert", t.crt, "-v", "--http1.1", url + "/a.txt"])
            eq(code, 200, "GET /a.txt over https")
            check(b"a.txt" in body or len(body) > 0, "a body")
            check("ALPN: server accepted http/1.1" in err or "ALPN, server accepted to use "
                  "http/1.1" in err, f"ALPN chose http/1.1: {err[-800:]}")
            code, body, head, err = curl(["--cacert", t.crt, url + "/big.bin"], timeout_s=30)
            eq(code, 200, "a file of 3 MiB")
            check(body == BIG, f"the whole file, byte for byte ({len(body)} of {len(BIG)})")
            code, body, head, err = curl(["--cacert", t.crt, "-r", "1000000-1999999",
                                          url + "/big.bin"])
            eq(code, 206, "a range of it")
            check(body == BIG[1000000:2000000], "the range's bytes")
            # keep-alive: two requests, one connection
            code, body, head, err = curl(["--cacert", t.crt, "-v", "--http1.1", url + "/a.txt",
                                          url + "/index.html"])
            check("Re-using existing connection" in err or "Reusing existing" in err,
                  "the second request reuses the connection")
    finally:
        t.close()


@timeout(60)
def test_tls_versions_12_and_13_only():
    t = Tls()
    try:
        with Server(t.root, "--tls-cert", t.crt, "--tls-key", t.key) as s:
            rc, out = s_client(s.port, "-tls1_3", "-alpn", "http/1.1")
            check("TLSv1.3" in out and "ALPN protocol: http/1.1" in out, f"TLS 1.3: {out[-600:]}")
            rc, out = s_client(s.port, "-tls1_2")
            check("TLSv1.2" in out and "ECDHE" in out, f"TLS 1.2 with ECDHE: {out[-600:]}")
            for old in ("-tls1_1", "-tls1"):
                rc, out = s_client(s.port, old, "-cipher", "DEFAULT:@SECLEVEL=0")
                check("Cipher is (NONE)" in out or "no protocols available" in out
                      or "alert" in out.lower() or rc != 0, f"{old} refused: {out[-600:]}")
            # a suite without forward secrecy is not offered
            rc, out = s_client(s.port, "-tls1_2", "-cipher", "AES128-SHA")
            check("Cipher is (NONE)" in out or rc != 0, f"static RSA refused: {out[-600:]}")
            eq(get_over_tls(s).status, 200, "still serving")
    finally:
        t.close()


def get_over_tls(s, path="/", name=None, host=None):
    with tls_conn(s, name) as c:
        r = tls_exchange(c, build_request("GET", path, [("Host", host or "localhost"),
                                                        ("Connection", "close")]))
        return r[0]


SNI_CONFIG = """\
access-log: off
tls-cert: a.crt
tls-key: a.key
hosts:
  a.example:
    default: true
    locations:
      /: {{return: {{status: 200, body: "site a\\n"}}}}
  b.example:
    tls: {{cert: b.crt, key: b.key}}
    locations:
      /: {{return: {{status: 200, body: "site b\\n"}}}}
{extra}"""


@timeout(60)
def test_sni_chooses_the_host_certificate_and_421_for_another_name():
    d, path = config_dir()
    try:
        make_cert(d, "a", "a.example", ["DNS:a.example", "IP:127.0.0.1"])
        make_cert(d, "b", "b.example", ["DNS:b.example"])
        write_config(path, SNI_CONFIG.format(extra=""))
        with ConfigServer(path) as s:
            p = s.port
            rc, out = s_client(p, "-servername", "b.example")
            check("CN = b.example" in out, f"SNI b.example gets b's certificate: {out[:800]}")
            rc, out = s_client(p, "-servername", "a.example")
            check("CN = a.example" in out, f"SNI a.example gets a's certificate: {out[:800]}")
            res = [f"--resolve", f"a.example:{p}:127.0.0.1", "--resolve", f"b.example:{p}:127.0.0.1"]
            code, body, head, _ = curl(res + ["--cacert", os.path.join(d, "b.crt"),
                                              f"https://b.example:{p}/"])
            eq((code, body), (200, b"site b\n"), "b.example over its own certificate")
            code, body, head, _ = curl(res + ["--cacert", os.path.join(d, "a.crt"),
                                              f"https://a.example:{p}/"])
            eq((code, body), (200, b"site a\n"), "a.example")
            # SNI a.example, Host b.example: a's certificate does not cover b
            code, body, head, _ = curl(res + ["--cacert", os.path.join(d, "a.crt"),
                                              "-H", "Host: b.example",
                                              "-H", "Accept: application/problem+json",
                                              f"https://a.example:{p}/"])
            eq(code, 421, "Host b.example on a connection for a.example")
            prob = json.loads(body)
            eq(prob["status"], 421, "problem status")
            check("b.example" in prob.get("detail", ""), f"the detail names the host: {prob}")
            # the same on one connection: the first request is served, the second is not
            with tls_conn(s, "a.example") as c:
                r = tls_exchange(c, build_request("GET", "/", [("Host", "a.example")]))
                eq(r[0].status, 200, "first request for a.example")
                r = tls_exchange(c, build_request("GET", "/", [("Host", "b.example")]))
                eq(r[0].status, 421, "then a request for b.example on the same connection")
    finally:
        remove_tree(d)


@timeout(60)
def test_h2_by_alpn_and_421_when_a_connection_is_reused_for_another_host():
    from h2client import H2, need_h2
    need_h2()
    d, path = config_dir()
    try:
        make_cert(d, "a", "a.example", ["DNS:a.example", "IP:127.0.0.1"])
        make_cert(d, "b", "b.example", ["DNS:b.example"])
        write_config(path, SNI_CONFIG.format(extra=""))
        with ConfigServer(path) as s:
            with tls_conn(s, "a.example", alpn=["http/1.1"]) as c:
                eq(c.selected_alpn_protocol(), "http/1.1", "a client offering only http/1.1")
            with tls_conn(s, "a.example", alpn=["h2", "http/1.1"]) as c:
                eq(c.selected_alpn_protocol(), "h2", "h2 is the server's first choice")
                with H2(s, sock=c, scheme="https") as h:
                    h.authority = "a.example"
                    status, hdrs, body, _ = h.response(h.headers("GET", "/"))
                    eq((status, body), (200, b"site a\n"), "a.example over h2")
                    # the connection's certificate does not cover b.example
                    # (RFC 9113 §9.1.1): the request is refused, the connection kept
                    h.authority = "b.example"
                    status, hdrs, body, _ = h.response(h.headers("GET", "/", [("accept", "application/problem+json")]))
                    eq(status, 421, "b.example on a connection made for a.example")
                    check("b.example" in json.loads(body).get("detail", ""), f"the detail names it: {body!r}")
                    h.authority = "a.example"
                    status, hdrs, body, _ = h.response(h.headers("GET", "/"))
                    eq((status, body), (200, b"site a\n"), "the same connection still serves a.example")
            p = s.port
            code, body, head, _ = curl(["--http2", "--resolve", f"b.example:{p}:127.0.0.1",
                                        "--cacert", os.path.join(d, "b.crt"), f"https://b.example:{p}/"])
            eq((code, body), (200, b"site b\n"), "curl --http2 to b.example")
            check(head.startswith("HTTP/2 200"), f"curl spoke HTTP/2 (ALPN h2): {head[:40]!r}")
    finally:
        remove_tree(d)


@timeout(30)
def test_plain_http_on_a_tls_port_gets_400_saying_so():
    t = Tls()
    try:
        with Server(t.root, "--tls-cert", t.crt, "--tls-key", t.key) as s:
            with Conn(s) as c:
                c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                deadline = time.monotonic() + 5
                while not c.eof and c._recv_some(deadline):
                    pass
                data = bytes(c.buf)
            resps, _ = parse_responses(data, eof=True)
            eq(len(resps), 1, f"one answer: {data[:300]!r}")
            r = resps[0]
            check_status(r, 400, "plain request on a TLS port")
            eq(r.header("content-type"), "application/problem+json", "a problem body")
            prob = json.loads(r.body)
            check("HTTPS" in prob["detail"] and "https://" in prob["detail"],
                  f"the detail says to use https: {prob}")
            eq(get_over_tls(s).status, 200, "TLS still served")
    finally:
        t.close()


def client_hello():
    """The bytes of a real ClientHello (Python's ssl through memory BIOs)."""
    ctx = ssl._create_unverified_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


@timeout(30)
def test_tls_hello_on_a_plain_port_is_closed_without_an_answer():
    root = make_docroot()
    try:
        with Server(root) as s:
            hello = client_hello()
            check(hello[:1] == b"\x16", "a handshake record")
            with Conn(s) as c:
                c.send(hello)
                deadline = time.monotonic() + 5
                while not c.eof and c._recv_some(deadline):
                    pass
                eq(bytes(c.buf), b"", "nothing sent back in plain text")
                check(c.eof, "the connection is closed")
            # a hello trickled in pieces too (first the record's type alone)
            with Conn(s) as c:
                c.send(hello[:1])
                time.sleep(0.05)
                c.send(hello[1:])
                deadline = time.monotonic() + 5
                while not c.eof and c._recv_some(deadline):
                    pass
                eq(bytes(c.buf), b"", "nothing sent back for a trickled hello")
            eq(get(s, "/").status, 200, "plain HTTP still served")
    finally:
        remove_tree(root)


REDIRECT_CONFIG = """\
access-log: off
tls-cert: a.crt
tls-key: a.key
hsts-max-age: 600
listen:
  - {address: "127.0.0.1:0", tls: false, https-redirect: true}
  - {address: "127.0.0.1:0"}
locations:
  /: {return: {status: 200, body: "secure\\n"}}
"""


@timeout(60)
def test_https_redirect_308_keeps_the_method_and_hsts_only_over_tls():
    d, path = config_dir(REDIRECT_CONFIG)
    try:
        make_cert(d, "a", "a.example", ["DNS:localhost", "IP:127.0.0.1"])
        with ConfigServer(path, listen=None, listeners=2) as s:
            plain, secure = s.addrs[0][1], s.addrs[1][1]
            check("http://127.0.0.1" in s.stderr and "https://127.0.0.1" in s.stderr,
                  "one plain, one TLS listener")
            for method in ("GET", "POST", "DELETE"):
                r = get(("127.0.0.1", plain), "/x/y?q=1", [("Host", "localhost:%d" % plain)],
                        method=method)
                check_status(r, 308, f"{method} on the plain listener")
                eq(r.header("location"), f"https://localhost:{secure}/x/y?q=1", "Location")
                check(not r.has("strict-transport-security"), "no HSTS over plain HTTP")
            code, body, head, _ = curl(["-L", "--cacert", os.path.join(d, "a.crt"), "-X", "POST",
                                        "-d", "x=1", f"http://127.0.0.1:{plain}/form"])
            eq((code, body), (200, b"secure\n"), "curl follows the 308 with its POST")
            check("strict-transport-security: max-age=600" in head.lower(),
                  f"HSTS over TLS: {head}")
    finally:
        remove_tree(d)


@timeout(30)
def test_handshake_timeout_closes_a_silent_connection():
    t = Tls()
    try:
        with Server(t.root, "--tls-cert", t.crt, "--tls-key", t.key,
                    "--tls-handshake-timeout", "0.5") as s:
            with Conn(s, timeout_s=10) as c:
                c.send(client_hello()[:20])  # half a hello, then nothing
                start = time.monotonic()
                deadline = start + 8
                while not c.eof and c._recv_some(deadline):
                    pass
                check(c.eof, "the server closed the connection")
                check(time.monotonic() - start < 6, "within a few seconds of the timeout")
            eq(get_over_tls(s).status, 200, "still serving")
    finally:
        t.close()


@timeout(60)
def test_session_resumption_by_ticket():
    t = Tls()
    try:
        with Server(t.root, "--tls-cert", t.crt, "--tls-key", t.key, threads=4) as s:
            sess = os.path.join(t.dir, "sess.pem")
            req = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            for proto in ("-tls1_3", "-tls1_2"):
                rc, out = s_client(s.port, proto, "-sess_out", sess, "-ign_eof", stdin=req)
                check("New," in out, f"{proto}: a full handshake first: {out[-500:]}")
                if proto == "-tls1_3":  # one ticket per full handshake, not OpenSSL's two
                    rc, out = s_client(s.port, proto, "-msg", "-ign_eof", stdin=req)
                    eq(out.count(", NewSessionTicket"), 1, "TLS 1.3 tickets sent")
                # several connections: they reach different workers, all resume
                for i in range(4):
                    rc, out = s_client(s.port, proto, "-sess_in", sess, "-ign_eof", stdin=req)
                    check("Reused," in out, f"{proto}: connection {i} resumed: {out[-500:]}")
            # a TLS 1.3 client uses a ticket once: each resumption gets a fresh
            # one, so a chain of connections resumes every time, not every other
            rc, out = s_client(s.port, "-tls1_3", "-sess_out", sess, "-ign_eof", stdin=req)
            for i in range(3):
                nxt = os.path.join(t.dir, f"sess{i}.pem")
                rc, out = s_client(s.port, "-tls1_3", "-msg", "-sess_in", sess, "-sess_out", nxt,
                                   "-ign_eof", stdin=req)
                check("Reused," in out, f"link {i} of the chain resumed: {out[-500:]}")
                eq(out.count(", NewSessionTicket"), 1, f"a new ticket on resumption {i}")
                sess = nxt
    finally:
        t.close()


@timeout(60)
def test_ticket_keys_rotate():
    t = Tls()
    try:
        with Server(t.root, "--tls-cert", t.crt, "--tls-key", t.key,
                    "--tls-ticket-rotate", "1") as s:
            sess = os.path.join(t.dir, "sess.pem")
            req = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            s_client(s.port, "-sess_out", sess, "-ign_eof", stdin=req)
            rc, out = s_client(s.port, "-sess_in", sess, "-ign_eof", stdin=req)
            check("Reused," in out, f"resumed within the period: {out[-400:]}")
            time.sleep(2.2)  # two periods: the ticket's key is gone
            rc, out = s_client(s.port, "-sess_in", sess, "-ign_eof", stdin=req)
            check("New," in out, f"a full handshake after two periods: {out[-400:]}")
        with Server(t.root, "--tls-cert", t.crt, "--tls-key", t.key,
                    "--tls-ticket-rotate", "0") as s:
            rc, out = s_client(s.port, "-sess_out", sess, "-ign_eof", stdin=req)
            rc, out = s_client(s.port, "-sess_in", sess, "-ign_eof", stdin=req)
            check("New," in out, f"no tickets with 0: {out[-400:]}")
    finally:
        t.close()


@timeout(60)
def test_sighup_reloads_certificates_and_keeps_connections():
    d, path = config_dir()
    try:
        make_cert(d, "a", "first.example", ["DNS:localhost", "IP:127.0.0.1"])
        conf = ("access-log: off\ntls-cert: a.crt\ntls-key: a.key\n"
                "locations:\n  /: {return: {status: 200, body: \"ok\\n\"}}\n")
        write_config(path, conf)
        with ConfigServer(path) as s:
            rc, out = s_client(s.port, "-servername", "localhost")
            check("CN = first.example" in out, "the first certificate")
            sess = os.path.join(d, "sess.pem")
            req = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            s_client(s.port, "-sess_out", sess, "-ign_eof", stdin=req)
            kept = tls_conn(s, "localhost")
            eq(tls_exchange(kept, build_request("GET", "/", [("Host", "localhost")]))[0].status,
               200, "a keep-alive connection before the reload")
            make_cert(d, "a", "second.example", ["DNS:localhost", "IP:127.0.0.1"])
            s.reloads = 1  # the server is serving: no plain OPTIONS probe on a TLS port
            s.reload()
            rc, out = s_client(s.port, "-servername", "localhost")
            check("CN = second.example" in out, f"a new connection gets the new one: {out[:600]}")
            rc, out = s_client(s.port, "-sess_in", sess, "-ign_eof", stdin=req)
            check("Reused," in out, f"a ticket from before the reload still resumes: {out[-400:]}")
            eq(tls_exchange(kept, build_request("GET", "/", [("Host", "localhost")]))[0].status,
               200, "the connection opened before the reload goes on")
            kept.close()
            # a broken key refuses the reload and keeps the running certificates
            with open(os.path.join(d, "a.key"), "w") as f:
                f.write("not a key\n")
            line = s.reload(expect_ok=False)
            check("a.key" in line, f"the refusal names the file: {line}")
            rc, out = s_client(s.port, "-servername", "localhost")
            check("CN = second.example" in out, "the running certificate is kept")
    finally:
        remove_tree(d)


def run_ok(argv, what):
    p = subprocess.run(argv, capture_output=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError(f"{what} failed: {p.stderr.decode()}")


@timeout(60)
def test_ocsp_response_stapled_from_a_file():
    if not have_openssl():
        skip("openssl is not installed")
    d = tempfile.mkdtemp(prefix="nxx-it-ocsp-")
    root = make_docroot()
    try:
        j = lambda n: os.path.join(d, n)  # noqa: E731
        run_ok(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", j("ca.key"), "-out", j("ca.crt"), "-days", "2",
                "-subj", "/CN=test-ca"], "the CA")
        run_ok(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", j("leaf.key"), "-out", j("leaf.csr"), "-subj", "/CN=localhost"], "a CSR")
        with open(j("ext"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        run_ok(["openssl", "x509", "-req", "-in", j("leaf.csr"), "-CA", j("ca.crt"), "-CAkey",
                j("ca.key"), "-set_serial", "0x1234", "-days", "2", "-extfile", j("ext"),
                "-out", j("leaf.crt")], "the certificate")
        with open(j("index.txt"), "w") as f:
            f.write("V\t301231235959Z\t\t1234\tunknown\t/CN=localhost\n")
        run_ok(["openssl", "ocsp", "-index", j("index.txt"), "-rsigner", j("ca.crt"), "-rkey",
                j("ca.key"), "-CA", j("ca.crt"), "-issuer", j("ca.crt"), "-cert", j("leaf.crt"),
                "-respout", j("resp.der"), "-ndays", "1"], "the OCSP response")
        with Server(root, "--tls-cert", j("leaf.crt"), "--tls-key", j("leaf.key"),
                    "--tls-ocsp", j("resp.der")) as s:
            rc, out = s_client(s.port, "-status", "-CAfile", j("ca.crt"))
            check("OCSP Response Status: successful" in out and "Cert Status: good" in out,
                  f"the stapled response: {out[:1500]}")
        # a file that is not an OCSP response is refused at start
        with open(j("bad.der"), "wb") as f:
            f.write(b"not DER")
        p = subprocess.run([s.argv[0], "serve", root, "--listen", "127.0.0.1:0", "--tls-cert",
                            j("leaf.crt"), "--tls-key", j("leaf.key"), "--tls-ocsp", j("bad.der")],
                           capture_output=True, timeout=10)
        check(p.returncode != 0 and b"not an OCSP response" in p.stderr,
              f"a broken response refused: {p.returncode} {p.stderr!r}")
    finally:
        remove_tree(d)
        remove_tree(root)


@timeout(60)
def test_early_data_safe_methods_served_unsafe_425_and_no_replay():
    t = Tls()
    try:
        with Server(t.root, "--tls-cert", t.crt, "--tls-key", t.key,
                    "--tls-early-data", "8192") as s:
            get_req = os.path.join(t.dir, "get.txt")
            post_req = os.path.join(t.dir, "post.txt")
            with open(get_req, "wb") as f:
                f.write(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            with open(post_req, "wb") as f:
                f.write(b"POST /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n"
                        b"Accept: application/problem+json\r\nConnection: close\r\n\r\n")
            sess = os.path.join(t.dir, "sess.pem")

            def fresh_session():
                with open(get_req, "rb") as f:
                    s_client(s.port, "-sess_out", sess, "-ign_eof", stdin=f.read())

            fresh_session()
            rc, out = s_client(s.port, "-sess_in", sess, "-early_data", get_req, "-ign_eof")
            check("Early data was accepted" in out, f"0-RTT accepted: {out[-600:]}")
            check("HTTP/1.1 200 OK" in out, f"a GET in early data is served: {out[-600:]}")
            # the same session's early data again: OpenSSL's anti-replay refuses it (the
            # request then goes after the handshake)
            with open(get_req, "rb") as f:
                rc, out = s_client(s.port, "-sess_in", sess, "-early_data", get_req, "-ign_eof",
                                   stdin=f.read())
            check("Early data was rejected" in out, f"a replay is not accepted: {out[-600:]}")
            fresh_session()
            rc, out = s_client(s.port, "-sess_in", sess, "-early_data", post_req, "-ign_eof")
            check("Early data was accepted" in out, "the POST went as early data")
            check("HTTP/1.1 425 Too Early" in out, f"a POST in early data gets 425: {out[-800:]}")
            check("early data" in out and "application/problem+json" in out,
                  "with a problem body that says why")
            # the same POST after the handshake is an ordinary request
            with open(post_req, "rb") as f:
                rc, out = s_client(s.port, "-ign_eof", stdin=f.read())
            check("HTTP/1.1 405" in out, f"not early: the usual answer: {out[-600:]}")
        with Server(t.root, "--tls-cert", t.crt, "--tls-key", t.key) as s:
            fresh_session()
            with open(get_req, "rb") as f:  # sent again after the handshake
                rc, out = s_client(s.port, "-sess_in", sess, "-early_data", get_req, "-ign_eof",
                                   stdin=f.read())
            check("Early data was accepted" not in out, f"off by default: {out[-600:]}")
            check("HTTP/1.1 200 OK" in out, f"the request is served after the handshake: {out}")
    finally:
        t.close()


MTLS_CONFIG = """\
access-log: off
tls-cert: srv.crt
tls-key: srv.key
tls-client-ca: ca.crt
tls-client-verify: {verify}
locations:
  /: {{return: {{status: 200, body: "open\\n"}}}}
  /private: {{return: {{status: 200, body: "private\\n"}}, client-cert: true}}
"""


@timeout(60)
def test_client_certificates_per_location_403_or_refused_in_the_handshake():
    if not have_openssl():
        skip("openssl is not installed")
    d, path = config_dir(MTLS_CONFIG.format(verify="optional"))
    try:
        j = lambda n: os.path.join(d, n)  # noqa: E731
        run_ok(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", j("ca.key"), "-out", j("ca.crt"), "-days", "2",
                "-subj", "/CN=client-ca"], "the CA")
        run_ok(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", j("client.key"), "-out", j("client.csr"), "-subj", "/CN=alice"],
               "a CSR")
        run_ok(["openssl", "x509", "-req", "-in", j("client.csr"), "-CA", j("ca.crt"), "-CAkey",
                j("ca.key"), "-set_serial", "7", "-days", "2", "-out", j("client.crt")],
               "the client certificate")
        make_cert(d, "srv", "localhost", ["DNS:localhost", "IP:127.0.0.1"])
        make_cert(d, "rogue", "mallory", ["DNS:mallory"])  # self-signed: not from the CA
        url = lambda p: ["--cacert", j("srv.crt"), "https://localhost:%d%s" % (s.port, p),  # noqa
                         "--resolve", "localhost:%d:127.0.0.1" % s.port]
        with ConfigServer(path) as s:
            code, body, _, _ = curl(url("/"))
            eq((code, body), (200, b"open\n"), "a location without client-cert")
            code, body, head, _ = curl(["-H", "Accept: application/problem+json"] +
                                       url("/private"))
            eq(code, 403, "no client certificate")
            prob = json.loads(body)
            check("client certificate" in prob["detail"], f"the detail says why: {prob}")
            code, body, _, _ = curl(["--cert", j("client.crt"), "--key", j("client.key")] +
                                    url("/private"))
            eq((code, body), (200, b"private\n"), "with a certificate from the CA")
            p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                "--cert", j("rogue.crt"), "--key", j("rogue.key")] + url("/"),
                               capture_output=True, timeout=20)
            check(p.stdout != b"200", f"a certificate from another CA fails the handshake: {p}")
        write_config(path, MTLS_CONFIG.format(verify="require"))
        with ConfigServer(path) as s:
            p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}"] + url("/"),
                               capture_output=True, timeout=20)
            check(p.returncode != 0 and p.stdout in (b"000", b""),
                  f"require: no certificate, no handshake: {p}")
            code, body, _, _ = curl(["--cert", j("client.crt"), "--key", j("client.key")] +
                                    url("/"))
            eq((code, body), (200, b"open\n"), "require: with a certificate")
    finally:
        remove_tree(d)


def read_to_eof(sock, limit_s=10.0):
    buf = bytearray()
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            break
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


@timeout(60)
def test_over_max_connections_a_tls_client_reads_its_503():
    t = Tls()
    try:
        with Server(t.root, "--tls-cert", t.crt, "--tls-key", t.key, "--max-connections", "1",
                    threads=1) as s:
            held = tls_conn(s)
            try:
                r = tls_exchange(held, build_request("GET", "/a.txt"))[0]
                check_status(r, 200, "the one connection allowed")
                # the next one is over the limit: a handshake (HTTP/1.1 even when the
                # client prefers h2), its request read, then 503 and a close
                for alpn in (["h2", "http/1.1"], None):
                    over = tls_conn(s, alpn=alpn)
                    try:
                        if alpn:
                            eq(over.selected_alpn_protocol(), "http/1.1",
                               "a refused connection is offered HTTP/1.1 only")
                        over.sendall(build_request("GET", "/a.txt"))
                        data = read_to_eof(over)
                    finally:
                        over.close()
                    resps, _ = parse_responses(data, eof=True)
                    check(resps, f"a 503 over TLS, not a bare close: {data!r}")
                    eq(len(resps), 1, "one response, then the close")
                    check_status(resps[0], 503, "over max-connections on a TLS listener")
                    ra = resps[0].header("retry-after") or ""
                    check(ra.isdigit(), f"503 without a delay-seconds Retry-After: {ra!r}")
                    eq(resps[0].header("content-type"), "application/problem+json",
                       "a problem body")
                    eq(json.loads(resps[0].body)["status"], 503, "the problem's status")
                # curl with h2 preferred reads it too
                code, body, head, err = curl(["--cacert", t.crt, "--http2",
                                              f"https://127.0.0.1:{s.port}/a.txt"])
                eq(code, 503, f"curl over the limit: {err[-300:]}")
                # the held connection still works
                r = tls_exchange(held, build_request("GET", "/a.txt"))[0]
                check_status(r, 200, "the held connection after the refusals")
            finally:
                held.close()
            # capacity comes back once the held connection is closed
            deadline, code = time.monotonic() + 5, 0
            while time.monotonic() < deadline and code != 200:
                code, _, _, _ = curl(["--cacert", t.crt, f"https://127.0.0.1:{s.port}/a.txt"])
            eq(code, 200, "served again after the held connection closed")
        # tls-refusals 0: closed without a handshake's answer, as before
        with Server(t.root, "--tls-cert", t.crt, "--tls-key", t.key, "--max-connections", "1",
                    "--tls-refusals", "0", threads=1) as s:
            held = tls_conn(s)
            try:
                tls_exchange(held, build_request("GET", "/a.txt"))
                try:
                    over = tls_conn(s)
                    over.sendall(build_request("GET", "/a.txt"))
                    data = read_to_eof(over)
                    over.close()
                except (ssl.SSLError, OSError):
                    data = b""
                eq(data, b"", "with tls-refusals 0 the connection is closed unanswered")
            finally:
                held.close()
    finally:
        t.close()


@timeout(60)
def test_big_responses_to_a_slow_reader_arrive_whole():
    # a small receive window and a late reader: the server's socket fills in
    # the middle of a batch of records, and what it did not take must follow
    # in order, for two pipelined responses
    t = Tls()
    try:
        with Server(t.root, "--tls-cert", t.crt, "--tls-key", t.key) as s:
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
            raw.settimeout(10)
            raw.connect(("127.0.0.1", s.port))
            sock = ssl._create_unverified_context().wrap_socket(raw, server_hostname="localhost")
            try:
                sock.sendall(build_request("GET", "/big.bin") +
                             build_request("GET", "/big.bin", headers={"Connection": "close"}))
                time.sleep(0.3)
                data = read_to_eof(sock, 30)
            finally:
                sock.close()
            resps, _ = parse_responses(data, eof=True)
            eq(len(resps), 2, "two responses")
            for i, r in enumerate(resps):
                check_status(r, 200, f"response {i}")
                check(r.body == BIG, f"response {i}: the whole file in order "
                      f"({len(r.body)} of {len(BIG)} bytes)")
    finally:
        t.close()
