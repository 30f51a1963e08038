/*
 * maintenance.c - a maintenance switch for a scope: while a named file
 * exists, requests get 503 Service Unavailable with Retry-After (RFC 9110
 * §15.6.4) and a page that explains; paths under an exempt prefix (health
 * checks) are served as usual.  Operators turn it on with `touch FILE` and
 * off with `rm FILE`, without a reload.
 *
 * The file is looked at no more than once a second by all workers
 * together (whoever finds the last look too old looks again), so the
 * switch costs nothing per request.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "http/request.h"
#include "http/site.h"
#include "core/banned.h"

#define CHECK_MS 1000
#define PAGE_MAX (1 << 20)

struct maint {
    char *file;
    char retry[12];
    char *page; /* HTML, or NULL */
    size_t page_len;
    char **exempt;
    size_t nexempt;
    atomic_uint_fast64_t checked_ms; /* loop clock of the last look, +1 (0: never) */
    atomic_int on;
};

static int exempt(const struct maint *m, nxx_str path)
{
    for (size_t i = 0; i < m->nexempt; i++) {
        size_t n = strlen(m->exempt[i]);
        /* whole segments: "/health" exempts /health and /health/x, not /healthz */
        if (path.len >= n && memcmp(path.ptr, m->exempt[i], n) == 0 &&
            (path.len == n || path.ptr[n] == '/' || m->exempt[i][n - 1] == '/'))
            return 1;
    }
    return 0;
}

static int maint_policy(nxx_req *req, void *ud)
{
    struct maint *m = ud;
    uint64_t now = nxx_req_now_ms(req) + 1;
    uint64_t last = atomic_load_explicit(&m->checked_ms, memory_order_relaxed);
    if (!last || now - last >= CHECK_MS) {
        if (atomic_compare_exchange_strong(&m->checked_ms, &last, now)) {
            struct stat st;
            int on = stat(m->file, &st) == 0;
            if (atomic_exchange(&m->on, on) != on)
                nxx_log_info("maintenance %s ('%s' %s)", on ? "on" : "off", m->file,
                             on ? "exists" : "is gone");
        }
    }
    if (!atomic_load_explicit(&m->on, memory_order_relaxed) || exempt(m, nxx_req_path(req)))
        return 0;
    nxx_resp_header(req, "Retry-After", (nxx_str){ m->retry, strlen(m->retry) });
    if (m->page)
        nxx_req_error_page(req, (nxx_str){ m->page, m->page_len });
    nxx_req_detail(req, "the service is down for maintenance; try again in %s seconds", m->retry);
    nxx_req_notes(req)->decided = "maintenance";
    return 503;
}

static void maint_free(void *arg)
{
    struct maint *m = arg;
    nxx_free(m->file);
    nxx_free(m->page);
    for (size_t i = 0; i < m->nexempt; i++)
        nxx_free(m->exempt[i]);
    nxx_free(m->exempt);
    nxx_free(m);
}

static int read_page(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PAGE_MAX) {
        close(fd);
        return NXX_EINVAL;
    }
    char *buf = nxx_malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return NXX_ENOMEM;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    *out = buf;
    *len = got;
    return 0;
}

int nxx_scope_maintenance(nxx_scope *scope, const nxx_maintenance_config *cfg)
{
    if (!scope || !cfg || !cfg->file || !*cfg->file)
        return NXX_EINVAL;
    struct maint *m = nxx_calloc(1, sizeof(*m));
    if (!m)
        return NXX_ENOMEM;
    atomic_init(&m->checked_ms, 0);
    atomic_init(&m->on, 0);
    snprintf(m->retry, sizeof(m->retry), "%u", cfg->retry_after_s ? cfg->retry_after_s : 300);
    int err = (m->file = nxx_strdup(cfg->file)) ? 0 : NXX_ENOMEM;
    if (!err && cfg->page) {
        err = read_page(cfg->page, &m->page, &m->page_len);
        if (err)
            nxx_log_error("maintenance page '%s': %s", cfg->page, nxx_strerror(err));
    }
    if (!err && cfg->nexempt) {
        m->exempt = nxx_calloc(cfg->nexempt, sizeof(char *));
        if (!m->exempt)
            err = NXX_ENOMEM;
        for (size_t i = 0; !err && i < cfg->nexempt; i++) {
            const char *e = cfg->exempt[i];
            if (!e || e[0] != '/') {
                err = NXX_EINVAL;
                break;
            }
            if (!(m->exempt[i] = nxx_strdup(e)))
                err = NXX_ENOMEM;
            else
                m->nexempt++;
        }
    }
    if (!err)
        err = nxx_scope_on_free(scope, maint_free, m);
    if (err) {
        maint_free(m);
        return err;
    }
    return nxx_scope_policy(scope, NXX_PHASE_HEAD, maint_policy, m);
}
