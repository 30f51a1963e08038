"""The configuration file: `nxx check` and `nxx serve --config` on broken files
(exit 2, one line naming FILE:LINE:COL, the key and what was expected), on the
example, and a file combined with flags (which replace the file's global
settings)."""

import os
import socket

from harness import (NXX_BIN, REPO, ConfigServer, check, check_config, check_status,
                     config_dir, eq, get, one, build_request, remove_tree, run_cmd)

# (file, the one line both `nxx check nxx.yaml` and `nxx serve --config
# nxx.yaml` print).  The file is named nxx.yaml and the commands run in its
# directory, so messages start with "nxx.yaml:".
BROKEN = [
    ("threads: two\n",
     "nxx.yaml:1:10: 'threads': 'two' is not a number (expected a whole number from 0 to 256)"),
    ("locations:\n  /api:\n    return: 204\n    max-body-byte: 4M\n",
     "nxx.yaml:4:5: unknown key 'max-body-byte' in location '/api' (did you mean "
     "'max-body-bytes'?)"),
    ("hosts:\n  example.org:\n    locations:\n      /api: {return: 204, max-body-byte: 4M}\n",
     "nxx.yaml:4:27: unknown key 'max-body-byte' in location '/api' of host 'example.org' "
     "(did you mean 'max-body-bytes'?)"),
    ("thraeds: 2\n",
     "nxx.yaml:1:1: unknown key 'thraeds' at the top level (did you mean 'threads'?)"),
    ("hosts:\n  example.org:\n    listen: 127.0.0.1:0\n",
     "nxx.yaml:3:5: key 'listen' is not valid in host 'example.org' (a server-wide setting: it "
     "belongs at the top level)"),
    ("locations:\n  /: {files: {root: ., listng: true}}\n",
     "nxx.yaml:2:24: unknown key 'listng' in 'files' of location '/' (did you mean 'listing'?)"),
    ("locations:\n  /old: {redirect: {status: 301}}\n",
     "nxx.yaml:2:20: missing key 'to' in 'redirect' of location '/old' (expected a string "
     "(TEMPLATE))"),
    ("locations:\n  /old: {redirect: {to: /new, status: 309}}\n",
     "nxx.yaml:2:39: 'status' in 'redirect' of location '/old': '309' is not one of the "
     "accepted status codes (expected 301, 302, 303, 307 or 308)"),
    ("locations:\n  /x: {return: 301}\n",
     "nxx.yaml:2:16: 'status' in 'return' of location '/x': '301' is a redirection (use a "
     "redirect location) (expected a status code from 200 to 599)"),
    ("access-log-format: xml\n",
     "nxx.yaml:1:20: 'access-log-format': 'xml' is not one of the accepted values (expected "
     "combined or json)"),
    ("max-body-bytes: 4X\n",
     "nxx.yaml:1:17: 'max-body-bytes': '4X' is not a size (digits with an optional K, M or G) "
     "(expected a size in bytes from 0 to 1099511627776 (K, M and G suffixes allowed))"),
    ("request-timeout: soon\n",
     "nxx.yaml:1:18: 'request-timeout': 'soon' is not a number of seconds (expected a number "
     "of seconds from 0.001 to 86400)"),
    ("locations:\n  /x: {gone: maybe}\n",
     "nxx.yaml:2:14: 'gone' in location '/x': 'maybe' is not true or false (expected true or "
     "false)"),
    ("headers: [a, b]\n",
     "nxx.yaml:1:10: 'headers': expected a map of names to strings, not a list"),
    ("listen: nonsense\n",
     "nxx.yaml:1:9: 'address' in an item of 'listen': 'nonsense' is not an address "
     "(ADDR:PORT, [IPv6]:PORT or :PORT) (expected a string (ADDR:PORT))"),
    ("locations:\n  /x: {files: ., api: data}\n",
     "nxx.yaml:2:18: location '/x' has two handlers, 'files' (line 2) and 'api' (one at most)"),
    ("threads: 1\nthreads: 2\n",
     "nxx.yaml:2:1: duplicate key 'threads' at the top level (first at line 1)"),
    ("locations:\n  /: {files: site\n",
     "nxx.yaml:3:1: YAML syntax error: did not find expected ',' or '}' (while parsing a flow "
     "mapping, line 2)"),
    ("x: &a 1\ny: *a\n", "nxx.yaml:2:4: YAML aliases (*a) are not supported"),
    ("hosts:\n  \"exa mple.org\": {}\n",
     "nxx.yaml:2:3: 'exa mple.org' under 'hosts' is not a host name (example.org, "
     "*.example.org, 127.0.0.1 or [::1])"),
    ("hosts:\n  a.example: {}\n  b.example: {aliases: [A.example]}\n",
     "nxx.yaml:3:25: host name 'A.example' is given twice (first at line 2)"),
    ("locations:\n  /a//b: {return: 204}\n",
     "nxx.yaml:2:3: bad location path '/a//b' (expected /PREFIX, = /EXACT, or a pattern such "
     "as /u/:id or /files/*)"),
    ("locations:\n  /: {files: nowhere}\n",
     "nxx.yaml:2:14: cannot serve 'nowhere': No such file or directory"),
    ("locations:\n  \"= /api\": {api: data}\n",
     "nxx.yaml:2:14: the REST store needs a prefix location, not '= /api'"),
    ("strict-hosts: true\nlocations:\n  /: {return: 204}\n",
     "nxx.yaml: strict-hosts is on but no host has a name: every request would get 421"),
    ("maintenance: {file: /tmp/nxx-m, page: /nonexistent/p.html}\n",
     "nxx.yaml:1:33: cannot read the maintenance page '/nonexistent/p.html': No such file or "
     "directory"),
]


def test_broken_files_check_exit_2_with_the_exact_error():
    d, path = config_dir()
    try:
        for text, want in BROKEN:
            with open(path, "w") as f:
                f.write(text)
            rc, out, err = check_config("nxx.yaml", cwd=d)
            eq(rc, 2, f"nxx check exit status for {text!r}")
            eq(out, "", f"nxx check stdout for {text!r}")
            eq(err.rstrip("\n"), want, f"nxx check message for {text!r}")
    finally:
        remove_tree(d)


def test_broken_files_serve_exits_2_with_the_same_error():
    d, path = config_dir()
    try:
        for text, want in BROKEN:
            with open(path, "w") as f:
                f.write(text)
            p = run_cmd([NXX_BIN, "serve", "--config", "nxx.yaml", "--listen", "127.0.0.1:0"],
                        cwd=d)
            eq(p.returncode, 2, f"nxx serve --config exit status for {text!r}")
            eq(p.stderr.decode().rstrip("\n"), want, f"nxx serve --config message for {text!r}")
    finally:
        remove_tree(d)


def test_check_ok_binds_nothing_and_opens_no_store():
    # the file's port is held by someone else: check must not care
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    d, path = config_dir(f"listen: 127.0.0.1:{port}\nlocations:\n  /: {{files: site}}\n"
                         "  /api: {api: {data: store}}\n", files={"site/index.html": b"hi\n"})
    try:
        rc, out, err = check_config(path)
        eq((rc, out.strip()), (0, f"{path}: ok"), f"nxx check of a good file ({err!r})")
        check(not os.path.exists(os.path.join(d, "store")), "nxx check created the store")
        # serving it really would fail on the port: check did not bind it
        p = run_cmd([NXX_BIN, "serve", "--config", path, "--threads", "1"], timeout_s=10)
        eq(p.returncode, 1, "serve on a port in use")
        check("address already in use" in p.stderr.decode(), p.stderr.decode())
    finally:
        holder.close()
        remove_tree(d)


def test_check_usage_and_unreadable_file():
    p = run_cmd([NXX_BIN, "check"])
    eq(p.returncode, 2, "nxx check without a file")
    rc, out, err = check_config("/nonexistent/nxx.yaml")
    eq(rc, 2, "nxx check of a missing file")
    eq(err.strip(), "/nonexistent/nxx.yaml: cannot read the configuration: No such file or "
                    "directory", "message")


def test_example_config_checks():
    path = os.path.join(REPO, "examples", "nxx.yaml")
    rc, out, err = check_config(path)
    eq((rc, err), (0, ""), "nxx check examples/nxx.yaml")
    eq(out.strip(), f"{path}: ok", "output")


def test_relative_paths_are_taken_from_the_file():
    d, path = config_dir("locations:\n  /: {files: site}\n",
                         files={"site/a.txt": b"from the file's directory\n"})
    try:
        with ConfigServer(path, cwd="/") as s:
            r = get(s, "/a.txt")
            check_status(r, 200, "a root relative to the file")
            eq(r.body, b"from the file's directory\n", "body")
    finally:
        remove_tree(d)


def test_flags_replace_the_files_global_settings():
    d, path = config_dir("server-name: from-the-file\nmax-body-bytes: 10\nlisten: 127.0.0.1:1\n"
                         "locations:\n  /: {teapot: {}}\n  /small: {teapot: {}, max-body-bytes: 5}\n")
    try:
        # --listen replaces the file's listener (port 1 could not be bound)
        with ConfigServer(path, "--server-name", "from-the-flag", "--max-body-bytes", "100") as s:
            r = get(s, "/")
            eq(r.header("server"), "from-the-flag", "Server with --server-name")
            body = b"x" * 50
            r = one(s, build_request("POST", "/", [("Content-Type", "message/teapot")], body),
                    "POST")
            check(r.status != 413, f"50 bytes under --max-body-bytes 100 got {r.status}")
            # a location's own limit stays
            r = one(s, build_request("POST", "/small", [("Content-Type", "message/teapot")],
                                     b"x" * 6), "POST")
            check_status(r, 413, "the location's own max-body-bytes")
    finally:
        remove_tree(d)


def test_site_flags_cannot_be_combined_with_a_file():
    d, path = config_dir("locations:\n  /: {return: 204}\n")
    try:
        for args, want in ((["--listing"], "nxx: --listing cannot be combined with --config "
                                           "(the file describes the site)"),
                           (["--api", "/api"], "nxx: --api cannot be combined with --config (the "
                                               "file describes the site)"),
                           ([d], f"nxx: unexpected argument '{d}' (with --config, the file names "
                                 "what is served)")):
            p = run_cmd([NXX_BIN, "serve", "--config", path] + args)
            eq(p.returncode, 2, f"exit status for {args}")
            eq(p.stderr.decode().strip(), want, f"message for {args}")
    finally:
        remove_tree(d)


def test_file_listeners_and_ipv6():
    from harness import have_ipv6_loopback
    listen = '["127.0.0.1:0", "[::1]:0"]' if have_ipv6_loopback() else '"127.0.0.1:0"'
    n = 2 if have_ipv6_loopback() else 1
    d, path = config_dir(f"listen: {listen}\nlocations:\n  /: {{return: 204}}\n")
    try:
        with ConfigServer(path, listen=None, listeners=n) as s:
            eq(len(s.addrs), n, "listeners")
            for addr in s.targets:
                r = get(addr, "/")
                check_status(r, 204, f"GET / on {addr}")
    finally:
        remove_tree(d)


def test_help_names_config_check_and_every_file_key():
    p = run_cmd([NXX_BIN, "--help"])
    text = " ".join(p.stdout.decode().split())  # lines are wrapped anywhere between words
    for word in ("--config FILE", "nxx check FILE", "SIGHUP", "SIGUSR1", "hosts:", "locations:",
                 "redirect{to status}", "maintenance{file retry-after page exempt}"):
        check(word in text, f"--help lacks {word!r}")
