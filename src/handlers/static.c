/*
 * static.c - the file handler: GET and HEAD of files under a root.
 *
 * Paths arrive decoded and normalised by the engine (no dot segments, no
 * encoded separators); here every open goes through nxx_os_open_beneath(),
 * so neither '..' nor a symlink can lead outside the root.  Dotfiles are
 * hidden (404).  A directory without its trailing slash is redirected (301)
 * so relative links inside it resolve; with it, index.html is served.
 *
 * HTTP semantics (RFC 9110): strong ETags and Last-Modified on every file,
 * preconditions through the shared evaluator (cond.c: 304/412), byte ranges
 * (range.c: 206 single or multipart/byteranges, 416, If-Range), and
 * precompressed FILE.br / FILE.gz siblings chosen by Accept-Encoding, each
 * its own representation with its own validators, with Vary on every
 * response of a file that has them.
 *
 * Each worker keeps an open-file cache: descriptor, stat and validators per
 * path (absent paths too), and the content of small files, revalidated at
 * most once a second.  A cache hit costs no system call: small bodies go out
 * in the same writev as the head, larger ones with sendfile from the cached
 * descriptor.
 */
#include <dirent.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "handlers/mime.h"
#include "handlers/static.h"
#include "handlers/tcn.h"
#include "http/cond.h"
#include "http/date.h"
#include "http/negotiate.h"
#include "http/path.h"
#include "http/range.h"
#include "http/request.h"
#include "http/site.h"
#include "os/fs.h"
#include "os/random.h"
#include "core/banned.h"

#define FC_SLOTS NXX_STATIC_CACHE_FILES /* per worker, direct-mapped */
#define FC_SMALL (32 * 1024)            /* files up to this size are kept in memory */
#define FC_REVALIDATE_MS 1000           /* a changed file is stale for at most this long */

#define LISTING_MAX 10000 /* entries shown in one directory listing */

struct cache_rule {
    char *prefix;
    size_t prefix_len;
    char *value;
    size_t value_len;
    long long max_age; /* from the value, for Expires; -1 if none */
};

struct static_root {
    uint64_t id; /* names its entries in the workers' caches; never reused */
    char *prefix;
    size_t prefix_len;
    char *root;
    int rootfd;
    int listing;
    int follow_symlinks;
    int precompressed;
    int written; /* another handler writes under root: revalidate every lookup */
    /* ... unless it counts its writes here: then only when the count moved
     * (or, for changes made outside it, once a second as usual) */
    const atomic_ullong *changes;
    int multiviews;
    char **langs; /* language priority */
    size_t nlangs;
    struct cache_rule *rules;
    size_t nrules;
    nxx_handler_fn fallback;
    void *fallback_ud;
};

struct fentry {
    uint64_t root_id; /* the static_root it belongs to (ids are never reused) */
    char *key;
    size_t key_len;
    uint64_t hash;
    int fd;
    int refs; /* responses in flight using fd or data */
    int dead; /* evicted while referenced: free at refs == 0 */
    int is_dir;
    int status; /* 0, or the cached answer for an absent/forbidden path */
    struct stat st;
    uint64_t checked_ms;
    unsigned long long seen; /* root's change count when checked */
    char etag[64];
    size_t etag_len;
    char lastmod[NXX_DATE_LEN + 1];
    nxx_str ctype;
    /*
     * The header lines every response of this file carries, prebuilt when
     * the entry is filled (it is replaced, never changed, when the file
     * changes): "ETag", "Last-Modified" (hdr[0..hdr_validators)), then
     * "Accept-Ranges: bytes" and "Content-Type".  hdr_len 0: not built (a
     * very long media type); the lines are then added one by one.
     */
    char hdr[256];
    size_t hdr_len, hdr_validators;
    char *data; /* whole content when small */
    /* precompressed siblings seen at the last check (checked at most once
     * per revalidation period, so a file without them costs no lookups) */
    uint64_t variants_ms;
    int variants; /* bit 0: FILE.br exists, bit 1: FILE.gz */
};

struct fcache {
    struct fentry *slots[FC_SLOTS];
};

/* Eight bytes a step, then a final mix so the low bits that pick the slot
 * depend on every byte (a lookup hashes the path of every request). */
static uint64_t hash_key(const struct static_root *sr, const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ sr->id;
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 32;
    }
    for (; n; s++, n--)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

size_t nxx_static_etag(const struct stat *st, char *buf, size_t cap)
{
    /* strong validator: any change to the file changes inode, size or mtime */
    int n = snprintf(buf, cap, "\"%llx-%llx-%llx%09ld\"", (unsigned long long)st->st_ino,
                     (unsigned long long)st->st_size, (unsigned long long)st->st_mtim.tv_sec,
                     (long)st->st_mtim.tv_nsec);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static void entry_free(struct fentry *e)
{
    if (e->fd >= 0)
        close(e->fd);
    nxx_free(e->data);
    nxx_free(e->key);
    nxx_free(e);
}

static void entry_unref(void *arg)
{
    struct fentry *e = arg;
    if (--e->refs == 0 && e->dead)
        entry_free(e);
}

static void entry_evict(struct fentry *e)
{
    if (e->refs > 0)
        e->dead = 1;
    else
        entry_free(e);
}

static void cache_free(void *p)
{
    struct fcache *fc = p;
    for (size_t i = 0; i < FC_SLOTS; i++)
        if (fc->slots[i])
            entry_evict(fc->slots[i]);
    nxx_free(fc);
}

static void *cache_new(void)
{
    return nxx_calloc(1, sizeof(struct fcache));
}

/* One cache per worker, shared by every root (entries name theirs). */
static struct nxx_worker_key cache_key = { cache_new, cache_free, 0 };

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_mode == b->st_mode;
}

/* errno of a failed open/stat as the status to answer */
static int status_of(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case EXDEV: /* would escape the root: as if absent */
    case ELOOP:
    case ENAMETOOLONG: return 404;
    case EACCES:
    case EPERM:
    case ENXIO: /* a socket, which open() refuses: like devices and FIFOs, never served */
        return 403;
    default: return 500;
    }
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, lit) put((p), (lit), sizeof(lit) - 1)

/* The entry's fixed header lines (see struct fentry), in the order a 200 sends them. */
static void build_lines(struct fentry *e)
{
    e->hdr_len = 0;
    if (e->etag_len + NXX_DATE_LEN + e->ctype.len + 80 > sizeof(e->hdr))
        return;
    char *p = e->hdr;
    if (e->etag_len) {
        p = PUT_LIT(p, "ETag: ");
        p = put(p, e->etag, e->etag_len);
        p = PUT_LIT(p, "\r\n");
    }
    p = PUT_LIT(p, "Last-Modified: ");
    p = put(p, e->lastmod, NXX_DATE_LEN);
    p = PUT_LIT(p, "\r\n");
    e->hdr_validators = (size_t)(p - e->hdr);
    p = PUT_LIT(p, "Accept-Ranges: bytes\r\nContent-Type: ");
    p = put(p, e->ctype.ptr, e->ctype.len);
    p = PUT_LIT(p, "\r\n");
    e->hdr_len = (size_t)(p - e->hdr);
}

static int fill_entry(struct fentry *e, int fd, const struct stat *st, const char *name,
                      size_t name_len)
{
    e->fd = fd;
    e->st = *st;
    e->is_dir = S_ISDIR(st->st_mode);
    e->etag_len = nxx_static_etag(st, e->etag, sizeof(e->etag));
    nxx_date_format((int64_t)st->st_mtim.tv_sec, e->lastmod);
    e->ctype = nxx_mime_type(name, name_len);
    build_lines(e);
    e->data = NULL;
    if (!e->is_dir && st->st_size > 0 && st->st_size <= FC_SMALL) {
        e->data = nxx_malloc((size_t)st->st_size);
        if (e->data) {
            ssize_t got = pread(fd, e->data, (size_t)st->st_size, 0);
            if (got != st->st_size) {
                nxx_free(e->data);
                e->data = NULL;
            }
        }
    }
    return 0;
}

/*
 * Find or open rel[0..rel_len) (no NUL needed) under sr.  On success returns
 * 0 and *out (referenced for this request); else the status to answer.
 */
static int lookup(nxx_req *req, const struct static_root *sr, const char *rel, size_t rel_len,
                  struct fentry **out)
{
    struct fcache *fc = nxx_req_worker_state(req, &cache_key);
    uint64_t h = hash_key(sr, rel, rel_len);
    struct fentry **slot = fc ? &fc->slots[h % FC_SLOTS] : NULL;
    struct fentry *e = slot ? *slot : NULL;
    uint64_t now = nxx_req_now_ms(req);
    if (e && (e->hash != h || e->root_id != sr->id || e->key_len != rel_len ||
              !nxx_mem_eq(e->key, rel, rel_len)))
        e = NULL; /* another path in this slot */
    /* loaded before the file is looked at: a write that lands meanwhile
     * moves the count past it, so the next lookup looks again */
    unsigned long long seen = sr->changes ? atomic_load(sr->changes) : 0;
    if (e && (!sr->written || (sr->changes && e->seen == seen)) &&
        now - e->checked_ms < FC_REVALIDATE_MS) {
        if (e->status)
            return e->status;
        goto hit;
    }

    /* the system call needs the name NUL-terminated */
    char *name = nxx_req_alloc(req, rel_len + 1);
    if (!name)
        return 500;
    memcpy(name, rel, rel_len);
    name[rel_len] = '\0';
    int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int fd;
    if (sr->follow_symlinks) {
        fd = openat(sr->rootfd, rel_len ? name : ".", flags);
        if (fd < 0)
            fd = -errno;
    } else {
        fd = nxx_os_open_beneath(sr->rootfd, rel_len ? name : ".", flags);
    }
    struct stat st;
    int status = 0;
    if (fd < 0) {
        status = status_of(-fd);
        fd = -1;
        memset(&st, 0, sizeof(st));
    } else if (fstat(fd, &st) < 0) {
        status = status_of(errno);
        close(fd);
        fd = -1;
    } else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        status = 403; /* devices, FIFOs, sockets are never served */
        close(fd);
        fd = -1;
    }
    if (status == 500)
        return 500; /* never cache a transient failure */
    if (e && e->status == status && (status || same_file(&e->st, &st))) {
        if (fd >= 0)
            close(fd);
        e->checked_ms = now;
        e->seen = seen;
        if (status)
            return status;
        goto hit;
    }
    struct fentry *ne = nxx_calloc(1, sizeof(*ne));
    char *key = nxx_malloc(rel_len + 1);
    if (!ne || !key) {
        nxx_free(ne);
        nxx_free(key);
        close(fd);
        return 500;
    }
    memcpy(key, rel, rel_len);
    key[rel_len] = '\0';
    ne->root_id = sr->id;
    ne->key = key;
    ne->key_len = rel_len;
    ne->hash = h;
    ne->checked_ms = now;
    ne->seen = seen;
    ne->status = status;
    if (status)
        ne->fd = -1;
    else
        fill_entry(ne, fd, &st, rel, rel_len);
    if (slot) {
        if (*slot)
            entry_evict(*slot);
        *slot = ne;
    } else if (status) {
        entry_free(ne);
        return status;
    }
    e = ne;
    if (status)
        return status; /* cached: an absent file costs no syscall for a second */
hit:
    e->refs++;
    if (nxx_req_on_done(req, entry_unref, e) < 0) {
        e->refs--;
        return 500;
    }
    if (!slot)
        e->dead = 1; /* no cache: free after the response */
    *out = e;
    return 0;
}

static int redirect_to_dir(nxx_req *req)
{
    /* RFC 9110 §15.4.2: the resource lives at the slash-terminated URL */
    nxx_str raw = req->h.path;
    nxx_str q = req->h.query;
    if (req->h.form == NXX_TARGET_ABSOLUTE || !raw.len) {
        raw = req->path;
    }
    size_t cap = raw.len + q.len + 4;
    char *loc = nxx_req_alloc(req, cap);
    if (!loc)
        return 500;
    size_t n = 0;
    memcpy(loc, raw.ptr, raw.len);
    n += raw.len;
    loc[n++] = '/';
    if (q.len) {
        loc[n++] = '?';
        memcpy(loc + n, q.ptr, q.len);
        n += q.len;
    }
    NXX_RESP_HEADER(req, "Location", (nxx_str){ loc, n });
    nxx_resp_status(req, 301);
    char *body = nxx_req_alloc(req, n + 64);
    int blen = body ? snprintf(body, n + 64, "Moved to %.*s\n", (int)n, loc) : 0;
    NXX_RESP_HEADER(req, "Content-Type", NXX_STR("text/plain; charset=utf-8"));
    nxx_resp_send(req, body, blen > 0 ? (size_t)blen : 0, NXX_BORROW);
    return 0;
}

/* ---- response pieces ---- */

static const struct cache_rule *rule_for(const struct static_root *sr, nxx_str path)
{
    const struct cache_rule *best = NULL;
    for (size_t i = 0; i < sr->nrules; i++) {
        const struct cache_rule *r = &sr->rules[i];
        if (r->prefix_len <= path.len && memcmp(r->prefix, path.ptr, r->prefix_len) == 0 &&
            (!best || r->prefix_len > best->prefix_len))
            best = r;
    }
    return best;
}

/* Cache-Control and Expires (RFC 9111 §5.2, §5.3) from the path's rule, if any. */
static void caching_headers(nxx_req *req, const struct cache_rule *r)
{
    if (!r)
        return;
    NXX_RESP_HEADER(req, "Cache-Control", (nxx_str){ r->value, r->value_len });
    if (r->max_age >= 0) {
        char *d = nxx_req_alloc(req, NXX_DATE_LEN + 1);
        if (d) {
            nxx_date_format(nxx_req_wall_s(req) + r->max_age, d);
            NXX_RESP_HEADER(req, "Expires", (nxx_str){ d, NXX_DATE_LEN });
        }
    }
}

/* RFC 9110 §8.8.2.1: a modification date later than Date is sent as Date. */
static int mtime_ahead(nxx_req *req, const struct fentry *e)
{
    return e->st.st_mtim.tv_sec > nxx_req_wall_s(req);
}

static void validator_headers(nxx_req *req, const struct fentry *e)
{
    if (mtime_ahead(req, e)) {
        char *d = nxx_req_alloc(req, NXX_DATE_LEN + 1);
        if (e->etag_len)
            NXX_RESP_HEADER(req, "ETag", (nxx_str){ e->etag, e->etag_len });
        if (d) {
            nxx_date_format(nxx_req_wall_s(req), d);
            NXX_RESP_HEADER(req, "Last-Modified", (nxx_str){ d, NXX_DATE_LEN });
        }
        return;
    }
    if (e->hdr_len) {
        nxx_resp_header_lines(req, e->hdr, e->hdr_validators);
        return;
    }
    if (e->etag_len)
        NXX_RESP_HEADER(req, "ETag", (nxx_str){ e->etag, e->etag_len });
    NXX_RESP_HEADER(req, "Last-Modified", (nxx_str){ e->lastmod, NXX_DATE_LEN });
}

/* Queue [off, off+len) of the entry's content. */
static void queue_slice(nxx_req *req, const struct fentry *e, uint64_t off, uint64_t len)
{
    if (!len)
        return;
    if (e->data) {
        nxx_resp_piece(req, e->data + off, (size_t)len);
        return;
    }
    if (len <= FC_SMALL) {
        /* a small slice of a big file: read it and send it with the head in
         * one writev; sendfile pays off only for larger runs */
        char *buf = nxx_req_alloc(req, (size_t)len);
        if (buf && pread(e->fd, buf, (size_t)len, (off_t)off) == (ssize_t)len) {
            nxx_resp_piece(req, buf, (size_t)len);
            return;
        }
    }
    nxx_resp_piece_file(req, e->fd, (off_t)off, (size_t)len);
}

/* The whole representation: from memory with the head, or from the file. */
static int send_whole(nxx_req *req, const struct fentry *e, uint64_t len)
{
    if (e->data || !len)
        return nxx_resp_send(req, e->data, (size_t)len, NXX_BORROW) ? 500 : 0;
    return nxx_resp_file(req, e->fd, 0, (off_t)len) ? 500 : 0;
}

/* Head with Content-Length total, then the queued pieces (nothing for HEAD). */
static int finish(nxx_req *req, uint64_t total)
{
    return nxx_resp_begin(req, (int64_t)total) ? 500 : 0;
}

static uint64_t rng_next(void)
{
    static _Thread_local uint64_t x;
    if (!x && (nxx_os_random(&x, sizeof(x), 0) != 0 || !x))
        x = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&x;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

static int send_ranges(nxx_req *req, const struct fentry *e, nxx_str ctype,
                       const struct nxx_range *r, size_t n)
{
    uint64_t len = (uint64_t)e->st.st_size;
    nxx_resp_status(req, 206);
    if (n == 1) {
        nxx_resp_headerf(req, "Content-Range", "bytes %llu-%llu/%llu",
                         (unsigned long long)r[0].first, (unsigned long long)r[0].last,
                         (unsigned long long)len);
        NXX_RESP_HEADER(req, "Content-Type", ctype);
        uint64_t count = r[0].last - r[0].first + 1;
        if (finish(req, count))
            return 500;
        if (!req->head_only)
            queue_slice(req, e, r[0].first, count);
        nxx_resp_done(req);
        return 0;
    }
    /* RFC 9110 §14.6: several ranges as multipart/byteranges */
    char *bnd = nxx_req_alloc(req, 24);
    if (!bnd)
        return 500;
    int bl = snprintf(bnd, 24, "%016llx", (unsigned long long)rng_next());
    nxx_str boundary = { bnd, (size_t)bl };
    nxx_resp_headerf(req, "Content-Type", "multipart/byteranges; boundary=%s", bnd);
    uint64_t total = nxx_range_multipart_length(boundary, ctype, r, n, len);
    if (finish(req, total))
        return 500;
    if (!req->head_only) {
        for (size_t i = 0; i < n; i++) {
            size_t need = nxx_range_part_header(NULL, 0, boundary, ctype, &r[i], len);
            char *ph = nxx_req_alloc(req, need);
            if (!ph)
                return 500;
            nxx_range_part_header(ph, need, boundary, ctype, &r[i], len);
            nxx_resp_piece(req, ph, need);
            queue_slice(req, e, r[i].first, r[i].last - r[i].first + 1);
        }
        size_t tl = nxx_range_trailer(NULL, 0, boundary);
        char *tr = nxx_req_alloc(req, tl);
        if (!tr)
            return 500;
        nxx_range_trailer(tr, tl, boundary);
        nxx_resp_piece(req, tr, tl);
    }
    nxx_resp_done(req);
    return 0;
}

/* The five precondition fields in one pass over the header (every request
 * pays for this); a list field given on several lines is joined. */
static void conditions_of(nxx_req *req, struct nxx_conditions *c)
{
    memset(c, 0, sizeof(*c));
    int lists = 0;
    for (size_t i = 0; i < req->h.num_headers; i++) {
        nxx_str n = req->h.headers[i].name;
        if (n.len < 8 || (n.ptr[0] | 0x20) != 'i' || (n.ptr[1] | 0x20) != 'f' || n.ptr[2] != '-')
            continue;
        nxx_str v = req->h.headers[i].value;
        nxx_str *slot = NULL;
        switch (n.len) {
        case 8:
            if (NXX_FIELD_NAME_IS(n, "if-match"))
                slot = &c->if_match;
            else if (NXX_FIELD_NAME_IS(n, "if-range"))
                slot = &c->if_range;
            break;
        case 13:
            if (NXX_FIELD_NAME_IS(n, "if-none-match"))
                slot = &c->if_none_match;
            break;
        case 17:
            if (NXX_FIELD_NAME_IS(n, "if-modified-since"))
                slot = &c->if_modified_since;
            break;
        case 19:
            if (NXX_FIELD_NAME_IS(n, "if-unmodified-since"))
                slot = &c->if_unmodified_since;
            break;
        default: break;
        }
        if (!slot)
            continue;
        if (slot->ptr && (slot == &c->if_match || slot == &c->if_none_match))
            lists = 1;
        else if (!slot->ptr)
            *slot = v;
    }
    if (lists) {
        c->if_match = nxx_req_header_list(req, "if-match");
        c->if_none_match = nxx_req_header_list(req, "if-none-match");
    }
}

/*
 * Serve the representation e (the file or a precompressed sibling) of the
 * resource whose media type is ctype.
 */
static int send_representation(nxx_req *req, const struct static_root *sr, const struct fentry *e,
                               nxx_str ctype, const char *encoding, int vary)
{
    struct nxx_validators v = { { e->etag, e->etag_len }, (int64_t)e->st.st_mtim.tv_sec, 1 };
    struct nxx_conditions cd = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
    int pre = 0; /* without precondition fields there is nothing to evaluate */
    if (req->h.present & NXX_HP_COND) {
        conditions_of(req, &cd);
        int get_or_head = 1; /* the file handler only runs for GET and HEAD */
        pre = nxx_cond_evaluate(&cd, &v, get_or_head);
    }
    const struct cache_rule *rule = sr->nrules ? rule_for(sr, nxx_req_path(req)) : NULL;
    if (vary)
        NXX_RESP_HEADER(req, "Vary", NXX_STR("Accept-Encoding"));
    if (pre == 304) {
        /* RFC 9110 §15.4.5: the fields a 200 would have carried that matter to caches */
        validator_headers(req, e);
        caching_headers(req, rule);
        nxx_resp_status(req, 304);
        return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
    }
    if (pre == 412)
        return 412;
    uint64_t len = (uint64_t)e->st.st_size;
    if (e->hdr_len && !rule && !encoding && !(req->h.present & NXX_HP_RANGE) &&
        !mtime_ahead(req, e)) {
        /* the whole representation with nothing but the entry's own fields:
         * ETag through Content-Type in one prebuilt block */
        nxx_resp_header_lines(req, e->hdr, e->hdr_len);
        return send_whole(req, e, len);
    }
    validator_headers(req, e);
    caching_headers(req, rule);
    NXX_RESP_HEADER(req, "Accept-Ranges", NXX_STR("bytes"));
    if (encoding)
        NXX_RESP_HEADER(req, "Content-Encoding", (nxx_str){ encoding, strlen(encoding) });
    nxx_str range = { NULL, 0 };
    if (req->h.present & NXX_HP_RANGE)
        range = nxx_req_header(req, "range");
    /* RFC 9110 §14.2: Range is defined for GET only; HEAD gets the 200 fields */
    /* RFC 9110 §8.8.2.2: a modification date within the last second is weak
     * (the file may change again in the same second): no If-Range by date */
    struct nxx_validators vr = v;
    if (vr.last_modified >= nxx_req_wall_s(req) - 1)
        vr.last_modified = -1;
    if (range.len && req->h.method_id == NXX_M_GET && nxx_if_range_ok(cd.if_range, &vr)) {
        struct nxx_range r[NXX_RANGE_MAX];
        size_t n = 0;
        enum nxx_range_result rr = nxx_range_parse(range, len, r, &n, 0);
        if (rr == NXX_RANGE_OK)
            return send_ranges(req, e, ctype, r, n);
        if (rr == NXX_RANGE_UNSATISFIABLE) {
            nxx_resp_headerf(req, "Content-Range", "bytes */%llu", (unsigned long long)len);
            nxx_req_detail(req, "no requested range overlaps the %llu bytes of the representation",
                           (unsigned long long)len);
            return 416;
        }
        /* NONE (ignored) and TOO_MANY (amplification guard): the whole representation */
    }
    NXX_RESP_HEADER(req, "Content-Type", ctype);
    return send_whole(req, e, len);
}

/* Does an Accept-Encoding line carry a parameter (a weight)?  Without one
 * every coding it names, identity and "*" included, has q=1. */
static int ae_weighted(const nxx_req *req)
{
    for (size_t i = 0; i < req->h.num_headers; i++) {
        const struct nxx_header *f = &req->h.headers[i];
        if (NXX_FIELD_NAME_IS(f->name, "accept-encoding") &&
            memchr(f->value.ptr, ';', f->value.len))
            return 1;
    }
    return 0;
}

/* Look up a precompressed sibling ("FILE.br"); NULL when absent. */
static struct fentry *sibling(nxx_req *req, const struct static_root *sr, const char *key,
                              size_t klen, const char *ext)
{
    size_t el = strlen(ext);
    char *k = nxx_req_alloc(req, klen + el + 1);
    if (!k)
        return NULL;
    memcpy(k, key, klen);
    memcpy(k + klen, ext, el + 1);
    struct fentry *e = NULL;
    if (lookup(req, sr, k, klen + el, &e) != 0 || e->is_dir)
        return NULL;
    return e;
}

static int send_file(nxx_req *req, const struct static_root *sr, struct fentry *e, const char *key,
                     size_t klen)
{
    struct fentry *br = NULL, *gz = NULL;
    uint64_t now = nxx_req_now_ms(req);
    if (sr->precompressed &&
        (e->variants || !e->variants_ms || now - e->variants_ms >= FC_REVALIDATE_MS)) {
        br = sibling(req, sr, key, klen, ".br");
        gz = sibling(req, sr, key, klen, ".gz");
        e->variants = (br ? 1 : 0) | (gz ? 2 : 0);
        e->variants_ms = now ? now : 1;
    }
    int has_ae = (req->h.present & NXX_HP_ACCEPT_ENCODING) != 0;
    /* identity alone on offer, and nothing that could refuse it: only a q=0
     * ("identity;q=0", "*;q=0") makes it unacceptable (RFC 9110 §12.5.3) */
    if (!br && !gz && (!has_ae || !ae_weighted(req)))
        return send_representation(req, sr, e, e->ctype, NULL, 0);
    nxx_str ae = has_ae ? nxx_req_header_list(req, "accept-encoding") : (nxx_str){ NULL, 0 };
    has_ae = ae.ptr != NULL;
    int q_id = nxx_accept_encoding_q(ae, has_ae, "identity");
    int q_br = br ? nxx_accept_encoding_q(ae, has_ae, "br") : 0;
    int q_gz = gz ? nxx_accept_encoding_q(ae, has_ae, "gzip") : 0;
    int vary = br || gz;
    /* the highest q wins; on a tie the smaller representation */
    const struct fentry *pick = e;
    const char *enc = NULL;
    int best = q_id;
    const struct fentry *cand[2] = { gz, br };
    const int q[2] = { q_gz, q_br };
    const char *const name[2] = { "gzip", "br" };
    for (int i = 0; i < 2; i++) {
        if (!cand[i] || q[i] <= 0)
            continue;
        if (q[i] > best || (q[i] == best && cand[i]->st.st_size < pick->st.st_size)) {
            pick = cand[i];
            enc = name[i];
            best = q[i];
        }
    }
    if (best <= 0) {
        /* RFC 9110 §12.5.3: identity refused and nothing else acceptable */
        if (vary)
            NXX_RESP_HEADER(req, "Vary", NXX_STR("Accept-Encoding"));
        nxx_req_detail(req, "Accept-Encoding refuses identity and every available coding%s",
                       vary ? " (br, gzip variants exist only where listed)" : "");
        return 406;
    }
    return send_representation(req, sr, pick, e->ctype, enc, vary);
}

/* ---- directory listings ---- */

struct lentry {
    const char *name;
    size_t name_len;
    int is_dir;
    long long size;
    int64_t mtime;
};

static int lentry_cmp(const void *a, const void *b)
{
    const struct lentry *x = a, *y = b;
    if (x->is_dir != y->is_dir)
        return y->is_dir - x->is_dir; /* directories first */
    return strcmp(x->name, y->name);
}

struct out {
    char *p;
    size_t len, cap;
    nxx_req *req;
    int oom;
};

static void out_put(struct out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n > o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 8192;
        while (ncap < o->len + n)
            ncap *= 2;
        char *np = nxx_req_alloc(o->req, ncap);
        if (!np) {
            o->oom = 1;
            return;
        }
        if (o->len)
            memcpy(np, o->p, o->len);
        o->p = np;
        o->cap = ncap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

#define OUT_LIT(o, lit) out_put((o), (lit), sizeof(lit) - 1)

static void out_html(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '<': OUT_LIT(o, "&lt;"); break;
        case '>': OUT_LIT(o, "&gt;"); break;
        case '&': OUT_LIT(o, "&amp;"); break;
        case '"': OUT_LIT(o, "&quot;"); break;
        case '\'': OUT_LIT(o, "&#39;"); break;
        default: out_put(o, s + i, 1); break;
        }
    }
}

static void out_json(struct out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            char esc[2] = { '\\', (char)ch };
            out_put(o, esc, 2);
        } else if (ch < 0x20) {
            char esc[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
            out_put(o, esc, 6);
        } else {
            out_put(o, s + i, 1);
        }
    }
}

static void out_href(struct out *o, const char *s, size_t n)
{
    size_t need = nxx_url_escape_path(s, n, NULL, 0);
    char stackbuf[1024];
    char *buf = need <= sizeof(stackbuf) ? stackbuf : nxx_req_alloc(o->req, need);
    if (!buf) {
        o->oom = 1;
        return;
    }
    nxx_url_escape_path(s, n, buf, need);
    out_html(o, buf, need);
}

static int send_listing(nxx_req *req, const struct fentry *dir)
{
    int dfd = dup(dir->fd);
    if (dfd < 0)
        return 500;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return 500;
    }
    rewinddir(d);
    size_t cap = 64, n = 0;
    struct lentry *ents = nxx_req_alloc(req, cap * sizeof(*ents));
    int truncated = 0;
    struct dirent *de;
    while (ents && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue; /* dotfiles stay hidden in listings too */
        if (n == LISTING_MAX) {
            truncated = 1;
            break;
        }
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (n == cap) {
            struct lentry *ne = nxx_req_alloc(req, cap * 2 * sizeof(*ne));
            if (!ne)
                break;
            memcpy(ne, ents, n * sizeof(*ne));
            ents = ne;
            cap *= 2;
        }
        size_t nl = strlen(de->d_name);
        ents[n].name = nxx_arena_strndup(req->arena, de->d_name, nl);
        ents[n].name_len = nl;
        ents[n].is_dir = S_ISDIR(st.st_mode);
        ents[n].size = (long long)st.st_size;
        ents[n].mtime = (int64_t)st.st_mtim.tv_sec;
        if (ents[n].name)
            n++;
    }
    closedir(d);
    if (!ents)
        return 500;
    qsort(ents, n, sizeof(*ents), lentry_cmp);
    nxx_str accept = nxx_req_header_list(req, "accept");
    int has_accept = accept.ptr != NULL;
    int json = nxx_accept_q(accept, has_accept, "application/json") >
               nxx_accept_q(accept, has_accept, "text/html");
    struct out o = { NULL, 0, 0, req, 0 };
    nxx_str path = nxx_req_path(req);
    char date[NXX_DATE_LEN + 1];
    char num[64];
    if (json) {
        OUT_LIT(&o, "{\"path\":\"");
        out_json(&o, path.ptr, path.len);
        OUT_LIT(&o, "\",\"truncated\":");
        if (truncated)
            OUT_LIT(&o, "true");
        else
            OUT_LIT(&o, "false");
        OUT_LIT(&o, ",\"entries\":[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                OUT_LIT(&o, ",");
            OUT_LIT(&o, "{\"name\":\"");
            out_json(&o, ents[i].name, ents[i].name_len);
            nxx_date_format(ents[i].mtime, date);
            int k = snprintf(num, sizeof(num), "\",\"type\":\"%s\",\"size\":%lld,\"modified\":\"",
                             ents[i].is_dir ? "directory" : "file", ents[i].size);
            out_put(&o, num, (size_t)k);
            out_put(&o, date, NXX_DATE_LEN);
            OUT_LIT(&o, "\"}");
        }
        OUT_LIT(&o, "]}\n");
    } else {
        OUT_LIT(&o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<title>Index of ");
        out_html(&o, path.ptr, path.len);
        OUT_LIT(&o, "</title></head>\n<body><h1>Index of ");
        out_html(&o, path.ptr, path.len);
        OUT_LIT(&o, "</h1>\n<table>\n<tr><th>Name</th><th>Size</th><th>Last modified</th></tr>\n");
        if (path.len > 1)
            OUT_LIT(&o, "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
        for (size_t i = 0; i < n; i++) {
            OUT_LIT(&o, "<tr><td><a href=\"./");
            out_href(&o, ents[i].name, ents[i].name_len);
            if (ents[i].is_dir)
                OUT_LIT(&o, "/");
            OUT_LIT(&o, "\">");
            out_html(&o, ents[i].name, ents[i].name_len);
            if (ents[i].is_dir)
                OUT_LIT(&o, "/");
            OUT_LIT(&o, "</a></td><td>");
            int k = ents[i].is_dir ? snprintf(num, sizeof(num), "-")
                                   : snprintf(num, sizeof(num), "%lld", ents[i].size);
            out_put(&o, num, (size_t)k);
            OUT_LIT(&o, "</td><td>");
            nxx_date_format(ents[i].mtime, date);
            out_put(&o, date, NXX_DATE_LEN);
            OUT_LIT(&o, "</td></tr>\n");
        }
        OUT_LIT(&o, "</table>\n");
        if (truncated)
            OUT_LIT(&o, "<p>Listing truncated at 10000 entries.</p>\n");
        OUT_LIT(&o, "</body></html>\n");
    }
    if (o.oom)
        return 500;
    NXX_RESP_HEADER(req, "Vary", NXX_STR("Accept"));
    NXX_RESP_HEADER(req, "Cache-Control", NXX_STR("no-cache"));
    NXX_RESP_HEADER(req, "Content-Type",
                    json ? NXX_STR("application/json") : NXX_STR("text/html; charset=utf-8"));
    return nxx_resp_send(req, o.p, o.len, NXX_BORROW) ? 500 : 0;
}

/* ---- variants (MultiViews, type maps) ---- */

#define TYPEMAP_MAX (64 * 1024)

/* The variants of base in the directory dfd: the type map BASE.var when
 * there is one, else the files BASE.*; 0 when there are none, -1 on error
 * (the status in *status). */
static int find_variants(nxx_req *req, int dfd, const char *base, size_t base_len,
                         struct nxx_variant *v, int *status)
{
    char map[300];
    int n = 0;
    if (base_len + sizeof(".var") <= sizeof(map)) {
        memcpy(map, base, base_len);
        memcpy(map + base_len, ".var", sizeof(".var"));
        int fd = openat(dfd, map, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd >= 0) {
            char *text = nxx_req_alloc(req, TYPEMAP_MAX);
            ssize_t len = text ? read(fd, text, TYPEMAP_MAX) : -1;
            close(fd);
            const char *why = "it cannot be read";
            char self[256];
            snprintf(self, sizeof(self), "%.*s", (int)base_len, base);
            if (len >= 0 && len < TYPEMAP_MAX &&
                (n = nxx_typemap_parse(text, (size_t)len, self, v, NXX_TCN_MAX_VARIANTS, &why)) >=
                    0)
                goto stat_them;
            if (len >= TYPEMAP_MAX)
                why = "it is larger than 64 KiB";
            nxx_log_error("type map %s: %s", map, why);
            nxx_req_detail(req, "the type map of this resource is broken");
            *status = 500;
            return -1;
        }
    }
    int d2 = dup(dfd);
    DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
    if (!d) {
        if (d2 >= 0)
            close(d2);
        *status = 500;
        return -1;
    }
    rewinddir(d);
    struct dirent *de;
    while ((de = readdir(d)) && n < NXX_TCN_MAX_VARIANTS)
        if (nxx_variant_from_name(base, base_len, de->d_name, &v[n]) == 0)
            n++;
    closedir(d);
stat_them:
    /* only regular files are variants; a type map may give the length */
    for (int i = 0; i < n;) {
        struct stat st;
        if (fstatat(dfd, v[i].name, &st, 0) < 0 || !S_ISREG(st.st_mode)) {
            v[i] = v[--n];
            continue;
        }
        v[i].length = (uint64_t)st.st_size;
        i++;
    }
    return n;
}

/* 300 Multiple Choices: the list as Alternates and as an HTML page. */
static int send_list(nxx_req *req, const struct nxx_variant *v, size_t n, nxx_str path)
{
    struct out o = { .req = req };
    OUT_LIT(&o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<title>Multiple Choices</title></head>\n<body><h1>Multiple Choices</h1>\n<p>");
    out_html(&o, path.ptr, path.len);
    OUT_LIT(&o, " is available as:</p>\n<ul>\n");
    for (size_t i = 0; i < n; i++) {
        OUT_LIT(&o, "<li><a href=\"");
        out_put(&o, v[i].name, strlen(v[i].name));
        OUT_LIT(&o, "\">");
        out_put(&o, v[i].name, strlen(v[i].name));
        OUT_LIT(&o, "</a>, ");
        out_html(&o, v[i].type.ptr, v[i].type.len);
        if (v[i].lang[0]) {
            OUT_LIT(&o, ", language ");
            out_put(&o, v[i].lang, strlen(v[i].lang));
        }
        OUT_LIT(&o, "</li>\n");
    }
    OUT_LIT(&o, "</ul>\n</body></html>\n");
    if (o.oom)
        return 500;
    nxx_resp_status(req, 300);
    NXX_RESP_HEADER(req, "TCN", NXX_STR("list"));
    NXX_RESP_HEADER(req, "Content-Type", NXX_STR("text/html; charset=utf-8"));
    return nxx_resp_send(req, o.p, o.len, NXX_BORROW) ? 500 : 0;
}

/*
 * key[0..klen) names nothing: negotiate it among its variants.  404 when
 * it has none; otherwise the best variant (with Content-Location), or 300,
 * 406 or 506 (RFC 2295 §8.1: the variant chosen is itself negotiated).
 */
static int negotiate(nxx_req *req, const struct static_root *sr, const char *key, size_t klen)
{
    const char *slash = key + klen;
    while (slash > key && slash[-1] != '/')
        slash--;
    size_t dlen = slash > key ? (size_t)(slash - key) - 1 : 0;
    const char *base = slash;
    size_t base_len = klen - (size_t)(slash - key);
    if (!base_len)
        return 404;
    struct fentry *dir = NULL;
    int s = lookup(req, sr, key, dlen, &dir);
    if (s || !dir->is_dir)
        return s == 500 ? 500 : 404;
    struct nxx_variant *v = nxx_req_alloc(req, NXX_TCN_MAX_VARIANTS * sizeof(*v));
    if (!v)
        return 500;
    int n = find_variants(req, dir->fd, base, base_len, v, &s);
    if (n <= 0)
        return n < 0 ? s : 404;

    nxx_str accept = nxx_req_header_list(req, "accept");
    nxx_str lang = nxx_req_header_list(req, "accept-language");
    nxx_str neg = nxx_req_header_list(req, "negotiate");
    unsigned flags = neg.ptr ? nxx_negotiate_flags(neg) : 0;
    size_t pick = 0;
    enum nxx_tcn_result r =
        nxx_tcn_choose(v, (size_t)n, accept, accept.ptr != NULL, lang, lang.ptr != NULL, flags,
                       (const char *const *)sr->langs, sr->nlangs, &pick);
    const char *vary = nxx_tcn_vary(v, (size_t)n);
    NXX_RESP_HEADER(req, "Vary", ((nxx_str){ vary, strlen(vary) }));
    char *alt = nxx_req_alloc(req, 8192);
    size_t alen = alt ? nxx_tcn_alternates(v, (size_t)n, alt, 8192) : 0;
    int transparent = (flags & (NXX_NEG_TRANS | NXX_NEG_VLIST)) != 0;
    if (alen && (r != NXX_TCN_CHOICE || (flags & NXX_NEG_VLIST)))
        NXX_RESP_HEADER(req, "Alternates", ((nxx_str){ alt, alen }));
    nxx_str path = nxx_req_path(req);
    switch (r) {
    case NXX_TCN_LIST: return send_list(req, v, (size_t)n, path);
    case NXX_TCN_NONE:
        nxx_req_detail(req,
                       "none of the %d variants of '%.*s' is acceptable (Accept, "
                       "Accept-Language); Alternates lists them",
                       n, (int)path.len, path.ptr);
        return 406;
    case NXX_TCN_VARIANTS:
        nxx_log_error("variant %s of %.*s is itself negotiated", v[pick].name, (int)path.len,
                      path.ptr);
        nxx_req_detail(req,
                       "the variant chosen for '%.*s' (%s) is itself negotiable: a "
                       "configuration error of this server",
                       (int)path.len, path.ptr, v[pick].name);
        return 506;
    case NXX_TCN_CHOICE: break;
    }
    size_t nlen = strlen(v[pick].name), vlen = dlen ? dlen + 1 + nlen : nlen;
    char *vkey = nxx_req_alloc(req, vlen + 1);
    if (!vkey)
        return 500;
    if (dlen) {
        memcpy(vkey, key, dlen);
        vkey[dlen] = '/';
    }
    memcpy(vkey + (dlen ? dlen + 1 : 0), v[pick].name, nlen + 1);
    struct fentry *e = NULL;
    if ((s = lookup(req, sr, vkey, vlen, &e)) != 0)
        return s;
    if (e->is_dir)
        return 404;
    NXX_RESP_HEADER(req, "Content-Location", ((nxx_str){ v[pick].name, nlen }));
    if (transparent)
        NXX_RESP_HEADER(req, "TCN", NXX_STR("choice"));
    return send_file(req, sr, e, vkey, vlen);
}

static int handle_file(nxx_req *req, const struct static_root *sr);

int nxx_static_serve(nxx_req *req, void *ud)
{
    const struct static_root *sr = ud;
    int s = handle_file(req, sr);
    if (s == 404 && sr->fallback)
        return sr->fallback(req, sr->fallback_ud);
    return s;
}

static int handle_file(nxx_req *req, const struct static_root *sr)
{
    nxx_str path = nxx_req_path(req);
    if (sr->prefix_len &&
        (path.len < sr->prefix_len || memcmp(path.ptr, sr->prefix, sr->prefix_len) != 0))
        return 404;
    /* dotfiles and dot-directories (.git, .env, .htpasswd) are never served;
     * a plain path was found to have none while it was normalised */
    if (!req->path_plain && nxx_path_has_dot_segment(path.ptr, path.len))
        return 404;
    const char *rel = path.ptr + sr->prefix_len;
    size_t rel_len = path.len - sr->prefix_len;
    while (rel_len && *rel == '/') {
        rel++;
        rel_len--;
    }
    int trailing = path.len && path.ptr[path.len - 1] == '/';
    size_t klen = rel_len;
    while (klen && rel[klen - 1] == '/')
        klen--;
    struct fentry *e = NULL;
    int s = lookup(req, sr, rel, klen, &e);
    if (s == 404 && sr->multiviews && !trailing)
        return negotiate(req, sr, rel, klen);
    if (s)
        return s;
    if (!e->is_dir) {
        if (trailing)
            return 404; /* "file.txt/" names nothing */
        return send_file(req, sr, e, rel, klen);
    }
    if (!trailing)
        return redirect_to_dir(req);
    char *key = nxx_req_alloc(req, klen + sizeof("/index.html"));
    if (!key)
        return 500;
    memcpy(key, rel, klen);
    size_t ilen = 0;
    if (klen) {
        key[klen] = '/';
        ilen = klen + 1;
    }
    memcpy(key + ilen, "index.html", sizeof("index.html"));
    ilen += sizeof("index.html") - 1;
    struct fentry *ie = NULL;
    s = lookup(req, sr, key, ilen, &ie);
    if (s == 404 && sr->multiviews && (s = negotiate(req, sr, key, ilen)) != 404)
        return s;
    if (s == 404) {
        if (sr->listing)
            return send_listing(req, e);
        nxx_req_detail(req, "directory listing is disabled and '%.*s' has no index.html",
                       (int)path.len, path.ptr);
        return 403;
    }
    if (s)
        return s;
    if (ie->is_dir)
        return 403;
    return send_file(req, sr, ie, key, ilen);
}

void nxx_static_root_free(void *arg)
{
    struct static_root *sr = arg;
    if (sr->rootfd >= 0)
        close(sr->rootfd);
    for (size_t i = 0; i < sr->nrules; i++) {
        nxx_free(sr->rules[i].prefix);
        nxx_free(sr->rules[i].value);
    }
    nxx_free(sr->rules);
    for (size_t i = 0; i < sr->nlangs; i++)
        nxx_free(sr->langs[i]);
    nxx_free(sr->langs);
    nxx_free(sr->prefix);
    nxx_free(sr->root);
    nxx_free(sr);
}

void nxx_static_config_init(nxx_static_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->prefix = "/";
    cfg->precompressed = 1;
}

/* "max-age=N" in a Cache-Control value, or -1 */
static long long max_age_of(const char *v)
{
    const char *p = strstr(v, "max-age=");
    if (!p || (p > v && p[-1] != ' ' && p[-1] != ','))
        return -1;
    p += 8;
    long long n = 0;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9' && n < 1000000000000ll)
        n = n * 10 + (*p++ - '0');
    return n;
}

/* Add one Cache-Control rule "PREFIX=VALUE" (or VALUE for every path when prefix is NULL). */
static int add_rule(struct static_root *sr, const char *prefix, size_t prefix_len,
                    const char *value)
{
    struct cache_rule *r = &sr->rules[sr->nrules];
    r->prefix_len = prefix_len;
    r->prefix = nxx_malloc(prefix_len + 1);
    r->value = nxx_strdup(value);
    if (!r->prefix || !r->value) {
        nxx_free(r->prefix);
        nxx_free(r->value);
        return NXX_ENOMEM;
    }
    sr->nrules++;
    memcpy(r->prefix, prefix, prefix_len);
    r->prefix[prefix_len] = '\0';
    r->value_len = strlen(r->value);
    for (size_t k = 0; k < r->value_len; k++)
        if ((unsigned char)r->value[k] < 0x20 || r->value[k] == 0x7f)
            return NXX_EINVAL; /* no line breaks into the response head */
    r->max_age = max_age_of(r->value);
    return 0;
}

struct static_root *nxx_static_root_new(const nxx_static_config *cfg, int written, int *err_out)
{
    static atomic_uint_fast64_t next_id = 1;
    const char *prefix = cfg->prefix ? cfg->prefix : "/";
    *err_out = NXX_EINVAL;
    if (prefix[0] != '/' || !cfg->root)
        return NULL;
    struct static_root *sr = nxx_calloc(1, sizeof(*sr));
    *err_out = NXX_ENOMEM;
    if (!sr)
        return NULL;
    sr->id = atomic_fetch_add(&next_id, 1);
    sr->rootfd = -1;
    sr->written = written;
    size_t plen = strlen(prefix);
    while (plen > 1 && prefix[plen - 1] == '/')
        plen--;
    if (plen == 1)
        plen = 0; /* "/" strips nothing */
    sr->listing = cfg->listing;
    sr->fallback = cfg->fallback;
    sr->fallback_ud = cfg->fallback_ud;
    sr->follow_symlinks = cfg->follow_symlinks;
    sr->precompressed = cfg->precompressed;
    sr->multiviews = cfg->multiviews;
    sr->prefix = nxx_malloc(plen + 1);
    sr->root = nxx_strdup(cfg->root);
    int err = 0;
    if (!sr->prefix || !sr->root)
        err = NXX_ENOMEM;
    if (!err) {
        memcpy(sr->prefix, prefix, plen);
        sr->prefix[plen] = '\0';
        sr->prefix_len = plen;
        sr->rootfd = open(cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sr->rootfd < 0)
            err = -errno;
    }
    size_t nrules = cfg->ncache_rules + (cfg->cache_control ? 1 : 0);
    if (!err && nrules) {
        sr->rules = nxx_calloc(nrules, sizeof(*sr->rules));
        if (!sr->rules)
            err = NXX_ENOMEM;
        if (!err && cfg->cache_control)
            err = add_rule(sr, "/", 1, cfg->cache_control);
        for (size_t i = 0; !err && i < cfg->ncache_rules; i++) {
            const char *rule = cfg->cache_rules[i];
            const char *eq = strchr(rule, '=');
            if (!eq || rule[0] != '/' || !eq[1])
                err = NXX_EINVAL;
            else
                err = add_rule(sr, rule, (size_t)(eq - rule), eq + 1);
        }
    }
    if (!err && cfg->nlanguage_priority) {
        sr->langs = nxx_calloc(cfg->nlanguage_priority, sizeof(*sr->langs));
        if (!sr->langs)
            err = NXX_ENOMEM;
        for (size_t i = 0; !err && i < cfg->nlanguage_priority; i++) {
            if (!(sr->langs[i] = nxx_strdup(cfg->language_priority[i])))
                err = NXX_ENOMEM;
            sr->nlangs = i + 1;
        }
    }
    if (err) {
        nxx_static_root_free(sr);
        *err_out = err;
        return NULL;
    }
    *err_out = 0;
    return sr;
}

int nxx_scope_files(nxx_scope *loc, const nxx_static_config *cfg)
{
    if (!loc)
        return NXX_EINVAL;
    int err = 0;
    struct static_root *sr = nxx_static_root_new(cfg, 0, &err);
    if (!sr)
        return err;
    err = nxx_scope_on_free(loc, nxx_static_root_free, sr);
    if (err) {
        nxx_static_root_free(sr);
        return err;
    }
    /* GET (and HEAD with it) of everything the location covers; other
     * methods get 405 with Allow */
    return nxx_scope_route(loc, "GET", NULL, 0, nxx_static_serve, sr);
}

int nxx_server_static_ex(nxx_server *srv, const nxx_static_config *cfg)
{
    nxx_scope *host = nxx_server_host(srv, NULL);
    nxx_scope *loc = host ? nxx_host_location(host, cfg->prefix ? cfg->prefix : "/") : NULL;
    if (!loc)
        return host ? NXX_EINVAL : NXX_ENOMEM;
    return nxx_scope_files(loc, cfg);
}

int nxx_server_static(nxx_server *srv, const char *prefix, const char *root)
{
    nxx_static_config cfg;
    nxx_static_config_init(&cfg);
    cfg.prefix = prefix;
    cfg.root = root;
    return nxx_server_static_ex(srv, &cfg);
}

void nxx_static_root_changes(struct static_root *sr, const atomic_ullong *changes)
{
    sr->changes = changes;
}
