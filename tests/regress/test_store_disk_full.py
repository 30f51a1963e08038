"""Regression: with the data directory on a full file system, `nxx serve
--api` exited 1 at start ("cannot switch to WAL mode: disk I/O error" after a
clean stop, "create schema: database or disk is full" after a stop that could
not checkpoint), taking the static site down with it.  Now the server starts:
an existing store opens read-only (reads work, writes answer 507), a store
that cannot be created makes the API answer 503 with Retry-After, files are
served all along, the state is logged once, and writes work again once space
is freed, with nothing acknowledged lost.

Each test mounts a small tmpfs of its own (the tests run as root) and fills
it; without permission to mount, the tests fail and say so."""

import errno
import json
import os
import subprocess
import tempfile
import time

from harness import (Server, build_request, check, check_status, eq, make_docroot, one,
                     remove_tree, timeout)

RECOVERY_S = 20.0  # the store retries every 2 s


def _mount(size):
    d = tempfile.mkdtemp(prefix="nxx-full-")
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", d],
                           capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        os.rmdir(d)
        raise AssertionError(f"cannot run mount(8) for the test's own tmpfs: {e}")
    if p.returncode != 0:
        os.rmdir(d)
        raise AssertionError(
            "this test needs a small tmpfs of its own to fill, and mounting one failed "
            f"(the tests must run as root): {p.stderr.decode(errors='replace').strip()}")
    return d


def _umount(d):
    p = subprocess.run(["umount", d], capture_output=True, timeout=10)
    if p.returncode != 0:
        subprocess.run(["umount", "-l", d], capture_output=True, timeout=10)
    os.rmdir(d)


def _fill(d):
    """Write a file until the file system is full; returns its path."""
    path = os.path.join(d, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        chunk = 1 << 16
        while chunk:
            try:
                os.write(fd, b"\0" * chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                chunk //= 2
    finally:
        os.close(fd)
    st = os.statvfs(d)
    check(st.f_bavail == 0, f"the tmpfs still has {st.f_bavail} free blocks after filling it")
    return path


def _req(srv, method, target, body=None, headers=None, ctype="application/json"):
    hdrs = [("Connection", "close")] + list(headers or [])
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs += [("Content-Type", ctype), ("Content-Length", str(len(data)))]
    return one(srv, build_request(method, target, hdrs, data), method, timeout_s=10.0)


def _items(srv, n, what):
    for i in range(n):
        r = _req(srv, "GET", f"/api/notes/n{i}")
        check_status(r, 200, f"{what}: GET /api/notes/n{i}")
        eq(json.loads(r.body), {"id": f"n{i}", "n": i}, f"{what}: item n{i}")
    r = _req(srv, "GET", "/api/notes?limit=1000")
    check_status(r, 200, f"{what}: GET /api/notes")
    listed = {it["id"] for it in json.loads(r.body)}
    missing = {f"n{i}" for i in range(n)} - listed
    check(not missing, f"{what}: items missing from the listing: {sorted(missing)}")


def _writes_refused(srv, status, what):
    """Every kind of write gets status, and nothing it carries is stored."""
    for method, target, body, ctype in (
            ("PUT", "/api/notes/n0", {"n": -1}, "application/json"),
            ("PUT", "/api/notes/new", {"n": -1}, "application/json"),
            ("POST", "/api/notes", {"n": -1}, "application/json"),
            ("PATCH", "/api/notes/n1", {"n": -1}, "application/merge-patch+json"),
            ("DELETE", "/api/notes/n2", None, None),
            ("POST", "/api/notes/_bulk", b'{"n": -1}\n', "application/x-ndjson"),
            ("PUT", "/api/_schemas/notes", {"type": "object"}, "application/json")):
        r = _req(srv, method, target, body, ctype=ctype)
        check_status(r, status, f"{what}: {method} {target}")
        check(r.content_type == "application/problem+json" or r.body, f"{what}: {method} "
              f"{target}: {status} without a problem body: {r.raw[:300]!r}")


def _wait_writable(srv, what):
    """Free space was made: a write must succeed within RECOVERY_S."""
    deadline = time.monotonic() + RECOVERY_S
    while True:
        r = _req(srv, "PUT", "/api/notes/after", {"n": 99})
        if r.status in (200, 201):
            return
        check(r.status in (503, 507), f"{what}: PUT while waiting for space answered {r.status}")
        check(time.monotonic() < deadline,
              f"{what}: writes still answer {r.status} {RECOVERY_S:.0f} s after space was freed;"
              f"\n{srv.describe()}")
        time.sleep(0.2)


def _log(srv):
    """The error log's lines (the access log shares stderr)."""
    return [ln for ln in srv.stderr.splitlines() if ln.startswith("nxx: ")]


def _store_items(srv, n):
    for i in range(n):
        r = _req(srv, "PUT", f"/api/notes/n{i}", {"n": i})
        check_status(r, 201, f"PUT /api/notes/n{i}")


@timeout(120)
def test_existing_store_on_a_full_disk_is_read_only_then_writable():
    mnt = _mount("4m")
    root = make_docroot()
    try:
        data = os.path.join(mnt, "data")
        with Server(root, "--api", "/api", "--data", data) as srv:
            _store_items(srv, 20)
        # a clean stop leaves nxx.db alone: no -wal, no -shm that a start could use
        filler = _fill(mnt)
        with Server(root, "--api", "/api", "--data", data) as srv:
            check_status(_req(srv, "GET", "/"), 200, "a file, on the full disk")
            _items(srv, 20, "read-only store")
            # writes for longer than two retry periods: one line about the state, no more
            end = time.monotonic() + 5.0
            while time.monotonic() < end:
                _writes_refused(srv, 507, "read-only store")
                time.sleep(0.5)
            lines = [ln for ln in _log(srv) if "read-only" in ln]
            eq(len(lines), 1, f"lines about the read-only state in the error log:\n{srv.stderr}")
            check(not any("warn" in ln or "error" in ln for ln in _log(srv)
                          if "read-only" not in ln),
                  f"other warnings or errors while read-only:\n{srv.stderr}")
            os.unlink(filler)
            _wait_writable(srv, "read-only store")
            check("open for writing again" in srv.stderr,
                  f"no line saying the store is writable again:\n{srv.stderr}")
            _items(srv, 20, "after space was freed")
            r = _req(srv, "PUT", "/api/notes/n20", {"n": 20})
            check_status(r, 201, "a new item once writable")
        with Server(root, "--api", "/api", "--data", data) as srv:
            _items(srv, 21, "after a restart with space")
    finally:
        _umount(mnt)
        remove_tree(root)


@timeout(120)
def test_disk_fills_while_running_then_restart_on_the_full_disk():
    mnt = _mount("4m")
    root = make_docroot()
    try:
        data = os.path.join(mnt, "data")
        with Server(root, "--api", "/api", "--data", data) as srv:
            _store_items(srv, 20)
            filler = _fill(mnt)
            r = _req(srv, "PUT", "/api/notes/big", {"pad": "x" * 200000})
            check_status(r, 507, "a write on the full disk")
        # the stop could not checkpoint: the -wal and -shm stay, and the next start
        # used to fail creating the schema
        with Server(root, "--api", "/api", "--data", data) as srv:
            check_status(_req(srv, "GET", "/"), 200, "a file, on the full disk")
            _items(srv, 20, "restarted on the full disk")
            r = _req(srv, "PUT", "/api/notes/big", {"pad": "x" * 200000})
            check_status(r, 507, "a big write on the full disk")
            os.unlink(filler)
            _wait_writable(srv, "restarted on the full disk")
            r = _req(srv, "PUT", "/api/notes/n20", {"n": 20})
            check_status(r, 201, "a new item once there is space")
        with Server(root, "--api", "/api", "--data", data) as srv:
            _items(srv, 21, "after a restart with space")
    finally:
        _umount(mnt)
        remove_tree(root)


@timeout(120)
def test_new_store_on_a_full_disk_is_503_then_created():
    mnt = _mount("2m")
    root = make_docroot()
    try:
        data = os.path.join(mnt, "data")
        filler = _fill(mnt)
        with Server(root, "--api", "/api", "--data", data) as srv:
            check_status(_req(srv, "GET", "/"), 200, "a file, with no store")
            check_status(_req(srv, "GET", "/a.txt"), 200, "another file, with no store")
            end = time.monotonic() + 5.0
            while time.monotonic() < end:
                for method, target, body in (("GET", "/api/notes", None),
                                             ("GET", "/api/notes/n0", None),
                                             ("HEAD", "/api/notes/n0", None),
                                             ("POST", "/api/notes", {"n": 0}),
                                             ("PUT", "/api/notes/n0", {"n": 0}),
                                             ("GET", "/api/_tasks/x", None)):
                    r = _req(srv, method, target, body,
                             headers=[("Accept", "application/problem+json")])
                    check_status(r, 503, f"{method} {target} with no store")
                    ra = r.header("retry-after") or ""
                    check(ra.isdigit() and 0 < int(ra) <= 60,
                          f"{method} {target}: 503 with Retry-After {ra!r}")
                    if method != "HEAD":
                        eq(r.content_type, "application/problem+json", f"{method} {target}")
                        detail = json.loads(r.body).get("detail", "")
                        check("disk is full" in detail, f"503 detail {detail!r}")
                time.sleep(0.5)
            lines = [ln for ln in _log(srv) if "503" in ln]
            eq(len(lines), 1, f"lines about the unavailable store in the error log:\n{srv.stderr}")
            os.unlink(filler)
            _wait_writable(srv, "no store yet")
            r = _req(srv, "PUT", "/api/notes/n0", {"n": 0})
            check_status(r, 201, "a write once the store exists")
            r = _req(srv, "GET", "/api/notes/n0")
            check_status(r, 200, "a read once the store exists")
        with Server(root, "--api", "/api", "--data", data) as srv:
            _items(srv, 1, "after a restart with space")
    finally:
        _umount(mnt)
        remove_tree(root)
