/*
 * rest.h - what the REST handler's files share: the handler state, the
 * schema cache, the JSON text builder and the request-body parsers.  Only
 * src/handlers/rest/rest*.c include it.
 */
#ifndef NXX_REST_REST_H
#define NXX_REST_REST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nxx.h"
#include "handlers/rest/schema.h"
#include "store/store.h"

#define REST_COLL_MAX 64    /* collection names: [a-z0-9_-]{1,64} */
#define REST_ID_MAX 128     /* item ids: [A-Za-z0-9._~-]{1,128} */
#define REST_TASK_ID_MAX 39 /* nxx_task.id holds 40 bytes with the NUL */
#define REST_SCHEMA_BUCKETS 256
#define REST_SCHEMA_SLOTS 4096 /* cached collections at most; then the cache starts over */
#define REST_ERRORS_MAX 32     /* schema violations listed in one 422 */
#define REST_DEFAULT_LIMIT 100

/* Problem details of the store's states (store.h): NXX_STORE_FULL and NXX_STORE_UNAVAILABLE. */
#define REST_FULL_DETAIL "the store is full (its size limit or the disk); nothing was written"
#define REST_UNAVAILABLE_DETAIL                                                                    \
    "the data store is unavailable: it cannot be opened while its disk is full; nothing was "      \
    "read or written (try again later)"

/* A compiled schema shared by the requests using it. */
struct nxx_rest_schema {
    struct nxx_schema *compiled;
    atomic_uint refs;
};

/* One cached collection: its schema, or NULL when it has none (the common case). */
struct nxx_rest_slot {
    struct nxx_rest_slot *next;
    struct nxx_rest_schema *schema;
    char coll[REST_COLL_MAX + 1];
};

struct nxx_rest_cache;

/*
 * One database and what is kept about it: shared by every location (and
 * every configuration generation) that serves the same data directory, so
 * a reload keeps the store, its writer and task threads, and the caches.
 */
struct nxx_rest_db {
    char *path; /* realpath of the data directory: the registry's key */
    unsigned refs;
    struct nxx_rest_db *next;
    struct nxx_store *store;
    struct nxx_rest_cache *cache; /* recently read items (rest_cache.c) */
    pthread_mutex_t schema_lock;  /* guards slots, nslots and schema_gen */
    struct nxx_rest_slot *slots[REST_SCHEMA_BUCKETS];
    size_t nslots;
    uint64_t schema_gen;   /* bumped by every schema change */
    char task_detail[512]; /* the task runner's detail text (its thread only) */
};

/* What the early checks (a head policy of the location) look at. */
enum rest_check {
    CHK_NONE = 0,      /* reads and the handler's own paths check for themselves */
    CHK_POST,          /* POST to a collection */
    CHK_BULK,          /* POST of a bulk import */
    CHK_PUT,           /* PUT of an item */
    CHK_PATCH,         /* PATCH of an item */
    CHK_DELETE,        /* DELETE of an item */
    CHK_SCHEMA_PUT,    /* PUT of a collection schema */
    CHK_SCHEMA_DELETE, /* DELETE of a collection schema */
};

struct nxx_rest;

/* The data of each route: the location's store view and what to check. */
struct nxx_rest_route {
    struct nxx_rest *r;
    enum rest_check check;
};

static inline struct nxx_rest *nxx_rest_of(void *route_ud)
{
    return ((struct nxx_rest_route *)route_ud)->r;
}

/* The store as one location serves it. */
struct nxx_rest {
    char *prefix; /* "/api", or "" for the root; no trailing '/' */
    size_t prefix_len;
    struct nxx_rest_db *db;
    int require_preconditions;
    uint64_t max_list;
    struct nxx_rest_route routes[16];
};

/* The operations, one handler each (the policy hook tells them apart by handler). */
enum rest_op {
    OP_COLL_GET = 0,
    OP_COLL_POST,
    OP_ITEM_GET,
    OP_ITEM_PUT,
    OP_ITEM_PATCH,
    OP_ITEM_DELETE,
    OP_BULK,
    OP_SCHEMA_GET,
    OP_SCHEMA_PUT,
    OP_SCHEMA_DELETE,
    OP_TASK_GET,
    OP_TASK_RESULT,
};

/* ---- rest.c ---- */

/*
 * The open database of data directory dir, the one the REST locations
 * serving dir use (opened on first use, kept across reloads), with a
 * reference for the caller: other modules that read the store (API keys of
 * the quota policy) go through it.  0 or a negative NXX_E* code.
 */
int nxx_rest_db_get(const char *dir, struct nxx_rest_db **out);
void nxx_rest_db_put(struct nxx_rest_db *db);

/* Names as the routes accept them (else 404). */
int nxx_rest_coll_ok(nxx_str s);
int nxx_rest_id_ok(nxx_str s);

/*
 * The collection's schema with a reference for the caller (release it), or
 * NULL when it has none: 0, or a store status when it could not be read.
 */
int nxx_rest_schema_lookup(struct nxx_rest_db *db, const char *coll, struct nxx_rest_schema **out);
void nxx_rest_schema_release(struct nxx_rest_schema *s);
/* Forget the cached schema of coll (after it changed). */
void nxx_rest_schema_forget(struct nxx_rest_db *db, const char *coll);

/* Does the Accept field rule out application/json? */
int nxx_rest_not_acceptable(nxx_req *req);
/* "Prefer: return=minimal" (RFC 7240 §4.2). */
int nxx_rest_prefer_minimal(nxx_req *req);
/* Log a store failure (500, with the request id) or explain 507 or 503; returns the status. */
int nxx_rest_store_failed(nxx_req *req, int rc, const char *what);
/* 503 with Retry-After and the detail, while the store cannot be opened; returns 503. */
int nxx_rest_unavailable(nxx_req *req);
/*
 * The Last-Modified (seconds) for a change stored at updated_ms: never later
 * than this response's Date (RFC 9110 §8.8.2.1).  The store stamps a write
 * with CLOCK_REALTIME on its own thread; Date is the worker loop's clock,
 * read from the coarse clock once per loop turn, and so can be a few
 * milliseconds behind: just after a second boundary the stamp is a second
 * ahead of Date.  Call it while building the response (the same loop turn).
 */
int64_t nxx_rest_last_modified(nxx_req *req, int64_t updated_ms);
/* Answer 422 with the validation errors as an RFC 9457 extension member "errors". */
int nxx_rest_send_422(nxx_req *req, const char *detail, const char *errors_json);
/*
 * The request body as JSON (any value), or NULL with *status 400 and a detail
 * (the byte offset; or that there is no content).
 */
json_t *nxx_rest_parse_body(nxx_req *req, int *status);
/* [{"pointer": ..., "message": ...}, ...] of n schema errors; malloc'd, NULL on ENOMEM. */
char *nxx_rest_errors_json(const struct nxx_schema_error *e, size_t n);
/* Copy a view to a NUL-terminated array of cap bytes (cut to fit). */
void nxx_rest_cstr(char *dst, size_t cap, nxx_str s);

/* ---- rest_write.c: the handlers that change the store ---- */

int nxx_rest_coll_post(nxx_req *req, void *ud);
int nxx_rest_item_put(nxx_req *req, void *ud);
int nxx_rest_item_patch(nxx_req *req, void *ud);
int nxx_rest_item_delete(nxx_req *req, void *ud);
int nxx_rest_bulk(nxx_req *req, void *ud);
/* The task runner's per-element function (nxx_store_task_item_fn). */
int nxx_rest_task_item(void *ctx, const char *coll, const char *elem, size_t elem_len,
                       char **id_out, struct nxx_store_change *change, const char **detail);

/* ---- rest_cache.c: recently read live items ---- */

struct nxx_rest_cached {
    char *body; /* in the request arena */
    size_t body_len;
    uint64_t version;
    int64_t updated_ms;
};

struct nxx_rest_cache *nxx_rest_cache_new(void);
void nxx_rest_cache_free(struct nxx_rest_cache *c);
/*
 * 1 and *out (body copied into req's arena) on a hit; 0 on a miss, with
 * *gen to pass to nxx_rest_cache_put() with what the store then returned.
 */
int nxx_rest_cache_get(struct nxx_rest_cache *c, const char *coll, const char *id, nxx_req *req,
                       struct nxx_rest_cached *out, uint64_t *gen);
void nxx_rest_cache_put(struct nxx_rest_cache *c, const char *coll, const char *id, uint64_t gen,
                        const struct nxx_item *it);
/* A write changed (coll, id): drop it (any thread, after the commit). */
void nxx_rest_cache_forget(struct nxx_rest_cache *c, const char *coll, const char *id);

/* ---- rest_json.c: JSON text, media types, form bodies ---- */

/* A growing heap buffer; oom is set (and further output dropped) when memory runs out. */
struct nxx_rest_buf {
    char *p;
    size_t len, cap;
    int oom;
};

void nxx_rest_buf_put(struct nxx_rest_buf *b, const void *s, size_t n);
#define REST_PUTS(b, lit) nxx_rest_buf_put((b), (lit), sizeof(lit) - 1)
void nxx_rest_buf_putc(struct nxx_rest_buf *b, char c);
void nxx_rest_buf_u64(struct nxx_rest_buf *b, uint64_t v);
/* A JSON string literal: quotes and escapes added. */
void nxx_rest_buf_jstr(struct nxx_rest_buf *b, const char *s, size_t n);
/* Compact JSON text of v; with skip_id, an object's "id" member is left out. */
void nxx_rest_buf_json(struct nxx_rest_buf *b, const json_t *v, int skip_id);
/* The closing member of a task body: ,"monitorUrl":"PREFIX/_tasks/ID"} and a newline. */
void nxx_rest_buf_monitor(struct nxx_rest_buf *b, const struct nxx_rest *r, const char *id);
/* The NUL-terminated text (owned by the caller, nxx_free), or NULL after oom. */
char *nxx_rest_buf_take(struct nxx_rest_buf *b, size_t *len);
void nxx_rest_buf_free(struct nxx_rest_buf *b);

/*
 * The stored text of an item: `{"id":"ID",` + the members of text (an object
 * text without "id", as nxx_rest_buf_json(.., 1) writes it).  malloc'd.
 */
char *nxx_rest_with_id(const char *text, size_t len, const char *id, size_t *out_len);

/* What a Content-Type names, for the REST routes. */
enum rest_ctype {
    CT_NONE = 0,    /* absent */
    CT_JSON,        /* application/json or any +json */
    CT_MERGE_PATCH, /* application/merge-patch+json */
    CT_FORM,        /* application/x-www-form-urlencoded */
    CT_MULTIPART,   /* multipart/form-data (boundary checked when parsed) */
    CT_NDJSON,      /* application/x-ndjson */
    CT_OTHER,
};

enum rest_ctype nxx_rest_ctype(nxx_str value);

/*
 * A JSON text of a request as the REST handler loads it (any value,
 * duplicate names refused): NULL with *err when it does not parse.  body is
 * a request body as the engine hands it over: ptr may be NULL when len is 0.
 */
json_t *nxx_rest_json_load(nxx_str body, json_error_t *err);

/* The items in an NDJSON body: its lines with anything but SP, HTAB, CR (ptr may be NULL if len is
 * 0). */
uint64_t nxx_rest_ndjson_count(nxx_str body);

/*
 * Percent-decode n bytes of s into out (room for n bytes); plus: '+' is a
 * space (form and query encoding).  Returns the decoded length, or -1 for a
 * malformed escape.
 */
long nxx_rest_pct_decode(const char *s, size_t n, char *out, int plus);

/*
 * An HTML form body as a JSON object of strings (a repeated name becomes an
 * array).  Returns the object, or NULL with *status (400, 415) and *detail.
 * An empty body (ptr may then be NULL) is a 400: there is no form to store.
 */
json_t *nxx_rest_form_urlencoded(nxx_str body, int *status, const char **detail);
json_t *nxx_rest_form_multipart(nxx_str body, nxx_str content_type, int *status,
                                const char **detail);

#endif
