"""Regression: a request whose connection was taken over (nxx_req_takeover:
a WebSocket's 101, a CONNECT tunnel's 200) kept its parsed head as views
into the connection's read buffer, and the tunnel then reads the client's
bytes into that same buffer from its start.  The request's access-log line
is written when the tunnel ends, so by then its method, target and fields
were whatever tunnel bytes had landed there: the line of a WebSocket
connection that had carried a few frames named binary frame bytes as its
method and target instead of `GET /ws?room=1`, and a CONNECT tunnel's line
likewise lost `CONNECT host:port`.  Now the head is copied into the
request's arena at the takeover, and the line names the request that was
taken over, with its status (101, 200) and its fields."""

import json
import os

from harness import (Conn, Server, build_request, check, check_status, eq, make_docroot,
                     remove_tree, temp_dir, timeout)
from upstreams import FakeUpstream, echo_bytes, proxy_config
from wsraw import OP_BINARY, OP_CLOSE, WS, close_payload

UA = "regress-takeover/1.0"


def _log_lines(path):
    # tunnel bytes logged in place of the request are not always UTF-8
    with open(path, encoding="utf-8", errors="replace") as f:
        return [json.loads(line) for line in f if line.strip()]


def _only_line(path):
    lines = [l for l in _log_lines(path) if l.get("status") in (101, 200)]
    eq(len(lines), 1, f"one access-log line for the taken-over request: {_log_lines(path)}")
    return lines[0]


@timeout(30)
def test_websocket_upgrade_is_logged_as_its_request():
    root = make_docroot()
    log = os.path.join(root, "access.jsonl")
    try:
        with Server(root, "--ws-echo", "/ws", "--access-log", log,
                    "--access-log-format", "json") as s:
            ws = WS(s, "/ws?room=1", extra=[("User-Agent", UA)])
            for i in range(8):
                # frames larger than the head, landing where it was read
                ws.send_frame(OP_BINARY, bytes([0x41 + i]) * 6000)
                eq(ws.read_message(), (OP_BINARY, bytes([0x41 + i]) * 6000), f"message {i}")
            ws.send_frame(OP_CLOSE, close_payload(1000))
            ws.expect_close(1000, "close")
        # the stop flushes the workers' log buffers
        line = _only_line(log)
        eq((line["method"], line["target"], line["status"]), ("GET", "/ws?room=1", 101),
           f"the WebSocket connection's line: {line}")
        eq(line.get("user_agent"), UA, f"a field of the request, intact: {line}")
    finally:
        remove_tree(root)


@timeout(30)
def test_connect_tunnel_is_logged_as_its_request():
    echo = FakeUpstream(echo_bytes)
    logdir = temp_dir("nxx-regress-log-")
    log = os.path.join(logdir, "access.jsonl")
    target = f"127.0.0.1:{echo.port}"
    srv = proxy_config("  /:\n    forward:\n"
                       f"      allow: ['{target}']\n"
                       f"      connect-ports: ['{echo.port}']\n",
                       "--access-log", log, "--access-log-format", "json")
    try:
        with srv, Conn(srv, 10) as c:
            c.send(build_request("CONNECT", target, [("Host", target), ("User-Agent", UA)],
                                 host=False))
            check_status(c.read_response("CONNECT"), 200, "CONNECT")
            for i in range(8):
                piece = bytes([0x61 + i]) * 6000
                c.send(piece)
                eq(c.read_exactly(len(piece), 10), piece, f"piece {i} through the tunnel")
            c.sock.shutdown(1)
            check(c.wait_eof(5), "the destination's close ends the tunnel")
        line = _only_line(log)
        eq((line["method"], line["target"], line["status"]), ("CONNECT", target, 200),
           f"the tunnel's line: {line}")
        eq(line.get("user_agent"), UA, f"a field of the request, intact: {line}")
    finally:
        echo.close()
