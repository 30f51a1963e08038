/*
 * options.h - what the command (src/bin/nxx.c) needs of the configuration:
 * the server-wide settings a configuration resolves to, the two front
 * ends (`nxx serve [DIR] --flags` and `--config FILE`), building and
 * installing a generation, reloading, and the generated documents.
 *
 * The key table itself is in keys.h; options.c holds its global section.
 */
#ifndef NXX_CONFIG_OPTIONS_H
#define NXX_CONFIG_OPTIONS_H

#include <stdio.h>

#include "nxx.h"

#define NXX_MAX_LISTEN 16

struct nxx_cfg_doc;
struct nxx_cfg_key;

/* The server-wide settings of a configuration (the global keys). */
struct nxx_options {
    nxx_config cfg;
    const char *listen[NXX_MAX_LISTEN];
    unsigned listen_flags[NXX_MAX_LISTEN]; /* NXX_LISTEN_* and NXX_LISTEN_PLAIN, as written */
    size_t nlisten;
    const char *tls_cert, *tls_key; /* the default certificate and its key (files) */
    const char *tls_ocsp;           /* its stapled OCSP response (file) */
    const char *tls_client_ca;      /* CA certificates of client certificates (file) */
    int tls_client_require;         /* tls-client-verify: 0 optional, 1 require */
    const char *mime_types;         /* as configured (default: /etc/mime.types) */
    int mime_explicit;              /* named by the configuration: an unreadable one is an error */
    int log_level;                  /* NXX_LOG_* */
};

/* An item of listen that says `tls: false` (tls-cert does not make it TLS). */
#define NXX_LISTEN_PLAIN 0x100

/* The flags of listener i for nxx_server_listen_flags: TLS when its item
 * says so, or when tls-cert is set and it does not say otherwise. */
unsigned nxx_options_listen_flags(const struct nxx_options *o, size_t i);

/* The table's defaults of every global key. */
void nxx_options_init(struct nxx_options *o);

/* The settings doc resolves to: the defaults, then what it sets.  Strings
 * borrow from doc. */
void nxx_options_from_doc(struct nxx_options *o, const struct nxx_cfg_doc *doc);

/*
 * A reload cannot change keys marked restart: for each one whose value in
 * o differs from running, log a warning naming it (and `what`, the file)
 * and put the running value back into o.  Returns how many differed.
 */
int nxx_options_keep_running(struct nxx_options *o, const struct nxx_options *running,
                             const char *what);

/* Set one global key's field of o from a parsed value (front ends). */
void nxx_options_set(struct nxx_options *o, const struct nxx_cfg_key *k, unsigned long long n,
                     const char *s);

/*
 * The command line of `nxx serve` (after "serve"): flags of the global
 * keys, DIR and the flags that describe a one-location site, or --config
 * FILE with global flags over it.  The document is the site the flags
 * describe (one host, a "/" location serving DIR, ...), or FILE with the
 * flags' global settings in place of its own.  Returns 0, or 2 with the
 * message in err: "nxx: --NAME: 'VALUE' why" for a flag, "FILE:LINE:COL:
 * why" for the file.  *file is set to FILE (argv memory) or NULL.
 */
int nxx_cfg_command(int argc, char **argv, struct nxx_cfg_doc **doc, const char **file, char *err,
                    size_t errlen);

/* Read FILE (YAML) into a document; 0, or 2 with "FILE:LINE:COL: why" in err. */
int nxx_cfg_read_file(const char *file, struct nxx_cfg_doc **doc, char *err, size_t errlen);

/* The same from text in memory, named `name` in messages (tests, fuzzing). */
int nxx_cfg_read_yaml(const char *name, const char *text, size_t len, struct nxx_cfg_doc **doc,
                      char *err, size_t errlen);

void nxx_cfg_free(struct nxx_cfg_doc *doc);

/* How many times doc sets the key `name`, in any block (the command sizes
 * its descriptor limit by the REST stores it opens). */
size_t nxx_cfg_count_key(const struct nxx_cfg_doc *doc, const char *name);

/* What a document serves, for the command's "listening" line: the file's
 * name, or the root of a command line's "/" location. */
const char *nxx_cfg_summary(const struct nxx_cfg_doc *doc);

#define NXX_CFG_MODE_CHECK 0x1 /* validate only: stores are not opened */

/*
 * Build doc into the next generation of srv with the settings o (from
 * nxx_options_from_doc, restart keys already the running ones) and
 * install it: before nxx_server_run the generation it starts with, after
 * it a reload.  Nothing is bound and no thread is started.  Returns 0, or
 * NXX_EINVAL with "FILE:LINE:COL: why" (or the bare why for a command
 * line) in err; the running configuration is then unchanged.
 */
int nxx_cfg_install(nxx_server *srv, const struct nxx_cfg_doc *doc, const struct nxx_options *o,
                    unsigned mode, char *err, size_t errlen);

/*
 * Remember how srv was configured, so nxx_server_reload() (SIGHUP) can do
 * it again: re-read file with the global flags of argv over it, or, with
 * file NULL, re-evaluate argv.  doc is what the server started with (its
 * strings are the running settings' and live until nxx_server_free); o
 * the running settings.  argv must stay valid as long as the server.
 */
int nxx_cfg_attach(nxx_server *srv, const char *file, int argc, char **argv,
                   struct nxx_cfg_doc *doc, const struct nxx_options *o);

/* The MIME types of o, loaded into the process-wide table (before the
 * server runs).  0, or -errno with the message in err (naming the flag
 * --mime-types when flag is set, the key otherwise). */
int nxx_cfg_load_mime(const struct nxx_options *o, int flag, char *err, size_t errlen);

/* Generated documents (render.c). */
void nxx_options_help(FILE *out);
void nxx_options_markdown(FILE *out);
void nxx_options_man(FILE *out);
void nxx_options_schema(FILE *out);

#endif
