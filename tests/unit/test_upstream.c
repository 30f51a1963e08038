/*
 * test_upstream.c - the proxy's upstream response head parser: a table of
 * heads, each parsed whole and fed one byte more at a time (every prefix
 * of a complete head needs more; an invalid one fails at the same point
 * whatever follows), with the framing each one announces.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "handlers/proxy/response.h"

struct ucase {
    const char *name;
    const char *in;
    int ok; /* 1: complete, 0: invalid */
    int status;
    unsigned flags;
    unsigned long long length;
    size_t nfields;
};

static const struct ucase cases[] = {
    { "plain", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 1, 200, NXX_UH_HAS_CL, 5, 1 },
    { "no reason", "HTTP/1.1 204\r\n\r\n", 1, 204, 0, 0, 0 },
    { "empty reason", "HTTP/1.1 404 \r\n\r\n", 1, 404, 0, 0, 0 },
    { "chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", 1, 200,
      NXX_UH_CHUNKED, 0, 1 },
    { "te not chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 1, 200,
      NXX_UH_TE_OTHER, 0, 1 },
    { "close", "HTTP/1.1 200 OK\r\nConnection: Upgrade, close\r\n\r\n", 1, 200,
      NXX_UH_CLOSE | NXX_UH_UPGRADE, 0, 1 },
    { "1.0 closes", "HTTP/1.0 200 OK\r\n\r\n", 1, 200, NXX_UH_CLOSE, 0, 0 },
    { "1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", 1, 200,
      NXX_UH_KEEPALIVE, 0, 1 },
    { "same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n", 1,
      200, NXX_UH_HAS_CL, 7, 2 },
    { "interim", "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n", 1, 103, 0, 0, 1 },
    { "value trimmed", "HTTP/1.1 200 OK\r\nX-A:   b  \r\n\r\n", 1, 200, 0, 0, 1 },
    { "nginx head",
      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 03 Dec 2026 15:00:00 GMT\r\n"
      "Content-Type: text/html\r\nContent-Length: 647\r\n"
      "Last-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\nConnection: keep-alive\r\n"
      "ETag: \"6553f100-287\"\r\nAccept-Ranges: bytes\r\n\r\n",
      1, 200, NXX_UH_HAS_CL | NXX_UH_KEEPALIVE, 647, 8 },
    { "long name with digits", "HTTP/1.1 200 OK\r\nX-Very-Long-Field-Name-2: v\tw\r\n\r\n", 1, 200,
      0, 0, 1 },
    { "connection names a field", "HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n\r\n",
      1, 200, NXX_UH_CLOSE | NXX_UH_CONN_OTHER, 0, 2 },
    { "ctl far in value",
      "HTTP/1.1 200 OK\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x7f"
      "b\r\n\r\n",
      0, 0, 0, 0, 0 },
    { "bare lf far in value", "HTTP/1.1 200 OK\r\nX: aaaaaaaaaaaaaaaaaaaaaaaa\nb\r\n\r\n", 0, 0, 0,
      0, 0 },
    { "bare lf ends a field", "HTTP/1.1 200 OK\r\nX: a\n\r\n", 0, 0, 0, 0, 0 },
    { "no colon", "HTTP/1.1 200 OK\r\nNoColonHereAtAllReally\r\n\r\n", 0, 0, 0, 0, 0 },
    { "two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n", 0, 0, 0,
      0, 0 },
    { "length and te", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n",
      0, 0, 0, 0, 0 },
    { "length not digits", "HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n", 0, 0, 0, 0, 0 },
    { "http 2", "HTTP/2.0 200 OK\r\n\r\n", 0, 0, 0, 0, 0 },
    { "not http", "SSH-2.0-OpenSSH\r\n\r\n", 0, 0, 0, 0, 0 },
    { "short status", "HTTP/1.1 20 OK\r\n\r\n", 0, 0, 0, 0, 0 },
    { "status 099", "HTTP/1.1 099 Low\r\n\r\n", 0, 0, 0, 0, 0 },
    { "status letters", "HTTP/1.1 2OO OK\r\n\r\n", 0, 0, 0, 0, 0 },
    { "bare lf", "HTTP/1.1 200 OK\nX: y\r\n\r\n", 0, 0, 0, 0, 0 },
    { "bare cr in value", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", 0, 0, 0, 0, 0 },
    { "space in name", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", 0, 0, 0, 0, 0 },
    { "space before colon", "HTTP/1.1 200 OK\r\nX : x\r\n\r\n", 0, 0, 0, 0, 0 },
    { "obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", 0, 0, 0, 0, 0 },
    { "ctl in value", "HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n", 0, 0, 0, 0, 0 },
    { "ctl in reason", "HTTP/1.1 200 O\x02K\r\n\r\n", 0, 0, 0, 0, 0 },
};

static int run(const char *buf, size_t n, struct nxx_upstream_head *h)
{
    const char *detail = NULL;
    return nxx_upstream_parse(buf, n, h, 8, 4096, &detail);
}

TEST(table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ucase *c = &cases[i];
        size_t n = strlen(c->in);
        struct nxx_header hs[8];
        struct nxx_upstream_head h = { .headers = hs };
        int r = run(c->in, n, &h);
        if (c->ok) {
            if (r != (int)n || h.status != c->status || h.flags != c->flags ||
                h.num_headers != c->nfields ||
                ((c->flags & NXX_UH_HAS_CL) && h.content_length != c->length)) {
                fprintf(stderr, "case '%s': r=%d status=%d flags=%#x\n", c->name, r, h.status,
                        h.flags);
                CHECK(0);
            }
        } else if (r != NXX_PARSE_ERROR) {
            fprintf(stderr, "case '%s': expected an error, got %d\n", c->name, r);
            CHECK(0);
        }
        /* every prefix: a complete head's need more; an invalid one's never succeed */
        for (size_t k = 0; k < n; k++) {
            char *p = malloc(k ? k : 1);
            memcpy(p, c->in, k);
            struct nxx_upstream_head h2 = { .headers = hs };
            int r2 = run(p, k, &h2);
            free(p);
            if (c->ok ? r2 != NXX_PARSE_INCOMPLETE : r2 > 0) {
                fprintf(stderr, "case '%s': prefix %zu gave %d\n", c->name, k, r2);
                CHECK(0);
            }
        }
    }
}

TEST(limits)
{
    struct nxx_header hs[2];
    struct nxx_upstream_head h = { .headers = hs };
    const char *detail = NULL;
    const char *three = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    CHECK_EQ_INT(nxx_upstream_parse(three, strlen(three), &h, 2, 4096, &detail), NXX_PARSE_ERROR);
    const char *big = "HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    CHECK_EQ_INT(nxx_upstream_parse(big, strlen(big), &h, 2, 32, &detail), NXX_PARSE_ERROR);
    CHECK_EQ_INT(nxx_upstream_parse(big, 20, &h, 2, 32, &detail), NXX_PARSE_INCOMPLETE);
}

TEST(body_rules)
{
    struct nxx_upstream_head h = { .status = 200 };
    CHECK(nxx_upstream_has_body(&h, 0));
    CHECK(!nxx_upstream_has_body(&h, 1));
    h.status = 204;
    CHECK(!nxx_upstream_has_body(&h, 0));
    h.status = 304;
    CHECK(!nxx_upstream_has_body(&h, 0));
    h.status = 101;
    CHECK(!nxx_upstream_has_body(&h, 0));
}
