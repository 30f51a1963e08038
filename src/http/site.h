/*
 * site.h - one configuration generation: the server scope, its hosts, their
 * locations, the routes and policies of each, and the settings every
 * request resolves against.  Built before the server runs (or by a reload),
 * published with nxx_site_publish(), and immutable from then on: requests
 * hold the generation they started under until they end, so a reload never
 * changes anything under a request in flight.
 *
 * Handlers (src/handlers) may include this header to attach themselves to a
 * scope: nxx_site_route(), nxx_site_on_free(), and the public nxx_scope_*
 * functions.  Only the engine looks inside struct nxx_site.
 */
#ifndef NXX_HTTP_SITE_H
#define NXX_HTTP_SITE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "nxx.h"
#include "router/router.h"

#define NXX_SITE_MAX_NAMES 64 /* names and aliases of one host */

enum nxx_scope_kind { NXX_SCOPE_SERVER, NXX_SCOPE_HOST, NXX_SCOPE_LOCATION };

enum nxx_loc_match { NXX_LOC_PREFIX, NXX_LOC_EXACT, NXX_LOC_PATTERN };

struct nxx_site;

struct nxx_policy_ent {
    nxx_policy_fn fn;
    void *ud;
};

struct nxx_policy_list {
    struct nxx_policy_ent *v;
    size_t n;
};

/* Settings a scope may set; unset ones are inherited (resolved at publish). */
#define NXX_SET_MAX_BODY 0x1
#define NXX_SET_BODY_TIMEOUT 0x2

struct nxx_scope {
    enum nxx_scope_kind kind;
    struct nxx_site *site;
    struct nxx_scope *parent; /* location -> host -> server */
    /* host: its names; location: its path as configured */
    char **names;
    size_t nnames;
    char *path;
    enum nxx_loc_match match;
    char *base; /* location: the pattern its routes hang under ("/api", "/health", "/u/:id") */
    struct nxx_router router; /* host: every route of the host and its locations */
    struct nxx_scope **locs;  /* host: its locations */
    size_t nlocs, loccap;
    int is_default;
    size_t nroutes; /* location: routes added to it */
    /* own settings and what they resolve to */
    unsigned set;
    size_t max_body_bytes;
    unsigned body_timeout_ms;
    char *hdr_lines; /* "Name: value\r\n"... added to every response (own + inherited) */
    size_t hdr_len;
    char *hint_lines; /* "Link: value\r\n"... sent as a 103 first (own + inherited) */
    size_t hint_len;
    void *tls; /* server, host: its certificate (an SSL_CTX of src/tls), or NULL */
    struct nxx_policy_list own[3];      /* by phase */
    struct nxx_policy_list resolved[3]; /* server's, host's, then own */
};

struct nxx_site_cleanup {
    void (*fn)(void *);
    void *arg;
};

struct nxx_site_name {
    char *name; /* lowercase, no port; wildcards without the leading "*" (".example.org") */
    size_t len;
    struct nxx_scope *host;
};

struct nxx_site {
    atomic_uint refs;
    nxx_server *srv;
    nxx_config cfg; /* the settings of this generation */
    struct nxx_scope server;
    struct nxx_scope **hosts;
    size_t nhosts, hostcap;
    struct nxx_scope *default_host;
    /* name lookup, built at publish */
    struct nxx_site_name *exact; /* open addressing, size emask + 1 */
    uint32_t emask;
    size_t nexact;
    struct nxx_site_name *wild; /* longest suffix first */
    size_t nwild;
    int one_host; /* a single host and no lookup to make */
    struct nxx_site_cleanup *cleanups;
    size_t ncleanups;
    int published;
    uint64_t id; /* generation number, 1 for the first */
};

/* A new, empty generation for srv with settings cfg (copied). NULL on ENOMEM. */
struct nxx_site *nxx_site_new(nxx_server *srv, const nxx_config *cfg);

/* Finish a generation: resolve inherited settings and policy lists, build the
 * name lookup.  NXX_EINVAL (with a message in err) for an inconsistent one,
 * such as strict_hosts without a named host. */
int nxx_site_publish(struct nxx_site *site, char *err, size_t errlen);

/* Take / drop a reference; the last drop runs the cleanups and frees. */
void nxx_site_ref(struct nxx_site *site);
void nxx_site_unref(struct nxx_site *site);

/* Free a generation that was never published and nobody holds. */
void nxx_site_free(struct nxx_site *site);

/*
 * For configuration front ends (src/config): a new generation with the
 * server's settings as its start; and installing it, which publishes it
 * and makes it the server's configuration (before nxx_server_run: the one
 * it starts with; while it runs: a reload).  On error the generation is
 * freed and err says why.
 */
struct nxx_site *nxx_server_new_site(nxx_server *srv);
int nxx_server_install(nxx_server *srv, struct nxx_site *site, char *err, size_t errlen);

/* Where nxx_server_reload() takes the next generation from: fn builds and
 * installs it (or fails with a message in err).  free(ud) at nxx_server_free. */
void nxx_server_set_reloader(nxx_server *srv,
                             int (*fn)(nxx_server *srv, void *ud, char *err, size_t errlen),
                             void *ud, void (*free_ud)(void *));

/* The builder behind the public nxx_server_host & co. */
struct nxx_scope *nxx_site_host(struct nxx_site *site, const char *name);
int nxx_site_route(struct nxx_scope *scope, const char *method, const char *subpath, unsigned flags,
                   nxx_handler_fn fn, void *ud);
int nxx_site_on_free(struct nxx_site *site, void (*fn)(void *), void *arg);

/*
 * The host for an authority (a Host value or absolute-form authority, with
 * or without a port): the named host, or the default host; NULL when no
 * host answers for it and the generation is strict (421).
 */
struct nxx_scope *nxx_site_find_host(const struct nxx_site *site, nxx_str authority);

#endif
