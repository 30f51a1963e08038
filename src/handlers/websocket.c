/*
 * websocket.c - WebSocket locations: the handler that answers the opening
 * handshake (101, or 400/426 with the fields RFC 6455 asks for) and hands
 * the connection to the WebSocket state machine (src/ws), with an echo,
 * publish/subscribe channels, or an embedder's callbacks behind it.
 *
 * The location's description (settings, subprotocols, callbacks, the
 * channel hub) is built once and freed with the configuration generation;
 * a connection that outlives a reload keeps its generation, and so its
 * description, until it closes.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "http/request.h"
#include "http/site.h"
#include "ws/ws.h"
#include "core/banned.h"

struct ws_location {
    struct nxx_ws_loc loc;
    char **protocols;
    char **origins;
};

static void location_free(void *p)
{
    struct ws_location *l = p;
    for (size_t i = 0; i < l->loc.cfg.nprotocols; i++)
        nxx_free(l->protocols[i]);
    nxx_free(l->protocols);
    for (size_t i = 0; i < l->loc.cfg.norigins; i++)
        nxx_free(l->origins[i]);
    nxx_free(l->origins);
    if (l->loc.hub)
        nxx_ws_hub_free(l->loc.hub);
    nxx_free(l);
}

static int ws_handle(nxx_req *req, void *ud)
{
    const struct ws_location *l = ud;
    return nxx_ws_handshake(req, &l->loc);
}

/* A subprotocol name is a token (RFC 6455 §4.1, RFC 9110 §5.6.2). */
static int token_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", *s))
            return 0;
    return 1;
}

static int setup(nxx_scope *location, const nxx_ws_config *cfg, const struct nxx_ws_ops *ops,
                 void *ud, int channels)
{
    if (!location || location->kind != NXX_SCOPE_LOCATION)
        return NXX_EINVAL;
    struct ws_location *l = nxx_calloc(1, sizeof(*l));
    if (!l)
        return NXX_ENOMEM;
    if (cfg)
        l->loc.cfg = *cfg;
    else
        nxx_ws_config_init(&l->loc.cfg);
    if (ops)
        l->loc.ops = *ops;
    l->loc.ud = ud;
    l->loc.cfg.nprotocols = 0;
    l->loc.cfg.protocols = NULL;
    l->loc.cfg.norigins = 0;
    l->loc.cfg.origins = NULL;
    int err = 0;
    if (cfg && cfg->nprotocols) {
        l->protocols = nxx_calloc(cfg->nprotocols, sizeof(char *));
        if (!l->protocols)
            err = NXX_ENOMEM;
        for (size_t i = 0; !err && i < cfg->nprotocols; i++) {
            if (!cfg->protocols[i] || !token_ok(cfg->protocols[i])) {
                err = NXX_EINVAL;
            } else if (!(l->protocols[i] = nxx_strdup(cfg->protocols[i]))) {
                err = NXX_ENOMEM;
            } else {
                l->loc.cfg.nprotocols++;
            }
        }
        l->loc.cfg.protocols = (const char *const *)l->protocols;
    }
    if (!err && cfg && cfg->norigins) {
        l->origins = nxx_calloc(cfg->norigins, sizeof(char *));
        if (!l->origins)
            err = NXX_ENOMEM;
        for (size_t i = 0; !err && i < cfg->norigins; i++) {
            if (!cfg->origins[i] || !cfg->origins[i][0])
                err = NXX_EINVAL;
            else if (!(l->origins[i] = nxx_strdup(cfg->origins[i])))
                err = NXX_ENOMEM;
            else
                l->loc.cfg.norigins++;
        }
        l->loc.cfg.origins = (const char *const *)l->origins;
    }
    if (!err && (l->loc.cfg.max_message == 0 || l->loc.cfg.max_pending == 0))
        err = NXX_EINVAL;
    if (!err && channels) {
        /* the same channels for this location in every generation */
        const struct nxx_scope *host = location->parent;
        const char *hname = host && host->nnames ? host->names[0] : "";
        size_t klen = strlen(hname) + strlen(location->path) + 2;
        char *key = nxx_malloc(klen);
        if (key) {
            snprintf(key, klen, "%s %s", hname, location->path);
            l->loc.hub = nxx_ws_hub_get(location->site->srv, key);
            nxx_free(key);
        }
        if (!l->loc.hub)
            err = NXX_ENOMEM;
    }
    if (!err)
        err = nxx_scope_on_free(location, location_free, l);
    if (err) {
        location_free(l);
        return err;
    }
    /* every method: a plain request of any kind gets 426 */
    return nxx_scope_route(location, NULL, NULL, 0, ws_handle, l);
}

int nxx_scope_websocket(nxx_scope *location, const nxx_ws_config *cfg, const struct nxx_ws_ops *ops,
                        void *ud)
{
    return setup(location, cfg, ops, ud, 0);
}

int nxx_scope_ws_channels(nxx_scope *location, const nxx_ws_config *cfg)
{
    return setup(location, cfg, NULL, NULL, 1);
}
