"""WebDAV (`nxx serve DIR --dav`, and `dav:` locations in a file): each status
the handler sends, in the situation RFC 4918, RFC 4331 and RFC 5842 give it,
checked through raw requests and the files left on disk."""

import os
import shutil
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

from harness import (NXX_BIN, ConfigServer, Conn, Server, build_request, census_note_multistatus,
                     check, check_status, config_dir, eq, parse_response, shared, skip, temp_dir)

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


def _crash(s):
    """SIGKILL: no drain, no close of the database (a crash of nxx)."""
    s.signal(signal.SIGKILL)
    s.wait()


def test_locks_survive_a_crash_of_nxx():
    # sync: data writes a lock's row to the database's log before the answer,
    # unsynced: a kill -9 right after the answer keeps it (only a crash of
    # the machine could lose it), and keeps an UNLOCK and a refresh too
    root = new_root({"k.txt": b"k", "u.txt": b"u"})
    s = Server(root, "--dav").start()
    try:
        r, token = _lock(s, "/k.txt")
        check(b"<D:owner>tests</D:owner>" in r.body, f"the owner in the answer: {r.body!r}")
        _, gone = _lock(s, "/u.txt")
        check_status(req(s, "UNLOCK", "/u.txt", {"Lock-Token": f"<{gone}>"}), 204)
        r = req(s, "LOCK", "/k.txt", {"If": f"(<{token}>)", "Timeout": "Second-3000"})
        check_status(r, 200, "a refresh")
    finally:
        _crash(s)
    with Server(root, "--dav") as s:
        check_status(req(s, "PUT", "/k.txt", None, b"x"), 423, "still locked after kill -9")
        r = req(s, "PROPFIND", "/k.txt", {"Depth": "0"},
                b'<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>')
        check(b"<D:owner>tests</D:owner>" in r.body, f"with its owner: {r.body!r}")
        t = multistatus(r).find(f".//{D}timeout").text
        check(int(t.split("-")[1]) > 60, f"and the refreshed timeout: {t}")
        check_status(req(s, "PUT", "/u.txt", None, b"x"), 204, "an UNLOCK before kill -9 stays")
        check_status(req(s, "UNLOCK", "/k.txt", {"Lock-Token": f"<{token}>"}), 204)


def test_lock_rows_synced_with_sync_full():
    root = new_root({"f.txt": b"f"})
    s = Server(root, "--dav", "--dav-sync", "full").start()
    try:
        _, token = _lock(s, "/f.txt")
    finally:
        _crash(s)
    with Server(root, "--dav", "--dav-sync", "full") as s:
        check_status(req(s, "PUT", "/f.txt", None, b"x"), 423, "locked after kill -9")
        check_status(req(s, "UNLOCK", "/f.txt", {"Lock-Token": f"<{token}>"}), 204)


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


def test_locks_survive_a_reload():
    # the lock table belongs to the root, not to a configuration generation
    root = new_root({"r.txt": b"r"})
    d, path = config_dir(f"locations:\n  /:\n    dav:\n      root: {root}\n")
    with ConfigServer(path) as s:
        with Conn(s, 10) as old:
            _, token = _lock(s, "/r.txt")
            s.reload()
            check_status(req(s, "PUT", "/r.txt", None, b"x"), 423,
                         "a PUT without the token after the reload")
            # a connection opened before the reload sees the same locks, those
            # taken since included
            check_status(old.request("PUT", "/r.txt", body=b"x"), 423,
                         "a PUT without the token on a connection from before the reload")
            _, token2 = _lock(s, "/new.txt")
            check_status(old.request("PUT", "/new.txt", body=b"x"), 423,
                         "a lock taken after the reload, seen from a connection before it")
            _, token3 = _lock(s, "/gone.txt")
            check_status(req(s, "UNLOCK", "/gone.txt", {"Lock-Token": f"<{token3}>"}), 204)
            check_status(old.request("PUT", "/gone.txt", body=b"x"), 204,
                         "an UNLOCK after the reload, seen from a connection before it")
        # a LOCK that arrives before a reload and completes after it
        with Conn(s, 10) as slow:
            head = build_request("LOCK", "/slow.txt", [("Timeout", "Second-60"),
                                                       ("Expect", "100-continue"),
                                                       ("Content-Length", str(len(LOCKINFO)))])
            slow.send(head)
            # the 100 says the head was routed: the request has its generation
            r = slow.read_response("LOCK", interim=False)
            eq(r.status, 100, "100 Continue")
            s.reload()
            slow.send(LOCKINFO)
            r = slow.read_response("LOCK")
            check_status(r, 201, "the LOCK that straddled the reload")
            token4 = r.header("lock-token").strip("<>")
        check_status(req(s, "PUT", "/slow.txt", None, b"x"), 423,
                     "the lock taken by a request of the old generation, after the reload")
        check_status(req(s, "UNLOCK", "/slow.txt", {"Lock-Token": f"<{token4}>"}), 204)
        s.reload()
        check_status(req(s, "PUT", "/r.txt", {"If": f"(<{token}>)"}, b"mine"), 204,
                     "the token still works after two reloads")
        check_status(req(s, "PUT", "/new.txt", None, b"x"), 423,
                     "a lock taken between the reloads")
        check_status(req(s, "UNLOCK", "/r.txt", {"Lock-Token": f"<{token}>"}), 204, "UNLOCK")
        check_status(req(s, "UNLOCK", "/new.txt", {"Lock-Token": f"<{token2}>"}), 204)
        s.reload()
        check_status(req(s, "PUT", "/r.txt", None, b"free"), 204, "unlocked across the reload")
    with open(os.path.join(root, "r.txt"), "rb") as f:
        eq(f.read(), b"free", "the content")


def test_get_sees_a_put_at_once():
    # GET's open-file cache looks at the disk again after every write
    s = srv()
    with Conn(s, 10) as a, Conn(s, 10) as b:
        for i in range(5):
            body = b"version %d\n" % i * (1 + i * 3000)
            check_status(a.request("PUT", "/fresh.bin", body=body), (201, 204), "PUT")
            r = b.request("GET", "/fresh.bin")
            check_status(r, 200, "GET on another connection")
            eq(r.body, body, f"the content just put (round {i})")
            eq(r.header("etag"), a.request("HEAD", "/fresh.bin").header("etag"), "ETag")
    check_status(req(s, "DELETE", "/fresh.bin"), 204)
    check_status(req(s, "GET", "/fresh.bin"), 404, "GET after DELETE")


def test_put_large_body_and_sync_modes():
    # a body read in large pieces arrives whole; each sync mode writes the same file
    body = os.urandom(3 * 1024 * 1024 + 17)
    for mode in ("data", "full", "none"):
        root = new_root()
        with Server(root, "--dav", "--dav-sync", mode, "--max-body-bytes", "8M") as s:
            r = req(s, "PUT", "/big.bin", None, body)
            check_status(r, 201, f"PUT with --dav-sync {mode}")
            with open(os.path.join(root, "big.bin"), "rb") as f:
                check(f.read() == body, f"the content on disk ({mode})")
            eq(r.header("etag"), req(s, "HEAD", "/big.bin").header("etag"),
               "the PUT's ETag is the file's")
            left = [n for n in os.listdir(root) if n.startswith(".nxx-dav-put.")]
            eq(left, [], "no temporary file left")


def test_dav_sync_refuses_an_unknown_mode():
    root = new_root()
    r = subprocess.run([NXX_BIN, "serve", root, "--dav-sync",
                        "sometimes", "--listen", "127.0.0.1:0"], capture_output=True, text=True,
                       timeout=10)
    check(r.returncode != 0, "refused")
    check("dav-sync" in r.stderr, f"the message names the flag: {r.stderr!r}")


def test_max_jobs_zero_runs_long_operations_on_the_worker():
    root = new_root({"t/a.txt": b"a", "t/b/c.txt": b"c"})
    d, path = config_dir(f"locations:\n  /:\n    dav:\n      root: {root}\n"
                         f"      max-jobs: 0\n")
    with ConfigServer(path) as s:
        check_status(req(s, "COPY", "/t", {"Destination": "/u"}), 201, "COPY")
        check_status(req(s, "MOVE", "/u", {"Destination": "/v"}), 201, "MOVE")
        check_status(req(s, "PUT", "/v/d.txt", None, b"d"), 201, "PUT")
        check_status(req(s, "DELETE", "/v"), 204, "DELETE")
        eq(sorted(n for n in os.listdir(root) if not n.startswith(".")), ["t"], "the tree")


def test_operations_beyond_max_jobs_wait_for_a_thread():
    # max-jobs 1: one job thread; the PUTs and COPYs of 6 clients at once
    # queue for it, and every one completes with what it wrote
    root = new_root({"t/a.txt": b"a", "t/b/c.txt": b"c"})
    d, path = config_dir(f"locations:\n  /:\n    dav:\n      root: {root}\n"
                         f"      max-jobs: 1\n")
    errors = []
    with ConfigServer(path, threads=1) as s:
        tasks0 = len(os.listdir(f"/proc/{s.proc.pid}/task"))

        def client(k):
            try:
                for i in range(5):
                    body = f"client {k} put {i}".encode() * 1000
                    r = req(s, "PUT", f"/p{k}-{i}.txt", None, body)
                    if r.status != 201:
                        errors.append(f"PUT {k}-{i}: {r.status}")
                r = req(s, "COPY", "/t", {"Destination": f"/c{k}"})
                if r.status != 201:
                    errors.append(f"COPY {k}: {r.status}")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(f"client {k}: {e}")
        ts = [threading.Thread(target=client, args=(k,)) for k in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        eq(errors, [], "every queued operation answered 2xx")
        for k in range(6):
            for i in range(5):
                with open(os.path.join(root, f"p{k}-{i}.txt"), "rb") as f:
                    eq(f.read(), f"client {k} put {i}".encode() * 1000, f"p{k}-{i}.txt")
            check(os.path.exists(os.path.join(root, f"c{k}", "b", "c.txt")), f"copy {k}")
        eq(len(os.listdir(f"/proc/{s.proc.pid}/task")), tasks0 + 1,
           "one job thread (max-jobs 1), kept after the operations")


def _parents(s, path):
    r = req(s, "PROPFIND", path, {"Depth": "0"},
            b'<D:propfind xmlns:D="DAV:"><D:prop><D:parent-set/></D:prop></D:propfind>')
    check_status(r, 207, f"PROPFIND parent-set of {path}")
    ps = multistatus(r).find(f".//{D}parent-set")
    check(ps is not None, f"a DAV:parent-set: {r.body!r}")
    return sorted((p.find(f"{D}href").text, p.find(f"{D}segment").text)
                  for p in ps.findall(f"{D}parent"))


def test_parent_set_lists_every_binding():
    # RFC 5842 §3.2: each binding as (the collection holding it, its segment)
    root = new_root({"docs/a.txt": b"a", "docs/only.txt": b"o", "other/keep.txt": b"k"})
    with Server(root, "--dav") as s:
        eq(_parents(s, "/docs/only.txt"), [("/docs/", "only.txt")], "a file bound once")
        eq(_parents(s, "/"), [], "the root is bound nowhere")
        check_status(req(s, "BIND", "/other/", None, _bind_body("bind", "b.txt", "/docs/a.txt")),
                     201)
        both = [("/docs/", "a.txt"), ("/other/", "b.txt")]
        eq(_parents(s, "/docs/a.txt"), both, "a file bound twice, asked through one name")
        eq(_parents(s, "/other/b.txt"), both, "the same through the other name")
        check_status(req(s, "BIND", "/", None, _bind_body("bind", "d2", "/docs/")), 201)
        eq(_parents(s, "/docs/"), [("/", "d2"), ("/", "docs")], "a collection bound twice")
        eq(_parents(s, "/d2/"), [("/", "d2"), ("/", "docs")], "through its second binding")
        r = req(s, "PROPFIND", "/docs/a.txt", {"Depth": "0"})
        check(b"parent-set" not in r.body, "not in allprop")
        r = req(s, "PROPPATCH", "/docs/a.txt", None,
                b'<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:parent-set/></D:prop>'
                b'</D:set></D:propertyupdate>')
        check_status(r, 207, "PROPPATCH of a live property")
        eq(statuses(multistatus(r)), ["403"], "parent-set is protected")


def test_copy_follows_symlinks_inside_the_root_and_reports_the_rest():
    root = new_root({"t/f.txt": b"file", "t/sub/g.txt": b"g", "elsewhere/h.txt": b"h"})
    outside = new_root({"secret.txt": b"s"})
    os.symlink("f.txt", os.path.join(root, "t", "to-file"))
    os.symlink("../elsewhere", os.path.join(root, "t", "to-dir"))
    os.symlink(os.path.join(outside, "secret.txt"), os.path.join(root, "t", "to-outside"))
    os.symlink("missing", os.path.join(root, "t", "dangling"))
    os.symlink("..", os.path.join(root, "t", "sub", "up"))
    with Server(root, "--dav") as s:
        r = req(s, "COPY", "/t", {"Destination": "/c"})
        check_status(r, 207, "COPY with members it could not copy")
        got = {}
        for resp in multistatus(r).iter(D + "response"):
            got[resp.find(D + "href").text] = resp.find(D + "status").text.split()[1]
        for code in got.values():
            census_note_multistatus(int(code))
        eq(got, {"/t/to-outside": "403", "/t/dangling": "404", "/t/sub/up": "508"},
           "the members not copied")
        c = os.path.join(root, "c")
        with open(os.path.join(c, "to-file"), "rb") as f:
            eq(f.read(), b"file", "a link to a file is copied as the file")
        check(not os.path.islink(os.path.join(c, "to-file")), "as a file, not a link")
        with open(os.path.join(c, "to-dir", "h.txt"), "rb") as f:
            eq(f.read(), b"h", "a link to a collection is copied as the collection")
        with open(os.path.join(c, "sub", "g.txt"), "rb") as f:
            eq(f.read(), b"g", "the rest is copied")
        check(not os.path.lexists(os.path.join(c, "to-outside")), "nothing from outside the root")
        check_status(req(s, "COPY", "/t/f.txt", {"Destination": "/single.txt"}), 201,
                     "a plain COPY still answers 201")


def test_unbind_of_a_collections_first_binding_keeps_it_for_the_others():
    root = new_root({"docs/a.txt": b"a", "other/keep.txt": b"k"})
    with Server(root, "--dav") as s:
        check_status(req(s, "PROPPATCH", "/docs/", None,
                         b'<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop>'
                         b'<Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>'), 207)
        check_status(req(s, "BIND", "/", None, _bind_body("bind", "d2", "/docs/")), 201)
        check_status(req(s, "BIND", "/other/", None, _bind_body("bind", "d3", "/docs/")), 201)
        rid = _resource_id(s, "/docs/")
        check_status(req(s, "UNBIND", "/", None, _bind_body("unbind", "docs")), 200, "UNBIND")
        check_status(req(s, "GET", "/docs/a.txt"), 404, "the removed binding")
        eq(req(s, "GET", "/d2/a.txt").body, b"a", "the collection through a remaining binding")
        eq(req(s, "GET", "/other/d3/a.txt").body, b"a", "and through the third one")
        eq(_resource_id(s, "/d2/"), rid, "still the same resource")
        eq(_resource_id(s, "/other/d3/"), rid, "the same resource through the third binding")
        eq(_parents(s, "/d2/"), [("/", "d2"), ("/other/", "d3")], "its bindings now")
        r = req(s, "PROPFIND", "/d2/", {"Depth": "0"},
                b'<D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><Z:colour/></D:prop>'
                b'</D:propfind>')
        check(b"blue" in r.body, f"its dead properties followed it: {r.body!r}")
        # the last binding of a collection: unreachable, so removed with its members
        check_status(req(s, "UNBIND", "/other/", None, _bind_body("unbind", "d3")), 200)
        check_status(req(s, "UNBIND", "/", None, _bind_body("unbind", "d2")), 200)
        check_status(req(s, "PROPFIND", "/d2/", {"Depth": "0"}), 404, "gone with its last binding")
        eq(sorted(n for n in os.listdir(root) if not n.startswith(".")), ["other"], "the tree")


def _colour(s, path):
    r = req(s, "PROPFIND", path, {"Depth": "0"},
            b'<D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><Z:colour/></D:prop>'
            b'</D:propfind>')
    check_status(r, 207, f"PROPFIND of {path}")
    e = multistatus(r).find(".//{urn:z}colour")
    stat = multistatus(r).find(f".//{D}propstat/{D}status").text.split()[1]
    return e.text if e is not None and stat == "200" else None


def _set_colour(s, path, value):
    r = req(s, "PROPPATCH", path, None,
            b'<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:colour>' +
            value.encode() + b'</Z:colour></D:prop></D:set></D:propertyupdate>')
    check_status(r, 207, f"PROPPATCH of {path}")
    eq(statuses(multistatus(r)), ["200"], "set")


def test_dead_properties_belong_to_the_collection_not_the_path():
    root = new_root({"docs/a.txt": b"a"})
    with Server(root, "--dav") as s:
        _set_colour(s, "/docs/", "blue")
        check_status(req(s, "BIND", "/", None, _bind_body("bind", "d2", "/docs/")), 201)
        eq(_colour(s, "/d2/"), "blue", "a second binding of a collection shows its properties")
        _set_colour(s, "/d2/a.txt", "red")
        eq(_colour(s, "/docs/a.txt"), "red", "a member's, set through the second binding")
        r = req(s, "PROPFIND", "/d2/", {"Depth": "1"})
        check(b"red" in r.body and b"blue" in r.body, f"listed through the binding: {r.body!r}")
        check_status(req(s, "DELETE", "/d2"), 204, "DELETE of the second binding")
        eq(_colour(s, "/docs/"), "blue", "the collection keeps its properties")
        eq(_colour(s, "/docs/a.txt"), "red", "and its members theirs")
        check_status(req(s, "MOVE", "/docs/a.txt", {"Destination": "/moved.txt"}), 201)
        eq(_colour(s, "/moved.txt"), "red", "a MOVE takes them along")
        check_status(req(s, "COPY", "/docs", {"Destination": "/copy"}), 201)
        eq(_colour(s, "/copy/"), "blue", "a COPY copies them")


def test_dead_properties_of_a_file_belong_to_the_file_not_the_path():
    # a file's second binding is a hard link (RFC 5842 §2.3: one resource):
    # its dead properties are the same through every path
    root = new_root({"docs/a.txt": b"a", "docs/c.txt": b"c", "other/keep.txt": b"k"})
    with Server(root, "--dav") as s:
        _set_colour(s, "/docs/a.txt", "red")
        check_status(req(s, "BIND", "/other/", None, _bind_body("bind", "b.txt", "/docs/a.txt")),
                     201, "BIND of a file")
        eq(os.stat(os.path.join(root, "other", "b.txt")).st_nlink, 2, "a hard link")
        eq(_colour(s, "/other/b.txt"), "red", "set before the BIND, seen through the new path")
        _set_colour(s, "/other/b.txt", "green")
        eq(_colour(s, "/docs/a.txt"), "green", "set through one path, seen through the other")
        r = req(s, "PROPFIND", "/other/", {"Depth": "1"})
        check(b"green" in r.body, f"listed with the collection's members: {r.body!r}")
        # a link made outside nxx is one resource too
        os.link(os.path.join(root, "docs", "c.txt"), os.path.join(root, "other", "c2.txt"))
        _set_colour(s, "/docs/c.txt", "blue")
        eq(_colour(s, "/other/c2.txt"), "blue", "a hard link made outside nxx")
        eq(_colour(s, "/other/keep.txt"), None, "a file of its own has none")
        # the last binding but one goes: the properties stay with the other
        check_status(req(s, "UNBIND", "/other/", None, _bind_body("unbind", "b.txt")), 200)
        eq(_colour(s, "/docs/a.txt"), "green", "after UNBIND of the other binding")
        check_status(req(s, "DELETE", "/other/c2.txt"), 204)
        eq(_colour(s, "/docs/c.txt"), "blue", "after DELETE of the other binding")
        check_status(req(s, "PUT", "/other/b.txt", None, b"new"), 201)
        eq(_colour(s, "/other/b.txt"), None, "a new file where a binding was has none")
        check_status(req(s, "COPY", "/docs/c.txt", {"Destination": "/c3.txt"}), 201)
        eq(_colour(s, "/c3.txt"), "blue", "a COPY copies them")
