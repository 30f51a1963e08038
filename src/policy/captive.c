/*
 * captive.c - a captive portal (RFC 6585 §6, RFC 8908): until a client
 * address has been admitted, every request of the scope gets 511 Network
 * Authentication Required with a page that links to the portal's login
 * page.  The portal's own pages and assets (a path prefix) are served as
 * usual; a POST to its login path admits the address for a set time and
 * redirects (303) back.  The RFC 8908 API (application/captive+json) tells
 * a device at one URL whether it is still captive and for how long it is
 * admitted.
 *
 * 511 is never cacheable (RFC 6585 §6): error answers carry
 * Cache-Control: no-store, so no cache keeps the portal page in place of
 * the site.  Admissions are a limiter of quota 1 per admission time
 * (limiter.c): an address is admitted while its one request of the window
 * is spent, and memory is bounded by max_clients.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "http/request.h"
#include "http/site.h"
#include "policy/client.h"
#include "policy/limiter.h"
#include "policy/shared.h"
#include "core/banned.h"

struct captive {
    char *portal; /* path prefix, no trailing slash */
    char *login;  /* path that admits on POST */
    char *api;    /* RFC 8908 API path, or NULL */
    char *back;   /* where a login redirects to */
    char *url;    /* the API's user-portal-url, or NULL: this server's portal */
    char *page;   /* the 511 page */
    size_t page_len;
    struct nxx_limiter *admitted;
    struct nxx_shared *shared; /* admitted's reference: a reload keeps admissions */
    struct nxx_cidrs trusted;
};

static int under(nxx_str path, const char *prefix)
{
    size_t n = strlen(prefix);
    return path.len >= n && memcmp(path.ptr, prefix, n) == 0 &&
           (path.len == n || path.ptr[n] == '/' || (n && prefix[n - 1] == '/'));
}

static int is(nxx_str path, const char *p)
{
    return p && path.len == strlen(p) && memcmp(path.ptr, p, path.len) == 0;
}

static void client(nxx_req *req, const struct captive *c, struct nxx_limit_key *k)
{
    struct sockaddr_storage ss;
    nxx_client_addr(req, &c->trusted, &ss);
    nxx_limit_key_addr(k, (const struct sockaddr *)&ss);
}

static int captive_policy(nxx_req *req, void *ud)
{
    struct captive *c = ud;
    nxx_str path = nxx_req_path(req);
    if (is(path, c->api))
        return 0;
    struct nxx_limit_key k;
    client(req, c, &k);
    struct nxx_limit_result r;
    if (is(path, c->login) && req->h.method_id == NXX_M_POST) {
        nxx_limiter_take(c->admitted, &k, nxx_req_now_ms(req), 1, &r);
        nxx_resp_header(req, "Location", (nxx_str){ c->back, strlen(c->back) });
        nxx_req_detail(req, "you are connected; continue to %s", c->back);
        nxx_req_notes(req)->decided = "captive";
        return 303;
    }
    if (under(path, c->portal))
        return 0;
    nxx_limiter_peek(c->admitted, &k, nxx_req_now_ms(req), &r);
    if (!r.remaining)
        return 0;
    nxx_req_error_page(req, (nxx_str){ c->page, c->page_len });
    nxx_req_detail(req, "this network requires you to sign in first: %s", c->portal);
    nxx_resp_headerf(req, "Link", "<%s>; rel=\"captive-portal\"", c->portal);
    nxx_req_notes(req)->decided = "captive";
    return 511;
}

/* RFC 8908 §5: the API's state for the asking client.  user-portal-url
 * must be an https URI (§5, RFC 8908 §2.1 wants the portal over TLS): the
 * configured URL, else this server's own portal path, with https:// when
 * the request came over TLS (http:// only on a plain listener, where a
 * device cannot have been told anything better). */
static int captive_api(nxx_req *req, void *ud)
{
    struct captive *c = ud;
    struct nxx_limit_key k;
    client(req, c, &k);
    struct nxx_limit_result r;
    nxx_limiter_peek(c->admitted, &k, nxx_req_now_ms(req), &r);
    int captive = r.remaining != 0;
    char url[600];
    if (c->url) {
        snprintf(url, sizeof(url), "%s", c->url);
    } else {
        nxx_str host = nxx_req_authority(req);
        snprintf(url, sizeof(url), "%s://%.*s%s", nxx_req_secure(req) ? "https" : "http",
                 (int)(host.len < 256 ? host.len : 0), host.ptr ? host.ptr : "", c->portal);
    }
    char body[1024];
    int n;
    if (captive)
        n = snprintf(body, sizeof(body), "{\"captive\":true,\"user-portal-url\":\"%s\"}\n", url);
    else
        n = snprintf(body, sizeof(body),
                     "{\"captive\":false,\"user-portal-url\":\"%s\",\"seconds-remaining\":%llu}\n",
                     url, (unsigned long long)r.reset_s);
    nxx_resp_header(req, "Content-Type", NXX_STR("application/captive+json"));
    nxx_resp_header(req, "Cache-Control", NXX_STR("private, no-store"));
    return nxx_resp_send(req, body, (size_t)n, 0) < 0 ? 500 : 0;
}

static void captive_free(void *arg)
{
    struct captive *c = arg;
    nxx_free(c->portal);
    nxx_free(c->login);
    nxx_free(c->api);
    nxx_free(c->back);
    nxx_free(c->url);
    nxx_free(c->page);
    nxx_shared_put(c->shared);
    nxx_cidrs_release(&c->trusted);
    nxx_free(c);
}

static int path_ok(const char *p)
{
    if (!p || p[0] != '/')
        return 0;
    for (; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == '"' || *p == '<' || *p == '>' || *p == 0x7f)
            return 0;
    return 1;
}

static struct nxx_limiter *admissions(nxx_scope *scope, const nxx_captive_config *cfg,
                                      struct nxx_shared **h)
{
    char key[768], where[512];
    nxx_shared_scope_key(scope, where, sizeof(where));
    snprintf(key, sizeof(key), "%s|captive|%s", where, cfg->login);
    return nxx_limiter_shared(key, scope->site, 1, (uint64_t)cfg->admit_s * 1000, NXX_LIMIT_WINDOW,
                              cfg->max_clients, h);
}

/* An absolute https URL that goes into JSON as it is (no quotes, escapes
 * or controls). */
static int url_ok(const char *u)
{
    if (strncmp(u, "https://", 8) != 0 || strlen(u) > 512 || !u[8])
        return 0;
    for (; *u; u++)
        if ((unsigned char)*u <= 0x20 || *u == '"' || *u == '\\' || *u == 0x7f)
            return 0;
    return 1;
}

void nxx_captive_config_init(nxx_captive_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->admit_s = 3600;
    cfg->max_clients = 10000;
}

int nxx_scope_captive(nxx_scope *scope, const nxx_captive_config *cfg)
{
    if (!scope || !cfg || !path_ok(cfg->portal) || !path_ok(cfg->login) ||
        (cfg->api && !path_ok(cfg->api)) || (cfg->back && !path_ok(cfg->back)) ||
        (cfg->portal_url && !url_ok(cfg->portal_url)) || !cfg->admit_s || !cfg->max_clients)
        return NXX_EINVAL;
    struct captive *c = nxx_calloc(1, sizeof(*c));
    if (!c)
        return NXX_ENOMEM;
    int e = 0;
    size_t plen = strlen(cfg->portal);
    while (plen > 1 && cfg->portal[plen - 1] == '/')
        plen--;
    if (!(c->portal = nxx_malloc(plen + 1)) || !(c->login = nxx_strdup(cfg->login)) ||
        (cfg->api && !(c->api = nxx_strdup(cfg->api))) ||
        !(c->back = nxx_strdup(cfg->back ? cfg->back : "/")) ||
        (cfg->portal_url && !(c->url = nxx_strdup(cfg->portal_url))) ||
        !(c->admitted = admissions(scope, cfg, &c->shared)))
        e = NXX_ENOMEM;
    if (c->portal) {
        memcpy(c->portal, cfg->portal, plen);
        c->portal[plen] = '\0';
    }
    if (!e) {
        size_t cap = 2 * plen + 512;
        c->page = nxx_malloc(cap);
        if (!c->page)
            e = NXX_ENOMEM;
        else
            c->page_len = (size_t)snprintf(
                c->page, cap,
                "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Sign in to this "
                "network</title></head>\n<body><h1>Sign in to this network</h1>\n<p>This "
                "network requires you to sign in before you can use it.</p>\n<p><a "
                "href=\"%s\">Sign in</a></p>\n</body></html>\n",
                c->portal);
    }
    if (!e && nxx_cidrs_init(&c->trusted, cfg->trusted_proxies, cfg->ntrusted, NULL) != 0)
        e = NXX_EINVAL;
    if (!e)
        e = nxx_scope_on_free(scope, captive_free, c);
    if (e) {
        captive_free(c);
        return e;
    }
    if (c->api) {
        nxx_scope *where = scope->kind == NXX_SCOPE_LOCATION ? scope->parent : scope;
        e = nxx_scope_route(where, "GET", c->api, 0, captive_api, c);
        if (e)
            return e;
    }
    return nxx_scope_policy(scope, NXX_PHASE_HEAD, captive_policy, c);
}
