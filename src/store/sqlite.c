/*
 * sqlite.c - the SQLite backend of the JSON store (see store.h).
 *
 * One database file, dir/nxx.db, in WAL mode with synchronous=FULL.  All
 * writes go to one writer thread that owns the only read-write connection:
 * it takes everything queued (up to max_batch), opens one BEGIN IMMEDIATE
 * transaction, runs each write in a SAVEPOINT of its own (a write that is
 * refused or fails rolls back alone) and commits once, so a burst of writes
 * from many workers costs one fsync.  Callbacks run only after COMMIT has
 * returned: a 2xx sent from done() describes data that is on disk.
 *
 * SQLite answers some errors (SQLITE_FULL among them) by rolling back the
 * whole transaction, not just the failing statement or savepoint.  The
 * writer notices (the connection is back in autocommit mode), fails the
 * write that hit the error and replays the writes before it in a fresh
 * transaction from the changes their decide() already returned; the state
 * each of them saw is the same as before, since only writes earlier in the
 * batch had touched it, so decide() is never called twice.
 *
 * Reads run on per-thread read-only connections (a pthread key), which WAL
 * lets proceed while the writer commits; their statements are prepared
 * once per connection.  Filters and sort keys reach SQL only as bound
 * parameters: the statement text is built from fixed fragments.
 *
 * Bulk tasks: a runner thread walks a task's stored input element by
 * element, asks the handler's item() callback for each element's change,
 * and hands each batch of changes to the writer, which applies them and the
 * task's progress (done count, byte offset, errors) in one savepoint, so a
 * restart resumes exactly after the last committed batch.
 *
 * A full disk at open.  Opening a WAL database needs its -shm file, which
 * SQLite grows by writing to it; after a clean stop the -shm is gone, and on
 * a full disk neither the writer nor a plain read-only connection can make
 * one.  So the store starts in a degraded mode instead of failing: read-only
 * through ordinary read-only connections when they work (the -shm survived),
 * else through "immutable" ones that read the database file alone, which is
 * right only while the -wal is empty or absent (a clean stop checkpointed
 * every commit into the file; a -wal with content makes the store
 * unavailable rather than serve an older state); unavailable when there is
 * no store to read yet.  The writer thread tries to open for writing every
 * NXX_STORE_RETRY_SECONDS.  Immutable connections take no locks and would
 * not notice the writer's checkpoints, so each of their reads holds a read
 * lock of imm_lock, and the writer, having switched the mode back, takes
 * imm_lock for writing once before it writes anything: after that every
 * read sees the new mode and reopens an ordinary connection.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "core/alloc.h"
#include "core/log.h"

#include "os/random.h"
#include "core/banned.h"

#define DEFAULT_BATCH 1024
#define ITEM_ID_LEN 10
#define TASK_ID_LEN 16
#define TASK_BATCH 500
#define TASK_BATCH_BYTES (4u << 20)
#define TASK_MAX_ERRORS 1000
#define MAX_FILTERS 64
#define MAX_SORT 16
#define MAX_FIELD 256
#define LIST_CACHE 8
#define BUSY_TIMEOUT_MS 10000
#define DB_FORMAT 1
#define APP_ID 0x6e787831    /* "nxx1" */
#define LOW_SPACE (1u << 20) /* an I/O error with less free space than this is a full disk */

/* What the store can do (see the comment at the top). */
enum store_mode {
    MODE_RW = 0,       /* open for writing */
    MODE_RO,           /* read-only, ordinary read connections */
    MODE_RO_IMMUTABLE, /* read-only, immutable read connections (the -wal is empty) */
    MODE_DOWN,         /* nothing to read: every call is NXX_STORE_UNAVAILABLE */
};

/* ---- statements ---- */

enum {
    W_BEGIN,
    W_COMMIT,
    W_ROLLBACK,
    W_SAVEPOINT,
    W_RELEASE,
    W_ROLLBACK_TO,
    W_GET,
    W_INSERT,
    W_UPDATE,
    W_DELETE,
    W_COLL,
    W_SEQ,
    W_SEQ_GET,
    W_SCHEMA_PUT,
    W_SCHEMA_DEL,
    W_TASK_EXISTS,
    W_TASK_INSERT,
    W_TASK_INPUT,
    W_TASK_INPUT_DEL,
    W_TASK_UPDATE,
    W_TASK_FAIL,
    W_COUNT
};

static const char *const writer_sql[W_COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_SAVEPOINT] = "SAVEPOINT w",
    [W_RELEASE] = "RELEASE w",
    [W_ROLLBACK_TO] = "ROLLBACK TO w",
    [W_GET] = "SELECT body, version, created_ms, updated_ms, deleted FROM items "
              "WHERE coll = ?1 AND id = ?2",
    [W_INSERT] = "INSERT INTO items(coll, id, body, version, created_ms, updated_ms, deleted) "
                 "VALUES(?1, ?2, ?3, ?4, ?5, ?5, 0)",
    [W_UPDATE] = "UPDATE items SET body = ?3, version = ?4, created_ms = ?5, updated_ms = ?6, "
                 "deleted = 0 WHERE coll = ?1 AND id = ?2",
    [W_DELETE] = "UPDATE items SET body = NULL, version = ?3, updated_ms = ?4, deleted = 1 "
                 "WHERE coll = ?1 AND id = ?2",
    [W_COLL] = "INSERT INTO colls(name, version, live) VALUES(?1, ?2, ?3) "
               "ON CONFLICT(name) DO UPDATE SET version = excluded.version, "
               "live = live + excluded.live",
    [W_SEQ] = "UPDATE meta SET value = ?1 WHERE key = 'seq'",
    [W_SEQ_GET] = "SELECT value FROM meta WHERE key = 'seq'",
    [W_SCHEMA_PUT] = "INSERT INTO schemas(coll, json) VALUES(?1, ?2) "
                     "ON CONFLICT(coll) DO UPDATE SET json = excluded.json",
    [W_SCHEMA_DEL] = "DELETE FROM schemas WHERE coll = ?1",
    [W_TASK_EXISTS] = "SELECT 1 FROM tasks WHERE id = ?1",
    [W_TASK_INSERT] = "INSERT INTO tasks(id, coll, total, done, failed, errors, status, "
                      "created_ms, finished_ms, pos) "
                      "VALUES(?1, ?2, ?3, 0, 0, '[]', 'queued', ?4, 0, 0)",
    [W_TASK_INPUT] = "INSERT INTO task_inputs(id, input) VALUES(?1, ?2)",
    [W_TASK_INPUT_DEL] = "DELETE FROM task_inputs WHERE id = ?1",
    [W_TASK_UPDATE] = "UPDATE tasks SET status = ?2, done = ?3, failed = ?4, errors = ?5, "
                      "pos = ?6, finished_ms = ?7 WHERE id = ?1",
    [W_TASK_FAIL] = "UPDATE tasks SET status = 'failed', finished_ms = ?2 WHERE id = ?1",
};

enum {
    R_BEGIN,
    R_END,
    R_GET,
    R_COLL,
    R_CHANGES,
    R_SCHEMA,
    R_TASK,
    R_TASK_NEXT,
    R_TASK_LOAD,
    R_COUNT
};

static const char *const reader_sql[R_COUNT] = {
    [R_BEGIN] = "BEGIN",
    [R_END] = "COMMIT",
    [R_GET] = "SELECT body, version, created_ms, updated_ms, deleted FROM items "
              "WHERE coll = ?1 AND id = ?2",
    [R_COLL] = "SELECT version, live FROM colls WHERE name = ?1",
    [R_CHANGES] = "SELECT id, body, version, created_ms, updated_ms, deleted FROM items "
                  "WHERE coll = ?1 AND version > ?2 ORDER BY version",
    [R_SCHEMA] = "SELECT json FROM schemas WHERE coll = ?1",
    [R_TASK] = "SELECT id, coll, status, done, total, failed, errors, created_ms, finished_ms "
               "FROM tasks WHERE id = ?1",
    [R_TASK_NEXT] = "SELECT id FROM tasks WHERE status IN ('queued', 'running') "
                    "ORDER BY created_ms, rowid LIMIT 1",
    [R_TASK_LOAD] = "SELECT t.coll, i.input, t.done, t.failed, t.errors, t.pos "
                    "FROM tasks t LEFT JOIN task_inputs i ON i.id = t.id WHERE t.id = ?1",
};

/*
 * The items table keeps tombstones (deleted = 1, body NULL).  The CHECK
 * keeps a body that is not JSON out, so json_extract() in list() never
 * fails on a stored row.  colls.live counts live items, giving list() its
 * unfiltered total without a scan.  A task's input sits in a table of its
 * own: SQLite rewrites a whole row on UPDATE, and the progress row is
 * updated after every batch while the input may be megabytes.  The input
 * is deleted when the task ends.
 */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) "
    "WITHOUT ROWID;"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('seq', 0);"
    "CREATE TABLE IF NOT EXISTS items("
    " coll TEXT NOT NULL, id TEXT NOT NULL,"
    " body TEXT CHECK (body IS NULL OR json_valid(body)),"
    " version INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    " deleted INTEGER NOT NULL DEFAULT 0, UNIQUE (coll, id));"
    "CREATE INDEX IF NOT EXISTS items_by_version ON items(coll, version);"
    "CREATE TABLE IF NOT EXISTS colls(name TEXT PRIMARY KEY, version INTEGER NOT NULL,"
    " live INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS schemas(coll TEXT PRIMARY KEY,"
    " json TEXT NOT NULL CHECK (json_valid(json))) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS tasks("
    " id TEXT PRIMARY KEY, coll TEXT NOT NULL, total INTEGER NOT NULL,"
    " done INTEGER NOT NULL, failed INTEGER NOT NULL, errors TEXT NOT NULL,"
    " status TEXT NOT NULL, created_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL,"
    " pos INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS task_inputs(id TEXT PRIMARY KEY, input BLOB NOT NULL);";

/* ---- state ---- */

struct list_stmt {
    char *sql;
    sqlite3_stmt *st;
};

struct reader {
    struct nxx_store *s;
    sqlite3 *db;
    int immutable; /* opened in MODE_RO_IMMUTABLE: reads hold imm_lock */
    sqlite3_stmt *st[R_COUNT];
    struct list_stmt lists[LIST_CACHE]; /* most recently used first */
    struct reader *prev, *next;
};

enum op_kind { OP_WRITE, OP_SCHEMA, OP_TASK_CREATE, OP_TASK_BATCH, OP_TASK_FAIL };
enum op_state { OP_PENDING, OP_APPLIED, OP_FAILED };

/* One element of a task batch, prepared by the runner. */
struct task_elem {
    uint64_t index;
    int status; /* 0: store body; else the element failed with this status */
    char *id;   /* NULL: the writer assigns one (kept for a replay) */
    char *body;
    size_t body_len;
    char *detail;
};

struct task_batch {
    const char *task_id;
    const char *coll;
    struct task_elem *elems;
    size_t n;
    uint64_t done;    /* elements processed once this batch commits */
    uint64_t failed0; /* failures before this batch */
    uint64_t failed;  /* ... and after it (set by the writer) */
    uint64_t pos;     /* input offset after this batch */
    int last;         /* the input ends with this batch */
    json_t *errors;   /* the task's errors array; the writer appends */
    size_t nerrors0;  /* its size before this batch */
};

struct op {
    struct op *next;
    enum op_kind kind;
    enum op_state state;
    int status;
    int finished; /* synchronous ops: set under s->mu */

    /* OP_WRITE */
    char *coll;
    char *id;
    int (*decide)(void *ctx, const char *id, const struct nxx_item *cur,
                  struct nxx_store_change *change);
    void (*done)(void *ctx, int status, const struct nxx_item *item, int created);
    void *ctx;
    struct nxx_store_change change;
    struct nxx_item item; /* the result; strings point into the op */
    char *keep_body;      /* KEEP: a copy of the current body */
    int has_item;
    int created;

    /* OP_SCHEMA, OP_TASK_CREATE, OP_TASK_FAIL */
    const char *scoll;
    const char *json;
    const char *input;
    size_t input_len;
    uint64_t total;
    char task_id[40];

    struct task_batch *batch;
};

struct nxx_store {
    char *dir;
    char *path;
    char *imm_uri; /* "file:PATH?immutable=1" */
    int lock_fd;
    sqlite3 *db; /* the writer's connection; NULL unless MODE_RW */
    sqlite3_stmt *w[W_COUNT];
    uint64_t seq; /* writer thread only */
    unsigned max_batch;
    uint64_t max_bytes;
    unsigned char rnd[256];
    size_t rnd_pos;

    atomic_int mode;           /* enum store_mode; changed by the writer thread only */
    pthread_rwlock_t imm_lock; /* held for reading by each immutable read */
    uint64_t retry_ms;         /* writer: the next attempt to open for writing (monotonic) */
    int retry_noted;           /* writer: an attempt failed other than for space (logged) */
    int full_noted;            /* writer: "the disk is full" logged since the last commit */

    pthread_mutex_t mu;
    pthread_cond_t wcond;    /* the writer waits for work */
    pthread_cond_t synccond; /* synchronous callers wait for their op */
    pthread_cond_t tcond;    /* the runner waits for tasks */
    struct op *queue, **tail;
    int stopping;
    pthread_t writer;

    nxx_store_task_item_fn task_fn;
    void *task_ctx;
    int runner_started, runner_stop, tasks_pending;
    pthread_t runner;

    pthread_key_t key;
    pthread_mutex_t rmu;
    struct reader *readers;
};

/* ---- helpers ---- */

/* sqlite3 and jansson hand out const text the item struct carries as char *. */
static char *unconst(const void *p)
{
    union {
        const void *c;
        char *m;
    } u = { .c = p };
    return u.m;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_mem(const char *p, size_t n)
{
    char *d = nxx_malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Is an SQLite error a full disk?  ENOSPC and EDQUOT can surface as an I/O
 * error (SQLite reports only ENOSPC on write as SQLITE_FULL), and both mean
 * the same to a client: 507, nothing written.
 */
static int is_full(sqlite3 *db, int rc)
{
    int prim = rc & 0xff;
    if (prim == SQLITE_FULL)
        return 1;
    if (prim != SQLITE_IOERR || !db)
        return 0;
    int e = sqlite3_system_errno(db);
    return e == ENOSPC || e == EDQUOT;
}

/* The error text, with the system error behind an I/O error. */
static void describe(sqlite3 *db, int rc, char *buf, size_t cap)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int prim = rc & 0xff;
    /* the connection keeps the errno of its last I/O error: only that kind has one */
    int e = db && (prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN) ? sqlite3_system_errno(db) : 0;
    if (e)
        snprintf(buf, cap, "%s (%s)", msg, strerror(e));
    else
        snprintf(buf, cap, "%s", msg);
}

/* Map an SQLite error to a store status, and log it. */
static int fail(sqlite3 *db, int rc, const char *what)
{
    char why[300];
    describe(db, rc, why, sizeof(why));
    if (is_full(db, rc)) {
        nxx_log_warn("store: %s: %s", what, why);
        return NXX_STORE_FULL;
    }
    nxx_log_error("store: %s: %s", what, why);
    return NXX_STORE_ERROR;
}

/*
 * fail() for the writer: a full disk is logged once, not for every write
 * it refuses, until a commit succeeds again (run_batch).
 */
static int wfail(struct nxx_store *s, int rc, const char *what)
{
    if (!is_full(s->db, rc))
        return fail(s->db, rc, what);
    if (!s->full_noted) {
        char why[300];
        describe(s->db, rc, why, sizeof(why));
        nxx_log_warn("store: %s: %s; writes answer 507 until there is space (logged once)", what,
                     why);
        s->full_noted = 1;
    }
    return NXX_STORE_FULL;
}

/* Step a statement that yields no row we need; SQLITE_OK or the error. */
static int run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static void done_with(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static int bind_str(sqlite3_stmt *st, int i, const char *v)
{
    return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static int bind_mem(sqlite3_stmt *st, int i, const char *v, size_t n)
{
    return sqlite3_bind_text64(st, i, v, n, SQLITE_STATIC, SQLITE_UTF8);
}

static char *column_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t)
        return NULL;
    return dup_mem((const char *)t, (size_t)sqlite3_column_bytes(st, i));
}

/*
 * Short ids: base62 from the kernel's random bytes, with rejection sampling so every
 * character is equally likely (10 characters: about 59 bits).  The writer
 * thread is the only caller, so the buffer needs no lock.
 */
static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int random_byte(struct nxx_store *s, unsigned char *b)
{
    if (s->rnd_pos >= sizeof(s->rnd)) {
        int err = nxx_os_random(s->rnd, sizeof(s->rnd), 1);
        if (err) {
            nxx_log_error("store: random bytes: %s", strerror(-err));
            return -1;
        }
        s->rnd_pos = 0;
    }
    *b = s->rnd[s->rnd_pos++];
    return 0;
}

static int random_id(struct nxx_store *s, char *out, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char b;
        if (random_byte(s, &b) < 0)
            return -1;
        if (b >= 62 * 4)
            continue;
        out[i++] = base62[b % 62];
    }
    out[len] = '\0';
    return 0;
}

/* ---- read connections ---- */

static void reader_close(struct reader *r)
{
    for (int i = 0; i < R_COUNT; i++)
        sqlite3_finalize(r->st[i]);
    for (int i = 0; i < LIST_CACHE; i++) {
        sqlite3_finalize(r->lists[i].st);
        nxx_free(r->lists[i].sql);
    }
    sqlite3_close(r->db);
    nxx_free(r);
}

static void reader_unlink(struct nxx_store *s, struct reader *r)
{
    pthread_mutex_lock(&s->rmu);
    if (r->prev)
        r->prev->next = r->next;
    else
        s->readers = r->next;
    if (r->next)
        r->next->prev = r->prev;
    pthread_mutex_unlock(&s->rmu);
}

/* Thread exit without nxx_store_thread_done(): release the connection anyway. */
static void reader_at_exit(void *p)
{
    struct reader *r = p;
    reader_unlink(r->s, r);
    reader_close(r);
}

static struct reader *reader_open(struct nxx_store *s, int immutable)
{
    struct reader *r = nxx_calloc(1, sizeof(*r));
    if (!r) {
        nxx_log_error("store: open read connection: out of memory");
        return NULL;
    }
    r->s = s;
    r->immutable = immutable;
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | (immutable ? SQLITE_OPEN_URI : 0);
    int rc = sqlite3_open_v2(immutable ? s->imm_uri : s->path, &r->db, flags, NULL);
    if (rc != SQLITE_OK) {
        nxx_log_error("store: open read connection to '%s': %s", s->path,
                      r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
        sqlite3_close(r->db);
        nxx_free(r);
        return NULL;
    }
    sqlite3_extended_result_codes(r->db, 1);
    sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS);
    if (pthread_setspecific(s->key, r) != 0) {
        nxx_log_error("store: open read connection: pthread_setspecific failed");
        reader_close(r);
        return NULL;
    }
    pthread_mutex_lock(&s->rmu);
    r->next = s->readers;
    if (r->next)
        r->next->prev = r;
    s->readers = r;
    pthread_mutex_unlock(&s->rmu);
    return r;
}

/*
 * The calling thread's read connection for one read call, which ends with
 * reader_leave(): 0 and *out, NXX_STORE_UNAVAILABLE, or NXX_STORE_ERROR.
 * An immutable connection is used only under a read lock of imm_lock and
 * only while the mode still says so; once the writer is back it is
 * replaced by an ordinary one.
 */
static int reader_enter(struct nxx_store *s, struct reader **out)
{
    *out = NULL;
    struct reader *r = pthread_getspecific(s->key);
    if (r && r->immutable) {
        pthread_rwlock_rdlock(&s->imm_lock);
        if (atomic_load(&s->mode) == MODE_RO_IMMUTABLE) {
            *out = r;
            return 0;
        }
        pthread_rwlock_unlock(&s->imm_lock);
        nxx_store_thread_done(s);
        r = NULL;
    }
    if (r) {
        *out = r;
        return 0;
    }
    int mode = atomic_load(&s->mode);
    if (mode == MODE_DOWN)
        return NXX_STORE_UNAVAILABLE;
    if (mode == MODE_RO_IMMUTABLE) {
        pthread_rwlock_rdlock(&s->imm_lock);
        if (atomic_load(&s->mode) == MODE_RO_IMMUTABLE) {
            r = reader_open(s, 1);
            if (!r)
                pthread_rwlock_unlock(&s->imm_lock);
            *out = r;
            return r ? 0 : NXX_STORE_ERROR;
        }
        pthread_rwlock_unlock(&s->imm_lock);
    }
    r = reader_open(s, 0);
    *out = r;
    return r ? 0 : NXX_STORE_ERROR;
}

static void reader_leave(struct reader *r)
{
    if (r && r->immutable)
        pthread_rwlock_unlock(&r->s->imm_lock);
}

static sqlite3_stmt *reader_stmt(struct reader *r, int which)
{
    if (!r->st[which]) {
        int rc = sqlite3_prepare_v3(r->db, reader_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                    &r->st[which], NULL);
        if (rc != SQLITE_OK) {
            fail(r->db, rc, "prepare read statement");
            return NULL;
        }
    }
    return r->st[which];
}

/* A list() statement by its text: a tiny most-recently-used cache. */
static sqlite3_stmt *reader_list_stmt(struct reader *r, const char *sql)
{
    int i = 0;
    while (i < LIST_CACHE && r->lists[i].sql && strcmp(r->lists[i].sql, sql) != 0)
        i++;
    struct list_stmt hit = { 0 };
    if (i < LIST_CACHE && r->lists[i].sql) {
        hit = r->lists[i];
    } else {
        i = LIST_CACHE - 1; /* evict the least recently used */
        sqlite3_finalize(r->lists[i].st);
        nxx_free(r->lists[i].sql);
        r->lists[i].st = NULL;
        r->lists[i].sql = NULL;
        hit.sql = nxx_strdup(sql);
        if (!hit.sql) {
            nxx_log_error("store: list: out of memory");
            return NULL;
        }
        int rc = sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &hit.st, NULL);
        if (rc != SQLITE_OK) {
            fail(r->db, rc, "prepare list statement");
            nxx_free(hit.sql);
            return NULL;
        }
    }
    memmove(&r->lists[1], &r->lists[0], (size_t)i * sizeof(r->lists[0]));
    r->lists[0] = hit;
    return hit.st;
}

void nxx_store_thread_done(struct nxx_store *s)
{
    struct reader *r = pthread_getspecific(s->key);
    if (!r)
        return;
    pthread_setspecific(s->key, NULL);
    reader_unlink(s, r);
    reader_close(r);
}

/* ---- reads ---- */

void nxx_item_release(struct nxx_item *it)
{
    if (!it)
        return;
    nxx_free(it->coll);
    nxx_free(it->id);
    nxx_free(it->body);
    memset(it, 0, sizeof(*it));
}

static int get_item(struct reader *r, const char *coll, const char *id, struct nxx_item *out)
{
    sqlite3_stmt *st = reader_stmt(r, R_GET);
    if (!st)
        return NXX_STORE_ERROR;
    bind_str(st, 1, coll);
    bind_str(st, 2, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        done_with(st);
        return NXX_STORE_NOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        int status = fail(r->db, rc, "get item");
        done_with(st);
        return status;
    }
    out->coll = nxx_strdup(coll);
    out->id = nxx_strdup(id);
    out->body = column_dup(st, 0);
    out->body_len = out->body ? (size_t)sqlite3_column_bytes(st, 0) : 0;
    out->version = (uint64_t)sqlite3_column_int64(st, 1);
    out->created_ms = sqlite3_column_int64(st, 2);
    out->updated_ms = sqlite3_column_int64(st, 3);
    out->deleted = sqlite3_column_int(st, 4) != 0;
    int nobody = !out->body && sqlite3_column_type(st, 0) != SQLITE_NULL;
    done_with(st);
    if (!out->coll || !out->id || nobody) {
        nxx_item_release(out);
        nxx_log_error("store: get item: out of memory");
        return NXX_STORE_ERROR;
    }
    return 0;
}

int nxx_store_get(struct nxx_store *s, const char *coll, const char *id, struct nxx_item *out)
{
    memset(out, 0, sizeof(*out));
    if (!coll || !id)
        return NXX_STORE_NOTFOUND;
    struct reader *r;
    int status = reader_enter(s, &r);
    if (status)
        return status;
    status = get_item(r, coll, id, out);
    reader_leave(r);
    return status;
}

/* Version and live count of coll; 0 when unknown (also on error, which is logged). */
static int coll_info(struct reader *r, const char *coll, uint64_t *version, uint64_t *live)
{
    *version = 0;
    *live = 0;
    sqlite3_stmt *st = reader_stmt(r, R_COLL);
    if (!st)
        return NXX_STORE_ERROR;
    bind_str(st, 1, coll);
    int rc = sqlite3_step(st);
    int status = 0;
    if (rc == SQLITE_ROW) {
        *version = (uint64_t)sqlite3_column_int64(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);
        *live = n > 0 ? (uint64_t)n : 0;
    } else if (rc != SQLITE_DONE) {
        status = fail(r->db, rc, "collection version");
    }
    done_with(st);
    return status;
}

uint64_t nxx_store_coll_version(struct nxx_store *s, const char *coll)
{
    struct reader *r = NULL;
    uint64_t v = 0, live = 0;
    if (coll && reader_enter(s, &r) == 0) {
        coll_info(r, coll, &v, &live);
        reader_leave(r);
    }
    return v;
}

/* Member names that may reach a JSON path: anything else matches nothing. */
static int field_ok(const char *f)
{
    size_t n = 0;
    for (; f[n]; n++) {
        char c = f[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
        if (n >= MAX_FIELD)
            return 0;
    }
    return n > 0;
}

/* Bind "$.field" (a copy), or NULL for an unusable name: json_*() of NULL is NULL. */
static void bind_path(sqlite3_stmt *st, int i, const char *field)
{
    char path[MAX_FIELD + 4];
    if (!field || !field_ok(field)) {
        sqlite3_bind_null(st, i);
        return;
    }
    int n = snprintf(path, sizeof(path), "$.%s", field);
    sqlite3_bind_text(st, i, path, n, SQLITE_TRANSIENT);
}

struct sqlbuf {
    char text[16384];
    size_t len;
};

static void sql_add(struct sqlbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sql_add(struct sqlbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->text + b->len, sizeof(b->text) - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n;
    if (b->len >= sizeof(b->text))
        NXX_BUG("list statement outgrew its buffer"); /* bounded by MAX_FILTERS/MAX_SORT */
}

/*
 * The WHERE clause shared by the count and the page.  A member equals a
 * filter value when its text does: strings unquoted (json_extract), other
 * values as their JSON text ("->" gives numbers, true, false and null as
 * written), so ?active=true and ?n=5 match as a client expects.
 */
static void sql_where(struct sqlbuf *b, size_t nfilters)
{
    sql_add(b, " FROM items WHERE coll = ?1 AND deleted = 0");
    for (size_t i = 0; i < nfilters; i++) {
        int p = 2 + 2 * (int)i;
        sql_add(b,
                " AND (CASE json_type(body, ?%d) WHEN 'text' THEN json_extract(body, ?%d)"
                " ELSE body -> ?%d END) = ?%d",
                p, p, p, p + 1);
    }
}

static void bind_filters(sqlite3_stmt *st, const struct nxx_store_query *q)
{
    bind_str(st, 1, q->coll);
    for (size_t i = 0; i < q->nfilters; i++) {
        int p = 2 + 2 * (int)i;
        bind_path(st, p, q->filters[i].field);
        if (q->filters[i].value)
            bind_str(st, p + 1, q->filters[i].value);
        else
            sqlite3_bind_null(st, p + 1);
    }
}

static int64_t clamp64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* End the read transaction of a list/changes call; safe when none is open. */
static void read_end(struct reader *r)
{
    if (!sqlite3_get_autocommit(r->db)) {
        sqlite3_stmt *st = reader_stmt(r, R_END);
        if (!st || run(st) != SQLITE_OK)
            sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

static int list_items(struct reader *r, const struct nxx_store_query *q,
                      void (*each)(void *ctx, const struct nxx_item *it), void *ctx,
                      uint64_t *total)
{
    /* The count and the page read one snapshot. */
    sqlite3_stmt *begin = reader_stmt(r, R_BEGIN);
    if (!begin)
        return NXX_STORE_ERROR;
    int rc = run(begin);
    if (rc != SQLITE_OK)
        return fail(r->db, rc, "list: begin");

    int status = 0;
    uint64_t count = 0;
    if (q->nfilters == 0) {
        uint64_t version;
        status = coll_info(r, q->coll, &version, &count);
    } else {
        struct sqlbuf b = { .len = 0 };
        sql_add(&b, "SELECT count(*)");
        sql_where(&b, q->nfilters);
        sqlite3_stmt *st = reader_list_stmt(r, b.text);
        if (!st) {
            status = NXX_STORE_ERROR;
        } else {
            bind_filters(st, q);
            rc = sqlite3_step(st);
            if (rc == SQLITE_ROW)
                count = (uint64_t)sqlite3_column_int64(st, 0);
            else
                status = fail(r->db, rc, "list: count");
            done_with(st);
        }
    }
    if (status == 0 && total)
        *total = count;

    if (status == 0 && count > q->offset && each) {
        struct sqlbuf b = { .len = 0 };
        sql_add(&b, "SELECT id, body, version, created_ms, updated_ms");
        sql_where(&b, q->nfilters);
        sql_add(&b, " ORDER BY");
        int p = 2 + 2 * (int)q->nfilters;
        for (size_t i = 0; i < q->nsort; i++)
            sql_add(&b, " json_extract(body, ?%d) %s,", p + (int)i,
                    q->sort[i].desc ? "DESC" : "ASC");
        int pl = p + (int)q->nsort;
        sql_add(&b, " id LIMIT ?%d OFFSET ?%d", pl, pl + 1);
        sqlite3_stmt *st = reader_list_stmt(r, b.text);
        if (!st) {
            status = NXX_STORE_ERROR;
        } else {
            bind_filters(st, q);
            for (size_t i = 0; i < q->nsort; i++)
                bind_path(st, p + (int)i, q->sort[i].field);
            sqlite3_bind_int64(st, pl, q->limit ? clamp64(q->limit) : -1);
            sqlite3_bind_int64(st, pl + 1, clamp64(q->offset));
            while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct nxx_item it = {
                    .coll = unconst(q->coll),
                    .id = unconst(sqlite3_column_text(st, 0)),
                    .body = unconst(sqlite3_column_text(st, 1)),
                    .body_len = (size_t)sqlite3_column_bytes(st, 1),
                    .version = (uint64_t)sqlite3_column_int64(st, 2),
                    .created_ms = sqlite3_column_int64(st, 3),
                    .updated_ms = sqlite3_column_int64(st, 4),
                };
                each(ctx, &it);
            }
            if (rc != SQLITE_DONE)
                status = fail(r->db, rc, "list");
            done_with(st);
        }
    }
    read_end(r);
    return status;
}

int nxx_store_list(struct nxx_store *s, const struct nxx_store_query *q,
                   void (*each)(void *ctx, const struct nxx_item *it), void *ctx, uint64_t *total)
{
    if (total)
        *total = 0;
    if (!q || !q->coll || (q->nfilters && !q->filters) || (q->nsort && !q->sort))
        return 0;
    if (q->nfilters > MAX_FILTERS || q->nsort > MAX_SORT) {
        nxx_log_error("store: list: %zu filters and %zu sort keys; the limits are %d and %d",
                      q->nfilters, q->nsort, MAX_FILTERS, MAX_SORT);
        return NXX_STORE_ERROR;
    }
    struct reader *r;
    int status = reader_enter(s, &r);
    if (status)
        return status;
    status = list_items(r, q, each, ctx, total);
    reader_leave(r);
    return status;
}

int nxx_store_changes(struct nxx_store *s, const char *coll, uint64_t since,
                      void (*each)(void *ctx, const struct nxx_item *it), void *ctx)
{
    if (!coll)
        return 0;
    struct reader *r;
    int status = reader_enter(s, &r);
    if (status)
        return status;
    sqlite3_stmt *st = reader_stmt(r, R_CHANGES);
    if (!st) {
        reader_leave(r);
        return NXX_STORE_ERROR;
    }
    bind_str(st, 1, coll);
    sqlite3_bind_int64(st, 2, clamp64(since));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct nxx_item it = {
            .coll = unconst(coll),
            .id = unconst(sqlite3_column_text(st, 0)),
            .body = unconst(sqlite3_column_text(st, 1)),
            .body_len = (size_t)sqlite3_column_bytes(st, 1),
            .version = (uint64_t)sqlite3_column_int64(st, 2),
            .created_ms = sqlite3_column_int64(st, 3),
            .updated_ms = sqlite3_column_int64(st, 4),
            .deleted = sqlite3_column_int(st, 5) != 0,
        };
        if (each)
            each(ctx, &it);
    }
    status = rc == SQLITE_DONE ? 0 : fail(r->db, rc, "changes");
    done_with(st);
    reader_leave(r);
    return status;
}

int nxx_store_schema_get(struct nxx_store *s, const char *coll, char **json)
{
    *json = NULL;
    if (!coll)
        return NXX_STORE_NOTFOUND;
    struct reader *r;
    int status = reader_enter(s, &r);
    if (status)
        return status;
    sqlite3_stmt *st = reader_stmt(r, R_SCHEMA);
    if (!st) {
        reader_leave(r);
        return NXX_STORE_ERROR;
    }
    bind_str(st, 1, coll);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *json = column_dup(st, 0);
        if (!*json) {
            nxx_log_error("store: schema get: out of memory");
            status = NXX_STORE_ERROR;
        }
    } else {
        status = rc == SQLITE_DONE ? NXX_STORE_NOTFOUND : fail(r->db, rc, "schema get");
    }
    done_with(st);
    reader_leave(r);
    return status;
}

int nxx_store_task_get(struct nxx_store *s, const char *id, struct nxx_task *t)
{
    memset(t, 0, sizeof(*t));
    if (!id)
        return NXX_STORE_NOTFOUND;
    struct reader *r;
    int status = reader_enter(s, &r);
    if (status)
        return status;
    sqlite3_stmt *st = reader_stmt(r, R_TASK);
    if (!st) {
        reader_leave(r);
        return NXX_STORE_ERROR;
    }
    bind_str(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(t->id, sizeof(t->id), "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(t->coll, sizeof(t->coll), "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(t->status, sizeof(t->status), "%s", (const char *)sqlite3_column_text(st, 2));
        t->done = (uint64_t)sqlite3_column_int64(st, 3);
        t->total = (uint64_t)sqlite3_column_int64(st, 4);
        t->failed = (uint64_t)sqlite3_column_int64(st, 5);
        t->errors = column_dup(st, 6);
        t->created_ms = sqlite3_column_int64(st, 7);
        t->finished_ms = sqlite3_column_int64(st, 8);
    } else {
        status = rc == SQLITE_DONE ? NXX_STORE_NOTFOUND : fail(r->db, rc, "task get");
    }
    done_with(st);
    reader_leave(r);
    return status;
}

/* ---- the writer ---- */

/* The current row of (coll, id) in the write transaction. */
struct cur_row {
    int found;
    int deleted;
    uint64_t version;
    int64_t created_ms, updated_ms;
};

/*
 * Step W_GET for (coll, id).  On success W_GET is left on its row (the body
 * column stays readable) until the caller calls done_with(); on error or
 * absence it is already reset.
 */
static int read_cur(struct nxx_store *s, const char *coll, const char *id, struct cur_row *c)
{
    sqlite3_stmt *st = s->w[W_GET];
    memset(c, 0, sizeof(*c));
    bind_str(st, 1, coll);
    bind_str(st, 2, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        done_with(st);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        int status = wfail(s, rc, "read item");
        done_with(st);
        return status;
    }
    c->found = 1;
    c->version = (uint64_t)sqlite3_column_int64(st, 1);
    c->created_ms = sqlite3_column_int64(st, 2);
    c->updated_ms = sqlite3_column_int64(st, 3);
    c->deleted = sqlite3_column_int(st, 4) != 0;
    return 0;
}

/* A fresh item id that no row of coll (tombstones included) has. */
static int new_item_id(struct nxx_store *s, const char *coll, char *id)
{
    for (int tries = 0; tries < 16; tries++) {
        if (random_id(s, id, ITEM_ID_LEN) < 0)
            return NXX_STORE_ERROR;
        struct cur_row c;
        int status = read_cur(s, coll, id, &c);
        if (status)
            return status;
        if (!c.found)
            return 0;
        done_with(s->w[W_GET]);
    }
    nxx_log_error("store: no free id in collection '%s' after 16 tries", coll);
    return NXX_STORE_ERROR;
}

static int bump_coll(struct nxx_store *s, const char *coll, uint64_t version, int delta)
{
    sqlite3_stmt *st = s->w[W_COLL];
    bind_str(st, 1, coll);
    sqlite3_bind_int64(st, 2, (int64_t)version);
    sqlite3_bind_int(st, 3, delta);
    int rc = run(st);
    return rc == SQLITE_OK ? 0 : wfail(s, rc, "update collection version");
}

/* Insert or overwrite (coll, id) with body as version v. */
static int store_body(struct nxx_store *s, const char *coll, const char *id,
                      const struct cur_row *c, const char *body, size_t len, uint64_t v,
                      int64_t now, int64_t *created_ms)
{
    sqlite3_stmt *st;
    int created = !c->found || c->deleted;
    *created_ms = created ? now : c->created_ms;
    if (c->found) {
        st = s->w[W_UPDATE];
        sqlite3_bind_int64(st, 5, *created_ms);
        sqlite3_bind_int64(st, 6, now);
    } else {
        st = s->w[W_INSERT];
        sqlite3_bind_int64(st, 5, now);
    }
    bind_str(st, 1, coll);
    bind_str(st, 2, id);
    bind_mem(st, 3, body, len);
    sqlite3_bind_int64(st, 4, (int64_t)v);
    return run(st);
}

static void op_clear_result(struct op *op)
{
    nxx_free(op->keep_body);
    op->keep_body = NULL;
    memset(&op->item, 0, sizeof(op->item));
    op->has_item = 0;
    op->created = 0;
}

/*
 * One write (inside its savepoint): read the current row, ask decide() --
 * unless replaying, when the change decided before is applied again --
 * then write the row and bump the item and collection versions.
 */
static int apply_write(struct nxx_store *s, struct op *op, int replay)
{
    op_clear_result(op);
    struct cur_row c = { 0 };
    if (!op->id) {
        char id[ITEM_ID_LEN + 1];
        int status = new_item_id(s, op->coll, id);
        if (status)
            return status;
        op->id = nxx_strdup(id);
        if (!op->id) {
            nxx_log_error("store: write: out of memory");
            return NXX_STORE_ERROR;
        }
    } else {
        int status = read_cur(s, op->coll, op->id, &c);
        if (status)
            return status;
    }
    sqlite3_stmt *get = s->w[W_GET];
    if (!replay) {
        struct nxx_item cur = { 0 };
        if (c.found) {
            cur.coll = op->coll;
            cur.id = op->id;
            cur.body = c.deleted ? NULL : unconst(sqlite3_column_text(get, 0));
            cur.body_len = cur.body ? (size_t)sqlite3_column_bytes(get, 0) : 0;
            cur.version = c.version;
            cur.created_ms = c.created_ms;
            cur.updated_ms = c.updated_ms;
            cur.deleted = c.deleted;
        }
        memset(&op->change, 0, sizeof(op->change));
        int d = op->decide(op->ctx, op->id, c.found ? &cur : NULL, &op->change);
        if (d != 0) {
            if (c.found)
                done_with(get);
            nxx_free(op->change.body);
            memset(&op->change, 0, sizeof(op->change));
            return d;
        }
        if (op->change.body && !op->change.body_len)
            op->change.body_len = strlen(op->change.body);
    }

    if (op->change.action == NXX_STORE_KEEP) {
        if (c.found) {
            if (!c.deleted) {
                op->keep_body = column_dup(get, 0);
                if (!op->keep_body) {
                    done_with(get);
                    nxx_log_error("store: write: out of memory");
                    return NXX_STORE_ERROR;
                }
            }
            op->item = (struct nxx_item){
                .coll = op->coll,
                .id = op->id,
                .body = op->keep_body,
                .body_len = op->keep_body ? (size_t)sqlite3_column_bytes(get, 0) : 0,
                .version = c.version,
                .created_ms = c.created_ms,
                .updated_ms = c.updated_ms,
                .deleted = c.deleted,
            };
            op->has_item = 1;
            done_with(get);
        }
        return 0;
    }
    if (c.found)
        done_with(get);

    int64_t now = now_ms();
    uint64_t v = ++s->seq;
    int rc, delta;
    if (op->change.action == NXX_STORE_PUT) {
        if (!op->change.body) {
            nxx_log_error("store: write to '%s': PUT without a body", op->coll);
            return NXX_STORE_ERROR;
        }
        int64_t created_ms;
        rc = store_body(s, op->coll, op->id, &c, op->change.body, op->change.body_len, v, now,
                        &created_ms);
        if (rc != SQLITE_OK)
            return wfail(s, rc, "write item");
        op->created = !c.found || c.deleted;
        delta = op->created ? 1 : 0;
        op->item = (struct nxx_item){
            .coll = op->coll,
            .id = op->id,
            .body = op->change.body,
            .body_len = op->change.body_len,
            .version = v,
            .created_ms = created_ms,
            .updated_ms = now,
        };
    } else if (op->change.action == NXX_STORE_DELETE) {
        if (!c.found || c.deleted)
            return NXX_STORE_NOTFOUND;
        sqlite3_stmt *st = s->w[W_DELETE];
        bind_str(st, 1, op->coll);
        bind_str(st, 2, op->id);
        sqlite3_bind_int64(st, 3, (int64_t)v);
        sqlite3_bind_int64(st, 4, now);
        rc = run(st);
        if (rc != SQLITE_OK)
            return wfail(s, rc, "delete item");
        delta = -1;
        op->item = (struct nxx_item){
            .coll = op->coll,
            .id = op->id,
            .version = v,
            .created_ms = c.created_ms,
            .updated_ms = now,
            .deleted = 1,
        };
    } else {
        nxx_log_error("store: write to '%s': unknown action %d", op->coll, (int)op->change.action);
        return NXX_STORE_ERROR;
    }
    int status = bump_coll(s, op->coll, v, delta);
    if (status)
        return status;
    op->has_item = 1;
    return 0;
}

static int apply_schema(struct nxx_store *s, struct op *op)
{
    sqlite3_stmt *st = s->w[op->json ? W_SCHEMA_PUT : W_SCHEMA_DEL];
    bind_str(st, 1, op->scoll);
    if (op->json)
        bind_str(st, 2, op->json);
    int rc = run(st);
    if (rc != SQLITE_OK)
        return wfail(s, rc, op->json ? "put schema" : "delete schema");
    if (!op->json && sqlite3_changes(s->db) == 0)
        return NXX_STORE_NOTFOUND;
    return 0;
}

static int apply_task_create(struct nxx_store *s, struct op *op)
{
    for (int tries = 0;; tries++) {
        if (tries == 16) {
            nxx_log_error("store: no free task id after 16 tries");
            return NXX_STORE_ERROR;
        }
        if (random_id(s, op->task_id, TASK_ID_LEN) < 0)
            return NXX_STORE_ERROR;
        sqlite3_stmt *st = s->w[W_TASK_EXISTS];
        bind_str(st, 1, op->task_id);
        int rc = sqlite3_step(st);
        done_with(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW)
            return wfail(s, rc, "create task");
    }
    sqlite3_stmt *st = s->w[W_TASK_INSERT];
    bind_str(st, 1, op->task_id);
    bind_str(st, 2, op->scoll);
    sqlite3_bind_int64(st, 3, clamp64(op->total));
    sqlite3_bind_int64(st, 4, now_ms());
    int rc = run(st);
    if (rc != SQLITE_OK)
        return wfail(s, rc, "create task");
    st = s->w[W_TASK_INPUT];
    bind_str(st, 1, op->task_id);
    sqlite3_bind_blob64(st, 2, op->input ? op->input : "", op->input_len, SQLITE_STATIC);
    rc = run(st);
    return rc == SQLITE_OK ? 0 : wfail(s, rc, "store task input");
}

static int add_task_error(json_t *errors, uint64_t index, int status, const char *detail)
{
    if (json_array_size(errors) >= TASK_MAX_ERRORS)
        return 0;
    json_t *e = json_pack("{s:I,s:i,s:s}", "index", (json_int_t)index, "status", status, "detail",
                          detail ? detail : "");
    if (!e || json_array_append_new(errors, e) != 0) {
        nxx_log_error("store: task errors: out of memory");
        return NXX_STORE_ERROR;
    }
    return 0;
}

static void truncate_errors(json_t *errors, size_t n)
{
    while (json_array_size(errors) > n)
        json_array_remove(errors, json_array_size(errors) - 1);
}

/*
 * One batch of a task: its elements' items, then its progress, in one
 * savepoint.  Bulk import creates: an id naming a live item fails the
 * element with 409; a tombstone is recreated, as PUT would.  A constraint
 * failure (a body that is not JSON) fails the element; any other error
 * fails the batch, which the runner retries or gives up.
 */
static int apply_task_batch(struct nxx_store *s, struct op *op)
{
    struct task_batch *b = op->batch;
    truncate_errors(b->errors, b->nerrors0); /* a replay starts over */
    uint64_t failed = b->failed0;
    char detail[160];
    for (size_t i = 0; i < b->n; i++) {
        struct task_elem *e = &b->elems[i];
        int status = e->status;
        const char *why = e->detail;
        struct cur_row c = { 0 };
        if (!status && !e->id) {
            char id[ITEM_ID_LEN + 1];
            status = new_item_id(s, b->coll, id);
            if (status)
                return status;
            e->id = nxx_strdup(id);
            if (!e->id) {
                nxx_log_error("store: task batch: out of memory");
                return NXX_STORE_ERROR;
            }
        } else if (!status) {
            status = read_cur(s, b->coll, e->id, &c);
            if (status)
                return status;
            if (c.found)
                done_with(s->w[W_GET]);
            if (c.found && !c.deleted) {
                snprintf(detail, sizeof(detail), "an item with id '%.100s' already exists", e->id);
                status = 409;
                why = detail;
            }
        }
        if (!status) {
            int64_t created_ms;
            uint64_t v = ++s->seq;
            int rc =
                store_body(s, b->coll, e->id, &c, e->body, e->body_len, v, now_ms(), &created_ms);
            if ((rc & 0xff) == SQLITE_CONSTRAINT) {
                /* only this statement was undone; the transaction goes on */
                wfail(s, rc, "task item");
                status = NXX_STORE_ERROR;
                why = "the item could not be stored";
            } else if (rc != SQLITE_OK) {
                return wfail(s, rc, "task item");
            } else {
                status = bump_coll(s, b->coll, v, 1);
                if (status)
                    return status;
            }
        }
        if (status) {
            failed++;
            if (add_task_error(b->errors, e->index, status, why))
                return NXX_STORE_ERROR;
        }
    }
    char *errors = json_dumps(b->errors, JSON_COMPACT);
    if (!errors) {
        nxx_log_error("store: task errors: out of memory");
        return NXX_STORE_ERROR;
    }
    sqlite3_stmt *st = s->w[W_TASK_UPDATE];
    bind_str(st, 1, b->task_id);
    bind_str(st, 2, b->last ? "done" : "running");
    sqlite3_bind_int64(st, 3, clamp64(b->done));
    sqlite3_bind_int64(st, 4, clamp64(failed));
    bind_str(st, 5, errors);
    sqlite3_bind_int64(st, 6, clamp64(b->pos));
    sqlite3_bind_int64(st, 7, b->last ? now_ms() : 0);
    int rc = run(st);
    free(errors); /* jansson's allocator */
    if (rc != SQLITE_OK)
        return wfail(s, rc, "task progress");
    if (b->last) {
        st = s->w[W_TASK_INPUT_DEL];
        bind_str(st, 1, b->task_id);
        rc = run(st);
        if (rc != SQLITE_OK)
            return wfail(s, rc, "delete task input");
    }
    b->failed = failed;
    return 0;
}

static int apply_task_fail(struct nxx_store *s, struct op *op)
{
    sqlite3_stmt *st = s->w[W_TASK_FAIL];
    bind_str(st, 1, op->task_id);
    sqlite3_bind_int64(st, 2, now_ms());
    int rc = run(st);
    if (rc != SQLITE_OK)
        return wfail(s, rc, "mark task failed");
    st = s->w[W_TASK_INPUT_DEL];
    bind_str(st, 1, op->task_id);
    rc = run(st);
    return rc == SQLITE_OK ? 0 : wfail(s, rc, "delete task input");
}

/* Run one op in its own savepoint; a failure undoes only this op. */
static int apply_op(struct nxx_store *s, struct op *op, int replay)
{
    int rc = run(s->w[W_SAVEPOINT]);
    if (rc != SQLITE_OK)
        return wfail(s, rc, "savepoint");
    int status;
    switch (op->kind) {
    case OP_WRITE: status = apply_write(s, op, replay); break;
    case OP_SCHEMA: status = apply_schema(s, op); break;
    case OP_TASK_CREATE: status = apply_task_create(s, op); break;
    case OP_TASK_BATCH: status = apply_task_batch(s, op); break;
    case OP_TASK_FAIL: status = apply_task_fail(s, op); break;
    default: NXX_BUG("unknown store op");
    }
    if (sqlite3_get_autocommit(s->db))
        return status ? status : NXX_STORE_ERROR; /* SQLite rolled everything back */
    if (status == 0) {
        rc = run(s->w[W_RELEASE]);
        if (rc != SQLITE_OK)
            status = wfail(s, rc, "release savepoint");
    }
    if (status != 0 && !sqlite3_get_autocommit(s->db)) {
        run(s->w[W_ROLLBACK_TO]);
        run(s->w[W_RELEASE]);
    }
    return status;
}

static void fail_ops(struct op *batch, int status)
{
    for (struct op *op = batch; op; op = op->next) {
        if (op->state == OP_FAILED)
            continue;
        op->state = OP_FAILED;
        op->status = status;
        if (op->kind == OP_WRITE)
            op_clear_result(op);
    }
}

/*
 * One group commit.  When SQLite rolls the whole transaction back (disk
 * full, I/O error), the failing op keeps its error and the ops applied
 * before it are replayed in a new transaction; each round fails at least
 * one more op, so this ends.
 */
static void run_batch(struct nxx_store *s, struct op *batch)
{
    for (int round = 0;; round++) {
        int rc = run(s->w[W_BEGIN]);
        if (rc != SQLITE_OK) {
            fail_ops(batch, wfail(s, rc, "begin"));
            return;
        }
        /*
         * The sequence as committed: under the write lock another process
         * writing the same file (an admin tool, a second server by mistake)
         * cannot make two writes share a version.
         */
        sqlite3_stmt *st = s->w[W_SEQ_GET];
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > (int64_t)s->seq)
            s->seq = (uint64_t)sqlite3_column_int64(st, 0);
        done_with(st);
        if (rc != SQLITE_ROW) {
            int status = wfail(s, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, "read sequence");
            run(s->w[W_ROLLBACK]);
            fail_ops(batch, status);
            return;
        }
        int lost = 0, any = 0;
        for (struct op *op = batch; op && !lost; op = op->next) {
            if (op->state == OP_FAILED)
                continue;
            int status = apply_op(s, op, op->state == OP_APPLIED);
            if (status == 0) {
                op->state = OP_APPLIED;
                any = 1;
                continue;
            }
            op->state = OP_FAILED;
            op->status = status;
            if (op->kind == OP_WRITE)
                op_clear_result(op);
            lost = sqlite3_get_autocommit(s->db);
        }
        if (lost) {
            if (round < 64)
                continue;
            fail_ops(batch, NXX_STORE_ERROR);
            return;
        }
        if (any) {
            sqlite3_bind_int64(s->w[W_SEQ], 1, (int64_t)s->seq);
            rc = run(s->w[W_SEQ]);
            if (rc != SQLITE_OK) {
                int status = wfail(s, rc, "update sequence");
                if (!sqlite3_get_autocommit(s->db))
                    run(s->w[W_ROLLBACK]);
                fail_ops(batch, status);
                return;
            }
        }
        rc = run(s->w[W_COMMIT]);
        if (rc != SQLITE_OK) {
            int status = wfail(s, rc, "commit");
            if (!sqlite3_get_autocommit(s->db))
                run(s->w[W_ROLLBACK]);
            fail_ops(batch, status);
        } else if (any && s->full_noted) {
            nxx_log_info("store: '%s': there is space again; writes succeed", s->path);
            s->full_noted = 0;
        }
        return;
    }
}

static void free_op(struct op *op)
{
    nxx_free(op->coll);
    nxx_free(op->id);
    nxx_free(op->change.body);
    nxx_free(op->keep_body);
    nxx_free(op);
}

/* After the commit: callbacks for writes, wake-ups for synchronous callers. */
static void finish_batch(struct nxx_store *s, struct op *batch)
{
    struct op *sync = NULL, **sync_tail = &sync;
    int tasks = 0;
    for (struct op *op = batch, *next; op; op = next) {
        next = op->next;
        if (op->kind != OP_WRITE) {
            *sync_tail = op;
            sync_tail = &op->next;
            continue;
        }
        int ok = op->state == OP_APPLIED;
        op->done(op->ctx, ok ? 0 : op->status, ok && op->has_item ? &op->item : NULL,
                 ok ? op->created : 0);
        free_op(op);
    }
    *sync_tail = NULL;
    if (!sync)
        return;
    pthread_mutex_lock(&s->mu);
    for (struct op *op = sync, *next; op; op = next) {
        next = op->next; /* read first: a woken caller's op lives on its stack */
        if (op->state == OP_APPLIED)
            op->status = 0;
        tasks |= op->kind == OP_TASK_CREATE && op->state == OP_APPLIED;
        op->finished = 1;
    }
    if (tasks) {
        s->tasks_pending = 1;
        pthread_cond_signal(&s->tcond);
    }
    pthread_cond_broadcast(&s->synccond);
    pthread_mutex_unlock(&s->mu);
}

static void reopen(struct nxx_store *s);

/*
 * Sleep on wcond until work arrives; a store that is not writable also
 * wakes when its next attempt to open for writing is due, and makes it.
 */
static void writer_wait(struct nxx_store *s)
{
    while (!s->queue && !s->stopping) {
        if (atomic_load(&s->mode) == MODE_RW) {
            pthread_cond_wait(&s->wcond, &s->mu);
            continue;
        }
        uint64_t now = mono_ms();
        if (now >= s->retry_ms) {
            pthread_mutex_unlock(&s->mu);
            reopen(s);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (s->retry_ms - now) * 1000000;
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&s->wcond, &s->mu, &ts);
    }
}

static void *writer_main(void *arg)
{
    struct nxx_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        writer_wait(s);
        if (!s->queue)
            break;
        struct op *batch = s->queue, *last = batch;
        for (unsigned n = 1; n < s->max_batch && last->next; n++)
            last = last->next;
        s->queue = last->next;
        if (!s->queue)
            s->tail = &s->queue;
        last->next = NULL;
        pthread_mutex_unlock(&s->mu);
        if (atomic_load(&s->mode) != MODE_RW && mono_ms() >= s->retry_ms)
            reopen(s);
        int mode = atomic_load(&s->mode);
        if (mode == MODE_RW)
            run_batch(s, batch);
        else /* nothing is written; done() and synchronous callers hear why */
            fail_ops(batch, mode == MODE_DOWN ? NXX_STORE_UNAVAILABLE : NXX_STORE_FULL);
        finish_batch(s, batch);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    nxx_store_thread_done(s); /* decide() or done() may have read */
    return NULL;
}

static void enqueue_locked(struct nxx_store *s, struct op *op)
{
    op->next = NULL;
    *s->tail = op;
    s->tail = &op->next;
    pthread_cond_signal(&s->wcond);
}

int nxx_store_submit(struct nxx_store *s, const struct nxx_store_write *w)
{
    if (!w || !w->coll || !w->decide || !w->done)
        return NXX_STORE_ERROR;
    struct op *op = nxx_calloc(1, sizeof(*op));
    if (!op)
        return NXX_STORE_ERROR;
    op->kind = OP_WRITE;
    op->coll = nxx_strdup(w->coll);
    op->id = w->id ? nxx_strdup(w->id) : NULL;
    op->decide = w->decide;
    op->done = w->done;
    op->ctx = w->ctx;
    if (!op->coll || (w->id && !op->id)) {
        free_op(op);
        return NXX_STORE_ERROR;
    }
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        free_op(op);
        return NXX_STORE_ERROR;
    }
    enqueue_locked(s, op);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Queue op (on the caller's stack) and wait for its commit. */
static int run_sync(struct nxx_store *s, struct op *op)
{
    if (pthread_equal(pthread_self(), s->writer)) {
        nxx_log_error("store: a synchronous store call from the writer thread would deadlock");
        return NXX_STORE_ERROR;
    }
    op->status = NXX_STORE_ERROR;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return NXX_STORE_ERROR;
    }
    enqueue_locked(s, op);
    while (!op->finished)
        pthread_cond_wait(&s->synccond, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return op->status;
}

int nxx_store_schema_put(struct nxx_store *s, const char *coll, const char *json)
{
    if (!coll)
        return NXX_STORE_ERROR;
    struct op op = { .kind = OP_SCHEMA, .scoll = coll, .json = json };
    return run_sync(s, &op);
}

int nxx_store_task_create(struct nxx_store *s, const char *coll, const char *input,
                          size_t input_len, uint64_t total, char id[40])
{
    id[0] = '\0';
    if (!coll || strlen(coll) >= sizeof(((struct nxx_task *)0)->coll))
        return NXX_STORE_ERROR;
    struct op op = {
        .kind = OP_TASK_CREATE,
        .scoll = coll,
        .input = input,
        .input_len = input_len,
        .total = total,
    };
    int status = run_sync(s, &op);
    if (status == 0)
        memcpy(id, op.task_id, TASK_ID_LEN + 1);
    return status;
}

/* ---- the task runner ---- */

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * The next element of a task's input from *pos: 1 with its span, 0 at the
 * end.  An array is split at top-level commas by tracking strings and
 * nesting only; item() parses each element, so a malformed one fails alone.
 * Every call that returns 1 moves *pos forward or leaves it on the closing
 * bracket, so the walk ends.  NDJSON: one element per non-blank line.
 */
static int next_elem(const char *in, size_t n, int array, size_t *pos, size_t *start, size_t *len)
{
    size_t p = *pos;
    if (!array) {
        while (p < n) {
            size_t e = p;
            while (e < n && in[e] != '\n')
                e++;
            size_t a = p, b = e;
            p = e < n ? e + 1 : n;
            while (a < b && is_ws(in[a]))
                a++;
            while (b > a && is_ws(in[b - 1]))
                b--;
            if (a < b) {
                *start = a;
                *len = b - a;
                *pos = p;
                return 1;
            }
        }
        *pos = p;
        return 0;
    }
    if (p == 0) {
        while (p < n && is_ws(in[p]))
            p++;
        if (p >= n || in[p] != '[') {
            *pos = n;
            return 0;
        }
        p++;
    }
    while (p < n && is_ws(in[p]))
        p++;
    if (p >= n || in[p] == ']') {
        *pos = p;
        return 0;
    }
    size_t a = p;
    unsigned long depth = 0;
    for (; p < n; p++) {
        char c = in[p];
        if (c == '"') {
            for (p++; p < n && in[p] != '"'; p++)
                if (in[p] == '\\')
                    p++;
            if (p >= n)
                break;
        } else if (c == '[' || c == '{') {
            depth++;
        } else if (c == '}') {
            if (depth)
                depth--;
        } else if (c == ']') {
            if (!depth)
                break;
            depth--;
        } else if (c == ',' && !depth) {
            break;
        }
    }
    if (p > n)
        p = n;
    size_t b = p;
    while (b > a && is_ws(in[b - 1]))
        b--;
    *start = a;
    *len = b - a;
    if (p < n && in[p] == ',')
        p++;
    *pos = p;
    return 1;
}

static int runner_stopping(struct nxx_store *s)
{
    pthread_mutex_lock(&s->mu);
    int stop = s->runner_stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* The oldest unfinished task: 0 and id, NOTFOUND, or an error. */
static int next_task(struct nxx_store *s, char id[40])
{
    struct reader *r;
    int status = reader_enter(s, &r);
    if (status)
        return status;
    sqlite3_stmt *st = reader_stmt(r, R_TASK_NEXT);
    if (!st) {
        reader_leave(r);
        return NXX_STORE_ERROR;
    }
    int rc = sqlite3_step(st);
    status = NXX_STORE_NOTFOUND;
    if (rc == SQLITE_ROW) {
        snprintf(id, 40, "%s", (const char *)sqlite3_column_text(st, 0));
        status = 0;
    } else if (rc != SQLITE_DONE) {
        status = fail(r->db, rc, "find tasks");
    }
    done_with(st);
    reader_leave(r);
    return status;
}

struct task_run {
    char id[40];
    char coll[72];
    char *input;
    size_t len;
    int array;
    uint64_t done, failed;
    size_t pos;
    json_t *errors;
};

static int load_task_row(struct reader *r, struct task_run *t)
{
    sqlite3_stmt *st = reader_stmt(r, R_TASK_LOAD);
    if (!st)
        return NXX_STORE_ERROR;
    bind_str(st, 1, t->id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        int status = rc == SQLITE_DONE ? NXX_STORE_NOTFOUND : fail(r->db, rc, "load task");
        done_with(st);
        return status;
    }
    snprintf(t->coll, sizeof(t->coll), "%s", (const char *)sqlite3_column_text(st, 0));
    const void *in = sqlite3_column_blob(st, 1);
    t->len = (size_t)sqlite3_column_bytes(st, 1);
    t->input = dup_mem(in ? in : "", t->len);
    t->done = (uint64_t)sqlite3_column_int64(st, 2);
    t->failed = (uint64_t)sqlite3_column_int64(st, 3);
    const char *errors = (const char *)sqlite3_column_text(st, 4);
    t->errors = errors ? json_loads(errors, 0, NULL) : NULL;
    if (t->errors && !json_is_array(t->errors)) {
        json_decref(t->errors);
        t->errors = NULL;
    }
    if (!t->errors)
        t->errors = json_array();
    int64_t pos = sqlite3_column_int64(st, 5);
    t->pos = pos > 0 && (uint64_t)pos <= t->len ? (size_t)pos : 0;
    done_with(st);
    if (!t->input || !t->errors) {
        nxx_log_error("store: load task '%s': out of memory", t->id);
        return NXX_STORE_ERROR;
    }
    size_t i = 0;
    while (i < t->len && is_ws(t->input[i]))
        i++;
    t->array = i < t->len && t->input[i] == '[';
    return 0;
}

static int load_task(struct nxx_store *s, struct task_run *t)
{
    struct reader *r;
    int status = reader_enter(s, &r);
    if (status)
        return status;
    status = load_task_row(r, t);
    reader_leave(r);
    return status;
}

static void free_elems(struct task_elem *elems, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        nxx_free(elems[i].id);
        nxx_free(elems[i].body);
        nxx_free(elems[i].detail);
        memset(&elems[i], 0, sizeof(elems[i]));
    }
}

/* Ask item() about one element; failures are recorded in e. */
static void prepare_elem(struct nxx_store *s, struct task_run *t, const char *elem, size_t len,
                         struct task_elem *e)
{
    char *id = NULL;
    const char *detail = NULL;
    struct nxx_store_change change = { 0 };
    int rc = s->task_fn(s->task_ctx, t->coll, elem, len, &id, &change, &detail);
    if (rc == 0 && (change.action != NXX_STORE_PUT || !change.body)) {
        nxx_log_error("store: task '%s': item() returned no PUT", t->id);
        rc = NXX_STORE_ERROR;
        detail = "the element could not be stored";
    }
    if (rc != 0) {
        nxx_free(id);
        nxx_free(change.body);
        e->status = rc;
        e->detail = nxx_strdup(detail ? detail : "the element was rejected");
        return;
    }
    e->id = id;
    e->body = change.body;
    e->body_len = change.body_len ? change.body_len : strlen(change.body);
}

static int submit_batch(struct nxx_store *s, struct task_run *t, struct task_batch *b)
{
    b->failed0 = t->failed;
    b->nerrors0 = json_array_size(t->errors);
    struct op op = { .kind = OP_TASK_BATCH, .batch = b };
    int status = run_sync(s, &op);
    if (status)
        truncate_errors(t->errors, b->nerrors0);
    return status;
}

/*
 * Run task id from where its last batch ended.  0 when it finished or the
 * store is closing; otherwise it could not be stored and has been marked
 * failed where possible.
 */
static int run_task(struct nxx_store *s, const char *id)
{
    struct task_run t = { .id = "" };
    snprintf(t.id, sizeof(t.id), "%s", id);
    int status = load_task(s, &t);
    struct task_elem *elems = nxx_calloc(TASK_BATCH, sizeof(*elems));
    if (!elems && !status) {
        nxx_log_error("store: run task '%s': out of memory", t.id);
        status = NXX_STORE_ERROR;
    }
    while (status == 0) {
        struct task_batch b = {
            .task_id = t.id,
            .coll = t.coll,
            .elems = elems,
            .errors = t.errors,
        };
        size_t pos = t.pos, bytes = 0;
        int stop = 0;
        while (b.n < TASK_BATCH && bytes < TASK_BATCH_BYTES) {
            if ((b.n & 63) == 0 && runner_stopping(s)) {
                stop = 1; /* the partial batch is redone after a restart */
                break;
            }
            size_t start, len;
            if (!next_elem(t.input, t.len, t.array, &pos, &start, &len)) {
                b.last = 1;
                break;
            }
            struct task_elem *e = &elems[b.n];
            e->index = t.done + b.n;
            b.n++;
            prepare_elem(s, &t, t.input + start, len, e);
            bytes += len;
        }
        if (stop) {
            free_elems(elems, b.n);
            break;
        }
        b.done = t.done + b.n;
        b.pos = pos;
        status = submit_batch(s, &t, &b);
        if (status == NXX_STORE_FULL) {
            /* record the batch's elements as refused and move on */
            for (size_t i = 0; i < b.n; i++) {
                struct task_elem *e = &elems[i];
                nxx_free(e->id);
                nxx_free(e->body);
                nxx_free(e->detail);
                e->id = e->body = NULL;
                e->status = NXX_STORE_FULL;
                e->detail = nxx_strdup("insufficient storage for the item");
            }
            status = submit_batch(s, &t, &b);
        }
        free_elems(elems, b.n);
        if (status)
            break;
        t.done = b.done;
        t.failed = b.failed;
        t.pos = pos;
        if (b.last)
            break;
        if (runner_stopping(s))
            break;
    }
    if (status && status != NXX_STORE_NOTFOUND) {
        nxx_log_error("store: task '%s' stopped at element %llu", t.id, (unsigned long long)t.done);
        struct op op = { .kind = OP_TASK_FAIL };
        memcpy(op.task_id, t.id, sizeof(op.task_id));
        if (run_sync(s, &op) == 0)
            status = 0;
    }
    nxx_free(elems);
    nxx_free(t.input);
    json_decref(t.errors);
    return status;
}

static void *runner_main(void *arg)
{
    struct nxx_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        /* a store that is not writable could not record any progress */
        while (!s->runner_stop && (!s->tasks_pending || atomic_load(&s->mode) != MODE_RW))
            pthread_cond_wait(&s->tcond, &s->mu);
        if (s->runner_stop)
            break;
        s->tasks_pending = 0;
        pthread_mutex_unlock(&s->mu);
        char id[40];
        while (!runner_stopping(s) && next_task(s, id) == 0) {
            if (run_task(s, id) != 0)
                break; /* could not even mark it failed: wait for the next task */
        }
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    nxx_store_thread_done(s);
    return NULL;
}

void nxx_store_task_runner(struct nxx_store *s, nxx_store_task_item_fn fn, void *ctx)
{
    pthread_mutex_lock(&s->mu);
    if (s->runner_started || !fn || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->task_fn = fn;
    s->task_ctx = ctx;
    s->tasks_pending = 1; /* tasks left unfinished by the last run */
    if (pthread_create(&s->runner, NULL, runner_main, s) == 0)
        s->runner_started = 1;
    else
        nxx_log_error("store: cannot start the task runner thread");
    pthread_mutex_unlock(&s->mu);
}

/* ---- open and close ---- */

/*
 * At open: did this failure come from a full disk?  Besides what is_full()
 * counts, an I/O error or a file that cannot be opened on a file system with
 * almost no space left: SQLite does not always keep the errno behind those
 * (growing the -shm is one of them).
 */
static int open_full(const struct nxx_store *s, sqlite3 *db, int rc)
{
    if (is_full(db, rc))
        return 1;
    int prim = rc & 0xff;
    if (prim != SQLITE_IOERR && prim != SQLITE_CANTOPEN)
        return 0;
    int e = db ? sqlite3_system_errno(db) : 0;
    if (e == ENOSPC || e == EDQUOT)
        return 1;
    struct statvfs fs;
    return statvfs(s->dir, &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize < LOW_SPACE;
}

/* Say what failed in err (the caller logs it) and return its status. */
static int open_fail(const struct nxx_store *s, sqlite3 *db, int rc, const char *what, char *err,
                     size_t cap)
{
    char why[300];
    describe(db, rc, why, sizeof(why));
    snprintf(err, cap, "%s: %s", what, why);
    return open_full(s, db, rc) ? NXX_STORE_FULL : NXX_STORE_ERROR;
}

/* A query of one integer: SQLITE_OK and *v (-1 without a row), or the error. */
static int query_int(sqlite3 *db, const char *sql, int64_t *v)
{
    sqlite3_stmt *st = NULL;
    *v = -1;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *v = sqlite3_column_int64(st, 0);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

enum db_format { FMT_CURRENT, FMT_NEW, FMT_FOREIGN };

/*
 * What the file holds: an nxx store of DB_FORMAT with every table, nothing
 * yet (FMT_NEW: the schema is created), or something else.  Only reads, so
 * a store that has its schema needs no write to be opened.
 */
static int read_format(sqlite3 *db, enum db_format *fmt, int64_t *format)
{
    int64_t app = -1, tables = -1;
    int rc = query_int(db, "PRAGMA user_version", format);
    if (rc == SQLITE_OK)
        rc = query_int(db, "PRAGMA application_id", &app);
    if (rc == SQLITE_OK)
        rc = query_int(db,
                       "SELECT count(*) FROM sqlite_master WHERE name IN ('meta', 'items', "
                       "'items_by_version', 'colls', 'schemas', 'tasks', 'task_inputs')",
                       &tables);
    if (rc != SQLITE_OK)
        return rc;
    if (*format > DB_FORMAT || (*format > 0 && app != APP_ID))
        *fmt = FMT_FOREIGN;
    else if (*format < DB_FORMAT || tables != 7)
        *fmt = FMT_NEW;
    else
        *fmt = FMT_CURRENT;
    return SQLITE_OK;
}

static int foreign(const struct nxx_store *s, int64_t format, char *err, size_t cap)
{
    snprintf(err, cap, "'%s' is not an nxx database of format %d (found format %lld)", s->path,
             DB_FORMAT, (long long)format);
    return NXX_STORE_ERROR;
}

/* The writer's connection s->db, just opened: set it up.  0, or a status with err set. */
static int setup_db(struct nxx_store *s, char *err, size_t cap)
{
    sqlite3 *db = s->db;
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);

    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int wal =
        rc == SQLITE_ROW && sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (!wal)
        return open_fail(s, db, rc == SQLITE_ROW ? SQLITE_ERROR : rc, "cannot switch to WAL mode",
                         err, cap);
    /*
     * synchronous=FULL: every commit fsyncs the WAL, so a done() with 0 has
     * survived a crash or power loss.  The WAL is truncated back after a
     * checkpoint so one big import does not leave a big file behind.
     */
    rc = sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA journal_size_limit=67108864;", NULL,
                      NULL, NULL);
    if (rc != SQLITE_OK)
        return open_fail(s, db, rc, "set pragmas", err, cap);

    enum db_format fmt;
    int64_t format = -1;
    rc = read_format(db, &fmt, &format);
    if (rc != SQLITE_OK)
        return open_fail(s, db, rc, "read the format", err, cap);
    if (fmt == FMT_FOREIGN)
        return foreign(s, format, err, cap);
    if (fmt == FMT_NEW) {
        char sql[sizeof(schema_sql) + 128];
        snprintf(sql, sizeof(sql),
                 "BEGIN IMMEDIATE;%sPRAGMA user_version=%d;"
                 "PRAGMA application_id=%d;COMMIT;",
                 schema_sql, DB_FORMAT, APP_ID);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            int status = open_fail(s, db, rc, "create schema", err, cap);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return status;
        }
    }

    if (s->max_bytes) {
        int64_t page = -1;
        query_int(db, "PRAGMA page_size", &page);
        if (page <= 0)
            page = 4096;
        uint64_t pages = s->max_bytes / (uint64_t)page;
        if (pages < 1)
            pages = 1;
        if (pages > 0xfffffffeu)
            pages = 0xfffffffeu;
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA max_page_count=%llu", (unsigned long long)pages);
        int64_t got;
        rc = query_int(db, pragma, &got);
        if (rc != SQLITE_OK)
            return open_fail(s, db, rc, "set the size limit", err, cap);
    }

    int64_t seq = -1;
    rc = query_int(db, "SELECT value FROM meta WHERE key = 'seq'", &seq);
    if (rc != SQLITE_OK || seq < 0)
        return open_fail(s, db, rc != SQLITE_OK ? rc : SQLITE_CORRUPT, "cannot read the sequence",
                         err, cap);
    s->seq = (uint64_t)seq;

    for (int i = 0; i < W_COUNT; i++) {
        rc = sqlite3_prepare_v3(db, writer_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->w[i], NULL);
        if (rc != SQLITE_OK)
            return open_fail(s, db, rc, "prepare write statement", err, cap);
    }
    return 0;
}

static void close_rw(struct nxx_store *s)
{
    for (int i = 0; i < W_COUNT; i++) {
        sqlite3_finalize(s->w[i]);
        s->w[i] = NULL;
    }
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        nxx_log_error("store: close '%s': %s", s->path, sqlite3_errmsg(s->db));
    s->db = NULL;
}

/* Open the writer's connection: 0, NXX_STORE_FULL (a full disk), NXX_STORE_ERROR; err says why. */
static int open_rw(struct nxx_store *s, char *err, size_t cap)
{
    int rc = sqlite3_open_v2(
        s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    int status =
        rc == SQLITE_OK ? setup_db(s, err, cap) : open_fail(s, s->db, rc, "open", err, cap);
    if (status)
        close_rw(s);
    return status;
}

/* Is the -wal absent or empty, so that the database file alone holds every commit? */
static int wal_empty(const struct nxx_store *s)
{
    size_t n = strlen(s->path) + sizeof("-wal");
    char *wal = nxx_malloc(n);
    if (!wal)
        return 0;
    snprintf(wal, n, "%s-wal", s->path);
    struct stat st;
    int empty = stat(wal, &st) != 0 ? errno == ENOENT : st.st_size == 0;
    nxx_free(wal);
    return empty;
}

/*
 * The store could not be opened for writing: can it be read?  *mode becomes
 * MODE_RO (ordinary read connections work), MODE_RO_IMMUTABLE (only
 * immutable ones, and the -wal is empty) or MODE_DOWN (*why says why).
 * Returns 0, or NXX_STORE_ERROR when the file holds something else than a
 * store.
 */
static int probe_ro(struct nxx_store *s, int *mode, const char **why, char *err, size_t cap)
{
    *mode = MODE_DOWN;
    *why = "there is no store to read yet";
    struct stat st;
    if (stat(s->path, &st) != 0 || st.st_size == 0)
        return 0;
    *why = "the store cannot be read";
    for (int immutable = 0; immutable < 2; immutable++) {
        if (immutable && !wal_empty(s)) {
            *why = "its write-ahead log cannot be read without writing to the disk";
            break;
        }
        sqlite3 *db = NULL;
        int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | (immutable ? SQLITE_OPEN_URI : 0);
        int rc = sqlite3_open_v2(immutable ? s->imm_uri : s->path, &db, flags, NULL);
        enum db_format fmt = FMT_NEW;
        int64_t format = -1, seq = -1;
        if (rc == SQLITE_OK)
            rc = read_format(db, &fmt, &format);
        if (rc == SQLITE_OK && fmt == FMT_CURRENT)
            rc = query_int(db, "SELECT value FROM meta WHERE key = 'seq'", &seq);
        sqlite3_close(db);
        if (rc != SQLITE_OK)
            continue;
        if (fmt == FMT_FOREIGN)
            return foreign(s, format, err, cap);
        if (fmt == FMT_NEW) {
            *why = "there is no store to read yet";
            return 0;
        }
        if (seq >= 0) {
            *mode = immutable ? MODE_RO_IMMUTABLE : MODE_RO;
            return 0;
        }
    }
    return 0;
}

static void destroy(struct nxx_store *s)
{
    close_rw(s);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    nxx_free(s->dir);
    nxx_free(s->path);
    nxx_free(s->imm_uri);
    nxx_free(s);
}

/*
 * One open store per data directory: a second server on the same
 * directory would run the same bulk tasks twice.  flock() belongs to the
 * open file description, so a second open in this process is caught too,
 * and the kernel drops the lock when the process dies, kill -9 included.
 * The directory is made first (mkdir(2) on a full disk may fail: that is
 * NXX_STORE_FULL, tried again later).
 */
static int lock_dir(struct nxx_store *s, char *err, size_t cap)
{
    if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        snprintf(err, cap, "create directory '%s': %s", s->dir, strerror(e));
        return e == ENOSPC || e == EDQUOT ? NXX_STORE_FULL : NXX_STORE_ERROR;
    }
    size_t n = strlen(s->dir) + sizeof("/nxx.lock");
    char *path = nxx_malloc(n);
    if (!path) {
        snprintf(err, cap, "out of memory");
        return NXX_STORE_ERROR;
    }
    snprintf(path, n, "%s/nxx.lock", s->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int status = 0;
    if (fd < 0) {
        int e = errno;
        snprintf(err, cap, "open '%s': %s", path, strerror(e));
        status = e == ENOSPC || e == EDQUOT ? NXX_STORE_FULL : NXX_STORE_ERROR;
    } else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            snprintf(err, cap,
                     "'%s' is in use by another open store (another nxx on the same data "
                     "directory?)",
                     s->dir);
        else
            snprintf(err, cap, "lock '%s': %s", path, strerror(errno));
        close(fd);
        status = NXX_STORE_ERROR;
    } else {
        s->lock_fd = fd;
    }
    nxx_free(path);
    return status;
}

/* "file:PATH?immutable=1", the path percent-encoded but for unreserved characters and '/'. */
static char *immutable_uri(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    char *u = nxx_malloc(sizeof("file:?immutable=1") + 3 * n);
    if (!u)
        return NULL;
    char *p = u;
    memcpy(p, "file:", 5);
    p += 5;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("/-._~", c)) {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    memcpy(p, "?immutable=1", sizeof("?immutable=1"));
    return u;
}

/*
 * The writer thread, while the store is not writable: try to open it for
 * writing (and, while nothing can be read, to read it).  Only a change of
 * state is logged, and an unexpected failure once.
 */
static void reopen(struct nxx_store *s)
{
    s->retry_ms = mono_ms() + (uint64_t)NXX_STORE_RETRY_SECONDS * 1000;
    char err[512] = "";
    int status = s->lock_fd < 0 ? lock_dir(s, err, sizeof(err)) : 0;
    if (status == 0)
        status = open_rw(s, err, sizeof(err));
    int was = atomic_load(&s->mode);
    if (status == 0) {
        atomic_store(&s->mode, MODE_RW);
        if (was == MODE_RO_IMMUTABLE) {
            /* immutable reads in flight end before anything is written */
            pthread_rwlock_wrlock(&s->imm_lock);
            pthread_rwlock_unlock(&s->imm_lock);
        }
        s->retry_noted = 0;
        nxx_log_info("store: '%s' is open for writing again", s->path);
        pthread_mutex_lock(&s->mu);
        s->tasks_pending = 1; /* tasks left unfinished */
        pthread_cond_broadcast(&s->tcond);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (status == NXX_STORE_FULL && was == MODE_DOWN && s->lock_fd >= 0) {
        int mode;
        const char *why;
        char perr[512];
        if (probe_ro(s, &mode, &why, perr, sizeof(perr)) == 0 && mode != MODE_DOWN) {
            atomic_store(&s->mode, mode);
            nxx_log_info("store: '%s' can be read now; it stays read-only (writes answer 507) "
                         "while the disk is full",
                         s->path);
        }
        return;
    }
    if (status != NXX_STORE_FULL && !s->retry_noted) {
        nxx_log_error("store: '%s': %s; trying again every %d s (logged once)", s->path, err,
                      NXX_STORE_RETRY_SECONDS);
        s->retry_noted = 1;
    }
}

int nxx_store_state(struct nxx_store *s)
{
    switch (atomic_load(&s->mode)) {
    case MODE_RW: return 0;
    case MODE_DOWN: return NXX_STORE_UNAVAILABLE;
    default: return NXX_STORE_FULL;
    }
}

static void sync_release(struct nxx_store *s)
{
    pthread_key_delete(s->key);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->rmu);
    pthread_cond_destroy(&s->wcond);
    pthread_cond_destroy(&s->synccond);
    pthread_cond_destroy(&s->tcond);
    pthread_rwlock_destroy(&s->imm_lock);
}

static int sync_init(struct nxx_store *s)
{
    if (pthread_key_create(&s->key, reader_at_exit) != 0)
        return -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the retry deadline */
    pthread_cond_init(&s->wcond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&s->synccond, NULL);
    pthread_cond_init(&s->tcond, NULL);
    /* the writer's one barrier must not wait behind a stream of readers */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->imm_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    return 0;
}

int nxx_store_open(const char *dir, const struct nxx_store_options *opt, struct nxx_store **out)
{
    *out = NULL;
    if (!dir || !*dir) {
        nxx_log_error("store: no data directory");
        return NXX_STORE_ERROR;
    }
    struct nxx_store *s = nxx_calloc(1, sizeof(*s));
    if (!s) {
        nxx_log_error("store: open: out of memory");
        return NXX_STORE_ERROR;
    }
    s->lock_fd = -1;
    size_t n = strlen(dir) + sizeof("/nxx.db");
    s->dir = nxx_strdup(dir);
    s->path = nxx_malloc(n);
    if (s->path)
        snprintf(s->path, n, "%s/nxx.db", dir);
    s->imm_uri = s->path ? immutable_uri(s->path) : NULL;
    if (!s->dir || !s->imm_uri) {
        destroy(s);
        nxx_log_error("store: open: out of memory");
        return NXX_STORE_ERROR;
    }
    s->max_batch = opt && opt->max_batch ? opt->max_batch : DEFAULT_BATCH;
    s->max_bytes = opt ? opt->max_bytes : 0;
    s->rnd_pos = sizeof(s->rnd); /* empty: filled on first use */
    s->tail = &s->queue;

    char err[512] = "";
    int status = lock_dir(s, err, sizeof(err));
    if (status == 0)
        status = open_rw(s, err, sizeof(err));
    int mode = MODE_RW;
    if (status == NXX_STORE_FULL) {
        const char *why = "there is no store to read yet";
        char perr[512];
        if (s->lock_fd >= 0 && probe_ro(s, &mode, &why, perr, sizeof(perr)) != 0) {
            nxx_log_error("store: %s", perr);
            destroy(s);
            return NXX_STORE_ERROR;
        }
        if (mode == MODE_DOWN)
            nxx_log_warn("store: '%s': %s; the disk is full and %s, so the API answers 503 "
                         "until the store can be opened (tried every %d s)",
                         s->path, err, why, NXX_STORE_RETRY_SECONDS);
        else
            nxx_log_warn("store: '%s': %s; the disk is full, so the store is open read-only: "
                         "reads work, writes answer 507 until it can be opened for writing "
                         "(tried every %d s)",
                         s->path, err, NXX_STORE_RETRY_SECONDS);
        status = 0;
    }
    if (status) {
        nxx_log_error("store: %s", err);
        destroy(s);
        return NXX_STORE_ERROR;
    }
    atomic_init(&s->mode, mode);
    s->retry_ms = mono_ms() + (uint64_t)NXX_STORE_RETRY_SECONDS * 1000;
    if (sync_init(s) != 0) {
        nxx_log_error("store: open: no thread-specific key left");
        destroy(s);
        return NXX_STORE_ERROR;
    }
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        nxx_log_error("store: open: cannot start the writer thread");
        sync_release(s);
        destroy(s);
        return NXX_STORE_ERROR;
    }
    *out = s;
    return 0;
}

void nxx_store_close(struct nxx_store *s)
{
    if (!s)
        return;
    /* The runner first: its last batch still needs the writer. */
    pthread_mutex_lock(&s->mu);
    s->runner_stop = 1;
    pthread_cond_broadcast(&s->tcond);
    int runner = s->runner_started;
    pthread_mutex_unlock(&s->mu);
    if (runner)
        pthread_join(s->runner, NULL);

    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_signal(&s->wcond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);

    nxx_store_thread_done(s);
    pthread_mutex_lock(&s->rmu);
    struct reader *r = s->readers;
    s->readers = NULL;
    pthread_mutex_unlock(&s->rmu);
    while (r) {
        struct reader *next = r->next;
        reader_close(r);
        r = next;
    }
    sync_release(s);
    destroy(s); /* the last connection: SQLite checkpoints and removes the WAL */
}
