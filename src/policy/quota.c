/*
 * quota.c - API keys with a quota of requests per day or per month (UTC):
 * a request needs a known key (a header field, else a query parameter;
 * 403 otherwise), and a key whose quota for the period is spent gets 402
 * Payment Required, whose problem body says the quota, what was used, when
 * it renews (RFC 3339) and where to buy more.
 *
 * Keys are read from a file of their SHA-256 digests (a leaked file leaks
 * no key).  Counters live in memory under one lock per quota and are
 * written to a state file (a temporary file renamed over it, so a crash
 * never leaves half a file) every `sync_every` counted requests and when
 * the configuration is freed; a restart reads it back.  So a crash forgets
 * at most sync_every - 1 counted requests of this quota (spread over all
 * its keys): clients get that many requests free, never fewer than paid.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "http/date.h"
#include "http/request.h"
#include "http/site.h"
#include "policy/digest.h"
#include "core/banned.h"

struct qkey {
    unsigned char digest[32];
    char *name;
    uint64_t quota;
    int64_t period; /* the period the count belongs to */
    uint64_t used;
};

struct quota {
    char *field, *param, *purchase, *state;
    int monthly;
    unsigned sync_every;
    struct qkey *keys; /* sorted by digest */
    size_t nkeys;
    pthread_mutex_t lock;
    unsigned dirty; /* counted since the state file was written */
};

/* The period of a wall-clock time: days or months since 1970 (UTC). */
static int64_t period_of(const struct quota *q, int64_t t)
{
    if (!q->monthly)
        return t / 86400;
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    return (int64_t)(tm.tm_year + 1900 - 1970) * 12 + tm.tm_mon;
}

/* When period p + 1 starts. */
static int64_t renews_at(const struct quota *q, int64_t p)
{
    if (!q->monthly)
        return (p + 1) * 86400;
    int64_t y = 1970 + (p + 1) / 12, m = (p + 1) % 12;
    /* days from 1970-01-01 to y-m-01 (civil calendar) */
    int64_t yy = y - (m < 2), mm = m < 2 ? m + 13 : m + 1;
    int64_t days = 365 * yy + yy / 4 - yy / 100 + yy / 400 + (153 * (mm - 3) + 2) / 5 + 1 - 719469;
    return days * 86400;
}

static int by_digest(const void *a, const void *b)
{
    return memcmp(((const struct qkey *)a)->digest, ((const struct qkey *)b)->digest, 32);
}

static void save(struct quota *q)
{
    if (!q->state)
        return;
    size_t n = strlen(q->state) + 8;
    char *tmp = nxx_malloc(n);
    if (!tmp)
        return;
    snprintf(tmp, n, "%s.tmp", q->state);
    FILE *f = fopen(tmp, "we");
    int ok = f != NULL;
    for (size_t i = 0; ok && i < q->nkeys; i++) {
        const struct qkey *k = &q->keys[i];
        if (!k->used)
            continue;
        for (size_t j = 0; j < 32; j++)
            fprintf(f, "%02x", k->digest[j]);
        fprintf(f, " %lld %llu\n", (long long)k->period, (unsigned long long)k->used);
    }
    if (f) {
        ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
        ok = fclose(f) == 0 && ok;
    }
    if (!ok || rename(tmp, q->state) != 0) {
        nxx_log_error("quota: cannot write '%s': %s", q->state, strerror(errno));
        unlink(tmp);
    }
    nxx_free(tmp);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int parse_hex(const char *s, unsigned char out[32])
{
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static void load_state(struct quota *q)
{
    FILE *f = q->state ? fopen(q->state, "re") : NULL;
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        struct qkey key;
        char *end = NULL;
        if (strlen(line) < 66 || line[64] != ' ' || parse_hex(line, key.digest) != 0)
            continue;
        long long p = strtoll(line + 65, &end, 10);
        if (!end || *end != ' ')
            continue;
        unsigned long long used = strtoull(end + 1, NULL, 10);
        struct qkey *k =
            q->nkeys ? bsearch(&key, q->keys, q->nkeys, sizeof(*q->keys), by_digest) : NULL;
        if (k) {
            k->period = p;
            k->used = used;
        }
    }
    fclose(f);
}

/* "name:SHA256HEX[:QUOTA]" lines. */
static int load_keys(struct quota *q, const char *path, uint64_t def, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    char line[512];
    size_t lineno = 0, cap = 0;
    int r = 0;
    while (!r && fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        size_t hl = c2 ? (size_t)(c2 - c1 - 1) : c1 ? strlen(c1 + 1) : 0;
        struct qkey k = { .quota = def, .period = -1 };
        if (!c1 || c1 == line || hl != 64 || parse_hex(c1 + 1, k.digest) != 0) {
            snprintf(err, errlen,
                     "%s:%zu: not a 'name:SHA256HEX[:QUOTA]' line (the key's SHA-256 in 64 "
                     "lowercase hex digits)",
                     path, lineno);
            r = -1;
            break;
        }
        if (c2) {
            char *end = NULL;
            k.quota = strtoull(c2 + 1, &end, 10);
            if (!end || *end || !k.quota) {
                snprintf(err, errlen, "%s:%zu: the quota is not a whole number above 0", path,
                         lineno);
                r = -1;
                break;
            }
        }
        *c1 = '\0';
        if (q->nkeys == cap) {
            cap = cap ? cap * 2 : 16;
            struct qkey *nk = nxx_realloc(q->keys, cap * sizeof(*nk));
            if (!nk) {
                snprintf(err, errlen, "out of memory");
                r = -1;
                break;
            }
            q->keys = nk;
        }
        k.name = nxx_strdup(line);
        q->keys[q->nkeys++] = k;
    }
    fclose(f);
    if (r)
        return r;
    if (q->nkeys)
        qsort(q->keys, q->nkeys, sizeof(*q->keys), by_digest);
    for (size_t i = 1; i < q->nkeys; i++)
        if (memcmp(q->keys[i - 1].digest, q->keys[i].digest, 32) == 0) {
            snprintf(err, errlen, "%s: a key is listed twice", path);
            return -1;
        }
    return 0;
}

static int quota_policy(nxx_req *req, void *ud)
{
    struct quota *q = ud;
    nxx_str v = nxx_req_header(req, q->field);
    if (!v.len && q->param)
        v = nxx_req_query_value(req, q->param);
    struct qkey key;
    struct qkey *k = NULL;
    if (v.len && q->nkeys && nxx_policy_sha256(req, v.ptr, v.len, NULL, 0, key.digest) == 0)
        k = bsearch(&key, q->keys, q->nkeys, sizeof(*q->keys), by_digest);
    if (!k) {
        nxx_req_notes(req)->decided = "quota";
        nxx_req_detail(req, "%s: send a valid API key in the %s field%s%s",
                       v.len ? "this API key is not known" : "an API key is required", q->field,
                       q->param ? " or the query parameter " : "", q->param ? q->param : "");
        return 403;
    }
    int64_t now = nxx_req_wall_s(req), p = period_of(q, now);
    pthread_mutex_lock(&q->lock);
    if (k->period != p) {
        k->period = p;
        k->used = 0;
    }
    int spent = k->used >= k->quota;
    if (!spent) {
        k->used++;
        if (++q->dirty >= q->sync_every) {
            q->dirty = 0;
            save(q);
        }
    }
    uint64_t used = k->used;
    pthread_mutex_unlock(&q->lock);
    if (!nxx_req_notes_get(req)->user.len)
        nxx_req_notes(req)->user = (nxx_str){ k->name, strlen(k->name) };
    if (!spent)
        return 0;
    char when[21];
    nxx_date_iso(renews_at(q, p), when);
    char *json = nxx_req_alloc(req, 512 + 2 * (q->purchase ? strlen(q->purchase) : 0));
    if (json) {
        int n = snprintf(json, 512,
                         "\"quota\":%llu,\"used\":%llu,\"period\":\"%s\",\"renews\":\"%.20s\"",
                         (unsigned long long)k->quota, (unsigned long long)used,
                         q->monthly ? "month" : "day", when);
        if (q->purchase && n > 0)
            n += snprintf(json + n, 512 + 2 * strlen(q->purchase) - (size_t)n,
                          ",\"purchase\":\"%s\"", q->purchase);
        if (n > 0)
            nxx_req_problem_members(req, (nxx_str){ json, (size_t)n });
    }
    nxx_req_notes(req)->decided = "quota";
    nxx_req_detail(req,
                   "the quota of %llu requests per %s for API key '%s' is spent (%llu used); it "
                   "renews at %.20s%s%s",
                   (unsigned long long)k->quota, q->monthly ? "month" : "day", k->name,
                   (unsigned long long)used, when, q->purchase ? "; buy more at " : "",
                   q->purchase ? q->purchase : "");
    return 402;
}

static void quota_free(void *arg)
{
    struct quota *q = arg;
    if (q->dirty)
        save(q);
    for (size_t i = 0; i < q->nkeys; i++)
        nxx_free(q->keys[i].name);
    nxx_free(q->keys);
    nxx_free(q->field);
    nxx_free(q->param);
    nxx_free(q->purchase);
    nxx_free(q->state);
    pthread_mutex_destroy(&q->lock);
    nxx_free(q);
}

void nxx_quota_config_init(nxx_quota_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->field = "X-API-Key";
    cfg->sync_every = 100;
}

int nxx_scope_quota(nxx_scope *scope, const nxx_quota_config *cfg, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    if (!scope || !cfg || !cfg->keys || !cfg->limit || !cfg->field || !*cfg->field ||
        (cfg->purchase && strpbrk(cfg->purchase, "\"\\<> \t\r\n"))) {
        snprintf(err, errlen,
                 "a key file, a limit and a field are needed; the purchase URL has "
                 "no quotes or spaces");
        return NXX_EINVAL;
    }
    struct quota *q = nxx_calloc(1, sizeof(*q));
    if (!q)
        return NXX_ENOMEM;
    pthread_mutex_init(&q->lock, NULL);
    q->monthly = cfg->monthly;
    q->sync_every = cfg->sync_every ? cfg->sync_every : 1;
    int e = 0;
    if (!(q->field = nxx_strdup(cfg->field)) ||
        (cfg->param && !(q->param = nxx_strdup(cfg->param))) ||
        (cfg->purchase && !(q->purchase = nxx_strdup(cfg->purchase))) ||
        (cfg->state && !(q->state = nxx_strdup(cfg->state))))
        e = NXX_ENOMEM;
    if (!e && load_keys(q, cfg->keys, cfg->limit, err, errlen) != 0)
        e = NXX_EINVAL;
    if (!e)
        load_state(q);
    if (!e)
        e = nxx_scope_on_free(scope, quota_free, q);
    if (e) {
        quota_free(q);
        return e;
    }
    return nxx_scope_policy(scope, NXX_PHASE_HEAD, quota_policy, q);
}
