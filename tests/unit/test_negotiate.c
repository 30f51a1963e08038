/*
 * test_negotiate.c - q-values of Accept-Encoding (RFC 9110 §12.5.3) and
 * Accept (§12.5.1): qvalue syntax, "*", identity, x-gzip, specificity,
 * media-type parameters, malformed elements, absent and empty fields.
 */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "http/negotiate.h"

#define ABSENT ((const char *)0)

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

struct q_case {
    const char *name;
    const char *field; /* ABSENT: no such field in the request */
    const char *what;  /* coding or media type asked about */
    int want;
};

/* clang-format off */
static const struct q_case ae_cases[] = {
    /* absent and empty */
    {"absent: identity preferred", ABSENT, "identity", 1000},
    {"absent: gzip barely", ABSENT, "gzip", 1},
    {"absent: br barely", ABSENT, "br", 1},
    {"empty: identity only", "", "identity", 1000},
    {"empty: no gzip", "", "gzip", 0},
    {"blank: no gzip", "  \t", "gzip", 0},
    {"blank: identity", " ", "identity", 1000},
    {"only commas: no gzip", " , ,", "gzip", 0},
    /* plain lists */
    {"gzip listed", "gzip", "gzip", 1000},
    {"gzip listed, br not", "gzip", "br", 0},
    {"gzip listed, identity still fine but last", "gzip", "identity", 1},
    {"browser list br", "gzip, deflate, br, zstd", "br", 1000},
    {"browser list zstd", "gzip, deflate, br, zstd", "zstd", 1000},
    {"browser list compress", "gzip, deflate, br", "compress", 0},
    {"empty elements", ", ,gzip ,, ", "gzip", 1000},
    /* q-values */
    {"q list br", "br;q=1.0, gzip;q=0.8, *;q=0.1", "br", 1000},
    {"q list gzip", "br;q=1.0, gzip;q=0.8, *;q=0.1", "gzip", 800},
    {"q list star", "br;q=1.0, gzip;q=0.8, *;q=0.1", "deflate", 100},
    {"q list star covers identity", "br;q=1.0, gzip;q=0.8, *;q=0.1", "identity", 100},
    {"q half", "gzip;q=0.5", "gzip", 500},
    {"q zero", "gzip;q=0", "gzip", 0},
    {"q zero point", "gzip;q=0.", "gzip", 0},
    {"q zero three decimals", "gzip;q=0.000", "gzip", 0},
    {"q thousandth", "gzip;q=0.001", "gzip", 1},
    {"q two decimals", "gzip;q=0.25", "gzip", 250},
    {"q three decimals", "gzip;q=0.125", "gzip", 125},
    {"q one", "gzip;q=1", "gzip", 1000},
    {"q one point", "gzip;q=1.", "gzip", 1000},
    {"q one point zeros", "gzip;q=1.000", "gzip", 1000},
    {"q upper-case Q", "gzip;Q=0.5", "gzip", 500},
    {"OWS before semicolon", "gzip ;q=0.5", "gzip", 500},
    {"OWS after semicolon", "gzip; q=0.5", "gzip", 500},
    {"tabs", "gzip\t;\tq=0.5\t,br", "gzip", 500},
    /* malformed elements skipped */
    {"q above one", "gzip;q=1.001", "gzip", 0},
    {"q two", "gzip;q=2", "gzip", 0},
    {"q four decimals", "gzip;q=0.1234", "gzip", 0},
    {"q no leading digit", "gzip;q=.5", "gzip", 0},
    {"q empty", "gzip;q=", "gzip", 0},
    {"q junk after", "gzip;q=0.5x", "gzip", 0},
    {"q negative", "gzip;q=-1", "gzip", 0},
    {"q quoted", "gzip;q=\"0.5\"", "gzip", 0},
    {"space around equals", "gzip;q = 0.5", "gzip", 0},
    {"other parameter", "gzip;level=1", "gzip", 0},
    {"parameter after q", "gzip;q=0.5;x=1", "gzip", 0},
    {"empty parameter", "gzip;", "gzip", 0},
    {"malformed then valid", "gzip;q=abc, br", "br", 1000},
    {"malformed element skipped", "gzip;q=abc, br", "gzip", 0},
    {"quoted coding skipped", "\"gzip\", br", "br", 1000},
    {"missing comma", "gzip br", "gzip", 0},
    {"missing comma identity fine", "gzip br", "identity", 1000},
    {"malformed star is no star", "*;q=x", "gzip", 0},
    {"first star counts", "*;q=0.2, *", "gzip", 200},
    /* identity and star */
    {"identity refused", "identity;q=0", "identity", 0},
    {"identity refused, gzip unnamed", "identity;q=0", "gzip", 0},
    {"identity refused, gzip named", "gzip, identity;q=0", "gzip", 1000},
    {"star refuses identity", "*;q=0", "identity", 0},
    {"star refuses gzip", "*;q=0", "gzip", 0},
    {"star refuses, identity named", "*;q=0, identity", "identity", 1000},
    {"star refuses, identity named later", "identity;q=0.5, *;q=0", "identity", 500},
    {"star refuses, gzip named", "*;q=0, gzip", "gzip", 1000},
    {"star refuses, br unnamed", "*;q=0, gzip", "br", 0},
    {"star refuses, identity unnamed", "*;q=0, gzip", "identity", 0},
    {"star accepts anything", "*", "br", 1000},
    {"star accepts identity", "*", "identity", 1000},
    {"star half for identity", "*;q=0.5", "identity", 500},
    {"exact beats star", "*;q=0.9, gzip;q=0.2", "gzip", 200},
    {"exact beats star, star first", "gzip;q=0.2, *", "gzip", 200},
    {"identity named low", "identity;q=0.1, gzip", "identity", 100},
    /* x-gzip, case */
    {"x-gzip is gzip", "x-gzip", "gzip", 1000},
    {"x-gzip with q", "x-gzip;q=0.3", "gzip", 300},
    {"X-GZIP upper", "X-GZIP;q=0.3", "gzip", 300},
    {"x-gzip asked, gzip listed", "gzip;q=0.4", "x-gzip", 400},
    {"x-compress is compress", "x-compress", "compress", 1000},
    {"x-br is not br", "x-br", "br", 0},
    {"x- alone", "x-", "gzip", 0},
    {"upper-case gzip", "GZIP", "gzip", 1000},
    {"mixed-case br", "Br;q=0.7", "br", 700},
    {"mixed-case identity refused", "IDENTITY;q=0", "identity", 0},
    {"first mention counts", "gzip, gzip;q=0", "gzip", 1000},
    {"first mention counts, zero", "gzip;q=0, gzip", "gzip", 0},
    {"prefix is not a match", "gzipx", "gzip", 0},
    {"gzip is not a prefix match", "gz", "gzip", 0},
};

static const struct q_case accept_cases[] = {
    {"absent", ABSENT, "application/json", 1000},
    {"empty", "", "application/json", 1000},
    {"blank", "  ", "text/html", 1000},
    {"only malformed counts as absent", "garbage", "text/html", 1000},
    {"full wildcard", "*/*", "image/png", 1000},
    {"exact", "text/html", "text/html", 1000},
    {"exact, other type", "text/html", "application/json", 0},
    {"exact, other subtype", "text/html", "text/plain", 0},
    {"type wildcard", "text/*;q=0.5", "text/plain", 500},
    {"type wildcard, other type", "text/*;q=0.5", "image/png", 0},
    {"browser html", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
     "text/html", 1000},
    {"browser json", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
     "application/json", 800},
    {"browser xml", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
     "application/xml", 900},
    /* specificity, in either order */
    {"specific beats type wildcard", "text/*;q=0.3, text/html;q=0.7, */*;q=0.1", "text/html", 700},
    {"type wildcard beats full", "text/*;q=0.3, text/html;q=0.7, */*;q=0.1", "text/plain", 300},
    {"full wildcard last", "text/*;q=0.3, text/html;q=0.7, */*;q=0.1", "image/png", 100},
    {"specific beats, reversed", "*/*;q=0.1, text/html;q=0.7, text/*;q=0.3", "text/html", 700},
    {"type wildcard beats, reversed", "*/*;q=0.1, text/html;q=0.7, text/*;q=0.3", "text/plain",
     300},
    {"wildcard refuses, exact accepts", "*/*;q=0, application/json", "application/json", 1000},
    {"wildcard refuses others", "*/*;q=0, application/json", "text/html", 0},
    {"exact refused", "application/json;q=0, */*", "application/json", 0},
    /* RFC 9110 §12.5.1's example */
    {"rfc flowed", "text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, "
                   "text/plain;format=fixed;q=0.4, */*;q=0.5", "text/plain;format=flowed", 1000},
    {"rfc plain", "text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, "
                  "text/plain;format=fixed;q=0.4, */*;q=0.5", "text/plain", 700},
    {"rfc fixed", "text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, "
                  "text/plain;format=fixed;q=0.4, */*;q=0.5", "text/plain;format=fixed", 400},
    {"rfc html", "text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, "
                 "text/plain;format=fixed;q=0.4, */*;q=0.5", "text/html", 300},
    {"rfc jpeg", "text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, "
                 "text/plain;format=fixed;q=0.4, */*;q=0.5", "image/jpeg", 500},
    /* parameters */
    {"range param, type lacks it", "text/html;level=1", "text/html", 0},
    {"range param, type has it", "text/html;level=1", "text/html;level=1", 1000},
    {"type param, range has none", "text/html;q=0.4", "text/html;level=1", 400},
    {"more params more specific", "text/html;q=0.2, text/html;level=1;q=0.6",
     "text/html;level=1;x=y", 600},
    {"param value differs", "text/html;level=2", "text/html;level=1", 0},
    {"charset case and quotes", "text/plain;charset=\"UTF-8\"", "text/plain;charset=utf-8", 1000},
    {"quoted escape", "text/plain;a=\"x\\\"y\"", "text/plain;a=\"x\\\"y\"", 1000},
    {"quoted-pair unescaped", "text/plain;a=\"\\x\\y\"", "text/plain;a=xy", 1000},
    {"quoted-pair control char", "text/html;q=0.5;a=\"\\\x01\", */*;q=0.1", "text/html", 100},
    {"control char in quotes", "text/html;q=0.5;a=\"\x7f\", */*;q=0.1", "text/html", 100},
    {"param name case", "text/plain;Charset=utf-8;q=0.3", "text/plain;charset=UTF-8", 300},
    {"extension after q ignored", "text/html;q=0.5;foo=bar", "text/html", 500},
    {"second q is an extension", "text/html;q=0.5;q=0.9", "text/html", 500},
    {"wildcard with param", "text/*;charset=utf-8;q=0.2", "text/plain;charset=utf-8", 200},
    {"wildcard with param, type lacks it", "text/*;charset=utf-8;q=0.2", "text/plain", 0},
    {"quoted comma stays inside", "text/html;foo=\"a,b\";q=0.2, application/json", "text/html", 0},
    {"quoted comma, next element", "text/html;foo=\"a,b\";q=0.2, application/json",
     "application/json", 1000},
    {"quoted comma, matching type", "text/html;foo=\"a,b\";q=0.2, application/json",
     "text/html;foo=\"a,b\"", 200},
    {"empty parameter", "text/html;;q=0.5", "text/html", 500},
    {"OWS around semicolon", "text/html ; q=0.5", "text/html", 500},
    {"upper-case Q", "text/html;Q=0.5", "text/html", 500},
    /* case */
    {"type case", "TEXT/HTML", "text/html", 1000},
    {"asked in upper case", "application/json", "Application/JSON", 1000},
    {"wildcard case", "TEXT/*;q=0.5", "text/css", 500},
    /* malformed elements skipped */
    {"bad q skipped", "text/html;q=x, application/json", "text/html", 0},
    {"bad q, next element", "text/html;q=x, application/json", "application/json", 1000},
    {"q above one skipped", "text/html;q=1.5, */*;q=0.1", "text/html", 100},
    {"q four decimals skipped", "text/html;q=0.1234, */*;q=0.1", "text/html", 100},
    {"q junk skipped", "text/html;q=0.5x, */*;q=0.1", "text/html", 100},
    {"q quoted skipped", "text/html;q=\"0.5\", */*;q=0.1", "text/html", 100},
    {"star type with subtype skipped", "*/html, application/json", "text/html", 0},
    {"no subtype skipped", "text/, */*;q=0.2", "text/html", 200},
    {"no slash skipped", "text, */*;q=0.2", "text/html", 200},
    {"parameter without value skipped", "text/html;level, */*;q=0.2", "text/html", 200},
    {"skipped element keeps its quoted comma",
     "text/html;q=x;foo=\"a, text/plain;q=0.3, b\", */*;q=0.1", "text/plain", 100},
    {"unterminated quote skips the rest", "text/html;a=\"x, text/html", "text/html", 1000},
    {"space in type skipped", "text /html, */*;q=0.2", "text/html", 200},
    {"duplicates: first wins", "text/html;q=0.2, text/html;q=0.9", "text/html", 200},
    {"asked type malformed", "*/*", "texthtml", 0},
};
/* clang-format on */

TEST(accept_encoding_table)
{
    size_t n = sizeof(ae_cases) / sizeof(ae_cases[0]);
    CHECK(n >= 60);
    for (size_t i = 0; i < n; i++) {
        const struct q_case *tc = &ae_cases[i];
        nxx_str f = view(tc->field);
        int got = nxx_accept_encoding_q(f, tc->field != ABSENT, tc->what);
        if (got != tc->want)
            test_fail(__FILE__, __LINE__, "%s: q(%s) = %d, want %d", tc->name, tc->what, got,
                      tc->want);
        unview(f);
    }
}

TEST(accept_table)
{
    size_t n = sizeof(accept_cases) / sizeof(accept_cases[0]);
    CHECK(n >= 50);
    for (size_t i = 0; i < n; i++) {
        const struct q_case *tc = &accept_cases[i];
        nxx_str f = view(tc->field);
        int got = nxx_accept_q(f, tc->field != ABSENT, tc->what);
        if (got != tc->want)
            test_fail(__FILE__, __LINE__, "%s: q(%s) = %d, want %d", tc->name, tc->what, got,
                      tc->want);
        unview(f);
    }
}

/* Every qvalue the grammar allows parses to its thousandths; the rest are skipped. */
TEST(every_qvalue)
{
    char field[32];
    for (int q = 0; q <= 1000; q++) {
        int len = q == 1000 ? snprintf(field, sizeof(field), "gzip;q=1.000")
                            : snprintf(field, sizeof(field), "gzip;q=0.%03d", q);
        CHECK_EQ_INT(nxx_accept_encoding_q((nxx_str){ field, (size_t)len }, 1, "gzip"), q);
        /* trailing zeros dropped mean the same */
        if (q % 10 == 0 && q < 1000) {
            len = snprintf(field, sizeof(field), "gzip;q=0.%02d", q / 10);
            CHECK_EQ_INT(nxx_accept_encoding_q((nxx_str){ field, (size_t)len }, 1, "gzip"), q);
        }
    }
    /* a skipped gzip element leaves gzip to the "*" that follows */
    static const char *bad[] = { "1.1", "1.0001", "1.0000", "1.01", "0.0000", "2",    "01", "00.5",
                                 "0;5", "-0",     "+1",     "1e0",  "0x1",    "0.5.", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int len = snprintf(field, sizeof(field), "gzip;q=%s, *;q=0.7", bad[i]);
        int got = nxx_accept_encoding_q((nxx_str){ field, (size_t)len }, 1, "gzip");
        if (got != 700)
            test_fail(__FILE__, __LINE__, "q=%s: %d, want the element skipped", bad[i], got);
    }
}

/* Views are read to their length and no further. */
TEST(negotiate_reads_views_only)
{
    const char *ae = "gzip;q=0.5, br";
    CHECK_EQ_INT(nxx_accept_encoding_q((nxx_str){ ae, 10 }, 1, "gzip"), 500);
    CHECK_EQ_INT(nxx_accept_encoding_q((nxx_str){ ae, 9 }, 1, "gzip"), 0);
    CHECK_EQ_INT(nxx_accept_encoding_q((nxx_str){ ae, 11 }, 1, "br"), 0);
    const char *acc = "text/html;q=0.25";
    CHECK_EQ_INT(nxx_accept_q((nxx_str){ acc, 15 }, 1, "text/html"), 200);
    CHECK_EQ_INT(nxx_accept_q((nxx_str){ acc, 4 }, 1, "text/html"), 1000);
}
