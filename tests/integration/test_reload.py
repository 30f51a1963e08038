"""Reloading: SIGHUP loads the file again (new requests see it at once), a file
that does not load is refused and the running configuration kept, settings
that need a restart keep their value with a warning, twenty reloads under a
steady load fail no request, a flags-only server re-evaluates its flags, and
SIGUSR1 reopens the access log."""

import os
import signal
import threading
import time

from harness import (Conn, ConfigServer, Server, check, check_status, config_dir, eq, get,
                     remove_tree, timeout, write_config)


def redirect_config(target, extra=""):
    return (f"access-log: off\n{extra}locations:\n"
            f"  /r: {{redirect: {{to: \"{target}\", status: 302}}}}\n"
            f"  \"= /health\": {{return: 204}}\n")


def location_of(srv, path="/r"):
    r = get(srv, path)
    check_status(r, 302, f"GET {path}")
    return r.header("location")


def test_sighup_changes_a_redirect_target():
    d, path = config_dir(redirect_config("/a"))
    try:
        with ConfigServer(path) as s:
            eq(location_of(s), "/a", "before the reload")
            write_config(path, redirect_config("/b"))
            line = s.reload()
            check("generation 2" in line, f"reload line: {line!r}")
            eq(location_of(s), "/b", "after the reload")
    finally:
        remove_tree(d)


def test_broken_file_is_refused_and_the_running_configuration_kept():
    d, path = config_dir(redirect_config("/a"))
    try:
        with ConfigServer(path) as s:
            write_config(path, redirect_config("/b").replace("locations:", "locaitons:"))
            line = s.reload(expect_ok=False)
            want = (f"nxx: error: reload refused, the running configuration stays: {path}:2:1: "
                    "unknown key 'locaitons' at the top level (did you mean 'locations'?)")
            eq(line, want, "the logged refusal")
            eq(location_of(s), "/a", "the running configuration")
            # a file that reads but does not build is refused the same way
            write_config(path, redirect_config("/b") + "  /f: {files: /nonexistent/nxx}\n")
            line = s.reload(expect_ok=False)
            check("cannot serve '/nonexistent/nxx'" in line, f"refusal: {line!r}")
            eq(location_of(s), "/a", "still the running configuration")
            write_config(path, redirect_config("/c"))
            s.reload()
            eq(location_of(s), "/c", "a fixed file loads")
    finally:
        remove_tree(d)


def test_restart_settings_keep_their_value_with_a_warning():
    d, path = config_dir(redirect_config("/a", "server-name: first\n"))
    try:
        with ConfigServer(path) as s:
            eq(get(s, "/health").header("server"), "first", "Server")
            write_config(path, redirect_config("/b", "server-name: second\n"))
            s.reload()
            check("'server-name' in " + path in s.stderr and "only a restart" in s.stderr,
                  "no warning naming server-name:\n" + s.stderr)
            eq(get(s, "/health").header("server"), "first", "Server after the reload")
            eq(location_of(s), "/b", "the rest of the file is applied")
    finally:
        remove_tree(d)


def test_flags_are_applied_again_on_reload():
    # --max-body-bytes over the file's value holds after a reload too
    text = "access-log: off\nmax-body-bytes: 5\nlocations:\n  /: {teapot: {}}\n"
    d, path = config_dir(text)
    try:
        with ConfigServer(path, "--max-body-bytes", "100") as s:
            from harness import build_request, one
            body = b"x" * 50
            req = build_request("POST", "/", [("Content-Type", "message/teapot")], body)
            check(one(s, req, "POST").status != 413, "the flag's limit")
            write_config(path, text.replace("5", "6"))
            s.reload()
            check(one(s, req, "POST").status != 413, "the flag's limit after a reload")
    finally:
        remove_tree(d)


@timeout(90)
def test_twenty_reloads_under_load_fail_no_request():
    d, path = config_dir(redirect_config("/a"))
    stop = threading.Event()
    failures, counts = [], []
    try:
        with ConfigServer(path, threads=2) as s:
            def client(n):
                done = 0
                conn = None
                try:
                    while not stop.is_set():
                        if conn is None or done % 50 == 0:
                            if conn:
                                conn.close()
                            conn = Conn(s)
                        r = conn.request("GET", "/r")
                        if r.status != 302 or r.header("location") not in ("/a", "/b"):
                            failures.append(f"client {n}: {r.status} {r.header('location')}")
                        done += 1
                except Exception as e:  # noqa: BLE001 - every error is a failed request
                    failures.append(f"client {n}: {e!r}")
                finally:
                    if conn:
                        conn.close()
                    counts.append(done)

            pool = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(6)]
            for t in pool:
                t.start()
            time.sleep(0.2)
            slow = []
            for i in range(20):
                target = "/b" if i % 2 == 0 else "/a"
                write_config(path, redirect_config(target))
                s.reload()
                # from the moment the reload is logged, new requests see it
                t0 = time.monotonic()
                first = True
                while location_of(s) != target:
                    check(time.monotonic() - t0 < 2.0,
                          f"reload {i + 1}: still the old target 2 s after the reload")
                    first = False
                    time.sleep(0.01)
                if not first:
                    slow.append(i + 1)
            stop.set()
            for t in pool:
                t.join(10)
            eq(failures, [], "failed requests during the reloads")
            check(sum(counts) > 100, f"the load was too light: {counts}")
            check(len(slow) <= 2, f"the new target was late after reloads {slow}")
            eq(s.stderr.count("configuration reloaded"), 20, "reloads logged")
    finally:
        stop.set()
        remove_tree(d)


def test_flags_only_server_reloads_its_flags():
    d, _ = config_dir(None, files={"root/a.txt": b"first\n"})
    root = os.path.join(d, "root")
    try:
        with Server(root, "--access-log", "off") as s:
            eq(get(s, "/a.txt").body, b"first\n", "before")
            # a new tree at the same path: the running generation holds the old one
            os.rename(root, root + ".old")
            os.makedirs(root)
            with open(os.path.join(root, "a.txt"), "wb") as f:
                f.write(b"second\n")
            s.wait_serving()
            s.signal(signal.SIGHUP)
            check(s.wait_stderr(lambda t: "configuration reloaded" in t, 10), s.describe())
            t0 = time.monotonic()
            while get(s, "/a.txt").body != b"second\n":
                check(time.monotonic() - t0 < 3, "the new root is not served after the reload")
                time.sleep(0.05)
    finally:
        remove_tree(d)


def test_sigusr1_reopens_the_access_log():
    d, path = config_dir()
    log = os.path.join(d, "access.log")
    write_config(path, f"access-log: {log}\nlocations:\n  /: {{return: 204}}\n")
    try:
        with ConfigServer(path) as s:
            get(s, "/before")
            t0 = time.monotonic()
            while "/before" not in open(log).read():  # flushed once a second
                check(time.monotonic() - t0 < 3, "the first line never reached the log")
                time.sleep(0.05)
            os.rename(log, log + ".1")
            s.wait_serving()
            s.signal(signal.SIGUSR1)
            check(s.wait_stderr(lambda t: "reopened access log" in t, 5),
                  "no 'reopened access log' line: " + s.describe())
            check(os.path.exists(log), "no new file at the old path")
            get(s, "/after")
            t0 = time.monotonic()
            while "/after" not in open(log).read():
                check(time.monotonic() - t0 < 3, "the new line is not in the new file")
                time.sleep(0.05)
            old = open(log + ".1").read()
            check("/before" in old and "/after" not in old, f"the old file: {old!r}")
            check("/before" not in open(log).read(), "the new file has the old line")
    finally:
        remove_tree(d)
