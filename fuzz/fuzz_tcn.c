/*
 * fuzz_tcn.c - libFuzzer target for variant selection (handlers/tcn.h) and
 * the negotiation fields it reads (http/negotiate.h).  The input is split
 * at the first two NUL bytes into a type map, an Accept-Language value and
 * a Negotiate value (missing parts are empty), each in an exact-size
 * allocation so a read past it is an ASan report.
 *
 * Checks beyond "no crash, no over-read":
 *  - a type map parses to -1 with a reason, or to at most the maximum
 *    number of variants, each named by a file name with no '/', quote or
 *    backslash, typed "x/y", with a source quality and language that are
 *    well formed; nothing is taken from a record naming the map itself;
 *  - every Accept-Language q is 0..1000, and the same for any case of the tag;
 *  - nxx_negotiate_flags only sets the four known bits;
 *  - the choice over the parsed variants names one of them, the result is
 *    one of the four outcomes, and Alternates (when it fits) is one
 *    {...} per variant.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "handlers/tcn.h"
#include "http/negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_tcn: %s:%d: %s\n", __FILE__, __LINE__, #cond);                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static char *part(const uint8_t **p, const uint8_t *end, size_t *len)
{
    const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
    const uint8_t *stop = nul ? nul : end;
    *len = (size_t)(stop - *p);
    char *copy = malloc(*len ? *len : 1);
    if (copy && *len)
        memcpy(copy, *p, *len);
    *p = nul ? nul + 1 : end;
    return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    size_t mlen, llen, nlen;
    char *map = part(&p, end, &mlen);
    char *lang = part(&p, end, &llen);
    char *neg = part(&p, end, &nlen);
    if (!map || !lang || !neg)
        goto out;

    struct nxx_variant v[NXX_TCN_MAX_VARIANTS];
    const char *why = NULL;
    int n = nxx_typemap_parse(map, mlen, "self", v, NXX_TCN_MAX_VARIANTS, &why);
    REQUIRE(n >= -1 && n <= NXX_TCN_MAX_VARIANTS);
    REQUIRE(n >= 0 || why != NULL);
    for (int i = 0; i < n; i++) {
        REQUIRE(v[i].name[0] && strcmp(v[i].name, "self") != 0);
        REQUIRE(!strpbrk(v[i].name, "/\"\\ "));
        REQUIRE(v[i].type.len && memchr(v[i].type.ptr, '/', v[i].type.len));
        REQUIRE(v[i].qs >= 0 && v[i].qs <= 1000);
        REQUIRE(strlen(v[i].lang) < sizeof(v[i].lang));
    }

    nxx_str al = { lang, llen };
    static const char *const tags[] = { "en", "en-gb", "fr", "pt-br", "zh-hant-tw", "x" };
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        int q = nxx_accept_language_q(al, 1, tags[i]);
        REQUIRE(q >= 0 && q <= 1000);
    }
    unsigned f = nxx_negotiate_flags((nxx_str){ neg, nlen });
    REQUIRE((f & ~(unsigned)(NXX_NEG_TRANS | NXX_NEG_VLIST | NXX_NEG_GUESS_SMALL | NXX_NEG_RVSA)) ==
            0);

    if (n > 0) {
        size_t pick = (size_t)-1;
        const char *prio[] = { "fr", "en" };
        enum nxx_tcn_result r = nxx_tcn_choose(v, (size_t)n, al, 1, al, 1, f, prio, 2, &pick);
        REQUIRE(r == NXX_TCN_CHOICE || r == NXX_TCN_LIST || r == NXX_TCN_NONE ||
                r == NXX_TCN_VARIANTS);
        REQUIRE(r == NXX_TCN_NONE || pick < (size_t)n);
        char buf[16384];
        size_t alen = nxx_tcn_alternates(v, (size_t)n, buf, sizeof(buf));
        size_t opens = 0, depth = 0;
        for (size_t i = 0; i < alen; i++) {
            if (buf[i] == '{' && depth++ == 0)
                opens++;
            else if (buf[i] == '}')
                depth--;
        }
        REQUIRE(alen == 0 || (opens == (size_t)n && depth == 0));
    }
out:
    free(map);
    free(lang);
    free(neg);
    return 0;
}
