"""Directory listings (--listing: HTML and JSON, sorted, escaped, dotfiles hidden;
403 without it) and symlinks (followed inside the root; outside only with
--follow-symlinks)."""

import email.utils
import html
import json
import os
import re
import urllib.parse
from datetime import datetime, timezone

from harness import (A_TXT, FIXED_MTIME, SUB_INDEX_HTML, Server, assert_alive, check, check_status,
                     eq, get, http_date, make_docroot, remove_tree, shared, at_teardown, temp_dir)

EVIL = 'a<b>&"c.txt'
LIST_FILES = {
    "list/b.txt": b"bee\n",
    "list/a.txt": b"a\n",
    "list/" + EVIL: b"evil name\n",
    "list/with space.txt": b"space\n" * 3,
    "list/e2/x.txt": b"x",
    "list/d1/y.txt": b"y",
    "list/.hidden": b"hidden",
    "list/.hdir/z.txt": b"z",
    "esc/<i>x/f.txt": b"f",
}
# directories first, then files; names in byte order
LIST_ORDER = ["d1", "e2", "a.txt", EVIL, "b.txt", "with space.txt"]
OUTSIDE = b"outside the root, served only with --follow-symlinks\n"
_root = None
_outside = None
_sibling = None  # ROOT + "-evil": passes a string-prefix containment check


def root():
    global _root, _outside
    if _root is None:
        _root = make_docroot(LIST_FILES)
        for d in ("list/d1", "list/e2"):
            os.utime(os.path.join(_root, d), (FIXED_MTIME, FIXED_MTIME))
        _outside = temp_dir("nxx-it-outside-")
        with open(os.path.join(_outside, "out.txt"), "wb") as f:
            f.write(OUTSIDE)
        os.symlink("a.txt", os.path.join(_root, "link-in.txt"))
        os.symlink(os.path.join(_root, "a.txt"), os.path.join(_root, "link-in-abs.txt"))
        os.symlink("sub", os.path.join(_root, "sub-link"))
        os.symlink(os.path.join(_outside, "out.txt"), os.path.join(_root, "link-out.txt"))
        rel = os.path.relpath(os.path.join(_outside, "out.txt"), os.path.join(_root, "sub"))
        os.symlink(rel, os.path.join(_root, "sub", "rel-out.txt"))
        os.symlink(_outside, os.path.join(_root, "dir-out"))
        os.symlink("link-out.txt", os.path.join(_root, "chain-out.txt"))
        os.symlink("loop-b", os.path.join(_root, "loop-a"))
        os.symlink("loop-a", os.path.join(_root, "loop-b"))
        os.symlink("missing-target", os.path.join(_root, "dangling"))
        # absolute targets that a naive containment check gets wrong
        global _sibling
        _sibling = _root + "-evil"
        os.makedirs(_sibling)
        at_teardown(lambda: remove_tree(_sibling))
        with open(os.path.join(_sibling, "out.txt"), "wb") as f:
            f.write(OUTSIDE)
        base = os.path.basename(_root)
        os.symlink(os.path.join(_sibling, "out.txt"), os.path.join(_root, "abs-sibling.txt"))
        os.symlink(_sibling, os.path.join(_root, "abs-sibling-dir"))
        os.symlink(_root + "/../" + os.path.basename(_outside) + "/out.txt",
                   os.path.join(_root, "abs-dotdot-out.txt"))
        os.symlink(_root + "/sub/../a.txt", os.path.join(_root, "abs-dotdot-in.txt"))
        os.symlink(_root + "/../" + base + "/a.txt", os.path.join(_root, "abs-reenter.txt"))
        os.symlink(_root, os.path.join(_root, "abs-self"))
        os.symlink("/", os.path.join(_root, "abs-slash"))
        os.symlink("../" + base + "/a.txt", os.path.join(_root, "rel-reenter.txt"))
        os.symlink("../" + os.path.basename(_sibling) + "/out.txt",
                   os.path.join(_root, "rel-sibling.txt"))
    return _root


def plain_srv():
    return shared("nxx serve (defaults)", lambda: Server(root()))


def list_srv():
    return shared("nxx serve --listing", lambda: Server(root(), "--listing"))


def follow_srv():
    return shared("nxx serve --follow-symlinks", lambda: Server(root(), "--follow-symlinks"))


def hrefs(body):
    """The href values of a page, attribute-unescaped (&amp; -> &)."""
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', body.decode("utf-8"))]


def entry_names(body):
    """Names of the entries in an HTML listing, from the hrefs, in page order."""
    out = []
    for h in hrefs(body):
        name = urllib.parse.unquote(h.split("?")[0])
        if name.startswith("./"):
            name = name[2:]
        if name in ("../", "..", "/", ""):
            continue
        out.append(name.rstrip("/").rsplit("/", 1)[-1])
    return out


# --- listing off ----------------------------------------------------------


def test_without_listing_directory_is_403_with_problem():
    r = get(plain_srv(), "/list/")
    check_status(r, 403)
    check(b"403" in r.body, f"403 body does not explain: {r.body!r}")
    check(b"b.txt" not in r.body, "403 body lists the directory")
    r = get(plain_srv(), "/list/", [("Accept", "application/problem+json")])
    check_status(r, 403)
    eq(r.content_type, "application/problem+json", "problem Content-Type")
    eq(json.loads(r.body).get("status"), 403, "problem status")


# --- HTML listing -----------------------------------------------------------


def test_html_listing():
    r = get(list_srv(), "/list/")
    check_status(r, 200)
    eq(r.content_type, "text/html", "Content-Type")
    check("accept" in r.tokens("vary"), f"Vary: {r.header_all('vary')!r}")
    body = r.body.decode("utf-8")
    for name in ("b.txt", "d1", "e2"):
        check(name in body, f"{name} not listed")
    check(".hidden" not in body and ".hdir" not in body, "dotfiles listed")
    eq(len(r.body), int(r.header("content-length") or -1), "Content-Length")


def test_html_listing_sorted_directories_first():
    r = get(list_srv(), "/list/")
    eq(entry_names(r.body), LIST_ORDER, "entries in page order")


def test_html_listing_escapes_names():
    body = get(list_srv(), "/list/").body.decode("utf-8")
    check(EVIL not in body, "the raw name a<b>&\"c.txt appears in the HTML")
    check("<b>" not in body, "an unescaped <b> tag in the listing")
    text = html.unescape(re.sub(r"<[^>]*>", " ", body))
    check(EVIL in text, "the escaped name does not read back as a<b>&\"c.txt")


def test_html_listing_links_percent_encoded():
    links = hrefs(get(list_srv(), "/list/").body)
    for h in links:
        check(re.fullmatch(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]*", h),
              f"href with a character that should be percent-encoded: {h!r}")
    check(any("with%20space.txt" in h for h in links), f"no with%20space.txt link in {links!r}")
    evil = [h for h in links if urllib.parse.unquote(h).endswith(EVIL)]
    eq(len(evil), 1, f"links to {EVIL!r} among {links!r}")
    # Every link, resolved against the page, fetches the entry it names.
    base = "/list/"
    for h in links:
        target = urllib.parse.urljoin(base, h)
        r = get(list_srv(), target)
        check(r.status in (200, 301), f"link {h!r} -> {target}: {r.status}")


def test_html_listing_has_sizes_and_dates():
    body = get(list_srv(), "/list/").body.decode("utf-8")
    check(str(len(LIST_FILES["list/with space.txt"])) in body, "size of with space.txt missing")
    when = datetime.fromtimestamp(FIXED_MTIME, timezone.utc)
    check(http_date(FIXED_MTIME) in body or when.strftime("%Y-%m-%d") in body,
          "modification date missing")


def test_listing_title_escapes_path():
    r = get(list_srv(), "/esc/%3Ci%3Ex/")
    check_status(r, 200)
    body = r.body.decode("utf-8")
    check("<i>x" not in body, f"path unescaped in the page: {body[:300]!r}")
    check("&lt;i&gt;x" in body, "escaped path not shown")


def test_head_listing():
    g = get(list_srv(), "/list/")
    h = get(list_srv(), "/list/", method="HEAD")
    check_status(h, 200)
    eq(h.body, b"", "HEAD body")
    eq(h.header("content-length"), g.header("content-length"), "HEAD Content-Length")


def test_listing_keeps_index_html_and_redirect():
    r = get(list_srv(), "/sub/")
    check_status(r, 200)
    eq(r.body, SUB_INDEX_HTML, "directory with index.html serves it under --listing")
    check_status(get(list_srv(), "/list"), 301, "/list without slash")


def test_listing_of_root():
    r = get(list_srv(), "/nodir/")
    check_status(r, 200)
    check(b"file.txt" in r.body, "nodir/file.txt not listed")


# --- JSON listing -----------------------------------------------------------


def _modified_ts(value):
    if isinstance(value, (int, float)):
        return int(value)
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError):
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def test_json_listing():
    r = get(list_srv(), "/list/", [("Accept", "application/json")])
    check_status(r, 200)
    eq(r.content_type, "application/json", "Content-Type")
    check("accept" in r.tokens("vary"), f"Vary: {r.header_all('vary')!r}")
    doc = json.loads(r.body)
    eq(doc.get("path"), "/list/", "path")
    entries = doc.get("entries")
    check(isinstance(entries, list), f"entries: {entries!r}")
    eq([e.get("name") for e in entries], LIST_ORDER, "entry names in order")
    by = {e["name"]: e for e in entries}
    eq(by["d1"].get("type"), "directory", "type of d1")
    eq(by[EVIL].get("type"), "file", "type of the evil name")
    eq(by["with space.txt"].get("size"), len(LIST_FILES["list/with space.txt"]), "size")
    eq(by["b.txt"].get("size"), 4, "size of b.txt")
    for e in entries:
        check({"name", "type", "size", "modified"} <= set(e), f"entry fields {e!r}")
        eq(_modified_ts(e["modified"]), FIXED_MTIME, f"modified of {e['name']}")


def test_accept_negotiates_listing_format():
    for accept, want in (("application/json", "application/json"),
                         ("text/html", "text/html"),
                         ("application/json;q=0.5, text/html", "text/html"),
                         ("text/html;q=0.5, application/json", "application/json"),
                         ("*/*", "text/html")):
        r = get(list_srv(), "/list/", [("Accept", accept)])
        check_status(r, 200, accept)
        eq(r.content_type, want, f"Accept: {accept}")
    r = get(list_srv(), "/list/")
    eq(r.content_type, "text/html", "no Accept")


# --- symlinks -------------------------------------------------------------


def test_symlink_inside_root_served():
    r = get(plain_srv(), "/link-in.txt")
    check_status(r, 200, "/link-in.txt (relative symlink to a.txt)")
    eq(r.body, A_TXT, "/link-in.txt")
    r = get(plain_srv(), "/sub-link/")
    check_status(r, 200, "/sub-link/ (directory symlink inside the root)")
    eq(r.body, SUB_INDEX_HTML, "/sub-link/")


def test_absolute_symlink_inside_root_served():
    # The target (ROOT/a.txt, spelled as an absolute path) stays inside the root.
    r = get(plain_srv(), "/link-in-abs.txt")
    check_status(r, 200, "/link-in-abs.txt (absolute symlink to ROOT/a.txt)")
    eq(r.body, A_TXT, "/link-in-abs.txt")


def test_absolute_symlinks_that_stay_inside():
    for target in ("/abs-dotdot-in.txt", "/abs-reenter.txt", "/rel-reenter.txt",
                   "/abs-self/a.txt"):
        r = get(plain_srv(), target)
        check_status(r, 200, f"{target} (symlink whose target is inside the root)")
        eq(r.body, A_TXT, target)


def test_symlinks_to_a_sibling_with_the_root_as_prefix_404():
    # ROOT-evil/out.txt starts with the string ROOT: only a path-component
    # containment check refuses it.
    for target in ("/abs-sibling.txt", "/abs-sibling-dir/out.txt", "/rel-sibling.txt",
                   "/abs-dotdot-out.txt", "/abs-slash/etc/passwd", "/abs-slash/"):
        r = get(plain_srv(), target)
        check(r.status in (403, 404), f"{target}: expected 404 (or 403), got {r.status}")
        check(OUTSIDE not in r.body and b"root:" not in r.body,
              f"{target}: content from outside the root served")
        assert_alive(plain_srv(), f"after {target}")
    r = get(list_srv(), "/abs-slash/")
    check(r.status in (403, 404), f"--listing /abs-slash/: {r.status}")
    check(b"etc" not in r.body, "--listing lists the filesystem root")


def test_symlink_outside_root_404():
    for target in ("/link-out.txt", "/sub/rel-out.txt", "/chain-out.txt", "/dir-out/out.txt",
                   "/dir-out/"):
        r = get(plain_srv(), target)
        check(r.status in (403, 404), f"{target}: expected 404 (or 403), got {r.status}")
        check(OUTSIDE not in r.body, f"{target}: content from outside the root served")
        assert_alive(plain_srv(), f"after {target}")


def test_symlink_outside_root_not_listed_through():
    for target in ("/dir-out/", "/dir-out"):
        r = get(list_srv(), target)
        check(r.status in (403, 404), f"--listing {target}: expected 404/403, got {r.status}")
        check(b"out.txt" not in r.body, f"--listing {target}: outside directory listed")
    r = get(list_srv(), "/dir-out/out.txt")
    check(r.status in (403, 404), f"--listing /dir-out/out.txt: {r.status}")


def test_symlink_loops_and_dangling():
    for target in ("/loop-a", "/loop-b", "/dangling", "/loop-a/x"):
        r = get(plain_srv(), target)
        check(r.status in (403, 404), f"{target}: expected 404, got {r.status}")
        assert_alive(plain_srv(), f"after {target}")


def test_follow_symlinks_serves_outside_file():
    for target in ("/link-out.txt", "/sub/rel-out.txt", "/chain-out.txt"):
        r = get(follow_srv(), target)
        check_status(r, 200, f"--follow-symlinks {target}")
        eq(r.body, OUTSIDE, target)
    r = get(follow_srv(), "/link-in.txt")
    check_status(r, 200, "--follow-symlinks /link-in.txt")
    eq(r.body, A_TXT, "/link-in.txt")
    for target in ("/loop-a", "/dangling"):
        check(get(follow_srv(), target).status in (403, 404), f"--follow-symlinks {target}")
        assert_alive(follow_srv(), f"after {target}")
