/*
 * fuzz_sniff.c - libFuzzer target for the first-bytes classifier (TLS
 * handshake record or HTTP request line) that TLS and plain listeners
 * use on a connection's first bytes.
 *
 * Checked on every input: the answer for the whole input is the answer
 * for each prefix once that prefix was decisive (more bytes never change
 * a decided answer: bytes arrive in pieces), "more" only for inputs
 * shorter than a record header or a method, "TLS" only for a handshake
 * record header, "HTTP" only for a token followed by a space.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_sniff: %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum nxx_sniff whole = nxx_sniff(data, size);
    for (size_t n = 0; n <= size; n++) {
        enum nxx_sniff s = nxx_sniff(data, n);
        if (s != NXX_SNIFF_MORE) {
            REQUIRE(s == whole);
            break;
        }
        REQUIRE(n < 40);
    }
    if (whole == NXX_SNIFF_TLS)
        REQUIRE(size >= 5 && data[0] == 22 && data[1] == 3);
    if (whole == NXX_SNIFF_HTTP) {
        const uint8_t *sp = memchr(data, ' ', size);
        REQUIRE(sp && sp > data);
        REQUIRE(data[0] != 22);
    }
    return 0;
}
