"""Expect: 100-continue on the REST store of nxx serve: a write whose head passes
gets 100 Continue before its content is read; one that will fail gets its final
status instead (RFC 9110 §10.1.1), and never to HTTP/1.0."""


from harness import (Conn, Server, build_request, check, check_status, eq, make_docroot,
                     shared, temp_dir)


def srv():
    def make():
        root, data = make_docroot(), temp_dir("nxx-it-data-")
        return Server(root, "--api", "/api", "--data", data, "--max-body-bytes", "64K")
    return shared("nxx serve --api /api (100-continue)", make)


def _head(method, path, body, ctype="application/json", version="HTTP/1.1", length=None):
    return build_request(method, path, [("Content-Type", ctype),
                                        ("Content-Length", str(length or len(body))),
                                        ("Expect", "100-continue")], version=version)


def test_write_gets_100_before_its_content():
    body = b'{"id":"c1","name":"Ada"}'
    with Conn(srv()) as c:
        c.send(_head("POST", "/api/people", body))
        first = c.read_response("POST", interim=False)
        check_status(first, 100, "interim response before the content")
        eq(first.reason, "Continue", "100 reason")
        c.send(body)
        r = c.read_response("POST")
        check_status(r, 201, "the write, once its content arrived")
        eq(r.header("location"), "/api/people/c1", "Location of the created item")


def test_write_that_will_fail_gets_its_status_instead():
    for head, status, what in (
            (_head("POST", "/api/people", b"name=Ada", ctype="text/plain"), 415,
             "a content type the store does not take"),
            (_head("POST", "/api/people", b"", length=100000), 413, "content over the limit"),
            (_head("PUT", "/api/people", b"{}"), 405, "PUT to a collection")):
        with Conn(srv()) as c:
            c.send(head)
            r = c.read_response(timeout_s=5, interim=False)
            check_status(r, status, what)


def test_no_100_to_http10():
    body = b'{"id":"c2"}'
    with Conn(srv()) as c:
        c.send(_head("POST", "/api/people", body, version="HTTP/1.0") + body)
        r = c.read_response("POST")
        check_status(r, 201, "the HTTP/1.0 write")
        eq([i.status for i in r.interim], [], "interim responses to HTTP/1.0")
