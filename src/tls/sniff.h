/*
 * sniff.h - what the first bytes of a connection are: a TLS handshake
 * record or an HTTP request line.  Pure; fuzzed by fuzz/fuzz_sniff.c.
 */
#ifndef NXX_TLS_SNIFF_H
#define NXX_TLS_SNIFF_H

#include <stddef.h>

enum nxx_sniff {
    NXX_SNIFF_MORE,  /* too few bytes to tell */
    NXX_SNIFF_TLS,   /* a TLS handshake record (a ClientHello) */
    NXX_SNIFF_HTTP,  /* a method token and a space: an HTTP/1 request (or h2's preface) */
    NXX_SNIFF_OTHER, /* neither */
};

/* Classify the first n bytes received on a connection. */
enum nxx_sniff nxx_sniff(const unsigned char *p, size_t n);

#endif
