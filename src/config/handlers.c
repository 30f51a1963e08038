/*
 * handlers.c - the location handlers of the key table.  Each is a module:
 * one entry whose `sub` lists its keys and whose setup calls the public
 * nxx_scope_* function (h2o's configurators).  A location has at most one
 * (NXX_CFG_HANDLER); a new handler (dav, proxy, websocket) is a new entry
 * here, nothing else.
 */
#include "config/keys.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/site.h"
#include "core/banned.h"

/* ---- files ---- */

/* "en", "pt-BR": letters, then '-' and letters or digits (RFC 5646, loosely). */
static const char *check_language_tag(const char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n && isalpha((unsigned char)s[i]))
        i++;
    int ok = i >= 1 && i <= 8;
    while (ok && i < n) {
        size_t j = ++i;
        while (j < n && isalnum((unsigned char)s[j]))
            j++;
        ok = s[i - 1] == '-' && j > i && j - i <= 8;
        i = j;
    }
    return ok ? NULL : "is not a language tag (en, pt-BR)";
}

static const struct nxx_cfg_key files_keys[] = {
    { .name = "root",
      .arg = "DIR",
      .type = K_STRING,
      .flags = NXX_CFG_REQUIRED | NXX_CFG_PATH,
      .help = "The directory served." },
    { .name = "listing",
      .type = K_FLAG,
      .def = "false",
      .help = "List directories that have no index.html (HTML, or JSON for clients that prefer "
              "it); without it such a directory answers 403." },
    { .name = "follow-symlinks",
      .type = K_FLAG,
      .def = "false",
      .help = "Follow symlinks that lead outside the root (by default only links that stay "
              "inside it are followed)." },
    { .name = "precompressed",
      .type = K_FLAG,
      .def = "true",
      .help = "Serve FILE.br / FILE.gz siblings to clients that accept them." },
    { .name = "cache-control",
      .arg = "VALUE",
      .type = K_STRING,
      .help = "Cache-Control of every file (max-age also sets Expires); without it none is sent "
              "and caches use Last-Modified heuristics.",
      .check = nxx_cfg_check_text },
    { .name = "strip-prefix",
      .type = K_FLAG,
      .def = "false",
      .help = "Look files up without the location's path (like nginx's alias): /assets/x.css "
              "of location /assets is ROOT/x.css instead of ROOT/assets/x.css." },
    { .name = "multiviews",
      .type = K_FLAG,
      .def = "false",
      .help = "A name without a file of its own is negotiated among its variants: files that "
              "add a language or type extension (NAME.en, NAME.html.fr, NAME.pdf) or a NAME.var "
              "type map. The best for Accept and Accept-Language is served with "
              "Content-Location; 300 with the list when the client asks for it (Negotiate) or "
              "nothing tells the best apart; 406 when none is acceptable; 506 when the chosen "
              "variant is itself a type map (RFC 2295)." },
    { .name = "language-priority",
      .arg = "TAGS",
      .type = K_LIST,
      .help = "Languages that break ties between equally acceptable variants, first wins (a "
              "client without Accept-Language gets the first one there is).",
      .check = check_language_tag },
};

static int setup_files(struct nxx_cfg_build *b, nxx_scope *loc, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    nxx_static_config sc;
    nxx_static_config_init(&sc);
    sc.root = nxx_cfg_str(m, "root");
    sc.listing = (int)nxx_cfg_num(m, "listing");
    sc.follow_symlinks = (int)nxx_cfg_num(m, "follow-symlinks");
    sc.precompressed = (int)nxx_cfg_num(m, "precompressed");
    sc.cache_control = nxx_cfg_str(m, "cache-control");
    sc.multiviews = (int)nxx_cfg_num(m, "multiviews");
    const struct nxx_cfg_val *prio = nxx_cfg_get(m, "language-priority");
    if (prio) {
        sc.language_priority = (const char *const *)prio->items;
        sc.nlanguage_priority = prio->nitems;
    }
    if (nxx_cfg_num(m, "strip-prefix")) {
        if (loc->match != NXX_LOC_PREFIX)
            return nxx_cfg_fail(b, nxx_cfg_get(m, "strip-prefix")->pos,
                                "strip-prefix needs a prefix location, not '%s'", loc->path);
        sc.prefix = loc->base[0] ? loc->base : "/";
    }
    int e = nxx_scope_files(loc, &sc);
    if (e)
        return nxx_cfg_fail(b, nxx_cfg_get(m, "root")->pos, "cannot serve '%s': %s", sc.root,
                            nxx_strerror(e));
    return 0;
}

/* ---- the REST store ---- */

static const struct nxx_cfg_key api_keys[] = {
    { .name = "data",
      .arg = "DIR",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .def = "./data",
      .help = "Directory of the store's database (DIR/nxx.db, created on first start). "
              "Locations naming the same directory share one database." },
    { .name = "require-preconditions",
      .type = K_FLAG,
      .def = "false",
      .help = "PUT/PATCH/DELETE of an existing item without If-Match get 428 (no lost "
              "updates)." },
    { .name = "max-db-bytes",
      .arg = "N",
      .type = K_SIZE,
      .max = 1ull << 50,
      .def = "0",
      .def_doc = "0 (no limit)",
      .help = "Size limit of the database; writes beyond it get 507 and write nothing (taken "
              "when the database is first opened)." },
    { .name = "max-list",
      .arg = "N",
      .type = K_COUNT,
      .min = 1,
      .max = 1000000,
      .def = "1000",
      .help = "Items per collection page at most." },
};

/* What `nxx check` looks at instead of opening the store (which would
 * start its writer and resume unfinished bulk tasks). */
static int data_dir_usable(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return !S_ISDIR(st.st_mode) ? -ENOTDIR : access(dir, W_OK | X_OK) == 0 ? 0 : -errno;
    if (errno != ENOENT)
        return -errno;
    return 0; /* created on start, with its parents */
}

static int setup_api(struct nxx_cfg_build *b, nxx_scope *loc, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    if (loc->match != NXX_LOC_PREFIX)
        return nxx_cfg_fail(b, v->pos, "the REST store needs a prefix location, not '%s'",
                            loc->path);
    nxx_rest_config rc;
    nxx_rest_config_init(&rc);
    rc.data_dir = nxx_cfg_str(m, "data");
    rc.require_preconditions = (int)nxx_cfg_num(m, "require-preconditions");
    rc.max_db_bytes = nxx_cfg_num(m, "max-db-bytes");
    rc.max_list = nxx_cfg_num(m, "max-list");
    int e = b->mode & NXX_CFG_MODE_CHECK ? data_dir_usable(rc.data_dir) : nxx_scope_rest(loc, &rc);
    if (e)
        return nxx_cfg_fail(b, nxx_cfg_get(m, "data")->pos,
                            "cannot open the REST store in '%s': %s", rc.data_dir, nxx_strerror(e));
    return 0;
}

/* ---- WebDAV ---- */

static const char *const dav_sync_modes[] = { "data", "full", "none", NULL };

static const struct nxx_cfg_key dav_keys[] = {
    { .name = "root",
      .arg = "DIR",
      .type = K_STRING,
      .flags = NXX_CFG_REQUIRED | NXX_CFG_PATH,
      .help = "The directory served read-write; the location's path is stripped "
              "(/dav/a.txt of location /dav is DIR/a.txt)." },
    { .name = "db",
      .arg = "FILE",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .def_doc = "ROOT/.nxx-dav.db",
      .help = "SQLite database of the dead properties (created on first start)." },
    { .name = "depth-infinity",
      .type = K_FLAG,
      .def = "false",
      .help = "Answer PROPFIND with Depth: infinity (a walk of the whole tree); without it such "
              "a request gets 403 with DAV:propfind-finite-depth." },
    { .name = "max-xml-bytes",
      .arg = "N",
      .type = K_SIZE,
      .min = 1024,
      .max = 1ull << 30,
      .def = "1M",
      .help = "Largest XML body of PROPFIND, PROPPATCH and LOCK (413 beyond)." },
    { .name = "max-lock-timeout",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 1000,
      .max = 604800000ull,
      .def = "3600",
      .help = "Longest lock granted; a lock asked for longer or Infinite gets this." },
    { .name = "processing-delay",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 10,
      .max = 3600000ull,
      .def = "1",
      .help = "A DELETE, COPY, MOVE or PROPFIND of members still working this long after it "
              "started sends 102 Processing to HTTP/1.1 clients, then one every second until "
              "the answer (RFC 2518 §10.1)." },
    { .name = "quota",
      .arg = "N",
      .type = K_SIZE,
      .max = 1ull << 60,
      .def = "0",
      .def_doc = "0 (none)",
      .help = "Largest total size of the files under the root (RFC 4331): a PUT beyond it gets "
              "507 with DAV:quota-not-exceeded and leaves nothing behind." },
    { .name = "sync",
      .arg = "MODE",
      .type = K_ENUM,
      .def = "data",
      .choices = dav_sync_modes,
      .help = "What a PUT or LOCK makes durable before its 2xx. data: a PUT's content "
              "(fdatasync, written back while the body arrives) and, after the rename, the "
              "directory: an acknowledged PUT survives a power failure; a lock's row is written "
              "to the database's log unsynced: it survives a crash of nxx, a power failure may "
              "lose the last locks taken or released. full: a PUT with fsync (the file's times "
              "too) and a lock's row synced (one fdatasync). none: nothing waits for the disk "
              "(PUT renamed into place unsynced, as Apache's mod_dav_fs does): a crash of nxx "
              "loses nothing, a power failure may lose acknowledged writes." },
    { .name = "max-jobs",
      .arg = "N",
      .type = K_COUNT,
      .max = 100000,
      .def = "64",
      .help = "COPY, MOVE, DELETE, PROPFIND of members and the end of a PUT (its sync) run on a "
              "pool of threads per root, started on demand up to this many and kept; further "
              "ones wait for a free thread (0: always on the worker, which waits for them)." },
};

static int setup_dav(struct nxx_cfg_build *b, nxx_scope *loc, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    if (loc->match != NXX_LOC_PREFIX)
        return nxx_cfg_fail(b, v->pos, "dav needs a prefix location, not '%s'", loc->path);
    nxx_dav_config dc;
    nxx_dav_config_init(&dc);
    dc.root = nxx_cfg_str(m, "root");
    dc.db = nxx_cfg_str(m, "db");
    dc.depth_infinity = (int)nxx_cfg_num(m, "depth-infinity");
    dc.max_xml_bytes = (size_t)nxx_cfg_num(m, "max-xml-bytes");
    dc.max_lock_timeout_s = (unsigned)(nxx_cfg_num(m, "max-lock-timeout") / 1000);
    dc.quota_bytes = nxx_cfg_num(m, "quota");
    dc.processing_delay_ms = (unsigned)nxx_cfg_num(m, "processing-delay");
    dc.sync = (int)nxx_cfg_num(m, "sync"); /* dav_sync_modes is in NXX_DAV_SYNC_* order */
    dc.max_jobs = (unsigned)nxx_cfg_num(m, "max-jobs");
    if (b->mode & NXX_CFG_MODE_CHECK) {
        struct stat st;
        if (stat(dc.root, &st) < 0 || !S_ISDIR(st.st_mode))
            return nxx_cfg_fail(b, nxx_cfg_get(m, "root")->pos, "cannot serve '%s': %s", dc.root,
                                "not a directory");
        return 0;
    }
    int e = nxx_scope_dav(loc, &dc);
    if (e)
        return nxx_cfg_fail(b, nxx_cfg_get(m, "root")->pos, "cannot serve WebDAV from '%s': %s",
                            dc.root, nxx_strerror(e));
    return 0;
}

/* ---- redirects and fixed answers ---- */

static const char *check_target(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return "is not a URI template (no spaces or control characters)";
    return NULL;
}

static const char *const redirect_codes[] = { "301", "302", "303", "307", "308", NULL };

static const struct nxx_cfg_key redirect_keys[] = {
    { .name = "to",
      .arg = "TEMPLATE",
      .type = K_STRING,
      .flags = NXX_CFG_REQUIRED,
      .help = "The Location: $1..$9 are the location's captures (:name segments, then the rest "
              "of the path after a prefix), {host}, {path}, {query} and {scheme} the request's; "
              "without a '?' the request's query is appended.",
      .check = check_target },
    { .name = "status",
      .arg = "CODE",
      .type = K_STATUS,
      .def = "302",
      .choices = redirect_codes,
      .help = "301, 302, 303, 307 or 308 (RFC 9110 §15.4; 307 and 308 keep the method)." },
};

static int setup_redirect(struct nxx_cfg_build *b, nxx_scope *loc, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    int e = nxx_scope_redirect(loc, nxx_cfg_str(m, "to"), (int)nxx_cfg_num(m, "status"));
    return e ? nxx_cfg_fail(b, v->pos, "redirect: %s", nxx_strerror(e)) : 0;
}

static const struct nxx_cfg_key return_keys[] = {
    { .name = "status",
      .arg = "CODE",
      .type = K_STATUS,
      .min = 200,
      .max = 599,
      .flags = NXX_CFG_REQUIRED,
      .help = "A registered status, 200 to 599 but not a redirection." },
    { .name = "body",
      .arg = "TEXT",
      .type = K_STRING,
      .help = "The content; without it an error status gets the standard problem body and "
              "others none." },
    { .name = "content-type",
      .arg = "TYPE",
      .type = K_STRING,
      .def = "text/plain; charset=utf-8",
      .help = "Content-Type of the body.",
      .check = nxx_cfg_check_text },
};

static int setup_return(struct nxx_cfg_build *b, nxx_scope *loc, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    int e = nxx_scope_return(loc, (int)nxx_cfg_num(m, "status"), nxx_cfg_str(m, "body"),
                             nxx_cfg_str(m, "content-type"));
    return e ? nxx_cfg_fail(b, v->pos, "return: %s", nxx_strerror(e)) : 0;
}

/* ---- HTCPCP ---- */

static const char *check_addition(const char *text)
{
    if (strpbrk(text, ",; \t\"\r\n"))
        return "is not an addition (no commas, semicolons, quotes or spaces)";
    return NULL;
}

static const struct nxx_cfg_key teapot_keys[] = {
    { .name = "coffee",
      .type = K_FLAG,
      .def = "false",
      .help = "A coffee pot (brews message/coffeepot) instead of a teapot (answers it 418)." },
    { .name = "additions",
      .arg = "NAMES",
      .type = K_LIST,
      .help = "What the pot can add (milk, sugar, ...): a brew whose Accept-Additions asks for "
              "anything else gets 406.",
      .check = check_addition },
};

static int setup_teapot(struct nxx_cfg_build *b, nxx_scope *loc, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    const struct nxx_cfg_val *add = nxx_cfg_get(m, "additions");
    nxx_teapot_config tc = {
        .coffee = (int)nxx_cfg_num(m, "coffee"),
        .additions = add ? add->items : NULL,
        .nadditions = add ? add->nitems : 0,
    };
    int e = nxx_scope_teapot(loc, &tc);
    return e ? nxx_cfg_fail(b, v->pos, "teapot: %s", nxx_strerror(e)) : 0;
}

/* ---- the reverse proxy ---- */

static const char *check_upstream(const char *text)
{
    if (strncmp(text, "unix:/", 6) == 0)
        return NULL;
    if (strstr(text, "://") && strncmp(text, "http://", 7) != 0)
        return "is not an http:// URL or unix:/PATH (upstreams are spoken to in plain HTTP/1.1)";
    return check_target(text);
}

static const char *check_subst(const char *text)
{
    const char *eq = strchr(text, '=');
    return eq && eq != text ? NULL : "is not FROM=TO with a non-empty FROM";
}

static const char *const balance_names[] = { "round-robin", "least-connections", "hash", NULL };
static const char *const forwarded_names[] = { "x-forwarded", "forwarded", "both", "none", NULL };

static const struct nxx_cfg_key proxy_keys[] = {
    { .name = "to",
      .arg = "URLS",
      .type = K_LIST,
      .flags = NXX_CFG_REQUIRED,
      .help = "The upstream group: http://HOST:PORT addresses and unix:/PATH sockets, spoken to "
              "in HTTP/1.1.",
      .check = check_upstream },
    { .name = "name",
      .arg = "NAME",
      .type = K_STRING,
      .def = "upstream",
      .help = "The group's name in problem details and logs (addresses are never shown to "
              "clients).",
      .check = nxx_cfg_check_text },
    { .name = "balance",
      .arg = "HOW",
      .type = K_ENUM,
      .def = "round-robin",
      .choices = balance_names,
      .help = "How an upstream is chosen: in turn, the one with the fewest open connections, or "
              "by a consistent hash of hash-key (the same key keeps its upstream while it is "
              "up)." },
    { .name = "hash-key",
      .arg = "KEY",
      .type = K_STRING,
      .def = "client",
      .help = "For balance: hash: 'client' (the client's address), 'path', or a request field's "
              "name.",
      .check = nxx_cfg_check_text },
    { .name = "connect-timeout",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 1,
      .max = 3600000,
      .def = "5",
      .help = "Connecting to an upstream takes longer: 504." },
    { .name = "header-timeout",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 1,
      .max = 86400000,
      .def = "60",
      .help = "The upstream's response head does not arrive this long after the request was "
              "sent: 504." },
    { .name = "idle-timeout",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 1,
      .max = 86400000,
      .def = "60",
      .help = "The upstream sends nothing for this long in the middle of its content (or stops "
              "taking the request's): the exchange ends (504, or the response cut short)." },
    { .name = "keepalive",
      .arg = "N",
      .type = K_COUNT,
      .max = 10000,
      .def = "64",
      .help = "Idle connections kept open per upstream and worker for the next requests (0: "
              "a connection per request)." },
    { .name = "keepalive-timeout",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 1,
      .max = 86400000,
      .def = "30",
      .help = "An idle pooled connection to an upstream is closed after this long." },
    { .name = "continue-timeout",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 1,
      .max = 3600000,
      .def = "1",
      .help = "Content sent with Expect: 100-continue goes to an upstream that has not answered "
              "100 (or a final status) within this time anyway (RFC 9110 §10.1.1)." },
    { .name = "retries",
      .arg = "N",
      .type = K_COUNT,
      .max = 16,
      .def = "1",
      .help = "Other upstreams tried for an idempotent request (GET, HEAD, PUT, DELETE, "
              "OPTIONS) when nothing of it reached the upstream that failed." },
    { .name = "max-fails",
      .arg = "N",
      .type = K_COUNT,
      .max = 1000,
      .def = "3",
      .help = "Passive checks: failures in a row (refused, reset, invalid, timed out) that mark "
              "an upstream down for fail-timeout (0: never)." },
    { .name = "fail-timeout",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 1,
      .max = 86400000,
      .def = "10",
      .help = "How long an upstream marked down by passive checks is left alone." },
    { .name = "health-path",
      .arg = "PATH",
      .type = K_STRING,
      .help = "Active checks: GET this path of every upstream each health-interval; a 2xx or "
              "3xx passes. Without it, no active checks.",
      .check = nxx_cfg_check_abs_path },
    { .name = "health-interval",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 100,
      .max = 86400000,
      .def = "5",
      .help = "Time between two active checks of the group." },
    { .name = "health-fails",
      .arg = "N",
      .type = K_COUNT,
      .min = 1,
      .max = 100,
      .def = "2",
      .help = "Failed active checks in a row that mark an upstream down." },
    { .name = "health-passes",
      .arg = "N",
      .type = K_COUNT,
      .min = 1,
      .max = 100,
      .def = "2",
      .help = "Passed active checks in a row that mark it up again." },
    { .name = "forwarded",
      .arg = "WHICH",
      .type = K_ENUM,
      .def = "x-forwarded",
      .choices = forwarded_names,
      .help = "Which fields tell the upstream about the client: X-Forwarded-For (appended to), "
              "-Proto and -Host; Forwarded (RFC 7239, appended to); both; or none." },
    { .name = "via",
      .arg = "PSEUDONYM",
      .type = K_STRING,
      .def_doc = "nxx- and 8 random hex digits per process",
      .help = "This proxy's name in Via; a request whose Via already has it came back through "
              "this proxy and gets 508.",
      .check = nxx_cfg_check_token },
    { .name = "transform",
      .arg = "FROM=TO",
      .type = K_LIST,
      .help = "Literal substitutions in upstream 200 text responses (text/*, XHTML); the client "
              "gets 203 Non-Authoritative Information, identity is asked of the upstream.",
      .check = check_subst },
    { .name = "inject",
      .arg = "HTML",
      .type = K_STRING,
      .help = "A snippet inserted before the last </body> of upstream 200 text responses (203, "
              "as transform)." },
    { .name = "try-files",
      .arg = "DIR",
      .type = K_STRING,
      .flags = NXX_CFG_PATH,
      .help = "GET and HEAD of a file that exists under DIR are served from it (as files does); "
              "everything else is proxied." },
    { .name = "max-transform",
      .arg = "N",
      .type = K_SIZE,
      .max = 1ull << 30,
      .def = "1M",
      .help = "Responses to transform are collected whole up to this size; larger ones (by "
              "Content-Length) are relayed untouched, and one found larger on the way gets 502." },
    { .name = "read-buffer",
      .arg = "N",
      .type = K_SIZE,
      .min = 4096,
      .max = 16ull << 20,
      .def = "64K",
      .help = "Each upstream connection's read buffer: the upstream's bytes read at once and "
              "handed to the client without a copy (it is not read again until the client took "
              "them). A response head must fit in it (502 beyond)." },
    { .name = "send-buffer",
      .arg = "N",
      .type = K_SIZE,
      .min = 256 * 1024,
      .max = 1ull << 30,
      .def = "1M",
      .help = "The most request content waiting for a slow upstream, per connection (the client "
              "is paused once 64 KiB wait; this bounds what it had already sent): 502 beyond." },
    { .name = "max-fields",
      .arg = "N",
      .type = K_COUNT,
      .min = 8,
      .max = 10000,
      .def = "128",
      .help = "Header fields in an upstream's response head: more is an invalid response (502)." },
};

static int setup_proxy(struct nxx_cfg_build *b, nxx_scope *loc, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    const struct nxx_cfg_val *to = nxx_cfg_get(m, "to");
    const struct nxx_cfg_val *tr = nxx_cfg_get(m, "transform");
    static const unsigned fwd[] = { NXX_PROXY_XFF, NXX_PROXY_FORWARDED,
                                    NXX_PROXY_XFF | NXX_PROXY_FORWARDED, 0 };
    nxx_proxy_config pc;
    nxx_proxy_config_init(&pc);
    pc.upstreams = to->items;
    pc.nupstreams = to->nitems;
    pc.name = nxx_cfg_str(m, "name");
    pc.balance = (enum nxx_proxy_balance)nxx_cfg_num(m, "balance");
    pc.hash_key = nxx_cfg_str(m, "hash-key");
    pc.connect_timeout_ms = (unsigned)nxx_cfg_num(m, "connect-timeout");
    pc.header_timeout_ms = (unsigned)nxx_cfg_num(m, "header-timeout");
    pc.idle_timeout_ms = (unsigned)nxx_cfg_num(m, "idle-timeout");
    pc.keepalive = (unsigned)nxx_cfg_num(m, "keepalive");
    pc.keepalive_timeout_ms = (unsigned)nxx_cfg_num(m, "keepalive-timeout");
    pc.retries = (unsigned)nxx_cfg_num(m, "retries");
    pc.continue_timeout_ms = (unsigned)nxx_cfg_num(m, "continue-timeout");
    pc.max_fails = (unsigned)nxx_cfg_num(m, "max-fails");
    pc.fail_timeout_ms = (unsigned)nxx_cfg_num(m, "fail-timeout");
    pc.health_path = nxx_cfg_str(m, "health-path");
    pc.health_interval_ms = (unsigned)nxx_cfg_num(m, "health-interval");
    pc.health_fails = (unsigned)nxx_cfg_num(m, "health-fails");
    pc.health_passes = (unsigned)nxx_cfg_num(m, "health-passes");
    pc.forwarded = fwd[nxx_cfg_num(m, "forwarded") & 3];
    pc.via = nxx_cfg_str(m, "via");
    pc.transform = tr ? tr->items : NULL;
    pc.ntransform = tr ? tr->nitems : 0;
    pc.inject = nxx_cfg_str(m, "inject");
    pc.max_transform_bytes = nxx_cfg_num(m, "max-transform");
    pc.read_buffer_bytes = nxx_cfg_num(m, "read-buffer");
    pc.send_buffer_bytes = nxx_cfg_num(m, "send-buffer");
    pc.max_fields = (unsigned)nxx_cfg_num(m, "max-fields");
    pc.try_files = nxx_cfg_str(m, "try-files");
    if (b->mode & NXX_CFG_MODE_CHECK)
        return 0;
    int e = nxx_scope_proxy(loc, &pc);
    return e ? nxx_cfg_fail(b, to->pos, "proxy: %s", nxx_strerror(e)) : 0;
}

/* ---- the forward proxy ---- */

static const char *check_port(const char *text)
{
    char *end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    return *text && end && !*end && v >= 1 && v <= 65535 ? NULL : "is not a port (1 to 65535)";
}

static const char *check_dest(const char *text)
{
    if (strstr(text, "://") || strchr(text, '/'))
        return "is not HOST:PORT";
    return check_target(text);
}

static const struct nxx_cfg_key forward_keys[] = {
    { .name = "allow",
      .arg = "HOST:PORT",
      .type = K_LIST,
      .flags = NXX_CFG_REQUIRED,
      .help = "The destinations the proxy goes to, as requests name them (HOST:PORT; without a "
              "port, 80); any other gets 403.",
      .check = check_dest },
    { .name = "connect-ports",
      .arg = "PORTS",
      .type = K_LIST,
      .def_doc = "443",
      .help = "Ports an allowed destination may be reached at through a CONNECT tunnel; other "
              "CONNECTs get 403.",
      .check = check_port },
    { .name = "name",
      .arg = "NAME",
      .type = K_STRING,
      .def = "forward",
      .help = "The proxy's name in problem details and logs.",
      .check = nxx_cfg_check_text },
    { .name = "connect-timeout",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 1,
      .max = 3600000,
      .def = "5",
      .help = "Connecting to the destination takes longer: 504." },
    { .name = "header-timeout",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 1,
      .max = 86400000,
      .def = "60",
      .help = "The destination's response head does not arrive in time: 504." },
    { .name = "via",
      .arg = "PSEUDONYM",
      .type = K_STRING,
      .def_doc = "nxx- and 8 random hex digits per process",
      .help = "This proxy's name in Via (508 for a request that already carries it).",
      .check = nxx_cfg_check_token },
};

static int setup_forward(struct nxx_cfg_build *b, nxx_scope *loc, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    const struct nxx_cfg_val *allow = nxx_cfg_get(m, "allow");
    const struct nxx_cfg_val *cp = nxx_cfg_get(m, "connect-ports");
    if (loc->match != NXX_LOC_PREFIX || strcmp(loc->path, "/") != 0)
        return nxx_cfg_fail(b, v->pos,
                            "a forward proxy needs the location '/' (CONNECT and absolute-form "
                            "requests are routed there), not '%s'",
                            loc->path);
    unsigned ports[64];
    size_t nports = 0;
    for (size_t i = 0; cp && i < cp->nitems && nports < 64; i++)
        ports[nports++] = (unsigned)strtoul(cp->items[i], NULL, 10);
    nxx_proxy_config pc;
    nxx_proxy_config_init(&pc);
    pc.forward = 1;
    pc.upstreams = allow->items;
    pc.nupstreams = allow->nitems;
    pc.connect_ports = cp ? ports : NULL;
    pc.nconnect_ports = nports;
    pc.name = nxx_cfg_str(m, "name");
    pc.connect_timeout_ms = (unsigned)nxx_cfg_num(m, "connect-timeout");
    pc.header_timeout_ms = (unsigned)nxx_cfg_num(m, "header-timeout");
    pc.via = nxx_cfg_str(m, "via");
    pc.retries = 0;
    pc.max_fails = 0;
    if (b->mode & NXX_CFG_MODE_CHECK)
        return 0;
    int e = nxx_scope_proxy(loc, &pc);
    return e ? nxx_cfg_fail(b, allow->pos, "forward: %s", nxx_strerror(e)) : 0;
}

/* ---- WebSocket ---- */

static const char *const ws_modes[] = { "echo", "channels", NULL };

static const char *check_protocol(const char *text)
{
    for (const char *p = text; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", *p))
            return "is not a subprotocol name (a token)";
    return NULL;
}

static const struct nxx_cfg_key websocket_keys[] = {
    { .name = "mode",
      .arg = "MODE",
      .type = K_ENUM,
      .def = "echo",
      .choices = ws_modes,
      .help = "echo: every message comes back to its sender; channels: every message goes to "
              "every connection on the same path (a publish/subscribe channel per path)." },
    { .name = "protocols",
      .arg = "NAMES",
      .type = K_LIST,
      .help = "Subprotocols in order of preference (Sec-WebSocket-Protocol): the first one the "
              "client offers is chosen; without a match the connection has none.",
      .check = check_protocol },
    { .name = "max-message",
      .arg = "N",
      .type = K_SIZE,
      .min = 1,
      .max = 1ull << 30,
      .def = "1M",
      .help = "A message (after decompression) over this closes the connection with 1009; "
              "judged from each frame's header before its payload is read." },
    { .name = "ping-interval",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .max = 86400000,
      .def = "30",
      .def_doc = "30 (0: no pings)",
      .help = "A ping after this long without a frame from the client; a second interval "
              "without one closes the connection." },
    { .name = "max-pending",
      .arg = "N",
      .type = K_SIZE,
      .min = 1024,
      .max = 1ull << 30,
      .def = "1M",
      .help = "Output waiting for a slow client: above it an echo stops reading until the "
              "client catches up, and a channel subscriber whose queue passes it is closed "
              "with 1008." },
    { .name = "deflate",
      .type = K_FLAG,
      .def = "true",
      .help = "Accept permessage-deflate (RFC 7692) offers, with their context-takeover and "
              "window-size parameters." },
    { .name = "origins",
      .arg = "ORIGINS",
      .type = K_LIST,
      .help = "Origins of the pages allowed to connect (https://example.org): a browser's "
              "handshake from another origin gets 403 (cross-site WebSocket hijacking); one "
              "without Origin (not a browser) is accepted. Without the key any origin may.",
      .check = nxx_cfg_check_text },
    { .name = "close-timeout",
      .arg = "SECONDS",
      .type = K_SECONDS,
      .min = 1,
      .max = 600000,
      .def = "5",
      .help = "After the server's close frame, how long the client's is awaited before the "
              "connection is dropped." },
};

static int setup_websocket(struct nxx_cfg_build *b, nxx_scope *loc, const struct nxx_cfg_val *v)
{
    const struct nxx_cfg_block *m = v->blocks[0];
    const struct nxx_cfg_val *protos = nxx_cfg_get(m, "protocols");
    nxx_ws_config wc;
    nxx_ws_config_init(&wc);
    wc.protocols = protos ? protos->items : NULL;
    wc.nprotocols = protos ? protos->nitems : 0;
    wc.max_message = nxx_cfg_num(m, "max-message");
    wc.ping_interval_ms = (unsigned)nxx_cfg_num(m, "ping-interval");
    wc.max_pending = nxx_cfg_num(m, "max-pending");
    wc.deflate = (int)nxx_cfg_num(m, "deflate");
    wc.close_timeout_ms = (unsigned)nxx_cfg_num(m, "close-timeout");
    const struct nxx_cfg_val *origins = nxx_cfg_get(m, "origins");
    wc.origins = origins ? origins->items : NULL;
    wc.norigins = origins ? origins->nitems : 0;
    int e = nxx_cfg_num(m, "mode") == 1 ? nxx_scope_ws_channels(loc, &wc)
                                        : nxx_scope_websocket(loc, &wc, NULL, NULL);
    return e ? nxx_cfg_fail(b, v->pos, "websocket: %s", nxx_strerror(e)) : 0;
}

#define KEYS(a) .sub = (a), .nsub = sizeof(a) / sizeof((a)[0])

const struct nxx_cfg_key nxx_cfg_handler_keys[] = {
    { .name = "files",
      .type = K_BLOCK,
      .help = "Serve files: GET and HEAD with validators, conditional requests, ranges, "
              "precompressed siblings and optional listings.",
      .scopes = NXX_CFG_LOCATION,
      .flags = NXX_CFG_HANDLER,
      KEYS(files_keys),
      .shorthand = "root",
      .setup = setup_files },
    { .name = "api",
      .type = K_BLOCK,
      .help = "The durable REST JSON store (docs/api.md): collections of JSON objects under the "
              "location's path, in an embedded SQLite database.",
      .scopes = NXX_CFG_LOCATION,
      .flags = NXX_CFG_HANDLER,
      KEYS(api_keys),
      .shorthand = "data",
      .setup = setup_api },
    { .name = "dav",
      .type = K_BLOCK,
      .help = "WebDAV (docs/webdav.md): the directory read and written with PROPFIND, PROPPATCH, "
              "MKCOL, PUT, DELETE, COPY, MOVE, LOCK and UNLOCK (classes 1, 2 and 3); GET and HEAD "
              "as the file handler serves them.",
      .scopes = NXX_CFG_LOCATION,
      .flags = NXX_CFG_HANDLER,
      KEYS(dav_keys),
      .shorthand = "root",
      .setup = setup_dav },
    { .name = "redirect",
      .type = K_BLOCK,
      .help = "Redirect every request of the location to a URI built from a template.",
      .scopes = NXX_CFG_LOCATION,
      .flags = NXX_CFG_HANDLER,
      KEYS(redirect_keys),
      .shorthand = "to",
      .setup = setup_redirect },
    { .name = "return",
      .type = K_BLOCK,
      .help = "A fixed answer (health checks, placeholders): `return: 204`, or a status with a "
              "body and its type.",
      .scopes = NXX_CFG_LOCATION,
      .flags = NXX_CFG_HANDLER,
      KEYS(return_keys),
      .shorthand = "status",
      .setup = setup_return },
    { .name = "proxy",
      .type = K_BLOCK,
      .help = "Relay the location's requests to a group of upstream HTTP/1.1 servers "
              "(docs/proxy.md): streamed both ways, pooled connections, balancing, health "
              "checks; 502, 503, 504 and 508 when the upstream side fails.",
      .scopes = NXX_CFG_LOCATION,
      .flags = NXX_CFG_HANDLER,
      KEYS(proxy_keys),
      .shorthand = "to",
      .setup = setup_proxy },
    { .name = "forward",
      .type = K_BLOCK,
      .help = "A forward proxy on the location '/' (docs/proxy.md): absolute-form requests "
              "(curl -x) and CONNECT tunnels (curl -p) to an allow-list of destinations.",
      .scopes = NXX_CFG_LOCATION,
      .flags = NXX_CFG_HANDLER,
      KEYS(forward_keys),
      .shorthand = "allow",
      .setup = setup_forward },
    { .name = "teapot",
      .type = K_BLOCK,
      .help = "An HTCPCP pot (RFC 2324, RFC 7168): BREW of message/coffeepot to a teapot gets "
              "418; a coffee pot brews with the additions it has.",
      .scopes = NXX_CFG_LOCATION,
      .flags = NXX_CFG_HANDLER,
      KEYS(teapot_keys),
      .setup = setup_teapot },
    { .name = "websocket",
      .type = K_BLOCK,
      .help = "WebSocket (RFC 6455, docs/websocket.md): an echo or publish/subscribe channels; "
              "a plain request gets 426, a bad handshake 400.",
      .scopes = NXX_CFG_LOCATION,
      .flags = NXX_CFG_HANDLER,
      KEYS(websocket_keys),
      .shorthand = "mode",
      .setup = setup_websocket },
};
const size_t nxx_cfg_nhandler_keys = sizeof(nxx_cfg_handler_keys) / sizeof(nxx_cfg_handler_keys[0]);
