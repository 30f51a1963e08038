"""Upstream servers for the proxy tests: an nxx proxy in front of them, fake
upstreams on raw sockets (each connection handled by a Python function, so a
test can answer anything, broken or slow), `python3 -m http.server` and
nginx started in a temporary directory.  Everything listens on 127.0.0.1."""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from harness import (NXX_BIN, TRANSPORT, Process, census_serve_args, config_dir, ConfigServer,
                     remove_tree, tls_args, write_config)


class ProxyServer(Process):
    """`nxx serve [DIR] --proxy URL --listen 127.0.0.1:0 --threads 2 [args]`."""

    kind = "nxx"

    def __init__(self, url, *args, root=None, threads=2):
        argv = [NXX_BIN, "serve"]
        if root:
            argv.append(str(root))
        argv += ["--proxy", url, "--listen", "127.0.0.1:0", "--threads", str(threads)]
        argv += [str(a) for a in args]
        if TRANSPORT == "h2c" and "--h2c" not in argv:
            argv.append("--h2c")
        tls = tls_args(argv)
        argv += tls + census_serve_args(argv)
        super().__init__(argv)
        self.h2c = "--h2c" in argv
        self.tls = bool(tls)


def proxy_config(locations_yaml, *args, listen="127.0.0.1:0"):
    """An nxx serve --config with `locations:` given as YAML text (indented by 2)."""
    d, path = config_dir("locations:\n" + locations_yaml)
    srv = ConfigServer(path, *args, listen=listen)
    srv.tmpdir = d
    return srv


# ---------------------------------------------------------------------------
# a fake upstream on raw sockets


class Req:
    def __init__(self, method, target, version, headers, body):
        self.method, self.target, self.version = method, target, version
        self.headers, self.body = headers, body

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class UpConn:
    """One accepted connection of a fake upstream, with a receive buffer."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
        headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:]]
        return Req(method, target, version, headers, b"")

    def read_exactly(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_body(self, req):
        if (req.header("transfer-encoding") or "").lower().endswith("chunked"):
            body = bytearray()
            while True:
                size = int(self.read_line().split(b";")[0], 16)
                if size == 0:
                    while self.read_line():
                        pass
                    return bytes(body)
                body += self.read_exactly(size)
                self.read_exactly(2)
        return self.read_exactly(int(req.header("content-length") or 0))

    def read_request(self):
        req = self.read_head()
        req.body = self.read_body(req)
        return req

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode("latin-1"))

    def respond(self, status=200, headers=(), body=b"", reason="OK"):
        h = "".join(f"{k}: {v}\r\n" for k, v in headers)
        if not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers):
            h += f"Content-Length: {len(body)}\r\n"
        self.send(f"HTTP/1.1 {status} {reason}\r\n{h}\r\n".encode("latin-1") + body)

    def reset(self):
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.sock.close()


class FakeUpstream:
    """Accepts on 127.0.0.1 and runs fn(UpConn) in a thread per connection."""

    def __init__(self, fn):
        self.fn = fn
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.requests = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            if self.stopping:
                s.close()
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(s,), daemon=True).start()

    def _run(self, s):
        s.settimeout(30)
        c = UpConn(s)
        try:
            self.fn(c)
        except (EOFError, OSError, ValueError):
            pass
        finally:
            try:
                s.close()
            except OSError:
                pass

    def close(self):
        self.stopping = True
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
        except OSError:
            pass
        self.lsock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def serve_forever(handler):
    """fn for FakeUpstream: keep-alive requests, each answered by handler(conn, req)."""

    def fn(c):
        while True:
            req = c.read_request()
            handler(c, req)

    return fn


def echo_bytes(c):
    """fn for FakeUpstream: every byte back as it comes (a CONNECT destination);
    the client's end of its sending ends the echo's too."""
    while True:
        data = c.sock.recv(65536)
        if not data:
            c.sock.shutdown(socket.SHUT_WR)
            return
        c.sock.sendall(data)


def closed_port():
    """A port on 127.0.0.1 nothing listens on (bound once, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------------------
# real upstreams


class PythonHttpServer:
    """`python3 -m http.server` serving root on 127.0.0.1."""

    def __init__(self, root):
        self.port = closed_port()
        self.proc = subprocess.Popen(
            ["python3", "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
             "--directory", str(root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        _wait_port(self.port, self.proc)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Nginx:
    """nginx with a small config in a temporary directory (pid file and logs there)."""

    def __init__(self, root, extra=""):
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(exe):
            raise FileNotFoundError("nginx")
        self.dir = tempfile.mkdtemp(prefix="nxx-nginx-")
        self.port = closed_port()
        # started as root, nginx would read the (private) root as nobody
        user = "user root root;" if os.geteuid() == 0 else ""
        conf = f"""
{user}
daemon off;
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        root {root};
        {extra}
    }}
}}
"""
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen([exe, "-p", self.dir, "-c", "nginx.conf"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        _wait_port(self.port, self.proc)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        remove_tree(self.dir)


class Squid:
    """squid (Debian) as a forward proxy for 127.0.0.1 destinations, its
    files in a temporary directory; CONNECT only to the given ports."""

    def __init__(self, connect_ports):
        exe = shutil.which("squid") or "/usr/sbin/squid"
        if not os.path.exists(exe):
            raise FileNotFoundError("squid")
        self.dir = tempfile.mkdtemp(prefix="nxx-squid-")
        os.chmod(self.dir, 0o777)  # started as root, squid writes as its own user
        self.port = closed_port()
        ports = " ".join(str(p) for p in connect_ports)
        conf = f"""
http_port 127.0.0.1:{self.port}
pid_filename {self.dir}/squid.pid
cache_log {self.dir}/cache.log
access_log none
cache deny all
coredump_dir {self.dir}
netdb_filename none
pinger_enable off
shutdown_lifetime 0 seconds
acl to_local dst 127.0.0.1
acl CONNECT method CONNECT
acl tunnel_ports port {ports}
http_access deny CONNECT !tunnel_ports
http_access allow localhost to_local
http_access deny all
"""
        path = os.path.join(self.dir, "squid.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen([exe, "-N", "-f", path], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        _wait_port(self.port, self.proc, 20)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        remove_tree(self.dir)


def _wait_port(port, proc, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"upstream exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"upstream did not listen on {port} within {timeout_s} s")


__all__ = ["ProxyServer", "proxy_config", "FakeUpstream", "serve_forever", "closed_port",
           "PythonHttpServer", "Nginx", "Squid", "write_config"]
