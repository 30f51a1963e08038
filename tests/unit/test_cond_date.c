/*
 * test_cond_date.c - the date in a precondition field.  IMF-fixdate, the
 * form every revalidating client sends, is read at fixed offsets; here it is
 * checked against a slow reference written from RFC 9110 §5.6.7 (shape by a
 * template, names by lookup, calendar by rule), with the value checked by
 * formatting it back, on valid dates and on every one-byte change of them.
 */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "http/cond.h"
#include "http/date.h"

static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int num2(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* 1 when s[0..n) is an IMF-fixdate the parser must accept. */
static int reference_ok(const char *s, size_t n)
{
    static const char tmpl[] = "xxx, 00 xxx 0000 00:00:00 GMT";
    if (n != sizeof(tmpl) - 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (tmpl[i] == '0') {
            if (s[i] < '0' || s[i] > '9')
                return 0;
        } else if (tmpl[i] == 'x') {
            if (i < 3 && s[i] == ',')
                return 0; /* the first comma decides the format */
        } else if (s[i] != tmpl[i]) {
            return 0;
        }
    }
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(s + 8, months[i], 3) == 0)
            m = i;
    int d = num2(s + 5), y = num2(s + 12) * 100 + num2(s + 14);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m >= 0 && d >= 1 && d <= mdays[m] + (m == 1 && leap) && num2(s + 17) <= 23 &&
           num2(s + 20) <= 59 && num2(s + 23) <= 60;
}

/*
 * The parser on an exact-size copy of s[0..n), padded with whitespace as a
 * field may be: it accepts exactly what the reference accepts, and what it
 * accepts formats back to the same date (second 60 read as 59).
 */
static int agree(const char *s, size_t n)
{
    char *p = malloc(n + 2);
    if (!p)
        return 0;
    p[0] = ' ';
    memcpy(p + 1, s, n);
    p[n + 1] = '\t';
    int64_t t = -12345, t2 = -12345;
    int r = nxx_cond_date((nxx_str){ p + 1, n }, &t);
    int r2 = nxx_cond_date((nxx_str){ p, n + 2 }, &t2);
    free(p);
    /* the reference judges the trimmed value, unless it has the shape of
     * one of the two obsolete formats (a later comma, or none) */
    size_t lo = 0, hi = n;
    while (lo < hi && (s[lo] == ' ' || s[lo] == '\t'))
        lo++;
    while (hi > lo && (s[hi - 1] == ' ' || s[hi - 1] == '\t'))
        hi--;
    const char *comma = memchr(s + lo, ',', hi - lo);
    if (!comma || comma - (s + lo) > 3)
        return r2 == r && (r != 0 || t2 == t);
    s += lo;
    n = hi - lo;
    int want = reference_ok(s, n);
    int ok = (r == 0) == want && r2 == r && (r != 0 || t2 == t);
    if (ok && r == 0) {
        char back[NXX_DATE_LEN + 1];
        nxx_date_format(t, back);
        char expect[NXX_DATE_LEN + 1];
        memcpy(expect, s, NXX_DATE_LEN);
        if (memcmp(expect + 23, "60", 2) == 0)
            memcpy(expect + 23, "59", 2);
        ok = memcmp(back + 5, expect + 5, NXX_DATE_LEN - 5) == 0;
    }
    if (!ok)
        fprintf(stderr, "'%.*s': parser %d/%lld, reference %d\n", (int)n, s, r, (long long)t, want);
    return ok;
}

TEST(formatted_dates_parse_back)
{
    /* every day of 1969..2101 at a varying time, and the clock's edges */
    for (int64_t t = -86400LL * 400; t < 86400LL * 48000; t += 86400 + 3607) {
        char d[NXX_DATE_LEN + 1];
        nxx_date_format(t, d);
        int64_t got = 0;
        CHECK_EQ_INT(nxx_cond_date((nxx_str){ d, NXX_DATE_LEN }, &got), 0);
        CHECK(got == t);
        CHECK(agree(d, NXX_DATE_LEN));
    }
}

TEST(accepts_exactly_what_the_reference_accepts)
{
    static const char *const cases[] = {
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "Sun, 06 Nov 1994 08:49:60 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 23:60:00 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 29 Feb 1996 08:49:37 GMT",
        "Sun, 29 Feb 1900 08:49:37 GMT",
        "Sun, 29 Feb 2000 08:49:37 GMT",
        "Sun, 29 Feb 2001 08:49:37 GMT",
        "Sun, 30 Feb 2000 08:49:37 GMT",
        "Sun, 31 Dec 9999 23:59:59 GMT",
        "Sun, 01 Jan 0000 00:00:00 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT ",
        " Sun, 06 Nov 1994 08:49:37 GMT",
        "\tSun, 06 Nov 1994 08:49:37 GMT\t",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08-49-37 GMT",
        "Sun, 0x Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 19x4 08:49:37 GMT",
        "Sun, 06 Nov -994 08:49:37 GMT",
        "Sun, 06 Nov 1994 +8:49:37 GMT",
        ",un, 06 Nov 1994 08:49:37 GMT",
        "S,n, 06 Nov 1994 08:49:37 GMT",
        "Su,, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "Sun, 06 Nov 1994 08:49:37",
        "",
        " ",
        "Sun, 06 Nov 1994 08:49:37 GMTX",
        "Sun, 06 Nov 1994 08:49:37 GM",
        "Sun, 06 Xyz 1994 08:49:37 GMT",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK(agree(cases[i], strlen(cases[i])));
}

TEST(every_byte_at_every_offset)
{
    /* valid dates with one byte replaced by every other byte */
    static const char *const bases[] = { "Tue, 29 Feb 2028 23:59:60 GMT",
                                         "Sun, 06 Nov 1994 08:49:37 GMT",
                                         "Fri, 31 Dec 9999 23:59:59 GMT" };
    char d[NXX_DATE_LEN + 1];
    for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
        for (size_t i = 0; i < NXX_DATE_LEN; i++) {
            for (int k = 1; k < 256; k++) {
                memcpy(d, bases[b], NXX_DATE_LEN + 1);
                d[i] = (char)k;
                CHECK(agree(d, NXX_DATE_LEN));
            }
        }
    }
}
