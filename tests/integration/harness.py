"""Harness for the nxx integration tests: start the real binaries, talk to them.

Everything here is bounded: every socket has a timeout, every wait has a
deadline, and a server started through Server/Hello is always stopped (SIGTERM,
then the exit status is checked) even when the test body fails.  Only the
Python standard library is used.

The pieces:
  Server / Hello      context managers around `nxx serve` and `examples/hello`
  ConfigServer        `nxx serve --config FILE` over a temporary directory
                      (config_dir) holding the YAML file and what it serves
  check_config()      `nxx check FILE`
  shared()            one server per (module, flags), reused by a module's tests
  Conn                a raw TCP connection with a buffer and a response reader
  parse_response()    a small HTTP/1.1 response parser (Content-Length, chunked,
                      close-delimited, HEAD/1xx/204/304 without body)
  raw() / exchange()  one-shot helpers: send bytes, read what comes back
  curl()              run the curl command line client
  assert_alive()      a fresh connection still gets 200 for GET /
  make_docroot()      the standard temporary document root
  temp_dir()          a temporary directory; it, make_docroot's and
                      config_dir's are removed when the module is done
  at_teardown()       anything else to close then (upstreams, helpers)
  census_*()          the status census: every server a run starts logs what it
                      answered, for run.py's check that every code nxx sends
                      was produced by some test
"""

import atexit
import email.utils
import os
import re
import select
import shutil
import signal as _signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def _bin(env, default):
    path = os.environ.get(env) or os.path.join(REPO, default)
    if not os.path.isabs(path):
        path = os.path.join(REPO, path)
    return path


NXX_BIN = _bin("NXX_BIN", "build/nxx")
NXX_HELLO = _bin("NXX_HELLO", "build/hello")
SANITIZED = os.environ.get("NXX_SANITIZED") == "1"

LISTEN_RE = re.compile(r"listening on https?://(\[[0-9a-fA-F:.]+\]|[0-9.]+|[A-Za-z0-9.-]+):(\d+)")
IMF_FIXDATE_RE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d GMT$"
)
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")

# NXX_TRANSPORT=h2c: servers the harness starts also speak h2c, and one() (so
# get()) sends each single, whole request over HTTP/2 with prior knowledge
# (h2client.py); raw connections (Conn) and what HTTP/2 cannot carry stay
# HTTP/1.1.
# NXX_TRANSPORT=tls runs the suite over TLS: every `nxx serve` the harness
# starts gets --tls-cert/--tls-key (a certificate made once per run), and
# connections, URLs and curl go through TLS to it (without SNI, so that a
# test's Host names are not checked against the certificate: 421).
TRANSPORT = os.environ.get("NXX_TRANSPORT", "plain")
_tls_files = None


def tls_files():
    """(cert, key) of the run's certificate for localhost and 127.0.0.1."""
    global _tls_files
    if _tls_files is None:
        d = tempfile.mkdtemp(prefix="nxx-it-tls-")
        atexit.register(shutil.rmtree, d, True)
        crt, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt, "-days",
                        "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"],
                       check=True, capture_output=True, timeout=30)
        _tls_files = (crt, key)
    return _tls_files


def tls_args(argv, config=None):
    """Arguments that make `nxx serve` TLS when the run is over TLS (none for
    a server whose test chose its own certificates)."""
    if TRANSPORT != "tls" or "--tls-cert" in argv:
        return []
    if config and os.path.exists(config) and "tls-cert" in open(config).read():
        return []
    crt, key = tls_files()
    return ["--tls-cert", crt, "--tls-key", key]


START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0


class Skip(Exception):
    """Raised by a test that cannot run because an external tool is missing."""


def skip(reason):
    raise Skip(reason)


def not_under(transport, reason):
    """Skip under NXX_TRANSPORT=transport: the test is about something that
    cannot exist over it (bytes of a plain HTTP/1.1 connection, say); reason
    says why.  It is reported as skipped, and still runs over the others."""
    if TRANSPORT == transport:
        raise Skip(f"not over {transport}: {reason}")


def timeout(seconds):
    """Decorator: give one test a longer (or shorter) bound than the runner default."""

    def deco(fn):
        fn.timeout = seconds
        return fn

    return deco


# ---------------------------------------------------------------------------
# processes


class _Drain:
    """Reads a pipe in a thread so the child never blocks on a full pipe."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.data = bytearray()
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while True:
                chunk = self.pipe.read1(65536) if hasattr(self.pipe, "read1") else self.pipe.read(4096)
                if not chunk:
                    break
                with self.cond:
                    self.data += chunk
                    self.cond.notify_all()
        except (OSError, ValueError):
            pass
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def text(self):
        with self.cond:
            return self.data.decode("utf-8", "replace")

    def wait_for(self, pred, deadline):
        """Wait until pred(text) is true, the pipe closes, or the deadline passes."""
        with self.cond:
            while True:
                text = self.data.decode("utf-8", "replace")
                if pred(text):
                    return True
                if self.closed:
                    return pred(text)
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.1))

    def join(self, timeout_s=5.0):
        self.thread.join(timeout_s)


def sanitizer_report(text):
    """The sanitizer report in a process's stderr, or None."""
    for marker in SANITIZER_MARKERS:
        i = text.find(marker)
        if i >= 0:
            start = text.rfind("\n", 0, max(0, i - 200))
            return text[start + 1 :][:6000]
    return None


def tail(text, n=2000):
    return text if len(text) <= n else "..." + text[-n:]


_all_processes = []


@atexit.register
def _kill_leftovers():
    # A test that timed out may leave its server running: never leave orphans.
    for p in _all_processes:
        if p.proc is not None and p.proc.poll() is None:
            p.proc.kill()


class Process:
    """A server process that prints `listening on http://HOST:PORT` lines on stderr."""

    kind = "server"

    def __init__(self, argv, listeners=1, cwd=None, env=None):
        self.argv = argv
        self.listeners = listeners
        self.cwd = cwd
        self.env = env
        self.proc = None
        self.addrs = []  # [(host, port)], host without brackets
        self.returncode = None
        self.stopped = False
        self.tls = False  # connections to it go through TLS

    # -- lifecycle --------------------------------------------------------

    def start(self):
        binary = self.argv[0]
        if not os.path.exists(binary):
            raise AssertionError(f"{self.kind} binary not found: {binary} (run `make` first)")
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self.cwd,
            env=self.env,
        )
        _all_processes.append(self)
        self._out = _Drain(self.proc.stdout)
        self._err = _Drain(self.proc.stderr)
        deadline = time.monotonic() + START_TIMEOUT
        want = self.listeners
        ok = self._err.wait_for(lambda t: len(LISTEN_RE.findall(t)) >= want, deadline)
        if not ok:
            rc = self.proc.poll()
            self._kill()
            raise AssertionError(
                f"{self.kind} did not print {want} 'listening on http://...' line(s) within "
                f"{START_TIMEOUT:.0f} s (exit status {rc}); argv={self.argv}\nstderr:\n"
                + tail(self.stderr)
            )
        for host, port in LISTEN_RE.findall(self._err.text())[:want]:
            self.addrs.append((host.strip("[]"), int(port)))
        return self

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.stopped = True

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout_s=STOP_TIMEOUT):
        """Wait for exit; returns the exit status or raises AssertionError after timeout_s."""
        try:
            self.returncode = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._kill()
            raise AssertionError(
                f"{self.kind} did not exit within {timeout_s:.0f} s; stderr:\n" + tail(self.stderr)
            )
        self._out.join()
        self._err.join()
        self.stopped = True
        return self.returncode

    def stop(self, sig=_signal.SIGTERM, timeout_s=STOP_TIMEOUT):
        """SIGTERM, wait (bounded), assert exit 0 and, when sanitized, no report."""
        if self.proc is None:
            return
        if not self.stopped:
            self.signal(sig)
            self.wait(timeout_s)
        self.check_exit()

    def check_exit(self):
        rc = self.proc.returncode
        report = sanitizer_report(self.stderr) if SANITIZED else None
        if report:
            raise AssertionError(f"{self.kind} sanitizer report (exit {rc}):\n{report}")
        if rc != 0:
            raise AssertionError(
                f"{self.kind} exited with status {rc} (expected 0); stderr:\n" + tail(self.stderr)
            )

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.stop()
            return False
        try:
            self.stop()
        except AssertionError as stop_err:
            # Keep the test's own failure, but say that the stop failed too.
            raise AssertionError(f"{exc}\n(also, on stop: {stop_err})") from exc
        finally:
            self._kill()
        return False

    # -- introspection ----------------------------------------------------

    @property
    def stderr(self):
        return self._err.text() if getattr(self, "_err", None) else ""

    @property
    def stdout(self):
        return self._out.text() if getattr(self, "_out", None) else ""

    def wait_stderr(self, pred, timeout_s):
        return self._err.wait_for(pred, time.monotonic() + timeout_s)

    def wait_stdout(self, pred, timeout_s):
        return self._out.wait_for(pred, time.monotonic() + timeout_s)

    @property
    def host(self):
        return self.addrs[0][0]

    @property
    def port(self):
        return self.addrs[0][1]

    @property
    def addr(self):
        return self.addrs[0]

    @property
    def hostport(self):
        """Value for a Host field / authority."""
        h = self.host
        return f"[{h}]:{self.port}" if ":" in h else f"{h}:{self.port}"

    @property
    def url(self):
        return ("https://" if self.tls else "http://") + self.hostport

    @property
    def targets(self):
        """One Listener per listening address, each a target for connect(),
        get() and friends that speaks the server's transport."""
        return [Listener(self, a) for a in self.addrs]

    def describe(self):
        state = "running" if self.alive() else f"exited with {self.proc.poll()}"
        return f"{self.kind} {state}; stderr tail:\n" + tail(self.stderr, 3000)


class Server(Process):
    """`nxx serve ROOT --listen 127.0.0.1:0 --threads 2 [args]`."""

    kind = "nxx"

    def __init__(self, root, *args, listen=None, threads=2, cwd=None, env=None, root_flag=False,
                 upstream=False):
        """upstream: the server is an upstream of another nxx (which speaks plain
        HTTP/1.1 to its upstreams), so it stays plain under NXX_TRANSPORT=tls."""
        listen = listen or ["127.0.0.1:0"]
        if isinstance(listen, str):
            listen = [listen]
        argv = [NXX_BIN, "serve"]
        argv += ["--root", str(root)] if root_flag else [str(root)]
        for addr in listen:
            argv += ["--listen", addr]
        if threads:
            argv += ["--threads", str(threads)]
        argv += [str(a) for a in args]
        if TRANSPORT == "h2c" and "--h2c" not in argv:
            argv.append("--h2c")
        tls = [] if upstream else tls_args(argv)
        argv += tls + census_serve_args(argv)
        super().__init__(argv, listeners=len(listen), cwd=cwd, env=env)
        self.h2c = "--h2c" in argv
        self.tls = bool(tls)


def _wait_serving(proc):
    """An answer to OPTIONS * (the engine's own, no handler involved) proves the
    workers run: a reload or reopen asked for before that can be lost."""
    one(proc, b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n", "OPTIONS")


Process.wait_serving = _wait_serving


class ConfigServer(Process):
    """`nxx serve --config PATH --listen 127.0.0.1:0 --threads 2 [args]`.

    path is a YAML file (config_dir writes one).  listen=None keeps the
    file's own listeners (then `listeners` says how many lines to wait for).
    reload() sends SIGHUP and waits for the server to say how it went.
    """

    kind = "nxx"

    def __init__(self, path, *args, listen="127.0.0.1:0", threads=2, listeners=1, cwd=None,
                 env=None):
        argv = [NXX_BIN, "serve", "--config", str(path)]
        if listen:
            listen = [listen] if isinstance(listen, str) else listen
            for addr in listen:
                argv += ["--listen", addr]
            listeners = len(listen)
        if threads:
            argv += ["--threads", str(threads)]
        argv += [str(a) for a in args]
        if TRANSPORT == "h2c" and "--h2c" not in argv:
            argv.append("--h2c")
        tls = tls_args(argv, str(path))
        argv += tls + census_serve_args(argv, config=path)
        super().__init__(argv, listeners=listeners, cwd=cwd, env=env)
        self.h2c = "--h2c" in argv
        self.tls = bool(tls)
        self.path = str(path)
        self.reloads = 0

    def reload(self, timeout_s=10.0, expect_ok=True):
        """SIGHUP; wait until the server logs the outcome of this reload.  Returns the
        stderr line that says it ("configuration reloaded ..." or "reload refused ...")."""
        if not self.reloads:
            self.wait_serving()
        before = self.stderr.count("configuration reloaded") + self.stderr.count("reload refused")
        self.signal(_signal.SIGHUP)
        ok = self.wait_stderr(lambda t: t.count("configuration reloaded") +
                              t.count("reload refused") > before, timeout_s)
        if not ok:
            raise AssertionError(f"no reload outcome logged within {timeout_s:.0f} s; "
                                 + self.describe())
        lines = [l for l in self.stderr.splitlines()
                 if "configuration reloaded" in l or "reload refused" in l]
        line = lines[before] if len(lines) > before else lines[-1]
        if expect_ok is not None and ("configuration reloaded" in line) != expect_ok:
            raise AssertionError(f"reload: expected {'success' if expect_ok else 'refusal'}, "
                                 f"got {line!r}")
        self.reloads += 1
        return line


def config_dir(yaml_text=None, files=None, name="nxx.yaml"):
    """A temporary directory with the configuration file `name` (when yaml_text is
    given) and the files of `files` ({relative path: bytes}); returns (dir, path
    of the YAML file).  It is removed once the module's tests are done (or
    earlier with remove_tree(dir))."""
    d = temp_dir("nxx-it-config-")
    for rel, data in (files or {}).items():
        full = os.path.join(d, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
    path = os.path.join(d, name)
    if yaml_text is not None:
        write_config(path, yaml_text)
    return d, path


def write_config(path, yaml_text):
    """Replace the file at path at once (write a sibling, rename over it), as
    a deploy would: a reload never reads half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(yaml_text)
    os.replace(tmp, path)


def check_config(path, *args, cwd=None):
    """`nxx check PATH`: (exit status, stdout, stderr)."""
    p = run_cmd([NXX_BIN, "check", str(path)] + list(args), cwd=cwd)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


class Hello(Process):
    """The embedding example: `hello 127.0.0.1:0 [TUNNEL_TIMEOUT_MS]`."""

    kind = "hello"

    def __init__(self, addr="127.0.0.1:0", tunnel_timeout_ms=None):
        argv = [NXX_HELLO, addr]
        if tunnel_timeout_ms is not None:
            argv.append(str(tunnel_timeout_ms))
        super().__init__(argv, listeners=1, env=census_example_env("hello"))
        self.h2c = True  # examples/hello.c turns h2c on



# ---------------------------------------------------------------------------
# the status census
#
# run.py sets NXX_IT_CENSUS to a directory for the whole run (every module,
# in every runner process).  Each `nxx serve` and example the harness starts
# writes its access log there as JSON lines, named after its kind; 1xx
# interim responses, which no access log holds, are noted by the harness
# when it parses them.  After the last module, run.py compares what was
# answered with `nxx explain --sent`.

CENSUS_DIR = os.environ.get("NXX_IT_CENSUS") or None
_census_lock = threading.Lock()
_census_seq = [0]
_census_interim = set()


def census_log_path(kind):
    """A fresh access-log path for a server of this run, or None outside a census."""
    if not CENSUS_DIR:
        return None
    with _census_lock:
        _census_seq[0] += 1
        return os.path.join(CENSUS_DIR, f"{kind}-{os.getpid()}-{_census_seq[0]}.jsonl")


def census_serve_args(argv, config=None):
    """Flags that put an `nxx serve` in the census, unless its test chose its own access
    log (a flag, or a key of its configuration file, which the flag would override)."""
    if any(str(a).startswith("--access-log") for a in argv):
        return []
    if config:
        try:
            with open(config, encoding="utf-8", errors="replace") as f:
                if "access-log" in f.read():
                    return []
        except OSError:
            pass
    path = census_log_path("nxx")
    return ["--access-log", path, "--access-log-format", "json"] if path else []


def census_example_env(kind):
    """The environment for an example program: NXX_ACCESS_LOG names its census log."""
    path = census_log_path(kind)
    return dict(os.environ, NXX_ACCESS_LOG=path) if path else None


def census_note_multistatus(status):
    """Note a status the harness found inside a 207 multistatus body (a WebDAV
    member's or property's status, such as 208 or 424): access logs hold only
    the response's own status.  Kept with the interim ones."""
    census_note_interim(status)


def census_note_interim(status):
    """Note a 1xx the harness received (access logs hold final statuses only)."""
    if not CENSUS_DIR:
        return
    with _census_lock:
        if status in _census_interim:
            return
        _census_interim.add(status)
        with open(os.path.join(CENSUS_DIR, f"interim-{os.getpid()}.txt"), "a") as f:
            f.write(f"{status}\n")


# ---------------------------------------------------------------------------
# one server per (module, flags), reused across that module's tests

_shared = {}
_shared_dead = []  # (key, Process) whose process died while shared
_shared_lock = threading.Lock()


def shared(key, factory):
    """Return the running shared server for key, starting it with factory() if needed.

    If a shared server has died (a crash caused by an earlier test), it is kept
    for the teardown report and a fresh one is started so later tests still run.
    """
    with _shared_lock:
        srv = _shared.get(key)
        if srv is not None and not srv.alive():
            _shared_dead.append((key, srv))
            srv = None
        if srv is None:
            srv = factory()
            srv.start()
            _shared[key] = srv
        return srv


def teardown_shared():
    """Stop every shared server; returns [(name, error or None)] to report."""
    results = []
    with _shared_lock:
        for key, srv in _shared_dead:
            srv.proc.poll()
            results.append(
                (f"{key}: server died during the tests", AssertionError(srv.describe()))
            )
        for key, srv in list(_shared.items()):
            try:
                srv.stop()
                results.append((f"{key}: clean stop (SIGTERM, exit 0)", None))
            except AssertionError as e:
                results.append((f"{key}: clean stop (SIGTERM, exit 0)", e))
            finally:
                srv._kill()
        _shared.clear()
        _shared_dead.clear()
    return results


# ---------------------------------------------------------------------------
# what a module leaves behind

_teardown = []  # functions run once the module's tests are done, last first
_teardown_lock = threading.Lock()


def at_teardown(fn):
    """Run fn() once the module's tests are done, after its shared servers have
    stopped, last registered first.  An exception from it (a server that did
    not stop cleanly) fails the module.  Returns fn."""
    with _teardown_lock:
        _teardown.append(fn)
    return fn


def temp_dir(prefix="nxx-it-"):
    """A new temporary directory, removed once the module's tests are done."""
    d = tempfile.mkdtemp(prefix=prefix)
    at_teardown(lambda: remove_tree(d))
    return d


def run_teardown():
    """Run what at_teardown registered; returns [(name, error)] for those that failed."""
    with _teardown_lock:
        fns = _teardown[::-1]
        _teardown.clear()
    failed = []
    for fn in fns:
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported as the module's failure
            failed.append((getattr(fn, "__qualname__", repr(fn)), e))
    return failed


# ---------------------------------------------------------------------------
# document roots

A_TXT = b"hello from a.txt\n"
INDEX_HTML = b"<!doctype html><title>nxx test</title><p>index</p>\n"
SUB_INDEX_HTML = b"<!doctype html><title>sub</title><p>sub index</p>\n"
SPACE_TXT = b"a file with a space\n"
SECRET = b"do not serve this\n"
FIXED_MTIME = 1700000000  # Tue, 14 Nov 2023 22:13:20 GMT


def make_docroot(extra=None):
    """A temporary document root with the standard files; returns its path.

    index.html, a.txt, sub/index.html, nodir/ (no index), .secret,
    "with space.txt".  The files' mtime is FIXED_MTIME.  It is removed once
    the module's tests are done (or earlier with remove_tree).
    """
    root = temp_dir("nxx-it-root-")
    files = {
        "index.html": INDEX_HTML,
        "a.txt": A_TXT,
        "sub/index.html": SUB_INDEX_HTML,
        "nodir/file.txt": b"in nodir\n",
        ".secret": SECRET,
        "with space.txt": SPACE_TXT,
    }
    files.update(extra or {})
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    return root


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------
# the response parser


class ProtocolError(Exception):
    pass


class Response:
    def __init__(self, version, status, reason, headers, body, raw, interim=None):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] in order
        self.body = body
        self.raw = raw
        self.interim = interim or []  # 1xx responses that came before this one

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has(self, name):
        return self.header(name) is not None

    def tokens(self, name):
        """Comma-separated tokens of every field called name, lower-cased."""
        out = []
        for v in self.header_all(name):
            out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out

    @property
    def content_type(self):
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def __repr__(self):
        body = self.body[:200]
        return f"<{self.version} {self.status} {self.reason!r} {self.headers!r} body={body!r}>"


def _parse_chunked(buf, pos):
    """Returns (body, end) or None if incomplete."""
    body = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        line = buf[pos:eol].split(b";")[0].strip()
        try:
            size = int(line, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size line {bytes(buf[pos:eol])!r}")
        pos = eol + 2
        if size == 0:
            # trailer section ends with an empty line
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                if eol == pos:
                    return bytes(body), eol + 2
                pos = eol + 2
        if len(buf) < pos + size + 2:
            return None
        body += buf[pos : pos + size]
        if buf[pos + size : pos + size + 2] != b"\r\n":
            raise ProtocolError("chunk data not followed by CRLF")
        pos += size + 2


def parse_response(buf, pos=0, method="GET", eof=False, merge_interim=True):
    """Parse one response from buf[pos:].

    Returns (Response, end) or None when more bytes are needed.  method is the
    request method (HEAD responses have no body).  eof says the peer closed, so
    a close-delimited body is complete.  With merge_interim, 1xx responses
    (other than 101) are collected in .interim of the final response that
    follows; otherwise a 1xx is returned on its own.
    """
    interim = []
    while True:
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            if eof and len(buf) > pos:
                raise ProtocolError(f"connection closed inside a response head: {bytes(buf[pos:pos+300])!r}")
            return None
        head = bytes(buf[pos:end]).decode("latin-1")
        lines = head.split("\r\n")
        m = re.match(r"^(HTTP/\d\.\d) (\d{3}) ?(.*)$", lines[0])
        if not m:
            raise ProtocolError(f"bad status line {lines[0]!r}")
        version, status, reason = m.group(1), int(m.group(2)), m.group(3)
        headers = []
        for line in lines[1:]:
            if ":" not in line:
                raise ProtocolError(f"bad header line {line!r}")
            k, v = line.split(":", 1)
            if k != k.strip() or not k:
                raise ProtocolError(f"bad header name {k!r}")
            headers.append((k, v.strip(" \t")))
        body_start = end + 4
        resp = Response(version, status, reason, headers, b"", None)
        if 100 <= status < 200 and status != 101:
            census_note_interim(status)
            resp.raw = bytes(buf[pos:body_start])
            if not merge_interim:
                return resp, body_start
            interim.append(resp)
            pos = body_start
            continue
        if (method == "HEAD" or status in (204, 304) or 100 <= status < 200
                or (method == "CONNECT" and 200 <= status < 300)):  # RFC 9112 §6.3
            body, stop = b"", body_start
        elif "chunked" in resp.tokens("transfer-encoding"):
            r = _parse_chunked(buf, body_start)
            if r is None:
                if eof:
                    raise ProtocolError("connection closed inside a chunked body")
                return None
            body, stop = r
        elif resp.has("content-length"):
            cls = resp.header_all("content-length")
            if len(set(cls)) != 1 or not cls[0].isdigit():
                raise ProtocolError(f"bad Content-Length in response: {cls!r}")
            n = int(cls[0])
            if len(buf) < body_start + n:
                if eof:
                    raise ProtocolError(
                        f"connection closed after {len(buf) - body_start} of {n} body bytes"
                    )
                return None
            body, stop = bytes(buf[body_start : body_start + n]), body_start + n
        else:
            if not eof:
                return None
            body, stop = bytes(buf[body_start:]), len(buf)
        resp.body = body
        resp.raw = bytes(buf[pos:stop])
        resp.interim = interim
        return resp, stop


def parse_responses(data, methods=None, eof=True):
    """Parse every complete response in data.  Returns (responses, leftover bytes)."""
    out = []
    pos = 0
    i = 0
    while pos < len(data):
        method = methods[i] if methods and i < len(methods) else "GET"
        r = parse_response(data, pos, method=method, eof=eof)
        if r is None:
            break
        resp, pos = r
        out.append(resp)
        i += 1
    return out, bytes(data[pos:])


# ---------------------------------------------------------------------------
# raw connections


class Listener:
    """One listening address of a Process (Process.targets), with its transport."""

    def __init__(self, proc, addr):
        self.proc, self.addr = proc, addr
        self.host, self.port = addr
        self.tls, self.h2c = proc.tls, getattr(proc, "h2c", False)

    @property
    def hostport(self):
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def url(self):
        return ("https://" if self.tls else "http://") + self.hostport

    def __repr__(self):
        return repr(self.addr)


def connect(target, timeout_s=5.0):
    """target: a Process, a Listener or a (host, port) pair."""
    if isinstance(target, Listener):
        target = target if target.tls else target.addr
    host, port = target.addr if isinstance(target, (Process, Listener)) else target
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout_s)
    s.connect((host, port))
    return tls_wrap(s, target) if isinstance(target, (Process, Listener)) else s


def tls_wrap(sock, target):
    """sock, a connected socket to target (a Process or Listener), through TLS
    when target speaks TLS (no SNI: see TRANSPORT); sock itself otherwise."""
    if not getattr(target, "tls", False):
        return sock
    ctx = ssl.create_default_context(cafile=tls_files()[0])
    ctx.check_hostname = False
    return ctx.wrap_socket(sock)


class Conn:
    """A raw client connection with a receive buffer."""

    def __init__(self, target, timeout_s=5.0):
        self.sock = connect(target, timeout_s)
        self.buf = bytearray()
        self.eof = False
        self.timeout = timeout_s

    def send(self, data, tolerant=False):
        """Send all of data.  With tolerant, a reset/pipe error (server closed) returns False."""
        if isinstance(data, str):
            data = data.encode("latin-1")
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            if tolerant:
                return False
            raise

    def send_until_answer(self, pieces):
        """Send pieces one by one, stopping early once the server has sent something
        (or closed).  Returns the number of pieces sent."""
        sent = 0
        for piece in pieces:
            r, _, _ = select.select([self.sock], [], [], 0)
            if r:
                break
            if not self.send(piece, tolerant=True):
                break
            sent += 1
        return sent

    def _recv_some(self, deadline):
        """Receive once, waiting until deadline.  Returns False on timeout."""
        if self.eof:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, ConnectionAbortedError, ssl.SSLError):
            chunk = b""
        if not chunk:
            self.eof = True
        else:
            self.buf += chunk
        return True

    def read_response(self, method="GET", timeout_s=None, interim=True):
        """Read one response.  With interim=False a 1xx comes back on its own."""
        deadline = time.monotonic() + (timeout_s or self.timeout)
        while True:
            r = parse_response(self.buf, 0, method=method, eof=self.eof, merge_interim=interim)
            if r is not None:
                resp, end = r
                del self.buf[:end]
                return resp
            if self.eof:
                raise AssertionError(
                    "connection closed before a complete response; received "
                    f"{bytes(self.buf[:500])!r}"
                )
            if not self._recv_some(deadline):
                raise AssertionError(
                    f"no complete response within {timeout_s or self.timeout:.1f} s; received "
                    f"{bytes(self.buf[:500])!r}"
                )

    def read_responses(self, methods, timeout_s=None):
        return [self.read_response(m, timeout_s) for m in methods]

    def request(self, method="GET", target="/", headers=None, body=b"", version="HTTP/1.1",
                host=True, timeout_s=None):
        self.send(build_request(method, target, headers, body, version, host))
        return self.read_response(method, timeout_s)

    def wait_eof(self, timeout_s=5.0):
        """True if the server closes within timeout_s; the bytes it sent meanwhile stay in buf."""
        deadline = time.monotonic() + timeout_s
        while not self.eof:
            if not self._recv_some(deadline):
                return False
        return True

    def read_exactly(self, n, timeout_s=5.0):
        """The next n bytes the server sends (fewer if it closes or time runs out)."""
        deadline = time.monotonic() + timeout_s
        while len(self.buf) < n:
            if self.eof or not self._recv_some(deadline):
                break
        got = bytes(self.buf[:n])
        del self.buf[:n]
        return got

    def read_all(self, timeout_s=5.0):
        """Read until close or timeout_s; returns (bytes, closed)."""
        closed = self.wait_eof(timeout_s)
        return bytes(self.buf), closed

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


DEFAULT_HOST = object()


def build_request(method="GET", target="/", headers=None, body=b"", version="HTTP/1.1",
                  host=True):
    """Build request bytes.  headers: list of (name, value) or dict.  host=True adds
    `Host: localhost` unless a Host is in headers; host=False adds none."""
    if isinstance(headers, dict):
        headers = list(headers.items())
    headers = list(headers or [])
    if isinstance(body, str):
        body = body.encode()
    names = [k.lower() for k, _ in headers]
    if host and "host" not in names:
        headers.insert(0, ("Host", "localhost"))
    if body and "content-length" not in names and "transfer-encoding" not in names:
        headers.append(("Content-Length", str(len(body))))
    lines = [f"{method} {target} {version}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def exchange(target, data, count=1, methods=None, timeout_s=5.0, wait_close=0.0):
    """Send data on a new connection; read `count` responses (fewer if the server
    closes).  wait_close > 0: afterwards wait that long for the server to close and
    for extra bytes.  Returns (responses, closed, leftover_bytes)."""
    with Conn(target, timeout_s) as c:
        c.send(data, tolerant=True)
        deadline = time.monotonic() + timeout_s
        while True:
            resps, left = parse_responses(c.buf, methods, eof=c.eof)
            if len(resps) >= count or c.eof:
                break
            if not c._recv_some(deadline):
                break
        if wait_close > 0:
            c.wait_eof(wait_close)
        resps, left = parse_responses(c.buf, methods, eof=c.eof)
        return resps, c.eof, left


def _h2c_one(target, data, timeout_s):
    """data, when it is one whole HTTP/1.1 request that HTTP/2 can carry, sent over
    h2c instead (NXX_TRANSPORT=h2c); None when it is not (pipelined, chunked,
    Connection-specific fields, HTTP/1.0, not for a server the harness started)."""
    if (not isinstance(target, (Process, Listener)) or not getattr(target, "h2c", False)
            or isinstance(data, str) or b"\r\n\r\n" not in data):
        return None
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] != "HTTP/1.1" or not parts[1].startswith(("/", "*")):
        return None
    if (parts[1] == "*" and parts[0] != "OPTIONS") or parts[0] == "TRACE":
        return None  # HTTP/2 cannot carry it, or TRACE's echo is of the HTTP/1.1 message
    fields, authority, length = [], None, 0
    for line in lines[1:]:
        if ":" not in line or line[0] in " \t":
            return None
        name, value = line.split(":", 1)
        name, value = name.strip().lower(), value.strip()
        if name in ("connection", "keep-alive", "transfer-encoding", "upgrade", "te",
                    "proxy-connection", "expect"):
            return None
        if name == "host":
            if authority is not None:
                return None
            authority = value
            continue
        if name == "content-length":
            if not value.isdigit():
                return None
            length = int(value)
        fields.append((name, value))
    if authority is None or len(body) != length:
        return None
    from h2client import h2_request
    return h2_request(target, parts[0], parts[1], fields, body, authority=authority,
                      timeout_s=timeout_s)


def one(target, data, method="GET", timeout_s=5.0):
    """Send data, return the first response (AssertionError if none)."""
    if TRANSPORT == "h2c":
        r = _h2c_one(target, data, timeout_s)
        if r is not None:
            return r
    resps, closed, left = exchange(target, data, 1, [method], timeout_s)
    if not resps:
        raise AssertionError(
            f"no response to {data[:200]!r} (closed={closed}, received {left[:300]!r})"
        )
    return resps[0]


def raw(target, data, timeout_s=5.0, count=None, methods=None):
    """Send data; return the raw bytes received until close, timeout, or (when count
    is given) `count` complete responses."""
    with Conn(target, timeout_s) as c:
        c.send(data, tolerant=True)
        deadline = time.monotonic() + timeout_s
        while not c.eof:
            if count is not None:
                try:
                    resps, _ = parse_responses(c.buf, methods, eof=False)
                except ProtocolError:
                    resps = []
                if len(resps) >= count:
                    break
            if not c._recv_some(deadline):
                break
        return bytes(c.buf)


def get(target, path="/", headers=None, method="GET", version="HTTP/1.1", timeout_s=5.0):
    return one(target, build_request(method, path, headers, version=version), method, timeout_s)


# ---------------------------------------------------------------------------
# checks


def assert_alive(server, what="after the previous input"):
    """A fresh connection still gets 200 for GET /."""
    try:
        resp = get(server, "/", [("Connection", "close")], timeout_s=5.0)
    except (AssertionError, OSError, ProtocolError) as e:
        raise AssertionError(f"server not alive {what}: {e}\n{server.describe()}")
    if resp.status != 200:
        raise AssertionError(f"server answers GET / with {resp.status} {what}, expected 200")


def served_again(server, path="/", timeout_s=5.0, what="new connections"):
    """A request for path gets 200 within timeout_s (the server learns of closed
    connections and freed resources asynchronously): polled, bounded."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = get(server, path, [("Connection", "close")], timeout_s=2)
            if last.status == 200:
                return last
        except (AssertionError, OSError) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"{what} not served within {timeout_s:.0f} s: {last!r}")


def rss_kb(pid):
    """Resident memory of process pid in KB (from /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def check_status(resp, expected, what=""):
    allowed = expected if isinstance(expected, (tuple, list, set)) else (expected,)
    if resp.status not in allowed:
        raise AssertionError(
            f"{what + ': ' if what else ''}expected status {expected}, got {resp.status}; "
            f"response: {resp.raw[:600]!r}"
        )


def is_imf_fixdate(value):
    return bool(value) and bool(IMF_FIXDATE_RE.match(value))


def http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


def allow_set(resp):
    return {t.upper() for t in resp.tokens("allow")}


# ---------------------------------------------------------------------------
# curl


def have_curl():
    return shutil.which("curl") is not None


_CURL_VERSION_FLAGS = ("-0", "--http1.0", "--http1.1", "--http2", "--http2-prior-knowledge",
                       "--http3", "-x", "--proxy", "-p", "--proxytunnel")


def _curl_h2c(args):
    """Under NXX_TRANSPORT=h2c, curl speaks HTTP/2 with prior knowledge to a
    server the harness started with h2c, unless the test chose a version (or
    a proxy) itself."""
    if TRANSPORT != "h2c" or any(a in _CURL_VERSION_FLAGS for a in args):
        return []
    ports = {p.port for p in _all_processes
             if getattr(p, "h2c", False) and p.addrs and p.alive()}
    for a in args:
        m = re.match(r"http://(?:\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):(\d+)", str(a))
        if m and int(m.group(1)) in ports:
            return ["--http2-prior-knowledge"]
    return []


def curl(args, timeout_s=15.0):
    """Run curl -sS with the given args; returns (status_code:int, body:bytes, headers:str,
    stderr:str).  Skips the test if curl is not installed."""
    if not have_curl():
        skip("curl is not installed")
    tmp = tempfile.mkdtemp(prefix="nxx-it-curl-")
    try:
        body_path = os.path.join(tmp, "body")
        head_path = os.path.join(tmp, "head")
        argv = [
            "curl", "-sS", "-o", body_path, "-D", head_path, "-w", "%{http_code}",
            "--connect-timeout", "5", "--max-time", str(int(timeout_s)),
        ] + (["--cacert", tls_files()[0]] if TRANSPORT == "tls" else []) + _curl_h2c(args) + \
            list(args)
        try:
            p = subprocess.run(argv, capture_output=True, timeout=timeout_s + 5)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"curl did not finish: {argv}")
        code = int(p.stdout.decode() or "0") if p.stdout.decode().isdigit() else 0
        body = open(body_path, "rb").read() if os.path.exists(body_path) else b""
        head = open(head_path, "r", encoding="latin-1").read() if os.path.exists(head_path) else ""
        if p.returncode != 0:
            raise AssertionError(f"curl exited {p.returncode}: {p.stderr.decode()!r} ({argv})")
        return code, body, head, p.stderr.decode()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_cmd(argv, timeout_s=10.0, **kw):
    """Run a command that should finish by itself; returns CompletedProcess."""
    if not os.path.exists(argv[0]):
        raise AssertionError(f"binary not found: {argv[0]} (run `make` first)")
    try:
        return subprocess.run(argv, capture_output=True, timeout=timeout_s,
                              stdin=subprocess.DEVNULL, **kw)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{argv} did not exit within {timeout_s:.0f} s")


def have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
            return True
        finally:
            s.close()
    except OSError:
        return False


# ---------------------------------------------------------------------------
# range responses (RFC 9110 §14)

CONTENT_RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def parse_content_range(value):
    """`bytes F-L/LEN` -> (F, L, LEN); AssertionError otherwise."""
    m = CONTENT_RANGE_RE.match(value or "")
    if not m:
        raise AssertionError(f"malformed Content-Range {value!r}")
    first, last, length = (int(g) for g in m.groups())
    if not first <= last < length:
        raise AssertionError(f"impossible Content-Range {value!r}")
    return first, last, length


def multipart_boundary(resp):
    """The boundary parameter of a multipart/byteranges Content-Type (quotes removed)."""
    ctype = resp.header("content-type") or ""
    m = re.search(r";\s*boundary=(\"[^\"]+\"|[^;\s]+)", ctype, re.I)
    if not m:
        raise AssertionError(f"no boundary in Content-Type {ctype!r}")
    return m.group(1).strip('"')


def parse_byteranges(body, boundary):
    """Parse a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1).

    Returns [(part_headers:{lower name: value}, data:bytes)].  Strict about the
    delimiters: every part starts with CRLF--boundary (the first may omit the
    CRLF), the body ends with --boundary-- and only CRLF/epilogue after it.
    """
    delim = b"--" + boundary.encode("latin-1")
    parts = []
    if body.startswith(delim):
        pos = len(delim)
    else:
        i = body.find(b"\r\n" + delim)
        if i < 0:
            raise AssertionError(f"no first boundary in multipart body {body[:200]!r}")
        pos = i + 2 + len(delim)
    while True:
        if body[pos:pos + 2] == b"--":
            tail_bytes = body[pos + 2:]
            if tail_bytes not in (b"", b"\r\n"):
                raise AssertionError(f"bytes after the closing delimiter: {tail_bytes[:100]!r}")
            return parts
        if body[pos:pos + 2] != b"\r\n":
            raise AssertionError(f"boundary not followed by CRLF at {pos}: {body[pos:pos+40]!r}")
        pos += 2
        end_head = body.find(b"\r\n\r\n", pos)
        if end_head < 0:
            raise AssertionError("part without an empty line after its headers")
        headers = {}
        for line in body[pos:end_head].decode("latin-1").split("\r\n"):
            if ":" not in line:
                raise AssertionError(f"bad part header line {line!r}")
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        data_start = end_head + 4
        nxt = body.find(b"\r\n" + delim, data_start)
        if nxt < 0:
            raise AssertionError("part not followed by a delimiter")
        parts.append((headers, body[data_start:nxt]))
        pos = nxt + 2 + len(delim)


def byteranges(resp):
    """The ranges of a 206 as [(first, last, length, data)], from a single-part
    206 (Content-Range) or a multipart/byteranges one; each part's data length
    is checked against its Content-Range."""
    if resp.status != 206:
        raise AssertionError(f"expected 206, got {resp.status}: {resp.raw[:400]!r}")
    out = []
    if resp.content_type == "multipart/byteranges":
        if resp.has("content-range"):
            raise AssertionError("multipart 206 with a Content-Range field")
        for headers, data in parse_byteranges(resp.body, multipart_boundary(resp)):
            first, last, length = parse_content_range(headers.get("content-range"))
            out.append((first, last, length, data, headers))
    else:
        first, last, length = parse_content_range(resp.header("content-range"))
        out.append((first, last, length, resp.body, None))
    for first, last, length, data, _ in out:
        if len(data) != last - first + 1:
            raise AssertionError(
                f"range {first}-{last}: {len(data)} bytes of data, expected {last - first + 1}")
    return [(f, l, n, d) for f, l, n, d, _ in out]
