/*
 * dav.h - what the WebDAV handler's files share: the root, the request's
 * resolved resource, the output buffer, and the entry points of props.c
 * (PROPFIND, PROPPATCH, dead properties in SQLite) and lock.c (LOCK,
 * UNLOCK, the If header and the lock checks of every write).
 */
#ifndef NXX_DAV_DAV_H
#define NXX_DAV_DAV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>

#include "nxx.h"
#include "handlers/dav/ifhdr.h"
#include "handlers/dav/xml.h"

struct sqlite3;
struct sqlite3_stmt;
struct nxx_dav_job;
struct static_root;

struct nxx_dav_lock {
    char token[48]; /* "urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
    char *path;     /* the lock root, relative ("" for the root collection) */
    char *owner;    /* the DAV:owner element's content as XML, or NULL */
    int depth_inf;
    int shared;
    unsigned timeout_s; /* 0: infinite */
    int64_t expires;    /* wall seconds; 0: never */
};

/*
 * What outlives a configuration generation: the database of dead properties
 * and locks, and the lock table that answers every check.  A reload (SIGHUP)
 * builds new locations over the same root and database; they find this by
 * its key and share it, so a lock taken just before the reload still stops
 * a write just after it (and two SQLite connections never race on one
 * file).  Reference-counted; the last location that lets go closes it.
 */
struct nxx_dav_state {
    struct nxx_dav_state *next;
    char *key; /* the root's real path, '\n', the database file ("" for the default) */
    unsigned refs;
    atomic_int jobs;       /* operations running on threads of their own */
    atomic_int has_props;  /* 0: the database holds no dead property (skip it) */
    atomic_ullong changes; /* writes to the tree so far: GET's cache looks again when it moves */
    struct sqlite3 *db;
    /* Two mutexes, taken in this order when both are: dbmu (the database
     * connection, held across a commit) then mu (the lock table, held for
     * memory work only: a check never waits for the disk). */
    pthread_mutex_t dbmu;
    pthread_mutex_t mu;
    int db_full;                     /* the connection's synchronous: 1 FULL, 0 NORMAL */
    unsigned lock_writes;            /* lock rows written: expired rows swept every 256 */
    struct sqlite3_stmt *lock_st[5]; /* prepared once (lock.c) */
    struct nxx_dav_lock *locks;
    size_t nlocks, lockcap;
    /* The job threads (nxx_dav_job_start): started on demand up to the
     * location's max-jobs, then kept; jobs beyond wait in the queue. */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    struct nxx_dav_job *qhead, *qtail;
    pthread_t *threads;
    unsigned nthreads, idle;
    int stop;
    /* Directory syncs after PUTs' renames (nxx_dav_dir_sync), under qmu:
     * the directory, renames counted in it, how many a finished fsync
     * covers, and whether one is running. */
    dev_t ds_dev;
    ino_t ds_ino;
    uint64_t ds_renamed, ds_synced;
    int ds_busy;
    unsigned ds_users; /* threads syncing it or waiting: the directory changes at 0 only */
    pthread_cond_t ds_cv;
};

struct nxx_dav_root {
    char *root;
    char *real; /* the root's real path: what a resolved path is relative to */
    size_t real_len;
    int rootfd;
    char *prefix; /* the location's URL path, without a trailing '/' ("" at /) */
    size_t prefix_len;
    struct static_root *files; /* GET and HEAD */
    int depth_infinity;
    size_t max_xml;
    unsigned max_timeout_s;
    uint64_t quota;         /* bytes; 0: none */
    unsigned processing_ms; /* first 102 after this long */
    unsigned max_jobs;      /* job threads at most; 0: jobs run on the worker */
    int sync;               /* NXX_DAV_SYNC_*: what a PUT makes durable before its 2xx */
    struct nxx_dav_state *sh;
};

/* A growing output buffer (heap, freed when the request ends). */
struct nxx_dav_buf {
    char *p;
    size_t len, cap;
    int oom;
};
void nxx_dav_put(struct nxx_dav_buf *b, const char *s, size_t n);
void nxx_dav_puts(struct nxx_dav_buf *b, const char *s);
void nxx_dav_putf(struct nxx_dav_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void nxx_dav_put_esc(struct nxx_dav_buf *b, const char *s, size_t n); /* XML text */
void nxx_dav_put_href(struct nxx_dav_buf *b, const struct nxx_dav_root *r, const char *rel,
                      int coll);

/* The request as the handler resolved it. */
struct nxx_dav_ctx {
    struct nxx_dav_root *r;
    nxx_req *req;
    char *rel; /* relative path, no leading or trailing '/', NUL-terminated */
    struct nxx_dav_xml *xml;
    char *body;
    size_t body_len;
    struct nxx_dav_if ifh;
    int has_if;
    /* every binding in the tree that DAV:parent-set may need (props.c),
     * built on first use by a PROPFIND and freed at its end */
    struct nxx_dav_binding *bindings;
    size_t nbindings, bindcap;
    int bindings_built;
    /* a refusal whose DAV:error body names a precondition (and a resource) */
    const char *cond;
    const char *cond_href; /* relative path, or NULL */
};

/* Answer a method's result: 0 (answered), or a status sent as a problem,
 * or with a DAV:error body when c->cond is set. */
int nxx_dav_answer(struct nxx_dav_ctx *c, int status);

/*
 * Work that may take long (a tree to copy, move or delete, a walk of the
 * whole tree) runs on a thread of its own, off the event loop: work() there
 * (it must not touch the request: no nxx_req_* call, no arena), then
 * answer() back on the worker.  Meanwhile an HTTP/1.1 client gets
 * 102 Processing after the configured delay and every second after it
 * (RFC 2518 §10.1).  p is the method's own state.
 */
struct nxx_dav_job {
    struct nxx_dav_ctx *c;
    void (*work)(struct nxx_dav_job *j);
    int (*answer)(struct nxx_dav_job *j);
    void *p;
    int err;
    atomic_int done;
    struct nxx_dav_job *next; /* in the state's queue */
};
/* Start j (allocated in the request's arena); returns what the handler returns. */
int nxx_dav_job_start(struct nxx_dav_job *j);

/* The relative path a URI (absolute, or a path) names under this location:
 * 0, or 400 (malformed), 502 (another server, or outside the location),
 * 403 (a hidden name), with the detail set. */
int nxx_dav_href_rel(struct nxx_dav_ctx *c, nxx_str uri, char **out);

/* The directory holding rel, opened beneath the root (rel's last '/' is
 * restored), and rel's last name: the fd, or -errno. */
int nxx_dav_open_parent(const struct nxx_dav_root *r, char *rel, const char **name);
/* fsync(dir) after a rename in it, on a job thread: when several threads
 * renamed into the same directory together, one fsync started after their
 * renames serves them all.  0 or an errno. */
int nxx_dav_dir_sync(struct nxx_dav_state *s, int dir);
/* Remove name in dir and everything below it: 0 or -errno. */
int nxx_dav_rm_tree(int dir, const char *name, int depth);
/* The tree changed (call after the change, before it is answered): GET and
 * HEAD look at the disk again instead of their cached entry. */
static inline void nxx_dav_changed(struct nxx_dav_root *r)
{
    atomic_fetch_add(&r->sh->changes, 1);
}

/* An errno of a file-system call as the status to answer. */
int nxx_dav_status_of(int err);

/* ---- bind.c (RFC 5842) ---- */
/* A binding met by a walk of the tree: a collection, a symlink that leads
 * to one inside the root (dev, ino: the collection's), or a file with more
 * than one link. */
struct nxx_dav_binding {
    dev_t dev;
    ino_t ino;
    char *path; /* relative */
};
/* c->bindings: every binding under the root (one walk per request; props.c) */
void nxx_dav_bindings_build(struct nxx_dav_ctx *c);
void nxx_dav_bindings_free(struct nxx_dav_ctx *c);
int nxx_dav_bind(struct nxx_dav_ctx *c);
int nxx_dav_unbind(struct nxx_dav_ctx *c);
int nxx_dav_rebind(struct nxx_dav_ctx *c);
/* DAV:resource-id of a resource: "urn:uuid:..." from its device and inode */
void nxx_dav_resource_id(const struct stat *st, char out[48]);

/* stat of rel under the root (symlinks followed only inside it): 0 or -errno */
int nxx_dav_stat(const struct nxx_dav_root *r, const char *rel, struct stat *st);

/* Send an XML body with status (borrowed buffer freed with the request). */
int nxx_dav_send_xml(nxx_req *req, int status, struct nxx_dav_buf *b);

/* Answer status with a DAV:error body naming the precondition (RFC 4918 §16). */
int nxx_dav_error(nxx_req *req, int status, const char *cond, const char *detail);

/* ---- props.c ---- */
int nxx_dav_db_open(struct nxx_dav_root *r, const char *file);
/* The connection's synchronous mode for the next commits (caller holds
 * dbmu): full = 1 syncs the log at each commit, 0 only writes it. */
void nxx_dav_db_sync(struct nxx_dav_state *s, int full);
void nxx_dav_db_close(struct nxx_dav_state *s);
int nxx_dav_propfind(struct nxx_dav_ctx *c);
/* Bytes of the files under the root (a walk of the tree). */
uint64_t nxx_dav_used_bytes(struct nxx_dav_root *r);
int nxx_dav_proppatch(struct nxx_dav_ctx *c);
/* Dead properties follow their resources: copy, move (rename) or delete a
 * path and everything under it. */
void nxx_dav_props_copy(struct nxx_dav_root *r, const char *from, const char *to);
void nxx_dav_props_move(struct nxx_dav_root *r, const char *from, const char *to);
void nxx_dav_props_delete(struct nxx_dav_root *r, const char *path);
/*
 * The key of rel's dead properties: the path of the resource itself, with
 * every symlink (a binding of a collection) resolved inside the root, so
 * every binding of a collection, and every path through one, finds the
 * same properties.  full = 0 resolves the parent only and keeps the last
 * name as it is: the binding itself (DELETE, MOVE and the Destination of
 * COPY act on a binding, not on what it leads to).  A path that cannot be
 * resolved is its own key.  Writes at most cap bytes to out; returns out.
 */
const char *nxx_dav_prop_key(const struct nxx_dav_root *r, const char *rel, int full, char *out,
                             size_t cap);
/*
 * A file with several bindings (hard links: RFC 5842 §2.3, one resource)
 * keeps its dead properties under a key of its own, '/' and its
 * DAV:resource-id, so every binding finds the same ones (full = 1 above
 * gives it).  Writes it to out (cap >= 49) and returns 1 when st is such a
 * file; 0 otherwise.  Creating a file's second binding moves its
 * properties there; removing the last but one hands them back to the
 * remaining binding's path: nxx_dav_props_heir() finds that path before
 * (heir[0] = '\0' when there is none to hand to), and
 * nxx_dav_props_inherit() moves them after.
 */
int nxx_dav_file_key(const struct stat *st, char *out, size_t cap);
void nxx_dav_props_heir(struct nxx_dav_ctx *c, const char *rel, const struct stat *st, char *heir,
                        size_t cap);
void nxx_dav_props_inherit(struct nxx_dav_root *r, const struct stat *st, const char *heir);

/* ---- lock.c ---- */
int nxx_dav_lock(struct nxx_dav_ctx *c);
int nxx_dav_unlock(struct nxx_dav_ctx *c);
/* Read the If header into c (400 when malformed). */
int nxx_dav_if_read(struct nxx_dav_ctx *c);
/* The If header of the request evaluated against rel (412 when false);
 * then every lock on rel (and, when members, on anything under it; when
 * parent, on its parent collection) must have its token submitted (423). */
int nxx_dav_check_write(struct nxx_dav_ctx *c, const char *rel, int members, int parent);
/* Only the If header (for methods that write nothing: 412 when false). */
int nxx_dav_check_if(struct nxx_dav_ctx *c);
/* Load the locks kept in the database (at start; expired ones dropped). */
int nxx_dav_locks_load(struct nxx_dav_root *r);
/* Remove every lock on rel and under it (DELETE, MOVE's source). */
void nxx_dav_locks_drop(struct nxx_dav_root *r, const char *rel);
/* <D:lockdiscovery> of rel into b. */
void nxx_dav_lockdiscovery(struct nxx_dav_root *r, const char *rel, struct nxx_dav_buf *b);

#endif
