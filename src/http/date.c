/*
 * date.c - HTTP date formatting and parsing.  Formatting avoids strftime
 * (locale-dependent and slow); callers cache the result per second.
 */
#include "http/date.h"

#include <string.h>
#include <time.h>

#include "core/banned.h"

static const char wday[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

static void put4(char *p, int v)
{
    put2(p, v / 100);
    put2(p + 2, v % 100);
}

static void civil(int64_t t, struct tm *tm)
{
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, tm))
        memset(tm, 0, sizeof(*tm));
}

size_t nxx_date_format(int64_t t, char out[NXX_DATE_LEN + 1])
{
    struct tm tm;
    civil(t, &tm);
    memcpy(out, wday[tm.tm_wday % 7], 3);
    out[3] = ',';
    out[4] = ' ';
    put2(out + 5, tm.tm_mday);
    out[7] = ' ';
    memcpy(out + 8, mon[tm.tm_mon % 12], 3);
    out[11] = ' ';
    put4(out + 12, tm.tm_year + 1900);
    out[16] = ' ';
    put2(out + 17, tm.tm_hour);
    out[19] = ':';
    put2(out + 20, tm.tm_min);
    out[22] = ':';
    put2(out + 23, tm.tm_sec);
    memcpy(out + 25, " GMT", 4);
    out[29] = '\0';
    return NXX_DATE_LEN;
}

size_t nxx_date_clf(int64_t t, char out[27])
{
    struct tm tm;
    civil(t, &tm);
    put2(out, tm.tm_mday);
    out[2] = '/';
    memcpy(out + 3, mon[tm.tm_mon % 12], 3);
    out[6] = '/';
    put4(out + 7, tm.tm_year + 1900);
    out[11] = ':';
    put2(out + 12, tm.tm_hour);
    out[14] = ':';
    put2(out + 15, tm.tm_min);
    out[17] = ':';
    put2(out + 18, tm.tm_sec);
    memcpy(out + 20, " +0000", 6);
    out[26] = '\0';
    return 26;
}

size_t nxx_date_iso(int64_t t, char out[21])
{
    struct tm tm;
    civil(t, &tm);
    put4(out, tm.tm_year + 1900);
    out[4] = '-';
    put2(out + 5, tm.tm_mon + 1);
    out[7] = '-';
    put2(out + 8, tm.tm_mday);
    out[10] = 'T';
    put2(out + 11, tm.tm_hour);
    out[13] = ':';
    put2(out + 14, tm.tm_min);
    out[16] = ':';
    put2(out + 17, tm.tm_sec);
    out[19] = 'Z';
    out[20] = '\0';
    return 20;
}

/* ---- parsing ---- */

static int num(const char **p, const char *end, int digits, int *v)
{
    int r = 0;
    for (int i = 0; i < digits; i++) {
        if (*p >= end || **p < '0' || **p > '9')
            return -1;
        r = r * 10 + (**p - '0');
        (*p)++;
    }
    *v = r;
    return 0;
}

static int lit(const char **p, const char *end, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(end - *p) < n || memcmp(*p, s, n) != 0)
        return -1;
    *p += n;
    return 0;
}

static int month(const char **p, const char *end, int *m)
{
    if (end - *p < 3)
        return -1;
    const char *q = *p;
    int i;
    /* the names are case-sensitive (RFC 9110 §5.6.7) */
    switch (q[0]) {
    case 'J': i = q[1] == 'a' ? 0 : q[2] == 'n' ? 5 : 6; break;
    case 'F': i = 1; break;
    case 'M': i = q[2] == 'r' ? 2 : 4; break;
    case 'A': i = q[1] == 'p' ? 3 : 7; break;
    case 'S': i = 8; break;
    case 'O': i = 9; break;
    case 'N': i = 10; break;
    case 'D': i = 11; break;
    default: return -1;
    }
    if (q[1] != mon[i][1] || q[2] != mon[i][2])
        return -1;
    *m = i;
    *p += 3;
    return 0;
}

static int hms(const char **p, const char *end, int *h, int *mi, int *s)
{
    if (num(p, end, 2, h) || lit(p, end, ":") || num(p, end, 2, mi) || lit(p, end, ":") ||
        num(p, end, 2, s))
        return -1;
    return *h > 23 || *mi > 59 || *s > 60 ? -1 : 0;
}

static int64_t days_from_civil(int y, int m, int d) /* m 1..12 */
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int finish(int y, int m, int d, int h, int mi, int s, int64_t *t)
{
    static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (d < 1 || d > mdays[m])
        return -1;
    if (m == 1 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    *t = days_from_civil(y, m + 1, d) * 86400 + h * 3600 + mi * 60 + (s > 59 ? 59 : s);
    return 0;
}

static int two_digits(const char *p, int *v)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return -1;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return 0;
}

/*
 * IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", read at fixed offsets: it
 * is the form clients echo back from Last-Modified, so every conditional
 * request parses one.  The day name is not checked against the date.
 */
static int imf_fixdate(const char *s, size_t len, int64_t *t)
{
    int d, m, c, yy, h, mi, sec;
    if (len != NXX_DATE_LEN || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        s[19] != ':' || s[22] != ':' || memcmp(s + 25, " GMT", 4) != 0)
        return -1;
    const char *p = s + 8;
    if (month(&p, s + len, &m) || two_digits(s + 5, &d) || two_digits(s + 12, &c) ||
        two_digits(s + 14, &yy) || two_digits(s + 17, &h) || two_digits(s + 20, &mi) ||
        two_digits(s + 23, &sec))
        return -1;
    if (h > 23 || mi > 59 || sec > 60)
        return -1;
    return finish(c * 100 + yy, m, d, h, mi, sec, t);
}

int nxx_date_parse(const char *s, size_t len, int64_t *t)
{
    const char *p = s, *end = s + len;
    int y, m, d, h, mi, sec;
    const char *comma = memchr(s, ',', len);
    if (comma && comma - s == 3)
        return imf_fixdate(s, len, t);
    if (comma) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        static const char *const days[7] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
                                             "Thursday", "Friday", "Saturday" };
        int ok = 0;
        for (int i = 0; i < 7; i++)
            if ((size_t)(comma - s) == strlen(days[i]) && memcmp(s, days[i], strlen(days[i])) == 0)
                ok = 1;
        if (!ok)
            return -1;
        p = comma + 1;
        int yy;
        if (lit(&p, end, " ") || num(&p, end, 2, &d) || lit(&p, end, "-") || month(&p, end, &m) ||
            lit(&p, end, "-") || num(&p, end, 2, &yy) || lit(&p, end, " ") ||
            hms(&p, end, &h, &mi, &sec) || lit(&p, end, " GMT") || p != end)
            return -1;
        /* RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past */
        y = yy < 70 ? 2000 + yy : 1900 + yy;
        return finish(y, m, d, h, mi, sec, t);
    }
    /* asctime: Sun Nov  6 08:49:37 1994 */
    int wd_ok = 0;
    for (int i = 0; i < 7; i++)
        if (len >= 3 && memcmp(s, wday[i], 3) == 0)
            wd_ok = 1;
    if (!wd_ok)
        return -1;
    p = s + 3;
    if (lit(&p, end, " ") || month(&p, end, &m) || lit(&p, end, " "))
        return -1;
    if (p < end && *p == ' ') {
        p++;
        if (num(&p, end, 1, &d))
            return -1;
    } else if (num(&p, end, 2, &d)) {
        return -1;
    }
    if (lit(&p, end, " ") || hms(&p, end, &h, &mi, &sec) || lit(&p, end, " ") ||
        num(&p, end, 4, &y) || p != end)
        return -1;
    return finish(y, m, d, h, mi, sec, t);
}
