/*
 * scope.c - the sections of the key table that shape scopes: settings and
 * policies that any scope may carry (the server, a host, a location; a
 * location inherits what it does not set, policies of every level run),
 * and the keys of hosts and locations themselves.  Each entry's setup
 * calls the public nxx_scope_* / nxx_host_* function that builds it.
 */
#include "config/keys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config/options.h"
#include "http/site.h"
#include "tls/tls.h"
#include "core/banned.h"

#define OFF(f) offsetof(struct nxx_options, f)

/* ---- settings ---- */

static int setup_max_body(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    (void)b;
    nxx_scope_max_body(scope, (size_t)v->n);
    return 0;
}

static int setup_body_timeout(struct nxx_cfg_build *b, nxx_scope *scope,
                              const struct nxx_cfg_val *v)
{
    (void)b;
    nxx_scope_body_timeout(scope, (unsigned)v->n);
    return 0;
}

static int setup_headers(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    for (size_t i = 0; i < v->nitems; i++) {
        int e = nxx_scope_header(scope, v->items[i], v->values[i]);
        if (e)
            return nxx_cfg_fail(b, v->ipos[i], "cannot add the field '%s': %s", v->items[i],
                                nxx_strerror(e));
    }
    return 0;
}

/* ---- policies ---- */

static int setup_gone(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    int e = v->n ? nxx_scope_gone(scope) : 0;
    return e ? nxx_cfg_fail(b, v->pos, "gone: %s", nxx_strerror(e)) : 0;
}

static int setup_require_length(struct nxx_cfg_build *b, nxx_scope *scope,
                                const struct nxx_cfg_val *v)
{
    int e = v->n ? nxx_scope_require_length(scope) : 0;
    return e ? nxx_cfg_fail(b, v->pos, "require-length: %s", nxx_strerror(e)) : 0;
}

static int setup_client_cert(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    int e = v->n ? nxx_scope_require_client_cert(scope) : 0;
    return e ? nxx_cfg_fail(b, v->pos, "client-cert: %s", nxx_strerror(e)) : 0;
}

static const char *check_link(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == '"')
            return "is not a URI (no spaces, quotes, angle brackets or control characters)";
    return NULL;
}

static const struct nxx_cfg_key legal_block_keys[] = {
    { .name = "by",
      .arg = "URI",
      .type = K_STRING,
      .help = "Who asked for the block: sent as Link: <URI>; rel=\"blocked-by\" (RFC 7725).",
      .check = check_link },
    { .name = "detail",
      .arg = "TEXT",
      .type = K_STRING,
      .help = "The explanation in the problem body.",
      .check = nxx_cfg_check_text },
};

static int setup_legal_block(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    int e = nxx_scope_legal_block(scope, nxx_cfg_str(m, "by"), nxx_cfg_str(m, "detail"));
    return e ? nxx_cfg_fail(b, v->pos, "legal-block: %s", nxx_strerror(e)) : 0;
}

static const struct nxx_cfg_key maintenance_keys[] = {
    { .name = "file",
      .arg = "FILE",
      .type = K_STRING,
      .flags = NXX_CFG_REQUIRED | NXX_CFG_PATH,
      .help = "The switch: while this file exists (looked at once a second) requests get 503. "
              "Create it to start maintenance, remove it to end it; no reload needed." },
    { .name = "retry-after",
      .arg = "SECONDS",
      .type = K_COUNT,
      .min = 1,
      .max = 31536000,
      .def = "300",
      .help = "The Retry-After field of the 503, in whole seconds." },
    { .name = "page",
      .arg = "FILE",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .help = "An HTML page (1 MiB at most, read when the configuration is loaded) for clients "
              "that prefer HTML; others get the problem body." },
    { .name = "exempt",
      .arg = "PATHS",
      .type = K_LIST,
      .help = "Path prefixes served as usual during maintenance (health checks), whole segments: "
              "/health exempts /health and /health/x, not /healthz.",
      .check = nxx_cfg_check_abs_path },
};

static int setup_maintenance(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    const struct nxx_cfg_val *ex = nxx_cfg_get(m, "exempt");
    nxx_maintenance_config mc = {
        .file = nxx_cfg_str(m, "file"),
        .retry_after_s = (unsigned)nxx_cfg_num(m, "retry-after"),
        .page = nxx_cfg_str(m, "page"),
        .exempt = ex ? ex->items : NULL,
        .nexempt = ex ? ex->nitems : 0,
    };
    /* looked at first: opening a FIFO as the page would block the load */
    struct stat st;
    if (mc.page) {
        const char *why = stat(mc.page, &st) != 0 ? strerror(errno)
                          : !S_ISREG(st.st_mode)  ? "not a regular file"
                                                  : NULL;
        if (why)
            return nxx_cfg_fail(b, nxx_cfg_get(m, "page")->pos,
                                "cannot read the maintenance page '%s': %s", mc.page, why);
    }
    int e = nxx_scope_maintenance(scope, &mc);
    if (e && mc.page)
        return nxx_cfg_fail(
            b, nxx_cfg_get(m, "page")->pos, "cannot read the maintenance page '%s': %s", mc.page,
            e == NXX_EINVAL ? "not a regular file of 1 MiB at most" : nxx_strerror(e));
    return e ? nxx_cfg_fail(b, v->pos, "maintenance: %s", nxx_strerror(e)) : 0;
}

static const struct nxx_cfg_key inflight_keys[] = {
    { .name = "limit",
      .arg = "N",
      .type = K_COUNT,
      .min = 1,
      .max = 10000000,
      .flags = NXX_CFG_REQUIRED,
      .help = "Requests of the scope in flight at once, over all workers." },
    { .name = "retry-after",
      .arg = "SECONDS",
      .type = K_COUNT,
      .min = 1,
      .max = 86400,
      .def = "1",
      .help = "The Retry-After field of the 503, in whole seconds." },
};

static int setup_max_inflight(struct nxx_cfg_build *b, nxx_scope *scope,
                              const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    int e = nxx_scope_max_inflight(scope, (unsigned)nxx_cfg_num(m, "limit"),
                                   (unsigned)nxx_cfg_num(m, "retry-after"));
    return e ? nxx_cfg_fail(b, v->pos, "max-inflight: %s", nxx_strerror(e)) : 0;
}

/*
 * Settings and policies of any scope, in the order they are applied: the
 * head-phase policies of one scope run in this order (maintenance first:
 * a site that is down says so before anything else; max-inflight last, so
 * it counts only requests that will be served).
 */
const struct nxx_cfg_key nxx_cfg_scope_keys[] = {
    { .name = "max-body-bytes",
      .arg = "N",
      .type = K_SIZE,
      .offset = OFF(cfg.max_body_bytes),
      .max = 1ull << 40,
      .def = "1048576",
      .help = "Limit of request content (413, then close), checked from Content-Length before "
              "reading and from each chunk-size line of chunked content before that chunk's "
              "data.",
      .scopes = NXX_CFG_SCOPED,
      .flags = NXX_CFG_ARGV | NXX_CFG_FIELD,
      .setup = setup_max_body },
    { .name = "body-timeout",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 1,
      .max = 86400000,
      .help = "The request content must have arrived within this time, counted from the "
              "request's first byte (408 otherwise); for scopes that take slow uploads.",
      .scopes = NXX_CFG_SCOPED,
      .flags = NXX_CFG_ARGV,
      .def_doc = "request-timeout",
      .setup = setup_body_timeout },
    { .name = "headers",
      .arg = "NAME: VALUE",
      .type = K_MAP,
      .help = "Fields added to every response of the scope (after the handler's own). The "
              "fields of every enclosing scope are sent too: the server's, then the host's, "
              "then the location's.",
      .scopes = NXX_CFG_SCOPED,
      .setup = setup_headers,
      .check = nxx_cfg_check_field_name },
    { .name = "maintenance",
      .type = K_BLOCK,
      .help = "A maintenance switch: while a file exists, 503 with Retry-After and an HTML page "
              "(or a problem body) for every request of the scope but exempt paths.",
      .scopes = NXX_CFG_SCOPED,
      .sub = maintenance_keys,
      .nsub = sizeof(maintenance_keys) / sizeof(maintenance_keys[0]),
      .shorthand = "file",
      .setup = setup_maintenance },
    { .name = "gone",
      .type = K_FLAG,
      .def = "false",
      .help = "410 Gone for every request of the scope: removed on purpose, for good.",
      .scopes = NXX_CFG_SCOPED,
      .setup = setup_gone },
    { .name = "legal-block",
      .type = K_BLOCK,
      .help = "451 Unavailable For Legal Reasons for every request of the scope, with Link: "
              "<by>; rel=\"blocked-by\" when `by` is given.",
      .scopes = NXX_CFG_SCOPED,
      .sub = legal_block_keys,
      .nsub = sizeof(legal_block_keys) / sizeof(legal_block_keys[0]),
      .shorthand = "by",
      .setup = setup_legal_block },
    { .name = "require-length",
      .type = K_FLAG,
      .def = "false",
      .help = "411 Length Required for content sent without Content-Length (chunked uploads).",
      .scopes = NXX_CFG_SCOPED,
      .setup = setup_require_length },
    { .name = "client-cert",
      .type = K_FLAG,
      .def = "false",
      .help = "403 Forbidden (with a problem body) for requests of the scope without a client "
              "certificate verified against tls-client-ca (mutual TLS); over plain HTTP too.",
      .scopes = NXX_CFG_SCOPED,
      .setup = setup_client_cert },
    { .name = "max-inflight",
      .type = K_BLOCK,
      .help = "At most `limit` requests of the scope in flight at once (all workers); more get "
              "503 with Retry-After.",
      .scopes = NXX_CFG_SCOPED,
      .sub = inflight_keys,
      .nsub = sizeof(inflight_keys) / sizeof(inflight_keys[0]),
      .shorthand = "limit",
      .setup = setup_max_inflight },
};
const size_t nxx_cfg_nscope_keys = sizeof(nxx_cfg_scope_keys) / sizeof(nxx_cfg_scope_keys[0]);

/* ---- hosts and locations ---- */

static int setup_aliases(struct nxx_cfg_build *b, nxx_scope *host, const struct nxx_cfg_val *v)
{
    for (size_t i = 0; i < v->nitems; i++) {
        int e = nxx_host_alias(host, v->items[i]);
        if (e)
            return nxx_cfg_fail(b, v->ipos[i], "cannot add the alias '%s': %s", v->items[i],
                                e == NXX_EINVAL ? "a bad name, or more than 63 aliases"
                                                : nxx_strerror(e));
    }
    return 0;
}

static int setup_default(struct nxx_cfg_build *b, nxx_scope *host, const struct nxx_cfg_val *v)
{
    int e = v->n ? nxx_host_set_default(host) : 0;
    return e ? nxx_cfg_fail(b, v->pos, "default: %s", nxx_strerror(e)) : 0;
}

static const char *check_canonical(const char *text)
{
    if (strchr(text, '*'))
        return "is not a host name (a canonical name has no wildcard)";
    return nxx_cfg_check_host(text);
}

static const char *const canonical_codes[] = { "301", "308", NULL };

static const struct nxx_cfg_key canonical_keys[] = {
    { .name = "name",
      .arg = "HOST",
      .type = K_STRING,
      .flags = NXX_CFG_REQUIRED,
      .help = "The host's one true name.",
      .check = check_canonical },
    { .name = "status",
      .arg = "301|308",
      .type = K_STATUS,
      .def = "301",
      .choices = canonical_codes,
      .help = "301 Moved Permanently, or 308 Permanent Redirect (keeps the method and content)." },
};

static int setup_canonical(struct nxx_cfg_build *b, nxx_scope *host, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    int e = nxx_host_canonical(host, nxx_cfg_str(m, "name"), (int)nxx_cfg_num(m, "status"));
    return e ? nxx_cfg_fail(b, v->pos, "canonical: %s", nxx_strerror(e)) : 0;
}

static int setup_hosts(struct nxx_cfg_build *b, nxx_scope *server, const struct nxx_cfg_val *v)
{
    (void)server;
    for (size_t i = 0; i < v->nblocks; i++) {
        const struct nxx_cfg_block *hb = v->blocks[i];
        nxx_scope *h = nxx_site_host(b->site, hb->name);
        if (!h)
            return nxx_cfg_fail(b, hb->pos,
                                "cannot add the host '%s': a bad name, or out of memory", hb->name);
        int e = nxx_cfg_apply(b, h, hb);
        if (e)
            return e;
    }
    return 0;
}

static int setup_locations(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    nxx_scope *host = scope->kind == NXX_SCOPE_HOST ? scope : nxx_site_host(b->site, NULL);
    if (!host)
        return nxx_cfg_fail(b, v->pos, "out of memory");
    for (size_t i = 0; i < v->nblocks; i++) {
        const struct nxx_cfg_block *lb = v->blocks[i];
        nxx_scope *l = nxx_host_location(host, lb->name);
        if (!l)
            return nxx_cfg_fail(b, lb->pos,
                                "bad location path '%s' (expected /PREFIX, = /EXACT, or a "
                                "pattern such as /u/:id or /files/*)",
                                lb->name);
        int e = nxx_cfg_apply(b, l, lb);
        if (e)
            return e;
    }
    return 0;
}

static const struct nxx_cfg_key tls_keys[] = {
    { .name = "cert",
      .arg = "FILE",
      .type = K_STRING,
      .flags = NXX_CFG_REQUIRED | NXX_CFG_PATH,
      .help = "The host's certificate chain (PEM, its certificate first)." },
    { .name = "key",
      .arg = "FILE",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .help = "Its private key (PEM); default: the cert file's own." },
    { .name = "ocsp",
      .arg = "FILE",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .help = "An OCSP response for the certificate (DER), stapled to handshakes that ask for "
              "it; read again on reload." },
};

static int setup_tls(struct nxx_cfg_build *b, nxx_scope *host, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    const char *cert = nxx_cfg_str(m, "cert"), *key = nxx_cfg_str(m, "key");
    char why[512];
    if (nxx_tls_scope_cert(host, cert, key ? key : cert, why, sizeof(why)) != 0)
        return nxx_cfg_fail(b, v->pos, "%s", why);
    const char *ocsp = nxx_cfg_str(m, "ocsp");
    if (ocsp && nxx_tls_scope_ocsp(host, ocsp, why, sizeof(why)) != 0)
        return nxx_cfg_fail(b, nxx_cfg_get(m, "ocsp")->pos, "%s", why);
    return 0;
}

const struct nxx_cfg_key nxx_cfg_host_keys[] = {
    { .name = "hosts",
      .arg = "NAME: HOST",
      .type = K_NAMED,
      .child = NXX_CFG_HOST,
      .help = "Virtual hosts by name: an exact name (example.org, 127.0.0.1, [::1]) or a "
              "wildcard (*.example.org; the longest wins), compared without case and port.",
      .scopes = NXX_CFG_SERVER,
      .setup = setup_hosts,
      .check = nxx_cfg_check_host },
    { .name = "aliases",
      .arg = "NAMES",
      .type = K_LIST,
      .help = "Other names of the host (same syntax as its name).",
      .scopes = NXX_CFG_HOST,
      .setup = setup_aliases,
      .check = nxx_cfg_check_host },
    { .name = "default",
      .type = K_FLAG,
      .def = "false",
      .help = "This host answers requests whose authority names no host (unless strict-hosts). "
              "Without one, the top-level locations' host does, else the first host.",
      .scopes = NXX_CFG_HOST,
      .setup = setup_default },
    { .name = "tls",
      .type = K_BLOCK,
      .help = "The host's TLS certificate, chosen when a client's SNI names the host (or one "
              "of its aliases). A request on a TLS connection for a name its certificate does "
              "not cover gets 421.",
      .scopes = NXX_CFG_HOST,
      .sub = tls_keys,
      .nsub = sizeof(tls_keys) / sizeof(tls_keys[0]),
      .shorthand = "cert",
      .setup = setup_tls },
    { .name = "canonical",
      .type = K_BLOCK,
      .help = "Requests that reach the host under another name (an alias, a wildcard match) "
              "are redirected to the same path and query on this name.",
      .scopes = NXX_CFG_HOST,
      .sub = canonical_keys,
      .nsub = sizeof(canonical_keys) / sizeof(canonical_keys[0]),
      .shorthand = "name",
      .setup = setup_canonical },
    { .name = "locations",
      .arg = "PATH: LOCATION",
      .type = K_NAMED,
      .child = NXX_CFG_LOCATION,
      .help = "Locations by path: /PREFIX (the path and everything under PREFIX/, whole "
              "segments; the longest wins), = /EXACT, or a pattern with :name segments and a "
              "last * (/u/:id, /files/*). At the top level: the default host's.",
      .scopes = NXX_CFG_SERVER | NXX_CFG_HOST,
      .setup = setup_locations },
};
const size_t nxx_cfg_nhost_keys = sizeof(nxx_cfg_host_keys) / sizeof(nxx_cfg_host_keys[0]);
