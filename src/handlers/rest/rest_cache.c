/*
 * rest_cache.c - recently read items, so a GET of a popular item costs no
 * SQLite read transaction (and none of the file locks it takes).
 *
 * Correctness rests on two rules.  Only live items are cached: an absent
 * id or a tombstone is always read from the store, so a bulk import (which
 * writes without going through here, but only where no live item is) can
 * never be hidden.  And every write that goes through the handler forgets
 * its item in done(), after the commit and before the answer is posted, so
 * a client that got its 2xx reads its own write.  A reader that missed
 * inserts what it read only if no write touched the item's stripe since
 * before it read (the stripe's generation), so an old version read just
 * before a commit is never cached after the write forgot the item.
 *
 * The cache assumes this process is the store's only writer (true for the
 * embedded SQLite store); a shared backend would need it switched off.
 *
 * Direct-mapped slots (a colliding key evicts), striped locks, and a byte
 * budget: items above CACHE_MAX_BODY are not cached, and inserts stop while
 * the cache holds CACHE_MAX_BYTES.
 */
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "handlers/rest/rest.h"
#include "core/banned.h"

#define CACHE_SLOTS 16384 /* a power of two */
#define CACHE_STRIPES 64
#define CACHE_MAX_BODY 8192
#define CACHE_MAX_BYTES ((size_t)32 << 20)

struct centry {
    uint64_t hash;
    uint64_t version;
    int64_t updated_ms;
    size_t key_len; /* "coll/id" */
    size_t body_len;
    char data[]; /* key, then body */
};

struct stripe {
    pthread_mutex_t mu;
    uint64_t gen; /* writes forgotten in this stripe */
    char pad[64 - sizeof(uint64_t)];
};

struct nxx_rest_cache {
    struct stripe stripes[CACHE_STRIPES];
    struct centry *slots[CACHE_SLOTS];
    atomic_size_t bytes;
};

struct nxx_rest_cache *nxx_rest_cache_new(void)
{
    struct nxx_rest_cache *c = nxx_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    for (size_t i = 0; i < CACHE_STRIPES; i++)
        pthread_mutex_init(&c->stripes[i].mu, NULL);
    atomic_init(&c->bytes, 0);
    return c;
}

void nxx_rest_cache_free(struct nxx_rest_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        nxx_free(c->slots[i]);
    for (size_t i = 0; i < CACHE_STRIPES; i++)
        pthread_mutex_destroy(&c->stripes[i].mu);
    nxx_free(c);
}

/* FNV-1a of "coll/id"; the key is built on the stack (both parts are bounded). */
static size_t make_key(const char *coll, const char *id, char *key, uint64_t *hash)
{
    size_t cl = strlen(coll), il = strlen(id);
    memcpy(key, coll, cl);
    key[cl] = '/';
    memcpy(key + cl + 1, id, il);
    size_t n = cl + 1 + il;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    *hash = h;
    return n;
}

#define KEY_MAX (REST_COLL_MAX + 1 + REST_ID_MAX)

static int same_key(const struct centry *e, uint64_t hash, const char *key, size_t n)
{
    return e && e->hash == hash && e->key_len == n && memcmp(e->data, key, n) == 0;
}

int nxx_rest_cache_get(struct nxx_rest_cache *c, const char *coll, const char *id, nxx_req *req,
                       struct nxx_rest_cached *out, uint64_t *gen)
{
    char key[KEY_MAX + 1];
    uint64_t h;
    size_t n = make_key(coll, id, key, &h);
    size_t slot = h & (CACHE_SLOTS - 1);
    struct stripe *st = &c->stripes[slot % CACHE_STRIPES];
    pthread_mutex_lock(&st->mu);
    struct centry *e = c->slots[slot];
    if (!same_key(e, h, key, n)) {
        *gen = st->gen;
        pthread_mutex_unlock(&st->mu);
        return 0;
    }
    /* copied under the lock: a writer may free the entry right after */
    char *body = nxx_req_alloc(req, e->body_len ? e->body_len : 1);
    if (!body) {
        *gen = st->gen;
        pthread_mutex_unlock(&st->mu);
        return 0;
    }
    memcpy(body, e->data + e->key_len, e->body_len);
    out->body = body;
    out->body_len = e->body_len;
    out->version = e->version;
    out->updated_ms = e->updated_ms;
    pthread_mutex_unlock(&st->mu);
    return 1;
}

void nxx_rest_cache_put(struct nxx_rest_cache *c, const char *coll, const char *id, uint64_t gen,
                        const struct nxx_item *it)
{
    if (it->deleted || !it->body || it->body_len > CACHE_MAX_BODY)
        return;
    if (atomic_load_explicit(&c->bytes, memory_order_relaxed) > CACHE_MAX_BYTES)
        return;
    char key[KEY_MAX + 1];
    uint64_t h;
    size_t n = make_key(coll, id, key, &h);
    size_t size = sizeof(struct centry) + n + it->body_len;
    struct centry *e = nxx_malloc(size);
    if (!e)
        return;
    e->hash = h;
    e->version = it->version;
    e->updated_ms = it->updated_ms;
    e->key_len = n;
    e->body_len = it->body_len;
    memcpy(e->data, key, n);
    memcpy(e->data + n, it->body, it->body_len);
    size_t slot = h & (CACHE_SLOTS - 1);
    struct stripe *st = &c->stripes[slot % CACHE_STRIPES];
    struct centry *old = NULL;
    pthread_mutex_lock(&st->mu);
    if (st->gen == gen) {
        old = c->slots[slot];
        c->slots[slot] = e;
        atomic_fetch_add_explicit(&c->bytes, size, memory_order_relaxed);
        e = NULL;
    }
    pthread_mutex_unlock(&st->mu);
    if (old) {
        atomic_fetch_sub_explicit(&c->bytes, sizeof(*old) + old->key_len + old->body_len,
                                  memory_order_relaxed);
        nxx_free(old);
    }
    nxx_free(e); /* a write came between the read and now: what was read may be old */
}

void nxx_rest_cache_forget(struct nxx_rest_cache *c, const char *coll, const char *id)
{
    char key[KEY_MAX + 1];
    uint64_t h;
    size_t n = make_key(coll, id, key, &h);
    size_t slot = h & (CACHE_SLOTS - 1);
    struct stripe *st = &c->stripes[slot % CACHE_STRIPES];
    struct centry *old = NULL;
    pthread_mutex_lock(&st->mu);
    st->gen++;
    if (same_key(c->slots[slot], h, key, n)) {
        old = c->slots[slot];
        c->slots[slot] = NULL;
    }
    pthread_mutex_unlock(&st->mu);
    if (old) {
        atomic_fetch_sub_explicit(&c->bytes, sizeof(*old) + old->key_len + old->body_len,
                                  memory_order_relaxed);
        nxx_free(old);
    }
}
