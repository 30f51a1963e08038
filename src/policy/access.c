/*
 * access.c - head-phase policies that refuse a whole scope for a reason of
 * its own, before any content is read:
 *
 *   gone            410 Gone: the resource was removed on purpose and will
 *                   not return (RFC 9110 §15.5.11);
 *   legal-block     451 Unavailable For Legal Reasons, with Link: <...>;
 *                   rel="blocked-by" naming who asked (RFC 7725 §3);
 *   require-length  411 Length Required for content sent without a
 *                   Content-Length (RFC 9110 §15.5.12): uploads that must
 *                   know their size before the first byte;
 *   max-inflight    503 with Retry-After when the scope already has its
 *                   limit of requests in flight, counted across workers.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "http/request.h"
#include "http/site.h"
#include "core/banned.h"

/* ---- 410 ---- */

static int gone_policy(nxx_req *req, void *ud)
{
    (void)ud;
    nxx_req_detail(req, "'%s' has been removed and will not be available again",
                   nxx_req_path(req).ptr);
    nxx_req_notes(req)->decided = "gone";
    return 410;
}

int nxx_scope_gone(nxx_scope *scope)
{
    return scope ? nxx_scope_policy(scope, NXX_PHASE_HEAD, gone_policy, NULL) : NXX_EINVAL;
}

/* ---- 451 ---- */

struct block {
    char *link;   /* "<https://authority.example/>; rel=\"blocked-by\"", or NULL */
    char *detail; /* or NULL */
};

static int block_policy(nxx_req *req, void *ud)
{
    const struct block *b = ud;
    if (b->link)
        nxx_resp_header(req, "Link", (nxx_str){ b->link, strlen(b->link) });
    if (b->detail)
        nxx_req_detail(req, "%s", b->detail);
    else
        nxx_req_detail(req, "access to '%s' is blocked for legal reasons", nxx_req_path(req).ptr);
    nxx_req_notes(req)->decided = "legal-block";
    return 451;
}

static void block_free(void *arg)
{
    struct block *b = arg;
    nxx_free(b->link);
    nxx_free(b->detail);
    nxx_free(b);
}

static int text_ok(const char *s, const char *forbidden)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || strchr(forbidden, *p))
            return 0;
    return 1;
}

int nxx_scope_legal_block(nxx_scope *scope, const char *by, const char *detail)
{
    if (!scope || (by && (!*by || !text_ok(by, " <>\""))) || (detail && !text_ok(detail, "")))
        return NXX_EINVAL;
    struct block *b = nxx_calloc(1, sizeof(*b));
    if (!b)
        return NXX_ENOMEM;
    int err = 0;
    if (by) {
        size_t n = strlen(by) + 32;
        b->link = nxx_malloc(n);
        if (b->link)
            snprintf(b->link, n, "<%s>; rel=\"blocked-by\"", by);
        else
            err = NXX_ENOMEM;
    }
    if (!err && detail && !(b->detail = nxx_strdup(detail)))
        err = NXX_ENOMEM;
    if (!err)
        err = nxx_scope_on_free(scope, block_free, b);
    if (err) {
        block_free(b);
        return err;
    }
    return nxx_scope_policy(scope, NXX_PHASE_HEAD, block_policy, b);
}

/* ---- 411 ---- */

static int length_policy(nxx_req *req, void *ud)
{
    (void)ud;
    if (!(req->h.flags & NXX_HF_CHUNKED))
        return 0;
    nxx_req_detail(req, "content here must be sent with a Content-Length, not chunked");
    nxx_req_notes(req)->decided = "require-length";
    return 411;
}

int nxx_scope_require_length(nxx_scope *scope)
{
    return scope ? nxx_scope_policy(scope, NXX_PHASE_HEAD, length_policy, NULL) : NXX_EINVAL;
}

/* ---- 503: requests in flight ---- */

struct inflight {
    atomic_uint n;
    unsigned limit;
    char retry[12];
};

static void inflight_done(void *arg)
{
    struct inflight *f = arg;
    atomic_fetch_sub_explicit(&f->n, 1, memory_order_relaxed);
}

static int inflight_policy(nxx_req *req, void *ud)
{
    struct inflight *f = ud;
    unsigned before = atomic_fetch_add_explicit(&f->n, 1, memory_order_relaxed);
    if (before >= f->limit || nxx_req_on_done(req, inflight_done, f) != 0) {
        atomic_fetch_sub_explicit(&f->n, 1, memory_order_relaxed);
        nxx_resp_header(req, "Retry-After", (nxx_str){ f->retry, strlen(f->retry) });
        nxx_req_detail(req,
                       "this resource is serving its limit of %u requests at once; try "
                       "again shortly",
                       f->limit);
        nxx_req_notes(req)->decided = "max-inflight";
        return 503;
    }
    return 0;
}

int nxx_scope_max_inflight(nxx_scope *scope, unsigned limit, unsigned retry_after_s)
{
    if (!scope || !limit)
        return NXX_EINVAL;
    struct inflight *f = nxx_calloc(1, sizeof(*f));
    if (!f)
        return NXX_ENOMEM;
    atomic_init(&f->n, 0);
    f->limit = limit;
    snprintf(f->retry, sizeof(f->retry), "%u", retry_after_s ? retry_after_s : 1);
    int err = nxx_scope_on_free(scope, nxx_free, f);
    if (err) {
        nxx_free(f);
        return err;
    }
    return nxx_scope_policy(scope, NXX_PHASE_HEAD, inflight_policy, f);
}
