"""IPv6 listeners: --listen [::1]:0 serves; IPv4 and IPv6 listeners together."""

from harness import (A_TXT, Server, check, check_status, curl, eq, get, have_ipv6_loopback,
                     make_docroot, remove_tree, skip)


def _need_ipv6():
    if not have_ipv6_loopback():
        skip("::1 cannot be bound on this machine")


def test_ipv6_listener_serves():
    _need_ipv6()
    root = make_docroot()
    try:
        with Server(root, listen="[::1]:0") as s:
            eq(s.host, "::1", "listening line host")
            r = get(s, "/a.txt", [("Host", s.hostport)])
            check_status(r, 200)
            eq(r.body, A_TXT, "body over IPv6")
            code, body, _, _ = curl(["-g", f"{s.url}/a.txt"])
            eq(code, 200, "curl over IPv6")
            eq(body, A_TXT, "curl body over IPv6")
    finally:
        remove_tree(root)


def test_ipv4_and_ipv6_listeners_together():
    _need_ipv6()
    root = make_docroot()
    try:
        with Server(root, listen=["127.0.0.1:0", "[::1]:0"]) as s:
            hosts = sorted(h for h, _ in s.addrs)
            eq(hosts, ["127.0.0.1", "::1"], "listening lines")
            for addr in s.targets:
                r = get(addr, "/a.txt")
                check_status(r, 200, f"GET on {addr}")
                eq(r.body, A_TXT, f"body on {addr}")
    finally:
        remove_tree(root)


def test_two_ipv4_listeners():
    root = make_docroot()
    try:
        with Server(root, listen=["127.0.0.1:0", "127.0.0.1:0"]) as s:
            eq(len(s.addrs), 2, "listeners")
            check(s.addrs[0][1] != s.addrs[1][1], f"same port twice: {s.addrs!r}")
            for addr in s.targets:
                check_status(get(addr, "/a.txt"), 200, f"GET on {addr}")
    finally:
        remove_tree(root)
