/*
 * limiter.c - the bounded, shared counter table behind rate limits, login
 * slowing and captive-portal admissions (contract in limiter.h).
 *
 * Why sets and stripes: a single table-wide lock would serialise every
 * worker on every limited request, and a true LRU list would need a write
 * to shared list links on every hit.  A set of eight entries found by a
 * seeded hash, scanned under one of 64 stripe locks, costs one uncontended
 * lock and a cache line or two, and "idle longest in its set" is close
 * enough to "idle longest" to bound memory without surprising anyone.
 *
 * This runs on every request of a limited location, so it is kept to a few
 * dozen instructions: the stripe lock is a spin lock (the section under it
 * is a scan of eight entries and a little arithmetic, far shorter than a
 * mutex's own bookkeeping; a holder preempted mid-section is waited for
 * with sched_yield, not by spinning), keys are compared as two words, and
 * the set is one round of a seeded mixer over both words.
 */
#include "policy/limiter.h"

#include <netinet/in.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/alloc.h"
#include "core/compiler.h"
#include "os/random.h"
#include "policy/shared.h"
#include "core/banned.h"

#define STRIPES 64

struct entry {
    struct nxx_limit_key key;
    uint64_t mark;    /* WINDOW: the window's start; BUCKET: the theoretical arrival time (us) */
    uint64_t last_ms; /* last use, +1 (0: the entry is free) */
    uint64_t count;   /* WINDOW: requests counted in the window */
};

struct nxx_limiter {
    uint64_t quota, window_ms;
    enum nxx_limit_algo algo;
    uint64_t seed[2];
    size_t mask; /* sets - 1 */
    struct entry *e;
    struct {
        atomic_int held;
        char pad[60]; /* a cache line each: stripes do not share one */
    } lock[STRIPES];
};

/* A holder preempted mid-section is waited for with sched_yield, not by
 * spinning; out of line: the uncontended lock is one exchange. */
static NXX_NOINLINE void stripe_wait(atomic_int *held)
{
    for (unsigned spins = 0;; spins++) {
        if (!atomic_load_explicit(held, memory_order_relaxed) &&
            !atomic_exchange_explicit(held, 1, memory_order_acquire))
            return;
        if (spins >= 64) {
            sched_yield();
            spins = 0;
        } else {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
    }
}

static NXX_INLINE void stripe_lock(atomic_int *held)
{
    if (atomic_exchange_explicit(held, 1, memory_order_acquire))
        stripe_wait(held);
}

static NXX_INLINE void stripe_unlock(atomic_int *held)
{
    atomic_store_explicit(held, 0, memory_order_release);
}

struct nxx_limiter *nxx_limiter_new(uint64_t quota, uint64_t window_ms, enum nxx_limit_algo algo,
                                    size_t max_keys)
{
    if (!quota || !window_ms || !max_keys)
        return NULL;
    struct nxx_limiter *l = nxx_calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    size_t sets = 1;
    while (sets * NXX_LIMIT_WAYS < max_keys)
        sets <<= 1;
    l->e = nxx_calloc(sets * NXX_LIMIT_WAYS, sizeof(struct entry));
    if (!l->e) {
        nxx_free(l);
        return NULL;
    }
    l->mask = sets - 1;
    l->quota = quota;
    l->window_ms = window_ms;
    l->algo = algo;
    if (nxx_os_random(l->seed, sizeof(l->seed), 0) != 0) {
        l->seed[0] = (uint64_t)(uintptr_t)l * 0x9e3779b97f4a7c15ull;
        l->seed[1] = (uint64_t)(uintptr_t)l->e ^ 0xbf58476d1ce4e5b9ull;
    }
    for (size_t i = 0; i < STRIPES; i++)
        atomic_init(&l->lock[i].held, 0);
    return l;
}

void nxx_limiter_free(struct nxx_limiter *l)
{
    if (!l)
        return;
    nxx_free(l->e);
    nxx_free(l);
}

struct params {
    uint64_t quota, window_ms;
    enum nxx_limit_algo algo;
    size_t max_keys;
};

static void *shared_new(void *arg)
{
    const struct params *p = arg;
    return nxx_limiter_new(p->quota, p->window_ms, p->algo, p->max_keys);
}

static void shared_free(void *obj)
{
    nxx_limiter_free(obj);
}

struct nxx_limiter *nxx_limiter_shared(const char *key, struct nxx_site *site, uint64_t quota,
                                       uint64_t window_ms, enum nxx_limit_algo algo,
                                       size_t max_keys, struct nxx_shared **h)
{
    struct params p = { quota, window_ms, algo, max_keys };
    char full[1024];
    snprintf(full, sizeof(full), "limiter|%s|%llu/%llums|%d|%zu", key, (unsigned long long)quota,
             (unsigned long long)window_ms, (int)algo, max_keys);
    return nxx_shared_get(full, site, shared_new, &p, shared_free, h);
}

static NXX_INLINE uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static NXX_INLINE void key_words(const struct nxx_limit_key *k, uint64_t *k0, uint64_t *k1)
{
    memcpy(k0, k->b, 8);
    memcpy(k1, k->b + 8, 8);
}

static NXX_INLINE size_t set_of(const struct nxx_limiter *l, uint64_t a, uint64_t b)
{
    b ^= l->seed[1];
    return (size_t)(mix((a ^ l->seed[0]) + (b << 29 | b >> 35)) & l->mask);
}

/* The entry of (k0, k1) in set s, or NULL.  Under the set's stripe lock. */
static NXX_INLINE struct entry *find(struct entry *s, uint64_t k0, uint64_t k1)
{
    for (size_t i = 0; i < NXX_LIMIT_WAYS; i++) {
        uint64_t e0, e1;
        key_words(&s[i].key, &e0, &e1);
        if (e0 == k0 && e1 == k1 && s[i].last_ms)
            return &s[i];
    }
    return NULL;
}

/* The entry of set s to reuse for a new key: a free one, else the one idle
 * longest. */
static struct entry *victim_of(struct entry *s)
{
    struct entry *v = s;
    for (size_t i = 1; i < NXX_LIMIT_WAYS; i++)
        if (s[i].last_ms < v->last_ms)
            v = &s[i];
    return v;
}

static NXX_INLINE uint64_t ceil_s(uint64_t ms)
{
    return (ms + 999) / 1000;
}

static NXX_INLINE void window(struct nxx_limiter *l, struct entry *e, uint64_t now, unsigned cost,
                              struct nxx_limit_result *out)
{
    /* workers' clocks are read at different moments: another worker may
     * have started the window a millisecond "after" now */
    if (now >= e->mark && now - e->mark >= l->window_ms) {
        e->mark = now;
        e->count = 0;
    }
    uint64_t c = e->count + cost;
    out->allowed = c <= l->quota;
    if (out->allowed)
        e->count = c;
    else
        c = e->count;
    out->remaining = c < l->quota ? l->quota - c : 0;
    /* a window another worker started "after" now still has at most its length left */
    uint64_t left = e->mark + l->window_ms - now;
    out->reset_s = ceil_s(left < l->window_ms ? left : l->window_ms);
    out->retry_s = out->allowed ? 0 : out->reset_s;
}

/* GCRA in microseconds: each request moves the theoretical arrival time
 * (TAT) by T = window/quota; a request is allowed while TAT stays within
 * the window of now. */
static NXX_NOINLINE void bucket(struct nxx_limiter *l, struct entry *e, uint64_t now_ms,
                                unsigned cost, struct nxx_limit_result *out)
{
    uint64_t now = now_ms * 1000, win = l->window_ms * 1000, t = win / l->quota;
    if (!t)
        t = 1;
    uint64_t tat = e->mark > now ? e->mark : now;
    uint64_t next = tat + t * cost;
    out->allowed = next - now <= win;
    if (out->allowed)
        e->mark = tat = next;
    out->remaining = tat - now >= win ? 0 : (win - (tat - now)) / t;
    out->reset_s = (tat - now + 999999) / 1000000;
    out->retry_s = out->allowed ? 0 : (next - now - win + 999999) / 1000000;
    if (!out->allowed && !out->retry_s)
        out->retry_s = 1;
}

static NXX_INLINE void count(struct nxx_limiter *l, struct entry *e, uint64_t now_ms, unsigned cost,
                             struct nxx_limit_result *out)
{
    if (l->algo == NXX_LIMIT_WINDOW)
        window(l, e, now_ms, cost, out);
    else
        bucket(l, e, now_ms, cost, out);
}

/* A key that has no entry: what a fresh one says (cost 0, a peek: taking
 * no place), or the entry idle longest taken over for it.  Out of line: a
 * known key is the hot path. */
static NXX_NOINLINE void miss(struct nxx_limiter *l, struct entry *set,
                              const struct nxx_limit_key *key, uint64_t now_ms, unsigned cost,
                              struct nxx_limit_result *out)
{
    struct entry fresh, *e = cost ? victim_of(set) : &fresh;
    memset(e, 0, sizeof(*e));
    e->key = *key;
    e->mark = l->algo == NXX_LIMIT_WINDOW ? now_ms : 0;
    count(l, e, now_ms, cost, out);
    if (cost)
        e->last_ms = now_ms + 1;
}

/* One pass under the stripe lock, inlined: a request of a known key costs
 * the hash, one exchange, a scan of the set's keys and the window's
 * arithmetic; the rest (a new key, the token bucket, a contended lock) is
 * out of line. */
static NXX_INLINE void run(struct nxx_limiter *l, const struct nxx_limit_key *key, uint64_t now_ms,
                           unsigned cost, struct nxx_limit_result *out)
{
    uint64_t k0, k1;
    key_words(key, &k0, &k1);
    size_t set = set_of(l, k0, k1);
    atomic_int *m = &l->lock[set % STRIPES].held;
    struct entry *s = l->e + set * NXX_LIMIT_WAYS;
    stripe_lock(m);
    struct entry *e = find(s, k0, k1);
    if (e) {
        count(l, e, now_ms, cost, out);
        e->last_ms = now_ms + 1;
    } else {
        miss(l, s, key, now_ms, cost, out);
    }
    stripe_unlock(m);
}

static NXX_NOINLINE void run_slow(struct nxx_limiter *l, const struct nxx_limit_key *key,
                                  uint64_t now_ms, unsigned cost, struct nxx_limit_result *out)
{
    run(l, key, now_ms, cost, out);
}

/* The usual request: a known key of a fixed window, the stripe free.  A
 * leaf (no call, so no registers to save); anything else is left to
 * run_slow, with nothing changed. */
static NXX_INLINE int take_fast(struct nxx_limiter *l, const struct nxx_limit_key *key,
                                uint64_t now_ms, unsigned cost, struct nxx_limit_result *out)
{
    if (l->algo != NXX_LIMIT_WINDOW)
        return 0;
    uint64_t k0, k1;
    key_words(key, &k0, &k1);
    size_t set = set_of(l, k0, k1);
    atomic_int *m = &l->lock[set % STRIPES].held;
    if (atomic_exchange_explicit(m, 1, memory_order_acquire))
        return 0; /* held by another worker: wait in run_slow */
    struct entry *e = find(l->e + set * NXX_LIMIT_WAYS, k0, k1);
    if (e) {
        window(l, e, now_ms, cost, out);
        e->last_ms = now_ms + 1;
    }
    stripe_unlock(m);
    return e != NULL;
}

void nxx_limiter_take(struct nxx_limiter *l, const struct nxx_limit_key *key, uint64_t now_ms,
                      unsigned cost, struct nxx_limit_result *out)
{
    cost = cost ? cost : 1;
    if (!take_fast(l, key, now_ms, cost, out))
        run_slow(l, key, now_ms, cost, out);
}

void nxx_limiter_peek(struct nxx_limiter *l, const struct nxx_limit_key *key, uint64_t now_ms,
                      struct nxx_limit_result *out)
{
    run(l, key, now_ms, 0, out);
}

void nxx_limiter_forget(struct nxx_limiter *l, const struct nxx_limit_key *key)
{
    uint64_t k0, k1;
    key_words(key, &k0, &k1);
    size_t set = set_of(l, k0, k1);
    atomic_int *m = &l->lock[set % STRIPES].held;
    stripe_lock(m);
    struct entry *e = find(l->e + set * NXX_LIMIT_WAYS, k0, k1);
    if (e)
        memset(e, 0, sizeof(*e));
    stripe_unlock(m);
}

void nxx_limit_key_name(struct nxx_limit_key *key, const unsigned char digest[32])
{
    memcpy(key->b, digest, sizeof(key->b));
}

void nxx_limit_key_addr(struct nxx_limit_key *key, const struct sockaddr *sa)
{
    memset(key, 0, sizeof(*key));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        key->b[10] = key->b[11] = 0xff;
        memcpy(key->b + 12, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            memcpy(key->b, &in6->sin6_addr, 16);
        else
            memcpy(key->b, &in6->sin6_addr, 8); /* a /64 is one subscriber */
    }
}
