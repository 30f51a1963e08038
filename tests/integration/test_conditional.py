"""Conditional requests on files (RFC 9110 §13): validators, If-Match,
If-Unmodified-Since, If-None-Match, If-Modified-Since, their order of evaluation
(§13.2.2), the three HTTP date formats, and what a 304 carries (§15.4.5)."""

import email.utils
import gzip
import time

from harness import (A_TXT, FIXED_MTIME, Conn, Server, assert_alive, build_request, check,
                     check_status, curl, eq, get, http_date, is_imf_fixdate, make_docroot,
                     shared)

COND = b"conditional body\n" * 10
LM = http_date(FIXED_MTIME)  # Tue, 14 Nov 2023 22:13:20 GMT
_root = None


def root():
    global _root
    if _root is None:
        v = b"variant body " * 40
        _root = make_docroot({
            "cond.txt": COND,
            "v.txt": v,
            "v.txt.gz": gzip.compress(v, mtime=0),
            "cached/c.txt": b"cached\n",
        })
    return _root


def srv():
    return shared("nxx serve --cache-control /cached/=max-age=600",
                  lambda: Server(root(), "--cache-control", "/cached/=max-age=600"))


# dates relative to Last-Modified, in the three formats of RFC 9110 §5.6.7


def imf(ts):
    return http_date(ts)


def rfc850(ts):
    t = time.gmtime(ts)
    return time.strftime("%A, %d-%b-%y %H:%M:%S GMT", t)


def asctime(ts):
    t = time.gmtime(ts)
    return time.strftime("%a %b ", t) + f"{t.tm_mday:2d}" + time.strftime(" %H:%M:%S %Y", t)


FORMATS = (("IMF-fixdate", imf), ("RFC 850", rfc850), ("asctime", asctime))
INVALID_DATES = ("yesterday", "Tue, 14 Nov 2023 22:13:20", "Tue, 32 Nov 2023 22:13:20 GMT",
                 "2023-11-14T22:13:20Z", "")


def etag_of(path="/cond.txt", headers=None):
    r = get(srv(), path, headers)
    check_status(r, 200, f"GET {path}")
    return r.header("etag")


def cond(headers, method="GET", path="/cond.txt"):
    return get(srv(), path, headers, method=method)


def expect_200(r, what, body=COND):
    check_status(r, 200, what)
    if body is not None:
        eq(r.body, body, f"{what}: body")


def expect_304(r, what):
    check_status(r, 304, what)
    eq(r.body, b"", f"{what}: 304 body")


def expect_412(r, what):
    check_status(r, 412, what)


# --- validators ---------------------------------------------------------


def test_validators_on_200():
    r = get(srv(), "/cond.txt")
    check_status(r, 200)
    etag = r.header("etag") or ""
    check(etag.startswith('"') and etag.endswith('"') and len(etag) > 2,
          f"ETag is not a strong quoted entity-tag: {etag!r}")
    check('"' not in etag[1:-1], f"ETag has an inner quote: {etag!r}")
    eq(r.header("last-modified"), LM, "Last-Modified")
    eq(r.header("accept-ranges"), "bytes", "Accept-Ranges")
    eq(len(r.header_all("etag")), 1, "number of ETag fields")


def test_etag_stable_and_distinct_per_file():
    e1 = etag_of("/cond.txt")
    e2 = etag_of("/cond.txt")
    eq(e1, e2, "ETag of the same unchanged file")
    check(etag_of("/a.txt") != e1, "two different files share an ETag")


def test_head_has_same_validators():
    g = get(srv(), "/cond.txt")
    h = get(srv(), "/cond.txt", method="HEAD")
    check_status(h, 200)
    eq(h.header("etag"), g.header("etag"), "HEAD ETag")
    eq(h.header("last-modified"), g.header("last-modified"), "HEAD Last-Modified")


# --- If-Match (§13.1.1: strong comparison) -------------------------------


def test_if_match_current_etag_200():
    etag = etag_of()
    expect_200(cond([("If-Match", etag)]), "If-Match: current")


def test_if_match_other_etag_412():
    r = cond([("If-Match", '"not-the-etag"')])
    expect_412(r, "If-Match: other")
    check(b"conditional body" not in r.body, "412 carries the file content")
    check(len(r.body) > 0, "412 has no explanation body")
    assert_alive(srv())


def test_if_match_star_200():
    expect_200(cond([("If-Match", "*")]), "If-Match: *")


def test_if_match_list():
    etag = etag_of()
    expect_200(cond([("If-Match", f'"a", {etag}, "b"')]), "If-Match list containing current")
    expect_412(cond([("If-Match", '"a", "b"')]), "If-Match list without current")


def test_if_match_list_split_over_two_field_lines():
    # RFC 9110 §5.3: field lines of a list-based field combine into one list.
    etag = etag_of()
    expect_200(cond([("If-Match", '"a"'), ("If-Match", etag)]), "If-Match split over two lines")


def test_if_match_weak_tag_never_matches():
    etag = etag_of()
    expect_412(cond([("If-Match", "W/" + etag)]), "If-Match: W/current (strong comparison)")


def test_if_match_on_head():
    r = cond([("If-Match", '"nope"')], method="HEAD")
    expect_412(r, "HEAD If-Match: other")
    eq(r.body, b"", "HEAD 412 body")
    check_status(cond([("If-Match", etag_of())], method="HEAD"), 200, "HEAD If-Match: current")


# --- If-Unmodified-Since (§13.1.4) --------------------------------------


def test_if_unmodified_since_each_format():
    for name, fmt in FORMATS:
        expect_412(cond([("If-Unmodified-Since", fmt(FIXED_MTIME - 1))]),
                   f"If-Unmodified-Since 1 s before Last-Modified ({name})")
        expect_412(cond([("If-Unmodified-Since", fmt(FIXED_MTIME - 86400 * 400))]),
                   f"If-Unmodified-Since long before ({name})")
        expect_200(cond([("If-Unmodified-Since", fmt(FIXED_MTIME))]),
                   f"If-Unmodified-Since equal to Last-Modified ({name})")
        expect_200(cond([("If-Unmodified-Since", fmt(FIXED_MTIME + 3600))]),
                   f"If-Unmodified-Since after ({name})")


def test_if_unmodified_since_rfc_examples():
    # The literal examples of RFC 9110 §5.6.7 (all 1994, before Last-Modified).
    for value in ("Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                  "Sun Nov  6 08:49:37 1994"):
        expect_412(cond([("If-Unmodified-Since", value)]), f"If-Unmodified-Since: {value}")


def test_if_unmodified_since_invalid_is_ignored():
    for value in INVALID_DATES:
        expect_200(cond([("If-Unmodified-Since", value)]), f"If-Unmodified-Since: {value!r}")
        assert_alive(srv(), f"after If-Unmodified-Since {value!r}")


def test_if_match_takes_precedence_over_if_unmodified_since():
    etag = etag_of()
    old = imf(FIXED_MTIME - 3600)
    # §13.2.2 step 2 is only reached when If-Match is absent.
    expect_200(cond([("If-Match", etag), ("If-Unmodified-Since", old)]),
               "If-Match true + If-Unmodified-Since false")
    expect_412(cond([("If-Match", '"x"'), ("If-Unmodified-Since", imf(FIXED_MTIME + 3600))]),
               "If-Match false + If-Unmodified-Since true")


# --- If-None-Match (§13.1.2: weak comparison) ----------------------------


def test_if_none_match_current_304():
    etag = etag_of()
    r = cond([("If-None-Match", etag)])
    expect_304(r, "If-None-Match: current")
    eq(r.header("etag"), etag, "304 ETag")


def test_if_none_match_weak_comparison():
    etag = etag_of()
    expect_304(cond([("If-None-Match", "W/" + etag)]), "If-None-Match: W/current")


def test_if_none_match_star_and_lists():
    etag = etag_of()
    expect_304(cond([("If-None-Match", "*")]), "If-None-Match: *")
    expect_304(cond([("If-None-Match", f'"a", W/"b", {etag}')]), "If-None-Match list with current")
    expect_200(cond([("If-None-Match", '"a", W/"b"')]), "If-None-Match list without current")
    expect_200(cond([("If-None-Match", '"other"')]), "If-None-Match: other")


def test_if_none_match_list_split_over_two_field_lines():
    etag = etag_of()
    expect_304(cond([("If-None-Match", '"a"'), ("If-None-Match", etag)]),
               "If-None-Match split over two lines")


def test_if_none_match_on_head_304():
    expect_304(cond([("If-None-Match", etag_of())], method="HEAD"), "HEAD If-None-Match: current")


def test_if_none_match_takes_precedence_over_if_modified_since():
    etag = etag_of()
    # If-None-Match false: If-Modified-Since (which alone would give 304) is ignored.
    expect_200(cond([("If-None-Match", '"other"'), ("If-Modified-Since", imf(FIXED_MTIME))]),
               "If-None-Match false + If-Modified-Since not-modified")
    # If-None-Match true: 304 even with an If-Modified-Since that says modified.
    expect_304(cond([("If-None-Match", etag), ("If-Modified-Since", imf(FIXED_MTIME - 3600))]),
               "If-None-Match true + If-Modified-Since modified")


# --- If-Modified-Since (§13.1.3) -----------------------------------------


def test_if_modified_since_each_format():
    for name, fmt in FORMATS:
        expect_304(cond([("If-Modified-Since", fmt(FIXED_MTIME))]),
                   f"If-Modified-Since equal to Last-Modified ({name})")
        expect_304(cond([("If-Modified-Since", fmt(FIXED_MTIME + 60))]),
                   f"If-Modified-Since after Last-Modified ({name})")
        expect_200(cond([("If-Modified-Since", fmt(FIXED_MTIME - 1))]),
                   f"If-Modified-Since 1 s before Last-Modified ({name})")


def test_if_modified_since_rfc_examples_are_modified():
    for value in ("Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                  "Sun Nov  6 08:49:37 1994"):
        expect_200(cond([("If-Modified-Since", value)]), f"If-Modified-Since: {value}")


def test_if_modified_since_invalid_is_ignored():
    for value in INVALID_DATES:
        expect_200(cond([("If-Modified-Since", value)]), f"If-Modified-Since: {value!r}")
        assert_alive(srv(), f"after If-Modified-Since {value!r}")


def test_if_modified_since_on_head_304():
    expect_304(cond([("If-Modified-Since", LM)], method="HEAD"), "HEAD If-Modified-Since")


def test_curl_time_cond():
    code, body, head, _ = curl(["-z", LM, srv().url + "/cond.txt"])
    eq(code, 304, "curl -z Last-Modified")
    eq(body, b"", "curl 304 body")
    code, body, _, _ = curl(["-z", imf(FIXED_MTIME - 10), srv().url + "/cond.txt"])
    eq(code, 200, "curl -z earlier date")
    eq(body, COND, "curl body")


# --- order of evaluation (§13.2.2) ---------------------------------------


def test_if_match_false_beats_if_none_match_true():
    etag = etag_of()
    expect_412(cond([("If-Match", '"x"'), ("If-None-Match", etag)]),
               "If-Match false + If-None-Match true")
    expect_412(cond([("If-None-Match", etag), ("If-Match", '"x"')]),
               "same, fields in the other order")


def test_if_unmodified_since_false_beats_if_none_match_true():
    etag = etag_of()
    expect_412(cond([("If-Unmodified-Since", imf(FIXED_MTIME - 60)), ("If-None-Match", etag)]),
               "If-Unmodified-Since false + If-None-Match true")


def test_if_unmodified_since_false_beats_if_modified_since():
    expect_412(cond([("If-Unmodified-Since", imf(FIXED_MTIME - 60)),
                     ("If-Modified-Since", imf(FIXED_MTIME))]),
               "If-Unmodified-Since false + If-Modified-Since not-modified")


def test_if_match_true_then_if_none_match_true_304():
    etag = etag_of()
    expect_304(cond([("If-Match", etag), ("If-None-Match", etag)]),
               "If-Match true + If-None-Match true")
    expect_304(cond([("If-Match", "*"), ("If-Modified-Since", LM)]),
               "If-Match * + If-Modified-Since not-modified")


def test_if_unmodified_since_true_then_if_modified_since_304():
    expect_304(cond([("If-Unmodified-Since", imf(FIXED_MTIME + 60)),
                     ("If-Modified-Since", LM)]),
               "If-Unmodified-Since true + If-Modified-Since not-modified")


def test_all_four_true_gives_304():
    etag = etag_of()
    expect_304(cond([("If-Match", etag), ("If-Unmodified-Since", imf(FIXED_MTIME - 60)),
                     ("If-None-Match", etag), ("If-Modified-Since", imf(FIXED_MTIME - 60))]),
               "If-Match true (If-Unmodified-Since ignored) + If-None-Match true "
               "(If-Modified-Since ignored)")


def test_all_pass_gives_200():
    etag = etag_of()
    expect_200(cond([("If-Match", etag), ("If-None-Match", '"x"'),
                     ("If-Modified-Since", imf(FIXED_MTIME - 60))]),
               "If-Match true + If-None-Match false")


def test_preconditions_before_range():
    etag = etag_of()
    expect_304(cond([("If-None-Match", etag), ("Range", "bytes=0-3")]),
               "If-None-Match true + Range")
    expect_412(cond([("If-Match", '"x"'), ("Range", "bytes=0-3")]), "If-Match false + Range")


def test_preconditions_ignored_when_response_would_not_be_2xx():
    # §13.2.1: a 404 or 405 stays what it is whatever the preconditions say.
    r = cond([("If-Match", '"x"')], path="/missing.txt")
    check_status(r, 404, "If-Match on a missing file")
    r = get(srv(), "/cond.txt", [("If-None-Match", etag_of()), ("Content-Length", "0")],
            method="DELETE")
    check_status(r, 405, "DELETE If-None-Match: current on a read-only file")


# --- what a 304 carries (§15.4.5) ----------------------------------------


def test_304_fields_and_no_body():
    etag = etag_of()
    with Conn(srv()) as c:
        # A 304 that sent a body would desynchronise the GET that follows it.
        c.send(build_request("GET", "/cond.txt", [("If-None-Match", etag)])
               + build_request("GET", "/a.txt"))
        r = c.read_response("GET")
        nxt = c.read_response("GET")
    expect_304(r, "If-None-Match: current")
    eq(r.header("etag"), etag, "304 ETag")
    eq(r.header("last-modified"), LM, "304 Last-Modified")
    check(is_imf_fixdate(r.header("date")), f"304 Date: {r.header('date')!r}")
    check(r.header("transfer-encoding") is None, "304 with Transfer-Encoding")
    cl = r.header("content-length")
    check(cl in (None, str(len(COND))), f"304 Content-Length {cl!r} differs from the 200's")
    check(not r.has("cache-control"), "304 of a file without a cache rule has Cache-Control")
    check(not any(v.lower() == "accept-encoding" for v in r.tokens("vary")),
          "304 of a file without variants has Vary: Accept-Encoding")
    check_status(nxt, 200, "GET after the 304 on the same connection")
    eq(nxt.body, A_TXT, "body after the 304")


def test_304_from_if_modified_since_has_validators():
    r = cond([("If-Modified-Since", LM)])
    expect_304(r, "If-Modified-Since")
    eq(r.header("etag"), etag_of(), "304 ETag")
    eq(r.header("last-modified"), LM, "304 Last-Modified")


def test_304_carries_vary_for_a_file_with_variants():
    g = get(srv(), "/v.txt")
    check_status(g, 200)
    r = cond([("If-None-Match", g.header("etag"))], path="/v.txt")
    expect_304(r, "If-None-Match on a file with a .gz variant")
    check("accept-encoding" in r.tokens("vary"), f"304 Vary: {r.header_all('vary')!r}")
    eq(r.header("etag"), g.header("etag"), "304 ETag")


def test_304_carries_cache_control_and_expires():
    g = get(srv(), "/cached/c.txt")
    check_status(g, 200)
    eq(g.header("cache-control"), "max-age=600", "200 Cache-Control")
    r = cond([("If-None-Match", g.header("etag"))], path="/cached/c.txt")
    expect_304(r, "If-None-Match on /cached/c.txt")
    eq(r.header("cache-control"), "max-age=600", "304 Cache-Control")
    exp = r.header("expires")
    check(is_imf_fixdate(exp), f"304 Expires: {exp!r}")
    when = email.utils.parsedate_to_datetime(exp).timestamp()
    check(abs(when - (time.time() + 600)) < 10, f"304 Expires {exp!r} is not now + 600 s")


# --- hostile or malformed validators ------------------------------------------


def test_long_etag_lists():
    etag = etag_of()
    many = ", ".join(f'"tag-{i:04d}"' for i in range(400))  # about 5.6 KB
    expect_304(cond([("If-None-Match", f"{many}, {etag}")]), "If-None-Match: 400 tags + current")
    expect_200(cond([("If-None-Match", many)]), "If-None-Match: 400 other tags")
    expect_200(cond([("If-Match", f"{many}, {etag}")]), "If-Match: 400 tags + current")
    expect_412(cond([("If-Match", many)]), "If-Match: 400 other tags")
    assert_alive(srv())


def test_malformed_entity_tags_do_not_match():
    etag = etag_of()
    bare = etag.strip('"')
    for value in (bare, '"' + bare, bare + '"', "W/" + bare, "w/" + etag, ",,,", "W/", '""',
                  '"' + bare + '" junk', '"a"b"', "\x01", "*, *", etag[:-1] + ' "'):
        r = cond([("If-None-Match", value)])
        check(r.status in (200, 304, 400), f"If-None-Match {value!r}: {r.status}")
        if value in (bare, '"' + bare, bare + '"', "W/" + bare, ",,,", "W/", '""'):
            expect_200(r, f"If-None-Match {value!r} (malformed, cannot match)")
        r = cond([("If-Match", value)])
        check(r.status in (200, 412, 400), f"If-Match {value!r}: {r.status}")
        if value in (bare, '"' + bare, bare + '"', "W/" + bare, '""'):
            expect_412(r, f"If-Match {value!r} (malformed, cannot match)")
        assert_alive(srv(), f"after entity-tag {value!r}")


def test_odd_dates_do_not_break():
    for value in ("Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 1900 00:00:00 GMT",
                  "Thu, 01 Jan 1970 00:00:00 GMT", "Wed, 30 Feb 2023 00:00:00 GMT",
                  "Tue, 14 Nov 2023 25:61:61 GMT", "Tue, 14 Nov -2023 22:13:20 GMT",
                  "Tue, 14 Nov 99999999999999999999 22:13:20 GMT",
                  "Tuesday, 14-Nov-2023 22:13:20 GMT",
                  "Tue Nov 14 22:13:20 2023 GMT", "Tue, 14 Nov 2023 22:13:20 UTC",
                  "Tue,14 Nov 2023 22:13:20 GMT", "x" * 4000):
        for name in ("If-Modified-Since", "If-Unmodified-Since"):
            r = cond([(name, value)])
            check(r.status in (200, 304, 412), f"{name}: {value[:50]!r}: {r.status}")
            if r.status == 200:
                eq(r.body, COND, f"{name}: {value[:50]!r}: body")
        assert_alive(srv(), f"after date {value[:50]!r}")
    # A valid date far in the past: the comparison still holds.
    expect_412(cond([("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")]),
               "If-Unmodified-Since 1970")
    expect_200(cond([("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")]),
               "If-Modified-Since 1970")
