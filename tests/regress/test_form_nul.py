"""Regression (found by fuzz_rest): an HTML form value with a NUL byte was
stored, although a JSON body cannot carry one, and the item then failed to
parse on a later PATCH (500).  Such a form is now refused with 400."""


from harness import (Conn, Server, assert_alive, check_status, make_docroot,
                     parse_responses, shared, timeout, temp_dir)


def srv():
    def make():
        root = make_docroot()
        data = temp_dir("nxx-formnul-")
        return Server(root, "--api", "/api", "--data", data)
    return shared("nxx serve --api (form NUL)", make)


def _post(body, ctype):
    with Conn(srv(), 6) as c:
        c.send(b"POST /api/people HTTP/1.1\r\nHost: x\r\nContent-Type: " + ctype +
               b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" +
               body)
        c.wait_eof(4.0)
        resps, _ = parse_responses(bytes(c.buf), eof=True)
        return resps[0] if resps else None


@timeout(15)
def test_urlencoded_value_with_nul_is_400():
    r = _post(b"name=x%00y", b"application/x-www-form-urlencoded")
    check_status(r, 400, "form value with %00")
    r = _post(b"name=plain", b"application/x-www-form-urlencoded")
    check_status(r, 205, "the same form without the NUL")
    assert_alive(srv())


@timeout(15)
def test_multipart_value_with_nul_is_400():
    body = (b"--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\x00y\r\n--B--\r\n")
    r = _post(body, b"multipart/form-data; boundary=B")
    check_status(r, 400, "multipart value with a NUL byte")
    assert_alive(srv())
