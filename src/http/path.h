/*
 * path.h - request-path normalisation (percent-decoding and dot-segment
 * removal), the dotfile test, and percent-encoding for Location fields.
 *
 * Every handler that maps a path onto something (a file, a store key, a
 * WebDAV resource) works on the normalised path, so the checks that keep a
 * request inside its root are made once, here, and nowhere else.
 */
#ifndef NXX_HTTP_PATH_H
#define NXX_HTTP_PATH_H

#include <stddef.h>

/*
 * Decode and normalise in[0..len), the raw path part of an origin-form
 * request-target (it starts with '/' and holds no query).
 *
 * out: at least len + 1 bytes; the result is never longer than the input.
 * out may be the same buffer as in (decoding in place is safe: no byte is
 * written before it has been read); otherwise the two must not overlap.
 * On success out[0..*out_len) is the path, NUL-terminated, and 0 is returned.
 *
 * What the result looks like:
 *  - percent-encoded octets are decoded; bytes >= 0x80 are kept (UTF-8 names);
 *  - "." and ".." segments are removed after decoding (RFC 3986 §5.2.4), so
 *    "%2e%2e" and ".%2E" count as ".."; "/a/.." -> "/", "/a/." -> "/a/";
 *  - runs of '/' collapse to one; a trailing '/' is kept.
 *
 * On error returns 400 with *detail a static string (detail may be NULL),
 * and out and *out_len are unspecified:
 *  - the input is empty or does not start with '/';
 *  - '%' not followed by two hex digits;
 *  - a NUL byte, literal or encoded ("%00"): it would cut the name short
 *    at the system call;
 *  - an encoded '/' ("%2f"): a segment that is a '/' after decoding would
 *    escape the dot-segment rules above;
 *  - a backslash, literal or "%5c": Windows separators never reach the
 *    file system;
 *  - a ".." that would climb above the root ("/../a", "/a/../../b").
 */
int nxx_path_normalize(const char *in, size_t len, char *out, size_t *out_len, const char **detail);

/*
 * nxx_path_normalize, telling besides whether the path was plain: *plain is
 * 1 when the input was already in normal form (nothing to decode, no dot
 * segment, no "//") and no segment of it begins with '.', so the result
 * equals the input and nxx_path_has_dot_segment() of it is 0; else 0.
 * Most request paths are plain and take a single scan and a copy.
 */
int nxx_path_normalize_ex(const char *in, size_t len, char *out, size_t *out_len,
                          const char **detail, int *plain);

/*
 * 1 if a segment of path[0..len) begins with '.' (".git/", ".htaccess",
 * ".well-known/"), else 0.  Meant for normalised paths; the file handler
 * hides such names.  A segment starts at offset 0 or after a '/'.
 */
int nxx_path_has_dot_segment(const char *path, size_t len);

/*
 * Percent-encode in[0..len) (a decoded path) for use in a URI, e.g. a
 * Location field: bytes other than unreserved, sub-delims, ':', '@' and '/'
 * (RFC 3986 §3.3 pchar plus the separator) become "%XX" with upper-case hex.
 * Writes at most cap bytes of the result to out (no NUL) and returns the
 * full length of the result; if that is more than cap the output was cut
 * short and must not be used (call again with a buffer of that size).
 * out may be NULL when cap is 0.
 */
size_t nxx_url_escape_path(const char *in, size_t len, char *out, size_t cap);

#endif
