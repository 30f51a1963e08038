/*
 * handlers.c - the location handlers of the key table.  Each is a module:
 * one entry whose `sub` lists its keys and whose setup calls the public
 * nxx_scope_* function (h2o's configurators).  A location has at most one
 * (NXX_CFG_HANDLER); a new handler (dav, proxy, websocket) is a new entry
 * here, nothing else.
 */
#include "config/keys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/site.h"
#include "core/banned.h"

/* ---- files ---- */

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
