/*
 * mime.c - maps file extensions to Content-Type values for the file handler
 * (and anything else that serves files, such as WebDAV GET).
 *
 * The lookup runs on every file response, so both tables are sorted arrays
 * searched by binary search on the lower-cased extension, copied into a small
 * stack buffer: no allocation, no locking.  The loaded table is searched
 * first so a mime.types file overrides the built-in one; it is written only
 * at start-up, before worker threads exist, and is read-only afterwards.
 *
 * Types are chosen from the IANA media-type registry where it has an entry
 * (font/woff2 RFC 8081, application/gzip RFC 6713, application/zstd RFC 8878,
 * application/yaml RFC 9512, video/matroska RFC 9559, text/javascript
 * RFC 9239) and from common practice otherwise.
 */
#include "handlers/mime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/str.h"
#include "core/banned.h"

#define MIME_EXT_MAX 31 /* longest extension kept; longer ones are never looked up */
#define MIME_TYPE_MAX 127
#define UTF8 "; charset=utf-8"

struct mime_entry {
    const char *ext; /* lower case */
    const char *type;
    size_t ext_len;
    size_t type_len;
    size_t seq; /* loaded entries: order of appearance, so the last mention wins */
};

/* clang-format off */
#define M(e, t) {(e), (t), sizeof(e) - 1, sizeof(t) - 1, 0}
/* clang-format on */

/* Sorted by extension in byte order (memcmp, then length); test_mime checks every entry. */
static const struct mime_entry builtin[] = {
    M("7z", "application/x-7z-compressed"),
    M("aac", "audio/aac"),
    M("apk", "application/vnd.android.package-archive"),
    M("appcache", "text/cache-manifest" UTF8),
    M("atom", "application/atom+xml" UTF8),
    M("avi", "video/x-msvideo"),
    M("avif", "image/avif"),
    M("bin", "application/octet-stream"),
    M("bmp", "image/bmp"),
    M("bz2", "application/x-bzip2"),
    M("css", "text/css" UTF8),
    M("csv", "text/csv" UTF8),
    M("deb", "application/vnd.debian.binary-package"),
    M("dmg", "application/x-apple-diskimage"),
    M("doc", "application/msword"),
    M("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    M("eot", "application/vnd.ms-fontobject"),
    M("eps", "application/postscript"),
    M("epub", "application/epub+zip"),
    M("exe", "application/vnd.microsoft.portable-executable"),
    M("flac", "audio/flac"),
    M("geojson", "application/geo+json"),
    M("gif", "image/gif"),
    M("glb", "model/gltf-binary"),
    M("gltf", "model/gltf+json"),
    M("gz", "application/gzip"),
    M("htm", "text/html" UTF8),
    M("html", "text/html" UTF8),
    M("ico", "image/vnd.microsoft.icon"),
    M("ics", "text/calendar" UTF8),
    M("iso", "application/x-iso9660-image"),
    M("jar", "application/java-archive"),
    M("jpeg", "image/jpeg"),
    M("jpg", "image/jpeg"),
    M("js", "text/javascript" UTF8),
    M("json", "application/json"),
    M("jsonld", "application/ld+json"),
    M("m4a", "audio/mp4"),
    M("m4v", "video/mp4"),
    M("manifest", "text/cache-manifest" UTF8),
    M("map", "application/json"), /* source maps are JSON */
    M("md", "text/markdown" UTF8),
    M("mjs", "text/javascript" UTF8),
    M("mkv", "video/matroska"),
    M("mov", "video/quicktime"),
    M("mp3", "audio/mpeg"),
    M("mp4", "video/mp4"),
    M("mpeg", "video/mpeg"),
    M("mpg", "video/mpeg"),
    M("msi", "application/x-msi"),
    M("odp", "application/vnd.oasis.opendocument.presentation"),
    M("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    M("odt", "application/vnd.oasis.opendocument.text"),
    M("oga", "audio/ogg"),
    M("ogg", "audio/ogg"),
    M("ogv", "video/ogg"),
    M("opus", "audio/ogg"), /* .opus files are Ogg-encapsulated (RFC 7845 §9) */
    M("otf", "font/otf"),
    M("pdf", "application/pdf"),
    M("png", "image/png"),
    M("ppt", "application/vnd.ms-powerpoint"),
    M("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    M("ps", "application/postscript"),
    M("rar", "application/vnd.rar"),
    M("rpm", "application/x-rpm"),
    M("rss", "application/rss+xml" UTF8),
    M("rtf", "application/rtf"),
    M("svg", "image/svg+xml" UTF8),
    /* the file handler must add Content-Encoding: gzip for .svgz */
    M("svgz", "image/svg+xml" UTF8),
    M("tar", "application/x-tar"),
    M("tgz", "application/gzip"),
    M("tif", "image/tiff"),
    M("tiff", "image/tiff"),
    M("toml", "application/toml"),
    M("ttf", "font/ttf"),
    M("txt", "text/plain" UTF8),
    M("vcf", "text/vcard" UTF8),
    M("wasm", "application/wasm"),
    M("wat", "text/plain" UTF8), /* WebAssembly text format: no registered type */
    M("wav", "audio/wav"),
    M("webm", "video/webm"),
    M("webmanifest", "application/manifest+json"),
    M("webp", "image/webp"),
    M("woff", "font/woff"),
    M("woff2", "font/woff2"),
    M("xhtml", "application/xhtml+xml" UTF8),
    M("xls", "application/vnd.ms-excel"),
    M("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    M("xml", "application/xml" UTF8), /* RFC 7303 §4.1 prefers it to text/xml */
    M("xz", "application/x-xz"),
    M("yaml", "application/yaml"),
    M("yml", "application/yaml"),
    M("zip", "application/zip"),
    M("zst", "application/zstd"),
};

static const nxx_str octet_stream = NXX_STR("application/octet-stream");

/* Loaded entries, sorted like builtin[], and the blocks their strings live in. */
static struct mime_entry *loaded;
static size_t loaded_n, loaded_cap;
static char **blocks;
static size_t blocks_n, blocks_cap;
static size_t next_seq;

static int ext_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static const struct mime_entry *table_find(const struct mime_entry *t, size_t n, const char *ext,
                                           size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ext_cmp(t[mid].ext, t[mid].ext_len, ext, len);
        if (c == 0)
            return &t[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

nxx_str nxx_mime_type(const char *path, size_t len)
{
    /* Find the final extension of the last segment.  A dot that starts the
     * name (".htaccess") marks a hidden file, not an extension.  No need to
     * look further back than the longest extension. */
    size_t stop = len > MIME_EXT_MAX + 1 ? len - MIME_EXT_MAX - 1 : 0;
    size_t i = len;
    while (i > stop && path[i - 1] != '.' && path[i - 1] != '/')
        i--;
    if (i < 2 || path[i - 1] != '.' || path[i - 2] == '/')
        return octet_stream;
    size_t ext_len = len - i;
    if (ext_len == 0 || ext_len > MIME_EXT_MAX)
        return octet_stream;

    char ext[MIME_EXT_MAX];
    for (size_t k = 0; k < ext_len; k++)
        ext[k] = nxx_lower(path[i + k]);

    const struct mime_entry *e = NULL;
    if (loaded_n)
        e = table_find(loaded, loaded_n, ext, ext_len);
    if (!e)
        e = table_find(builtin, sizeof(builtin) / sizeof(builtin[0]), ext, ext_len);
    if (!e)
        return octet_stream;
    return (nxx_str){ e->type, e->type_len };
}

/* ---- loading a mime.types file ----------------------------------------- */

/* RFC 9110 §5.6.2 tchar */
static int is_tchar(unsigned char c)
{
    if ((unsigned)((c | 0x20) - 'a') < 26 || (unsigned)(c - '0') < 10)
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* The value goes into a header field, so only "token/token" is accepted. */
static int valid_type(const char *t, size_t n)
{
    if (n == 0 || n > MIME_TYPE_MAX)
        return 0;
    const char *slash = memchr(t, '/', n);
    if (!slash || slash == t || slash == t + n - 1)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (t + k != slash && !is_tchar((unsigned char)t[k]))
            return 0;
    return 1;
}

/* Same rule as the built-in table: text, XML and javascript get a charset. */
static int is_textual(const char *t, size_t n)
{
    const char *slash = memchr(t, '/', n);
    nxx_str top = nxx_str_make(t, (size_t)(slash - t));
    nxx_str sub = nxx_str_make(slash + 1, n - top.len - 1);
    if (NXX_STR_IEQ(top, "text"))
        return 1;
    if (NXX_STR_IEQ(sub, "xml") || NXX_STR_IEQ(sub, "javascript") || NXX_STR_IEQ(sub, "ecmascript"))
        return 1;
    return sub.len > 4 && NXX_STR_IEQ(nxx_str_make(sub.ptr + sub.len - 4, 4), "+xml");
}

static int valid_ext(const char *e, size_t n)
{
    if (n == 0 || n > MIME_EXT_MAX)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (e[k] == '.' || !is_tchar((unsigned char)e[k]))
            return 0;
    return 1;
}

/* The array arr with room for need elements (arr itself if it has), or NULL. */
static void *grow(void *arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return arr;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *p = nxx_realloc(arr, n * size);
    if (p)
        *cap = n;
    return p;
}

/* Parse one line (comments already cut) into a block of its own. */
static int load_line(const char *line, size_t len)
{
    size_t p = 0;
    while (p < len && is_space(line[p]))
        p++;
    size_t t0 = p;
    while (p < len && !is_space(line[p]))
        p++;
    size_t tlen = p - t0;
    if (tlen == 0 || !valid_type(line + t0, tlen))
        return 0; /* blank, or not a type: skipped */
    int text = is_textual(line + t0, tlen);

    /* Block: "type[; charset=utf-8]\0" then each extension, NUL-terminated. */
    size_t type_len = tlen + (text ? sizeof(UTF8) - 1 : 0);
    char *block = NULL;
    size_t used = 0;

    while (p < len) {
        while (p < len && is_space(line[p]))
            p++;
        size_t e0 = p;
        while (p < len && !is_space(line[p]))
            p++;
        size_t elen = p - e0;
        if (!valid_ext(line + e0, elen))
            continue;
        if (!block) {
            /* Never more than the line plus the charset suffix and NULs. */
            block = nxx_malloc(len + sizeof(UTF8) + 2);
            char **b = block ? grow(blocks, &blocks_cap, blocks_n + 1, sizeof(*blocks)) : NULL;
            if (!b) {
                nxx_free(block);
                return NXX_ENOMEM;
            }
            blocks = b;
            blocks[blocks_n++] = block;
            memcpy(block, line + t0, tlen);
            if (text)
                memcpy(block + tlen, UTF8, sizeof(UTF8) - 1);
            block[type_len] = '\0';
            used = type_len + 1;
        }
        struct mime_entry *t = grow(loaded, &loaded_cap, loaded_n + 1, sizeof(*loaded));
        if (!t)
            return NXX_ENOMEM;
        loaded = t;
        char *ext = block + used;
        for (size_t k = 0; k < elen; k++)
            ext[k] = nxx_lower(line[e0 + k]);
        ext[elen] = '\0';
        used += elen + 1;
        loaded[loaded_n++] = (struct mime_entry){ ext, block, elen, type_len, next_seq++ };
    }
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct mime_entry *x = a, *y = b;
    int c = ext_cmp(x->ext, x->ext_len, y->ext, y->ext_len);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort, then keep only the last mention of each extension. */
static void loaded_index(void)
{
    if (loaded_n == 0)
        return;
    qsort(loaded, loaded_n, sizeof(*loaded), entry_cmp);
    size_t w = 0;
    for (size_t r = 0; r < loaded_n; r++) {
        if (r + 1 < loaded_n && ext_cmp(loaded[r].ext, loaded[r].ext_len, loaded[r + 1].ext,
                                        loaded[r + 1].ext_len) == 0)
            continue;
        loaded[w++] = loaded[r];
    }
    loaded_n = w;
}

int nxx_mime_load(const char *file)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return -errno;

    char *line = NULL;
    size_t line_cap = 0;
    ssize_t n;
    int err = 0;
    errno = 0;
    while ((n = getline(&line, &line_cap, f)) >= 0) {
        const char *hash = memchr(line, '#', (size_t)n);
        size_t len = hash ? (size_t)(hash - line) : (size_t)n;
        err = load_line(line, len);
        if (err)
            break;
    }
    if (!err && !feof(f))
        err = errno == ENOMEM ? NXX_ENOMEM : (errno ? -errno : -EIO);
    free(line); /* getline's buffer comes from libc malloc */
    fclose(f);
    loaded_index();
    return err;
}

void nxx_mime_free(void)
{
    for (size_t k = 0; k < blocks_n; k++)
        nxx_free(blocks[k]);
    nxx_free(blocks);
    nxx_free(loaded);
    blocks = NULL;
    loaded = NULL;
    blocks_n = blocks_cap = loaded_n = loaded_cap = 0;
    next_seq = 0;
}
