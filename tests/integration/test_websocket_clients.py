"""WebSocket through real clients: python3-websockets (Debian's, run by
/usr/bin/python3) and npm `ws` (Debian's node-ws, run by node) against
`nxx serve --ws-echo` and channels, with and without permessage-deflate; a
relay through `nxx serve --proxy` to an upstream nxx echo with
permessage-deflate end to end; and the C API through examples/ws-echo.c
(callbacks, per-connection data, subprotocols, a close from the server,
channels)."""

import os
import shutil
import struct
import subprocess
import textwrap
import zlib

from harness import (NXX_BIN, TRANSPORT, ConfigServer, Process, Server, census_example_env, check,
                     config_dir, eq, make_docroot, shared, skip, timeout, tls_files)
from wsraw import OP_BINARY, OP_CLOSE, OP_TEXT, WS

SYSTEM_PYTHON = "/usr/bin/python3"
NODE_PATH = "/usr/share/nodejs"
WS_ECHO = os.environ.get("NXX_WS_ECHO") or os.path.join(os.path.dirname(NXX_BIN), "ws-echo")

CONFIG = """
locations:
  /: {files: {root: ROOT}}
  /echo: {websocket: echo}
  /room: {websocket: channels}
"""


def srv():
    def make():
        root = make_docroot()
        d, path = config_dir(CONFIG.replace("ROOT", root))
        return ConfigServer(path)
    return shared("websocket for clients", make)


class WsEcho(Process):
    """The embedding example: `ws-echo 127.0.0.1:0`."""

    kind = "ws-echo"

    def __init__(self):
        super().__init__([WS_ECHO, "127.0.0.1:0"], listeners=1,
                         env=census_example_env("ws-echo"))


def example():
    if not os.path.exists(WS_ECHO):
        skip(f"{WS_ECHO} is not built")
    return shared("ws-echo", WsEcho)


def relay():
    """nxx --proxy in front of an upstream nxx --ws-echo /ws (deflate on)."""
    def make_upstream():
        return Server(make_docroot(), "--ws-echo", "/ws", upstream=True)
    up = shared("upstream nxx --ws-echo", make_upstream)

    def make():
        return Server(make_docroot(), "--proxy", f"http://127.0.0.1:{up.port}")
    return shared("nxx --proxy to the echo", make)


def _ws(server):
    """ws:// or, when the server speaks TLS, wss:// and its host and port."""
    return ("wss://" if server.tls else "ws://") + server.hostport


def run_client(argv, script, env=None, timeout_s=60):
    # the clients trust the suite's certificate (NXX_TRANSPORT=tls): Python's
    # default context reads SSL_CERT_FILE, node NODE_EXTRA_CA_CERTS
    env = dict(env or os.environ)
    if TRANSPORT == "tls":
        env.update(SSL_CERT_FILE=tls_files()[0], NODE_EXTRA_CA_CERTS=tls_files()[0])
    p = subprocess.run(argv + [script], capture_output=True, timeout=timeout_s, env=env)
    out = p.stdout.decode("utf-8", "replace")
    check(p.returncode == 0, f"client failed ({p.returncode}): {out}\n"
          f"{p.stderr.decode('utf-8', 'replace')[-2000:]}")
    return out


def python_client(body):
    try:
        subprocess.run([SYSTEM_PYTHON, "-c", "import websockets"], check=True,
                       capture_output=True, timeout=30)
    except (OSError, subprocess.CalledProcessError):
        skip("python3-websockets is not installed (tools/install-deps)")
    script = "import asyncio, websockets, sys\n" + textwrap.dedent(body)
    return run_client([SYSTEM_PYTHON, "-c"], script)


def node_client(body):
    if not shutil.which("node") or not os.path.isdir(os.path.join(NODE_PATH, "ws")):
        skip("node and node-ws are not installed (tools/install-deps)")
    env = dict(os.environ, NODE_PATH=NODE_PATH)
    return run_client(["node", "-e"], "const WebSocket = require('ws');\n" + body, env=env)


@timeout(90)
def test_python_websockets_echo_with_and_without_deflate():
    url = f"{_ws(srv())}/echo"
    out = python_client(f"""
        async def run(compression):
            async with websockets.connect({url!r}, compression=compression,
                                          max_size=None) as ws:
                ext = [type(e).__name__ for e in ws.extensions]
                for n in (0, 1, 125, 126, 65535, 65536, 1 << 19):
                    text = ("é" + "abc" * n)[:n]
                    await ws.send(text)
                    assert await ws.recv() == text, n
                    data = bytes(range(256)) * (n // 256 + 1)
                    await ws.send(data[:n])
                    assert await ws.recv() == data[:n], n
                # a fragmented message from an async iterator
                await ws.send(["frag", "men", "ted"])
                assert await ws.recv() == "fragmented"
                pong = await ws.ping(b"are you there")
                await asyncio.wait_for(pong, 5)
                await ws.close(1000, "done")
                return ext, ws.close_code
        print(asyncio.run(run("deflate")))
        print(asyncio.run(run(None)))
        """)
    lines = out.strip().splitlines()
    eq(lines[0], "(['PerMessageDeflate'], 1000)", "with permessage-deflate")
    eq(lines[1], "([], 1000)", "without")


@timeout(90)
def test_python_websockets_deflate_parameters():
    url = f"{_ws(srv())}/echo"
    out = python_client(f"""
        from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
        async def run(**kw):
            f = ClientPerMessageDeflateFactory(**kw)
            async with websockets.connect({url!r}, extensions=[f]) as ws:
                for i in range(20):
                    msg = "repeated text for the window %d " % (i % 3) * 40
                    await ws.send(msg)
                    assert await ws.recv() == msg
                e = ws.extensions[0]
                return (e.remote_no_context_takeover, e.local_no_context_takeover,
                        e.remote_max_window_bits)
        print(asyncio.run(run(server_no_context_takeover=True)))
        print(asyncio.run(run(client_no_context_takeover=True)))
        print(asyncio.run(run(server_max_window_bits=10, client_max_window_bits=9)))
        """)
    lines = out.strip().splitlines()
    eq(lines[0], "(True, False, 15)", "server_no_context_takeover")
    eq(lines[1], "(False, True, 15)", "client_no_context_takeover")
    eq(lines[2], "(False, False, 10)", "server_max_window_bits=10")


@timeout(90)
def test_python_websockets_message_over_the_limit():
    url = f"{_ws(srv())}/echo"
    out = python_client(f"""
        async def run():
            async with websockets.connect({url!r}, max_size=None) as ws:
                try:
                    await ws.send("x" * (2 << 20))  # over the 1 MiB default
                    await ws.recv()
                except websockets.ConnectionClosed as e:
                    print(e.rcvd.code if e.rcvd else None)
        asyncio.run(run())
        """)
    eq(out.strip().splitlines()[0], "1009", "message over the limit")


@timeout(90)
def test_node_ws_echo_and_channel():
    url = _ws(srv())
    out = node_client(f"""
        const url = '{url}';
        function echo(opts) {{
          return new Promise((resolve, reject) => {{
            const ws = new WebSocket(url + '/echo', opts);
            const sizes = [0, 5, 125, 126, 70000, 300000];
            let i = 0;
            ws.on('open', () => ws.send('x'.repeat(sizes[0])));
            ws.on('message', (data, binary) => {{
              if (data.length !== sizes[i] || binary) return reject(new Error('size ' + i));
              if (++i === sizes.length) return ws.close(1000, 'done');
              ws.send('x'.repeat(sizes[i]));
            }});
            ws.on('close', (code) => resolve([ws.extensions, code]));
            ws.on('error', reject);
          }});
        }}
        function channel() {{
          return new Promise((resolve, reject) => {{
            const subs = [0, 1, 2].map(() => new WebSocket(url + '/room/node'));
            let open = 0, got = 0;
            subs.forEach((s) => s.on('open', () => {{
              if (++open === subs.length) subs[0].send(Buffer.from([1, 2, 3]));
            }}));
            subs.forEach((s) => s.on('message', (data, binary) => {{
              if (!binary || data.length !== 3) return reject(new Error('bad fan-out'));
              if (++got === subs.length) {{ subs.forEach((x) => x.close()); resolve(got); }}
            }}));
            subs.forEach((s) => s.on('error', reject));
          }});
        }}
        (async () => {{
          console.log(JSON.stringify(await echo({{ perMessageDeflate: true }})));
          console.log(JSON.stringify(await echo({{ perMessageDeflate: false }})));
          console.log(await channel());
        }})().catch((e) => {{ console.error(e); process.exit(1); }});
        """)
    lines = out.strip().splitlines()
    eq(lines[0], '["permessage-deflate",1000]', "ws with perMessageDeflate")
    eq(lines[1], '["",1000]', "ws without")
    eq(lines[2], "3", "a binary message fanned out to three subscribers")


def test_c_api_example():
    ex = example()
    ws = WS(ex, "/echo", [("Sec-WebSocket-Protocol", "upper")])
    eq(ws.resp.header("sec-websocket-protocol"), "upper", "the example's subprotocol")
    ws.send_frame(OP_TEXT, "hello api")
    eq(ws.read_message(), (OP_TEXT, b"HELLO API"), "the handler's answer")
    ws.send_frame(OP_BINARY, b"\x00\xff")
    eq(ws.read_message(), (OP_BINARY, b"\x00\xff"), "binary as it is")
    ws.send_frame(OP_TEXT, "count")
    eq(ws.read_message(), (OP_TEXT, b"3"), "per-connection data counts the messages")
    ws.send_frame(OP_TEXT, "bye")
    m = ws.read_message()
    eq(m[0], OP_CLOSE, "the handler closes")
    eq(struct.unpack("!H", m[1][:2])[0], 1000, "with 1000")
    eq(m[1][2:], b"bye", "and its reason")
    ws.send_frame(OP_CLOSE, m[1][:2])
    check(ws.conn.wait_eof(), "the server closes after the client's answer")
    ws = WS(ex, "/echo")
    check(ws.resp.header("sec-websocket-protocol") is None, "no subprotocol offered")
    ws.send_frame(OP_TEXT, "as is")
    eq(ws.read_message(), (OP_TEXT, b"as is"), "without the subprotocol")
    ws.send_frame(OP_TEXT, "y" * 70000)
    ws.expect_close(1009, "over the example's 64 KB limit")
    a, b = WS(ex, "/chat/x"), WS(ex, "/chat/x")
    a.send_frame(OP_TEXT, "to all")
    eq(b.read_message(), (OP_TEXT, b"to all"), "the example's channel")
    eq(a.read_message(), (OP_TEXT, b"to all"), "the sender too")


def _client_deflate(data):
    """One message compressed as a client with client_no_context_takeover:
    a fresh raw deflate stream, the sync flush's 00 00 ff ff removed."""
    z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    check(out.endswith(b"\x00\x00\xff\xff"), "sync flush tail")
    return out[:-4]


def test_relay_keeps_the_upstreams_deflate_parameters_and_frames():
    ws = WS(relay(), "/ws", [("Sec-WebSocket-Extensions",
                              "permessage-deflate; client_no_context_takeover; "
                              "server_max_window_bits=10")])
    ext = ws.resp.header("sec-websocket-extensions") or ""
    for p in ("permessage-deflate", "client_no_context_takeover",
              "server_max_window_bits=10"):
        check(p in ext, f"the relayed 101 keeps {p!r} as the upstream agreed it: {ext!r}")
    check(ws.resp.header("via"), "the relayed 101 carries Via")
    for i in range(5):
        # the same text each time: the upstream's window (context takeover)
        # makes the later ones shorter, which only a shared inflater reads
        text = ("message %d through the relay, compressed both ways " % (i % 2)) * 8
        ws.send_frame(OP_TEXT, _client_deflate(text.encode()), rsv=4)
        f = ws.read_frame()
        check(f is not None and f[2] == OP_TEXT, f"echo {i} arrives")
        check(f[1] & 4, f"echo {i} is compressed by the upstream (RSV1)")
        eq(ws.inflater.decompress(f[3] + b"\x00\x00\xff\xff"), text.encode(),
           f"echo {i} inflates to the message")
    ws.send_frame(OP_BINARY, b"short")  # uncompressed frames are fine too
    eq(ws.read_message(), (OP_BINARY, b"short"), "an uncompressed message")
    ws.send_frame(OP_CLOSE, struct.pack("!H", 1000))
    f = ws.read_frame()
    eq((f[2], f[3][:2]), (OP_CLOSE, struct.pack("!H", 1000)),
       "the upstream's close comes back through the relay")
    ws.close()


@timeout(90)
def test_python_websockets_through_the_relay_with_deflate():
    url = f"{_ws(relay())}/ws"
    out = python_client(f"""
        async def run(compression):
            async with websockets.connect({url!r}, compression=compression,
                                          max_size=None) as ws:
                ext = [type(e).__name__ for e in ws.extensions]
                for n in (0, 125, 126, 65536, 1 << 19):
                    text = ("é" + "relay " * n)[:n]
                    await ws.send(text)
                    assert await ws.recv() == text, n
                await ws.close(1000, "done")
                return ext, ws.close_code
        print(asyncio.run(run("deflate")))
        print(asyncio.run(run(None)))
        """)
    lines = out.strip().splitlines()
    eq(lines[0], "(['PerMessageDeflate'], 1000)", "permessage-deflate end to end")
    eq(lines[1], "([], 1000)", "without")
