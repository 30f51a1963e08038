/*
 * render.c - every document generated from the key table: `nxx --help`,
 * the man page (man/nxx.1), docs/config.md and the JSON Schema of the file
 * (docs/nxx.schema.json, draft 2020-12).  tools/docs-check fails when a
 * checked-in copy differs from what this prints, so none can drift from
 * what the front ends accept.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "config/keys.h"
#include "config/options.h"
#include "core/banned.h"

static const char usage[] =
    "usage: nxx serve [DIR] [options]          serve DIR (default: the current directory)\n"
    "       nxx serve --config FILE [options]  serve what FILE describes; options override its\n"
    "                                          global settings\n"
    "       nxx check FILE                     load FILE as serve would, without serving:\n"
    "                                          \"FILE: ok\" (exit 0) or FILE:LINE:COL: why (exit "
    "2)\n"
    "       nxx explain CODE                   what an HTTP status means and when nxx sends it\n"
    "       nxx explain --all [--markdown]     the whole status registry\n"
    "       nxx explain --sent                 the codes nxx sends today, one a line\n"
    "       nxx help [--markdown|--man|--schema] this text, the reference, or the file's schema\n"
    "       nxx --help | --version\n";

static const char config_help[] =
    "Read the configuration (YAML) from FILE: listeners, settings, hosts and locations "
    "(docs/config.md). The other options then replace the file's values of the same keys.";

#define FOR_EACH_KEY(k)                                                                            \
    for (size_t s_ = 0; s_ < nxx_cfg_nsections; s_++)                                              \
        for (size_t i_ = 0; i_ < *nxx_cfg_sections[s_].n; i_++)                                    \
            for (const struct nxx_cfg_key *k = &nxx_cfg_sections[s_].keys[i_]; k; k = NULL)

static int is_flag(const struct nxx_cfg_key *k)
{
    return (nxx_cfg_scopes(k) & NXX_CFG_GLOBAL) || (k->flags & NXX_CFG_ARGV);
}

/* The default as the command line shows it: flags are "off"/"on". */
static const char *flag_default(const struct nxx_cfg_key *k)
{
    if (k->type == K_FLAG && !k->def_doc)
        return k->def && strcmp(k->def, "true") == 0 ? "on" : "off";
    return nxx_cfg_default_text(k);
}

static const char *scopes_text(const struct nxx_cfg_key *k)
{
    unsigned s = nxx_cfg_scopes(k);
    if (s & NXX_CFG_GLOBAL)
        return "global";
    if ((s & NXX_CFG_SCOPED) == NXX_CFG_SCOPED)
        return "server, host, location";
    if (s == (NXX_CFG_SERVER | NXX_CFG_HOST))
        return "server, host";
    if (s == NXX_CFG_SERVER)
        return "server";
    if (s == NXX_CFG_HOST)
        return "host";
    return "location";
}

/* ---- --help ---- */

/* Print text from column indent, breaking lines at spaces before width. */
static void wrap(FILE *out, const char *text, int indent, int width)
{
    int col = indent;
    const char *p = text;
    while (*p) {
        const char *sp = strchr(p, ' ');
        int wl = sp ? (int)(sp - p) : (int)strlen(p);
        if (col > indent && col + 1 + wl > width) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        }
        if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, (size_t)wl, out);
        col += wl;
        p += wl;
        while (*p == ' ')
            p++;
    }
    fputc('\n', out);
}

static void help_line(FILE *out, const char *name, const char *arg, const char *help,
                      const char *def, int restart)
{
    char head[64];
    snprintf(head, sizeof(head), "--%s%s%s", name, arg ? " " : "", arg ? arg : "");
    char text[1024];
    if (def)
        snprintf(text, sizeof(text), "%s [default: %s%s]", help, def, restart ? "; restart" : "");
    else
        snprintf(text, sizeof(text), "%s", help);
    if (strlen(head) > 32)
        fprintf(out, "  %s\n%35s", head, "");
    else
        fprintf(out, "  %-32s ", head);
    wrap(out, text, 35, 100);
}

static void help_site_flag(void *ctx, const char *name, const char *arg, const char *def,
                           const char *help)
{
    help_line(ctx, name, arg, help, def, 0);
}

enum { LIST_GLOBAL, LIST_SCOPED, LIST_HANDLERS };

/* "files{root listing ...}": the keys of one kind, for the summary of --help */
static int in_list(const struct nxx_cfg_key *k, int which)
{
    unsigned s = nxx_cfg_scopes(k);
    if (which == LIST_GLOBAL)
        return !!(s & NXX_CFG_GLOBAL);
    if (which == LIST_SCOPED)
        return (s & NXX_CFG_SCOPED) == NXX_CFG_SCOPED;
    return !!(k->flags & NXX_CFG_HANDLER);
}

static void key_list(FILE *out, int which, const char *label)
{
    char line[2048];
    size_t used = 0;
    line[0] = '\0';
    FOR_EACH_KEY(k)
    {
        if (!in_list(k, which) || used >= sizeof(line))
            continue;
        used +=
            (size_t)snprintf(line + used, sizeof(line) - used, "%s%s", used ? " " : "", k->name);
        for (size_t i = 0; i < k->nsub && used < sizeof(line); i++)
            used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s%s", i ? " " : "{",
                                     k->sub[i].name, i + 1 == k->nsub ? "}" : "");
    }
    fprintf(out, "  %-18s", label);
    wrap(out, line, 20, 100);
}

void nxx_options_help(FILE *out)
{
    fputs("nxx " NXX_VERSION " - an HTTP/1.1 and HTTP/2 server that implements HTTP semantics completely\n\n",
          out);
    fputs(usage, out);
    fputs("\noptions of nxx serve:\n", out);
    help_line(out, "config", "FILE", config_help, NULL, 0);
    FOR_EACH_KEY(k)
    {
        if (is_flag(k))
            help_line(out, k->name, k->type == K_FLAG ? NULL : k->arg, k->help, flag_default(k),
                      !!(k->flags & NXX_CFG_RESTART));
    }
    nxx_cfg_site_flags(help_site_flag, out);
    fputs("\nkeys of the configuration file (the flags above are its global keys; docs/config.md\n"
          "and man nxx have every key, its type, default and scopes):\n",
          out);
    key_list(out, LIST_GLOBAL, "global:");
    key_list(out, LIST_SCOPED, "any scope:");
    fputs("  hosts:            hosts: {NAME: {aliases, default, canonical, locations, any-scope "
          "keys}}\n"
          "  locations:        locations: {PATH: {one handler, any-scope keys}} (PATH: /prefix, = "
          "/exact,\n"
          "                    /u/:id, /files/*); at the top level, the default host's\n",
          out);
    key_list(out, LIST_HANDLERS, "handlers:");
    fputs("\nSizes take K, M or G suffixes (1M = 1048576); SECONDS may have a fraction (0.5).\n"
          "Settings marked restart keep their running value when the configuration is reloaded.\n"
          "Signals: SIGTERM or SIGINT stops accepting, lets in-flight requests finish (up to\n"
          "--drain-timeout), closes idle connections and exits 0. SIGHUP reloads the\n"
          "configuration (re-reads FILE, or re-evaluates the flags); one that does not load is\n"
          "refused, logged, and the running one kept. SIGUSR1 reopens the access log.\n"
          "Exit status: 0 after a clean stop, 1 when the server cannot start (port in use,\n"
          "unreadable DIR), 2 for a usage or configuration error.\n",
          out);
}

/* ---- docs/config.md ---- */

static const char md_intro[] =
    "nxx is configured by a YAML file (`nxx serve --config FILE`), by flags\n"
    "(`nxx serve [DIR] --flags`), or by both. Both are front ends over one table of\n"
    "keys (`src/config`): every key below has one type, one default and one set of\n"
    "scopes, whichever way it is given, and this page, `nxx --help`, the man page and\n"
    "the JSON Schema of the file (`docs/nxx.schema.json`, for editors) are generated\n"
    "from that table.\n\n"
    "## A file\n\n"
    "```yaml\n"
    "threads: 2                       # global settings: all optional\n"
    "listen: [\"127.0.0.1:8080\", \"[::1]:8080\"]\n"
    "access-log: /var/log/nxx/access.log\n"
    "max-body-bytes: 1M               # a setting of every scope, here the server's\n"
    "headers: {X-Frame-Options: DENY} # sent by every response\n"
    "hosts:\n"
    "  example.org:\n"
    "    aliases: [www.example.org]\n"
    "    canonical: example.org       # www.example.org/x -> 301 to example.org/x\n"
    "    locations:\n"
    "      /: {files: {root: site, listing: true}}\n"
    "      /assets: {files: {root: site, cache-control: \"max-age=86400\"}}\n"
    "      /api: {api: {data: data, require-preconditions: true}, max-body-bytes: 4M}\n"
    "      /old: {redirect: {to: \"/new/$1\", status: 308}}\n"
    "      /removed: {gone: true}\n"
    "      \"= /health\": {return: {status: 200, body: \"ok\\n\"}}\n"
    "locations:                       # the default host's (answers other names)\n"
    "  /: {return: 404}\n"
    "```\n\n"
    "`examples/nxx.yaml` is a complete, commented example. `nxx check FILE` loads a\n"
    "file the way `nxx serve --config FILE` would (roots opened, addresses parsed,\n"
    "pages read; nothing bound, no thread started, no store opened) and prints\n"
    "`FILE: ok`, or the first error with exit status 2, as `FILE:LINE:COL:`, the key\n"
    "and its scope, what is wrong, and what was expected:\n\n"
    "```\n"
    "nxx.yaml:14:30: unknown key 'max-body-byte' in location '/api' of host 'example.org' (did "
    "you mean 'max-body-bytes'?)\n"
    "nxx.yaml:2:10: 'threads': 'two' is not a number (expected a whole number from 0 to 256)\n"
    "nxx.yaml:9:7: key 'threads' is not valid in host 'example.org' (a server-wide setting: it "
    "belongs at the top level)\n"
    "```\n\n"
    "Relative file names in a file (roots, data directories, pages, the access log,\n"
    "the MIME file) are taken from the file's directory; on the command line, from the\n"
    "working directory. YAML anchors are ignored and aliases refused; a file is one\n"
    "document of at most 4 MiB.\n\n";

static const char md_scopes[] =
    "## Scopes and inheritance\n\n"
    "A configuration is a tree of scopes: **global** -> **listen** -> **host** ->\n"
    "**location**.\n\n"
    "- The top level holds the **global** settings: server-wide ones (threads,\n"
    "  listeners, timeouts, limits of the request head, logs). They appear nowhere else.\n"
    "- `listen` names the listeners (an address, a list of them, or maps with an\n"
    "  `address`). Every host answers on every listener.\n"
    "- The top level is also the **server scope**: the keys of *every scope* (limits of\n"
    "  request content, response fields, policies) written there apply to every request.\n"
    "- A **host** (under `hosts`, by name: `example.org`, `*.example.org`, `127.0.0.1`,\n"
    "  `[::1]`) answers the requests whose authority names it or one of its `aliases`,\n"
    "  compared without case and port; the longest wildcard wins. Requests naming no\n"
    "  host go to the default host: the one that says `default: true`, else the host of\n"
    "  the top-level `locations`, else the first host, unless `strict-hosts` answers\n"
    "  them 421.\n"
    "- A **location** (under a host's `locations`; the top-level `locations` are the\n"
    "  default host's) matches paths: `/prefix` (the path itself and everything under\n"
    "  `/prefix/`, whole segments), `= /exact`, or a pattern (`/u/:id`, `/files/*`).\n"
    "  Exact and pattern locations that match the whole path win over prefixes, a longer\n"
    "  prefix over a shorter one. A location has at most one handler (`files`, `api`,\n"
    "  `redirect`, `return`, `teapot`).\n\n"
    "What a location inherits:\n\n"
    "- `max-body-bytes` and `body-timeout`: the nearest scope that sets one wins (the\n"
    "  location, then its host, then the top level, then the default).\n"
    "- `headers` add up: a response carries the server's fields, then the host's, then\n"
    "  the location's (a name set at two levels is sent twice).\n"
    "- `early-hints` add up the same way: one 103 carries the server's Link values,\n"
    "  then the host's, then the location's, and so does the final response.\n"
    "- Policies (`maintenance`, `gone`, `legal-block`, `require-length`,\n"
    "  `max-inflight`, and a host's `canonical`) of every level run, the server's first,\n"
    "  then the host's, then the location's, each level in the order of the table below;\n"
    "  the first that refuses answers, before any request content is read.\n"
    "- Handlers are not inherited: a location answers with its own. A location without\n"
    "  a handler answers 404 after its policies (so a `gone` or `legal-block` location\n"
    "  needs none); a path that no location matches gets 404 under its host's scope.\n\n"
    "```yaml\n"
    "max-body-bytes: 1M\n"
    "headers: {X-Frame-Options: DENY}\n"
    "maintenance: {file: /run/nxx/maintenance, exempt: [/health]}\n"
    "hosts:\n"
    "  example.org:\n"
    "    headers: {Strict-Transport-Security: max-age=63072000}\n"
    "    locations:\n"
    "      /: {files: {root: site}}\n"
    "      /upload:\n"
    "        api: {data: data}\n"
    "        max-body-bytes: 64M        # only here\n"
    "        headers: {Cache-Control: no-store}\n"
    "      /old: {gone: true}           # no handler: 410 from the policy\n"
    "      \"= /health\": {return: 204}\n"
    "```\n\n"
    "A response from `/upload` carries `X-Frame-Options`, `Strict-Transport-Security`\n"
    "and `Cache-Control`; one from `/` the first two. Content sent to `/upload` may be\n"
    "64 MiB, elsewhere 1 MiB. While `/run/nxx/maintenance` exists every request gets\n"
    "503, but `/health`.\n\n";

static const char md_reload[] =
    "## Reload\n\n"
    "`kill -HUP` (`systemctl reload nxx` with `dist/nxx.service`) makes the server\n"
    "load its configuration again: the file, with the command line's global flags\n"
    "over it (or, for a server started with flags only, the flags again). A\n"
    "configuration that does not load is refused: the error is logged and the running\n"
    "one stays. New requests see the new configuration at once; requests in flight\n"
    "finish under the one they started with. `kill -USR1` reopens the access log (after\n"
    "logrotate renamed it).\n\n"
    "Every key can change on reload except these, which keep their running value (a\n"
    "reload that changes one logs a warning naming it):";

static void md_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s, out);
    }
}

static void md_keys(FILE *out, const struct nxx_cfg_key *keys, size_t n, int sub, int global)
{
    if (sub)
        fputs("| key | type | default | meaning |\n|---|---|---|---|\n", out);
    else if (global)
        fputs("| key | type | default | reload | meaning |\n|---|---|---|---|---|\n", out);
    else
        fputs("| key | type | default | scopes | meaning |\n|---|---|---|---|---|\n", out);
    for (size_t i = 0; i < n; i++) {
        const struct nxx_cfg_key *k = &keys[i];
        char exp[512];
        nxx_cfg_expect(k, exp, sizeof(exp));
        fprintf(out, "| `%s` | %s | ", k->name, nxx_cfg_type_name(k));
        md_cell(out, nxx_cfg_default_text(k));
        fputs(" | ", out);
        if (global)
            fputs(k->flags & NXX_CFG_RESTART ? "restart" : "yes", out);
        else if (!sub)
            fputs(scopes_text(k), out);
        if (!sub)
            fputs(" | ", out);
        md_cell(out, k->help);
        if (k->type != K_BLOCK && k->type != K_NAMED) {
            fputs(" Expected: ", out);
            md_cell(out, exp);
            fputs(".", out);
        }
        if (k->flags & NXX_CFG_REQUIRED)
            fputs(" Required.", out);
        fputs(" |\n", out);
    }
    fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        const struct nxx_cfg_key *k = &keys[i];
        if (!k->nsub || k->type == K_BLOCKS)
            continue;
        fprintf(out, "#### `%s`\n\n", k->name);
        if (k->shorthand)
            fprintf(out, "A single value instead of a map sets `%s`: `%s: VALUE`.\n\n",
                    k->shorthand, k->name);
        else
            fprintf(out, "`%s: {}` (or nothing) takes every default.\n\n", k->name);
        md_keys(out, k->sub, k->nsub, 1, 0);
    }
}

static void md_flag(FILE *out, const char *name, const char *arg, const char *def, const char *help,
                    const char *key)
{
    fprintf(out, "| `--%s%s%s` | ", name, arg ? " " : "", arg ? arg : "");
    md_cell(out, def);
    fputs(" | ", out);
    md_cell(out, help);
    if (key)
        fprintf(out, " (key `%s`)", key);
    fputs(" |\n", out);
}

static void md_site_flag(void *ctx, const char *name, const char *arg, const char *def,
                         const char *help)
{
    md_flag(ctx, name, arg, def, help, NULL);
}

void nxx_options_markdown(FILE *out)
{
    fputs("# nxx configuration reference\n\n"
          "<!-- generated from the key table (src/config) by `make docs` (`nxx help "
          "--markdown`); do not edit -->\n\n```\n",
          out);
    fputs(usage, out);
    fputs("```\n\n", out);
    fputs(md_intro, out);
    fputs(md_scopes, out);
    fputs(md_reload, out);
    FOR_EACH_KEY(k)
    {
        if (k->flags & NXX_CFG_RESTART)
            fprintf(out, " `%s`", k->name);
    }
    fputs(".\n\n## Keys\n\n", out);
    for (size_t s = 0; s < nxx_cfg_nsections; s++) {
        const struct nxx_cfg_section *sec = &nxx_cfg_sections[s];
        fprintf(out, "### %s\n\n", sec->title);
        md_keys(out, sec->keys, *sec->n, 0, s == 0);
        if (s == 0) {
            const struct nxx_cfg_key *l = nxx_cfg_lookup(NXX_CFG_GLOBAL, "listen", 6);
            fputs("An item of `listen` is an address, or a map:\n\n", out);
            md_keys(out, l->sub, l->nsub, 1, 0);
        }
    }
    fputs("## Values\n\n"
          "- *size*: bytes, digits with an optional K, M or G (1M = 1048576); a plain number\n"
          "  in the file too.\n"
          "- *seconds*: a number of seconds, with an optional fraction (0.5).\n"
          "- *count*: a whole number; *status*: a status code (`nxx explain --all`).\n"
          "- *flag*: `true` or `false` in the file; a flag without a value on the command line.\n"
          "- *list*: a YAML list of strings, or one string; *map*: names to strings.\n"
          "- *path*: a file name; relative ones are taken from the file's directory.\n\n",
          out);
    fputs("## Command line\n\n### Options of `nxx serve`\n\n"
          "| option | default | meaning |\n|---|---|---|\n",
          out);
    md_flag(out, "config", "FILE", "none", config_help, NULL);
    FOR_EACH_KEY(k)
    {
        if (is_flag(k)) {
            char def[128];
            snprintf(def, sizeof(def), "%s%s", flag_default(k),
                     k->flags & NXX_CFG_RESTART ? " (restart)" : "");
            md_flag(out, k->name, k->type == K_FLAG ? NULL : k->arg, def, k->help, k->name);
        }
    }
    nxx_cfg_site_flags(md_site_flag, out);
    fputs("\nA bad value is reported with the flag's name and exit status 2.\n\n"
          "Without `--config`, the flags describe a site of one host: DIR (or `--root`) is\n"
          "served in the location `/` with `files` (`--listing`, `--follow-symlinks`,\n"
          "`--no-precompressed` set its keys); each `--cache-control PREFIX=VALUE` adds a\n"
          "location PREFIX serving the same root with that `cache-control` (PREFIX `/` sets\n"
          "the root location's); `--api PREFIX` adds a location PREFIX with `api` (`--data`,\n"
          "`--api-require-preconditions`, `--api-max-db-bytes` set its keys).\n\n"
          "### A file and flags together\n\n"
          "`nxx serve --config FILE [options]`: each option that sets a key (every option\n"
          "above marked with a key) replaces the file's top-level value of that key, at start\n"
          "and at every reload. One or more `--listen` replace the file's whole `listen`\n"
          "list. `--max-body-bytes` and `--body-timeout` replace the server scope's value;\n"
          "hosts and locations that set their own keep it. DIR and the options that describe\n"
          "a site (`--root`, `--listing`, `--follow-symlinks`, `--no-precompressed`,\n"
          "`--cache-control`, `--api`, `--data`, `--api-require-preconditions`,\n"
          "`--api-max-db-bytes`) cannot be combined with `--config` (exit status 2).\n\n"
          "## Signals and exit status\n\n"
          "- SIGTERM, SIGINT: stop accepting, let in-flight requests finish (up to\n"
          "  `drain-timeout`), close idle connections, exit 0.\n"
          "- SIGHUP: reload (above). SIGUSR1: reopen the access log.\n"
          "- Exit status: 0 after a clean stop; 1 when the server cannot start (a port in\n"
          "  use, an unreadable DIR); 2 for a usage or configuration error (`nxx check` too).\n",
          out);
}

/* ---- man/nxx.1 ---- */

static void man_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '-' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
}

static void man_flag(FILE *out, const char *name, const char *arg, const char *help,
                     const char *def)
{
    fputs(".TP\n.BR \\-\\-", out);
    man_escape(out, name);
    if (arg) {
        fputs(" \" \" \\fI", out);
        man_escape(out, arg);
        fputs("\\fR", out);
    }
    fputc('\n', out);
    man_escape(out, help);
    if (def) {
        fputs(" Default: ", out);
        man_escape(out, def);
        fputs(".", out);
    }
    fputc('\n', out);
}

static void man_site_flag(void *ctx, const char *name, const char *arg, const char *def,
                          const char *help)
{
    man_flag(ctx, name, arg, help, def);
}

static void man_keys(FILE *out, const struct nxx_cfg_key *keys, size_t n, const char *indent)
{
    for (size_t i = 0; i < n; i++) {
        const struct nxx_cfg_key *k = &keys[i];
        fprintf(out, ".TP\n.B %s", indent);
        man_escape(out, k->name);
        fputs("\n(", out);
        man_escape(out, nxx_cfg_type_name(k));
        if (!indent[0]) {
            fputs("; ", out);
            man_escape(out, scopes_text(k));
        }
        fputs("; default ", out);
        man_escape(out, nxx_cfg_default_text(k));
        if (k->flags & NXX_CFG_RESTART)
            fputs("; restart", out);
        fputs(") ", out);
        man_escape(out, k->help);
        fputc('\n', out);
        if (k->nsub)
            man_keys(out, k->sub, k->nsub, "  ");
    }
}

void nxx_options_man(FILE *out)
{
    fputs(".\\\" generated from the key table (src/config) by `make docs`; do not edit\n"
          ".TH NXX 1 \"\" \"nxx " NXX_VERSION "\" \"User Commands\"\n"
          ".SH NAME\nnxx \\- an HTTP/1.1 and HTTP/2 server that implements HTTP semantics completely\n"
          ".SH SYNOPSIS\n.B nxx serve\n[\\fIDIR\\fR] [\\fIoptions\\fR]\n.br\n"
          ".B nxx serve \\-\\-config\n\\fIFILE\\fR [\\fIoptions\\fR]\n.br\n"
          ".B nxx check\n\\fIFILE\\fR\n.br\n"
          ".B nxx explain\n\\fICODE\\fR | \\fB\\-\\-all\\fR [\\fB\\-\\-markdown\\fR] | "
          "\\fB\\-\\-sent\\fR\n"
          ".SH DESCRIPTION\nServes files, a REST JSON store and fixed answers over HTTP/1.1 with "
          "strict parsing, keep-alive, pipelining, and a problem body for every error status. "
          "It is configured by a YAML file (\\fB\\-\\-config\\fR), by the options below, or "
          "both: the options that set a key replace the file's value of it.\n"
          ".PP\n\\fBnxx check\\fR \\fIFILE\\fR loads a configuration as \\fBnxx serve\\fR would, "
          "without binding or serving, and prints \"FILE: ok\", or FILE:LINE:COL and the first "
          "error with exit status 2.\n"
          ".SH OPTIONS\n",
          out);
    man_flag(out, "config", "FILE", config_help, NULL);
    FOR_EACH_KEY(k)
    {
        if (is_flag(k))
            man_flag(out, k->name, k->type == K_FLAG ? NULL : k->arg, k->help, flag_default(k));
    }
    nxx_cfg_site_flags(man_site_flag, out);
    fputs(".SH CONFIGURATION FILE\nA YAML map. The top level holds the global settings (the "
          "options above, without their dashes) and is the server scope; \\fBhosts\\fR maps "
          "names to hosts, \\fBlocations\\fR paths to locations (at the top level, the default "
          "host's). Keys of every scope are inherited by hosts and locations (the nearest "
          "value wins; headers and policies of every level apply). A location has at most one "
          "handler. Relative file names are taken from the file's directory. Keys marked "
          "restart keep their running value on reload. See docs/config.md for examples.\n",
          out);
    for (size_t s = 0; s < nxx_cfg_nsections; s++) {
        fputs(".SS ", out);
        man_escape(out, nxx_cfg_sections[s].title);
        fputc('\n', out);
        man_keys(out, nxx_cfg_sections[s].keys, *nxx_cfg_sections[s].n, "");
    }
    fputs(".SH SIGNALS\nSIGTERM and SIGINT stop accepting, let in-flight requests finish (up "
          "to the drain timeout) and exit 0. SIGHUP reloads the configuration: the file again "
          "(with the options over it), or the options of a server started without one; a "
          "configuration that does not load is refused and the running one kept. SIGUSR1 "
          "reopens the access log.\n"
          ".SH EXIT STATUS\n0 after a clean stop; 1 when the server cannot start; 2 for a usage "
          "or configuration error.\n"
          ".SH FILES\n/etc/nxx/nxx.yaml (dist/nxx.service)\n"
          ".SH SEE ALSO\ndocs/config.md, docs/nxx.schema.json, docs/status-codes.md\n",
          out);
}

/* ---- docs/nxx.schema.json ---- */

static json_t *schema_of(const struct nxx_cfg_key *k);

static json_t *schema_default(const struct nxx_cfg_key *k)
{
    if (!k->def)
        return NULL;
    struct nxx_cfg_val v;
    memset(&v, 0, sizeof(v));
    char buf[128];
    switch (k->type) {
    case K_FLAG: return json_boolean(strcmp(k->def, "true") == 0);
    case K_COUNT:
    case K_SIZE:
    case K_STATUS:
        if (nxx_cfg_parse_scalar(k, k->def, &v, buf, sizeof(buf)) == NULL &&
            strspn(k->def, "0123456789") == strlen(k->def))
            return json_integer((json_int_t)v.n);
        return json_string(k->def);
    case K_SECONDS:
        if (nxx_cfg_parse_scalar(k, k->def, &v, buf, sizeof(buf)) == NULL)
            return v.n % 1000 ? json_real((double)v.n / 1000.0)
                              : json_integer((json_int_t)(v.n / 1000));
        return NULL;
    case K_ENUM:
    case K_STRING:
    case K_BLOCKS: return json_string(k->def);
    default: return NULL;
    }
}

static json_t *block_object(const struct nxx_cfg_key *keys, size_t n)
{
    json_t *o = json_object(), *props = json_object(), *req = json_array();
    json_object_set_new(o, "type", json_string("object"));
    for (size_t i = 0; i < n; i++) {
        json_object_set_new(props, keys[i].name, schema_of(&keys[i]));
        if (keys[i].flags & NXX_CFG_REQUIRED)
            json_array_append_new(req, json_string(keys[i].name));
    }
    json_object_set_new(o, "properties", props);
    json_object_set_new(o, "additionalProperties", json_false());
    if (json_array_size(req))
        json_object_set_new(o, "required", req);
    else
        json_decref(req);
    return o;
}

static json_t *type_only(const char *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(t));
    return o;
}

static json_t *any_of(json_t *a, json_t *b, json_t *c)
{
    json_t *o = json_object(), *v = json_array();
    json_array_append_new(v, a);
    json_array_append_new(v, b);
    if (c)
        json_array_append_new(v, c);
    json_object_set_new(o, "anyOf", v);
    return o;
}

static int has_required(const struct nxx_cfg_key *k)
{
    for (size_t i = 0; i < k->nsub; i++)
        if (k->sub[i].flags & NXX_CFG_REQUIRED)
            return 1;
    return 0;
}

/* One block of a K_BLOCK / K_BLOCKS key: its map, its shorthand, or null. */
static json_t *one_block(const struct nxx_cfg_key *k)
{
    json_t *obj = block_object(k->sub, k->nsub);
    json_t *alt = NULL;
    if (k->shorthand) {
        const struct nxx_cfg_key *sk = nxx_cfg_sub(k, k->shorthand, strlen(k->shorthand));
        alt = schema_of(sk);
        json_object_del(alt, "description");
        json_object_del(alt, "default");
    }
    json_t *none = has_required(k) ? NULL : type_only("null");
    if (!alt && !none)
        return obj;
    if (!alt)
        return any_of(obj, none, NULL);
    return any_of(obj, alt, none);
}

static json_t *schema_of(const struct nxx_cfg_key *k)
{
    json_t *s = NULL;
    switch (k->type) {
    case K_STRING:
        s = type_only("string");
        json_object_set_new(s, "minLength", json_integer(1));
        break;
    case K_FLAG: s = type_only("boolean"); break;
    case K_COUNT:
        s = type_only("integer");
        json_object_set_new(s, "minimum", json_integer((json_int_t)k->min));
        json_object_set_new(s, "maximum", json_integer((json_int_t)k->max));
        break;
    case K_SIZE: {
        json_t *n = type_only("integer");
        json_object_set_new(n, "minimum", json_integer((json_int_t)k->min));
        json_object_set_new(n, "maximum", json_integer((json_int_t)k->max));
        json_t *t = type_only("string");
        json_object_set_new(t, "pattern", json_string("^[0-9]+[KkMmGg]?$"));
        s = any_of(n, t, NULL);
        break;
    }
    case K_SECONDS:
        s = type_only("number");
        json_object_set_new(s, "minimum", json_real((double)k->min / 1000.0));
        json_object_set_new(s, "maximum", json_real((double)k->max / 1000.0));
        break;
    case K_ENUM: {
        s = json_object();
        json_t *e = json_array();
        for (size_t i = 0; k->choices[i]; i++)
            json_array_append_new(e, json_string(k->choices[i]));
        json_object_set_new(s, "enum", e);
        break;
    }
    case K_STATUS:
        if (k->choices) {
            s = json_object();
            json_t *e = json_array();
            for (size_t i = 0; k->choices[i]; i++) {
                long c = 0;
                for (const char *p = k->choices[i]; *p; p++)
                    c = c * 10 + (*p - '0');
                json_array_append_new(e, json_integer(c));
            }
            json_object_set_new(s, "enum", e);
        } else {
            s = type_only("integer");
            json_object_set_new(s, "minimum", json_integer((json_int_t)k->min));
            json_object_set_new(s, "maximum", json_integer((json_int_t)k->max));
        }
        break;
    case K_LIST: {
        json_t *one = type_only("string");
        json_object_set_new(one, "minLength", json_integer(1));
        json_t *arr = type_only("array");
        json_object_set_new(arr, "items", json_deep_copy(one));
        s = any_of(one, arr, NULL);
        break;
    }
    case K_MAP: {
        s = type_only("object");
        json_t *v = json_object(), *t = json_array();
        json_array_append_new(t, json_string("string"));
        json_array_append_new(t, json_string("number"));
        json_array_append_new(t, json_string("boolean"));
        json_object_set_new(v, "type", t);
        json_object_set_new(s, "additionalProperties", v);
        break;
    }
    case K_BLOCK: s = one_block(k); break;
    case K_BLOCKS: {
        json_t *item = one_block(k);
        json_t *arr = type_only("array");
        json_object_set_new(arr, "items", json_deep_copy(item));
        json_object_set_new(arr, "minItems", json_integer(1));
        json_object_set_new(arr, "maxItems", json_integer(NXX_MAX_LISTEN));
        s = any_of(item, arr, NULL);
        break;
    }
    case K_NAMED: {
        s = json_object();
        json_t *t = json_array();
        json_array_append_new(t, json_string("object"));
        json_array_append_new(t, json_string("null"));
        json_object_set_new(s, "type", t);
        json_t *ref = json_object();
        json_object_set_new(
            ref, "$ref",
            json_string(k->child == NXX_CFG_HOST ? "#/$defs/host" : "#/$defs/location"));
        json_object_set_new(s, "additionalProperties", ref);
        if (k->child == NXX_CFG_LOCATION) {
            json_t *pn = json_object();
            json_object_set_new(pn, "pattern", json_string("^(/|= */)"));
            json_object_set_new(s, "propertyNames", pn);
        }
        break;
    }
    }
    char desc[2048];
    snprintf(desc, sizeof(desc), "%s%s", k->help,
             k->flags & NXX_CFG_RESTART ? " (A reload keeps the running value.)" : "");
    json_object_set_new(s, "description", json_string(desc));
    json_t *d = schema_default(k);
    if (d)
        json_object_set_new(s, "default", d);
    return s;
}

/* The map of a scope's keys. */
static json_t *scope_object(unsigned scope, const char *desc)
{
    json_t *o = json_object(), *props = json_object();
    json_t *t = json_array();
    json_array_append_new(t, json_string("object"));
    json_array_append_new(t, json_string("null"));
    json_object_set_new(o, "type", t);
    json_object_set_new(o, "description", json_string(desc));
    FOR_EACH_KEY(k)
    {
        if (nxx_cfg_scopes(k) & scope)
            json_object_set_new(props, k->name, schema_of(k));
    }
    json_object_set_new(o, "properties", props);
    json_object_set_new(o, "additionalProperties", json_false());
    return o;
}

void nxx_options_schema(FILE *out)
{
    json_t *root = scope_object(NXX_CFG_GLOBAL | NXX_CFG_SERVER,
                                "The configuration of nxx (docs/config.md): global settings and "
                                "the server scope at the top level, hosts and locations below.");
    json_t *head = json_object();
    json_object_set_new(head, "$schema",
                        json_string("https://json-schema.org/draft/2020-12/schema"));
    json_object_set_new(head, "$comment",
                        json_string("generated from the key table (src/config) by `make docs` "
                                    "(`nxx help --schema`); do not edit"));
    json_object_set_new(head, "title", json_string("nxx configuration"));
    json_object_update(head, root);
    json_decref(root);
    json_t *defs = json_object();
    json_object_set_new(defs, "host",
                        scope_object(NXX_CFG_HOST, "A virtual host: its names, its locations, and "
                                                   "the settings and policies of its scope."));
    json_object_set_new(defs, "location",
                        scope_object(NXX_CFG_LOCATION,
                                     "A location: at most one handler, and the settings and "
                                     "policies of its scope."));
    json_object_set_new(head, "$defs", defs);
    json_dumpf(head, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    fputc('\n', out);
    json_decref(head);
}
