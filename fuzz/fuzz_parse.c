/*
 * fuzz_parse.c - libFuzzer target for the request head parser.
 *
 * Beyond "does not crash or over-read", it checks the parser's contract on
 * every input, under the default limits and under tiny ones that make every
 * limit reachable: a complete head has only valid, trimmed fields pointing
 * into the buffer, its strict prefixes are incomplete, an error keeps its
 * status whatever bytes follow, the result never depends on where the
 * input was cut, and a path the parser calls plain is one the normaliser
 * would leave as it is.  Each check aborts, so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/parse.h"
#include "http/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 100

static const struct nxx_parse_limits limits[] = {
    { 32768, 8192, 8192, 100 },
    { 256, 64, 32, 4 },
};

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_parse: %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct result {
    int rc;
    int status;
    const char *detail;
    struct nxx_http_request req;
    struct nxx_header fields[MAX_FIELDS];
};

/* Parse a copy of in[0..n) in a buffer of exactly n bytes, so ASan sees any over-read. */
static void parse_copy(const char *in, size_t n, const struct nxx_parse_limits *lim,
                       struct result *r)
{
    char *buf = malloc(n ? n : 1);
    REQUIRE(buf != NULL);
    if (n)
        memcpy(buf, in, n);
    r->req.headers = r->fields;
    r->status = 0;
    r->detail = NULL;
    r->rc = nxx_parse_request(buf, n, &r->req, lim, &r->status, &r->detail);
    free(buf);
}

static int tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int within(nxx_str s, const char *buf, size_t len)
{
    return s.len == 0 || (s.ptr >= buf && s.len <= len && s.ptr + s.len <= buf + len);
}

static void check_complete(const char *buf, size_t len, const struct nxx_parse_limits *lim,
                           const struct nxx_http_request *req, int rc)
{
    REQUIRE((size_t)rc <= len && (size_t)rc <= lim->max_header_bytes);
    REQUIRE(req->num_headers <= lim->max_headers);
    REQUIRE(req->method.len > 0 && within(req->method, buf, (size_t)rc));
    for (size_t i = 0; i < req->method.len; i++)
        REQUIRE(tchar((unsigned char)req->method.ptr[i]));
    REQUIRE(nxx_method_id(req->method) == req->method_id);
    REQUIRE(req->target.len > 0 && req->target.len <= lim->max_uri_bytes);
    REQUIRE(within(req->target, buf, (size_t)rc));
    for (size_t i = 0; i < req->target.len; i++) {
        unsigned char c = (unsigned char)req->target.ptr[i];
        REQUIRE(c > 0x20 && c < 0x7f && c != '#');
    }
    REQUIRE(req->minor_version == 0 || req->minor_version == 1);
    REQUIRE(within(req->query, buf, (size_t)rc) && within(req->authority, buf, (size_t)rc));
    REQUIRE(req->form != NXX_TARGET_ABSOLUTE ? within(req->path, buf, (size_t)rc)
                                             : req->path.len > 0 && req->path.ptr[0] == '/');
    REQUIRE((req->form == NXX_TARGET_AUTHORITY) == (req->method_id == NXX_M_CONNECT));
    REQUIRE(req->form != NXX_TARGET_ASTERISK || req->method_id == NXX_M_OPTIONS);
    REQUIRE(req->form != NXX_TARGET_ORIGIN || req->path.ptr[0] == '/');
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct nxx_header *h = &req->headers[i];
        REQUIRE(h->name.len > 0 && within(h->name, buf, (size_t)rc));
        REQUIRE(within(h->value, buf, (size_t)rc));
        REQUIRE(h->name.len + 1 + h->value.len <= lim->max_field_bytes);
        for (size_t k = 0; k < h->name.len; k++)
            REQUIRE(tchar((unsigned char)h->name.ptr[k]));
        for (size_t k = 0; k < h->value.len; k++) {
            unsigned char c = (unsigned char)h->value.ptr[k];
            REQUIRE(c == '\t' || (c >= 0x20 && c != 0x7f));
        }
        if (h->value.len) {
            REQUIRE(h->value.ptr[0] != ' ' && h->value.ptr[0] != '\t');
            REQUIRE(h->value.ptr[h->value.len - 1] != ' ' &&
                    h->value.ptr[h->value.len - 1] != '\t');
        }
    }
    REQUIRE(!(req->flags & NXX_HF_HAS_TE) || !(req->flags & NXX_HF_HAS_CL));
    REQUIRE(!(req->flags & NXX_HF_HAS_TE) || (req->flags & NXX_HF_CHUNKED));
    REQUIRE(!(req->flags & NXX_HF_CHUNKED) || (req->flags & NXX_HF_HAS_TE));
    REQUIRE(!(req->flags & NXX_HF_HAS_TE) || req->minor_version == 1);
    REQUIRE(req->minor_version == 0 || req->host.ptr != NULL);
    REQUIRE(req->field_name == NULL);
    /* the engine copies a path the scan called plain instead of normalising
     * it: the normaliser must agree that nothing would change */
    if (req->path_plain) {
        REQUIRE(req->form == NXX_TARGET_ORIGIN);
        char *out = malloc(req->path.len + 1);
        REQUIRE(out != NULL);
        size_t out_len = 0;
        const char *detail = NULL;
        int plain = 0;
        int ps =
            nxx_path_normalize_ex(req->path.ptr, req->path.len, out, &out_len, &detail, &plain);
        REQUIRE(ps == 0 && plain == 1);
        REQUIRE(out_len == req->path.len && memcmp(out, req->path.ptr, out_len) == 0);
        REQUIRE(!nxx_path_has_dot_segment(req->path.ptr, req->path.len));
        free(out);
    }
}

static void check_error(const struct result *r)
{
    REQUIRE(r->status == 400 || r->status == 414 || r->status == 431 || r->status == 501 ||
            r->status == 505);
    REQUIRE(r->detail != NULL && r->detail[0] != '\0');
    for (const char *d = r->detail; *d; d++)
        REQUIRE(!(*d >= 'A' && *d <= 'Z'));
    if (r->req.field_name) {
        REQUIRE(r->status == 431);
        REQUIRE(r->req.field_name == r->req.field_name_buf);
        REQUIRE(memchr(r->req.field_name, '\0', sizeof(r->req.field_name_buf)) != NULL);
    }
}

static void run(const char *in, size_t size, const struct nxx_parse_limits *lim)
{
    static struct result r, r2;

    parse_copy(in, size, lim, &r);
    if (r.rc > 0) {
        char *buf = malloc((size_t)r.rc);
        REQUIRE(buf != NULL);
        memcpy(buf, in, (size_t)r.rc);
        /* the views must point into the buffer that was parsed */
        r.req.headers = r.fields;
        int rc = nxx_parse_request(buf, (size_t)r.rc, &r.req, lim, &r.status, &r.detail);
        REQUIRE(rc == r.rc);
        check_complete(buf, (size_t)rc, lim, &r.req, rc);
        free(buf);
        parse_copy(in, (size_t)r.rc - 1, lim, &r2);
        REQUIRE(r2.rc == NXX_PARSE_INCOMPLETE);
        parse_copy(in, (size_t)r.rc / 2, lim, &r2);
        REQUIRE(r2.rc == NXX_PARSE_INCOMPLETE);
    } else if (r.rc == NXX_PARSE_ERROR) {
        check_error(&r);
        /* monotonic: more bytes, even the end of a head, cannot change the verdict */
        char *more = malloc(size + 4);
        REQUIRE(more != NULL);
        memcpy(more, in, size);
        memcpy(more + size, "\r\n\r\n", 4);
        parse_copy(more, size + 4, lim, &r2);
        free(more);
        REQUIRE(r2.rc == NXX_PARSE_ERROR && r2.status == r.status);
        REQUIRE(strcmp(r2.detail, r.detail) == 0);
    } else {
        REQUIRE(r.rc == NXX_PARSE_INCOMPLETE);
        REQUIRE(size <= lim->max_header_bytes);
        if (size > 0) {
            parse_copy(in, size - 1, lim, &r2);
            REQUIRE(r2.rc == NXX_PARSE_INCOMPLETE);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
        run((const char *)data, size, &limits[i]);
    return 0;
}
