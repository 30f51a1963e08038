/*
 * build.c - a configuration document turned into a generation of the
 * server (nxx_server_new_site, the setup functions of the key table, then
 * nxx_server_install), and the reloader that does it again on SIGHUP:
 * re-read the file (with the command line's global flags over it) or
 * re-evaluate a flags-only command line.  A document that does not build
 * is refused as a whole; the running generation stays.
 *
 * Lifetimes: the settings of a generation (site->cfg) point into the
 * document it was built from, so a reloaded generation owns its document
 * (freed with it).  The settings a reload cannot change keep the running
 * values, which point into the document the server started with; that one
 * lives as long as the server (the reloader's state).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/keys.h"
#include "config/options.h"
#include "core/alloc.h"
#include "core/log.h"
#include "handlers/mime.h"
#include "http/site.h"
#include "tls/tls.h"
#include "core/banned.h"

int nxx_cfg_fail(struct nxx_cfg_build *b, struct nxx_cfg_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nxx_cfg_verror(b->doc, pos, b->err, b->errlen, fmt, ap);
    va_end(ap);
    return NXX_EINVAL;
}

static const struct nxx_cfg_val *value_of(const struct nxx_cfg_block *b,
                                          const struct nxx_cfg_key *k)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].key == k)
            return &b->v[i];
    return NULL;
}

int nxx_cfg_apply(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_block *block)
{
    int top = !block->parent;
    for (size_t s = 0; s < nxx_cfg_nsections; s++)
        for (size_t i = 0; i < *nxx_cfg_sections[s].n; i++) {
            const struct nxx_cfg_key *k = &nxx_cfg_sections[s].keys[i];
            if (!k->setup)
                continue;
            const struct nxx_cfg_val *v = value_of(block, k);
            /* at the top level such a key is a server-wide setting (site->cfg) */
            if (!v || (top && (k->flags & NXX_CFG_FIELD)))
                continue;
            int e = k->setup(b, scope, v);
            if (e)
                return e;
        }
    return 0;
}

static void doc_free_cb(void *doc)
{
    nxx_cfg_doc_free(doc);
}

/* Build and install; with own, the generation takes the document (freed
 * with it, or here when the build fails). */
/* Where tls-cert was written (line 0 for the command line). */
static struct nxx_cfg_pos tls_pos(const struct nxx_cfg_doc *doc)
{
    const struct nxx_cfg_val *v = nxx_cfg_get(doc->top, "tls-cert");
    return v ? v->pos : (struct nxx_cfg_pos){ 0, 0 };
}

static int install(nxx_server *srv, struct nxx_cfg_doc *doc, const struct nxx_options *o,
                   unsigned mode, int own, char *err, size_t errlen)
{
    struct nxx_site *site = nxx_server_new_site(srv);
    if (!site || (own && nxx_site_on_free(site, doc_free_cb, doc) != 0)) {
        if (site)
            nxx_site_free(site);
        else if (own)
            nxx_cfg_doc_free(doc);
        snprintf(err, errlen, "out of memory");
        return NXX_ENOMEM;
    }
    site->cfg = o->cfg;
    struct nxx_cfg_build b = { srv, site, doc, mode, err, errlen };
    int e = nxx_cfg_apply(&b, &site->server, doc->top);
    if (!e && o->tls_cert) {
        char why[512];
        e = nxx_tls_scope_cert(&site->server, o->tls_cert, o->tls_key ? o->tls_key : o->tls_cert,
                               why, sizeof(why));
        if (!e && o->tls_ocsp)
            e = nxx_tls_scope_ocsp(&site->server, o->tls_ocsp, why, sizeof(why));
        if (!e && o->tls_client_ca)
            e = nxx_tls_scope_client_ca(&site->server, o->tls_client_ca, o->tls_client_require, why,
                                        sizeof(why));
        if (e)
            nxx_cfg_fail(&b, tls_pos(doc), "%s", why);
    }
    if (e) {
        nxx_site_free(site);
        return e;
    }
    /* the file's name before the install: a refused generation is freed,
     * and with it a document it owns */
    char where[512], why[512];
    nxx_cfg_where_at(doc, (struct nxx_cfg_pos){ 0, 0 }, where, sizeof(where));
    e = nxx_server_install(srv, site, why, sizeof(why));
    if (e)
        snprintf(err, errlen, "%s%s", where, why);
    return e;
}

int nxx_cfg_install(nxx_server *srv, const struct nxx_cfg_doc *doc, const struct nxx_options *o,
                    unsigned mode, char *err, size_t errlen)
{
    return install(srv, (struct nxx_cfg_doc *)(uintptr_t)doc, o, mode, 0, err, errlen);
}

int nxx_cfg_load_mime(const struct nxx_options *o, int flag, char *err, size_t errlen)
{
    const char *mt = o->mime_types ? o->mime_types : "/etc/mime.types";
    int e = nxx_mime_load(mt);
    if (e && (o->mime_explicit || e != -ENOENT)) {
        snprintf(err, errlen, "%s: cannot read '%s': %s", flag ? "--mime-types" : "mime-types", mt,
                 nxx_strerror(e));
        return e;
    }
    return 0;
}

void nxx_cfg_free(struct nxx_cfg_doc *doc)
{
    nxx_cfg_doc_free(doc);
}

const char *nxx_cfg_summary(const struct nxx_cfg_doc *doc)
{
    if (doc->file)
        return doc->file;
    const struct nxx_cfg_val *locs = nxx_cfg_get(doc->top, "locations");
    for (size_t i = 0; locs && i < locs->nblocks; i++) {
        const struct nxx_cfg_val *files = nxx_cfg_get(locs->blocks[i], "files");
        if (strcmp(locs->blocks[i]->name, "/") == 0 && files)
            return nxx_cfg_str(files->blocks[0], "root");
        const struct nxx_cfg_val *proxy = nxx_cfg_get(locs->blocks[i], "proxy");
        const struct nxx_cfg_val *to = proxy ? nxx_cfg_get(proxy->blocks[0], "to") : NULL;
        if (strcmp(locs->blocks[i]->name, "/") == 0 && to && to->nitems)
            return to->items[0];
    }
    return "nothing";
}

/* ---- where a server's configuration comes from (reloads) ---- */

struct source {
    nxx_server *srv;
    int library;              /* an embedder's server: the library's defaults, not the command's */
    char *file;               /* nxx_server_load: the file, read alone */
    int argc;                 /* the command: its arguments (with --config FILE, or flags only) */
    char **argv;              /* borrowed from the command */
    struct nxx_cfg_doc *doc0; /* what the server started with: the running strings */
    struct nxx_options running;
    pthread_mutex_t lock; /* one load at a time (SIGHUP and nxx_server_load) */
    struct source *next;
};

static pthread_mutex_t sources_lock = PTHREAD_MUTEX_INITIALIZER;
static struct source *sources;

static struct source *source_of(nxx_server *srv)
{
    pthread_mutex_lock(&sources_lock);
    struct source *s = sources;
    while (s && s->srv != srv)
        s = s->next;
    pthread_mutex_unlock(&sources_lock);
    return s;
}

static void source_free(void *ud)
{
    struct source *s = ud;
    pthread_mutex_lock(&sources_lock);
    struct source **pp = &sources;
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp)
        *pp = s->next;
    pthread_mutex_unlock(&sources_lock);
    pthread_mutex_destroy(&s->lock);
    nxx_cfg_doc_free(s->doc0);
    nxx_free(s->file);
    nxx_free(s);
}

/* Read what s names into a new document. */
static int source_read(struct source *s, struct nxx_cfg_doc **doc, char *err, size_t errlen)
{
    if (s->file)
        return nxx_cfg_read_file(s->file, doc, err, errlen);
    const char *file = NULL;
    return nxx_cfg_command(s->argc, s->argv, doc, &file, err, errlen);
}

/* The settings of doc; for an embedder's server, keys the document does
 * not set whose command default is not the library's take the library's
 * (no access log unless the file names one). */
static void settings(const struct source *s, const struct nxx_cfg_doc *doc, struct nxx_options *o)
{
    nxx_options_from_doc(o, doc);
    if (!s->library)
        return;
    nxx_config lib;
    nxx_config_init(&lib);
    for (size_t i = 0; i < nxx_cfg_nglobal_keys; i++) {
        const struct nxx_cfg_key *k = &nxx_cfg_global_keys[i];
        size_t base = offsetof(struct nxx_options, cfg);
        if ((k->flags & NXX_CFG_CMD_DEFAULT) && !nxx_cfg_get(doc->top, k->name) &&
            k->offset >= base && k->offset < base + sizeof(nxx_config) && k->type == K_STRING)
            *(const char **)(void *)((char *)o + k->offset) =
                *(const char *const *)(const void *)((const char *)&lib + (k->offset - base));
    }
}

/* Read, keep the running values of restart keys, build, install. */
static int source_load(struct source *s, char *err, size_t errlen)
{
    struct nxx_cfg_doc *doc = NULL;
    if (source_read(s, &doc, err, errlen))
        return NXX_EINVAL;
    struct nxx_options o;
    settings(s, doc, &o);
    nxx_options_keep_running(&o, &s->running, doc->file ? doc->file : "the command line");
    return install(s->srv, doc, &o, 0, 1, err, errlen);
}

static int reload(nxx_server *srv, void *ud, char *err, size_t errlen)
{
    (void)srv;
    struct source *s = ud;
    pthread_mutex_lock(&s->lock);
    int e = source_load(s, err, errlen);
    pthread_mutex_unlock(&s->lock);
    return e;
}

static struct source *source_new(nxx_server *srv)
{
    struct source *s = nxx_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->srv = srv;
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

/* Register s as srv's source and reloader (replacing and freeing an older one). */
static void source_attach(struct source *s)
{
    pthread_mutex_lock(&sources_lock);
    s->next = sources;
    sources = s;
    pthread_mutex_unlock(&sources_lock);
    nxx_server_set_reloader(s->srv, reload, s, source_free);
}

int nxx_cfg_attach(nxx_server *srv, const char *file, int argc, char **argv,
                   struct nxx_cfg_doc *doc, const struct nxx_options *o)
{
    (void)file; /* argv names it (--config FILE) */
    struct source *s = source_new(srv);
    if (!s) {
        nxx_cfg_doc_free(doc);
        return NXX_ENOMEM;
    }
    s->argc = argc;
    s->argv = argv;
    s->doc0 = doc;
    s->running = *o;
    source_attach(s);
    return 0;
}

int nxx_server_load(nxx_server *srv, const char *path, char *err, size_t errlen)
{
    if (!srv || !path) {
        snprintf(err, errlen, "no server or no file");
        return NXX_EINVAL;
    }
    struct source *s = source_of(srv);
    if (s) {
        /* the command's source, or an earlier load: a file named again is
         * read the way it was (with the command's flags over it); another
         * one alone */
        pthread_mutex_lock(&s->lock);
        const char *cur = s->file ? s->file : NULL;
        const char *cmdfile = NULL;
        if (!cur && s->argc) {
            for (int i = 0; i + 1 < s->argc; i++)
                if (strcmp(s->argv[i], "--config") == 0)
                    cmdfile = s->argv[i + 1];
        }
        int same = (cur && strcmp(cur, path) == 0) || (cmdfile && strcmp(cmdfile, path) == 0);
        int e = 0;
        if (!same) {
            char *copy = nxx_strdup(path);
            if (!copy) {
                e = NXX_ENOMEM;
                snprintf(err, errlen, "out of memory");
            } else {
                nxx_free(s->file);
                s->file = copy;
                s->argc = 0;
            }
        }
        if (!e)
            e = source_load(s, err, errlen);
        pthread_mutex_unlock(&s->lock);
        return e;
    }
    /* the first load of an embedder's server: listeners, MIME types and
     * the log level too */
    struct nxx_cfg_doc *doc = NULL;
    if (nxx_cfg_read_file(path, &doc, err, errlen))
        return NXX_EINVAL;
    s = source_new(srv);
    if (s) {
        s->library = 1;
        s->file = nxx_strdup(path);
    }
    if (!s || !s->file) {
        if (s)
            source_free(s);
        nxx_cfg_doc_free(doc);
        snprintf(err, errlen, "out of memory");
        return NXX_ENOMEM;
    }
    struct nxx_options o;
    settings(s, doc, &o);
    /* what the server was created with is what runs: threads, the access log, ... */
    struct nxx_site *probe = nxx_server_new_site(srv);
    s->running = o;
    if (probe) {
        s->running.cfg = probe->cfg;
        nxx_site_free(probe);
    }
    int e = nxx_cfg_load_mime(&o, 0, err, errlen);
    if (e) {
        source_free(s);
        nxx_cfg_doc_free(doc);
        return e;
    }
    nxx_log_level = o.log_level;
    if (nxx_server_port(srv, 0) < 0) {
        for (size_t i = 0; i < o.nlisten; i++) {
            e = nxx_server_listen_flags(srv, o.listen[i], nxx_options_listen_flags(&o, i));
            if (e) {
                snprintf(err, errlen, "%s: cannot listen on %s: %s", path, o.listen[i],
                         nxx_strerror(e));
                source_free(s);
                nxx_cfg_doc_free(doc);
                return e;
            }
        }
    }
    /* doc stays with the source: the running strings (listen, MIME file) are its */
    s->doc0 = doc;
    nxx_options_keep_running(&o, &s->running, path);
    e = install(srv, doc, &o, 0, 0, err, errlen);
    if (e) {
        source_free(s);
        return e;
    }
    source_attach(s);
    return 0;
}
