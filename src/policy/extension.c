/*
 * extension.c - mandatory HTTP extensions (RFC 2774): a location that
 * requires an extension takes a request only when the client declares it
 * mandatory (an "M-" method with Man or C-Man naming the extension's URI);
 * anything else gets 510 Not Extended (§7) with a problem body that names
 * the extension and shows the declaration to send.  A fulfilled request's
 * response carries Ext (§5.1), kept out of shared caches with
 * Cache-Control: no-cache="Ext".
 *
 * RFC 2774 is Historic; this exists so 510 has a real mechanism and for
 * clients that test extension frameworks.
 */
#include "policy/extension.h"

#include <string.h>

#include "core/alloc.h"
#include "http/request.h"
#include "http/site.h"
#include "core/banned.h"

#define MAX_DECLS 16

int nxx_ext_decl_next(struct nxx_field_iter *it, nxx_str *uri, int *ns)
{
    if (!nxx_field_list_elem(it))
        return 0;
    nxx_str q;
    if (nxx_field_quoted(it, &q) != 0 || q.len < 3 || memchr(q.ptr, '\\', q.len))
        return -1;
    *uri = (nxx_str){ q.ptr + 1, q.len - 2 };
    for (size_t i = 0; i < uri->len; i++)
        if ((unsigned char)uri->ptr[i] <= 0x20 || (unsigned char)uri->ptr[i] >= 0x7f)
            return -1; /* a URI is ASCII without spaces (RFC 3986) */
    *ns = -1;
    nxx_str name, value;
    int r;
    while ((r = nxx_field_param_next(it, NXX_FIELD_BWS, &name, &value)) == 1) {
        if (name.len != 2 || strncasecmp(name.ptr, "ns", 2) != 0 || *ns >= 0)
            return -1;
        if (value.len < 2 || value.len > 4)
            return -1;
        int n = 0;
        for (size_t i = 0; i < value.len; i++) {
            if (value.ptr[i] < '0' || value.ptr[i] > '9')
                return -1;
            n = n * 10 + (value.ptr[i] - '0');
        }
        *ns = n;
    }
    return r < 0 ? -1 : 1;
}

struct required {
    char *uri;
};

/* Read the declarations of field into uris; -1 on a malformed one. */
static int collect(const nxx_req *req, const char *field, nxx_str *uris, size_t *n)
{
    nxx_str v = nxx_req_header(req, field);
    struct nxx_field_iter it;
    nxx_field_iter_init(&it, v);
    nxx_str uri;
    int ns, r;
    while ((r = nxx_ext_decl_next(&it, &uri, &ns)) == 1) {
        if (*n == MAX_DECLS)
            return -1;
        uris[(*n)++] = uri;
    }
    return r;
}

static int ext_policy(nxx_req *req, void *ud)
{
    const struct required *x = ud;
    nxx_str uris[MAX_DECLS];
    size_t n = 0;
    if (collect(req, "man", uris, &n) < 0 || collect(req, "c-man", uris, &n) < 0) {
        nxx_req_notes(req)->decided = "require-extension";
        nxx_req_detail(req,
                       "a Man or C-Man field is not a list of \"URI\"; ns=NN declarations "
                       "(RFC 2774 §3), or has more than %d",
                       MAX_DECLS);
        return 400;
    }
    size_t want = strlen(x->uri);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (uris[i].len == want && memcmp(uris[i].ptr, x->uri, want) == 0) {
            found = 1;
        } else if (req->mandatory) {
            nxx_req_notes(req)->decided = "require-extension";
            nxx_req_detail(req,
                           "the mandatory extension '%.*s' is not supported here; this "
                           "resource understands only '%s'",
                           (int)uris[i].len, uris[i].ptr, x->uri);
            return 510;
        }
    }
    if (!found || !req->mandatory) {
        nxx_str m = nxx_req_method(req);
        nxx_req_notes(req)->decided = "require-extension";
        nxx_req_detail(req,
                       "'%s' requires the extension '%s': send the request as M-%.*s with "
                       "Man: \"%s\"; ns=NN (RFC 2774)",
                       nxx_req_path(req).ptr, x->uri, (int)m.len, m.ptr, x->uri);
        return 510;
    }
    req->extended = 1;
    NXX_RESP_HEADER(req, "Ext", NXX_STR(""));
    NXX_RESP_HEADER(req, "Cache-Control", NXX_STR("no-cache=\"Ext\""));
    return 0;
}

static void ext_free(void *arg)
{
    struct required *x = arg;
    nxx_free(x->uri);
    nxx_free(x);
}

int nxx_scope_require_extension(nxx_scope *scope, const char *uri)
{
    if (!scope || !uri || !*uri || strchr(uri, '"') || strchr(uri, '\\'))
        return NXX_EINVAL;
    for (const char *p = uri; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return NXX_EINVAL;
    struct required *x = nxx_calloc(1, sizeof(*x));
    if (!x || !(x->uri = nxx_strdup(uri))) {
        nxx_free(x);
        return NXX_ENOMEM;
    }
    int e = nxx_scope_on_free(scope, ext_free, x);
    if (e) {
        ext_free(x);
        return e;
    }
    return nxx_scope_policy(scope, NXX_PHASE_HEAD, ext_policy, x);
}
