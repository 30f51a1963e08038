"""Regression: running out of file descriptors took the server down.  The
accept handler logged a warning and returned; the listener, level-triggered,
was reported readable again at once, so the worker spun at full CPU writing a
warning per turn, and new clients got no answer until connections closed.

Now each worker keeps a reserve descriptor: out of descriptors, it frees it,
accepts the waiting connection, answers 503 with Retry-After and closes it;
when even that fails it stops accepting for a moment instead of spinning; the
warning comes at most once a second per worker; and the start-up says when
the descriptor limit cannot hold --max-connections."""

import os
import re
import socket
import ssl
import sys
import time

from harness import (Conn, Server, check, check_status, get, make_docroot, remove_tree,
                     served_again, timeout, tls_wrap)

# Alone on the machine (run.py): it measures the server's CPU use, which other
# tests running beside it would make look smaller than it is.
SERIAL = True

NOFILE = 128  # the server's descriptor limit, soft and hard
IDLE = 170    # idle connections: more than the server can hold

# Run argv[2:] with RLIMIT_NOFILE set to argv[1] (soft and hard), in the same
# process (exec), so the harness sees and stops the server itself.
_WITH_LIMIT = ("import os, resource, sys; n = int(sys.argv[1]); "
               "resource.setrlimit(resource.RLIMIT_NOFILE, (n, n)); "
               "os.execv(sys.argv[2], sys.argv[2:])")


class LimitedServer(Server):
    def __init__(self, root, nofile, *args, **kw):
        super().__init__(root, *args, **kw)
        self.argv = [sys.executable, "-c", _WITH_LIMIT, str(nofile)] + self.argv


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    # fields[0] is the state (field 3): utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def warnings(text):
    return [l for l in text.splitlines() if l.startswith("nxx: warn:")]


def _check_answered_503(s):
    """A new client is answered at once: 503, Retry-After, closed."""
    with Conn(s, 5) as c:
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", tolerant=True)
        r = c.read_response(timeout_s=5)
        check_status(r, 503, "a new connection while out of descriptors")
        check((r.header("retry-after") or "").isdigit(),
              f"503 without a delay-seconds Retry-After: {r.raw!r}")
        check(r.content_type == "application/problem+json",
              f"503 without a problem body: {r.raw!r}")
        check(c.wait_eof(5), "the 503 connection was not closed")


def _check_closed_without_handshake(s):
    """A new TLS client is closed at once, not left waiting."""
    sock = socket.create_connection(s.addr, timeout=5)
    try:
        tls_wrap(sock, s)
        raise AssertionError("a TLS handshake succeeded while out of descriptors")
    except (ssl.SSLError, ConnectionError):
        pass  # closed (a timeout, TimeoutError, is not caught: it fails the test)
    finally:
        sock.close()


@timeout(60)
def test_out_of_descriptors_answers_503_and_stays_quiet():
    root = make_docroot()
    idle = []
    try:
        with LimitedServer(root, NOFILE, "--access-log", "off", threads=2) as s:
            pid = s.proc.pid
            # the start-up names the limit and what --max-connections needs
            check(re.search(r"descriptor limit.*\b%d\b.*--max-connections" % NOFILE, s.stderr),
                  "no start-up warning about the descriptor limit:\n" + s.stderr)
            start_warnings = len(warnings(s.stderr))

            for _ in range(IDLE):
                idle.append(socket.create_connection(s.addr, timeout=5))
            # the server has taken every descriptor it may have
            deadline = time.monotonic() + 10
            while open_fds(pid) < NOFILE - 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            check(open_fds(pid) >= NOFILE - 1,
                  f"the server holds {open_fds(pid)} descriptors, expected about {NOFILE}")

            # out of descriptors with connections waiting: no busy loop
            c0, t0 = cpu_seconds(pid), time.monotonic()
            time.sleep(1.0)  # a measuring interval, not a synchronisation
            used = (cpu_seconds(pid) - c0) / (time.monotonic() - t0)
            check(used < 0.3, f"the server used {used:.2f} s of CPU per second while out of "
                              "descriptors (it spins on the listener)")

            if s.tls:
                # on a TLS listener a plain 503 could not be read: the
                # connection taken on the reserve is closed (docs/tls.md)
                _check_closed_without_handshake(s)
            else:
                _check_answered_503(s)

            # the warning is rate-limited: about one line a second, not one per turn
            lines = warnings(s.stderr)[start_warnings:]
            check(0 < len(lines) <= 6,
                  f"{len(lines)} warning lines while out of descriptors (expected 1 to 6): "
                  f"{lines[:3]!r}")

            # capacity comes back when the idle connections go
            for sock in idle:
                sock.close()
            idle = []
            served_again(s, "/a.txt", 10, "requests after the idle connections closed")
    finally:
        for sock in idle:
            sock.close()
        remove_tree(root)
