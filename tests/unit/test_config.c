/* Unit tests of the key table and its front ends (src/config). */
#include "config/keys.h"
#include "config/options.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/log.h"
#include "http/site.h"

#define FOR_EACH_KEY(k)                                                                            \
    for (size_t s_ = 0; s_ < nxx_cfg_nsections; s_++)                                              \
        for (size_t i_ = 0; i_ < *nxx_cfg_sections[s_].n; i_++)                                    \
            for (const struct nxx_cfg_key *k = &nxx_cfg_sections[s_].keys[i_]; k; k = NULL)

static int in_config(const struct nxx_cfg_key *k)
{
    size_t base = offsetof(struct nxx_options, cfg);
    return ((nxx_cfg_scopes(k) & NXX_CFG_GLOBAL) || (k->flags & NXX_CFG_FIELD)) &&
           k->offset >= base && k->offset < base + sizeof(nxx_config);
}

/* The defaults are written once, in the table; nxx_config_init (the
 * library's) must agree with them field for field. */
TEST(table_defaults_agree_with_nxx_config_init)
{
    struct nxx_options o;
    memset(&o, 0, sizeof(o));
    size_t covered = 0;
    FOR_EACH_KEY(k)
    {
        if (!in_config(k))
            continue;
        covered++;
        if (k->flags & NXX_CFG_CMD_DEFAULT)
            continue; /* the command's own default, checked below */
        CHECK(k->def != NULL);
        struct nxx_cfg_val v;
        memset(&v, 0, sizeof(v));
        char buf[128];
        const char *why = nxx_cfg_parse_scalar(k, k->def, &v, buf, sizeof(buf));
        if (why)
            test_fail(__FILE__, __LINE__, "default '%s' of '%s' %s", k->def, k->name, why);
        nxx_options_set(&o, k, v.n, v.s);
    }
    nxx_config ref;
    nxx_config_init(&ref);
    /* every field whose default is not zero is a key of the table */
    CHECK(covered >= 16);
    CHECK_EQ_INT(o.cfg.threads, ref.threads);
    CHECK_EQ_INT(o.cfg.request_timeout_ms, ref.request_timeout_ms);
    CHECK_EQ_INT(o.cfg.max_body_bytes, ref.max_body_bytes);
    CHECK_EQ_STR(o.cfg.server_name, ref.server_name);
    o.cfg.server_name = ref.server_name; /* equal text, maybe not the same pointer */
    /* access-log: the library logs nothing by default, the command to stdout */
    CHECK(ref.access_log == NULL);
    const struct nxx_cfg_key *al = nxx_cfg_lookup(NXX_CFG_GLOBAL, "access-log", 10);
    CHECK(al && (al->flags & NXX_CFG_CMD_DEFAULT));
    CHECK_EQ_STR(al->def, "-");
    CHECK(memcmp(&o.cfg, &ref, sizeof(ref)) == 0);
    for (size_t i = 0; i < sizeof(ref); i++)
        if (((const unsigned char *)&o.cfg)[i] != ((const unsigned char *)&ref)[i]) {
            test_fail(__FILE__, __LINE__, "nxx_config differs from the table at byte %zu", i);
            break;
        }
}

TEST(every_key_is_complete)
{
    FOR_EACH_KEY(k)
    {
        CHECK(k->name && *k->name);
        /* lowercase words, digits inside a word ("h2c", "h2-window") */
        CHECK(*k->name >= 'a' && *k->name <= 'z');
        for (const char *c = k->name; *c; c++)
            CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-');
        CHECK(k->help && strlen(k->help) > 10);
        if (k->flags & NXX_CFG_HANDLER)
            CHECK(k->type == K_BLOCK && nxx_cfg_scopes(k) == NXX_CFG_LOCATION && k->setup);
        if (k->flags & NXX_CFG_RESTART)
            CHECK(nxx_cfg_scopes(k) & NXX_CFG_GLOBAL);
        if (nxx_cfg_scopes(k) & NXX_CFG_SCOPED)
            CHECK(k->setup != NULL);
        if (k->shorthand)
            CHECK(nxx_cfg_sub(k, k->shorthand, strlen(k->shorthand)) != NULL);
        if ((k->type == K_ENUM) || (k->type == K_STATUS && k->def))
            CHECK(k->choices || k->type == K_STATUS);
        for (size_t i = 0; i < k->nsub; i++) {
            const struct nxx_cfg_key *sk = &k->sub[i];
            CHECK(sk->help && *sk->help);
            if (sk->def) {
                struct nxx_cfg_val v;
                memset(&v, 0, sizeof(v));
                char buf[128];
                CHECK(nxx_cfg_parse_scalar(sk, sk->def, &v, buf, sizeof(buf)) == NULL);
            }
        }
        /* one name per scope */
        CHECK(nxx_cfg_lookup(nxx_cfg_scopes(k), k->name, strlen(k->name)) == k);
    }
}

static const struct nxx_cfg_key *key(const char *name)
{
    const struct nxx_cfg_key *k = nxx_cfg_lookup_any(name, strlen(name));
    if (!k)
        test_fail(__FILE__, __LINE__, "no key '%s'", name);
    return k;
}

TEST(scalar_values)
{
    static const struct {
        const char *key, *text, *why; /* why NULL: accepted */
        unsigned long long n;
    } cases[] = {
        { "threads", "4", NULL, 4 },
        { "threads", "257", "is out of range (0 to 256)", 0 },
        { "threads", "-1", "is not a non-negative number", 0 },
        { "threads", "abc", "is not a number", 0 },
        { "threads", "4K", "is not a number", 0 },
        { "max-header-bytes", "64K", NULL, 65536 },
        { "max-header-bytes", "1m", NULL, 1048576 },
        { "max-header-bytes", "4X", "is not a size (digits with an optional K, M or G)", 0 },
        { "max-body-bytes", "", "is not a non-negative number", 0 },
        { "request-timeout", "0.5", NULL, 500 },
        { "request-timeout", "1s", "is not a number of seconds", 0 },
        { "request-timeout", "0", "is out of range", 0 },
        { "drain-timeout", "0", NULL, 0 },
        { "access-log-format", "json", NULL, 1 },
        { "access-log-format", "xml", "is not one of the accepted values", 0 },
        { "scheduling", "normal", NULL, 1 },
        { "scheduling", "fifo", "is not one of the accepted values", 0 },
        { "trace", "true", NULL, 1 },
        { "trace", "yes", "is not true or false", 0 },
        { "server-name", "", "must not be empty", 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct nxx_cfg_val v;
        memset(&v, 0, sizeof(v));
        char buf[128];
        const char *why =
            nxx_cfg_parse_scalar(key(cases[i].key), cases[i].text, &v, buf, sizeof(buf));
        if (cases[i].why) {
            if (!why || strcmp(why, cases[i].why) != 0)
                test_fail(__FILE__, __LINE__, "%s '%s': '%s', expected '%s'", cases[i].key,
                          cases[i].text, why ? why : "(accepted)", cases[i].why);
        } else if (why || v.n != cases[i].n) {
            test_fail(__FILE__, __LINE__, "%s '%s': %s, n = %llu", cases[i].key, cases[i].text,
                      why ? why : "accepted", v.n);
        }
    }
}

TEST(edit_distance)
{
    CHECK_EQ_INT(nxx_cfg_distance("max-body-byte", 13, "max-body-bytes", 14, 3), 1);
    CHECK_EQ_INT(nxx_cfg_distance("trheads", 7, "threads", 7, 3), 2);
    CHECK_EQ_INT(nxx_cfg_distance("abc", 3, "abc", 3, 3), 0);
    CHECK_EQ_INT(nxx_cfg_distance("listen", 6, "hosts", 5, 2), 3); /* bounded: limit + 1 */
}

/* ---- the file ---- */

static char *read_err(const char *yaml)
{
    static char err[2048];
    struct nxx_cfg_doc *doc = NULL;
    err[0] = '\0';
    int rc = nxx_cfg_read_yaml("t.yaml", yaml, strlen(yaml), &doc, err, sizeof(err));
    if (rc == 0) {
        nxx_cfg_free(doc);
        return NULL;
    }
    CHECK(doc == NULL);
    return err;
}

TEST(file_errors_name_line_column_key_and_expectation)
{
    static const struct {
        const char *yaml, *err;
    } cases[] = {
        { "threads: two\n",
          "t.yaml:1:10: 'threads': 'two' is not a number (expected a whole number from 0 to 256)" },
        { "thread: 2\n", "t.yaml:1:1: unknown key 'thread' at the top level (did you mean "
                         "'threads'?)" },
        { "locations:\n  /api: {return: 204, max-body-byte: 4M}\n",
          "t.yaml:2:23: unknown key 'max-body-byte' in location '/api' (did you mean "
          "'max-body-bytes'?)" },
        { "hosts:\n  a.org:\n    threads: 2\n",
          "t.yaml:3:5: key 'threads' is not valid in host 'a.org' (a server-wide setting: it "
          "belongs at the top level)" },
        { "locations:\n  /: {files: {rot: x}}\n",
          "t.yaml:2:15: unknown key 'rot' in 'files' of location '/' (did you mean 'root'?)" },
        { "locations:\n  /: {files: {zzzzzz: x}}\n",
          "t.yaml:2:15: unknown key 'zzzzzz' in 'files' of location '/' (expected one of: root, "
          "listing, follow-symlinks, precompressed, cache-control, strip-prefix, multiviews, "
          "language-priority)" },
        { "locations:\n  /: {files: {listing: true}}\n",
          "t.yaml:2:14: missing key 'root' in 'files' of location '/' (expected a file name)" },
        { "locations:\n  /x: {files: ., api: d}\n",
          "t.yaml:2:18: location '/x' has two handlers, 'files' (line 2) and 'api' (one at "
          "most)" },
        { "threads: 1\nthreads: 2\n",
          "t.yaml:2:1: duplicate key 'threads' at the top level (first at line 1)" },
        { "threads: [1]\n",
          "t.yaml:1:10: 'threads': expected a whole number from 0 to 256, not a list" },
        { "a: [\n", "t.yaml:2:1: YAML syntax error: did not find expected node content (while "
                    "parsing a flow node, line 2)" },
        { "x: &a 1\ny: *a\n", "t.yaml:2:4: YAML aliases (*a) are not supported" },
        { "- 1\n", "t.yaml:1:1: the top level is a list (expected a map of keys)" },
        { "locations:\n  /o: {redirect: {to: /n, status: 309}}\n",
          "t.yaml:2:35: 'status' in 'redirect' of location '/o': '309' is not one of the "
          "accepted status codes (expected 301, 302, 303, 307 or 308)" },
        { "listen: nonsense\n",
          "t.yaml:1:9: 'address' in an item of 'listen': 'nonsense' is not an address "
          "(ADDR:PORT, [IPv6]:PORT or :PORT) (expected a string (ADDR:PORT))" },
        { "hosts:\n  a.org: {}\n  b.org: {aliases: [A.org]}\n",
          "t.yaml:3:21: host name 'A.org' is given twice (first at line 2)" },
        { "hosts:\n  a.org: {default: true}\nlocations:\n  /: {return: 204}\n",
          "t.yaml:2:11: host 'a.org' says default, but the top-level locations (line 3) are the "
          "default host's: move them into this host" },
        { "headers: {X-A: 1, x-a: 2}\n",
          "t.yaml:1:19: 'headers' names 'x-a' twice (first at line 1)" },
        { "headers: {Content-Length: 1}\n",
          "t.yaml:1:11: 'headers': 'Content-Length' is a field the server manages itself "
          "(expected a map of names to strings)" },
        { "maintenance: {retry-after: 5}\n",
          "t.yaml:1:14: missing key 'file' in 'maintenance' at the top level (expected a file "
          "name)" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err = read_err(cases[i].yaml);
        if (!err || strcmp(err, cases[i].err) != 0)
            test_fail(__FILE__, __LINE__, "case %zu:\n  got      %s\n  expected %s", i,
                      err ? err : "(accepted)", cases[i].err);
    }
}

TEST(file_accepts_the_documented_forms)
{
    static const char *const ok[] = {
        "",
        "# nothing\n",
        "listen: 127.0.0.1:0\n",
        "listen: [\"127.0.0.1:0\", {address: \"[::1]:0\"}]\n",
        "max-inflight: 100\nlegal-block: https://a.example/\nmaintenance: /tmp/m\n",
        "locations:\n  /t: {teapot: {}}\n  /u: {teapot: }\n  /r: {return: 204}\n",
        "locations:\n  \"= /h\": {return: {status: 200, body: \"ok\\n\"}}\n",
        "hosts:\n  \"*.example.org\": {canonical: example.org}\n  example.org:\n",
        "headers: {X-A: 1, X-B: \"two\"}\n",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *err = read_err(ok[i]);
        if (err)
            test_fail(__FILE__, __LINE__, "case %zu refused: %s", i, err);
    }
}

/* ---- the command line and the file build the same settings ---- */

static void options_of_argv(int argc, const char **argv, struct nxx_options *o,
                            struct nxx_cfg_doc **doc)
{
    char err[2048];
    const char *file = NULL;
    int rc = nxx_cfg_command(argc, (char **)(uintptr_t)argv, doc, &file, err, sizeof(err));
    if (rc)
        test_fail(__FILE__, __LINE__, "command line refused: %s", err);
    else
        nxx_options_from_doc(o, *doc);
}

TEST(flags_and_file_are_one_table)
{
    const char *argv[] = { "--threads",
                           "3",
                           "--max-body-bytes=2M",
                           "--listen",
                           "127.0.0.1:0",
                           "--listen",
                           "[::1]:0",
                           "--trace",
                           "--request-timeout",
                           "0.25",
                           "--access-log-format",
                           "json" };
    struct nxx_options a, b;
    struct nxx_cfg_doc *da = NULL, *db = NULL;
    options_of_argv(12, argv, &a, &da);
    const char *yaml = "threads: 3\nmax-body-bytes: 2M\nlisten: [\"127.0.0.1:0\", \"[::1]:0\"]\n"
                       "trace: true\nrequest-timeout: 0.25\naccess-log-format: json\n";
    char err[2048];
    CHECK_EQ_INT(nxx_cfg_read_yaml("t.yaml", yaml, strlen(yaml), &db, err, sizeof(err)), 0);
    nxx_options_from_doc(&b, db);
    CHECK_EQ_INT(a.cfg.threads, 3);
    CHECK_EQ_INT(a.cfg.max_body_bytes, 2 << 20);
    CHECK_EQ_INT(a.cfg.request_timeout_ms, 250);
    CHECK_EQ_INT(a.nlisten, 2);
    CHECK(memcmp(&a.cfg, &b.cfg, offsetof(nxx_config, access_log)) == 0);
    CHECK_EQ_INT(a.cfg.access_log_json, b.cfg.access_log_json);
    CHECK_EQ_INT(b.nlisten, 2);
    for (size_t i = 0; i < a.nlisten; i++)
        CHECK_EQ_STR(a.listen[i], b.listen[i]);
    nxx_cfg_free(da);
    nxx_cfg_free(db);
}

TEST(flags_describe_a_one_host_site)
{
    const char *argv[] = { "site",
                           "--listing",
                           "--cache-control",
                           "/static/=max-age=60",
                           "--cache-control",
                           "/=no-cache",
                           "--api",
                           "/api",
                           "--data",
                           "d" };
    struct nxx_options o;
    struct nxx_cfg_doc *doc = NULL;
    options_of_argv(10, argv, &o, &doc);
    const struct nxx_cfg_val *locs = nxx_cfg_get(doc->top, "locations");
    CHECK(locs && locs->nblocks == 3);
    if (!locs || locs->nblocks != 3)
        return;
    CHECK_EQ_STR(locs->blocks[0]->name, "/");
    const struct nxx_cfg_block *f = nxx_cfg_get(locs->blocks[0], "files")->blocks[0];
    CHECK_EQ_STR(nxx_cfg_str(f, "root"), "site");
    CHECK_EQ_INT(nxx_cfg_num(f, "listing"), 1);
    CHECK_EQ_INT(nxx_cfg_num(f, "precompressed"), 1);
    CHECK_EQ_STR(nxx_cfg_str(f, "cache-control"), "no-cache");
    CHECK_EQ_STR(locs->blocks[1]->name, "/static/");
    f = nxx_cfg_get(locs->blocks[1], "files")->blocks[0];
    CHECK_EQ_STR(nxx_cfg_str(f, "root"), "site");
    CHECK_EQ_STR(nxx_cfg_str(f, "cache-control"), "max-age=60");
    CHECK_EQ_STR(locs->blocks[2]->name, "/api");
    const struct nxx_cfg_block *api = nxx_cfg_get(locs->blocks[2], "api")->blocks[0];
    CHECK_EQ_STR(nxx_cfg_str(api, "data"), "d");
    CHECK_EQ_INT(nxx_cfg_num(api, "max-list"), 1000);
    CHECK_EQ_STR(nxx_cfg_summary(doc), "site");
    nxx_cfg_free(doc);
}

static char tmpdir[64];

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/nxx-test-config-XXXXXX");
        if (!mkdtemp(tmpdir))
            test_fail(__FILE__, __LINE__, "mkdtemp");
    }
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        test_fail(__FILE__, __LINE__, "cannot write %s", path);
        return path;
    }
    fputs(text, f);
    fclose(f);
    return path;
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (tmpdir[0] && system(cmd) != 0)
        test_fail(__FILE__, __LINE__, "cannot remove %s", tmpdir);
}

TEST(flags_override_the_file)
{
    const char *path = write_file("o.yaml", "threads: 2\nlisten: [\"127.0.0.1:1\", \":2\"]\n"
                                            "max-body-bytes: 1K\nlog-level: warn\n");
    const char *argv[] = { "--config", path, "--threads", "5", "--listen", "127.0.0.1:0" };
    struct nxx_options o;
    struct nxx_cfg_doc *doc = NULL;
    options_of_argv(6, argv, &o, &doc);
    CHECK_EQ_INT(o.cfg.threads, 5);
    CHECK_EQ_INT(o.nlisten, 1);
    CHECK_EQ_STR(o.listen[0], "127.0.0.1:0");
    CHECK_EQ_INT(o.cfg.max_body_bytes, 1024);
    CHECK_EQ_INT(o.log_level, NXX_LOG_WARN);
    nxx_cfg_free(doc);
    /* a site flag cannot be combined with a file */
    const char *bad[] = { "--config", path, "--listing" };
    char err[512];
    const char *file;
    CHECK_EQ_INT(nxx_cfg_command(3, (char **)(uintptr_t)bad, &doc, &file, err, sizeof(err)), 2);
    CHECK_EQ_STR(err, "nxx: --listing cannot be combined with --config (the file describes the "
                      "site)");
    cleanup();
}

TEST(relative_paths_are_taken_from_the_file)
{
    const char *yaml = "access-log: logs/a.log\nlocations:\n  /: {files: site}\n";
    struct nxx_cfg_doc *doc = NULL;
    char err[512];
    CHECK_EQ_INT(nxx_cfg_read_yaml("/etc/nxx/nxx.yaml", yaml, strlen(yaml), &doc, err, sizeof(err)),
                 0);
    struct nxx_options o;
    nxx_options_from_doc(&o, doc);
    CHECK_EQ_STR(o.cfg.access_log, "/etc/nxx/logs/a.log");
    const struct nxx_cfg_val *locs = nxx_cfg_get(doc->top, "locations");
    CHECK_EQ_STR(nxx_cfg_str(nxx_cfg_get(locs->blocks[0], "files")->blocks[0], "root"),
                 "/etc/nxx/site");
    nxx_cfg_free(doc);
}

TEST(restart_keys_keep_the_running_value)
{
    struct nxx_options running, next;
    nxx_options_init(&running);
    nxx_options_init(&next);
    running.cfg.threads = 2;
    next.cfg.threads = 4;
    next.cfg.request_timeout_ms = 5000; /* reloadable */
    next.nlisten = 1;
    next.listen[0] = "127.0.0.1:9";
    int saved = nxx_log_level;
    nxx_log_level = -1;
    CHECK_EQ_INT(nxx_options_keep_running(&next, &running, "t.yaml"), 2);
    nxx_log_level = saved;
    CHECK_EQ_INT(next.cfg.threads, 2);
    CHECK_EQ_INT(next.cfg.request_timeout_ms, 5000);
    CHECK_EQ_STR(next.listen[0], running.listen[0]);
}

/* ---- building ---- */

TEST(build_reports_where_a_setup_failed)
{
    const char *yaml = "locations:\n  /: {files: {root: /nonexistent/nxx-root}}\n";
    struct nxx_cfg_doc *doc = NULL;
    char err[512];
    CHECK_EQ_INT(nxx_cfg_read_yaml("t.yaml", yaml, strlen(yaml), &doc, err, sizeof(err)), 0);
    struct nxx_options o;
    nxx_options_from_doc(&o, doc);
    nxx_server *srv = nxx_server_new(&o.cfg);
    CHECK_EQ_INT(nxx_cfg_install(srv, doc, &o, NXX_CFG_MODE_CHECK, err, sizeof(err)), NXX_EINVAL);
    CHECK_EQ_STR(err, "t.yaml:2:15: cannot serve '/nonexistent/nxx-root': No such file or "
                      "directory");
    nxx_server_free(srv);
    nxx_cfg_free(doc);
}

TEST(build_installs_hosts_and_locations)
{
    const char *yaml = "strict-hosts: true\nmax-body-bytes: 2K\n"
                       "hosts:\n  a.org:\n    aliases: [www.a.org]\n    max-body-bytes: 3K\n"
                       "    locations:\n      /: {files: /}\n      /x: {gone: true}\n"
                       "  \"*.b.org\":\n    locations: {\"= /h\": {return: 204}}\n";
    struct nxx_cfg_doc *doc = NULL;
    char err[512];
    CHECK_EQ_INT(nxx_cfg_read_yaml("t.yaml", yaml, strlen(yaml), &doc, err, sizeof(err)), 0);
    struct nxx_options o;
    nxx_options_from_doc(&o, doc);
    nxx_server *srv = nxx_server_new(&o.cfg);
    int rc = nxx_cfg_install(srv, doc, &o, 0, err, sizeof(err));
    if (rc)
        test_fail(__FILE__, __LINE__, "install: %s", err);
    /* the generation the server will start with answers for the names */
    struct nxx_site *site = nxx_server_new_site(srv);
    CHECK(site && site->cfg.strict_hosts == 1 && site->cfg.max_body_bytes == 2048);
    nxx_site_free(site);
    nxx_server_free(srv);
    nxx_cfg_free(doc);
}

TEST(nxx_server_load_configures_an_embedders_server)
{
    const char *path = write_file("l.yaml", "listen: 127.0.0.1:0\nlog-level: warn\nlocations:\n"
                                            "  /: {return: 204}\n");
    nxx_server *srv = nxx_server_new(NULL);
    char err[512] = "";
    int saved = nxx_log_level;
    int rc = nxx_server_load(srv, path, err, sizeof(err));
    if (rc)
        test_fail(__FILE__, __LINE__, "load: %s", err);
    CHECK(nxx_server_port(srv, 0) > 0);
    CHECK_EQ_INT(nxx_log_level, NXX_LOG_WARN);
    nxx_log_level = saved;
    /* a broken file is refused with its position; the server keeps its configuration */
    path = write_file("l.yaml", "locations:\n  /: {return: 999}\n");
    CHECK_EQ_INT(nxx_server_load(srv, path, err, sizeof(err)), NXX_EINVAL);
    CHECK(strncmp(err, path, strlen(path)) == 0 && strstr(err, ":2:15: 'status' in 'return'"));
    nxx_server_free(srv);
    cleanup();
}

/* ---- generated documents ---- */

TEST(schema_is_json_of_draft_2020_12_with_every_key)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    nxx_options_schema(f);
    fclose(f);
    json_error_t e;
    json_t *s = json_loadb(buf, len, 0, &e);
    free(buf);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_EQ_STR(json_string_value(json_object_get(s, "$schema")),
                 "https://json-schema.org/draft/2020-12/schema");
    json_t *top = json_object_get(s, "properties");
    json_t *host =
        json_object_get(json_object_get(json_object_get(s, "$defs"), "host"), "properties");
    json_t *loc =
        json_object_get(json_object_get(json_object_get(s, "$defs"), "location"), "properties");
    FOR_EACH_KEY(k)
    {
        unsigned sc = nxx_cfg_scopes(k);
        if (sc & (NXX_CFG_GLOBAL | NXX_CFG_SERVER))
            CHECK(json_object_get(top, k->name) != NULL);
        if (sc & NXX_CFG_HOST)
            CHECK(json_object_get(host, k->name) != NULL);
        if (sc & NXX_CFG_LOCATION)
            CHECK(json_object_get(loc, k->name) != NULL);
    }
    CHECK(json_is_false(json_object_get(s, "additionalProperties")));
    json_decref(s);
}
