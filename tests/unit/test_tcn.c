/*
 * test_tcn.c - variant selection (src/handlers/tcn.c): Accept-Language
 * basic filtering, the Negotiate directives, which file names are variants
 * of a base, type maps, the choice (best, ties, priorities, transparent
 * clients, nothing acceptable, a negotiable variant) and Alternates.
 */
#include "test.h"

#include "handlers/tcn.h"
#include "core/str.h"
#include "http/negotiate.h"

static nxx_str S(const char *s)
{
    return (nxx_str){ s, strlen(s) };
}

TEST(accept_language_basic_filtering)
{
    CHECK_EQ_INT(nxx_accept_language_q(S(""), 0, "en"), 1000);
    CHECK_EQ_INT(nxx_accept_language_q(S("fr"), 1, "en"), 0);
    CHECK_EQ_INT(nxx_accept_language_q(S("en"), 1, "en-gb"), 1000); /* a prefix covers */
    CHECK_EQ_INT(nxx_accept_language_q(S("en-gb"), 1, "en"), 999);  /* truncated: just below */
    CHECK_EQ_INT(nxx_accept_language_q(S("en-gb, en;q=0.5"), 1, "en"), 500); /* en itself decides */
    CHECK_EQ_INT(nxx_accept_language_q(S("en-gb;q=0"), 1, "en"), 0);
    CHECK_EQ_INT(nxx_accept_language_q(S("e"), 1, "en"), 0); /* only at a '-' */
    CHECK_EQ_INT(nxx_accept_language_q(S("EN-GB;q=0.5"), 1, "en-gb"), 500);
    CHECK_EQ_INT(nxx_accept_language_q(S("fr, *;q=0.1"), 1, "de"), 100);
    CHECK_EQ_INT(nxx_accept_language_q(S("en;q=0.2, en-us;q=0.9"), 1, "en-us"), 900);
    CHECK_EQ_INT(nxx_accept_language_q(S("en;q=0.2, en-us;q=0.9"), 1, "en-gb"), 200);
    CHECK_EQ_INT(nxx_accept_language_q(S("da, en-gb;q=0.8, en;q=0.7"), 1, "en"), 700);
    CHECK_EQ_INT(nxx_accept_language_q(S(";;, ,"), 1, "en"), 1000); /* nothing usable */
}

TEST(negotiate_directives)
{
    CHECK_EQ_INT(nxx_negotiate_flags(S("trans")), NXX_NEG_TRANS);
    CHECK_EQ_INT(nxx_negotiate_flags(S("vlist, trans")), NXX_NEG_TRANS | NXX_NEG_VLIST);
    CHECK_EQ_INT(nxx_negotiate_flags(S("1.0")), NXX_NEG_RVSA);
    CHECK_EQ_INT(nxx_negotiate_flags(S("*")), NXX_NEG_RVSA);
    CHECK_EQ_INT(nxx_negotiate_flags(S("guess-small, 2.0, x-ext")), NXX_NEG_GUESS_SMALL);
}

TEST(variant_names)
{
    struct nxx_variant v;
    CHECK_EQ_INT(nxx_variant_from_name("index.html", 10, "index.html.en", &v), 0);
    CHECK(NXX_STR_EQ(v.type, "text/html"));
    CHECK_EQ_STR(v.lang, "en");
    CHECK_EQ_INT(v.negotiable, 0);
    CHECK_EQ_INT(nxx_variant_from_name("paper", 5, "paper.fr.pdf", &v), 0);
    CHECK(NXX_STR_EQ(v.type, "application/pdf"));
    CHECK_EQ_STR(v.lang, "fr");
    CHECK_EQ_INT(nxx_variant_from_name("paper", 5, "paper.pt-BR.html", &v), 0);
    CHECK_EQ_STR(v.lang, "pt-br");
    CHECK_EQ_INT(nxx_variant_from_name("doc", 3, "doc.en.var", &v), 0);
    CHECK_EQ_INT(v.negotiable, 1);
    /* not variants */
    CHECK_EQ_INT(nxx_variant_from_name("index.html", 10, "index.html.en.gz", &v), -1);
    CHECK_EQ_INT(nxx_variant_from_name("index.html", 10, "index.html.bak", &v), -1);
    CHECK_EQ_INT(nxx_variant_from_name("index.html", 10, "index.htmlx", &v), -1);
    CHECK_EQ_INT(nxx_variant_from_name("index.html", 10, "index.html", &v), -1);
    CHECK_EQ_INT(nxx_variant_from_name("index", 5, "index..en", &v), -1);
    CHECK_EQ_INT(nxx_variant_from_name("a", 1, "a.en\"x", &v), -1);
}

TEST(type_maps)
{
    static const char map[] = "# a map\n"
                              "URI: doc\n"
                              "\n"
                              "URI: doc.en.html\n"
                              "Content-Type: text/html; qs=0.8\n"
                              "Content-Language: en\n"
                              "\r\n"
                              "URI: doc.fr.pdf\n"
                              "content-type: application/pdf\n"
                              "Content-Language: fr, de\n"
                              "Content-Length: 1234\n";
    struct nxx_variant v[4];
    const char *why = NULL;
    CHECK_EQ_INT(nxx_typemap_parse(map, sizeof(map) - 1, "doc", v, 4, &why), 2);
    CHECK_EQ_STR(v[0].name, "doc.en.html");
    CHECK_EQ_INT(v[0].qs, 800);
    CHECK(NXX_STR_EQ(v[0].type, "text/html"));
    CHECK_EQ_STR(v[1].lang, "fr");
    CHECK_EQ_INT((int)v[1].length, 1234);
    CHECK_EQ_INT(nxx_typemap_parse("URI: ../etc/passwd\n", 19, "doc", v, 4, &why), -1);
    CHECK(why != NULL);
    CHECK_EQ_INT(nxx_typemap_parse("URI: x\nnonsense\n", 16, "doc", v, 4, &why), -1);
    CHECK_EQ_INT(nxx_typemap_parse("URI: x\nContent-Type: a/b; qs=2\n", 31, "doc", v, 4, &why), -1);
    CHECK_EQ_INT(nxx_typemap_parse("URI: a\n\nURI: b\n", 15, "doc", v, 1, &why), -1);
    CHECK_EQ_INT(nxx_typemap_parse("URI: o.var\n", 11, "doc", v, 4, &why), 1);
    CHECK_EQ_INT(v[0].negotiable, 1);
}

static size_t two_languages(struct nxx_variant *v)
{
    CHECK_EQ_INT(nxx_variant_from_name("index.html", 10, "index.html.en", &v[0]), 0);
    CHECK_EQ_INT(nxx_variant_from_name("index.html", 10, "index.html.fr", &v[1]), 0);
    return 2;
}

TEST(choice)
{
    struct nxx_variant v[4];
    size_t n = two_languages(v), pick = 9;
    nxx_str none = { NULL, 0 };
    /* the client's languages decide */
    CHECK_EQ_INT(nxx_tcn_choose(v, n, none, 0, S("fr, en;q=0.5"), 1, 0, NULL, 0, &pick),
                 NXX_TCN_CHOICE);
    CHECK_EQ_INT((int)pick, 1);
    /* equal: the list, unless a priority separates them */
    CHECK_EQ_INT(nxx_tcn_choose(v, n, none, 0, none, 0, 0, NULL, 0, &pick), NXX_TCN_LIST);
    const char *prio[] = { "fr", "en" };
    CHECK_EQ_INT(nxx_tcn_choose(v, n, none, 0, none, 0, 0, prio, 2, &pick), NXX_TCN_CHOICE);
    CHECK_EQ_INT((int)pick, 1);
    /* nothing acceptable */
    CHECK_EQ_INT(nxx_tcn_choose(v, n, none, 0, S("de"), 1, 0, NULL, 0, &pick), NXX_TCN_NONE);
    CHECK_EQ_INT(nxx_tcn_choose(v, n, S("image/png"), 1, none, 0, 0, prio, 2, &pick), NXX_TCN_NONE);
    /* a transparent client gets the list unless it lets the server choose */
    CHECK_EQ_INT(nxx_tcn_choose(v, n, none, 0, S("fr"), 1, NXX_NEG_TRANS, NULL, 0, &pick),
                 NXX_TCN_LIST);
    CHECK_EQ_INT(
        nxx_tcn_choose(v, n, none, 0, S("fr"), 1, NXX_NEG_TRANS | NXX_NEG_RVSA, NULL, 0, &pick),
        NXX_TCN_CHOICE);
    CHECK_EQ_INT((int)pick, 1);
    /* a type map as the best variant: 506 */
    v[1].negotiable = 1;
    CHECK_EQ_INT(nxx_tcn_choose(v, n, none, 0, S("fr"), 1, 0, NULL, 0, &pick), NXX_TCN_VARIANTS);
    /* source quality counts */
    v[1].negotiable = 0;
    v[1].qs = 400;
    CHECK_EQ_INT(nxx_tcn_choose(v, n, none, 0, S("fr, en;q=0.5"), 1, 0, NULL, 0, &pick),
                 NXX_TCN_CHOICE);
    CHECK_EQ_INT((int)pick, 0);
}

TEST(alternates_and_vary)
{
    struct nxx_variant v[4];
    size_t n = two_languages(v);
    v[0].length = 15;
    v[1].qs = 500;
    char buf[512];
    size_t len = nxx_tcn_alternates(v, n, buf, sizeof(buf));
    CHECK(len > 0);
    buf[len] = '\0';
    CHECK_EQ_STR(buf, "{\"index.html.en\" 1.0 {type text/html} {language en} {length 15}}, "
                      "{\"index.html.fr\" 0.5 {type text/html} {language fr}}");
    CHECK_EQ_INT((int)nxx_tcn_alternates(v, n, buf, 20), 0);
    CHECK_EQ_STR(nxx_tcn_vary(v, n), "negotiate, accept-language");
    CHECK_EQ_STR(nxx_tcn_vary(v, 1), "negotiate");
}
