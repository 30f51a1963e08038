/*
 * bind.c - WebDAV bindings (RFC 5842): BIND adds a second name for a
 * resource, UNBIND removes one name, REBIND moves one name.
 *
 * On a POSIX file system a second binding of a file is a hard link (one
 * inode, so one resource: a write through either name is seen through the
 * other), and of a collection a relative symlink inside the root (the walk
 * of PROPFIND then meets the collection twice: 208 for clients that send
 * DAV: bind, 508 for others when it closes a loop).  DAV:resource-id names
 * the inode, so two bindings of one resource show the same id.
 */
#include "handlers/dav/dav.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/str.h"
#include "http/request.h"
#include "core/banned.h"

void nxx_dav_resource_id(const struct stat *st, char out[48])
{
    unsigned long long dev = (unsigned long long)st->st_dev;
    unsigned long long ino = (unsigned long long)st->st_ino;
    /* RFC 9562 layout with the version (8: custom) and variant bits set */
    snprintf(out, 48, "urn:uuid:%08llx-%04llx-8%03llx-8%03llx-%012llx", dev & 0xffffffffull,
             (dev >> 32) & 0xffff, (dev >> 48) & 0xfff, (ino >> 48) & 0xfff,
             ino & 0xffffffffffffull);
}

/* A binding's name: one segment, no '/', not "." or "..", not hidden. */
static int segment_ok(const char *s)
{
    return s && s[0] && s[0] != '.' && !strchr(s, '/');
}

/* The DAV:segment (and DAV:href when want_href) of a bind/unbind/rebind body. */
static int read_body(struct nxx_dav_ctx *c, const char *root_name, const char **seg, char **href,
                     int want_href)
{
    nxx_req *req = c->req;
    const struct nxx_dav_xel *root = nxx_dav_xml_root(c->xml);
    if (!nxx_dav_xel_is(root, "DAV:", root_name)) {
        nxx_req_detail(req, "the body is not a DAV:%s element", root_name);
        return 400;
    }
    const struct nxx_dav_xel *s = nxx_dav_xel_find(root, "DAV:", "segment");
    *seg = s ? s->text : NULL;
    if (!segment_ok(*seg)) {
        nxx_req_detail(req, "DAV:%s needs a DAV:segment that is one plain name", root_name);
        return 400;
    }
    if (!want_href)
        return 0;
    const struct nxx_dav_xel *h = nxx_dav_xel_find(root, "DAV:", "href");
    if (!h || !h->text_len) {
        nxx_req_detail(req, "DAV:%s needs a DAV:href", root_name);
        return 400;
    }
    nxx_str t = { h->text, h->text_len };
    while (t.len && (t.ptr[0] == ' ' || t.ptr[0] == '\n' || t.ptr[0] == '\t')) {
        t.ptr++;
        t.len--;
    }
    while (t.len && (t.ptr[t.len - 1] == ' ' || t.ptr[t.len - 1] == '\n'))
        t.len--;
    return nxx_dav_href_rel(c, t, href);
}

/* parent/segment as a relative path in the request's arena */
static char *join(nxx_req *req, const char *parent, const char *seg)
{
    size_t pl = strlen(parent), sl = strlen(seg);
    char *p = nxx_req_alloc(req, pl + sl + 2);
    if (!p)
        return NULL;
    if (pl) {
        memcpy(p, parent, pl);
        p[pl++] = '/';
    }
    memcpy(p + pl, seg, sl + 1);
    return p;
}

/* The collection of the request, and the new binding's path in it. */
static int target(struct nxx_dav_ctx *c, const char *seg, char **path)
{
    struct stat st;
    if (nxx_dav_stat(c->r, c->rel, &st) < 0 || !S_ISDIR(st.st_mode)) {
        nxx_req_detail(c->req, "a binding is made in a collection; '%s' is none", c->rel);
        return nxx_dav_stat(c->r, c->rel, &st) < 0 ? 404 : 405;
    }
    *path = join(c->req, c->rel, seg);
    return *path ? 0 : 500;
}

/* 0: may (re)place path; else the status (412 for Overwrite: F onto it). */
static int overwrite_ok(struct nxx_dav_ctx *c, const char *path, int *exists)
{
    struct stat st;
    nxx_str ow = nxx_req_header(c->req, "overwrite");
    *exists = nxx_dav_stat(c->r, path, &st) == 0;
    if (*exists && ow.len == 1 && (ow.ptr[0] == 'F' || ow.ptr[0] == 'f')) {
        nxx_req_detail(c->req, "'%s' exists and Overwrite is F", path);
        return 412;
    }
    return 0;
}

/* a relative symlink text from the directory of `from` to `to` (both relative to the root) */
static int link_text(const char *from, const char *to, char *out, size_t cap)
{
    size_t ups = 0, n = 0;
    for (const char *p = from; *p; p++)
        ups += *p == '/';
    for (size_t i = 0; i < ups; i++) {
        if (n + 3 >= cap)
            return -1;
        memcpy(out + n, "../", 3);
        n += 3;
    }
    size_t tl = strlen(to);
    if (n + tl + 1 > cap)
        return -1;
    memcpy(out + n, to, tl + 1);
    if (!tl && n == 0)
        memcpy(out, ".", 2);
    else if (!tl)
        out[n - 1] = '\0';
    return 0;
}

static int answer(nxx_req *req, int replaced)
{
    nxx_resp_status(req, replaced ? 200 : 201);
    return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
}

int nxx_dav_bind(struct nxx_dav_ctx *c)
{
    const char *seg;
    char *src, *path;
    int s = read_body(c, "bind", &seg, &src, 1);
    if (s || (s = target(c, seg, &path)) != 0)
        return s;
    struct stat st;
    if (nxx_dav_stat(c->r, src, &st) < 0) {
        nxx_req_detail(c->req, "the resource to bind, '%s', does not exist", src);
        return 409;
    }
    int exists;
    if ((s = overwrite_ok(c, path, &exists)) != 0 || (s = nxx_dav_check_write(c, path, 1, 1)) != 0)
        return s;
    const char *name, *sname;
    int dir = nxx_dav_open_parent(c->r, path, &name);
    if (dir < 0)
        return 409;
    int e = exists ? nxx_dav_rm_tree(dir, name, 0) : 0;
    if (!e && S_ISDIR(st.st_mode)) {
        char text[4096];
        e = link_text(path, src, text, sizeof(text)) < 0 ? -ENAMETOOLONG
            : symlinkat(text, dir, name) < 0             ? -errno
                                                         : 0;
    } else if (!e) {
        char skey[PATH_MAX], fkey[64];
        nxx_dav_prop_key(c->r, src, 1, skey, sizeof(skey));
        int sdir = nxx_dav_open_parent(c->r, src, &sname);
        e = sdir < 0 ? sdir : linkat(sdir, sname, dir, name, 0) < 0 ? -errno : 0;
        if (sdir >= 0)
            close(sdir);
        /* one resource, two paths: its properties under its own key */
        st.st_nlink++;
        if (!e && nxx_dav_file_key(&st, fkey, sizeof(fkey)) && strcmp(skey, fkey) != 0)
            nxx_dav_props_move(c->r, skey, fkey);
    }
    if (!e)
        fsync(dir);
    close(dir);
    nxx_dav_changed(c->r);
    if (e == -EXDEV)
        return nxx_dav_error(c->req, 403, "cross-server-binding",
                             "the resource lives on another file system");
    if (e) {
        nxx_req_detail(c->req, "cannot bind '%s': %s", path, strerror(-e));
        return nxx_dav_status_of(-e);
    }
    return answer(c->req, exists);
}

/*
 * A collection is a directory at one path and symlinks at its other
 * bindings.  When the directory's own binding is removed while symlinks
 * still lead to it, the resource lives on: the directory moves to the
 * first of them (heir), the others are pointed at it, and its dead
 * properties follow.  A binding inside the collection itself (a loop back
 * to it) cannot inherit it: such a collection is unreachable once unbound.
 */
static const char *heir_of(struct nxx_dav_ctx *c, const char *path, const struct stat *st)
{
    nxx_dav_bindings_build(c);
    size_t pl = strlen(path);
    for (size_t i = 0; i < c->nbindings; i++) {
        const struct nxx_dav_binding *b = &c->bindings[i];
        if (b->dev != st->st_dev || b->ino != st->st_ino || strcmp(b->path, path) == 0)
            continue;
        if (strncmp(b->path, path, pl) == 0 && b->path[pl] == '/')
            continue; /* inside it */
        return b->path;
    }
    return NULL;
}

/* Point the symlink at lpath to the collection at to: 0 or -errno. */
static int repoint(struct nxx_dav_ctx *c, char *lpath, const char *to)
{
    char text[4096];
    if (link_text(lpath, to, text, sizeof(text)) < 0)
        return -ENAMETOOLONG;
    const char *lname;
    int ldir = nxx_dav_open_parent(c->r, lpath, &lname);
    if (ldir < 0)
        return ldir;
    char tmp[64];
    snprintf(tmp, sizeof(tmp), ".nxx-dav-link.%d", (int)getpid());
    int e = symlinkat(text, ldir, tmp) < 0 ? -errno : 0;
    if (!e && renameat(ldir, tmp, ldir, lname) < 0) {
        e = -errno;
        unlinkat(ldir, tmp, 0);
    }
    if (!e)
        fsync(ldir);
    close(ldir);
    return e;
}

static int hand_over(struct nxx_dav_ctx *c, int dir, const char *name, const char *path,
                     const char *heir, const struct stat *st)
{
    char *hpath = nxx_req_alloc(c->req, strlen(heir) + 1);
    if (!hpath)
        return -ENOMEM;
    memcpy(hpath, heir, strlen(heir) + 1);
    const char *hname;
    int hdir = nxx_dav_open_parent(c->r, hpath, &hname);
    if (hdir < 0)
        return hdir;
    /* rename(2) will not put a directory over a symlink: the link goes first */
    int e = unlinkat(hdir, hname, 0) < 0 ? -errno : 0;
    if (!e && renameat(dir, name, hdir, hname) < 0)
        e = -errno;
    if (!e) {
        fsync(hdir);
        fsync(dir);
    }
    close(hdir);
    if (e)
        return e;
    nxx_dav_props_move(c->r, path, hpath);
    for (size_t i = 0; i < c->nbindings; i++) {
        struct nxx_dav_binding *b = &c->bindings[i];
        if (b->dev == st->st_dev && b->ino == st->st_ino && strcmp(b->path, path) != 0 &&
            strcmp(b->path, hpath) != 0 &&
            !(strncmp(b->path, path, strlen(path)) == 0 && b->path[strlen(path)] == '/'))
            repoint(c, b->path, hpath); /* best effort: the resource is already safe */
    }
    return 0;
}

int nxx_dav_unbind(struct nxx_dav_ctx *c)
{
    const char *seg;
    char *path;
    int s = read_body(c, "unbind", &seg, NULL, 0);
    if (s || (s = target(c, seg, &path)) != 0)
        return s;
    struct stat st;
    if (nxx_dav_stat(c->r, path, &st) < 0) {
        nxx_req_detail(c->req, "'%s' is not bound", path);
        return 404;
    }
    if ((s = nxx_dav_check_write(c, path, 1, 1)) != 0)
        return s;
    const char *name;
    int dir = nxx_dav_open_parent(c->r, path, &name);
    if (dir < 0)
        return 404;
    struct stat lst;
    const char *heir = NULL;
    if (fstatat(dir, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(lst.st_mode))
        heir = heir_of(c, path, &lst);
    int e;
    if (heir) {
        e = hand_over(c, dir, name, path, heir, &lst);
    } else {
        /* a symlink or a hard link goes alone; a collection bound nowhere
         * else is unreachable: RFC 5842 §5 lets the server reclaim it */
        char other[PATH_MAX];
        nxx_dav_props_heir(c, path, &st, other, sizeof(other));
        e = nxx_dav_rm_tree(dir, name, 0);
        fsync(dir);
        nxx_dav_props_delete(c->r, path);
        if (!e)
            nxx_dav_props_inherit(c->r, &st, other);
    }
    close(dir);
    nxx_dav_bindings_free(c);
    nxx_dav_changed(c->r);
    nxx_dav_locks_drop(c->r, path);
    if (e) {
        nxx_req_detail(c->req, "cannot unbind '%s': %s", path, strerror(-e));
        return nxx_dav_status_of(-e);
    }
    nxx_resp_status(c->req, 200);
    return nxx_resp_send(c->req, NULL, 0, 0) ? 500 : 0;
}

int nxx_dav_rebind(struct nxx_dav_ctx *c)
{
    const char *seg;
    char *src, *path;
    int s = read_body(c, "rebind", &seg, &src, 1);
    if (s || (s = target(c, seg, &path)) != 0)
        return s;
    struct stat st;
    if (!src[0] || nxx_dav_stat(c->r, src, &st) < 0) {
        nxx_req_detail(c->req, "the binding to move, '%s', does not exist", src);
        return 409;
    }
    int exists;
    if ((s = overwrite_ok(c, path, &exists)) != 0 || (s = nxx_dav_check_write(c, src, 1, 1)) != 0 ||
        (s = nxx_dav_check_write(c, path, 1, 1)) != 0)
        return s;
    const char *name, *sname;
    int dir = nxx_dav_open_parent(c->r, path, &name);
    int sdir = nxx_dav_open_parent(c->r, src, &sname);
    int e = dir < 0 ? dir : sdir < 0 ? sdir : 0;
    if (!e && exists)
        e = nxx_dav_rm_tree(dir, name, 0);
    if (!e && renameat(sdir, sname, dir, name) < 0)
        e = -errno;
    nxx_dav_changed(c->r);
    if (!e) {
        fsync(dir);
        fsync(sdir);
        nxx_dav_props_move(c->r, src, path);
        nxx_dav_locks_drop(c->r, src);
    }
    if (dir >= 0)
        close(dir);
    if (sdir >= 0)
        close(sdir);
    if (e) {
        nxx_req_detail(c->req, "cannot rebind '%s': %s", src, strerror(-e));
        return nxx_dav_status_of(-e);
    }
    return answer(c->req, exists);
}
