"""Regression: the JSON access log escaped quotes, backslashes and control
bytes but copied every byte above 0x7f as it came, and a field value may
hold any such byte (obs-text, RFC 9110 §5.5): a request whose User-Agent
carried "\\xff\\xfe" made a log line that is not UTF-8, so not JSON (RFC 8259
§8.1), and a log shipper reading the file line by line failed on it.  Now
well-formed UTF-8 sequences go into the line as they are and any other byte
is written as \\u00XX (the byte read as Latin-1), so every line parses."""

import json
import os

from harness import Server, check, eq, make_docroot, one, timeout

UA = b"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82 | \xff\xfe \xc0\xaf \xed\xa0\x80 \xe2\x82 end"
# the valid sequences stay; a lone byte, an overlong, a surrogate and a cut
# sequence are escaped byte by byte
WANT = "caf\u00e9 \u20ac \U0001f642 | \u00ff\u00fe \u00c0\u00af \u00ed\u00a0\u0080 \u00e2\u0082 end"


@timeout(20)
def test_json_log_lines_are_utf8_whatever_the_request_holds():
    root = make_docroot()
    log = os.path.join(root, "access.jsonl")
    with Server(root, "--access-log", log, "--access-log-format", "json") as s:
        r = one(s, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: " + UA +
                b"\r\nConnection: close\r\n\r\n")
        eq(r.status, 200, "the request with obs-text in a field")
    with open(log, "rb") as f:
        raw = f.read()
    try:
        lines = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line]
    except (UnicodeDecodeError, ValueError) as e:
        raise AssertionError(f"the log is not UTF-8 JSON lines ({e}): {raw!r}")
    check(lines, "a line for the request")
    eq(lines[-1].get("user_agent"), WANT, "the User-Agent as logged")
