"""Precompressed variants (FILE.br, FILE.gz): selection by Accept-Encoding with
q-values (RFC 9110 §12.5.3), 406 only when identity is refused, Vary on every
response of a file with variants, ranges and validators per variant, and
--no-precompressed."""

import gzip
import shutil
import subprocess

from harness import (Conn, Server, assert_alive, build_request, byteranges, check, check_status,
                     curl, eq, get, make_docroot, shared)

ORIG = b"function hello() { return 'precompressed variants'; }\n" * 30
GZ = gzip.compress(ORIG, mtime=0)
PLAIN = b"no variants here\n"
CSS = b"body { color: #123456; }\n" * 20
CSS_GZ = gzip.compress(CSS, mtime=0)


def br_stored(data):
    """A valid brotli stream holding data in one uncompressed meta-block (RFC 7932 §9.2):
    WBITS=16, ISLAST=0, MNIBBLES=4, MLEN-1, ISUNCOMPRESSED=1, the bytes, then an
    empty last meta-block.  Python's stdlib has no brotli encoder."""
    assert 0 < len(data) <= 65536
    head = (((len(data) - 1) << 4) | (1 << 20)).to_bytes(3, "little")
    return head + data + b"\x03"


def make_br(data):
    """Real brotli bytes (smaller than data, as a deployed .br is) from the brotli
    command when present; otherwise data's first half in a stored stream: smaller,
    valid brotli, but decoding to something else (only the curl test decodes)."""
    if shutil.which("brotli"):
        p = subprocess.run(["brotli", "-c", "-q", "9"], input=data, capture_output=True,
                           timeout=10)
        if p.returncode == 0 and 0 < len(p.stdout) < len(data):
            return p.stdout, True
    return br_stored(data[: len(data) // 2]), False


BR, BR_REAL = make_br(ORIG)
JS_TYPES = ("text/javascript; charset=utf-8", "application/javascript; charset=utf-8",
            "text/javascript", "application/javascript")
_root = None


def root():
    global _root
    if _root is None:
        _root = make_docroot({
            "app.js": ORIG, "app.js.gz": GZ, "app.js.br": BR,
            "style.css": CSS, "style.css.gz": CSS_GZ,
            "plain.txt": PLAIN,
        })
    return _root


def srv():
    return shared("nxx serve (defaults)", lambda: Server(root()))


def nopre_srv():
    return shared("nxx serve --no-precompressed", lambda: Server(root(), "--no-precompressed"))


def ae(value, path="/app.js", method="GET", extra=None, server=None):
    headers = [] if value is None else [("Accept-Encoding", value)]
    return get(server or srv(), path, headers + list(extra or []), method=method)


def has_vary_ae(r):
    return "accept-encoding" in r.tokens("vary")


def coding(r):
    """The response's content-coding, with x-gzip read as gzip; None for identity."""
    ce = [t for t in r.tokens("content-encoding")]
    if not ce:
        return None
    eq(len(ce), 1, f"Content-Encoding {r.header_all('content-encoding')!r}")
    return "gzip" if ce[0] == "x-gzip" else ce[0]


def expect(r, want, what):
    """want: None (identity), "gzip" or "br"; checks coding, bytes, type, Vary."""
    check_status(r, 200, what)
    eq(coding(r), want, f"{what}: Content-Encoding")
    body = {None: ORIG, "gzip": GZ, "br": BR}[want]
    eq(r.body, body, f"{what}: body ({want or 'identity'} bytes)")
    eq(r.header("content-length"), str(len(body)), f"{what}: Content-Length")
    check(r.header("content-type") in JS_TYPES,
          f"{what}: Content-Type {r.header('content-type')!r} is not the .js type")
    check(has_vary_ae(r), f"{what}: no Vary: Accept-Encoding ({r.header_all('vary')!r})")


def test_no_accept_encoding_is_identity():
    expect(ae(None), None, "no Accept-Encoding")


def test_br():
    expect(ae("br"), "br", "br")


def test_gzip():
    r = ae("gzip")
    expect(r, "gzip", "gzip")
    eq(gzip.decompress(r.body), ORIG, "decompressed gzip variant")


def test_x_gzip_counts_as_gzip():
    expect(ae("x-gzip"), "gzip", "x-gzip")


def test_codings_are_case_insensitive():
    expect(ae("GZIP"), "gzip", "GZIP")
    expect(ae("Br;Q=1"), "br", "Br;Q=1")


def test_q_values_choose():
    expect(ae("gzip;q=1, br;q=0.5"), "gzip", "gzip;q=1, br;q=0.5")
    expect(ae("gzip, br;q=0.999"), "gzip", "gzip, br;q=0.999")
    expect(ae("identity;q=0.1, br;q=0.5, gzip;q=0.2"), "br", "identity;q=0.1, br;q=0.5, gzip;q=0.2")
    expect(ae("br;q=0, gzip"), "gzip", "br;q=0, gzip")
    expect(ae("gzip;q=0, br"), "br", "gzip;q=0, br")


def test_implicit_identity_does_not_outrank_listed_codings():
    # RFC 9110 §12.5.3 makes an unlisted identity "acceptable", not "preferred with
    # q=1": a client that lists only codings with q < 1 still asks for a coding.
    expect(ae("br;q=0.9, gzip;q=0.8"), "br", "br;q=0.9, gzip;q=0.8")
    expect(ae("gzip;q=0.5"), "gzip", "gzip;q=0.5")
    expect(ae("gzip;q=0.001"), "gzip", "gzip;q=0.001")
    expect(ae("deflate, gzip;q=0.5"), "gzip", "deflate, gzip;q=0.5")


def test_equal_q_serves_one_of_them():
    for value in ("gzip, br", "br, gzip", "gzip, deflate, br, zstd", "*"):
        r = ae(value)
        check(coding(r) in ("gzip", "br"), f"{value}: Content-Encoding {coding(r)!r}")
        expect(r, coding(r), value)


def test_refused_codings_give_identity():
    for value in ("br;q=0, gzip;q=0", "br;q=0,gzip;q=0.000", "deflate", "zstd, compress",
                  "identity", "gzip;q=0, br;q=0, identity;q=0.5", "*;q=0, identity"):
        expect(ae(value), None, value)


def test_identity_refused_and_nothing_acceptable_406():
    for value in ("identity;q=0, deflate", "*;q=0", "identity;q=0",
                  "br;q=0, gzip;q=0, identity;q=0", "*;q=0, deflate"):
        r = ae(value)
        check_status(r, 406, f"Accept-Encoding: {value}")
        check(has_vary_ae(r), f"406 for {value!r} without Vary: Accept-Encoding")
        check(ORIG[:40] not in r.body, f"406 for {value!r} carries the file")
        assert_alive(srv(), f"after Accept-Encoding {value!r}")


def test_identity_refused_but_variant_acceptable():
    expect(ae("identity;q=0, gzip"), "gzip", "identity;q=0, gzip")
    expect(ae("*;q=0, br"), "br", "*;q=0, br")


def test_malformed_accept_encoding_does_not_break():
    for value in (";;;", "gzip;q=", "gzip;q=abc", "br;q=2", ",,,", "gzip;;q=1", "q=1",
                  "g" * 2000, ", gzip"):
        r = ae(value)
        check(r.status in (200, 406), f"Accept-Encoding {value[:40]!r}: status {r.status}")
        if r.status == 200:
            c = coding(r)
            eq(r.body, {None: ORIG, "gzip": GZ, "br": BR}.get(c), f"{value[:40]!r}: body")
        assert_alive(srv(), f"after Accept-Encoding {value[:40]!r}")


def test_head_of_variant():
    r = ae("br", method="HEAD")
    check_status(r, 200)
    eq(coding(r), "br", "HEAD Content-Encoding")
    eq(r.header("content-length"), str(len(BR)), "HEAD Content-Length of the .br variant")
    eq(r.body, b"", "HEAD body")
    check(has_vary_ae(r), "HEAD without Vary")


def test_each_variant_has_its_own_etag():
    tags = {name: ae(value).header("etag") for name, value in
            (("identity", None), ("gzip", "gzip"), ("br", "br"))}
    for name, tag in tags.items():
        check(tag and tag.startswith('"'), f"{name}: ETag {tag!r}")
    eq(len(set(tags.values())), 3, f"distinct ETags per variant {tags!r}")
    eq(ae("br").header("etag"), tags["br"], "br ETag stable")


def test_304_per_variant():
    br_tag = ae("br").header("etag")
    id_tag = ae(None).header("etag")
    r = ae("br", extra=[("If-None-Match", br_tag)])
    check_status(r, 304, "If-None-Match: br ETag, Accept-Encoding: br")
    eq(r.header("etag"), br_tag, "304 ETag")
    check(has_vary_ae(r), "304 without Vary: Accept-Encoding")
    # The br ETag does not validate the identity representation, nor the reverse.
    expect(ae(None, extra=[("If-None-Match", br_tag)]), None, "If-None-Match: br ETag, identity")
    expect(ae("br", extra=[("If-None-Match", id_tag)]), "br", "If-None-Match: identity ETag, br")
    check_status(ae("gzip, br;q=0", extra=[("If-None-Match", f'{id_tag}, {br_tag}')]), 200,
                 "If-None-Match with the other two variants' ETags, gzip chosen")


def test_if_match_per_variant():
    br_tag = ae("br").header("etag")
    check_status(ae("br", extra=[("If-Match", br_tag)]), 200, "If-Match: br ETag on br")
    check_status(ae(None, extra=[("If-Match", br_tag)]), 412, "If-Match: br ETag on identity")


def test_range_applies_to_chosen_variant():
    r = ae("br", extra=[("Range", "bytes=0-4")])
    check_status(r, 206, "br + Range")
    eq(coding(r), "br", "206 Content-Encoding")
    eq(byteranges(r), [(0, 4, len(BR), BR[:5])], "range of the .br bytes")
    check(has_vary_ae(r), "206 without Vary")
    eq(r.header("etag"), ae("br").header("etag"), "206 ETag is the br variant's")
    r = ae("gzip", extra=[("Range", "bytes=-8")])
    eq(byteranges(r), [(len(GZ) - 8, len(GZ) - 1, len(GZ), GZ[-8:])], "suffix range of .gz")
    r = ae("gzip", extra=[("Range", "bytes=0-1,10-11")])
    eq(byteranges(r), [(0, 1, len(GZ), GZ[0:2]), (10, 11, len(GZ), GZ[10:12])],
       "multipart over the .gz")


def test_416_uses_variant_length():
    r = ae("br", extra=[("Range", f"bytes={len(BR)}-")])
    check_status(r, 416, "range just past the .br")
    eq(r.header("content-range"), f"bytes */{len(BR)}", "416 Content-Range")
    check(has_vary_ae(r), "416 without Vary")
    # Past the .br but inside the identity file: still 416 for the br variant.
    check(len(BR) < len(ORIG), "test assumption")


def test_if_range_with_variant_etag():
    br_tag = ae("br").header("etag")
    id_tag = ae(None).header("etag")
    eq(byteranges(ae("br", extra=[("Range", "bytes=0-1"), ("If-Range", br_tag)])),
       [(0, 1, len(BR), BR[:2])], "If-Range: br ETag on br")
    expect(ae("br", extra=[("Range", "bytes=0-1"), ("If-Range", id_tag)]), "br",
           "If-Range: identity ETag on br")


def test_other_file_with_only_gz():
    r = ae("br, gzip", path="/style.css")
    check_status(r, 200)
    eq(coding(r), "gzip", "style.css has only .gz")
    eq(r.body, CSS_GZ, "body")
    eq(r.header("content-type"), "text/css; charset=utf-8", "Content-Type of style.css.gz")
    check(has_vary_ae(r), "Vary")
    r = ae("br", path="/style.css")
    eq(coding(r), None, "br only, no .br: identity")
    eq(r.body, CSS, "body")
    check(has_vary_ae(r), "identity response of a file with variants has Vary")


def test_file_without_variants_has_no_vary():
    for value in (None, "gzip, br"):
        r = ae(value, path="/plain.txt")
        check_status(r, 200)
        eq(coding(r), None, "Content-Encoding")
        eq(r.body, PLAIN, "body")
        check(not has_vary_ae(r), f"file without variants has Vary {r.header_all('vary')!r}")


def test_no_precompressed_serves_identity():
    for value in ("br", "gzip", "gzip, br", None):
        r = ae(value, server=nopre_srv())
        check_status(r, 200, f"--no-precompressed, Accept-Encoding {value!r}")
        eq(coding(r), None, "Content-Encoding")
        eq(r.body, ORIG, "body")


def test_keep_alive_mixed_variants():
    with Conn(srv()) as c:
        for value, want in (("br", BR), (None, ORIG), ("gzip", GZ), ("br", BR)):
            headers = [("Accept-Encoding", value)] if value else []
            c.send(build_request("GET", "/app.js", headers))
        got = [c.read_response().body for _ in range(4)]
    eq(got, [BR, ORIG, GZ, BR], "pipelined variant bodies")


def test_curl_compressed():
    args = [] if BR_REAL else ["-H", "Accept-Encoding: gzip"]
    code, body, head, _ = curl(["--compressed"] + args + [srv().url + "/app.js"])
    eq(code, 200, "curl --compressed")
    eq(body, ORIG, "curl decoded body")
    check("content-encoding:" in head.lower(), f"curl got no encoded variant: {head!r}")
