"""Durability of the REST store: a 2xx means the write is on disk.

- A clean restart on the same --data keeps items, tombstones, versions (so
  ETags and collection tags still validate), schemas and the changes feed.
- kill -9 in the middle of a write load loses no acknowledged write: writer
  threads POST (and PUT) over keep-alive connections and record every 2xx;
  after the kill and a restart, every acknowledged item is there with the
  acknowledged body, and an item updated in place holds either its last
  acknowledged value or the one whose answer the kill cut off."""

import json
import signal
import threading
import time

from harness import Conn, ProtocolError, build_request, check, check_status, eq, timeout
from test_rest import (JSON, MERGE, api_server, call, etag_of, js, problem, put, strip_id,
                       tmpdir)


@timeout(60)
def test_restart_keeps_items_tombstones_versions_and_schemas():
    data = tmpdir("nxx-it-restart-")
    with api_server(data=data) as s:
        check_status(call(s, "PUT", "/api/_schemas/keep",
                          {"type": "object", "properties": {"v": {"type": "integer"}}}), 201)
        r = call(s, "POST", "/api/keep", {"v": 1, "s": "posted"})
        check_status(r, 201)
        posted = r.header("location")
        check_status(put(s, "/api/keep/k1", {"v": 2}), 201)
        check_status(call(s, "PATCH", "/api/keep/k1", {"w": [1, 2]}, ctype=MERGE), 200)
        check_status(put(s, "/api/keep/gone", {"v": 3}), 201)
        check_status(call(s, "DELETE", "/api/keep/gone"), 204)
        before = {p: call(s, "GET", p) for p in (posted, "/api/keep/k1")}
        coll_before = call(s, "GET", "/api/keep")
        old_tag = coll_before.header("etag")
        check_status(put(s, "/api/keep/late", {"v": 4}), 201)
        coll_tag = call(s, "GET", "/api/keep").header("etag")
    with api_server(data=data) as s:
        for path, old in before.items():
            r = call(s, "GET", path)
            check_status(r, 200, f"{path} after the restart")
            eq(js(r), js(old), f"{path} body")
            eq(r.header("etag"), old.header("etag"), f"{path} ETag survives")
            check_status(call(s, "GET", path, headers={"If-None-Match": old.header("etag")}), 304,
                         f"{path}: the old ETag still validates")
        problem(call(s, "GET", "/api/keep/gone"), 410)
        r = call(s, "GET", "/api/keep")
        eq(r.header("etag"), coll_tag, "collection tag survives")
        eq(sorted(x.get("s", x["id"]) for x in js(r)), ["k1", "late", "posted"], "listing")
        r = call(s, "GET", "/api/keep", headers={"A-IM": "feed", "If-None-Match": old_tag})
        check_status(r, 226, "feed from a version before the restart")
        eq([x["id"] for x in js(r)], ["late"], "feed content")
        problem(call(s, "POST", "/api/keep", {"v": "not an integer"}), 422)
        r = put(s, "/api/keep/k1", {"v": 9}, {"If-Match": before["/api/keep/k1"].header("etag")})
        check_status(r, 200, "If-Match with a tag from before the restart")
        check(etag_of(r) != before["/api/keep/k1"].header("etag"), "a new version")
        # versions keep increasing across the restart: no tag is ever reused
        check(int(etag_of(r).strip('"')) > int(coll_tag.strip('"c')), "version after restart")


class Writers:
    """Threads writing over keep-alive connections, recording what was acknowledged."""

    def __init__(self, srv, n_posters=3):
        self.srv = srv
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.acked = {}        # id -> body (POSTs answered 201)
        self.put_acked = None  # last body a PUT of /api/load/counter got 200/201 for
        self.put_inflight = None
        self.errors = []
        self.threads = [threading.Thread(target=self.poster, args=(k,), daemon=True)
                        for k in range(n_posters)]
        self.threads.append(threading.Thread(target=self.putter, daemon=True))

    def start(self):
        for t in self.threads:
            t.start()

    def count(self):
        with self.lock:
            return len(self.acked)

    def _send(self, conn, method, path, body):
        data = json.dumps(body).encode()
        conn.send(build_request(method, path, [("Content-Type", JSON), ("Accept", JSON),
                                               ("Content-Length", str(len(data)))], data))
        return conn.read_response(method, 10)

    def poster(self, k):
        i = 0
        try:
            conn = Conn(self.srv, 10)
        except OSError:
            return
        with conn:
            while not self.stop.is_set():
                body = {"writer": k, "i": i, "text": f"item {k}/{i} " + "z" * (i % 50)}
                try:
                    r = self._send(conn, "POST", "/api/load", body)
                except (AssertionError, OSError, ProtocolError):
                    return  # the server died under us
                if r.status != 201:
                    self.errors.append(f"POST answered {r.status}: {r.raw[:200]!r}")
                    return
                with self.lock:
                    self.acked[json.loads(r.body)["id"]] = body
                i += 1

    def putter(self):
        i = 0
        try:
            conn = Conn(self.srv, 10)
        except OSError:
            return
        with conn:
            while not self.stop.is_set():
                body = {"counter": i}
                with self.lock:
                    self.put_inflight = body
                try:
                    r = self._send(conn, "PUT", "/api/load/counter", body)
                except (AssertionError, OSError, ProtocolError):
                    return
                if r.status not in (200, 201):
                    self.errors.append(f"PUT answered {r.status}: {r.raw[:200]!r}")
                    return
                with self.lock:
                    self.put_acked = body
                i += 1

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(15)


@timeout(90)
def test_kill9_under_write_load_loses_no_acknowledged_write():
    data = tmpdir("nxx-it-kill9-")
    srv = api_server(data=data).start()
    w = Writers(srv)
    try:
        w.start()
        deadline = time.monotonic() + 20
        # well into the load: past a few thousand acknowledged writes
        while w.count() < 4000 and time.monotonic() < deadline and not w.errors:
            time.sleep(0.02)
        check(not w.errors, f"errors before the kill: {w.errors[:3]}")
        check(w.count() > 50, f"only {w.count()} writes acknowledged in 20 s")
        srv.signal(signal.SIGKILL)  # mid-load: writes are in flight on every connection
        eq(srv.wait(10), -signal.SIGKILL, "exit by SIGKILL")
    finally:
        w.join()
        srv._kill()
    with w.lock:
        acked = dict(w.acked)
        put_acked, put_inflight = w.put_acked, w.put_inflight
    with api_server(data=data) as s:
        with Conn(s, 10) as c:
            missing, wrong = [], []
            for ident, body in acked.items():
                r = c.request("GET", f"/api/load/{ident}", [("Accept", JSON)])
                if r.status != 200:
                    missing.append((ident, r.status))
                elif strip_id(json.loads(r.body)) != body:
                    wrong.append((ident, r.body[:100]))
            check(not missing, f"{len(missing)} of {len(acked)} acknowledged items lost: "
                               f"{missing[:5]}")
            check(not wrong, f"acknowledged items with other content: {wrong[:5]}")
            r = c.request("GET", "/api/load?limit=1", [("Accept", JSON)])
            total = int(r.header("x-total-count"))
            # besides the counter, at most the one unanswered POST of each connection
            check(len(acked) <= total <= len(acked) + 1 + len(w.threads) - 1,
                  f"{total} items listed, {len(acked)} acknowledged (+ the counter)")
            if put_acked is not None:
                r = c.request("GET", "/api/load/counter", [("Accept", JSON)])
                check_status(r, 200, "the PUT item")
                got = strip_id(json.loads(r.body))
                check(got in (put_acked, put_inflight),
                      f"counter is {got}; acknowledged {put_acked}, in flight {put_inflight}")
        # still a working store: writes after the recovery are acknowledged and durable
        r = call(s, "POST", "/api/load", {"after": "restart"})
        check_status(r, 201, "write after recovery")
