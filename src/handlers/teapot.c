/*
 * teapot.c - the Hyper Text Coffee Pot Control Protocol (RFC 2324) and its
 * tea extension (RFC 7168), served by a location.
 *
 * A pot is a teapot or a coffee pot.  BREW (or POST, RFC 2324 §2.1.1) with
 * a body of "start" or "stop" and a Content-Type naming the beverage:
 *   message/coffeepot to a teapot   -> 418 I'm a teapot (RFC 2324 §2.3.2)
 *   message/teapot to a teapot      -> 200, tea (RFC 7168 §2.1.1)
 *   message/coffeepot to a coffee pot -> 200, coffee, with the additions of
 *                                     Accept-Additions if the pot has them
 *                                     all, else 406 with what it has
 *   message/teapot to a coffee pot  -> 415 (Accept-Post names coffee)
 * GET describes the pot, WHEN stops pouring the milk (RFC 2324 §2.1.4),
 * anything else is 405.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/str.h"
#include "http/field.h"
#include "http/request.h"
#include "http/site.h"
#include "core/banned.h"

#define BODY_MAX 4096

struct pot {
    int coffee;
    char **additions;
    size_t nadditions;
    char *list; /* "milk, sugar" for messages */
};

static int has_addition(const struct pot *p, nxx_str name)
{
    for (size_t i = 0; i < p->nadditions; i++)
        if (nxx_str_ieq_str(name, (nxx_str){ p->additions[i], strlen(p->additions[i]) }))
            return 1;
    return 0;
}

/*
 * RFC 2324 §2.2.2.1: Accept-Additions = #( addition-range [ accept-params ] ),
 * accept-params = ";" "q" "=" qvalue *( accept-ext ) as in RFC 2616 §14.1.
 * Returns 0 when the pot has every addition asked for with a q above 0,
 * else writes the first one it lacks into *missing (an element that does
 * not parse counts as one it lacks, and is named whole).
 */
static int check_additions(const struct pot *p, nxx_str field, nxx_str *missing)
{
    struct nxx_field_iter it;
    nxx_str elem, pname, pvalue;
    nxx_field_iter_init(&it, field);
    while (nxx_field_list_next(&it, &elem)) {
        struct nxx_field_iter e;
        nxx_field_iter_init(&e, elem);
        nxx_str name = nxx_field_token(&e);
        int q = 1000, first = 1, r;
        while ((r = nxx_field_param_next(&e, NXX_FIELD_BARE, &pname, &pvalue)) > 0) {
            /* "q=0" (or 0.0...) means "not this one" */
            if (first && pname.len == 1 && (pname.ptr[0] | 0x20) == 'q')
                q = nxx_field_qvalue(pvalue);
            first = 0;
        }
        if (r < 0 || q < 0 || name.len == 0) {
            *missing = elem;
            return -1;
        }
        if (q > 0 && !NXX_STR_EQ(name, "*") && !has_addition(p, name)) {
            *missing = name;
            return -1;
        }
    }
    return 0;
}

/* The media type of a Content-Type value, without its parameters; len 0 if none. */
static nxx_str media_type(nxx_str ct)
{
    struct nxx_field_iter it;
    nxx_str type, sub;
    nxx_field_iter_init(&it, nxx_field_trim(ct));
    if (nxx_field_media_type(&it, &type, &sub) != 0)
        return (nxx_str){ NULL, 0 };
    it.p = nxx_field_skip_ows(it.p, it.end);
    if (it.p < it.end && *it.p != ';')
        return (nxx_str){ NULL, 0 };
    return (nxx_str){ type.ptr, (size_t)(sub.ptr + sub.len - type.ptr) };
}

static int answer_text(nxx_req *req, int status, const char *ctype, const char *text)
{
    nxx_resp_status(req, status);
    nxx_resp_header(req, "Content-Type", (nxx_str){ ctype, strlen(ctype) });
    return nxx_resp_send(req, text, strlen(text), 0) ? 500 : 0;
}

static int brew(nxx_req *req, const struct pot *p)
{
    nxx_str ct = media_type(nxx_req_header(req, "content-type"));
    int coffee = NXX_STR_IEQ(ct, "message/coffeepot");
    int tea = NXX_STR_IEQ(ct, "message/teapot");
    nxx_str body = nxx_req_body(req);
    while (body.len && (nxx_field_is_ows(body.ptr[body.len - 1]) ||
                        body.ptr[body.len - 1] == '\n' || body.ptr[body.len - 1] == '\r'))
        body.len--;
    if (!coffee && !tea) {
        nxx_resp_header(req, "Accept-Post",
                        p->coffee ? NXX_STR("message/coffeepot")
                                  : NXX_STR("message/teapot, message/coffeepot"));
        nxx_req_detail(req, "say what to brew: Content-Type message/%s",
                       p->coffee ? "coffeepot" : "teapot");
        return 415;
    }
    if (body.len && !NXX_STR_EQ(body, "start") && !NXX_STR_EQ(body, "stop")) {
        nxx_req_detail(req, "the body of a brew request is \"start\" or \"stop\"");
        return 400;
    }
    int stop = NXX_STR_EQ(body, "stop");
    if (coffee && !p->coffee) {
        /* RFC 2324 §2.3.2: the one thing a teapot must say */
        nxx_req_detail(req, "this is a teapot: it cannot brew coffee");
        return 418;
    }
    if (tea && p->coffee) {
        nxx_resp_header(req, "Accept-Post", NXX_STR("message/coffeepot"));
        nxx_req_detail(req, "this is a coffee pot: it brews coffee only");
        return 415;
    }
    if (stop)
        return answer_text(req, 200, coffee ? "message/coffeepot" : "message/teapot", "stopped\n");
    nxx_str missing;
    nxx_str aa = nxx_req_header_list(req, "accept-additions");
    if (aa.len && check_additions(p, aa, &missing) < 0) {
        nxx_req_detail(req, "this pot has no '%.*s'; it has: %s",
                       (int)(missing.len > 40 ? 40 : missing.len), missing.ptr,
                       p->nadditions ? p->list : "nothing to add");
        return 406;
    }
    char text[256];
    snprintf(text, sizeof(text), "brewing %s%s%.*s\n", coffee ? "coffee" : "tea",
             aa.len ? " with " : "", (int)(aa.len > 200 ? 200 : aa.len), aa.ptr ? aa.ptr : "");
    return answer_text(req, 200, coffee ? "message/coffeepot" : "message/teapot", text);
}

static int pot_handle(nxx_req *req, void *ud)
{
    const struct pot *p = ud;
    nxx_str m = nxx_req_method(req);
    if (NXX_STR_EQ(m, "BREW") || NXX_STR_EQ(m, "POST"))
        return brew(req, p);
    if (NXX_STR_EQ(m, "GET") || NXX_STR_EQ(m, "HEAD")) {
        char text[512];
        snprintf(text, sizeof(text), "a %s%s%s\n", p->coffee ? "coffee pot" : "teapot",
                 p->nadditions ? "; additions: " : "", p->nadditions ? p->list : "");
        return answer_text(req, 200, "text/plain; charset=utf-8", text);
    }
    if (NXX_STR_EQ(m, "WHEN"))
        return answer_text(req, 200, "text/plain; charset=utf-8", "stopped pouring milk\n");
    if (NXX_STR_EQ(m, "OPTIONS")) {
        nxx_resp_header(req, "Allow", NXX_STR("GET, HEAD, POST, OPTIONS, BREW, WHEN"));
        nxx_resp_status(req, 204);
        return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
    }
    nxx_resp_header(req, "Allow", NXX_STR("GET, HEAD, POST, OPTIONS, BREW, WHEN"));
    return 405;
}

static void pot_free(void *arg)
{
    struct pot *p = arg;
    for (size_t i = 0; i < p->nadditions; i++)
        nxx_free(p->additions[i]);
    nxx_free(p->additions);
    nxx_free(p->list);
    nxx_free(p);
}

int nxx_scope_teapot(nxx_scope *location, const nxx_teapot_config *cfg)
{
    if (!location || location->kind != NXX_SCOPE_LOCATION || !cfg)
        return NXX_EINVAL;
    struct pot *p = nxx_calloc(1, sizeof(*p));
    if (!p)
        return NXX_ENOMEM;
    p->coffee = cfg->coffee;
    size_t listlen = 1;
    int err = 0;
    if (cfg->nadditions) {
        p->additions = nxx_calloc(cfg->nadditions, sizeof(char *));
        if (!p->additions)
            err = NXX_ENOMEM;
    }
    for (size_t i = 0; !err && i < cfg->nadditions; i++) {
        const char *a = cfg->additions[i];
        if (!a || !*a || strpbrk(a, ",; \t\r\n\"")) {
            err = NXX_EINVAL;
            break;
        }
        p->additions[i] = nxx_strdup(a);
        if (!p->additions[i]) {
            err = NXX_ENOMEM;
            break;
        }
        p->nadditions++;
        listlen += strlen(a) + 2;
    }
    if (!err && !(p->list = nxx_malloc(listlen)))
        err = NXX_ENOMEM;
    if (!err) {
        size_t n = 0;
        for (size_t i = 0; i < p->nadditions; i++) {
            size_t l = strlen(p->additions[i]);
            if (i) {
                memcpy(p->list + n, ", ", 2);
                n += 2;
            }
            memcpy(p->list + n, p->additions[i], l);
            n += l;
        }
        p->list[n] = '\0';
    }
    if (!err)
        err = nxx_scope_on_free(location, pot_free, p);
    if (err) {
        pot_free(p);
        return err;
    }
    /* every method reaches the pot: BREW and WHEN are its own; the brew
     * request's body ("start"/"stop") is read whole */
    err = nxx_scope_route(location, "BREW", NULL, NXX_ROUTE_BODY, pot_handle, p);
    if (!err)
        err = nxx_scope_route(location, "POST", NULL, NXX_ROUTE_BODY, pot_handle, p);
    if (!err)
        err = nxx_scope_route(location, NULL, NULL, 0, pot_handle, p);
    return err;
}
