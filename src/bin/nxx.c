/*
 * nxx.c - the command: a thin main() over libnxx.  `nxx serve` turns a
 * configuration (a file, flags, or both: src/config) into a server and
 * runs it, reloading on SIGHUP; `nxx check` loads a file without serving;
 * `nxx explain` prints the status registry (`--sent`: the codes nxx sends
 * today).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nxx.h"
#include "config/options.h"
#include "core/log.h"
#include "handlers/mime.h"
#include "http/status_doc.h"
#include "os/fd.h"
#include "core/banned.h"

static nxx_server *volatile running;

/* Only async-signal-safe calls: each of these stores a flag and writes to
 * an eventfd; the server's loop does the work. */
static void on_signal(int sig)
{
    int saved = errno;
    nxx_server *srv = running;
    if (srv) {
        if (sig == SIGHUP)
            nxx_server_reload(srv);
        else if (sig == SIGUSR1)
            nxx_server_reopen_logs(srv);
        else
            nxx_server_stop(srv);
    }
    errno = saved;
}

/*
 * Descriptors the server needs besides its connections: per worker its
 * listeners, epoll, eventfd, reserve and the file handler's open-file
 * cache; the standard streams and the access log; the REST store (the
 * writer's database, WAL and shared memory, a reader per worker); a margin
 * for directory listings, MIME files and the like.
 */
static uint64_t fds_besides_connections(const struct nxx_options *o, size_t stores,
                                        uint64_t workers)
{
    uint64_t per_worker = o->nlisten + 3 + NXX_STATIC_CACHE_FILES;
    uint64_t store = stores * (8 + 2 * workers);
    return workers * per_worker + store + 4 + 32;
}

/*
 * Raise the soft descriptor limit toward the hard one and say so when it
 * cannot hold --max-connections: past it, accept fails and connections get
 * the 503 of the reserve descriptor instead of being served.
 */
static void raise_fd_limit(const struct nxx_options *o, size_t stores)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t workers = o->cfg.threads ? o->cfg.threads : cores > 0 ? (uint64_t)cores : 1;
    if (workers > 256)
        workers = 256;
    uint64_t besides = fds_besides_connections(o, stores, workers);
    uint64_t need = o->cfg.max_connections + besides;
    uint64_t soft, hard;
    if (nxx_os_fd_limit(&soft, &hard) < 0)
        return;
    if (soft < hard) {
        /* an unlimited hard limit is refused as a soft one: then ask for what is needed */
        if (nxx_os_fd_limit_set(hard) < 0 && need > soft)
            nxx_os_fd_limit_set(need < hard ? need : hard);
        if (nxx_os_fd_limit(&soft, &hard) < 0)
            return;
    }
    if (soft >= need)
        return;
    nxx_log_warn("the descriptor limit is %llu (hard limit %llu), but --max-connections %u with "
                 "%llu workers needs about %llu (%u connections, %llu for listeners, the file "
                 "cache, logs and the store); connections past the limit get 503; raise it "
                 "(ulimit -n, LimitNOFILE=) or lower --max-connections",
                 (unsigned long long)soft, (unsigned long long)hard, o->cfg.max_connections,
                 (unsigned long long)workers, (unsigned long long)need, o->cfg.max_connections,
                 (unsigned long long)besides);
}

static int finish_output(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "nxx: cannot write to standard output: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

static int cmd_explain(int argc, char **argv)
{
    int all = 0, markdown = 0, sent = 0;
    const char *code = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0)
            all = 1;
        else if (strcmp(argv[i], "--sent") == 0)
            sent = 1;
        else if (strcmp(argv[i], "--markdown") == 0)
            markdown = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "nxx: explain: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (code) {
            fprintf(stderr, "nxx: explain: one CODE at a time\n");
            return 2;
        } else {
            code = argv[i];
        }
    }
    if (sent) {
        if (all || markdown || code) {
            fprintf(stderr, "nxx: explain: --sent takes nothing else\n");
            return 2;
        }
        nxx_status_sent_list(stdout);
        return finish_output();
    }
    if (all) {
        if (markdown)
            nxx_status_markdown(stdout);
        else
            nxx_status_explain_all(stdout);
        return finish_output();
    }
    if (!code) {
        fprintf(stderr, "nxx: explain: which status? (nxx explain 404, --all, or --sent)\n");
        return 2;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(code, &end, 10);
    if (errno || *end || end == code || v < 100 || v > 999) {
        fprintf(stderr, "nxx: explain: '%s' is not an HTTP status code\n", code);
        return 2;
    }
    if (nxx_status_explain(stdout, (int)v) < 0) {
        fprintf(stderr, "nxx: explain: %ld is not a registered status code\n", v);
        return 1;
    }
    return finish_output();
}

static int cmd_help(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "--markdown") == 0)
        nxx_options_markdown(stdout);
    else if (argc > 0 && strcmp(argv[0], "--man") == 0)
        nxx_options_man(stdout);
    else if (argc > 0 && strcmp(argv[0], "--schema") == 0)
        nxx_options_schema(stdout);
    else
        nxx_options_help(stdout);
    return finish_output();
}

/* nxx check FILE: build the whole configuration, bind nothing, run nothing. */
static int cmd_check(int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-') {
        fprintf(stderr, "nxx: check: which file? (nxx check FILE)\n");
        return 2;
    }
    const char *file = argv[0];
    char err[2048];
    struct nxx_cfg_doc *doc = NULL;
    if (nxx_cfg_read_file(file, &doc, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    struct nxx_options o;
    nxx_options_from_doc(&o, doc);
    int rc = 0;
    nxx_server *srv = NULL;
    if (nxx_cfg_load_mime(&o, 0, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", file, err);
        rc = 2;
    } else if (!(srv = nxx_server_new(&o.cfg))) {
        fprintf(stderr, "nxx: out of memory\n");
        rc = 1;
    } else if (nxx_cfg_install(srv, doc, &o, NXX_CFG_MODE_CHECK, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        rc = 2;
    }
    nxx_server_free(srv);
    nxx_cfg_free(doc);
    nxx_mime_free();
    if (rc)
        return rc;
    printf("%s: ok\n", file);
    return finish_output();
}

static int cmd_serve(int argc, char **argv)
{
    /* reload and reopen are ignored until there is a server to ask */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    char err[2048];
    struct nxx_cfg_doc *doc = NULL;
    const char *file = NULL;
    if (nxx_cfg_command(argc, argv, &doc, &file, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    struct nxx_options o;
    nxx_options_from_doc(&o, doc);
    nxx_log_level = o.log_level;
    raise_fd_limit(&o, nxx_cfg_count_key(doc, "api"));

    nxx_server *srv = nxx_server_new(&o.cfg);
    if (!srv) {
        fprintf(stderr, "nxx: out of memory\n");
        nxx_cfg_free(doc);
        return 1;
    }
    /* extra MIME types before any worker starts; the default file may be absent */
    if (nxx_cfg_load_mime(&o, !file, err, sizeof(err))) {
        fprintf(stderr, file ? "%s: %s\n" : "nxx: %s%s\n", file ? file : "", err);
        nxx_server_free(srv);
        nxx_cfg_free(doc);
        return file ? 2 : 1;
    }
    const char *what = nxx_cfg_summary(doc);
    /* from here the server keeps doc (the running settings point into it)
     * and knows how to load its configuration again (SIGHUP) */
    if (nxx_cfg_attach(srv, file, argc, argv, doc, &o) != 0) {
        fprintf(stderr, "nxx: out of memory\n");
        nxx_server_free(srv);
        return 1;
    }
    int err_ = file ? nxx_server_load(srv, file, err, sizeof(err))
                    : nxx_cfg_install(srv, doc, &o, 0, err, sizeof(err));
    if (err_) {
        fprintf(stderr, file ? "%s%s\n" : "nxx: %s%s\n", "", err);
        nxx_server_free(srv);
        nxx_mime_free();
        return file ? 2 : 1;
    }
    for (size_t i = 0; i < o.nlisten; i++) {
        int e = nxx_server_listen_flags(srv, o.listen[i], nxx_options_listen_flags(&o, i));
        if (e) {
            fprintf(stderr, "nxx: cannot listen on %s: %s\n", o.listen[i],
                    e == -EADDRINUSE ? "address already in use" : nxx_strerror(e));
            nxx_server_free(srv);
            nxx_mime_free();
            return 1;
        }
    }
    /* handlers before the listening line: a supervisor may signal at once */
    running = srv;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < o.nlisten; i++) {
        const char *a = o.listen[i];
        int v6 = a[0] == '[';
        const char *host_end = v6 ? strchr(a, ']') + 1 : strrchr(a, ':');
        size_t hl = host_end ? (size_t)(host_end - a) : 0;
        const char *host = hl ? a : "0.0.0.0";
        if (!hl)
            hl = strlen(host);
        unsigned f = nxx_options_listen_flags(&o, i);
        fprintf(stderr, "nxx: listening on %s://%.*s:%d (serving %s%s)\n",
                f & NXX_LISTEN_TLS ? "https" : "http", (int)hl, host, nxx_server_port(srv, i), what,
                f & NXX_LISTEN_HTTPS_REDIRECT ? "; redirecting to https" : "");
    }
    fflush(stderr);

    int e = nxx_server_run(srv);
    running = NULL;
    nxx_server_free(srv);
    nxx_mime_free();
    if (e) {
        fprintf(stderr, "nxx: %s\n", nxx_strerror(e));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        nxx_options_help(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return cmd_help(0, NULL);
    if (strcmp(cmd, "help") == 0)
        return cmd_help(argc - 2, argv + 2);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("nxx %s\n", NXX_VERSION);
        return finish_output();
    }
    if (strcmp(cmd, "explain") == 0)
        return cmd_explain(argc - 2, argv + 2);
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 2, argv + 2);
    fprintf(stderr, "nxx: unknown command '%s' (see nxx --help)\n", cmd);
    return 2;
}
