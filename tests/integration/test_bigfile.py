"""Big files: a 5 GiB sparse file (lengths and ranges past 4 GiB), and a file
truncated while it is being sent (the connection must end, never hang)."""

import os
import socket
import time

from harness import (Conn, Server, assert_alive, build_request, byteranges, check, check_status,
                     curl, eq, get, make_docroot, parse_response, shared, skip,
                     timeout, tls_wrap)

BIG = 5 * 1024 ** 3  # 5368709120
G4 = 4 * 1024 ** 3
END_MARK = b"END-MARK!\n"  # the last 10 bytes
G4_MARK = b"across-4GiB"  # written so that it straddles offset 4 GiB
G4_AT = G4 - 5
TRUNC_SIZE = 50 * 1024 * 1024
_root = None
_big_ok = None


def root():
    global _root
    if _root is None:
        _root = make_docroot()
    return _root


def big_path():
    """Create the sparse 5 GiB file once; skip when the filesystem refuses."""
    global _big_ok
    path = os.path.join(root(), "big.bin")
    if _big_ok is None:
        try:
            with open(path, "wb") as f:
                f.truncate(BIG)
                os.pwrite(f.fileno(), END_MARK, BIG - len(END_MARK))
                os.pwrite(f.fileno(), G4_MARK, G4_AT)
            _big_ok = os.path.getsize(path) == BIG
        except OSError:
            _big_ok = False
    if not _big_ok:
        skip("the filesystem refuses a 5 GiB sparse file")
    return path


def srv():
    return shared("nxx serve (defaults)", lambda: Server(root()))


def rng(spec, headers=None):
    big_path()
    return get(srv(), "/big.bin", [("Range", spec)] + list(headers or []), timeout_s=10)


# --- 5 GiB sparse file --------------------------------------------------------


def test_head_big_file_length():
    big_path()
    r = get(srv(), "/big.bin", method="HEAD")
    check_status(r, 200)
    eq(r.header("content-length"), str(BIG), "Content-Length")
    eq(r.header("accept-ranges"), "bytes", "Accept-Ranges")
    g = get(srv(), "/big.bin", [("Range", "bytes=0-0")])
    eq(g.header("etag"), r.header("etag"), "ETag of HEAD and of a 206")


def test_last_ten_bytes():
    r = rng("bytes=-10")
    check_status(r, 206)
    eq(r.header("content-range"), f"bytes {BIG - 10}-{BIG - 1}/{BIG}", "Content-Range")
    eq(r.header("content-length"), "10", "Content-Length")
    eq(r.body, END_MARK, "last 10 bytes")


def test_open_range_near_the_end():
    r = rng(f"bytes={BIG - 100}-")
    eq(byteranges(r), [(BIG - 100, BIG - 1, BIG, b"\0" * 90 + END_MARK)], "last 100 bytes")


def test_range_crossing_4gib():
    last = G4_AT + len(G4_MARK) - 1
    r = rng(f"bytes={G4_AT}-{last}")
    eq(byteranges(r), [(G4_AT, last, BIG, G4_MARK)], "range across 4 GiB")
    r = rng(f"bytes={G4}-{G4 + 2}")
    eq(byteranges(r), [(G4, G4 + 2, BIG, G4_MARK[5:8])], "range starting at 4 GiB")


def test_zeros_in_the_middle():
    first = 3 * 1024 ** 3 + 12345
    r = rng(f"bytes={first}-{first + 4095}")
    eq(byteranges(r), [(first, first + 4095, BIG, b"\0" * 4096)], "a hole reads as zeros")


def test_multipart_on_big_file():
    r = rng(f"bytes=0-3,-10,{G4_AT}-{G4_AT + len(G4_MARK) - 1}")
    eq(byteranges(r), [(0, 3, BIG, b"\0" * 4), (BIG - 10, BIG - 1, BIG, END_MARK),
                       (G4_AT, G4_AT + len(G4_MARK) - 1, BIG, G4_MARK)], "three parts")


def test_416_on_big_file():
    for spec in (f"bytes={BIG}-", f"bytes={BIG + 1}-{BIG + 10}"):
        r = rng(spec)
        check_status(r, 416, spec)
        eq(r.header("content-range"), f"bytes */{BIG}", f"{spec}: Content-Range")


def test_if_range_on_big_file():
    etag = get(srv(), "/big.bin", method="HEAD").header("etag") if big_path() else None
    eq(byteranges(rng("bytes=-10", [("If-Range", etag)])), [(BIG - 10, BIG - 1, BIG, END_MARK)],
       "If-Range: current ETag")


def test_curl_last_range():
    big_path()
    code, body, head, _ = curl(["-r", f"{BIG - 10}-", srv().url + "/big.bin"])
    eq(code, 206, "curl status")
    eq(body, END_MARK, "curl body")
    check(f"content-range: bytes {BIG - 10}-{BIG - 1}/{BIG}" in head.lower(), f"headers {head!r}")


def test_get_whole_then_client_closes():
    big_path()
    with Conn(srv(), timeout_s=10) as c:
        c.send(build_request("GET", "/big.bin"))
        deadline = time.monotonic() + 10
        while b"\r\n\r\n" not in c.buf and c._recv_some(deadline) and not c.eof:
            pass
        head = bytes(c.buf).split(b"\r\n\r\n", 1)[0].decode("latin-1")
        check(head.startswith("HTTP/1.1 200"), f"status line: {head[:60]!r}")
        check(f"\r\nContent-Length: {BIG}\r\n".lower() in head.lower() + "\r\n",
              f"Content-Length of the whole GET: {head!r}")
        while len(c.buf) < 4 * 1024 * 1024 and not c.eof and c._recv_some(deadline):
            pass
        check(len(c.buf) >= 4 * 1024 * 1024, f"only {len(c.buf)} bytes of the 5 GiB body")
    assert_alive(srv(), "after a client closed in the middle of a 5 GiB body")


# --- a file truncated while it is sent ------------------------------------------


@timeout(40)
def test_file_truncated_while_sent():
    path = os.path.join(root(), "shrinking.bin")
    with open(path, "wb") as f:
        f.truncate(TRUNC_SIZE)
        os.pwrite(f.fileno(), b"start", 0)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A small receive window keeps the server in the middle of the file.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    s.settimeout(5)
    s.connect(srv().addr)
    s = tls_wrap(s, srv())
    buf = bytearray()
    closed = False
    try:
        s.sendall(build_request("GET", "/shrinking.bin"))
        while len(buf) < 512 * 1024:
            chunk = s.recv(16384)
            if not chunk:
                closed = True
                break
            buf += chunk
            time.sleep(0.002)
        head, _, _ = bytes(buf).partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 200"), f"status line: {head[:60]!r}")
        check(f"content-length: {TRUNC_SIZE}".encode() in head.lower(), f"head: {head!r}")
        check(not closed, "connection closed before the truncation")
        os.truncate(path, 1024 * 1024)
        # Now read as fast as possible: the server must end the response early.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = s.recv(1 << 20)
            except socket.timeout:
                break
            except (ConnectionResetError, ConnectionAbortedError):
                closed = True
                break
            if not chunk:
                closed = True
                break
            buf += chunk
    finally:
        s.close()
    body_len = len(buf) - (bytes(buf).find(b"\r\n\r\n") + 4)
    check(closed, f"connection still open 15 s after the truncation ({body_len} body bytes)")
    check(body_len < TRUNC_SIZE, f"{body_len} body bytes: the whole 50 MiB arrived anyway")
    assert_alive(srv(), "after a file was truncated while being sent")
    # And the truncated file is then served with its new length.
    deadline = time.monotonic() + 3
    while True:
        r = get(srv(), "/shrinking.bin", method="HEAD")
        if r.header("content-length") == str(1024 * 1024) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    eq(r.header("content-length"), str(1024 * 1024), "Content-Length after the truncation")
    r = get(srv(), "/shrinking.bin", [("Range", "bytes=0-4")])
    eq(r.body, b"start", "first bytes after the truncation")


@timeout(40)
def test_file_truncated_during_range():
    path = os.path.join(root(), "shrinking2.bin")
    with open(path, "wb") as f:
        f.truncate(TRUNC_SIZE)
    with Conn(srv(), timeout_s=5) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        c.send(build_request("GET", "/shrinking2.bin", [("Range", "bytes=1000-")]))
        deadline = time.monotonic() + 5
        while len(c.buf) < 256 * 1024 and not c.eof and c._recv_some(deadline):
            pass
        check(b" 206 " in bytes(c.buf[:20]), f"status: {bytes(c.buf[:40])!r}")
        os.truncate(path, 4096)
        check(c.wait_eof(15), "connection still open 15 s after the truncation")
        r = parse_response(c.buf, 0, eof=False)
        check(r is None, "a complete 206 of the old length arrived despite the truncation")
    assert_alive(srv(), "after a file was truncated during a range response")
