/*
 * locations.c - a file server with many locations, for bench/instr: the
 * site `nxx serve ROOT` builds ("/" serves ROOT), plus N prefix locations
 * /loc1 ... /locN on the same host, each serving ROOT too (root semantics:
 * /loc7/index.html is ROOT/loc7/index.html).  What a configuration file
 * with that many locations would build, made through the public API.
 *
 *   locations ROOT ADDR N     (one worker, no access log; SIGTERM stops it)
 *
 * Built by bench/instr against the libnxx.a beside the nxx it measures.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "nxx.h"

static nxx_server *srv;

static void stop(int sig)
{
    (void)sig;
    nxx_server_stop(srv);
}

static int files(nxx_scope *loc, const char *root)
{
    nxx_static_config sc;
    nxx_static_config_init(&sc);
    sc.root = root;
    return loc ? nxx_scope_files(loc, &sc) : NXX_ENOMEM;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: locations ROOT ADDR N\n");
        return 2;
    }
    const char *root = argv[1];
    long n = strtol(argv[3], NULL, 10);
    nxx_config cfg;
    nxx_config_init(&cfg);
    cfg.threads = 1;
    srv = nxx_server_new(&cfg);
    nxx_scope *host = srv ? nxx_server_host(srv, NULL) : NULL;
    if (!host || files(nxx_host_location(host, "/"), root) != 0) {
        fprintf(stderr, "locations: cannot serve '%s'\n", root);
        return 1;
    }
    for (long i = 1; i <= n; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/loc%ld", i);
        if (files(nxx_host_location(host, path), root) != 0) {
            fprintf(stderr, "locations: cannot add location %s\n", path);
            return 1;
        }
    }
    if (nxx_server_listen(srv, argv[2]) != 0) {
        fprintf(stderr, "locations: cannot listen on %s\n", argv[2]);
        return 1;
    }
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGPIPE, SIG_IGN);
    int err = nxx_server_run(srv);
    nxx_server_free(srv);
    return err ? 1 : 0;
}
