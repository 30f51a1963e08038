"""The client of bench/ws-h2-cost: STREAMS WebSockets to 127.0.0.1:PORT/ws,
over HTTP/2 (extended CONNECT, one connection) or HTTP/1.1 (one connection
each), MESSAGES 32-byte text messages on each with WINDOW in flight.
Prints the number of messages echoed.  Needs Debian's python3-h2."""

import base64
import os
import select
import socket
import struct
import sys

import h2.config
import h2.connection
import h2.events


def frame(payload):
    key = os.urandom(4)
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + key + bytes(
        b ^ key[i & 3] for i, b in enumerate(payload))


def count_frames(buf):
    """Whole server frames (unmasked, short) at the start of buf: (n, rest)."""
    n = 0
    while len(buf) >= 2 and len(buf) >= 2 + (buf[1] & 0x7F):
        buf = buf[2 + (buf[1] & 0x7F):]
        n += 1
    return n, buf


def run_h1(port, streams, messages, window):
    socks, bufs, sent, got = [], {}, {}, {}
    for _ in range(streams):
        s = socket.create_connection(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        assert head.startswith(b"HTTP/1.1 101"), head[:40]
        bufs[s] = head.split(b"\r\n\r\n", 1)[1]
        sent[s], got[s] = 0, 0
        socks.append(s)
    msg = frame(b"x" * 32)
    for s in socks:
        s.sendall(msg * window)
        sent[s] = window
    total = 0
    while total < streams * messages:
        r, _, _ = select.select(socks, [], [], 10)
        assert r, "no echo within 10 s"
        for s in r:
            n, bufs[s] = count_frames(bufs[s] + s.recv(65536))
            got[s] += n
            total += n
            more = min(n, messages - sent[s])
            if more > 0:
                s.sendall(msg * more)
                sent[s] += more
    return total


def run_h2(port, streams, messages, window):
    s = socket.create_connection(("127.0.0.1", port))
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    c.increment_flow_control_window(1 << 24)
    s.sendall(c.data_to_send())
    sids = []
    while not c.remote_settings.enable_connect_protocol:
        c.receive_data(s.recv(65536))
        s.sendall(c.data_to_send())
    for _ in range(streams):
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"),
                             (":scheme", "http"), (":path", "/ws"),
                             (":authority", f"127.0.0.1:{port}"),
                             ("sec-websocket-version", "13")])
        sids.append(sid)
    msg = frame(b"x" * 32)
    bufs, sent = {sid: b"" for sid in sids}, {}
    for sid in sids:
        c.send_data(sid, msg * window)
        sent[sid] = window
    s.sendall(c.data_to_send())
    total = 0
    while total < streams * messages:
        r, _, _ = select.select([s], [], [], 10)
        assert r, "no echo within 10 s"
        for ev in c.receive_data(s.recv(262144)):
            if isinstance(ev, h2.events.DataReceived):
                c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                n, bufs[ev.stream_id] = count_frames(bufs[ev.stream_id] + ev.data)
                total += n
                more = min(n, messages - sent[ev.stream_id])
                if more > 0:
                    c.send_data(ev.stream_id, msg * more)
                    sent[ev.stream_id] += more
        s.sendall(c.data_to_send())
    return total


def main():
    mode, port, streams, messages, window = sys.argv[1], *map(int, sys.argv[2:6])
    fn = run_h2 if mode == "h2" else run_h1
    print(fn(port, streams, messages, window))


if __name__ == "__main__":
    main()
