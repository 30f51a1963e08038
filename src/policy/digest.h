/*
 * digest.h - SHA-256 on a request's hot path without a heap allocation per
 * request: each worker keeps one OpenSSL digest context and the fetched
 * algorithm (OpenSSL's one-shot calls allocate and fetch every time).
 */
#ifndef NXX_POLICY_DIGEST_H
#define NXX_POLICY_DIGEST_H

#include <stddef.h>

#include "nxx.h"

/* SHA-256 of a[0..alen) followed by b[0..blen) (b may be NULL with blen
 * 0) into out; 0, or -1 (out zeroed) when OpenSSL fails. */
int nxx_policy_sha256(nxx_req *req, const void *a, size_t alen, const void *b, size_t blen,
                      unsigned char out[32]);

#endif
