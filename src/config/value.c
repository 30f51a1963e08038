/*
 * value.c - values of the key table's scalar types, shared by the command
 * line and the file so both accept exactly the same text: numbers with
 * ranges and K/M/G suffixes, seconds with fractions, enumerations, status
 * codes, and the syntax checks of addresses, host names and field names.
 * Each parser says why a value is refused in words that follow the quoted
 * value ("'abc' is not a number"), the command line's historic wording.
 */
#include "config/keys.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event/sock.h"
#include "core/banned.h"

static const char *parse_number(const struct nxx_cfg_key *k, const char *v, unsigned long long *out,
                                char *buf, size_t len)
{
    if (!*v || *v == '-' || *v == '+' || *v == ' ')
        return "is not a non-negative number";
    errno = 0;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v)
        return "is not a number";
    unsigned long long mul = 1;
    if (k->type == K_SIZE && *end) {
        switch (*end) {
        case 'k':
        case 'K': mul = 1ull << 10; break;
        case 'm':
        case 'M': mul = 1ull << 20; break;
        case 'g':
        case 'G': mul = 1ull << 30; break;
        default: return "is not a size (digits with an optional K, M or G)";
        }
        end++;
    }
    if (*end)
        return "is not a number";
    if (n > ULLONG_MAX / mul)
        return "is too large";
    n *= mul;
    if (n < k->min || n > k->max) {
        snprintf(buf, len, "is out of range (%llu to %llu)", k->min, k->max);
        return buf;
    }
    *out = n;
    return NULL;
}

static const char *parse_status(const struct nxx_cfg_key *k, const char *v, unsigned long long *out,
                                char *buf, size_t len)
{
    int n = 0, digits = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || ++digits > 3)
            return "is not a status code (three digits)";
        n = n * 10 + (*p - '0');
    }
    if (digits != 3)
        return "is not a status code (three digits)";
    if (k->choices) {
        for (size_t i = 0; k->choices[i]; i++)
            if (strcmp(k->choices[i], v) == 0) {
                *out = (unsigned long long)n;
                return NULL;
            }
        return "is not one of the accepted status codes";
    }
    if ((unsigned long long)n < k->min || (unsigned long long)n > k->max) {
        snprintf(buf, len, "is out of range (%llu to %llu)", k->min, k->max);
        return buf;
    }
    if (!nxx_status_reason(n))
        return "is not a registered status code (see nxx explain --all)";
    if (n >= 300 && n < 400 && k->min < 300 && k->max >= 400)
        return "is a redirection (use a redirect location)";
    *out = (unsigned long long)n;
    return NULL;
}

const char *nxx_cfg_parse_scalar(const struct nxx_cfg_key *k, const char *v,
                                 struct nxx_cfg_val *out, char *buf, size_t len)
{
    switch (k->type) {
    case K_SIZE:
    case K_COUNT: return parse_number(k, v, &out->n, buf, len);
    case K_SECONDS: {
        errno = 0;
        char *end = NULL;
        double s = strtod(v, &end);
        if (errno || end == v || *end || !(s >= 0) || isinf(s) || *v == ' ' || *v == '+')
            return "is not a number of seconds";
        double ms = s * 1000.0;
        if (ms < (double)k->min || ms > (double)k->max)
            return "is out of range";
        out->n = (unsigned long long)(ms + 0.5);
        return NULL;
    }
    case K_STRING: {
        if (!*v)
            return "must not be empty";
        const char *why = k->check ? k->check(v) : NULL;
        if (why)
            return why;
        out->s = v;
        return NULL;
    }
    case K_FLAG:
        if (strcmp(v, "true") == 0)
            out->n = 1;
        else if (strcmp(v, "false") == 0)
            out->n = 0;
        else
            return "is not true or false";
        return NULL;
    case K_ENUM:
        for (size_t i = 0; k->choices[i]; i++)
            if (strcmp(k->choices[i], v) == 0) {
                out->n = i;
                return NULL;
            }
        return "is not one of the accepted values";
    case K_STATUS: return parse_status(k, v, &out->n, buf, len);
    default: return "is not a single value";
    }
}

/* "a, b or c" */
static void join_or(const char *const *v, char *buf, size_t len)
{
    size_t n = 0, used = 0;
    while (v[n])
        n++;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s",
                         i == 0       ? ""
                         : i + 1 == n ? " or "
                                      : ", ",
                         v[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static void fmt_ms(unsigned long long ms, char *buf, size_t len)
{
    if (ms % 1000 == 0)
        snprintf(buf, len, "%llu", ms / 1000);
    else
        snprintf(buf, len, "%g", (double)ms / 1000.0);
}

void nxx_cfg_expect(const struct nxx_cfg_key *k, char *buf, size_t len)
{
    char a[32], b[32], list[256];
    switch (k->type) {
    case K_STRING:
        if (k->arg && strchr(k->arg, '|'))
            snprintf(buf, len, "%s", k->arg);
        else if (k->flags & NXX_CFG_PATH)
            snprintf(buf, len, "a file name");
        else if (k->arg)
            snprintf(buf, len, "a string (%s)", k->arg);
        else
            snprintf(buf, len, "a string");
        break;
    case K_FLAG: snprintf(buf, len, "true or false"); break;
    case K_SIZE:
        snprintf(buf, len, "a size in bytes from %llu to %llu (K, M and G suffixes allowed)",
                 k->min, k->max);
        break;
    case K_COUNT: snprintf(buf, len, "a whole number from %llu to %llu", k->min, k->max); break;
    case K_SECONDS:
        fmt_ms(k->min, a, sizeof(a));
        fmt_ms(k->max, b, sizeof(b));
        snprintf(buf, len, "a number of seconds from %s to %s", a, b);
        break;
    case K_ENUM:
    case K_STATUS:
        if (k->choices) {
            join_or(k->choices, list, sizeof(list));
            snprintf(buf, len, "%s", list);
        } else {
            snprintf(buf, len, "a status code from %llu to %llu", k->min, k->max);
        }
        break;
    case K_LIST: snprintf(buf, len, "a list of strings"); break;
    case K_MAP: snprintf(buf, len, "a map of names to strings"); break;
    case K_BLOCK:
    case K_BLOCKS: {
        size_t used = 0;
        if (k->type == K_BLOCKS && k->shorthand)
            used = (size_t)snprintf(buf, len, "an %s, a list of them, or maps with the keys ",
                                    k->shorthand);
        else
            used = (size_t)snprintf(buf, len, "a map with the keys ");
        for (size_t i = 0; i < k->nsub && used < len; i++)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", k->sub[i].name);
        if (k->type == K_BLOCK && k->shorthand && used < len)
            snprintf(buf + used, len - used, ", or a single value for %s", k->shorthand);
        break;
    }
    case K_NAMED:
        snprintf(buf, len, "%s",
                 k->child == NXX_CFG_HOST ? "a map of host names to hosts"
                                          : "a map of paths to locations");
        break;
    }
}

const char *nxx_cfg_type_name(const struct nxx_cfg_key *k)
{
    switch (k->type) {
    case K_STRING: return k->flags & NXX_CFG_PATH ? "path" : "string";
    case K_FLAG: return "flag";
    case K_SIZE: return "size";
    case K_COUNT: return "count";
    case K_SECONDS: return "seconds";
    case K_ENUM: return "enum";
    case K_STATUS: return "status";
    case K_LIST: return "list";
    case K_MAP: return "map";
    case K_BLOCK: return "map";
    case K_BLOCKS: return "list";
    case K_NAMED: return "map";
    }
    return "?";
}

const char *nxx_cfg_default_text(const struct nxx_cfg_key *k)
{
    if (k->def_doc)
        return k->def_doc;
    return k->def ? k->def : "none";
}

size_t nxx_cfg_distance(const char *a, size_t alen, const char *b, size_t blen, size_t limit)
{
    if (alen > 64 || blen > 64)
        return limit + 1;
    size_t row[65];
    for (size_t j = 0; j <= blen; j++)
        row[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        size_t diag = row[0], best = i;
        row[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t up = row[j];
            size_t sub = diag + (a[i - 1] != b[j - 1]);
            size_t del = up + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            diag = up;
            if (row[j] < best)
                best = row[j];
        }
        if (best > limit)
            return limit + 1;
    }
    return row[blen] > limit ? limit + 1 : row[blen];
}

/* ---- syntax checks ---- */

const char *nxx_cfg_check_address(const char *text)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (nxx_sock_parse_addr(text, &ss, &len) != 0)
        return "is not an address (ADDR:PORT, [IPv6]:PORT or :PORT)";
    return NULL;
}

const char *nxx_cfg_check_host(const char *text)
{
    size_t n = strlen(text);
    if (n > 255)
        return "is too long for a host name (255 bytes at most)";
    if (text[0] == '[') {
        if (text[n - 1] != ']' || n < 4)
            return "is not a host name (an IPv6 address goes in brackets: [::1])";
        for (size_t i = 1; i + 1 < n; i++)
            if (!strchr("0123456789abcdefABCDEF:.", text[i]))
                return "is not a host name (an IPv6 address goes in brackets: [::1])";
        return NULL;
    }
    if (strchr(text, ':'))
        return "is not a host name (no port: hosts are matched on every listener)";
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' ||
                 (c == '*' && i == 0 && n > 2 && text[1] == '.');
        if (!ok)
            return "is not a host name (example.org, *.example.org, 127.0.0.1 or [::1])";
    }
    if (text[0] == '.' || strstr(text, ".."))
        return "is not a host name (an empty label)";
    return NULL;
}

const char *nxx_cfg_check_abs_path(const char *text)
{
    if (text[0] != '/')
        return "is not a path (it must start with '/')";
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return "has a space or a control character";
    return NULL;
}

const char *nxx_cfg_check_token(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *p))
            return "is not a token (letters, digits and !#$%&'*+-.^_`|~)";
    return NULL;
}

const char *nxx_cfg_check_field_name(const char *text)
{
    const char *why = nxx_cfg_check_token(text);
    if (why)
        return "is not a field name (letters, digits and !#$%&'*+-.^_`|~)";
    /* the engine writes these itself, from what it knows of the message */
    static const char *const managed[] = { "content-length", "transfer-encoding",
                                           "connection",     "date",
                                           "server",         NULL };
    for (size_t i = 0; managed[i]; i++)
        if (strcasecmp(text, managed[i]) == 0)
            return "is a field the server manages itself";
    return NULL;
}

const char *nxx_cfg_check_text(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return "has a control character";
    return NULL;
}
