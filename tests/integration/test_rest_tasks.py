"""Bulk imports as tasks (202 Accepted, a monitor that answers 200 while the
job runs and 303 See Other once it has finished, a result resource), and a
10,000-item import that survives kill -9 and SIGTERM in the middle: after the
restart it resumes where its last committed batch ended and every item
exists exactly once."""

import json
import os
import signal
import sqlite3
import time

from harness import Conn, check, check_status, eq, timeout
from test_rest import JSON, api, api_server, call, js, problem, strip_id, tmpdir

TASK_URL_RE = r"^/api/_tasks/[A-Za-z0-9._~-]+$"


def start_bulk(srv, coll, body, ctype=JSON):
    r = call(srv, "POST", f"/api/{coll}/_bulk", body, ctype=ctype)
    check_status(r, 202, "bulk import")
    info = js(r)
    loc = r.header("location", "")
    check(loc.startswith("/api/_tasks/"), f"202 Location {loc!r}")
    eq(info.get("monitorUrl"), loc, "monitorUrl equals Location")
    eq(loc, "/api/_tasks/" + str(info.get("taskId")), "Location names the task")
    check(info.get("status") in ("queued", "running"), f"202 status {info.get('status')}")
    return info


def wait_result(srv, monitor, deadline_s=30.0):
    """Poll the monitor until 303; returns (result JSON, monitor responses seen)."""
    seen = []
    deadline = time.monotonic() + deadline_s
    with Conn(srv, 10) as c:
        while True:
            check(time.monotonic() < deadline, f"task not finished after {deadline_s} s: {seen[-3:]}")
            r = c.request("GET", monitor, [("Accept", JSON)])
            if r.status == 303:
                eq(r.header("location"), monitor + "/result", "303 Location")
                break
            check_status(r, 200, "monitor while running")
            seen.append(js(r))
            time.sleep(0.01)
        r = c.request("GET", monitor + "/result", [("Accept", JSON)])
        check_status(r, 200, "task result")
        return js(r), seen


def test_bulk_202_then_monitor_200_then_303_to_the_result():
    s = api()
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    check_status(call(s, "PUT", "/api/_schemas/imp", schema), 201)
    items = [{"n": i} for i in range(50)]
    items[3] = {"n": "three"}            # schema: 422
    items[7] = [7]                       # not an object: 422
    items[10] = {"id": "dup", "n": 10}
    items[11] = {"id": "dup", "n": 11}   # 409: the import creates, never overwrites
    items[20] = {"id": "bad id", "n": 20}  # 422
    info = start_bulk(s, "imp", items)
    result, seen = wait_result(s, info["monitorUrl"])
    for m in seen:
        check(m.get("status") in ("queued", "running"), f"monitor status {m}")
        eq(m.get("total"), 50, "monitor total")
        check(0 <= m.get("done", -1) <= 50, f"monitor done {m}")
        check(isinstance(m.get("errors"), list), f"monitor errors {m}")
    eq(result["taskId"], info["taskId"], "result taskId")
    eq(result["status"], "done", "result status")
    eq((result["total"], result["created"], result["failed"]), (50, 46, 4), "result counts")
    errs = {e["index"]: e["status"] for e in result["errors"]}
    eq(errs, {3: 422, 7: 422, 11: 409, 20: 422}, "failed elements")
    check(all(e.get("detail") for e in result["errors"]), "every error has a detail")
    listed = js(call(s, "GET", "/api/imp?limit=1000"))
    eq(sorted(x["n"] for x in listed), sorted(set(range(50)) - {3, 7, 11, 20}), "imported items")
    eq(js(call(s, "GET", "/api/imp/dup"))["n"], 10, "the first 'dup' won")


def test_bulk_ndjson():
    s = api()
    body = '{"a": 1}\n\n{"a": 2}\r\n  {"id": "z", "a": 3}\nnot json\n'
    info = start_bulk(s, "nd", body, ctype="application/x-ndjson")
    result, _ = wait_result(s, info["monitorUrl"])
    eq((result["total"], result["created"], result["failed"]), (4, 3, 1), "NDJSON counts")
    eq(result["errors"][0]["index"], 3, "the malformed line")
    eq(result["errors"][0]["status"], 400, "its status")
    eq(sorted(x["a"] for x in js(call(s, "GET", "/api/nd"))), [1, 2, 3], "items")
    eq(strip_id(js(call(s, "GET", "/api/nd/z"))), {"a": 3}, "client id kept")


def test_bulk_recreates_deleted_items_but_never_overwrites_live_ones():
    s = api()
    check_status(call(s, "PUT", "/api/reimp/a", {"v": "old"}), 201)
    check_status(call(s, "GET", "/api/reimp/a"), 200, "read once (cached)")
    check_status(call(s, "DELETE", "/api/reimp/a"), 204)
    check_status(call(s, "PUT", "/api/reimp/b", {"v": "live"}), 201)
    check_status(call(s, "GET", "/api/reimp/b"), 200, "read once (cached)")
    info = start_bulk(s, "reimp", [{"id": "a", "v": "new"}, {"id": "b", "v": "overwrite?"}])
    result, _ = wait_result(s, info["monitorUrl"])
    eq((result["created"], result["failed"]), (1, 1), "counts")
    eq(js(call(s, "GET", "/api/reimp/a")), {"id": "a", "v": "new"}, "recreated over a tombstone")
    eq(js(call(s, "GET", "/api/reimp/b")), {"id": "b", "v": "live"}, "the live item is kept")


def test_bulk_refusals():
    s = api()
    r = call(s, "POST", "/api/bq/_bulk", "a,b\n", ctype="text/csv")
    problem(r, 415)
    check("application/x-ndjson" in r.header("accept-post", ""), "Accept-Post names NDJSON")
    problem(call(s, "POST", "/api/bq/_bulk", {"not": "an array"}), 422)
    problem(call(s, "POST", "/api/bq/_bulk", "[1, 2"), 400)
    problem(call(s, "GET", "/api/_tasks/doesnotexist"), 404)
    problem(call(s, "GET", "/api/_tasks/doesnotexist/result"), 404)
    problem(call(s, "POST", "/api/Bad/_bulk", []), 404)
    eq(js(call(s, "GET", "/api/bq")), [], "nothing imported")


# ---------------------------------------------------------------------------
# 10,000 items across a restart

N = 10000


def task_row(data, task_id):
    """(status, done, total) of a task as the database holds it, or None if unreadable."""
    try:
        db = sqlite3.connect(os.path.join(data, "nxx.db"), timeout=5)
        try:
            row = db.execute("SELECT status, done, total FROM tasks WHERE id = ?",
                             (task_id,)).fetchone()
        finally:
            db.close()
        return row
    except sqlite3.Error:
        return None


def interrupt_midway(srv, monitor, sig):
    """Poll the monitor flat out; once 0 < done < total, send sig.  Returns the monitor JSON
    seen last, or None if the task finished before it could be caught running."""
    deadline = time.monotonic() + 20
    with Conn(srv, 10) as c:
        while time.monotonic() < deadline:
            r = c.request("GET", monitor, [("Accept", JSON)])
            if r.status == 303:
                return None
            m = js(r)
            if m["status"] == "running" and 0 < m["done"] < m["total"]:
                srv.signal(sig)
                return m
    raise AssertionError("the task neither ran nor finished within 20 s")


def check_all_imported(srv, coll):
    seen = {}
    with Conn(srv, 10) as c:
        for offset in range(0, N, 1000):
            r = c.request("GET", f"/api/{coll}?limit=1000&offset={offset}", [("Accept", JSON)])
            check_status(r, 200, f"page at {offset}")
            eq(r.header("x-total-count"), str(N), "X-Total-Count")
            for item in js(r):
                seen[item["n"]] = seen.get(item["n"], 0) + 1
    dup = [n for n, k in seen.items() if k != 1]
    check(not dup, f"items imported more than once: {dup[:10]}")
    missing = sorted(set(range(N)) - set(seen))
    check(not missing, f"{len(missing)} items missing, e.g. {missing[:10]}")


def bulk_across_restart(sig):
    data = tmpdir("nxx-it-tasks-")
    items = json.dumps([{"n": i, "name": f"item {i}", "tags": ["t"]} for i in range(N)])
    srv = api_server("--max-body-bytes", str(4 << 20), data=data).start()
    caught = None
    try:
        for attempt in range(3):
            coll = f"big{attempt}"
            info = start_bulk(srv, coll, items)
            caught = interrupt_midway(srv, info["monitorUrl"], sig)
            if caught:
                break
        check(caught is not None, "the import finished every time before it could be interrupted")
        rc = srv.wait(15)
        if sig == signal.SIGTERM:
            eq(rc, 0, "exit status after SIGTERM in the middle of an import")
        else:
            eq(rc, -signal.SIGKILL, "killed")
    finally:
        srv._kill()
    row = task_row(data, info["taskId"])
    if row is not None:
        status, done, total = row
        check(status in ("queued", "running") and done < total,
              f"the database shows the task {row}: not interrupted midway")
    srv2 = api_server("--max-body-bytes", str(4 << 20), data=data)
    with srv2:
        result, _ = wait_result(srv2, info["monitorUrl"], 60)
        eq((result["total"], result["created"], result["failed"]), (N, N, 0),
           f"result after the restart (interrupted at done={caught['done']})")
        check_all_imported(srv2, coll)


@timeout(120)
def test_bulk_10000_items_survive_kill9_midway():
    bulk_across_restart(signal.SIGKILL)


@timeout(120)
def test_bulk_10000_items_survive_sigterm_midway():
    bulk_across_restart(signal.SIGTERM)


def test_bulk_body_limit_413():
    s = api()
    big = "[" + ",".join(['{"pad": "' + "x" * 1000 + '"}'] * 1100) + "]"
    r = call(s, "POST", "/api/toolarge/_bulk", big)
    check_status(r, 413, "a bulk body over --max-body-bytes")
