/*
 * channel.c - publish/subscribe channels of WebSocket connections, across
 * workers.
 *
 * A message is encoded once (one server frame, refcounted) and queued to
 * every subscriber of its channel under the channel's lock; the
 * subscriber's own worker writes it, woken by a post (nxx_req_post) only
 * when its queue was idle, so a burst costs one wake-up per subscriber,
 * not one per message.  Nothing a publisher does waits for a subscriber:
 * a subscriber writes while its client takes the bytes (at most
 * max_pending unsent), keeps the rest queued, and is closed with 1008 when
 * that queue passes max_pending too, so one slow client costs at most
 * twice max_pending and never slows the others.
 *
 * A location's channels outlive a reload: the hub is shared, by server and
 * location, by every configuration generation that has the location, so
 * connections made before and after a reload still hear each other.
 *
 * permessage-deflate: a message is compressed once for every window size
 * the channel's subscribers agreed (usually one: 15 bits), and that frame is
 * shared like the plain one by every subscriber with that window.  A shared
 * frame cannot depend on what one subscriber was sent before, so each is
 * compressed without context takeover (RFC 7692 §7.1.1: the server may
 * always do so); subscribers without the extension get the plain frame.
 * The channel keeps one deflater per window in use, used under its own
 * lock so compressing never holds up the subscriber list.
 *
 * Lifetime: a subscriber keeps its connection pinned (nxx_req_suspend)
 * from subscribe on, and exactly one post is in flight at any time
 * (`posted`); every post run re-pins while the subscriber lives.  When the
 * connection ends the subscriber leaves its channel and the last post (the
 * one in flight, or one it sends itself) frees it and lets the pin go, so
 * a post never finds its connection freed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "http/request.h"
#include "ws/frame.h"
#include "ws/ws.h"
#include "core/banned.h"

#define HUB_BUCKETS 256
#define FLUSH_BATCH 32

#define ZBITS 16 /* window sizes 9..15 index the channel's deflaters */

struct ws_msg {
    atomic_uint refs;
    size_t off, len; /* the frame is data[off..off+len) */
    uint8_t data[];
};

struct ws_channel {
    struct ws_channel *next; /* in the hub's bucket */
    pthread_mutex_t lock;    /* the subscriber list and every queue of it */
    struct nxx_ws_sub *subs;
    size_t nsubs;
    size_t nz[ZBITS];      /* subscribers by the window they compress with */
    pthread_mutex_t zlock; /* the deflaters */
    z_stream *z[ZBITS];    /* created on first use */
    size_t nlen;
    char name[];
};

struct nxx_ws_hub {
    pthread_mutex_t lock; /* the buckets */
    struct ws_channel *buckets[HUB_BUCKETS];
    /* the registry: one hub per server and location, shared by the
     * configuration generations that have that location */
    struct nxx_ws_hub *next;
    unsigned refs;
    const void *owner;
    char key[];
};

static pthread_mutex_t hubs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nxx_ws_hub *hubs;

struct nxx_ws_sub {
    struct nxx_ws_hub *hub;
    struct ws_channel *ch;
    struct nxx_ws_sub *prev, *next;
    nxx_ws *ws; /* the owner worker's */
    nxx_req *req;
    size_t max_pending;
    unsigned zbits; /* permessage-deflate's window, 0 without it */
    int gone;       /* left its channel (the owner's worker writes and reads it) */
    /* under the channel's lock */
    struct ws_msg **q; /* ring */
    size_t qhead, qlen, qcap, qbytes;
    unsigned posted : 1, waiting : 1, overflow : 1;
};

static void msg_unref(struct ws_msg *m)
{
    if (atomic_fetch_sub(&m->refs, 1) == 1)
        nxx_free(m);
}

struct nxx_ws_hub *nxx_ws_hub_get(const void *owner, const char *key)
{
    pthread_mutex_lock(&hubs_lock);
    struct nxx_ws_hub *h = hubs;
    while (h && !(h->owner == owner && !strcmp(h->key, key)))
        h = h->next;
    if (!h && (h = nxx_calloc(1, sizeof(*h) + strlen(key) + 1)) != NULL) {
        pthread_mutex_init(&h->lock, NULL);
        h->owner = owner;
        memcpy(h->key, key, strlen(key) + 1);
        h->next = hubs;
        hubs = h;
    }
    if (h)
        h->refs++;
    pthread_mutex_unlock(&hubs_lock);
    return h;
}

void nxx_ws_hub_free(void *p)
{
    /* the last generation with this location is gone: so is every
     * connection of it, and each left its channel when it closed */
    struct nxx_ws_hub *h = p;
    pthread_mutex_lock(&hubs_lock);
    int last = --h->refs == 0;
    if (last) {
        struct nxx_ws_hub **pp = &hubs;
        while (*pp != h)
            pp = &(*pp)->next;
        *pp = h->next;
    }
    pthread_mutex_unlock(&hubs_lock);
    if (last) {
        pthread_mutex_destroy(&h->lock);
        nxx_free(h);
    }
}

static uint32_t hash(nxx_str s)
{
    uint32_t x = 2166136261u;
    for (size_t i = 0; i < s.len; i++)
        x = (x ^ (uint8_t)s.ptr[i]) * 16777619u;
    return x;
}

struct nxx_ws_sub *nxx_ws_subscribe(struct nxx_ws_hub *hub, nxx_ws *ws, nxx_req *req, nxx_str name,
                                    size_t max_pending)
{
    struct nxx_ws_sub *s = nxx_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->hub = hub;
    s->ws = ws;
    s->req = req;
    s->max_pending = max_pending;
    s->zbits = (unsigned)nxx_ws_deflate_bits(ws);
    uint32_t b = hash(name) % HUB_BUCKETS;
    pthread_mutex_lock(&hub->lock);
    struct ws_channel *ch = hub->buckets[b];
    while (ch && !(ch->nlen == name.len && !memcmp(ch->name, name.ptr, name.len)))
        ch = ch->next;
    if (!ch) {
        ch = nxx_calloc(1, sizeof(*ch) + name.len + 1);
        if (!ch) {
            pthread_mutex_unlock(&hub->lock);
            nxx_free(s);
            return NULL;
        }
        pthread_mutex_init(&ch->lock, NULL);
        pthread_mutex_init(&ch->zlock, NULL);
        memcpy(ch->name, name.ptr, name.len);
        ch->nlen = name.len;
        ch->next = hub->buckets[b];
        hub->buckets[b] = ch;
    }
    s->ch = ch;
    pthread_mutex_lock(&ch->lock);
    s->next = ch->subs;
    if (ch->subs)
        ch->subs->prev = s;
    ch->subs = s;
    ch->nsubs++;
    __atomic_add_fetch(&ch->nz[s->zbits], 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&ch->lock);
    pthread_mutex_unlock(&hub->lock);
    nxx_req_suspend(req); /* the pin every post of this subscriber runs under */
    return s;
}

static void deliver(nxx_req *req, void *ud);

/* Ask the subscriber's worker to look at its queue (ch->lock held); one
 * that waits for its client to drain is asked only to close it. */
static void wake(struct nxx_ws_sub *s)
{
    if (s->posted || (s->waiting && !s->overflow))
        return;
    s->posted = 1;
    if (nxx_req_post(s->req, deliver, s) != 0)
        s->posted = 0; /* the server is past its drain: nobody reads any more */
}

static int push(struct nxx_ws_sub *s, struct ws_msg *m)
{
    if (s->qlen == s->qcap) {
        size_t cap = s->qcap ? s->qcap * 2 : 16;
        struct ws_msg **nq = nxx_malloc(cap * sizeof(*nq));
        if (!nq)
            return -1;
        for (size_t i = 0; i < s->qlen; i++)
            nq[i] = s->q[(s->qhead + i) % s->qcap];
        nxx_free(s->q);
        s->q = nq;
        s->qcap = cap;
        s->qhead = 0;
    }
    s->q[(s->qhead + s->qlen) % s->qcap] = m;
    s->qlen++;
    s->qbytes += m->len;
    atomic_fetch_add(&m->refs, 1);
    return 0;
}

static void *z_alloc(void *opaque, unsigned items, unsigned size)
{
    (void)opaque;
    return nxx_calloc(items, size);
}

static void z_free(void *opaque, void *p)
{
    (void)opaque;
    nxx_free(p);
}

/* The message compressed with a window of bits, framed with RSV1
 * (RFC 7692 §7.2.1: without the sync flush's 00 00 ff ff), or NULL. */
static struct ws_msg *deflated(struct ws_channel *ch, unsigned bits, unsigned op, const void *data,
                               size_t len)
{
    pthread_mutex_lock(&ch->zlock);
    z_stream *z = ch->z[bits];
    if (!z && (z = nxx_calloc(1, sizeof(*z))) != NULL) {
        z->zalloc = z_alloc;
        z->zfree = z_free;
        if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -(int)bits, 8, Z_DEFAULT_STRATEGY) !=
            Z_OK) {
            nxx_free(z);
            z = NULL;
        }
        ch->z[bits] = z;
    }
    struct ws_msg *m = NULL;
    size_t bound = z ? deflateBound(z, len) + 16 : 0;
    if (z && (m = nxx_malloc(sizeof(*m) + NXX_WS_HEAD_MAX + bound)) != NULL) {
        /* compressed behind room for the longest header, which then goes
         * right in front of it */
        uint8_t *out = m->data + NXX_WS_HEAD_MAX;
        z->next_in = (Bytef *)(uintptr_t)data;
        z->avail_in = (uInt)len;
        z->next_out = out;
        z->avail_out = (uInt)bound;
        int r = deflate(z, Z_SYNC_FLUSH);
        size_t n = bound - z->avail_out;
        deflateReset(z); /* no context takeover: the frame is everyone's */
        if (r != Z_OK || z->avail_in || n < 4) {
            nxx_free(m);
            m = NULL;
        } else {
            n -= 4;
            uint8_t head[NXX_WS_HEAD_MAX];
            size_t hl = nxx_ws_head_write(head, 1, NXX_WS_RSV1, op, n);
            m->off = NXX_WS_HEAD_MAX - hl;
            memcpy(m->data + m->off, head, hl);
            m->len = hl + n;
            atomic_init(&m->refs, 1);
        }
    }
    pthread_mutex_unlock(&ch->zlock);
    return m;
}

int nxx_ws_publish(struct nxx_ws_sub *sub, int type, const void *data, size_t len)
{
    unsigned op = type == NXX_WS_TEXT ? NXX_WS_OP_TEXT : NXX_WS_OP_BINARY;
    struct ws_msg *m = nxx_malloc(sizeof(*m) + NXX_WS_HEAD_MAX + len);
    if (!m)
        return NXX_ENOMEM;
    atomic_init(&m->refs, 1);
    size_t hl = nxx_ws_head_write(m->data, 1, 0, op, len);
    if (len)
        memcpy(m->data + hl, data, len);
    m->off = 0;
    m->len = hl + len;
    struct ws_channel *ch = sub->ch;
    /* one compressed frame per window the subscribers use (read without the
     * list's lock: one who joins meanwhile gets the plain frame, also valid) */
    struct ws_msg *zm[ZBITS] = { 0 };
    if (len >= NXX_WS_DEFLATE_MIN)
        for (unsigned b = 9; b < ZBITS; b++)
            if (__atomic_load_n(&ch->nz[b], __ATOMIC_RELAXED))
                zm[b] = deflated(ch, b, op, data, len);
    pthread_mutex_lock(&ch->lock);
    for (struct nxx_ws_sub *s = ch->subs; s; s = s->next) {
        if (s->overflow)
            continue;
        struct ws_msg *f = zm[s->zbits] ? zm[s->zbits] : m;
        if (s->qbytes + f->len > s->max_pending || push(s, f) < 0)
            s->overflow = 1; /* too slow: its worker closes it with 1008 */
        wake(s);
    }
    pthread_mutex_unlock(&ch->lock);
    msg_unref(m);
    for (unsigned b = 9; b < ZBITS; b++)
        if (zm[b])
            msg_unref(zm[b]);
    return 0;
}

/* Write what is queued while the client keeps up (the owner's worker). */
static void flush(struct nxx_ws_sub *s)
{
    struct ws_channel *ch = s->ch;
    for (;;) {
        struct ws_msg *batch[FLUSH_BATCH];
        size_t n = 0;
        pthread_mutex_lock(&ch->lock);
        if (s->overflow) {
            pthread_mutex_unlock(&ch->lock);
            nxx_ws_close(s->ws, 1008, "subscriber too slow: its queue passed the limit");
            return;
        }
        if (s->qlen && nxx_ws_pending(s->ws) >= s->max_pending) {
            s->waiting = 1; /* on_drain calls back */
            pthread_mutex_unlock(&ch->lock);
            return;
        }
        while (n < FLUSH_BATCH && s->qlen) {
            struct ws_msg *m = s->q[s->qhead];
            s->qhead = (s->qhead + 1) % s->qcap;
            s->qlen--;
            s->qbytes -= m->len;
            batch[n++] = m;
        }
        pthread_mutex_unlock(&ch->lock);
        if (!n)
            return;
        for (size_t i = 0; i < n; i++) {
            /* a failed write closes the connection, and it leaves its channel */
            if (!s->gone)
                nxx_ws_send_frame(s->ws, batch[i]->data + batch[i]->off, batch[i]->len);
            msg_unref(batch[i]);
        }
        if (s->gone)
            return;
    }
}

static void sub_free(struct nxx_ws_sub *s)
{
    nxx_free(s->q);
    nxx_free(s);
}

static void deliver(nxx_req *req, void *ud)
{
    struct nxx_ws_sub *s = ud;
    if (s->gone) {
        /* the last post: the subscriber's connection may go now */
        sub_free(s);
        return;
    }
    nxx_req_suspend(req);
    pthread_mutex_lock(&s->ch->lock);
    s->posted = 0;
    pthread_mutex_unlock(&s->ch->lock);
    flush(s);
}

void nxx_ws_sub_drained(struct nxx_ws_sub *s)
{
    pthread_mutex_lock(&s->ch->lock);
    int was = s->waiting;
    s->waiting = 0;
    pthread_mutex_unlock(&s->ch->lock);
    if (was)
        flush(s);
}

void nxx_ws_unsubscribe(struct nxx_ws_sub *s)
{
    struct nxx_ws_hub *hub = s->hub;
    struct ws_channel *ch = s->ch;
    pthread_mutex_lock(&hub->lock);
    pthread_mutex_lock(&ch->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        ch->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    int empty = --ch->nsubs == 0;
    __atomic_sub_fetch(&ch->nz[s->zbits], 1, __ATOMIC_RELAXED);
    while (s->qlen) {
        msg_unref(s->q[s->qhead]);
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
    }
    s->gone = 1;
    s->ws = NULL;
    s->ch = NULL;
    int post = !s->posted;
    s->posted = 1;
    pthread_mutex_unlock(&ch->lock);
    if (empty) {
        uint32_t b = hash((nxx_str){ ch->name, ch->nlen }) % HUB_BUCKETS;
        struct ws_channel **pp = &hub->buckets[b];
        while (*pp != ch)
            pp = &(*pp)->next;
        *pp = ch->next;
        for (unsigned w = 0; w < ZBITS; w++)
            if (ch->z[w]) {
                deflateEnd(ch->z[w]);
                nxx_free(ch->z[w]);
            }
        pthread_mutex_destroy(&ch->zlock);
        pthread_mutex_destroy(&ch->lock);
        nxx_free(ch);
    }
    pthread_mutex_unlock(&hub->lock);
    /* no post in flight: send the last one, which lets the pin go */
    if (post && nxx_req_post(s->req, deliver, s) != 0)
        sub_free(s);
}
