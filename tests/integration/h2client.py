"""A frame-level HTTP/2 client for the integration tests (python3-h2,
Debian's; its pure-Python packages are taken from the system's
dist-packages when the runner's interpreter has none), and h2_request():
one request over h2c with prior knowledge, answered as a harness Response."""

import socket
import ssl
import sys
import time

from harness import Response, census_note_interim, skip

try:
    import h2.config
    import h2.connection
    import h2.exceptions
    import h2.events
    import h2.settings
except ImportError:  # the runner's interpreter may not see Debian's python3-h2
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import h2.config
        import h2.connection
        import h2.exceptions
        import h2.events
        import h2.settings
    except ImportError:
        h2 = None

def need_h2():
    if h2 is None:
        skip("python3-h2 is not installed")


class _Fields(dict):
    """A response's fields as a dict (the last of repeated names wins) that
    also keeps every (name, value) in order in .pairs."""

    def __init__(self, pairs):
        self.pairs = list(pairs)
        super().__init__(self.pairs)


class H2:
    """A frame-level HTTP/2 client over one loopback connection."""

    def __init__(self, server, settings=None, validate=True, ack_settings=True, sock=None,
                 scheme="http"):
        """sock: a connected socket to use (a TLS one that negotiated h2)
        instead of a new h2c connection to server."""
        need_h2()
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                        validate_outbound_headers=validate,
                                        normalize_outbound_headers=validate,
                                        validate_inbound_headers=True)
        self.conn = h2.connection.H2Connection(config=cfg)
        if sock is None and getattr(server, "tls", False):
            # the suite over TLS (NXX_TRANSPORT=tls): h2 by ALPN instead of h2c,
            # without SNI like the harness's connections, so that the tests'
            # authorities are not checked against the certificate (421)
            ctx = ssl._create_unverified_context()
            ctx.set_alpn_protocols(["h2"])
            sock = ctx.wrap_socket(socket.create_connection((server.host, server.port), timeout=5))
            scheme = "https"
        self.sock = sock or socket.create_connection((server.host, server.port), timeout=5)
        self.scheme = scheme
        self.authority = f"{server.host}:{server.port}"
        self.events = []
        self.ack_settings = ack_settings
        self.ack_data = True  # False: a slow reader, whose windows stay shut
        self.write_failed = False
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data and not self.write_failed:
            try:
                self.sock.sendall(data)
            except OSError:
                # part of data may have gone: nothing more can be framed after
                # it (and TLS refuses a retried write of other bytes)
                self.write_failed = True
                raise

    def send_raw(self, data):
        self.sock.sendall(data)

    def headers(self, method, path, extra=(), end=True, sid=None):
        sid = sid or self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":path", path), (":scheme", self.scheme),
                (":authority", self.authority)] + list(extra)
        self.conn.send_headers(sid, hdrs, end_stream=end)
        self.flush()
        return sid

    def pump(self, until, timeout_s=5.0):
        """Read events until until(events) is true; returns the events so far."""
        deadline = time.monotonic() + timeout_s
        while not until(self.events):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; events so far: {self.events[-8:]!r}")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                data = b""
            if not data:
                self.events.append("EOF")
                break
            try:
                evs = self.conn.receive_data(data)
            except h2.exceptions.ProtocolError as e:
                self.events.append(("protocol-error", str(e)))
                break
            for ev in evs:
                self.events.append(ev)
                if isinstance(ev, h2.events.DataReceived) and self.ack_data:
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            if self.ack_settings:
                try:
                    self.flush()
                except OSError:  # the server closed after its GOAWAY: what came is read
                    self.events.append("EOF")
                    break
        return self.events

    def response(self, sid, timeout_s=5.0):
        """(status, headers dict, body, interim statuses) of stream sid."""
        self.pump(lambda evs: any(isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset))
                                  and e.stream_id == sid for e in evs), timeout_s)
        status, hdrs, body, interim = None, {}, b"", []
        for e in self.events:
            if getattr(e, "stream_id", None) != sid:
                continue
            if isinstance(e, h2.events.InformationalResponseReceived):
                interim.append(int(dict(e.headers)[":status"]))
                census_note_interim(interim[-1])  # no access log holds 1xx
            elif isinstance(e, h2.events.ResponseReceived):
                hdrs = _Fields(e.headers)
                status = int(hdrs[":status"])
            elif isinstance(e, h2.events.DataReceived):
                body += e.data
            elif isinstance(e, h2.events.StreamReset) and status is None:
                status = ("reset", e.error_code)  # a reset after the response ends it only
        return status, hdrs, body, interim

    def goaway(self, timeout_s=5.0):
        self.pump(lambda evs: any(isinstance(e, h2.events.ConnectionTerminated) for e in evs)
                  or "EOF" in evs, timeout_s)
        for e in self.events:
            if isinstance(e, h2.events.ConnectionTerminated):
                return e.error_code
        return None

    def answered(self, sid):
        return any(getattr(e, "stream_id", None) == sid and
                   isinstance(e, (h2.events.ResponseReceived, h2.events.StreamReset,
                                  h2.events.StreamEnded)) for e in self.events)

    def send_body(self, sid, body, timeout_s=5.0, end=True):
        """Send body on sid as flow control allows; stops early when the stream
        is answered or reset.  Returns the bytes sent."""
        sent = 0
        deadline = time.monotonic() + timeout_s
        while sent < len(body) and not self.answered(sid):
            window = min(self.conn.local_flow_control_window(sid),
                         self.conn.max_outbound_frame_size)
            if window <= 0:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the window stayed shut after {sent} bytes")
                self.pump(lambda evs: self.answered(sid) or
                          self.conn.local_flow_control_window(sid) > 0, timeout_s)
                continue
            piece = body[sent:sent + window]
            sent += len(piece)
            try:
                self.conn.send_data(sid, piece, end_stream=end and sent == len(body))
                self.flush()
            except (h2.exceptions.StreamClosedError, OSError):
                break
        return sent

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()




def h2_request(server, method, path, headers=(), body=b"", authority=None, timeout_s=5.0):
    """One request on a fresh h2c connection; a harness Response (version "HTTP/2",
    interim statuses in .interim).  headers: [(name, value)], names any case."""
    with H2(server, validate=False) as c:
        if authority:
            c.authority = authority
        extra = [(k.lower(), v) for k, v in headers]
        if body and not any(k == "content-length" for k, _ in extra):
            extra.append(("content-length", str(len(body))))
        sid = c.headers(method, path, extra, end=not body)
        if body:
            c.send_body(sid, body, timeout_s)
        status, hdrs, data, interim = c.response(sid, timeout_s)
        if not isinstance(status, int):
            raise AssertionError(f"{method} {path}: stream ended without a response: {status}")
        fields = [(k, v) for k, v in hdrs.pairs if not k.startswith(":")]
        return Response("HTTP/2", status, "", fields, data, b"",
                        [{"status": s} for s in interim])
