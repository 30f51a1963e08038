/*
 * clientcert.c - the head-phase policy of locations that require a client
 * certificate (mutual TLS): a request whose connection presented none that
 * the handshake verified gets 403 with a problem body.
 *
 * Why 403 and not 401: 401 promises a WWW-Authenticate challenge with an
 * HTTP authentication scheme (RFC 9110 §11.6.1, §15.5.2), and a TLS client
 * certificate is none; the server understood the request and refuses to
 * fulfil it without the credentials it requires (§15.5.4).  A client that
 * has a certificate presents it in a new handshake (TLS 1.3 has no
 * renegotiation; nxx does not ask after the handshake).
 */
#include "nxx.h"

#include "core/banned.h"

static int clientcert_policy(nxx_req *req, void *ud)
{
    (void)ud;
    if (nxx_req_client_cert(req, NULL, 0))
        return 0;
    nxx_req_detail(req,
                   nxx_req_tls(req)
                       ? "'%s' requires a TLS client certificate; this connection presented "
                         "none the server could verify"
                       : "'%s' requires a TLS client certificate: use https",
                   nxx_req_path(req).ptr);
    return 403;
}

int nxx_scope_require_client_cert(nxx_scope *scope)
{
    return scope ? nxx_scope_policy(scope, NXX_PHASE_HEAD, clientcert_policy, NULL) : NXX_EINVAL;
}
