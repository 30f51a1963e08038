/*
 * status.c - THE status registry.  Every status code nxx knows is one line of
 * STATUS_LIST below: reason phrase (as the IANA registry spells it), flags,
 * defining document, meaning, what sends it today and what will.  The sorted table, the
 * precomputed status lines and the O(1) lookup index are all expanded from
 * that one list at compile time, so they cannot disagree, and the docs
 * (docs/status-codes.md, `nxx explain`) are rendered from the table by
 * status_doc.c.
 */
#include "http/status.h"

#include "nxx.h"

#include "core/banned.h"

/* Flag shorthands for the list only. */
#define B NXX_SF_BODY
#define C NXX_SF_CACHEABLE
#define N NXX_SF_NEVER
#define S (NXX_SF_SERVE | NXX_SF_LIBRARY)
#define L NXX_SF_LIBRARY

#include "http/status_list.h"

#define AS_ENTRY(code, reason, flags, rfc, summary, when, planned)                                 \
    { code, reason, flags, rfc, summary, when, planned },
static const struct nxx_status_info table[] = { STATUS_LIST(AS_ENTRY) };

#define AS_POS(code, reason, flags, rfc, summary, when, planned) POS_##code,
enum { STATUS_LIST(AS_POS) STATUS_COUNT };

/*
 * code -> position + 1 (0: unregistered).  A code listed twice cannot build:
 * its POS_ enumerator would be redeclared, and the order check below is strict.
 */
#define AS_INDEX(code, reason, flags, rfc, summary, when, planned) [code] = POS_##code + 1,
static const unsigned char index_by_code[600] = { STATUS_LIST(AS_INDEX) };

/* Expands to (0 < 100) && (100 < 101) && ... && (511 < 1000): the list is sorted. */
#define AS_ORDER(code, reason, flags, rfc, summary, when, planned) code) && (code <
_Static_assert((0 < STATUS_LIST(AS_ORDER) 1000), "STATUS_LIST must be sorted by code");
/*
 * Every entry says what it is: a code sent today (or never) explains when
 * (or why not), and one not sent yet keeps what will send it.  sizeof a
 * string literal is its length + 1.
 */
#define AS_TOLD(code, reason, flags, rfc, summary, when, planned)                                  \
    (((flags) & (N | L)) ? sizeof(when) > 1 : (sizeof(when) == 1 && sizeof(planned) > 1)) &&       \
        (((flags) & (N | L)) != (N | L)) && !((flags)&N && sizeof(planned) > 1) &&
_Static_assert(STATUS_LIST(AS_TOLD) 1, "every status says what sends it, or will, or why never");
_Static_assert(STATUS_COUNT < 255, "index_by_code holds positions in an unsigned char");
_Static_assert(sizeof(table) / sizeof(table[0]) == STATUS_COUNT, "table and positions agree");

#undef B
#undef C
#undef N
#undef S
#undef L

const struct nxx_status_info *nxx_status_get(int code)
{
    if (code < 0 || code >= (int)sizeof(index_by_code))
        return NULL;
    unsigned pos = index_by_code[code];
    return pos ? &table[pos - 1] : NULL;
}

const struct nxx_status_info *nxx_status_table(size_t *n)
{
    if (n)
        *n = STATUS_COUNT;
    return table;
}

const char *nxx_status_sender(int code)
{
    const struct nxx_status_info *si = nxx_status_get(code);
    if (!si)
        return NULL;
    if (si->flags & NXX_SF_SERVE)
        return "nxx serve";
    if (si->flags & NXX_SF_LIBRARY)
        return "library";
    return (si->flags & NXX_SF_NEVER) ? "never" : "not yet";
}

const char *nxx_status_class(int code)
{
    /* RFC 9110 §15: the first digit alone defines the class. */
    switch (code / 100) {
    case 1: return "Informational";
    case 2: return "Successful";
    case 3: return "Redirection";
    case 4: return "Client Error";
    case 5: return "Server Error";
    default: return NULL;
    }
}

NXX_API const char *nxx_status_reason(int status)
{
    const struct nxx_status_info *si = nxx_status_get(status);
    return si ? si->reason : NULL;
}
