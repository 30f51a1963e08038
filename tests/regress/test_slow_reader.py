"""Regression: a client that read a large response a byte at a time held its
connection forever (the write timer was re-armed with the request timeout
after every bit of progress), so a few hundred such clients could hold every
slot of --max-connections.  Now --send-timeout closes a connection whose
client takes nothing for that long, and --min-send-rate closes one whose
client, over a whole send-timeout period of waiting, takes less than that
rate; a client reading at an honest pace still gets everything."""

import hashlib
import os
import select
import socket
import ssl
import time

from harness import (Server, check, eq, make_docroot, parse_response, shared,
                     timeout, tls_wrap)

SIZE = 8 * 1024 * 1024
_root = None
_digest = None


def root():
    global _root, _digest
    if _root is None:
        data = os.urandom(SIZE)
        _digest = hashlib.sha256(data).hexdigest()
        _root = make_docroot({"big.bin": data})
    return _root


def srv():
    # a send window of 2 s, in which the client must take at least 256 KiB/s
    return shared("nxx serve --send-timeout 2 --min-send-rate 256K",
                  lambda: Server(root(), "--send-timeout", "2", "--min-send-rate", "256K",
                                 "--access-log", "off"))


def idle_srv():
    # only the send timeout: no rate
    return shared("nxx serve --send-timeout 2 --min-send-rate 0",
                  lambda: Server(root(), "--send-timeout", "2", "--min-send-rate", "0",
                                 "--access-log", "off"))


def start_download(s, rcvbuf):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(5)
    sock.connect(s.addr)
    sock = tls_wrap(sock, s)
    sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    return sock


def recv_up_to(sock, n):
    """Up to n bytes: one recv, and over TLS (one record of 16 KiB at a time)
    what else has already arrived, so that the client's pace is the same."""
    chunk = sock.recv(n)
    while chunk and len(chunk) < n and isinstance(sock, ssl.SSLSocket):
        if not sock.pending() and not select.select([sock], [], [], 0)[0]:
            break
        more = sock.recv(n - len(chunk))
        if not more:
            break
        chunk += more
    return chunk


def read_paced(sock, piece, every, limit_s):
    """Read `piece` bytes every `every` seconds for at most limit_s.  Returns
    (bytes, ended, seconds): ended says the server closed or reset."""
    data = bytearray()
    t0 = time.monotonic()
    next_read = t0
    while time.monotonic() - t0 < limit_s:
        now = time.monotonic()
        if now < next_read:
            time.sleep(next_read - now)  # the client's own pace
        next_read += every
        sock.settimeout(max(0.05, limit_s - (time.monotonic() - t0)))
        try:
            chunk = recv_up_to(sock, piece)
        except socket.timeout:
            break
        except (ConnectionResetError, ConnectionAbortedError):
            return bytes(data), True, time.monotonic() - t0
        if not chunk:
            return bytes(data), True, time.monotonic() - t0
        data += chunk
    return bytes(data), False, time.monotonic() - t0


@timeout(30)
def test_client_below_min_send_rate_is_cut_off():
    s = srv()
    sock = start_download(s, 8192)
    try:
        # 32 KiB every half second: steady progress, a quarter of the rate
        data, ended, took = read_paced(sock, 32 * 1024, 0.5, 15)
    finally:
        sock.close()
    check(ended, f"a client reading 64 KiB/s was still connected after {took:.1f} s "
                 f"({len(data)} bytes read) with --min-send-rate 256K")
    check(len(data) < SIZE, "the slow client got the whole file")
    check(took < 10, f"cut off only after {took:.1f} s (send window 2 s)")


@timeout(30)
def test_client_that_takes_nothing_is_cut_off_after_send_timeout():
    s = idle_srv()
    sock = start_download(s, 8192)
    try:
        # take nothing for longer than the send timeout, then read what is left
        time.sleep(4.5)  # the client's own stall, not a synchronisation
        data, ended, _ = read_paced(sock, 1 << 20, 0, 5)
    finally:
        sock.close()
    check(ended, "the connection of a stalled client was not closed")
    check(len(data) < SIZE, f"a client that took nothing for 4.5 s (send timeout 2 s) still "
                            f"got the whole file ({len(data)} bytes)")


@timeout(60)
def test_honest_client_gets_the_whole_file():
    for s in (srv(), idle_srv()):
        sock = start_download(s, 65536)
        try:
            # 64 KiB every 20 ms: about 3 MB/s, slower than the server, above the rate
            data, ended, took = read_paced(sock, 64 * 1024, 0.02, 40)
        finally:
            sock.close()
        check(ended, f"download not finished after {took:.1f} s ({len(data)} bytes)")
        r = parse_response(data, eof=True)
        check(r is not None, f"no complete response ({len(data)} bytes)")
        resp, _ = r
        eq(resp.status, 200, "status")
        eq(len(resp.body), SIZE, "bytes received")
        eq(hashlib.sha256(resp.body).hexdigest(), _digest, "content")
