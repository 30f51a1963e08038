"""Real WebDAV clients against `nxx serve DIR --dav`: rclone (its webdav
backend) syncs a tree of 1,000 files up and back, and the copy back is
identical; cadaver, scripted, creates, uploads, copies, moves, sets and
reads a property, locks, unlocks, downloads and deletes."""

import filecmp
import os
import pty
import random
import re
import select
import shutil
import subprocess
import tempfile
import time

from harness import Server, check, eq, remove_tree, skip, timeout, tls_files


def _tree(base, n):
    rnd = random.Random(12)
    for i in range(n):
        d = os.path.join(base, f"d{i % 20}", f"s{i % 3}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i}.bin"), "wb") as f:
            f.write(rnd.randbytes(i % 700 + 1))


def _same(a, b):
    cmp = filecmp.dircmp(a, b)
    stack = [cmp]
    while stack:
        c = stack.pop()
        if c.left_only or c.right_only or c.diff_files or c.funny_files:
            return f"{c.left}: only {c.left_only} / {c.right_only}, differ {c.diff_files}"
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        if mismatch or errors:
            return f"{c.left}: content differs {mismatch} {errors}"
        stack += c.subdirs.values()
    return None


@timeout(170)
def test_rclone_sync_of_1000_files_up_and_back():
    rclone = shutil.which("rclone")
    if not rclone:
        skip("rclone is not installed (tools/install-deps installs it)")
    work = tempfile.mkdtemp(prefix="nxx-it-rclone-")
    try:
        src, back, root = (os.path.join(work, n) for n in ("src", "back", "root"))
        for d in (back, root):
            os.makedirs(d)
        _tree(src, 1000)
        env = dict(os.environ, RCLONE_CONFIG=os.path.join(work, "rclone.conf"))
        with Server(root, "--dav") as srv:
            remote = f":webdav,url='{srv.url}/':up"
            ca = ["--ca-cert", tls_files()[0]] if srv.tls else []
            for args in ([src, remote], [remote, back]):
                r = subprocess.run([rclone, "sync", *args, *ca, "--transfers", "8", "--checkers", "8",
                                    "--retries", "1", "--low-level-retries", "1"], env=env,
                                   capture_output=True, timeout=150, stdin=subprocess.DEVNULL)
                check(r.returncode == 0, f"rclone sync {args}: {r.stderr.decode()[-2000:]}")
        eq(_same(src, os.path.join(root, "up")), None, "the tree on the server")
        eq(_same(src, back), None, "the tree synced back")
        eq(sum(len(f) for _, _, f in os.walk(back)), 1000, "files back")
    finally:
        remove_tree(work)


def _cadaver_accepting_the_certificate(argv, cwd, script, timeout_s=50):
    """cadaver over TLS: neon (GnuTLS) cannot be given a CA, and asks on a
    terminal whether to accept a certificate it does not know (without one
    it refuses).  Run it on a pseudo-terminal, answer yes, then the script;
    returns what it printed."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd)
    os.close(slave)
    out, answered = b"", False
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: cadaver has exited
                    break
                if not data:
                    break
                out += data
            if not answered and b"accept the certificate?" in out:
                os.write(master, b"y\n" + script.encode())
                answered = True
        check(answered, f"cadaver did not ask about the certificate: {out[-2000:]!r}")
        p.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    # the terminal's own escapes (bracketed paste) are not cadaver's output
    return re.sub(r"\x1b\[\?2004[hl]", "", out.decode("utf-8", "replace"))


@timeout(60)
def test_cadaver_script():
    cadaver = shutil.which("cadaver")
    if not cadaver:
        skip("cadaver is not installed (tools/install-deps installs it)")
    work = tempfile.mkdtemp(prefix="nxx-it-cadaver-")
    try:
        root = os.path.join(work, "root")
        os.makedirs(root)
        with open(os.path.join(work, "local.txt"), "wb") as f:
            f.write(b"hello cadaver\n")
        script = ("mkcol col\nput local.txt col/remote.txt\ncopy col/remote.txt col/copy.txt\n"
                  "move col/copy.txt col/moved.txt\npropset col/moved.txt color red\n"
                  "propget col/moved.txt color\nlock col/remote.txt\nunlock col/remote.txt\n"
                  "get col/moved.txt fetched.txt\ndelete col/remote.txt\nls col\nquit\n")
        with Server(root, "--dav") as srv:
            if srv.tls:
                out = _cadaver_accepting_the_certificate([cadaver, f"{srv.url}/"], work, script)
            else:
                r = subprocess.run([cadaver, f"{srv.url}/"], cwd=work, input=script.encode(),
                                   capture_output=True, timeout=50)
                out = r.stdout.decode("utf-8", "replace")
        for step in ("Creating `col': succeeded", "Uploading local.txt", "Copying", "Moving",
                     "Setting property", "Value of color is: red", "Locking", "Unlocking",
                     "Downloading", "Deleting"):
            check(step in out, f"cadaver did not report {step!r}:\n{out[-3000:]}")
        check("failed" not in out.lower(), f"a cadaver step failed:\n{out[-3000:]}")
        with open(os.path.join(work, "fetched.txt"), "rb") as f:
            eq(f.read(), b"hello cadaver\n", "the file downloaded")
        eq(sorted(os.listdir(os.path.join(root, "col"))), ["moved.txt"], "what is left")
    finally:
        remove_tree(work)
