/*
 * auth.c - Basic authentication against htpasswd files, roles from a
 * groups file, and the `require` policy that checks them (contract in
 * policy/auth.h and nxx.h).
 *
 * Why it is shaped this way:
 *  - Only slow, salted hashes are accepted (bcrypt, SHA-crypt, yescrypt,
 *    through libcrypt's crypt_rn): a leaked htpasswd file of MD5-crypt or
 *    SHA-1 hashes is cracked in hours, so such files are refused at load
 *    rather than served.
 *  - A slow hash costs milliseconds, which a keep-alive client would pay
 *    on every request: a verified Authorization value is remembered per
 *    worker for a short time, keyed by a 128-bit SipHash of the value
 *    under a key of the instance (itself the SipHash of the instance's id
 *    under a random key of the process), never the value itself.  Without that key nobody can make
 * another value pass for a cached one; and it costs a couple of hundred instructions where a
 *    SHA-256 through OpenSSL's EVP layer cost thousands, on every request.
 *  - An unknown user costs the same hash as a known one, and hashes are
 *    compared in constant time, so timing tells nothing about which names
 *    exist.
 *  - Failures are counted per client address in a shared limiter: past
 *    max_failures in the window the address gets 429 before any hash is
 *    computed, so guessing runs at max_failures a window, not line rate.
 */
#include "policy/auth.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/compiler.h"
#include "core/log.h"
#include "core/siphash.h"
#include "core/str.h"
#include "http/field.h"
#include "http/request.h"
#include "http/site.h"
#include "policy/client.h"
#include "policy/digest.h"
#include "policy/jwt.h"
#include "policy/limiter.h"
#include "policy/lines.h"
#include "policy/shared.h"
#include "os/random.h"
#include "core/banned.h"

#define CRED_MAX 1024   /* decoded user:password */
#define CACHE_SLOTS 256 /* per worker */
#define MAX_ROLES 64
#define FAIL_KEYS 16384

struct user {
    const struct nxx_auth *owner;
    char *name;
    size_t nlen; /* strlen(name): the access log's user, on every request */
    char *hash;
    uint64_t roles;                      /* bit i: a->roles[i] */
    const struct nxx_jwt_claims *claims; /* a JWT's user: its roles */
};

/* A bearer token file's line: the SHA-256 of a token and whose it is. */
struct token {
    unsigned char digest[32];
    size_t user; /* index into users once they are sorted */
    char *name;
};

struct nxx_auth {
    uint64_t id;            /* tells instances apart in the workers' caches */
    unsigned char ckey[16]; /* the cache's SipHash key: the process's, made this instance's */
    int ckey_ok;
    char *realm;
    int proxy;
    unsigned cache_ms;
    unsigned max_failures;
    struct user *users; /* sorted by name */
    size_t nusers, ucap;
    struct token *tokens; /* sorted by digest */
    size_t ntokens;
    int basic, bearer; /* the schemes offered */
    struct nxx_jwt *jwt;
    char bearer_challenge[160];
    char *dummy; /* hashed when the user is unknown */
    char *roles[MAX_ROLES];
    size_t nroles;
    struct nxx_limiter *fails;
    struct nxx_shared *fails_shared; /* fails' reference when a scope's: kept across reloads */
    struct nxx_cidrs trusted;
    char challenge[256]; /* the WWW-Authenticate / Proxy-Authenticate value */
};

static atomic_uint_fast64_t next_id = 1;

static void instance_key(struct nxx_auth *a);

/* ---- small pure pieces ---- */

/* Eight bytes a step, every byte looked at whatever the differences: the
 * time says nothing about where two values part.  The empty asm keeps the
 * compiler from turning the accumulated difference into an early exit. */
int nxx_auth_ct_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    uint64_t d = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t u, v;
        memcpy(&u, x + i, 8);
        memcpy(&v, y + i, 8);
        d |= u ^ v;
        __asm__ volatile("" : "+r"(d));
    }
    for (; i < n; i++) {
        d |= (uint64_t)(x[i] ^ y[i]);
        __asm__ volatile("" : "+r"(d));
    }
    return d == 0;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

long nxx_auth_base64_decode(nxx_str in, char *out, size_t cap)
{
    if (in.len % 4)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < in.len; i += 4) {
        const unsigned char *q = (const unsigned char *)in.ptr + i;
        int last = i + 4 == in.len;
        int pad = last && q[3] == '=' ? (q[2] == '=' ? 2 : 1) : 0;
        int v[4];
        for (int j = 0; j < 4; j++) {
            v[j] = j >= 4 - pad ? 0 : b64val(q[j]);
            if (v[j] < 0)
                return -1;
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        size_t k = 3 - (size_t)pad;
        if (n + k > cap)
            return -1;
        out[n++] = (char)(w >> 16);
        if (k > 1)
            out[n++] = (char)(w >> 8);
        if (k > 2)
            out[n++] = (char)w;
    }
    return (long)n;
}

int nxx_auth_parse_basic(nxx_str value, char *buf, size_t cap, nxx_str *user, nxx_str *pass)
{
    /* credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ] (RFC 9110 §11.4) */
    struct nxx_field_iter it;
    nxx_field_iter_init(&it, nxx_field_trim(value));
    nxx_str scheme = nxx_field_token(&it);
    if (scheme.len != 5 || strncasecmp(scheme.ptr, "basic", 5) != 0)
        return -1;
    if (it.p == it.end || *it.p != ' ')
        return -1;
    while (it.p < it.end && *it.p == ' ')
        it.p++;
    nxx_str tok = nxx_field_rest(&it);
    long n = nxx_auth_base64_decode(tok, buf, cap);
    if (n < 0)
        return -1;
    const char *colon = memchr(buf, ':', (size_t)n);
    if (!colon)
        return -1;
    for (long i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            return -1; /* RFC 7617 §2: no control characters */
    *user = (nxx_str){ buf, (size_t)(colon - buf) };
    *pass = (nxx_str){ colon + 1, (size_t)(buf + n - colon - 1) };
    return 0;
}

/* ---- loading ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* crypt(3) can check it: SHA-crypt is "legacy" and htpasswd's bcrypt cost
 * "too cheap" to libxcrypt's taste, but both are what htpasswd writes. */
static int checkable(const char *h)
{
    int r = crypt_checksalt(h);
    if (r == CRYPT_SALT_INVALID || r == CRYPT_SALT_METHOD_DISABLED)
        return 0;
    /* a whole hash, not only its settings: the checksum after the last '$'
     * has its method's length (a bare "$6$" would match nothing, silently) */
    const char *sum = strrchr(h, '$') + 1;
    size_t n = strlen(sum);
    if (h[1] == '2')
        return strlen(h) == 60;
    return h[1] == '6' ? n == 86 : n == 43;
}

/* Why a hash is refused, or NULL (RFC-less, but what htpasswd writes). */
static const char *weak_hash(const char *h)
{
    static const char *const good[] = {
        "$2y$", "$2a$", "$2b$", "$5$", "$6$", "$y$", "$7$", "$gy$"
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (strncmp(h, good[i], strlen(good[i])) == 0)
            return checkable(h) ? NULL : "is not a hash this system's crypt(3) can check";
    if (strncmp(h, "$apr1$", 6) == 0 || strncmp(h, "$1$", 3) == 0)
        return "is an MD5-crypt hash, which is refused as too weak";
    if (strncmp(h, "{SHA}", 5) == 0)
        return "is an unsalted SHA-1 hash, which is refused as too weak";
    return "is a plaintext password or a DES crypt hash, which is refused";
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct user *)a)->name, ((const struct user *)b)->name);
}

static int add_user(struct nxx_auth *a, const char *name, const char *hash)
{
    if (a->nusers == a->ucap) {
        size_t ncap = a->ucap ? a->ucap * 2 : 16;
        struct user *nu = nxx_realloc(a->users, ncap * sizeof(*nu));
        if (!nu)
            return -1;
        a->users = nu;
        a->ucap = ncap;
    }
    struct user *u = &a->users[a->nusers++];
    u->owner = a;
    u->roles = 0;
    u->claims = NULL;
    u->name = nxx_strdup(name);
    u->nlen = u->name ? strlen(u->name) : 0;
    u->hash = hash ? nxx_strdup(hash) : NULL;
    return u->name && (u->hash || !hash) ? 0 : -1;
}

/* What the line readers below share. */
struct load {
    struct nxx_auth *a;
    const char *path;
    char *err;
    size_t errlen;
    size_t cap;
};

/* htpasswd: "user:hash" lines. */
static int user_line(void *ctx, char *line, size_t lineno)
{
    struct load *l = ctx;
    if (!line[0] || line[0] == '#')
        return 0;
    char *colon = strchr(line, ':');
    if (!colon || colon == line || !colon[1])
        return fail(l->err, l->errlen, "%s:%zu: not a 'user:hash' line", l->path, lineno);
    *colon = '\0';
    const char *hash = colon + 1, *why = weak_hash(hash);
    if (why)
        return fail(l->err, l->errlen,
                    "%s:%zu: the password of user '%s' %s; write it again with htpasswd -B "
                    "(bcrypt)",
                    l->path, lineno, line, why);
    return add_user(l->a, line, hash) == 0 ? 0 : fail(l->err, l->errlen, "out of memory");
}

static int load_users(struct nxx_auth *a, const char *path, char *err, size_t errlen)
{
    struct load l = { a, path, err, errlen, 0 };
    if (nxx_lines_read(path, err, errlen, user_line, &l) != 0)
        return -1;
    if (a->nusers)
        qsort(a->users, a->nusers, sizeof(*a->users), by_name);
    for (size_t i = 1; i < a->nusers; i++)
        if (strcmp(a->users[i - 1].name, a->users[i].name) == 0)
            return fail(err, errlen, "%s: user '%s' is listed twice", path, a->users[i].name);
    return 0;
}

static int make_dummy(struct nxx_auth *a, char *err, size_t errlen)
{
    /* the dummy: a hash of the same kind as the first user's, for unknown names */
    const char *kind = "$2y$";
    for (size_t i = 0; i < a->nusers; i++)
        if (a->users[i].hash) {
            kind = a->users[i].hash;
            break;
        }
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    const char *prefix = strncmp(kind, "$2", 2) == 0    ? "$2b$"
                         : strncmp(kind, "$5$", 3) == 0 ? "$5$"
                         : strncmp(kind, "$6$", 3) == 0 ? "$6$"
                                                        : "$y$";
    struct crypt_data *cd = nxx_calloc(1, sizeof(*cd));
    if (!cd || !crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt))) {
        nxx_free(cd);
        return fail(err, errlen, "cannot make a salt: %s", strerror(errno));
    }
    const char *h = crypt_rn("-", salt, cd, sizeof(*cd));
    a->dummy = h && h[0] != '*' ? nxx_strdup(h) : NULL;
    nxx_free(cd);
    return a->dummy ? 0 : fail(err, errlen, "cannot hash with '%s'", prefix);
}

static struct user *find_user(const struct nxx_auth *a, const char *name)
{
    struct user key = { NULL, (char *)(uintptr_t)name, 0, NULL, 0, NULL };
    if (!a->nusers)
        return NULL; /* bsearch wants a base even for no elements */
    return bsearch(&key, a->users, a->nusers, sizeof(*a->users), by_name);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int by_digest(const void *x, const void *y)
{
    return memcmp(((const struct token *)x)->digest, ((const struct token *)y)->digest, 32);
}

/* "user:SHA256HEX" lines: the SHA-256 of each token in lowercase hex, so a
 * leaked file does not leak the tokens (which are long and random: a fast
 * hash is enough for them, unlike passwords). */
static int token_line(void *ctx, char *line, size_t lineno)
{
    struct load *l = ctx;
    struct nxx_auth *a = l->a;
    if (!line[0] || line[0] == '#')
        return 0;
    char *colon = strchr(line, ':');
    if (!colon || colon == line || strlen(colon + 1) != 64)
        return fail(l->err, l->errlen,
                    "%s:%zu: not a 'user:SHA256HEX' line (the token's SHA-256 in "
                    "64 lowercase hex digits)",
                    l->path, lineno);
    *colon = '\0';
    if (a->ntokens == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        struct token *nt = nxx_realloc(a->tokens, ncap * sizeof(*nt));
        if (!nt)
            return fail(l->err, l->errlen, "out of memory");
        a->tokens = nt;
        l->cap = ncap;
    }
    struct token *t = &a->tokens[a->ntokens];
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(colon[1 + 2 * i]), lo = hexval(colon[2 + 2 * i]);
        if (hi < 0 || lo < 0)
            return fail(l->err, l->errlen, "%s:%zu: the SHA-256 of user '%s' is not lowercase hex",
                        l->path, lineno, line);
        t->digest[i] = (unsigned char)(hi << 4 | lo);
    }
    if (!(t->name = nxx_strdup(line)))
        return fail(l->err, l->errlen, "out of memory");
    a->ntokens++;
    return 0;
}

static int load_tokens(struct nxx_auth *a, const char *path, char *err, size_t errlen)
{
    struct load l = { a, path, err, errlen, 0 };
    if (nxx_lines_read(path, err, errlen, token_line, &l) != 0)
        return -1;
    /* token owners without a password are users too (roles, the log) */
    for (size_t i = 0; i < a->ntokens; i++) {
        if (find_user(a, a->tokens[i].name))
            continue;
        size_t j = 0;
        while (j < i && strcmp(a->tokens[j].name, a->tokens[i].name) != 0)
            j++;
        if (j == i && add_user(a, a->tokens[i].name, NULL) != 0)
            return fail(err, errlen, "out of memory");
        qsort(a->users, a->nusers, sizeof(*a->users), by_name);
    }
    for (size_t i = 0; i < a->ntokens; i++)
        a->tokens[i].user = (size_t)(find_user(a, a->tokens[i].name) - a->users);
    if (a->ntokens)
        qsort(a->tokens, a->ntokens, sizeof(*a->tokens), by_digest);
    for (size_t i = 1; i < a->ntokens; i++)
        if (memcmp(a->tokens[i - 1].digest, a->tokens[i].digest, 32) == 0)
            return fail(err, errlen, "%s: a token is listed twice", path);
    return 0;
}

/* Apache's AuthGroupFile: "group: user user ..." per line. */
static int group_line(void *ctx, char *line, size_t lineno)
{
    struct load *l = ctx;
    struct nxx_auth *a = l->a;
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p || *p == '#')
        return 0;
    char *colon = strchr(p, ':');
    if (!colon || colon == p)
        return fail(l->err, l->errlen, "%s:%zu: not a 'group: user ...' line", l->path, lineno);
    *colon = '\0';
    size_t bit = 0;
    while (bit < a->nroles && strcmp(a->roles[bit], p) != 0)
        bit++;
    if (bit == a->nroles) {
        if (a->nroles == MAX_ROLES)
            return fail(l->err, l->errlen, "%s:%zu: more than %d groups", l->path, lineno,
                        MAX_ROLES);
        if (!(a->roles[a->nroles] = nxx_strdup(p)))
            return fail(l->err, l->errlen, "out of memory");
        a->nroles++;
    }
    for (char *u = strtok_r(colon + 1, " \t", &p); u; u = strtok_r(NULL, " \t", &p)) {
        struct user *usr = find_user(a, u);
        if (usr)
            usr->roles |= 1ull << bit;
    }
    return 0;
}

/* Apache's AuthGroupFile: "group: user user ..." per line. */
static int load_groups(struct nxx_auth *a, const char *path, char *err, size_t errlen)
{
    struct load l = { a, path, err, errlen, 0 };
    return nxx_lines_read(path, err, errlen, group_line, &l);
}

static int load_jwt(struct nxx_auth *a, const nxx_auth_config *cfg, char *err, size_t errlen)
{
    char *key = nxx_lines_slurp(cfg->jwt_key, err, errlen);
    if (!key)
        return -1;
    struct nxx_jwt_rules rules = {
        .issuer = cfg->jwt_issuer,
        .audience = cfg->jwt_audience,
        .skew_s = cfg->jwt_skew_s,
        .roles_claim = cfg->jwt_roles_claim,
    };
    char why[200] = "";
    size_t n = strlen(key);
    if (strncmp(key, "-----BEGIN", 10) == 0) {
        a->jwt = nxx_jwt_new_pem(key, n, &rules, why, sizeof(why));
    } else {
        while (n && (key[n - 1] == '\n' || key[n - 1] == '\r'))
            n--; /* a secret written by echo */
        a->jwt = nxx_jwt_new_secret(key, n, &rules, why, sizeof(why));
    }
    explicit_bzero(key, strlen(key));
    nxx_free(key);
    return a->jwt ? 0 : fail(err, errlen, "JWT key '%s': %s", cfg->jwt_key, why);
}

static int realm_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
            return 0;
    return *s != '\0' && strlen(s) < 128;
}

struct nxx_auth *nxx_auth_new(const nxx_auth_config *cfg, char *err, size_t errlen)
{
    if (!cfg || ((!cfg->htpasswd || !*cfg->htpasswd) && (!cfg->tokens || !*cfg->tokens) &&
                 (!cfg->jwt_key || !*cfg->jwt_key))) {
        fail(err, errlen, "neither an htpasswd file, a token file nor a JWT key given");
        return NULL;
    }
    const char *realm = cfg->realm ? cfg->realm : "nxx";
    if (!realm_ok(realm)) {
        fail(err, errlen,
             "the realm '%s' must be 1 to 127 characters without quotes, backslashes or "
             "control characters",
             realm);
        return NULL;
    }
    struct nxx_auth *a = nxx_calloc(1, sizeof(*a));
    if (!a) {
        fail(err, errlen, "out of memory");
        return NULL;
    }
    a->id = atomic_fetch_add(&next_id, 1);
    a->proxy = cfg->proxy;
    a->cache_ms = cfg->cache_ms;
    a->max_failures = cfg->max_failures;
    snprintf(a->challenge, sizeof(a->challenge), "Basic realm=\"%s\", charset=\"UTF-8\"", realm);
    size_t bad = 0;
    int r = (a->realm = nxx_strdup(realm)) ? 0 : fail(err, errlen, "out of memory");
    a->basic = cfg->htpasswd && *cfg->htpasswd;
    a->bearer = (cfg->tokens && *cfg->tokens) || (cfg->jwt_key && *cfg->jwt_key);
    snprintf(a->bearer_challenge, sizeof(a->bearer_challenge), "Bearer realm=\"%s\"", realm);
    if (!r && a->basic)
        r = load_users(a, cfg->htpasswd, err, errlen);
    if (!r && cfg->tokens && *cfg->tokens)
        r = load_tokens(a, cfg->tokens, err, errlen);
    if (!r && cfg->jwt_key && *cfg->jwt_key)
        r = load_jwt(a, cfg, err, errlen);
    if (!r)
        r = make_dummy(a, err, errlen);
    if (!r && cfg->groups)
        r = load_groups(a, cfg->groups, err, errlen);
    if (!r && a->max_failures &&
        !(a->fails =
              nxx_limiter_new(a->max_failures,
                              (uint64_t)(cfg->failure_window_s ? cfg->failure_window_s : 60) * 1000,
                              NXX_LIMIT_WINDOW, FAIL_KEYS)))
        r = fail(err, errlen, "out of memory");
    if (!r && nxx_cidrs_init(&a->trusted, cfg->trusted_proxies, cfg->ntrusted, &bad) != 0)
        r = fail(err, errlen, "trusted proxy '%s' is not an address or ADDRESS/BITS",
                 cfg->trusted_proxies[bad]);
    if (r) {
        nxx_auth_free(a);
        return NULL;
    }
    if (a->cache_ms)
        instance_key(a);
    return a;
}

void nxx_auth_free(struct nxx_auth *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nusers; i++) {
        nxx_free(a->users[i].name);
        nxx_free(a->users[i].hash);
    }
    nxx_free(a->users);
    for (size_t i = 0; i < a->ntokens; i++)
        nxx_free(a->tokens[i].name);
    nxx_free(a->tokens);
    for (size_t i = 0; i < a->nroles; i++)
        nxx_free(a->roles[i]);
    nxx_free(a->dummy);
    nxx_free(a->realm);
    if (a->fails_shared)
        nxx_shared_put(a->fails_shared);
    else
        nxx_limiter_free(a->fails);
    nxx_jwt_free(a->jwt);
    nxx_cidrs_release(&a->trusted);
    nxx_free(a);
}

/* ---- per worker: the crypt scratch and the cache of verified values ---- */

struct slot {
    unsigned char digest[16];
    const struct user *user;
    uint64_t until_ms;
};

struct wstate {
    struct crypt_data cd;
    struct slot cache[CACHE_SLOTS];
    EVP_MD_CTX *md; /* JWT signatures: one context per worker, reset after each */
};

static void *wstate_new(void)
{
    struct wstate *ws = nxx_calloc(1, sizeof(struct wstate));
    if (ws && !(ws->md = EVP_MD_CTX_new())) {
        nxx_free(ws);
        ws = NULL;
    }
    return ws;
}

static void wstate_free(void *arg)
{
    struct wstate *ws = arg;
    EVP_MD_CTX_free(ws->md);
    nxx_free(ws);
}

static struct nxx_worker_key wkey = { wstate_new, wstate_free, 0 };

static unsigned char cache_key[16]; /* the process's SipHash key, random */
static int cache_key_ready;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;

static void cache_key_init(void)
{
    if (nxx_os_random(cache_key, sizeof(cache_key), 1) != 0)
        nxx_log_error("auth: no random key for the credential cache: it stays off");
    else
        cache_key_ready = 1;
}

static int cache_ready(void)
{
    pthread_once(&cache_key_once, cache_key_init);
    return cache_key_ready;
}

/* The instance's own cache key: SipHash of its id under the process's
 * random key, so instances never share a slot's meaning and a request's
 * value is hashed as it is (no copy, no prefix).  At load. */
static void instance_key(struct nxx_auth *a)
{
    unsigned char id[8];
    memcpy(id, &a->id, sizeof(id));
    if (cache_ready()) {
        nxx_siphash128(cache_key, id, sizeof(id), a->ckey);
        a->ckey_ok = 1;
    }
}

/* The cache's key of a value for instance a. */
static void digest(const struct nxx_auth *a, nxx_str value, unsigned char out[16])
{
    nxx_siphash128(a->ckey, value.ptr, value.len, out);
}

/* The credentials field: compared a word at a time, its name lowercase. */
static nxx_str credentials(const nxx_req *req, const struct nxx_auth *a)
{
    const struct nxx_http_request *h = &req->h;
    for (size_t i = 0; i < h->num_headers; i++) {
        nxx_str n = h->headers[i].name;
        if (a->proxy ? NXX_STR_IEQ(n, "proxy-authorization") : NXX_STR_IEQ(n, "authorization"))
            return h->headers[i].value;
    }
    return (nxx_str){ NULL, 0 };
}

/* Two cache digests, compared in constant time (two words, one test). */
static NXX_INLINE int digest_equal(const unsigned char a[16], const unsigned char b[16])
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8);
    memcpy(&a1, a + 8, 8);
    memcpy(&b0, b, 8);
    memcpy(&b1, b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* ---- the policy ---- */

/* Who the failures are counted against. */
static void client_key(nxx_req *req, const struct nxx_auth *a, struct nxx_limit_key *k)
{
    struct sockaddr_storage ss;
    nxx_client_addr(req, &a->trusted, &ss);
    nxx_limit_key_addr(k, (const struct sockaddr *)&ss);
}

/* The challenges of the schemes offered; error: RFC 6750 §3.1's code for
 * the Bearer one (NULL when no token was sent). */
static int challenge_err(nxx_req *req, const struct nxx_auth *a, const char *error,
                         const char *detail)
{
    const char *field = a->proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
    if (a->basic)
        nxx_resp_header(req, field, (nxx_str){ a->challenge, strlen(a->challenge) });
    if (a->bearer && !error)
        nxx_resp_header(req, field, (nxx_str){ a->bearer_challenge, strlen(a->bearer_challenge) });
    else if (a->bearer)
        nxx_resp_headerf(req, field, "%s, error=\"%s\", error_description=\"%s\"",
                         a->bearer_challenge, error, detail);
    nxx_req_detail(req, "%s", detail);
    nxx_req_notes(req)->decided = a->proxy ? "proxy-auth" : "auth";
    return error && strcmp(error, "invalid_request") == 0 ? 400 : a->proxy ? 407 : 401;
}

static int challenge(nxx_req *req, const struct nxx_auth *a, const char *detail)
{
    return challenge_err(req, a, NULL, detail);
}

static const struct user *bearer_user(nxx_req *req, const struct nxx_auth *a, nxx_str token)
{
    struct token key;
    if (!a->ntokens || nxx_policy_sha256(req, token.ptr, token.len, NULL, 0, key.digest) != 0)
        return NULL;
    const struct token *t = bsearch(&key, a->tokens, a->ntokens, sizeof(*a->tokens), by_digest);
    return t ? &a->users[t->user] : NULL;
}

static void accept_user(nxx_req *req, const struct user *u)
{
    struct nxx_req_notes *n = nxx_req_notes(req);
    n->user = (nxx_str){ u->name, u->nlen };
    n->principal = u;
}

/* A JWT's user lives in the request's arena: its claims are its own. */
static int check_jwt(nxx_req *req, const struct nxx_auth *a, nxx_str tok,
                     const struct nxx_limit_key *key)
{
    struct nxx_jwt_claims *c = nxx_req_alloc(req, sizeof(*c));
    struct user *u = nxx_req_alloc(req, sizeof(*u));
    if (!c || !u) {
        nxx_req_detail(req, "out of memory");
        return 503;
    }
    const char *why = NULL;
    struct wstate *ws = nxx_req_worker_state(req, &wkey);
    if (nxx_jwt_verify_ctx(a->jwt, ws ? ws->md : NULL, tok.ptr, tok.len, nxx_req_wall_s(req), c,
                           &why) != 0) {
        struct nxx_limit_result lr;
        if (a->fails)
            nxx_limiter_take(a->fails, key, nxx_req_now_ms(req), 1, &lr);
        return challenge_err(req, a, "invalid_token", why);
    }
    u->owner = a;
    u->name = c->user;
    u->nlen = strlen(c->user);
    u->hash = NULL;
    u->claims = c;
    u->roles = 0;
    const struct user *known = find_user(a, c->user);
    if (known)
        u->roles = known->roles; /* the groups file speaks for JWT users too */
    accept_user(req, u);
    return 0;
}

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static int b64token(nxx_str t)
{
    size_t i = 0;
    while (i < t.len && (nxx_field_is_tchar(t.ptr[i]) || t.ptr[i] == '/') && t.ptr[i] != '=')
        i++;
    while (i < t.len && t.ptr[i] == '=')
        i++;
    return t.len > 0 && i == t.len;
}

static int too_many(nxx_req *req, const struct nxx_auth *a, const struct nxx_limit_result *r)
{
    char retry[24];
    snprintf(retry, sizeof(retry), "%llu", (unsigned long long)(r->reset_s ? r->reset_s : 1));
    nxx_resp_header(req, "Retry-After", (nxx_str){ retry, strlen(retry) });
    nxx_req_detail(req, "this address failed to sign in %u times; try again in %s seconds",
                   a->max_failures, retry);
    nxx_req_notes(req)->decided = a->proxy ? "proxy-auth" : "auth";
    return 429;
}

int nxx_auth_check(nxx_req *req, struct nxx_auth *a)
{
    nxx_str value = credentials(req, a);
    uint64_t now = nxx_req_now_ms(req);
    struct wstate *ws = nxx_req_worker_state(req, &wkey);
    unsigned char d[16];
    struct slot *s = NULL;
    if (value.len && ws && a->cache_ms && a->ckey_ok) {
        digest(a, value, d);
        s = &ws->cache[(d[0] | (unsigned)d[1] << 8) % CACHE_SLOTS];
        if (s->user && s->until_ms > now && digest_equal(s->digest, d)) {
            accept_user(req, s->user);
            return 0;
        }
    }
    struct nxx_limit_key key;
    struct nxx_limit_result lr;
    if (a->fails) {
        client_key(req, a, &key);
        nxx_limiter_peek(a->fails, &key, now, &lr);
        if (!lr.remaining)
            return too_many(req, a, &lr);
    }
    if (!value.len)
        return challenge(req, a,
                         a->proxy ? "this proxy requires credentials (Proxy-Authorization)"
                                  : "this resource requires credentials; sign in with a user "
                                    "name and password");
    nxx_str v = nxx_field_trim(value);
    if (v.len > 7 && strncasecmp(v.ptr, "bearer ", 7) == 0 && a->bearer) {
        nxx_str tok = nxx_field_trim((nxx_str){ v.ptr + 7, v.len - 7 });
        if (!b64token(tok))
            return challenge_err(req, a, "invalid_request",
                                 "the Authorization field is not Bearer followed by a token");
        if (a->jwt && memchr(tok.ptr, '.', tok.len))
            return check_jwt(req, a, tok, &key);
        const struct user *bu = bearer_user(req, a, tok);
        if (!bu) {
            if (a->fails)
                nxx_limiter_take(a->fails, &key, now, 1, &lr);
            return challenge_err(req, a, "invalid_token", "the access token is not valid here");
        }
        if (s) {
            memcpy(s->digest, d, sizeof(d));
            s->user = bu;
            s->until_ms = now + a->cache_ms;
        }
        accept_user(req, bu);
        return 0;
    }
    char buf[CRED_MAX + 1];
    nxx_str user, pass;
    int ok = 0;
    const struct user *u = NULL;
    if (!ws) {
        nxx_req_detail(req, "out of memory");
        return 503;
    }
    if (a->basic && value.len <= CRED_MAX * 4 / 3 + 16 &&
        nxx_auth_parse_basic(value, buf, CRED_MAX, &user, &pass) == 0) {
        char name[CRED_MAX + 1], pw[CRED_MAX + 1];
        memcpy(name, user.ptr, user.len);
        name[user.len] = '\0';
        memcpy(pw, pass.ptr, pass.len);
        pw[pass.len] = '\0';
        u = find_user(a, name);
        const char *hash = u && u->hash ? u->hash : a->dummy;
        const char *out = crypt_rn(pw, hash, &ws->cd, sizeof(ws->cd));
        size_t hl = strlen(hash);
        ok = out && u && u->hash && strlen(out) == hl && nxx_auth_ct_equal(out, hash, hl);
        explicit_bzero(pw, sizeof(pw));
        explicit_bzero(&ws->cd, sizeof(ws->cd));
    }
    explicit_bzero(buf, sizeof(buf));
    if (!ok) {
        if (a->fails)
            nxx_limiter_take(a->fails, &key, now, 1, &lr);
        return challenge(req, a,
                         u ? "the password is not right for this user"
                           : "the credentials are not valid here (Basic user:password of a "
                             "known user)");
    }
    if (s) {
        memcpy(s->digest, d, sizeof(d));
        s->user = u;
        s->until_ms = now + a->cache_ms;
    }
    accept_user(req, u);
    return 0;
}

int nxx_auth_has_role(const nxx_req *req, const char *role)
{
    const struct user *u = nxx_req_notes_get(req)->principal;
    if (!u)
        return 0;
    const struct nxx_auth *a = u->owner;
    for (size_t i = 0; u->claims && i < u->claims->nroles; i++)
        if (strcmp(u->claims->roles[i], role) == 0)
            return 1;
    for (size_t i = 0; i < a->nroles; i++)
        if (strcmp(a->roles[i], role) == 0)
            return (u->roles >> i) & 1;
    return 0;
}

/* ---- as scope policies ---- */

static int auth_policy(nxx_req *req, void *ud)
{
    return nxx_auth_check(req, ud);
}

static void auth_release(void *arg)
{
    nxx_auth_free(arg);
}

int nxx_scope_auth(nxx_scope *scope, const nxx_auth_config *cfg, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    if (!scope) {
        fail(err, errlen, "no scope");
        return NXX_EINVAL;
    }
    struct nxx_auth *a = nxx_auth_new(cfg, err, errlen);
    if (!a)
        return NXX_EINVAL;
    if (a->fails) {
        /* the scope's failures outlive a reload that keeps the policy */
        char key[768], where[512];
        nxx_shared_scope_key(scope, where, sizeof(where));
        snprintf(key, sizeof(key), "%s|auth|%s|%d", where, a->realm, a->proxy);
        struct nxx_shared *h = NULL;
        struct nxx_limiter *l = nxx_limiter_shared(
            key, scope->site, a->max_failures,
            (uint64_t)(cfg->failure_window_s ? cfg->failure_window_s : 60) * 1000, NXX_LIMIT_WINDOW,
            FAIL_KEYS, &h);
        if (l) {
            nxx_limiter_free(a->fails);
            a->fails = l;
            a->fails_shared = h;
        }
    }
    int e = nxx_scope_on_free(scope, auth_release, a);
    if (e) {
        nxx_auth_free(a);
        return e;
    }
    return nxx_scope_policy(scope, NXX_PHASE_HEAD, auth_policy, a);
}

void nxx_auth_config_init(nxx_auth_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->realm = "nxx";
    cfg->cache_ms = 60000;
    cfg->max_failures = 10;
    cfg->failure_window_s = 60;
    cfg->jwt_skew_s = 60;
}

/* `require`: the roles a location (or some of its methods) asks for. */
struct require {
    char **roles;
    size_t nroles;
    char **methods;
    size_t nmethods;
    char *list; /* "'admin' or 'ops'", for the detail */
};

/* RFC 6750 §3.1: a bearer token without the rights asked for is
 * insufficient_scope, said in the challenge of the 403. */
static void insufficient_scope(nxx_req *req)
{
    const struct user *u = nxx_req_notes_get(req)->principal;
    nxx_str v = nxx_field_trim(
        nxx_req_header(req, u->owner->proxy ? "proxy-authorization" : "authorization"));
    if (v.len > 7 && strncasecmp(v.ptr, "bearer ", 7) == 0)
        nxx_resp_headerf(req, u->owner->proxy ? "Proxy-Authenticate" : "WWW-Authenticate",
                         "%s, error=\"insufficient_scope\", error_description=\"a role this "
                         "resource requires is missing\"",
                         u->owner->bearer_challenge);
}

static int require_policy(nxx_req *req, void *ud)
{
    const struct require *r = ud;
    nxx_str m = nxx_req_method(req);
    if (r->nmethods) {
        size_t i = 0;
        while (i < r->nmethods &&
               !(strlen(r->methods[i]) == m.len && memcmp(r->methods[i], m.ptr, m.len) == 0))
            i++;
        if (i == r->nmethods)
            return 0;
    }
    for (size_t i = 0; i < r->nroles; i++)
        if (nxx_auth_has_role(req, r->roles[i]))
            return 0;
    nxx_req_notes(req)->decided = "require";
    nxx_str who = nxx_req_notes_get(req)->user;
    if (!nxx_req_notes_get(req)->principal)
        nxx_req_detail(req,
                       "%.*s of '%s' requires the %s role, and the request was not signed "
                       "in by any authentication this location checks",
                       (int)m.len, m.ptr, nxx_req_path(req).ptr, r->list);
    else
        insufficient_scope(req);
    if (nxx_req_notes_get(req)->principal)
        nxx_req_detail(req, "%.*s of '%s' requires the %s role, which user '%.*s' does not have",
                       (int)m.len, m.ptr, nxx_req_path(req).ptr, r->list, (int)who.len, who.ptr);
    return 403;
}

static void require_free(void *arg)
{
    struct require *r = arg;
    for (size_t i = 0; i < r->nroles; i++)
        nxx_free(r->roles[i]);
    for (size_t i = 0; i < r->nmethods; i++)
        nxx_free(r->methods[i]);
    nxx_free(r->roles);
    nxx_free(r->methods);
    nxx_free(r->list);
    nxx_free(r);
}

static char **copy_list(const char *const *v, size_t n, int *err)
{
    if (!n)
        return NULL;
    char **out = nxx_calloc(n, sizeof(char *));
    for (size_t i = 0; out && i < n; i++)
        if (!v[i] || !*v[i] || !(out[i] = nxx_strdup(v[i])))
            *err = v[i] && *v[i] ? NXX_ENOMEM : NXX_EINVAL;
    if (!out)
        *err = NXX_ENOMEM;
    return out;
}

int nxx_auth_in_scope(const nxx_scope *scope)
{
    for (const nxx_scope *s = scope; s; s = s->parent) {
        const struct nxx_policy_list *l = &s->own[NXX_PHASE_HEAD];
        for (size_t i = 0; i < l->n; i++)
            if (l->v[i].fn == auth_policy)
                return 1;
    }
    return 0;
}

int nxx_scope_require_role(nxx_scope *scope, const char *const *roles, size_t nroles,
                           const char *const *methods, size_t nmethods)
{
    /* without an authentication before it, nobody could ever have the role */
    if (!scope || !nroles || !nxx_auth_in_scope(scope))
        return NXX_EINVAL;
    struct require *r = nxx_calloc(1, sizeof(*r));
    if (!r)
        return NXX_ENOMEM;
    int e = 0;
    r->roles = copy_list(roles, nroles, &e);
    r->nroles = r->roles ? nroles : 0;
    r->methods = copy_list(methods, nmethods, &e);
    r->nmethods = r->methods ? nmethods : 0;
    size_t len = 1;
    for (size_t i = 0; !e && i < nroles; i++)
        len += strlen(roles[i]) + 8;
    if (!e && !(r->list = nxx_malloc(len)))
        e = NXX_ENOMEM;
    for (size_t i = 0, n = 0; !e && i < nroles; i++)
        n += (size_t)snprintf(r->list + n, len - n, "%s'%s'", i ? " or " : "", roles[i]);
    if (!e)
        e = nxx_scope_on_free(scope, require_free, r);
    if (e) {
        require_free(r);
        return e;
    }
    return nxx_scope_policy(scope, NXX_PHASE_HEAD, require_policy, r);
}
