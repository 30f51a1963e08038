"""Regression: a UNIX socket under the document root was answered 500, because
open() refuses a socket with ENXIO before the file handler can see what it is;
it now gets 403, like devices and FIFOs, which are never served."""

import os
import socket

from harness import Server, assert_alive, check_status, get, make_docroot, remove_tree


def test_socket_and_fifo_in_root_are_403():
    root = make_docroot()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(os.path.join(root, "app.sock"))
        os.mkfifo(os.path.join(root, "pipe"))
        with Server(root) as s:
            for target in ("/app.sock", "/pipe"):
                check_status(get(s, target), 403, f"GET {target}")
            assert_alive(s, "after the socket and the FIFO")
    finally:
        listener.close()
        remove_tree(root)
