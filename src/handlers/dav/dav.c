/*
 * dav.c - the WebDAV handler (RFC 4918): a location over a directory that
 * clients read and write as a file system (Windows, macOS Finder, GNOME,
 * rclone, cadaver, Office).
 *
 * Paths arrive decoded and normalised by the engine; every file-system
 * call goes through a directory opened with nxx_os_open_beneath(), so
 * neither '..' nor a symlink leads outside the root.  Names whose segment
 * begins with '.' are hidden as in the file handler (the database of dead
 * properties and uploads in progress live there).  GET and HEAD are the
 * file handler's (validators, ranges, conditional requests); its cache
 * revalidates on every lookup since this handler writes under it.
 *
 * This file: routing by method, OPTIONS, PUT (streamed to a temporary file
 * beside the target, synced, then renamed over it, so a reader never sees
 * half a file and a failed upload leaves nothing), MKCOL, DELETE, COPY and
 * MOVE.  props.c has PROPFIND/PROPPATCH, lock.c LOCK/UNLOCK and If.
 */
#include "handlers/dav/dav.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/str.h"
#include "handlers/static.h"
#include "http/path.h"
#include "http/request.h"
#include "http/site.h"
#include "os/fs.h"
#include "os/random.h"
#include "core/banned.h"

#define DAV_ALLOW                                                                                  \
    "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK, "      \
    "BIND, UNBIND, REBIND"
#define TMP_PREFIX ".nxx-dav-put."

/* ---- output ---- */

void nxx_dav_put(struct nxx_dav_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n)
            cap *= 2;
        char *p = nxx_realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void nxx_dav_puts(struct nxx_dav_buf *b, const char *s)
{
    nxx_dav_put(b, s, strlen(s));
}

void nxx_dav_putf(struct nxx_dav_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->oom = 1;
        return;
    }
    nxx_dav_put(b, tmp, (size_t)n);
}

void nxx_dav_put_esc(struct nxx_dav_buf *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        default: continue;
        }
        nxx_dav_put(b, s + run, i - run);
        nxx_dav_puts(b, rep);
        run = i + 1;
    }
    nxx_dav_put(b, s + run, n - run);
}

void nxx_dav_put_href(struct nxx_dav_buf *b, const struct nxx_dav_root *r, const char *rel,
                      int coll)
{
    char tmp[PATH_MAX * 3 + 8];
    nxx_dav_puts(b, "<D:href>");
    size_t n = nxx_url_escape_path(r->prefix, r->prefix_len, tmp, sizeof(tmp));
    if (n <= sizeof(tmp))
        nxx_dav_put_esc(b, tmp, n);
    nxx_dav_put(b, "/", 1);
    size_t rl = strlen(rel);
    n = nxx_url_escape_path(rel, rl, tmp, sizeof(tmp));
    if (n <= sizeof(tmp))
        nxx_dav_put_esc(b, tmp, n);
    if (coll && rl)
        nxx_dav_put(b, "/", 1);
    nxx_dav_puts(b, "</D:href>");
}

static void buf_free(void *p)
{
    struct nxx_dav_buf *b = p;
    nxx_free(b->p);
}

int nxx_dav_send_xml(nxx_req *req, int status, struct nxx_dav_buf *b)
{
    if (b->oom) {
        nxx_free(b->p);
        return 500;
    }
    struct nxx_dav_buf *keep = nxx_req_alloc(req, sizeof(*keep));
    if (!keep || nxx_req_on_done(req, buf_free, keep) < 0) {
        nxx_free(b->p);
        return 500;
    }
    *keep = *b;
    nxx_resp_status(req, status);
    NXX_RESP_HEADER(req, "Content-Type", NXX_STR("application/xml; charset=utf-8"));
    return nxx_resp_send(req, keep->p, keep->len, NXX_BORROW) ? 500 : 0;
}

int nxx_dav_error(nxx_req *req, int status, const char *cond, const char *detail)
{
    struct nxx_dav_buf b = { 0 };
    nxx_dav_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\"><D:");
    nxx_dav_puts(&b, cond);
    nxx_dav_puts(&b, "/>");
    if (detail) {
        nxx_dav_puts(&b, "<D:responsedescription>");
        nxx_dav_put_esc(&b, detail, strlen(detail));
        nxx_dav_puts(&b, "</D:responsedescription>");
    }
    nxx_dav_puts(&b, "</D:error>\n");
    return nxx_dav_send_xml(req, status, &b);
}

/* ---- the file system ---- */

int nxx_dav_stat(const struct nxx_dav_root *r, const char *rel, struct stat *st)
{
    int fd = nxx_os_open_beneath(r->rootfd, rel[0] ? rel : ".", O_PATH | O_CLOEXEC);
    if (fd < 0)
        return fd;
    int e = fstat(fd, st) < 0 ? -errno : 0;
    close(fd);
    return e;
}

/* The directory holding rel, opened beneath the root, and rel's last name. */
int nxx_dav_open_parent(const struct nxx_dav_root *r, char *rel, const char **name)
{
    char *slash = strrchr(rel, '/');
    if (!slash) {
        *name = rel;
        return nxx_os_open_beneath(r->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    *slash = '\0';
    int fd = nxx_os_open_beneath(r->rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *slash = '/';
    *name = slash + 1;
    return fd;
}

static void close_fd(void *p)
{
    close((int)(intptr_t)p);
}

int nxx_dav_status_of(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR: return 409;
    case EEXIST: return 405;
    case ENOSPC:
    case EDQUOT: return 507;
    case EACCES:
    case EPERM:
    case EXDEV:
    case ELOOP: return 403;
    case ENAMETOOLONG: return 414;
    default: return 500;
    }
}

/* Remove name in dir and everything below it; 0 or -errno of the first failure. */
int nxx_dav_rm_tree(int dir, const char *name, int depth)
{
    struct stat st;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dir, name, 0) < 0 ? -errno : 0;
    if (depth > 256)
        return -ELOOP;
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = -errno;
        close(fd);
        return e;
    }
    int err = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int e = nxx_dav_rm_tree(fd, de->d_name, depth + 1);
        if (e && !err)
            err = e;
    }
    closedir(d);
    if (!err && unlinkat(dir, name, AT_REMOVEDIR) < 0)
        err = -errno;
    return err;
}

/* Copy the file open as in (closed here) to dname in ddir; 0 or -errno. */
static int copy_fd(int in, int ddir, const char *dname)
{
    int out = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        int e = -errno;
        close(in);
        return e;
    }
    int err = 0;
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                err = -errno;
            break;
        }
        for (ssize_t off = 0; off < n && !err;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno != EINTR)
                err = -errno;
            else if (w > 0)
                off += w;
        }
        if (err)
            break;
    }
    if (!err && fsync(out) < 0)
        err = -errno;
    close(in);
    close(out);
    if (err)
        unlinkat(ddir, dname, 0);
    return err;
}

/*
 * A COPY (or a MOVE across file systems) of a tree.  Symlinks follow the
 * file handler's rule: one that leads to a file or a collection inside the
 * root is copied as what GET and PROPFIND show through it (the content, or
 * the collection with its members); one that leads outside the root or
 * nowhere, or back to a collection being copied (a loop), is not copied
 * and is named in the 207 (RFC 4918 §9.8.5) with 403, 404 or 508.
 */
struct copy_ctx {
    const struct nxx_dav_root *r;
    char path[PATH_MAX]; /* the source member being copied, relative to the root */
    size_t len;
    struct {
        dev_t dev;
        ino_t ino;
    } chain[258];             /* the collections being copied, by depth */
    struct nxx_dav_buf fails; /* <D:response> entries */
    size_t nfails;
};

static void copy_fail(struct copy_ctx *x, int status)
{
    nxx_dav_puts(&x->fails, "<D:response>");
    nxx_dav_put_href(&x->fails, x->r, x->path, 0);
    nxx_dav_putf(&x->fails, "<D:status>HTTP/1.1 %d %s</D:status></D:response>", status,
                 nxx_status_reason(status));
    x->nfails++;
}

static int copy_tree(struct copy_ctx *x, int sdir, const char *sname, int ddir, const char *dname,
                     int inf, int depth);

/* The members of the collection open as sfd (closed here) into dfd. */
static int copy_members(struct copy_ctx *x, int sfd, int dfd, int depth)
{
    DIR *d = fdopendir(sfd);
    if (!d) {
        int e = -errno;
        close(sfd);
        return e;
    }
    int err = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", and hidden names */
        int e = copy_tree(x, dirfd(d), de->d_name, dfd, de->d_name, 1, depth + 1);
        if (e && !err)
            err = e;
    }
    closedir(d);
    return err;
}

/* A collection (open as sfd, closed here) copied to dname in ddir. */
static int copy_coll(struct copy_ctx *x, int sfd, const struct stat *st, int ddir,
                     const char *dname, int inf, int depth)
{
    x->chain[depth].dev = st->st_dev;
    x->chain[depth].ino = st->st_ino;
    if (mkdirat(ddir, dname, 0755) < 0) {
        int e = -errno;
        close(sfd);
        return e;
    }
    if (!inf) {
        close(sfd);
        return 0;
    }
    int dfd = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        int e = -errno;
        close(sfd);
        return e;
    }
    int err = copy_members(x, sfd, dfd, depth);
    close(dfd);
    return err;
}

static int copy_link(struct copy_ctx *x, int ddir, const char *dname, int inf, int depth)
{
    int fd = nxx_os_open_beneath(x->r->rootfd, x->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat t;
    if (fd >= 0 && fstat(fd, &t) < 0) {
        close(fd);
        fd = -errno;
    }
    if (fd < 0) {
        copy_fail(x, fd == -ENOENT ? 404 : 403); /* nowhere, or outside the root */
        return 0;
    }
    if (S_ISREG(t.st_mode))
        return copy_fd(fd, ddir, dname);
    if (!S_ISDIR(t.st_mode)) {
        close(fd);
        copy_fail(x, 403);
        return 0;
    }
    for (int k = 0; k < depth; k++) {
        if (x->chain[k].dev == t.st_dev && x->chain[k].ino == t.st_ino) {
            close(fd);
            copy_fail(x, 508); /* a binding back to a collection being copied */
            return 0;
        }
    }
    return copy_coll(x, fd, &t, ddir, dname, inf, depth);
}

/* Copy sname in sdir (x->path's parent) to dname in ddir (a collection
 * with its members when inf); 0 or -errno of the first failure. */
static int copy_tree(struct copy_ctx *x, int sdir, const char *sname, int ddir, const char *dname,
                     int inf, int depth)
{
    size_t keep = x->len, nl = strlen(sname);
    if (keep + nl + 2 > sizeof(x->path) || depth > 256)
        return depth > 256 ? -ELOOP : -ENAMETOOLONG;
    if (keep)
        x->path[x->len++] = '/';
    memcpy(x->path + x->len, sname, nl + 1);
    x->len += nl;
    struct stat st;
    int err = fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
    if (!err && S_ISREG(st.st_mode)) {
        int in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        err = in < 0 ? -errno : copy_fd(in, ddir, dname);
    } else if (!err && S_ISLNK(st.st_mode)) {
        err = copy_link(x, ddir, dname, inf, depth);
    } else if (!err && S_ISDIR(st.st_mode)) {
        int sfd = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        err = sfd < 0 ? -errno : copy_coll(x, sfd, &st, ddir, dname, inf, depth);
    } else if (!err) {
        copy_fail(x, 403); /* devices, FIFOs, sockets: never served, never copied */
    }
    x->len = keep;
    x->path[keep] = '\0';
    return err;
}

/* ---- request bodies ---- */

int nxx_dav_answer(struct nxx_dav_ctx *c, int status)
{
    if (status < 400 || !c->cond)
        return status;
    struct nxx_dav_buf b = { 0 };
    nxx_dav_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\"><D:");
    nxx_dav_puts(&b, c->cond);
    if (c->cond_href) {
        nxx_dav_puts(&b, ">");
        nxx_dav_put_href(&b, c->r, c->cond_href, 0);
        nxx_dav_putf(&b, "</D:%s>", c->cond);
    } else {
        nxx_dav_puts(&b, "/>");
    }
    if (c->req->detail) {
        nxx_dav_puts(&b, "<D:responsedescription>");
        nxx_dav_put_esc(&b, c->req->detail, strlen(c->req->detail));
        nxx_dav_puts(&b, "</D:responsedescription>");
    }
    nxx_dav_puts(&b, "</D:error>\n");
    return nxx_dav_send_xml(c->req, status, &b);
}

static void finish(struct nxx_dav_ctx *c, int status)
{
    status = nxx_dav_answer(c, status);
    if (status >= 400)
        nxx_req_error(c->req, status, c->req->detail);
}

/* ---- long operations ---- */

static void job_tick(nxx_req *req, void *ud)
{
    struct nxx_dav_job *j = ud;
    if (atomic_load(&j->done))
        return;
    /* RFC 2518 §10.1: still working; the protocol sends it to HTTP/1.1 only */
    if (req->h.minor_version >= 1 && req->proto->interim(req, 102, NULL, 0) < 0)
        return;
    nxx_req_defer(req, 1000, job_tick, j);
}

static void job_done(nxx_req *req, void *ud)
{
    struct nxx_dav_job *j = ud;
    atomic_store(&j->done, 1);
    atomic_fetch_sub(&j->c->r->sh->jobs, 1);
    /* answered even when the client left: answer() hands what work() built
     * to the request's cleanups; the response calls then fail quietly */
    (void)req;
    finish(j->c, j->answer(j));
}

/*
 * The job threads of a state: started on demand, up to the location's
 * max-jobs, and kept (a PUT's sync costs a wake-up, not a thread created
 * and torn down).  Concurrent PUTs sync on several threads at once, so the
 * file system's journal commits them together.  A job that finds every
 * thread busy waits in the queue; the event loop never runs one.
 */
static void *job_thread(void *arg)
{
    struct nxx_dav_state *s = arg;
    pthread_mutex_lock(&s->qmu);
    for (;;) {
        struct nxx_dav_job *j = s->qhead;
        if (!j) {
            if (s->stop)
                break;
            s->idle++;
            pthread_cond_wait(&s->qcv, &s->qmu);
            s->idle--;
            continue;
        }
        s->qhead = j->next;
        if (!s->qhead)
            s->qtail = NULL;
        pthread_mutex_unlock(&s->qmu);
        j->work(j);
        nxx_req_post(j->c->req, job_done, j);
        pthread_mutex_lock(&s->qmu);
    }
    pthread_mutex_unlock(&s->qmu);
    return NULL;
}

/* Queue j; a thread more when none is idle and the limit allows: 0, or
 * -1 when no thread is running to take it. */
static int job_queue(struct nxx_dav_state *s, struct nxx_dav_job *j, unsigned max)
{
    pthread_mutex_lock(&s->qmu);
    if (!s->idle && s->nthreads < max) {
        pthread_t *v = nxx_realloc(s->threads, (s->nthreads + 1) * sizeof(*v));
        if (v) {
            s->threads = v;
            if (pthread_create(&v[s->nthreads], NULL, job_thread, s) == 0)
                s->nthreads++;
        }
    }
    int ok = s->nthreads > 0;
    if (ok) {
        j->next = NULL;
        if (s->qtail)
            s->qtail->next = j;
        else
            s->qhead = j;
        s->qtail = j;
        pthread_cond_signal(&s->qcv);
    }
    pthread_mutex_unlock(&s->qmu);
    return ok ? 0 : -1;
}

static void jobs_stop(struct nxx_dav_state *s)
{
    pthread_mutex_lock(&s->qmu);
    s->stop = 1;
    pthread_cond_broadcast(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    for (unsigned i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i], NULL);
    nxx_free(s->threads);
}

/* Group commit of a directory (dav.h): a thread whose rename is not yet
 * covered either waits for the fsync running or, when none is, runs one
 * that covers every rename counted so far.  One directory at a time: a
 * rename in another one while threads wait on the first is synced on its
 * own. */
int nxx_dav_dir_sync(struct nxx_dav_state *s, int dir)
{
    struct stat st;
    if (fstat(dir, &st) < 0)
        return errno;
    pthread_mutex_lock(&s->qmu);
    if (!s->ds_users && (s->ds_dev != st.st_dev || s->ds_ino != st.st_ino)) {
        s->ds_dev = st.st_dev;
        s->ds_ino = st.st_ino;
        s->ds_renamed = s->ds_synced = 0;
    }
    if (s->ds_dev != st.st_dev || s->ds_ino != st.st_ino) {
        pthread_mutex_unlock(&s->qmu);
        return fsync(dir) < 0 ? errno : 0;
    }
    uint64_t mine = ++s->ds_renamed;
    int err = 0;
    s->ds_users++;
    while (!err && s->ds_synced < mine) {
        if (s->ds_busy) {
            pthread_cond_wait(&s->ds_cv, &s->qmu);
            continue;
        }
        s->ds_busy = 1;
        uint64_t upto = s->ds_renamed;
        pthread_mutex_unlock(&s->qmu);
        err = fsync(dir) < 0 ? errno : 0;
        pthread_mutex_lock(&s->qmu);
        s->ds_busy = 0;
        if (!err && s->ds_synced < upto)
            s->ds_synced = upto;
        pthread_cond_broadcast(&s->ds_cv);
    }
    s->ds_users--;
    pthread_mutex_unlock(&s->qmu);
    return err;
}

int nxx_dav_job_start(struct nxx_dav_job *j)
{
    struct nxx_dav_root *r = j->c->r;
    nxx_req *req = j->c->req;
    atomic_init(&j->done, 0);
    if (!r->max_jobs) {
        j->work(j);
        return j->answer(j);
    }
    atomic_fetch_add(&r->sh->jobs, 1);
    nxx_req_suspend(req);
    if (job_queue(r->sh, j, r->max_jobs) < 0) {
        /* no thread to be had: the work here, the answer as posted */
        j->work(j);
        nxx_req_post(req, job_done, j);
        return 0;
    }
    nxx_req_defer(req, r->processing_ms, job_tick, j);
    return 0;
}

typedef int (*nxx_dav_method_fn)(struct nxx_dav_ctx *c);

struct reader {
    struct nxx_dav_ctx *c;
    nxx_dav_method_fn fn;
    size_t cap;
    int over;
};

static void read_piece(nxx_req *req, const void *data, size_t len, int state, void *ud)
{
    struct reader *rd = ud;
    struct nxx_dav_ctx *c = rd->c;
    (void)req;
    if (state < 0)
        return;
    if (len && !rd->over) {
        if (c->body_len + len > c->r->max_xml) {
            rd->over = 1;
        } else {
            if (c->body_len + len > rd->cap) {
                size_t cap = rd->cap ? rd->cap * 2 : 4096;
                while (cap < c->body_len + len)
                    cap *= 2;
                char *p = nxx_realloc(c->body, cap);
                if (!p) {
                    rd->over = 1;
                } else {
                    c->body = p; /* freed by body_ptr_free */
                    rd->cap = cap;
                }
            }
            if (!rd->over) {
                memcpy(c->body + c->body_len, data, len);
                c->body_len += len;
            }
        }
    }
    if (state != 1)
        return;
    if (rd->over) {
        nxx_req_detail(c->req, "the XML body is over the limit of %zu bytes", c->r->max_xml);
        finish(c, 413);
        return;
    }
    if (c->body_len) {
        const char *why = NULL;
        c->xml = nxx_dav_xml_parse(c->body, c->body_len, 4096, &why);
        if (!c->xml) {
            nxx_req_detail(c->req, "the request body %s", why);
            finish(c, 400);
            return;
        }
        nxx_req_on_done(c->req, nxx_dav_xml_free, c->xml);
    }
    finish(c, rd->fn(c));
}

/* The body pointer moves with realloc: the cleanup frees whatever it is at
 * the end, through this indirection. */
static void body_ptr_free(void *p)
{
    struct nxx_dav_ctx *c = p;
    nxx_free(c->body);
    c->body = NULL;
}

static int with_body(struct nxx_dav_ctx *c, nxx_dav_method_fn fn)
{
    nxx_req *req = c->req;
    if ((req->h.flags & NXX_HF_HAS_CL) && req->h.content_length > c->r->max_xml) {
        nxx_req_detail(req, "the XML body of %llu bytes is over the limit of %zu bytes",
                       (unsigned long long)req->h.content_length, c->r->max_xml);
        return 413;
    }
    struct reader *rd = nxx_req_alloc(req, sizeof(*rd));
    if (!rd || nxx_req_on_done(req, body_ptr_free, c) < 0)
        return 500;
    rd->c = c;
    rd->fn = fn;
    rd->cap = 0;
    rd->over = 0;
    return nxx_req_body_stream(req, read_piece, rd) ? 500 : 0;
}

static int has_body(const nxx_req *req)
{
    return (req->h.flags & NXX_HF_CHUNKED) ||
           ((req->h.flags & NXX_HF_HAS_CL) && req->h.content_length > 0);
}

/* ---- methods ---- */

static int do_options(struct nxx_dav_ctx *c)
{
    nxx_req *req = c->req;
    NXX_RESP_HEADER(req, "DAV", NXX_STR("1, 2, 3, bind"));
    NXX_RESP_HEADER(req, "MS-Author-Via", NXX_STR("DAV"));
    NXX_RESP_HEADER(req, "Allow", NXX_STR(DAV_ALLOW));
    nxx_resp_status(req, 200);
    return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
}

static int do_mkcol(struct nxx_dav_ctx *c)
{
    nxx_req *req = c->req;
    if (has_body(req)) {
        nxx_req_detail(req, "MKCOL with a body is not supported (RFC 4918 §9.3)");
        return 415;
    }
    struct stat st;
    if (!c->rel[0] || nxx_dav_stat(c->r, c->rel, &st) == 0) {
        NXX_RESP_HEADER(req, "Allow", NXX_STR(DAV_ALLOW));
        nxx_req_detail(req, "'%s' already exists", c->rel[0] ? c->rel : "/");
        return 405;
    }
    int s = nxx_dav_check_write(c, c->rel, 0, 1);
    if (s)
        return s;
    const char *name;
    int dir = nxx_dav_open_parent(c->r, c->rel, &name);
    if (dir < 0) {
        nxx_req_detail(req, "the parent collection of '%s' does not exist", c->rel);
        return 409;
    }
    int e = mkdirat(dir, name, 0755) < 0 ? errno : 0;
    if (!e) {
        fsync(dir);
        nxx_dav_changed(c->r);
    }
    close(dir);
    if (e) {
        nxx_req_detail(req, "cannot create '%s': %s", c->rel, strerror(e));
        return nxx_dav_status_of(e);
    }
    nxx_resp_status(req, 201);
    return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
}

/* ---- PUT ---- */

struct upload {
    struct nxx_dav_ctx *c;
    int dir, fd;
    const char *name;
    char tmp[64];
    int existed, err;
    int inplace;          /* the file has other bindings (hard links): keep its inode */
    uint64_t bytes, room; /* room: what the quota leaves for this file */
    uint64_t flushed;     /* write-back started up to here */
    struct stat st;       /* the new file, for the ETag */
};

/* Write-back is started every this many bytes while the body streams in,
 * so the disk works while the network does and the final fdatasync waits
 * for the last stretch only. */
#define WRITEBACK_STEP (256 * 1024)

static void upload_cleanup(void *p)
{
    struct upload *u = p;
    if (u->fd >= 0) {
        close(u->fd);
        unlinkat(u->dir, u->tmp, 0);
    }
    if (u->dir >= 0)
        close(u->dir);
}

/* On a thread: the content on disk, then in place (a reader sees the old
 * file or the new one, never half of one). */
static int upload_sync(const struct upload *u, int fd)
{
    switch (u->c->r->sync) {
    case NXX_DAV_SYNC_FULL: return fsync(fd) < 0 ? errno : 0;
    case NXX_DAV_SYNC_DATA: return fdatasync(fd) < 0 ? errno : 0;
    default: return 0;
    }
}

static void upload_work(struct nxx_dav_job *j)
{
    struct upload *u = j->p;
    /* the content (and, for a new file, the size that reaches it: fdatasync
     * writes what is needed to read the data back) before the name */
    if (!u->err)
        u->err = upload_sync(u, u->fd);
    if (!u->err && fstat(u->fd, &u->st) < 0)
        u->err = errno;
    if (!u->err && u->inplace) {
        /* RFC 5842: every binding sees the new content, so the inode stays;
         * the content was complete and synced before the old one is touched */
        int out = openat(u->dir, u->name, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
        off_t off = 0;
        if (out < 0)
            u->err = errno;
        while (!u->err && off < (off_t)u->bytes) {
            ssize_t n = copy_file_range(u->fd, &off, out, NULL, (size_t)((off_t)u->bytes - off), 0);
            if (n <= 0)
                u->err = n < 0 ? errno : EIO;
        }
        if (out >= 0) {
            if (!u->err)
                u->err = upload_sync(u, out);
            if (!u->err && fstat(out, &u->st) < 0)
                u->err = errno;
            close(out);
        }
        close(u->fd);
        unlinkat(u->dir, u->tmp, 0);
        u->fd = -1;
        nxx_dav_changed(u->c->r);
        return;
    }
    if (!u->err && renameat(u->dir, u->tmp, u->dir, u->name) < 0)
        u->err = errno;
    if (!u->err) {
        /* the new name, once, after the rename: the one directory change */
        nxx_dav_changed(u->c->r);
        if (u->c->r->sync != NXX_DAV_SYNC_NONE)
            u->err = nxx_dav_dir_sync(u->c->r->sh, u->dir);
    } else {
        /* nothing partial stays behind, even before the answer leaves */
        close(u->fd);
        unlinkat(u->dir, u->tmp, 0);
        u->fd = -1;
    }
}

static int upload_answer(struct nxx_dav_job *j)
{
    struct upload *u = j->p;
    struct nxx_dav_ctx *c = j->c;
    if (u->err) {
        if (u->err == ENOSPC || u->err == EDQUOT)
            return nxx_dav_error(c->req, 507, "quota-not-exceeded",
                                 u->err == EDQUOT && c->r->quota
                                     ? "the upload is larger than the quota leaves room for"
                                     : "the upload does not fit in the space left");
        nxx_req_detail(c->req, "cannot write '%s': %s", c->rel, strerror(u->err));
        return nxx_dav_status_of(u->err);
    }
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
    char etag[64];
    size_t n = nxx_static_etag(&u->st, etag, sizeof(etag));
    if (n)
        nxx_resp_header(c->req, "ETag", (nxx_str){ etag, n });
    nxx_resp_status(c->req, u->existed ? 204 : 201);
    return nxx_resp_send(c->req, NULL, 0, 0) ? 500 : 0;
}

static void upload_piece(nxx_req *req, const void *data, size_t len, int state, void *ud)
{
    struct upload *u = ud;
    (void)req;
    if (state < 0)
        return; /* the cleanup removes the temporary file */
    const char *p = data;
    while (len && !u->err) {
        ssize_t w = write(u->fd, p, len);
        if (w < 0) {
            if (errno != EINTR)
                u->err = errno;
            continue;
        }
        p += w;
        len -= (size_t)w;
        u->bytes += (uint64_t)w;
    }
    if (!u->err && u->c->r->quota && u->bytes > u->room)
        u->err = EDQUOT;
    if (!u->err && u->c->r->sync != NXX_DAV_SYNC_NONE && u->bytes - u->flushed >= WRITEBACK_STEP) {
        nxx_os_writeback_start(u->fd, (long long)u->flushed, (long long)(u->bytes - u->flushed));
        u->flushed = u->bytes;
    }
    if (state != 1)
        return;
    struct nxx_dav_ctx *c = u->c;
    struct nxx_dav_job *j = nxx_req_alloc(c->req, sizeof(*j));
    if (!j) {
        finish(c, 500);
        return;
    }
    memset(j, 0, sizeof(*j));
    j->c = c;
    j->p = u;
    j->work = upload_work;
    j->answer = upload_answer;
    finish(c, nxx_dav_job_start(j));
}

static int do_put(struct nxx_dav_ctx *c)
{
    nxx_req *req = c->req;
    struct stat st;
    int existed = nxx_dav_stat(c->r, c->rel, &st) == 0;
    if (!c->rel[0] || (existed && S_ISDIR(st.st_mode))) {
        NXX_RESP_HEADER(req, "Allow", NXX_STR(DAV_ALLOW));
        nxx_req_detail(req, "'%s' is a collection: PUT cannot replace it", c->rel);
        return 405;
    }
    if (nxx_req_header(req, "content-range").len) {
        nxx_req_detail(req, "PUT with Content-Range is not supported (RFC 9110 §14.5)");
        return 400;
    }
    int s = nxx_dav_check_write(c, c->rel, 0, !existed);
    if (s)
        return s;
    struct upload *u = nxx_req_alloc(req, sizeof(*u));
    if (!u)
        return 500;
    memset(u, 0, sizeof(*u));
    if (c->r->quota) {
        /* RFC 4331: what the tree holds now, less the file being replaced */
        uint64_t used = nxx_dav_used_bytes(c->r);
        uint64_t old = existed && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
        used = used > old ? used - old : 0;
        u->room = used < c->r->quota ? c->r->quota - used : 0;
        if ((req->h.flags & NXX_HF_HAS_CL) && req->h.content_length > u->room)
            return nxx_dav_error(req, 507, "quota-not-exceeded",
                                 "the upload is larger than the quota leaves room for");
    }
    u->c = c;
    u->fd = -1;
    u->existed = existed;
    u->inplace = existed && S_ISREG(st.st_mode) && st.st_nlink > 1;
    u->dir = nxx_dav_open_parent(c->r, c->rel, &u->name);
    if (u->dir < 0) {
        nxx_req_detail(req, "the parent collection of '%s' does not exist", c->rel);
        return 409;
    }
    if (nxx_req_on_done(req, upload_cleanup, u) < 0) {
        close(u->dir);
        return 500;
    }
    for (int tries = 0; tries < 8 && u->fd < 0; tries++) {
        uint64_t rnd = 0;
        nxx_os_random(&rnd, sizeof(rnd), 0);
        snprintf(u->tmp, sizeof(u->tmp), TMP_PREFIX "%016llx", (unsigned long long)rnd);
        u->fd = openat(u->dir, u->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (u->fd < 0 && errno != EEXIST)
            break;
    }
    if (u->fd < 0) {
        int e = errno;
        if (e == ENOSPC || e == EDQUOT)
            return nxx_dav_error(req, 507, "quota-not-exceeded", "no space left for the upload");
        nxx_req_detail(req, "cannot create a file beside '%s': %s", c->rel, strerror(e));
        return nxx_dav_status_of(e);
    }
    return nxx_req_body_stream(req, upload_piece, u) ? 500 : 0;
}

/* ---- DELETE, COPY, MOVE ---- */

/* A DELETE of a collection: what could not be removed, for the 207. */
struct del {
    int dir;
    const char *name;
    char key[PATH_MAX];  /* the binding's dead properties */
    char heir[PATH_MAX]; /* a file's other binding, which takes its properties */
    struct stat st;
    int coll;
    struct nxx_dav_buf fails; /* <D:response> entries */
    size_t nfails;
    char path[PATH_MAX];
    size_t len;
};

static void del_fail(struct nxx_dav_job *j, struct del *d, int err, int coll)
{
    int st = nxx_dav_status_of(err);
    nxx_dav_puts(&d->fails, "<D:response>");
    nxx_dav_put_href(&d->fails, j->c->r, d->path, coll);
    nxx_dav_putf(&d->fails, "<D:status>HTTP/1.1 %d %s</D:status></D:response>", st,
                 nxx_status_reason(st));
    d->nfails++;
}

/* Remove name in dir (d->path is its parent's path); 0, or -errno when it or
 * something below it stayed.  RFC 4918 §9.6.1: only the members that could
 * not be removed are reported, not the collections that hold them. */
static int del_tree(struct nxx_dav_job *j, struct del *d, int dir, const char *name, int depth)
{
    size_t keep = d->len, nl = strlen(name);
    if (keep + nl + 2 > sizeof(d->path))
        return -ENAMETOOLONG;
    if (keep)
        d->path[d->len++] = '/';
    memcpy(d->path + d->len, name, nl + 1);
    d->len += nl;
    struct stat st;
    int err = fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
    if (!err && !S_ISDIR(st.st_mode)) {
        if (unlinkat(dir, name, 0) < 0) {
            err = -errno;
            del_fail(j, d, -err, 0);
        }
    } else if (!err) {
        int fd =
            depth > 256 ? -1 : openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *dd = fd < 0 ? NULL : fdopendir(fd);
        if (!dd) {
            err = depth > 256 ? -ELOOP : -errno;
            if (fd >= 0)
                close(fd);
            del_fail(j, d, -err, 1);
        } else {
            struct dirent *de;
            int member_failed = 0;
            while ((de = readdir(dd)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                    continue;
                if (del_tree(j, d, dirfd(dd), de->d_name, depth + 1) < 0)
                    member_failed = 1;
            }
            closedir(dd);
            if (member_failed) {
                err = -ENOTEMPTY; /* its failed members are reported */
            } else if (unlinkat(dir, name, AT_REMOVEDIR) < 0) {
                err = -errno;
                del_fail(j, d, -err, 1);
            }
        }
    }
    d->len = keep;
    d->path[keep] = '\0';
    return err;
}

static void delete_work(struct nxx_dav_job *j)
{
    struct del *d = j->p;
    const char *rel = j->c->rel;
    const char *slash = strrchr(rel, '/');
    d->len = slash ? (size_t)(slash - rel) : 0;
    memcpy(d->path, rel, d->len);
    d->path[d->len] = '\0';
    j->err = del_tree(j, d, d->dir, d->name, 0);
    fsync(d->dir);
    nxx_dav_changed(j->c->r);
    if (!d->nfails) {
        nxx_dav_props_delete(j->c->r, d->key);
        if (!j->err)
            nxx_dav_props_inherit(j->c->r, &d->st, d->heir);
        nxx_dav_locks_drop(j->c->r, rel);
    }
}

static int delete_answer(struct nxx_dav_job *j)
{
    struct del *d = j->p;
    struct nxx_dav_ctx *c = j->c;
    if (d->nfails && d->coll && !d->fails.oom) {
        /* RFC 4918 §9.6.1: what could not be deleted, in a 207 */
        struct nxx_dav_buf b = { 0 };
        nxx_dav_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                         "<D:multistatus xmlns:D=\"DAV:\">");
        nxx_dav_put(&b, d->fails.p, d->fails.len);
        nxx_dav_puts(&b, "</D:multistatus>\n");
        nxx_free(d->fails.p);
        d->fails.p = NULL;
        return nxx_dav_send_xml(c->req, 207, &b);
    }
    nxx_free(d->fails.p);
    d->fails.p = NULL;
    if (j->err == -ENOENT)
        return 404;
    if (j->err) {
        nxx_req_detail(c->req, "cannot delete '%s': %s", c->rel, strerror(-j->err));
        return nxx_dav_status_of(-j->err);
    }
    nxx_resp_status(c->req, 204);
    return nxx_resp_send(c->req, NULL, 0, 0) ? 500 : 0;
}

static int do_delete(struct nxx_dav_ctx *c)
{
    nxx_req *req = c->req;
    struct stat st;
    if (nxx_dav_stat(c->r, c->rel, &st) < 0)
        return 404;
    if (!c->rel[0]) {
        nxx_req_detail(req, "the root collection cannot be deleted");
        return 403;
    }
    nxx_str depth = nxx_req_header(req, "depth");
    if (depth.len && S_ISDIR(st.st_mode) && !NXX_STR_IEQ(depth, "infinity")) {
        nxx_req_detail(req, "DELETE of a collection takes Depth: infinity only (RFC 4918 §9.6.1)");
        return 400;
    }
    int s = nxx_dav_check_write(c, c->rel, 1, 1);
    if (s)
        return s;
    struct del *d = nxx_req_alloc(req, sizeof(*d));
    struct nxx_dav_job *j = nxx_req_alloc(req, sizeof(*j));
    if (!d || !j)
        return 500;
    memset(d, 0, sizeof(*d));
    d->dir = nxx_dav_open_parent(c->r, c->rel, &d->name);
    if (d->dir < 0)
        return 404;
    if (nxx_req_on_done(req, close_fd, (void *)(intptr_t)d->dir) < 0) {
        close(d->dir);
        return 500;
    }
    d->coll = S_ISDIR(st.st_mode);
    d->st = st;
    nxx_dav_prop_key(c->r, c->rel, 0, d->key, sizeof(d->key));
    nxx_dav_props_heir(c, c->rel, &st, d->heir, sizeof(d->heir));
    memset(j, 0, sizeof(*j));
    j->c = c;
    j->p = d;
    j->work = delete_work;
    j->answer = delete_answer;
    return nxx_dav_job_start(j);
}

/* The Destination field as a path relative to the root: 0, or the status. */
static int destination(struct nxx_dav_ctx *c, char **out)
{
    nxx_req *req = c->req;
    nxx_str d = nxx_req_header(req, "destination");
    if (!d.len) {
        nxx_req_detail(req, "%.*s needs a Destination field", (int)req->h.method.len,
                       req->h.method.ptr);
        return 400;
    }
    return nxx_dav_href_rel(c, d, out);
}

int nxx_dav_href_rel(struct nxx_dav_ctx *c, nxx_str d, char **out)
{
    nxx_req *req = c->req;
    if (!d.len) {
        nxx_req_detail(req, "an empty URI where a resource was to be named");
        return 400;
    }
    const char *p = d.ptr, *end = d.ptr + d.len;
    if (*p != '/') {
        const char *colon = memchr(p, ':', d.len);
        if (!colon || end - colon < 3 || colon[1] != '/' || colon[2] != '/') {
            nxx_req_detail(req, "'%.*s' is not an absolute URI or path", (int)d.len, d.ptr);
            return 400;
        }
        const char *auth = colon + 3;
        const char *slash = memchr(auth, '/', (size_t)(end - auth));
        if (!slash)
            slash = end;
        nxx_str mine = nxx_req_authority(req);
        if (!nxx_str_ieq_str((nxx_str){ auth, (size_t)(slash - auth) }, mine)) {
            nxx_req_detail(req, "'%.*s' names another server ('%.*s')", (int)d.len, d.ptr,
                           (int)(slash - auth), auth);
            return 502;
        }
        p = slash;
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    if (q)
        end = q;
    size_t len = (size_t)(end - p);
    if (!len) {
        p = "/";
        len = 1;
    }
    char *path = nxx_req_alloc(req, len + 1);
    size_t plen = 0;
    const char *why = NULL;
    if (!path)
        return 500;
    if (nxx_path_normalize(p, len, path, &plen, &why) != 0) {
        nxx_req_detail(req, "the path of '%.*s' %s", (int)d.len, d.ptr, why ? why : "is malformed");
        return 400;
    }
    const struct nxx_dav_root *r = c->r;
    if (plen < r->prefix_len || memcmp(path, r->prefix, r->prefix_len) != 0 ||
        (plen > r->prefix_len && path[r->prefix_len] != '/')) {
        nxx_req_detail(req, "'%.*s' is outside this WebDAV location", (int)d.len, d.ptr);
        return 502;
    }
    char *rel = path + r->prefix_len;
    while (*rel == '/')
        rel++;
    size_t rl = strlen(rel);
    while (rl && rel[rl - 1] == '/')
        rel[--rl] = '\0';
    if (nxx_path_has_dot_segment(rel, rl)) {
        nxx_req_detail(req, "'%.*s' names a hidden file", (int)d.len, d.ptr);
        return 403;
    }
    *out = rel;
    return 0;
}

static int under(const char *a, const char *b)
{
    /* is a equal to b or inside it? */
    size_t n = strlen(b);
    if (!n)
        return 1;
    return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

struct cm {
    int sdir;
    const char *sname;
    int ddir;
    const char *dname;
    const char *dst;
    char skey[PATH_MAX], dkey[PATH_MAX]; /* their dead properties' keys */
    int move, inf, dexists;
    int replace_failed;
    struct copy_ctx *x;
};

/* x->path: the parent of the source, where copy_tree starts. */
static void copy_start(struct copy_ctx *x, const struct nxx_dav_root *r, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    x->r = r;
    x->len = slash ? (size_t)(slash - rel) : 0;
    memcpy(x->path, rel, x->len);
    x->path[x->len] = '\0';
}

static void copy_ctx_free(void *p)
{
    struct copy_ctx *x = p;
    nxx_free(x->fails.p);
}

static void copymove_work(struct nxx_dav_job *j)
{
    struct cm *m = j->p;
    struct nxx_dav_ctx *c = j->c;
    if (m->dexists) {
        /* RFC 4918 §9.8.4, §9.9.3: the destination is deleted first */
        int e = nxx_dav_rm_tree(m->ddir, m->dname, 0);
        nxx_dav_props_delete(c->r, m->dkey);
        nxx_dav_locks_drop(c->r, m->dst);
        if (e) {
            m->replace_failed = 1;
            j->err = e;
            return;
        }
    }
    int e = 0;
    if (m->move) {
        e = renameat(m->sdir, m->sname, m->ddir, m->dname) < 0 ? -errno : 0;
        if (e == -EXDEV) {
            copy_start(m->x, c->r, c->rel);
            e = copy_tree(m->x, m->sdir, m->sname, m->ddir, m->dname, 1, 0);
            if (!e && !m->x->nfails) /* what was not copied stays where it was */
                e = nxx_dav_rm_tree(m->sdir, m->sname, 0);
        }
        if (!e) {
            nxx_dav_props_move(c->r, m->skey, m->dkey);
            nxx_dav_locks_drop(c->r, c->rel);
        }
        fsync(m->sdir);
    } else {
        copy_start(m->x, c->r, c->rel);
        e = copy_tree(m->x, m->sdir, m->sname, m->ddir, m->dname, m->inf, 0);
        if (e != -EEXIST)
            nxx_dav_props_copy(c->r, m->skey, m->dkey);
    }
    fsync(m->ddir);
    nxx_dav_changed(c->r);
    j->err = e;
}

static int copymove_answer(struct nxx_dav_job *j)
{
    struct cm *m = j->p;
    nxx_req *req = j->c->req;
    int e = j->err;
    if (!e && m->x->nfails && !m->x->fails.oom) {
        /* RFC 4918 §9.8.5: the members that were not copied */
        struct nxx_dav_buf b = { 0 };
        nxx_dav_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                         "<D:multistatus xmlns:D=\"DAV:\">");
        nxx_dav_put(&b, m->x->fails.p, m->x->fails.len);
        nxx_dav_puts(&b, "</D:multistatus>\n");
        return nxx_dav_send_xml(req, 207, &b);
    }
    if (e && m->replace_failed) {
        nxx_req_detail(req, "cannot replace the Destination: %s", strerror(-e));
        return nxx_dav_status_of(-e);
    }
    if (e) {
        nxx_req_detail(req, "%s failed: %s", m->move ? "MOVE" : "COPY", strerror(-e));
        if (-e == ENOSPC || -e == EDQUOT)
            return nxx_dav_error(req, 507, "quota-not-exceeded", "no space left for the copy");
        return nxx_dav_status_of(-e);
    }
    nxx_resp_status(req, m->dexists ? 204 : 201);
    return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
}

static int do_copymove(struct nxx_dav_ctx *c, int move)
{
    nxx_req *req = c->req;
    char *dst = NULL;
    int s = destination(c, &dst);
    if (s)
        return s;
    struct stat st;
    if (nxx_dav_stat(c->r, c->rel, &st) < 0)
        return 404;
    int coll = S_ISDIR(st.st_mode);
    nxx_str depth = nxx_req_header(req, "depth");
    int inf = 1;
    if (depth.len) {
        if (NXX_STR_IEQ(depth, "infinity"))
            inf = 1;
        else if (depth.len == 1 && depth.ptr[0] == '0' && !move)
            inf = 0;
        else {
            nxx_req_detail(req, "%s takes Depth: %s", move ? "MOVE" : "COPY",
                           move ? "infinity only" : "0 or infinity");
            return 400;
        }
    }
    nxx_str ow = nxx_req_header(req, "overwrite");
    int overwrite = 1;
    if (ow.len == 1 && (ow.ptr[0] == 'F' || ow.ptr[0] == 'f'))
        overwrite = 0;
    else if (ow.len && !(ow.len == 1 && (ow.ptr[0] == 'T' || ow.ptr[0] == 't'))) {
        nxx_req_detail(req, "Overwrite is T or F");
        return 400;
    }
    if (strcmp(dst, c->rel) == 0) {
        nxx_req_detail(req, "the source and the Destination are the same resource");
        return 403;
    }
    if (!c->rel[0] || (coll && under(dst, c->rel)) || !dst[0]) {
        nxx_req_detail(req, "the Destination is inside the source or is the root");
        return 403;
    }
    struct stat dt;
    int dexists = nxx_dav_stat(c->r, dst, &dt) == 0;
    if (dexists && !overwrite) {
        nxx_req_detail(req, "the Destination exists and Overwrite is F");
        return 412;
    }
    if (move && (s = nxx_dav_check_write(c, c->rel, 1, 1)) != 0)
        return s;
    if (!move && (s = nxx_dav_check_if(c)) != 0)
        return s;
    if ((s = nxx_dav_check_write(c, dst, 1, 1)) != 0)
        return s;
    const char *sname, *dname;
    int ddir = nxx_dav_open_parent(c->r, dst, &dname);
    if (ddir < 0) {
        nxx_req_detail(req, "the parent collection of the Destination does not exist");
        return 409;
    }
    if (nxx_req_on_done(req, close_fd, (void *)(intptr_t)ddir) < 0) {
        close(ddir);
        return 500;
    }
    int sdir = nxx_dav_open_parent(c->r, c->rel, &sname);
    if (sdir < 0)
        return 404;
    if (nxx_req_on_done(req, close_fd, (void *)(intptr_t)sdir) < 0) {
        close(sdir);
        return 500;
    }
    struct cm *m = nxx_req_alloc(req, sizeof(*m));
    struct nxx_dav_job *j = nxx_req_alloc(req, sizeof(*j));
    struct copy_ctx *x = nxx_req_alloc(req, sizeof(*x));
    if (!m || !j || !x || nxx_req_on_done(req, copy_ctx_free, x) < 0)
        return 500;
    memset(x, 0, sizeof(*x));
    m->sdir = sdir;
    m->sname = sname;
    m->ddir = ddir;
    m->dname = dname;
    m->dst = dst;
    /* a MOVE takes the binding (its properties, when it is the resource's
     * own path); a COPY copies what the source leads to */
    nxx_dav_prop_key(c->r, c->rel, !move, m->skey, sizeof(m->skey));
    nxx_dav_prop_key(c->r, dst, 0, m->dkey, sizeof(m->dkey));
    m->move = move;
    m->inf = inf;
    m->dexists = dexists;
    m->replace_failed = 0;
    m->x = x;
    memset(j, 0, sizeof(*j));
    j->c = c;
    j->p = m;
    j->work = copymove_work;
    j->answer = copymove_answer;
    return nxx_dav_job_start(j);
}

static int do_copy(struct nxx_dav_ctx *c)
{
    return do_copymove(c, 0);
}

static int do_move(struct nxx_dav_ctx *c)
{
    return do_copymove(c, 1);
}

/* ---- dispatch ---- */

static int dispatch(struct nxx_dav_ctx *c)
{
    nxx_req *req = c->req;
    nxx_str m = req->h.method;
    int s = nxx_dav_if_read(c);
    if (s)
        return s;
    switch (req->h.method_id) {
    case NXX_M_OPTIONS: return do_options(c);
    case NXX_M_PUT: return do_put(c);
    case NXX_M_DELETE: return do_delete(c);
    default: break;
    }
    if (NXX_STR_IEQ(m, "propfind"))
        return with_body(c, nxx_dav_propfind);
    if (NXX_STR_IEQ(m, "proppatch"))
        return with_body(c, nxx_dav_proppatch);
    if (NXX_STR_IEQ(m, "lock"))
        return with_body(c, nxx_dav_lock);
    if (NXX_STR_IEQ(m, "mkcol"))
        return do_mkcol(c);
    if (NXX_STR_IEQ(m, "copy"))
        return do_copy(c);
    if (NXX_STR_IEQ(m, "move"))
        return do_move(c);
    if (NXX_STR_IEQ(m, "unlock"))
        return nxx_dav_unlock(c);
    if (NXX_STR_IEQ(m, "bind"))
        return with_body(c, nxx_dav_bind);
    if (NXX_STR_IEQ(m, "unbind"))
        return with_body(c, nxx_dav_unbind);
    if (NXX_STR_IEQ(m, "rebind"))
        return with_body(c, nxx_dav_rebind);
    NXX_RESP_HEADER(req, "Allow", NXX_STR(DAV_ALLOW));
    return 405;
}

static int handle(nxx_req *req, void *ud)
{
    struct nxx_dav_root *r = ud;
    nxx_str path = nxx_req_path(req);
    if (path.len < r->prefix_len || memcmp(path.ptr, r->prefix, r->prefix_len) != 0)
        return 404;
    if (!req->path_plain && nxx_path_has_dot_segment(path.ptr, path.len))
        return 404;
    if (req->h.method_id == NXX_M_GET || req->h.method_id == NXX_M_HEAD)
        return nxx_static_serve(req, r->files);
    struct nxx_dav_ctx *c = nxx_req_alloc(req, sizeof(*c));
    const char *rel = path.ptr + r->prefix_len;
    size_t rl = path.len - r->prefix_len;
    while (rl && *rel == '/') {
        rel++;
        rl--;
    }
    while (rl && rel[rl - 1] == '/')
        rl--;
    char *rc = nxx_req_alloc(req, rl + 1);
    if (!c || !rc)
        return 500;
    memset(c, 0, sizeof(*c));
    memcpy(rc, rel, rl);
    rc[rl] = '\0';
    c->r = r;
    c->req = req;
    c->rel = rc;
    return nxx_dav_answer(c, dispatch(c));
}

/* ---- set-up ---- */

/* The state of every location over one root and database, across
 * generations (dav.h). */
static pthread_mutex_t states_mu = PTHREAD_MUTEX_INITIALIZER;
static struct nxx_dav_state *states;

static void state_free(struct nxx_dav_state *s)
{
    jobs_stop(s);
    nxx_dav_db_close(s);
    for (size_t i = 0; i < s->nlocks; i++) {
        nxx_free(s->locks[i].path);
        nxx_free(s->locks[i].owner);
    }
    nxx_free(s->locks);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->dbmu);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcv);
    pthread_cond_destroy(&s->ds_cv);
    nxx_free(s->key);
    nxx_free(s);
}

static void state_release(struct nxx_dav_state *s)
{
    pthread_mutex_lock(&states_mu);
    int last = --s->refs == 0;
    if (last) {
        struct nxx_dav_state **pp = &states;
        while (*pp != s)
            pp = &(*pp)->next;
        *pp = s->next;
    }
    pthread_mutex_unlock(&states_mu);
    if (last)
        state_free(s);
}

/* r->sh: the state already open for r's root and db, or a new one (the
 * database opened and the locks loaded). */
static int state_acquire(struct nxx_dav_root *r, const char *db)
{
    char *real = realpath(r->root, NULL);
    if (!real)
        return -errno;
    size_t rl = strlen(real), dl = db ? strlen(db) : 0;
    char *key = nxx_malloc(rl + dl + 2);
    if (!key) {
        free(real);
        return NXX_ENOMEM;
    }
    memcpy(key, real, rl);
    key[rl] = '\n';
    if (dl)
        memcpy(key + rl + 1, db, dl);
    key[rl + 1 + dl] = '\0';
    free(real);
    pthread_mutex_lock(&states_mu);
    for (struct nxx_dav_state *s = states; s; s = s->next) {
        if (strcmp(s->key, key) == 0) {
            s->refs++;
            r->sh = s;
            pthread_mutex_unlock(&states_mu);
            nxx_free(key);
            return 0;
        }
    }
    struct nxx_dav_state *s = nxx_calloc(1, sizeof(*s));
    if (!s) {
        pthread_mutex_unlock(&states_mu);
        nxx_free(key);
        return NXX_ENOMEM;
    }
    s->key = key;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->dbmu, NULL);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcv, NULL);
    pthread_cond_init(&s->ds_cv, NULL);
    atomic_init(&s->jobs, 0);
    atomic_init(&s->changes, 0);
    r->sh = s;
    int err = nxx_dav_db_open(r, db);
    if (!err)
        err = nxx_dav_locks_load(r);
    if (err) {
        r->sh = NULL;
        pthread_mutex_unlock(&states_mu);
        state_free(s);
        return err;
    }
    s->refs = 1;
    s->next = states;
    states = s;
    pthread_mutex_unlock(&states_mu);
    return 0;
}

static void nxx_dav_root_free(void *arg)
{
    struct nxx_dav_root *r = arg;
    if (r->files)
        nxx_static_root_free(r->files);
    if (r->rootfd >= 0)
        close(r->rootfd);
    if (r->sh)
        state_release(r->sh);
    free(r->real);
    nxx_free(r->prefix);
    nxx_free(r->root);
    nxx_free(r);
}

void nxx_dav_config_init(nxx_dav_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_xml_bytes = 1 << 20;
    cfg->max_lock_timeout_s = 3600;
    cfg->processing_delay_ms = 1000;
    cfg->max_jobs = 64;
    cfg->sync = NXX_DAV_SYNC_DATA;
}

int nxx_scope_dav(nxx_scope *loc, const nxx_dav_config *cfg)
{
    if (!loc || !cfg->root || cfg->sync < NXX_DAV_SYNC_DATA || cfg->sync > NXX_DAV_SYNC_NONE)
        return NXX_EINVAL;
    struct nxx_dav_root *r = nxx_calloc(1, sizeof(*r));
    if (!r)
        return NXX_ENOMEM;
    r->rootfd = -1;
    r->depth_infinity = cfg->depth_infinity;
    r->max_xml = cfg->max_xml_bytes ? cfg->max_xml_bytes : 1 << 20;
    r->max_timeout_s = cfg->max_lock_timeout_s ? cfg->max_lock_timeout_s : 3600;
    r->quota = cfg->quota_bytes;
    r->processing_ms = cfg->processing_delay_ms ? cfg->processing_delay_ms : 1000;
    r->max_jobs = cfg->max_jobs;
    r->sync = cfg->sync;
    const char *base = loc->base ? loc->base : "";
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    r->prefix = nxx_malloc(bl + 1);
    r->root = nxx_strdup(cfg->root);
    r->real = realpath(cfg->root, NULL);
    r->real_len = r->real ? strlen(r->real) : 0;
    int err = !r->prefix || !r->root ? NXX_ENOMEM : !r->real ? -errno : 0;
    if (!err) {
        memcpy(r->prefix, base, bl);
        r->prefix[bl] = '\0';
        r->prefix_len = bl;
        r->rootfd = open(cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r->rootfd < 0)
            err = -errno;
    }
    if (!err) {
        nxx_static_config sc;
        nxx_static_config_init(&sc);
        sc.root = cfg->root;
        sc.prefix = bl ? r->prefix : "/";
        sc.listing = 1;
        sc.precompressed = 0;
        r->files = nxx_static_root_new(&sc, 1, &err);
    }
    if (!err)
        err = state_acquire(r, cfg->db);
    if (!err)
        nxx_static_root_changes(r->files, &r->sh->changes);
    if (!err)
        err = nxx_scope_on_free(loc, nxx_dav_root_free, r);
    if (err) {
        nxx_dav_root_free(r);
        return err;
    }
    return nxx_scope_route(loc, NULL, NULL, NXX_ROUTE_STREAM, handle, r);
}
