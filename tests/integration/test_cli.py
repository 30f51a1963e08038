"""The command line: --help, --version, explain, flag errors (exit 2), a port in
use (exit 1), --root."""

import os
import re
import socket
import time

from harness import (A_TXT, NXX_BIN, Server, check, check_status, eq, get, make_docroot,
                     remove_tree, run_cmd)

FLAGS = ["--root", "--listen", "--threads", "--request-timeout", "--keepalive-timeout",
         "--max-connections", "--max-header-bytes", "--max-uri-bytes", "--max-body-bytes",
         "--access-log", "--access-log-format", "--trace"]


def _out(p):
    return p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


def test_help_mentions_every_flag():
    p = run_cmd([NXX_BIN, "--help"])
    eq(p.returncode, 0, "nxx --help exit status")
    text = p.stdout.decode("utf-8", "replace")
    missing = [f for f in FLAGS if not re.search(re.escape(f) + r"(?![\w-])", text)]
    eq(missing, [], "flags missing from --help (on stdout)")
    for word in ("serve", "explain"):
        check(word in text, f"--help does not mention '{word}'")


def test_version():
    p = run_cmd([NXX_BIN, "--version"])
    eq(p.returncode, 0, "nxx --version exit status")
    text = _out(p)
    check(re.search(r"\d+\.\d+\.\d+", text), f"no version number in {text!r}")
    check("nxx" in text.lower(), f"version output does not name nxx: {text!r}")


def test_explain_404():
    p = run_cmd([NXX_BIN, "explain", "404"])
    eq(p.returncode, 0, "nxx explain 404 exit status")
    text = _out(p)
    check("Not Found" in text, f"no reason phrase: {text!r}")
    check("RFC 9110" in text, f"no RFC: {text!r}")
    check("4xx" in text or "client error" in text.lower(), f"no class: {text!r}")


def test_explain_other_rfcs():
    for code, reason, rfc in ((431, "Request Header Fields Too Large", "RFC 6585"),
                              (451, "Unavailable For Legal Reasons", "RFC 7725"),
                              (103, "Early Hints", "RFC 8297")):
        p = run_cmd([NXX_BIN, "explain", str(code)])
        eq(p.returncode, 0, f"explain {code} exit status")
        text = _out(p)
        check(reason in text and rfc in text, f"explain {code}: {text!r}")


def test_explain_sent_lists_what_nxx_sends_today():
    p = run_cmd([NXX_BIN, "explain", "--sent"])
    eq(p.returncode, 0, "explain --sent exit status")
    sent = {}
    for line in p.stdout.decode().splitlines():
        code, who = line.split()
        sent[int(code)] = who
    eq((sent.get(200), sent.get(418), sent.get(101), sent.get(426)),
       ("serve", "serve", "serve", "serve"), "who sends 200, 418, 101, 426")
    eq((sent.get(103), sent.get(300), sent.get(506)), ("serve", "serve", "serve"),
       "who sends 103, 300, 506")
    for never in (305, 306):
        check(never not in sent, f"{never} listed as sent")
    text = _out(run_cmd([NXX_BIN, "explain", "306"]))
    check("never" in text, f"explain 306 says it is never sent: {text!r}")
    p = run_cmd([NXX_BIN, "explain", "--sent", "404"])
    eq(p.returncode, 2, "explain --sent with a code")


def test_explain_unknown_code_fails():
    for arg in ("999", "abc", "42"):
        p = run_cmd([NXX_BIN, "explain", arg])
        check(p.returncode != 0, f"nxx explain {arg} exited 0")
        check(_out(p).strip(), f"nxx explain {arg}: no message")


def test_explain_all_lists_registry():
    p = run_cmd([NXX_BIN, "explain", "--all"])
    eq(p.returncode, 0, "explain --all exit status")
    text = _out(p)
    for code in ("100", "200", "404", "418", "421", "425", "431", "451", "511"):
        check(re.search(r"\b" + code + r"\b", text), f"explain --all lacks {code}")
    check("I'm a teapot" in text or "teapot" in text.lower(), "418 without its reason phrase")


def test_unknown_flag_exits_2_naming_it():
    p = run_cmd([NXX_BIN, "serve", "--bogus"], timeout_s=5)
    eq(p.returncode, 2, "exit status for --bogus")
    err = p.stderr.decode("utf-8", "replace").strip()
    lines = err.splitlines()
    eq(len(lines), 1, f"stderr lines for --bogus ({err!r})")
    check("--bogus" in lines[0], f"message does not name --bogus: {lines[0]!r}")


def test_bad_flag_values_exit_2():
    root = make_docroot()
    try:
        for args in (["--threads", "abc"], ["--threads", "-1"], ["--max-connections", "x"],
                     ["--request-timeout", "1s"], ["--max-body-bytes", ""],
                     ["--access-log-format", "xml"], ["--listen", "nonsense"], ["--threads"]):
            p = run_cmd([NXX_BIN, "serve", root] + args, timeout_s=5)
            eq(p.returncode, 2, f"exit status for {args}")
            err = p.stderr.decode("utf-8", "replace").strip()
            check(err and args[0] in err, f"{args}: message does not name {args[0]}: {err!r}")
            eq(len(err.splitlines()), 1, f"{args}: one line of error ({err!r})")
    finally:
        remove_tree(root)


def test_unknown_command_exits_2():
    p = run_cmd([NXX_BIN, "frobnicate"], timeout_s=5)
    eq(p.returncode, 2, "exit status for an unknown command")


def test_port_in_use_exits_1_naming_address():
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    root = make_docroot()
    try:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        p = run_cmd([NXX_BIN, "serve", root, "--listen", f"127.0.0.1:{port}", "--threads", "2"],
                    timeout_s=10)
        eq(p.returncode, 1, "exit status for a port in use")
        err = p.stderr.decode("utf-8", "replace")
        check(f"127.0.0.1:{port}" in err, f"message does not name 127.0.0.1:{port}: {err!r}")
        check("in use" in err.lower(), f"message does not say the address is in use: {err!r}")
    finally:
        holder.close()
        remove_tree(root)


def test_missing_root_directory_fails():
    p = run_cmd([NXX_BIN, "serve", "/nonexistent/nxx-root", "--listen", "127.0.0.1:0"],
                timeout_s=10)
    check(p.returncode != 0, "serving a missing directory exited 0")


def test_root_flag_serves_directory():
    root = make_docroot()
    try:
        with Server(root, root_flag=True) as s:
            r = get(s, "/a.txt")
            check_status(r, 200, "--root DIR")
            eq(r.body, A_TXT, "body")
    finally:
        remove_tree(root)


def test_threads_1_serves():
    root = make_docroot()
    try:
        with Server(root, threads=1) as s:
            check_status(get(s, "/a.txt"), 200, "--threads 1")
    finally:
        remove_tree(root)


def _policies(pid, threads):
    """The scheduling policy of each of pid's threads (field 41 of stat:
    0 SCHED_OTHER, 3 SCHED_BATCH), once it has `threads` of them."""
    deadline = time.monotonic() + 5
    while True:
        out = []
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                data = f.read()
            out.append(int(data[data.rfind(")") + 2:].split()[38]))
        if len(out) >= threads or time.monotonic() > deadline:
            return sorted(out)
        time.sleep(0.01)


def test_workers_run_sched_batch_unless_normal():
    if not os.path.isdir("/proc/self/task"):
        return  # not Linux
    root = make_docroot()
    try:
        with Server(root, threads=2) as s:
            check_status(get(s, "/a.txt"), 200, "default scheduling")
            eq(_policies(s.proc.pid, 2), [3, 3], "workers' policies (SCHED_BATCH)")
        with Server(root, "--scheduling", "normal", threads=2) as s:
            check_status(get(s, "/a.txt"), 200, "--scheduling normal")
            eq(_policies(s.proc.pid, 2), [0, 0], "workers' policies (SCHED_OTHER)")
    finally:
        remove_tree(root)
