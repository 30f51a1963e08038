"""Regression: when wrk ends a run of TLS requests with Connection: close,
the clients still waiting send their close_notify and close; a worker then
wrote a response for ever.  OpenSSL had read the close_notify with the
request (read-ahead); the response's write failed with EPIPE and
SSL_get_error called that ZERO_RETURN, which the transport returned as "0
bytes written", so HTTP/1 retried the same write at 100 % CPU and the
worker served nobody again.  Now a write that fails after the peer's
close_notify is a closed connection.  One worker, so a stuck worker shows
as the next request getting no answer.  (Seen with two runs of wrk -c64;
a scripted client did not hit the window.)"""

import shutil
import subprocess

from harness import Server, curl, eq, make_docroot, skip, timeout, tls_files

SERIAL = True  # wrk loads both cores for a few seconds


@timeout(90)
def test_worker_answers_after_wrk_runs_end_on_close_notify():
    if not shutil.which("wrk"):
        skip("wrk is not installed")
    crt, key = tls_files()
    with Server(make_docroot(), "--tls-cert", crt, "--tls-key", key, "--access-log", "off",
                threads=1) as srv:
        url = f"https://127.0.0.1:{srv.port}/index.html"
        for run in range(3):
            subprocess.run(["wrk", "-t2", "-c64", "-d2s", "-H", "Connection: close", url],
                           capture_output=True, timeout=30)
            code, _, _, _ = curl(["--cacert", crt, "--max-time", "5", url], timeout_s=10)
            eq(code, 200, f"an answer from the one worker after wrk run {run + 1}")
