#!/usr/bin/env python3
"""Run the nxx integration tests.

    python3 tests/integration/run.py [FILTER]

Discovers tests/integration/test_*.py and tests/regress/test_*.py (one file
per fixed bug, named after it) and runs every function named test_*
(in file order) whose "module.name" contains FILTER.  Each test runs with a
bounded time (30 s unless the test says otherwise with @harness.timeout).
Prints "ok NAME", "FAIL NAME: reason" or "skip NAME: reason" per test, and
ends with one line "N passed, N failed, N skipped"; exits 1 if any failed.

After a module, the servers it shared are stopped with SIGTERM and their exit
(status 0, no sanitizer report under NXX_SANITIZED=1) is reported as a test
of its own.
"""

import importlib
import os
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REGRESS = os.path.join(os.path.dirname(HERE), "regress")
sys.path.insert(0, HERE)
sys.path.insert(1, REGRESS)

import harness  # noqa: E402

DEFAULT_TIMEOUT = 30.0


def run_one(fn):
    """Run fn in a thread with a bound.  Returns ("ok"|"fail"|"skip", reason)."""
    result = {}

    def body():
        try:
            fn()
            result["r"] = ("ok", "")
        except harness.Skip as e:
            result["r"] = ("skip", str(e))
        except AssertionError as e:
            msg = str(e) or "assertion failed"
            tb = traceback.extract_tb(e.__traceback__)
            where = next((f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(tb)
                          if os.path.basename(f.filename).startswith("test_")), "")
            result["r"] = ("fail", f"{msg} [{where}]" if where else msg)
        except Exception:  # noqa: BLE001 - any error is a failure of the test
            result["r"] = ("fail", traceback.format_exc())

    limit = getattr(fn, "timeout", DEFAULT_TIMEOUT)
    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join(limit)
    if t.is_alive():
        return "fail", f"timed out after {limit:.0f} s"
    return result["r"]


def indent(text):
    return "\n".join("    " + line for line in text.rstrip().splitlines())


def main():
    flt = sys.argv[1] if len(sys.argv) > 1 else ""
    modules = []
    for d in (HERE, REGRESS):
        if os.path.isdir(d):
            modules += sorted(f[:-3] for f in os.listdir(d) if f.startswith("test_") and f.endswith(".py"))
    counts = {"ok": 0, "fail": 0, "skip": 0}
    failed = []
    start = time.monotonic()

    def report(name, status, reason):
        counts[status] += 1
        if status == "ok":
            print(f"ok {name}", flush=True)
        elif status == "skip":
            print(f"skip {name}: {reason}", flush=True)
        else:
            failed.append(name)
            first, _, rest = reason.partition("\n")
            print(f"FAIL {name}: {first}", flush=True)
            if rest.strip():
                print(indent(rest), flush=True)

    for modname in modules:
        try:
            mod = importlib.import_module(modname)
        except Exception:  # noqa: BLE001
            report(f"{modname} (import)", "fail", traceback.format_exc())
            continue
        tests = [
            (name, fn) for name, fn in vars(mod).items()
            if name.startswith("test_") and callable(fn) and getattr(fn, "__module__", "") == modname
        ]
        tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
        selected = [(n, f) for n, f in tests if flt in f"{modname}.{n}"]
        if not selected:
            continue
        for name, fn in selected:
            t0 = time.monotonic()
            status, reason = run_one(fn)
            full = f"{modname}.{name}"
            if status == "ok" and time.monotonic() - t0 > 5:
                full += f" ({time.monotonic() - t0:.1f} s)"
            report(full, status, reason)
        for what, err in harness.teardown_shared():
            report(f"{modname} [{what}]", "ok" if err is None else "fail", str(err or ""))
        cleanup = getattr(mod, "teardown_module", None)
        if cleanup:
            try:
                cleanup()
            except Exception:  # noqa: BLE001
                pass

    elapsed = time.monotonic() - start
    if failed:
        print(f"\nfailed ({len(failed)}):", flush=True)
        for name in failed:
            print(f"  {name}", flush=True)
    print(f"(took {elapsed:.1f} s)", flush=True)
    print(f"{counts['ok']} passed, {counts['fail']} failed, {counts['skip']} skipped", flush=True)
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
