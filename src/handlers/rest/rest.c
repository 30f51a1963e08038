/*
 * rest.c - the REST JSON store's HTTP side: routes under a prefix for
 * collections of JSON objects, their items, collection schemas and bulk
 * import tasks, over the storage interface of store.h.  This file holds the
 * set-up, the early checks, the schema cache and every read (GET/HEAD of
 * items and collections, the 226 changes feed, schemas, task monitors);
 * rest_write.c holds the writes, rest_cache.c the recently read items and
 * rest_json.c the text work.
 *
 * Reads are synchronous on the worker thread (the store gives each thread
 * its own read connection); a GET of an item usually comes from the cache.  Writes go to the
 * store's writer thread, which evaluates the preconditions against the current item inside the
 * write transaction, so two writers holding the same ETag cannot both win.
 *
 * Checks that need only the head (names, 406, 415) run as the location's
 * head policy, before the body is read: a request that will fail is
 * answered without its body, and without a 100 Continue (RFC 9110 §10.1.1).
 * A database is opened once per data directory and shared by every
 * location and configuration generation that serves it, so a reload keeps
 * the store, its writer and task threads and the caches.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "handlers/rest/rest.h"
#include "http/cond.h"
#include "http/date.h"
#include "http/field.h"
#include "http/negotiate.h"
#include "http/request.h"
#include "http/site.h"
#include "core/banned.h"

#define MAX_FILTERS 16
#define MAX_SORT 8

void nxx_rest_config_init(nxx_rest_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->prefix = "/api";
    cfg->data_dir = "./data";
    cfg->max_list = 1000;
}

/* ---- names ---- */

int nxx_rest_coll_ok(nxx_str s)
{
    if (s.len == 0 || s.len > REST_COLL_MAX)
        return 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    /* the handler's own resources sit beside the collections */
    return !NXX_STR_EQ(s, "_schemas") && !NXX_STR_EQ(s, "_tasks");
}

int nxx_rest_id_ok(nxx_str s)
{
    if (s.len == 0 || s.len > REST_ID_MAX)
        return 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '~' || c == '-'))
            return 0;
    }
    return 1;
}

void nxx_rest_cstr(char *dst, size_t cap, nxx_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

/* The collection (and item) named by the route, checked; 0 or 404 with a detail. */
static int route_names(nxx_req *req, char coll[REST_COLL_MAX + 1], char *id)
{
    nxx_str c = nxx_req_param(req, "coll");
    if (!nxx_rest_coll_ok(c)) {
        nxx_req_detail(req,
                       "'%.*s' is not a collection name (1 to %d of a-z, 0-9, '_' and "
                       "'-'; '_schemas' and '_tasks' are reserved)",
                       (int)(c.len > 80 ? 80 : c.len), c.ptr ? c.ptr : "", REST_COLL_MAX);
        return 404;
    }
    nxx_rest_cstr(coll, REST_COLL_MAX + 1, c);
    if (id) {
        nxx_str i = nxx_req_param(req, "id");
        if (!nxx_rest_id_ok(i)) {
            nxx_req_detail(req, "'%.*s' is not an item id (1 to %d of A-Z, a-z, 0-9 and '._~-')",
                           (int)(i.len > 80 ? 80 : i.len), i.ptr ? i.ptr : "", REST_ID_MAX);
            return 404;
        }
        nxx_rest_cstr(id, REST_ID_MAX + 1, i);
    }
    return 0;
}

/* ---- negotiation helpers ---- */

int nxx_rest_not_acceptable(nxx_req *req)
{
    nxx_str accept = nxx_req_header_list(req, "accept");
    if (!accept.ptr)
        return 0;
    return nxx_accept_q(accept, 1, "application/json") == 0;
}

int nxx_rest_prefer_minimal(nxx_req *req)
{
    nxx_str prefer = nxx_req_header_list(req, "prefer");
    struct nxx_field_iter it;
    nxx_str elem, name, value;
    nxx_field_iter_init(&it, prefer);
    /* preference = token [ BWS "=" BWS word ] *( OWS ";" [ OWS parameter ] ) (RFC 7240 §2) */
    while (nxx_field_list_next(&it, &elem)) {
        struct nxx_field_iter e;
        nxx_field_iter_init(&e, elem);
        if (nxx_field_pair(&e, NXX_FIELD_BWS | NXX_FIELD_BARE, &name, &value) == 0 &&
            NXX_STR_IEQ(name, "return") && nxx_field_value_ieq(value, NXX_STR("minimal")))
            return 1;
    }
    return 0;
}

static void conditions(nxx_req *req, struct nxx_conditions *c)
{
    c->if_match = nxx_req_header_list(req, "if-match");
    c->if_none_match = nxx_req_header_list(req, "if-none-match");
    c->if_modified_since = nxx_req_header(req, "if-modified-since");
    c->if_unmodified_since = nxx_req_header(req, "if-unmodified-since");
    c->if_range = (nxx_str){ NULL, 0 };
}

int nxx_rest_unavailable(nxx_req *req)
{
    nxx_resp_headerf(req, "Retry-After", "%d", NXX_STORE_RETRY_SECONDS);
    nxx_req_detail(req, "%s", REST_UNAVAILABLE_DETAIL);
    return 503;
}

int nxx_rest_store_failed(nxx_req *req, int rc, const char *what)
{
    if (rc == NXX_STORE_FULL) {
        nxx_req_detail(req, "%s", REST_FULL_DETAIL);
        return 507;
    }
    if (rc == NXX_STORE_UNAVAILABLE)
        return nxx_rest_unavailable(req);
    nxx_log_error("request %s: store error while %s", nxx_req_id(req).ptr, what);
    nxx_req_detail(req, "storage error while %s (request %s)", what, nxx_req_id(req).ptr);
    return 500;
}

int nxx_rest_send_422(nxx_req *req, const char *detail, const char *errors_json)
{
    struct nxx_rest_buf b = { 0 };
    nxx_str path = nxx_req_path(req), rid = nxx_req_id(req);
    REST_PUTS(&b, "{\"type\":\"about:blank\",\"title\":\"Unprocessable Content\","
                  "\"status\":422,\"detail\":");
    nxx_rest_buf_jstr(&b, detail, strlen(detail));
    REST_PUTS(&b, ",\"instance\":");
    nxx_rest_buf_jstr(&b, path.ptr, path.len);
    REST_PUTS(&b, ",\"requestId\":");
    nxx_rest_buf_jstr(&b, rid.ptr, rid.len);
    if (errors_json) {
        REST_PUTS(&b, ",\"errors\":");
        nxx_rest_buf_put(&b, errors_json, strlen(errors_json));
    }
    REST_PUTS(&b, "}\n");
    size_t len = 0;
    char *body = nxx_rest_buf_take(&b, &len);
    if (!body)
        return nxx_resp_error(req, 500, "out of memory");
    nxx_resp_status(req, 422);
    nxx_resp_header(req, "Content-Type", NXX_STR("application/problem+json"));
    nxx_resp_header(req, "Cache-Control", NXX_STR("no-store"));
    int err = nxx_resp_send(req, body, len, 0);
    nxx_free(body);
    return err;
}

/* ---- the schema cache ---- */

static size_t slot_hash(const char *coll)
{
    uint32_t h = 2166136261u;
    for (const char *p = coll; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % REST_SCHEMA_BUCKETS;
}

void nxx_rest_schema_release(struct nxx_rest_schema *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        nxx_schema_free(s->compiled);
        nxx_free(s);
    }
}

static void slots_clear(struct nxx_rest_db *db)
{
    for (size_t i = 0; i < REST_SCHEMA_BUCKETS; i++) {
        while (db->slots[i]) {
            struct nxx_rest_slot *sl = db->slots[i];
            db->slots[i] = sl->next;
            nxx_rest_schema_release(sl->schema);
            nxx_free(sl);
        }
    }
    db->nslots = 0;
}

static struct nxx_rest_slot *slot_find(struct nxx_rest_db *db, const char *coll)
{
    for (struct nxx_rest_slot *sl = db->slots[slot_hash(coll)]; sl; sl = sl->next)
        if (strcmp(sl->coll, coll) == 0)
            return sl;
    return NULL;
}

/*
 * Compile a stored schema.  It was compiled when it was stored, so a failure
 * here means the database was edited behind our back: log it and validate
 * nothing rather than refuse every write.
 */
static struct nxx_rest_schema *schema_load(const char *coll, const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    struct nxx_schema_error err;
    struct nxx_schema *compiled = doc ? nxx_schema_compile(doc, &err) : NULL;
    json_decref(doc);
    if (!compiled) {
        nxx_log_error("the stored schema of collection '%s' does not compile; ignoring it", coll);
        return NULL;
    }
    struct nxx_rest_schema *s = nxx_malloc(sizeof(*s));
    if (!s) {
        nxx_schema_free(compiled);
        return NULL;
    }
    s->compiled = compiled;
    atomic_init(&s->refs, 1);
    return s;
}

/*
 * The schema of coll with a reference for the caller, or NULL when it has
 * none; 0, or a store status when it could not be read.  A miss reads the
 * store outside the lock; schema_gen tells whether the schema changed
 * meanwhile, in which case what was read is used once but not cached.
 */
int nxx_rest_schema_lookup(struct nxx_rest_db *db, const char *coll, struct nxx_rest_schema **out)
{
    *out = NULL;
    pthread_mutex_lock(&db->schema_lock);
    struct nxx_rest_slot *sl = slot_find(db, coll);
    if (sl) {
        if (sl->schema)
            atomic_fetch_add(&sl->schema->refs, 1);
        *out = sl->schema;
        pthread_mutex_unlock(&db->schema_lock);
        return 0;
    }
    uint64_t gen = db->schema_gen;
    pthread_mutex_unlock(&db->schema_lock);

    char *text = NULL;
    int rc = nxx_store_schema_get(db->store, coll, &text);
    if (rc && rc != NXX_STORE_NOTFOUND)
        return rc;
    struct nxx_rest_schema *s = rc == 0 ? schema_load(coll, text) : NULL;
    free(text);

    pthread_mutex_lock(&db->schema_lock);
    if (gen == db->schema_gen && !slot_find(db, coll)) {
        if (db->nslots >= REST_SCHEMA_SLOTS)
            slots_clear(db); /* collections are client-named: keep the cache bounded */
        struct nxx_rest_slot *ns = nxx_malloc(sizeof(*ns));
        if (ns) {
            nxx_rest_cstr(ns->coll, sizeof(ns->coll), (nxx_str){ coll, strlen(coll) });
            ns->schema = s;
            if (s)
                atomic_fetch_add(&s->refs, 1); /* the cache's */
            size_t h = slot_hash(coll);
            ns->next = db->slots[h];
            db->slots[h] = ns;
            db->nslots++;
        }
    }
    pthread_mutex_unlock(&db->schema_lock);
    *out = s;
    return 0;
}

void nxx_rest_schema_forget(struct nxx_rest_db *db, const char *coll)
{
    pthread_mutex_lock(&db->schema_lock);
    db->schema_gen++;
    struct nxx_rest_slot **pp = &db->slots[slot_hash(coll)];
    while (*pp) {
        struct nxx_rest_slot *sl = *pp;
        if (strcmp(sl->coll, coll) == 0) {
            *pp = sl->next;
            nxx_rest_schema_release(sl->schema);
            nxx_free(sl);
            db->nslots--;
            break;
        }
        pp = &sl->next;
    }
    pthread_mutex_unlock(&db->schema_lock);
}

/* ---- GET item ---- */

int64_t nxx_rest_last_modified(nxx_req *req, int64_t updated_ms)
{
    int64_t t = updated_ms / 1000;
    int64_t date = nxx_req_wall_s(req); /* the second the response's Date carries */
    return t < date ? t : date;
}

/* "\"<version>\"" into buf (32 bytes); returns the length. */
static size_t format_etag(char *buf, uint64_t version)
{
    buf[0] = '"';
    size_t n = 1 + nxx_u64toa(buf + 1, version);
    buf[n++] = '"';
    buf[n] = '\0';
    return n;
}

static int item_get(nxx_req *req, void *ud)
{
    struct nxx_rest *r = nxx_rest_of(ud);
    char coll[REST_COLL_MAX + 1], id[REST_ID_MAX + 1];
    int s = route_names(req, coll, id);
    if (s)
        return s;
    if (nxx_rest_not_acceptable(req))
        return 406;
    struct nxx_rest_cached cv;
    uint64_t gen = 0;
    if (!nxx_rest_cache_get(r->db->cache, coll, id, req, &cv, &gen)) {
        struct nxx_item it;
        int rc = nxx_store_get(r->db->store, coll, id, &it);
        if (rc == NXX_STORE_NOTFOUND || (rc == 0 && it.deleted)) {
            /*
             * The item's own caching rule: the error page would otherwise be
             * heuristically cacheable (RFC 9111 §4.2.2), and a shared cache
             * could go on answering 404 or 410 after a PUT creates the item.
             */
            NXX_RESP_HEADER(req, "Cache-Control", NXX_STR("no-cache"));
            if (rc) {
                nxx_req_detail(req, "no item '%s' in collection '%s'", id, coll);
                return 404;
            }
            nxx_item_release(&it);
            nxx_req_detail(req, "item '%s' of collection '%s' was deleted", id, coll);
            return 410;
        }
        if (rc)
            return nxx_rest_store_failed(req, rc, "reading an item");
        nxx_rest_cache_put(r->db->cache, coll, id, gen, &it);
        cv.body = nxx_req_alloc(req, it.body_len ? it.body_len : 1);
        if (cv.body)
            memcpy(cv.body, it.body, it.body_len);
        cv.body_len = it.body_len;
        cv.version = it.version;
        cv.updated_ms = it.updated_ms;
        nxx_item_release(&it);
        if (!cv.body)
            return 500;
    }
    char etag[32], lm[NXX_DATE_LEN + 1];
    size_t n = format_etag(etag, cv.version);
    int64_t mtime = cv.updated_ms / 1000;
    struct nxx_validators v = { { etag, n }, mtime, 1 };
    struct nxx_conditions c;
    conditions(req, &c);
    int cs = nxx_cond_evaluate(&c, &v, 1);
    if (cs == 412) {
        nxx_req_detail(req, "the item's current entity-tag is %s", etag);
        return 412;
    }
    nxx_date_format(nxx_rest_last_modified(req, cv.updated_ms), lm);
    NXX_RESP_HEADER(req, "ETag", (nxx_str){ etag, n });
    NXX_RESP_HEADER(req, "Last-Modified", (nxx_str){ lm, NXX_DATE_LEN });
    NXX_RESP_HEADER(req, "Cache-Control", NXX_STR("no-cache"));
    if (cs == 304) {
        nxx_resp_status(req, 304);
        return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
    }
    NXX_RESP_HEADER(req, "Content-Type", NXX_STR("application/json"));
    return nxx_resp_send(req, cv.body, cv.body_len, NXX_BORROW) ? 500 : 0;
}

/* ---- GET collection ---- */

struct listing {
    uint64_t limit, offset;
    struct nxx_store_filter filters[MAX_FILTERS];
    size_t nfilters;
    struct nxx_store_sort sort[MAX_SORT];
    size_t nsort;
    struct nxx_rest_buf keep; /* the raw query minus limit and offset, for Link */
};

/* A decoded, NUL-terminated copy of a query component in the request arena. */
static char *query_str(nxx_req *req, const char *s, size_t n)
{
    char *out = nxx_req_alloc(req, n + 1);
    if (!out)
        return NULL;
    long len = nxx_rest_pct_decode(s, n, out, 1);
    if (len < 0 || memchr(out, '\0', (size_t)len))
        return NULL;
    out[len] = '\0';
    return out;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s || strlen(s) > 19)
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return 0;
}

/*
 * Copy a query parameter into the Link targets.  It is a URI-reference
 * inside <...> in a list of links (RFC 8288 §3), so anything that could end
 * it or the field ('>', ',', ';', quotes, spaces, bytes outside ASCII) is
 * percent-encoded.
 */
static void keep_param(struct nxx_rest_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c > 0x20 && c < 0x7f && !strchr("<>\"',;\\^`{|}", c)) {
            nxx_rest_buf_putc(b, (char)c);
        } else {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };
            nxx_rest_buf_put(b, e, 3);
        }
    }
}

static int parse_listing(nxx_req *req, struct nxx_rest *r, struct listing *l)
{
    l->limit = REST_DEFAULT_LIMIT < r->max_list ? REST_DEFAULT_LIMIT : r->max_list;
    l->offset = 0;
    nxx_str q = nxx_req_query(req);
    const char *p = q.ptr, *end = q.ptr + q.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp)
            amp = end;
        const char *eq = memchr(p, '=', (size_t)(amp - p));
        const char *ne = eq ? eq : amp;
        if (ne == p) {
            p = amp < end ? amp + 1 : end;
            continue;
        }
        char *name = query_str(req, p, (size_t)(ne - p));
        char *val = eq ? query_str(req, eq + 1, (size_t)(amp - eq - 1)) : query_str(req, "", 0);
        if (!name || !val) {
            nxx_req_detail(req, "malformed percent-encoding in the query");
            return 400;
        }
        if (strcmp(name, "limit") == 0) {
            if (parse_u64(val, &l->limit) < 0 || l->limit == 0) {
                nxx_req_detail(req, "limit must be a whole number from 1 to %llu, not '%.40s'",
                               (unsigned long long)r->max_list, val);
                return 400;
            }
            if (l->limit > r->max_list)
                l->limit = r->max_list;
        } else if (strcmp(name, "offset") == 0) {
            if (parse_u64(val, &l->offset) < 0) {
                nxx_req_detail(req, "offset must be a whole number, not '%.40s'", val);
                return 400;
            }
        } else {
            if (l->keep.len)
                nxx_rest_buf_putc(&l->keep, '&');
            keep_param(&l->keep, p, (size_t)(amp - p));
            if (strcmp(name, "sort") == 0) {
                char *f = val;
                while (f) {
                    char *comma = strchr(f, ',');
                    if (comma)
                        *comma = '\0';
                    int desc = 0;
                    while (*f == ' ' || *f == '+' || *f == '-') {
                        desc = *f == '-';
                        f++;
                    }
                    if (!*f || l->nsort == MAX_SORT) {
                        nxx_req_detail(req,
                                       "sort takes 1 to %d field names separated by ',' "
                                       "(a '-' before a name sorts descending)",
                                       MAX_SORT);
                        return 400;
                    }
                    l->sort[l->nsort].field = f;
                    l->sort[l->nsort++].desc = desc;
                    f = comma ? comma + 1 : NULL;
                }
            } else {
                if (l->nfilters == MAX_FILTERS) {
                    nxx_req_detail(req, "at most %d filters in one query", MAX_FILTERS);
                    return 400;
                }
                l->filters[l->nfilters].field = name;
                l->filters[l->nfilters++].value = val;
            }
        }
        p = amp < end ? amp + 1 : end;
    }
    return l->keep.oom ? 500 : 0;
}

struct collector {
    struct nxx_rest_buf b;
    uint64_t n;
};

static void collect_item(void *ctx, const struct nxx_item *it)
{
    struct collector *c = ctx;
    nxx_rest_buf_putc(&c->b, c->n++ ? ',' : '[');
    nxx_rest_buf_put(&c->b, it->body, it->body_len);
}

static void collect_change(void *ctx, const struct nxx_item *it)
{
    struct collector *c = ctx;
    nxx_rest_buf_putc(&c->b, c->n++ ? ',' : '[');
    if (it->deleted || !it->body) {
        REST_PUTS(&c->b, "{\"id\":");
        nxx_rest_buf_jstr(&c->b, it->id, strlen(it->id));
        REST_PUTS(&c->b, ",\"deleted\":true}");
    } else {
        nxx_rest_buf_put(&c->b, it->body, it->body_len);
    }
}

static void free_body(void *p)
{
    nxx_free(p);
}

/* Send the collected array (borrowed by the engine, freed with the request). */
static int send_collected(nxx_req *req, struct collector *c)
{
    if (!c->n)
        nxx_rest_buf_putc(&c->b, '[');
    nxx_rest_buf_putc(&c->b, ']');
    size_t len = 0;
    char *body = nxx_rest_buf_take(&c->b, &len);
    if (!body || nxx_req_on_done(req, free_body, body) != 0) {
        nxx_free(body);
        return 500;
    }
    nxx_resp_header(req, "Content-Type", NXX_STR("application/json"));
    return nxx_resp_send(req, body, len, NXX_BORROW) ? 500 : 0;
}

static void link_one(struct nxx_rest_buf *b, struct nxx_rest *r, const char *coll,
                     const struct listing *l, uint64_t offset, const char *rel)
{
    if (b->len)
        REST_PUTS(b, ", ");
    nxx_rest_buf_putc(b, '<');
    nxx_rest_buf_put(b, r->prefix, r->prefix_len);
    nxx_rest_buf_putc(b, '/');
    nxx_rest_buf_put(b, coll, strlen(coll));
    nxx_rest_buf_putc(b, '?');
    if (l->keep.len) {
        nxx_rest_buf_put(b, l->keep.p, l->keep.len);
        nxx_rest_buf_putc(b, '&');
    }
    REST_PUTS(b, "limit=");
    nxx_rest_buf_u64(b, l->limit);
    REST_PUTS(b, "&offset=");
    nxx_rest_buf_u64(b, offset);
    REST_PUTS(b, ">; rel=\"");
    nxx_rest_buf_put(b, rel, strlen(rel));
    nxx_rest_buf_putc(b, '"');
}

/* RFC 8288 links to the neighbouring pages (and the first and last) when there are several. */
static void add_links(nxx_req *req, struct nxx_rest *r, const char *coll, const struct listing *l,
                      uint64_t total)
{
    if (l->offset == 0 && total <= l->limit)
        return;
    struct nxx_rest_buf b = { 0 };
    link_one(&b, r, coll, l, 0, "first");
    if (l->offset > 0)
        link_one(&b, r, coll, l, l->offset > l->limit ? l->offset - l->limit : 0, "prev");
    if (l->offset + l->limit < total)
        link_one(&b, r, coll, l, l->offset + l->limit, "next");
    if (total > 0)
        link_one(&b, r, coll, l, (total - 1) / l->limit * l->limit, "last");
    if (!b.oom)
        nxx_resp_header(req, "Link", (nxx_str){ b.p, b.len });
    nxx_rest_buf_free(&b);
}

/*
 * The version in an If-None-Match of "c<version>" tags (the first such tag),
 * or -1; a list that does not parse has none, as it matches nothing either.
 */
static int64_t feed_since(nxx_str inm)
{
    struct nxx_field_iter it;
    nxx_str tag;
    int weak;
    nxx_field_iter_init(&it, inm);
    while (nxx_etag_list_next(&it, &tag, &weak) > 0) {
        /* DQUOTE "c" 1*19DIGIT DQUOTE: 19 digits always fit in 64 bits */
        if (tag.len < 4 || tag.len > 23 || tag.ptr[1] != 'c')
            continue;
        uint64_t v = 0;
        size_t i = 2;
        while (i < tag.len - 1 && tag.ptr[i] >= '0' && tag.ptr[i] <= '9')
            v = v * 10 + (uint64_t)(tag.ptr[i++] - '0');
        if (i == tag.len - 1)
            return (int64_t)v;
    }
    return -1;
}

static int coll_get(nxx_req *req, void *ud)
{
    struct nxx_rest *r = nxx_rest_of(ud);
    char coll[REST_COLL_MAX + 1];
    int s = route_names(req, coll, NULL);
    if (s)
        return s;
    if (nxx_rest_not_acceptable(req))
        return 406;
    /* the version first: a write racing the listing can only make the tag older than
     * the content, which costs a client one more full response, never a stale one */
    uint64_t version = nxx_store_coll_version(r->db->store, coll);
    char etag[32];
    int n = snprintf(etag, sizeof(etag), "\"c%llu\"", (unsigned long long)version);
    nxx_str etag_s = { etag, (size_t)n };
    struct nxx_conditions c;
    conditions(req, &c);

    /* RFC 3229 §10.5.3 with the feed instance-manipulation: only what changed */
    nxx_str aim = nxx_req_header_list(req, "a-im");
    if (aim.len && NXX_FIELD_LIST_HAS(aim, "feed") && c.if_none_match.len) {
        int64_t since = feed_since(c.if_none_match);
        if (since >= 0 && (uint64_t)since <= version) {
            nxx_resp_header(req, "ETag", etag_s);
            nxx_resp_header(req, "Cache-Control", NXX_STR("no-cache"));
            nxx_resp_header(req, "Vary", NXX_STR("A-IM, If-None-Match"));
            if ((uint64_t)since == version) {
                nxx_resp_status(req, 304);
                return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
            }
            struct collector col = { { 0 }, 0 };
            int rc = nxx_store_changes(r->db->store, coll, (uint64_t)since, collect_change, &col);
            if (rc) {
                nxx_rest_buf_free(&col.b);
                return nxx_rest_store_failed(req, rc, "reading the changes feed");
            }
            nxx_resp_status(req, 226);
            nxx_resp_header(req, "IM", NXX_STR("feed"));
            return send_collected(req, &col);
        }
    }

    struct nxx_validators v = { etag_s, -1, 1 };
    int cs = nxx_cond_evaluate(&c, &v, 1);
    if (cs == 412) {
        nxx_req_detail(req, "the collection's current entity-tag is %s", etag);
        return 412;
    }
    struct listing l;
    memset(&l, 0, sizeof(l));
    s = parse_listing(req, r, &l);
    if (s) {
        nxx_rest_buf_free(&l.keep);
        return s;
    }
    nxx_resp_header(req, "ETag", etag_s);
    nxx_resp_header(req, "Cache-Control", NXX_STR("no-cache"));
    nxx_resp_header(req, "Vary", NXX_STR("A-IM"));
    if (cs == 304) {
        nxx_rest_buf_free(&l.keep);
        nxx_resp_status(req, 304);
        return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
    }
    struct nxx_store_query q = {
        .coll = coll,
        .filters = l.filters,
        .nfilters = l.nfilters,
        .sort = l.sort,
        .nsort = l.nsort,
        .limit = l.limit,
        .offset = l.offset,
    };
    struct collector col = { { 0 }, 0 };
    uint64_t total = 0;
    int rc = nxx_store_list(r->db->store, &q, collect_item, &col, &total);
    if (rc) {
        nxx_rest_buf_free(&col.b);
        nxx_rest_buf_free(&l.keep);
        return nxx_rest_store_failed(req, rc, "listing a collection");
    }
    nxx_resp_headerf(req, "X-Total-Count", "%llu", (unsigned long long)total);
    add_links(req, r, coll, &l, total);
    nxx_rest_buf_free(&l.keep);
    return send_collected(req, &col);
}

/* ---- schemas ---- */

static int schema_get(nxx_req *req, void *ud)
{
    struct nxx_rest *r = nxx_rest_of(ud);
    char coll[REST_COLL_MAX + 1];
    int s = route_names(req, coll, NULL);
    if (s)
        return s;
    if (nxx_rest_not_acceptable(req))
        return 406;
    char *text = NULL;
    int rc = nxx_store_schema_get(r->db->store, coll, &text);
    if (rc == NXX_STORE_NOTFOUND) {
        /* as for items: a PUT may create it at any moment */
        nxx_resp_header(req, "Cache-Control", NXX_STR("no-cache"));
        nxx_req_detail(req, "collection '%s' has no schema", coll);
        return 404;
    }
    if (rc)
        return nxx_rest_store_failed(req, rc, "reading a schema");
    nxx_resp_header(req, "Content-Type", NXX_STR("application/json"));
    nxx_resp_header(req, "Cache-Control", NXX_STR("no-cache"));
    int err = nxx_resp_send(req, text, strlen(text), 0);
    free(text);
    return err ? 500 : 0;
}

char *nxx_rest_errors_json(const struct nxx_schema_error *e, size_t n)
{
    struct nxx_rest_buf b = { 0 };
    nxx_rest_buf_putc(&b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            nxx_rest_buf_putc(&b, ',');
        REST_PUTS(&b, "{\"pointer\":");
        nxx_rest_buf_jstr(&b, e[i].pointer, strlen(e[i].pointer));
        REST_PUTS(&b, ",\"message\":");
        nxx_rest_buf_jstr(&b, e[i].message, strlen(e[i].message));
        nxx_rest_buf_putc(&b, '}');
    }
    nxx_rest_buf_putc(&b, ']');
    return nxx_rest_buf_take(&b, NULL);
}

json_t *nxx_rest_parse_body(nxx_req *req, int *status)
{
    nxx_str body = nxx_req_body(req);
    if (!body.len) {
        nxx_req_detail(req, "the request has no content; send a JSON document");
        *status = 400;
        return NULL;
    }
    json_error_t jerr;
    json_t *v = nxx_rest_json_load(body, &jerr);
    if (!v) {
        nxx_req_detail(req, "malformed JSON at byte %d (line %d, column %d): %s", jerr.position,
                       jerr.line, jerr.column, jerr.text);
        *status = 400;
    }
    return v;
}

static int schema_put(nxx_req *req, void *ud)
{
    struct nxx_rest *r = nxx_rest_of(ud);
    char coll[REST_COLL_MAX + 1];
    int s = route_names(req, coll, NULL);
    if (s)
        return s;
    json_t *doc = nxx_rest_parse_body(req, &s);
    if (!doc)
        return s;
    struct nxx_schema_error err;
    struct nxx_schema *compiled = nxx_schema_compile(doc, &err);
    if (!compiled) {
        json_decref(doc);
        char *errors = nxx_rest_errors_json(&err, 1);
        char detail[600];
        snprintf(detail, sizeof(detail), "invalid JSON Schema at '%s': %s", err.pointer,
                 err.message);
        int e = nxx_rest_send_422(req, detail, errors);
        nxx_free(errors);
        return e ? 500 : 0;
    }
    nxx_schema_free(compiled);
    struct nxx_rest_buf b = { 0 };
    nxx_rest_buf_json(&b, doc, 0);
    json_decref(doc);
    size_t len = 0;
    char *text = nxx_rest_buf_take(&b, &len);
    if (!text)
        return 500;
    char *old = NULL;
    int rc = nxx_store_schema_get(r->db->store, coll, &old);
    free(old);
    if (rc && rc != NXX_STORE_NOTFOUND) {
        nxx_free(text);
        return nxx_rest_store_failed(req, rc, "reading a schema");
    }
    int created = rc == NXX_STORE_NOTFOUND;
    rc = nxx_store_schema_put(r->db->store, coll, text);
    nxx_rest_schema_forget(r->db, coll);
    if (rc) {
        nxx_free(text);
        return nxx_rest_store_failed(req, rc, "storing a schema");
    }
    if (created) {
        nxx_resp_status(req, 201);
        nxx_resp_headerf(req, "Location", "%s/_schemas/%s", r->prefix, coll);
    }
    int err2;
    if (nxx_rest_prefer_minimal(req)) {
        nxx_resp_header(req, "Preference-Applied", NXX_STR("return=minimal"));
        if (!created)
            nxx_resp_status(req, 204);
        err2 = nxx_resp_send(req, NULL, 0, 0);
    } else {
        nxx_resp_header(req, "Content-Type", NXX_STR("application/json"));
        err2 = nxx_resp_send(req, text, len, 0);
    }
    nxx_free(text);
    return err2 ? 500 : 0;
}

static int schema_delete(nxx_req *req, void *ud)
{
    struct nxx_rest *r = nxx_rest_of(ud);
    char coll[REST_COLL_MAX + 1];
    int s = route_names(req, coll, NULL);
    if (s)
        return s;
    char *old = NULL;
    int rc = nxx_store_schema_get(r->db->store, coll, &old);
    free(old);
    if (rc == NXX_STORE_NOTFOUND) {
        nxx_req_detail(req, "collection '%s' has no schema", coll);
        return 404;
    }
    if (rc)
        return nxx_rest_store_failed(req, rc, "reading a schema");
    rc = nxx_store_schema_put(r->db->store, coll, NULL);
    nxx_rest_schema_forget(r->db, coll);
    if (rc)
        return nxx_rest_store_failed(req, rc, "removing a schema");
    nxx_resp_status(req, 204);
    return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
}

/* ---- task monitors ---- */

static int task_id(nxx_req *req, char id[REST_TASK_ID_MAX + 1])
{
    nxx_str t = nxx_req_param(req, "task");
    if (t.len > REST_TASK_ID_MAX || !nxx_rest_id_ok(t)) {
        nxx_req_detail(req, "no task '%.*s'", (int)(t.len > 80 ? 80 : t.len), t.ptr ? t.ptr : "");
        return 404;
    }
    nxx_rest_cstr(id, REST_TASK_ID_MAX + 1, t);
    return 0;
}

static int task_finished(const struct nxx_task *t)
{
    return strcmp(t->status, "done") == 0 || strcmp(t->status, "failed") == 0;
}

static int task_report(nxx_req *req, struct nxx_rest *r, int result)
{
    char id[REST_TASK_ID_MAX + 1];
    int s = task_id(req, id);
    if (s)
        return s;
    if (nxx_rest_not_acceptable(req))
        return 406;
    struct nxx_task t;
    int rc = nxx_store_task_get(r->db->store, id, &t);
    if (rc == NXX_STORE_NOTFOUND) {
        nxx_req_detail(req, "no task '%s'", id);
        return 404;
    }
    if (rc)
        return nxx_rest_store_failed(req, rc, "reading a task");
    int finished = task_finished(&t);
    nxx_resp_header(req, "Cache-Control", NXX_STR("no-store"));
    if (!result && finished) {
        /* RFC 9110 §15.4.4: the job is done; its outcome is another resource */
        free(t.errors);
        nxx_resp_status(req, 303);
        nxx_resp_headerf(req, "Location", "%s/_tasks/%s/result", r->prefix, id);
        nxx_resp_header(req, "Content-Type", NXX_STR("application/json"));
        struct nxx_rest_buf b = { 0 };
        REST_PUTS(&b, "{\"taskId\":");
        nxx_rest_buf_jstr(&b, id, strlen(id));
        REST_PUTS(&b, ",\"status\":");
        nxx_rest_buf_jstr(&b, t.status, strlen(t.status));
        REST_PUTS(&b, "}\n");
        size_t len = 0;
        char *body = nxx_rest_buf_take(&b, &len);
        int e = nxx_resp_send(req, body ? body : "", body ? len : 0, 0);
        nxx_free(body);
        return e ? 500 : 0;
    }
    if (result && !finished) {
        free(t.errors);
        nxx_req_detail(req, "task '%s' is %s; its result exists once it has finished", id,
                       t.status);
        return 404;
    }
    struct nxx_rest_buf b = { 0 };
    REST_PUTS(&b, "{\"taskId\":");
    nxx_rest_buf_jstr(&b, id, strlen(id));
    REST_PUTS(&b, ",\"collection\":");
    nxx_rest_buf_jstr(&b, t.coll, strlen(t.coll));
    REST_PUTS(&b, ",\"status\":");
    nxx_rest_buf_jstr(&b, t.status, strlen(t.status));
    if (!result) {
        REST_PUTS(&b, ",\"done\":");
        nxx_rest_buf_u64(&b, t.done);
    }
    REST_PUTS(&b, ",\"total\":");
    nxx_rest_buf_u64(&b, t.total);
    if (result) {
        REST_PUTS(&b, ",\"created\":");
        nxx_rest_buf_u64(&b, t.done >= t.failed ? t.done - t.failed : 0);
    }
    REST_PUTS(&b, ",\"failed\":");
    nxx_rest_buf_u64(&b, t.failed);
    REST_PUTS(&b, ",\"errors\":");
    /* the store keeps errors as JSON text it wrote itself; anything else is not passed on */
    json_t *errs = t.errors ? json_loads(t.errors, 0, NULL) : NULL;
    if (json_is_array(errs))
        nxx_rest_buf_json(&b, errs, 0);
    else
        REST_PUTS(&b, "[]");
    json_decref(errs);
    free(t.errors);
    nxx_rest_buf_monitor(&b, r, id);
    size_t len = 0;
    char *body = nxx_rest_buf_take(&b, &len);
    if (!body)
        return 500;
    if (!finished)
        nxx_resp_header(req, "Retry-After", NXX_STR("1"));
    nxx_resp_header(req, "Content-Type", NXX_STR("application/json"));
    int e = nxx_resp_send(req, body, len, 0);
    nxx_free(body);
    return e ? 500 : 0;
}

static int task_get(nxx_req *req, void *ud)
{
    return task_report(req, nxx_rest_of(ud), 0);
}

static int task_result(nxx_req *req, void *ud)
{
    return task_report(req, nxx_rest_of(ud), 1);
}

/* ---- the handler's own paths: 405 with the right Allow ---- */

/*
 * "/api/_tasks/x" also matches the item pattern "/api/:coll/:id", so these
 * paths get a catch-all route right after their own: it answers OPTIONS and
 * 405 with the methods the path really has, instead of letting PUT reach the
 * item handler.  HEAD comes here too (the router prefers a route that names
 * any method over a GET one) and is passed to the GET handler.
 */
static int reserved(nxx_req *req, const char *allow, nxx_handler_fn get, void *ud)
{
    nxx_str m = nxx_req_method(req);
    if (get && NXX_STR_EQ(m, "HEAD"))
        return get(req, ud);
    nxx_resp_header(req, "Allow", (nxx_str){ allow, strlen(allow) });
    if (NXX_STR_EQ(m, "OPTIONS")) {
        nxx_resp_status(req, 204);
        return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
    }
    return 405;
}

static int reserved_task(nxx_req *req, void *ud)
{
    return reserved(req, "GET, HEAD, OPTIONS", task_get, ud);
}

static int reserved_task_result(nxx_req *req, void *ud)
{
    return reserved(req, "GET, HEAD, OPTIONS", task_result, ud);
}

static int reserved_schema(nxx_req *req, void *ud)
{
    return reserved(req, "GET, HEAD, PUT, DELETE, OPTIONS", schema_get, ud);
}

static int reserved_bulk(nxx_req *req, void *ud)
{
    return reserved(req, "POST, OPTIONS", NULL, ud);
}

/* ---- early checks (policy hook, before the body is read) ---- */

static const char accept_post[] =
    "application/json, application/x-www-form-urlencoded, multipart/form-data";

/* 415 with what the route would take (RFC 9110 §15.5.16; Accept-Post, RFC 5789 Accept-Patch). */
static int unsupported(nxx_req *req, const char *field, const char *types)
{
    nxx_str ct = nxx_req_header(req, "content-type");
    if (field)
        nxx_resp_header(req, field, (nxx_str){ types, strlen(types) });
    if (ct.len)
        nxx_req_detail(req, "Content-Type '%.*s' is not accepted here; send %s",
                       (int)(ct.len > 100 ? 100 : ct.len), ct.ptr, types);
    else
        nxx_req_detail(req, "the request has no Content-Type; send %s", types);
    return 415;
}

/* A store open read-only (a full disk) takes no write: 507 before the body is read. */
static int read_only(nxx_req *req, struct nxx_rest *r)
{
    if (nxx_store_state(r->db->store) != NXX_STORE_FULL)
        return 0;
    nxx_req_detail(req, "the store is read-only while its disk is full; nothing was written");
    return 507;
}

static int early_checks(nxx_req *req, struct nxx_rest *r, enum rest_check chk)
{
    char coll[REST_COLL_MAX + 1], id[REST_ID_MAX + 1];
    int item = chk == CHK_PUT || chk == CHK_PATCH || chk == CHK_DELETE;
    int s = route_names(req, coll, item ? id : NULL);
    if (s)
        return s;
    if (chk == CHK_DELETE || chk == CHK_SCHEMA_DELETE)
        return read_only(req, r);
    nxx_str ce = nxx_req_header_list(req, "content-encoding");
    if (ce.len && !NXX_STR_IEQ(ce, "identity")) {
        /* RFC 9110 §12.5.3: say which codings the resource takes */
        nxx_resp_header(req, "Accept-Encoding", NXX_STR("identity"));
        nxx_req_detail(req, "Content-Encoding '%.*s' is not accepted; send the body unencoded",
                       (int)(ce.len > 60 ? 60 : ce.len), ce.ptr);
        return 415;
    }
    enum rest_ctype ct = nxx_rest_ctype(nxx_req_header(req, "content-type"));
    int minimal = nxx_rest_prefer_minimal(req);
    switch (chk) {
    case CHK_POST:
        if (ct == CT_FORM || ct == CT_MULTIPART)
            return 0; /* 205 without a body: nothing to negotiate */
        if (ct != CT_JSON && ct != CT_MERGE_PATCH)
            return unsupported(req, "Accept-Post", accept_post);
        break;
    case CHK_BULK:
        if (ct != CT_JSON && ct != CT_NDJSON)
            return unsupported(req, "Accept-Post", "application/json, application/x-ndjson");
        minimal = 0;
        break;
    case CHK_PATCH:
        if (ct != CT_MERGE_PATCH)
            return unsupported(req, "Accept-Patch", "application/merge-patch+json");
        break;
    default:
        if (ct != CT_JSON)
            return unsupported(req, NULL, "application/json");
        break;
    }
    if (!minimal && nxx_rest_not_acceptable(req)) {
        nxx_req_detail(req, "the response would be application/json, which Accept rules out "
                            "(send Prefer: return=minimal for no body)");
        return 406;
    }
    return read_only(req, r);
}

/* The location's head policy: only this location's routes reach it. */
static int policy(nxx_req *req, void *ud)
{
    struct nxx_rest *r = ud;
    /* no store to read or write yet (a full disk): every API location says so */
    if (nxx_store_state(r->db->store) == NXX_STORE_UNAVAILABLE)
        return nxx_rest_unavailable(req);
    const struct nxx_rest_route *rr = nxx_req_route_data(req);
    if (!rr || rr->check == CHK_NONE)
        return 0;
    return early_checks(req, rr->r, rr->check);
}

/* ---- set-up ---- */

static int mkdirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return NXX_EINVAL;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -errno;
        path[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* ---- databases, shared by every location and generation that serves them ---- */

static pthread_mutex_t dbs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nxx_rest_db *dbs;

static void db_free(struct nxx_rest_db *db)
{
    if (db->store)
        nxx_store_close(db->store); /* finishes queued writes; their answers are dropped */
    nxx_rest_cache_free(db->cache);
    slots_clear(db);
    pthread_mutex_destroy(&db->schema_lock);
    nxx_free(db->path);
    nxx_free(db);
}

static void db_release(struct nxx_rest_db *db)
{
    pthread_mutex_lock(&dbs_lock);
    int last = --db->refs == 0;
    if (last) {
        struct nxx_rest_db **pp = &dbs;
        while (*pp != db)
            pp = &(*pp)->next;
        *pp = db->next;
    }
    pthread_mutex_unlock(&dbs_lock);
    if (last)
        db_free(db);
}

/* The open database of dir, opened on first use. */
static int db_acquire(const char *dir, const nxx_rest_config *cfg, struct nxx_rest_db **out)
{
    int err = mkdirs(dir);
    int full = err == -ENOSPC || err == -EDQUOT;
    if (err && !full) {
        nxx_log_error("cannot create the data directory '%s': %s", dir, nxx_strerror(err));
        return err;
    }
    /* a full disk: the store starts unavailable and keeps trying (store.h), under
     * the name it was given while the directory does not exist */
    char *path = full ? strdup(dir) : realpath(dir, NULL);
    if (!path)
        return full ? NXX_ENOMEM : -errno;
    pthread_mutex_lock(&dbs_lock);
    for (struct nxx_rest_db *db = dbs; db; db = db->next) {
        if (strcmp(db->path, path) == 0) {
            db->refs++;
            pthread_mutex_unlock(&dbs_lock);
            free(path);
            *out = db;
            return 0;
        }
    }
    struct nxx_rest_db *db = nxx_calloc(1, sizeof(*db));
    if (!db) {
        pthread_mutex_unlock(&dbs_lock);
        free(path);
        return NXX_ENOMEM;
    }
    db->path = nxx_strdup(path);
    free(path);
    pthread_mutex_init(&db->schema_lock, NULL);
    db->cache = nxx_rest_cache_new();
    json_object_seed(0); /* before any worker thread builds an object */
    struct nxx_store_options opt = { cfg->max_db_bytes, 1024 };
    if (!db->path || !db->cache) {
        err = NXX_ENOMEM;
    } else if (nxx_store_open(dir, &opt, &db->store) != 0) {
        db->store = NULL;
        err = -EIO;
    }
    if (err) {
        pthread_mutex_unlock(&dbs_lock);
        db_free(db);
        return err;
    }
    db->refs = 1;
    db->next = dbs;
    dbs = db;
    /* bulk tasks left unfinished by the last run go on now */
    nxx_store_task_runner(db->store, nxx_rest_task_item, db);
    pthread_mutex_unlock(&dbs_lock);
    *out = db;
    return 0;
}

int nxx_rest_db_get(const char *dir, struct nxx_rest_db **out)
{
    nxx_rest_config defaults;
    nxx_rest_config_init(&defaults);
    return db_acquire(dir, &defaults, out);
}

void nxx_rest_db_put(struct nxx_rest_db *db)
{
    db_release(db);
}

static void rest_free(void *arg)
{
    struct nxx_rest *r = arg;
    if (r->db)
        db_release(r->db);
    nxx_free(r->prefix);
    nxx_free(r);
}

struct route_def {
    const char *method;
    const char *suffix;
    unsigned flags;
    nxx_handler_fn fn;
    enum rest_check check;
};

int nxx_scope_rest(nxx_scope *loc, const nxx_rest_config *cfg)
{
    nxx_rest_config defaults;
    nxx_rest_config_init(&defaults);
    if (!cfg)
        cfg = &defaults;
    if (!loc || loc->kind != NXX_SCOPE_LOCATION || loc->match != NXX_LOC_PREFIX)
        return NXX_EINVAL;
    const char *dir = cfg->data_dir ? cfg->data_dir : "./data";
    /* the location's path is where the collections hang: URLs are built on it */
    const char *prefix = loc->base;
    size_t plen = strlen(prefix);
    if (plen > 256)
        return NXX_EINVAL;
    struct nxx_rest *r = nxx_calloc(1, sizeof(*r));
    if (!r)
        return NXX_ENOMEM;
    r->prefix = nxx_malloc(plen + 1);
    if (!r->prefix) {
        rest_free(r);
        return NXX_ENOMEM;
    }
    memcpy(r->prefix, prefix, plen + 1);
    r->prefix_len = plen;
    r->require_preconditions = cfg->require_preconditions;
    r->max_list = cfg->max_list ? cfg->max_list : 1000;
    int err = db_acquire(dir, cfg, &r->db);
    if (err) {
        rest_free(r);
        return err;
    }
    err = nxx_scope_on_free(loc, rest_free, r);
    if (err) {
        rest_free(r);
        return err;
    }
    /* the handler's own paths and the patterns they also match: the literal
     * segments make them the more specific */
    static const struct route_def routes[] = {
        { "GET", "/_tasks/:task/result", 0, task_result, CHK_NONE },
        { "*", "/_tasks/:task/result", 0, reserved_task_result, CHK_NONE },
        { "GET", "/_tasks/:task", 0, task_get, CHK_NONE },
        { "*", "/_tasks/:task", 0, reserved_task, CHK_NONE },
        { "GET", "/_schemas/:coll", 0, schema_get, CHK_NONE },
        { "PUT", "/_schemas/:coll", NXX_ROUTE_BODY, schema_put, CHK_SCHEMA_PUT },
        { "DELETE", "/_schemas/:coll", 0, schema_delete, CHK_SCHEMA_DELETE },
        { "*", "/_schemas/:coll", 0, reserved_schema, CHK_NONE },
        { "POST", "/:coll/_bulk", NXX_ROUTE_BODY, nxx_rest_bulk, CHK_BULK },
        { "*", "/:coll/_bulk", 0, reserved_bulk, CHK_NONE },
        { "GET", "/:coll", 0, coll_get, CHK_NONE },
        { "POST", "/:coll", NXX_ROUTE_BODY, nxx_rest_coll_post, CHK_POST },
        { "GET", "/:coll/:id", 0, item_get, CHK_NONE },
        { "PUT", "/:coll/:id", NXX_ROUTE_BODY, nxx_rest_item_put, CHK_PUT },
        { "PATCH", "/:coll/:id", NXX_ROUTE_BODY, nxx_rest_item_patch, CHK_PATCH },
        { "DELETE", "/:coll/:id", 0, nxx_rest_item_delete, CHK_DELETE },
    };
    _Static_assert(sizeof(routes) / sizeof(routes[0]) <= sizeof(r->routes) / sizeof(r->routes[0]),
                   "room for every route's data");
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && !err; i++) {
        r->routes[i].r = r;
        r->routes[i].check = routes[i].check;
        err = nxx_scope_route(loc, routes[i].method, routes[i].suffix, routes[i].flags,
                              routes[i].fn, &r->routes[i]);
    }
    if (!err)
        err = nxx_scope_policy(loc, NXX_PHASE_HEAD, policy, r);
    return err; /* r is freed with the configuration */
}

int nxx_server_rest(nxx_server *srv, const nxx_rest_config *cfg)
{
    nxx_rest_config defaults;
    nxx_rest_config_init(&defaults);
    if (!cfg)
        cfg = &defaults;
    const char *prefix = cfg->prefix ? cfg->prefix : "/api";
    if (prefix[0] != '/' || strpbrk(prefix, "?#:*") || strlen(prefix) > 256)
        return NXX_EINVAL;
    nxx_scope *host = nxx_server_host(srv, NULL);
    nxx_scope *loc = host ? nxx_host_location(host, prefix) : NULL;
    if (!loc)
        return NXX_ENOMEM;
    return nxx_scope_rest(loc, cfg);
}
