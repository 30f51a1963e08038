/*
 * cond.h - conditional requests (RFC 9110 §13): the evaluator any handler
 * calls with its own validators (the file handler, the REST store, WebDAV).
 */
#ifndef NXX_HTTP_COND_H
#define NXX_HTTP_COND_H

#include <stdint.h>

#include "http/field.h"
#include "nxx.h"

/* The validators of the selected representation. */
struct nxx_validators {
    nxx_str etag;          /* entity-tag with quotes ("abc" or W/"abc"); len 0 if none */
    int64_t last_modified; /* seconds since the epoch; < 0 if none */
    int exists;            /* 0: the resource has no current representation */
};

/*
 * The request's precondition fields, as received (views; len 0 when absent).
 */
struct nxx_conditions {
    nxx_str if_match;
    nxx_str if_none_match;
    nxx_str if_modified_since;
    nxx_str if_unmodified_since;
    nxx_str if_range;
};

/*
 * Evaluate preconditions in the order of RFC 9110 §13.2.2:
 *  1. If-Match present: false -> 412 (strong comparison; "*" is true when
 *     the representation exists).
 *  2. else If-Unmodified-Since (valid date, representation has a date):
 *     modified after it -> 412.
 *  3. If-None-Match present: true -> 304 for GET/HEAD, 412 otherwise (weak
 *     comparison; "*" true when it exists).
 *  4. else, GET/HEAD only, If-Modified-Since (valid date): not modified
 *     since -> 304.
 * Returns 0 when the method should be performed, or 304 or 412.
 * get_or_head: the method is GET or HEAD.  Invalid dates are ignored.
 * A list that does not parse is treated as matching nothing (If-Match false,
 * If-None-Match false).
 */
int nxx_cond_evaluate(const struct nxx_conditions *c, const struct nxx_validators *v,
                      int get_or_head);

/*
 * Does an entity-tag list (the value of If-Match / If-None-Match) contain
 * etag?  strong: strong comparison (both must be strong and equal), else
 * weak comparison (opaque-tags equal, W/ ignored).  "*" matches anything.
 * Returns 1 match, 0 no match, -1 malformed list.
 */
int nxx_etag_list_match(nxx_str list, nxx_str etag, int strong);

/*
 * The next entity-tag of a #entity-tag list (RFC 9110 §8.8.3, §13.1.1),
 * empty elements skipped, for a caller that wants the tags themselves
 * (the REST changes feed reads its version out of them).  Returns 1 with
 * *opaque the opaque-tag, quotes included, and *weak (the W/ prefix); 0 at
 * the end of the list; -1 when the list does not parse there.  "*" is not
 * a tag: it gives -1.
 */
int nxx_etag_list_next(struct nxx_field_iter *it, nxx_str *opaque, int *weak);

/*
 * The HTTP-date in a precondition field (leading and trailing whitespace
 * allowed): 0 and *t, or -1 when it is not one: nxx_date_parse() of the
 * trimmed value.
 */
int nxx_cond_date(nxx_str field, int64_t *t);

/*
 * If-Range (RFC 9110 §13.1.5): 1 when the range request may be honoured
 * (an entity-tag that matches strongly, or a date exactly equal to
 * last_modified, which must itself be strong: RFC 9110 §8.8.2.2 - a date is
 * only used when the validator is not weak), 0 when the whole representation
 * must be sent (200).  Absent If-Range: 1.
 */
int nxx_if_range_ok(nxx_str if_range, const struct nxx_validators *v);

#endif
