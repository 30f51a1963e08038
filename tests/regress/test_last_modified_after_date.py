"""Regression: REST writes sometimes answered with a Last-Modified one second
later than their Date (51 answers in 9,618 of a PUT/PATCH loop, each just
after a second boundary): Date comes from the worker loop's coarse clock,
the stored update time from CLOCK_REALTIME on the store's writer thread.
RFC 9110 §8.8.2.1: an origin server MUST NOT send a Last-Modified later than
its Date.  The same holds for a file whose modification time is in the
future (clock skew, an archive from elsewhere): Last-Modified is then the
Date."""

import email.utils
import os
import threading
import time

from harness import (Conn, Server, check, check_status, make_docroot, shared,
                     timeout, temp_dir)

WRITERS = 8
ANSWERS = 4000     # at least this many write answers,
MIN_SECONDS = 8.0  # over this many second boundaries (where the fault was) ...
MAX_SECONDS = 40.0  # ... unless this runs out first


def srv():
    def make():
        root = make_docroot()
        data = temp_dir("nxx-lm-")
        os.utime(os.path.join(root, "a.txt"), (time.time() + 86400 * 365,) * 2)
        return Server(root, "--api", "/api", "--data", data, threads=2)
    return shared("nxx serve --api (Last-Modified)", make)


def _seconds(value, what):
    check(value, f"{what}: field missing")
    return email.utils.parsedate_to_datetime(value).timestamp()


def _check(resp, what):
    lm = resp.header("last-modified")
    if lm is None:
        return False
    date = _seconds(resp.header("date"), f"{what}: Date")
    check(_seconds(lm, f"{what}: Last-Modified") <= date,
          f"{what}: Last-Modified {lm!r} is later than Date {resp.header('date')!r}")
    return True


def _writer(n, start, counts, errors):
    try:
        with Conn(srv(), 10) as c:
            target = f"/api/clock/w{n}"
            i = 0
            while not errors:
                took = time.monotonic() - start
                if took >= MAX_SECONDS or (took >= MIN_SECONDS and sum(counts) >= ANSWERS):
                    break
                if i % 2 == 0:
                    r = c.request("PUT", target, [("Content-Type", "application/json")],
                                  b'{"i": %d}' % i)
                    check_status(r, (200, 201), f"PUT {target}")
                else:
                    r = c.request("PATCH", target,
                                  [("Content-Type", "application/merge-patch+json")],
                                  b'{"j": %d}' % i)
                    check_status(r, 200, f"PATCH {target}")
                check(_check(r, f"{r.status} to write {i} of {target}"),
                      f"no Last-Modified on {r.raw[:300]!r}")
                if i % 16 == 0:
                    r = c.request("GET", target)
                    check_status(r, 200, f"GET {target}")
                    _check(r, f"GET {target}")
                counts[n] += 1
                i += 1
    except AssertionError as e:
        errors.append(str(e))
    except Exception as e:  # noqa: BLE001 - report it as the test's failure
        errors.append(repr(e))


@timeout(60)
def test_rest_writes_never_answer_last_modified_after_date():
    start = time.monotonic()
    counts = [0] * WRITERS
    errors = []
    threads = [threading.Thread(target=_writer, args=(n, start, counts, errors), daemon=True)
               for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(MAX_SECONDS + 10)
    check(not errors, f"after {sum(counts)} answers: {errors[0] if errors else ''}")
    check(sum(counts) >= ANSWERS, f"only {sum(counts)} write answers in {MAX_SECONDS:.0f} s")


@timeout(20)
def test_file_modified_in_the_future_has_last_modified_of_date():
    with Conn(srv(), 5) as c:
        for method in ("GET", "HEAD"):
            r = c.request(method, "/a.txt")
            check_status(r, 200, f"{method} /a.txt")
            check(_check(r, f"{method} of a file dated a year ahead"), "no Last-Modified")
            r = c.request(method, "/a.txt", [("Range", "bytes=0-3")])
            check_status(r, 206 if method == "GET" else 200, f"{method} /a.txt with Range")
            check(_check(r, f"{method} of a range of a file dated a year ahead"),
                  "no Last-Modified")
