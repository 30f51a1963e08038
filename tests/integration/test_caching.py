"""Caching headers (--cache-control PREFIX=VALUE, Expires from max-age), the
open-file cache never serving a changed file stale for more than about a second,
and the MIME table."""

import email.utils
import os
import time

from harness import (FIXED_MTIME, NXX_BIN, Conn, Server, check, check_status, eq, get,
                     is_imf_fixdate, make_docroot, run_cmd, shared)

MIME_FILES = {
    "m/x.css": (("text/css; charset=utf-8",),),
    "m/x.js": (("text/javascript; charset=utf-8", "application/javascript; charset=utf-8"),),
    "m/x.mjs": (("text/javascript; charset=utf-8", "application/javascript; charset=utf-8"),),
    "m/x.png": (("image/png",),),
    "m/x.wasm": (("application/wasm",),),
    "m/x.woff2": (("font/woff2",),),
    "m/x.webp": (("image/webp",),),
    "m/x.avif": (("image/avif",),),
    "m/x.svg": (("image/svg+xml", "image/svg+xml; charset=utf-8"),),
    "m/x.json": (("application/json", "application/json; charset=utf-8"),),
    "m/x.pdf": (("application/pdf",),),
    "m/x.mp4": (("video/mp4",),),
    "m/x.html": (("text/html; charset=utf-8",),),
    "m/x.txt": (("text/plain; charset=utf-8",),),
    "m/x.nxxunknownext": (("application/octet-stream",),),
    "m/noext": (("application/octet-stream",),),
}
_root = None


def root():
    global _root
    if _root is None:
        files = {
            "static/x.css": b"body{}\n",
            "static/nested/n.txt": b"nested\n",
            "staticfile.txt": b"not under /static/\n",
            "other.txt": b"other\n",
        }
        files.update({name: b"mime\n" for name in MIME_FILES})
        _root = make_docroot(files)
    return _root


def rules_srv():
    return shared("nxx serve --cache-control rules", lambda: Server(
        root(), "--cache-control", "/static/=max-age=3600", "--cache-control", "/=no-cache",
        "--cache-control", "/static/nested/=public, max-age=60"))


def plain_srv():
    return shared("nxx serve (defaults)", lambda: Server(root()))


def expires_in(r, seconds, what):
    exp = r.header("expires")
    check(is_imf_fixdate(exp), f"{what}: Expires {exp!r} is not an IMF-fixdate")
    when = email.utils.parsedate_to_datetime(exp).timestamp()
    check(abs(when - (time.time() + seconds)) < 10,
          f"{what}: Expires {exp!r} is not now + {seconds} s (now {time.time():.0f})")
    date = email.utils.parsedate_to_datetime(r.header("date")).timestamp()
    check(abs(when - date - seconds) <= 1, f"{what}: Expires - Date != {seconds}")


# --- Cache-Control rules --------------------------------------------------


def test_prefix_rule_with_max_age_sets_expires():
    for method in ("GET", "HEAD"):
        r = get(rules_srv(), "/static/x.css", method=method)
        check_status(r, 200, method)
        eq(r.header("cache-control"), "max-age=3600", f"{method} Cache-Control")
        eq(len(r.header_all("cache-control")), 1, "one Cache-Control field")
        expires_in(r, 3600, f"{method} /static/x.css")


def test_root_rule_no_cache_without_expires():
    for path in ("/other.txt", "/a.txt", "/staticfile.txt", "/"):
        r = get(rules_srv(), path)
        check_status(r, 200, path)
        eq(r.header("cache-control"), "no-cache", f"{path} Cache-Control")
        check(not r.has("expires"), f"{path}: Expires with no-cache ({r.header('expires')!r})")


def test_longest_prefix_wins():
    r = get(rules_srv(), "/static/nested/n.txt")
    check_status(r, 200)
    eq(r.header("cache-control"), "public, max-age=60", "Cache-Control")
    expires_in(r, 60, "/static/nested/n.txt")


def test_rule_applies_to_206_and_304():
    r = get(rules_srv(), "/static/x.css", [("Range", "bytes=0-1")])
    check_status(r, 206)
    eq(r.header("cache-control"), "max-age=3600", "206 Cache-Control")
    expires_in(r, 3600, "206")
    r = get(rules_srv(), "/static/x.css", [("If-Modified-Since",
                                             email.utils.formatdate(FIXED_MTIME, usegmt=True))])
    check_status(r, 304)
    eq(r.header("cache-control"), "max-age=3600", "304 Cache-Control")
    expires_in(r, 3600, "304")


def test_no_rule_no_cache_control():
    for path in ("/a.txt", "/static/x.css", "/"):
        r = get(plain_srv(), path)
        check_status(r, 200, path)
        check(not r.has("cache-control"), f"{path}: Cache-Control {r.header('cache-control')!r}")
        check(not r.has("expires"), f"{path}: Expires {r.header('expires')!r}")


def test_bad_cache_control_option_is_usage_error():
    for arg in ("noequals", "=max-age=1", "/x="):
        p = run_cmd([NXX_BIN, "serve", root(), "--listen", "127.0.0.1:0",
                     "--cache-control", arg], timeout_s=5)
        eq(p.returncode, 2, f"--cache-control {arg!r}: exit status (stderr {p.stderr[-300:]!r})")


# --- changed files ------------------------------------------------------------


STALE_LIMIT = 1.3  # "never served stale for more than a second", plus scheduling slack


def _poll(path, pred, limit_s):
    """GET path until pred(resp) or limit_s; returns (resp, seconds taken)."""
    start = time.monotonic()
    while True:
        r = get(plain_srv(), path)
        if pred(r) or time.monotonic() - start > limit_s:
            return r, time.monotonic() - start
        time.sleep(0.05)


def _settled(changed_at, path, pred, what, headers=None):
    """Once STALE_LIMIT has passed since the change, every worker's cache must have
    caught up: several requests on fresh connections (spread over the worker
    threads) all satisfy pred."""
    left = changed_at + STALE_LIMIT - time.monotonic()
    if left > 0:
        time.sleep(left)
    for i in range(8):
        r = get(plain_srv(), path, headers)
        check(pred(r), f"{what}: request {i + 1} of 8, {STALE_LIMIT} s after the change, "
                       f"still stale: {r.raw[:300]!r}")
    return r


def test_changed_file_served_within_a_second():
    path = os.path.join(root(), "changing.txt")
    with open(path, "wb") as f:
        f.write(b"version 1\n")
    os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    r1 = get(plain_srv(), "/changing.txt")
    eq(r1.body, b"version 1\n", "first version")
    for _ in range(4):  # now in the open-file cache of every worker
        get(plain_srv(), "/changing.txt")
    # Same size, new content and mtime: only the mtime tells them apart.
    with open(path, "r+b") as f:
        f.write(b"version 2\n")
    os.utime(path, (FIXED_MTIME + 100, FIXED_MTIME + 100))
    changed_at = time.monotonic()
    r2, took = _poll("/changing.txt", lambda r: r.body == b"version 2\n", 3.0)
    eq(r2.body, b"version 2\n", "content after the change")
    check(took <= STALE_LIMIT, f"the changed file was served stale for {took:.2f} s")
    check(r2.header("etag") != r1.header("etag"), "ETag unchanged after the change")
    eq(r2.header("last-modified"), email.utils.formatdate(FIXED_MTIME + 100, usegmt=True),
       "Last-Modified after the change")
    _settled(changed_at, "/changing.txt",
             lambda r: r.body == b"version 2\n" and r.header("etag") == r2.header("etag"),
             "GET after the change")
    # The old validator no longer yields 304.
    _settled(changed_at, "/changing.txt",
             lambda r: r.status == 200 and r.body == b"version 2\n",
             "If-None-Match: old ETag", [("If-None-Match", r1.header("etag"))])


def test_replaced_file_served_within_a_second():
    # The deploy pattern: write a temporary file, rename it over the old one.
    path = os.path.join(root(), "replaced.txt")
    with open(path, "wb") as f:
        f.write(b"old\n")
    os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    r1 = get(plain_srv(), "/replaced.txt")
    eq(r1.body, b"old\n", "before")
    for _ in range(4):
        get(plain_srv(), "/replaced.txt")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"new content, longer\n")
    os.utime(tmp, (FIXED_MTIME, FIXED_MTIME))  # even with the same mtime
    os.rename(tmp, path)
    changed_at = time.monotonic()
    r2, took = _poll("/replaced.txt", lambda r: r.body == b"new content, longer\n", 3.0)
    eq(r2.body, b"new content, longer\n", "after rename")
    check(took <= STALE_LIMIT, f"the replaced file was served stale for {took:.2f} s")
    check(r2.header("etag") != r1.header("etag"), "ETag unchanged after the rename")
    _settled(changed_at, "/replaced.txt", lambda r: r.body == b"new content, longer\n",
             "GET after the rename")


def test_deleted_file_gone_within_a_second():
    path = os.path.join(root(), "deleted.txt")
    with open(path, "wb") as f:
        f.write(b"short-lived\n")
    for _ in range(4):
        check_status(get(plain_srv(), "/deleted.txt"), 200, "before deletion")
    os.unlink(path)
    changed_at = time.monotonic()
    r, took = _poll("/deleted.txt", lambda r: r.status == 404, 3.0)
    check_status(r, 404, "after deletion")
    check(took <= STALE_LIMIT, f"the deleted file was served for {took:.2f} s")
    _settled(changed_at, "/deleted.txt", lambda r: r.status == 404, "GET after deletion")


def test_keepalive_connection_sees_change():
    path = os.path.join(root(), "ka.txt")
    with open(path, "wb") as f:
        f.write(b"one\n")
    with Conn(plain_srv()) as c:
        eq(c.request("GET", "/ka.txt").body, b"one\n", "first")
        with open(path, "wb") as f:
            f.write(b"two!\n")
        deadline = time.monotonic() + 3.0
        while True:
            body = c.request("GET", "/ka.txt").body
            if body == b"two!\n" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        eq(body, b"two!\n", "changed content on a kept-alive connection")


# --- MIME types -----------------------------------------------------------------


def test_mime_types():
    bad = []
    for name, (allowed,) in MIME_FILES.items():
        r = get(plain_srv(), "/" + name)
        check_status(r, 200, name)
        if r.header("content-type") not in allowed:
            bad.append(f"{name}: {r.header('content-type')!r} (want one of {allowed})")
    check(not bad, "wrong Content-Type:\n" + "\n".join(bad))


def test_mime_on_206_and_head():
    r = get(plain_srv(), "/m/x.css", [("Range", "bytes=0-0")])
    check_status(r, 206)
    eq(r.header("content-type"), "text/css; charset=utf-8", "206 Content-Type")
    r = get(plain_srv(), "/m/x.wasm", method="HEAD")
    eq(r.header("content-type"), "application/wasm", "HEAD Content-Type")
