/*
 * ratelimit.c - request rate limits (429 Too Many Requests, RFC 6585 §4)
 * with the RateLimit-Policy and RateLimit fields of the IETF httpapi
 * draft "RateLimit header fields for HTTP" (structured fields, RFC 8941):
 *
 *     RateLimit-Policy: "default";q=100;w=60
 *     RateLimit: "default";r=42;t=17
 *
 * q is the quota, w the window in seconds, r what is left and t the
 * seconds until the quota is whole again.  Allowed responses carry both
 * fields (unless turned off), and a refusal adds Retry-After, as RFC 6585
 * asks (nginx's limit_req answers 503 without it by default).
 *
 * Each limit is one policy with its own shared limiter (limiter.c), so
 * several limits on one location are several policies, each counting its
 * own key: the client address (IPv6 by /64, behind trusted proxies the
 * forwarded one), the authenticated user, an API key, or a request field.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/compiler.h"
#include "core/str.h"
#include "http/request.h"
#include "http/site.h"
#include "policy/client.h"
#include "policy/digest.h"
#include "policy/limiter.h"
#include "policy/shared.h"
#include "core/banned.h"

struct limit {
    struct nxx_limiter *lim;
    struct nxx_shared *shared; /* lim's reference: kept across reloads */
    enum nxx_rate_key by;
    char *field; /* the header field of NXX_RATE_BY_FIELD / API key; lowercase */
    char *param; /* the query parameter of an API key, or NULL */
    int fields;  /* RateLimit fields on allowed responses */
    uint64_t quota, window_s;
    struct nxx_cidrs trusted;
    char policy_line[192]; /* "RateLimit-Policy: ...\r\n" */
    size_t policy_len;
    char name[64];                  /* the policy's name, as an sf-string */
    size_t prefix_len, prefix_room; /* prefix_room: prefix_len rounded up to 16 */
    char prefix[320];               /* policy_line, then "RateLimit: \"NAME\";r=" */
};

/* The key of the request; 0, or -1 when the request has none (not limited
 * by this rule: no user signed in, no API key, no such field). */
static int key_of(nxx_req *req, const struct limit *l, struct nxx_limit_key *k)
{
    nxx_str v = { NULL, 0 };
    switch (l->by) {
    case NXX_RATE_BY_ADDRESS: {
        if (!l->trusted.n) { /* the peer is the client: no copy of its address */
            nxx_limit_key_addr(k, nxx_req_peer_addr(req));
            return 0;
        }
        struct sockaddr_storage ss;
        nxx_client_addr(req, &l->trusted, &ss);
        nxx_limit_key_addr(k, (const struct sockaddr *)&ss);
        return 0;
    }
    case NXX_RATE_BY_USER: v = nxx_req_notes_get(req)->user; break;
    case NXX_RATE_BY_API_KEY:
        v = nxx_req_header(req, l->field);
        if (!v.len && l->param)
            v = nxx_req_query_value(req, l->param);
        break;
    case NXX_RATE_BY_FIELD: v = nxx_req_header(req, l->field); break;
    }
    if (!v.len)
        return -1;
    unsigned char d[32];
    nxx_policy_sha256(req, v.ptr, v.len, NULL, 0, d);
    nxx_limit_key_name(k, d);
    return 0;
}

/* Copy n bytes in 16-byte blocks: both sides have room for the rounded-up
 * length, so this is a few vector moves instead of a call to memcpy. */
static NXX_INLINE char *put_blocks(char *d, const char *s, size_t n)
{
    memcpy(d, s, 64); /* the usual prefix is 60 to 80 bytes */
    for (size_t i = 64; i < n; i += 16)
        memcpy(d + i, s + i, 16);
    return d + n;
}

/* Both fields in place, in one arena allocation: this runs on every
 * allowed request, so the constant part (the policy's line and the start
 * of RateLimit) is made when the configuration loads and copied in blocks,
 * and the two counts are formatted without printf. */
static NXX_INLINE void add_fields(nxx_req *req, const struct limit *l,
                                  const struct nxx_limit_result *r)
{
    /* the prefix rounded up, two counts with their 8 bytes of slack, ";t=", CRLF */
    char *buf = nxx_resp_lines_room(req, l->prefix_room + 2 * 28 + 3 + 2);
    if (!buf)
        return;
    char *p = put_blocks(buf, l->prefix, l->prefix_len);
    p = nxx_u64_put(p, r->remaining);
    memcpy(p, ";t=", 3);
    p = nxx_u64_put(p + 3, r->reset_s);
    memcpy(p, "\r\n", 2);
    nxx_resp_lines_commit(req, buf, (size_t)(p + 2 - buf));
}

static const char *what(const struct limit *l)
{
    switch (l->by) {
    case NXX_RATE_BY_USER: return "user";
    case NXX_RATE_BY_API_KEY: return "API key";
    case NXX_RATE_BY_FIELD: return "client";
    default: return "address";
    }
}

/* 429 (RFC 6585 §4): out of the hot path, with its buffers. */
static NXX_COLD NXX_NOINLINE int refuse(nxx_req *req, const struct limit *l,
                                        const struct nxx_limit_result *r)
{
    char retry[24];
    snprintf(retry, sizeof(retry), "%llu", (unsigned long long)r->retry_s);
    nxx_resp_header(req, "Retry-After", (nxx_str){ retry, strlen(retry) });
    add_fields(req, l, r);
    nxx_req_detail(req,
                   "this %s has used its %llu requests per %llu seconds; try again in %s "
                   "seconds",
                   what(l), (unsigned long long)l->quota, (unsigned long long)l->window_s, retry);
    nxx_req_notes(req)->decided = "rate-limit";
    return 429;
}

static int limit_policy(nxx_req *req, void *ud)
{
    struct limit *l = ud;
    struct nxx_limit_key k;
    if (key_of(req, l, &k) != 0)
        return 0;
    struct nxx_limit_result r;
    nxx_limiter_take(l->lim, &k, nxx_req_now_ms(req), 1, &r);
    if (!r.allowed)
        return refuse(req, l, &r);
    if (l->fields)
        add_fields(req, l, &r);
    return 0;
}

static void limit_free(void *arg)
{
    struct limit *l = arg;
    nxx_shared_put(l->shared);
    nxx_free(l->field);
    nxx_free(l->param);
    nxx_cidrs_release(&l->trusted);
    nxx_free(l);
}

static int name_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e || s[n] == '"' || s[n] == '\\')
            return 0;
    return n > 0 && n < 48;
}

static char *lower_dup(const char *s)
{
    char *d = nxx_strdup(s);
    for (char *p = d; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

void nxx_rate_limit_config_init(nxx_rate_limit_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->name = "default";
    cfg->max_keys = 10000;
    cfg->fields = 1;
    cfg->field = "X-API-Key";
}

int nxx_scope_rate_limit(nxx_scope *scope, const nxx_rate_limit_config *cfg)
{
    if (!scope || !cfg || !cfg->quota || !cfg->window_s || !cfg->max_keys ||
        (cfg->name && !name_ok(cfg->name)) ||
        ((cfg->by == NXX_RATE_BY_FIELD || cfg->by == NXX_RATE_BY_API_KEY) &&
         (!cfg->field || !*cfg->field)))
        return NXX_EINVAL;
    struct limit *l = nxx_calloc(1, sizeof(*l));
    if (!l)
        return NXX_ENOMEM;
    l->by = cfg->by;
    l->fields = cfg->fields;
    l->quota = cfg->quota;
    l->window_s = cfg->window_s;
    snprintf(l->name, sizeof(l->name), "\"%s\"", cfg->name ? cfg->name : "default");
    l->policy_len = (size_t)snprintf(
        l->policy_line, sizeof(l->policy_line), "RateLimit-Policy: %s;q=%llu;w=%llu\r\n", l->name,
        (unsigned long long)cfg->quota, (unsigned long long)cfg->window_s);
    l->prefix_len = (size_t)snprintf(l->prefix, sizeof(l->prefix),
                                     "%sRateLimit: %s;r=", l->policy_line, l->name);
    /* within prefix[]; at least 64 (put_blocks) */
    l->prefix_room = l->prefix_len < 64 ? 64 : (l->prefix_len + 15) & ~(size_t)15;
    int e = 0;
    /* the same limit in the same place after a reload keeps its counts */
    char key[768], where[512];
    nxx_shared_scope_key(scope, where, sizeof(where));
    snprintf(key, sizeof(key), "%s|rate|%s|%d|%s|%s", where, l->name, (int)cfg->by,
             cfg->field ? cfg->field : "", cfg->param ? cfg->param : "");
    l->lim = nxx_limiter_shared(key, scope->site, cfg->quota, cfg->window_s * 1000,
                                cfg->bucket ? NXX_LIMIT_BUCKET : NXX_LIMIT_WINDOW, cfg->max_keys,
                                &l->shared);
    if (!l->lim)
        e = NXX_ENOMEM;
    if (!e && cfg->field && !(l->field = lower_dup(cfg->field)))
        e = NXX_ENOMEM;
    if (!e && cfg->param && !(l->param = nxx_strdup(cfg->param)))
        e = NXX_ENOMEM;
    if (!e && nxx_cidrs_init(&l->trusted, cfg->trusted_proxies, cfg->ntrusted, NULL) != 0)
        e = NXX_EINVAL;
    if (!e)
        e = nxx_scope_on_free(scope, limit_free, l);
    if (e) {
        limit_free(l);
        return e;
    }
    return nxx_scope_policy(scope, NXX_PHASE_HEAD, limit_policy, l);
}
