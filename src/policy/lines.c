/*
 * lines.c - the one reader of the policies' line files (contract in
 * lines.h).  They are read once when a configuration loads, so a whole
 * file in memory is simplest; the bound keeps a wrong path (a log, a
 * device) from eating memory.
 */
#include "policy/lines.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/banned.h"

/* "cannot VERB 'PATH': WHY" */
static void why(char *err, size_t errlen, const char *verb, const char *path, int e)
{
    if (err)
        snprintf(err, errlen, "cannot %s '%s': %s", verb, path, strerror(e));
}

char *nxx_lines_slurp(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        why(err, errlen, "open", path, errno);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = nxx_malloc(cap);
    while (buf) {
        if (len + 1 == cap) {
            if (cap >= NXX_LINES_MAX) {
                if (err)
                    snprintf(err, errlen, "'%s' is larger than %u bytes", path, NXX_LINES_MAX);
                break;
            }
            char *nb = nxx_realloc(buf, cap * 2);
            if (!nb) {
                why(err, errlen, "read", path, ENOMEM);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - 1 - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                why(err, errlen, "read", path, errno ? errno : EIO);
                break;
            }
            buf[len] = '\0';
            fclose(f);
            return buf;
        }
    }
    if (!buf)
        why(err, errlen, "read", path, ENOMEM);
    nxx_free(buf);
    fclose(f);
    return NULL;
}

int nxx_lines_read(const char *path, char *err, size_t errlen,
                   int (*fn)(void *ctx, char *line, size_t lineno), void *ctx)
{
    char *text = nxx_lines_slurp(path, err, errlen);
    if (!text)
        return -1;
    size_t lineno = 0;
    int r = 0;
    for (char *line = text, *next; line && *line && !r; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        r = fn(ctx, line, lineno);
    }
    nxx_free(text);
    return r ? -1 : 0;
}
