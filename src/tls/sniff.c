/*
 * sniff.c - telling a TLS ClientHello from a plain HTTP request by its
 * first bytes, so that a TLS port answers a plain request with a 400 a
 * person can read (not a TLS alert), and a plain port closes on a hello
 * instead of answering it in plain text.
 *
 * A TLS record starts with its content type (22, handshake), then the
 * record version 3.x (RFC 8446 §5.1: 0x0301 or 0x0303 in a ClientHello),
 * then a two-byte length of at most 2^14 + 2048.  An HTTP/1 request line
 * starts with a method, a token of tchars (RFC 9110 §5.6.2), and a space.
 */
#include "tls/sniff.h"

#include "core/banned.h"

#define METHOD_MAX 32 /* a longer first token is not a method anybody sends */

static int tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return 1;
    switch (ch) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~': return 1;
    default: return 0;
    }
}

static enum nxx_sniff sniff_tls(const unsigned char *p, size_t n)
{
    if (n < 2)
        return NXX_SNIFF_MORE;
    if (p[1] != 3)
        return NXX_SNIFF_OTHER;
    if (n < 3)
        return NXX_SNIFF_MORE;
    if (p[2] > 4)
        return NXX_SNIFF_OTHER;
    if (n < 5)
        return NXX_SNIFF_MORE;
    unsigned len = (unsigned)p[3] << 8 | p[4];
    return len > 0 && len <= (1u << 14) + 2048 ? NXX_SNIFF_TLS : NXX_SNIFF_OTHER;
}

enum nxx_sniff nxx_sniff(const unsigned char *p, size_t n)
{
    if (n == 0)
        return NXX_SNIFF_MORE;
    if (p[0] == 22)
        return sniff_tls(p, n);
    /* a method, then a space */
    for (size_t i = 0; i < n && i <= METHOD_MAX; i++) {
        if (p[i] == ' ')
            return i > 0 ? NXX_SNIFF_HTTP : NXX_SNIFF_OTHER;
        if (!tchar(p[i]))
            return NXX_SNIFF_OTHER;
    }
    return n > METHOD_MAX ? NXX_SNIFF_OTHER : NXX_SNIFF_MORE;
}
