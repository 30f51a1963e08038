/*
 * test_cond.c - conditional requests: every precedence case of RFC 9110
 * §13.2.2, entity-tag list syntax and comparison, the three date formats,
 * and If-Range.
 */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "http/cond.h"
#include "http/date.h"

/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date */
#define LM 784111777

/* the same instant in the three formats, one second before it, one after */
#define D_EQ "Sun, 06 Nov 1994 08:49:37 GMT"
#define D_EQ_850 "Sunday, 06-Nov-94 08:49:37 GMT"
#define D_EQ_ASC "Sun Nov  6 08:49:37 1994"
#define D_BEFORE "Sun, 06 Nov 1994 08:49:36 GMT"
#define D_BEFORE_850 "Sunday, 06-Nov-94 08:49:36 GMT"
#define D_BEFORE_ASC "Sun Nov  6 08:49:36 1994"
#define D_AFTER "Sun, 06 Nov 1994 08:49:38 GMT"
#define D_AFTER_850 "Sunday, 06-Nov-94 08:49:38 GMT"
#define D_AFTER_ASC "Sun Nov  6 08:49:38 1994"
#define D_BAD "yesterday"
#define D_BAD_ZONE "Sun, 06 Nov 1994 08:49:37 UTC"
#define D_BAD_DAY "Sun, 36 Nov 1994 08:49:37 GMT"

enum rep {
    STRONG, /* ETag "v1", Last-Modified LM */
    WEAK,   /* ETag W/"v1", Last-Modified LM */
    NOTAG,  /* no ETag, Last-Modified LM */
    NODATE, /* ETag "v1", no Last-Modified */
    NOREP,  /* no current representation */
};

static struct nxx_validators validators(enum rep r)
{
    struct nxx_validators v = { NXX_STR("\"v1\""), LM, 1 };
    if (r == WEAK)
        v.etag = NXX_STR("W/\"v1\"");
    if (r == NOTAG)
        v.etag = (nxx_str){ NULL, 0 };
    if (r == NODATE)
        v.last_modified = -1;
    if (r == NOREP)
        v = (struct nxx_validators){ { NULL, 0 }, -1, 0 };
    return v;
}

/* An exact-size heap copy, so a sanitizer build catches any read past the view. */
static nxx_str view(const char *s)
{
    if (!s)
        return (nxx_str){ NULL, 0 };
    size_t n = strlen(s);
    char *p = malloc(n ? n : 1);
    memcpy(p, s, n);
    return (nxx_str){ p, n };
}

static void unview(nxx_str s)
{
    free((void *)(uintptr_t)s.ptr);
}

enum { PUT = 0, GET = 1 };

struct cond_case {
    const char *name;
    const char *im, *ius, *inm, *ims; /* NULL: field absent */
    int get;
    enum rep rep;
    int want;
};

#define _ NULL

/* clang-format off */
static const struct cond_case cond_cases[] = {
    /* nothing to evaluate */
    {"no fields GET", _, _, _, _, GET, STRONG, 0},
    {"no fields PUT", _, _, _, _, PUT, STRONG, 0},
    {"no fields, no representation", _, _, _, _, PUT, NOREP, 0},

    /* step 1: If-Match, strong comparison */
    {"IM match PUT", "\"v1\"", _, _, _, PUT, STRONG, 0},
    {"IM match GET", "\"v1\"", _, _, _, GET, STRONG, 0},
    {"IM no match PUT", "\"v2\"", _, _, _, PUT, STRONG, 412},
    {"IM no match GET", "\"v2\"", _, _, _, GET, STRONG, 412},
    {"IM list with spaces, match", "\"a\" ,  \"v1\"\t, \"b\"", _, _, _, PUT, STRONG, 0},
    {"IM list, no match", "\"a\", \"b\"", _, _, _, PUT, STRONG, 412},
    {"IM list with empty elements", ", ,\"v1\",,", _, _, _, PUT, STRONG, 0},
    {"IM weak tag never matches strongly", "W/\"v1\"", _, _, _, PUT, STRONG, 412},
    {"IM strong tag vs weak representation", "\"v1\"", _, _, _, PUT, WEAK, 412},
    {"IM weak vs weak is still not strong", "W/\"v1\"", _, _, _, PUT, WEAK, 412},
    {"IM star with representation", "*", _, _, _, PUT, STRONG, 0},
    {"IM star with spaces", "  * ", _, _, _, PUT, STRONG, 0},
    {"IM star without representation PUT", "*", _, _, _, PUT, NOREP, 412},
    {"IM star without representation GET", "*", _, _, _, GET, NOREP, 412},
    {"IM tag without representation", "\"v1\"", _, _, _, PUT, NOREP, 412},
    {"IM tag, representation has no tag", "\"v1\"", _, _, _, PUT, NOTAG, 412},
    {"IM star, representation has no tag", "*", _, _, _, PUT, NOTAG, 0},
    {"IM malformed unquoted", "v1", _, _, _, PUT, STRONG, 412},
    {"IM malformed unterminated", "\"v1", _, _, _, PUT, STRONG, 412},
    {"IM malformed missing comma", "\"v1\" \"v2\"", _, _, _, PUT, STRONG, 412},
    {"IM malformed lower-case w/", "w/\"v1\"", _, _, _, PUT, STRONG, 412},
    {"IM malformed star in a list", "\"v1\", *", _, _, _, PUT, STRONG, 412},
    {"IM malformed after a match", "\"v1\", junk", _, _, _, PUT, STRONG, 412},
    {"IM malformed space inside tag", "\"v 1\"", _, _, _, PUT, STRONG, 412},
    {"IM empty list", ",", _, _, _, PUT, STRONG, 412},

    /* step 2: If-Unmodified-Since, only without If-Match */
    {"IUS equal IMF PUT", _, D_EQ, _, _, PUT, STRONG, 0},
    {"IUS equal RFC 850 PUT", _, D_EQ_850, _, _, PUT, STRONG, 0},
    {"IUS equal asctime PUT", _, D_EQ_ASC, _, _, PUT, STRONG, 0},
    {"IUS later IMF", _, D_AFTER, _, _, PUT, STRONG, 0},
    {"IUS later RFC 850", _, D_AFTER_850, _, _, PUT, STRONG, 0},
    {"IUS later asctime", _, D_AFTER_ASC, _, _, PUT, STRONG, 0},
    {"IUS earlier IMF PUT", _, D_BEFORE, _, _, PUT, STRONG, 412},
    {"IUS earlier RFC 850 PUT", _, D_BEFORE_850, _, _, PUT, STRONG, 412},
    {"IUS earlier asctime PUT", _, D_BEFORE_ASC, _, _, PUT, STRONG, 412},
    {"IUS earlier GET", _, D_BEFORE, _, _, GET, STRONG, 412},
    {"IUS invalid ignored", _, D_BAD, _, _, PUT, STRONG, 0},
    {"IUS wrong zone ignored", _, D_BAD_ZONE, _, _, PUT, STRONG, 0},
    {"IUS impossible day ignored", _, D_BAD_DAY, _, _, PUT, STRONG, 0},
    {"IUS two dates ignored", _, D_BEFORE ", " D_BEFORE, _, _, PUT, STRONG, 0},
    {"IUS without Last-Modified ignored", _, D_BEFORE, _, _, PUT, NODATE, 0},
    {"IUS without representation ignored", _, D_BEFORE, _, _, PUT, NOREP, 0},
    {"IM true, IUS false: IUS ignored", "\"v1\"", D_BEFORE, _, _, PUT, STRONG, 0},
    {"IM star, IUS false: IUS ignored", "*", D_BEFORE, _, _, PUT, STRONG, 0},
    {"IM false, IUS true", "\"v2\"", D_AFTER, _, _, PUT, STRONG, 412},
    {"IM malformed, IUS true", "junk", D_AFTER, _, _, PUT, STRONG, 412},

    /* step 3: If-None-Match, weak comparison */
    {"INM match GET", _, _, "\"v1\"", _, GET, STRONG, 304},
    {"INM match PUT", _, _, "\"v1\"", _, PUT, STRONG, 412},
    {"INM no match GET", _, _, "\"v2\"", _, GET, STRONG, 0},
    {"INM no match PUT", _, _, "\"v2\"", _, PUT, STRONG, 0},
    {"INM weak tag vs strong representation GET", _, _, "W/\"v1\"", _, GET, STRONG, 304},
    {"INM strong tag vs weak representation GET", _, _, "\"v1\"", _, GET, WEAK, 304},
    {"INM weak vs weak GET", _, _, "W/\"v1\"", _, GET, WEAK, 304},
    {"INM weak match PUT", _, _, "W/\"v1\"", _, PUT, WEAK, 412},
    {"INM weak tag other value", _, _, "W/\"v2\"", _, GET, WEAK, 0},
    {"INM list with spaces, match", _, _, "\"a\",\t\"b\" , W/\"v1\"", _, GET, STRONG, 304},
    {"INM list with empty elements", _, _, " ,,\"v1\" ,", _, GET, STRONG, 304},
    {"INM list, no match", _, _, "\"a\", \"b\"", _, GET, STRONG, 0},
    {"INM star with representation GET", _, _, "*", _, GET, STRONG, 304},
    {"INM star with representation PUT", _, _, "*", _, PUT, STRONG, 412},
    {"INM star without representation GET", _, _, "*", _, GET, NOREP, 0},
    {"INM star without representation PUT", _, _, "*", _, PUT, NOREP, 0},
    {"INM tag without representation", _, _, "\"v1\"", _, GET, NOREP, 0},
    {"INM tag, representation has no tag", _, _, "\"v1\"", _, GET, NOTAG, 0},
    {"INM star, representation has no tag", _, _, "*", _, GET, NOTAG, 304},
    {"INM malformed GET", _, _, "v1", _, GET, STRONG, 0},
    {"INM malformed PUT", _, _, "\"v1\" x", _, PUT, STRONG, 0},
    {"INM malformed match then junk", _, _, "\"v1\", W/", _, GET, STRONG, 0},
    {"INM malformed lower-case w/", _, _, "w/\"v1\"", _, GET, STRONG, 0},

    /* step 4: If-Modified-Since, GET/HEAD only, only without If-None-Match */
    {"IMS equal IMF GET", _, _, _, D_EQ, GET, STRONG, 304},
    {"IMS equal RFC 850 GET", _, _, _, D_EQ_850, GET, STRONG, 304},
    {"IMS equal asctime GET", _, _, _, D_EQ_ASC, GET, STRONG, 304},
    {"IMS later IMF GET", _, _, _, D_AFTER, GET, STRONG, 304},
    {"IMS later RFC 850 GET", _, _, _, D_AFTER_850, GET, STRONG, 304},
    {"IMS later asctime GET", _, _, _, D_AFTER_ASC, GET, STRONG, 304},
    {"IMS earlier IMF GET", _, _, _, D_BEFORE, GET, STRONG, 0},
    {"IMS earlier RFC 850 GET", _, _, _, D_BEFORE_850, GET, STRONG, 0},
    {"IMS earlier asctime GET", _, _, _, D_BEFORE_ASC, GET, STRONG, 0},
    {"IMS on PUT ignored", _, _, _, D_EQ, PUT, STRONG, 0},
    {"IMS invalid ignored", _, _, _, D_BAD, GET, STRONG, 0},
    {"IMS wrong zone ignored", _, _, _, D_BAD_ZONE, GET, STRONG, 0},
    {"IMS impossible day ignored", _, _, _, D_BAD_DAY, GET, STRONG, 0},
    {"IMS without Last-Modified ignored", _, _, _, D_EQ, GET, NODATE, 0},
    {"IMS without representation ignored", _, _, _, D_EQ, GET, NOREP, 0},
    {"IMS with weak ETag representation", _, _, _, D_EQ, GET, WEAK, 304},
    {"INM false, IMS true: IMS ignored", _, _, "\"v2\"", D_EQ, GET, STRONG, 0},
    {"INM malformed, IMS true: IMS ignored", _, _, "v1", D_EQ, GET, STRONG, 0},
    {"INM star no rep, IMS true: IMS ignored", _, _, "*", D_EQ, GET, NOREP, 0},
    {"INM true, IMS false", _, _, "\"v1\"", D_BEFORE, GET, STRONG, 304},

    /* steps 1-2 decide before steps 3-4 */
    {"IM true, INM true GET", "\"v1\"", _, "\"v1\"", _, GET, STRONG, 304},
    {"IM true, INM true PUT", "\"v1\"", _, "\"v1\"", _, PUT, STRONG, 412},
    {"IM true, INM false PUT", "\"v1\"", _, "\"v2\"", _, PUT, STRONG, 0},
    {"IM false, INM true GET", "\"v2\"", _, "\"v1\"", _, GET, STRONG, 412},
    {"IM false, INM false GET", "\"v2\"", _, "\"v2\"", _, GET, STRONG, 412},
    {"IM false, IMS true GET", "\"v2\"", _, _, D_EQ, GET, STRONG, 412},
    {"IM true, IMS true GET", "\"v1\"", _, _, D_EQ, GET, STRONG, 304},
    {"IM true, IMS false GET", "\"v1\"", _, _, D_BEFORE, GET, STRONG, 0},
    {"IUS false, INM true GET", _, D_BEFORE, "\"v1\"", _, GET, STRONG, 412},
    {"IUS false, IMS true GET", _, D_BEFORE, _, D_EQ, GET, STRONG, 412},
    {"IUS true, IMS true GET", _, D_EQ, _, D_EQ, GET, STRONG, 304},
    {"IUS true, INM true PUT", _, D_AFTER, "*", _, PUT, STRONG, 412},
    {"IUS invalid, INM true GET", _, D_BAD, "\"v1\"", _, GET, STRONG, 304},
    {"all four, IM false", "\"v2\"", D_EQ, "\"v1\"", D_EQ, GET, STRONG, 412},
    {"all four, IM true IUS ignored INM true", "\"v1\"", D_BEFORE, "\"v1\"", D_EQ, GET, STRONG,
     304},
    {"all four, INM false wins over IMS", "\"v1\"", D_BEFORE, "\"v2\"", D_EQ, GET, STRONG, 0},
    {"all four PUT, INM true", "*", D_BEFORE, "W/\"v1\"", D_EQ, PUT, STRONG, 412},
    {"IM star, INM star, GET", "*", _, "*", _, GET, STRONG, 304},
    {"IM star, INM star, no rep PUT", "*", _, "*", _, PUT, NOREP, 412},
    {"INM star no rep PUT creates", _, D_BEFORE, "*", _, PUT, NOREP, 0},
};
/* clang-format on */

#undef _

TEST(evaluate_table)
{
    size_t n = sizeof(cond_cases) / sizeof(cond_cases[0]);
    CHECK(n >= 100);
    for (size_t i = 0; i < n; i++) {
        const struct cond_case *tc = &cond_cases[i];
        struct nxx_conditions c = {
            view(tc->im), view(tc->inm), view(tc->ims), view(tc->ius), { NULL, 0 }
        };
        struct nxx_validators v = validators(tc->rep);
        int got = nxx_cond_evaluate(&c, &v, tc->get);
        if (got != tc->want)
            test_fail(__FILE__, __LINE__, "%s: got %d, want %d", tc->name, got, tc->want);
        unview(c.if_match);
        unview(c.if_none_match);
        unview(c.if_modified_since);
        unview(c.if_unmodified_since);
    }
}

/* The dates the table relies on really are the instants it names. */
TEST(table_dates_are_what_they_say)
{
    int64_t t = 0;
    CHECK(nxx_date_parse(D_EQ, strlen(D_EQ), &t) == 0 && t == LM);
    CHECK(nxx_date_parse(D_EQ_850, strlen(D_EQ_850), &t) == 0 && t == LM);
    CHECK(nxx_date_parse(D_EQ_ASC, strlen(D_EQ_ASC), &t) == 0 && t == LM);
    CHECK(nxx_date_parse(D_BEFORE_850, strlen(D_BEFORE_850), &t) == 0 && t == LM - 1);
    CHECK(nxx_date_parse(D_AFTER_ASC, strlen(D_AFTER_ASC), &t) == 0 && t == LM + 1);
    CHECK(nxx_date_parse(D_BAD_ZONE, strlen(D_BAD_ZONE), &t) == -1);
}

/* A field left over as whitespace only is treated as absent. */
TEST(evaluate_blank_fields_are_absent)
{
    struct nxx_conditions c = {
        NXX_STR(" "), NXX_STR("\t"), NXX_STR(" "), NXX_STR(" "), { NULL, 0 }
    };
    struct nxx_validators v = validators(STRONG);
    CHECK_EQ_INT(nxx_cond_evaluate(&c, &v, 1), 0);
    CHECK_EQ_INT(nxx_cond_evaluate(&c, &v, 0), 0);
}

/* Views are read to their length and no further. */
TEST(evaluate_reads_views_only)
{
    const char *inm = "\"v1\"\"junk";
    const char *ims = D_EQ "junk";
    struct nxx_conditions c = { { NULL, 0 }, { inm, 4 }, { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
    struct nxx_validators v = validators(STRONG);
    CHECK_EQ_INT(nxx_cond_evaluate(&c, &v, 1), 304);
    c.if_none_match = (nxx_str){ NULL, 0 };
    c.if_modified_since = (nxx_str){ ims, strlen(D_EQ) };
    CHECK_EQ_INT(nxx_cond_evaluate(&c, &v, 1), 304);
    /* the representation's tag is a view too */
    const char *own = "\"v1\"trailing";
    v.etag = (nxx_str){ own, 4 };
    c.if_modified_since = (nxx_str){ NULL, 0 };
    c.if_match = NXX_STR("\"v1\"");
    CHECK_EQ_INT(nxx_cond_evaluate(&c, &v, 0), 0);
}

/* ---- nxx_etag_list_match -------------------------------------------------- */

struct list_case {
    const char *name;
    const char *list;
    const char *etag;
    int strong_want;
    int weak_want;
};

/* clang-format off */
static const struct list_case list_cases[] = {
    {"same strong", "\"abc\"", "\"abc\"", 1, 1},
    {"different strong", "\"abc\"", "\"abd\"", 0, 0},
    {"W/ on the list side", "W/\"abc\"", "\"abc\"", 0, 1},
    {"W/ on the representation side", "\"abc\"", "W/\"abc\"", 0, 1},
    {"both weak", "W/\"abc\"", "W/\"abc\"", 0, 1},
    {"both weak, different", "W/\"abc\"", "W/\"abd\"", 0, 0},
    {"comparison is case-sensitive", "\"ABC\"", "\"abc\"", 0, 0},
    {"empty opaque tag", "\"\"", "\"\"", 1, 1},
    {"empty tag vs other", "\"\"", "\"a\"", 0, 0},
    {"star", "*", "\"abc\"", 1, 1},
    {"star without representation tag", "*", "", 1, 1},
    {"star with OWS", "\t* ", "\"abc\"", 1, 1},
    {"list first", "\"abc\", \"x\"", "\"abc\"", 1, 1},
    {"list last", "\"x\",\"y\",\"abc\"", "\"abc\"", 1, 1},
    {"list weak middle", "\"x\", W/\"abc\", \"y\"", "\"abc\"", 0, 1},
    {"list none", "\"x\", \"y\"", "\"abc\"", 0, 0},
    {"list with tabs and empties", "\t,\"x\" ,\t, \"abc\"\t,", "\"abc\"", 1, 1},
    {"only commas", " , ,", "\"abc\"", 0, 0},
    {"obs-text in tag", "\"caf\xc3\xa9\"", "\"caf\xc3\xa9\"", 1, 1},
    {"punctuation in tag", "\"!#$%&'()*+-./:;<=>?@[]^_`{|}~\"",
     "\"!#$%&'()*+-./:;<=>?@[]^_`{|}~\"", 1, 1},
    {"comma inside a tag is data", "\"a,b\"", "\"a,b\"", 1, 1},
    {"no representation tag", "\"abc\"", "", 0, 0},
    {"malformed representation tag matches nothing", "\"abc\"", "abc", 0, 0},
    {"unquoted", "abc", "\"abc\"", -1, -1},
    {"unterminated", "\"abc", "\"abc\"", -1, -1},
    {"lone quote", "\"", "\"abc\"", -1, -1},
    {"lower-case weak prefix", "w/\"abc\"", "\"abc\"", -1, -1},
    {"W without slash", "W\"abc\"", "\"abc\"", -1, -1},
    {"W/ alone", "W/", "\"abc\"", -1, -1},
    {"space inside", "\"a bc\"", "\"a bc\"", -1, -1},
    {"DEL inside", "\"a\x7f\"", "\"abc\"", -1, -1},
    {"control inside", "\"a\x01\"", "\"abc\"", -1, -1},
    {"two tags without comma", "\"abc\" \"x\"", "\"abc\"", -1, -1},
    {"two tags glued", "\"abc\"\"x\"", "\"abc\"", -1, -1},
    {"junk after a match", "\"abc\", x", "\"abc\"", -1, -1},
    {"star in a list", "*, \"abc\"", "\"abc\"", -1, -1},
    {"two stars", "*, *", "\"abc\"", -1, -1},
    {"semicolon separator", "\"x\"; \"abc\"", "\"abc\"", -1, -1},
};
/* clang-format on */

TEST(etag_list_table)
{
    for (size_t i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
        const struct list_case *tc = &list_cases[i];
        nxx_str list = view(tc->list), etag = view(tc->etag);
        int s = nxx_etag_list_match(list, etag, 1);
        int w = nxx_etag_list_match(list, etag, 0);
        if (s != tc->strong_want)
            test_fail(__FILE__, __LINE__, "%s: strong %d, want %d", tc->name, s, tc->strong_want);
        if (w != tc->weak_want)
            test_fail(__FILE__, __LINE__, "%s: weak %d, want %d", tc->name, w, tc->weak_want);
        unview(list);
        unview(etag);
    }
}

TEST(etag_list_empty)
{
    CHECK_EQ_INT(nxx_etag_list_match((nxx_str){ NULL, 0 }, NXX_STR("\"a\""), 1), 0);
    CHECK_EQ_INT(nxx_etag_list_match(NXX_STR("\"a\""), (nxx_str){ NULL, 0 }, 0), 0);
}

/* A long list is walked to its end, with the match far in. */
TEST(etag_list_long)
{
    static char buf[64 * 1024];
    size_t n = 0;
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"t%d\"", i ? ", " : "", i);
    CHECK(n < sizeof(buf) - 1);
    nxx_str list = { buf, n };
    CHECK_EQ_INT(nxx_etag_list_match(list, NXX_STR("\"t4999\""), 1), 1);
    CHECK_EQ_INT(nxx_etag_list_match(list, NXX_STR("\"t5000\""), 1), 0);
    buf[n] = 'x';
    list.len = n + 1;
    CHECK_EQ_INT(nxx_etag_list_match(list, NXX_STR("\"t0\""), 1), -1);
}

/* ---- If-Range -------------------------------------------------------------- */

struct if_range_case {
    const char *name;
    const char *value; /* NULL: absent */
    enum rep rep;
    int want;
};

/* clang-format off */
static const struct if_range_case if_range_cases[] = {
    {"absent", NULL, STRONG, 1},
    {"empty", "", STRONG, 1},
    {"strong tag equal", "\"v1\"", STRONG, 1},
    {"strong tag with OWS", "  \"v1\"\t", STRONG, 1},
    {"strong tag different", "\"v2\"", STRONG, 0},
    {"weak tag never", "W/\"v1\"", STRONG, 0},
    {"strong tag vs weak representation", "\"v1\"", WEAK, 0},
    {"weak vs weak", "W/\"v1\"", WEAK, 0},
    {"tag, representation has none", "\"v1\"", NOTAG, 0},
    {"tag, no representation", "\"v1\"", NOREP, 0},
    {"date equal IMF", D_EQ, STRONG, 1},
    {"date equal RFC 850", D_EQ_850, STRONG, 1},
    {"date equal asctime", D_EQ_ASC, STRONG, 1},
    {"date equal, weak ETag irrelevant", D_EQ, WEAK, 1},
    {"date equal with OWS", " " D_EQ " ", STRONG, 1},
    {"date earlier", D_BEFORE, STRONG, 0},
    {"date later", D_AFTER, STRONG, 0},
    {"date later RFC 850", D_AFTER_850, STRONG, 0},
    {"date, no Last-Modified", D_EQ, NODATE, 0},
    {"date, no representation", D_EQ, NOREP, 0},
    {"garbage", "yesterday", STRONG, 0},
    {"date in wrong zone", D_BAD_ZONE, STRONG, 0},
    {"tag list", "\"v1\", \"v2\"", STRONG, 0},
    {"tag with junk", "\"v1\"x", STRONG, 0},
    {"unterminated tag", "\"v1", STRONG, 0},
    {"star", "*", STRONG, 0},
    {"lower-case weak", "w/\"v1\"", STRONG, 0},
    {"W/ then date", "W/" D_EQ, STRONG, 0},
};
/* clang-format on */

TEST(if_range_table)
{
    for (size_t i = 0; i < sizeof(if_range_cases) / sizeof(if_range_cases[0]); i++) {
        const struct if_range_case *tc = &if_range_cases[i];
        nxx_str value = view(tc->value);
        struct nxx_validators v = validators(tc->rep);
        int got = nxx_if_range_ok(value, &v);
        if (got != tc->want)
            test_fail(__FILE__, __LINE__, "%s: got %d, want %d", tc->name, got, tc->want);
        unview(value);
    }
}

/* A Last-Modified the caller cannot vouch for as strong is passed as -1. */
TEST(if_range_date_needs_a_date)
{
    struct nxx_validators v = validators(STRONG);
    CHECK_EQ_INT(nxx_if_range_ok(NXX_STR(D_EQ), &v), 1);
    v.last_modified = -1;
    CHECK_EQ_INT(nxx_if_range_ok(NXX_STR(D_EQ), &v), 0);
    CHECK_EQ_INT(nxx_if_range_ok(NXX_STR("\"v1\""), &v), 1);
}

/* exists = 0 wins over validators a caller left filled in. */
TEST(no_representation_ignores_stale_validators)
{
    struct nxx_validators v = validators(STRONG);
    v.exists = 0;
    CHECK_EQ_INT(nxx_if_range_ok(NXX_STR("\"v1\""), &v), 0);
    CHECK_EQ_INT(nxx_if_range_ok(NXX_STR(D_EQ), &v), 0);
    struct nxx_conditions c = {
        { NULL, 0 }, NXX_STR("\"v1\""), { NULL, 0 }, { NULL, 0 }, { NULL, 0 }
    };
    CHECK_EQ_INT(nxx_cond_evaluate(&c, &v, 1), 0);
    c.if_none_match = (nxx_str){ NULL, 0 };
    c.if_unmodified_since = NXX_STR(D_BEFORE);
    CHECK_EQ_INT(nxx_cond_evaluate(&c, &v, 0), 0);
    c.if_unmodified_since = (nxx_str){ NULL, 0 };
    c.if_modified_since = NXX_STR(D_EQ);
    CHECK_EQ_INT(nxx_cond_evaluate(&c, &v, 1), 0);
    c.if_match = NXX_STR("\"v1\"");
    CHECK_EQ_INT(nxx_cond_evaluate(&c, &v, 1), 412);
}
