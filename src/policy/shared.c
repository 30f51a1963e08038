/*
 * shared.c - the registry of policy state shared across configuration
 * generations (contract in shared.h).  A few objects per configured
 * policy, looked up only while a configuration is built: a list under one
 * mutex is enough, and nothing on a request's path touches it.
 */
#include "policy/shared.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "http/site.h"
#include "core/banned.h"

struct nxx_shared {
    struct nxx_shared *next;
    char *key;
    const void *site; /* the last generation that took it */
    void *obj;
    void (*destroy)(void *);
    unsigned refs;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct nxx_shared *all;

static struct nxx_shared *find(const char *key)
{
    for (struct nxx_shared *s = all; s; s = s->next)
        if (strcmp(s->key, key) == 0)
            return s;
    return NULL;
}

/* A generation is gone: an object it took is no longer its, so a later
 * generation that happens to get the same address is not taken for it. */
static void forget_site(void *site)
{
    pthread_mutex_lock(&lock);
    for (struct nxx_shared *s = all; s; s = s->next)
        if (s->site == site)
            s->site = NULL;
    pthread_mutex_unlock(&lock);
}

void *nxx_shared_get(const char *key, struct nxx_site *site, void *(*create)(void *arg), void *arg,
                     void (*destroy)(void *obj), struct nxx_shared **out)
{
    *out = NULL;
    if (site && nxx_site_on_free(site, forget_site, site) != 0)
        return NULL;
    size_t klen = strlen(key) + 16;
    char *k = nxx_malloc(klen);
    if (!k)
        return NULL;
    snprintf(k, klen, "%s", key);
    pthread_mutex_lock(&lock);
    struct nxx_shared *s = find(k);
    for (unsigned n = 2; s && s->site == site; n++) {
        snprintf(k, klen, "%s#%u", key, n); /* a twin in the same generation */
        s = find(k);
    }
    if (s) {
        s->refs++;
        s->site = site;
        nxx_free(k);
    } else if ((s = nxx_calloc(1, sizeof(*s))) && (s->obj = create(arg))) {
        s->key = k;
        s->site = site;
        s->destroy = destroy;
        s->refs = 1;
        s->next = all;
        all = s;
    } else {
        nxx_free(s);
        nxx_free(k);
        s = NULL;
    }
    pthread_mutex_unlock(&lock);
    *out = s;
    return s ? s->obj : NULL;
}

void nxx_shared_put(struct nxx_shared *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&lock);
    int last = --s->refs == 0;
    if (last) {
        struct nxx_shared **pp = &all;
        while (*pp != s)
            pp = &(*pp)->next;
        *pp = s->next;
    }
    pthread_mutex_unlock(&lock);
    if (last) {
        s->destroy(s->obj);
        nxx_free(s->key);
        nxx_free(s);
    }
}

void nxx_shared_scope_key(const nxx_scope *scope, char *buf, size_t len)
{
    const struct nxx_scope *host = scope->kind == NXX_SCOPE_LOCATION ? scope->parent : scope;
    const char *name = host->kind == NXX_SCOPE_HOST && host->nnames ? host->names[0] : "";
    if (scope->kind == NXX_SCOPE_SERVER)
        snprintf(buf, len, "server");
    else if (scope->kind == NXX_SCOPE_HOST)
        snprintf(buf, len, "host:%s", name);
    else
        snprintf(buf, len, "host:%s|loc:%s", name, scope->path ? scope->path : "");
}
