/*
 * path.c - turns the raw path of a request-target into the one canonical form
 * that routing and handlers see, in a single pass and without allocation.
 *
 * Decoding and dot-segment removal happen together, segment by segment: a
 * segment is decoded into the output, then looked at in its decoded form.
 * Checking "." and ".." only after decoding is what makes "%2e%2e" as
 * harmless as "..": the classic traversal bugs come from removing dot
 * segments first and decoding afterwards, or from decoding twice.  For the
 * same reason nothing here decodes a second time, and a decoded '/' or '\'
 * is refused rather than kept, because it could only turn into a separator
 * further down.
 */
#include "http/path.h"

#include <string.h>

#include "core/banned.h"

static int hex_value(unsigned char c)
{
    if ((unsigned)(c - '0') < 10)
        return c - '0';
    c |= 0x20; /* ASCII letters: fold to lower case */
    if ((unsigned)(c - 'a') < 6)
        return c - 'a' + 10;
    return -1;
}

/* Bytes that end a segment or need a look before they are copied. */
static const unsigned char special[256] = { ['\0'] = 1, ['%'] = 1, ['/'] = 1, ['\\'] = 1 };

static int fail(const char **detail, const char *why)
{
    if (detail)
        *detail = why;
    return 400;
}

int nxx_path_normalize_ex(const char *in, size_t len, char *out, size_t *out_len,
                          const char **detail, int *plain)
{
    *plain = 0;
    if (len == 0 || in[0] != '/')
        return nxx_path_normalize(in, len, out, out_len, detail);
    /*
     * Plain: no '%', '\\' or NUL, and no '/' followed by '.' or '/'.  Then no
     * segment needs decoding or removing, and none begins with '.', so the
     * normal form is the input itself.  Anything else takes the full pass.
     */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (!special[c])
            continue;
        if (c != '/' || (i + 1 < len && (in[i + 1] == '.' || in[i + 1] == '/')))
            return nxx_path_normalize(in, len, out, out_len, detail);
    }
    if (out != in)
        memcpy(out, in, len);
    out[len] = '\0';
    *out_len = len;
    *plain = 1;
    return 0;
}

int nxx_path_normalize(const char *in, size_t len, char *out, size_t *out_len, const char **detail)
{
    if (len == 0 || in[0] != '/')
        return fail(detail, "path does not start with '/'");

    /*
     * Invariant at the top of each segment: out[0..o) is "/" or "/s1/.../sn/",
     * so the segment being decoded always follows a '/'.  o <= i throughout,
     * which is what makes decoding in place safe.
     */
    size_t o = 1;
    size_t i = 1;
    out[0] = '/';
    for (;;) {
        size_t seg = o;
        while (i < len) {
            unsigned char c = (unsigned char)in[i];
            if (!special[c]) { /* the common case: one table load per byte */
                out[o++] = (char)c;
                i++;
                continue;
            }
            if (c == '/')
                break;
            size_t step = 1;
            if (c == '%') {
                if (len - i < 3)
                    return fail(detail, "bad percent-encoding in the path");
                int hi = hex_value((unsigned char)in[i + 1]);
                int lo = hex_value((unsigned char)in[i + 2]);
                if (hi < 0 || lo < 0)
                    return fail(detail, "bad percent-encoding in the path");
                c = (unsigned char)(hi << 4 | lo);
                if (c == '/')
                    return fail(detail, "encoded slash in the path");
                step = 3;
            }
            if (c == '\\')
                return fail(detail, "backslash in the path");
            if (c == '\0')
                return fail(detail, "NUL byte in the path");
            out[o++] = (char)c;
            i += step;
        }

        size_t n = o - seg;
        if (n == 1 && out[seg] == '.') {
            o = seg; /* "." names the directory we are in */
        } else if (n == 2 && out[seg] == '.' && out[seg + 1] == '.') {
            /* RFC 3986 §5.2.4 would clamp at the root; a client that tries to
             * go above it is probing for traversal, so it gets a 400. */
            if (seg == 1)
                return fail(detail, "path climbs above the root");
            o = seg - 1;
            while (out[o - 1] != '/')
                o--;
        } else if (n > 0 && i < len) {
            out[o++] = '/';
        }
        /* n == 0: an empty segment, i.e. "//", collapses */

        if (i >= len)
            break;
        i++; /* the '/' that ended the segment */
    }
    out[o] = '\0';
    *out_len = o;
    return 0;
}

int nxx_path_has_dot_segment(const char *path, size_t len)
{
    const char *p = path;
    const char *end = path + len;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        if (!dot)
            return 0;
        if (dot == path || dot[-1] == '/')
            return 1;
        p = dot + 1;
    }
    return 0;
}

/* RFC 3986 §3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@" */
static int keep_in_path(unsigned char c)
{
    if ((unsigned)((c | 0x20) - 'a') < 26 || (unsigned)(c - '0') < 10)
        return 1;
    /* unreserved marks "-._~", sub-delims "!$&'()*+,;=", then ':', '@' and the separator */
    return c != 0 && strchr("-._~!$&'()*+,;=:@/", c) != NULL;
}

size_t nxx_url_escape_path(const char *in, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (keep_in_path(c)) {
            if (n < cap)
                out[n] = (char)c;
            n++;
            continue;
        }
        /* RFC 3986 §2.1: upper-case hex digits are the normal form */
        const char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
        for (int k = 0; k < 3; k++, n++)
            if (n < cap)
                out[n] = esc[k];
    }
    return n;
}
