/*
 * test_sniff.c - the first-bytes classifier: TLS handshake records, HTTP
 * request lines, and what is neither, at every length of the input.
 */
#include "test.h"

#include <string.h>

#include "tls/sniff.h"

static enum nxx_sniff sniff(const char *s, size_t n)
{
    return nxx_sniff((const unsigned char *)s, n);
}

TEST(http_methods_and_the_h2_preface)
{
    CHECK_EQ_INT(sniff("GET / HTTP/1.1\r\n", 16), NXX_SNIFF_HTTP);
    CHECK_EQ_INT(sniff("PROPFIND /x HTTP/1.1", 20), NXX_SNIFF_HTTP);
    CHECK_EQ_INT(sniff("PRI * HTTP/2.0", 14), NXX_SNIFF_HTTP);
    CHECK_EQ_INT(sniff("GE", 2), NXX_SNIFF_MORE);
    CHECK_EQ_INT(sniff(" GET", 4), NXX_SNIFF_OTHER);
    CHECK_EQ_INT(sniff("GET\r\n", 5), NXX_SNIFF_OTHER);
}

TEST(tls_records_at_every_length)
{
    static const char hello[] = "\x16\x03\x01\x02\x00\x01";
    for (size_t n = 0; n < 5; n++)
        CHECK_EQ_INT(sniff(hello, n), NXX_SNIFF_MORE);
    CHECK_EQ_INT(sniff(hello, 5), NXX_SNIFF_TLS);
    CHECK_EQ_INT(sniff(hello, 6), NXX_SNIFF_TLS);
    CHECK_EQ_INT(sniff("\x16\x02\x01\x02\x00", 5), NXX_SNIFF_OTHER); /* not version 3.x */
    CHECK_EQ_INT(sniff("\x16\x03\x09\x02\x00", 5), NXX_SNIFF_OTHER); /* no such 3.9 */
    CHECK_EQ_INT(sniff("\x16\x03\x03\xff\xff", 5), NXX_SNIFF_OTHER); /* longer than a record */
    CHECK_EQ_INT(sniff("\x16\x03\x03\x00\x00", 5), NXX_SNIFF_OTHER); /* empty */
    CHECK_EQ_INT(sniff("\x80\x2e\x01\x03\x01", 5), NXX_SNIFF_OTHER); /* SSL 2 */
}

TEST(a_long_token_without_a_space_is_not_a_method)
{
    char buf[64];
    memset(buf, 'A', sizeof(buf));
    CHECK_EQ_INT(sniff(buf, 32), NXX_SNIFF_MORE);
    CHECK_EQ_INT(sniff(buf, 33), NXX_SNIFF_OTHER);
}
