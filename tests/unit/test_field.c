/*
 * test_field.c - RFC 9110 field-value syntax (http/field.h): OWS, tokens,
 * quoted strings and their unescaping, comments, #list elements (empty
 * ones, quoted commas), token lists, parameters with and without values,
 * qvalues and weights.  Every input is an exact-size heap copy, so a
 * sanitizer build catches any read past a view.
 */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/str.h"
#include "http/field.h"

/* An exact-size heap copy of s[0..n). */
static nxx_str viewn(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    memcpy(p, s, n);
    return (nxx_str){ p, n };
}

static nxx_str view(const char *s)
{
    return viewn(s, strlen(s));
}

static void unview(nxx_str s)
{
    free((void *)(uintptr_t)s.ptr);
}

/* Append s[0..n) to out (a C string of capacity cap). */
static void put(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = strlen(out);
    if (o + n + 1 > cap)
        n = cap - o - 1;
    memcpy(out + o, s, n);
    out[o + n] = '\0';
}

static int eq_mem(nxx_str s, const char *want)
{
    return s.len == strlen(want) && (s.len == 0 || memcmp(s.ptr, want, s.len) == 0);
}

/* ---- OWS ------------------------------------------------------------------ */

struct trim_case {
    const char *name;
    const char *in;
    const char *want;
};

/* clang-format off */
static const struct trim_case trim_cases[] = {
    {"empty", "", ""},
    {"nothing to trim", "a b", "a b"},
    {"spaces both sides", "  a b  ", "a b"},
    {"tabs both sides", "\ta\t", "a"},
    {"only whitespace", " \t \t", ""},
    {"leading only", "\t a", "a"},
    {"trailing only", "a \t", "a"},
    {"CR is not OWS", "\ra\r", "\ra\r"},
};
/* clang-format on */

TEST(trim_table)
{
    for (size_t i = 0; i < sizeof(trim_cases) / sizeof(trim_cases[0]); i++) {
        const struct trim_case *tc = &trim_cases[i];
        nxx_str v = view(tc->in);
        nxx_str t = nxx_field_trim(v);
        if (!eq_mem(t, tc->want))
            test_fail(__FILE__, __LINE__, "%s: got \"%.*s\"", tc->name, (int)t.len,
                      t.len ? t.ptr : "");
        unview(v);
    }
}

TEST(character_classes)
{
    const char *tchars = "!#$%&'*+-.^_`|~09azAZ";
    for (const char *c = tchars; *c; c++)
        CHECK(nxx_field_is_tchar(*c));
    const char *not_tchars = "\"(),/:;<=>?@[\\]{} \t\x7f";
    for (const char *c = not_tchars; *c; c++)
        CHECK(!nxx_field_is_tchar(*c));
    CHECK(!nxx_field_is_tchar('\0'));
    CHECK(!nxx_field_is_tchar((char)0x80));
    /* qdtext excludes '"' and '\\', ctext '(' ')' '\\'; both take HTAB, SP and obs-text */
    CHECK(!nxx_field_is('"', NXX_FIELD_QDTEXT) && nxx_field_is('"', NXX_FIELD_CTEXT));
    CHECK(!nxx_field_is('(', NXX_FIELD_CTEXT) && nxx_field_is('(', NXX_FIELD_QDTEXT));
    CHECK(!nxx_field_is('\\', NXX_FIELD_QDTEXT | NXX_FIELD_CTEXT));
    CHECK(nxx_field_is('\t', NXX_FIELD_QDTEXT) && nxx_field_is(' ', NXX_FIELD_CTEXT));
    CHECK(nxx_field_is((char)0xff, NXX_FIELD_VALUE | NXX_FIELD_QDTEXT));
    CHECK(!nxx_field_is('\r', NXX_FIELD_VALUE) && !nxx_field_is(0x7f, NXX_FIELD_VALUE));
    CHECK(nxx_field_is_ows(' ') && nxx_field_is_ows('\t') && !nxx_field_is_ows('\n'));
}

/* ---- lists -------------------------------------------------------------------- */

struct list_case {
    const char *name;
    const char *in;
    const char *want; /* the elements joined by '|' */
};

/* clang-format off */
static const struct list_case list_cases[] = {
    {"empty value", "", ""},
    {"only separators", " , ,\t, ", ""},
    {"one element", "gzip", "gzip"},
    {"empty elements around", ",,a , b,", "a|b"},
    {"OWS trimmed, inner kept", " a b\t,\tc ", "a b|c"},
    {"quoted comma", "a=\"x,y\", b", "a=\"x,y\"|b"},
    {"escaped quote", "\"a\\\",b\", c", "\"a\\\",b\"|c"},
    {"escaped backslash ends the string", "\"a\\\\\",b", "\"a\\\\\"|b"},
    {"unterminated quote runs to the end", "a, \"b, c", "a|\"b, c"},
    {"backslash outside quotes is a byte", "a\\,b", "a\\|b"},
    {"quote in the middle of an element", "a\"b,c\"d, e", "a\"b,c\"d|e"},
    {"parameters stay with their element", "text/plain;x=\";,\";q=0.5, */*", "text/plain;x=\";,\";q=0.5|*/*"},
    {"backslash as the last byte", "\"a\\", "\"a\\"},
    {"many empties", ",,,,,,,,,x,,,,,,,,,", "x"},
};
/* clang-format on */

TEST(list_table)
{
    for (size_t i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
        const struct list_case *tc = &list_cases[i];
        nxx_str v = view(tc->in);
        struct nxx_field_iter it;
        nxx_str e;
        char got[256] = "";
        int n = 0;
        nxx_field_iter_init(&it, v);
        while (nxx_field_list_next(&it, &e)) {
            if (n++)
                put(got, sizeof(got), "|", 1);
            put(got, sizeof(got), e.ptr, e.len);
            if (e.len == 0)
                test_fail(__FILE__, __LINE__, "%s: an empty element", tc->name);
        }
        if (strcmp(got, tc->want) != 0)
            test_fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", tc->name, got, tc->want);
        if (it.p != it.end)
            test_fail(__FILE__, __LINE__, "%s: the iterator stopped short", tc->name);
        unview(v);
    }
}

/* clang-format off */
static const struct list_case token_list_cases[] = {
    {"empty", "", ""},
    {"connection options", "keep-alive, Upgrade", "keep-alive|Upgrade"},
    {"empties and OWS", " ,close ,, ", "close"},
    {"not a token is marked", "close x, upgrade", "!|upgrade"},
    {"a stray quote opens nothing", "\"x, close, y\"", "!|close|!"},
    {"quoted element", "\"close\", keep-alive", "!|keep-alive"},
    {"separator inside", "a/b, c", "!|c"},
};
/* clang-format on */

TEST(token_list_table)
{
    for (size_t i = 0; i < sizeof(token_list_cases) / sizeof(token_list_cases[0]); i++) {
        const struct list_case *tc = &token_list_cases[i];
        nxx_str v = view(tc->in);
        struct nxx_field_iter it;
        nxx_str t;
        char got[256] = "";
        int n = 0;
        nxx_field_iter_init(&it, v);
        while (nxx_field_list_token(&it, &t)) {
            if (n++)
                put(got, sizeof(got), "|", 1);
            if (t.len)
                put(got, sizeof(got), t.ptr, t.len);
            else
                put(got, sizeof(got), "!", 1);
        }
        if (strcmp(got, tc->want) != 0)
            test_fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", tc->name, got, tc->want);
        unview(v);
    }
}

/* Elements parsed in place: list_elem before each, list_after after it. */
TEST(list_in_place)
{
    nxx_str v = view(" , a ,b\t, c d");
    struct nxx_field_iter it;
    nxx_field_iter_init(&it, v);
    CHECK(nxx_field_list_elem(&it));
    CHECK(eq_mem(nxx_field_token(&it), "a"));
    CHECK_EQ_INT(nxx_field_list_after(&it), 0);
    CHECK(nxx_field_list_elem(&it));
    CHECK(eq_mem(nxx_field_token(&it), "b"));
    CHECK_EQ_INT(nxx_field_list_after(&it), 0);
    CHECK(nxx_field_list_elem(&it));
    CHECK(eq_mem(nxx_field_token(&it), "c"));
    CHECK_EQ_INT(nxx_field_list_after(&it), -1); /* "d" follows the element */
    unview(v);

    v = view(" ,, ");
    nxx_field_iter_init(&it, v);
    CHECK(!nxx_field_list_elem(&it));
    CHECK(it.p == it.end);
    unview(v);
}

struct has_case {
    const char *name;
    const char *list;
    int want;
};

/* clang-format off */
static const struct has_case has_cases[] = {
    {"alone", "feed", 1},
    {"case-insensitive", "FeEd", 1},
    {"among others", "vcdiff, feed", 1},
    {"with parameters", "gzip, feed;x=\"1,2\"", 1},
    {"with OWS before parameters", "feed ;a=b", 1},
    {"longer token", "feeds", 0},
    {"prefix only", "fee", 0},
    {"quoted", "\"feed\"", 0},
    {"followed by junk", "feed x", 0},
    {"inside a quoted parameter", "a;x=\"b, feed\"", 0},
    {"empty", "", 0},
};
/* clang-format on */

TEST(list_has_table)
{
    for (size_t i = 0; i < sizeof(has_cases) / sizeof(has_cases[0]); i++) {
        const struct has_case *tc = &has_cases[i];
        nxx_str v = view(tc->list);
        int got = NXX_FIELD_LIST_HAS(v, "feed");
        if (got != tc->want)
            test_fail(__FILE__, __LINE__, "%s: %d, want %d", tc->name, got, tc->want);
        unview(v);
    }
}

/* ---- quoted strings, unquoting, comments ------------------------------------ */

struct scan_case {
    const char *name;
    const char *in;
    size_t len;       /* 0: strlen(in) */
    int want_rc;      /* 0 or -1 */
    const char *want; /* the view returned, on success */
};

/* clang-format off */
static const struct scan_case quoted_cases[] = {
    {"simple, rest left", "\"abc\"; x", 0, 0, "\"abc\""},
    {"empty string", "\"\"", 0, 0, "\"\""},
    {"escaped quote", "\"a\\\"b\"", 0, 0, "\"a\\\"b\""},
    {"escaped backslash", "\"a\\\\\"", 0, 0, "\"a\\\\\""},
    {"comma and semicolon inside", "\"a,b;c\"", 0, 0, "\"a,b;c\""},
    {"HTAB, SP and obs-text", "\"a\t b\xe9\"", 0, 0, "\"a\t b\xe9\""},
    {"escaped HTAB", "\"\\\t\"", 0, 0, "\"\\\t\""},
    {"unterminated", "\"abc", 0, -1, NULL},
    {"escaped closing quote", "\"abc\\\"", 0, -1, NULL},
    {"backslash at the end", "\"abc\\", 0, -1, NULL},
    {"CTL inside", "\"a\x01b\"", 0, -1, NULL},
    {"DEL inside", "\"a\x7f\"", 0, -1, NULL},
    {"escaped CTL", "\"a\\\x01\"", 0, -1, NULL},
    {"escaped DEL", "\"a\\\x7f\"", 0, -1, NULL},
    {"NUL inside", "\"a\0b\"", 5, -1, NULL},
    {"LF inside", "\"a\nb\"", 0, -1, NULL},
    {"not at a quote", "abc\"", 0, -1, NULL},
    {"nothing", "", 0, -1, NULL},
};

static const struct scan_case comment_cases[] = {
    {"simple", "(hello) x", 0, 0, "(hello)"},
    {"empty", "()", 0, 0, "()"},
    {"nested", "(a (b (c)) d)e", 0, 0, "(a (b (c)) d)"},
    {"quoted-pair parenthesis", "(a\\)b)", 0, 0, "(a\\)b)"},
    {"quotes are ctext", "(say \"hi)", 0, 0, "(say \"hi)"},
    {"unterminated", "(abc", 0, -1, NULL},
    {"nesting unclosed", "((a)", 0, -1, NULL},
    {"backslash at the end", "(a\\", 0, -1, NULL},
    {"CTL inside", "(a\x01)", 0, -1, NULL},
    {"not at a parenthesis", "a(b)", 0, -1, NULL},
};
/* clang-format on */

static void run_scan(const struct scan_case *cases, size_t n,
                     int (*fn)(struct nxx_field_iter *, nxx_str *))
{
    for (size_t i = 0; i < n; i++) {
        const struct scan_case *tc = &cases[i];
        nxx_str v = viewn(tc->in, tc->len ? tc->len : strlen(tc->in));
        struct nxx_field_iter it;
        nxx_str out = { NULL, 0 };
        nxx_field_iter_init(&it, v);
        int rc = fn(&it, &out);
        if (rc != tc->want_rc)
            test_fail(__FILE__, __LINE__, "%s: rc %d, want %d", tc->name, rc, tc->want_rc);
        else if (rc == 0 && (!eq_mem(out, tc->want) || it.p != out.ptr + out.len))
            test_fail(__FILE__, __LINE__, "%s: got \"%.*s\"", tc->name, (int)out.len, out.ptr);
        else if (rc != 0 && it.p != v.ptr)
            test_fail(__FILE__, __LINE__, "%s: the cursor moved on failure", tc->name);
        unview(v);
    }
}

TEST(quoted_table)
{
    run_scan(quoted_cases, sizeof(quoted_cases) / sizeof(quoted_cases[0]), nxx_field_quoted);
}

TEST(comment_table)
{
    run_scan(comment_cases, sizeof(comment_cases) / sizeof(comment_cases[0]), nxx_field_comment);
}

struct unquote_case {
    const char *name;
    const char *in;
    size_t cap;
    int want_rc;
    const char *want;
    int copied; /* the text is in the buffer, not a view of the input */
};

/* clang-format off */
static const struct unquote_case unquote_cases[] = {
    {"token as it is", "utf-8", 16, 0, "utf-8", 0},
    {"empty token", "", 16, 0, "", 0},
    {"quotes removed, no copy", "\"a b\"", 0, 0, "a b", 0},
    {"empty quoted string", "\"\"", 0, 0, "", 0},
    {"escaped quote", "\"a\\\"b\"", 16, 0, "a\"b", 1},
    {"escaped backslash", "\"\\\\\"", 16, 0, "\\", 1},
    {"every byte escaped", "\"\\a\\b\"", 16, 0, "ab", 1},
    {"fits exactly", "\"a\\\"b\"", 3, 0, "a\"b", 1},
    {"one byte short", "\"a\\\"b\"", 2, -1, NULL, 0},
    {"unterminated", "\"abc", 16, -1, NULL, 0},
    {"garbage after the string", "\"a\"b", 16, -1, NULL, 0},
    {"two strings", "\"a\"\"b\"", 16, -1, NULL, 0},
    {"bad byte inside", "\"a\x01\"", 16, -1, NULL, 0},
};
/* clang-format on */

TEST(unquote_table)
{
    for (size_t i = 0; i < sizeof(unquote_cases) / sizeof(unquote_cases[0]); i++) {
        const struct unquote_case *tc = &unquote_cases[i];
        nxx_str v = view(tc->in);
        char *buf = tc->cap ? malloc(tc->cap) : NULL;
        nxx_str out = { NULL, 0 };
        int rc = nxx_field_unquote(v, buf, tc->cap, &out);
        if (rc != tc->want_rc) {
            test_fail(__FILE__, __LINE__, "%s: rc %d, want %d", tc->name, rc, tc->want_rc);
        } else if (rc == 0) {
            int in_buf = out.len && buf && out.ptr == buf;
            if (!eq_mem(out, tc->want) || in_buf != tc->copied)
                test_fail(__FILE__, __LINE__, "%s: got \"%.*s\"%s", tc->name, (int)out.len,
                          out.len ? out.ptr : "", in_buf ? " (copied)" : "");
        }
        free(buf);
        unview(v);
    }
}

struct ieq_case {
    const char *name;
    const char *a;
    const char *b;
    int want;
};

/* clang-format off */
static const struct ieq_case ieq_cases[] = {
    {"token and quoted", "utf-8", "\"UTF-8\"", 1},
    {"both quoted", "\"a\\\"b\"", "\"A\\\"B\"", 1},
    {"escape ignored", "\"\\a\\b\"", "ab", 1},
    {"empty and empty quoted", "", "\"\"", 1},
    {"different", "utf-8", "utf-16", 0},
    {"prefix", "utf", "utf-8", 0},
};
/* clang-format on */

TEST(value_ieq_table)
{
    for (size_t i = 0; i < sizeof(ieq_cases) / sizeof(ieq_cases[0]); i++) {
        const struct ieq_case *tc = &ieq_cases[i];
        nxx_str a = view(tc->a), b = view(tc->b);
        int got = nxx_field_value_ieq(a, b), back = nxx_field_value_ieq(b, a);
        if (got != tc->want || back != tc->want)
            test_fail(__FILE__, __LINE__, "%s: %d/%d, want %d", tc->name, got, back, tc->want);
        unview(a);
        unview(b);
    }
    CHECK(nxx_str_ieq_str(NXX_STR("Keep-Alive"), NXX_STR("keep-alive")));
    CHECK(!nxx_str_ieq_str(NXX_STR("keep-alive"), NXX_STR("keep-aliv")));
}

/* ---- parameters ------------------------------------------------------------------ */

struct param_case {
    const char *name;
    const char *in; /* what follows the element's leading item */
    unsigned flags;
    const char *want; /* name=value pairs joined by '|' */
    int want_end;     /* the last result: 0 (end or comma) or -1 */
    const char *rest; /* on 0: what is left (at the comma), NULL for "" */
};

#define BWS NXX_FIELD_BWS
#define BARE NXX_FIELD_BARE
#define NOEMPTY NXX_FIELD_NO_EMPTY

/* clang-format off */
static const struct param_case param_cases[] = {
    {"none", "", 0, "", 0, NULL},
    {"only OWS", " \t", 0, "", 0, NULL},
    {"one", ";a=b", 0, "a=b", 0, NULL},
    {"OWS around semicolons", " ; a=b ;\tc=d ", 0, "a=b|c=d", 0, NULL},
    {"quoted value", ";a=\"x;y,z\"", 0, "a=\"x;y,z\"", 0, NULL},
    {"empty value quoted", ";a=\"\"", 0, "a=\"\"", 0, NULL},
    {"empty parameters skipped", ";;a=b; ;", 0, "a=b", 0, NULL},
    {"empty parameter refused", ";;a=b", NOEMPTY, "", -1, NULL},
    {"trailing semicolon refused", ";a=b;", NOEMPTY, "a=b", -1, NULL},
    {"no value", ";a", 0, "", -1, NULL},
    {"no value allowed", ";a;b=c", BARE, "a=|b=c", 0, NULL},
    {"no value allowed, OWS", "; a ; b", BARE, "a=|b=", 0, NULL},
    {"whitespace around = refused", ";a = b", 0, "", -1, NULL},
    {"whitespace around = allowed", ";a = b ; c\t=\t\"d\"", BWS, "a=b|c=\"d\"", 0, NULL},
    {"bare with whitespace allowed", ";a ;b = c", BWS | BARE, "a=|b=c", 0, NULL},
    {"empty value", ";a=", 0, "", -1, NULL},
    {"empty value before the next", ";a=;b=c", 0, "", -1, NULL},
    {"stops at a comma", ";a=b , c;d=e", 0, "a=b", 0, ", c;d=e"},
    {"junk after a value", ";a=b x", 0, "a=b", -1, NULL},
    {"junk instead of a semicolon", "x", 0, "", -1, NULL},
    {"bad quoted string", ";a=\"x", 0, "", -1, NULL},
    {"junk after a quoted string", ";a=\"x\"y", 0, "a=\"x\"", -1, NULL},
    {"name not a token", ";@=b", 0, "", -1, NULL},
    {"value not a token", ";a=@", 0, "", -1, NULL},
    {"equals in a value", ";a=b=c", 0, "a=b", -1, NULL},
};
/* clang-format on */

TEST(param_table)
{
    for (size_t i = 0; i < sizeof(param_cases) / sizeof(param_cases[0]); i++) {
        const struct param_case *tc = &param_cases[i];
        nxx_str v = view(tc->in);
        struct nxx_field_iter it;
        nxx_str name, value;
        char got[256] = "";
        int n = 0, r;
        nxx_field_iter_init(&it, v);
        while ((r = nxx_field_param_next(&it, tc->flags, &name, &value)) > 0) {
            if (n++)
                put(got, sizeof(got), "|", 1);
            put(got, sizeof(got), name.ptr, name.len);
            put(got, sizeof(got), "=", 1);
            put(got, sizeof(got), value.ptr, value.len);
            if (n > 20)
                break;
        }
        if (strcmp(got, tc->want) != 0 || r != tc->want_end)
            test_fail(__FILE__, __LINE__, "%s: got \"%s\" then %d, want \"%s\" then %d", tc->name,
                      got, r, tc->want, tc->want_end);
        else if (r == 0 && !eq_mem(nxx_field_rest(&it), tc->rest ? tc->rest : ""))
            test_fail(__FILE__, __LINE__, "%s: left \"%.*s\"", tc->name, (int)(it.end - it.p),
                      it.p);
        unview(v);
    }
}

TEST(pair)
{
    /* a Prefer preference: token [ BWS "=" BWS word ] */
    nxx_str v = view("return = \"minimal\"; x");
    struct nxx_field_iter it;
    nxx_str name, value;
    nxx_field_iter_init(&it, v);
    CHECK_EQ_INT(nxx_field_pair(&it, BWS | BARE, &name, &value), 0);
    CHECK(eq_mem(name, "return") && eq_mem(value, "\"minimal\""));
    CHECK(eq_mem(nxx_field_rest(&it), "; x"));
    nxx_field_iter_init(&it, v);
    CHECK_EQ_INT(nxx_field_pair(&it, 0, &name, &value), -1);
    unview(v);

    v = view("respond-async, wait=10");
    nxx_field_iter_init(&it, v);
    CHECK_EQ_INT(nxx_field_pair(&it, BARE, &name, &value), 0);
    CHECK(eq_mem(name, "respond-async") && value.len == 0);
    CHECK(eq_mem(nxx_field_rest(&it), ", wait=10"));
    unview(v);
}

struct media_case {
    const char *name;
    const char *in;
    int want_rc;
    const char *type, *subtype, *rest;
};

/* clang-format off */
static const struct media_case media_cases[] = {
    {"plain", "text/html", 0, "text", "html", ""},
    {"with parameters", "text/plain;charset=utf-8", 0, "text", "plain", ";charset=utf-8"},
    {"wildcards", "*/*;q=0.1", 0, "*", "*", ";q=0.1"},
    {"structured suffix", "application/problem+json", 0, "application", "problem+json", ""},
    {"no subtype", "text/", -1, NULL, NULL, NULL},
    {"no type", "/html", -1, NULL, NULL, NULL},
    {"no slash", "text", -1, NULL, NULL, NULL},
    {"space before slash", "text /html", -1, NULL, NULL, NULL},
};
/* clang-format on */

TEST(media_type_table)
{
    for (size_t i = 0; i < sizeof(media_cases) / sizeof(media_cases[0]); i++) {
        const struct media_case *tc = &media_cases[i];
        nxx_str v = view(tc->in), type, sub;
        struct nxx_field_iter it;
        nxx_field_iter_init(&it, v);
        int rc = nxx_field_media_type(&it, &type, &sub);
        if (rc != tc->want_rc)
            test_fail(__FILE__, __LINE__, "%s: rc %d, want %d", tc->name, rc, tc->want_rc);
        else if (rc == 0 && (!eq_mem(type, tc->type) || !eq_mem(sub, tc->subtype) ||
                             !eq_mem(nxx_field_rest(&it), tc->rest)))
            test_fail(__FILE__, __LINE__, "%s: \"%.*s\" / \"%.*s\"", tc->name, (int)type.len,
                      type.ptr, (int)sub.len, sub.ptr);
        unview(v);
    }
}

/* ---- weights ----------------------------------------------------------------- */

struct q_case {
    const char *name;
    const char *in;
    int want;
};

/* clang-format off */
static const struct q_case qvalue_cases[] = {
    {"one", "1", 1000},
    {"one with three zeros", "1.000", 1000},
    {"one with a point", "1.", 1000},
    {"one with one zero", "1.0", 1000},
    {"half", "0.5", 500},
    {"zero", "0", 0},
    {"zero with a point", "0.", 0},
    {"zero with three zeros", "0.000", 0},
    {"three decimals", "0.123", 123},
    {"a thousandth", "0.001", 1},
    {"two decimals", "0.05", 50},
    {"above one by a thousandth", "1.001", -1},
    {"four decimals after one", "1.0001", -1},
    {"four decimals", "0.1234", -1},
    {"two", "2", -1},
    {"no leading digit", ".5", -1},
    {"empty", "", -1},
    {"quoted", "\"0.5\"", -1},
    {"junk after", "0.5x", -1},
    {"leading zero", "01", -1},
    {"leading space", " 0.5", -1},
    {"trailing space", "0.5 ", -1},
    {"sign", "+1", -1},
    {"exponent", "1e0", -1},
};

static const struct q_case weight_cases[] = {
    {"none", "", 1000},
    {"OWS only", " ", 1000},
    {"half", ";q=0.5", 500},
    {"OWS around the semicolon", " ;\tq=0.25 ", 250},
    {"upper-case Q", ";Q=1", 1000},
    {"zero", ";q=0", 0},
    {"stops at a comma", ";q=0.5, br", 500},
    {"another parameter", ";x=1", -1},
    {"another parameter after q", ";q=0.5;x=1", -1},
    {"two weights", ";q=0.5;q=0.7", -1},
    {"empty parameter", ";", -1},
    {"empty parameter before q", ";;q=0.5", -1},
    {"bad qvalue", ";q=2", -1},
    {"whitespace around =", ";q = 0.5", -1},
    {"name longer than q", ";qq=0.5", -1},
    {"quoted qvalue", ";q=\"0.5\"", -1},
    {"no value", ";q", -1},
    {"junk", " x", -1},
};
/* clang-format on */

TEST(qvalue_table)
{
    for (size_t i = 0; i < sizeof(qvalue_cases) / sizeof(qvalue_cases[0]); i++) {
        const struct q_case *tc = &qvalue_cases[i];
        nxx_str v = view(tc->in);
        int got = nxx_field_qvalue(v);
        if (got != tc->want)
            test_fail(__FILE__, __LINE__, "%s: %d, want %d", tc->name, got, tc->want);
        unview(v);
    }
    /* every value the grammar allows */
    char buf[8];
    for (int q = 0; q < 1000; q++) {
        int len = snprintf(buf, sizeof(buf), "0.%03d", q);
        CHECK_EQ_INT(nxx_field_qvalue((nxx_str){ buf, (size_t)len }), q);
    }
}

TEST(weight_table)
{
    for (size_t i = 0; i < sizeof(weight_cases) / sizeof(weight_cases[0]); i++) {
        const struct q_case *tc = &weight_cases[i];
        nxx_str v = view(tc->in);
        struct nxx_field_iter it;
        nxx_field_iter_init(&it, v);
        int got = nxx_field_weight(&it);
        if (got != tc->want)
            test_fail(__FILE__, __LINE__, "%s: %d, want %d", tc->name, got, tc->want);
        unview(v);
    }
}

/* ---- views -------------------------------------------------------------------- */

/* A view is read to its length and no further; an empty one may have a NULL ptr. */
TEST(views_only)
{
    const char *s = "a, b\"c, d\"";
    struct nxx_field_iter it;
    nxx_str e;
    nxx_field_iter_init(&it, (nxx_str){ s, 6 }); /* "a, b\"c" */
    CHECK(nxx_field_list_next(&it, &e) && eq_mem(e, "a"));
    CHECK(nxx_field_list_next(&it, &e) && eq_mem(e, "b\"c"));
    CHECK(!nxx_field_list_next(&it, &e));

    nxx_field_iter_init(&it, (nxx_str){ NULL, 0 });
    CHECK(!nxx_field_list_next(&it, &e));
    CHECK(!nxx_field_list_elem(&it));
    CHECK_EQ_INT(nxx_field_list_after(&it), 0);
    CHECK_EQ_INT(nxx_field_weight(&it), 1000);
    CHECK_EQ_INT(nxx_field_qvalue((nxx_str){ NULL, 0 }), -1);
    CHECK(!NXX_FIELD_LIST_HAS(((nxx_str){ NULL, 0 }), "x"));
    CHECK_EQ_INT(nxx_field_trim((nxx_str){ NULL, 0 }).len, 0);

    const char *q = "\"abc\"";
    nxx_field_iter_init(&it, (nxx_str){ q, 4 }); /* the closing quote is outside */
    CHECK_EQ_INT(nxx_field_quoted(&it, &e), -1);
}
