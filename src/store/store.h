/*
 * store.h - the one interface of nxx's durable JSON store.  The REST handler
 * speaks only this; backends (sqlite.c now, PostgreSQL later) implement it.
 *
 * Model: collections of items; an item is a JSON object text with an id.
 * Every write gets the next value of one store-wide sequence: the item's
 * version (its ETag) and its collection's version (the collection's ETag,
 * and the cursor of the changes feed).  Deleting leaves a tombstone (the
 * item with deleted = 1 and no body) so GET can answer 410 and the changes
 * feed can report the deletion.
 *
 * Threads: reads may be called from any thread (each thread gets its own
 * read connection, lazily, released by nxx_store_thread_done()).  Writes are
 * queued to one writer thread which groups every write waiting into one
 * transaction and one fsync (group commit); a write's done() callback runs
 * on the writer thread after its transaction is durable (or failed), so a
 * 2xx sent from done() means the data is on disk.
 */
#ifndef NXX_STORE_STORE_H
#define NXX_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct nxx_store;

/* Return codes besides 0: HTTP-flavoured, so handlers can pass them on. */
#define NXX_STORE_NOTFOUND 404    /* no such item / task / schema */
#define NXX_STORE_FULL 507        /* SQLITE_FULL, ENOSPC, EDQUOT, the size limit: nothing written */
#define NXX_STORE_ERROR 500       /* any other storage failure (logged) */
#define NXX_STORE_UNAVAILABLE 503 /* the store could not be opened yet (a full disk): try later */

/* A store that is not writable tries to open for writing again this often. */
#define NXX_STORE_RETRY_SECONDS 2

struct nxx_store_options {
    uint64_t max_bytes; /* database size limit (507 beyond); 0 = none */
    unsigned max_batch; /* writes grouped in one transaction at most : 1024 */
};

struct nxx_item {
    char *coll; /* owned by the item */
    char *id;
    char *body; /* JSON object text, NUL-terminated; NULL for a tombstone */
    size_t body_len;
    uint64_t version;   /* store sequence of the item's last change */
    int64_t created_ms; /* wall clock, milliseconds */
    int64_t updated_ms;
    int deleted; /* tombstone */
};

/* Free the strings of an item filled by the store (not the struct). */
void nxx_item_release(struct nxx_item *it);

/*
 * Open (creating if needed) the store in directory dir (file dir/nxx.db):
 * WAL mode, synchronous=FULL, schema created or checked.  Starts the writer
 * thread.  Returns 0, or NXX_STORE_ERROR with a message on stderr.
 *
 * A full disk (ENOSPC, EDQUOT, SQLITE_FULL) does not fail the open.  An
 * existing store is then opened read-only: reads work, writes fail with
 * NXX_STORE_FULL.  A store that cannot be created (or read) fails every
 * call with NXX_STORE_UNAVAILABLE.  Either way the writer thread tries to
 * open it for writing every NXX_STORE_RETRY_SECONDS and, once that works,
 * the store is what a normal open gives, with nothing lost: acknowledged
 * writes are never in a part of the store a read-only open skips.  The
 * state is logged once when it starts and once when it ends.
 */
int nxx_store_open(const char *dir, const struct nxx_store_options *opt, struct nxx_store **out);

/*
 * What the store can do now (any thread, without blocking): 0 (everything),
 * NXX_STORE_FULL (open read-only on a full disk: writes fail with it),
 * NXX_STORE_UNAVAILABLE (not open: every call fails with it).  The state
 * only ever improves (UNAVAILABLE, then FULL, then 0), so an early answer
 * taken from it is at worst a moment out of date.
 */
int nxx_store_state(struct nxx_store *s);

/* Finish queued writes, stop the writer, close everything. */
void nxx_store_close(struct nxx_store *s);

/* Release the calling thread's read connection (a worker thread at exit). */
void nxx_store_thread_done(struct nxx_store *s);

/* ---- reads (any thread) ---- */

/* 0 and *out (tombstones included: check out->deleted), or NXX_STORE_NOTFOUND. */
int nxx_store_get(struct nxx_store *s, const char *coll, const char *id, struct nxx_item *out);

/* Version of a collection (its last change), 0 if it has never been written. */
uint64_t nxx_store_coll_version(struct nxx_store *s, const char *coll);

struct nxx_store_filter {
    const char *field; /* top-level member name */
    const char *value; /* compared with the member's value as text (strings unquoted) */
};

struct nxx_store_sort {
    const char *field;
    int desc;
};

struct nxx_store_query {
    const char *coll;
    const struct nxx_store_filter *filters; /* ANDed equality filters */
    size_t nfilters;
    const struct nxx_store_sort *sort; /* by members, then by id; none: by id */
    size_t nsort;
    uint64_t limit; /* 0 = no limit */
    uint64_t offset;
};

/*
 * Live items (no tombstones) matching q, in order; each() is called per item
 * (the item is valid only during the call).  *total receives the number of
 * matching items without limit/offset (for Link and pagination).
 */
int nxx_store_list(struct nxx_store *s, const struct nxx_store_query *q,
                   void (*each)(void *ctx, const struct nxx_item *it), void *ctx, uint64_t *total);

/*
 * Items of coll (tombstones included) changed after version since, in
 * version order: the 226 IM feed.
 */
int nxx_store_changes(struct nxx_store *s, const char *coll, uint64_t since,
                      void (*each)(void *ctx, const struct nxx_item *it), void *ctx);

/* The JSON Schema text of coll: 0 and *json (malloc'd, caller frees), or NOTFOUND. */
int nxx_store_schema_get(struct nxx_store *s, const char *coll, char **json);

/* ---- writes (queued to the writer thread) ---- */

enum nxx_store_action { NXX_STORE_KEEP = 0, NXX_STORE_PUT, NXX_STORE_DELETE };

struct nxx_store_change {
    enum nxx_store_action action;
    char *body; /* PUT: the new JSON text, malloc'd; the store frees it */
    size_t body_len;
};

/*
 * One write.  The store, on its writer thread and inside the transaction:
 *  1. reads the current item (coll, id) (NULL when absent; tombstones are
 *     passed with deleted = 1), or, when id is NULL, generates a new unique
 *     short id (cur NULL);
 *  2. calls decide(ctx, id, cur, &change): it returns 0 with a change, or an
 *     HTTP status (409, 412, 422, ...) to write nothing;
 *  3. applies the change (PUT keeps created_ms of a live item; a PUT over a
 *     tombstone creates anew), bumping the item and collection versions;
 *  4. after the transaction commits (fsync) or fails, calls
 *     done(ctx, status, item): status 0 with the written item (its new
 *     version; for DELETE the tombstone), the status decide() returned, or
 *     NXX_STORE_FULL / NXX_STORE_ERROR.  item is valid only during the call.
 * created is set in the item passed to done: 1 when the write created the
 * item (no live item before).  Writes in one group commit are independent:
 * one failing does not fail the others (savepoints).
 */
struct nxx_store_write {
    const char *coll; /* copied at submit */
    const char *id;   /* copied at submit; NULL: the store assigns one */
    int (*decide)(void *ctx, const char *id, const struct nxx_item *cur,
                  struct nxx_store_change *change);
    void (*done)(void *ctx, int status, const struct nxx_item *item, int created);
    void *ctx;
};

/* Queue a write; 0, or NXX_STORE_ERROR when the store is closing. */
int nxx_store_submit(struct nxx_store *s, const struct nxx_store_write *w);

/* Set (or with json NULL, remove) coll's schema; synchronous (waits for the commit). */
int nxx_store_schema_put(struct nxx_store *s, const char *coll, const char *json);

/* ---- tasks (202 Accepted jobs that survive restarts) ---- */

struct nxx_task {
    char id[40];
    char coll[72];
    char status[16]; /* "queued", "running", "done", "failed" */
    uint64_t done;   /* items processed */
    uint64_t total;
    uint64_t failed; /* items rejected */
    char *errors;    /* JSON array text of {index, status, detail}; malloc'd, may be NULL */
    int64_t created_ms, finished_ms;
};

/* Create a task durably (returns after the commit) with its input; fills id. */
int nxx_store_task_create(struct nxx_store *s, const char *coll, const char *input,
                          size_t input_len, uint64_t total, char id[40]);

/* 0 and *t (free t->errors), or NXX_STORE_NOTFOUND. */
int nxx_store_task_get(struct nxx_store *s, const char *id, struct nxx_task *t);

/*
 * The task runner: the store runs unfinished tasks (also those found at
 * open, resuming after the last committed item) on a thread of its own,
 * calling item() for every element of the input (a JSON array, or NDJSON)
 * from the first not yet done; item() returns 0 with *change (a PUT) and
 * *id_out (malloc'd; NULL: the store assigns one), or a status that counts
 * the element as failed with that status and *detail.  An id that names a
 * live item fails the element with 409 (bulk import creates, it never
 * overwrites).  Items
 * and progress are committed together in batches, so a restart resumes
 * exactly where the last batch ended.
 */
typedef int (*nxx_store_task_item_fn)(void *ctx, const char *coll, const char *elem,
                                      size_t elem_len, char **id_out,
                                      struct nxx_store_change *change, const char **detail);
void nxx_store_task_runner(struct nxx_store *s, nxx_store_task_item_fn fn, void *ctx);

#endif
