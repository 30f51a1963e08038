/*
 * lines.h - the line files the policies load (htpasswd, token, group,
 * API key and quota state files): read whole, bounded, and handed over a
 * line at a time.
 */
#ifndef NXX_POLICY_LINES_H
#define NXX_POLICY_LINES_H

#include <stddef.h>

#define NXX_LINES_MAX (16u << 20) /* the largest file read */

/*
 * The whole file at path, NUL-terminated (nxx_free it), or NULL with the
 * reason in err ("cannot open 'PATH': ...", or larger than NXX_LINES_MAX).
 * err may be NULL.
 */
char *nxx_lines_slurp(const char *path, char *err, size_t errlen);

/*
 * Call fn for each line of the file at path, without its "\n" or "\r\n"
 * (the line may be changed in place), with its number from 1.  fn returns
 * 0 to go on, or -1 to stop (having written its reason).  Returns 0, or -1
 * when the file cannot be read (err says why; err may be NULL) or fn
 * stopped.
 */
int nxx_lines_read(const char *path, char *err, size_t errlen,
                   int (*fn)(void *ctx, char *line, size_t lineno), void *ctx);

#endif
