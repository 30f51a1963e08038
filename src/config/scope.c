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
#include "policy/auth.h"
#include "policy/client.h"
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

static int setup_early_hints(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    for (size_t i = 0; i < v->nitems; i++) {
        int e = nxx_scope_early_hint(scope, v->items[i]);
        if (e)
            return nxx_cfg_fail(b, v->ipos[i], "early-hints: '%s': %s", v->items[i],
                                e == NXX_EINVAL ? "not a Link value (<URI>; rel=preload ...)"
                                                : nxx_strerror(e));
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

static const char *check_realm(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
            return "is not a realm (no quotes, backslashes or control characters)";
    return strlen(text) < 128 ? NULL : "is longer than 127 characters";
}

static const char *check_cidr(const char *text)
{
    struct nxx_cidr c;
    return nxx_cidr_parse(text, &c) == 0 ? NULL
                                         : "is not an address or ADDRESS/BITS (10.0.0.0/8, ::1)";
}

#define TRUSTED_PROXIES_KEY                                                                        \
    {                                                                                              \
        .name = "trusted-proxies", .arg = "CIDRS", .type = K_LIST,                                 \
        .help =                                                                                    \
            "Peers (addresses or ADDRESS/BITS) whose Forwarded or X-Forwarded-For field names "    \
            "the client; from anyone else those fields are ignored.",                              \
        .check = check_cidr                                                                        \
    }

static const struct nxx_cfg_key auth_keys[] = {
    { .name = "basic",
      .arg = "FILE",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .help = "An htpasswd file (htpasswd -B, -2 or -5: bcrypt, SHA-crypt or yescrypt); "
              "plaintext, MD5 and SHA-1 lines are refused when it is loaded." },
    { .name = "bearer",
      .arg = "FILE",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .help = "Bearer tokens (RFC 6750): lines \"user:SHA256HEX\", the SHA-256 of each token in "
              "lowercase hex (printf %s TOKEN | sha256sum). `basic`, `bearer` or both." },
    { .name = "jwt-key",
      .arg = "FILE",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .help = "JWT bearer tokens (RFC 7519): a PEM public key (RSA: RS256, EC P-256: ES256) or "
              "an HS256 secret of 32 bytes or more. The token's sub names the user." },
    { .name = "jwt-issuer",
      .arg = "ISS",
      .type = K_STRING,
      .help = "A JWT's iss must be this.",
      .check = nxx_cfg_check_text },
    { .name = "jwt-audience",
      .arg = "AUD",
      .type = K_STRING,
      .help = "A JWT's aud (a string or a list) must hold this.",
      .check = nxx_cfg_check_text },
    { .name = "jwt-skew",
      .arg = "SECONDS",
      .type = K_COUNT,
      .max = 3600,
      .def = "60",
      .help = "Clock skew allowed when checking a JWT's exp and nbf." },
    { .name = "jwt-roles-claim",
      .arg = "NAME",
      .type = K_STRING,
      .def = "roles",
      .help = "The JWT claim that lists the user's roles (an array, or a space-separated string), "
              "checked by `require` besides the groups file.",
      .check = nxx_cfg_check_token },
    { .name = "realm",
      .arg = "NAME",
      .type = K_STRING,
      .def = "nxx",
      .help = "The realm of the challenge: WWW-Authenticate: Basic realm=\"NAME\", "
              "charset=\"UTF-8\".",
      .check = check_realm },
    { .name = "groups",
      .arg = "FILE",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .help = "Roles: lines \"role: user user ...\" (Apache's AuthGroupFile), checked by "
              "`require`." },
    { .name = "proxy",
      .type = K_FLAG,
      .def = "false",
      .help = "Authenticate to a proxy: read Proxy-Authorization and answer 407 with "
              "Proxy-Authenticate." },
    { .name = "cache",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .max = 86400000,
      .def = "60",
      .help = "A verified credential is remembered this long by each worker (by a keyed "
              "128-bit SipHash of it, never the credential), so keep-alive requests skip the "
              "slow hash; 0: never." },
    { .name = "max-failures",
      .arg = "N",
      .type = K_COUNT,
      .max = 1000000,
      .def = "10",
      .help = "Failed sign-ins a client address may make per failure window; after that it "
              "gets 429 with Retry-After until the window ends. 0: no limit." },
    { .name = "failure-window",
      .arg = "SECONDS",
      .type = K_COUNT,
      .min = 1,
      .max = 86400,
      .def = "60",
      .help = "The window of max-failures, in whole seconds." },
    TRUSTED_PROXIES_KEY,
};

static int setup_auth(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    const struct nxx_cfg_val *tp = nxx_cfg_get(m, "trusted-proxies");
    nxx_auth_config ac;
    nxx_auth_config_init(&ac);
    ac.htpasswd = nxx_cfg_str(m, "basic");
    ac.tokens = nxx_cfg_str(m, "bearer");
    ac.jwt_key = nxx_cfg_str(m, "jwt-key");
    ac.jwt_issuer = nxx_cfg_str(m, "jwt-issuer");
    ac.jwt_audience = nxx_cfg_str(m, "jwt-audience");
    ac.jwt_skew_s = (unsigned)nxx_cfg_num(m, "jwt-skew");
    ac.jwt_roles_claim = nxx_cfg_str(m, "jwt-roles-claim");
    ac.realm = nxx_cfg_str(m, "realm");
    ac.groups = nxx_cfg_str(m, "groups");
    ac.proxy = (int)nxx_cfg_num(m, "proxy");
    ac.cache_ms = (unsigned)nxx_cfg_num(m, "cache");
    ac.max_failures = (unsigned)nxx_cfg_num(m, "max-failures");
    ac.failure_window_s = (unsigned)nxx_cfg_num(m, "failure-window");
    ac.trusted_proxies = tp ? tp->items : NULL;
    ac.ntrusted = tp ? tp->nitems : 0;
    char why[512];
    why[0] = '\0';
    int e = nxx_scope_auth(scope, &ac, why, sizeof(why));
    return e ? nxx_cfg_fail(b, v->pos, "auth: %s", why[0] ? why : nxx_strerror(e)) : 0;
}

static const struct nxx_cfg_key require_keys[] = {
    { .name = "role",
      .arg = "ROLES",
      .type = K_LIST,
      .flags = NXX_CFG_REQUIRED,
      .help = "The user must have one of these roles (groups of auth's `groups` file); 403 "
              "names them otherwise.",
      .check = nxx_cfg_check_token },
    { .name = "methods",
      .arg = "METHODS",
      .type = K_LIST,
      .help = "Only requests with these methods need the role (all methods when not given).",
      .check = nxx_cfg_check_token },
};

static int setup_require(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    for (size_t i = 0; i < v->nblocks; i++) {
        const struct nxx_cfg_block *m = v->blocks[i];
        const struct nxx_cfg_val *r = nxx_cfg_get(m, "role"), *ms = nxx_cfg_get(m, "methods");
        if (!nxx_auth_in_scope(scope))
            return nxx_cfg_fail(b, m->pos,
                                "require: the role '%s' can never be granted here: no `auth` in "
                                "this scope or one around it signs anybody in",
                                r->items[0]);
        int e = nxx_scope_require_role(scope, r->items, r->nitems, ms ? ms->items : NULL,
                                       ms ? ms->nitems : 0);
        if (e)
            return nxx_cfg_fail(b, m->pos, "require: %s", nxx_strerror(e));
    }
    return 0;
}

/* "N/s", "N/min", "N/h", "N/day" or "N/SECONDSs": quota and window; 0 or -1. */
static int parse_rate(const char *text, unsigned long long *quota, unsigned long long *window)
{
    unsigned long long q = 0, w = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9' && q < 1000000000ull; p++)
        q = q * 10 + (unsigned long long)(*p - '0');
    if (p == text || *p != '/' || !q || q >= 1000000000ull)
        return -1;
    p++;
    const char *digits = p;
    for (; *p >= '0' && *p <= '9' && w < 100000000ull; p++)
        w = w * 10 + (unsigned long long)(*p - '0');
    unsigned long long unit = strcmp(p, "s") == 0     ? 1
                              : strcmp(p, "min") == 0 ? 60
                              : strcmp(p, "h") == 0   ? 3600
                              : strcmp(p, "day") == 0 ? 86400
                                                      : 0;
    if (!unit || (p > digits && !w))
        return -1;
    *quota = q;
    *window = (p > digits ? w : 1) * unit;
    return *window <= 31536000 ? 0 : -1;
}

static const char *check_rate(const char *text)
{
    unsigned long long q, w;
    return parse_rate(text, &q, &w) == 0 ? NULL
                                         : "is not a rate: N/s, N/min, N/h, N/day or N/SECONDSs "
                                           "(100/min, 10/30s)";
}

static const char *const rate_by[] = { "address", "user", "api-key", "field", NULL };

static const struct nxx_cfg_key rate_keys[] = {
    { .name = "limit",
      .arg = "N/UNIT",
      .type = K_STRING,
      .flags = NXX_CFG_REQUIRED,
      .help = "Requests per window: N/s, N/min, N/h, N/day or N/SECONDSs (100/min, 10/30s).",
      .check = check_rate },
    { .name = "by",
      .arg = "KEY",
      .type = K_ENUM,
      .def = "address",
      .choices = rate_by,
      .help = "What is counted: the client address (IPv6 by its /64), the signed-in user, an "
              "API key (the field `field`, else the query parameter `param`), or the value of "
              "the field `field`. Requests without that key are not limited by this rule." },
    { .name = "field",
      .arg = "NAME",
      .type = K_STRING,
      .def = "X-API-Key",
      .help = "The header field of `by: api-key` and `by: field`.",
      .check = nxx_cfg_check_field_name },
    { .name = "param",
      .arg = "NAME",
      .type = K_STRING,
      .help = "The query parameter that carries the API key when the field is absent.",
      .check = nxx_cfg_check_token },
    { .name = "name",
      .arg = "NAME",
      .type = K_STRING,
      .def = "default",
      .help = "The policy's name in the RateLimit-Policy and RateLimit fields.",
      .check = nxx_cfg_check_token },
    { .name = "algorithm",
      .arg = "window|bucket",
      .type = K_ENUM,
      .def = "window",
      .choices = (const char *const[]){ "window", "bucket", NULL },
      .help = "window: at most N requests in each window from a key's first request (exact); "
              "bucket: a token bucket of N refilled evenly over the window (GCRA)." },
    { .name = "fields",
      .type = K_FLAG,
      .def = "true",
      .help = "Send RateLimit-Policy and RateLimit on allowed responses too (the 429 always "
              "carries them)." },
    { .name = "max-keys",
      .arg = "N",
      .type = K_COUNT,
      .min = 8,
      .max = 100000000,
      .def = "10000",
      .help = "Keys tracked at most (entries of 40 bytes, rounded up to a power of two of sets "
              "of 8 and allocated when the configuration is loaded: 640 KiB for 10000); a new "
              "key replaces one of the longest idle." },
    TRUSTED_PROXIES_KEY,
};

static int setup_rate_limit(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    for (size_t i = 0; i < v->nblocks; i++) {
        const struct nxx_cfg_block *m = v->blocks[i];
        const struct nxx_cfg_val *tp = nxx_cfg_get(m, "trusted-proxies");
        nxx_rate_limit_config rc;
        nxx_rate_limit_config_init(&rc);
        unsigned long long q = 0, w = 0;
        parse_rate(nxx_cfg_str(m, "limit"), &q, &w);
        rc.quota = q;
        rc.window_s = w;
        rc.by = (enum nxx_rate_key)nxx_cfg_num(m, "by");
        rc.field = nxx_cfg_str(m, "field");
        rc.param = nxx_cfg_str(m, "param");
        rc.name = nxx_cfg_str(m, "name");
        rc.bucket = nxx_cfg_num(m, "algorithm") == 1;
        rc.fields = (int)nxx_cfg_num(m, "fields");
        rc.max_keys = (size_t)nxx_cfg_num(m, "max-keys");
        rc.trusted_proxies = tp ? tp->items : NULL;
        rc.ntrusted = tp ? tp->nitems : 0;
        int e = nxx_scope_rate_limit(scope, &rc);
        if (e)
            return nxx_cfg_fail(b, m->pos, "rate-limit: %s", nxx_strerror(e));
    }
    return 0;
}

static const struct nxx_cfg_key early_keys[] = {
    { .name = "mode",
      .arg = "safe|reject",
      .type = K_ENUM,
      .def = "safe",
      .choices = (const char *const[]){ "safe", "reject", NULL },
      .help = "safe: early requests with unsafe methods (POST, PUT, DELETE, ...) get 425; "
              "reject: every early request of the scope gets 425." },
    TRUSTED_PROXIES_KEY,
};

static int setup_early_data(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    const struct nxx_cfg_val *tp = nxx_cfg_get(m, "trusted-proxies");
    int e = nxx_scope_early_data(scope, nxx_cfg_num(m, "mode") == 1, tp ? tp->items : NULL,
                                 tp ? tp->nitems : 0);
    return e ? nxx_cfg_fail(b, v->pos, "early-data: %s", nxx_strerror(e)) : 0;
}

static int setup_require_extension(struct nxx_cfg_build *b, nxx_scope *scope,
                                   const struct nxx_cfg_val *v)
{
    int e = nxx_scope_require_extension(scope, v->s);
    return e ? nxx_cfg_fail(b, v->pos, "require-extension: %s", nxx_strerror(e)) : 0;
}

static const char *check_https_url(const char *text)
{
    if (strncmp(text, "https://", 8) != 0 || !text[8] || strlen(text) > 512)
        return "is not an https:// URL of at most 512 characters";
    return strpbrk(text, "\"\\ \t<>") ? "is not a URL (quotes, spaces or angle brackets)" : NULL;
}

static const struct nxx_cfg_key captive_keys[] = {
    { .name = "portal",
      .arg = "PATH",
      .type = K_STRING,
      .flags = NXX_CFG_REQUIRED,
      .help = "Path prefix of the portal's own pages and assets, served to everyone; the 511 "
              "page links here.",
      .check = nxx_cfg_check_abs_path },
    { .name = "login",
      .arg = "PATH",
      .type = K_STRING,
      .flags = NXX_CFG_REQUIRED,
      .help = "A POST to this path (the login form's action) admits the client address and "
              "answers 303 to `back`.",
      .check = nxx_cfg_check_abs_path },
    { .name = "back",
      .arg = "PATH",
      .type = K_STRING,
      .def = "/",
      .help = "Where an admitted client is redirected.",
      .check = nxx_cfg_check_abs_path },
    { .name = "admit",
      .arg = "SECONDS",
      .type = K_COUNT,
      .min = 1,
      .max = 31536000,
      .def = "3600",
      .help = "How long an admitted address may use the network." },
    { .name = "api",
      .arg = "PATH",
      .type = K_STRING,
      .help = "Serve the RFC 8908 captive-portal API (application/captive+json) at this path.",
      .check = nxx_cfg_check_abs_path },
    { .name = "portal-url",
      .arg = "URL",
      .type = K_STRING,
      .help = "The API's user-portal-url (an https:// URL, RFC 8908 §5), when the portal is "
              "reached under another name; by default the portal path on the host the device "
              "asked, https:// when it asked over TLS.",
      .check = check_https_url },
    { .name = "max-clients",
      .arg = "N",
      .type = K_COUNT,
      .min = 8,
      .max = 100000000,
      .def = "10000",
      .help = "Admitted addresses remembered at most (entries of 40 bytes, rounded up to a power "
              "of two of sets of 8)." },
    TRUSTED_PROXIES_KEY,
};

static int setup_captive(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    const struct nxx_cfg_val *tp = nxx_cfg_get(m, "trusted-proxies");
    nxx_captive_config cc;
    nxx_captive_config_init(&cc);
    cc.portal = nxx_cfg_str(m, "portal");
    cc.login = nxx_cfg_str(m, "login");
    cc.back = nxx_cfg_str(m, "back");
    cc.api = nxx_cfg_str(m, "api");
    cc.portal_url = nxx_cfg_str(m, "portal-url");
    cc.admit_s = (unsigned)nxx_cfg_num(m, "admit");
    cc.max_clients = (size_t)nxx_cfg_num(m, "max-clients");
    cc.trusted_proxies = tp ? tp->items : NULL;
    cc.ntrusted = tp ? tp->nitems : 0;
    int e = nxx_scope_captive(scope, &cc);
    return e ? nxx_cfg_fail(b, v->pos, "captive: %s", nxx_strerror(e)) : 0;
}

static const char *check_collection(const char *text)
{
    size_t n = strspn(text, "abcdefghijklmnopqrstuvwxyz0123456789_-");
    return n == strlen(text) && n <= 64 ? NULL
                                        : "is not a collection name (1 to 64 of a-z, 0-9, _ and -)";
}

static const struct nxx_cfg_key quota_keys[] = {
    { .name = "keys",
      .arg = "FILE",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .help = "API keys: lines \"name:SHA256HEX[:QUOTA]\", the SHA-256 of each key in lowercase "
              "hex (printf %s KEY | sha256sum) and its own quota if it has one. `keys`, "
              "`collection` or both (the file is looked at first)." },
    { .name = "collection",
      .arg = "NAME",
      .type = K_STRING,
      .help = "API keys from this collection of the REST store in `data`: an item whose id is "
              "the key's SHA-256 in lowercase hex, with an optional \"name\" and \"quota\" "
              "(so a POST or PUT through the REST API creates a key).",
      .check = check_collection },
    { .name = "data",
      .arg = "DIR",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .def = "./data",
      .help = "The REST store's directory of `collection` (the database an `api` location of "
              "the same directory serves, shared with it)." },
    { .name = "cache",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .max = 3600000,
      .def = "10",
      .help = "What the store says of a key is remembered this long: a key changed or deleted "
              "through the REST API takes effect within it. 0: read it on every request." },
    { .name = "max-keys",
      .arg = "N",
      .type = K_COUNT,
      .min = 8,
      .max = 100000000,
      .def = "10000",
      .help = "Counts kept at most besides the file's keys (about 150 bytes each, allocated "
              "when the configuration is loaded); past it the least recently used key's count "
              "is forgotten, which only gives requests away." },
    { .name = "limit",
      .arg = "N",
      .type = K_COUNT,
      .min = 1,
      .max = 1000000000000ull,
      .flags = NXX_CFG_REQUIRED,
      .help = "Requests per period for a key without a quota of its own; past it, 402." },
    { .name = "period",
      .arg = "day|month",
      .type = K_ENUM,
      .def = "day",
      .choices = (const char *const[]){ "day", "month", NULL },
      .help = "The quota renews at midnight UTC, or on the first of each month (UTC)." },
    { .name = "field",
      .arg = "NAME",
      .type = K_STRING,
      .def = "X-API-Key",
      .help = "The header field that carries the key.",
      .check = nxx_cfg_check_field_name },
    { .name = "param",
      .arg = "NAME",
      .type = K_STRING,
      .help = "The query parameter that carries the key when the field is absent.",
      .check = nxx_cfg_check_token },
    { .name = "purchase",
      .arg = "URL",
      .type = K_STRING,
      .help = "Where to buy more: named in the 402's problem body.",
      .check = check_link },
    { .name = "state",
      .arg = "FILE",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .help = "The counters' file, so they survive a restart (written every sync-every counted "
              "requests and at shutdown; a crash forgets fewer than sync-every)." },
    { .name = "sync-every",
      .arg = "N",
      .type = K_COUNT,
      .min = 1,
      .max = 1000000,
      .def = "100",
      .help = "Counted requests between writes of the state file." },
};

static int setup_quota(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    nxx_quota_config qc;
    nxx_quota_config_init(&qc);
    qc.keys = nxx_cfg_str(m, "keys");
    qc.collection = nxx_cfg_str(m, "collection");
    qc.data_dir = nxx_cfg_str(m, "data");
    qc.cache_ms = (unsigned)nxx_cfg_num(m, "cache");
    qc.max_keys = (size_t)nxx_cfg_num(m, "max-keys");
    if (!qc.keys && !qc.collection)
        return nxx_cfg_fail(b, v->pos,
                            "quota: `keys` (a file), `collection` (in the REST "
                            "store) or both are needed");
    if (qc.collection && (b->mode & NXX_CFG_MODE_CHECK)) {
        /* nxx check does not open the store: the key file alone is loaded */
        qc.collection = NULL;
        if (!qc.keys)
            return 0;
    }
    qc.limit = nxx_cfg_num(m, "limit");
    qc.monthly = nxx_cfg_num(m, "period") == 1;
    qc.field = nxx_cfg_str(m, "field");
    qc.param = nxx_cfg_str(m, "param");
    qc.purchase = nxx_cfg_str(m, "purchase");
    qc.state = nxx_cfg_str(m, "state");
    qc.sync_every = (unsigned)nxx_cfg_num(m, "sync-every");
    char why[512] = "";
    int e = nxx_scope_quota(scope, &qc, why, sizeof(why));
    return e ? nxx_cfg_fail(b, v->pos, "quota: %s", why[0] ? why : nxx_strerror(e)) : 0;
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
    { .name = "early-hints",
      .arg = "LINKS",
      .type = K_LIST,
      .help = "Link field values (\"</app.css>; rel=preload; as=style\") sent in a 103 Early "
              "Hints to GET and HEAD requests of the scope once its head policies pass, before "
              "the handler runs (RFC 8297; never to HTTP/1.0); the final response carries the "
              "same Link fields. The hints of every enclosing scope are sent too.",
      .scopes = NXX_CFG_SCOPED,
      .setup = setup_early_hints },
    { .name = "maintenance",
      .type = K_BLOCK,
      .help = "A maintenance switch: while a file exists, 503 with Retry-After and an HTML page "
              "(or a problem body) for every request of the scope but exempt paths.",
      .scopes = NXX_CFG_SCOPED,
      .sub = maintenance_keys,
      .nsub = sizeof(maintenance_keys) / sizeof(maintenance_keys[0]),
      .shorthand = "file",
      .setup = setup_maintenance },
    { .name = "captive",
      .type = K_BLOCK,
      .help = "A captive portal: addresses not yet admitted get 511 with a page linking to the "
              "portal; a POST to `login` admits the address for a while (RFC 6585 §6, RFC "
              "8908 API).",
      .scopes = NXX_CFG_SCOPED,
      .sub = captive_keys,
      .nsub = sizeof(captive_keys) / sizeof(captive_keys[0]),
      .shorthand = "portal",
      .setup = setup_captive },
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
    { .name = "early-data",
      .type = K_BLOCK,
      .help = "425 Too Early for requests that could be replayed TLS 1.3 early data: received "
              "as 0-RTT, or marked Early-Data: 1 by a trusted proxy (RFC 8470).",
      .scopes = NXX_CFG_SCOPED,
      .sub = early_keys,
      .nsub = sizeof(early_keys) / sizeof(early_keys[0]),
      .shorthand = "mode",
      .setup = setup_early_data },
    { .name = "require-extension",
      .arg = "URI",
      .type = K_STRING,
      .help = "RFC 2774: requests must declare this extension mandatory (M-GET ... with Man: "
              "\"URI\"; ns=NN); others get 510 Not Extended, fulfilled ones carry Ext.",
      .scopes = NXX_CFG_SCOPED,
      .setup = setup_require_extension,
      .check = check_link },
    { .name = "auth",
      .type = K_BLOCK,
      .help = "Authentication: Basic (an htpasswd file), Bearer tokens (a file of their "
              "digests) and JWTs: 401 with WWW-Authenticate (407 with Proxy-Authenticate for a "
              "proxy) without valid credentials; 429 for an address that fails too often.",
      .scopes = NXX_CFG_SCOPED,
      .sub = auth_keys,
      .nsub = sizeof(auth_keys) / sizeof(auth_keys[0]),
      .shorthand = "basic",
      .setup = setup_auth },
    { .name = "require",
      .type = K_BLOCKS,
      .help = "Roles the authenticated user must have (one rule, or a list of rules each for "
              "some methods): 403 naming the role otherwise.",
      .scopes = NXX_CFG_SCOPED,
      .sub = require_keys,
      .nsub = sizeof(require_keys) / sizeof(require_keys[0]),
      .shorthand = "role",
      .setup = setup_require },
    { .name = "rate-limit",
      .type = K_BLOCKS,
      .help = "Rate limits (one, or a list): over the limit, 429 with Retry-After, "
              "RateLimit-Policy and RateLimit; counted across workers.",
      .scopes = NXX_CFG_SCOPED,
      .sub = rate_keys,
      .nsub = sizeof(rate_keys) / sizeof(rate_keys[0]),
      .shorthand = "limit",
      .setup = setup_rate_limit },
    { .name = "quota",
      .type = K_BLOCK,
      .help = "API keys with a quota per day or month: 403 without a known key, 402 Payment "
              "Required when its quota is spent (with when it renews and where to buy more).",
      .scopes = NXX_CFG_SCOPED,
      .sub = quota_keys,
      .nsub = sizeof(quota_keys) / sizeof(quota_keys[0]),
      .setup = setup_quota },
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
