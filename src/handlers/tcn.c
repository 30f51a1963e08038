/*
 * tcn.c - variant selection for the file handler: a request for a name that
 * has no file of its own but siblings that differ by language or type
 * (index.html.en, index.html.fr, doc.pdf, doc.html), or a type map, is
 * answered with the variant the client prefers, or with the list of them
 * (300) when the client asks for it or nothing tells them apart, as Apache's
 * MultiViews and type maps do.  RFC 2295's transparent negotiation gives the
 * list its form (Alternates, TCN) and RFC 2296's RVSA/1.0 the rating
 * (source quality times the client's q-values).  No allocation: variants
 * live in a caller's array.
 */
#include "handlers/tcn.h"

#include <stdio.h>
#include <string.h>

#include "core/str.h"
#include "handlers/mime.h"
#include "http/field.h"
#include "http/negotiate.h"

#include "core/banned.h"

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int is_alpha(int c)
{
    c = lower(c);
    return c >= 'a' && c <= 'z';
}

static int is_alnum(int c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

/* Names go into a quoted URI of Alternates, Content-Location and an HTML
 * link unchanged: only characters that need no escaping in any of them. */
static int name_ok(const char *s, size_t n)
{
    if (!n || s[0] == '.' || n >= sizeof(((struct nxx_variant *)0)->name))
        return 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (!is_alnum(c) && !strchr("-._~!$()*+,;=:@", c))
            return 0;
    }
    return 1;
}

/* "en", "pt-br", "zh-hant-tw": a two-letter primary tag, then subtags of
 * 2..8 letters or digits (a file extension, not every BCP 47 tag). */
static int lang_ext(const char *s, size_t n)
{
    if (n < 2 || !is_alpha(s[0]) || !is_alpha(s[1]))
        return 0;
    size_t i = 2;
    while (i < n) {
        if (s[i] != '-')
            return 0;
        size_t j = ++i;
        while (j < n && is_alnum(s[j]))
            j++;
        if (j - i < 2 || j - i > 8)
            return 0;
        i = j;
    }
    return 1;
}

/* The media type an extension names, without parameters; len 0 if none. */
static nxx_str ext_type(const char *ext, size_t n)
{
    char name[40];
    if (n + 2 > sizeof(name))
        return (nxx_str){ NULL, 0 };
    name[0] = 'x';
    name[1] = '.';
    memcpy(name + 2, ext, n);
    nxx_str t = nxx_mime_type(name, n + 2);
    if (NXX_STR_IEQ(t, "application/octet-stream") && !(n == 3 && !memcmp(ext, "bin", 3)))
        return (nxx_str){ NULL, 0 };
    const char *semi = memchr(t.ptr, ';', t.len);
    if (semi)
        t.len = (size_t)(semi - t.ptr);
    return t;
}

int nxx_variant_from_name(const char *base, size_t base_len, const char *name,
                          struct nxx_variant *v)
{
    size_t n = strlen(name);
    if (n <= base_len + 1 || memcmp(name, base, base_len) != 0 || name[base_len] != '.' ||
        !name_ok(name, n))
        return -1;
    memset(v, 0, sizeof(*v));
    memcpy(v->name, name, n + 1);
    v->qs = 1000;
    v->type = NXX_STR("application/octet-stream");
    /* "index.html" + ".en": the type comes from the base unless a later extension names one */
    const char *bdot = base_len ? memchr(base, '.', base_len) : NULL;
    while (bdot) {
        const char *next = memchr(bdot + 1, '.', base_len - (size_t)(bdot + 1 - base));
        if (!next)
            break;
        bdot = next;
    }
    nxx_str bt;
    if (bdot && (bt = ext_type(bdot + 1, base_len - (size_t)(bdot + 1 - base))).len)
        v->type = bt;
    const char *p = name + base_len + 1, *end = name + n;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t len = dot ? (size_t)(dot - p) : (size_t)(end - p);
        nxx_str t;
        if (len == 3 && !memcmp(p, "var", 3)) {
            v->negotiable = 1;
        } else if ((len == 2 && (!memcmp(p, "gz", 2) || !memcmp(p, "br", 2))) || len == 0) {
            return -1; /* precompressed siblings are served by Accept-Encoding */
        } else if ((t = ext_type(p, len)).len) {
            v->type = t;
        } else if (lang_ext(p, len) && len < sizeof(v->lang)) {
            for (size_t i = 0; i < len; i++)
                v->lang[i] = (char)lower((unsigned char)p[i]);
            v->lang[len] = '\0';
        } else {
            return -1; /* "index.html.bak": not a variant */
        }
        p += len + (dot ? 1 : 0);
    }
    return 0;
}

/* ---- type maps ---- */

static nxx_str trim(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    return (nxx_str){ s, n };
}

/* Content-Type "type/subtype; qs=0.5; charset=x": the type, and qs. */
static int map_type(struct nxx_variant *v, nxx_str val)
{
    const char *semi = memchr(val.ptr, ';', val.len);
    v->type = trim(val.ptr, semi ? (size_t)(semi - val.ptr) : val.len);
    /* token "/" token: it goes into Alternates and Content-Type as it is */
    size_t slashes = 0;
    for (size_t i = 0; i < v->type.len; i++) {
        int c = (unsigned char)v->type.ptr[i];
        if (c == '/')
            slashes++;
        else if (!is_alnum(c) && !strchr("!#$%&'*+-.^_`|~", c))
            return -1;
    }
    if (slashes != 1 || v->type.ptr[0] == '/' || v->type.ptr[v->type.len - 1] == '/')
        return -1;
    while (semi) {
        const char *p = semi + 1, *end = val.ptr + val.len;
        semi = memchr(p, ';', (size_t)(end - p));
        nxx_str param = trim(p, semi ? (size_t)(semi - p) : (size_t)(end - p));
        if (param.len > 3 && (param.ptr[0] == 'q' || param.ptr[0] == 'Q') &&
            (param.ptr[1] == 's' || param.ptr[1] == 'S') && param.ptr[2] == '=') {
            int q = nxx_field_qvalue((nxx_str){ param.ptr + 3, param.len - 3 });
            if (q < 0)
                return -1;
            v->qs = q;
        }
    }
    return 0;
}

static int map_uri(struct nxx_variant *v, nxx_str val)
{
    if (!name_ok(val.ptr, val.len))
        return -1; /* relative, one segment, nothing to escape */
    memcpy(v->name, val.ptr, val.len);
    v->name[val.len] = '\0';
    v->negotiable = val.len > 4 && !memcmp(val.ptr + val.len - 4, ".var", 4);
    return 0;
}

static int map_lang(struct nxx_variant *v, nxx_str val)
{
    const char *comma = memchr(val.ptr, ',', val.len);
    nxx_str tag = trim(val.ptr, comma ? (size_t)(comma - val.ptr) : val.len);
    if (!tag.len || tag.len >= sizeof(v->lang))
        return -1;
    for (size_t i = 0; i < tag.len; i++) {
        if (!is_alnum((unsigned char)tag.ptr[i]) && tag.ptr[i] != '-')
            return -1;
        v->lang[i] = (char)lower((unsigned char)tag.ptr[i]);
    }
    v->lang[tag.len] = '\0';
    return 0;
}

static int parse_length(nxx_str val, uint64_t *out)
{
    uint64_t n = 0;
    if (!val.len || val.len > 19)
        return -1;
    for (size_t i = 0; i < val.len; i++) {
        if (val.ptr[i] < '0' || val.ptr[i] > '9')
            return -1;
        n = n * 10 + (uint64_t)(val.ptr[i] - '0');
    }
    *out = n;
    return 0;
}

int nxx_typemap_parse(const char *text, size_t len, const char *self, struct nxx_variant *v,
                      size_t max, const char **why)
{
    size_t n = 0;
    struct nxx_variant cur;
    int open = 0;
    const char *p = text, *end = text + len;
    *why = NULL;
    for (;;) {
        const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        const char *le = nl ? nl : end;
        nxx_str line = trim(p, (size_t)(le - p));
        if (!line.len || p >= end) {
            /* a record ends: keep it if it names a variant other than the map's resource */
            if (open && cur.name[0] && strcmp(cur.name, self) != 0) {
                if (n == max) {
                    *why = "too many variants";
                    return -1;
                }
                v[n++] = cur;
            }
            open = 0;
            if (p >= end)
                break;
        } else if (line.ptr[0] != '#') {
            if (!open) {
                memset(&cur, 0, sizeof(cur));
                cur.qs = 1000;
                cur.type = NXX_STR("application/octet-stream");
                open = 1;
            }
            const char *colon = memchr(line.ptr, ':', line.len);
            if (!colon) {
                *why = "a line without 'Name:'";
                return -1;
            }
            nxx_str name = trim(line.ptr, (size_t)(colon - line.ptr));
            nxx_str val = trim(colon + 1, line.len - (size_t)(colon + 1 - line.ptr));
            int bad = 0;
            if (NXX_STR_IEQ(name, "uri"))
                bad = map_uri(&cur, val);
            else if (NXX_STR_IEQ(name, "content-type"))
                bad = map_type(&cur, val);
            else if (NXX_STR_IEQ(name, "content-language"))
                bad = map_lang(&cur, val);
            else if (NXX_STR_IEQ(name, "content-length"))
                bad = parse_length(val, &cur.length);
            if (bad) {
                *why = NXX_STR_IEQ(name, "uri") ? "a URI that is not a file name beside the map"
                                                : "a field value that does not parse";
                return -1;
            }
        }
        if (!nl)
            p = end;
        else
            p = nl + 1;
    }
    return (int)n;
}

/* ---- the choice ---- */

static int quality(const struct nxx_variant *v, nxx_str accept, int has_accept, nxx_str al,
                   int has_al)
{
    char type[128];
    int qt = 1000;
    if (has_accept) {
        if (v->type.len >= sizeof(type))
            return 0;
        memcpy(type, v->type.ptr, v->type.len);
        type[v->type.len] = '\0';
        qt = nxx_accept_q(accept, 1, type);
    }
    int ql = v->lang[0] ? nxx_accept_language_q(al, has_al, v->lang) : 1000;
    return (int)((long)v->qs * qt / 1000 * ql / 1000);
}

/* Rank of a language in the priority list: its index, or nprio if absent. */
static size_t rank(const char *lang, const char *const *prio, size_t nprio)
{
    nxx_str tag = { lang, strlen(lang) };
    for (size_t i = 0; i < nprio; i++) {
        size_t pl = strlen(prio[i]);
        if (pl <= tag.len && nxx_str_ieq_str((nxx_str){ tag.ptr, pl }, (nxx_str){ prio[i], pl }) &&
            (pl == tag.len || tag.ptr[pl] == '-'))
            return i;
    }
    return nprio;
}

static int same_dims(const struct nxx_variant *a, const struct nxx_variant *b)
{
    return nxx_str_ieq_str(a->type, b->type) && strcmp(a->lang, b->lang) == 0;
}

enum nxx_tcn_result nxx_tcn_choose(struct nxx_variant *v, size_t n, nxx_str accept, int has_accept,
                                   nxx_str accept_language, int has_accept_language,
                                   unsigned negotiate, const char *const *priority, size_t nprio,
                                   size_t *choice)
{
    int best = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].q = quality(&v[i], accept, has_accept, accept_language, has_accept_language);
        if (v[i].q > best)
            best = v[i].q;
    }
    if (!best)
        return NXX_TCN_NONE;
    /* among the best: the language the configuration puts first */
    size_t pick = n, pick_rank = (size_t)-1;
    int tie = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].q != best)
            continue;
        size_t r = rank(v[i].lang, priority, nprio);
        if (pick == n || r < pick_rank) {
            pick = i;
            pick_rank = r;
            tie = 0;
        } else if (r == pick_rank && !same_dims(&v[i], &v[pick])) {
            tie = 1;
        }
    }
    *choice = pick;
    int transparent = (negotiate & (NXX_NEG_TRANS | NXX_NEG_VLIST)) != 0;
    int may_choose = (negotiate & (NXX_NEG_RVSA | NXX_NEG_GUESS_SMALL)) != 0;
    if (tie || (transparent && !may_choose))
        return NXX_TCN_LIST;
    return v[pick].negotiable ? NXX_TCN_VARIANTS : NXX_TCN_CHOICE;
}

size_t nxx_tcn_alternates(const struct nxx_variant *v, size_t n, char *buf, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char lang[64] = "", length[40] = "";
        if (v[i].lang[0])
            snprintf(lang, sizeof(lang), " {language %s}", v[i].lang);
        if (v[i].length)
            snprintf(length, sizeof(length), " {length %llu}", (unsigned long long)v[i].length);
        /* the source quality as a short qvalue: 1.0, 0.5, 0.25 */
        char qs[16];
        snprintf(qs, sizeof(qs), "%d.%03d", v[i].qs / 1000, v[i].qs % 1000);
        for (size_t k = strlen(qs); k > 3 && qs[k - 1] == '0'; k--)
            qs[k - 1] = '\0';
        int w = snprintf(buf + len, cap - len, "%s{\"%s\" %s {type %.*s}%s%s}", i ? ", " : "",
                         v[i].name, qs, (int)v[i].type.len, v[i].type.ptr, lang, length);
        if (w < 0 || (size_t)w >= cap - len)
            return 0;
        len += (size_t)w;
    }
    return len;
}

const char *nxx_tcn_vary(const struct nxx_variant *v, size_t n)
{
    int types = 0, langs = 0;
    for (size_t i = 1; i < n; i++) {
        types |= !nxx_str_ieq_str(v[i].type, v[0].type);
        langs |= strcmp(v[i].lang, v[0].lang) != 0;
    }
    if (types && langs)
        return "negotiate, accept, accept-language";
    if (types)
        return "negotiate, accept";
    return langs ? "negotiate, accept-language" : "negotiate";
}
