"""WebDAV (`nxx serve DIR --dav`, and `dav:` locations in a file): each status
the handler sends, in the situation RFC 4918, RFC 4331 and RFC 5842 give it,
checked through raw requests and the files left on disk."""

import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

from harness import (ConfigServer, Conn, Server, build_request, census_note_multistatus, check,
                     check_status, config_dir, eq, parse_response, shared, skip, temp_dir)

D = "{DAV:}"
LOCKINFO = (b'<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
            b'<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>'
            b'<D:owner>tests</D:owner></D:lockinfo>')


def new_root(files=None):
    root = temp_dir("nxx-it-dav-")
    for rel, data in (files or {}).items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return root


_root = None


def srv():
    global _root
    if _root is None:
        _root = new_root({"a.txt": b"hello\n", "dir/b.txt": b"bee\n"})
    return shared("nxx serve --dav", lambda: Server(_root, "--dav"))


def req(server, method, path, headers=None, body=b""):
    with Conn(server, 10) as c:
        return c.request(method, path, headers=headers, body=body)


def multistatus(resp):
    check(resp.content_type == "application/xml", f"a 207 is XML: {resp!r}")
    return ET.fromstring(resp.body)


def statuses(tree):
    codes = [e.text.split()[1] for e in tree.iter(D + "status")]
    for c in codes:
        census_note_multistatus(int(c))
    return codes


def test_options_advertises_dav_classes():
    r = req(srv(), "OPTIONS", "/")
    check_status(r, 200)
    eq([t.strip() for t in r.header("dav").split(",")], ["1", "2", "3", "bind"], "DAV")
    eq(r.header("ms-author-via"), "DAV", "MS-Author-Via")
    check("PROPFIND" in r.header("allow") and "LOCK" in r.header("allow"), r.header("allow"))


def test_propfind_depth1_multistatus_with_live_properties():
    r = req(srv(), "PROPFIND", "/", {"Depth": "1"})
    check_status(r, 207)
    t = multistatus(r)
    hrefs = sorted(e.text for e in t.iter(D + "href"))
    check("/a.txt" in hrefs and "/dir/" in hrefs and "/" in hrefs, f"hrefs {hrefs}")
    for resp in t.iter(D + "response"):
        if resp.find(D + "href").text == "/a.txt":
            eq(resp.find(f".//{D}getcontentlength").text, "6", "getcontentlength")
            check(resp.find(f".//{D}getetag").text.startswith('"'), "a strong ETag")
    check(not any(".nxx-dav" in h for h in hrefs), "the database is hidden")


def test_propfind_depth_infinity_refused_with_precondition():
    r = req(srv(), "PROPFIND", "/", {"Depth": "infinity"})
    check_status(r, 403)
    check(b"propfind-finite-depth" in r.body, f"DAV:propfind-finite-depth in {r.body!r}")


def test_propfind_malformed_and_doctype_bodies_get_400():
    r = req(srv(), "PROPFIND", "/", {"Depth": "0"}, b"<D:propfind xmlns:D='DAV:'><D:prop>")
    check_status(r, 400, "unclosed XML")
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<D:propfind xmlns:D="DAV:"><D:prop><x>&b;</x></D:prop></D:propfind>')
    r = req(srv(), "PROPFIND", "/", {"Depth": "0"}, bomb)
    check_status(r, 400, "a DOCTYPE with entities")
    check(b"DOCTYPE" in r.body, f"the problem names the DOCTYPE: {r.body!r}")
    check_status(req(srv(), "OPTIONS", "/"), 200, "the server after hostile XML")


def test_proppatch_all_or_nothing_424():
    body = (b'<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z">'
            b'<D:set><D:prop><Z:color>red</Z:color><D:getetag>x</D:getetag></D:prop></D:set>'
            b'</D:propertyupdate>')
    r = req(srv(), "PROPPATCH", "/a.txt", None, body)
    check_status(r, 207)
    codes = statuses(multistatus(r))
    check("424" in codes and "403" in codes, f"statuses {codes}")
    r = req(srv(), "PROPFIND", "/a.txt", {"Depth": "0"},
            b'<D:propfind xmlns:D="DAV:"><D:prop><Z:color xmlns:Z="urn:z"/></D:prop></D:propfind>')
    eq(statuses(multistatus(r)), ["404"], "the dead property was not set")
    ok = (b'<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop>'
          b'<Z:color>blue</Z:color></D:prop></D:set></D:propertyupdate>')
    check_status(req(srv(), "PROPPATCH", "/a.txt", None, ok), 207)
    r = req(srv(), "PROPFIND", "/a.txt", {"Depth": "0"},
            b'<D:propfind xmlns:D="DAV:"><D:prop><Z:color xmlns:Z="urn:z"/></D:prop></D:propfind>')
    check(b">blue<" in r.body, f"stored: {r.body!r}")


def test_mkcol_statuses():
    check_status(req(srv(), "MKCOL", "/newcol"), 201, "MKCOL")
    check(os.path.isdir(os.path.join(_root, "newcol")), "the directory exists")
    check_status(req(srv(), "MKCOL", "/newcol"), 405, "MKCOL of an existing collection")
    check_status(req(srv(), "MKCOL", "/missing/child"), 409, "MKCOL without a parent")
    r = req(srv(), "MKCOL", "/withbody", {"Content-Type": "text/plain"}, b"x")
    check_status(r, 415, "MKCOL with a body")


def test_put_statuses_and_content():
    check_status(req(srv(), "PUT", "/p.txt", None, b"one"), 201, "PUT new")
    check_status(req(srv(), "PUT", "/p.txt", None, b"two!"), 204, "PUT replace")
    with open(os.path.join(_root, "p.txt"), "rb") as f:
        eq(f.read(), b"two!", "content on disk")
    r = req(srv(), "GET", "/p.txt")
    check_status(r, 200)
    eq(r.body, b"two!", "GET right after the PUT")
    check_status(req(srv(), "PUT", "/nope/p.txt", None, b"x"), 409, "PUT without a parent")
    left = [n for n in os.listdir(_root) if n.startswith(".nxx-dav-put")]
    eq(left, [], "temporary files left")


def test_copy_move_overwrite_and_foreign_destination():
    s = srv()
    check_status(req(s, "PUT", "/c1.txt", None, b"c1"), 201)
    dest = f"http://127.0.0.1:{s.port}/c2.txt"
    r = req(s, "COPY", "/c1.txt", {"Destination": dest, "Host": f"127.0.0.1:{s.port}"})
    check_status(r, 201, "COPY to a new name")
    r = req(s, "COPY", "/c1.txt", {"Destination": dest, "Host": f"127.0.0.1:{s.port}",
                                   "Overwrite": "F"})
    check_status(r, 412, "COPY onto an existing resource with Overwrite: F")
    r = req(s, "MOVE", "/c1.txt", {"Destination": dest, "Host": f"127.0.0.1:{s.port}"})
    check_status(r, 204, "MOVE replacing")
    check(not os.path.exists(os.path.join(_root, "c1.txt")), "the source is gone")
    r = req(s, "COPY", "/c2.txt", {"Destination": "http://elsewhere.example/c3.txt",
                                   "Host": f"127.0.0.1:{s.port}"})
    check_status(r, 502, "a Destination on another server")


def test_delete_collection():
    s = srv()
    check_status(req(s, "MKCOL", "/gone"), 201)
    check_status(req(s, "PUT", "/gone/x.txt", None, b"x"), 201)
    check_status(req(s, "DELETE", "/gone"), 204)
    check(not os.path.exists(os.path.join(_root, "gone")), "deleted with its members")
    check_status(req(s, "DELETE", "/gone"), 404)


def _lock(s, path):
    r = req(s, "LOCK", path, {"Timeout": "Second-60"}, LOCKINFO)
    check_status(r, (200, 201), "LOCK")
    token = r.header("lock-token").strip("<>")
    check(token.startswith("urn:uuid:"), f"token {token}")
    return r, token


def test_lock_423_then_token_412_and_unlock():
    s = srv()
    r, token = _lock(s, "/locked.txt")
    eq(r.status, 201, "LOCK of an unmapped URL creates it")
    r = req(s, "PUT", "/locked.txt", None, b"x")
    check_status(r, 423, "PUT without the token")
    check(b"lock-token-submitted" in r.body, f"DAV:lock-token-submitted: {r.body!r}")
    r = req(s, "PUT", "/locked.txt", {"If": "(<urn:uuid:00000000-0000-4000-8000-000000000000>)"},
            b"x")
    check_status(r, 412, "a false If")
    r = req(s, "PUT", "/locked.txt", {"If": f"(<{token}>)"}, b"mine")
    check_status(r, 204, "PUT with the token")
    check_status(req(s, "UNLOCK", "/locked.txt", {"Lock-Token": f"<{token}>"}), 204, "UNLOCK")
    check_status(req(s, "PUT", "/locked.txt", None, b"free"), 204, "PUT after UNLOCK")


def test_quota_507_leaves_nothing():
    root = new_root()
    with Server(root, "--dav", "--dav-quota", "1000") as s:
        r = req(s, "PUT", "/big.bin", None, b"x" * 2000)
        check_status(r, 507, "PUT over the quota (Content-Length)")
        check(b"quota-not-exceeded" in r.body, f"DAV:quota-not-exceeded: {r.body!r}")
        check_status(req(s, "PUT", "/small.bin", None, b"x" * 600), 201)
        r = req(s, "PUT", "/more.bin", {"Transfer-Encoding": "chunked"},
                b"258\r\n" + b"y" * 600 + b"\r\n0\r\n\r\n")
        check_status(r, 507, "chunked PUT that crosses the quota")
        r = req(s, "PROPFIND", "/", {"Depth": "0"},
                b'<D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/>'
                b'<D:quota-available-bytes/></D:prop></D:propfind>')
        t = multistatus(r)
        eq(t.find(f".//{D}quota-used-bytes").text, "600", "quota-used-bytes")
        eq(t.find(f".//{D}quota-available-bytes").text, "400", "quota-available-bytes")
    eq(sorted(n for n in os.listdir(root) if not n.startswith(".nxx-dav.db")), ["small.bin"],
       "files left after the refused uploads")


def _loop_server():
    root = new_root({"top/f.txt": b"f"})
    os.symlink("..", os.path.join(root, "top", "back"))
    d, path = config_dir(f"locations:\n  /:\n    dav:\n      root: {root}\n"
                         f"      depth-infinity: true\n")
    return ConfigServer(path)


def test_loop_508_and_208_for_bind_clients():
    with _loop_server() as s:
        r = req(s, "PROPFIND", "/", {"Depth": "infinity"})
        check_status(r, 508, "a cycle for a client without bindings")
        r = req(s, "PROPFIND", "/", {"Depth": "infinity", "DAV": "bind"})
        check_status(r, 207, "the same walk for a client that understands bindings")
        codes = statuses(multistatus(r))
        check("208" in codes, f"208 Already Reported among {codes}")


def test_long_copy_sends_102_processing_and_leaves_the_loop_free():
    files = {f"tree/d{i % 10}/f{i}.txt": b"x" * 100 for i in range(300)}
    root = new_root(files)
    d, path = config_dir(f"locations:\n  /:\n    dav:\n      root: {root}\n"
                         f"      processing-delay: 0.01\n")
    with ConfigServer(path, threads=1) as s:
        with Conn(s, 60) as c, Conn(s, 10) as other:
            c.send(build_request("COPY", "/tree", [("Destination", "/copy")]))
            # one worker: it answers another client while the copy runs
            c._recv_some(time.monotonic() + 0.05)
            r2 = other.request("OPTIONS", "/")
            check_status(r2, 200, "a request beside the copy")
            c._recv_some(time.monotonic() + 0.01)
            check(parse_response(c.buf, 0, "COPY") is None,
                  "the other request was answered while the copy still ran")
            r = c.read_response("COPY", timeout_s=60)
        check_status(r, 201, "the COPY")
        check(any(i.status == 102 for i in r.interim),
              f"102 Processing before the answer: interim {[i.status for i in r.interim]}")
        eq(len(os.listdir(os.path.join(root, "copy", "d3"))), 30, "files copied")
        # HTTP/1.0 clients never get an interim response
        with Conn(s, 60) as c:
            c.send(build_request("DELETE", "/copy", version="HTTP/1.0"))
            r = c.read_response("DELETE", timeout_s=60)
        check_status(r, 204, "DELETE of the copy")
        eq([i.status for i in r.interim], [], "interim responses to HTTP/1.0")


def _bind_body(kind, segment, href=None):
    h = f"<D:href>{href}</D:href>" if href else ""
    return (f'<?xml version="1.0"?><D:{kind} xmlns:D="DAV:"><D:segment>{segment}</D:segment>'
            f'{h}</D:{kind}>').encode()


def _resource_id(s, path):
    r = req(s, "PROPFIND", path, {"Depth": "0"},
            b'<D:propfind xmlns:D="DAV:"><D:prop><D:resource-id/></D:prop></D:propfind>')
    check_status(r, 207, f"PROPFIND resource-id of {path}")
    return multistatus(r).find(f".//{D}resource-id/{D}href").text


def test_bind_unbind_rebind():
    root = new_root({"docs/a.txt": b"first", "other/keep.txt": b"k"})
    d, path = config_dir(f"locations:\n  /:\n    dav:\n      root: {root}\n"
                         f"      depth-infinity: true\n")
    with ConfigServer(path) as s:
        check("bind" in req(s, "OPTIONS", "/").tokens("dav"), "OPTIONS advertises bind")
        # a second binding of a file is the same resource
        check_status(req(s, "BIND", "/other/", None, _bind_body("bind", "b.txt", "/docs/a.txt")),
                     201, "BIND of a file")
        check_status(req(s, "PUT", "/other/b.txt", None, b"written through b"), 204)
        eq(req(s, "GET", "/docs/a.txt").body, b"written through b", "seen through the other name")
        eq(_resource_id(s, "/docs/a.txt"), _resource_id(s, "/other/b.txt"), "one resource-id")
        r = req(s, "BIND", "/other/", {"Overwrite": "F"},
                _bind_body("bind", "b.txt", "/docs/a.txt"))
        check_status(r, 412, "BIND onto an existing binding with Overwrite: F")
        # a collection bound twice is listed once for a client that knows bindings
        check_status(req(s, "BIND", "/other/", None, _bind_body("bind", "docs2", "/docs/")), 201,
                     "BIND of a collection")
        r = req(s, "PROPFIND", "/", {"Depth": "infinity", "DAV": "bind"})
        check_status(r, 207)
        codes = statuses(multistatus(r))
        check("208" in codes, f"208 for the collection reached again: {codes}")
        r = req(s, "PROPFIND", "/", {"Depth": "infinity"})
        check_status(r, 207, "no loop, only a second path: listed for other clients")
        # REBIND moves a binding; UNBIND removes one and leaves the resource
        check_status(req(s, "REBIND", "/other/", None,
                         _bind_body("rebind", "c.txt", "/other/b.txt")), 201, "REBIND")
        check_status(req(s, "GET", "/other/b.txt"), 404, "the old binding is gone")
        check_status(req(s, "UNBIND", "/other/", None, _bind_body("unbind", "c.txt")), 200,
                     "UNBIND")
        check_status(req(s, "GET", "/docs/a.txt"), 200, "the resource keeps its other binding")
        check_status(req(s, "UNBIND", "/other/", None, _bind_body("unbind", "nothing")), 404)
        check_status(req(s, "BIND", "/other/", None, _bind_body("bind", "x", "/missing")), 409)


def test_locks_survive_a_restart():
    root = new_root({"keep.txt": b"k"})
    with Server(root, "--dav") as s:
        _, token = _lock(s, "/keep.txt")
    with Server(root, "--dav") as s:
        check_status(req(s, "PUT", "/keep.txt", None, b"x"), 423, "still locked after a restart")
        r = req(s, "PUT", "/keep.txt", {"If": f"(<{token}>)"}, b"mine")
        check_status(r, 204, "the token still works")
        check_status(req(s, "UNLOCK", "/keep.txt", {"Lock-Token": f"<{token}>"}), 204)
    with Server(root, "--dav") as s:
        check_status(req(s, "PUT", "/keep.txt", None, b"free"), 204, "unlocked for good")


def test_full_disk_507_leaves_nothing():
    if os.geteuid() != 0:
        skip("mounting a small tmpfs needs root")
    mnt = temp_dir("nxx-it-davfull-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt],
                       capture_output=True)
    if r.returncode != 0:
        skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        dbdir = new_root()
        d, path = config_dir(f"max-body-bytes: 8M\nlocations:\n  /:\n    max-body-bytes: 8M\n"
                             f"    dav:\n      root: {mnt}\n      db: {dbdir}/dav.db\n")
        with ConfigServer(path) as s:
            r = req(s, "PUT", "/big.bin", None, b"z" * (3 << 20))
            check_status(r, 507, "PUT that meets ENOSPC")
            check(b"quota-not-exceeded" in r.body, f"DAV:quota-not-exceeded: {r.body!r}")
            eq(os.listdir(mnt), [], "nothing partial left on the full disk")
            check_status(req(s, "PUT", "/small.txt", None, b"fits"), 201, "a PUT that fits")
    finally:
        subprocess.run(["umount", mnt], capture_output=True)


def test_delete_reports_the_members_it_could_not_remove():
    if os.geteuid() != 0 or not shutil.which("chattr"):
        skip("making a file undeletable (chattr +i) needs root")
    root = new_root({"col/stuck.txt": b"s", "col/free.txt": b"f", "col/sub/also.txt": b"a"})
    stuck = os.path.join(root, "col", "stuck.txt")
    if subprocess.run(["chattr", "+i", stuck], capture_output=True).returncode != 0:
        skip("this file system has no immutable files")
    try:
        with Server(root, "--dav") as s:
            r = req(s, "DELETE", "/col/")
            check_status(r, 207, "DELETE of a collection with an undeletable member")
            t = multistatus(r)
            eq([e.text for e in t.iter(D + "href")], ["/col/stuck.txt"], "reported members")
            eq(statuses(t), ["403"], "its status")
            eq(sorted(os.listdir(os.path.join(root, "col"))), ["stuck.txt"], "what stayed")
    finally:
        subprocess.run(["chattr", "-i", stuck], capture_output=True)
