/*
 * rest_write.c - the REST handler's writes: POST to a collection (JSON or an
 * HTML form), PUT, PATCH (RFC 7396) and DELETE of an item, and bulk imports
 * that run as tasks.
 *
 * A write travels in three steps.  On the worker thread the handler parses
 * and validates the body and prepares the item's text, so the store's one
 * writer thread does little more than compare versions.  On the writer
 * thread, inside the group-commit transaction, decide() looks at the current
 * item and settles everything that depends on it: 404/410, 409, 428 and the
 * preconditions (RFC 9110 §13.2.2) - which is why two PUTs carrying the same
 * If-Match cannot both succeed.  After the fsync, done() posts the outcome
 * back to the worker, which answers: a 2xx means the write is on disk.
 *
 * Nothing that decide() or done() touches belongs to the request: the write
 * context holds copies of the names, the condition fields and the prepared
 * text, because the connection may close (and its buffers go) meanwhile.
 *
 * Precondition failures outrank content errors (RFC 9110 §13.2.1: a 412 is
 * decided before the content is processed), so a PUT or PATCH whose content
 * was found invalid on the worker still goes through decide(), which answers
 * 412 first when a precondition fails and the deferred 422 otherwise.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "handlers/rest/mergepatch.h"
#include "handlers/rest/rest.h"
#include "http/cond.h"
#include "http/date.h"
#include "http/field.h"
#include "os/random.h"
#include "core/banned.h"

enum wop { W_POST = 0, W_FORM, W_PUT, W_PATCH, W_DELETE };

struct wctx {
    struct nxx_rest *r;
    nxx_req *req;
    enum wop op;
    int minimal;
    char coll[REST_COLL_MAX + 1];
    char id[REST_ID_MAX + 1];   /* the URL's or the client's; "" = the store assigns one */
    struct nxx_conditions cond; /* views into cbuf */
    char *text;                 /* the item without "id" (POST, PUT, PATCH) */
    size_t text_len;
    int pre_status;                 /* content error found on the worker, answered after
                                     * the preconditions (PUT, PATCH) */
    int fixed_status;               /* PATCH: likewise, but not redone with a newer item */
    uint64_t base_version;          /* PATCH: the version text was computed from */
    json_t *patch;                  /* PATCH: to redo it if the item changed meanwhile */
    struct nxx_rest_schema *schema; /* PATCH: likewise */
    /* the outcome */
    int status;
    int created;
    uint64_t version;
    int64_t updated_ms;
    char *body; /* the stored item, for the response */
    size_t body_len;
    char *errors; /* 422: JSON array of {pointer, message} */
    char detail[320];
    char rid[REST_ID_MAX + 1]; /* the item's final id */
    char cbuf[];
};

static void wctx_free(struct wctx *w)
{
    nxx_free(w->text);
    nxx_free(w->body);
    nxx_free(w->errors);
    json_decref(w->patch);
    nxx_rest_schema_release(w->schema);
    nxx_free(w);
}

/* A write context with copies of the precondition fields (the request's buffers may go). */
static struct wctx *wctx_new(nxx_req *req, struct nxx_rest *r, enum wop op, const char *coll,
                             const char *id)
{
    nxx_str im = nxx_req_header_list(req, "if-match");
    nxx_str inm = nxx_req_header_list(req, "if-none-match");
    nxx_str ius = nxx_req_header(req, "if-unmodified-since");
    if (op == W_POST || op == W_FORM)
        im.len = inm.len = ius.len = 0; /* the target is the collection: nothing to compare */
    struct wctx *w = nxx_calloc(1, sizeof(*w) + im.len + inm.len + ius.len + 1);
    if (!w)
        return NULL;
    w->r = r;
    w->req = req;
    w->op = op;
    w->minimal = nxx_rest_prefer_minimal(req);
    nxx_rest_cstr(w->coll, sizeof(w->coll), (nxx_str){ coll, strlen(coll) });
    if (id)
        nxx_rest_cstr(w->id, sizeof(w->id), (nxx_str){ id, strlen(id) });
    char *p = w->cbuf;
    nxx_str *dst[3] = { &w->cond.if_match, &w->cond.if_none_match, &w->cond.if_unmodified_since };
    nxx_str src[3] = { im, inm, ius };
    for (int i = 0; i < 3; i++) {
        if (src[i].len)
            memcpy(p, src[i].ptr, src[i].len);
        *dst[i] = (nxx_str){ src[i].len ? p : NULL, src[i].len };
        p += src[i].len;
    }
    return w;
}

static void set_detail(struct wctx *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_detail(struct wctx *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->detail, sizeof(w->detail), fmt, ap);
    va_end(ap);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/*
 * Turn a parsed item (its "id" member already removed) into stored text:
 * an object that passes the collection's schema.  Returns 0 with *text, or
 * 422 with the detail (and *errors: the schema's complaints), or 500.
 */
static int prepare(const json_t *obj, const struct nxx_rest_schema *schema, char **text,
                   size_t *len, char **errors, char *detail, size_t dcap)
{
    *text = NULL;
    *errors = NULL;
    if (!json_is_object(obj)) {
        snprintf(detail, dcap, "an item is a JSON object, not %s", type_name(obj));
        return 422;
    }
    if (schema) {
        struct nxx_schema_error errs[REST_ERRORS_MAX];
        size_t n = nxx_schema_validate(schema->compiled, obj, errs, REST_ERRORS_MAX);
        if (n) {
            size_t shown = n < REST_ERRORS_MAX ? n : REST_ERRORS_MAX;
            snprintf(detail, dcap, "the item violates the collection's schema (%zu error%s%s)", n,
                     n == 1 ? "" : "s", n > shown ? "; the first are listed" : "");
            *errors = nxx_rest_errors_json(errs, shown);
            return 422;
        }
    }
    struct nxx_rest_buf b = { 0 };
    nxx_rest_buf_json(&b, obj, 1);
    *text = nxx_rest_buf_take(&b, len);
    if (!*text) {
        snprintf(detail, dcap, "out of memory");
        return 500;
    }
    return 0;
}

/* The id member of a body: 0 and *id (a view) when usable; 422 with a detail otherwise. */
static int body_id(const json_t *obj, const char **id, char *detail, size_t dcap)
{
    *id = NULL;
    json_t *v = json_is_object(obj) ? json_object_get(obj, "id") : NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        snprintf(detail, dcap, "\"id\" must be a string, not %s", type_name(v));
        return 422;
    }
    nxx_str s = { json_string_value(v), json_string_length(v) };
    if (!nxx_rest_id_ok(s)) {
        snprintf(detail, dcap, "\"id\" must be 1 to %d of A-Z, a-z, 0-9 and '._~-'", REST_ID_MAX);
        return 422;
    }
    *id = s.ptr;
    return 0;
}

/* PATCH: merge patch into the current item's text, then as prepare(). */
static int patch_apply(const char *cur, size_t cur_len, const json_t *patch,
                       const struct nxx_rest_schema *schema, char **text, size_t *len,
                       char **errors, char *detail, size_t dcap)
{
    *text = NULL;
    *errors = NULL;
    json_t *target = json_loadb(cur, cur_len, 0, NULL);
    if (!target) {
        snprintf(detail, dcap, "the stored item does not parse");
        return 500;
    }
    json_object_del(target, "id");
    json_t *result = nxx_merge_patch(target, patch);
    json_decref(target);
    if (!result) {
        snprintf(detail, dcap, "out of memory");
        return 500;
    }
    if (!json_is_object(result)) {
        snprintf(detail, dcap, "the patched item would be %s; an item is a JSON object",
                 type_name(result));
        json_decref(result);
        return 422;
    }
    json_object_del(result, "id");
    int s = prepare(result, schema, text, len, errors, detail, dcap);
    json_decref(result);
    return s;
}

/* ---- on the writer thread ---- */

static int inm_is_star(nxx_str inm)
{
    nxx_str t = nxx_field_trim(inm);
    return t.len == 1 && t.ptr[0] == '*';
}

static int decide(void *ctx, const char *id, const struct nxx_item *cur,
                  struct nxx_store_change *change)
{
    struct wctx *w = ctx;
    int live = cur && !cur->deleted;
    nxx_rest_cstr(w->rid, sizeof(w->rid), (nxx_str){ id, strlen(id) });
    if (w->op == W_POST || w->op == W_FORM) {
        if (live) {
            set_detail(w, "an item with id '%s' already exists in '%s'", id, w->coll);
            return 409;
        }
    } else {
        /* RFC 9110 §13.2.1: a 404 or 410 stands whatever the preconditions say */
        if (w->op != W_PUT && !cur) {
            set_detail(w, "no item '%s' in collection '%s'", id, w->coll);
            return 404;
        }
        if (w->op != W_PUT && !live) {
            set_detail(w, "item '%s' of collection '%s' was deleted", id, w->coll);
            return 410;
        }
        if (w->r->require_preconditions && live && !w->cond.if_match.len &&
            !(w->op == W_PUT && inm_is_star(w->cond.if_none_match))) {
            set_detail(w, "this server requires If-Match on PUT, PATCH and DELETE of an existing "
                          "item (send the ETag a GET returned) so no update is lost");
            return 428;
        }
        char etag[32];
        int n =
            live ? snprintf(etag, sizeof(etag), "\"%llu\"", (unsigned long long)cur->version) : 0;
        struct nxx_validators v = { { etag, (size_t)(n > 0 ? n : 0) },
                                    live ? cur->updated_ms / 1000 : -1,
                                    live };
        if (nxx_cond_evaluate(&w->cond, &v, 0)) {
            if (live)
                set_detail(w, "a precondition failed: the item's current entity-tag is %s", etag);
            else
                set_detail(w, "a precondition failed: item '%s' does not exist", id);
            return 412;
        }
    }
    if (w->op == W_DELETE) {
        change->action = NXX_STORE_DELETE;
        return 0;
    }
    if (w->fixed_status)
        return w->fixed_status;
    if (w->op == W_PATCH && cur->version != w->base_version) {
        /* changed since the worker merged: merge again against what is there now */
        nxx_free(w->text);
        nxx_free(w->errors);
        w->pre_status = patch_apply(cur->body, cur->body_len, w->patch, w->schema, &w->text,
                                    &w->text_len, &w->errors, w->detail, sizeof(w->detail));
    }
    if (w->pre_status)
        return w->pre_status;
    change->action = NXX_STORE_PUT;
    change->body = nxx_rest_with_id(w->text, w->text_len, id, &change->body_len);
    if (!change->body) {
        set_detail(w, "out of memory");
        return 500;
    }
    return 0;
}

static void answer(nxx_req *req, void *ud);

static void done(void *ctx, int status, const struct nxx_item *item, int created)
{
    struct wctx *w = ctx;
    w->status = status;
    /* committed (or not): the next read goes to the store, before anyone hears of it */
    if (w->rid[0])
        nxx_rest_cache_forget(w->r->db->cache, w->coll, w->rid);
    if (status == 0 && item) {
        w->created = created;
        w->version = item->version;
        w->updated_ms = item->updated_ms;
        if (item->id)
            nxx_rest_cstr(w->rid, sizeof(w->rid), (nxx_str){ item->id, strlen(item->id) });
        int want = !w->minimal && (w->op == W_POST || w->op == W_PUT || w->op == W_PATCH);
        if (want && item->body) {
            w->body = nxx_malloc(item->body_len + 1);
            if (w->body) {
                memcpy(w->body, item->body, item->body_len);
                w->body_len = item->body_len;
            }
        }
    }
    if (nxx_req_post(w->req, answer, w) != 0)
        wctx_free(w); /* the server has stopped: nobody is left to answer */
}

/* ---- back on the worker ---- */

static void answer_error(nxx_req *req, struct wctx *w)
{
    int s = w->status;
    if (s == 422) {
        nxx_rest_send_422(req, w->detail, w->errors);
        return;
    }
    if (s == NXX_STORE_FULL) {
        nxx_resp_error(req, 507, REST_FULL_DETAIL);
        return;
    }
    if (s == NXX_STORE_UNAVAILABLE) {
        nxx_resp_headerf(req, "Retry-After", "%d", NXX_STORE_RETRY_SECONDS);
        nxx_resp_error(req, 503, REST_UNAVAILABLE_DETAIL);
        return;
    }
    if (s == NXX_STORE_ERROR || s < 400 || s > 599) {
        nxx_log_error("request %s: store error writing '%s/%s'", nxx_req_id(req).ptr, w->coll,
                      w->rid[0] ? w->rid : w->id);
        char d[128];
        snprintf(d, sizeof(d), "storage error; nothing was written (request %s)",
                 nxx_req_id(req).ptr);
        nxx_resp_error(req, 500, d);
        return;
    }
    nxx_resp_error(req, s, w->detail[0] ? w->detail : NULL);
}

static void answer(nxx_req *req, void *ud)
{
    struct wctx *w = ud;
    if (!nxx_req_alive(req)) {
        wctx_free(w);
        return;
    }
    if (w->status) {
        answer_error(req, w);
        wctx_free(w);
        return;
    }
    struct nxx_rest *r = w->r;
    char etag[32], lm[NXX_DATE_LEN + 1];
    int n = snprintf(etag, sizeof(etag), "\"%llu\"", (unsigned long long)w->version);
    nxx_str etag_s = { etag, (size_t)n };
    nxx_date_format(nxx_rest_last_modified(req, w->updated_ms), lm);
    int with_body = 0, status = 200;
    switch (w->op) {
    case W_FORM:
        /* RFC 9110 §15.3.6: stored; clear the form for the next entry */
        status = 205;
        break;
    case W_POST:
        status = 201;
        nxx_resp_headerf(req, "Location", "%s/%s/%s", r->prefix, w->coll, w->rid);
        nxx_resp_header(req, "ETag", etag_s);
        with_body = !w->minimal;
        break;
    case W_PUT:
    case W_PATCH:
        if (w->created) {
            status = 201;
            nxx_resp_headerf(req, "Location", "%s/%s/%s", r->prefix, w->coll, w->rid);
        } else {
            status = w->minimal ? 204 : 200;
        }
        with_body = !w->minimal;
        /*
         * Validators only with the stored representation itself (RFC 9110
         * §9.3.4: the item as stored is not the content as sent), or after a
         * PATCH, whose 204 may carry the new tag (RFC 5789 §2).
         */
        if (with_body || w->op == W_PATCH)
            nxx_resp_header(req, "ETag", etag_s);
        if (with_body) {
            nxx_resp_header(req, "Last-Modified", (nxx_str){ lm, NXX_DATE_LEN });
            nxx_resp_headerf(req, "Content-Location", "%s/%s/%s", r->prefix, w->coll, w->rid);
        }
        break;
    case W_DELETE: status = 204; break;
    }
    if (w->minimal && w->op != W_DELETE && w->op != W_FORM)
        nxx_resp_header(req, "Preference-Applied", NXX_STR("return=minimal"));
    nxx_resp_status(req, status);
    if (with_body && w->body) {
        nxx_resp_header(req, "Content-Type", NXX_STR("application/json"));
        nxx_resp_send(req, w->body, w->body_len, 0);
    } else if (with_body) {
        nxx_resp_error(req, 500, "out of memory");
    } else {
        nxx_resp_send(req, NULL, 0, 0);
    }
    wctx_free(w);
}

/* Queue w; the answer comes from done().  0, or a status to answer now (w freed). */
static int submit(nxx_req *req, struct wctx *w)
{
    struct nxx_store_write sw = {
        .coll = w->coll,
        .id = w->id[0] ? w->id : NULL,
        .decide = decide,
        .done = done,
        .ctx = w,
    };
    if (nxx_store_submit(w->r->db->store, &sw) != 0) {
        wctx_free(w);
        nxx_resp_header(req, "Retry-After", NXX_STR("1"));
        nxx_req_detail(req, "the store is not taking writes (it is closing)");
        return 503;
    }
    /* safe after the submit: the post that answers runs on this thread, after we return */
    nxx_req_suspend(req);
    return 0;
}

/* ---- handlers ---- */

static int names(nxx_req *req, char coll[REST_COLL_MAX + 1], char id[REST_ID_MAX + 1])
{
    nxx_str c = nxx_req_param(req, "coll");
    nxx_str i = id ? nxx_req_param(req, "id") : (nxx_str){ "x", 1 };
    if (!nxx_rest_coll_ok(c) || !nxx_rest_id_ok(i))
        return 404; /* the policy hook has said why */
    nxx_rest_cstr(coll, REST_COLL_MAX + 1, c);
    if (id)
        nxx_rest_cstr(id, REST_ID_MAX + 1, i);
    return 0;
}

static int schema_of(nxx_req *req, struct nxx_rest *r, const char *coll,
                     struct nxx_rest_schema **out)
{
    int rc = nxx_rest_schema_lookup(r->db, coll, out);
    return rc ? nxx_rest_store_failed(req, rc, "reading the collection's schema") : 0;
}

int nxx_rest_coll_post(nxx_req *req, void *ud)
{
    struct nxx_rest *r = nxx_rest_of(ud);
    char coll[REST_COLL_MAX + 1];
    int s = names(req, coll, NULL);
    if (s)
        return s;
    nxx_str ctv = nxx_req_header(req, "content-type");
    enum rest_ctype ct = nxx_rest_ctype(ctv);
    json_t *obj = NULL;
    const char *why = NULL;
    if (ct == CT_FORM) {
        obj = nxx_rest_form_urlencoded(nxx_req_body(req), &s, &why);
    } else if (ct == CT_MULTIPART) {
        obj = nxx_rest_form_multipart(nxx_req_body(req), ctv, &s, &why);
        if (!obj && s == 415)
            nxx_resp_header(req, "Accept-Post",
                            NXX_STR("application/json, "
                                    "application/x-www-form-urlencoded, "
                                    "multipart/form-data"));
    } else {
        obj = nxx_rest_parse_body(req, &s);
        if (!obj)
            return s;
    }
    if (!obj) {
        nxx_req_detail(req, "%s", why);
        return s;
    }
    char detail[320] = "";
    const char *cid = NULL;
    s = body_id(obj, &cid, detail, sizeof(detail));
    char idbuf[REST_ID_MAX + 1] = "";
    if (cid)
        nxx_rest_cstr(idbuf, sizeof(idbuf), (nxx_str){ cid, strlen(cid) });
    if (json_is_object(obj))
        json_object_del(obj, "id");
    struct nxx_rest_schema *schema = NULL;
    int ss = s ? 0 : schema_of(req, r, coll, &schema);
    if (ss) {
        json_decref(obj);
        return ss;
    }
    char *text = NULL, *errors = NULL;
    size_t len = 0;
    if (!s)
        s = prepare(obj, schema, &text, &len, &errors, detail, sizeof(detail));
    json_decref(obj);
    nxx_rest_schema_release(schema);
    if (s == 422) {
        int e = nxx_rest_send_422(req, detail, errors);
        nxx_free(errors);
        return e ? 500 : 0;
    }
    if (s) {
        nxx_req_detail(req, "%s", detail);
        return s;
    }
    struct wctx *w = wctx_new(req, r, ct == CT_FORM || ct == CT_MULTIPART ? W_FORM : W_POST, coll,
                              idbuf[0] ? idbuf : NULL);
    if (!w) {
        nxx_free(text);
        return 500;
    }
    w->text = text;
    w->text_len = len;
    return submit(req, w);
}

int nxx_rest_item_put(nxx_req *req, void *ud)
{
    struct nxx_rest *r = nxx_rest_of(ud);
    char coll[REST_COLL_MAX + 1], id[REST_ID_MAX + 1];
    int s = names(req, coll, id);
    if (s)
        return s;
    json_t *obj = nxx_rest_parse_body(req, &s);
    if (!obj)
        return s;
    struct wctx *w = wctx_new(req, r, W_PUT, coll, id);
    if (!w) {
        json_decref(obj);
        return 500;
    }
    const char *bid = NULL;
    w->pre_status = body_id(obj, &bid, w->detail, sizeof(w->detail));
    if (!w->pre_status && bid && strcmp(bid, id) != 0) {
        set_detail(w, "the body's \"id\" '%s' differs from the URL's '%s'; an id cannot change",
                   bid, id);
        w->pre_status = 422;
    }
    if (!w->pre_status) {
        if (json_is_object(obj))
            json_object_del(obj, "id");
        struct nxx_rest_schema *schema = NULL;
        s = schema_of(req, r, coll, &schema);
        if (s) {
            json_decref(obj);
            wctx_free(w);
            return s;
        }
        w->pre_status =
            prepare(obj, schema, &w->text, &w->text_len, &w->errors, w->detail, sizeof(w->detail));
        nxx_rest_schema_release(schema);
    }
    json_decref(obj);
    return submit(req, w);
}

int nxx_rest_item_patch(nxx_req *req, void *ud)
{
    struct nxx_rest *r = nxx_rest_of(ud);
    char coll[REST_COLL_MAX + 1], id[REST_ID_MAX + 1];
    int s = names(req, coll, id);
    if (s)
        return s;
    json_t *patch = nxx_rest_parse_body(req, &s);
    if (!patch)
        return s;
    struct wctx *w = wctx_new(req, r, W_PATCH, coll, id);
    if (!w) {
        json_decref(patch);
        return 500;
    }
    w->patch = patch;
    if (json_is_object(patch)) {
        json_t *pid = json_object_get(patch, "id");
        /* "id": null would delete it; the id is the URL's, so that means nothing */
        if (pid && !json_is_null(pid) &&
            !(json_is_string(pid) && strcmp(json_string_value(pid), id) == 0)) {
            set_detail(w, "a patch cannot change an item's \"id\"");
            w->fixed_status = 422;
        }
        json_object_del(patch, "id");
    }
    s = schema_of(req, r, coll, &w->schema);
    if (s) {
        wctx_free(w);
        return s;
    }
    /*
     * Merge here against a snapshot, so the writer thread usually only checks
     * that the version is still the one merged against.  A missing item is
     * left to decide(), which owns the answer.
     */
    struct nxx_rest_cached cv;
    uint64_t gen = 0;
    if (!w->fixed_status && nxx_rest_cache_get(r->db->cache, coll, id, req, &cv, &gen)) {
        w->base_version = cv.version;
        w->pre_status = patch_apply(cv.body, cv.body_len, patch, w->schema, &w->text, &w->text_len,
                                    &w->errors, w->detail, sizeof(w->detail));
    } else if (!w->fixed_status) {
        struct nxx_item cur;
        if (nxx_store_get(r->db->store, coll, id, &cur) == 0) {
            if (!cur.deleted) {
                w->base_version = cur.version;
                w->pre_status = patch_apply(cur.body, cur.body_len, patch, w->schema, &w->text,
                                            &w->text_len, &w->errors, w->detail, sizeof(w->detail));
            }
            nxx_item_release(&cur);
        }
    }
    return submit(req, w);
}

int nxx_rest_item_delete(nxx_req *req, void *ud)
{
    struct nxx_rest *r = nxx_rest_of(ud);
    char coll[REST_COLL_MAX + 1], id[REST_ID_MAX + 1];
    int s = names(req, coll, id);
    if (s)
        return s;
    struct wctx *w = wctx_new(req, r, W_DELETE, coll, id);
    if (!w)
        return 500;
    return submit(req, w);
}

/* ---- bulk import ---- */

int nxx_rest_bulk(nxx_req *req, void *ud)
{
    struct nxx_rest *r = nxx_rest_of(ud);
    char coll[REST_COLL_MAX + 1];
    int s = names(req, coll, NULL);
    if (s)
        return s;
    nxx_str body = nxx_req_body(req);
    uint64_t total;
    if (nxx_rest_ctype(nxx_req_header(req, "content-type")) == CT_NDJSON) {
        total = nxx_rest_ndjson_count(body);
        if (!total) {
            /* as a JSON body with no value is malformed: nothing was sent to import
             * (an explicit empty array, [], is a task with nothing to do) */
            nxx_req_detail(req,
                           "the request has %s; an NDJSON bulk import is one JSON item "
                           "per line",
                           body.len ? "no item, only blank lines" : "no content");
            return 400;
        }
    } else {
        json_t *arr = nxx_rest_parse_body(req, &s);
        if (!arr)
            return s;
        int is_array = json_is_array(arr);
        total = is_array ? json_array_size(arr) : 0;
        const char *tn = type_name(arr);
        json_decref(arr);
        if (!is_array) {
            char d[128];
            snprintf(d, sizeof(d), "a bulk import is a JSON array of items, not %s", tn);
            return nxx_rest_send_422(req, d, NULL) ? 500 : 0;
        }
    }
    char id[40];
    int rc =
        nxx_store_task_create(r->db->store, coll, body.len ? body.ptr : "", body.len, total, id);
    if (rc) {
        if (rc == NXX_STORE_FULL || rc == NXX_STORE_UNAVAILABLE)
            return nxx_rest_store_failed(req, rc, "creating a task");
        nxx_log_error("request %s: store error creating a task", nxx_req_id(req).ptr);
        nxx_req_detail(req, "storage error; nothing was written (request %s)", nxx_req_id(req).ptr);
        return 500;
    }
    /* RFC 9110 §15.3.3: accepted, not done; the monitor tells how it goes */
    struct nxx_rest_buf b = { 0 };
    REST_PUTS(&b, "{\"taskId\":");
    nxx_rest_buf_jstr(&b, id, strlen(id));
    REST_PUTS(&b, ",\"status\":\"queued\",\"total\":");
    nxx_rest_buf_u64(&b, total);
    nxx_rest_buf_monitor(&b, r, id);
    size_t len = 0;
    char *text = nxx_rest_buf_take(&b, &len);
    if (!text)
        return 500;
    nxx_resp_status(req, 202);
    nxx_resp_headerf(req, "Location", "%s/_tasks/%s", r->prefix, id);
    nxx_resp_header(req, "Content-Type", NXX_STR("application/json"));
    int e = nxx_resp_send(req, text, len, 0);
    nxx_free(text);
    return e ? 500 : 0;
}

/* 72 random bits as 12 base64url characters: ids for imported items that bring none. */
static int random_id(char out[13])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[9];
    if (nxx_os_random(raw, sizeof(raw), 1) != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        uint32_t v = (uint32_t)raw[3 * i] << 16 | (uint32_t)raw[3 * i + 1] << 8 | raw[3 * i + 2];
        for (int k = 0; k < 4; k++)
            out[4 * i + k] = alphabet[(v >> (18 - 6 * k)) & 63];
    }
    out[12] = '\0';
    return 0;
}

int nxx_rest_task_item(void *ctx, const char *coll, const char *elem, size_t elem_len,
                       char **id_out, struct nxx_store_change *change, const char **detail)
{
    struct nxx_rest_db *db = ctx;
    char *d = db->task_detail; /* this runs on the task thread only */
    size_t dcap = sizeof(db->task_detail);
    *detail = d;
    *id_out = NULL;
    json_error_t jerr;
    json_t *obj = nxx_rest_json_load((nxx_str){ elem, elem_len }, &jerr);
    if (!obj) {
        snprintf(d, dcap, "malformed JSON at byte %d: %s", jerr.position, jerr.text);
        return 400;
    }
    const char *cid = NULL;
    int s = body_id(obj, &cid, d, dcap);
    char id[REST_ID_MAX + 1];
    if (!s) {
        if (cid)
            nxx_rest_cstr(id, sizeof(id), (nxx_str){ cid, strlen(cid) });
        else if (random_id(id) != 0)
            s = 500;
    }
    if (s) {
        json_decref(obj);
        return s;
    }
    if (json_is_object(obj))
        json_object_del(obj, "id");
    struct nxx_rest_schema *schema = NULL;
    if (nxx_rest_schema_lookup(db, coll, &schema) != 0) {
        json_decref(obj);
        snprintf(d, dcap, "storage error reading the collection's schema");
        return 500;
    }
    char *text = NULL, *errors = NULL;
    size_t len = 0;
    s = prepare(obj, schema, &text, &len, &errors, d, dcap);
    json_decref(obj);
    nxx_rest_schema_release(schema);
    if (s == 422 && errors) {
        /* one line per element: the first violation says enough to find it */
        json_t *e = json_loads(errors, 0, NULL);
        json_t *first = json_array_get(e, 0);
        size_t used = strlen(d);
        if (first && used < dcap)
            snprintf(d + used, dcap - used, ": %s %s",
                     json_string_value(json_object_get(first, "pointer")),
                     json_string_value(json_object_get(first, "message")));
        json_decref(e);
    }
    nxx_free(errors);
    if (s)
        return s;
    change->action = NXX_STORE_PUT;
    change->body = nxx_rest_with_id(text, len, id, &change->body_len);
    nxx_free(text);
    *id_out = change->body ? nxx_strdup(id) : NULL;
    if (!change->body || !*id_out) {
        nxx_free(change->body);
        change->body = NULL;
        snprintf(d, dcap, "out of memory");
        return 500;
    }
    return 0;
}
