"""500 Internal Server Error from nxx serve: a REST item the database holds but
nxx cannot parse (the database edited behind its back) fails the PATCH that
must read it.  The answer is a problem body with the request id and nothing of
the server's insides, and the server goes on."""

import json
import os
import sqlite3
import tempfile

from harness import (Server, assert_alive, build_request, check, check_status, eq, make_docroot,
                     one, remove_tree)


def _call(s, method, path, body=b"", ctype="application/json"):
    headers = [("Accept", "application/json")]
    if body:
        headers.append(("Content-Type", ctype))
    return one(s, build_request(method, path, headers, body), method)


def test_unparsable_stored_item_is_500():
    root = make_docroot()
    data = tempfile.mkdtemp(prefix="nxx-it-data-")
    try:
        with Server(root, "--api", "/api", "--data", data) as s:
            check_status(_call(s, "POST", "/api/notes", b'{"id":"n1","text":"fine"}'), 201,
                         "create the item")
        # another program damages the stored text while nxx is stopped
        db = sqlite3.connect(os.path.join(data, "nxx.db"))
        try:
            db.execute("PRAGMA ignore_check_constraints = ON")
            n = db.execute("UPDATE items SET body = '{\"text\": \"cut sho' "
                           "WHERE coll = 'notes' AND id = 'n1'").rowcount
            db.commit()
        finally:
            db.close()
        eq(n, 1, "items damaged")
        with Server(root, "--api", "/api", "--data", data) as s:
            r = _call(s, "PATCH", "/api/notes/n1", b'{"text":"new"}', "application/merge-patch+json")
            check_status(r, 500, "PATCH of an item that does not parse")
            eq(r.content_type, "application/problem+json", "500 problem body")
            problem = json.loads(r.body)
            eq(problem.get("status"), 500, "problem status")
            rid = problem.get("requestId") or ""
            check(rid, f"no request id in the problem: {problem!r}")
            for inside in (data, "sqlite", "nxx.db", "jansson"):
                check(inside not in r.body.decode(), f"the problem leaks {inside!r}: {problem!r}")
            check_status(_call(s, "POST", "/api/notes", b'{"id":"n2","text":"ok"}'), 201,
                         "another write after the 500")
            assert_alive(s, "after the 500")
    finally:
        remove_tree(root)
        remove_tree(data)
