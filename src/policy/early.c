/*
 * early.c - 425 Too Early (RFC 8470): requests that may have been sent in
 * TLS 1.3 early data can be replayed by an attacker who captured them, so
 * a request that must not run twice is refused until the handshake is
 * complete, and the client (or the proxy) sends it again then.
 *
 * A request counts as early when the TLS transport says it arrived as
 * 0-RTT data (nxx_req_early_data), or when a trusted front proxy marks it
 * `Early-Data: 1` (RFC 8470 §5.1).  From any other peer the field is
 * ignored: only the party that terminated TLS knows.  RFC 8470 §5.2: 425
 * is never sent for a request that was not early.
 */
#include <string.h>

#include "core/alloc.h"
#include "http/request.h"
#include "http/site.h"
#include "policy/client.h"
#include "core/banned.h"

struct early {
    int reject_all;
    struct nxx_cidrs trusted;
};

/* RFC 9110 §9.2.1 */
static int safe_method(nxx_str m)
{
    return (m.len == 3 && memcmp(m.ptr, "GET", 3) == 0) ||
           (m.len == 4 && memcmp(m.ptr, "HEAD", 4) == 0) ||
           (m.len == 7 && memcmp(m.ptr, "OPTIONS", 7) == 0) ||
           (m.len == 5 && memcmp(m.ptr, "TRACE", 5) == 0);
}

static int is_early(const nxx_req *req, const struct early *e)
{
    if (nxx_req_early_data(req))
        return 1;
    nxx_str v = nxx_req_header(req, "early-data");
    /* RFC 8470 §5.1: the only value is "1" */
    return v.len == 1 && v.ptr[0] == '1' && nxx_cidrs_has(&e->trusted, nxx_req_peer_addr(req));
}

static int early_policy(nxx_req *req, void *ud)
{
    const struct early *e = ud;
    if (!is_early(req, e))
        return 0;
    nxx_str m = nxx_req_method(req);
    if (!e->reject_all && safe_method(m))
        return 0;
    nxx_req_notes(req)->decided = "early-data";
    if (e->reject_all)
        nxx_req_detail(req,
                       "'%s' is not served from TLS early data, which could be replayed; "
                       "send the request again after the handshake",
                       nxx_req_path(req).ptr);
    else
        nxx_req_detail(req,
                       "%.*s is not safe to take from TLS early data, which could be "
                       "replayed; send it again after the handshake",
                       (int)m.len, m.ptr);
    return 425;
}

static void early_free(void *arg)
{
    struct early *e = arg;
    nxx_cidrs_release(&e->trusted);
    nxx_free(e);
}

int nxx_scope_early_data(nxx_scope *scope, int reject_all, const char *const *trusted_proxies,
                         size_t ntrusted)
{
    if (!scope)
        return NXX_EINVAL;
    struct early *e = nxx_calloc(1, sizeof(*e));
    if (!e)
        return NXX_ENOMEM;
    e->reject_all = reject_all;
    int err = nxx_cidrs_init(&e->trusted, trusted_proxies, ntrusted, NULL);
    if (err > 0 || err == -1)
        err = NXX_EINVAL;
    if (!err)
        err = nxx_scope_on_free(scope, early_free, e);
    if (err) {
        early_free(e);
        return err;
    }
    return nxx_scope_policy(scope, NXX_PHASE_HEAD, early_policy, e);
}
