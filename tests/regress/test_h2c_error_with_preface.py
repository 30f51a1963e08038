"""Regression: an HTTP/2 connection error (here a CONTINUATION flood) in the
bytes read together with the client preface left the connection open until
the keep-alive timeout: the error was noted but no GOAWAY was sent and the
connection was not closed.  Now it is handled as on any later read: GOAWAY
ENHANCE_YOUR_CALM, then close."""

import socket
import time

import h2client  # noqa: F401  (makes python3-h2's packages importable)
from harness import Server, check, make_docroot, remove_tree

try:
    import hpack
    import hyperframe.frame as hf
except ImportError:
    hf = None


def test_continuation_flood_in_the_first_read_closes():
    if hf is None:
        from harness import skip
        skip("python3-h2 is not installed")
    root = make_docroot()
    try:
        with Server(root, "--h2c") as s:
            block = hpack.Encoder().encode([(":method", "GET"), (":path", "/"),
                                            (":scheme", "http"), (":authority", "x")])
            data = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + hf.SettingsFrame(0).serialize()
            head = hf.HeadersFrame(1)
            head.data = block[:1]
            data += head.serialize()
            for i in range(50):
                cont = hf.ContinuationFrame(1)
                cont.data = block[1:] if i == 0 else b""
                data += cont.serialize()
            with socket.create_connection((s.host, s.port), timeout=5) as c:
                c.sendall(data)  # one write: the server reads it with the preface
                got, deadline, closed = b"", time.monotonic() + 5, False
                while time.monotonic() < deadline:
                    try:
                        d = c.recv(65536)
                    except ConnectionResetError:
                        closed = True
                        break
                    except socket.timeout:
                        break
                    if not d:
                        closed = True
                        break
                    got += d
                # (the GOAWAY itself may be lost to the reset that unread input causes)
                check(closed, f"connection still open after 5 s; received {got[-40:]!r}")
    finally:
        remove_tree(root)
