/*
 * options.h - THE option table of `nxx serve`: every flag with its argument,
 * default and help text.  --help, the man page and docs/config.md are all
 * generated from it, so they cannot disagree with what is parsed.
 */
#ifndef NXX_CONFIG_OPTIONS_H
#define NXX_CONFIG_OPTIONS_H

#include <stdio.h>

#include "nxx.h"

#define NXX_MAX_LISTEN 16
#define NXX_MAX_RULES 64

/* Everything `nxx serve` can be told. */
struct nxx_options {
    nxx_config cfg;
    const char *root;
    const char *listen[NXX_MAX_LISTEN];
    size_t nlisten;
    const char *cache_rules[NXX_MAX_RULES];
    size_t ncache_rules;
    int listing;
    int follow_symlinks;
    int no_precompressed;
    const char *mime_types;
    const char *api_prefix; /* --api: NULL = no REST store */
    const char *data_dir;
    int api_require_preconditions;
    size_t api_max_db_bytes;
    int log_level;
};

void nxx_options_init(struct nxx_options *o);

/*
 * Parse argv (after "serve").  Returns 0, or 2 after printing a one-line
 * error naming the flag to stderr.  Positional DIR sets root.
 */
int nxx_options_parse(struct nxx_options *o, int argc, char **argv);

/* Renderers of the table */
void nxx_options_help(FILE *out);
void nxx_options_markdown(FILE *out);
void nxx_options_man(FILE *out);

#endif
