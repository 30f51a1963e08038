/*
 * tcn.h - choosing among the variants of a resource: files that share its
 * name and differ by extension (index.html.en, index.html.fr) or a type map
 * (FILE.var) that lists them, by the client's Accept and Accept-Language
 * and the source quality of each; and the Alternates list of transparent
 * content negotiation (RFC 2295, with the RVSA/1.0 of RFC 2296).
 *
 * Pure logic: the file handler finds the candidates and serves the choice.
 */
#ifndef NXX_HANDLERS_TCN_H
#define NXX_HANDLERS_TCN_H

#include <stddef.h>
#include <stdint.h>

#include "nxx.h"

#define NXX_TCN_MAX_VARIANTS 32

struct nxx_variant {
    char name[256]; /* relative to the resource's directory: "index.html.en" */
    nxx_str type;   /* "text/html", no parameters (static memory, or in a type map's text) */
    char lang[36];  /* "" when the variant has no language */
    uint64_t length;
    int qs;         /* source quality 0..1000 (type maps' qs=), 1000 by default */
    int negotiable; /* the variant is itself negotiated (a type map): 506 if chosen */
    int q;          /* its overall quality, filled by nxx_tcn_choose */
};

/*
 * What base (the last segment of the requested path: "index.html", "doc")
 * becomes a variant for: a file "BASE.EXT..." whose extensions each give
 * its language (one that looks like a language tag, "en", "pt-br", and is
 * no media type's extension) or its media type (the last such extension).
 * "BASE.var" is a type map (negotiable set).  Returns 0 and fills v (name,
 * type, lang, negotiable; length and qs are the caller's), or -1 for a name
 * that is not a variant of base (another base, a precompressed sibling
 * "*.gz"/"*.br", a dotfile, an extension the rules cannot place).
 */
int nxx_variant_from_name(const char *base, size_t base_len, const char *name,
                          struct nxx_variant *v);

/*
 * Parse a type map (Apache's format: records of "Name: value" lines
 * separated by blank lines, with URI, Content-Type (its qs parameter is the
 * source quality), Content-Language and Content-Length) into v[0..max).
 * A record whose URI is self (the map's own resource) or that has no URI is
 * skipped; URIs must be relative and stay in the directory (no "/", no
 * ".."); a URI ending in ".var" is negotiable.  Types point into text.
 * Returns the number of variants, or -1 with *why set for a malformed map.
 */
int nxx_typemap_parse(const char *text, size_t len, const char *self, struct nxx_variant *v,
                      size_t max, const char **why);

/* What the negotiation decided. */
enum nxx_tcn_result {
    NXX_TCN_CHOICE,   /* serve v[*choice] (200 etc.) */
    NXX_TCN_LIST,     /* 300 list response: no single best, or the client asked for the list */
    NXX_TCN_NONE,     /* 406: no variant is acceptable */
    NXX_TCN_VARIANTS, /* 506: the best variant is itself negotiable */
};

/*
 * Rate v[0..n) (each v->q = qs * Accept q * Accept-Language q) and decide.
 * accept / accept_language: the fields (has_*: present); negotiate: the
 * Negotiate directives (nxx_negotiate_flags).  priority[0..nprio): language
 * tags that break ties among the best, earlier first.  A client that takes
 * part in transparent negotiation ("trans" or "vlist") gets the list unless
 * it lets the server choose ("1.0", "*", "guess-small") and one variant is
 * best; any other client gets the best variant, or the list when several
 * are equally good and no priority separates them.
 */
enum nxx_tcn_result nxx_tcn_choose(struct nxx_variant *v, size_t n, nxx_str accept, int has_accept,
                                   nxx_str accept_language, int has_accept_language,
                                   unsigned negotiate, const char *const *priority, size_t nprio,
                                   size_t *choice);

/* The Alternates field value (RFC 2295 §8.3) of v[0..n) into buf; its
 * length, or 0 when cap is too small. */
size_t nxx_tcn_alternates(const struct nxx_variant *v, size_t n, char *buf, size_t cap);

/* The Vary field value for v[0..n): "negotiate" and the dimensions the
 * variants differ in ("accept", "accept-language"). */
const char *nxx_tcn_vary(const struct nxx_variant *v, size_t n);

#endif
