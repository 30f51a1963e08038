/*
 * options.c - the option table and its parser.  Each entry names its flag,
 * argument, default and help; a setter validates the value (numbers with
 * ranges and K/M/G suffixes, seconds with fractions, enumerations) so a bad
 * value is reported with the flag's name, never silently clamped.
 */
#include "config/options.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "event/sock.h"
#include "core/banned.h"

enum kind { K_SIZE, K_COUNT, K_SECONDS, K_STRING, K_FLAG, K_LISTEN, K_ENUM, K_RULE };

struct opt {
    const char *name; /* without the leading "--" */
    const char *arg;  /* argument name for help, NULL for flags */
    enum kind kind;
    size_t offset; /* into struct nxx_options */
    unsigned long long min, max;
    const char *def; /* default, as shown */
    const char *help;
    const char *const *choices; /* K_ENUM: NULL-terminated */
};

#define OFF(f) offsetof(struct nxx_options, f)

static const char *const log_formats[] = { "combined", "json", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };

static const struct opt table[] = {
    { "root", "DIR", K_STRING, OFF(root), 0, 0, ".",
      "Serve files from DIR (the same as the positional DIR).", NULL },
    { "listen", "ADDR:PORT", K_LISTEN, 0, 0, 0, "127.0.0.1:8080",
      "Listen on ADDR:PORT; repeat for several. IPv6 as [::1]:8080; port 0 picks a free "
      "port (printed at start).",
      NULL },
    { "threads", "N", K_COUNT, OFF(cfg.threads), 0, 256, "one per core",
      "Worker threads, each with its own event loop (0 = one per core).", NULL },
    { "request-timeout", "SECONDS", K_SECONDS, OFF(cfg.request_timeout_ms), 1, 86400000, "30",
      "A request's head and body must arrive within this time, counted from its first byte; "
      "otherwise 408 and the connection is closed.",
      NULL },
    { "keepalive-timeout", "SECONDS", K_SECONDS, OFF(cfg.keepalive_timeout_ms), 1, 86400000, "60",
      "Idle keep-alive connections are closed silently after this time.", NULL },
    { "drain-timeout", "SECONDS", K_SECONDS, OFF(cfg.drain_timeout_ms), 0, 86400000, "10",
      "On SIGTERM/SIGINT, in-flight requests get this long to finish.", NULL },
    { "send-timeout", "SECONDS", K_SECONDS, OFF(cfg.send_timeout_ms), 0, 86400000, "60",
      "While a response waits for the client (its socket takes no more), what the client has "
      "taken is checked four times per this time; a client that took nothing for a whole "
      "send timeout is disconnected (reset, the unsent rest dropped). Also the window of "
      "--min-send-rate. 0 = never.",
      NULL },
    { "min-send-rate", "BYTES", K_SIZE, OFF(cfg.min_send_rate), 0, 1ull << 30, "1024",
      "A waiting response's checks form windows of one --send-timeout, the first starting a "
      "quarter timeout into the wait; a client that took less than BYTES per second during a "
      "window is disconnected (reset). A shorter wait is never judged by its rate, so an "
      "honest client on a slow link that stalls briefly still finishes. 0 = no minimum.",
      NULL },
    { "max-connections", "N", K_COUNT, OFF(cfg.max_connections), 1, 10000000, "10000",
      "Open connections (all workers) at most. Each connection over it is answered at once, "
      "before its request is read, with a prebuilt 503 (Retry-After: 5, an "
      "application/problem+json body, Connection: close) and closed; such answers are not in "
      "the access log.",
      NULL },
    { "max-header-bytes", "N", K_SIZE, OFF(cfg.max_header_bytes), 256, 16 << 20, "32768",
      "Limit of the request line and header section together (431).", NULL },
    { "max-field-bytes", "N", K_SIZE, OFF(cfg.max_field_bytes), 64, 16 << 20, "8192",
      "Limit of one header field line (431, naming the field).", NULL },
    { "max-headers", "N", K_COUNT, OFF(cfg.max_headers), 1, 10000, "100",
      "Limit of the number of header fields (431).", NULL },
    { "max-uri-bytes", "N", K_SIZE, OFF(cfg.max_uri_bytes), 16, 16 << 20, "8192",
      "Limit of the request-target (414).", NULL },
    { "max-body-bytes", "N", K_SIZE, OFF(cfg.max_body_bytes), 0, 1ull << 40, "1048576",
      "Limit of request content (413, then close), checked from Content-Length before reading "
      "and from each chunk-size line of chunked content before that chunk's data.",
      NULL },
    { "access-log", "FILE|-|off", K_STRING, OFF(cfg.access_log), 0, 0, "-",
      "Access log destination: a file (appended), - for standard output, off for none.", NULL },
    { "access-log-format", "combined|json", K_ENUM, OFF(cfg.access_log_json), 0, 0, "combined",
      "Combined log format plus duration and request id, or JSON lines.", log_formats },
    { "trace", NULL, K_FLAG, OFF(cfg.enable_trace), 0, 0, "off",
      "Answer TRACE with the request head as message/http (otherwise 405).", NULL },
    { "listing", NULL, K_FLAG, OFF(listing), 0, 0, "off",
      "List directories that have no index.html (HTML, or JSON for clients that prefer it); "
      "without it such a directory answers 403.",
      NULL },
    { "follow-symlinks", NULL, K_FLAG, OFF(follow_symlinks), 0, 0, "off",
      "Follow symlinks that lead outside the root (by default only links that stay inside "
      "it are followed).",
      NULL },
    { "no-precompressed", NULL, K_FLAG, OFF(no_precompressed), 0, 0, "off",
      "Do not serve FILE.br / FILE.gz siblings to clients that accept them.", NULL },
    { "cache-control", "PREFIX=VALUE", K_RULE, 0, 0, 0, "none",
      "Cache-Control VALUE for paths under PREFIX (repeatable; the longest prefix wins; "
      "max-age also sets Expires). Without a rule no Cache-Control is sent and caches use "
      "Last-Modified heuristics.",
      NULL },
    { "mime-types", "FILE", K_STRING, OFF(mime_types), 0, 0, "/etc/mime.types",
      "Extra extension-to-type mappings (mime.types format) over the built-in table; "
      "skipped when the default file is absent.",
      NULL },
    { "api", "PREFIX", K_STRING, OFF(api_prefix), 0, 0, "off",
      "Serve the durable REST JSON store under PREFIX (e.g. /api): collections of JSON "
      "objects in an embedded SQLite database.",
      NULL },
    { "data", "DIR", K_STRING, OFF(data_dir), 0, 0, "./data",
      "Directory of the REST store's database (DIR/nxx.db, created on first start).", NULL },
    { "api-require-preconditions", NULL, K_FLAG, OFF(api_require_preconditions), 0, 0, "off",
      "REST PUT/PATCH/DELETE of an existing item without If-Match get 428 (no lost "
      "updates).",
      NULL },
    { "api-max-db-bytes", "N", K_SIZE, OFF(api_max_db_bytes), 0, 1ull << 50, "0 (no limit)",
      "Size limit of the REST database; writes beyond it get 507 and write nothing.", NULL },
    { "log-level", "LEVEL", K_ENUM, OFF(log_level), 0, 0, "info",
      "Error log verbosity on standard error: error, warn, info or debug.", log_levels },
};

#define NOPTS (sizeof(table) / sizeof(table[0]))

void nxx_options_init(struct nxx_options *o)
{
    memset(o, 0, sizeof(*o));
    nxx_config_init(&o->cfg);
    o->cfg.access_log = "-";
    o->root = ".";
    o->log_level = NXX_LOG_INFO;
    o->mime_types = NULL;
}

static int bad(const char *name, const char *value, const char *why)
{
    fprintf(stderr, "nxx: --%s: '%s' %s\n", name, value, why);
    return 2;
}

static int parse_number(const struct opt *op, const char *v, unsigned long long *out)
{
    if (!*v || *v == '-' || *v == '+' || *v == ' ')
        return bad(op->name, v, "is not a non-negative number");
    errno = 0;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v)
        return bad(op->name, v, "is not a number");
    unsigned long long mul = 1;
    if (op->kind == K_SIZE && *end) {
        switch (*end) {
        case 'k':
        case 'K': mul = 1ull << 10; break;
        case 'm':
        case 'M': mul = 1ull << 20; break;
        case 'g':
        case 'G': mul = 1ull << 30; break;
        default: return bad(op->name, v, "is not a size (digits with an optional K, M or G)");
        }
        end++;
    }
    if (*end)
        return bad(op->name, v, "is not a number");
    if (n > ULLONG_MAX / mul)
        return bad(op->name, v, "is too large");
    n *= mul;
    if (n < op->min || n > op->max) {
        char why[96];
        snprintf(why, sizeof(why), "is out of range (%llu to %llu)", op->min, op->max);
        return bad(op->name, v, why);
    }
    *out = n;
    return 0;
}

static int set(struct nxx_options *o, const struct opt *op, const char *v)
{
    char *base = (char *)o;
    unsigned long long n = 0;
    switch (op->kind) {
    case K_SIZE: {
        int r = parse_number(op, v, &n);
        if (r)
            return r;
        *(size_t *)(base + op->offset) = (size_t)n;
        return 0;
    }
    case K_COUNT: {
        int r = parse_number(op, v, &n);
        if (r)
            return r;
        *(unsigned *)(base + op->offset) = (unsigned)n;
        return 0;
    }
    case K_SECONDS: {
        errno = 0;
        char *end = NULL;
        double s = strtod(v, &end);
        if (errno || end == v || *end || !(s >= 0) || isinf(s))
            return bad(op->name, v, "is not a number of seconds");
        double ms = s * 1000.0;
        if (ms < (double)op->min || ms > (double)op->max)
            return bad(op->name, v, "is out of range");
        *(unsigned *)(base + op->offset) = (unsigned)(ms + 0.5);
        return 0;
    }
    case K_STRING:
        if (!*v)
            return bad(op->name, v, "must not be empty");
        *(const char **)(base + op->offset) = v;
        return 0;
    case K_FLAG: *(int *)(base + op->offset) = 1; return 0;
    case K_LISTEN:
        if (o->nlisten == NXX_MAX_LISTEN)
            return bad(op->name, v, "is one listener too many (16 at most)");
        {
            struct sockaddr_storage ss;
            socklen_t len;
            if (nxx_sock_parse_addr(v, &ss, &len) != 0)
                return bad(op->name, v, "is not an address (ADDR:PORT, [IPv6]:PORT or :PORT)");
        }
        o->listen[o->nlisten++] = v;
        return 0;
    case K_RULE: {
        const char *eq = strchr(v, '=');
        if (v[0] != '/' || !eq || !eq[1])
            return bad(op->name, v, "is not PREFIX=VALUE with PREFIX starting with '/'");
        for (const char *c = eq + 1; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                return bad(op->name, v, "has a control character in its value");
        if (o->ncache_rules == NXX_MAX_RULES)
            return bad(op->name, v, "is one rule too many (64 at most)");
        o->cache_rules[o->ncache_rules++] = v;
        return 0;
    }
    case K_ENUM:
        for (int i = 0; op->choices[i]; i++)
            if (strcmp(op->choices[i], v) == 0) {
                *(int *)(base + op->offset) = i;
                return 0;
            }
        return bad(op->name, v, "is not one of the accepted values (see nxx --help)");
    }
    return 2;
}

int nxx_options_parse(struct nxx_options *o, int argc, char **argv)
{
    int positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (positional++) {
                fprintf(stderr, "nxx: unexpected argument '%s' (only one DIR)\n", a);
                return 2;
            }
            o->root = a;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "nxx: unknown option '%s' (see nxx --help)\n", a);
            return 2;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt *op = NULL;
        for (size_t k = 0; k < NOPTS; k++)
            if (strlen(table[k].name) == nlen && memcmp(table[k].name, name, nlen) == 0)
                op = &table[k];
        if (!op) {
            fprintf(stderr, "nxx: unknown option '--%.*s' (see nxx --help)\n", (int)nlen, name);
            return 2;
        }
        const char *v = NULL;
        if (op->kind == K_FLAG) {
            if (eq) {
                fprintf(stderr, "nxx: --%s takes no value\n", op->name);
                return 2;
            }
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            fprintf(stderr, "nxx: --%s needs a value (%s)\n", op->name, op->arg);
            return 2;
        }
        int r = set(o, op, v ? v : "");
        if (r)
            return r;
    }
    if (!o->nlisten)
        o->listen[o->nlisten++] = "127.0.0.1:8080";
    return 0;
}

static const char usage[] =
    "usage: nxx serve [DIR] [options]     serve DIR (default: the current directory)\n"
    "       nxx explain CODE              what an HTTP status means and when nxx sends it\n"
    "       nxx explain --all [--markdown] the whole status registry\n"
    "       nxx explain --sent            the codes nxx sends today, one a line\n"
    "       nxx help [--markdown|--man]   this text, or the option reference\n"
    "       nxx --help | --version\n";

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

void nxx_options_help(FILE *out)
{
    fputs("nxx " NXX_VERSION " - an HTTP/1.1 server that implements HTTP semantics completely\n\n",
          out);
    fputs(usage, out);
    fputs("\noptions of nxx serve:\n", out);
    for (size_t k = 0; k < NOPTS; k++) {
        const struct opt *op = &table[k];
        char head[64];
        snprintf(head, sizeof(head), "--%s%s%s", op->name, op->arg ? " " : "",
                 op->arg ? op->arg : "");
        char text[512];
        snprintf(text, sizeof(text), "%s [default: %s]", op->help, op->def);
        fprintf(out, "  %-32s ", head);
        if (strlen(head) > 32)
            fprintf(out, "\n%35s", "");
        wrap(out, text, 35, 100);
    }
    fputs("\nSizes take K, M or G suffixes (1M = 1048576); SECONDS may have a fraction (0.5).\n"
          "Signals: SIGTERM or SIGINT stops accepting, lets in-flight requests finish (up to\n"
          "--drain-timeout), closes idle connections and exits 0.\n"
          "Exit status: 0 after a clean stop, 1 when the server cannot start (port in use,\n"
          "unreadable DIR), 2 for a usage error.\n",
          out);
}

void nxx_options_markdown(FILE *out)
{
    fputs("# nxx configuration reference\n\n"
          "<!-- generated from src/config/options.c by `make docs` (`nxx help --markdown`);"
          " do not edit -->\n\n```\n",
          out);
    fputs(usage, out);
    fputs("```\n\n## Options of `nxx serve`\n\n| option | default | meaning |\n|---|---|---|\n",
          out);
    for (size_t k = 0; k < NOPTS; k++) {
        const struct opt *op = &table[k];
        fprintf(out, "| `--%s%s%s` | %s | %s |\n", op->name, op->arg ? " " : "",
                op->arg ? op->arg : "", op->def, op->help);
    }
    fputs("\nSizes take K, M or G suffixes (1M = 1048576); SECONDS may have a fraction (0.5).\n"
          "A bad value is reported with the flag's name and exit status 2.\n",
          out);
}

static void man_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '-' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
}

void nxx_options_man(FILE *out)
{
    fputs(".\\\" generated from src/config/options.c by `make docs`; do not edit\n"
          ".TH NXX 1 \"\" \"nxx " NXX_VERSION "\" \"User Commands\"\n"
          ".SH NAME\nnxx \\- an HTTP/1.1 server that implements HTTP semantics completely\n"
          ".SH SYNOPSIS\n.B nxx serve\n[\\fIDIR\\fR] [\\fIoptions\\fR]\n.br\n"
          ".B nxx explain\n\\fICODE\\fR | \\fB\\-\\-all\\fR [\\fB\\-\\-markdown\\fR] | "
          "\\fB\\-\\-sent\\fR\n"
          ".SH DESCRIPTION\nServes the files of DIR over HTTP/1.1 with strict parsing, "
          "keep-alive, pipelining, and a problem body for every error status.\n"
          ".SH OPTIONS\n",
          out);
    for (size_t k = 0; k < NOPTS; k++) {
        const struct opt *op = &table[k];
        fputs(".TP\n.BR \\-\\-", out);
        man_escape(out, op->name);
        if (op->arg) {
            fputs(" \" \" \\fI", out);
            man_escape(out, op->arg);
            fputs("\\fR", out);
        }
        fputc('\n', out);
        man_escape(out, op->help);
        fputs(" Default: ", out);
        man_escape(out, op->def);
        fputs(".\n", out);
    }
    fputs(".SH EXIT STATUS\n0 after a clean stop; 1 when the server cannot start; 2 for a usage "
          "error.\n.SH SEE ALSO\ndocs/config.md, docs/status-codes.md\n",
          out);
}
