"""API keys and quotas: 403 without a known key, 402 Payment Required when a
key's quota for the day is spent, with quota, used, renews (RFC 3339) and the
purchase URL in the problem body; counters survive a restart through the
state file."""

import datetime
import glob
import hashlib
import json
import os
import signal

from harness import (ConfigServer, build_request, check, check_status, config_dir, eq, one,
                     remove_tree)

SITE = """\
locations:
  /:
    return: {status: 200, body: "ok\\n"}
  /api:
    return: {status: 200, body: "data\\n"}
    quota: {keys: keys, limit: 3, param: api_key, purchase: "https://shop.example/more",
            state: counters, sync-every: 1}
"""


def sha(k):
    return hashlib.sha256(k.encode()).hexdigest()


def test_402_when_the_quota_is_spent_and_counts_survive_a_restart():
    keys = f"# customers\nacme:{sha('key-acme')}\nbig:{sha('key-big')}:5\n"
    d, path = config_dir(SITE, files={"keys": keys})
    try:
        def req(s, key=None, query=""):
            h = [("Accept", "application/problem+json")] + ([("X-API-Key", key)] if key else [])
            return one(s, build_request("GET", "/api" + query, h))
        with ConfigServer(path) as s:
            r = req(s)
            check_status(r, 403, "no key")
            check("API key is required" in json.loads(r.body)["detail"], "says what to send")
            check_status(req(s, "nope"), 403, "an unknown key")
            check_status(req(s, "key-acme"), 200, "1 of 3")
            check_status(req(s, None, "?api_key=key-acme"), 200, "2 of 3 (query parameter)")
        with ConfigServer(path) as s:
            check_status(req(s, "key-acme"), 200, "3 of 3, after a restart")
            r = req(s, "key-acme")
            check_status(r, 402, "the fourth request of the day")
            body = json.loads(r.body)
            eq((body["quota"], body["used"], body["period"]), (3, 3, "day"), "quota and used")
            eq(body["purchase"], "https://shop.example/more", "where to buy more")
            tomorrow = (datetime.datetime.now(datetime.timezone.utc).date() +
                        datetime.timedelta(days=1))
            renews = body["renews"]
            check(renews in (f"{tomorrow}T00:00:00Z",
                             f"{tomorrow + datetime.timedelta(days=1)}T00:00:00Z"),
                  f"renews at the next midnight UTC, RFC 3339: {renews}")
            check("renews at" in body["detail"] and "shop.example" in body["detail"],
                  f"detail: {body['detail']}")
            for i in range(5):
                check_status(req(s, "key-big"), 200, f"a key with its own quota of 5: {i + 1}")
            check_status(req(s, "key-big"), 402, "its sixth")
        with open(os.path.join(d, "counters")) as f:
            state = f.read()
        check(sha("key-acme") in state and "key-acme" not in state,
              "the state file holds digests, not keys")
    finally:
        remove_tree(d)


STORE_SITE = """\
locations:
  /api:
    api: {data: data}
  /paid:
    return: {status: 200, body: "paid\\n"}
    quota: {collection: apikeys, data: data, limit: 2, cache: 0, purchase: "https://shop.example"}
"""


def test_keys_from_the_rest_store():
    d, path = config_dir(STORE_SITE)
    try:
        with ConfigServer(path) as s:
            def paid(key):
                return one(s, build_request("GET", "/paid", [("Accept", "application/problem+json"),
                                                            ("X-API-Key", key)]))

            def store(method, target, doc=None):
                body = json.dumps(doc).encode() if doc is not None else b""
                h = [("Content-Type", "application/json")] if doc is not None else []
                return one(s, build_request(method, target, h, body))
            check_status(paid("k-acme"), 403, "a key the store does not have yet")
            r = store("POST", "/api/apikeys", {"id": sha("k-acme"), "name": "acme", "quota": 3})
            check_status(r, 201, "the key created through the REST API")
            for i in range(3):
                check_status(paid("k-acme"), 200, f"request {i + 1} of its quota of 3")
            r = paid("k-acme")
            check_status(r, 402, "its quota spent")
            body = json.loads(r.body)
            eq((body["quota"], body["used"]), (3, 3), "quota and used from the store's item")
            check("'acme'" in body["detail"], f"the detail names the key: {body['detail']}")
            check_status(store("PUT", f"/api/apikeys/{sha('k-acme')}", {"name": "acme",
                                                                        "quota": 4}),
                         200, "more quota bought")
            check_status(paid("k-acme"), 200, "the fourth request, under the new quota")
            check_status(paid("k-acme"), 402, "the fifth")
            check_status(store("POST", "/api/apikeys", {"id": sha("k-plain")}), 201,
                         "a key without a quota of its own")
            check_status(paid("k-plain"), 200, "1 of the policy's limit of 2")
            check_status(paid("k-plain"), 200, "2 of 2")
            check_status(paid("k-plain"), 402, "3 of 2")
            check_status(store("DELETE", f"/api/apikeys/{sha('k-plain')}"), 204, "deleted")
            check_status(paid("k-plain"), 403, "a deleted key is no longer known")
            check_status(store("POST", "/api/apikeys", {"id": sha("k-bad"), "quota": "lots"}),
                         201, "an item whose quota is not a number")
            check_status(paid("k-bad"), 403, "is not a key")
    finally:
        remove_tree(d)


def test_rest_store_keys_are_cached_for_the_configured_time():
    d, path = config_dir(STORE_SITE.replace("cache: 0", "cache: 3600"))
    try:
        with ConfigServer(path, threads=1) as s:
            def paid(key):
                return one(s, build_request("GET", "/paid", [("X-API-Key", key)]))
            body = json.dumps({"id": sha("k1"), "quota": 100}).encode()
            check_status(one(s, build_request("POST", "/api/apikeys",
                                              [("Content-Type", "application/json")], body)),
                         201, "created")
            check_status(paid("k1"), 200, "read from the store")
            check_status(one(s, build_request("DELETE", f"/api/apikeys/{sha('k1')}")), 204,
                         "deleted")
            check_status(paid("k1"), 200, "still known from the cache within its hour")
    finally:
        remove_tree(d)


def test_503_with_retry_after_when_the_key_store_cannot_be_read():
    d, path = config_dir(STORE_SITE)
    try:
        with ConfigServer(path) as s:
            def paid(key):
                return one(s, build_request("GET", "/paid", [("Accept", "application/problem+json"),
                                                            ("X-API-Key", key)]))
            body = json.dumps({"id": sha("k-live"), "quota": 100}).encode()
            check_status(one(s, build_request("POST", "/api/apikeys",
                                              [("Content-Type", "application/json")], body)),
                         201, "a key created")
            check_status(paid("k-live"), 200, "the key read from a healthy store")
            # the store's files damaged under the running server
            for f in glob.glob(os.path.join(d, "data", "nxx.db*")):
                with open(f, "r+b") as fh:
                    fh.write(b"\xa5" * os.path.getsize(f))
            for key, what in (("k-live", "a key the store had"), ("k-other", "any other key")):
                r = paid(key)
                check_status(r, 503, f"{what}: the store cannot say, so not 403")
                eq(r.header("retry-after"), "2", "Retry-After")
                eq(r.header("content-type"), "application/problem+json", "a problem body")
                detail = json.loads(r.body)["detail"]
                check("cannot be checked now" in detail and "try again" in detail,
                      f"the detail says what to do: {detail}")
            r = one(s, build_request("GET", "/api/nothing-here"))
            check(r.status >= 400, "the server still answers")
    finally:
        remove_tree(d)


def test_a_crash_forgets_at_most_sync_every_minus_one_counted_requests():
    sync_every, limit, before = 4, 20, 7
    site = SITE.replace("limit: 3", f"limit: {limit}").replace("sync-every: 1",
                                                             f"sync-every: {sync_every}")
    keys = f"acme:{sha('key-acme')}\n"
    d, path = config_dir(site, files={"keys": keys})
    try:
        def req(s):
            return one(s, build_request("GET", "/api", [("X-API-Key", "key-acme")]))
        srv = ConfigServer(path).start()
        try:
            for i in range(before):
                check_status(req(srv), 200, f"counted request {i + 1}")
            srv.signal(signal.SIGKILL)  # no shutdown: only what was synced survives
            eq(srv.wait(10), -signal.SIGKILL, "exit by SIGKILL")
        finally:
            srv._kill()
        with ConfigServer(path) as s:
            allowed = 0
            while allowed <= limit and req(s).status == 200:
                allowed += 1
            forgotten = allowed - (limit - before)
            check(0 <= forgotten <= sync_every - 1,
                  f"after a kill -9 at {before} counted requests, {allowed} more were allowed: "
                  f"{forgotten} forgotten, the bound is sync-every - 1 = {sync_every - 1}")
            check_status(req(s), 402, "and then the quota is spent")
    finally:
        remove_tree(d)
