"""A raw WebSocket client over harness.Conn for the WebSocket tests: the opening
handshake, masked frames built byte by byte (so a test can break any rule), and
a frame reader.  RFC 6455 §5.2."""

import base64
import hashlib
import os
import socket
import struct
import time
import zlib

from harness import Conn, build_request, check, check_status, eq, tls_wrap

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def handshake_headers(key=None, version="13", extra=None):
    key = key or base64.b64encode(os.urandom(16)).decode()
    h = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
         ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", version)]
    return h + list(extra or [])


def frame(op, payload=b"", fin=True, rsv=0, mask=True, key=None, length=None):
    """A client frame; length overrides the encoded payload length."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = key or os.urandom(4)
    masked = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return head + key + masked


class WS:
    """A handshaken WebSocket connection."""

    def __init__(self, target, path="/ws", extra=None, timeout_s=5.0, rcvbuf=None):
        if rcvbuf:
            # a small receive window, fixed before the connection is made
            host, port = target.addr if hasattr(target, "addr") else target
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.settimeout(timeout_s)
            s.connect((host, port))
            if not isinstance(target, tuple):
                s = tls_wrap(s, target)
            self.conn = Conn.__new__(Conn)
            self.conn.sock, self.conn.buf, self.conn.eof = s, bytearray(), False
            self.conn.timeout = timeout_s
        else:
            self.conn = Conn(target, timeout_s)
        key = base64.b64encode(os.urandom(16)).decode()
        self.conn.send(build_request("GET", path, handshake_headers(key, extra=extra)))
        self.resp = self.conn.read_response("GET", interim=False)
        check_status(self.resp, 101, "opening handshake")
        eq(self.resp.header("sec-websocket-accept"), accept_for(key), "Sec-WebSocket-Accept")
        self.inflater = None
        ext = self.resp.header("sec-websocket-extensions") or ""
        if "permessage-deflate" in ext:
            self.inflater = zlib.decompressobj(-15)

    def send(self, data):
        self.conn.send(data)

    def send_frame(self, *a, **kw):
        self.conn.send(frame(*a, **kw))

    def read_frame(self, timeout_s=5.0):
        """(fin, rsv, opcode, payload) or None at EOF / timeout."""
        c = self.conn
        deadline = time.monotonic() + timeout_s
        while True:
            buf = c.buf
            if len(buf) >= 2:
                n = buf[1] & 0x7F
                off = 2
                if n == 126 and len(buf) >= 4:
                    n = struct.unpack("!H", bytes(buf[2:4]))[0]
                    off = 4
                elif n == 127 and len(buf) >= 10:
                    n = struct.unpack("!Q", bytes(buf[2:10]))[0]
                    off = 10
                elif n >= 126:
                    off = None
                check(not (buf[1] & 0x80), "server frames are never masked (RFC 6455 §5.1)")
                if off is not None and len(buf) >= off + n:
                    b0 = buf[0]
                    payload = bytes(buf[off:off + n])
                    del buf[:off + n]
                    return (b0 >> 7, (b0 >> 4) & 7, b0 & 15, payload)
            if c.eof or not c._recv_some(deadline):
                return None

    def read_message(self, timeout_s=5.0):
        """(opcode, payload) of the next data message (pings answered, pongs skipped),
        or (OP_CLOSE, payload), or None."""
        parts, op0, comp = [], None, False
        while True:
            f = self.read_frame(timeout_s)
            if f is None:
                return None
            fin, rsv, op, payload = f
            if op == OP_PING:
                self.send_frame(OP_PONG, payload)
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                return (OP_CLOSE, payload)
            if op0 is None:
                op0, comp = op, bool(rsv & 4)
            parts.append(payload)
            if fin:
                data = b"".join(parts)
                if comp:
                    data = self.inflater.decompress(data + b"\x00\x00\xff\xff")
                return (op0, data)

    def expect_close(self, code, what="", timeout_s=5.0):
        """The next frame that matters is a close with this code, then the server closes."""
        while True:
            f = self.read_frame(timeout_s)
            check(f is not None, f"{what}: expected a close frame with {code}, got EOF/timeout")
            if f[2] in (OP_PING, OP_PONG):
                continue
            if f[2] != OP_CLOSE:
                continue  # messages that were on their way before the close
            payload = f[3]
            got = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            eq(got, code, f"{what}: close code")
            check(self.conn.wait_eof(timeout_s), f"{what}: the server closes the TCP connection")
            return payload[2:]

    def close(self):
        self.conn.close()


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason
