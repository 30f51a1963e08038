/*
 * tls.c - TLS with OpenSSL 3: the only file of nxx that calls OpenSSL.
 *
 * Certificates belong to a configuration generation: the server scope's
 * is the default, each host's is chosen by SNI, and a reload (SIGHUP)
 * builds new ones while connections keep the SSL_CTX they were accepted
 * with (OpenSSL counts its references).  Each worker has its own OpenSSL
 * library context and its own SSL_CTX per certificate (see "per-worker
 * contexts"); the session ticket keys are the process's, so resumption
 * works whichever worker the client reaches.
 *
 * A connection accepted on a TLS listener starts as a handshake (struct
 * hs): its first bytes are looked at (a plain HTTP request gets a 400 a
 * person can read, not an alert), then SSL_do_handshake runs on the loop,
 * edge-triggered, bounded by the handshake timeout.  When it is done, the
 * protocol ALPN chose takes the connection over (nxx_alpn_protocols), its
 * transport the TLS one below.
 *
 * The transport: reads go through SSL_read until the caller's buffer is
 * full or the socket is drained, so that the engine's "a short read
 * drained the socket" holds for TLS too (OpenSSL reads no further ahead
 * than the record it needs).  Writes gather small pieces into one record
 * (a response head and a small body: one record, one send).  Files go by
 * SSL_sendfile when the connection has kernel TLS for sending, else by
 * pread + SSL_write through a buffer of the worker thread.
 */
#include "tls/tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <time.h>

#include "core/alloc.h"
#include "core/log.h"
#include "http/http1.h"
#include "http/http2.h"
#include "http/server.h"
#include "http/site.h"
#include "tls/sniff.h"
#include "core/banned.h"

#define TLS_RECORD 16384  /* the largest TLS record's content */
#define PLAIN_DRAIN 4096  /* bytes of a plain request read before its 400 */
#define AUTHORITY_MAX 256 /* the last authority found covered, per connection */

/* ---- the ALPN table ---- */

/* The server's preference first. */
const struct nxx_alpn nxx_alpn_protocols[] = {
    { "h2", nxx_http2_start },
    { "http/1.1", nxx_http1_start },
};
const size_t nxx_alpn_count = sizeof(nxx_alpn_protocols) / sizeof(nxx_alpn_protocols[0]);

/* ---- certificates ---- */

/* TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only.  TLS 1.3's
 * own suites are OpenSSL's defaults, all AEAD. */
static const char tls12_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
/* not const: SSL_CTX_set1_groups_list casts its argument to (char *) */
static char tls_groups[] = "X25519:P-256:P-384";

/* OpenSSL's reason for the last failure, into buf. */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    if (!e) {
        snprintf(buf, len, "unknown error");
        return buf;
    }
    const char *r = ERR_reason_error_string(e);
    snprintf(buf, len, "%s", r ? r : "unknown error");
    ERR_clear_error();
    return buf;
}

/* The app data of the SSL of a connection accepted only to be refused. */
static const char refusal_mark = 1;

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned inlen, void *arg)
{
    (void)arg;
    /* a refused connection (hs_refuse) is answered in HTTP/1.1 only */
    int refused = SSL_get_app_data(ssl) == &refusal_mark;
    /* RFC 7301 §3.2: the server's preference among what the client offers */
    for (size_t i = 0; i < nxx_alpn_count; i++) {
        if (refused && strcmp(nxx_alpn_protocols[i].name, "http/1.1") != 0)
            continue;
        size_t n = strlen(nxx_alpn_protocols[i].name);
        for (unsigned p = 0; p < inlen;) {
            unsigned l = in[p];
            if (p + 1 + l > inlen)
                break;
            if (l == n && memcmp(in + p + 1, nxx_alpn_protocols[i].name, n) == 0) {
                *out = in + p + 1;
                *outlen = (unsigned char)l;
                return SSL_TLSEXT_ERR_OK;
            }
            p += 1 + l;
        }
    }
    /* nothing in common: go on without ALPN, as HTTP/1.1 */
    return SSL_TLSEXT_ERR_NOACK;
}

struct tls_scope;
static SSL_CTX *scope_ctx(struct nxx_site *site, struct tls_scope *ts);

/* SNI (RFC 6066 §3): the certificate of the host the client names. */
static int on_sni(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    struct nxx_site *site = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name)
        return SSL_TLSEXT_ERR_OK; /* no name: the default certificate */
    const struct nxx_scope *host = nxx_site_find_host(site, (nxx_str){ name, strlen(name) });
    SSL_CTX *ctx = host && host->tls ? scope_ctx(site, host->tls) : NULL;
    if (ctx && ctx != SSL_get_SSL_CTX(ssl))
        SSL_set_SSL_CTX(ssl, ctx);
    return SSL_TLSEXT_ERR_OK;
}

/*
 * Session tickets (RFC 8446 §4.6.1, RFC 5077): one set of keys for the
 * process, so every worker and every generation (a reload) decrypts the
 * tickets of the others.  The key in use is replaced every rotation
 * period; the one before still decrypts (and its tickets are renewed), so
 * a ticket lives at most two periods and a stolen key opens little.
 */
struct ticket_key {
    unsigned char name[16], aes[32], hmac[32];
};

static struct {
    pthread_mutex_t lock;
    struct ticket_key cur, prev;
    int have_cur, have_prev;
    uint64_t rotated_ms;
    unsigned period_s;
} tickets = { .lock = PTHREAD_MUTEX_INITIALIZER, .period_s = 3600 };

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int ticket_key_new(struct ticket_key *k)
{
    return RAND_bytes(k->name, sizeof(k->name)) == 1 && RAND_bytes(k->aes, sizeof(k->aes)) == 1 &&
           RAND_bytes(k->hmac, sizeof(k->hmac)) == 1;
}

/* Under the lock: the current key, rotated when its period is over. */
static int tickets_rotate(void)
{
    uint64_t now = mono_ms();
    uint64_t period = (uint64_t)tickets.period_s * 1000;
    if (tickets.have_cur && now - tickets.rotated_ms < period)
        return 0;
    struct ticket_key k;
    if (!ticket_key_new(&k))
        return -1;
    /* a key two periods old (the server idle that long) decrypts nothing */
    tickets.have_prev = tickets.have_cur && now - tickets.rotated_ms < 2 * period;
    tickets.prev = tickets.cur;
    tickets.cur = k;
    tickets.have_cur = 1;
    tickets.rotated_ms = now;
    return 0;
}

static int ticket_mac_init(EVP_MAC_CTX *hctx, const unsigned char *key)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)(uintptr_t)key, 32),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t) "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_CTX_set_params(hctx, params);
}

/* AES-256-CBC fetched once: EVP_aes_256_cbc() would be looked up in the
 * provider store (under its lock) for every ticket */
static EVP_CIPHER *ticket_cipher;
static pthread_once_t ticket_cipher_once = PTHREAD_ONCE_INIT;

static void ticket_cipher_fetch(void)
{
    ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
}

static const EVP_CIPHER *slot_cipher(void);
static OSSL_LIB_CTX *slot_lib_now(void);

static int on_ticket(SSL *ssl, unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    struct ticket_key k;
    int r = 1;
    pthread_mutex_lock(&tickets.lock);
    if (tickets_rotate() < 0) {
        pthread_mutex_unlock(&tickets.lock);
        return enc ? -1 : 0;
    }
    if (enc) {
        k = tickets.cur;
    } else if (memcmp(name, tickets.cur.name, 16) == 0) {
        k = tickets.cur;
    } else if (tickets.have_prev && memcmp(name, tickets.prev.name, 16) == 0) {
        k = tickets.prev;
        r = 2; /* good, but issue a ticket under the current key */
    } else {
        r = 0; /* unknown or expired: a full handshake */
    }
    pthread_mutex_unlock(&tickets.lock);
    if (r == 0)
        return 0;
    /* RFC 8446 §4.6.1, §C.4: a TLS 1.3 client uses a ticket once (OpenSSL's
     * and browsers' do), so a resumption that issues no new ticket leaves
     * the client none: its next connection would be a full handshake.
     * Every TLS 1.3 resumption gets a fresh ticket. */
    if (r == 1 && !enc && SSL_version(ssl) >= TLS1_3_VERSION)
        r = 2;
    const EVP_CIPHER *aes = slot_cipher();
    if (!aes) {
        pthread_once(&ticket_cipher_once, ticket_cipher_fetch);
        aes = ticket_cipher ? ticket_cipher : EVP_aes_256_cbc();
    }
    if (enc) {
        memcpy(name, k.name, 16);
        if (RAND_bytes_ex(slot_lib_now(), iv, 16, 0) != 1 ||
            EVP_EncryptInit_ex(cctx, aes, NULL, k.aes, iv) != 1)
            r = -1;
    } else if (EVP_DecryptInit_ex(cctx, aes, NULL, k.aes, iv) != 1) {
        r = -1;
    }
    if (r > 0 && ticket_mac_init(hctx, k.hmac) != 1)
        r = -1;
    OPENSSL_cleanse(&k, sizeof(k));
    return r;
}

/* Whether the kernel offers its TLS upper-layer protocol (its "tls"
 * module loaded) and OpenSSL was built to use it: read once. */
static int ktls_state = -1;
static pthread_once_t ktls_once = PTHREAD_ONCE_INIT;

static void ktls_probe(void)
{
    char ulp[256] = "";
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "re");
    if (f) {
        if (!fgets(ulp, sizeof(ulp), f))
            ulp[0] = '\0';
        fclose(f);
    }
    ktls_state = strstr(ulp, "tls") != NULL;
#ifdef OPENSSL_NO_KTLS
    ktls_state = 0;
#endif
}

static int ktls_available(void)
{
    pthread_once(&ktls_once, ktls_probe);
    return ktls_state;
}

/* ---- per-worker contexts ---- */

/*
 * Each worker thread has an OpenSSL library context of its own, and each
 * certificate an SSL_CTX (with its own copies of the certificate and key)
 * per worker, loaded into that library context.  Threads of one process
 * then share what processes do not share either: nothing.  Shared, every
 * handshake took the provider store's and the name map's read locks,
 * counted references on the one SSL_CTX and EVP_PKEY from two cores (their
 * cache lines bouncing), and an RSA key's blinding factor is owned by the
 * first thread that signed: every other thread signed through the shared
 * one, under its lock.  Workers past TLS_WORKERS use the default context,
 * and so do all workers when 0-RTT is on: OpenSSL's anti-replay is the
 * session cache of one SSL_CTX, which must then be the one all share.
 * Session tickets work across workers either way: their keys are the
 * process's (on_ticket), whichever context issued them.
 */
#define TLS_WORKERS 64

static OSSL_LIB_CTX *worker_libs[TLS_WORKERS];
static EVP_CIPHER *worker_ciphers[TLS_WORKERS]; /* the ticket cipher, fetched once per lib */
static pthread_mutex_t worker_libs_lock = PTHREAD_MUTEX_INITIALIZER;

/* The worker slot of the calling thread, -1 outside a worker (set at accept). */
static _Thread_local int tls_slot = -1;

/* The library context of slot (made at its first use); NULL: the default. */
static OSSL_LIB_CTX *slot_lib(int slot)
{
    if (slot < 0 || slot >= TLS_WORKERS)
        return NULL;
    pthread_mutex_lock(&worker_libs_lock);
    if (!worker_libs[slot] && (worker_libs[slot] = OSSL_LIB_CTX_new()) != NULL)
        worker_ciphers[slot] = EVP_CIPHER_fetch(worker_libs[slot], "AES-256-CBC", NULL);
    OSSL_LIB_CTX *lib = worker_libs[slot];
    pthread_mutex_unlock(&worker_libs_lock);
    return lib;
}

/* The calling worker's ticket cipher and library context (NULL: the defaults). */
static const EVP_CIPHER *slot_cipher(void)
{
    return tls_slot >= 0 && tls_slot < TLS_WORKERS ? worker_ciphers[tls_slot] : NULL;
}

static OSSL_LIB_CTX *slot_lib_now(void)
{
    return tls_slot >= 0 && tls_slot < TLS_WORKERS ? worker_libs[tls_slot] : NULL;
}

/*
 * What a certificate's contexts are made of, kept in memory so that every
 * worker's copy is the configuration's, even if the files change on disk
 * before the next reload.
 */
struct tls_scope {
    SSL_CTX *ctx; /* in the default library context: loading, checks, the fallback */
    char *cert_pem, *key_pem, *ca_pem;
    size_t cert_len, key_len, ca_len;
    int ca_require;
    const struct staple *staple;
    SSL_CTX *worker[TLS_WORKERS]; /* each worker's, made by it; freed with the generation */
};

static void tls_scope_free(void *arg)
{
    struct tls_scope *ts = arg;
    SSL_CTX_free(ts->ctx);
    for (size_t i = 0; i < TLS_WORKERS; i++)
        SSL_CTX_free(ts->worker[i]);
    if (ts->key_pem)
        OPENSSL_cleanse(ts->key_pem, ts->key_len);
    nxx_free(ts->cert_pem);
    nxx_free(ts->key_pem);
    nxx_free(ts->ca_pem);
    nxx_free(ts);
}

#define PEM_MAX (1024 * 1024) /* a certificate chain or key file, at most */

/* The whole file, NUL-terminated, into *out; 0 or -1 with why in err. */
static int read_pem(const char *file, const char *what, char **out, size_t *len, char *err,
                    size_t errlen)
{
    FILE *f = fopen(file, "rbe");
    if (!f) {
        snprintf(err, errlen, "cannot load the %s '%s': %s", what, file, strerror(errno));
        return -1;
    }
    char *buf = nxx_malloc(PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, PEM_MAX + 1, f) : 0;
    fclose(f);
    if (!buf || n > PEM_MAX) {
        snprintf(err, errlen, "cannot load the %s '%s': %s", what, file,
                 buf ? "over 1 MiB" : "out of memory");
        nxx_free(buf);
        return -1;
    }
    buf[n] = '\0';
    char *fit = nxx_realloc(buf, n + 1); /* kept for the generation's life: its size only */
    *out = fit ? fit : buf;
    *len = n;
    return 0;
}

/* The certificate chain (leaf first) in pem into ctx. */
static int use_chain(SSL_CTX *ctx, OSSL_LIB_CTX *lib, const char *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? X509_new_ex(lib, NULL) : NULL;
    int ok = x && PEM_read_bio_X509_AUX(b, &x, NULL, NULL) && SSL_CTX_use_certificate(ctx, x) == 1;
    X509_free(x);
    while (ok) {
        X509 *ca = X509_new_ex(lib, NULL);
        if (!ca || !PEM_read_bio_X509(b, &ca, NULL, NULL)) {
            X509_free(ca);
            ERR_clear_error(); /* the end of the file: no more PEM blocks */
            break;
        }
        if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
            X509_free(ca);
            ok = 0;
        }
    }
    BIO_free(b);
    return ok;
}

static int use_key(SSL_CTX *ctx, OSSL_LIB_CTX *lib, const char *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey_ex(b, NULL, NULL, NULL, lib, NULL) : NULL;
    int ok = k && SSL_CTX_use_PrivateKey(ctx, k) == 1;
    EVP_PKEY_free(k);
    BIO_free(b);
    return ok;
}

static int ctx_client_ca(SSL_CTX *ctx, OSSL_LIB_CTX *lib, const struct tls_scope *ts);
static int on_status(SSL *ssl, void *arg);

static SSL_CTX *ctx_new(struct nxx_site *site, OSSL_LIB_CTX *lib, const struct tls_scope *ts,
                        const char *cert, const char *key, char *err, size_t errlen)
{
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new_ex(lib, NULL, TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create a TLS context: %s", ssl_reason(why, sizeof(why)));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    /* no renegotiation (a client-driven CPU drain and an old attack
     * surface), no compression (CRIME), the server's order of suites */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* kernel TLS only where the kernel has it: OpenSSL would otherwise try
     * (and fail) two setsockopt calls on every connection */
    if (ktls_available())
        SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
    /* read ahead: a record's header and body in one read, and the request
     * that follows the client's Finished in the same read as it.  A read
     * that wants more still means the socket was drained, as the
     * edge-triggered loop needs (tls_read) */
    SSL_CTX_set_read_ahead(ctx, 1);
    /* a client that half-closes without close_notify after its request
     * still gets the answer (HTTP's framing, not TLS's, says a request is
     * whole); OpenSSL would otherwise fail the connection for good */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* partial writes: the engine's output queue keeps what is unsent;
     * moving buffer: a retried write may come from a new copy of the same
     * bytes; release buffers: an idle connection holds no record buffers */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* tickets only: no shared cache */
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"nxx", 3);
    if (SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1 ||
        SSL_CTX_set1_groups_list(ctx, tls_groups) != 1) {
        snprintf(err, errlen, "cannot set the TLS suites: %s", ssl_reason(why, sizeof(why)));
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (!use_chain(ctx, lib, ts->cert_pem, ts->cert_len)) {
        snprintf(err, errlen, "cannot load the certificate '%s': %s", cert,
                 ssl_reason(why, sizeof(why)));
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (!use_key(ctx, lib, ts->key_pem, ts->key_len)) {
        snprintf(err, errlen, "cannot load the private key '%s': %s", key,
                 ssl_reason(why, sizeof(why)));
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "the private key '%s' does not match the certificate '%s'", key,
                 cert);
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (ts->staple) {
        SSL_CTX_set_tlsext_status_cb(ctx, on_status);
        SSL_CTX_set_tlsext_status_arg(ctx, (void *)(uintptr_t)ts->staple);
    }
    if (ts->ca_pem && ctx_client_ca(ctx, lib, ts) != 0) {
        snprintf(err, errlen, "cannot load the client CA certificates: %s",
                 ssl_reason(why, sizeof(why)));
        SSL_CTX_free(ctx);
        return NULL;
    }
    size_t early = site->cfg.tls_early_data;
    if (early) {
        /* 0-RTT.  OpenSSL's anti-replay (a session's early data is taken
         * once) needs the session in the server's cache: tickets are then
         * references to it (stateful), kept by this configuration */
        SSL_CTX_set_max_early_data(ctx, (uint32_t)early);
        SSL_CTX_set_recv_max_early_data(ctx, (uint32_t)early);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
    unsigned period = early ? 0 : site->cfg.tls_ticket_rotate_s;
    pthread_mutex_lock(&tickets.lock);
    if (period && period != tickets.period_s) {
        tickets.period_s = period;
        tickets.have_cur = 0; /* a new period starts with a new key */
    }
    pthread_mutex_unlock(&tickets.lock);
    if (early) {
        SSL_CTX_set_timeout(ctx, (long)site->cfg.tls_ticket_rotate_s * 2);
    } else if (period == 0) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx, 0);
    } else {
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
        /* one ticket per full handshake, not OpenSSL's two: HTTP clients
         * resume one connection per origin, and each ticket costs an
         * encryption, a MAC and a write */
        SSL_CTX_set_num_tickets(ctx, 1);
        SSL_CTX_set_timeout(ctx, (long)period * 2); /* the lifetime hint */
    }
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
    SSL_CTX_set_tlsext_servername_callback(ctx, on_sni);
    SSL_CTX_set_tlsext_servername_arg(ctx, site);
    return ctx;
}

int nxx_tls_scope_cert(struct nxx_scope *scope, const char *cert, const char *key, char *err,
                       size_t errlen)
{
    if (scope->kind == NXX_SCOPE_LOCATION) {
        snprintf(err, errlen, "a certificate belongs to the server or a host, not a location");
        return NXX_EINVAL;
    }
    struct tls_scope *ts = nxx_calloc(1, sizeof(*ts));
    if (!ts) {
        snprintf(err, errlen, "out of memory");
        return NXX_ENOMEM;
    }
    if (read_pem(cert, "certificate", &ts->cert_pem, &ts->cert_len, err, errlen) < 0 ||
        read_pem(key, "private key", &ts->key_pem, &ts->key_len, err, errlen) < 0 ||
        !(ts->ctx = ctx_new(scope->site, NULL, ts, cert, key, err, errlen))) {
        tls_scope_free(ts);
        return NXX_EINVAL;
    }
    if (nxx_site_on_free(scope->site, tls_scope_free, ts) != 0) {
        tls_scope_free(ts);
        snprintf(err, errlen, "out of memory");
        return NXX_ENOMEM;
    }
    scope->tls = ts; /* a second one replaces the first; both are freed with the site */
    return 0;
}

/* ---- OCSP stapling (RFC 6066 §8) ---- */

struct staple {
    unsigned char *der;
    size_t len;
};

static void staple_free(void *arg)
{
    struct staple *st = arg;
    nxx_free(st->der);
    nxx_free(st);
}

static int on_status(SSL *ssl, void *arg)
{
    const struct staple *st = arg;
    if (SSL_get_tlsext_status_type(ssl) != TLSEXT_STATUSTYPE_ocsp)
        return SSL_TLSEXT_ERR_NOACK;
    unsigned char *copy = OPENSSL_malloc(st->len); /* OpenSSL frees it */
    if (!copy)
        return SSL_TLSEXT_ERR_NOACK;
    memcpy(copy, st->der, st->len);
    if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)st->len) != 1) {
        OPENSSL_free(copy);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

#define OCSP_MAX (64 * 1024) /* an OCSP response is a few KiB */

int nxx_tls_scope_ocsp(struct nxx_scope *scope, const char *file, char *err, size_t errlen)
{
    struct tls_scope *ts = scope->tls;
    if (!ts) {
        snprintf(err, errlen, "an OCSP response needs the scope's certificate first");
        return NXX_EINVAL;
    }
    FILE *f = fopen(file, "rbe");
    if (!f) {
        snprintf(err, errlen, "cannot read the OCSP response '%s': %s", file, strerror(errno));
        return NXX_EINVAL;
    }
    struct staple *st = nxx_calloc(1, sizeof(*st));
    unsigned char *buf = nxx_malloc(OCSP_MAX + 1);
    size_t n = buf ? fread(buf, 1, OCSP_MAX + 1, f) : 0;
    fclose(f);
    /* the response must parse: a broken file would be stapled to every handshake */
    const unsigned char *p = buf;
    OCSP_RESPONSE *resp = n && n <= OCSP_MAX ? d2i_OCSP_RESPONSE(NULL, &p, (long)n) : NULL;
    if (!st || !buf || !resp) {
        snprintf(err, errlen, "'%s' is not an OCSP response (DER, %d KiB at most)", file,
                 OCSP_MAX / 1024);
        OCSP_RESPONSE_free(resp);
        ERR_clear_error();
        nxx_free(buf);
        nxx_free(st);
        return NXX_EINVAL;
    }
    OCSP_RESPONSE_free(resp);
    st->der = buf;
    st->len = n;
    if (nxx_site_on_free(scope->site, staple_free, st) != 0) {
        staple_free(st);
        snprintf(err, errlen, "out of memory");
        return NXX_ENOMEM;
    }
    ts->staple = st; /* the workers' contexts staple it too */
    SSL_CTX_set_tlsext_status_cb(ts->ctx, on_status);
    SSL_CTX_set_tlsext_status_arg(ts->ctx, st);
    return 0;
}

int nxx_scope_tls_ocsp(nxx_scope *scope, const char *file, char *err, size_t errlen)
{
    char tmp[1];
    if (!err) {
        err = tmp;
        errlen = sizeof(tmp);
    }
    if (!scope || !file) {
        snprintf(err, errlen, "no scope or file");
        return NXX_EINVAL;
    }
    return nxx_tls_scope_ocsp(scope, file, err, errlen);
}

/* ---- client certificates ---- */

/* The CA certificates of ts (ca_pem) verify ctx's clients. */
static int ctx_client_ca(SSL_CTX *ctx, OSSL_LIB_CTX *lib, const struct tls_scope *ts)
{
    BIO *b = BIO_new_mem_buf(ts->ca_pem, (int)ts->ca_len);
    STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    size_t n = 0;
    int ok = b && names && store;
    while (ok) {
        X509 *x = X509_new_ex(lib, NULL);
        if (!x || !PEM_read_bio_X509(b, &x, NULL, NULL)) {
            X509_free(x);
            break;
        }
        X509_NAME *name = X509_NAME_dup(X509_get_subject_name(x));
        ok = name && X509_STORE_add_cert(store, x) == 1 && sk_X509_NAME_push(names, name) > 0;
        if (!ok)
            X509_NAME_free(name);
        X509_free(x);
        n++;
    }
    BIO_free(b);
    if (!ok || n == 0) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        return NXX_EINVAL;
    }
    ERR_clear_error();                      /* the end of the file: no more PEM blocks */
    SSL_CTX_set_client_CA_list(ctx, names); /* the CAs the client is told of */
    SSL_CTX_set_verify(
        ctx, SSL_VERIFY_PEER | (ts->ca_require ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
    SSL_CTX_set_verify_depth(ctx, 8);
    return 0;
}

static int scope_client_ca(struct tls_scope *ts, const char *file, int require, char *err,
                           size_t errlen)
{
    char why[256];
    char *pem = NULL;
    size_t len = 0;
    if (read_pem(file, "client CA certificates", &pem, &len, err, errlen) < 0)
        return NXX_EINVAL;
    nxx_free(ts->ca_pem);
    ts->ca_pem = pem;
    ts->ca_len = len;
    ts->ca_require = require;
    if (ctx_client_ca(ts->ctx, NULL, ts) != 0) {
        snprintf(err, errlen, "cannot load the client CA certificates '%s': %s", file,
                 ssl_reason(why, sizeof(why)));
        return NXX_EINVAL;
    }
    return 0;
}

int nxx_tls_scope_client_ca(struct nxx_scope *scope, const char *file, int require, char *err,
                            size_t errlen)
{
    if (!scope->tls) {
        snprintf(err, errlen, "client certificates need the scope's certificate first");
        return NXX_EINVAL;
    }
    if (scope->kind != NXX_SCOPE_SERVER)
        return scope_client_ca(scope->tls, file, require, err, errlen);
    /* the server's: every certificate of the generation (SNI may switch the
     * handshake to a host's, whose store then verifies the client) */
    struct nxx_site *site = scope->site;
    int e = scope_client_ca(scope->tls, file, require, err, errlen);
    for (size_t i = 0; !e && i < site->nhosts; i++)
        if (site->hosts[i]->tls)
            e = scope_client_ca(site->hosts[i]->tls, file, require, err, errlen);
    return e;
}

int nxx_scope_tls_client_ca(nxx_scope *scope, const char *ca_file, int require, char *err,
                            size_t errlen)
{
    char tmp[1];
    if (!err) {
        err = tmp;
        errlen = sizeof(tmp);
    }
    if (!scope || !ca_file) {
        snprintf(err, errlen, "no scope or file");
        return NXX_EINVAL;
    }
    return nxx_tls_scope_client_ca(scope, ca_file, require, err, errlen);
}

int nxx_scope_tls(nxx_scope *scope, const char *cert_file, const char *key_file, char *err,
                  size_t errlen)
{
    char tmp[1];
    if (!err) {
        err = tmp;
        errlen = sizeof(tmp);
    }
    if (!scope || !cert_file || !key_file) {
        snprintf(err, errlen, "a certificate and a key are needed");
        return NXX_EINVAL;
    }
    return nxx_tls_scope_cert(scope, cert_file, key_file, err, errlen);
}

/* The generation's default certificate: the server's, else the first host's. */
static struct tls_scope *site_default(const struct nxx_site *site)
{
    if (site->server.tls)
        return site->server.tls;
    for (size_t i = 0; i < site->nhosts; i++)
        if (site->hosts[i]->tls)
            return site->hosts[i]->tls;
    return NULL;
}

/*
 * The worker's own context for ts, made from the loaded PEM in the worker's
 * library context.  Only the worker writes its slot.  A failure puts the
 * shared context in the slot (not tried again for this generation), which
 * works the same.
 */
static void scope_make_worker(struct nxx_site *site, struct tls_scope *ts, int slot)
{
    char err[512];
    OSSL_LIB_CTX *lib = slot_lib(slot);
    SSL_CTX *ctx =
        lib ? ctx_new(site, lib, ts, "(in memory)", "(in memory)", err, sizeof(err)) : NULL;
    if (!ctx) {
        nxx_log_error("TLS: worker %d uses the shared context: %s", slot,
                      lib ? err : "no library context");
        ERR_clear_error();
        if (SSL_CTX_up_ref(ts->ctx) != 1)
            return;
        ctx = ts->ctx;
    }
    ts->worker[slot] = ctx;
}

/*
 * The context of ts for the calling thread: its worker's own, made at the
 * worker's first handshake that uses ts in this generation (a host's at the
 * first SNI naming it, so a thousand hosts cost nothing until asked for);
 * the shared one outside workers and with 0-RTT (whose anti-replay is the
 * session cache of one SSL_CTX).
 */
static SSL_CTX *scope_ctx(struct nxx_site *site, struct tls_scope *ts)
{
    int slot = tls_slot;
    if (slot < 0 || slot >= TLS_WORKERS || site->cfg.tls_early_data)
        return ts->ctx;
    if (!ts->worker[slot])
        scope_make_worker(site, ts, slot);
    return ts->worker[slot] ? ts->worker[slot] : ts->ctx;
}

int nxx_tls_site_ready(const struct nxx_site *site)
{
    return site_default(site) != NULL;
}

void nxx_tls_log_start(void)
{
    /* the kernel's TLS (the "tls" upper-layer protocol) takes the record
     * layer of sendfile when loaded; OpenSSL turns it on per connection */
    int ktls = ktls_available();
    if (ktls)
        nxx_log_info("TLS: %s; files are sent with kernel TLS (SSL_sendfile) where the "
                     "connection's suite allows it, else read 64 KiB at a time and encrypted in 16 "
                     "KiB records",
                     OpenSSL_version(OPENSSL_VERSION));
    else
        nxx_log_info(
            "TLS: %s; no kernel TLS (the kernel's tls module is not loaded or OpenSSL "
            "lacks it): files are read 64 KiB at a time and sent as four 16 KiB records per "
            "write",
            OpenSSL_version(OPENSSL_VERSION));
}

/* ---- the transport ---- */

struct tls_conn {
    SSL *ssl;
    int fd;
    /* records encrypted and not yet on the socket (a batch's unsent tail),
     * and how many bytes of the caller's data they carry, not yet reported
     * written: the caller's retry brings those bytes again (tls_write) */
    char *pend;
    size_t pend_len, pend_off, pend_plain;
    size_t checked_len; /* checked[..len): the last authority found covered */
    char checked[AUTHORITY_MAX];
};

/* ---- record batches ----
 *
 * OpenSSL writes each 16 KiB record to its BIO with one call, which a socket
 * BIO makes one send.  Without kernel TLS, connections get a write BIO of
 * our own instead: while tls_write runs, it gathers up to TLS_BATCH_RECORDS
 * records in a buffer of the worker thread, and tls_write sends them with
 * one call (a 64 KiB piece of a file: one send, not four).  Outside
 * tls_write (the handshake, alerts, close_notify) it sends at once, as the
 * socket BIO does.  What the socket did not take is kept by the connection
 * (tls_conn.pend), and the caller's data it carries is reported written
 * only once it is on the socket, so the caller's retry is what sends it.
 */
#define TLS_BATCH_RECORDS 4
#define TLS_RECORD_MAX (TLS_RECORD + 256) /* a record with its header, padding and tag */
#define TLS_BATCH_CAP (TLS_BATCH_RECORDS * TLS_RECORD_MAX)

static _Thread_local struct {
    struct tls_conn *owner; /* gathering for this connection, or NULL */
    size_t len;
    char buf[TLS_BATCH_CAP];
} batch;

static BIO_METHOD *batch_method;
static pthread_once_t batch_once = PTHREAD_ONCE_INIT;

/* send(2) of what it can: bytes sent, or -errno (-EAGAIN: full). */
static ssize_t send_some(int fd, const char *p, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, p + done, len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return done ? (ssize_t)done : -errno;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* Send what the connection kept: 1 when nothing is left, 0 if the socket
 * is full, -errno on failure. */
static int pend_flush(struct tls_conn *t)
{
    if (t->pend_off == t->pend_len)
        return 1;
    ssize_t n = send_some(t->fd, t->pend + t->pend_off, t->pend_len - t->pend_off);
    if (n < 0)
        return n == -EAGAIN || n == -EWOULDBLOCK ? 0 : (int)n;
    t->pend_off += (size_t)n;
    if (t->pend_off < t->pend_len)
        return 0;
    nxx_free(t->pend);
    t->pend = NULL;
    t->pend_len = t->pend_off = 0;
    return 1;
}

/* Keep p[..len) after what the connection keeps already. */
static int pend_keep(struct tls_conn *t, const char *p, size_t len)
{
    size_t left = t->pend_len - t->pend_off;
    char *np = nxx_malloc(left + len);
    if (!np)
        return -1;
    if (left)
        memcpy(np, t->pend + t->pend_off, left);
    memcpy(np + left, p, len);
    nxx_free(t->pend);
    t->pend = np;
    t->pend_off = 0;
    t->pend_len = left + len;
    return 0;
}

static int batch_bio_write(BIO *b, const char *p, int n)
{
    struct tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (n <= 0)
        return 0;
    size_t len = (size_t)n;
    if (batch.owner == t && TLS_BATCH_CAP - batch.len >= len) {
        memcpy(batch.buf + batch.len, p, len);
        batch.len += len;
        return n;
    }
    if (batch.owner == t) {
        /* tls_write leaves room for a whole record before each SSL_write */
        BIO_set_retry_write(b);
        return -1;
    }
    /* outside tls_write: after what is kept, in order */
    int f = pend_flush(t);
    if (f < 0)
        return -1;
    if (f == 0)
        return pend_keep(t, p, len) == 0 ? n : -1;
    ssize_t r = send_some(t->fd, p, len);
    if (r == -EAGAIN || r == -EWOULDBLOCK) {
        BIO_set_retry_write(b);
        return -1;
    }
    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return (int)r;
}

static long batch_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    /* a flush (after handshake messages) finds nothing held: writes outside
     * tls_write went to the socket at once */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int batch_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void batch_method_make(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "nxx record batch");
    if (m &&
        (BIO_meth_set_write(m, batch_bio_write) != 1 || BIO_meth_set_ctrl(m, batch_bio_ctrl) != 1 ||
         BIO_meth_set_create(m, batch_bio_create) != 1)) {
        BIO_meth_free(m);
        m = NULL;
    }
    batch_method = m;
}

/* Give ssl the socket fd: a socket BIO to read, the batching one to write
 * (kernel TLS needs the socket BIO for both).  1, or 0 on failure. */
static int ssl_attach(SSL *ssl, struct tls_conn *t, int fd)
{
    t->fd = fd;
    if (ktls_available())
        return SSL_set_fd(ssl, fd);
    pthread_once(&batch_once, batch_method_make);
    BIO *r = BIO_new_socket(fd, BIO_NOCLOSE);
    BIO *w = batch_method && r ? BIO_new(batch_method) : NULL;
    if (!w) {
        BIO_free(r);
        return 0;
    }
    BIO_set_data(w, t);
    SSL_set_bio(ssl, r, w);
    return 1;
}

static inline SSL *ssl_of(const struct nxx_conn *c)
{
    return ((struct tls_conn *)c->tp_data)->ssl;
}

/* What an SSL call's failure means for the transport: -EAGAIN to wait. */
static ssize_t ssl_fail(SSL *ssl, int r)
{
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return -EAGAIN;
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0; /* the peer's close_notify */
    int syserr = e == SSL_ERROR_SYSCALL && errno ? errno : 0;
    ERR_clear_error();
    return syserr ? -syserr : -ECONNRESET;
}

/*
 * A write that failed.  SSL_get_error says ZERO_RETURN for any call once the
 * peer's close_notify has been read (read-ahead may have read it with the
 * request): for a write that is a closed connection, never "0 written",
 * which a caller would retry for ever.
 */
static ssize_t ssl_write_fail(SSL *ssl, int r)
{
    ssize_t f = ssl_fail(ssl, r);
    return f == 0 ? -EPIPE : f;
}

static ssize_t tls_read(struct nxx_conn *c, char *buf, size_t len)
{
    SSL *ssl = ssl_of(c);
    size_t got = 0;
    while (got < len) {
        size_t n = 0;
        int r = SSL_read_ex(ssl, buf + got, len - got, &n);
        if (r == 1) {
            got += n;
            continue;
        }
        ssize_t f = ssl_fail(ssl, r);
        if (got)
            return (ssize_t)got; /* the failure comes again at the next read */
        return f;
    }
    return (ssize_t)got;
}

/* The worker thread's buffer for gathering pieces and reading files: a
 * file is read 64 KiB at a time (four full records per pread). */
#define TLS_FILE_READ (4 * TLS_RECORD)
static _Thread_local char tls_buf[TLS_FILE_READ];

/*
 * SSL_write in partial-write mode makes one record per call.  With the
 * batching BIO, records gather in the worker's batch until it has no room
 * for another, and go out with one send; the caller hears of the data of
 * the records the socket took (the rest is kept: pend).  With the socket
 * BIO (kernel TLS), each record is sent as it is made, and a record that
 * has to wait stays in OpenSSL, which wants the same bytes again: they are
 * the ones after what is reported written, so the caller's retry carries
 * them.
 */
static ssize_t tls_write_direct(SSL *ssl, const void *p, size_t len)
{
    size_t done = 0;
    while (done < len) {
        size_t n = 0;
        int r = SSL_write_ex(ssl, (const char *)p + done, len - done, &n);
        if (r != 1)
            return done ? (ssize_t)done : ssl_write_fail(ssl, r);
        done += n;
    }
    return (ssize_t)done;
}

static ssize_t tls_write_batch(struct tls_conn *t, const void *p, size_t len)
{
    if (!t->pend && t->pend_plain == 0 && SSL_get_wbio(t->ssl) &&
        BIO_method_type(SSL_get_wbio(t->ssl)) == BIO_TYPE_SOCKET)
        return tls_write_direct(t->ssl, p, len);
    /* what the socket did not take last time goes first; the data it
     * carries is this call's first bytes (the caller's retry) */
    int f = pend_flush(t);
    if (f < 0)
        return f;
    if (f == 0)
        return -EAGAIN;
    if (t->pend_plain) {
        size_t k = t->pend_plain < len ? t->pend_plain : len;
        t->pend_plain -= k;
        return (ssize_t)k;
    }
    size_t ends[TLS_BATCH_RECORDS + 1], plain[TLS_BATCH_RECORDS + 1];
    size_t nrec = 0, done = 0;
    ssize_t fail = 0;
    batch.owner = t;
    batch.len = 0;
    while (done < len && nrec < TLS_BATCH_RECORDS && TLS_BATCH_CAP - batch.len >= TLS_RECORD_MAX) {
        size_t n = 0;
        int r = SSL_write_ex(t->ssl, (const char *)p + done, len - done, &n);
        if (r != 1) {
            fail = ssl_write_fail(t->ssl, r);
            break;
        }
        done += n;
        ends[nrec] = batch.len;
        plain[nrec++] = n;
    }
    batch.owner = NULL;
    ssize_t sent = batch.len ? send_some(t->fd, batch.buf, batch.len) : 0;
    if (sent < 0 && sent != -EAGAIN && sent != -EWOULDBLOCK)
        return sent;
    size_t on = sent > 0 ? (size_t)sent : 0, told = 0, i = 0;
    for (; i < nrec && ends[i] <= on; i++)
        told += plain[i];
    if (on < batch.len) {
        /* the socket is full: keep the rest, report only what it took */
        if (pend_keep(t, batch.buf + on, batch.len - on) < 0)
            return -ENOMEM;
        for (; i < nrec; i++)
            t->pend_plain += plain[i];
    }
    if (told)
        return (ssize_t)told;
    return fail ? fail : -EAGAIN;
}

/* Batch after batch until all of p is written or the socket is full: as
 * with a plain socket, a short count means the socket took no more (its
 * callers then wait for EPOLLOUT), never that a batch ran out of room.
 * p is NULL for the retry of bytes already encrypted (tls_sendfile). */
static ssize_t tls_write(struct tls_conn *t, const void *p, size_t len)
{
    size_t total = 0;
    for (;;) {
        ssize_t n = tls_write_batch(t, p ? (const char *)p + total : NULL, len - total);
        if (n <= 0)
            return total ? (ssize_t)total : n;
        total += (size_t)n;
        if (total == len || t->pend || !p)
            return (ssize_t)total;
    }
}

static ssize_t tls_writev(struct nxx_conn *c, const struct iovec *iov, int iovcnt, int more)
{
    (void)more;
    struct tls_conn *t = c->tp_data;
    if (iovcnt == 1)
        return tls_write(t, iov[0].iov_base, iov[0].iov_len);
    /* small pieces are gathered (a head and a small body: one record; a
     * head and a larger body: one batch of records, one send), a piece of
     * a record or more goes as it is; on until the socket is full.  A
     * write that has to wait is retried with the same queue, so the same
     * bytes are gathered again (OpenSSL requires a retry to carry them) */
    size_t total = 0, off = 0;
    for (int i = 0; i < iovcnt;) {
        if (off == iov[i].iov_len) {
            i++;
            off = 0;
            continue;
        }
        const char *p = (const char *)iov[i].iov_base + off;
        size_t n = iov[i].iov_len - off;
        if (n < TLS_RECORD && i + 1 < iovcnt) {
            n = 0;
            size_t o = off;
            for (int j = i; j < iovcnt && n < TLS_FILE_READ; j++, o = 0) {
                size_t k = iov[j].iov_len - o;
                k = k < TLS_FILE_READ - n ? k : TLS_FILE_READ - n;
                memcpy(tls_buf + n, (const char *)iov[j].iov_base + o, k);
                n += k;
            }
            p = tls_buf;
        }
        ssize_t w = tls_write(t, p, n);
        if (w <= 0)
            return total ? (ssize_t)total : w;
        total += (size_t)w;
        if ((size_t)w < n)
            return (ssize_t)total; /* the socket is full */
        for (size_t left = (size_t)w; left;) {
            size_t k = iov[i].iov_len - off < left ? iov[i].iov_len - off : left;
            off += k;
            left -= k;
            if (off == iov[i].iov_len && left) {
                i++;
                off = 0;
            }
        }
    }
    return (ssize_t)total;
}

static ssize_t tls_sendfile(struct nxx_conn *c, int fd, off_t *off, size_t len)
{
    SSL *ssl = ssl_of(c);
    if (BIO_get_ktls_send(SSL_get_wbio(ssl))) {
        ossl_ssize_t n = SSL_sendfile(ssl, fd, *off, len, 0);
        if (n > 0) {
            *off += n;
            return n;
        }
        return ssl_write_fail(ssl, (int)n);
    }
    struct tls_conn *t = c->tp_data;
    if (t->pend_plain) {
        /* the retry of a piece already encrypted: no need to read it again */
        ssize_t k = tls_write(t, NULL, t->pend_plain < len ? t->pend_plain : len);
        if (k > 0)
            *off += k;
        return k;
    }
    /* a retry after a full socket reads the same bytes again */
    size_t want = len < TLS_FILE_READ ? len : TLS_FILE_READ;
    ssize_t r;
    do
        r = pread(fd, tls_buf, want, *off);
    while (r < 0 && errno == EINTR);
    if (r <= 0)
        return r < 0 ? -errno : 0;
    ssize_t n = tls_write(c->tp_data, tls_buf, (size_t)r);
    if (n > 0)
        *off += n;
    return n;
}

static void tls_shutdown(struct nxx_conn *c)
{
    /* close_notify (RFC 8446 §6.1), without waiting for the peer's */
    SSL *ssl = ssl_of(c);
    if (SSL_is_init_finished(ssl) && SSL_shutdown(ssl) < 0)
        ERR_clear_error();
    shutdown(c->io.fd, SHUT_WR);
}

static void tls_close(struct nxx_conn *c)
{
    struct tls_conn *t = c->tp_data;
    if (!t)
        return;
    /* close_notify unless sent already: the client learns the response is
     * whole, and OpenSSL keeps the session (an unclean end drops it) */
    if (SSL_is_init_finished(t->ssl) && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN) &&
        SSL_shutdown(t->ssl) < 0)
        ERR_clear_error();
    SSL_free(t->ssl);
    nxx_free(t->pend);
    nxx_free(t);
    c->tp_data = NULL;
}

/* RFC 9110 §4.3.3, §7.4: the request's authority must be one the
 * connection's certificate is good for, or the request was misdirected. */
static int tls_covers(struct nxx_conn *c, nxx_str host)
{
    struct tls_conn *t = c->tp_data;
    if (!SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name))
        return 1; /* the client named no server: it checked the certificate against its URL */
    if (host.len && host.len == t->checked_len && memcmp(host.ptr, t->checked, host.len) == 0)
        return 1;
    if (!host.len || host.len >= sizeof(t->checked))
        return 0;
    X509 *cert = SSL_get_certificate(t->ssl);
    if (!cert)
        return 0;
    memcpy(t->checked, host.ptr, host.len);
    t->checked[host.len] = '\0';
    int ok;
    if (t->checked[0] == '[') { /* an IPv6 literal */
        char ip[64];
        size_t n = host.len - 2;
        if (host.len < 3 || t->checked[host.len - 1] != ']' || n >= sizeof(ip))
            return 0;
        memcpy(ip, t->checked + 1, n);
        ip[n] = '\0';
        ok = X509_check_ip_asc(cert, ip, 0) == 1;
    } else {
        ok = X509_check_ip_asc(cert, t->checked, 0) == 1 ||
             X509_check_host(cert, t->checked, host.len, 0, NULL) == 1;
    }
    t->checked_len = ok ? host.len : 0;
    return ok;
}

static int tls_peer(struct nxx_conn *c, char *buf, size_t len)
{
    SSL *ssl = ssl_of(c);
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (!cert || SSL_get_verify_result(ssl) != X509_V_OK)
        return 0;
    if (buf && len)
        X509_NAME_oneline(X509_get_subject_name(cert), buf,
                          (int)(len > INT32_MAX ? INT32_MAX : len));
    return 1;
}

const struct nxx_transport nxx_transport_tls = {
    "tls", tls_read, tls_writev, tls_sendfile, tls_shutdown, tls_close, tls_covers, tls_peer,
};

/* ---- the handshake ---- */

struct hs {
    struct nxx_conn conn; /* first: the engine's view */
    struct nxx_timer timer;
    struct nxx_site *site; /* held until the handshake ends: the SNI callback reads it */
    unsigned registered : 1, sniffed : 1, early_wanted : 1, want_write : 1;
    unsigned refuse : 1;    /* over max-connections: handshake, read, 503, close */
    unsigned answering : 1; /* refuse: the handshake is done, the request awaited */
    char *early; /* TLS 1.3 early data received (NXX_RBUF_SIZE), handed to the protocol */
    size_t early_len;
};

/* TLS connections of this worker being refused (at most tls-refusals). */
static _Thread_local unsigned refusing;

static void hs_release(struct nxx_conn *base)
{
    struct hs *h = (struct hs *)base;
    if (h->refuse) {
        h->refuse = 0;
        refusing--;
    }
    if (nxx_timer_armed(&h->timer))
        nxx_timer_cancel(&base->w->loop, &h->timer);
    if (h->site) {
        nxx_site_unref(h->site);
        h->site = NULL;
    }
    nxx_free(h->early);
    h->early = NULL;
}

static void hs_nothing(struct nxx_conn *base)
{
    (void)base;
}

static void hs_drain(struct nxx_conn *base)
{
    nxx_conn_close(base); /* a connection still shaking hands has no request to finish */
}

static int hs_idle(const struct nxx_conn *base)
{
    (void)base;
    return 1;
}

static const struct nxx_conn_ops hs_ops = {
    .drain = hs_drain,
    .release = hs_release,
    .bury = hs_nothing,
    .resume = hs_nothing,
    .idle = hs_idle,
};

#define PLAIN_BODY                                                                                 \
    "{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"status\":400,"                          \
    "\"detail\":\"this port speaks HTTPS: the request was sent as plain HTTP; use an "             \
    "https:// URL\"}\n"
_Static_assert(sizeof(PLAIN_BODY) - 1 == 149, "Content-Length of the plain answer");
static const char plain_answer[] = "HTTP/1.1 400 Bad Request\r\n"
                                   "Content-Type: application/problem+json\r\n"
                                   "Content-Length: 149\r\n"
                                   "Connection: close\r\n"
                                   "\r\n" PLAIN_BODY;

/*
 * A plain HTTP request on a TLS port: a 400 the person behind it can read.
 * What arrived is read first so that the close is a FIN, not a reset that
 * could destroy the answer before it is read.
 */
static void hs_plain(struct hs *h)
{
    char tmp[PLAIN_DRAIN];
    ssize_t n;
    do
        n = recv(h->conn.io.fd, tmp, sizeof(tmp), 0);
    while (n < 0 && errno == EINTR);
    if (send(h->conn.io.fd, plain_answer, sizeof(plain_answer) - 1, MSG_NOSIGNAL) < 0)
        nxx_log_debug("cannot answer a plain request on a TLS port: %s", strerror(errno));
    shutdown(h->conn.io.fd, SHUT_WR);
    nxx_conn_close(&h->conn);
}

static void hs_on_timeout(struct nxx_loop *loop, struct nxx_timer *t)
{
    (void)loop;
    struct hs *h = (struct hs *)((char *)t - offsetof(struct hs, timer));
    nxx_conn_close(&h->conn);
}

/* The handshake is done: the protocol ALPN chose takes the connection. */
static void hs_done(struct hs *h)
{
    struct nxx_conn *c = &h->conn;
    SSL *ssl = ssl_of(c);
    if (h->registered && nxx_loop_del(&c->w->loop, &c->io) < 0) {
        nxx_conn_close(c);
        return;
    }
    h->registered = 0;
    char *early = h->early;
    size_t nearly = h->early_len;
    h->early = NULL;
    hs_release(c);
    c->early = nearly > 0;
    const unsigned char *p = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl, &p, &len);
    int (*start)(struct nxx_conn *, const void *, size_t) = nxx_http1_start;
    for (size_t i = 0; p && i < nxx_alpn_count; i++)
        if (strlen(nxx_alpn_protocols[i].name) == len &&
            memcmp(nxx_alpn_protocols[i].name, p, len) == 0)
            start = nxx_alpn_protocols[i].start;
    start(c, early, nearly);
    nxx_free(early);
}

/*
 * TLS 1.3 early data (RFC 8446 §4.2.10): read it before the handshake
 * completes; it is handed to the protocol with the connection, which
 * marks the requests it holds (nxx_req_early_data).  1 when done (or
 * none), 0 to wait, -1 on failure.
 */
static int hs_early(struct hs *h)
{
    SSL *ssl = ssl_of(&h->conn);
    if (!h->early && !(h->early = nxx_malloc(NXX_RBUF_SIZE)))
        return -1;
    for (;;) {
        size_t n = 0;
        if (h->early_len == NXX_RBUF_SIZE)
            return -1; /* more than tls-early-data allows: OpenSSL refuses it first */
        ERR_clear_error();
        int r = SSL_read_early_data(ssl, h->early + h->early_len, NXX_RBUF_SIZE - h->early_len, &n);
        h->early_len += n;
        if (r == SSL_READ_EARLY_DATA_SUCCESS)
            continue;
        if (r == SSL_READ_EARLY_DATA_FINISH) {
            h->early_wanted = 0;
            return 1;
        }
        return ssl_fail(ssl, 0) == -EAGAIN ? 0 : -1;
    }
}

#define REFUSE_DRAIN (16 * 1024) /* request bytes read before a refused connection's 503 */

/*
 * A connection over max-connections, its handshake done: its 503 once its
 * request has come (answered before, the request arriving after the close
 * would reset the connection and could destroy the answer), close_notify,
 * close.  0 to wait for the request (bounded by the handshake timer), 1
 * when closed.
 */
static int hs_refuse(struct hs *h)
{
    struct nxx_conn *c = &h->conn;
    SSL *ssl = ssl_of(c);
    char drop[4096];
    size_t got = 0;
    for (;;) {
        size_t n = 0;
        ERR_clear_error();
        if (SSL_read_ex(ssl, drop, sizeof(drop), &n) != 1) {
            if (ssl_fail(ssl, 0) == -EAGAIN && got == 0)
                return 0;
            break; /* the request read, or the client gone: answer what can be */
        }
        got += n;
        if (got >= REFUSE_DRAIN)
            break;
    }
    const struct nxx_refusal *r = &c->w->srv->refusals[NXX_REFUSE_CONNECTIONS];
    size_t n = 0;
    ERR_clear_error();
    if (SSL_write_ex(ssl, r->buf, r->len, &n) == 1 && SSL_shutdown(ssl) >= 0)
        shutdown(c->io.fd, SHUT_WR);
    ERR_clear_error();
    nxx_conn_close(c);
    return 1;
}

static void hs_step(struct hs *h)
{
    struct nxx_conn *c = &h->conn;
    if (!h->sniffed) {
        unsigned char b[8];
        ssize_t n;
        do
            n = recv(c->io.fd, b, sizeof(b), MSG_PEEK);
        while (n < 0 && errno == EINTR);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            nxx_conn_close(c);
            return;
        }
        enum nxx_sniff s = n > 0 ? nxx_sniff(b, (size_t)n) : NXX_SNIFF_MORE;
        if (s == NXX_SNIFF_HTTP) {
            hs_plain(h);
            return;
        }
        if (s == NXX_SNIFF_MORE)
            goto wait;
        h->sniffed = 1; /* a hello, or something OpenSSL will refuse */
    }
    if (h->early_wanted) {
        int e = hs_early(h);
        if (e < 0) {
            ERR_clear_error();
            nxx_conn_close(c);
            return;
        }
        if (e == 0)
            goto wait;
    }
    if (h->answering) {
        if (hs_refuse(h) == 0)
            goto wait;
        return;
    }
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_of(c));
    if (r == 1 && h->refuse) {
        h->answering = 1;
        if (hs_refuse(h) == 0)
            goto wait;
        return;
    }
    if (r == 1) {
        hs_done(h);
        return;
    }
    int e = SSL_get_error(ssl_of(c), r);
    if (e == SSL_ERROR_WANT_WRITE && !h->want_write) {
        /* a full socket (rare in a handshake): wait for writability too */
        if (h->registered && nxx_loop_del(&c->w->loop, &c->io) < 0) {
            nxx_conn_close(c);
            return;
        }
        h->registered = 0;
        h->want_write = 1;
    }
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        if (nxx_log_level >= NXX_LOG_DEBUG) {
            char why[256];
            nxx_log_debug("TLS handshake failed: %s", ssl_reason(why, sizeof(why)));
        }
        ERR_clear_error();
        nxx_conn_close(c);
        return;
    }
wait:
    if (!h->registered) {
        /* readable only, as a rule: a socket is writable at once, and
         * an edge for it would wake the loop for nothing */
        unsigned ev = NXX_EV_READ | (h->want_write ? NXX_EV_WRITE : 0);
        if (nxx_loop_add(&c->w->loop, &c->io, ev) < 0) {
            nxx_conn_close(c);
            return;
        }
        h->registered = 1;
    }
}

static void hs_on_io(struct nxx_loop *loop, struct nxx_io *io, unsigned events)
{
    (void)loop;
    (void)events;
    struct hs *h = (struct hs *)io; /* io is the first member of conn, conn of hs */
    if (!h->conn.closed)
        hs_step(h);
}

void nxx_tls_accept(struct nxx_worker *w, int fd, const struct sockaddr_storage *peer,
                    const struct nxx_listener *l)
{
    /* over max-connections: a refusal a TLS client can read, while there
     * are few (each is a handshake the server pays for) */
    struct nxx_server *srv = w->srv;
    unsigned open = atomic_fetch_add(&srv->nconns, 1);
    int refuse = open >= srv->cfg.max_connections;
    if (w->draining || (refuse && refusing >= srv->cfg.tls_refusals)) {
        atomic_fetch_sub(&srv->nconns, 1);
        close(fd);
        return;
    }
    /* the newest generation's certificates */
    if (atomic_load_explicit(&w->srv->site, memory_order_acquire) != w->site_use->site)
        nxx_worker_site_update(w);
    struct nxx_site *site = w->site_use->site;
    struct tls_scope *def = site_default(site);
    tls_slot = w->id < TLS_WORKERS ? (int)w->id : -1;
    SSL_CTX *ctx = def ? scope_ctx(site, def) : NULL;
    struct hs *h = ctx ? nxx_calloc(1, sizeof(*h)) : NULL;
    struct tls_conn *t = h ? nxx_calloc(1, sizeof(*t)) : NULL;
    SSL *ssl = t ? SSL_new(ctx) : NULL;
    if (!ssl || ssl_attach(ssl, t, fd) != 1) {
        if (!ctx)
            nxx_log_error("a TLS listener but no certificate in the configuration");
        SSL_free(ssl);
        nxx_free(t);
        nxx_free(h);
        ERR_clear_error();
        atomic_fetch_sub(&w->srv->nconns, 1);
        close(fd);
        return;
    }
    SSL_set_accept_state(ssl);
    if (refuse) {
        SSL_set_app_data(ssl, (void *)(uintptr_t)&refusal_mark);
        SSL_set_max_early_data(ssl, 0);
        h->refuse = 1;
        refusing++;
    }
    t->ssl = ssl;
    nxx_conn_init(&h->conn, w, fd, peer, &hs_ops);
    h->conn.listener = l;
    h->conn.checks = 1;
    h->conn.tp = &nxx_transport_tls;
    h->conn.tp_data = t;
    h->conn.io.cb = hs_on_io;
    nxx_site_ref(site);
    h->site = site;
    h->early_wanted = site->cfg.tls_early_data > 0 && !refuse;
    nxx_timer_init(&h->timer, hs_on_timeout);
    nxx_timer_set(&w->loop, &h->timer, site->cfg.tls_handshake_timeout_ms);
    hs_step(h);
}
