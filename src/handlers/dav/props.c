/*
 * props.c - WebDAV properties (RFC 4918 §9.1, §9.2, §15): PROPFIND of the
 * live properties (from stat, the file handler's ETag, the lock table and
 * the quota) and of dead ones, which clients set with PROPPATCH and which
 * are kept durably in an SQLite database beside the data: one row per
 * (path, namespace, name) holding the value as an XML fragment in which
 * every element declares its own namespace, so it can be sent back inside
 * any document unchanged.  PROPPATCH is all-or-nothing (§9.2): one
 * transaction, and when one change cannot be made the others report 424.
 */
#include "handlers/dav/dav.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/str.h"
#include "handlers/mime.h"
#include "handlers/static.h"
#include "http/date.h"
#include "http/request.h"
#include "os/fs.h"
#include "core/banned.h"

#define MAX_MEMBERS 100000 /* members listed by one PROPFIND */

/* ---- the database ---- */

int nxx_dav_db_open(struct nxx_dav_root *r, const char *file)
{
    char path[PATH_MAX];
    if (!file) {
        if (snprintf(path, sizeof(path), "%s/.nxx-dav.db", r->root) >= (int)sizeof(path))
            return NXX_EINVAL;
        file = path;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -EACCES;
    }
    sqlite3_busy_timeout(db, 5000);
    const char *sql = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "CREATE TABLE IF NOT EXISTS prop (path TEXT NOT NULL, ns TEXT NOT NULL,"
                      " name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (path, ns, name))"
                      " WITHOUT ROWID;";
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -EIO;
    }
    sqlite3_stmt *st = NULL;
    int any = 1;
    if (sqlite3_prepare_v2(db, "SELECT EXISTS (SELECT 1 FROM prop)", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        any = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    atomic_init(&r->sh->has_props, any);
    r->sh->db = db;
    r->sh->db_full = 1;
    return 0;
}

void nxx_dav_db_sync(struct nxx_dav_state *s, int full)
{
    if (s->db_full != full &&
        sqlite3_exec(s->db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", NULL,
                     NULL, NULL) == SQLITE_OK)
        s->db_full = full;
}

void nxx_dav_db_close(struct nxx_dav_state *s)
{
    for (size_t i = 0; i < sizeof(s->lock_st) / sizeof(s->lock_st[0]); i++) {
        sqlite3_finalize(s->lock_st[i]);
        s->lock_st[i] = NULL;
    }
    if (s->db)
        sqlite3_close(s->db);
    s->db = NULL;
}

/* rel's real path under the root into out; st (when not NULL) its stat. */
static const char *resolve(const struct nxx_dav_root *r, const char *rel, char *out, size_t cap,
                           struct stat *st)
{
    int fd = nxx_os_open_beneath(r->rootfd, rel[0] ? rel : ".", O_PATH | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char abs[PATH_MAX];
    long n = nxx_os_fd_path(fd, abs, sizeof(abs));
    if (st && fstat(fd, st) < 0)
        st->st_nlink = 0;
    close(fd);
    if (n < (ssize_t)r->real_len || memcmp(abs, r->real, r->real_len) != 0 ||
        (n > (ssize_t)r->real_len && abs[r->real_len] != '/'))
        return NULL;
    size_t off = r->real_len + (n > (ssize_t)r->real_len);
    if ((size_t)n - off + 1 > cap)
        return NULL;
    memcpy(out, abs + off, (size_t)n - off);
    out[n - (ssize_t)off] = '\0';
    return out;
}

int nxx_dav_file_key(const struct stat *st, char *out, size_t cap)
{
    if (!S_ISREG(st->st_mode) || st->st_nlink < 2 || cap < 49)
        return 0;
    /* a leading '/': no relative path looks like it */
    out[0] = '/';
    nxx_dav_resource_id(st, out + 1);
    return 1;
}

const char *nxx_dav_prop_key(const struct nxx_dav_root *r, const char *rel, int full, char *out,
                             size_t cap)
{
    size_t rl = strlen(rel);
    struct stat st;
    if (full && resolve(r, rel, out, cap, &st)) {
        nxx_dav_file_key(&st, out, cap);
        return out;
    }
    const char *slash = strrchr(rel, '/');
    if (slash && (size_t)(slash - rel) < cap) {
        char parent[PATH_MAX];
        size_t pl = (size_t)(slash - rel);
        memcpy(parent, rel, pl);
        parent[pl] = '\0';
        if (resolve(r, parent, out, cap, NULL)) {
            size_t ol = strlen(out), nl = rl - pl - 1;
            if (ol + nl + 2 <= cap) {
                if (ol)
                    out[ol++] = '/';
                memcpy(out + ol, slash + 1, nl + 1);
                return out;
            }
        }
    }
    if (rl + 1 > cap)
        return rel;
    memcpy(out, rel, rl + 1);
    return out;
}

/* Run sql with ?1 = a, ?2 = b (may be NULL) under the lock. */
static void db_run(struct nxx_dav_root *r, const char *sql, const char *a, const char *b)
{
    pthread_mutex_lock(&r->sh->dbmu);
    nxx_dav_db_sync(r->sh, 1);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->sh->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
        if (b)
            sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&r->sh->dbmu);
}

#define UNDER "(path = ?1 OR substr(path, 1, length(?1) + 1) = ?1 || '/')"

void nxx_dav_props_copy(struct nxx_dav_root *r, const char *from, const char *to)
{
    db_run(r,
           "INSERT OR REPLACE INTO prop SELECT ?2 || substr(path, length(?1) + 1), ns, name, "
           "value FROM prop WHERE " UNDER,
           from, to);
}

void nxx_dav_props_move(struct nxx_dav_root *r, const char *from, const char *to)
{
    db_run(r, "UPDATE OR REPLACE prop SET path = ?2 || substr(path, length(?1) + 1) WHERE " UNDER,
           from, to);
}

void nxx_dav_props_delete(struct nxx_dav_root *r, const char *path)
{
    db_run(r, "DELETE FROM prop WHERE " UNDER, path, NULL);
}

/* ---- PROPFIND ---- */

enum {
    LP_CREATIONDATE,
    LP_DISPLAYNAME,
    LP_LENGTH,
    LP_TYPE,
    LP_ETAG,
    LP_MODIFIED,
    LP_RESTYPE,
    LP_LOCKDISC,
    LP_SUPPORTED,
    LP_QUOTA_AVAIL,
    LP_QUOTA_USED,
    LP_RESOURCE_ID,
    LP_PARENT_SET,
    LP_N
};

static const char *const live_names[LP_N] = {
    "creationdate",  "displayname",           "getcontentlength", "getcontenttype",
    "getetag",       "getlastmodified",       "resourcetype",     "lockdiscovery",
    "supportedlock", "quota-available-bytes", "quota-used-bytes", "resource-id",
    "parent-set",
};

static int live_index(const char *ns, const char *name)
{
    if (strcmp(ns, "DAV:") != 0)
        return -1;
    for (int i = 0; i < LP_N; i++)
        if (strcmp(live_names[i], name) == 0)
            return i;
    return -1;
}

/* Bytes used by the tree under dir (st_blocks would count holes; sizes are
 * what a client can compare with its own sums). */
static uint64_t tree_bytes(int dir, int depth)
{
    uint64_t sum = 0;
    DIR *d = fdopendir(dir);
    if (!d) {
        close(dir);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* hidden names (the database, uploads in progress) are not resources */
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISREG(st.st_mode))
            sum += (uint64_t)st.st_size;
        else if (S_ISDIR(st.st_mode) && depth < 256) {
            int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0)
                sum += tree_bytes(fd, depth + 1);
        }
    }
    closedir(d);
    return sum;
}

uint64_t nxx_dav_used_bytes(struct nxx_dav_root *r)
{
    int fd = openat(r->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? 0 : tree_bytes(fd, 0);
}

/* ---- DAV:parent-set (RFC 5842 §3.2) ----
 * A resource's bindings are its own path, the other hard links of a file,
 * and the symlinks (made by BIND, or by hand inside the root) that lead to
 * a collection.  Finding them takes a walk of the tree, done once per
 * PROPFIND that asks for the property (not in allprop) of a collection or
 * of a file with more than one link, and kept until it ends. */

static void binding_add(struct nxx_dav_ctx *c, const struct stat *st, const char *path)
{
    if (c->nbindings == c->bindcap) {
        size_t cap = c->bindcap ? c->bindcap * 2 : 32;
        struct nxx_dav_binding *v = nxx_realloc(c->bindings, cap * sizeof(*v));
        if (!v)
            return;
        c->bindings = v;
        c->bindcap = cap;
    }
    char *p = nxx_strdup(path);
    if (p)
        c->bindings[c->nbindings++] = (struct nxx_dav_binding){ st->st_dev, st->st_ino, p };
}

static void bindings_walk(struct nxx_dav_ctx *c, int dir, char *path, size_t len, int depth)
{
    DIR *d = fdopendir(dir);
    if (!d) {
        close(dir);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", hidden names */
        size_t nl = strlen(de->d_name);
        if (len + nl + 2 > PATH_MAX)
            continue;
        size_t keep = len;
        if (len)
            path[len++] = '/';
        memcpy(path + len, de->d_name, nl + 1);
        len += nl;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISDIR(st.st_mode)) {
                binding_add(c, &st, path);
                int fd = depth < 256 ? openat(dirfd(d), de->d_name,
                                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                                     : -1;
                if (fd >= 0)
                    bindings_walk(c, fd, path, len, depth + 1);
            } else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
                binding_add(c, &st, path);
            } else if (S_ISLNK(st.st_mode) && nxx_dav_stat(c->r, path, &st) == 0 &&
                       S_ISDIR(st.st_mode)) {
                binding_add(c, &st, path); /* a binding of a collection (one inside the root) */
            }
        }
        len = keep;
        path[len] = '\0';
    }
    closedir(d);
}

void nxx_dav_bindings_free(struct nxx_dav_ctx *c)
{
    for (size_t i = 0; i < c->nbindings; i++)
        nxx_free(c->bindings[i].path);
    nxx_free(c->bindings);
    c->bindings = NULL;
    c->nbindings = c->bindcap = 0;
    c->bindings_built = 0;
}

void nxx_dav_bindings_build(struct nxx_dav_ctx *c)
{
    if (c->bindings_built)
        return;
    c->bindings_built = 1;
    char path[PATH_MAX] = "";
    int fd = openat(c->r->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        bindings_walk(c, fd, path, 0, 0);
}

void nxx_dav_props_heir(struct nxx_dav_ctx *c, const char *rel, const struct stat *st, char *heir,
                        size_t cap)
{
    heir[0] = '\0';
    if (!S_ISREG(st->st_mode) || st->st_nlink != 2 ||
        !atomic_load_explicit(&c->r->sh->has_props, memory_order_acquire))
        return;
    int had = c->bindings_built;
    nxx_dav_bindings_build(c); /* a walk of the tree: only for a file's last but one binding */
    for (size_t i = 0; i < c->nbindings; i++) {
        const struct nxx_dav_binding *b = &c->bindings[i];
        size_t n = strlen(b->path);
        if (b->dev == st->st_dev && b->ino == st->st_ino && strcmp(b->path, rel) != 0 && n < cap) {
            memcpy(heir, b->path, n + 1);
            break;
        }
    }
    if (!had)
        nxx_dav_bindings_free(c);
}

void nxx_dav_props_inherit(struct nxx_dav_root *r, const struct stat *st, const char *heir)
{
    char from[64], to[PATH_MAX];
    if (!heir[0] || !nxx_dav_file_key(st, from, sizeof(from)))
        return;
    nxx_dav_props_move(r, from, nxx_dav_prop_key(r, heir, 1, to, sizeof(to)));
}

static void parent_one(struct nxx_dav_ctx *c, const char *path, struct nxx_dav_buf *b)
{
    const char *slash = strrchr(path, '/');
    size_t pl = slash ? (size_t)(slash - path) : 0;
    const char *seg = slash ? slash + 1 : path;
    char parent[PATH_MAX];
    memcpy(parent, path, pl);
    parent[pl] = '\0';
    nxx_dav_puts(b, "<D:parent>");
    nxx_dav_put_href(b, c->r, parent, 1);
    nxx_dav_puts(b, "<D:segment>");
    nxx_dav_put_esc(b, seg, strlen(seg));
    nxx_dav_puts(b, "</D:segment></D:parent>");
}

static void parent_set(struct nxx_dav_ctx *c, const char *rel, const struct stat *st,
                       struct nxx_dav_buf *b)
{
    nxx_dav_puts(b, "<D:parent-set>");
    if (rel[0]) /* the root is bound in no collection */
        parent_one(c, rel, b);
    if (rel[0] && (S_ISDIR(st->st_mode) || st->st_nlink > 1)) {
        nxx_dav_bindings_build(c);
        for (size_t i = 0; i < c->nbindings; i++)
            if (c->bindings[i].dev == st->st_dev && c->bindings[i].ino == st->st_ino &&
                strcmp(c->bindings[i].path, rel) != 0)
                parent_one(c, c->bindings[i].path, b);
    }
    nxx_dav_puts(b, "</D:parent-set>");
}

/* Write live property i of rel; 0 when the resource has none. */
static int live_prop(struct nxx_dav_ctx *c, const char *rel, const struct stat *st, int i,
                     struct nxx_dav_buf *b, int value)
{
    int coll = S_ISDIR(st->st_mode);
    const char *n = live_names[i];
    if ((i == LP_LENGTH || i == LP_TYPE) && coll)
        return 0;
    if ((i == LP_QUOTA_AVAIL || i == LP_QUOTA_USED) && !coll)
        return 0;
    if (!value) {
        nxx_dav_putf(b, "<D:%s/>", n);
        return 1;
    }
    char tmp[64];
    switch (i) {
    case LP_CREATIONDATE: {
        struct tm tm;
        time_t t =
            st->st_ctim.tv_sec < st->st_mtim.tv_sec ? st->st_ctim.tv_sec : st->st_mtim.tv_sec;
        gmtime_r(&t, &tm);
        strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%SZ", &tm);
        nxx_dav_putf(b, "<D:creationdate>%s</D:creationdate>", tmp);
        break;
    }
    case LP_DISPLAYNAME: {
        const char *s = strrchr(rel, '/');
        s = s ? s + 1 : rel;
        nxx_dav_puts(b, "<D:displayname>");
        nxx_dav_put_esc(b, s, strlen(s));
        nxx_dav_puts(b, "</D:displayname>");
        break;
    }
    case LP_LENGTH:
        nxx_dav_putf(b, "<D:getcontentlength>%lld</D:getcontentlength>", (long long)st->st_size);
        break;
    case LP_TYPE: {
        nxx_str t = nxx_mime_type(rel, strlen(rel));
        nxx_dav_puts(b, "<D:getcontenttype>");
        nxx_dav_put_esc(b, t.ptr, t.len);
        nxx_dav_puts(b, "</D:getcontenttype>");
        break;
    }
    case LP_ETAG: {
        size_t len = nxx_static_etag(st, tmp, sizeof(tmp));
        nxx_dav_puts(b, "<D:getetag>");
        nxx_dav_put_esc(b, tmp, len);
        nxx_dav_puts(b, "</D:getetag>");
        break;
    }
    case LP_MODIFIED: {
        char d[NXX_DATE_LEN + 1];
        nxx_date_format((int64_t)st->st_mtim.tv_sec, d);
        nxx_dav_putf(b, "<D:getlastmodified>%s</D:getlastmodified>", d);
        break;
    }
    case LP_RESTYPE:
        nxx_dav_puts(b, coll ? "<D:resourcetype><D:collection/></D:resourcetype>"
                             : "<D:resourcetype/>");
        break;
    case LP_LOCKDISC: nxx_dav_lockdiscovery(c->r, rel, b); break;
    case LP_RESOURCE_ID: {
        char id[48];
        nxx_dav_resource_id(st, id);
        nxx_dav_putf(b, "<D:resource-id><D:href>%s</D:href></D:resource-id>", id);
        break;
    }
    case LP_PARENT_SET: parent_set(c, rel, st, b); break;
    case LP_SUPPORTED:
        nxx_dav_puts(b, "<D:supportedlock><D:lockentry><D:lockscope><D:exclusive/></D:lockscope>"
                        "<D:locktype><D:write/></D:locktype></D:lockentry><D:lockentry>"
                        "<D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype>"
                        "</D:lockentry></D:supportedlock>");
        break;
    case LP_QUOTA_AVAIL:
    case LP_QUOTA_USED: {
        uint64_t used = nxx_dav_used_bytes(c->r), v;
        if (i == LP_QUOTA_USED) {
            v = used;
        } else if (c->r->quota) {
            v = used < c->r->quota ? c->r->quota - used : 0;
        } else {
            struct statvfs vfs;
            v = fstatvfs(c->r->rootfd, &vfs) == 0 ? (uint64_t)vfs.f_bavail * vfs.f_frsize : 0;
        }
        nxx_dav_putf(b, "<D:%s>%llu</D:%s>", n, (unsigned long long)v, n);
        break;
    }
    default: return 0;
    }
    return 1;
}

static void dead_open(struct nxx_dav_buf *b, const char *ns, const char *name, int empty)
{
    nxx_dav_putf(b, "<%s%s xmlns%s=\"", ns[0] ? "N:" : "", name, ns[0] ? ":N" : "");
    nxx_dav_put_esc(b, ns, strlen(ns));
    nxx_dav_puts(b, empty ? "\"/>" : "\">");
}

static void dead_close(struct nxx_dav_buf *b, const char *ns, const char *name)
{
    nxx_dav_putf(b, "</%s%s>", ns[0] ? "N:" : "", name);
}

/* Every dead property of rel (names only, or with values). */
static void dead_all(struct nxx_dav_root *r, const char *rel, struct nxx_dav_buf *b, int value)
{
    if (!atomic_load_explicit(&r->sh->has_props, memory_order_acquire))
        return; /* no dead property anywhere: no query per member */
    pthread_mutex_lock(&r->sh->dbmu);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->sh->db, "SELECT ns, name, value FROM prop WHERE path = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *ns = (const char *)sqlite3_column_text(st, 0);
            const char *name = (const char *)sqlite3_column_text(st, 1);
            const char *v = (const char *)sqlite3_column_text(st, 2);
            if (!ns || !name || !v)
                continue;
            dead_open(b, ns, name, !value || !v[0]);
            if (value && v[0]) {
                nxx_dav_puts(b, v);
                dead_close(b, ns, name);
            }
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&r->sh->dbmu);
}

/* One dead property: 1 written, 0 absent. */
static int dead_one(struct nxx_dav_root *r, const char *rel, const char *ns, const char *name,
                    struct nxx_dav_buf *b)
{
    int found = 0;
    if (!atomic_load_explicit(&r->sh->has_props, memory_order_acquire))
        return 0;
    pthread_mutex_lock(&r->sh->dbmu);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->sh->db,
                           "SELECT value FROM prop WHERE path = ?1 AND ns = ?2 AND name = ?3", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *v = (const char *)sqlite3_column_text(st, 0);
            found = 1;
            dead_open(b, ns, name, !v || !v[0]);
            if (v && v[0]) {
                nxx_dav_puts(b, v);
                dead_close(b, ns, name);
            }
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&r->sh->dbmu);
    return found;
}

enum { PF_ALLPROP, PF_PROPNAME, PF_PROP };

struct seen {
    dev_t dev;
    ino_t ino;
};

struct pf {
    struct nxx_dav_ctx *c;
    struct seen *seen; /* collections listed (clients that understand 208) */
    size_t nseen, seencap;
    int kind;
    const struct nxx_dav_xel *props; /* DAV:prop (PF_PROP) or DAV:include (allprop) */
    struct nxx_dav_buf out;
    size_t members;
    int bind; /* the client sent DAV: bind */
    int depth;
    int status;
    char loop[512]; /* the link that closes a loop (508) */
};

static void propstat_open(struct nxx_dav_buf *b)
{
    nxx_dav_puts(b, "<D:propstat><D:prop>");
}

static void propstat_close(struct nxx_dav_buf *b, int status)
{
    nxx_dav_putf(b, "</D:prop><D:status>HTTP/1.1 %d %s</D:status></D:propstat>", status,
                 nxx_status_reason(status));
}

/* via: rel goes through a symlink (a binding), so its properties' key is
 * resolved; other paths are their own key (no system call per member). */
static void response_for(struct pf *pf, const char *rel, const struct stat *st, int via)
{
    struct nxx_dav_buf *b = &pf->out;
    struct nxx_dav_ctx *c = pf->c;
    char kbuf[PATH_MAX];
    const char *key = rel;
    if (!atomic_load_explicit(&c->r->sh->has_props, memory_order_acquire))
        ; /* no dead property anywhere */
    else if (nxx_dav_file_key(st, kbuf, sizeof(kbuf)))
        key = kbuf; /* a file with several bindings: its own key, not a path's */
    else if (via)
        key = nxx_dav_prop_key(c->r, rel, 1, kbuf, sizeof(kbuf));
    nxx_dav_puts(b, "<D:response>");
    nxx_dav_put_href(b, c->r, rel, S_ISDIR(st->st_mode));
    if (pf->kind != PF_PROP) {
        propstat_open(b);
        for (int i = 0; i < LP_N; i++) {
            int is_quota = i == LP_QUOTA_AVAIL || i == LP_QUOTA_USED || i == LP_RESOURCE_ID ||
                           i == LP_PARENT_SET;
            int included = 0;
            if (pf->kind == PF_ALLPROP && pf->props)
                for (const struct nxx_dav_xel *e = pf->props->child; e; e = e->next)
                    included |= live_index(e->ns, e->name) == i;
            if (pf->kind == PF_ALLPROP && is_quota && !included)
                continue; /* RFC 4331 §3: not in allprop (nor the bindings' properties) */
            live_prop(c, rel, st, i, b, pf->kind == PF_ALLPROP);
        }
        dead_all(c->r, key, b, pf->kind == PF_ALLPROP);
        propstat_close(b, 200);
        nxx_dav_puts(b, "</D:response>");
        return;
    }
    /* found ones, then the missing ones under 404 */
    int any_missing = 0, any_found = 0;
    struct nxx_dav_buf found = { 0 };
    for (const struct nxx_dav_xel *e = pf->props->child; e; e = e->next) {
        int i = live_index(e->ns, e->name);
        int ok = i >= 0 ? live_prop(c, rel, st, i, &found, 1)
                        : dead_one(c->r, key, e->ns, e->name, &found);
        any_missing |= !ok;
        any_found |= ok;
    }
    if (any_found) {
        propstat_open(b);
        nxx_dav_put(b, found.p, found.len);
        b->oom |= found.oom;
        propstat_close(b, 200);
    }
    nxx_free(found.p);
    if (any_missing) {
        propstat_open(b);
        for (const struct nxx_dav_xel *e = pf->props->child; e; e = e->next) {
            int i = live_index(e->ns, e->name);
            struct nxx_dav_buf probe = { 0 };
            int ok = i >= 0 ? live_prop(c, rel, st, i, &probe, 0)
                            : dead_one(c->r, key, e->ns, e->name, &probe);
            nxx_free(probe.p);
            if (!ok)
                dead_open(b, e->ns, e->name, 1);
        }
        propstat_close(b, 404);
    }
    nxx_dav_puts(b, "</D:response>");
}

static void remember(struct pf *pf, const struct stat *st)
{
    if (pf->nseen == pf->seencap) {
        size_t cap = pf->seencap ? pf->seencap * 2 : 64;
        struct seen *v = nxx_realloc(pf->seen, cap * sizeof(*v));
        if (!v)
            return;
        pf->seen = v;
        pf->seencap = cap;
    }
    pf->seen[pf->nseen++] = (struct seen){ st->st_dev, st->st_ino };
}

static int walk(struct pf *pf, const char *rel, int via, int depth_left, struct seen *chain,
                int level)
{
    struct nxx_dav_root *r = pf->c->r;
    int fd = nxx_os_open_beneath(r->rootfd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    struct stat dst;
    fstat(dirfd(d), &dst);
    chain[level] = (struct seen){ dst.st_dev, dst.st_ino };
    int status = 0;
    struct dirent *de;
    while (!status && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (++pf->members > MAX_MEMBERS) {
            status = 403;
            break;
        }
        size_t rl = strlen(rel), nl = strlen(de->d_name);
        char child[PATH_MAX];
        if (rl + nl + 2 > sizeof(child))
            continue;
        if (rl) {
            memcpy(child, rel, rl);
            child[rl] = '/';
            memcpy(child + rl + 1, de->d_name, nl + 1);
        } else {
            memcpy(child, de->d_name, nl + 1);
        }
        struct stat st;
        /* a member's own stat is enough; only a symlink goes through the
         * confined lookup (it may point outside the root) */
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        int cvia = via || S_ISLNK(st.st_mode);
        if (S_ISLNK(st.st_mode) && nxx_dav_stat(r, child, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth_left > 1) {
            int loop = 0, again = 0;
            for (int k = 0; k <= level; k++)
                loop |= chain[k].dev == st.st_dev && chain[k].ino == st.st_ino;
            for (size_t k = 0; pf->bind && k < pf->nseen; k++)
                again |= pf->seen[k].dev == st.st_dev && pf->seen[k].ino == st.st_ino;
            if (loop || again) {
                if (!pf->bind) {
                    snprintf(pf->loop, sizeof(pf->loop), "%.500s", child);
                    status = 508;
                    break;
                }
                /* RFC 5842 §7.1: reported already; not listed again */
                nxx_dav_puts(&pf->out, "<D:response>");
                nxx_dav_put_href(&pf->out, r, child, 1);
                nxx_dav_puts(&pf->out, "<D:status>HTTP/1.1 208 Already Reported</D:status>"
                                       "</D:response>");
                continue;
            }
        }
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
            continue;
        response_for(pf, child, &st, cvia);
        if (S_ISDIR(st.st_mode) && pf->bind && depth_left > 1)
            remember(pf, &st);
        if (S_ISDIR(st.st_mode) && depth_left > 1 && level < 62)
            status = walk(pf, child, cvia, depth_left - 1, chain, level + 1);
    }
    closedir(d);
    return status;
}

static void propfind_work(struct nxx_dav_job *j)
{
    struct pf *pf = j->p;
    struct nxx_dav_ctx *c = j->c;
    struct stat st;
    if (nxx_dav_stat(c->r, c->rel, &st) < 0) {
        pf->status = 404;
        return;
    }
    nxx_dav_puts(&pf->out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                           "<D:multistatus xmlns:D=\"DAV:\">");
    response_for(pf, c->rel, &st, 1);
    if (pf->depth > 0 && S_ISDIR(st.st_mode)) {
        struct seen chain[64];
        if (pf->bind)
            remember(pf, &st);
        /* members are resolved only when the collection's own path goes
         * through a binding (or they are bindings themselves) */
        char kbuf[PATH_MAX];
        int via = strcmp(nxx_dav_prop_key(c->r, c->rel, 1, kbuf, sizeof(kbuf)), c->rel) != 0;
        pf->status = walk(pf, c->rel, via, pf->depth, chain, 0);
        nxx_free(pf->seen);
        pf->seen = NULL;
    }
    nxx_dav_bindings_free(c);
    nxx_dav_puts(&pf->out, "</D:multistatus>\n");
}

static int propfind_answer(struct nxx_dav_job *j)
{
    struct pf *pf = j->p;
    nxx_req *req = j->c->req;
    if (pf->status) {
        nxx_free(pf->out.p);
        if (pf->status == 508) {
            nxx_req_detail(req, "'%s' leads back to a collection above it (a loop)", pf->loop);
            return nxx_dav_error(req, 508, "loop-detected", req->detail);
        }
        if (pf->status == 403)
            nxx_req_detail(req, "more than %d members to list; ask with a smaller Depth",
                           MAX_MEMBERS);
        return pf->status;
    }
    return nxx_dav_send_xml(req, 207, &pf->out);
}

static int client_binds(nxx_req *req)
{
    nxx_str dav = nxx_req_header_list(req, "dav");
    for (size_t i = 0; i + 4 <= dav.len; i++)
        if ((i == 0 || dav.ptr[i - 1] == ' ' || dav.ptr[i - 1] == ',') &&
            strncasecmp(dav.ptr + i, "bind", 4) == 0 &&
            (i + 4 == dav.len || dav.ptr[i + 4] == ',' || dav.ptr[i + 4] == ' '))
            return 1;
    return 0;
}

int nxx_dav_propfind(struct nxx_dav_ctx *c)
{
    nxx_req *req = c->req;
    struct stat st;
    if (nxx_dav_stat(c->r, c->rel, &st) < 0)
        return 404;
    nxx_str depth = nxx_req_header(req, "depth");
    int d = 1 << 30;
    if (depth.len == 1 && depth.ptr[0] == '0')
        d = 0;
    else if (depth.len == 1 && depth.ptr[0] == '1')
        d = 1;
    else if (depth.len && !NXX_STR_IEQ(depth, "infinity")) {
        nxx_req_detail(req, "Depth is 0, 1 or infinity");
        return 400;
    }
    if (d > 1 && !c->r->depth_infinity)
        return nxx_dav_error(req, 403, "propfind-finite-depth",
                             "PROPFIND with Depth: infinity is not allowed here");
    struct pf pf;
    memset(&pf, 0, sizeof(pf));
    pf.c = c;
    pf.kind = PF_ALLPROP;
    pf.bind = client_binds(req);
    const struct nxx_dav_xel *root = nxx_dav_xml_root(c->xml);
    if (root) {
        if (!nxx_dav_xel_is(root, "DAV:", "propfind")) {
            nxx_req_detail(req, "the PROPFIND body is not a DAV:propfind element");
            return 400;
        }
        const struct nxx_dav_xel *e;
        if ((e = nxx_dav_xel_find(root, "DAV:", "prop")) != NULL) {
            pf.kind = PF_PROP;
            pf.props = e;
        } else if (nxx_dav_xel_find(root, "DAV:", "propname")) {
            pf.kind = PF_PROPNAME;
        } else if (nxx_dav_xel_find(root, "DAV:", "allprop")) {
            pf.props = nxx_dav_xel_find(root, "DAV:", "include");
        } else {
            nxx_req_detail(req, "DAV:propfind holds none of prop, propname, allprop");
            return 400;
        }
    }
    pf.depth = d;
    /* one resource: here; members to list (10,000 of them take tens of
     * milliseconds): on a thread of their own */
    if (d == 0 || !S_ISDIR(st.st_mode)) {
        struct nxx_dav_job j;
        memset(&j, 0, sizeof(j));
        j.c = c;
        j.p = &pf;
        propfind_work(&j);
        return propfind_answer(&j);
    }
    struct pf *keep = nxx_req_alloc(req, sizeof(*keep));
    struct nxx_dav_job *j = nxx_req_alloc(req, sizeof(*j));
    if (!keep || !j)
        return 500;
    *keep = pf;
    memset(j, 0, sizeof(*j));
    j->c = c;
    j->p = keep;
    j->work = propfind_work;
    j->answer = propfind_answer;
    return nxx_dav_job_start(j);
}

/* ---- PROPPATCH ---- */

/* The content of a property element as a fragment that declares its own
 * namespaces (text first, then the child elements). */
static void fragment(struct nxx_dav_buf *b, const struct nxx_dav_xel *e)
{
    if (e->text_len)
        nxx_dav_put_esc(b, e->text, e->text_len);
    for (const struct nxx_dav_xel *k = e->child; k; k = k->next) {
        nxx_dav_putf(b, "<%s xmlns=\"", k->name);
        nxx_dav_put_esc(b, k->ns, strlen(k->ns));
        nxx_dav_puts(b, "\">");
        fragment(b, k);
        nxx_dav_putf(b, "</%s>", k->name);
    }
}

struct op {
    const struct nxx_dav_xel *prop;
    int remove;
    int status;
};

#define MAX_OPS 256

int nxx_dav_proppatch(struct nxx_dav_ctx *c)
{
    nxx_req *req = c->req;
    struct stat st;
    if (nxx_dav_stat(c->r, c->rel, &st) < 0)
        return 404;
    const struct nxx_dav_xel *root = nxx_dav_xml_root(c->xml);
    if (!nxx_dav_xel_is(root, "DAV:", "propertyupdate")) {
        nxx_req_detail(req, "the PROPPATCH body is not a DAV:propertyupdate element");
        return 400;
    }
    int s = nxx_dav_check_write(c, c->rel, 0, 0);
    if (s)
        return s;
    struct op *ops = nxx_req_alloc(req, MAX_OPS * sizeof(*ops));
    size_t n = 0;
    int failed = 0;
    if (!ops)
        return 500;
    for (const struct nxx_dav_xel *u = root->child; u; u = u->next) {
        int remove = nxx_dav_xel_is(u, "DAV:", "remove");
        if (!remove && !nxx_dav_xel_is(u, "DAV:", "set"))
            continue;
        const struct nxx_dav_xel *p = nxx_dav_xel_find(u, "DAV:", "prop");
        for (const struct nxx_dav_xel *e = p ? p->child : NULL; e; e = e->next) {
            if (n == MAX_OPS) {
                nxx_req_detail(req, "more than %d property changes", MAX_OPS);
                return 400;
            }
            ops[n] = (struct op){ e, remove, 200 };
            if (live_index(e->ns, e->name) >= 0) {
                ops[n].status = 403; /* RFC 4918 §16: cannot-modify-protected-property */
                failed = 1;
            }
            n++;
        }
    }
    if (n == 0) {
        nxx_req_detail(req, "DAV:propertyupdate names no property");
        return 400;
    }
    char kbuf[PATH_MAX];
    const char *key = nxx_dav_prop_key(c->r, c->rel, 1, kbuf, sizeof(kbuf));
    if (!failed) {
        pthread_mutex_lock(&c->r->sh->dbmu);
        nxx_dav_db_sync(c->r->sh, 1); /* a 207 means the properties are on disk */
        int ok = sqlite3_exec(c->r->sh->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
        for (size_t i = 0; ok && i < n; i++) {
            const struct nxx_dav_xel *e = ops[i].prop;
            sqlite3_stmt *q = NULL;
            const char *sql = ops[i].remove
                                  ? "DELETE FROM prop WHERE path = ?1 AND ns = ?2 AND name = ?3"
                                  : "INSERT OR REPLACE INTO prop VALUES (?1, ?2, ?3, ?4)";
            struct nxx_dav_buf v = { 0 };
            if (!ops[i].remove) {
                fragment(&v, e);
                nxx_dav_put(&v, "", 1);
            }
            ok = !v.oom && sqlite3_prepare_v2(c->r->sh->db, sql, -1, &q, NULL) == SQLITE_OK;
            if (ok) {
                sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 2, e->ns, -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 3, e->name, -1, SQLITE_STATIC);
                if (!ops[i].remove)
                    sqlite3_bind_text(q, 4, v.p ? v.p : "", -1, SQLITE_STATIC);
                ok = sqlite3_step(q) == SQLITE_DONE;
            }
            sqlite3_finalize(q);
            nxx_free(v.p);
        }
        int full = 0;
        if (ok)
            atomic_store(&c->r->sh->has_props, 1); /* before the commit: never a stale "none" */
        if (ok)
            ok = sqlite3_exec(c->r->sh->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
        if (!ok) {
            full = sqlite3_errcode(c->r->sh->db) == SQLITE_FULL;
            sqlite3_exec(c->r->sh->db, "ROLLBACK", NULL, NULL, NULL);
        }
        pthread_mutex_unlock(&c->r->sh->dbmu);
        if (!ok) {
            if (full)
                return nxx_dav_error(req, 507, "quota-not-exceeded",
                                     "no space left to store the properties");
            nxx_req_detail(req, "the properties could not be stored");
            return 500;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            if (ops[i].status == 200)
                ops[i].status = 424; /* RFC 4918 §9.2: not made because another failed */
    }
    struct nxx_dav_buf b = { 0 };
    nxx_dav_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\">"
                     "<D:response>");
    nxx_dav_put_href(&b, c->r, c->rel, S_ISDIR(st.st_mode));
    static const int order[] = { 200, 403, 424 };
    for (size_t k = 0; k < 3; k++) {
        int any = 0;
        for (size_t i = 0; i < n; i++) {
            if (ops[i].status != order[k])
                continue;
            if (!any)
                propstat_open(&b);
            any = 1;
            dead_open(&b, ops[i].prop->ns, ops[i].prop->name, 1);
        }
        if (any)
            propstat_close(&b, order[k]);
    }
    if (failed)
        nxx_dav_puts(&b, "<D:responsedescription>a protected (live) property cannot be set or "
                         "removed; nothing was changed</D:responsedescription>");
    nxx_dav_puts(&b, "</D:response></D:multistatus>\n");
    return nxx_dav_send_xml(req, 207, &b);
}
