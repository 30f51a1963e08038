/*
 * test_mime.c - Content-Type by extension: the built-in table and mime.types loading.
 */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "handlers/mime.h"

#define U "; charset=utf-8"

static void check_type(const char *path, const char *want)
{
    nxx_str t = nxx_mime_type(path, strlen(path));
    if (t.len != strlen(want) || memcmp(t.ptr, want, t.len) != 0)
        test_fail(__FILE__, __LINE__, "type of \"%s\": got \"%.*s\", want \"%s\"", path, (int)t.len,
                  t.ptr, want);
}

/* Every built-in extension; a lookup that fails here also means the table is unsorted. */
static const struct {
    const char *ext, *type;
} expected[] = {
    { "html", "text/html" U },
    { "htm", "text/html" U },
    { "xhtml", "application/xhtml+xml" U },
    { "css", "text/css" U },
    { "js", "text/javascript" U },
    { "mjs", "text/javascript" U },
    { "json", "application/json" },
    { "map", "application/json" },
    { "txt", "text/plain" U },
    { "md", "text/markdown" U },
    { "csv", "text/csv" U },
    { "xml", "application/xml" U },
    { "rss", "application/rss+xml" U },
    { "atom", "application/atom+xml" U },
    { "svg", "image/svg+xml" U },
    { "svgz", "image/svg+xml" U },
    { "png", "image/png" },
    { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },
    { "gif", "image/gif" },
    { "webp", "image/webp" },
    { "avif", "image/avif" },
    { "ico", "image/vnd.microsoft.icon" },
    { "bmp", "image/bmp" },
    { "tif", "image/tiff" },
    { "tiff", "image/tiff" },
    { "woff", "font/woff" },
    { "woff2", "font/woff2" },
    { "ttf", "font/ttf" },
    { "otf", "font/otf" },
    { "eot", "application/vnd.ms-fontobject" },
    { "wasm", "application/wasm" },
    { "pdf", "application/pdf" },
    { "zip", "application/zip" },
    { "gz", "application/gzip" },
    { "tgz", "application/gzip" },
    { "bz2", "application/x-bzip2" },
    { "xz", "application/x-xz" },
    { "zst", "application/zstd" },
    { "7z", "application/x-7z-compressed" },
    { "tar", "application/x-tar" },
    { "rar", "application/vnd.rar" },
    { "mp3", "audio/mpeg" },
    { "ogg", "audio/ogg" },
    { "oga", "audio/ogg" },
    { "opus", "audio/ogg" },
    { "wav", "audio/wav" },
    { "flac", "audio/flac" },
    { "m4a", "audio/mp4" },
    { "aac", "audio/aac" },
    { "mp4", "video/mp4" },
    { "m4v", "video/mp4" },
    { "webm", "video/webm" },
    { "ogv", "video/ogg" },
    { "mov", "video/quicktime" },
    { "avi", "video/x-msvideo" },
    { "mkv", "video/matroska" },
    { "mpeg", "video/mpeg" },
    { "mpg", "video/mpeg" },
    { "webmanifest", "application/manifest+json" },
    { "manifest", "text/cache-manifest" U },
    { "appcache", "text/cache-manifest" U },
    { "ics", "text/calendar" U },
    { "vcf", "text/vcard" U },
    { "epub", "application/epub+zip" },
    { "jar", "application/java-archive" },
    { "apk", "application/vnd.android.package-archive" },
    { "deb", "application/vnd.debian.binary-package" },
    { "rpm", "application/x-rpm" },
    { "iso", "application/x-iso9660-image" },
    { "dmg", "application/x-apple-diskimage" },
    { "exe", "application/vnd.microsoft.portable-executable" },
    { "msi", "application/x-msi" },
    { "bin", "application/octet-stream" },
    { "ps", "application/postscript" },
    { "eps", "application/postscript" },
    { "rtf", "application/rtf" },
    { "doc", "application/msword" },
    { "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
    { "xls", "application/vnd.ms-excel" },
    { "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
    { "ppt", "application/vnd.ms-powerpoint" },
    { "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
    { "odt", "application/vnd.oasis.opendocument.text" },
    { "ods", "application/vnd.oasis.opendocument.spreadsheet" },
    { "odp", "application/vnd.oasis.opendocument.presentation" },
    { "yaml", "application/yaml" },
    { "yml", "application/yaml" },
    { "toml", "application/toml" },
    { "wat", "text/plain" U },
    { "jsonld", "application/ld+json" },
    { "geojson", "application/geo+json" },
    { "glb", "model/gltf-binary" },
    { "gltf", "model/gltf+json" },
};

TEST(builtin_every_extension)
{
    size_t n = sizeof(expected) / sizeof(expected[0]);
    CHECK_EQ_INT(n, 94);
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/dir/file.%s", expected[i].ext);
        check_type(path, expected[i].type);
    }
}

TEST(case_insensitive)
{
    check_type("/INDEX.HTML", "text/html" U);
    check_type("/style.Css", "text/css" U);
    check_type("/PIC.JPG", "image/jpeg");
    check_type("/font.WoFf2", "font/woff2");
}

TEST(no_extension)
{
    check_type("/README", "application/octet-stream");
    check_type("/", "application/octet-stream");
    check_type("", "application/octet-stream");
    check_type("/dir/", "application/octet-stream");
    check_type("/dir.html/", "application/octet-stream");
    check_type("/v1.2/readme", "application/octet-stream");
    check_type("Makefile", "application/octet-stream");
    nxx_str t = nxx_mime_type(NULL, 0);
    CHECK_EQ_MEM(t.ptr, t.len, "application/octet-stream");
}

TEST(dotfiles)
{
    check_type("/.htaccess", "application/octet-stream");
    check_type("/a/.bashrc", "application/octet-stream");
    check_type("/.html", "application/octet-stream");
    check_type(".txt", "application/octet-stream"); /* a bare name is treated the same */
    check_type("a.txt", "text/plain" U);
    check_type("/.config.json", "application/json");
    check_type("/..", "application/octet-stream");
}

TEST(multiple_dots)
{
    check_type("/a.tar.gz", "application/gzip");
    check_type("/backup.2024.01.tar.xz", "application/x-xz");
    check_type("/jquery.min.js", "text/javascript" U);
    check_type("/a.b.c.unknown", "application/octet-stream");
}

TEST(trailing_dot)
{
    check_type("/file.", "application/octet-stream");
    check_type("/file.html.", "application/octet-stream");
    check_type("/file..", "application/octet-stream");
}

TEST(unknown_and_long)
{
    check_type("/x.unknownext", "application/octet-stream");
    check_type("/x.h", "application/octet-stream");
    check_type("/x.htmlx", "application/octet-stream");
    check_type("/x.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "application/octet-stream");
}

TEST(view_not_nul_terminated)
{
    static const char buf[] = "/index.htmlXYZ";
    nxx_str t = nxx_mime_type(buf, 11);
    CHECK_EQ_MEM(t.ptr, t.len, "text/html" U);
    t = nxx_mime_type(buf, 10); /* "/index.htm" */
    CHECK_EQ_MEM(t.ptr, t.len, "text/html" U);
    t = nxx_mime_type(buf, 9); /* "/index.ht" */
    CHECK_EQ_MEM(t.ptr, t.len, "application/octet-stream");
}

/* Write text to a fresh file under /tmp; the name goes to path. */
static int write_tmp(char *path, size_t cap, const char *text)
{
    snprintf(path, cap, "/tmp/nxx-test-mime-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    close(fd);
    return w == (ssize_t)len ? 0 : -1;
}

TEST(load_file)
{
    char path[64];
    static const char text[] =
        "# a comment line\n"
        "text/x-foo\t\tfoo FOOBAR\n"
        "application/x-custom  cust # ext2 is in a comment\n"
        "image/x-override png\n"
        "application/xml xml\n"
        "model/x3d+xml x3d\n"
        "application/javascript es\n"
        "application/x-nothing\n"
        "not-a-type ext1\n"
        "text/html;charset=latin1 h2\n"
        "text/ bad1\n"
        "/plain bad2\n"
        "application/x-dotted spdx.json\n"
        "application/x-first dup\n"
        "application/x-second dup\n"
        "\n"
        "   \t  \r\n"
        "application/x-long aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
        "audio/x-last last";
    CHECK_EQ_INT(write_tmp(path, sizeof(path), text), 0);
    CHECK_EQ_INT(nxx_mime_load(path), 0);
    unlink(path);

    check_type("/a.foo", "text/x-foo" U);
    check_type("/a.FooBar", "text/x-foo" U);
    check_type("/a.cust", "application/x-custom");
    check_type("/a.ext2", "application/octet-stream");
    check_type("/a.png", "image/x-override");
    check_type("/a.xml", "application/xml" U);
    check_type("/a.x3d", "model/x3d+xml" U);
    check_type("/a.es", "application/javascript" U);
    check_type("/a.ext1", "application/octet-stream");
    check_type("/a.h2", "application/octet-stream");
    check_type("/a.bad1", "application/octet-stream");
    check_type("/a.bad2", "application/octet-stream");
    check_type("/a.spdx.json", "application/json");
    check_type("/a.dup", "application/x-second");
    check_type("/a.last", "audio/x-last");
    /* 31 bytes: the longest extension kept */
    check_type("/x/y.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "application/x-long");
    check_type("/y.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "application/octet-stream");
    /* the built-in table is still there underneath */
    check_type("/a.html", "text/html" U);
    check_type("/a.gif", "image/gif");

    nxx_mime_free();
    check_type("/a.png", "image/png");
    check_type("/a.foo", "application/octet-stream");
}

TEST(load_twice_last_wins)
{
    char a[64], b[64];
    CHECK_EQ_INT(write_tmp(a, sizeof(a), "text/x-one one shared\n"), 0);
    CHECK_EQ_INT(write_tmp(b, sizeof(b), "text/x-two two shared\n"), 0);
    CHECK_EQ_INT(nxx_mime_load(a), 0);
    CHECK_EQ_INT(nxx_mime_load(b), 0);
    unlink(a);
    unlink(b);
    check_type("/x.one", "text/x-one" U);
    check_type("/x.two", "text/x-two" U);
    check_type("/x.shared", "text/x-two" U);
    nxx_mime_free();
    nxx_mime_free(); /* harmless when empty */
    check_type("/x.shared", "application/octet-stream");
}

TEST(load_last_mention_wins)
{
    /* many mentions of one extension among others: only the last may answer */
    char text[2048] = "";
    size_t len = 0;
    for (int k = 1; k <= 20; k++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "application/x-%d a%d dup b%d\n", k,
                                k, k);
    char path[64];
    CHECK_EQ_INT(write_tmp(path, sizeof(path), text), 0);
    CHECK_EQ_INT(nxx_mime_load(path), 0);
    unlink(path);
    check_type("/x.dup", "application/x-20");
    check_type("/x.a1", "application/x-1");
    check_type("/x.b20", "application/x-20");
    nxx_mime_free();
}

TEST(load_missing_file)
{
    CHECK_EQ_INT(nxx_mime_load("/tmp/nxx-test-mime-does-not-exist/mime.types"), -ENOENT);
    check_type("/a.html", "text/html" U);
}

TEST(load_directory_fails_cleanly)
{
    int r = nxx_mime_load("/tmp");
    CHECK(r < 0);
    check_type("/a.html", "text/html" U);
    nxx_mime_free();
}

TEST(load_system_mime_types)
{
    if (access("/etc/mime.types", R_OK) != 0)
        test_skip("no /etc/mime.types");
    CHECK_EQ_INT(nxx_mime_load("/etc/mime.types"), 0);
    nxx_str t = nxx_mime_type("/index.html", 11);
    CHECK(t.len > 9 && memcmp(t.ptr, "text/html", 9) == 0);
    /* whatever the file says, text types keep their charset */
    CHECK(t.len >= strlen(U) && memcmp(t.ptr + t.len - strlen(U), U, strlen(U)) == 0);
    nxx_mime_free();
}
