/*
 * dav.h - what the WebDAV handler's files share: the root, the request's
 * resolved resource, the output buffer, and the entry points of props.c
 * (PROPFIND, PROPPATCH, dead properties in SQLite) and lock.c (LOCK,
 * UNLOCK, the If header and the lock checks of every write).
 */
#ifndef NXX_DAV_DAV_H
#define NXX_DAV_DAV_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "nxx.h"
#include "handlers/dav/ifhdr.h"
#include "handlers/dav/xml.h"

struct sqlite3;
struct static_root;

struct dav_lock {
    char token[48]; /* "urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
    char *path;     /* the lock root, relative ("" for the root collection) */
    char *owner;    /* the DAV:owner element's content as XML, or NULL */
    int depth_inf;
    int shared;
    unsigned timeout_s; /* 0: infinite */
    int64_t expires;    /* wall seconds; 0: never */
};

struct dav_root {
    char *root;
    int rootfd;
    char *prefix; /* the location's URL path, without a trailing '/' ("" at /) */
    size_t prefix_len;
    struct static_root *files; /* GET and HEAD */
    int depth_infinity;
    size_t max_xml;
    unsigned max_timeout_s;
    uint64_t quota; /* bytes; 0: none */
    struct sqlite3 *db;
    pthread_mutex_t mu; /* the database and the locks */
    struct dav_lock *locks;
    size_t nlocks, lockcap;
};

/* A growing output buffer (heap, freed when the request ends). */
struct dav_buf {
    char *p;
    size_t len, cap;
    int oom;
};
void dav_put(struct dav_buf *b, const char *s, size_t n);
void dav_puts(struct dav_buf *b, const char *s);
void dav_putf(struct dav_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dav_put_esc(struct dav_buf *b, const char *s, size_t n); /* XML text */
void dav_put_href(struct dav_buf *b, const struct dav_root *r, const char *rel, int coll);

/* The request as the handler resolved it. */
struct dav_ctx {
    struct dav_root *r;
    nxx_req *req;
    char *rel; /* relative path, no leading or trailing '/', NUL-terminated */
    struct dav_xml *xml;
    char *body;
    size_t body_len;
    struct dav_if ifh;
    int has_if;
    /* a refusal whose DAV:error body names a precondition (and a resource) */
    const char *cond;
    const char *cond_href; /* relative path, or NULL */
};

/* Answer a method's result: 0 (answered), or a status sent as a problem,
 * or with a DAV:error body when c->cond is set. */
int dav_answer(struct dav_ctx *c, int status);

/* stat of rel under the root (symlinks followed only inside it): 0 or -errno */
int dav_stat(const struct dav_root *r, const char *rel, struct stat *st);

/* Send an XML body with status (borrowed buffer freed with the request). */
int dav_send_xml(nxx_req *req, int status, struct dav_buf *b);

/* Answer status with a DAV:error body naming the precondition (RFC 4918 §16). */
int dav_error(nxx_req *req, int status, const char *cond, const char *detail);

/* ---- props.c ---- */
int dav_db_open(struct dav_root *r, const char *file);
void dav_db_close(struct dav_root *r);
int dav_propfind(struct dav_ctx *c);
/* Bytes of the files under the root (a walk of the tree). */
uint64_t dav_used_bytes(struct dav_root *r);
int dav_proppatch(struct dav_ctx *c);
/* Dead properties follow their resources: copy, move (rename) or delete a
 * path and everything under it. */
void dav_props_copy(struct dav_root *r, const char *from, const char *to);
void dav_props_move(struct dav_root *r, const char *from, const char *to);
void dav_props_delete(struct dav_root *r, const char *path);

/* ---- lock.c ---- */
int dav_lock(struct dav_ctx *c);
int dav_unlock(struct dav_ctx *c);
/* Read the If header into c (400 when malformed). */
int dav_if_read(struct dav_ctx *c);
/* The If header of the request evaluated against rel (412 when false);
 * then every lock on rel (and, when members, on anything under it; when
 * parent, on its parent collection) must have its token submitted (423). */
int dav_check_write(struct dav_ctx *c, const char *rel, int members, int parent);
/* Only the If header (for methods that write nothing: 412 when false). */
int dav_check_if(struct dav_ctx *c);
/* Remove every lock on rel and under it (DELETE, MOVE's source). */
void dav_locks_drop(struct dav_root *r, const char *rel);
/* <D:lockdiscovery> of rel into b. */
void dav_lockdiscovery(struct dav_root *r, const char *rel, struct dav_buf *b);

#endif
