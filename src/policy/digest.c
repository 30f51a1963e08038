/*
 * digest.c - the per-worker SHA-256 of the policies (contract in
 * digest.h): the credential cache's key, hashed tokens and API keys, and
 * the keys of rate limits by name.
 */
#include "policy/digest.h"

#include <openssl/evp.h>
#include <string.h>

#include "core/alloc.h"
#include "http/request.h"
#include "core/banned.h"

struct sha {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
};

static void *sha_new(void)
{
    struct sha *s = nxx_calloc(1, sizeof(*s));
    if (s && (!(s->md = EVP_MD_fetch(NULL, "SHA256", NULL)) || !(s->ctx = EVP_MD_CTX_new()))) {
        EVP_MD_free(s->md);
        nxx_free(s);
        s = NULL;
    }
    return s;
}

static void sha_free(void *arg)
{
    struct sha *s = arg;
    EVP_MD_CTX_free(s->ctx);
    EVP_MD_free(s->md);
    nxx_free(s);
}

static struct nxx_worker_key sha_key = { sha_new, sha_free, 0 };

int nxx_policy_sha256(nxx_req *req, const void *a, size_t alen, const void *b, size_t blen,
                      unsigned char out[32])
{
    struct sha *s = nxx_req_worker_state(req, &sha_key);
    unsigned int n = 0;
    if (s && EVP_DigestInit_ex(s->ctx, s->md, NULL) && EVP_DigestUpdate(s->ctx, a, alen) &&
        (!blen || EVP_DigestUpdate(s->ctx, b, blen)) && EVP_DigestFinal_ex(s->ctx, out, &n) &&
        n == 32)
        return 0;
    memset(out, 0, 32);
    return -1;
}
