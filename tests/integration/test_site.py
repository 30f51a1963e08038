"""The bundled example site (examples/site): served with the right types and
exact bytes."""

import os

from harness import (REPO, Server, check, check_status, eq, get)

SITE = os.path.join(REPO, "examples", "site")


def _files():
    out = []
    for dirpath, _, names in os.walk(SITE):
        for name in names:
            if name.startswith("."):
                continue
            path = os.path.join(dirpath, name)
            out.append("/" + os.path.relpath(path, SITE).replace(os.sep, "/"))
    return sorted(out)


def test_example_site_index_and_files():
    check(os.path.exists(os.path.join(SITE, "index.html")), "examples/site/index.html is missing")
    types = {".html": "text/html", ".css": "text/css", ".js": "text/javascript",
             ".png": "image/png", ".svg": "image/svg+xml",
             ".jpg": "image/jpeg", ".ico": "image/vnd.microsoft.icon"}
    with Server(SITE) as s:
        r = get(s, "/")
        check_status(r, 200, "GET / on examples/site")
        eq(r.content_type, "text/html", "Content-Type of /")
        with open(os.path.join(SITE, "index.html"), "rb") as f:
            eq(r.body, f.read(), "body of /")
        for target in _files():
            r = get(s, target.replace(" ", "%20"))
            check_status(r, 200, target)
            with open(os.path.join(SITE, target[1:]), "rb") as f:
                eq(r.body, f.read(), f"body of {target}")
            ext = os.path.splitext(target)[1]
            if ext in types:
                ct = r.content_type
                ok = ct == types[ext] or (ext == ".js" and ct == "application/javascript")
                check(ok, f"{target}: Content-Type {ct!r}, expected {types[ext]!r}")


def test_example_site_dotfiles_hidden():
    with Server(SITE) as s:
        for name in sorted(os.listdir(SITE)):
            if name.startswith("."):
                r = get(s, "/" + name)
                check_status(r, 404, f"/{name} in examples/site")
