/*
 * quota.c - API keys with a quota of requests per day or per month (UTC):
 * a request needs a known key (a header field, else a query parameter;
 * 403 otherwise), and a key whose quota for the period is spent gets 402
 * Payment Required, whose problem body says the quota, what was used, when
 * it renews (RFC 3339) and where to buy more.
 *
 * Keys come from a file of their SHA-256 digests (a leaked file leaks no
 * key), or from a collection of the REST store whose items are named by
 * that digest ({"name": ..., "quota": ...}), or both (the file first).
 * A store read costs a query, so what a read said is remembered for
 * `cache_ms` in the key's counter entry: a key created or changed through
 * the REST API counts from its next read, a deleted one is refused once its
 * entry is that old.  Unknown keys are not remembered (a flood of made-up
 * keys must not push out the counts of real ones); each costs one read.
 *
 * Counters live in a table of at most max_keys entries (plus the file's
 * keys), under one lock, least recently used first out: a key pushed out
 * starts its count again, which only ever gives requests away.  The table
 * is shared across configuration generations (shared.h), so a reload that
 * keeps the policy keeps its counts.  It is written to a state file (a
 * temporary file renamed over it, so a crash never leaves half a file)
 * every `sync_every` counted requests, outside the lock, and when the last
 * generation using it is freed; a start reads it back.  So a crash forgets
 * at most sync_every - 1 counted requests of this quota (spread over all
 * its keys): clients get that many requests free, never fewer than paid.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/compiler.h"
#include "core/log.h"
#include "handlers/rest/rest.h"
#include "http/date.h"
#include "http/request.h"
#include "http/site.h"
#include "policy/digest.h"
#include "policy/lines.h"
#include "policy/shared.h"
#include "store/store.h"
#include "core/banned.h"

#define NAME_MAX_LEN 48 /* a store key's name, as logged and shown */

/* A key of the key file. */
struct qkey {
    unsigned char digest[32];
    char *name;
    uint64_t quota;
};

/* A key's count, and what the store said about it. */
struct centry {
    unsigned char digest[32];
    int64_t period; /* the period the count belongs to */
    uint64_t used;
    uint64_t read_ms; /* when the store was read for it; 0: never */
    uint64_t quota;   /* the store's quota for it; 0: the policy's limit */
    int known;        /* the store had it when read */
    char name[NAME_MAX_LEN];
    struct centry *chain;       /* its hash bucket */
    struct centry *prev, *next; /* least recently used last */
};

/* The counts of one quota, shared by the generations that keep it. */
struct counters {
    pthread_mutex_t lock;
    struct centry *pool;
    size_t cap, n;
    struct centry **bucket;
    size_t bmask;
    struct centry lru; /* the list's head: lru.next is the most recent */
    char *state;
    unsigned sync_every;
    unsigned dirty; /* counted since the last snapshot */
    uint64_t snap_seq;
    pthread_mutex_t save_lock;
    uint64_t saved_seq;
};

struct quota {
    char *field, *param, *purchase;
    int monthly;
    uint64_t limit;
    struct qkey *keys; /* sorted by digest */
    size_t nkeys;
    struct nxx_rest_db *db; /* keys from the REST store, or NULL */
    char *coll;
    unsigned cache_ms;
    struct counters *c;
    struct nxx_shared *shared; /* c's reference */
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

static void to_hex(const unsigned char d[32], char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[64] = '\0';
}

/* ---- the counter table (under c->lock) ---- */

static size_t bucket_of(const struct counters *c, const unsigned char d[32])
{
    uint64_t h;
    memcpy(&h, d, sizeof(h)); /* a SHA-256: its bytes are as good as any hash */
    return (size_t)(h & c->bmask);
}

static void lru_unlink(struct centry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
}

static void lru_front(struct counters *c, struct centry *e)
{
    e->next = c->lru.next;
    e->prev = &c->lru;
    c->lru.next->prev = e;
    c->lru.next = e;
}

static struct centry *lookup(struct counters *c, const unsigned char d[32])
{
    for (struct centry *e = c->bucket[bucket_of(c, d)]; e; e = e->chain)
        if (memcmp(e->digest, d, 32) == 0) {
            lru_unlink(e);
            lru_front(c, e);
            return e;
        }
    return NULL;
}

/* A fresh entry for d: a free one, else the least recently used one. */
static struct centry *insert(struct counters *c, const unsigned char d[32])
{
    struct centry *e;
    if (c->n < c->cap) {
        e = &c->pool[c->n++];
    } else {
        e = c->lru.prev;
        lru_unlink(e);
        struct centry **pp = &c->bucket[bucket_of(c, e->digest)];
        while (*pp != e)
            pp = &(*pp)->chain;
        *pp = e->chain;
    }
    memset(e, 0, sizeof(*e));
    memcpy(e->digest, d, 32);
    e->period = -1;
    size_t b = bucket_of(c, d);
    e->chain = c->bucket[b];
    c->bucket[b] = e;
    lru_front(c, e);
    return e;
}

/* ---- the state file ---- */

/* Every count, as the state file's lines; NULL on ENOMEM.  Under c->lock. */
static char *snapshot(struct counters *c, size_t *len)
{
    size_t cap = c->n * 100 + 1, n = 0;
    char *buf = nxx_malloc(cap);
    for (size_t i = 0; buf && i < c->n; i++) {
        const struct centry *e = &c->pool[i];
        if (!e->used)
            continue;
        char hex[65];
        to_hex(e->digest, hex);
        n += (size_t)snprintf(buf + n, cap - n, "%s %lld %llu\n", hex, (long long)e->period,
                              (unsigned long long)e->used);
    }
    *len = n;
    return buf;
}

static void write_state(struct counters *c, const char *text, size_t len)
{
    size_t n = strlen(c->state) + 8;
    char *tmp = nxx_malloc(n);
    if (!tmp)
        return;
    snprintf(tmp, n, "%s.tmp", c->state);
    FILE *f = fopen(tmp, "we");
    int ok = f && fwrite(text, 1, len, f) == len;
    if (f) {
        ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
        ok = fclose(f) == 0 && ok;
    }
    if (!ok || rename(tmp, c->state) != 0) {
        nxx_log_error("quota: cannot write '%s': %s", c->state, strerror(errno));
        unlink(tmp);
    }
    nxx_free(tmp);
}

/* Write the counts taken under the lock as seq, unless a later snapshot
 * was written already (two workers may save at once). */
static void save(struct counters *c, char *text, size_t len, uint64_t seq)
{
    pthread_mutex_lock(&c->save_lock);
    if (text && seq > c->saved_seq) {
        write_state(c, text, len);
        c->saved_seq = seq;
    }
    pthread_mutex_unlock(&c->save_lock);
    nxx_free(text);
}

static int state_line(void *ctx, char *line, size_t lineno)
{
    struct counters *c = ctx;
    (void)lineno;
    unsigned char d[32];
    char *end = NULL;
    if (strlen(line) < 66 || line[64] != ' ' || parse_hex(line, d) != 0)
        return 0; /* not ours: skipped */
    long long p = strtoll(line + 65, &end, 10);
    if (!end || *end != ' ')
        return 0;
    unsigned long long used = strtoull(end + 1, NULL, 10);
    struct centry *e = lookup(c, d);
    if (!e)
        e = insert(c, d);
    e->period = p;
    e->used = used;
    return 0;
}

/* ---- shared counters ---- */

struct counters_args {
    size_t cap;
    const char *state;
    unsigned sync_every;
};

static void counters_free(void *arg)
{
    struct counters *c = arg;
    if (c->state && c->dirty) {
        size_t len = 0;
        save(c, snapshot(c, &len), len, ++c->snap_seq);
    }
    nxx_free(c->pool);
    nxx_free(c->bucket);
    nxx_free(c->state);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->save_lock);
    nxx_free(c);
}

static void *counters_new(void *arg)
{
    const struct counters_args *a = arg;
    struct counters *c = nxx_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->save_lock, NULL);
    c->lru.next = c->lru.prev = &c->lru;
    c->cap = a->cap;
    c->sync_every = a->sync_every;
    size_t nb = 16;
    while (nb < c->cap)
        nb <<= 1;
    c->bmask = nb - 1;
    c->pool = nxx_calloc(c->cap, sizeof(*c->pool));
    c->bucket = nxx_calloc(nb, sizeof(*c->bucket));
    if (!c->pool || !c->bucket || (a->state && !(c->state = nxx_strdup(a->state)))) {
        counters_free(c);
        return NULL;
    }
    if (c->state)
        nxx_lines_read(c->state, NULL, 0, state_line, c); /* absent: no counts yet */
    return c;
}

/* ---- the key file ---- */

struct keys_ctx {
    struct quota *q;
    const char *path;
    size_t cap;
    char *err;
    size_t errlen;
};

/* "name:SHA256HEX[:QUOTA]" lines. */
static int key_line(void *ctx, char *line, size_t lineno)
{
    struct keys_ctx *k = ctx;
    struct quota *q = k->q;
    if (!line[0] || line[0] == '#')
        return 0;
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    size_t hl = c2 ? (size_t)(c2 - c1 - 1) : c1 ? strlen(c1 + 1) : 0;
    struct qkey key = { .quota = q->limit };
    if (!c1 || c1 == line || hl != 64 || parse_hex(c1 + 1, key.digest) != 0) {
        snprintf(k->err, k->errlen,
                 "%s:%zu: not a 'name:SHA256HEX[:QUOTA]' line (the key's SHA-256 in 64 "
                 "lowercase hex digits)",
                 k->path, lineno);
        return -1;
    }
    if (c2) {
        char *end = NULL;
        key.quota = strtoull(c2 + 1, &end, 10);
        if (!end || *end || !key.quota) {
            snprintf(k->err, k->errlen, "%s:%zu: the quota is not a whole number above 0", k->path,
                     lineno);
            return -1;
        }
    }
    *c1 = '\0';
    if (q->nkeys == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 16;
        struct qkey *nk = nxx_realloc(q->keys, ncap * sizeof(*nk));
        if (!nk) {
            snprintf(k->err, k->errlen, "out of memory");
            return -1;
        }
        q->keys = nk;
        k->cap = ncap;
    }
    if (!(key.name = nxx_strdup(line))) {
        snprintf(k->err, k->errlen, "out of memory");
        return -1;
    }
    q->keys[q->nkeys++] = key;
    return 0;
}

static int load_keys(struct quota *q, const char *path, char *err, size_t errlen)
{
    struct keys_ctx k = { q, path, 0, err, errlen };
    if (nxx_lines_read(path, err, errlen, key_line, &k) != 0)
        return -1;
    if (q->nkeys)
        qsort(q->keys, q->nkeys, sizeof(*q->keys), by_digest);
    for (size_t i = 1; i < q->nkeys; i++)
        if (memcmp(q->keys[i - 1].digest, q->keys[i].digest, 32) == 0) {
            snprintf(err, errlen, "%s: a key is listed twice", path);
            return -1;
        }
    return 0;
}

/* ---- keys from the REST store ---- */

/* Read the key's item (named by its digest) into f: known, name, quota.
 * Called without the lock held (a query), the result copied in under it.
 * 0 (f->known says whether there is such a key), or the store's error. */
struct found {
    int known;
    uint64_t quota;
    char name[NAME_MAX_LEN];
};

static int read_store(const struct quota *q, const unsigned char d[32], struct found *f)
{
    char hex[65];
    to_hex(d, hex);
    memset(f, 0, sizeof(*f));
    struct nxx_item it;
    int e = nxx_store_get(q->db->store, q->coll, hex, &it);
    if (e)
        return e == NXX_STORE_NOTFOUND ? 0 : e;
    json_t *doc = it.deleted ? NULL : json_loadb(it.body, it.body_len, 0, NULL);
    json_t *quota = json_object_get(doc, "quota"), *name = json_object_get(doc, "name");
    if (json_is_object(doc) &&
        (!quota || (json_is_integer(quota) && json_integer_value(quota) > 0))) {
        f->known = 1;
        f->quota = quota ? (uint64_t)json_integer_value(quota) : 0;
        const char *n = json_is_string(name) ? json_string_value(name) : NULL;
        if (n && *n)
            snprintf(f->name, sizeof(f->name), "%s", n);
        else
            snprintf(f->name, sizeof(f->name), "%.12s", hex);
        for (char *p = f->name; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\' || *p == 0x7f)
                *p = '_'; /* it goes into problem bodies and the log as it is */
    }
    json_decref(doc);
    nxx_item_release(&it);
    return 0;
}

/* ---- the policy ---- */

static int unknown_key(nxx_req *req, const struct quota *q, int sent)
{
    nxx_req_notes(req)->decided = "quota";
    nxx_req_detail(req, "%s: send a valid API key in the %s field%s%s",
                   sent ? "this API key is not known" : "an API key is required", q->field,
                   q->param ? " or the query parameter " : "", q->param ? q->param : "");
    return 403;
}

/* The store could not be read (locked, unavailable, damaged): whether the
 * key is good is unknown, so the answer is "later", never "forbidden" (a
 * 403 would tell paying clients their key is bad).  RFC 9110 §15.6.4. */
static NXX_COLD int store_down(nxx_req *req, int e)
{
    char retry[8];
    snprintf(retry, sizeof(retry), "%d", NXX_STORE_RETRY_SECONDS);
    nxx_resp_header(req, "Retry-After", (nxx_str){ retry, strlen(retry) });
    nxx_req_notes(req)->decided = "quota";
    nxx_req_detail(req,
                   "the API keys cannot be checked now: their store %s; try again in %s seconds",
                   e == NXX_STORE_UNAVAILABLE ? "is not open" : "could not be read", retry);
    return 503;
}

static int spent_key(nxx_req *req, const struct quota *q, const char *name, uint64_t quota,
                     uint64_t used, int64_t p)
{
    char when[21];
    nxx_date_iso(renews_at(q, p), when);
    size_t cap = 512 + 2 * (q->purchase ? strlen(q->purchase) : 0);
    char *json = nxx_req_alloc(req, cap);
    if (json) {
        int n = snprintf(json, cap,
                         "\"quota\":%llu,\"used\":%llu,\"period\":\"%s\",\"renews\":\"%.20s\"",
                         (unsigned long long)quota, (unsigned long long)used,
                         q->monthly ? "month" : "day", when);
        if (q->purchase && n > 0)
            n += snprintf(json + n, cap - (size_t)n, ",\"purchase\":\"%s\"", q->purchase);
        if (n > 0)
            nxx_req_problem_members(req, (nxx_str){ json, (size_t)n });
    }
    nxx_req_notes(req)->decided = "quota";
    nxx_req_detail(req,
                   "the quota of %llu requests per %s for API key '%s' is spent (%llu used); it "
                   "renews at %.20s%s%s",
                   (unsigned long long)quota, q->monthly ? "month" : "day", name,
                   (unsigned long long)used, when, q->purchase ? "; buy more at " : "",
                   q->purchase ? q->purchase : "");
    return 402;
}

static int quota_policy(nxx_req *req, void *ud)
{
    struct quota *q = ud;
    struct counters *c = q->c;
    nxx_str v = nxx_req_header(req, q->field);
    if (!v.len && q->param)
        v = nxx_req_query_value(req, q->param);
    unsigned char d[32];
    if (!v.len || nxx_policy_sha256(req, v.ptr, v.len, NULL, 0, d) != 0)
        return unknown_key(req, q, v.len != 0);
    struct qkey fk;
    memcpy(fk.digest, d, 32);
    const struct qkey *k =
        q->nkeys ? bsearch(&fk, q->keys, q->nkeys, sizeof(*q->keys), by_digest) : NULL;
    if (!k && !q->db)
        return unknown_key(req, q, 1);
    uint64_t now_ms = nxx_req_now_ms(req) + 1; /* read_ms 0 means never */
    int64_t p = period_of(q, nxx_req_wall_s(req));
    pthread_mutex_lock(&c->lock);
    struct centry *e = lookup(c, d);
    if (!k && (!e || !e->read_ms || now_ms - e->read_ms >= q->cache_ms)) {
        pthread_mutex_unlock(&c->lock);
        struct found f;
        int se = read_store(q, d, &f);
        if (se)
            return store_down(req, se);
        if (!f.known)
            return unknown_key(req, q, 1);
        pthread_mutex_lock(&c->lock);
        if (!(e = lookup(c, d)))
            e = insert(c, d);
        e->known = 1;
        e->quota = f.quota;
        e->read_ms = now_ms;
        memcpy(e->name, f.name, sizeof(e->name));
    } else if (!e) {
        e = insert(c, d);
    }
    if (!k && !e->known) {
        pthread_mutex_unlock(&c->lock);
        return unknown_key(req, q, 1);
    }
    uint64_t quota = k ? k->quota : e->quota ? e->quota : q->limit;
    if (e->period != p) {
        e->period = p;
        e->used = 0;
    }
    int spent = e->used >= quota;
    char *snap = NULL;
    size_t snap_len = 0;
    uint64_t seq = 0;
    if (!spent) {
        e->used++;
        if (c->state && ++c->dirty >= c->sync_every) {
            c->dirty = 0;
            seq = ++c->snap_seq;
            snap = snapshot(c, &snap_len);
        }
    }
    uint64_t used = e->used;
    const char *name = k ? k->name : NULL;
    if (!name) {
        char *copy = nxx_req_alloc(req, sizeof(e->name));
        if (copy)
            memcpy(copy, e->name, sizeof(e->name));
        name = copy ? copy : "?";
    }
    pthread_mutex_unlock(&c->lock);
    if (seq)
        save(c, snap, snap_len, seq);
    if (!nxx_req_notes_get(req)->user.len)
        nxx_req_notes(req)->user = (nxx_str){ name, strlen(name) };
    return spent ? spent_key(req, q, name, quota, used, p) : 0;
}

static void quota_free(void *arg)
{
    struct quota *q = arg;
    nxx_shared_put(q->shared);
    if (q->db)
        nxx_rest_db_put(q->db);
    for (size_t i = 0; i < q->nkeys; i++)
        nxx_free(q->keys[i].name);
    nxx_free(q->keys);
    nxx_free(q->field);
    nxx_free(q->param);
    nxx_free(q->purchase);
    nxx_free(q->coll);
    nxx_free(q);
}

void nxx_quota_config_init(nxx_quota_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->field = "X-API-Key";
    cfg->sync_every = 100;
    cfg->data_dir = "./data";
    cfg->cache_ms = 10000;
    cfg->max_keys = 10000;
}

static int coll_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return nxx_rest_coll_ok((nxx_str){ s, n });
}

int nxx_scope_quota(nxx_scope *scope, const nxx_quota_config *cfg, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    if (!scope || !cfg || (!cfg->keys && !cfg->collection) || !cfg->limit || !cfg->field ||
        !*cfg->field || (cfg->collection && !coll_ok(cfg->collection)) || !cfg->max_keys ||
        (cfg->purchase && strpbrk(cfg->purchase, "\"\\<> \t\r\n"))) {
        snprintf(err, errlen,
                 "a key file or a REST collection, a limit and a field are needed; the "
                 "purchase URL has no quotes or spaces");
        return NXX_EINVAL;
    }
    struct quota *q = nxx_calloc(1, sizeof(*q));
    if (!q)
        return NXX_ENOMEM;
    q->monthly = cfg->monthly;
    q->limit = cfg->limit;
    q->cache_ms = cfg->cache_ms;
    int e = 0;
    if (!(q->field = nxx_strdup(cfg->field)) ||
        (cfg->param && !(q->param = nxx_strdup(cfg->param))) ||
        (cfg->purchase && !(q->purchase = nxx_strdup(cfg->purchase))) ||
        (cfg->collection && !(q->coll = nxx_strdup(cfg->collection))))
        e = NXX_ENOMEM;
    if (!e && cfg->keys && load_keys(q, cfg->keys, err, errlen) != 0)
        e = NXX_EINVAL;
    if (!e && cfg->collection) {
        e = nxx_rest_db_get(cfg->data_dir ? cfg->data_dir : "./data", &q->db);
        if (e)
            snprintf(err, errlen, "cannot open the REST store in '%s': %s",
                     cfg->data_dir ? cfg->data_dir : "./data", nxx_strerror(e));
    }
    if (!e) {
        /* the counts outlive a reload that keeps the quota: shared by the
         * state file, or else by the place and the keys' source */
        char key[2048], where[512];
        nxx_shared_scope_key(scope, where, sizeof(where));
        struct counters_args a = { cfg->max_keys + q->nkeys, cfg->state,
                                   cfg->sync_every ? cfg->sync_every : 1 };
        snprintf(key, sizeof(key), "%s|quota|%s|%s|%s|%s|%d|%zu", where, cfg->field,
                 cfg->keys ? cfg->keys : "", cfg->collection ? cfg->collection : "",
                 cfg->state ? cfg->state : "", q->monthly, cfg->max_keys);
        q->c = nxx_shared_get(key, scope->site, counters_new, &a, counters_free, &q->shared);
        if (!q->c)
            e = NXX_ENOMEM;
    }
    if (!e)
        e = nxx_scope_on_free(scope, quota_free, q);
    if (e) {
        quota_free(q);
        return e;
    }
    return nxx_scope_policy(scope, NXX_PHASE_HEAD, quota_policy, q);
}
