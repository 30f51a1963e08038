"""Negotiated names on a files location with `multiviews` (RFC 2295 / RFC
2296, as Apache's MultiViews and type maps): the best variant for Accept and
Accept-Language with Content-Location and Vary; 300 with Alternates, TCN:
list and an HTML list when the client asks for the list or nothing tells
the variants apart; language-priority breaking ties; a transparent client
that lets the server choose gets TCN: choice; 406 when nothing is
acceptable; 506 when the best variant is itself a type map; the chosen
variant keeps its validators (304) and ranges (206); a location without
multiviews answers 404."""

import re

from harness import (ConfigServer, build_request, check, check_status, config_dir, eq, one,
                     remove_tree, shared)

EN = b"<!DOCTYPE html><p>english</p>\n"
FR = b"<!DOCTYPE html><p>fran\xc3\xa7ais</p>\n"

FILES = {
    "www/index.html.en": EN,
    "www/index.html.fr": FR,
    "www/docs/paper.en.txt": b"plain english paper\n",
    "www/docs/paper.en.html": b"<p>english paper</p>\n",
    "www/docs/paper.fr.html": b"<p>papier</p>\n",
    "www/docs/paper.en.html.draft1": b"never a variant\n",
    # a type map: the HTML variant is rated lower than the PDF by its source
    "www/report.var": ("URI: report\n\n"
                       "URI: report.html\nContent-Type: text/html; qs=0.5\n\n"
                       "URI: report.pdf\nContent-Type: application/pdf\n"),
    "www/report.html": b"<p>report</p>\n",
    "www/report.pdf": b"%PDF-1.4 not really\n",
    # a type map whose only variant is another type map
    "www/loop.var": "URI: loop\n\nURI: inner.var\nContent-Type: text/html\n",
    "www/inner.var": "URI: inner\n\nURI: report.html\nContent-Type: text/html\n",
    "prio/index.html.en": EN,
    "prio/index.html.fr": FR,
    "plain/index.html.en": EN,
}

CONFIG = """\
locations:
  /:
    files: {root: www, multiviews: true}
  /prio:
    files: {root: prio, multiviews: true, language-priority: [fr, en], strip-prefix: true}
  /plain:
    files: {root: plain, strip-prefix: true}
"""

_dirs = []


def srv():
    def make():
        d, path = config_dir(CONFIG, files=FILES)
        _dirs.append(d)
        return ConfigServer(path)
    return shared("nxx serve --config (multiviews)", make)


def teardown_module():
    for d in _dirs:
        remove_tree(d)


def req(path, headers=(), method="GET"):
    return one(srv(), build_request(method, path, [("Host", "127.0.0.1")] + list(headers)),
               method)


def vary(r):
    return set(r.tokens("vary"))


def alternates(r):
    """[(uri, source quality, {attribute: value})] of the Alternates field."""
    out = []
    for m in re.finditer(r'\{"([^"]+)" ([0-9.]+)((?: \{[^{}]*\})*)\}', r.header("alternates", "")):
        attrs = dict(a.split(" ", 1) for a in re.findall(r"\{([^{}]*)\}", m.group(3)))
        out.append((m.group(1), m.group(2), attrs))
    return out


def test_the_language_the_client_prefers():
    r = req("/", [("Accept-Language", "fr, en;q=0.5")])
    check_status(r, 200, "negotiated index")
    eq(r.body, FR, "the French variant")
    eq(r.header("content-location"), "index.html.fr", "Content-Location")
    check({"negotiate", "accept-language"} <= vary(r), f"Vary: {r.header_all('vary')}")
    check(not r.has("tcn"), "no TCN to a client that does not take part in TCN")
    r = req("/index.html", [("Accept-Language", "en-GB, fr;q=0.1")])
    eq(r.body, EN, "en-GB falls back to the en variant before fr;q=0.1")
    r = req("/index.html", [("Accept-Language", "fr-CA;q=0.3, en;q=0.2")])
    eq(r.body, FR, "fr-CA falls back to fr, still above en;q=0.2")


def test_the_type_the_client_prefers():
    r = req("/docs/paper", [("Accept", "text/plain, text/html;q=0.5"), ("Accept-Language", "en")])
    check_status(r, 200, "negotiated by type")
    eq(r.header("content-location"), "paper.en.txt", "Content-Location")
    eq(r.content_type, "text/plain", "the variant's own type")
    check({"negotiate", "accept", "accept-language"} <= vary(r), f"Vary: {r.header_all('vary')}")


def test_tie_gets_300_list():
    r = req("/")
    check_status(r, 300, "two languages and no preference")
    eq(r.header("tcn"), "list", "TCN")
    alts = alternates(r)
    eq(sorted(a[0] for a in alts), ["index.html.en", "index.html.fr"], "Alternates URIs")
    for uri, qs, attrs in alts:
        eq(attrs.get("type"), "text/html", f"type of {uri}")
        eq(attrs.get("language"), uri.rsplit(".", 1)[1], f"language of {uri}")
        eq(attrs.get("length"), str(len(EN if uri.endswith("en") else FR)), f"length of {uri}")
    eq(r.content_type, "text/html", "the list as HTML")
    for uri in ("index.html.en", "index.html.fr"):
        check(f'href="{uri}"'.encode() in r.body, f"link to {uri}: {r.body!r}")
    h = req("/", method="HEAD")
    check_status(h, 300, "HEAD of the list")
    eq(h.body, b"", "HEAD has no content")


def test_language_priority_breaks_the_tie():
    r = req("/prio/")
    check_status(r, 200, "a tie broken by language-priority")
    eq(r.body, FR, "fr comes first in language-priority")
    r = req("/prio/", [("Accept-Language", "en")])
    eq(r.body, EN, "the client's preference still wins")


def test_transparent_client_gets_the_list_unless_it_lets_the_server_choose():
    r = req("/index.html", [("Negotiate", "trans"), ("Accept-Language", "fr")])
    check_status(r, 300, "Negotiate: trans")
    eq(r.header("tcn"), "list", "TCN of the list response")
    r = req("/index.html", [("Negotiate", "trans, vlist, 1.0"), ("Accept-Language", "fr")])
    check_status(r, 200, "Negotiate: trans, vlist, 1.0")
    eq(r.header("tcn"), "choice", "TCN of the choice response")
    eq(r.header("content-location"), "index.html.fr", "Content-Location of the choice")
    eq(len(alternates(r)), 2, "vlist: the choice carries Alternates")


def test_nothing_acceptable_gets_406_with_alternates():
    r = req("/docs/paper", [("Accept-Language", "de")])
    check_status(r, 406, "no German variant")
    eq(sorted(a[0] for a in alternates(r)),
       ["paper.en.html", "paper.en.txt", "paper.fr.html"], "Alternates of the 406 (no .draft1)")
    check(b"variants" in r.body, f"the problem says why: {r.body!r}")


def test_type_map_source_quality():
    r = req("/report", [("Accept", "text/html, application/pdf")])
    check_status(r, 200, "type map")
    eq(r.header("content-location"), "report.pdf", "qs=0.5 puts the HTML below the PDF")
    r = req("/report", [("Accept", "text/html, application/pdf;q=0.4")])
    eq(r.header("content-location"), "report.html", "0.5 x 1 beats 1 x 0.4")


def test_variant_that_negotiates_again_gets_506():
    r = req("/loop")
    check_status(r, 506, "a type map whose variant is a type map")
    check(b"inner.var" in r.body, f"the problem names the variant: {r.body!r}")


def test_chosen_variant_keeps_validators_and_ranges():
    h = [("Accept-Language", "fr")]
    r = req("/", h)
    etag = r.header("etag")
    check(etag and etag.startswith('"'), f"a strong ETag: {etag!r}")
    r2 = req("/", h + [("If-None-Match", etag)])
    check_status(r2, 304, "If-None-Match of the chosen variant")
    eq(r2.header("content-location"), "index.html.fr", "Content-Location of the 304")
    r3 = req("/", h + [("Range", "bytes=0-8")])
    check_status(r3, 206, "a range of the chosen variant")
    eq(r3.body, FR[:9], "the bytes of the French variant")


def test_without_multiviews_404():
    check_status(req("/plain/"), 403, "a directory without index.html and without multiviews")
    check_status(req("/plain/index.html"), 404, "no file of that name, no multiviews")
