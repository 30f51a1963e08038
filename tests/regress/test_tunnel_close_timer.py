"""Regression: a timer a handler set on a request with nxx_req_defer (a
WebSocket's ping and close clocks, the forward proxy's connect clock) stayed
armed when the request's connection had been taken over and then closed.
The tunnel's end finished the request and released its memory (the
WebSocket's state is freed with it), but the timer was still in the
worker's timer heap: when it fired it ran the handler's callback on freed
memory (a heap-use-after-free report in the sanitizer build; garbage or a
crash in the release build), and a heap entry pointing into a reused arena
could corrupt the heap of timers.  Now the engine cancels the request's
timer when its tunnel closes, and the forward proxy cancels its connect
clock before the tunnel starts.

Each case closes a tunnel at another moment, from either side, and then
waits past the clocks' intervals, so a timer left behind would fire on
freed memory; the server must keep answering and stop cleanly (exit 0, no
sanitizer report: `make test` runs this module under ASan and UBSan too).
Without the engine's cancel the WebSocket cases end in a heap-use-after-free
in the ping clock (ws_tick), and without both cancels a CONNECT tunnel's
connect clock fires on a finished request and the server stops answering.

The CONNECT cases also showed two bugs of their own, fixed since: a
destination socket freed when the client's close ended its tunnel was still
named by a later event of the same epoll batch, whose callback then ran on
freed memory (a crash in about three runs in four); and a destination's FIN
that came with the event completing its connect was never read, so such a
tunnel hung until the idle timeout."""

import socket
import struct
import time

from harness import (Conn, assert_alive, build_request, check, check_status, config_dir,
                     ConfigServer, eq, timeout)
from upstreams import FakeUpstream, echo_bytes
from wsraw import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, WS, close_payload

PING = 0.15  # the WebSocket location's ping interval (a second one without a frame closes)
CONNECT_TIMEOUT = 0.2  # the forward proxy's connect clock
PAST = 0.5  # longer than every clock above: what was left armed fires meanwhile
ROUNDS = 3


def _reset(sock):
    """Close with RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _ws_server():
    _, path = config_dir("locations:\n"
                         f"  /ws: {{websocket: {{ping-interval: {PING}, close-timeout: {PING}}}}}\n"
                         "  /: {return: 200}\n")
    return ConfigServer(path, threads=1)


def _ws_cases():
    """(what, fn(WS)) each ending the connection its own way."""

    def right_after_101(ws):
        ws.close()

    def reset_after_101(ws):
        _reset(ws.conn.sock)

    def after_an_echo(ws):
        ws.send_frame(OP_TEXT, b"hello")
        eq(ws.read_message(), (OP_TEXT, b"hello"), "echo")
        ws.close()

    def after_a_ping_unanswered(ws):
        f = ws.read_frame(timeout_s=5)
        eq(f and f[2], OP_PING, "the server's ping")
        ws.close()

    def after_answering_a_ping(ws):
        f = ws.read_frame(timeout_s=5)
        eq(f and f[2], OP_PING, "the server's ping")
        ws.send_frame(OP_PONG, f[3])
        ws.close()

    def close_handshake(ws):
        ws.send_frame(OP_CLOSE, close_payload(1000))
        ws.expect_close(1000, "close handshake")
        ws.close()

    def close_frame_then_gone(ws):
        # the server's close clock runs: the client never answers nor reads
        ws.send_frame(OP_BINARY, b"x" * 100)
        ws.send_frame(OP_CLOSE, close_payload(1000))
        _reset(ws.conn.sock)

    def server_closes_a_silent_client(ws):
        # no pong: the server gives up after its second interval and closes
        check(ws.conn.wait_eof(5), "the server closes a client that never answers its pings")
        ws.close()

    return [(f.__name__, f) for f in (right_after_101, reset_after_101, after_an_echo,
                                       after_a_ping_unanswered, after_answering_a_ping,
                                       close_handshake, close_frame_then_gone,
                                       server_closes_a_silent_client)]


@timeout(60)
def test_websocket_closed_from_either_side_at_any_moment():
    srv = _ws_server()
    with srv:
            for r in range(ROUNDS):
                for _, fn in _ws_cases():
                    ws = WS(srv, "/ws")
                    fn(ws)
                    # a few connections beside it reuse the freed memory
                    for _ in range(3):
                        WS(srv, "/ws").close()
                time.sleep(PAST)  # the intervals of the clocks above pass
                assert_alive(srv, f"round {r}: after WebSocket connections closed every way")
            ws = WS(srv, "/ws")
            ws.send_frame(OP_TEXT, b"still here")
            eq(ws.read_message(), (OP_TEXT, b"still here"), "a new connection echoes")
            ws.close()


def _hang_up(c):
    # the destination accepts and closes at once
    return


def _say_and_hang_up(c):
    c.sock.sendall(b"bye\n")


def _connect(srv, target):
    c = Conn(srv, 5)
    c.send(build_request("CONNECT", target, [("Host", target)], host=False))
    return c


@timeout(60)
def test_connect_tunnel_closed_from_either_side_at_any_moment():
    echo, gone, bye = (FakeUpstream(echo_bytes), FakeUpstream(_hang_up),
                       FakeUpstream(_say_and_hang_up))
    ports = [u.port for u in (echo, gone, bye)]
    _, path = config_dir("locations:\n  /:\n    forward:\n"
                         f"      allow: [{', '.join(f'127.0.0.1:{p}' for p in ports)}]\n"
                         f"      connect-ports: [{', '.join(str(p) for p in ports)}]\n"
                         f"      connect-timeout: {CONNECT_TIMEOUT}\n")
    srv = ConfigServer(path, threads=1)
    t_echo, t_gone, t_bye = (f"127.0.0.1:{p}" for p in ports)

    def client_closes_before_the_200():
        _connect(srv, t_echo).close()

    def client_closes_right_after_the_200():
        c = _connect(srv, t_echo)
        check_status(c.read_response("CONNECT"), 200, "CONNECT")
        c.close()

    def client_resets_right_after_the_200():
        c = _connect(srv, t_echo)
        check_status(c.read_response("CONNECT"), 200, "CONNECT")
        _reset(c.sock)

    def client_closes_after_bytes_both_ways():
        c = _connect(srv, t_echo)
        check_status(c.read_response("CONNECT"), 200, "CONNECT")
        c.send(b"ping")
        eq(c.read_exactly(4), b"ping", "echoed through the tunnel")
        c.close()

    def client_half_closes():
        c = _connect(srv, t_echo)
        check_status(c.read_response("CONNECT"), 200, "CONNECT")
        c.sock.shutdown(socket.SHUT_WR)
        check(c.wait_eof(5), "the tunnel ends after the destination's close")
        c.close()

    def destination_closes_first():
        c = _connect(srv, t_gone)
        r = c.read_response("CONNECT")
        check(r.status == 200, f"CONNECT to a destination that hangs up: {r.status}")
        check(c.wait_eof(5), "the destination's close ends the tunnel")
        c.close()

    def destination_speaks_and_closes():
        c = _connect(srv, t_bye)
        check_status(c.read_response("CONNECT"), 200, "CONNECT")
        check(c.wait_eof(5), "the destination's close ends the tunnel")
        eq(bytes(c.buf), b"bye\n", "what the destination said before closing")
        c.close()

    cases = (client_closes_before_the_200, client_closes_right_after_the_200,
             client_resets_right_after_the_200, client_closes_after_bytes_both_ways,
             client_half_closes, destination_closes_first, destination_speaks_and_closes)
    try:
        with srv:
            for r in range(ROUNDS):
                for fn in cases:
                    fn()
                time.sleep(PAST)  # the connect clocks of the tunnels above expire
                # the server still tunnels
                with _connect(srv, t_echo) as c:
                    check_status(c.read_response("CONNECT"), 200, f"round {r}: CONNECT")
                    c.send(b"again")
                    eq(c.read_exactly(5), b"again", f"round {r}: a new tunnel echoes")
    finally:
        for u in (echo, gone, bye):
            u.close()
