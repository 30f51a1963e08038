/*
 * test_status.c - the status registry against the RFC lists, spelled out here
 * independently of src/http/status.c: every code with its exact reason phrase
 * and defining section, the flags, who sends each code today, the status
 * lines, and the generated docs.
 */
#include "test.h"

#include "http/http1.h"
#include "http/status.h"
#include "http/status_doc.h"
#include "nxx.h"

#include <limits.h>
#include <stdlib.h>

struct expect {
    int code;
    const char *reason;
    const char *rfc;
};

/* RFC 9110 §15 (418 is "(Unused)" there and is listed with the extensions). */
static const struct expect rfc9110[] = {
    { 100, "Continue", "RFC 9110 §15.2.1" },
    { 101, "Switching Protocols", "RFC 9110 §15.2.2" },
    { 200, "OK", "RFC 9110 §15.3.1" },
    { 201, "Created", "RFC 9110 §15.3.2" },
    { 202, "Accepted", "RFC 9110 §15.3.3" },
    { 203, "Non-Authoritative Information", "RFC 9110 §15.3.4" },
    { 204, "No Content", "RFC 9110 §15.3.5" },
    { 205, "Reset Content", "RFC 9110 §15.3.6" },
    { 206, "Partial Content", "RFC 9110 §15.3.7" },
    { 300, "Multiple Choices", "RFC 9110 §15.4.1" },
    { 301, "Moved Permanently", "RFC 9110 §15.4.2" },
    { 302, "Found", "RFC 9110 §15.4.3" },
    { 303, "See Other", "RFC 9110 §15.4.4" },
    { 304, "Not Modified", "RFC 9110 §15.4.5" },
    { 305, "Use Proxy", "RFC 9110 §15.4.6" },
    { 306, "(Unused)", "RFC 9110 §15.4.7" },
    { 307, "Temporary Redirect", "RFC 9110 §15.4.8" },
    { 308, "Permanent Redirect", "RFC 9110 §15.4.9" },
    { 400, "Bad Request", "RFC 9110 §15.5.1" },
    { 401, "Unauthorized", "RFC 9110 §15.5.2" },
    { 402, "Payment Required", "RFC 9110 §15.5.3" },
    { 403, "Forbidden", "RFC 9110 §15.5.4" },
    { 404, "Not Found", "RFC 9110 §15.5.5" },
    { 405, "Method Not Allowed", "RFC 9110 §15.5.6" },
    { 406, "Not Acceptable", "RFC 9110 §15.5.7" },
    { 407, "Proxy Authentication Required", "RFC 9110 §15.5.8" },
    { 408, "Request Timeout", "RFC 9110 §15.5.9" },
    { 409, "Conflict", "RFC 9110 §15.5.10" },
    { 410, "Gone", "RFC 9110 §15.5.11" },
    { 411, "Length Required", "RFC 9110 §15.5.12" },
    { 412, "Precondition Failed", "RFC 9110 §15.5.13" },
    { 413, "Content Too Large", "RFC 9110 §15.5.14" },
    { 414, "URI Too Long", "RFC 9110 §15.5.15" },
    { 415, "Unsupported Media Type", "RFC 9110 §15.5.16" },
    { 416, "Range Not Satisfiable", "RFC 9110 §15.5.17" },
    { 417, "Expectation Failed", "RFC 9110 §15.5.18" },
    { 421, "Misdirected Request", "RFC 9110 §15.5.20" },
    { 422, "Unprocessable Content", "RFC 9110 §15.5.21" },
    { 426, "Upgrade Required", "RFC 9110 §15.5.22" },
    { 500, "Internal Server Error", "RFC 9110 §15.6.1" },
    { 501, "Not Implemented", "RFC 9110 §15.6.2" },
    { 502, "Bad Gateway", "RFC 9110 §15.6.3" },
    { 503, "Service Unavailable", "RFC 9110 §15.6.4" },
    { 504, "Gateway Timeout", "RFC 9110 §15.6.5" },
    { 505, "HTTP Version Not Supported", "RFC 9110 §15.6.6" },
};

/* Codes defined outside RFC 9110 that nxx sends (SPEC.md). */
static const struct expect extensions[] = {
    { 102, "Processing", "RFC 2518 §10.1" },
    { 103, "Early Hints", "RFC 8297 §2" },
    { 207, "Multi-Status", "RFC 4918 §11.1" },
    { 208, "Already Reported", "RFC 5842 §7.1" },
    { 226, "IM Used", "RFC 3229 §10.4.1" },
    { 418, "I'm a teapot", "RFC 2324 §2.3.2 / RFC 7168" },
    { 423, "Locked", "RFC 4918 §11.3" },
    { 424, "Failed Dependency", "RFC 4918 §11.4" },
    { 425, "Too Early", "RFC 8470 §5.2" },
    { 428, "Precondition Required", "RFC 6585 §3" },
    { 429, "Too Many Requests", "RFC 6585 §4" },
    { 431, "Request Header Fields Too Large", "RFC 6585 §5" },
    { 451, "Unavailable For Legal Reasons", "RFC 7725 §3" },
    { 506, "Variant Also Negotiates", "RFC 2295 §8.1" },
    { 507, "Insufficient Storage", "RFC 4918 §11.5" },
    { 508, "Loop Detected", "RFC 5842 §7.2" },
    { 510, "Not Extended", "RFC 2774 §7" },
    { 511, "Network Authentication Required", "RFC 6585 §6" },
};

/*
 * The codes nxx sends today, by a mechanism read in the code and produced by
 * an integration test (the census in tests/integration/run.py checks the
 * second half).  Changing these lists is changing what docs/status-codes.md
 * and `nxx explain` tell users.
 */
static const int sent_by_serve[] = { 100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206,
                                     207, 208, 226, 300, 301, 302, 303, 304, 307, 308, 400,
                                     401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411,
                                     412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424,
                                     425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504,
                                     505, 506, 507, 508, 510, 511 };
/* Only by a program embedding libnxx: none today (the list keeps a
 * placeholder; NLIB says how many it holds). */
static const int sent_by_library[] = { 0 };
#define NLIB 0

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void check_expected(const struct expect *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct nxx_status_info *si = nxx_status_get(e[i].code);
        if (!si) {
            test_fail(__FILE__, __LINE__, "%d missing from the registry", e[i].code);
            continue;
        }
        CHECK_EQ_INT(si->code, e[i].code);
        CHECK_EQ_STR(si->reason, e[i].reason);
        CHECK_EQ_STR(si->rfc, e[i].rfc);
        CHECK_EQ_STR(nxx_status_reason(e[i].code), e[i].reason);
    }
}

static int expected_anywhere(int code)
{
    for (size_t i = 0; i < COUNT(rfc9110); i++)
        if (rfc9110[i].code == code)
            return 1;
    for (size_t i = 0; i < COUNT(extensions); i++)
        if (extensions[i].code == code)
            return 1;
    return 0;
}

static int in_set(int code, const int *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == code)
            return 1;
    return 0;
}

TEST(rfc9110_codes_present_with_exact_reason)
{
    check_expected(rfc9110, COUNT(rfc9110));
}

TEST(extension_codes_present_with_exact_reason)
{
    check_expected(extensions, COUNT(extensions));
}

TEST(table_has_exactly_the_expected_codes)
{
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    CHECK(t != NULL);
    CHECK_EQ_INT(n, COUNT(rfc9110) + COUNT(extensions));
    for (size_t i = 0; i < n; i++)
        if (!expected_anywhere(t[i].code))
            test_fail(__FILE__, __LINE__, "unexpected code %d in the registry", t[i].code);
}

TEST(table_sorted_unique_and_lookup_consistent)
{
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    for (size_t i = 1; i < n; i++)
        if (t[i - 1].code >= t[i].code)
            test_fail(__FILE__, __LINE__, "%d before %d", t[i - 1].code, t[i].code);
    for (size_t i = 0; i < n; i++)
        CHECK(nxx_status_get(t[i].code) == &t[i]);
}

TEST(classes)
{
    CHECK_EQ_STR(nxx_status_class(100), "Informational");
    CHECK_EQ_STR(nxx_status_class(226), "Successful");
    CHECK_EQ_STR(nxx_status_class(308), "Redirection");
    CHECK_EQ_STR(nxx_status_class(451), "Client Error");
    CHECK_EQ_STR(nxx_status_class(511), "Server Error");
    CHECK(nxx_status_class(99) == NULL);
    CHECK(nxx_status_class(600) == NULL);
    CHECK(nxx_status_class(-1) == NULL);

    static const char *const names[] = { NULL,          "Informational", "Successful",
                                         "Redirection", "Client Error",  "Server Error" };
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    for (size_t i = 0; i < n; i++)
        CHECK_EQ_STR(nxx_status_class(t[i].code), names[t[i].code / 100]);
}

TEST(no_content_for_1xx_204_205_304)
{
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    for (size_t i = 0; i < n; i++) {
        int c = t[i].code;
        int body_allowed = !(c / 100 == 1 || c == 204 || c == 205 || c == 304);
        if (!!(t[i].flags & NXX_SF_BODY) != body_allowed)
            test_fail(__FILE__, __LINE__, "%d: NXX_SF_BODY should be %d", c, body_allowed);
    }
    CHECK(!(nxx_status_get(204)->flags & NXX_SF_BODY));
    CHECK(!(nxx_status_get(304)->flags & NXX_SF_BODY));
    CHECK(nxx_status_get(200)->flags & NXX_SF_BODY);
}

TEST(cacheable_set_is_exactly_rfc9110_15_1)
{
    static const int cacheable[] = { 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501 };
    size_t n = 0, seen = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    for (size_t i = 0; i < n; i++) {
        int want = in_set(t[i].code, cacheable, COUNT(cacheable));
        if (!!(t[i].flags & NXX_SF_CACHEABLE) != want)
            test_fail(__FILE__, __LINE__, "%d: NXX_SF_CACHEABLE should be %d", t[i].code, want);
        seen += want;
    }
    CHECK_EQ_INT(seen, COUNT(cacheable));
}

TEST(never_sent_is_exactly_305_306)
{
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    for (size_t i = 0; i < n; i++) {
        int want = t[i].code == 305 || t[i].code == 306;
        if (!!(t[i].flags & NXX_SF_NEVER) != want)
            test_fail(__FILE__, __LINE__, "%d: NXX_SF_NEVER should be %d", t[i].code, want);
    }
}

TEST(sent_today_is_exactly_the_lists)
{
    size_t n = 0, serve = 0, library = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    for (size_t i = 0; i < n; i++) {
        int c = t[i].code;
        int want_serve = in_set(c, sent_by_serve, COUNT(sent_by_serve));
        int want_lib = want_serve || in_set(c, sent_by_library, NLIB);
        if (!!(t[i].flags & NXX_SF_SERVE) != want_serve)
            test_fail(__FILE__, __LINE__, "%d: NXX_SF_SERVE should be %d", c, want_serve);
        if (!!(t[i].flags & NXX_SF_LIBRARY) != want_lib)
            test_fail(__FILE__, __LINE__, "%d: NXX_SF_LIBRARY should be %d", c, want_lib);
        serve += want_serve;
        library += want_lib && !want_serve;
    }
    CHECK_EQ_INT(serve, COUNT(sent_by_serve));
    CHECK_EQ_INT(library, NLIB);
}

/* A code sent today says when; one not sent yet keeps what will send it. */
TEST(sent_codes_say_when_and_the_rest_what_will)
{
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    for (size_t i = 0; i < n; i++) {
        int c = t[i].code;
        if (t[i].flags & (NXX_SF_LIBRARY | NXX_SF_NEVER)) {
            if (!t[i].sent_when[0])
                test_fail(__FILE__, __LINE__, "%d is sent (or never) but does not say when", c);
        } else {
            if (t[i].sent_when[0])
                test_fail(__FILE__, __LINE__, "%d is not sent yet but says when", c);
            if (!t[i].planned[0])
                test_fail(__FILE__, __LINE__, "%d is not sent yet and says nothing of what will",
                          c);
        }
        if ((t[i].flags & NXX_SF_NEVER) && (t[i].flags & NXX_SF_LIBRARY))
            test_fail(__FILE__, __LINE__, "%d is both sent and never sent", c);
        if ((t[i].flags & NXX_SF_SERVE) && !(t[i].flags & NXX_SF_LIBRARY))
            test_fail(__FILE__, __LINE__, "%d: nxx serve sends it but not the library", c);
    }
    CHECK_EQ_STR(nxx_status_sender(200), "nxx serve");
    CHECK_EQ_STR(nxx_status_sender(418), "nxx serve");
    CHECK_EQ_STR(nxx_status_sender(101), "nxx serve");
    CHECK_EQ_STR(nxx_status_sender(300), "nxx serve");
    CHECK_EQ_STR(nxx_status_sender(306), "never");
    CHECK(nxx_status_sender(299) == NULL);
}

/* RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ); docs need one line. */
TEST(fields_complete_and_wire_safe)
{
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    for (size_t i = 0; i < n; i++) {
        const char *fields[] = { t[i].reason, t[i].rfc, t[i].summary, t[i].sent_when,
                                 t[i].planned };
        for (size_t f = 0; f < COUNT(fields); f++) {
            CHECK(fields[f] != NULL);
            if (fields[f] && f < 3 && fields[f][0] == '\0')
                test_fail(__FILE__, __LINE__, "%d: field %zu is empty", t[i].code, f);
            if (fields[f] && (strchr(fields[f], '\n') || strchr(fields[f], '\r')))
                test_fail(__FILE__, __LINE__, "%d: field %zu has a line break", t[i].code, f);
        }
        CHECK(strncmp(t[i].rfc, "RFC ", 4) == 0);
        for (const unsigned char *p = (const unsigned char *)t[i].reason; *p; p++)
            if (!(*p == '\t' || (*p >= 0x20 && *p != 0x7f)))
                test_fail(__FILE__, __LINE__, "%d: byte 0x%02x in reason", t[i].code, *p);
    }
}

TEST(status_line_404)
{
    size_t len = 0;
    const char *line = nxx_http1_status_line(404, &len);
    CHECK(line != NULL);
    CHECK_EQ_INT(len, strlen("HTTP/1.1 404 Not Found\r\n"));
    CHECK_EQ_MEM(line, len, "HTTP/1.1 404 Not Found\r\n");
    CHECK_EQ_STR(line, "HTTP/1.1 404 Not Found\r\n");
    CHECK(nxx_http1_status_line(404, NULL) == line);
}

TEST(status_line_every_entry)
{
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    for (size_t i = 0; i < n; i++) {
        char want[128];
        snprintf(want, sizeof(want), "HTTP/1.1 %d %s\r\n", t[i].code, t[i].reason);
        size_t len = 0;
        const char *line = nxx_http1_status_line(t[i].code, &len);
        CHECK(line != NULL);
        if (line)
            CHECK_EQ_MEM(line, len, want);
    }
    size_t len = 0;
    const char *teapot = nxx_http1_status_line(418, &len);
    CHECK_EQ_MEM(teapot, len, "HTTP/1.1 418 I'm a teapot\r\n");
}

TEST(unregistered_codes)
{
    static const int bad[] = { 99,  299, 600, -1,  0,   1,       199,
                               419, 427, 509, 599, 999, INT_MIN, INT_MAX };
    for (size_t i = 0; i < COUNT(bad); i++) {
        size_t len = 12345;
        CHECK(nxx_status_get(bad[i]) == NULL);
        CHECK(nxx_status_reason(bad[i]) == NULL);
        CHECK(nxx_http1_status_line(bad[i], &len) == NULL);
        CHECK_EQ_INT(len, 0);
    }
}

/* Render with fn into a memory stream; the caller frees the result. */
static char *render(void (*fn)(FILE *), size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    CHECK(f != NULL);
    if (!f)
        return NULL;
    fn(f);
    CHECK(fclose(f) == 0);
    return buf;
}

/* Number of '|' not preceded by a backslash in [s, e). */
static int count_pipes(const char *s, const char *e)
{
    int n = 0;
    for (const char *p = s; p < e; p++)
        if (*p == '|' && (p == s || p[-1] != '\\'))
            n++;
    return n;
}

TEST(markdown_one_row_per_entry)
{
    size_t n = 0, len = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    char *md = render(nxx_status_markdown, &len);
    if (!md)
        return;
    CHECK(strncmp(md, "# ", 2) == 0);
    CHECK(strstr(md, "src/http/status.c") != NULL);
    CHECK(strstr(md, "make docs") != NULL);
    CHECK(strstr(md, "nxx explain --all --markdown") != NULL);
    CHECK(strstr(md, "must not be edited by hand") != NULL);
    CHECK(strstr(md, "| code | reason | class | body | cacheable | RFC | sent by | when nxx sends "
                     "it |\n") != NULL);

    size_t rows = 0, at = 0;
    for (const char *line = md; *line;) {
        const char *eol = strchr(line, '\n');
        if (!eol)
            eol = line + strlen(line);
        int code = 0;
        if (eol - line > 6 && line[0] == '|' && line[1] == ' ' &&
            sscanf(line, "| %d |", &code) == 1) {
            rows++;
            /* 8 columns: 9 separators, so no cell leaked an unescaped '|'. */
            CHECK_EQ_INT(count_pipes(line, eol), 9);
            if (at < n) {
                CHECK_EQ_INT(code, t[at].code);
                char head[128];
                snprintf(head, sizeof(head), "| %d | %s | %s |", t[at].code, t[at].reason,
                         nxx_status_class(t[at].code));
                CHECK(strncmp(line, head, strlen(head)) == 0);
                char who[64];
                snprintf(who, sizeof(who), "| %s | ", nxx_status_sender(t[at].code));
                char *row = strndup(line, (size_t)(eol - line));
                CHECK(row && strstr(row, who) != NULL);
                if (row && !t[at].sent_when[0])
                    CHECK(strstr(row, "| Not yet: ") != NULL);
                free(row);
            }
            at++;
        }
        line = *eol ? eol + 1 : eol;
    }
    CHECK_EQ_INT(rows, n);
    free(md);
}

/* The summary above the table gives the counts of the lists at the top of
 * this file: what the docs say is sent is what the registry marks sent. */
TEST(markdown_counts_what_is_sent)
{
    size_t n = 0, len = 0;
    nxx_status_table(&n);
    char *md = render(nxx_status_markdown, &len);
    if (!md)
        return;
    size_t nserve = COUNT(sent_by_serve), nlib = NLIB;
    char want[256];
    snprintf(want, sizeof(want),
             "Of these %zu codes, nxx sends %zu today, each by a real mechanism: "
             "%zu from\n`nxx serve`",
             n, nserve + nlib, nserve);
    if (!strstr(md, want))
        test_fail(__FILE__, __LINE__, "the docs do not say \"%s\"", want);
    snprintf(want, sizeof(want), "and %zu more only from a program", nlib);
    CHECK(strstr(md, want) != NULL);
    snprintf(want, sizeof(want),
             "%zu are not sent\nyet (their row keeps what will send them) and 2 "
             "never.",
             n - nserve - nlib - 2);
    if (!strstr(md, want))
        test_fail(__FILE__, __LINE__, "the docs do not say \"%s\"", want);
    struct nxx_status_counts c;
    nxx_status_count(&c);
    CHECK_EQ_INT(c.total, n);
    CHECK_EQ_INT(c.serve, nserve);
    CHECK_EQ_INT(c.library, nlib);
    CHECK_EQ_INT(c.never, 2);
    CHECK_EQ_INT(c.not_yet, n - nserve - nlib - 2);
    free(md);
}

TEST(sent_list_one_code_a_line)
{
    size_t len = 0;
    char *s = render(nxx_status_sent_list, &len);
    if (!s)
        return;
    size_t lines = 0;
    for (const char *line = s; *line;) {
        int code = 0;
        char who[16] = "";
        CHECK_EQ_INT(sscanf(line, "%d %15s", &code, who), 2);
        int serve = in_set(code, sent_by_serve, COUNT(sent_by_serve));
        if (!serve && !in_set(code, sent_by_library, NLIB))
            test_fail(__FILE__, __LINE__, "%d listed as sent", code);
        CHECK_EQ_STR(who, serve ? "serve" : "library");
        lines++;
        const char *eol = strchr(line, '\n');
        CHECK(eol != NULL);
        line = eol ? eol + 1 : line + strlen(line);
    }
    CHECK_EQ_INT(lines, COUNT(sent_by_serve) + NLIB);
    free(s);
}

static void explain_300(FILE *f)
{
    CHECK_EQ_INT(nxx_status_explain(f, 300), 0);
}

static void explain_101(FILE *f)
{
    CHECK_EQ_INT(nxx_status_explain(f, 101), 0);
}

TEST(explain_says_who_sends_it)
{
    size_t len = 0;
    char *s = render(explain_300, &len);
    if (s) {
        CHECK(strstr(s, "  sent by nxx:          yes: nxx serve, and the library\n") != NULL);
        CHECK(strstr(s, "TCN: list") != NULL);
        CHECK(strstr(s, "  planned:") == NULL);
        free(s);
    }
    s = render(explain_101, &len);
    if (s) {
        CHECK(strstr(s, "  sent by nxx:          yes: nxx serve, and the library") != NULL);
        CHECK(strstr(s, "WebSocket opening handshake") != NULL);
        CHECK(strstr(s, "nxx_req_takeover") != NULL);
        CHECK(strstr(s, "  planned:              A WebSocket upgrade proxied") != NULL);
        free(s);
    }
}

static void explain_404(FILE *f)
{
    CHECK_EQ_INT(nxx_status_explain(f, 404), 0);
}

static void explain_299(FILE *f)
{
    CHECK_EQ_INT(nxx_status_explain(f, 299), -1);
}

TEST(explain_one)
{
    size_t len = 0;
    char *s = render(explain_404, &len);
    if (!s)
        return;
    CHECK(strncmp(s, "404 Not Found\n", 14) == 0);
    CHECK(strstr(s, "Client Error") != NULL);
    CHECK(strstr(s, "RFC 9110 §15.5.5") != NULL);
    CHECK(strstr(s, "cacheable by default: yes") != NULL);
    CHECK(strstr(s, "may carry content:    yes") != NULL);
    CHECK(strstr(s, nxx_status_get(404)->summary) != NULL);
    CHECK(strstr(s, nxx_status_get(404)->sent_when) != NULL);
    CHECK(strstr(s, "  sent by nxx:          yes: nxx serve, and the library\n") != NULL);
    CHECK(strstr(s, "planned:") == NULL);
    free(s);

    s = render(explain_299, &len);
    CHECK_EQ_INT(len, 0);
    free(s);
}

TEST(explain_all_every_entry)
{
    size_t n = 0, len = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    char *s = render(nxx_status_explain_all, &len);
    if (!s)
        return;
    for (size_t i = 0; i < n; i++) {
        char head[128];
        snprintf(head, sizeof(head), "%s%d %s\n", i ? "\n" : "", t[i].code, t[i].reason);
        if (!strstr(s, head))
            test_fail(__FILE__, __LINE__, "no entry for %d", t[i].code);
    }
    CHECK(strstr(s, "304 Not Modified\n  class:                3xx Redirection\n"
                    "  may carry content:    no\n") != NULL);
    free(s);
}
