"""Range requests on files (RFC 9110 §14): single ranges, multipart/byteranges
(parsed back and compared byte for byte), coalescing, 416, ignored Range fields,
the amplification guard and If-Range."""

import os
import time

from harness import (FIXED_MTIME, Conn, Server, assert_alive, build_request, byteranges, check,
                     check_status, curl, eq, get, http_date, make_docroot, multipart_boundary,
                     parse_byteranges, shared)

LEN = 1000
DATA = bytes((i * 7 + 3) % 256 for i in range(LEN))
TEXT = bytes(ord("a") + i % 26 for i in range(LEN))
LM = http_date(FIXED_MTIME)
_root = None


def root():
    global _root
    if _root is None:
        _root = make_docroot({"data.bin": DATA, "r.txt": TEXT})
    return _root


def srv():
    return shared("nxx serve (defaults)", lambda: Server(root()))


def rng(spec, path="/data.bin", headers=None, method="GET"):
    return get(srv(), path, [("Range", spec)] + list(headers or []), method=method)


def spans(resp, data=DATA):
    """[(first, last)] of a 206, each part checked against the file's bytes."""
    out = []
    for first, last, length, part in byteranges(resp):
        eq(length, len(data), "complete-length in Content-Range")
        eq(part, data[first:last + 1], f"bytes of range {first}-{last}")
        out.append((first, last))
    return out


def expect_whole(r, what, data=DATA):
    check_status(r, 200, what)
    eq(r.body, data, f"{what}: body")
    check(not r.has("content-range"), f"{what}: 200 with Content-Range")


# --- one range ----------------------------------------------------------


SINGLE = [
    ("bytes=0-0", 0, 0),
    ("bytes=0-99", 0, 99),
    ("bytes=100-199", 100, 199),
    ("bytes=990-999", 990, 999),
    ("bytes=990-5000", 990, 999),  # last-pos past the end is clamped
    ("bytes=0-999", 0, 999),
    ("bytes=500-", 500, 999),
    ("bytes=999-", 999, 999),
    ("bytes=-10", 990, 999),
    ("bytes=-1", 999, 999),
    ("bytes=-5000", 0, 999),  # suffix longer than the file: all of it
    ("Bytes=10-19", 10, 19),  # range units are case-insensitive (§14.1)
]


def test_single_ranges():
    for spec, first, last in SINGLE:
        r = rng(spec)
        check_status(r, 206, spec)
        eq(r.header("content-range"), f"bytes {first}-{last}/{LEN}", f"{spec}: Content-Range")
        eq(r.header("content-length"), str(last - first + 1), f"{spec}: Content-Length")
        eq(r.body, DATA[first:last + 1], f"{spec}: body")
        eq(r.header("accept-ranges"), "bytes", f"{spec}: Accept-Ranges")
        eq(r.content_type, "application/octet-stream", f"{spec}: Content-Type")


def test_206_carries_validators():
    g = get(srv(), "/data.bin")
    r = rng("bytes=1-2")
    check_status(r, 206)
    eq(r.header("etag"), g.header("etag"), "206 ETag")
    eq(r.header("last-modified"), LM, "206 Last-Modified")


def test_single_ranges_keep_alive_framing():
    with Conn(srv()) as c:
        for spec, first, last in SINGLE:
            r = c.request("GET", "/data.bin", [("Range", spec)])
            check_status(r, 206, spec)
            eq(r.body, DATA[first:last + 1], f"{spec}: body on a kept-alive connection")


def test_curl_range():
    code, body, head, _ = curl(["-r", "100-149", srv().url + "/data.bin"])
    eq(code, 206, "curl -r status")
    eq(body, DATA[100:150], "curl -r body")
    check(f"content-range: bytes 100-149/{LEN}" in head.lower(), f"curl headers: {head!r}")


# --- several ranges -------------------------------------------------------


def test_multipart_two_ranges():
    r = rng("bytes=0-9,20-29", path="/r.txt")
    check_status(r, 206)
    eq(r.content_type, "multipart/byteranges", "Content-Type")
    boundary = multipart_boundary(r)
    check(0 < len(boundary) <= 70, f"boundary length {len(boundary)} (RFC 2046: 1..70)")
    parts = parse_byteranges(r.body, boundary)
    eq(len(parts), 2, "number of parts")
    for (headers, data), (first, last) in zip(parts, ((0, 9), (20, 29))):
        eq(headers.get("content-type"), "text/plain; charset=utf-8", "part Content-Type")
        eq(headers.get("content-range"), f"bytes {first}-{last}/{LEN}", "part Content-Range")
        eq(data, TEXT[first:last + 1], f"part {first}-{last} bytes")
    eq(r.header("content-length"), str(len(r.body)), "Content-Length of the multipart body")
    eq(r.header("accept-ranges"), "bytes", "Accept-Ranges")


def test_multipart_binary_parts():
    r = rng("bytes=1-1,-3,100-163")
    eq(spans(r), [(1, 1), (997, 999), (100, 163)], "ranges in the order requested")


def test_multipart_parts_in_requested_order():
    r = rng("bytes=500-509,0-9")
    eq(spans(r), [(500, 509), (0, 9)], "ranges")


def test_multipart_with_whitespace_in_list():
    r = rng("bytes=0-1, 4-5 ,\t8-9")
    eq(spans(r), [(0, 1), (4, 5), (8, 9)], "ranges")


def test_overlapping_ranges_coalesced():
    eq(spans(rng("bytes=0-9,5-14")), [(0, 14)], "bytes=0-9,5-14")
    eq(spans(rng("bytes=0-9,0-9")), [(0, 9)], "bytes=0-9,0-9")
    eq(spans(rng("bytes=0-99,10-19")), [(0, 99)], "contained range")


def test_adjacent_ranges_coalesced():
    eq(spans(rng("bytes=0-9,10-19")), [(0, 19)], "bytes=0-9,10-19")
    eq(spans(rng("bytes=0-9,10-19,50-59")), [(0, 19), (50, 59)], "bytes=0-9,10-19,50-59")


def test_unsatisfiable_members_dropped():
    eq(spans(rng("bytes=0-9,5000-6000")), [(0, 9)], "one satisfiable of two")
    eq(spans(rng("bytes=2000-,10-19,-0")), [(10, 19)], "one satisfiable of three")


def test_multipart_keep_alive_framing():
    with Conn(srv()) as c:
        c.send(build_request("GET", "/data.bin", [("Range", "bytes=0-9,20-29")])
               + build_request("GET", "/data.bin", [("Range", "bytes=-2")]))
        a = c.read_response()
        b = c.read_response()
    eq(spans(a), [(0, 9), (20, 29)], "first response")
    eq(spans(b), [(998, 999)], "second response after a multipart one")


def test_curl_multipart():
    code, body, head, _ = curl(["-r", "0-4,10-14", srv().url + "/r.txt"])
    eq(code, 206, "curl status")
    check("multipart/byteranges" in head.lower(), f"curl headers: {head!r}")
    check(TEXT[0:5] in body and TEXT[10:15] in body, "curl multipart body lacks the parts")


# --- 416 ------------------------------------------------------------------


def test_unsatisfiable_416():
    for spec in ("bytes=1000-", "bytes=1000-2000", "bytes=5000-5001,6000-", "bytes=-0",
                 "bytes=1000-1000"):
        r = rng(spec)
        check_status(r, 416, spec)
        eq(r.header("content-range"), f"bytes */{LEN}", f"{spec}: Content-Range")
        check(DATA[:50] not in r.body, f"{spec}: 416 carries file bytes")
        assert_alive(srv(), f"after {spec}")


def test_416_keeps_connection_usable():
    with Conn(srv()) as c:
        c.send(build_request("GET", "/data.bin", [("Range", "bytes=2000-")])
               + build_request("GET", "/data.bin", [("Range", "bytes=0-3")]))
        a = c.read_response()
        b = c.read_response()
    check_status(a, 416)
    eq(spans(b), [(0, 3)], "range after a 416 on the same connection")


# --- ignored Range fields -------------------------------------------------


def test_other_units_and_bad_syntax_ignored():
    for spec in ("items=0-9", "bytes", "bytes=", "bytes=-", "bytes=abc", "bytes=5-1",
                 "bytes=0-9,5-1", "bytes=1-2-3", "bytes=0x10-20", "bytes=+1-2", "bytes=1--2",
                 "bytes=--1", "bytes=0-9;x", "=0-9", "bytes 0-9",
                 "bytes=0-9 x"):
        r = rng(spec)
        expect_whole(r, f"Range: {spec!r}")
        assert_alive(srv(), f"after Range: {spec!r}")


def test_huge_numbers():
    for spec in ("bytes=99999999999999999999999-", "bytes=0-99999999999999999999999",
                 "bytes=-99999999999999999999999", "bytes=18446744073709551615-",
                 "bytes=9223372036854775807-9223372036854775807"):
        r = rng(spec)
        check(r.status in (200, 206, 416), f"{spec}: status {r.status}")
        if r.status == 200:
            eq(r.body, DATA, f"{spec}: body")
        elif r.status == 206:
            for first, last, _, _ in byteranges(r):
                check(last < LEN, f"{spec}: range past the end {first}-{last}")
        assert_alive(srv(), f"after {spec}")


def test_range_on_head_is_200():
    r = rng("bytes=0-9", method="HEAD")
    check_status(r, 200, "HEAD with Range")
    eq(r.header("content-length"), str(LEN), "HEAD Content-Length")
    check(not r.has("content-range"), "HEAD with Range has Content-Range")
    eq(r.body, b"", "HEAD body")


def test_range_on_directory_index_still_works():
    r = get(srv(), "/", [("Range", "bytes=0-4")])
    check_status(r, 206, "Range on / (index.html)")
    eq(len(r.body), 5, "body length")


# --- amplification guard ----------------------------------------------------


def _guarded(spec, what):
    r = rng(spec)
    check(r.status in (200, 206, 416), f"{what}: status {r.status}")
    check(r.status != 206 or len(r.body) <= LEN,
          f"{what}: a 206 of {len(r.body)} bytes for a {LEN}-byte file")
    assert_alive(srv(), f"after {what}")
    return r


def test_many_tiny_ranges_not_amplified():
    spec = "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 400, 2))
    r = _guarded(spec, "200 one-byte ranges")
    expect_whole(r, "200 one-byte ranges")


def test_many_overlapping_ranges_not_amplified():
    spec = "bytes=" + ",".join("0-" for _ in range(200))
    r = _guarded(spec, "200 x bytes=0-")
    expect_whole(r, "200 x bytes=0-")
    r = _guarded("bytes=" + ",".join(f"{i}-{i + 500}" for i in range(200)), "200 overlapping")
    expect_whole(r, "200 overlapping ranges")


def test_few_overlapping_whole_ranges():
    # A handful of full-length ranges: coalesced to one, or the whole file; never 5x.
    _guarded("bytes=0-,0-,0-,0-,0-", "5 x bytes=0-")


# --- If-Range (§13.1.5) ---------------------------------------------------


def test_if_range_current_etag_206():
    etag = get(srv(), "/data.bin").header("etag")
    r = rng("bytes=0-9", headers=[("If-Range", etag)])
    eq(spans(r), [(0, 9)], "If-Range: current ETag")


def test_if_range_other_or_weak_etag_200():
    etag = get(srv(), "/data.bin").header("etag")
    expect_whole(rng("bytes=0-9", headers=[("If-Range", '"other"')]), "If-Range: other ETag")
    expect_whole(rng("bytes=0-9", headers=[("If-Range", "W/" + etag)]),
                 "If-Range: weak ETag (strong comparison only)")


def test_if_range_with_multipart():
    etag = get(srv(), "/data.bin").header("etag")
    eq(spans(rng("bytes=0-1,5-6", headers=[("If-Range", etag)])), [(0, 1), (5, 6)],
       "If-Range current + two ranges")
    expect_whole(rng("bytes=0-1,5-6", headers=[("If-Range", '"x"')]), "If-Range other + two")


def test_if_range_date_equal_206():
    eq(spans(rng("bytes=0-9", headers=[("If-Range", LM)])), [(0, 9)],
       "If-Range: Last-Modified (file mtime long past)")


def test_if_range_date_different_200():
    for ts in (FIXED_MTIME - 1, FIXED_MTIME + 1, FIXED_MTIME + 86400):
        expect_whole(rng("bytes=0-9", headers=[("If-Range", http_date(ts))]),
                     f"If-Range: {http_date(ts)}")


def test_if_range_garbage_200():
    for value in ("garbage", "W/", '"unterminated', "Tue, 14 Nov 2023"):
        expect_whole(rng("bytes=0-9", headers=[("If-Range", value)]), f"If-Range: {value!r}")
        assert_alive(srv(), f"after If-Range {value!r}")


def test_if_range_without_range_is_200():
    expect_whole(get(srv(), "/data.bin", [("If-Range", LM)]), "If-Range without Range")


def test_if_range_date_of_fresh_file_200():
    # A Last-Modified within the last second is only a weak validator (§8.8.2.2):
    # If-Range with it must not produce a 206.
    path = os.path.join(root(), "fresh.bin")
    with open(path, "wb") as f:
        f.write(DATA)
    now = time.time()
    os.utime(path, (now, now))
    g = get(srv(), "/fresh.bin")
    check_status(g, 200)
    lm = g.header("last-modified") or http_date(now)
    expect_whole(rng("bytes=0-9", path="/fresh.bin", headers=[("If-Range", lm)]),
                 f"If-Range: {lm} on a file modified just now")
