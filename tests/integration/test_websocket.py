"""WebSocket locations (RFC 6455) over raw sockets, case by case after the
Autobahn|Testsuite's list: the opening handshake (101 with the accept value,
400 for a malformed handshake, 426 for another version or a plain request,
subprotocols), framing (1.x), pings (2.x), reserved bits (3.x), opcodes (4.x),
fragmentation (5.x), UTF-8 (6.x), the close handshake (7.x), limits (9.x),
permessage-deflate (12.x/13.x), keep-alive, back-pressure and
publish/subscribe channels."""

import base64
import json
import os
import select
import signal
import socket
import ssl
import struct
import time
import zlib

from harness import (ConfigServer, Conn, Server, assert_alive, build_request, check,
                     check_config, check_status, config_dir, eq, get, make_docroot,
                     shared, timeout, write_config)
from wsraw import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, WS, accept_for,
                   close_payload, frame, handshake_headers)

CONFIG = """
locations:
  /: {files: {root: ROOT}}
  /ws: {websocket: echo}
  /small: {websocket: {max-message: 1000}}
  /plain: {websocket: {deflate: false}}
  /proto: {websocket: {protocols: [chat, superchat]}}
  /ping: {websocket: {ping-interval: 0.3}}
  /slow: {websocket: {max-pending: 64K}}
  /chat: {websocket: {mode: channels, max-pending: 64K}}
  /site: {websocket: {origins: ["https://example.org", "http://localhost:8080"]}}
"""


def srv():
    def make():
        root = make_docroot()
        d, path = config_dir(CONFIG.replace("ROOT", root))
        return ConfigServer(path)
    return shared("websocket locations", make)


def cli():
    def make():
        root = make_docroot()
        return Server(root, "--ws-echo", "/echo")
    return shared("nxx serve --ws-echo", make)


def handshake(path, headers, target=None, version="HTTP/1.1"):
    with Conn(target or srv()) as c:
        c.send(build_request("GET", path, headers, version=version))
        return c.read_response("GET", interim=False)


# ---- the opening handshake (RFC 6455 §4) ----

def test_handshake_101_with_the_rfc_sample_key():
    r = handshake("/ws", handshake_headers("dGhlIHNhbXBsZSBub25jZQ=="))
    check_status(r, 101, "valid handshake")
    # RFC 6455 §1.3's worked example
    eq(r.header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "accept value")
    eq(r.header("upgrade"), "websocket", "Upgrade")
    check("upgrade" in r.tokens("connection"), f"Connection: {r.header('connection')!r}")
    check(r.header("sec-websocket-protocol") is None, "no subprotocol unless one was offered")


def test_plain_request_gets_426_with_upgrade():
    for method in ("GET", "POST", "HEAD"):
        with Conn(srv()) as c:
            r = c.request(method, "/ws")
        check_status(r, 426, f"plain {method}")
        eq(r.header("upgrade"), "websocket", "426 names the protocol")
        check("upgrade" in r.tokens("connection"), f"Connection: {r.header('connection')!r}")
    r = get(srv(), "/ws", [("Accept", "application/problem+json")])
    check(r.content_type.startswith("application/problem+json"), r.content_type)
    check(b"WebSocket" in r.body, r.body)


def test_wrong_version_gets_426_with_the_version():
    r = handshake("/ws", handshake_headers(version="8"))
    check_status(r, 426, "version 8")
    eq(r.header("sec-websocket-version"), "13", "Sec-WebSocket-Version names 13")


def test_malformed_handshakes_get_400_problem():
    bad_keys = ["", "short", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=!",
                base64.b64encode(b"x" * 15).decode(), base64.b64encode(b"x" * 17).decode(),
                "dGhlIHNhbXBsZSBub25jZR=="]  # non-zero padding bits
    for key in bad_keys:
        h = [x for x in handshake_headers() if x[0] != "Sec-WebSocket-Key"]
        if key:
            h.append(("Sec-WebSocket-Key", key))
        r = handshake("/ws", h + [("Accept", "application/problem+json")])
        check_status(r, 400, f"key {key!r}")
        check(r.content_type.startswith("application/problem+json"), r.content_type)
    # two keys
    r = handshake("/ws", handshake_headers() + [("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")])
    check_status(r, 400, "two Sec-WebSocket-Key fields")
    # no Connection: upgrade
    h = [x for x in handshake_headers() if x[0] != "Connection"]
    check_status(handshake("/ws", h), 400, "without Connection: upgrade")
    # no version at all
    h = [x for x in handshake_headers() if x[0] != "Sec-WebSocket-Version"]
    r = handshake("/ws", h)
    check_status(r, 400, "without Sec-WebSocket-Version")
    eq(r.header("sec-websocket-version"), "13", "Sec-WebSocket-Version names 13")
    # an upgrade by POST
    with Conn(srv()) as c:
        r = c.request("POST", "/ws", handshake_headers())
    check_status(r, 400, "POST with Upgrade: websocket")
    assert_alive(srv())


def test_origins_allowed():
    for origin in ("https://example.org", "HTTP://LOCALHOST:8080"):
        ws = WS(srv(), "/site", [("Origin", origin)])
        ws.send_frame(OP_TEXT, "hi")
        eq(ws.read_message(), (OP_TEXT, b"hi"), f"from {origin}")
        ws.close()
    ws = WS(srv(), "/site")
    ws.close()  # no Origin: not a browser, accepted
    r = handshake("/site", handshake_headers() + [("Origin", "https://evil.example"),
                                                  ("Accept", "application/problem+json")])
    check_status(r, 403, "a page of another site (RFC 6455 §10.2)")
    check(b"evil.example" in r.body, r.body)
    ws = WS(srv(), "/ws", [("Origin", "https://evil.example")])
    ws.close()  # a location without origins takes any


def test_http10_is_not_upgraded():
    with Conn(srv()) as c:
        c.send(b"GET /ws HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        r = c.read_response("GET")
    check_status(r, 426, "HTTP/1.0 (RFC 9110 §7.8: Upgrade ignored)")


def test_subprotocol_negotiation():
    ws = WS(srv(), "/proto", [("Sec-WebSocket-Protocol", "foo, superchat, chat")])
    # the server's preference order: chat before superchat
    eq(ws.resp.header("sec-websocket-protocol"), "chat", "chosen subprotocol")
    ws.close()
    ws = WS(srv(), "/proto", [("Sec-WebSocket-Protocol", "superchat")])
    eq(ws.resp.header("sec-websocket-protocol"), "superchat", "the only one offered")
    ws.close()
    ws = WS(srv(), "/proto", [("Sec-WebSocket-Protocol", "mqtt")])
    check(ws.resp.header("sec-websocket-protocol") is None, "none in common: none chosen")
    ws.close()


def test_ws_echo_flag_of_nxx_serve():
    ws = WS(cli(), "/echo")
    ws.send_frame(OP_TEXT, "from the command line")
    eq(ws.read_message(), (OP_TEXT, b"from the command line"), "echo")
    ws.close()
    with Conn(cli()) as c:
        check_status(c.request("GET", "/echo"), 426, "plain GET")
        check_status(c.request("GET", "/"), 200, "files beside it")


# ---- 1.x framing ----

def test_echo_sizes_text_and_binary():
    ws = WS(srv(), "/plain")
    for n in (0, 1, 125, 126, 127, 128, 65535, 65536, 300000):
        data = bytes((i * 7) & 0x7F for i in range(n))
        ws.send_frame(OP_TEXT, data)
        eq(ws.read_message(), (OP_TEXT, data), f"text of {n} bytes")
        data = os.urandom(n)
        ws.send_frame(OP_BINARY, data)
        eq(ws.read_message(), (OP_BINARY, data), f"binary of {n} bytes")
    ws.close()


def test_frames_in_pieces_and_many_per_write():
    ws = WS(srv(), "/plain")
    f = frame(OP_TEXT, "split anywhere")
    for b in f:
        ws.send(bytes([b]))
    eq(ws.read_message(), (OP_TEXT, b"split anywhere"), "a frame one byte at a time")
    ws.send(b"".join(frame(OP_BINARY, bytes([i]) * i) for i in range(50)))
    for i in range(50):
        eq(ws.read_message(), (OP_BINARY, bytes([i]) * i), f"message {i} of one write")
    ws.close()


def test_bytes_behind_the_handshake_come_first():
    with Conn(srv()) as c:
        c.send(build_request("GET", "/plain", handshake_headers()) + frame(OP_TEXT, "early"))
        r = c.read_response("GET", interim=False)
        check_status(r, 101, "handshake")
        eq(c.read_exactly(7), b"\x81\x05early", "the frame sent with the head is echoed")


def test_handshake_pipelined_behind_a_request():
    with Conn(srv()) as c:
        c.send(build_request("GET", "/nothere") +
               build_request("GET", "/ws?x=1", handshake_headers()) + frame(OP_TEXT, "piped"))
        check_status(c.read_response("GET"), 404, "the first request")
        check_status(c.read_response("GET", interim=False), 101, "the upgrade behind it")
        eq(c.read_exactly(7), b"\x81\x05piped", "then the frame behind that")


def test_unmasked_client_frame_closes_1002():
    ws = WS(srv(), "/ws")
    ws.send_frame(OP_TEXT, "no mask", mask=False)
    ws.expect_close(1002, "unmasked frame (§5.1)")


# ---- 2.x pings ----

def test_ping_gets_pong_with_the_same_data():
    ws = WS(srv(), "/ws")
    for payload in (b"", b"hello", bytes(range(125))):
        ws.send_frame(OP_PING, payload)
        f = ws.read_frame()
        eq((f[2], f[3]), (OP_PONG, payload), f"pong for a ping of {len(payload)} bytes")
    ws.send_frame(OP_PONG, b"unsolicited")  # §5.5.3: may be sent; no answer
    ws.send_frame(OP_TEXT, "after")
    eq(ws.read_message(), (OP_TEXT, b"after"), "an unsolicited pong is ignored")
    ws.send(b"".join(frame(OP_PING, b"%d" % i) for i in range(10)))
    for i in range(10):
        f = ws.read_frame()
        eq((f[2], f[3]), (OP_PONG, b"%d" % i), f"pong {i} of 10")
    ws.close()


def test_ping_over_125_bytes_closes_1002():
    ws = WS(srv(), "/ws")
    ws.send_frame(OP_PING, b"x" * 126)
    ws.expect_close(1002, "ping of 126 bytes (§5.5)")


def test_fragmented_ping_closes_1002():
    ws = WS(srv(), "/ws")
    ws.send_frame(OP_PING, b"frag", fin=False)
    ws.expect_close(1002, "fragmented ping (§5.5)")


# ---- 3.x reserved bits, 4.x opcodes ----

def test_reserved_bits_close_1002():
    for rsv in (1, 2, 3, 5, 7):
        ws = WS(srv(), "/plain")
        ws.send_frame(OP_TEXT, "rsv", rsv=rsv)
        ws.expect_close(1002, f"RSV {rsv:03b} without an extension")


def test_reserved_opcodes_close_1002():
    for op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
        ws = WS(srv(), "/ws")
        ws.send_frame(OP_TEXT, "first")
        eq(ws.read_message(), (OP_TEXT, b"first"), "before the bad frame")
        ws.send_frame(op, b"")
        ws.expect_close(1002, f"opcode {op}")


# ---- 5.x fragmentation ----

def test_fragmented_messages_with_control_frames_between():
    ws = WS(srv(), "/plain")
    ws.send_frame(OP_TEXT, "frag", fin=False)
    ws.send_frame(OP_PING, b"between")
    ws.send_frame(OP_CONT, "men", fin=False)
    ws.send_frame(OP_PONG, b"")
    ws.send_frame(OP_CONT, "ted")
    f = ws.read_frame()
    eq((f[2], f[3]), (OP_PONG, b"between"), "the ping between fragments is answered first")
    eq(ws.read_message(), (OP_TEXT, b"fragmented"), "the whole message")
    ws.send_frame(OP_BINARY, b"", fin=False)
    ws.send_frame(OP_CONT, b"", fin=False)
    ws.send_frame(OP_CONT, b"\x01\x02")
    eq(ws.read_message(), (OP_BINARY, b"\x01\x02"), "empty fragments")
    ws.close()


def test_continuation_without_a_message_closes_1002():
    ws = WS(srv(), "/ws")
    ws.send_frame(OP_CONT, "nothing to continue")
    ws.expect_close(1002, "continuation first")


def test_new_message_inside_a_fragmented_one_closes_1002():
    ws = WS(srv(), "/ws")
    ws.send_frame(OP_TEXT, "one", fin=False)
    ws.send_frame(OP_TEXT, "two")
    ws.expect_close(1002, "text frame inside a fragmented message")


# ---- 6.x UTF-8 ----

def test_valid_utf8_text():
    ws = WS(srv(), "/plain")
    text = "κόσμε Hello-µ@ßöäüàá-UTF-8!! \U0001F600 \u20ac \U0010FFFF".encode()
    ws.send_frame(OP_TEXT, text)
    eq(ws.read_message(), (OP_TEXT, text), "multi-byte text")
    # split inside code points, fragment by fragment
    ws.send_frame(OP_TEXT, text[:1], fin=False)
    for i in range(1, len(text) - 1):
        ws.send_frame(OP_CONT, text[i:i + 1], fin=False)
    ws.send_frame(OP_CONT, text[-1:])
    eq(ws.read_message(), (OP_TEXT, text), "text split at every byte")
    ws.close()


def test_invalid_utf8_closes_1007():
    cases = [b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff", b"\xe0\x80\xaf",
             b"abc\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
             b"\xce"]  # truncated at the end of the message
    for bad in cases:
        ws = WS(srv(), "/plain")
        ws.send_frame(OP_TEXT, bad)
        ws.expect_close(1007, f"text {bad!r}")


def test_invalid_utf8_fails_fast():
    # 6.4.x: the bad byte arrives in the first fragment; the message never ends
    ws = WS(srv(), "/plain")
    ws.send_frame(OP_TEXT, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80",
                  fin=False)
    ws.expect_close(1007, "bad UTF-8 in an unfinished message")
    # and inside one frame whose end has not arrived yet
    ws = WS(srv(), "/plain")
    f = frame(OP_TEXT, b"ok so far \xed\xa0\x80" + b"x" * 1000)
    ws.send(f[:30])
    ws.expect_close(1007, "bad UTF-8 in a frame still arriving")


# ---- 7.x close ----

def test_close_handshake_echoes_the_code():
    for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999):
        ws = WS(srv(), "/ws")
        ws.send_frame(OP_CLOSE, close_payload(code, b"bye"))
        ws.expect_close(code, f"close {code}")


def test_close_without_code_gets_an_empty_close():
    ws = WS(srv(), "/ws")
    ws.send_frame(OP_CLOSE, b"")
    f = ws.read_frame()
    eq((f[2], f[3]), (OP_CLOSE, b""), "an empty close answers an empty close")
    check(ws.conn.wait_eof(), "then the server closes")


def test_bad_close_frames():
    for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535):
        ws = WS(srv(), "/ws")
        ws.send_frame(OP_CLOSE, close_payload(code))
        ws.expect_close(1002, f"close code {code}")
    ws = WS(srv(), "/ws")
    ws.send_frame(OP_CLOSE, b"\x03")
    ws.expect_close(1002, "one-byte close payload")
    ws = WS(srv(), "/ws")
    ws.send_frame(OP_CLOSE, close_payload(1000, b"\xce\xba\xe1\xbd\xb9\xed\xa0\x80"))
    ws.expect_close(1007, "close reason not UTF-8")


def test_nothing_after_the_close_is_answered():
    ws = WS(srv(), "/ws")
    ws.send(frame(OP_CLOSE, close_payload(1000)) + frame(OP_TEXT, "too late") +
            frame(OP_PING, b"late"))
    ws.expect_close(1000, "close then more frames")
    assert_alive(srv())


# ---- 9.x limits ----

def test_message_over_the_limit_closes_1009():
    ws = WS(srv(), "/small")
    ws.send_frame(OP_BINARY, b"x" * 1000)
    eq(ws.read_message(), (OP_BINARY, b"x" * 1000), "a message at the limit")
    # judged from the header: the payload is never sent
    ws.send(frame(OP_BINARY, b"", length=1 << 40)[:14])
    ws.expect_close(1009, "a 1 TiB frame header")
    ws = WS(srv(), "/small")
    ws.send_frame(OP_TEXT, "a" * 600, fin=False)
    ws.send_frame(OP_CONT, "a" * 600)
    ws.expect_close(1009, "fragments adding up over the limit")


def test_64bit_length_with_top_bit_closes_1002():
    ws = WS(srv(), "/ws")
    ws.send(b"\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00" + os.urandom(4))
    ws.expect_close(1002, "64-bit length with its top bit set")
    ws = WS(srv(), "/ws")
    ws.send(b"\x81\xfe\x00\x05" + b"\x00" * 4 + b"hello")
    ws.expect_close(1002, "a length not in its shortest encoding (§5.2)")


# ---- 12.x / 13.x permessage-deflate ----

def deflate_msg(data, co=None):
    co = co or zlib.compressobj(wbits=-15)
    out = co.compress(data) + co.flush(zlib.Z_SYNC_FLUSH)
    check(out.endswith(b"\x00\x00\xff\xff"), "sync flush tail")
    return out[:-4]


def test_deflate_negotiation():
    ext = lambda offer: WS(srv(), "/ws", [("Sec-WebSocket-Extensions", offer)])
    ws = ext("permessage-deflate; client_max_window_bits")
    eq(ws.resp.header("sec-websocket-extensions"), "permessage-deflate", "plain offer")
    ws.close()
    ws = ext("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    eq(ws.resp.header("sec-websocket-extensions"),
       "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
       "no context takeover both ways")
    ws.close()
    ws = ext("permessage-deflate; server_max_window_bits=10")
    eq(ws.resp.header("sec-websocket-extensions"), "permessage-deflate; server_max_window_bits=10",
       "a smaller server window")
    ws.close()
    # a window of 8 cannot be honoured by zlib; an unknown parameter is declined;
    # the next offer is taken
    ws = ext("permessage-deflate; server_max_window_bits=8, permessage-deflate; foo=1, "
             "permessage-deflate; server_no_context_takeover")
    eq(ws.resp.header("sec-websocket-extensions"),
       "permessage-deflate; server_no_context_takeover", "the first acceptable offer")
    ws.close()
    ws = ext("x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=16")
    check(ws.resp.header("sec-websocket-extensions") is None, "nothing acceptable: none")
    ws.close()
    ws = WS(srv(), "/plain", [("Sec-WebSocket-Extensions", "permessage-deflate")])
    check(ws.resp.header("sec-websocket-extensions") is None, "deflate: false")
    ws.close()


def test_deflate_messages_both_ways():
    ws = WS(srv(), "/ws", [("Sec-WebSocket-Extensions", "permessage-deflate")])
    co = zlib.compressobj(wbits=-15)
    for n in (0, 10, 100, 1000, 65536, 300000):
        data = (b"compress me %d " % n) * (n // 14 + 1)
        data = data[:n]
        ws.send_frame(OP_TEXT, deflate_msg(data, co), rsv=4)
        eq(ws.read_message(), (OP_TEXT, data), f"compressed text of {n} bytes (context kept)")
    # a compressed message in fragments: RSV1 on the first only
    z = deflate_msg(b"fragmented and compressed " * 20, co)
    ws.send_frame(OP_BINARY, z[:5], fin=False, rsv=4)
    ws.send_frame(OP_CONT, z[5:])
    eq(ws.read_message(), (OP_BINARY, b"fragmented and compressed " * 20), "fragments")
    # an uncompressed message on the same connection
    ws.send_frame(OP_TEXT, "as is")
    eq(ws.read_message(), (OP_TEXT, b"as is"), "RSV1 clear: not compressed")
    ws.close()


def test_deflate_no_context_takeover_both_ways():
    ws = WS(srv(), "/ws", [("Sec-WebSocket-Extensions",
                           "permessage-deflate; server_no_context_takeover; "
                           "client_no_context_takeover")])
    data = b"the same text again and again, " * 10
    for i in range(5):
        ws.send_frame(OP_TEXT, deflate_msg(data), rsv=4)  # a fresh compressor each time
        f = ws.read_frame()
        eq(f[1], 4, "RSV1: compressed")
        # the server reset its compressor: each message inflates on its own
        eq(zlib.decompressobj(-15).decompress(f[3] + b"\x00\x00\xff\xff"), data, f"message {i}")
    ws.close()


def test_deflate_errors():
    ws = WS(srv(), "/small", [("Sec-WebSocket-Extensions", "permessage-deflate")])
    ws.send_frame(OP_BINARY, deflate_msg(b"\0" * 100000), rsv=4)  # 100 KB in ~100 bytes
    ws.expect_close(1009, "inflates over the limit")
    ws = WS(srv(), "/ws", [("Sec-WebSocket-Extensions", "permessage-deflate")])
    ws.send_frame(OP_TEXT, deflate_msg(b"\xed\xa0\x80 not text"), rsv=4)
    ws.expect_close(1007, "compressed text that is not UTF-8")
    ws = WS(srv(), "/ws", [("Sec-WebSocket-Extensions", "permessage-deflate")])
    ws.send_frame(OP_BINARY, b"\xff\xff\xff\xff garbage", rsv=4)
    ws.expect_close(1007, "data that does not inflate")
    ws = WS(srv(), "/ws", [("Sec-WebSocket-Extensions", "permessage-deflate")])
    ws.send_frame(OP_BINARY, b"x", fin=False)
    ws.send_frame(OP_CONT, b"y", rsv=4)
    ws.expect_close(1002, "RSV1 on a continuation frame")
    ws = WS(srv(), "/ws", [("Sec-WebSocket-Extensions", "permessage-deflate")])
    ws.send_frame(OP_PING, b"x", rsv=4)
    ws.expect_close(1002, "RSV1 on a control frame")


# ---- keep-alive ----

@timeout(20)
def test_idle_connection_gets_pings_and_closes_without_pongs():
    ws = WS(srv(), "/ping")
    f = ws.read_frame(timeout_s=5)
    check(f is not None and f[2] == OP_PING, f"a ping after the idle interval, got {f!r}")
    ws.send_frame(OP_PONG, f[3])
    ws.send_frame(OP_TEXT, "still here")
    eq(ws.read_message(), (OP_TEXT, b"still here"), "alive after answering")
    # stop answering: the server gives up
    t0 = time.monotonic()
    while True:
        f = ws.read_frame(timeout_s=5)
        check(f is not None, "a close frame before the TCP close")
        if f[2] == OP_CLOSE:
            eq(struct.unpack("!H", f[3][:2])[0], 1001, "close code")
            break
        check(f[2] == OP_PING, f"only pings meanwhile, got {f!r}")
    check(ws.conn.wait_eof(), "closed")
    check(time.monotonic() - t0 < 5, "within a few intervals")


# ---- back-pressure ----

@timeout(60)
def test_echo_stops_reading_a_client_that_does_not_read():
    ws = WS(srv(), "/slow")
    sock = ws.conn.sock
    msg = frame(OP_BINARY, b"z" * 16384)
    sent, part = 0, 0  # whole frames sent, bytes of the next one sent
    sock.setblocking(False)
    last = time.monotonic()
    # write without reading until the server takes nothing for 1 s
    while sent * len(msg) < (256 << 20):
        try:
            part += sock.send(msg[part:])
            if part == len(msg):
                sent, part = sent + 1, 0
            last = time.monotonic()
        except (BlockingIOError, ssl.SSLWantWriteError):
            if time.monotonic() - last > 1.0:
                break
            select.select([], [sock], [], 0.1)
    sock.settimeout(10)
    check(sent * len(msg) < (64 << 20),
          f"the server stopped reading after {sent} messages of 16 KB (its output waiting "
          "for this client is bounded, so it stops reading instead)")
    # everything sent comes back, in order
    for i in range(sent):
        m = ws.read_message(timeout_s=10)
        check(m == (OP_BINARY, b"z" * 16384), f"message {i} of {sent}")
    # then it reads again: the rest of the frame it refused (over TLS, the
    # same write retried) comes back whole
    sock.sendall(msg[part:])
    eq(ws.read_message(timeout_s=10), (OP_BINARY, b"z" * 16384), "the last message")
    ws.close()


# ---- publish/subscribe channels ----

def test_channel_frames_compressed_once_per_window():
    deflate = [("Sec-WebSocket-Extensions", "permessage-deflate")]
    small = [("Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=9")]
    z = [WS(srv(), "/chat/zip", deflate) for _ in range(2)]
    z9 = WS(srv(), "/chat/zip", small)
    plain = WS(srv(), "/chat/zip")
    for w in z + [z9]:
        check(w.inflater is not None, "permessage-deflate agreed")
    for i in range(3):
        text = ("channel message %d, long enough to be worth compressing; " % i) * 6
        plain.send_frame(OP_TEXT, text)
        frames = []
        for w in z + [z9]:
            f = w.read_frame()
            check(f is not None and f[2] == OP_TEXT and f[1] & 4,
                  f"message {i}: a compressed frame (RSV1) for a deflate subscriber")
            # compressed without context takeover: a fresh inflater reads it
            eq(zlib.decompressobj(-15).decompress(f[3] + b"\x00\x00\xff\xff"),
               text.encode(), f"message {i} inflates on its own")
            frames.append(f[3])
        eq(frames[0], frames[1], f"message {i}: one shared frame for the same window")
        check(len(frames[0]) < len(text) // 2, "the shared frame is compressed")
        f = plain.read_frame()
        eq((f[1], f[2], f[3]), (0, OP_TEXT, text.encode()),
           f"message {i}: the plain subscriber gets it uncompressed")
    plain.send_frame(OP_TEXT, "short")
    for w in z + [z9, plain]:
        f = w.read_frame()
        eq((f[1], f[3]), (0, b"short"), "a short message goes uncompressed to everyone")
    for w in z + [z9, plain]:
        w.close()


def test_channel_fan_out():
    a = [WS(srv(), "/chat/room1") for _ in range(3)]
    b = WS(srv(), "/chat/room2")
    a[0].send_frame(OP_TEXT, "hello room1")
    for i, w in enumerate(a):
        eq(w.read_message(), (OP_TEXT, b"hello room1"), f"subscriber {i} of room1")
    b.send_frame(OP_BINARY, b"\x00room2")
    eq(b.read_message(), (OP_BINARY, b"\x00room2"), "room2's own message")
    a[1].send_frame(OP_TEXT, "second")
    for i, w in enumerate(a):
        eq(w.read_message(), (OP_TEXT, b"second"), f"subscriber {i}, second message")
    check(b.read_frame(timeout_s=0.3) is None, "room2 hears nothing of room1")
    for w in a + [b]:
        w.close()


@timeout(60)
def test_slow_subscriber_is_closed_1008_others_keep_up():
    slow = WS(srv(), "/chat/busy", rcvbuf=4096)
    fast = WS(srv(), "/chat/busy")
    pub = WS(srv(), "/chat/busy")
    payload = b"p" * 8000
    # 12 MB: more than the kernel's buffers can hold for a subscriber that reads
    # nothing, and far over its 64 KB bound
    total = 1500
    for i in range(total):
        pub.send_frame(OP_BINARY, payload)
        if i % 4 == 3:
            # the fast reader and the publisher read as they go (32 KB behind at most)
            for _ in range(4):
                eq(fast.read_message(timeout_s=10), (OP_BINARY, payload), "fast subscriber")
                eq(pub.read_message(timeout_s=10), (OP_BINARY, payload), "publisher's own")
    # the slow one: some messages, then a close with 1008
    got = 0
    while True:
        m = slow.read_message(timeout_s=10)
        check(m is not None, f"a close frame after {got} messages")
        if m[0] == OP_CLOSE:
            eq(struct.unpack("!H", m[1][:2])[0], 1008, "close code of the slow subscriber")
            break
        got += 1
    check(got < total, f"the slow subscriber did not get everything ({got} of {total})")
    for w in (slow, fast, pub):
        w.close()


# ---- the access log ----

@timeout(30)
def test_access_log_line_of_a_websocket_connection():
    root = make_docroot()
    log = os.path.join(root, "access.jsonl")
    with Server(root, "--ws-echo", "/echo", "--access-log", log,
                "--access-log-format", "json") as s:
        ws = WS(s, "/echo?room=1")
        for i in range(10):
            # frames that fill the read buffer where the request head was
            ws.send_frame(OP_BINARY, bytes([i]) * 6000)
            eq(ws.read_message(), (OP_BINARY, bytes([i]) * 6000), f"message {i}")
        ws.send_frame(OP_CLOSE, close_payload(1000))
        ws.expect_close(1000, "close")
    # the stop flushes the workers' buffers
    with open(log) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    check(lines, "a line for the connection")
    line = lines[-1]
    eq((line.get("method"), line.get("status")), ("GET", 101), f"logged as GET 101: {line}")
    check("/echo?room=1" in json.dumps(line), f"the request target, intact: {line}")


@timeout(30)
def test_server_stop_sends_1001():
    root = make_docroot()
    with Server(root, "--ws-echo", "/echo") as s:
        echo = WS(s, "/echo")
        echo.send_frame(OP_TEXT, "before")
        eq(echo.read_message(), (OP_TEXT, b"before"), "echo")
        s.signal(signal.SIGTERM)
        # RFC 6455 §7.4.1: 1001, the endpoint is going away
        eq(echo.expect_close(1001, "at the server's stop"), b"server shutting down", "reason")
        s.wait()


def test_bad_websocket_settings_are_refused():
    d, path = config_dir()
    cases = [
        ("locations:\n  /ws: {websocket: chat}\n", "mode"),
        ("locations:\n  /ws: {websocket: {protocols: [\"a b\"]}}\n", "subprotocol"),
        ("locations:\n  /ws: {websocket: {max-message: 0}}\n", "max-message"),
        ("locations:\n  /ws: {websocket: {max-pending: 10}}\n", "max-pending"),
        ("locations:\n  /ws: {websocket: {pings: 3}}\n", "pings"),
    ]
    for text, word in cases:
        with open(path, "w") as f:
            f.write(text)
        rc, out, err = check_config(path)
        eq(rc, 2, f"nxx check exit status for {text!r}")
        check("nxx.yaml:" in err and word in err, f"{text!r}: {err!r}")
    with open(path, "w") as f:
        f.write("locations:\n  /ws: {websocket: {mode: channels, protocols: [chat], "
                "max-message: 64K, ping-interval: 0, deflate: false}}\n")
    rc, out, err = check_config(path)
    eq((rc, err), (0, ""), "a good websocket block")


@timeout(60)
def test_connections_keep_their_configuration_across_a_reload():
    d, path = config_dir("locations:\n  /ws: {websocket: {max-message: 100}}\n"
                         "  /chat: {websocket: channels}\n")
    with ConfigServer(path) as s:
        old = WS(s, "/ws")
        sub = WS(s, "/chat/r")
        write_config(path, "locations:\n  /ws: {websocket: {max-message: 1000}}\n"
                           "  /chat: {websocket: channels}\n")
        s.reload()
        new = WS(s, "/ws")
        new.send_frame(OP_BINARY, b"n" * 500)
        eq(new.read_message(), (OP_BINARY, b"n" * 500), "the new limit for a new connection")
        old.send_frame(OP_BINARY, b"o" * 50)
        eq(old.read_message(), (OP_BINARY, b"o" * 50), "the old connection still echoes")
        old.send_frame(OP_BINARY, b"o" * 500)
        old.expect_close(1009, "the old connection keeps its old limit")
        # a channel outlives the reload: subscribers from before and after meet
        pub = WS(s, "/chat/r")
        pub.send_frame(OP_TEXT, "after the reload")
        eq(pub.read_message(), (OP_TEXT, b"after the reload"), "the new subscriber")
        eq(sub.read_message(), (OP_TEXT, b"after the reload"), "the subscriber from before")
        sub.send_frame(OP_TEXT, "old")
        eq(sub.read_message(), (OP_TEXT, b"old"), "the old subscriber's own")
        eq(pub.read_message(), (OP_TEXT, b"old"), "reaches the new one")
        for w in (new, sub, pub):
            w.send_frame(OP_CLOSE, close_payload(1000))
            w.expect_close(1000, "close")
