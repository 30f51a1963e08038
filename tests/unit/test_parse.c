/*
 * test_parse.c - the request head parser: a table of valid and malformed
 * heads (request smuggling shapes included), each fed at every split point
 * and placed so that it ends at a PROT_NONE page; then checks of the parsed
 * fields, the limits, and every byte value in every part of the head.
 */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http/parse.h"

/* ---- inputs that end at a guard page ----------------------------------- */

#define REGION_BYTES (256 * 1024)

static char *region;

/* Copy s[0..n) so its last byte is the last readable byte before a PROT_NONE page. */
static const char *at_guard(const char *s, size_t n)
{
    if (!region) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        void *m = mmap(NULL, REGION_BYTES + page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED || mprotect((char *)m + REGION_BYTES, page, PROT_NONE) != 0) {
            perror("mmap guard page");
            abort();
        }
        region = m;
    }
    if (n > REGION_BYTES) {
        fprintf(stderr, "input of %zu bytes too big for the guard region\n", n);
        abort();
    }
    char *p = region + REGION_BYTES - n;
    if (n)
        memcpy(p, s, n);
    return p;
}

static const struct nxx_parse_limits deflim = { 32768, 8192, 8192, 100 };
static const struct nxx_parse_limits smalllim = { 256, 64, 32, 4 };

static struct nxx_header hdrs[128];

static int parse(const char *in, size_t n, const struct nxx_parse_limits *lim,
                 struct nxx_http_request *req, int *status, const char **detail)
{
    const char *p = at_guard(in, n);
    memset(req, 0xa5, sizeof(*req)); /* the parser must set everything it reports */
    req->headers = hdrs;
    *status = 0;
    *detail = NULL;
    return nxx_parse_request(p, n, req, lim, status, detail);
}

/* ---- the table --------------------------------------------------------- */

struct pcase {
    const char *name;
    const char *in;
    size_t len;
    size_t consumed;    /* valid: head length when bytes follow it, 0 for all of in */
    int status;         /* 0 for a valid head, else the error status */
    const char *detail; /* errors: a substring of the expected detail */
};

/* clang-format off */
#define IN(s) s, sizeof(s) - 1
#define GOOD(name, s) { name, IN(s), 0, 0, NULL }
#define HEAD(name, s, n) { name, IN(s), n, 0, NULL }
#define BAD(name, s, st, d) { name, IN(s), 0, st, d }
/* clang-format on */

#define RL "GET / HTTP/1.1\r\n"
#define PL "POST /up HTTP/1.1\r\nHost: a\r\n"

static const struct pcase cases[] = {
    /* valid heads */
    GOOD("simple_get", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    GOOD("http10_without_host", "GET / HTTP/1.0\r\n\r\n"),
    GOOD("http10_with_host", "GET /a HTTP/1.0\r\nHost: a\r\n\r\n"),
    GOOD("http12_is_11", "GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
    GOOD("http19_is_11", "GET / HTTP/1.9\r\nHost: a\r\n\r\n"),
    GOOD("leading_empty_line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    GOOD("leading_empty_lines", "\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    GOOD("query", "GET /s?q=1&r=%20 HTTP/1.1\r\nHost: a\r\n\r\n"),
    GOOD("empty_query", "GET /s? HTTP/1.1\r\nHost: a\r\n\r\n"),
    GOOD("lenient_target_chars", "GET /a|b{c}^`\"<>\\[] HTTP/1.1\r\nHost: a\r\n\r\n"),
    GOOD("unknown_method", "FROB / HTTP/1.1\r\nHost: a\r\n\r\n"),
    GOOD("lowercase_method", "get / HTTP/1.1\r\nHost: a\r\n\r\n"),
    GOOD("token_method", "M-S.E_ARCH!#$%&'*+^`|~ / HTTP/1.1\r\nHost: a\r\n\r\n"),
    GOOD("many_fields", RL "Host: a\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n"
                           "Accept-Encoding: gzip, br\r\nCookie: a=b; c=d\r\n\r\n"),
    GOOD("empty_value", RL "Host: a\r\nX-Empty:\r\n\r\n"),
    GOOD("blank_value", RL "Host: a\r\nX-Empty: \t \r\n\r\n"),
    GOOD("obs_text_value", RL "Host: a\r\nX-Name: caf\xc3\xa9\r\n\r\n"),
    GOOD("tab_inside_value", RL "Host: a\r\nX: a\tb\r\n\r\n"),
    GOOD("colons_in_value", RL "Host: a\r\nX: a:b::c\r\n\r\n"),
    GOOD("long_values_simd",
         RL "Host: a\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
            "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,\t*/*;q=0.8\r\n"
            "X-Trailing: 0123456789abcdef0123456789abcdef \t \r\n\r\n"),
    GOOD("host_empty", RL "Host:\r\n\r\n"),
    GOOD("host_port", RL "Host: example.com:8080\r\n\r\n"),
    GOOD("host_empty_port", RL "Host: example.com:\r\n\r\n"),
    GOOD("host_ipv4", RL "Host: 127.0.0.1:80\r\n\r\n"),
    GOOD("host_ipv6", RL "Host: [::1]:8080\r\n\r\n"),
    GOOD("host_ipvfuture", RL "Host: [v1.fe80::a+en1]\r\n\r\n"),
    GOOD("host_pct", RL "Host: ex%41mple.com\r\n\r\n"),
    GOOD("host_case_field", RL "hOsT: a\r\n\r\n"),
    GOOD("absolute_form", "GET http://example.com/a?b HTTP/1.1\r\nHost: x\r\n\r\n"),
    GOOD("absolute_form_https_upper", "GET HTTPS://Example.com:8443 HTTP/1.1\r\nHost: x\r\n\r\n"),
    GOOD("absolute_form_ignores_host", "GET http://a/ HTTP/1.1\r\nHost: not valid/\r\n\r\n"),
    GOOD("connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
    GOOD("connect_ipv6", "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"),
    GOOD("options_asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
    GOOD("content_length", PL "Content-Length: 5\r\n\r\n"),
    GOOD("content_length_zero", PL "Content-Length: 0\r\n\r\n"),
    GOOD("content_length_leading_zeros", PL "Content-Length: 007\r\n\r\n"),
    GOOD("content_length_19_digits", PL "Content-Length: 9999999999999999999\r\n\r\n"),
    GOOD("content_length_list_same", PL "Content-Length: 5, 5,5\r\n\r\n"),
    GOOD("content_length_repeated_same", PL "Content-Length: 5\r\ncontent-length: 5\r\n\r\n"),
    GOOD("chunked", PL "Transfer-Encoding: chunked\r\n\r\n"),
    GOOD("chunked_upper", PL "Transfer-Encoding: CHUNKED\r\n\r\n"),
    GOOD("chunked_ows", PL "Transfer-Encoding: \tchunked\t \r\n\r\n"),
    GOOD("chunked_empty_elements", PL "Transfer-Encoding: , chunked ,\r\n\r\n"),
    GOOD("expect_continue", PL "Expect: 100-Continue\r\nContent-Length: 1\r\n\r\n"),
    GOOD("connection_tokens", RL "Host: a\r\nConnection: keep-alive, Upgrade\r\n\r\n"),
    HEAD("pipelined", "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", 27),
    HEAD("body_follows", PL "Content-Length: 5\r\n\r\nhello", 49),
    HEAD("garbage_follows", RL "Host: a\r\n\r\n\x00\xff\n\r", 27),

    /* request line */
    BAD("method_bad_char", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "method"),
    BAD("method_utf8", "G\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "method"),
    BAD("method_empty", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty method"),
    BAD("method_tab", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "method"),
    BAD("method_nul", "GET\0/ HTTP/1.1\r\n", 400, "method"),
    BAD("leading_bare_lf", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare lf"),
    BAD("leading_bare_cr", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare cr"),
    BAD("double_space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty request-target"),
    BAD("space_before_version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400, "version"),
    BAD("target_ctl", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request-target"),
    BAD("target_nul", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request-target"),
    BAD("target_del", "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request-target"),
    BAD("target_tab", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request-target"),
    BAD("target_utf8", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request-target"),
    BAD("target_fragment", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "fragment"),
    BAD("target_long_utf8_simd", "GET /0123456789abcdef0123456789\xff HTTP/1.1\r\n", 400,
        "request-target"),
    BAD("http09", "GET /\r\n\r\n", 400, "missing http version"),
    BAD("http09_lf", "GET /\n", 400, "missing http version"),
    BAD("version_lowercase", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, "version"),
    BAD("version_garbage", "GET / XTTP/1.1\r\nHost: a\r\n\r\n", 400, "version"),
    BAD("version_two_digit_minor", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "version"),
    BAD("version_two_digit_major", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", 400, "version"),
    BAD("version_no_minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400, "version"),
    BAD("version_comma", "GET / HTTP/1,1\r\nHost: a\r\n\r\n", 400, "version"),
    BAD("version_trailing_space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "version"),
    BAD("version_2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "http/1"),
    BAD("version_3", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505, "http/1"),
    BAD("version_0_9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "http/1"),
    BAD("version_9_9", "GET / HTTP/9.9\r\n\r\n", 505, "http/1"),
    BAD("request_line_bare_lf", "GET / HTTP/1.1\nHost: a\n\n", 400, "bare lf"),
    BAD("request_line_bare_cr", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400, "bare cr"),
    BAD("request_line_crcr", "GET / HTTP/1.1\r\rHost: a\r\n\r\n", 400, "bare cr"),
    BAD("version_bare_lf_505", "GET / HTTP/2.0\n", 400, "bare lf"),
    BAD("origin_without_slash", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request-target"),
    BAD("authority_form_get", "GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
        "only allowed with connect"),
    BAD("authority_form_options", "OPTIONS a:1 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
        "only allowed with connect"),
    BAD("connect_origin_form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "connect"),
    BAD("connect_asterisk", "CONNECT * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "connect"),
    BAD("connect_without_port", "CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", 400, "connect"),
    BAD("connect_empty_port", "CONNECT example.com: HTTP/1.1\r\nHost: a\r\n\r\n", 400, "connect"),
    BAD("connect_absolute", "CONNECT http://a:80/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "connect"),
    BAD("connect_userinfo", "CONNECT u@a:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "connect"),
    BAD("connect_lowercase", "connect a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
        "only allowed with connect"),
    BAD("asterisk_get", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "options"),
    BAD("asterisk_query", "OPTIONS *?a HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request-target"),
    BAD("asterisk_path", "OPTIONS */a HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request-target"),
    BAD("scheme_ftp", "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request-target"),
    BAD("scheme_no_slashes", "GET http:a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request-target"),
    BAD("absolute_empty_host", "GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n", 400, "authority"),
    BAD("absolute_userinfo", "GET http://u:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "authority"),
    BAD("absolute_bad_port", "GET http://a:8o/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "authority"),
    BAD("absolute_without_host_field", "GET http://a/ HTTP/1.1\r\n\r\n", 400, "missing host"),

    /* field syntax */
    BAD("space_before_colon", RL "Host : a\r\n\r\n", 400, "whitespace before colon"),
    BAD("tab_before_colon", RL "Host\t: a\r\n\r\n", 400, "whitespace before colon"),
    BAD("te_space_before_colon", PL "Transfer-Encoding : chunked\r\n\r\n", 400,
        "whitespace before colon"),
    BAD("cl_space_before_colon", PL "Content-Length : 5\r\n\r\n", 400, "whitespace before colon"),
    BAD("obs_fold", RL "Host: a\r\nX: a\r\n b\r\n\r\n", 400, "folding"),
    BAD("obs_fold_tab", RL "Host: a\r\nX: a\r\n\tb\r\n\r\n", 400, "folding"),
    BAD("obs_fold_te", PL "Transfer-Encoding: chunked\r\n , gzip\r\n\r\n", 400, "folding"),
    BAD("obs_fold_te_empty_first", PL "Transfer-Encoding:\r\n chunked\r\n\r\n", 400,
        "empty transfer-encoding"),
    BAD("whitespace_before_first_field", RL " Host: a\r\n\r\n", 400, "first header field"),
    BAD("field_bare_lf", RL "Host: a\nX: b\r\n\r\n", 400, "bare lf"),
    BAD("field_bare_cr", RL "Host: a\rX: b\r\n\r\n", 400, "bare cr"),
    BAD("end_bare_lf", RL "Host: a\r\n\n", 400, "bare lf"),
    BAD("end_bare_cr", RL "Host: a\r\n\rX", 400, "bare cr"),
    BAD("end_lf_lf", RL "Host: a\n\n", 400, "bare lf"),
    BAD("nul_in_value", RL "Host: a\r\nX: a\0b\r\n\r\n", 400, "field value"),
    BAD("esc_in_value", RL "Host: a\r\nX: \x1b[31m\r\n\r\n", 400, "field value"),
    BAD("del_in_value", RL "Host: a\r\nX: a\x7f\r\n\r\n", 400, "field value"),
    BAD("vt_in_value_simd", RL "Host: a\r\nX: 0123456789abcdef0123456789\x0b\r\n\r\n", 400,
        "field value"),
    BAD("te_vertical_tab",
        PL "Transfer-Encoding:\x0b"
           "chunked\r\n\r\n",
        400, "field value"),
    BAD("te_form_feed", PL "Transfer-Encoding: chunked\x0c\r\n\r\n", 400, "field value"),
    BAD("empty_field_name", RL "Host: a\r\n: b\r\n\r\n", 400, "empty field name"),
    BAD("field_without_colon", RL "Host: a\r\nX-Foo\r\n\r\n", 400, "without colon"),
    BAD("bad_char_in_name", RL "Host: a\r\nX(a): b\r\n\r\n", 400, "field name"),
    BAD("utf8_in_name", RL "H\xc3\xb6st: a\r\n\r\n", 400, "field name"),
    BAD("nul_in_name", RL "Ho\0st: a\r\n\r\n", 400, "field name"),

    /* Host */
    BAD("missing_host", "GET / HTTP/1.1\r\nX: a\r\n\r\n", 400, "missing host"),
    BAD("missing_host_no_fields", "GET / HTTP/1.1\r\n\r\n", 400, "missing host"),
    BAD("duplicate_host", RL "Host: a\r\nHost: a\r\n\r\n", 400, "duplicate host"),
    BAD("duplicate_host_case", RL "Host: a\r\nhOST: b\r\n\r\n", 400, "duplicate host"),
    BAD("duplicate_host_http10", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400,
        "duplicate host"),
    BAD("duplicate_host_absolute", "GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400,
        "duplicate host"),
    BAD("host_inner_space", RL "Host: a b\r\n\r\n", 400, "invalid host"),
    BAD("host_inner_tab", RL "Host: a\tb\r\n\r\n", 400, "invalid host"),
    BAD("host_slash", RL "Host: a/b\r\n\r\n", 400, "invalid host"),
    BAD("host_userinfo", RL "Host: u@a\r\n\r\n", 400, "invalid host"),
    BAD("host_question", RL "Host: a?b\r\n\r\n", 400, "invalid host"),
    BAD("host_bad_port", RL "Host: a:8x\r\n\r\n", 400, "invalid host"),
    BAD("host_long_port", RL "Host: a:123456\r\n\r\n", 400, "invalid host"),
    BAD("host_two_ports", RL "Host: a:1:2\r\n\r\n", 400, "invalid host"),
    BAD("host_bad_ipv6", RL "Host: [zz]\r\n\r\n", 400, "invalid host"),
    BAD("host_unclosed_ipv6", RL "Host: [::1\r\n\r\n", 400, "invalid host"),
    BAD("host_bad_pct", RL "Host: a%4\r\n\r\n", 400, "invalid host"),
    BAD("host_utf8", RL "Host: caf\xc3\xa9\r\n\r\n", 400, "invalid host"),

    /* Content-Length */
    BAD("cl_plus", PL "Content-Length: +5\r\n\r\n", 400, "invalid content-length"),
    BAD("cl_minus", PL "Content-Length: -5\r\n\r\n", 400, "invalid content-length"),
    BAD("cl_hex", PL "Content-Length: 0x5\r\n\r\n", 400, "invalid content-length"),
    BAD("cl_space_inside", PL "Content-Length:  5 5\r\n\r\n", 400, "invalid content-length"),
    BAD("cl_decimal", PL "Content-Length: 5.0\r\n\r\n", 400, "invalid content-length"),
    BAD("cl_empty", PL "Content-Length:\r\n\r\n", 400, "invalid content-length"),
    BAD("cl_trailing_comma", PL "Content-Length: 5,\r\n\r\n", 400, "invalid content-length"),
    BAD("cl_empty_element", PL "Content-Length: 5,,5\r\n\r\n", 400, "invalid content-length"),
    BAD("cl_list_different", PL "Content-Length: 5, 6\r\n\r\n", 400, "different values"),
    BAD("cl_two_fields_different", PL "Content-Length: 5\r\nContent-Length: 50\r\n\r\n", 400,
        "different values"),
    BAD("cl_20_digits", PL "Content-Length: 00000000000000000005\r\n\r\n", 400, "too large"),
    BAD("cl_overflow", PL "Content-Length: 18446744073709551616\r\n\r\n", 400, "too large"),
    BAD("cl_huge", PL "Content-Length: 99999999999999999999999999\r\n\r\n", 400, "too large"),

    /* Transfer-Encoding, and the smuggling shapes */
    BAD("cl_te", PL "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
        "together with content-length"),
    BAD("te_cl", PL "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
        "together with content-length"),
    BAD("te_cl_zero", PL "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 400,
        "together with content-length"),
    BAD("te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "http/1.0"),
    BAD("te_gzip_alone", PL "Transfer-Encoding: gzip\r\n\r\n", 501, "gzip"),
    BAD("te_gzip_chunked", PL "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "'gzip'"),
    BAD("te_deflate_chunked", PL "Transfer-Encoding: deflate,chunked\r\n\r\n", 501, "'deflate'"),
    BAD("te_identity_chunked", PL "Transfer-Encoding: identity, chunked\r\n\r\n", 501,
        "'identity'"),
    BAD("te_unknown_chunked", PL "Transfer-Encoding: frob, chunked\r\n\r\n", 501,
        "not implemented"),
    BAD("te_gzip_param_chunked", PL "Transfer-Encoding: gzip;level=\"1\" , chunked\r\n\r\n", 501,
        "'gzip'"),
    BAD("te_split_fields_501", PL "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        501, "'gzip'"),
    BAD("te_chunked_gzip", PL "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, "final"),
    BAD("te_chunked_identity", PL "Transfer-Encoding: chunked, identity\r\n\r\n", 400, "final"),
    BAD("te_chunked_twice", PL "Transfer-Encoding: chunked, chunked\r\n\r\n", 400,
        "more than once"),
    BAD("te_chunked_two_fields",
        PL "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
           "\r\n",
        400, "more than once"),
    BAD("te_chunked_then_gzip_field",
        PL "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"
           "\r\n",
        400, "final"),
    BAD("te_xchunked", PL "Transfer-Encoding: xchunked\r\n\r\n", 501, "not implemented"),
    BAD("te_chunkedx", PL "Transfer-Encoding: chunkedx\r\n\r\n", 501, "not implemented"),
    BAD("te_chunked_space_inside", PL "Transfer-Encoding: chun ked\r\n\r\n", 400,
        "invalid transfer-encoding"),
    BAD("te_quoted_chunked", PL "Transfer-Encoding: \"chunked\"\r\n\r\n", 400,
        "invalid transfer-encoding"),
    BAD("te_chunked_param", PL "Transfer-Encoding: chunked;q=1\r\n\r\n", 400,
        "invalid transfer-encoding"),
    BAD("te_chunked_semicolon", PL "Transfer-Encoding: chunked;\r\n\r\n", 400,
        "invalid transfer-encoding"),
    BAD("te_bad_param", PL "Transfer-Encoding: gzip;level, chunked\r\n\r\n", 400,
        "invalid transfer-encoding"),
    BAD("te_unterminated_quote", PL "Transfer-Encoding: gzip;a=\"1, chunked\r\n\r\n", 400,
        "invalid transfer-encoding"),
    BAD("te_empty", PL "Transfer-Encoding:\r\n\r\n", 400, "empty transfer-encoding"),
    BAD("te_commas_only", PL "Transfer-Encoding: , ,\r\n\r\n", 400, "empty transfer-encoding"),
    BAD("te_obs_text",
        PL "Transfer-Encoding: chunk\xe9"
           "d\r\n\r\n",
        400, "invalid transfer-encoding"),
    BAD("te_nul", PL "Transfer-Encoding: chunked\0\r\n\r\n", 400, "field value"),
};

/* Inputs for the small limits: 256-byte head, 64-byte field, 32-byte target, 4 fields. */
#define D10 "0123456789"
#define D50 D10 D10 D10 D10 D10

static const struct pcase small_cases[] = {
    GOOD("target_at_limit", "GET /" D10 D10 D10 "a HTTP/1.1\r\nHost: a\r\n\r\n"),
    GOOD("field_at_limit", RL "Host: a\r\nX-Field: " D50 "abcde\r\n\r\n"),
    GOOD("fields_at_count", RL "Host: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
    GOOD("section_at_limit", RL "Host: " D50 "abcdefgh\r\nA: " D50 D10 "a\r\nB: " D50 D10
                                "a\r\nC: " D10 D10 D10 "abcde\r\n\r\n"),
    BAD("target_over_limit", "GET /" D10 D10 D10 "ab HTTP/1.1\r\nHost: a\r\n\r\n", 414,
        "uri limit"),
    BAD("target_over_limit_incomplete", "GET /" D10 D10 D10 "ab", 414, "uri limit"),
    BAD("target_over_limit_ctl_later", "GET /" D10 D10 D10 "ab\x01", 414, "uri limit"),
    BAD("field_over_limit", RL "Host: a\r\nX-Field: " D50 "abcdef\r\n\r\n", 431, "field limit"),
    BAD("field_over_limit_incomplete", RL "Host: a\r\nX-Field: " D50 "abcdef", 431, "field limit"),
    BAD("field_over_limit_trailing_ows", RL "Host: a\r\nX-Field: " D50 "abcde \r\n\r\n", 431,
        "field limit"),
    BAD("field_name_over_limit", RL "Host: a\r\nX-" D50 D10 D10, 431, "field limit"),
    BAD("too_many_fields", RL "Host: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431,
        "too many header fields"),
    BAD("section_over_limit",
        RL "Host: " D50 "abcdefgh\r\nA: " D50 D10 "a\r\nB: " D50 D10 "a\r\nC: " D10 D10 D10
           "abcdef\r\n\r\n",
        431, "header section"),
    BAD("method_over_section", D50 D50 D50 D50 D50 D50 " / HTTP/1.1\r\n", 431, "header section"),
    BAD("empty_lines_over_limit",
        "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
        "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
        "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
        "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
        "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
        "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
        "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        431, "header section"),
};

/*
 * Run one case at every split point: every strict prefix of a valid head is
 * INCOMPLETE and the whole gives its length; a malformed input fails with its
 * status, and its prefixes are INCOMPLETE until they fail with that status.
 */
static void run_case(const struct pcase *c, const struct nxx_parse_limits *lim)
{
    struct nxx_http_request req;
    int status = 0;
    const char *detail = NULL;
    int failed_at = -1;

    for (size_t k = 0; k <= c->len; k++) {
        int rc = parse(c->in, k, lim, &req, &status, &detail);
        if (c->status == 0) {
            size_t head = c->consumed ? c->consumed : c->len;
            int want = k < head ? NXX_PARSE_INCOMPLETE : (int)head;
            if (rc != want) {
                test_fail(__FILE__, __LINE__, "%s: %zu of %zu bytes: got %d (%d, %s), want %d",
                          c->name, k, c->len, rc, status, rc == NXX_PARSE_ERROR ? detail : "-",
                          want);
                return;
            }
            continue;
        }
        if (rc == NXX_PARSE_ERROR) {
            if (status != c->status || !detail) {
                test_fail(__FILE__, __LINE__, "%s: %zu of %zu bytes: status %d (%s), want %d",
                          c->name, k, c->len, status, detail ? detail : "(null)", c->status);
                return;
            }
            if (failed_at < 0)
                failed_at = (int)k;
        } else if (rc != NXX_PARSE_INCOMPLETE || failed_at >= 0) {
            test_fail(__FILE__, __LINE__, "%s: %zu of %zu bytes: got %d after failing at %d",
                      c->name, k, c->len, rc, failed_at);
            return;
        }
    }
    if (c->status != 0) {
        if (failed_at < 0) {
            test_fail(__FILE__, __LINE__, "%s: never failed", c->name);
        } else if (c->detail && !strstr(detail, c->detail)) {
            test_fail(__FILE__, __LINE__, "%s: detail \"%s\" lacks \"%s\"", c->name, detail,
                      c->detail);
        }
    }
}

TEST(table_default_limits)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i], &deflim);
}

TEST(table_small_limits)
{
    for (size_t i = 0; i < sizeof(small_cases) / sizeof(small_cases[0]); i++)
        run_case(&small_cases[i], &smalllim);
}

TEST(table_names_unique)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (size_t j = i + 1; j < sizeof(cases) / sizeof(cases[0]); j++)
            if (strcmp(cases[i].name, cases[j].name) == 0)
                test_fail(__FILE__, __LINE__, "case name %s used twice", cases[i].name);
}

/* ---- parsed fields ----------------------------------------------------- */

static int parse_str(const char *s, struct nxx_http_request *req, int *status, const char **detail)
{
    return parse(s, strlen(s), &deflim, req, status, detail);
}

TEST(fields_origin_form)
{
    static const char in[] = "GET /a/b%20c?x=1&y HTTP/1.1\r\n"
                             "Host:  example.com:8080 \r\n"
                             "X-Empty:\r\n"
                             "user-agent:\tcurl/8 \t\r\n"
                             "\r\n";
    struct nxx_http_request req;
    int status;
    const char *detail;

    CHECK_EQ_INT(parse_str(in, &req, &status, &detail), (int)strlen(in));
    CHECK_EQ_MEM(req.method.ptr, req.method.len, "GET");
    CHECK_EQ_INT(req.method_id, NXX_M_GET);
    CHECK_EQ_MEM(req.target.ptr, req.target.len, "/a/b%20c?x=1&y");
    CHECK_EQ_INT(req.form, NXX_TARGET_ORIGIN);
    CHECK_EQ_MEM(req.path.ptr, req.path.len, "/a/b%20c");
    CHECK_EQ_MEM(req.query.ptr, req.query.len, "x=1&y");
    CHECK_EQ_INT(req.minor_version, 1);
    CHECK_EQ_INT(req.num_headers, 3);
    CHECK_EQ_MEM(req.headers[0].name.ptr, req.headers[0].name.len, "Host");
    CHECK_EQ_MEM(req.headers[0].value.ptr, req.headers[0].value.len, "example.com:8080");
    CHECK_EQ_MEM(req.headers[1].name.ptr, req.headers[1].name.len, "X-Empty");
    CHECK_EQ_INT(req.headers[1].value.len, 0);
    CHECK_EQ_MEM(req.headers[2].name.ptr, req.headers[2].name.len, "user-agent");
    CHECK_EQ_MEM(req.headers[2].value.ptr, req.headers[2].value.len, "curl/8");
    CHECK_EQ_MEM(req.host.ptr, req.host.len, "example.com:8080");
    CHECK_EQ_MEM(req.authority.ptr, req.authority.len, "example.com:8080");
    CHECK_EQ_INT(req.flags, 0);
    CHECK(req.field_name == NULL);
}

TEST(fields_views_point_into_buffer)
{
    static const char in[] = "PUT /x?q HTTP/1.0\r\nA: b\r\n\r\n";
    struct nxx_http_request req;
    int status;
    const char *detail;
    const char *p = at_guard(in, sizeof(in) - 1);

    req.headers = hdrs;
    CHECK_EQ_INT(nxx_parse_request(p, sizeof(in) - 1, &req, &deflim, &status, &detail),
                 (int)sizeof(in) - 1);
    CHECK(req.method.ptr == p);
    CHECK(req.target.ptr == p + 4);
    CHECK(req.path.ptr == p + 4);
    CHECK(req.query.ptr == p + 7);
    CHECK(req.headers[0].name.ptr == p + 19);
    CHECK(req.headers[0].value.ptr == p + 22);
    CHECK_EQ_INT(req.minor_version, 0);
    CHECK_EQ_INT(req.method_id, NXX_M_PUT);
    CHECK_EQ_INT(req.host.len, 0);
    CHECK_EQ_INT(req.authority.len, 0);
}

TEST(fields_no_query)
{
    struct nxx_http_request req;
    int status;
    const char *detail;

    CHECK(parse_str("GET /p HTTP/1.1\r\nHost: a\r\n\r\n", &req, &status, &detail) > 0);
    CHECK_EQ_MEM(req.path.ptr, req.path.len, "/p");
    CHECK_EQ_INT(req.query.len, 0);
    CHECK(parse_str("GET /p? HTTP/1.1\r\nHost: a\r\n\r\n", &req, &status, &detail) > 0);
    CHECK_EQ_MEM(req.path.ptr, req.path.len, "/p");
    CHECK_EQ_INT(req.query.len, 0);
    CHECK(parse_str("GET /?? HTTP/1.1\r\nHost: a\r\n\r\n", &req, &status, &detail) > 0);
    CHECK_EQ_MEM(req.path.ptr, req.path.len, "/");
    CHECK_EQ_MEM(req.query.ptr, req.query.len, "?");
}

TEST(fields_absolute_form)
{
    struct nxx_http_request req;
    int status;
    const char *detail;

    CHECK(parse_str("GET http://Example.com:81/a/b?c=d HTTP/1.1\r\nHost: other\r\n\r\n", &req,
                    &status, &detail) > 0);
    CHECK_EQ_INT(req.form, NXX_TARGET_ABSOLUTE);
    CHECK_EQ_MEM(req.authority.ptr, req.authority.len, "Example.com:81");
    CHECK_EQ_MEM(req.path.ptr, req.path.len, "/a/b");
    CHECK_EQ_MEM(req.query.ptr, req.query.len, "c=d");
    CHECK_EQ_MEM(req.host.ptr, req.host.len, "other");
    CHECK_EQ_MEM(req.target.ptr, req.target.len, "http://Example.com:81/a/b?c=d");

    /* an empty path is "/" (RFC 9112 §3.2.1) */
    CHECK(parse_str("GET https://a HTTP/1.1\r\nHost: a\r\n\r\n", &req, &status, &detail) > 0);
    CHECK_EQ_MEM(req.authority.ptr, req.authority.len, "a");
    CHECK_EQ_MEM(req.path.ptr, req.path.len, "/");
    CHECK_EQ_INT(req.query.len, 0);

    CHECK(parse_str("GET hTtP://a?q HTTP/1.1\r\nHost: a\r\n\r\n", &req, &status, &detail) > 0);
    CHECK_EQ_MEM(req.authority.ptr, req.authority.len, "a");
    CHECK_EQ_MEM(req.path.ptr, req.path.len, "/");
    CHECK_EQ_MEM(req.query.ptr, req.query.len, "q");
}

TEST(fields_connect_and_options)
{
    struct nxx_http_request req;
    int status;
    const char *detail;

    CHECK(parse_str("CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n", &req,
                    &status, &detail) > 0);
    CHECK_EQ_INT(req.method_id, NXX_M_CONNECT);
    CHECK_EQ_INT(req.form, NXX_TARGET_AUTHORITY);
    CHECK_EQ_MEM(req.authority.ptr, req.authority.len, "db.example:5432");
    CHECK_EQ_INT(req.path.len, 0);
    CHECK_EQ_INT(req.query.len, 0);

    CHECK(parse_str("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &req, &status, &detail) > 0);
    CHECK_EQ_INT(req.method_id, NXX_M_OPTIONS);
    CHECK_EQ_INT(req.form, NXX_TARGET_ASTERISK);
    CHECK_EQ_MEM(req.path.ptr, req.path.len, "*");
    CHECK_EQ_MEM(req.authority.ptr, req.authority.len, "h");

    CHECK(parse_str("OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\n", &req, &status, &detail) > 0);
    CHECK_EQ_INT(req.form, NXX_TARGET_ORIGIN);
}

TEST(fields_flags)
{
    struct nxx_http_request req;
    int status;
    const char *detail;

    CHECK(parse_str("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n", &req, &status,
                    &detail) > 0);
    CHECK_EQ_INT(req.flags, NXX_HF_CONN_CLOSE);
    CHECK(parse_str("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &req, &status, &detail) >
          0);
    CHECK_EQ_INT(req.flags, NXX_HF_CONN_KEEPALIVE);
    CHECK(parse_str("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo ,UPGRADE, , bar\r\n"
                    "connection: close\r\n\r\n",
                    &req, &status, &detail) > 0);
    CHECK_EQ_INT(req.flags, NXX_HF_CONN_UPGRADE | NXX_HF_CONN_CLOSE);
    CHECK(parse_str("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed, xclose, keep-alive2\r\n\r\n",
                    &req, &status, &detail) > 0);
    CHECK_EQ_INT(req.flags, 0);

    CHECK(parse_str("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                    "Content-Length: 12345678901\r\n\r\n",
                    &req, &status, &detail) > 0);
    CHECK_EQ_INT(req.flags, NXX_HF_EXPECT_CONTINUE | NXX_HF_HAS_CL);
    CHECK(req.content_length == 12345678901ULL);
    CHECK(parse_str("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x\r\n\r\n", &req, &status,
                    &detail) > 0);
    CHECK_EQ_INT(req.flags, NXX_HF_EXPECT_OTHER);
    CHECK(parse_str("POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", &req, &status,
                    &detail) > 0);
    CHECK_EQ_INT(req.flags, NXX_HF_EXPECT_OTHER);

    CHECK(parse_str("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", &req,
                    &status, &detail) > 0);
    CHECK_EQ_INT(req.flags, NXX_HF_HAS_TE | NXX_HF_CHUNKED);
    CHECK(parse_str("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n",
                    &req, &status, &detail) > 0);
    CHECK(req.content_length == 9999999999999999999ULL);
    CHECK(parse_str("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &req, &status,
                    &detail) > 0);
    CHECK_EQ_INT(req.flags, NXX_HF_HAS_CL);
    CHECK(req.content_length == 0);
}

TEST(fields_method_ids)
{
    static const struct {
        const char *m;
        enum nxx_method id;
    } ids[] = {
        { "GET", NXX_M_GET },         { "HEAD", NXX_M_HEAD },     { "POST", NXX_M_POST },
        { "PUT", NXX_M_PUT },         { "DELETE", NXX_M_DELETE }, { "CONNECT", NXX_M_CONNECT },
        { "OPTIONS", NXX_M_OPTIONS }, { "TRACE", NXX_M_TRACE },   { "PATCH", NXX_M_PATCH },
        { "get", NXX_M_OTHER },       { "GETS", NXX_M_OTHER },    { "GE", NXX_M_OTHER },
        { "PROPFIND", NXX_M_OTHER },  { "", NXX_M_OTHER },
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        nxx_str m = { ids[i].m, strlen(ids[i].m) };
        if (nxx_method_id(m) != ids[i].id)
            test_fail(__FILE__, __LINE__, "method id of '%s'", ids[i].m);
    }
}

TEST(fields_method_known)
{
    static const char *const known[] = {
        "GET",      "HEAD",      "POST",  "PUT",  "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
        "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",   "LOCK",    "UNLOCK",  "BREW",
    };
    static const char *const unknown[] = {
        "get", "Get", "PURGE", "SEARCH", "QUERY", "LINK", "brew", "COPYX", "LOC", "", "M-SEARCH",
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (!nxx_method_known((nxx_str){ known[i], strlen(known[i]) }))
            test_fail(__FILE__, __LINE__, "'%s' should be known", known[i]);
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        if (nxx_method_known((nxx_str){ unknown[i], strlen(unknown[i]) }))
            test_fail(__FILE__, __LINE__, "'%s' should not be known", unknown[i]);
}

/* ---- limits ------------------------------------------------------------ */

/* Append to a growing request in a static buffer. */
static char big[200000];
static size_t big_len;

static void put(const char *s)
{
    size_t n = strlen(s);
    if (big_len + n > sizeof(big))
        abort();
    memcpy(big + big_len, s, n);
    big_len += n;
}

static void put_n(char c, size_t n)
{
    if (big_len + n > sizeof(big))
        abort();
    memset(big + big_len, c, n);
    big_len += n;
}

TEST(limit_field_names_the_field)
{
    struct nxx_http_request req;
    int status;
    const char *detail;

    big_len = 0;
    put("GET / HTTP/1.1\r\nHost: a\r\nCookie: ");
    put_n('c', 9000);
    put("\r\n\r\n");
    CHECK_EQ_INT(parse(big, big_len, &deflim, &req, &status, &detail), NXX_PARSE_ERROR);
    CHECK_EQ_INT(status, 431);
    CHECK_EQ_STR(req.field_name, "Cookie");
    CHECK_EQ_STR(detail, "header field exceeds the field limit");

    /* the field is blamed before its end arrives */
    CHECK_EQ_INT(parse(big, 25 + 8193, &deflim, &req, &status, &detail), NXX_PARSE_ERROR);
    CHECK_EQ_INT(status, 431);
    CHECK_EQ_STR(req.field_name, "Cookie");
    CHECK_EQ_INT(parse(big, 25 + 8192, &deflim, &req, &status, &detail), NXX_PARSE_INCOMPLETE);
}

TEST(limit_field_exactly_at_limit)
{
    struct nxx_http_request req;
    int status;
    const char *detail;

    big_len = 0;
    put("GET / HTTP/1.1\r\nHost: a\r\nCookie: ");
    put_n('c', 8192 - 8);
    put("\r\n\r\n");
    CHECK_EQ_INT(parse(big, big_len, &deflim, &req, &status, &detail), (int)big_len);
    CHECK_EQ_INT(req.headers[1].value.len, 8192 - 8);
    big_len -= 4;
    put("c\r\n\r\n");
    CHECK_EQ_INT(parse(big, big_len, &deflim, &req, &status, &detail), NXX_PARSE_ERROR);
    CHECK_EQ_INT(status, 431);
}

TEST(limit_field_name_truncated)
{
    struct nxx_http_request req;
    int status;
    const char *detail;

    big_len = 0;
    put("GET / HTTP/1.1\r\nHost: a\r\nX-");
    put_n('n', 100);
    put(": v");
    put_n('v', 9000);
    put("\r\n\r\n");
    CHECK_EQ_INT(parse(big, big_len, &deflim, &req, &status, &detail), NXX_PARSE_ERROR);
    CHECK_EQ_INT(status, 431);
    CHECK(req.field_name != NULL);
    CHECK_EQ_INT(strlen(req.field_name), 63);
    CHECK(strncmp(req.field_name, "X-nnnn", 6) == 0);
}

TEST(limit_header_count)
{
    struct nxx_http_request req;
    int status;
    const char *detail;

    big_len = 0;
    put("GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < 100; i++)
        put("X-A: b\r\n");
    put("\r\n");
    CHECK_EQ_INT(parse(big, big_len, &deflim, &req, &status, &detail), (int)big_len);
    CHECK_EQ_INT(req.num_headers, 100);
    big_len -= 2;
    put("X-A: b\r\n\r\n");
    CHECK_EQ_INT(parse(big, big_len, &deflim, &req, &status, &detail), NXX_PARSE_ERROR);
    CHECK_EQ_INT(status, 431);
    CHECK(req.field_name == NULL);
    CHECK(strstr(detail, "too many") != NULL);
}

TEST(limit_header_section)
{
    struct nxx_http_request req;
    int status;
    const char *detail;
    struct nxx_parse_limits lim = { 1000, 8192, 8192, 100 };

    big_len = 0;
    put("GET / HTTP/1.1\r\nHost: a\r\nX: ");
    put_n('x', 1000 - big_len - 4);
    put("\r\n\r\n");
    CHECK_EQ_INT(big_len, 1000);
    CHECK_EQ_INT(parse(big, big_len, &lim, &req, &status, &detail), 1000);
    /* one byte more: refused as soon as byte 1001 arrives without the end of the head */
    big_len = 0;
    put("GET / HTTP/1.1\r\nHost: a\r\nX: ");
    put_n('x', 1000 - big_len - 3);
    put("\r\n\r");
    CHECK_EQ_INT(big_len, 1000);
    CHECK_EQ_INT(parse(big, big_len, &lim, &req, &status, &detail), NXX_PARSE_INCOMPLETE);
    put("\n");
    CHECK_EQ_INT(parse(big, big_len, &lim, &req, &status, &detail), NXX_PARSE_ERROR);
    CHECK_EQ_INT(status, 431);
    CHECK(req.field_name == NULL);
    /* bytes after a complete head do not count */
    big_len = 0;
    put("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    put_n('x', 5000);
    CHECK_EQ_INT(parse(big, big_len, &lim, &req, &status, &detail), 27);
}

TEST(limit_uri)
{
    struct nxx_http_request req;
    int status;
    const char *detail;

    big_len = 0;
    put("GET /");
    put_n('u', 8191);
    put(" HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_EQ_INT(parse(big, big_len, &deflim, &req, &status, &detail), (int)big_len);
    CHECK_EQ_INT(req.target.len, 8192);
    big_len = 0;
    put("GET /");
    put_n('u', 8192);
    CHECK_EQ_INT(parse(big, big_len, &deflim, &req, &status, &detail), NXX_PARSE_ERROR);
    CHECK_EQ_INT(status, 414);
    CHECK_EQ_INT(parse(big, big_len - 1, &deflim, &req, &status, &detail), NXX_PARSE_INCOMPLETE);
}

TEST(limit_zero_headers_allowed)
{
    struct nxx_http_request req;
    int status;
    const char *detail;
    struct nxx_parse_limits lim = { 1000, 100, 100, 0 };

    CHECK_EQ_INT(parse("GET / HTTP/1.0\r\n\r\n", 18, &lim, &req, &status, &detail), 18);
    CHECK_EQ_INT(parse("GET / HTTP/1.0\r\nA: b\r\n\r\n", 24, &lim, &req, &status, &detail),
                 NXX_PARSE_ERROR);
    CHECK_EQ_INT(status, 431);
}

/* ---- every byte in every position ------------------------------------- */

static int rfc_tchar(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int try_byte(const char *pre, int c, const char *post, int *status)
{
    struct nxx_http_request req;
    const char *detail;

    big_len = 0;
    put(pre);
    big[big_len++] = (char)c;
    put(post);
    return parse(big, big_len, &deflim, &req, status, &detail);
}

TEST(bytes_in_method)
{
    for (int c = 0; c < 256; c++) {
        if (c == ' ')
            continue;
        int status = 0;
        int rc = try_byte("G", c, "T / HTTP/1.1\r\nHost: a\r\n\r\n", &status);
        int ok = rfc_tchar(c);
        if (ok ? rc <= 0 : (rc != NXX_PARSE_ERROR || status != 400))
            test_fail(__FILE__, __LINE__, "byte 0x%02x in method: rc %d status %d", c, rc, status);
    }
}

TEST(bytes_in_target)
{
    for (int c = 0; c < 256; c++) {
        if (c == ' ')
            continue;
        int status = 0;
        int rc = try_byte("GET /", c, " HTTP/1.1\r\nHost: a\r\n\r\n", &status);
        int ok = c > 0x20 && c < 0x7f && c != '#';
        if (ok ? rc <= 0 : (rc != NXX_PARSE_ERROR || status != 400))
            test_fail(__FILE__, __LINE__, "byte 0x%02x in target: rc %d status %d", c, rc, status);
    }
}

TEST(bytes_in_field_name)
{
    for (int c = 0; c < 256; c++) {
        if (c == ':')
            continue;
        int status = 0;
        int rc = try_byte("GET / HTTP/1.1\r\nHost: a\r\nX", c, "y: z\r\n\r\n", &status);
        int ok = rfc_tchar(c);
        if (ok ? rc <= 0 : (rc != NXX_PARSE_ERROR || status != 400))
            test_fail(__FILE__, __LINE__, "byte 0x%02x in field name: rc %d status %d", c, rc,
                      status);
    }
}

TEST(bytes_in_field_value)
{
    /* at the start, inside (scalar and 16-byte paths) and at the end of a value */
    static const char *const shapes[][2] = {
        { "GET / HTTP/1.1\r\nHost: a\r\nX: ", "v\r\n\r\n" },
        { "GET / HTTP/1.1\r\nHost: a\r\nX: v", "v\r\n\r\n" },
        { "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdef", "0123456789abcdef\r\n\r\n" },
        { "GET / HTTP/1.1\r\nHost: a\r\nX: v", "\r\n\r\n" },
    };
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        for (int c = 0; c < 256; c++) {
            if (c == '\r')
                continue;
            int status = 0;
            int rc = try_byte(shapes[s][0], c, shapes[s][1], &status);
            int ok = c == '\t' || (c >= 0x20 && c != 0x7f);
            if (ok ? rc <= 0 : (rc != NXX_PARSE_ERROR || status != 400))
                test_fail(__FILE__, __LINE__, "byte 0x%02x in value shape %zu: rc %d status %d", c,
                          s, rc, status);
        }
    }
}

TEST(bytes_in_host)
{
    for (int c = 0; c < 256; c++) {
        int status = 0;
        int rc = try_byte("GET / HTTP/1.1\r\nHost: a", c, "1\r\n\r\n", &status);
        int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c && strchr("-._~!$&'()*+,;=:", c));
        if (ok ? rc <= 0 : (rc != NXX_PARSE_ERROR || status != 400))
            test_fail(__FILE__, __LINE__, "byte 0x%02x in host: rc %d status %d", c, rc, status);
    }
}

/* A byte at the end of the buffer is never read past, whatever it is. */
TEST(every_truncation_of_a_long_head)
{
    struct nxx_http_request req;
    int status;
    const char *detail;

    big_len = 0;
    put("POST http://example.com:8080/upload/file.bin?name=a%20b&x HTTP/1.1\r\n");
    put("Host: example.com:8080\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0)\r\n");
    put("Accept: */*\r\nTransfer-Encoding: gzip;q=\"a\\\"b\", chunked\r\n");
    put("Connection: keep-alive\r\nExpect: 100-continue\r\n\r\n");
    for (size_t k = 0; k < big_len; k++)
        if (parse(big, k, &deflim, &req, &status, &detail) != NXX_PARSE_INCOMPLETE)
            test_fail(__FILE__, __LINE__, "prefix %zu not incomplete", k);
    CHECK_EQ_INT(parse(big, big_len, &deflim, &req, &status, &detail), NXX_PARSE_ERROR);
    CHECK_EQ_INT(status, 501);
}
