/*
 * lock.c - WebDAV locks (RFC 4918 §6, §7, §9.10, §9.11) and the If header
 * (§10.4).
 *
 * A lock is a token (a urn:uuid URN, §6.5), the path of its root, a depth
 * (0 or infinity), a scope (exclusive or shared), the owner the client
 * gave, and a timeout.  Locks live in a table per root, under the root's
 * mutex, and expire lazily (each look at the table drops expired ones).
 * LOCK of an unmapped URL creates an empty resource (§7.3, 201).
 *
 * Every write runs nxx_dav_check_write(): first the If header must be true
 * (412), then each lock that covers what the write changes (the resource,
 * its members for DELETE and MOVE, its parent collection when members are
 * added or removed) must have its token submitted in the If header (423
 * with DAV:lock-token-submitted naming the lock's root).
 */
#include "handlers/dav/dav.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "handlers/static.h"
#include "http/path.h"
#include "http/request.h"
#include "os/fs.h"
#include "os/random.h"
#include "core/banned.h"

#define MAX_LOCKS 100000

/* ---- the locks' copy in the database ----
 * The table in memory is authoritative: it answers every check, under mu,
 * and never waits for the disk.  Each change is written through to SQLite
 * before its answer, under dbmu (taken before mu, so rows change in the
 * order the table did, and released after the commit), and a restart
 * loads the locks that have not expired, so a client's token stays good
 * across it.
 *
 * The row is committed as the location's `sync` says.  With data (the
 * default) or none, synchronous=NORMAL in WAL mode: the commit is a write
 * to the log, no fdatasync, so a lock survives a reload, a restart and a
 * crash of nxx (kill -9), and only a crash of the machine (power, kernel)
 * can lose the locks taken or released since the log was last synced (at a
 * checkpoint, or any commit of dead properties).  Locks are soft state
 * with timeouts (RFC 4918 §6.6), so that is the bargain Apache's mod_dav_fs
 * does not make: it syncs its lock database twice per LOCK or UNLOCK.
 * With full, synchronous=FULL: one fdatasync of the log per LOCK, refresh
 * or UNLOCK, and none is lost.  Dead properties are always synced: a 207 of
 * PROPPATCH means they are on disk (props.c).
 */
enum { ST_PUT, ST_DEL, ST_TOUCH, ST_DROP, ST_SWEEP };

static sqlite3_stmt *lock_stmt(struct nxx_dav_state *sh, int i)
{
    static const char *const sql[] = {
        [ST_PUT] = "INSERT OR REPLACE INTO lock (token, path, owner, depth_inf, shared, "
                   "timeout_s, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [ST_DEL] = "DELETE FROM lock WHERE token = ?1",
        [ST_TOUCH] = "UPDATE lock SET timeout_s = ?2, expires = ?3 WHERE token = ?1",
        [ST_DROP] = "DELETE FROM lock WHERE ?1 = '' OR path = ?1 OR "
                    "substr(path, 1, length(?1) + 1) = ?1 || '/'",
        [ST_SWEEP] = "DELETE FROM lock WHERE expires > 0 AND expires <= ?1",
    };
    if (!sh->lock_st[i])
        sqlite3_prepare_v3(sh->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &sh->lock_st[i], NULL);
    return sh->lock_st[i];
}

/* Take dbmu and set the commit mode (before taking mu). */
static void db_enter(struct nxx_dav_root *r)
{
    pthread_mutex_lock(&r->sh->dbmu);
    nxx_dav_db_sync(r->sh, r->sync == NXX_DAV_SYNC_FULL);
}

/* Commit st (its values bound) and release dbmu.  Rows of locks that
 * expired in memory go every 256 writes (and at each start). */
static void db_leave(struct nxx_dav_root *r, sqlite3_stmt *st)
{
    struct nxx_dav_state *sh = r->sh;
    if (st) {
        if (sqlite3_step(st) != SQLITE_DONE)
            nxx_log_warn("dav: a lock's row was not written: %s", sqlite3_errmsg(sh->db));
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if ((++sh->lock_writes & 255) == 0 && (st = lock_stmt(sh, ST_SWEEP)) != NULL) {
        sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&sh->dbmu);
}

static sqlite3_stmt *db_token(struct nxx_dav_root *r, int which, const char *token)
{
    sqlite3_stmt *st = lock_stmt(r->sh, which);
    if (st)
        sqlite3_bind_text(st, 1, token, -1, SQLITE_TRANSIENT);
    return st;
}

int nxx_dav_locks_load(struct nxx_dav_root *r)
{
    int64_t now = (int64_t)time(NULL);
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(r->sh->db,
                     "CREATE TABLE IF NOT EXISTS lock (token TEXT PRIMARY KEY, path TEXT NOT NULL, "
                     "owner TEXT, depth_inf INTEGER, shared INTEGER, timeout_s INTEGER, "
                     "expires INTEGER) WITHOUT ROWID",
                     NULL, NULL, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_stmt *del = NULL;
    if (sqlite3_prepare_v2(r->sh->db, "DELETE FROM lock WHERE expires > 0 AND expires <= ?1", -1,
                           &del, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(del, 1, now);
        sqlite3_step(del);
    }
    sqlite3_finalize(del);
    if (sqlite3_prepare_v2(r->sh->db,
                           "SELECT token, path, owner, depth_inf, shared, timeout_s, expires "
                           "FROM lock",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    int err = 0;
    while (!err && sqlite3_step(st) == SQLITE_ROW) {
        const char *tok = (const char *)sqlite3_column_text(st, 0);
        const char *path = (const char *)sqlite3_column_text(st, 1);
        const char *owner = (const char *)sqlite3_column_text(st, 2);
        if (!tok || !path || strlen(tok) >= sizeof(r->sh->locks[0].token))
            continue;
        if (r->sh->nlocks == r->sh->lockcap) {
            size_t cap = r->sh->lockcap ? r->sh->lockcap * 2 : 16;
            struct nxx_dav_lock *v = nxx_realloc(r->sh->locks, cap * sizeof(*v));
            if (!v) {
                err = NXX_ENOMEM;
                break;
            }
            r->sh->locks = v;
            r->sh->lockcap = cap;
        }
        struct nxx_dav_lock *l = &r->sh->locks[r->sh->nlocks];
        memset(l, 0, sizeof(*l));
        memcpy(l->token, tok, strlen(tok) + 1);
        l->path = nxx_strdup(path);
        l->owner = owner ? nxx_strdup(owner) : NULL;
        l->depth_inf = sqlite3_column_int(st, 3);
        l->shared = sqlite3_column_int(st, 4);
        l->timeout_s = (unsigned)sqlite3_column_int64(st, 5);
        l->expires = sqlite3_column_int64(st, 6);
        if (!l->path) {
            nxx_free(l->owner);
            err = NXX_ENOMEM;
            break;
        }
        r->sh->nlocks++;
    }
    sqlite3_finalize(st);
    return err;
}

/* ---- the table (callers hold r->sh->mu) ---- */

/* The table only: the caller writes the row (expired ones are swept). */
static void lock_remove_at(struct nxx_dav_root *r, size_t i)
{
    nxx_free(r->sh->locks[i].path);
    nxx_free(r->sh->locks[i].owner);
    r->sh->locks[i] = r->sh->locks[--r->sh->nlocks];
}

static void expire(struct nxx_dav_root *r, int64_t now)
{
    for (size_t i = 0; i < r->sh->nlocks;)
        if (r->sh->locks[i].expires && r->sh->locks[i].expires <= now)
            lock_remove_at(r, i);
        else
            i++;
}

/* is path equal to or below base? */
static int is_under(const char *path, const char *base)
{
    size_t n = strlen(base);
    if (!n)
        return 1;
    return strncmp(path, base, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Does lock l cover path (its root, or below a depth-infinity lock)? */
static int covers(const struct nxx_dav_lock *l, const char *path)
{
    if (strcmp(l->path, path) == 0)
        return 1;
    return l->depth_inf && is_under(path, l->path);
}

static struct nxx_dav_lock *find_token(struct nxx_dav_root *r, const char *tok, size_t len)
{
    for (size_t i = 0; i < r->sh->nlocks; i++)
        if (strlen(r->sh->locks[i].token) == len && memcmp(r->sh->locks[i].token, tok, len) == 0)
            return &r->sh->locks[i];
    return NULL;
}

void nxx_dav_locks_drop(struct nxx_dav_root *r, const char *rel)
{
    int any = 0;
    db_enter(r);
    pthread_mutex_lock(&r->sh->mu);
    for (size_t i = 0; i < r->sh->nlocks;)
        if (is_under(r->sh->locks[i].path, rel)) {
            lock_remove_at(r, i);
            any = 1;
        } else {
            i++;
        }
    pthread_mutex_unlock(&r->sh->mu);
    db_leave(r, any ? db_token(r, ST_DROP, rel) : NULL);
}

static void activelock(struct nxx_dav_root *r, const struct nxx_dav_lock *l, struct nxx_dav_buf *b,
                       int64_t now)
{
    nxx_dav_putf(b,
                 "<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:%s/>"
                 "</D:lockscope><D:depth>%s</D:depth>",
                 l->shared ? "shared" : "exclusive", l->depth_inf ? "infinity" : "0");
    if (l->owner)
        nxx_dav_putf(b, "<D:owner>%s</D:owner>", l->owner);
    if (l->expires)
        nxx_dav_putf(b, "<D:timeout>Second-%lld</D:timeout>",
                     (long long)(l->expires > now ? l->expires - now : 0));
    else
        nxx_dav_puts(b, "<D:timeout>Infinite</D:timeout>");
    nxx_dav_putf(b, "<D:locktoken><D:href>%s</D:href></D:locktoken><D:lockroot>", l->token);
    nxx_dav_put_href(b, r, l->path, 0);
    nxx_dav_puts(b, "</D:lockroot></D:activelock>");
}

void nxx_dav_lockdiscovery(struct nxx_dav_root *r, const char *rel, struct nxx_dav_buf *b)
{
    int64_t now = (int64_t)time(NULL);
    nxx_dav_puts(b, "<D:lockdiscovery>");
    pthread_mutex_lock(&r->sh->mu);
    expire(r, now);
    for (size_t i = 0; i < r->sh->nlocks; i++)
        if (covers(&r->sh->locks[i], rel))
            activelock(r, &r->sh->locks[i], b, now);
    pthread_mutex_unlock(&r->sh->mu);
    nxx_dav_puts(b, "</D:lockdiscovery>");
}

/* ---- the If header ---- */

int nxx_dav_if_read(struct nxx_dav_ctx *c)
{
    nxx_str v = nxx_req_header_list(c->req, "if");
    if (!v.len)
        return 0;
    const char *why = NULL;
    if (nxx_dav_if_parse(v.ptr, v.len, &c->ifh, &why) != 0) {
        nxx_req_detail(c->req, "the If field %s", why);
        return 400;
    }
    c->has_if = 1;
    return 0;
}

/* The relative path a Resource-Tag names; NULL when it is not under this root. */
static char *tag_path(struct nxx_dav_ctx *c, nxx_str tag)
{
    const char *p = tag.ptr, *end = tag.ptr + tag.len;
    if (*p != '/') {
        const char *s = memchr(p, ':', tag.len);
        if (!s || end - s < 3 || s[1] != '/' || s[2] != '/')
            return NULL;
        s += 3;
        s = memchr(s, '/', (size_t)(end - s));
        if (!s)
            return NULL;
        p = s;
    }
    size_t len = (size_t)(end - p);
    char *path = nxx_req_alloc(c->req, len + 1);
    size_t plen = 0;
    const char *why;
    if (!path || nxx_path_normalize(p, len, path, &plen, &why) != 0)
        return NULL;
    struct nxx_dav_root *r = c->r;
    if (plen < r->prefix_len || memcmp(path, r->prefix, r->prefix_len) != 0)
        return NULL;
    char *rel = path + r->prefix_len;
    while (*rel == '/')
        rel++;
    size_t rl = strlen(rel);
    while (rl && rel[rl - 1] == '/')
        rel[--rl] = '\0';
    return rel;
}

static int etag_match(const struct nxx_dav_root *r, const char *rel, nxx_str want)
{
    struct stat st;
    if (nxx_dav_stat(r, rel, &st) < 0)
        return 0;
    char tmp[64];
    size_t n = nxx_static_etag(&st, tmp, sizeof(tmp));
    /* weak comparison (RFC 9110 §8.8.3.2): W/ is ignored on either side */
    if (want.len > 2 && want.ptr[0] == 'W' && want.ptr[1] == '/') {
        want.ptr += 2;
        want.len -= 2;
    }
    return n == want.len && memcmp(tmp, want.ptr, n) == 0;
}

/* caller holds r->sh->mu */
static int list_true(struct nxx_dav_ctx *c, const struct nxx_dav_if_list *l, const char *res)
{
    for (size_t k = 0; k < l->n; k++) {
        const struct nxx_dav_if_cond *cd = &c->ifh.conds[l->first + k];
        int t;
        if (cd->is_etag) {
            t = etag_match(c->r, res, cd->value);
        } else {
            struct nxx_dav_lock *lk = find_token(c->r, cd->value.ptr, cd->value.len);
            t = lk && covers(lk, res);
        }
        if (t == cd->negated)
            return 0;
    }
    return 1;
}

/* RFC 4918 §10.4.3: the header is true when one of its lists is; a tagged
 * list speaks about its own resource.  Caller holds r->sh->mu. */
static int if_true(struct nxx_dav_ctx *c)
{
    for (size_t i = 0; i < c->ifh.nlists; i++) {
        const struct nxx_dav_if_list *l = &c->ifh.lists[i];
        const char *res = c->rel;
        if (l->tag.len) {
            res = tag_path(c, l->tag);
            if (!res)
                continue;
        }
        if (list_true(c, l, res))
            return 1;
    }
    return 0;
}

/* Was the token of l submitted (in a condition of the If header that is not negated)? */
static int submitted(const struct nxx_dav_ctx *c, const struct nxx_dav_lock *l)
{
    size_t tl = strlen(l->token);
    for (size_t i = 0; i < c->ifh.nconds; i++) {
        const struct nxx_dav_if_cond *cd = &c->ifh.conds[i];
        if (!cd->is_etag && !cd->negated && cd->value.len == tl &&
            memcmp(cd->value.ptr, l->token, tl) == 0)
            return 1;
    }
    return 0;
}

int nxx_dav_check_if(struct nxx_dav_ctx *c)
{
    if (!c->has_if)
        return 0;
    pthread_mutex_lock(&c->r->sh->mu);
    expire(c->r, (int64_t)time(NULL));
    int ok = if_true(c);
    pthread_mutex_unlock(&c->r->sh->mu);
    if (!ok) {
        nxx_req_detail(c->req, "the If field's conditions are all false");
        return 412;
    }
    return 0;
}

static char *parent_of(nxx_req *req, const char *rel)
{
    const char *s = strrchr(rel, '/');
    size_t n = s ? (size_t)(s - rel) : 0;
    char *p = nxx_req_alloc(req, n + 1);
    if (p) {
        memcpy(p, rel, n);
        p[n] = '\0';
    }
    return p;
}

int nxx_dav_check_write(struct nxx_dav_ctx *c, const char *rel, int members, int parent)
{
    int s = nxx_dav_check_if(c);
    if (s)
        return s;
    char *par = parent && rel[0] ? parent_of(c->req, rel) : NULL;
    struct nxx_dav_root *r = c->r;
    char root[4096];
    int blocked = 0;
    pthread_mutex_lock(&r->sh->mu);
    for (size_t i = 0; i < r->sh->nlocks && !blocked; i++) {
        const struct nxx_dav_lock *l = &r->sh->locks[i];
        int hit = covers(l, rel) || (members && is_under(l->path, rel)) ||
                  (par && (strcmp(l->path, par) == 0 || covers(l, par)));
        if (hit && !submitted(c, l)) {
            blocked = 1;
            snprintf(root, sizeof(root), "%s", l->path);
        }
    }
    pthread_mutex_unlock(&r->sh->mu);
    if (!blocked)
        return 0;
    c->cond = "lock-token-submitted";
    char *href = nxx_req_alloc(c->req, strlen(root) + 1);
    if (href)
        memcpy(href, root, strlen(root) + 1);
    c->cond_href = href;
    nxx_req_detail(c->req, "'%s' is locked and its lock token was not submitted", root);
    return 423;
}

/* ---- LOCK and UNLOCK ---- */

static unsigned timeout_of(struct nxx_dav_ctx *c)
{
    /* RFC 4918 §10.7: "Infinite" or "Second-N", a list; the first we take wins */
    nxx_str t = nxx_req_header(c->req, "timeout");
    unsigned max = c->r->max_timeout_s;
    const char *p = t.ptr, *end = t.ptr + t.len;
    while (p && p < end) {
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        if (end - p >= 8 && strncasecmp(p, "Infinite", 8) == 0)
            return max;
        if (end - p > 7 && strncasecmp(p, "Second-", 7) == 0) {
            unsigned long long v = 0;
            const char *q = p + 7;
            while (q < end && *q >= '0' && *q <= '9' && v < 1000000000ull)
                v = v * 10 + (unsigned)(*q++ - '0');
            if (q > p + 7)
                return v && v < max ? (unsigned)v : max;
        }
        while (p < end && *p != ',')
            p++;
    }
    return max;
}

static void new_token(char out[48])
{
    unsigned char u[16];
    if (nxx_os_random(u, sizeof(u), 0) < 0) {
        static unsigned long long n;
        unsigned long long t = (unsigned long long)time(NULL) ^ (++n << 20);
        memcpy(u, &t, 8);
        memcpy(u + 8, &n, 8);
    }
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* RFC 9562 version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
    snprintf(out, 48,
             "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

static void owner_xml(struct nxx_dav_buf *b, const struct nxx_dav_xel *e)
{
    if (e->text_len)
        nxx_dav_put_esc(b, e->text, e->text_len);
    for (const struct nxx_dav_xel *k = e->child; k; k = k->next) {
        nxx_dav_putf(b, "<%s xmlns=\"", k->name);
        nxx_dav_put_esc(b, k->ns, strlen(k->ns));
        nxx_dav_puts(b, "\">");
        owner_xml(b, k);
        nxx_dav_putf(b, "</%s>", k->name);
    }
}

static int answer_lock(struct nxx_dav_ctx *c, const struct nxx_dav_lock *copy, int status)
{
    struct nxx_dav_buf b = { 0 };
    nxx_dav_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                     "<D:prop xmlns:D=\"DAV:\"><D:lockdiscovery>");
    activelock(c->r, copy, &b, (int64_t)time(NULL));
    nxx_dav_puts(&b, "</D:lockdiscovery></D:prop>\n");
    char hdr[64];
    int n = snprintf(hdr, sizeof(hdr), "<%s>", copy->token);
    if (status != 200 || c->body_len)
        nxx_resp_header(c->req, "Lock-Token", (nxx_str){ hdr, (size_t)n });
    return nxx_dav_send_xml(c->req, status, &b);
}

static int refresh(struct nxx_dav_ctx *c)
{
    /* RFC 4918 §9.10.2: no body, the lock named in If */
    if (!c->has_if) {
        nxx_req_detail(c->req, "a LOCK refresh needs the lock token in an If field");
        return 400;
    }
    struct nxx_dav_root *r = c->r;
    int64_t now = (int64_t)time(NULL);
    unsigned t = timeout_of(c);
    struct nxx_dav_lock copy;
    int found = 0;
    db_enter(r);
    pthread_mutex_lock(&r->sh->mu);
    expire(r, now);
    for (size_t i = 0; i < c->ifh.nconds && !found; i++) {
        const struct nxx_dav_if_cond *cd = &c->ifh.conds[i];
        struct nxx_dav_lock *l = cd->is_etag ? NULL : find_token(r, cd->value.ptr, cd->value.len);
        if (l && covers(l, c->rel)) {
            l->timeout_s = t;
            l->expires = t ? now + t : 0;
            copy = *l;
            copy.path = nxx_req_alloc(c->req, strlen(l->path) + 1);
            copy.owner = NULL;
            if (copy.path)
                memcpy(copy.path, l->path, strlen(l->path) + 1);
            found = copy.path != NULL;
        }
    }
    pthread_mutex_unlock(&r->sh->mu);
    sqlite3_stmt *st = found ? db_token(r, ST_TOUCH, copy.token) : NULL;
    if (st) {
        sqlite3_bind_int64(st, 2, copy.timeout_s);
        sqlite3_bind_int64(st, 3, copy.expires);
    }
    db_leave(r, st);
    if (!found) {
        nxx_req_detail(c->req, "no lock of the If field covers this resource");
        return 412;
    }
    return answer_lock(c, &copy, 200);
}

int nxx_dav_lock(struct nxx_dav_ctx *c)
{
    nxx_req *req = c->req;
    struct nxx_dav_root *r = c->r;
    const struct nxx_dav_xel *root = nxx_dav_xml_root(c->xml);
    if (!root)
        return refresh(c);
    if (!nxx_dav_xel_is(root, "DAV:", "lockinfo")) {
        nxx_req_detail(req, "the LOCK body is not a DAV:lockinfo element");
        return 400;
    }
    const struct nxx_dav_xel *scope = nxx_dav_xel_find(root, "DAV:", "lockscope");
    const struct nxx_dav_xel *type = nxx_dav_xel_find(root, "DAV:", "locktype");
    const struct nxx_dav_xel *owner = nxx_dav_xel_find(root, "DAV:", "owner");
    if (!scope || !type || !nxx_dav_xel_find(type, "DAV:", "write")) {
        nxx_req_detail(req, "DAV:lockinfo needs a lockscope and a write locktype");
        return 400;
    }
    int shared = nxx_dav_xel_find(scope, "DAV:", "shared") != NULL;
    if (!shared && !nxx_dav_xel_find(scope, "DAV:", "exclusive")) {
        nxx_req_detail(req, "the lockscope is neither exclusive nor shared");
        return 400;
    }
    nxx_str depth = nxx_req_header(req, "depth");
    int inf = 1;
    if (depth.len == 1 && depth.ptr[0] == '0')
        inf = 0;
    else if (depth.len && !NXX_STR_IEQ(depth, "infinity")) {
        nxx_req_detail(req, "LOCK takes Depth: 0 or infinity");
        return 400;
    }
    int s = nxx_dav_check_if(c);
    if (s)
        return s;
    struct stat st;
    int exists = nxx_dav_stat(r, c->rel, &st) == 0;
    if (!exists) {
        /* RFC 4918 §7.3: an unmapped URL becomes an empty resource */
        s = nxx_dav_check_write(c, c->rel, 0, 1);
        if (s)
            return s;
        char *slash = strrchr(c->rel, '/');
        int dir;
        const char *name = c->rel;
        if (slash) {
            *slash = '\0';
            dir = nxx_os_open_beneath(r->rootfd, c->rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            *slash = '/';
            name = slash + 1;
        } else {
            dir = nxx_os_open_beneath(r->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (dir < 0) {
            nxx_req_detail(req, "the parent collection of '%s' does not exist", c->rel);
            return 409;
        }
        int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        int e = fd < 0 ? errno : 0;
        if (fd >= 0) {
            if (r->sync != NXX_DAV_SYNC_NONE) {
                fsync(fd);
                fsync(dir);
            }
            close(fd);
            nxx_dav_changed(r);
        }
        close(dir);
        if (e && e != EEXIST) {
            nxx_req_detail(req, "cannot create '%s': %s", c->rel, strerror(e));
            return e == ENOSPC ? 507 : 500;
        }
    }
    struct nxx_dav_buf ob = { 0 };
    if (owner)
        owner_xml(&ob, owner);
    unsigned t = timeout_of(c);
    int64_t now = (int64_t)time(NULL);
    struct nxx_dav_lock nl;
    memset(&nl, 0, sizeof(nl));
    new_token(nl.token);
    nl.depth_inf = inf;
    nl.shared = shared;
    nl.timeout_s = t;
    nl.expires = t ? now + t : 0;
    db_enter(r);
    pthread_mutex_lock(&r->sh->mu);
    expire(r, now);
    int conflict = 0;
    for (size_t i = 0; i < r->sh->nlocks && !conflict; i++) {
        const struct nxx_dav_lock *l = &r->sh->locks[i];
        int overlap = covers(l, c->rel) || (inf && is_under(l->path, c->rel));
        if (overlap && (!shared || !l->shared))
            conflict = 1;
    }
    int err = conflict ? 423 : r->sh->nlocks >= MAX_LOCKS ? 503 : 0;
    if (!err && r->sh->nlocks == r->sh->lockcap) {
        size_t cap = r->sh->lockcap ? r->sh->lockcap * 2 : 16;
        struct nxx_dav_lock *v = nxx_realloc(r->sh->locks, cap * sizeof(*v));
        if (!v)
            err = 500;
        else {
            r->sh->locks = v;
            r->sh->lockcap = cap;
        }
    }
    if (!err) {
        nl.path = nxx_strdup(c->rel);
        nl.owner = ob.len && !ob.oom ? nxx_malloc(ob.len + 1) : NULL;
        if (nl.owner) {
            memcpy(nl.owner, ob.p, ob.len);
            nl.owner[ob.len] = '\0';
        }
        if (!nl.path) {
            nxx_free(nl.owner);
            err = 500;
        } else {
            r->sh->locks[r->sh->nlocks++] = nl;
        }
    }
    pthread_mutex_unlock(&r->sh->mu);
    /* the row from the request's own copies: the table's may go meanwhile */
    int stored = !err && nl.owner;
    sqlite3_stmt *row = err ? NULL : db_token(r, ST_PUT, nl.token);
    if (row) {
        sqlite3_bind_text(row, 2, c->rel, -1, SQLITE_STATIC);
        if (stored)
            sqlite3_bind_text(row, 3, ob.p, (int)ob.len, SQLITE_STATIC);
        sqlite3_bind_int(row, 4, nl.depth_inf);
        sqlite3_bind_int(row, 5, nl.shared);
        sqlite3_bind_int64(row, 6, nl.timeout_s);
        sqlite3_bind_int64(row, 7, nl.expires);
    }
    db_leave(r, row);
    struct nxx_dav_lock copy = nl;
    copy.path = c->rel;
    copy.owner = NULL;
    /* the owner as the client gave it goes back in the answer */
    if (stored && (copy.owner = nxx_req_alloc(req, ob.len + 1)) != NULL) {
        memcpy(copy.owner, ob.p, ob.len);
        copy.owner[ob.len] = '\0';
    }
    nxx_free(ob.p);
    if (err == 423)
        return nxx_dav_error(req, 423, "no-conflicting-lock", "a conflicting lock is held");
    if (err)
        return err;
    return answer_lock(c, &copy, exists ? 200 : 201);
}

int nxx_dav_unlock(struct nxx_dav_ctx *c)
{
    nxx_req *req = c->req;
    nxx_str t = nxx_req_header(req, "lock-token");
    while (t.len && (t.ptr[0] == ' ' || t.ptr[0] == '\t')) {
        t.ptr++;
        t.len--;
    }
    if (t.len < 3 || t.ptr[0] != '<' || t.ptr[t.len - 1] != '>') {
        nxx_req_detail(req, "UNLOCK needs a Lock-Token field: <token>");
        return 400;
    }
    struct nxx_dav_root *r = c->r;
    int found = 0;
    char token[sizeof(r->sh->locks[0].token)];
    db_enter(r);
    pthread_mutex_lock(&r->sh->mu);
    expire(r, (int64_t)time(NULL));
    struct nxx_dav_lock *l = find_token(r, t.ptr + 1, t.len - 2);
    if (l && covers(l, c->rel)) {
        memcpy(token, l->token, sizeof(token));
        lock_remove_at(r, (size_t)(l - r->sh->locks));
        found = 1;
    }
    pthread_mutex_unlock(&r->sh->mu);
    db_leave(r, found ? db_token(r, ST_DEL, token) : NULL);
    if (!found)
        return nxx_dav_error(req, 409, "lock-token-matches-request-uri",
                             "no lock with that token covers this resource");
    nxx_resp_status(req, 204);
    return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
}
