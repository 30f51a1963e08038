"""Access log: one line per request, combined format or JSON lines, to a file or
stdout, or off.  Logs are buffered per worker, so they are read after the server
has stopped (the stop must flush them)."""

import json
import os
import re

from harness import (A_TXT, Conn, Server, build_request, check, check_status, eq, make_docroot,
                     remove_tree)

COMBINED_RE = re.compile(
    r'^(?P<host>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] '
    r'"(?P<method>\S+) (?P<target>\S+) (?P<proto>HTTP/1\.[01])" (?P<status>\d{3}) (?P<bytes>\d+|-) '
    r'"(?P<referer>[^"]*)" "(?P<ua>[^"]*)"(?P<rest>.*)$'
)
CLF_TIME_RE = re.compile(r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$")
UA = "nxx-integration/1.0"
REFERER = "http://referer.example/page"


def _traffic(s):
    """Three requests on one connection; returns their raw response sizes."""
    hdrs = [("User-Agent", UA), ("Referer", REFERER)]
    with Conn(s) as c:
        sizes = []
        for method, target in (("GET", "/a.txt"), ("GET", "/missing?q=1"), ("HEAD", "/a.txt")):
            r = c.request(method, target, hdrs)
            sizes.append((method, target, r.status, len(r.body), len(r.raw)))
    check_status_list(sizes)
    return sizes


def check_status_list(sizes):
    eq([s[2] for s in sizes], [200, 404, 200], "statuses of the logged requests")


def _run(args, cwd=None):
    root = make_docroot()
    try:
        with Server(root, *args, cwd=cwd) as s:
            sizes = _traffic(s)
        return sizes, s
    finally:
        remove_tree(root)


def _read(path):
    check(os.path.exists(path), f"access log {path} was not created")
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line for line in f.read().splitlines() if line.strip()]


def _check_combined(lines, sizes):
    eq(len(lines), len(sizes), f"number of log lines ({lines!r})")
    for line, (method, target, status, body_len, raw_len) in zip(lines, sizes):
        m = COMBINED_RE.match(line)
        check(m, f"not a combined-format line: {line!r}")
        eq(m["host"], "127.0.0.1", "client address")
        check(CLF_TIME_RE.match(m["time"]), f"time {m['time']!r} is not [dd/Mon/yyyy:hh:mm:ss +zzzz]")
        eq(m["method"], method, "method")
        eq(m["target"], target, "target")
        eq(m["proto"], "HTTP/1.1", "protocol")
        eq(int(m["status"]), status, "status")
        nbytes = 0 if m["bytes"] == "-" else int(m["bytes"])
        check(nbytes in (body_len, raw_len),
              f"bytes {nbytes} is neither the body ({body_len}) nor the response ({raw_len}) size")
        eq(m["referer"], REFERER, "referer")
        eq(m["ua"], UA, "user agent")
    return [COMBINED_RE.match(line) for line in lines]


def test_access_log_combined_one_line_per_request():
    tmp = make_docroot()
    try:
        path = os.path.join(tmp, "access.log")
        sizes, _ = _run(["--access-log", path])
        _check_combined(_read(path), sizes)
    finally:
        remove_tree(tmp)


def test_access_log_combined_has_duration_and_request_id():
    tmp = make_docroot()
    try:
        path = os.path.join(tmp, "access.log")
        sizes, _ = _run(["--access-log", path])
        matches = _check_combined(_read(path), sizes)
        rests = [m["rest"].strip() for m in matches]
        check(all(rests), f"combined lines lack the duration and request id after the UA: {rests!r}")
        eq(len(set(rests)), len(rests), "request ids are not unique")
    finally:
        remove_tree(tmp)


def test_access_log_json_lines():
    tmp = make_docroot()
    try:
        path = os.path.join(tmp, "access.json")
        sizes, _ = _run(["--access-log", path, "--access-log-format", "json"])
        lines = _read(path)
        eq(len(lines), len(sizes), "number of JSON lines")
        ids = []
        for line, (method, target, status, body_len, raw_len) in zip(lines, sizes):
            try:
                doc = json.loads(line)
            except ValueError as e:
                raise AssertionError(f"not a JSON line ({e}): {line!r}")
            check(isinstance(doc, dict), f"not an object: {line!r}")
            for key in ("status", "method", "bytes"):
                check(key in doc, f"JSON log line lacks '{key}': {line!r}")
            eq(int(doc["status"]), status, "status")
            eq(doc["method"], method, "method")
            check(int(doc["bytes"]) in (body_len, raw_len), f"bytes {doc['bytes']!r}")
            id_keys = [k for k in doc if "id" in k.lower()]
            check(id_keys, f"no request id key in {sorted(doc)!r}")
            check(str(doc[id_keys[0]]), "empty request id")
            ids.append(str(doc[id_keys[0]]))
            check(any(target in str(v) for v in doc.values()), f"target {target} not logged: {line!r}")
        eq(len(set(ids)), len(ids), "request ids are not unique")
    finally:
        remove_tree(tmp)


def test_access_log_stdout():
    sizes, s = _run(["--access-log", "-"])
    lines = [line for line in s.stdout.splitlines() if line.strip()]
    _check_combined(lines, sizes)


def test_access_log_off_writes_nothing():
    cwd = make_docroot()
    try:
        before = set(os.listdir(cwd))
        _, s = _run(["--access-log", "off"], cwd=cwd)
        after = set(os.listdir(cwd))
        eq(after - before, set(), "files created with --access-log off")
        eq(s.stdout.strip(), "", "stdout with --access-log off")
        check("GET /a.txt" not in s.stderr, "requests logged on stderr with --access-log off")
    finally:
        remove_tree(cwd)


def test_access_log_pipelined_requests_all_logged():
    tmp = make_docroot()
    root = make_docroot()
    try:
        path = os.path.join(tmp, "access.log")
        with Server(root, "--access-log", path) as s:
            with Conn(s) as c:
                c.send(b"".join(build_request("GET", f"/a.txt?n={i}") for i in range(20)))
                for _ in range(20):
                    eq(c.read_response().body, A_TXT, "pipelined body")
        lines = _read(path)
        eq(len(lines), 20, "log lines for 20 pipelined requests")
        targets = [COMBINED_RE.match(line)["target"] for line in lines]
        eq(sorted(targets), sorted(f"/a.txt?n={i}" for i in range(20)), "logged targets")
    finally:
        remove_tree(tmp)
        remove_tree(root)
