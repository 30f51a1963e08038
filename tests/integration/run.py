#!/usr/bin/env python3
"""Run the nxx integration tests.

    python3 tests/integration/run.py [-j N] [FILTER]

Discovers tests/integration/test_*.py and tests/regress/test_*.py (one file
per fixed bug, named after it) and runs every function named test_*
(in file order) whose "module.name" contains FILTER.  Each test runs with a
bounded time (30 s unless the test says otherwise with @harness.timeout).
Prints "ok NAME", "FAIL NAME: reason" or "skip NAME: reason" per test, and
ends with one line "N passed, N failed, N skipped"; exits 1 if any failed.

After a module, the servers it shared are stopped with SIGTERM and their exit
(status 0, no sanitizer report under NXX_SANITIZED=1) is reported as a test
of its own.

Modules run in parallel, -j N at a time (default: one per CPU), each in a
runner process of its own (this script with --module); a module's output is
held until it ends and printed whole, in module order, so the output reads
the same whatever ran beside it.  The longest modules start first: a run
without a filter leaves each module's time in tests/integration/.durations.json
(not kept in git), as ctest keeps its cost data.  A module that must not share the machine
(it measures time, memory or CPU, or lowers a process limit) says so with a
module-level `SERIAL = True`: such modules run one at a time after the
others.  -j 1 runs every module in this process, one after the other.

When no FILTER is given, the run ends with the status census: every server
the harness started logged what it answered (harness.census_*), and every
code `nxx explain --sent` lists must have been answered by some test -- by
`nxx serve` for the codes it marks "serve" -- and `nxx serve` must have
answered nothing the registry does not mark as sent by it.
"""

import argparse
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REGRESS = os.path.join(os.path.dirname(HERE), "regress")
sys.path.insert(0, HERE)
sys.path.insert(1, REGRESS)

DEFAULT_TIMEOUT = 30.0
# A whole module in a runner process: its tests are bounded one by one, so
# this only catches a runner that hangs outside them.
MODULE_TIMEOUT = 1800.0
DURATIONS = os.path.join(HERE, ".durations.json")

harness = None  # imported once the census directory is in the environment


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


class Results:
    """Counts, failed names, and the per-test lines, printed as they come."""

    def __init__(self):
        self.counts = {"ok": 0, "fail": 0, "skip": 0}
        self.failed = []

    def report(self, name, status, reason=""):
        self.counts[status] += 1
        if status == "ok":
            print(f"ok {name}", flush=True)
        elif status == "skip":
            print(f"skip {name}: {reason}", flush=True)
        else:
            self.failed.append(name)
            first, _, rest = reason.partition("\n")
            print(f"FAIL {name}: {first}", flush=True)
            if rest.strip():
                print(indent(rest), flush=True)

    def add(self, counts, failed):
        for k in self.counts:
            self.counts[k] += counts.get(k, 0)
        self.failed += failed


# ---------------------------------------------------------------------------
# modules


def discover():
    """[(module name, path)] in the order they run and print."""
    out = []
    for d in (HERE, REGRESS):
        if os.path.isdir(d):
            out += [(f[:-3], os.path.join(d, f)) for f in sorted(os.listdir(d))
                    if f.startswith("test_") and f.endswith(".py")]
    return out


def read_source(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def is_serial(source):
    return re.search(r"^SERIAL\s*=\s*True\b", source, re.M) is not None


def may_match(modname, source, flt):
    """False only when no test function of the module can match FILTER (a text scan,
    so a module is never imported by the parent; the runner selects for real)."""
    if not flt or flt in modname:
        return True
    return any(flt in f"{modname}.{name}" for name in re.findall(r"^def (test_\w+)", source, re.M))


def run_module(modname, flt, results):
    """Run the selected tests of one module in this process."""
    try:
        mod = importlib.import_module(modname)
    except Exception:  # noqa: BLE001
        results.report(f"{modname} (import)", "fail", traceback.format_exc())
        return
    tests = [
        (name, fn) for name, fn in vars(mod).items()
        if name.startswith("test_") and callable(fn) and getattr(fn, "__module__", "") == modname
    ]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    selected = [(n, f) for n, f in tests if flt in f"{modname}.{n}"]
    if not selected:
        return
    for name, fn in selected:
        t0 = time.monotonic()
        status, reason = run_one(fn)
        full = f"{modname}.{name}"
        if status == "ok" and time.monotonic() - t0 > 5:
            full += f" ({time.monotonic() - t0:.1f} s)"
        results.report(full, status, reason)
    for what, err in harness.teardown_shared():
        results.report(f"{modname} [{what}]", "ok" if err is None else "fail", str(err or ""))
    cleanup = getattr(mod, "teardown_module", None)
    if cleanup:
        harness.at_teardown(cleanup)
    for what, err in harness.run_teardown():
        results.report(f"{modname} [teardown: {what}]", "fail", str(err))


def load_durations():
    """{module: seconds} from the last full run, or {}."""
    try:
        with open(DURATIONS, encoding="utf-8") as f:
            return {str(k): float(v) for k, v in json.load(f).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def save_durations(durations):
    known = load_durations()
    known.update(durations)
    tmp = f"{DURATIONS}.{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({k: round(v, 1) for k, v in known.items()}, f, indent=0, sort_keys=True)
        os.replace(tmp, DURATIONS)  # a run beside this one reads either file whole
    except OSError:
        pass


_running = set()  # runner processes now running, killed if this one is interrupted
_running_lock = threading.Lock()


def kill_runners():
    with _running_lock:
        for proc in _running:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the runner and every server it started
            except OSError:
                pass


def spawn_module(modname, flt):
    """Run one module in a runner process of its own.

    Returns (output, counts, failed, seconds).  The runner gets a session of
    its own, so a runner that outlives MODULE_TIMEOUT is killed together with
    every server it started."""
    fd, result_path = tempfile.mkstemp(prefix=f"nxx-it-{modname}-", suffix=".json")
    os.close(fd)
    argv = [sys.executable, os.path.abspath(__file__), "--module", modname,
            "--result", result_path, flt]
    t0 = time.monotonic()
    with _running_lock:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        _running.add(proc)
    try:
        out, _ = proc.communicate(timeout=MODULE_TIMEOUT)
        note = None if proc.returncode in (0, 1) else f"runner exited with status {proc.returncode}"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        note = f"runner still running after {MODULE_TIMEOUT:.0f} s; killed"
    finally:
        with _running_lock:
            _running.discard(proc)
    seconds = time.monotonic() - t0
    text = out.decode("utf-8", "replace")
    try:
        with open(result_path, encoding="utf-8") as f:
            r = json.load(f)
        counts, failed = r["counts"], r["failed"]
    except (OSError, ValueError, KeyError):
        counts, failed = {"ok": 0, "fail": 0, "skip": 0}, []
        note = note or "runner wrote no result"
    finally:
        os.unlink(result_path)
    if note:
        text += f"FAIL {modname} (runner): {note}\n"
        counts = dict(counts, fail=counts.get("fail", 0) + 1)
        failed = failed + [f"{modname} (runner)"]
    return text, counts, failed, seconds


def run_parallel(modules, flt, jobs, results):
    """Run modules jobs at a time, the longest (last time) first; print each
    module's output whole, in module order."""
    done = {}
    cond = threading.Condition()
    known = load_durations()
    # unknown modules first (they may be long), then by the time they took
    todo = sorted(modules, key=lambda m: -known.get(m, float("inf")))
    durations = {}

    def worker():
        while True:
            with cond:
                if not todo:
                    return
                modname = todo.pop(0)
            try:
                r = spawn_module(modname, flt)
            except Exception:  # noqa: BLE001 - reported as the module's failure
                r = (f"FAIL {modname} (runner): could not run it\n"
                     + indent(traceback.format_exc()) + "\n",
                     {"ok": 0, "fail": 1, "skip": 0}, [f"{modname} (runner)"], 0.0)
            with cond:
                done[modname] = r
                cond.notify_all()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for modname in modules:
        with cond:
            while modname not in done:
                cond.wait()
            text, counts, failed, seconds = done.pop(modname)
        sys.stdout.write(text)
        sys.stdout.flush()
        results.add(counts, failed)
        durations[modname] = seconds
    for t in threads:
        t.join()
    return durations


# ---------------------------------------------------------------------------
# the census


def census_check(census_dir, results):
    """Compare the statuses answered during the run with the registry's sent set."""
    name = "census [every status nxx sends was produced by a test]"
    p = subprocess.run([harness.NXX_BIN, "explain", "--sent"], capture_output=True, timeout=30)
    if p.returncode != 0:
        results.report(name, "fail", f"nxx explain --sent exited {p.returncode}: "
                                     f"{p.stderr.decode(errors='replace')}")
        return
    sent = {}
    for line in p.stdout.decode().splitlines():
        fields = line.split()
        if len(fields) != 2 or not fields[0].isdigit():
            results.report(name, "fail", f"nxx explain --sent printed {line!r}")
            return
        sent[int(fields[0])] = fields[1]
    by_kind = {}  # "nxx", "hello", ... -> set of final statuses
    interim = set()
    for f in os.listdir(census_dir):
        path = os.path.join(census_dir, f)
        with open(path, encoding="utf-8", errors="replace") as fh:
            if f.startswith("interim-"):
                interim |= {int(line) for line in fh if line.strip()}
                continue
            kind = f.split("-", 1)[0]
            seen = by_kind.setdefault(kind, set())
            for line in fh:
                try:
                    seen.add(int(json.loads(line)["status"]))
                except (ValueError, KeyError, TypeError):
                    pass  # a line cut short by a killed server
    serve = by_kind.get("nxx", set())
    anywhere = set(interim).union(*by_kind.values()) if by_kind else set(interim)
    problems = []
    missing = sorted(c for c, who in sent.items()
                     if c not in (serve | interim if who == "serve" else anywhere))
    if missing:
        problems.append("sent by nxx but never produced by a test: " + ", ".join(
            f"{c} ({'nxx serve' if sent[c] == 'serve' else 'library'}"
            f"{', only by an example' if sent[c] == 'serve' and c in anywhere else ''})"
            for c in missing))
    unmarked = sorted(c for c in serve if sent.get(c) != "serve")
    if unmarked:
        problems.append("answered by nxx serve but not marked sent by it in "
                        "src/http/status_list.h: " + ", ".join(map(str, unmarked)))
    others = sorted(anywhere - serve - interim - set(sent))
    if others:
        # an embedding program's own handler may answer any status
        print(f"note: the examples also answered {', '.join(map(str, others))}, "
              "which no mechanism of nxx sends yet", flush=True)
    if problems:
        results.report(name, "fail", "\n".join(problems))
    else:
        results.report(name, "ok")


# ---------------------------------------------------------------------------


def main():
    global harness
    ap = argparse.ArgumentParser(description="Run the nxx integration tests.")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="modules run at once (default: the number of CPUs)")
    ap.add_argument("--module", help=argparse.SUPPRESS)  # runner process: one module
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("filter", nargs="?", default="")
    args = ap.parse_args()
    flt = args.filter

    if args.module:
        import harness as h  # noqa: E402 - NXX_IT_CENSUS comes from the parent
        harness = h
        results = Results()
        run_module(args.module, flt, results)
        with open(args.result, "w", encoding="utf-8") as f:
            json.dump({"counts": results.counts, "failed": results.failed}, f)
        return 1 if results.counts["fail"] else 0

    census_dir = None
    if not flt and "NXX_IT_CENSUS" not in os.environ:
        census_dir = tempfile.mkdtemp(prefix="nxx-it-census-")
        os.environ["NXX_IT_CENSUS"] = census_dir
    import harness as h  # noqa: E402
    harness = h

    start = time.monotonic()
    results = Results()
    modules = []
    serial = []
    for modname, path in discover():
        source = read_source(path)
        if may_match(modname, source, flt):
            (serial if is_serial(source) else modules).append(modname)
    durations = {}
    # runners have sessions of their own (so a hung one is killed with its
    # servers): an interrupted run takes them down itself
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if args.jobs <= 1:
            for modname in modules + serial:
                t0 = time.monotonic()
                run_module(modname, flt, results)
                durations[modname] = time.monotonic() - t0
        else:
            durations.update(run_parallel(modules, flt, args.jobs, results))
            durations.update(run_parallel(serial, flt, 1, results))
        if census_dir:
            census_check(census_dir, results)
        if not flt:
            save_durations(durations)
    finally:
        kill_runners()
        if census_dir:
            shutil.rmtree(census_dir, ignore_errors=True)

    elapsed = time.monotonic() - start
    if results.failed:
        print(f"\nfailed ({len(results.failed)}):", flush=True)
        for name in results.failed:
            print(f"  {name}", flush=True)
    slow = sorted(durations.items(), key=lambda kv: -kv[1])[:5]
    if slow:
        print("slowest modules: " + ", ".join(f"{m} {s:.1f} s" for m, s in slow), flush=True)
    print(f"(took {elapsed:.1f} s, -j {max(1, args.jobs)})", flush=True)
    c = results.counts
    print(f"{c['ok']} passed, {c['fail']} failed, {c['skip']} skipped", flush=True)
    return 1 if c["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
