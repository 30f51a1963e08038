/*
 * keys.h - THE key table of the configuration, and the document the front
 * ends build from it.
 *
 * Every setting nxx knows is one entry (struct nxx_cfg_key): its name, its
 * type, its default (written once, in the entry), the scopes it may appear
 * in, whether a reload can change it, and its help.  Two front ends read
 * the same entries: the command line (argv.c) and the YAML file (yaml.c).
 * Both produce a document (struct nxx_cfg_doc), a tree of blocks
 *
 *     top level (global settings + the server scope)
 *       listen        blocks of NXX_CFG_LISTEN keys
 *       hosts         named blocks of NXX_CFG_HOST keys
 *         locations   named blocks of NXX_CFG_LOCATION keys
 *       locations     the default host's locations
 *
 * whose values the builder (build.c) turns into a generation with the
 * public nxx_scope_* API.  --help, the man page, docs/config.md and the
 * JSON Schema (render.c) are generated from the same entries.
 *
 * Handlers and policies declare their own keys (h2o's configurators): a
 * module is one entry of type K_BLOCK whose `sub` lists its keys and whose
 * `setup` calls the nxx_scope_* function.  Adding a module is adding an
 * entry to a section (handlers.c, scope.c), never a case in a switch.
 */
#ifndef NXX_CONFIG_KEYS_H
#define NXX_CONFIG_KEYS_H

#include <stddef.h>
#include <stdarg.h>

#include "nxx.h"
#include "config/options.h"

struct nxx_site;

enum nxx_cfg_type {
    K_STRING,  /* a non-empty string (check: further syntax) */
    K_FLAG,    /* true or false; on the command line, a flag without a value */
    K_SIZE,    /* bytes: digits with an optional K, M or G (min..max) */
    K_COUNT,   /* a whole number (min..max) */
    K_SECONDS, /* seconds with an optional fraction, kept in ms (min..max ms) */
    K_ENUM,    /* one of choices, kept as its index */
    K_STATUS,  /* an HTTP status code: one of choices, or registered in min..max */
    K_LIST,    /* a list of strings (a single string is a list of one) */
    K_MAP,     /* a map of names to strings (check: the names' syntax) */
    K_BLOCK,   /* a nested map with keys of its own (sub); a scalar sets `shorthand` */
    K_BLOCKS,  /* one block or a list of blocks (listen) */
    K_NAMED,   /* a map of names to blocks of scope `child` (hosts, locations) */
};

/* Scopes a key may appear in (the `scopes` bits); 0 means NXX_CFG_GLOBAL. */
#define NXX_CFG_GLOBAL 0x01   /* the top level: a server-wide setting */
#define NXX_CFG_SERVER 0x02   /* the top level, as the server scope */
#define NXX_CFG_HOST 0x04     /* a host under `hosts` */
#define NXX_CFG_LOCATION 0x08 /* a location under `locations` */
#define NXX_CFG_LISTEN 0x10   /* an item of `listen` */
#define NXX_CFG_SCOPED (NXX_CFG_SERVER | NXX_CFG_HOST | NXX_CFG_LOCATION)

/* Key flags */
#define NXX_CFG_RESTART 0x01  /* a reload keeps the running value (and warns) */
#define NXX_CFG_REQUIRED 0x02 /* a module key without which the block is refused */
#define NXX_CFG_PATH 0x04     /* a file name: a relative one is taken from the file's directory */
#define NXX_CFG_HANDLER 0x08  /* answers a location's requests: one per location */
#define NXX_CFG_ARGV 0x10     /* a scoped key that is also a flag of `nxx serve` */
#define NXX_CFG_FIELD 0x20    /* a scoped key that sets its options field at the top level */
#define NXX_CFG_CMD_DEFAULT 0x40 /* the command's default is not nxx_config_init's */

struct nxx_cfg_build;
struct nxx_cfg_val;

struct nxx_cfg_key {
    /* The first nine members are the option table's historic shape, so a
     * global setting is one positional line: name, argument, type, field,
     * range, default, help, choices.  What follows is zero for a
     * server-wide setting a reload can change. */
    const char *name;              /* as in the file; the flag is --name */
    const char *arg;               /* argument name in help ("N", "SECONDS"); NULL for flags */
    enum nxx_cfg_type type;        /* how values are written and checked */
    size_t offset;                 /* global keys (and NXX_CFG_FIELD): into struct nxx_options */
    unsigned long long min;        /* K_SIZE, K_COUNT, K_STATUS: the value; K_SECONDS: ms */
    unsigned long long max;        /* as min, inclusive */
    const char *def;               /* the default as it would be written; NULL: none */
    const char *help;              /* one or more sentences */
    const char *const *choices;    /* K_ENUM, K_STATUS: NULL-terminated */
    unsigned scopes;               /* NXX_CFG_* bits; 0 = NXX_CFG_GLOBAL */
    unsigned flags;                /* NXX_CFG_RESTART, ... */
    const char *def_doc;           /* the default as documented, when def says too little */
    const struct nxx_cfg_key *sub; /* K_BLOCK, K_BLOCKS: the keys inside */
    size_t nsub;
    const char *shorthand; /* K_BLOCK, K_BLOCKS: the sub-key a lone scalar sets */
    unsigned child;        /* K_NAMED: the scope of its blocks */
    /*
     * Build the setting into a scope (server, host or location) of the
     * generation being built.  Called once per block that sets the key, in
     * table order.  Returns 0, or an error after nxx_cfg_fail().
     */
    int (*setup)(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_val *v);
    /* Extra syntax of a K_STRING value, K_LIST item or K_MAP name: NULL if
     * fine, else why not, as "is not ..." (the front ends quote the text). */
    const char *(*check)(const char *text);
};

/* Where a value was written; line 0: not in a file (the command line, a default). */
struct nxx_cfg_pos {
    unsigned line, col;
};

struct nxx_cfg_block;

/* A value as the front ends read it (only the members of its type are set). */
struct nxx_cfg_val {
    const struct nxx_cfg_key *key;
    struct nxx_cfg_pos pos;
    int is_default;           /* filled in from key->def */
    const char *s;            /* K_STRING (a path resolved against the file's directory) */
    unsigned long long n;     /* K_FLAG 0/1, K_SIZE, K_COUNT, K_SECONDS (ms), K_ENUM, K_STATUS */
    const char **items;       /* K_LIST items; K_MAP names */
    const char **values;      /* K_MAP values */
    struct nxx_cfg_pos *ipos; /* K_LIST, K_MAP: where each item is */
    size_t nitems;
    struct nxx_cfg_block **blocks; /* K_BLOCK (one), K_BLOCKS, K_NAMED */
    size_t nblocks;
};

struct nxx_cfg_block {
    const char *name;                /* K_NAMED: a host name or a location path */
    struct nxx_cfg_pos pos;          /* where its map (or name) begins */
    unsigned scope;                  /* the scope of its keys; 0: a module's block */
    const struct nxx_cfg_key *owner; /* the key this block is a value of (NULL: top) */
    const struct nxx_cfg_block *parent;
    struct nxx_cfg_val *v; /* the values set, in the order written */
    size_t n, cap;
};

struct nxx_cfg_mem;

/* A configuration as a front end read it; immutable once built. */
struct nxx_cfg_doc {
    const char *file; /* the file's name as given; NULL for a command line */
    const char *dir;  /* relative paths are taken from here; NULL: the working directory */
    struct nxx_cfg_block *top;
    struct nxx_cfg_mem *mem; /* everything above lives here */
};

/* ---- the table ---- */

/* The sections of the table, in the order they are applied and documented. */
struct nxx_cfg_section {
    const char *title;
    const struct nxx_cfg_key *keys;
    const size_t *n;
};
extern const struct nxx_cfg_section nxx_cfg_sections[];
extern const size_t nxx_cfg_nsections;

/* The sections themselves (options.c, scope.c, handlers.c, doc.c). */
extern const struct nxx_cfg_key nxx_cfg_global_keys[];
extern const size_t nxx_cfg_nglobal_keys;
extern const struct nxx_cfg_key nxx_cfg_scope_keys[];
extern const size_t nxx_cfg_nscope_keys;
extern const struct nxx_cfg_key nxx_cfg_host_keys[];
extern const size_t nxx_cfg_nhost_keys;
extern const struct nxx_cfg_key nxx_cfg_handler_keys[];
extern const size_t nxx_cfg_nhandler_keys;
extern const struct nxx_cfg_key nxx_cfg_structure_keys[];
extern const size_t nxx_cfg_nstructure_keys;

/* The scopes of a key (0 read as NXX_CFG_GLOBAL). */
static inline unsigned nxx_cfg_scopes(const struct nxx_cfg_key *k)
{
    return k->scopes ? k->scopes : NXX_CFG_GLOBAL;
}

/* The key called name (len bytes) that may appear in scope, or NULL. */
const struct nxx_cfg_key *nxx_cfg_lookup(unsigned scope, const char *name, size_t len);

/* Any key called name, whatever its scope (for "belongs elsewhere" messages). */
const struct nxx_cfg_key *nxx_cfg_lookup_any(const char *name, size_t len);

/* A key of a module's block, or NULL. */
const struct nxx_cfg_key *nxx_cfg_sub(const struct nxx_cfg_key *owner, const char *name,
                                      size_t len);

/* Where a key belongs, for messages: "at the top level", "in a host", ... */
const char *nxx_cfg_where(const struct nxx_cfg_key *k);

/* ---- values (value.c) ---- */

/*
 * Parse text as a value of k's scalar type (K_STRING ... K_STATUS) into v
 * (v->s borrows text).  Returns NULL, or why not as a phrase that follows
 * the quoted text ("is not a number"): the command line prints
 * "nxx: --NAME: 'TEXT' WHY", the file adds what was expected.  buf holds
 * a phrase that has to be formatted.
 */
const char *nxx_cfg_parse_scalar(const struct nxx_cfg_key *k, const char *text,
                                 struct nxx_cfg_val *v, char *buf, size_t len);

/* What a value of k looks like, for messages and documents:
 * "a whole number from 0 to 256", "true or false", ... */
void nxx_cfg_expect(const struct nxx_cfg_key *k, char *buf, size_t len);

/* The type's name in documents: "size", "seconds", "string list", ... */
const char *nxx_cfg_type_name(const struct nxx_cfg_key *k);

/* The default as documented ("30", "one per core", "none"). */
const char *nxx_cfg_default_text(const struct nxx_cfg_key *k);

/* Levenshtein distance, bounded: returns limit + 1 when it is larger. */
size_t nxx_cfg_distance(const char *a, size_t alen, const char *b, size_t blen, size_t limit);

/* Checks shared by several keys (a NULL result means fine). */
const char *nxx_cfg_check_address(const char *text);
const char *nxx_cfg_check_host(const char *text);
const char *nxx_cfg_check_abs_path(const char *text);
const char *nxx_cfg_check_field_name(const char *text);
const char *nxx_cfg_check_text(const char *text);
const char *nxx_cfg_check_token(const char *text);

/* ---- the document (doc.c) ---- */

struct nxx_cfg_doc *nxx_cfg_doc_new(const char *file);
void nxx_cfg_doc_free(struct nxx_cfg_doc *doc);

/* Memory of the document: zeroed, freed with it.  NULL on ENOMEM. */
void *nxx_cfg_alloc(struct nxx_cfg_doc *doc, size_t n);
char *nxx_cfg_strndup(struct nxx_cfg_doc *doc, const char *s, size_t n);

/* A new block of scope (0 for a module's block owned by owner). */
struct nxx_cfg_block *nxx_cfg_block_new(struct nxx_cfg_doc *doc, unsigned scope,
                                        const struct nxx_cfg_key *owner,
                                        const struct nxx_cfg_block *parent, const char *name,
                                        struct nxx_cfg_pos pos);

/* Append a value for key to block (zeroed but for key and pos); NULL on ENOMEM. */
struct nxx_cfg_val *nxx_cfg_block_add(struct nxx_cfg_doc *doc, struct nxx_cfg_block *b,
                                      const struct nxx_cfg_key *key, struct nxx_cfg_pos pos);

/* The value of key `name` in block, or NULL when it is not set. */
const struct nxx_cfg_val *nxx_cfg_get(const struct nxx_cfg_block *b, const char *name);
struct nxx_cfg_val *nxx_cfg_find(struct nxx_cfg_block *b, const struct nxx_cfg_key *key);

/* Typed reads of a module's block (defaults are filled in): */
const char *nxx_cfg_str(const struct nxx_cfg_block *b, const char *name);        /* NULL: unset */
unsigned long long nxx_cfg_num(const struct nxx_cfg_block *b, const char *name); /* 0: unset */

/*
 * Finish a module's block: fill in the defaults of the keys it does not
 * set and refuse it when a required key is missing (0, or -1 with the
 * message in err).
 */
int nxx_cfg_block_finish(struct nxx_cfg_doc *doc, struct nxx_cfg_block *b, char *err,
                         size_t errlen);

/* Resolve a path value against the document's directory (copied into the document). */
const char *nxx_cfg_path(struct nxx_cfg_doc *doc, const char *text);

/* "location '/api' of host 'example.org'", "the top level", "'files' of location '/'" */
void nxx_cfg_block_describe(const struct nxx_cfg_block *b, char *buf, size_t len);

/* The same after a preposition: "in location '/api'", "at the top level". */
void nxx_cfg_block_in(const struct nxx_cfg_block *b, char *buf, size_t len);

/*
 * Checks across blocks that both front ends need: at most one handler per
 * location, host names given once, top-level locations with a host that
 * says `default`.  0, or -1 with the message in err.
 */
int nxx_cfg_doc_check(const struct nxx_cfg_doc *doc, char *err, size_t errlen);

/*
 * Write "FILE:LINE:COL: " and the message into err, as one line: control
 * bytes (a newline in a quoted value) are escaped.  Returns -1.
 */
int nxx_cfg_error(const struct nxx_cfg_doc *doc, struct nxx_cfg_pos pos, char *err, size_t errlen,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int nxx_cfg_verror(const struct nxx_cfg_doc *doc, struct nxx_cfg_pos pos, char *err, size_t errlen,
                   const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* "FILE:LINE:COL: " for a position of doc (empty for the command line). */
void nxx_cfg_where_at(const struct nxx_cfg_doc *doc, struct nxx_cfg_pos pos, char *buf, size_t len);

/* The command line's flags that describe a site rather than set a key
 * (argv.c), for the generated documents: fn is called for each. */
void nxx_cfg_site_flags(void (*fn)(void *ctx, const char *name, const char *arg, const char *def,
                                   const char *help),
                        void *ctx);

/* ---- building a generation (build.c) ---- */

struct nxx_cfg_build {
    nxx_server *srv;
    struct nxx_site *site;
    const struct nxx_cfg_doc *doc;
    unsigned mode; /* NXX_CFG_MODE_CHECK, ... */
    char *err;
    size_t errlen;
};

/* Record an error at pos ("FILE:LINE:COL: " + the message); returns NXX_EINVAL. */
int nxx_cfg_fail(struct nxx_cfg_build *b, struct nxx_cfg_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Apply every key set in block to scope (setup functions, in table order). */
int nxx_cfg_apply(struct nxx_cfg_build *b, nxx_scope *scope, const struct nxx_cfg_block *block);

#endif
