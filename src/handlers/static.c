/*
 * static.c - the file handler: GET and HEAD of files under a root.
 *
 * Paths arrive decoded and normalised by the engine (no dot segments, no
 * encoded separators); here every open goes through nxx_os_open_beneath(),
 * so neither '..' nor a symlink can lead outside the root.  Dotfiles are
 * hidden (404).  A directory without its trailing slash is redirected (301)
 * so relative links inside it resolve; with it, index.html is served.
 *
 * Each worker keeps an open-file cache: descriptor, stat and validators per
 * path, and the content of small files, revalidated at most once a second.
 * A cache hit costs no system call: small bodies go out in the same writev
 * as the head, larger ones with sendfile from the cached descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "handlers/mime.h"
#include "http/date.h"
#include "http/path.h"
#include "http/server.h"
#include "os/fs.h"
#include "core/banned.h"

#define FC_SLOTS 1024           /* per worker, direct-mapped */
#define FC_SMALL (32 * 1024)    /* files up to this size are kept in memory */
#define FC_REVALIDATE_MS 1000   /* a changed file is stale for at most this long */

struct static_root {
    char *prefix;
    size_t prefix_len;
    char *root;
    int rootfd;
};

struct fentry {
    const struct static_root *sr;
    char *key;
    size_t key_len;
    uint64_t hash;
    int fd;
    int refs;       /* responses in flight using fd or data */
    int dead;       /* evicted while referenced: free at refs == 0 */
    int is_dir;
    struct stat st;
    uint64_t checked_ms;
    char etag[64];
    size_t etag_len;
    char lastmod[NXX_DATE_LEN + 1];
    nxx_str ctype;
    char *data;     /* whole content when small */
};

struct fcache {
    struct fentry *slots[FC_SLOTS];
};

static uint64_t hash_key(const struct static_root *sr, const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)sr;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
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

static struct fcache *worker_cache(struct nxx_worker *w)
{
    if (!w->file_cache) {
        w->file_cache = nxx_calloc(1, sizeof(struct fcache));
        w->file_cache_free = cache_free;
    }
    return w->file_cache;
}

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
    case EXDEV:   /* would escape the root: as if absent */
    case ELOOP:
    case ENAMETOOLONG:
        return 404;
    case EACCES:
    case EPERM:
        return 403;
    default:
        return 500;
    }
}

static int fill_entry(struct fentry *e, int fd, const struct stat *st, const char *name,
                      size_t name_len)
{
    e->fd = fd;
    e->st = *st;
    e->is_dir = S_ISDIR(st->st_mode);
    /* strong validator: any change to the file changes inode, size or mtime */
    int n = snprintf(e->etag, sizeof(e->etag), "\"%llx-%llx-%llx%09ld\"",
                     (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
                     (unsigned long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
    e->etag_len = n > 0 && (size_t)n < sizeof(e->etag) ? (size_t)n : 0;
    nxx_date_format((int64_t)st->st_mtim.tv_sec, e->lastmod);
    e->ctype = nxx_mime_type(name, name_len);
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
 * Find or open rel under sr.  On success returns 0 and *out (referenced for
 * this request); else the status to answer.
 */
static int lookup(nxx_req *req, const struct static_root *sr, const char *rel, size_t rel_len,
                  struct fentry **out)
{
    struct nxx_worker *w = req->conn->w;
    struct fcache *fc = worker_cache(w);
    uint64_t h = hash_key(sr, rel, rel_len);
    struct fentry **slot = fc ? &fc->slots[h % FC_SLOTS] : NULL;
    struct fentry *e = slot ? *slot : NULL;
    uint64_t now = w->loop.now_ms;
    if (e && (e->hash != h || e->sr != sr || e->key_len != rel_len ||
              memcmp(e->key, rel, rel_len) != 0))
        e = NULL; /* another path in this slot */
    if (e && now - e->checked_ms < FC_REVALIDATE_MS)
        goto hit;

    int fd = nxx_os_open_beneath(sr->rootfd, rel_len ? rel : ".",
                                 O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (e && slot) {
            *slot = NULL;
            entry_evict(e);
        }
        return status_of(-fd);
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return status_of(err);
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        close(fd); /* devices, FIFOs, sockets are never served */
        return 403;
    }
    if (e && same_file(&e->st, &st)) {
        close(fd);
        e->checked_ms = now;
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
    ne->sr = sr;
    ne->key = key;
    ne->key_len = rel_len;
    ne->hash = h;
    ne->checked_ms = now;
    fill_entry(ne, fd, &st, rel, rel_len);
    if (slot) {
        if (*slot)
            entry_evict(*slot);
        *slot = ne;
    }
    e = ne;
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
    nxx_resp_header(req, "Location", (nxx_str){ loc, n });
    nxx_resp_status(req, 301);
    char *body = nxx_req_alloc(req, n + 64);
    int blen = body ? snprintf(body, n + 64, "Moved to %.*s\n", (int)n, loc) : 0;
    nxx_resp_header(req, "Content-Type", NXX_STR("text/plain; charset=utf-8"));
    nxx_resp_send(req, body, blen > 0 ? (size_t)blen : 0, NXX_BORROW);
    return 0;
}

static int send_entry(nxx_req *req, const struct fentry *e)
{
    nxx_resp_header(req, "Content-Type", e->ctype);
    nxx_resp_header(req, "Last-Modified", (nxx_str){ e->lastmod, NXX_DATE_LEN });
    if (e->etag_len)
        nxx_resp_header(req, "ETag", (nxx_str){ e->etag, e->etag_len });
    if (e->data || e->st.st_size == 0)
        return nxx_resp_send(req, e->data, (size_t)e->st.st_size, NXX_BORROW) ? 500 : 0;
    return nxx_resp_file(req, e->fd, 0, e->st.st_size) ? 500 : 0;
}

static int handle(nxx_req *req, void *ud)
{
    const struct static_root *sr = ud;
    nxx_str path = nxx_req_path(req);
    if (path.len < sr->prefix_len || memcmp(path.ptr, sr->prefix, sr->prefix_len) != 0)
        return 404;
    /* dotfiles and dot-directories (.git, .env, .htpasswd) are never served */
    if (nxx_path_has_dot_segment(path.ptr, path.len))
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
    char *key = nxx_req_alloc(req, klen + sizeof("/index.html"));
    if (!key)
        return 500;
    memcpy(key, rel, klen);
    key[klen] = '\0';
    struct fentry *e = NULL;
    int s = lookup(req, sr, key, klen, &e);
    if (s)
        return s;
    if (!e->is_dir) {
        if (trailing)
            return 404; /* "file.txt/" names nothing */
        return send_entry(req, e);
    }
    if (!trailing)
        return redirect_to_dir(req);
    size_t ilen = 0;
    if (klen) {
        key[klen] = '/';
        ilen = klen + 1;
    }
    memcpy(key + ilen, "index.html", sizeof("index.html"));
    ilen += sizeof("index.html") - 1;
    struct fentry *ie = NULL;
    s = lookup(req, sr, key, ilen, &ie);
    if (s == 404) {
        nxx_req_detail(req, "directory listing is disabled and '%.*s' has no index.html",
                       (int)path.len, path.ptr);
        return 403;
    }
    if (s)
        return s;
    if (ie->is_dir)
        return 403;
    return send_entry(req, ie);
}

static void static_root_free(void *arg)
{
    struct static_root *sr = arg;
    if (sr->rootfd >= 0)
        close(sr->rootfd);
    nxx_free(sr->prefix);
    nxx_free(sr->root);
    nxx_free(sr);
}

int nxx_server_static(nxx_server *srv, const char *prefix, const char *root)
{
    if (!prefix || prefix[0] != '/' || !root)
        return NXX_EINVAL;
    struct static_root *sr = nxx_calloc(1, sizeof(*sr));
    if (!sr)
        return NXX_ENOMEM;
    size_t plen = strlen(prefix);
    while (plen > 1 && prefix[plen - 1] == '/')
        plen--;
    if (plen == 1)
        plen = 0; /* "/" strips nothing */
    sr->prefix = nxx_malloc(plen + 1);
    sr->root = nxx_strdup(root);
    sr->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = sr->rootfd < 0 ? -errno : 0;
    if (!sr->prefix || !sr->root || err) {
        if (sr->rootfd >= 0)
            close(sr->rootfd);
        nxx_free(sr->prefix);
        nxx_free(sr->root);
        nxx_free(sr);
        return err ? err : NXX_ENOMEM;
    }
    memcpy(sr->prefix, prefix, plen);
    sr->prefix[plen] = '\0';
    sr->prefix_len = plen;
    char pattern[512];
    snprintf(pattern, sizeof(pattern), "%s/*", sr->prefix);
    err = nxx_server_route(srv, "GET", pattern, 0, handle, sr);
    if (!err && plen)
        err = nxx_server_route(srv, "GET", sr->prefix, 0, handle, sr);
    if (!err)
        err = nxx_server_on_free(srv, static_root_free, sr);
    if (err) {
        /* routes already added keep a dangling ud only until the failed set-up is freed */
        static_root_free(sr);
        return err;
    }
    return 0;
}
