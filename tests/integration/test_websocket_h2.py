"""WebSockets and CONNECT tunnels over HTTP/2 streams: RFC 8441 extended
CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL, :protocol websocket, 200 instead
of 101) through the same pipeline as HTTP/1.1 (routing, policies, the
websocket handler), frames echoed over the stream, ping and close,
permessage-deflate, several tunnels and plain requests on one connection,
flow control holding a slow reader's tunnel to bounded memory, RST_STREAM,
the per-connection tunnel limit and idle timeout, plain CONNECT (RFC 9113
§8.5) to the forward proxy, and once over TLS with ALPN h2.  Frame-level,
with python3-h2 through h2client.py."""

import base64
import os
import signal
import ssl
import socket
import struct
import time
import zlib

from h2client import H2, h2, need_h2
from harness import (ConfigServer, Server, check, config_dir, eq, make_docroot, remove_tree,
                     shared, skip, timeout, tls_files)
from upstreams import FakeUpstream, echo_bytes, proxy_config
from harness import at_teardown
from wsraw import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, close_payload, frame

CONFIG = """
h2c: true
h2-max-tunnels: 3
locations:
  /: {files: {root: www}}
  /ws: {websocket: echo}
  /slow: {websocket: {max-pending: 16K, deflate: false}}
  /quiet: {websocket: {ping-interval: 0}}
  /chat: {websocket: {mode: channels}}
  /private:
    websocket: echo
    auth: {basic: users, realm: ws}
"""


def srv():
    def make():
        d, path = config_dir(CONFIG, files={"www/index.html": "hello\n", "users": ""})
        return ConfigServer(path)
    return shared("websocket over h2", make)


class Stream:
    """One WebSocket on an HTTP/2 stream of c (an H2)."""

    def __init__(self, c, path="/ws", extra=(), protocol="websocket"):
        self.c = c
        hdrs = [(":method", "CONNECT"), (":protocol", protocol), (":scheme", c.scheme),
                (":path", path), (":authority", c.authority),
                ("sec-websocket-version", "13")] + list(extra)
        self.sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(self.sid, hdrs, end_stream=False)
        c.flush()
        c.pump(lambda evs: self._head(evs) is not None)
        self.status, self.headers = self._head(c.events)
        self.buf = bytearray()
        self.seen = 0
        self.inflater = None
        if "permessage-deflate" in self.headers.get("sec-websocket-extensions", ""):
            self.inflater = zlib.decompressobj(-15)

    def _head(self, evs):
        for e in evs:
            if getattr(e, "stream_id", None) != self.sid:
                continue
            if isinstance(e, h2.events.ResponseReceived):
                hd = dict(e.headers)
                return int(hd[":status"]), hd
            if isinstance(e, h2.events.StreamReset):
                return ("reset", e.error_code), {}
        return None

    def send(self, op, payload=b"", rsv=0, end=False):
        data, c = frame(op, payload, rsv=rsv), self.c
        while True:  # as the stream's window allows
            n = min(c.conn.local_flow_control_window(self.sid), c.conn.max_outbound_frame_size)
            if n <= 0:
                c.pump(lambda evs: c.conn.local_flow_control_window(self.sid) > 0)
                continue
            piece, data = data[:n], data[n:]
            c.conn.send_data(self.sid, piece, end_stream=end and not data)
            c.flush()
            if not data:
                return

    def ended(self):
        return any(getattr(e, "stream_id", None) == self.sid and
                   isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset))
                   for e in self.c.events)

    def _take(self):
        evs = self.c.events
        for e in evs[self.seen:]:
            if isinstance(e, h2.events.DataReceived) and e.stream_id == self.sid:
                self.buf += e.data
        self.seen = len(evs)

    def _frame(self, peek=False):
        b = self.buf
        if len(b) < 2:
            return None
        n, off = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, off = struct.unpack("!H", bytes(b[2:4]))[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, off = struct.unpack("!Q", bytes(b[2:10]))[0], 10
        if len(b) < off + n:
            return None
        if peek:
            return True
        check(not (b[1] & 0x80), "server frames are never masked")
        f = (b[0] >> 7, (b[0] >> 4) & 7, b[0] & 15, bytes(b[off:off + n]))
        del b[:off + n]
        return f

    def read_frame(self, timeout_s=5.0):
        """(fin, rsv, opcode, payload), or None when the stream ended first."""
        def ready(evs):
            self._take()
            return self._frame(peek=True) or self.ended()
        self.c.pump(ready, timeout_s)
        self._take()
        return self._frame()

    def read_message(self, timeout_s=5.0):
        f = self.read_frame(timeout_s)
        check(f is not None, "a frame before the stream ended")
        fin, rsv, op, payload = f
        if rsv & 4:
            payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
        return op, payload


def h2c():
    return H2(srv())


# ---- the handshake ----

def test_settings_announce_extended_connect():
    with h2c() as c:
        c.pump(lambda evs: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in evs))
        eq(c.conn.remote_settings.enable_connect_protocol, 1,
           "SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3)")


def test_extended_connect_opens_with_200_and_echoes_text_and_binary():
    with h2c() as c:
        ws = Stream(c)
        eq(ws.status, 200, "RFC 8441 §5: 200, not 101")
        check("sec-websocket-accept" not in ws.headers, "no Sec-WebSocket-Accept over HTTP/2")
        check("content-length" not in ws.headers, "no Content-Length on a 2xx to CONNECT")
        ws.send(OP_TEXT, "héllo".encode())
        eq(ws.read_message(), (OP_TEXT, "héllo".encode()), "text echoed")
        blob = os.urandom(70000)  # more than one DATA frame, more than a stream window
        ws.send(OP_BINARY, blob)
        op, got = ws.read_message()
        check(op == OP_BINARY and got == blob, f"binary echoed whole ({len(got)} bytes)")


def test_ping_and_close_handshake_end_the_stream():
    with h2c() as c:
        ws = Stream(c)
        ws.send(OP_PING, b"are you there")
        eq(ws.read_message(), (OP_PONG, b"are you there"), "pong with the ping's payload")
        ws.send(OP_CLOSE, close_payload(1000, b"bye"))
        op, payload = ws.read_message()
        eq((op, payload[:2]), (OP_CLOSE, struct.pack("!H", 1000)), "the close is answered")
        c.pump(lambda evs: ws.ended())
        check(any(isinstance(e, h2.events.StreamEnded) and e.stream_id == ws.sid
                  for e in c.events), "the server ends its side with END_STREAM")


def test_client_end_stream_without_close_frame():
    with h2c() as c:
        ws = Stream(c)
        ws.send(OP_TEXT, b"x", end=True)  # END_STREAM: the client shut its side
        eq(ws.read_message(), (OP_TEXT, b"x"), "what came before is answered")
        c.pump(lambda evs: ws.ended())
        status, _, body, _ = c.response(c.headers("GET", "/index.html"))
        eq((status, body), (200, b"hello\n"), "the connection still serves requests")


def test_permessage_deflate_over_h2():
    with h2c() as c:
        ws = Stream(c, extra=[("sec-websocket-extensions", "permessage-deflate")])
        eq(ws.status, 200, "status")
        check(ws.inflater is not None,
              f"negotiated by fields as over HTTP/1.1: {ws.headers.get('sec-websocket-extensions')!r}")
        text = b"compress me " * 200
        z = zlib.compressobj(wbits=-15)
        body = z.compress(text) + z.flush(zlib.Z_SYNC_FLUSH)
        ws.send(OP_TEXT, body[:-4], rsv=4)
        op, got = ws.read_message()
        eq((op, got), (OP_TEXT, text), "a compressed message, echoed compressed")


def test_two_websockets_and_a_get_on_one_connection():
    with h2c() as c:
        a, b = Stream(c), Stream(c)
        eq((a.status, b.status), (200, 200), "both open")
        a.send(OP_TEXT, b"to a")
        b.send(OP_TEXT, b"to b")
        sid = c.headers("GET", "/index.html")
        status, _, body, _ = c.response(sid)
        eq((status, body), (200, b"hello\n"), "a GET between them")
        eq(b.read_message(), (OP_TEXT, b"to b"), "b's echo on b's stream")
        eq(a.read_message(), (OP_TEXT, b"to a"), "a's echo on a's stream")


def test_channels_over_h2_and_http11():
    """A channel's subscribers on HTTP/2 streams and on an HTTP/1.1
    connection hear each other's messages."""
    from wsraw import WS
    with h2c() as c:
        a, b = Stream(c, path="/chat/room"), Stream(c, path="/chat/room")
        eq((a.status, b.status), (200, 200), "two subscribers on one connection")
        old = WS(srv(), "/chat/room")
        time.sleep(0.1)  # the HTTP/1.1 subscription is made by its worker
        a.send(OP_TEXT, b"from a stream")
        eq(b.read_message(), (OP_TEXT, b"from a stream"), "the other stream hears it")
        eq(old.read_message(), (OP_TEXT, b"from a stream"), "and so does HTTP/1.1")
        eq(a.read_message(), (OP_TEXT, b"from a stream"), "the publisher too, as on HTTP/1.1")
        old.send_frame(OP_TEXT, b"from HTTP/1.1")
        eq(a.read_message(), (OP_TEXT, b"from HTTP/1.1"), "and the streams hear HTTP/1.1")
        old.close()


@timeout(30)
def test_server_stop_sends_1001_on_each_stream():
    d, path = config_dir("h2c: true\nlocations:\n  /ws: {websocket: echo}\n")
    try:
        with ConfigServer(path) as s, H2(s) as c:
            ws = Stream(c)
            ws.send(OP_TEXT, b"before")
            eq(ws.read_message(), (OP_TEXT, b"before"), "echo")
            s.signal(signal.SIGTERM)
            # python3-h2 refuses DATA after a GOAWAY, which RFC 9113 §6.8
            # allows on the streams it names: the frames are read raw
            import hyperframe.frame as hf
            raw, deadline = b"", time.monotonic() + 10
            while time.monotonic() < deadline:
                c.sock.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    got = c.sock.recv(65536)
                except (socket.timeout, ConnectionResetError):
                    break
                if not got:
                    break
                raw += got
            data, kinds, pos = b"", [], 0
            while pos + 9 <= len(raw):
                f, n = hf.Frame.parse_frame_header(memoryview(raw[pos:pos + 9]))
                f.parse_body(memoryview(raw[pos + 9:pos + 9 + n]))
                pos += 9 + n
                kinds.append(type(f).__name__)
                if isinstance(f, hf.DataFrame) and f.stream_id == ws.sid:
                    data += f.data
            ws.buf = bytearray(data)
            f = ws._frame()
            check(f is not None, f"a close frame on the stream; frames: {kinds}")
            eq((f[2], f[3][:2]), (OP_CLOSE, struct.pack("!H", 1001)),
               "RFC 6455 §7.4.1: 1001, the endpoint is going away")
            check("GoAwayFrame" in kinds, f"and GOAWAY: {kinds}")
            s.wait()
    finally:
        remove_tree(d)


@timeout(30)
def test_the_stream_is_logged_as_its_request_when_it_closes():
    import json
    root = make_docroot()
    log = os.path.join(root, "access.jsonl")
    try:
        with Server(root, "--h2c", "--ws-echo", "/ws", "--access-log", log,
                    "--access-log-format", "json") as s, H2(s) as c:
            ws = Stream(c, path="/ws?room=2", extra=[("user-agent", "h2-test/1")])
            for i in range(4):
                ws.send(OP_BINARY, bytes([0x41 + i]) * 6000)
                op, got = ws.read_message()
                check(got == bytes([0x41 + i]) * 6000, f"message {i}")
            ws.send(OP_CLOSE, close_payload(1000))
            ws.read_message()
            c.pump(lambda evs: ws.ended())
            status, _, _, _ = c.response(c.headers("GET", "/a.txt"))
            eq(status, 200, "a request after it")
        with open(log) as f:
            lines = [json.loads(x) for x in f if x.strip()]
        tun = [x for x in lines if x.get("method") == "CONNECT"]
        eq(len(tun), 1, f"one line for the WebSocket's stream: {lines}")
        eq((tun[0]["target"], tun[0]["status"], tun[0].get("user_agent")),
           ("/ws?room=2", 200, "h2-test/1"), f"the stream's request, intact: {tun[0]}")
        check(int(tun[0].get("bytes", tun[0].get("bytes_sent", 0)) or 0) >= 4 * 6000,
              f"the bytes the tunnel sent: {tun[0]}")
    finally:
        remove_tree(root)


# ---- through the pipeline ----

def test_connect_protocol_to_a_location_without_websocket_is_405():
    with h2c() as c:
        ws = Stream(c, path="/index.html")
        eq(ws.status, 405, "files do not take CONNECT")
        check("GET" in ws.headers.get("allow", ""), f"Allow: {ws.headers.get('allow')!r}")


def test_unknown_protocol_is_400():
    with h2c() as c:
        ws = Stream(c, protocol="chat-v9")
        eq(ws.status, 400, "the websocket location speaks websocket only")


def test_plain_get_over_h2_gets_426():
    with h2c() as c:
        status, _, body, _ = c.response(c.headers("GET", "/ws"))
        eq(status, 426, "a plain request to a WebSocket-only location")
        check(b"RFC 8441" in body, f"the detail says how over HTTP/2: {body!r}")


def test_missing_version_is_400():
    with h2c() as c:
        sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"),
                                  (":scheme", "http"), (":path", "/ws"),
                                  (":authority", c.authority)], end_stream=False)
        c.flush()
        status, hdrs, _, _ = c.response(sid)
        eq(status, 400, "Sec-WebSocket-Version is required")
        eq(hdrs.get("sec-websocket-version"), "13", "the version this server speaks")


def test_auth_policy_answers_401_on_the_stream():
    with h2c() as c:
        ws = Stream(c, path="/private")
        eq(ws.status, 401, "the auth policy runs before the handler")
        check("www-authenticate" in ws.headers, "with the challenge")
        status, _, body, _ = c.response(c.headers("GET", "/index.html"))
        eq((status, body), (200, b"hello\n"), "the connection goes on")


# ---- flow control, reset, limits ----

@timeout(60)
def test_slow_reader_is_held_by_the_stream_window():
    """The client reads nothing (its receive window 1 KiB, never updated):
    echoes wait at the server until max-pending (16K), then the server stops
    acknowledging the client's DATA, so the client's send window closes;
    nothing is dropped, and all arrives once the client reads."""
    with H2(srv(), settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1024}) as c:
        c.ack_data = False
        ws = Stream(c, path="/slow")
        msg = os.urandom(4000)
        sent = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            f = frame(OP_BINARY, msg)
            if c.conn.local_flow_control_window(ws.sid) < len(f):
                # let the server answer what it took; stop once it takes nothing more
                before = c.conn.local_flow_control_window(ws.sid)
                try:
                    c.pump(lambda evs: c.conn.local_flow_control_window(ws.sid) >= len(f),
                           timeout_s=1.0)
                except AssertionError:
                    pass
                if c.conn.local_flow_control_window(ws.sid) < len(f) and \
                        c.conn.local_flow_control_window(ws.sid) == before:
                    break
                continue
            c.conn.send_data(ws.sid, f)
            c.flush()
            sent += 1
        check(time.monotonic() < deadline, "the server's window stopped the client")
        # what the server holds: the stream window (64K) and max-pending, not all that was sent
        check(sent * 4000 < 400 * 1024, f"the client could send {sent} messages")
        got = sum(len(e.data) for e in c.events
                  if isinstance(e, h2.events.DataReceived) and e.stream_id == ws.sid)
        check(got <= 1024, f"the server kept to the client's window: {got} bytes")
        # now read: every message comes back, in order
        c.ack_data = True
        for e in c.events:
            if isinstance(e, h2.events.DataReceived):
                c.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        c.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20})
        c.conn.increment_flow_control_window(1 << 24)
        c.flush()
        for i in range(sent):
            op, got = ws.read_message(timeout_s=10)
            check(op == OP_BINARY and got == msg, f"message {i} of {sent} intact")


def test_reset_closes_the_tunnel_and_frees_its_place():
    """h2-max-tunnels is 3: a fourth CONNECT gets 503; a RST_STREAM from the
    client closes one tunnel and its place is free again."""
    with h2c() as c:
        wss = [Stream(c, path="/quiet") for _ in range(3)]
        eq([w.status for w in wss], [200, 200, 200], "three tunnels")
        extra = Stream(c, path="/quiet", extra=[("accept", "application/problem+json")])
        eq(extra.status, 503, "a fourth is over --h2-max-tunnels")
        c.conn.reset_stream(wss[0].sid)
        c.flush()
        wss[1].send(OP_TEXT, b"still here")
        eq(wss[1].read_message(), (OP_TEXT, b"still here"), "the others go on")
        again = Stream(c, path="/quiet")
        eq(again.status, 200, "the reset tunnel's place is free")


@timeout(30)
def test_tunnel_idle_timeout_is_per_stream():
    d, path = config_dir("h2c: true\ntunnel-timeout: 1\nlocations:\n"
                         "  /: {return: 204}\n  /quiet: {websocket: {ping-interval: 0}}\n")
    try:
        with ConfigServer(path) as s, H2(s) as c:
            ws = Stream(c, path="/quiet")
            eq(ws.status, 200, "open")
            t0 = time.monotonic()
            while time.monotonic() - t0 < 3 and not ws.ended():
                status, _, _, _ = c.response(c.headers("GET", "/"))
                eq(status, 204, "other streams keep working meanwhile")
                time.sleep(0.2)
            c.pump(lambda evs: ws.ended(), timeout_s=5)
            check(any(isinstance(e, h2.events.StreamReset) and e.stream_id == ws.sid
                      for e in c.events), "the idle tunnel's stream is reset")
            status, _, _, _ = c.response(c.headers("GET", "/"))
            eq(status, 204, "and the connection stays")
    finally:
        remove_tree(d)


# ---- plain CONNECT to the forward proxy (RFC 9113 §8.5) ----

def test_plain_connect_tunnel_to_the_forward_proxy():
    raw = FakeUpstream(echo_bytes)
    at_teardown(raw.close)
    s = shared("nxx forward over h2", lambda: proxy_config(
        "  /:\n    forward:\n"
        f"      allow: ['127.0.0.1:{raw.port}']\n      connect-ports: ['{raw.port}']\n",
        "--h2c"))
    with H2(s, validate=False) as c:
        sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(sid, [(":method", "CONNECT"),
                                  (":authority", f"127.0.0.1:{raw.port}")], end_stream=False)
        c.flush()
        c.pump(lambda evs: any(isinstance(e, (h2.events.ResponseReceived, h2.events.StreamReset))
                               and e.stream_id == sid for e in evs))
        head = [e for e in c.events if isinstance(e, h2.events.ResponseReceived)]
        eq(int(dict(head[0].headers)[":status"]), 200, "the tunnel is up")
        c.conn.send_data(sid, b"through the tunnel", end_stream=True)
        c.flush()

        def echoed(evs):
            return b"".join(e.data for e in evs if isinstance(e, h2.events.DataReceived)
                            and e.stream_id == sid) == b"through the tunnel"
        c.pump(lambda evs: echoed(evs) and any(
            isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)) and e.stream_id == sid
            for e in evs))
        check(echoed(c.events), "bytes both ways, untouched")


# ---- the relay: extended CONNECT in front, RFC 6455 behind ----

def test_relay_through_the_proxy_from_an_extended_connect():
    up = shared("upstream nxx --ws-echo /ws (h2 relay)",
                lambda: Server(make_docroot(), "--ws-echo", "/ws", upstream=True))
    front = shared("nxx --h2c --proxy to the echo",
                   lambda: Server(make_docroot(), "--h2c", "--proxy", f"http://127.0.0.1:{up.port}"))
    with H2(front) as c:
        ws = Stream(c, extra=[("sec-websocket-extensions", "permessage-deflate")])
        eq(ws.status, 200, "the upstream's 101 becomes the stream's 200")
        check("sec-websocket-accept" not in ws.headers, "the accept value stays on the upstream hop")
        check("via" in ws.headers, "with the proxy's Via")
        check(ws.inflater is not None, "the upstream's permessage-deflate comes through")
        ws.send(OP_TEXT, b"relayed " * 10)
        eq(ws.read_message(), (OP_TEXT, b"relayed " * 10), "echoed by the upstream")
        ws.send(OP_CLOSE, close_payload(1000))
        op, _ = ws.read_message()
        eq(op, OP_CLOSE, "the upstream's close comes back")


# ---- TLS ----

def test_websocket_over_tls_with_alpn_h2():
    crt, key = tls_files()
    d, path = config_dir("locations:\n  /ws: {websocket: echo}\n")
    try:
        with ConfigServer(path, "--tls-cert", crt, "--tls-key", key) as s:
            ctx = ssl._create_unverified_context()
            ctx.set_alpn_protocols(["h2"])
            sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port), timeout=5),
                                   server_hostname="localhost")
            eq(sock.selected_alpn_protocol(), "h2", "ALPN")
            with H2(s, sock=sock, scheme="https") as c:
                ws = Stream(c)
                eq(ws.status, 200, "extended CONNECT over TLS")
                ws.send(OP_TEXT, b"secure")
                eq(ws.read_message(), (OP_TEXT, b"secure"), "echo")
    finally:
        remove_tree(d)
